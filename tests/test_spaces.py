"""Param spaces: transforms, integer rounding, bounds and declaration errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from carbs import (
    CARBS,
    CARBSParams,
    CARBSValueError,
    InvalidObservationError,
    InvalidParamError,
    InvalidSpaceError,
    LinearSpace,
    LogitSpace,
    LogSpace,
    ObservationInParam,
    Param,
    RealNumberSpace,
)
from carbs.spaces import SearchSpace

ROUND_TRIP_RTOL = 1e-12

scales = st.floats(min_value=0.05, max_value=20.0)
rounding_factors = st.integers(min_value=1, max_value=8)
fractions = st.floats(min_value=0.0, max_value=1.0)


def _round_trip(space: LinearSpace | LogSpace | LogitSpace, value: float) -> float:
    basic = space.basic_from_param(value)
    assert math.isfinite(basic)
    back = space.param_from_basic(basic)
    assert isinstance(back, float)
    return back


# -- round trips ---------------------------------------------------------------------------------
@given(
    scale=scales,
    sign=st.sampled_from([-1.0, 1.0]),
    exponent=st.floats(min_value=-100, max_value=6),
)
def test_linear_space_round_trip(scale: float, sign: float, exponent: float) -> None:
    value = sign * 10**exponent
    space = LinearSpace(scale=scale)
    assert space.basic_from_param(value) == pytest.approx(value / scale, rel=1e-15)
    assert math.isclose(_round_trip(space, value), value, rel_tol=ROUND_TRIP_RTOL)


def test_linear_space_round_trip_of_zero() -> None:
    assert _round_trip(LinearSpace(scale=0.7), 0.0) == 0.0


@given(
    base=st.one_of(st.sampled_from([2.0, math.e, 10.0, 16.0]), st.floats(1.01, 1000.0)),
    scale=scales,
    exponent=st.floats(min_value=-100, max_value=100),
)
def test_log_space_round_trip(base: float, scale: float, exponent: float) -> None:
    value = 10**exponent
    space = LogSpace(base=base, scale=scale)
    # basic = log_base(x) / scale
    assert space.basic_from_param(value) == pytest.approx(
        math.log(value) / math.log(base) / scale, rel=1e-12, abs=1e-12
    )
    assert math.isclose(_round_trip(space, value), value, rel_tol=ROUND_TRIP_RTOL)


@given(
    scale=scales,
    exponent=st.floats(min_value=-100, max_value=math.log10(0.5)),
    near_one=st.booleans(),
)
def test_logit_space_round_trip(scale: float, exponent: float, near_one: bool) -> None:
    # Values near 1 are written as 1 - 10**e with e >= -12 so that 1 - p stays representable.
    value = 1 - 10 ** max(exponent, -12) if near_one else 10**exponent
    space = LogitSpace(scale=scale)
    expected_basic = (math.log10(value) - math.log10(1 - value)) / scale
    assert space.basic_from_param(value) == pytest.approx(expected_basic, rel=1e-9, abs=1e-9)
    assert math.isclose(_round_trip(space, value), value, rel_tol=ROUND_TRIP_RTOL)


def test_known_basic_values() -> None:
    assert LogSpace(scale=0.5).basic_from_param(1e-3) == pytest.approx(-6.0)
    assert LogSpace(base=2.0).basic_from_param(64.0) == pytest.approx(6.0)
    assert LogitSpace().basic_from_param(0.9) == pytest.approx(math.log10(9.0))
    assert LinearSpace(scale=4.0).basic_from_param(2.0) == pytest.approx(0.5)


# -- integer lattice ---------------------------------------------------------------------------
@st.composite
def integer_spaces(draw: st.DrawFn) -> LinearSpace | LogSpace:
    factor = draw(rounding_factors)
    scale = draw(scales)
    if draw(st.booleans()):
        low = draw(st.integers(-1000, 1000)) * factor
        high = low + draw(st.integers(1, 200)) * factor
        return LinearSpace(min=low, max=high, scale=scale, is_integer=True, rounding_factor=factor)
    low = draw(st.integers(1, 50))
    high = low + factor * draw(st.integers(1, 5000))
    return LogSpace(min=low, max=high, scale=scale, is_integer=True, rounding_factor=factor)


@given(space=integer_spaces(), fraction=fractions)
def test_integer_spaces_land_on_the_lattice(space: LinearSpace | LogSpace, fraction: float) -> None:
    low, high = space.basic_from_param(space.min), space.basic_from_param(space.max)
    basic = low + fraction * (high - low)
    unrounded = space.param_from_basic(basic, is_rounded=False)
    value = space.param_from_basic(basic)
    assert type(value) is int
    assert value % space.rounding_factor == 0
    assert abs(value - unrounded) <= space.rounding_factor / 2 + 1e-9 * max(1.0, abs(unrounded))

    search_space = SearchSpace([Param("x", space, search_center=space.max)])
    as_dict = search_space.param_dict_from_basic(torch.tensor([basic], dtype=torch.float64))
    assert type(as_dict["x"]) is int and as_dict["x"] == value
    # Snapping in basic space lands on the basic image of that lattice point.
    snapped = search_space.round_basic(torch.tensor([basic], dtype=torch.float64))
    assert space.param_from_basic(float(snapped[0]), is_rounded=False) == pytest.approx(value)


def test_integer_rounding_rounds_to_nearest_multiple() -> None:
    space = LinearSpace(min=0, max=100, is_integer=True, rounding_factor=8)
    assert [space.param_from_basic(v) for v in (3.9, 4.1, 11.9, 12.1, 99.0)] == [0, 8, 8, 16, 96]
    log_space = LogSpace(min=1, max=1024, is_integer=True, base=2.0)
    assert log_space.param_from_basic(math.log2(5.4)) == 5


@st.composite
def mixed_search_spaces(draw: st.DrawFn) -> SearchSpace:
    factor = draw(rounding_factors)
    params = [
        Param("lr", LogSpace(min=1e-5, max=1.0, scale=draw(scales)), search_center=1e-3),
        Param(
            "width",
            LogSpace(min=1, max=4096, is_integer=True, rounding_factor=factor, scale=draw(scales)),
            search_center=factor * 4,
        ),
        Param(
            "layers",
            LinearSpace(min=-16, max=64, is_integer=True, rounding_factor=factor, scale=0.5),
            search_center=0,
        ),
        Param("momentum", LogitSpace(min=0.5, max=0.999, scale=draw(scales)), search_center=0.9),
        Param("shift", LinearSpace(scale=draw(scales)), search_center=0.0),
    ]
    return SearchSpace(params)


basic_points = st.lists(
    st.lists(st.floats(min_value=-6, max_value=6), min_size=5, max_size=5),
    min_size=1,
    max_size=20,
)


@given(search_space=mixed_search_spaces(), points=basic_points)
def test_round_basic_is_idempotent(search_space: SearchSpace, points: list[list[float]]) -> None:
    basic = torch.tensor(points, dtype=torch.float64)
    once = search_space.round_basic(basic)
    twice = search_space.round_basic(once)
    assert torch.equal(torch.isfinite(once), torch.isfinite(twice))
    finite = torch.isfinite(once)
    assert torch.equal(once[finite], twice[finite])
    # Float params are untouched.
    for i, space in enumerate(search_space.spaces):
        if not space.is_integer:
            assert torch.equal(once[:, i], basic[:, i])


@settings(max_examples=200)
@given(search_space=mixed_search_spaces(), points=basic_points)
def test_in_bounds_mask_matches_per_value_check(
    search_space: SearchSpace, points: list[list[float]]
) -> None:
    basic = torch.tensor(points, dtype=torch.float64)
    mask = search_space.in_bounds_mask(basic)
    assert mask.shape == (basic.shape[0],) and mask.dtype == torch.bool
    for row, is_in in zip(basic, mask.tolist(), strict=True):
        # Each value as the point maps, unclamped (a run's value is read back clamped).
        values = {
            param.name: param.space.param_from_basic(float(column))
            for param, column in zip(search_space.params, row, strict=True)
        }
        expected = all(
            param.space.min <= values[param.name] <= param.space.max
            and math.isfinite(param.space.basic_from_param(values[param.name]))
            for param in search_space.params
        )
        assert is_in == expected
        assert is_in == all(p.space.is_in_bounds(values[p.name]) for p in search_space.params)


def test_in_bounds_mask_hand_examples() -> None:
    search_space = SearchSpace(
        [
            Param("n", LinearSpace(min=1, max=10, is_integer=True), search_center=5),
            Param("p", LogitSpace(), search_center=0.5),
        ]
    )
    basic = torch.tensor(
        [
            [5.0, 0.0],  # inside
            [10.4, 0.0],  # rounds to 10: inside
            [10.6, 0.0],  # rounds to 11: outside
            [0.4, 0.0],  # rounds to 0: outside
            [5.0, 400.0],  # sigmoid saturates to exactly 1: outside LogitSpace's open interval
            [math.nan, 0.0],
        ],
        dtype=torch.float64,
    )
    assert search_space.in_bounds_mask(basic).tolist() == [True, True, False, False, False, False]


@settings(max_examples=60)
@given(
    scale=st.sampled_from([0.1, 1.0, 1e3, 1e5, 1e9, 1e300]),
    lower=st.sampled_from([0.0, 0.2]),
    basic=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=6),
)
def test_clipped_values_are_legal_on_every_scale(
    scale: float, lower: float, basic: list[float]
) -> None:
    # At a large scale a value one float inside LogitSpace's open end mapped back onto the
    # end, so no clipped draw was legal and suggest() raised "could not draw a point".
    for space in (LogitSpace(min=lower, scale=scale), LogSpace(min=0.0, max=1.0, scale=scale)):
        clipped = space.clip_basic(torch.tensor(basic, dtype=torch.float64))
        assert space.is_legal_basic(clipped).all(), (space, basic, clipped)


@settings(max_examples=200)
@given(
    kind=st.sampled_from(["linear", "log", "logit"]),
    low=st.floats(0.0, 1.0, exclude_min=True),
    width=st.floats(1e-3, 1.0),
    scale=st.floats(0.05, 20.0),
)
def test_a_value_at_a_bound_comes_back_inside_the_bounds(
    kind: str, low: float, width: float, scale: float
) -> None:
    # 3e-3 at max=3e-3 came back as 0.003000000000000001, which carbs then refused.
    if kind == "linear":
        space: RealNumberSpace = LinearSpace(min=-low, max=-low + 100 * width, scale=scale)
    elif kind == "log":
        space = LogSpace(min=low, max=low * (1 + 1000 * width), scale=scale)
    else:
        space = LogitSpace(min=low / 2, max=low / 2 + width / 2.1, scale=scale)
    for bound in (space.min, space.max):
        value = space.value_from_basic(space.basic_from_value(bound))
        assert space.min <= value <= space.max and value == pytest.approx(bound, rel=1e-12)


def test_a_run_at_a_bound_is_reported_as_one_carbs_takes_back() -> None:
    params = [Param("lr", LogSpace(min=1e-6, max=3e-3), search_center=1e-3)]
    optimizer = CARBS(CARBSParams(num_random_samples=1), params)
    optimizer.observe(ObservationInParam(input={"lr": 3e-3}, output=1.0, cost=1.0))
    best = optimizer.best()
    assert best is not None and best.input["lr"] == 3e-3
    assert optimizer.pareto_front()[0].params["lr"] == 3e-3
    optimizer.set_search_center(best.input)  # raised: outside [min=1e-06, max=0.003]
    assert np.isfinite(optimizer.predict(best.input).output_mean).all()


@pytest.mark.parametrize(
    "space",
    [
        LogSpace(is_integer=True, min=1),
        LogSpace(is_integer=True, min=8, rounding_factor=8),
        LinearSpace(is_integer=True, min=7, rounding_factor=7),
        LinearSpace(is_integer=True, rounding_factor=3),
        LogSpace(),
    ],
)
def test_clipping_an_unbounded_space_gives_values_a_run_can_take(space: RealNumberSpace) -> None:
    # The largest float mapped back to infinity in an unbounded integer LogSpace, so no
    # clipped draw was legal; a lattice of multiples of 7 clipped to 1e30, no multiple of 7.
    far = torch.tensor([1e3, -1e3, 1e30, -1e30, 1e308, -1e308], dtype=torch.float64)
    clipped = space.clip_basic(far)
    assert space.is_legal_basic(clipped).all(), clipped
    for basic in clipped.tolist():
        value = space.value_from_basic(basic)
        space.check_value(value, "x")  # what observe() checks


def test_a_lattice_of_a_factor_above_one_stops_at_2_to_the_53() -> None:
    space = LinearSpace(is_integer=True, min=7, rounding_factor=7)
    assert space.legal_bounds() == (7, 2**53)
    space.check_value(7 * 2**49, "x")
    with pytest.raises(InvalidObservationError, match=r"x=.* is outside .*2\*\*53"):
        space.check_value(7 * 2**60, "x")  # a float no multiple of 7 is near
    assert LinearSpace(is_integer=True).legal_bounds() == (-math.inf, math.inf)


@pytest.mark.parametrize("radius", [1e40, 1e308])
@pytest.mark.parametrize("is_bounded", [True, False])
def test_a_huge_initial_search_radius_still_suggests(radius: float, is_bounded: bool) -> None:
    # With a radius past float32 the GP's first lengthscale overflowed; unbounded, no
    # clipped draw of the integer param was legal ("could not draw a point").
    width = LogSpace(is_integer=True, min=4, max=1024 if is_bounded else math.inf)
    params = [Param("width", width, 32), Param("lr", LogSpace(min=1e-5, max=1.0), 1e-3)]
    carbs = CARBS(CARBSParams(seed=0, num_random_samples=2, initial_search_radius=radius), params)
    for _ in range(4):
        suggestion = carbs.suggest().suggestion
        carbs.observe(ObservationInParam(suggestion, output=suggestion["lr"], cost=1.0))
    assert carbs.observation_count == 4


def test_a_logit_space_with_a_large_scale_suggests_legal_values() -> None:
    carbs = CARBS(
        CARBSParams(seed=0, num_random_samples=2),
        [Param("p", LogitSpace(scale=1e6), 0.5), Param("x", LinearSpace(min=0, max=1), 0.5)],
    )
    for _ in range(3):
        suggestion = carbs.suggest().suggestion
        assert 0.0 < suggestion["p"] < 1.0
        carbs.observe(ObservationInParam(input=suggestion, output=suggestion["x"], cost=1.0))


# -- declaration errors ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("build", "error", "words"),
    [
        (lambda: LogSpace(min=-1), InvalidSpaceError, ["min", "-1"]),
        (lambda: LogSpace(is_integer=True), InvalidSpaceError, ["min", "0"]),
        (lambda: LogSpace(is_integer=True, min=0, max=10), InvalidSpaceError, ["min", "0"]),
        (lambda: LogitSpace(is_integer=True), InvalidSpaceError, ["is_integer"]),
        (lambda: LogitSpace(min=-0.1), InvalidSpaceError, ["min", "-0.1"]),
        (lambda: LinearSpace(scale=0), InvalidSpaceError, ["scale", "0"]),
        (lambda: LogSpace(scale=-2.0), InvalidSpaceError, ["scale", "-2.0"]),
        (lambda: LogitSpace(scale=0.0), InvalidSpaceError, ["scale", "0"]),
        (lambda: LinearSpace(min=1, max=1), InvalidSpaceError, ["min", "max", "1"]),
        (lambda: LinearSpace(min=5, max=2), InvalidSpaceError, ["min=5", "max=2"]),
        (lambda: LogSpace(min=10, max=1), InvalidSpaceError, ["min=10", "max=1"]),
        (lambda: LinearSpace(rounding_factor=0, is_integer=True), InvalidSpaceError, ["rounding"]),
        # A factor past 2**53 was taken, and suggest() raised OverflowError from torch.
        (
            lambda: LogSpace(min=1, max=1e300, is_integer=True, rounding_factor=10**30),
            InvalidSpaceError,
            ["rounding_factor", "<= 9007199254740992"],
        ),
        # Beyond 2**53 suggestions came back off the lattice, and observe() refused them.
        (
            lambda: LinearSpace(min=3, max=10**18, is_integer=True, rounding_factor=3),
            InvalidSpaceError,
            ["LinearSpace.max=1e+18", "2**53"],
        ),
        (
            lambda: LogSpace(min=1, max=2.0**60, is_integer=True, rounding_factor=2),
            InvalidSpaceError,
            ["LogSpace.max", "2**53"],
        ),
        (
            lambda: Param("lr", LogSpace(min=1e-5, max=1e-1), search_center=0.5),
            InvalidParamError,
            ["lr", "search_center", "0.5", "max=0.1"],
        ),
        (
            lambda: Param("n", LinearSpace(min=0, max=10), search_center=-1),
            InvalidParamError,
            ["'n'", "search_center=-1", "min=0"],
        ),
        (
            lambda: CARBS(
                CARBSParams(),
                [Param("x", LinearSpace(), search_center=0.0)] * 2,
            ),
            InvalidParamError,
            ["duplicate", "'x'"],
        ),
    ],
)
def test_invalid_declarations_raise_named_value_errors(
    build: object, error: type[Exception], words: list[str]
) -> None:
    with pytest.raises(error) as info:
        build()  # type: ignore[operator]
    assert isinstance(info.value, CARBSValueError) and isinstance(info.value, ValueError)
    message = str(info.value)
    for word in words:
        assert word in message, (word, message)


def test_search_center_on_open_logit_bound_is_rejected() -> None:
    with pytest.raises(InvalidParamError, match=r"'p'.*outside"):
        Param("p", LogitSpace(), search_center=1.0)


@pytest.mark.parametrize(
    "build",
    [
        lambda: LinearSpace(min=1, max=7, is_integer=True, rounding_factor=8),
        lambda: LinearSpace(min=1.2, max=1.8, is_integer=True),
        lambda: LogSpace(min=9, max=15, is_integer=True, rounding_factor=8),
    ],
    ids=["linear-factor-8", "linear-no-integer", "log-factor-8"],
)
def test_integer_space_without_a_lattice_point_is_rejected(build: object) -> None:
    with pytest.raises(CARBSValueError, match=r"rounding_factor|integer"):
        space = build()  # type: ignore[operator]
        center = (space.min + space.max) / 2
        CARBS(CARBSParams(), [Param("n", space, search_center=center)]).suggest()


def test_a_centre_at_the_top_of_a_range_above_one_is_suggested() -> None:
    # max / 0.1 * 0.1 lands one float above max; the bisection back inside started
    # from a point below min (the midpoint of min and 1), so suggest() raised.
    top = 3.3444307935276347e19
    params = [Param("x", LinearSpace(min=2.0, max=top, scale=0.1), search_center=top)]
    suggestion = CARBS(CARBSParams(seed=0), params).suggest().suggestion
    assert 2.0 <= suggestion["x"] <= top
