"""CARBS as an Optuna sampler (the ``optuna`` extra): ``CARBSSampler``.

The study's storage is the sweep's only state. On every ask the sampler brings
its optimizer up to date with ``study.get_trials()``: finished trials it has not
seen are observed (COMPLETE as runs, FAIL as failures unless marked lost with
:data:`LOST_ATTR`, PRUNED as runs stopped early, at their last reported value
and partial cost), and RUNNING trials of
other workers become outstanding suggestions, so workers in any number of
processes and machines that share one storage (SQLite, PostgreSQL/MySQL through
``RDBStorage``, a ``JournalStorage`` file or Redis) are sent to different
points. Trials are cached by number, so an ask observes only what is new and the
models are refitted warm-started from the previous fit.

Optuna itself is imported only by this module; ``import carbs`` never needs it.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from carbs.checks import check_optional_mapping
from carbs.config import CARBSParams
from carbs.errors import InvalidConfigError, InvalidObservationError
from carbs.integrations.engine import direction_sign, engine_config, is_number, run_seed
from carbs.integrations.optuna_pruner import COST_ATTR, CARBSPruner, default_cost
from carbs.integrations.optuna_space import (
    carbs_value,
    distributions_from_params,
    is_modelled,
    params_from_search_space,
)
from carbs.integrations.optuna_trials import (
    LOST_ATTR,
    Sync,
    check_one_objective,
    lost_trial_numbers,
    trial_id,
    why_not_tuned,
)
from carbs.observations import ObservationInParam
from carbs.optimizer import CARBS
from carbs.spaces import SUGGESTION_ID_DICT_KEY, Param, SearchSpace

try:
    from optuna.samplers import BaseSampler, RandomSampler
    from optuna.search_space import intersection_search_space
    from optuna.trial import TrialState, create_trial
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "carbs.integrations.optuna needs optuna: pip install 'carbs-hpo[optuna]'"
    ) from error

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.study import Study
    from optuna.trial import FrozenTrial

logger = logging.getLogger(__name__)

__all__ = [
    "COST_ATTR",
    "LOST_ATTR",
    "CARBSPruner",
    "CARBSSampler",
    "default_cost",
    "lost_trial_numbers",
    "trial_id",
]


class CARBSSampler(BaseSampler):
    """An Optuna sampler that chooses trials with CARBS.

    Use it like any Optuna sampler; report each trial's cost with
    ``trial.set_user_attr("cost", c)`` (otherwise its duration is the cost)::

        study = optuna.create_study(sampler=CARBSSampler(seed=0), storage="sqlite:///s.db")

    Args:
        config: CARBS settings; ``better_direction_sign`` is taken from the
            study's direction and ``seed`` from ``seed`` when given. Autosave and
            W&B logging must be off (the storage holds the state).
        seed: Overrides ``config.seed``, which seeds carbs and the default
            independent sampler (each trial's draws come from it and the trial's number).
        cost_func: ``cost_func(frozen_trial) -> float``, the cost of a finished
            trial; :func:`default_cost` by default. A trial whose cost is not a
            finite number > 0 is left out, with a warning.
        search_space: The distributions carbs tunes, if known up front; by default
            the params that every finished trial shares (Optuna's intersection
            search space), so the first trial is drawn by ``independent_sampler``.
        search_center: Where the search starts, by param name; by default the
            middle of each range (see :mod:`carbs.integrations.optuna_space`).
        params: carbs params to tune instead of ``search_space`` and
            ``search_center``, for carbs' own spaces (``LogitSpace``, ordinal
            menus, scales); the search space is then the Optuna distributions of
            :func:`~carbs.integrations.optuna_space.distributions_from_params`,
            and the objective must ask for exactly those.
        independent_sampler: Draws the params carbs does not tune (conditional
            params, single values, unknown distributions); by default a
            ``RandomSampler`` seeded from ``seed`` and the trial's number.

    Raises:
        InvalidConfigError: a bad ``config``, ``seed``, ``cost_func``, ``search_center``
            or ``independent_sampler``.
    """

    def __init__(
        self,
        config: CARBSParams | None = None,
        *,
        seed: int | None = None,
        cost_func: Callable[[FrozenTrial], float | None] | None = None,
        search_space: Mapping[str, BaseDistribution] | None = None,
        search_center: Mapping[str, Any] | None = None,
        params: Sequence[Param] | None = None,
        independent_sampler: BaseSampler | None = None,
    ) -> None:
        config = engine_config(config, seed, "CARBSSampler's study storage")
        if cost_func is not None and not callable(cost_func):
            raise InvalidConfigError("cost_func must be callable: cost_func(frozen_trial) -> float")
        self._config = config
        self._cost_func = cost_func or default_cost
        check_optional_mapping(search_center, "search_center", InvalidConfigError)
        check_optional_mapping(search_space, "search_space", InvalidConfigError)
        if independent_sampler is not None and not isinstance(independent_sampler, BaseSampler):
            raise InvalidConfigError(
                "independent_sampler must be an Optuna sampler, got "
                f"{type(independent_sampler).__name__}"
            )
        if params is not None and (search_space is not None or search_center is not None):
            raise InvalidConfigError("pass params, or search_space and search_center, not both")
        self._params = None if params is None else list(params)
        if self._params is not None:
            SearchSpace(self._params)  # checked up front
            search_space = distributions_from_params(self._params)
        self._fixed_space = None if search_space is None else dict(search_space)
        if self._fixed_space is not None and self._params is None:
            params_from_search_space(self._fixed_space, search_center)  # checked up front
        self._search_center = dict(search_center or {})
        self._independent = independent_sampler
        self._sync: Sync | None = None
        self._warnings: set[object] = set()  # each said once
        self._independent_params: set[tuple[str, str]] = set()  # each reason logged once
        self._lock = threading.Lock()

    # -- the sampler interface -----------------------------------------------------------------
    def reseed_rng(self) -> None:
        if self._independent is not None:
            self._independent.reseed_rng()

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        if self._fixed_space is not None:
            space = self._fixed_space
        else:  # computed afresh: Optuna's cached form mixes up two in-memory studies
            space = intersection_search_space(study.get_trials(deepcopy=False), True)
        return {name: dist for name, dist in space.items() if is_modelled(dist)}

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        check_one_objective(study)  # from the first trial, whose search space is empty
        if not search_space:
            return {}
        with self._lock:
            optimizer = self._synced(study, search_space, trial.number)
            optimizer.reseed(run_seed(self._config.seed, trial.number))
            suggestion = optimizer.suggest(is_suggestion_remembered=False).params
        return {name: suggestion[name] for name in search_space}

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        if not param_distribution.single():  # one value: nothing to tune, nothing to say
            self._say_why_not_tuned(study, param_name)
        sampler = self._independent
        if sampler is None:
            # Seeded per trial and param, like carbs' own draws: workers started with one
            # seed at the same moment still draw different first trials, and the params
            # of one trial are not all drawn from the same first number.
            key = f"{trial.number}:{param_name}"
            sampler = RandomSampler(seed=run_seed(self._config.seed, key) % 2**32)
        return sampler.sample_independent(study, trial, param_name, param_distribution)

    def _say_why_not_tuned(self, study: Study, param_name: str) -> None:
        level, reason = why_not_tuned(study.get_trials(deepcopy=False), param_name)
        if (param_name, reason) not in self._independent_params:
            self._independent_params.add((param_name, reason))
            drawer = type(self._independent).__name__ if self._independent else "RandomSampler"
            logger.log(
                level,
                "param %r is not in CARBSSampler's search space (%s); %s draws it",
                param_name,
                reason,
                drawer,
            )

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        if self._independent is not None:
            self._independent.before_trial(study, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        if self._independent is not None:
            self._independent.after_trial(study, trial, state, values)

    # -- keeping the optimizer in step with the storage ----------------------------------------
    @property
    def optimizer(self) -> CARBS | None:
        """The optimizer behind the latest ask (``None`` before the first); read it only."""
        return None if self._sync is None else self._sync.optimizer

    def sync(self, study: Study) -> CARBS | None:
        """Bring the optimizer up to date with every trial of ``study`` and return it.

        For analyses outside an ask (the front, the best run, scaling laws, plots);
        read it only. ``None`` while the search space is still empty.
        """
        check_one_objective(study)
        probe = create_trial(state=TrialState.RUNNING)  # number -1: no trial is left out
        space = self.infer_relative_search_space(study, probe)
        if not space:
            return None
        with self._lock:
            return self._synced(study, space, probe.number)

    def _synced(
        self, study: Study, search_space: dict[str, BaseDistribution], asking: int
    ) -> CARBS:
        trials = study.get_trials(deepcopy=False)
        lost = lost_trial_numbers(trials)
        sync = self._sync
        if (
            sync is None
            or (sync.study_name, sync.search_space) != (study.study_name, search_space)
            or not sync.is_history_of(trials, lost)
        ):
            config = attrs.evolve(
                self._config,
                better_direction_sign=direction_sign(
                    study.direction.name.lower(), "the study's direction"
                ),
            )
            if self._params is not None:
                params = self._params
            else:
                centers = {k: v for k, v in self._search_center.items() if k in search_space}
                if unknown := sorted(set(self._search_center) - set(centers)):
                    self._warn_once(
                        f"search_center names {unknown}, which are not in the search space "
                        f"{sorted(search_space)} (a typo, or a param no finished trial has had "
                        "yet): their centres are not used"
                    )
                params = params_from_search_space(search_space, centers)
            sync = self._sync = Sync(study.study_name, dict(search_space), CARBS(config, params))
        observations = []
        running: dict[str, dict[str, Any]] = {}
        # Marked seen only once recorded: an error on the way (a cost_func that raises,
        # an interrupt) leaves them to the next ask instead of dropping them for good.
        taken: dict[int, datetime | None] = {}
        trial_states = {trial.number: trial.state.name for trial in trials}
        for trial in sorted(trials, key=lambda t: t.number):
            is_waiting = trial.state == TrialState.WAITING  # enqueued, not started
            if trial.number in sync.seen or trial.number == asking or is_waiting:
                continue
            values = self._values(trial, sync)
            if trial.state == TrialState.RUNNING:
                if values is not None:
                    running[trial_id(trial.number)] = values
                continue
            taken[trial.number] = trial.datetime_start
            if trial.number in lost:
                continue
            observation = self._observation(study, trial, values)
            if observation is not None:
                observations.append(observation)
        optimizer = sync.optimizer
        optimizer.observe_many(observations)
        sync.seen.update(taken)
        sync.failures.update(
            number for number in taken if number not in lost and trial_states[number] == "FAIL"
        )
        for suggestion_id in set(optimizer.outstanding_suggestions) - set(running):
            optimizer.forget_suggestion({SUGGESTION_ID_DICT_KEY: suggestion_id})
        for suggestion_id, values in running.items():
            if suggestion_id not in optimizer.outstanding_suggestions:
                optimizer.add_outstanding_suggestion(values)
        return optimizer

    def _values(self, trial: FrozenTrial, sync: Sync) -> dict[str, Any] | None:
        """The trial's values of the tuned params as carbs takes them; ``None`` if it
        lacks one, has it from another distribution, or holds a value carbs refuses."""
        values: dict[str, Any] = {SUGGESTION_ID_DICT_KEY: trial_id(trial.number)}
        for param in sync.optimizer.params:
            if param.space.is_fixed:
                continue
            expected = sync.search_space.get(param.name)
            if param.name not in trial.params:
                if trial.state.is_finished():  # a running trial may not have asked for it yet
                    self._warn_once(
                        f"trials without {param.name!r} are left out (trial {trial.number} "
                        "is the first): a param of the search space that the objective did "
                        "not ask for (a typo, a conditional param, or a trial that failed "
                        "first); ask for every param of search_space in every trial",
                        key=("missing", param.name),
                    )
                return None
            if expected is not None and trial.distributions.get(param.name) != expected:
                if param.name in trial.distributions:  # a range since changed, say
                    self._warn_once(
                        f"trial {trial.number} is left out: its {param.name!r} was drawn from "
                        f"{trial.distributions[param.name]}, not {expected}"
                    )
                return None
            values[param.name] = carbs_value(param, trial.params[param.name])
        try:
            sync.optimizer.search_space.validate_param_dict(values)
        except InvalidObservationError as error:
            self._warn_once(f"trial {trial.number} is left out: {error}")
            return None
        return values

    def _observation(
        self, study: Study, trial: FrozenTrial, values: dict[str, Any] | None
    ) -> ObservationInParam | None:
        if values is None:
            return None
        cost: Any
        try:
            cost = self._cost_func(trial)
        except Exception as error:  # the user's function, on a trial it did not expect
            self._warn_once(
                f"trial {trial.number} is left out: cost_func raised "
                f"{type(error).__name__}: {error}"
            )
            return None
        if not is_number(cost) or cost <= 0:
            self._warn_once(
                f"trial {trial.number} is left out: its cost {cost!r} is not a finite number "
                "> 0 (report it with trial.set_user_attr('cost', c) or pass cost_func)"
            )
            return None
        if trial.state == TrialState.FAIL:
            return ObservationInParam(values, math.nan, float(cost), is_failure=True)
        if trial.state == TrialState.PRUNED:
            return self._stopped(study, trial, values, float(cost))
        assert trial.value is not None
        return ObservationInParam(values, float(trial.value), float(cost))

    def _stopped(
        self, study: Study, trial: FrozenTrial, values: dict[str, Any], cost: float
    ) -> ObservationInParam | None:
        """A pruned trial as a run stopped early: its last reported value at its partial
        cost, projected by the study's ``CARBSPruner`` (default settings for another
        pruner) when the curves allow, else taken as it stands."""
        if trial.last_step is None:
            self._warn_once(
                f"trial {trial.number} is left out: it was pruned before it reported "
                "(trial.report), so there is no value to record"
            )
            return None
        last = trial.intermediate_values[trial.last_step]
        if not is_number(last):
            return ObservationInParam(values, math.nan, cost, is_failure=True)
        pruner = study.pruner if isinstance(study.pruner, CARBSPruner) else CARBSPruner()
        projected = pruner.decision(study, trial).projected_output
        return ObservationInParam(
            values,
            float(last),
            cost,
            is_stopped=True,
            projected_output=projected if math.isfinite(projected) else None,
        )

    def _warn_once(self, message: str, key: object = None) -> None:
        """Log ``message`` the first time (of ``message``, or of ``key`` when given)."""
        key = message if key is None else key
        if key not in self._warnings:
            self._warnings.add(key)
            logger.warning("%s", message)

    # -- pickling (joblib.dump of a study): the storage holds the state -------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_sync"] = None  # rebuilt from the study's trials at the next ask
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
