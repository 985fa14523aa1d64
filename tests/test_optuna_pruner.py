"""CARBSPruner: CARBS's front-based stopping rule through Optuna's report/should_prune."""

from __future__ import annotations

import math

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from carbs import CARBSParams, InvalidConfigError  # noqa: E402
from carbs.integrations.optuna import CARBSPruner, CARBSSampler  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)


def final_loss(lr: float, epochs: int) -> float:
    return (math.log10(lr) + 2.0) ** 2 + 1.0 / epochs


def objective(trial: optuna.Trial) -> float:
    """A loss that falls by 1 over the run; each epoch costs 1."""
    lr = trial.suggest_float("lr", 1e-4, 1.0, log=True)
    epochs = trial.suggest_int("epochs", 2, 60, log=True)
    trial.set_user_attr("cost", float(epochs))
    for epoch in range(1, epochs + 1):
        trial.report(final_loss(lr, epochs) + 1.0 - epoch / epochs, epoch)
        if trial.should_prune():
            trial.set_user_attr("cost", float(epoch))  # what it spent
            raise optuna.TrialPruned()
    return final_loss(lr, epochs)


def study_with_completed_trials(pruner: CARBSPruner) -> optuna.Study:
    study = optuna.create_study(direction="minimize", pruner=optuna.pruners.NopPruner())
    for lr in (1e-2, 2e-2, 5e-3, 3e-2, 8e-3, 1.5e-2):
        study.enqueue_trial({"lr": lr, "epochs": 20})
    study.optimize(objective, n_trials=6)
    study.pruner = pruner
    return study


def run_trial(study: optuna.Study, lr: float, epochs: int) -> tuple[int | None, float]:
    """Run one trial by hand; the step it was pruned at (``None``) and its decision's
    projection."""
    trial = study.ask({"lr": optuna.distributions.FloatDistribution(1e-4, 1.0, log=True)})
    pruner = study.pruner
    for epoch in range(1, epochs + 1):
        trial.report(final_loss(lr, epochs) + 1.0 - epoch / epochs, epoch)
        if trial.should_prune():
            frozen = study.get_trials(deepcopy=False)[trial.number]
            projected = pruner.decision(study, frozen).projected_output
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            return epoch, projected
    study.tell(trial, final_loss(lr, epochs))
    return None, math.nan


def test_a_hopeless_trial_is_pruned_and_a_promising_one_is_not() -> None:
    study = study_with_completed_trials(CARBSPruner(total_steps=20))
    pruned_at, projected = run_trial(study, 1.0, 20)  # lr 1.0: loss 4 above the best
    assert pruned_at is not None and pruned_at >= 4  # not before 20% of its 20 steps
    assert projected == pytest.approx(final_loss(1.0, 20), abs=0.2)
    assert run_trial(study, 1e-2, 20)[0] is None  # the best lr runs to the end


def climbing_loss(final: float, gain: float, step: int) -> float:
    """A loss that falls as ``gain * (f**-0.5 - 1)`` towards ``final`` along the fraction f
    of 10 steps: how much is still to come differs from run to run."""
    return final + gain * ((step / 10) ** -0.5 - 1)


def test_the_pruner_reads_how_fast_a_trial_still_improves() -> None:
    """Two trials report the same loss at step 4 of 10; the one still falling steeply will
    beat the study's best and runs on, the one that has flattened out is pruned."""
    study = optuna.create_study(direction="minimize", pruner=optuna.pruners.NopPruner())
    rng = np.random.default_rng(0)
    for _ in range(12):
        final, gain = float(rng.uniform(1.0, 3.0)), float(rng.uniform(0.2, 5.0))
        trial = study.ask()
        trial.set_user_attr("cost", 10.0)
        for step in range(1, 11):
            trial.report(climbing_loss(final, gain, step), step)
        study.tell(trial, final)
    study.pruner = CARBSPruner(total_steps=10)
    still_to_come = 0.4**-0.5 - 1
    decisions = {}
    for name, final in (("steep", 0.5), ("flat", 2.8)):
        trial = study.ask()
        for step in range(1, 5):
            trial.report(climbing_loss(final, (3.0 - final) / still_to_come, step), step)
        frozen = study.get_trials(deepcopy=False)[trial.number]
        assert frozen.intermediate_values[4] == pytest.approx(3.0)
        decisions[name] = study.pruner.decision(study, frozen)
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    assert decisions["steep"].projected_output == pytest.approx(0.5, abs=0.01)
    assert decisions["flat"].projected_output == pytest.approx(2.8, abs=0.01)
    assert not decisions["steep"].should_stop and decisions["flat"].should_stop


def test_the_pruner_never_prunes_before_enough_curves_or_the_minimum_fraction() -> None:
    study = optuna.create_study(direction="minimize", pruner=CARBSPruner(total_steps=20))
    for lr in (1e-2, 2e-2, 5e-3, 3e-2):  # four completed curves: below min_runs=5
        study.enqueue_trial({"lr": lr, "epochs": 20})
    study.optimize(objective, n_trials=4)
    assert run_trial(study, 1.0, 20)[0] is None
    late = optuna.create_study(
        direction="minimize", pruner=CARBSPruner(total_steps=20, min_fraction=0.5)
    )
    for lr in (1e-2, 2e-2, 5e-3, 3e-2, 8e-3):
        late.enqueue_trial({"lr": lr, "epochs": 20})
    late.optimize(objective, n_trials=5)
    assert run_trial(late, 1.0, 20)[0] == 10


X_SPACE = {"x": optuna.distributions.FloatDistribution(0, 1)}


def add_completed(study: optuna.Study, value: float, cost: float, curve: dict[int, float]) -> None:
    """A finished trial at x = 0.5 with its cost and reported curve."""
    study.add_trial(
        optuna.trial.create_trial(
            state=optuna.trial.TrialState.COMPLETE,
            value=value,
            params={"x": 0.5},
            distributions=X_SPACE,
            user_attrs={"cost": cost},
            intermediate_values=curve,
        )
    )


def study_of_eight_curves(steps: int, cost: float) -> optuna.Study:
    """Eight completed trials (finals 1.00 to 1.07) whose curves fall by 1 over ``steps``."""
    study = optuna.create_study(pruner=CARBSPruner(total_steps=steps))
    for i in range(8):
        final = 1.0 + 0.01 * i
        add_completed(study, final, cost, {s: final + 1 - s / steps for s in range(1, steps + 1)})
    return study


@pytest.mark.parametrize("steps", [48, 49])
def test_a_planned_cost_a_rounding_below_the_completed_runs_still_prunes(steps: int) -> None:
    # 49 steps at the completed runs' cost per step plan 0.9999999999999999, just below
    # their cost of 1.0: no completed run "cost as little", and nothing was ever pruned.
    study = study_of_eight_curves(steps, cost=1.0)
    trial = study.ask(X_SPACE)
    pruned_at = None
    for step in range(1, steps):
        trial.report(1000.0, step)
        if trial.should_prune():
            pruned_at = step
            break
    assert pruned_at is not None and pruned_at / steps == pytest.approx(0.2, abs=0.03)


def test_a_completed_trial_without_a_curve_still_sets_the_front() -> None:
    # Only trials with a usable curve made the front: a better run that never reported
    # (or reported a NaN on the way) was left out of what a running trial must beat.
    study = study_of_eight_curves(10, cost=10.0)
    for curve in ({}, {1: math.nan, 10: 0.1}):
        add_completed(study, 0.1, 10.0, curve)
    trial = study.ask(X_SPACE)
    for step in range(1, 4):
        trial.report(1.8 - step / 10, step)  # heading for about 0.8: beats 1.0, not 0.1
    decision = study.pruner.decision(study, study.trials[trial.number])
    assert decision.front_output == 0.1 and decision.should_stop


def test_a_maximised_study_prunes_in_its_own_direction() -> None:
    study = optuna.create_study(direction="maximize", pruner=CARBSPruner(total_steps=20))
    for lr in (1e-2, 2e-2, 5e-3, 3e-2, 8e-3, 1.5e-2):
        study.enqueue_trial({"lr": lr, "epochs": 20})
    study.optimize(objective_negated, n_trials=6)
    hopeless = study.ask({"lr": optuna.distributions.FloatDistribution(1e-4, 1.0, log=True)})
    good = study.ask({"lr": optuna.distributions.FloatDistribution(1e-4, 1.0, log=True)})
    for epoch in range(1, 11):
        hopeless.report(-(final_loss(1.0, 20) + 1.0 - epoch / 20), epoch)
        good.report(-(final_loss(1e-2, 20) + 1.0 - epoch / 20), epoch)
    assert hopeless.should_prune() and not good.should_prune()


def objective_from_step_0(trial: optuna.Trial) -> float:
    """``objective`` reporting its epochs as steps 0 to epochs - 1, as Optuna's examples do."""
    lr = trial.suggest_float("lr", 1e-4, 1.0, log=True)
    epochs = trial.suggest_int("epochs", 2, 60, log=True)
    trial.set_user_attr("cost", float(epochs))
    for step in range(epochs):
        trial.report(final_loss(lr, epochs) + 1.0 - (step + 1) / epochs, step)
    return final_loss(lr, epochs)


@pytest.mark.parametrize("total_steps", [20, None])
def test_steps_counted_from_0_prune_too(total_steps: int | None) -> None:
    # A report at step 0 sits at cost 0 under the even spread; it made the rule drop every
    # completed curve, so a study reporting steps from 0 never pruned anything.
    study = optuna.create_study(direction="minimize", pruner=optuna.pruners.NopPruner())
    for lr in (1e-2, 2e-2, 5e-3, 3e-2, 8e-3, 1.5e-2):
        study.enqueue_trial({"lr": lr, "epochs": 20})
    study.optimize(objective_from_step_0, n_trials=6)
    study.pruner = CARBSPruner(total_steps=total_steps)
    distribution = {"lr": optuna.distributions.FloatDistribution(1e-4, 1.0, log=True)}
    hopeless, good = study.ask(distribution), study.ask(distribution)
    for step in range(10):
        hopeless.report(final_loss(1.0, 20) + 1.0 - (step + 1) / 20, step)
        good.report(final_loss(1e-2, 20) + 1.0 - (step + 1) / 20, step)
    assert hopeless.should_prune() and not good.should_prune()


def test_a_first_report_at_step_0_with_a_planned_cost_is_not_an_error() -> None:
    # Without completed trials the steps were 0 there, and the cost's share 0 / 0.
    study = optuna.create_study(direction="minimize", pruner=CARBSPruner())
    trial = study.ask({"lr": optuna.distributions.FloatDistribution(1e-4, 1.0, log=True)})
    trial.set_user_attr("planned_cost", 20.0)
    trial.report(3.0, 0)
    assert not trial.should_prune()


def objective_negated(trial: optuna.Trial) -> float:
    """``objective`` with every report and result negated (an accuracy to maximise)."""
    lr = trial.suggest_float("lr", 1e-4, 1.0, log=True)
    epochs = trial.suggest_int("epochs", 2, 60, log=True)
    trial.set_user_attr("cost", float(epochs))
    for epoch in range(1, epochs + 1):
        trial.report(-(final_loss(lr, epochs) + 1.0 - epoch / epochs), epoch)
    return -final_loss(lr, epochs)


def test_carbs_sampler_records_pruned_trials_as_stopped_runs() -> None:
    sampler = CARBSSampler(CARBSParams(num_random_samples=4), seed=0)
    study = optuna.create_study(
        direction="minimize", sampler=sampler, pruner=CARBSPruner(total_steps="epochs")
    )
    study.optimize(objective, n_trials=30)
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert pruned, "nothing was pruned"
    optimizer = sampler.sync(study)
    assert optimizer is not None
    stopped = optimizer.stopped_observations
    assert len(stopped) == len(pruned)
    by_cost = sorted(t.user_attrs["cost"] for t in pruned)
    assert sorted(o.cost for o in stopped) == by_cost  # each at what it spent
    assert all(math.isfinite(o.projected_output) for o in stopped)
    # A pruned run is never on the front, and the sampler's front equals the completed one.
    completed = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert len(optimizer.success_observations) == completed


@pytest.mark.parametrize("diverged", [math.nan, math.inf, -math.inf])
def test_a_diverged_trial_is_pruned_at_once_and_recorded_as_a_failure(diverged: float) -> None:
    """A NaN or infinite loss is a stop at its first report, before any curve completes and
    whatever the minimum fraction; the sampler then records the trial as a failure."""
    sampler = CARBSSampler(CARBSParams(num_random_samples=2), seed=0)
    study = optuna.create_study(
        direction="minimize", sampler=sampler, pruner=CARBSPruner(total_steps=20)
    )
    trial = study.ask({"lr": optuna.distributions.FloatDistribution(1e-4, 1.0, log=True)})
    trial.set_user_attr("cost", 1.0)
    trial.report(1.0, 1)
    assert not trial.should_prune()  # no completed curve yet: a finite report is never stopped
    trial.report(diverged, 2)
    assert trial.should_prune()
    decision = study.pruner.decision(study, study.get_trials(deepcopy=False)[trial.number])
    assert "diverged" in decision.reason
    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    optimizer = sampler.sync(study)
    assert optimizer is not None
    assert len(optimizer.failure_observations) == 1 and not optimizer.stopped_observations


def test_the_pruner_works_with_optunas_own_samplers() -> None:
    study = optuna.create_study(
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=0),
        pruner=CARBSPruner(total_steps="epochs"),
    )
    study.optimize(objective, n_trials=30)
    states = [t.state for t in study.trials]
    assert optuna.trial.TrialState.PRUNED in states
    pruned_costs = [
        t.user_attrs["cost"] for t in study.trials if t.state == optuna.trial.TrialState.PRUNED
    ]
    assert all(cost >= 1 for cost in pruned_costs)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"total_steps": 0}, "total_steps"),
        ({"total_steps": True}, "total_steps"),
        ({"total_steps": 2.5}, "total_steps"),
        ({"min_runs": np.int64(2)}, "min_runs"),
        ({"min_fraction": 1.5}, "min_fraction"),
        ({"min_runs": 2}, "min_runs"),
        ({"probability": "0.1"}, "probability"),
        ({"cost_func": 3}, "cost_func"),
    ],
)
def test_bad_settings_are_refused(settings: dict, message: str) -> None:
    with pytest.raises(InvalidConfigError, match=message):
        CARBSPruner(**settings)


def test_numpy_integer_settings_are_ints() -> None:
    numpy_pruner = CARBSPruner(total_steps=np.int64(20), min_runs=np.int32(5))
    study = study_with_completed_trials(numpy_pruner)
    assert (
        run_trial(study, 1.0, 20)[0]
        == run_trial(study_with_completed_trials(CARBSPruner(total_steps=20, min_runs=5)), 1.0, 20)[
            0
        ]
    )


def test_a_pruner_that_read_the_curves_before_decides_as_a_fresh_one() -> None:
    # The completed trials' curves are read once and kept: a pruner that has decided
    # before, on a study that has grown since, decides exactly as a fresh one.
    warmed = CARBSPruner(total_steps="epochs")
    study = study_with_completed_trials(warmed)
    run_trial(study, 1e-2, 20)
    for lr in (3e-3, 0.5):
        study.enqueue_trial({"lr": lr, "epochs": 20})
        study.optimize(objective, n_trials=1)
    trial = study.ask({"lr": optuna.distributions.FloatDistribution(1e-4, 1.0, log=True)})
    for epoch in range(1, 9):
        trial.report(final_loss(0.3, 20) + 1.0 - epoch / 20, epoch)
    frozen = study.get_trials(deepcopy=False)[trial.number]
    fresh = CARBSPruner(total_steps="epochs").decision(study, frozen)
    assert warmed.decision(study, frozen) == fresh
    assert fresh.curve_count >= 7
