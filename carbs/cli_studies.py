"""The studies behind the ``carbs`` command: space files, storage URLs and opening a study.

A study is an Optuna study created by ``carbs create``; its space (params,
direction and CARBS settings) is kept in the study's user attribute
:data:`SPACE_ATTR`, so every later command rebuilds the same
:class:`~carbs.integrations.optuna.CARBSSampler` from the storage alone.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from carbs.config_data import config_from_dict, config_to_dict
from carbs.errors import CARBSValueError
from carbs.integrations.engine import direction_sign
from carbs.integrations.optuna_space import distributions_from_params
from carbs.predictions import check_param_names
from carbs.spaces import Param, SearchSpace

DEFAULT_STORAGE = "sqlite:///carbs-studies.db"
STORAGE_ENV = "CARBS_STORAGE"
SPACE_ATTR = "carbs_space"
EXPORT_COLUMNS = ("id", "state", "output", "cost")  # then the params, in `carbs export`


class CLIError(CARBSValueError):
    """A command that cannot be carried out; the message says why."""


# -- the space file and the study's settings ---------------------------------------------------
def read_space_file(path: Path) -> dict[str, Any]:
    """The checked contents of a space file: ``params``, ``direction`` and ``config``.

    Raises:
        CLIError: the file is missing, not JSON/YAML, or holds invalid params or settings.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CLIError(f"cannot read the space file {path}: {error}") from error
    except UnicodeDecodeError as error:
        raise CLIError(f"the space file {path} is not UTF-8 text: {error}") from error
    if path.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError as error:
            raise CLIError("YAML space files need PyYAML: pip install pyyaml") from error
        try:
            data = yaml.safe_load(text)
        except (yaml.YAMLError, RecursionError) as error:
            raise CLIError(f"the space file {path} is not valid YAML: {error}") from error
    else:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as error:  # RecursionError: nested too deep
            raise CLIError(f"the space file {path} is not valid JSON: {error}") from error
    return check_space(data, str(path))


def check_space(data: Any, source: str) -> dict[str, Any]:
    """Check a space description (see :mod:`carbs.cli`); return it normalised."""
    if not isinstance(data, dict) or "params" not in data:
        raise CLIError(f"{source}: expected an object with a 'params' list")
    unknown = sorted(set(data) - {"params", "direction", "config"}, key=repr)
    if unknown:
        raise CLIError(f"{source}: unknown key(s) {unknown}; use params, direction, config")
    direction = data.get("direction", "minimize")
    try:
        direction_signed = direction_sign(direction, "direction")
    except CARBSValueError as error:
        raise CLIError(f"{source}: {error}") from error
    if not isinstance(data["params"], list):
        raise CLIError(f"{source}: params must be a list of params")
    try:
        params = [Param.from_dict(p) for p in data["params"]]
        SearchSpace(params)
        check_param_names([p.name for p in params])
        distributions_from_params(params)  # Optuna's bounds: `carbs ask` refused them later
        config = config_from_dict(data.get("config", {}))
    except CARBSValueError as error:
        raise CLIError(f"{source}: {error}") from error
    taken = [p.name for p in params if p.name in EXPORT_COLUMNS]
    if taken:
        raise CLIError(
            f"{source}: param name(s) {taken} are columns of `carbs export`; rename them"
        )
    sign = config.better_direction_sign
    if "better_direction_sign" in data.get("config", {}) and sign != direction_signed:
        # The study's direction sets the sign; a sign that says otherwise was dropped.
        raise CLIError(
            f"{source}: config.better_direction_sign {sign} contradicts direction "
            f"{direction!r}; set direction ('maximize' for a sign of 1) and leave the sign out"
        )
    return {
        "params": [p.to_dict() for p in params],
        "direction": direction,
        "config": config_to_dict(config),
    }


def open_storage(url: str | None, is_created: bool = False) -> Any:
    """The Optuna storage of ``url``, else ``$CARBS_STORAGE``, else the local SQLite file.

    A SQLite or journal file that does not exist is an error unless ``is_created``
    (``carbs create``): opening one makes it, so a mistyped path left a new, empty file.
    """
    import optuna

    url = url or os.environ.get(STORAGE_ENV) or DEFAULT_STORAGE
    path = _storage_file(url)
    if not is_created and path is not None and not os.path.exists(path):
        raise CLIError(
            f"cannot open the storage {url!r}: no file {path!r} (`carbs create` makes one)"
        )
    try:
        if url.startswith("journal:"):
            from optuna.storages.journal import JournalFileBackend

            backend = JournalFileBackend(url.removeprefix("journal:"))
            return optuna.storages.JournalStorage(backend)
        kwargs = {"connect_args": {"timeout": 120}} if url.startswith("sqlite") else {}
        return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
    except Exception as error:  # a bad URL, a missing folder or driver, no server
        raise CLIError(
            f"cannot open the storage {url!r}: {type(error).__name__}: {error}"
        ) from error


def _storage_file(url: str) -> str | None:
    """The local file a SQLite or journal URL names; ``None`` for other storages."""
    if url.startswith("journal:"):
        return url.removeprefix("journal:")
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        return url.removeprefix("sqlite:///").split("?", 1)[0]
    return None


def load_study(name: str, storage_url: str | None) -> tuple[Any, Any, dict[str, Any]]:
    """The study, its sampler and its space; a clear error for an unknown study."""
    return open_study(name, open_storage(storage_url))


def open_study(name: str, storage: Any) -> tuple[Any, Any, dict[str, Any]]:
    """:func:`load_study` on a storage object the caller keeps (to write trial attributes)."""
    import optuna

    from carbs.integrations.optuna import CARBSPruner, CARBSSampler

    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError as error:
        names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
        raise CLIError(f"no study {name!r} in this storage; its studies: {names}") from error
    space = study.user_attrs.get(SPACE_ATTR)
    if space is None:
        raise CLIError(f"study {name!r} was not created by `carbs create`")
    config = config_from_dict(space["config"])
    params = [Param.from_dict(p) for p in space["params"]]
    sampler = CARBSSampler(config, seed=config.seed, params=params)
    study.sampler = sampler
    # `carbs report` decides with it, and the sampler projects stopped trials with it.
    study.pruner = CARBSPruner(
        min_fraction=config.early_stopping_min_fraction,
        min_runs=config.early_stopping_min_runs,
        probability=config.early_stopping_probability,
    )
    return study, sampler, space
