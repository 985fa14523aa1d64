"""Quick start: tune a simulated training run with CARBS and print the Pareto front.

The "training run" is a cheap simulation, so this finishes in well under two
minutes on a laptop, yet it behaves like the real thing: the loss falls with
model width and epochs (with diminishing returns), has a learning-rate optimum
that moves as the model grows, diverges at too-high learning rates, and costs
time proportional to width * epochs.

Run it with::

    python examples/quickstart.py [--suggestions 60] [--seed 0]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from carbs import (
    CARBS,
    CARBSParams,
    LogitSpace,
    LogSpace,
    ObservationInParam,
    Param,
)


def simulated_training_run(
    learning_rate: float, momentum: float, width: int, epochs: int, rng: np.random.Generator
) -> tuple[float, float, bool]:
    """Return (validation loss, cost in seconds, diverged) of one pretend training run."""
    best_lr = 3e-3 * (width / 64) ** -0.5  # wider models want smaller learning rates
    lr_penalty = 0.15 * math.log10(learning_rate / best_lr) ** 2
    momentum_penalty = 0.05 * math.log10((1 - momentum) / 0.1) ** 2
    loss = 0.6 + 2.0 / width**0.4 + 1.5 / epochs**0.5 + lr_penalty + momentum_penalty
    loss *= 1 + 0.01 * rng.normal()
    seconds = 0.02 * width * epochs * (1 + 0.05 * rng.normal())
    diverged = learning_rate > 8 * best_lr
    return loss, max(seconds, 1e-3), diverged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suggestions", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    params = [
        Param("learning_rate", LogSpace(scale=0.5, min=1e-5, max=1.0), search_center=1e-3),
        Param("momentum", LogitSpace(scale=0.5), search_center=0.9),
        Param("width", LogSpace(is_integer=True, min=8, max=4096), search_center=64),
        Param("epochs", LogSpace(is_integer=True, min=1, max=256), search_center=4),
    ]
    config = CARBSParams(better_direction_sign=-1, seed=args.seed, max_suggestion_cost=2000.0)
    carbs = CARBS(config, params)
    rng = np.random.default_rng(args.seed)

    print(
        f"{'#':>3} {'how':<9} {'lr':>9} {'mom':>6} {'width':>6} {'epochs':>6} "
        f"{'loss':>7} {'cost s':>8} {'best':>7}"
    )
    start = time.perf_counter()
    for step in range(args.suggestions):
        out = carbs.suggest()
        s = out.suggestion
        loss, seconds, diverged = simulated_training_run(
            s["learning_rate"], s["momentum"], s["width"], s["epochs"], rng
        )
        logs = carbs.observe(
            ObservationInParam(input=s, output=loss, cost=seconds, is_failure=diverged)
        ).logs
        shown_loss = "diverged" if diverged else f"{loss:7.4f}"
        print(
            f"{step + 1:>3} {out.log['suggestion_type']:<9} {s['learning_rate']:9.2e} "
            f"{s['momentum']:6.3f} {s['width']:>6} {s['epochs']:>6} {shown_loss:>7} "
            f"{seconds:8.1f} {logs.get('best_observation/output', math.nan):7.4f}",
            flush=True,
        )
    elapsed = time.perf_counter() - start

    print(
        f"\nPareto front after {args.suggestions} runs ({elapsed:.1f} s of tuning overhead + "
        f"{carbs.cumulative_cost:.0f} simulated seconds of training):"
    )
    print(f"{'cost s':>8} {'loss':>7} {'runs':>4}  params")
    for group in carbs.get_pareto_groups():
        values = carbs.search_space.param_dict_from_basic(group.input_in_basic)
        shown = ", ".join(
            f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()
        )
        print(f"{group.mean_cost:8.1f} {group.mean_output:7.4f} {group.count:>4}  {shown}")


if __name__ == "__main__":
    main()
