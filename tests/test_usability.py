"""First contact: progress lines, the small conveniences, and what ``import carbs`` costs."""

from __future__ import annotations

import json
import logging
import math
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import carbs
from carbs import (
    CARBS,
    SUGGESTION_ID_DICT_KEY,
    CARBSParams,
    CARBSValueError,
    InvalidObservationError,
    LinearSpace,
    LogSpace,
    ObservationInParam,
    Param,
)


def params() -> list[Param]:
    return [
        Param("learning_rate", LogSpace(min=1e-6, max=1.0), search_center=1e-3),
        Param("width", LogSpace(is_integer=True, min=8, max=4096), search_center=64),
    ]


def train(learning_rate: float, width: int) -> tuple[float, float]:
    return (math.log10(learning_rate) + 3) ** 2 + 10 / width**0.5, width / 8


@pytest.fixture
def info_level() -> Iterator[None]:
    """The default verbosity (INFO) for one test, whatever other tests set."""
    level = carbs.get_verbosity()
    carbs.set_verbosity(logging.INFO)
    carbs.enable_default_handler()
    yield
    carbs.set_verbosity(level)


# -- progress you can see ------------------------------------------------------------------------
def test_one_progress_line_per_observation_on_stderr(
    info_level: None, capsys: pytest.CaptureFixture[str]
) -> None:
    optimizer = CARBS(CARBSParams(better_direction_sign=-1), params())
    outputs = []
    for _ in range(4):
        out = optimizer.suggest()
        loss, seconds = train(**out.params)
        outputs.append(loss)
        optimizer.observe(ObservationInParam(out.suggestion, loss, cost=seconds))
    failed = optimizer.suggest().suggestion
    optimizer.observe(ObservationInParam(failed, math.nan, cost=1.0, is_failure=True))
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("[carbs I")]
    assert len(lines) == 5
    first = lines[0]
    assert "#0 " in first and f"output={outputs[0]:.6g}" in first and "cost=" in first
    assert "joined the Pareto front (1 members)" in first  # the first run is the front
    assert "best at cost <=" in first
    assert all(f"#{i} " in line for i, line in enumerate(lines))
    assert "#4 failed" in lines[4] and "1 failed in a row" in lines[4]


def test_verbosity_hides_progress_but_never_warnings(
    info_level: None, capsys: pytest.CaptureFixture[str]
) -> None:
    carbs.set_verbosity(logging.WARNING)
    assert carbs.get_verbosity() == logging.WARNING
    optimizer = CARBS(CARBSParams(num_random_samples=1000), params())
    for step in range(carbs.progress.FAILURE_STREAK_WARNING):
        suggestion = optimizer.suggest().suggestion
        optimizer.observe(ObservationInParam(suggestion, math.nan, cost=1.0, is_failure=True))
        if step == 0:
            assert capsys.readouterr().err == ""  # no INFO line at WARNING verbosity
    warned = capsys.readouterr().err
    assert "[carbs W" in warned and "the last 30 runs all failed" in warned

    # Recorded at once, a streak that a success ended inside the batch went unreported.
    runs = [
        ObservationInParam({"learning_rate": 1e-4, "width": 8 + i}, math.nan, 1.0, True)
        for i in range(35)
    ]
    runs.append(ObservationInParam({"learning_rate": 1e-3, "width": 64}, 1.0, 1.0))
    CARBS(CARBSParams(), params()).observe_many(runs)
    assert "35 runs in a row failed: check the training script" in capsys.readouterr().err

    carbs.set_verbosity("ERROR")  # a level's name, as logging takes it
    assert carbs.get_verbosity() == logging.ERROR
    carbs.set_verbosity(np.int64(logging.DEBUG))
    assert carbs.get_verbosity() == logging.DEBUG
    for bad in ("loud", True, -1, 2.5, None):
        with pytest.raises(CARBSValueError, match="level must be a logging level"):
            carbs.set_verbosity(bad)  # type: ignore[arg-type]
        assert carbs.get_verbosity() == logging.DEBUG  # nothing changed


def test_applications_can_route_records_through_their_own_logging(
    info_level: None, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    carbs.disable_default_handler()
    try:
        optimizer = CARBS(CARBSParams(), params())
        with caplog.at_level(logging.INFO):
            optimizer.observe(ObservationInParam(optimizer.suggest().suggestion, 1.0, 2.0))
    finally:
        carbs.enable_default_handler()
    assert "[carbs" not in capsys.readouterr().err
    assert any(r.name == "carbs" and "#0 output=1" in r.getMessage() for r in caplog.records)


def test_reloading_the_module_keeps_one_progress_handler() -> None:
    # IPython's %autoreload reloads carbs.progress: its new handler joined the old one,
    # and every progress line printed twice.
    script = (
        "import importlib, logging, carbs.progress\n"
        "importlib.reload(carbs.progress)\n"
        "carbs.enable_default_handler()\n"
        "print(len(logging.getLogger('carbs').handlers))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.split() == ["1"]


# -- small conveniences --------------------------------------------------------------------------
def test_suggestion_params_feed_the_training_function_directly() -> None:
    optimizer = CARBS(CARBSParams(), params())
    out = optimizer.suggest()
    assert set(out.params) == {"learning_rate", "width"}
    assert SUGGESTION_ID_DICT_KEY in out.suggestion
    train(**out.params)  # no unexpected 'suggestion_uuid'


def test_best_overall_and_within_a_budget() -> None:
    optimizer = CARBS(CARBSParams(better_direction_sign=-1), params())
    assert optimizer.best() is None
    runs = [
        ({"learning_rate": 1e-3, "width": 8}, 3.0, 1.0),
        ({"learning_rate": 1e-3, "width": 64}, 2.0, 8.0),
        ({"learning_rate": 1e-3, "width": 512}, 1.0, 64.0),
        ({"learning_rate": 1e-1, "width": 512}, 0.5, 64.0),
    ]
    for inputs, loss, cost in runs:
        failed = inputs["learning_rate"] == 1e-1
        optimizer.observe(ObservationInParam(inputs, loss, cost, is_failure=failed))
    best = optimizer.best()
    assert best is not None and best.output == 1.0 and best.input["width"] == 512
    cheap = optimizer.best(max_cost=10.0)
    assert cheap is not None and cheap.output == 2.0 and cheap.cost == 8.0
    assert optimizer.best(max_cost=0.5) is None
    with pytest.raises(CARBSValueError, match="max_cost"):
        optimizer.best(max_cost=-1.0)


def test_suggest_with_a_count_says_how_to_ask_for_several() -> None:
    with pytest.raises(InvalidObservationError, match="suggest_batch"):
        CARBS(CARBSParams(), params()).suggest(4)  # type: ignore[arg-type]


def test_a_typo_reports_the_missing_and_the_unknown_name() -> None:
    optimizer = CARBS(CARBSParams(), params())
    typo = {"learning_rte": 1e-3, "width": 64}
    with pytest.raises(InvalidObservationError) as info:
        optimizer.observe(ObservationInParam(typo, 1.0, 1.0))
    assert "learning_rate" in str(info.value) and "learning_rte" in str(info.value)


def test_repr_says_what_the_sweep_holds() -> None:
    """A REPL or notebook shows the direction, the params, the runs by kind, what is running
    and the best run, and looking changes nothing."""
    optimizer = CARBS(CARBSParams(better_direction_sign=-1, num_random_samples=2), params())
    assert repr(optimizer) == "CARBS(minimize over ['learning_rate', 'width']: no runs yet)"
    outputs = [3.0, 1.0, math.nan, 2.0]
    for output in outputs:
        suggestion = optimizer.suggest().suggestion
        cost = 10.0 if output == 1.0 else 5.0
        optimizer.observe(ObservationInParam(suggestion, output, cost))
    running = optimizer.suggest().suggestion
    state = optimizer.serialize()
    text = repr(optimizer)
    assert text == (
        "CARBS(minimize over ['learning_rate', 'width']: 4 runs (3 completed, 0 stopped, "
        f"1 failed), 1 running; front of {len(optimizer.pareto_front())}, best 1 at cost 10)"
    )
    assert optimizer.serialize() == state
    optimizer.forget_suggestion(running)
    maximizing = CARBS(CARBSParams(better_direction_sign=1), params())
    maximizing.observe(ObservationInParam({"learning_rate": 1e-3, "width": 64}, 0.5, 2.0))
    assert repr(maximizing).startswith("CARBS(maximize") and "best 0.5 at cost 2)" in repr(
        maximizing
    )


def test_cumulative_and_total_cost_name_what_they_count() -> None:
    optimizer = CARBS(CARBSParams(), params())
    optimizer.observe(ObservationInParam(optimizer.suggest().suggestion, 1.0, cost=2.0))
    optimizer.observe(
        ObservationInParam(optimizer.suggest().suggestion, math.nan, cost=5.0, is_failure=True)
    )
    assert optimizer.cumulative_cost == 2.0  # successes, as in the original release
    assert optimizer.total_cost == 7.0  # everything spent
    logs = optimizer.observe(ObservationInParam(optimizer.suggest().suggestion, 1.0, 1.0)).logs
    assert (logs["cumulative_cost"], logs["total_cost"]) == (3.0, 8.0)


def test_predict_returns_numpy_and_floats() -> None:
    optimizer = CARBS(CARBSParams(), [Param("x", LinearSpace(min=-1, max=1), 0.0)])
    for x in (-0.5, 0.0, 0.5):
        optimizer.observe(ObservationInParam({"x": x}, x**2, 1.0 + x))
    predictions = optimizer.predict({"x": 0.25})
    assert type(predictions.output_mean).__module__ == "numpy"
    assert all(type(value) is float for value in predictions.to_dicts()[0].values())


# -- what import carbs costs ---------------------------------------------------------------------
def _modules_after(code: str) -> dict[str, Any]:
    script = f"import sys\n{code}\nimport json\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    return {name: True for name in json.loads(result.stdout.splitlines()[-1])}


def test_import_carbs_loads_only_what_the_core_needs() -> None:
    modules = _modules_after("import carbs")
    for heavy in ("scipy.stats", "matplotlib", "pandas", "optuna", "wandb", "ray"):
        assert heavy not in modules, heavy
    # carbs.plotting is there on first use, still without importing matplotlib.
    modules = _modules_after("import carbs\ncarbs.plotting.plot_pareto_front")
    assert "carbs.plotting" in modules and "matplotlib" not in modules
