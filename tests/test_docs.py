"""Docs that run: every fenced ``python`` block of README.md and docs/*.md is executed, in order, one namespace per
file, in a temporary working directory (the snippets write files such as ``runs/...``).

A block may be preceded by an HTML comment ``<!-- doctest-setup: ... -->`` holding code that prepares what a reader
brings (a corpus file of their own); it runs first and is not shown on the rendered page. Nothing else is hidden:
a snippet that needs models builds them in an earlier block of the same file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"(?:<!-- doctest-setup:[^\n]*\n(?P<setup>.*?)-->\n)?```python\n(?P<code>.*?)```", re.S)


def python_blocks(path: Path) -> list[tuple[int, str, str]]:
    """(line number, setup code, code) of every fenced python block of a markdown file."""
    text = path.read_text()
    return [
        (text.count("\n", 0, m.start("code")), m.group("setup") or "", m.group("code")) for m in FENCE.finditer(text)
    ]


def test_every_doc_has_been_scanned() -> None:
    blocks = {p.name: len(python_blocks(p)) for p in DOCS}
    assert blocks["README.md"] >= 2 and blocks["env.md"] >= 3 and blocks["plugging_in_agents.md"] >= 4, blocks
    for p in DOCS:  # every ```python fence was matched (none skipped by a malformed setup comment)
        assert p.read_text().count("```python\n") == blocks[p.name], p.name


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_python_blocks_run(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = python_blocks(path)
    if not blocks:
        pytest.skip(f"{path.name} has no python blocks")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEQGAN_ORACLE_PARAMS", raising=False)
    namespace: dict[str, object] = {"__name__": f"docs_{path.stem}"}
    for line, setup, code in blocks:
        if setup:
            exec(compile(setup, f"{path.name}:{line} (doctest-setup)", "exec"), namespace)  # noqa: S102
        exec(compile(code, f"{path.name}:{line}", "exec"), namespace)  # noqa: S102
