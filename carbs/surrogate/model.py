"""The surrogate bundle that one ``suggest()`` fits and queries.

:class:`SurrogateModel` owns the performance GP (with fantasies for pending
suggestions), the log-cost GP, the success classifier and the 1-D Pareto GP,
plus the transforms between user units and surrogate space. Inputs are in
basic space; they are centred on the mean observed input before reaching
the GPs so that the linear kernel term is anchored in the data.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Sequence

import attrs
import gpytorch
import numpy as np
import torch
from linear_operator.utils.warnings import NumericalWarning
from torch import Tensor

from carbs.config import OutstandingSuggestionEstimatorEnum
from carbs.observations import ObservationInBasic
from carbs.pareto import ObservationGroup
from carbs.surrogate.fitting import JITTER_RETRIES, GPFitter, Hyperparameters
from carbs.surrogate.gp import (
    FIT_NUMERICAL_ERRORS,
    MAX_CHOLESKY_SIZE,
    ExactRegressionGP,
    SuccessGP,
    sample_hyperparameters_nuts,
    success_probability,
)
from carbs.surrogate.transforms import LogCostTransform, QuantileNormalTransform

# Predictive variances use LOVE (fast_pred_var) above this many training points.
FAST_PRED_VAR_MIN_POINTS = 300
PARETO_LENGTHSCALE = 0.5


@attrs.frozen
class SurrogatePredictions:
    """Model outputs at ``m`` points; every field has shape ``(m,)``.

    Attributes:
        surrogate_mean: Performance posterior mean, surrogate space (larger = better).
        surrogate_std: Performance posterior std, surrogate space.
        output_mean: Predicted output in the user's units.
        output_std: Approximate std of the output in the user's units.
        cost: Predicted cost in the user's units.
        success_probability: Probability that a run there succeeds.
        pareto_surrogate: The front's value at the predicted cost, surrogate space.
    """

    surrogate_mean: Tensor
    surrogate_std: Tensor
    output_mean: Tensor
    output_std: Tensor
    cost: Tensor
    success_probability: Tensor
    pareto_surrogate: Tensor


class SurrogateModel:
    """Fits every surrogate on the current data and predicts at candidate points.

    Args:
        better_direction_sign: ``1`` to maximise outputs, ``-1`` to minimise.
        lengthscale: Initial lengthscale (the search radius), basic units.
        generator: Source of randomness for Thompson fantasies and subsets.
        warm_start: Hyperparameters from a previous fit, by model name.
        num_hyperparameter_samples: If > 1, the performance GP's hyperparameters are
            marginalised with this many NUTS samples (see
            :func:`~carbs.surrogate.gp.sample_hyperparameters_nuts`).
        model_cache: Regression GPs fitted by a previous ``SurrogateModel``, by name;
            they are refitted on the new data in place (building gpytorch modules
            costs more than a warm refit), and the new fits are stored back.
        categorical: Basic-space columns that hold a categorical param's choice
            index: the GPs compare them by equality (an overlap kernel) and they
            are never centred.
        is_failure_imputed: Show failed runs to the performance GP at the worst
            successful output (see ``CARBSParams.is_failure_output_imputed``).
    """

    def __init__(
        self,
        *,
        better_direction_sign: int,
        lengthscale: float,
        generator: torch.Generator,
        warm_start: Hyperparameters | None = None,
        num_hyperparameter_samples: int = 1,
        model_cache: dict[str, ExactRegressionGP] | None = None,
        categorical: Sequence[int] = (),
        is_failure_imputed: bool = False,
    ) -> None:
        self.categorical = tuple(categorical)
        self.is_failure_imputed = is_failure_imputed
        self.better_direction_sign = better_direction_sign
        self.lengthscale = lengthscale
        self.generator = generator
        self.num_hyperparameter_samples = num_hyperparameter_samples
        self.fitter = GPFitter(generator=generator, warm_start=warm_start, model_cache=model_cache)
        self.performance_gp: ExactRegressionGP | None = None
        self.cost_gp: ExactRegressionGP | None = None
        self.success_gp: SuccessGP | None = None
        self.pareto_gp: ExactRegressionGP | None = None
        self.input_offset: Tensor | None = None
        self.output_transform: QuantileNormalTransform | None = None
        self.cost_transform: LogCostTransform | None = None
        self.num_train = 0
        self.front_scaled_log_cost_range = (-1.0, 1.0)
        # The worst successful output in surrogate space: the reference point below the
        # front (see carbs.suggestions.budget_terms).
        self.worst_success_surrogate = 0.0

    @property
    def hyperparameters(self) -> Hyperparameters:
        """The fitted hyperparameters, by model name (warm-start the next fit with them)."""
        return self.fitter.hyperparameters

    @property
    def jitters(self) -> dict[str, float]:
        """The Cholesky jitter each GP's fit needed, by model name."""
        return self.fitter.jitters

    # -- fitting --------------------------------------------------------------------------
    def fit(
        self,
        successes: Sequence[ObservationInBasic],
        failures: Sequence[ObservationInBasic],
        front: Sequence[ObservationGroup],
        stopped: Sequence[ObservationInBasic] = (),
    ) -> None:
        """Fit all surrogates. Needs at least one success and a non-empty front.

        Runs stopped early (``stopped``) enter the performance GP at their projected
        final output and the success classifier as successes (they did not crash);
        the cost GP never sees them, since their full cost was never measured.
        With ``is_failure_imputed``, failed runs enter the performance GP at the
        worst successful output.

        Raises:
            GPFitError: if a GP cannot be fitted even with extra jitter.
        """
        ran = [*successes, *stopped]
        x_ran = torch.stack([o.real_number_input for o in ran]).to(torch.float64)
        x_fail = x_ran[:0]
        if failures:
            x_fail = torch.stack([o.real_number_input for o in failures]).to(torch.float64)
        imputed = len(failures) if self.is_failure_imputed else 0
        x = torch.cat([x_ran, x_fail]) if imputed else x_ran
        sign = self.better_direction_sign
        worst = sign * min(sign * o.output for o in successes)
        outputs = np.array(
            [o.output for o in successes]
            + [o.projected_output for o in stopped]
            + [worst] * imputed,
            dtype=np.float64,
        )
        costs = np.array([o.cost for o in successes], dtype=np.float64)
        self.num_train = x.shape[0]
        self.input_offset = x.mean(dim=0)
        self.input_offset[list(self.categorical)] = 0.0  # a choice index is a label, not a number
        self.output_transform = QuantileNormalTransform.fit(outputs, self.better_direction_sign)
        self.cost_transform = LogCostTransform.fit(costs)

        x_centred = x - self.input_offset
        y = self.output_transform.to_surrogate(torch.as_tensor(outputs))
        self.worst_success_surrogate = float(y[: len(successes)].min())
        log_cost = self.cost_transform.to_surrogate(torch.as_tensor(costs))
        is_map = self.num_hyperparameter_samples == 1  # NUTS turns the GP into a batch in place
        self.performance_gp = self.fitter.regression(
            "performance",
            x_centred,
            y,
            self.lengthscale,
            is_cached=is_map,
            categorical=self.categorical,
        )
        if self.num_hyperparameter_samples > 1:
            seed = int(torch.randint(2**62, (1,), generator=self.generator))
            count = self.num_hyperparameter_samples
            sample_hyperparameters_nuts(self.performance_gp, count, count, seed)
        self.cost_gp = self.fitter.regression(
            "cost",
            x_centred[: len(successes)],
            log_cost,
            self.lengthscale,
            categorical=self.categorical,
        )

        self.success_gp = None
        if failures:
            x_all = torch.cat([x_ran, x_fail]) - self.input_offset
            labels = torch.cat(
                [
                    torch.ones(len(ran), dtype=torch.bool),
                    torch.zeros(x_fail.shape[0], dtype=torch.bool),
                ]
            )
            self.success_gp = self.fitter.with_retries(
                "success", lambda: SuccessGP(x_all, labels, self.lengthscale, self.categorical)
            )

        front_outputs = torch.as_tensor([o for g in front for o in g.outputs], dtype=torch.float64)
        front_costs = torch.as_tensor([c for g in front for c in g.costs], dtype=torch.float64)
        scaled_front_costs = self.cost_transform.to_surrogate(front_costs)
        self.front_scaled_log_cost_range = (
            float(scaled_front_costs.min()),
            float(scaled_front_costs.max()),
        )
        self.pareto_gp = self.fitter.regression(
            "pareto",
            scaled_front_costs.unsqueeze(-1),
            self.output_transform.to_surrogate(front_outputs),
            PARETO_LENGTHSCALE,
        )

    # -- pending suggestions ------------------------------------------------------------------
    def add_pending(self, pending: Tensor, estimator: OutstandingSuggestionEstimatorEnum) -> None:
        """Condition the performance GP on fantasy outcomes at pending points ``(k, d)``.

        Uses the GP's fantasy update (a low-rank cache update); hyperparameters stay fixed.
        """
        assert self.performance_gp is not None and self.input_offset is not None
        if pending.shape[0] == 0:
            return
        x = self._performance_inputs(pending.to(torch.float64) - self.input_offset)
        with torch.no_grad(), self._prediction_settings("performance"):
            posterior = self.performance_gp(x)
            if estimator is OutstandingSuggestionEstimatorEnum.THOMPSON:
                shape = posterior.mean.shape
                base = torch.randn(shape, generator=self.generator, dtype=torch.float64)
                try:
                    # Pending points may repeat each other or a run (a small lattice, a
                    # 1-d space): the joint covariance is then singular, and the jitter
                    # linear_operator adds, with a warning on every suggest, is expected.
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", NumericalWarning)
                        fantasy = posterior.rsample(base_samples=base.unsqueeze(0)).squeeze(0)
                except FIT_NUMERICAL_ERRORS:
                    # A singular joint covariance (repeated points): sample the marginals.
                    fantasy = posterior.mean + posterior.variance.clamp_min(0).sqrt() * base
            else:
                fantasy = posterior.mean
            self.performance_gp = self.performance_gp.get_fantasy_model(x, fantasy)

    # -- prediction ------------------------------------------------------------------------------
    def predict(self, points: Tensor) -> SurrogatePredictions:
        """Predict at basic-space points ``(m, d)``."""
        assert self.performance_gp is not None and self.cost_gp is not None
        assert self.input_offset is not None and self.output_transform is not None
        assert self.cost_transform is not None
        x = points.to(torch.float64) - self.input_offset
        with torch.no_grad(), self._prediction_settings("performance"):
            mean, variance = _mixture_moments(
                *self.performance_gp.posterior_moments(self._performance_inputs(x))
            )
            std = variance.clamp_min(1e-12).sqrt()
        with torch.no_grad(), self._prediction_settings("cost"):
            scaled_log_cost = self.cost_gp.posterior_moments(x, with_variance=False)[0]
        if self.success_gp is None:
            p_success = torch.ones_like(mean)
        else:
            with self._prediction_settings("success"):
                p_success = success_probability(self.success_gp, x)
        return SurrogatePredictions(
            surrogate_mean=mean,
            surrogate_std=std,
            output_mean=self.output_transform.from_surrogate(mean),
            output_std=self.output_transform.surrogate_std_to_output_std(mean, std),
            cost=self.cost_transform.from_surrogate(scaled_log_cost),
            success_probability=p_success,
            pareto_surrogate=self._pareto_at_scaled_log_cost(scaled_log_cost),
        )

    def log_probability_below_cost(self, points: Tensor, max_cost: float) -> Tensor:
        """log P(cost <= ``max_cost``) at basic-space points ``(m, d)``, shape ``(m,)``: the
        log-cost GP's posterior, whose uncertainty is largest where no run has been (a choice
        never tried), so a point the model merely knows nothing about is not ruled out."""
        assert self.cost_gp is not None and self.cost_transform is not None
        assert self.input_offset is not None
        x = points.to(torch.float64) - self.input_offset
        with torch.no_grad(), self._prediction_settings("cost"):
            mean, variance = _mixture_moments(*self.cost_gp.posterior_moments(x))
        limit = self.cost_transform.to_surrogate(torch.tensor([max_cost], dtype=torch.float64))
        return torch.special.log_ndtr((limit - mean) / variance.clamp_min(1e-12).sqrt())

    def log_cost_directions(self, points: Tensor) -> Tensor:
        """Unit vectors along which the predicted log cost rises fastest at ``points``.

        The gradient of the cost GP's posterior mean over the real columns,
        normalised (categorical columns have no direction: they stay zero); a zero
        row where the predicted cost is flat.

        Args:
            points: Basic-space points, shape ``(k, d)``.

        Returns:
            Shape ``(k, d)``.
        """
        assert self.cost_gp is not None
        gradient = self._mean_gradient("cost", self.cost_gp, points, lambda x: x)
        norms = gradient.norm(dim=-1, keepdim=True)
        return torch.where(norms > 1e-12, gradient / norms.clamp_min(1e-12), 0.0)

    def performance_gradient(self, point: Tensor) -> Tensor:
        """Gradient of the performance posterior mean (surrogate space, larger is better)
        at one basic-space point ``(d,)``; zero on categorical columns. Shape ``(d,)``.

        With hyperparameter samples it is the gradient of their summed means, which
        points the same way as that of their average.
        """
        assert self.performance_gp is not None
        gp, points = self.performance_gp, point.unsqueeze(0)
        return self._mean_gradient("performance", gp, points, self._performance_inputs)[0]

    def _mean_gradient(
        self,
        name: str,
        gp: ExactRegressionGP,
        points: Tensor,
        to_inputs: Callable[[Tensor], Tensor],
    ) -> Tensor:
        """Gradient ``(k, d)`` of the summed posterior means of the GP ``name`` at basic
        points ``(k, d)`` (``to_inputs`` shapes its inputs), zero on categorical columns."""
        assert self.input_offset is not None
        x = (points.to(torch.float64) - self.input_offset).detach().requires_grad_(True)
        with self._prediction_settings(name):
            mean = gp.posterior_moments(to_inputs(x), with_variance=False)[0]
            (gradient,) = torch.autograd.grad(mean.sum(), x)
        gradient[:, list(self.categorical)] = 0.0
        return gradient.detach()

    def _performance_inputs(self, x: Tensor) -> Tensor:
        """Inputs ``(m, d)`` for the performance GP: ``(s, m, d)`` when it holds s samples."""
        if self.num_hyperparameter_samples > 1:
            return x.unsqueeze(0).expand(self.num_hyperparameter_samples, *x.shape)
        return x

    def pareto_surrogate_at_cost(self, cost: float) -> float:
        """The Pareto GP's value (surrogate space) at one cost."""
        assert self.cost_transform is not None
        scaled = self.cost_transform.to_surrogate(torch.tensor([cost], dtype=torch.float64))
        return float(self._pareto_at_scaled_log_cost(scaled)[0])

    def output_to_surrogate(self, output: float) -> float:
        """Map one output in user units to surrogate space."""
        assert self.output_transform is not None
        values = torch.tensor([output], dtype=torch.float64)
        return float(self.output_transform.to_surrogate(values)[0])

    def _pareto_at_scaled_log_cost(self, scaled_log_cost: Tensor) -> Tensor:
        """The Pareto GP at scaled log costs clamped into the front's cost range.

        As in the established release, the 1-D GP is read only where it has data:
        beyond the front's dearest (cheapest) member its value is the value there,
        never a linear extrapolation.
        """
        assert self.pareto_gp is not None
        low, high = self.front_scaled_log_cost_range
        with torch.no_grad(), self._prediction_settings("pareto"):
            query = scaled_log_cost.clamp(low, high).unsqueeze(-1)
            return self.pareto_gp.posterior_moments(query, with_variance=False)[0]

    def _prediction_settings(self, name: str) -> contextlib.ExitStack:
        """gpytorch settings for querying (and fantasising with) the GP ``name``.

        * Exact posterior means at every n: Cholesky up to :data:`MAX_CHOLESKY_SIZE`
          points, never conjugate gradients.
        * The jitter the GP's fit needed (one jitter policy for fit, prediction and
          fantasies).
        * LOVE (``fast_pred_var``) for variances only, from
          :data:`FAST_PRED_VAR_MIN_POINTS` training points.
        * Debug checks off: querying at observed inputs (a resample, ``predict()`` at
          old points) is intended and would otherwise warn.
        """
        stack = contextlib.ExitStack()
        stack.enter_context(gpytorch.settings.debug(False))
        stack.enter_context(gpytorch.settings.max_cholesky_size(MAX_CHOLESKY_SIZE))
        jitter = self.fitter.jitters.get(name, JITTER_RETRIES[0])
        stack.enter_context(gpytorch.settings.cholesky_jitter(double_value=jitter))
        if self.num_train >= FAST_PRED_VAR_MIN_POINTS:
            stack.enter_context(gpytorch.settings.fast_pred_var())
        return stack


def _mixture_moments(mean: Tensor, variance: Tensor | None) -> tuple[Tensor, Tensor]:
    """Posterior moments ``(m,)``: as they are for one fit, else those of the equal-weight
    mixture over the hyperparameter samples (moments of shape ``(s, m)``)."""
    assert variance is not None
    if mean.dim() == 2:
        return mean.mean(dim=0), variance.mean(dim=0) + mean.var(dim=0, unbiased=False)
    return mean, variance
