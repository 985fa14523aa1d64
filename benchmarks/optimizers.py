"""One small ask/tell adapter per optimizer under test.

Every adapter is built from a :class:`~benchmarks.problems.Problem` and a seed and
offers ``ask() -> params`` and ``tell(params, output, cost, failed)``. Optuna and
carbs are imported inside their adapters, so this module imports without them.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from benchmarks.problems import ParamSpec, ParamValues, Problem, to_carbs_params


class OptimizerUnavailableError(RuntimeError):
    """The optimizer's library is missing or too old; the message says what to install."""


class Optimizer(Protocol):
    """The ask/tell interface the benchmark runner drives."""

    def ask(self) -> ParamValues:
        """Params to evaluate next (param names to values, nothing else)."""
        ...

    def tell(self, params: ParamValues, output: float, cost: float, failed: bool) -> None:
        """Report the result of evaluating ``params`` (``output`` is NaN when ``failed``)."""
        ...


def _key(params: ParamValues) -> tuple[tuple[str, Any], ...]:
    """A hashable key of a params dict (numbers as floats: carbs may return 64 for 64.0)."""
    return tuple(
        sorted(
            (name, float(value) if isinstance(value, int | float) else value)
            for name, value in params.items()
        )
    )


class RandomSearch:
    """Independent draws, uniform in each param's search coordinate (log, logit or linear)."""

    def __init__(self, problem: Problem, seed: int) -> None:
        self._specs = problem.params
        self._rng = np.random.default_rng(seed)

    def ask(self) -> ParamValues:
        """A fresh independent draw."""
        return {spec.name: spec.sample(self._rng) for spec in self._specs}

    def tell(self, params: ParamValues, output: float, cost: float, failed: bool) -> None:
        """Random search ignores results."""


CARBS_CONFIG_ENV = "CARBS_BENCH_CONFIG"


def carbs_config_overrides() -> dict[str, Any]:
    """``CARBSParams`` fields to override, from the JSON object in ``$CARBS_BENCH_CONFIG``.

    An environment variable rather than an argument, so that worker processes see it:
    ``CARBS_BENCH_CONFIG='{"exploration_bias": 0.5}' python benchmarks/run.py ...``.
    """
    overrides = json.loads(os.environ.get(CARBS_CONFIG_ENV, "{}"))
    if not isinstance(overrides, dict):
        raise ValueError(f"${CARBS_CONFIG_ENV} must hold a JSON object, got {overrides!r}")
    return overrides


CARBS_SEED_OFFSET_ENV = "CARBS_BENCH_SEED_OFFSET"


def carbs_seed_offset() -> int:
    """An integer added to carbs' own seed (not to the problem's noise), from
    ``$CARBS_BENCH_SEED_OFFSET`` (default 0).

    It runs the same code down another random path: the problem draws the same
    noise for the same seed, while carbs' random warm-up, budgets and candidates
    change. Paired against the default, such a run is the control for a variant:
    it shows how many seeds the random path alone moves each way
    (``CARBS_BENCH_SEED_OFFSET=1000 python benchmarks/run.py ...``).
    """
    text = os.environ.get(CARBS_SEED_OFFSET_ENV, "0").strip()
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"${CARBS_SEED_OFFSET_ENV} must be an integer, got {text!r}") from None


class CarbsOptimizer:
    """carbs ``CARBS`` minimising the output, with the problem's cost range.

    With ``is_cheap_start`` (the default, and the ``carbs`` row) the cost-driving
    params start near the cheap end of their range, as the README tells CARBS
    users to start; without it (the ``carbs_mid_start`` ablation) they start at the
    problem's mid-range default.
    """

    def __init__(self, problem: Problem, seed: int, is_cheap_start: bool = True) -> None:
        _require_carbs()
        from carbs import CARBS, CARBSParams, set_verbosity

        set_verbosity(logging.WARNING)  # no progress line per evaluation in benchmark logs
        config = CARBSParams(
            better_direction_sign=-1,
            seed=seed + carbs_seed_offset(),
            max_suggestion_cost=problem.max_cost,
            is_saved_on_every_observation=False,
            **carbs_config_overrides(),
        )
        self._carbs = CARBS(config, to_carbs_params(problem, is_cheap_start))
        self._names = [spec.name for spec in problem.params]
        self._pending: dict[tuple[tuple[str, float], ...], dict[str, Any]] = {}

    def ask(self) -> ParamValues:
        """``CARBS.suggest()``, without the suggestion id (kept to pass back in ``tell``)."""
        suggestion = self._carbs.suggest().suggestion
        params = {name: suggestion[name] for name in self._names}
        self._pending[_key(params)] = suggestion
        return params

    def tell(self, params: ParamValues, output: float, cost: float, failed: bool) -> None:
        """``CARBS.observe()`` with ``is_failure=failed``."""
        from carbs import ObservationInParam

        suggestion = self._pending.pop(_key(params), dict(params))
        self._carbs.observe(
            ObservationInParam(
                input=suggestion,
                output=math.nan if failed else output,
                cost=cost,
                is_failure=failed,
            )
        )


def optuna_distribution(spec: ParamSpec) -> Any:
    """The Optuna distribution of a param, as the ``optuna_*`` rows search it (see
    :class:`OptunaOptimizer`)."""
    from optuna import distributions as dist

    if spec.kind == "categorical":
        return dist.CategoricalDistribution(spec.values)
    if spec.kind == "ordinal":
        return dist.IntDistribution(0, len(spec.values) - 1)
    if spec.kind == "logit":
        return dist.FloatDistribution(spec.search_low, spec.search_high)
    log = spec.kind == "log"
    if spec.is_integer:
        return dist.IntDistribution(math.ceil(spec.low), int(spec.high), log=log)
    return dist.FloatDistribution(spec.low, spec.high, log=log)


class OptunaOptimizer:
    """An Optuna study driven through ``study.ask`` / ``study.tell``.

    Log params use log-scaled distributions. Optuna has no logit distribution, so
    a logit param is sampled as a uniform float over its log-odds under the name
    ``"logit10(<name>)"`` and mapped back. A categorical param is a
    ``CategoricalDistribution``; an ordinal one (such as powers of two) is its
    position, an ``IntDistribution`` named ``"index(<name>)"``, as an Optuna user
    would ask for an exponent. Failed runs are told as ``FAIL`` trials.
    """

    def __init__(self, problem: Problem, sampler_factory: Callable[[Any], Any]) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._optuna = optuna
        self._specs = problem.params
        self._distributions = {
            self._optuna_name(spec): self._distribution(spec) for spec in problem.params
        }
        self._study = optuna.create_study(direction="minimize", sampler=sampler_factory(optuna))
        self._pending: dict[tuple[tuple[str, float], ...], Any] = {}

    @staticmethod
    def _optuna_name(spec: ParamSpec) -> str:
        if spec.kind == "ordinal":
            return f"index({spec.name})"
        return f"logit10({spec.name})" if spec.kind == "logit" else spec.name

    def _distribution(self, spec: ParamSpec) -> Any:
        return optuna_distribution(spec)

    def ask(self) -> ParamValues:
        """``study.ask`` with the fixed search space, mapped back to param values."""
        trial = self._study.ask(self._distributions)
        params: ParamValues = {}
        for spec in self._specs:
            value = trial.params[self._optuna_name(spec)]
            is_mapped = spec.kind in ("logit", "ordinal")
            params[spec.name] = spec.from_search(value) if is_mapped else value
        self._pending[_key(params)] = trial
        return params

    def tell(self, params: ParamValues, output: float, cost: float, failed: bool) -> None:
        """``study.tell``: the output, or state ``FAIL`` for a failed run (cost is not used)."""
        trial = self._pending.pop(_key(params))
        if failed or not math.isfinite(output):
            self._study.tell(trial, state=self._optuna.trial.TrialState.FAIL)
        else:
            self._study.tell(trial, output)


def _require_carbs() -> None:
    try:
        from carbs import CARBS  # noqa: F401
    except ImportError as error:
        raise OptimizerUnavailableError(f"carbs is not importable: {error}") from error


def _require_optuna(with_gp: bool = False) -> Any:
    try:
        import optuna
    except ImportError as error:
        raise OptimizerUnavailableError(
            "optuna is not installed; run `pip install optuna` to benchmark it"
        ) from error
    if with_gp and not hasattr(optuna.samplers, "GPSampler"):
        raise OptimizerUnavailableError(
            f"optuna {optuna.__version__} has no GPSampler (added in optuna 3.6); "
            "run `pip install -U optuna` to benchmark optuna_gp"
        )
    return optuna


def _optuna_tpe(problem: Problem, seed: int) -> Optimizer:
    _require_optuna()
    return OptunaOptimizer(problem, lambda optuna: optuna.samplers.TPESampler(seed=seed))


def _optuna_gp(problem: Problem, seed: int) -> Optimizer:
    _require_optuna(with_gp=True)
    return OptunaOptimizer(problem, lambda optuna: optuna.samplers.GPSampler(seed=seed))


def _carbs_mid_start(problem: Problem, seed: int) -> Optimizer:
    return CarbsOptimizer(problem, seed, is_cheap_start=False)


OPTIMIZERS: dict[str, Callable[[Problem, int], Optimizer]] = {
    "carbs": CarbsOptimizer,
    "carbs_mid_start": _carbs_mid_start,
    "optuna_tpe": _optuna_tpe,
    "optuna_gp": _optuna_gp,
    "random": RandomSearch,
}
_REQUIREMENTS: dict[str, Callable[[], Any]] = {
    "carbs": _require_carbs,
    "carbs_mid_start": _require_carbs,
    "optuna_tpe": _require_optuna,
    "optuna_gp": lambda: _require_optuna(with_gp=True),
    "random": lambda: None,
}


def make_optimizer(name: str, problem: Problem, seed: int) -> Optimizer:
    """Build optimizer ``name`` for ``problem``.

    Raises:
        KeyError: ``name`` is not in :data:`OPTIMIZERS`.
        OptimizerUnavailableError: its library is missing or lacks the sampler.
    """
    if name not in OPTIMIZERS:
        raise KeyError(f"unknown optimizer {name!r}; choose from {sorted(OPTIMIZERS)}")
    return OPTIMIZERS[name](problem, seed)


def unavailable_reason(name: str) -> str | None:
    """Why :func:`make_optimizer` cannot build ``name`` here, or ``None`` if it can."""
    if name not in OPTIMIZERS:
        return f"unknown optimizer {name!r}"
    try:
        _REQUIREMENTS[name]()
    except OptimizerUnavailableError as error:
        return str(error)
    return None
