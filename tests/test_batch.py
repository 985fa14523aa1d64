"""Many workers through one optimizer: suggest_batch(k) (k distinct suggestions from one
model fit, each later one seeing the earlier ones as pending), and the calls an engine
uses to mirror runs made elsewhere (observe_many, add_outstanding_suggestion, reseed)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest
import torch
from linear_operator.utils.warnings import NumericalWarning

from carbs import (
    CARBS,
    SUGGESTION_ID_DICT_KEY,
    CARBSParams,
    CARBSValueError,
    InvalidObservationError,
    LogSpace,
    ObservationInParam,
    OrdinalSpace,
    Param,
)
from carbs import suggestions as suggestions_module
from carbs.surrogate.model import SurrogateModel

PARAMS = [
    Param("lr", LogSpace(min=1e-5, max=1.0), search_center=1e-3),
    Param("width", LogSpace(min=4.0, max=1024.0), search_center=32.0),
]


def loss(values: dict[str, Any]) -> float:
    return (math.log10(values["lr"]) + 2.5) ** 2 + 1.0 / values["width"]


def observed_optimizer(runs: int = 8, **config: Any) -> CARBS:
    """An optimizer past its warm-up with ``runs`` observations (no resamples)."""
    settings = dict(better_direction_sign=-1, num_random_samples=4, resample_frequency=0, seed=3)
    settings.update(config)
    optimizer = CARBS(CARBSParams(**settings), PARAMS)
    for _ in range(runs):
        suggestion = optimizer.suggest().suggestion
        optimizer.observe(ObservationInParam(suggestion, loss(suggestion), suggestion["width"]))
    return optimizer


def without_id(suggestion: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in suggestion.items() if k != SUGGESTION_ID_DICT_KEY}


def test_a_batch_of_one_is_exactly_suggest() -> None:
    single, batched = observed_optimizer(), observed_optimizer()
    for _ in range(3):
        one = single.suggest().suggestion
        (out,) = batched.suggest_batch(1)
        assert without_id(out.suggestion) == without_id(one)


def test_a_batch_fits_once_and_is_distinct_and_outstanding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    optimizer = observed_optimizer()
    fits = []
    real_fit = suggestions_module.fit_surrogate

    def counting_fit(*args: Any, **kwargs: Any) -> SurrogateModel:
        fits.append(1)
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(suggestions_module, "fit_surrogate", counting_fit)
    outputs = optimizer.suggest_batch(5)
    assert len(fits) == 1
    assert all(out.log["suggestion_type"] == "bayesian" for out in outputs)
    keys = {tuple(sorted(without_id(out.suggestion).items())) for out in outputs}
    assert len(keys) == 5
    ids = {out.suggestion[SUGGESTION_ID_DICT_KEY] for out in outputs}
    assert ids == set(optimizer.outstanding_suggestions)
    assert outputs[-1].log["outstanding_suggestion_count"] == 5


def record_pending(monkeypatch: pytest.MonkeyPatch) -> list[torch.Tensor]:
    """The points the performance GP is conditioned on as pending, in order (it still is)."""
    conditioned: list[torch.Tensor] = []
    real_add = SurrogateModel.add_pending

    def recording_add(self: SurrogateModel, pending: torch.Tensor, estimator: Any) -> None:
        conditioned.extend(pending)
        real_add(self, pending, estimator)

    monkeypatch.setattr(SurrogateModel, "add_pending", recording_add)
    return conditioned


def test_each_later_point_is_conditioned_on_the_earlier_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    optimizer = observed_optimizer()
    running = optimizer.suggest().suggestion  # outstanding before the batch
    conditioned = record_pending(monkeypatch)
    outputs = optimizer.suggest_batch(3)
    space = optimizer.search_space
    expected = [running] + [out.suggestion for out in outputs[:-1]]
    assert len(conditioned) == len(expected)
    for point, suggestion in zip(conditioned, expected, strict=True):
        assert torch.allclose(point, space.basic_from_param_dict(without_id(suggestion)))


def test_pending_fantasies_push_the_batch_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the fantasies the batch spreads out; with the pending step skipped, the
    points crowd together (the same model, the same candidates' best region)."""

    def spread(optimizer: CARBS) -> float:
        points = torch.stack(
            [
                optimizer.search_space.basic_from_param_dict(without_id(out.suggestion))
                for out in optimizer.suggest_batch(6, is_suggestion_remembered=False)
            ]
        )
        return float(torch.pdist(points).min())

    with_fantasies = spread(observed_optimizer(runs=12))
    monkeypatch.setattr(SurrogateModel, "add_pending", lambda self, pending, estimator: None)
    without = spread(observed_optimizer(runs=12))
    assert with_fantasies > without


def test_a_warm_up_batch_draws_distinct_points_around_the_centre() -> None:
    optimizer = CARBS(CARBSParams(num_random_samples=10, seed=1), PARAMS)
    outputs = optimizer.suggest_batch(4)
    assert [out.log["suggestion_type"] for out in outputs] == ["random"] * 4
    assert len({out.suggestion["lr"] for out in outputs}) == 4


@pytest.mark.parametrize("count", [0, -1, True, 2.0, "3", None])
def test_a_bad_count_is_refused_and_changes_nothing(count: Any) -> None:
    optimizer, twin = observed_optimizer(), observed_optimizer()
    with pytest.raises(InvalidObservationError, match="count"):
        optimizer.suggest_batch(count)
    assert not optimizer.outstanding_suggestions
    assert without_id(optimizer.suggest().suggestion) == without_id(twin.suggest().suggestion)


def test_a_numpy_count_is_a_count() -> None:
    optimizer, twin = observed_optimizer(), observed_optimizer()
    numpy_batch = optimizer.suggest_batch(np.int64(2))
    assert [without_id(o.suggestion) for o in numpy_batch] == [
        without_id(o.suggestion) for o in twin.suggest_batch(2)
    ]


def test_a_batch_larger_than_the_outstanding_cap_is_refused() -> None:
    optimizer = observed_optimizer(max_outstanding_suggestions=3)
    with pytest.raises(InvalidObservationError, match="max_outstanding_suggestions=3"):
        optimizer.suggest_batch(4)
    assert len(optimizer.suggest_batch(4, is_suggestion_remembered=False)) == 4


def test_a_batch_that_fails_midway_leaves_nothing_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    optimizer, twin = observed_optimizer(), observed_optimizer()
    real_choice = suggestions_module.bayesian_choice
    calls = []

    def failing_second(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise KeyError("a bug in the second choice")
        return real_choice(*args, **kwargs)

    monkeypatch.setattr(suggestions_module, "bayesian_choice", failing_second)
    with pytest.raises(KeyError):
        optimizer.suggest_batch(3)
    monkeypatch.setattr(suggestions_module, "bayesian_choice", real_choice)
    assert not optimizer.outstanding_suggestions
    assert without_id(optimizer.suggest().suggestion) == without_id(twin.suggest().suggestion)


def test_a_failed_fit_falls_back_once_for_the_whole_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    optimizer = observed_optimizer()

    def failing_fit(*args: Any, **kwargs: Any) -> SurrogateModel:
        raise torch.linalg.LinAlgError("not positive definite")

    monkeypatch.setattr(suggestions_module, "fit_surrogate", failing_fit)
    outputs = optimizer.suggest_batch(3)
    assert [out.log["suggestion_type"] for out in outputs] == ["fallback"] * 3
    assert optimizer.fallback_count == 1


# -- runs made elsewhere ---------------------------------------------------------------------------
def finished_runs(count: int) -> list[ObservationInParam]:
    source = CARBS(CARBSParams(num_random_samples=100, seed=9), PARAMS)
    runs = []
    for i in range(count):
        values = without_id(source.suggest(is_suggestion_remembered=False).suggestion)
        values[SUGGESTION_ID_DICT_KEY] = f"run-{i}"
        runs.append(ObservationInParam(values, loss(values), values["width"], is_failure=i == 2))
    return runs


def test_observe_many_records_in_order_without_moving_the_centre() -> None:
    runs = finished_runs(6)
    one_by_one = CARBS(CARBSParams(better_direction_sign=-1), PARAMS)
    for run in runs:
        one_by_one.observe(run)
    at_once = CARBS(CARBSParams(better_direction_sign=-1), PARAMS)
    logs = at_once.observe_many(runs).logs
    assert logs["added"] == 6 and logs["observation_count"] == 6
    assert [o.output for o in at_once.observations] == [o.output for o in one_by_one.observations]
    assert [o.is_failure for o in at_once.observations] == [False, False, True, False, False, False]
    assert torch.equal(at_once.search_center_in_basic, one_by_one.search_center_in_basic)
    with pytest.warns(RuntimeWarning, match="already observed with this result; ignored"):
        assert at_once.observe_many(runs[:2]).logs["added"] == 0  # exact repeats: no-ops
    assert without_id(at_once.suggest().suggestion) == without_id(one_by_one.suggest().suggestion)


def test_observe_many_checks_every_run_before_recording_any() -> None:
    runs = finished_runs(4)
    bad = ObservationInParam({"lr": 5.0, "width": 32.0}, 1.0, 1.0)
    optimizer = CARBS(CARBSParams(), PARAMS)
    with pytest.raises(InvalidObservationError, match="lr"):
        optimizer.observe_many([*runs, bad])
    assert optimizer.observation_count == 0
    with pytest.raises(InvalidObservationError, match="list"):
        optimizer.observe_many(runs[0])  # type: ignore[arg-type]


def test_a_run_started_elsewhere_is_outstanding_until_observed() -> None:
    optimizer = observed_optimizer()
    elsewhere = {"lr": 1e-3, "width": 64.0, SUGGESTION_ID_DICT_KEY: "worker-7"}
    optimizer.add_outstanding_suggestion(elsewhere)
    assert list(optimizer.outstanding_suggestions) == ["worker-7"]
    optimizer.observe(ObservationInParam(elsewhere, 0.5, 64.0))
    assert not optimizer.outstanding_suggestions
    assert optimizer.observations[-1].suggestion_type == "external"
    with pytest.raises(InvalidObservationError, match="suggestion_uuid"):
        optimizer.add_outstanding_suggestion({"lr": 1e-3, "width": 64.0})
    with pytest.raises(InvalidObservationError, match="width"):
        optimizer.add_outstanding_suggestion({"lr": 1e-3, SUGGESTION_ID_DICT_KEY: "x"})
    assert not optimizer.outstanding_suggestions


def test_an_outstanding_run_from_elsewhere_steers_the_next_suggestion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    optimizer = observed_optimizer()
    conditioned = record_pending(monkeypatch)
    elsewhere = {"lr": 2e-3, "width": 50.0, SUGGESTION_ID_DICT_KEY: "worker-7"}
    optimizer.add_outstanding_suggestion(elsewhere)
    optimizer.suggest(is_suggestion_remembered=False)
    expected = optimizer.search_space.basic_from_param_dict(without_id(elsewhere))
    assert len(conditioned) == 1 and torch.allclose(conditioned[0], expected)


def test_reseed_makes_the_next_suggestion_depend_on_the_seed_and_the_data() -> None:
    def optimizer(seed: int) -> CARBS:
        config = CARBSParams(
            better_direction_sign=-1, num_random_samples=4, resample_frequency=0, seed=seed
        )
        fresh = CARBS(config, PARAMS)
        fresh.observe_many(finished_runs(8))
        return fresh

    def next_point(optimizer: CARBS) -> dict[str, Any]:
        return optimizer.suggest(is_suggestion_remembered=False).suggestion

    assert next_point(optimizer(1)) != next_point(optimizer(2))
    first, second = optimizer(1), optimizer(2)
    first.reseed(11)
    second.reseed(11)
    a = next_point(first)
    assert a == next_point(second)
    third = optimizer(1)
    third.reseed(12)
    assert next_point(third) != a
    for bad in (-1, True, 1.5, "3"):
        with pytest.raises(CARBSValueError, match="seed"):
            first.reseed(bad)  # type: ignore[arg-type]


def test_repeated_pending_points_do_not_warn_on_every_suggest() -> None:
    # On a three-value lattice the pending points repeat each other and the runs, so
    # the fantasies' joint covariance is singular: linear_operator adds jitter and
    # would warn on each suggest while runs are outstanding.
    warned = []
    for seed in range(4):
        space = [Param("n", OrdinalSpace(values=[1, 2, 4]), search_center=2)]
        optimizer = CARBS(CARBSParams(seed=seed, checkpoint_dir=None), space)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for step in range(6):
                params = optimizer.suggest().suggestion
                optimizer.observe(
                    ObservationInParam(
                        input=params, output=params["n"] + 0.1 * step, cost=float(params["n"])
                    )
                )
            outstanding = [optimizer.suggest() for _ in range(4)]
        warned += [w for w in caught if issubclass(w.category, NumericalWarning)]
        assert len(optimizer.outstanding_suggestions) == len(outstanding)
    assert warned == []
