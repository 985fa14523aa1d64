"""Optimizer state as JSON: capture, restore, crash-safe files and warm starts.

A state holds everything that shapes the optimizer's future suggestions: the
config, the params, every observation (basic-space inputs as exact float64
values), the outstanding suggestions, the resampling counter, the search
centre, the candidate sampler's oversampling factor, the random generator's
state and the last fitted GP hyperparameters (the warm start of the next
fit). Loading it into a fresh process therefore reproduces the next
suggestion exactly.

On disk the state is one JSON object with a ``format_version``. Non-finite
floats (unbounded spaces, NaN outputs of failed runs) are written as
``{"__float__": "nan" | "inf" | "-inf"}`` so that the file is strict JSON.
Nothing is ever unpickled. Files are replaced atomically (temp file in the same
folder, fsync, rename, fsync of the folder), so a crash at any moment leaves
either the previous file or the new one.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import json
import logging
import math
import os
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from enum import Enum
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import torch
from torch import Tensor

from carbs.candidates import CandidateSampler
from carbs.config import CARBSParams, WandbLoggingParams
from carbs.errors import CARBSValueError, InvalidParamError, StateError
from carbs.observations import (
    ObservationInBasic,
    ObservationInParam,
    SuggestionInBasic,
    in_recording_order,
)
from carbs.spaces import SUGGESTION_ID_DICT_KEY, Param, RealNumberSpace, SearchSpace
from carbs.surrogate.model import Hyperparameters

if TYPE_CHECKING:
    from carbs.optimizer import CARBS

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
"""Version of the JSON layout written by this carbs; bumped when its meaning changes."""
STATE_KIND = "carbs.state"
"""Value of the ``kind`` field that marks a JSON object as a carbs state."""
STATE_FILE_NAME = "carbs_state.json"
"""Name of the autosaved state file inside ``CARBSParams.checkpoint_dir``."""

PathLike = str | os.PathLike[str]

_FLOAT_TAG = "__float__"
_NON_FINITE_NAMES = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_REQUIRED_KEYS = (
    "format_version",
    "kind",
    "config",
    "params",
    "search_center_in_basic",
    "success_observations",
    "failure_observations",
    "observation_times",
    "observation_is_failure",
    "outstanding_suggestions",
    "resample_count",
    "oversample_factor",
    "generator_state",
    "hyperparameters",
)
_OPTIONAL_KEYS = ("carbs_version",)


# -- JSON values ---------------------------------------------------------------------------------
def to_json_value(value: Any) -> Any:
    """Recursively turn ``value`` into strict-JSON data.

    Non-finite floats become ``{"__float__": "nan" | "inf" | "-inf"}``; tensors,
    numpy values, tuples and enums become plain lists, numbers and strings;
    any other object becomes its ``str``.
    """
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {_FLOAT_TAG: "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, Enum):
        return to_json_value(value.value)
    if isinstance(value, Tensor | np.ndarray | np.generic):
        return to_json_value(value.tolist())
    if isinstance(value, Mapping):
        return {str(key): to_json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(item) for item in value]
    return str(value)


def from_json_value(value: Any) -> Any:
    """Invert :func:`to_json_value` on parsed JSON: decode tagged non-finite floats."""
    if isinstance(value, dict):
        if len(value) == 1 and _FLOAT_TAG in value:
            name = value[_FLOAT_TAG]
            if name not in _NON_FINITE_NAMES:
                raise StateError(f"unknown non-finite float tag {name!r}")
            return _NON_FINITE_NAMES[name]
        return {key: from_json_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_json_value(item) for item in value]
    return value


def dumps(state: Mapping[str, Any]) -> str:
    """Serialise a state dict (from :meth:`CARBSState.to_dict`) to a strict JSON string."""
    try:
        return json.dumps(state, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise StateError(f"the state is not JSON-ready: {error}") from error


def loads(text: str, source: str = "the state string") -> dict[str, Any]:
    """Parse JSON text into a state dict; invalid or truncated text raises :class:`StateError`."""
    if not isinstance(text, str):
        raise StateError(f"{source} must be a str, got {type(text).__name__}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise StateError(
            f"{source} is not valid JSON ({error}); it may be truncated or not a carbs state"
        ) from error
    except RecursionError as error:
        raise StateError(f"{source} is nested too deeply to be a carbs state") from error
    if not isinstance(data, dict):
        raise StateError(f"{source} holds a JSON {type(data).__name__}, not a carbs state object")
    return data


# -- field checks --------------------------------------------------------------------------------
def _field(data: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise StateError(f"{where} has no {key!r} field")
    return data[key]


def _number(value: Any, where: str, *, finite: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StateError(f"{where} must be a number, got {value!r}")
    if finite and not math.isfinite(value):
        raise StateError(f"{where} must be finite, got {value!r}")
    return float(value)


def _integer(value: Any, where: str, min_value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < min_value:
        raise StateError(f"{where} must be an integer >= {min_value}, got {value!r}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise StateError(f"{where} must be a list, got {type(value).__name__}")
    return value


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise StateError(f"{where} must be an object, got {type(value).__name__}")
    return value


def _vector(value: Any, dim: int, where: str) -> Tensor:
    items = _list(value, where)
    if len(items) != dim:
        raise StateError(f"{where} must hold {dim} values (one per param), got {len(items)}")
    return torch.tensor(
        [_number(v, f"{where}[{i}]") for i, v in enumerate(items)], dtype=torch.float64
    )


# -- config and params ---------------------------------------------------------------------------
def _enum_value(instance: Any, attribute: Any, value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def config_to_dict(config: CARBSParams) -> dict[str, Any]:
    """All :class:`CARBSParams` fields, enums as their values and ``wandb_params`` nested."""
    return attrs.asdict(config, value_serializer=_enum_value)


def config_from_dict(data: Any) -> CARBSParams:
    """Rebuild :class:`CARBSParams`; missing fields take their defaults, unknown ones raise."""
    data = dict(_mapping(data, "state['config']"))
    known = {field.name for field in attrs.fields(CARBSParams)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise StateError(
            f"state['config'] has unknown field(s) {unknown}; was it written by a newer carbs?"
        )
    try:
        if "wandb_params" in data:
            data["wandb_params"] = WandbLoggingParams(
                **_mapping(data["wandb_params"], "state['config']['wandb_params']")
            )
        return CARBSParams(**data)
    except (TypeError, CARBSValueError) as error:
        raise StateError(f"state['config'] is not a valid CARBSParams: {error}") from error


def _space_types() -> dict[str, type[RealNumberSpace]]:
    found: dict[str, type[RealNumberSpace]] = {}
    pending: list[type[RealNumberSpace]] = [RealNumberSpace]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.__name__, cls)
        pending.extend(cls.__subclasses__())
    return found


def param_to_dict(param: Param) -> dict[str, Any]:
    """A param as ``{"name", "space": {"type", ...fields}, "search_center"}``."""
    space = {"type": type(param.space).__name__, **attrs.asdict(param.space)}
    return {"name": param.name, "space": space, "search_center": param.search_center}


def param_from_dict(data: Any, where: str) -> Param:
    """Rebuild a :class:`Param` written by :func:`param_to_dict`."""
    data = _mapping(data, where)
    space_data = dict(_mapping(_field(data, "space", where), f"{where}['space']"))
    type_name = space_data.pop("type", None)
    space_type = _space_types().get(str(type_name))
    if space_type is None or space_type is RealNumberSpace:
        raise StateError(f"{where}['space'] has unknown type {type_name!r}")
    try:
        space = space_type(**space_data)
        return Param(_field(data, "name", where), space, _field(data, "search_center", where))
    except (TypeError, CARBSValueError) as error:
        raise StateError(f"{where} is not a valid Param: {error}") from error


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


# -- the state -----------------------------------------------------------------------------------
def _observation_to_dict(observation: ObservationInBasic) -> dict[str, Any]:
    return {
        "input": observation.real_number_input.to(torch.float64).tolist(),
        "output": float(observation.output),
        "cost": float(observation.cost),
        "suggestion_id": observation.suggestion_id,
    }


def _observation_from_dict(data: Any, dim: int, where: str, is_failure: bool) -> ObservationInBasic:
    data = _mapping(data, where)
    suggestion_id = _field(data, "suggestion_id", where)
    if suggestion_id is not None and not isinstance(suggestion_id, str):
        raise StateError(f"{where}['suggestion_id'] must be a string or null")
    cost = _number(_field(data, "cost", where), f"{where}['cost']")
    if cost <= 0:
        raise StateError(f"{where}['cost'] must be > 0, got {cost}")
    output = _number(_field(data, "output", where), f"{where}['output']", finite=not is_failure)
    return ObservationInBasic(
        real_number_input=_vector(_field(data, "input", where), dim, f"{where}['input']"),
        output=output,
        cost=cost,
        suggestion_id=suggestion_id,
    )


def _check_hyperparameters(data: Any) -> Hyperparameters:
    result: Hyperparameters = {}
    for model_name, values in _mapping(data, "state['hyperparameters']").items():
        where = f"state['hyperparameters'][{model_name!r}]"
        checked: dict[str, list[Any]] = {}
        for name, value in _mapping(values, where).items():
            try:
                torch.as_tensor(value, dtype=torch.float64)
            except (TypeError, ValueError, RuntimeError) as error:
                raise StateError(f"{where}[{name!r}] is not a numeric array: {error}") from error
            checked[name] = value
        result[model_name] = checked
    return result


def _generator_state_from_text(value: Any) -> Tensor:
    if not isinstance(value, str):
        raise StateError("state['generator_state'] must be a base64 string")
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as error:
        raise StateError(f"state['generator_state'] is not valid base64: {error}") from error
    tensor = torch.tensor(list(raw), dtype=torch.uint8)
    try:
        torch.Generator().set_state(tensor)
    except RuntimeError as error:
        raise StateError(f"state['generator_state'] is not a torch generator state: {error}") from (
            error
        )
    return tensor


def check_format_version(data: Mapping[str, Any]) -> None:
    """Raise :class:`StateError` unless ``data`` is a carbs state this version can read."""
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


@functools.cache
def _carbs_version() -> str:
    try:
        return metadata.version("carbs-hpo")
    except metadata.PackageNotFoundError:
        return "unknown"


@attrs.define(kw_only=True)
class CARBSState:
    """Everything that shapes an optimizer's future suggestions, as plain values.

    Attributes:
        config: The optimizer's settings.
        params: The tuned params in order.
        search_center_in_basic: Centre of warm-up sampling, shape ``(d,)``.
        success_observations: Successful observations, in recording order.
        failure_observations: Failed observations, in recording order.
        observation_times: Unix time of every observation, in recording order.
        observation_is_failure: Whether each observation, in recording order, failed.
        outstanding_suggestions: Suggestions not yet observed or forgotten, by id.
        resample_count: Resamples suggested so far.
        oversample_factor: The candidate sampler's current oversampling factor.
        generator_state: State of the optimizer's ``torch.Generator`` (uint8 tensor).
        hyperparameters: Last fitted GP hyperparameters by model name (JSON-ready).
    """

    config: CARBSParams
    params: list[Param]
    search_center_in_basic: Tensor
    success_observations: list[ObservationInBasic]
    failure_observations: list[ObservationInBasic]
    observation_times: list[float]
    observation_is_failure: list[bool]
    outstanding_suggestions: dict[str, SuggestionInBasic]
    resample_count: int
    oversample_factor: int
    generator_state: Tensor
    hyperparameters: Hyperparameters

    def to_dict(self) -> dict[str, Any]:
        """The state as strict-JSON data (see :func:`to_json_value`), ``format_version`` first."""
        state = {
            "format_version": FORMAT_VERSION,
            "kind": STATE_KIND,
            "carbs_version": _carbs_version(),
            "config": config_to_dict(self.config),
            "params": [param_to_dict(p) for p in self.params],
            "search_center_in_basic": self.search_center_in_basic.to(torch.float64).tolist(),
            "success_observations": [_observation_to_dict(o) for o in self.success_observations],
            "failure_observations": [_observation_to_dict(o) for o in self.failure_observations],
            "observation_times": list(self.observation_times),
            "observation_is_failure": list(self.observation_is_failure),
            "outstanding_suggestions": {
                key: {
                    "input": s.real_number_input.to(torch.float64).tolist(),
                    "log": s.log_info,
                }
                for key, s in self.outstanding_suggestions.items()
            },
            "resample_count": self.resample_count,
            "oversample_factor": self.oversample_factor,
            "generator_state": base64.b64encode(
                self.generator_state.contiguous().numpy().tobytes()
            ).decode("ascii"),
            "hyperparameters": self.hyperparameters,
        }
        result: dict[str, Any] = to_json_value(state)
        return result

    @classmethod
    def from_dict(cls, data: Any) -> CARBSState:
        """Validate and rebuild a state from :meth:`to_dict` output (or parsed JSON).

        Raises:
            StateError: an unknown or newer ``format_version``, a missing or
                unknown field, or a field of the wrong type, length or range.
        """
        data = _mapping(data, "the state")
        check_format_version(data)
        missing = [key for key in _REQUIRED_KEYS if key not in data]
        if missing:
            raise StateError(f"the state is missing field(s) {missing}")
        unknown = sorted(set(data) - set(_REQUIRED_KEYS) - set(_OPTIONAL_KEYS))
        if unknown:
            raise StateError(f"the state has unknown field(s) {unknown}")
        data = from_json_value(dict(data))
        config = config_from_dict(data["config"])
        param_list = _list(data["params"], "state['params']")
        params = [param_from_dict(p, f"state['params'][{i}]") for i, p in enumerate(param_list)]
        try:
            dim = SearchSpace(params).dim
        except CARBSValueError as error:
            raise StateError(f"state['params'] is not a valid list of params: {error}") from error

        successes = [
            _observation_from_dict(o, dim, f"state['success_observations'][{i}]", False)
            for i, o in enumerate(
                _list(data["success_observations"], "state['success_observations']")
            )
        ]
        failures = [
            _observation_from_dict(o, dim, f"state['failure_observations'][{i}]", True)
            for i, o in enumerate(
                _list(data["failure_observations"], "state['failure_observations']")
            )
        ]
        count = len(successes) + len(failures)
        times = [
            _number(t, f"state['observation_times'][{i}]")
            for i, t in enumerate(_list(data["observation_times"], "state['observation_times']"))
        ]
        is_failure = _list(data["observation_is_failure"], "state['observation_is_failure']")
        if not all(isinstance(flag, bool) for flag in is_failure):
            raise StateError("state['observation_is_failure'] must hold only true/false")
        if len(times) != count or len(is_failure) != count or sum(is_failure) != len(failures):
            raise StateError(
                f"the state's observation lists disagree: {len(successes)} successes and "
                f"{len(failures)} failures, but {len(times)} observation_times and "
                f"{len(is_failure)} observation_is_failure flags ({sum(is_failure)} failures)"
            )
        outstanding: dict[str, SuggestionInBasic] = {}
        for key, value in _mapping(
            data["outstanding_suggestions"], "state['outstanding_suggestions']"
        ).items():
            where = f"state['outstanding_suggestions'][{key!r}]"
            value = _mapping(value, where)
            log = dict(_mapping(_field(value, "log", where), f"{where}['log']"))
            outstanding[key] = SuggestionInBasic(
                _vector(_field(value, "input", where), dim, f"{where}['input']"), log
            )
        return cls(
            config=config,
            params=params,
            search_center_in_basic=_vector(
                data["search_center_in_basic"], dim, "state['search_center_in_basic']"
            ),
            success_observations=successes,
            failure_observations=failures,
            observation_times=times,
            observation_is_failure=list(is_failure),
            outstanding_suggestions=outstanding,
            resample_count=_integer(data["resample_count"], "state['resample_count']", 0),
            oversample_factor=_integer(data["oversample_factor"], "state['oversample_factor']", 1),
            generator_state=_generator_state_from_text(data["generator_state"]),
            hyperparameters=_check_hyperparameters(data["hyperparameters"]),
        )

    def observations_in_order(self) -> list[tuple[ObservationInBasic, bool]]:
        """Every observation with its failure flag, in recording order."""
        return in_recording_order(
            self.success_observations, self.failure_observations, self.observation_is_failure
        )


# -- moving state in and out of an optimizer -----------------------------------------------------
def capture_state(carbs: CARBS) -> CARBSState:
    """Snapshot the optimizer (call with its lock held)."""
    return CARBSState(
        config=carbs.config,
        params=list(carbs.params),
        search_center_in_basic=carbs.search_center_in_basic.clone(),
        success_observations=list(carbs.success_observations),
        failure_observations=list(carbs.failure_observations),
        observation_times=list(carbs.observation_times),
        observation_is_failure=list(carbs.observation_is_failure),
        outstanding_suggestions=dict(carbs.outstanding_suggestions),
        resample_count=carbs.resample_count,
        oversample_factor=carbs._sampler.oversample_factor,
        generator_state=carbs._generator.get_state(),
        hyperparameters=carbs._hyperparameters,
    )


def restore_state(carbs: CARBS, state: CARBSState) -> None:
    """Replace the optimizer's state by ``state`` (call with its lock held).

    The optimizer keeps its own :class:`Param` objects, which must equal the
    saved ones, and takes the saved config. Fitted models are dropped; the next
    fit warm-starts from the saved hyperparameters.

    Raises:
        StateError: the saved params differ from the optimizer's.
    """
    check_params_match(state.params, carbs.params)
    generator = torch.Generator()
    generator.set_state(state.generator_state)
    carbs.config = state.config
    carbs.search_center_in_basic = state.search_center_in_basic.clone()
    carbs.success_observations = list(state.success_observations)
    carbs.failure_observations = list(state.failure_observations)
    carbs.observation_times = list(state.observation_times)
    carbs.observation_is_failure = list(state.observation_is_failure)
    carbs.outstanding_suggestions = dict(state.outstanding_suggestions)
    carbs.resample_count = state.resample_count
    carbs._sampler = CandidateSampler(
        carbs.search_space,
        radius=state.config.initial_search_radius,
        oversample_factor=state.oversample_factor,
    )
    carbs._generator = generator
    carbs._hyperparameters = state.hyperparameters
    carbs._model_cache = {}


# -- files ---------------------------------------------------------------------------------------
def write_atomic(path: PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` so that a crash leaves the old file or the new one, whole.

    The text goes to a temporary file in the same folder, which is flushed and
    fsynced, then renamed over ``path`` (``os.replace``, atomic), and the folder
    is fsynced so that the rename itself is durable. Missing folders are created.

    Returns:
        The path written.
    """
    target = Path(path)
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    try:
        mode = target.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o644
    descriptor, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(OSError):
            os.chmod(temp_name, mode)
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    _fsync_directory(folder)
    return target


def _fsync_directory(folder: Path) -> None:
    if os.name != "posix":  # Windows cannot open folders; its rename is already durable enough
        return
    descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        with contextlib.suppress(OSError):  # some file systems do not support it
            os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read_state(path: PathLike) -> CARBSState:
    """Read and validate a state file written by :func:`write_atomic`.

    Raises:
        FileNotFoundError: no file at ``path``.
        StateError: the file is not a valid carbs state this version can read.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise StateError(f"{os.fspath(path)} is not UTF-8 text, so not a carbs state") from error
    return CARBSState.from_dict(loads(text, source=os.fspath(path)))


# -- warm start ----------------------------------------------------------------------------------
def warm_start(
    carbs: CARBS,
    path: PathLike,
    is_prior_observation_valid: bool = False,
    added_parameters: Mapping[str, Any] | None = None,
) -> None:
    """Use an earlier sweep's saved state to start ``carbs`` (see :meth:`CARBS.warm_start`)."""
    prior = read_state(path)
    added = dict(added_parameters or {})
    space = carbs.search_space
    prior_space = SearchSpace(prior.params)
    _check_warm_start_params(space, prior_space, added)

    converted: list[ObservationInParam] = []
    out_of_bounds: list[str] = []
    missing = [n for n in space.names if n not in prior_space.names and n not in added]
    is_used = is_prior_observation_valid and not missing
    prior_observations = prior.observations_in_order() if is_used else []
    if is_prior_observation_valid and missing and prior.observation_is_failure:
        _warn(
            f"warm_start: skipped all {len(prior.observation_is_failure)} prior observations "
            f"because they lack param(s) {missing}; pass added_parameters with a value for each"
        )
    for observation, is_failure in prior_observations:
        values: dict[str, Any] = prior_space.param_dict_from_basic(observation.real_number_input)
        values.update(added)
        try:
            space.validate_param_dict(values, what="prior observation")
        except CARBSValueError as error:
            out_of_bounds.append(str(error))
            continue
        if observation.suggestion_id is not None:
            values[SUGGESTION_ID_DICT_KEY] = observation.suggestion_id
        converted.append(
            ObservationInParam(
                input=values,
                output=observation.output,
                cost=observation.cost,
                is_failure=is_failure,
            )
        )
    if out_of_bounds:
        _warn(
            f"warm_start: skipped {len(out_of_bounds)} prior observation(s) outside the new "
            f"bounds; first: {out_of_bounds[0]}"
        )

    with carbs._lock:
        if is_prior_observation_valid:
            if converted:
                carbs.initialize_from_observations(converted)
            elif not prior.observation_is_failure:
                _warn(f"warm_start: the prior state {os.fspath(path)} holds no observations")
            logger.info("warm_start: added %d prior observation(s) from %s", len(converted), path)
        else:
            _center_on_best_prior(carbs, prior, prior_space, added)
        for name, value in added.items():
            index = space.names.index(name)
            carbs.search_center_in_basic[index] = space.spaces[index].basic_from_param(value)


def _check_warm_start_params(
    space: SearchSpace, prior_space: SearchSpace, added: Mapping[str, Any]
) -> None:
    unknown = [name for name in added if name not in space.names]
    if unknown:
        raise InvalidParamError(
            f"added_parameters {unknown} are not params of this optimizer {list(space.names)}"
        )
    overlap = [name for name in added if name in prior_space.names]
    if overlap:
        raise InvalidParamError(
            f"added_parameters {overlap} were already tuned by the prior sweep; "
            "its observations hold their values"
        )
    dropped = [name for name in prior_space.names if name not in space.names]
    if dropped:
        raise StateError(
            f"the prior sweep tuned {dropped}, which this optimizer does not; "
            "its observations cannot be mapped onto the current params"
        )
    for name, value in added.items():
        param_space = space.spaces[space.names.index(name)]
        is_number = isinstance(value, int | float | np.number) and not isinstance(value, bool)
        if not (is_number and math.isfinite(value) and param_space.is_in_bounds(value)):
            raise InvalidParamError(
                f"added_parameters[{name!r}]={value!r} must be a finite number inside "
                f"[min={param_space.min}, max={param_space.max}]"
            )


def _center_on_best_prior(
    carbs: CARBS, prior: CARBSState, prior_space: SearchSpace, added: Mapping[str, Any]
) -> None:
    """Move the search centre to the best prior success whose shared params are in bounds."""
    space = carbs.search_space
    shared = [name for name in prior_space.names if name in space.names]
    sign = prior.config.better_direction_sign
    ranked = sorted(prior.success_observations, key=lambda o: -o.output * sign)
    for observation in ranked:
        values = prior_space.param_dict_from_basic(observation.real_number_input)
        indices = [space.names.index(name) for name in shared]
        if all(space.spaces[i].is_in_bounds(values[space.names[i]]) for i in indices):
            for i in indices:
                carbs.search_center_in_basic[i] = space.spaces[i].basic_from_param(
                    values[space.names[i]]
                )
            return
    _warn("warm_start: no prior success lies inside the new bounds; search centre unchanged")


def _warn(message: str) -> None:
    logger.warning(message)
    warnings.warn(message, UserWarning, stacklevel=4)
