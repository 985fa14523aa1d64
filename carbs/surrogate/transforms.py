"""Output transforms between the user's units and the GP's surrogate space."""

from __future__ import annotations

import math

import attrs
import numpy as np
import torch
from torch import Tensor


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing their mean rank (``scipy.stats.rankdata``'s default),
    without importing scipy.stats, which takes most of a second."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], ordered.shape[0]]
    mean_ranks = (starts + ends + 1) / 2  # ranks starts+1 .. ends, averaged
    ranks = np.empty(values.shape[0], dtype=np.float64)
    ranks[order] = np.repeat(mean_ranks, ends - starts)
    return ranks


@attrs.frozen
class QuantileNormalTransform:
    """Rank (quantile) transform of outputs to a standard normal, larger = better.

    Fitted on the observed outputs ``y``: the k-th smallest of ``n`` signed
    outputs maps to ``Phi^-1((k - 0.5) / n)`` (ties share their mean rank).
    Other values map by piecewise-linear interpolation between the fitted
    pairs, extrapolating linearly with the end slopes, so the transform is
    monotone everywhere and heavy tails cannot dominate the GP. While the outputs
    take a single value, one surrogate unit is that value's magnitude (1 for 0):
    nothing measures their spread yet, and a fixed slope would report a spread
    that ignores the outputs' units.

    Attributes:
        signed_outputs: Sorted unique ``output * better_direction_sign``, shape ``(k,)``.
        surrogate_values: Their standard-normal images, shape ``(k,)``.
        better_direction_sign: ``1`` to maximise, ``-1`` to minimise.
    """

    signed_outputs: np.ndarray
    surrogate_values: np.ndarray
    better_direction_sign: int

    @classmethod
    def fit(cls, outputs: np.ndarray, better_direction_sign: int) -> QuantileNormalTransform:
        """Fit on outputs of shape ``(n,)``, n >= 1."""
        signed = np.asarray(outputs, dtype=np.float64) * better_direction_sign
        n = signed.shape[0]
        quantiles = torch.as_tensor((average_ranks(signed) - 0.5) / n, dtype=torch.float64)
        z = torch.special.ndtri(quantiles).numpy() if n > 1 else np.zeros(1)
        unique, inverse = np.unique(signed, return_inverse=True)
        z_unique = np.zeros_like(unique)
        np.add.at(z_unique, inverse, z)
        z_unique /= np.bincount(inverse)
        return cls(unique, z_unique, better_direction_sign)

    def to_surrogate(self, outputs: Tensor) -> Tensor:
        """Map outputs in user units ``(...)`` to surrogate values ``(...)``."""
        signed = outputs.detach().cpu().numpy().astype(np.float64) * self.better_direction_sign
        return torch.as_tensor(
            _interp_linear_tails(signed, self.signed_outputs, self.surrogate_values)
        )

    def from_surrogate(self, surrogate: Tensor) -> Tensor:
        """Map surrogate values ``(...)`` back to outputs in user units ``(...)``."""
        values = surrogate.detach().cpu().numpy().astype(np.float64)
        signed = _interp_linear_tails(values, self.surrogate_values, self.signed_outputs)
        return torch.as_tensor(signed * self.better_direction_sign)

    def surrogate_std_to_output_std(self, mean: Tensor, std: Tensor) -> Tensor:
        """Approximate output std in user units by the half-width of mean +- std, mapped back."""
        upper = self.from_surrogate(mean + std)
        lower = self.from_surrogate(mean - std)
        return (upper - lower).abs() / 2


def _interp_linear_tails(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """``np.interp``, extrapolating linearly with the end slopes.

    A single point has no slope: one unit of ``x`` is taken as one unit of ``f``, each
    unit the magnitude of the point's own coordinate (1 for 0), so that the line is the
    same whatever units ``x`` and ``f`` are in.

    An end gap narrower than float64 resolution at the data's scale counts as that
    resolution: two outputs that differ by ~1e-308 would otherwise give an infinite
    slope and map everything beyond them to infinity. ``xp`` and ``fp`` are scaled
    down by powers of two (exact) while the lines are drawn, so that outputs near
    the largest float neither overflow the differences and slopes nor turn a finite
    answer into an infinity; only an answer past the float range is infinite, and
    without a warning.
    """
    if xp.shape[0] == 1:
        with np.errstate(over="ignore"):  # past the float range the answer is inf
            return fp[0] + (x - xp[0]) / _magnitude(xp[0]) * _magnitude(fp[0])
    x_scale, f_scale = power_of_two_scale(xp), power_of_two_scale(fp)
    x, xp, fp = x / x_scale, xp / x_scale, fp / f_scale
    result = np.interp(x, xp, fp)
    resolution = np.finfo(np.float64).eps * max(1.0, float(np.abs(xp).max()))
    left_slope = (fp[1] - fp[0]) / max(xp[1] - xp[0], resolution)
    right_slope = (fp[-1] - fp[-2]) / max(xp[-1] - xp[-2], resolution)
    # Far past the data the line leaves the float range, where inf is the answer;
    # np.where also evaluates each line where the other value is kept.
    with np.errstate(over="ignore"):
        result = np.where(x < xp[0], fp[0] + (x - xp[0]) * left_slope, result)
        result = np.where(x > xp[-1], fp[-1] + (x - xp[-1]) * right_slope, result)
        return result * f_scale


def power_of_two_scale(values: np.ndarray) -> float:
    """A power of two that brings ``values`` within ``[-2, 2]`` (1 if they already are).

    Dividing by it is exact (short of subnormals), so a computation on the scaled
    values gives the same bits, scaled, without overflowing near the largest float.
    """
    largest = float(np.abs(values).max())
    if not largest > 2.0:
        return 1.0
    return math.ldexp(1.0, math.frexp(largest)[1] - 1)


@attrs.frozen
class LogCostTransform:
    """Maps costs to ``log(cost)`` scaled so the observed range spans ``[-1, 1]``.

    Attributes:
        center: Midpoint of observed log costs.
        half_range: Half the observed log-cost range (1 when all costs are equal).
    """

    center: float
    half_range: float

    @classmethod
    def fit(cls, costs: np.ndarray) -> LogCostTransform:
        """Fit on positive costs of shape ``(n,)``."""
        log_costs = np.log(np.asarray(costs, dtype=np.float64))
        low, high = float(log_costs.min()), float(log_costs.max())
        half_range = (high - low) / 2
        return cls((high + low) / 2, half_range if half_range > 1e-12 else 1.0)

    def to_surrogate(self, costs: Tensor) -> Tensor:
        """Costs ``(...)`` to scaled log cost ``(...)``."""
        return (torch.log(costs) - self.center) / self.half_range

    def from_surrogate(self, scaled: Tensor) -> Tensor:
        """Scaled log cost ``(...)`` back to cost ``(...)``."""
        return torch.exp(scaled * self.half_range + self.center)


def _magnitude(value: float) -> float:
    """``|value|``, or 1 for 0: the unit a lone coordinate gives its axis."""
    return abs(float(value)) or 1.0
