"""A ``CARBSSearcher`` checkpoint read back: its JSON state, every field checked.

Tune writes the checkpoint and hands it back on restore; a file that was cut
short or edited by hand must fail with a :class:`~carbs.StateError` naming the
field, before the searcher changes (a half-restored searcher would record the
next results against the wrong runs). Ray itself is not needed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from carbs.errors import InvalidObservationError, StateError
from carbs.jsonio import dumps
from carbs.optimizer import CARBS
from carbs.spaces import SUGGESTION_ID_DICT_KEY
from carbs.state_fields import read_list, read_mapping

SEARCHER_FORMAT = 1
"""The ``format`` of the dict that ``CARBSSearcher.get_state`` writes."""

_REQUIRED_KEYS = ("format", "carbs", "metric", "mode", "running")
_OPTIONAL_KEYS = ("stopping", "diverged")  # absent from the first checkpoints of format 1


@attrs.frozen
class SearcherState:
    """What a checkpoint restores.

    Attributes:
        optimizer: The sweep's optimizer.
        metric: The metric's name, if known.
        mode: ``"min"``, ``"max"`` or ``None``.
        running: Each running trial's suggestion dict (with its ``suggestion_uuid``),
            by trial id.
        stopping: Running trials told to stop (recorded as stopped when they end).
        diverged: Running trials whose metric became NaN or infinite.
        reported: The cost at each running trial's latest report.
    """

    optimizer: CARBS
    metric: str | None
    mode: str | None
    running: dict[str, dict[str, Any]]
    stopping: set[str]
    diverged: set[str]
    reported: dict[str, float]


def read_searcher_state(state: Any) -> SearcherState:
    """The checkpoint ``state`` checked and turned into a :class:`SearcherState`.

    Raises:
        StateError: not a searcher state of this format, or a field that is missing,
            unknown or malformed (the message names it).
    """
    if not isinstance(state, Mapping) or state.get("format") != SEARCHER_FORMAT:
        raise StateError("not a CARBSSearcher state of a format this carbs reads")
    missing = [key for key in _REQUIRED_KEYS if key not in state]
    unknown = sorted(set(state) - set(_REQUIRED_KEYS) - set(_OPTIONAL_KEYS), key=repr)
    if missing or unknown:
        raise StateError(f"the searcher state lacks {missing} or has unknown keys {unknown}")
    optimizer = CARBS.load_from_string(dumps(read_mapping(state["carbs"], "state['carbs']")))
    metric, mode = state["metric"], state["mode"]
    if metric is not None and not (isinstance(metric, str) and metric):
        raise StateError(f"state['metric'] must be a non-empty str or null, got {metric!r}")
    if mode not in (None, "min", "max"):
        raise StateError(f"state['mode'] must be 'min', 'max' or null, got {mode!r}")
    running = _running(state["running"], optimizer)
    curves = optimizer.get_state_dict()["curves"]
    return SearcherState(
        optimizer=optimizer,
        metric=metric,
        mode=mode,
        running=running,
        stopping=_trial_ids(state.get("stopping", []), "stopping") & set(running),
        diverged=_trial_ids(state.get("diverged", []), "diverged") & set(running),
        reported={
            t: float(curves[t]["costs"][-1]) for t in running if curves.get(t, {}).get("costs")
        },
    )


def _running(value: Any, optimizer: CARBS) -> dict[str, dict[str, Any]]:
    running = {}
    for trial_id, item in read_mapping(value, "state['running']").items():
        where = f"state['running'][{trial_id!r}]"
        suggestion = read_mapping(item, where)
        if suggestion.get(SUGGESTION_ID_DICT_KEY) != trial_id:
            raise StateError(f"{where} must carry its trial id as {SUGGESTION_ID_DICT_KEY!r}")
        if trial_id not in optimizer.outstanding_suggestions:  # its decisions would raise
            raise StateError(f"{where} is not an outstanding suggestion of state['carbs']")
        try:
            optimizer.search_space.validate_param_dict(suggestion, what=where)
        except InvalidObservationError as error:
            raise StateError(str(error)) from None
        running[trial_id] = dict(suggestion)
    return running


def _trial_ids(value: Any, key: str) -> set[str]:
    trial_ids = read_list(value, f"state[{key!r}]")
    if not all(isinstance(t, str) for t in trial_ids):
        raise StateError(f"state[{key!r}] must be a list of trial ids, got {value!r}")
    return set(trial_ids)
