"""Table 1 / Table 2 layout and export."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from msc_sle.present import export, tables
from msc_sle.compare import compare_groups
from msc_sle.present.export import EXPORT_FORMATS, export_table
from msc_sle.present.tables import comparison_table, format_p, table_one


@pytest.fixture()
def frame():
    # 10 patients; counts and medians below are worked out by hand from these columns
    return pd.DataFrame({
        "patient_id": [f"P{i}" for i in range(10)],
        "cr_ever": pd.array([True] * 4 + [False] * 6, dtype="boolean"),
        "age_years": [23.0, 38, 41, 54, 20, 30, 30, 33, 45, np.nan],
        "sledai_m1": [4, 6, 6, 20, 10, 10, 4, 18, 9, 12],
        "prior_cyc": pd.array([True, False, False, False, True, True, True, True, False, True],
                              dtype="boolean"),
        "neurologic_disorder": pd.array([True, True, False, False] + [False] * 6, dtype="boolean"),
        "prednisone_dose_group": pd.Categorical(["<20", ">=20", ">=20", "<20", ">=20", ">=20",
                                                 "<20", ">=20", ">=20", ">=20"],
                                                categories=["<20", ">=20"]),
        "anti_ssb": pd.array([False] * 10, dtype="boolean"),
    })


def test_format_p():
    assert format_p(0.0027) == "0.003"
    assert format_p(0.33) == "0.33"
    assert format_p(0.0004) == "<0.001"       # SPSS's ".000"
    assert format_p(0.00075) == "0.001"       # SPSS's ".001": the paper prints arthralgia's CR p so
    assert format_p(0.0054) == "0.01"         # two decimals unless they show 0.00 (M1 SLEDAI)
    assert format_p(0.0049) == "0.005"
    assert format_p(0.045) == "0.05"          # halves away from zero, as journals print
    assert format_p(0.98) == "0.98"
    assert format_p(0.0004, 3) == "<0.001"
    assert format_p(0.01234, 3) == "0.012"
    assert format_p(float("nan")) == "n.t."
    with pytest.raises(ValueError):
        format_p(0.5, 0)


def test_rounding_conventions_and_halves():
    from fractions import Fraction

    from msc_sle.present.format import format_against, format_percent, on_half, round_half_to_even, round_half_up

    assert format_percent(1, 16) == "6.3" and round(100 / 16, 1) == 6.2      # half up, not Python's half to even
    assert on_half(Fraction(100, 16), 1) and on_half(6.25, 1) and not on_half(Fraction(500, 69), 1)
    assert not on_half(Fraction(100, 16), 2) and on_half(0.125, 2)
    assert (round_half_up(Fraction(500, 16), 1), round_half_to_even(Fraction(500, 16), 1)) == (31.3, 31.2)
    assert round_half_to_even(18.75, 1) == round_half_up(18.75, 1) == 18.8   # both conventions agree here
    # Shown beside a printed 7.3: "7.25" would round to 7.3, but 5/69 = 7.2464 rounds to 7.2.
    assert format_against(Fraction(500, 69), 1) == "7.246"
    assert format_against(7.2496, 1) == "7.2496" and format_against(0.0179, 2, extra=2) == "0.0179"


def test_table_one_layout(frame):
    t = table_one(frame, decimals=1)
    body = t.body.set_index("Variables")
    col = "n = 10"
    assert col in body.columns
    assert body.loc["CYC use", col] == "6 (60.0%)"
    # 9 ages recorded: 20 23 30 30 33 38 41 45 54 -> median 33
    assert body.loc["Age/years, median (range)", col] == "33 (20-54)"
    assert body.loc["Age/years, median (range)", "Missing"] == "1"
    # the dictionary unit is added when the label lacks it
    assert body.loc["M1 (points), median (range)", col] == "9.5 (4-20)"
    # outcomes are part of Table 1
    assert body.loc["CR during 1 year", col] == "4 (40.0%)"
    kinds = dict(zip(t.body["Variables"], t.row_kinds))
    assert kinds["Prior SLE medication history"] == "section"
    assert kinds["Prednisone daily dose (mg)"] == "variable" and kinds["≥20"] == "level"  # typeset
    sections = [v for v, k in zip(t.body["Variables"], t.row_kinds) if k == "section"]
    assert sections == [s for s in tables.PAPER_SECTION_ORDER if s in sections]
    assert len(t.tidy) == len([k for k in t.row_kinds if k != "section"]) - 1  # minus level header


def test_comparison_table_marks_and_legend(frame):
    res = compare_groups(frame, "cr_ever", group_labels={True: "CR", False: "Without CR"})
    t = comparison_table(res)
    body = t.body.set_index("Variables")
    assert list(t.body.columns[1:4]) == ["CR (n = 4)", "Without CR (n = 6)", "p value"]
    neuro = res.table.set_index("variable").loc["neurologic_disorder"]
    assert neuro["test"] == "fisher"
    assert body.loc["Neurologic disorder", "p value"] == format_p(neuro["p_value"]) + "*"
    assert body.loc["Neurologic disorder", "CR (n = 4)"] == "2 (50.0%)"
    assert body.loc["Neurologic disorder", "Without CR (n = 6)"] == "0 (0.0%)"
    # constant variable: n.t. and its reason in the footnotes
    assert body.loc["Anti-SSB", "p value"] == "n.t."
    notes = "\n".join(t.footnotes)
    assert "n.t.: not tested (Anti-SSB: no patient had it)." in notes
    assert "* Fisher's exact test (two-sided)." in notes
    assert "Unmarked p values: Mann-Whitney U test" in notes
    # a two-level category: p on its first level row only
    lv = t.body[t.body["Variables"].isin(["<20", "≥20"])]
    assert lv["p value"].iloc[0] != "" and lv["p value"].iloc[1] == ""
    assert body.loc["Age/years, median (range)", "CR (n = 4)"] == "39.5 (23-54)"


def test_comparison_table_effect_and_q(frame):
    res = compare_groups(frame, "cr_ever", ["prior_cyc", "age_years"], adjust="bh")
    t = comparison_table(res, effect=True)
    assert "q value" in t.body.columns and "Effect size (95% CI)" in t.body.columns
    cyc = t.body.set_index("Variables").loc["CYC use"]
    # 1/4 vs 5/6 -> OR = (1*1)/(3*5) = 0.0667 (no zero cell), to 3 significant digits
    assert cyc["Effect size (95% CI)"].startswith("OR 0.0667 (")
    assert any("Benjamini-Hochberg" in n for n in t.footnotes)
    with pytest.raises(ValueError, match="after add_p"):
        comparison_table(res.table.drop(columns="test"))


def test_export_every_format(frame, tmp_path):
    res = compare_groups(frame, "cr_ever")
    t = comparison_table(res, title="Table 2")
    paths = export_table(t, tmp_path / "out" / "table2")
    assert set(paths) == set(EXPORT_FORMATS)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        f"table2.{f}" for f in EXPORT_FORMATS)   # no temporary files left
    assert pd.read_csv(paths["csv"], dtype=str, keep_default_na=False).equals(t.body)  # the table as printed
    tidy = pd.read_csv(paths["data.csv"])
    assert len(tidy) == len(res.table)
    np.testing.assert_allclose(tidy["p_value"], res.table["p_value"], equal_nan=True)

    from openpyxl import load_workbook
    wb = load_workbook(paths["xlsx"])
    ws = wb["table"]
    assert ws["A1"].value == "Table 2"
    cells = [c.value for row in ws.iter_rows() for c in row]
    assert "Neurologic disorder" in cells and "data" in wb.sheetnames

    from docx import Document
    doc = Document(paths["docx"])
    grid = doc.tables[0]
    assert grid.rows[0].cells[0].text == "Variables"
    texts = [r.cells[0].text for r in grid.rows]
    assert texts[1:] == list(t.body["Variables"])
    assert any("Fisher" in p.text for p in doc.paragraphs)

    html = paths["html"].read_text()
    assert "<caption>Table 2</caption>" in html and "Fisher&#x27;s exact test" in html
    tex = paths["tex"].read_text()
    assert "\\begin{tabular}" in tex and "\\textless{}20" in tex and "\\caption{Table 2}" in tex
    md = paths["md"].read_text()
    assert "| Variables" in md and "**Table 2**" in md


def test_export_is_atomic(frame, tmp_path, monkeypatch):
    t = table_one(frame)
    export_table(t, tmp_path / "t1", formats=("docx",))
    before = (tmp_path / "t1.docx").read_bytes()

    def boom(table, path, **_options):
        with open(path, "wb") as fh:
            fh.write(b"half a file")
        raise RuntimeError("disk full")

    monkeypatch.setattr(export, "_docx", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        export_table(t, tmp_path / "t1", formats=("docx",))
    assert (tmp_path / "t1.docx").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t1.docx"]


def test_export_rejects_bad_requests(frame, tmp_path):
    t = table_one(frame)
    with pytest.raises(ValueError, match="valid: csv, data.csv, xlsx"):
        export_table(t, tmp_path / "t1", formats=("pdf",))
    with pytest.raises(ValueError, match="no extension"):
        export_table(t, tmp_path / "t1.csv")
    with pytest.raises(TypeError):
        export_table([1, 2], tmp_path / "x")


def test_the_same_table_renders_to_the_same_html_and_exports_are_readable(tmp_path):
    import stat
    frame = pd.DataFrame({"grp": [True, True, False, False, True, False],
                          "age_years": [30.0, 41.0, 25.0, 33.0, 52.0, 28.0]})
    table = comparison_table(compare_groups(frame, by="grp"))
    assert table.style().to_html() == table.style().to_html()  # no random Styler id
    written = export_table(table, tmp_path / "t", formats=("csv",))
    mode = stat.S_IMODE(written[0].stat().st_mode) if isinstance(written, list) else \
        stat.S_IMODE((tmp_path / "t.csv").stat().st_mode)
    assert mode & stat.S_IRGRP and mode & stat.S_IROTH


def test_a_definitions_caveats_reach_every_exported_format(frame, tmp_path):
    """A table made for LLDAS says in every format that the PGA criterion was not checked."""
    from docx import Document
    from openpyxl import load_workbook

    from msc_sle.clinical.outcomes import lldas

    group = f"{lldas.display_label} during the year"
    res = compare_groups(frame, "cr_ever", labels={"cr_ever": group})
    t = comparison_table(res, title=f"Patients' characteristics divided by {group}", footnotes=lldas.footnotes())
    assert "PGA not recorded: criterion not checked" in t.title
    assert all(c in " ".join(t.footnotes) for c in lldas.caveats)
    paths = export_table(t, tmp_path / "table2_lldas")
    texts = {
        "csv": paths["csv"].read_text(encoding="utf-8"),
        "data.csv": paths["data.csv"].read_text(encoding="utf-8"),
        "xlsx": " ".join(str(c.value) for ws in load_workbook(paths["xlsx"]) for row in ws.iter_rows()
                         for c in row if c.value is not None),
        "docx": " ".join(p.text for p in Document(paths["docx"]).paragraphs),
        "html": paths["html"].read_text(encoding="utf-8"),
        "tex": paths["tex"].read_text(encoding="utf-8"),
        "md": paths["md"].read_text(encoding="utf-8"),
    }
    assert set(texts) == set(EXPORT_FORMATS)
    for fmt, text in texts.items():
        assert "PGA not recorded" in text, fmt                    # the label never travels alone
        if fmt not in ("csv", "data.csv"):                        # the CSVs are cells only, no footnotes
            assert "physician global assessment criterion is not checked" in text, fmt
