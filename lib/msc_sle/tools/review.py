"""``make review``: every page of a bundle as an image, and one contact sheet to look at them all.

"What is printed is the product": before a bundle leaves, someone looks at what a reader will see.
This renders the report pages (``html/*.clinical.html``, through headless Chromium's PDF printer),
every figure (``figures/*.png``) and every page of every manuscript table (``tables/*.docx``,
through LibreOffice, as Word would lay it out) to PNG under ``OUT/review/``, and lays them side
by side, each labelled with its file and page, in ``OUT/review/contact_sheet.png``.

The bundle is read, never changed; ``OUT/review/`` is replaced whole (built beside it, then
renamed), so a failed review leaves the previous one intact.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["review_bundle", "contact_sheet", "ReviewError", "CHROMIUM", "SOFFICE", "PDFTOPPM"]

CHROMIUM = "chromium"
SOFFICE = "soffice"
PDFTOPPM = "pdftoppm"
#: Resolution of the page images: enough to read a table's words on the page image itself.
DPI = 60
#: Width of one thumbnail of the contact sheet (pixels) and how many sit in a row.
THUMB_WIDTH, PER_ROW = 300, 6
_TIMEOUT = 180


class ReviewError(RuntimeError):
    """What stops a review (no bundle, a renderer missing), said in one readable line."""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        packages = {CHROMIUM: "chromium", SOFFICE: "libreoffice-writer-nogui", PDFTOPPM: "poppler-utils"}
        raise ReviewError(f"'{name}' is not installed: make review needs it "
                          f"(Debian: apt-get install {packages.get(name, name)})")
    return path


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=_TIMEOUT,
                          check=False)
    if done.returncode != 0:
        raise ReviewError(f"{what} failed (exit {done.returncode}): {done.stdout.strip()[-500:]}")


def pdf_pages(pdf: Path, dst: Path, stem: str) -> list[Path]:
    """Each page of ``pdf`` as ``dst/<stem>-<page>.png`` at :data:`DPI`."""
    _run([_tool(PDFTOPPM), "-png", "-r", str(DPI), str(pdf), str(dst / stem)], f"pdftoppm on {pdf.name}")
    return sorted(dst.glob(f"{stem}-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))


def docx_to_pdf(docx: Path, dst: Path, profile: Path) -> Path:
    """``docx`` laid out by LibreOffice (its own profile folder: an open LibreOffice elsewhere is not
    disturbed, and two reviews do not share one)."""
    _run([_tool(SOFFICE), f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless",
          "--convert-to", "pdf", "--outdir", str(dst), str(docx)], f"LibreOffice on {docx.name}")
    return dst / f"{docx.stem}.pdf"


def html_to_pdf(page: Path, dst: Path, profile: Path) -> Path:
    """``page`` printed by headless Chromium (a PDF holds the whole page, however long)."""
    pdf = dst / f"{page.name}.pdf"
    _run([_tool(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
          "--disable-component-update", "--no-first-run", f"--user-data-dir={profile}",
          "--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.resolve().as_uri()], f"Chromium on {page.name}")
    return pdf


def contact_sheet(images: list[tuple[str, Path]], path: Path) -> Path:
    """One PNG with every image as a labelled thumbnail, :data:`PER_ROW` to a row."""
    from PIL import Image, ImageDraw, ImageFont

    label_h, gap = 20, 10
    thumbs = []
    for label, src in images:
        with Image.open(src) as im:
            im = im.convert("RGB")
            im.thumbnail((THUMB_WIDTH, THUMB_WIDTH * 3))
            thumbs.append((label, im.copy()))
    rows = [thumbs[i:i + PER_ROW] for i in range(0, len(thumbs), PER_ROW)]
    heights = [max(im.height for _, im in row) + label_h + gap for row in rows]
    sheet = Image.new("RGB", (PER_ROW * (THUMB_WIDTH + gap) + gap, sum(heights) + gap), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=14)
    y = gap
    for row, height in zip(rows, heights):
        for k, (label, im) in enumerate(row):
            x = gap + k * (THUMB_WIDTH + gap)
            draw.text((x, y), label, fill="black", font=font)
            sheet.paste(im, (x, y + label_h))
            draw.rectangle((x - 1, y + label_h - 1, x + im.width, y + label_h + im.height), outline="#999999")
        y += height
    sheet.save(path, format="PNG")
    return path


def review_bundle(out: Path, progress=print) -> Path:
    """Render ``out``'s report pages, figures and manuscript tables into ``out/review/``; returns the
    contact sheet's path."""
    out = Path(out)
    if not (out / "index.html").is_file():
        raise ReviewError(f"{out} holds no bundle (no index.html): run 'make run' (or 'make share') with the "
                          "same OUT first")
    pages = sorted((out / "html").glob("*.clinical.html"))
    figures = sorted((out / "figures").glob("*.png"))
    tables = sorted((out / "tables").glob("*.docx"))
    tmp = Path(tempfile.mkdtemp(dir=out, prefix=".review."))
    try:
        work, images = tmp / ".work", []
        work.mkdir()
        for sub in ("html", "figures", "docx"):
            (tmp / sub).mkdir()
        for page in pages:
            progress(f"  page   {page.name}")
            stem = page.name.removesuffix(".clinical.html")
            for k, png in enumerate(pdf_pages(html_to_pdf(page, work, work / "chromium"), tmp / "html", stem), 1):
                images.append((f"{stem} p{k}", png))
        for fig in figures:
            images.append((fig.stem, Path(shutil.copy2(fig, tmp / "figures" / fig.name))))
        for table in tables:
            progress(f"  table  {table.name}")
            pdf = docx_to_pdf(table, work, work / "soffice")
            for k, png in enumerate(pdf_pages(pdf, tmp / "docx", table.stem), 1):
                images.append((f"{table.stem}.docx p{k}", png))
        shutil.rmtree(work)
        contact_sheet(images, tmp / "contact_sheet.png")
        os.chmod(tmp, 0o755)  # mkdtemp makes 0700; the review is read by the team like the bundle
        old = out / ".review.old"
        if (out / "review").exists():
            os.replace(out / "review", old)
        os.replace(tmp, out / "review")
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out / "review" / "contact_sheet.png"


def main(argv: list[str] | None = None) -> int:
    from .runner import DEFAULT_OUT, target_assignments

    given, others = target_assignments(sys.argv[1:] if argv is None else argv, {"OUT"})
    try:
        if others:
            raise ReviewError(f"make review takes one variable, OUT=<bundle folder> (got {', '.join(others)})")
        out = Path(given.get("OUT") or DEFAULT_OUT).expanduser()
        print(f"Rendering {out} for review...")
        sheet = review_bundle(out)
    except (ReviewError, subprocess.TimeoutExpired) as err:
        print(f"\nmake review: nothing was written.\n{err}", file=sys.stderr)
        return 2
    print(f"Contact sheet: {sheet} (every page image beside it, in {sheet.parent})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
