"""The sweep: the one owner and writer of an optimizer's :class:`~carbs.state.CARBSState`.

:class:`Sweep` records observations and outstanding suggestions, chooses
points (via :mod:`carbs.suggestions`) and keeps the fitted models that the next
choice reuses. It validates nothing and locks nothing: :class:`~carbs.CARBS`,
the public face, checks every input and serialises calls before they get here.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import torch

from carbs import resampling, stopping, suggestions
from carbs.candidates import CandidateSampler
from carbs.coverage import CostPlane
from carbs.errors import InvalidObservationError
from carbs.observations import ObservationInBasic, SuggestionInBasic, new_runs
from carbs.pareto import ObservationGroup, best_observation, front_inputs, successes_front
from carbs.spaces import SearchSpace
from carbs.state import CARBSState
from carbs.surrogate.gp import ExactRegressionGP
from carbs.surrogate.model import SurrogateModel

logger = logging.getLogger(__name__)


class Sweep:
    """The observations, outstanding suggestions and search state of one optimizer.

    Args:
        state: The state to own (a fresh one, or one loaded from a file).
        search_space: The params of ``state``.
    """

    def __init__(self, state: CARBSState, search_space: SearchSpace) -> None:
        self._state = state
        self.search_space = search_space
        # Fitted GPs reused by the next choice; derived from the state's hyperparameters.
        self._model_cache: dict[str, ExactRegressionGP] = {}

    @property
    def state(self) -> CARBSState:
        """The state; read it, never write it (the sweep is its only writer)."""
        return self._state

    def front(self, is_conservative: bool | None = None) -> list[ObservationGroup]:
        """The Pareto front of the successes, cheapest first (the config's rule by default)."""
        config = self._state.config
        if is_conservative is None:
            is_conservative = config.is_pareto_group_selection_conservative
        return successes_front(
            self._state.observations,
            config.min_pareto_cost_fraction,
            config.better_direction_sign,
            is_conservative,
            config.is_pareto_bucket_challenged,
            config.is_pareto_tie_better_first,
        )

    # -- choosing ----------------------------------------------------------------------------------
    def choose(self) -> suggestions.Choice:
        """The next point: a warm-up draw, a resample, or the Bayesian choice (or its fallback).

        If choosing raises, the state is left as it was (random generator included).
        """
        return self.choose_batch(1)[0]

    def choose_batch(self, count: int) -> list[suggestions.Choice]:
        """``count`` points, each chosen as :meth:`choose` would with the earlier ones pending.

        The surrogate is fitted at most once for the whole batch; each later point sees
        the earlier ones (and every outstanding suggestion) through the model's fantasy
        update. If choosing raises, the state is left as it was.
        """
        state = self._state
        before = (
            state.generator.get_state(),
            state.hyperparameters,
            state.oversample_factor,
            state.skipped_resample_turns,
            state.fallback_count,
        )
        try:
            batch = _Batch()
            choices = []
            for _ in range(count):
                choice = self._choose(batch)
                batch.points.append(choice.point)
                choices.append(choice)
            return choices
        except BaseException:
            state.generator.set_state(before[0])
            state.hyperparameters, state.oversample_factor = before[1:3]
            state.skipped_resample_turns, state.fallback_count = before[3:]
            self._model_cache = {}
            raise

    def _choose(self, batch: _Batch) -> suggestions.Choice:
        state, config = self._state, self._state.config
        sampler = CandidateSampler(self.search_space, config.initial_search_radius)
        successes = state.successes
        pending = [s.real_number_input for s in state.outstanding_suggestions.values()]
        pending += batch.points
        observed = [o.real_number_input for o in state.observations]
        if len(successes) < config.num_random_samples:
            origin = state.search_center_in_basic.unsqueeze(0)
            choice = suggestions.sample_around(
                sampler,
                origin,
                state.generator,
                state.oversample_factor,
                "random",
                taken=[*observed, *pending],
            )
            state.oversample_factor = choice.oversample_factor
            return choice
        turn = resampling.resample_turn(
            config, successes, state.skipped_resample_turns, [*observed, *pending]
        )
        if turn == "skipped":
            state.skipped_resample_turns += 1
        elif turn == "due":
            point = resampling.resample_point(
                self.front(is_conservative=False),
                self.search_space,
                pending,
                failed=[o.real_number_input for o in state.failures],
                max_cost=config.max_suggestion_cost,
            )
            if point is not None:
                return suggestions.Choice(
                    point, {"suggestion_type": "resample"}, state.oversample_factor
                )
        front = self.front()
        try:
            if batch.fit_error is not None:
                raise batch.fit_error
            choice = self._bayesian_choice(sampler, front, pending, batch)
        except suggestions.NUMERICAL_ERRORS as error:
            if batch.fit_error is None:
                state.fallback_count += 1
                logger.warning(
                    "surrogate model failed (%s: %s); sampling around the Pareto front instead "
                    "(fallback %d)",
                    type(error).__name__,
                    error,
                    state.fallback_count,
                )
            batch.fit_error = error
            choice = suggestions.sample_around(
                sampler, front_inputs(front), state.generator, state.oversample_factor, "fallback"
            )
        state.oversample_factor = choice.oversample_factor
        return attrs.evolve(choice, log={**choice.log, "fallback_count": state.fallback_count})

    def _bayesian_choice(
        self,
        sampler: CandidateSampler,
        front: list[ObservationGroup],
        pending: list[torch.Tensor],
        batch: _Batch,
    ) -> suggestions.Choice:
        state, config = self._state, self._state.config
        if batch.model is None:
            batch.model = suggestions.fit_surrogate(
                config,
                state.successes,
                state.failures,
                front,
                state.generator,
                state.hyperparameters,
                self._model_cache,
                self.search_space.categorical_columns,
                state.stopped,
            )
            state.hyperparameters = batch.model.hyperparameters
        model = batch.model
        if len(pending) > batch.pending_in_model:
            new_pending = torch.stack(pending[batch.pending_in_model :])
            model.add_pending(new_pending, config.outstanding_suggestion_estimator)
            batch.pending_in_model = len(pending)
        choice = suggestions.bayesian_choice(
            config,
            sampler,
            front,
            model,
            state.generator,
            state.oversample_factor,
            state.successes,
            pending,
        )
        if "warning" in choice.log:
            logger.warning("%s", choice.log["warning"])
        return choice

    def resample_turns_used(self) -> int:
        """Resample turns used: repeats observed or outstanding, plus turns skipped."""
        state = self._state
        observed = [o.real_number_input for o in state.observations]
        pending = [s.real_number_input for s in state.outstanding_suggestions.values()]
        return resampling.resample_turns_used(state.skipped_resample_turns, observed + pending)

    # -- recording ---------------------------------------------------------------------------------
    def remember(self, suggestion_id: str, suggestion: SuggestionInBasic) -> None:
        """Keep a suggestion as outstanding; beyond the cap the oldest is dropped with a warning."""
        outstanding = self._state.outstanding_suggestions
        previous = outstanding.pop(suggestion_id, None)
        if previous is None or not torch.equal(
            previous.real_number_input, suggestion.real_number_input
        ):
            self._state.curves.pop(suggestion_id, None)  # another run's reports, if any
        outstanding[suggestion_id] = suggestion
        limit = self._state.config.max_outstanding_suggestions
        while len(outstanding) > limit:
            oldest = next(iter(outstanding))
            del outstanding[oldest]
            self._state.curves.pop(oldest, None)
            logger.warning(
                "more than max_outstanding_suggestions=%d suggestions are outstanding; dropped "
                "the oldest (%s). Observe finished runs and forget_suggestion() cancelled ones.",
                limit,
                oldest,
            )

    def check_new_id(self, suggestion_id: str, *, may_be_outstanding: bool = False) -> None:
        """Refuse an id that a recorded run (or, unless allowed, a running one) already
        has: its reports and its result would be taken for that run's."""
        use = None
        if suggestion_id in self._state.outstanding_suggestions and not may_be_outstanding:
            use = "outstanding"
        elif any(o.suggestion_id == suggestion_id for o in self._state.observations):
            use = "observed"
        if use is not None:
            raise InvalidObservationError(
                f"suggestion_id {suggestion_id!r} is already {use}: give each run its own id "
                "(or leave it out for a fresh one)"
            )

    def forget(self, suggestion_id: str) -> bool:
        """Drop an outstanding suggestion and its reports; ``False`` (and nothing dropped)
        if it was not outstanding: a recorded run keeps its curve."""
        if self._state.outstanding_suggestions.pop(suggestion_id, None) is None:
            return False
        self._state.curves.pop(suggestion_id, None)
        return True

    # -- early stopping ----------------------------------------------------------------------------
    def add_report(
        self, suggestion_id: str, cost: float, output: float, planned_cost: float | None
    ) -> None:
        """Append an intermediate report (already checked) to a running suggestion's curve."""
        curve = self._state.curves.get(suggestion_id, stopping.ReportedCurve())
        self._state.curves[suggestion_id] = curve.with_report(cost, output, planned_cost)

    def adopt_curves(self, curves: Mapping[str, stopping.ReportedCurve]) -> None:
        """Keep earlier runs' reports (a warm start's) where this sweep has none for that id."""
        for suggestion_id, curve in curves.items():
            self._state.curves.setdefault(suggestion_id, curve)

    def stop_decision(self, suggestion_id: str) -> stopping.StopDecision:
        """Whether the outstanding suggestion, at its latest report, should stop."""
        state, config = self._state, self._state.config
        curve = state.curves.get(suggestion_id)
        if curve is None or not curve.costs:
            return stopping.StopDecision(False, "the run has not reported yet")
        sign = config.better_direction_sign
        successes = state.successes
        return stopping.decide(
            cost=curve.costs[-1],
            value=sign * curve.outputs[-1],
            planned_cost=self._planned_cost(suggestion_id, curve),
            completed=stopping.completed_curves(successes, state.curves, sign),
            front_costs=[o.cost for o in successes],
            front_values=[sign * o.output for o in successes],
            rule=stopping.StoppingRule(
                config.early_stopping_min_fraction,
                config.early_stopping_min_runs,
                config.early_stopping_probability,
            ),
            better_direction_sign=sign,
            reports=[(c, sign * v) for c, v in zip(curve.costs, curve.outputs, strict=True)],
        )

    def _planned_cost(self, suggestion_id: str, curve: stopping.ReportedCurve) -> float | None:
        """The user's planned cost, else the cost predicted when it was suggested, else the
        cost plane's prediction at its params (``None`` with too few runs for a plane)."""
        if curve.planned_cost is not None:
            return curve.planned_cost
        suggestion = self._state.outstanding_suggestions.get(suggestion_id)
        if suggestion is None:
            return None
        predicted = suggestion.log_info.get("predicted_cost")
        if isinstance(predicted, float) and math.isfinite(predicted) and predicted > 0:
            return predicted
        plane = CostPlane.fit(
            self._state.successes,
            self.search_space.choice_counts(),
            self._state.config.is_cost_overhead_fitted,
        )
        if plane is None:
            return None
        return float(torch.exp(plane.log_cost(suggestion.real_number_input.unsqueeze(0)))[0])

    def without_repeats(
        self, observations: Sequence[ObservationInBasic]
    ) -> list[ObservationInBasic]:
        """``observations`` minus exact repeats of recorded runs (see :func:`new_runs`)."""
        return new_runs(observations, self._state.observations, self._state.curves)

    def record(self, observations: Sequence[ObservationInBasic]) -> None:
        """Append observations (already checked) and retire their outstanding suggestions.

        An observation of an outstanding suggestion takes the suggestion's type
        (random, resample, bayesian or fallback) with it.
        """
        for observation in observations:
            if observation.is_stopped and math.isnan(observation.projected_output):
                self._add_final_reading(observation)
                observation = attrs.evolve(
                    observation, projected_output=self._projected_output(observation)
                )
            if observation.suggestion_id is not None:
                suggestion = self._state.outstanding_suggestions.pop(
                    observation.suggestion_id, None
                )
                if suggestion is not None:
                    kind = suggestion.log_info.get("suggestion_type")
                    observation = attrs.evolve(observation, suggestion_type=kind)
            self._state.observations.append(observation)

    def _add_final_reading(self, observation: ObservationInBasic) -> None:
        """A run observed as stopped ends its curve at its own output and cost (unless its
        last report is that, as in :meth:`CARBS.stop`): its projection starts there."""
        curve = self._state.curves.get(key := observation.suggestion_id or "")
        last = (curve.costs[-1], curve.outputs[-1]) if curve and curve.costs else None
        if key and last != (observation.cost, observation.output):
            # A cost within rounding below the last report's is that cost: never falling.
            cost = observation.cost if last is None else max(observation.cost, last[0])
            self.add_report(key, cost, observation.output, None)

    def _projected_output(self, observation: ObservationInBasic) -> float:
        """What the performance model sees for a stopped run: its curve's projection when
        the stopping rule could make one, else the output it stopped at."""
        if observation.suggestion_id is not None:
            projected = self.stop_decision(observation.suggestion_id).projected_output
            if math.isfinite(projected):
                return projected
        return observation.output

    def initialize(self, observations: Sequence[ObservationInBasic]) -> None:
        """Record earlier runs, pace resampling from here on and centre on the best of them
        (nothing to do for none: every one a repeat of a recorded run, say)."""
        if not observations:
            return
        self.record(observations)
        state = self._state
        frequency = state.config.resample_frequency
        if frequency > 0:
            # Resampling paces itself from here on rather than catching up on the batch.
            behind = len(state.successes) // frequency - 1 - self.resample_turns_used()
            state.skipped_resample_turns += max(0, behind)
        best = best_observation(observations, state.config.better_direction_sign)
        if best is not None:
            state.search_center_in_basic = best.real_number_input.clone()
        else:
            logger.warning("initialize_from_observations: no success to centre the search on")

    def reseed(self, seed: int) -> None:
        """Restart the random generator from ``seed``."""
        self._state.generator.manual_seed(seed)

    def move_center(self, values: Mapping[str, Any]) -> None:
        """Set the search centre's coordinates for the params named in ``values`` (param space)."""
        center = self._state.search_center_in_basic.clone()
        for name, value in values.items():
            index = self.search_space.names.index(name)
            center[index] = self.search_space.spaces[index].basic_from_value(value)
        self._state.search_center_in_basic = center

    def replace_state(self, state: CARBSState) -> None:
        """Own ``state`` instead (a loaded one); fitted models are dropped."""
        self._state = state
        self._model_cache = {}


@attrs.define
class _Batch:
    """What one :meth:`Sweep.choose_batch` call shares between its points."""

    points: list[torch.Tensor] = attrs.Factory(list)
    model: SurrogateModel | None = None
    pending_in_model: int = 0
    fit_error: BaseException | None = None
