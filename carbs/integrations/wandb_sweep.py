"""A Weights & Biases sweep whose agents are steered by CARBS (the ``wandb`` extra).

W&B's sweep controller hands each agent a config; :func:`steer` replaces it
with a CARBS suggestion at the start of the run. The sweep's runs, read through
W&B's public API (``wandb.Api().sweep(path).runs``), are the only state:

- a ``finished`` run is an observation (the sweep config's ``metric``, and
  its cost from ``cost_metric`` in the run's summary, by default ``_runtime``;
  without it the run is left out);
- a ``crashed`` or ``failed`` run is a failure, charged its ``cost_metric`` if
  logged, else its runtime;
- a ``killed`` run (stopped by hand, or by cancelling the sweep) and a
  ``preempted`` one are left out: why they ended says nothing about their params;
- a ``running`` run whose heartbeat is younger than ``stale_after_s`` (or cannot
  be read) is an outstanding suggestion (a fantasy); one with an older heartbeat
  crashed without saying so, and is a failure.

So agents on any number of machines, started and stopped at any time, share
one sweep. In the training script::

    run = wandb.init()
    params = steer(run)                # a dict of the sweep's params, chosen by CARBS
    ...                                # train with params; log the metric and the cost

Create the sweep with W&B's usual config (``method: random``; W&B's own draws
are replaced) and run agents as usual (``wandb agent SWEEP_ID``).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

from carbs.checks import check_name, check_number, check_optional_mapping
from carbs.config import CARBSParams
from carbs.errors import (
    InvalidConfigError,
    InvalidObservationError,
    InvalidParamError,
    InvalidSpaceError,
)
from carbs.integrations.bounded import bounded_param, choice_param, multiples_of_step
from carbs.integrations.engine import direction_sign, engine_config, is_number, run_seed
from carbs.observations import ObservationInParam
from carbs.optimizer import CARBS
from carbs.spaces import SUGGESTION_ID_DICT_KEY, FixedSpace, Param

logger = logging.getLogger(__name__)

FAILED_STATES = ("crashed", "failed")
_LOG = ("log_uniform_values", "q_log_uniform_values")
# The W&B distributions of a min/max range that carbs models (None: W&B infers uniform
# or int_uniform from the bounds). normal, log_uniform (bounds in log space), beta and
# inv_log_uniform_values would need other spaces.
_RANGES = (None, "uniform", "int_uniform", "q_uniform", *_LOG)


def params_from_sweep_config(
    sweep_config: Mapping[str, Any], search_center: Mapping[str, Any] | None = None
) -> list[Param]:
    """carbs params for the ``parameters`` of a W&B sweep config.

    ``values`` (a list) is a categorical, ``value`` a constant, ``min``/``max`` a
    range: ``log_uniform_values`` on a log scale, ``q_log_uniform_values`` on
    the multiples of a whole ``q`` (1 by default) on a log scale (a fractional
    ``q`` is dropped), ``int_uniform`` (or integer bounds) on integers,
    ``q_uniform`` on the multiples of ``q`` (1 by default) inside ``[min, max]``.
    Nested parameters and the ``normal``/``log_uniform`` (bounds in log space)
    distributions are refused with a clear error.

    Raises:
        InvalidParamError: a parameter carbs cannot model, or a centre for an unknown name.
    """
    parameters = sweep_config.get("parameters")
    if not isinstance(parameters, Mapping) or not parameters:
        raise InvalidParamError("the sweep config has no 'parameters'")
    centers = dict(search_center or {})
    unknown = sorted(set(centers) - set(parameters), key=repr)
    if unknown:
        raise InvalidParamError(f"search_center names {unknown}, not in the sweep's parameters")
    return [_param(name, spec, centers.get(name)) for name, spec in parameters.items()]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _param(name: str, spec: Any, center: Any) -> Param:
    if not isinstance(spec, Mapping):
        raise InvalidParamError(f"sweep parameter {name!r} must be an object")
    if "parameters" in spec:
        raise InvalidParamError(f"sweep parameter {name!r}: nested parameters are not supported")
    if "value" in spec:
        return Param(name, FixedSpace(), spec["value"])
    if "values" in spec:
        return choice_param(name, spec["values"], center)
    distribution = spec.get("distribution")
    low, high = spec.get("min"), spec.get("max")
    if low is None or high is None or distribution not in _RANGES:
        raise InvalidParamError(
            f"sweep parameter {name!r}: give values, value, or min and max with a uniform, "
            "int_uniform, q_uniform, log_uniform_values or q_log_uniform_values distribution "
            f"(got {dict(spec)})"
        )
    if distribution == "int_uniform" and not all(_is_int(end) for end in (low, high)):
        # W&B's schema takes only integer bounds here; carbs would search the integers
        # between 1.5 and 10.5 while W&B refuses the sweep.
        raise InvalidSpaceError(
            f"sweep parameter {name!r}: int_uniform needs integer min and max, "
            f"got {low!r} and {high!r}"
        )
    is_integer = distribution == "int_uniform" or (
        distribution is None and _is_int(low) and _is_int(high)
    )
    step = None
    if distribution == "q_uniform":
        # W&B draws round(X / q) * q, with q 1 unless given: the multiples of q. carbs
        # searches those inside [min, max] (W&B's own draws may round just past an end).
        step = spec.get("q", 1)
        low, high = multiples_of_step(name, low, high, step)
    if distribution == "q_log_uniform_values":
        # W&B draws round(X / q) * q: with a whole q (1 by default), multiples of q.
        step = spec.get("q", 1)
        check_number(
            step, f"param {name!r}: the step", InvalidSpaceError, min_value=0.0, exclusive_min=True
        )
        if float(step).is_integer():
            is_integer, step = True, int(step)
        else:
            step = None  # a fractional q: searched as a continuous log range
    return bounded_param(
        name,
        low,
        high,
        log=distribution in _LOG,
        is_integer=is_integer,
        step=step,
        search_center=center,
    )


@attrs.define
class SweepRun:
    """What the steering reads of one W&B run (built from ``wandb.apis.public.Run``)."""

    id: str
    state: str
    config: dict[str, Any]
    summary: dict[str, Any]
    heartbeat: float | None  # seconds since the epoch, if known

    @classmethod
    def from_wandb(cls, run: Any) -> SweepRun:
        heartbeat = getattr(run, "heartbeatAt", None)
        return cls(
            id=str(run.id),
            state=str(run.state),
            config=dict(run.config),
            summary=dict(run.summary),
            heartbeat=_timestamp(heartbeat),
        )


class SweepSteering:
    """Builds a CARBS optimizer from a W&B sweep's runs and suggests the next run's params.

    Args:
        sweep_path: ``"entity/project/sweep_id"``.
        cost_metric: The summary key holding a run's cost (``_runtime``: seconds).
        config: CARBS settings (``better_direction_sign`` comes from the sweep's
            metric goal; autosave and W&B logging off).
        seed: Overrides ``config.seed``; each run's draws come from it and the run's id.
        search_center: Where the search starts, by param name.
        stale_after_s: A running run whose last heartbeat is older crashed silently.
        api: The W&B API object (``wandb.Api()`` by default).
    """

    def __init__(
        self,
        sweep_path: str,
        *,
        cost_metric: str = "_runtime",
        config: CARBSParams | None = None,
        seed: int | None = None,
        search_center: Mapping[str, Any] | None = None,
        stale_after_s: float = 600.0,
        api: Any = None,
    ) -> None:
        config = engine_config(config, seed, "the sweep's W&B runs")
        stale_after_s = check_number(
            stale_after_s, "stale_after_s", InvalidConfigError, min_value=0.0, exclusive_min=True
        )
        cost_metric = check_name(cost_metric, "cost_metric", InvalidConfigError)
        check_optional_mapping(search_center, "search_center", InvalidConfigError)
        if api is None:
            import wandb

            api = wandb.Api()
        self._sweep = api.sweep(sweep_path)
        self._config = config
        self._cost_metric = cost_metric
        self._search_center = search_center
        self._stale_after_s = stale_after_s

    def optimizer(self, exclude: str | None = None, now: float | None = None) -> CARBS:
        """A CARBS optimizer holding every run of the sweep but ``exclude``."""
        sweep_config = dict(self._sweep.config)
        metric = sweep_config.get("metric") or {}
        name = metric.get("name") if isinstance(metric, Mapping) else None
        if not (isinstance(name, str) and name):  # else every run read as a failure
            raise InvalidConfigError(
                f"the sweep config needs a metric: {{name: ..., goal: ...}}, got {metric!r}"
            )
        sign = direction_sign(metric.get("goal", "minimize"), "the sweep config's metric.goal")
        params = params_from_sweep_config(sweep_config, self._search_center)
        optimizer = CARBS(attrs.evolve(self._config, better_direction_sign=sign), params)
        now = time.time() if now is None else now
        # One listing per id, the last (W&B can list a run twice while it updates).
        latest = {run.id: run for run in map(SweepRun.from_wandb, self._sweep.runs)}
        observations = []
        for run in sorted(latest.values(), key=lambda r: r.id):
            if run.id == exclude:
                continue
            values = {p.name: run.config[p.name] for p in params if p.name in run.config}
            if len(values) < len(params):
                continue  # a run from before the steering, or with other params
            values[SUGGESTION_ID_DICT_KEY] = run.id
            try:
                optimizer.search_space.validate_param_dict(values)
            except InvalidObservationError as error:
                logger.warning("run %s is left out: %s", run.id, error)
                continue
            # An unreadable heartbeat says nothing of a crash: the run counts as running.
            fresh = run.heartbeat is None or now - run.heartbeat < self._stale_after_s
            if run.state == "running" and fresh:
                optimizer.add_outstanding_suggestion(values)
                continue
            if run.state not in ("finished", "running", *FAILED_STATES):
                continue
            observation = self._observation(run, values, metric["name"])
            if observation is not None:
                observations.append(observation)
        optimizer.observe_many(observations)
        return optimizer

    def suggest(self, run_id: str) -> dict[str, Any]:
        """The params CARBS chooses for the run ``run_id`` (it sees every other run)."""
        optimizer = self.optimizer(exclude=run_id)
        optimizer.reseed(run_seed(self._config.seed, run_id))
        return optimizer.suggest(is_suggestion_remembered=False).params

    def _observation(
        self, run: SweepRun, values: dict[str, Any], metric: str
    ) -> ObservationInParam | None:
        cost: Any = run.summary.get(self._cost_metric)
        if cost is None and run.state != "finished":  # a crash: charged the time it ran
            cost = run.summary.get("_runtime")
        if not is_number(cost) or cost <= 0:
            logger.warning(
                "run %s has no %r > 0 in its summary; left out", run.id, self._cost_metric
            )
            return None
        output: Any = run.summary.get(metric)
        failed = run.state != "finished" or not is_number(output)
        return ObservationInParam(
            values, math.nan if failed else float(output), float(cost), is_failure=failed
        )


def steer(run: Any = None, *, sweep_path: str | None = None, **steering: Any) -> dict[str, Any]:
    """Replace a sweep run's config with the params CARBS chooses; return them.

    Args:
        run: The ``wandb.Run`` of this agent (``wandb.run`` by default).
        sweep_path: ``entity/project/sweep_id`` (by default the run's own sweep).
        steering: :class:`SweepSteering` options (``cost_metric``, ``config``, ...).
    """
    if run is None:
        import wandb

        run = wandb.run
    if run is None:
        raise InvalidConfigError("call wandb.init() (inside a sweep agent) before steer()")
    if sweep_path is None:
        sweep_id = getattr(run, "sweep_id", None)
        if not sweep_id:
            raise InvalidConfigError("this run is not part of a sweep; pass sweep_path")
        sweep_path = f"{run.entity}/{run.project}/{sweep_id}"
    params = SweepSteering(sweep_path, **steering).suggest(run.id)
    run.config.update(params, allow_val_change=True)
    return params


def _timestamp(value: Any) -> float | None:
    if is_number(value):  # not a bool, nor an int past the float range
        return float(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:  # W&B writes UTC without a zone
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    return None


__all__: Sequence[str] = ["SweepRun", "SweepSteering", "params_from_sweep_config", "steer"]
