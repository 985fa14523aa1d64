"""carbs params for the bounded ranges and choice lists that other tuners' search spaces hold.

Shared by the Optuna and Ray Tune integrations, so that one range means one
search in both:

- a log range becomes ``LogSpace(min=low, max=high)`` with ``scale=1`` (one basic
  unit per decade, as for a hand-written ``LogSpace``);
- a linear range becomes ``LinearSpace`` whose range spans
  :data:`LINEAR_RANGE_IN_BASIC_UNITS` basic units, so the default search radius
  (0.3) is a tenth of it;
- an integer range with a step that divides its low end becomes an integer
  lattice (``rounding_factor=step``), as does an integer log range with a
  step (the multiples of the step inside the range); any other stepped linear
  range becomes an ``OrdinalSpace`` of its values (at most
  :data:`MAX_GENERATED_VALUES` of them);
- a list of choices becomes ``CategoricalSpace`` (a list of one, a constant).

The default search centre is the middle of the range (the geometric middle on a
log scale, rounded onto the lattice) and a choice list's first choice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from carbs.checks import check_number
from carbs.errors import InvalidSpaceError
from carbs.spaces import (
    CategoricalSpace,
    FixedSpace,
    LinearSpace,
    LogSpace,
    OrdinalSpace,
    Param,
    Space,
)
from carbs.spaces.base import whole_number
from carbs.spaces.discrete import MAX_GENERATED_VALUES

LINEAR_RANGE_IN_BASIC_UNITS = 3.0


def bounded_param(
    name: str,
    low: float,
    high: float,
    *,
    log: bool = False,
    is_integer: bool = False,
    step: float | None = None,
    search_center: Any = None,
) -> Param:
    """The carbs param for the range ``[low, high]`` (both legal values).

    Raises:
        InvalidParamError, InvalidSpaceError: a bad range or step, or a centre outside it.
    """
    # Checked, not converted: an int range keeps int values (Optuna's IntDistribution).
    low_end = check_number(low, f"param {name!r}: the range's low end", InvalidSpaceError)
    high_end = check_number(high, f"param {name!r}: the range's high end", InvalidSpaceError)
    if not low_end < high_end:
        raise InvalidSpaceError(f"param {name!r}: the range [{low}, {high}] must have low < high")
    if step is not None:
        check_number(
            step, f"param {name!r}: the step", InvalidSpaceError, min_value=0.0, exclusive_min=True
        )
    try:
        space, middle = _range_space(low, high, log=log, is_integer=is_integer, step=step)
    except InvalidSpaceError as error:
        raise InvalidSpaceError(f"param {name!r}: {error}") from None
    return Param(name, space, middle if search_center is None else search_center)


def _range_space(
    low: Any, high: Any, *, log: bool, is_integer: bool, step: float | None
) -> tuple[Space, Any]:
    """The space for a checked range and its default centre (see :func:`bounded_param`)."""
    linear_scale = (high - low) / LINEAR_RANGE_IN_BASIC_UNITS
    lattice = int(step or 1) if is_integer else 1  # an integer space's rounding_factor
    space: Space
    if log:
        space = LogSpace(min=low, max=high, is_integer=is_integer, rounding_factor=lattice)
        try:
            middle: Any = math.sqrt(low * high)
        except OverflowError:  # an int product past the float range
            middle = math.inf
        if not math.isfinite(middle):  # the product left the float range
            middle = math.exp((math.log(low) + math.log(high)) / 2)
    elif step is None or (is_integer and step == 1):
        space = LinearSpace(min=low, max=high, scale=linear_scale, is_integer=is_integer)
        middle = (low + high) / 2
    elif is_integer and low % step == 0:
        space = LinearSpace(
            min=low, max=high, scale=linear_scale, is_integer=True, rounding_factor=lattice
        )
        middle = (low + high) / 2
    else:
        count = round((high - low) / step) + 1
        if count > MAX_GENERATED_VALUES:
            raise InvalidSpaceError(
                f"the range [{low}, {high}] with step {step} has {count:.3g} "
                f"values, more than the {MAX_GENERATED_VALUES} carbs holds; use a larger step "
                "or a range without one"
            )
        # The top as Optuna clips it: 0 + 3 * 0.1 is 0.30000000000000004, not 0.3.
        values = [min(low + k * step, high) for k in range(count)]
        space = OrdinalSpace(values=values, scale=linear_scale, is_log=False)
        middle = values[(count - 1) // 2]
    if is_integer and not isinstance(space, OrdinalSpace):  # on the multiples of the step
        lowest, highest = math.ceil(low / lattice), math.floor(high / lattice)
        middle = lattice * int(min(max(round(middle / lattice), lowest), highest))
    return space, middle


def multiples_of_step(name: str, low: Any, high: Any, step: Any) -> tuple[Any, Any]:
    """The lowest and highest multiples of ``step`` in ``[low, high]``.

    Ray Tune's ``qrandint``/``quniform`` and W&B's ``q_uniform`` round their draws
    to multiples of ``q`` (``qrandint(1, 10, 3)`` draws 3, 6 and 9), where an
    Optuna step counts from the low end (1, 4, 7, 10): the integrations pass
    these ends to :func:`bounded_param` so that carbs searches the engine's own
    values. Integers stay integers; a float end within rounding of a multiple
    counts as one (``0.3`` is a multiple of ``0.1``).

    Raises:
        InvalidSpaceError: a bad step, or fewer than two multiples in the range.
    """
    check_number(low, f"param {name!r}: the range's low end", InvalidSpaceError)
    check_number(high, f"param {name!r}: the range's high end", InvalidSpaceError)
    check_number(
        step, f"param {name!r}: the step", InvalidSpaceError, min_value=0.0, exclusive_min=True
    )
    if all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high, step)):
        lowest, highest = -(-low // step) * step, high // step * step
    elif not all(math.isfinite(end / step) for end in (low, high)):
        raise InvalidSpaceError(
            f"param {name!r}: the range [{low}, {high}] holds more multiples of its step "
            f"{step} than the {MAX_GENERATED_VALUES} carbs holds; use a larger step"
        )
    else:
        # Into the range at each end; a range's end near 0 is not 0 (1e-12 * q is no multiple).
        lowest = whole_number(low / step, math.ceil, abs_tol=0.0) * step
        highest = whole_number(high / step, math.floor, abs_tol=0.0) * step
    if not lowest < highest:
        raise InvalidSpaceError(
            f"param {name!r}: the range [{low}, {high}] holds fewer than two multiples of "
            f"its step {step}; widen it, or make the param a constant"
        )
    return lowest, highest


def choice_param(name: str, choices: Sequence[Any], search_center: Any = None) -> Param:
    """The carbs param for a list of choices without an order.

    Raises:
        InvalidSpaceError: choices carbs cannot hold; the message names the param.
    """
    if isinstance(choices, str | bytes) or not isinstance(choices, Sequence):
        raise InvalidSpaceError(f"param {name!r}: the choices must be a list, got {choices!r}")
    choices = list(choices)
    center = choices[0] if search_center is None and choices else search_center
    if len(choices) == 1:  # one value to choose: a constant
        return Param(name, FixedSpace(), center)
    try:
        space = CategoricalSpace(choices=choices)
    except InvalidSpaceError as error:
        raise InvalidSpaceError(f"param {name!r}: {error}") from None
    return Param(name, space, center)
