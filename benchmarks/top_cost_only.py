"""How many runs the dearest cost level costs a sampler that spends every run there.

The per-level cells of ``report.py --per-level`` compare carbs, which spreads
its runs over the cost axis, with cost-blind samplers that put most of theirs at
the top cost. This script separates the allocation from the search: it runs an
Optuna sampler with the problem's one cost-driving param fixed at its largest
value, so that every run lands on the dearest level, and prints the median
regret at that level after ``k`` runs (median [IQR] over the seeds).

Usage::

    python benchmarks/top_cost_only.py --problems hartmann3_mf sparse20 --seeds 10 --runs 40
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.optimizers import OptunaOptimizer
from benchmarks.problems import PROBLEMS, Problem

SAMPLERS = ("gp", "tpe")
CHECKPOINTS = (6, 10, 15, 20, 30, 40)


def top_cost_regrets(problem: Problem, sampler: str, seed: int, runs: int) -> np.ndarray:
    """Regret at the problem's dearest level after each of ``runs`` runs, shape ``(runs,)``.

    The sampler searches every param but the cost driver, which is held at its
    largest legal value; a failed run leaves the regret where it was.
    """
    (cost_spec,) = [spec for spec in problem.params if spec.drives_cost]
    rest = replace(problem, params=tuple(s for s in problem.params if not s.drives_cost))

    def make_sampler(optuna: object) -> object:
        samplers = optuna.samplers  # type: ignore[attr-defined]
        if sampler == "gp":
            return samplers.GPSampler(seed=seed)
        return samplers.TPESampler(seed=seed)

    optimizer = OptunaOptimizer(rest, make_sampler)
    rng = np.random.default_rng(seed)
    best_possible = float(problem.true_best_at_cost(float(problem.cost_levels()[-1])))
    best_seen = problem.ceiling
    regrets = np.empty(runs)
    for index in range(runs):
        params = optimizer.ask()
        full = {**params, cost_spec.name: cost_spec.high}
        output, cost, failed = problem.evaluate(full, rng)
        optimizer.tell(params, output, cost, failed)
        if not failed:
            best_seen = min(best_seen, float(problem.noise_free_output(full)))
        regrets[index] = max(0.0, best_seen - best_possible)
    return regrets


def table(rows: dict[tuple[str, str], np.ndarray], checkpoints: Sequence[int]) -> str:
    """A markdown table: one row per (problem, sampler), median [IQR] at each checkpoint."""
    lines = [
        "| problem, sampler (every run at the top cost) | "
        + " | ".join(f"k = {k}" for k in checkpoints)
        + " |",
        "|---" * (len(checkpoints) + 1) + "|",
    ]
    for (problem, sampler), regrets in rows.items():
        cells = []
        for k in checkpoints:
            at_k = regrets[:, k - 1]
            low, median, high = np.percentile(at_k, [25, 50, 75])
            cells.append(f"{median:.3g} [{low:.2g}, {high:.2g}]")
        lines.append(f"| {problem}, {sampler} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=["hartmann3_mf", "sparse20"])
    parser.add_argument("--samplers", nargs="+", default=list(SAMPLERS), choices=SAMPLERS)
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (default 10)")
    parser.add_argument("--runs", type=int, default=40, help="runs per seed (default 40)")
    args = parser.parse_args(argv)
    for name in args.problems:
        if name not in PROBLEMS:
            parser.error(f"unknown problem {name!r}; choose from {sorted(PROBLEMS)}")
        if sum(spec.drives_cost for spec in PROBLEMS[name].params) != 1:
            parser.error(f"{name} does not have exactly one cost-driving param")
    if args.seeds < 1 or args.runs < 1:
        parser.error("--seeds and --runs must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> str:
    """Run every (problem, sampler, seed) and print the table; returns it."""
    args = parse_args(argv)
    rows = {
        (name, sampler): np.stack(
            [
                top_cost_regrets(PROBLEMS[name], sampler, seed, args.runs)
                for seed in range(args.seeds)
            ]
        )
        for name in args.problems
        for sampler in args.samplers
    }
    checkpoints = [k for k in CHECKPOINTS if k <= args.runs] or [args.runs]
    text = table(rows, checkpoints)
    print(text)
    return text


if __name__ == "__main__":
    main()
