"""Spaces of listed values: ordered numbers, unordered choices, and a fixed value.

* :class:`OrdinalSpace`: an ordered list of numbers (a batch size from
  ``[16, 32, 64, 128]``, a model size from a menu). Its basic-space column is
  the value's position on a log scale (``log10(v) / scale``) when the values are
  positive and span at least a decade, else on a linear scale (``v / scale``);
  every point rounds to the nearest listed value. By default ``scale`` puts
  typical neighbours one default search radius apart, so the search can step
  between them whatever the values' units. :meth:`OrdinalSpace.powers_of`
  lists the powers of a base between two bounds (powers of two).
* :class:`CategoricalSpace`: choices without an order (an optimizer, an
  activation, a flag). Its column holds the choice's index, but no model or
  search step ever treats that index as a number: the GPs compare choices by
  equality (an overlap kernel), and candidates change a choice by resampling.
* :class:`FixedSpace`: a constant, the param's ``search_center``, passed through
  to every suggestion and not modelled (no column at all), so a config can switch
  a param off without rewriting the list.
"""

from __future__ import annotations

import itertools
import math
import statistics
import sys
from collections.abc import Sequence
from typing import Any, ClassVar

import attrs
import torch
from torch import Tensor

from carbs.checks import check_number, is_real_number, plain_scalar
from carbs.errors import InvalidObservationError, InvalidParamError, InvalidSpaceError
from carbs.spaces.base import LATTICE_RTOL, Space, is_json_scalar, same_value, typed_key

NEIGHBOUR_GAP = 0.3
"""Basic units between typical neighbouring values of an ``OrdinalSpace`` with the default
``scale``: the default search radius."""
MAX_GENERATED_VALUES = 100_000
"""Most values a helper may list for an ``OrdinalSpace`` (:meth:`OrdinalSpace.powers_of`,
the stepped ranges of :mod:`carbs.integrations.bounded`): each value is stored and saved
with the state, so a range with a tiny step or base would fill the memory."""


def _as_tuple(values: Any) -> Any:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        return values  # rejected with a clear message after conversion
    return tuple(values)


def _as_plain_tuple(values: Any) -> Any:
    """Choices as a tuple of Python values (``np.True_`` is the choice ``True``)."""
    values = _as_tuple(values)
    return tuple(plain_scalar(v) for v in values) if isinstance(values, tuple) else values


@attrs.frozen(kw_only=True)
class OrdinalSpace(Space):
    """An ordered list of numeric values; suggestions are always one of them.

    Attributes:
        values: Strictly increasing real numbers, at least two (ints stay ints).
        scale: Size of one basic-space unit in transformed units (as for the
            real spaces: the 0.3 search radius is ``0.3 * scale`` of them).
            ``None`` (the default) chooses it so that the median gap between
            neighbouring values is :data:`NEIGHBOUR_GAP` basic units: one
            default search radius, so the search steps between neighbours as
            readily for ``[128, 256, 512, 768]`` as for powers of two.
        is_log: Place the values on a log scale. ``None`` (the default) decides:
            log when every value is positive and the largest is at least 10 times
            the smallest.
    """

    values: tuple[float | int, ...] = attrs.field(converter=_as_tuple)
    scale: float | None = None
    is_log: bool | None = attrs.field(default=None, converter=plain_scalar)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.values, tuple) or len(self.values) < 2:
            raise InvalidSpaceError(
                f"OrdinalSpace.values must be a list of at least two numbers, got {self.values!r}"
            )
        for i, value in enumerate(self.values):
            check_number(value, f"OrdinalSpace.values[{i}]", InvalidSpaceError)
        if any(b <= a for a, b in zip(self.values, self.values[1:], strict=False)):
            raise InvalidSpaceError(
                f"OrdinalSpace.values must be strictly increasing, got {list(self.values)}"
            )
        # Values are placed as floats: two ints past 2**53 that share one float would share
        # one place, and an observed 2**53 + 1 would come back as 2**53.
        as_floats = [float(v) for v in self.values]
        if any(b <= a for a, b in itertools.pairwise(as_floats)):
            raise InvalidSpaceError(
                "OrdinalSpace.values must differ as floats (ints past 2**53 may not), "
                f"got {list(self.values)}"
            )
        positive = self.values[0] > 0
        if self.is_log is None:
            object.__setattr__(self, "is_log", positive and self.values[-1] >= 10 * self.values[0])
        elif not isinstance(self.is_log, bool):
            raise InvalidSpaceError(
                f"OrdinalSpace.is_log must be True, False or None, got {self.is_log!r}"
            )
        elif self.is_log and not positive:
            raise InvalidSpaceError("OrdinalSpace.is_log=True needs every value > 0")
        if self.scale is None:
            points = [math.log10(v) if self.is_log else float(v) for v in self.values]
            gaps = [b - a for a, b in itertools.pairwise(points)]
            object.__setattr__(self, "scale", statistics.median(gaps) / NEIGHBOUR_GAP)
        check_number(
            self.scale, "OrdinalSpace.scale", InvalidSpaceError, min_value=0, exclusive_min=True
        )

    @classmethod
    def powers_of(
        cls, base: int, *, min: float, max: float, scale: float | None = None
    ) -> OrdinalSpace:
        """The powers of ``base`` from ``min`` to ``max``, e.g. ``powers_of(2, min=16, max=1024)``.

        On the log scale (``log10``); by default neighbouring powers lie one
        default search radius apart, whatever the base.
        """
        check_number(
            base, "OrdinalSpace.powers_of base", InvalidSpaceError, min_value=1, exclusive_min=True
        )
        check_number(
            min, "OrdinalSpace.powers_of min", InvalidSpaceError, min_value=0, exclusive_min=True
        )
        check_number(max, "OrdinalSpace.powers_of max", InvalidSpaceError, min_value=min)
        low = math.ceil(math.log(min, base) - 1e-9)
        high = math.floor(math.log(max, base) + 1e-9)
        if high - low + 1 > MAX_GENERATED_VALUES:
            raise InvalidSpaceError(
                f"OrdinalSpace.powers_of: base {base} has {high - low + 1:.3g} powers from "
                f"{min} to {max}, more than the {MAX_GENERATED_VALUES} carbs holds"
            )
        is_int = isinstance(base, int) and low >= 0
        values = [base**k if is_int else float(base) ** k for k in range(low, high + 1)]
        return cls(values=values, scale=scale, is_log=True)

    @property
    def unit(self) -> float:
        """``scale`` as resolved on construction: transformed units per basic unit."""
        assert self.scale is not None
        return float(self.scale)  # an int scale past int64 would overflow a tensor

    @property
    def min(self) -> float | int:
        """The smallest value."""
        return self.values[0]

    @property
    def max(self) -> float | int:
        """The largest value."""
        return self.values[-1]

    @property
    def is_integer(self) -> bool:
        """Whether every value is an int."""
        return all(isinstance(v, int) for v in self.values)

    def basic_from_param_tensor(self, values: Tensor) -> Tensor:
        """The continuous transform behind the column: ``log10(v) / scale`` or ``v / scale``."""
        return (torch.log10(values) if self.is_log else values) / self.unit

    def param_from_basic_tensor(self, values: Tensor) -> Tensor:
        """The inverse transform, unrounded (for scaling laws between the listed values)."""
        scaled = values * self.unit
        return torch.pow(10.0, scaled) if self.is_log else scaled

    def param_from_basic(self, value: float, is_rounded: bool = True) -> float | int:
        """One basic value in param space: the nearest listed value, or unrounded."""
        if is_rounded:
            return self.value_from_basic(value)
        return float(self.param_from_basic_tensor(torch.tensor(float(value), dtype=torch.float64)))

    def _basic_values(self) -> Tensor:
        return self.basic_from_param_tensor(torch.tensor(self.values, dtype=torch.float64))

    def _nearest(self, values: Tensor) -> Tensor:
        points = self._basic_values()
        middles = (points[1:] + points[:-1]) / 2
        return torch.searchsorted(middles, values.contiguous())

    def round_basic(self, values: Tensor) -> Tensor:
        return self._basic_values()[self._nearest(values)]

    def is_legal_basic(self, values: Tensor) -> Tensor:
        points = self._basic_values()
        low = points[0] - (points[1] - points[0]) / 2
        high = points[-1] + (points[-1] - points[-2]) / 2
        return (values >= low) & (values <= high)

    def clip_basic(self, values: Tensor) -> Tensor:
        return self.round_basic(values)

    def value_from_basic(self, value: float) -> float | int:
        return self.values[int(self._nearest(torch.tensor([float(value)], dtype=torch.float64))[0])]

    def legal_value_from_basic(self, value: float) -> float | int:
        """The listed value nearest to a basic-space value."""
        return self.value_from_basic(value)

    def basic_from_value(self, value: Any) -> float:
        return float(self.basic_from_param_tensor(torch.tensor(float(value), dtype=torch.float64)))

    def legal_interval(self, low: float, high: float) -> tuple[float | int, float | int]:
        """The listed values that enclose ``[low, high]`` (the ends where it leaves them); a
        value an end misses by rounding only (an exact fit's 63.99999999999953) is that end."""
        below = [v for v in self.values if v <= low or _is_close(v, low)]
        above = [v for v in self.values if v >= high or _is_close(v, high)]
        return (below[-1] if below else self.values[0], above[0] if above else self.values[-1])

    def check_value(self, value: Any, field: str) -> None:
        number = check_number(value, field, InvalidObservationError)
        if not any(number == float(v) for v in self.values):
            raise InvalidObservationError(f"{field}={value!r} is not one of {list(self.values)}")

    def check_center(self, value: Any, field: str) -> None:
        try:
            is_listed = is_real_number(value) and any(float(value) == float(v) for v in self.values)
        except OverflowError:  # an int past the float range is none of them
            is_listed = False
        if not is_listed:
            raise InvalidParamError(f"{field}={value!r} is not one of {list(self.values)}")

    def basic_bounds(self) -> tuple[float, float]:
        points = self._basic_values()
        return (float(points[0]), float(points[-1]))

    @property
    def plot_scale(self) -> str:
        return "log" if self.is_log else "linear"


@attrs.frozen(kw_only=True)
class CategoricalSpace(Space):
    """Choices without an order; suggestions are always one of them.

    Attributes:
        choices: At least two distinct values, each a str, int, float, bool or
            ``None`` (``True`` and ``1`` are different choices).
    """

    choices: tuple[Any, ...] = attrs.field(
        converter=_as_plain_tuple,
        eq=typed_key,  # True is not the choice 1
    )
    is_categorical: ClassVar[bool] = True

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.choices, tuple) or len(self.choices) < 2:
            raise InvalidSpaceError(
                "CategoricalSpace.choices must be a list of at least two values "
                f"(a single value is a FixedSpace), got {self.choices!r}"
            )
        for i, choice in enumerate(self.choices):
            if not is_json_scalar(choice):
                raise InvalidSpaceError(
                    f"CategoricalSpace.choices[{i}]={choice!r} must be a str, bool, None or "
                    "a finite int or float within the float range"
                )
            for other in self.choices[:i]:
                if same_value(choice, other):
                    raise InvalidSpaceError(
                        f"CategoricalSpace.choices has {choice!r} twice: {list(self.choices)}"
                    )

    def index(self, value: Any) -> int | None:
        """The position of ``value`` among the choices, or ``None``."""
        return next((i for i, c in enumerate(self.choices) if same_value(c, value)), None)

    def round_basic(self, values: Tensor) -> Tensor:
        return torch.round(values).clamp(0, len(self.choices) - 1)

    def is_legal_basic(self, values: Tensor) -> Tensor:
        return torch.isfinite(values) & (values > -0.5) & (values < len(self.choices) - 0.5)

    def holds_basic(self, value: float) -> bool:
        return float(value).is_integer() and 0 <= value < len(self.choices)

    def clip_basic(self, values: Tensor) -> Tensor:
        return self.round_basic(values.nan_to_num(0.0))

    def value_from_basic(self, value: float) -> Any:
        return self.choices[int(min(max(round(value), 0), len(self.choices) - 1))]

    def legal_value_from_basic(self, value: float) -> Any:
        """The choice a basic-space value stands for."""
        return self.value_from_basic(value)

    def basic_from_value(self, value: Any) -> float:
        index = self.index(value)
        if index is None:
            raise InvalidObservationError(f"{value!r} is not one of {list(self.choices)}")
        return float(index)

    def check_value(self, value: Any, field: str) -> None:
        if self.index(value) is None:
            raise InvalidObservationError(f"{field}={value!r} is not one of {list(self.choices)}")

    def check_center(self, value: Any, field: str) -> None:
        if self.index(value) is None:
            raise InvalidParamError(f"{field}={value!r} is not one of {list(self.choices)}")

    def basic_bounds(self) -> tuple[float, float]:
        return (0.0, float(len(self.choices) - 1))

    @staticmethod
    def change_probability(radius: float) -> float:
        """How often a candidate draw changes this param's choice: the chance that a
        Gaussian step of std ``radius`` crosses half the unit distance between two choices.

        Just below 1 however wide the radius (past about 1e15 it rounds to 1) and just
        above 0 however narrow (below a radius of about 0.035 it underflowed to 0 in
        float32), so that keeping and switching a choice both stay possible and their
        log probabilities finite."""
        crossing = math.erfc(0.5 / (radius * math.sqrt(2.0)))
        return min(max(crossing, sys.float_info.min), math.nextafter(1.0, 0.0))

    @property
    def plot_scale(self) -> str:
        return "linear"


@attrs.frozen(kw_only=True)
class FixedSpace(Space):
    """A constant: the param's ``search_center``, passed through to every suggestion.

    It is not modelled and has no basic-space column; observations may leave it
    out, and where they give it, it must equal the constant.
    """

    is_fixed: ClassVar[bool] = True

    def check_fixed(self, value: Any, fixed: Any, field: str) -> None:
        """Raise :class:`~carbs.InvalidObservationError` unless ``value`` is the constant."""
        if not same_value(value, fixed):
            raise InvalidObservationError(
                f"{field}={value!r} differs from its fixed value {fixed!r}"
            )

    def check_center(self, value: Any, field: str) -> None:
        if not is_json_scalar(value):
            raise InvalidParamError(
                f"{field}={value!r} must be a str, bool, None or a finite int or float within "
                "the float range"
            )


def _is_close(value: float, end: float) -> bool:
    return math.isclose(value, end, rel_tol=LATTICE_RTOL, abs_tol=LATTICE_RTOL)
