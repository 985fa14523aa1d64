"""CARBSSampler reading a study's trials: params the objective did not ask for, trials
it could not read, off-grid enqueued values, two studies on one sampler, pickling."""

from __future__ import annotations

import math
import pickle
from typing import Any

import pytest

optuna = pytest.importorskip("optuna")

from optuna.distributions import FloatDistribution, IntDistribution  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from carbs import CARBSParams  # noqa: E402
from carbs.integrations.optuna import CARBSSampler, trial_id  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.ERROR)
FAST = CARBSParams(num_random_samples=3, resample_frequency=0)
WARNINGS = ("WARNING", "carbs.integrations.optuna")


def lr_width(trial: optuna.Trial) -> float:
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    width = trial.suggest_int("width", 16, 1024, log=True)
    trial.set_user_attr("cost", width * 0.01)
    return 0.6 + 2.0 / width**0.4 + 0.15 * math.log10(lr / 3e-3) ** 2


def test_a_search_space_param_the_objective_never_asks_for_is_named(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A momentum used by SGD runs only: every trial was left out, without a word.
    space = {
        "lr": FloatDistribution(1e-5, 1e-1, log=True),
        "width": IntDistribution(16, 1024, log=True),
        "momentum": FloatDistribution(0.0, 0.99),
    }
    study = optuna.create_study(sampler=CARBSSampler(FAST, seed=0, search_space=space))
    with caplog.at_level(*WARNINGS):
        study.optimize(lr_width, n_trials=5)
    optimizer = study.sampler.sync(study)
    assert optimizer is not None and optimizer.observation_count == 0
    assert caplog.text.count("trials without 'momentum' are left out (trial 0 is") == 1


def test_a_trial_whose_cost_func_raises_is_left_out_and_the_rest_are_read(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def flops(trial: Any) -> float:
        return trial.user_attrs["flops"]  # a failed trial never recorded its FLOPs

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    for number in range(6):
        trial = study.ask()
        value = lr_width(trial)
        if number == 1:
            study.tell(trial, state=TrialState.FAIL)
            continue
        trial.set_user_attr("flops", 1e9 * trial.params["width"])
        study.tell(trial, value)
    sampler = CARBSSampler(FAST, seed=0, cost_func=flops)
    with caplog.at_level(*WARNINGS):
        optimizer = sampler.sync(study)
    assert optimizer is not None and optimizer.observation_count == 5
    assert "trial 1 is left out: cost_func raised KeyError" in caplog.text


def test_trials_read_when_an_ask_is_interrupted_are_read_again() -> None:
    # Each trial was marked seen before it was recorded: an interrupt half-way through
    # the first ask of a resumed study dropped the trials read so far for good.
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    study.optimize(lr_width, n_trials=6)
    is_interrupted = True

    def cost(trial: Any) -> float:
        if is_interrupted and trial.number == 4:
            raise KeyboardInterrupt
        return trial.user_attrs["cost"]

    sampler = CARBSSampler(FAST, seed=0, cost_func=cost)
    with pytest.raises(KeyboardInterrupt):
        sampler.sync(study)
    is_interrupted = False
    optimizer = sampler.sync(study)
    assert optimizer is not None and optimizer.observation_count == 6


def test_an_enqueued_value_off_a_stepped_grid_is_left_out_not_moved(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # b=7 where the steps are 1, 5, 9, ... was learnt as b=5 with b=7's output.
    def stepped(trial: optuna.Trial) -> float:
        b = trial.suggest_int("b", 1, 61, step=4)
        c = trial.suggest_float("c", 0.0, 1.0, step=0.1)
        trial.set_user_attr("cost", 1.0)
        return b + 10 * c

    study = optuna.create_study(sampler=CARBSSampler(FAST, seed=0))
    study.optimize(stepped, n_trials=2)
    study.enqueue_trial({"b": 7, "c": 0.3})
    study.enqueue_trial({"b": 5, "c": 0.35})
    study.enqueue_trial({"b": 5, "c": 0.3})  # the grid's 0.30000000000000004 but for rounding
    with caplog.at_level(*WARNINGS), pytest.warns(UserWarning):  # Optuna's, on 7 and 0.35
        study.optimize(stepped, n_trials=3)
    optimizer = study.sampler.sync(study)
    assert optimizer is not None
    recorded = {o.suggestion_id: o for o in optimizer.observations}
    assert set(recorded) == {trial_id(0), trial_id(1), trial_id(4)}
    assert optimizer.to_dataframe().set_index("suggestion_id").loc[trial_id(4), "c"] == 0.1 + 0.2
    assert "trial 2 is left out" in caplog.text and "trial 3 is left out" in caplog.text


def test_one_sampler_on_two_in_memory_studies_reads_each_ones_space() -> None:
    # Optuna's cached intersection space took the second study (also study id 0) for the
    # first: its space came out empty and every trial of it was drawn at random.
    def first(trial: optuna.Trial) -> float:
        trial.set_user_attr("cost", 1.0)
        return (math.log10(trial.suggest_float("x", 1e-3, 1.0, log=True)) + 1.5) ** 2

    def second(trial: optuna.Trial) -> float:
        trial.set_user_attr("cost", 1.0)
        return (trial.suggest_float("y", -5.0, 5.0) - 2.0) ** 2

    sampler = CARBSSampler(FAST, seed=0)
    optuna.create_study(sampler=sampler).optimize(first, n_trials=5)
    other = optuna.create_study(sampler=sampler)
    other.optimize(second, n_trials=6)
    optimizer = sampler.sync(other)
    assert optimizer is not None and [p.name for p in optimizer.params] == ["y"]
    assert optimizer.observation_count == 6


def test_a_pruned_trial_that_never_reported_is_named(caplog: pytest.LogCaptureFixture) -> None:
    study = optuna.create_study(sampler=CARBSSampler(FAST, seed=0))
    study.optimize(lr_width, n_trials=3)
    trial = study.ask()
    lr_width(trial)
    study.tell(trial, state=TrialState.PRUNED)  # pruned for a constraint, before training
    with caplog.at_level(*WARNINGS):
        study.sampler.sync(study)
    assert "trial 3 is left out: it was pruned before it reported" in caplog.text


def test_a_centre_that_names_no_param_is_named(caplog: pytest.LogCaptureFixture) -> None:
    sampler = CARBSSampler(FAST, seed=0, search_center={"learning_rate": 1e-3})
    with caplog.at_level(*WARNINGS):
        optuna.create_study(sampler=sampler).optimize(lr_width, n_trials=2)
    assert "search_center names ['learning_rate'], which are not in the search" in caplog.text


def test_a_sampler_and_its_study_pickle_and_go_on_from_the_storage() -> None:
    study = optuna.create_study(sampler=CARBSSampler(FAST, seed=0))
    study.optimize(lr_width, n_trials=4)
    restored = pickle.loads(pickle.dumps(study))  # joblib.dump(study), as Optuna's FAQ says
    restored.optimize(lr_width, n_trials=2)
    optimizer = restored.sampler.sync(restored)
    assert optimizer is not None and optimizer.observation_count == 6


def test_a_failure_found_lost_later_leaves_a_long_running_worker_model() -> None:
    # The heartbeat callback fails a stale trial, then enqueues its copy: a worker that
    # asked in between learnt the failure, and kept it after the copy said it was lost.
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lr_width, n_trials=4)
    stale = study.ask()
    lr_width(stale)
    study.tell(stale, state=TrialState.FAIL)
    worker = CARBSSampler(FAST, seed=0)
    optimizer = worker.sync(study)
    assert optimizer is not None and len(optimizer.failure_observations) == 1
    study.add_trial(
        optuna.trial.create_trial(
            state=TrialState.WAITING,
            params=stale.params,
            distributions=stale.distributions,
            system_attrs={"retry_history": [stale.number]},
        )
    )
    optimizer = worker.sync(study)
    assert optimizer is not None and len(optimizer.failure_observations) == 0
    assert optimizer.observation_count == 4


def test_a_range_changed_mid_study_is_named_as_why_carbs_stops_tuning_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The one line said "conditional, or not yet in a finished trial" at INFO: the
    # param was drawn at random for the rest of the study without a word of why.
    def widened_later(trial: optuna.Trial) -> float:
        high = 1e-2 if trial.number < 4 else 1e-1
        lr = trial.suggest_float("lr", 1e-4, high, log=True)
        width = trial.suggest_int("width", 16, 1024, log=True)
        trial.set_user_attr("cost", width * 0.01)
        return (math.log10(lr) + 2.5) ** 2 + 1 / width

    study = optuna.create_study(sampler=CARBSSampler(FAST, seed=0))
    with caplog.at_level(*WARNINGS):
        study.optimize(widened_later, n_trials=7)
    assert "param 'lr' is not in CARBSSampler's search space (its range changed" in caplog.text
