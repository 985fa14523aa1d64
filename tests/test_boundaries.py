"""Trust at the API boundary: all-or-nothing calls, strict types, state files as data.

Every test here probes an edge a new user or an attacker would hit: a retried
``observe()``, a failing side effect after recording, strings where bools
belong, numbers too large or complex, hand-edited or hostile state files, the
file permissions of a new state, and suggestions that are never observed.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import pickle
import stat
import sys
import threading
import time
import types
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

import carbs.persistence
from carbs import (
    CARBS,
    CARBSParams,
    CategoricalSpace,
    FixedSpace,
    InvalidConfigError,
    InvalidObservationError,
    InvalidParamError,
    InvalidSpaceError,
    LinearSpace,
    LogitSpace,
    LogSpace,
    ObservationInParam,
    OrdinalSpace,
    Param,
    StateError,
    WandbLoggingParams,
)
from carbs.state import STATE_FILE_NAME


def params() -> list[Param]:
    return [
        Param("lr", LogSpace(min=1e-6, max=1.0), search_center=1e-3),
        Param("width", LogSpace(is_integer=True, min=4, max=1024, rounding_factor=4), 64),
    ]


def run(optimizer: CARBS, steps: int) -> None:
    for step in range(steps):
        suggestion = optimizer.suggest().suggestion
        loss = (math.log10(suggestion["lr"]) + 3) ** 2 + 1 / suggestion["width"] + 0.01 * step
        optimizer.observe(ObservationInParam(suggestion, loss, cost=suggestion["width"] / 8))


# -- observe() happens once, completely ------------------------------------------------------------
@pytest.mark.parametrize("checkpoint_dir", [None, 123, 4.5, ["a"]])
def test_autosave_without_a_usable_folder_is_a_config_error(checkpoint_dir: Any) -> None:
    with pytest.raises(InvalidConfigError, match="checkpoint_dir"):
        CARBSParams(is_saved_on_every_observation=True, checkpoint_dir=checkpoint_dir)


def test_checkpoint_dir_may_be_a_path_and_none_without_autosave(tmp_path: Path) -> None:
    assert CARBSParams(checkpoint_dir=None).checkpoint_dir is None
    config = CARBSParams(is_saved_on_every_observation=True, checkpoint_dir=tmp_path)
    assert config.checkpoint_dir == str(tmp_path)
    with pytest.raises(InvalidConfigError, match="checkpoint_dir"):
        config.checkpoint_dir = 123  # fields are checked when set, too


@pytest.mark.parametrize("error", [OSError("disk full"), TypeError("bad"), RuntimeError("x")])
def test_a_failed_autosave_warns_and_a_retry_records_nothing_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    optimizer = CARBS(
        CARBSParams(is_saved_on_every_observation=True, checkpoint_dir=tmp_path), params()
    )

    def broken(*args: Any) -> Path:
        raise error

    monkeypatch.setattr(carbs.persistence, "write_atomic", broken)
    suggestion = optimizer.suggest().suggestion
    observation = ObservationInParam(suggestion, 1.0, cost=2.0)
    with pytest.warns(RuntimeWarning, match="autosave"):
        optimizer.observe(observation)
    already, autosave = (pytest.warns(RuntimeWarning, match=m) for m in ("already", "autosave"))
    with already, autosave:
        optimizer.observe(observation)  # the caller's retry
    assert optimizer.observation_count == 1


def test_a_retry_after_a_failed_or_interrupted_autosave_writes_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    optimizer = CARBS(
        CARBSParams(is_saved_on_every_observation=True, checkpoint_dir=tmp_path), params()
    )
    optimizer.observe(ObservationInParam(optimizer.suggest().suggestion, 1.0, cost=2.0))
    observation = ObservationInParam(optimizer.suggest().suggestion, 0.5, cost=3.0)

    def interrupted(*args: Any) -> Path:
        raise KeyboardInterrupt  # Ctrl-C after the run was recorded, before the file

    with monkeypatch.context() as patch:
        patch.setattr(carbs.persistence, "write_atomic", interrupted)
        with pytest.raises(KeyboardInterrupt):
            optimizer.observe(observation)
    assert CARBS.load(optimizer.checkpoint_path).observation_count == 1
    with pytest.warns(RuntimeWarning, match="already observed"):
        optimizer.observe(observation)  # the caller's retry
    assert optimizer.observation_count == 2
    assert CARBS.load(optimizer.checkpoint_path).observation_count == 2


def test_every_call_that_changes_the_search_is_autosaved(tmp_path: Path) -> None:
    optimizer = CARBS(
        CARBSParams(
            better_direction_sign=-1, is_saved_on_every_observation=True, checkpoint_dir=tmp_path
        ),
        params(),
    )

    def saved() -> dict[str, Any]:
        return CARBS.load(optimizer.checkpoint_path).get_state_dict()

    optimizer.set_search_center({"lr": 1e-2, "width": 64})
    assert saved()["search_center_in_basic"] == optimizer.get_state_dict()["search_center_in_basic"]
    optimizer.reseed(5)
    assert saved()["generator_state"] == optimizer.get_state_dict()["generator_state"]
    other = CARBS(CARBSParams(better_direction_sign=-1, seed=3), params())
    other.observe(ObservationInParam(other.suggest().suggestion, 1.0, cost=2.0))
    optimizer.load_state_dict(other.get_state_dict())
    assert len(saved()["observations"]) == 1
    prior = tmp_path / "prior.json"
    other.save(prior)
    optimizer.set_search_center({"lr": 1e-2, "width": 64})
    before = saved()["search_center_in_basic"]
    optimizer.warm_start(prior, is_prior_observation_valid=False)  # moves the centre only
    after = optimizer.get_state_dict()["search_center_in_basic"]
    assert after != before and saved()["search_center_in_basic"] == after


def test_a_relative_checkpoint_dir_stays_where_the_optimizer_was_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    optimizer = CARBS(
        CARBSParams(is_saved_on_every_observation=True, checkpoint_dir="ckpt"), params()
    )
    (tmp_path / "analysis").mkdir()
    monkeypatch.chdir(tmp_path / "analysis")  # a notebook's %cd
    optimizer.observe(ObservationInParam(optimizer.suggest().suggestion, 1.0, cost=2.0))
    assert optimizer.checkpoint_path == tmp_path / "ckpt" / STATE_FILE_NAME
    assert CARBS.load(optimizer.checkpoint_path).observation_count == 1
    assert list((tmp_path / "analysis").iterdir()) == []


def test_a_failing_wandb_run_warns_and_keeps_the_observation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Run:
        def log(self, values: dict[str, Any]) -> None:
            raise ConnectionError("network down")

    fake = types.ModuleType("wandb")
    fake.init = lambda **kwargs: Run()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "wandb", fake)
    optimizer = CARBS(CARBSParams(is_wandb_logging_enabled=True), params())
    with pytest.warns(RuntimeWarning, match="W&B"):
        suggestion = optimizer.suggest().suggestion
    with pytest.warns(RuntimeWarning, match="W&B"):
        optimizer.observe(ObservationInParam(suggestion, 1.0, cost=2.0))
    assert optimizer.observation_count == 1


def test_observing_a_suggestion_twice() -> None:
    optimizer = CARBS(CARBSParams(), params())
    suggestion = optimizer.suggest().suggestion
    failed = ObservationInParam(suggestion, math.nan, cost=2.0, is_failure=True)
    optimizer.observe(failed)
    with pytest.warns(RuntimeWarning, match="already observed"):
        logs = optimizer.observe(ObservationInParam(suggestion, math.nan, 2.0, True))
    assert logs.logs["observation_count"] == 1
    for conflicting in (
        ObservationInParam(suggestion, 1.0, cost=2.0),
        ObservationInParam(suggestion, math.nan, cost=3.0, is_failure=True),
        ObservationInParam({**suggestion, "lr": 0.5}, math.nan, cost=2.0, is_failure=True),
    ):
        with pytest.raises(InvalidObservationError, match="different result"):
            optimizer.observe(conflicting)
    assert optimizer.observation_count == 1
    # The same repeat inside initialize_from_observations is skipped too; new ones are added.
    other = optimizer.suggest().suggestion
    with pytest.warns(RuntimeWarning, match="already observed"):
        added = optimizer.initialize_from_observations(
            [failed, ObservationInParam(other, 1.5, cost=2.0)]
        )
    assert added.logs["added"] == 1 and optimizer.observation_count == 2


@pytest.mark.parametrize("argument", [None, "abc", ["suggestion_uuid"], 7, {"suggestion_uuid": 5}])
def test_forget_suggestion_takes_only_a_suggestion_dict(argument: Any) -> None:
    optimizer = CARBS(CARBSParams(), params())
    optimizer.suggest()
    with pytest.raises(InvalidObservationError, match="suggestion"):
        optimizer.forget_suggestion(argument)
    assert len(optimizer.outstanding_suggestions) == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("output", np.complex128(1 + 2j)),
        ("output", 1 + 0j),
        ("output", 10**400),
        ("output", "0.5"),
        ("output", True),
        ("cost", np.complex128(2.0)),
        ("cost", 10**400),
        ("cost", "2"),
        ("cost", None),
        ("is_failure", "no"),
        ("is_failure", 0),
        ("lr", 1e-3 + 0j),
        ("width", 33.5),
        ("width", 10**400),
    ],
)
def test_bad_values_are_rejected_naming_the_field(field: str, value: Any) -> None:
    optimizer = CARBS(CARBSParams(), params())
    suggestion = optimizer.suggest().suggestion
    fields: dict[str, Any] = {"output": 1.0, "cost": 2.0, "is_failure": False}
    if field in fields:
        fields[field] = value
    else:
        suggestion = {**suggestion, field: value}
    with pytest.raises(InvalidObservationError, match=field):
        optimizer.observe(ObservationInParam(suggestion, **fields))
    assert optimizer.observation_count == 0


# -- strict types --------------------------------------------------------------------------------
BOOL_FIELDS = [
    field.name
    for field in attrs.fields(CARBSParams)
    if field.name.startswith("is_") and field.type in ("bool", bool)
]


@pytest.mark.parametrize("field", BOOL_FIELDS)
@pytest.mark.parametrize("value", ["no", "False", 1, 0, None])
def test_every_bool_field_takes_only_booleans(field: str, value: Any) -> None:
    extra = {"checkpoint_dir": "x"} if field == "is_saved_on_every_observation" else {}
    with pytest.raises(InvalidConfigError, match=field):
        CARBSParams(**{field: value}, **extra)


def test_bool_fields_exist_and_take_numpy_booleans() -> None:
    assert len(BOOL_FIELDS) == 13
    assert not CARBSParams(is_fully_bayesian=np.bool_(False)).is_fully_bayesian
    with pytest.raises(InvalidConfigError, match="is_suggestion_logged"):
        WandbLoggingParams(is_suggestion_logged="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: LinearSpace(is_integer="False"), "is_integer"),  # type: ignore[arg-type]
        (lambda: LinearSpace(scale="1"), "scale"),  # type: ignore[arg-type]
        (lambda: LinearSpace(min="0"), "min"),  # type: ignore[arg-type]
        (lambda: LogSpace(max=b"9"), "max"),  # type: ignore[arg-type]
        (lambda: LinearSpace(is_integer=True, rounding_factor=True), "rounding_factor"),
        (lambda: LinearSpace(is_integer=True, rounding_factor=2.0), "rounding_factor"),  # type: ignore[arg-type]
        (lambda: LogSpace(base="2"), "base"),  # type: ignore[arg-type]
        (lambda: LogitSpace(scale=math.nan), "scale"),
    ],
)
def test_space_fields_are_strict(make: Any, field: str) -> None:
    with pytest.raises(InvalidSpaceError, match=field):
        make()


def test_seeds_are_those_torch_takes() -> None:
    with pytest.raises(InvalidConfigError, match="seed"):
        CARBSParams(seed=2**64)
    with pytest.raises(InvalidConfigError, match="seed"):
        CARBSParams(seed=True)
    optimizer = CARBS(CARBSParams(seed=2**64 - 1), params())
    assert optimizer.suggest().suggestion["width"] % 4 == 0


def test_numpy_integers_are_ints_and_reseed_takes_what_the_config_takes() -> None:
    """A seed drawn with numpy (``np.int64``) failed in torch's generator with a bare
    ``TypeError``, at ``CARBS()`` or ``reseed``; ``reseed(2**70)`` was torch's ValueError."""
    numpy_config = CARBSParams(seed=np.int64(7), num_random_samples=np.int32(2))
    assert type(numpy_config.seed) is int and type(numpy_config.num_random_samples) is int
    assert numpy_config == CARBSParams(seed=7, num_random_samples=2)
    from_numpy = CARBS(numpy_config, params())
    plain = CARBS(CARBSParams(seed=7, num_random_samples=2), params())
    run(from_numpy, 3)
    run(plain, 3)
    from_numpy.reseed(np.uint64(11))
    plain.reseed(11)
    assert from_numpy.suggest().suggestion["lr"] == plain.suggest().suggestion["lr"]
    before = plain.serialize()
    for bad in (2**70, -1, 1.0, True, "3"):
        with pytest.raises(InvalidConfigError, match="seed"):
            plain.reseed(bad)  # type: ignore[arg-type]
    assert plain.serialize() == before
    space = LogSpace(is_integer=True, min=4, max=1024, rounding_factor=np.int64(4))
    assert type(space.rounding_factor) is int and space == params()[1].space


def test_a_state_file_bool_must_be_a_json_bool() -> None:
    data = CARBS(CARBSParams(), params()).get_state_dict()
    data["config"]["is_pareto_group_selection_conservative"] = "false"
    with pytest.raises(StateError, match="is_pareto_group_selection_conservative"):
        CARBS.load_from_string(json.dumps(data))


# -- state files are data, checked for range ----------------------------------------------------
def busy_state() -> dict[str, Any]:
    optimizer = CARBS(CARBSParams(num_random_samples=3), params())
    run(optimizer, 5)
    optimizer.suggest("pending")
    return optimizer.get_state_dict()


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("oversample factor", "oversample_factor"),
        ("observation out of bounds", "lr"),
        ("centre out of bounds", "search_center"),
        ("pending out of bounds", "outstanding"),
        ("resample count", "skipped_resample_turns"),
        ("fallback count", "fallback_count"),
        ("huge integer", "cannot be a carbs state"),
        ("deep nesting", "nested"),
        ("unknown observation key", "observations"),
        ("huge candidates", "num_candidates_for_suggestion_per_dim"),
    ],
)
def test_a_state_that_loads_is_one_every_method_can_use(case: str, words: str) -> None:
    data = busy_state()
    text = None
    if case == "oversample factor":
        data["oversample_factor"] = 10**30
    elif case == "observation out of bounds":
        data["observations"][0]["input"][0] = 5.0  # lr = 1e5 > max
    elif case == "centre out of bounds":
        data["search_center_in_basic"][1] = -3.0  # width = 1e-3 < min
    elif case == "pending out of bounds":
        data["outstanding_suggestions"]["pending"]["input"][0] = 5.0
    elif case == "resample count":
        data["skipped_resample_turns"] = 10**6
    elif case == "fallback count":
        data["fallback_count"] = -1
    elif case == "huge integer":
        text = json.dumps(data).replace(
            '"skipped_resample_turns":0', '"skipped_resample_turns":' + "9" * 4301
        )
        text = text.replace(
            '"skipped_resample_turns": 0', '"skipped_resample_turns": ' + "9" * 4301
        )
    elif case == "deep nesting":
        nested: Any = 1
        for _ in range(700):
            nested = [nested]
        data["outstanding_suggestions"]["pending"]["log"]["x"] = nested
    elif case == "unknown observation key":
        data["observations"][0]["note"] = "hand edited"
    elif case == "huge candidates":
        data["config"]["num_candidates_for_suggestion_per_dim"] = 10**12
    with pytest.raises(StateError, match=words):
        CARBS.load_from_string(text if text is not None else json.dumps(data))


def test_loading_a_file_starts_no_autosave_and_no_wandb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    named = tmp_path / "named-by-the-file"
    settings = CARBSParams(
        is_saved_on_every_observation=True,
        checkpoint_dir=named,
        is_wandb_logging_enabled=False,
    )
    writer = CARBS(settings, params())
    run(writer, 2)
    data = writer.get_state_dict()
    data["config"]["is_wandb_logging_enabled"] = True  # as a hostile file could say
    path = tmp_path / "received.json"
    path.write_text(json.dumps(data))
    named_files = sorted(os.listdir(named))
    started: list[dict[str, Any]] = []
    fake = types.ModuleType("wandb")
    fake.init = lambda **kwargs: (
        started.append(kwargs)
        or types.SimpleNamespace(  # type: ignore[attr-defined]
            log=lambda values: None
        )
    )
    monkeypatch.setitem(sys.modules, "wandb", fake)

    loaded = CARBS.load(path)
    run(loaded, 2)
    assert sorted(os.listdir(named)) == named_files and started == []
    assert not loaded.config.is_saved_on_every_observation
    assert not loaded.config.is_wandb_logging_enabled

    # The caller opts in, naming the folder itself.
    mine = tmp_path / "mine"
    resumed = CARBS.load(path, checkpoint_dir=mine, is_wandb_logging_enabled=True)
    run(resumed, 1)
    assert os.listdir(mine) == [STATE_FILE_NAME] and len(started) == 1
    # load_state_dict keeps the loading optimizer's own side effects.
    quiet = CARBS(CARBSParams(), params())
    quiet.load_state_dict(data)
    assert not quiet.config.is_saved_on_every_observation
    assert not quiet.config.is_wandb_logging_enabled


# -- files ---------------------------------------------------------------------------------------
@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize(("umask", "mode"), [(0o077, 0o600), (0o022, 0o644), (0o002, 0o664)])
def test_a_new_state_file_follows_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    previous = os.umask(umask)
    try:
        path = CARBS(CARBSParams(), params()).save(tmp_path / "state.json")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == mode


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_an_existing_state_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    optimizer = CARBS(CARBSParams(), params())
    optimizer.save(path)
    path.chmod(0o640)
    optimizer.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_stale_temp_files_are_removed_by_the_next_save(tmp_path: Path) -> None:
    path = tmp_path / STATE_FILE_NAME
    dead_writer = tmp_path / f".{STATE_FILE_NAME}.999999999.0123456789ab.tmp"
    older_carbs = tmp_path / f".{STATE_FILE_NAME}.k2j4h5_q.tmp"  # mkstemp names of earlier versions
    live_writer = tmp_path / f".{STATE_FILE_NAME}.{os.getpid()}.def012345678.tmp"
    old_live = tmp_path / f".{STATE_FILE_NAME}.{os.getppid()}.0a0a0a0a0a0a.tmp"
    other_file = tmp_path / ".other.json.999999999.0123456789ab.tmp"
    # A temporary file of carbs_state.json.bak, whose name also starts with
    # ".carbs_state.json.": it was read as one of this file's, with "bak" for a writer
    # that is gone, and deleted while another thread was writing it.
    other_with_prefix = tmp_path / f".{STATE_FILE_NAME}.bak.999999999.0123456789ab.tmp"
    for temp in (dead_writer, older_carbs, live_writer, old_live, other_file, other_with_prefix):
        temp.write_text("partial")
    two_hours_ago = time.time() - 7200
    os.utime(old_live, (two_hours_ago, two_hours_ago))
    CARBS(CARBSParams(), params()).save(path)
    left = sorted(p.name for p in tmp_path.iterdir())
    kept = [STATE_FILE_NAME, live_writer.name, other_file.name, other_with_prefix.name]
    assert left == sorted(kept)


def test_concurrent_saves_to_files_sharing_a_name_prefix_all_succeed(tmp_path: Path) -> None:
    optimizers = [CARBS(CARBSParams(), params()) for _ in range(2)]
    errors: list[BaseException] = []

    def save_often(optimizer: CARBS, name: str) -> None:
        for _ in range(100):
            try:
                optimizer.save(tmp_path / name)
            except OSError as error:
                errors.append(error)

    threads = [
        threading.Thread(target=save_often, args=(optimizer, name))
        for optimizer, name in zip(optimizers, ("sweep.json", "sweep.json.bak"), strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep.json", "sweep.json.bak"]


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_a_state_file_that_is_a_link_is_written_through(tmp_path: Path) -> None:
    durable = tmp_path / "durable" / "state.json"
    durable.parent.mkdir()
    link = tmp_path / "state.json"
    optimizer = CARBS(CARBSParams(better_direction_sign=-1), params())
    optimizer.save(durable)
    link.symlink_to(durable)
    optimizer.observe(
        ObservationInParam(input=optimizer.suggest().suggestion, output=1.0, cost=1.0)
    )
    assert optimizer.save(link) == link
    assert link.is_symlink()
    assert CARBS.load(durable).observation_count == 1
    assert sorted(p.name for p in durable.parent.iterdir()) == ["state.json"]


# -- suggestions that are never observed ---------------------------------------------------------
def test_outstanding_suggestions_are_capped_oldest_first(caplog: pytest.LogCaptureFixture) -> None:
    optimizer = CARBS(CARBSParams(max_outstanding_suggestions=3), params())
    with caplog.at_level(logging.WARNING, logger="carbs"):
        logs = [optimizer.suggest(f"s{i}").log for i in range(5)]
    assert list(optimizer.outstanding_suggestions) == ["s2", "s3", "s4"]
    assert [log["outstanding_suggestion_count"] for log in logs] == [1, 2, 3, 3, 3]
    assert "max_outstanding_suggestions=3" in caplog.text and "s0" in caplog.text
    assert CARBSParams().max_outstanding_suggestions == 256
    with pytest.raises(InvalidConfigError, match="max_outstanding_suggestions"):
        CARBSParams(max_outstanding_suggestions=0)


def test_integer_costs_and_bounds_beyond_int64_are_taken_as_floats() -> None:
    # FLOP counts are natural Python ints, and 10**21 does not fit torch's int64: a cost
    # cap or a bound given that way used to pass validation and then fail deep inside
    # suggest (or at Param construction) with an OverflowError.
    config = CARBSParams(
        better_direction_sign=-1,
        max_suggestion_cost=10**33,
        num_random_samples=3,
        seed=0,
        checkpoint_dir=None,
    )
    assert isinstance(config.max_suggestion_cost, float) and config.max_suggestion_cost == 1e33
    space = LogSpace(is_integer=True, min=10**8, max=10**22)
    assert (space.min, space.max) == (1e8, 1e22)
    params = [
        Param("tokens", space, search_center=10**19),
        Param("width", LogSpace(is_integer=True, min=8, max=4096), search_center=64),
    ]
    optimizer = CARBS(config, params)
    for _ in range(8):
        values = optimizer.suggest().suggestion
        tokens, width = values["tokens"], values["width"]
        assert isinstance(tokens, int) and 10**8 <= tokens <= 10**22
        optimizer.observe(
            ObservationInParam(values, 1 / math.log(tokens) + 1 / width, 6 * tokens * width)
        )
    restored = CARBS.load_from_string(optimizer.serialize())
    assert restored.config.max_suggestion_cost == 1e33
    assert restored.suggest().suggestion["tokens"] <= 10**22
    with pytest.raises(InvalidConfigError, match="max_suggestion_cost is too large for a float"):
        CARBSParams(max_suggestion_cost=10**400)
    with pytest.raises(InvalidSpaceError, match=r"LogSpace\.max"):
        LogSpace(max=10**400)


@pytest.mark.parametrize("name", ["cost", "output", "curve", "output_mean", "is_failure"])
def test_a_param_named_like_a_table_column_is_refused(name: str) -> None:
    # A param named cost was overwritten by the run's cost in to_dataframe(), in
    # predict().to_dicts() and in the logs sent to W&B.
    with pytest.raises(InvalidParamError, match=rf"\['{name}'\] are columns of to_dataframe"):
        CARBS(CARBSParams(), [Param(name, LogSpace(), search_center=1.0)])


# -- copies --------------------------------------------------------------------------------------
@pytest.mark.parametrize("copy_function", [copy.copy, copy.deepcopy])
def test_a_copy_is_independent_and_suggests_what_the_original_would(
    tmp_path: Path, copy_function: Any
) -> None:
    original = CARBS(
        CARBSParams(
            better_direction_sign=-1,
            num_random_samples=2,
            is_saved_on_every_observation=True,
            checkpoint_dir=tmp_path,
        ),
        params(),
    )
    run(original, 3)
    branch = copy_function(original)
    assert not branch.config.is_saved_on_every_observation  # it would write original's file
    assert branch.suggest("next").suggestion == original.suggest("next").suggestion
    branch.observe(ObservationInParam(branch.suggest().suggestion, 0.1, cost=1.0))
    assert (original.observation_count, branch.observation_count) == (3, 4)
    assert CARBS.load(original.checkpoint_path).observation_count == 3


def test_pickling_an_optimizer_is_refused_with_the_way_to_move_it() -> None:
    with pytest.raises(TypeError, match="save"):
        pickle.dumps(CARBS(CARBSParams(), params()))


# -- what a call hands out is the caller's -------------------------------------------------------
def test_editing_what_the_views_return_leaves_the_optimizer_unchanged() -> None:
    config = CARBSParams(better_direction_sign=-1, num_random_samples=2, resample_frequency=0)
    optimizer = CARBS(config, params())
    run(optimizer, 4)
    out = optimizer.suggest()
    before = optimizer.get_state_dict()

    out.log["suggestion_type"] = 1  # the caller's own logging, say
    out.log["predicted_cost"] = -1.0
    optimizer.observations[0].real_number_input.add_(1.0)
    optimizer.success_observations[1].real_number_input.fill_(math.inf)
    optimizer.get_pareto_groups()[-1].input_in_basic[0] = math.inf
    next(iter(optimizer.outstanding_suggestions.values())).log_info["predicted_cost"] = 0.0
    next(iter(optimizer.outstanding_suggestions.values())).real_number_input.zero_()
    optimizer.snapshot().config.better_direction_sign = 1
    config.better_direction_sign = 1  # reused for another sweep
    config.max_suggestion_cost = 5.0

    assert optimizer.get_state_dict() == before
    assert optimizer.config.better_direction_sign == -1
    assert optimizer.config.max_suggestion_cost is None
    CARBS.load_from_string(optimizer.serialize())  # still a state that loads


def test_scores_that_all_overflow_fall_back_to_the_search_distribution() -> None:
    # exploration_bias=1e200 made every score -inf, and suggest() hit an assert that
    # assumed only a cost cap could rule out every candidate.
    optimizer = CARBS(
        CARBSParams(better_direction_sign=-1, exploration_bias=1e200, num_random_samples=2),
        params(),
    )
    logs = []
    for step in range(4):
        out = optimizer.suggest()
        logs.append(out.log)
        optimizer.observe(ObservationInParam(out.suggestion, float(step), cost=1.0 + step))
    assert logs[2]["suggestion_type"] == "bayesian"
    assert "no candidate has a finite score (exploration_bias=1e+200)" in logs[2]["warning"]


# -- numpy's scalars are Python's; what is not a JSON scalar is no choice ------------------------
@pytest.mark.parametrize("lookalike", [np.array([2]), np.array(2), Decimal(2), Fraction(2, 1)])
def test_a_value_that_only_compares_equal_to_a_choice_is_refused(lookalike: Any) -> None:
    # Accepted as the choice 2 by ==, then saved as [2] or "2": a file that never loaded.
    choice = CategoricalSpace(choices=[1, 2, "a"])
    with pytest.raises(InvalidParamError, match="search_center"):
        Param("c", choice, search_center=lookalike)
    optimizer = CARBS(CARBSParams(), [Param("c", choice, 2), Param("x", LinearSpace(), 0.0)])
    with pytest.raises(InvalidObservationError, match="'c'"):
        optimizer.observe(ObservationInParam({"c": lookalike, "x": 0.0}, 1.0, cost=1.0))
    with pytest.raises(InvalidObservationError, match="'c'"):  # not numpy's own ValueError
        optimizer.observe(ObservationInParam({"c": np.array([2, 2]), "x": 0.0}, 1.0, cost=1.0))
    assert optimizer.observation_count == 0


def test_numpy_scalars_are_taken_as_the_python_values_they_hold(tmp_path: Path) -> None:
    config = CARBSParams(is_saved_on_every_observation=np.True_, checkpoint_dir=tmp_path)
    assert config.is_saved_on_every_observation is True
    with pytest.raises(InvalidConfigError, match="checkpoint_dir"):  # np.True_ is not True
        CARBSParams(is_saved_on_every_observation=np.True_, checkpoint_dir=None)
    assert LinearSpace(is_integer=np.True_, min=0, max=10).is_integer is True
    assert OrdinalSpace(values=[1, 10, 100], is_log=np.True_).is_log is True
    flags = CategoricalSpace(choices=[np.True_, "x"])
    assert flags.choices == (True, "x") and type(flags.choices[0]) is bool
    fixed = Param("flag", FixedSpace(), search_center=np.True_)
    assert fixed.search_center is True
    CARBS(CARBSParams(), [fixed, Param("c", flags, np.True_)]).save(tmp_path / "s.json")
    assert CARBS.load(tmp_path / "s.json").params[1].search_center is True


def test_an_ordinal_centre_past_the_float_range_is_a_param_error() -> None:
    with pytest.raises(InvalidParamError, match="search_center=1000"):
        Param("bs", OrdinalSpace(values=[16, 32, 64]), search_center=10**400)


def test_a_probability_within_float_range_of_0_or_1_comes_back_legal() -> None:
    # 5e-324 came back 0.0 from its round trip, outside (0, 1): the run could be
    # reported but never stopped, and best() named an input observe() refused.
    optimizer = CARBS(CARBSParams(), [Param("p", LogitSpace(), search_center=0.5)])
    for i, p in enumerate((5e-324, math.nextafter(1.0, 0.0))):
        suggestion = {"p": p, "suggestion_uuid": f"run{i}"}
        optimizer.add_outstanding_suggestion(suggestion)
        optimizer.report(suggestion, 1.0, 1.0)
        optimizer.stop(suggestion)
    low, high = optimizer.to_dataframe()["p"]
    assert low == 5e-324 and 0.999999 < high < 1.0


def test_a_run_that_costs_less_than_it_reported_is_refused() -> None:
    optimizer = CARBS(CARBSParams(better_direction_sign=-1), params())
    suggestion = optimizer.suggest().suggestion
    optimizer.report(suggestion, 2.0, cost=30.0)
    with pytest.raises(InvalidObservationError, match=r"less than the 30\.0 it had spent"):
        optimizer.observe(ObservationInParam(suggestion, 1.0, cost=3.0))  # hours vs minutes
    assert optimizer.observation_count == 0
    optimizer.observe(ObservationInParam(suggestion, 1.0, cost=30.0 * (1 - 1e-12)))  # rounding
    assert optimizer.observation_count == 1


def test_adding_a_running_suggestion_again_keeps_what_it_was_suggested_with() -> None:
    optimizer = CARBS(CARBSParams(num_random_samples=1, resample_frequency=0), params())
    optimizer.observe(ObservationInParam(optimizer.suggest().suggestion, 1.0, cost=2.0))
    out = optimizer.suggest()
    optimizer.add_outstanding_suggestion(out.suggestion)  # a worker re-syncing
    log = optimizer.outstanding_suggestions[out.suggestion["suggestion_uuid"]].log_info
    assert log["suggestion_type"] == "bayesian" and log["predicted_cost"] > 0
