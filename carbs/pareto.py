"""Grouping observations and selecting the performance-cost Pareto front.

All functions here are pure: they take observations and settings and return
new values. "Better" always means larger ``output * better_direction_sign``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import attrs
import numpy as np
import torch
from torch import Tensor

from carbs.observations import ObservationInBasic
from carbs.surrogate.transforms import power_of_two_scale

# Inputs that agree to this many decimals in basic space are the same point.
_GROUPING_DECIMALS = 9
_IQR_PER_STD = 1.349  # interquartile range of a standard normal


@attrs.frozen
class ObservationGroup:
    """Observations made at one input; the front works on their means.

    Attributes:
        input_in_basic: The shared input, shape ``(d,)``.
        outputs: Output of each member.
        costs: Cost of each member.
    """

    input_in_basic: Tensor
    outputs: tuple[float, ...]
    costs: tuple[float, ...]

    @property
    def count(self) -> int:
        """Number of observations in the group."""
        return len(self.outputs)

    @property
    def mean_output(self) -> float:
        """Mean output of the group."""
        return _mean(self.outputs)

    @property
    def mean_cost(self) -> float:
        """Mean cost of the group."""
        return _mean(self.costs)

    def signed_mean(self, better_direction_sign: int) -> float:
        """Mean output times ``better_direction_sign`` (larger is better)."""
        return self.mean_output * better_direction_sign

    def signed_best(self, better_direction_sign: int) -> float:
        """Best single output times ``better_direction_sign`` (larger is better)."""
        return max(o * better_direction_sign for o in self.outputs)


def _mean(values: Sequence[float]) -> float:
    """Mean of finite values; finite too when their sum passes the largest float (two
    outputs of 1.7e308), since it is taken on the values scaled by a power of two."""
    if len(values) == 1:  # most groups: the front reads their means thousands of times
        return float(values[0])
    array = np.asarray(values, dtype=np.float64)
    scale = power_of_two_scale(array)
    mean = float(np.mean(array / scale)) * scale
    # Rounding can put the mean of equal values (three costs of 0.1) just past them,
    # and a group that cost exactly the threshold would fall out of the cheap bucket.
    return min(max(mean, float(array.min())), float(array.max()))


def ranked_successes(
    observations: Sequence[ObservationInBasic], better_direction_sign: int
) -> list[ObservationInBasic]:
    """The successful observations, best first; of equal outputs the cheaper first (a
    dearer run with the same output is dominated), then in recording order."""
    successes = [o for o in observations if o.is_complete]
    return sorted(successes, key=lambda o: (-o.output * better_direction_sign, o.cost))


def best_observation(
    observations: Sequence[ObservationInBasic], better_direction_sign: int
) -> ObservationInBasic | None:
    """The best successful observation, or ``None`` if there is none."""
    ranked = ranked_successes(observations, better_direction_sign)
    return ranked[0] if ranked else None


def input_key(input_in_basic: Tensor) -> tuple[float, ...]:
    """Hashable key under which equal inputs are grouped."""
    values = input_in_basic.detach().cpu().numpy()
    with np.errstate(over="ignore", invalid="ignore"):
        rounded = np.round(values, _GROUPING_DECIMALS)
    # Past about 1.8e299 the rounding (a product by 1e9) overflows: such values are
    # their own key, or every one of them would be grouped as one input.
    return tuple(np.where(np.isfinite(rounded), rounded, values).tolist())


def group_observations(observations: Sequence[ObservationInBasic]) -> list[ObservationGroup]:
    """Group observations with identical inputs, in order of first appearance."""
    members: dict[tuple[float, ...], list[ObservationInBasic]] = {}
    for obs in observations:
        members.setdefault(input_key(obs.real_number_input), []).append(obs)
    return [
        ObservationGroup(
            input_in_basic=group[0].real_number_input,
            outputs=tuple(o.output for o in group),
            costs=tuple(o.cost for o in group),
        )
        for group in members.values()
    ]


def relative_noise(groups: Sequence[ObservationGroup]) -> float | None:
    """Measured output noise as a fraction of the outputs' spread.

    The pooled standard deviation within groups observed more than once,
    divided by the robust standard deviation (interquartile range / 1.349) of
    every output. ``None`` until some group has a repeat, or while the outputs
    have no spread.
    """
    if not any(g.count > 1 for g in groups):
        return None
    # The ratio does not depend on the outputs' units: measured on outputs scaled into
    # [-2, 2], squares of outputs near the largest float do not overflow.
    outputs = [np.asarray(g.outputs, dtype=np.float64) for g in groups]
    scale = power_of_two_scale(np.concatenate(outputs))
    outputs = [o / scale for o in outputs]
    repeated = [o for o in outputs if o.shape[0] > 1]
    squares = sum(float(((o - o.mean()) ** 2).sum()) for o in repeated)
    degrees = sum(o.shape[0] - 1 for o in repeated)
    q1, q3 = np.quantile(np.concatenate(outputs), [0.25, 0.75])
    spread = float(q3 - q1) / _IQR_PER_STD
    if not spread > 0:
        return None
    return math.sqrt(squares / degrees) / spread


def pareto_groups(
    groups: Sequence[ObservationGroup],
    min_pareto_cost_fraction: float,
    better_direction_sign: int,
    is_conservative: bool,
    is_bucket_challenged: bool = False,
    is_tie_better_first: bool = True,
) -> list[ObservationGroup]:
    """Select the Pareto front from observation groups, sorted by cost.

    Groups whose mean cost is at or below the ``min_pareto_cost_fraction``
    quantile of all observed costs form one bucket, of which only the best
    group joins the front (in conservative mode, the best resampled group of the
    bucket when any exists; with ``is_bucket_challenged``, a single-sample group
    of the bucket that beats that group's best sample takes its place). Above
    the threshold, in order of cost, a group joins when its mean beats the last
    front member's mean; in conservative mode a single-sample group must beat
    the last member's best single sample instead.

    Args:
        groups: Non-empty list of groups of successful observations.
        min_pareto_cost_fraction: Quantile in ``[0, 1]`` of all costs.
        better_direction_sign: ``1`` to maximise, ``-1`` to minimise.
        is_conservative: Use the conservative rule above.
        is_bucket_challenged: Let a single sample beat the bucket's resampled
            groups as it beats a front member above the bucket. Without it, once
            any group of the bucket is resampled no single run there can join
            the front: where every run costs the same, the bucket holds them all
            and the front stays at the first resampled run.
        is_tie_better_first: Take groups of equal mean cost better first, so that a
            group beaten at its own cost never joins the front. Without it they go
            in recording order, and a worse group recorded first joins before the
            better one.

    Returns:
        The front, cheapest first.
    """
    if not groups:
        return []
    all_costs = np.array([c for g in groups for c in g.costs])
    threshold = float(np.quantile(all_costs, min_pareto_cost_fraction))

    sign = better_direction_sign
    cheap = [g for g in groups if g.mean_cost <= threshold]
    challengers: list[ObservationGroup] = []
    if is_conservative:
        resampled = [g for g in cheap if g.count > 1]
        if resampled and is_bucket_challenged:
            confirmed = max(resampled, key=lambda g: g.signed_mean(sign))
            best_sample = confirmed.signed_best(sign)
            challengers = [g for g in cheap if g.count == 1 and g.signed_mean(sign) > best_sample]
        cheap = challengers or resampled or cheap
    rest = [g for g in groups if g.mean_cost > threshold]
    if is_tie_better_first:
        rest.sort(key=lambda g: (g.mean_cost, -g.signed_mean(sign)))
    else:
        rest.sort(key=lambda g: g.mean_cost)
    if not cheap:
        # Only happens when every group mixes costs around the threshold.
        cheap, rest = rest[:1], rest[1:]

    front = [max(cheap, key=lambda g: g.signed_mean(sign))]
    for group in rest:
        last = front[-1]
        if is_conservative and group.count == 1:
            is_better = group.signed_mean(sign) > last.signed_best(sign)
        else:
            is_better = group.signed_mean(sign) > last.signed_mean(sign)
        if is_better:
            front.append(group)
    return front


def successes_front(
    observations: Sequence[ObservationInBasic],
    min_pareto_cost_fraction: float,
    better_direction_sign: int,
    is_conservative: bool,
    is_bucket_challenged: bool = False,
    is_tie_better_first: bool = True,
) -> list[ObservationGroup]:
    """The Pareto front of the successful ``observations`` (see :func:`pareto_groups`)."""
    successes = [o for o in observations if o.is_complete]
    if not successes:
        return []
    return pareto_groups(
        group_observations(successes),
        min_pareto_cost_fraction,
        better_direction_sign,
        is_conservative,
        is_bucket_challenged,
        is_tie_better_first,
    )


def pareto_area(front: Sequence[ObservationGroup]) -> float:
    """Area under the front's step curve in (cost, output), between its cheapest and dearest."""
    area = 0.0
    for previous, current in itertools.pairwise(front):
        area += (current.mean_cost - previous.mean_cost) * previous.mean_output
    return area


def front_inputs(front: Sequence[ObservationGroup]) -> Tensor:
    """Stack the inputs of front members, shape ``(m, d)``."""
    return torch.stack([g.input_in_basic for g in front])
