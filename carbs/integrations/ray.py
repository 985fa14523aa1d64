"""CARBS as a Ray Tune searcher (the ``ray`` extra): ``CARBSSearcher``.

Pass it as ``tune.TuneConfig(search_alg=CARBSSearcher(...))``. It takes the
Tuner's ``param_space`` (``tune.loguniform``, ``tune.uniform``, ``tune.randint``,
``tune.lograndint``, ``tune.quniform``, ``tune.choice``, constants, nested
dicts) or carbs params of your own, reads each trial's cost from a reported
metric (``cost_metric``, by default Tune's ``time_total_s``), and records
errored trials as failures. Running trials are outstanding suggestions, so
concurrent trials are sent to different points. ``save``/``restore`` write and
read carbs' versioned JSON state (never a pickle).

Early stopping: every intermediate result a trial reports (its metric and cost
so far) is passed to :meth:`CARBS.report`; give the Tuner
``RunConfig(stop=CARBSStopper(searcher))`` and a trial is stopped when carbs'
front-based rule says so (:meth:`CARBS.should_stop`), then recorded as a run
stopped early rather than as a finished one.

Ray itself is imported only by this module; ``import carbs`` never needs it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from carbs.checks import check_integer, check_name, check_optional_mapping, check_optional_str
from carbs.config import CARBSParams
from carbs.errors import InvalidConfigError, InvalidObservationError
from carbs.integrations.engine import engine_config, is_diverged, is_number
from carbs.integrations.ray_space import params_from_tune_space
from carbs.integrations.ray_state import SEARCHER_FORMAT, read_searcher_state
from carbs.jsonio import dumps, loads, read_text, write_atomic
from carbs.observations import ObservationInParam
from carbs.optimizer import CARBS
from carbs.spaces import SUGGESTION_ID_DICT_KEY, Param
from carbs.stopping import DIVERGED_REASON, StopDecision

try:
    from ray.tune.search import Searcher
    from ray.tune.stopper import Stopper
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "carbs.integrations.ray needs Ray Tune: pip install 'carbs-hpo[ray]'"
    ) from error

logger = logging.getLogger(__name__)


class CARBSSearcher(Searcher):
    """A Ray Tune searcher that chooses trials with CARBS.

    Args:
        space: A Tune param space; or leave it out and pass ``param_space`` to the
            Tuner (or ``params``).
        params: carbs params instead of a Tune space (carbs' own spaces); the
            trial's config is then ``{name: value}``.
        metric: The metric to optimise (or the TuneConfig's).
        mode: ``"min"`` or ``"max"`` (or the TuneConfig's).
        cost_metric: The reported metric that holds a trial's cost; if a trial does
            not report it, the seconds since its suggestion are its cost.
        config: CARBS settings (``better_direction_sign`` comes from ``mode``;
            autosave and W&B logging must be off: Tune checkpoints the searcher).
        seed: Overrides ``config.seed``.
        search_center: Where the search starts, by (``/``-joined) name.
        max_concurrent: Suggest nothing while this many trials run (0: no limit).
    """

    def __init__(
        self,
        space: Mapping[str, Any] | None = None,
        *,
        params: Sequence[Param] | None = None,
        metric: str | None = None,
        mode: str | None = None,
        cost_metric: str = "time_total_s",
        config: CARBSParams | None = None,
        seed: int | None = None,
        search_center: Mapping[str, Any] | None = None,
        max_concurrent: int = 0,
    ) -> None:
        _check_mode(mode)
        metric = check_optional_str(metric, "metric", InvalidConfigError)
        check_optional_mapping(search_center, "search_center", InvalidConfigError)
        super().__init__(metric=metric, mode=mode)
        config = engine_config(config, seed, "Tune, which checkpoints CARBSSearcher,")
        max_concurrent = check_integer(
            max_concurrent, "max_concurrent", InvalidConfigError, min_value=0
        )
        if space is not None and params is not None:
            raise InvalidConfigError("pass a Tune space or carbs params, not both")
        self._config = config
        self._cost_metric = check_name(cost_metric, "cost_metric", InvalidConfigError)
        self._search_center = search_center
        self._params = list(params) if params is not None else None
        if space is not None:
            self._params = params_from_tune_space(space, search_center)
        self._max_concurrent = max_concurrent
        self._optimizer: CARBS | None = None
        self._running: dict[str, tuple[dict[str, Any], float]] = {}
        self._stopping: set[str] = set()  # trials told to stop: recorded as stopped runs
        self._reported: dict[str, float] = {}  # the cost at each trial's latest report
        self._diverged: set[str] = set()  # trials whose metric became NaN or infinite
        self._maybe_start()

    # -- Tune's searcher interface --------------------------------------------------------------
    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict[str, Any], **spec: Any
    ) -> bool:
        if self._optimizer is not None:
            return False
        # Everything is checked before anything is set: a refused call changes nothing.
        new_mode = _check_mode(mode or self._mode)
        new_metric = check_optional_str(metric, "metric", InvalidConfigError) or self._metric
        params = self._params
        if config and params is None:
            params = params_from_tune_space(config, self._search_center)
        self._params, self._metric, self._mode = params, new_metric, new_mode
        self._maybe_start()
        return True

    def set_max_concurrency(self, max_concurrent: int) -> bool:
        self._max_concurrent = check_integer(
            max_concurrent, "max_concurrent", InvalidConfigError, min_value=0
        )
        return True

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        optimizer = self._require_optimizer()
        if trial_id in self._running:  # asked again (a retried call): the same params
            suggestion = self._running[trial_id][0]
        elif self._max_concurrent and len(self._running) >= self._max_concurrent:
            return None
        else:
            suggestion = optimizer.suggest(suggestion_id=trial_id).suggestion
            self._running[trial_id] = (suggestion, time.time())
        values = {k: v for k, v in suggestion.items() if k != SUGGESTION_ID_DICT_KEY}
        return _nested(values)

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        """Pass an intermediate result (metric and cost so far) to :meth:`CARBS.report`."""
        if trial_id not in self._running:
            return
        flat = _flatten(result)
        output: Any = flat.get(self._metric or "")
        cost: Any = flat.get(self._cost_metric)
        if is_diverged(output):
            self._diverged.add(trial_id)
            return
        if not (is_number(output) and is_number(cost) and cost > 0):
            return
        previous = self._reported.get(trial_id, 0.0)
        if cost < previous:
            logger.warning(
                "trial %s: %r fell from %g to %g; a cost is the total spent so far, so this "
                "result is not recorded for early stopping",
                trial_id,
                self._cost_metric,
                previous,
                cost,
            )
        if cost <= previous:
            return  # this result was reported already (the stopper and Tune both pass it)
        try:
            self._require_optimizer().report(self._running[trial_id][0], float(output), float(cost))
            self._reported[trial_id] = float(cost)
        except InvalidObservationError as error:
            logger.warning("trial %s: result not recorded for early stopping: %s", trial_id, error)

    def should_stop(self, trial_id: str) -> StopDecision:
        """carbs' decision for a running trial at its latest result (see
        :meth:`CARBS.should_stop`); once it says stop, the trial will be recorded as a
        run stopped early when Tune ends it."""
        if trial_id not in self._running:
            return StopDecision(False, "not a running trial of this searcher")
        if trial_id in self._diverged:
            return StopDecision(True, DIVERGED_REASON)
        decision = self._require_optimizer().should_stop(self._running[trial_id][0])
        if decision.should_stop:
            self._stopping.add(trial_id)
        return decision

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        if trial_id not in self._running:
            return
        optimizer = self._require_optimizer()
        self._reported.pop(trial_id, None)
        if trial_id in self._diverged:  # a failure, even if it was also told to stop
            self._diverged.discard(trial_id)
            error = True
        if trial_id in self._stopping and not error:
            self._stopping.discard(trial_id)
            suggestion, _ = self._running.pop(trial_id)
            optimizer.stop(suggestion)
            return
        self._stopping.discard(trial_id)
        suggestion, started = self._running.pop(trial_id)
        flat = _flatten(result) if result else {}
        output: Any = flat.get(self._metric or "") if not error else None
        failed = error or not is_number(output)
        if failed and not error and not is_diverged(output):
            logger.warning(
                "trial %s reported %r = %r, not a real number; recorded as a failure "
                "(report a Python float, e.g. loss.item())",
                trial_id,
                self._metric,
                output,
            )
        cost: Any = flat.get(self._cost_metric)
        if not is_number(cost) or cost <= 0:
            if not error:
                logger.warning(
                    "trial %s reported no %r > 0; its cost is the %.3g s since it was suggested",
                    trial_id,
                    self._cost_metric,
                    time.time() - started,
                )
            cost = max(time.time() - started, 1e-9)
        optimizer.observe(
            ObservationInParam(
                suggestion, math.nan if failed else float(output), float(cost), is_failure=failed
            )
        )

    # -- checkpoints: carbs' JSON state, never a pickle -----------------------------------------
    def get_state(self) -> dict[str, Any]:
        optimizer = self._require_optimizer()
        return {
            "format": SEARCHER_FORMAT,
            "carbs": optimizer.get_state_dict(),
            "metric": self._metric,
            "mode": self._mode,
            "running": {
                trial_id: suggestion for trial_id, (suggestion, _) in self._running.items()
            },
            "stopping": sorted(self._stopping),
            "diverged": sorted(self._diverged),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`get_state` dict; a malformed one raises
        :class:`~carbs.StateError` naming the field and leaves the searcher as it was."""
        read = read_searcher_state(state)
        self._metric, self._mode = read.metric, read.mode
        self._params = list(read.optimizer.params)
        self._optimizer = read.optimizer
        now = time.time()
        self._running = {trial_id: (s, now) for trial_id, s in read.running.items()}
        self._stopping, self._diverged = read.stopping, read.diverged
        self._reported = read.reported

    def save(self, checkpoint_path: str) -> None:
        write_atomic(checkpoint_path, dumps(self.get_state()))

    def restore(self, checkpoint_path: str) -> None:
        self.set_state(loads(read_text(checkpoint_path), source=checkpoint_path))

    def __getstate__(self) -> dict[str, Any]:
        """Tune copies searchers by pickling them; the optimizer travels as its JSON state."""
        state = {k: v for k, v in self.__dict__.items() if k != "_optimizer"}
        state["_optimizer_json"] = None if self._optimizer is None else self._optimizer.serialize()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        text = state.pop("_optimizer_json")
        self.__dict__.update(state)
        self._optimizer = None if text is None else CARBS.load_from_string(text)

    # -- helpers --------------------------------------------------------------------------------
    @property
    def optimizer(self) -> CARBS | None:
        """The optimizer (``None`` until the space, metric and mode are known); read it only."""
        return self._optimizer

    def _maybe_start(self) -> None:
        if self._optimizer is not None or self._params is None:
            return
        if self._mode is None or self._metric is None:
            return
        config = attrs.evolve(self._config, better_direction_sign=_MODE_SIGNS[self._mode])
        self._optimizer = CARBS(config, self._params)

    def _require_optimizer(self) -> CARBS:
        if self._optimizer is None:
            raise InvalidConfigError(
                "CARBSSearcher needs a param space (space=, params= or the Tuner's param_space), "
                "a metric and a mode ('min' or 'max', here or in tune.TuneConfig) to suggest"
            )
        return self._optimizer


class CARBSStopper(Stopper):
    """Stops a Tune trial when carbs' front-based rule says so.

    Pass it with the searcher: ``tune.TuneConfig(search_alg=searcher)`` and
    ``tune.RunConfig(stop=CARBSStopper(searcher))``. Each trial must report the
    searcher's metric and ``cost_metric`` (cost so far) as it trains.

    Args:
        searcher: The :class:`CARBSSearcher` that suggested the trials.
    """

    def __init__(self, searcher: CARBSSearcher) -> None:
        if not isinstance(searcher, CARBSSearcher):
            raise InvalidConfigError("CARBSStopper needs the CARBSSearcher of the Tuner")
        self.searcher = searcher

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        self.searcher.on_trial_result(trial_id, result)  # ahead of Tune's own call, if later
        return self.searcher.should_stop(trial_id).should_stop

    def stop_all(self) -> bool:
        return False


def _flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` as ``{"a/b": 1}`` (how Tune names nested metrics)."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}/"))
        else:
            flat[name] = value
    return flat


def _nested(values: Mapping[str, Any]) -> dict[str, Any]:
    """``{"a/b": 1}`` as ``{"a": {"b": 1}}``: a config in the param space's shape."""
    nested: dict[str, Any] = {}
    for name, value in values.items():
        *parents, leaf = name.split("/")
        level = nested
        for parent in parents:
            level = level.setdefault(parent, {})
        level[leaf] = value
    return nested


_MODE_SIGNS = {"min": -1, "max": 1}


def _check_mode(mode: Any) -> Any:
    """``mode`` if it is ``None`` (not set yet), ``"min"`` or ``"max"``."""
    if mode is not None and mode not in ("min", "max"):
        raise InvalidConfigError(f"mode must be 'min' or 'max', got {mode!r}")
    return mode
