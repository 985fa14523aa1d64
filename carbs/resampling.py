"""When a suggestion re-runs a front member, and which one.

A turn comes every ``resample_frequency`` successes; the turns used are read from
the sweep's data (repeated inputs) plus the turns skipped, so processes that
rebuild one sweep from a shared storage agree on them. Pure functions: the
optimizer passes its data in and records what they return.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from torch import Tensor

from carbs.config import CARBSParams
from carbs.observations import ObservationInBasic
from carbs.pareto import ObservationGroup, group_observations, input_key, relative_noise
from carbs.spaces import SearchSpace

ResampleTurn = Literal["none", "skipped", "due"]


def repeat_count(inputs: Sequence[Tensor]) -> int:
    """How many of ``inputs`` (each ``(d,)``, basic space) repeat an earlier one.

    The resample turns a sweep has used are read from its data, not counted by
    whoever suggested them: processes that rebuild one sweep from a shared
    storage (an Optuna study, the CLI) then agree on how many repeats were run.
    """
    return len(inputs) - len({input_key(point) for point in inputs})


def resample_turns_used(skipped_turns: int, inputs: Sequence[Tensor]) -> int:
    """The turns skipped plus the repeats among ``inputs`` (observed and pending)."""
    return skipped_turns + repeat_count(inputs)


def resample_turn(
    config: CARBSParams,
    successes: Sequence[ObservationInBasic],
    skipped_turns: int,
    inputs: Sequence[Tensor],
) -> ResampleTurn:
    """Whether a resample is due now (``"due"``), due but not worth it (``"skipped"``), or not.

    A turn comes every ``resample_frequency`` successes; the turns used are
    :func:`resample_turns_used` (counted only when a turn could be due). A due
    turn is skipped when the measured noise is below ``resample_noise_threshold``
    of the outputs' spread: a repeat could not change the front.
    """
    frequency = config.resample_frequency
    if not (frequency > 0 and len(successes) > (skipped_turns + 1) * frequency):
        return "none"
    if len(successes) <= (resample_turns_used(skipped_turns, inputs) + 1) * frequency:
        return "none"
    if config.resample_noise_threshold > 0:
        noise = relative_noise(group_observations(successes))
        if noise is not None and noise < config.resample_noise_threshold:
            return "skipped"
    return "due"


def resample_point(
    front: Sequence[ObservationGroup],
    search_space: SearchSpace,
    pending: Sequence[Tensor],
    failed: Sequence[Tensor] = (),
    max_cost: float | None = None,
) -> Tensor | None:
    """The least-sampled front member worth a repeat, counting pending repeats; ``None`` if
    there is none.

    A member is worth a repeat when it is legal, costs at most ``max_cost`` (a repeat
    costs what the member cost) and no run at its input failed (a repeat that failed
    would otherwise be drawn again on every turn: failures do not count as samples).

    Args:
        front: The front (non-conservative selection), cheapest first.
        search_space: The params, for the bounds.
        pending: Inputs of outstanding suggestions, each ``(d,)``.
        failed: Inputs of the failed runs, each ``(d,)``.
        max_cost: ``max_suggestion_cost``, if set.
    """
    failed_keys = {input_key(point) for point in failed}
    legal = [
        group
        for group in front
        if bool(search_space.in_bounds_mask(group.input_in_basic.unsqueeze(0))[0])
        and (max_cost is None or group.mean_cost <= max_cost)
        and input_key(group.input_in_basic) not in failed_keys
    ]
    if not legal:
        return None
    pending_keys = [input_key(p) for p in pending]
    counts = [g.count + pending_keys.count(input_key(g.input_in_basic)) for g in legal]
    return legal[int(np.argmin(counts))].input_in_basic.clone()
