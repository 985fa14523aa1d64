"""The NUTS (pyro) option that marginalises the performance GP's hyperparameters."""

from __future__ import annotations

import torch

from carbs import (
    CARBS,
    CARBSParams,
    CategoricalSpace,
    LinearSpace,
    LogSpace,
    ObservationInParam,
    Param,
)
from carbs.surrogate.gp import ExactRegressionGP, fit_map, sample_hyperparameters_nuts


def _toy_gp() -> ExactRegressionGP:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(10, 2, generator=generator, dtype=torch.float64) * 2 - 1
    y = torch.sin(3 * x[:, 0]) + 0.5 * x[:, 1]
    model = ExactRegressionGP(x, y, lengthscale=0.3)
    fit_map(model, 50)
    return model


def test_nuts_yields_distinct_hyperparameter_samples_and_keeps_global_rng() -> None:
    model = _toy_gp()
    global_state = torch.get_rng_state()
    sample_hyperparameters_nuts(model, num_samples=6, warmup_steps=6, seed=3)
    assert torch.equal(torch.get_rng_state(), global_state)
    lengthscales = model.covar_module.kernels[0].base_kernel.lengthscale
    assert lengthscales.shape == (6, 1, 2)
    assert torch.unique(lengthscales[:, 0, 0]).numel() > 1  # the chain moved
    posterior = model(torch.zeros(6, 3, 2, dtype=torch.float64))
    assert posterior.mean.shape == (6, 3)
    assert torch.isfinite(posterior.variance).all()


def test_nuts_same_seed_same_samples() -> None:
    first, second = _toy_gp(), _toy_gp()
    sample_hyperparameters_nuts(first, num_samples=4, warmup_steps=4, seed=11)
    sample_hyperparameters_nuts(second, num_samples=4, warmup_steps=4, seed=11)
    assert torch.equal(
        first.covar_module.kernels[0].base_kernel.lengthscale,
        second.covar_module.kernels[0].base_kernel.lengthscale,
    )


def fully_bayesian(params: list[Param]) -> CARBS:
    """A minimising optimizer with four NUTS samples, small candidate pools, no resampling."""
    config = CARBSParams(
        better_direction_sign=-1,
        is_fully_bayesian=True,
        num_fully_bayesian_samples=4,
        num_candidates_for_suggestion_per_dim=20,
        resample_frequency=0,
    )
    return CARBS(config, params)


def test_fully_bayesian_optimizer_suggests_with_pending_runs() -> None:
    params = [
        Param("a", LogSpace(min=1e-3, max=1e3), search_center=1.0),
        Param("b", LinearSpace(min=-3, max=3), search_center=0.0),
    ]
    carbs = fully_bayesian(params)
    for _ in range(5):
        s = carbs.suggest().suggestion
        carbs.observe(ObservationInParam(input=s, output=(s["b"] - 1) ** 2, cost=s["a"]))
    carbs.suggest()  # stays outstanding: enters the batch of GPs as a fantasy
    out = carbs.suggest()
    assert out.log["suggestion_type"] == "bayesian"
    assert out.log["predicted_output_std"] > 0
    assert 1e-3 <= out.suggestion["a"] <= 1e3 and -3 <= out.suggestion["b"] <= 3


def test_fully_bayesian_optimizer_suggests_with_a_categorical_param() -> None:
    """The mixed kernel's three weights became a batch of them under NUTS, and the
    first sample's weights were taken for the three terms: suggest() raised."""
    params = [
        Param("a", LogSpace(min=1e-3, max=1e3), search_center=1.0),
        Param("opt", CategoricalSpace(choices=["adam", "sgd", "lion"]), search_center="sgd"),
    ]
    carbs = fully_bayesian(params)
    for _ in range(5):
        s = carbs.suggest().suggestion
        penalty = 0.0 if s["opt"] == "adam" else 1.0
        carbs.observe(ObservationInParam(input=s, output=penalty + s["a"] ** 0.1, cost=s["a"]))
    out = carbs.suggest()
    assert out.log["suggestion_type"] == "bayesian"
    assert out.log["predicted_output_std"] > 0
