"""The :class:`CARBS` optimizer: the public face of a sweep.

It checks every input, serialises calls with a lock and runs the side effects
(progress lines, autosave, W&B) after a call has taken effect. The sweep's
state and the choice of points belong to :class:`carbs.sweep.Sweep`; analyses
to :mod:`carbs.analysis`; the state's JSON form to :mod:`carbs.state`.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from carbs import analysis, progress
from carbs.checks import check_bool, check_integer
from carbs.config import MAX_SEED, CARBSParams
from carbs.errors import InvalidConfigError, InvalidObservationError, InvalidParamError
from carbs.observations import (
    ObservationInBasic,
    ObservationInParam,
    ObserveOutput,
    SuggestionInBasic,
    SuggestOutput,
    observation_to_basic,
)
from carbs.pareto import ObservationGroup
from carbs.persistence import PersistenceMixin, working_folder
from carbs.predictions import check_param_names
from carbs.reporting import ReportingMixin
from carbs.spaces import SUGGESTION_ID_DICT_KEY, Param, SearchSpace
from carbs.state import CARBSState
from carbs.suggestions import Choice
from carbs.sweep import Sweep

logger = logging.getLogger(__name__)


class CARBS(PersistenceMixin, ReportingMixin, analysis.AnalysisMixin):
    """Cost-aware Pareto-region Bayesian search: an ask/tell hyperparameter optimizer.

    Call :meth:`suggest` for params to train with, then :meth:`observe` with
    the metric and the run's cost (or, to stop a poor run early, :meth:`report`
    its progress, ask :meth:`should_stop` and :meth:`stop` it). Until
    ``num_random_samples`` runs have succeeded, suggestions are Gaussian draws
    around the search centre; after that each suggestion maximises cost-aware
    expected improvement near the performance-cost Pareto front. All public
    methods are thread-safe, and each either happens completely or leaves the
    optimizer unchanged.

    Args:
        config: Optimizer settings.
        params: The hyperparameters to tune, each with its space and search centre.

    Example:
        >>> from carbs import CARBS, CARBSParams, Param, LogSpace, ObservationInParam
        >>> optimizer = CARBS(CARBSParams(better_direction_sign=-1),
        ...                   [Param("lr", LogSpace(scale=0.5), search_center=1e-3)])
        >>> suggestion = optimizer.suggest().suggestion
        >>> logs = optimizer.observe(ObservationInParam(input=suggestion, output=0.5, cost=10.0))
    """

    def __init__(self, config: CARBSParams, params: Sequence[Param]) -> None:
        if not isinstance(config, CARBSParams):
            raise InvalidConfigError(f"config must be CARBSParams, got {type(config).__name__}")
        if isinstance(params, Param) or not isinstance(params, Sequence):
            raise InvalidParamError("params must be a list of Param")
        self.search_space = SearchSpace(params)
        check_param_names(self.search_space.names)
        state = CARBSState(
            config=copy.deepcopy(config),  # the caller may reuse theirs for another sweep
            params=self.search_space.params,
            search_center_in_basic=self.search_space.search_center_in_basic(),
            generator=torch.Generator().manual_seed(config.seed),
        )
        self._sweep = Sweep(state, self.search_space)
        self._lock = threading.RLock()
        # A relative checkpoint_dir is read against the folder the optimizer was built in,
        # so that an os.chdir (a notebook's %cd) does not start a second state file.
        self._built_in = working_folder()
        self._wandb: Any = None
        if config.is_wandb_logging_enabled:
            from carbs.integrations.wandb import WandbLogger

            self._wandb = WandbLogger(config, self.search_space.params)

    def __repr__(self) -> str:
        with self._lock:
            state = self._sweep.state
            return progress.summary_line(
                state.observations,
                self._sweep.front(),
                self.search_space.names,
                state.config,
                len(state.outstanding_suggestions),
            )

    # -- ask / tell --------------------------------------------------------------------------------
    def suggest(
        self, suggestion_id: str | None = None, is_suggestion_remembered: bool = True
    ) -> SuggestOutput:
        """Choose the next params to train with.

        Args:
            suggestion_id: Id to track the suggestion by; a fresh UUID if ``None``.
            is_suggestion_remembered: Keep the suggestion as outstanding until it is
                observed or forgotten, so that parallel suggestions spread out.

        Returns:
            ``SuggestOutput`` whose ``suggestion`` maps each param to its value (plus
            ``suggestion_uuid`` when remembered) and whose ``log`` says how it was
            chosen, with ``outstanding_suggestion_count`` and ``fallback_count``.

        Raises:
            InvalidObservationError: ``suggestion_id`` is empty, not a str, or already
                the id of a running or recorded run; nothing is suggested then.
        """
        if suggestion_id is not None and not (isinstance(suggestion_id, str) and suggestion_id):
            raise InvalidObservationError(
                f"suggestion_id must be a non-empty str or None, got {suggestion_id!r}; to ask "
                "for several suggestions at once, call suggest_batch(count)"
            )
        check_bool(is_suggestion_remembered, "is_suggestion_remembered", InvalidObservationError)
        with self._lock:
            if suggestion_id is not None and is_suggestion_remembered:
                self._sweep.check_new_id(suggestion_id)
            choice = self._sweep.choose()
            return self._output(choice, suggestion_id, is_suggestion_remembered)

    def suggest_batch(
        self, count: int, is_suggestion_remembered: bool = True
    ) -> list[SuggestOutput]:
        """Choose ``count`` distinct params at once, for ``count`` parallel workers.

        The models are fitted once for the batch; each later suggestion treats the
        earlier ones as outstanding (the performance GP conditions on a fantasy outcome
        at each, as it does for suggestions still running), so the batch spreads out.
        ``suggest_batch(1)`` suggests exactly what :meth:`suggest` would.

        Args:
            count: How many suggestions, at least 1 and at most
                ``max_outstanding_suggestions`` when they are remembered.
            is_suggestion_remembered: Keep each suggestion as outstanding (with a
                fresh ``suggestion_uuid``) until it is observed or forgotten.

        Returns:
            One ``SuggestOutput`` per suggestion, in the order they were chosen.

        Raises:
            InvalidObservationError: ``count`` is not an int in that range; nothing is
                suggested then.
        """
        check_bool(is_suggestion_remembered, "is_suggestion_remembered", InvalidObservationError)
        limit = self.config.max_outstanding_suggestions if is_suggestion_remembered else None
        count = check_integer(count, "count", InvalidObservationError, min_value=1)
        if limit is not None and count > limit:
            raise InvalidObservationError(
                f"count={count} is more than max_outstanding_suggestions={limit}: the "
                "earliest suggestions of the batch would be forgotten before they are run"
            )
        with self._lock:
            choices = self._sweep.choose_batch(count)
            return [self._output(choice, None, is_suggestion_remembered) for choice in choices]

    def _output(
        self, choice: Choice, suggestion_id: str | None, is_suggestion_remembered: bool
    ) -> SuggestOutput:
        suggestion = self.search_space.param_dict_from_basic(choice.point)
        log = dict(choice.log)
        if is_suggestion_remembered:
            suggestion_id = suggestion_id or str(uuid.uuid4())
            suggestion[SUGGESTION_ID_DICT_KEY] = suggestion_id
            # Store the basic image of the rounded params: exactly what observe() computes.
            basic = self.search_space.basic_from_param_dict(suggestion)
            self._sweep.remember(suggestion_id, SuggestionInBasic(basic, log))
        log["outstanding_suggestion_count"] = len(self._sweep.state.outstanding_suggestions)
        if self._wandb is not None:
            self._after("W&B logging", self._wandb.log_suggestion, suggestion, log)
        # The caller's own copy: the state keeps this log (the planned cost early stopping
        # reads), and an edit of the returned one must not reach it.
        return SuggestOutput(suggestion=suggestion, log=dict(log))  # flat: scalars only

    def observe(self, new_observation_in_param: ObservationInParam) -> ObserveOutput:
        """Record the result of a run, exactly once.

        Observing a suggestion id again with the same input, output, cost and
        failure flag (a retry) records nothing new, with a warning, but autosaves
        again (so a retry after a failed save leaves the file current). Autosave and
        W&B failures after recording are warnings, never errors.

        Args:
            new_observation_in_param: The run's params (a suggestion dict, with its
                ``suggestion_uuid`` if it has one), output, cost and failure flag.
                Outputs that are NaN or infinite count as failures.

        Returns:
            ``ObserveOutput`` with counts, the best observation and the front's size.

        Raises:
            InvalidObservationError: a missing or unknown key, an illegal value, a
                cost that is not finite and > 0, or an id already observed with a
                different result. Nothing is recorded then.
        """
        with self._lock:
            observation = observation_to_basic(
                new_observation_in_param, self.search_space, time.time()
            )
            if not self._sweep.without_repeats([observation]):
                # A retry after an interrupted or failed autosave must still write the file.
                self._autosave()
                return ObserveOutput(logs={"observation_count": self.observation_count})
            self._sweep.record([observation])
            state, front = self._sweep.state, self._sweep.front()
            logs = progress.observation_logs(
                state, front, self.search_space, new_observation_in_param.input
            )
            progress.report_observation(state.observations, front, self.config)
            if self._wandb is not None:
                self._after("W&B logging", self._wandb.log_observation, logs)
            self._autosave()
            return ObserveOutput(logs=logs)

    def observe_many(self, observations: Sequence[ObservationInParam]) -> ObserveOutput:
        """Record several finished runs at once, for example runs another worker made.

        Each is checked and recorded as :meth:`observe` would, in order, but all are
        checked before any is recorded (a bad one leaves the optimizer unchanged),
        one progress line sums up the batch, and the search centre stays where it
        is (unlike :meth:`initialize_from_observations`).

        Raises:
            InvalidObservationError: as :meth:`observe`, for any of them.
        """
        with self._lock:
            new = self._new_observations(observations)
            self._sweep.record(new)
            state = self._sweep.state
            front = self._sweep.front()
            progress.report_batch(state.observations, len(new), front, self.config)
            self._log_batch(len(new), front)
            self._autosave()
            return ObserveOutput(
                logs={
                    "observation_count": self.observation_count,
                    "added": len(new),
                    "outstanding_suggestion_count": len(state.outstanding_suggestions),
                }
            )

    def reseed(self, seed: int) -> None:
        """Restart the random generator from ``seed``.

        The next suggestions then depend only on ``seed`` and the state: the
        observations, the outstanding suggestions and the GP hyperparameters, which
        each Bayesian suggestion (remembered or not) refits starting from the last
        fit's. Integrations that rebuild an optimizer from their storage for each
        trial reseed it per trial, so that each trial gets its own draws however many
        trials a process has asked for before.

        Raises:
            InvalidConfigError: ``seed`` is not an int with ``0 <= seed < 2**64``.
        """
        seed = check_integer(seed, "seed", InvalidConfigError, min_value=0, max_value=MAX_SEED)
        with self._lock:
            self._sweep.reseed(seed)
            self._autosave()

    def _log_batch(self, added: int, front: list[ObservationGroup]) -> None:
        """One W&B step for runs recorded at once: the logs of :meth:`observe` for the
        newest, plus how many were added."""
        if self._wandb is None or added == 0:
            return
        state = self._sweep.state
        newest = self.search_space.param_dict_from_basic(state.observations[-1].real_number_input)
        logs = progress.observation_logs(state, front, self.search_space, newest)
        self._after("W&B logging", self._wandb.log_observation, {**logs, "added": added})

    def initialize_from_observations(
        self, observations: Sequence[ObservationInParam]
    ) -> ObserveOutput:
        """Add observations of earlier runs and move the search centre to the best one.

        All are checked before any is added, so a bad one leaves the optimizer
        unchanged; exact repeats of recorded suggestion ids are skipped with a warning.
        """
        with self._lock:
            new = self._new_observations(observations)
            self._sweep.initialize(new)
            if self._wandb is not None:
                self._log_batch(len(new), self._sweep.front())
            self._autosave()
            return ObserveOutput(
                logs={"observation_count": self.observation_count, "added": len(new)}
            )

    def set_search_center(self, input_in_param: Mapping[str, Any]) -> None:
        """Move the centre of the warm-up draws to the given params (checked like an input)."""
        with self._lock:
            self.search_space.validate_param_dict(input_in_param, what="search center")
            self._sweep.move_center(
                {name: input_in_param[name] for name in self.search_space.names}
            )
            self._autosave()

    def _new_observations(
        self, observations: Sequence[ObservationInParam]
    ) -> list[ObservationInBasic]:
        """Every observation checked (all before any is recorded), exact repeats dropped."""
        return self._sweep.without_repeats(self._checked_observations(observations))

    def _checked_observations(
        self, observations: Sequence[ObservationInParam]
    ) -> list[ObservationInBasic]:
        """Every observation checked and mapped to basic space (nothing recorded)."""
        if isinstance(observations, ObservationInParam) or not isinstance(observations, Sequence):
            raise InvalidObservationError("observations must be a list of ObservationInParam")
        now = time.time()
        return [observation_to_basic(o, self.search_space, now) for o in observations]

    # -- side effects after a call has taken effect ------------------------------------------------
    def _autosave(self) -> None:
        if self.config.is_saved_on_every_observation:
            where = f"autosave to {os.fspath(self.checkpoint_path)}"
            self._after(where, self.save, self.checkpoint_path)

    def _after(self, what: str, function: Callable[..., object], *args: Any) -> None:
        """Run a side effect; its failure is a warning, never an error (the call took effect)."""
        try:
            function(*args)
        except Exception as error:
            message = f"carbs: {what} failed: {type(error).__name__}: {error}"
            logger.error(message)
            warnings.warn(message, RuntimeWarning, stacklevel=4)
