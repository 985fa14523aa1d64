"""What every parameter space offers: maps between param values and one basic-space column.

Vocabulary used across carbs:

* **param space** holds the values a training script receives (``lr=3e-4``,
  ``optimizer="adam"``);
* **basic space** is a real vector, one column per tuned param, in which CARBS
  searches. For numeric spaces one unit of basic space is ``scale`` units of the
  transformed parameter, and the default search radius is 0.3 basic units; a
  categorical param's column holds the index of its choice.

:class:`Space` is the interface :class:`~carbs.spaces.SearchSpace` uses, column
by column; the concrete spaces live in :mod:`carbs.spaces.real` (linear, log,
logit) and :mod:`carbs.spaces.discrete` (ordinal values, categorical choices,
fixed values).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import attrs
import numpy as np
import torch
from torch import Tensor

from carbs.checks import is_real_number, plain_scalar

# An interval end this close (relative) to a legal value is that value: the rounding
# noise of an exact fit, not a step towards the next value.
LATTICE_RTOL = 1e-9


def whole_number(
    ratio: float, otherwise: Callable[[float], int], abs_tol: float = LATTICE_RTOL
) -> int:
    """``ratio`` as a whole number: the nearest one when ``ratio`` is one but for rounding
    (:data:`LATTICE_RTOL`: 2.9999999999999996 is 3; ``abs_tol`` near 0), else
    ``otherwise(ratio)`` (``math.floor`` or ``math.ceil``)."""
    nearest = round(ratio)
    if math.isclose(ratio, nearest, rel_tol=LATTICE_RTOL, abs_tol=abs_tol):
        return int(nearest)
    return int(otherwise(ratio))


class Space:
    """The interface of a parameter space (subclasses are frozen attrs classes)."""

    is_categorical: ClassVar[bool] = False
    """Choices without an order: modelled by an overlap kernel, varied by resampling."""
    is_fixed: ClassVar[bool] = False
    """A constant passed through to suggestions: no basic-space column at all."""

    def round_basic(self, values: Tensor) -> Tensor:
        """Snap basic-space values onto the values this space can take, elementwise."""
        raise NotImplementedError

    def is_legal_basic(self, values: Tensor) -> Tensor:
        """Boolean mask of basic-space values that round to a legal value."""
        raise NotImplementedError

    def clip_basic(self, values: Tensor) -> Tensor:
        """The nearest legal basic-space values, elementwise."""
        raise NotImplementedError

    def value_from_basic(self, value: float) -> Any:
        """The legal param value a basic-space value stands for (rounded)."""
        raise NotImplementedError

    def basic_from_value(self, value: Any) -> float:
        """The basic-space image of a legal param value."""
        raise NotImplementedError

    def check_value(self, value: Any, field: str) -> None:
        """Raise :class:`~carbs.InvalidObservationError` naming ``field`` unless legal."""
        raise NotImplementedError

    def check_center(self, value: Any, field: str) -> None:
        """Raise :class:`~carbs.InvalidParamError` naming ``field`` unless a legal centre."""
        raise NotImplementedError

    def basic_bounds(self) -> tuple[float, float]:
        """The lowest and highest basic-space values (infinite where unbounded)."""
        raise NotImplementedError

    def holds_basic(self, value: float) -> bool:
        """Whether a saved basic-space value is one this space could have recorded."""
        return bool(self.is_legal_basic(torch.tensor([float(value)], dtype=torch.float64))[0])

    @property
    def plot_scale(self) -> str:
        """The matplotlib axis scale that shows this space evenly."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """The space as plain data: ``{"type": class name, **fields}``."""
        return {"type": type(self).__name__, **attrs.asdict(self)}  # type: ignore[arg-type]


def same_value(a: Any, b: Any) -> bool:
    """Equality of two choices or fixed values that keeps ``True`` apart from ``1`` (and
    ``False`` from ``0``); numpy's scalars are their Python values (``np.True_`` is
    ``True``), and anything else that is not a JSON scalar (a ``Decimal``, an array, a
    tensor, which ``==`` may call equal to a choice) equals nothing."""
    a, b = plain_scalar(a), plain_scalar(b)
    if not (is_json_scalar(a) and is_json_scalar(b)):
        return False
    return bool(typed_key(a) == typed_key(b))


def is_json_scalar(value: Any) -> bool:
    """str, bool, None, or a finite real number within the float range: what a choice
    or a fixed value may be."""
    if value is None or isinstance(value, str | bool):
        return True
    try:
        return is_real_number(value) and math.isfinite(float(value))
    except OverflowError:  # an int past the float range
        return False


def typed_key(value: Any) -> Any:
    """``value`` tagged so that ``True`` and ``1`` differ (and ``np.True_`` is ``True``),
    item by item for a tuple: the eq key of choices and centres, whose ``==`` in Python
    calls ``(True, 1)`` and ``(1, True)`` equal."""
    if isinstance(value, tuple):
        return tuple(typed_key(item) for item in value)
    if isinstance(value, bool | np.bool_):
        return ("bool", bool(value))
    return ("value", value)
