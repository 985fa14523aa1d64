"""gpytorch models and their fitting.

Three exact GPs are used:

* :class:`ExactRegressionGP` — performance and log cost over basic space
  (Matern-5/2 with ARD lengthscales plus a linear term; log cost is nearly
  linear in log-space params);
* :class:`SuccessGP` — a Dirichlet-based classification GP for P(success);
* the 1-D Pareto GP, an :class:`ExactRegressionGP` over scaled log cost.

Hyperparameters are point estimates maximising the marginal likelihood with
log-normal priors over their logarithms (L-BFGS, warm-started from the
previous fit, see :func:`log_prior_jacobian`), or, for the
performance GP on request, marginalised with NUTS (pyro), see
:func:`sample_hyperparameters_nuts`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import gpytorch
import torch
from gpytorch.constraints import GreaterThan
from gpytorch.distributions import MultivariateNormal
from gpytorch.likelihoods import DirichletClassificationLikelihood, GaussianLikelihood
from gpytorch.means import ConstantMean
from gpytorch.mlls import ExactMarginalLogLikelihood
from linear_operator.operators import DiagLinearOperator
from linear_operator.utils.errors import NanError, NotPSDError
from linear_operator.utils.warnings import NumericalWarning
from torch import Tensor

from carbs.surrogate.kernels import classification_kernel, log_normal, regression_kernel

NOISE_PRIOR_MEDIAN = 1e-2
# Cholesky up to this size; gpytorch's default (800) switches to conjugate gradients.
MAX_CHOLESKY_SIZE = 4000
FIT_NUMERICAL_ERRORS: tuple[type[Exception], ...] = (
    NotPSDError,
    NanError,
    torch.linalg.LinAlgError,
)
"""Numerical failures of a kernel matrix: a trial step of a fit (see :func:`fit_map`), a
fantasy's joint sample, or a suggestion's solves can run into them."""


class GPFitError(RuntimeError):
    """Raised when the marginal likelihood cannot be optimised to a finite value."""


class _ConstantMeanGP(gpytorch.models.ExactGP):
    """An exact GP whose prior is ``mean_module`` plus ``covar_module`` (set by subclasses)."""

    mean_module: gpytorch.Module
    covar_module: gpytorch.Module

    def forward(self, x: Tensor) -> MultivariateNormal:
        return MultivariateNormal(self.mean_module(x), self.covar_module(x))

    def posterior_moments(
        self, x: Tensor, *, with_variance: bool = True
    ) -> tuple[Tensor, Tensor | None]:
        """Posterior mean and marginal variance of the latent function at ``x`` (eval mode).

        Unlike ``self(x).variance``, this never forms the ``m x m`` covariance of the
        query points: the prior variance at each point comes from the kernel's
        diagonal and the explained part from the cross-covariance with the training
        points, through gpytorch's prediction strategy (so fantasies and LOVE
        caches apply). Memory and time grow as ``m * n``, not ``m**2``.

        Args:
            x: Query points, shape ``(..., m, d)`` (a batch model broadcasts).
            with_variance: Skip the variance when only the mean is needed.

        Returns:
            ``(mean, variance)``, each of shape ``(..., m)``; ``variance`` is ``None``
            when not asked for.
        """
        batch_shape = self.covar_module.batch_shape
        if x.dim() - 2 < len(batch_shape):
            # Give the query the model's batch dims: an un-batched diagonal of length m
            # would otherwise broadcast against the batch, wrongly when m equals it.
            x = x.expand(*batch_shape, *x.shape[-2:])
        if self.prediction_strategy is None:
            self(x[..., :1, :])  # builds the prediction caches from one query point
        strategy = self.prediction_strategy
        test_train = self.covar_module(x, self.train_inputs[0]).to_dense()
        mean = strategy.exact_predictive_mean(self.mean_module(x), test_train)
        if not with_variance:
            return mean, None
        prior = DiagLinearOperator(self.covar_module(x, diag=True))
        return mean, strategy.exact_predictive_covar(prior, test_train).diagonal(dim1=-2, dim2=-1)


class ExactRegressionGP(_ConstantMeanGP):
    """Exact GP with constant mean and a Matern-5/2 (ARD) + linear kernel.

    Args:
        train_x: Inputs, shape ``(n, d)``.
        train_y: Targets, shape ``(n,)``.
        lengthscale: Initial value and prior median of every lengthscale.
        noise_prior_median: Prior median of the Gaussian noise variance.
        categorical: Columns that hold categorical choices (see
            :func:`~carbs.surrogate.kernels.regression_kernel`).
    """

    def __init__(
        self,
        train_x: Tensor,
        train_y: Tensor,
        lengthscale: float,
        noise_prior_median: float = NOISE_PRIOR_MEDIAN,
        categorical: Sequence[int] = (),
    ) -> None:
        likelihood = GaussianLikelihood(
            noise_prior=log_normal(noise_prior_median, 1.0),
            noise_constraint=GreaterThan(1e-6),
        )
        super().__init__(train_x, train_y, likelihood)
        self.mean_module = ConstantMean()
        self.covar_module = regression_kernel(train_x.shape[-1], lengthscale, categorical)
        self.likelihood.noise = noise_prior_median
        self.to(train_x.dtype)


class SuccessGP(_ConstantMeanGP):
    """Classification GP for P(success) (Dirichlet-based GP classification, Milios et al. 2018).

    The class labels are turned into heteroscedastic regression targets for
    two latent functions (failure, success) by
    :class:`~gpytorch.likelihoods.DirichletClassificationLikelihood`; the
    success probability is the expected softmax of the latent pair, see
    :func:`success_probability`.

    Args:
        train_x: Inputs, shape ``(n, d)``.
        is_success: Labels, shape ``(n,)``, bool.
        lengthscale: Initial value and prior median of every lengthscale.
        categorical: Columns that hold categorical choices.
    """

    def __init__(
        self,
        train_x: Tensor,
        is_success: Tensor,
        lengthscale: float,
        categorical: Sequence[int] = (),
    ) -> None:
        likelihood = DirichletClassificationLikelihood(
            is_success.long(), learn_additional_noise=True, dtype=train_x.dtype
        )
        super().__init__(train_x, likelihood.transformed_targets.to(train_x.dtype), likelihood)
        self.mean_module = ConstantMean(batch_shape=torch.Size((2,)))
        self.covar_module = classification_kernel(train_x.shape[-1], lengthscale, categorical)
        self.categorical = tuple(categorical)
        self.initial_lengthscale = lengthscale
        self.is_success = is_success.bool()
        self.to(train_x.dtype)

    def on_subset(self, index: Tensor) -> SuccessGP:
        """A model on the training points ``index`` only, with this model's hyperparameters.

        The labels' noise lives in the likelihood, one value per point, so a
        subset needs its own model rather than ``set_train_data``.
        """
        model = SuccessGP(
            self.train_inputs[0][index],
            self.is_success[index],
            self.initial_lengthscale,
            self.categorical,
        )
        load_hyperparameters(model, hyperparameters_of(self))
        return model


def log_prior_jacobian(model: gpytorch.Module) -> Tensor:
    """``sum(log theta)`` over every hyperparameter ``theta`` that carries a prior.

    The priors are log-normal densities over positive values, whose mode lies a
    factor ``exp(sigma^2)`` below their median (about 10x for ``sigma = 1.5``).
    Adding this term to the log prior turns the point estimate into the posterior
    mode of ``log theta``, so a hyperparameter the data say nothing about stays at
    its prior median instead of drifting to the mode: with a handful of points the
    lengthscales would otherwise collapse to a tenth of the search radius and
    leave the performance GP unable to generalise between observations.
    """
    logs = (closure(module).log().sum() for _, module, _, closure, _ in model.named_priors())
    return sum(logs, torch.zeros(()))


def map_loss(model: gpytorch.models.ExactGP, mll: ExactMarginalLogLikelihood) -> Tensor:
    """What :func:`fit_map` minimises, at ``model``'s hyperparameters (in training mode):
    the negative log marginal likelihood plus log priors and :func:`log_prior_jacobian`,
    per data point (summed over a batch of GPs). A scalar."""
    train_y = model.train_targets
    # gpytorch's mll is per data point, priors included; the Jacobian term follows suit.
    objective = mll(model(model.train_inputs[0]), train_y)
    return -(objective + log_prior_jacobian(model) / train_y.shape[-1]).sum()


def fit_map(model: gpytorch.models.ExactGP, max_iter: int, max_eval: int | None = None) -> float:
    """Maximise the marginal likelihood plus log priors of ``model`` with L-BFGS.

    The maximisation is over the logarithms of the hyperparameters (see
    :func:`log_prior_jacobian`). The model's current hyperparameters are the
    starting point (warm start).

    A trial step of L-BFGS's line search can leave the region where the kernel
    matrix is numerically valid (on separable success labels, say, where the
    marginal likelihood keeps rising towards infinite output scales, and the
    quasi-Newton step grows with it). Where such a step raises a numerical
    error (:data:`FIT_NUMERICAL_ERRORS`), the fit keeps the best
    hyperparameters it had evaluated: every one of them gave a finite loss. Only
    where the first evaluation fails, or the result is not finite, are the
    starting values restored and :class:`GPFitError` raised.

    Returns:
        The lowest loss evaluated, per data point: the negative of the log
        marginal likelihood plus the log priors and :func:`log_prior_jacobian`.
    """
    start = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.LBFGS(
        params,
        lr=1.0,
        max_iter=max_iter,
        max_eval=max_eval or max_iter * 5 // 4,
        line_search_fn="strong_wolfe",
        tolerance_grad=1e-5,
        tolerance_change=1e-6,
    )
    best_loss = math.inf
    best_values: list[Tensor] = []

    def closure() -> Tensor:
        nonlocal best_loss, best_values
        optimizer.zero_grad()
        loss = map_loss(model, mll)
        value = float(loss.detach())
        if math.isfinite(value):
            loss.backward()
            if value < best_loss:
                best_loss, best_values = value, [param.detach().clone() for param in params]
        return loss

    try:
        # Eager kernels: the training covariance is needed whole, and the lazy wrappers
        # cost more than the kernel itself at the sizes CARBS fits.
        with (
            gpytorch.settings.max_cholesky_size(MAX_CHOLESKY_SIZE),
            gpytorch.settings.lazily_evaluate_kernels(False),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore", NumericalWarning)
            optimizer.step(closure)
    except Exception as error:  # linear_operator raises several error types for non-PSD matrices
        if not (isinstance(error, FIT_NUMERICAL_ERRORS) and best_values):
            model.load_state_dict(start)
            model.eval()
            raise GPFitError(f"GP fit failed: {error}") from error
        with torch.no_grad():
            for param, value in zip(params, best_values, strict=True):
                param.copy_(value)
    finite = math.isfinite(best_loss) and all(torch.isfinite(p).all() for p in params)
    model.eval()
    if not finite:
        model.load_state_dict(start)
        raise GPFitError("GP fit reached a non-finite marginal likelihood")
    return best_loss


def sample_hyperparameters_nuts(
    model: ExactRegressionGP, num_samples: int, warmup_steps: int, seed: int
) -> None:
    """Replace the point hyperparameters of ``model`` by NUTS samples of their posterior.

    The target is the marginal likelihood times the priors of the model
    (pyro's NUTS over gpytorch's ``pyro_sample_from_prior``), initialised at the
    model's current (MAP) values. Afterwards ``model`` is a batch of
    ``num_samples`` GPs: evaluate it on inputs of shape ``(num_samples, m, d)``.
    The global torch RNG is forked, so it is left exactly as it was.

    Args:
        model: A fitted GP; its hyperparameters seed the chain.
        num_samples: Posterior samples kept.
        warmup_steps: Adaptation steps discarded before sampling.
        seed: Seeds the chain.
    """
    import pyro
    from pyro.infer.autoguide.initialization import init_to_value
    from pyro.infer.mcmc import MCMC, NUTS

    train_x, train_y = model.train_inputs[0], model.train_targets
    start = {
        name: closure(module).detach().clone()
        for name, module, _, closure, _ in model.named_priors()
    }

    def pyro_model() -> None:
        sampled = model.pyro_sample_from_prior()
        try:
            log_likelihood = sampled.likelihood(sampled(train_x)).log_prob(train_y)
        except Exception:  # a non-PSD draw: zero likelihood, so NUTS treats it as a divergence
            log_likelihood = torch.tensor(-math.inf, dtype=train_x.dtype)
        pyro.factor("log_likelihood", log_likelihood)

    model.train()
    kernel = NUTS(pyro_model, max_tree_depth=5, init_strategy=init_to_value(values=start))
    mcmc = MCMC(kernel, num_samples=num_samples, warmup_steps=warmup_steps, disable_progbar=True)
    with torch.random.fork_rng(), warnings.catch_warnings():
        warnings.simplefilter("ignore", NumericalWarning)
        torch.manual_seed(seed)
        mcmc.run()
    model.pyro_load_from_samples(mcmc.get_samples())
    model.eval()


def success_probability(model: SuccessGP, x: Tensor) -> Tensor:
    """Probability of success at ``x`` ``(m, d)``, shape ``(m,)``.

    The softmax of the two latent functions is ``sigmoid(f_success - f_failure)``;
    its expectation under the Gaussian posterior of the difference uses the
    probit approximation ``sigmoid(mu / sqrt(1 + pi * var / 8))``.
    """
    with torch.no_grad():
        mean, var = model.posterior_moments(x)
    assert var is not None
    diff_mean = mean[1] - mean[0]
    diff_var = var[1] + var[0]
    return torch.sigmoid(diff_mean / torch.sqrt(1 + math.pi * diff_var / 8))


def hyperparameters_of(model: torch.nn.Module) -> dict[str, list[Any]]:
    """The model's raw hyperparameters as JSON-ready nested lists, by parameter name."""
    return {name: p.detach().cpu().tolist() for name, p in model.named_parameters()}


def load_hyperparameters(model: torch.nn.Module, values: dict[str, list[Any]]) -> bool:
    """Load hyperparameters saved by :func:`hyperparameters_of`; ``False`` if they do not fit."""
    current = dict(model.named_parameters())
    if set(values) != set(current):
        return False
    tensors = {}
    for name, value in values.items():
        tensor = torch.as_tensor(value, dtype=current[name].dtype)
        if tensor.shape != current[name].shape or not torch.isfinite(tensor).all():
            return False
        tensors[name] = tensor
    with torch.no_grad():
        for name, tensor in tensors.items():
            current[name].copy_(tensor)
    return True
