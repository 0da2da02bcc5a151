"""The manuscript DOCX as Word would print it: Table 1 and Table 2 of the bundled cohort are laid out
by LibreOffice (``soffice --headless --convert-to pdf``) and read back with ``pdftotext``.

Checked on the printed pages: the page count (Table 1 at most 2 portrait pages, Table 2 at most 3),
every word of every cell intact on one line (a column narrower than a word breaks it:
"Demogra|phics"), the header row at the top of every page. Checked in the DOCX XML: the three
rules of journal style and no vertical line, the repeated header and unsplittable rows, the
"Table N." caption, the SYNTHETIC page header only when asked.

Skipped (with the reason) where LibreOffice or poppler is absent, unless REQUIRE_BROWSER=1 (set by
.ci/run, which installs them), where that is a failure.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import zipfile

import pytest

from msc_sle.clinical import apply_eligibility, load_cohort
from msc_sle.compare import baseline_variables
from msc_sle.present.export import export_table
from msc_sle.present.tables import table_one
from msc_sle.workbook.notebook import frame_for, outcome_comparison, outcome_table
from msc_sle.workbook.params import check_parameters

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path:
        return path
    reason = f"{tool} is absent: the DOCX layout test needs LibreOffice and poppler " \
             "(apt-get install libreoffice-writer-nogui poppler-utils)"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(reason + "; REQUIRE_BROWSER=1 makes this a failure")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def tables():
    """Table 1 and Table 2 (CR) of the bundled cohort, as 02_baseline and 04_predictors make them."""
    params = check_parameters()
    cohort = apply_eligibility(load_cohort()).cohort
    frame = frame_for(cohort, params)
    t1 = table_one(frame, baseline_variables(frame) + ["cr_ever", "lda_ever"], decimals=params["decimals"])
    definition = params.outcome_definition()
    group = f"{definition.display_label} during the year"
    frame2 = frame_for(cohort, params, {"response": definition})
    t2 = outcome_table(outcome_comparison(frame2, params, group, cohort=cohort), params,
                       f"Patients' characteristics divided by {group}", definition.footnotes())
    return {"Table 1": t1, "Table 2": t2}


@pytest.fixture(scope="module")
def printed(tables, tmp_path_factory):
    """{label: (docx path, [text of each PDF page], PDF page size in points)}."""
    soffice, pdftotext, pdfinfo = _need("soffice"), _need("pdftotext"), _need("pdfinfo")
    out = tmp_path_factory.mktemp("docx")
    result = {}
    for label, table in tables.items():
        stem = label.replace(" ", "").lower()
        docx = export_table(table, out / stem, formats=("docx",), synthetic=True, label=label)["docx"]
        subprocess.run([soffice, f"-env:UserInstallation={(out / 'profile').as_uri()}", "--headless",
                        "--convert-to", "pdf", "--outdir", str(out), str(docx)],
                       check=True, capture_output=True, timeout=180)
        pdf = out / f"{stem}.pdf"
        info = subprocess.run([pdfinfo, str(pdf)], check=True, capture_output=True, text=True).stdout
        pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
        size = next(line for line in info.splitlines() if line.startswith("Page size:")).split()
        texts = [subprocess.run([pdftotext, "-f", str(k), "-l", str(k), str(pdf), "-"], check=True,
                                capture_output=True, text=True).stdout for k in range(1, pages + 1)]
        result[label] = (docx, texts, (float(size[2]), float(size[4])))
    return result


@pytest.mark.parametrize("label, most", [("Table 1", 2), ("Table 2", 3)])
def test_manuscript_tables_fit_few_portrait_pages(printed, label, most):
    _docx, pages, (width, height) = printed[label]
    assert len(pages) <= most, f"{label} prints on {len(pages)} pages"
    assert width < height, f"{label} is landscape; it fits portrait"


@pytest.mark.parametrize("label", ["Table 1", "Table 2"])
def test_no_word_of_the_table_is_broken(tables, printed, label):
    """Every word of every cell is a whole word of the printed text: a word broken across two lines
    of its cell prints as two pieces, neither of them the word."""
    _docx, pages, _size = printed[label]
    printed_words = {w for page in pages for w in page.split()}
    table = tables[label]
    cells = [str(c) for c in table.body.columns] + [str(v) for row in table.body.itertuples(index=False)
                                                    for v in row]
    broken = sorted({w for cell in cells for w in cell.split() if w not in printed_words})
    assert not broken, f"{label}: words not printed whole: {broken[:10]}"


@pytest.mark.parametrize("label", ["Table 1", "Table 2"])
def test_the_header_row_is_printed_on_every_page(tables, printed, label):
    _docx, pages, _size = printed[label]
    header = " ".join(str(c) for c in tables[label].body.columns).split()
    for k, page in enumerate(pages, 1):
        words = page.split()
        assert all(w in words for w in header), f"{label}, page {k}: the header row is not repeated"


def _xml(docx) -> str:
    with zipfile.ZipFile(docx) as z:
        return z.read("word/document.xml").decode()


@pytest.mark.parametrize("label", ["Table 1", "Table 2"])
def test_journal_rules_and_rows(tables, printed, label):
    """Three horizontal rules (above and under the header, under the last row), no vertical line,
    no table style that could draw one, the header row repeated, no row split over two pages."""
    from docx import Document

    docx, _pages, _size = printed[label]
    doc = Document(docx)
    table = doc.tables[0]
    tbl = table._tbl
    assert tbl.tblPr.find(f"{W}tblStyle") is None
    for side in ("left", "right", "insideV", "insideH", "top", "bottom"):
        el = tbl.tblPr.find(f"{W}tblBorders/{W}{side}")
        assert el is not None and el.get(f"{W}val") in ("nil", "none"), side
    drawn = {}
    for i, row in enumerate(tbl.tr_lst):
        for tc in row.tc_lst:
            for border in tc.findall(f"{W}tcPr/{W}tcBorders/*"):
                if border.get(f"{W}val") not in ("nil", "none"):
                    drawn.setdefault((i, border.tag.removeprefix(W)), 0)
                    drawn[(i, border.tag.removeprefix(W))] += 1
    last, n_cols = len(tbl.tr_lst) - 1, len(table.columns)
    assert drawn == {(0, "top"): n_cols, (0, "bottom"): n_cols, (last, "bottom"): n_cols}
    header_rows = [i for i, row in enumerate(tbl.tr_lst) if row.find(f"{W}trPr/{W}tblHeader") is not None]
    assert header_rows == [0]
    assert all(row.find(f"{W}trPr/{W}cantSplit") is not None for row in tbl.tr_lst)
    assert doc.paragraphs[0].text == f"{label}. {tables[label].title}"
    assert "SYNTHETIC" in doc.sections[0].header.paragraphs[0].text


def test_a_real_extracts_table_has_no_synthetic_header(tables, tmp_path):
    from docx import Document

    docx = export_table(tables["Table 1"], tmp_path / "t1", formats=("docx",))["docx"]
    doc = Document(docx)
    assert "SYNTHETIC" not in "".join(p.text for p in doc.sections[0].header.paragraphs)
    assert "SYNTHETIC" not in _xml(docx)


def _orientation_and_size(docx):
    from docx import Document

    doc = Document(docx)
    section = doc.sections[0]
    sizes = {r.font.size.pt for c in doc.tables[0]._cells for p in c.paragraphs for r in p.runs}
    return ("landscape" if section.page_width > section.page_height else "portrait"), sizes


def test_a_table_turns_landscape_then_smaller_only_when_its_values_do_not_fit(tmp_path):
    """Portrait while the values fit on one line beside the labels; landscape when they do not;
    smaller type in landscape before a value would wrap."""
    import pandas as pd

    from msc_sle.present.tables import plain_table

    value = "1.86 (0.99 to 3.65); p = 0.053"
    def table(n_cols):
        return plain_table(pd.DataFrame({"Characteristic": ["Age/years"],
                                         **{f"Definition {k}": [value] for k in range(n_cols)}}))
    shapes = {n: _orientation_and_size(export_table(table(n), tmp_path / f"t{n}", formats=("docx",))["docx"])
              for n in (2, 4, 5)}
    assert shapes[2] == ("portrait", {10.0})
    assert shapes[4] == ("landscape", {10.0})
    assert shapes[5][0] == "landscape" and max(shapes[5][1]) < 10
