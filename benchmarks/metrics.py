"""Metrics over benchmark JSONL records: best output at equal cost and Pareto-front regret.

A *record* is one evaluation as written by :mod:`benchmarks.run`; a *run* is the
records of one (problem, optimizer, seed), in step order. A record's *value* is
its noise-free output where the problem has one (``true_output``), else its
observed output, and ``None`` for a failed evaluation: judging by noise-free
values keeps lucky noise from counting as progress.

**Pareto-front regret** at cost level ``c`` is ``min(best value among successful
runs costing <= c, ceiling) - best_at_cost(c)``, clipped at 0, where
``best_at_cost`` is the problem's true front (or, without one, the best value seen
at that cost across every optimizer and seed in the file) and ``ceiling`` is the
output of "a bad run" (:attr:`Problem.ceiling`), charged when no run is that
cheap. It is averaged over the problem's five log-spaced cost levels
(:meth:`Problem.cost_levels`).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.problems import Problem

Record = dict[str, Any]
RunKey = tuple[str, str, int]
BestAtCost = Callable[[float], float]


def load_records(path: str | Path) -> list[Record]:
    """All records of a JSONL file (blank lines are skipped)."""
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def group_runs(records: Iterable[Record]) -> dict[RunKey, list[Record]]:
    """Records by ``(problem, optimizer, seed)``, each run sorted by step."""
    runs: dict[RunKey, list[Record]] = defaultdict(list)
    for record in records:
        runs[(record["problem"], record["optimizer"], int(record["seed"]))].append(record)
    return {key: sorted(run, key=lambda r: r["step"]) for key, run in sorted(runs.items())}


def value(record: Record) -> float | None:
    """Noise-free output if known, else the observed output; ``None`` if the run failed."""
    if record["failed"]:
        return None
    chosen = record.get("true_output")
    if chosen is None:
        chosen = record["output"]
    if chosen is None or not math.isfinite(chosen):
        return None
    return float(chosen)


def best_value_curve(run: Sequence[Record], budgets: Sequence[float]) -> np.ndarray:
    """Best value among evaluations finished within each cumulative-cost budget (NaN if none)."""
    cumulative = np.array([r["cumulative_cost"] for r in run], dtype=float)
    values = np.array([np.nan if (v := value(r)) is None else v for r in run], dtype=float)
    running_best = np.fmin.accumulate(values) if len(values) else values
    curve = np.full(len(budgets), np.nan)
    for i, budget in enumerate(budgets):
        done = int(np.searchsorted(cumulative, budget, side="right"))
        if done:
            curve[i] = running_best[done - 1]
    return curve


def empirical_front(records: Iterable[Record]) -> BestAtCost:
    """``cost -> best value of any successful record costing <= cost`` (``inf`` if none)."""
    pairs = sorted((r["cost"], v) for r in records if (v := value(r)) is not None)
    costs = np.array([c for c, _ in pairs], dtype=float)
    best = np.minimum.accumulate(np.array([v for _, v in pairs], dtype=float))

    def best_at_cost(cost: float) -> float:
        index = int(np.searchsorted(costs, cost, side="right"))
        return float(best[index - 1]) if index else math.inf

    return best_at_cost


def reference_front(problem: Problem, records: Iterable[Record]) -> BestAtCost:
    """The problem's true front, or the empirical front of ``records`` without one."""
    if problem.has_true_front:
        return lambda cost: float(problem.true_best_at_cost(cost))  # type: ignore[arg-type]
    return empirical_front(records)


def pareto_regret_levels(
    observations: Sequence[Record], problem: Problem, best_at_cost: BestAtCost
) -> np.ndarray:
    """Regret at each of the problem's cost levels given a set of evaluations."""
    pairs = [(r["cost"], v) for r in observations if (v := value(r)) is not None]
    regrets = []
    for level in problem.cost_levels():
        affordable = [v for cost, v in pairs if cost <= level]
        observed = min([problem.ceiling, *affordable])
        regrets.append(max(0.0, observed - best_at_cost(float(level))))
    return np.array(regrets)


def pareto_regret(
    observations: Sequence[Record], problem: Problem, best_at_cost: BestAtCost
) -> float:
    """Pareto-front regret: :func:`pareto_regret_levels` averaged over the levels."""
    return float(pareto_regret_levels(observations, problem, best_at_cost).mean())


def pareto_regret_curve(
    run: Sequence[Record], problem: Problem, best_at_cost: BestAtCost, budgets: Sequence[float]
) -> np.ndarray:
    """Pareto-front regret of the evaluations finished within each cumulative-cost budget."""
    return np.array(
        [
            pareto_regret([r for r in run if r["cumulative_cost"] <= budget], problem, best_at_cost)
            for budget in budgets
        ]
    )


def budget_grid(problem: Problem, runs: Iterable[Sequence[Record]], count: int = 40) -> np.ndarray:
    """Log-spaced cumulative costs from the cheapest run to the largest total spend."""
    totals = [run[-1]["cumulative_cost"] for run in runs if run]
    top = max([problem.min_cost * 1.01, *totals])
    return np.geomspace(problem.min_cost, top, count)


def equal_budget(runs: Iterable[Sequence[Record]]) -> float:
    """The largest cumulative cost every run reached: a budget fair to all of them."""
    return min(run[-1]["cumulative_cost"] for run in runs if run)


def median_iqr(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(median, 25th percentile, 75th percentile)`` over the first axis (seeds).

    NaN entries are ignored; a column without any value gives NaN.
    """
    samples = np.asarray(samples, dtype=float)
    columns = samples.reshape(samples.shape[0], -1)
    quartiles = np.full((3, columns.shape[1]), np.nan)
    for j in range(columns.shape[1]):
        column = columns[:, j][~np.isnan(columns[:, j])]
        if column.size:
            quartiles[:, j] = np.percentile(column, [50, 25, 75])
    shape = samples.shape[1:]
    return quartiles[0].reshape(shape), quartiles[1].reshape(shape), quartiles[2].reshape(shape)


def sign_test(lower: int, higher: int) -> float:
    """Two-sided sign-test p-value of ``lower`` against ``higher`` paired seeds (ties left out).

    How often a split at least as uneven comes from chance alone if neither side
    were better: 7 against 3 gives 0.34, so a count like that says little on its
    own. 1.0 when there is no untied pair.
    """
    from scipy.stats import binomtest

    if lower + higher == 0:
        return 1.0
    return float(binomtest(lower, lower + higher, 0.5).pvalue)
