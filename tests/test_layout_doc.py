"""docs/architecture.md's layout table (core apart from extensions, lines of each) is the one
msc_sle.tools.layout counts from the files now; the command that rewrites it is named in the doc."""
from __future__ import annotations

import shutil

import pytest

from msc_sle.contract import REPO_ROOT
from msc_sle.tools import layout

DOC = REPO_ROOT / "docs" / "architecture.md"


def test_the_doc_prints_the_counted_layout():
    text = DOC.read_text(encoding="utf-8")
    block = text[text.index(layout.BEGIN) + len(layout.BEGIN):text.index(layout.END)].strip()
    assert block == layout.layout_markdown(), (
        "docs/architecture.md's layout table is stale: run `.venv/bin/python -m msc_sle.tools.layout`")
    assert ".venv/bin/python -m msc_sle.tools.layout" in text


def test_counts_follow_the_files_and_every_module_is_placed(tmp_path):
    package = tmp_path / "msc_sle"
    shutil.copytree(layout.PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__", "templates"))
    before = layout.line_counts(package)
    (package / "clinical" / "new_rule.py").write_text("a = 1\nb = 2\nc = 3\n")
    after = layout.line_counts(package)
    assert after["clinical"] == (before["clinical"][0] + 1, before["clinical"][1] + 3)
    assert {k: v for k, v in after.items() if k != "clinical"} == {k: v for k, v in before.items() if k != "clinical"}
    (package / "orphan.py").write_text("x = 1\n")
    with pytest.raises(KeyError, match="orphan.py belongs to no part"):
        layout.line_counts(package)


def test_rewriting_the_doc_is_atomic_and_idempotent(tmp_path):
    doc = tmp_path / "architecture.md"
    doc.write_text(f"# A\n\n{layout.BEGIN}\nold table\n{layout.END}\n\nafter\n", encoding="utf-8")
    assert layout.write_layout(doc) is True
    assert layout.write_layout(doc) is False
    text = doc.read_text(encoding="utf-8")
    assert "old table" not in text and text.endswith(f"{layout.END}\n\nafter\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["architecture.md"]
