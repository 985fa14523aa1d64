"""Grouping of observations, Pareto front selection and front area."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from carbs.observations import ObservationInBasic
from carbs.pareto import (
    ObservationGroup,
    best_observation,
    group_observations,
    input_key,
    pareto_area,
    pareto_groups,
    relative_noise,
)


def _group(x: float, outputs: tuple[float, ...], cost: float) -> ObservationGroup:
    return ObservationGroup(
        input_in_basic=torch.tensor([x], dtype=torch.float64),
        outputs=outputs,
        costs=tuple(cost for _ in outputs),
    )


def _names(front: list[ObservationGroup], groups: dict[str, ObservationGroup]) -> list[str]:
    by_id = {id(g): name for name, g in groups.items()}
    return [by_id[id(g)] for g in front]


def _conservative_example(sign: int) -> dict[str, ObservationGroup]:
    """The issue's example; outputs are multiplied by ``sign`` so that sign -1 mirrors it."""
    return {
        "A": _group(0.0, (0.0 * sign, 1.0 * sign), 1.0),  # mean 0.5, best 1.0
        "B": _group(1.0, (0.6 * sign,), 2.0),
        "C": _group(2.0, (0.55 * sign, 0.75 * sign), 3.0),  # mean 0.65, best 0.75
        "D": _group(3.0, (0.8 * sign,), 4.0),
    }


@pytest.mark.parametrize("sign", [1, -1])
@pytest.mark.parametrize(
    ("is_conservative", "expected"),
    [(False, ["A", "B", "C", "D"]), (True, ["A", "C", "D"])],
)
def test_conservative_example(sign: int, is_conservative: bool, expected: list[str]) -> None:
    groups = _conservative_example(sign)
    # Input order must not matter: the front is sorted by cost.
    shuffled = [groups[k] for k in ("D", "B", "A", "C")]
    front = pareto_groups(shuffled, 0.2, sign, is_conservative)
    assert _names(front, groups) == expected


@pytest.mark.parametrize(
    ("outputs_and_costs", "sign", "expected"),
    [
        # Each more expensive group improves on the last: all join.
        ([((1.0,), 1.0), ((2.0,), 2.0), ((3.0,), 3.0)], 1, [0, 1, 2]),
        # A dearer group that is not better is dropped.
        ([((1.0,), 1.0), ((0.5,), 2.0), ((3.0,), 3.0)], 1, [0, 2]),
        # Ties do not join (strictly better only).
        ([((1.0,), 1.0), ((1.0,), 2.0), ((1.5,), 3.0)], 1, [0, 2]),
        # Minimisation: smaller outputs are better.
        ([((3.0,), 1.0), ((2.0,), 2.0), ((2.5,), 3.0), ((1.0,), 4.0)], -1, [0, 1, 3]),
        ([((1.0,), 1.0), ((2.0,), 2.0)], -1, [0]),
        # Compared with the last *front member*, not the last group seen.
        ([((1.0,), 1.0), ((0.0,), 2.0), ((0.5,), 3.0), ((1.1,), 4.0)], 1, [0, 3]),
    ],
)
def test_plain_front_table(
    outputs_and_costs: list[tuple[tuple[float, ...], float]], sign: int, expected: list[int]
) -> None:
    groups = [_group(float(i), o, c) for i, (o, c) in enumerate(outputs_and_costs)]
    front = pareto_groups(list(reversed(groups)), 0.0, sign, is_conservative=False)
    assert [groups.index(g) for g in front] == expected
    costs = [g.mean_cost for g in front]
    assert costs == sorted(costs)


def test_cheap_bucket_keeps_only_its_best() -> None:
    # Costs 1..10: the 0.5 quantile is 5.5, so groups with cost <= 5 form one bucket.
    outputs = [0.1, 0.9, 0.3, 0.2, 0.4, 0.5, 0.95, 0.8, 1.0, 1.2]
    groups = [_group(float(i), (y,), float(i + 1)) for i, y in enumerate(outputs)]
    front = pareto_groups(groups, 0.5, 1, is_conservative=False)
    # Bucket best is 0.9 (cost 2); cheap groups 0.1/0.3/0.2/0.4 are gone even though in plain
    # cost order 0.1 -> 0.3 -> 0.4 would all have joined. Then 0.95 and above.
    assert [g.outputs[0] for g in front] == [0.9, 0.95, 1.0, 1.2]

    # Without the bucket (fraction 0), the cheapest group starts the front.
    front = pareto_groups(groups, 0.0, 1, is_conservative=False)
    assert [g.outputs[0] for g in front] == [0.1, 0.9, 0.95, 1.0, 1.2]

    # Minimisation mirror.
    mirrored = [_group(float(i), (-y,), float(i + 1)) for i, y in enumerate(outputs)]
    front = pareto_groups(mirrored, 0.5, -1, is_conservative=False)
    assert [g.outputs[0] for g in front] == [-0.9, -0.95, -1.0, -1.2]


def test_cheap_bucket_uses_the_quantile_of_all_observed_costs() -> None:
    # Costs [1, 1, 1, 1, 10, 20]: the 0.5 quantile is 1, so only the cost-1 groups are bucketed.
    groups = [
        _group(0.0, (0.3,), 1.0),
        _group(1.0, (0.7, 0.7, 0.7), 1.0),
        _group(2.0, (0.5,), 10.0),
        _group(3.0, (0.9,), 20.0),
    ]
    front = pareto_groups(groups, 0.5, 1, is_conservative=False)
    assert [g.mean_output for g in front] == pytest.approx([0.7, 0.9])


def test_conservative_bucket_prefers_resampled_groups() -> None:
    # Both groups are in the cheap bucket; the lucky single sample beats the confirmed mean.
    lucky = _group(0.0, (0.9,), 1.0)
    confirmed = _group(1.0, (0.6, 0.7), 1.0)
    dearer = _group(2.0, (0.8,), 5.0)
    groups = [lucky, confirmed, dearer]
    assert pareto_groups(groups, 0.5, 1, is_conservative=False) == [lucky]
    assert pareto_groups(groups, 0.5, 1, is_conservative=True) == [confirmed, dearer]


def test_a_challenged_bucket_lets_a_single_sample_beat_the_resampled_groups() -> None:
    # As above the bucket, a single sample must beat the confirmed group's best sample
    # (0.7), not its mean (0.65).
    confirmed = _group(1.0, (0.6, 0.7), 1.0)
    dearer = _group(2.0, (0.8,), 5.0)
    close = _group(0.0, (0.69,), 1.0)
    assert pareto_groups([close, confirmed, dearer], 0.5, 1, True, True) == [confirmed, dearer]
    lucky = _group(0.0, (0.9,), 1.0)
    higher = _group(3.0, (0.75,), 1.0)
    groups = [lucky, higher, confirmed, dearer]
    assert pareto_groups(groups, 0.5, 1, True, True) == [lucky]  # the best challenger
    assert pareto_groups(groups, 0.5, 1, True, False) == [confirmed, dearer]
    # Minimising: the best sample is the lowest.
    low = _group(1.0, (0.3, 0.4), 1.0)
    assert pareto_groups([_group(0.0, (0.25,), 1.0), low], 0.5, -1, True, True)[0].outputs == (
        0.25,
    )
    assert pareto_groups([_group(0.0, (0.31,), 1.0), low], 0.5, -1, True, True) == [low]


def test_where_every_run_costs_the_same_the_front_is_the_best_run() -> None:
    """Counted runs (cost 1 each) fill the bucket; after one resample the front once
    stayed at that run however much better the runs after it were."""
    resampled = _group(0.0, (0.5, 0.55), 1.0)
    later = [_group(float(i), (0.5 + 0.1 * i,), 1.0) for i in range(1, 6)]
    front = pareto_groups([resampled, *later], 0.2, 1, True, True)
    assert front == [later[-1]]
    assert pareto_groups([resampled, *later], 0.2, 1, True, False) == [resampled]


@pytest.mark.parametrize("is_conservative", [False, True])
@pytest.mark.parametrize("sign", [1, -1])
def test_a_group_beaten_at_the_same_cost_never_joins_whatever_the_order(
    sign: int, is_conservative: bool
) -> None:
    # Groups of equal cost were taken in recording order, so a worse one recorded
    # first joined the front and the better one then joined after it.
    cheap = _group(0.0, (sign * 1.0,), 1.0)
    better, worse = _group(1.0, (sign * 3.0,), 10.0), _group(2.0, (sign * 2.0,), 10.0)
    dearer = _group(3.0, (sign * 4.0,), 100.0)
    for order in ([cheap, better, worse, dearer], [cheap, worse, better, dearer]):
        front = pareto_groups(order, 0.0, sign, is_conservative)
        assert front == [cheap, better, dearer]
    # States saved before format 11 keep the recording order.
    old_rule = pareto_groups(
        [cheap, worse, better, dearer], 0.0, sign, is_conservative, False, False
    )
    assert old_rule == [cheap, worse, better, dearer]


@pytest.mark.parametrize("cost", [0.1, 2.7692050923169204e-05, 3.0, 1e-300])
def test_a_group_of_equal_costs_has_exactly_that_cost(cost: float) -> None:
    # np.mean of three costs of 0.1 is 0.10000000000000002: the resampled group at the
    # bucket's threshold fell out of the cheap bucket, and a worse single run led it.
    resampled = ObservationGroup(
        input_in_basic=torch.zeros(1, dtype=torch.float64),
        outputs=(0.0, 0.1, 0.2),
        costs=(cost, cost, cost),
    )
    assert resampled.mean_cost == cost
    worse = _group(1.0, (-5.0,), cost)
    assert pareto_groups([resampled, worse], 0.2, 1, is_conservative=True) == [resampled]


def test_front_of_one_group_and_of_none() -> None:
    only = _group(0.0, (1.0,), 3.0)
    assert pareto_groups([only], 0.2, 1, True) == [only]
    assert pareto_groups([], 0.2, 1, True) == []


def _obs(x: list[float], output: float, cost: float) -> ObservationInBasic:
    return ObservationInBasic(torch.tensor(x, dtype=torch.float64), output, cost)


def test_identical_inputs_are_grouped_with_mean_output_and_cost() -> None:
    observations = [
        _obs([0.1, 0.2], 1.0, 2.0),
        _obs([0.3, 0.2], 5.0, 1.0),
        _obs([0.1, 0.2], 3.0, 4.0),
        _obs([0.1 + 1e-13, 0.2], 2.0, 6.0),  # equal to 9 decimals: same input
        _obs([0.1 + 1e-6, 0.2], 7.0, 1.0),  # a different input
    ]
    groups = group_observations(observations)
    assert [g.count for g in groups] == [3, 1, 1]  # order of first appearance
    first = groups[0]
    assert first.outputs == (1.0, 3.0, 2.0)
    assert first.mean_output == pytest.approx(2.0)
    assert first.mean_cost == pytest.approx(4.0)
    assert first.signed_best(1) == 3.0 and first.signed_best(-1) == -1.0
    assert torch.equal(first.input_in_basic, observations[0].real_number_input)
    assert groups[1].outputs == (5.0,) and groups[2].outputs == (7.0,)


def test_grouping_feeds_the_conservative_rule() -> None:
    # Two samples at the same cheap input and one lucky single sample at a dearer one.
    observations = [
        _obs([0.0], 0.0, 1.0),
        _obs([0.0], 1.0, 1.0),
        _obs([1.0], 0.6, 2.0),
    ]
    groups = group_observations(observations)
    assert len(groups) == 2
    assert len(pareto_groups(groups, 0.0, 1, is_conservative=False)) == 2
    assert len(pareto_groups(groups, 0.0, 1, is_conservative=True)) == 1


def test_pareto_area_hand_computed() -> None:
    front = [
        _group(0.0, (1.0,), 1.0),
        _group(1.0, (2.0, 4.0), 3.0),  # mean 3
        _group(2.0, (5.0,), 7.0),
    ]
    # Step curve: output 1 on [1, 3], output 3 on [3, 7]: 2 * 1 + 4 * 3 = 14.
    assert pareto_area(front) == pytest.approx(14.0)
    assert pareto_area(front[:1]) == 0.0
    assert pareto_area([]) == 0.0


# -- measured noise ------------------------------------------------------------------------------
def test_relative_noise_pools_repeats_over_the_robust_spread() -> None:
    groups = [
        _group(0.0, (1.0, 3.0), 1.0),  # squared deviations 1 + 1
        _group(1.0, (4.0, 4.0, 7.0), 2.0),  # 1 + 1 + 4
        _group(2.0, (10.0,), 3.0),
    ]
    outputs = [1.0, 3.0, 4.0, 4.0, 7.0, 10.0]
    q1, q3 = float(np.quantile(outputs, 0.25)), float(np.quantile(outputs, 0.75))
    pooled = math.sqrt((2.0 + 6.0) / (1 + 2))
    assert relative_noise(groups) == pytest.approx(pooled / ((q3 - q1) / 1.349))


def test_a_group_of_runs_near_the_largest_float_has_a_finite_mean() -> None:
    # Their sum passes the float range; the mean of 1.7e308 and 1.5e308 does not.
    group = ObservationGroup(
        input_in_basic=torch.zeros(1, dtype=torch.float64),
        outputs=(1.7e308, 1.5e308),
        costs=(1.6e308, 1.6e308),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert group.mean_output == pytest.approx(1.6e308, rel=1e-15)
        assert group.mean_cost == 1.6e308
        assert group.signed_mean(-1) == pytest.approx(-1.6e308, rel=1e-15)
    assert _group(0.0, (1.0, 2.0, 4.0), 1.0).mean_output == 7 / 3  # same bits as before


def test_relative_noise_of_outputs_near_the_largest_float_is_that_of_the_same_runs_scaled() -> None:
    # The ratio has no units; squaring outputs of 1e308 used to overflow to inf or NaN.
    outputs = [(1.5e308, 1.2e308), (-1.6e308,), (1.0e308, 1.3e308, 0.9e308), (2.0e307,)]
    groups = [_group(float(i), o, 1.0) for i, o in enumerate(outputs)]
    scaled = [_group(float(i), tuple(v / 1e300 for v in o), 1.0) for i, o in enumerate(outputs)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        noise = relative_noise(groups)
    assert noise is not None and math.isfinite(noise)
    assert noise == pytest.approx(relative_noise(scaled), rel=1e-12)


def test_relative_noise_is_unknown_without_repeats_or_spread() -> None:
    assert relative_noise([_group(0.0, (1.0,), 1.0), _group(1.0, (2.0,), 1.0)]) is None
    assert relative_noise([_group(0.0, (2.0, 2.0), 1.0), _group(1.0, (2.0,), 1.0)]) is None
    repeats_agree = [
        _group(0.0, (2.0, 2.0), 1.0),
        _group(1.0, (5.0, 5.0), 1.0),
        _group(2.0, (9.0,), 1.0),
    ]
    assert relative_noise(repeats_agree) == 0.0


def test_inputs_past_1e299_in_basic_space_keep_keys_of_their_own() -> None:
    # Rounding to 9 decimals multiplies by 1e9: 5e299 and 9e299 both became inf, and
    # two runs were grouped as one input (with an overflow warning).
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        keys = [input_key(torch.tensor([x], dtype=torch.float64)) for x in (5e299, 9e299)]
    assert keys == [(5e299,), (9e299,)]
    assert input_key(torch.tensor([0.1234567891234], dtype=torch.float64)) == (0.123456789,)


@pytest.mark.parametrize("sign", [1, -1])
def test_of_equal_outputs_the_cheaper_run_is_the_best(sign: int) -> None:
    # The dearer of two runs with one output came first (recording order), so best()
    # and `carbs best` named a run the front leaves out as dominated.
    runs = [
        ObservationInBasic(torch.tensor([float(i)]), output, cost)
        for i, (output, cost) in enumerate([(0.98, 100.0), (0.98, 10.0), (0.5, 1.0)])
    ]
    best = best_observation(runs, sign)
    assert best is not None
    assert (best.output, best.cost) == ((0.98, 10.0) if sign == 1 else (0.5, 1.0))
