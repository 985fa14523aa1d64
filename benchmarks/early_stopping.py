"""Early stopping at equal cumulative cost, on problems with learning curves (issue 15).

Usage::

    python benchmarks/early_stopping.py --smoke                 # < 60 s: LM problem, 1 seed
    python benchmarks/early_stopping.py --problems lm_scaling_curve --seeds 10 --workers 2 \\
        --out /tmp/es/lm.jsonl
    python benchmarks/early_stopping.py --problems digits_mlp_curve --seeds 10 --evaluations 40
    python benchmarks/early_stopping.py --report /tmp/es/lm.jsonl   # tables from records

For each (problem, seed): ``carbs_nostop`` runs N evaluations to completion; its
cumulative cost is that seed's *budget* B and its final Pareto-front regret the
*target*. Every other method (:data:`~benchmarks.early_stopping_methods.METHODS`)
then runs until it has spent ``--cap`` x B (default 1.5) or ``--max-runs-factor`` x N
runs. Cumulative cost includes the partial cost of stopped and pruned runs; regret
counts completed runs only (:mod:`benchmarks.early_stopping_report`).

False stops: every stopped run is afterwards run to completion with the same seed
(exact for the LM problem; a real, deterministic re-training for digits), outside
the sweep's cost. It *would have joined the front* when it succeeds and its final
value is strictly better than that of every successful run the same sweep had
completed before the stop at a cost <= the stopped run's full cost. Values are
noise-free where the problem has them (LM), observed otherwise (digits).

Writes one JSON line per run to ``--out`` and one per (problem, method, seed)
trajectory of ``(cumulative cost, regret)`` to ``<out>.trajectories.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.early_stopping_methods import METHODS, carbs_has_stopping, run_sweep
from benchmarks.early_stopping_report import render, write_trajectories
from benchmarks.learning_curves import (
    CURVE_PROBLEMS,
    DEFAULT_CURVE_PROBLEMS,
    CurveProblem,
    check_curves,
)
from benchmarks.metrics import load_records, value

Record = dict[str, Any]
Job = tuple[str, int, int, float, float, tuple[str, ...]]
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "early_stopping.jsonl"
SMOKE_OUT = Path(__file__).resolve().parent / "results" / "early_stopping_smoke.jsonl"


def audit_false_stops(curve_problem: CurveProblem, records: list[Record]) -> None:
    """Run every stopped run of one sweep to completion and flag would-be front members.

    Adds ``full_output``, ``full_true_output``, ``full_cost``, ``full_failed`` and
    ``would_join_front`` to each stopped record, in place.
    """
    for i, record in enumerate(records):
        if not record["stopped"]:
            continue
        full = curve_problem.run_to_completion(record["params"], record["run_seed"])
        record["full_output"] = None if full.failed else full.output
        record["full_true_output"] = full.true_output
        record["full_cost"] = full.cost
        record["full_failed"] = full.failed
        earlier = [
            v
            for r in records[:i]
            if not r["stopped"] and r["cost"] <= full.cost and (v := value(r)) is not None
        ]
        full_value = full.true_output if full.true_output is not None else full.output
        record["would_join_front"] = (not full.failed) and full_value < min(
            earlier, default=math.inf
        )


def run_job(job: Job) -> list[Record]:
    """All methods on one (problem, seed): carbs_nostop first (it sets the budget)."""
    import torch

    torch.set_num_threads(1)  # workers share the cores
    problem_name, seed, evaluations, cap, max_runs_factor, methods = job
    curve_problem = CURVE_PROBLEMS[problem_name]
    start = time.perf_counter()
    records = run_sweep("carbs_nostop", curve_problem, seed, max_runs=evaluations)
    budget = records[-1]["cumulative_cost"]
    timings = [f"carbs_nostop {time.perf_counter() - start:.0f}s"]
    for method in methods:
        if method == "carbs_nostop":
            continue
        method_start = time.perf_counter()
        sweep = run_sweep(
            method,
            curve_problem,
            seed,
            max_runs=int(max_runs_factor * evaluations),
            cost_cap=cap * budget,
        )
        audit_false_stops(curve_problem, sweep)
        records += sweep
        stopped = sum(r["stopped"] for r in sweep)
        seconds = time.perf_counter() - method_start
        timings.append(f"{method} {len(sweep)} runs/{stopped} stopped {seconds:.0f}s")
    for record in records:
        record["budget"], record["cost_cap"] = budget, cap * budget
    print(f"{problem_name} seed {seed}: " + ", ".join(timings), flush=True)
    return records


def run_all(
    problems: Sequence[str],
    seeds: Sequence[int],
    evaluations: int,
    methods: Sequence[str],
    out: Path,
    workers: int = 1,
    cap: float = 1.5,
    max_runs_factor: float = 4.0,
) -> list[Record]:
    """Run every (problem, seed) job, write the records to ``out`` as they come."""
    jobs: list[Job] = [
        (problem, seed, evaluations, cap, max_runs_factor, tuple(methods))
        for problem in problems
        for seed in seeds
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    records: list[Record] = []
    with open(out, "w", encoding="utf-8") as handle:
        if workers <= 1:
            results: Any = map(run_job, jobs)
            for batch in results:
                handle.writelines(json.dumps(r) + "\n" for r in batch)
                handle.flush()
                records += batch
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for batch in pool.map(run_job, jobs):
                    handle.writelines(json.dumps(r) + "\n" for r in batch)
                    handle.flush()
                    records += batch
    return records


def report(records: list[Record], out: Path | None) -> None:
    """Print the tables; write the trajectories next to ``out``."""
    print(render(records))
    if out is not None:
        path = out.with_suffix(".trajectories.jsonl")
        write_trajectories(records, path)
        print(f"wrote {len(records)} run records to {out} and trajectories to {path}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--problems",
        nargs="+",
        default=list(DEFAULT_CURVE_PROBLEMS),
        choices=list(CURVE_PROBLEMS),
        help="default: " + " ".join(DEFAULT_CURVE_PROBLEMS),
    )
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--seeds", type=int, default=10, help="how many seeds (default 10)")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds start here (default 0)")
    parser.add_argument(
        "--evaluations", type=int, default=60, help="carbs_nostop's runs, N (default 60)"
    )
    parser.add_argument(
        "--cap", type=float, default=1.5, help="other methods stop at this x budget (1.5)"
    )
    parser.add_argument(
        "--max-runs-factor", type=float, default=4.0, help="... or after this x N runs (4)"
    )
    parser.add_argument("--workers", type=int, default=1, help="processes over seeds (default 1)")
    parser.add_argument("--out", type=Path, default=None, help=f"default: {DEFAULT_OUT}")
    parser.add_argument("--report", type=Path, default=None, help="only print the tables of a file")
    parser.add_argument(
        "--smoke", action="store_true", help="LM problem, 1 seed, 15 evaluations (< 60 s)"
    )
    args = parser.parse_args(argv)
    if min(args.seeds, args.evaluations, args.workers) < 1 or args.cap <= 0:
        parser.error("--seeds, --evaluations, --workers and --cap must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> list[Record]:
    """Entry point; returns the records (an exception propagates: non-zero exit)."""
    args = parse_args(argv)
    if args.report is not None:
        records = load_records(args.report)
        report(records, None)
        return records
    methods = list(args.methods)
    if "carbs_stop" in methods and not carbs_has_stopping():
        print("skipping carbs_stop and protein_trend: carbs has no should_stop()", file=sys.stderr)
        methods = [m for m in methods if m not in ("carbs_stop", "protein_trend")]
    if args.smoke:
        args.problems, args.seeds, args.evaluations = ["lm_scaling_curve"], 1, 15
        args.out = args.out or SMOKE_OUT
    start = time.perf_counter()
    for problem in args.problems:
        if problem != "digits_mlp_curve":  # the simulated ones are quick to check
            check_curves(problem, draws=20)
    out = args.out or DEFAULT_OUT
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    records = run_all(
        args.problems,
        seeds,
        args.evaluations,
        methods,
        out,
        args.workers,
        args.cap,
        args.max_runs_factor,
    )
    report(records, out)
    print(f"finished in {time.perf_counter() - start:.1f}s")
    return records


if __name__ == "__main__":
    main()
