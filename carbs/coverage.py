"""Reaching the cheap end of the cost axis: a log-linear cost model and origins along it.

Log cost is close to linear in basic space: costs are products of powers of
log-space params (width, steps, tokens, batch size). A least-squares plane
through the successes' log costs, :class:`CostPlane`, therefore says how to
make a run cheaper and how cheap a legal run can get, even from a cluster of
runs far from the cheap end. :func:`origins_below` places search origins along
it, between the front's cheapest member and the cheapest legal cost, so that
the search can reach costs below the front in a few steps rather than one
search radius at a time. (Origins above the front were tried and dropped: they
sent the search to the dearest corner early and cost coverage in the middle;
``benchmarks/RESULTS.md``.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs
import torch
from torch import Tensor

from carbs.observations import ObservationInBasic

MAX_MOVE = 10.0
"""The farthest, in basic units per param, a ray is followed where a param has no bound."""
ORIGINS_PER_END = 3
"""Origins placed between the front's cheapest member and the cheapest legal cost."""
BISECTION_STEPS = 40
"""Halvings of the step along the ray: far finer than any rounding of the params."""


@attrs.frozen
class CostPlane:
    """``log(cost) ~ slope . x + intercept`` over basic space.

    Attributes:
        slope: Shape ``(d,)``.
        intercept: The plane's value at the origin of basic space.
    """

    slope: Tensor
    intercept: float

    @classmethod
    def fit(cls, successes: Sequence[ObservationInBasic]) -> CostPlane | None:
        """Least squares through the successes; ``None`` with fewer than ``2 (d + 1)`` of them."""
        if not successes or len(successes) < 2 * (successes[0].real_number_input.shape[0] + 1):
            return None
        x = torch.stack([o.real_number_input for o in successes]).to(torch.float64)
        log_cost = torch.log(torch.tensor([o.cost for o in successes], dtype=torch.float64))
        design = torch.cat([x, torch.ones(x.shape[0], 1, dtype=torch.float64)], dim=1)
        # Normal equations with a tiny ridge: well posed when a param never varied, and,
        # unlike torch.linalg.lstsq, the same to the last bit on every call (a seed
        # must fix every suggestion).
        gram = design.T @ design
        ridge = 1e-9 * float(gram.diagonal().mean()) * torch.eye(gram.shape[0], dtype=torch.float64)
        solution = torch.linalg.solve(gram + ridge, design.T @ log_cost)
        return cls(solution[:-1], float(solution[-1]))

    def log_cost(self, points: Tensor) -> Tensor:
        """The plane at points ``(..., d)``, shape ``(...)``."""
        return points @ self.slope + self.intercept

    def ray(self, start: Tensor, lower: Tensor, upper: Tensor, steps: Tensor) -> Tensor:
        """Points ``(k, d)`` from ``start`` along the plane's gradient, clipped into the bounds.

        ``steps`` ``(k,)`` are signed distances in units of the gradient: negative
        goes towards cheaper runs. Each param moves in proportion to its effect
        on cost, so params that do not drive cost stay put.
        """
        direction = self.slope / self.slope.norm().clamp_min(1e-12)
        low = torch.maximum(lower, start - MAX_MOVE)
        high = torch.minimum(upper, start + MAX_MOVE)
        moved = start + steps.unsqueeze(-1) * direction
        return torch.minimum(torch.maximum(moved, low), high)

    def points_at(
        self, start: Tensor, lower: Tensor, upper: Tensor, target_log_costs: Tensor
    ) -> Tensor:
        """Points ``(k, d)`` of the ray from ``start`` whose plane values are the targets
        ``(k,)`` (or the ray's end, where the bounds stop it short), by bisection on
        every target at once."""
        sign = torch.where(target_log_costs > self.log_cost(start), 1.0, -1.0)
        low = torch.zeros_like(target_log_costs)
        high = torch.full_like(target_log_costs, MAX_MOVE * math.sqrt(start.shape[0]))
        for _ in range(BISECTION_STEPS):
            middle = (low + high) / 2
            reached = (
                self.log_cost(self.ray(start, lower, upper, sign * middle)) - target_log_costs
            ) * sign >= 0
            low = torch.where(reached, low, middle)
            high = torch.where(reached, middle, high)
        return self.ray(start, lower, upper, sign * high)

    def cheapest_log_cost(self, start: Tensor, lower: Tensor, upper: Tensor) -> float:
        """The plane's value at the cheap end of the ray from ``start``: the cheapest
        legal cost it predicts."""
        steps = torch.tensor([-MAX_MOVE * 1e3], dtype=torch.float64)
        return float(self.log_cost(self.ray(start, lower, upper, steps)[0]))


def origins_below(plane: CostPlane, cheapest: Tensor, lower: Tensor, upper: Tensor) -> Tensor:
    """Search origins between the front's cheapest member and the cheapest legal cost.

    :data:`ORIGINS_PER_END` points on the plane's ray from ``cheapest`` (the
    cheapest member's input, ``(d,)``), evenly spaced in predicted log cost down to
    the cheapest legal cost. None if the front already reaches it.

    Returns:
        Shape ``(k, d)``, ``k`` 0 or :data:`ORIGINS_PER_END`.
    """
    here = float(plane.log_cost(cheapest))
    gap = plane.cheapest_log_cost(cheapest, lower, upper) - here
    if gap > -1e-9:
        return cheapest.new_zeros((0, cheapest.shape[0]))
    fractions = torch.arange(1, ORIGINS_PER_END + 1, dtype=torch.float64) / ORIGINS_PER_END
    return plane.points_at(cheapest, lower, upper, here + gap * fractions)
