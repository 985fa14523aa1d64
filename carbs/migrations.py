"""Upgrades of saved states from older ``format_version``s to the current one.

Each step is a pure function from one version's parsed JSON to the next's;
:func:`upgrade` chains them. A file is never rewritten by loading it: the
upgrade happens in memory, and the next save writes the current format.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from carbs.errors import StateError
from carbs.pareto import input_key


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list):
        raise StateError(f"state[{key!r}] must be a list, got {type(value).__name__}")
    return value


def format1_to_2(data: Mapping[str, Any]) -> dict[str, Any]:
    """Format 1 kept successes and failures in two lists, with the recording order and
    times beside them; format 2 has one ``observations`` list in recording order (each
    entry with its failure flag, time and suggestion type, unknown for old entries)
    and a ``fallback_count``."""
    successes = _list(data, "success_observations")
    failures = _list(data, "failure_observations")
    flags = _list(data, "observation_is_failure")
    times = _list(data, "observation_times")
    if not all(isinstance(flag, bool) for flag in flags):
        raise StateError("state['observation_is_failure'] must hold only true/false")
    count = len(successes) + len(failures)
    if len(times) != count or len(flags) != count or sum(flags) != len(failures):
        raise StateError(
            f"the state's observation lists disagree: {len(successes)} successes and "
            f"{len(failures)} failures, but {len(times)} observation_times and "
            f"{len(flags)} observation_is_failure flags ({sum(flags)} failures)"
        )
    pending = {False: iter(successes), True: iter(failures)}
    observations = []
    for is_failure, observed_at in zip(flags, times, strict=True):
        entry = next(pending[is_failure])
        if not isinstance(entry, Mapping):
            raise StateError(f"an observation must be an object, got {type(entry).__name__}")
        observations.append(
            {**entry, "is_failure": is_failure, "observed_at": observed_at, "suggestion_type": None}
        )
    upgraded = {key: value for key, value in data.items() if key not in _FORMAT1_ONLY}
    return {**upgraded, "format_version": 2, "observations": observations, "fallback_count": 0}


_FORMAT1_ONLY = (
    "success_observations",
    "failure_observations",
    "observation_is_failure",
    "observation_times",
)


def format2_to_3(data: Mapping[str, Any]) -> dict[str, Any]:
    """Format 3 added spaces of listed values, choices and constants (``OrdinalSpace``,
    ``CategoricalSpace``, ``FixedSpace``) and GP kernels for categorical params. A
    format-2 state holds none of them and means the same in format 3; the bump makes an
    older carbs refuse a file it could not read rather than fail on an unknown space."""
    return {**data, "format_version": 3}


def format3_to_4(data: Mapping[str, Any]) -> dict[str, Any]:
    """Format 4 added early stopping: intermediate reports (``curves``) and, on each
    observation, whether the run was stopped early and the output it was projected
    to. No format-3 run reported or stopped."""
    observations = [
        {**entry, "is_stopped": False, "projected_output": float("nan")}
        if isinstance(entry, Mapping)
        else entry
        for entry in _list(data, "observations")
    ]
    return {**data, "format_version": 4, "observations": observations, "curves": {}}


def format4_to_5(data: Mapping[str, Any]) -> dict[str, Any]:
    """Format 5 added ``config.is_failure_output_imputed`` (failed runs shown to the
    performance GP), on by default. Older states did not impute, so they load with it
    off and resume exactly as they would have."""
    return _with_setting_off(data, 5, "is_failure_output_imputed")


def format5_to_6(data: Mapping[str, Any]) -> dict[str, Any]:
    """Format 6 reads the resample turns used from the data (the repeated inputs among
    the observations and outstanding suggestions) and stores only the turns that
    passed without a repeat, ``skipped_resample_turns``. It is the old
    ``resample_count`` less the repeats already in the file, so the turns used, and
    the next suggestion, stay as they were."""
    count = data.get("resample_count")
    if isinstance(count, bool) or not isinstance(count, int):
        raise StateError(f"state['resample_count'] must be an integer, got {count!r}")
    outstanding = data.get("outstanding_suggestions")
    if not isinstance(outstanding, Mapping):
        raise StateError("state['outstanding_suggestions'] must be an object")
    entries = [*_list(data, "observations"), *outstanding.values()]
    keys = [_input_key(entry) for entry in entries]
    repeats = len(keys) - len(set(keys))
    upgraded = {key: value for key, value in data.items() if key != "resample_count"}
    return {**upgraded, "format_version": 6, "skipped_resample_turns": max(0, count - repeats)}


def format6_to_7(data: Mapping[str, Any]) -> dict[str, Any]:
    """Format 7 added ``config.is_level_descent_below_front`` (origins below the front
    along the performance model's level set), on by default. Older states followed
    the cost plane's slope, so they load with it off and resume exactly."""
    return _with_setting_off(data, 7, "is_level_descent_below_front")


def format7_to_8(data: Mapping[str, Any]) -> dict[str, Any]:
    """Format 8 added ``config.is_below_front_scored`` (candidates below the front
    scored by their expected improvement over the worst run), on by default. Older
    states counted every such candidate alike, so they load with it off and resume
    exactly."""
    return _with_setting_off(data, 8, "is_below_front_scored")


def format8_to_9(data: Mapping[str, Any]) -> dict[str, Any]:
    """Format 9 added ``config.is_cost_overhead_fitted`` (a fixed cost per run in the
    cost plane), on by default. Older states fitted a pure plane in log cost, so they
    load with it off and resume exactly."""
    return _with_setting_off(data, 9, "is_cost_overhead_fitted")


def format9_to_10(data: Mapping[str, Any]) -> dict[str, Any]:
    """Format 10 added ``config.is_cost_plane_tested`` (the cost plane used only where
    the params drive cost significantly) and ``config.is_pareto_bucket_challenged`` (a
    single run may beat the cheapest bucket's resampled groups), both on by default.
    Older states did neither, so they load with both off and resume exactly."""
    tested = _with_setting_off(data, 10, "is_cost_plane_tested")
    return _with_setting_off(tested, 10, "is_pareto_bucket_challenged")


def format10_to_11(data: Mapping[str, Any]) -> dict[str, Any]:
    """Format 11 added ``config.is_pareto_tie_better_first`` (groups of equal cost join
    the front better first), on by default. Older states took them in recording order,
    so they load with it off and resume exactly."""
    return _with_setting_off(data, 11, "is_pareto_tie_better_first")


def _with_setting_off(data: Mapping[str, Any], version: int, setting: str) -> dict[str, Any]:
    """``data`` as format ``version``, whose config gained the bool ``setting``: off
    in the upgraded state (unless already there), so that it behaves as it did."""
    config = data.get("config")
    if not isinstance(config, Mapping):
        raise StateError(f"state['config'] must be an object, got {type(config).__name__}")
    return {**data, "format_version": version, "config": {setting: False, **config}}


def _input_key(entry: Any) -> tuple[float, ...]:
    point = entry.get("input") if isinstance(entry, Mapping) else None
    if not isinstance(point, list) or not all(
        isinstance(x, (int, float)) and not isinstance(x, bool) for x in point
    ):
        raise StateError(f"an observation or suggestion has no list of numbers as input: {entry!r}")
    try:
        return input_key(torch.tensor(point, dtype=torch.float64))
    except OverflowError:
        raise StateError(
            "an observation or suggestion's input holds a number too large for a float"
        ) from None


STEPS: dict[int, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    1: format1_to_2,
    2: format2_to_3,
    3: format3_to_4,
    4: format4_to_5,
    5: format5_to_6,
    6: format6_to_7,
    7: format7_to_8,
    8: format8_to_9,
    9: format9_to_10,
    10: format10_to_11,
}
"""``STEPS[v]`` turns a format-``v`` state into a format-``v + 1`` state."""


def upgrade(data: Mapping[str, Any], version: int, target: int) -> dict[str, Any]:
    """Apply the steps from ``version`` up to ``target`` (already checked to be readable)."""
    upgraded = dict(data)
    for step in range(version, target):
        upgraded = STEPS[step](upgraded)
    return upgraded
