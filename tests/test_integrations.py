"""Weights & Biases logging, driven against a stand-in ``wandb`` module."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from carbs import CARBS, CARBSParams, LogSpace, ObservationInParam, Param, WandbLoggingParams


class FakeRun:
    def __init__(self) -> None:
        self.logged: list[dict[str, Any]] = []

    def log(self, values: dict[str, Any]) -> None:
        self.logged.append(values)


@pytest.fixture
def fake_wandb(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    calls: dict[str, Any] = {"run": FakeRun()}

    def init(**kwargs: Any) -> FakeRun:
        calls["init"] = kwargs
        return calls["run"]

    module = types.ModuleType("wandb")
    module.init = init  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "wandb", module)
    return calls


PARAMS = [Param("lr", LogSpace(min=1e-5, max=1.0), search_center=1e-3)]


def test_wandb_is_not_imported_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "wandb", raising=False)
    CARBS(CARBSParams(), PARAMS).suggest()
    assert "wandb" not in sys.modules


def test_wandb_logs_config_suggestions_and_observations(fake_wandb: dict[str, Any]) -> None:
    settings = WandbLoggingParams(project_name="p", run_name="r", run_id="abc")
    carbs = CARBS(CARBSParams(is_wandb_logging_enabled=True, wandb_params=settings), PARAMS)
    init = fake_wandb["init"]
    assert init["project"] == "p" and init["name"] == "r"
    assert init["id"] == "abc" and init["resume"] == "allow"
    assert init["config"]["carbs"]["outstanding_suggestion_estimator"] == "THOMPSON"
    assert init["config"]["search_space"]["lr"]["space"]["type"] == "LogSpace"

    suggestion = carbs.suggest().suggestion
    carbs.observe(ObservationInParam(input=suggestion, output=0.5, cost=2.0))
    logged = fake_wandb["run"].logged
    assert logged[0]["suggestion/lr"] == suggestion["lr"]
    assert logged[0]["suggestion/suggestion_type"] == "random"
    assert logged[1]["observation/output"] == 0.5
    assert logged[1]["observation_count"] == 1


def test_wandb_switches_respected(fake_wandb: dict[str, Any]) -> None:
    settings = WandbLoggingParams(is_suggestion_logged=False, is_search_space_logged=False)
    carbs = CARBS(CARBSParams(is_wandb_logging_enabled=True, wandb_params=settings), PARAMS)
    assert "search_space" not in fake_wandb["init"]["config"]
    suggestion = carbs.suggest().suggestion
    carbs.observe(ObservationInParam(input=suggestion, output=0.5, cost=2.0))
    assert [("observation_count" in x) for x in fake_wandb["run"].logged] == [True]


def test_wandb_missing_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "wandb", None)  # makes `import wandb` raise ImportError
    with pytest.raises(ImportError, match=r"carbs-hpo\[wandb\]"):
        CARBS(CARBSParams(is_wandb_logging_enabled=True), PARAMS)
