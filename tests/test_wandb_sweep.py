"""The W&B sweep steering, with W&B's API faked at its boundary (``wandb.Api().sweep(path)``
with ``.config`` and ``.runs``, and a run's ``config.update``): sweeps need a W&B server,
which these tests cannot reach."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import pytest

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
)
from carbs.integrations.wandb_sweep import (
    SweepRun,
    SweepSteering,
    params_from_sweep_config,
    steer,
)

NOW = 1_800_000_000.0
SWEEP_CONFIG = {
    "method": "random",
    "metric": {"name": "val_loss", "goal": "minimize"},
    "parameters": {
        "lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1},
        "width": {"distribution": "int_uniform", "min": 8, "max": 512},
        "drop": {"distribution": "q_uniform", "min": 0.0, "max": 0.5, "q": 0.25},
        "act": {"values": ["relu", "tanh"]},
        "epochs": {"value": 3},
    },
}


def run(run_id: str, state: str, lr: float, width: int, **summary: Any) -> SimpleNamespace:
    heartbeat = summary.pop("heartbeat", "2027-01-15T08:00:00")
    config = {"lr": lr, "width": width, "drop": 0.25, "act": "relu", "epochs": 3}
    return SimpleNamespace(
        id=run_id, state=state, config=config, summary=summary, heartbeatAt=heartbeat
    )


class FakeApi:
    def __init__(self, runs: list[SimpleNamespace], config: dict[str, Any] = SWEEP_CONFIG):
        self.sweep_config, self.runs, self.paths = config, runs, []

    def sweep(self, path: str) -> SimpleNamespace:
        self.paths.append(path)
        return SimpleNamespace(config=self.sweep_config, runs=self.runs)


def loss(lr: float, width: int) -> float:
    return (math.log10(lr) + 3) ** 2 + 10 / width


RUNS = [
    run("a1", "finished", 1e-3, 64, val_loss=loss(1e-3, 64), flops=64.0, _runtime=5.0),
    run("a2", "finished", 3e-4, 128, val_loss=loss(3e-4, 128), flops=128.0, _runtime=9.0),
    run("a3", "crashed", 5e-2, 32, _runtime=2.0),
    run("a4", "running", 2e-3, 256, heartbeat=NOW - 30),  # alive
    run("a5", "running", 1e-4, 16, heartbeat=NOW - 3600, _runtime=40.0),  # silent crash
    run("a6", "finished", 1e-3, 100, val_loss=float("nan"), flops=100.0, _runtime=3.0),
    SimpleNamespace(id="old", state="finished", config={"lr": 1e-3}, summary={}, heartbeatAt=None),
    run("bad", "finished", 5.0, 64, val_loss=1.0, flops=1.0, _runtime=1.0),  # lr out of range
    run("a7", "killed", 2e-2, 8, _runtime=7.0),  # stopped by hand: not its params' fault
    run("a8", "preempted", 3e-2, 16, _runtime=6.0),
]


def test_sweep_parameters_map_onto_carbs_spaces() -> None:
    params = {p.name: p for p in params_from_sweep_config(SWEEP_CONFIG, {"lr": 3e-4})}
    assert isinstance(params["lr"].space, LogSpace) and params["lr"].search_center == 3e-4
    width = params["width"].space
    assert isinstance(width, LinearSpace) and width.is_integer and width.max == 512
    assert isinstance(params["drop"].space, OrdinalSpace)
    assert params["drop"].space.values == (0.0, 0.25, 0.5)
    assert isinstance(params["act"].space, CategoricalSpace)
    assert isinstance(params["epochs"].space, FixedSpace)
    for bad in (
        {"distribution": "normal", "mu": 0, "sigma": 1},
        {"min": 1},
        {"parameters": {"a": {"value": 1}}},
    ):
        with pytest.raises(InvalidParamError, match="x"):
            params_from_sweep_config({"parameters": {"x": bad}})
    with pytest.raises(InvalidParamError, match="typo"):
        params_from_sweep_config(SWEEP_CONFIG, {"typo": 1})


@pytest.mark.parametrize(
    ("spec", "error", "message"),
    [
        # W&B distributions of a range that carbs does not model were read as uniform.
        ({"min": 1e-3, "max": 1.0, "distribution": "inv_log_uniform_values"}, "param", "x"),
        ({"min": 0.0, "max": 1.0, "distribution": "beta"}, "param", "x"),
        # A string of values was split into its characters, a dict into its keys.
        ({"values": "abc"}, "space", "choices must be a list"),
        ({"values": {"a": 1, "b": 2}}, "space", "choices must be a list"),
        # Bad bounds and steps failed with a TypeError, a ZeroDivisionError or a
        # message about the scale.
        ({"min": 5, "max": 1}, "space", r"\[5, 1\] must have low < high"),
        ({"min": "1", "max": 2}, "space", "low end must be a real number"),
        ({"min": 0.0, "max": 2.0, "distribution": "q_uniform", "q": 0}, "space", "step"),
        ({"min": 0.0, "max": 2.0, "distribution": "q_uniform", "q": "x"}, "space", "step"),
        ({"min": 1, "max": 9, "distribution": "q_log_uniform_values", "q": True}, "space", "step"),
        ({"min": 1, "max": 9, "distribution": "q_log_uniform_values", "q": -2}, "space", "step"),
        (
            {"min": 1, "max": 7, "distribution": "q_log_uniform_values", "q": 8},
            "space",
            "no multiple",
        ),
        # W&B's schema refuses them; carbs searched the integers between the bounds.
        ({"min": 1.5, "max": 10.5, "distribution": "int_uniform"}, "space", "integer min"),
        ({"min": 1, "max": 10.0, "distribution": "int_uniform"}, "space", "integer min"),
        ({"min": False, "max": True, "distribution": "int_uniform"}, "space", "integer min"),
        # A lattice of 5e299 values filled the memory.
        ({"min": 0.0, "max": 1e300, "distribution": "q_uniform", "q": 2}, "space", "more than"),
        # Taken as a lattice factor too large for torch: suggest() raised OverflowError.
        (
            {"min": 2, "max": 1e300, "distribution": "q_log_uniform_values", "q": 1e30},
            "space",
            "rounding_factor",
        ),
        # Integers beyond 2**53 came back off the lattice, and were then refused as input.
        (
            {"min": 3, "max": 10**18, "distribution": "q_log_uniform_values", "q": 3},
            "space",
            r"2\*\*53",
        ),
    ],
)
def test_a_sweep_parameter_carbs_cannot_model_is_refused_by_name(
    spec: dict[str, Any], error: str, message: str
) -> None:
    kind = InvalidParamError if error == "param" else InvalidSpaceError
    with pytest.raises(kind, match=message) as raised:
        params_from_sweep_config({"parameters": {"x": spec}})
    assert "'x'" in str(raised.value)


def test_a_single_value_list_is_a_constant() -> None:
    (param,) = params_from_sweep_config({"parameters": {"x": {"values": [3]}}})
    assert isinstance(param.space, FixedSpace) and param.search_center == 3


@pytest.mark.parametrize(
    ("spec", "lattice", "center"),
    [
        ({"min": 32, "max": 256, "q": 8}, 8, 88),  # sqrt(32 * 256) = 90.5
        ({"min": 30, "max": 100, "q": 8}, 8, 56),  # the multiples of 8 inside [30, 100]
        ({"min": 1, "max": 1000}, 1, 32),  # q is 1 by default: integers
        ({"min": 16.0, "max": 1024.0, "q": 16.0}, 16, 128),
    ],
)
def test_q_log_uniform_values_suggests_multiples_of_q(
    spec: dict[str, Any], lattice: int, center: int
) -> None:
    config = {"parameters": {"width": {"distribution": "q_log_uniform_values", **spec}}}
    (param,) = params_from_sweep_config(config)
    assert isinstance(param.space, LogSpace) and param.space.is_integer
    assert param.space.rounding_factor == lattice and param.search_center == center
    optimizer = CARBS(CARBSParams(seed=0, num_random_samples=3), [param])
    for _ in range(6):
        out = optimizer.suggest()
        width = out.params["width"]
        assert isinstance(width, int) and width % lattice == 0
        assert spec["min"] <= width <= spec["max"]
        optimizer.observe(ObservationInParam(out.suggestion, output=1.0 / width, cost=width))


def test_a_q_uniform_without_q_steps_by_one_as_wandb_does() -> None:
    # It became a continuous range, and carbs suggested values such as 5.207.
    (param,) = params_from_sweep_config(
        {"parameters": {"x": {"distribution": "q_uniform", "min": 0, "max": 10}}}
    )
    assert isinstance(param.space, OrdinalSpace)
    assert list(param.space.values) == list(range(11))


@pytest.mark.parametrize(
    ("spec", "values"),
    [
        # W&B draws round(X / q) * q; carbs searched 1, 4, 7, 10 and 0.05, 0.15, ...
        ({"min": 1, "max": 10, "q": 3}, [3, 6, 9]),
        ({"min": 0.05, "max": 0.5, "q": 0.1}, [0.1, 0.2, 0.3, 0.4, 0.5]),
        ({"min": -1.0, "max": 1.0, "q": 0.5}, [-1.0, -0.5, 0.0, 0.5, 1.0]),
    ],
)
def test_a_q_uniform_searches_the_multiples_of_q_inside_the_range(
    spec: dict[str, Any], values: list[float]
) -> None:
    (param,) = params_from_sweep_config(
        {"parameters": {"x": {"distribution": "q_uniform", **spec}}}
    )
    assert isinstance(param.space, OrdinalSpace)
    assert list(param.space.values) == pytest.approx(values, abs=1e-12)
    assert param.search_center == pytest.approx(values[(len(values) - 1) // 2])


def test_a_q_uniform_without_two_multiples_of_q_is_refused() -> None:
    spec = {"distribution": "q_uniform", "min": 1, "max": 5, "q": 4}
    with pytest.raises(InvalidSpaceError, match=r"'x'.*fewer than two multiples"):
        params_from_sweep_config({"parameters": {"x": spec}})


def test_a_fractional_q_log_uniform_q_is_searched_continuously() -> None:
    spec = {"distribution": "q_log_uniform_values", "min": 0.01, "max": 1.0, "q": 0.05}
    (param,) = params_from_sweep_config({"parameters": {"p": spec}})
    assert isinstance(param.space, LogSpace) and not param.space.is_integer
    assert param.search_center == pytest.approx(0.1)


def test_runs_become_observations_failures_and_outstanding_suggestions() -> None:
    api = FakeApi(RUNS)
    steering = SweepSteering("me/proj/abc", cost_metric="flops", api=api, config=CARBSParams())
    optimizer = steering.optimizer(exclude="a6", now=NOW)
    assert api.paths == ["me/proj/abc"]
    observed = {o.suggestion_id: o for o in optimizer.observations}
    assert set(observed) == {"a1", "a2", "a3", "a5"}
    assert not observed["a1"].is_failure and observed["a1"].cost == 64.0
    assert observed["a1"].output == pytest.approx(loss(1e-3, 64))
    assert observed["a3"].is_failure and observed["a3"].cost == 2.0  # crashed: its runtime
    assert observed["a5"].is_failure  # running, but its heartbeat stopped an hour ago
    assert list(optimizer.outstanding_suggestions) == ["a4"]
    assert optimizer.config.better_direction_sign == -1
    with_nan = steering.optimizer(now=NOW)
    assert [o.is_failure for o in with_nan.observations if o.suggestion_id == "a6"] == [True]


def test_a_maximised_metric_and_a_missing_metric() -> None:
    config = {**SWEEP_CONFIG, "metric": {"name": "acc", "goal": "maximize"}}
    steering = SweepSteering("p", api=FakeApi(RUNS, config))
    assert steering.optimizer(now=NOW).config.better_direction_sign == 1
    for goal in ("max", "Maximize", None, 1):  # "max" was minimised without a word
        bad_goal = {**SWEEP_CONFIG, "metric": {"name": "acc", "goal": goal}}
        with pytest.raises(InvalidConfigError, match=r"metric\.goal must be .minimize. or"):
            SweepSteering("p", api=FakeApi(RUNS, bad_goal)).optimizer(now=NOW)
    no_metric = {k: v for k, v in SWEEP_CONFIG.items() if k != "metric"}
    with pytest.raises(InvalidConfigError, match="metric"):
        SweepSteering("p", api=FakeApi(RUNS, no_metric)).optimizer(now=NOW)


@pytest.mark.parametrize("stale", [0, -5.0, True, "600", math.nan])
def test_a_bad_staleness_is_refused(stale: Any) -> None:
    with pytest.raises(InvalidConfigError, match="stale_after_s"):
        SweepSteering("p", api=FakeApi(RUNS, SWEEP_CONFIG), stale_after_s=stale)


@pytest.mark.parametrize("cost_metric", ["", None, 3])
def test_a_bad_cost_metric_is_refused(cost_metric: Any) -> None:
    with pytest.raises(InvalidConfigError, match="cost_metric"):
        SweepSteering("p", api=FakeApi(RUNS, SWEEP_CONFIG), cost_metric=cost_metric)
    with pytest.raises(InvalidConfigError, match="search_center must map"):
        SweepSteering("p", api=FakeApi(RUNS, SWEEP_CONFIG), search_center=["lr"])


def test_each_run_gets_its_own_deterministic_suggestion() -> None:
    config = CARBSParams(num_random_samples=2, resample_frequency=0)
    steering = SweepSteering("p", api=FakeApi(RUNS), config=config, seed=4)
    first = steering.suggest("new-1")
    assert first == steering.suggest("new-1")
    assert first != steering.suggest("new-2")
    assert set(first) == {"lr", "width", "drop", "act", "epochs"} and first["epochs"] == 3


def test_steer_replaces_the_run_config() -> None:
    updates: list[tuple[dict[str, Any], bool]] = []
    config = SimpleNamespace(
        update=lambda values, allow_val_change: updates.append((values, allow_val_change))
    )
    this_run = SimpleNamespace(id="new", entity="me", project="proj", sweep_id="abc", config=config)
    api = FakeApi(RUNS)
    params = steer(this_run, api=api, config=CARBSParams(num_random_samples=2))
    assert api.paths == ["me/proj/abc"]
    assert updates == [(params, True)]
    alone = SimpleNamespace(id="x", entity="me", project="proj", sweep_id=None, config=config)
    with pytest.raises(InvalidConfigError, match="sweep_path"):
        steer(alone, api=api)


@pytest.mark.parametrize(
    ("heartbeat", "seconds"),
    [
        ("2027-01-15T08:00:00", 1800000000.0),  # UTC without a zone, as W&B writes it
        ("2027-01-15T08:00:00Z", 1800000000.0),
        (NOW - 30, NOW - 30),
        ("not a time", None),
        (True, None),  # a bool is not a time
        (10**400, None),  # an int past the float range raised OverflowError
        (None, None),
    ],
    ids=["iso", "iso-z", "seconds", "text", "bool", "huge-int", "none"],
)
def test_a_heartbeat_is_read_as_a_time_or_as_unknown(heartbeat: Any, seconds: float | None) -> None:
    read = SweepRun.from_wandb(run("r", "running", 1e-3, 64, heartbeat=heartbeat))
    assert read.heartbeat == seconds


def test_a_bad_metric_name_is_refused_not_read_as_failures() -> None:
    # {"name": None} was taken, and every finished run recorded as a failure.
    for metric in ({"name": None}, {"name": ""}, {"name": 3}, ["name"], {"name": ["val_loss"]}):
        bad = {**SWEEP_CONFIG, "metric": metric}
        with pytest.raises(InvalidConfigError, match="needs a metric"):
            SweepSteering("p", api=FakeApi(RUNS, bad)).optimizer(now=NOW)


def test_a_finished_run_without_the_cost_metric_is_left_out_not_charged_seconds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Charged its _runtime (seconds) beside other runs' FLOPs, it looked 1e10x cheaper.
    runs = [
        run("b1", "finished", 1e-3, 64, val_loss=0.3, flops=1e12, _runtime=60.0),
        run("b2", "finished", 1e-2, 64, val_loss=0.2, _runtime=60.0),
        run("b3", "crashed", 1e-1, 64, _runtime=7.0),  # a crash: charged the time it ran
    ]
    steering = SweepSteering("p", cost_metric="flops", api=FakeApi(runs))
    with caplog.at_level("WARNING", logger="carbs.integrations.wandb_sweep"):
        optimizer = steering.optimizer(now=NOW)
    assert [(o.suggestion_id, o.cost) for o in optimizer.observations] == [
        ("b1", 1e12),
        ("b3", 7.0),
    ]
    assert "run b2 has no 'flops' > 0" in caplog.text


def test_a_run_listed_twice_is_read_once_and_an_unread_heartbeat_is_running() -> None:
    # Two listings of one id with different summaries raised for every agent; a running
    # run whose heartbeat could not be read was recorded as a crash.
    runs = [
        run("c1", "finished", 1e-3, 64, val_loss=0.5, _runtime=5.0),
        run("c1", "finished", 1e-3, 64, val_loss=0.4, _runtime=6.0),
        run("c2", "running", 1e-2, 64, heartbeat="garbage", _runtime=3.0),
    ]
    optimizer = SweepSteering("p", api=FakeApi(runs)).optimizer(now=NOW)
    assert [(o.suggestion_id, o.output) for o in optimizer.observations] == [("c1", 0.4)]
    assert list(optimizer.outstanding_suggestions) == ["c2"]
