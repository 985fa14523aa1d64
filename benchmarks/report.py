"""Markdown tables and a regret-vs-cost plot from a benchmark JSONL file.

Usage::

    python benchmarks/report.py benchmarks/results/results.jsonl            # tables + PNG
    python benchmarks/report.py results.jsonl --plot regret.png --no-plot

Tables (medians over seeds, interquartile range in brackets):

* Pareto-front regret of each run's final set of evaluations;
* best value reached within the *equal budget*, the largest cumulative cost that
  every run of the problem reached.

Problems marked ``*`` have no closed-form front; their regret is measured against
the best values found by any optimizer in the file.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from benchmarks.metrics import (
    Record,
    best_value_curve,
    budget_grid,
    equal_budget,
    group_runs,
    load_records,
    median_iqr,
    pareto_regret,
    pareto_regret_curve,
    pareto_regret_levels,
    reference_front,
    sign_test,
)
from benchmarks.problems import PROBLEMS, Problem

ProblemRuns = dict[str, dict[str, list[list[Record]]]]
"""problem -> optimizer -> runs (one per seed)."""


def _by_problem(records: Sequence[Record]) -> ProblemRuns:
    nested: ProblemRuns = defaultdict(lambda: defaultdict(list))
    for (problem, optimizer, _), run in group_runs(records).items():
        if problem not in PROBLEMS:
            print(f"ignoring unknown problem {problem!r}", file=sys.stderr)
            continue
        nested[problem][optimizer].append(run)
    return nested


def _cell(samples: Sequence[float]) -> str:
    median, low, high = median_iqr(np.asarray(samples, dtype=float))
    if np.isnan(median):
        return "n/a"
    return f"{float(median):.4g} [{float(low):.3g}, {float(high):.3g}]"


def _table(title: str, rows: dict[str, dict[str, str]], optimizers: Sequence[str]) -> str:
    lines = [f"### {title}", "", "| problem | " + " | ".join(optimizers) + " |"]
    lines.append("|---" * (len(optimizers) + 1) + "|")
    for problem, cells in rows.items():
        lines.append(f"| {problem} | " + " | ".join(cells.get(o, "-") for o in optimizers) + " |")
    return "\n".join(lines)


def _capped_best(run: Sequence[Record], budget: float, ceiling: float) -> float:
    best = best_value_curve(run, [budget])[0]
    return ceiling if np.isnan(best) else min(float(best), ceiling)


def _label(problem: Problem) -> str:
    return problem.name if problem.has_true_front else f"{problem.name}*"


def paired_wins(mine: dict[int, float], theirs: dict[int, float]) -> tuple[int, int]:
    """``(seeds where mine < theirs, seeds both have)`` for regrets keyed by seed."""
    shared = sorted(set(mine) & set(theirs))
    return sum(mine[seed] < theirs[seed] for seed in shared), len(shared)


def paired_sign_test(mine: dict[int, float], theirs: dict[int, float]) -> float:
    """:func:`~benchmarks.metrics.sign_test` of regrets keyed by seed, on the shared seeds."""
    return sign_test(paired_wins(mine, theirs)[0], paired_wins(theirs, mine)[0])


def level_medians(
    nested: ProblemRuns, at_spend_of: str | None = None
) -> dict[str, dict[str, np.ndarray]]:
    """problem -> optimizer -> median regret at each of the problem's cost levels.

    With ``at_spend_of``, every run is cut at that optimizer's spend: on each seed
    only the evaluations finished within the cumulative cost of ``at_spend_of``'s
    own run count (a run with none is charged the problem's ceiling), and problems
    or seeds it did not run are left out. This compares per cost level at equal
    compute, where the plain medians compare at an equal number of evaluations.
    """
    medians: dict[str, dict[str, np.ndarray]] = {}
    for name, by_optimizer in nested.items():
        spend: dict[int, float] | None = None
        if at_spend_of is not None:
            if at_spend_of not in by_optimizer:
                continue
            spend = {
                run[0]["seed"]: run[-1]["cumulative_cost"] for run in by_optimizer[at_spend_of]
            }
        problem = PROBLEMS[name]
        all_runs = [run for runs in by_optimizer.values() for run in runs]
        front = reference_front(problem, (r for run in all_runs for r in run))
        medians[name] = {}
        for o, runs in by_optimizer.items():
            levels = [
                pareto_regret_levels(_within(run, spend), problem, front)
                for run in runs
                if spend is None or run[0]["seed"] in spend
            ]
            if levels:
                medians[name][o] = np.median(levels, axis=0)
    return medians


def _within(run: Sequence[Record], spend: dict[int, float] | None) -> Sequence[Record]:
    """The evaluations of ``run`` finished within its seed's ``spend`` (all without one)."""
    if spend is None:
        return run
    budget = spend[run[0]["seed"]] * 1.000001
    return [r for r in run if r["cumulative_cost"] <= budget]


def cell_wins(medians: dict[str, dict[str, np.ndarray]], optimizer: str) -> tuple[int, int, float]:
    """``(cells where optimizer's median regret is the lowest, cells, worst ratio)``.

    A cell is one (problem, cost level). The rivals are the optimizers that are not
    carbs variants (their names do not start with ``carbs``); a tie with the best
    rival counts as lowest. The ratio is the optimizer's median over the best
    rival's in the worst cell (1 where both are 0).
    """
    wins = cells = 0
    worst = 0.0
    for by_optimizer in medians.values():
        if optimizer not in by_optimizer:
            continue
        rivals = [m for o, m in by_optimizer.items() if not o.startswith("carbs")]
        if not rivals:
            continue
        best_rival = np.min(np.stack(rivals), axis=0)
        mine = by_optimizer[optimizer]
        for value, rival in zip(mine, best_rival, strict=True):
            cells += 1
            wins += bool(value <= rival)
            ratio = 1.0 if value <= rival else (value / rival if rival > 0 else np.inf)
            worst = max(worst, float(ratio))
    return wins, cells, worst


def render_tables(
    path: str | Path | Sequence[str | Path], per_level: bool = False, reference: str = "carbs"
) -> str:
    """The regret and equal-budget tables of one or more JSONL files, as markdown.

    With ``per_level`` two more tables give the median regret at each cost level
    and, for each carbs variant, the cells it wins against the other optimizers,
    after the same number of evaluations and within the variant's own cumulative
    cost on each seed (:func:`level_medians` with ``at_spend_of``).
    ``reference`` is the optimizer the paired table compares every other one with.
    """
    paths = [path] if isinstance(path, str | Path) else list(path)
    nested = _by_problem([r for p in paths for r in load_records(p)])
    optimizers = sorted({o for by_optimizer in nested.values() for o in by_optimizer})
    regret_rows: dict[str, dict[str, str]] = {}
    paired_rows: dict[str, dict[str, str]] = {}
    budget_rows: dict[str, dict[str, str]] = {}
    level_rows: dict[str, dict[str, str]] = {}
    for name, by_optimizer in nested.items():
        problem = PROBLEMS[name]
        all_runs = [run for runs in by_optimizer.values() for run in runs]
        front = reference_front(problem, (r for run in all_runs for r in run))
        budget = equal_budget(all_runs)
        regrets = {  # optimizer -> seed -> regret
            o: {int(run[0]["seed"]): pareto_regret(run, problem, front) for run in runs}
            for o, runs in by_optimizer.items()
        }
        regret_rows[_label(problem)] = {o: _cell(list(r.values())) for o, r in regrets.items()}
        if reference in regrets:
            paired_rows[_label(problem)] = {
                o: "{}/{} (p {:.2g})".format(
                    *paired_wins(regrets[reference], r), paired_sign_test(regrets[reference], r)
                )
                for o, r in regrets.items()
                if o != reference
            }
        budget_rows[f"{name} (budget {budget:.3g})"] = {
            o: _cell([_capped_best(run, budget, problem.ceiling) for run in runs])
            for o, runs in by_optimizer.items()
        }
        levels = ", ".join(f"{c:.3g}" for c in problem.cost_levels())
        level_rows[f"{_label(problem)} ({levels})"] = {
            o: ", ".join(
                f"{v:.3g}"
                for v in np.median(
                    [pareto_regret_levels(run, problem, front) for run in runs], axis=0
                )
            )
            for o, runs in by_optimizer.items()
        }
    seeds = max(len(runs) for by_optimizer in nested.values() for runs in by_optimizer.values())
    tables = [
        _table(
            f"Pareto-front regret at the final budget (median [IQR] over {seeds} seed(s); "
            "lower is better)",
            regret_rows,
            optimizers,
        ),
        _table(
            "Best value within an equal cumulative cost (median [IQR]; a run with nothing "
            "better within the budget counts as the problem's ceiling)",
            budget_rows,
            optimizers,
        ),
    ]
    if paired_rows:
        tables.append(
            _table(
                f"Seeds on which {reference} has the lower Pareto-front regret "
                "(paired by seed; ties count for neither; p: two-sided sign test)",
                paired_rows,
                [o for o in optimizers if o != reference],
            )
        )
    if per_level:
        tables.append(
            _table("Median Pareto-front regret at each cost level", level_rows, optimizers)
        )
        medians = level_medians(nested)
        lines = [
            "### (problem, cost level) cells where each carbs variant has the lowest median "
            "regret against the other optimizers (ties count as lowest)",
            "",
            "| variant | cells lowest | worst ratio to the best other "
            "| at the variant's own spend: cells lowest | worst ratio |",
            "|---|---|---|---|---|",
        ]
        for optimizer in (o for o in optimizers if o.startswith("carbs")):
            wins, cells, worst = cell_wins(medians, optimizer)
            at_spend = cell_wins(level_medians(nested, at_spend_of=optimizer), optimizer)
            if cells:
                lines.append(
                    f"| {optimizer} | {wins} of {cells} | {worst:.3g} "
                    f"| {at_spend[0]} of {at_spend[1]} | {at_spend[2]:.3g} |"
                )
        tables.append("\n".join(lines))
    return "\n\n".join(tables)


def plot_regret(path: str | Path | Sequence[str | Path], out: str | Path) -> Path:
    """Save median Pareto regret (IQR shaded) against cumulative cost, one panel per problem."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = [path] if isinstance(path, str | Path) else list(path)
    nested = _by_problem([r for p in paths for r in load_records(p)])
    columns = min(3, len(nested))
    rows = -(-len(nested) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.5 * columns, 3.6 * rows), squeeze=False)
    for ax in axes.flat[len(nested) :]:
        ax.set_visible(False)
    for ax, (name, by_optimizer) in zip(axes.flat, nested.items(), strict=False):
        problem = PROBLEMS[name]
        all_runs = [run for runs in by_optimizer.values() for run in runs]
        front = reference_front(problem, (r for run in all_runs for r in run))
        budgets = budget_grid(problem, all_runs)
        for optimizer, runs in sorted(by_optimizer.items()):
            curves = np.stack([pareto_regret_curve(run, problem, front, budgets) for run in runs])
            median, low, high = median_iqr(curves)
            ax.plot(budgets, median, label=optimizer)
            ax.fill_between(budgets, low, high, alpha=0.2)
        ax.set_xscale("log")
        ax.set_title(_label(problem))
        ax.set_xlabel("cumulative cost")
        ax.set_ylabel("Pareto-front regret")
        ax.grid(alpha=0.3)
    axes.flat[0].legend()
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """Print the tables and save the plot."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("jsonl", type=Path, nargs="+", help="one or more result files")
    parser.add_argument("--plot", type=Path, default=None, help="default: JSONL path with .png")
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument("--per-level", action="store_true", help="also tabulate each cost level")
    parser.add_argument(
        "--reference", default="carbs", help="optimizer of the paired table (default carbs)"
    )
    args = parser.parse_args(argv)
    print(render_tables(args.jsonl, per_level=args.per_level, reference=args.reference))
    if not args.no_plot:
        first = args.jsonl[0]
        saved = plot_regret(args.jsonl, args.plot or first.with_suffix(".png"))
        print(f"\nsaved {saved}")


if __name__ == "__main__":
    main()
