"""Fitting the bundle's GPs: warm starts, the model cache, subsets and jitter retries.

:class:`GPFitter` owns how a GP is fitted, and records what each fit produced
(its hyperparameters and the Cholesky jitter it needed), so that
:class:`~carbs.surrogate.model.SurrogateModel` only says which GPs to fit on
which data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import gpytorch
import torch
from torch import Tensor

from carbs.surrogate.gp import (
    ExactRegressionGP,
    GPFitError,
    SuccessGP,
    fit_map,
    hyperparameters_of,
    load_hyperparameters,
)

logger = logging.getLogger(__name__)

COLD_FIT_ITERATIONS = 60
# A warm start sits near the optimum already: a few L-BFGS steps track the new data.
WARM_FIT_ITERATIONS = 3
WARM_FIT_EVALUATIONS = 3
# Hyperparameters are fitted on at most this many points; the posterior uses all of them.
MAX_FIT_POINTS = 400
JITTER_RETRIES = (1e-6, 1e-4, 1e-2)

Hyperparameters = dict[str, dict[str, list[Any]]]
ModelT = TypeVar("ModelT", ExactRegressionGP, SuccessGP)


class GPFitter:
    """Fits GPs by name and records each fit's hyperparameters and jitter.

    Args:
        generator: Source of randomness for the fitting subsets.
        warm_start: Hyperparameters from a previous fit, by model name.
        model_cache: Regression GPs fitted earlier, by name; they are refitted on the
            new data in place (building gpytorch modules costs more than a warm
            refit), and the new fits are stored back.

    Attributes:
        hyperparameters: The fitted hyperparameters, by model name.
        jitters: The Cholesky jitter each fit needed, by model name; queries and
            fantasies use the same.
    """

    def __init__(
        self,
        *,
        generator: torch.Generator,
        warm_start: Hyperparameters | None = None,
        model_cache: dict[str, ExactRegressionGP] | None = None,
    ) -> None:
        self.generator = generator
        self.warm_start: Hyperparameters = dict(warm_start or {})
        self.model_cache = model_cache
        self.hyperparameters: Hyperparameters = {}
        self.jitters: dict[str, float] = {}

    def regression(
        self,
        name: str,
        x: Tensor,
        y: Tensor,
        lengthscale: float,
        is_cached: bool = True,
        categorical: tuple[int, ...] = (),
    ) -> ExactRegressionGP:
        """Fit the regression GP ``name`` on inputs ``(n, d)`` and targets ``(n,)``,
        reusing (and storing back) the cached model of that name when ``is_cached``."""
        cached = self.model_cache.get(name) if self.model_cache is not None and is_cached else None
        if cached is not None and cached.train_inputs[0].shape[-1] == x.shape[-1]:
            cached.set_train_data(x, y, strict=False)
        else:
            cached = None
        model = self.with_retries(
            name,
            lambda: ExactRegressionGP(x, y, lengthscale, categorical=categorical),
            reused=cached,
        )
        if self.model_cache is not None and is_cached:
            self.model_cache[name] = model
        return model

    def with_retries(
        self, name: str, build: Callable[[], ModelT], reused: ModelT | None = None
    ) -> ModelT:
        """Fit ``reused`` or a new model, warm-started if possible; retry cold with more jitter.

        Raises:
            GPFitError: if every jitter in :data:`JITTER_RETRIES` fails.
        """
        model = reused if reused is not None else build()
        is_warm = reused is not None or (
            name in self.warm_start and load_hyperparameters(model, self.warm_start[name])
        )
        last_error: Exception | None = None
        for attempt, jitter in enumerate(JITTER_RETRIES):
            if attempt > 0:
                model = build()  # cold restart from the priors' medians
            is_short = is_warm and attempt == 0
            iterations = WARM_FIT_ITERATIONS if is_short else COLD_FIT_ITERATIONS
            evaluations = WARM_FIT_EVALUATIONS if is_short else None
            try:
                with gpytorch.settings.cholesky_jitter(double_value=jitter):
                    self._fit_on_subset(model, iterations, evaluations)
                    model.eval()
                    self.hyperparameters[name] = hyperparameters_of(model)
                    self.jitters[name] = jitter
                    return model
            except GPFitError as error:
                last_error = error
                logger.debug("fit of the %s GP failed with jitter %g: %s", name, jitter, error)
        raise GPFitError(f"could not fit the {name} GP: {last_error}")

    def _fit_on_subset(
        self, model: gpytorch.models.ExactGP, iterations: int, evaluations: int | None
    ) -> None:
        train_x = model.train_inputs[0]
        train_y = model.train_targets
        n = train_x.shape[0]
        if n <= MAX_FIT_POINTS:
            fit_map(model, iterations, evaluations)
            return
        if isinstance(model, SuccessGP):
            # Fit a copy on a subset that keeps both classes, then take its hyperparameters.
            small = model.on_subset(
                stratified_subset(model.is_success, MAX_FIT_POINTS, self.generator)
            )
            fit_map(small, iterations, evaluations)
            load_hyperparameters(model, hyperparameters_of(small))
            return
        subset = torch.randperm(n, generator=self.generator)[:MAX_FIT_POINTS]
        model.set_train_data(train_x[subset], train_y[..., subset], strict=False)
        try:
            fit_map(model, iterations, evaluations)
        finally:
            model.set_train_data(train_x, train_y, strict=False)


def stratified_subset(is_success: Tensor, size: int, generator: torch.Generator) -> Tensor:
    """``size`` random indices that keep every point of the rarer class, up to half of them."""
    order = torch.randperm(is_success.shape[0], generator=generator)
    successes, failures = order[is_success[order]], order[~is_success[order]]
    rare, common = sorted((successes, failures), key=lambda indices: indices.shape[0])
    rare = rare[: size // 2]
    return torch.cat([rare, common[: size - rare.shape[0]]])
