"""Candidate draws around the front: the round search distribution and its cost stretch."""

from __future__ import annotations

import math

import pytest
import torch

from carbs import CARBS, CARBSParams, LinearSpace, LogSpace, ObservationInParam, Param
from carbs.candidates import CandidateSampler, Stretch, log_prior_density
from carbs.observations import ObservationInBasic
from carbs.pareto import group_observations, pareto_groups
from carbs.spaces import SearchSpace
from carbs.surrogate.model import SurrogateModel

RADIUS = 0.3


def _unbounded_sampler(dim: int) -> CandidateSampler:
    params = [Param(f"x{i}", LinearSpace(), search_center=0.0) for i in range(dim)]
    return CandidateSampler(SearchSpace(params), radius=RADIUS)


def test_stretched_draws_have_the_stated_covariance() -> None:
    sampler = _unbounded_sampler(3)
    direction = torch.tensor([[1.0, 1.0, 0.0]], dtype=torch.float64) / math.sqrt(2)
    origins = torch.zeros(1, 3, dtype=torch.float64)
    draws = sampler.sample(
        origins, 40_000, torch.Generator().manual_seed(0), Stretch(direction, 4.0)
    ).points

    along = draws @ direction[0]
    across = draws @ (torch.tensor([1.0, -1.0, 0.0], dtype=torch.float64) / math.sqrt(2))
    assert float(along.std()) == pytest.approx(4.0 * RADIUS, rel=0.03)
    assert float(across.std()) == pytest.approx(RADIUS, rel=0.03)
    assert float(draws[:, 2].std()) == pytest.approx(RADIUS, rel=0.03)
    assert abs(float((along * across).mean())) < 0.01


def test_factor_one_and_zero_directions_leave_the_round_distribution_unchanged() -> None:
    sampler = _unbounded_sampler(2)
    origins = torch.tensor([[0.0, 0.0], [1.0, -1.0]], dtype=torch.float64)
    round_draws = sampler.sample(origins, 50, torch.Generator().manual_seed(3))
    unit = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    for stretch in (Stretch(unit, 1.0), Stretch(torch.zeros(2, 2, dtype=torch.float64), 5.0)):
        draws = sampler.sample(origins, 50, torch.Generator().manual_seed(3), stretch)
        torch.testing.assert_close(draws.points, round_draws.points)
        torch.testing.assert_close(draws.log_prior_density, round_draws.log_prior_density)


def test_stretched_density_is_mahalanobis() -> None:
    origins = torch.zeros(1, 2, dtype=torch.float64)
    stretch = Stretch(torch.tensor([[0.0, 1.0]], dtype=torch.float64), 3.0)
    points = torch.tensor(
        [[0.0, 3 * RADIUS], [RADIUS, 0.0], [2 * RADIUS, 0.0]], dtype=torch.float64
    )
    density = log_prior_density(points, origins, RADIUS, stretch)
    # Three radii along the stretch weigh as much as one radius across it.
    assert float(density[0]) == pytest.approx(float(density[1]), abs=1e-12)
    assert float(density[2]) < float(density[1])
    # The nearest origin under its own stretch counts.
    two_origins = torch.tensor([[0.0, 0.0], [0.0, 10.0]], dtype=torch.float64)
    two = Stretch(torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64), 3.0)
    near_second = torch.tensor([[0.0, 10.0 - 3 * RADIUS]], dtype=torch.float64)
    assert float(log_prior_density(near_second, two_origins, RADIUS, two)[0]) == pytest.approx(
        float(density[0]), abs=1e-12
    )


def test_log_cost_directions_follow_the_cost_gradient() -> None:
    data = torch.Generator().manual_seed(1)
    x = torch.rand(20, 3, generator=data, dtype=torch.float64) * 2 - 1
    # Cost grows with x0 and falls with x2; x1 does not matter.
    successes = [
        ObservationInBasic(xi, float(xi[1] ** 2), float(math.exp(2 * xi[0] - xi[2]))) for xi in x
    ]
    front = pareto_groups(group_observations(successes), 0.2, 1, True)
    model = SurrogateModel(
        better_direction_sign=1, lengthscale=RADIUS, generator=torch.Generator().manual_seed(0)
    )
    model.fit(successes, [], front)

    directions = model.log_cost_directions(x[:5])
    expected = torch.tensor([2.0, 0.0, -1.0], dtype=torch.float64) / math.sqrt(5)
    torch.testing.assert_close(directions.norm(dim=-1), torch.ones(5, dtype=torch.float64))
    assert (directions @ expected > 0.95).all()


def _climb(factor: float, seed: int) -> float:
    """Most expensive run after 24 suggestions on a problem where bigger is better."""
    params = [
        Param("size", LogSpace(min=1, max=1e6), search_center=2.0),
        Param("lr", LogSpace(min=1e-5, max=1.0), search_center=1e-3),
    ]
    carbs = CARBS(
        CARBSParams(better_direction_sign=-1, seed=seed, cost_direction_radius_factor=factor),
        params,
    )
    for _ in range(24):
        suggestion = carbs.suggest().suggestion
        size, lr = suggestion["size"], suggestion["lr"]
        loss = size**-0.3 + 0.1 * math.log10(lr / 1e-3) ** 2
        carbs.observe(ObservationInParam(input=suggestion, output=loss, cost=size))
    return max(o.cost for o in carbs.success_observations)


def test_stretch_along_cost_climbs_the_cost_axis_faster() -> None:
    round_climb = sorted(_climb(1.0, seed) for seed in range(3))[1]
    stretched_climb = sorted(_climb(3.0, seed) for seed in range(3))[1]
    assert stretched_climb > 3 * round_climb
