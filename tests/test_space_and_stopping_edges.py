"""Edge cases of the spaces' lattices, bounds and intervals, of the choice of a front member
to resample, and of when early stopping's projection takes the final cost and the run's
progress into account."""

from __future__ import annotations

import math

import numpy as np
import torch

from carbs import LinearSpace, LogitSpace, LogSpace, OrdinalSpace, Param
from carbs.pareto import ObservationGroup
from carbs.resampling import resample_point
from carbs.spaces import SearchSpace
from carbs.stopping import CompletedCurve, StopDecision, StoppingRule, decide

RULE = StoppingRule(min_fraction=0.2, min_runs=5, probability=0.05)


def multiples_of_four(top: float = 100.0) -> LinearSpace:
    return LinearSpace(min=0.0, max=top, is_integer=True, rounding_factor=4)


# -- real spaces ---------------------------------------------------------------------------------
def test_rounding_past_the_max_steps_back_onto_the_last_lattice_point() -> None:
    space = multiples_of_four(top=11.0)  # 11 rounds to 12, past the max: 8 is the last
    assert space.legal_value_from_basic(11.0) == 8
    assert space.legal_value_from_basic(1e6) == 8


def test_a_lattice_point_at_the_min_is_legal_as_it_is() -> None:
    space = multiples_of_four()
    assert space.legal_value_from_basic(0.0) == 0
    assert space.legal_value_from_basic(-3.0) == 0
    assert space.legal_value_from_basic(1.0) == 0


def test_rounding_below_the_min_steps_up_onto_the_first_lattice_point() -> None:
    space = LinearSpace(min=1.0, max=100.0, is_integer=True, rounding_factor=4)
    assert space.legal_value_from_basic(1.0) == 4


def test_an_integer_interval_widens_outwards_onto_the_lattice() -> None:
    space = multiples_of_four()
    assert space.legal_interval(5.0, 11.0) == (4, 12)
    assert space.legal_interval(4.0, 12.0) == (4, 12)


def test_a_value_exactly_at_a_bound_is_held() -> None:
    space = LinearSpace(min=2.0, max=5.0)
    assert space.holds_basic(space.basic_from_value(2.0))
    assert space.holds_basic(space.basic_from_value(5.0))
    assert not space.holds_basic(space.basic_from_value(1.9))


def test_clipping_far_past_an_unbounded_integer_log_space_reaches_the_largest_float() -> None:
    # The largest float maps back to infinity: the legal value nearest it is found by
    # bisection, and should lie next to it, not orders of magnitude below.
    space = LogSpace(is_integer=True, min=1)
    clipped = space.clip_basic(torch.tensor([1e308], dtype=torch.float64))
    assert space.is_legal_basic(clipped).all()
    assert space.value_from_basic(float(clipped[0])) > 1e308


def test_clipping_below_a_logit_space_at_a_large_scale_reaches_its_min() -> None:
    space = LogitSpace(min=0.2, scale=1e9)
    clipped = space.clip_basic(torch.tensor([-1e6], dtype=torch.float64))
    assert space.is_legal_basic(clipped).all()
    assert space.value_from_basic(float(clipped[0])) == 0.2


# -- ordinal spaces ------------------------------------------------------------------------------
def test_values_spanning_exactly_a_factor_of_ten_are_placed_on_a_log_scale() -> None:
    space = OrdinalSpace(values=[1, 5, 10])
    assert space.is_log is True and space.plot_scale == "log"
    assert OrdinalSpace(values=[1, 5, 9]).is_log is False


def test_powers_of_include_a_min_that_is_an_exact_power() -> None:
    space = OrdinalSpace.powers_of(5, min=125, max=3125)
    assert space.values == (125, 625, 3125)


def test_a_basic_value_within_half_a_gap_below_the_first_value_is_legal() -> None:
    space = OrdinalSpace(values=[1, 2, 3], is_log=False)  # basic points 0.3, 0.6, 0.9
    legal = space.is_legal_basic(torch.tensor([0.2, 0.1, 1.0, 1.1], dtype=torch.float64))
    assert legal.tolist() == [True, False, True, False]


def test_an_ordinal_interval_is_enclosed_by_the_nearest_listed_values() -> None:
    space = OrdinalSpace(values=[16, 32, 64, 128, 256])
    assert space.legal_interval(70.0, 100.0) == (64, 128)
    assert space.legal_interval(40.0, 200.0) == (32, 256)


def test_an_interval_end_that_misses_a_value_by_rounding_only_is_that_value() -> None:
    space = OrdinalSpace(values=[16, 32, 64, 128, 256])
    assert space.legal_interval(63.99999999999953, 128.00000000000003) == (64, 128)


# -- resampling ----------------------------------------------------------------------------------
def test_a_pending_resample_counts_so_the_next_one_picks_another_member() -> None:
    space = SearchSpace([Param("x", LinearSpace(min=0.0, max=10.0), 5.0)])
    first = ObservationGroup(torch.tensor([1.0], dtype=torch.float64), (1.0,), (1.0,))
    second = ObservationGroup(torch.tensor([2.0], dtype=torch.float64), (2.0,), (2.0,))
    front = [first, second]
    assert resample_point(front, space, pending=[]).tolist() == [1.0]
    pending = [first.input_in_basic.clone()]
    assert resample_point(front, space, pending=pending).tolist() == [2.0]


# -- early stopping ------------------------------------------------------------------------------
def linear_curves(count: int, seed: int = 0) -> list[CompletedCurve]:
    """Runs of cost 10 whose final goodness is their reading at cost 5 plus 1 (with noise)."""
    rng = np.random.default_rng(seed)
    curves = []
    for _ in range(count):
        final = float(rng.uniform(0.0, 2.0))
        half = final - 1.0 + 0.01 * float(rng.normal())
        curves.append(CompletedCurve((2.0, 5.0, 8.0), (half - 1.0, half, final - 0.2), 10.0, final))
    return curves


def test_exactly_the_minimum_number_of_curves_is_enough_to_project() -> None:
    decision = decide(
        cost=5.0,
        value=0.5,
        planned_cost=10.0,
        completed=linear_curves(RULE.min_runs),
        front_costs=[10.0],
        front_values=[1.9],
        rule=RULE,
        better_direction_sign=1,
    )
    assert decision.curve_count == RULE.min_runs
    assert math.isfinite(decision.improvement_probability)
    assert math.isfinite(decision.projected_output)


def costly_curves(count: int) -> list[CompletedCurve]:
    """Runs of costs 10, 20, 40, ... that report once, at a tenth of their cost; the dearer
    runs end higher than their reading says."""
    rng = np.random.default_rng(1)
    curves = []
    for i in range(count):
        final_cost = 10.0 * 2.0**i
        reading = float(rng.uniform(0.0, 1.0))
        final = reading + 0.5 * math.log(final_cost) + 0.01 * float(rng.normal())
        curves.append(CompletedCurve((0.1 * final_cost,), (reading,), final_cost, final))
    return curves


def decide_at_planned_cost(completed: list[CompletedCurve], planned_cost: float) -> StopDecision:
    return decide(
        cost=5.0,
        value=0.5,
        planned_cost=planned_cost,
        completed=completed,
        front_costs=[1.0],
        front_values=[0.0],
        rule=RULE,
        better_direction_sign=1,
    )


def test_a_thin_sweep_projects_from_the_reading_alone_not_the_final_cost() -> None:
    curves = costly_curves(6)  # fewer than three curves per coefficient of the cost fit
    cheap = decide_at_planned_cost(curves, 10.0)
    dear = decide_at_planned_cost(curves, 24.0)
    assert math.isfinite(cheap.projected_output)
    assert cheap.projected_output == dear.projected_output
    # With enough curves the final cost joins the projection.
    many = costly_curves(9)
    assert (
        decide_at_planned_cost(many, 24.0).projected_output
        > decide_at_planned_cost(many, 10.0).projected_output
    )


def climbing_curves(count: int) -> list[CompletedCurve]:
    """Runs of cost 10 reporting at costs 2 and 4; the final goodness is the reading at cost 4
    plus three times the climb since cost 2 (with a little noise)."""
    rng = np.random.default_rng(2)
    curves = []
    for _ in range(count):
        half = float(rng.uniform(0.0, 1.0))
        reading = half + float(rng.uniform(0.0, 1.0))
        final = reading + 3.0 * (reading - half) + 0.01 * float(rng.normal())
        curves.append(CompletedCurve((2.0, 4.0), (half, reading), 10.0, final))
    return curves


def decide_climbing(completed: list[CompletedCurve], with_reports: bool) -> StopDecision:
    reports = [(2.0, 0.2), (4.0, 1.0)] if with_reports else []
    return decide(
        cost=4.0,
        value=1.0,
        planned_cost=10.0,
        completed=completed,
        front_costs=[1.0],
        front_values=[0.0],
        rule=RULE,
        better_direction_sign=1,
        reports=reports,
    )


def test_a_thin_sweep_leaves_the_runs_climb_out_of_the_projection() -> None:
    curves = climbing_curves(6)  # fewer than three curves per coefficient with the climb
    with_climb = decide_climbing(curves, with_reports=True)
    without = decide_climbing(curves, with_reports=False)
    assert math.isfinite(without.projected_output)
    assert with_climb.projected_output == without.projected_output
    assert with_climb.projected_std == without.projected_std
    # With enough curves the climb predicts the finals and moves the projection.
    many = climbing_curves(9)
    moved = decide_climbing(many, with_reports=True).projected_output
    assert moved != decide_climbing(many, with_reports=False).projected_output
