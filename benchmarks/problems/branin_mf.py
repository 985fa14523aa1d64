"""Multi-fidelity Branin: a ``steps`` param sets the cost, the bias and where the optimum lies.

``output = branin(x1 + 2 g, x2 - 3 g) + 4 g^2 + (0.1 + 0.2 g) * noise`` with the
fidelity gap ``g = 1 - log10(steps / 10) / 3`` (1 at 10 steps, 0 at 10^4) and
``cost = steps``. Short runs are biased and noisier, and their best ``x`` lies
elsewhere than the long runs' best: the optimal setting moves with the budget,
as a learning rate does with training length. Added after the five-problem
suite was settled, as a check on problems carbs was not developed on.
"""

from __future__ import annotations

import math

import numpy as np

from benchmarks.problems.base import EvalResult, ParamSpec, ParamValues, Problem

STEPS_RANGE = (10.0, 10000.0)
X1_RANGE = (-5.0, 10.0)
X2_RANGE = (0.0, 15.0)
SHIFT = (2.0, -3.0)
BIAS = 4.0
BRANIN_MIN = 0.397887357729738


def branin(x1: np.ndarray | float, x2: np.ndarray | float) -> np.ndarray:
    """The Branin-Hoo function (minimum 0.397887 at three points)."""
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * np.square(x1) + c * x1 - 6) ** 2 + 10 * (1 - t) * np.cos(x1) + 10


def fidelity_gap(steps: float) -> float:
    """``g``: 1 at the fewest steps, 0 at the most."""
    return 1.0 - math.log10(steps / STEPS_RANGE[0]) / math.log10(STEPS_RANGE[1] / STEPS_RANGE[0])


def noise_free(params: ParamValues) -> float:
    """Output without seed noise."""
    gap = fidelity_gap(float(params["steps"]))
    x1 = float(params["x1"]) + SHIFT[0] * gap
    x2 = float(params["x2"]) + SHIFT[1] * gap
    return float(branin(x1, x2)) + BIAS * gap**2


def evaluate(params: ParamValues, rng: np.random.Generator) -> EvalResult:
    """One noisy run: ``(output, cost = steps, failed = False)``."""
    gap = fidelity_gap(float(params["steps"]))
    noise = (0.1 + 0.2 * gap) * float(rng.normal())
    return noise_free(params) + noise, float(params["steps"]), False


def true_best_at_cost(cost: float) -> float:
    """``min_x`` at the most steps ``cost`` buys: Branin's minimum plus the bias.

    The shifted minimiser ``(pi - 2 g, 2.275 + 3 g)`` stays inside the bounds for
    every ``g`` in [0, 1], so the minimum over ``x`` is Branin's own.
    """
    if cost < STEPS_RANGE[0]:
        return float("inf")
    gap = fidelity_gap(min(cost, STEPS_RANGE[1]))
    return BRANIN_MIN + BIAS * gap**2


def make_problem() -> Problem:
    """The registered ``branin_mf`` problem."""
    params = (
        ParamSpec("x1", "linear", *X1_RANGE, search_center=2.5, scale=7.5),
        ParamSpec("x2", "linear", *X2_RANGE, search_center=7.5, scale=7.5),
        ParamSpec("steps", "log", *STEPS_RANGE, search_center=1000.0, drives_cost=True),
    )
    return Problem(
        name="branin_mf",
        description="Branin with a steps param: cost = steps, short runs biased, optimum moves",
        params=params,
        evaluate_fn=evaluate,
        min_cost=STEPS_RANGE[0],
        max_cost=STEPS_RANGE[1],
        noise_free_fn=noise_free,
        true_best_fn=true_best_at_cost,
    )
