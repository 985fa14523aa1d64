"""Least-squares projection of a run's final output from features of completed runs.

Pure functions behind :mod:`carbs.stopping`: an ordinary least-squares fit with its
Student-t predictive distribution (:func:`project_final`) and the fit's leave-one-out
error (:func:`leave_one_out_error`), both computed from the singular value
decomposition of the features, each feature in a power-of-two unit of its own, so
that neither the units of the outputs nor a query far beyond the data changes the
answer or overflows.
"""

from __future__ import annotations

import math

import attrs
import numpy as np

from carbs.surrogate.transforms import power_of_two_scale


@attrs.frozen
class Projection:
    """Student-t prediction of a final goodness: ``mean + scale * T(dof)``.

    It is held as ``unit * (unit_mean + unit_scale * T(dof))`` with ``unit`` a power of
    two, 1 unless the running run lies so far beyond the completed ones that the mean
    or the scale overflows in goodness itself (they are then infinite, while the
    probability is still exact).
    """

    unit_mean: float
    unit_scale: float
    dof: int
    unit: float = 1.0

    @property
    def mean(self) -> float:
        """The predicted final goodness (the centre of the Student-t)."""
        return self.unit_mean * self.unit

    @property
    def scale(self) -> float:
        """The Student-t's scale, in goodness."""
        return self.unit_scale * self.unit

    def probability_above(self, target: float) -> float:
        """Probability that the final goodness exceeds ``target``."""
        from scipy import stats  # loaded on first use: `import carbs` stays quick

        target = target / self.unit
        if self.unit_scale <= 0.0:
            return float(self.unit_mean > target)
        return float(stats.t.sf((target - self.unit_mean) / self.unit_scale, self.dof))

    def at_least_as_wide_as(self, scale: float) -> Projection:
        """This prediction with its scale raised to ``scale`` (goodness) if below it."""
        return attrs.evolve(self, unit_scale=max(self.unit_scale, scale / self.unit))


def project_final(features: np.ndarray, finals: np.ndarray, query: np.ndarray) -> Projection | None:
    """Least-squares prediction of a final goodness from features of completed runs.

    Args:
        features: Shape ``(n, p)``; column 0 is the constant 1.
        finals: Final goodness of the n runs, shape ``(n,)``.
        query: Features of the running run, shape ``(p,)``.

    Returns:
        The predictive Student-t distribution (ordinary least squares with unknown
        noise), or ``None`` when there are not more runs than coefficients. Each
        feature is fitted in a power-of-two unit of its own, so the answer does not
        depend on the units of the outputs.
    """
    n, p = features.shape
    units = _column_units(features)
    scaled = features / units
    kept = _independent_columns(scaled)
    if len(kept) < p:  # a column the others explain (every reading alike): leave it out
        scaled, units, query = scaled[:, kept], units[kept], query[kept]
        p = len(kept)
    if n <= p:
        return None
    coefficients, *_ = np.linalg.lstsq(scaled, finals, rcond=None)
    residuals = finals - scaled @ coefficients
    dof = n - p
    noise_variance = float(residuals @ residuals) / dof
    # A perfect fit still leaves the run's own noise unknown: floor it at a tiny
    # fraction of the spread of the finals, so that the t scale is never zero.
    noise_variance = max(noise_variance, 1e-12 * (float(np.var(finals)) + 1e-300))
    with np.errstate(over="ignore"):  # the largest float stands in for an overflow
        query = np.nan_to_num(query / units)
    # The mean and the scale both grow with the query; in units of a power of two of
    # the query's size their ratio, and so the probability, is exact however far out.
    unit = power_of_two_scale(query)
    query = query / unit
    # Leverage from the singular vectors: the squared condition number of X^T X would
    # lose a feature whose spread is small against another's.
    _, singular_values, right_vectors = np.linalg.svd(scaled, full_matrices=False)
    along = (right_vectors @ query) / singular_values
    unit_scale = math.sqrt(noise_variance) * math.sqrt((1.0 / unit) ** 2 + float(along @ along))
    return Projection(float(query @ coefficients), unit_scale, dof, unit)


def _independent_columns(scaled: np.ndarray) -> list[int]:
    """The columns, left to right, that each add to the rank of those before them.

    Dropping trailing columns instead kept a constant reading beside the intercept
    (the two collinear) and lost the log cost, the one column that varied."""
    kept: list[int] = []
    for column in range(scaled.shape[1]):
        if np.linalg.matrix_rank(scaled[:, [*kept, column]]) > len(kept):
            kept.append(column)
    return kept


def _column_units(features: np.ndarray) -> np.ndarray:
    """Per column, the power of two bringing its largest magnitude within ``[1, 2)``
    (1 for a column of zeros); dividing by it is exact."""
    largest = np.abs(features).max(axis=0)
    exponents = np.frexp(largest)[1] - 1
    return np.ldexp(1.0, np.where(largest > 0.0, exponents, 0))


def leave_one_out_error(features: np.ndarray, finals: np.ndarray) -> float:
    """Sum of squared leave-one-out residuals of the least-squares fit (PRESS).

    Each run's final is predicted by the fit to the other runs, in closed form:
    the residual divided by one minus the run's leverage.

    Args:
        features: Shape ``(n, p)``.
        finals: Shape ``(n,)``.
    """
    scaled = features / _column_units(features)
    left_vectors, singular_values, _ = np.linalg.svd(scaled, full_matrices=False)
    cutoff = float(singular_values.max(initial=0.0)) * max(scaled.shape) * np.finfo(float).eps
    basis = left_vectors[:, singular_values > cutoff]
    residuals = finals - basis @ (basis.T @ finals)
    leverage = np.einsum("ij,ij->i", basis, basis)
    # A run with leverage 1 is fitted exactly by any model: it cannot judge them.
    judged = leverage < 1.0 - 1e-9
    held_out = np.divide(residuals, 1.0 - leverage, out=np.zeros_like(residuals), where=judged)
    return float(held_out @ held_out)
