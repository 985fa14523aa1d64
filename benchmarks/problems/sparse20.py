"""A 20-dimensional problem in which only four params matter, one of them the cost.

``steps`` sets the cost (one second per step) and the best reachable loss,
``0.3 + 2 (steps / 10)^-0.5``. ``lr`` (log), ``warmup`` (linear) and ``dropout``
(logit) add a coupled quadratic penalty; the best learning rate falls with
training length, ``lr* = 0.01 (steps / 1000)^-0.25``. The other 16 params, of all
three kinds, have no effect at all: an optimizer that cannot ignore them wastes
evaluations.
"""

from __future__ import annotations

import math

import numpy as np

from benchmarks.problems.base import EvalResult, ParamSpec, ParamValues, Problem, logit10

STEPS_RANGE = (10, 10000)
NUM_DISTRACTORS = 16
NOISE_STD = 0.02
BEST_DROPOUT = 0.1
BEST_WARMUP = 0.3


def base_loss(steps: float) -> float:
    """Loss at the best settings of the relevant params."""
    return 0.3 + 2.0 * (steps / STEPS_RANGE[0]) ** -0.5


def optimal_lr(steps: float) -> float:
    """Learning rate that minimises the loss for a run of ``steps`` steps."""
    return 0.01 * (steps / 1000.0) ** -0.25


def noise_free(params: ParamValues) -> float:
    """Loss without noise; depends on ``steps``, ``lr``, ``warmup`` and ``dropout`` only."""
    steps = float(params["steps"])
    u = math.log10(float(params["lr"]) / optimal_lr(steps))
    v = (float(params["warmup"]) - BEST_WARMUP) / 0.2
    w = float(logit10(float(params["dropout"])) - logit10(BEST_DROPOUT))
    return base_loss(steps) + 0.5 * u**2 + 0.2 * u * v + 0.2 * v**2 + 0.3 * w**2


def evaluate(params: ParamValues, rng: np.random.Generator) -> EvalResult:
    """One run: ``(loss, seconds = steps, failed = False)``."""
    return noise_free(params) + NOISE_STD * float(rng.normal()), float(params["steps"]), False


def true_best_at_cost(cost: float) -> float:
    """``base_loss`` of the longest affordable run (the penalty can always be zeroed)."""
    if cost < STEPS_RANGE[0]:
        return float("inf")
    return base_loss(math.floor(min(cost, STEPS_RANGE[1])))


def _distractor(index: int) -> ParamSpec:
    name = f"distractor_{index:02d}"
    kind = index % 3
    if kind == 0:
        return ParamSpec(name, "linear", -1.0, 1.0, search_center=0.0, scale=0.5)
    if kind == 1:
        return ParamSpec(name, "log", 1e-3, 1e3, search_center=1.0, scale=1.0)
    return ParamSpec(name, "logit", 0.01, 0.99, search_center=0.5, scale=1.0)


def make_problem() -> Problem:
    """The registered ``sparse20`` problem."""
    relevant = (
        ParamSpec(
            "steps",
            "log",
            *STEPS_RANGE,
            search_center=300,
            scale=1.0,
            is_integer=True,
            drives_cost=True,
        ),
        ParamSpec("lr", "log", 1e-5, 1.0, search_center=1e-3, scale=1.0),
        ParamSpec("warmup", "linear", 0.0, 1.0, search_center=0.5, scale=0.5),
        ParamSpec("dropout", "logit", 0.01, 0.9, search_center=0.3, scale=1.0),
    )
    distractors = tuple(_distractor(i) for i in range(NUM_DISTRACTORS))
    return Problem(
        name="sparse20",
        description="20 params, 4 matter (steps = cost, lr, warmup, dropout), 16 distractors",
        params=relevant + distractors,
        evaluate_fn=evaluate,
        min_cost=float(STEPS_RANGE[0]),
        max_cost=float(STEPS_RANGE[1]),
        noise_free_fn=noise_free,
        true_best_fn=true_best_at_cost,
    )
