"""The trials of an Optuna study as ``CARBSSampler`` reads them.

Which trials were lost rather than failed (:data:`LOST_ATTR`, heartbeat retries),
the carbs id of a trial, and :class:`Sync`: one study's optimizer and the trials it
has taken in. Optuna is imported here only for its trial states.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

# Imported through carbs.integrations.optuna, whose guard names the optuna extra.
from optuna.trial import TrialState

from carbs.errors import InvalidConfigError
from carbs.optimizer import CARBS

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.study import Study
    from optuna.trial import FrozenTrial

LOST_ATTR = "carbs_lost"
"""User attribute of a FAIL trial whose run was lost for reasons that say nothing
about its params (a pre-empted node, a cancelled job): ``CARBSSampler`` leaves
such a trial out, as ``forget_suggestion`` does, instead of learning a failure.
A FAIL trial that Optuna's ``RetryHeartbeatStaleTrialCallback`` (before Optuna
4.9, ``RetryFailedTrialCallback``) has enqueued again is left out in the same way."""


def trial_id(number: int) -> str:
    """The carbs suggestion id of an Optuna trial."""
    return f"optuna-trial-{number}"


@attrs.define
class Sync:
    """The optimizer for one study and search space, and the trial numbers it has taken in."""

    study_name: str
    search_space: dict[str, BaseDistribution]
    optimizer: CARBS
    # Each taken-in trial's number and start: a study deleted and created again under
    # the same name reuses the numbers, and its trials must not pass for seen ones.
    seen: dict[int, datetime | None] = attrs.Factory(dict)
    # The FAIL trials learnt as failures: one found lost later (its heartbeat retry
    # appeared after this worker read it) must not stay a failure in the model.
    failures: set[int] = attrs.Factory(set)

    def is_history_of(self, trials: Sequence[FrozenTrial], lost: set[int]) -> bool:
        """Whether every trial taken in is still among ``trials``, as it was, and no
        failure learnt from them has since been found lost."""
        starts = {trial.number: trial.datetime_start for trial in trials}
        is_same = all(starts.get(number, _GONE) == start for number, start in self.seen.items())
        return is_same and not self.failures & lost


_GONE = object()


def lost_trial_numbers(trials: Sequence[FrozenTrial]) -> set[int]:
    """The numbers of the FAIL trials among ``trials`` whose runs were lost, not failed.

    A trial is lost when it carries :data:`LOST_ATTR` set to ``True``, or when
    Optuna's heartbeat retry callback has retried it: with a heartbeat
    (``RDBStorage(..., heartbeat_interval=...,
    failed_trial_callback=RetryHeartbeatStaleTrialCallback())``, named
    ``RetryFailedTrialCallback`` before Optuna 4.9), a trial whose worker died
    is failed as stale and enqueued again with the same params, and the copy's
    ``retry_history`` system attribute lists the trials it stands in for; their
    outcome is the copy's.
    """
    retried: set[int] = set()
    for trial in trials:
        history = trial.system_attrs.get("retry_history")
        if isinstance(history, list):
            retried.update(n for n in history if isinstance(n, int))
    return {
        trial.number
        for trial in trials
        if trial.state == TrialState.FAIL
        and (trial.user_attrs.get(LOST_ATTR) is True or trial.number in retried)
    }


def check_one_objective(study: Study) -> None:
    if len(study.directions) > 1:
        raise InvalidConfigError("CARBSSampler optimises one objective; the study has several")


def why_not_tuned(trials: Sequence[FrozenTrial], name: str) -> tuple[int, str]:
    """Why CARBS does not tune the param ``name`` (so the independent sampler draws it):
    a log level and the reason, for a line of the log.

    A range that changed between finished trials takes the param out of the search
    space for the rest of the study: that is a WARNING; a conditional param, or one
    no finished trial has had yet, is as designed (INFO)."""
    finished = (TrialState.COMPLETE, TrialState.PRUNED)
    ranges: list[BaseDistribution] = []
    for trial in trials:
        distribution = trial.distributions.get(name)
        if trial.state in finished and distribution is not None and distribution not in ranges:
            ranges.append(distribution)
    if len(ranges) > 1:
        return logging.WARNING, (
            f"its range changed between finished trials ({', '.join(map(str, ranges))}), "
            "so it is no longer in the range every finished trial shares"
        )
    return logging.INFO, "conditional, or not yet in a finished trial"
