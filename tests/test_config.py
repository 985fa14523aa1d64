"""CARBSParams: defaults of the established CARBS release and validation of every field."""

from __future__ import annotations

from typing import Any

import pytest

from carbs import (
    CARBSParams,
    CARBSValueError,
    InvalidConfigError,
    OutstandingSuggestionEstimatorEnum,
)
from carbs.config_data import config_from_dict, config_to_dict


def test_defaults_match_the_release_except_resample_threshold() -> None:
    config = CARBSParams()
    assert config.better_direction_sign == 1
    assert config.num_random_samples == 4
    assert config.initial_search_radius == 0.3
    assert config.exploration_bias == 1.0
    assert config.num_candidates_for_suggestion_per_dim == 100
    assert config.resample_frequency == 5
    # Additions of this library: the stretch is off, as in the release; resamples
    # stop once repeats show negligible noise (the release always resampled).
    assert config.resample_noise_threshold == 0.1
    assert config.cost_direction_radius_factor == 1.0
    assert config.min_pareto_cost_fraction == 0.2
    assert config.is_pareto_group_selection_conservative is True
    assert config.is_expected_improvement_pareto_value_clamped is True
    assert config.is_expected_improvement_value_always_max is False
    assert config.outstanding_suggestion_estimator is OutstandingSuggestionEstimatorEnum.THOMPSON
    assert config.is_wandb_logging_enabled is False
    assert config.max_suggestion_cost is None
    assert config.seed == 0


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("better_direction_sign", 0, ["1", "-1", "0"]),
        ("better_direction_sign", 2, ["2"]),
        ("better_direction_sign", -1.0, ["int", "-1.0"]),  # were taken; 1 + 0j crashed later
        ("better_direction_sign", 1 + 0j, ["int", "(1+0j)"]),
        ("initial_search_radius", 0, ["> 0", "0"]),
        ("initial_search_radius", -0.1, ["-0.1"]),
        ("initial_search_radius", float("inf"), ["finite"]),
        ("min_pareto_cost_fraction", 1.5, ["<= 1", "1.5"]),
        ("min_pareto_cost_fraction", -0.1, [">= 0", "-0.1"]),
        ("max_suggestion_cost", -1, ["> 0", "-1"]),
        ("max_suggestion_cost", 0, ["> 0"]),
        ("max_suggestion_cost", float("nan"), ["number"]),
        ("num_random_samples", 0, [">= 1", "0"]),
        ("num_random_samples", 2.5, ["int"]),
        ("num_candidates_for_suggestion_per_dim", 0, [">= 1"]),
        ("resample_frequency", -1, [">= 0"]),
        ("resample_noise_threshold", -0.1, [">= 0", "-0.1"]),
        ("cost_direction_radius_factor", 0.9, [">= 1", "0.9"]),
        ("cost_direction_radius_factor", float("inf"), ["finite"]),
        ("exploration_bias", float("nan"), ["number"]),
        ("seed", -3, [">= 0"]),
        ("outstanding_suggestion_estimator", "bogus", ["bogus", "THOMPSON", "MEAN"]),
    ],
)
def test_invalid_values_raise_invalid_config_error_naming_the_field(
    field: str, value: Any, words: list[str]
) -> None:
    with pytest.raises(InvalidConfigError) as info:
        CARBSParams(**{field: value})
    assert isinstance(info.value, CARBSValueError) and isinstance(info.value, ValueError)
    message = str(info.value)
    assert field in message
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("mean", OutstandingSuggestionEstimatorEnum.MEAN),
        ("MEAN", OutstandingSuggestionEstimatorEnum.MEAN),
        ("thompson", OutstandingSuggestionEstimatorEnum.THOMPSON),
        (OutstandingSuggestionEstimatorEnum.CONSTANT, OutstandingSuggestionEstimatorEnum.CONSTANT),
    ],
)
def test_estimator_accepts_strings_and_enums(
    value: Any, expected: OutstandingSuggestionEstimatorEnum
) -> None:
    assert CARBSParams(outstanding_suggestion_estimator=value).outstanding_suggestion_estimator is (
        expected
    )


def test_valid_edge_values_are_accepted() -> None:
    config = CARBSParams(
        better_direction_sign=-1,
        min_pareto_cost_fraction=1.0,
        resample_frequency=0,
        max_suggestion_cost=1e-3,
        exploration_bias=-0.5,
        num_random_samples=1,
    )
    assert config.better_direction_sign == -1 and config.max_suggestion_cost == 1e-3
    assert CARBSParams(min_pareto_cost_fraction=0.0).min_pareto_cost_fraction == 0.0


def test_autosave_without_a_folder_is_refused_however_it_is_set() -> None:
    # Set after construction, it was taken: autosave wrote into the working directory a
    # file that CARBS.load then refused.
    with pytest.raises(InvalidConfigError, match="checkpoint_dir must name a folder"):
        CARBSParams(checkpoint_dir=None, is_saved_on_every_observation=True)
    config = CARBSParams(checkpoint_dir=None)
    with pytest.raises(InvalidConfigError, match="checkpoint_dir must name a folder"):
        config.is_saved_on_every_observation = True
    assert config.is_saved_on_every_observation is False
    saving = CARBSParams(checkpoint_dir="runs", is_saved_on_every_observation=True)
    with pytest.raises(InvalidConfigError, match="got ''"):
        saving.checkpoint_dir = ""
    assert saving.checkpoint_dir == "runs"
    saving.is_saved_on_every_observation = False
    saving.checkpoint_dir = None  # no autosave: no folder needed
    assert saving.checkpoint_dir is None


def test_a_sign_saved_as_a_float_by_an_older_carbs_loads_as_an_int() -> None:
    data = config_to_dict(CARBSParams(better_direction_sign=-1))
    data["better_direction_sign"] = -1.0
    assert config_from_dict(data).better_direction_sign == -1
    data["better_direction_sign"] = True
    with pytest.raises(InvalidConfigError, match="better_direction_sign"):
        config_from_dict(data)
