"""Scaling laws along the Pareto front: WLS fits, exponents, intervals, suggest_at_cost."""

from __future__ import annotations

import math

import attrs
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from carbs import (
    CARBS,
    CARBSParams,
    CARBSValueError,
    CategoricalSpace,
    InsufficientDataError,
    LinearSpace,
    LogitSpace,
    LogSpace,
    ObservationInParam,
    OrdinalSpace,
    Param,
)
from carbs.scaling import (
    ChoiceLaw,
    LineFit,
    ScalingLaw,
    fit_scaling_laws,
    slope_factor,
    suggest_at_cost,
    weighted_least_squares,
)

TRUE_N_EXPONENT = 0.6
TRUE_D_EXPONENT = 0.4
TRUE_LINEAR_SLOPE = 0.25  # value per decade of cost
TRUE_LOGIT_SLOPE = 0.2  # log10 odds per decade of cost
COVERAGE_SEEDS = 200
COVERAGE_TOLERANCE = 0.05  # about 3 binomial standard deviations at n=200, p=0.95


def _params() -> list[Param]:
    return [
        Param("n", LogSpace(min=1.0, max=1e15), search_center=1e3),
        Param("d", LogSpace(base=2.0, scale=3.0, min=1.0, max=1e15), search_center=1e3),
        Param("lin", LinearSpace(scale=2.0, min=-10.0, max=10.0), search_center=0.0),
        Param("p", LogitSpace(scale=0.5), search_center=0.5),
    ]


def _synthetic_front(
    noise: float, seed: int, num_points: int = 12, low: float = 2.0, high: float = 8.0
) -> CARBS:
    """A CARBS whose every observation is on the front and follows known laws (plus noise)."""
    rng = np.random.default_rng(seed)
    carbs = CARBS(CARBSParams(better_direction_sign=-1, min_pareto_cost_fraction=0.0), _params())
    observations = []
    for log_cost in np.linspace(low, high, num_points):
        cost = 10.0**log_cost
        eps = noise * rng.normal(size=4)
        log_odds = -1.0 + TRUE_LOGIT_SLOPE * log_cost + eps[3]
        inputs = {
            "n": 3.0 * cost**TRUE_N_EXPONENT * 10 ** eps[0],
            "d": 5.0 * cost**TRUE_D_EXPONENT * 10 ** eps[1],
            "lin": 1.0 + TRUE_LINEAR_SLOPE * log_cost + eps[2],
            "p": 1.0 / (1.0 + 10.0**-log_odds),
        }
        observations.append(ObservationInParam(input=inputs, output=10.0 - log_cost, cost=cost))
    carbs.initialize_from_observations(observations)
    return carbs


# -- weighted least squares ----------------------------------------------------------------------
def test_wls_recovers_an_exact_line() -> None:
    x = np.array([0.0, 1.0, 2.0, 5.0])
    fit = weighted_least_squares(x, 2.0 - 0.5 * x, weights=[1, 2, 3, 1])
    assert fit.slope == pytest.approx(-0.5, abs=1e-12)
    assert fit.intercept == pytest.approx(2.0, abs=1e-12)
    assert fit.r_squared == pytest.approx(1.0)
    assert fit.slope_interval == pytest.approx((-0.5, -0.5), abs=1e-9)
    assert fit.mean_at(3.0) == pytest.approx(0.5)


def test_wls_matches_the_weighted_normal_equations() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=9)
    y = 1.0 + 2.0 * x + rng.normal(size=9)
    w = rng.integers(1, 4, size=9).astype(float)
    fit = weighted_least_squares(x, y, w)
    design = np.stack([np.ones_like(x), x], axis=1)
    weighted = design.T @ np.diag(w)
    intercept, slope = np.linalg.solve(weighted @ design, weighted @ y)
    assert fit.slope == pytest.approx(slope)
    assert fit.intercept == pytest.approx(intercept)
    residuals = y - design @ np.array([intercept, slope])
    sigma2 = (w * residuals**2).sum() / (len(x) - 2)
    covariance = sigma2 * np.linalg.inv(weighted @ design)
    assert fit.slope_std_error == pytest.approx(math.sqrt(covariance[1, 1]))


def test_wls_weights_equal_repeated_points_for_the_slope() -> None:
    x = np.array([0.0, 1.0, 2.0, 3.0])
    y = np.array([0.1, 0.9, 2.3, 2.8])
    weighted = weighted_least_squares(x, y, [1, 3, 1, 2])
    repeated = weighted_least_squares(np.repeat(x, [1, 3, 1, 2]), np.repeat(y, [1, 3, 1, 2]))
    assert weighted.slope == pytest.approx(repeated.slope)
    assert weighted.intercept == pytest.approx(repeated.intercept)


def test_wls_with_two_points_has_infinite_intervals() -> None:
    fit = weighted_least_squares([0.0, 1.0], [1.0, 3.0])
    assert fit.slope == pytest.approx(2.0)
    assert fit.slope_interval == (-math.inf, math.inf)
    assert fit.mean_interval_at(0.5) == (-math.inf, math.inf)


def test_wls_constant_responses_have_r_squared_one() -> None:
    fit = weighted_least_squares([0.0, 1.0, 2.0], [4.0, 4.0, 4.0])
    assert fit.slope == pytest.approx(0.0)
    assert fit.r_squared == 1.0


@pytest.mark.parametrize("unit", [1.0, 1e100, 1e-100])
def test_wls_of_log_costs_does_not_depend_on_the_cost_unit(unit: float) -> None:
    # Costs 1, 1.0001 and 1.0002 in other units: their log10 spread was compared with
    # 1e-12 of the logs' squares, which grow with the unit, and the fit was refused.
    x = np.log10(np.array([1.0, 1.0001, 1.0002]) * unit)
    fit = weighted_least_squares(x, [3.0, 2.0, 1.0])
    plain = weighted_least_squares(np.log10([1.0, 1.0001, 1.0002]), [3.0, 2.0, 1.0])
    assert fit.slope == pytest.approx(plain.slope, rel=1e-6)
    assert fit.slope == pytest.approx(-1.0 / math.log10(1.0001), rel=1e-3)
    # Responses that differ by a part in 1e9 are measured, not taken as constant.
    near = weighted_least_squares([0.0, 1.0, 2.0], [1e6, 1e6 + 1e-3, 1e6 + 3e-3])
    assert near.r_squared < 1.0
    # Logs equal to within a few float steps still have no spread.
    with pytest.raises(InsufficientDataError):
        weighted_least_squares([x[0], np.nextafter(x[0], math.inf), x[0]], [3.0, 2.0, 1.0])


@pytest.mark.parametrize(
    ("x", "y", "weights", "confidence", "error"),
    [
        ([1.0], [1.0], None, 0.95, InsufficientDataError),
        ([1.0, 1.0, 1.0], [1.0, 2.0, 3.0], None, 0.95, InsufficientDataError),
        ([1.0, 2.0], [1.0], None, 0.95, CARBSValueError),
        ([1.0, 2.0], [1.0, math.nan], None, 0.95, CARBSValueError),
        ([1.0, 2.0], [1.0, 2.0], [1.0, 0.0], 0.95, CARBSValueError),
        ([1.0, 2.0], [1.0, 2.0], None, 1.0, CARBSValueError),
        ([1.0, 2.0], [1.0, 2.0], None, 1.0 - 1e-16, CARBSValueError),  # a t quantile of inf
    ],
)
def test_wls_rejects_bad_input(
    x: list[float],
    y: list[float],
    weights: list[float] | None,
    confidence: float,
    error: type[Exception],
) -> None:
    with pytest.raises(error):
        weighted_least_squares(x, y, weights, confidence)


def _coverage_trial(seed: int, confidence: float) -> tuple[bool, bool]:
    """Does the slope interval, and the mean interval at an extrapolated x, cover the truth?"""
    rng = np.random.default_rng(seed)
    n = 8
    x = np.sort(rng.uniform(0.0, 6.0, size=n))
    w = rng.integers(1, 5, size=n).astype(float)
    slope, intercept, sigma = 0.5, -1.0, 0.3
    y = intercept + slope * x + sigma * rng.normal(size=n) / np.sqrt(w)
    fit = weighted_least_squares(x, y, w, confidence)
    low, high = fit.slope_interval
    x0 = 9.0
    mean_low, mean_high = fit.mean_interval_at(x0)
    return low <= slope <= high, mean_low <= intercept + slope * x0 <= mean_high


@pytest.mark.parametrize("confidence", [0.95, 0.8])
def test_wls_intervals_cover_the_truth_at_the_stated_rate(confidence: float) -> None:
    trials = [_coverage_trial(seed, confidence) for seed in range(COVERAGE_SEEDS)]
    slope_coverage = np.mean([slope for slope, _ in trials])
    mean_coverage = np.mean([mean for _, mean in trials])
    assert abs(slope_coverage - confidence) <= COVERAGE_TOLERANCE
    assert abs(mean_coverage - confidence) <= COVERAGE_TOLERANCE


# -- laws along the front ------------------------------------------------------------------------
def test_scaling_laws_recover_exact_laws_in_every_space() -> None:
    carbs = _synthetic_front(noise=0.0, seed=0)
    laws = carbs.scaling_laws()
    assert list(laws) == ["n", "d", "lin", "p"]
    assert laws["n"].slope == pytest.approx(TRUE_N_EXPONENT, abs=1e-9)
    assert laws["d"].slope == pytest.approx(TRUE_D_EXPONENT, abs=1e-9)
    assert laws["lin"].slope == pytest.approx(TRUE_LINEAR_SLOPE, abs=1e-9)
    assert laws["p"].slope == pytest.approx(TRUE_LOGIT_SLOPE, abs=1e-9)
    assert laws["n"].exponent == laws["n"].slope and laws["lin"].exponent is None
    assert laws["n"].is_power_law and not laws["p"].is_power_law
    for law in laws.values():
        assert law.r_squared == pytest.approx(1.0)
        assert law.num_points == 12
    # The law reproduces the generating power law, even far beyond the data.
    assert laws["n"].value_at(1e12) == pytest.approx(3.0 * 1e12**TRUE_N_EXPONENT, rel=1e-9)
    assert laws["d"].value_at(1e3) == pytest.approx(5.0 * 1e3**TRUE_D_EXPONENT, rel=1e-9)
    # In a notebook a law prints as its figures, not its front's data and fit internals.
    assert repr(laws["n"]).startswith("ScalingLaw('n': slope 0.6 [0.6, 0.6] exponent (d ln value")
    assert "R^2 1.000, 12 front members" in repr(laws["n"])


def test_scaling_laws_recover_exponents_from_noisy_fronts() -> None:
    for seed in range(5):
        laws = _synthetic_front(noise=0.05, seed=seed).scaling_laws()
        assert laws["n"].slope == pytest.approx(TRUE_N_EXPONENT, abs=0.05)
        assert laws["d"].slope == pytest.approx(TRUE_D_EXPONENT, abs=0.05)
        assert laws["lin"].slope == pytest.approx(TRUE_LINEAR_SLOPE, abs=0.05)
        assert laws["p"].slope == pytest.approx(TRUE_LOGIT_SLOPE, abs=0.05)


def test_exponent_intervals_cover_the_truth_across_seeds() -> None:
    covered = []
    for seed in range(100):
        law = _synthetic_front(noise=0.1, seed=1000 + seed, num_points=6).scaling_laws()["d"]
        low, high = law.slope_interval
        covered.append(low <= TRUE_D_EXPONENT <= high)
    assert abs(np.mean(covered) - 0.95) <= 0.07


def test_scaling_laws_use_the_pareto_groups_weighted_by_count() -> None:
    carbs = _synthetic_front(noise=0.05, seed=3)
    # Repeat one front member: it stays on the front and now weighs twice as much.
    group = carbs.get_pareto_groups()[4]
    inputs = carbs.search_space.param_dict_from_basic(group.input_in_basic)
    carbs.observe(ObservationInParam(input=inputs, output=group.mean_output, cost=group.mean_cost))
    front = carbs.get_pareto_groups()
    assert [g.count for g in front].count(2) == 1
    law = carbs.scaling_laws()["n"]
    expected = weighted_least_squares(
        [math.log10(g.mean_cost) for g in front],
        [float(g.input_in_basic[0]) for g in front],
        [g.count for g in front],
    )
    assert law.fit.slope == pytest.approx(expected.slope)
    assert law.counts == tuple(g.count for g in front)
    assert law.num_points == len(front)


def test_slope_factor_converts_basic_slopes() -> None:
    assert slope_factor(LogSpace(scale=2.0)) == pytest.approx(2.0)
    assert slope_factor(LogSpace(scale=3.0, base=2.0)) == pytest.approx(3.0 * math.log10(2.0))
    assert slope_factor(LinearSpace(scale=0.5)) == pytest.approx(0.5)
    assert slope_factor(LogitSpace(scale=0.5)) == pytest.approx(0.5)


def test_scaling_laws_need_two_front_members() -> None:
    carbs = CARBS(CARBSParams(), _params())
    with pytest.raises(InsufficientDataError):
        carbs.scaling_laws()
    with pytest.raises(InsufficientDataError):
        fit_scaling_laws([], carbs.search_space)
    with pytest.raises(InsufficientDataError):
        carbs.suggest_at_cost(10.0)


def test_laws_of_choices_alone_check_and_report_the_confidence_asked_for() -> None:
    params = [Param("c", CategoricalSpace(choices=["a", "b"]), search_center="a")]
    carbs = CARBS(CARBSParams(better_direction_sign=-1, min_pareto_cost_fraction=0.0), params)
    carbs.observe_many(
        [
            ObservationInParam(input={"c": "a"}, output=1.0, cost=1.0),
            ObservationInParam(input={"c": "b"}, output=0.0, cost=2.0),
        ]
    )
    assert isinstance(carbs.scaling_laws()["c"], ChoiceLaw)
    with pytest.raises(CARBSValueError, match="confidence"):
        carbs.scaling_laws(confidence=5.0)
    assert carbs.suggest_at_cost(3.0, confidence=0.5).confidence == 0.5
    # A front whose members all cost the same has no law, whatever the params.
    front = carbs.get_pareto_groups()
    same_cost = [attrs.evolve(g, costs=tuple(1.0 for _ in g.costs)) for g in front]
    with pytest.raises(InsufficientDataError, match="all cost"):
        fit_scaling_laws(same_cost, carbs.search_space)


def test_a_param_pinned_at_its_bound_along_the_front_is_not_reported_clipped() -> None:
    # Every front member ran at lr = 0.005, the lower bound; the law comes back a
    # rounding step below it, which once warned that the law leaves its bounds.
    params = [
        Param("lr", LogSpace(min=0.005, max=1.0), search_center=0.01),
        Param("n", LogSpace(min=1, max=1e9), search_center=10.0),
    ]
    carbs = CARBS(CARBSParams(better_direction_sign=-1, min_pareto_cost_fraction=0.0), params)
    carbs.observe_many(
        [
            ObservationInParam(
                input={"lr": 0.005, "n": 10.0 ** (1 + k)}, output=5.0 - k, cost=10.0**k
            )
            for k in range(4)
        ]
    )
    result = carbs.suggest_at_cost(100.0)
    assert result.params["lr"] == 0.005
    assert not any(w.startswith("lr:") for w in result.warnings)
    assert result.is_reliable


# -- suggest_at_cost -----------------------------------------------------------------------------
def test_suggest_at_cost_is_reliable_inside_the_observed_range() -> None:
    carbs = _synthetic_front(noise=0.02, seed=0)
    result = carbs.suggest_at_cost(1e6)
    assert result.is_reliable
    assert result.warnings == []
    assert result.params["n"] == pytest.approx(3.0 * 1e6**TRUE_N_EXPONENT, rel=0.1)
    assert result.params["lin"] == pytest.approx(1.0 + 6 * TRUE_LINEAR_SLOPE, abs=0.05)
    for name, (low, high) in result.intervals.items():
        assert low <= result.predicted[name] <= high


def test_suggest_at_cost_flags_extrapolation_but_still_predicts() -> None:
    carbs = _synthetic_front(noise=0.0, seed=0)  # costs 1e2 .. 1e8
    assert carbs.suggest_at_cost(9.9e8).is_reliable
    far = carbs.suggest_at_cost(1e11)
    assert not far.is_reliable
    assert any("extrapolation" in w for w in far.warnings)
    assert far.params["n"] == pytest.approx(3.0 * 1e11**TRUE_N_EXPONENT, rel=1e-6)
    assert not carbs.suggest_at_cost(5.0).is_reliable  # more than 10x below the cheapest


def test_suggest_at_cost_flags_weak_fits_and_small_fronts() -> None:
    rng = np.random.default_rng(0)
    params = [
        Param("n", LogSpace(min=1.0, max=1e15), search_center=1e3),
        Param("noise", LinearSpace(min=-10.0, max=10.0), search_center=0.0),
    ]
    carbs = CARBS(CARBSParams(better_direction_sign=-1, min_pareto_cost_fraction=0.0), params)
    observations = [
        ObservationInParam(
            input={"n": 2.0 * 10 ** (0.5 * c), "noise": float(rng.normal())},
            output=-c,
            cost=10.0**c,
        )
        for c in np.linspace(1.0, 6.0, 10)
    ]
    carbs.initialize_from_observations(observations)
    result = carbs.suggest_at_cost(1e4)
    assert carbs.scaling_laws()["noise"].r_squared < 0.5
    assert not result.is_reliable
    assert any(w.startswith("noise: weak fit") for w in result.warnings)
    assert not any(w.startswith("n:") for w in result.warnings)

    small = CARBS(CARBSParams(better_direction_sign=-1, min_pareto_cost_fraction=0.0), params)
    small.initialize_from_observations(observations[:2])
    result = small.suggest_at_cost(1e1)
    assert not result.is_reliable
    assert any("Pareto front members" in w for w in result.warnings)
    # Two points: the interval is unbounded, so it spans the bounds.
    assert result.intervals["noise"] == (-10.0, 10.0)


def test_suggest_at_cost_is_in_bounds_and_on_the_lattice() -> None:
    params = [
        Param("width", LogSpace(is_integer=True, rounding_factor=16, min=24, max=1000), 64),
        Param("layers", LogSpace(is_integer=True, min=1, max=48), search_center=4),
        Param("p", LogitSpace(min=0.05, max=0.95), search_center=0.5),
    ]
    carbs = CARBS(CARBSParams(better_direction_sign=-1, min_pareto_cost_fraction=0.0), params)
    observations = [
        ObservationInParam(
            input={"width": 32 * 2**i, "layers": 1 + 2 * i, "p": 0.1 + 0.05 * i},
            output=-float(i),
            cost=10.0**i,
        )
        for i in range(5)
    ]
    carbs.initialize_from_observations(observations)
    for cost in [1e-6, 1e-2, 3.0, 1e2, 1e3, 1e5, 1e12]:
        result = carbs.suggest_at_cost(cost)
        width, layers = result.params["width"], result.params["layers"]
        assert isinstance(width, int) and isinstance(layers, int)
        assert width % 16 == 0 and 24 <= width <= 1000
        assert 1 <= layers <= 48
        assert 0.05 <= result.params["p"] <= 0.95
        carbs.search_space.validate_param_dict(result.params)
        for name, (low, high) in result.intervals.items():
            space = carbs.search_space.spaces[carbs.search_space.names.index(name)]
            assert space.min <= low <= high <= space.max
            # Both ends are values a run can take: on the lattice for integer params,
            # and wide enough to hold the law's own interval where it lies inside the bounds.
            assert space.is_on_lattice(low) and space.is_on_lattice(high)
            law_low, law_high = carbs.scaling_laws()[name].interval_at(cost)
            bounds = torch.tensor([space.min, space.max], dtype=torch.float64)
            lowest, highest = space.clip_param_tensor(bounds).tolist()  # the legal extremes
            assert low <= max(law_low, lowest) + 1e-9
            assert high >= min(law_high, highest) - 1e-9
    clipped = carbs.suggest_at_cost(1e12)
    assert clipped.params["width"] == 992
    assert any(w.startswith("width: the law gives") for w in clipped.warnings)


def test_a_param_constant_along_the_front_has_an_interval_of_one_value() -> None:
    # The exact fit's 63.99999999999953 was widened outwards to the next listed value
    # (32) and 47.9999... to 47: the intervals held neighbours the front never used.
    params = [
        Param("epochs", LogSpace(is_integer=True, min=1, max=512), search_center=8),
        Param("batch_size", OrdinalSpace.powers_of(2, min=16, max=1024), search_center=64),
        Param("width", LogSpace(is_integer=True, min=1, max=4096), search_center=48),
    ]
    carbs = CARBS(CARBSParams(better_direction_sign=-1), params)
    for epochs, loss in [(2, 0.9), (8, 0.6), (32, 0.4)]:
        run = {"epochs": epochs, "batch_size": 64, "width": 48}
        carbs.observe(ObservationInParam(input=run, output=loss, cost=float(epochs)))
    result = carbs.suggest_at_cost(16.0)
    assert result.params == {"epochs": 16, "batch_size": 64, "width": 48}
    assert result.intervals == {"epochs": (16, 16), "batch_size": (64, 64), "width": (48, 48)}
    assert all(isinstance(end, int) for ends in result.intervals.values() for end in ends)


def test_a_law_past_the_float_range_is_not_reliable() -> None:
    # lr rises 1e4-fold over 0.2% of cost: at 5x the cost the law overflows to inf, and
    # the result came back reliable, with no warning.
    carbs = CARBS(CARBSParams(better_direction_sign=-1), [Param("lr", LogSpace(), 1e-5)])
    for lr, loss, cost in [(1e-5, 0.9, 1.0), (1e-3, 0.6, 1.001), (1e-1, 0.4, 1.002)]:
        carbs.observe(ObservationInParam(input={"lr": lr}, output=loss, cost=cost))
    result = carbs.suggest_at_cost(5.0)
    assert result.predicted["lr"] == math.inf and not result.is_reliable
    assert "lr: the law gives inf at this cost, past the float range" in result.warnings
    assert carbs.suggest_at_cost(1.0015).is_reliable  # inside the front: finite


@pytest.mark.parametrize("cost", [0.0, -1.0, math.inf, math.nan, "big", True, 10**400])
def test_suggest_at_cost_rejects_bad_costs(cost: object) -> None:
    carbs = _synthetic_front(noise=0.0, seed=0)
    with pytest.raises(CARBSValueError, match="cost"):
        carbs.suggest_at_cost(cost)  # type: ignore[arg-type]


@pytest.mark.parametrize("cost", [0.0, -1.0, math.inf, math.nan, "big", True, None, 10**400])
def test_a_laws_own_methods_reject_bad_costs(cost: object) -> None:
    """``True`` was read as a budget of 1 and ``None`` or ``10**400`` failed deep inside."""
    choice = ChoiceLaw(
        "act", CategoricalSpace(choices=["relu", "gelu"]), (1.0, 10.0), ("relu", "gelu"), (1, 1)
    )
    assert choice.value_at(3.0) == "relu" and choice.value_at(4.0) == "gelu"
    for law in [*_synthetic_front(noise=0.0, seed=0).scaling_laws().values(), choice]:
        with pytest.raises(CARBSValueError, match="cost"):
            law.value_at(cost)  # type: ignore[arg-type]
        if isinstance(law, ScalingLaw):
            for method in (law.basic_at, law.interval_at):
                with pytest.raises(CARBSValueError, match="cost"):
                    method(cost)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"confidence": "0.9"}, "confidence"),
        ({"confidence": 1.0}, "confidence"),
        ({"min_r_squared": "0.5"}, "min_r_squared"),
        ({"min_r_squared": math.nan}, "min_r_squared"),
        ({"max_extrapolation": 0.5}, "max_extrapolation"),
        ({"max_extrapolation": True}, "max_extrapolation"),
    ],
)
def test_suggest_at_cost_rejects_bad_settings(settings: dict[str, object], field: str) -> None:
    carbs = _synthetic_front(noise=0.0, seed=0)
    with pytest.raises(CARBSValueError, match=field):
        carbs.suggest_at_cost(100.0, **settings)  # type: ignore[arg-type]


def test_suggest_at_cost_takes_an_integer_budget_beyond_int64() -> None:
    carbs = _synthetic_front(noise=0.0, seed=0)
    assert carbs.suggest_at_cost(10**21).params == carbs.suggest_at_cost(1e21).params


def test_suggest_at_cost_function_needs_laws() -> None:
    with pytest.raises(CARBSValueError):
        suggest_at_cost({}, 1.0)


spaces = st.one_of(
    st.builds(
        LogSpace,
        is_integer=st.just(True),
        rounding_factor=st.integers(1, 32),
        min=st.floats(1.0, 50.0),
        max=st.floats(200.0, 1e6),
    ),
    st.builds(LogSpace, min=st.just(0.0)),
    st.builds(
        LinearSpace,
        is_integer=st.booleans(),
        min=st.floats(-100.0, -1.0),
        max=st.floats(1.0, 100.0),
    ),
    st.builds(LogitSpace, scale=st.floats(0.1, 3.0)),
)


@given(space=spaces, basic=st.floats(-400.0, 400.0))
def test_legal_value_is_always_legal(space: LogSpace, basic: float) -> None:
    value = space.legal_value_from_basic(basic)
    assert space.is_in_bounds(value)
    if space.is_integer:
        assert isinstance(value, int) and value % space.rounding_factor == 0


def test_line_fit_is_frozen() -> None:
    fit = weighted_least_squares([0.0, 1.0, 2.0], [0.0, 1.0, 2.5])
    assert isinstance(fit, LineFit)
    with pytest.raises(AttributeError):
        fit.slope = 3.0  # type: ignore[misc]
