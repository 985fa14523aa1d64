"""Simulated gradient-boosted trees: trees, leaves, learning rate, row subsampling, leaf size.

A practitioner starts at the usual defaults (500 trees, 32 leaves, learning
rate 0.1, 80% of the rows per tree, 20 samples per leaf). Validation loss is

``0.05 + 0.25 / (1 + P / 3) + 0.0015 (P / 30)^0.5 (L / 32)^0.4 + 0.02 lr^0.5
+ 0.03 (L / 4)^-0.5 + 0.005 (1 - s)^2 / s + 0.01 log10(m / m*)^2 + noise``

where ``P = n lr (L / 32)^0.3`` is how far boosting has fitted (underfitting
falls with it, overfitting grows slowly), a large learning rate costs
accuracy, small trees lack capacity, heavy subsampling adds variance, and
the best leaf size ``m* = 20 (L / 32)^0.5`` grows with the leaf count. The
best learning rate therefore falls as the tree count grows. Cost is
``1e-3 n s L^0.5`` seconds. Nothing fails. Added after the five-problem
suite was settled, as a check on problems carbs was not developed on.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from benchmarks.problems.base import (
    ArrayOrFloat,
    EvalResult,
    ParamSpec,
    ParamValues,
    Problem,
)

TREE_RANGE = (10, 5000)
LEAF_COUNTS = (4, 8, 16, 32, 64, 128, 256, 512)
LR_RANGE = (1e-3, 1.0)
SUBSAMPLE_RANGE = (0.05, 0.99)
LEAF_SIZE_RANGE = (1, 200)
NOISE_STD = 0.002


def run_cost(trees: ArrayOrFloat, subsample: ArrayOrFloat, leaves: ArrayOrFloat) -> np.ndarray:
    """Seconds: one pass over the sampled rows per tree, growing with the leaf count."""
    return 1e-3 * np.asarray(trees, float) * subsample * np.sqrt(leaves)


def optimal_leaf_size(leaves: float) -> float:
    """Minimum samples per leaf that minimises the loss with ``leaves`` leaves."""
    return 20.0 * (leaves / 32.0) ** 0.5


def fitting_loss(trees: ArrayOrFloat, lr: ArrayOrFloat, leaves: ArrayOrFloat) -> np.ndarray:
    """The loss terms that do not depend on subsampling or leaf size, elementwise."""
    fitted = trees * lr * (leaves / 32.0) ** 0.3
    underfit = 0.25 / (1.0 + fitted / 3.0)
    overfit = 0.0015 * np.sqrt(fitted / 30.0) * (leaves / 32.0) ** 0.4
    step_size = 0.02 * np.sqrt(lr)
    capacity = 0.03 * (leaves / 4.0) ** -0.5
    return 0.05 + underfit + overfit + step_size + capacity


def subsampling_variance(subsample: ArrayOrFloat) -> np.ndarray:
    """The loss that heavy row subsampling adds."""
    return 0.005 * (1.0 - np.asarray(subsample, float)) ** 2 / subsample


def noise_free(params: ParamValues) -> float:
    """Loss without seed noise."""
    leaves = float(params["num_leaves"])
    base = fitting_loss(
        np.array(float(params["n_trees"])),
        np.array(float(params["learning_rate"])),
        np.array(leaves),
    ) + subsampling_variance(float(params["subsample"]))
    leaf_gap = math.log10(float(params["min_leaf_size"]) / optimal_leaf_size(leaves))
    return float(base) + 0.01 * leaf_gap**2


def evaluate(params: ParamValues, rng: np.random.Generator) -> EvalResult:
    """One run: ``(loss, seconds, failed = False)``."""
    cost = float(
        run_cost(float(params["n_trees"]), float(params["subsample"]), float(params["num_leaves"]))
    )
    return noise_free(params) + NOISE_STD * float(rng.normal()), cost, False


_TREES = np.arange(TREE_RANGE[0], TREE_RANGE[1] + 1, dtype=np.float64)
_LRS = np.geomspace(*LR_RANGE, 481)


@lru_cache(maxsize=1)
def _best_fitting_loss() -> np.ndarray:
    """``(leaf counts, tree counts)``: the fitting loss at the best rate on a fine grid.

    It does not depend on the budget, which only sets the subsample fraction.
    """
    return np.stack(
        [
            fitting_loss(_TREES[:, None], _LRS[None, :], np.float64(leaves)).min(axis=1)
            for leaves in LEAF_COUNTS
        ]
    )


def true_best_at_cost(cost: float) -> float:
    """Best loss with cost <= ``cost``: every tree count and leaf count, a fine grid of rates.

    At a fixed tree and leaf count the loss falls with the subsample fraction, so
    the best run spends what the budget leaves on rows; the leaf size sits at its
    optimum (inside its range for every leaf count).
    """
    best = math.inf
    for index, leaves in enumerate(LEAF_COUNTS):
        subsample = np.minimum(cost / run_cost(_TREES, 1.0, leaves), SUBSAMPLE_RANGE[1])
        legal = subsample >= SUBSAMPLE_RANGE[0]
        if legal.any():
            losses = _best_fitting_loss()[index, legal] + subsampling_variance(subsample[legal])
            best = min(best, float(losses.min()))
    return best


def make_problem() -> Problem:
    """The registered ``boosting`` problem."""
    params = (
        ParamSpec(
            "n_trees", "log", *TREE_RANGE, search_center=500, is_integer=True, drives_cost=True
        ),
        ParamSpec.ordinal("num_leaves", LEAF_COUNTS, search_center=32, drives_cost=True),
        ParamSpec("learning_rate", "log", *LR_RANGE, search_center=0.1),
        ParamSpec("subsample", "logit", *SUBSAMPLE_RANGE, search_center=0.8, drives_cost=True),
        ParamSpec("min_leaf_size", "log", *LEAF_SIZE_RANGE, search_center=20, is_integer=True),
    )
    return Problem(
        name="boosting",
        description="gradient-boosted trees: trees, leaves, lr, subsample, leaf size; seconds",
        params=params,
        evaluate_fn=evaluate,
        min_cost=float(run_cost(TREE_RANGE[0], SUBSAMPLE_RANGE[0], LEAF_COUNTS[0])),
        max_cost=float(run_cost(TREE_RANGE[1], SUBSAMPLE_RANGE[1], LEAF_COUNTS[-1])),
        noise_free_fn=noise_free,
        true_best_fn=true_best_at_cost,
    )
