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
(:mod:`carbs.migrations`). Loading validates types *and* ranges (each field's
reader is in :mod:`carbs.state_fields`), so a file that loads is a state every
method can work on.
"""

from __future__ import annotations

import base64
import functools
import os
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from typing import Any

import attrs
import torch
from torch import Tensor

from carbs.candidates import max_oversample_factor
from carbs.config import CARBSParams
from carbs.config_data import config_from_dict, config_to_dict
from carbs.errors import CARBSValueError, InvalidParamError, StateError
from carbs.jsonio import PathLike, check_nesting, from_json_value, loads, read_text, to_json_value
from carbs.migrations import upgrade
from carbs.observations import ObservationInBasic, SuggestionInBasic
from carbs.spaces import Param, SearchSpace
from carbs.state_fields import (
    check_runs,
    read_curves,
    read_generator,
    read_hyperparameters,
    read_list,
    read_mapping,
    read_observations,
    read_outstanding,
    read_point,
    read_state_integer,
)
from carbs.stopping import ReportedCurve
from carbs.surrogate.fitting import Hyperparameters

FORMAT_VERSION = 11
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
        data = from_json_value(read_mapping(data, "the state"))
        version = check_format_version(data)
        data = upgrade(data, version, FORMAT_VERSION)
        missing = [key for key in _ENCODERS if key not in data]
        unknown = sorted(set(data) - set(_ENCODERS) - {"carbs_version"}, key=repr)
        if missing or unknown:
            raise StateError(f"the state is missing field(s) {missing} / has unknown {unknown}")
        try:
            config = config_from_dict(read_mapping(data["config"], "state['config']"))
            params = tuple(Param.from_dict(p) for p in read_list(data["params"], "state['params']"))
            space = SearchSpace(params)
        except CARBSValueError as error:
            raise StateError(f"the state's config or params are not valid: {error}") from error
        observations = read_observations(data["observations"], space)
        outstanding = read_outstanding(data["outstanding_suggestions"], space)
        curves = read_curves(data["curves"])
        check_runs(observations, outstanding, curves)
        return cls(
            config=config,
            params=params,
            search_center_in_basic=read_point(
                data["search_center_in_basic"], space, "state['search_center_in_basic']"
            ),
            observations=observations,
            outstanding_suggestions=outstanding,
            skipped_resample_turns=read_state_integer(
                data["skipped_resample_turns"], "skipped_resample_turns", 0, len(observations)
            ),
            oversample_factor=read_state_integer(
                data["oversample_factor"], "oversample_factor", 1, max_oversample_factor(space)
            ),
            fallback_count=read_state_integer(data["fallback_count"], "fallback_count", 0, 2**62),
            generator=read_generator(data["generator_state"]),
            hyperparameters=read_hyperparameters(data["hyperparameters"]),
            curves=curves,
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
