"""A fixed start-up cost on top of another problem's: ``cost = startup + base cost``.

Costs measured in time include what every run pays whatever its params (start-up,
data loading, evaluation), so no run is cheaper than that, however small its model
or short its training. The five-problem suite has one such problem (gpu_memory's
20 s start-up); these variants of two problems added later (``boosting``,
``vision_scaling``) check, on problems carbs was not developed on, that a search
which models the overhead does not aim at costs no run can reach.
"""

from __future__ import annotations

import math

import numpy as np

from benchmarks.problems.base import EvalResult, ParamValues, Problem


def with_startup(base: Problem, startup: float, name: str) -> Problem:
    """``base`` with ``startup`` added to every run's cost, failed runs included.

    The true front at cost ``c`` is ``base``'s at ``c - startup``: the same runs,
    each dearer by the start-up.
    """

    def evaluate(params: ParamValues, rng: np.random.Generator) -> EvalResult:
        output, cost, failed = base.evaluate_fn(params, rng)
        return output, startup + cost, failed

    def true_best_at_cost(cost: float) -> float:
        # The tiny relative slack keeps the cheapest run from rounding away.
        if cost - startup < base.min_cost * (1 - 1e-9) or base.true_best_fn is None:
            return math.inf
        return float(base.true_best_fn(max(cost - startup, base.min_cost)))

    return base.variant(
        name,
        f"plus a fixed start-up of {startup:g} per run",
        evaluate,
        min_cost=startup + base.min_cost,
        max_cost=startup + base.max_cost,
        true_best_fn=true_best_at_cost if base.true_best_fn is not None else None,
    )
