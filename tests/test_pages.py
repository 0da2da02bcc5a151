"""What is printed is the product: every rendered page of a `make run` reads as a clinician expects.

Each HTML page (the code-hidden reports, the pages with code, index.html) is parsed and its
outputs checked: no pandas index column, no raw dictionary or test name, no unformatted float,
no cell cut with "...", no footnote printed twice, no bare True/False; the manuscript tables exist
as DOCX and their cells are the CSV's.
"""
from __future__ import annotations

import csv
import re

import pytest
from bs4 import BeautifulSoup

from msc_sle.contract import load_dictionary
from msc_sle.stats import TESTS

pytestmark = pytest.mark.slow

SNAKE_NAMES = sorted({n for n in load_dictionary()["name"] if "_" in n} | {t for t in TESTS if "_" in t}
                     | {"chi2", "p_value", "q_value", "n_valid", "effect_estimate"})
RAW_NAME = re.compile(r"(?<![\w/.-])(" + "|".join(map(re.escape, SNAKE_NAMES)) + r")(?![\w/-])")
# five decimals or more with four significant digits or more: a ratio's small CI bound printed to
# three significant digits (0.00117) is formatted, 0.123456 is not
UNFORMATTED = re.compile(r"(?<![\w.])(\d+\.(?=\d{5,})0*[1-9]\d{3,}|\d+(\.\d+)?e[-+]\d+|0\.0000)(?![\w.])")
TRUNCATED = re.compile(r"\.\.\.|…")


def _pages(bundle):
    return sorted(bundle.glob("html/*.html")) + [bundle / "index.html"]


def _output_text_nodes(soup):
    """Text a reader sees as results: outputs and markdown of a notebook page, all of index.html,
    leaving out code inputs and the provenance block (hashes, versions)."""
    for node in soup.select(".jp-InputArea, .jp-InputPrompt, script, style, .msc-provenance, code"):
        node.decompose()
    return soup


@pytest.fixture(scope="module")
def pages(bundle):
    return {p.name: _output_text_nodes(BeautifulSoup(p.read_text(encoding="utf-8"), "html.parser"))
            for p in _pages(bundle)}


def test_every_notebook_has_two_pages(bundle):
    from msc_sle.tools.runner import NOTEBOOKS

    for name in NOTEBOOKS:
        assert (bundle / "html" / f"{name}.html").is_file() and (bundle / "html" / f"{name}.clinical.html").is_file()


def test_no_index_column(pages):
    for name, soup in pages.items():
        for table in soup.find_all("table"):
            heads = [th.get_text(strip=True) for th in table.select("tbody tr > th:first-child")]
            numbered = heads and heads == [str(i) for i in range(len(heads))]
            assert not numbered, f"{name}: a table with a 0..n index column: {table.get_text(' ', strip=True)[:120]}"


def test_no_raw_dictionary_or_test_name(pages):
    for name, soup in pages.items():
        text = soup.get_text(" ")
        hits = sorted(set(RAW_NAME.findall(text)))
        assert not hits, f"{name}: raw names printed: {hits}"


def test_no_unformatted_float(pages):
    for name, soup in pages.items():
        hits = sorted(set(m.group(0) for m in UNFORMATTED.finditer(soup.get_text(" "))))
        assert not hits, f"{name}: unformatted numbers: {hits[:10]}"


def test_no_truncated_cell_and_no_bare_boolean(pages):
    for name, soup in pages.items():
        for cell in soup.select("td, th"):
            text = cell.get_text(" ", strip=True)
            assert not TRUNCATED.search(text), f"{name}: a cell cut short: {text[:80]!r}"
            assert text not in ("True", "False") and not text.endswith((": True", ": False")), \
                f"{name}: a raw boolean printed: {text!r}"


def test_no_footnote_printed_twice(pages):
    for name, soup in pages.items():
        notes = [p.get_text(" ", strip=True) for p in soup.select("p.footnote")]
        for table_block in soup.select(".jp-OutputArea-output"):
            block = [p.get_text(" ", strip=True) for p in table_block.select("p.footnote")]
            assert len(block) == len(set(block)), f"{name}: a footnote repeated under one table"
        text = soup.get_text("\n")
        for note in set(notes):
            if len(note) > 60:
                assert text.count(note) == notes.count(note), f"{name}: footnote printed again outside its table: " \
                                                               f"{note[:80]!r}"


@pytest.mark.parametrize("stem", ["table1_baseline", "table2_cr"])
def test_manuscript_tables_are_docx_with_the_csv_cells(bundle, stem):
    from docx import Document

    doc = Document(str(bundle / "tables" / f"{stem}.docx"))
    grid = [[c.text for c in row.cells] for row in doc.tables[0].rows]
    with open(bundle / "tables" / f"{stem}.csv", newline="", encoding="utf-8-sig") as fh:  # Excel's BOM
        printed = list(csv.reader(fh))
    assert grid == printed
