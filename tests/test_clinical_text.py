"""Clinician pages hold clinical text only: one test over every text of a bundle.

For `make run` and `make share`, every text a reader of the bundle sees is collected: the visible
text of each code-hidden page (``*.clinical.html``) and of ``index.html``, every printed table
(CSV, the XLSX display sheet with its footnotes, DOCX) and footnote. None may carry what only a
programmer reads: Python's True/False/None/nan, a parameter's name, a snake_case code (a
dictionary column, a test or audit-check code), a ``make`` command, a path of the repository, a
``name=value`` assignment. The appendix (documentation rendered as written, for a reviewer) is
held only to the Python literals.

The bundles are built from the jupytext scripts (``notebooks/*.py``), the source a change is made
in; the stored ``.ipynb`` are refreshed from them separately (``make notebooks``).
"""
from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest

from msc_sle.tools.runner import NOTEBOOKS, NOTEBOOKS_DIR, RUNNER_OPTIONS, run_workbook
from msc_sle.workbook.params import PARAMETERS, check_parameters

pytestmark = pytest.mark.slow

# names with an underscore only: DATA, SEED or OUTCOME are words of a sentence too
_PARAMETER_NAMES = sorted({n for p in PARAMETERS.values() for n in (p.name, p.make_name) if "_" in n}
                          | {n for n in RUNNER_OPTIONS if "_" in n}, key=len, reverse=True)
#: What only a programmer reads, by kind (the kind is named in the failure).
TOKENS = {
    "python literal": re.compile(r"(?<![\w'\"-])(True|False|None|nan|NaN|NaT|<NA>)(?![\w'\"-])"),
    "parameter name": re.compile(r"(?<![\w/.-])(" + "|".join(map(re.escape, _PARAMETER_NAMES)) + r")(?![\w-])"),
    "internal code": re.compile(r"(?<![\w/.<>-])([a-z][a-z0-9]*(?:_[a-z0-9]+)+|chi2)(?![\w/-])"),
    "make command": re.compile(r"\bmake (run|share|lab|test|notebooks|data|bench|mapping|help)\b"),
    "repository path": re.compile(r"(?<![\w.])((?:data|docs|notebooks|lib|tests|bench)/[\w./-]*|[\w-]+\.py|msc_sle"
                                  r"|gc\.freeze)"),
    "assignment": re.compile(r"(?<![\w=<>!])([A-Za-z_]{2,}=[^\s=])"),
}
#: What the appendix (documentation quoted as written) is held to.
APPENDIX_TOKENS = ("python literal",)


def _bundle(tmp_path_factory, share: bool) -> Path:
    scripts = tmp_path_factory.mktemp("scripts")
    for name in NOTEBOOKS:
        subprocess.run([sys.executable, "-m", "jupytext", "--quiet", "--to", "ipynb",
                        "-o", str(scripts / f"{name}.ipynb"), str(NOTEBOOKS_DIR / f"{name}.py")], check=True)
    params = dict(check_parameters(**({"small_cell_min": 5} if share else {})))
    out = tmp_path_factory.mktemp("share" if share else "run") / "bundle"
    run_workbook(params, out, jobs=2, share=share, notebooks_dir=scripts, progress=lambda _m: None)
    return out


@pytest.fixture(scope="module", params=["run", "share"])
def script_bundle(request, tmp_path_factory):
    return request.param, _bundle(tmp_path_factory, request.param == "share")


def _html_text(path: Path) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    # the runner's provenance block records versions, the fingerprint and each parameter by its
    # command-line name, for whoever reruns the bundle: it is folded away and is not page text
    for node in soup.select("script, style, details.msc-provenance"):
        node.decompose()
    return soup.get_text(" ")


def _xlsx_text(path: Path) -> str:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    # the data sheet ("data", or "data (SYNTHETIC)") is the numbers behind the table, for programs
    shown = [ws for ws in book.worksheets if ws.title.removesuffix(" (SYNTHETIC)") != "data"]
    return "\n".join(" | ".join("" if v is None else str(v) for v in row)
                     for ws in shown for row in ws.iter_rows(values_only=True))


def _docx_text(path: Path) -> str:
    from docx import Document

    doc = Document(str(path))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def bundle_texts(bundle: Path) -> dict[str, str]:
    """Every text of a bundle a reader sees, by file (relative path)."""
    texts = {}
    for path in sorted(bundle.glob("html/*.clinical.html")) + [bundle / "index.html", bundle / "html/appendix.html"]:
        if path.exists():
            texts[path.relative_to(bundle).as_posix()] = _html_text(path)
    for path in sorted(bundle.glob("tables/*")):
        if path.name.endswith(".data.csv"):
            continue
        if path.suffix == ".csv":
            with open(path, newline="", encoding="utf-8") as fh:
                texts[path.relative_to(bundle).as_posix()] = "\n".join(" | ".join(r) for r in csv.reader(fh))
        elif path.suffix == ".xlsx":
            texts[path.relative_to(bundle).as_posix()] = _xlsx_text(path)
        elif path.suffix == ".docx":
            texts[path.relative_to(bundle).as_posix()] = _docx_text(path)
    return texts


def developer_tokens(texts: dict[str, str]) -> list[tuple[str, str, str, str]]:
    """(file, kind, token, context) of every token only a programmer reads."""
    hits = []
    for name, text in texts.items():
        kinds = APPENDIX_TOKENS if name.endswith("appendix.html") else TOKENS
        for kind in kinds:
            for m in TOKENS[kind].finditer(text):
                context = " ".join(text[max(0, m.start() - 50):m.end() + 50].split())
                hits.append((name, kind, m.group(1), context))
    return hits


def test_developer_tokens_are_caught():
    """The scanner itself: each kind of token is found, clinical text passes."""
    texts = {"html/x.clinical.html": "Parameters: small_cell_min=5; SHARE_MIN; make run; data/README.md; True;"
                                     " feasible_p; not age > 18 years",
             "tables/t.csv": "Reason | Patients\nage 18 years or younger | 3\np < 0.05 | n = 69 | none of them"}
    kinds = {(h[1], h[2]) for h in developer_tokens(texts)}
    assert {("parameter name", "small_cell_min"), ("parameter name", "SHARE_MIN"), ("make command", "run"),
            ("repository path", "data/README.md"), ("python literal", "True"), ("internal code", "feasible_p"),
            ("assignment", "small_cell_min=5")} <= kinds
    assert not [h for h in developer_tokens(texts) if h[0] == "tables/t.csv"]


def test_every_text_of_the_bundle_is_clinical(script_bundle):
    mode, bundle = script_bundle
    texts = bundle_texts(bundle)
    assert any(n.endswith(".clinical.html") for n in texts) and any(n.endswith(".csv") for n in texts)
    hits = developer_tokens(texts)
    report = "\n".join(f"{f} [{kind}] {tok!r} in: ...{ctx}..." for f, kind, tok, ctx in hits[:60])
    assert not hits, f"make {mode}: {len(hits)} developer token(s) in clinician text:\n{report}"
