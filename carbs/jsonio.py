"""Strict JSON for state files: non-finite floats, bounded nesting, atomic writes.

Non-finite floats (unbounded spaces, NaN outputs of failed runs) are written
as ``{"__float__": "nan" | "inf" | "-inf"}`` so that files are strict JSON.
Nothing is ever unpickled. Files are replaced atomically (temporary file in
the same folder, fsync, rename, fsync of the folder), so a crash at any moment
leaves either the previous file or the new one; temporary files left behind
by a killed process are removed by the next write to the same path.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import time
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor

from carbs.errors import StateError

PathLike = str | os.PathLike[str]

MAX_NESTING = 32
"""Deepest nesting of lists and objects a state may have; a real state needs about 6."""
STALE_TEMP_SECONDS = 3600.0
_TEMP_SUFFIX = re.compile(r"(?:(?P<pid>[0-9]+)\.[0-9a-f]{12}|[a-z0-9_]{8})\.tmp")
"""What follows ``.<file name>.`` in the name of a temporary file of that file: this
scheme's ``<pid>.<12 hex digits>.tmp``, or ``<8 characters>.tmp`` (``mkstemp``, earlier
versions). Nothing looser: ``.a.json.bak.<pid>...`` is a temporary file of ``a.json.bak``."""
"""A temporary file this old is stale even if its writer's process id is in use."""

_FLOAT_TAG = "__float__"
_NON_FINITE_NAMES = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def to_json_value(value: Any) -> Any:
    """Recursively turn ``value`` into strict-JSON data.

    Non-finite floats become ``{"__float__": "nan" | "inf" | "-inf"}``; tensors,
    numpy values, tuples and enums become plain lists, numbers and strings;
    any other object becomes its ``str``.
    """
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {_FLOAT_TAG: "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, Enum):
        return to_json_value(value.value)
    if isinstance(value, Tensor | np.ndarray | np.generic):
        return to_json_value(value.tolist())
    if isinstance(value, Mapping):
        return {str(key): to_json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(item) for item in value]
    return str(value)


def from_json_value(value: Any) -> Any:
    """Invert :func:`to_json_value` on parsed JSON: decode tagged non-finite floats."""
    if isinstance(value, dict):
        if len(value) == 1 and _FLOAT_TAG in value:
            name = value[_FLOAT_TAG]
            if not isinstance(name, str) or name not in _NON_FINITE_NAMES:
                raise StateError(f"unknown non-finite float tag {name!r}")
            return _NON_FINITE_NAMES[name]
        return {key: from_json_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_json_value(item) for item in value]
    return value


def dumps(data: Mapping[str, Any]) -> str:
    """Serialise JSON-ready data (see :func:`to_json_value`) to a strict JSON string."""
    try:
        return json.dumps(data, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise StateError(f"the state is not JSON-ready: {error}") from error


def _nesting_depth(value: Any) -> int:
    """Deepest nesting of lists and dicts in ``value``, counted without recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_NESTING:
                pending.extend((child, depth + 1) for child in children)
    return deepest


def check_nesting(data: Any, source: str = "the state") -> None:
    """Raise :class:`StateError` if ``data`` nests deeper than :data:`MAX_NESTING`."""
    if _nesting_depth(data) > MAX_NESTING:
        raise StateError(f"{source} is nested more than {MAX_NESTING} deep: not a carbs state")


def loads(text: str, source: str = "the state string") -> dict[str, Any]:
    """Parse JSON text into a dict (tagged non-finite floats are left for :func:`from_json_value`).

    Raises:
        StateError: ``text`` is not a str, not valid JSON (truncated, say), holds
            an integer too long to parse, is nested deeper than
            :data:`MAX_NESTING`, or is not a JSON object.
    """
    if not isinstance(text, str):
        raise StateError(f"{source} must be a str, got {type(text).__name__}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise StateError(
            f"{source} is not valid JSON ({error}); it may be truncated or not a carbs state"
        ) from error
    except (ValueError, RecursionError) as error:  # an over-long integer, deep nesting
        raise StateError(f"{source} cannot be a carbs state: {error}") from error
    if not isinstance(data, dict):
        raise StateError(f"{source} holds a JSON {type(data).__name__}, not a carbs state object")
    check_nesting(data, source)
    return data


def read_text(path: PathLike) -> str:
    """The UTF-8 text of a file.

    Raises:
        FileNotFoundError: no file at ``path``.
        StateError: the file is not UTF-8 text.
    """
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise StateError(f"{os.fspath(path)} is not UTF-8 text, so not a carbs state") from error


def write_atomic(path: PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` so that a crash leaves the old file or the new one, whole.

    The text goes to a temporary file in the same folder, which is flushed and
    fsynced, then renamed over ``path`` (``os.replace``, atomic), and the folder
    is fsynced so that the rename itself is durable. Missing folders are created.
    A new file gets the permissions the process's umask allows (``0o666 & ~umask``);
    an existing file keeps its own. Stale temporary files of ``path`` (their
    writer is gone, or they are over an hour old) are removed. A symbolic link is
    written through: the file it points to is replaced, in that file's folder, and the
    link stays (renaming over the link would leave its target stale).

    Returns:
        ``path``, as given.
    """
    target = Path(os.path.realpath(path))
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(target)
    temp = folder / f".{target.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp"
    # os.open applies the umask to 0o666, as open() does for any new file.
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(temp, target.stat().st_mode & 0o777)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_directory(folder)
    return Path(path)


def _remove_stale_temps(target: Path) -> None:
    prefix = f".{target.name}."
    now = time.time()
    with contextlib.suppress(OSError):
        for entry in os.scandir(target.parent):
            name = entry.name
            match = _TEMP_SUFFIX.fullmatch(name[len(prefix) :])
            if not (name.startswith(prefix) and match):
                continue
            writer = match["pid"]
            with contextlib.suppress(OSError):
                is_old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_TEMP_SECONDS
                if is_old or writer is None or not _is_process_alive(int(writer)):
                    os.unlink(entry.path)


def _is_process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another thread of this process may be writing; the age rule applies
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


def _fsync_directory(folder: Path) -> None:
    if os.name != "posix":  # Windows cannot open folders; its rename is already durable enough
        return
    descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        with contextlib.suppress(OSError):  # some file systems do not support it
            os.fsync(descriptor)
    finally:
        os.close(descriptor)
