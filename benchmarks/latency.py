"""Median wall time of ``CARBS.suggest()`` after n observations in d dimensions.

Each case fills an optimizer with n observations of a smooth cost-aware test
function, then times ``repeats`` rounds of ``suggest()`` followed by
``observe()``, so every timed suggest sees one new observation, as in a real
sweep (the GP hyperparameters are warm-started, never reused unchanged). This
is done for several seeds and the timings are pooled. Each case runs in a
fresh process, whose peak resident memory (``ru_maxrss``, the interpreter with
torch and gpytorch loaded included) is reported beside the times.

A case ``d:n:c`` makes ``c`` of the ``d`` params categorical (three choices
each, which shift both loss and cost); its row also gives the ratio of its
median to the all-real ``d:n`` case's median from the same run (issue 13's
target: at most 1.5).

Usage::

    python benchmarks/latency.py                 # the DESIGN.md cases and 10:200:3
    python benchmarks/latency.py --cases 5:20 10:200 10:200:3 --repeats 20 --seeds 5
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import resource
import statistics
import sys
import time

import numpy as np
import torch

from carbs import CARBS, CARBSParams, CategoricalSpace, LogSpace, ObservationInParam, Param

DEFAULT_CASES = ((5, 20, 0), (10, 200, 0), (20, 1000, 0), (60, 100, 0), (10, 200, 3))
TARGET_SECONDS = {(5, 20): 0.05, (10, 200): 0.25, (20, 1000): 2.0, (60, 100): 1.0}
TARGET_PEAK_MB = {(20, 1000): 1024.0, (60, 100): 500.0}
TARGET_CATEGORICAL_RATIO = 1.5
CHOICES = ("a", "b", "c")
CHOICE_EFFECT = {"a": 0.0, "b": 0.3, "c": -0.2}


def objective(x: dict[str, float | str], rng: np.random.Generator) -> tuple[float, float]:
    """A noisy quadratic bowl in log space whose cost grows with every real param;
    each categorical param shifts loss and log cost by its choice's effect."""
    logs = np.array([math.log10(v) for v in x.values() if not isinstance(v, str)])
    shift = sum(CHOICE_EFFECT[v] for v in x.values() if isinstance(v, str))
    loss = float(np.sum((logs - 0.3) ** 2) + shift + 0.01 * rng.normal())
    cost = float(np.exp(0.5 * logs.sum() + shift))
    return loss, cost


def build(
    dim: int, num_observations: int, seed: int, num_categorical: int = 0
) -> tuple[CARBS, np.random.Generator]:
    """An optimizer with ``num_observations`` observations scattered around the centre;
    the last ``num_categorical`` of its ``dim`` params are categorical."""
    rng = np.random.default_rng(seed)
    num_real = dim - num_categorical
    params = [
        Param(f"x{i}", LogSpace(min=1e-4, max=1e4), search_center=1.0) for i in range(num_real)
    ]
    params += [
        Param(f"c{i}", CategoricalSpace(choices=CHOICES), search_center="a")
        for i in range(num_categorical)
    ]
    # Resampling is switched off: a resample skips the model and would flatter the median.
    config = CARBSParams(better_direction_sign=-1, seed=seed, resample_frequency=0)
    carbs = CARBS(config, params)
    observations = []
    for _ in range(num_observations):
        x: dict[str, float | str] = {
            f"x{i}": float(10 ** rng.normal(0.0, 0.6)) for i in range(num_real)
        }
        x.update({f"c{i}": str(rng.choice(CHOICES)) for i in range(num_categorical)})
        loss, cost = objective(x, rng)
        observations.append(ObservationInParam(input=x, output=loss, cost=cost))
    carbs.initialize_from_observations(observations)
    return carbs, rng


def time_suggest(
    dim: int, num_observations: int, repeats: int, seed: int, num_categorical: int = 0
) -> list[float]:
    """Seconds per ``suggest()`` over ``repeats`` suggest/observe rounds (after one warm-up)."""
    carbs, rng = build(dim, num_observations, seed, num_categorical)
    seconds = []
    for round_index in range(repeats + 1):
        start = time.perf_counter()
        suggestion = carbs.suggest().suggestion
        elapsed = time.perf_counter() - start
        if round_index > 0:  # the first call fits cold and pays one-off import costs
            seconds.append(elapsed)
        loss, cost = objective({k: v for k, v in suggestion.items() if k != "suggestion_uuid"}, rng)
        carbs.observe(ObservationInParam(input=suggestion, output=loss, cost=cost))
    return seconds


def run_case(
    dim: int, num_observations: int, repeats: int, seeds: int, num_categorical: int = 0
) -> tuple[list[float], float]:
    """Timings of one case over ``seeds`` seeds, and this process's peak RSS in MB."""
    import carbs

    carbs.set_verbosity(30)  # no progress line per observation
    seconds = [
        t
        for seed in range(seeds)
        for t in time_suggest(dim, num_observations, repeats, seed, num_categorical)
    ]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return seconds, peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="*", default=[f"{d}:{n}:{c}" for d, n, c in DEFAULT_CASES])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1, timings pooled")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(
        "| d | n | categorical | suggests timed | median ms | mean ms | p90 ms | target ms | "
        "peak RSS MB | target MB | x all-real | met |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    context = multiprocessing.get_context("spawn")  # a fresh process per case: its own peak RSS
    medians: dict[tuple[int, int], float] = {}
    for case in args.cases:
        dim, num_observations, num_categorical = ([int(v) for v in case.split(":")] + [0])[:3]
        repeats = args.repeats if num_observations < 500 else max(3, args.repeats // 3)
        with context.Pool(1) as pool:
            seconds, peak_mb = pool.apply(
                run_case, (dim, num_observations, repeats, args.seeds, num_categorical)
            )
        median = statistics.median(seconds)
        p90 = float(np.quantile(seconds, 0.9))
        ratio = None
        if num_categorical == 0:
            medians[(dim, num_observations)] = median
            target = TARGET_SECONDS.get((dim, num_observations))
            target_mb = TARGET_PEAK_MB.get((dim, num_observations))
        else:
            target, target_mb = None, None
            if (dim, num_observations) in medians:
                ratio = median / medians[(dim, num_observations)]
        met = (target is None or median <= target) and (target_mb is None or peak_mb <= target_mb)
        met = met and (ratio is None or ratio <= TARGET_CATEGORICAL_RATIO)
        print(
            f"| {dim} | {num_observations} | {num_categorical} | {len(seconds)} | "
            f"{median * 1000:.0f} | "
            f"{statistics.mean(seconds) * 1000:.0f} | {p90 * 1000:.0f} | "
            f"{'' if target is None else f'{target * 1000:.0f}'} | {peak_mb:.0f} | "
            f"{'' if target_mb is None else f'{target_mb:.0f}'} | "
            f"{'' if ratio is None else f'{ratio:.2f}'} | {'yes' if met else 'NO'} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
