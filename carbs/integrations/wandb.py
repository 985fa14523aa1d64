"""Weights & Biases logging for :class:`carbs.CARBS` (the ``wandb`` extra).

Switched on by ``CARBSParams(is_wandb_logging_enabled=True)``; ``wandb`` is
imported only then.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from carbs.config import CARBSParams
from carbs.config_data import config_to_dict
from carbs.spaces import Param


class WandbLogger:
    """Logs suggestions and observations of one optimizer to a W&B run.

    Args:
        config: The optimizer's settings; ``config.wandb_params`` names the run.
        params: The tuned params, logged as the run's config when
            ``wandb_params.is_search_space_logged`` is set.

    Raises:
        ImportError: if ``wandb`` is not installed.
    """

    def __init__(self, config: CARBSParams, params: Sequence[Param]) -> None:
        try:
            import wandb
        except ImportError as error:
            raise ImportError(
                "is_wandb_logging_enabled=True needs Weights & Biases: "
                'pip install "carbs-hpo[wandb]"'
            ) from error
        self.settings = config.wandb_params
        run_config: dict[str, Any] = {"carbs": config_to_dict(config)}
        if self.settings.is_search_space_logged:
            run_config["search_space"] = {p.name: p.to_dict() for p in params}
        init_kwargs: dict[str, Any] = {
            "project": self.settings.project_name,
            "group": self.settings.group_name,
            "name": self.settings.run_name,
            "dir": self.settings.root_dir,
            "config": run_config,
        }
        if self.settings.run_id is not None:
            init_kwargs.update(id=self.settings.run_id, resume="allow")
        self.run = wandb.init(**init_kwargs)

    def log_suggestion(self, suggestion: dict[str, Any], log: dict[str, Any]) -> None:
        """Log one suggestion's params and diagnostics under ``suggestion/`` (a diagnostic
        named like a param, ``predicted_cost`` say, under ``suggestion_log/``)."""
        if not self.settings.is_suggestion_logged:
            return
        params = {k: v for k, v in suggestion.items() if k != "suggestion_uuid"}
        values = {f"suggestion/{k}": v for k, v in params.items()}
        for key, value in log.items():
            values[f"suggestion_log/{key}" if key in params else f"suggestion/{key}"] = value
        self.run.log(values)

    def log_observation(self, logs: dict[str, Any]) -> None:
        """Log the logs that :meth:`carbs.CARBS.observe` returns."""
        if self.settings.is_observation_logged:
            self.run.log(dict(logs))
