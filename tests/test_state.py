"""Saving, loading, resuming and warm starting: the JSON state of :mod:`carbs.state`."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch

from carbs import (
    CARBS,
    SUGGESTION_ID_DICT_KEY,
    CARBSParams,
    CARBSValueError,
    CategoricalSpace,
    InvalidParamError,
    LinearSpace,
    LogitSpace,
    LogSpace,
    ObservationInParam,
    OrdinalSpace,
    OutstandingSuggestionEstimatorEnum,
    Param,
    StateError,
    WandbLoggingParams,
)
from carbs.jsonio import write_atomic
from carbs.state import FORMAT_VERSION, STATE_FILE_NAME

REPO_ROOT = Path(__file__).resolve().parent.parent


def all_space_params() -> list[Param]:
    """One param of every kind of space, including integer ones with a rounding factor."""
    return [
        Param("lr", LogSpace(min=1e-6, max=1.0, scale=0.5), search_center=1e-3),
        Param("width", LogSpace(is_integer=True, min=4, max=1024, rounding_factor=4), 64),
        Param("steps", LogSpace(is_integer=True, min=1, max=4096, base=2.0), search_center=32),
        Param("momentum", LogitSpace(min=0.5, max=0.999), search_center=0.9),
        Param("shift", LinearSpace(scale=2.0), search_center=0.0),
        Param("layers", LinearSpace(is_integer=True, min=2, max=40, rounding_factor=2), 8),
    ]


def config(**kwargs: Any) -> CARBSParams:
    settings: dict[str, Any] = {
        "better_direction_sign": -1,
        "num_candidates_for_suggestion_per_dim": 8,
        "num_random_samples": 3,
        "seed": 7,
    }
    settings.update(kwargs)
    return CARBSParams(**settings)


def loss(suggestion: dict[str, Any]) -> float:
    return (
        (math.log10(suggestion["lr"]) + 3) ** 2
        + 10 / suggestion["width"]
        + 5 / suggestion["steps"]
        + (suggestion["momentum"] - 0.9) ** 2
        + 0.1 * suggestion["shift"] ** 2
        + 1 / suggestion["layers"]
    )


def observation(suggestion: dict[str, Any], index: int) -> ObservationInParam:
    cost = suggestion["width"] * suggestion["steps"] * suggestion["layers"] / 1000
    if index % 5 == 3:
        return ObservationInParam(input=suggestion, output=math.nan, cost=cost, is_failure=True)
    return ObservationInParam(input=suggestion, output=loss(suggestion), cost=cost)


def drive(carbs: CARBS, steps: int) -> None:
    for index in range(steps):
        suggestion = carbs.suggest().suggestion
        carbs.observe(observation(suggestion, index))


def values(suggestion: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in suggestion.items() if k != SUGGESTION_ID_DICT_KEY}


@pytest.fixture(scope="module")
def busy_text() -> str:
    """A serialised optimizer past warm-up, with failures and two outstanding suggestions."""
    carbs = CARBS(config(), all_space_params())
    drive(carbs, 8)
    carbs.suggest(suggestion_id="pending-1")
    carbs.suggest(suggestion_id="pending-2")
    return carbs.serialize()


# -- round trips ---------------------------------------------------------------------------------
def test_round_trip_keeps_the_state_and_the_next_suggestions(busy_text: str) -> None:
    original = CARBS.load_from_string(busy_text)
    copy = CARBS.load_from_string(original.serialize(), all_space_params())
    assert copy.get_state_dict() == original.get_state_dict()
    assert copy.get_state_dict()["format_version"] == FORMAT_VERSION
    assert copy.observation_count == 8 and len(copy.failure_observations) == 1
    assert set(copy.outstanding_suggestions) == {"pending-1", "pending-2"}
    for step in range(3):
        a, b = original.suggest(f"s{step}"), copy.suggest(f"s{step}")
        assert a.suggestion == b.suggestion
        assert a.log == b.log
        original.observe(observation(a.suggestion, step))
        copy.observe(observation(b.suggestion, step))
    assert without_times(copy.get_state_dict()) == without_times(original.get_state_dict())


def without_times(state: dict[str, Any]) -> dict[str, Any]:
    """A state dict whose observations' recording times are blanked (they differ by run)."""
    observations = [{**o, "observed_at": None} for o in state["observations"]]
    return {**state, "observations": observations}


def test_observations_keep_their_exact_float64_inputs(busy_text: str) -> None:
    original = CARBS.load_from_string(busy_text)
    copy = CARBS.load_from_string(original.serialize())
    for a, b in zip(
        original.success_observations + original.failure_observations,
        copy.success_observations + copy.failure_observations,
        strict=True,
    ):
        assert b.real_number_input.dtype == torch.float64
        assert torch.equal(a.real_number_input, b.real_number_input)
        assert (a.cost, a.suggestion_id) == (b.cost, b.suggestion_id)
        assert a.output == b.output or (math.isnan(a.output) and math.isnan(b.output))
    assert torch.equal(original.search_center_in_basic, copy.search_center_in_basic)


def test_file_is_strict_json_with_everything_that_shapes_suggestions(
    busy_text: str, tmp_path: Path
) -> None:
    carbs = CARBS.load_from_string(busy_text)
    path = carbs.save(tmp_path / "sweep" / "state.json")  # missing folders are created

    def reject(constant: str) -> None:
        raise AssertionError(f"non-standard JSON constant {constant}")

    data = json.loads(path.read_text(), parse_constant=reject)
    assert data["format_version"] == FORMAT_VERSION
    assert data["config"]["outstanding_suggestion_estimator"] == "THOMPSON"
    assert data["params"][0]["space"]["type"] == "LogSpace"
    assert data["params"][4]["space"]["min"] == {"__float__": "-inf"}
    failures = [o for o in data["observations"] if o["is_failure"]]
    assert len(failures) == 1 and failures[0]["output"] == {"__float__": "nan"}
    assert len(data["observations"]) == 8
    assert all(isinstance(o["observed_at"], float) for o in data["observations"])
    assert set(data["outstanding_suggestions"]) == {"pending-1", "pending-2"}
    assert set(data["hyperparameters"]) >= {"performance", "cost", "pareto"}
    assert isinstance(data["generator_state"], str)
    assert CARBS.load(path).get_state_dict() == carbs.get_state_dict()


def test_config_with_enum_and_wandb_params_round_trips(tmp_path: Path) -> None:
    settings = config(
        outstanding_suggestion_estimator=OutstandingSuggestionEstimatorEnum.MEAN,
        wandb_params=WandbLoggingParams(project_name="p", run_name="r", root_dir="/tmp"),
        max_suggestion_cost=123.5,
        checkpoint_dir=str(tmp_path),
        resample_frequency=0,
    )
    carbs = CARBS(settings, all_space_params())
    loaded = CARBS.load_from_string(carbs.serialize())
    assert loaded.config == settings


def test_fresh_optimizer_round_trips_and_suggests_the_same(tmp_path: Path) -> None:
    carbs = CARBS(config(), all_space_params())
    carbs.save_to_file(tmp_path / "state.json")
    loaded = CARBS.load_from_file(tmp_path / "state.json", all_space_params())
    assert values(carbs.suggest().suggestion) == values(loaded.suggest().suggestion)


def test_load_state_dict_into_an_existing_optimizer(busy_text: str) -> None:
    original = CARBS.load_from_string(busy_text)
    target = CARBS(config(seed=99), all_space_params())
    target.load_state_dict(original.get_state_dict())
    assert target.config.seed == 7
    assert values(target.suggest().suggestion) == values(original.suggest().suggestion)


# -- resume in a fresh process -------------------------------------------------------------------
RESUME_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from carbs import CARBS
    sys.path.insert(0, sys.argv[2])
    from test_state import all_space_params, observation, values

    carbs = CARBS.load(sys.argv[1], all_space_params())
    out = []
    for step in range(3):
        suggestion = carbs.suggest().suggestion
        out.append(values(suggestion))
        carbs.observe(observation(suggestion, step))
    print(json.dumps(out))
    """
)


def test_resume_in_a_fresh_process_gives_the_same_suggestions(
    busy_text: str, tmp_path: Path
) -> None:
    carbs = CARBS.load_from_string(busy_text)
    path = carbs.save(tmp_path / "state.json")
    expected = []
    for step in range(3):
        suggestion = carbs.suggest().suggestion
        expected.append(values(suggestion))
        carbs.observe(observation(suggestion, step))
    result = subprocess.run(
        [sys.executable, "-c", RESUME_SCRIPT, str(path), str(REPO_ROOT / "tests")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == expected


def test_resume_example_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "examples" / "resume.py"),
            "--runs",
            "6",
            "--folder",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "resumed suggestion equals the original's: True" in result.stdout
    assert CARBS.load(tmp_path / STATE_FILE_NAME).observation_count == 11  # resumed autosave


# -- autosave ------------------------------------------------------------------------------------
def test_autosave_writes_one_current_file_per_observation(tmp_path: Path) -> None:
    folder = tmp_path / "checkpoints"
    carbs = CARBS(
        config(is_saved_on_every_observation=True, checkpoint_dir=str(folder)),
        all_space_params(),
    )
    assert carbs.checkpoint_path == folder / STATE_FILE_NAME
    assert not folder.exists()
    for index in range(4):
        carbs.observe(observation(carbs.suggest().suggestion, index))
        assert CARBS.load(carbs.checkpoint_path).observation_count == index + 1
    carbs.initialize_from_observations([observation(carbs.suggest().suggestion, 0)])
    resumed = CARBS.load(carbs.checkpoint_path, checkpoint_dir=folder)
    assert resumed.get_state_dict() == carbs.get_state_dict()
    assert os.listdir(folder) == [STATE_FILE_NAME]


def test_no_file_is_written_unless_autosave_is_on(tmp_path: Path) -> None:
    carbs = CARBS(config(checkpoint_dir=str(tmp_path / "c")), all_space_params())
    carbs.observe(observation(carbs.suggest().suggestion, 0))
    assert not (tmp_path / "c").exists()


def test_failed_autosave_warns_and_keeps_the_observation(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    carbs = CARBS(
        config(is_saved_on_every_observation=True, checkpoint_dir=str(blocker / "sub")),
        all_space_params(),
    )
    with pytest.warns(RuntimeWarning, match="autosave"):
        carbs.observe(observation(carbs.suggest().suggestion, 0))
    assert carbs.observation_count == 1


def test_interrupted_write_leaves_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_atomic(tmp_path / "state.json", '{"old": true}')

    def crash(source: str, target: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, '{"new": true}')
    assert path.read_text() == '{"old": true}'
    assert os.listdir(tmp_path) == ["state.json"]


KILL_SCRIPT = textwrap.dedent(
    """
    import json, os, random, signal, sys, time
    import torch
    torch.set_num_threads(1)
    from carbs import CARBS, CARBSParams, LogSpace, ObservationInParam, Param, set_verbosity
    set_verbosity(30)

    folder, kills = sys.argv[1], int(sys.argv[2])
    params = [Param("lr", LogSpace(min=1e-6, max=1.0), 1e-3), Param("n", LogSpace(min=1), 10)]
    settings = CARBSParams(
        num_random_samples=10**6, is_saved_on_every_observation=True, checkpoint_dir=folder
    )
    first = CARBS(settings, params)
    inputs = [{"lr": 10.0 ** -(i % 6), "n": i + 1} for i in range(500)]
    first.initialize_from_observations([ObservationInParam(x, 1.0, 1.0) for x in inputs])
    rng = random.Random(0)
    last, interrupted = first.observation_count, 0
    parent = os.getpid()
    for _ in range(kills):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the writer: observe (and autosave) until killed
            real_fsync = os.fsync
            def fsync(descriptor):  # tell the parent that a save is under way
                os.write(write_end, b"x")
                real_fsync(descriptor)
            os.fsync = fsync
            carbs = CARBS.load(first.checkpoint_path, checkpoint_dir=folder)
            while os.getppid() == parent:  # a writer orphaned by a timeout stops
                carbs.observe(ObservationInParam(carbs.suggest().suggestion, 1.0, 1.0))
            os._exit(1)
        os.read(read_end, rng.randint(1, 6))  # wait until the writer is inside a save
        if rng.random() < 0.5:
            time.sleep(rng.random() * 0.01)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read_end)
        os.close(write_end)
        count = CARBS.load(first.checkpoint_path).observation_count  # raises if broken
        assert count >= last, (count, last)
        last = count
        temps = [n for n in os.listdir(folder) if n.endswith(".tmp")]
        assert len(temps) <= 1, temps  # the next writer removed the earlier kills' leftovers
        interrupted += len(temps)
    # One more save, as the next run of the sweep would make, leaves no temp file behind.
    CARBS.load(first.checkpoint_path, checkpoint_dir=folder).save(first.checkpoint_path)
    left = [n for n in os.listdir(folder) if n.endswith(".tmp")]
    print(json.dumps({"last": last, "interrupted_writes": interrupted, "left": len(left)}))
    """
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_sigkill_during_autosave_always_leaves_a_loadable_file(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, str(tmp_path), "20"],
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["last"] > 500  # the writers made progress between kills
    assert report["interrupted_writes"] > 0  # some kills hit a save between write and rename
    assert report["left"] == 0  # and the next save removed what they left
    assert CARBS.load(tmp_path / STATE_FILE_NAME).observation_count == report["last"]


# -- malformed states ----------------------------------------------------------------------------
@pytest.mark.parametrize("fraction", [0.0, 0.01, 0.5, 0.99])
def test_truncated_file_raises_state_error(busy_text: str, tmp_path: Path, fraction: float) -> None:
    path = tmp_path / "state.json"
    path.write_text(busy_text[: int(len(busy_text) * fraction)])
    with pytest.raises(StateError, match="not valid JSON"):
        CARBS.load(path)


def test_state_error_is_a_value_error() -> None:
    assert issubclass(StateError, CARBSValueError) and issubclass(StateError, ValueError)


def test_non_utf8_and_non_object_files_raise_state_error(tmp_path: Path) -> None:
    (tmp_path / "binary").write_bytes(b"\x80\x81\xff")
    with pytest.raises(StateError):
        CARBS.load(tmp_path / "binary")
    with pytest.raises(StateError, match="not a carbs state"):
        CARBS.load_from_string("[1, 2, 3]")
    with pytest.raises(FileNotFoundError):
        CARBS.load(tmp_path / "missing.json")


@pytest.mark.parametrize(
    ("version", "message"),
    [(FORMAT_VERSION + 1, "newer carbs"), (0, "unknown"), ("1", "unknown"), (None, "unknown")],
)
def test_unknown_format_version_raises(busy_text: str, version: Any, message: str) -> None:
    data = json.loads(busy_text)
    data["format_version"] = version
    with pytest.raises(StateError, match=message):
        CARBS.load_from_string(json.dumps(data))


@pytest.mark.parametrize(
    "key",
    [
        "format_version",
        "kind",
        "config",
        "params",
        "search_center_in_basic",
        "observations",
        "outstanding_suggestions",
        "skipped_resample_turns",
        "oversample_factor",
        "fallback_count",
        "generator_state",
        "hyperparameters",
    ],
)
def test_missing_key_raises_state_error(busy_text: str, key: str) -> None:
    data = json.loads(busy_text)
    del data[key]
    with pytest.raises(StateError, match=key):
        CARBS.load_from_string(json.dumps(data))


def corrupt(data: dict[str, Any], case: str) -> None:
    first = data["observations"][0]
    if case == "input length":
        first["input"].pop()
    elif case == "negative cost":
        first["cost"] = -1.0
    elif case == "nan success output":
        first["output"] = {"__float__": "nan"}
    elif case == "bad float tag":
        first["output"] = {"__float__": "huge"}
    elif case == "float tag not a string":
        first["output"] = {"__float__": ["nan"]}  # TypeError: unhashable, before
    elif case == "input beyond the float range":
        first["input"][1] = 2.0**53  # width: 10**(2**53) is infinite, and "held" before
    elif case == "infinite projected output":
        first["projected_output"] = {"__float__": "-inf"}  # NaN (not projected) is the norm
    elif case == "time far in the future":
        first["observed_at"] = 1e30  # to_dataframe could not show it
    elif case == "time before 1970":
        first["observed_at"] = -5.0
    elif case == "text failure flag":
        first["is_failure"] = "false"
    elif case == "unknown observation key":
        first["note"] = "hand edited"
    elif case == "generator state":
        data["generator_state"] = "AAAA"
    elif case == "unknown space":
        data["params"][0]["space"]["type"] = "ChoiceSpace"
    elif case == "bad space field":
        data["params"][0]["space"]["scale"] = -1
    elif case == "unknown config field":
        data["config"]["is_turbo"] = True
    elif case == "bad config value":
        data["config"]["better_direction_sign"] = 0
    elif case == "unknown top-level field":
        data["extra"] = 1
    elif case == "kind":
        data["kind"] = "optuna.study"
    elif case == "hyperparameters":
        data["hyperparameters"]["performance"] = {"x": "oops"}
    elif case == "empty suggestion id":
        first["suggestion_id"] = ""  # the API refuses one; observe() would store it
    elif case == "empty pending id":
        data["outstanding_suggestions"][""] = data["outstanding_suggestions"].pop("pending-1")
    elif case == "empty curve id":
        data["curves"][""] = {"costs": [1.0], "outputs": [0.5], "planned_cost": None}


CORRUPTIONS = [
    "input length",
    "negative cost",
    "nan success output",
    "bad float tag",
    "float tag not a string",
    "input beyond the float range",
    "infinite projected output",
    "time far in the future",
    "time before 1970",
    "text failure flag",
    "unknown observation key",
    "generator state",
    "unknown space",
    "bad space field",
    "unknown config field",
    "bad config value",
    "unknown top-level field",
    "kind",
    "hyperparameters",
    "empty suggestion id",
    "empty pending id",
    "empty curve id",
]


@pytest.mark.parametrize("case", CORRUPTIONS)
def test_malformed_field_raises_and_leaves_the_optimizer_unchanged(
    busy_text: str, case: str
) -> None:
    data = json.loads(busy_text)
    corrupt(data, case)
    with pytest.raises(StateError):
        CARBS.load_from_string(json.dumps(data))
    carbs = CARBS.load_from_string(busy_text)
    before = carbs.get_state_dict()
    with pytest.raises(StateError):
        carbs.load_state_dict(data)
    assert carbs.get_state_dict() == before


@pytest.mark.parametrize(("column", "field"), [(0, "choices"), (1, "values")])
def test_a_space_missing_a_required_field_is_a_state_error(column: int, field: str) -> None:
    params = [
        Param("act", CategoricalSpace(choices=["relu", "gelu"]), search_center="relu"),
        Param("batch", OrdinalSpace(values=[16, 32, 64]), search_center=32),
    ]
    data = json.loads(CARBS(config(), params).serialize())
    del data["params"][column]["space"][field]
    with pytest.raises(StateError, match=rf"missing field\(s\) \['{field}'\]"):
        CARBS.load_from_string(json.dumps(data))


@pytest.mark.parametrize("change", ["bound", "centre", "name", "order", "extra"])
def test_params_that_disagree_with_the_saved_ones_raise(
    busy_text: str, tmp_path: Path, change: str
) -> None:
    path = tmp_path / "state.json"
    path.write_text(busy_text)
    params = all_space_params()
    if change == "bound":
        params[0] = Param("lr", LogSpace(min=1e-7, max=1.0, scale=0.5), search_center=1e-3)
    elif change == "centre":
        params[0] = Param("lr", LogSpace(min=1e-6, max=1.0, scale=0.5), search_center=1e-2)
    elif change == "name":
        params[0] = Param("eta", LogSpace(min=1e-6, max=1.0, scale=0.5), search_center=1e-3)
    elif change == "order":
        params.reverse()
    else:
        params.append(Param("dropout", LinearSpace(min=0, max=1), 0.1))
    with pytest.raises(StateError, match="params"):
        CARBS.load(path, params)
    with pytest.raises(StateError, match="params"):
        CARBS(config(), params).load_state_dict(json.loads(busy_text))


def test_loading_never_unpickles(busy_text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import pickle

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a state must never be unpickled")

    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    CARBS.load_from_string(busy_text)


# -- warm start ----------------------------------------------------------------------------------
def prior_params() -> list[Param]:
    return [
        Param("lr", LogSpace(min=1e-6, max=1.0), search_center=1e-3),
        Param("width", LogSpace(is_integer=True, min=4, max=1024), search_center=64),
    ]


@pytest.fixture(scope="module")
def prior_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished sweep: lr spans 1e-5..1e-1, the best lr is 1e-2, one failure."""
    carbs = CARBS(CARBSParams(better_direction_sign=-1), prior_params())
    observations = [
        ObservationInParam({"lr": lr, "width": 64}, (math.log10(lr) + 2) ** 2, cost=64.0)
        for lr in (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
    ]
    observations.append(ObservationInParam({"lr": 0.5, "width": 64}, math.nan, 64.0, True))
    carbs.initialize_from_observations(observations)
    return carbs.save(tmp_path_factory.mktemp("prior") / "state.json")


def new_params(lr_min: float = 1e-6) -> list[Param]:
    return [
        Param("lr", LogSpace(min=lr_min, max=1.0), search_center=max(1e-4, lr_min)),
        Param("width", LogSpace(is_integer=True, min=4, max=1024), search_center=16),
        Param("dropout", LinearSpace(min=0.0, max=0.5), search_center=0.0),
    ]


def centre(carbs: CARBS) -> dict[str, Any]:
    return carbs.search_space.param_dict_from_basic(carbs.search_center_in_basic)


def test_warm_start_with_valid_prior_observations_adds_them(prior_path: Path) -> None:
    carbs = CARBS(CARBSParams(better_direction_sign=-1), new_params())
    carbs.warm_start(prior_path, is_prior_observation_valid=True, added_parameters={"dropout": 0.1})
    assert len(carbs.success_observations) == 5 and len(carbs.failure_observations) == 1
    assert [o.is_failure for o in carbs.observations] == [False] * 5 + [True]
    assert centre(carbs) == {"lr": pytest.approx(1e-2), "width": 64, "dropout": 0.1}
    assert carbs.suggest().log["suggestion_type"] != "random"


def test_warm_starting_twice_adds_nothing_and_says_nothing_false(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The second time every prior run is a repeat, and the log said "no success to
    # centre the search on" of a sweep that holds five.
    with_ids = CARBS(CARBSParams(better_direction_sign=-1), prior_params())
    with_ids.initialize_from_observations(
        [
            ObservationInParam(
                {"lr": lr, "width": 64, "suggestion_uuid": f"run-{i}"},
                (math.log10(lr) + 2) ** 2,
                cost=64.0,
            )
            for i, lr in enumerate((1e-5, 1e-4, 1e-3, 1e-2, 1e-1))
        ]
    )
    path = with_ids.save(tmp_path / "named.json")
    carbs = CARBS(CARBSParams(better_direction_sign=-1), new_params())
    for _ in range(2):
        with caplog.at_level("WARNING", logger="carbs"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # each repeat is named once
            carbs.warm_start(
                path, is_prior_observation_valid=True, added_parameters={"dropout": 0.1}
            )
    assert carbs.observation_count == 5
    assert "no success to centre" not in caplog.text
    assert centre(carbs) == {"lr": pytest.approx(1e-2), "width": 64, "dropout": 0.1}


def test_warm_start_skips_prior_observations_outside_the_new_bounds(prior_path: Path) -> None:
    carbs = CARBS(CARBSParams(better_direction_sign=-1), new_params(lr_min=1e-3))
    with pytest.warns(UserWarning, match="skipped 2 prior observation.*outside the new bounds"):
        carbs.warm_start(prior_path, True, added_parameters={"dropout": 0.1})
    assert carbs.observation_count == 4


def test_warm_start_skips_prior_observations_lacking_a_param(prior_path: Path) -> None:
    carbs = CARBS(CARBSParams(better_direction_sign=-1), new_params())
    with pytest.warns(UserWarning, match=r"lack param\(s\) \['dropout'\]"):
        carbs.warm_start(prior_path, is_prior_observation_valid=True)
    assert carbs.observation_count == 0


def test_warm_start_without_valid_observations_only_moves_the_centre(prior_path: Path) -> None:
    carbs = CARBS(CARBSParams(better_direction_sign=-1), new_params())
    carbs.warm_start(prior_path, added_parameters={"dropout": 0.2})
    assert carbs.observation_count == 0
    assert centre(carbs) == {"lr": pytest.approx(1e-2), "width": 64, "dropout": 0.2}
    # The best prior success is outside these bounds: the best one inside is used.
    narrow = [Param("lr", LogSpace(min=1e-4, max=5e-3), 1e-3), *new_params()[1:]]
    carbs = CARBS(CARBSParams(better_direction_sign=-1), narrow)
    carbs.warm_start(prior_path, added_parameters={"dropout": 0.2})
    assert centre(carbs)["lr"] == pytest.approx(1e-3)


def test_a_prior_sweep_of_the_other_direction_gives_its_centre_but_not_its_runs(
    prior_path: Path,
) -> None:
    # The prior minimised; its outputs added to a sweep that maximises made its worst
    # run (lr=1e-5) the best and the centre, while the centre-only mode took its best.
    carbs = CARBS(CARBSParams(better_direction_sign=1), new_params())
    before = carbs.get_state_dict()
    with pytest.raises(StateError, match="better_direction_sign=-1 and this one 1"):
        carbs.warm_start(prior_path, True, added_parameters={"dropout": 0.1})
    assert carbs.get_state_dict() == before
    carbs.warm_start(prior_path, False, added_parameters={"dropout": 0.1})
    assert centre(carbs) == {"lr": pytest.approx(1e-2), "width": 64, "dropout": 0.1}


def test_a_prior_run_whose_id_this_sweep_holds_is_recorded_under_a_fresh_id(
    tmp_path: Path,
) -> None:
    """Both sweeps name their runs trial-0, trial-1: the prior trial-0 took over this
    sweep's running trial-0, whose real result was then refused."""
    params = [Param("lr", LogSpace(min=1e-5, max=1.0), search_center=1e-3)]
    old = CARBS(CARBSParams(better_direction_sign=-1, seed=1), params)
    for i in range(3):
        suggestion = old.suggest(f"trial-{i}").suggestion
        old.report(suggestion, 9.0, 0.5, planned_cost=1.0)
        old.observe(ObservationInParam(suggestion, 1.0 + i, cost=1.0))
    prior = old.save(tmp_path / "prior.json")

    new = CARBS(CARBSParams(better_direction_sign=-1, seed=2), params)
    done = new.suggest("trial-1").suggestion
    new.observe(ObservationInParam(done, 5.0, cost=2.0))
    running = new.suggest("trial-0").suggestion
    with pytest.warns(UserWarning, match=r"2 prior run id\(s\).*'trial-0' as 'prior:trial-0'"):
        new.warm_start(prior, is_prior_observation_valid=True)
    assert list(new.outstanding_suggestions) == ["trial-0"]
    ids = [o.suggestion_id for o in new.observations]
    assert ids == ["trial-1", "prior:trial-0", "prior:trial-1", "trial-2"]
    curves = new.get_state_dict()["curves"]
    assert curves["prior:trial-0"]["outputs"] == [9.0] and "trial-0" not in curves
    new.observe(ObservationInParam(running, 0.5, cost=2.0))  # this sweep's own trial-0
    assert new.observations[-1].suggestion_id == "trial-0"
    # The same file again adds nothing: each prior run is recognised under its id.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        new.warm_start(prior, is_prior_observation_valid=True)
    assert new.observation_count == 5


def test_warm_start_rejects_inconsistent_params(prior_path: Path) -> None:
    carbs = CARBS(CARBSParams(), new_params())
    with pytest.raises(InvalidParamError, match="not params"):
        carbs.warm_start(prior_path, True, added_parameters={"dropout": 0.1, "beta": 1.0})
    with pytest.raises(InvalidParamError, match="already tuned"):
        carbs.warm_start(prior_path, True, added_parameters={"dropout": 0.1, "lr": 1e-3})
    with pytest.raises(InvalidParamError, match=r"dropout.*outside"):
        carbs.warm_start(prior_path, True, added_parameters={"dropout": 0.9})
    with pytest.raises(InvalidParamError, match="added_parameters must map"):
        carbs.warm_start(prior_path, True, added_parameters=[("dropout", 0.1)])  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError):
        carbs.warm_start(prior_path.with_name("missing.json"), True)
    fewer = CARBS(CARBSParams(), [Param("lr", LogSpace(), 1e-3)])
    with pytest.raises(StateError, match="width"):
        fewer.warm_start(prior_path, True)
    assert carbs.observation_count == 0 and fewer.observation_count == 0


# -- files written by earlier versions -----------------------------------------------------------
DATA = Path(__file__).resolve().parent / "data"


def format1_params() -> list[Param]:
    return [
        Param("lr", LogSpace(scale=0.5, min=1e-5, max=1.0), search_center=1e-3),
        Param("width", LogSpace(is_integer=True, min=4, max=1024, rounding_factor=4), 64),
        Param("momentum", LogitSpace(min=0.5, max=0.999), search_center=0.9),
        Param("shift", LinearSpace(), search_center=0.0),
    ]


def test_a_state_written_by_carbs_10b0726_loads_and_resumes_exactly() -> None:
    """The file was saved by commit 10b0726 (before the state had one owner), with the
    suggestion that optimizer made next; loading it here must make the same suggestion."""
    carbs = CARBS.load(DATA / "state_format1_10b0726.json", format1_params())
    assert carbs.observation_count == 9 and len(carbs.failure_observations) == 1
    assert [o.is_failure for o in carbs.observations] == [False] * 4 + [True] + [False] * 4
    assert set(carbs.outstanding_suggestions) == {"pending-1", "pending-2"}
    expected = json.loads((DATA / "state_format1_10b0726.next.json").read_text())
    assert carbs.suggest("next").suggestion == expected


def test_a_format1_state_is_upgraded_in_memory_and_saved_as_the_current_format(
    tmp_path: Path,
) -> None:
    source = DATA / "state_format1_10b0726.json"
    text = source.read_text()
    carbs = CARBS.load(source)
    assert source.read_text() == text  # loading never rewrites the file
    assert all(o.suggestion_type is None for o in carbs.observations)  # unknown in format 1
    assert carbs.fallback_count == 0
    saved = json.loads(carbs.save(tmp_path / "upgraded.json").read_text())
    assert saved["format_version"] == FORMAT_VERSION == 11
    assert "success_observations" not in saved and len(saved["observations"]) == 9
    again = CARBS.load(tmp_path / "upgraded.json")
    assert without_times(again.get_state_dict()) == without_times(carbs.get_state_dict())


def test_a_state_written_by_carbs_13e00b0_in_format2_loads_and_resumes_exactly(
    tmp_path: Path,
) -> None:
    """Saved by commit 13e00b0 (format 2, before categorical spaces), one suggestion
    outstanding, with the suggestion that optimizer made next."""
    source = DATA / "state_format2_13e00b0.json"
    assert json.loads(source.read_text())["format_version"] == 2
    carbs = CARBS.load(source, format1_params())
    assert carbs.observation_count == 10 and len(carbs.failure_observations) == 1
    assert set(carbs.outstanding_suggestions) == {"pending-1"}
    saved = json.loads(carbs.save(tmp_path / "upgraded.json").read_text())
    assert saved["format_version"] == FORMAT_VERSION
    expected = json.loads((DATA / "state_format2_13e00b0.next.json").read_text())
    assert carbs.suggest("next").suggestion == expected


@pytest.mark.parametrize(
    "corruption",
    ["flags longer", "text flag", "times shorter", "entry not an object"],
)
def test_a_format1_state_whose_lists_disagree_raises_state_error(corruption: str) -> None:
    data = json.loads((DATA / "state_format1_10b0726.json").read_text())
    if corruption == "flags longer":
        data["observation_is_failure"].append(False)
    elif corruption == "text flag":
        data["observation_is_failure"][0] = "false"
    elif corruption == "times shorter":
        data["observation_times"].pop()
    else:
        data["success_observations"][0] = 3
    with pytest.raises(StateError):
        CARBS.load_from_string(json.dumps(data))


def test_observations_remember_how_their_suggestion_was_chosen() -> None:
    pytest.importorskip("pandas")
    carbs = CARBS(config(num_random_samples=2), all_space_params())
    for index in range(4):
        carbs.observe(observation(carbs.suggest().suggestion, index))
    carbs.initialize_from_observations(
        [observation(carbs.suggest(is_suggestion_remembered=False).suggestion, 9)]
    )
    kinds = [o.suggestion_type for o in carbs.observations]
    assert kinds == ["random", "random", "bayesian", "bayesian", None]
    assert carbs.to_dataframe()["suggestion_type"].tolist() == kinds
    copy = CARBS.load_from_string(carbs.serialize())
    assert [o.suggestion_type for o in copy.observations] == kinds


def test_a_format5_state_written_by_795614e_keeps_its_resample_turns_and_resumes_exactly() -> None:
    """Saved by commit 795614e (format 5, which counted resample turns in a field) after
    11 successes with one resample observed and a second one outstanding, plus the
    suggestion it made next. Format 6 reads the turns from the repeated inputs; the
    outstanding repeat must count, or a third resample would come out next."""
    source = DATA / "state_format5_795614e.json"
    data = json.loads(source.read_text())
    assert data["format_version"] == 5 and data["resample_count"] == 2
    params = [
        Param("lr", LogSpace(scale=0.5, min=1e-5, max=1.0), search_center=1e-3),
        Param("width", LogSpace(is_integer=True, min=4, max=1024), search_center=16),
    ]
    carbs = CARBS.load(source, params)
    assert carbs.resample_count == 2
    assert carbs.get_state_dict()["skipped_resample_turns"] == 0
    expected = json.loads((DATA / "state_format5_795614e.next.json").read_text())
    assert carbs.suggest("next").suggestion == expected


def test_an_old_state_with_an_input_past_the_float_range_raises_state_error() -> None:
    # Upgrading a format-5 state groups inputs by value: an integer of 400 digits
    # overflowed a float tensor, and the load raised OverflowError.
    data = json.loads((DATA / "state_format5_795614e.json").read_text())
    data["observations"][0]["input"][0] = 10**400
    with pytest.raises(StateError, match="too large for a float"):
        CARBS.load_from_string(json.dumps(data))


def test_states_saved_before_format7_keep_the_slope_ray_below_the_front(tmp_path: Path) -> None:
    """Format 7 added ``is_level_descent_below_front`` (on by default); older states
    placed the origins below the front on the cost plane's slope and load with it off,
    so that they resume as they would have. New states keep it on through a save."""
    old = CARBS.load(DATA / "state_format5_795614e.json")
    assert old.config.is_level_descent_below_front is False
    assert old.get_state_dict()["config"]["is_level_descent_below_front"] is False
    new = CARBS(CARBSParams(), format1_params())
    assert new.config.is_level_descent_below_front is True
    again = CARBS.load(new.save(tmp_path / "new.json"))
    assert again.config.is_level_descent_below_front is True


@pytest.mark.parametrize(
    ("stem", "version", "setting"),
    [
        # Saved during a sweep started mid-range, at a budget below the front: the
        # cheapest legal corner, which every affordable candidate tied for. Format 8
        # scores those candidates against the worst run.
        ("state_format7_ed5a770", 7, "is_below_front_scored"),
        # Saved during a sweep whose every run pays a 20 s start-up. Format 9 fits
        # that fixed cost in the cost plane.
        ("state_format8_26ebdd6", 8, "is_cost_overhead_fitted"),
        # Saved during a sweep of fixed ten-minute runs, whose costs vary by seconds of
        # noise. Format 10 uses the cost plane only where the params drive cost.
        ("state_format9_7277046", 9, "is_cost_plane_tested"),
        # Saved during a sweep of counted runs (each costs exactly 1) with one resample:
        # the front was that resampled run, not the best run. Format 10 lets a single
        # run beat it.
        ("state_format9_7277046_counted_runs", 9, "is_pareto_bucket_challenged"),
        # The format-8 sweep above saved again by 34e713b (format 10): some of its runs
        # cost exactly the same, and a worse one recorded first stood on the front
        # beside the better one. Format 11 takes groups of equal cost better first.
        ("state_format10_34e713b", 10, "is_pareto_tie_better_first"),
    ],
)
def test_a_state_of_format7_or_later_resumes_exactly_with_the_next_setting_off(
    stem: str, version: int, setting: str
) -> None:
    """Saved by the named commit, with the suggestion it made next: the file loads
    with the setting its successor format added off and resumes exactly; with that
    setting on (and every later one off), the same state suggests something else; new
    optimizers have it on."""
    source = DATA / f"{stem}.json"
    assert json.loads(source.read_text())["format_version"] == version
    old = CARBS.load(source)
    assert getattr(old.config, setting) is False
    expected = json.loads((DATA / f"{stem}.next.json").read_text())
    assert old.suggest("next").suggestion == expected
    data = json.loads(source.read_text())
    data["config"][setting] = True  # the upgrade keeps it, and turns the others off
    switched = CARBS.load_from_string(json.dumps(data))
    assert switched.suggest("next").suggestion != expected
    new = CARBS(CARBSParams(), format1_params())
    assert getattr(new.config, setting) is True


def test_a_run_within_a_few_floats_of_an_open_end_reloads() -> None:
    # 5e-309 maps to basic space and back onto 0 itself; a stricter loader (e075504, never
    # released) refused such a state, although observe() had accepted the run.
    params = [Param("p", LogitSpace(), 0.5), Param("x", LinearSpace(min=0, max=1), 0.5)]
    carbs = CARBS(config(), params)
    carbs.observe(ObservationInParam({"p": 5e-309, "x": 0.5}, output=1.0, cost=1.0))
    reloaded = CARBS.load_from_string(carbs.serialize())
    assert reloaded.get_state_dict() == carbs.get_state_dict()
