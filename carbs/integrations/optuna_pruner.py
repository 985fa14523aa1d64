"""CARBS's front-based stopping rule as an Optuna pruner: ``CARBSPruner``.

Works with ``trial.report(value, step)`` / ``trial.should_prune()`` and any
sampler. The curves of the study's COMPLETE trials teach the rule how an
intermediate value relates to the final one (see :mod:`carbs.stopping`); a
running trial is pruned when, projected to the end of its run, it is unlikely
to beat every completed trial that cost no more.

Optuna reports steps, not costs. The cost at a step is read from the trial's
``carbs_report_costs`` user attribute (``{step: cost}``, written by ``carbs
report``) when it is there; otherwise a trial's cost is spread evenly over its
steps: a completed trial's cost (``cost_func``) over its planned steps, and a
running trial's planned cost over its own.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from carbs.checks import check_integer
from carbs.errors import InvalidConfigError
from carbs.integrations.engine import direction_sign, is_diverged, is_number
from carbs.stopping import DIVERGED_REASON, CompletedCurve, StopDecision, StoppingRule, decide

try:
    from optuna.pruners import BasePruner
    from optuna.trial import TrialState
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "carbs.integrations.optuna needs optuna: pip install 'carbs-hpo[optuna]'"
    ) from error

if TYPE_CHECKING:
    from optuna.study import Study
    from optuna.trial import FrozenTrial

REPORT_COSTS_ATTR = "carbs_report_costs"
"""Trial user attribute ``{str(step): cost so far}`` that overrides the even spread."""
PLANNED_COST_ATTR = "planned_cost"
"""Trial user attribute read as a running trial's planned cost when it is set."""

TotalSteps = int | str | Callable[["FrozenTrial"], float | None] | None


COST_ATTR = "cost"
"""The trial user attribute read as the run's cost by :func:`default_cost`."""


def default_cost(trial: FrozenTrial) -> float | None:
    """``trial.user_attrs["cost"]`` if the objective set it, else the trial's duration in s
    (the cost rule of ``CARBSSampler`` and ``CARBSPruner``)."""
    if COST_ATTR in trial.user_attrs:
        return trial.user_attrs[COST_ATTR]
    duration = trial.duration
    return None if duration is None else duration.total_seconds()


class CARBSPruner(BasePruner):
    """Prunes a trial that, at the end of its run, could not improve the cost-aware front.

    Report the metric with ``trial.report(value, step)`` and ask
    ``trial.should_prune()`` as with any Optuna pruner; record each completed
    trial's cost with ``trial.set_user_attr("cost", c)`` (else its duration
    counts)::

        study = optuna.create_study(pruner=CARBSPruner(total_steps="epochs"))

    Args:
        total_steps: How many steps a trial runs for in all: an int for every trial,
            the name of a trial param that holds it (e.g. ``"epochs"``), or a
            function of the ``FrozenTrial``. By default a completed trial ran to its
            last reported step, and a running trial is planned to run as long as
            the median completed trial.
        cost_func: A completed trial's cost, as for ``CARBSSampler``.
        planned_cost_func: ``f(trial) -> float | None``, what a running trial will
            cost in all. By default its ``planned_cost`` user attribute if set, else
            the median cost per step of completed trials times its total steps.
        min_fraction: Never prune before this fraction of the trial's steps.
        min_runs: Never prune before this many completed curves reach that fraction.
        probability: Prune when the probability of improving the front is below this.

    Raises:
        InvalidConfigError: a setting of the wrong type or range.
    """

    def __init__(
        self,
        *,
        total_steps: TotalSteps = None,
        cost_func: Callable[[FrozenTrial], float | None] | None = None,
        planned_cost_func: Callable[[FrozenTrial], float | None] | None = None,
        min_fraction: float = 0.2,
        min_runs: int = 5,
        probability: float = 0.05,
    ) -> None:
        if total_steps is not None and not (isinstance(total_steps, str) or callable(total_steps)):
            field = "total_steps (an int, a param name or a function)"
            total_steps = check_integer(total_steps, field, InvalidConfigError, min_value=1)
        for name, function in (("cost_func", cost_func), ("planned_cost_func", planned_cost_func)):
            if function is not None and not callable(function):
                raise InvalidConfigError(f"{name} must be callable")
        if not (is_number(min_fraction) and 0.0 <= min_fraction <= 1.0):
            raise InvalidConfigError(f"min_fraction must be in [0, 1], got {min_fraction!r}")
        min_runs = check_integer(min_runs, "min_runs", InvalidConfigError, min_value=4)
        if not (is_number(probability) and 0.0 <= probability <= 1.0):
            raise InvalidConfigError(f"probability must be in [0, 1], got {probability!r}")
        self._total_steps = total_steps
        self._cost_func = cost_func or default_cost
        self._planned_cost_func = planned_cost_func
        self._rule = StoppingRule(float(min_fraction), min_runs, float(probability))
        # A completed trial never changes: its curve is read once, not at every report
        # of every running trial (500 reports of 50 trials took 0.1 s per decision).
        self._curves: dict[tuple[Any, ...], tuple[CompletedCurve, float] | None] = {}

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        return self.decision(study, trial).should_stop

    def decision(self, study: Study, trial: FrozenTrial) -> StopDecision:
        """The decision behind :meth:`prune`, with its reason and figures."""
        step = trial.last_step
        if step is None:
            return StopDecision(False, "the trial has not reported yet")
        if is_diverged(trial.intermediate_values[step]):  # a NaN loss never recovers
            return StopDecision(True, DIVERGED_REASON)
        sign = direction_sign(study.direction.name.lower(), "the study's direction")
        finals = self._finals(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
        completed = [
            c for t, cost, value in finals if (c := self._cached_curve(t, cost, value, sign))
        ]
        per_step = [c.final_cost / steps for c, steps in completed]
        typical_steps = statistics.median(s for _, s in completed) if completed else None
        steps = self._steps(trial) or typical_steps or float(step)
        planned = self._planned_cost(trial, steps, per_step)
        costs = _reported_costs(trial)
        cost = costs.get(step) if costs else None
        if cost is None and planned is not None and steps > 0:
            cost = planned * min(step / steps, 1.0)
        if cost is None or cost <= 0:
            return StopDecision(False, "no cost is known for this trial's progress")
        return decide(
            cost=cost,
            value=sign * trial.intermediate_values[step],
            planned_cost=planned,
            completed=[c for c, _ in completed],
            # The front is every completed trial's, curve or not (one that never reported,
            # or reported a NaN on the way, still sets what a run must beat).
            front_costs=[cost for _, cost, _ in finals],
            front_values=[sign * value for _, _, value in finals],
            rule=self._rule,
            better_direction_sign=sign,
            reports=_running_reports(trial, costs, planned, steps, sign),
        )

    def _finals(self, trials: Sequence[FrozenTrial]) -> list[tuple[FrozenTrial, float, float]]:
        """``(trial, cost, value)`` of the completed trials with a finite value and a cost > 0."""
        finals = []
        for trial in trials:
            cost: Any = self._cost_func(trial)
            value: Any = trial.value
            if is_number(cost) and cost > 0 and is_number(value):
                finals.append((trial, float(cost), float(value)))
        return finals

    def _steps(self, trial: FrozenTrial) -> float | None:
        total = self._total_steps
        value: Any
        if total is None:
            return None
        if isinstance(total, int):
            value = total
        elif isinstance(total, str):
            value = trial.params.get(total)
        else:
            value = total(trial)
        return float(value) if is_number(value) and value > 0 else None

    def _planned_cost(
        self, trial: FrozenTrial, steps: float, per_step: list[float]
    ) -> float | None:
        if self._planned_cost_func is not None:
            value: Any = self._planned_cost_func(trial)
        else:
            value = trial.user_attrs.get(PLANNED_COST_ATTR)
        if is_number(value) and value > 0:
            return float(value)
        return statistics.median(per_step) * steps if per_step else None

    def _cached_curve(
        self, trial: FrozenTrial, cost: float, value: float, sign: int
    ) -> tuple[CompletedCurve, float] | None:
        key = (trial.number, trial.datetime_start, trial.datetime_complete, cost, value, sign)
        if key not in self._curves:
            self._curves[key] = self._completed_curve(trial, cost, value, sign)
        return self._curves[key]

    def _completed_curve(
        self, trial: FrozenTrial, cost: float, value: float, sign: int
    ) -> tuple[CompletedCurve, float] | None:
        """The curve in goodness of a trial of :meth:`_finals` (with its cost and value),
        and its total steps (``None`` if it has no usable curve)."""
        if not trial.intermediate_values:
            return None
        steps = self._steps(trial) or float(max(trial.intermediate_values))
        if steps <= 0:  # one report, at step 0: no progress to spread the cost over
            return None
        if any(not is_number(v) for v in trial.intermediate_values.values()):
            return None
        reported = _reported_costs(trial)
        points = [
            (reported.get(s, cost * min(s / steps, 1.0)), sign * v)
            for s, v in sorted(trial.intermediate_values.items())
        ]
        # Steps counted from 0 (Optuna's own examples) put the first report at cost 0: a
        # point before the run began, left out (dropping the curve left the rule blind).
        points = [(c, v) for c, v in points if c > 0]
        if not points:
            return None
        costs, values = zip(*points, strict=True)
        curve = CompletedCurve(costs, values, cost, sign * value)
        return curve, steps


def _running_reports(
    trial: FrozenTrial, costs: dict[int, float], planned: float | None, steps: float, sign: int
) -> list[tuple[float, float]]:
    """The running trial's reports as ``(cost, goodness)``, read like its latest one: the
    reported cost of a step, else its share of the planned cost."""
    reports = []
    for step, value in sorted(trial.intermediate_values.items()):
        cost = costs.get(step)
        if cost is None and planned is not None and steps > 0:
            cost = planned * min(step / steps, 1.0)
        if cost is not None and cost > 0 and is_number(value):
            reports.append((cost, sign * float(value)))
    return reports


def _reported_costs(trial: FrozenTrial) -> dict[int, float]:
    """The ``carbs_report_costs`` attribute as ``{step: cost}`` (empty if absent or bad)."""
    raw = trial.user_attrs.get(REPORT_COSTS_ATTR)
    if not isinstance(raw, dict):
        return {}
    costs = {}
    for key, value in raw.items():
        if isinstance(key, str) and key.lstrip("-").isdigit() and is_number(value) and value > 0:
            costs[int(key)] = float(value)
    return costs
