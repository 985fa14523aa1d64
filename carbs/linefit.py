"""Weighted least-squares lines with t-intervals, for the scaling laws."""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs
import numpy as np

from carbs.checks import check_number
from carbs.errors import CARBSValueError, InsufficientDataError

DEFAULT_CONFIDENCE = 0.95

# Values spread less than this many float64 steps at their magnitude (at least 1: x is
# a log cost, whose resolution is absolute) count as equal; a spread any wider is
# measured, whatever the units the values were taken in.
_RESOLVED_ULPS = 1024


@attrs.frozen
class LineFit:
    """A weighted least-squares line ``y = intercept + slope * x`` with its uncertainty.

    The weights are precision weights: point ``i`` is assumed to have noise
    variance ``sigma**2 / weights[i]``, with ``sigma`` estimated from the
    weighted residuals.

    Attributes:
        slope: Fitted slope.
        intercept: Fitted value at ``x = 0``.
        slope_std_error: Standard error of the slope (``inf`` with two points).
        slope_interval: Two-sided ``confidence`` t-interval of the slope.
        r_squared: Weighted coefficient of determination; ``1.0`` when the
            responses are all equal and fitted exactly.
        num_points: Number of points ``n``.
        confidence: Confidence level of the intervals, e.g. ``0.95``.
        x_mean: Weighted mean of ``x``.
        sum_weights: Sum of the weights.
        sxx: Weighted sum of squares of ``x - x_mean``.
        residual_variance: Weighted residual sum of squares over ``n - 2``
            (``nan`` with two points).
        t_quantile: The t-distribution quantile the intervals use (``inf`` with two points).
    """

    slope: float
    intercept: float
    slope_std_error: float
    slope_interval: tuple[float, float]
    r_squared: float
    num_points: int
    confidence: float
    x_mean: float
    sum_weights: float
    sxx: float
    residual_variance: float
    t_quantile: float

    @property
    def degrees_of_freedom(self) -> int:
        """Residual degrees of freedom, ``n - 2``."""
        return self.num_points - 2

    def mean_at(self, x: float) -> float:
        """The fitted line at ``x``."""
        return self.intercept + self.slope * x

    def mean_interval_at(self, x: float) -> tuple[float, float]:
        """Confidence interval of the fitted line (not of a new observation) at ``x``."""
        mean = self.mean_at(x)
        if self.degrees_of_freedom < 1:
            return (-math.inf, math.inf)
        variance = self.residual_variance * (
            1.0 / self.sum_weights + (x - self.x_mean) ** 2 / self.sxx
        )
        half_width = self.t_quantile * math.sqrt(max(variance, 0.0))
        return (mean - half_width, mean + half_width)


def check_confidence(confidence: float) -> float:
    """``confidence`` as a float, checked: a number in ``(0, 1)`` whose two-sided
    interval has a finite bound in float64 (``0.5 + confidence / 2 < 1``).

    Raises:
        CARBSValueError: otherwise, naming the field.
    """
    value = check_number(confidence, "confidence", CARBSValueError)
    if not 0.0 < value < 1.0:
        raise CARBSValueError(f"confidence must lie in (0, 1), got {confidence}")
    if not 0.5 + value / 2 < 1.0:
        raise CARBSValueError(
            f"confidence {confidence!r} is too close to 1: its interval would be infinite"
        )
    return value


def _checked_arrays(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    weights: Sequence[float] | np.ndarray | None,
    confidence: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``x``, ``y`` and the weights as float64 arrays, checked (see weighted_least_squares)."""
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    ws = np.ones_like(xs) if weights is None else np.asarray(weights, dtype=np.float64)
    if xs.ndim != 1 or xs.shape != ys.shape or xs.shape != ws.shape:
        raise CARBSValueError(
            f"x, y and weights must be 1-D and of equal length, got shapes "
            f"{xs.shape}, {ys.shape}, {ws.shape}"
        )
    check_confidence(confidence)
    if not (np.isfinite(xs).all() and np.isfinite(ys).all() and np.isfinite(ws).all()):
        raise CARBSValueError("x, y and weights must be finite")
    if (ws <= 0).any():
        raise CARBSValueError("weights must be > 0")
    if xs.shape[0] < 2:
        raise InsufficientDataError(f"a line needs at least 2 points, got {xs.shape[0]}")
    return xs, ys, ws


def weighted_least_squares(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    weights: Sequence[float] | np.ndarray | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
) -> LineFit:
    """Fit ``y = intercept + slope * x`` by weighted least squares.

    Args:
        x: Regressor values, shape ``(n,)``, ``n >= 2``, not all equal.
        y: Responses, shape ``(n,)``.
        weights: Positive precision weights (e.g. sample counts); all ones if ``None``.
        confidence: Level of the slope and mean intervals, in ``(0, 1)``.

    Returns:
        The fit; with exactly two points the intervals are infinite.

    Raises:
        InsufficientDataError: fewer than two points, or ``x`` has no spread.
        CARBSValueError: mismatched shapes, non-finite values, non-positive
            weights or a confidence outside ``(0, 1)``.
    """
    xs, ys, ws = _checked_arrays(x, y, weights, confidence)
    n = xs.shape[0]

    sum_w = float(ws.sum())
    x_mean = float((ws * xs).sum() / sum_w)
    y_mean = float((ws * ys).sum() / sum_w)
    dx = xs - x_mean
    dy = ys - y_mean
    sxx = float((ws * dx * dx).sum())
    if not _is_resolved(sxx, sum_w, xs):
        raise InsufficientDataError("the points have no spread in x; a slope is undefined")
    slope = float((ws * dx * dy).sum() / sxx)
    intercept = y_mean - slope * x_mean
    residuals = ys - (intercept + slope * xs)
    ss_res = float((ws * residuals * residuals).sum())
    ss_tot = float((ws * dy * dy).sum())
    # constant responses are fitted exactly by a flat line
    r_squared = 1.0 - ss_res / ss_tot if _is_resolved(ss_tot, sum_w, ys) else 1.0
    dof = n - 2
    if dof >= 1:
        residual_variance = ss_res / dof
        slope_se = math.sqrt(residual_variance / sxx)
        from scipy import stats  # imported on use: scipy.stats costs ~0.5 s at import

        t_quantile = float(stats.t.ppf(0.5 + confidence / 2, dof))
        slope_interval = (slope - t_quantile * slope_se, slope + t_quantile * slope_se)
    else:
        residual_variance = math.nan
        slope_se = math.inf
        t_quantile = math.inf
        slope_interval = (-math.inf, math.inf)
    return LineFit(
        slope=slope,
        intercept=intercept,
        slope_std_error=slope_se,
        slope_interval=slope_interval,
        r_squared=r_squared,
        num_points=n,
        confidence=confidence,
        x_mean=x_mean,
        sum_weights=sum_w,
        sxx=sxx,
        residual_variance=residual_variance,
        t_quantile=t_quantile,
    )


def _is_resolved(sum_of_squares: float, sum_w: float, values: np.ndarray) -> bool:
    """Whether a weighted sum of squared deviations of ``values`` is wider than float64
    resolves at their magnitude (so a slope or an R^2 measures something)."""
    step = _RESOLVED_ULPS * float(np.finfo(np.float64).eps) * max(1.0, float(np.abs(values).max()))
    return sum_of_squares > sum_w * step * step
