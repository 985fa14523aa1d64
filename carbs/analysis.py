"""Read-only views of a sweep: best runs, front members, predictions, scaling laws, tables.

Everything here works on a :class:`Snapshot`, a copy of the data that
:meth:`CARBS.snapshot` takes under the optimizer's lock, so an analysis never
holds up ``suggest()`` or ``observe()`` and never changes the optimizer.
:class:`AnalysisMixin` gives :class:`~carbs.CARBS` its read-only views (each a
copy) and its analysis methods, thin wrappers over the functions below.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from carbs.checks import check_number
from carbs.config import CARBSParams
from carbs.errors import CARBSValueError
from carbs.linefit import DEFAULT_CONFIDENCE
from carbs.observations import ObservationInBasic, ObservationInParam, SuggestionInBasic
from carbs.pareto import ObservationGroup, best_observation, successes_front
from carbs.predictions import Predictions, predict
from carbs.scaling import (
    DEFAULT_MAX_EXTRAPOLATION,
    DEFAULT_MIN_POINTS,
    DEFAULT_MIN_R_SQUARED,
    CostSuggestion,
    Law,
    fit_scaling_laws,
)
from carbs.scaling import suggest_at_cost as laws_at_cost
from carbs.spaces import Param, SearchSpace
from carbs.stopping import ReportedCurve
from carbs.tables import (
    ObservationRecord,
    observation_records,
    observations_dataframe,
)

if TYPE_CHECKING:
    import pandas as pd
    from torch import Tensor

    from carbs.sweep import Sweep


@attrs.frozen(slots=False)
class Snapshot:
    """An immutable copy of what analyses need from an optimizer.

    Attributes:
        config: The optimizer's settings.
        search_space: Its params.
        observations: Every observation in recording order.
        curves: Intermediate reports by suggestion id (see :meth:`CARBS.report`).
    """

    config: CARBSParams
    search_space: SearchSpace
    observations: tuple[ObservationInBasic, ...]
    curves: Mapping[str, ReportedCurve] = attrs.field(factory=dict)

    @functools.cached_property
    def front(self) -> list[ObservationGroup]:
        """The Pareto front (the config's selection rule), cheapest first."""
        return successes_front(
            self.observations,
            self.config.min_pareto_cost_fraction,
            self.config.better_direction_sign,
            self.config.is_pareto_group_selection_conservative,
            self.config.is_pareto_bucket_challenged,
            self.config.is_pareto_tie_better_first,
        )


# -- best runs ----------------------------------------------------------------------------------
def best_within_cost(
    snapshot: Snapshot, max_cost: float | None = None
) -> ObservationInParam | None:
    """The best successful run whose cost is at most ``max_cost`` (any cost if ``None``).

    Raises:
        CARBSValueError: ``max_cost`` is not a number > 0.
    """
    if max_cost is not None:
        max_cost = check_number(
            max_cost, "max_cost", CARBSValueError, min_value=0, exclusive_min=True, finite=False
        )
    affordable = [o for o in snapshot.observations if max_cost is None or o.cost <= max_cost]
    best = best_observation(affordable, snapshot.config.better_direction_sign)
    if best is None:
        return None
    params = snapshot.search_space.param_dict_from_basic(best.real_number_input)
    return ObservationInParam(input=params, output=best.output, cost=best.cost, is_failure=False)


# -- the front ----------------------------------------------------------------------------------
@attrs.frozen
class ParetoMember:
    """One member of the performance-cost Pareto front.

    Attributes:
        params: The member's input, param space (integer params as ``int``).
        output: Mean output of its observations.
        cost: Mean cost of its observations.
        count: Number of observations at this input.
    """

    params: dict[str, Any]
    output: float
    cost: float
    count: int


def pareto_members(
    front: Sequence[ObservationGroup], search_space: SearchSpace
) -> list[ParetoMember]:
    """Turn front groups into :class:`ParetoMember` values, cheapest first."""
    return [
        ParetoMember(
            params=search_space.param_dict_from_basic(group.input_in_basic),
            output=group.mean_output,
            cost=group.mean_cost,
            count=group.count,
        )
        for group in sorted(front, key=lambda g: g.mean_cost)
    ]


class AnalysisMixin:
    """The read-only views of :class:`~carbs.CARBS`; each hands out copies (mostly of
    :meth:`snapshot`), so that changing what it returns leaves the optimizer as it was."""

    _sweep: Sweep
    _lock: threading.RLock
    search_space: SearchSpace

    @property
    def config(self) -> CARBSParams:
        """The optimizer's settings."""
        return self._sweep.state.config

    @property
    def params(self) -> list[Param]:
        """The tuned params, in order."""
        return list(self.search_space.params)

    @property
    def real_dim(self) -> int:
        """Number of tuned params."""
        return self.search_space.dim

    @property
    def outstanding_suggestions(self) -> dict[str, SuggestionInBasic]:
        """Suggestions neither observed nor forgotten, by id, oldest first (a copy)."""
        with self._lock:
            return {
                suggestion_id: SuggestionInBasic(
                    suggestion.real_number_input.clone(), copy.deepcopy(suggestion.log_info)
                )
                for suggestion_id, suggestion in self._sweep.state.outstanding_suggestions.items()
            }

    @property
    def search_center_in_basic(self) -> Tensor:
        """Centre of the warm-up draws, basic space, shape ``(d,)`` (a copy)."""
        return self._sweep.state.search_center_in_basic.clone()

    @property
    def resample_count(self) -> int:
        """Resample turns used so far: the repeated inputs among the observations and
        outstanding suggestions, plus the turns skipped because the noise was negligible."""
        return self._sweep.resample_turns_used()

    @property
    def fallback_count(self) -> int:
        """Suggestions made by sampling around the front because a GP fit or solve failed."""
        return self._sweep.state.fallback_count

    def get_pareto_groups(self, is_conservative: bool | None = None) -> list[ObservationGroup]:
        """The current Pareto front as observation groups, cheapest first (copies)."""
        with self._lock:
            front = self._sweep.front(is_conservative)
        return [attrs.evolve(g, input_in_basic=g.input_in_basic.clone()) for g in front]

    def snapshot(self) -> Snapshot:
        """A copy of the config, params and observations (for analyses): changing it
        leaves the optimizer as it was."""
        with self._lock:
            state = self._sweep.state
            return Snapshot(
                copy.deepcopy(state.config),
                self.search_space,
                tuple(
                    attrs.evolve(o, real_number_input=o.real_number_input.clone())
                    for o in state.observations
                ),
                dict(state.curves),  # each curve is frozen, of tuples
            )

    @property
    def observation_count(self) -> int:
        """Every recorded run: successful, stopped early or failed."""
        with self._lock:
            return len(self._sweep.state.observations)

    @property
    def observations(self) -> tuple[ObservationInBasic, ...]:
        """Every observation, successful or not, in recording order (inputs in basic space)."""
        return self.snapshot().observations

    @property
    def success_observations(self) -> list[ObservationInBasic]:
        """The runs that completed successfully, in recording order (the original release's
        name); runs stopped early are in :attr:`stopped_observations`."""
        return [o for o in self.snapshot().observations if o.is_complete]

    @property
    def stopped_observations(self) -> list[ObservationInBasic]:
        """The runs stopped early (see :meth:`stop`), in recording order."""
        return [o for o in self.snapshot().observations if o.is_stopped]

    @property
    def failure_observations(self) -> list[ObservationInBasic]:
        """The failed observations in recording order."""
        return [o for o in self.snapshot().observations if o.is_failure]

    @property
    def cumulative_cost(self) -> float:
        """Total cost of the runs that did not fail (as in the release), runs stopped early
        included at what they spent; see :attr:`total_cost`."""
        return float(sum(o.cost for o in self.snapshot().observations if not o.is_failure))

    @property
    def total_cost(self) -> float:
        """Total cost of every observed run, failed runs included: what the sweep has spent."""
        return float(sum(o.cost for o in self.snapshot().observations))

    def best(self, max_cost: float | None = None) -> ObservationInParam | None:
        """The best successful run, overall or among runs costing at most ``max_cost``.

        Returns:
            The observation in param space, or ``None`` if there is none.

        Raises:
            CARBSValueError: ``max_cost`` is not a number > 0.
        """
        return best_within_cost(self.snapshot(), max_cost)

    def pareto_front(self) -> list[ParetoMember]:
        """The current Pareto front in param space, cheapest first."""
        snapshot = self.snapshot()
        return pareto_members(snapshot.front, snapshot.search_space)

    def predict(self, points: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> Predictions:
        """Predict output (mean and std), cost and success probability at param dicts.

        Fits the same surrogates as :meth:`suggest` on the current observations
        (pending suggestions are not included), from their priors and with a
        private random generator seeded by ``config.seed``: the result depends
        only on the data and the config, and never changes later suggestions.

        Args:
            points: Param dicts (validated like observation inputs; a
                ``suggestion_uuid`` key is allowed), or a single one.

        Returns:
            :class:`Predictions` with numpy arrays of shape ``(m,)``.

        Raises:
            InvalidObservationError: a point with a missing or unknown key or an
                illegal value, or no point at all.
            InsufficientDataError: no successful observation yet.
            carbs.surrogate.gp.GPFitError: a ``RuntimeError``, when the models cannot
                be fitted to the data (outputs near the float range); ``suggest()``
                falls back to a draw around the front then, a prediction cannot.
        """
        return predict(self.snapshot(), points)

    def scaling_laws(self, confidence: float = DEFAULT_CONFIDENCE) -> dict[str, Law]:
        """Fit each param against cost along the Pareto front (see :mod:`carbs.scaling`).

        For a ``LogSpace`` param ``law.slope`` is the exponent in ``value ~ k *
        cost**exponent``; for ``LinearSpace`` it is value per decade of cost, for
        ``LogitSpace`` log10 odds per decade of cost.

        Raises:
            InsufficientDataError: fewer than two front members, or all at one cost.
        """
        snapshot = self.snapshot()
        return fit_scaling_laws(snapshot.front, snapshot.search_space, confidence)

    def suggest_at_cost(
        self,
        cost: float,
        confidence: float = DEFAULT_CONFIDENCE,
        min_r_squared: float = DEFAULT_MIN_R_SQUARED,
        max_extrapolation: float = DEFAULT_MAX_EXTRAPOLATION,
    ) -> CostSuggestion:
        """The scaling laws' compute-optimal settings at any budget, with intervals.

        Values and intervals are legal (on integer lattices, inside the bounds).
        ``is_reliable`` is ``False``, with reasons in ``warnings``, when the front
        has fewer than 3 members, a law's R^2 is below ``min_r_squared``, or
        ``cost`` lies more than ``max_extrapolation`` times outside the front's
        cost range.

        Raises:
            InsufficientDataError: fewer than two front members, or all at one cost.
            CARBSValueError: ``cost`` is not finite and > 0.
        """
        return laws_at_cost(
            self.scaling_laws(confidence),
            cost,
            min_points=DEFAULT_MIN_POINTS,
            min_r_squared=min_r_squared,
            max_extrapolation=max_extrapolation,
            fixed=self.snapshot().search_space.fixed,
            confidence=confidence,
        )

    def observation_records(self) -> list[ObservationRecord]:
        """Every observation with its params in param space, in recording order."""
        snapshot = self.snapshot()
        return observation_records(snapshot.observations, snapshot.search_space, snapshot.curves)

    def to_dataframe(self) -> pd.DataFrame:
        """All observations as a pandas DataFrame, one row each, in recording order.

        Columns: every param (param space; fixed params too), then ``output``, ``cost``,
        ``is_failure``, ``is_pareto`` (a member of the current front),
        ``suggestion_id``, ``observed_at`` (UTC timestamp), ``suggestion_type``
        (how the run's suggestion was chosen: ``"random"``, ``"resample"``,
        ``"bayesian"`` or ``"fallback"``; ``None`` for runs that were not
        suggestions, such as :meth:`initialize_from_observations` data),
        ``is_stopped`` (stopped early: ``output`` and ``cost`` are then what it
        reached and spent), ``projected_output`` (a stopped run's projected final
        output, else NaN) and ``curve`` (the run's :meth:`report` calls as a list
        of ``(cost, output)`` pairs; empty if it reported none). Needs the
        ``pandas`` extra: ``pip install "carbs-hpo[pandas]"``.
        """
        snapshot = self.snapshot()
        records = observation_records(snapshot.observations, snapshot.search_space, snapshot.curves)
        names = [param.name for param in snapshot.search_space.params]
        return observations_dataframe(records, snapshot.front, names)
