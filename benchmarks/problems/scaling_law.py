"""Simulated language-model pretraining on the Chinchilla scaling law.

``loss = E + A / N^alpha + B / D^beta + 0.25 * log10(lr / lr*(N))^2 + noise`` with
the constants refitted by Besiroglu et al. (2024), and an optimal learning rate
that falls with model size, ``lr*(N) = 3e-3 * (N / 1e8)^-0.3``. Cost is training
compute, ``6 N D`` FLOPs. A learning rate more than 4x above ``lr*`` diverges: the
run fails after a fifth of its compute.
"""

from __future__ import annotations

import math

import numpy as np

from benchmarks.problems.base import EvalResult, ParamSpec, ParamValues, Problem

E, A, B, ALPHA, BETA = 1.8172, 482.01, 2085.43, 0.3478, 0.3658
N_RANGE = (1e6, 1e10)
D_RANGE = (1e8, 1e12)
LR_RANGE = (1e-5, 1e-1)
LR_PENALTY = 0.25
DIVERGENCE_FACTOR = 4.0
FAILED_COST_FRACTION = 0.2
NOISE_STD = 0.01


def optimal_lr(n_params: float) -> float:
    """Learning rate that minimises the loss of an ``n_params`` model."""
    return 3e-3 * (n_params / 1e8) ** -0.3


def scaling_loss(n_params: float, tokens: float) -> float:
    """Chinchilla loss at the optimal learning rate."""
    return E + A / n_params**ALPHA + B / tokens**BETA


def lm_loss(n_params: float, tokens: float, lr: float) -> float:
    """Loss without seed noise (finite even where training would diverge)."""
    penalty = LR_PENALTY * math.log10(lr / optimal_lr(n_params)) ** 2
    return scaling_loss(n_params, tokens) + penalty


def lm_run(n_params: float, tokens: float, lr: float, rng: np.random.Generator) -> EvalResult:
    """One run: ``(loss, 6 N D, diverged)``; a diverged run costs a fifth and has NaN loss."""
    cost = 6.0 * n_params * tokens
    if lr > DIVERGENCE_FACTOR * optimal_lr(n_params):
        return float("nan"), FAILED_COST_FRACTION * cost, True
    return lm_loss(n_params, tokens, lr) + NOISE_STD * float(rng.normal()), cost, False


def noise_free(params: ParamValues) -> float:
    """Loss without seed noise (finite even where training would diverge)."""
    return lm_loss(float(params["n_params"]), float(params["tokens"]), float(params["lr"]))


def evaluate(params: ParamValues, rng: np.random.Generator) -> EvalResult:
    """One run: ``(loss, 6 N D, diverged)``; a diverged run costs a fifth and has NaN loss."""
    return lm_run(float(params["n_params"]), float(params["tokens"]), float(params["lr"]), rng)


def true_best_at_cost(cost: float) -> float:
    """Compute-optimal loss with ``6 N D <= cost`` (exact: convex in ``log N``)."""
    from scipy.optimize import minimize_scalar

    budget_nd = cost / 6.0
    log_n_low = math.log(N_RANGE[0])
    log_n_high = min(math.log(N_RANGE[1]), math.log(budget_nd / D_RANGE[0]))
    if log_n_high < log_n_low:
        return float("inf")

    def loss_at(log_n: float) -> float:
        n_params = math.exp(log_n)
        return scaling_loss(n_params, min(D_RANGE[1], budget_nd / n_params))

    if log_n_high - log_n_low < 1e-12:
        return loss_at(log_n_low)
    result = minimize_scalar(
        loss_at, bounds=(log_n_low, log_n_high), method="bounded", options={"xatol": 1e-9}
    )
    return min(float(result.fun), loss_at(log_n_low), loss_at(log_n_high))


def make_problem() -> Problem:
    """The registered ``lm_scaling`` problem."""
    params = (
        ParamSpec("n_params", "log", *N_RANGE, search_center=1e8, scale=1.0, drives_cost=True),
        ParamSpec("tokens", "log", *D_RANGE, search_center=2e9, scale=1.0, drives_cost=True),
        ParamSpec("lr", "log", *LR_RANGE, search_center=1e-3, scale=1.0),
    )
    return Problem(
        name="lm_scaling",
        description="Chinchilla-law LM pretraining: N, D, lr; cost 6ND FLOPs; lr > 4x lr* fails",
        params=params,
        evaluate_fn=evaluate,
        min_cost=6.0 * N_RANGE[0] * D_RANGE[0],
        max_cost=6.0 * N_RANGE[1] * D_RANGE[1],
        noise_free_fn=noise_free,
        true_best_fn=true_best_at_cost,
    )
