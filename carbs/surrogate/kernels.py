"""The GPs' kernels, for spaces of real params and for spaces with categorical ones.

Real params get a Matern-5/2 kernel with ARD lengthscales plus a linear term
(log cost is nearly linear in log-space params). Categorical params, whose
basic-space column holds a choice's index, are compared only by equality, with
:class:`OverlapKernel`; as in BoTorch's mixed models, the two are combined as a
sum and a product, so a choice can shift the output everywhere or change how
the real params act.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from gpytorch.constraints import Positive
from gpytorch.kernels import Kernel, MaternKernel, PolynomialKernel, ScaleKernel
from gpytorch.priors import LogNormalPrior
from torch import Tensor

OVERLAP_LENGTHSCALE = 1.0
"""Initial value and prior median of the overlap kernel's lengthscales."""


def log_normal(median: float, sigma: float) -> LogNormalPrior:
    """Log-normal prior with the given median; argument checks off, they cost more than the fit."""
    return LogNormalPrior(math.log(median), sigma, validate_args=False)


class OverlapKernel(Kernel):
    """``exp(-mean_i([x_i != x'_i] / l_i))`` over categorical columns (choice indices).

    Two inputs that make the same choices are as close as can be; every
    differing choice moves them apart by its own learned amount (ARD), with no
    order among the choices.
    """

    has_lengthscale = True

    def forward(self, x1: Tensor, x2: Tensor, diag: bool = False, **params: Any) -> Tensor:
        if diag:
            return torch.ones(x1.shape[:-1], dtype=x1.dtype, device=x1.device)
        weights = 1.0 / self.lengthscale  # (..., 1, c)
        distance = x1.new_zeros(())
        # Column by column: one (n, m) comparison each, never an (n, m, c) tensor.
        for column in range(x1.shape[-1]):
            differs = x1[..., :, column, None] != x2[..., None, :, column]
            distance = distance + differs * weights[..., column, None]
        return torch.exp(-distance / x1.shape[-1])


def _split(dim: int, categorical: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    continuous = tuple(i for i in range(dim) if i not in categorical)
    return continuous, tuple(categorical)


class MixedKernel(Kernel):
    """``w_0 k_real + w_1 k_choice + w_2 k_real k_choice``: BoTorch's mixed kernel in one pass.

    The sum lets a choice shift the output everywhere; the product lets it change
    how the real params act. Written as one kernel, each part is evaluated once
    per call (gpytorch's sum and product kernels would evaluate each part twice
    and keep a lazy operator per term), which keeps ``suggest()`` with
    categorical params close to the all-real speed.

    Args:
        real: The kernel of the real columns (with its ``active_dims``).
        choice: The kernel of the categorical columns (with its ``active_dims``).
    """

    def __init__(self, real: Kernel, choice: Kernel) -> None:
        super().__init__()
        self.real = real
        self.choice = choice
        self.register_parameter("raw_weights", torch.nn.Parameter(torch.zeros(3)))
        self.register_constraint("raw_weights", Positive())
        self.register_prior(
            "weights_prior",
            log_normal(1.0, 1.0),
            lambda module: module.weights,
            lambda module, value: module._set_weights(value),
        )
        self._set_weights(torch.ones(3))

    @property
    def weights(self) -> Tensor:
        """``(w_0, w_1, w_2)``: the real, choice and product terms' scales."""
        return self.raw_weights_constraint.transform(self.raw_weights)

    def _set_weights(self, value: Tensor) -> None:
        raw = self.raw_weights_constraint.inverse_transform(
            torch.as_tensor(value).to(self.raw_weights)
        )
        self.initialize(raw_weights=raw)

    def forward(self, x1: Tensor, x2: Tensor, diag: bool = False, **params: Any) -> Tensor:
        real = self.real(x1, x2, diag=diag, **params)
        choice = self.choice(x1, x2, diag=diag, **params)
        if not diag:
            real, choice = real.to_dense(), choice.to_dense()
        # (3,) for one model; (samples, 3) once a fully Bayesian fit batches it: each
        # weight then broadcasts over its sample's (m, n) block (or (m,) diagonal).
        weights = self.weights
        trailing = (1,) * (1 if diag else 2)
        w0, w1, w2 = (weights[..., i].reshape(*weights.shape[:-1], *trailing) for i in range(3))
        return w0 * real + w1 * choice + w2 * real * choice


def regression_kernel(dim: int, lengthscale: float, categorical: Sequence[int] = ()) -> Kernel:
    """The kernel of the performance and cost GPs over ``dim`` columns.

    Without categorical columns: ``Scale(Matern) + Scale(linear)``. With them:
    ``Mixed(Matern, overlap) + Scale(linear)`` (:class:`MixedKernel`), the real
    kernels over the real columns only.
    """
    continuous, choices = _split(dim, categorical)
    parts: list[Kernel] = []
    if choices and continuous:
        parts.append(MixedKernel(_matern(continuous, lengthscale, dim), _overlap(choices)))
    elif choices:
        parts.append(_scaled(_overlap(choices), 1.0, 1.0))
    else:
        parts.append(_scaled(_matern(continuous, lengthscale, dim), 1.0, 1.0))
    if continuous:
        # A dense degree-1 polynomial kernel (offset + x.x') is the linear term: gpytorch's
        # LinearKernel is low-rank, and adding low-rank to dense operators is slow.
        linear = PolynomialKernel(
            power=1, offset_prior=log_normal(1.0, 2.0), active_dims=_active(continuous, dim)
        )
        parts.append(_scaled(linear, 0.1, 2.0))
    kernel = parts[0]
    for part in parts[1:]:
        kernel = kernel + part
    return kernel


def classification_kernel(dim: int, lengthscale: float, categorical: Sequence[int] = ()) -> Kernel:
    """The success classifier's kernel: a batch of two (failure, success) latent functions."""
    batch = torch.Size((2,))
    continuous, choices = _split(dim, categorical)
    parts: list[Kernel] = []
    if continuous:
        matern = _matern(continuous, lengthscale, dim, batch)
        parts.append(ScaleKernel(matern, batch_shape=batch, outputscale_prior=log_normal(1.0, 1.5)))
    if choices:
        overlap = _overlap(choices, batch)
        parts.append(
            ScaleKernel(overlap, batch_shape=batch, outputscale_prior=log_normal(1.0, 1.5))
        )
    kernel = parts[0]
    for part in parts[1:]:
        kernel = kernel + part
    return kernel


def _active(columns: tuple[int, ...], dim: int) -> tuple[int, ...] | None:
    """``active_dims`` for ``columns``: ``None`` when they are all ``dim`` columns (as before
    categorical params existed, so all-real models keep their exact structure)."""
    return None if columns == tuple(range(dim)) else columns


def _matern(
    columns: tuple[int, ...], lengthscale: float, dim: int, batch: torch.Size | None = None
) -> MaternKernel:
    batch = batch or torch.Size()
    matern = MaternKernel(
        nu=2.5,
        ard_num_dims=len(columns),
        batch_shape=batch,
        lengthscale_prior=log_normal(lengthscale, 1.5),
        active_dims=_active(columns, dim),
    )
    # float64: a lengthscale from a wide initial_search_radius (1e40) overflows float32.
    matern.lengthscale = torch.full((*batch, 1, len(columns)), lengthscale, dtype=torch.float64)
    return matern


def _overlap(columns: tuple[int, ...], batch: torch.Size | None = None) -> OverlapKernel:
    batch = batch or torch.Size()
    overlap = OverlapKernel(
        ard_num_dims=len(columns),
        batch_shape=batch,
        lengthscale_prior=log_normal(OVERLAP_LENGTHSCALE, 1.5),
        active_dims=columns,
    )
    overlap.lengthscale = torch.full((*batch, 1, len(columns)), OVERLAP_LENGTHSCALE)
    return overlap


def _scaled(kernel: Kernel, initial: float, sigma: float) -> ScaleKernel:
    scaled = ScaleKernel(kernel, outputscale_prior=log_normal(initial, sigma))
    scaled.outputscale = initial
    return scaled
