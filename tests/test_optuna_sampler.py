"""CARBSSampler: Optuna's distributions, costs, failures, running trials, directions,
determinism, and several OS processes sharing one SQLite study."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from optuna.distributions import (  # noqa: E402
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.storages import InMemoryStorage  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from carbs import (  # noqa: E402
    CARBSParams,
    CategoricalSpace,
    InvalidConfigError,
    InvalidParamError,
    InvalidSpaceError,
    LinearSpace,
    LogSpace,
    OrdinalSpace,
    Param,
)
from carbs.integrations.optuna import (  # noqa: E402
    LOST_ATTR,
    CARBSSampler,
    default_cost,
    trial_id,
)
from carbs.integrations.optuna_space import (  # noqa: E402
    distributions_from_params,
    param_from_distribution,
)

optuna.logging.set_verbosity(optuna.logging.ERROR)
FAST = CARBSParams(num_random_samples=3, resample_frequency=0)


def objective(trial: optuna.Trial) -> float:
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    width = trial.suggest_int("width", 8, 512, log=True)
    act = trial.suggest_categorical("act", ["relu", "tanh"])
    trial.set_user_attr("cost", float(width))
    return (math.log10(lr) + 3) ** 2 + 10 / width + (0.2 if act == "tanh" else 0.0)


# -- distributions -------------------------------------------------------------------------------
def test_each_distribution_maps_onto_the_space_that_keeps_its_values_legal() -> None:
    log_float = param_from_distribution("lr", FloatDistribution(1e-4, 1.0, log=True))
    assert isinstance(log_float.space, LogSpace) and not log_float.space.is_integer
    assert log_float.search_center == pytest.approx(1e-2)
    linear = param_from_distribution("x", FloatDistribution(-1.0, 2.0))
    assert isinstance(linear.space, LinearSpace) and linear.space.scale == pytest.approx(1.0)
    assert linear.search_center == pytest.approx(0.5)
    stepped = param_from_distribution("drop", FloatDistribution(0.0, 0.5, step=0.1))
    assert isinstance(stepped.space, OrdinalSpace) and len(stepped.space.values) == 6
    log_int = param_from_distribution("w", IntDistribution(8, 512, log=True))
    assert isinstance(log_int.space, LogSpace) and log_int.space.is_integer
    assert log_int.search_center == 64
    lattice = param_from_distribution("b", IntDistribution(16, 256, step=16))
    assert isinstance(lattice.space, LinearSpace) and lattice.space.rounding_factor == 16
    assert lattice.search_center % 16 == 0
    odd = param_from_distribution("layers", IntDistribution(1, 7, step=2))
    assert isinstance(odd.space, OrdinalSpace) and odd.space.values == (1, 3, 5, 7)
    choice = param_from_distribution("act", CategoricalDistribution(["relu", None, 3]))
    assert isinstance(choice.space, CategoricalSpace) and choice.search_center == "relu"
    centred = param_from_distribution("lr", FloatDistribution(1e-4, 1.0, log=True), 3e-3)
    assert centred.search_center == 3e-3
    with pytest.raises(InvalidParamError, match="lr"):
        param_from_distribution("lr", FloatDistribution(1e-4, 1.0, log=True), 5.0)


def test_a_stepped_range_too_long_to_hold_is_refused_by_name() -> None:
    # Each value of an OrdinalSpace is stored: these filled the memory until the OS
    # killed the process.
    for distribution in (
        IntDistribution(1, 10**9 + 1, step=2),
        FloatDistribution(0, 1e12, step=0.5),
    ):
        with pytest.raises(InvalidSpaceError, match=r"'n'.*more than the 100000"):
            param_from_distribution("n", distribution)
    widest = param_from_distribution("n", FloatDistribution(0.0, 99_999 * 0.5, step=0.5))
    assert len(widest.space.values) == 100_000
    # low * high overflowed (OverflowError, or an infinite centre) on the way to the
    # geometric middle.
    huge = param_from_distribution("n", IntDistribution(2**63, 10**300, log=True))
    assert huge.search_center == pytest.approx(math.sqrt(2**63) * 1e150, rel=1e-9)
    # Multiples of 3 beyond 2**53 came back off the lattice and observe() refused them.
    with pytest.raises(InvalidSpaceError, match=r"'n'.*2\*\*53"):
        param_from_distribution("n", IntDistribution(3, 10**18 - 1, step=3))


def test_suggested_values_are_legal_for_every_distribution() -> None:
    def stepped_objective(trial: optuna.Trial) -> float:
        drop = trial.suggest_float("drop", 0.0, 0.5, step=0.1)
        layers = trial.suggest_int("layers", 1, 7, step=2)
        batch = trial.suggest_int("batch", 16, 256, step=16)
        x = trial.suggest_float("x", -1.0, 1.0)
        flag = trial.suggest_categorical("flag", [True, False, None])
        trial.set_user_attr("cost", float(batch * layers))
        return x**2 + drop + (0.0 if flag else 0.1) + 1 / layers

    study = optuna.create_study(sampler=CARBSSampler(FAST, seed=1))
    study.optimize(stepped_objective, n_trials=14)
    for trial in study.trials:
        for name, value in trial.params.items():
            assert trial.distributions[name]._contains(
                trial.distributions[name].to_internal_repr(value)
            )
    carbs_made = [t for t in study.trials if t.number > 0]
    assert study.sampler.optimizer.observation_count == 13
    assert {t.params["layers"] for t in carbs_made} <= {1, 3, 5, 7}


def test_params_outside_the_shared_space_go_to_the_independent_sampler() -> None:
    def conditional(trial: optuna.Trial) -> float:
        kind = trial.suggest_categorical("kind", ["a", "b"])
        x = trial.suggest_float("x", -1.0, 1.0)
        extra = trial.suggest_float(f"only_{kind}", 0.0, 1.0)
        trial.set_user_attr("cost", 1.0 + extra)
        return x**2 + extra

    study = optuna.create_study(sampler=CARBSSampler(FAST, seed=2))
    study.optimize(conditional, n_trials=10)
    assert set(study.sampler.optimizer.search_space.names) == {"kind", "x"}
    assert all(len(t.params) == 3 for t in study.trials)


def test_choices_carbs_cannot_hold_go_to_the_independent_sampler() -> None:
    """Tuple choices (Optuna warns but allows them) failed the study with an
    InvalidSpaceError at the first Bayesian trial."""

    def tuples(trial: optuna.Trial) -> float:
        shape = trial.suggest_categorical("shape", [(1, 2), (3, 4)])
        x = trial.suggest_float("x", -1.0, 1.0)
        trial.set_user_attr("cost", 1.0 + x**2)
        return x**2 + shape[0]

    study = optuna.create_study(sampler=CARBSSampler(FAST, seed=2))
    with pytest.warns(UserWarning, match="persistent storage"):  # Optuna's own warning
        study.optimize(tuples, n_trials=8)
    assert study.sampler.optimizer.search_space.names == ("x",)
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)


def test_choices_and_ranges_carbs_refuses_go_to_the_independent_sampler() -> None:
    """Choices 1 and 1.0 side by side, and a stepped range of more than 100000 values,
    passed for params carbs models, then failed every trial after the first."""

    def mixed(trial: optuna.Trial) -> float:
        k = trial.suggest_categorical("k", [1, 1.0, "a"])
        n = trial.suggest_float("n", 0, 1e6, step=0.5)
        x = trial.suggest_float("x", -1.0, 1.0)
        trial.set_user_attr("cost", 1.0 + x**2)
        return x**2 + (0.1 if k == "a" else 0.0) + n * 1e-9

    study = optuna.create_study(sampler=CARBSSampler(FAST, seed=2))
    study.optimize(mixed, n_trials=6)
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert study.sampler.optimizer.search_space.names == ("x",)


def test_the_params_drawn_at_random_in_one_trial_are_drawn_apart() -> None:
    # Each was drawn by a RandomSampler seeded alike, so a, b and c / 100 were equal.
    study = optuna.create_study(sampler=CARBSSampler(FAST, seed=0))
    trial = study.ask()
    a, b = trial.suggest_float("a", 0, 1), trial.suggest_float("b", 0, 1)
    c = trial.suggest_float("c", 0, 100)
    assert len({a, b, c / 100}) == 3
    again = optuna.create_study(sampler=CARBSSampler(FAST, seed=0)).ask()
    assert again.suggest_float("a", 0, 1) == a  # still fixed by the seed


def test_the_top_of_a_stepped_float_range_is_optunas_own() -> None:
    # 0 + 3 * 0.1 is 0.30000000000000004: the centre 0.3 was refused, and a suggestion
    # of the top was rejected by Optuna and drawn at random instead.
    space = {"x": FloatDistribution(0, 0.3, step=0.1)}
    sampler = CARBSSampler(FAST, seed=0, search_space=space, search_center={"x": 0.3})
    study = optuna.create_study(sampler=sampler)

    def top(trial: optuna.Trial) -> float:
        trial.set_user_attr("cost", 1.0)
        return -trial.suggest_float("x", 0, 0.3, step=0.1)

    study.optimize(top, n_trials=8)
    assert study.trials[0].params["x"] == 0.3  # the centre, drawn by carbs
    synced = study.sampler.sync(study)
    assert synced is not None and synced.observation_count == 8  # every trial taken in


def test_an_enqueued_value_outside_a_stepped_range_is_left_out() -> None:
    # k = 1001 was learnt as k = 9 (the nearest listed value), with k = 1001's output.
    space = {"k": IntDistribution(1, 9, step=2), "x": FloatDistribution(0, 1)}
    study = optuna.create_study(sampler=CARBSSampler(FAST, seed=0, search_space=space))
    study.enqueue_trial({"k": 1001, "x": 0.5})

    def objective_k(trial: optuna.Trial) -> float:
        trial.set_user_attr("cost", 1.0)
        return trial.suggest_int("k", 1, 9, step=2) + trial.suggest_float("x", 0, 1)

    with pytest.warns(UserWarning):
        study.optimize(objective_k, n_trials=4)
    recorded = study.sampler.sync(study)
    assert recorded is not None and recorded.observation_count == 3
    assert all(o.output < 100 for o in recorded.observations)


def test_a_param_with_one_legal_value_is_taken_from_the_trial() -> None:
    # Optuna leaves a one-valued distribution out of the search space; looking it up
    # there raised KeyError at the ask after the first finished trial.
    params = [
        Param("lr", LogSpace(min=1e-5, max=0.1), 1e-3),
        Param("n", LinearSpace(min=0.5, max=1.5, is_integer=True), 1),
    ]
    distributions = distributions_from_params(params)
    study = optuna.create_study(sampler=CARBSSampler(FAST, seed=0, params=params))
    for _ in range(4):
        trial = study.ask(distributions)
        trial.set_user_attr("cost", 1.0)
        study.tell(trial, trial.params["lr"])
    assert [t.params["n"] for t in study.trials] == [1] * 4
    assert study.sampler.optimizer.observation_count == 3


def test_a_given_search_space_and_centre_drive_the_first_trial() -> None:
    space = {"lr": FloatDistribution(1e-5, 1e-1, log=True)}
    sampler = CARBSSampler(
        CARBSParams(num_random_samples=5, initial_search_radius=0.01),
        seed=0,
        search_space=space,
        search_center={"lr": 1e-4},
    )
    study = optuna.create_study(sampler=sampler)
    trial = study.ask()
    assert trial.suggest_float("lr", 1e-5, 1e-1, log=True) == pytest.approx(1e-4, rel=0.2)
    with pytest.raises(InvalidParamError, match="search_center"):
        CARBSSampler(search_space=space, search_center={"typo": 1.0})


def test_a_trial_drawn_from_another_range_is_left_out_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A range widened mid-study: the earlier trials were dropped without a word.
    study = optuna.create_study()
    for lr in (1e-3, 2e-3):
        study.enqueue_trial({"lr": lr})
        study.optimize(lambda t: t.suggest_float("lr", 1e-4, 1e-2, log=True), n_trials=1)
    sampler = CARBSSampler(
        FAST, seed=0, search_space={"lr": FloatDistribution(1e-5, 1e-1, log=True)}
    )
    with caplog.at_level("WARNING", logger="carbs.integrations.optuna"):
        optimizer = sampler.sync(study)
    assert optimizer is not None and optimizer.observation_count == 0
    assert "trial 0 is left out: its 'lr' was drawn from FloatDistribution" in caplog.text


# -- costs, failures, running trials, directions -------------------------------------------------
def test_costs_come_from_the_cost_attr_or_the_duration_or_cost_func() -> None:
    study = optuna.create_study(sampler=CARBSSampler(FAST, seed=0))
    study.optimize(objective, n_trials=6)
    observed = study.sampler.optimizer.observations
    assert [o.cost for o in observed] == [t.user_attrs["cost"] for t in study.trials[:5]]
    timed = study.trials[0]
    del timed.user_attrs["cost"]
    assert default_cost(timed) == pytest.approx(timed.duration.total_seconds())

    doubled = optuna.create_study(
        sampler=CARBSSampler(FAST, seed=0, cost_func=lambda t: 2 * t.user_attrs["cost"])
    )
    doubled.optimize(objective, n_trials=4)
    costs = [o.cost for o in doubled.sampler.optimizer.observations]
    assert costs == [2 * t.user_attrs["cost"] for t in doubled.trials[:3]]


def test_a_trial_without_a_usable_cost_is_left_out_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sampler = CARBSSampler(FAST, seed=0, cost_func=lambda t: -1.0 if t.number == 1 else 5.0)
    study = optuna.create_study(sampler=sampler)
    with caplog.at_level("WARNING", logger="carbs.integrations.optuna"):
        study.optimize(objective, n_trials=5)
    assert sampler.optimizer.observation_count == 3
    assert "trial 1 is left out" in caplog.text


def test_a_study_created_again_under_the_same_name_is_read_afresh() -> None:
    # As in a notebook whose SQLite file was deleted and the study created again: the
    # sampler took the new study's trials 0-2 for the old one's, already seen, and went
    # on with the old study's four runs, never reading the new ones.
    sampler = CARBSSampler(FAST, seed=0)
    old = optuna.create_study(study_name="sweep", storage=InMemoryStorage(), sampler=sampler)
    old.optimize(objective, n_trials=4)
    new = optuna.create_study(study_name="sweep", storage=InMemoryStorage(), sampler=sampler)
    new.optimize(lambda trial: objective(trial) + 100.0, n_trials=3)
    optimizer = sampler.sync(new)
    assert optimizer is not None
    assert sorted(o.output for o in optimizer.observations) == sorted(t.value for t in new.trials)


def study_of_four(sampler: CARBSSampler) -> optuna.Study:
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=4)
    return study


def fail_a_trial(study: optuna.Study, **user_attrs: Any) -> optuna.Trial:
    """Ask a trial, draw its params, set ``user_attrs`` and tell it as FAIL."""
    trial = study.ask()
    objective(trial)
    for key, value in user_attrs.items():
        trial.set_user_attr(key, value)
    study.tell(trial, state=TrialState.FAIL)
    return trial


def test_failed_trials_are_failures_and_running_trials_are_outstanding() -> None:
    sampler = CARBSSampler(FAST, seed=0)
    study = study_of_four(sampler)
    fail_a_trial(study)
    running = study.ask()
    objective(running)  # params set, still running
    objective(study.ask())  # samples (and syncs) on its first suggest
    optimizer = sampler.optimizer
    assert sum(o.is_failure for o in optimizer.observations) == 1
    assert set(optimizer.outstanding_suggestions) == {trial_id(running.number)}
    study.tell(running, 1.0)
    objective(study.ask())
    assert set(optimizer.outstanding_suggestions) == {trial_id(running.number + 1)}
    assert optimizer.observation_count == 6


def test_a_trial_marked_lost_is_left_out_and_not_learnt_as_a_failure() -> None:
    sampler = CARBSSampler(FAST, seed=0)
    study = study_of_four(sampler)
    marks = {"lost": True, "not_lost": False, "a_string": "yes"}
    numbers = {
        name: fail_a_trial(study, **{LOST_ATTR: mark}).number for name, mark in marks.items()
    }
    optimizer = sampler.sync(study)
    assert optimizer is not None
    failed = {o.suggestion_id for o in optimizer.observations if o.is_failure}
    # Only a True mark drops the trial; anything else is a failure like any other.
    assert failed == {trial_id(numbers["not_lost"]), trial_id(numbers["a_string"])}
    assert optimizer.observation_count == 6 and not optimizer.outstanding_suggestions


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_a_stale_trial_that_optuna_retries_is_not_a_failure() -> None:
    """Optuna's answer to a worker that died (a heartbeat, RetryHeartbeatStaleTrialCallback):
    the stale trial is failed and enqueued again with the same params."""
    sampler = CARBSSampler(FAST, seed=0)
    study = study_of_four(sampler)
    stale = fail_a_trial(study)
    storages = optuna.storages  # the callback's name before Optuna 4.9, and after
    retry = getattr(storages, "RetryHeartbeatStaleTrialCallback", None)
    (retry or storages.RetryFailedTrialCallback)()(study, study.trials[stale.number])
    optimizer = sampler.sync(study)
    assert optimizer is not None
    assert not any(o.is_failure for o in optimizer.observations)
    assert optimizer.observation_count == 4 and not optimizer.outstanding_suggestions
    retry = study.ask()  # the enqueued copy, with the stale trial's params
    assert retry.params == stale.params
    study.tell(retry, objective(retry))
    assert sampler.sync(study).observation_count == 5


def test_the_study_direction_sets_the_better_direction() -> None:
    for direction, sign in (("minimize", -1), ("maximize", 1)):
        study = optuna.create_study(direction=direction, sampler=CARBSSampler(FAST, seed=0))
        study.optimize(objective, n_trials=3)
        assert study.sampler.optimizer.config.better_direction_sign == sign
    with pytest.raises(InvalidConfigError, match="one objective"):
        two = optuna.create_study(directions=["minimize", "minimize"], sampler=CARBSSampler())
        two.optimize(lambda t: (objective(t), 1.0), n_trials=3)


def test_a_config_with_side_effects_is_refused() -> None:
    with pytest.raises(InvalidConfigError, match="storage"):
        CARBSSampler(CARBSParams(is_saved_on_every_observation=True, checkpoint_dir="x"))
    with pytest.raises(InvalidConfigError, match="cost_func"):
        CARBSSampler(cost_func="cost")  # type: ignore[arg-type]
    with pytest.raises(InvalidConfigError, match="search_center must map"):
        CARBSSampler(search_center=[("x", 1.0)])  # type: ignore[arg-type]
    with pytest.raises(InvalidConfigError, match="search_space must map"):  # was "param 'l'"
        CARBSSampler(search_space=["lr"])  # type: ignore[arg-type]
    with pytest.raises(InvalidConfigError, match="independent_sampler"):
        CARBSSampler(independent_sampler="tpe")  # type: ignore[arg-type]


def test_carbs_learns_the_objective_through_optuna() -> None:
    study = optuna.create_study(sampler=CARBSSampler(seed=0))
    study.optimize(objective, n_trials=30)
    random = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    random.optimize(objective, n_trials=30)
    assert study.best_value < random.best_value


# -- determinism ----------------------------------------------------------------------------------
def test_the_same_seed_and_history_give_the_same_suggestions() -> None:
    def run(seed: int) -> list[dict[str, Any]]:
        study = optuna.create_study(sampler=CARBSSampler(FAST, seed=seed))
        study.optimize(objective, n_trials=8)
        return [t.params for t in study.trials]

    assert run(5) == run(5)
    assert run(5) != run(6)


# -- many processes, one storage ------------------------------------------------------------------
WORKER = textwrap.dedent(
    """
    import json, math, pathlib, sys, time, optuna
    from carbs import CARBSParams
    from carbs.integrations.optuna import CARBSSampler

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    url, folder = sys.argv[1], pathlib.Path(sys.argv[2])
    worker, workers, trials = map(int, sys.argv[3:])
    storage = optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 120}})
    sampler = CARBSSampler(CARBSParams(num_random_samples=4, resample_frequency=0), seed=0)
    study = optuna.load_study(study_name="shared", storage=storage, sampler=sampler)

    def objective(trial):
        lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        width = trial.suggest_int("width", 8, 512, log=True)
        optimizer = sampler.optimizer
        if optimizer is not None:
            trial.set_user_attr("seen_running", sorted(optimizer.outstanding_suggestions))
        trial.set_user_attr("worker", worker)
        trial.set_user_attr("cost", float(width))
        time.sleep(0.2)
        if trial.number % 4 == 1:
            raise RuntimeError("diverged")
        return (math.log10(lr) + 3) ** 2 + 10 / width

    (folder / f"ready-{worker}").touch()  # start together, so that trials overlap
    deadline = time.time() + 120
    while len(list(folder.glob("ready-*"))) < workers and time.time() < deadline:
        time.sleep(0.05)
    study.optimize(objective, n_trials=trials, catch=(RuntimeError,))
    # Wait for every worker's every trial: between two of its trials a worker has none
    # running, so "nothing running" can come before its last trial is even created.
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL)
    deadline = time.time() + 120
    while len(study.get_trials(states=finished)) < workers * trials and time.time() < deadline:
        time.sleep(0.05)
    # One more sync once every trial has finished: what this worker's optimizer knows.
    probe = optuna.trial.create_trial(state=optuna.trial.TrialState.RUNNING)
    space = sampler.infer_relative_search_space(study, probe)
    sampler.sample_relative(study, probe, space)
    observations = sampler.optimizer.observations
    print(json.dumps([len(observations), sum(o.is_failure for o in observations)]))
    """
)


def test_four_processes_share_one_sqlite_study(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    optuna.create_study(study_name="shared", storage=url)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    workers, trials = 4, 6
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), url, str(tmp_path), str(w), str(workers), str(trials)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    known = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
        known.append(json.loads(stdout.splitlines()[-1]))
    study = optuna.load_study(study_name="shared", storage=url)
    all_trials = study.get_trials()
    assert len(all_trials) == workers * trials
    assert sorted(t.number for t in all_trials) == list(range(workers * trials))
    assert Counter(t.user_attrs["worker"] for t in all_trials) == dict.fromkeys(range(4), trials)
    failures = sum(t.state == TrialState.FAIL for t in all_trials)
    assert failures == sum(t.number % 4 == 1 for t in all_trials)
    # Every worker has every trial of every worker, failures included.
    assert known == [[workers * trials, failures]] * workers
    points = [(t.params["lr"], t.params["width"]) for t in all_trials]
    assert len(set(points)) == len(points)
    assert any(t.user_attrs.get("seen_running") for t in all_trials), (
        "no worker ever saw another worker's running trial"
    )
    frame = study.trials_dataframe()
    assert len(frame) == workers * trials and "params_lr" in frame.columns
    if importlib.util.find_spec("plotly") is not None:
        optuna.visualization.plot_optimization_history(study)


def test_carbs_own_spaces_drive_the_study_through_their_distributions() -> None:
    from carbs import FixedSpace, LogitSpace, Param
    from carbs.integrations.optuna_space import distributions_from_params

    params = [
        Param("momentum", LogitSpace(min=0.5, max=0.999), search_center=0.9),
        Param("batch", OrdinalSpace(values=[16, 32, 64, 128]), search_center=32),
        Param("width", LogSpace(min=8, max=512, is_integer=True, rounding_factor=8), 64),
        Param("seed", FixedSpace(), search_center=7),
    ]
    distributions = distributions_from_params(params)
    assert distributions == {
        "momentum": FloatDistribution(0.5, 0.999),
        "batch": CategoricalDistribution([16, 32, 64, 128]),
        "width": IntDistribution(8, 512, step=8),
    }
    sampler = CARBSSampler(CARBSParams(num_random_samples=4), seed=0, params=params)
    study = optuna.create_study(sampler=sampler)
    for _ in range(10):
        trial = study.ask(distributions)
        momentum, batch, width = (trial.params[k] for k in ("momentum", "batch", "width"))
        trial.set_user_attr("cost", float(width * batch))
        study.tell(trial, (math.log10(1 - momentum) + 1.5) ** 2 + 1 / width)
    assert sampler.optimizer is not None and sampler.optimizer.observation_count == 9
    centre = study.trials[0].params  # carbs chose it: near the centre, on the lattice
    assert centre["width"] % 8 == 0 and centre["batch"] in (16, 32, 64, 128)
    with pytest.raises(InvalidConfigError, match="not both"):
        CARBSSampler(params=params, search_center={"batch": 32})
    with pytest.raises(InvalidParamError, match="finite bounds"):
        distributions_from_params([Param("x", LinearSpace(), 0.0)])


def test_one_sampler_keeps_two_studies_apart() -> None:
    sampler = CARBSSampler(FAST, seed=0)
    first = optuna.create_study(study_name="first", sampler=sampler)
    first.optimize(objective, n_trials=5)
    second = optuna.create_study(study_name="second", sampler=sampler)
    second.optimize(objective, n_trials=3)
    assert sampler.optimizer is not None and sampler.optimizer.observation_count == 2


@pytest.mark.parametrize("sampler_per", ["trial", "worker"])
def test_workers_that_share_a_study_resample_at_the_sequential_pace(sampler_per: str) -> None:
    """Resample turns are read from the trials, not counted by each sampler: samplers
    that share a study (one per worker, or a fresh one per ask as the CLI makes) repeat
    a front member once every ``resample_frequency`` successes in all, as one would."""
    noise = np.random.default_rng(0)
    config = CARBSParams(num_random_samples=3, num_candidates_for_suggestion_per_dim=20)
    workers = [CARBSSampler(config, seed=1), CARBSSampler(config, seed=1)]
    study = optuna.create_study(sampler=workers[0])
    for number in range(21):
        if sampler_per == "trial":
            study.sampler = CARBSSampler(config, seed=1)
        else:
            study.sampler = workers[number % 2]
        trial = study.ask({"lr": FloatDistribution(1e-5, 1e-1, log=True)})
        trial.set_user_attr("cost", 1.0 + number)
        study.tell(trial, (math.log10(trial.params["lr"]) + 3) ** 2 + 0.3 * noise.normal())
    values = [t.params["lr"] for t in study.trials]
    repeats = len(values) - len(set(values))
    # Turns come after successes 6, 11 and 16 (and 21, the last trial's own count).
    assert 2 <= repeats <= 3


def test_a_study_of_several_objectives_is_refused_from_the_first_trial() -> None:
    # The first trial ran in full (its search space is empty) and sync() raised Optuna's
    # RuntimeError.
    sampler = CARBSSampler(FAST, seed=0)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    trial = study.ask()
    with pytest.raises(InvalidConfigError, match="one objective"):
        trial.suggest_float("x", 0.0, 1.0)
    with pytest.raises(InvalidConfigError, match="one objective"):
        sampler.sync(study)
