"""Simulated transformer training on one 80 GB accelerator, with a hidden out-of-memory region.

Params: width ``w`` (12 layers, ``N = 144 w^2`` weights), batch size ``b`` (sequences
of 512 tokens), steps, learning rate and Adam's beta2. The loss follows the
Chinchilla law in ``N`` and ``D = 512 b steps`` plus quadratic penalties for a
learning rate away from ``lr*(w, b) = 1e-3 (512 / w) sqrt(b / 256)`` and a beta2
away from an optimum that rises for small batches.

Cost is wall-clock seconds: a 20 s start-up plus ``6 N D`` FLOPs at a throughput
that saturates only for large ``w * b``. The cost-efficient runs therefore sit
next to the memory limit, ``16 N + 34 * 12 * 512 * w * b`` bytes > 80 GB, where a
run fails at start-up (costing the 20 s). The limit is not axis-aligned and the
optimizer is never told it, so a success classifier has to learn it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from benchmarks.problems.base import EvalResult, ParamSpec, ParamValues, Problem, logit10

E, A, B, ALPHA, BETA = 1.8172, 482.01, 2085.43, 0.3478, 0.3658
LAYERS = 12
SEQ_LEN = 512
MEMORY_BYTES = 80e9
PEAK_FLOPS = 3e14
SATURATING_TOKENS_X_WIDTH = 2**18
STARTUP_SECONDS = 20.0
WIDTH_RANGE = (64, 4096)
BATCH_RANGE = (8, 1024)
STEPS_RANGE = (100, 20000)
NOISE_STD = 0.01


def num_weights(width: np.ndarray | float) -> np.ndarray:
    """Non-embedding weights of the 12-layer model."""
    return 12.0 * LAYERS * np.asarray(width, dtype=float) ** 2


def memory_bytes(width: np.ndarray | float, batch: np.ndarray | float) -> np.ndarray:
    """Weights, gradients and Adam state (16 B/weight) plus activations."""
    activations = 34.0 * LAYERS * SEQ_LEN * np.asarray(width, float) * np.asarray(batch, float)
    return 16.0 * num_weights(width) + activations


def is_out_of_memory(width: np.ndarray | float, batch: np.ndarray | float) -> np.ndarray:
    """Whether the run does not fit on the accelerator."""
    return memory_bytes(width, batch) > MEMORY_BYTES


def seconds_per_step(width: np.ndarray | float, batch: np.ndarray | float) -> np.ndarray:
    """Wall time of one step at the throughput reached by this width and batch size."""
    width, batch = np.asarray(width, float), np.asarray(batch, float)
    utilisation = np.sqrt(np.minimum(1.0, width * batch / SATURATING_TOKENS_X_WIDTH))
    return 6.0 * num_weights(width) * batch * SEQ_LEN / (PEAK_FLOPS * utilisation)


def optimal_lr(width: np.ndarray | float, batch: np.ndarray | float) -> np.ndarray:
    """Learning rate that minimises the loss."""
    return 1e-3 * (512.0 / np.asarray(width, float)) * np.sqrt(np.asarray(batch, float) / 256.0)


def optimal_beta2_logit(batch: np.ndarray | float) -> np.ndarray:
    """``logit10`` of the best beta2: 0.95 at batch 256, higher for smaller batches."""
    return logit10(0.95) + 0.5 * np.log10(256.0 / np.asarray(batch, float))


def loss_at_optimal_settings(width: np.ndarray, batch: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Noise-free loss with the best learning rate and beta2."""
    tokens = SEQ_LEN * np.asarray(batch, float) * np.asarray(steps, float)
    return E + A / num_weights(width) ** ALPHA + B / tokens**BETA


def noise_free(params: ParamValues) -> float:
    """Loss without seed noise (also defined where the run would run out of memory)."""
    width, batch = float(params["width"]), float(params["batch_size"])
    lr_gap = np.log10(float(params["lr"]) / optimal_lr(width, batch))
    beta2_gap = logit10(float(params["beta2"])) - optimal_beta2_logit(batch)
    base = loss_at_optimal_settings(np.array(width), np.array(batch), np.array(params["steps"]))
    return float(base + 0.25 * lr_gap**2 + 0.05 * beta2_gap**2)


def run_cost(width: float, batch: float, steps: float) -> float:
    """Seconds of a run that fits in memory."""
    return float(STARTUP_SECONDS + steps * seconds_per_step(width, batch))


def evaluate(params: ParamValues, rng: np.random.Generator) -> EvalResult:
    """One run: ``(loss, seconds, out_of_memory)``."""
    width, batch = float(params["width"]), float(params["batch_size"])
    if is_out_of_memory(width, batch):
        return float("nan"), STARTUP_SECONDS, True
    cost = run_cost(width, batch, float(params["steps"]))
    return noise_free(params) + NOISE_STD * float(rng.normal()), cost, False


@lru_cache(maxsize=1)
def _feasible_pairs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer ``(width, batch, seconds per step)`` on a dense log grid, memory-feasible only."""
    widths = np.unique(np.round(np.geomspace(*WIDTH_RANGE, 800)))
    batches = np.unique(np.round(np.geomspace(*BATCH_RANGE, 400)))
    width, batch = (g.ravel() for g in np.meshgrid(widths, batches, indexing="ij"))
    keep = ~is_out_of_memory(width, batch)
    width, batch = width[keep], batch[keep]
    return width, batch, seconds_per_step(width, batch)


def true_best_at_cost(cost: float) -> float:
    """Best loss of a feasible run costing <= ``cost``: every (w, b) on the grid, most steps."""
    width, batch, step_seconds = _feasible_pairs()
    # The tiny relative slack keeps a run costing exactly ``cost`` from rounding away.
    affordable = (cost - STARTUP_SECONDS) / step_seconds * (1.0 + 1e-9)
    steps = np.minimum(np.floor(affordable), STEPS_RANGE[1])
    ok = steps >= STEPS_RANGE[0]
    if not ok.any():
        return float("inf")
    return float(loss_at_optimal_settings(width[ok], batch[ok], steps[ok]).min())


def max_feasible_cost() -> float:
    """Cost of the most expensive run that fits in memory."""
    _, _, step_seconds = _feasible_pairs()
    return float(STARTUP_SECONDS + STEPS_RANGE[1] * step_seconds.max())


def make_problem() -> Problem:
    """The registered ``gpu_memory`` problem."""
    params = (
        ParamSpec(
            "width",
            "log",
            *WIDTH_RANGE,
            search_center=512,
            scale=1.0,
            is_integer=True,
            drives_cost=True,
        ),
        ParamSpec(
            "batch_size",
            "log",
            *BATCH_RANGE,
            search_center=64,
            scale=1.0,
            is_integer=True,
            drives_cost=True,
        ),
        ParamSpec(
            "steps",
            "log",
            *STEPS_RANGE,
            search_center=2000,
            scale=1.0,
            is_integer=True,
            drives_cost=True,
        ),
        ParamSpec("lr", "log", 1e-5, 1e-1, search_center=1e-3, scale=1.0),
        ParamSpec("beta2", "logit", 0.5, 0.9999, search_center=0.99, scale=1.0),
    )
    return Problem(
        name="gpu_memory",
        description="Transformer on an 80 GB GPU: width x batch beyond memory fails (hidden)",
        params=params,
        evaluate_fn=evaluate,
        min_cost=run_cost(WIDTH_RANGE[0], BATCH_RANGE[0], STEPS_RANGE[0]),
        max_cost=max_feasible_cost(),
        noise_free_fn=noise_free,
        true_best_fn=true_best_at_cost,
    )
