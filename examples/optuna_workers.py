"""One Optuna study, many workers, CARBS choosing every trial.

Start as many copies as you like, on one machine or many, against the same
storage; each runs ``--trials`` trials of a simulated training run and reports
its cost through ``trial.set_user_attr("cost", ...)``::

    python examples/optuna_workers.py --storage sqlite:///sweep.db --trials 20 &
    python examples/optuna_workers.py --storage sqlite:///sweep.db --trials 20 &
    wait

With ``--storage`` a PostgreSQL or MySQL URL (or a ``JournalStorage``), the
workers can run on different machines.
"""

from __future__ import annotations

import argparse
import logging
import math

import optuna

import carbs
from carbs import CARBSParams
from carbs.integrations.optuna import CARBSSampler


def objective(trial: optuna.Trial) -> float:
    """A pretend training run: validation loss, with its cost in GPU-seconds."""
    learning_rate = trial.suggest_float("learning_rate", 1e-5, 1e-1, log=True)
    width = trial.suggest_int("width", 16, 1024, log=True)
    epochs = trial.suggest_int("epochs", 1, 64, log=True)
    optimizer = trial.suggest_categorical("optimizer", ["adam", "sgd"])
    if learning_rate > 0.05 and optimizer == "sgd":
        raise RuntimeError("diverged")  # a FAIL trial: carbs learns to avoid the region
    best_lr = 3e-3 * (width / 64) ** -0.5
    loss = 0.6 + 2.0 / width**0.4 + 1.5 / epochs**0.5
    loss += 0.15 * math.log10(learning_rate / best_lr) ** 2 + (0.05 if optimizer == "sgd" else 0)
    trial.set_user_attr("cost", width * epochs * 0.01)
    return loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", default="sqlite:///carbs-optuna.db")
    parser.add_argument("--study", default="carbs-example")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    carbs.set_verbosity(logging.WARNING)  # Optuna prints a line per trial already
    sampler = CARBSSampler(CARBSParams(max_suggestion_cost=500.0), seed=args.seed)
    study = optuna.create_study(
        study_name=args.study, storage=args.storage, sampler=sampler, load_if_exists=True
    )
    study.optimize(objective, n_trials=args.trials, catch=(RuntimeError,))
    print(f"best loss {study.best_value:.4f} with {study.best_params}")


if __name__ == "__main__":
    main()
