"""Matplotlib figures of an optimizer's state: Pareto front, scaling laws, history.

Needs the ``plot`` extra (``pip install "carbs-hpo[plot]"``); matplotlib is
imported only when a function here is called. Figures are built with
:class:`matplotlib.figure.Figure` directly, not through ``pyplot``, so they
work on any backend (including headless ``Agg``) and are never shown or kept
alive by pyplot's global state. Display one in a notebook by evaluating it,
or save it with ``path=``.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from carbs.analysis import AnalysisMixin, ParetoMember
from carbs.errors import CARBSValueError, InsufficientDataError
from carbs.linefit import DEFAULT_CONFIDENCE
from carbs.scaling import ChoiceLaw, Law, ScalingLaw
from carbs.spaces import CategoricalSpace, Space
from carbs.tables import ObservationRecord

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from carbs.optimizer import CARBS

PLOT_INSTALL_HINT = 'pip install "carbs-hpo[plot]"'
# How far beyond the front's cost range the scaling-law panels draw the law (dashed).
EXTRAPOLATION_FACTOR = 10.0
_FRONT_COLOR = "tab:red"
_FAILURE_COLOR = "tab:red"


def _new_figure(width: float, height: float) -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError as error:  # pragma: no cover - exercised only without matplotlib
        raise ImportError(
            f"carbs.plotting needs matplotlib; install it with {PLOT_INSTALL_HINT}"
        ) from error
    return Figure(figsize=(width, height), layout="constrained")


def _check_optimizer(carbs: Any) -> None:
    if not isinstance(carbs, AnalysisMixin):
        raise CARBSValueError(f"carbs must be a CARBS optimizer, got {type(carbs).__name__}")


def _save(figure: Figure, path: str | Path | None) -> Figure:
    if path is not None:
        figure.savefig(path, dpi=120)
    return figure


def _mark_failures(ax: Axes, xs: Sequence[float], label: str = "failures") -> None:
    """Draw failures as crosses along the bottom of ``ax`` (they have no output)."""
    if not xs:
        return
    ax.scatter(
        list(xs),
        [0.03] * len(xs),
        marker="x",
        color=_FAILURE_COLOR,
        transform=ax.get_xaxis_transform(),
        label=label,
        zorder=3,
    )
    # Drawn in axes units upwards, the crosses do not widen the x-limits by themselves: a
    # failure dearer or later than every success was left off the plot.
    ax.dataLim.update_from_data_x(list(xs), ignore=False)
    ax.autoscale_view(scaley=False)


def _empty(ax: Axes, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)


def _best_single_run_steps(
    records: Sequence[ObservationRecord], sign: int
) -> tuple[list[float], list[float]]:
    """The best single successful run at each cost or less: the steps' corners."""
    costs, bests = [], []
    best = -math.inf
    for record in sorted(records, key=lambda r: r.cost):
        if record.output * sign > best:
            best = record.output * sign
            costs.append(record.cost)
            bests.append(record.output)
    return costs, bests


def _draw_runs_and_fronts(
    figure: Figure,
    ax: Axes,
    records: Sequence[ObservationRecord],
    successes: Sequence[ObservationRecord],
    front: Sequence[ParetoMember],
    sign: int,
) -> None:
    points = ax.scatter(
        [r.cost for r in successes],
        [r.output for r in successes],
        c=[r.index for r in successes],
        cmap="viridis",
        vmin=0,
        vmax=max(len(records) - 1, 1),
        s=18,
        label="runs",
        zorder=2,
    )
    figure.colorbar(points, ax=ax, label="observation #")
    costs, bests = _best_single_run_steps(successes, sign)
    ax.step(costs, bests, where="post", color="0.45", linestyle="--", label="best single run")
    ax.step(
        [m.cost for m in front],
        [m.output for m in front],
        where="post",
        color=_FRONT_COLOR,
        label="Pareto front used by CARBS",
        zorder=3,
    )
    ax.scatter(
        [m.cost for m in front],
        [m.output for m in front],
        s=[30.0 * m.count for m in front],
        facecolors="none",
        edgecolors=_FRONT_COLOR,
        label="front members (mean of their runs)",
        zorder=4,
    )


def plot_pareto_front(
    carbs: CARBS,
    path: str | Path | None = None,
    *,
    output_name: str = "output",
    cost_name: str = "cost",
) -> Figure:
    """Every run in (cost, output), the best single run at each cost, and CARBS' front.

    Three things are drawn, each distinct:

    * every successful run, coloured by observation order (colour bar); failed
      runs are red crosses along the bottom at their cost;
    * a grey dashed step line, **best single run**: at each cost, the best output
      of any one run that cost that much or less (what you observed);
    * red circles joined by a red step line, **Pareto front used by CARBS**: the
      front members the optimizer searches around, each at the *mean* output
      and cost of its runs (bigger circles for more runs). Because a member's
      value is a mean, and because conservative selection makes a single lucky
      run beat the previous member's best run before it joins, this line can
      lie above the best single run (when minimising; below when maximising).

    Args:
        carbs: The optimizer.
        path: If given, also save the figure there as a PNG.
        output_name: The metric's name, for the y axis (e.g. ``"validation loss"``).
        cost_name: What cost measures, for the x axis (e.g. ``"GPU-hours"``).

    Returns:
        The figure, with one axes plus its colour bar.
    """
    _check_optimizer(carbs)
    figure = _new_figure(7.0, 4.5)
    ax = figure.add_subplot()
    records = carbs.observation_records()
    successes = [r for r in records if r.is_complete]
    failures = [r for r in records if r.is_failure]
    sign = carbs.config.better_direction_sign
    if successes:
        _draw_runs_and_fronts(figure, ax, records, successes, carbs.pareto_front(), sign)
    else:
        _empty(ax, "no successful observation yet")
    _mark_failures(ax, [r.cost for r in failures])
    ax.set_xscale("log")
    ax.set_xlabel(cost_name)
    direction = "higher" if sign > 0 else "lower"
    ax.set_ylabel(f"{output_name} ({direction} is better)")
    ax.set_title(f"Pareto front after {len(records)} observations")
    if records:
        ax.legend(loc="best", fontsize="small")
    return _save(figure, path)


def _law_title(law: ScalingLaw) -> str:
    low, high = law.slope_interval
    what = "exponent" if law.is_power_law else "slope/decade"
    interval = f" [{low:.3g}, {high:.3g}]" if math.isfinite(low) and math.isfinite(high) else ""
    fit = f"R²={law.r_squared:.2f}, {law.num_points} front members"
    return f"{law.name}: {what} {law.slope:.3g}{interval}\n{fit}"


def _draw_law(ax: Axes, law: ScalingLaw) -> None:
    low_cost, high_cost = law.cost_range
    observed = np.geomspace(low_cost, high_cost, 50)
    # The extrapolation stops at the largest float (a front that reaches 1e308 has none).
    top = min(high_cost * EXTRAPOLATION_FACTOR, sys.float_info.max)
    with np.errstate(over="ignore"):  # geomspace's last power, at the largest float
        beyond = np.geomspace(high_cost, top, 25)
    ax.plot(
        observed,
        [law.value_at(c) for c in observed],
        color=_FRONT_COLOR,
        label="fitted law",
    )
    ax.plot(
        beyond,
        [law.value_at(c) for c in beyond],
        color=_FRONT_COLOR,
        linestyle="--",
        label="extrapolation",
    )
    grid = np.concatenate([observed, beyond[1:]])
    intervals = [law.fit.mean_interval_at(math.log10(c)) for c in grid]
    if all(math.isfinite(lo) and math.isfinite(hi) for lo, hi in intervals):
        lows = [law.space.param_from_basic(lo, is_rounded=False) for lo, _ in intervals]
        highs = [law.space.param_from_basic(hi, is_rounded=False) for _, hi in intervals]
        ax.fill_between(
            grid,
            lows,
            highs,
            color=_FRONT_COLOR,
            alpha=0.15,
            label=f"{law.confidence:.0%} interval",
        )


def _set_value_scale(ax: Axes, space: Space) -> None:
    """The space's axis scale, with ticks that read as plain numbers (0.9, 0.99, not 1-10^-2)
    or, for a categorical param, as its choices."""
    if isinstance(space, CategoricalSpace):
        ax.set_yticks(range(len(space.choices)), [str(c) for c in space.choices])
        ax.set_ylim(-0.5, len(space.choices) - 0.5)
        return
    ax.set_yscale(space.plot_scale)
    if space.plot_scale == "logit":
        from matplotlib.ticker import FuncFormatter, NullFormatter

        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.6g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        # A law's band that runs onto 1, or points within 1e-16 of it, put the limits on 1
        # itself, where the tick locator's log10(1 - p) is infinite: keep them inside (0, 1).
        bottom, top = ax.get_ylim()
        ax.set_ylim(max(bottom, sys.float_info.min), min(top, math.nextafter(1.0, 0.0)))


def _draw_param_panel(
    ax: Axes,
    name: str,
    space: Space,
    records: Sequence[ObservationRecord],
    front: Sequence[ParetoMember],
    law: Law | None,
) -> None:
    def y(params: dict[str, Any]) -> Any:  # a choice's position on a categorical axis
        if isinstance(space, CategoricalSpace):
            return space.index(params[name])
        return params[name]

    ax.scatter(
        [r.cost for r in records],
        [y(r.params) for r in records],
        color="0.6",
        s=10,
        label="observations",
    )
    ax.scatter(
        [m.cost for m in front],
        [y(m.params) for m in front],
        s=[20.0 * m.count for m in front],
        facecolors="none",
        edgecolors=_FRONT_COLOR,
        label="Pareto front",
        zorder=3,
    )
    if isinstance(law, ChoiceLaw):
        bands = ", ".join(f"{choice} ({low:.3g}-{high:.3g})" for low, high, choice in law.bands)
        ax.set_title(f"{name}: choice by cost band\n{bands}", fontsize="medium")
    elif law is not None:
        _draw_law(ax, law)
        ax.set_title(_law_title(law), fontsize="medium")
    else:
        ax.set_title(f"{name}: too few front members for a law", fontsize="medium")
    ax.set_xscale("log")
    _set_value_scale(ax, space)
    ax.set_ylabel(name)


def plot_scaling_laws(
    carbs: CARBS,
    path: str | Path | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
    *,
    cost_name: str = "cost",
) -> Figure:
    """One panel per parameter: its value against cost, with its scaling law.

    Grey dots are all successful runs; red circles are the Pareto front members
    the law is fitted on (area proportional to their sample count). The red
    line is the fitted law over the front's cost range, dashed where it
    extrapolates up to 10x beyond the dearest member, with its confidence band.
    Each panel's y axis uses the parameter's ``space.plot_scale`` (log for
    ``LogSpace``, logit for ``LogitSpace``, ticks as plain numbers), so a power
    law is a straight line. With fewer than two front members only the points
    are drawn.

    Args:
        carbs: The optimizer.
        path: If given, also save the figure there as a PNG.
        confidence: Level of the bands.
        cost_name: What cost measures, for the x axes.

    Returns:
        The figure, with one axes per parameter.
    """
    _check_optimizer(carbs)
    names = carbs.search_space.names
    columns = min(3, len(names))
    rows = math.ceil(len(names) / columns)
    figure = _new_figure(4.2 * columns, 3.4 * rows)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for extra in axes[len(names) :]:
        figure.delaxes(extra)
    records = [r for r in carbs.observation_records() if r.is_complete]
    front = carbs.pareto_front()
    laws: dict[str, Law] = {}
    with contextlib.suppress(InsufficientDataError):  # too few front members: points only
        laws = carbs.scaling_laws(confidence)
    for ax, name, space in zip(axes, names, carbs.search_space.spaces, strict=False):
        if records:
            _draw_param_panel(ax, name, space, records, front, laws.get(name))
        else:  # log axes cannot show nothing: matplotlib raised when the figure was drawn
            _empty(ax, "no successful observation yet")
            ax.set_ylabel(name)
        ax.set_xlabel(cost_name)
    if records:
        axes[0].legend(loc="best", fontsize="x-small")
    return _save(figure, path)


def _best_so_far(outputs: Sequence[float], sign: int) -> list[float]:
    best: list[float] = []
    current = -math.inf
    for output in outputs:
        current = max(current, output * sign)
        best.append(current * sign)
    return best


def plot_history(
    carbs: CARBS,
    path: str | Path | None = None,
    *,
    output_name: str = "output",
    cost_name: str = "cost",
) -> Figure:
    """Output and best-so-far against observation number and against total cost spent.

    Left: each run's output against its observation number (from 0) with the
    best output so far as a step line. Right: the same against the total cost
    spent when the run finished, failed runs included (the running sum behind
    :attr:`CARBS.total_cost`; :attr:`CARBS.cumulative_cost` counts successes
    only), on a log axis. Failed runs are crosses along the bottom.

    Args:
        carbs: The optimizer.
        path: If given, also save the figure there as a PNG.
        output_name: The metric's name, for the y axes.
        cost_name: What cost measures, for the right x axis.

    Returns:
        The figure, with two axes.
    """
    _check_optimizer(carbs)
    figure = _new_figure(10.0, 4.0)
    by_index, by_cost = figure.subplots(1, 2)
    records = carbs.observation_records()
    sign = carbs.config.better_direction_sign
    cumulative = np.cumsum([r.cost for r in records]).tolist()
    successes = [(r, c) for r, c in zip(records, cumulative, strict=True) if r.is_complete]
    failures = [(r, c) for r, c in zip(records, cumulative, strict=True) if r.is_failure]
    best = _best_so_far([r.output for r, _ in successes], sign)
    series: list[tuple[Axes, list[float], list[float], str]] = [
        (by_index, [r.index for r, _ in successes], [r.index for r, _ in failures], "#"),
        (by_cost, [c for _, c in successes], [c for _, c in failures], "cost"),
    ]
    for ax, xs, failure_xs, kind in series:
        if xs:
            ax.scatter(xs, [r.output for r, _ in successes], s=14, color="tab:blue", label="output")
            ax.step(xs, best, where="post", color="black", label="best so far")
        else:
            _empty(ax, "no successful observation yet")
        _mark_failures(ax, failure_xs)
        ax.set_ylabel(output_name)
        if kind == "cost":
            ax.set_xscale("log")
            ax.set_xlabel(f"total {cost_name} spent (failed and stopped runs included)")
        else:
            ax.set_xlabel("observation #")
        if records:
            ax.legend(loc="best", fontsize="small")
    by_index.set_title("history by observation")
    by_cost.set_title(f"history by total {cost_name} spent")
    return _save(figure, path)
