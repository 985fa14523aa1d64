"""Simulated image-classifier training: width, epochs, batch size, learning rate, weight decay.

A practitioner starts at a familiar recipe (width multiplier 1, 30 epochs,
batch 128, lr 0.1, weight decay 5e-4: about 0.9 GPU-hours), while the cheapest
cost level lies about 100x below it. Test error is

``0.03 + 0.04 w^-0.8 + 0.15 e^-0.5 + 0.01 (b / 256)^0.5
+ 0.03 log10(lr / lr*)^2 + 0.01 log10(wd / wd*)^2 + noise``

with the linear-scaling learning rate ``lr* = 0.1 (b / 128) w^-0.5`` and a
weight decay that should shrink with training length, ``wd* = 5e-4 (30 / e)^0.5``.
Large batches generalise a little worse but run faster: cost is
``0.02 w^2 e (1 + 64 / b)`` GPU-hours. A learning rate more than 6x above
``lr*`` diverges, and the run fails after 5% of its cost. Added after the
five-problem suite was settled, as a check on problems carbs was not
developed on.
"""

from __future__ import annotations

import math

import numpy as np

from benchmarks.problems.base import (
    ArrayOrFloat,
    EvalResult,
    ParamSpec,
    ParamValues,
    Problem,
)

WIDTH_RANGE = (0.25, 4.0)
EPOCH_RANGE = (1, 300)
BATCH_SIZES = (16, 32, 64, 128, 256, 512, 1024)
LR_RANGE = (1e-4, 3.0)
WD_RANGE = (1e-6, 1e-1)
NOISE_STD = 0.003
DIVERGENCE_FACTOR = 6.0
FAILED_COST_FRACTION = 0.05


def optimal_lr(width: float, batch_size: float) -> float:
    """The linear-scaling learning rate, smaller for wider networks."""
    return 0.1 * (batch_size / 128.0) * width**-0.5


def optimal_weight_decay(epochs: float) -> float:
    """Weight decay that minimises the error of a run ``epochs`` long."""
    return 5e-4 * (30.0 / epochs) ** 0.5


def run_cost(width: ArrayOrFloat, epochs: ArrayOrFloat, batch: ArrayOrFloat) -> np.ndarray:
    """GPU-hours: compute grows with width squared and epochs, small batches add overhead."""
    return 0.02 * np.square(width) * epochs * (1.0 + 64.0 / np.asarray(batch, dtype=float))


def tuned_error(width: np.ndarray, epochs: np.ndarray, batch: np.ndarray) -> np.ndarray:
    """Error at the optimal learning rate and weight decay, elementwise."""
    return 0.03 + 0.04 * width**-0.8 + 0.15 * epochs**-0.5 + 0.01 * np.sqrt(batch / 256.0)


def noise_free(params: ParamValues) -> float:
    """Error without seed noise (finite even where training would diverge)."""
    width, epochs = float(params["width"]), float(params["epochs"])
    batch = float(params["batch_size"])
    lr_gap = math.log10(float(params["lr"]) / optimal_lr(width, batch))
    wd_gap = math.log10(float(params["weight_decay"]) / optimal_weight_decay(epochs))
    base = float(tuned_error(np.array(width), np.array(epochs), np.array(batch)))
    return base + 0.03 * lr_gap**2 + 0.01 * wd_gap**2


def evaluate(params: ParamValues, rng: np.random.Generator) -> EvalResult:
    """One run: ``(error, GPU-hours, diverged)``; a diverged run costs 5% and has NaN error."""
    width, epochs = float(params["width"]), float(params["epochs"])
    batch = float(params["batch_size"])
    cost = float(run_cost(width, epochs, batch))
    if float(params["lr"]) > DIVERGENCE_FACTOR * optimal_lr(width, batch):
        return float("nan"), FAILED_COST_FRACTION * cost, True
    return noise_free(params) + NOISE_STD * float(rng.normal()), cost, False


_EPOCHS = np.arange(EPOCH_RANGE[0], EPOCH_RANGE[1] + 1, dtype=np.float64)
_GRID_EPOCHS, _GRID_BATCH = np.meshgrid(_EPOCHS, np.array(BATCH_SIZES, float), indexing="ij")


def true_best_at_cost(cost: float) -> float:
    """Best error with cost <= ``cost``, exact over every epoch count and batch size.

    The learning rate and weight decay can always sit at their optima (inside
    their ranges for every legal width, epoch count and batch size), and at a
    fixed epoch count and batch size the error falls with width, so the best
    run is the widest the budget buys.
    """
    width = np.sqrt(cost / run_cost(1.0, _GRID_EPOCHS, _GRID_BATCH))
    legal = width >= WIDTH_RANGE[0]
    if not legal.any():
        return float("inf")
    width = np.minimum(width[legal], WIDTH_RANGE[1])
    return float(tuned_error(width, _GRID_EPOCHS[legal], _GRID_BATCH[legal]).min())


def make_problem() -> Problem:
    """The registered ``vision_scaling`` problem."""
    params = (
        ParamSpec("width", "log", *WIDTH_RANGE, search_center=1.0, drives_cost=True),
        ParamSpec(
            "epochs", "log", *EPOCH_RANGE, search_center=30, is_integer=True, drives_cost=True
        ),
        ParamSpec.ordinal("batch_size", BATCH_SIZES, search_center=128),
        ParamSpec("lr", "log", *LR_RANGE, search_center=0.1, scale=0.5),
        ParamSpec("weight_decay", "log", *WD_RANGE, search_center=5e-4),
    )
    return Problem(
        name="vision_scaling",
        description="image classifier width, epochs, batch, lr, wd; GPU-hours; centre 100x up",
        params=params,
        evaluate_fn=evaluate,
        min_cost=float(run_cost(WIDTH_RANGE[0], EPOCH_RANGE[0], BATCH_SIZES[-1])),
        max_cost=float(run_cost(WIDTH_RANGE[1], EPOCH_RANGE[1], BATCH_SIZES[0])),
        noise_free_fn=noise_free,
        true_best_fn=true_best_at_cost,
    )
