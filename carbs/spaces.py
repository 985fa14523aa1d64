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
import torch
from torch import Tensor

from carbs.checks import check_bool, check_integer, check_number
from carbs.errors import InvalidObservationError, InvalidParamError, InvalidSpaceError

SUGGESTION_ID_DICT_KEY = "suggestion_uuid"

ParamDict = dict[str, Any]


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
        error = InvalidSpaceError
        check_number(self.scale, f"{name}.scale", error, min_value=0.0, exclusive_min=True)
        check_number(self.min, f"{name}.min", error, finite=False, max_value=math.inf)
        check_number(self.max, f"{name}.max", error, finite=False, max_value=math.inf)
        check_bool(self.is_integer, f"{name}.is_integer", error)
        check_integer(self.rounding_factor, f"{name}.rounding_factor", error, min_value=1)
        if self.min >= self.max:
            raise InvalidSpaceError(f"{name}.min must be < max, got min={self.min}, max={self.max}")
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

    def is_on_lattice(self, value: float) -> bool:
        """Whether a param-space value is a multiple of ``rounding_factor`` (always for floats)."""
        return not self.is_integer or float(value) % self.rounding_factor == 0

    def to_dict(self) -> dict[str, Any]:
        """The space as plain data: ``{"type": class name, **fields}``."""
        return {"type": type(self).__name__, **attrs.asdict(self)}


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
        check_number(self.search_center, f"Param {self.name!r}: search_center", InvalidParamError)
        if not self.space.is_in_bounds(self.search_center):
            raise InvalidParamError(
                f"Param {self.name!r}: search_center={self.search_center} is outside "
                f"[min={self.space.min}, max={self.space.max}]"
            )

    def to_dict(self) -> dict[str, Any]:
        """The param as plain data: ``{"name", "space": {"type", ...}, "search_center"}``."""
        return {
            "name": self.name,
            "space": self.space.to_dict(),
            "search_center": self.search_center,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Param:
        """Rebuild a param written by :meth:`to_dict`.

        Raises:
            InvalidParamError: a missing or unknown key, or an unknown space type.
            InvalidSpaceError: a space field of the wrong type or range.
        """
        if not isinstance(data, Mapping) or set(data) != {"name", "space", "search_center"}:
            raise InvalidParamError(
                "a param must be an object with exactly the keys name, space and search_center"
            )
        space_data = data["space"]
        if not isinstance(space_data, Mapping):
            raise InvalidParamError(f"param {data['name']!r}: space must be an object")
        fields = dict(space_data)
        space_type = SPACE_TYPES.get(str(fields.pop("type", None)))
        if space_type is None:
            raise InvalidParamError(
                f"param {data['name']!r}: unknown space type {space_data.get('type')!r}; "
                f"known types are {sorted(SPACE_TYPES)}"
            )
        known = {field.name for field in attrs.fields(space_type)}
        if set(fields) - known:
            raise InvalidParamError(
                f"param {data['name']!r}: unknown {space_type.__name__} field(s) "
                f"{sorted(set(fields) - known)}"
            )
        return cls(data["name"], space_type(**fields), data["search_center"])


SPACE_TYPES: dict[str, type[RealNumberSpace]] = {
    space.__name__: space for space in (LinearSpace, LogSpace, LogitSpace)
}
"""The space classes a saved param may name, by class name."""


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
        """Raise :class:`InvalidObservationError` unless ``values`` holds every param, legally.

        Every param must be present with a finite number inside its bounds; an
        integer param's value must lie on its lattice (a multiple of
        ``rounding_factor``; ``32.0`` is fine, ``33.5`` is not). The reserved key
        ``suggestion_uuid`` is allowed; any other key is an error. Missing and
        unknown keys are reported together, so a typo shows both names.
        """
        if not isinstance(values, Mapping):
            raise InvalidObservationError(f"{what} must be a dict, got {type(values).__name__}")
        missing = [name for name in self.names if name not in values]
        unknown = [k for k in values if k not in self.names and k != SUGGESTION_ID_DICT_KEY]
        if missing or unknown:
            problems = [f"missing param(s) {missing}"] if missing else []
            problems += [f"unknown key(s) {unknown}"] if unknown else []
            raise InvalidObservationError(
                f"{what} has {' and '.join(problems)}; the params are {list(self.names)}"
            )
        for param in self.params:
            field = f"{what}[{param.name!r}]"
            value = check_number(values[param.name], field, InvalidObservationError)
            if not param.space.is_in_bounds(value):
                raise InvalidObservationError(
                    f"{field}={value} is outside [min={param.space.min}, max={param.space.max}]"
                )
            if not param.space.is_on_lattice(value):
                raise InvalidObservationError(
                    f"{field}={value} is not a multiple of rounding_factor="
                    f"{param.space.rounding_factor}: integer params take lattice values only"
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

    def basic_bounds(self) -> tuple[Tensor, Tensor]:
        """Each param's ``min`` and ``max`` in basic space, two tensors of shape ``(d,)``
        (infinite where a param is unbounded on that side)."""
        bounds = [
            (
                space.basic_from_param_tensor(torch.tensor(space.min, dtype=torch.float64)),
                space.basic_from_param_tensor(torch.tensor(space.max, dtype=torch.float64)),
            )
            for space in self.spaces
        ]
        return torch.stack([low for low, _ in bounds]), torch.stack([high for _, high in bounds])

    def in_bounds_mask(self, basic: Tensor) -> Tensor:
        """Boolean mask ``(n,)`` of basic points ``(n, d)`` whose rounded values are legal."""
        params = self.param_tensor_from_basic(basic)
        mask = torch.isfinite(basic).all(dim=-1)
        for i, space in enumerate(self.spaces):
            mask &= space.is_in_bounds_tensor(params[..., i])
        return mask
