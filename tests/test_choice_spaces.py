"""Listed values, choices and constants: declared, validated, searched and modelled.

Covers ``OrdinalSpace`` (and its powers of two), ``CategoricalSpace`` and
``FixedSpace`` at the API boundary, in the candidate sampler (choices are kept or
switched, never stepped), in the GP kernel (choices compared by equality, with
no order), in the cost plane (one offset per choice) and in the optimizer.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import torch

from carbs import (
    CARBS,
    CARBSParams,
    CategoricalSpace,
    ChoiceLaw,
    FixedSpace,
    InvalidObservationError,
    InvalidParamError,
    InvalidSpaceError,
    LogSpace,
    ObservationInParam,
    OrdinalSpace,
    Param,
    StateError,
)
from carbs.candidates import CandidateSampler, ChoiceColumns, log_prior_density
from carbs.coverage import CostPlane
from carbs.observations import ObservationInBasic
from carbs.spaces import SearchSpace
from carbs.surrogate.gp import ExactRegressionGP, fit_map
from carbs.surrogate.kernels import OverlapKernel

OPTIMIZERS = ["adam", "sgd", "lion"]


def f64(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


# -- declaring the spaces ------------------------------------------------------------------------
def test_powers_of_two_lie_one_search_radius_apart_on_a_log_scale() -> None:
    space = OrdinalSpace.powers_of(2, min=16, max=1024)
    assert space.values == (16, 32, 64, 128, 256, 512, 1024) and space.is_integer
    assert space.is_log
    assert space.basic_from_value(32) - space.basic_from_value(16) == pytest.approx(0.3)
    menu = OrdinalSpace(values=[128, 256, 512, 768, 1024])  # linear: 8x is under a decade
    assert not menu.is_log
    assert menu.basic_from_value(768) - menu.basic_from_value(512) == pytest.approx(0.3)
    assert OrdinalSpace.powers_of(3, min=2, max=100).values == (3, 9, 27, 81)


def test_an_ordinal_space_is_log_spaced_only_when_positive_over_a_decade() -> None:
    assert OrdinalSpace(values=[16, 32, 64, 128, 256]).is_log
    assert not OrdinalSpace(values=[1, 2, 3, 4]).is_log
    assert not OrdinalSpace(values=[-1.0, 0.0, 10.0, 100.0]).is_log
    assert not OrdinalSpace(values=[1, 10, 100], is_log=False).is_log


def test_an_ordinal_value_rounds_to_the_nearest_listed_value_in_its_own_scale() -> None:
    space = OrdinalSpace(values=[10, 100, 1000])
    # Halfway in log10 between 100 and 1000 is 316: 300 rounds down, 330 up.
    assert space.value_from_basic(space.basic_from_value(300)) == 100
    assert space.value_from_basic(space.basic_from_value(330)) == 1000
    assert isinstance(space.value_from_basic(1.9), int)


def test_an_ordinal_space_with_an_integer_scale_past_int64_maps_values() -> None:
    # The scale was kept an int and overflowed the tensor it divided.
    space = OrdinalSpace(values=[16, 32, 64], scale=10**30, is_log=True)
    basic = space.basic_from_value(32)
    assert basic == pytest.approx(math.log10(32) / 1e30)
    assert space.value_from_basic(basic) == 32


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: CategoricalSpace(choices=[]), "at least two"),
        (lambda: CategoricalSpace(choices=["adam"]), "FixedSpace"),
        (lambda: CategoricalSpace(choices="adam"), "list"),
        (lambda: CategoricalSpace(choices=["adam", "sgd", "adam"]), "'adam' twice"),
        (lambda: CategoricalSpace(choices=[1, [2]]), r"choices\[1\]"),
        (lambda: CategoricalSpace(choices=[0.5, math.nan]), r"choices\[1\]"),
        (lambda: OrdinalSpace(values=[1]), "at least two"),
        (lambda: OrdinalSpace(values=[1, 3, 2]), "strictly increasing"),
        (lambda: OrdinalSpace(values=[1, 1, 2]), "strictly increasing"),
        # One float for both: an observed 2**53 + 1 came back as 2**53.
        (lambda: OrdinalSpace(values=[2**53, 2**53 + 1, 2**60]), "differ as floats"),
        (lambda: OrdinalSpace(values=[1, "2"]), r"values\[1\]"),
        (lambda: OrdinalSpace(values=[1, True]), r"values\[1\]"),
        (lambda: OrdinalSpace(values=[0, 10], is_log=True), "every value > 0"),
        (lambda: OrdinalSpace(values=[1, 10], is_log="yes"), "is_log"),
        (lambda: OrdinalSpace.powers_of(1, min=1, max=8), "base"),
        # Billions of powers filled the memory.
        (lambda: OrdinalSpace.powers_of(1.0000001, min=1, max=1e300), "more than the 100000"),
    ],
)
def test_bad_declarations_raise_invalid_space_error(build: Any, message: str) -> None:
    with pytest.raises(InvalidSpaceError, match=message):
        build()


def test_true_and_one_are_different_choices() -> None:
    space = CategoricalSpace(choices=[1, True, None, "1"])
    assert [space.index(v) for v in (1, True, None, "1", 1.0, False)] == [0, 1, 2, 3, 0, None]


@pytest.mark.parametrize(
    ("space", "center"),
    [
        (CategoricalSpace(choices=OPTIMIZERS), "adamw"),
        (CategoricalSpace(choices=[0, 1]), True),
        (OrdinalSpace(values=[16, 32, 64]), 48),
        (OrdinalSpace(values=[16, 32, 64]), "32"),
        (FixedSpace(), [1, 2]),
    ],
)
def test_a_centre_outside_the_values_names_the_param(space: Any, center: Any) -> None:
    with pytest.raises(InvalidParamError, match="Param 'p': search_center"):
        Param("p", space, center)


def test_a_search_space_needs_a_tuned_param() -> None:
    with pytest.raises(InvalidParamError, match="not fixed"):
        SearchSpace([Param("a", FixedSpace(), 1)])


# -- the optimizer's boundary ---------------------------------------------------------------------
def mixed_params() -> list[Param]:
    return [
        Param("lr", LogSpace(min=1e-5, max=1e-1), 1e-3),
        Param("optimizer", CategoricalSpace(choices=OPTIMIZERS), "sgd"),
        Param("batch_size", OrdinalSpace.powers_of(2, min=16, max=1024), 64),
        Param("use_bias", CategoricalSpace(choices=[True, False]), True),
        Param("weight_decay", FixedSpace(), 0.0),
    ]


def make(**config: Any) -> CARBS:
    return CARBS(CARBSParams(is_saved_on_every_observation=False, **config), mixed_params())


def mixed_output(p: dict[str, Any]) -> float:
    """adam is best; the best learning rate is 1e-3; bigger batches help, a bias a little."""
    quality = {"adam": 1.0, "sgd": 0.0, "lion": 0.5}[p["optimizer"]]
    return (
        quality
        - (math.log10(p["lr"]) + 3) ** 2
        + 0.1 * math.log2(p["batch_size"])
        + 0.1 * p["use_bias"]
    )


def legal_input(**changes: Any) -> dict[str, Any]:
    values = {"lr": 1e-3, "optimizer": "adam", "batch_size": 32, "use_bias": False}
    return {**values, **changes}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"optimizer": "adamw"}, r"\['optimizer'\]='adamw' is not one of"),
        ({"optimizer": 0}, r"\['optimizer'\]=0 is not one of"),
        ({"use_bias": 1}, r"\['use_bias'\]=1 is not one of"),
        ({"batch_size": 48}, r"\['batch_size'\]=48 is not one of"),
        ({"batch_size": "32"}, r"\['batch_size'\]"),
        ({"weight_decay": 0.1}, r"\['weight_decay'\]=0.1 differs from its fixed value 0.0"),
    ],
)
def test_an_observation_outside_the_values_is_refused_and_nothing_is_recorded(
    changes: dict[str, Any], message: str
) -> None:
    carbs = make()
    with pytest.raises(InvalidObservationError, match=message):
        carbs.observe(ObservationInParam(input=legal_input(**changes), output=1.0, cost=1.0))
    assert carbs.observation_count == 0


def test_a_fixed_param_is_passed_through_and_may_be_left_out_of_observations() -> None:
    carbs = make(seed=0)
    suggestion = carbs.suggest().suggestion
    assert suggestion["weight_decay"] == 0.0 and list(suggestion)[:5] == [
        p.name for p in mixed_params()
    ]
    carbs.observe(ObservationInParam(input=legal_input(), output=1.0, cost=1.0))
    carbs.observe(ObservationInParam(input=legal_input(weight_decay=0.0), output=1.0, cost=1.0))
    assert carbs.observation_count == 2
    table = carbs.to_dataframe()
    assert list(table["weight_decay"]) == [0.0, 0.0]
    assert list(table["optimizer"]) == ["adam", "adam"]


# -- the sampler ----------------------------------------------------------------------------------
def test_candidates_keep_or_switch_a_choice_never_step_it() -> None:
    space = SearchSpace(mixed_params())
    radius = 0.3
    sampler = CandidateSampler(space, radius)
    origin = space.basic_from_param_dict(legal_input(optimizer="sgd")).unsqueeze(0)
    points = sampler.sample(origin, 20_000, torch.Generator().manual_seed(0)).points
    column = space.names.index("optimizer")
    choices = points[:, column]
    assert set(choices.tolist()) == {0.0, 1.0, 2.0}
    switched = choices != origin[0, column]
    p = CategoricalSpace.change_probability(radius)
    assert 0.05 < p < 0.15  # a step of one radius rarely crosses half a unit
    assert float(switched.double().mean()) == pytest.approx(p, abs=0.01)
    # Switches go to either other choice alike: "sgd" (index 1) is not between the others.
    to_adam = float((choices == 0).double().sum() / switched.double().sum())
    assert to_adam == pytest.approx(0.5, abs=0.04)
    # The real columns still take Gaussian steps around the origin.
    lr = space.names.index("lr")
    assert float(points[:, lr].std()) == pytest.approx(radius, rel=0.05)


def test_the_prior_density_counts_a_switched_choice_and_ignores_the_choice_index() -> None:
    space = SearchSpace(
        [
            Param("x", LogSpace(min=1e-3, max=1e3), 1.0),
            Param("optimizer", CategoricalSpace(choices=OPTIMIZERS), "adam"),
        ]
    )
    choices = ChoiceColumns.of(space, 0.3)
    assert choices is not None
    origins = f64(0.0, 0.0).unsqueeze(0)
    points = torch.stack([f64(0.1, 0.0), f64(0.1, 1.0), f64(0.1, 2.0), f64(0.0, 1.0)])
    density = log_prior_density(points, origins, 0.3, None, choices)
    kept = math.log1p(-choices.change_probability)
    switched = math.log(choices.change_probability / 2)
    assert float(density[1] - density[0]) == pytest.approx(switched - kept)
    assert float(density[2]) == pytest.approx(float(density[1]))  # no order among choices
    assert float(density[3]) > float(density[1])  # only the real distance differs
    # Without the categorical term the index would count as a distance: 2 > 1.
    plain = log_prior_density(points, origins, 0.3)
    assert float(plain[2]) < float(plain[1])


@pytest.mark.parametrize("radius", [1e16, 1e308])
def test_a_radius_past_1e15_still_lets_a_draw_keep_its_choice(radius: float) -> None:
    # The crossing chance rounded to 1, and log1p(-1) raised "math domain error" in
    # every suggest() of a sweep with a choice and such an initial_search_radius.
    p = CategoricalSpace.change_probability(radius)
    assert 0.999 < p < 1.0 and math.isfinite(math.log1p(-p))
    space = SearchSpace([Param("optimizer", CategoricalSpace(choices=OPTIMIZERS), "adam")])
    choices = ChoiceColumns.of(space, radius)
    assert choices is not None
    density = log_prior_density(f64(0.0).unsqueeze(0), f64(0.0).unsqueeze(0), radius, None, choices)
    assert torch.isfinite(density).all()


# -- the kernel -----------------------------------------------------------------------------------
def test_the_overlap_kernel_compares_choices_only_by_equality() -> None:
    kernel = OverlapKernel(ard_num_dims=1)
    x = f64(0.0, 1.0, 2.0).unsqueeze(-1)
    with torch.no_grad():
        k = kernel(x, x).to_dense()
    assert float(k[0, 0]) == 1.0
    assert float(k[0, 1]) == pytest.approx(float(k[0, 2]))
    assert float(k[1, 0]) == pytest.approx(float(k[1, 2]))
    assert float(k[0, 1]) < 1.0


def test_a_gp_with_a_categorical_column_does_not_interpolate_between_choice_indices() -> None:
    """Choices 0 and 2 are good and 1 is bad: a kernel that saw the index as a number
    would smooth them together; the overlap kernel predicts each choice by itself."""
    generator = torch.Generator().manual_seed(0)
    x_real = torch.rand(45, generator=generator, dtype=torch.float64) - 0.5
    choice = torch.arange(45, dtype=torch.float64) % 3
    y = torch.where(choice == 1, -1.0, 1.0).to(torch.float64) + 0.1 * x_real
    x = torch.stack([x_real, choice], dim=-1)
    mixed = ExactRegressionGP(x, y, 0.3, categorical=(1,))
    numeric = ExactRegressionGP(x, y, 0.3)
    fit_map(mixed, 60)
    fit_map(numeric, 60)
    query = torch.stack([f64(0.0, 0.0, 0.0), f64(0.0, 1.0, 2.0)], dim=-1)
    means = {}
    for name, model in (("mixed", mixed), ("numeric", numeric)):
        model.eval()
        with torch.no_grad():
            means[name] = model(query).mean
    torch.testing.assert_close(means["mixed"], f64(1.0, -1.0, 1.0), atol=0.1, rtol=0)
    # A numeric column fits this worse: the point of the overlap kernel.
    numeric_error = float((means["numeric"] - f64(1.0, -1.0, 1.0)).abs().max())
    mixed_error = float((means["mixed"] - f64(1.0, -1.0, 1.0)).abs().max())
    assert mixed_error < numeric_error


# -- the cost plane -------------------------------------------------------------------------------
def test_the_cost_plane_gives_each_choice_its_own_offset_and_keeps_the_slope_unbiased() -> None:
    """lion costs 4x, and lion runs sit at larger x: a plane that ignored the choice
    would read lion's cost as a steeper slope in x."""
    rows = []
    for i in range(30):
        choice = i % 3
        x = 0.1 * (i % 5) + (0.5 if choice == 2 else 0.0)
        rows.append([x, float(choice)])
    offsets = [0.0, -0.5, math.log(4.0)]
    successes = [
        ObservationInBasic(f64(*row), 0.0, math.exp(2.0 * row[0] + 1.0 + offsets[int(row[1])]))
        for row in rows
    ]
    plane = CostPlane.fit(successes, {1: 3})
    assert plane is not None
    torch.testing.assert_close(plane.slope, f64(2.0, 0.0), atol=1e-6, rtol=0)
    column, fitted = plane.choice_offsets[0]
    assert column == 1
    torch.testing.assert_close(fitted, f64(*offsets), atol=1e-6, rtol=0)
    assert float(plane.log_cost(f64(0.0, 2.0))) == pytest.approx(1.0 + math.log(4.0))
    naive = CostPlane.fit(successes)
    assert naive is not None and float(naive.slope[0]) > 2.5


# -- the optimizer --------------------------------------------------------------------------------
@pytest.mark.slow
def test_carbs_switches_away_from_a_bad_centre_choice_and_keeps_the_good_one() -> None:
    carbs = make(seed=2, num_random_samples=4)
    chosen = []
    for _ in range(30):
        suggestion = carbs.suggest().suggestion
        chosen.append(suggestion["optimizer"])
        cost = suggestion["batch_size"] / 16
        carbs.observe(
            ObservationInParam(input=suggestion, output=mixed_output(suggestion), cost=cost)
        )
    # The centre is "sgd", the worst choice; by the end the optimizer mostly tries adam
    # (at least two thirds of the last 12; over seeds 0-11 the mean is 9.75 of 12).
    assert chosen[:3] == ["sgd"] * 3
    assert chosen[-12:].count("adam") >= 8
    assert carbs.best().input["optimizer"] == "adam"
    front = carbs.pareto_front()
    assert all(member.params["optimizer"] == "adam" for member in front[1:])


# -- everything downstream ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def swept() -> CARBS:
    """24 runs of the mixed space, cost growing with the batch size."""
    carbs = make(seed=2, num_random_samples=4)
    for _ in range(24):
        suggestion = carbs.suggest().suggestion
        cost = suggestion["batch_size"] / 16
        carbs.observe(
            ObservationInParam(input=suggestion, output=mixed_output(suggestion), cost=cost)
        )
    return carbs


def test_save_and_load_keep_the_spaces_and_resume_exactly(swept: CARBS, tmp_path: Any) -> None:
    path = swept.save(tmp_path / "mixed.json")
    saved = json.loads(path.read_text())
    types = [p["space"]["type"] for p in saved["params"]]
    assert types == [
        "LogSpace",
        "CategoricalSpace",
        "OrdinalSpace",
        "CategoricalSpace",
        "FixedSpace",
    ]
    first, second = CARBS.load(path), CARBS.load(path, mixed_params())
    assert first.suggest("a").suggestion == second.suggest("a").suggestion
    with pytest.raises(StateError, match="params"):
        changed = mixed_params()
        changed[1] = Param("optimizer", CategoricalSpace(choices=["adam", "sgd"]), "sgd")
        CARBS.load(path, changed)


def test_a_saved_choice_outside_the_choices_is_a_state_error(swept: CARBS, tmp_path: Any) -> None:
    data = json.loads(swept.save(tmp_path / "mixed.json").read_text())
    data["observations"][0]["input"][1] = 1.5  # between two choices
    with pytest.raises(StateError, match="optimizer"):
        CARBS.load_from_string(json.dumps(data))


def test_predict_takes_choices_and_sees_the_better_one(swept: CARBS) -> None:
    points = [legal_input(optimizer=o, batch_size=256) for o in OPTIMIZERS]
    predicted = swept.predict(points)
    assert [p["optimizer"] for p in predicted.points] == OPTIMIZERS
    assert predicted.output_mean[0] > predicted.output_mean[1]  # adam beats sgd
    with pytest.raises(InvalidObservationError, match="'adamw' is not one of"):
        swept.predict(legal_input(optimizer="adamw"))


def test_scaling_laws_give_a_choice_per_cost_band_and_suggest_at_cost_a_legal_setting(
    swept: CARBS,
) -> None:
    laws = swept.scaling_laws()
    assert list(laws) == ["lr", "optimizer", "batch_size", "use_bias"]
    choice = laws["optimizer"]
    assert isinstance(choice, ChoiceLaw)
    front = swept.pareto_front()
    assert choice.values == tuple(m.params["optimizer"] for m in front)
    assert choice.bands[-1][2] == "adam" and choice.bands[-1][1] == front[-1].cost
    at_cost = swept.suggest_at_cost(front[-1].cost)
    assert at_cost.params["optimizer"] == "adam"
    assert at_cost.params["batch_size"] in OrdinalSpace.powers_of(2, min=16, max=1024).values
    assert at_cost.params["weight_decay"] == 0.0
    low, high = at_cost.intervals["batch_size"]
    assert low in (16, 32, 64, 128, 256, 512, 1024) and high in (16, 32, 64, 128, 256, 512, 1024)
    assert "optimizer" not in at_cost.intervals


def test_the_plots_draw_choices_and_listed_values(swept: CARBS, tmp_path: Any) -> None:
    pytest.importorskip("matplotlib")
    from carbs import plotting

    figure = plotting.plot_scaling_laws(swept, path=tmp_path / "laws.png")
    labels = [t.get_text() for ax in figure.axes for t in ax.get_yticklabels()]
    assert {"adam", "sgd", "lion"} <= set(labels)
    plotting.plot_pareto_front(swept, path=tmp_path / "front.png")
    plotting.plot_history(swept, path=tmp_path / "history.png")
    assert (tmp_path / "laws.png").stat().st_size > 0


def test_warm_start_turns_a_fixed_param_into_a_tuned_choice(swept: CARBS, tmp_path: Any) -> None:
    path = swept.save(tmp_path / "prior.json")
    params = mixed_params()
    params[4] = Param("weight_decay", OrdinalSpace(values=[0.0, 0.01, 0.1]), 0.01)
    carbs = CARBS(CARBSParams(is_saved_on_every_observation=False), params)
    carbs.warm_start(path, is_prior_observation_valid=True)
    assert carbs.observation_count == swept.observation_count
    assert {r.params["weight_decay"] for r in carbs.observation_records()} == {0.0}
    assert carbs.suggest().suggestion["weight_decay"] in (0.0, 0.01, 0.1)


def test_warm_start_keeps_the_prior_runs_that_match_a_param_fixed_now(
    swept: CARBS, tmp_path: Any
) -> None:
    path = swept.save(tmp_path / "prior.json")
    params = mixed_params()
    params[1] = Param("optimizer", FixedSpace(), "adam")
    carbs = CARBS(CARBSParams(is_saved_on_every_observation=False), params)
    with pytest.warns(UserWarning, match="skipped"):
        carbs.warm_start(path, is_prior_observation_valid=True)
    adam_runs = [r for r in swept.observation_records() if r.params["optimizer"] == "adam"]
    assert 0 < carbs.observation_count == len(adam_runs) < swept.observation_count


def test_hyperparameters_of_the_mixed_kernel_survive_a_save(swept: CARBS, tmp_path: Any) -> None:
    out = swept.suggest("warm")
    saved = json.loads(swept.save(tmp_path / "mixed.json").read_text())
    names = saved["hyperparameters"]["performance"]
    assert any(name.endswith("choice.raw_lengthscale") for name in names)
    assert any(name.endswith("raw_weights") for name in names)
    swept.forget_suggestion(out.suggestion)


def _lr() -> Param:
    return Param("lr", LogSpace(min=1e-4, max=1.0), search_center=1e-2)


def _runs(rows: list[dict[str, Any]]) -> list[ObservationInParam]:
    return [ObservationInParam(row, 1.0 / (i + 1), float(i + 1)) for i, row in enumerate(rows)]


def test_the_dataframe_keeps_each_choice_as_it_is() -> None:
    # pandas made the column [1, None] floats with NaN, and ["a", None] strings with NaN.
    pytest.importorskip("pandas")
    carbs = CARBS(
        CARBSParams(better_direction_sign=-1),
        [
            _lr(),
            Param("c", CategoricalSpace(choices=[1, None]), search_center=1),
            Param("s", CategoricalSpace(choices=["a", None]), search_center="a"),
        ],
    )
    carbs.initialize_from_observations(
        _runs([{"lr": 1e-3, "c": 1, "s": "a"}, {"lr": 1e-2, "c": None, "s": None}])
    )
    frame = carbs.to_dataframe()
    assert frame["c"].tolist() == [1, None] and frame["s"].tolist() == ["a", None]
    assert isinstance(frame["c"][0], int)


def test_saved_choices_of_true_and_1_do_not_load_under_swapped_ones(tmp_path: Any) -> None:
    # == takes True for 1: the load was accepted and the saved runs read as the other choice.
    carbs = CARBS(
        CARBSParams(better_direction_sign=-1),
        [_lr(), Param("flag", CategoricalSpace(choices=[True, 1]), search_center=True)],
    )
    carbs.initialize_from_observations(_runs([{"lr": 1e-3, "flag": True}, {"lr": 1e-2, "flag": 1}]))
    path = carbs.save(tmp_path / "state.json")
    swapped = [_lr(), Param("flag", CategoricalSpace(choices=[1, True]), search_center=True)]
    with pytest.raises(StateError, match="saved params differ"):
        CARBS.load(path, swapped)
    fixed = CARBS(CARBSParams(), [_lr(), Param("f", FixedSpace(), search_center=True)])
    with pytest.raises(StateError, match="saved params differ"):
        CARBS.load(fixed.save(tmp_path / "f.json"), [_lr(), Param("f", FixedSpace(), 1)])


def test_numpys_true_is_the_choice_true() -> None:
    # np.True_ was matched as the int 1 (another choice), or refused as no choice at all.
    np = pytest.importorskip("numpy")
    carbs = CARBS(
        CARBSParams(), [_lr(), Param("m", CategoricalSpace(choices=[0, 1, True]), search_center=0)]
    )
    carbs.observe(ObservationInParam({"lr": 1e-3, "m": np.True_}, 1.0, 1.0))
    best = carbs.best()
    assert best is not None and best.input["m"] is True


def test_added_parameters_cannot_rewrite_what_the_prior_sweep_held_fixed(tmp_path: Any) -> None:
    # The prior runs, done at act=relu, were recorded at the added gelu without a word.
    prior = CARBS(
        CARBSParams(better_direction_sign=-1),
        [_lr(), Param("act", FixedSpace(), search_center="relu")],
    )
    prior.initialize_from_observations(_runs([{"lr": 1e-3}, {"lr": 1e-2}]))
    path = prior.save(tmp_path / "prior.json")
    choices = Param("act", CategoricalSpace(choices=["gelu", "relu"]), search_center="gelu")
    carbs = CARBS(CARBSParams(better_direction_sign=-1), [_lr(), choices])
    with pytest.raises(InvalidParamError, match=r"held fixed, \{'act': 'relu'\}"):
        carbs.warm_start(path, is_prior_observation_valid=True, added_parameters={"act": "gelu"})
    assert carbs.observation_count == 0
    carbs.warm_start(path, is_prior_observation_valid=True, added_parameters={"act": "relu"})
    assert [r.params["act"] for r in carbs.observation_records()] == ["relu", "relu"]


@pytest.mark.parametrize("radius", [0.03, 1e-3, 1e-300])
def test_a_narrow_radius_still_lets_a_draw_switch_its_choice(radius: float) -> None:
    # The crossing chance underflowed to 0 (in float32, below a radius of about 0.035)
    # and math.log(0) raised "math domain error" in every suggest(), the first included.
    p = CategoricalSpace.change_probability(radius)
    assert 0.0 < p < 1e-50 and math.isfinite(math.log(p))
    optimizer = CARBS(
        CARBSParams(initial_search_radius=radius, num_random_samples=2),
        [
            Param("lr", LogSpace(min=1e-5, max=1.0), 1e-3),
            Param("optimizer", CategoricalSpace(choices=OPTIMIZERS), "adam"),
        ],
    )
    for _ in range(3):
        suggestion = optimizer.suggest().suggestion
        optimizer.observe(ObservationInParam(suggestion, 1.0, cost=1.0))
    assert suggestion["optimizer"] == "adam"
