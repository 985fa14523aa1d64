"""Figures of the early-stopping benchmark, from the run records of
:mod:`benchmarks.early_stopping`.

Regret is :func:`benchmarks.metrics.pareto_regret` over the **completed** runs a
sweep has finished within a cumulative-cost budget (stopped and pruned runs never
count, though their partial cost does), against the problem's true front (LM) or
the empirical front of every completed run of every method and seed in the file
(digits). A sweep's *budget* is the cumulative cost of ``carbs_nostop`` on the same
(problem, seed) after its N runs; its *target* is ``carbs_nostop``'s regret then.

Two rows are bounds computed from ``carbs_nostop``'s own runs rather than sweeps:
a perfect stopper (:func:`oracle_run`) and carbs' rule replayed on that fixed path
(:func:`replayed_run`), which separate what a stopping rule saves from how
stopping changes the suggestions that follow.
"""

from __future__ import annotations

import functools
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.early_stopping_methods import METHODS, STOPPING_METHODS
from benchmarks.learning_curves import CURVE_PROBLEMS
from benchmarks.metrics import BestAtCost, empirical_front, pareto_regret, sign_test, value
from benchmarks.problems import Problem
from carbs import CARBSParams
from carbs.stopping import CompletedCurve, StoppingRule, decide

Record = dict[str, Any]
TRAJECTORY_FRACTIONS = (0.25, 0.5, 0.75, 1.0, 1.5)


def _reference(problem: Problem, records: Sequence[Record]) -> BestAtCost:
    if problem.has_true_front:
        return lambda cost: float(problem.true_best_at_cost(cost))  # type: ignore[arg-type]
    return empirical_front([r for r in records if not r["stopped"]])


class Sweeps:
    """The records of one problem, grouped by (method, seed), with regret helpers."""

    def __init__(self, problem_name: str, records: Sequence[Record]) -> None:
        self.problem = CURVE_PROBLEMS[problem_name].problem
        self.reference = _reference(self.problem, records)
        runs: dict[tuple[str, int], list[Record]] = defaultdict(list)
        for record in records:
            runs[(record["method"], int(record["seed"]))].append(record)
        self.runs = {key: sorted(run, key=lambda r: r["step"]) for key, run in runs.items()}
        self.seeds = sorted({seed for method, seed in self.runs if method == "carbs_nostop"})
        self.methods = [m for m in METHODS if any((m, s) in self.runs for s in self.seeds)]

    @functools.cached_property
    def replays(self) -> dict[int, list[Record]]:
        """:func:`replayed_run` of each seed's ``carbs_nostop`` (only the tables use it)."""
        return {s: replayed_run(self.runs[("carbs_nostop", s)]) for s in self.seeds}

    def regret(self, run: Sequence[Record], budget: float = math.inf) -> float:
        """Regret of the completed runs finished within ``budget``."""
        done = [r for r in run if not r["stopped"] and r["cumulative_cost"] <= budget * 1.000001]
        return pareto_regret(done, self.problem, self.reference)

    def trajectory(self, run: Sequence[Record]) -> list[tuple[float, float]]:
        """``(cumulative cost, regret)`` after each run."""
        points, done = [], []
        for record in run:
            if not record["stopped"]:
                done.append(record)
            points.append(
                (record["cumulative_cost"], pareto_regret(done, self.problem, self.reference))
            )
        return points

    def budget(self, seed: int) -> float:
        """``carbs_nostop``'s cumulative cost after its N runs."""
        return float(self.runs[("carbs_nostop", seed)][-1]["cumulative_cost"])

    def target(self, seed: int) -> float:
        """``carbs_nostop``'s final regret."""
        return self.regret(self.runs[("carbs_nostop", seed)])

    def cost_to_reach(self, run: Sequence[Record], target: float) -> float:
        """First cumulative cost at which the sweep's regret is <= ``target``; inf if it
        never gets there within its cost cap (a run that crosses the cap does not count)."""
        cap = run[0].get("cost_cap", math.inf) if run else math.inf
        for cost, regret in self.trajectory(run):
            if cost > cap * 1.000001:
                break
            if regret <= target + 1e-12:
                return cost
        return math.inf


def _fmt(x: float) -> str:
    if math.isinf(x):
        return "never"
    return f"{x:.3g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.2e}"


def _quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    array = np.asarray(values, dtype=float)
    if not len(array):
        return math.nan, math.nan, math.nan
    # inf sorts last, so the median is inf only when half the seeds never got there
    q = np.percentile(np.where(np.isinf(array), 1e300, array), [50, 25, 75])
    out = [math.inf if v >= 1e299 else float(v) for v in q]
    return out[0], out[1], out[2]


ORACLE = "oracle on carbs_nostop's path"


def oracle_run(run: Sequence[Record]) -> list[Record]:
    """``carbs_nostop``'s runs as a perfect stopper would have paid for them.

    A successful run that did not beat every earlier successful run costing no more
    (it could not improve the front) is charged nothing; failed and front-improving
    runs are charged in full. The suggestions stay those of ``carbs_nostop``: the
    bound ignores how stopping would change the path, so it shows how much of the
    budget any stopping rule could save there.
    """
    charged: list[Record] = []
    seen: list[tuple[float, float]] = []
    cumulative = 0.0
    for record in run:
        v = value(record)
        earlier = [u for c, u in seen if c <= record["cost"]]
        improves = v is None or v < min(earlier, default=math.inf)
        cumulative += record["cost"] if improves else 0.0
        if v is not None:
            seen.append((record["cost"], v))
        charged.append({**record, "cumulative_cost": cumulative, "stopped": False})
    return charged


REPLAY = "carbs' rule on carbs_nostop's path"


def replayed_run(run: Sequence[Record], rule: StoppingRule | None = None) -> list[Record]:
    """``carbs_nostop``'s runs, each stopped where carbs' rule would have stopped it.

    The runs are taken in order. At each of a run's reports the rule (the library
    defaults unless ``rule`` is given) judges it against the runs before it that
    the replay completed, as :meth:`carbs.CARBS.should_stop` would: their curves
    and their final outputs (minimised, as in every benchmark problem). A stopped
    run is charged what it had spent and never joins the front; it is marked
    ``would_join_front`` when its full result, known here, would have beaten every
    run completed before it that cost no more. Like :func:`oracle_run` this keeps
    ``carbs_nostop``'s suggestions, so it shows what the rule saves on a fixed
    path, apart from how stopping changes the path.
    """
    if rule is None:
        defaults = CARBSParams()
        rule = StoppingRule(
            defaults.early_stopping_min_fraction,
            defaults.early_stopping_min_runs,
            defaults.early_stopping_probability,
        )
    completed: list[CompletedCurve] = []
    front: list[tuple[float, float]] = []
    replayed: list[Record] = []
    cumulative = 0.0
    for record in run:
        reports = [(c, o) for c, o in record.get("curve") or [] if o is not None]
        stop_cost = None
        for index, (cost, output) in enumerate(reports):
            decision = decide(
                reports=[(c, -o) for c, o in reports[: index + 1]],
                cost=cost,
                value=-output,
                planned_cost=record["planned_cost"],
                completed=completed,
                front_costs=[c for c, _ in front],
                front_values=[-o for _, o in front],
                rule=rule,
                better_direction_sign=-1,
            )
            if decision.should_stop:
                stop_cost = cost
                break
        if stop_cost is not None:
            earlier = [o for c, o in front if c <= record["cost"]]
            joins = not record["failed"] and record["output"] < min(earlier, default=math.inf)
            cumulative += stop_cost
            replayed.append(
                {
                    **record,
                    "cost": stop_cost,
                    "cumulative_cost": cumulative,
                    "stopped": True,
                    "would_join_front": joins,
                }
            )
            continue
        cumulative += record["cost"]
        replayed.append({**record, "cumulative_cost": cumulative, "stopped": False})
        if not record["failed"]:
            front.append((record["cost"], record["output"]))
            if reports:
                completed.append(
                    CompletedCurve(
                        tuple(c for c, _ in reports),
                        tuple(-o for _, o in reports),
                        record["cost"],
                        -record["output"],
                    )
                )
    return replayed


def _ratio_run(sweeps: Sweeps, method: str, seed: int) -> list[Record]:
    if method == ORACLE:
        return oracle_run(sweeps.runs[("carbs_nostop", seed)])
    if method == REPLAY:
        return sweeps.replays[seed]
    return sweeps.runs.get((method, seed), [])


def table_cost_ratio(sweeps: Sweeps) -> str:
    """Cost to reach ``carbs_nostop``'s final regret, as a fraction of its budget
    (``carbs_nostop``'s own row: where it first got there)."""
    lines = [
        "| method | median ratio | IQR | reached | per-seed ratios |",
        "|---|---|---|---|---|",
    ]
    for method in [*sweeps.methods, REPLAY, ORACLE]:
        ratios = []
        for seed in sweeps.seeds:
            run = _ratio_run(sweeps, method, seed)
            cost = sweeps.cost_to_reach(run, sweeps.target(seed))
            ratios.append(cost / sweeps.budget(seed))
        med, q1, q3 = _quartiles(ratios)
        reached = sum(math.isfinite(r) for r in ratios)
        per_seed = " ".join(_fmt(r) for r in ratios)
        lines.append(
            f"| {method} | {_fmt(med)} | {_fmt(q1)}-{_fmt(q3)} | "
            f"{reached}/{len(ratios)} | {per_seed} |"
        )
    return "\n".join(lines)


def table_equal_cost(sweeps: Sweeps) -> str:
    """Regret at each seed's budget, and run counts within it."""
    lines = [
        "| method | median regret | IQR | mean runs | mean completed | mean stopped "
        "| spent the budget |",
        "|---|---|---|---|---|---|---|",
    ]
    for method in sweeps.methods:
        regrets, runs, completed, stopped, spent = [], [], [], [], 0
        for seed in sweeps.seeds:
            budget = sweeps.budget(seed)
            run = sweeps.runs.get((method, seed), [])
            regrets.append(sweeps.regret(run, budget))
            within = [r for r in run if r["cumulative_cost"] <= budget * 1.000001]
            runs.append(len(within))
            stopped.append(sum(r["stopped"] for r in within))
            completed.append(len(within) - stopped[-1])
            spent += bool(run) and run[-1]["cumulative_cost"] >= budget * 0.999999
        med, q1, q3 = _quartiles(regrets)
        lines.append(
            f"| {method} | {_fmt(med)} | {_fmt(q1)}-{_fmt(q3)} | {np.mean(runs):.1f} | "
            f"{np.mean(completed):.1f} | {np.mean(stopped):.1f} | {spent}/{len(sweeps.seeds)} |"
        )
    return "\n".join(lines)


def table_paired(sweeps: Sweeps, reference_method: str = "carbs_stop") -> str:
    """Seeds on which ``reference_method``'s regret at the budget is lower / equal / higher,
    and the sign test's p-value of that split."""
    if reference_method not in sweeps.methods:
        return f"({reference_method} not run)"
    lines = [f"| {reference_method} vs | lower | tie | higher | p |", "|---|---|---|---|---|"]
    for method in sweeps.methods:
        if method == reference_method:
            continue
        counts = [0, 0, 0]
        for seed in sweeps.seeds:
            budget = sweeps.budget(seed)
            mine = sweeps.regret(sweeps.runs.get((reference_method, seed), []), budget)
            theirs = sweeps.regret(sweeps.runs.get((method, seed), []), budget)
            counts[0 if mine < theirs - 1e-12 else 2 if mine > theirs + 1e-12 else 1] += 1
        n = len(sweeps.seeds)
        p = sign_test(counts[0], counts[2])
        lines.append(
            f"| {method} | {counts[0]}/{n} | {counts[1]}/{n} | {counts[2]}/{n} | {p:.2g} |"
        )
    return "\n".join(lines)


def table_false_stops(sweeps: Sweeps) -> str:
    """Stopped runs that, run to completion, would have joined the front."""
    lines = [
        "| method | runs | stopped | false stops | false-stop % | cost share of stopped runs |",
        "|---|---|---|---|---|---|",
    ]
    for method in [*sweeps.methods, REPLAY]:
        if method not in [*STOPPING_METHODS, REPLAY]:
            continue
        all_runs = [r for seed in sweeps.seeds for r in _ratio_run(sweeps, method, seed)]
        stopped = [r for r in all_runs if r["stopped"]]
        false = sum(bool(r.get("would_join_front")) for r in stopped)
        share = sum(r["cost"] for r in stopped) / max(sum(r["cost"] for r in all_runs), 1e-300)
        pct = f"{100 * false / len(stopped):.1f}%" if stopped else "-"
        lines.append(
            f"| {method} | {len(all_runs)} | {len(stopped)} | {false} | {pct} | {share:.2f} |"
        )
    return "\n".join(lines)


def table_trajectory(sweeps: Sweeps) -> str:
    """Median regret at fractions of each seed's budget."""
    header = " | ".join(f"{f:g}x budget" for f in TRAJECTORY_FRACTIONS)
    lines = [f"| method | {header} |", "|---" * (len(TRAJECTORY_FRACTIONS) + 1) + "|"]
    for method in sweeps.methods:
        cells = []
        for fraction in TRAJECTORY_FRACTIONS:
            regrets = [
                sweeps.regret(sweeps.runs.get((method, seed), []), fraction * sweeps.budget(seed))
                for seed in sweeps.seeds
            ]
            cells.append(_fmt(_quartiles(regrets)[0]))
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render(records: Sequence[Record]) -> str:
    """Every table, per problem, as markdown."""
    parts = []
    for problem_name in sorted({r["problem"] for r in records}):
        sweeps = Sweeps(problem_name, [r for r in records if r["problem"] == problem_name])
        n_evals = len(sweeps.runs[("carbs_nostop", sweeps.seeds[0])]) if sweeps.seeds else 0
        budgets = [sweeps.budget(s) for s in sweeps.seeds]
        targets = [sweeps.target(s) for s in sweeps.seeds]
        parts += [
            f"## {problem_name}: {len(sweeps.seeds)} seeds, carbs_nostop N={n_evals} runs",
            f"budget (carbs_nostop cumulative cost) median {_fmt(float(np.median(budgets)))}; "
            f"target regret (carbs_nostop final) median {_fmt(float(np.median(targets)))}",
            "",
            "### (1) cumulative cost to reach carbs_nostop's final regret / carbs_nostop's cost "
            "(never: not within the cap)",
            table_cost_ratio(sweeps),
            "",
            "### (2) regret at equal cumulative cost (carbs_nostop's budget, per seed)",
            table_equal_cost(sweeps),
            "",
            table_paired(sweeps),
            "",
            "### (3) false stops (stopped runs that would have joined the front)",
            table_false_stops(sweeps),
            "",
            "### median regret along the cumulative cost",
            table_trajectory(sweeps),
            "",
        ]
    return "\n".join(parts)


def write_trajectories(records: Sequence[Record], path: Path) -> None:
    """One JSON line per (problem, method, seed): budget, target and (cost, regret) points."""
    with open(path, "w", encoding="utf-8") as handle:
        for problem_name in sorted({r["problem"] for r in records}):
            sweeps = Sweeps(problem_name, [r for r in records if r["problem"] == problem_name])
            for (method, seed), run in sorted(sweeps.runs.items()):
                line = {
                    "problem": problem_name,
                    "method": method,
                    "seed": seed,
                    "budget": sweeps.budget(seed) if seed in sweeps.seeds else None,
                    "target": sweeps.target(seed) if seed in sweeps.seeds else None,
                    "points": sweeps.trajectory(run),
                }
                handle.write(json.dumps(line) + "\n")


__all__ = ["Sweeps", "render", "write_trajectories"]
