"""A file made from the SYNTHETIC cohort says so wherever a person opens it, and one made from a
real extract says nothing of the kind.

Unit level: the figures' corner label (inside the canvas, clear of every axes and text), the XLSX
sheet names and first row, the printed CSV's byte-order mark, the notebook banner. Bundle level:
every HTML, DOCX, XLSX, PNG and SVG file of make run and make share on the bundled cohort, and of
make run on the same rows under a manifest that says they are real.
"""
from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from msc_sle import analysis_frame, apply_eligibility, classify_response, compare_groups, load_cohort  # noqa: E402
from msc_sle.clinical import sledai_long  # noqa: E402
from msc_sle.compare import paired_over_time  # noqa: E402
from msc_sle.contract import BUNDLED_DATA  # noqa: E402
from msc_sle.present import figures  # noqa: E402
from msc_sle.present.export import export_table  # noqa: E402
from msc_sle.present.tables import plain_table  # noqa: E402
from msc_sle.rates import cumulative_response, response_rates  # noqa: E402

LABEL_FILL = (0xFD, 0xE6, 0x8A)


@pytest.fixture(scope="module")
def draw():
    """Figure makers: save_figure changes the figure it saves, so each test draws its own."""
    figures.use_print_style()
    eligibility = apply_eligibility(load_cohort())
    cohort = eligibility.cohort
    frame = analysis_frame(cohort)
    results = [classify_response(cohort, "lda"), classify_response(cohort, "cr")]
    p_value = paired_over_time(frame).p_value
    forest = figures.forest_data(compare_groups(frame, "cr_ever", adjust="bh"))
    yield {
        "consort": lambda: figures.consort_figure(eligibility.attrition),
        "figure1": lambda: figures.sledai_over_time_figure(sledai_long(frame), p_value=p_value),
        "rates": lambda: figures.response_rate_figure(response_rates(results)),
        "cumulative": lambda: figures.cumulative_response_figure(cumulative_response(results)),
        "forest": lambda: figures.forest_plot(forest, annotate="annotation", outcome="CR during the year",
                                              title="Odds ratios for LLDAS during the year (PGA NOT RECORDED: "
                                                    "CRITERION NOT CHECKED), n = 69, a title that wraps"),
    }
    plt.close("all")


def _label_pixels(png: Path) -> int:
    """Pixels of the label's fill colour in the top right eighth of the image."""
    im = np.asarray(Image.open(png).convert("RGB"))
    h, w, _ = im.shape
    corner = im[: h // 8, w // 2:]
    return int((np.abs(corner.astype(int) - LABEL_FILL).sum(axis=2) < 12).sum())


@pytest.mark.parametrize("name", ["consort", "figure1", "rates", "cumulative", "forest"])
def test_a_synthetic_figure_is_labelled_in_its_corner_clear_of_the_plot(draw, name, tmp_path):
    fig = draw[name]()
    figures.save_figure(fig, name, tmp_path, synthetic=True)
    fig.canvas.draw()  # at the figure's own dpi (the PNG was drawn at savefig.dpi)
    renderer = fig.canvas.get_renderer()
    labels = [t for t in fig.texts if t.get_gid() == "synthetic-label"]
    assert len(labels) == 1 and labels[0].get_text() == figures.SYNTHETIC_LABEL
    box = labels[0].get_bbox_patch().get_window_extent(renderer)
    canvas = fig.bbox
    assert canvas.x0 <= box.x0 and box.x1 <= canvas.x1 and canvas.y0 <= box.y0 and box.y1 <= canvas.y1
    assert box.y0 > canvas.y1 * 0.8 and box.x0 > canvas.x1 * 0.5, "not in the top right corner"
    for ax in fig.axes:
        if ax.get_visible():
            assert not box.overlaps(ax.get_tightbbox(renderer)), f"{name}: the label covers an axes"
    others = [t for t in fig.findobj(matplotlib.text.Text)
              if t is not labels[0] and t.get_visible() and t.get_text().strip()]
    for t in others:
        assert not box.overlaps(t.get_window_extent(renderer)), f"{name}: the label covers {t.get_text()!r}"
    png, svg = tmp_path / "figures" / f"{name}.png", tmp_path / "figures" / f"{name}.svg"
    assert _label_pixels(png) > 200
    assert Image.open(png).text.get("Description") == figures.SYNTHETIC_LABEL
    assert 'id="synthetic-label"' in svg.read_text(encoding="utf-8")  # the label drawn, not only described
    plt.close(fig)


def test_a_real_figure_has_no_label(draw, tmp_path):
    fig = draw["rates"]()
    figures.save_figure(fig, "rates", tmp_path)
    png, svg = tmp_path / "figures" / "rates.png", tmp_path / "figures" / "rates.svg"
    assert _label_pixels(png) == 0 and "Description" not in Image.open(png).text
    assert "SYNTHETIC" not in svg.read_text(encoding="utf-8")
    plt.close(fig)


def _small_table():
    return plain_table(pd.DataFrame({"Variable": ["Age ≥ 20 years", "Dose ≤ 7.5 mg"], "n": ["3", "4"],
                                     "Range": ["1–2", "3–4"]}), "A small table")


def test_xlsx_says_synthetic_in_its_sheet_names_and_first_row(tmp_path):
    from openpyxl import load_workbook

    table = _small_table()
    synthetic = load_workbook(export_table(table, tmp_path / "s", formats=("xlsx",), synthetic=True)["xlsx"])
    assert all("SYNTHETIC" in name for name in synthetic.sheetnames)
    first = synthetic.worksheets[0]
    assert "SYNTHETIC" in first["A1"].value and first["A2"].value == "A small table"
    real = load_workbook(export_table(table, tmp_path / "r", formats=("xlsx",))["xlsx"])
    assert not any("SYNTHETIC" in str(c.value) for ws in real for row in ws.iter_rows() for c in row)
    assert not any("SYNTHETIC" in name for name in real.sheetnames)


def test_printed_csv_has_a_byte_order_mark_and_the_data_csv_none(tmp_path):
    """Excel on Windows reads a CSV without a BOM in the local code page: '≥' would print as 'â‰¥'."""
    paths = export_table(_small_table(), tmp_path / "t", formats=("csv", "data.csv"))
    printed, data = paths["csv"].read_bytes(), paths["data.csv"].read_bytes()
    assert printed.startswith(b"\xef\xbb\xbf") and "≥" in printed.decode("utf-8-sig")
    assert not data.startswith(b"\xef\xbb\xbf") and "≥" in data.decode("utf-8")


def test_the_notebook_banner_is_index_htmls_yellow_box(monkeypatch):
    from types import SimpleNamespace

    from msc_sle.workbook import notebook

    shown = []
    monkeypatch.setattr(notebook, "_display", lambda obj, metadata=None: shown.append(obj))
    notebook.banner(SimpleNamespace(synthetic=True))
    notebook.banner(SimpleNamespace(synthetic=False))
    synthetic, real = shown
    assert notebook.BANNER_STYLE in synthetic["text/html"] and "SYNTHETIC DATA" in synthetic["text/html"]
    assert "text/html" not in real and "SYNTHETIC" not in json.dumps(real)


# --------------------------------------------------------------------------- whole bundles

def _real_bundle(tmp_path_factory) -> Path:
    """Every notebook run on the bundled rows under a manifest that says they are a real extract."""
    from msc_sle.tools.runner import run_workbook
    from msc_sle.workbook.params import check_parameters

    root = tmp_path_factory.mktemp("real")
    data = root / "extract"
    data.mkdir()
    for name in ("patients.csv", "visits.csv"):
        shutil.copy(BUNDLED_DATA / name, data)
    (data / "manifest.json").write_text(json.dumps({"synthetic": False}))
    out = root / "reports"
    run_workbook(dict(check_parameters(data_dir=str(data))), out, jobs=2, progress=lambda _m: None)
    return out


def _marks(path: Path) -> bool:
    """Whether the file carries the SYNTHETIC mark where a reader sees it."""
    if path.suffix == ".docx":
        with zipfile.ZipFile(path) as z:
            headers = [n for n in z.namelist() if n.startswith("word/header")]
            return any("SYNTHETIC" in z.read(n).decode() for n in headers)
    if path.suffix == ".xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(path)
        return all("SYNTHETIC" in n for n in wb.sheetnames) and "SYNTHETIC" in str(wb.worksheets[0]["A1"].value)
    if path.suffix == ".png":
        return Image.open(path).text.get("Description") == figures.SYNTHETIC_LABEL and _label_pixels(path) > 200
    if path.suffix == ".svg":
        return 'id="synthetic-label"' in path.read_text(encoding="utf-8")
    if path.suffix == ".html":
        from msc_sle.workbook.notebook import BANNER_STYLE

        return "SYNTHETIC DATA" in path.read_text(encoding="utf-8") and BANNER_STYLE in path.read_text(encoding="utf-8")
    raise AssertionError(path)


@pytest.mark.slow
def test_every_file_a_person_opens_says_synthetic_and_only_then(bundle, shared_bundle, tmp_path_factory):
    """Every DOCX, XLSX, PNG, SVG and HTML file of make run and make share on the SYNTHETIC cohort
    says so; the same workbook on the same rows under a real extract's manifest says so nowhere."""
    kinds = {".docx", ".xlsx", ".png", ".svg", ".html"}
    for out, synthetic in ((bundle, True), (shared_bundle, True), (_real_bundle(tmp_path_factory), False)):
        files = sorted(p for p in out.rglob("*") if p.suffix in kinds)
        assert {p.suffix for p in files} == kinds, "the bundle should hold every kind of file"
        wrong = [str(p.relative_to(out)) for p in files if _marks(p) != synthetic]
        assert not wrong, f"{'synthetic' if synthetic else 'real'} bundle: {wrong}"
        if not synthetic:  # nor anywhere else in what a reader opens
            for p in files:
                if p.suffix != ".png":
                    text = p.read_text(encoding="utf-8") if p.suffix in (".svg", ".html") else \
                        "".join(zipfile.ZipFile(p).read(n).decode("utf-8", "replace") for n in zipfile.ZipFile(p).namelist())
                    assert "SYNTHETIC DATA" not in text, p.name
