"""``Param`` (one hyperparameter) and ``SearchSpace`` (the ordered list, mapped to basic space)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import attrs
import torch
from torch import Tensor

from carbs.checks import plain_scalar
from carbs.errors import InvalidObservationError, InvalidParamError
from carbs.spaces.base import Space, typed_key
from carbs.spaces.discrete import CategoricalSpace, FixedSpace, OrdinalSpace
from carbs.spaces.real import LinearSpace, LogitSpace, LogSpace

SUGGESTION_ID_DICT_KEY = "suggestion_uuid"

ParamDict = dict[str, Any]

SPACE_TYPES: dict[str, type[Space]] = {
    space.__name__: space
    for space in (LinearSpace, LogSpace, LogitSpace, OrdinalSpace, CategoricalSpace, FixedSpace)
}
"""The space classes a saved param may name, by class name."""


@attrs.frozen
class Param:
    """One hyperparameter.

    Attributes:
        name: Key under which the value appears in suggestions and observations.
        space: How the parameter is searched: ``LinearSpace``, ``LogSpace``,
            ``LogitSpace``, ``OrdinalSpace``, ``CategoricalSpace`` or ``FixedSpace``.
        search_center: Where the search starts, in param space: a value inside the
            bounds, one of the listed values or choices, or, for a ``FixedSpace``,
            the constant itself.
    """

    name: str
    space: Space
    search_center: Any = attrs.field(eq=typed_key, converter=plain_scalar)  # True is not 1

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidParamError(f"Param.name must be a non-empty string, got {self.name!r}")
        if self.name == SUGGESTION_ID_DICT_KEY:
            raise InvalidParamError(f"Param.name {SUGGESTION_ID_DICT_KEY!r} is reserved")
        if not isinstance(self.space, Space):
            raise InvalidParamError(
                f"Param {self.name!r}: space must be one of {sorted(SPACE_TYPES)}, "
                f"got {type(self.space).__name__}"
            )
        self.space.check_center(self.search_center, f"Param {self.name!r}: search_center")

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
        space_fields = attrs.fields(cast(Any, space_type))
        known = {field.name for field in space_fields}
        if set(fields) - known:
            raise InvalidParamError(
                f"param {data['name']!r}: unknown {space_type.__name__} field(s) "
                f"{sorted(set(fields) - known, key=repr)}"
            )
        missing = sorted(
            f.name for f in space_fields if f.default is attrs.NOTHING and f.name not in fields
        )
        if missing:
            raise InvalidParamError(
                f"param {data['name']!r}: {space_type.__name__} is missing field(s) {missing}"
            )
        return cls(data["name"], space_type(**fields), data["search_center"])


class SearchSpace:
    """The ordered list of params, with maps between param dicts and basic-space tensors.

    Every param but a fixed one has one basic-space column, in the order the
    params were given; :attr:`names` and :attr:`spaces` describe the columns.
    Tensors are float64 with the last dimension indexing columns.
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
        tuned = [p for p in params if not p.space.is_fixed]
        if not tuned:
            raise InvalidParamError("params must contain at least one param that is not fixed")
        self.names: tuple[str, ...] = tuple(p.name for p in tuned)
        self.spaces: tuple[Space, ...] = tuple(p.space for p in tuned)
        self.fixed: dict[str, Any] = {p.name: p.search_center for p in params if p.space.is_fixed}
        self.categorical_columns: tuple[int, ...] = tuple(
            i for i, space in enumerate(self.spaces) if space.is_categorical
        )

    @property
    def dim(self) -> int:
        """Number of basic-space columns (tuned params)."""
        return len(self.names)

    @property
    def continuous_columns(self) -> tuple[int, ...]:
        """Columns of the params that are not categorical."""
        return tuple(i for i in range(self.dim) if i not in self.categorical_columns)

    def choice_counts(self) -> dict[int, int]:
        """The number of choices of each categorical column, by column."""
        return {
            i: len(cast(CategoricalSpace, self.spaces[i]).choices) for i in self.categorical_columns
        }

    def search_center_in_basic(self) -> Tensor:
        """Search centres of the tuned params in basic space, shape ``(d,)``."""
        return self.basic_from_param_dict({p.name: p.search_center for p in self.params})

    def validate_param_dict(self, values: Mapping[str, Any], what: str = "input") -> None:
        """Raise :class:`InvalidObservationError` unless ``values`` holds every param, legally.

        Every tuned param must be present with a legal value: a finite number in
        its bounds (on its lattice for integer params: ``32.0`` is fine, ``33.5``
        is not), one of its listed values, or one of its choices. A fixed param
        may be left out; where given it must equal its value. The reserved key
        ``suggestion_uuid`` is allowed; any other key is an error. Missing and
        unknown keys are reported together, so a typo shows both names.
        """
        if not isinstance(values, Mapping):
            raise InvalidObservationError(f"{what} must be a dict, got {type(values).__name__}")
        missing = [name for name in self.names if name not in values]
        known = {p.name for p in self.params}
        unknown = [k for k in values if k not in known and k != SUGGESTION_ID_DICT_KEY]
        if missing or unknown:
            problems = [f"missing param(s) {missing}"] if missing else []
            problems += [f"unknown key(s) {unknown}"] if unknown else []
            raise InvalidObservationError(
                f"{what} has {' and '.join(problems)}; "
                f"the params are {[p.name for p in self.params]}"
            )
        for name, space in zip(self.names, self.spaces, strict=True):
            space.check_value(values[name], f"{what}[{name!r}]")
        for name, value in self.fixed.items():
            if name in values:
                space = next(p.space for p in self.params if p.name == name)
                assert isinstance(space, FixedSpace)
                space.check_fixed(values[name], value, f"{what}[{name!r}]")

    def basic_from_param_dict(self, values: Mapping[str, Any]) -> Tensor:
        """Map a (validated) param dict to a basic-space vector of shape ``(d,)``."""
        return torch.tensor(
            [
                space.basic_from_value(values[name])
                for name, space in zip(self.names, self.spaces, strict=True)
            ],
            dtype=torch.float64,
        )

    def param_dict_from_basic(self, basic: Tensor) -> ParamDict:
        """Map one basic point ``(d,)`` to a full param dict, fixed params included, in the
        params' order; integer params become ``int``, choices keep their own type."""
        columns = dict(zip(self.names, basic.tolist(), strict=True))
        values = {
            name: space.value_from_basic(columns[name])
            for name, space in zip(self.names, self.spaces, strict=True)
        }
        return {p.name: values.get(p.name, self.fixed.get(p.name)) for p in self.params}

    def _by_column(self, basic: Tensor, method: str) -> Tensor:
        columns = [getattr(space, method)(basic[..., i]) for i, space in enumerate(self.spaces)]
        return torch.stack(columns, dim=-1)

    def round_basic(self, basic: Tensor) -> Tensor:
        """Snap basic points ``(..., d)`` onto the values each param can take."""
        return self._by_column(basic, "round_basic")

    def clip_basic(self, basic: Tensor) -> Tensor:
        """Move basic points ``(..., d)`` to the nearest legal values, param by param."""
        return self._by_column(basic, "clip_basic")

    def in_bounds_mask(self, basic: Tensor) -> Tensor:
        """Boolean mask ``(n,)`` of basic points ``(n, d)`` whose rounded values are legal."""
        return self._by_column(basic, "is_legal_basic").all(dim=-1)

    def basic_bounds(self) -> tuple[Tensor, Tensor]:
        """Each column's lowest and highest basic value, two tensors of shape ``(d,)``
        (infinite where a param is unbounded on that side)."""
        bounds = [space.basic_bounds() for space in self.spaces]
        return (
            torch.tensor([low for low, _ in bounds], dtype=torch.float64),
            torch.tensor([high for _, high in bounds], dtype=torch.float64),
        )
