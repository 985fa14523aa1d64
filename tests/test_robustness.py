"""``suggest()`` keeps working on degenerate data and always returns legal points."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import attrs
import gpytorch
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from linear_operator.utils.errors import NanError, NotPSDError

import carbs.surrogate.fitting as surrogate_fitting
from carbs import (
    CARBS,
    SUGGESTION_ID_DICT_KEY,
    CARBSParams,
    InvalidObservationError,
    LinearSpace,
    LogitSpace,
    LogSpace,
    ObservationInParam,
    Param,
)
from carbs.surrogate.gp import GPFitError
from carbs.surrogate.model import SurrogateModel


def mixed_params() -> list[Param]:
    return [
        Param("lr", LogSpace(min=1e-6, max=1.0, scale=0.5), search_center=1e-3),
        Param("width", LogSpace(is_integer=True, min=4, max=1024, rounding_factor=4), 64),
        Param("momentum", LogitSpace(min=0.5, max=0.999), search_center=0.9),
        Param("layers", LinearSpace(is_integer=True, min=2, max=40, rounding_factor=2), 8),
    ]


def config(**kwargs: Any) -> CARBSParams:
    settings_: dict[str, Any] = {
        "num_candidates_for_suggestion_per_dim": 6,
        "num_random_samples": 3,
        "resample_frequency": 0,
    }
    settings_.update(kwargs)
    return CARBSParams(**settings_)


def assert_legal(carbs: CARBS, suggestion: dict[str, Any]) -> None:
    """In bounds, finite, and integer params on their lattice (as ints)."""
    values = {k: v for k, v in suggestion.items() if k != SUGGESTION_ID_DICT_KEY}
    carbs.search_space.validate_param_dict(values, what="suggestion")
    for param in carbs.params:
        value = values[param.name]
        if param.space.is_integer:
            assert isinstance(value, int), (param.name, value)
            assert value % param.space.rounding_factor == 0, (param.name, value)


def run(
    carbs: CARBS,
    steps: int,
    output: Callable[[int], float],
    cost: Callable[[int, dict[str, Any]], float] = lambda i, s: 1.0 + s["width"] / 64,
    is_failure: Callable[[int], bool] = lambda i: False,
    fixed_input: dict[str, Any] | None = None,
) -> list[str]:
    """Observe ``steps`` runs, checking every suggestion; return the suggestion types."""
    types = []
    for index in range(steps):
        suggested = carbs.suggest()
        assert_legal(carbs, suggested.suggestion)
        types.append(suggested.log["suggestion_type"])
        suggestion = suggested.suggestion
        if fixed_input is not None:
            suggestion = {**fixed_input, SUGGESTION_ID_DICT_KEY: suggestion[SUGGESTION_ID_DICT_KEY]}
        carbs.observe(
            ObservationInParam(
                input=suggestion,
                output=output(index),
                cost=cost(index, suggestion),
                is_failure=is_failure(index),
            )
        )
    for _ in range(2):
        suggested = carbs.suggest()
        assert_legal(carbs, suggested.suggestion)
        types.append(suggested.log["suggestion_type"])
    assert carbs.observation_count == steps
    assert len(carbs.outstanding_suggestions) == 2
    return types


RNG = np.random.default_rng(0)
CENTRE = {"lr": 1e-3, "width": 64, "momentum": 0.9, "layers": 8}


@pytest.mark.parametrize(
    "case",
    [
        "constant outputs",
        "duplicated inputs",
        "duplicated inputs, constant outputs",
        "outputs from 1e-30 to 1e30",
        "outputs of both signs up to 1e30",
        "nan and inf outputs",
        "equal costs",
        "costs from 1e-300 to 1e300",
    ],
)
def test_degenerate_data_never_breaks_suggest(case: str) -> None:
    carbs = CARBS(config(), mixed_params())
    rng = np.random.default_rng(1)
    kwargs: dict[str, Any] = {}
    if case == "constant outputs":
        kwargs["output"] = lambda i: 1.0
    elif case.startswith("duplicated inputs"):
        kwargs["fixed_input"] = CENTRE
        kwargs["output"] = (lambda i: 1.0) if "constant" in case else (lambda i: float(i % 3))
    elif case == "outputs from 1e-30 to 1e30":
        kwargs["output"] = lambda i: float(10.0 ** rng.uniform(-30, 30))
    elif case == "outputs of both signs up to 1e30":
        kwargs["output"] = lambda i: float(rng.choice([-1, 1]) * 10.0 ** rng.uniform(-30, 30))
    elif case == "nan and inf outputs":
        kwargs["output"] = lambda i: [math.nan, math.inf, -math.inf, 1.0, 2.0, 0.5][i % 6]
    elif case == "equal costs":
        kwargs["output"] = lambda i: float(rng.normal())
        kwargs["cost"] = lambda i, s: 5.0
    else:
        kwargs["output"] = lambda i: float(rng.normal())
        kwargs["cost"] = lambda i, s: float(10.0 ** rng.uniform(-300, 300))
    types = run(carbs, 9, **kwargs)
    assert types[-1] != "random"  # past warm-up, the model path (or its fallback) ran
    if case == "nan and inf outputs":
        assert len(carbs.failure_observations) == 6  # indices 0-2 and 6-8


def test_a_single_success_among_many_failures() -> None:
    carbs = CARBS(config(num_random_samples=1), mixed_params())
    types = run(carbs, 16, output=lambda i: 1.0, is_failure=lambda i: i != 2)
    assert len(carbs.success_observations) == 1 and len(carbs.failure_observations) == 15
    assert types[-1] == "bayesian"


def test_only_failures_keep_sampling_around_the_centre() -> None:
    carbs = CARBS(config(), mixed_params())
    types = run(carbs, 12, output=lambda i: math.nan, is_failure=lambda i: True)
    assert set(types) == {"random"}


def test_a_thousand_observations() -> None:
    params = mixed_params()[:2]
    carbs = CARBS(config(better_direction_sign=-1), params)
    rng = np.random.default_rng(0)
    observations = []
    for index in range(1000):
        lr = float(10.0 ** rng.uniform(-6, 0))
        width = int(4 * rng.integers(1, 256))
        observations.append(
            ObservationInParam(
                input={"lr": lr, "width": width},
                output=(math.log10(lr) + 3) ** 2 + 10 / width + 0.1 * float(rng.normal()),
                cost=width * (1 + 0.1 * float(rng.random())),
                is_failure=index % 10 == 9,
            )
        )
    carbs.initialize_from_observations(observations)
    for _ in range(2):
        suggested = carbs.suggest()
        assert suggested.log["suggestion_type"] == "bayesian"
        assert_legal(carbs, suggested.suggestion)
    assert carbs.observation_count == 1000


def test_off_lattice_integer_observations_are_rejected() -> None:
    params = [
        Param("width", LogSpace(is_integer=True, min=1, max=64, rounding_factor=4), 8),
        Param("x", LinearSpace(min=0.0, max=1.0), 0.5),
    ]
    carbs = CARBS(config(), params)
    with pytest.raises(InvalidObservationError, match=r"width.*rounding_factor=4"):
        carbs.observe(ObservationInParam({"width": 3, "x": 0.5}, 1.0, cost=3.0))
    with pytest.raises(InvalidObservationError, match="width"):
        carbs.observe(ObservationInParam({"width": 33.5, "x": 0.5}, 1.0, cost=3.0))
    carbs.observe(ObservationInParam({"width": 8.0, "x": 0.5}, 1.0, cost=3.0))  # on the lattice
    assert carbs.observation_count == 1


def test_resampling_never_suggests_an_old_off_lattice_observation_rounded_out_of_bounds() -> None:
    """States written before off-lattice inputs were rejected may hold them; resampling skips
    a front member whose rounded value is illegal."""
    params = [
        Param("width", LogSpace(is_integer=True, min=1, max=64, rounding_factor=4), 8),
        Param("x", LinearSpace(min=0.0, max=1.0), 0.5),
    ]
    carbs = CARBS(config(num_random_samples=2, resample_frequency=1), params)
    for width, output in ((4, 0.5), (8, 1.0)):
        carbs.observe(ObservationInParam({"width": width, "x": 0.5}, output, cost=float(width)))
    state = carbs.get_state_dict()
    for entry, width in zip(state["observations"], (1, 2), strict=True):
        entry["input"][0] = params[0].space.basic_from_param(width)  # both round to 0 < min
        entry["cost"] = float(width)
    carbs.load_state_dict(state)
    for _ in range(3):
        suggested = carbs.suggest()
        assert_legal(carbs, suggested.suggestion)
        assert suggested.log["suggestion_type"] == "bayesian"
    carbs.observe(ObservationInParam({"width": 4, "x": 0.5}, 2.0, cost=3.0))
    suggested = carbs.suggest()
    assert suggested.log["suggestion_type"] == "resample"
    assert suggested.suggestion["width"] == 4


# -- falling back when the model cannot be fitted ------------------------------------------------
def linalg_error() -> Exception:
    return torch._C._LinAlgError("linalg.cholesky: The factorization could not be completed")


@pytest.mark.parametrize(
    "error",
    [
        GPFitError("could not fit"),
        NotPSDError("Matrix not positive definite after repeatedly adding jitter"),
        NanError("cholesky_cpu: 4 of 4 elements of the input matrix were NaN"),
        linalg_error(),
    ],
    ids=lambda error: type(error).__name__,
)
@pytest.mark.parametrize("where", ["fit", "predict"])
def test_numerical_model_failures_fall_back_to_sampling_around_the_front(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    error: Exception,
    where: str,
) -> None:
    carbs = CARBS(config(), mixed_params())
    run(carbs, 4, output=lambda i: float(i))

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr(SurrogateModel, where, broken)
    with caplog.at_level(logging.WARNING, logger="carbs"):
        first = carbs.suggest()
        second = carbs.suggest()
    assert first.log["suggestion_type"] == second.log["suggestion_type"] == "fallback"
    assert (first.log["fallback_count"], second.log["fallback_count"]) == (1, 2)
    assert carbs.fallback_count == 2
    assert_legal(carbs, first.suggestion)
    assert "sampling around the Pareto front" in caplog.text
    assert type(error).__name__ in caplog.text


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("mat1 and mat2 shapes cannot be multiplied (4x3 and 2x5)"),
        ValueError("Expected parameter loc to satisfy the constraint Real()"),
        ZeroDivisionError("float division by zero"),
        TypeError("unsupported operand"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_programming_errors_are_not_hidden_by_the_fallback(
    monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    carbs = CARBS(config(), mixed_params())
    run(carbs, 4, output=lambda i: float(i))

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise error

    twin = CARBS(config(), mixed_params())
    run(twin, 4, output=lambda i: float(i))
    before = carbs.get_state_dict()
    with monkeypatch.context() as patch:
        patch.setattr(SurrogateModel, "predict", broken)
        with pytest.raises(type(error)):
            carbs.suggest()
    assert carbs.fallback_count == 0
    assert carbs.get_state_dict() == before
    # The failed call left nothing behind: the next suggestion is the twin's.
    assert carbs.suggest("next").suggestion == twin.suggest("next").suggestion


def test_fit_retries_with_more_jitter_before_giving_up(monkeypatch: pytest.MonkeyPatch) -> None:
    jitters: list[float] = []
    real_fit_map = surrogate_fitting.fit_map

    def flaky(model: Any, *args: Any, **kwargs: Any) -> float:
        jitters.append(gpytorch.settings.cholesky_jitter.value(torch.float64))
        if len(jitters) <= 2:
            raise GPFitError("not PSD")
        return real_fit_map(model, *args, **kwargs)

    monkeypatch.setattr(surrogate_fitting, "fit_map", flaky)
    carbs = CARBS(config(), mixed_params())
    run(carbs, 4, output=lambda i: float(i))
    assert jitters[:3] == list(surrogate_fitting.JITTER_RETRIES)
    assert carbs.suggest().log["suggestion_type"] == "bayesian"


# -- random spaces and hostile outputs -----------------------------------------------------------
@st.composite
def spaces(draw: st.DrawFn, index: int) -> Param:
    """A param of a random kind with room for the search radius and a lattice point."""
    name = f"p{index}"
    kind = draw(st.sampled_from(["linear", "linear-int", "log", "log-int", "logit", "unbounded"]))
    scale = draw(st.sampled_from([0.5, 1.0, 2.0]))
    if kind == "unbounded":
        return Param(name, LinearSpace(scale=scale), draw(st.floats(-5, 5)))
    if kind == "linear":
        low = draw(st.floats(-100, 100))
        return Param(name, LinearSpace(min=low, max=low + 4 * scale, scale=scale), low + scale)
    if kind == "linear-int":
        factor = draw(st.sampled_from([1, 2, 5]))
        low = factor * draw(st.integers(-10, 10))
        space = LinearSpace(min=low, max=low + 8 * factor, scale=4.0 * factor, is_integer=True)
        space = attrs.evolve(space, rounding_factor=factor)
        return Param(name, space, low + 4 * factor)
    if kind == "log":
        low = 10.0 ** draw(st.integers(-8, 3))
        return Param(name, LogSpace(min=low, max=low * 1e3, scale=scale), low * 10)
    if kind == "log-int":
        factor = draw(st.sampled_from([1, 4]))
        space = LogSpace(min=factor, max=factor * 4096, is_integer=True, rounding_factor=factor)
        return Param(name, space, factor * 64)
    return Param(name, LogitSpace(min=0.01, max=0.99, scale=scale), 0.5)


OUTPUTS = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, 1e-30, -1e-30, 1e30, -1e30, 0.0, 1.0, 5e-324]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-10, 10),
)
EVENTS = st.tuples(
    OUTPUTS,
    st.booleans(),  # failure flag
    st.sampled_from(["new", "new", "repeat", "pending"]),
    st.sampled_from([1.0, 1e-6, 1e6, 3.0]),  # cost
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    params=st.integers(1, 3).flatmap(lambda d: st.tuples(*[spaces(i) for i in range(d)])),
    events=st.lists(EVENTS, min_size=1, max_size=9),
    sign=st.sampled_from([1, -1]),
    resample_frequency=st.sampled_from([0, 2]),
    estimator=st.sampled_from(["THOMPSON", "MEAN"]),
)
def test_random_spaces_and_hostile_outputs(
    params: tuple[Param, ...],
    events: list[tuple[float, bool, str, float]],
    sign: int,
    resample_frequency: int,
    estimator: str,
) -> None:
    settings_ = config(
        num_random_samples=2,
        better_direction_sign=sign,
        resample_frequency=resample_frequency,
        outstanding_suggestion_estimator=estimator,
    )
    carbs = CARBS(settings_, list(params))
    observed: list[dict[str, Any]] = []
    successes = pending = 0
    for output, is_failure, kind, cost in events:
        suggestion = carbs.suggest().suggestion
        assert_legal(carbs, suggestion)
        if kind == "pending":  # a run still going: it stays outstanding
            pending += 1
            continue
        if kind == "repeat" and observed:
            uuid = suggestion[SUGGESTION_ID_DICT_KEY]
            suggestion = {**observed[-1], SUGGESTION_ID_DICT_KEY: uuid}
        observed.append({k: v for k, v in suggestion.items() if k != SUGGESTION_ID_DICT_KEY})
        carbs.observe(ObservationInParam(suggestion, output, cost, is_failure=is_failure))
        successes += not is_failure and math.isfinite(output)
    assert_legal(carbs, carbs.suggest().suggestion)
    assert carbs.observation_count == len(events) - pending
    assert len(carbs.success_observations) == successes
    assert len(carbs.outstanding_suggestions) == pending + 1
    copy = CARBS.load_from_string(carbs.serialize())
    assert copy.get_state_dict() == carbs.get_state_dict()
