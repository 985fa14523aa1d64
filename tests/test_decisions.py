"""Which candidate wins, and why: every term of the acquisition decides something.

Each test here breaks if one term of the score is dropped, flipped or mis-wired:
the score function term by term, the three improvement-target modes, the
cost cap, the Pareto GP's values, the search centre, and the wiring of all of
them inside ``bayesian_choice`` (checked against a score computed here,
independently, on a model whose predictions are known).
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np
import pytest
import torch
from scipy.stats import norm

from carbs import CARBS, CARBSParams, InvalidObservationError, LinearSpace, LogSpace, Param
from carbs.acquisition import improvement_target, score_candidates, step_front_target
from carbs.candidates import CandidateSampler
from carbs.observations import ObservationInBasic, ObservationInParam
from carbs.pareto import ObservationGroup, group_observations, pareto_groups
from carbs.spaces import SearchSpace
from carbs.suggestions import bayesian_choice, target_for, threshold_cost
from carbs.surrogate.model import SurrogateModel, SurrogatePredictions


def f64(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def winner(**overrides: Any) -> int | None:
    """The winning index among candidates that differ only where ``overrides`` says."""
    m = max(len(v) for v in overrides.values() if isinstance(v, torch.Tensor))
    arguments: dict[str, Any] = {
        "surrogate_mean": torch.zeros(m, dtype=torch.float64),
        "surrogate_std": torch.ones(m, dtype=torch.float64),
        "target": torch.zeros(m, dtype=torch.float64),
        "exploration_bias": 0.0,
        "log_prior_density": torch.zeros(m, dtype=torch.float64),
        "success_probability": torch.ones(m, dtype=torch.float64),
        "predicted_cost": torch.ones(m, dtype=torch.float64),
        "max_cost": None,
    }
    arguments.update(overrides)
    return score_candidates(**arguments).best_index()


# -- the score, term by term ---------------------------------------------------------------------
def test_a_higher_predicted_output_wins() -> None:
    assert winner(surrogate_mean=f64(0.0, 0.5, -0.5)) == 1


def test_a_lower_target_wins_when_posteriors_are_equal() -> None:
    assert winner(target=f64(1.0, -1.0, 0.0)) == 1


def test_exploration_bias_favours_uncertain_candidates() -> None:
    # A: sure and slightly better; B: uncertain. Near the target the sure one wins;
    # raise the bar and only the uncertain one can still clear it.
    mean, std = f64(0.5, 0.0), f64(0.1, 1.0)
    assert winner(surrogate_mean=mean, surrogate_std=std, exploration_bias=0.0) == 0
    assert winner(surrogate_mean=mean, surrogate_std=std, exploration_bias=1.0) == 1


def test_prior_density_keeps_the_search_near_the_front() -> None:
    assert winner(log_prior_density=f64(-3.0, 0.0, -1.0)) == 1
    # It trades off against expected improvement: a small EI edge loses to a large
    # density edge, a large EI edge wins over a small density edge.
    assert winner(surrogate_mean=f64(0.1, 0.0), log_prior_density=f64(-2.0, 0.0)) == 1
    assert winner(surrogate_mean=f64(2.0, 0.0), log_prior_density=f64(-0.5, 0.0)) == 0


def test_success_probability_steers_away_from_failures() -> None:
    assert winner(success_probability=f64(0.2, 0.9, 0.5)) == 1
    assert winner(surrogate_mean=f64(0.2, 0.0), success_probability=f64(0.05, 1.0)) == 1


def test_candidates_at_or_above_the_cost_cap_never_win() -> None:
    mean, cost = f64(3.0, 2.0, 1.0), f64(10.0, 9.99, 1.0)
    assert winner(surrogate_mean=mean, predicted_cost=cost, max_cost=None) == 0
    assert winner(surrogate_mean=mean, predicted_cost=cost, max_cost=10.0) == 1
    assert winner(surrogate_mean=mean, predicted_cost=cost, max_cost=1.0) is None


def test_score_terms_are_reported_and_add_up() -> None:
    scores = score_candidates(
        surrogate_mean=f64(0.5),
        surrogate_std=f64(2.0),
        target=f64(0.25),
        exploration_bias=0.5,
        log_prior_density=f64(-1.5),
        success_probability=f64(0.25),
        predicted_cost=f64(3.0),
        max_cost=5.0,
    )
    z = (0.5 - 0.75) / 2.0
    expected_ei = math.log(2.0 * (norm.pdf(z) + z * norm.cdf(z)))
    assert float(scores.log_expected_improvement[0]) == pytest.approx(expected_ei, rel=1e-12)
    assert float(scores.total[0]) == pytest.approx(expected_ei - 1.5 + math.log(0.25), rel=1e-12)
    assert bool(scores.is_affordable[0])


# -- the improvement target ---------------------------------------------------------------------
def test_target_modes() -> None:
    pareto = f64(-1.0, 0.2, 1.5)
    torch.testing.assert_close(improvement_target(pareto), pareto)
    # The floor lifts only the values below it: cheap candidates must beat a dearer member.
    torch.testing.assert_close(improvement_target(pareto, floor=0.5), f64(0.5, 0.5, 1.5))
    torch.testing.assert_close(improvement_target(pareto, floor=0.5, constant=2.0), f64(2, 2, 2))


def test_threshold_cost_is_log_uniform_over_the_front_and_capped() -> None:
    front = [_group([0.0], 1.0, 10.0), _group([1.0], 2.0, 1000.0)]
    generator = torch.Generator().manual_seed(0)
    draws = [threshold_cost(CARBSParams(), front, generator) for _ in range(4000)]
    logs = np.log10(draws)
    assert logs.min() >= 1.0 and logs.max() <= 3.0
    assert np.histogram(logs, bins=4, range=(1, 3))[0].min() > 850  # about 1000 per bin
    capped = [threshold_cost(CARBSParams(max_suggestion_cost=100.0), front, generator)]
    assert 10.0 <= capped[0] <= 100.0
    below = threshold_cost(CARBSParams(max_suggestion_cost=1.0), front, generator)
    assert below == pytest.approx(10.0)  # a cap below the front: its cheapest member


def _group(x: list[float], output: float, cost: float) -> ObservationGroup:
    return ObservationGroup(torch.tensor(x, dtype=torch.float64), (output,), (cost,))


def _fitted() -> tuple[SurrogateModel, list[ObservationGroup]]:
    generator = torch.Generator().manual_seed(5)
    x = torch.rand(30, 2, generator=generator, dtype=torch.float64) * 2 - 1
    observations = [
        ObservationInBasic(xi, float(xi[0] + 0.3 * xi[1] ** 2), float(math.exp(2 * xi[0])))
        for xi in x
    ]
    front = pareto_groups(group_observations(observations), 0.2, 1, True)
    model = SurrogateModel(better_direction_sign=1, lengthscale=0.3, generator=generator)
    model.fit(observations, [], front)
    return model, front


def test_target_for_each_config_mode() -> None:
    model, front = _fitted()
    pareto = torch.linspace(-2.0, 2.0, 9, dtype=torch.float64)
    costs = torch.ones_like(pareto)
    always = target_for(
        CARBSParams(is_expected_improvement_value_always_max=True),
        model,
        front,
        pareto,
        None,
        costs,
    )
    best = model.output_to_surrogate(front[-1].mean_output)
    torch.testing.assert_close(always, torch.full_like(pareto, best))
    plain = CARBSParams(is_expected_improvement_pareto_value_clamped=False)
    torch.testing.assert_close(target_for(plain, model, front, pareto, None, costs), pareto)
    generator = torch.Generator().manual_seed(9)
    clamped = target_for(CARBSParams(), model, front, pareto, generator, costs)
    floor = model.pareto_surrogate_at_cost(
        threshold_cost(CARBSParams(), front, torch.Generator().manual_seed(9))
    )
    torch.testing.assert_close(clamped, pareto.clamp_min(floor))
    assert (clamped >= pareto).all() and bool((clamped > pareto).any())


def test_pareto_gp_follows_the_front() -> None:
    model, front = _fitted()
    values = np.array([model.pareto_surrogate_at_cost(g.mean_cost) for g in front])
    observed = np.array([model.output_to_surrogate(g.mean_output) for g in front])
    assert len(front) >= 10
    assert np.abs(values - observed).mean() < 0.15  # a smooth fit through the members
    assert np.all(np.diff(values) > -0.05)  # the front's value rises with cost


# -- the wiring inside bayesian_choice, against a score computed here ---------------------------
@attrs.define
class KnownModel:
    """Predictions that are fixed functions of the candidate points."""

    floor: float = 0.3

    def predict(self, points: torch.Tensor) -> SurrogatePredictions:
        x0, x1 = points[:, 0], points[:, 1]
        mean = torch.sin(3 * x0) + 0.5 * torch.cos(2 * x1)
        return SurrogatePredictions(
            surrogate_mean=mean,
            surrogate_std=0.3 + 0.5 * torch.sigmoid(4 * x1),
            output_mean=mean,
            output_std=torch.ones_like(mean),
            cost=torch.exp(2 * x0 + x1),
            success_probability=torch.sigmoid(3 * x1 - x0),
            pareto_surrogate=0.8 * torch.sin(2 * x0 + x1),
        )

    def pareto_surrogate_at_cost(self, cost: float) -> float:
        return self.floor

    def output_to_surrogate(self, output: float) -> float:
        return output


def _expected_totals(
    predictions: SurrogatePredictions,
    density: torch.Tensor,
    floor: float,
    bias: float,
    max_cost: float | None,
    drop: str = "",
) -> np.ndarray:
    """The score of DESIGN 2.7 in numpy; ``drop`` removes or breaks one term."""
    pareto = predictions.pareto_surrogate.numpy()
    target = np.minimum(pareto, floor) if drop == "clamp reversed" else np.maximum(pareto, floor)
    mean, std = predictions.surrogate_mean.numpy(), predictions.surrogate_std.numpy()
    z = (mean - target - (0.0 if drop == "bias" else bias)) / std
    total = np.log(std * (norm.pdf(z) + z * norm.cdf(z)))
    if drop != "prior":
        total = total + density.numpy()
    if drop != "success":
        total = total + np.log(predictions.success_probability.numpy())
    if max_cost is not None and drop != "cost cap":
        total = np.where(predictions.cost.numpy() < max_cost, total, -np.inf)
    return total


TERMS = ("clamp reversed", "bias", "prior", "success", "cost cap")


def test_bayesian_choice_wins_by_the_full_score_and_every_term_matters() -> None:
    space = SearchSpace([Param(f"x{i}", LinearSpace(min=-2, max=2), 0.0) for i in range(2)])
    sampler = CandidateSampler(space, radius=0.5)
    front = [_group([-0.5, 0.0], 0.0, 1.0), _group([0.5, 0.2], 1.0, 4.0)]
    origins = torch.stack([g.input_in_basic for g in front])
    model = KnownModel()
    decisive: set[str] = set()
    for seed in (11, 12, 13):
        drawn = sampler.sample(origins, 200, torch.Generator().manual_seed(seed))
        predictions = model.predict(drawn.points)
        density = drawn.log_prior_density
        for bias in (0.5, 1.0, 3.0):
            uncapped = _expected_totals(predictions, density, model.floor, bias, None)
            # A cap that excludes the uncapped winner.
            max_cost = float(predictions.cost[int(np.argmax(uncapped))])
            config = CARBSParams(
                num_candidates_for_suggestion_per_dim=100,
                max_suggestion_cost=max_cost,
                exploration_bias=bias,
            )
            generator = torch.Generator().manual_seed(seed)
            choice = bayesian_choice(config, sampler, front, model, generator, 1)  # type: ignore[arg-type]
            full = _expected_totals(predictions, density, model.floor, bias, max_cost)
            expected = int(np.argmax(full))
            torch.testing.assert_close(choice.point, drawn.points[expected])
            assert choice.log["acquisition_log_score"] == pytest.approx(full[expected], rel=1e-9)
            for term in TERMS:
                broken = _expected_totals(predictions, density, model.floor, bias, max_cost, term)
                if int(np.argmax(broken)) != expected:
                    decisive.add(term)
    # The cases make every term decisive somewhere: drop or flip any one of them in
    # bayesian_choice and some case above picks another candidate.
    assert decisive == set(TERMS)


def test_when_every_candidate_is_above_the_cap_the_cheapest_is_suggested() -> None:
    space = SearchSpace([Param(f"x{i}", LinearSpace(min=-2, max=2), 0.0) for i in range(2)])
    sampler = CandidateSampler(space, radius=0.5)
    front = [_group([-0.5, 0.0], 0.0, 1.0), _group([0.5, 0.2], 1.0, 4.0)]
    config = CARBSParams(num_candidates_for_suggestion_per_dim=100, max_suggestion_cost=1e-9)
    choice = bayesian_choice(
        config, sampler, front, KnownModel(), torch.Generator().manual_seed(2), 1
    )  # type: ignore[arg-type]
    drawn = sampler.sample(
        torch.stack([g.input_in_basic for g in front]), 200, torch.Generator().manual_seed(2)
    )
    cheapest = int(torch.argmin(KnownModel().predict(drawn.points).cost))
    torch.testing.assert_close(choice.point, drawn.points[cheapest])
    assert "max_suggestion_cost" in choice.log["warning"]


# -- the search centre ---------------------------------------------------------------------------
def test_set_search_center_moves_the_warm_up_draws() -> None:
    params = [
        Param("lr", LogSpace(min=1e-6, max=1.0), search_center=1e-3),
        Param("x", LinearSpace(min=-10, max=10), search_center=0.0),
    ]
    carbs = CARBS(CARBSParams(num_random_samples=1000, seed=3), params)
    carbs.set_search_center({"lr": 1e-5, "x": 7.0})
    draws = [carbs.suggest(is_suggestion_remembered=False).suggestion for _ in range(200)]
    assert np.median([math.log10(d["lr"]) for d in draws]) == pytest.approx(-5.0, abs=0.1)
    assert np.median([d["x"] for d in draws]) == pytest.approx(7.0, abs=0.1)
    center = carbs.search_center_in_basic
    with pytest.raises(InvalidObservationError, match="x"):
        carbs.set_search_center({"lr": 1e-5, "x": 70.0})
    assert torch.equal(carbs.search_center_in_basic, center)


def test_initialize_from_observations_centres_on_the_best_run() -> None:
    params = [Param("x", LinearSpace(min=-10, max=10), search_center=0.0)]
    carbs = CARBS(CARBSParams(better_direction_sign=-1), params)
    carbs.initialize_from_observations(
        [ObservationInParam({"x": x}, output, 1.0) for x, output in ((2.0, 3.0), (5.0, 1.0))]
    )
    assert float(carbs.search_center_in_basic[0]) == 5.0  # the lower output: minimising


# -- the observed front as the target (improvement at the candidate's own cost) ----------------
def test_step_front_target_is_the_best_member_at_that_cost_or_less() -> None:
    costs, values = f64(10.0, 1.0, 100.0), f64(0.5, -1.0, 1.5)  # any order
    at = f64(0.5, 1.0, 5.0, 10.0, 50.0, 1e6)
    torch.testing.assert_close(
        step_front_target(costs, values, at, below_front=-2.0),
        f64(-2.0, -1.0, -1.0, 0.5, 0.5, 1.5),
    )
    # Above the dearest member the target stays the best value: no extrapolation.
    assert float(step_front_target(costs, values, f64(1e12), -2.0)[0]) == 1.5


def _observed_front_winner(
    mean: torch.Tensor, cost: torch.Tensor, std: torch.Tensor | None = None
) -> int | None:
    """Winner under the observed-front target, front members at costs 1, 10, 100."""
    target = step_front_target(f64(1.0, 10.0, 100.0), f64(-1.0, 0.0, 1.0), cost, -2.0)
    return winner(
        surrogate_mean=mean,
        surrogate_std=torch.full_like(mean, 0.3) if std is None else std,
        target=target,
        exploration_bias=0.5,
        predicted_cost=cost,
    )


def test_a_run_cheaper_than_any_beats_one_that_merely_matches_the_front() -> None:
    # A: below the cheapest member, predicted worse than that member; B: matches the front.
    assert _observed_front_winner(mean=f64(-1.5, 0.0), cost=f64(0.1, 10.0)) == 0


def test_a_run_dearer_than_any_is_judged_against_the_best_not_an_extrapolation() -> None:
    # Above the dearest member a small predicted gain over the best still wins over the same
    # gain in the middle of the front: the target is the best member, not more.
    assert _observed_front_winner(mean=f64(1.25, 0.2), cost=f64(1e4, 10.0)) == 0
    assert _observed_front_winner(mean=f64(0.9, 0.2), cost=f64(1e4, 10.0)) == 1
