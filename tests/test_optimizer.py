"""The CARBS optimizer end to end: convergence, determinism, bounds, errors and bookkeeping."""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pytest
import torch
from conftest import ThreadRunner

from carbs import (
    CARBS,
    SUGGESTION_ID_DICT_KEY,
    CARBSParams,
    CategoricalSpace,
    InvalidObservationError,
    LinearSpace,
    LogitSpace,
    LogSpace,
    ObservationInParam,
    OrdinalSpace,
    OutstandingSuggestionEstimatorEnum,
    Param,
)
from carbs.surrogate.model import SurrogateModel


# -- a cost-aware toy problem --------------------------------------------------------------------
def toy_loss(learning_rate: float, width: int, epochs: int) -> float:
    """Loss with an lr optimum at 1e-2 that falls with width and epochs."""
    return (
        1.0
        + 0.3 * math.log10(learning_rate / 1e-2) ** 2
        + 2.0 / math.sqrt(width)
        + 2.0 / math.sqrt(epochs)
    )


# width <= 64 and epochs <= 16 cap the cost at 1024, so the best loss is known: lr = 1e-2 at the
# most expensive corner.
TOY_OPTIMUM = toy_loss(1e-2, 64, 16)  # 1.75


def toy_params(scale: float = 2.0) -> list[Param]:
    return [
        Param("learning_rate", LogSpace(min=1e-5, max=1.0, scale=scale), search_center=1e-3),
        Param("width", LogSpace(is_integer=True, min=4, max=64, scale=scale), search_center=8),
        Param("epochs", LogSpace(is_integer=True, min=1, max=16, scale=scale), search_center=2),
    ]


def toy_observation(suggestion: dict[str, Any]) -> ObservationInParam:
    loss = toy_loss(suggestion["learning_rate"], suggestion["width"], suggestion["epochs"])
    cost = float(suggestion["width"] * suggestion["epochs"])
    return ObservationInParam(input=suggestion, output=loss, cost=cost)


def fast_config(**kwargs: Any) -> CARBSParams:
    settings: dict[str, Any] = {
        "better_direction_sign": -1,
        "num_candidates_for_suggestion_per_dim": 20,
    }
    settings.update(kwargs)
    return CARBSParams(**settings)


def run_toy(carbs: CARBS, steps: int) -> list[dict[str, Any]]:
    suggestions = []
    for _ in range(steps):
        suggestion = carbs.suggest().suggestion
        carbs.observe(toy_observation(suggestion))
        suggestions.append(suggestion)
    return suggestions


def param_values(suggestion: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in suggestion.items() if k != SUGGESTION_ID_DICT_KEY}


# -- convergence ---------------------------------------------------------------------------------
# The search starts at loss 3.41 (lr 1e-3, width 8, epochs 2), 1.66 above the optimum. Random
# search over the box (log-uniform) reaches a median gap of 0.24 in 40 runs; CARBS, which has to
# climb the cost axis from the cheap centre, reaches <= 0.11 on seeds 0-15.
CONVERGENCE_TOLERANCE = 0.15


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_end_to_end_finds_the_known_optimum(seed: int) -> None:
    carbs = CARBS(CARBSParams(better_direction_sign=-1, seed=seed), toy_params())
    suggestions = run_toy(carbs, 40)
    losses = [toy_observation(s).output for s in suggestions]
    assert min(losses) >= TOY_OPTIMUM - 1e-12
    assert min(losses) - TOY_OPTIMUM < CONVERGENCE_TOLERANCE
    assert carbs.observation_count == 40 and not carbs.outstanding_suggestions
    front = carbs.get_pareto_groups()
    assert [g.mean_cost for g in front] == sorted(g.mean_cost for g in front)
    # The most expensive front member is the best observation.
    assert front[-1].mean_output == pytest.approx(min(losses))


# -- determinism ---------------------------------------------------------------------------------
def test_same_seed_same_suggestions_and_different_seeds_differ() -> None:
    runs = [run_toy(CARBS(fast_config(seed=seed), toy_params()), 12) for seed in (5, 5, 6)]
    first, again, other = ([param_values(s) for s in run] for run in runs)
    assert first == again
    assert first != other
    # Suggestion ids are fresh UUIDs, never reused.
    ids = {s[SUGGESTION_ID_DICT_KEY] for run in runs for s in run}
    assert len(ids) == 36


# -- bounds and integrality ----------------------------------------------------------------------
def test_every_suggestion_respects_tight_bounds_and_the_lattice() -> None:
    params = [
        Param("lr", LogSpace(min=1e-3, max=3e-3), search_center=2e-3),
        Param(
            "width", LogSpace(min=16, max=128, is_integer=True, rounding_factor=8), search_center=32
        ),
        Param(
            "batch",
            LinearSpace(min=2, max=12, is_integer=True, rounding_factor=2, scale=10),
            search_center=6,
        ),
        Param("momentum", LogitSpace(min=0.85, max=0.95), search_center=0.9),
    ]
    carbs = CARBS(fast_config(resample_frequency=4, seed=3), params)
    types = set()
    for _ in range(25):
        out = carbs.suggest()
        s = out.suggestion
        types.add(out.log["suggestion_type"])
        assert 1e-3 <= s["lr"] <= 3e-3 and isinstance(s["lr"], float)
        assert 16 <= s["width"] <= 128 and type(s["width"]) is int and s["width"] % 8 == 0
        assert 2 <= s["batch"] <= 12 and type(s["batch"]) is int and s["batch"] % 2 == 0
        assert 0.85 <= s["momentum"] <= 0.95
        loss = (math.log10(s["lr"] / 2.5e-3)) ** 2 + 10 / s["width"] + (s["momentum"] - 0.9) ** 2
        carbs.observe(ObservationInParam(input=s, output=loss, cost=s["width"] * s["batch"]))
    assert {"random", "bayesian", "resample"} <= types


def test_narrow_bounds_never_make_suggest_fail() -> None:
    # A valid declaration: the centre lies inside [min, max]. The lr interval is only 0.04
    # basic units wide (the radius is 0.3), so most Gaussian draws fall outside it.
    failures = []
    for seed in range(12):
        carbs = CARBS(
            fast_config(seed=seed),
            [
                Param("lr", LogSpace(min=1e-3, max=1.1e-3), search_center=1.05e-3),
                Param("w", LinearSpace(min=0, max=10), search_center=5.0),
            ],
        )
        try:
            for _ in range(4):
                s = carbs.suggest().suggestion
                assert 1e-3 <= s["lr"] <= 1.1e-3 and 0 <= s["w"] <= 10
                carbs.observe(ObservationInParam(s, s["lr"] * 1e3 + s["w"], 1.0 + s["w"]))
        except RuntimeError as error:
            failures.append((seed, str(error)))
    assert failures == []


# -- invalid observations ------------------------------------------------------------------------
def _state(carbs: CARBS) -> tuple[Any, ...]:
    return (
        carbs.observation_count,
        len(carbs.success_observations),
        len(carbs.failure_observations),
        sorted(carbs.outstanding_suggestions),
        carbs.resample_count,
        [o.observed_at for o in carbs.observations],
    )


@pytest.fixture
def busy_carbs() -> tuple[CARBS, dict[str, Any]]:
    """An optimizer with a few observations and two outstanding suggestions."""
    carbs = CARBS(fast_config(seed=1), toy_params())
    run_toy(carbs, 5)
    carbs.suggest()
    pending = carbs.suggest().suggestion
    return carbs, pending


def _without(d: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != key}


BAD_OBSERVATIONS: list[tuple[str, Any, list[str]]] = [
    ("missing key", lambda s: ObservationInParam(_without(s, "width"), 1.0, 1.0), ["width"]),
    ("unknown key", lambda s: ObservationInParam({**s, "dropout": 0.1}, 1.0, 1.0), ["dropout"]),
    (
        "above max",
        lambda s: ObservationInParam({**s, "learning_rate": 2.0}, 1.0, 1.0),
        ["learning_rate", "max=1.0"],
    ),
    (
        "below min",
        lambda s: ObservationInParam({**s, "width": 2}, 1.0, 1.0),
        ["width", "min=4"],
    ),
    (
        "value NaN",
        lambda s: ObservationInParam({**s, "epochs": math.nan}, 1.0, 1.0),
        ["epochs", "finite"],
    ),
    (
        "value not a number",
        lambda s: ObservationInParam({**s, "epochs": "4"}, 1.0, 1.0),
        ["epochs"],
    ),
    ("cost zero", lambda s: ObservationInParam(s, 1.0, 0.0), ["cost", "> 0"]),
    ("cost negative", lambda s: ObservationInParam(s, 1.0, -3.0), ["cost", "-3"]),
    ("cost NaN", lambda s: ObservationInParam(s, 1.0, math.nan), ["cost", "nan"]),
    ("cost inf", lambda s: ObservationInParam(s, 1.0, math.inf), ["cost", "inf"]),
    ("not an observation", lambda s: {"input": s, "output": 1.0, "cost": 1.0}, ["dict"]),
    ("input not a dict", lambda s: ObservationInParam([1, 2, 3], 1.0, 1.0), ["list"]),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(
    ("make", "words"),
    [case[1:] for case in BAD_OBSERVATIONS],
    ids=[case[0] for case in BAD_OBSERVATIONS],
)
def test_invalid_observation_raises_and_changes_nothing(
    busy_carbs: tuple[CARBS, dict[str, Any]], make: Any, words: list[str]
) -> None:
    carbs, pending = busy_carbs
    before = _state(carbs)
    assert pending[SUGGESTION_ID_DICT_KEY] in carbs.outstanding_suggestions
    with pytest.raises(InvalidObservationError) as info:
        carbs.observe(make(pending))
    assert isinstance(info.value, ValueError)
    for word in words:
        assert word in str(info.value), (word, str(info.value))
    assert _state(carbs) == before
    # The optimizer still works afterwards.
    carbs.observe(toy_observation(pending))
    assert carbs.observation_count == before[0] + 1


def test_initialize_from_observations_with_one_bad_observation_adds_none() -> None:
    carbs = CARBS(fast_config(), toy_params())
    good = [
        toy_observation({"learning_rate": 1e-2, "width": 16, "epochs": 4}),
        toy_observation({"learning_rate": 3e-3, "width": 8, "epochs": 2}),
    ]
    bad = ObservationInParam({"learning_rate": 1e-2, "width": 16, "epochs": 400}, 1.0, 1.0)
    center = carbs.search_center_in_basic.clone()
    with pytest.raises(InvalidObservationError, match="epochs"):
        carbs.initialize_from_observations([*good, bad])
    assert carbs.observation_count == 0 and carbs.observations == ()
    assert (carbs.search_center_in_basic == center).all()

    logs = carbs.initialize_from_observations(good).logs
    assert logs["observation_count"] == 2 and carbs.observation_count == 2
    # The search centre moves to the best observation.
    expected = carbs.search_space.basic_from_param_dict(good[0].input)
    assert (carbs.search_center_in_basic == expected).all()


# -- failures ------------------------------------------------------------------------------------
def test_failures_are_recorded_apart_from_successes() -> None:
    carbs = CARBS(fast_config(), toy_params())
    point = {"learning_rate": 1e-2, "width": 16, "epochs": 4}
    carbs.observe(ObservationInParam(point, 1.0, 2.0, is_failure=True))
    carbs.observe(ObservationInParam(point, math.nan, 2.0))
    carbs.observe(ObservationInParam(point, math.inf, 2.0))
    logs = carbs.observe(ObservationInParam(point, -math.inf, 2.0)).logs
    assert len(carbs.failure_observations) == 4 and carbs.success_observations == []
    assert logs["failed_observation_count"] == 4 and logs["observation/is_failure"] == 1
    logs = carbs.observe(ObservationInParam(point, 2.5, 2.0)).logs
    assert len(carbs.success_observations) == 1 and logs["observation/is_failure"] == 0
    assert logs["best_observation/output"] == 2.5
    assert carbs.cumulative_cost == 2.0  # failures do not count towards it


def test_failure_region_lowers_success_probability() -> None:
    carbs = CARBS(fast_config(resample_frequency=0, seed=4), toy_params())
    probabilities = []
    for _ in range(16):
        out = carbs.suggest()
        s = out.suggestion
        if out.log["suggestion_type"] == "bayesian":
            probabilities.append(out.log["success_probability"])
        diverged = s["learning_rate"] > 2e-3  # runs diverge above lr = 2e-3
        observation = toy_observation(s)
        observation.is_failure = diverged
        carbs.observe(observation)
    assert carbs.failure_observations and carbs.success_observations
    assert probabilities
    assert all(0.0 <= p <= 1.0 for p in probabilities)
    assert min(probabilities) < 1.0


# -- outstanding suggestions ---------------------------------------------------------------------
@pytest.mark.parametrize("warm_up", [0, 6], ids=["random", "bayesian"])
def test_two_suggestions_without_observing_differ_and_are_outstanding(warm_up: int) -> None:
    carbs = CARBS(fast_config(resample_frequency=0), toy_params())
    run_toy(carbs, warm_up)
    first, second = carbs.suggest(), carbs.suggest()
    assert first.log["suggestion_type"] == ("random" if warm_up == 0 else "bayesian")
    assert second.log["suggestion_type"] == first.log["suggestion_type"]
    assert param_values(first.suggestion) != param_values(second.suggestion)
    ids = [first.suggestion[SUGGESTION_ID_DICT_KEY], second.suggestion[SUGGESTION_ID_DICT_KEY]]
    assert ids[0] != ids[1] and sorted(carbs.outstanding_suggestions) == sorted(ids)

    logs = carbs.observe(toy_observation(first.suggestion)).logs
    assert list(carbs.outstanding_suggestions) == [ids[1]]
    assert logs["outstanding_suggestion_count"] == 1
    assert carbs.forget_suggestion(first.suggestion) is False  # observed, not running
    assert list(carbs.outstanding_suggestions) == [ids[1]]
    assert carbs.forget_suggestion(second.suggestion) is True
    assert carbs.outstanding_suggestions == {}
    assert carbs.forget_suggestion(second.suggestion) is False  # forgetting twice is harmless
    assert carbs.observation_count == warm_up + 1


def test_forgetting_a_dict_without_an_id_says_so(caplog: pytest.LogCaptureFixture) -> None:
    carbs = CARBS(fast_config(), toy_params())
    out = carbs.suggest()
    with caplog.at_level(logging.WARNING, logger="carbs"):
        assert carbs.forget_suggestion(out.params) is False  # the params alone, no id
    assert "nothing was forgotten" in caplog.text and "out.suggestion" in caplog.text
    assert list(carbs.outstanding_suggestions) == [out.suggestion[SUGGESTION_ID_DICT_KEY]]


@pytest.mark.parametrize("estimator", ["THOMPSON", "MEAN"])
def test_outstanding_suggestions_enter_the_model_as_pending(
    monkeypatch: pytest.MonkeyPatch, estimator: str
) -> None:
    calls: list[tuple[torch.Tensor, Any]] = []
    original = SurrogateModel.add_pending

    def spy(self: SurrogateModel, pending: torch.Tensor, how: Any) -> None:
        calls.append((pending.clone(), how))
        original(self, pending, how)

    monkeypatch.setattr(SurrogateModel, "add_pending", spy)
    carbs = CARBS(
        fast_config(resample_frequency=0, outstanding_suggestion_estimator=estimator),
        toy_params(),
    )
    run_toy(carbs, 5)
    carbs.suggest(is_suggestion_remembered=False)
    assert calls == []  # nothing outstanding: no fantasy
    first = carbs.suggest().suggestion
    second = carbs.suggest().suggestion
    assert len(calls) == 1
    pending, how = calls[0]
    assert how is OutstandingSuggestionEstimatorEnum(estimator)
    expected = carbs.search_space.basic_from_param_dict(first).unsqueeze(0)
    torch.testing.assert_close(pending, expected)
    carbs.suggest()
    assert calls[1][0].shape == (2, 3)
    torch.testing.assert_close(calls[1][0][1], carbs.search_space.basic_from_param_dict(second))


def test_suggestion_id_can_be_chosen() -> None:
    carbs = CARBS(fast_config(), toy_params())
    suggestion = carbs.suggest(suggestion_id="run-7").suggestion
    assert suggestion[SUGGESTION_ID_DICT_KEY] == "run-7"
    assert list(carbs.outstanding_suggestions) == ["run-7"]


def test_a_chosen_id_must_be_new_and_a_refused_one_leaves_nothing_behind() -> None:
    """Reusing a running run's id silently replaced it, and reusing a recorded run's id
    appended the new run's reports to the old curve and then refused its result."""
    carbs = CARBS(fast_config(), toy_params())
    first = carbs.suggest(suggestion_id="run-1").suggestion
    carbs.report(first, 1.0, 1.0)
    done = carbs.suggest(suggestion_id="run-2").suggestion
    carbs.observe(toy_observation(done))
    before = carbs.serialize()
    for bad, message in [
        ("run-1", "'run-1' is already outstanding"),
        ("run-2", "'run-2' is already observed"),
        ("", "non-empty str"),
    ]:
        with pytest.raises(InvalidObservationError, match=message):
            carbs.suggest(suggestion_id=bad)
        assert carbs.serialize() == before  # no draw taken, nothing replaced
    nameless = toy_observation({**first, SUGGESTION_ID_DICT_KEY: ""})
    with pytest.raises(InvalidObservationError, match="non-empty str"):
        carbs.observe(nameless)
    with pytest.raises(InvalidObservationError, match="non-empty str"):
        carbs.observe_many([nameless])
    assert carbs.serialize() == before
    with pytest.raises(InvalidObservationError, match="'run-2' is already observed"):
        carbs.add_outstanding_suggestion(done)
    carbs.add_outstanding_suggestion(first)  # a running run re-announced stays one run
    assert list(carbs.outstanding_suggestions) == ["run-1"]
    assert carbs.get_state_dict()["curves"]["run-1"]["costs"] == [1.0]
    # Without remembering, an id is not kept, so it need not be new.
    assert SUGGESTION_ID_DICT_KEY not in carbs.suggest("run-2", False).suggestion


def test_unremembered_suggestion_has_no_uuid_and_is_not_outstanding() -> None:
    carbs = CARBS(fast_config(), toy_params())
    run_toy(carbs, 5)
    for _ in range(2):
        suggestion = carbs.suggest(is_suggestion_remembered=False).suggestion
        assert SUGGESTION_ID_DICT_KEY not in suggestion
        assert set(suggestion) == {"learning_rate", "width", "epochs"}
        assert carbs.outstanding_suggestions == {}
    carbs.observe(toy_observation(suggestion))
    assert carbs.observation_count == 6


# -- resampling ----------------------------------------------------------------------------------
def test_resample_repeats_a_pareto_front_member() -> None:
    carbs = CARBS(
        fast_config(resample_frequency=5, resample_noise_threshold=0.0, seed=2), toy_params()
    )
    resamples = 0
    for step in range(20):
        out = carbs.suggest()
        if out.log["suggestion_type"] == "resample":
            resamples += 1
            front = carbs.get_pareto_groups(is_conservative=False)
            members = [carbs.search_space.param_dict_from_basic(g.input_in_basic) for g in front]
            assert param_values(out.suggestion) in members
            # Only once at least resample_frequency successes have been seen.
            assert len(carbs.success_observations) > 5
        else:
            assert out.log["suggestion_type"] == ("random" if step < 4 else "bayesian")
        carbs.observe(toy_observation(out.suggestion))
    # One resample per resample_frequency observations after the first five.
    assert resamples == 3
    assert max(g.count for g in carbs.get_pareto_groups(is_conservative=False)) >= 2


def _count_resamples(threshold: float, noise_std: float, steps: int = 26) -> int:
    return _resampling_run(threshold, noise_std, steps)[0]


def _resampling_run(threshold: float, noise_std: float, steps: int = 26) -> tuple[int, CARBS]:
    carbs = CARBS(
        fast_config(resample_frequency=5, resample_noise_threshold=threshold, seed=2),
        toy_params(),
    )
    noise = np.random.default_rng(0)
    resamples = 0
    for _ in range(steps):
        out = carbs.suggest()
        resamples += out.log["suggestion_type"] == "resample"
        observation = toy_observation(out.suggestion)
        noisy = observation.output + noise_std * float(noise.normal())
        carbs.observe(ObservationInParam(input=out.suggestion, output=noisy, cost=observation.cost))
    return resamples, carbs


def test_resampling_stops_once_repeats_show_negligible_noise() -> None:
    # Noise-free outputs: the first resample measures zero noise, and no other follows.
    assert _count_resamples(threshold=0.1, noise_std=0.0) == 1
    # Noise as large as the outputs' spread: every due resample happens.
    assert _count_resamples(threshold=0.1, noise_std=1.0) == 4
    assert _count_resamples(threshold=0.0, noise_std=0.0) == 4


def test_a_skipped_turn_is_used_up_like_a_resample() -> None:
    # Turns fall due after successes 6, 11, 16 and 21: the first is a resample (no
    # noise measured yet), the three others are skipped, and each skip uses its turn,
    # so the next check waits resample_frequency more successes.
    resamples, carbs = _resampling_run(threshold=0.1, noise_std=0.0)
    assert resamples == 1 and carbs.resample_count == 4
    assert carbs.get_state_dict()["skipped_resample_turns"] == 3


def _front_of_two(carbs: CARBS, is_dear_failed_again: bool = False) -> None:
    """A cheap member (lr 1e-3, cost 10, repeated once) and a dear one (lr 1e-2, cost 100)."""
    runs = [(1e-3, 1.0, 10.0), (1e-3, 1.0, 10.0), (1e-2, 0.5, 100.0)]
    for i in range(6):  # off the front: worse and dearer
        runs.append((10 ** (-4.5 + 0.2 * i), 5.0, 200.0))
    for lr, loss, cost in runs:
        carbs.observe(ObservationInParam({"lr": lr}, output=loss, cost=cost))
    if is_dear_failed_again:
        carbs.observe(ObservationInParam({"lr": 1e-2}, math.nan, cost=100.0, is_failure=True))


@pytest.mark.parametrize(
    ("settings", "is_dear_failed_again", "expected_lr"),
    [
        ({}, False, 1e-2),  # the least sampled member
        ({"max_suggestion_cost": 50.0}, False, 1e-3),  # was 1e-2: a repeat above the cap
        ({}, True, 1e-3),  # was 1e-2 on every turn: its failed repeat did not count
    ],
)
def test_a_resample_repeats_a_member_within_the_cap_that_did_not_fail(
    settings: dict[str, Any], is_dear_failed_again: bool, expected_lr: float
) -> None:
    config = fast_config(
        num_random_samples=1, resample_frequency=1, resample_noise_threshold=0.0, **settings
    )
    carbs = CARBS(config, [Param("lr", LogSpace(min=1e-6, max=1.0), search_center=1e-3)])
    _front_of_two(carbs, is_dear_failed_again)
    out = carbs.suggest()
    assert out.log["suggestion_type"] == "resample"
    assert out.params["lr"] == pytest.approx(expected_lr)


def test_warm_up_suggestions_in_a_small_space_are_distinct() -> None:
    # Drawn without looking at pending runs, 8 suggestions held 4 or 5 distinct points.
    params = [
        Param("optimizer", CategoricalSpace(choices=["sgd", "adam", "lion"]), "adam"),
        Param("batch_size", OrdinalSpace.powers_of(2, min=16, max=1024), search_center=64),
    ]
    for seed in range(3):
        batch = CARBS(CARBSParams(seed=seed), params).suggest_batch(8)
        assert len({tuple(out.params.values()) for out in batch}) == 8


@pytest.mark.parametrize("seed", [0, 3])
def test_bayesian_suggestions_in_a_small_space_are_distinct_while_pending(seed: int) -> None:
    # 24 legal points, 4 observed: rounding put several candidates onto a pending point,
    # and suggest_batch(6) held 3 distinct points, six suggest() calls 4 or 5.
    params = [
        Param("opt", CategoricalSpace(choices=["a", "b"]), search_center="a"),
        Param("bs", OrdinalSpace(values=[16, 32, 64]), search_center=32),
        Param("ep", LogSpace(is_integer=True, min=1, max=4), search_center=2),
    ]
    carbs = CARBS(CARBSParams(better_direction_sign=-1, num_random_samples=3, seed=seed), params)
    for out in carbs.suggest_batch(4):
        p = out.params
        loss = 1 + (p["opt"] == "b") * 0.1 + 1 / p["ep"] + p["bs"] / 640
        carbs.observe(ObservationInParam(out.suggestion, loss, cost=p["ep"] * p["bs"] / 16))
    batch = carbs.suggest_batch(6)
    assert all(out.log["suggestion_type"] == "bayesian" for out in batch)
    assert len({tuple(out.params.values()) for out in batch}) == 6


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_above_the_cap_the_search_tries_a_choice_it_has_not_costed(seed: int) -> None:
    # Every run so far used the dear model, above the cap: the cost model predicted its
    # cost for every choice, the cheapest predicted candidate was again a dear one, and
    # the search never left it. Untried choices are the ones likely to cost less.
    cost_of = {"small": 1.0, "medium": 4.0, "large": 16.0}
    params = [
        Param("lr", LogSpace(min=1e-6, max=1.0), search_center=1e-4),
        Param("model", CategoricalSpace(choices=list(cost_of)), search_center="large"),
    ]
    carbs = CARBS(fast_config(seed=seed, max_suggestion_cost=5.0), params)
    for i in range(4):
        lr = 10 ** (-5.0 + 0.5 * i)
        loss = 0.3 * (math.log10(lr) + 2.5) ** 2 + 0.25
        carbs.observe(ObservationInParam({"lr": lr, "model": "large"}, loss, 16.0 * (1 + i / 50)))
    out = carbs.suggest()
    assert out.log["suggestion_type"] == "bayesian" and "max_suggestion_cost" in out.log["warning"]
    assert out.params["model"] != "large"


def test_resample_frequency_zero_never_resamples() -> None:
    carbs = CARBS(fast_config(resample_frequency=0), toy_params())
    types = []
    for _ in range(12):
        out = carbs.suggest()
        types.append(out.log["suggestion_type"])
        carbs.observe(toy_observation(out.suggestion))
    assert "resample" not in types


# -- max_suggestion_cost -------------------------------------------------------------------------
def test_bayesian_suggestions_stay_below_max_cost() -> None:
    max_cost = 40.0
    carbs = CARBS(fast_config(max_suggestion_cost=max_cost, seed=7), toy_params())
    predicted = []
    for _ in range(20):
        out = carbs.suggest()
        if out.log["suggestion_type"] == "bayesian":
            predicted.append(out.log["predicted_cost"])
            assert out.log["predicted_cost"] < max_cost
        carbs.observe(toy_observation(out.suggestion))
    assert len(predicted) >= 10
    # Without the cap the same run is sent to points predicted well above it.
    uncapped = CARBS(fast_config(seed=7), toy_params())
    uncapped_predicted = []
    for _ in range(20):
        out = uncapped.suggest()
        uncapped_predicted.append(out.log.get("predicted_cost", 0.0))
        uncapped.observe(toy_observation(out.suggestion))
    assert max(uncapped_predicted) > 2 * max_cost


# -- logs ----------------------------------------------------------------------------------------
def test_suggest_and_observe_logs() -> None:
    carbs = CARBS(fast_config(resample_frequency=0), toy_params())
    first = carbs.suggest()
    assert first.log["suggestion_type"] == "random"
    logs = carbs.observe(toy_observation(first.suggestion)).logs
    assert logs["observation_count"] == 1
    assert logs["best_observation/output"] == toy_observation(first.suggestion).output
    assert logs["pareto_group_count"] == 1
    run_toy(carbs, 4)
    out = carbs.suggest()
    assert out.log["suggestion_type"] == "bayesian"
    for key in (
        "predicted_output",
        "predicted_output_std",
        "predicted_cost",
        "success_probability",
        "expected_improvement",
    ):
        assert isinstance(out.log[key], float) and math.isfinite(out.log[key]), key
    assert out.log["predicted_output_std"] > 0 and out.log["predicted_cost"] > 0
    assert out.log["success_probability"] == 1.0  # no failure seen
    assert out.log["expected_improvement"] >= 0
    logs = carbs.observe(toy_observation(out.suggestion)).logs
    losses = [o.output for o in carbs.success_observations]
    assert logs["observation_count"] == 6
    assert logs["best_observation/output"] == min(losses)
    assert logs["pareto_group_count"] == len(carbs.get_pareto_groups()) >= 1


# -- threads -------------------------------------------------------------------------------------
def test_parallel_workers_keep_every_observation(run_threads: ThreadRunner) -> None:
    carbs = CARBS(fast_config(), toy_params())

    def worker(index: int) -> None:
        for _ in range(10):
            suggestion = carbs.suggest().suggestion
            carbs.observe(toy_observation(suggestion))

    run_threads(worker, 4)
    assert carbs.observation_count == 40 and len(carbs.success_observations) == 40
    assert carbs.outstanding_suggestions == {}
    assert len({o.suggestion_id for o in carbs.success_observations}) == 40


# -- the users' loop of DESIGN.md section 1 ------------------------------------------------------
DESIGN_LOOP = """\
from carbs import CARBS, CARBSParams, Param, LogSpace, LogitSpace, ObservationInParam

params = [
    Param("learning_rate", LogSpace(scale=0.5), search_center=1e-3),
    Param("momentum", LogitSpace(), search_center=0.9),
    Param("epochs", LogSpace(is_integer=True, min=1, max=512), search_center=8),
]
carbs = CARBS(CARBSParams(better_direction_sign=-1, max_suggestion_cost=3600), params)
for _ in range(100):
    suggestion = carbs.suggest().suggestion          # dict, includes "suggestion_uuid"
    loss, seconds, failed = train(**suggestion)
    carbs.observe(ObservationInParam(input=suggestion, output=loss, cost=seconds, is_failure=failed))
"""  # noqa: E501


@pytest.mark.slow
def test_design_loop_runs_unchanged() -> None:
    calls: list[dict[str, Any]] = []

    def train(
        learning_rate: float, momentum: float, epochs: int, suggestion_uuid: str
    ) -> tuple[float, float, bool]:
        calls.append({"learning_rate": learning_rate, "momentum": momentum, "epochs": epochs})
        assert 0 < momentum < 1 and 1 <= epochs <= 512 and type(epochs) is int
        loss = math.log10(learning_rate / 3e-3) ** 2 + (momentum - 0.95) ** 2 + 1 / epochs
        return loss, 10.0 * epochs, learning_rate > 0.1

    namespace: dict[str, Any] = {"train": train}
    exec(compile(DESIGN_LOOP, "DESIGN.md", "exec"), namespace)
    carbs = namespace["carbs"]
    assert len(calls) == 100 and carbs.observation_count == 100
    assert carbs.outstanding_suggestions == {}
