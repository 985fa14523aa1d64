"""Figures of carbs.plotting: panels, points, saving, and the missing-matplotlib message."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.axes import Axes
from matplotlib.collections import Collection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from carbs import (
    CARBS,
    CARBSParams,
    CARBSValueError,
    LinearSpace,
    LogitSpace,
    LogSpace,
    ObservationInParam,
    Param,
)
from carbs.plotting import plot_history, plot_pareto_front, plot_scaling_laws

NUM_SUCCESSES = 12
FAILED_INDICES = (3, 8)


def _carbs() -> CARBS:
    """Observations along a known front, with two failures and one repeated input."""
    params = [
        Param("n", LogSpace(min=1.0, max=1e12), search_center=1e3),
        Param("lin", LinearSpace(min=-10.0, max=10.0), search_center=0.0),
        Param("p", LogitSpace(), search_center=0.5),
    ]
    carbs = CARBS(CARBSParams(better_direction_sign=-1, min_pareto_cost_fraction=0.0), params)
    rng = np.random.default_rng(0)
    observations = []
    for i, log_cost in enumerate(np.linspace(1.0, 6.0, NUM_SUCCESSES)):
        inputs = {
            "n": float(2.0 * 10 ** (0.5 * log_cost + 0.05 * rng.normal())),
            "lin": float(0.3 * log_cost + 0.1 * rng.normal()),
            "p": float(1 / (1 + 10 ** (-0.2 * log_cost))),
        }
        # Every other run is worse than the previous one, so it is off the front.
        output = -log_cost + (2.0 if i % 2 else 0.0)
        observations.append(ObservationInParam(input=inputs, output=output, cost=10**log_cost))
        if i in FAILED_INDICES:
            observations.append(
                ObservationInParam(
                    input=inputs, output=math.nan, cost=10**log_cost, is_failure=True
                )
            )
    carbs.initialize_from_observations(observations)
    return carbs


def _collection(ax: Axes, label: str) -> Collection:
    matches = [c for c in ax.collections if c.get_label() == label]
    assert len(matches) == 1, [c.get_label() for c in ax.collections]
    return matches[0]


def _line(ax: Axes, label: str) -> Line2D:
    matches = [line for line in ax.get_lines() if line.get_label() == label]
    assert len(matches) == 1
    return matches[0]


def test_pareto_front_plot(tmp_path: Path) -> None:
    carbs = _carbs()
    path = tmp_path / "front.png"
    figure = plot_pareto_front(carbs, path=path)
    assert isinstance(figure, Figure)
    assert path.stat().st_size > 0
    ax, colorbar = figure.axes  # the plot and its colour bar
    assert colorbar.get_ylabel() == "observation #"
    assert ax.get_xscale() == "log"
    assert len(_collection(ax, "runs").get_offsets()) == NUM_SUCCESSES
    assert len(_collection(ax, "failures").get_offsets()) == len(FAILED_INDICES)
    # What the optimizer uses: the front members at their group means.
    front = carbs.pareto_front()
    step = _line(ax, "Pareto front used by CARBS")
    assert list(step.get_xdata()) == [m.cost for m in front]
    assert list(step.get_ydata()) == [m.output for m in front]
    assert step.get_drawstyle() == "steps-post"
    members = _collection(ax, "front members (mean of their runs)")
    assert members.get_offsets().tolist() == [[m.cost, m.output] for m in front]
    # What was observed: the best single run at each cost or less (minimising here).
    best = _line(ax, "best single run")
    successes = sorted(carbs.success_observations, key=lambda o: o.cost)
    expected = [
        (o.cost, o.output)
        for i, o in enumerate(successes)
        if all(o.output < p.output for p in successes[:i])
    ]
    assert list(zip(best.get_xdata(), best.get_ydata(), strict=True)) == expected
    assert best.get_drawstyle() == "steps-post"


def test_plots_name_the_metric_and_the_cost() -> None:
    carbs = _carbs()
    front = plot_pareto_front(carbs, output_name="val loss", cost_name="GPU-hours").axes[0]
    assert front.get_ylabel() == "val loss (lower is better)"
    assert front.get_xlabel() == "GPU-hours"
    by_index, by_cost = plot_history(carbs, output_name="val loss", cost_name="GPU-hours").axes
    assert by_index.get_ylabel() == "val loss"
    assert by_cost.get_xlabel() == "total GPU-hours spent (failed and stopped runs included)"
    laws = plot_scaling_laws(carbs, cost_name="GPU-hours")
    assert all(ax.get_xlabel() == "GPU-hours" for ax in laws.axes)


def test_logit_param_ticks_read_as_numbers() -> None:
    figure = plot_scaling_laws(_carbs())
    figure.canvas.draw()  # tick labels are made at draw time
    logit_panel = figure.axes[2]
    assert logit_panel.get_yscale() == "logit"
    low, high = logit_panel.get_ylim()
    ticks = [t for t in logit_panel.get_yticklabels() if low <= t.get_position()[1] <= high]
    assert len(ticks) >= 2
    for tick in ticks:  # no "1-10^{-2}" or mathtext: the label is the tick's value
        assert float(tick.get_text()) == pytest.approx(tick.get_position()[1])


def test_scaling_laws_plot_has_one_panel_per_param(tmp_path: Path) -> None:
    carbs = _carbs()
    path = tmp_path / "laws.png"
    figure = plot_scaling_laws(carbs, path=path)
    assert path.stat().st_size > 0
    assert len(figure.axes) == carbs.real_dim
    front = carbs.pareto_front()
    for ax, param in zip(figure.axes, carbs.params, strict=True):
        assert ax.get_yscale() == param.space.plot_scale
        assert ax.get_xscale() == "log"
        assert len(_collection(ax, "observations").get_offsets()) == NUM_SUCCESSES
        assert len(_collection(ax, "Pareto front").get_offsets()) == len(front)
        _line(ax, "fitted law")
        _line(ax, "extrapolation")
        _collection(ax, "95% interval")
        assert ax.get_title().startswith(param.name)
    law = carbs.scaling_laws()["n"]
    assert f"{law.slope:.3g}" in figure.axes[0].get_title()


def test_scaling_laws_plot_with_many_params_drops_unused_panels() -> None:
    params = [Param(f"x{i}", LinearSpace(), search_center=0.0) for i in range(4)]
    carbs = CARBS(CARBSParams(min_pareto_cost_fraction=0.0), params)
    carbs.initialize_from_observations(
        [
            ObservationInParam(input={f"x{i}": c * (i + 1) for i in range(4)}, output=c, cost=10**c)
            for c in (1.0, 2.0, 3.0)
        ]
    )
    figure = plot_scaling_laws(carbs)
    assert len(figure.axes) == 4  # a 2 x 3 grid with two panels removed


def test_scaling_laws_plot_without_a_law_draws_points_only() -> None:
    carbs = CARBS(CARBSParams(), [Param("x", LinearSpace(), search_center=0.0)])
    carbs.observe(ObservationInParam(input={"x": 0.0}, output=1.0, cost=2.0))
    figure = plot_scaling_laws(carbs)
    (ax,) = figure.axes
    assert "too few front members" in ax.get_title()
    assert len(_collection(ax, "Pareto front").get_offsets()) == 1
    assert ax.get_lines() == []


def test_history_plot(tmp_path: Path) -> None:
    carbs = _carbs()
    path = tmp_path / "history.png"
    figure = plot_history(carbs, path=path)
    assert path.stat().st_size > 0
    by_index, by_cost = figure.axes
    for ax in (by_index, by_cost):
        assert len(_collection(ax, "output").get_offsets()) == NUM_SUCCESSES
        assert len(_collection(ax, "failures").get_offsets()) == len(FAILED_INDICES)
        best = list(_line(ax, "best so far").get_ydata())
        assert best == sorted(best, reverse=True)  # minimising: never gets worse
        assert best[-1] == min(o.output for o in carbs.success_observations)
    assert by_cost.get_xscale() == "log"
    total = sum(o.cost for o in carbs.success_observations + carbs.failure_observations)
    costs = _line(by_cost, "best so far").get_xdata()
    assert costs[-1] == pytest.approx(total)


def test_plots_of_an_empty_optimizer() -> None:
    carbs = CARBS(CARBSParams(), [Param("x", LinearSpace(), search_center=0.0)])
    for plot in (plot_pareto_front, plot_scaling_laws, plot_history):
        assert isinstance(plot(carbs), Figure)


@pytest.mark.parametrize("outputs", [[0.5, 0.4], []])
def test_every_failure_lies_inside_the_x_limits(outputs: list[float]) -> None:
    # Drawn in axes units upwards, a failure dearer or later than every success was off the
    # plot (still named in the legend); with every run failed, two of three were.
    carbs = CARBS(CARBSParams(), [Param("lr", LogSpace(), search_center=1e-3)])
    for i, output in enumerate(outputs):
        carbs.observe(
            ObservationInParam({"lr": 1e-3 * (i + 1)}, output=output, cost=10.0 * (i + 1))
        )
    for cost in (500.0, 3.0, 40.0):
        carbs.observe(ObservationInParam({"lr": cost / 1e3}, math.nan, cost, is_failure=True))
    for figure in (plot_pareto_front(carbs), plot_history(carbs)):
        for ax in [ax for ax in figure.axes if ax.get_title()]:  # not the colour bar
            crosses = _collection(ax, "failures").get_offsets()[:, 0]
            low, high = ax.get_xlim()
            assert low < min(crosses) and max(crosses) < high, (ax.get_title(), crosses)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # matplotlib's
def test_a_law_whose_front_nears_the_float_range_still_draws() -> None:
    # Its extrapolation to 10x the dearest member's cost overflowed: "cost must be finite".
    carbs = CARBS(CARBSParams(better_direction_sign=-1), [Param("lr", LogSpace(), 1e-3)])
    for lr, loss, cost in [(1e-3, 3.0, 1.0), (2e-3, 2.0, 1e307), (3e-3, 1.0, 1e308)]:
        carbs.observe(ObservationInParam(input={"lr": lr}, output=loss, cost=cost))
    assert isinstance(plot_scaling_laws(carbs), Figure)


@pytest.mark.parametrize("is_failed_run_observed", [False, True])
def test_plots_without_a_successful_run_on_log_axes_can_be_saved(
    tmp_path: Path, is_failed_run_observed: bool
) -> None:
    # The scaling-law panels set log axes over no points, and matplotlib raised "Data
    # cannot be log-scaled" when the figure was drawn.
    carbs = CARBS(CARBSParams(), [Param("lr", LogSpace(min=1e-5, max=1.0), search_center=1e-3)])
    if is_failed_run_observed:
        failed = ObservationInParam({"lr": 1e-3}, output=math.nan, cost=5.0, is_failure=True)
        carbs.observe(failed)
    for plot in (plot_pareto_front, plot_scaling_laws, plot_history):
        path = tmp_path / f"{plot.__name__}.png"
        assert isinstance(plot(carbs, path), Figure)
        assert path.stat().st_size > 1000


@pytest.mark.parametrize(
    "runs",
    [
        # The law's band reaches p = 1 exactly in float64.
        [(1e-9, 2.5), (0.9, 11.0), (0.5, 20.0)],
        # The band stops short of 1, but the axis' margins widened its limit onto 1.
        [(0.999999, 1.2), (1e-9, 10.5), (0.9, 153.0), (0.5, 952.0)],
    ],
)
def test_a_law_whose_band_runs_onto_an_open_end_still_draws(
    tmp_path: Path, runs: list[tuple[float, float]]
) -> None:
    # Front members that barely agree on a momentum law: matplotlib's logit tick locator
    # raised OverflowError (log10(1 - 1)) when the figure was saved.
    params = [Param("momentum", LogitSpace(), search_center=0.9)]
    carbs = CARBS(CARBSParams(better_direction_sign=-1, min_pareto_cost_fraction=0.0), params)
    carbs.initialize_from_observations(
        [
            ObservationInParam({"momentum": p}, output=-float(i), cost=cost)
            for i, (p, cost) in enumerate(runs)
        ]
    )
    assert "momentum" in carbs.scaling_laws()
    path = tmp_path / "laws.png"
    plot_scaling_laws(carbs, path)
    assert path.stat().st_size > 1000


@pytest.mark.parametrize("not_an_optimizer", [None, "state.json", {"observations": []}])
def test_plots_of_something_else_are_a_clear_error(not_an_optimizer: object) -> None:
    for plot in (plot_pareto_front, plot_scaling_laws, plot_history):
        with pytest.raises(CARBSValueError, match="carbs must be a CARBS optimizer"):
            plot(not_an_optimizer)  # type: ignore[arg-type]


def test_plotting_without_matplotlib_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"carbs-hpo\[plot\]"):
        plot_history(_carbs())
