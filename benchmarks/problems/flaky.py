"""Failures that have nothing to do with the params: ``P(fail) = rate`` for every run.

On a shared cluster some runs die for reasons of their own: a pre-empted node, a
network timeout, a full disk. Such a run fails wherever it was in the search
space, after spending part of its cost (uniform between a tenth and all of it).
These variants of two problems added after the suite (``boosting``, which never
fails by itself, and ``vision_scaling``, whose learning rate diverges when too
high) check that a search which learns where runs fail, and shows failed runs to
its performance model, does not learn a failing region from bad luck.

Outputs and the true front are the base problem's: a flaky failure costs a run,
it does not change what the run would have scored.
"""

from __future__ import annotations

import numpy as np

from benchmarks.problems.base import EvalResult, ParamValues, Problem


def with_flaky_failures(base: Problem, rate: float, name: str) -> Problem:
    """``base`` whose runs also fail with probability ``rate`` whatever their params,
    having spent between a tenth and all of their cost."""

    def evaluate(params: ParamValues, rng: np.random.Generator) -> EvalResult:
        output, cost, failed = base.evaluate_fn(params, rng)
        # Both draws are made for every run, so that the noise stream, and with it which
        # runs fail, is the same for every optimizer.
        flaky = float(rng.random()) < rate
        spent = float(rng.uniform(0.1, 1.0))
        if flaky and not failed:
            return output, cost * spent, True
        return output, cost, failed

    return base.variant(name, f"{rate:.0%} of runs fail whatever their params", evaluate)
