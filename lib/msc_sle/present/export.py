"""Writing tables: CSV (the tidy numbers), XLSX, DOCX, HTML, LaTeX and Markdown, each file atomically."""
from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import pandas as pd

from .tables import PublicationTable, plain_table

__all__ = ["export_table", "EXPORT_FORMATS", "atomic_write"]

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


def _xlsx(t: PublicationTable, path: str):
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = "table"
    r = 1
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
        data = wb.create_sheet("data")
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


def _docx(t: PublicationTable, path: str):
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    if t.title:
        p = doc.add_paragraph()
        p.add_run(t.title).bold = True
    table = doc.add_table(rows=1 + len(t.body), cols=t.body.shape[1])
    table.style = "Table Grid"
    for j, h in enumerate(t.body.columns):
        cell = table.rows[0].cells[j]
        cell.text = ""
        cell.paragraphs[0].add_run(str(h)).bold = True
    for i, kind in enumerate(t.row_kinds):
        for j, v in enumerate(t.body.iloc[i]):
            cell = table.rows[i + 1].cells[j]
            cell.text = ""
            run = cell.paragraphs[0].add_run(str(v))
            run.bold = kind == "section"
            if kind == "level" and j == 0:
                cell.paragraphs[0].paragraph_format.left_indent = Pt(12)
    for n in t.footnotes:
        run = doc.add_paragraph().add_run(n)
        run.font.size = Pt(8)
    doc.save(path)


def export_table(table, path_stem, formats=EXPORT_FORMATS) -> dict[str, Path]:
    """Write ``table`` as ``<path_stem>.<format>`` for each format; returns {format: path}.

    ``csv`` is the table as printed (its body: the cells a reader sees, one row per line);
    ``data.csv`` the tidy numbers behind it (one row per variable / level, full precision); ``xlsx``
    (openpyxl: the printed table with bold headings and footnotes, plus a "data" sheet with the
    tidy numbers), ``docx`` (python-docx, for the manuscript), ``html`` and ``tex`` (pandas Styler),
    ``md`` (Markdown) show the printed table too. Each file is written atomically (temporary file in
    the same folder, then ``os.replace``); the folder is created if needed.
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
        "csv": lambda p: t.body.to_csv(p, index=False),
        "data.csv": lambda p: t.tidy.to_csv(p, index=False),
        "xlsx": lambda p: _xlsx(t, p),
        "docx": lambda p: _docx(t, p),
        "html": lambda p: Path(p).write_text(t.to_html(), encoding="utf-8"),
        "tex": lambda p: Path(p).write_text(_latex(t), encoding="utf-8"),
        "md": lambda p: Path(p).write_text(t.to_markdown(), encoding="utf-8"),
    }
    out = {}
    for fmt in dict.fromkeys(formats):
        out[fmt] = atomic_write(stem.with_name(f"{stem.name}.{fmt}"), writers[fmt])
    return out
