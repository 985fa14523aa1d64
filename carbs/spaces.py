"""Parameter spaces: maps between what the user sees and the search space.

Vocabulary used across carbs:

* **param space** holds the values a training script receives (``lr=3e-4``);
* **basic space** is an unbounded real vector in which CARBS searches. One
  unit of basic space is ``scale`` units of the transformed parameter, and the
  default search radius is 0.3 basic units.

``LinearSpace`` maps ``x -> x / scale``, ``LogSpace`` maps
``x -> log_base(x) / scale`` and ``LogitSpace`` maps
``p -> log10(p / (1 - p)) / scale``. Bounds are checked in param space, after
integer rounding, so that every suggestion is a legal value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import torch
from torch import Tensor

from carbs.errors import InvalidObservationError, InvalidParamError, InvalidSpaceError

SUGGESTION_ID_DICT_KEY = "suggestion_uuid"

ParamValue = float | int
ParamDict = dict[str, Any]


def _is_real(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


@attrs.frozen(kw_only=True)
class RealNumberSpace:
    """Common settings of the real-valued spaces.

    Attributes:
        min: Smallest legal value (inclusive), in param space.
        max: Largest legal value (inclusive), in param space.
        scale: Size of one basic-space unit in transformed units. A larger
            scale makes the default 0.3 search radius a bigger step.
        is_integer: Round suggestions to multiples of ``rounding_factor``.
        rounding_factor: Lattice spacing for integer spaces (1 = every integer).
    """

    min: float = -math.inf
    max: float = math.inf
    scale: float = 1.0
    is_integer: bool = False
    rounding_factor: int = 1

    def __attrs_post_init__(self) -> None:
        name = type(self).__name__
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise InvalidSpaceError(f"{name}.scale must be a finite number > 0, got {self.scale}")
        if math.isnan(self.min) or math.isnan(self.max):
            raise InvalidSpaceError(f"{name}.min and max must not be NaN")
        if self.min >= self.max:
            raise InvalidSpaceError(f"{name}.min must be < max, got min={self.min}, max={self.max}")
        if not (float(self.rounding_factor).is_integer() and self.rounding_factor >= 1):
            raise InvalidSpaceError(
                f"{name}.rounding_factor must be an integer >= 1, got {self.rounding_factor}"
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

    def clip_param_tensor(self, values: Tensor) -> Tensor:
        """Move param-space values to the nearest legal ones.

        Clamps into ``[min, max]``; a value left on an open end (``LogSpace`` 0,
        ``LogitSpace`` 0 or 1, whose basic image is infinite) steps one float
        inside; integer spaces round onto their lattice, stepping back inside the
        bounds when rounding left them.
        """
        values = values.clamp(self.min, self.max)
        if not self.is_integer:
            inward = torch.full_like(values, 0.5 * (self.min + min(self.max, 1.0)))
            is_open_end = ~torch.isfinite(self.basic_from_param_tensor(values))
            return torch.where(is_open_end, torch.nextafter(values, inward), values)
        rounded = self.round_param_tensor(values)
        rounded = torch.where(rounded > self.max, rounded - self.rounding_factor, rounded)
        return torch.where(rounded < self.min, rounded + self.rounding_factor, rounded)

    def is_in_bounds_tensor(self, values: Tensor) -> Tensor:
        """Boolean mask of param-space values inside ``[min, max]`` with a finite basic image."""
        basic = self.basic_from_param_tensor(values)
        return (values >= self.min) & (values <= self.max) & torch.isfinite(basic)

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

    min: float = 0.0
    base: float = 10.0

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if self.min < 0:
            raise InvalidSpaceError(f"LogSpace.min must be >= 0, got min={self.min}")
        if self.is_integer and not self.min > 0:
            raise InvalidSpaceError(
                f"an integer LogSpace needs a positive min (e.g. min=1), got min={self.min}"
            )
        if not (math.isfinite(self.base) and self.base > 1):
            raise InvalidSpaceError(f"LogSpace.base must be a finite number > 1, got {self.base}")

    def basic_from_param_tensor(self, values: Tensor) -> Tensor:
        if self.base == 10.0:
            return torch.log10(values) / self.scale
        return torch.log(values) / (math.log(self.base) * self.scale)

    def param_from_basic_tensor(self, values: Tensor) -> Tensor:
        return torch.pow(torch.as_tensor(self.base, dtype=values.dtype), values * self.scale)

    @property
    def plot_scale(self) -> str:
        return "log"


@attrs.frozen(kw_only=True)
class LogitSpace(RealNumberSpace):
    """A probability-like parameter in (0, 1): basic = log10(p / (1 - p)) / scale."""

    min: float = 0.0
    max: float = 1.0

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
        return torch.sigmoid(values * (self.scale * math.log(10.0)))

    @property
    def plot_scale(self) -> str:
        return "logit"


@attrs.frozen
class Param:
    """One tuned hyperparameter.

    Attributes:
        name: Key under which the value appears in suggestions and observations.
        space: How the parameter is searched (``LinearSpace``, ``LogSpace``, ``LogitSpace``).
        search_center: Where the search starts, in param space; must lie inside the bounds.
    """

    name: str
    space: RealNumberSpace
    search_center: float | int

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidParamError(f"Param.name must be a non-empty string, got {self.name!r}")
        if self.name == SUGGESTION_ID_DICT_KEY:
            raise InvalidParamError(f"Param.name {SUGGESTION_ID_DICT_KEY!r} is reserved")
        if not isinstance(self.space, RealNumberSpace):
            raise InvalidParamError(
                f"Param {self.name!r}: space must be LinearSpace, LogSpace or LogitSpace, "
                f"got {type(self.space).__name__}"
            )
        if not _is_real(self.search_center) or not math.isfinite(self.search_center):
            raise InvalidParamError(
                f"Param {self.name!r}: search_center must be a finite number, "
                f"got {self.search_center!r}"
            )
        if not self.space.is_in_bounds(self.search_center):
            raise InvalidParamError(
                f"Param {self.name!r}: search_center={self.search_center} is outside "
                f"[min={self.space.min}, max={self.space.max}]"
            )


class SearchSpace:
    """The ordered list of params, with vectorised maps between dicts and basic tensors.

    All tensors are float64 with the last dimension indexing params in the
    order they were given.
    """

    def __init__(self, params: Sequence[Param]) -> None:
        params = list(params)
        if not params:
            raise InvalidParamError("params must contain at least one Param")
        seen: set[str] = set()
        for param in params:
            if not isinstance(param, Param):
                raise InvalidParamError(f"params must be Param objects, got {type(param).__name__}")
            if param.name in seen:
                raise InvalidParamError(f"duplicate param name {param.name!r}")
            seen.add(param.name)
        self.params: tuple[Param, ...] = tuple(params)
        self.names: tuple[str, ...] = tuple(p.name for p in params)
        self.spaces: tuple[RealNumberSpace, ...] = tuple(p.space for p in params)

    @property
    def dim(self) -> int:
        """Number of params d."""
        return len(self.params)

    def search_center_in_basic(self) -> Tensor:
        """Search centres of all params in basic space, shape ``(d,)``."""
        return self.basic_from_param_dict({p.name: p.search_center for p in self.params})

    def validate_param_dict(self, values: Mapping[str, Any], what: str = "input") -> None:
        """Raise :class:`InvalidObservationError` unless ``values`` holds every param, in bounds.

        The reserved key ``suggestion_uuid`` is allowed; any other unknown key is an error.
        """
        if not isinstance(values, Mapping):
            raise InvalidObservationError(f"{what} must be a dict, got {type(values).__name__}")
        missing = [name for name in self.names if name not in values]
        if missing:
            raise InvalidObservationError(f"{what} is missing param(s) {missing}")
        unknown = [k for k in values if k not in self.names and k != SUGGESTION_ID_DICT_KEY]
        if unknown:
            raise InvalidObservationError(
                f"{what} has unknown key(s) {unknown}; known params are {list(self.names)}"
            )
        for param in self.params:
            value = values[param.name]
            if not _is_real(value) or not math.isfinite(value):
                raise InvalidObservationError(
                    f"{what}[{param.name!r}] must be a finite number, got {value!r}"
                )
            if not param.space.is_in_bounds(value):
                raise InvalidObservationError(
                    f"{what}[{param.name!r}]={value} is outside "
                    f"[min={param.space.min}, max={param.space.max}]"
                )

    def basic_from_param_dict(self, values: Mapping[str, Any]) -> Tensor:
        """Map a (validated) param dict to a basic-space vector of shape ``(d,)``."""
        return torch.stack(
            [
                space.basic_from_param_tensor(
                    torch.tensor(float(values[name]), dtype=torch.float64)
                )
                for name, space in zip(self.names, self.spaces, strict=True)
            ]
        )

    def param_tensor_from_basic(self, basic: Tensor) -> Tensor:
        """Map basic points ``(..., d)`` to rounded param values ``(..., d)``."""
        columns = [
            space.round_param_tensor(space.param_from_basic_tensor(basic[..., i]))
            for i, space in enumerate(self.spaces)
        ]
        return torch.stack(columns, dim=-1)

    def param_dict_from_basic(self, basic: Tensor) -> ParamDict:
        """Map one basic point ``(d,)`` to a param dict; integer params become ``int``."""
        values = self.param_tensor_from_basic(basic)
        return {
            name: int(v) if space.is_integer else float(v)
            for name, space, v in zip(self.names, self.spaces, values.tolist(), strict=True)
        }

    def round_basic(self, basic: Tensor) -> Tensor:
        """Snap basic points ``(..., d)`` onto the integer lattice of integer params."""
        if not any(space.is_integer for space in self.spaces):
            return basic
        columns = [
            space.round_tensor_in_basic(basic[..., i]) for i, space in enumerate(self.spaces)
        ]
        return torch.stack(columns, dim=-1)

    def clip_basic(self, basic: Tensor) -> Tensor:
        """Move basic points ``(..., d)`` to the nearest legal values, param by param."""
        columns = [
            space.basic_from_param_tensor(
                space.clip_param_tensor(space.param_from_basic_tensor(basic[..., i]))
            )
            for i, space in enumerate(self.spaces)
        ]
        return torch.stack(columns, dim=-1)

    def in_bounds_mask(self, basic: Tensor) -> Tensor:
        """Boolean mask ``(n,)`` of basic points ``(n, d)`` whose rounded values are legal."""
        params = self.param_tensor_from_basic(basic)
        mask = torch.isfinite(basic).all(dim=-1)
        for i, space in enumerate(self.spaces):
            mask &= space.is_in_bounds_tensor(params[..., i])
        return mask
