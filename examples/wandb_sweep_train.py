"""The training script of a W&B sweep whose runs CARBS chooses (the ``wandb`` extra).

Create the sweep with W&B (``wandb sweep sweep.yaml``, see ``docs/wandb-sweeps.md``)
and start agents with ``wandb agent entity/project/SWEEP_ID``; each agent runs
this script, which asks CARBS for its params through :func:`steer`, trains a
pretend model and logs the loss and what the run cost.
"""

from __future__ import annotations

import math

import wandb

from carbs import CARBSParams
from carbs.integrations.wandb_sweep import steer


def train(lr: float, width: int, optimizer: str, epochs: int) -> tuple[float, float]:
    """A pretend training run: (validation loss, GPU-seconds)."""
    if optimizer == "sgd" and lr > 0.05:
        raise RuntimeError("diverged")  # the run crashes; CARBS records a failure
    loss = 0.6 + 2.0 / width**0.4 + 1.5 / epochs**0.5 + 0.15 * math.log10(lr / 3e-3) ** 2
    return loss, width * epochs * 0.01


def main() -> None:
    run = wandb.init()
    params = steer(run, cost_metric="gpu_seconds", config=CARBSParams(max_suggestion_cost=500.0))
    loss, gpu_seconds = train(**params)
    wandb.log({"val_loss": loss, "gpu_seconds": gpu_seconds})
    run.finish()


if __name__ == "__main__":
    main()
