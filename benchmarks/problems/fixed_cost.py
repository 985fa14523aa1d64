"""One cost for every run, whatever its params: ``cost = c * (1 + overrun * U(0, 1))``.

Some sweeps have no cost axis: every run is time-boxed (it trains for ten
minutes and overruns its box by a little, while it checkpoints or evaluates),
or the user reports ``cost=1`` and counts runs. These variants of two problems
added after the suite (``boosting``, ``vision_scaling``) keep their outputs and
give every run the same cost, so the best run is the base problem's best
overall. They check that a search which looks for the cheap end of the cost
axis does not chase one made of noise or of rounding.

Cost levels span ``[c, c (1 + overrun)]``. With an overrun, the lowest level
(exactly ``c``) has no run for any optimizer and charges every one the same
"bad run" regret; without one, every level is ``c`` and the five-level regret
is the final regret.
"""

from __future__ import annotations

import numpy as np

from benchmarks.problems.base import EvalResult, ParamValues, Problem


def with_fixed_cost(base: Problem, cost: float, overrun: float, name: str) -> Problem:
    """``base`` with every run's cost ``cost * (1 + overrun * U(0, 1))`` (``overrun`` 0:
    exactly ``cost``), failed runs included; the best output is ``base``'s best overall."""

    def evaluate(params: ParamValues, rng: np.random.Generator) -> EvalResult:
        output, _, failed = base.evaluate_fn(params, rng)
        return output, cost * (1 + overrun * float(rng.random())) if overrun else cost, failed

    def true_best_at_cost(level: float) -> float:
        assert base.true_best_fn is not None
        return float(base.true_best_fn(base.max_cost))

    return base.variant(
        name,
        f"every run costs {cost:g} (overrun {overrun:g})",
        evaluate,
        min_cost=cost,
        max_cost=cost * (1 + max(overrun, 1e-9)),
        true_best_fn=true_best_at_cost if base.true_best_fn is not None else None,
    )
