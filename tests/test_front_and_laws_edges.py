"""Edge cases of the Pareto front, the scaling laws and their line fits.

Ties, exact boundaries and values that differ only by float rounding: each test states
what a user sees at the edge of a documented rule.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from carbs import (
    CARBS,
    CARBSParams,
    CARBSValueError,
    CategoricalSpace,
    InsufficientDataError,
    LinearSpace,
    LogSpace,
    ObservationInParam,
    OrdinalSpace,
    Param,
)
from carbs.pareto import ObservationGroup, pareto_groups
from carbs.scaling import ChoiceLaw, weighted_least_squares

EPS = float(np.finfo(np.float64).eps)


def _group(
    x: float, outputs: tuple[float, ...], costs: float | tuple[float, ...]
) -> ObservationGroup:
    """A group at input ``x``; one cost for every member, or one cost per member."""
    if isinstance(costs, float):
        costs = tuple(costs for _ in outputs)
    return ObservationGroup(
        input_in_basic=torch.tensor([x], dtype=torch.float64), outputs=outputs, costs=costs
    )


def _front_inputs(front: list[ObservationGroup]) -> list[float]:
    return [float(g.input_in_basic[0]) for g in front]


def _minimising(params: list[Param], runs: list[tuple[dict[str, float], float, float]]) -> CARBS:
    """A CARBS (minimising, bucket at the cheapest cost) that observed ``(input, output, cost)``."""
    carbs = CARBS(CARBSParams(better_direction_sign=-1, min_pareto_cost_fraction=0.0), params)
    carbs.initialize_from_observations(
        [ObservationInParam(input=i, output=o, cost=c) for i, o, c in runs]
    )
    return carbs


# -- the Pareto front ----------------------------------------------------------------------------
def _challenged_bucket(single: float) -> list[ObservationGroup]:
    """Three equally cheap groups: a noisy resampled one (mean 0.5, best 1.0), a steady
    resampled one (mean 0.85, best 0.9) and a single run with output ``single``."""
    return [
        _group(0.0, (0.0, 1.0), 1.0),
        _group(1.0, (0.8, 0.9), 1.0),
        _group(2.0, (single,), 1.0),
    ]


def test_a_single_run_must_beat_the_best_sample_of_the_best_resampled_group() -> None:
    # 0.95 beats every sample of the better resampled group (the steady one), though
    # not the noisy group's lucky 1.0: it takes the bucket's place on the front.
    front = pareto_groups(_challenged_bucket(0.95), 0.5, 1, True, is_bucket_challenged=True)
    assert _front_inputs(front) == [2.0]


def test_a_single_run_tying_the_resampled_groups_best_sample_does_not_challenge() -> None:
    front = pareto_groups(_challenged_bucket(0.9), 0.5, 1, True, is_bucket_challenged=True)
    assert _front_inputs(front) == [1.0]


def test_a_conservative_front_needs_a_single_run_strictly_above_the_last_best_sample() -> None:
    groups = [_group(0.0, (0.0, 1.0), 1.0), _group(1.0, (1.0,), 2.0), _group(2.0, (1.5,), 3.0)]
    front = pareto_groups(groups, 0.0, 1, is_conservative=True)
    assert _front_inputs(front) == [0.0, 2.0]


def test_with_no_group_under_the_threshold_the_front_starts_at_the_cheapest() -> None:
    # Costs 1, 1, 3, 5: the 0-quantile is 1, but every group's mean cost lies above it.
    groups = [_group(0.0, (2.0, 2.0), (1.0, 5.0)), _group(1.0, (1.0, 1.0), (1.0, 3.0))]
    front = pareto_groups(groups, 0.0, 1, is_conservative=False)
    assert _front_inputs(front) == [1.0, 0.0]
    assert [g.mean_cost for g in front] == [2.0, 3.0]


def test_the_cheap_bucket_threshold_interpolates_between_observed_costs() -> None:
    # Costs 1, 2, 3, 4: the median is 2.5, so the group of mean cost 2.5 is in the bucket
    # and, being its best, starts the front; the cheaper but worse run is left out.
    groups = [
        _group(0.0, (1.0,), 1.0),
        _group(1.0, (2.0, 2.0), (2.0, 3.0)),
        _group(2.0, (3.0,), 4.0),
    ]
    front = pareto_groups(groups, 0.5, 1, is_conservative=False)
    assert _front_inputs(front) == [1.0, 2.0]


# -- laws ----------------------------------------------------------------------------------------
def test_an_ordinal_law_reports_the_exponent_in_the_params_own_terms() -> None:
    # The batch size doubles with every decade of cost: value ~ cost**log10(2).
    params = [
        Param("batch_size", OrdinalSpace.powers_of(2, min=16, max=1024), 64),
        Param("lr", LogSpace(min=1e-5, max=1.0), 1e-3),
    ]
    runs = [({"batch_size": 16 * 2**i, "lr": 1e-3}, -float(i), 10.0**i) for i in range(4)]
    law = _minimising(params, runs).scaling_laws()["batch_size"]
    assert law.exponent == pytest.approx(math.log10(2.0))
    low, high = law.slope_interval
    assert low == pytest.approx(math.log10(2.0)) and high == pytest.approx(math.log10(2.0))
    assert law.value_at(1e4) == pytest.approx(256.0)


def test_a_choice_band_spans_from_its_cheapest_to_its_dearest_member() -> None:
    space = CategoricalSpace(choices=["relu", "gelu"])
    law = ChoiceLaw(
        "act", space, (1.0, 2.0, 4.0, 8.0), ("relu", "relu", "gelu", "gelu"), (1, 1, 1, 1)
    )
    assert law.bands == [(1.0, 2.0, "relu"), (4.0, 8.0, "gelu")]


def test_true_and_one_make_separate_choice_bands() -> None:
    law = ChoiceLaw("flag", CategoricalSpace(choices=[1, True]), (1.0, 2.0), (1, True), (1, 1))
    assert law.bands == [(1.0, 1.0, 1), (2.0, 2.0, True)]


def test_a_choice_law_takes_the_dearer_member_when_a_cost_is_halfway_in_log() -> None:
    space = CategoricalSpace(choices=["relu", "gelu"])
    law = ChoiceLaw("act", space, (1.0, 100.0), ("relu", "gelu"), (1, 1))
    assert law.value_at(10.0) == "gelu"


# -- suggest_at_cost -----------------------------------------------------------------------------
def _exact_front() -> CARBS:
    """Four front members at costs 10 .. 1e4 on an exact power law."""
    params = [Param("n", LogSpace(min=1.0, max=1e15), search_center=1e3)]
    runs = [({"n": 100.0 * 10.0**i}, -float(i), 10.0**i) for i in range(1, 5)]
    return _minimising(params, runs)


def test_exactly_max_extrapolation_beyond_the_front_is_still_reliable() -> None:
    carbs = _exact_front()
    assert carbs.suggest_at_cost(1e5).is_reliable  # 10x the dearest member: not more
    assert carbs.suggest_at_cost(1.0).is_reliable  # 10x below the cheapest
    assert not carbs.suggest_at_cost(1.0001e5).is_reliable


def test_the_extrapolation_warning_says_how_far_below_the_front_the_cost_is() -> None:
    warnings = _exact_front().suggest_at_cost(0.1).warnings
    assert len(warnings) == 1
    assert "100x outside the front's cost range" in warnings[0]


def test_by_default_a_law_explaining_under_half_the_variance_is_unreliable() -> None:
    # The weights wander along the front: R^2 of "w" on log10 cost is 5/11.
    params = [
        Param("n", LogSpace(min=1.0, max=1e15), search_center=1e3),
        Param("w", LinearSpace(min=-10.0, max=10.0), search_center=0.0),
    ]
    runs = [({"n": 10.0**i, "w": w}, -float(i), 10.0**i) for i, w in enumerate([0, 1, 0, 2])]
    carbs = _minimising(params, runs)
    assert carbs.scaling_laws()["w"].r_squared == pytest.approx(5.0 / 11.0)
    result = carbs.suggest_at_cost(100.0)
    assert not result.is_reliable
    assert [w for w in result.warnings if w.startswith("w: weak fit")]


# -- line fits -----------------------------------------------------------------------------------
def test_the_lines_interval_at_the_centre_of_the_data_is_the_means_standard_error() -> None:
    x, y = np.array([0.0, 1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.0, 2.0])
    fit = weighted_least_squares(x, y)
    low, high = fit.mean_interval_at(fit.x_mean)
    residual_variance = fit.residual_variance
    assert residual_variance > 0
    half_width = fit.t_quantile * math.sqrt(residual_variance / 4)
    assert (low, high) == pytest.approx((0.75 - half_width, 0.75 + half_width))


def test_a_zero_weight_is_refused() -> None:
    with pytest.raises(CARBSValueError, match="weights must be > 0"):
        weighted_least_squares([0.0, 1.0, 2.0], [0.0, 1.0, 2.0], weights=[1.0, 0.0, 1.0])


def test_x_values_a_few_float_steps_apart_have_no_spread() -> None:
    x = [1.0, 1.0 + 16 * EPS, 1.0, 1.0 + 16 * EPS]
    with pytest.raises(InsufficientDataError, match="no spread in x"):
        weighted_least_squares(x, [0.0, 1.0, 2.0, 3.0])


def test_responses_equal_up_to_float_rounding_are_fitted_exactly() -> None:
    y = [1.0, 1.0 + 64 * EPS, 1.0, 1.0 + 64 * EPS]
    fit = weighted_least_squares([0.0, 1.0, 2.0, 3.0], y)
    assert fit.r_squared == 1.0
