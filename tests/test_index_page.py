"""index.html lists the tables and figures in the paper's order, each with its caption, and fits a
narrow window.

The index is rendered from a made-up bundle folder (files named as the notebooks name them, the
records the notebooks hand the runner), so no notebook runs: Table 1, Table 2 and Figure 1 come
first whatever the file names' alphabetical order, each output is captioned by its page's title,
not its file name, and in headless Chromium at 1024 and 800 px the page does not scroll sideways.
"""
from __future__ import annotations

import re
import struct
import zlib

import pytest
from bs4 import BeautifulSoup

from msc_sle.tools.runner import _index_html

PROV = {"data": "data/synthetic", "data_fingerprint": "f" * 64, "synthetic": True, "patients": 76, "visits": 379,
        "parameters": {"outcome": "cr", "small_cell_min": 0}, "versions": {"python": "3.11", "pandas": "3"},
        "commit": "0123456789ab", "date": "2026-01-01T00:00:00+00:00", "mode": "run"}
#: In the notebooks' reading order, as the runner hands them to the index.
RECORDS = {
    "table:attrition": "Eligibility (section 2.1), criteria in the paper's order",
    "figure:consort_flow": "Patient flow (eligibility, Wen et al. 2019 section 2.1)",
    "table:table1_baseline": "Patients' characteristics at baseline (n = 69)",
    "figure:figure1_sledai_over_time": "SLEDAI-2K over the year after MSC transplantation " * 4,
    "table:response_rates": "LDA and CR per visit and during the year, with Wilson 95% CIs",
    "table:table2_cr": "Patients' characteristics divided by CR during the year",
    "figure:calibration_cr": "Calibration: CR during the year (n = 69)",
    "reproduction_score": "379 of 384 published values reproduced (99%): 252 exact, 127 within rounding, 5 differ",
}


def _png(path, width: int, height: int) -> None:
    """A blank PNG of the given size (a wide figure must not widen the page)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + b"\xff" * width for _ in range(height))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.fixture()
def index(tmp_path):
    out = tmp_path / "bundle"
    for sub in ("tables", "figures", "html"):
        (out / sub).mkdir(parents=True)
    for key in RECORDS:
        kind, _, stem = key.partition(":")
        if kind == "table":
            for ext in ("csv", "data.csv", "xlsx") + (("docx",) if stem.startswith("table") else ()):
                (out / "tables" / f"{stem}.{ext}").write_text("a,b\n1,2\n")
        elif kind == "figure":
            _png(out / "figures" / f"{stem}.png", 2400, 40)
            (out / "figures" / f"{stem}.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (out / "html" / "appendix.html").write_text("<p>appendix</p>")
    page = out / "index.html"
    page.write_text(_index_html(out, [], PROV, RECORDS, share=False), encoding="utf-8")
    return page


def test_paper_order_and_captions(index):
    soup = BeautifulSoup(index.read_text(encoding="utf-8"), "html.parser")
    items = [li.get_text(" ", strip=True) for li in soup.select("ol.outputs > li")]
    assert items[0].startswith("Table 1. Patients' characteristics at baseline")
    assert items[1].startswith("Table 2. Patients' characteristics divided by CR")
    assert items[2].startswith("Figure 1. SLEDAI-2K over the year")
    rest = [re.sub(r"\s+(CSV|PNG)\b.*", "", t) for t in items[3:]]
    assert rest == [RECORDS["table:attrition"], RECORDS["figure:consort_flow"], RECORDS["table:response_rates"],
                    RECORDS["figure:calibration_cr"]]
    visible = soup.get_text(" ")
    for stem in ("table1_baseline", "figure1_sledai_over_time", "calibration_cr", "consort_flow"):
        assert stem not in visible, f"a file name is shown as a caption: {stem}"
    assert soup.find("a", href="html/appendix.html")


@pytest.mark.browser
@pytest.mark.parametrize("width", [1024, 800])
def test_no_sideways_scroll(index, width):
    from test_browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, _require_browser

    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(index.as_uri(), wait_until="load")
            scroll, client = page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"index_{width}.png"), full_page=True)
        finally:
            browser.close()
    assert scroll <= client, f"index.html at {width} px is {scroll} px wide: it scrolls sideways"
