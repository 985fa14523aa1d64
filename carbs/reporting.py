"""Runs still going: reports, early stopping, and runs started or cancelled elsewhere.

:class:`ReportingMixin` is the part of :class:`carbs.CARBS` that handles runs
between their suggestion and their observation (split off to keep each module
small); it works on CARBS's own sweep and lock, and nothing else uses it. The
stopping rule itself is :func:`carbs.stopping.decide`.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping
from typing import Any

import torch

from carbs.checks import check_number
from carbs.errors import InvalidObservationError
from carbs.observations import (
    ObservationInParam,
    ObserveOutput,
    SuggestionInBasic,
    suggestion_id_of,
)
from carbs.spaces import SUGGESTION_ID_DICT_KEY, SearchSpace
from carbs.stopping import StopDecision
from carbs.sweep import Sweep

logger = logging.getLogger(__name__)


class ReportingMixin:
    """``report``, ``should_stop``, ``stop``, ``add_outstanding_suggestion`` and
    ``forget_suggestion`` of :class:`carbs.CARBS`."""

    _sweep: Sweep
    _lock: threading.RLock
    search_space: SearchSpace

    def observe(
        self, new_observation_in_param: ObservationInParam
    ) -> ObserveOutput:  # pragma: no cover - CARBS's own
        raise NotImplementedError

    def report(
        self,
        suggestion: Mapping[str, Any],
        output: float,
        cost: float,
        planned_cost: float | None = None,
    ) -> None:
        """Record an intermediate result of a run that is still training.

        Call it as often as the run evaluates (every epoch, every N steps), then
        :meth:`should_stop`. The reports are kept in the state: those of runs that
        complete teach the stopping rule how intermediate outputs relate to final
        ones; they also appear in :meth:`to_dataframe` (column ``curve``).

        Args:
            suggestion: The suggestion dict the run is training (its
                ``suggestion_uuid`` must be outstanding).
            output: The metric so far, a finite number (a run whose metric became NaN or
                infinite diverged: :meth:`observe` it with that output, a failure).
            cost: What the run has spent so far, > 0 and never less than at its
                previous report.
            planned_cost: What the whole run will cost, if known. Otherwise the
                cost predicted when the run was suggested is used (or, for a
                warm-up draw, the fitted log-linear cost model's prediction).

        Raises:
            InvalidObservationError: an unknown or already observed suggestion, a
                non-finite output, a cost that is not > 0 or that fell, or a bad
                planned cost; nothing is recorded then.
        """
        output = check_number(output, "report output", InvalidObservationError, finite=False)
        if not math.isfinite(output):
            raise InvalidObservationError(
                f"report output is {output}: the run diverged; end it and observe() it with "
                "this output (a NaN or infinite output is recorded as a failure)"
            )
        cost = check_number(
            cost, "report cost", InvalidObservationError, min_value=0.0, exclusive_min=True
        )
        if planned_cost is not None:
            planned_cost = check_number(
                planned_cost,
                "report planned_cost",
                InvalidObservationError,
                min_value=0.0,
                exclusive_min=True,
            )
        with self._lock:
            suggestion_id = self._running_id(suggestion)
            curve = self._sweep.state.curves.get(suggestion_id)
            if curve is not None and curve.costs and cost < curve.costs[-1]:
                raise InvalidObservationError(
                    f"report cost={cost!r} is less than the previous report's "
                    f"{curve.costs[-1]!r}: report the cost spent so far, which never falls"
                )
            self._sweep.add_report(suggestion_id, cost, output, planned_cost)

    def should_stop(self, suggestion: Mapping[str, Any]) -> StopDecision:
        """Whether a running run should stop now, judged at its latest report.

        The run is stopped only when, projected to its planned cost, it is
        unlikely (probability below ``config.early_stopping_probability``) to
        beat every completed run that cost no more: it could not improve the
        performance-cost front. The projection is learned from the curves of
        this sweep's completed runs. Never before ``early_stopping_min_fraction``
        of the planned cost, nor before ``early_stopping_min_runs`` completed
        curves reach that fraction; a run cheaper than every completed run is
        never stopped.

        Returns:
            A :class:`~carbs.StopDecision`: truthy when the run should stop, with
            the reason and the projected output, the output to beat and the
            probability behind it. When it is truthy, end the run and call
            :meth:`stop`.

        Raises:
            InvalidObservationError: the suggestion is unknown or already observed.
        """
        with self._lock:
            return self._sweep.stop_decision(self._running_id(suggestion))

    def stop(self, suggestion: Mapping[str, Any]) -> ObserveOutput:
        """Record a run as stopped early, at its latest report.

        The observation holds the run's last reported output and cost and is
        flagged ``is_stopped``. It never joins the Pareto front (its full output
        was never measured); the performance model sees it at its projected final
        output, the cost model not at all, and the success model counts it as a
        success (it did not crash).

        Raises:
            InvalidObservationError: the suggestion is unknown, already observed,
                or has not reported; nothing is recorded then.
        """
        with self._lock:
            suggestion_id = self._running_id(suggestion)
            curve = self._sweep.state.curves.get(suggestion_id)
            if curve is None or not curve.costs:
                raise InvalidObservationError(
                    f"suggestion {suggestion_id!r} has not reported: report() its progress "
                    "before stopping it, or forget_suggestion() a run that never started"
                )
            if all(name in suggestion for name in self.search_space.names):
                # The caller's values, as a retry will give them: read back from basic
                # space they can differ in the last bit (a LogitSpace bound).
                params = dict(suggestion)
            else:
                point = self._sweep.state.outstanding_suggestions[suggestion_id].real_number_input
                params = self.search_space.param_dict_from_basic(point)
                params[SUGGESTION_ID_DICT_KEY] = suggestion_id
            stopped = ObservationInParam(
                input=params, output=curve.outputs[-1], cost=curve.costs[-1], is_stopped=True
            )
            return self.observe(stopped)

    def add_outstanding_suggestion(self, suggestion: Mapping[str, Any]) -> None:
        """Treat a run started elsewhere (another process, another engine) as outstanding.

        Later suggestions see it as running (a fantasy at its params), exactly like
        one this optimizer suggested, until it is observed or forgotten. Adding a
        running suggestion again at the same params changes nothing (it keeps the
        predicted cost it was suggested with, its planned cost for early stopping).

        Args:
            suggestion: Every param's value plus a ``suggestion_uuid`` (str) to
                observe or forget it by.

        Raises:
            InvalidObservationError: no ``suggestion_uuid``, one a recorded run has, or
                an illegal param dict.
        """
        suggestion_id = suggestion_id_of(suggestion)
        if suggestion_id is None:
            raise InvalidObservationError(
                f"an outstanding suggestion needs a {SUGGESTION_ID_DICT_KEY!r} to be observed by"
            )
        self.search_space.validate_param_dict(suggestion, what="suggestion")
        basic = self.search_space.basic_from_param_dict(suggestion)
        with self._lock:
            self._sweep.check_new_id(suggestion_id, may_be_outstanding=True)
            running = self._sweep.state.outstanding_suggestions.get(suggestion_id)
            if running is not None and torch.equal(running.real_number_input, basic):
                return  # told again (a worker re-syncing): keep what it was suggested with
            self._sweep.remember(
                suggestion_id, SuggestionInBasic(basic, {"suggestion_type": "external"})
            )

    def forget_suggestion(self, suggestion_to_forget: Mapping[str, Any]) -> bool:
        """Drop an outstanding suggestion (for example when its run was cancelled).

        Forgetting is idempotent, so a retry is safe: a suggestion that is not
        running (already observed or forgotten, or never made here) changes
        nothing and is only logged at INFO.

        Returns:
            ``True`` if a running suggestion was dropped, ``False`` otherwise.

        Raises:
            InvalidObservationError: the argument is not the suggestion dict.
        """
        suggestion_id = suggestion_id_of(suggestion_to_forget)
        with self._lock:
            if suggestion_id is None:
                logger.warning(
                    "forget_suggestion: the dict has no %r, so nothing was forgotten; "
                    "pass the suggestion that suggest() returned (out.suggestion)",
                    SUGGESTION_ID_DICT_KEY,
                )
                return False
            if self._sweep.forget(suggestion_id):
                return True
            logger.info("forget_suggestion: unknown suggestion_uuid %r", suggestion_id)
            return False

    def _running_id(self, suggestion: Mapping[str, Any]) -> str:
        suggestion_id = suggestion_id_of(suggestion)
        if suggestion_id is None:
            raise InvalidObservationError(
                f"the suggestion has no {SUGGESTION_ID_DICT_KEY!r}: pass the dict suggest() "
                "returned (suggest with is_suggestion_remembered=True)"
            )
        if suggestion_id not in self._sweep.state.outstanding_suggestions:
            raise InvalidObservationError(
                f"suggestion {suggestion_id!r} is not running: it was never suggested, or it "
                "was already observed, stopped or forgotten"
            )
        return suggestion_id
