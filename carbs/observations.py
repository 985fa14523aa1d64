"""Value classes passed between the user and the optimizer, and the check that admits results.

The names and fields of the classes are those of the established CARBS release;
:class:`ObservationInBasic` additionally carries its failure flag and the time
it was recorded, so that one list of them, in recording order, is the whole
history of a sweep.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import torch
from torch import Tensor

from carbs.checks import check_bool, check_name, check_number, is_real_number
from carbs.errors import InvalidObservationError
from carbs.spaces import SUGGESTION_ID_DICT_KEY, SearchSpace
from carbs.stopping import ReportedCurve, is_at_most

logger = logging.getLogger(__name__)


@attrs.define
class ObservationInParam:
    """The result of one training run, in param space.

    Attributes:
        input: The params the run used (usually a suggestion dict, uuid included).
        output: The metric. NaN or infinite outputs are recorded as failures.
        cost: What the run cost (seconds, GPU-hours, FLOPs); must be finite and > 0.
        is_failure: ``True`` if the run did not complete (out of memory, divergence).
        is_stopped: ``True`` if the run was stopped early on purpose (see
            :meth:`CARBS.should_stop`); ``output`` and ``cost`` are then its last
            intermediate output and what it had spent. Usually recorded with
            :meth:`CARBS.stop`, which fills these in from the run's reports.
        projected_output: For a stopped run, the final output it was projected to
            (what the performance model sees). ``None``: carbs projects it from the
            run's reports, or, without reports, uses ``output``.
    """

    input: dict[str, Any]
    output: float
    cost: float = 1.0
    is_failure: bool = False
    is_stopped: bool = False
    projected_output: float | None = None


@attrs.frozen(eq=False)
class ObservationInBasic:
    """One recorded observation, its input mapped to basic space.

    Attributes:
        real_number_input: The input in basic space, shape ``(d,)``, float64.
        output: The metric (NaN for most failures).
        cost: What the run cost, > 0.
        suggestion_id: The suggestion's id, if the input carried one.
        is_failure: Whether the run failed.
        observed_at: ``time.time()`` when it was recorded; NaN if unknown.
        suggestion_type: How the observed suggestion was chosen (``"random"``,
            ``"resample"``, ``"bayesian"``, ``"fallback"``, or ``"external"`` for a
            run another worker started, see :meth:`CARBS.add_outstanding_suggestion`);
            ``None`` when the input was not an outstanding suggestion.
        is_stopped: Whether the run was stopped early; ``output`` and ``cost`` are
            then what it had reached and spent when it stopped.
        projected_output: For a stopped run, the final output its curve was
            projected to when it stopped (what the performance model sees); NaN
            otherwise.
    """

    real_number_input: Tensor
    output: float
    cost: float = 1.0
    suggestion_id: str | None = None
    is_failure: bool = False
    observed_at: float = math.nan
    suggestion_type: str | None = None
    is_stopped: bool = False
    projected_output: float = math.nan

    @property
    def is_complete(self) -> bool:
        """A successful run that ran to its end: it counts towards the front."""
        return not self.is_failure and not self.is_stopped

    def has_same_result(self, other: ObservationInBasic) -> bool:
        """Whether ``other`` reports the same input, output, cost and failure flag."""
        same_output = self.output == other.output or (
            math.isnan(self.output) and math.isnan(other.output)
        )
        return (
            same_output
            and self.cost == other.cost
            and self.is_failure == other.is_failure
            and self.is_stopped == other.is_stopped
            and torch.equal(self.real_number_input, other.real_number_input)
        )


@attrs.define
class SuggestionInBasic:
    """A point chosen by the optimizer, in basic space, with diagnostics."""

    real_number_input: Tensor
    log_info: dict[str, Any] = attrs.Factory(dict)


@attrs.define
class SuggestOutput:
    """What :meth:`CARBS.suggest` returns.

    Attributes:
        suggestion: Every param's value plus the key ``suggestion_uuid``: pass it
            back as the observation's ``input``. :attr:`params` has the values alone.
        log: How the point was chosen (``suggestion_type``) and, for Bayesian
            suggestions, the model's predictions there: predicted output and
            its std in the user's units, predicted cost, success probability,
            expected improvement.
    """

    suggestion: dict[str, Any]
    log: dict[str, Any] = attrs.Factory(dict)

    @property
    def params(self) -> dict[str, Any]:
        """The param values alone, without ``suggestion_uuid``: ready for ``train(**params)``."""
        return {k: v for k, v in self.suggestion.items() if k != SUGGESTION_ID_DICT_KEY}


@attrs.define
class ObserveOutput:
    """What :meth:`CARBS.observe` returns: counts, best observation and front size."""

    logs: dict[str, Any] = attrs.Factory(dict)


def observation_to_basic(
    observation: ObservationInParam, search_space: SearchSpace, observed_at: float
) -> ObservationInBasic:
    """Check an observation strictly and map it to basic space.

    The input must hold every param with a legal value (see
    :meth:`SearchSpace.validate_param_dict`); ``is_failure`` must be a bool;
    ``cost`` a finite real number > 0; ``output`` a real number, or anything
    for a failed run. Complex numbers, strings and integers too large for a
    float are rejected. A NaN or infinite output makes the run a failure.

    Raises:
        InvalidObservationError: naming the offending field.
    """
    if not isinstance(observation, ObservationInParam):
        raise InvalidObservationError(
            f"expected ObservationInParam, got {type(observation).__name__}"
        )
    search_space.validate_param_dict(observation.input, what="observation.input")
    is_failure = check_bool(
        observation.is_failure, "observation.is_failure", InvalidObservationError
    )
    is_stopped = check_bool(
        observation.is_stopped, "observation.is_stopped", InvalidObservationError
    )
    if is_failure and is_stopped:
        raise InvalidObservationError(
            "observation.is_failure and observation.is_stopped are both set: a run that "
            "failed is a failure, a run stopped on purpose is not"
        )
    projected = math.nan
    if observation.projected_output is not None:
        if not is_stopped:
            raise InvalidObservationError(
                "observation.projected_output is for runs stopped early (is_stopped=True)"
            )
        projected = check_number(
            observation.projected_output, "observation.projected_output", InvalidObservationError
        )
    cost = check_number(
        observation.cost,
        "observation.cost",
        InvalidObservationError,
        min_value=0.0,
        exclusive_min=True,
    )
    output = math.nan
    if not is_failure or is_real_number(observation.output):
        output = check_number(
            observation.output, "observation.output", InvalidObservationError, finite=False
        )
    suggestion_id = observation.input.get(SUGGESTION_ID_DICT_KEY)
    if suggestion_id is not None:
        field = f"observation.input[{SUGGESTION_ID_DICT_KEY!r}]"
        check_name(suggestion_id, field, InvalidObservationError)
    return ObservationInBasic(
        real_number_input=search_space.basic_from_param_dict(observation.input),
        output=output,
        cost=cost,
        suggestion_id=suggestion_id,
        is_failure=is_failure or not math.isfinite(output),
        observed_at=observed_at,
        is_stopped=is_stopped and math.isfinite(output),
        projected_output=projected if math.isfinite(output) else math.nan,
    )


def suggestion_id_of(suggestion: Any) -> str | None:
    """The ``suggestion_uuid`` of a suggestion dict (``None`` if it has none).

    Raises:
        InvalidObservationError: ``suggestion`` is not a dict, or its id is not a
            non-empty str.
    """
    if not isinstance(suggestion, Mapping):
        raise InvalidObservationError(
            f"expected the suggestion dict that suggest() returned, got {type(suggestion).__name__}"
        )
    suggestion_id = suggestion.get(SUGGESTION_ID_DICT_KEY)
    if suggestion_id is not None:
        check_name(suggestion_id, SUGGESTION_ID_DICT_KEY, InvalidObservationError)
    return suggestion_id


def new_runs(
    observations: Sequence[ObservationInBasic],
    recorded: Sequence[ObservationInBasic],
    curves: Mapping[str, ReportedCurve],
) -> list[ObservationInBasic]:
    """``observations`` minus exact repeats of the ``recorded`` runs' suggestion ids.

    A repeat (same id, same input, output, cost and failure flag) is a retry: it is
    dropped with a warning.

    Raises:
        InvalidObservationError: an id already recorded with a different result, or a
            run that costs less than it had spent at its last report (in ``curves``).
    """
    by_id = {o.suggestion_id: o for o in recorded if o.suggestion_id}
    new: list[ObservationInBasic] = []
    for observation in observations:
        key = observation.suggestion_id
        previous = by_id.get(key) if key else None
        if previous is None:
            curve = curves.get(key) if key else None
            if curve and curve.costs and not is_at_most(curve.costs[-1], observation.cost):
                raise InvalidObservationError(
                    f"suggestion {key!r} costs {observation.cost!r} in all, less than the "
                    f"{curve.costs[-1]!r} it had spent at its last report: observe what the "
                    "whole run cost, in the units of its reports"
                )
            new.append(observation)
            if key:
                by_id[key] = observation
        elif previous.has_same_result(observation):
            message = f"suggestion {key!r} was already observed with this result; ignored"
            logger.warning(message)
            warnings.warn(f"carbs: {message}", RuntimeWarning, stacklevel=5)
        else:
            raise InvalidObservationError(
                f"suggestion {key!r} was already observed with a different result; observe "
                "each suggestion once (ask for a new suggestion for a new run)"
            )
    return new
