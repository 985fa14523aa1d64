"""CARBS choosing the trials of a Ray Tune experiment, with a user-chosen cost metric.

Run it with::

    python examples/ray_tune.py [--samples 12] [--concurrent 2]

Each trial is a pretend training run that reports its loss and its cost in
GPU-seconds; trials with tanh units and a high learning rate diverge and error,
and CARBS learns to avoid them. It prints the best config and the Pareto front.
"""

from __future__ import annotations

import argparse
import math

import ray
from ray import tune

from carbs import CARBSParams
from carbs.integrations.ray import CARBSSearcher


def train(config: dict) -> None:
    """One trial: the loss falls with width and has a learning-rate optimum."""
    width = config["model"]["width"]
    if config["activation"] == "tanh" and config["lr"] > 0.03:
        raise RuntimeError("diverged")
    loss = 0.6 + 2.0 / width**0.4 + 0.15 * math.log10(config["lr"] / 3e-3) ** 2
    loss += 0.05 if config["activation"] == "tanh" else 0.0
    tune.report({"loss": loss, "gpu_seconds": width * 0.5})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=12)
    parser.add_argument("--concurrent", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    ray.init(num_cpus=args.concurrent, include_dashboard=False, log_to_driver=False)
    searcher = CARBSSearcher(
        cost_metric="gpu_seconds",
        config=CARBSParams(num_random_samples=4, max_suggestion_cost=400.0),
        seed=args.seed,
        max_concurrent=args.concurrent,
    )
    tuner = tune.Tuner(
        train,
        param_space={
            "lr": tune.loguniform(1e-5, 1e-1),
            "model": {"width": tune.lograndint(8, 1024)},
            "activation": tune.choice(["relu", "tanh"]),
        },
        tune_config=tune.TuneConfig(
            metric="loss", mode="min", num_samples=args.samples, search_alg=searcher
        ),
        run_config=tune.RunConfig(verbose=0),
    )
    results = tuner.fit()
    ray.shutdown()
    print("best config:", results.get_best_result().config)
    assert searcher.optimizer is not None
    for member in searcher.optimizer.pareto_front():
        print(f"cost {member.cost:8.1f}  loss {member.output:.4f}  {member.params}")


if __name__ == "__main__":
    main()
