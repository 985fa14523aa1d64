"""Predictions of the surrogate models at given points, and the names params cannot take.

:func:`predict` fits the models on a :class:`~carbs.analysis.Snapshot` and returns
:class:`Predictions`; :data:`RESERVED_PARAM_NAMES` are the columns that
``to_dataframe()`` and ``predict()`` add to the params.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import torch
from torch import Tensor

from carbs.errors import InsufficientDataError, InvalidObservationError, InvalidParamError
from carbs.spaces import SearchSpace
from carbs.tables import DATAFRAME_COLUMNS

if TYPE_CHECKING:
    from carbs.analysis import Snapshot


@attrs.frozen(repr=False)
class Predictions:
    """The surrogate models' predictions at ``m`` points; every array has shape ``(m,)``.

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
    output_mean: np.ndarray
    output_std: np.ndarray
    cost: np.ndarray
    success_probability: np.ndarray

    def __len__(self) -> int:
        return len(self.points)

    def __repr__(self) -> str:
        names = list(self.points[0]) if self.points else []
        arrays = ", ".join(
            f"{name}={np.array2string(getattr(self, name), threshold=6, precision=4)}"
            for name in PREDICTION_COLUMNS
        )
        return f"Predictions({len(self)} points of {names}; {arrays})"

    def to_dicts(self) -> list[dict[str, Any]]:
        """One plain dict per point: its params plus the four predictions
        (:data:`PREDICTION_COLUMNS`) as floats."""
        return [
            {
                **point,
                **{name: float(getattr(self, name)[i]) for name in PREDICTION_COLUMNS},
            }
            for i, point in enumerate(self.points)
        ]


PREDICTION_COLUMNS = ("output_mean", "output_std", "cost", "success_probability")
RESERVED_PARAM_NAMES = frozenset((*DATAFRAME_COLUMNS, *PREDICTION_COLUMNS))
"""Names a param cannot take: the columns that ``to_dataframe()`` and ``predict()`` add
to the params (a param named ``cost`` was overwritten by the run's cost)."""


def check_param_names(names: Sequence[str]) -> None:
    """Raises InvalidParamError for a param name in :data:`RESERVED_PARAM_NAMES`."""
    taken = [name for name in names if name in RESERVED_PARAM_NAMES]
    if taken:
        raise InvalidParamError(
            f"param name(s) {taken} are columns of to_dataframe() and predict() (the "
            "run's output, cost, ...): rename the param (e.g. 'svm_cost'); in a saved "
            "state, rename it in the file"
        )


def points_to_basic(
    points: Sequence[Mapping[str, Any]] | Mapping[str, Any], search_space: SearchSpace
) -> tuple[list[dict[str, Any]], Tensor]:
    """Validate param dicts like observation inputs and map them to basic space.

    Returns:
        The points (param names only, in the params' order) and their basic
        images, shape ``(m, d)``.

    Raises:
        InvalidObservationError: an empty list, or a point with a missing or
            unknown key or an illegal value.
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


def predict(
    snapshot: Snapshot, points: Sequence[Mapping[str, Any]] | Mapping[str, Any]
) -> Predictions:
    """Fit the surrogates on the snapshot's data (from their priors) and predict at ``points``.

    Raises:
        InvalidObservationError: see :func:`points_to_basic`.
        InsufficientDataError: no successful observation yet.
    """
    from carbs.suggestions import fit_surrogate  # the surrogates import gpytorch: load on use

    cleaned, basic = points_to_basic(points, snapshot.search_space)
    config = snapshot.config
    successes = [o for o in snapshot.observations if o.is_complete]
    if not successes:
        raise InsufficientDataError(
            "predict() needs at least one successful observation to fit the models"
        )
    failures = [o for o in snapshot.observations if o.is_failure]
    generator = torch.Generator().manual_seed(config.seed)
    model = fit_surrogate(
        config,
        successes,
        failures,
        snapshot.front,
        generator,
        None,
        None,
        snapshot.search_space.categorical_columns,
        [o for o in snapshot.observations if o.is_stopped],
    )
    predictions = model.predict(basic)
    return Predictions(
        points=cleaned,
        output_mean=predictions.output_mean.detach().numpy().copy(),
        output_std=predictions.output_std.detach().numpy().copy(),
        cost=predictions.cost.detach().numpy().copy(),
        success_probability=predictions.success_probability.detach().numpy().copy(),
    )
