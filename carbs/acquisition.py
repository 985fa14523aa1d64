"""Cost-aware acquisition: log expected improvement plus prior density and success, cost-masked.

Everything is computed in log space so that candidates far from the target
keep distinct, finite scores instead of all underflowing to zero (see Ament
et al. 2023, "Unexpected improvements to expected improvement").
"""

from __future__ import annotations

import math

import attrs
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


@attrs.frozen
class CandidateScores:
    """The score of ``m`` candidates and each of its terms; every field has shape ``(m,)``.

    Attributes:
        improvement_target: What a candidate must beat, surrogate units, before
            the exploration bias is added.
        log_expected_improvement: ``log E[max(f - target - bias, 0)]``.
        log_prior_density: Log density of the search distribution at the candidate.
        log_success_probability: ``log P(success)``.
        is_affordable: Whether the predicted cost is below ``max_suggestion_cost``.
        total: ``log EI + log prior density + log P(success)``, ``-inf`` where not affordable.
    """

    improvement_target: Tensor
    log_expected_improvement: Tensor
    log_prior_density: Tensor
    log_success_probability: Tensor
    is_affordable: Tensor
    total: Tensor

    def best_index(self) -> int | None:
        """Index of the highest finite total; ``None`` if no candidate is affordable."""
        finite = torch.isfinite(self.total)
        if not finite.any():
            return None
        return int(torch.argmax(torch.where(finite, self.total, -math.inf)))


def improvement_target(
    pareto_value_at_cost: Tensor,
    *,
    floor: float | None = None,
    constant: float | None = None,
) -> Tensor:
    """What each candidate must improve on, in surrogate units, before the exploration bias.

    The three modes of the established release:

    * ``constant`` given (``is_expected_improvement_value_always_max``): that value
      (the best front member's) everywhere;
    * ``floor`` given (``is_expected_improvement_pareto_value_clamped``, the
      default): the front's value at the candidate's predicted cost, but never
      below ``floor``, the front's value at a random threshold cost. Cheap
      candidates then have to beat a dearer front member, which pushes the
      search up the cost axis;
    * neither: the front's value at the candidate's predicted cost.

    Args:
        pareto_value_at_cost: The Pareto GP at each candidate's predicted cost, ``(m,)``.
        floor: Lower clamp of the target.
        constant: A target for every candidate (wins over ``floor``).

    Returns:
        Shape ``(m,)``.
    """
    if constant is not None:
        return torch.full_like(pareto_value_at_cost, constant)
    if floor is not None:
        return pareto_value_at_cost.clamp_min(floor)
    return pareto_value_at_cost


def score_candidates(
    *,
    surrogate_mean: Tensor,
    surrogate_std: Tensor,
    target: Tensor,
    exploration_bias: float,
    log_prior_density: Tensor,
    success_probability: Tensor,
    predicted_cost: Tensor,
    max_cost: float | None,
    log_improvement: Tensor | None = None,
) -> CandidateScores:
    """Score candidates by cost-aware expected improvement (DESIGN 2.7).

    ``log EI(mean, std; target + exploration_bias) + log prior density +
    log P(success)``, masked to ``-inf`` where the predicted cost reaches
    ``max_cost``. Each term matters to which candidate wins: a higher
    predicted output or a wider posterior raises EI, a larger exploration
    bias favours wide posteriors over high means, the prior density keeps
    the search near the front, and the success probability steers away
    from failures. The suggestion is the argmax of ``total``.

    Args:
        surrogate_mean: Performance posterior mean, surrogate units, ``(m,)``.
        surrogate_std: Performance posterior std, ``(m,)``.
        target: Improvement target, ``(m,)`` (see :func:`improvement_target`).
        exploration_bias: Added to the target; larger explores more.
        log_prior_density: ``(m,)``.
        success_probability: ``(m,)``, in ``[0, 1]``.
        predicted_cost: ``(m,)``, the user's cost units.
        max_cost: ``max_suggestion_cost`` or ``None``.
        log_improvement: A log improvement term that replaces EI (at a budget
            below the front, see :func:`carbs.suggestions.budget_terms`).
    """
    log_ei = log_improvement
    if log_ei is None:
        log_ei = log_expected_improvement(surrogate_mean, surrogate_std, target + exploration_bias)
    log_success = torch.log(success_probability.clamp_min(1e-300))
    if max_cost is None:
        is_affordable = torch.ones_like(predicted_cost, dtype=torch.bool)
    else:
        is_affordable = predicted_cost < max_cost
    total = torch.where(
        is_affordable, log_ei + log_prior_density + log_success, torch.full_like(log_ei, -math.inf)
    )
    return CandidateScores(
        improvement_target=target,
        log_expected_improvement=log_ei,
        log_prior_density=log_prior_density,
        log_success_probability=log_success,
        is_affordable=is_affordable,
        total=total,
    )
