"""Stop poor runs early: a torch training loop that reports every epoch to CARBS.

Each run trains a small MLP on a synthetic regression task for a number of
epochs that CARBS tunes with the learning rate and the width. After every
epoch the run reports its validation loss and what it has spent so far (a FLOP
count); CARBS stops it as soon as it could no longer improve the
performance-cost front at the cost it would end at.

    python examples/early_stopping.py
"""

from __future__ import annotations

import torch

from carbs import CARBS, CARBSParams, LogSpace, ObservationInParam, Param

SAMPLES, FEATURES = 512, 8


def make_data(generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """A random teacher network's outputs to learn, split into training and validation."""
    x = torch.randn(2 * SAMPLES, FEATURES, generator=generator)
    hidden = torch.tanh(x @ torch.randn(FEATURES, 64, generator=generator))
    y = hidden @ torch.randn(64, 1, generator=generator)
    y = (y - y.mean()) / y.std()
    return x[:SAMPLES], y[:SAMPLES], x[SAMPLES:], y[SAMPLES:]


def flops_per_epoch(width: int) -> float:
    return 6.0 * SAMPLES * (FEATURES * width + width)


def train(params: dict, data: tuple[torch.Tensor, ...], seed: int):
    """Yield (validation loss, FLOPs spent) after each epoch."""
    x_train, y_train, x_val, y_val = data
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(FEATURES, params["width"]),
        torch.nn.Tanh(),
        torch.nn.Linear(params["width"], 1),
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=params["lr"])
    for epoch in range(1, params["epochs"] + 1):
        for batch in torch.split(torch.arange(SAMPLES), 64):
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(model(x_train[batch]), y_train[batch]).backward()
            optimizer.step()
        with torch.no_grad():
            loss = float(torch.nn.functional.mse_loss(model(x_val), y_val))
        yield (
            (loss if loss == loss and loss < 1e6 else 1e6),
            epoch * flops_per_epoch(params["width"]),
        )


def main(num_runs: int = 30) -> CARBS:
    params = [
        Param("lr", LogSpace(min=1e-4, max=3.0), search_center=0.03),
        Param("width", LogSpace(is_integer=True, min=4, max=256), search_center=16),
        Param("epochs", LogSpace(is_integer=True, min=2, max=60), search_center=8),
    ]
    carbs = CARBS(CARBSParams(better_direction_sign=-1, seed=0, checkpoint_dir=None), params)
    data = make_data(torch.Generator().manual_seed(0))
    spent = saved = 0.0
    for run in range(num_runs):
        suggestion = carbs.suggest().suggestion
        planned = suggestion["epochs"] * flops_per_epoch(suggestion["width"])
        for loss, flops in train(suggestion, data, seed=run):
            if flops >= planned:  # the last epoch: the run completed
                carbs.observe(ObservationInParam(input=suggestion, output=loss, cost=flops))
                break
            carbs.report(suggestion, loss, flops, planned_cost=planned)
            decision = carbs.should_stop(suggestion)
            if decision.should_stop:
                carbs.stop(suggestion)
                print(f"run {run}: stopped at {decision.fraction:.0%}: {decision.reason}")
                saved += planned - flops
                break
        spent += flops
    stopped = len(carbs.stopped_observations)
    share = saved / (spent + saved)
    print(f"{stopped} of {num_runs} runs stopped early, saving {share:.0%} of the FLOPs")
    best = carbs.pareto_front()[-1]
    print(f"best: loss {best.output:.4f} at {best.cost:.3g} FLOPs with {best.params}")
    return carbs


if __name__ == "__main__":
    main()
