"""The analysis views at their edges: a cost cap met exactly, non-default front rules,
and predictions that use failures and stopped runs as the suggestions' models do."""

from __future__ import annotations

import math
from typing import Any

import pytest
from scipy import stats

from carbs import (
    CARBS,
    CARBSParams,
    CARBSValueError,
    LogSpace,
    ObservationInParam,
    Param,
)
from carbs.projection import Projection


def params() -> list[Param]:
    return [
        Param("lr", LogSpace(min=1e-5, max=1.0), search_center=1e-3),
        Param("width", LogSpace(is_integer=True, min=8, max=4096), search_center=64),
    ]


def run(lr: float, width: int, output: float, **kwargs: Any) -> ObservationInParam:
    return ObservationInParam({"lr": lr, "width": width}, output, cost=float(width), **kwargs)


# -- best() under a cost cap --------------------------------------------------------------------
def test_best_under_a_cap_includes_a_run_that_cost_exactly_the_cap() -> None:
    optimizer = CARBS(CARBSParams(better_direction_sign=-1), params())
    optimizer.observe_many([run(1e-3, 64, 1.0), run(1e-3, 128, 0.5)])
    best = optimizer.best(max_cost=128.0)
    assert best is not None and best.cost == 128.0 and best.output == 0.5
    with pytest.raises(CARBSValueError, match="max_cost"):
        optimizer.best(max_cost=0.0)  # nothing costs 0: a cap of 0 is a mistake


# -- the front's rules reach every view ----------------------------------------------------------
def _groups(config: CARBSParams, groups: list[tuple[tuple[float, ...], float]]) -> CARBS:
    """Maximising; each group's runs share an lr (the group's index) and a cost."""
    optimizer = CARBS(config, params())
    optimizer.observe_many(
        [
            ObservationInParam({"lr": 10.0 ** -(1 + i), "width": 64}, output, cost=cost)
            for i, (outputs, cost) in enumerate(groups)
            for output in outputs
        ]
    )
    return optimizer


@pytest.mark.parametrize(
    ("setting", "groups", "fraction", "on", "off"),
    [
        # pareto.py's example: B (0.6) beats A's mean (0.5), not its best sample (1.0).
        (
            "is_pareto_group_selection_conservative",
            [((0.0, 1.0), 1.0), ((0.6,), 2.0), ((0.55, 0.75), 3.0), ((0.8,), 4.0)],
            0.2,
            [1.0, 3.0, 4.0],
            [1.0, 2.0, 3.0, 4.0],
        ),
        # A single cheap run (0.9) challenges the resampled group's best sample (0.7).
        (
            "is_pareto_bucket_challenged",
            [((0.6, 0.7), 1.0), ((0.8,), 5.0), ((0.9,), 1.0), ((0.75,), 1.0)],
            0.5,
            [1.0],
            [1.0, 5.0],
        ),
    ],
)
def test_every_view_of_the_front_follows_the_configured_rule(
    setting: str,
    groups: list[tuple[tuple[float, ...], float]],
    fraction: float,
    on: list[float],
    off: list[float],
) -> None:
    for is_on, expected in ((True, on), (False, off)):
        config = CARBSParams(min_pareto_cost_fraction=fraction, **{setting: is_on})
        optimizer = _groups(config, groups)
        assert [g.mean_cost for g in optimizer.get_pareto_groups()] == expected
        assert [m.cost for m in optimizer.pareto_front()] == expected
        frame = optimizer.to_dataframe()
        assert sorted(set(frame.loc[frame["is_pareto"], "cost"])) == expected


def test_every_view_of_the_front_follows_the_configured_tie_order() -> None:
    # Two runs of equal cost, the worse recorded first: with ties taken better first
    # only the better one joins the front; in recording order both do.
    groups = [((0.1,), 1.0), ((0.3,), 5.0), ((0.5,), 5.0)]
    for is_on, expected in ((True, [1.0, 5.0]), (False, [1.0, 5.0, 5.0])):
        config = CARBSParams(is_pareto_tie_better_first=is_on)
        optimizer = _groups(config, groups)
        assert [m.cost for m in optimizer.pareto_front()] == expected
        assert sorted(optimizer.to_dataframe().query("is_pareto")["cost"]) == expected


# -- predict() sees what the suggestions' models see -------------------------------------------
def test_predict_learns_where_runs_fail() -> None:
    optimizer = CARBS(CARBSParams(better_direction_sign=-1), params())
    runs = [run(10 ** (-4 + 0.25 * i), 64, 1.0 + 0.01 * i) for i in range(8)]
    runs += [run(10 ** (-0.9 + 0.1 * i), 64, math.nan, is_failure=True) for i in range(6)]
    optimizer.observe_many(runs)
    predictions = optimizer.predict([{"lr": 1e-3, "width": 64}, {"lr": 0.5, "width": 64}])
    safe, failing = predictions.success_probability
    assert safe > 0.8 and failing < 0.5


def test_predict_sees_a_stopped_run_at_its_projection_not_its_partial_output() -> None:
    # A run stopped at 0.1 (its loss a fifth of the way in) projected to end at 5.0:
    # read as a final output, the region would look the best of the sweep.
    optimizer = CARBS(CARBSParams(better_direction_sign=-1), params())
    runs = [run(10 ** (-4 + 0.4 * i), 64, 3.0 + 0.1 * i) for i in range(8)]
    optimizer.observe_many(runs)
    there = {"lr": 1e-2, "width": 64}
    before = float(optimizer.predict(there).output_mean[0])  # about 3.5
    optimizer.observe(run(1e-2, 64, 0.1, is_stopped=True, projected_output=5.0))
    assert float(optimizer.predict(there).output_mean[0]) > before + 0.05  # pulled up


# -- the projection's distribution ---------------------------------------------------------------
def test_a_projection_is_a_student_t_and_widens_in_its_own_unit() -> None:
    # With few completed curves the t's heavier tails matter: 0.070 against a
    # normal's 0.023 two scales out, at three degrees of freedom.
    projection = Projection(unit_mean=0.0, unit_scale=1.0, dof=3)
    assert projection.probability_above(2.0) == pytest.approx(float(stats.t.sf(2.0, 3)))
    far = Projection(unit_mean=1.0, unit_scale=1e-3, dof=5, unit=2.0**600)
    widened = far.at_least_as_wide_as(2.0**599)
    assert widened.scale == pytest.approx(2.0**599)
    assert far.at_least_as_wide_as(0.0).scale == far.scale
