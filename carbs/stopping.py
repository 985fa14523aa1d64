"""Early stopping from the performance-cost front: pure functions and value classes.

A run reports ``(cost so far, output so far)`` while it trains. It is worth
continuing only if, once it has spent its planned cost, it can still improve the
front there: beat the best output of every completed run that cost no more.
How an intermediate output relates to the final one is learned from the curves
of the sweep's completed runs (they share a schedule): at the running run's
fraction of its planned cost, each completed curve is read as it stood then
(its latest report at or before that fraction), and a least-squares line (plus
the log of the final cost, once there are enough curves) maps that reading to
the final output. Once there are enough curves, the run's progress since half
its fraction (its reading now minus its reading then) is offered as one more
regressor, and kept only if it predicts the completed runs' finals better when
each is left out of the fit (the PRESS statistic): on a schedule whose remaining
gain depends on the run (a loss that still falls as a power of the tokens), the
curve's recent slope tells it, while on noisy per-epoch scores it is mostly
noise and is left out. When kept, it moves the prediction's centre; the width
never falls below the reading-only fit's leave-one-out error, since the winner
of that comparison looks more precise than it is. The fit's Student-t
predictive distribution, which is wide while few curves are known, gives the
probability of improving the front. Outputs are handled as "goodness",
``better_direction_sign * output``, so larger is always better.

The optimizer (:meth:`carbs.CARBS.should_stop`) gathers the curves and the front
and calls :func:`decide`; the Optuna pruner calls the same function with curves
taken from a study's trials.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import attrs
import numpy as np

from carbs.projection import Projection, leave_one_out_error, project_final

if TYPE_CHECKING:
    from carbs.observations import ObservationInBasic

# The log of the final cost joins the regression only with this many curves per
# coefficient, so that a thin sweep is not fitted with three free coefficients.
CURVES_PER_COEFFICIENT = 3

# Goodness of the completed runs beyond this (or all of it below its inverse) is
# projected in units of a power of two (exact), so that the least squares' squares stay
# within the float range; ordinary values are projected as they are.
LARGEST_UNSCALED_GOODNESS = 2.0**500

DIVERGED_REASON = "the run reported a NaN or infinite output: it diverged, and counts as a failure"


@attrs.frozen
class StoppingRule:
    """When :func:`decide` may stop a run (see the ``early_stopping_*`` fields of
    :class:`~carbs.CARBSParams`).

    Attributes:
        min_fraction: Never stop before this fraction of the planned cost is spent.
        min_runs: Never stop before this many completed curves reach the run's fraction.
        probability: Stop when the probability of improving the front is below this.
    """

    min_fraction: float = 0.2
    min_runs: int = 5
    probability: float = 0.05


@attrs.frozen
class ReportedCurve:
    """What a run reported while it trained, in the user's units.

    Attributes:
        costs: Cost spent at each report, non-decreasing.
        outputs: The output at each report.
        planned_cost: What the whole run is expected to cost, if the user said.
    """

    costs: tuple[float, ...] = ()
    outputs: tuple[float, ...] = ()
    planned_cost: float | None = None

    def with_report(self, cost: float, output: float, planned_cost: float | None) -> ReportedCurve:
        """This curve with one more report (a new planned cost replaces the old one)."""
        return ReportedCurve(
            (*self.costs, cost),
            (*self.outputs, output),
            self.planned_cost if planned_cost is None else planned_cost,
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "costs": list(self.costs),
            "outputs": list(self.outputs),
            "planned_cost": self.planned_cost,
        }


@attrs.frozen
class CompletedCurve:
    """A completed run's reports and its final result, as goodness (larger is better).

    Attributes:
        costs: Cost spent at each report, shape ``(r,)``, non-decreasing.
        values: Goodness at each report, shape ``(r,)``.
        final_cost: What the whole run cost.
        final_value: The run's final goodness.
    """

    costs: tuple[float, ...]
    values: tuple[float, ...]
    final_cost: float
    final_value: float

    def value_at(self, fraction: float) -> float | None:
        """What the run had reported by ``fraction`` of its final cost: its latest report
        at or before it (``None`` before the first report).

        A running run is judged on its latest report, so completed runs are read the
        same way; interpolating towards the next report (or the final result) would
        read them with knowledge the running run does not have yet, and make the
        projection overconfident late in a run.
        """
        return latest_report(self.costs, self.values, fraction * self.final_cost)

    def in_units(self, unit: float) -> CompletedCurve:
        """This curve with every goodness divided by ``unit``."""
        if unit == 1.0:  # dividing by 1 changes no float: skip the copy
            return self
        values = tuple(v / unit for v in self.values)
        return CompletedCurve(self.costs, values, self.final_cost, self.final_value / unit)


COST_RTOL = 1e-9
"""Costs this close (relative) count as equal: a planned cost of 49 steps at the
completed runs' cost per step comes out one float below their cost."""


def is_at_most(cost: float, limit: float) -> bool:
    """``cost <= limit``, up to rounding (:data:`COST_RTOL`)."""
    return cost <= limit or math.isclose(cost, limit, rel_tol=COST_RTOL, abs_tol=0.0)


def latest_report(costs: Sequence[float], values: Sequence[float], max_cost: float) -> float | None:
    """The value of the latest report made at a cost of at most ``max_cost`` (reports
    in order, their costs never falling; ``None`` if none was)."""
    # The reports at most max_cost are a prefix (is_at_most keeps that order): find its
    # end by bisection, since a pruner reads hundreds of reports per curve at each step.
    end, beyond = 0, len(costs)
    while end < beyond:
        middle = (end + beyond) // 2
        if is_at_most(costs[middle], max_cost):
            end = middle + 1
        else:
            beyond = middle
    return values[end - 1] if end else None


@attrs.frozen
class StopDecision:
    """Whether to stop a running run, why, and the figures behind it.

    It is truthy exactly when the run should stop, so ``if optimizer.should_stop(s):``
    reads naturally. Outputs are in the user's units.

    Attributes:
        should_stop: Stop the run now.
        reason: One sentence saying why (or why not).
        fraction: Cost spent so far over the planned cost (1 once it is all spent: a
            run is never stopped then); NaN if unknown.
        planned_cost: What the whole run is expected to cost; NaN if unknown.
        projected_output: Predicted final output; NaN if not projected.
        projected_std: Scale of the Student-t prediction of the final output.
        front_output: Best output of a completed run that cost no more than the
            planned cost (the value to beat); NaN if there is none.
        improvement_probability: Probability that the final output beats
            ``front_output``; NaN if not computed.
        curve_count: Completed curves the projection was learned from.
    """

    should_stop: bool
    reason: str
    fraction: float = math.nan
    planned_cost: float = math.nan
    projected_output: float = math.nan
    projected_std: float = math.nan
    front_output: float = math.nan
    improvement_probability: float = math.nan
    curve_count: int = 0

    def __bool__(self) -> bool:
        return self.should_stop


def front_value_at(costs: Sequence[float], values: Sequence[float], cost: float) -> float | None:
    """Best goodness among completed runs that cost at most ``cost`` (``None`` if none)."""
    eligible = [v for c, v in zip(costs, values, strict=True) if is_at_most(c, cost)]
    return max(eligible) if eligible else None


def decide(
    *,
    cost: float,
    value: float,
    planned_cost: float | None,
    completed: Sequence[CompletedCurve],
    front_costs: Sequence[float],
    front_values: Sequence[float],
    rule: StoppingRule,
    better_direction_sign: int,
    reports: Sequence[tuple[float, float]] = (),
) -> StopDecision:
    """Whether a running run at ``(cost, value)`` should stop.

    Args:
        cost: Cost the run has spent so far (its latest report).
        value: Its latest output, as goodness.
        planned_cost: What the whole run will cost (``None`` if unknown: never stops).
        completed: Curves of the sweep's completed runs.
        front_costs: Costs of every completed (successful, unstopped) run.
        front_values: Their goodness.
        rule: The thresholds.
        better_direction_sign: Turns goodness back into the user's outputs.
        reports: The run's reports so far as ``(cost, goodness)``, oldest first (the
            latest may be among them); without them its progress is unknown and
            the projection reads its latest value alone.

    Returns:
        The decision; the projected and front outputs are in the user's units. A
        NaN or infinite ``value`` (the run diverged) is always a stop: its result
        would be recorded as a failure, whatever it cost.
    """
    sign = better_direction_sign
    if not math.isfinite(value):
        return StopDecision(True, DIVERGED_REASON)
    if planned_cost is None or not math.isfinite(planned_cost) or planned_cost <= 0.0:
        return StopDecision(False, "no planned cost is known for this run: it is never stopped")
    if is_at_most(planned_cost, cost):
        reason = "the run has spent its planned cost: observe() its result"
        return StopDecision(False, reason, fraction=1.0, planned_cost=planned_cost)
    fraction = cost / planned_cost
    keep_going = StopDecision(False, "", fraction=fraction, planned_cost=planned_cost)
    target = front_value_at(front_costs, front_values, planned_cost)
    if target is None:
        reason = "no completed run cost as little: any result extends the front"
        return attrs.evolve(keep_going, reason=reason)
    keep_going = attrs.evolve(keep_going, front_output=sign * target)
    if not is_at_most(rule.min_fraction, fraction):
        minimum = rule.min_fraction
        reason = f"only {fraction:.0%} of the planned cost is spent (minimum {minimum:.0%})"
        return attrs.evolve(keep_going, reason=reason)
    rows = [(c.value_at(fraction), c) for c in completed]
    usable = [(reading, c) for reading, c in rows if reading is not None]
    keep_going = attrs.evolve(keep_going, curve_count=len(usable))
    if len(usable) < rule.min_runs:
        reason = (
            f"{len(usable)} completed curves reach {fraction:.0%} of their cost "
            f"(minimum {rule.min_runs})"
        )
        return attrs.evolve(keep_going, reason=reason)
    # The unit is the completed runs': the running run's own values may be anything
    # (a loss that spiked), and the projection takes them in a unit of their own.
    unit = _goodness_unit([target, *_curve_goodness(usable)])
    usable = [(reading / unit, c.in_units(unit)) for reading, c in usable]
    reported_costs = [c for c, _ in reports]
    earlier = latest_report(reported_costs, [v / unit for _, v in reports], 0.5 * cost)
    progress = None if earlier is None else value / unit - earlier
    if progress is not None and not math.isfinite(progress):
        progress = None
    projection = _project(usable, value / unit, planned_cost, fraction, progress)
    if projection is None:
        reason = "the completed curves do not determine a projection"
        return attrs.evolve(keep_going, reason=reason)
    probability = projection.probability_above(target / unit)
    should_stop = probability < rule.probability
    verdict = "below" if should_stop else "not below"
    reason = (
        f"probability {probability:.3f} of beating the front at the planned cost is {verdict} "
        f"{rule.probability}"
    )
    return attrs.evolve(
        keep_going,
        should_stop=should_stop,
        reason=reason,
        projected_output=sign * projection.mean * unit,
        projected_std=projection.scale * unit,
        improvement_probability=probability,
    )


def _curve_goodness(usable: Sequence[tuple[float, CompletedCurve]]) -> list[float]:
    return [v for _, c in usable for v in (*c.values, c.final_value)]


def _goodness_unit(values: Sequence[float]) -> float:
    """1 for ordinary goodness; a power of two bringing it within ``[1, 2)`` once the
    largest finite magnitude passes :data:`LARGEST_UNSCALED_GOODNESS` or falls below its
    inverse (the squares of the least squares would overflow or underflow)."""
    array = np.array(values, dtype=float)
    finite = np.abs(array[np.isfinite(array)])
    largest = float(finite.max(initial=0.0))
    if largest == 0.0 or 1.0 / LARGEST_UNSCALED_GOODNESS <= largest <= LARGEST_UNSCALED_GOODNESS:
        return 1.0
    return math.ldexp(1.0, math.frexp(largest)[1] - 1)


def _project(
    usable: Sequence[tuple[float, CompletedCurve]],
    value: float,
    planned_cost: float,
    fraction: float,
    progress: float | None,
) -> Projection | None:
    readings = np.array([reading for reading, _ in usable])
    finals = np.array([c.final_value for _, c in usable])
    log_costs = np.log(np.array([c.final_cost for _, c in usable]))
    columns = [np.ones_like(readings), readings]
    query = [1.0, value]
    if len(usable) >= CURVES_PER_COEFFICIENT * 3 and np.ptp(log_costs) > 0.0:
        columns.append(log_costs)
        query.append(math.log(planned_cost))
    features = np.stack(columns, axis=1)
    without_progress = project_final(features, finals, np.array(query))
    if progress is None:
        return without_progress
    # The progress regressor, on the curves that had reported by half the fraction.
    halves = [c.value_at(0.5 * fraction) for _, c in usable]
    rows = [i for i, half in enumerate(halves) if half is not None]
    if len(rows) < CURVES_PER_COEFFICIENT * (features.shape[1] + 1):
        return without_progress
    progresses = np.array([readings[i] - halves[i] for i in rows])
    with_progress = np.concatenate([features[rows], progresses[:, None]], axis=1)
    reading_only_error = leave_one_out_error(features[rows], finals[rows])
    if leave_one_out_error(with_progress, finals[rows]) >= reading_only_error:
        return without_progress
    projection = project_final(with_progress, finals[rows], np.array([*query, progress]))
    if projection is None:
        return without_progress
    # The progress was chosen because its leave-one-out error is the lower one, so
    # its own spread is optimistic (the winner of a comparison looks better than it
    # is). It moves the projection's centre; its width never falls below the
    # reading-only fit's out-of-sample error.
    return projection.at_least_as_wide_as(math.sqrt(reading_only_error / len(rows)))


def completed_curves(
    successes: Sequence[ObservationInBasic], curves: Mapping[str, ReportedCurve], sign: int
) -> list[CompletedCurve]:
    """The curves of the completed runs that reported, in goodness (``sign`` times the
    outputs), each with its run's final cost and goodness."""
    return [
        CompletedCurve(
            curve.costs, tuple(sign * v for v in curve.outputs), run.cost, sign * run.output
        )
        for run in successes
        if run.suggestion_id is not None
        and (curve := curves.get(run.suggestion_id)) is not None
        and curve.costs
    ]
