"""Reading each field of a saved state, with its type and range checked.

Every reader takes a value parsed from JSON and the place it came from
(``where``, as ``state['observations'][3]['cost']``), and returns the value the
state holds, or raises :class:`~carbs.errors.StateError` naming that place.
:mod:`carbs.state` assembles a :class:`~carbs.state.CARBSState` from them.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from carbs.checks import (
    check_bool,
    check_integer,
    check_number,
    check_optional_str,
)
from carbs.errors import StateError
from carbs.observations import ObservationInBasic, SuggestionInBasic
from carbs.spaces import SearchSpace
from carbs.stopping import ReportedCurve
from carbs.surrogate.fitting import Hyperparameters


def read_list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise StateError(f"{where} must be a list, got {type(value).__name__}")
    return value


def read_mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise StateError(f"{where} must be an object, got {type(value).__name__}")
    return value


def _keys(value: Any, keys: set[str], where: str) -> Mapping[str, Any]:
    mapping = read_mapping(value, where)
    if set(mapping) != keys:
        raise StateError(
            f"{where} must have exactly the keys {sorted(keys)}, got {sorted(mapping)}"
        )
    return mapping


def _number(value: Any, where: str, **bounds: Any) -> float:
    return check_number(value, where, StateError, **bounds)


def _unknown_or_number(value: Any, where: str, **bounds: Any) -> float:
    """NaN (not known) or a finite number within ``bounds``: an infinite projection or
    time would load and then poison the models or the table."""
    number = _number(value, where, finite=False)
    return number if math.isnan(number) else _number(number, where, **bounds)


def _text(value: Any, where: str) -> str | None:
    return check_optional_str(value, where, StateError)


def _suggestion_id(value: Any, where: str) -> str | None:
    """A suggestion id as the API gives them: ``None`` or a non-empty str."""
    if value == "":
        raise StateError(f"{where} must be a non-empty str or None, got ''")
    return _text(value, where)


def read_state_integer(value: Any, name: str, min_value: int, max_value: int) -> int:
    return check_integer(
        value, f"state[{name!r}]", StateError, min_value=min_value, max_value=max_value
    )


def read_point(value: Any, space: SearchSpace, where: str) -> Tensor:
    """A basic-space point of the right length whose param values are legal."""
    items = read_list(value, where)
    if len(items) != space.dim:
        raise StateError(f"{where} must hold {space.dim} values (one per param), got {len(items)}")
    point = torch.tensor(
        [_number(v, f"{where}[{i}]") for i, v in enumerate(items)], dtype=torch.float64
    )
    for name, param_space, basic in zip(space.names, space.spaces, point.tolist(), strict=True):
        if not param_space.holds_basic(basic):
            raise StateError(f"{where}: {name} has no legal value at {basic!r} in basic space")
    return point


MAX_TIMESTAMP = 9.2e9
"""Latest ``observed_at`` a state may hold, in seconds since 1970 (the year 2261): the
latest that :meth:`CARBS.to_dataframe`'s timestamps (pandas, nanoseconds) can show."""

_OBSERVATION_KEYS = {
    "input",
    "output",
    "cost",
    "is_failure",
    "suggestion_id",
    "observed_at",
    "suggestion_type",
    "is_stopped",
    "projected_output",
}


def read_observations(value: Any, space: SearchSpace) -> list[ObservationInBasic]:
    observations = []
    for index, entry in enumerate(read_list(value, "state['observations']")):
        where = f"state['observations'][{index}]"
        entry = _keys(entry, _OBSERVATION_KEYS, where)
        is_failure = check_bool(entry["is_failure"], f"{where}['is_failure']", StateError)
        is_stopped = check_bool(entry["is_stopped"], f"{where}['is_stopped']", StateError)
        if is_failure and is_stopped:
            raise StateError(f"{where} is marked both failed and stopped")
        projected = _unknown_or_number(entry["projected_output"], f"{where}['projected_output']")
        if is_stopped and math.isnan(projected):
            raise StateError(
                f"{where} is a stopped run without the projected_output the performance "
                "model sees for it"
            )
        observations.append(
            ObservationInBasic(
                real_number_input=read_point(entry["input"], space, f"{where}['input']"),
                output=_number(entry["output"], f"{where}['output']", finite=not is_failure),
                cost=_number(entry["cost"], f"{where}['cost']", min_value=0, exclusive_min=True),
                suggestion_id=_suggestion_id(entry["suggestion_id"], f"{where}['suggestion_id']"),
                is_failure=is_failure,
                observed_at=_unknown_or_number(
                    entry["observed_at"],
                    f"{where}['observed_at']",
                    min_value=0.0,
                    max_value=MAX_TIMESTAMP,
                ),
                suggestion_type=_text(entry["suggestion_type"], f"{where}['suggestion_type']"),
                is_stopped=is_stopped,
                projected_output=projected,
            )
        )
    return observations


def read_outstanding(value: Any, space: SearchSpace) -> dict[str, SuggestionInBasic]:
    outstanding = {}
    for key, entry in read_mapping(value, "state['outstanding_suggestions']").items():
        where = f"state['outstanding_suggestions'][{key!r}]"
        _suggestion_id(key, f"the key of {where}")
        entry = _keys(entry, {"input", "log"}, where)
        log = dict(read_mapping(entry["log"], f"{where}['log']"))
        outstanding[key] = SuggestionInBasic(
            read_point(entry["input"], space, f"{where}['input']"), log
        )
    return outstanding


def read_curves(value: Any) -> dict[str, ReportedCurve]:
    curves = {}
    for key, entry in read_mapping(value, "state['curves']").items():
        where = f"state['curves'][{key!r}]"
        _suggestion_id(key, f"the key of {where}")
        entry = _keys(entry, {"costs", "outputs", "planned_cost"}, where)
        costs = [
            _number(c, f"{where}['costs']", min_value=0, exclusive_min=True)
            for c in read_list(entry["costs"], f"{where}['costs']")
        ]
        outputs = [_number(o, f"{where}['outputs']") for o in read_list(entry["outputs"], where)]
        if len(costs) != len(outputs) or any(b < a for a, b in itertools.pairwise(costs)):
            raise StateError(f"{where} needs as many outputs as costs, and costs that never fall")
        planned = entry["planned_cost"]
        if planned is not None:
            planned = _number(planned, f"{where}['planned_cost']", min_value=0, exclusive_min=True)
        curves[key] = ReportedCurve(tuple(costs), tuple(outputs), planned)
    return curves


def read_hyperparameters(value: Any) -> Hyperparameters:
    result: Hyperparameters = {}
    for model_name, values in read_mapping(value, "state['hyperparameters']").items():
        where = f"state['hyperparameters'][{model_name!r}]"
        checked: dict[str, list[Any]] = {}
        for name, array in read_mapping(values, where).items():
            try:
                tensor = torch.as_tensor(array, dtype=torch.float64)
            except (TypeError, ValueError, RuntimeError, OverflowError) as error:
                raise StateError(f"{where}[{name!r}] is not a numeric array: {error}") from error
            if not torch.isfinite(tensor).all():
                raise StateError(f"{where}[{name!r}] holds non-finite values")
            checked[name] = array
        result[model_name] = checked
    return result


def read_generator(value: Any) -> torch.Generator:
    if not isinstance(value, str):
        raise StateError("state['generator_state'] must be a base64 string")
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as error:
        raise StateError(f"state['generator_state'] is not valid base64: {error}") from error
    generator = torch.Generator()
    try:
        generator.set_state(torch.tensor(list(raw), dtype=torch.uint8))
    except RuntimeError as error:
        raise StateError(f"state['generator_state'] is not a torch generator state: {error}") from (
            error
        )
    return generator


def check_runs(
    observations: Sequence[ObservationInBasic],
    outstanding: Mapping[str, SuggestionInBasic],
    curves: Mapping[str, ReportedCurve],
) -> None:
    """Raises StateError for a run both recorded and running, or reports of no run."""
    recorded = {o.suggestion_id for o in observations if o.suggestion_id is not None}
    if both := sorted(recorded & set(outstanding)):
        raise StateError(f"the state holds run(s) {both} both observed and outstanding")
    if orphans := sorted(set(curves) - recorded - set(outstanding)):
        raise StateError(
            f"state['curves'] holds reports of {orphans}, neither observed nor outstanding"
        )
