"""Every mutation in ``tools/mutation_check.py`` still names code that exists, exactly once.

The check itself takes minutes and is run by hand; this keeps a refactor from
silently turning one of its mutations into a no-op.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _mutations() -> list[tuple[str, str, str]]:
    script = ROOT / "tools" / "mutation_check.py"
    spec = importlib.util.spec_from_file_location("mutation_check", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [mutation for mutation, _ in module.planned_runs()]


@pytest.mark.parametrize("path, old, new", _mutations())
def test_each_mutation_matches_its_file_exactly_once(path: str, old: str, new: str) -> None:
    assert old != new
    assert (ROOT / path).read_text().count(old) == 1, (path, old)
