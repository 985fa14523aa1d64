"""Multi-fidelity Hartmann-3: a ``budget`` param trades cost for noise and bias.

``output = -H3(x) + delta(b) * bias(x) + delta(b) * 0.25 * noise`` with
``delta(b) = sqrt(1 / b)`` and ``cost = b``. Cheap runs are both noisier and
biased towards a different optimum, as short training runs are; the bias
shrinks monotonically with budget, so the true best output falls with cost.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from benchmarks.problems.base import EvalResult, ParamSpec, ParamValues, Problem

_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_A = np.array([[3.0, 10.0, 30.0], [0.1, 10.0, 35.0], [3.0, 10.0, 30.0], [0.1, 10.0, 35.0]])
_P = 1e-4 * np.array(
    [[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]]
)
_BIAS_CENTER = np.array([0.6, 0.3, 0.5])
MIN_BUDGET = 1.0
MAX_BUDGET = 100.0
NOISE_SCALE = 0.25


def hartmann3(x: np.ndarray) -> np.ndarray:
    """The Hartmann-3 function H3 (to be maximised; max 3.86278), for points ``(..., 3)``."""
    sq = np.sum(_A * (x[..., None, :] - _P) ** 2, axis=-1)
    return np.sum(_ALPHA * np.exp(-sq), axis=-1)


def fidelity_gap(budget: float | np.ndarray) -> np.ndarray:
    """``delta(b) = sqrt(1 / b)``: 1 at the cheapest budget, 0.1 at the largest."""
    return np.sqrt(MIN_BUDGET / np.asarray(budget, dtype=float))


def noise_free(x: np.ndarray, budget: float | np.ndarray) -> np.ndarray:
    """Noise-free output at points ``(..., 3)`` and budget(s) ``b``."""
    bias = 0.4 + 1.2 * np.sum((x - _BIAS_CENTER) ** 2, axis=-1)
    return -hartmann3(x) + fidelity_gap(budget) * bias


def _point(params: ParamValues) -> np.ndarray:
    return np.array([params["x1"], params["x2"], params["x3"]], dtype=float)


def evaluate(params: ParamValues, rng: np.random.Generator) -> EvalResult:
    """One noisy run: ``(output, cost = budget, failed = False)``."""
    budget = float(params["budget"])
    mean = float(noise_free(_point(params), budget))
    noise = float(fidelity_gap(budget)) * NOISE_SCALE * float(rng.normal())
    return mean + noise, budget, False


@lru_cache(maxsize=1)
def _grid() -> np.ndarray:
    axis = np.linspace(0.0, 1.0, 21)
    return np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1).reshape(-1, 3)


def _zoom_minimise(start: np.ndarray, budget: float, rounds: int = 8) -> float:
    """Coarse-to-fine grid search in a shrinking box around ``start`` (vectorised, ~1 ms)."""
    offsets = np.stack(
        np.meshgrid(*[np.linspace(-1.0, 1.0, 9)] * 3, indexing="ij"), axis=-1
    ).reshape(-1, 3)
    center, half_width = start, 0.05
    best = float(noise_free(center, budget))
    for _ in range(rounds):
        points = np.clip(center + half_width * offsets, 0.0, 1.0)
        values = noise_free(points, budget)
        index = int(values.argmin())
        if values[index] < best:
            best, center = float(values[index]), points[index]
        half_width *= 0.4
    return best


def true_best_at_cost(cost: float) -> float:
    """``min_x f(x, min(cost, 100))``: a 21^3 grid, then a zoomed search around its best points."""
    if cost < MIN_BUDGET:
        return float("inf")
    budget = min(cost, MAX_BUDGET)
    grid = _grid()
    values = noise_free(grid, budget)
    return min(_zoom_minimise(start, budget) for start in grid[np.argsort(values)[:4]])


def make_problem() -> Problem:
    """The registered ``hartmann3_mf`` problem."""
    params = (
        *(
            ParamSpec(x, "linear", 0.0, 1.0, search_center=0.5, scale=0.5)
            for x in ("x1", "x2", "x3")
        ),
        ParamSpec(
            "budget", "log", MIN_BUDGET, MAX_BUDGET, search_center=10.0, scale=1.0, drives_cost=True
        ),
    )
    return Problem(
        name="hartmann3_mf",
        description="Hartmann-3 with a budget param: cost = budget, cheap runs noisy and biased",
        params=params,
        evaluate_fn=evaluate,
        min_cost=MIN_BUDGET,
        max_cost=MAX_BUDGET,
        noise_free_fn=lambda p: float(noise_free(_point(p), float(p["budget"]))),
        true_best_fn=true_best_at_cost,
    )
