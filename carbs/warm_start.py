"""Starting a new sweep from an earlier sweep's saved state (see :meth:`CARBS.warm_start`).

Everything here is pure: :func:`plan_warm_start` reads the prior state and
returns what to add and where to centre; the optimizer applies the plan.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import attrs

from carbs.checks import check_optional_mapping
from carbs.errors import CARBSValueError, InvalidParamError, StateError
from carbs.observations import ObservationInBasic, ObservationInParam
from carbs.pareto import ranked_successes
from carbs.spaces import SUGGESTION_ID_DICT_KEY, SearchSpace
from carbs.spaces.base import same_value
from carbs.state import CARBSState
from carbs.stopping import ReportedCurve

logger = logging.getLogger(__name__)


@attrs.frozen
class WarmStartPlan:
    """What a warm start does to the new optimizer.

    Attributes:
        observations: Prior observations to add, mapped onto the new params
            (empty unless prior observations are valid).
        center: Param values to move the search centre to, by name; applied
            after the observations are added.
        curves: The intermediate reports of the prior runs in ``observations``, by
            suggestion id, so that early stopping learns from them at once.
    """

    observations: list[ObservationInParam]
    center: dict[str, float]
    curves: dict[str, ReportedCurve] = attrs.Factory(dict)


def plan_warm_start(
    prior: CARBSState,
    space: SearchSpace,
    is_prior_observation_valid: bool,
    added_parameters: Mapping[str, Any] | None,
    source: str,
    better_direction_sign: int,
) -> WarmStartPlan:
    """Map a prior sweep onto ``space`` (see :meth:`CARBS.warm_start` for the rules).

    Warnings say which prior observations were skipped and why.

    Raises:
        StateError: the prior sweep tuned params that ``space`` does not, or its
            observations are to be added but it ranked outputs the other way
            (``better_direction_sign`` is this sweep's).
        InvalidParamError: ``added_parameters`` is inconsistent with the two sweeps.
    """
    check_optional_mapping(added_parameters, "added_parameters", InvalidParamError)
    added = dict(added_parameters or {})
    prior_space = SearchSpace(prior.params)
    _check_params(space, prior_space, added)
    if not is_prior_observation_valid:
        # The centre is the prior's best run by the prior's own direction, whatever ours.
        return WarmStartPlan([], {**_best_prior_values(prior, prior_space, space), **added})
    prior_sign = prior.config.better_direction_sign
    if prior_sign != better_direction_sign:
        raise StateError(
            f"the prior sweep {source} has better_direction_sign={prior_sign} and this one "
            f"{better_direction_sign}: its outputs rank the other way, so its worst runs would "
            "count as this sweep's best; warm start with is_prior_observation_valid=False "
            "(only the centre moves, to the prior's best run), or give both the same direction"
        )

    # A param the prior sweep held fixed has its constant in every prior observation.
    known = set(prior_space.names) | set(prior_space.fixed) | set(added)
    missing = [n for n in space.names if n not in known]
    if missing:
        if prior.observations:
            _warn(
                f"warm_start: skipped all {len(prior.observations)} prior observations because "
                f"they lack param(s) {missing}; pass added_parameters with a value for each"
            )
        return WarmStartPlan([], added)
    if not prior.observations:
        _warn(f"warm_start: the prior state {source} holds no observations")
    converted: list[ObservationInParam] = []
    curves: dict[str, ReportedCurve] = {}
    illegal: list[str] = []
    for observation in prior.observations:
        values = {**_values(observation, prior_space, space), **added}
        try:
            space.validate_param_dict(values, what="prior observation")
        except CARBSValueError as error:
            illegal.append(str(error))
            continue
        if observation.suggestion_id is not None:
            values[SUGGESTION_ID_DICT_KEY] = observation.suggestion_id
            curve = prior.curves.get(observation.suggestion_id)
            if curve is not None and curve.costs:
                curves[observation.suggestion_id] = curve
        converted.append(
            ObservationInParam(
                input=values,
                output=observation.output,
                cost=observation.cost,
                is_failure=observation.is_failure,
                is_stopped=observation.is_stopped,
                projected_output=(observation.projected_output if observation.is_stopped else None),
            )
        )
    if illegal:
        _warn(
            f"warm_start: skipped {len(illegal)} prior observation(s) that the new params "
            f"do not allow (outside the new bounds, or off a new integer lattice or list); "
            f"first: {illegal[0]}"
        )
    logger.info("warm_start: adding %d prior observation(s) from %s", len(converted), source)
    return WarmStartPlan(converted, added, curves)


def _values(
    observation: ObservationInBasic, prior_space: SearchSpace, space: SearchSpace | None = None
) -> dict[str, Any]:
    """A prior observation's params; with ``space``, only the params ``space`` has (a prior
    sweep's fixed params that the new one lacks were constants, and are dropped)."""
    values = prior_space.param_dict_from_basic(observation.real_number_input)
    if space is None:
        return values
    names = {p.name for p in space.params}
    return {name: value for name, value in values.items() if name in names}


def _check_params(space: SearchSpace, prior_space: SearchSpace, added: Mapping[str, Any]) -> None:
    unknown = [name for name in added if name not in space.names]
    if unknown:
        raise InvalidParamError(
            f"added_parameters {unknown} are not params of this optimizer {list(space.names)}"
        )
    overlap = [name for name in added if name in prior_space.names]
    if overlap:
        raise InvalidParamError(
            f"added_parameters {overlap} were already tuned by the prior sweep; "
            "its observations hold their values"
        )
    held = {
        name: value
        for name, value in prior_space.fixed.items()
        if name in added and not same_value(value, added[name])
    }
    if held:  # the prior runs were run at these values, and are recorded at them
        raise InvalidParamError(
            f"added_parameters would record the prior runs at other values than the ones "
            f"the prior sweep held fixed, {held}; leave those params out of added_parameters"
        )
    names = {param.name for param in space.params}  # a param fixed now keeps matching runs
    dropped = [name for name in prior_space.names if name not in names]
    if dropped:
        raise StateError(
            f"the prior sweep tuned {dropped}, which this optimizer does not; "
            "its observations cannot be mapped onto the current params"
        )
    for name, value in added.items():
        try:
            space.spaces[space.names.index(name)].check_value(value, f"added_parameters[{name!r}]")
        except CARBSValueError as error:
            raise InvalidParamError(str(error)) from None


def _best_prior_values(
    prior: CARBSState, prior_space: SearchSpace, space: SearchSpace
) -> dict[str, float]:
    """The shared params' values of the best prior success whose values are in bounds."""
    shared = [name for name in prior_space.names if name in space.names]
    for observation in ranked_successes(prior.observations, prior.config.better_direction_sign):
        values = _values(observation, prior_space)
        if all(_is_legal(space, name, values[name]) for name in shared):
            return {name: values[name] for name in shared}
    _warn("warm_start: no prior success lies inside the new bounds; search centre unchanged")
    return {}


def _is_legal(space: SearchSpace, name: str, value: Any) -> bool:
    try:
        space.spaces[space.names.index(name)].check_value(value, name)
    except CARBSValueError:
        return False
    return True


def _warn(message: str) -> None:
    logger.warning(message)
    warnings.warn(message, UserWarning, stacklevel=4)


def with_fresh_prior_ids(
    recorded: Sequence[ObservationInBasic],
    running: Collection[str],
    prior: Sequence[ObservationInBasic],
    curves: Mapping[str, ReportedCurve],
) -> tuple[list[ObservationInBasic], dict[str, ReportedCurve]]:
    """An earlier sweep's runs and curves, with a fresh id (and a warning) for each run
    whose id a run of this sweep already holds: it would take over that run.

    A prior id collides when a running suggestion has it, or a recorded run with a
    different result; it becomes ``prior:<id>`` (``prior:<id>:2`` and so on while
    taken). A prior run recorded before under the same id or fresh id, with the
    same result, keeps that id, so that warming up from one file twice adds nothing.

    Args:
        recorded: This sweep's observations.
        running: Its outstanding suggestion ids.
        prior: The earlier sweep's runs, checked and in basic space.
        curves: Their reported curves, by id.
    """
    by_id = {o.suggestion_id: o for o in recorded if o.suggestion_id}
    taken = set(by_id) | set(running) | {o.suggestion_id for o in prior if o.suggestion_id}
    renamed: dict[str, str] = {}
    for observation in prior:
        key = observation.suggestion_id
        if not key or key in renamed:
            continue
        previous = by_id.get(key)
        if key not in running and (previous is None or previous.has_same_result(observation)):
            continue
        fresh, count = f"prior:{key}", 1
        while fresh in taken and not (fresh in by_id and by_id[fresh].has_same_result(observation)):
            count += 1
            fresh = f"prior:{key}:{count}"
        taken.add(fresh)
        renamed[key] = fresh
    if not renamed:
        return list(prior), dict(curves)
    old_id, new_id = next(iter(renamed.items()))
    _warn(
        f"warm_start: {len(renamed)} prior run id(s) are in use in this sweep; recorded "
        f"under fresh ids (first: {old_id!r} as {new_id!r})"
    )
    runs = [
        attrs.evolve(o, suggestion_id=renamed[o.suggestion_id]) if o.suggestion_id in renamed else o
        for o in prior
    ]
    return runs, {renamed.get(key, key): curve for key, curve in curves.items()}
