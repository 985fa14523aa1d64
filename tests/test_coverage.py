"""The cost plane and the coverage origins: reaching both ends of the cost axis."""

from __future__ import annotations

import math

import pytest
import torch

from carbs.coverage import ORIGINS_PER_END, CostPlane, level_direction, origins_below
from carbs.observations import ObservationInBasic

INF = math.inf


def f64(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def runs(points: list[list[float]], log_cost: object) -> list[ObservationInBasic]:
    return [
        ObservationInBasic(f64(*p), 0.0, math.exp(log_cost(p)))  # type: ignore[operator]
        for p in points
    ]


def grid() -> list[list[float]]:
    return [[a, b, c] for a in (0.0, 0.5, 1.0) for b in (0.0, 0.3) for c in (-0.2, 0.2)]


def test_the_plane_recovers_a_log_linear_cost_and_needs_enough_runs() -> None:
    successes = runs(grid(), lambda p: 2.0 * p[0] + 1.0 * p[1] + 3.0)  # p[2] is free
    plane = CostPlane.fit(successes)
    assert plane is not None
    torch.testing.assert_close(plane.slope, f64(2.0, 1.0, 0.0), atol=1e-6, rtol=0)
    assert plane.intercept == pytest.approx(3.0)
    assert CostPlane.fit(successes[: 2 * 4 - 1]) is None  # fewer than 2 (d + 1)


def _with_overhead(overhead: float) -> list[ObservationInBasic]:
    """The grid's runs at ``overhead + exp(2 x0 + x1 + 3)`` (x2 does not drive cost)."""
    return [
        ObservationInBasic(f64(*p), 0.0, overhead + math.exp(2.0 * p[0] + p[1] + 3.0))
        for p in grid()
    ]


def test_the_plane_fits_a_fixed_cost_per_run_where_the_costs_show_one() -> None:
    successes = _with_overhead(20.0)  # runs cost 40 to 220: half the cheapest is start-up
    plane = CostPlane.fit(successes, is_overhead_fitted=True)
    assert plane is not None
    cheapest = min(o.cost for o in successes)
    assert plane.overhead == pytest.approx(20.0, abs=cheapest / 32)  # the grid's resolution
    torch.testing.assert_close(plane.slope, f64(2.0, 1.0, 0.0), atol=0.1, rtol=0)
    # Far down the plane the predicted cost is the overhead, never below it.
    far_down = plane.log_cost(f64(-50.0, -50.0, 0.0))
    assert float(far_down) == pytest.approx(math.log(plane.overhead), abs=1e-9)
    pure = CostPlane.fit(successes)  # the default: a plane in log cost, which goes on down
    assert pure is not None and pure.overhead == 0.0
    assert float(pure.log_cost(f64(-50.0, -50.0, 0.0))) < math.log(1.0)
    # A product of powers keeps a pure plane even when an overhead may be fitted.
    exact = CostPlane.fit(_with_overhead(0.0), is_overhead_fitted=True)
    assert exact is not None and exact.overhead == 0.0


def test_an_overhead_must_be_significant() -> None:
    # A log-linear cost with 5% multiplicative noise: some trial overhead always fits the
    # noise a little better (here one of 19% of the cheapest run's cost), but not
    # significantly.
    wiggle = [0.05 * math.sin(7.0 * i) for i in range(len(grid()))]
    noisy = [
        ObservationInBasic(f64(*p), 0.0, math.exp(2.0 * p[0] + p[1] + 3.0 + w))
        for p, w in zip(grid(), wiggle, strict=True)
    ]
    plane = CostPlane.fit(noisy, is_overhead_fitted=True)
    assert plane is not None and plane.overhead == 0.0
    # The same noise on top of a real overhead: the overhead is still found.
    with_overhead = [ObservationInBasic(o.real_number_input, 0.0, 30.0 + o.cost) for o in noisy]
    found = CostPlane.fit(with_overhead, is_overhead_fitted=True)
    assert found is not None and found.overhead == pytest.approx(30.0, rel=0.15)


def test_the_plane_is_significant_only_where_the_params_drive_cost() -> None:
    wiggle = [0.05 * math.sin(7.0 * i) for i in range(len(grid()))]
    # A product of powers (FLOPs), and the same with 5% noise: the params explain it.
    for noise in ([0.0] * len(grid()), wiggle):
        driven = [
            ObservationInBasic(f64(*p), 0.0, math.exp(2.0 * p[0] + p[1] + 3.0 + w))
            for p, w in zip(grid(), noise, strict=True)
        ]
        plane = CostPlane.fit(driven, is_overhead_fitted=True)
        assert plane is not None and plane.is_significant
    # A fixed time per run, exactly or with the same noise: the params explain nothing,
    # though least squares still gives the noise a slope.
    for noise in ([0.0] * len(grid()), wiggle):
        fixed = [
            ObservationInBasic(f64(*p), 0.0, math.exp(3.0 + w))
            for p, w in zip(grid(), noise, strict=True)
        ]
        plane = CostPlane.fit(fixed, is_overhead_fitted=True)
        assert plane is not None and not plane.is_significant
    assert float(CostPlane.fit(fixed).slope.abs().max()) > 0.01  # type: ignore[union-attr]
    # A weak real driver is significant once the runs show it beyond the noise: 0.2 per
    # unit of x0 is 0.1 across the grid, twice the noise.
    weak = [
        ObservationInBasic(f64(*p), 0.0, math.exp(0.2 * p[0] + 3.0 + 0.5 * w))
        for p, w in zip(grid(), wiggle, strict=True)
    ]
    plane = CostPlane.fit(weak)
    assert plane is not None and plane.is_significant


def test_the_ray_stops_at_the_overhead() -> None:
    plane = CostPlane(f64(2.0, 0.0), 0.0, overhead=math.exp(-1.0))
    start, lower, upper = f64(0.5, 0.3), f64(-5.0, 0.0), f64(5.0, 1.0)
    # The plane alone would reach log cost -10 at the bound; the overhead keeps it at -1.
    assert plane.cheapest_log_cost(start, lower, upper) == pytest.approx(-1.0, abs=1e-3)
    half, end = plane.points_at(start, lower, upper, f64(0.0, -3.0))
    assert float(plane.log_cost(half)) == pytest.approx(0.0, abs=1e-9)
    # log(exp(2 x0) + exp(-1)) = 0 at x0 = log(1 - exp(-1)) / 2.
    assert float(half[0]) == pytest.approx(math.log(1 - math.exp(-1.0)) / 2, abs=1e-9)
    assert float(end[0]) == pytest.approx(-5.0)  # a cost below the overhead: the ray's end


def test_the_ray_moves_params_in_proportion_to_their_effect_on_cost_and_stops_at_bounds() -> None:
    plane = CostPlane(f64(2.0, 1.0, 0.0), 3.0)
    start = f64(0.5, 0.5, 0.7)
    lower, upper = f64(0.0, -INF, 0.0), f64(1.0, INF, 1.0)
    down = plane.ray(start, lower, upper, f64(-0.5))[0]
    assert float(down[2]) == 0.7  # a param that does not drive cost stays put
    moved = start - down
    assert float(moved[0]) == pytest.approx(2 * float(moved[1]))
    far = plane.ray(start, lower, upper, f64(-1e6))[0]
    assert float(far[0]) == 0.0 and float(far[1]) == pytest.approx(0.5 - 10.0)  # bound, MAX_MOVE
    # The cheapest reachable cost: x0 at its bound, x1 moved as far as allowed.
    assert plane.cheapest_log_cost(start, lower, upper) == pytest.approx(3.0 - 9.5)
    # And the dearest: x0 at its upper bound (2 * 1), x1 moved MAX_MOVE up (0.5 + 10).
    assert plane.dearest_log_cost(start, lower, upper) == pytest.approx(3.0 + 2.0 + 10.5)


def test_points_at_land_on_the_asked_costs_or_at_the_end_of_the_ray() -> None:
    plane = CostPlane(f64(2.0, 0.0), 0.0)
    start, lower, upper = f64(0.5, 0.3), f64(0.0, 0.0), f64(1.0, 1.0)
    point, stopped, up = plane.points_at(start, lower, upper, f64(0.4, -5.0, 1.5))
    assert float(plane.log_cost(point)) == pytest.approx(0.4, abs=1e-9)
    assert float(point[1]) == 0.3
    assert float(stopped[0]) == pytest.approx(0.0, abs=1e-9)  # the bound stops it short
    assert float(plane.log_cost(up)) == pytest.approx(1.5, abs=1e-9)


def test_origins_below_span_the_gap_between_the_front_and_the_cheapest_legal_cost() -> None:
    plane = CostPlane(f64(1.0, 1.0), 0.0)
    lower, upper = f64(0.0, 0.0), f64(3.0, 3.0)
    cheapest = f64(1.0, 1.0)  # log cost 2; the cheapest legal cost is at (0, 0): log cost 0
    origins = origins_below(plane, cheapest, lower, upper)
    assert origins.shape == (ORIGINS_PER_END, 2)
    log_costs = plane.log_cost(origins).tolist()
    assert log_costs == pytest.approx([2 - 2 / 3, 2 - 4 / 3, 0.0], abs=1e-6)
    # A front that already reaches the cheapest legal cost needs none.
    assert origins_below(plane, f64(0.0, 0.0), lower, upper).shape == (0, 2)


def test_the_level_direction_trades_the_cost_params_that_add_least_and_no_others() -> None:
    # Cost rises with x0 and x1 alike; the model says x0 helps, x1 does not, and x2
    # (which does not drive cost) helps most. Down the level direction only x1 shrinks.
    slope = f64(1.0, 1.0, 0.0)
    direction = level_direction(slope, f64(1.0, 0.0, 5.0))
    assert direction is not None
    torch.testing.assert_close(direction, f64(0.0, 1.0, 0.0), atol=1e-12, rtol=0)
    # A partial trade: x1 helps half as much as x0, so going down x1 shrinks and x0
    # even grows (compute moves to where the model says it helps).
    mixed = level_direction(slope, f64(2.0, 1.0, 0.0))
    assert mixed is not None and float(mixed[1]) > 0 > float(mixed[0])
    assert float(slope @ mixed) > 0  # still a direction in which cost rises
    # No direction to trade along: the model flat, or helped by exactly what costs.
    assert level_direction(slope, f64(0.0, 0.0, 3.0)) is None
    assert level_direction(slope, f64(2.0, 2.0, 0.0)) is None


def test_origins_below_follow_a_given_direction_down_to_its_end() -> None:
    plane = CostPlane(f64(1.0, 1.0), 0.0)
    lower, upper = f64(0.0, 0.0), f64(3.0, 3.0)
    cheapest = f64(1.0, 1.0)
    origins = origins_below(plane, cheapest, lower, upper, f64(0.0, 1.0))
    assert origins.shape == (ORIGINS_PER_END, 2)
    assert origins[:, 0].tolist() == [1.0] * ORIGINS_PER_END  # x0 is kept
    # Along x1 alone the ray ends at x1 = 0: log cost 1, not the plane's cheapest 0.
    log_costs = plane.log_cost(origins).tolist()
    assert log_costs == pytest.approx([2 - 1 / 3, 2 - 2 / 3, 1.0], abs=1e-6)


def test_the_plane_is_the_same_to_the_last_bit_on_every_fit() -> None:
    """torch.linalg.lstsq gave last-bit differences from one call to the next (its result
    depends on memory alignment), which made two optimizers with the same seed diverge."""
    successes = runs(grid(), lambda p: 2.0 * p[0] + 1.0 * p[1] + 0.1 * p[2] + 3.0)
    first = CostPlane.fit(successes)
    assert first is not None
    for size in range(40):
        padding = [torch.empty(k) for k in range(size % 7)]  # shift where tensors land
        again = CostPlane.fit(successes)
        assert again is not None and padding is not None
        assert torch.equal(again.slope, first.slope) and again.intercept == first.intercept
