"""Wall-clock costs with stragglers: ``cost = base cost * (1 + jitter |N(0, 1)|) * s``.

Runs timed on a shared cluster rarely take exactly what their params call for:
most overrun their nominal time by a few percent (``jitter``), and a few land on
a slow or contended node and take several times as long (``s = slowdown`` with
probability ``straggler_rate``, else 1). The output does not depend on where the
run landed. These variants of two problems added after the suite (``boosting``,
``vision_scaling``) check that the cost models, which assume Gaussian noise in log
cost, neither chase the stragglers nor let them distort where cheap runs lie.

No run costs less than its nominal cost, so the true front at cost ``c`` is the
base problem's at ``c``.
"""

from __future__ import annotations

import numpy as np

from benchmarks.problems.base import EvalResult, ParamValues, Problem


def with_stragglers(
    base: Problem, jitter: float, straggler_rate: float, slowdown: float, name: str
) -> Problem:
    """``base`` with each run's cost inflated by a half-normal overrun of scale ``jitter``
    and, with probability ``straggler_rate``, by a further factor ``slowdown`` (failed runs
    included); outputs and the true front are ``base``'s."""

    def evaluate(params: ParamValues, rng: np.random.Generator) -> EvalResult:
        output, cost, failed = base.evaluate_fn(params, rng)
        overrun = 1.0 + jitter * abs(float(rng.normal()))
        straggled = float(rng.random()) < straggler_rate
        return output, cost * overrun * (slowdown if straggled else 1.0), failed

    note = f"runs overrun by {jitter:g}|N(0,1)| and {straggler_rate:.0%} straggle {slowdown:g}x"
    return base.variant(name, note, evaluate)
