"""Surrogate models: success classifier, output/cost transforms and pending fantasies."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from carbs.config import OutstandingSuggestionEstimatorEnum
from carbs.observations import ObservationInBasic
from carbs.pareto import group_observations, pareto_groups
from carbs.surrogate.gp import ExactRegressionGP, SuccessGP, fit_map, success_probability
from carbs.surrogate.model import SurrogateModel
from carbs.surrogate.transforms import LogCostTransform, QuantileNormalTransform


# -- success classifier ------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [1, 2])
def test_success_classifier_separates_regions(dim: int) -> None:
    generator = torch.Generator().manual_seed(dim)
    x = torch.rand(40, dim, generator=generator, dtype=torch.float64) * 2 - 1
    is_success = x[:, 0] < 0.3  # runs fail for x0 >= 0.3
    model = SuccessGP(x, is_success, lengthscale=0.3)
    fit_map(model, 60)

    grid = torch.zeros(201, dim, dtype=torch.float64)
    grid[:, 0] = torch.linspace(-1.5, 1.5, 201, dtype=torch.float64)
    if dim == 2:
        grid[:, 1] = torch.linspace(1, -1, 201, dtype=torch.float64)
    p = success_probability(model, grid)
    assert p.shape == (201,)
    assert ((p >= 0) & (p <= 1)).all()

    deep = torch.zeros(4, dim, dtype=torch.float64)
    deep[:, 0] = torch.tensor([-0.8, -0.4, 0.7, 0.9], dtype=torch.float64)
    p_deep = success_probability(model, deep)
    assert (p_deep[:2] > 0.8).all(), p_deep
    assert (p_deep[2:] < 0.2).all(), p_deep


def test_unidentified_lengthscales_stay_at_the_prior_median() -> None:
    # With one observation the likelihood does not depend on the lengthscales, so the
    # fit is the prior's peak. Over log lengthscale that is the median (the search
    # radius); over the lengthscale itself it would be exp(-1.5^2) ~ 0.1 of it.
    x = torch.tensor([[0.2, -0.4, 0.1]], dtype=torch.float64)
    model = ExactRegressionGP(x, torch.tensor([0.7], dtype=torch.float64), lengthscale=0.3)
    matern = model.covar_module.kernels[0].base_kernel
    matern.lengthscale = torch.full((1, 3), 0.05)
    fit_map(model, 60)
    assert torch.allclose(
        matern.lengthscale, torch.full((1, 3), 0.3, dtype=torch.float64), rtol=0.02
    )


# -- output transform --------------------------------------------------------------------------
outputs_lists = st.lists(
    st.floats(min_value=-1e6, max_value=1e6, allow_subnormal=False), min_size=1, max_size=40
)


@given(outputs=outputs_lists, sign=st.sampled_from([1, -1]))
@example(outputs=[0.0, 5.0, 2.2250738585072014e-308], sign=1)  # end gap of 1e-308
def test_quantile_transform_is_monotone_and_invertible(outputs: list[float], sign: int) -> None:
    transform = QuantileNormalTransform.fit(np.array(outputs), sign)
    fitted = torch.tensor(outputs, dtype=torch.float64)
    surrogate = transform.to_surrogate(fitted)
    assert torch.isfinite(surrogate).all()
    back = transform.from_surrogate(surrogate)
    np.testing.assert_allclose(back.numpy(), outputs, rtol=1e-9, atol=1e-9)

    # Monotone on a grid covering the data and beyond: larger = better in surrogate space.
    low, high = min(outputs), max(outputs)
    span = max(high - low, 1.0)
    grid = torch.linspace(low - span, high + span, 301, dtype=torch.float64)
    values = transform.to_surrogate(grid) * sign
    assert (torch.diff(values) > 0).all()


def test_quantile_transform_known_values() -> None:
    transform = QuantileNormalTransform.fit(np.array([3.0, 1.0, 2.0, 2.0]), -1)
    # Signed outputs -3, -2, -2, -1 have ranks 1, 2.5, 2.5, 4 of n = 4.
    from scipy.special import ndtri

    expected = ndtri((np.array([1.0, 2.5, 4.0]) - 0.5) / 4)
    got = transform.to_surrogate(torch.tensor([3.0, 2.0, 1.0], dtype=torch.float64))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)
    assert got[2] > got[0]  # minimising: the smallest output is the best


def test_log_cost_transform_maps_observed_range_to_unit_interval() -> None:
    costs = np.array([3.0, 30.0, 0.3, 10.0])
    transform = LogCostTransform.fit(costs)
    scaled = transform.to_surrogate(torch.tensor(costs, dtype=torch.float64))
    np.testing.assert_allclose(scaled.numpy(), [0.0, 1.0, -1.0, np.log10(10 / 3)], atol=1e-15)
    np.testing.assert_allclose(transform.from_surrogate(scaled).numpy(), costs, rtol=1e-12)
    constant = LogCostTransform.fit(np.array([5.0, 5.0]))
    assert float(constant.to_surrogate(torch.tensor([5.0], dtype=torch.float64))[0]) == 0.0


# -- pending suggestions -----------------------------------------------------------------------
def _fitted_model(generator: torch.Generator) -> SurrogateModel:
    data = torch.Generator().manual_seed(7)
    x = torch.rand(15, 2, generator=data, dtype=torch.float64) * 2 - 1
    successes = [
        ObservationInBasic(
            xi, float(torch.sin(3 * xi[0]) + xi[1] ** 2), float(torch.exp(xi[1]) + 0.1)
        )
        for xi in x
    ]
    front = pareto_groups(group_observations(successes), 0.2, 1, True)
    model = SurrogateModel(better_direction_sign=1, lengthscale=0.3, generator=generator)
    model.fit(successes, [], front)
    return model


@pytest.mark.parametrize(
    "estimator",
    [OutstandingSuggestionEstimatorEnum.THOMPSON, OutstandingSuggestionEstimatorEnum.MEAN],
)
def test_add_pending_shrinks_variance_without_refitting(
    estimator: OutstandingSuggestionEstimatorEnum,
) -> None:
    model = _fitted_model(torch.Generator().manual_seed(0))
    pending = torch.tensor([[0.5, 1.5], [-1.4, 0.2]], dtype=torch.float64)  # away from the data
    elsewhere = torch.tensor([[0.0, -1.8]], dtype=torch.float64)
    before = model.predict(torch.cat([pending, elsewhere]))
    hyperparameters = {k: v.detach().clone() for k, v in model.performance_gp.named_parameters()}

    model.add_pending(pending, estimator)
    after = model.predict(torch.cat([pending, elsewhere]))

    assert (after.surrogate_std[:2] < 0.5 * before.surrogate_std[:2]).all()
    assert after.surrogate_std[2] <= before.surrogate_std[2] + 1e-9
    for name, value in model.performance_gp.named_parameters():
        assert torch.equal(value, hyperparameters[name]), name
    # The cost model is not touched by fantasies.
    torch.testing.assert_close(after.cost, before.cost)
    if estimator is OutstandingSuggestionEstimatorEnum.MEAN:
        torch.testing.assert_close(after.surrogate_mean, before.surrogate_mean, atol=1e-6, rtol=0)


def test_thompson_fantasies_depend_on_the_generator() -> None:
    pending = torch.tensor([[0.5, 1.5]], dtype=torch.float64)
    query = torch.tensor([[0.45, 1.45]], dtype=torch.float64)
    means = []
    for seed in (0, 0, 1):
        model = _fitted_model(torch.Generator().manual_seed(seed))
        model.add_pending(pending, OutstandingSuggestionEstimatorEnum.THOMPSON)
        means.append(float(model.predict(query).surrogate_mean[0]))
    assert means[0] == means[1]
    assert means[0] != means[2]
