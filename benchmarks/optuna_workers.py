"""CARBS through Optuna with parallel workers on one SQLite study, and the sampler's ask latency.

Usage::

    # 4 worker processes per sweep share one SQLite study; CARBSSampler and TPE
    python benchmarks/optuna_workers.py --seeds 10 --out optuna4.jsonl
    python benchmarks/report.py sequential.jsonl optuna4.jsonl
    # median ask latency with 500 finished trials in a SQLite storage
    python benchmarks/optuna_workers.py --latency

Each sweep makes ``--evals`` evaluations in all, ``--evals / --workers`` per
worker process, through ``study.ask(distributions)`` / ``study.tell``. carbs uses
the problem's own carbs params (the sequential ``carbs`` row's spaces and cheap
start) through ``CARBSSampler(params=...)``; TPE uses the distributions of the
sequential ``optuna_tpe`` row with ``constant_liar=True`` (Optuna's advice for
parallel workers) and a seed per worker. Records have the format of
``benchmarks/run.py``, in completion order, labelled ``carbs[4 workers]`` and
``optuna_tpe[4 workers]``; each evaluation's noise comes from the problem, the
seed and the trial number.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import statistics
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from benchmarks.optimizers import OptunaOptimizer, carbs_config_overrides, optuna_distribution
from benchmarks.problems import PROBLEMS
from benchmarks.problems.base import Problem, to_carbs_params

DEFAULT_PROBLEMS = ("gpu_memory", "hartmann3_mf", "lm_scaling", "sparse20", "lm_shape")
SAMPLERS = ("carbs", "tpe")


def _sampler(kind: str, problem: Problem, seed: int, worker: int) -> Any:
    import optuna

    if kind == "tpe":
        return optuna.samplers.TPESampler(seed=seed * 1000 + worker, constant_liar=True)
    from carbs import CARBSParams
    from carbs.integrations.optuna import CARBSSampler

    config = CARBSParams(max_suggestion_cost=problem.max_cost, **carbs_config_overrides())
    return CARBSSampler(config, seed=seed, params=to_carbs_params(problem, is_cheap_start=True))


def _distributions(kind: str, problem: Problem) -> dict[str, Any]:
    if kind == "carbs":
        from carbs.integrations.optuna_space import distributions_from_params

        return distributions_from_params(to_carbs_params(problem, is_cheap_start=True))
    return {OptunaOptimizer._optuna_name(s): optuna_distribution(s) for s in problem.params}


def _params(kind: str, problem: Problem, trial_params: dict[str, Any]) -> dict[str, Any]:
    if kind == "carbs":
        return {spec.name: trial_params[spec.name] for spec in problem.params}
    values = {}
    for spec in problem.params:
        value = trial_params[OptunaOptimizer._optuna_name(spec)]
        mapped = spec.kind in ("logit", "ordinal")
        values[spec.name] = spec.from_search(value) if mapped else value
    return values


def _worker(args: tuple[str, str, int, int, int, str, float]) -> None:
    """One worker process: ``count`` ask/evaluate/tell rounds on the shared study."""
    kind, problem_name, seed, worker, count, url, eval_seconds = args
    import optuna
    import torch

    import carbs

    torch.set_num_threads(1)
    carbs.set_verbosity(30)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    problem = PROBLEMS[problem_name]
    storage = optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 300}})
    study = optuna.load_study(
        study_name="sweep", storage=storage, sampler=_sampler(kind, problem, seed, worker)
    )
    distributions = _distributions(kind, problem)
    for _ in range(count):
        start = time.perf_counter()
        trial = study.ask(distributions)
        ask_seconds = time.perf_counter() - start
        params = _params(kind, problem, trial.params)
        rng = np.random.default_rng([seed, zlib.crc32(problem_name.encode()), trial.number])
        output, cost, failed = problem.evaluate(params, rng)
        time.sleep(eval_seconds)
        trial.set_user_attr("cost", cost)
        trial.set_user_attr("ask_seconds", ask_seconds)
        _tell(study, trial, output, failed)


def run_sweep(
    kind: str,
    problem_name: str,
    seed: int,
    workers: int,
    evals: int,
    label: str | None = None,
    eval_seconds: float = 0.0,
) -> list[dict[str, Any]]:
    """One sweep of ``evals`` evaluations by ``workers`` processes; its records.

    ``eval_seconds`` is a simulated training time per evaluation (the problems
    evaluate instantly, so without it the workers' asks overlap each other
    rather than their trials' training).
    """
    import optuna

    problem = PROBLEMS[problem_name]
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'study.db'}"
        optuna.create_study(study_name="sweep", storage=url, direction="minimize")
        counts = [evals // workers + (w < evals % workers) for w in range(workers)]
        context = multiprocessing.get_context("spawn")
        with context.Pool(workers) as pool:
            pool.map(
                _worker,
                [(kind, problem_name, seed, w, c, url, eval_seconds) for w, c in enumerate(counts)],
            )
        trials = optuna.load_study(study_name="sweep", storage=url).get_trials()
    trials.sort(key=lambda t: (t.datetime_complete, t.number))
    records, cumulative = [], 0.0
    label = label or f"{'carbs' if kind == 'carbs' else 'optuna_tpe'}[{workers} workers]"
    for step, trial in enumerate(trials):
        params = _params(kind, problem, trial.params)
        failed = trial.state.name == "FAIL"
        cost = float(trial.user_attrs["cost"])
        cumulative += cost
        records.append(
            {
                "problem": problem_name,
                "optimizer": label,
                "seed": seed,
                "step": step,
                "params": {k: _json(v) for k, v in params.items()},
                "output": None if failed else trial.value,
                "true_output": None if failed else problem.noise_free_output(params),
                "cost": cost,
                "failed": failed,
                "cumulative_cost": cumulative,
                "ask_seconds": trial.user_attrs["ask_seconds"],
                "eval_seconds": 0.0,
            }
        )
    return records


def _json(value: Any) -> Any:
    if isinstance(value, bool | str) or value is None:
        return value
    return int(value) if isinstance(value, int | np.integer) else float(value)


def _tell(study: Any, trial: Any, output: float, failed: bool) -> None:
    import optuna

    if failed or not math.isfinite(output):
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    else:
        study.tell(trial, output)


def ask_latency(finished: int = 500, asks: int = 30) -> None:
    """Median ask time of CARBSSampler with ``finished`` trials in a SQLite storage."""
    import optuna
    import torch

    import carbs
    from carbs.integrations.optuna import CARBSSampler

    torch.set_num_threads(1)
    carbs.set_verbosity(30)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    problem = PROBLEMS["hartmann3_mf"]
    distributions = _distributions("carbs", problem)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'study.db'}"
        filler = optuna.create_study(
            study_name="s", storage=url, sampler=optuna.samplers.RandomSampler(seed=0)
        )
        for _ in range(finished):
            trial = filler.ask(distributions)
            output, cost, failed = problem.evaluate(_params("carbs", problem, trial.params), rng)
            trial.set_user_attr("cost", cost)
            _tell(filler, trial, output, failed)
        sampler = CARBSSampler(seed=0, params=to_carbs_params(problem, is_cheap_start=True))
        study = optuna.load_study(study_name="s", storage=url, sampler=sampler)
        times = []
        for _ in range(asks + 1):
            start = time.perf_counter()
            trial = study.ask(distributions)
            times.append(time.perf_counter() - start)
            params = _params("carbs", problem, trial.params)
            output, cost, failed = problem.evaluate(params, rng)
            trial.set_user_attr("cost", cost)
            _tell(study, trial, output, failed)
    first, rest = times[0], times[1:]
    print(f"CARBSSampler ask with {finished} finished trials in SQLite, {problem.name} params")
    print(f"first ask (observes all {finished}): {first * 1000:.0f} ms")
    print(
        f"later asks (one new trial each): median {statistics.median(rest) * 1000:.0f} ms, "
        f"p90 {np.quantile(rest, 0.9) * 1000:.0f} ms over {len(rest)} asks (target: median 300 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", action="store_true", help="measure ask latency only")
    parser.add_argument("--problems", nargs="+", default=list(DEFAULT_PROBLEMS))
    parser.add_argument("--samplers", nargs="+", default=list(SAMPLERS), choices=SAMPLERS)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--evals", type=int, default=60)
    parser.add_argument("--out", type=Path, default=Path("optuna_workers.jsonl"))
    parser.add_argument("--label", default=None, help="name the records (for variants)")
    parser.add_argument(
        "--eval-seconds",
        type=float,
        default=0.0,
        help="simulated training time per evaluation (default 0: instant evaluations)",
    )
    args = parser.parse_args()
    if args.latency:
        ask_latency()
        return
    with args.out.open("a") as out:
        for problem_name in args.problems:
            for kind in args.samplers:
                for seed in range(args.first_seed, args.first_seed + args.seeds):
                    start = time.time()
                    records = run_sweep(
                        kind,
                        problem_name,
                        seed,
                        args.workers,
                        args.evals,
                        args.label,
                        args.eval_seconds,
                    )
                    for record in records:
                        out.write(json.dumps(record) + "\n")
                    out.flush()
                    failed = sum(r["failed"] for r in records)
                    print(
                        f"{problem_name} {records[0]['optimizer']} seed {seed}: "
                        f"{len(records)} evals, {failed} failed, {time.time() - start:.0f}s",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
