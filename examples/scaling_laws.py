"""Tune as you scale: recover Chinchilla's compute-optimal scaling laws with CARBS.

A simulated language model has the parametric loss of Hoffmann et al. (2022,
"Chinchilla", approach 3)::

    loss(N, D) = E + A / N**alpha + B / D**beta

with N parameters trained on D tokens, at a cost of C = 6 * N * D FLOPs. At a
fixed budget C the loss is lowest at

    N_opt ~ C**(beta / (alpha + beta)) = C**0.513
    D_opt ~ C**(alpha / (alpha + beta)) = C**0.487

CARBS tunes N and D (and, with ``--learning-rate``, a learning rate whose best
value shrinks with model size) starting from small, cheap runs and climbing the
cost axis. The Pareto front it finds traces the compute-optimal frontier, and
:meth:`CARBS.scaling_laws` fits each parameter against cost along it. This
script prints the fitted exponents next to the true ones, checks the target
(each within 0.1 of the truth, with a total cost under 50x the dearest single
run), and saves the three plots.

Run it with::

    python examples/scaling_laws.py [--suggestions 80] [--seed 0] [--out FOLDER]

The plots go to ``--out``, or to a new temporary folder (printed at the end)
if it is not given; nothing is written to the current folder.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from carbs import CARBS, CARBSParams, LogSpace, ObservationInParam, Param

# Chinchilla's fitted constants (Hoffmann et al. 2022, approach 3).
E, A, B, ALPHA, BETA = 1.8172, 482.01, 2085.43, 0.3478, 0.3658
TRUE_N_EXPONENT = BETA / (ALPHA + BETA)
TRUE_D_EXPONENT = ALPHA / (ALPHA + BETA)
# Learning rate: best value 3e-3 at 1e8 parameters, falling as N**-0.25.
LR_EXPONENT_IN_N = -0.25
TRUE_LR_EXPONENT = LR_EXPONENT_IN_N * TRUE_N_EXPONENT
LOSS_NOISE = 0.002
EXPONENT_TOLERANCE = 0.1
MAX_COST_RATIO = 50.0
# The budget Chinchilla (70B parameters, 1.4T tokens) was trained with.
CHINCHILLA_FLOPS = 5.76e23


def best_learning_rate(n: float) -> float:
    """The learning rate that trains a model of ``n`` parameters best."""
    return 3e-3 * (n / 1e8) ** LR_EXPONENT_IN_N


def simulated_run(
    n: float, d: float, learning_rate: float | None, rng: np.random.Generator
) -> tuple[float, float]:
    """Return (final loss, cost in FLOPs) of one pretend pre-training run."""
    loss = E + A / n**ALPHA + B / d**BETA
    if learning_rate is not None:
        loss += 0.2 * math.log10(learning_rate / best_learning_rate(n)) ** 2
    loss += LOSS_NOISE * rng.normal()
    return loss, 6.0 * n * d


def compute_optimal(cost: float) -> tuple[float, float]:
    """The true compute-optimal (N, D) at ``cost`` FLOPs."""
    g = (ALPHA * A / (BETA * B)) ** (1 / (ALPHA + BETA))
    n = g * (cost / 6) ** TRUE_N_EXPONENT
    return n, cost / (6 * n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suggestions", type=int, default=80)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-cost", type=float, default=1e21, help="max_suggestion_cost in FLOPs")
    parser.add_argument("--learning-rate", action="store_true", help="also tune a learning rate")
    parser.add_argument(
        "--out", type=Path, default=None, help="folder for the plots (default: a new temp folder)"
    )
    args = parser.parse_args()

    params = [
        Param("n_params", LogSpace(scale=1.0, min=1e5, max=1e12), search_center=1e7),
        Param("n_tokens", LogSpace(scale=1.0, min=1e6, max=1e14), search_center=1e8),
    ]
    if args.learning_rate:
        params.append(
            Param("learning_rate", LogSpace(scale=0.5, min=1e-5, max=1e-1), search_center=3e-3)
        )
    config = CARBSParams(
        better_direction_sign=-1, seed=args.seed, max_suggestion_cost=args.max_cost
    )
    carbs = CARBS(config, params)
    rng = np.random.default_rng(args.seed)

    start = time.perf_counter()
    for _ in range(args.suggestions):
        suggestion = carbs.suggest().suggestion
        loss, flops = simulated_run(
            suggestion["n_params"],
            suggestion["n_tokens"],
            suggestion.get("learning_rate"),
            rng,
        )
        carbs.observe(ObservationInParam(input=suggestion, output=loss, cost=flops))
    elapsed = time.perf_counter() - start

    front = carbs.pareto_front()
    total = carbs.total_cost  # every run, failed ones included
    dearest = max(o.cost for o in carbs.observations)
    print(f"{args.suggestions} runs in {elapsed:.1f} s of tuning overhead")
    print(f"front: {len(front)} members from {front[0].cost:.3g} to {front[-1].cost:.3g} FLOPs")
    print(f"total cost {total:.3g} FLOPs = {total / dearest:.1f}x the dearest run ({dearest:.3g})")

    laws = carbs.scaling_laws()
    truths = {"n_params": TRUE_N_EXPONENT, "n_tokens": TRUE_D_EXPONENT}
    print(f"\n{'param':<14} {'fitted exponent':>16} {'95% interval':>20} {'true':>7} {'R^2':>6}")
    for name, law in laws.items():
        low, high = law.slope_interval
        truth = truths.get(name, TRUE_LR_EXPONENT)
        note = "" if name in truths else "  (not part of the target)"
        print(
            f"{name:<14} {law.slope:>16.3f} {f'[{low:.3f}, {high:.3f}]':>20} "
            f"{truth:>7.3f} {law.r_squared:>6.3f}{note}"
        )
    errors = {name: abs(laws[name].slope - truth) for name, truth in truths.items()}

    budgets = (
        (10 * front[-1].cost, "10x the dearest front member"),
        (CHINCHILLA_FLOPS, "Chinchilla"),
    )
    for budget, what in budgets:
        at_budget = carbs.suggest_at_cost(budget)
        n_true, d_true = compute_optimal(budget)
        print(f"\nat {budget:.3g} FLOPs ({what}) the laws suggest:")
        for name, value in at_budget.params.items():
            low, high = at_budget.intervals[name]
            print(f"  {name:<14} {value:<10.3g} interval {low:.3g} .. {high:.3g}")
        print(f"  true optimum:  n_params {n_true:.3g}, n_tokens {d_true:.3g}")
        print(f"  is_reliable: {at_budget.is_reliable}")
        for warning in at_budget.warnings:
            print(f"  warning: {warning}")

    out = args.out or Path(tempfile.mkdtemp(prefix="carbs-scaling-plots-"))
    out.mkdir(parents=True, exist_ok=True)
    try:
        from carbs import plotting

        plotting.plot_pareto_front(carbs, out / "pareto_front.png")
        plotting.plot_scaling_laws(carbs, out / "scaling_laws.png")
        plotting.plot_history(carbs, out / "history.png")
        print(f"\nplots saved in {out}/")
    except ImportError as error:
        print(f"\nno plots: {error}")

    is_met = max(errors.values()) <= EXPONENT_TOLERANCE and total / dearest < MAX_COST_RATIO
    print(
        f"\ntarget (every exponent within {EXPONENT_TOLERANCE} of the truth, total cost "
        f"< {MAX_COST_RATIO:g}x the dearest run): {'MET' if is_met else 'NOT MET'}"
    )


if __name__ == "__main__":
    main()
