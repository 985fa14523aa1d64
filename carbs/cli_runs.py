"""The commands a worker runs on its own trial: ``carbs tell``, ``carbs forget`` and
``carbs report`` (see :mod:`carbs.cli`).

Each checks that the trial is still running, writes its attributes and tells it.
Optuna's storages cannot do that in one step, so two commands on one trial at the
same moment (a requeued job telling twice, a cleanup forgetting a run that is
telling) can interleave: the loser gets a clean error, and a command whose trial
does not hold what it wrote afterwards says so instead of reporting a success.
"""

from __future__ import annotations

import argparse
import contextlib
import math
from collections.abc import Iterator
from typing import Any

from carbs.cli_studies import CLIError, open_storage, open_study


def _running_trial(args: argparse.Namespace, storage: Any, study: Any) -> tuple[Any, int]:
    """The trial ``args.id`` (still running) and its storage id; clear errors otherwise."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    trial = next((t for t in trials if t.number == args.id), None)
    if trial is None:
        raise CLIError(f"study {args.study!r} has no trial {args.id}")
    if trial.state != TrialState.RUNNING:
        raise CLIError(f"trial {args.id} was already told ({trial.state.name})")
    study_id = storage.get_study_id_from_name(args.study)
    return trial, storage.get_trial_id_from_study_id_trial_number(study_id, args.id)


@contextlib.contextmanager
def _racing(number: int) -> Iterator[None]:
    """Optuna's refusal to update a trial that another command finished meanwhile (a
    requeued job telling twice, a cleanup forgetting it), as a clean error."""
    from optuna.exceptions import OptunaError

    try:
        yield
    except (OptunaError, RuntimeError, ValueError) as error:
        raise CLIError(
            f"trial {number} was told or forgotten by another command at the same moment; "
            f"nothing more was written ({error})"
        ) from error


def _check_stored(
    storage: Any, trial_id: int, number: int, state: str, value: float | None, **attrs: Any
) -> None:
    """After a tell: the trial holds this command's state, value and attributes, or
    another command wrote it at the same moment (say so, instead of reporting a success)."""
    trial = storage.get_trial(trial_id)
    held = {key: trial.user_attrs.get(key) for key in attrs}
    if trial.state.name != state or held != attrs or trial.value != value:
        raise CLIError(
            f"trial {number} was also told by another command at the same moment: it now "
            f"holds {trial.state.name} with {held}, not {state} with {attrs}; check it "
            "with `carbs export`"
        )


def _positive(value: float | None, flag: str) -> float | None:
    if value is not None and not (isinstance(value, float) and 0 < value < math.inf):
        raise CLIError(f"{flag} must be a finite number > 0, got {value}")
    return value


def tell(args: argparse.Namespace) -> Any:
    from optuna.trial import TrialState

    from carbs.integrations.optuna import LOST_ATTR
    from carbs.integrations.optuna_pruner import REPORT_COSTS_ATTR

    storage = open_storage(args.storage)
    study, _, _ = open_study(args.study, storage)
    trial, trial_id = _running_trial(args, storage, study)
    if args.failure == (args.output is not None):
        raise CLIError("give --output X for a finished run, or --failure for a failed one")
    # A NaN or infinite metric (a diverged run) is a failure, as observe() records it;
    # told as such, Optuna neither warns about it nor ranks an infinite value as best.
    failed = args.failure or not math.isfinite(args.output)
    cost = _positive(args.cost, "--cost")
    if cost is None and not failed:
        raise CLIError("give --cost C: what the run cost (seconds, GPU-hours, FLOPs)")
    reported = trial.user_attrs.get(REPORT_COSTS_ATTR, {}).values()
    if cost is not None and reported and cost < max(reported):
        raise CLIError(
            f"--cost {cost} is less than the {max(reported)} already reported for this run: "
            "give what the whole run cost"
        )
    with _racing(args.id):
        if args.cost is not None:
            storage.set_trial_user_attr(trial_id, "cost", args.cost)
        if failed:
            study.tell(args.id, state=TrialState.FAIL)
        else:
            study.tell(args.id, args.output)
    state, value = ("FAIL", None) if failed else ("COMPLETE", args.output)
    written = {} if args.cost is None else {"cost": args.cost}
    _check_stored(storage, trial_id, args.id, state, value, **written, **{LOST_ATTR: None})
    return {"id": args.id, "state": state}


def forget(args: argparse.Namespace) -> Any:
    """Drop a running trial whose job was lost for the cluster's reasons (pre-empted,
    cancelled): it is told as FAIL and marked with ``LOST_ATTR``, so CARBS leaves it
    out instead of learning a failure there."""
    from optuna.trial import TrialState

    from carbs.integrations.optuna import LOST_ATTR

    storage = open_storage(args.storage)
    study, _, _ = open_study(args.study, storage)
    _, trial_id = _running_trial(args, storage, study)
    with _racing(args.id):
        storage.set_trial_user_attr(trial_id, LOST_ATTR, True)
        study.tell(args.id, state=TrialState.FAIL)
    _check_stored(storage, trial_id, args.id, "FAIL", None, **{LOST_ATTR: True})
    return {"id": args.id, "state": "FAIL", "lost": True}


def report(args: argparse.Namespace) -> Any:
    """Record an intermediate result; print whether to stop (and record the stop if so)."""
    from optuna.trial import TrialState

    from carbs.integrations.optuna_pruner import PLANNED_COST_ATTR, REPORT_COSTS_ATTR

    storage = open_storage(args.storage)
    study, _, _ = open_study(args.study, storage)
    trial, trial_id = _running_trial(args, storage, study)
    if not (isinstance(args.output, float) and math.isfinite(args.output)):
        raise CLIError(
            f"--output must be a finite number, got {args.output}: a run that diverged "
            f"is over; `carbs tell {args.study} {args.id} --failure` records it"
        )
    cost = _positive(args.cost, "--cost")
    if cost is None:
        raise CLIError("give --cost C: what the run has spent so far")
    planned_cost = _positive(args.planned_cost, "--planned-cost")
    costs = dict(trial.user_attrs.get(REPORT_COSTS_ATTR, {}))
    if costs and cost < max(costs.values()):
        raise CLIError(f"--cost {cost} is less than at the previous report: give the total so far")
    step = len(costs) + 1
    costs[str(step)] = cost
    with _racing(args.id):
        storage.set_trial_intermediate_value(trial_id, step, args.output)
        storage.set_trial_user_attr(trial_id, REPORT_COSTS_ATTR, costs)
        storage.set_trial_user_attr(trial_id, "cost", cost)  # what it spent if it stops here
        if planned_cost is not None:
            storage.set_trial_user_attr(trial_id, PLANNED_COST_ATTR, planned_cost)
        decision = study.pruner.decision(study, study.get_trials(deepcopy=False)[args.id])
        if decision.should_stop:
            study.tell(args.id, state=TrialState.PRUNED)
    return {
        "id": args.id,
        "step": step,
        "should_stop": decision.should_stop,
        "reason": decision.reason,
        "projected_output": _finite_or_none(decision.projected_output),
        "improvement_probability": _finite_or_none(decision.improvement_probability),
        "state": "PRUNED" if decision.should_stop else "RUNNING",
    }


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None
