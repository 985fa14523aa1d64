"""Value classes passed between the user and the optimizer.

The names and fields are those of the established CARBS release.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
from torch import Tensor


@attrs.define
class ObservationInParam:
    """The result of one training run, in param space.

    Attributes:
        input: The params the run used (usually a suggestion dict, uuid included).
        output: The metric. NaN or infinite outputs are recorded as failures.
        cost: What the run cost (seconds, GPU-hours, FLOPs); must be finite and > 0.
        is_failure: ``True`` if the run did not complete (out of memory, divergence).
    """

    input: dict[str, Any]
    output: float
    cost: float = 1.0
    is_failure: bool = False


@attrs.define
class ObservationInBasic:
    """An observation with its input mapped to basic space, shape ``(d,)``."""

    real_number_input: Tensor
    output: float
    cost: float = 1.0
    suggestion_id: str | None = None


def in_recording_order(
    successes: Sequence[ObservationInBasic],
    failures: Sequence[ObservationInBasic],
    failure_flags: Sequence[bool],
) -> list[tuple[ObservationInBasic, bool]]:
    """Merge the success and failure lists back into one list in recording order.

    Args:
        successes: Successful observations, in recording order.
        failures: Failed observations, in recording order.
        failure_flags: For every observation in recording order, whether it failed;
            as many ``True`` as ``failures`` and ``False`` as ``successes``.

    Returns:
        ``(observation, is_failure)`` pairs.
    """
    next_success, next_failure = iter(successes), iter(failures)
    return [
        (next(next_failure), True) if failed else (next(next_success), False)
        for failed in failure_flags
    ]


@attrs.define
class SuggestionInBasic:
    """A point chosen by the optimizer, in basic space, with diagnostics."""

    real_number_input: Tensor
    log_info: dict[str, Any] = attrs.Factory(dict)


@attrs.define
class SuggestOutput:
    """What :meth:`CARBS.suggest` returns.

    Attributes:
        suggestion: Every param's value plus the key ``suggestion_uuid``.
        log: How the point was chosen (``suggestion_type``) and, for Bayesian
            suggestions, the model's predictions there: predicted output and
            its std in the user's units, predicted cost, success probability,
            expected improvement.
    """

    suggestion: dict[str, Any]
    log: dict[str, Any] = attrs.Factory(dict)


@attrs.define
class ObserveOutput:
    """What :meth:`CARBS.observe` returns: counts, best observation and front size."""

    logs: dict[str, Any] = attrs.Factory(dict)
