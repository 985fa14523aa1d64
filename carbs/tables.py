"""Observation tables: one record per observation with its params, and the pandas view."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
from torch import Tensor

from carbs.checks import is_real_number
from carbs.observations import ObservationInBasic
from carbs.pareto import ObservationGroup, input_key
from carbs.spaces import SearchSpace
from carbs.stopping import ReportedCurve

if TYPE_CHECKING:
    import pandas as pd

PANDAS_INSTALL_HINT = 'pip install "carbs-hpo[pandas]"'


@attrs.frozen
class ObservationRecord:
    """One observation, successful or not, with its params in param space.

    Attributes:
        index: Position in recording order, from 0.
        input_in_basic: The input, basic space, shape ``(d,)``.
        params: The input, param space (recovered from basic space).
        output: The output (NaN for most failures).
        cost: The cost.
        is_failure: Whether the run failed.
        suggestion_id: The suggestion's id, if the input carried one.
        observed_at: ``time.time()`` when it was recorded; NaN if unknown.
        suggestion_type: How its suggestion was chosen (``None`` if not a suggestion).
        is_stopped: Whether the run was stopped early.
        projected_output: A stopped run's projected final output; NaN otherwise.
        curve: The run's intermediate reports as ``(cost, output)`` pairs.
    """

    index: int
    input_in_basic: Tensor
    params: dict[str, Any]
    output: float
    cost: float
    is_failure: bool
    suggestion_id: str | None
    observed_at: float
    suggestion_type: str | None
    is_stopped: bool = False
    projected_output: float = math.nan
    curve: tuple[tuple[float, float], ...] = ()

    @property
    def is_complete(self) -> bool:
        """Whether the run finished: neither failed nor stopped early."""
        return not self.is_failure and not self.is_stopped


def observation_records(
    observations: Sequence[ObservationInBasic],
    search_space: SearchSpace,
    curves: Mapping[str, ReportedCurve] | None = None,
) -> list[ObservationRecord]:
    """One record per observation, in recording order, with the reports in ``curves``."""
    curves = curves or {}
    return [
        ObservationRecord(
            index=index,
            input_in_basic=observation.real_number_input,
            params=search_space.param_dict_from_basic(observation.real_number_input),
            output=float(observation.output),
            cost=float(observation.cost),
            is_failure=observation.is_failure,
            suggestion_id=observation.suggestion_id,
            observed_at=float(observation.observed_at),
            suggestion_type=observation.suggestion_type,
            is_stopped=observation.is_stopped,
            projected_output=float(observation.projected_output),
            curve=_curve_pairs(curves, observation.suggestion_id),
        )
        for index, observation in enumerate(observations)
    ]


def _curve_pairs(
    curves: Mapping[str, ReportedCurve], suggestion_id: str | None
) -> tuple[tuple[float, float], ...]:
    curve = curves.get(suggestion_id) if suggestion_id is not None else None
    if curve is None:
        return ()
    return tuple(zip(curve.costs, curve.outputs, strict=True))


DATAFRAME_COLUMNS = (
    "output",
    "cost",
    "is_failure",
    "is_pareto",
    "suggestion_id",
    "observed_at",
    "suggestion_type",
    "is_stopped",
    "projected_output",
    "curve",
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
    columns: dict[str, Any] = {}
    for name in names:
        values = [r.params[name] for r in records]
        # Choices keep their values: pandas would make [1, None] floats with NaN.
        is_numeric = all(is_real_number(v) for v in values)
        columns[name] = values if is_numeric else pd.Series(values, dtype=object)
    columns["output"] = [r.output for r in records]
    columns["cost"] = [r.cost for r in records]
    columns["is_failure"] = [r.is_failure for r in records]
    columns["is_pareto"] = [
        not r.is_failure and not r.is_stopped and input_key(r.input_in_basic) in front_keys
        for r in records
    ]
    # Object columns keep None as None (pandas 3 would infer a string dtype with NaN).
    columns["suggestion_id"] = pd.Series([r.suggestion_id for r in records], dtype=object)
    columns["observed_at"] = [r.observed_at for r in records]
    columns["suggestion_type"] = pd.Series([r.suggestion_type for r in records], dtype=object)
    columns["is_stopped"] = [r.is_stopped for r in records]
    columns["projected_output"] = [r.projected_output for r in records]
    columns["curve"] = pd.Series([list(r.curve) for r in records], dtype=object)
    frame = pd.DataFrame(columns)
    frame["output"] = frame["output"].astype("float64")
    frame["cost"] = frame["cost"].astype("float64")
    frame["is_failure"] = frame["is_failure"].astype(bool)
    frame["is_pareto"] = frame["is_pareto"].astype(bool)
    frame["is_stopped"] = frame["is_stopped"].astype(bool)
    frame["projected_output"] = frame["projected_output"].astype("float64")
    frame["observed_at"] = pd.to_datetime(
        frame["observed_at"].astype("float64"), unit="s", utc=True
    )
    return frame
