"""Every code block in README.md and docs/ runs as written.

Python blocks of one document run in order in one namespace, in a fresh
folder (so files they write land there). Shell blocks run from the repository
root with this interpreter first on the PATH. A block may be left out only with
a marker on the line before its fence, ``<!-- docs-test: skip, <reason> -->``;
the README's two set-up commands (``<!-- quickstart -->`` and ``<!-- tests -->``)
are the ones ``.ci/run`` runs, so they are not run again here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SKIP = re.compile(r"<!-- docs-test: skip, (?P<reason>.+) -->")
CI_MARKERS = {"<!-- quickstart -->", "<!-- tests -->"}


@attrs.frozen
class Block:
    language: str
    code: str
    line: int
    skip_reason: str | None


def code_blocks(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown file, with the skip reason of each, if any."""
    blocks: list[Block] = []
    lines = path.read_text().splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("```") and line.strip() != "```":
            language = line.strip("`").strip()
            end = lines.index("```", index + 1)
            previous = lines[index - 1].strip() if index else ""
            match = SKIP.fullmatch(previous)
            reason = match.group("reason") if match else None
            if previous in CI_MARKERS:
                reason = ".ci/run runs it"
            code = "\n".join(lines[index + 1 : end]) + "\n"
            blocks.append(Block(language, code, index + 1, reason))
            index = end
        index += 1
    return blocks


def test_every_document_has_code_and_every_skip_says_why() -> None:
    for path in DOCUMENTS:
        blocks = code_blocks(path)
        assert blocks, path
        for block in blocks:
            assert block.language in {"python", "bash"}, (path, block.line, block.language)
            assert block.skip_reason is None or len(block.skip_reason) > 10


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_python_blocks_run_as_written(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import carbs

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(carbs.progress, "FAILURE_STREAK_WARNING", 10**9)
    namespace: dict[str, object] = {"__name__": f"docs_{path.stem}"}
    level = carbs.get_verbosity()
    carbs.set_verbosity(30)  # the progress lines are not what these blocks check
    try:
        for block in code_blocks(path):
            if block.language == "python" and block.skip_reason is None:
                exec(compile(block.code, f"{path.name}:{block.line}", "exec"), namespace)
    finally:
        carbs.set_verbosity(level)


SHELL_BLOCKS = [
    pytest.param(path, block, id=f"{path.name}:{block.line}")
    for path in DOCUMENTS
    for block in code_blocks(path)
    if block.language == "bash" and block.skip_reason is None
]


@pytest.mark.parametrize(("path", "block"), SHELL_BLOCKS)
def test_shell_blocks_run_as_written(path: Path, block: Block, tmp_path: Path) -> None:
    environment = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "MPLBACKEND": "Agg",
        "TMPDIR": str(tmp_path),
    }
    result = subprocess.run(
        ["bash", "-ec", block.code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_the_state_page_names_the_current_format_version() -> None:
    from carbs.state import FORMAT_VERSION

    page = (ROOT / "docs" / "saving-and-resuming.md").read_text(encoding="utf-8")
    assert f"| `format_version` | Layout version, currently `{FORMAT_VERSION}`. |" in page
