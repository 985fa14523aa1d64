"""The fitted laws of :mod:`carbs.scaling`: one per parameter along the Pareto front.

A :class:`ScalingLaw` holds a numeric parameter's line ``basic value = intercept +
slope * log10(cost)`` and restates it in the parameter's own terms (a power-law
exponent for a :class:`~carbs.spaces.LogSpace`, units or log10 odds per decade of
cost otherwise); a :class:`ChoiceLaw` says which choice of a categorical parameter
the front uses as cost grows. :mod:`carbs.scaling` fits them and reads them at a
budget; its docstring states the conventions.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from carbs.checks import check_number
from carbs.errors import CARBSValueError
from carbs.linefit import LineFit
from carbs.spaces import (
    CategoricalSpace,
    LinearSpace,
    LogitSpace,
    LogSpace,
    OrdinalSpace,
    RealNumberSpace,
)
from carbs.spaces.base import same_value

NumericSpace = RealNumberSpace | OrdinalSpace


def slope_factor(space: NumericSpace) -> float:
    """Factor from a basic-space slope to the reported slope (see the module docstring).

    ``LogSpace``: basic = log_base(x) / scale, so ``d ln x = scale * ln(base) * d basic``
    and, with ``d ln c = ln(10) * d log10 c``, the exponent ``d ln x / d ln c`` is
    ``scale * log10(base)`` times the basic slope per decade. ``LinearSpace``: ``x =
    scale * basic``. ``LogitSpace``: log10 odds ``= scale * basic``. ``OrdinalSpace``:
    ``log10(x)`` or ``x`` is ``scale * basic``, as for a base-10 ``LogSpace`` or a
    ``LinearSpace``. Any other space reports the basic-space slope (factor 1).
    """
    if isinstance(space, LogSpace):
        return space.scale * math.log10(space.base)
    if isinstance(space, OrdinalSpace):
        return space.unit
    if isinstance(space, LinearSpace | LogitSpace):
        return space.scale
    return 1.0


def is_power_law(space: NumericSpace) -> bool:
    """Whether a slope in ``space`` is a power-law exponent (log-scaled spaces)."""
    return isinstance(space, LogSpace) or (isinstance(space, OrdinalSpace) and bool(space.is_log))


def slope_unit(space: NumericSpace) -> str:
    """What the reported slope of a parameter in ``space`` measures."""
    if is_power_law(space):
        return "exponent (d ln value / d ln cost)"
    if isinstance(space, LinearSpace | OrdinalSpace):
        return "value per decade of cost (d value / d log10 cost)"
    if isinstance(space, LogitSpace):
        return "log10 odds per decade of cost (d log10(p/(1-p)) / d log10 cost)"
    return "basic units per decade of cost"


@attrs.frozen(repr=False)
class ScalingLaw:
    """The fitted law of one parameter along the Pareto front.

    The underlying fit is ``basic value = intercept + slope * log10(cost)`` over
    the front members (``fit``); the properties below restate it in the
    parameter's own terms.

    Attributes:
        name: The parameter's name.
        space: The parameter's space.
        fit: Weighted least-squares fit of the basic value on ``log10(cost)``.
        costs: Mean cost of each front member, cheapest first.
        values: Each front member's value, param space.
        counts: Each front member's number of samples (the fit's weights).
    """

    name: str
    space: NumericSpace
    fit: LineFit
    costs: tuple[float, ...]
    values: tuple[float, ...]
    counts: tuple[int, ...]

    def __repr__(self) -> str:
        low, high = self.slope_interval
        return (
            f"ScalingLaw({self.name!r}: slope {self.slope:.4g} [{low:.4g}, {high:.4g}] "
            f"{self.unit}, R^2 {self.r_squared:.3f}, {self.num_points} front members, "
            f"cost {self.cost_range[0]:.4g}..{self.cost_range[1]:.4g})"
        )

    @property
    def is_power_law(self) -> bool:
        """``True`` for log-scaled parameters, whose slope is a power-law exponent."""
        return is_power_law(self.space)

    @property
    def slope(self) -> float:
        """The exponent (``LogSpace``) or the slope per decade of cost (other spaces)."""
        return self.fit.slope * slope_factor(self.space)

    @property
    def exponent(self) -> float | None:
        """``d ln value / d ln cost`` for a ``LogSpace`` parameter, else ``None``."""
        return self.slope if self.is_power_law else None

    @property
    def slope_interval(self) -> tuple[float, float]:
        """Confidence interval of :attr:`slope`."""
        factor = slope_factor(self.space)
        low, high = self.fit.slope_interval
        return (low * factor, high * factor)

    @property
    def unit(self) -> str:
        """What :attr:`slope` measures."""
        return slope_unit(self.space)

    @property
    def r_squared(self) -> float:
        """Weighted R^2 of the fit in basic space."""
        return self.fit.r_squared

    @property
    def num_points(self) -> int:
        """Number of front members the law was fitted on."""
        return self.fit.num_points

    @property
    def confidence(self) -> float:
        """Confidence level of the intervals."""
        return self.fit.confidence

    @property
    def cost_range(self) -> tuple[float, float]:
        """Cheapest and dearest front member's cost."""
        return (min(self.costs), max(self.costs))

    def basic_at(self, cost: float) -> float:
        """The law's value at ``cost``, basic space."""
        return self.fit.mean_at(_log10_cost(cost))

    def value_at(self, cost: float) -> float:
        """The law's value at ``cost``, param space, neither rounded nor clipped."""
        return float(self.space.param_from_basic(self.basic_at(cost), is_rounded=False))

    def interval_at(self, cost: float) -> tuple[float, float]:
        """Confidence interval of the law at ``cost``, param space, neither rounded nor clipped."""
        low, high = self.fit.mean_interval_at(_log10_cost(cost))
        return (
            float(self.space.param_from_basic(low, is_rounded=False)),
            float(self.space.param_from_basic(high, is_rounded=False)),
        )


@attrs.frozen(repr=False)
class ChoiceLaw:
    """Which choice of a categorical param the Pareto front uses as cost grows.

    A categorical param has no slope; instead the front's members, cheapest
    first, fall into *bands* of consecutive members that share a choice.

    Attributes:
        name: The parameter's name.
        space: The parameter's space.
        costs: Mean cost of each front member, cheapest first.
        values: Each front member's choice.
        counts: Each front member's number of samples.
    """

    name: str
    space: CategoricalSpace
    costs: tuple[float, ...]
    values: tuple[Any, ...]
    counts: tuple[int, ...]

    is_power_law = False

    def __repr__(self) -> str:
        bands = ", ".join(f"{value!r} at {low:.4g}..{high:.4g}" for low, high, value in self.bands)
        return f"ChoiceLaw({self.name!r}: {bands})"

    @property
    def bands(self) -> list[tuple[float, float, Any]]:
        """``(cheapest cost, dearest cost, choice)`` of each run of members sharing a choice."""
        bands: list[tuple[float, float, Any]] = []
        for cost, value in zip(self.costs, self.values, strict=True):
            if bands and same_value(bands[-1][2], value):
                bands[-1] = (bands[-1][0], cost, value)
            else:
                bands.append((cost, cost, value))
        return bands

    @property
    def num_points(self) -> int:
        """Number of front members."""
        return len(self.costs)

    @property
    def cost_range(self) -> tuple[float, float]:
        """Cheapest and dearest front member's cost."""
        return (min(self.costs), max(self.costs))

    def value_at(self, cost: float) -> Any:
        """The choice of the front member nearest to ``cost`` in log cost (the dearer on a tie)."""
        log_cost = _log10_cost(cost)
        distances = [abs(math.log10(c) - log_cost) for c in self.costs]
        best = min(range(len(distances)), key=lambda i: (distances[i], -i))
        return self.values[best]


Law = ScalingLaw | ChoiceLaw


def _log10_cost(cost: float) -> float:
    """``log10(cost)`` of a budget checked to be a finite real number > 0.

    Raises:
        CARBSValueError: naming ``cost``.
    """
    return math.log10(
        check_number(cost, "cost", CARBSValueError, min_value=0.0, exclusive_min=True)
    )
