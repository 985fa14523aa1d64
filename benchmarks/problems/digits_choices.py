"""A real training run with choices: a torch MLP on scikit-learn's digits, with optimizer,
activation and a power-of-two batch size to pick.

Params: the optimizer (SGD with momentum 0.9, Adam or RMSprop), the hidden
activation (relu, tanh or sigmoid), the learning rate, the batch size (a power
of two from 8 to 512), the hidden width and the epochs. Output: validation error
rate. Cost: training FLOPs, ``6 * n_weights * samples_seen`` for the forward and
backward passes plus the optimizer's update, ``k * n_weights`` per step with
``k`` = 3 (SGD with momentum), 6 (RMSprop) or 8 (Adam) elementwise operations, so
small batches and the heavier optimizers cost more per sample. A run whose loss
becomes non-finite has diverged: it fails and is charged for what it did.

Which choice is best depends on the budget. Over the 4200 runs of the suite's
10-seed comparison (every optimizer pooled, see ``benchmarks/RESULTS.md``), SGD
and tanh units gave the lowest error at the cheapest level (about 1.8e7 FLOPs),
Adam from about 3e8 FLOPs up, relu at 1.3e9, and batches of 8 or 16 win at the
cheap levels. Each run is seeded from the rng it is given through a private
``torch.Generator``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmarks.problems.base import EvalResult, ParamSpec, ParamValues, Problem
from benchmarks.problems.digits_mlp import (
    CHANCE_ERROR,
    NUM_CLASSES,
    NUM_FEATURES,
    NUM_TRAIN,
    _linear,
    _single_thread,
    load_split,
    num_weights,
)

if TYPE_CHECKING:
    import torch

OPTIMIZERS = ("sgd", "adam", "rmsprop")
ACTIVATIONS = ("relu", "tanh", "sigmoid")
BATCH_SIZES = tuple(2**k for k in range(3, 10))
UPDATE_OPERATIONS = {"sgd": 3, "adam": 8, "rmsprop": 6}
"""Elementwise operations per weight in one optimizer step."""
WIDTH_RANGE = (8, 256)
EPOCH_RANGE = (1, 32)


def training_flops(width: int, samples: int, steps: int, optimizer: str) -> float:
    """Forward and backward passes plus the optimizer's updates."""
    weights = num_weights(width)
    return 6.0 * weights * samples + UPDATE_OPERATIONS[optimizer] * weights * steps


def _optimizer(name: str, weights: list[torch.Tensor], lr: float) -> torch.optim.Optimizer:
    import torch

    if name == "sgd":
        return torch.optim.SGD(weights, lr=lr, momentum=0.9)
    if name == "adam":
        return torch.optim.Adam(weights, lr=lr)
    return torch.optim.RMSprop(weights, lr=lr)


def train(params: ParamValues, generator: torch.Generator) -> tuple[float, int, int, bool]:
    """Train once; returns ``(validation error, samples seen, steps, diverged)``."""
    import torch
    import torch.nn.functional as F

    activation: Any = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}[
        params["activation"]
    ]
    width, batch_size = int(params["width"]), int(params["batch_size"])
    x_train, y_train, x_val, y_val = load_split()
    w1, b1 = _linear(NUM_FEATURES, width, generator)
    w2, b2 = _linear(width, NUM_CLASSES, generator)
    optimizer = _optimizer(params["optimizer"], [w1, b1, w2, b2], float(params["lr"]))
    samples = steps = 0
    for _ in range(int(params["epochs"])):
        order = torch.randperm(NUM_TRAIN, generator=generator)
        for start in range(0, NUM_TRAIN, batch_size):
            index = order[start : start + batch_size]
            logits = activation(x_train[index] @ w1 + b1) @ w2 + b2
            loss = F.cross_entropy(logits, y_train[index])
            samples += len(index)
            steps += 1
            if not torch.isfinite(loss):
                return math.nan, samples, steps, True
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        logits = activation(x_val @ w1 + b1) @ w2 + b2
        if not torch.isfinite(logits).all():
            return math.nan, samples, steps, True
        error = float((logits.argmax(dim=1) != y_val).float().mean())
    return error, samples, steps, False


def evaluate(params: ParamValues, rng: np.random.Generator) -> EvalResult:
    """One training run: ``(validation error, FLOPs, diverged)``."""
    import torch

    generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
    with _single_thread():
        error, samples, steps, diverged = train(params, generator)
    flops = training_flops(int(params["width"]), samples, steps, str(params["optimizer"]))
    return error, flops, diverged


def make_problem() -> Problem:
    """The registered ``digits_choices`` problem (no closed-form true front)."""
    params = (
        ParamSpec.categorical("optimizer", OPTIMIZERS, search_center="sgd"),
        ParamSpec.categorical("activation", ACTIVATIONS, search_center="relu"),
        ParamSpec("lr", "log", 1e-4, 1.0, search_center=0.01, scale=1.0),
        ParamSpec.ordinal("batch_size", BATCH_SIZES, search_center=64),
        ParamSpec(
            "width", "log", *WIDTH_RANGE, search_center=32, is_integer=True, drives_cost=True
        ),
        ParamSpec(
            "epochs", "log", *EPOCH_RANGE, search_center=8, is_integer=True, drives_cost=True
        ),
    )
    cheapest_steps = math.ceil(NUM_TRAIN / BATCH_SIZES[-1]) * EPOCH_RANGE[0]
    dearest_steps = math.ceil(NUM_TRAIN / BATCH_SIZES[0]) * EPOCH_RANGE[1]
    return Problem(
        name="digits_choices",
        description=(
            "Real torch MLP on sklearn digits: optimizer and activation choices, lr, "
            "power-of-two batch size, width, epochs; FLOPs"
        ),
        params=params,
        evaluate_fn=evaluate,
        min_cost=training_flops(WIDTH_RANGE[0], NUM_TRAIN * EPOCH_RANGE[0], cheapest_steps, "sgd"),
        max_cost=training_flops(WIDTH_RANGE[1], NUM_TRAIN * EPOCH_RANGE[1], dearest_steps, "adam"),
        output_ceiling=CHANCE_ERROR,
    )
