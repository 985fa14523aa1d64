"""CARBSSearcher: Tune param spaces, costs, failures, concurrency, JSON checkpoints, and a
real local Tuner running trials concurrently."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("ray.tune")

from ray import tune

from carbs import (
    CARBS,
    CARBSParams,
    CategoricalSpace,
    FixedSpace,
    InvalidConfigError,
    InvalidParamError,
    InvalidSpaceError,
    LinearSpace,
    LogSpace,
    ObservationInParam,
    OrdinalSpace,
    StateError,
)
from carbs.integrations.ray import CARBSSearcher, params_from_tune_space

SPACE = {
    "lr": tune.loguniform(1e-5, 1e-1),
    "model": {"width": tune.lograndint(8, 512), "layers": tune.randint(1, 8)},
    "act": tune.choice(["relu", "tanh"]),
    "drop": tune.quniform(0.0, 0.5, 0.25),
    "batch": tune.qrandint(16, 256, 16),
    "x": tune.uniform(-1.0, 2.0),
    "epochs": 3,
}
FAST = CARBSParams(num_random_samples=2, resample_frequency=0)


def loss(config: dict[str, Any]) -> float:
    return (math.log10(config["lr"]) + 3) ** 2 + 10 / config["model"]["width"]


def test_tune_domains_map_onto_carbs_spaces() -> None:
    params = {p.name: p for p in params_from_tune_space(SPACE, {"lr": 3e-4})}
    assert isinstance(params["lr"].space, LogSpace) and params["lr"].search_center == 3e-4
    width = params["model/width"].space
    assert isinstance(width, LogSpace) and width.is_integer and (width.min, width.max) == (8, 511)
    layers = params["model/layers"].space
    assert isinstance(layers, LinearSpace) and (layers.min, layers.max) == (1, 7)
    assert isinstance(params["act"].space, CategoricalSpace)
    drop = params["drop"].space
    assert isinstance(drop, OrdinalSpace) and drop.values == (0.0, 0.25, 0.5)
    batch = params["batch"].space
    assert isinstance(batch, LinearSpace) and batch.rounding_factor == 16 and batch.max == 256
    hidden = params_from_tune_space({"h": tune.qlograndint(24, 1000, 16)})[0]
    assert isinstance(hidden.space, LogSpace) and hidden.space.rounding_factor == 16
    # Tune draws the multiples of 16 in [32, 992]: sqrt(32 * 992) = 178
    assert hidden.space.is_integer and hidden.search_center == 176
    assert isinstance(params["x"].space, LinearSpace) and params["x"].search_center == 0.5
    assert isinstance(params["epochs"].space, FixedSpace) and params["epochs"].search_center == 3
    with pytest.raises(InvalidParamError, match="grid_search"):
        params_from_tune_space({"a": tune.grid_search([1, 2])})
    with pytest.raises(InvalidParamError, match="cannot model"):
        params_from_tune_space({"a": tune.randn(0, 1)})
    with pytest.raises(InvalidParamError, match="typo"):
        params_from_tune_space(SPACE, {"typo": 1})
    with pytest.raises(InvalidSpaceError, match=r"param 'model/shape': CategoricalSpace"):
        params_from_tune_space({"model": {"shape": tune.choice([(1, 2), (3, 4)])}})


@pytest.mark.parametrize(
    ("domain", "tune_values"),
    [
        (tune.qrandint(1, 10, 3), {3, 6, 9}),  # carbs searched 1, 4, 7, 10
        (tune.qrandint(-7, 12, 5), {-5, 0, 5, 10}),
        (tune.qlograndint(5, 50, 10), {10, 20, 30, 40, 50}),
    ],
)
def test_a_quantized_tune_integer_is_searched_on_tunes_own_multiples(
    domain: Any, tune_values: set[int]
) -> None:
    (param,) = params_from_tune_space({"n": domain})
    drawn = {int(domain.sample(random_state=seed)) for seed in range(400)}
    assert drawn == tune_values  # what Tune itself draws
    optimizer = CARBS(CARBSParams(seed=0, num_random_samples=4), [param])
    suggested = set()
    for _ in range(12):
        out = optimizer.suggest()
        suggested.add(out.params["n"])
        optimizer.observe(ObservationInParam(out.suggestion, output=0.0, cost=1.0))
    assert suggested <= tune_values and len(suggested) > 1
    for value in tune_values:
        optimizer.search_space.validate_param_dict({"n": value})


def test_a_quantized_tune_range_without_two_multiples_is_refused() -> None:
    with pytest.raises(InvalidSpaceError, match=r"param 'n': .*fewer than two multiples of"):
        params_from_tune_space({"n": tune.qrandint(1, 5, 4)})


def searcher(**kwargs: Any) -> CARBSSearcher:
    settings: dict[str, Any] = dict(
        metric="loss", mode="min", cost_metric="flops", config=FAST, seed=0
    )
    settings.update(kwargs)
    return CARBSSearcher(SPACE, **settings)


def test_suggest_and_complete_record_outputs_costs_and_failures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    search = searcher()
    configs = {f"t{i}": search.suggest(f"t{i}") for i in range(4)}
    assert all(
        c is not None and c["epochs"] == 3 and "width" in c["model"] for c in configs.values()
    )
    assert len({json.dumps(c, sort_keys=True) for c in configs.values()}) == 4
    optimizer = search.optimizer
    assert optimizer is not None and set(optimizer.outstanding_suggestions) == set(configs)
    config = configs["t0"]
    assert config is not None
    search.on_trial_complete("t0", {"loss": loss(config), "flops": 123.0})
    search.on_trial_complete("t1", None, error=True)
    with caplog.at_level("WARNING", logger="carbs.integrations.ray"):
        search.on_trial_complete("t2", {"loss": 1.0})  # no cost reported
    assert "no 'flops'" in caplog.text
    search.on_trial_complete("t3", {"loss": float("nan"), "flops": 5.0})
    observed = optimizer.observations
    assert [o.is_failure for o in observed] == [False, True, False, True]
    assert observed[0].cost == 123.0 and observed[0].output == pytest.approx(loss(config))
    assert 0 < observed[2].cost < 60  # the seconds since it was suggested
    assert not optimizer.outstanding_suggestions
    search.on_trial_complete("unknown", {"loss": 1.0, "flops": 1.0})  # ignored
    assert optimizer.observation_count == 4


def test_a_metric_that_is_no_number_is_a_failure_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A loss reported as a tensor was recorded as a failure without a word.
    search = searcher()
    for trial_id in ("t0", "t1"):
        search.suggest(trial_id)
    with caplog.at_level("WARNING", logger="carbs.integrations.ray"):
        search.on_trial_complete("t0", {"loss": np.array([0.5]), "flops": 3.0})
        assert "'loss' = array([0.5]), not a real number" in caplog.text
        caplog.clear()
        search.on_trial_complete("t1", {"loss": math.inf, "flops": 3.0})  # diverged: no warning
        assert caplog.text == ""
    optimizer = search.optimizer
    assert optimizer is not None
    assert [o.is_failure for o in optimizer.observations] == [True, True]


def test_metrics_computed_with_numpy_are_numbers() -> None:
    # np.float32 is no Python float: a loss averaged with numpy was recorded as a failure.
    search = searcher()
    configs = {f"t{i}": search.suggest(f"t{i}") for i in range(3)}
    search.on_trial_complete("t0", {"loss": np.float32(0.25), "flops": np.int64(100)})
    search.on_trial_complete("t1", {"loss": np.float16(0.5), "flops": np.float32(7.0)})
    search.on_trial_complete("t2", {"loss": True, "flops": 10**400})
    optimizer = search.optimizer
    assert optimizer is not None and len(configs) == 3
    observed = optimizer.observations
    assert [o.is_failure for o in observed] == [False, False, True]
    assert (observed[0].output, observed[0].cost) == (0.25, 100.0)
    assert (observed[1].output, observed[1].cost) == (0.5, 7.0)
    assert 0 < observed[2].cost < 60  # no usable cost: the seconds since it was suggested


def test_mode_sets_the_direction_and_a_missing_setting_is_a_clear_error() -> None:
    assert searcher(mode="max").optimizer.config.better_direction_sign == 1  # type: ignore[union-attr]
    assert searcher().optimizer.config.better_direction_sign == -1  # type: ignore[union-attr]
    with pytest.raises(InvalidConfigError, match="metric and a mode"):
        CARBSSearcher(SPACE).suggest("t0")
    with pytest.raises(InvalidConfigError, match="mode"):
        CARBSSearcher(SPACE, metric="loss", mode="lowest")
    with pytest.raises(InvalidConfigError, match="checkpoints CARBSSearcher"):
        CARBSSearcher(
            SPACE, config=CARBSParams(is_saved_on_every_observation=True, checkpoint_dir="x")
        )
    with pytest.raises(InvalidConfigError, match="max_concurrent"):
        CARBSSearcher(SPACE, max_concurrent=True)  # type: ignore[arg-type]
    assert searcher(max_concurrent=np.int64(1)).suggest("t1") is not None
    for cost_metric in ("", None, 3):  # every trial's cost would be the wall-clock time
        with pytest.raises(InvalidConfigError, match="cost_metric"):
            CARBSSearcher(SPACE, metric="loss", mode="min", cost_metric=cost_metric)  # type: ignore[arg-type]
    with pytest.raises(InvalidConfigError, match="metric"):
        CARBSSearcher(SPACE, metric=["loss"], mode="min")  # type: ignore[arg-type]
    with pytest.raises(InvalidConfigError, match="search_center must map"):
        CARBSSearcher(SPACE, metric="loss", mode="min", search_center=[1e-3])  # type: ignore[arg-type]


def test_a_refused_search_property_or_concurrency_changes_nothing() -> None:
    # set_search_properties set the metric and mode before refusing the mode, so a
    # retry kept failing; set_max_concurrency took -1 (never suggest) and "2".
    search = CARBSSearcher(SPACE)
    with pytest.raises(InvalidConfigError, match="mode"):
        search.set_search_properties("loss", "maximize", {})
    assert search.set_search_properties("loss", "min", {})
    assert search.optimizer is not None and search.suggest("t0") is not None
    for bad in (-1, "2", True):
        with pytest.raises(InvalidConfigError, match="max_concurrent"):
            search.set_max_concurrency(bad)  # type: ignore[arg-type]
    assert search.set_max_concurrency(1) and search.suggest("t1") is None


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"betas": (0.9, 0.999)}, "'betas': CARBSSearcher takes no list or tuple"),
        ({"layers": [tune.choice([32, 64])]}, "'layers': CARBSSearcher takes no list"),
        ({"opt": {"a/b": tune.uniform(0, 1)}}, "key 'a/b' \\(in opt/\\)"),
        ({1: tune.uniform(0, 1)}, "key 1"),
    ],
)
def test_a_tune_space_the_names_cannot_carry_is_refused_by_name(
    space: dict[Any, Any], message: str
) -> None:
    # A list or a non-string key raised TypeError; a '/' in a key came back to the
    # trainable as a nested dict, or dropped a searched param.
    with pytest.raises(InvalidParamError, match=message):
        CARBSSearcher({"lr": tune.loguniform(1e-4, 1e-1), **space}, metric="loss", mode="min")


def test_a_trial_asked_for_twice_gets_the_same_params_once() -> None:
    search = searcher()
    first = search.suggest("t0")
    assert search.suggest("t0") == first
    assert search.optimizer is not None and list(search.optimizer.outstanding_suggestions) == ["t0"]


def test_max_concurrent_holds_back_suggestions() -> None:
    search = searcher(max_concurrent=2)
    assert search.suggest("a") is not None and search.suggest("b") is not None
    assert search.suggest("c") is None
    search.on_trial_complete("a", {"loss": 1.0, "flops": 1.0})
    assert search.suggest("c") is not None


def test_a_checkpoint_is_json_and_resumes_exactly(tmp_path: Path) -> None:
    original = searcher()
    for i in range(4):
        config = original.suggest(f"t{i}")
        assert config is not None
        original.on_trial_complete(f"t{i}", {"loss": loss(config), "flops": 10.0 * (i + 1)})
    running = original.suggest("t4")
    path = tmp_path / "searcher.json"
    original.save(str(path))
    saved = json.loads(path.read_text())
    assert saved["format"] == 1 and list(saved["running"]) == ["t4"]
    restored = CARBSSearcher(SPACE, metric="loss", mode="min", cost_metric="flops")
    restored.restore(str(path))
    assert restored.suggest("t5") == original.suggest("t5")
    assert running is not None
    restored.on_trial_complete("t4", {"loss": loss(running), "flops": 50.0})
    assert restored.optimizer is not None and restored.optimizer.observation_count == 5
    path.write_text(json.dumps({"format": 99}))
    with pytest.raises(StateError, match="format"):
        restored.restore(str(path))


def corrupt_checkpoint(state: dict[str, Any], case: str) -> None:
    running = state["running"]["t2"]
    if case == "running not a dict":
        state["running"]["t2"] = 1.5
    elif case == "param out of range":
        running["lr"] = 5.0
    elif case == "id of another trial":
        running["suggestion_uuid"] = "t9"
    elif case == "stopping not a list":
        state["stopping"] = 0
    elif case == "metric not a name":
        state["metric"] = {"a": 1}
    elif case == "unknown mode":
        state["mode"] = "up"
    elif case == "carbs not an object":
        state["carbs"] = []
    elif case == "no mode":
        del state["mode"]
    elif case == "unknown key":
        state["note"] = "hand edited"
    elif case == "running but not outstanding":  # taken; its first decision raised
        del state["carbs"]["outstanding_suggestions"]["t2"]


@pytest.mark.parametrize(
    "case",
    [
        "running not a dict",
        "param out of range",
        "id of another trial",
        "stopping not a list",
        "metric not a name",
        "unknown mode",
        "carbs not an object",
        "no mode",
        "unknown key",
        "running but not outstanding",
    ],
)
def test_a_malformed_checkpoint_is_a_state_error_and_changes_nothing(
    tmp_path: Path, case: str
) -> None:
    # Each raised TypeError or KeyError from inside Tune's restore (or was taken and failed
    # at the trial's end), some after the searcher had already changed.
    original = searcher()
    for i in range(3):
        original.suggest(f"t{i}")
    original.on_trial_complete("t0", {"loss": 1.0, "flops": 5.0})
    state = json.loads(json.dumps(original.get_state()))
    corrupt_checkpoint(state, case)
    path = tmp_path / "searcher.json"
    path.write_text(json.dumps(state))
    other = searcher(seed=1)
    other.suggest("x0")
    before = other.get_state()
    with pytest.raises(StateError):
        other.restore(str(path))
    assert other.get_state() == before


def test_a_falling_cost_is_not_recorded_and_says_why(caplog: pytest.LogCaptureFixture) -> None:
    # Dropped without a word: later decisions read the stale report.
    search = searcher()
    search.suggest("t0")
    search.on_trial_result("t0", {"loss": 2.0, "flops": 5.0})
    with caplog.at_level("WARNING", logger="carbs.integrations.ray"):
        search.on_trial_result("t0", {"loss": 2.0, "flops": 5.0})  # the same result again
        assert caplog.text == ""
        search.on_trial_result("t0", {"loss": 1.0, "flops": 4.0})
    assert "'flops' fell from 5 to 4" in caplog.text
    assert search.get_state()["carbs"]["curves"]["t0"]["costs"] == [5.0]


def test_a_checkpoint_whose_running_trial_has_an_empty_curve_restores() -> None:
    # The carbs state takes a curve without reports; the searcher raised IndexError on it.
    original = searcher()
    original.suggest("t0")
    original.on_trial_result("t0", {"loss": 2.0, "flops": 3.0})
    state = json.loads(json.dumps(original.get_state()))
    state["carbs"]["curves"]["t0"].update(costs=[], outputs=[])
    restored = searcher(seed=1)
    restored.set_state(state)
    restored.on_trial_result("t0", {"loss": 1.5, "flops": 4.0})  # reported afresh
    assert restored.get_state()["carbs"]["curves"]["t0"]["costs"] == [4.0]


def test_a_real_tuner_runs_concurrent_trials(tmp_path: Path) -> None:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    try:

        def trainable(config: dict[str, Any]) -> None:  # self-contained: runs in Ray workers
            import math

            from ray import tune

            width = config["model"]["width"]
            if config["act"] == "tanh" and config["lr"] > 3e-3:
                raise RuntimeError("diverged")
            value = (math.log10(config["lr"]) + 3) ** 2 + 10 / width
            tune.report({"loss": value, "flops": float(width)})

        search = searcher(max_concurrent=2)
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(num_samples=6, search_alg=search),
            run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0),
        )
        results = tuner.fit()
    finally:
        ray.shutdown()
    assert len(results) == 6
    optimizer = search.optimizer
    assert optimizer is not None and optimizer.observation_count == 6
    assert sum(o.is_failure for o in optimizer.observations) == results.num_errors
    finished = [r for r in results if r.error is None]
    widths = sorted(float(r.config["model"]["width"]) for r in finished)
    costs = sorted(o.cost for o in optimizer.observations if not o.is_failure)
    assert widths == costs
    assert len({json.dumps(r.config, sort_keys=True) for r in results}) == 6


def test_results_are_reported_and_a_trial_told_to_stop_is_recorded_as_stopped() -> None:
    from carbs.integrations.ray import CARBSStopper

    search = CARBSSearcher(
        params=[lr_param()], metric="loss", mode="min", cost_metric="flops", seed=0
    )
    stopper = CARBSStopper(search)
    for index in range(5):
        config = search.suggest(f"done{index}")
        assert config is not None
        final = (math.log10(config["lr"]) + 3) ** 2
        for step in range(1, 10):
            result = {"loss": final + 1 - step / 10, "flops": float(step)}
            assert stopper(f"done{index}", result) is False  # fewer than 5 completed curves
            search.on_trial_result(f"done{index}", result)  # Tune's own call: not twice
        search.on_trial_complete(f"done{index}", {"loss": final, "flops": 10.0})
    optimizer = search.optimizer
    assert optimizer is not None
    assert [len(c) for c in optimizer.to_dataframe()["curve"]] == [9] * 5
    search.suggest("bad")
    step, stopped = 0, False
    while not stopped and step < 9:
        step += 1
        stopped = stopper("bad", {"loss": 50.0 - step / 10, "flops": float(step)})
    assert stopped and step >= 2
    search.on_trial_complete("bad", {"loss": 50.0 - step / 10, "flops": float(step)})
    (record,) = optimizer.stopped_observations
    assert record.cost == float(step) and record.output == 50.0 - step / 10
    assert optimizer.observation_count == 6 and not optimizer.outstanding_suggestions
    with pytest.raises(InvalidConfigError, match="CARBSSearcher"):
        CARBSStopper("searcher")  # type: ignore[arg-type]


@pytest.mark.parametrize("diverged", [math.nan, np.float32("inf"), -math.inf])
def test_a_diverged_trial_is_stopped_and_recorded_as_a_failure(
    diverged: float, tmp_path: Path
) -> None:
    """A NaN or infinite metric stops the trial at once (no curve has completed), across a
    checkpoint, and the trial is a failure even if Tune's last result was finite."""
    from carbs.integrations.ray import CARBSStopper

    search = CARBSSearcher(
        params=[lr_param()], metric="loss", mode="min", cost_metric="flops", seed=0
    )
    assert search.suggest("run") is not None
    stopper = CARBSStopper(search)
    assert stopper("run", {"loss": 2.0, "flops": 1.0}) is False
    assert stopper("run", {"loss": diverged, "flops": 2.0}) is True
    assert "diverged" in search.should_stop("run").reason
    search.save(str(tmp_path / "searcher.json"))
    resumed = CARBSSearcher(params=[lr_param()], metric="loss", mode="min", cost_metric="flops")
    resumed.restore(str(tmp_path / "searcher.json"))
    assert resumed.should_stop("run").should_stop
    resumed.on_trial_complete("run", {"loss": 2.0, "flops": 2.0})
    optimizer = resumed.optimizer
    assert optimizer is not None
    (failure,) = optimizer.failure_observations
    assert failure.cost == 2.0 and not optimizer.stopped_observations


def lr_param() -> Any:
    from carbs import Param

    return Param("lr", LogSpace(min=1e-6, max=1.0), search_center=1e-3)


def test_a_real_tuner_stops_trials_with_the_carbs_stopper(tmp_path: Path) -> None:
    import ray

    from carbs.integrations.ray import CARBSStopper

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    try:

        def trainable(config: dict[str, Any]) -> None:  # self-contained: runs in Ray workers
            import math

            from ray import tune

            final = (math.log10(config["lr"]) + 3) ** 2
            for step in range(1, 11):
                tune.report({"loss": final + 1 - step / 10, "flops": float(step)})

        search = CARBSSearcher(
            params=[lr_param()],
            metric="loss",
            mode="min",
            cost_metric="flops",
            config=CARBSParams(initial_search_radius=1.5, resample_frequency=0),
            seed=0,
            max_concurrent=2,
        )
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(num_samples=14, search_alg=search),
            run_config=tune.RunConfig(
                storage_path=str(tmp_path), verbose=0, stop=CARBSStopper(search)
            ),
        )
        results = tuner.fit()
    finally:
        ray.shutdown()
    optimizer = search.optimizer
    assert optimizer is not None and optimizer.observation_count == 14
    ended_early = sorted(
        float(r.metrics["flops"]) for r in results if r.metrics["training_iteration"] < 10
    )
    stopped = sorted(o.cost for o in optimizer.stopped_observations)
    assert stopped == ended_early and len(stopped) >= 1
