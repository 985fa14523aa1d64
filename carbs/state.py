"""The optimizer's state and its JSON form.

:class:`CARBSState` holds everything that shapes an optimizer's future
suggestions: the config, the params, every observation in recording order, the
outstanding suggestions, the resampling counter, the search centre, the
candidate sampler's oversampling factor, the random generator and the last
fitted GP hyperparameters (the warm start of the next fit). A :class:`~carbs.CARBS`
owns exactly one and is its only writer. Loading a saved state into a fresh
process reproduces the next suggestion exactly.

On disk (see :mod:`carbs.jsonio`) a state is one strict-JSON object with a
``format_version``; older formats are upgraded in memory on load
(:mod:`carbs.migrations`). Loading validates types *and* ranges, so a file
that loads is a state every method can work on.
"""

from __future__ import annotations

import base64
import binascii
import functools
import itertools
import math
import os
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from typing import Any

import attrs
import torch
from torch import Tensor

from carbs.candidates import max_oversample_factor
from carbs.checks import check_bool, check_integer, check_number, check_optional_str
from carbs.config import CARBSParams, config_from_dict, config_to_dict
from carbs.errors import CARBSValueError, InvalidParamError, StateError
from carbs.jsonio import PathLike, check_nesting, from_json_value, loads, read_text, to_json_value
from carbs.migrations import upgrade
from carbs.observations import ObservationInBasic, SuggestionInBasic
from carbs.spaces import Param, SearchSpace
from carbs.stopping import ReportedCurve
from carbs.surrogate.fitting import Hyperparameters

FORMAT_VERSION = 10
"""Version of the JSON layout written by this carbs; bumped when its meaning changes."""
STATE_KIND = "carbs.state"
"""Value of the ``kind`` field that marks a JSON object as a carbs state."""
STATE_FILE_NAME = "carbs_state.json"
"""Name of the autosaved state file inside ``CARBSParams.checkpoint_dir``."""


@attrs.define(kw_only=True, eq=False)
class CARBSState:
    """Everything that shapes an optimizer's future suggestions.

    Attributes:
        config: The optimizer's settings.
        params: The tuned params in order.
        search_center_in_basic: Centre of warm-up sampling, shape ``(d,)``.
        observations: Every observation, successful or not, in recording order.
        outstanding_suggestions: Suggestions not yet observed or forgotten, by id,
            oldest first.
        skipped_resample_turns: Resample turns that passed without a repeat: skipped
            because the measured noise was negligible, or passed over when earlier runs
            were loaded. The turns used are these plus the repeats in the data.
        oversample_factor: Draws per requested candidate on the next sampling call.
        fallback_count: Suggestions made by sampling around the front because a GP
            fit or solve failed.
        generator: The optimizer's random generator.
        hyperparameters: Last fitted GP hyperparameters by model name (JSON-ready).
        curves: Intermediate reports by suggestion id (see :meth:`CARBS.report`),
            of running runs and of observed ones (their curves teach the stopping rule).
    """

    config: CARBSParams
    params: tuple[Param, ...]
    search_center_in_basic: Tensor
    observations: list[ObservationInBasic] = attrs.Factory(list)
    outstanding_suggestions: dict[str, SuggestionInBasic] = attrs.Factory(dict)
    skipped_resample_turns: int = 0
    oversample_factor: int = 1
    fallback_count: int = 0
    generator: torch.Generator = attrs.Factory(torch.Generator)
    hyperparameters: Hyperparameters = attrs.Factory(dict)
    curves: dict[str, ReportedCurve] = attrs.Factory(dict)

    @property
    def successes(self) -> list[ObservationInBasic]:
        """The runs that completed successfully (not stopped early), in recording order."""
        return [o for o in self.observations if o.is_complete]

    @property
    def stopped(self) -> list[ObservationInBasic]:
        """The runs stopped early, in recording order (a new list)."""
        return [o for o in self.observations if o.is_stopped]

    @property
    def failures(self) -> list[ObservationInBasic]:
        """The failed observations, in recording order (a new list)."""
        return [o for o in self.observations if o.is_failure]

    def to_dict(self) -> dict[str, Any]:
        """The state as strict-JSON data (see :func:`carbs.jsonio.to_json_value`)."""
        data = {key: encode(self) for key, encode in _ENCODERS.items()}
        data["carbs_version"] = _carbs_version()
        result: dict[str, Any] = to_json_value(data)
        return result

    @classmethod
    def from_dict(cls, data: Any) -> CARBSState:
        """Validate and rebuild a state from :meth:`to_dict` output or parsed JSON.

        Raises:
            StateError: an unknown or newer ``format_version``, a missing or
                unknown field, or a field of the wrong type, length or range.
        """
        check_nesting(data)
        data = from_json_value(_mapping(data, "the state"))
        version = check_format_version(data)
        data = upgrade(data, version, FORMAT_VERSION)
        missing = [key for key in _ENCODERS if key not in data]
        unknown = sorted(set(data) - set(_ENCODERS) - {"carbs_version"})
        if missing or unknown:
            raise StateError(f"the state is missing field(s) {missing} / has unknown {unknown}")
        try:
            config = config_from_dict(_mapping(data["config"], "state['config']"))
            params = tuple(Param.from_dict(p) for p in _list(data["params"], "state['params']"))
            space = SearchSpace(params)
        except CARBSValueError as error:
            raise StateError(f"the state's config or params are not valid: {error}") from error
        observations = _observations_from_dict(data["observations"], space)
        return cls(
            config=config,
            params=params,
            search_center_in_basic=_point(
                data["search_center_in_basic"], space, "state['search_center_in_basic']"
            ),
            observations=observations,
            outstanding_suggestions=_outstanding_from_dict(data["outstanding_suggestions"], space),
            skipped_resample_turns=_state_integer(
                data["skipped_resample_turns"], "skipped_resample_turns", 0, len(observations)
            ),
            oversample_factor=_state_integer(
                data["oversample_factor"], "oversample_factor", 1, max_oversample_factor(space)
            ),
            fallback_count=_state_integer(data["fallback_count"], "fallback_count", 0, 2**62),
            generator=_generator_from_text(data["generator_state"]),
            hyperparameters=_hyperparameters_from_dict(data["hyperparameters"]),
            curves=_curves_from_dict(data["curves"]),
        )


def _observation_to_dict(observation: ObservationInBasic) -> dict[str, Any]:
    return {
        "input": observation.real_number_input.to(torch.float64).tolist(),
        "output": float(observation.output),
        "cost": float(observation.cost),
        "is_failure": observation.is_failure,
        "suggestion_id": observation.suggestion_id,
        "observed_at": float(observation.observed_at),
        "suggestion_type": observation.suggestion_type,
        "is_stopped": observation.is_stopped,
        "projected_output": float(observation.projected_output),
    }


def _generator_to_text(generator: torch.Generator) -> str:
    return base64.b64encode(generator.get_state().contiguous().numpy().tobytes()).decode("ascii")


_ENCODERS: dict[str, Callable[[CARBSState], Any]] = {
    "format_version": lambda state: FORMAT_VERSION,
    "kind": lambda state: STATE_KIND,
    "config": lambda state: config_to_dict(state.config),
    "params": lambda state: [p.to_dict() for p in state.params],
    "search_center_in_basic": lambda state: state.search_center_in_basic.tolist(),
    "observations": lambda state: [_observation_to_dict(o) for o in state.observations],
    "outstanding_suggestions": lambda state: {
        key: {"input": s.real_number_input.tolist(), "log": s.log_info}
        for key, s in state.outstanding_suggestions.items()
    },
    "skipped_resample_turns": lambda state: state.skipped_resample_turns,
    "oversample_factor": lambda state: state.oversample_factor,
    "fallback_count": lambda state: state.fallback_count,
    "generator_state": lambda state: _generator_to_text(state.generator),
    "hyperparameters": lambda state: state.hyperparameters,
    "curves": lambda state: {key: curve.to_dict() for key, curve in state.curves.items()},
}
"""One encoder per top-level JSON field: the single list of the file format's fields."""


def check_format_version(data: Mapping[str, Any]) -> int:
    """The ``format_version`` of ``data``; :class:`StateError` unless this carbs can read it."""
    if data.get("kind", STATE_KIND) != STATE_KIND:
        raise StateError(f"not a carbs state: kind={data.get('kind')!r}, expected {STATE_KIND!r}")
    if "format_version" not in data:
        raise StateError("not a carbs state: it has no 'format_version' field")
    version = data["format_version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise StateError(f"unknown state format_version {version!r}")
    if version > FORMAT_VERSION:
        raise StateError(
            f"the state has format_version={version}, written by a newer carbs; this carbs "
            f"reads format_version <= {FORMAT_VERSION}: upgrade carbs to load it"
        )
    return version


def read_state(path: PathLike) -> CARBSState:
    """Read and validate a state file written by :meth:`CARBS.save`.

    Raises:
        FileNotFoundError: no file at ``path``.
        StateError: the file is not a valid carbs state this version can read.
    """
    return CARBSState.from_dict(loads(read_text(path), source=os.fspath(path)))


def check_params_match(saved: Sequence[Param], given: Sequence[Param]) -> None:
    """Raise :class:`StateError` unless ``given`` equals ``saved`` (names, order, spaces, centres).

    Raises:
        InvalidParamError: ``given`` is not a valid list of params.
    """
    if isinstance(given, Param) or not isinstance(given, Sequence):
        raise InvalidParamError("params must be a list of Param")
    SearchSpace(given)  # validates the given params
    saved_names = [p.name for p in saved]
    given_names = [p.name for p in given]
    if saved_names != given_names:
        raise StateError(
            f"the saved state tunes params {saved_names}, but params {given_names} were given"
        )
    differences = [
        f"{s.name!r}: saved {s.space!r} with search_center={s.search_center!r}, "
        f"given {g.space!r} with search_center={g.search_center!r}"
        for s, g in zip(saved, given, strict=True)
        if s != g
    ]
    if differences:
        raise StateError("the saved params differ from the given ones: " + "; ".join(differences))


@functools.cache
def _carbs_version() -> str:
    try:
        return metadata.version("carbs-hpo")
    except metadata.PackageNotFoundError:
        return "unknown"


# -- field checks --------------------------------------------------------------------------------
def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise StateError(f"{where} must be a list, got {type(value).__name__}")
    return value


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise StateError(f"{where} must be an object, got {type(value).__name__}")
    return value


def _keys(value: Any, keys: set[str], where: str) -> Mapping[str, Any]:
    mapping = _mapping(value, where)
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


def _state_integer(value: Any, name: str, min_value: int, max_value: int) -> int:
    return check_integer(
        value, f"state[{name!r}]", StateError, min_value=min_value, max_value=max_value
    )


def _point(value: Any, space: SearchSpace, where: str) -> Tensor:
    """A basic-space point of the right length whose param values are legal."""
    items = _list(value, where)
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


def _observations_from_dict(value: Any, space: SearchSpace) -> list[ObservationInBasic]:
    observations = []
    for index, entry in enumerate(_list(value, "state['observations']")):
        where = f"state['observations'][{index}]"
        entry = _keys(entry, _OBSERVATION_KEYS, where)
        is_failure = check_bool(entry["is_failure"], f"{where}['is_failure']", StateError)
        is_stopped = check_bool(entry["is_stopped"], f"{where}['is_stopped']", StateError)
        if is_failure and is_stopped:
            raise StateError(f"{where} is marked both failed and stopped")
        observations.append(
            ObservationInBasic(
                real_number_input=_point(entry["input"], space, f"{where}['input']"),
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
                projected_output=_unknown_or_number(
                    entry["projected_output"], f"{where}['projected_output']"
                ),
            )
        )
    return observations


def _outstanding_from_dict(value: Any, space: SearchSpace) -> dict[str, SuggestionInBasic]:
    outstanding = {}
    for key, entry in _mapping(value, "state['outstanding_suggestions']").items():
        where = f"state['outstanding_suggestions'][{key!r}]"
        _suggestion_id(key, f"the key of {where}")
        entry = _keys(entry, {"input", "log"}, where)
        log = dict(_mapping(entry["log"], f"{where}['log']"))
        outstanding[key] = SuggestionInBasic(
            _point(entry["input"], space, f"{where}['input']"), log
        )
    return outstanding


def _curves_from_dict(value: Any) -> dict[str, ReportedCurve]:
    curves = {}
    for key, entry in _mapping(value, "state['curves']").items():
        where = f"state['curves'][{key!r}]"
        _suggestion_id(key, f"the key of {where}")
        entry = _keys(entry, {"costs", "outputs", "planned_cost"}, where)
        costs = [
            _number(c, f"{where}['costs']", min_value=0, exclusive_min=True)
            for c in _list(entry["costs"], f"{where}['costs']")
        ]
        outputs = [_number(o, f"{where}['outputs']") for o in _list(entry["outputs"], where)]
        if len(costs) != len(outputs) or any(b < a for a, b in itertools.pairwise(costs)):
            raise StateError(f"{where} needs as many outputs as costs, and costs that never fall")
        planned = entry["planned_cost"]
        if planned is not None:
            planned = _number(planned, f"{where}['planned_cost']", min_value=0, exclusive_min=True)
        curves[key] = ReportedCurve(tuple(costs), tuple(outputs), planned)
    return curves


def _hyperparameters_from_dict(value: Any) -> Hyperparameters:
    result: Hyperparameters = {}
    for model_name, values in _mapping(value, "state['hyperparameters']").items():
        where = f"state['hyperparameters'][{model_name!r}]"
        checked: dict[str, list[Any]] = {}
        for name, array in _mapping(values, where).items():
            try:
                tensor = torch.as_tensor(array, dtype=torch.float64)
            except (TypeError, ValueError, RuntimeError, OverflowError) as error:
                raise StateError(f"{where}[{name!r}] is not a numeric array: {error}") from error
            if not torch.isfinite(tensor).all():
                raise StateError(f"{where}[{name!r}] holds non-finite values")
            checked[name] = array
        result[model_name] = checked
    return result


def _generator_from_text(value: Any) -> torch.Generator:
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
