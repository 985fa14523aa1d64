"""Reaching the cheap end of the cost axis: a log-linear cost model and origins along it.

Log cost is close to linear in basic space: costs are products of powers of
log-space params (width, steps, tokens, batch size). A least-squares plane
through the successes' log costs, :class:`CostPlane`, therefore says how to
make a run cheaper and how cheap a legal run can get, even from a cluster of
runs far from the cheap end. :func:`origins_below` places search origins along
it, between the front's cheapest member and the cheapest legal cost, so that
the search can reach costs below the front in a few steps rather than one
search radius at a time. Costs measured in time usually include a fixed
overhead per run (start-up, data loading, evaluation), which no param removes;
the plane fits it where the runs' costs show one, so that the cheapest legal
cost is never put below it. The ray need not follow the plane's slope, which
shrinks every cost-driving param at once: :func:`level_direction` turns it so
that the performance model's prediction stays level, giving up first the
compute that adds least. (Origins above the front were tried and dropped: they
sent the search to the dearest corner early and cost coverage in the middle;
``benchmarks/RESULTS.md``.) :func:`search_origins` gathers, for one suggest, the
front's members, the origins below them and the cost range that budgets span.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence

import attrs
import torch
from torch import Tensor

from carbs.config import CARBSParams, ImprovementTargetEnum
from carbs.observations import ObservationInBasic
from carbs.pareto import ObservationGroup, front_inputs
from carbs.spaces import SearchSpace
from carbs.surrogate.model import SurrogateModel

MAX_MOVE = 10.0
"""The farthest, in basic units per param, a ray is followed where a param has no bound."""
ORIGINS_PER_END = 3
"""Origins placed between the front's cheapest member and the cheapest legal cost."""
BISECTION_STEPS = 40
"""Halvings of the step along the ray: far finer than any rounding of the params."""
MIN_LEVEL_RISE = 0.1
"""The least share of the cost slope a level direction must keep (see :func:`level_direction`)."""
COST_DRIVER_SHARE = 0.01
"""A param drives cost when its slope is more than this share of the steepest one."""
OVERHEAD_FRACTIONS = tuple(i / 32 for i in range(1, 32))
"""Trial overheads, as fractions of the cheapest run's cost (see :meth:`CostPlane.fit`)."""
SIGNIFICANCE_LEVEL = 1e-3
"""Level of the cost plane's likelihood-ratio tests: that the params drive cost at all
(:attr:`CostPlane.is_significant`), and that a fixed cost per run fits better than none."""
_LOG_SMALLEST_FLOAT = math.log(sys.float_info.min)


@attrs.frozen
class CostPlane:
    """``cost ~ overhead + exp(slope . x + intercept + offset[choice])`` over basic space.

    Without an overhead (0, the default) this is a plane in log cost. With one,
    log cost flattens towards ``log(overhead)`` as the plane falls: no change
    of the params makes a run cheaper than its fixed cost.

    Real (and ordinal) columns enter linearly. A categorical column holds a
    choice's index, which is no number: each choice gets its own additive offset
    instead (the first choice's is 0), so that choices that cost more or less do
    not bend the slope, and the slope is 0 on that column (a ray never changes
    a choice).

    Attributes:
        slope: Shape ``(d,)``, 0 on categorical columns.
        intercept: The plane's value at the origin of basic space (first choices).
        choice_offsets: ``(column, offsets)`` for each categorical column, offsets
            of shape ``(number of choices,)``.
        overhead: The fixed cost of every run, the user's units (``>= 0``).
        is_significant: Whether the params explain the runs' log costs better than
            one constant does, by a likelihood-ratio test at
            :data:`SIGNIFICANCE_LEVEL` (chi-squared with as many degrees of
            freedom as the plane has coefficients beyond its intercept). Where
            they do not (a fixed time per run, or costs that vary by noise
            alone), the slope is noise and so is every cheaper cost it predicts.
    """

    slope: Tensor
    intercept: float
    choice_offsets: tuple[tuple[int, Tensor], ...] = ()
    overhead: float = 0.0
    is_significant: bool = True

    @classmethod
    def fit(
        cls,
        successes: Sequence[ObservationInBasic],
        choice_counts: Mapping[int, int] | None = None,
        is_overhead_fitted: bool = False,
    ) -> CostPlane | None:
        """Least squares through the successes' log costs; ``None`` with fewer than twice
        as many as the plane has coefficients (``d + 1`` for real params; a categorical
        column has one per choice but the first).

        With ``is_overhead_fitted`` each overhead in :data:`OVERHEAD_FRACTIONS` of the
        cheapest run's cost is tried: the plane is fitted to ``log(cost - overhead)``
        and scored by its squared error in log cost. The best overhead is kept only
        if it passes a likelihood-ratio test against none (``n log(SSE_0 / SSE)``, one
        more coefficient, at :data:`SIGNIFICANCE_LEVEL`), so that a cost that is a product of
        powers (FLOPs) keeps a pure plane, and noise does not stop the way down.
        Whatever the overhead, :attr:`is_significant` says whether the pure plane
        explains the log costs better than a constant.

        Args:
            successes: Successful observations.
            choice_counts: The number of choices of each categorical column, by column.
            is_overhead_fitted: Whether to try a fixed cost per run.
        """
        choice_counts = dict(choice_counts or {})
        if not successes:
            return None
        x = torch.stack([o.real_number_input for o in successes]).to(torch.float64)
        real = [i for i in range(x.shape[1]) if i not in choice_counts]
        columns = [x[:, real]]
        for column, count in sorted(choice_counts.items()):
            choice = x[:, column].round().long().clamp(0, count - 1)
            columns.append(torch.nn.functional.one_hot(choice, count)[:, 1:].to(torch.float64))
        columns.append(torch.ones(x.shape[0], 1, dtype=torch.float64))
        design = torch.cat(columns, dim=1)
        if x.shape[0] < 2 * design.shape[1]:
            return None
        costs = torch.tensor([o.cost for o in successes], dtype=torch.float64)
        log_cost = torch.log(costs)
        # Normal equations with a tiny ridge: well posed when a param never varied, and,
        # unlike torch.linalg.lstsq, the same to the last bit on every call (a seed
        # must fix every suggestion).
        gram = design.T @ design
        ridge = 1e-9 * float(gram.diagonal().mean()) * torch.eye(gram.shape[0], dtype=torch.float64)
        solution = torch.linalg.solve(gram + ridge, design.T @ log_cost)
        pure_error = float((design @ solution - log_cost).square().sum())
        constant_error = float((log_cost - log_cost.mean()).square().sum())
        is_significant = _likelihood_ratio(
            x.shape[0], constant_error, pure_error
        ) > _chi_squared_threshold(design.shape[1] - 1)
        overhead = 0.0
        if is_overhead_fitted:
            trial = _best_overhead(design, gram + ridge, costs, log_cost, pure_error)
            if trial is not None:
                overhead, solution = trial
        slope = torch.zeros(x.shape[1], dtype=torch.float64)
        slope[real] = solution[: len(real)]
        offsets, start = [], len(real)
        for column, count in sorted(choice_counts.items()):
            offsets.append(
                (column, torch.cat([slope.new_zeros(1), solution[start : start + count - 1]]))
            )
            start += count - 1
        return cls(slope, float(solution[-1]), tuple(offsets), overhead, is_significant)

    def log_cost(self, points: Tensor) -> Tensor:
        """The predicted log cost at points ``(..., d)``, shape ``(...)``."""
        value = points @ self.slope + self.intercept
        for column, offsets in self.choice_offsets:
            choice = points[..., column].round().long().clamp(0, offsets.shape[0] - 1)
            value = value + offsets[choice]
        if self.overhead > 0:
            value = torch.logaddexp(value, torch.full_like(value, math.log(self.overhead)))
        return value

    def ray(
        self,
        start: Tensor,
        lower: Tensor,
        upper: Tensor,
        steps: Tensor,
        direction: Tensor | None = None,
    ) -> Tensor:
        """Points ``(k, d)`` from ``start`` along a direction, clipped into the bounds.

        ``steps`` ``(k,)`` are signed distances along the unit ``direction`` ``(d,)``
        (by default the plane's gradient, in which each param moves in proportion to
        its effect on cost, so params that do not drive cost stay put); negative
        goes towards cheaper runs for any direction with a positive slope.
        """
        if direction is None:
            direction = self.slope / self.slope.norm().clamp_min(1e-12)
        low = torch.maximum(lower, start - MAX_MOVE)
        high = torch.minimum(upper, start + MAX_MOVE)
        moved = start + steps.unsqueeze(-1) * direction
        return torch.minimum(torch.maximum(moved, low), high)

    def points_at(
        self,
        start: Tensor,
        lower: Tensor,
        upper: Tensor,
        target_log_costs: Tensor,
        direction: Tensor | None = None,
    ) -> Tensor:
        """Points ``(k, d)`` of the ray from ``start`` (along ``direction``, see :meth:`ray`)
        whose plane values are the targets ``(k,)`` (or the ray's end, where the bounds
        stop it short), by bisection on every target at once."""
        sign = torch.where(target_log_costs > self.log_cost(start), 1.0, -1.0)
        low = torch.zeros_like(target_log_costs)
        high = torch.full_like(target_log_costs, MAX_MOVE * math.sqrt(start.shape[0]))
        for _ in range(BISECTION_STEPS):
            middle = (low + high) / 2
            reached = (
                self.log_cost(self.ray(start, lower, upper, sign * middle, direction))
                - target_log_costs
            ) * sign >= 0
            low = torch.where(reached, low, middle)
            high = torch.where(reached, middle, high)
        return self.ray(start, lower, upper, sign * high, direction)

    def cheapest_log_cost(
        self, start: Tensor, lower: Tensor, upper: Tensor, direction: Tensor | None = None
    ) -> float:
        """The plane's value at the cheap end of the ray from ``start``: along the
        gradient (the default), the cheapest legal cost it predicts."""
        return self._end_log_cost(start, lower, upper, -1.0, direction)

    def dearest_log_cost(self, start: Tensor, lower: Tensor, upper: Tensor) -> float:
        """The plane's value at the dear end of the ray from ``start``: the dearest
        legal cost it predicts (within :data:`MAX_MOVE` where a param has no bound)."""
        return self._end_log_cost(start, lower, upper, 1.0)

    def _end_log_cost(
        self,
        start: Tensor,
        lower: Tensor,
        upper: Tensor,
        sign: float,
        direction: Tensor | None = None,
    ) -> float:
        steps = torch.tensor([sign * MAX_MOVE * 1e3], dtype=torch.float64)
        return float(self.log_cost(self.ray(start, lower, upper, steps, direction)[0]))


def _likelihood_ratio(count: int, simpler_error: float, fuller_error: float) -> float:
    """Twice the log-likelihood gain of the fuller of two nested least-squares fits to
    ``count`` points with Gaussian errors, from their sums of squared errors."""
    return count * math.log((simpler_error + 1e-300) / (fuller_error + 1e-300))


def _chi_squared_threshold(degrees_of_freedom: int) -> float:
    """What :func:`_likelihood_ratio` must exceed for a fit with that many more
    coefficients to be significant at :data:`SIGNIFICANCE_LEVEL`."""
    from scipy import special  # imported on use: `import carbs` stays quick

    return float(special.chdtri(max(degrees_of_freedom, 1), SIGNIFICANCE_LEVEL))


def _best_overhead(
    design: Tensor,
    regularised_gram: Tensor,
    costs: Tensor,
    log_cost: Tensor,
    pure_error: float,
) -> tuple[float, Tensor] | None:
    """The significant overhead of :meth:`CostPlane.fit` and the plane under it, or ``None``.

    Args:
        design: The plane's design matrix, ``(n, p)``.
        regularised_gram: ``design.T @ design`` plus the ridge, ``(p, p)``.
        costs: The runs' costs, ``(n,)``, and ``log_cost`` their logarithms.
        pure_error: The sum of squared errors in log cost of the plane without one.
    """
    overheads = torch.tensor(OVERHEAD_FRACTIONS, dtype=torch.float64) * float(costs.min())
    targets = torch.log(costs.unsqueeze(1) - overheads.unsqueeze(0))  # (n, g)
    solutions = torch.linalg.solve(regularised_gram, design.T @ targets)  # (p, g)
    fitted = torch.logaddexp(design @ solutions, torch.log(overheads).unsqueeze(0))
    squared_errors = (fitted - log_cost.unsqueeze(1)).square().sum(dim=0)  # (g,)
    best = int(torch.argmin(squared_errors))
    # Keep the overhead only where it is significant: a wrong one would stop the way
    # down the cost axis short of the cheapest runs.
    gain = _likelihood_ratio(costs.shape[0], pure_error, float(squared_errors[best]))
    if gain <= _chi_squared_threshold(1):
        return None
    return float(overheads[best]), solutions[:, best]


def level_direction(slope: Tensor, performance_gradient: Tensor) -> Tensor | None:
    """The unit direction in which log cost rises while predicted performance stays level.

    The plane's slope less its component along the performance model's gradient
    (both ``(d,)``, basic space). Going down it makes a run cheaper by giving up
    what, to first order, does not pay for itself: compute the model says adds
    little. ``None`` (follow the slope) when the model is flat there, or when less
    than :data:`MIN_LEVEL_RISE` of the slope is left, so that the ray would travel
    ten times farther for the same saving.
    """
    rise = slope / slope.norm().clamp_min(1e-12)
    # Only the params that drive cost are traded; the ray leaves the others alone, as
    # the slope's own ray (nearly) does. Otherwise a long ray would follow, say, the
    # learning rate's gradient far past where it was measured.
    drives_cost = slope.abs() > COST_DRIVER_SHARE * slope.abs().max()
    gradient = torch.where(drives_cost, performance_gradient, 0.0)
    norm = float(gradient.norm())
    if norm <= 1e-12:
        return None
    along = gradient / norm
    level = rise - (rise @ along) * along
    if float(level.norm()) <= MIN_LEVEL_RISE:
        return None
    return level / level.norm()


def origins_below(
    plane: CostPlane,
    cheapest: Tensor,
    lower: Tensor,
    upper: Tensor,
    direction: Tensor | None = None,
    end_log_cost: float | None = None,
) -> Tensor:
    """Search origins between the front's cheapest member and the cheap end of a ray.

    :data:`ORIGINS_PER_END` points on the ray from ``cheapest`` (the cheapest
    member's input, ``(d,)``) along ``direction`` (see :func:`level_direction`;
    by default the plane's gradient), evenly spaced in predicted log cost down to
    where the ray ends. None if the front already reaches it. ``end_log_cost`` is
    the plane's value at the ray's cheap end, if the caller has it already.

    Returns:
        Shape ``(k, d)``, ``k`` 0 or :data:`ORIGINS_PER_END`.
    """
    here = float(plane.log_cost(cheapest))
    if end_log_cost is None:
        end_log_cost = plane.cheapest_log_cost(cheapest, lower, upper, direction)
    gap = end_log_cost - here
    if gap > -1e-9:
        return cheapest.new_zeros((0, cheapest.shape[0]))
    fractions = torch.arange(1, ORIGINS_PER_END + 1, dtype=torch.float64) / ORIGINS_PER_END
    return plane.points_at(cheapest, lower, upper, here + gap * fractions, direction)


@attrs.frozen
class SearchOrigins:
    """Where candidates are drawn, and what the cost plane says.

    Attributes:
        points: Origins ``(k, d)``: the front members' inputs, plus (over the
            whole cost axis) origins below the front.
        floor_cost: The cheapest legal cost the cost plane predicts (``None``
            under the release's rule or before the plane can be fitted).
        plane: The cost plane, where there is one.
        ceiling_cost: The dearest cost a budget may reach: the dearest legal cost
            the plane predicts, at most ``max_suggestion_cost`` (``None`` without
            that cap, or where ``floor_cost`` is ``None``).
    """

    points: Tensor
    floor_cost: float | None = None
    plane: CostPlane | None = None
    ceiling_cost: float | None = None


def search_origins(
    config: CARBSParams,
    space: SearchSpace,
    front: Sequence[ObservationGroup],
    successes: Sequence[ObservationInBasic],
    model: SurrogateModel | None = None,
) -> SearchOrigins:
    """The front members' inputs, plus (over the whole cost axis) origins below the front
    and the cost range that budgets span.

    The origins below lie on a ray from the front's cheapest member along the cost
    plane's slope or, given the fitted ``model``, along the direction that lowers
    the cost while the model's prediction stays level
    (:func:`~carbs.coverage.level_direction`): from a mid-range start this gives up
    the compute that adds least first, rather than shrinking every cost-driving
    param at once into the smallest, worst corner.

    Where the runs' costs do not depend on the params significantly
    (:attr:`CostPlane.is_significant`, with ``is_cost_plane_tested``), there are
    no origins below the front, and budgets neither reach below nor above it.

    Budgets reach above the front only with a ``max_suggestion_cost``: it says
    what one run may cost, so costs up to it (and up to the dearest legal run)
    are worth aiming at from the start. Without it nothing bounds a run's cost,
    and the front climbs from its dearest member as the release's does.
    """
    origins = front_inputs(front)
    if config.improvement_target is not ImprovementTargetEnum.WHOLE_COST_AXIS:
        return SearchOrigins(origins)
    plane = CostPlane.fit(successes, space.choice_counts(), config.is_cost_overhead_fitted)
    if plane is None or (config.is_cost_plane_tested and not plane.is_significant):
        # Nothing says that any params make a run cheaper or dearer: the costs seen
        # are the costs there are, and budgets stay within the front's.
        return SearchOrigins(origins)
    lower, upper = space.basic_bounds()
    cheapest = front[0].input_in_basic
    log_floor = plane.cheapest_log_cost(cheapest, lower, upper)
    below = origins[:0]
    # No ray gets lower than the slope's: without room below it there are no origins
    # to place, and neither the model's gradient nor another ray is needed.
    if log_floor < float(plane.log_cost(cheapest)) - 1e-9:
        direction = None
        if model is not None and config.is_level_descent_below_front:
            direction = level_direction(plane.slope, model.performance_gradient(cheapest))
        # Along the slope the ray ends at the floor just found.
        end = log_floor if direction is None else None
        below = origins_below(plane, cheapest, lower, upper, direction, end)
    # A steep plane along an unbounded param can put the cheapest legal cost below the
    # smallest float; clamp it there so that the floor stays positive (budgets take its log).
    floor = math.exp(max(log_floor, _LOG_SMALLEST_FLOAT))
    ceiling = None
    if config.max_suggestion_cost is not None:
        log_dearest = plane.dearest_log_cost(front[-1].input_in_basic, lower, upper)
        ceiling = math.exp(min(log_dearest, math.log(config.max_suggestion_cost)))
    return SearchOrigins(torch.cat([origins, below]), floor, plane, ceiling)
