"""A real training run: a one-hidden-layer torch MLP on scikit-learn's bundled digits.

Params: learning rate and weight decay of SGD with momentum 0.9, hidden width and
epochs. Output: validation error rate. Cost: training FLOPs,
``6 * n_weights * samples_seen``, which is deterministic. A run whose training
loss becomes non-finite has diverged: it fails and is charged for the samples it
saw. Each run is seeded from the rng it is given through a private
``torch.Generator``; the global torch seed is never touched.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from benchmarks.problems.base import EvalResult, ParamSpec, ParamValues, Problem

if TYPE_CHECKING:
    import torch

NUM_FEATURES = 64
NUM_CLASSES = 10
NUM_TRAIN = 1200
BATCH_SIZE = 64
WIDTH_RANGE = (8, 256)
EPOCH_RANGE = (1, 64)
CHANCE_ERROR = 0.9


@lru_cache(maxsize=1)
def load_split() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(x_train, y_train, x_val, y_val)``: a fixed split of the 1797 digits, pixels in [0, 1]."""
    import torch
    from sklearn.datasets import load_digits

    data = load_digits()
    order = np.random.default_rng(0).permutation(len(data.target))
    x = torch.tensor(data.data[order] / 16.0, dtype=torch.float32)
    y = torch.tensor(data.target[order], dtype=torch.long)
    return x[:NUM_TRAIN], y[:NUM_TRAIN], x[NUM_TRAIN:], y[NUM_TRAIN:]


def num_weights(width: int) -> int:
    """Trainable parameters of the 64-width-10 MLP."""
    return (NUM_FEATURES + 1) * width + (width + 1) * NUM_CLASSES


def training_flops(width: int, samples: int) -> float:
    """Forward plus backward FLOPs, ``6 * weights * samples``."""
    return 6.0 * num_weights(width) * samples


@contextmanager
def _single_thread() -> Iterator[None]:
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _linear(fan_in: int, fan_out: int, generator: torch.Generator) -> list[torch.Tensor]:
    import torch

    bound = 1.0 / math.sqrt(fan_in)
    weight = torch.empty(fan_in, fan_out).uniform_(-bound, bound, generator=generator)
    bias = torch.empty(fan_out).uniform_(-bound, bound, generator=generator)
    return [weight.requires_grad_(), bias.requires_grad_()]


def train(
    lr: float, weight_decay: float, width: int, epochs: int, generator: torch.Generator
) -> tuple[float, int, bool]:
    """Train once; returns ``(validation error, samples seen, diverged)``."""
    import torch
    import torch.nn.functional as F

    x_train, y_train, x_val, y_val = load_split()
    w1, b1 = _linear(NUM_FEATURES, width, generator)
    w2, b2 = _linear(width, NUM_CLASSES, generator)
    optimizer = torch.optim.SGD([w1, b1, w2, b2], lr=lr, momentum=0.9, weight_decay=weight_decay)
    samples = 0
    for _ in range(epochs):
        order = torch.randperm(NUM_TRAIN, generator=generator)
        for start in range(0, NUM_TRAIN, BATCH_SIZE):
            index = order[start : start + BATCH_SIZE]
            logits = torch.relu(x_train[index] @ w1 + b1) @ w2 + b2
            loss = F.cross_entropy(logits, y_train[index])
            samples += len(index)
            if not torch.isfinite(loss):
                return float("nan"), samples, True
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        logits = torch.relu(x_val @ w1 + b1) @ w2 + b2
        if not torch.isfinite(logits).all():
            return float("nan"), samples, True
        error = float((logits.argmax(dim=1) != y_val).float().mean())
    return error, samples, False


def evaluate(params: ParamValues, rng: np.random.Generator) -> EvalResult:
    """One training run: ``(validation error, FLOPs, diverged)``."""
    import torch

    width, epochs = int(params["width"]), int(params["epochs"])
    generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
    with _single_thread():
        error, samples, diverged = train(
            float(params["lr"]), float(params["weight_decay"]), width, epochs, generator
        )
    return error, training_flops(width, samples), diverged


def make_problem() -> Problem:
    """The registered ``digits_mlp`` problem (no closed-form true front)."""
    params = (
        ParamSpec("lr", "log", 1e-3, 3.0, search_center=0.03, scale=1.0),
        ParamSpec("weight_decay", "log", 1e-6, 1e-1, search_center=1e-4, scale=1.0),
        ParamSpec(
            "width",
            "log",
            *WIDTH_RANGE,
            search_center=32,
            scale=1.0,
            is_integer=True,
            drives_cost=True,
        ),
        ParamSpec(
            "epochs",
            "log",
            *EPOCH_RANGE,
            search_center=8,
            scale=1.0,
            is_integer=True,
            drives_cost=True,
        ),
    )
    return Problem(
        name="digits_mlp",
        description="Real torch MLP on sklearn digits: lr, weight decay, width, epochs; FLOPs",
        params=params,
        evaluate_fn=evaluate,
        min_cost=training_flops(WIDTH_RANGE[0], NUM_TRAIN * EPOCH_RANGE[0]),
        max_cost=training_flops(WIDTH_RANGE[1], NUM_TRAIN * EPOCH_RANGE[1]),
        output_ceiling=CHANCE_ERROR,
    )
