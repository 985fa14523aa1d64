"""Progress you can see: one line per observation on stderr, and the logs ``observe()`` returns.

Like Optuna, carbs logs to the ``"carbs"`` logger, which by default has its own
handler writing to stderr at level INFO, so a sweep in a script or a notebook
shows one line per observation::

    [carbs I 14:02:11] #12 output=0.4321 cost=35.2, joined the Pareto front (5 members);
    best at cost <= 35.2: 0.4321 (#12)

(one line on screen).

Quieten it with ``carbs.set_verbosity(logging.WARNING)``: warnings (fallbacks
of the surrogate model, autosave failures, streaks of failed runs) still show.
``carbs.disable_default_handler()`` removes carbs' own handler and lets records
propagate to the root logger instead, for applications that configure logging
themselves.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from carbs.checks import integer_as_int
from carbs.config import CARBSParams
from carbs.errors import CARBSValueError
from carbs.observations import ObservationInBasic
from carbs.pareto import ObservationGroup, best_observation, input_key, pareto_area
from carbs.spaces import SearchSpace

if TYPE_CHECKING:
    from carbs.state import CARBSState

LOGGER_NAME = "carbs"
FAILURE_STREAK_WARNING = 30
"""Failed runs in a row after which carbs warns (and again at every multiple)."""

_LOGGER = logging.getLogger(LOGGER_NAME)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (notebooks and pytest replace it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


_DEFAULT_HANDLER = _StderrHandler()
_DEFAULT_HANDLER.setFormatter(
    logging.Formatter("[carbs %(levelname).1s %(asctime)s] %(message)s", datefmt="%H:%M:%S")
)


def enable_default_handler() -> None:
    """Log carbs' records to stderr through carbs' own handler (the default)."""
    _remove_default_handlers()
    _LOGGER.addHandler(_DEFAULT_HANDLER)
    _LOGGER.propagate = False


def disable_default_handler() -> None:
    """Remove carbs' own handler; records then propagate to the application's loggers."""
    _remove_default_handlers()
    _LOGGER.propagate = True


def _remove_default_handlers() -> None:
    # By class name, not identity: a reload of this module (IPython's %autoreload) makes a
    # new handler and class while the old handler stays on the logger, and printed twice.
    for handler in list(_LOGGER.handlers):
        if type(handler).__qualname__ == _StderrHandler.__qualname__:
            _LOGGER.removeHandler(handler)


def set_verbosity(level: int | str) -> None:
    """Set the level of the ``"carbs"`` logger.

    ``logging.INFO`` (the default) shows one line per observation;
    ``logging.WARNING`` shows only warnings and errors; ``logging.DEBUG`` adds
    model-fitting details. A level's name (``"WARNING"``) works too, as in
    :meth:`logging.Logger.setLevel`.

    Raises:
        CARBSValueError: ``level`` is neither a non-negative int nor a level name.
    """
    level = integer_as_int(level)
    names = logging.getLevelNamesMapping()
    is_number = isinstance(level, int) and not isinstance(level, bool) and level >= 0
    if not (is_number or (isinstance(level, str) and level in names)):
        raise CARBSValueError(
            f"level must be a logging level such as logging.INFO or one of {sorted(names)}, "
            f"got {level!r}"
        )
    _LOGGER.setLevel(level)


def get_verbosity() -> int:
    """The level of the ``"carbs"`` logger."""
    return _LOGGER.getEffectiveLevel()


def _initialize() -> None:
    if _LOGGER.level == logging.NOTSET:
        _LOGGER.setLevel(logging.INFO)
    enable_default_handler()


_initialize()


def _is_in_front(observation: ObservationInBasic, front: Sequence[ObservationGroup]) -> bool:
    key = input_key(observation.real_number_input)
    return observation.is_complete and any(input_key(g.input_in_basic) == key for g in front)


def _failure_streak(observations: Sequence[ObservationInBasic]) -> int:
    streak = 0
    for observation in reversed(observations):
        if not observation.is_failure:
            break
        streak += 1
    return streak


def report_observation(
    observations: Sequence[ObservationInBasic],
    front: Sequence[ObservationGroup],
    config: CARBSParams,
) -> None:
    """Log the line for the newest observation, and warn about a streak of failed runs."""
    latest = observations[-1]
    number = len(observations) - 1
    if latest.is_failure:
        streak = _failure_streak(observations)
        _LOGGER.info("#%d failed, cost=%.4g (%d failed in a row)", number, latest.cost, streak)
        if streak % FAILURE_STREAK_WARNING == 0:
            _LOGGER.warning(
                "the last %d runs all failed: check the training script, the bounds and "
                "the search centre",
                streak,
            )
        return
    if not _LOGGER.isEnabledFor(logging.INFO):
        return
    if latest.is_stopped:
        _LOGGER.info(
            "#%d stopped early at cost=%.4g with output=%.6g (projected final output %.6g)",
            number,
            latest.cost,
            latest.output,
            latest.projected_output,
        )
        return
    joined = (
        f"joined the Pareto front ({len(front)} members)"
        if _is_in_front(latest, front)
        else "not on the Pareto front"
    )
    affordable = [o for o in observations if o.cost <= latest.cost]
    best = best_observation(affordable, config.better_direction_sign) or latest
    _LOGGER.info(
        "#%d output=%.6g cost=%.4g, %s; best at cost <= %.4g: %.6g (#%d)",
        number,
        latest.output,
        latest.cost,
        joined,
        latest.cost,
        best.output,
        observations.index(best),
    )


def summary_line(
    observations: Sequence[ObservationInBasic],
    front: Sequence[ObservationGroup],
    param_names: Sequence[str],
    config: CARBSParams,
    running: int,
) -> str:
    """What a sweep holds, in one line (``repr`` of :class:`~carbs.CARBS`)."""
    direction = "maximize" if config.better_direction_sign > 0 else "minimize"
    head = f"CARBS({direction} over {list(param_names)}: "
    if not observations and not running:
        return head + "no runs yet)"
    completed = sum(o.is_complete for o in observations)
    stopped = sum(o.is_stopped for o in observations)
    failed = sum(o.is_failure for o in observations)
    text = (
        f"{head}{len(observations)} runs ({completed} completed, {stopped} stopped, "
        f"{failed} failed), {running} running"
    )
    best = best_observation(observations, config.better_direction_sign)
    if best is not None:
        text += f"; front of {len(front)}, best {best.output:.6g} at cost {best.cost:.4g}"
    return text + ")"


def report_batch(
    observations: Sequence[ObservationInBasic],
    added: int,
    front: Sequence[ObservationGroup],
    config: CARBSParams,
) -> None:
    """One line for several observations recorded at once (the newest ``added``)."""
    if added == 0:
        return
    recent = observations[-added:]
    failed = sum(o.is_failure for o in recent)
    best = best_observation(observations, config.better_direction_sign)
    _LOGGER.info(
        "#%d-#%d recorded (%d failed); Pareto front %d members; best %s",
        len(observations) - added,
        len(observations) - 1,
        failed,
        len(front),
        "none yet" if best is None else f"{best.output:.6g} at cost {best.cost:.4g}",
    )
    # Warn, as observe() would have, when a streak of failures reached a multiple of
    # FAILURE_STREAK_WARNING inside this batch, even if a success ended it later on.
    streak = _failure_streak(observations[:-added])
    longest, is_warned = 0, False
    for observation in recent:
        if not observation.is_failure:
            streak, is_warned = 0, False
            continue
        streak += 1
        is_warned = is_warned or streak % FAILURE_STREAK_WARNING == 0
        if is_warned:
            longest = max(longest, streak)
    if longest:
        what = "the last %d runs all failed" if longest == streak else "%d runs in a row failed"
        _LOGGER.warning(
            what + ": check the training script, the bounds and the search centre", longest
        )


def observation_logs(
    state: CARBSState,
    front: Sequence[ObservationGroup],
    search_space: SearchSpace,
    latest_input: Mapping[str, Any],
) -> dict[str, Any]:
    """The logs :meth:`CARBS.observe` returns (keys of the original release, plus a few).

    Counts (``success_count`` of completed runs, ``stopped_count`` of runs
    stopped early), cumulative costs (``cumulative_cost`` of runs that did not
    fail, as in the release, stopped runs' partial costs included;
    ``total_cost`` with failed runs), the new observation's params,
    output and cost, whether it joined the front, the best observation's
    params, output and cost, the front's size and area, and how many runs are
    outstanding.
    """
    observations, config = state.observations, state.config
    latest = observations[-1]
    not_failed = [o for o in observations if not o.is_failure]
    logs: dict[str, Any] = {
        "observation_count": len(observations),
        "success_count": sum(o.is_complete for o in observations),
        "stopped_count": sum(o.is_stopped for o in observations),
        "failed_observation_count": len(observations) - len(not_failed),
        "cumulative_cost": float(sum(o.cost for o in not_failed)),
        "total_cost": float(sum(o.cost for o in observations)),
        "observation/is_failure": int(latest.is_failure),
        "observation/is_stopped": int(latest.is_stopped),
        "observation/is_pareto": int(_is_in_front(latest, front)),
        "outstanding_suggestion_count": len(state.outstanding_suggestions),
    }
    for name in search_space.names:
        logs[f"observation/{name}"] = latest_input[name]
    if not latest.is_failure:
        logs["observation/output"] = latest.output
        logs["observation/cost"] = latest.cost
    best = best_observation(observations, config.better_direction_sign)
    if best is not None:
        for name, value in search_space.param_dict_from_basic(best.real_number_input).items():
            logs[f"best_observation/{name}"] = value
        logs["best_observation/output"] = best.output
        logs["best_observation/cost"] = best.cost
        logs["pareto_group_count"] = len(front)
        logs["pareto_area"] = pareto_area(front)
    return logs
