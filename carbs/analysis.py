"""Read-only views of an optimizer's data: front members, predictions, observation tables.

The :class:`~carbs.CARBS` methods ``pareto_front()``, ``predict()`` and
``to_dataframe()`` are thin wrappers over the functions here, which take the
optimizer's data explicitly so that they stay testable on their own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import torch
from torch import Tensor

from carbs.errors import InvalidObservationError
from carbs.observations import ObservationInBasic, in_recording_order
from carbs.pareto import ObservationGroup, input_key
from carbs.spaces import SearchSpace
from carbs.surrogate.model import SurrogateModel

if TYPE_CHECKING:
    import pandas as pd

PANDAS_INSTALL_HINT = 'pip install "carbs-hpo[pandas]"'


@attrs.frozen
class ParetoMember:
    """One member of the performance-cost Pareto front.

    Attributes:
        params: The member's input, param space (integer params as ``int``).
        output: Mean output of its observations.
        cost: Mean cost of its observations.
        count: Number of observations at this input.
    """

    params: dict[str, Any]
    output: float
    cost: float
    count: int


def pareto_members(
    front: Sequence[ObservationGroup], search_space: SearchSpace
) -> list[ParetoMember]:
    """Turn front groups into :class:`ParetoMember` values, cheapest first."""
    return [
        ParetoMember(
            params=search_space.param_dict_from_basic(group.input_in_basic),
            output=group.mean_output,
            cost=group.mean_cost,
            count=group.count,
        )
        for group in sorted(front, key=lambda g: g.mean_cost)
    ]


@attrs.frozen
class Predictions:
    """The surrogate models' predictions at ``m`` points; every tensor has shape ``(m,)``.

    Attributes:
        points: The points, param space, as given (without ``suggestion_uuid``).
        output_mean: Predicted output, the user's units.
        output_std: Approximate std of the predicted output, the user's units
            (half the width of the posterior mean +- one std mapped back from the
            GP's rank-transformed space, so it is not symmetric noise).
        cost: Predicted cost, the user's units.
        success_probability: Probability that a run there succeeds (1 when no
            failure has been observed).
    """

    points: list[dict[str, Any]]
    output_mean: Tensor
    output_std: Tensor
    cost: Tensor
    success_probability: Tensor

    def __len__(self) -> int:
        return len(self.points)

    def to_dicts(self) -> list[dict[str, Any]]:
        """One plain dict per point: its params plus the four predictions as floats."""
        return [
            {
                **point,
                "output_mean": float(self.output_mean[i]),
                "output_std": float(self.output_std[i]),
                "cost": float(self.cost[i]),
                "success_probability": float(self.success_probability[i]),
            }
            for i, point in enumerate(self.points)
        ]


def points_to_basic(
    points: Sequence[Mapping[str, Any]] | Mapping[str, Any], search_space: SearchSpace
) -> tuple[list[dict[str, Any]], Tensor]:
    """Validate param dicts like observations and map them to basic space.

    Args:
        points: A list of param dicts, or a single one.
        search_space: The optimizer's params.

    Returns:
        The points (param names only, in the params' order) and their basic
        images, shape ``(m, d)``.

    Raises:
        InvalidObservationError: an empty list, or a point with a missing or
            unknown key or a value out of bounds.
    """
    if isinstance(points, Mapping):
        points = [points]
    if isinstance(points, str | bytes) or not isinstance(points, Sequence):
        raise InvalidObservationError(
            f"points must be a list of param dicts, got {type(points).__name__}"
        )
    if len(points) == 0:
        raise InvalidObservationError("points must contain at least one param dict")
    cleaned: list[dict[str, Any]] = []
    for i, point in enumerate(points):
        search_space.validate_param_dict(point, what=f"points[{i}]")
        cleaned.append({name: point[name] for name in search_space.names})
    basic = torch.stack([search_space.basic_from_param_dict(p) for p in cleaned])
    return cleaned, basic


def predict_with(model: SurrogateModel, points: list[dict[str, Any]], basic: Tensor) -> Predictions:
    """Query a fitted surrogate at basic points ``(m, d)`` and keep the user-facing fields."""
    predictions = model.predict(basic)
    return Predictions(
        points=points,
        output_mean=predictions.output_mean.detach().clone(),
        output_std=predictions.output_std.detach().clone(),
        cost=predictions.cost.detach().clone(),
        success_probability=predictions.success_probability.detach().clone(),
    )


@attrs.frozen
class ObservationRecord:
    """One observation, successful or not, in the order it was recorded.

    Attributes:
        index: Position in recording order, from 0.
        input_in_basic: The input, basic space, shape ``(d,)``.
        params: The input, param space (recovered from basic space).
        output: The output (NaN for most failures).
        cost: The cost.
        is_failure: Whether the run failed.
        suggestion_id: The suggestion's id, if the input carried one.
        observed_at: ``time.time()`` when it was recorded; NaN if unknown.
    """

    index: int
    input_in_basic: Tensor
    params: dict[str, Any]
    output: float
    cost: float
    is_failure: bool
    suggestion_id: str | None
    observed_at: float


def observation_records(
    successes: Sequence[ObservationInBasic],
    failures: Sequence[ObservationInBasic],
    failure_flags: Sequence[bool],
    times: Sequence[float],
    search_space: SearchSpace,
) -> list[ObservationRecord]:
    """Merge successes and failures back into recording order.

    Args:
        successes: Successful observations, in recording order.
        failures: Failed observations, in recording order.
        failure_flags: For every observation in recording order, whether it
            failed (``CARBS.observation_is_failure``).
        times: ``time.time()`` of every observation in recording order
            (``CARBS.observation_times``).
        search_space: The optimizer's params.

    Returns:
        One record per observation. If ``failure_flags`` does not match the two
        lists (state written before it existed), successes come first, then
        failures, and ``observed_at`` is NaN.
    """
    total = len(successes) + len(failures)
    is_order_known = len(failure_flags) == total and sum(map(bool, failure_flags)) == len(failures)
    if not is_order_known:
        failure_flags = [False] * len(successes) + [True] * len(failures)
    has_times = is_order_known and len(times) == total
    return [
        ObservationRecord(
            index=index,
            input_in_basic=observation.real_number_input,
            params=search_space.param_dict_from_basic(observation.real_number_input),
            output=float(observation.output),
            cost=float(observation.cost),
            is_failure=is_failure,
            suggestion_id=observation.suggestion_id,
            observed_at=float(times[index]) if has_times else math.nan,
        )
        for index, (observation, is_failure) in enumerate(
            in_recording_order(successes, failures, [bool(f) for f in failure_flags])
        )
    ]


DATAFRAME_COLUMNS = (
    "output",
    "cost",
    "is_failure",
    "is_pareto",
    "suggestion_id",
    "observed_at",
)


def observations_dataframe(
    records: Sequence[ObservationRecord],
    front: Sequence[ObservationGroup],
    names: Sequence[str],
) -> pd.DataFrame:
    """One row per observation: each param, then :data:`DATAFRAME_COLUMNS`.

    ``is_pareto`` marks successful observations whose input is a member of
    ``front``; ``observed_at`` is a timezone-aware UTC timestamp (``NaT`` if
    unknown). Rows are in recording order, indexed from 0.

    Raises:
        ImportError: pandas is not installed.
    """
    try:
        import pandas as pd
    except ImportError as error:  # pragma: no cover - exercised only without pandas
        raise ImportError(
            f"CARBS.to_dataframe() needs pandas; install it with {PANDAS_INSTALL_HINT}"
        ) from error
    front_keys = {input_key(group.input_in_basic) for group in front}
    columns: dict[str, list[Any]] = {name: [] for name in names}
    for column in DATAFRAME_COLUMNS:
        columns[column] = []
    for record in records:
        for name in names:
            columns[name].append(record.params[name])
        columns["output"].append(record.output)
        columns["cost"].append(record.cost)
        columns["is_failure"].append(record.is_failure)
        columns["is_pareto"].append(
            not record.is_failure and input_key(record.input_in_basic) in front_keys
        )
        columns["suggestion_id"].append(record.suggestion_id)
        columns["observed_at"].append(record.observed_at)
    frame = pd.DataFrame(columns)
    frame["output"] = frame["output"].astype("float64")
    frame["cost"] = frame["cost"].astype("float64")
    frame["is_failure"] = frame["is_failure"].astype(bool)
    frame["is_pareto"] = frame["is_pareto"].astype(bool)
    frame["suggestion_id"] = frame["suggestion_id"].astype(object)
    frame["observed_at"] = pd.to_datetime(
        frame["observed_at"].astype("float64"), unit="s", utc=True
    )
    return frame
