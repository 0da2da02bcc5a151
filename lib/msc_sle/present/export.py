"""Writing tables: CSV (the tidy numbers), XLSX, DOCX, HTML, LaTeX and Markdown, each file atomically."""
from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import pandas as pd

from .tables import PublicationTable, plain_table

__all__ = ["export_table", "EXPORT_FORMATS", "atomic_write", "SYNTHETIC_NOTE"]

#: ``csv``: the table as printed (body cells); ``data.csv``: the tidy numbers behind it.
EXPORT_FORMATS = ("csv", "data.csv", "xlsx", "docx", "html", "tex", "md")


def atomic_write(path: Path, write) -> Path:
    """Write through a temporary file in the same folder, then os.replace: readers never see a
    half-written table, and a failed export leaves the previous file intact."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; a shared report must stay readable by collaborators
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _as_table(table) -> PublicationTable:
    if isinstance(table, PublicationTable):
        return table
    if isinstance(table, pd.DataFrame):
        return plain_table(table)
    raise TypeError("export_table expects a PublicationTable (table_one / comparison_table) "
                    "or a DataFrame")


def _latex(t: PublicationTable) -> str:
    kinds = list(t.row_kinds)
    body = t.body.copy()
    first = body.columns[0]
    body[first] = [("\\quad " if k == "level" else "") + _latex_escape(v)
                   for v, k in zip(body[first], kinds)]
    styler = body.style.hide(axis="index").format(
        {c: _latex_escape for c in body.columns[1:]}).format_index(_latex_escape, axis=1)
    styler = styler.apply(lambda row: ["font-weight: bold" if kinds[row.name] == "section" else ""]
                          * len(row), axis=1)
    caption = _latex_escape(t.title)
    tex = styler.to_latex(caption=caption or None, hrules=True, environment="table",
                          position_float="centering", convert_css=True,
                          column_format="l" * t.body.shape[1])
    if t.footnotes:
        notes = "\n".join("\\par\\footnotesize " + _latex_escape(n) for n in t.footnotes)
        tex = tex.replace("\\end{table}", notes + "\n\\end{table}")
    return tex


_LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                   "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                   "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}",
                   "†": r"\textdagger{}", "‡": r"\textdaggerdbl{}", "–": "--", "≥": r"$\geq$",
                   "≤": r"$\leq$"}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIALS.get(ch, ch) for ch in text)


def _xlsx(t: PublicationTable, path: str, *, synthetic: bool = False):
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    ws = wb.active
    # A synthetic table says so in the sheet's name (seen on every tab) and its first row.
    ws.title = "table (SYNTHETIC)" if synthetic else "table"
    r = 1
    if synthetic:
        mark = ws.cell(row=r, column=1, value=SYNTHETIC_NOTE)
        mark.font, mark.fill = Font(bold=True), PatternFill("solid", fgColor="FDE68A")  # index.html's banner
        r += 1
    if t.title:
        ws.cell(row=r, column=1, value=t.title).font = Font(bold=True)
        r += 2
    for j, h in enumerate(t.body.columns, start=1):
        ws.cell(row=r, column=j, value=str(h)).font = Font(bold=True)
    for i, kind in enumerate(t.row_kinds):
        r += 1
        for j, v in enumerate(t.body.iloc[i], start=1):
            c = ws.cell(row=r, column=j, value=v)
            if kind == "section":
                c.font = Font(bold=True)
            if kind == "level" and j == 1:
                c.alignment = Alignment(indent=2)
    r += 1
    for n in t.footnotes:
        r += 1
        ws.cell(row=r, column=1, value=n).font = Font(italic=True, size=9)
    for j, col in enumerate(t.body.columns, start=1):
        width = max([len(str(col))] + [len(str(v)) for v in t.body[col]]) + 2
        ws.column_dimensions[ws.cell(row=1, column=j).column_letter].width = min(width, 60)
    if t.tidy is not None and t.tidy is not t.body:
        data = wb.create_sheet("data (SYNTHETIC)" if synthetic else "data")
        data.append([str(c) for c in t.tidy.columns])
        for row in t.tidy.itertuples(index=False):
            data.append([_excel_value(v) for v in row])
    wb.save(path)


def _excel_value(v):
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, (bool, int, float, str)):
        return v
    try:
        return v.item()
    except AttributeError:
        return str(v)


#: The manuscript page: A4 with 2.54 cm margins, Times New Roman 10 pt, table notes 8 pt.
_PAGE_IN = (8.27, 11.69)
_MARGIN_IN = 1.0
_FONT = "Times New Roman"
_BODY_PT = 10.0
_NOTE_PT = 8.0
_CELL_PAD_PT = 4.0       # left and right cell margin each (w:tblCellMar)
_LEVEL_INDENT_PT = 10.0  # a category's levels, under its variable
_LABEL_MIN_PT = 90.0     # narrower, most labels would take three lines
_RULE_HEAVY = 8          # w:sz in eighths of a point: the rules above the header and under the table
_RULE_LIGHT = 4          # under the header

#: What the document header says of a synthetic cohort (the HTML pages' banner, in one line).
SYNTHETIC_NOTE = "SYNTHETIC DATA: generated to match the published tables; not patient data, no clinical conclusions."


def _afm_glyphs(name: str) -> tuple[dict[str, float], dict[int, str]]:
    """Glyph advance widths (1/1000 em) by glyph name, and glyph names by code, of one of the
    PostScript core fonts matplotlib ships."""
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "fonts" / "afm" / name
    widths, names = {}, {}
    for line in path.read_text(encoding="latin-1").splitlines():
        if line.startswith("C "):
            fields = dict(part.strip().split(" ", 1) for part in line.split(";") if part.strip().count(" "))
            widths[fields["N"]] = float(fields["WX"])
            names[int(fields["C"])] = fields["N"]
    return widths, names


def _times_widths(bold: bool) -> dict[str, float]:
    """Character widths of Times (1/1000 em), from the core fonts' metrics.

    Times-Roman's metrics are those of Times New Roman (and of Liberation Serif, its metric twin that
    LibreOffice substitutes) to within a few percent, and reading them from a file in the package
    rather than from the fonts installed makes the column widths, hence the DOCX, the same on every
    machine. The mathematical signs Times lacks (≥, ≤, χ) are measured in the Symbol font."""
    times, codes = _afm_glyphs("ptmb8a.afm" if bold else "ptmr8a.afm")
    symbol, _ = _afm_glyphs("psyr.afm")
    widths = {chr(c): times[n] for c, n in codes.items() if 32 <= c < 127 and c not in (39, 96)}
    for ch, glyph in _GLYPHS.items():  # StandardEncoding is ASCII but for the quotes
        if glyph in times or glyph in symbol:
            widths[ch] = times.get(glyph, symbol.get(glyph))
    return widths


_GLYPHS = {"'": "quotesingle", "`": "grave", "–": "endash", "—": "emdash", "†": "dagger", "‡": "daggerdbl",
           "·": "periodcentered", "±": "plusminus", "×": "multiply", "‘": "quoteleft", "’": "quoteright",
           "“": "quotedblleft", "”": "quotedblright", "•": "bullet", "§": "section", "¶": "paragraph",
           "°": "degree", "µ": "mu", "²": "twosuperior", "³": "threesuperior", "é": "eacute", "ü": "udieresis",
           "≥": "greaterequal", "≤": "lessequal", "χ": "chi", "α": "alpha", "β": "beta", "κ": "kappa"}
#: A character neither font has: wider than most, so a column is never too narrow for it.
_UNKNOWN_WIDTH = 700.0
_METRICS: dict[bool, dict[str, float]] = {}


def _text_pt(text: str, size: float, bold: bool = False) -> float:
    """The width of ``text`` set in Times at ``size`` points (2% added for the metric twins' drift)."""
    if bold not in _METRICS:
        _METRICS[bold] = _times_widths(bold)
    widths = _METRICS[bold]
    return 1.02 * size * sum(widths.get(ch, _UNKNOWN_WIDTH) for ch in text) / 1000


def _column_widths(t: PublicationTable, size: float, available: float) -> tuple[list[float], bool]:
    """Column widths (points) within ``available``, and whether the table fits in it as journals set
    a table: no word broken, and the values on one line.

    In order: every cell on one line; else the header and the first column (the labels) wrap at
    spaces while each value column is as wide as its longest value, the labels getting what is
    left (at least :data:`_LABEL_MIN_PT`); else (no fit) every column as wide as its longest word
    plus a share of what is left, in proportion to what it would need to print every cell on one line.
    The table spans the text width."""
    kinds = list(t.row_kinds)
    pad = 2 * _CELL_PAD_PT + 1
    header, body, words = [], [], []
    for j, col in enumerate(t.body.columns):
        cells = [(str(v), kind == "section", _LEVEL_INDENT_PT if kind == "level" and j == 0 else 0.0)
                 for v, kind in zip(t.body.iloc[:, j], kinds)]
        header.append(_text_pt(str(col), size, True) + pad)
        body.append(max([_text_pt(s, size, b) + ind for s, b, ind in cells], default=0.0) + pad)
        words.append(max([max((_text_pt(w, size, b) for w in s.split()), default=0.0) + ind
                          for s, b, ind in cells + [(str(col), True, 0.0)]]) + pad)
    one_line = [max(h, b) for h, b in zip(header, body)]

    def spread(widths, weights):
        spare = available - sum(widths)
        return [w + spare * k / sum(weights) for w, k in zip(widths, weights)] if sum(weights) else widths

    if sum(one_line) <= available:
        return spread(one_line, one_line), True
    values = [max(b, w) for b, w in zip(body[1:], words[1:])]
    labels = max(words[0], _LABEL_MIN_PT)
    if labels + sum(values) <= available:
        first = min(available - sum(values), one_line[0])
        return spread([first] + values, [0.0] + [o - v for o, v in zip(one_line[1:], values)]), True
    return spread(words, [o - w for o, w in zip(one_line, words)]), False


def _set(parent, tag: str, **attrs):
    """The child ``w:<tag>`` of ``parent`` (created if absent) with the given ``w:`` attributes."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    el = parent.find(qn(f"w:{tag}"))
    if el is None:
        el = OxmlElement(f"w:{tag}")
        parent.append(el)
    for key, value in attrs.items():
        el.set(qn(f"w:{key}"), str(value))
    return el


def _rule(cell, side: str, size: int) -> None:
    borders = _set(cell._tc.get_or_add_tcPr(), "tcBorders")
    _set(borders, side, val="single", sz=size, space=0, color="000000")


def _docx_paragraph(paragraph, size: float, *, before: float = 0, after: float = 0):
    from docx.shared import Pt

    fmt = paragraph.paragraph_format
    fmt.space_before, fmt.space_after, fmt.line_spacing = Pt(before), Pt(after), 1.0
    return paragraph


def _docx(t: PublicationTable, path: str, *, synthetic: bool = False, label: str = ""):
    """The manuscript table in journal style.

    Three horizontal rules (above and under the header, under the last row) and no vertical line;
    columns as wide as their content needs, so no word is broken; landscape only when the table
    cannot fit a portrait page; the header row repeated on every page and no row split across two;
    "Table N." and the title above, the notes (test marks, abbreviations, sources) in smaller type
    under it; SYNTHETIC in the page header of a synthetic cohort's table."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.table import WD_ALIGN_VERTICAL, WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_COLOR_INDEX
    from docx.oxml.ns import qn
    from docx.shared import Inches, Pt

    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = _FONT, Pt(_BODY_PT)
    _set(normal.element.get_or_add_rPr(), "rFonts", ascii=_FONT, hAnsi=_FONT, cs=_FONT, eastAsia=_FONT)
    _docx_paragraph(normal, _BODY_PT)

    section = doc.sections[0]
    portrait = _PAGE_IN[0] - 2 * _MARGIN_IN
    wide = (_PAGE_IN[1] - 2 * _MARGIN_IN) * 72
    # portrait; else landscape; else landscape in smaller type, as journals set a wide table; else
    # body type with the values wrapped (every column still holds its longest word)
    for landscape, size in ((False, _BODY_PT), (True, _BODY_PT), (True, _BODY_PT - 1), (True, _NOTE_PT)):
        widths, fits = _column_widths(t, size, wide if landscape else portrait * 72)
        if fits:
            break
    else:
        size = _BODY_PT
        widths, _ = _column_widths(t, size, wide)
    page = (_PAGE_IN[1], _PAGE_IN[0]) if landscape else _PAGE_IN
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Inches(page[0]), Inches(page[1])
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Inches(_MARGIN_IN))

    if synthetic:
        mark = _docx_paragraph(section.header.paragraphs[0], _NOTE_PT)
        run = mark.add_run(SYNTHETIC_NOTE)
        run.bold, run.font.size = True, Pt(_NOTE_PT)
        run.font.highlight_color = WD_COLOR_INDEX.YELLOW

    if t.title or label:
        caption = _docx_paragraph(doc.add_paragraph(), _BODY_PT, after=6)
        caption.paragraph_format.keep_with_next = True
        if label:
            caption.add_run(f"{label}. ").bold = True
        caption.add_run(t.title)

    table = doc.add_table(rows=1 + len(t.body), cols=t.body.shape[1])
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    table.autofit = False
    tbl_pr = table._tbl.tblPr
    _set(tbl_pr, "tblLayout", type="fixed")  # Word and LibreOffice keep the widths given, not their own
    _set(tbl_pr, "tblW", w=int(sum(widths) * 20), type="dxa")
    margins = _set(tbl_pr, "tblCellMar")
    for side in ("left", "right"):
        _set(margins, side, w=int(_CELL_PAD_PT * 20), type="dxa")
    borders = _set(tbl_pr, "tblBorders")  # nothing from a table style: only the three rules below
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        _set(borders, side, val="nil")
    for grid_col, w in zip(table._tbl.tblGrid.findall(qn("w:gridCol")), widths):
        grid_col.set(qn("w:w"), str(int(w * 20)))

    kinds = ["header"] + list(t.row_kinds)
    rows = [[str(h) for h in t.body.columns]] + [[str(v) for v in row] for row in t.body.itertuples(index=False)]
    for i, (row, kind, values) in enumerate(zip(table.rows, kinds, rows)):
        tr_pr = row._tr.get_or_add_trPr()
        _set(tr_pr, "cantSplit", val="true")
        if kind == "header":
            _set(tr_pr, "tblHeader", val="true")
        for j, (cell, value) in enumerate(zip(row.cells, values)):
            cell.width = Pt(widths[j])
            par = _docx_paragraph(cell.paragraphs[0], size)
            run = par.add_run(value)
            run.font.size = Pt(size)
            run.bold = kind in ("header", "section")
            if kind == "level" and j == 0:
                par.paragraph_format.left_indent = Pt(_LEVEL_INDENT_PT)
            # a heading, or a variable whose levels follow, does not end a page without them
            par.paragraph_format.keep_with_next = kind == "section" or (
                i < len(kinds) - 1 and kinds[i + 1] == "level" and kind != "header")
            if kind == "header":  # headings of one line and of three share their baseline
                cell.vertical_alignment = WD_ALIGN_VERTICAL.BOTTOM
                _rule(cell, "top", _RULE_HEAVY)
                _rule(cell, "bottom", _RULE_LIGHT)
            if i == len(rows) - 1:
                _rule(cell, "bottom", _RULE_HEAVY)

    for k, note in enumerate(t.footnotes):
        par = _docx_paragraph(doc.add_paragraph(), _NOTE_PT, before=4 if k == 0 else 0)
        par.add_run(note).font.size = Pt(_NOTE_PT)
    doc.save(path)


def export_table(table, path_stem, formats=EXPORT_FORMATS, *, synthetic: bool = False,
                 label: str = "") -> dict[str, Path]:
    """Write ``table`` as ``<path_stem>.<format>`` for each format; returns {format: path}.

    ``csv`` is the table as printed (its body: the cells a reader sees, one row per line);
    ``data.csv`` the tidy numbers behind it (one row per variable / level, full precision); ``xlsx``
    (openpyxl: the printed table with bold headings and footnotes, plus a "data" sheet with the
    tidy numbers), ``docx`` (python-docx, for the manuscript), ``html`` and ``tex`` (pandas Styler),
    ``md`` (Markdown) show the printed table too. Each file is written atomically (temporary file in
    the same folder, then ``os.replace``); the folder is created if needed.

    ``csv`` is written with a byte-order mark (``utf-8-sig``): Excel on Windows reads a CSV without
    one in the local code page and garbles ≥, ≤ and –; ``data.csv`` is for programs and stays plain
    UTF-8. ``synthetic`` (the cohort's ``synthetic``, from its manifest) marks the files a person
    opens: the DOCX page header, the XLSX sheet names and first row. ``label`` ("Table 1") numbers
    the DOCX caption as the paper does.
    """
    t = _as_table(table)
    if isinstance(formats, str):
        formats = (formats,)
    unknown = [f for f in formats if f not in EXPORT_FORMATS]
    if unknown:
        raise ValueError(f"unknown export format(s) {unknown}; valid: {', '.join(EXPORT_FORMATS)}")
    stem = Path(path_stem)
    if stem.suffix.lstrip(".") in EXPORT_FORMATS + ("data",):
        raise ValueError(f"path_stem {str(path_stem)!r} should have no extension; "
                         "the format gives it")
    stem.parent.mkdir(parents=True, exist_ok=True)
    writers = {
        "csv": lambda p: t.body.to_csv(p, index=False, encoding="utf-8-sig"),
        "data.csv": lambda p: t.tidy.to_csv(p, index=False),
        "xlsx": lambda p: _xlsx(t, p, synthetic=synthetic),
        "docx": lambda p: _docx(t, p, synthetic=synthetic, label=label),
        "html": lambda p: Path(p).write_text(t.to_html(), encoding="utf-8"),
        "tex": lambda p: Path(p).write_text(_latex(t), encoding="utf-8"),
        "md": lambda p: Path(p).write_text(t.to_markdown(), encoding="utf-8"),
    }
    out = {}
    for fmt in dict.fromkeys(formats):
        out[fmt] = atomic_write(stem.with_name(f"{stem.name}.{fmt}"), writers[fmt])
    return out
