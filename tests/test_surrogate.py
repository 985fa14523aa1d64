"""Surrogate models: success classifier, output/cost transforms and pending fantasies."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from carbs.config import OutstandingSuggestionEstimatorEnum
from carbs.observations import ObservationInBasic
from carbs.pareto import group_observations, pareto_groups
from carbs.surrogate.gp import (
    ExactRegressionGP,
    SuccessGP,
    fit_map,
    map_loss,
    success_probability,
)
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


# Thirteen runs of lm_menu (seed 11, cheap start): a categorical column (the model,
# choices 1 and 3) and two real ones; only the last run failed. From its priors' medians
# the success GP's fit took a line-search step to output scales of e^-676 and
# lengthscales of e^-1609, where the Cholesky of the kernel matrix fails, at every jitter.
_SEPARABLE_INPUTS = [
    [3.0, -0.4921856027577167, -0.47217046904693794],
    [1.0, -0.3351091706597238, -0.4617491414868473],
    [3.0, -0.0637961189500551, 0.2886529889918825],
    [3.0, -0.24612158959929786, -0.8169074097063804],
    [1.0, -0.386729912327068, -0.054395966499745096],
    [3.0, -0.4010720488032362, 0.3825599627924876],
    [1.0, -0.386729912327068, -0.054395966499745096],
    [3.0, -0.46023123434029856, -1.0081931998776041],
    [3.0, 0.20891399617944373, 0.2625736547557107],
    [3.0, 0.604954448751597, 0.22509160361720681],
    [3.0, 1.091360419900754, 0.3948477089307678],
    [1.0, -0.4282710210298344, 0.5020819559132055],
    [3.0, 1.2950177459625216, 0.8120042781159964],
]


def test_a_fit_whose_line_search_leaves_the_valid_kernels_keeps_its_best_step() -> None:
    x = torch.tensor(_SEPARABLE_INPUTS, dtype=torch.float64)
    is_success = torch.ones(13, dtype=torch.bool)
    is_success[-1] = False
    model = SuccessGP(x, is_success, lengthscale=0.3, categorical=(0,))
    fit_map(model, 60)
    assert all(torch.isfinite(p).all() for p in model.parameters())
    p = success_probability(model, x)
    assert p[-1] < 0.8 < p[:-1].min(), p


def _failing_from_call(model: ExactRegressionGP, call: int, error: Exception) -> None:
    """Make the ``call``-th evaluation (from 1) of ``model``'s prior raise ``error``."""
    forward, calls = model.forward, [0]

    def flaky(x: torch.Tensor) -> object:
        calls[0] += 1
        if calls[0] >= call:
            raise error
        return forward(x)

    model.forward = flaky  # type: ignore[method-assign]


def _regression_problem() -> ExactRegressionGP:
    x = torch.linspace(-1, 1, 12, dtype=torch.float64).unsqueeze(-1)
    return ExactRegressionGP(x, torch.sin(3 * x[:, 0]), lengthscale=0.3)


def _fit_loss(model: ExactRegressionGP) -> float:
    """:func:`map_loss` at the model's current hyperparameters."""
    from gpytorch.mlls import ExactMarginalLogLikelihood

    model.train()
    with torch.no_grad():
        loss = float(map_loss(model, ExactMarginalLogLikelihood(model.likelihood, model)))
    model.eval()
    return loss


def test_a_numerical_error_mid_fit_keeps_the_best_hyperparameters_evaluated() -> None:
    from linear_operator.utils.errors import NanError

    model = _regression_problem()
    start_loss = _fit_loss(model)
    # The third evaluation is a line-search trial worse than the start (1.50 against
    # 1.10), the second the best (0.65): the fit must keep the best, not the last.
    _failing_from_call(model, 4, NanError("cholesky_cpu: NaN"))
    loss = fit_map(model, 60)
    del model.forward  # the class's own again
    assert loss < start_loss - 1e-3
    assert _fit_loss(model) == pytest.approx(loss, rel=1e-12)


@pytest.mark.parametrize(
    ("call", "error"),
    [(1, "nan"), (4, "bug")],
    ids=["numerical error at the start", "other error later"],
)
def test_a_fit_that_cannot_keep_a_step_restores_its_start(call: int, error: str) -> None:
    from linear_operator.utils.errors import NanError

    from carbs.surrogate.gp import GPFitError

    model = _regression_problem()
    start = [p.detach().clone() for p in model.parameters()]
    _failing_from_call(model, call, NanError("NaN") if error == "nan" else ValueError("bug"))
    with pytest.raises(GPFitError):
        fit_map(model, 60)
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), start, strict=True))


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


@pytest.mark.parametrize("value", [2e-9, 2.0, -3e9, 1e300, 0.0])
def test_while_the_outputs_take_one_value_a_surrogate_unit_is_its_magnitude(value: float) -> None:
    # With a fixed slope of 1, predict() reported the same output_std for outputs of
    # 2e-9 and 2e9 (nothing measures their spread yet, so the value's size stands in).
    unit = abs(value) or 1.0
    for sign in (1, -1):
        transform = QuantileNormalTransform.fit(np.array([value, value, value]), sign)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            queries = torch.tensor([-0.5, 0.0, 0.05], dtype=torch.float64)
            outputs = transform.from_surrogate(queries)
            back = transform.to_surrogate(outputs)
        expected = [value - 0.5 * sign * unit, value, value + 0.05 * sign * unit]
        np.testing.assert_allclose(outputs.numpy(), expected, rtol=1e-12)
        np.testing.assert_allclose(back.numpy(), queries.numpy(), atol=1e-12)
        std = transform.surrogate_std_to_output_std(
            torch.zeros(1, dtype=torch.float64), torch.ones(1, dtype=torch.float64)
        )
        assert float(std[0]) == pytest.approx(unit, rel=1e-12)


def test_extrapolating_past_the_float_range_gives_infinities_without_warnings() -> None:
    # Outputs near the largest float: beyond them the line leaves the float range.
    transform = QuantileNormalTransform.fit(np.array([-1e308, 0.0, 1e308]), 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outputs = transform.from_surrogate(torch.tensor([-50.0, 0.0, 50.0], dtype=torch.float64))
        surrogate = transform.to_surrogate(torch.tensor([-1.7e308, 1.7e308], dtype=torch.float64))
    assert outputs.tolist() == [-math.inf, 0.0, math.inf]
    assert torch.isfinite(surrogate).all() and surrogate[0] < surrogate[1]


def test_outputs_spanning_the_float_range_map_to_finite_values_where_the_answer_is_finite() -> None:
    # From -1.7e308 to 1.7e308 the differences and slopes pass the largest float; the
    # line beyond the worst output is still finite a little way out, as is the middle.
    transform = QuantileNormalTransform.fit(np.array([-1.7e308, 1.7e308]), 1)
    low, high = transform.surrogate_values
    queries = torch.tensor([low - 0.01, 0.0, high + 0.01], dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outputs = transform.from_surrogate(queries)
        back = transform.to_surrogate(outputs)
    beyond = 1.7e308 * (1 + 0.02 / (high - low))  # the end slope 3.4e308 / (high - low) overflows
    expected = [-beyond, 0.0, beyond]
    np.testing.assert_allclose(outputs.numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(back.numpy(), queries.numpy(), rtol=1e-12, atol=1e-12)


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


# -- exact posteriors at any n, one jitter policy ------------------------------------------------
def _observations(n: int, dim: int, seed: int) -> list[ObservationInBasic]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(n, dim, generator=generator, dtype=torch.float64) * 2 - 1
    noise = 0.05 * torch.randn(n, generator=generator, dtype=torch.float64)
    y = torch.sin(3 * x[:, 0]) + x[:, 1] ** 2 + noise
    return [
        ObservationInBasic(xi, float(yi), float(torch.exp(xi.sum())))
        for xi, yi in zip(x, y, strict=True)
    ]


def _fit(observations: list[ObservationInBasic]) -> SurrogateModel:
    model = SurrogateModel(
        better_direction_sign=1, lengthscale=0.3, generator=torch.Generator().manual_seed(0)
    )
    model.fit(observations, [], pareto_groups(group_observations(observations), 0.2, 1, True))
    return model


def _direct_posterior(model: SurrogateModel, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The performance GP's posterior by a dense Cholesky solve, outside gpytorch's solvers."""
    gp = model.performance_gp
    assert gp is not None and model.input_offset is not None
    train_x, train_y = gp.train_inputs[0], gp.train_targets
    query = x - model.input_offset
    with torch.no_grad():
        k_train = gp.covar_module(train_x).to_dense()
        k_train = k_train + gp.likelihood.noise * torch.eye(train_x.shape[0], dtype=torch.float64)
        k_cross = gp.covar_module(query, train_x).to_dense()
        prior_var = gp.covar_module(query, diag=True)
        chol = torch.linalg.cholesky(k_train)
        constant = gp.mean_module.constant
        alpha = torch.cholesky_solve((train_y - constant).unsqueeze(-1), chol).squeeze(-1)
        mean = constant + k_cross @ alpha
        v = torch.linalg.solve_triangular(chol, k_cross.T, upper=False)
        return mean, prior_var - (v**2).sum(dim=0)


def test_posterior_mean_is_exact_at_1200_points() -> None:
    """Above gpytorch's default Cholesky size (800) its solves switch to conjugate gradients;
    the mean must still match a direct Cholesky solve."""
    observations = _observations(1200, 3, seed=0)
    model = _fit(observations)
    query = torch.rand(300, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    predicted = model.predict(query * 2 - 1)
    mean, variance = _direct_posterior(model, query * 2 - 1)
    assert float((predicted.surrogate_mean - mean).abs().max()) < 1e-6
    # LOVE (fast_pred_var) approximates the variances at this size; measured close.
    std = variance.clamp_min(1e-12).sqrt()
    assert float(((predicted.surrogate_std - std).abs() / std).median()) < 0.05


def test_candidate_variances_equal_the_full_posterior_covariance_diagonal() -> None:
    observations = _observations(60, 4, seed=2)
    model = _fit(observations)
    query = torch.rand(500, 4, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    predicted = model.predict(query * 2 - 1)
    mean, variance = _direct_posterior(model, query * 2 - 1)
    torch.testing.assert_close(predicted.surrogate_mean, mean, rtol=0, atol=1e-9)
    torch.testing.assert_close(
        predicted.surrogate_std**2, variance.clamp_min(1e-12), rtol=1e-6, atol=1e-9
    )


def test_predictions_and_fantasies_use_the_jitter_the_fit_needed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gpytorch

    import carbs.surrogate.fitting as surrogate_fitting

    real_fit_map = surrogate_fitting.fit_map
    calls: list[int] = []

    def first_attempt_fails(model: object, *args: object, **kwargs: object) -> float:
        calls.append(1)
        if len(calls) == 1:
            raise surrogate_fitting.GPFitError("not PSD at the first jitter")
        return real_fit_map(model, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(surrogate_fitting, "fit_map", first_attempt_fails)
    model = _fit(_observations(20, 2, seed=4))
    assert model.jitters["performance"] == surrogate_fitting.JITTER_RETRIES[1]
    assert model.jitters["cost"] == surrogate_fitting.JITTER_RETRIES[0]
    seen: list[float] = []
    real_moments = type(model.performance_gp).posterior_moments

    def record(gp: object, *args: object, **kwargs: object) -> object:
        seen.append(gpytorch.settings.cholesky_jitter.value(torch.float64))
        return real_moments(gp, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(type(model.performance_gp), "posterior_moments", record)
    model.predict(torch.zeros(3, 2, dtype=torch.float64))
    # performance, then cost (the Pareto GP is queried by the same call)
    assert seen[0] == surrogate_fitting.JITTER_RETRIES[1]
    assert seen[1] == surrogate_fitting.JITTER_RETRIES[0]


def test_output_to_surrogate_keeps_float64_resolution() -> None:
    observations = [
        ObservationInBasic(torch.tensor([float(i)], dtype=torch.float64), output, 1.0 + i)
        for i, output in enumerate([1.0, 1.0 + 1e-9, 2.0])
    ]
    model = _fit(observations)
    assert model.output_to_surrogate(1.0 + 1e-9) > model.output_to_surrogate(1.0)
