"""LM pretraining with the model picked from a menu: a categorical param that drives cost.

Users often choose the architecture by name from a few fixed configurations
(``"gpt-10m"`` to ``"gpt-3b"``) rather than tune a parameter count. The loss and
cost are ``lm_scaling``'s (the Chinchilla law, ``6 N D`` FLOPs, a learning rate
more than 4x above ``lr*(N)`` diverges after a fifth of its compute), with ``N``
set by the menu entry and ``D`` (tokens) and the learning rate tuned as numbers.
The search starts at the menu's middle entry (300M parameters on 20 tokens per
parameter), so the cheapest runs (the smallest model on the fewest tokens, a
thousand times cheaper than the centre) need a different choice as well as fewer
tokens. Added after the suite, as a check on problems carbs was not developed on.
"""

from __future__ import annotations

import numpy as np

from benchmarks.problems.base import EvalResult, ParamSpec, ParamValues, Problem
from benchmarks.problems.scaling_law import LR_RANGE, lm_loss, lm_run, scaling_loss

MENU = {
    "gpt-10m": 1e7,
    "gpt-30m": 3e7,
    "gpt-100m": 1e8,
    "gpt-300m": 3e8,
    "gpt-1b": 1e9,
    "gpt-3b": 3e9,
}
"""Menu entry -> parameter count ``N``."""
TOKEN_RANGE = (1e8, 1e11)


def noise_free(params: ParamValues) -> float:
    """Loss without seed noise (finite even where training would diverge)."""
    return lm_loss(MENU[str(params["model"])], float(params["tokens"]), float(params["lr"]))


def evaluate(params: ParamValues, rng: np.random.Generator) -> EvalResult:
    """One run: ``(loss, 6 N D, diverged)``; a diverged run costs a fifth and has NaN loss."""
    return lm_run(MENU[str(params["model"])], float(params["tokens"]), float(params["lr"]), rng)


def true_best_at_cost(cost: float) -> float:
    """The best loss of any menu entry trained on the most tokens ``cost`` allows."""
    best = float("inf")
    for n_params in MENU.values():
        tokens = min(TOKEN_RANGE[1], cost / (6.0 * n_params))
        if tokens >= TOKEN_RANGE[0]:
            best = min(best, scaling_loss(n_params, tokens))
    return best


def make_problem() -> Problem:
    """The registered ``lm_menu`` problem."""
    sizes = tuple(MENU.values())
    params = (
        ParamSpec.categorical("model", tuple(MENU), search_center="gpt-300m"),
        ParamSpec("tokens", "log", *TOKEN_RANGE, search_center=6e9, scale=1.0, drives_cost=True),
        ParamSpec("lr", "log", *LR_RANGE, search_center=1e-3, scale=1.0),
    )
    return Problem(
        name="lm_menu",
        description="Chinchilla-law LM, model from a menu of six (categorical), tokens, lr",
        params=params,
        evaluate_fn=evaluate,
        min_cost=6.0 * min(sizes) * TOKEN_RANGE[0],
        max_cost=6.0 * max(sizes) * TOKEN_RANGE[1],
        noise_free_fn=noise_free,
        true_best_fn=true_best_at_cost,
    )
