"""Median wall time of one ``CARBSPruner`` decision, beside Optuna's ``MedianPruner``.

A study holds ``trials`` completed trials of ``steps`` reports each (a loss that
falls toward its final value); a running trial has reported for ``running`` steps.
Each pruner's ``prune`` is timed ``repeats`` times on that trial after one
untimed call (which imports scipy and, for ``CARBSPruner``, reads the completed
curves once), so the figure is what every later report of a sweep pays.

Usage::

    python benchmarks/pruner_latency.py
    python benchmarks/pruner_latency.py --trials 50 --steps 500 --running 200 --repeats 50
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import optuna

from carbs.integrations.optuna import CARBSPruner


def study_of_curves(trials: int, steps: int) -> optuna.Study:
    """``trials`` completed trials, each reporting at every one of its ``steps``."""
    study = optuna.create_study(
        sampler=optuna.samplers.RandomSampler(seed=0), pruner=optuna.pruners.NopPruner()
    )

    def objective(trial: optuna.Trial) -> float:
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        final = (math.log10(lr) + 2.5) ** 2
        for step in range(1, steps + 1):
            trial.report(final + 1.0 / step, step)
        trial.set_user_attr("cost", float(steps))
        return final

    study.optimize(objective, n_trials=trials)
    return study


def median_ms(pruner: optuna.pruners.BasePruner, study: optuna.Study, repeats: int) -> float:
    frozen = study.get_trials(deepcopy=False)[-1]
    pruner.prune(study, frozen)  # untimed: imports and, for CARBSPruner, the curves
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        pruner.prune(study, frozen)
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--running", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = study_of_curves(args.trials, args.steps)
    trial = study.ask()
    trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    for step in range(1, args.running + 1):
        trial.report(3.0 + 1.0 / step, step)
    carbs_ms = median_ms(CARBSPruner(total_steps=args.steps), study, args.repeats)
    median_pruner_ms = median_ms(optuna.pruners.MedianPruner(), study, args.repeats)
    print(
        f"{args.trials} completed trials of {args.steps} reports, a running trial at step "
        f"{args.running}: CARBSPruner {carbs_ms:.2f} ms, MedianPruner {median_pruner_ms:.2f} ms "
        f"per decision (median of {args.repeats})"
    )


if __name__ == "__main__":
    main()
