"""Simulated transformer pretraining by shape: width, depth, tokens and learning rate.

The natural place to start is a mid-size model (d_model 512, 8 layers, 3e9
tokens, about 4.5e17 FLOPs), while the cheapest cost level lies about 100x
below it and the dearest 1e5x above: a search that only climbs from its centre
never covers the cheap end. The loss is Chinchilla's law (the constants of
Besiroglu et al. 2024) in the non-embedding parameter count
``N = 12 * n_layers * d_model^2``, plus

* a mild penalty for the model's aspect ratio ``d_model / n_layers`` away from
  64 (Kaplan et al. 2020 found a broad optimum around there),
* a learning-rate penalty around ``lr* = 2e-3 * 512 / d_model`` (the optimum
  falls with width, as under muP-like parametrisations),

and seed noise. Cost is ``6 N D`` FLOPs. A learning rate more than 5x above
``lr*`` diverges, and the run fails after a fifth of its compute.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from benchmarks.problems.base import EvalResult, ParamSpec, ParamValues, Problem

E, A, B, ALPHA, BETA = 1.8172, 482.01, 2085.43, 0.3478, 0.3658
WIDTH_RANGE = (64, 4096)
DEPTH_RANGE = (2, 64)
TOKEN_RANGE = (1e8, 1e12)
LR_RANGE = (1e-5, 1e-1)
BEST_ASPECT = 64.0
ASPECT_PENALTY = 0.03
LR_PENALTY = 0.2
DIVERGENCE_FACTOR = 5.0
FAILED_COST_FRACTION = 0.2
NOISE_STD = 0.01


def parameter_count(width: Any, depth: Any) -> Any:
    """Non-embedding parameters of a transformer of this shape."""
    return 12.0 * depth * width**2


def optimal_lr(width: float) -> float:
    """Learning rate that minimises the loss of a model ``width`` wide."""
    return 2e-3 * 512.0 / width


def shaped_loss(width: np.ndarray, depth: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """Loss at the optimal learning rate, elementwise."""
    n_params = parameter_count(width, depth)
    aspect = ASPECT_PENALTY * np.log10(width / depth / BEST_ASPECT) ** 2
    return E + A / n_params**ALPHA + B / tokens**BETA + aspect


def noise_free(params: ParamValues) -> float:
    """Loss without seed noise (finite even where training would diverge)."""
    width, depth = float(params["d_model"]), float(params["n_layers"])
    tokens, lr = float(params["tokens"]), float(params["lr"])
    penalty = LR_PENALTY * math.log10(lr / optimal_lr(width)) ** 2
    base = shaped_loss(np.array(width), np.array(depth), np.array(tokens))
    return float(base) + penalty


def evaluate(params: ParamValues, rng: np.random.Generator) -> EvalResult:
    """One run: ``(loss, 6 N D, diverged)``; a diverged run costs a fifth and has NaN loss."""
    width, depth = float(params["d_model"]), float(params["n_layers"])
    cost = 6.0 * parameter_count(width, depth) * float(params["tokens"])
    if float(params["lr"]) > DIVERGENCE_FACTOR * optimal_lr(width):
        return float("nan"), FAILED_COST_FRACTION * cost, True
    return noise_free(params) + NOISE_STD * float(rng.normal()), cost, False


_WIDTHS = np.arange(WIDTH_RANGE[0], WIDTH_RANGE[1] + 1, dtype=np.float64)
_DEPTHS = np.arange(DEPTH_RANGE[0], DEPTH_RANGE[1] + 1, dtype=np.float64)
_GRID_WIDTH, _GRID_DEPTH = np.meshgrid(_WIDTHS, _DEPTHS, indexing="ij")
_GRID_N = parameter_count(_GRID_WIDTH, _GRID_DEPTH)


def true_best_at_cost(cost: float) -> float:
    """Best loss of a legal shape with ``6 N D <= cost``, over every integer width and depth.

    At a fixed shape the loss falls with tokens, so the best run spends the whole
    budget on tokens (up to the dataset's size).
    """
    tokens = np.minimum(TOKEN_RANGE[1], cost / (6.0 * _GRID_N))
    legal = tokens >= TOKEN_RANGE[0]
    if not legal.any():
        return float("inf")
    losses = shaped_loss(_GRID_WIDTH[legal], _GRID_DEPTH[legal], tokens[legal])
    return float(losses.min())


def make_problem() -> Problem:
    """The registered ``lm_shape`` problem."""
    params = (
        ParamSpec(
            "d_model", "log", *WIDTH_RANGE, search_center=512, is_integer=True, drives_cost=True
        ),
        ParamSpec(
            "n_layers", "log", *DEPTH_RANGE, search_center=8, is_integer=True, drives_cost=True
        ),
        ParamSpec("tokens", "log", *TOKEN_RANGE, search_center=3e9, drives_cost=True),
        ParamSpec("lr", "log", *LR_RANGE, search_center=1e-3, scale=0.5),
    )
    min_n = parameter_count(WIDTH_RANGE[0], DEPTH_RANGE[0])
    max_n = parameter_count(WIDTH_RANGE[1], DEPTH_RANGE[1])
    return Problem(
        name="lm_shape",
        description="transformer width, depth, tokens, lr; cost 6ND; centre 100x above cheap end",
        params=params,
        evaluate_fn=evaluate,
        min_cost=6.0 * min_n * TOKEN_RANGE[0],
        max_cost=6.0 * max_n * TOKEN_RANGE[1],
        noise_free_fn=noise_free,
        true_best_fn=true_best_at_cost,
    )
