"""pareto_front(), predict() and to_dataframe(): the analysis views of an optimizer."""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np
import pytest

from carbs import (
    CARBS,
    CARBSParams,
    InsufficientDataError,
    InvalidObservationError,
    LinearSpace,
    LogSpace,
    ObservationInParam,
    Param,
    ParetoMember,
    Predictions,
)
from carbs.tables import DATAFRAME_COLUMNS

PARAM_NAMES = ["lr", "width", "x"]


def _params() -> list[Param]:
    return [
        Param("lr", LogSpace(scale=0.5, min=1e-5, max=1.0), search_center=1e-3),
        Param("width", LogSpace(is_integer=True, min=8, max=4096), search_center=64),
        Param("x", LinearSpace(min=-5.0, max=5.0), search_center=0.0),
    ]


def _loss(point: dict[str, Any]) -> float:
    return (math.log10(point["lr"]) + 3) ** 2 + 10 / point["width"] ** 0.5 + point["x"] ** 2


def _observation(point: dict[str, Any], is_failure: bool = False) -> ObservationInParam:
    return ObservationInParam(
        input=point,
        output=math.nan if is_failure else _loss(point),
        cost=float(point["width"]),
        is_failure=is_failure,
    )


def _grid_observations() -> list[ObservationInParam]:
    """Deterministic observations, some failed, interleaved, one input repeated."""
    rng = np.random.default_rng(0)
    observations = []
    for i in range(14):
        point = {
            "lr": float(10 ** rng.uniform(-3.5, -2.5)),
            "width": int(2 ** rng.integers(3, 11)),
            "x": float(rng.uniform(-1.5, 1.5)),
        }
        observations.append(_observation(point, is_failure=i % 5 == 3))
    observations.append(_observation(dict(observations[0].input)))  # a repeat
    return observations


def _carbs(seed: int = 0) -> CARBS:
    carbs = CARBS(CARBSParams(better_direction_sign=-1, seed=seed), _params())
    carbs.initialize_from_observations(_grid_observations())
    return carbs


# -- pareto_front ------------------------------------------------------------------------------
def test_pareto_front_matches_get_pareto_groups() -> None:
    carbs = _carbs()
    front = carbs.pareto_front()
    groups = carbs.get_pareto_groups()
    assert len(front) == len(groups) >= 2
    for member, group in zip(front, groups, strict=True):
        assert isinstance(member, ParetoMember)
        assert member.params == carbs.search_space.param_dict_from_basic(group.input_in_basic)
        assert member.output == pytest.approx(group.mean_output)
        assert member.cost == pytest.approx(group.mean_cost)
        assert member.count == group.count
    assert [m.cost for m in front] == sorted(m.cost for m in front)
    assert isinstance(front[0].params["width"], int)


def test_pareto_front_is_empty_without_successes() -> None:
    carbs = CARBS(CARBSParams(), _params())
    assert carbs.pareto_front() == []
    point = {"lr": 1e-3, "width": 64, "x": 0.0}
    carbs.observe(_observation(point, is_failure=True))
    assert carbs.pareto_front() == []


# -- predict -------------------------------------------------------------------------------------
def test_predict_returns_one_prediction_per_point() -> None:
    carbs = _carbs()
    points = [{"lr": 1e-3, "width": 64, "x": 0.0}, {"lr": 3e-3, "width": 256, "x": 1.0}]
    predictions = carbs.predict(points)
    assert isinstance(predictions, Predictions)
    assert len(predictions) == 2
    for array in (
        predictions.output_mean,
        predictions.output_std,
        predictions.cost,
        predictions.success_probability,
    ):
        assert isinstance(array, np.ndarray) and array.shape == (2,)
        assert array.dtype == np.float64 and np.isfinite(array).all()
    assert (predictions.output_std > 0).all()
    assert ((predictions.success_probability >= 0) & (predictions.success_probability <= 1)).all()
    # Cost is exactly `width` in the data, and the cost GP is smooth in log width.
    assert predictions.cost[0] == pytest.approx(64.0, rel=0.25)
    assert predictions.cost[1] == pytest.approx(256.0, rel=0.25)
    rows = predictions.to_dicts()
    assert rows[1]["width"] == 256 and set(rows[1]) >= {"output_mean", "cost"}


def test_predict_is_close_to_observed_outputs() -> None:
    carbs = _carbs()
    observed = [o for o in _grid_observations() if not o.is_failure][:4]
    predictions = carbs.predict([o.input for o in observed])
    spread = np.ptp([o.output for o in _grid_observations() if not o.is_failure])
    for i, observation in enumerate(observed):
        assert abs(float(predictions.output_mean[i]) - observation.output) < 0.25 * spread


@pytest.mark.parametrize("count", [2, 3])
def test_predict_gives_each_point_what_it_gives_it_alone(count: int) -> None:
    """The success model has two latent functions; asked about exactly two points at
    once, its prior variances were broadcast across the two functions, so the points'
    success probabilities mixed (and could come out NaN)."""
    carbs = _carbs()
    points = [
        {"lr": 1e-3, "width": 64, "x": 0.0},
        {"lr": 3e-3, "width": 256, "x": 1.0},
        {"lr": 1e-5, "width": 4096, "x": -5.0},
    ][:count]
    together = carbs.predict(points)
    alone = [carbs.predict([point]) for point in points]
    for field in ("success_probability", "output_mean", "output_std", "cost"):
        expected = [float(getattr(p, field)[0]) for p in alone]
        np.testing.assert_allclose(getattr(together, field), expected, rtol=1e-6)


def test_predict_accepts_a_single_dict_and_a_suggestion_uuid() -> None:
    carbs = _carbs()
    point = {"lr": 1e-3, "width": 64, "x": 0.0, "suggestion_uuid": "abc"}
    predictions = carbs.predict(point)
    assert len(predictions) == 1
    assert predictions.points == [{"lr": 1e-3, "width": 64, "x": 0.0}]


def test_a_prediction_of_many_points_prints_in_a_few_lines() -> None:
    # Printed in a notebook, the points' dicts came out in full: 60,000 characters
    # for a grid of 2000 points.
    carbs = _carbs()
    grid = [{"lr": 1e-3, "width": 8 * (1 + i % 64), "x": i / 1000} for i in range(2000)]
    text = repr(carbs.predict(grid))
    assert text.startswith("Predictions(2000 points of ['lr', 'width', 'x']; output_mean=[")
    assert len(text) < 600


def test_predict_is_deterministic() -> None:
    carbs = _carbs()
    points = [{"lr": 2e-3, "width": 128, "x": -0.5}]
    first, second = carbs.predict(points), carbs.predict(points)
    np.testing.assert_array_equal(first.output_mean, second.output_mean)
    np.testing.assert_array_equal(first.output_std, second.output_std)


@pytest.mark.parametrize(
    "points",
    [
        [],
        [{"lr": 1e-3, "width": 64}],  # missing key
        [{"lr": 1e-3, "width": 64, "x": 0.0, "y": 1.0}],  # unknown key
        [{"lr": 1e-3, "width": 64, "x": 9.0}],  # out of bounds
        [{"lr": 1e-3, "width": 64, "x": math.nan}],
        [{"lr": 1e-3, "width": 64, "x": "zero"}],
        "lr=1e-3",
        [3.0],
    ],
)
def test_predict_validates_points(points: Any) -> None:
    carbs = _carbs()
    with pytest.raises(InvalidObservationError):
        carbs.predict(points)


def test_predict_needs_a_success() -> None:
    carbs = CARBS(CARBSParams(), _params())
    point = {"lr": 1e-3, "width": 64, "x": 0.0}
    with pytest.raises(InsufficientDataError, match="successful observation"):
        carbs.predict([point])
    carbs.observe(_observation(point, is_failure=True))
    with pytest.raises(InsufficientDataError):
        carbs.predict([point])
    carbs.observe(_observation(point))
    assert len(carbs.predict([point])) == 1


def _run(carbs: CARBS, steps: int, predict_between: bool) -> list[dict[str, Any]]:
    suggestions = []
    for _ in range(steps):
        if predict_between:
            carbs.predict([{"lr": 1e-3, "width": 64, "x": 0.0}])
        suggestion = carbs.suggest().suggestion
        suggestion.pop("suggestion_uuid")
        suggestions.append(suggestion)
        carbs.observe(_observation(suggestion, is_failure=suggestion["x"] > 1.2))
    return suggestions


def test_predict_does_not_change_later_suggestions() -> None:
    plain = _run(_carbs(seed=7), steps=4, predict_between=False)
    with_predict = _run(_carbs(seed=7), steps=4, predict_between=True)
    assert plain == with_predict


def test_predict_with_pending_suggestions_does_not_change_them() -> None:
    first, second = _carbs(seed=3), _carbs(seed=3)
    pending_a = first.suggest("pending").suggestion
    pending_b = second.suggest("pending").suggestion
    assert pending_a == pending_b
    second.predict([{"lr": 1e-3, "width": 64, "x": 0.0}])
    a, b = first.suggest().suggestion, second.suggest().suggestion
    a.pop("suggestion_uuid")
    b.pop("suggestion_uuid")
    assert a == b


# -- to_dataframe --------------------------------------------------------------------------------
def test_dataframe_has_one_row_per_observation_in_order() -> None:
    pytest.importorskip("pandas")
    observations = _grid_observations()
    carbs = _carbs()
    frame = carbs.to_dataframe()
    assert list(frame.columns) == [*PARAM_NAMES, *DATAFRAME_COLUMNS]
    assert len(frame) == carbs.observation_count == len(observations)
    assert frame["is_failure"].tolist() == [o.is_failure for o in observations]
    for row, observation in zip(frame.itertuples(), observations, strict=True):
        assert row.width == observation.input["width"]
        assert row.lr == pytest.approx(observation.input["lr"], rel=1e-12)
        assert row.x == pytest.approx(observation.input["x"], abs=1e-12)
        assert row.cost == observation.cost
        if observation.is_failure:
            assert math.isnan(row.output) and not row.is_pareto
        else:
            assert row.output == pytest.approx(observation.output)
    assert frame["observed_at"].is_monotonic_increasing
    assert str(frame["observed_at"].dt.tz) == "UTC"
    assert frame["suggestion_id"].isna().all()


def test_dataframe_marks_the_current_front() -> None:
    pytest.importorskip("pandas")
    carbs = _carbs()
    frame = carbs.to_dataframe()
    front = carbs.pareto_front()
    # Every observation of a front member is marked, so repeats count once per run.
    assert frame["is_pareto"].sum() == sum(m.count for m in front)
    marked = frame[frame["is_pareto"]]
    assert sorted(set(marked["cost"])) == sorted({m.cost for m in front})


def test_dataframe_keeps_suggestion_ids_and_interleaving() -> None:
    pytest.importorskip("pandas")
    carbs = CARBS(CARBSParams(better_direction_sign=-1), _params())
    flags = [False, True, False, False, True]
    for is_failure in flags:
        suggestion = carbs.suggest().suggestion
        carbs.observe(_observation(suggestion, is_failure=is_failure))
    frame = carbs.to_dataframe()
    assert frame["is_failure"].tolist() == flags
    assert frame["suggestion_id"].notna().all()
    assert frame["suggestion_id"].nunique() == len(flags)


def test_dataframe_of_an_empty_optimizer() -> None:
    pytest.importorskip("pandas")
    frame = CARBS(CARBSParams(), _params()).to_dataframe()
    assert len(frame) == 0
    assert list(frame.columns) == [*PARAM_NAMES, *DATAFRAME_COLUMNS]


def test_dataframe_without_pandas_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"carbs-hpo\[pandas\]"):
        _carbs().to_dataframe()
