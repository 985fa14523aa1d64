"""Cost-aware acquisition: log expected improvement times prior, success and cost mask.

Everything is computed in log space so that candidates far from the target
keep distinct, finite scores instead of all underflowing to zero (see Ament
et al. 2023, "Unexpected improvements to expected improvement").
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_SQRT_HALF_PI = math.sqrt(math.pi / 2)
_INV_SQRT2 = 1 / math.sqrt(2)
# Below this z the series 1 - |z| R(|z|) loses all precision; use its asymptote 1/z^2.
_ASYMPTOTIC_Z = -1e6


def log_h(z: Tensor) -> Tensor:
    """``log(phi(z) + z * Phi(z))``, stable for every finite ``z``.

    ``phi(z) + z Phi(z)`` is the expected improvement of a unit normal over
    ``-z``. For ``z > -1`` it is evaluated directly. Below, it is written as
    ``phi(z) * (1 - |z| R(|z|))`` with the Mills ratio
    ``R(x) = sqrt(pi / 2) * erfcx(x / sqrt(2))``, which neither underflows
    nor cancels until ``|z|`` is huge, where ``1 - |z| R(|z|) ~ 1 / z^2``.

    Args:
        z: Standardised improvements, any shape.

    Returns:
        Same shape as ``z``.
    """
    z = z.to(torch.float64)
    direct = torch.log(torch.exp(-0.5 * z**2 - _LOG_SQRT_2PI) + z * torch.special.ndtr(z))
    abs_z = z.abs()
    log_phi = -0.5 * z**2 - _LOG_SQRT_2PI
    mills = _SQRT_HALF_PI * torch.special.erfcx(abs_z * _INV_SQRT2)
    middle = log_phi + torch.log1p(-abs_z * mills)
    asymptotic = log_phi - 2 * torch.log(abs_z.clamp_min(1.0))
    tail = torch.where(z > _ASYMPTOTIC_Z, middle, asymptotic)
    return torch.where(z > -1, direct, tail)


def log_expected_improvement(mean: Tensor, std: Tensor, target: Tensor | float) -> Tensor:
    """Log of ``E[max(f - target, 0)]`` for ``f ~ N(mean, std^2)``.

    Args:
        mean: Posterior means, shape ``(m,)``.
        std: Posterior standard deviations (> 0), shape ``(m,)``.
        target: Value to improve on, scalar or shape ``(m,)``.

    Returns:
        Log expected improvement, shape ``(m,)``.
    """
    std = std.clamp_min(1e-12)
    z = (mean - target) / std
    return torch.log(std) + log_h(z)


def log_search_density(distances: Tensor, radius: float) -> Tensor:
    """Log density of a centred normal with std ``radius`` at ``distances`` (any shape)."""
    return -0.5 * (distances / radius) ** 2 - math.log(radius) - _LOG_SQRT_2PI


def log_acquisition(
    log_ei: Tensor,
    log_prior_density: Tensor,
    success_probability: Tensor,
    predicted_cost: Tensor,
    max_cost: float | None,
) -> Tensor:
    """The cost-aware score of DESIGN 2.7, in log space.

    ``log EI + log prior density + log P(success)``, and ``-inf`` where the
    predicted cost is at or above ``max_cost``. All arguments have shape ``(m,)``.
    """
    score = log_ei + log_prior_density + torch.log(success_probability.clamp_min(1e-300))
    if max_cost is not None:
        score = torch.where(predicted_cost < max_cost, score, torch.full_like(score, -math.inf))
    return score
