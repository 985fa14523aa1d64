"""Settings as plain data, and the settings a loaded state takes from whoever loads it.

:func:`config_to_dict` and :func:`config_from_dict` are the JSON form of
:class:`~carbs.CARBSParams` that saved states, space files and W&B runs hold;
:func:`with_side_effects` and :func:`with_side_effects_of` replace a loaded
config's autosave and W&B settings by the caller's, so that a state file never
starts writing or logging by itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import Enum
from typing import Any

import attrs

from carbs.checks import check_bool
from carbs.config import CARBSParams, WandbLoggingParams
from carbs.errors import InvalidConfigError


def config_to_dict(config: CARBSParams) -> dict[str, Any]:
    """Every :class:`CARBSParams` field as plain data: enums as values, ``wandb_params`` nested."""
    return attrs.asdict(
        config,
        value_serializer=lambda _, __, value: value.value if isinstance(value, Enum) else value,
    )


def config_from_dict(data: Mapping[str, Any]) -> CARBSParams:
    """Rebuild :class:`CARBSParams` from :func:`config_to_dict` output.

    Missing fields take their defaults (configs written by older versions).

    Raises:
        InvalidConfigError: an unknown field, or a field of the wrong type or range.
    """
    if not isinstance(data, Mapping):
        raise InvalidConfigError(f"a config must be an object, got {type(data).__name__}")
    values = dict(data)
    known = {field.name for field in attrs.fields(CARBSParams)}
    unknown = sorted(set(values) - known, key=repr)
    if unknown:
        raise InvalidConfigError(f"unknown config field(s) {unknown}; written by a newer carbs?")
    sign = values.get("better_direction_sign")
    if isinstance(sign, float) and sign in (1.0, -1.0):  # saved by a carbs that took floats
        values["better_direction_sign"] = int(sign)
    if "wandb_params" in values:
        wandb = values["wandb_params"]
        wandb_known = {field.name for field in attrs.fields(WandbLoggingParams)}
        if not isinstance(wandb, Mapping) or set(wandb) - wandb_known:
            raise InvalidConfigError(f"wandb_params must be an object of {sorted(wandb_known)}")
        values["wandb_params"] = WandbLoggingParams(**wandb)
    return CARBSParams(**values)


def with_side_effects(
    config: CARBSParams,
    checkpoint_dir: str | os.PathLike[str] | None,
    is_wandb_logging_enabled: bool,
) -> CARBSParams:
    """``config`` autosaving into ``checkpoint_dir`` (off if ``None``) and with W&B as given.

    Used when a state is loaded from a file: the file's own side-effect settings
    are replaced by the caller's.
    """
    return attrs.evolve(
        config,
        is_saved_on_every_observation=checkpoint_dir is not None,
        checkpoint_dir=config.checkpoint_dir if checkpoint_dir is None else checkpoint_dir,
        is_wandb_logging_enabled=check_bool(
            is_wandb_logging_enabled, "is_wandb_logging_enabled", InvalidConfigError
        ),
    )


def with_side_effects_of(config: CARBSParams, current: CARBSParams) -> CARBSParams:
    """``config`` with ``current``'s autosave, checkpoint folder and W&B settings."""
    return attrs.evolve(
        config,
        is_saved_on_every_observation=current.is_saved_on_every_observation,
        checkpoint_dir=current.checkpoint_dir,
        is_wandb_logging_enabled=current.is_wandb_logging_enabled,
        wandb_params=current.wandb_params,
    )
