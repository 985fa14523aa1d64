"""Early stopping: the rule's decisions (:mod:`carbs.stopping`) and the optimizer's
``report`` / ``should_stop`` / ``stop`` calls, the state and the models that use them."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from carbs import (
    CARBS,
    CARBSParams,
    CategoricalSpace,
    InvalidObservationError,
    LogitSpace,
    LogSpace,
    ObservationInParam,
    Param,
    StateError,
    StopDecision,
)
from carbs.jsonio import to_json_value
from carbs.projection import leave_one_out_error, project_final
from carbs.stopping import (
    CompletedCurve,
    StoppingRule,
    decide,
    front_value_at,
    latest_report,
)
from carbs.suggestions import fit_surrogate

RULE = StoppingRule(min_fraction=0.2, min_runs=5, probability=0.05)


def linear_curves(count: int, noise: float = 0.01, seed: int = 0) -> list[CompletedCurve]:
    """Completed runs whose final goodness is their reading at half cost plus 1 (with noise);
    all cost 10, reports at costs 2, 5 and 8."""
    rng = np.random.default_rng(seed)
    curves = []
    for _ in range(count):
        final = float(rng.uniform(0.0, 2.0))
        half = final - 1.0 + noise * float(rng.normal())
        curves.append(CompletedCurve((2.0, 5.0, 8.0), (half - 1.0, half, final - 0.2), 10.0, final))
    return curves


def run_decision(value: float, **changes: object) -> StopDecision:
    """A run at cost 5 of a planned 10 whose reading is ``value`` (goodness), against the
    linear curves and a front whose best run at cost <= 10 reaches goodness 1.9."""
    arguments: dict[str, object] = {
        "cost": 5.0,
        "value": value,
        "planned_cost": 10.0,
        "completed": linear_curves(8),
        "front_costs": [1.0, 10.0, 50.0],
        "front_values": [0.5, 1.9, 3.0],
        "rule": RULE,
        "better_direction_sign": 1,
    }
    arguments.update(changes)
    return decide(**arguments)  # type: ignore[arg-type]


# -- the rule's decisions ------------------------------------------------------------------------
def test_a_run_projected_far_below_the_front_at_its_planned_cost_is_stopped() -> None:
    hopeless = run_decision(-0.5)  # projects to about 0.5, far below 1.9
    assert hopeless.should_stop and bool(hopeless)
    assert hopeless.projected_output == pytest.approx(0.5, abs=0.05)
    assert hopeless.front_output == 1.9  # the best run that cost <= 10, not the dearer 3.0
    assert hopeless.improvement_probability < 0.05
    assert hopeless.fraction == 0.5 and hopeless.curve_count == 8


def test_a_run_projected_above_the_front_continues() -> None:
    promising = run_decision(1.2)  # projects to about 2.2 > 1.9
    assert not promising.should_stop and not promising
    assert promising.improvement_probability > 0.5
    assert promising.projected_output == pytest.approx(2.2, abs=0.05)


def test_the_target_is_the_front_at_the_planned_cost_not_the_best_overall() -> None:
    # Projected to about 1.5: below the best run overall (3.0 at cost 50) but above the
    # best that cost no more than its planned 5.5 (goodness 0.5 at cost 1).
    decision = run_decision(0.5, cost=2.75, planned_cost=5.5)
    assert decision.front_output == 0.5 and not decision.should_stop
    assert run_decision(0.5, planned_cost=10.0).should_stop  # against 1.9 it stops


def test_minimisation_compares_in_the_users_units() -> None:
    curves = [
        CompletedCurve(c.costs, c.values, c.final_cost, c.final_value) for c in linear_curves(8)
    ]
    # Goodness is -loss: the same numbers, outputs reported back with the sign flipped.
    decision = run_decision(-0.5, completed=curves, better_direction_sign=-1)
    assert decision.should_stop
    assert decision.projected_output == pytest.approx(-0.5, abs=0.05)
    assert decision.front_output == -1.9


def test_a_run_cheaper_than_every_completed_run_is_never_stopped() -> None:
    decision = run_decision(-5.0, cost=0.4, planned_cost=0.8)  # cheapest completed run cost 1
    assert not decision.should_stop and "extends the front" in decision.reason


def test_no_stop_before_the_minimum_fraction_of_the_planned_cost() -> None:
    early = run_decision(-5.0, cost=1.9)  # 19% of 10
    assert not early.should_stop and "minimum 20%" in early.reason
    assert run_decision(-5.0, cost=2.1).should_stop


def test_costs_that_differ_by_rounding_alone_count_as_equal() -> None:
    # A planned cost a rounding below the completed runs' (a cost model's 9.9999999998
    # for runs that all cost 10) found no completed run as cheap and never stopped; one a
    # rounding above put 2 of 10.000000000000002 short of the minimum 20%.
    below = run_decision(-5.0, planned_cost=9.999999999774507, front_costs=[10.0] * 3)
    assert below.should_stop and below.front_output == 3.0
    assert run_decision(-5.0, cost=2.0, planned_cost=10.000000000000002).should_stop
    assert front_value_at([10.0], [1.0], 10.0 * (1 - 1e-12)) == 1.0
    assert front_value_at([10.0], [1.0], 9.99) is None


def test_no_stop_before_enough_completed_curves_reach_the_fraction() -> None:
    few = run_decision(-5.0, completed=linear_curves(4))
    assert not few.should_stop and "4 completed curves" in few.reason
    # Curves whose first report comes after the run's fraction cannot be read there.
    late = [
        CompletedCurve((8.0,), (c.final_value - 0.2,), 10.0, c.final_value)
        for c in linear_curves(8)
    ]
    assert not run_decision(-5.0, completed=late).should_stop


def test_no_stop_once_the_planned_cost_is_spent_or_without_a_planned_cost() -> None:
    assert not run_decision(-5.0, cost=10.0).should_stop
    assert not run_decision(-5.0, planned_cost=None).should_stop


def test_few_or_noisy_curves_make_the_rule_more_cautious() -> None:
    # A reading that would stop against 8 clean curves continues against noisy ones.
    assert run_decision(0.4).should_stop
    noisy = run_decision(0.4, completed=linear_curves(8, noise=1.0))
    assert not noisy.should_stop
    assert noisy.improvement_probability > run_decision(0.4).improvement_probability


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_diverged_reading_is_a_stop_whatever_else_holds(value: float) -> None:
    """Even with no planned cost, no completed curve and under the minimum fraction."""
    for changes in ({}, {"planned_cost": None}, {"completed": []}, {"cost": 0.1}):
        decision = run_decision(value, **changes)
        assert decision.should_stop and "diverged" in decision.reason
    assert not run_decision(2.0, cost=0.1).should_stop  # a finite reading there is not


def test_the_threshold_decides_between_stop_and_continue() -> None:
    decision = run_decision(0.75)
    probability = decision.improvement_probability
    assert 0.0 < probability < 1.0
    above = StoppingRule(0.2, 5, probability * 1.01)
    below = StoppingRule(0.2, 5, probability * 0.99)
    assert run_decision(0.75, rule=above).should_stop
    assert not run_decision(0.75, rule=below).should_stop


def test_with_many_curves_the_final_cost_joins_the_projection() -> None:
    """Final goodness = reading + log(final cost): a long run projects higher than a short
    one with the same reading, which the reading alone could not tell."""
    rng = np.random.default_rng(1)
    curves = []
    for _ in range(12):
        cost = float(np.exp(rng.uniform(0.0, 3.0)))
        reading = float(rng.uniform(0.0, 1.0))
        final = reading + math.log(cost) + 0.01 * float(rng.normal())
        curves.append(CompletedCurve((0.5 * cost,), (reading,), cost, final))
    short = run_decision(0.5, cost=1.0, planned_cost=2.0, completed=curves)
    long = run_decision(0.5, cost=10.0, planned_cost=20.0, completed=curves)
    assert short.projected_output == pytest.approx(0.5 + math.log(2.0), abs=0.05)
    assert long.projected_output == pytest.approx(0.5 + math.log(20.0), abs=0.05)


def test_a_completed_curve_is_read_as_it_stood_at_the_fraction() -> None:
    curve = CompletedCurve((2.0, 6.0), (1.0, 3.0), 10.0, 5.0)
    assert curve.value_at(0.1) is None  # before the first report
    assert curve.value_at(0.2) == 1.0 and curve.value_at(0.59) == 1.0
    assert curve.value_at(0.6) == 3.0
    assert curve.value_at(0.99) == 3.0  # never the final result: a running run lacks it


def test_late_in_a_run_the_reports_own_noise_keeps_the_rule_cautious() -> None:
    """Completed runs' last report before the end scatters around their final result;
    a run whose last report sits just below the front is not stopped with certainty."""
    rng = np.random.default_rng(3)
    curves = []
    for _ in range(8):
        final = float(rng.uniform(0.0, 2.0))
        reports = tuple(final - 0.5 * (1 - f) + 0.1 * float(rng.normal()) for f in (0.3, 0.9))
        curves.append(CompletedCurve((3.0, 9.0), reports, 10.0, final))
    late = run_decision(1.75, cost=9.5, completed=curves)  # front at 1.9: within the noise
    assert not late.should_stop and late.improvement_probability > 0.05
    assert late.projected_std > 0.05


def test_least_squares_projection_and_its_uncertainty() -> None:
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    finals = 2.0 * x + 1.0 + np.array([0.1, -0.1, 0.0, 0.1, -0.1])
    features = np.stack([np.ones_like(x), x], axis=1)
    inside = project_final(features, finals, np.array([1.0, 2.0]))
    outside = project_final(features, finals, np.array([1.0, 10.0]))
    assert inside is not None and outside is not None
    assert inside.mean == pytest.approx(5.0, abs=0.05) and inside.dof == 3
    assert outside.scale > inside.scale  # extrapolation is less certain
    assert inside.probability_above(inside.mean) == pytest.approx(0.5)
    assert project_final(features[:2], finals[:2], np.array([1.0, 2.0])) is None


def power_law_curves(count: int, seed: int = 0) -> list[CompletedCurve]:
    """Runs whose goodness climbs as ``final - gain * (f**-0.5 - 1)`` along the fraction f
    of their cost 10, each with its own remaining ``gain``: a reading at f = 0.4 alone
    leaves the final open by the gain still to come; with the climb since f = 0.2 (which
    is proportional to the gain) it is exact."""
    rng = np.random.default_rng(seed)
    fractions = (0.2, 0.4, 0.6, 0.8)
    curves = []
    for _ in range(count):
        final, gain = float(rng.uniform(0.0, 2.0)), float(rng.uniform(0.2, 3.0))
        values = tuple(final - gain * (f**-0.5 - 1) for f in fractions)
        curves.append(CompletedCurve(tuple(10 * f for f in fractions), values, 10.0, final))
    return curves


def climbing_run(final: float, reading: float) -> list[tuple[float, float]]:
    """A running run of the same kind that reads ``reading`` at cost 4 of 10 and will end at
    ``final``: its reports at costs 2 and 4."""
    gain = (final - reading) / (0.4**-0.5 - 1)
    return [(10 * f, final - gain * (f**-0.5 - 1)) for f in (0.2, 0.4)]


def test_the_runs_climb_so_far_joins_the_projection_when_it_predicts_the_finals() -> None:
    curves = power_law_curves(12)
    # Two runs read the same 0.5 at 40% of their cost: one still climbing steeply (it ends
    # at 2.1, above the front's 1.9), one that has flattened out (it ends at 0.6).
    steep, flat = climbing_run(2.1, 0.5), climbing_run(0.6, 0.5)
    decisions = {
        name: run_decision(reports[-1][1], cost=4.0, completed=curves, reports=reports)
        for name, reports in (("steep", steep), ("flat", flat))
    }
    assert decisions["steep"].projected_output == pytest.approx(2.1, abs=0.01)
    assert decisions["flat"].projected_output == pytest.approx(0.6, abs=0.01)
    assert not decisions["steep"].should_stop and decisions["flat"].should_stop
    # Without its reports the rule sees one reading for both, and cannot tell them apart.
    blind = run_decision(steep[-1][1], cost=4.0, completed=curves)
    assert abs(blind.projected_output - 2.1) > 0.5 and blind.projected_std > 0.3


def test_the_climb_moves_the_projection_but_never_narrows_it_below_the_reading_alone() -> None:
    """The climb is chosen because it predicts the completed finals better when each run is
    left out; a fit chosen that way looks more precise than it is. On these curves it fits
    exactly, yet the projection keeps the reading-only fit's out-of-sample spread: a run
    projected just under the front (1.8 against 1.9) runs on, and one far under it stops."""
    curves = power_law_curves(12)
    readings = np.array([c.value_at(0.4) for c in curves])
    finals = np.array([c.final_value for c in curves])
    features = np.column_stack([np.ones(12), readings])
    reading_only_spread = math.sqrt(leave_one_out_error(features, finals) / 12)
    assert reading_only_spread > 0.3
    decisions = {}
    for final in (1.8, 0.6):
        reports = climbing_run(final, 0.5)
        decisions[final] = run_decision(0.5, cost=4.0, completed=curves, reports=reports)
    close, far = decisions[1.8], decisions[0.6]
    assert close.projected_output == pytest.approx(1.8, abs=0.01)
    assert close.projected_std == pytest.approx(reading_only_spread, rel=1e-9)
    assert not close.should_stop and close.improvement_probability > 0.3
    assert far.should_stop and far.projected_std == close.projected_std


def climb_in_units(final: float, factor: float) -> StopDecision:
    """The decision on :func:`climbing_run` ``(final, 0.5)`` against twelve power-law
    curves and the usual front, with every goodness times ``factor``; warnings raise."""
    curves = [
        CompletedCurve(
            c.costs, tuple(v * factor for v in c.values), c.final_cost, c.final_value * factor
        )
        for c in power_law_curves(12)
    ]
    reports = [(c, v * factor) for c, v in climbing_run(final, 0.5)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return run_decision(
            0.5 * factor,
            cost=4.0,
            completed=curves,
            front_values=[0.5 * factor, 1.9 * factor, 3.0 * factor],
            reports=reports,
        )


def test_a_sweep_near_the_largest_float_is_projected_as_the_same_sweep_scaled_down() -> None:
    """Goodness near 1.7e308 squared (in the least squares) or differenced (the climb)
    overflowed, and the fit raised; the projection is now taken in units of a power of
    two, so the decision is the one of the same sweep at ordinary magnitudes."""
    huge = 2.0**1020
    ordinary, near_the_limit = climb_in_units(1.8, 1.0), climb_in_units(1.8, huge)
    assert near_the_limit.projected_output == pytest.approx(ordinary.projected_output * huge)
    assert near_the_limit.projected_std == pytest.approx(ordinary.projected_std * huge)
    assert near_the_limit.improvement_probability == pytest.approx(ordinary.improvement_probability)
    assert near_the_limit.should_stop == ordinary.should_stop


def test_a_reading_far_beyond_the_completed_runs_is_extrapolated_not_ignored() -> None:
    """A loss of 1e200 among curves of ordinary losses was fitted in a unit that made
    the ordinary readings vanish, and the run was projected at the mean of the finals
    (never stopped). It is now projected along the fitted line, however far out, and
    its probability is the line's limit there."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        decisions = [run_decision(-reading) for reading in (1e10, 1e200, 1.7e308)]
    for decision, reading in zip(decisions, (1e10, 1e200, 1.7e308), strict=True):
        assert decision.should_stop
        if reading < 1e300:  # at the largest float the query itself saturates
            assert decision.projected_output == pytest.approx(1.0 - reading, rel=1e-3)
        assert decision.improvement_probability == pytest.approx(
            decisions[0].improvement_probability, rel=1e-6
        )
    assert decisions[0].improvement_probability < 1e-6


def test_an_earlier_spike_in_the_runs_own_reports_leaves_the_projection_alone() -> None:
    """The unit of the fit was taken over the run's reports too, so one report of a huge
    loss shrank every completed curve to nothing: the run was never stopped again."""
    plain = run_decision(-0.5)
    spiked = run_decision(-0.5, reports=[(2.0, -1e200), (5.0, -0.5)])
    assert spiked.should_stop and plain.should_stop
    assert spiked.improvement_probability == plain.improvement_probability
    assert spiked.projected_output == plain.projected_output


@pytest.mark.parametrize("factor", [1e-9, 3e-200, 7.5e250])
def test_the_decision_does_not_depend_on_the_outputs_units(factor: float) -> None:
    """Outputs of order 1e-9 lost the reading's direction in the normal equations
    (their condition number is the square of the fit's), and the run was kept going;
    outputs below 1e-150 or above 1e150 underflow or overflow when squared."""
    ordinary, other_units = climb_in_units(0.6, 1.0), climb_in_units(0.6, factor)
    assert ordinary.should_stop and other_units.should_stop
    assert other_units.improvement_probability == pytest.approx(
        ordinary.improvement_probability, rel=1e-6
    )
    assert other_units.projected_output == pytest.approx(ordinary.projected_output * factor)
    assert other_units.projected_std == pytest.approx(ordinary.projected_std * factor)


def test_a_climb_that_does_not_predict_the_finals_is_left_out() -> None:
    """On curves whose climb is noise (the final is the reading plus 1, the earlier report
    scattered at random), the projection is exactly the one without the run's reports."""
    rng = np.random.default_rng(5)
    curves = []
    for _ in range(12):
        reading = float(rng.uniform(0.0, 1.0))
        first = reading + float(rng.normal())
        final = reading + 1.0 + 0.05 * float(rng.normal())
        curves.append(CompletedCurve((2.0, 4.0), (first, reading), 10.0, final))
    reports = [(2.0, 0.5 - 3.0), (4.0, 0.5)]  # a climb far from any curve's
    with_reports = run_decision(0.5, cost=4.0, completed=curves, reports=reports)
    without = run_decision(0.5, cost=4.0, completed=curves)
    assert with_reports.projected_output == without.projected_output
    assert with_reports.projected_std == without.projected_std


def test_leave_one_out_error_is_the_sum_of_refits_without_each_run() -> None:
    rng = np.random.default_rng(2)
    features = np.column_stack([np.ones(9), rng.normal(size=9), rng.normal(size=9)])
    finals = features @ np.array([1.0, 2.0, -1.0]) + 0.3 * rng.normal(size=9)
    by_refits = 0.0
    for i in range(9):
        keep = np.arange(9) != i
        coefficients, *_ = np.linalg.lstsq(features[keep], finals[keep], rcond=None)
        by_refits += float(finals[i] - features[i] @ coefficients) ** 2
    assert leave_one_out_error(features, finals) == pytest.approx(by_refits, rel=1e-9)


def test_a_run_that_any_fit_matches_exactly_does_not_judge_the_fits() -> None:
    """A run with a column of its own has leverage 1: every fit passes through it, so
    it adds nothing to the leave-one-out error (and its 0 / (1 - 1) warns nowhere)."""
    features = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    finals = np.array([2.0, -1.0, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert leave_one_out_error(features, finals) == 0.25


def test_latest_report_is_the_last_one_made_within_the_cost() -> None:
    assert latest_report((1.0, 2.0, 4.0), (5.0, 6.0, 7.0), 3.9) == 6.0
    assert latest_report((1.0, 2.0, 4.0), (5.0, 6.0, 7.0), 4.0) == 7.0
    assert latest_report((1.0,), (5.0,), 0.5) is None


def test_front_value_is_the_best_run_that_cost_no_more() -> None:
    assert front_value_at([1.0, 5.0, 9.0], [0.1, 0.7, 0.4], 6.0) == 0.7
    assert front_value_at([1.0, 5.0], [0.1, 0.7], 0.5) is None


# -- the optimizer's calls -----------------------------------------------------------------------
def make_carbs(seed: int = 0) -> CARBS:
    params = [
        Param("lr", LogSpace(scale=0.5, min=1e-5, max=1.0), search_center=1e-2),
        Param("epochs", LogSpace(is_integer=True, min=2, max=200, scale=0.5), search_center=20),
    ]
    config = CARBSParams(better_direction_sign=-1, checkpoint_dir=None, seed=seed)
    return CARBS(config, params)


def final_loss(lr: float, epochs: int) -> float:
    return (math.log10(lr) + 2.0) ** 2 + 1.0 / epochs


def train(carbs: CARBS, suggestion: dict, stop: bool = True) -> bool:
    """Report a curve epoch by epoch (loss falls by 1 over the run); ``True`` if stopped."""
    lr, epochs = suggestion["lr"], suggestion["epochs"]
    for epoch in range(1, epochs):
        carbs.report(suggestion, final_loss(lr, epochs) + 1.0 - epoch / epochs, float(epoch))
        if stop and carbs.should_stop(suggestion):
            carbs.stop(suggestion)
            return True
    carbs.observe(ObservationInParam(suggestion, final_loss(lr, epochs), float(epochs)))
    return False


def sweep_with_completed_curves(count: int = 8) -> CARBS:
    carbs = make_carbs()
    for _ in range(count):
        suggestion = carbs.suggest().suggestion
        train(carbs, suggestion, stop=False)
    return carbs


def test_report_rejects_bad_input_and_records_nothing() -> None:
    carbs = make_carbs()
    suggestion = carbs.suggest().suggestion
    carbs.report(suggestion, 1.0, 2.0)
    before = carbs.get_state_dict()["curves"]
    bad_calls = [
        ({"suggestion_uuid": "nope"}, 1.0, 3.0, "not running"),
        ({"lr": 0.1}, 1.0, 3.0, "no 'suggestion_uuid'"),
        (suggestion, float("nan"), 3.0, "diverged; end it and observe"),
        (suggestion, float("-inf"), 3.0, "diverged; end it and observe"),
        (suggestion, "1.0", 3.0, "report output"),
        (suggestion, 1.0, 0.0, "report cost"),
        (suggestion, 1.0, True, "report cost"),
        (suggestion, 1.0, 1.5, "less than the previous"),
    ]
    for bad, output, cost, message in bad_calls:
        with pytest.raises(InvalidObservationError, match=message):
            carbs.report(bad, output, cost)
    with pytest.raises(InvalidObservationError, match="planned_cost"):
        carbs.report(suggestion, 1.0, 3.0, planned_cost=-1.0)
    assert carbs.get_state_dict()["curves"] == before
    with pytest.raises(InvalidObservationError, match="not running"):
        carbs.should_stop({"suggestion_uuid": "nope"})


def test_stop_needs_a_report_and_an_observed_run_cannot_report() -> None:
    carbs = make_carbs()
    suggestion = carbs.suggest().suggestion
    with pytest.raises(InvalidObservationError, match="has not reported"):
        carbs.stop(suggestion)
    assert not carbs.should_stop(suggestion)  # nothing reported: keep going
    carbs.observe(ObservationInParam(suggestion, 1.0, 5.0))
    with pytest.raises(InvalidObservationError, match="not running"):
        carbs.report(suggestion, 1.0, 6.0)
    with pytest.raises(InvalidObservationError, match="both set"):
        carbs.observe(ObservationInParam(suggestion, 1.0, 5.0, is_failure=True, is_stopped=True))


def test_a_hopeless_run_is_stopped_and_recorded_as_stopped() -> None:
    carbs = sweep_with_completed_curves()
    best = min(o.output for o in carbs.success_observations)
    # Params far from the good lr, at the dearest cost seen: it cannot beat the front.
    suggestion = carbs.suggest().suggestion
    suggestion.update(lr=1e-5, epochs=150)
    carbs.forget_suggestion(carbs.suggest("probe").suggestion)
    carbs.add_outstanding_suggestion({**suggestion, "suggestion_uuid": "hopeless"})
    run = {**suggestion, "suggestion_uuid": "hopeless"}
    decisions = []
    for epoch in range(1, 150):
        carbs.report(run, final_loss(1e-5, 150) + 1.0 - epoch / 150, float(epoch), 150.0)
        decisions.append(carbs.should_stop(run))
        if decisions[-1]:
            break
    decision = decisions[-1]
    assert decision.should_stop, decision.reason
    assert decision.fraction >= 0.2 and all(not d for d in decisions[:-1])
    assert decision.projected_output > best
    carbs.stop(run)
    stopped = carbs.stopped_observations
    assert len(stopped) == 1 and "hopeless" not in carbs.outstanding_suggestions
    record = stopped[0]
    assert record.is_stopped and not record.is_failure
    assert record.cost == float(len(decisions)) and record.output > final_loss(1e-5, 150)
    assert record.projected_output == pytest.approx(decision.projected_output)
    assert all(o.is_complete for o in carbs.success_observations)
    assert record not in carbs.success_observations
    front = carbs.get_pareto_groups()
    assert not any(torch.equal(g.input_in_basic, record.real_number_input) for g in front)
    assert len(front) == len(sweep_with_completed_curves().get_pareto_groups())


def test_a_stopped_run_cheaper_than_every_run_never_joins_the_front() -> None:
    """Stopped at a cost below every completed run, a partial output would be the
    cheapest front member if it were taken for a finished run."""
    carbs = sweep_with_completed_curves()
    front_before = [(m.cost, m.output) for m in carbs.pareto_front()]
    cheapest = min(o.cost for o in carbs.success_observations)
    suggestion = carbs.suggest().suggestion
    stopped = ObservationInParam(suggestion, 5.0, cheapest / 2, is_stopped=True)
    before = carbs.cumulative_cost
    logs = carbs.observe(stopped).logs
    assert logs["stopped_count"] == 1 and logs["observation/is_pareto"] == 0
    assert carbs.cumulative_cost == logs["cumulative_cost"] == before + cheapest / 2
    assert [(m.cost, m.output) for m in carbs.pareto_front()] == front_before
    (record,) = carbs.stopped_observations
    assert record.projected_output == 5.0  # no reports: taken as it stands
    with pytest.raises(InvalidObservationError, match="projected_output is for runs stopped"):
        carbs.observe(ObservationInParam(carbs.suggest().suggestion, 1.0, 1.0, projected_output=2))


def test_planned_cost_comes_from_the_suggestions_predicted_cost_when_not_given() -> None:
    carbs = sweep_with_completed_curves()
    output = carbs.suggest()
    assert output.log["suggestion_type"] == "bayesian"
    carbs.report(output.suggestion, 5.0, 1.0)
    decision = carbs.should_stop(output.suggestion)
    assert decision.planned_cost == pytest.approx(output.log["predicted_cost"])


def test_a_warm_up_run_without_a_predicted_cost_uses_the_cost_plane() -> None:
    carbs = make_carbs()
    first = carbs.suggest().suggestion
    carbs.report(first, 1.0, 1.0)
    assert math.isnan(carbs.should_stop(first).planned_cost)  # no data for a plane yet
    carbs.forget_suggestion(first)
    for _ in range(6):
        suggestion = carbs.suggest().suggestion
        carbs.observe(ObservationInParam(suggestion, 1.0, float(suggestion["epochs"])))
    # Cost is exactly epochs: the plane through log cost predicts it.
    random_draw = {"lr": 0.01, "epochs": 40, "suggestion_uuid": "manual"}
    carbs.add_outstanding_suggestion(random_draw)
    carbs.report(random_draw, 1.0, 1.0)
    assert carbs.should_stop(random_draw).planned_cost == pytest.approx(40.0, rel=0.05)


def test_stopping_saves_cost_in_a_sweep_and_stopped_runs_steer_the_model() -> None:
    carbs = make_carbs(seed=2)
    stopped_count = sum(train(carbs, carbs.suggest().suggestion) for _ in range(30))
    assert stopped_count >= 3
    frame = carbs.to_dataframe()
    assert frame["is_stopped"].sum() == stopped_count
    assert not (frame["is_stopped"] & frame["is_pareto"]).any()
    stopped_rows = frame[frame["is_stopped"]]
    assert stopped_rows["projected_output"].notna().all()
    assert all(len(curve) >= 1 for curve in frame["curve"])
    row = stopped_rows.iloc[0]
    assert row["curve"][-1] == (row["cost"], row["output"])
    # The performance model sees a stopped run at its projected output, the cost model never.
    state = carbs._sweep.state
    model = fit_surrogate(
        carbs.config,
        state.successes,
        state.failures,
        carbs.get_pareto_groups(),
        torch.Generator().manual_seed(0),
        None,
        None,
        (),
        state.stopped,
    )
    assert model.performance_gp is not None and model.cost_gp is not None
    assert model.performance_gp.train_targets.shape[0] == len(state.successes) + stopped_count
    assert model.cost_gp.train_targets.shape[0] == len(state.successes)
    stopped = state.stopped[0]
    prediction = model.predict(stopped.real_number_input.unsqueeze(0))
    assert float(prediction.output_mean[0]) == pytest.approx(
        stopped.projected_output, abs=0.5 * abs(stopped.output - stopped.projected_output) + 0.05
    )


def test_curves_and_stopped_runs_survive_save_and_load(tmp_path: Path) -> None:
    carbs = make_carbs(seed=2)
    for _ in range(20):
        train(carbs, carbs.suggest().suggestion)
    running = carbs.suggest().suggestion
    carbs.report(running, 3.0, 1.0, planned_cost=9.0)
    loaded = CARBS.load(carbs.save(tmp_path / "state.json"))
    assert loaded.get_state_dict() == carbs.get_state_dict()
    assert [o.is_stopped for o in loaded.observations] == [o.is_stopped for o in carbs.observations]
    assert loaded.should_stop(running).reason == carbs.should_stop(running).reason
    assert loaded.suggest("next").suggestion == carbs.suggest("next").suggestion
    data = json.loads((tmp_path / "state.json").read_text())
    data["curves"][running["suggestion_uuid"]]["costs"] = [2.0, 1.0]
    data["curves"][running["suggestion_uuid"]]["outputs"] = [1.0, 1.0]
    with pytest.raises(ValueError, match="never fall"):
        CARBS.load_from_string(json.dumps(data))


def test_forgetting_a_run_drops_its_reports() -> None:
    carbs = make_carbs()
    suggestion = carbs.suggest().suggestion
    carbs.report(suggestion, 1.0, 1.0)
    carbs.forget_suggestion(suggestion)
    assert carbs.get_state_dict()["curves"] == {}


def test_forgetting_a_recorded_run_keeps_its_curve() -> None:
    # A retry's forget_suggestion after observe() changes nothing: the stopping
    # rule still learns from the run's curve.
    carbs = make_carbs()
    suggestion = carbs.suggest().suggestion
    carbs.report(suggestion, 2.0, 1.0, planned_cost=4.0)
    carbs.observe(ObservationInParam(input=suggestion, output=1.0, cost=4.0))
    before = carbs.serialize()
    assert carbs.forget_suggestion(suggestion) is False
    assert carbs.serialize() == before
    assert carbs.to_dataframe()["curve"].tolist() == [[(1.0, 2.0)]]


DATA = Path(__file__).resolve().parent / "data"


def test_a_format3_state_written_by_4d586fa_loads_and_resumes_exactly() -> None:
    """Saved by commit 4d586fa (format 3, before early stopping), with a categorical
    param, a failure and one suggestion outstanding, plus the suggestion it made next."""
    source = DATA / "state_format3_4d586fa.json"
    assert json.loads(source.read_text())["format_version"] == 3
    params = [
        Param("lr", LogSpace(scale=0.5, min=1e-5, max=1.0), search_center=1e-3),
        Param("epochs", LogSpace(is_integer=True, min=1, max=100), search_center=8),
        Param("optimizer", CategoricalSpace(choices=["sgd", "adam"]), search_center="adam"),
    ]
    carbs = CARBS.load(source, params)
    assert carbs.observation_count == 8 and not carbs.stopped_observations
    assert carbs.get_state_dict()["curves"] == {}
    expected = json.loads((DATA / "state_format3_4d586fa.next.json").read_text())
    assert carbs.suggest("next").suggestion == expected


def test_the_early_stopping_example_runs_and_stops_runs(capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "examples" / "early_stopping.py"
    spec = importlib.util.spec_from_file_location("early_stopping_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    carbs = module.main(num_runs=14)
    assert carbs.observation_count == 14 and carbs.stopped_observations
    assert "runs stopped early, saving" in capsys.readouterr().out


def test_warm_start_keeps_stopped_runs_stopped_and_plots_leave_them_out(tmp_path: Path) -> None:
    prior = make_carbs(seed=2)
    for _ in range(20):
        train(prior, prior.suggest().suggestion)
    assert prior.stopped_observations
    carbs = make_carbs(seed=3)
    carbs.warm_start(prior.save(tmp_path / "prior.json"), True)
    assert [o.is_stopped for o in carbs.observations] == [o.is_stopped for o in prior.observations]
    assert [o.projected_output for o in carbs.stopped_observations] == [
        o.projected_output for o in prior.stopped_observations
    ]
    assert [(m.cost, m.output) for m in carbs.pareto_front()] == [
        (m.cost, m.output) for m in prior.pareto_front()
    ]
    pytest.importorskip("matplotlib")
    from carbs.plotting import plot_history, plot_pareto_front

    completed = len(prior.success_observations)
    history = plot_history(prior)
    points = sum(len(c.get_offsets()) for c in history.axes[0].collections)
    assert points == completed  # stopped runs' partial outputs are not plotted as results
    plot_pareto_front(prior)


def test_warm_start_carries_the_prior_runs_curves_into_the_stopping_rule(tmp_path: Path) -> None:
    prior = sweep_with_completed_curves(8)
    path = prior.save(tmp_path / "prior.json")
    prior_curves = prior.get_state_dict()["curves"]
    assert len(prior_curves) == 8

    carbs = make_carbs(seed=3)
    carbs.warm_start(path, True)
    assert carbs.get_state_dict()["curves"] == prior_curves
    suggestion = carbs.suggest().suggestion
    carbs.report(suggestion, 50.0, max(1.0, suggestion["epochs"] / 2))  # far above every final
    decision = carbs.should_stop(suggestion)
    assert decision.should_stop  # the prior curves count: a new sweep would wait for five
    assert decision.curve_count >= carbs.config.early_stopping_min_runs

    # Only the search centre moves when the prior runs are not data: no curves either.
    hint = make_carbs(seed=3)
    hint.warm_start(path, False)
    assert hint.get_state_dict()["curves"] == {}


def test_an_autosaved_warm_start_holds_the_curves_and_the_new_centre(tmp_path: Path) -> None:
    prior = sweep_with_completed_curves(6)
    path = prior.save(tmp_path / "prior.json")
    config = CARBSParams(
        better_direction_sign=-1,
        checkpoint_dir=str(tmp_path / "new"),
        is_saved_on_every_observation=True,
    )
    carbs = CARBS(config, make_carbs().params)
    carbs.warm_start(path, True)
    saved = json.loads(carbs.checkpoint_path.read_text())
    assert saved["curves"] == prior.get_state_dict()["curves"]
    assert saved == carbs.get_state_dict()


def test_a_reading_every_completed_run_shared_is_left_out_not_the_log_cost() -> None:
    # Every curve read the same at the fraction (a plateau at chance level): the fit kept
    # the constant reading beside the intercept, dropped the log cost, and projected a
    # diverging run with a std of 1e17 and even odds of improving the front.
    rng = np.random.default_rng(0)
    log_costs = np.log(rng.choice([10.0, 20.0, 40.0, 80.0], size=12))
    finals = 1.0 - 0.3 * log_costs + rng.normal(0.0, 0.05, size=12)
    plateau = np.full(12, 2.302585)
    features = np.stack([np.ones(12), plateau, log_costs], axis=1)
    without_reading = features[:, [0, 2]]
    for reading in (2.302585, 50.0, 1e10):
        projection = project_final(features, finals, np.array([1.0, reading, math.log(40.0)]))
        expected = project_final(without_reading, finals, np.array([1.0, math.log(40.0)]))
        assert projection is not None and expected is not None
        assert projection.mean == pytest.approx(expected.mean, rel=1e-9)
        assert projection.scale == pytest.approx(expected.scale, rel=1e-9)


def _sweep_with_curves() -> CARBS:
    params = [
        Param("lr", LogSpace(min=1e-5, max=1.0), search_center=1e-2),
        Param("epochs", LogSpace(is_integer=True, min=2, max=100), search_center=10),
    ]
    optimizer = CARBS(CARBSParams(better_direction_sign=-1, seed=0), params)
    for i in range(8):
        suggestion = optimizer.suggest(f"run-{i}").suggestion
        epochs = float(suggestion["epochs"])
        final = 1.0 + (math.log10(suggestion["lr"]) + 2.5) ** 2
        for epoch in range(1, int(epochs)):
            optimizer.report(suggestion, final + 1.0 - epoch / epochs, float(epoch), epochs)
        optimizer.observe(ObservationInParam(suggestion, final, cost=epochs))
    return optimizer


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("stopped_without_projection", "stopped run without the projected_output"),
        ("observed_and_running", "both observed and outstanding"),
        ("curve_of_no_run", "neither observed nor outstanding"),
    ],
)
def test_a_state_no_call_could_make_is_refused_on_load(edit: str, message: str) -> None:
    # Each loaded, then broke a method: a NaN fed the performance GP (every suggestion a
    # fallback, predict() raised), report() extended a finished run's curve, a new run
    # under the id inherited the reports.
    optimizer = _sweep_with_curves()
    running = optimizer.suggest("running").suggestion
    optimizer.report(running, 5.0, 1.0, planned_cost=10.0)
    optimizer.stop(running)
    state = optimizer.get_state_dict()
    if edit == "stopped_without_projection":
        state["observations"][-1]["projected_output"] = math.nan
    elif edit == "observed_and_running":
        state["outstanding_suggestions"]["run-0"] = {"input": [-2.0, 1.0], "log": {}}
    else:
        state["curves"]["trial-9"] = {"costs": [50.0], "outputs": [1.0], "planned_cost": None}
    CARBS.load_from_string(optimizer.serialize())  # the state as saved loads
    with pytest.raises(StateError, match=message):
        CARBS.load_from_string(json.dumps(to_json_value(state)))


def test_a_run_observed_as_stopped_is_projected_from_where_it_stopped() -> None:
    # The run reported 9.0 early on, then was observed stopped at 0.1 (the best output of
    # the sweep) at cost 5: the model was given 8.4, projected from the stale reports.
    optimizer = _sweep_with_curves()
    suggestion = optimizer.suggest("late").suggestion
    for cost in (1.0, 2.0):
        optimizer.report(suggestion, 9.0, cost, planned_cost=10.0)
    optimizer.observe(ObservationInParam(suggestion, 0.1, cost=5.0, is_stopped=True))
    stopped = optimizer.observations[-1]
    assert stopped.is_stopped and stopped.projected_output < 1.0
    curve = optimizer.get_state_dict()["curves"]["late"]
    assert curve["costs"] == [1.0, 2.0, 5.0] and curve["outputs"] == [9.0, 9.0, 0.1]


def test_a_running_id_told_again_at_other_params_starts_a_new_curve() -> None:
    optimizer = _sweep_with_curves()
    suggestion = optimizer.suggest("worker-3").suggestion
    optimizer.report(suggestion, 4.0, 3.0, planned_cost=10.0)
    moved = {**suggestion, "lr": suggestion["lr"] * 2}  # another run under the same id
    optimizer.add_outstanding_suggestion(moved)
    assert "worker-3" not in optimizer.get_state_dict()["curves"]
    optimizer.report(moved, 6.0, 1.0)  # its first report: cost 1 is not below 3


def test_a_stop_records_the_callers_values_so_a_retry_is_a_repeat() -> None:
    params = [Param("p", LogitSpace(min=0.001, max=0.999), search_center=0.5)]
    optimizer = CARBS(CARBSParams(better_direction_sign=-1), params)
    suggestion = {"p": 0.999, "suggestion_uuid": "edge"}
    optimizer.add_outstanding_suggestion(suggestion)
    optimizer.report(suggestion, 1.0, 1.0)
    optimizer.stop(suggestion)
    with pytest.warns(RuntimeWarning, match="already observed"):
        optimizer.observe(ObservationInParam(suggestion, 1.0, cost=1.0, is_stopped=True))
    assert optimizer.observation_count == 1


def test_a_run_observed_stopped_a_rounding_below_its_last_report_still_reloads() -> None:
    # Its cost passed the check (within 1e-9 of the last report) and ended its curve as
    # given, so the curve's costs fell and carbs refused the state it had written.
    optimizer = CARBS(CARBSParams(), [Param("lr", LogSpace(min=1e-5, max=1.0), 1e-2)])
    suggestion = optimizer.suggest("run").suggestion
    optimizer.report(suggestion, 2.0, 2.0)
    almost = 2.0 * (1 - 5e-10)
    optimizer.observe(ObservationInParam(suggestion, 1.9, cost=almost, is_stopped=True))
    reloaded = CARBS.load_from_string(optimizer.serialize())
    assert reloaded.get_state_dict()["curves"]["run"]["costs"] == [2.0, 2.0]


def test_the_latest_report_is_found_as_a_scan_in_order_would() -> None:
    # Found by bisection: the same report as reading them all, with ties, rounding
    # within COST_RTOL and limits before, between and after the reports.
    rng = np.random.default_rng(0)
    for _ in range(300):
        costs = np.sort(
            rng.choice([1.0, 2.0, 2.0 * (1 - 1e-12), 3.0, 5.0], size=rng.integers(1, 9))
        )
        values = rng.normal(size=len(costs)).tolist()
        for limit in (0.5, 1.0, 2.0 * (1 - 5e-10), 2.0, 4.0, 6.0):
            scanned = None
            for cost, value in zip(costs, values, strict=True):
                if cost <= limit or math.isclose(cost, limit, rel_tol=1e-9, abs_tol=0.0):
                    scanned = value
            assert latest_report(costs.tolist(), values, limit) == scanned
