"""`make review`: a small bundle (one report page, one figure, one two-page DOCX table) rendered to
page images and one contact sheet. The rendering needs Chromium, LibreOffice and poppler: skipped
(with the reason) where one is absent, unless REQUIRE_BROWSER=1 (.ci/run), where that is a failure."""
from __future__ import annotations

import os
import shutil

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from msc_sle.present.export import export_table  # noqa: E402
from msc_sle.present.tables import plain_table  # noqa: E402
from msc_sle.tools import review  # noqa: E402


def test_no_bundle_no_review(tmp_path, capsys):
    assert review.main([f"OUT={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert "no bundle" in err and "make run" in err
    assert not (tmp_path / "review").exists()
    assert review.main(["OUT=x", "DATA=y"]) == 2 and "takes one variable" in capsys.readouterr().err


def test_contact_sheet_lays_every_image_out_in_rows(tmp_path):
    images = []
    for k in range(review.PER_ROW + 1):  # one more than a row: two rows
        path = tmp_path / f"{k}.png"
        Image.new("RGB", (600, 800), (200, 30 * k, 0)).save(path)
        images.append((f"image {k}", path))
    sheet = Image.open(review.contact_sheet(images, tmp_path / "sheet.png"))
    thumb_h = 800 * review.THUMB_WIDTH // 600
    assert sheet.width >= review.PER_ROW * review.THUMB_WIDTH
    assert 2 * thumb_h < sheet.height < 3 * thumb_h
    # the first image of the second row starts under the first row, at the left margin
    second_row = [y for y in range(sheet.height) if sheet.getpixel((review.THUMB_WIDTH // 2, y)) == (200, 180, 0)]
    assert second_row and second_row[0] > thumb_h


def test_review_renders_pages_figures_and_every_docx_page(tmp_path):
    for tool in (review.CHROMIUM, review.SOFFICE, review.PDFTOPPM):
        if shutil.which(tool) is None:
            reason = f"{tool} is absent (make review needs chromium, libreoffice-writer-nogui, poppler-utils)"
            if os.environ.get("REQUIRE_BROWSER") == "1":
                pytest.fail(reason + "; REQUIRE_BROWSER=1 makes this a failure")
            pytest.skip(reason)
    out = tmp_path / "reports"
    (out / "html").mkdir(parents=True)
    (out / "figures").mkdir()
    (out / "index.html").write_text("<h1>bundle</h1>")
    (out / "html" / "01_page.clinical.html").write_text("<h1>A report page</h1>")
    (out / "html" / "01_page.html").write_text("<h1>The page with code: not reviewed</h1>")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    fig.savefig(out / "figures" / "line.png")
    plt.close(fig)
    long = plain_table(pd.DataFrame({"Row": [f"row {i}" for i in range(120)], "n": range(120)}), "Long")
    export_table(long, out / "tables" / "long", formats=("docx",))
    (out / "review").mkdir()
    (out / "review" / "stale.png").write_text("from an earlier review")

    sheet = review.review_bundle(out, progress=lambda _m: None)
    assert sheet == out / "review" / "contact_sheet.png" and Image.open(sheet).width > 0
    made = sorted(str(p.relative_to(out / "review")) for p in (out / "review").rglob("*.png"))
    pages = [m for m in made if m.startswith("docx/")]
    assert len(pages) >= 2 and pages == [f"docx/long-{k}.png" for k in range(1, len(pages) + 1)]
    assert [m for m in made if not m.startswith("docx/")] == ["contact_sheet.png", "figures/line.png",
                                                              "html/01_page-1.png"]
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # nothing temporary left
