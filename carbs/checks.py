"""Strict checks of values that cross the API boundary or come from a state file.

Config fields, spaces, observations and state files all go through these, so
"a number" and "a bool" mean the same everywhere: a bool is not a number, a
string is not a bool, a float is not an int (``2.0`` is not a ``rounding_factor``),
complex numbers are not real, and an integer too large for a float is an error,
not an ``OverflowError``. Each check raises the error class it is given, with
a message that names the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from carbs.errors import CARBSValueError

ErrorType = type[CARBSValueError]


def is_real_number(value: object) -> bool:
    """Whether ``value`` is a real number: int or float (Python or numpy), not bool or complex."""
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def plain_scalar(value: Any) -> Any:
    """A numpy scalar (``np.True_``, ``np.int64(3)``) as the Python value it holds,
    anything else unchanged: an attrs converter ahead of a validator, and the first
    step of comparing a given value with a choice."""
    if isinstance(value, np.bool_ | np.integer | np.floating):
        return value.item()
    return value


def real_as_float(value: Any) -> Any:
    """A real number as a float, anything else unchanged: an attrs converter for float
    fields, ahead of a validator that rejects what is not a number. A Python int stays
    exact but can be too large for torch's int64 (``max_suggestion_cost=10**21`` FLOPs)
    and would fail deep inside a suggest; one too large for a float is left for the
    validator to name."""
    if is_real_number(value):
        try:
            return float(value)
        except OverflowError:
            return value
    return value


def integer_as_int(value: Any) -> Any:
    """A numpy integer as a Python int, anything else unchanged: an attrs converter for
    int fields (a seed drawn with numpy is an ``np.int64``, which torch's generator
    refuses), ahead of a validator that rejects what is not an int."""
    return int(value) if isinstance(value, np.integer) else value


def check_bool(value: Any, field: str, error: ErrorType) -> bool:
    """``value`` as a bool; only ``True``/``False`` (or numpy's) are accepted."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise error(f"{field} must be True or False, got {value!r}")


def check_number(
    value: Any,
    field: str,
    error: ErrorType,
    *,
    min_value: float | None = None,
    exclusive_min: bool = False,
    max_value: float | None = None,
    finite: bool = True,
) -> float:
    """``value`` as a float, checked against the bounds.

    Args:
        value: The value to check.
        field: Its name in messages.
        error: The error class to raise.
        min_value: Smallest allowed value (see ``exclusive_min``).
        exclusive_min: Whether ``min_value`` itself is excluded.
        max_value: Largest allowed value (inclusive).
        finite: Reject NaN and infinities (NaN is rejected whenever a bound is given).
    """
    if not is_real_number(value):
        raise error(f"{field} must be a real number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:
        raise error(f"{field} is too large for a float: {value!r}") from None
    if math.isnan(number) and (finite or min_value is not None or max_value is not None):
        raise error(f"{field} must be a {'finite ' if finite else ''}number, got nan")
    if finite and not math.isfinite(number):
        raise error(f"{field} must be finite, got {number}")
    if min_value is not None:
        if exclusive_min and not number > min_value:
            raise error(f"{field} must be > {min_value}, got {number}")
        if not exclusive_min and not number >= min_value:
            raise error(f"{field} must be >= {min_value}, got {number}")
    if max_value is not None and not number <= max_value:
        raise error(f"{field} must be <= {max_value}, got {number}")
    return number


def check_integer(
    value: Any,
    field: str,
    error: ErrorType,
    *,
    min_value: int | None = None,
    max_value: int | None = None,
) -> int:
    """``value`` as an int: Python or numpy integers only, within the bounds."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise error(f"{field} must be an int, got {value!r}")
    number = int(value)
    if min_value is not None and number < min_value:
        raise error(f"{field} must be >= {min_value}, got {number}")
    if max_value is not None and number > max_value:
        raise error(f"{field} must be <= {max_value}, got {number}")
    return number


def check_optional_str(value: Any, field: str, error: ErrorType) -> str | None:
    """``value`` if it is a str or ``None``."""
    if value is None or isinstance(value, str):
        return value
    raise error(f"{field} must be a str or None, got {value!r}")


def check_name(value: Any, field: str, error: ErrorType) -> str:
    """``value`` if it is a non-empty str (a metric's or a key's name)."""
    if isinstance(value, str) and value:
        return value
    raise error(f"{field} must be a non-empty str, got {value!r}")


def check_optional_mapping(value: Any, field: str, error: ErrorType) -> Any:
    """``value`` if it is a mapping (param names to values) or ``None``."""
    if value is None or isinstance(value, Mapping):
        return value
    raise error(f"{field} must map param names to values, got {type(value).__name__}")
