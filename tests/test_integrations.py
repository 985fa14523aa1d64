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


def test_runs_recorded_at_once_are_logged_once(fake_wandb: dict[str, Any]) -> None:
    # observe_many() and initialize_from_observations() logged nothing: the W&B run's
    # counts and best stayed stale until the next observe().
    carbs = CARBS(CARBSParams(is_wandb_logging_enabled=True), PARAMS)
    carbs.observe_many(
        [ObservationInParam({"lr": 1e-2}, 0.1, 3.0), ObservationInParam({"lr": 1e-4}, 0.9, 1.0)]
    )
    carbs.initialize_from_observations([ObservationInParam({"lr": 1e-3}, 0.05, 2.0)])
    logged = fake_wandb["run"].logged
    assert [(x["observation_count"], x["added"]) for x in logged] == [(2, 2), (3, 1)]
    assert logged[0]["observation/lr"] == 1e-4 and logged[1]["best_observation/output"] == 0.9


def test_a_diagnostic_named_like_a_param_does_not_take_its_place(
    fake_wandb: dict[str, Any],
) -> None:
    # A param named predicted_cost was logged with the model's predicted cost.
    params = [Param("predicted_cost", LogSpace(min=1.0, max=100.0), search_center=10.0)]
    carbs = CARBS(CARBSParams(is_wandb_logging_enabled=True, num_random_samples=1), params)
    carbs.observe(ObservationInParam({"predicted_cost": 10.0}, 0.5, 2.0))
    suggestion = carbs.suggest().suggestion
    logged = fake_wandb["run"].logged[-1]
    assert logged["suggestion/predicted_cost"] == suggestion["predicted_cost"]
    assert logged["suggestion_log/predicted_cost"] != suggestion["predicted_cost"]
