"""Benchmark problems with learning curves: intermediate outputs while a run trains.

A :class:`CurveProblem` wraps a registered :class:`~benchmarks.problems.Problem`
(same params, same cost function, same reference front) and adds
``curve(params, rng)``: a generator of :class:`CurvePoint` s, one per checkpoint,
``(output so far, cost spent so far)``, whose last point is the finished run.
Given the same params and a generator in the same state, the last point equals
what ``problem.evaluate(params, rng)`` returns (checked by :func:`check_curves`).

* ``lm_scaling_curve`` (simulated): the Chinchilla-law LM run of
  :mod:`benchmarks.problems.scaling_law`, reported at 10 checkpoints at fractions
  0.1, 0.2, ..., 1.0 of its planned tokens ``D``. At fraction ``f`` the loss is
  ``E + A / N^alpha + B / (f D)^beta + lr penalty + noise`` (the fitted law at the
  tokens seen so far), with independent ``N(0, 0.01^2)`` noise at each checkpoint;
  the final checkpoint's noise is the one ``evaluate`` would draw. The cost so far
  is ``6 N f D``. A run whose learning rate diverges reports its 0.1 checkpoint and
  then fails at a fifth of its planned cost, as ``evaluate`` charges it.
* ``lm_crossing_curve`` (simulated, a held-out check: not run by default): the LM
  run's final loss reached along paths that cross, with noisier checkpoints at
  higher learning rates (:func:`lm_crossing_curve`). Early readings mislead
  there by construction, so it shows how a rule behaves off the two problems it
  was developed on.
* ``digits_mlp_curve`` (real training): the torch MLP of
  :mod:`benchmarks.problems.digits_mlp`, reporting the validation error after every
  epoch; the cost so far is the training FLOPs of the samples seen so far. The
  validation pass draws no randomness, so the final error is exactly the one the
  problem's ``evaluate`` returns. A run that diverges mid-epoch fails with the
  FLOPs of the samples it saw.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.problems import PROBLEMS, ParamValues, Problem
from benchmarks.problems import digits_mlp as digits
from benchmarks.problems import scaling_law as lm

LM_CHECKPOINTS = 10


@dataclass(frozen=True)
class CurvePoint:
    """One checkpoint of a training run.

    Attributes:
        output: The output to minimise so far (NaN when ``failed``).
        cost: Cost spent so far (cumulative within the run).
        true_output: The noise-free output so far where the problem has one.
        step: 1-based checkpoint index (an epoch for digits), Optuna's ``step``.
        failed: The run diverged here; it ends with this point.
    """

    output: float
    cost: float
    true_output: float | None
    step: int
    failed: bool = False


CurveFn = Callable[[ParamValues, np.random.Generator], Iterator[CurvePoint]]


@dataclass(frozen=True)
class CurveProblem:
    """A problem whose runs report intermediate outputs.

    Attributes:
        name: Registry key.
        problem: The underlying problem (params, cost range, reference front).
        curve_fn: ``(params, rng) -> iterator of CurvePoint``; the last is the result.
        planned_cost_fn: ``params -> cost of the full run`` (known before it starts).
        max_steps: Checkpoints of the longest legal run (Hyperband's ``max_resource``).
        final_true_fn: ``params -> noise-free final output`` where the problem has
            one, so a stopped run's completion is known exactly.
    """

    name: str
    problem: Problem
    curve_fn: CurveFn
    planned_cost_fn: Callable[[ParamValues], float]
    max_steps: int
    final_true_fn: Callable[[ParamValues], float] | None = None

    def curve(self, params: ParamValues, rng: np.random.Generator) -> Iterator[CurvePoint]:
        """The checkpoints of one run (unknown keys such as ``suggestion_uuid`` ignored)."""
        return self.curve_fn({p.name: params[p.name] for p in self.problem.params}, rng)

    def planned_cost(self, params: ParamValues) -> float:
        """Cost of the full run of ``params``."""
        return float(self.planned_cost_fn({p.name: params[p.name] for p in self.problem.params}))

    def run_to_completion(self, params: ParamValues, run_seed: int) -> CurvePoint:
        """The last checkpoint of the run seeded ``run_seed`` (what a stopped run would have
        finished at); the true output replaces a noisy one where the problem has it."""
        *_, last = self.curve(params, np.random.default_rng(run_seed))
        if self.final_true_fn is not None and not last.failed:
            truth = float(self.final_true_fn({p.name: params[p.name] for p in self.problem.params}))
            return CurvePoint(last.output, last.cost, truth, last.step, last.failed)
        return last


# --- LM scaling law --------------------------------------------------------------------


def lm_curve(params: ParamValues, rng: np.random.Generator) -> Iterator[CurvePoint]:
    """Checkpoints of a Chinchilla-law run at fractions k / 10 of its tokens."""
    n_params, tokens, lr = float(params["n_params"]), float(params["tokens"]), float(params["lr"])
    planned = 6.0 * n_params * tokens
    final_noise = float(rng.normal())  # drawn first: the draw ``evaluate`` makes
    penalty = lm.LR_PENALTY * math.log10(lr / lm.optimal_lr(n_params)) ** 2
    diverges = lr > lm.DIVERGENCE_FACTOR * lm.optimal_lr(n_params)
    for step in range(1, LM_CHECKPOINTS + 1):
        fraction = step / LM_CHECKPOINTS
        if diverges and fraction >= lm.FAILED_COST_FRACTION - 1e-12:
            yield CurvePoint(math.nan, lm.FAILED_COST_FRACTION * planned, None, step, True)
            return
        truth = lm.scaling_loss(n_params, fraction * tokens) + penalty
        noise = final_noise if step == LM_CHECKPOINTS else float(rng.normal())
        yield CurvePoint(truth + lm.NOISE_STD * noise, fraction * planned, truth, step)


def lm_planned_cost(params: ParamValues) -> float:
    """``6 N D``."""
    return 6.0 * float(params["n_params"]) * float(params["tokens"])


def lm_crossing_curve(params: ParamValues, rng: np.random.Generator) -> Iterator[CurvePoint]:
    """The LM run's final loss, reached along paths that cross.

    The loss still to come, ``B ((f D)^-beta - D^-beta)``, is scaled by
    ``(optimal lr / lr)^0.5``: a high learning rate looks good early and ends worse
    (its penalty), a low one looks poor early and ends better. Checkpoint noise
    grows with the learning rate, ``0.01 + 0.05 max(0, log10(lr / optimal lr) + 1)``;
    the final checkpoint's noise is the one ``evaluate`` would draw."""
    n_params, tokens, lr = float(params["n_params"]), float(params["tokens"]), float(params["lr"])
    planned = lm_planned_cost(params)
    final_noise = float(rng.normal())
    optimal = lm.optimal_lr(n_params)
    diverges = lr > lm.DIVERGENCE_FACTOR * optimal
    shape = (optimal / lr) ** 0.5
    noise_std = 0.01 + 0.05 * max(0.0, math.log10(lr / optimal) + 1.0)
    final_truth = lm.noise_free(params)
    for step in range(1, LM_CHECKPOINTS + 1):
        fraction = step / LM_CHECKPOINTS
        if diverges and fraction >= lm.FAILED_COST_FRACTION - 1e-12:
            yield CurvePoint(math.nan, lm.FAILED_COST_FRACTION * planned, None, step, True)
            return
        to_come = lm.scaling_loss(n_params, fraction * tokens) - lm.scaling_loss(n_params, tokens)
        truth = final_truth + shape * to_come
        if step == LM_CHECKPOINTS:
            yield CurvePoint(truth + lm.NOISE_STD * final_noise, planned, truth, step)
        else:
            noise = noise_std * float(rng.normal())
            yield CurvePoint(truth + noise, fraction * planned, truth, step)


# --- digits MLP ------------------------------------------------------------------------


def digits_curve(params: ParamValues, rng: np.random.Generator) -> Iterator[CurvePoint]:
    """Per-epoch validation error of the digits MLP, trained exactly as ``evaluate`` does."""
    import torch
    import torch.nn.functional as F

    lr, weight_decay = float(params["lr"]), float(params["weight_decay"])
    width, epochs = int(params["width"]), int(params["epochs"])
    generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
    x_train, y_train, x_val, y_val = digits.load_split()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        w1, b1 = digits._linear(digits.NUM_FEATURES, width, generator)
        w2, b2 = digits._linear(width, digits.NUM_CLASSES, generator)
        optimizer = torch.optim.SGD(
            [w1, b1, w2, b2], lr=lr, momentum=0.9, weight_decay=weight_decay
        )
        samples = 0
        for epoch in range(1, epochs + 1):
            order = torch.randperm(digits.NUM_TRAIN, generator=generator)
            for start in range(0, digits.NUM_TRAIN, digits.BATCH_SIZE):
                index = order[start : start + digits.BATCH_SIZE]
                logits = torch.relu(x_train[index] @ w1 + b1) @ w2 + b2
                loss = F.cross_entropy(logits, y_train[index])
                samples += len(index)
                if not torch.isfinite(loss):
                    cost = digits.training_flops(width, samples)
                    yield CurvePoint(math.nan, cost, None, epoch, True)
                    return
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            with torch.no_grad():
                logits = torch.relu(x_val @ w1 + b1) @ w2 + b2
                finite = bool(torch.isfinite(logits).all())
                error = float((logits.argmax(dim=1) != y_val).float().mean())
            cost = digits.training_flops(width, samples)
            if not finite:
                if epoch == epochs:  # evaluate only checks the logits at the end
                    yield CurvePoint(math.nan, cost, None, epoch, True)
                    return
                error = digits.CHANCE_ERROR  # a mid-run report; training goes on
            yield CurvePoint(error, cost, None, epoch)
    finally:
        torch.set_num_threads(previous_threads)


def digits_planned_cost(params: ParamValues) -> float:
    """Training FLOPs of all planned epochs."""
    return digits.training_flops(int(params["width"]), digits.NUM_TRAIN * int(params["epochs"]))


def _lm_curve_problem(name: str, curve_fn: CurveFn) -> CurveProblem:
    """The LM scaling problem with ``curve_fn``'s checkpoints (its final loss unchanged)."""
    return CurveProblem(
        name=name,
        problem=PROBLEMS["lm_scaling"],
        curve_fn=curve_fn,
        planned_cost_fn=lm_planned_cost,
        max_steps=LM_CHECKPOINTS,
        final_true_fn=lm.noise_free,
    )


CURVE_PROBLEMS: dict[str, CurveProblem] = {
    "lm_scaling_curve": _lm_curve_problem("lm_scaling_curve", lm_curve),
    "lm_crossing_curve": _lm_curve_problem("lm_crossing_curve", lm_crossing_curve),
    "digits_mlp_curve": CurveProblem(
        name="digits_mlp_curve",
        problem=PROBLEMS["digits_mlp"],
        curve_fn=digits_curve,
        planned_cost_fn=digits_planned_cost,
        max_steps=digits.EPOCH_RANGE[1],
    ),
}


# What ``benchmarks/early_stopping.py`` runs unless told otherwise; the rest are checks.
DEFAULT_CURVE_PROBLEMS = ("lm_scaling_curve", "digits_mlp_curve")


def check_curves(name: str, draws: int = 6, seed: int = 0) -> None:
    """Raise ``AssertionError`` unless the curve's last point matches ``evaluate``.

    Draws random params (and the search centre), runs the curve and ``evaluate``
    from generators in the same state and compares output, cost and failure; costs
    must grow along the curve and end at the planned cost unless the run failed.
    """
    curve_problem = CURVE_PROBLEMS[name]
    problem = curve_problem.problem
    rng = np.random.default_rng(seed)
    cases: list[dict[str, Any]] = [problem.search_center]
    cases += [{s.name: s.sample(rng) for s in problem.params} for _ in range(draws)]
    for params in cases:
        points = list(curve_problem.curve(params, np.random.default_rng(seed)))
        output, cost, failed = problem.evaluate(params, np.random.default_rng(seed))
        last = points[-1]
        assert last.failed == failed, (name, params, last, failed)
        assert math.isclose(last.cost, cost, rel_tol=1e-12), (name, params, last.cost, cost)
        assert failed or last.output == output, (name, params, last.output, output)
        assert all(a.cost < b.cost for a, b in itertools.pairwise(points))
        if not failed:
            planned = curve_problem.planned_cost(params)
            assert math.isclose(last.cost, planned, rel_tol=1e-12), (last.cost, planned)
