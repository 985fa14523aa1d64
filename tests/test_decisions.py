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
from carbs.acquisition import improvement_target, score_candidates
from carbs.candidates import CandidateSampler
from carbs.coverage import ORIGINS_PER_END, search_origins
from carbs.observations import ObservationInBasic, ObservationInParam
from carbs.pareto import ObservationGroup, group_observations, pareto_groups
from carbs.spaces import SearchSpace
from carbs.suggestions import (
    acquisition_terms,
    bayesian_choice,
    budget_terms,
    threshold_cost,
)
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


def test_a_budget_never_falls_below_the_front_by_rounding() -> None:
    """``exp(log(5.0))`` is ``4.999999999999999``: a front of one cost (one member, or
    members that cost the same) once gave a budget a hair below its cheapest member, and
    the candidates were then judged by the rule for budgets below the front (against
    the worst run). Such costs are common: about 38% of the multiples of 0.1."""
    assert math.exp(math.log(5.0)) < 5.0
    for cost in (3.3, 3.6, 5.0, 6.5, 7.0):
        front = [_group([0.0], 1.0, cost)]
        generator = torch.Generator().manual_seed(0)
        draws = [threshold_cost(CARBSParams(), front, generator) for _ in range(20)]
        assert draws == [cost] * 20
        # A cap below the front or a floor equal to it leaves the same budget.
        capped = threshold_cost(CARBSParams(max_suggestion_cost=1.0), front, generator)
        assert capped == cost
        assert threshold_cost(CARBSParams(), front, generator, low_cost=cost) == cost
    wide = [_group([0.0], 1.0, 5.0), _group([1.0], 2.0, 7.0)]
    generator = torch.Generator().manual_seed(0)
    draws = [threshold_cost(CARBSParams(), wide, generator, high_cost=7.0) for _ in range(500)]
    assert min(draws) >= 5.0 and max(draws) <= 7.0


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


def test_acquisition_terms_in_each_config_mode() -> None:
    model, front = _fitted()
    pareto = torch.linspace(-2.0, 2.0, 9, dtype=torch.float64)
    predictions = attrs.evolve(_predictions([1.0] * 9, [0.0] * 9), pareto_surrogate=pareto)
    always_max = CARBSParams(is_expected_improvement_value_always_max=True)
    always, _ = acquisition_terms(always_max, model, front, predictions, None, None)  # type: ignore[arg-type]
    best = model.output_to_surrogate(front[-1].mean_output)
    torch.testing.assert_close(always, torch.full_like(pareto, best))
    plain = CARBSParams(is_expected_improvement_pareto_value_clamped=False)
    own, _ = acquisition_terms(plain, model, front, predictions, None, None)  # type: ignore[arg-type]
    torch.testing.assert_close(own, pareto)
    clamped, term = acquisition_terms(
        CARBSParams(), model, front, predictions, torch.Generator().manual_seed(9), None
    )
    budget = threshold_cost(CARBSParams(), front, torch.Generator().manual_seed(9))
    floor = model.pareto_surrogate_at_cost(budget)
    assert term is None  # without a floor cost the budget never falls below the front
    torch.testing.assert_close(clamped, pareto.clamp_min(floor))
    assert (clamped >= pareto).all() and bool((clamped > pareto).any())


def test_budgets_reach_below_the_front_only_with_a_floor_cost() -> None:
    front = [_group([0.0], 1.0, 10.0), _group([1.0], 2.0, 1000.0)]
    generator = torch.Generator().manual_seed(0)
    draws = [threshold_cost(CARBSParams(), front, generator, low_cost=0.1) for _ in range(2000)]
    below = np.mean([d < 10.0 for d in draws])
    assert below == pytest.approx(2 / 4, abs=0.05)  # 2 of the 4 decades lie below the front
    assert min(draws) >= 0.1


def test_budgets_reach_above_the_front_only_with_a_ceiling_cost() -> None:
    front = [_group([0.0], 1.0, 10.0), _group([1.0], 2.0, 1000.0)]
    generator = torch.Generator().manual_seed(0)
    draws = [threshold_cost(CARBSParams(), front, generator, high_cost=1e5) for _ in range(2000)]
    above = np.mean([d > 1000.0 for d in draws])
    assert above == pytest.approx(2 / 4, abs=0.05)  # 2 of the 4 decades lie above the front
    assert max(draws) <= 1e5
    capped = CARBSParams(max_suggestion_cost=1e4)
    assert max(threshold_cost(capped, front, generator, high_cost=1e5) for _ in range(200)) <= 1e4
    # A ceiling inside the front changes nothing: budgets still reach its dearest member.
    inside = [threshold_cost(CARBSParams(), front, generator, high_cost=100.0) for _ in range(500)]
    assert max(inside) > 500.0


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
    worst_success_surrogate: float = -2.0

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

    def log_probability_below_cost(self, points: torch.Tensor, max_cost: float) -> torch.Tensor:
        # log cost ~ N(2 x0 + x1, sd): the mean of predict().cost, wider where x1 is larger
        x0, x1 = points[:, 0], points[:, 1]
        sd = 0.1 + 2.0 * torch.sigmoid(4 * x1)
        return torch.special.log_ndtr((math.log(max_cost) - (2 * x0 + x1)) / sd)

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


def test_when_every_candidate_is_above_the_cap_the_likeliest_below_it_is_suggested() -> None:
    # The cheapest predicted candidate was suggested: where the cost model has seen one
    # choice only (every run above the cap), it predicts that cost for every choice, and
    # the search stayed above the cap for good. The cost model's uncertainty decides.
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
    likeliest = int(torch.argmax(KnownModel().log_probability_below_cost(drawn.points, 1e-9)))
    cheapest = int(torch.argmin(KnownModel().predict(drawn.points).cost))
    assert likeliest != cheapest
    torch.testing.assert_close(choice.point, drawn.points[likeliest])
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


def test_pareto_gp_is_read_inside_the_front_only() -> None:
    """As in the release, the front's value beyond its dearest (cheapest) member is the value
    there: a candidate predicted at 100x the dearest cost is not asked to beat a linear
    extrapolation of the front."""
    model, front = _fitted()
    cheapest, dearest = front[0].mean_cost, front[-1].mean_cost
    at_dearest = model.pareto_surrogate_at_cost(dearest)
    for factor in (10.0, 100.0, 1e4):
        assert model.pareto_surrogate_at_cost(dearest * factor) == pytest.approx(at_dearest)
    assert model.pareto_surrogate_at_cost(cheapest / 100) == pytest.approx(
        model.pareto_surrogate_at_cost(cheapest)
    )
    predicted = model.predict(torch.tensor([[3.0, 0.0]], dtype=torch.float64))  # far above
    assert float(predicted.cost[0]) > dearest
    assert float(predicted.pareto_surrogate[0]) == pytest.approx(at_dearest)


# -- the whole cost axis: budgets below the front --------------------------------------------------
def _predictions(costs: list[float], means: list[float]) -> SurrogatePredictions:
    mean = f64(*means)
    return SurrogatePredictions(
        surrogate_mean=mean,
        surrogate_std=torch.ones_like(mean),
        output_mean=mean,
        output_std=torch.ones_like(mean),
        cost=f64(*costs),
        success_probability=torch.ones_like(mean),
        pareto_surrogate=torch.zeros_like(mean),
    )


def test_without_a_reference_every_affordable_success_below_the_front_counts_the_same() -> None:
    """The rule before format 8 (``is_below_front_scored=False``)."""
    model, front = _fitted()
    cheapest = front[0].mean_cost
    predictions = _predictions([cheapest / 100, cheapest / 5, cheapest * 2], [-3.0, -2.0, 2.0])
    target, log_improvement = budget_terms(model, front, predictions, budget=cheapest / 10)
    assert log_improvement is not None
    assert log_improvement.tolist() == [0.0, -math.inf, -math.inf]  # only the affordable one
    assert bool(torch.isinf(target).all())  # nothing is known there: no finite target


def test_below_the_front_the_affordable_candidate_expected_to_be_better_wins() -> None:
    """With a reference (the worst run, surrogate space), each affordable candidate is
    scored by its expected improvement over the reference plus the bias: better
    predicted wins at equal width, a wide posterior beats a narrow one at equal mean,
    and a dearer candidate gets nothing, however good."""
    model, front = _fitted()
    cheapest = front[0].mean_cost
    budget = cheapest / 10
    predictions = attrs.evolve(
        _predictions(
            [cheapest / 100, cheapest / 50, cheapest / 20, cheapest * 2], [-1.0, 0.5, 0.5, 3.0]
        ),
        surrogate_std=f64(0.2, 0.2, 0.6, 0.2),
    )
    reference, bias = -2.0, 1.0
    target, log_improvement = budget_terms(
        model, front, predictions, budget, reference=reference, exploration_bias=bias
    )
    assert log_improvement is not None
    expected = [
        math.log(norm.pdf(z) * s + (m - reference - bias) * norm.cdf(z))
        for m, s in ((-1.0, 0.2), (0.5, 0.2), (0.5, 0.6))
        for z in [(m - reference - bias) / s]
    ]
    assert log_improvement[:3].tolist() == pytest.approx(expected, rel=1e-9)
    assert float(log_improvement[3]) == -math.inf  # predicted above the budget
    assert int(torch.argmax(log_improvement)) == 2  # as good as #1 on average, but wider
    assert float(log_improvement[1]) > float(log_improvement[0])  # better predicted
    assert target.tolist() == [reference] * 4
    # Without the bias the target is lower and every improvement larger.
    _, unbiased = budget_terms(model, front, predictions, budget, reference=reference)
    assert unbiased is not None and bool((unbiased[:3] > log_improvement[:3]).all())


def test_the_config_scores_candidates_below_the_front_against_the_worst_run() -> None:
    """acquisition_terms hands budget_terms the worst success (surrogate space) and the
    exploration bias when ``is_below_front_scored`` is on, and no reference when off."""
    model, front = _fitted()
    worst = min(model.output_to_surrogate(o) for g in front for o in g.outputs)
    assert model.worst_success_surrogate < worst  # the worst run is not on the front
    floor = front[0].mean_cost / 1e9  # budgets fall below the front on nearly every draw
    cheap = front[0].mean_cost / 1e10
    predictions = _predictions([cheap, cheap, front[-1].mean_cost], [-1.0, 1.0, 1.0])
    for seed in range(5):
        scored = CARBSParams(exploration_bias=0.5)
        target, term = acquisition_terms(
            scored, model, front, predictions, torch.Generator().manual_seed(seed), floor
        )
        budget = threshold_cost(scored, front, torch.Generator().manual_seed(seed), floor)
        if budget >= front[0].mean_cost:  # a budget inside the front: draw again
            continue
        assert term is not None
        _, expected = budget_terms(
            model,
            front,
            predictions,
            budget,
            reference=model.worst_success_surrogate,
            exploration_bias=0.5,
        )
        torch.testing.assert_close(term, expected)
        assert target.tolist() == [model.worst_success_surrogate] * 3
        off = CARBSParams(exploration_bias=0.5, is_below_front_scored=False)
        _, flat = acquisition_terms(
            off, model, front, predictions, torch.Generator().manual_seed(seed), floor
        )
        assert flat is not None and flat.tolist() == [0.0, 0.0, -math.inf]
        return
    pytest.fail("no draw fell below the front")


def test_below_the_front_with_nothing_affordable_the_nearest_to_the_budget_wins() -> None:
    model, front = _fitted()
    budget = front[0].mean_cost / 1000
    predictions = _predictions([budget * 30, budget * 3, budget * 300], [0.0, 0.0, 0.0])
    _, log_improvement = budget_terms(model, front, predictions, budget=budget)
    assert log_improvement is not None
    assert int(torch.argmax(log_improvement)) == 1
    assert float(log_improvement[1]) == pytest.approx(-math.log(3.0))


def test_below_the_front_with_nothing_affordable_the_cost_plane_ranks_the_candidates() -> None:
    """The GP predicts every candidate dearer than the budget, the nearest data point
    cheapest (it reverts to the data away from them); the plane, which extrapolates,
    says which candidates are cheap: they tie at 0 and the rest fall short."""
    model, front = _fitted()
    budget = front[0].mean_cost / 1000
    predictions = _predictions([budget * 30, budget * 3, budget * 300], [0.0, 0.0, 0.0])
    plane = torch.log(f64(budget / 2, budget * 10, budget))
    _, log_improvement = budget_terms(model, front, predictions, budget, plane)
    assert log_improvement is not None
    torch.testing.assert_close(log_improvement, f64(0.0, -math.log(10.0), 0.0))
    assert int(torch.argmax(log_improvement)) != 1  # the GP's cheapest is the plane's dearest
    # When some candidate is predicted affordable, the GP decides and the plane is unused.
    affordable = _predictions([budget / 2, budget * 3, budget * 300], [0.0, 0.0, 0.0])
    _, log_improvement = budget_terms(model, front, affordable, budget, plane)
    assert log_improvement is not None
    assert log_improvement.tolist() == [0.0, -math.inf, -math.inf]


def test_at_a_budget_the_front_covers_the_release_rule_applies() -> None:
    model, front = _fitted()
    budget = front[len(front) // 2].mean_cost
    predictions = _predictions([front[0].mean_cost, front[-1].mean_cost], [0.0, 0.0])
    predictions = attrs.evolve(predictions, pareto_surrogate=f64(-5.0, 5.0))
    target, log_improvement = budget_terms(model, front, predictions, budget=budget)
    assert log_improvement is None
    floor = model.pareto_surrogate_at_cost(budget)
    torch.testing.assert_close(target, f64(floor, 5.0))  # the cheap one must beat the budget's


def _problem_params(center: float) -> list[Param]:
    return [
        Param("size", LogSpace(min=1.0, max=1e6), search_center=center),
        Param("steps", LogSpace(min=1.0, max=1e6), search_center=center),
        Param("lr", LogSpace(min=1e-5, max=1.0), search_center=1e-3),
    ]


def _mid_range_runs() -> tuple[SearchSpace, list[ObservationInBasic], list[ObservationGroup]]:
    """12 runs around size = steps = 1e3..1e4 (cost = size * steps) and their front."""
    space = SearchSpace(_problem_params(1e3))
    points = torch.rand(12, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    successes = [
        ObservationInBasic(p + f64(3.0, 3.0, -3.0), 0.0, float(10 ** (p[0] + p[1] + 6)))
        for p in points
    ]
    return space, successes, pareto_groups(group_observations(successes), 0.2, -1, True)


def test_over_the_whole_cost_axis_origins_reach_below_the_front() -> None:
    space, successes, front = _mid_range_runs()
    whole = search_origins(CARBSParams(), space, front, successes)
    assert whole.points.shape[0] == len(front) + ORIGINS_PER_END
    assert whole.floor_cost == pytest.approx(1.0, rel=1e-4)  # size = steps = 1: cost 1
    assert whole.plane is not None
    release = CARBSParams(improvement_target="RELEASE")
    only_front = search_origins(release, space, front, successes)
    assert only_front.points.shape[0] == len(front) and only_front.floor_cost is None


def test_a_cheapest_legal_cost_below_the_smallest_float_still_gives_positive_budgets() -> None:
    # log(cost) = 80 x on an unbounded param: the ray's cheap end, 10 units below the runs,
    # predicts exp(-800), which is 0.0 as a float; the floor must stay positive, or drawing
    # a budget takes log(0) and suggest() fails.
    space = SearchSpace([Param("x", LinearSpace(), 0.0), Param("y", LinearSpace(), 0.0)])
    points = torch.rand(12, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    successes = [ObservationInBasic(p, float(p[1]), math.exp(80 * float(p[0]))) for p in points]
    front = pareto_groups(group_observations(successes), 0.2, -1, True)
    search = search_origins(CARBSParams(), space, front, successes)
    assert search.floor_cost is not None and 0.0 < search.floor_cost < front[0].mean_cost
    generator = torch.Generator().manual_seed(1)
    floor = search.floor_cost
    budgets = [threshold_cost(CARBSParams(), front, generator, floor) for _ in range(50)]
    assert all(0.0 < b <= front[-1].mean_cost for b in budgets)


def test_budgets_and_origins_stop_at_a_fixed_cost_per_run() -> None:
    # Every run pays 1e5 for start-up on top of size * steps: the cheapest legal run
    # (size = steps = 1) costs 1e5 + 1, not the 1 a plane in log cost predicts.
    space, successes, _ = _mid_range_runs()
    with_overhead = [
        ObservationInBasic(o.real_number_input, o.output, 1e5 + o.cost) for o in successes
    ]
    front = pareto_groups(group_observations(with_overhead), 0.2, -1, True)
    search = search_origins(CARBSParams(), space, front, with_overhead)
    assert search.plane is not None and search.plane.overhead > 0.9e5
    assert search.floor_cost is not None and search.floor_cost >= search.plane.overhead
    below = search.points[len(front) :]
    assert bool((torch.exp(search.plane.log_cost(below)) > search.plane.overhead).all())
    # Without the overhead the floor is the plane's, far below any run that can be made,
    # and budgets would be drawn there.
    pure = search_origins(CARBSParams(is_cost_overhead_fitted=False), space, front, with_overhead)
    assert pure.plane is not None and pure.plane.overhead == 0.0
    assert pure.floor_cost is not None and pure.floor_cost < 1e4


def test_costs_the_params_do_not_drive_keep_budgets_and_origins_within_the_front() -> None:
    # A fixed time per run with 5% noise: least squares gives the noise a slope, and a
    # plane taken at its word would put a floor (and a ceiling) where no run could go.
    space, mid_range, _ = _mid_range_runs()
    costs = [600 * math.exp(0.05 * math.sin(7.0 * i)) for i in range(len(mid_range))]
    successes = [
        ObservationInBasic(o.real_number_input, float(o.real_number_input[2]), cost)
        for o, cost in zip(mid_range, costs, strict=True)
    ]
    front = pareto_groups(group_observations(successes), 0.2, -1, True)
    capped = CARBSParams(max_suggestion_cost=1e4)
    search = search_origins(capped, space, front, successes)
    assert search.plane is None and search.floor_cost is None and search.ceiling_cost is None
    assert search.points.shape[0] == len(front)
    untested = search_origins(
        CARBSParams(max_suggestion_cost=1e4, is_cost_plane_tested=False), space, front, successes
    )
    assert untested.plane is not None and not untested.plane.is_significant
    assert untested.floor_cost is not None and untested.floor_cost < front[0].mean_cost
    assert untested.ceiling_cost is not None and untested.ceiling_cost > front[-1].mean_cost


def test_with_one_cost_for_every_run_candidates_are_judged_against_the_front() -> None:
    """Every run costs 5 (``exp(log(5)) < 5``, and the plane's ridge puts its floor a hair
    below 5): no budget may fall below the front, or every candidate would be judged
    against the worst run, and the search would stay where it started."""
    params = [
        Param("x", LinearSpace(min=-3.0, max=3.0), search_center=0.0),
        Param("y", LinearSpace(min=-3.0, max=3.0), search_center=0.0),
    ]

    def target_of_next(config: CARBSParams) -> tuple[float, float]:
        carbs = CARBS(config, params)
        for _ in range(12):
            out = carbs.suggest()
            x, y = out.params["x"], out.params["y"]
            loss = (x - 1.0) ** 2 + (y + 0.5) ** 2
            carbs.observe(ObservationInParam(input=out.suggestion, output=loss, cost=5.0))
        log = carbs.suggest().log
        assert log["suggestion_type"] == "bayesian"
        return log["improvement_target"], log["pareto_surrogate"]

    target, front_value = target_of_next(CARBSParams(better_direction_sign=-1, seed=3))
    assert target == pytest.approx(front_value)  # the front's value: a run must beat the best
    assert target > 1.0
    untested = CARBSParams(better_direction_sign=-1, seed=3, is_cost_plane_tested=False)
    worst_target, _ = target_of_next(untested)
    assert worst_target < -1.0  # the worst run's value: any run at all would do


def test_with_counted_runs_the_front_follows_the_best_run_after_a_resample() -> None:
    params = [
        Param("lr", LogSpace(scale=0.5, min=1e-5, max=1.0), search_center=1e-3),
        Param("width", LogSpace(is_integer=True, min=4, max=1024), search_center=64),
    ]

    def front_and_best(config: CARBSParams) -> tuple[float, float]:
        carbs = CARBS(config, params)
        for _ in range(16):
            out = carbs.suggest()
            lr, width = out.params["lr"], out.params["width"]
            loss = (math.log10(lr) + 2.5) ** 2 + 3.0 / math.log2(width)
            carbs.observe(ObservationInParam(input=out.suggestion, output=loss, cost=1.0))
        assert carbs.resample_count >= 1
        (member,) = carbs.get_pareto_groups()  # one cost: one member
        return member.mean_output, carbs.best().output

    front, best = front_and_best(CARBSParams(better_direction_sign=-1, seed=5))
    assert front == best
    old_rule = CARBSParams(better_direction_sign=-1, seed=5, is_pareto_bucket_challenged=False)
    stuck, best = front_and_best(old_rule)
    assert stuck > best + 0.05  # the resampled run, long since beaten


class _GradientOnly:
    """A stand-in for the fitted model: the performance gradient is all search_origins asks."""

    def __init__(self, gradient: torch.Tensor) -> None:
        self.gradient = gradient

    def performance_gradient(self, point: torch.Tensor) -> torch.Tensor:
        return self.gradient


def test_origins_below_give_up_the_cost_param_the_model_values_least() -> None:
    space, successes, front = _mid_range_runs()
    cheapest = front[0].input_in_basic
    # The model: a bigger size helps, more steps do not, lr helps most (it drives no cost).
    model = _GradientOnly(f64(1.0, 0.0, 3.0))
    level = search_origins(CARBSParams(), space, front, successes, model).points[len(front) :]
    assert level.shape[0] == ORIGINS_PER_END
    kept = cheapest[[0, 2]].expand(ORIGINS_PER_END, 2)
    torch.testing.assert_close(level[:, [0, 2]], kept, atol=1e-6, rtol=0)  # size and lr kept
    assert bool((level[:, 1] < cheapest[1]).all())  # steps give way
    # Off, or without a model, the ray follows the plane: size and steps shrink together.
    off = CARBSParams(is_level_descent_below_front=False)
    for search in (
        search_origins(off, space, front, successes, model),
        search_origins(CARBSParams(), space, front, successes),
    ):
        slope_ray = search.points[len(front) :]
        assert bool((slope_ray[:, 0] < cheapest[0]).all())
        assert bool((slope_ray[:, 1] < cheapest[1]).all())


def test_budgets_reach_up_to_the_cap_or_the_dearest_legal_run_and_never_without_a_cap() -> None:
    space, successes, front = _mid_range_runs()
    # Nothing bounds a run's cost: budgets stop at the front's dearest member.
    assert search_origins(CARBSParams(), space, front, successes).ceiling_cost is None
    capped = search_origins(CARBSParams(max_suggestion_cost=1e9), space, front, successes)
    assert capped.ceiling_cost == pytest.approx(1e9)
    # A cap above every legal run: the dearest legal run, size = steps = 1e6, costs 1e12.
    loose = search_origins(CARBSParams(max_suggestion_cost=1e15), space, front, successes)
    assert loose.ceiling_cost == pytest.approx(1e12, rel=1e-4)
    release = CARBSParams(improvement_target="RELEASE", max_suggestion_cost=1e9)
    assert search_origins(release, space, front, successes).ceiling_cost is None


def _success_costs(config: CARBSParams, center: float, steps: int) -> list[float]:
    """Costs of a sweep's successes on a problem where bigger runs are better."""
    optimizer = CARBS(config, _problem_params(center))
    for _ in range(steps):
        out = optimizer.suggest()
        size, run_steps, lr = out.params["size"], out.params["steps"], out.params["lr"]
        loss = size**-0.3 + run_steps**-0.3 + 0.1 * math.log10(lr / 1e-3) ** 2
        optimizer.observe(ObservationInParam(out.suggestion, loss, cost=size * run_steps))
    return [o.cost for o in optimizer.success_observations]


def _lowest_cost(config: CARBSParams, steps: int) -> float:
    """Cheapest run of a sweep started mid-range."""
    return min(_success_costs(config, 1e3, steps))


def _dearest_cost(config: CARBSParams, steps: int) -> float:
    """Dearest run of a sweep started cheap."""
    return max(_success_costs(config, 10.0, steps))


@pytest.mark.parametrize("seed", [0, 1])
def test_with_a_cost_cap_budgets_above_the_front_make_it_climb_faster(seed: int) -> None:
    # The cap is the dearest legal run (size = steps = 1e6), so it excludes nothing:
    # only the budgets' reach above the front differs.
    settings: dict[str, Any] = {"better_direction_sign": -1, "seed": seed}
    settings["num_candidates_for_suggestion_per_dim"] = 30
    capped = _dearest_cost(CARBSParams(max_suggestion_cost=1e12, **settings), steps=16)
    uncapped = _dearest_cost(CARBSParams(**settings), steps=16)
    assert capped > 5 * uncapped


def test_a_sweep_started_mid_range_reaches_the_cheap_end() -> None:
    # The centre costs 1e6; the cheapest legal run costs 1.
    assert _lowest_cost(CARBSParams(better_direction_sign=-1, seed=0), 30) < 1e3
    release = CARBSParams(better_direction_sign=-1, seed=0, improvement_target="RELEASE")
    assert _lowest_cost(release, 30) > 1e4  # the release's rule never grows the front down


def test_failed_runs_pull_the_performance_model_down_where_they_failed() -> None:
    """Output rises with x up to 0, and every run above 0.5 fails. Without imputation
    the performance GP extrapolates the rise into the failing region (where expected
    improvement then beckons); with it, the failures sit at the worst success."""
    from carbs import ObservationInParam

    def sweep(is_imputed: bool) -> CARBS:
        config = CARBSParams(checkpoint_dir=None, seed=0, is_failure_output_imputed=is_imputed)
        carbs = CARBS(config, [Param("x", LinearSpace(scale=1.0), search_center=0.0)])
        for x in np.linspace(-1.0, 0.0, 6):
            carbs.observe(ObservationInParam({"x": float(x)}, float(x), 1.0))
        for x in np.linspace(0.6, 1.5, 6):
            carbs.observe(ObservationInParam({"x": float(x)}, math.nan, 1.0, is_failure=True))
        return carbs

    at_failure = {"x": 1.0}
    imputed = sweep(True).predict(at_failure).output_mean[0]
    ignored = sweep(False).predict(at_failure).output_mean[0]
    assert imputed < -0.5 < 0.0 < ignored
