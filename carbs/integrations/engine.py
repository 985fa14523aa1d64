"""What the engine integrations (Optuna, Ray Tune, W&B sweeps) share.

An engine keeps the sweep's state itself (a study's storage, Tune's checkpoints,
a sweep's runs), so the optimizer it drives must not autosave or log to W&B on
its own; and each run's random draws come from the seed and the run's own key,
so that workers sharing a seed still differ and a sequential sweep is
reproducible (each process's GP fits start from its own last fit, so two processes
on one history can still differ slightly).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import attrs

from carbs.checks import real_as_float
from carbs.config import CARBSParams
from carbs.errors import InvalidConfigError


def engine_config(config: CARBSParams | None, seed: int | None, keeper: str) -> CARBSParams:
    """The checked config of an engine-driven optimizer, with ``seed`` if given.

    Args:
        config: The user's settings (``CARBSParams()`` if ``None``).
        seed: Overrides ``config.seed``.
        keeper: Where the engine keeps the state, for the error message.

    Raises:
        InvalidConfigError: not a ``CARBSParams``, or autosave or W&B logging on.
    """
    config = CARBSParams() if config is None else config
    if not isinstance(config, CARBSParams):
        raise InvalidConfigError(f"config must be CARBSParams, got {type(config).__name__}")
    if config.is_saved_on_every_observation or config.is_wandb_logging_enabled:
        raise InvalidConfigError(
            f"{keeper} keeps the sweep's state: set is_saved_on_every_observation=False "
            "and is_wandb_logging_enabled=False"
        )
    return config if seed is None else attrs.evolve(config, seed=seed)


def run_seed(seed: int, key: object) -> int:
    """A seed for one run's draws, from the sweep's seed and the run's key (a number, an id)."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def is_number(value: Any) -> bool:
    """A finite real number, Python's or numpy's (a metric computed with numpy is often a
    ``np.float32``, which is no Python float); a bool is not a number here, nor an int
    too large for a float."""
    number = real_as_float(value)
    return isinstance(number, float) and math.isfinite(number)


def is_diverged(value: Any) -> bool:
    """A NaN or infinite real number (a loss that blew up), Python's or numpy's; an int
    too large for a float is not one, nor a bool or a missing value."""
    number = real_as_float(value)
    return isinstance(number, float) and not math.isfinite(number)


DIRECTION_SIGNS = {"minimize": -1, "maximize": 1}
"""``better_direction_sign`` by direction, as Optuna (lower-cased), W&B and the CLI spell it."""


def direction_sign(direction: Any, field: str) -> int:
    """The ``better_direction_sign`` of ``"minimize"`` or ``"maximize"``.

    Raises:
        InvalidConfigError: any other value (``"max"`` was once minimised), naming ``field``.
    """
    if not isinstance(direction, str) or direction not in DIRECTION_SIGNS:
        raise InvalidConfigError(f"{field} must be 'minimize' or 'maximize', got {direction!r}")
    return DIRECTION_SIGNS[direction]
