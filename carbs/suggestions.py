"""How each suggestion is chosen: warm-up draws and the Bayesian choice (resamples:
:mod:`carbs.resampling`).

The functions here take the optimizer's data explicitly and return new values;
:class:`~carbs.CARBS` decides which one to call and records the result.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs
import torch
from torch import Tensor

from carbs.acquisition import (
    CandidateScores,
    improvement_target,
    log_expected_improvement,
    score_candidates,
)
from carbs.candidates import CandidateSampler, Stretch
from carbs.config import CARBSParams
from carbs.coverage import search_origins
from carbs.observations import ObservationInBasic
from carbs.pareto import (
    ObservationGroup,
    input_key,
)
from carbs.surrogate.fitting import Hyperparameters
from carbs.surrogate.gp import FIT_NUMERICAL_ERRORS, ExactRegressionGP, GPFitError
from carbs.surrogate.model import SurrogateModel, SurrogatePredictions

NUMERICAL_ERRORS: tuple[type[Exception], ...] = (GPFitError, *FIT_NUMERICAL_ERRORS)
"""Failures of a GP fit or solve that make a suggestion fall back to sampling around the
front. Anything else (a shape error, a bug) propagates."""


@attrs.frozen
class Choice:
    """A chosen point and how it was chosen.

    Attributes:
        point: Basic space, shape ``(d,)``.
        log: Diagnostics for ``SuggestOutput.log``.
        oversample_factor: The candidate sampler's factor for the next call.
    """

    point: Tensor
    log: dict[str, Any]
    oversample_factor: int


def sample_around(
    sampler: CandidateSampler,
    origins: Tensor,
    generator: torch.Generator,
    oversample_factor: int,
    suggestion_type: str,
    taken: Sequence[Tensor] = (),
) -> Choice:
    """One legal Gaussian draw around ``origins`` ``(k, d)`` (warm-up and fallback).

    A draw onto one of the ``taken`` inputs (each ``(d,)``: runs observed or pending) is
    drawn again, up to :data:`MAX_REDRAWS` times: in a space of few legal points (choices,
    listed values) the warm-up otherwise sends several workers to one point.
    """
    taken_keys = {input_key(point) for point in taken}
    for _ in range(MAX_REDRAWS + 1):
        candidates = sampler.sample(origins, 1, generator, oversample_factor=oversample_factor)
        if candidates.points.shape[0] == 0:
            raise RuntimeError(
                "carbs could not draw a point inside the bounds around the search origins; "
                "check that min/max leave room around each search_center"
            )
        oversample_factor = candidates.oversample_factor
        if input_key(candidates.points[0]) not in taken_keys:
            break
    return Choice(candidates.points[0], {"suggestion_type": suggestion_type}, oversample_factor)


MAX_REDRAWS = 32


def fit_surrogate(
    config: CARBSParams,
    successes: Sequence[ObservationInBasic],
    failures: Sequence[ObservationInBasic],
    front: Sequence[ObservationGroup],
    generator: torch.Generator,
    warm_start: Hyperparameters | None,
    model_cache: dict[str, ExactRegressionGP] | None,
    categorical: Sequence[int] = (),
    stopped: Sequence[ObservationInBasic] = (),
) -> SurrogateModel:
    """Fit every surrogate on the data (needs at least one success); ``categorical`` lists
    the basic-space columns that hold a categorical param's choice, ``stopped`` the runs
    stopped early (see :meth:`SurrogateModel.fit`)."""
    model = SurrogateModel(
        better_direction_sign=config.better_direction_sign,
        lengthscale=config.initial_search_radius,
        generator=generator,
        warm_start=warm_start,
        num_hyperparameter_samples=(
            config.num_fully_bayesian_samples if config.is_fully_bayesian else 1
        ),
        model_cache=model_cache,
        categorical=categorical,
        is_failure_imputed=config.is_failure_output_imputed,
    )
    model.fit(successes, failures, front, stopped)
    return model


def threshold_cost(
    config: CARBSParams,
    front: Sequence[ObservationGroup],
    generator: torch.Generator,
    low_cost: float | None = None,
    high_cost: float | None = None,
) -> float:
    """A budget drawn log-uniformly from the front's cheapest member (or ``low_cost``, if
    lower) up to its dearest member (or ``high_cost``, if higher), capped at
    ``max_suggestion_cost``. The draw never leaves that range, even by rounding: a
    budget a hair below the cheapest member would count as one below the front."""
    cheapest, dearest = front[0].mean_cost, front[-1].mean_cost
    low = cheapest if low_cost is None else min(low_cost, cheapest)
    high = dearest if high_cost is None else max(high_cost, dearest)
    if config.max_suggestion_cost is not None:
        high = min(high, config.max_suggestion_cost)
    high = max(high, low)
    log_low, log_high = math.log(low), math.log(high)
    u = float(torch.rand((), generator=generator, dtype=torch.float64))
    return min(max(math.exp(log_low + u * (log_high - log_low)), low), high)


def budget_terms(
    model: SurrogateModel,
    front: Sequence[ObservationGroup],
    predictions: SurrogatePredictions,
    budget: float,
    plane_log_cost: Tensor | None = None,
    *,
    reference: float | None = None,
    exploration_bias: float = 0.0,
) -> tuple[Tensor, Tensor | None]:
    """What each candidate must beat at one budget ``B`` (see :func:`threshold_cost`).

    Where the front covers ``B`` the rule is the established release's: a
    candidate must beat the front's value at ``max(c, B)`` (the Pareto GP, read
    inside the front), so a cheap candidate must match a dearer member and a
    dear one improves the front at its own cost. Below the front no run is
    known, so at such a budget every success that costs at most ``B`` extends
    the front; the candidates predicted dearer get ``-inf``. Among the others,
    with a ``reference`` (surrogate space: the worst successful output, the
    reference point of the front's hypervolume) each is scored by its expected
    improvement over ``reference + exploration_bias``, so that a cheap run the
    model expects to be good beats one it expects to be as bad as the worst run;
    without one (``None``, the rule before format 8) their improvement term is 0
    and the prior density and the success probability choose among them. If no
    candidate is predicted that cheap, the term is minus the log-cost shortfall,
    so the cheapest candidates are preferred; the shortfall is then measured by
    the cost plane (``plane_log_cost``, the candidates' log costs on it) where
    there is one: away from its data the cost GP reverts to the data's mean, so
    its cheapest candidate is the one nearest the data, and the front would
    never move down.

    Returns:
        The targets (surrogate units: the reference below the front, ``-inf`` where
        nothing is compared) and, for a budget below the front, the log-improvement
        term that replaces EI.
    """
    if budget < front[0].mean_cost:
        nothing = torch.full_like(predictions.pareto_surrogate, -math.inf)
        shortfall = torch.log(predictions.cost / budget).clamp_min(0.0)
        if bool((shortfall > 0).all()):
            if plane_log_cost is not None:
                shortfall = (plane_log_cost - math.log(budget)).clamp_min(0.0)
            return nothing, -shortfall
        within = shortfall <= 0
        if reference is None:
            return nothing, torch.where(within, 0.0, -math.inf).to(torch.float64)
        log_ei = log_expected_improvement(
            predictions.surrogate_mean, predictions.surrogate_std, reference + exploration_bias
        )
        return torch.full_like(nothing, reference), torch.where(within, log_ei, -math.inf)
    floor = model.pareto_surrogate_at_cost(budget)
    return improvement_target(predictions.pareto_surrogate, floor=floor), None


def acquisition_terms(
    config: CARBSParams,
    model: SurrogateModel,
    front: Sequence[ObservationGroup],
    predictions: SurrogatePredictions,
    generator: torch.Generator,
    floor_cost: float | None,
    plane_log_cost: Tensor | None = None,
    ceiling_cost: float | None = None,
) -> tuple[Tensor, Tensor | None]:
    """Targets (and, at a budget below the front, the improvement term) in the config's mode.

    ``floor_cost`` is the cheapest legal cost (``None`` under the release's rule,
    whose budgets never go below the front); ``ceiling_cost`` the dearest cost a
    budget may reach above the front (``None``: the front's dearest member);
    ``plane_log_cost`` the candidates' log costs on the cost plane, if there is
    one (see :func:`budget_terms`).
    """
    if config.is_expected_improvement_value_always_max:
        best = model.output_to_surrogate(front[-1].mean_output)
        return improvement_target(predictions.pareto_surrogate, constant=best), None
    if not config.is_expected_improvement_pareto_value_clamped:
        return improvement_target(predictions.pareto_surrogate), None
    budget = threshold_cost(config, front, generator, floor_cost, ceiling_cost)
    reference = model.worst_success_surrogate if config.is_below_front_scored else None
    return budget_terms(
        model,
        front,
        predictions,
        budget,
        plane_log_cost,
        reference=reference,
        exploration_bias=config.exploration_bias,
    )


def bayesian_choice(
    config: CARBSParams,
    sampler: CandidateSampler,
    front: Sequence[ObservationGroup],
    model: SurrogateModel,
    generator: torch.Generator,
    oversample_factor: int,
    successes: Sequence[ObservationInBasic] = (),
    pending: Sequence[Tensor] = (),
) -> Choice:
    """Draw candidates around the search origins and pick the best-scoring one that is not
    already running (one of ``pending``, each ``(d,)``) while another candidate is.

    Raises:
        RuntimeError: no candidate could be drawn inside the bounds.
        One of :data:`NUMERICAL_ERRORS`: a GP solve failed.
    """
    search = search_origins(config, sampler.search_space, front, successes, model)
    origins = search.points
    stretch = None
    if config.cost_direction_radius_factor != 1.0:
        stretch = Stretch(model.log_cost_directions(origins), config.cost_direction_radius_factor)
    candidates = sampler.sample(
        origins,
        config.num_candidates_for_suggestion_per_dim * sampler.search_space.dim,
        generator,
        stretch,
        oversample_factor,
    )
    if candidates.points.shape[0] == 0:
        raise RuntimeError("no candidate inside the bounds")
    predictions = model.predict(candidates.points)
    plane_log_cost = None if search.plane is None else search.plane.log_cost(candidates.points)
    target, log_improvement = acquisition_terms(
        config,
        model,
        front,
        predictions,
        generator,
        search.floor_cost,
        plane_log_cost,
        search.ceiling_cost,
    )
    scores = score_candidates(
        log_improvement=log_improvement,
        surrogate_mean=predictions.surrogate_mean,
        surrogate_std=predictions.surrogate_std,
        target=target,
        exploration_bias=config.exploration_bias,
        log_prior_density=candidates.log_prior_density,
        success_probability=predictions.success_probability,
        predicted_cost=predictions.cost,
        max_cost=config.max_suggestion_cost,
    )
    best = _not_running(scores, candidates.points, pending)
    log: dict[str, Any] = {"suggestion_type": "bayesian"}
    if best is None and config.max_suggestion_cost is not None:
        log["warning"] = (
            f"no candidate is predicted below max_suggestion_cost={config.max_suggestion_cost}; "
            "suggesting the one most likely to cost less"
        )
        below = model.log_probability_below_cost(candidates.points, config.max_suggestion_cost)
        best = int(torch.argmax(below))
    elif best is None:  # every score overflowed (an exploration_bias of 1e200, say)
        log["warning"] = (
            f"no candidate has a finite score (exploration_bias={config.exploration_bias:g}); "
            "suggesting the one the search distribution favours most"
        )
        best = int(torch.argmax(candidates.log_prior_density))
    log.update(_bayesian_log(predictions, scores, best, candidates.points.shape[0]))
    return Choice(candidates.points[best], log, candidates.oversample_factor)


def _not_running(scores: CandidateScores, points: Tensor, pending: Sequence[Tensor]) -> int | None:
    """The best-scoring candidate that is not a pending run's point, if one scores.

    The pending runs' fantasies lower the score around them, but in a space of few
    legal points (choices, listed values) rounding puts many candidates onto a
    pending point, and several workers were sent to one run.
    """
    best = scores.best_index()
    if best is None or not pending:
        return best
    running = {input_key(point) for point in pending}
    if input_key(points[best]) not in running:
        return best
    is_running = torch.tensor([input_key(point) in running for point in points])
    total = torch.where(is_running, -math.inf, scores.total)
    if not bool(torch.isfinite(total).any()):
        return best  # every affordable candidate is running: repeat the best
    return int(torch.argmax(total))


def _bayesian_log(
    predictions: SurrogatePredictions, scores: CandidateScores, best: int, count: int
) -> dict[str, Any]:
    log_ei = scores.log_expected_improvement[best]
    log: dict[str, Any] = {
        "predicted_output": float(predictions.output_mean[best]),
        "predicted_output_std": float(predictions.output_std[best]),
        "predicted_cost": float(predictions.cost[best]),
        "success_probability": float(predictions.success_probability[best]),
        "log_expected_improvement": float(log_ei),
        "expected_improvement": float(torch.exp(log_ei)),  # inf, not OverflowError
        "surrogate_output": float(predictions.surrogate_mean[best]),
        "surrogate_var": float(predictions.surrogate_std[best] ** 2),
        "pareto_surrogate": float(predictions.pareto_surrogate[best]),
        "improvement_target": float(scores.improvement_target[best]),
        "log_prior_density": float(scores.log_prior_density[best]),
        "acquisition_log_score": float(scores.total[best]),
        "num_candidates": count,
    }
    # Names used by the original release, kept for dashboards built on them.
    log["cost_estimate"] = log["predicted_cost"]
    log["target_estimate"] = log["predicted_output"]
    log["target_var"] = float(predictions.output_std[best] ** 2)  # may overflow to inf
    return log
