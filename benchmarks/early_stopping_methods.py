"""The sweeps compared by :mod:`benchmarks.early_stopping`, one agent class per family.

Every agent offers ``ask() -> params``, ``check(point, planned_cost) -> (stop, info)``
(called at each non-final checkpoint, after the point is recorded) and
``finish(last_point, stopped)``. :func:`run_sweep` drives one agent along the
learning curves of a :class:`~benchmarks.learning_curves.CurveProblem` and
returns one record per run.

Methods (:data:`METHODS`):

* ``carbs_nostop``: CARBS, every run trained to the end, no reports.
* ``carbs_stop``: CARBS with ``report`` at every checkpoint (with the planned cost),
  ``should_stop`` after each non-final one and ``stop`` when told; library defaults.
* ``tpe_median`` / ``tpe_hyperband``: Optuna ``TPESampler(seed)`` with
  ``MedianPruner()`` (defaults) or ``HyperbandPruner(min_resource=1,
  max_resource=<checkpoints of the longest run>, reduction_factor=3)``; each
  checkpoint is ``trial.report(output, step)`` with the checkpoint index as step
  (the epoch for digits, 1..10 for the LM problem) and ``trial.should_prune()``;
  a pruned trial is told ``PRUNED``.
* ``protein_trend``: CARBS suggestions with the stopping rule of PufferLib's Protein
  (``RobustLogCostModel`` in ``pufferlib/sweep.py``), see :class:`ProteinTrend`.
  Reports and stopped runs are recorded in CARBS exactly as ``carbs_stop`` records
  them (``report`` / ``stop``), so only the decision rule differs.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import numpy as np

from benchmarks.learning_curves import CurvePoint, CurveProblem
from benchmarks.optimizers import OptunaOptimizer, carbs_config_overrides, optuna_distribution
from benchmarks.problems import ParamValues, to_carbs_params

Record = dict[str, Any]
StopInfo = dict[str, Any]
METHODS = ("carbs_nostop", "carbs_stop", "tpe_median", "tpe_hyperband", "protein_trend")
STOPPING_METHODS = METHODS[1:]


def carbs_has_stopping() -> bool:
    """Whether the installed carbs has the early-stopping API (``report`` / ``should_stop``)."""
    from carbs import CARBS

    return all(hasattr(CARBS, name) for name in ("report", "should_stop", "stop"))


class ProteinTrend:
    """The early-stopping threshold of PufferLib's Protein, for a minimised output.

    Protein fits ``score = A + B log(cost)`` (``B >= 0``) by quantile regression
    (pinball loss, quantile 0.3, Nelder-Mead) through the observed points of earlier
    runs, once it has 30 of them, and stops a run whose score at its cost so far
    falls below the line. Here ``score = -output``; the points are 5 evenly spaced
    checkpoints of each completed, successful run (Protein's ``downsample: 5``),
    its last one included. As in Protein the rule only applies from an absolute
    cost of ``0.3 * upper`` on, where ``upper`` is the cost of the most expensive
    Pareto-front run, fixed at the first fit and then raised by 1% per suggestion
    while the front reaches further (Protein's ``abs_min_cost`` of 10 seconds is 0
    here, and its front pruning is left out). Beyond ``1.2 * upper`` Protein stops
    runs worse than 0.9 times the best score; for a loss that is ``best / 0.9``.
    The run's value is the better of its latest output and the mean of its last
    30 reports (Protein's running mean, taken per run).
    """

    def __init__(self, quantile: float = 0.3, min_samples: int = 30, points_per_run: int = 5):
        self.quantile = quantile
        self.min_samples = min_samples
        self.points_per_run = points_per_run
        self._costs: list[float] = []
        self._scores: list[float] = []
        self._runs: list[tuple[float, float]] = []  # (full cost, final output) of completed runs
        self.upper = -math.inf
        self.line: tuple[float, float] | None = None

    def add_run(self, curve: list[CurvePoint]) -> None:
        """Record a completed, successful run's curve."""
        picks = np.unique(np.linspace(0, len(curve) - 1, self.points_per_run).round().astype(int))
        for i in picks:
            self._costs.append(curve[i].cost)
            self._scores.append(-curve[i].output)
        self._runs.append((curve[-1].cost, curve[-1].output))

    def refit(self) -> None:
        """Update ``upper`` and the trend line (Protein does this in ``suggest``)."""
        if not self._runs:
            return
        front_top, best = 0.0, math.inf
        for cost, output in sorted(self._runs):
            if output < best:
                front_top, best = cost, output
        if self.upper < 0:
            self.upper = front_top
        elif self.upper < front_top:
            self.upper *= 1.01
        self.line = None
        if len(self._costs) < self.min_samples:
            return
        from scipy.optimize import minimize

        x, y = np.log(np.asarray(self._costs)), np.asarray(self._scores)
        q = self.quantile

        def pinball(ab: np.ndarray) -> float:
            residual = y - (ab[0] + ab[1] * x)
            return float(np.sum(np.maximum(q * residual, (q - 1) * residual)))

        slope, intercept = np.polyfit(x, y, 1)
        result = minimize(
            pinball,
            x0=[intercept, max(slope, 0.0)],
            method="Nelder-Mead",
            bounds=[(None, None), (0, None)],
        )
        self.line = (float(result.x[0]), float(result.x[1]))

    def threshold(self, cost: float) -> float:
        """The loss above which a run at ``cost`` is stopped (``inf``: never)."""
        if self.line is None or cost < 0.3 * self.upper:
            return math.inf
        if cost > 1.2 * self.upper:
            best = min(output for _, output in self._runs)
            return best / 0.9 if best > 0 else best * 0.9
        return -(self.line[0] + self.line[1] * math.log(cost))


class CarbsAgent:
    """CARBS suggestions; ``rule`` is ``None`` (no stopping), ``"carbs"`` or ``"protein"``."""

    def __init__(self, curve_problem: CurveProblem, seed: int, rule: str | None) -> None:
        from carbs import CARBS, CARBSParams, set_verbosity

        set_verbosity(logging.WARNING)
        problem = curve_problem.problem
        config = CARBSParams(
            better_direction_sign=-1,
            seed=seed,
            max_suggestion_cost=problem.max_cost,
            is_saved_on_every_observation=False,
            **carbs_config_overrides(),
        )
        self._carbs = CARBS(config, to_carbs_params(problem, is_cheap_start=True))
        self._names = [spec.name for spec in problem.params]
        self._rule = rule
        self._trend = ProteinTrend() if rule == "protein" else None
        self._suggestion: dict[str, Any] = {}
        self._curve: list[CurvePoint] = []

    def ask(self) -> ParamValues:
        """``suggest()``; the Protein rule refits its trend here, as Protein does."""
        if self._trend is not None:
            self._trend.refit()
        self._suggestion = self._carbs.suggest().suggestion
        self._curve = []
        return {name: self._suggestion[name] for name in self._names}

    def check(
        self, point: CurvePoint, planned_cost: float, is_final: bool
    ) -> tuple[bool, StopInfo]:
        """Record the checkpoint (``report``) and, unless final, ask the rule."""
        self._curve.append(point)
        if self._rule is None:
            return False, {}
        self._carbs.report(self._suggestion, point.output, point.cost, planned_cost=planned_cost)
        if is_final:
            return False, {}
        if self._trend is not None:
            running = float(np.mean([p.output for p in self._curve[-30:]]))
            limit = self._trend.threshold(point.cost)
            stop = min(running, point.output) > limit
            return stop, {"threshold": limit if math.isfinite(limit) else None}
        decision = self._carbs.should_stop(self._suggestion)
        info = {
            name: _plain(getattr(decision, name, None))
            for name in ("reason", "fraction", "planned_cost", "projected_output")
        }
        info["improvement_probability"] = _plain(getattr(decision, "improvement_probability", None))
        return bool(decision), info

    def finish(self, last: CurvePoint, stopped: bool) -> None:
        """``stop()`` a stopped run, else ``observe()`` its result."""
        from carbs import ObservationInParam

        if stopped:
            self._carbs.stop(self._suggestion)
            return
        self._carbs.observe(
            ObservationInParam(
                input=self._suggestion,
                output=math.nan if last.failed else last.output,
                cost=last.cost,
                is_failure=last.failed,
            )
        )
        if self._trend is not None and not last.failed:
            self._trend.add_run(self._curve)


class OptunaAgent:
    """Optuna TPE with a pruner, searching the problem's space as :class:`OptunaOptimizer`."""

    def __init__(self, curve_problem: CurveProblem, seed: int, pruner: str) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._optuna = optuna
        self._specs = curve_problem.problem.params
        self._names = {spec.name: OptunaOptimizer._optuna_name(spec) for spec in self._specs}
        self._distributions = {self._names[s.name]: optuna_distribution(s) for s in self._specs}
        if pruner == "median":
            chosen: Any = optuna.pruners.MedianPruner()
        else:
            chosen = optuna.pruners.HyperbandPruner(
                min_resource=1, max_resource=curve_problem.max_steps, reduction_factor=3
            )
        sampler = optuna.samplers.TPESampler(seed=seed)
        self._study = optuna.create_study(direction="minimize", sampler=sampler, pruner=chosen)
        self._trial: Any = None

    def ask(self) -> ParamValues:
        """``study.ask`` mapped to param values (logit and ordinal params mapped back)."""
        self._trial = self._study.ask(self._distributions)
        params: ParamValues = {}
        for spec in self._specs:
            value = self._trial.params[self._names[spec.name]]
            params[spec.name] = (
                spec.from_search(value) if spec.kind in ("logit", "ordinal") else value
            )
        return params

    def check(
        self, point: CurvePoint, planned_cost: float, is_final: bool
    ) -> tuple[bool, StopInfo]:
        """``trial.report(output, step)`` then, unless final, ``trial.should_prune()``."""
        self._trial.report(point.output, point.step)
        if is_final:
            return False, {}
        return bool(self._trial.should_prune()), {}

    def finish(self, last: CurvePoint, stopped: bool) -> None:
        """``study.tell``: ``PRUNED``, ``FAIL`` or the final output."""
        state = self._optuna.trial.TrialState
        if stopped:
            self._study.tell(self._trial, state=state.PRUNED)
        elif last.failed:
            self._study.tell(self._trial, state=state.FAIL)
        else:
            self._study.tell(self._trial, last.output)


def make_agent(method: str, curve_problem: CurveProblem, seed: int) -> Any:
    """The agent of ``method`` (one of :data:`METHODS`)."""
    if method == "carbs_nostop":
        return CarbsAgent(curve_problem, seed, None)
    if method == "carbs_stop":
        return CarbsAgent(curve_problem, seed, "carbs")
    if method == "protein_trend":
        return CarbsAgent(curve_problem, seed, "protein")
    if method in ("tpe_median", "tpe_hyperband"):
        return OptunaAgent(curve_problem, seed, method.removeprefix("tpe_"))
    raise KeyError(f"unknown method {method!r}; choose from {METHODS}")


def run_seed_of(problem: str, seed: int, index: int) -> int:
    """The noise / torch seed of run ``index`` of a (problem, seed): the same for every method."""
    import zlib

    return int(np.random.default_rng([seed, zlib.crc32(problem.encode()), index]).integers(2**62))


def run_sweep(
    method: str,
    curve_problem: CurveProblem,
    seed: int,
    max_runs: int,
    cost_cap: float = math.inf,
) -> list[Record]:
    """Run ``method`` until ``max_runs`` runs or a cumulative cost of ``cost_cap``.

    The cumulative cost counts every run's spend, the partial cost of stopped runs
    included. Each record holds the run's params, its curve up to where it ended,
    ``stopped``, ``failed``, its output and cost (final, or at the stop) and the
    cumulative cost after it.
    """
    agent = make_agent(method, curve_problem, seed)
    records: list[Record] = []
    cumulative = 0.0
    while len(records) < max_runs and cumulative < cost_cap:
        index = len(records)
        start = time.perf_counter()
        params = agent.ask()
        planned = curve_problem.planned_cost(params)
        run_seed = run_seed_of(curve_problem.name, seed, index)
        curve: list[CurvePoint] = []
        stopped, info = False, {}
        for point in curve_problem.curve(params, np.random.default_rng(run_seed)):
            curve.append(point)
            if point.failed:
                break
            is_final = point.cost >= planned * (1 - 1e-9)
            stopped, info = agent.check(point, planned, is_final)
            if stopped:
                break
        last = curve[-1]
        agent.finish(last, stopped)
        cumulative += last.cost
        records.append(
            {
                "problem": curve_problem.name,
                "method": method,
                "seed": seed,
                "step": index,
                "run_seed": run_seed,
                "params": {k: _plain(v) for k, v in params.items()},
                "planned_cost": planned,
                "cost": last.cost,
                "output": None if last.failed else last.output,
                "true_output": last.true_output,
                "failed": last.failed,
                "stopped": stopped,
                "stop_info": info if stopped else None,
                "curve": [[p.cost, None if p.failed else p.output] for p in curve],
                "cumulative_cost": cumulative,
                "seconds": time.perf_counter() - start,
            }
        )
    return records


def _plain(value: Any) -> Any:
    """A JSON-ready scalar (numpy numbers become Python ones; NaN and inf become None)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return str(value)
