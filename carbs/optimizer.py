"""The :class:`CARBS` optimizer: orchestration of spaces, Pareto front, surrogates and acquisition.

No maths lives here; see :mod:`carbs.pareto`, :mod:`carbs.candidates`,
:mod:`carbs.surrogate` and :mod:`carbs.acquisition`.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import uuid
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from carbs.acquisition import log_acquisition, log_expected_improvement
from carbs.analysis import (
    ObservationRecord,
    ParetoMember,
    Predictions,
    observation_records,
    observations_dataframe,
    pareto_members,
    points_to_basic,
    predict_with,
)
from carbs.candidates import CandidateSampler, Stretch
from carbs.config import CARBSParams
from carbs.errors import (
    InsufficientDataError,
    InvalidConfigError,
    InvalidObservationError,
    InvalidParamError,
)
from carbs.observations import (
    ObservationInBasic,
    ObservationInParam,
    ObserveOutput,
    SuggestionInBasic,
    SuggestOutput,
)
from carbs.pareto import (
    ObservationGroup,
    front_inputs,
    group_observations,
    input_key,
    pareto_area,
    pareto_groups,
    relative_noise,
)
from carbs.scaling import (
    DEFAULT_CONFIDENCE,
    DEFAULT_MAX_EXTRAPOLATION,
    DEFAULT_MIN_POINTS,
    DEFAULT_MIN_R_SQUARED,
    CostSuggestion,
    ScalingLaw,
    fit_scaling_laws,
    suggest_at_cost,
)
from carbs.spaces import SUGGESTION_ID_DICT_KEY, Param, SearchSpace
from carbs.state import (
    STATE_FILE_NAME,
    CARBSState,
    PathLike,
    capture_state,
    check_params_match,
    dumps,
    loads,
    read_state,
    restore_state,
    write_atomic,
)
from carbs.state import warm_start as warm_start_from_state
from carbs.surrogate.gp import ExactRegressionGP, GPFitError
from carbs.surrogate.model import Hyperparameters, SurrogateModel

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)


class CARBS:
    """Cost-aware Pareto-region Bayesian search: an ask/tell hyperparameter optimizer.

    Call :meth:`suggest` for params to train with, then :meth:`observe` with
    the metric and the run's cost. Until ``num_random_samples`` runs have
    succeeded, suggestions are Gaussian draws around the search centre; after
    that each suggestion maximises cost-aware expected improvement near the
    performance-cost Pareto front. All public methods are thread-safe.

    Args:
        config: Optimizer settings.
        params: The hyperparameters to tune, each with its space and search centre.

    Example:
        >>> from carbs import CARBS, CARBSParams, Param, LogSpace, ObservationInParam
        >>> carbs = CARBS(CARBSParams(better_direction_sign=-1),
        ...               [Param("lr", LogSpace(scale=0.5), search_center=1e-3)])
        >>> suggestion = carbs.suggest().suggestion
        >>> logs = carbs.observe(ObservationInParam(input=suggestion, output=0.5, cost=10.0))
    """

    def __init__(self, config: CARBSParams, params: Sequence[Param]) -> None:
        if not isinstance(config, CARBSParams):
            raise InvalidConfigError(f"config must be CARBSParams, got {type(config).__name__}")
        if isinstance(params, Param) or not isinstance(params, Sequence):
            raise InvalidParamError("params must be a list of Param")
        self.config = config
        self.params: list[Param] = list(params)
        self.search_space = SearchSpace(self.params)
        self.search_center_in_basic: Tensor = self.search_space.search_center_in_basic()
        self.success_observations: list[ObservationInBasic] = []
        self.failure_observations: list[ObservationInBasic] = []
        self.outstanding_suggestions: dict[str, SuggestionInBasic] = {}
        self.resample_count = 0
        self.observation_times: list[float] = []
        # Whether each observation, in recording order, failed: merges the two lists back.
        self.observation_is_failure: list[bool] = []
        self._generator = torch.Generator().manual_seed(config.seed)
        bounded_dims = sum(
            math.isfinite(s.min) or math.isfinite(s.max) for s in self.search_space.spaces
        )
        self._sampler = CandidateSampler(
            self.search_space,
            radius=config.initial_search_radius,
            oversample_factor=2 ** min(bounded_dims // 2, 6),
        )
        self._hyperparameters: Hyperparameters = {}
        # Fitted GPs reused by the next suggest; derived from _hyperparameters, never saved.
        self._model_cache: dict[str, ExactRegressionGP] = {}
        self._lock = threading.RLock()
        self._wandb: Any = None
        if config.is_wandb_logging_enabled:
            from carbs.integrations.wandb import WandbLogger

            self._wandb = WandbLogger(config, self.params)

    # -- public API ---------------------------------------------------------------------------
    @property
    def real_dim(self) -> int:
        """Number of tuned params."""
        return self.search_space.dim

    @property
    def observation_count(self) -> int:
        """Successful plus failed observations."""
        return len(self.success_observations) + len(self.failure_observations)

    @property
    def cumulative_cost(self) -> float:
        """Total cost of the successful observations."""
        return float(sum(o.cost for o in self.success_observations))

    def suggest(
        self, suggestion_id: str | None = None, is_suggestion_remembered: bool = True
    ) -> SuggestOutput:
        """Choose the next params to train with.

        Args:
            suggestion_id: Id to track the suggestion by; a fresh UUID if ``None``.
            is_suggestion_remembered: Keep the suggestion as outstanding until it is
                observed or forgotten, so that parallel suggestions spread out.

        Returns:
            ``SuggestOutput`` whose ``suggestion`` maps each param to its value (plus
            ``suggestion_uuid`` when remembered) and whose ``log`` says how it was chosen.
        """
        if suggestion_id is not None and not isinstance(suggestion_id, str):
            raise InvalidObservationError(
                f"suggestion_id must be a str or None, got {type(suggestion_id).__name__}"
            )
        with self._lock:
            point, log = self._choose_point()
            suggestion = self.search_space.param_dict_from_basic(point)
            # Store the basic image of the rounded params, exactly what observe() will compute.
            basic = self.search_space.basic_from_param_dict(suggestion)
            if is_suggestion_remembered:
                suggestion_id = suggestion_id or str(uuid.uuid4())
                suggestion[SUGGESTION_ID_DICT_KEY] = suggestion_id
                self.outstanding_suggestions[suggestion_id] = SuggestionInBasic(basic, log)
            if self._wandb is not None:
                self._wandb.log_suggestion(suggestion, log)
            return SuggestOutput(suggestion=suggestion, log=log)

    def observe(self, new_observation_in_param: ObservationInParam) -> ObserveOutput:
        """Record the result of a run.

        Args:
            new_observation_in_param: The run's params (a suggestion dict, with its
                ``suggestion_uuid`` if it has one), output, cost and failure flag.
                Outputs that are NaN or infinite count as failures.

        Returns:
            ``ObserveOutput`` with counts, the best observation and the front's size.

        Raises:
            InvalidObservationError: for a missing or unknown key, a value out of
                bounds, or a cost that is not finite and > 0. Nothing is recorded then.
        """
        with self._lock:
            observation, is_failure = self._to_basic(new_observation_in_param)
            if observation.suggestion_id is not None:
                self.outstanding_suggestions.pop(observation.suggestion_id, None)
            self._add(observation, is_failure)
            logs = self._observation_log(new_observation_in_param, is_failure)
            if self._wandb is not None:
                self._wandb.log_observation(logs)
            self._autosave()
            return ObserveOutput(logs=logs)

    def forget_suggestion(self, suggestion_to_forget: Mapping[str, Any]) -> None:
        """Drop an outstanding suggestion (for example when its run was cancelled)."""
        with self._lock:
            suggestion_id = suggestion_to_forget.get(SUGGESTION_ID_DICT_KEY)
            if suggestion_id is None:
                return
            if self.outstanding_suggestions.pop(str(suggestion_id), None) is None:
                logger.info("forget_suggestion: unknown suggestion_uuid %r", suggestion_id)

    def initialize_from_observations(
        self, observations: Sequence[ObservationInParam]
    ) -> ObserveOutput:
        """Add observations from earlier runs and move the search centre to the best one.

        Every observation is validated before any is added, so a bad one leaves
        the optimizer unchanged.
        """
        with self._lock:
            converted = [self._to_basic(o) for o in observations]
            for observation, is_failure in converted:
                self._add(observation, is_failure)
            successes = [o for o, failed in converted if not failed]
            if self.config.resample_frequency > 0:
                # Resampling paces itself from here on rather than catching up on the batch.
                self.resample_count = max(
                    self.resample_count,
                    len(self.success_observations) // self.config.resample_frequency - 1,
                )
            if successes:
                best = max(successes, key=lambda o: o.output * self.config.better_direction_sign)
                self.search_center_in_basic = best.real_number_input.clone()
            else:
                logger.warning("initialize_from_observations: no success to centre the search on")
            logs = {"observation_count": self.observation_count, "added": len(converted)}
            self._autosave()
            return ObserveOutput(logs=logs)

    def set_search_center(self, input_in_param: Mapping[str, Any]) -> None:
        """Move the centre of warm-up sampling to the given params."""
        with self._lock:
            self.search_space.validate_param_dict(input_in_param, what="search center")
            self.search_center_in_basic = self.search_space.basic_from_param_dict(input_in_param)

    def get_pareto_groups(self, is_conservative: bool | None = None) -> list[ObservationGroup]:
        """The current Pareto front as observation groups, cheapest first."""
        if is_conservative is None:
            is_conservative = self.config.is_pareto_group_selection_conservative
        with self._lock:
            if not self.success_observations:
                return []
            return pareto_groups(
                group_observations(self.success_observations),
                self.config.min_pareto_cost_fraction,
                self.config.better_direction_sign,
                is_conservative,
            )

    # -- state: saving, resuming, warm starting ----------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        """The file autosaved after every observation: ``checkpoint_dir/carbs_state.json``."""
        return Path(self.config.checkpoint_dir) / STATE_FILE_NAME

    def get_state_dict(self) -> dict[str, Any]:
        """Everything that shapes future suggestions, as strict-JSON data.

        Holds the config, params, observations (basic-space inputs as exact
        float64 values), outstanding suggestions, resampling counter, search
        centre, sampler state, random generator state and the last fitted GP
        hyperparameters, plus ``format_version``. See :mod:`carbs.state`.
        """
        with self._lock:
            return capture_state(self).to_dict()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Replace this optimizer's state by one from :meth:`get_state_dict`.

        The saved config replaces this optimizer's; the saved params must equal
        its params. Nothing changes if the state is rejected.

        Raises:
            StateError: unknown or newer ``format_version``, missing or malformed
                fields, or saved params that differ from this optimizer's.
        """
        restored = CARBSState.from_dict(state)
        with self._lock:
            restore_state(self, restored)

    def serialize(self) -> str:
        """The state (see :meth:`get_state_dict`) as a JSON string."""
        return dumps(self.get_state_dict())

    @classmethod
    def load_from_string(cls, state: str, params: Sequence[Param] | None = None) -> CARBS:
        """Build an optimizer from a :meth:`serialize` string.

        Args:
            state: The JSON text.
            params: If given, they must equal the saved params (a check that the
                state belongs to this search space); they become the optimizer's.

        Raises:
            StateError: the text is not a valid state, or ``params`` differ from it.
        """
        return cls._from_state(CARBSState.from_dict(loads(state)), params)

    def save(self, path: PathLike) -> Path:
        """Write the state to a JSON file, atomically: a crash leaves the old file or the new.

        Missing folders are created. Returns the path written.
        """
        with self._lock:  # concurrent saves land in order: the newest state wins
            return write_atomic(path, self.serialize())

    @classmethod
    def load(cls, path: PathLike, params: Sequence[Param] | None = None) -> CARBS:
        """Build an optimizer from a file written by :meth:`save` (or by autosave).

        Its next :meth:`suggest` is the one the saving optimizer would have made.
        The file is only parsed as JSON; nothing is unpickled.

        Args:
            path: The state file.
            params: If given, they must equal the saved params.

        Raises:
            FileNotFoundError: no file at ``path``.
            StateError: the file is truncated, not JSON, of an unknown or newer
                ``format_version``, malformed, or ``params`` differ from the saved ones.
        """
        return cls._from_state(read_state(path), params)

    def save_to_file(self, path: PathLike) -> Path:
        """Same as :meth:`save` (the name used by the original CARBS release)."""
        return self.save(path)

    @classmethod
    def load_from_file(cls, path: PathLike, params: Sequence[Param] | None = None) -> CARBS:
        """Same as :meth:`load` (the name used by the original CARBS release)."""
        return cls.load(path, params)

    def warm_start(
        self,
        path: PathLike,
        is_prior_observation_valid: bool = False,
        added_parameters: Mapping[str, Any] | None = None,
    ) -> None:
        """Start from an earlier sweep's saved state, whose params may differ from these.

        Prior observations are mapped through param space onto this optimizer's
        params; params the prior sweep did not tune take their value from
        ``added_parameters``. Prior observations outside the current bounds, or
        lacking a param, are skipped with a warning that says why.

        Args:
            path: A state file written by :meth:`save` or by autosave.
            is_prior_observation_valid: If ``True``, the prior observations
                (successes and failures) are added as data with
                :meth:`initialize_from_observations`, which also centres the
                search on the best of them. If ``False`` they are not added; only
                the search centre moves to the best prior success inside the bounds.
            added_parameters: Values of params new in this sweep (name -> value);
                they also become those params' search centre.

        Raises:
            StateError: the file cannot be loaded, or the prior sweep tuned params
                that this optimizer does not.
            InvalidParamError: ``added_parameters`` names an unknown param or one
                the prior sweep tuned, or holds a value out of bounds.
        """
        warm_start_from_state(self, path, is_prior_observation_valid, added_parameters)

    @classmethod
    def _from_state(cls, state: CARBSState, params: Sequence[Param] | None) -> CARBS:
        if params is not None:
            check_params_match(state.params, params)
        carbs = cls(state.config, state.params if params is None else params)
        with carbs._lock:
            restore_state(carbs, state)
        return carbs

    def _autosave(self) -> None:
        """Save to :attr:`checkpoint_path` if ``is_saved_on_every_observation`` (lock held)."""
        if not self.config.is_saved_on_every_observation:
            return
        try:
            self.save(self.checkpoint_path)
        except OSError as error:  # the observation stays recorded; only the checkpoint is lost
            message = f"carbs: autosave to {os.fspath(self.checkpoint_path)} failed: {error}"
            logger.error(message)
            warnings.warn(message, RuntimeWarning, stacklevel=3)

    # -- choosing points ---------------------------------------------------------------------------
    def _choose_point(self) -> tuple[Tensor, dict[str, Any]]:
        if len(self.success_observations) < self.config.num_random_samples:
            return self._sample_around(self.search_center_in_basic.unsqueeze(0)), {
                "suggestion_type": "random"
            }
        if self._use_resample_turn():
            resample = self._resample_point()
            if resample is not None:
                return resample, {"suggestion_type": "resample"}
        try:
            return self._bayesian_point()
        # linear_operator's NotPSDError and NanError and torch's _LinAlgError are RuntimeErrors.
        except (GPFitError, RuntimeError, ValueError, ArithmeticError) as error:
            logger.warning(
                "carbs: surrogate model failed (%s: %s); sampling around the Pareto front instead",
                type(error).__name__,
                error,
            )
            origins = front_inputs(self.get_pareto_groups())
            return self._sample_around(origins), {"suggestion_type": "fallback"}

    def _sample_around(self, origins: Tensor) -> Tensor:
        candidates = self._sampler.sample(origins, 1, self._generator)
        if candidates.points.shape[0] == 0:
            raise RuntimeError(
                "carbs could not draw a point inside the bounds around the search origins; "
                "check that min/max leave room around each search_center"
            )
        return candidates.points[0]

    def _use_resample_turn(self) -> bool:
        """Whether this suggestion is a resample.

        A due turn is used up without a resample when the measured noise is below
        ``resample_noise_threshold``.
        """
        frequency = self.config.resample_frequency
        if not (
            frequency > 0 and len(self.success_observations) > (self.resample_count + 1) * frequency
        ):
            return False
        threshold = self.config.resample_noise_threshold
        if threshold > 0:
            noise = relative_noise(group_observations(self.success_observations))
            if noise is not None and noise < threshold:
                self.resample_count += 1
                return False
        return True

    def _resample_point(self) -> Tensor | None:
        """The least-sampled legal front member; ``None`` if none is legal once rounded.

        A front member observed off the integer lattice rounds to its nearest lattice
        point, which can fall outside the bounds (e.g. 1 with rounding_factor=4 and min=1).
        """
        front = [
            group
            for group in self.get_pareto_groups(is_conservative=False)
            if bool(self.search_space.in_bounds_mask(group.input_in_basic.unsqueeze(0))[0])
        ]
        if not front:
            return None
        pending_keys = [
            input_key(s.real_number_input) for s in self.outstanding_suggestions.values()
        ]
        counts = [g.count + pending_keys.count(input_key(g.input_in_basic)) for g in front]
        self.resample_count += 1
        return front[int(np.argmin(counts))].input_in_basic.clone()

    def _bayesian_point(self) -> tuple[Tensor, dict[str, Any]]:
        config = self.config
        front = self.get_pareto_groups()
        model = self._fit_surrogate(
            front, self._generator, self._hyperparameters, self._model_cache
        )
        self._hyperparameters = model.hyperparameters
        if self.outstanding_suggestions:
            pending = torch.stack(
                [s.real_number_input for s in self.outstanding_suggestions.values()]
            )
            model.add_pending(pending, config.outstanding_suggestion_estimator)

        origins = front_inputs(front)
        stretch = None
        if config.cost_direction_radius_factor != 1.0:
            stretch = Stretch(
                model.log_cost_directions(origins), config.cost_direction_radius_factor
            )
        candidates = self._sampler.sample(
            origins,
            config.num_candidates_for_suggestion_per_dim * self.real_dim,
            self._generator,
            stretch,
        )
        if candidates.points.shape[0] == 0:
            raise RuntimeError("no candidate inside the bounds")
        predictions = model.predict(candidates.points)
        target = self._improvement_target(model, front, predictions.pareto_surrogate)
        log_ei = log_expected_improvement(
            predictions.surrogate_mean, predictions.surrogate_std, target + config.exploration_bias
        )
        score = log_acquisition(
            log_ei,
            candidates.log_prior_density,
            predictions.success_probability,
            predictions.cost,
            config.max_suggestion_cost,
        )
        if torch.isfinite(score).any():
            best = int(torch.argmax(torch.nan_to_num(score, nan=-math.inf)))
        else:
            logger.warning(
                "carbs: no candidate is predicted below max_suggestion_cost=%s; "
                "suggesting the cheapest predicted candidate",
                config.max_suggestion_cost,
            )
            best = int(torch.argmin(predictions.cost))
        log: dict[str, Any] = {
            "suggestion_type": "bayesian",
            "predicted_output": float(predictions.output_mean[best]),
            "predicted_output_std": float(predictions.output_std[best]),
            "predicted_cost": float(predictions.cost[best]),
            "success_probability": float(predictions.success_probability[best]),
            "log_expected_improvement": float(log_ei[best]),
            "expected_improvement": float(torch.exp(log_ei[best])),  # inf, not OverflowError
            "surrogate_output": float(predictions.surrogate_mean[best]),
            "surrogate_var": float(predictions.surrogate_std[best] ** 2),
            "pareto_surrogate": float(predictions.pareto_surrogate[best]),
            "improvement_target": float(target[best]),
            "log_prior_density": float(candidates.log_prior_density[best]),
            "acquisition_log_score": float(score[best]),
            "num_candidates": int(candidates.points.shape[0]),
        }
        # Names used by the original release, kept for dashboards built on them.
        log["cost_estimate"] = log["predicted_cost"]
        log["target_estimate"] = log["predicted_output"]
        log["target_var"] = float(predictions.output_std[best] ** 2)  # may overflow to inf
        return candidates.points[best], log

    def _fit_surrogate(
        self,
        front: list[ObservationGroup],
        generator: torch.Generator,
        warm_start: Hyperparameters | None,
        model_cache: dict[str, ExactRegressionGP] | None,
    ) -> SurrogateModel:
        """Fit the surrogates on the current data (needs at least one success)."""
        config = self.config
        model = SurrogateModel(
            better_direction_sign=config.better_direction_sign,
            lengthscale=config.initial_search_radius,
            generator=generator,
            warm_start=warm_start,
            num_hyperparameter_samples=(
                config.num_fully_bayesian_samples if config.is_fully_bayesian else 1
            ),
            model_cache=model_cache,
        )
        model.fit(self.success_observations, self.failure_observations, front)
        return model

    def _improvement_target(
        self, model: SurrogateModel, front: list[ObservationGroup], pareto_surrogate: Tensor
    ) -> Tensor:
        config = self.config
        if config.is_expected_improvement_value_always_max:
            best = model.output_to_surrogate(front[-1].mean_output)
            return torch.full_like(pareto_surrogate, best)
        if not config.is_expected_improvement_pareto_value_clamped:
            return pareto_surrogate
        log_low = math.log(front[0].mean_cost)
        log_high = math.log(front[-1].mean_cost)
        if config.max_suggestion_cost is not None:
            log_high = min(log_high, math.log(config.max_suggestion_cost))
        log_high = max(log_high, log_low)
        u = float(torch.rand((), generator=self._generator, dtype=torch.float64))
        threshold_cost = math.exp(log_low + u * (log_high - log_low))
        return pareto_surrogate.clamp_min(model.pareto_surrogate_at_cost(threshold_cost))

    # -- observations ------------------------------------------------------------------------------
    def _to_basic(self, observation: ObservationInParam) -> tuple[ObservationInBasic, bool]:
        """Validate an observation and map it to basic space; returns it and its failure flag."""
        if not isinstance(observation, ObservationInParam):
            raise InvalidObservationError(
                f"expected ObservationInParam, got {type(observation).__name__}"
            )
        self.search_space.validate_param_dict(observation.input, what="observation.input")
        if not isinstance(observation.is_failure, bool | np.bool_):
            raise InvalidObservationError(
                f"observation.is_failure must be a bool, got {observation.is_failure!r}"
            )
        cost = observation.cost
        if isinstance(cost, bool) or not isinstance(cost, int | float | np.number):
            raise InvalidObservationError(f"observation.cost must be a number, got {cost!r}")
        if not (math.isfinite(cost) and cost > 0):
            raise InvalidObservationError(f"observation.cost must be finite and > 0, got {cost}")
        output = observation.output
        is_failure = bool(observation.is_failure)
        if isinstance(output, bool) or not isinstance(output, int | float | np.number):
            if not is_failure:
                raise InvalidObservationError(
                    f"observation.output must be a number, got {output!r}"
                )
            output = math.nan
        output = float(output)
        is_failure = is_failure or not math.isfinite(output)
        suggestion_id = observation.input.get(SUGGESTION_ID_DICT_KEY)
        return (
            ObservationInBasic(
                real_number_input=self.search_space.basic_from_param_dict(observation.input),
                output=output,
                cost=float(cost),
                suggestion_id=None if suggestion_id is None else str(suggestion_id),
            ),
            is_failure,
        )

    def _add(self, observation: ObservationInBasic, is_failure: bool) -> None:
        target = self.failure_observations if is_failure else self.success_observations
        target.append(observation)
        self.observation_times.append(time.time())
        self.observation_is_failure.append(is_failure)

    def _observation_log(self, observation: ObservationInParam, is_failure: bool) -> dict[str, Any]:
        logs: dict[str, Any] = {
            "observation_count": self.observation_count,
            "success_count": len(self.success_observations),
            "failed_observation_count": len(self.failure_observations),
            "outstanding_suggestion_count": len(self.outstanding_suggestions),
            "cumulative_cost": self.cumulative_cost,
            "observation/is_failure": int(is_failure),
        }
        for name in self.search_space.names:
            logs[f"observation/{name}"] = observation.input[name]
        if not is_failure:
            logs["observation/output"] = float(observation.output)
            logs["observation/cost"] = float(observation.cost)
        if self.success_observations:
            sign = self.config.better_direction_sign
            best = max(self.success_observations, key=lambda o: o.output * sign)
            best_params = self.search_space.param_dict_from_basic(best.real_number_input)
            for name, value in best_params.items():
                logs[f"best_observation/{name}"] = value
            logs["best_observation/output"] = best.output
            logs["best_observation/cost"] = best.cost
            front = self.get_pareto_groups()
            logs["pareto_group_count"] = len(front)
            logs["pareto_area"] = pareto_area(front)
        return logs

    # -- analysis: front, predictions, scaling laws ------------------------------------------------
    def pareto_front(self) -> list[ParetoMember]:
        """The current Pareto front in param space, cheapest first.

        The same members as :meth:`get_pareto_groups`, each with its params, mean
        output, mean cost and number of samples.
        """
        with self._lock:
            return pareto_members(self.get_pareto_groups(), self.search_space)

    def predict(self, points: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> Predictions:
        """Predict output (mean and std), cost and success probability at param dicts.

        Fits the same surrogates as :meth:`suggest` on the current observations
        (pending suggestions are not included), from their priors and with a
        private random generator seeded by ``config.seed``: the result depends only
        on the data and the config, and calling it never changes later suggestions.

        Args:
            points: Param dicts (validated like observation inputs; a
                ``suggestion_uuid`` key is allowed), or a single one.

        Raises:
            InvalidObservationError: a point with a missing or unknown key or a
                value out of bounds, or no point at all.
            InsufficientDataError: no successful observation yet.
        """
        with self._lock:
            cleaned, basic = points_to_basic(points, self.search_space)
            if not self.success_observations:
                raise InsufficientDataError(
                    "predict() needs at least one successful observation to fit the models"
                )
            generator = torch.Generator().manual_seed(self.config.seed)
            model = self._fit_surrogate(self.get_pareto_groups(), generator, None, None)
            return predict_with(model, cleaned, basic)

    def scaling_laws(self, confidence: float = DEFAULT_CONFIDENCE) -> dict[str, ScalingLaw]:
        """Fit each parameter against cost along the Pareto front.

        Each law regresses the parameter in basic space on ``log10(cost)`` over
        the front members, weighted by their sample counts, with a t-interval on
        the slope. For ``LogSpace`` parameters ``law.slope`` is the exponent in
        ``value ~ k * cost**exponent``; for ``LinearSpace`` it is value per
        decade of cost and for ``LogitSpace`` log10 odds per decade of cost.
        See :mod:`carbs.scaling`.

        Raises:
            InsufficientDataError: fewer than two front members, or all at one cost.
        """
        with self._lock:
            return fit_scaling_laws(self.get_pareto_groups(), self.search_space, confidence)

    def suggest_at_cost(
        self,
        cost: float,
        confidence: float = DEFAULT_CONFIDENCE,
        min_r_squared: float = DEFAULT_MIN_R_SQUARED,
        max_extrapolation: float = DEFAULT_MAX_EXTRAPOLATION,
    ) -> CostSuggestion:
        """The scaling laws' compute-optimal settings at any budget, with intervals.

        Values are legal (rounded onto integer lattices, clipped to the bounds).
        ``is_reliable`` is ``False``, with reasons in ``warnings``, when the front
        has fewer than 3 members, a law's R^2 is below ``min_r_squared``, or
        ``cost`` lies more than ``max_extrapolation`` times outside the front's
        cost range.

        Raises:
            InsufficientDataError: fewer than two front members, or all at one cost.
            CARBSValueError: ``cost`` is not finite and > 0.
        """
        with self._lock:
            laws = self.scaling_laws(confidence)
            return suggest_at_cost(
                laws,
                cost,
                min_points=DEFAULT_MIN_POINTS,
                min_r_squared=min_r_squared,
                max_extrapolation=max_extrapolation,
            )

    def to_dataframe(self) -> pd.DataFrame:
        """All observations as a pandas DataFrame, one row each, in recording order.

        Columns: every param (param space), then ``output``, ``cost``,
        ``is_failure``, ``is_pareto`` (a member of the current front),
        ``suggestion_id`` and ``observed_at`` (UTC timestamp). Needs the
        ``pandas`` extra: ``pip install "carbs-hpo[pandas]"``.
        """
        with self._lock:
            return observations_dataframe(
                self._observation_records(), self.get_pareto_groups(), self.search_space.names
            )

    def _observation_records(self) -> list[ObservationRecord]:
        """Every observation, successful or not, in recording order (for tables and plots)."""
        with self._lock:
            return observation_records(
                self.success_observations,
                self.failure_observations,
                self.observation_is_failure,
                self.observation_times,
                self.search_space,
            )
