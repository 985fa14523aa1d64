"""Real-valued spaces: ``LinearSpace``, ``LogSpace`` and ``LogitSpace``.

``LinearSpace`` maps ``x -> x / scale``, ``LogSpace`` maps
``x -> log_base(x) / scale`` and ``LogitSpace`` maps
``p -> log10(p / (1 - p)) / scale``. Bounds are checked in param space, after
integer rounding, so that every suggestion is a legal value.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs
import torch
from torch import Tensor

from carbs.checks import (
    check_bool,
    check_integer,
    check_number,
    integer_as_int,
    plain_scalar,
    real_as_float,
)
from carbs.errors import InvalidObservationError, InvalidParamError, InvalidSpaceError
from carbs.spaces.base import Space, whole_number

MAX_EXACT_INTEGER = 2**53
"""The largest lattice factor, and the largest magnitude of the bounds of an integer param
with a factor above 1: beyond it float64, in which carbs computes, no longer holds every
integer, so a suggestion could not be rounded onto the lattice exactly."""
BISECTION_STEPS = 64
"""Halvings that find the legal basic value nearest an open end (see ``clip_basic``)."""


@attrs.frozen(kw_only=True)
class RealNumberSpace(Space):
    """Common settings of the real-valued spaces.

    Attributes:
        min: Smallest legal value (inclusive), in param space.
        max: Largest legal value (inclusive), in param space.
        scale: Size of one basic-space unit in transformed units. A larger
            scale makes the default 0.3 search radius a bigger step.
        is_integer: Round suggestions to multiples of ``rounding_factor``.
        rounding_factor: Lattice spacing for integer spaces (1 = every integer).
    """

    min: float = attrs.field(default=-math.inf, converter=real_as_float)
    max: float = attrs.field(default=math.inf, converter=real_as_float)
    scale: float = attrs.field(default=1.0, converter=real_as_float)
    is_integer: bool = attrs.field(default=False, converter=plain_scalar)
    rounding_factor: int = attrs.field(default=1, converter=integer_as_int)

    def __attrs_post_init__(self) -> None:
        name = type(self).__name__
        error = InvalidSpaceError
        check_number(self.scale, f"{name}.scale", error, min_value=0.0, exclusive_min=True)
        check_number(self.min, f"{name}.min", error, finite=False, max_value=math.inf)
        check_number(self.max, f"{name}.max", error, finite=False, max_value=math.inf)
        check_bool(self.is_integer, f"{name}.is_integer", error)
        check_integer(
            self.rounding_factor,
            f"{name}.rounding_factor",
            error,
            min_value=1,
            max_value=MAX_EXACT_INTEGER,
        )
        if self.min >= self.max:
            raise InvalidSpaceError(f"{name}.min must be < max, got min={self.min}, max={self.max}")
        if self.is_integer and self.rounding_factor > 1:
            # Every float beyond 2**53 is an integer, but few are multiples of 3.
            for end, value in (("min", self.min), ("max", self.max)):
                if math.isfinite(value) and abs(value) > MAX_EXACT_INTEGER:
                    raise InvalidSpaceError(
                        f"{name}.{end}={value} is beyond 2**53, where float64 no longer "
                        "holds every integer: an integer param with a rounding_factor "
                        "must lie within +-2**53"
                    )
        if self.is_integer and math.isfinite(self.min) and math.isfinite(self.max):
            lowest = math.ceil(self.min / self.rounding_factor) * self.rounding_factor
            if lowest > self.max:
                raise InvalidSpaceError(
                    f"{name} with is_integer=True has no multiple of "
                    f"rounding_factor={self.rounding_factor} in [min={self.min}, max={self.max}]"
                )

    # -- transforms on tensors; subclasses define the pair below -------------------------
    def basic_from_param_tensor(self, values: Tensor) -> Tensor:
        """Map param-space values to basic space, elementwise."""
        raise NotImplementedError

    def param_from_basic_tensor(self, values: Tensor) -> Tensor:
        """Map basic-space values to (unrounded) param space, elementwise."""
        raise NotImplementedError

    @property
    def plot_scale(self) -> str:
        """The matplotlib axis scale that shows this space evenly."""
        raise NotImplementedError

    # -- derived helpers -----------------------------------------------------------------
    def round_param_tensor(self, values: Tensor) -> Tensor:
        """Round param-space values onto the integer lattice (identity for float spaces)."""
        if not self.is_integer:
            return values
        return torch.round(values / self.rounding_factor) * self.rounding_factor

    def round_tensor_in_basic(self, values: Tensor) -> Tensor:
        """Snap basic-space values so that they map to lattice points in param space."""
        if not self.is_integer:
            return values
        return self.basic_from_param_tensor(
            self.round_param_tensor(self.param_from_basic_tensor(values))
        )

    def legal_bounds(self) -> tuple[float, float]:
        """The lowest and highest legal param values: ``min`` and ``max``, except that an
        integer lattice with ``rounding_factor`` above 1 stops at +-2**53 (beyond it float64
        holds few multiples of the factor, so an unbounded end stops there)."""
        if self.is_integer and self.rounding_factor > 1:
            return (max(self.min, -MAX_EXACT_INTEGER), min(self.max, MAX_EXACT_INTEGER))
        return (self.min, self.max)

    def clip_param_tensor(self, values: Tensor) -> Tensor:
        """Move param-space values to the nearest legal ones.

        Clamps into :meth:`legal_bounds` (an unbounded end at the largest finite
        float); a value left on an open end (``LogSpace`` 0, ``LogitSpace`` 0 or 1,
        whose basic image is infinite) steps one float inside; integer spaces round
        onto their lattice, stepping back inside the bounds when rounding left them.
        """
        low, high = self.legal_bounds()
        largest = torch.finfo(values.dtype).max  # an unbounded end: the largest finite value
        values = values.clamp(max(low, -largest), min(high, largest))
        if not self.is_integer:
            inward = torch.full_like(values, 0.5 * (self.min + min(self.max, 1.0)))
            is_open_end = ~torch.isfinite(self.basic_from_param_tensor(values))
            return torch.where(is_open_end, torch.nextafter(values, inward), values)
        rounded = self.round_param_tensor(values)
        rounded = torch.where(rounded > high, rounded - self.rounding_factor, rounded)
        return torch.where(rounded < low, rounded + self.rounding_factor, rounded)

    def is_in_bounds_tensor(self, values: Tensor) -> Tensor:
        """Boolean mask of param-space values inside :meth:`legal_bounds` with a finite
        basic image."""
        low, high = self.legal_bounds()
        basic = self.basic_from_param_tensor(values)
        return (values >= low) & (values <= high) & torch.isfinite(basic)

    def basic_from_param(self, value: float) -> float:
        """Map one param-space value to basic space."""
        return float(self.basic_from_param_tensor(torch.tensor(float(value), dtype=torch.float64)))

    def param_from_basic(self, value: float, is_rounded: bool = True) -> float | int:
        """Map one basic-space value to param space, rounded for integer spaces."""
        param = self.param_from_basic_tensor(torch.tensor(float(value), dtype=torch.float64))
        if self.is_integer and is_rounded:
            return int(self.round_param_tensor(param).item())
        return float(param.item())

    def is_in_bounds(self, value: float) -> bool:
        """Whether one param-space value is legal."""
        return bool(self.is_in_bounds_tensor(torch.tensor(float(value), dtype=torch.float64)))

    def is_on_lattice(self, value: float) -> bool:
        """Whether a param-space value is a multiple of ``rounding_factor`` (always for floats)."""
        return not self.is_integer or float(value) % self.rounding_factor == 0

    # -- the Space interface, column by column in basic space ----------------------------
    def round_basic(self, values: Tensor) -> Tensor:
        return self.round_tensor_in_basic(values)

    def is_legal_basic(self, values: Tensor) -> Tensor:
        params = self.round_param_tensor(self.param_from_basic_tensor(values))
        return torch.isfinite(values) & self.is_in_bounds_tensor(params)

    def clip_basic(self, values: Tensor) -> Tensor:
        basic = self.basic_from_param_tensor(
            self.clip_param_tensor(self.param_from_basic_tensor(values))
        )
        illegal = ~self.is_legal_basic(basic)
        if not bool(illegal.any()):
            return basic
        # One float inside an open end can map back onto the end (LogitSpace at a large
        # scale: the sigmoid rounds to 1, or underflows to 0), and the largest float can
        # map back to infinity (an unbounded integer LogSpace): bisect between the clipped
        # value and the point clip_param_tensor steps towards for the legal value nearest
        # the end (for an integer space, a basic value whose rounded image is legal).
        inward = 0.5 * (self.min + min(self.max, 1.0))
        if not self.min <= inward <= self.max:  # a range above 1: a point inside it
            upper = self.max if math.isfinite(self.max) else self.min + max(1.0, abs(self.min))
            inward = 0.5 * self.min + 0.5 * upper
        inside = torch.full_like(basic[illegal], self.basic_from_param(inward))
        if not bool(self.is_legal_basic(inside[:1]).all()):
            return basic
        outside = basic[illegal]
        for _ in range(BISECTION_STEPS):
            halfway = 0.5 * (outside + inside)
            is_legal = self.is_legal_basic(halfway)
            inside = torch.where(is_legal, halfway, inside)
            outside = torch.where(is_legal, outside, halfway)
        return basic.masked_scatter(illegal, inside)

    def value_from_basic(self, value: float) -> float | int:
        param = self.param_from_basic(value)
        if self.is_integer:
            return param
        # A value at a bound can come back a float past it from its round trip through
        # basic space (3e-3 as 0.003000000000000001): it is the bound.
        low, high = self.legal_bounds()
        return min(max(param, low), high)

    def basic_from_value(self, value: Any) -> float:
        return self.basic_from_param(float(value))

    def legal_value_from_basic(self, value: float) -> float | int:
        """The legal param value nearest to a basic-space value (clipped, on the lattice)."""
        param = self.param_from_basic_tensor(torch.tensor(float(value), dtype=torch.float64))
        legal = float(self.clip_param_tensor(param))
        return int(legal) if self.is_integer else legal

    def legal_interval(self, low: float, high: float) -> tuple[float, float]:
        """``[low, high]`` (param space) made legal: inside the bounds and, for integer
        spaces, widened outwards onto the lattice, so both ends are values a run can take."""
        if self.is_integer:
            step = self.rounding_factor
            low = _lattice_end(low, step, math.floor)
            high = _lattice_end(high, step, math.ceil)
        ends = self.clip_param_tensor(torch.tensor([low, high], dtype=torch.float64))
        legal_low, legal_high = ends.tolist()
        if self.is_integer and all(math.isfinite(end) for end in (legal_low, legal_high)):
            return (int(legal_low), int(legal_high))
        return (legal_low, legal_high)

    def check_value(self, value: Any, field: str) -> None:
        number = check_number(value, field, InvalidObservationError)
        if not self.is_in_bounds(number):
            raise InvalidObservationError(f"{field}={number} is outside {self._bounds_text()}")
        if not self.is_on_lattice(number):
            raise InvalidObservationError(
                f"{field}={number} is not a multiple of rounding_factor="
                f"{self.rounding_factor}: integer params take lattice values only"
            )

    def check_center(self, value: Any, field: str) -> None:
        check_number(value, field, InvalidParamError)
        if not self.is_in_bounds(value):
            raise InvalidParamError(f"{field}={value} is outside {self._bounds_text()}")

    def _bounds_text(self) -> str:
        low, high = self.legal_bounds()
        if (low, high) == (self.min, self.max):
            return f"[min={self.min}, max={self.max}]"
        return (
            f"[{low:.0f}, {high:.0f}] (min={self.min}, max={self.max}; an integer param with a "
            "rounding_factor above 1 lies within +-2**53)"
        )

    def basic_bounds(self) -> tuple[float, float]:
        return (self.basic_from_param(self.min), self.basic_from_param(self.max))

    def holds_basic(self, value: float) -> bool:
        # Unrounded and with a little slack: values at a bound may not survive the round
        # trip through basic space bit for bit, and files written before off-lattice
        # observations were rejected may hold them.
        param = self.param_from_basic(value, is_rounded=False)
        if not math.isfinite(param):
            return False  # beyond the float range: never a run's value
        # (A value on an open end may be held: a run's value within a few floats of a
        # LogitSpace's 0 maps to basic space and back onto 0 itself.)
        slack = 1e-9 * max(1.0, abs(param))
        low, high = self.legal_bounds()
        return low - slack <= param <= high + slack


@attrs.frozen(kw_only=True)
class LinearSpace(RealNumberSpace):
    """A parameter searched on its own scale: basic = x / scale."""

    def basic_from_param_tensor(self, values: Tensor) -> Tensor:
        return values / self.scale

    def param_from_basic_tensor(self, values: Tensor) -> Tensor:
        return values * self.scale

    @property
    def plot_scale(self) -> str:
        return "linear"


@attrs.frozen(kw_only=True)
class LogSpace(RealNumberSpace):
    """A positive parameter searched in orders of magnitude: basic = log_base(x) / scale."""

    min: float = attrs.field(default=0.0, converter=real_as_float)
    base: float = attrs.field(default=10.0, converter=real_as_float)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if self.min < 0:
            raise InvalidSpaceError(f"LogSpace.min must be >= 0, got min={self.min}")
        if self.is_integer and not self.min > 0:
            raise InvalidSpaceError(
                f"an integer LogSpace needs a positive min (e.g. min=1), got min={self.min}"
            )
        check_number(self.base, "LogSpace.base", InvalidSpaceError, min_value=1, exclusive_min=True)

    def basic_from_param_tensor(self, values: Tensor) -> Tensor:
        if self.base == 10.0:
            return torch.log10(values) / self.scale
        return torch.log(values) / (math.log(self.base) * self.scale)

    def param_from_basic_tensor(self, values: Tensor) -> Tensor:
        return torch.pow(torch.as_tensor(self.base, dtype=values.dtype), values * self.scale)

    @property
    def plot_scale(self) -> str:
        return "log"


_LOGIT_OF_ROUNDING_TO_ONE = 54 * math.log(2.0)
"""ln(p / (1 - p)) of p = 1 - 2**-54, halfway between 1 - 2**-53 and 1 (about 37.4)."""


@attrs.frozen(kw_only=True)
class LogitSpace(RealNumberSpace):
    """A probability-like parameter in (0, 1): basic = log10(p / (1 - p)) / scale."""

    min: float = attrs.field(default=0.0, converter=real_as_float)
    max: float = attrs.field(default=1.0, converter=real_as_float)

    def __attrs_post_init__(self) -> None:
        if self.is_integer:
            raise InvalidSpaceError(
                "LogitSpace cannot be is_integer=True: its values lie in (0, 1)"
            )
        super().__attrs_post_init__()
        if self.min < 0 or self.max > 1:
            raise InvalidSpaceError(
                f"LogitSpace bounds must lie in [0, 1], got min={self.min}, max={self.max}"
            )

    def basic_from_param_tensor(self, values: Tensor) -> Tensor:
        return (torch.log10(values) - torch.log10(1 - values)) / self.scale

    def param_from_basic_tensor(self, values: Tensor) -> Tensor:
        logits = values * (self.scale * math.log(10.0))
        probabilities = torch.sigmoid(logits)
        # p is the float nearest the exact sigmoid, so that a legal p comes back legal:
        # 5e-324 underflowed to 0 (exp(logit) still holds it), and 1 - 2**-53 came back
        # 1 (it is the nearest float for every logit below that of 1 - 2**-54).
        probabilities = torch.where(probabilities == 0, torch.exp(logits), probabilities)
        below_one = (probabilities == 1) & (logits < _LOGIT_OF_ROUNDING_TO_ONE)
        return torch.where(below_one, math.nextafter(1.0, 0.0), probabilities)

    @property
    def plot_scale(self) -> str:
        return "logit"


def _lattice_end(value: float, step: float, outward: Callable[[float], int]) -> float:
    """``value`` on the lattice of ``step``: the nearest point when ``value`` is one but for
    rounding (an exact fit's 63.99999999999953 is 64, not 63), else the next one outward."""
    if not math.isfinite(value):
        return value
    return whole_number(value / step, outward) * step
