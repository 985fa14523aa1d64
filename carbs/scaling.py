"""Scaling laws along the Pareto front: how the best settings move as compute grows.

Along the performance-cost Pareto front, each parameter in basic space is close
to linear in log cost (see ``DESIGN.md`` section 2.9). This module fits that
line for every parameter by weighted least squares and turns it into a
prediction of the compute-optimal setting at any budget.

Conventions used throughout:

* the regressor is ``log10(cost)``: slopes are "per decade of cost";
* the response is the parameter in **basic space**, and each front member is
  weighted by its number of samples (a mean of ``k`` runs counts ``k`` times as
  much as a single run);
* for a :class:`~carbs.spaces.LogSpace` parameter the slope is reported as a
  power-law **exponent**, ``value ~ k * cost**exponent``, i.e.
  ``exponent = d ln(value) / d ln(cost)`` (the same in any log base);
* for a :class:`~carbs.spaces.LinearSpace` parameter the slope is in the
  parameter's own units per decade of cost, ``d value / d log10(cost)``;
* for a :class:`~carbs.spaces.LogitSpace` parameter the slope is in log10
  odds per decade of cost, ``d log10(p / (1 - p)) / d log10(cost)``.

Intervals are two-sided t-intervals with ``n - 2`` degrees of freedom, where
``n`` is the number of front members (not the number of runs).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from carbs.checks import check_number
from carbs.errors import CARBSValueError, InsufficientDataError
from carbs.laws import ChoiceLaw, Law, NumericSpace, ScalingLaw, slope_factor
from carbs.linefit import (
    DEFAULT_CONFIDENCE,
    LineFit,
    check_confidence,
    weighted_least_squares,
)
from carbs.pareto import ObservationGroup
from carbs.spaces import CategoricalSpace, OrdinalSpace, RealNumberSpace, SearchSpace

__all__ = [
    "ChoiceLaw",
    "CostSuggestion",
    "Law",
    "LineFit",
    "NumericSpace",
    "ScalingLaw",
    "fit_scaling_laws",
    "slope_factor",
    "suggest_at_cost",
    "weighted_least_squares",
]

DEFAULT_MIN_R_SQUARED = 0.5
DEFAULT_MIN_POINTS = 3
DEFAULT_MAX_EXTRAPOLATION = 10.0


def fit_scaling_laws(
    front: Sequence[ObservationGroup],
    search_space: SearchSpace,
    confidence: float = DEFAULT_CONFIDENCE,
) -> dict[str, Law]:
    """Fit one scaling law per parameter along the Pareto front.

    Args:
        front: Front members (as from ``CARBS.get_pareto_groups()``), any order.
        search_space: The optimizer's params.
        confidence: Level of the intervals.

    Returns:
        A law per tuned parameter, keyed by name, in the params' order: a
        :class:`ScalingLaw` for a numeric one, a :class:`ChoiceLaw` for a
        categorical one (fixed params have none).

    Raises:
        InsufficientDataError: fewer than two front members, or all at one cost.
    """
    confidence = check_confidence(confidence)
    if len(front) < 2:
        raise InsufficientDataError(
            f"a scaling law needs at least 2 Pareto front members (3 or more to be "
            f"trusted), got {len(front)}; observe more runs at different costs"
        )
    members = sorted(front, key=lambda g: g.mean_cost)
    costs = np.array([g.mean_cost for g in members], dtype=np.float64)
    if not np.ptp(costs) > 0.0:
        raise InsufficientDataError(
            f"the {len(front)} Pareto front members all cost {costs[0]:g}: a scaling law "
            "needs runs at different costs"
        )
    counts = np.array([g.count for g in members], dtype=np.float64)
    basic = np.stack([g.input_in_basic.detach().cpu().numpy() for g in members])
    params = [search_space.param_dict_from_basic(g.input_in_basic) for g in members]
    shared = {"costs": tuple(costs.tolist()), "counts": tuple(int(c) for c in counts)}
    laws: dict[str, Law] = {}
    for i, (name, space) in enumerate(zip(search_space.names, search_space.spaces, strict=True)):
        values = tuple(p[name] for p in params)
        if isinstance(space, CategoricalSpace):
            laws[name] = ChoiceLaw(name=name, space=space, values=values, **shared)
            continue
        assert isinstance(space, RealNumberSpace | OrdinalSpace)
        fit = weighted_least_squares(np.log10(costs), basic[:, i], counts, confidence)
        laws[name] = ScalingLaw(name=name, space=space, fit=fit, values=values, **shared)
    return laws


@attrs.frozen
class CostSuggestion:
    """The scaling laws' compute-optimal settings at one budget.

    Attributes:
        cost: The budget asked for.
        params: A legal value per parameter (rounded onto integer lattices or
            listed values, clipped to the bounds; for a categorical param the
            choice the front uses nearest that cost; fixed params' values),
            usable as a run's input.
        intervals: Per numeric parameter, the confidence interval of the law at
            ``cost``, in param space, made legal: clipped into the bounds and,
            for integer and ordinal params, widened outwards onto legal values.
        predicted: Per parameter, the law's raw value at ``cost`` (neither
            rounded nor clipped; the choice for a categorical one).
        is_reliable: ``False`` when the front has too few members, a law's
            R^2 is below the threshold, or ``cost`` lies too far outside the
            front's cost range.
        warnings: Why the result is unreliable, plus any parameter whose law
            leaves its bounds.
        confidence: Level of the intervals.
    """

    cost: float
    params: dict[str, Any]
    intervals: dict[str, tuple[float, float]]
    predicted: dict[str, Any]
    is_reliable: bool
    warnings: list[str]
    confidence: float


def _reliability_warnings(
    law: Law, cost: float, min_points: int, max_extrapolation: float
) -> list[str]:
    """Why laws fitted on this front are not to be trusted at ``cost`` (empty if they are)."""
    warnings = []
    if law.num_points < min_points:
        warnings.append(
            f"only {law.num_points} Pareto front members; a scaling law needs at "
            f"least {min_points} to be trusted"
        )
    low_cost, high_cost = law.cost_range
    if cost > high_cost * max_extrapolation or cost < low_cost / max_extrapolation:
        factor = cost / high_cost if cost > high_cost else low_cost / cost
        warnings.append(
            f"cost {cost:.4g} is {factor:.3g}x outside the front's cost range "
            f"[{low_cost:.4g}, {high_cost:.4g}] (more than {max_extrapolation:g}x extrapolation)"
        )
    return warnings


def suggest_at_cost(
    laws: Mapping[str, Law],
    cost: float,
    *,
    min_points: int = DEFAULT_MIN_POINTS,
    min_r_squared: float = DEFAULT_MIN_R_SQUARED,
    max_extrapolation: float = DEFAULT_MAX_EXTRAPOLATION,
    fixed: Mapping[str, Any] | None = None,
    confidence: float | None = None,
) -> CostSuggestion:
    """Predict the compute-optimal settings at ``cost`` from fitted scaling laws.

    Args:
        laws: One law per parameter, as from :func:`fit_scaling_laws`.
        cost: The budget, in the units of the observed costs; finite and > 0.
        min_points: Fewer front members than this make the result unreliable.
        min_r_squared: A law with a lower R^2 makes the result unreliable.
        max_extrapolation: A ``cost`` more than this factor above the dearest or
            below the cheapest front member makes the result unreliable.
        fixed: Fixed params' values, passed through into ``params``.
        confidence: The level the laws were fitted at, reported in the result (by
            default the numeric laws' own; needed only when every law is a choice).

    Raises:
        CARBSValueError: ``cost`` is not a finite number > 0, ``min_r_squared`` not a
            finite number, ``max_extrapolation`` not one >= 1, or ``laws`` is empty.
    """
    cost = check_number(cost, "cost", CARBSValueError, min_value=0.0, exclusive_min=True)
    min_r_squared = check_number(min_r_squared, "min_r_squared", CARBSValueError)
    max_extrapolation = check_number(
        max_extrapolation, "max_extrapolation", CARBSValueError, min_value=1.0
    )
    if not laws:
        raise CARBSValueError("no scaling laws given")
    first = next(iter(laws.values()))
    numeric = {name: law for name, law in laws.items() if isinstance(law, ScalingLaw)}
    warnings = _reliability_warnings(first, cost, min_points, max_extrapolation)
    warnings += [
        f"{name}: weak fit along the front, R^2={law.r_squared:.2f} < {min_r_squared:g}"
        for name, law in numeric.items()
        if law.r_squared < min_r_squared
    ]
    params: dict[str, Any] = {name: law.value_at(cost) for name, law in laws.items()}
    predicted = dict(params)
    warnings += [  # the law ran past the float range: no value it gives can be trusted
        f"{name}: the law gives {predicted[name]} at this cost, past the float range"
        for name in numeric
        if not math.isfinite(predicted[name])
    ]
    is_reliable = not warnings
    intervals: dict[str, tuple[float, float]] = {}
    for name, law in numeric.items():
        space, raw = law.space, predicted[name]
        params[name] = space.legal_value_from_basic(law.basic_at(cost))
        intervals[name] = space.legal_interval(*law.interval_at(cost))
        # a law pinned at a bound comes back a rounding step past it: that is no clip
        if not (space.min <= raw <= space.max) and not math.isclose(raw, params[name]):
            warnings.append(
                f"{name}: the law gives {raw:.4g} at this cost, outside "
                f"[{space.min:g}, {space.max:g}]; clipped to {params[name]:.4g}"
            )
    confidences = [law.confidence for law in numeric.values()]
    if confidence is not None:
        confidences = [check_confidence(confidence)]
    return CostSuggestion(
        cost=cost,
        params={**params, **dict(fixed or {})},
        intervals=intervals,
        predicted=predicted,
        is_reliable=is_reliable,
        warnings=warnings,
        confidence=confidences[0] if confidences else DEFAULT_CONFIDENCE,
    )
