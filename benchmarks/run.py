"""Run optimizers on the benchmark problems and write one JSONL line per evaluation.

Usage::

    python benchmarks/run.py --smoke                       # every problem, 8 evals, 1 seed
    python benchmarks/run.py --seeds 10 --workers 2 --out benchmarks/results/full.jsonl
    python benchmarks/run.py --problems sparse20 lm_scaling --optimizers random optuna_tpe \\
        --seeds 3 --evals 40
    python benchmarks/run.py --first-seed 10 --seeds 10 --optimizers carbs   # seeds 10-19
    CARBS_BENCH_CONFIG='{"exploration_bias": 0.5}' python benchmarks/run.py \
        --optimizers carbs --label 'carbs[bias 0.5]'      # a variant, named in the records
    CARBS_BENCH_SEED_OFFSET=1000 python benchmarks/run.py \
        --optimizers carbs --label 'carbs[control]'       # the same code, another random path
    python benchmarks/report.py benchmarks/results/full.jsonl

Each line holds ``problem, optimizer, seed, step, params, output, true_output, cost,
failed, cumulative_cost, ask_seconds, eval_seconds``. ``output`` is ``null`` for a
failed evaluation and ``true_output`` is the noise-free output where the problem has
one. The evaluation noise of a (problem, seed) pair comes from its own
``numpy.random.Generator``, independent of the optimizer's seed stream.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from benchmarks.optimizers import (
    OPTIMIZERS,
    make_optimizer,
    unavailable_reason,
)
from benchmarks.problems import PROBLEMS, check_problems

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "results.jsonl"
SMOKE_OUT = Path(__file__).resolve().parent / "results" / "smoke.jsonl"
SMOKE_EVALS = 8

Record = dict[str, Any]


def evaluation_rng(problem_name: str, seed: int) -> np.random.Generator:
    """Noise stream of one (problem, seed): the same for every optimizer."""
    return np.random.default_rng([seed, zlib.crc32(problem_name.encode())])


def run_one(
    problem_name: str, optimizer_name: str, seed: int, evals: int, label: str | None = None
) -> Iterator[Record]:
    """Drive one optimizer on one problem for ``evals`` evaluations, yielding records.

    ``label`` replaces the optimizer's name in the records (to tell variants apart).
    """
    problem = PROBLEMS[problem_name]
    optimizer = make_optimizer(optimizer_name, problem, seed)
    rng = evaluation_rng(problem_name, seed)
    cumulative_cost = 0.0
    for step in range(evals):
        start = time.perf_counter()
        params = optimizer.ask()
        ask_seconds = time.perf_counter() - start
        start = time.perf_counter()
        output, cost, failed = problem.evaluate(params, rng)
        eval_seconds = time.perf_counter() - start
        failed = failed or not math.isfinite(output)
        optimizer.tell(params, output, cost, failed)
        cumulative_cost += cost
        true_output = None if failed else problem.noise_free_output(params)
        yield {
            "problem": problem_name,
            "optimizer": label or optimizer_name,
            "seed": seed,
            "step": step,
            "params": {k: _json_value(v) for k, v in params.items()},
            "output": None if failed else output,
            "true_output": true_output,
            "cost": cost,
            "failed": failed,
            "cumulative_cost": cumulative_cost,
            "ask_seconds": ask_seconds,
            "eval_seconds": eval_seconds,
        }


def run_job(job: tuple[str, str, int, int, str | None]) -> list[Record]:
    """One (problem, optimizer, seed, evals, label) job, for a worker process."""
    import torch

    torch.set_num_threads(1)  # workers share the cores; one thread each avoids oversubscription
    return list(run_one(*job))


def _summary(records: Sequence[Record], seconds: float) -> str:
    first = records[0]
    values = [r["true_output"] if r["true_output"] is not None else r["output"] for r in records]
    best = min((v for v in values if v is not None), default=math.nan)
    failures = sum(r["failed"] for r in records)
    ask = sum(r["ask_seconds"] for r in records)
    return (
        f"{first['problem']:>13} {first['optimizer']:>10} seed {first['seed']}: "
        f"best {best:.4g}, cost {records[-1]['cumulative_cost']:.3g}, "
        f"{failures} failed, ask {ask:.1f}s, total {seconds:.1f}s"
    )


def _json_value(value: Any) -> Any:
    """A param value as plain JSON: numpy numbers become Python ones, choices stay as they are."""
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    return float(value)


def run_all(
    problems: Sequence[str],
    optimizers: Sequence[str],
    seeds: int,
    evals: int | None,
    out: Path,
    workers: int = 1,
    first_seed: int = 0,
    label: str | None = None,
) -> None:
    """Run every (problem, optimizer, seed) and write the records to ``out`` (overwritten).

    The seeds are ``first_seed .. first_seed + seeds - 1``, so a study can be
    extended with new seeds without re-running the old ones.
    """
    if label is not None and len(optimizers) != 1:
        raise ValueError("--label names the records of a single optimizer")
    jobs = [
        (problem, optimizer, seed, evals or PROBLEMS[problem].default_evals, label)
        for problem in problems
        for optimizer in optimizers
        for seed in range(first_seed, first_seed + seeds)
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(out, "w", encoding="utf-8") as handle:
        start = time.perf_counter()
        if workers <= 1:
            for job in jobs:
                job_start = time.perf_counter()
                records = []
                for record in run_one(*job):
                    handle.write(json.dumps(record) + "\n")
                    records.append(record)
                written += len(records)
                handle.flush()
                print(_summary(records, time.perf_counter() - job_start), flush=True)
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for records in pool.map(run_job, jobs):
                    handle.writelines(json.dumps(record) + "\n" for record in records)
                    handle.flush()
                    written += len(records)
                    print(_summary(records, time.perf_counter() - start), flush=True)
    print(f"wrote {written} records to {out}")


def available_optimizers(requested: Sequence[str]) -> list[str]:
    """``requested`` minus those whose library is missing, each skip explained on stderr."""
    chosen = []
    for name in requested:
        reason = unavailable_reason(name)
        if reason is None:
            chosen.append(name)
        else:
            print(f"skipping {name}: {reason}", file=sys.stderr)
    return chosen


def smoke(out: Path) -> None:
    """Every problem, one seed, a few evals, random + carbs (+ optuna if installed); then report."""
    from benchmarks.report import render_tables

    start = time.perf_counter()
    check_problems()
    print(f"check_problems passed ({time.perf_counter() - start:.1f}s)")
    optimizers = ["random", "carbs", *available_optimizers(["optuna_tpe", "optuna_gp"])]
    run_all(list(PROBLEMS), optimizers, seeds=1, evals=SMOKE_EVALS, out=out)
    print(render_tables(out))
    print(f"smoke run passed in {time.perf_counter() - start:.1f}s")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    parser.add_argument(
        "--optimizers", nargs="+", default=list(OPTIMIZERS), choices=list(OPTIMIZERS)
    )
    parser.add_argument("--seeds", type=int, default=5, help="how many seeds (default 5)")
    parser.add_argument(
        "--first-seed", type=int, default=0, help="seeds run from this one up (default 0)"
    )
    parser.add_argument("--evals", type=int, default=None, help="default: each problem's own")
    parser.add_argument("--out", type=Path, default=None, help=f"default: {DEFAULT_OUT}")
    parser.add_argument("--workers", type=int, default=1, help="parallel processes (default 1)")
    parser.add_argument(
        "--label", default=None, help="name the records' optimizer this (one optimizer only)"
    )
    parser.add_argument(
        "--smoke", action="store_true", help=f"quick check: all problems, {SMOKE_EVALS} evals"
    )
    args = parser.parse_args(argv)
    if args.seeds < 1 or (args.evals is not None and args.evals < 1) or args.workers < 1:
        parser.error("--seeds, --evals and --workers must be >= 1")
    if args.first_seed < 0:
        parser.error("--first-seed must be >= 0")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point; any exception propagates, so a failing run exits non-zero."""
    args = parse_args(argv)
    if args.smoke:
        smoke(args.out or SMOKE_OUT)
        return
    optimizers = available_optimizers(args.optimizers)
    if not optimizers:
        raise SystemExit("no requested optimizer is available")
    out = args.out or DEFAULT_OUT
    run_all(
        args.problems,
        optimizers,
        args.seeds,
        args.evals,
        out,
        args.workers,
        args.first_seed,
        args.label,
    )


if __name__ == "__main__":
    main()
