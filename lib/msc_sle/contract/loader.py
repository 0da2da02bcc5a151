"""Reading an extract against the data contract: ``read_extract``.

A hospital extract is two tables, ``patients`` (one row per screened patient) and ``visits``
(long form, one row per patient and month), as CSV, XLSX, Parquet or a statistical package's file,
and optionally a ``manifest.json``.
``read_extract`` reads them, normalises the usual spellings (and says which it normalised), checks
every cell against the data dictionary (``data/dictionary.csv``) and either returns a typed
:class:`Cohort` or raises :class:`DataError` listing *every* problem found, each with its file, row
(as numbered in the file, header = row 1, blank lines counted; Parquet: data rows from 1), column,
value and rule. The raw files are only ever read.

Speed: the usual CSV file is parsed by pyarrow, and a column's plain cells (those whose reading is
their own text) are read by Arrow's vectorised kernels; only the other cells take the cell-by-cell
rules, which alone decide every problem and note. Range and allowed values are pandera schemas
generated from each variable's :class:`~msc_sle.contract.Variable` record.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .dictionary import ID, Variable, as_dictionary, dtype_for, normal_name, table_variables, variable_types
from .formats import (PARQUET, STATISTICAL, Foreign, apply_labels, map_columns, read_parquet, read_redcap,
                      read_statistical)
from .mapping import MAPPING, ExtractMapping, read_mapping
from .paths import BUNDLED_DATA
from .types import Cohort, DataError, Problem, ids_in, warn_data

__all__ = ["read_extract", "fingerprint_files", "TABLES", "TABLE_SUFFIXES", "MANIFEST", "MANIFEST_KEYS", "YES", "NO"]

TABLES = ("patients", "visits")
#: The extract's optional description file, beside the tables.
MANIFEST = "manifest.json"

#: Spellings of yes and no (case-insensitive), for boolean cells and the manifest alike.
YES = frozenset({"1", "yes", "y", "true", "t"})
NO = frozenset({"0", "no", "n", "false", "f"})
_YES_NO_RULE = "not a yes/no value (expected 1/0, yes/no, Y/N or TRUE/FALSE)"
# Spellings of a unit that may follow a number in a cell ("20 mg"); keyed by the dictionary unit.
_UNIT_ALIASES = {
    "mg/day": {"mg/day", "mg/d", "mg", "mg per day"},
    "g": {"g", "gram", "grams"},
    "years": {"years", "year", "yrs", "yr", "y"},
    "months": {"months", "month", "mo", "mos"},
    "points": {"points", "pts"},
    "criteria": {"criteria"},
}
_SPACES = " \u00a0\u202f"  # space, no-break space, narrow no-break space (French thousands)
# sign, digits possibly grouped by separators, exponent, then an optional unit
_NUMBER_WITH_UNIT = re.compile(
    rf"^([-+]?)(\d[\d.,{_SPACES}]*\d|\d|[.,]\d+)((?:[eE][-+]?\d+)?)\s*([A-Za-z][A-Za-z/ ]*)?$")
# '1.000', '12,500', '1.234.567': a reading as a thousands-grouped number exists
_GROUPED = {sep: re.compile(rf"[1-9]\d{{0,2}}(?:{re.escape(sep)}\d{{3}})+") for sep in ".,"}
_CSV_FIELD_LIMIT = csv.field_size_limit()
# whitespace at the start or end of a cell, in the cells of a column joined by NUL
_PADDED = re.compile(r"(?:^|\0)\s|\s(?:\0|$)")

#: The keys a manifest.json may hold: key -> (kind, meaning). Validated like data.
MANIFEST_KEYS = {
    "synthetic": ("yes/no", "true marks a SYNTHETIC extract (the pages then say so)"),
    "decimal": ("'.' or ','", "the decimal mark of the extract's numbers"),
    "thousands": ("'', '.', ',' or ' '", "the thousands separator of the extract's numbers ('' = none)"),
    "description": ("text", "what the extract is"),
    "generator": ("text", "the program that wrote it"),
    "seed": ("whole number", "the generator's seed"),
    "patients": ("whole number or null", "the requested number of patients"),
    "n_screened": ("whole number", "patients in the patients table"),
    "n_visits": ("whole number", "rows of the visits table"),
    "targets": ("text", "the published values the generator matched"),
    "notes": ("list of texts", "remarks on the extract"),
    "paper_cohort": ("yes/no", "true: the extract is the cohort of Wen et al. (2019) (or its synthetic "
                     "reconstruction), so Table 2 may use the paper's own row-by-row test choices"),
}
_DECIMAL_MARKS = (".", ",")
_THOUSANDS = ("", ".", ",", " ")


# --------------------------------------------------------------------------- the manifest
@dataclass(frozen=True)
class _Convention:
    """How the extract writes numbers. ``decimal`` None: not declared (ambiguous values refused)."""

    decimal: str | None = None
    thousands: str = ""

    def describe(self) -> str:
        return f"decimal mark '{self.decimal}', thousands separator '{self.thousands or 'none'}'"


@dataclass
class _Manifest:
    synthetic: bool = False
    paper_cohort: bool = False
    convention: _Convention = field(default_factory=_Convention)
    path: Path | None = None


def _key_line(text: str, key: str) -> int | None:
    m = re.search(r'"' + re.escape(key) + r'"\s*:', text)
    return None if m is None else text.count("\n", 0, m.start()) + 1


def _yes_no(value) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        low = value.strip().lower()
        return True if low in YES else False if low in NO else None
    return None


def _read_manifest(folder: Path, problems: list[Problem]) -> _Manifest:
    """The extract's ``manifest.json``, every key checked; problems are added to ``problems``."""
    path = folder / MANIFEST
    if not path.is_file():
        return _Manifest()
    out = _Manifest(path=path)
    start = len(problems)

    def bad(key, value, rule):
        inner = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        if any(isinstance(v, (list, dict)) for v in inner):  # named, not printed: it may nest 900 levels
            value = f"<a nested JSON {'list' if isinstance(value, list) else 'object'}>"
        problems.append(Problem(MANIFEST, _key_line(text, key), key, value, rule, heading="key"))

    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.append(Problem(MANIFEST, None, None, None, "not a UTF-8 text file"))
        return out
    twice: list[str] = []

    def pairs(items):
        seen = {}
        for key, value in items:
            if key in seen:
                twice.append(key)
            seen[key] = value
        return seen

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as err:
        problems.append(Problem(MANIFEST, err.lineno, None, None,
                                f"not valid JSON: {err.msg} (column {err.colno})"))
        return out
    except RecursionError:
        problems.append(Problem(MANIFEST, None, None, None, "nested too deeply: the manifest is one level of keys"))
        return out
    if twice:
        for key in dict.fromkeys(twice):
            found = [m.start() for m in re.finditer(r'"' + re.escape(key) + r'"\s*:', text)]
            line = text.count("\n", 0, found[1]) + 1 if len(found) > 1 else None
            problems.append(Problem(MANIFEST, line, key, None, "key given twice: keep one", heading="key"))
        return out
    if not isinstance(data, dict):
        problems.append(Problem(MANIFEST, None, None, None,
                                f"must be a JSON object of keys and values, not a {type(data).__name__}"))
        return out
    for key, value in data.items():
        if key not in MANIFEST_KEYS:
            bad(key, None, f"unknown key (known keys: {', '.join(MANIFEST_KEYS)})")
        elif key in ("synthetic", "paper_cohort"):
            if _yes_no(value) is None:
                bad(key, value, _YES_NO_RULE)
        elif key == "decimal" and value not in _DECIMAL_MARKS:
            bad(key, value, "not one of the allowed values '.', ','")
        elif key == "thousands" and value not in _THOUSANDS:
            bad(key, value, "not one of the allowed values '' (none), '.', ',', ' '")
        elif key in ("description", "generator", "targets") and not isinstance(value, str):
            bad(key, value, "not a text")
        elif key in ("seed", "n_screened", "n_visits", "patients") and not (
                (isinstance(value, int) and not isinstance(value, bool)) or (key == "patients" and value is None)):
            bad(key, value, "not a whole number")
        elif key == "notes" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            bad(key, value, "not a list of texts")
    decimal, thousands = data.get("decimal"), data.get("thousands")
    if len(problems) == start and (decimal is not None or thousands is not None):
        decimal = decimal or ("," if thousands == "." else ".")
        thousands = thousands or ""
        if decimal == thousands:
            bad("thousands", thousands, f"the thousands separator must differ from the decimal mark '{decimal}'")
        else:
            out.convention = _Convention(decimal, thousands)
    if len(problems) == start:
        out.synthetic = bool(_yes_no(data.get("synthetic", False)))
        out.paper_cohort = bool(_yes_no(data.get("paper_cohort", False)))
    return out


# --------------------------------------------------------------------------- reading raw tables
@dataclass
class _Raw:
    file: str              # name shown in messages, e.g. "visits.csv" or "extract.xlsx [sheet visits]"
    frame: pd.DataFrame    # all cells as str, index = row number in the file (header = 1, blank lines counted)
    kind: str              # "comma", "semicolon", "tab" (delimited text) or "xlsx"
    notes: list[str]
    header_row: int = 1
    native: pd.DataFrame | None = None  # xlsx: True where the cell held a number, not text
    formulas: dict = field(default_factory=dict)  # (row, column position) -> formula without a saved value
    factors: dict = field(default_factory=dict)  # mapping.yml unit/drug conversions: name -> (factor, line)
    reasons: dict = field(default_factory=dict)  # (row, name) -> why a cell is empty (a REDCap missing-data code)


#: The suffixes of a file that can hold a table.
TABLE_SUFFIXES = (".csv", ".xlsx", PARQUET, *STATISTICAL)


def _candidates(folder: Path, table: str) -> list[Path]:
    return [p for p in sorted(folder.iterdir())
            if p.is_file() and p.stem.strip().lower() == table and p.suffix.lower() in TABLE_SUFFIXES]


def _sheet_names(path: Path) -> list[str]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True)
    except Exception:  # noqa: BLE001 - not a workbook: not a candidate
        return []
    try:
        return list(book.sheetnames)
    finally:
        book.close()


def _workbooks_with_sheet(folder: Path) -> dict[str, list[Path]]:
    """Workbooks of the folder not named after a table (``extract.xlsx``), by the table sheets they hold."""
    found: dict[str, list[Path]] = {t: [] for t in TABLES}
    for path in sorted(folder.iterdir()):
        if (not path.is_file() or path.suffix.lower() != ".xlsx" or path.name.startswith((".", "~$"))
                or path.stem.strip().lower() in TABLES):
            continue
        names = {s.strip().lower() for s in _sheet_names(path)}
        for table in TABLES:
            if table in names:
                found[table].append(path)
    return found


def _binary(text: str) -> bool:
    sample = text[:65536]
    control = sum(1 for c in sample if (c < " " and c not in "\t\r\n\f") or c == "\ufffd")
    return control > max(2, len(sample) // 200)


def _decode(path: Path, notes: list[str], problems: list[Problem]) -> tuple[str, bytes | None] | None:
    """The file's text, and its UTF-8 bytes when they are the file's own (the usual UTF-8 file
    without a byte-order mark: Arrow then parses them as they are, with no second encoding)."""
    data = path.read_bytes()
    if data.startswith(b"PK\x03\x04"):
        problems.append(Problem(path.name, None, None, None,
                                "is an Excel workbook (.xlsx) saved under a .csv name: rename it to .xlsx"))
        return None
    if data.startswith(b"\xef\xbb\xbf"):
        notes.append(f"{path.name}: UTF-8 byte-order mark removed")
        text = data[3:].decode("utf-8", errors="replace")
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(data) >= 4 and b"\x00" in data[:4]):
        # UTF-16 (Excel's "Unicode Text" export); without a BOM the zero bytes give the byte order
        encoding = "utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else \
            ("utf-16-le" if data[1:2] == b"\x00" else "utf-16-be")
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            text = "\x00"
        else:
            notes.append(f"{path.name}: UTF-16 file, read as UTF-16")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            # Excel on Windows exports Latin-1/cp1252: decoding is lossless for those bytes.
            notes.append(f"{path.name}: not UTF-8, read as Latin-1 (cp1252)")
            text = data.decode("cp1252", errors="replace")
    if "\x00" in text or _binary(text):
        problems.append(Problem(path.name, None, None, None,
                                "is not a text (CSV) file: it holds binary data; export the table as CSV or XLSX"))
        return None
    own = data if not notes and not text.startswith("\ufeff") else None
    return text.lstrip("\ufeff"), own


def _blank(cells) -> bool:
    return not "".join(map(str, cells)).strip()


def _read_csv(path: Path, required: list[str], problems: list[Problem]) -> _Raw | None:
    notes: list[str] = []
    decoded = _decode(path, notes, problems)
    if decoded is None:
        return None
    text, own = decoded
    if not text or text.isspace():  # (not text.strip(), without copying a registry's file)
        problems.append(Problem(path.name, None, None, None, "the file is empty"))
        return None
    header = _first_line(text)
    delimiter = max([",", ";", "\t"], key=header.count)
    kind = {",": "comma", ";": "semicolon", "\t": "tab"}[delimiter]
    if delimiter != ",":
        notes.append(f"{path.name}: {kind}-delimited file")
    fast = _read_csv_arrow(text, header, delimiter, own)
    if fast is not None:
        return _Raw(path.name, fast, kind, notes)
    # newline="": the csv module recognises \r\n, \n and old-Mac \r line ends itself
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for row in reader:
            if "".join(row).strip():  # not a blank line (csv cells are str: _blank without its str())
                records.append((start, row))
            start = reader.line_num + 1
    except csv.Error as err:
        rule = (f"a cell is longer than {_CSV_FIELD_LIMIT // 1024} KiB: usually a quote (\") opened and never "
                "closed from this row on" if "field larger" in str(err) else f"cannot be read as CSV ({err})")
        problems.append(Problem(path.name, start, None, None, rule))
        return None
    return _table(path.name, records, kind, required, notes, problems)


def _first_line(text: str) -> str:
    """The first line that is not blank (as ``str.splitlines`` splits), without splitting the whole file."""
    size = 65536
    while True:
        lines = text[:size].splitlines()
        # the last line of a prefix may be cut short: only a line followed by more text is whole
        whole = lines if size >= len(text) else lines[:-1]
        line = next((line for line in whole if line.strip()), None)
        if line is not None or size >= len(text):
            return line if line is not None else ""
        size *= 4


def _pool():
    """The memory pool of the loader's column-sized Arrow buffers: the C library's allocator. Arrow's
    default (mimalloc) hands a registry extract's hundreds of megabytes back and forth to the
    kernel and spends more CPU time in page faults than in parsing (issue 25: 0.3 s against 0.9 s
    for the parse and the columns of 500,000 visits). Passed per call: the process's default pool,
    which other code may rely on, is left as it is."""
    import pyarrow as pa

    return pa.system_memory_pool()


def _read_csv_arrow(text: str, header: str, delimiter: str, own: bytes | None = None) -> pd.DataFrame | None:
    """The usual file, parsed by pyarrow (C++) into string columns indexed by row number; None when
    the file needs the csv module's reading, which handles and reports the unusual ones.

    The usual file: no quote character (so no record spans two lines), \n or \r\n line ends, the
    header on line 1, no blank line, every row as wide as the header, every column named once.
    Then a data row's number in the file is its position + 2, as the csv module counts it."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    names = header.split(delimiter)
    # (a blank line needs no search of its own, two characters being ten times slower to find than
    # one: Arrow reads it as a row of empty cells, which the check after the parse sends to the csv module)
    if ('"' in text or not text.startswith(header)
            or ("\r" in text and text.count("\r") != text.count("\r\n"))
            or any(c != c.strip() or not c for c in names) or len(set(names)) != len(names)
            or any(c in text for c in "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")):
        return None
    try:
        table = pacsv.read_csv(
            pa.py_buffer(own if own is not None else text.encode("utf-8")),
            # Arrow's threads: the extract is read once per run, before any notebook starts (the
            # notebooks read the runner's hand-off), so the cores are free; 2.4 s -> 1.3 s at 10^6 on 2
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, use_threads=True),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char=False, ignore_empty_lines=False),
            # string, not large_string: Arrow parses it twice as fast, and widening the offsets
            # afterwards (pandas' string arrays hold large_string) is one cheap pass per column
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in names},
                                                 strings_can_be_null=False),
            memory_pool=_pool())
    except (pa.ArrowInvalid, UnicodeEncodeError):  # a ragged row, a blank line of spaces...: the csv module's reading says which
        return None
    if table.num_rows == 0 or any((pc.max(pc.binary_length(c)).as_py() or 0) > _CSV_FIELD_LIMIT
                                  for c in table.columns):  # the csv module names the cell over its limit
        return None
    index = pd.RangeIndex(2, table.num_rows + 2)
    # copy=False: the columns stay Arrow's buffers (a copy of a registry's visits costs as much as its parse)
    # ArrowDtype(string) columns: Arrow's own buffers, not widened here to the large_string that
    # pandas' "string" arrays hold; a column's parsing (on the loader's threads) widens only the text
    # it keeps (ids), and most columns (yes/no, numbers) need no widening at all (1 s at 10^6 on 2 cores)
    frame = pd.DataFrame({c: pd.Series(pd.arrays.ArrowExtensionArray(table.column(i)), index=index, copy=False)
                          for i, c in enumerate(names)}, index=index, copy=False)
    # an empty line, or a row of delimiters only (',,,'), is a blank line to the csv module, not a row
    first = frame.iloc[:, 0]
    candidates = first.index[(first.str.strip() == "").to_numpy()]
    if len(candidates) and (frame.loc[candidates].apply(lambda c: c.str.strip() == "").all(axis=1)).any():
        return None
    return frame


def _table(label: str, records: list[tuple[int, list]], kind: str, required: list[str], notes: list[str],
           problems: list[Problem], native: dict | None = None, formulas: dict | None = None) -> _Raw | None:
    """The header and data rows of a sheet or CSV file: ``records`` are (row in the file, cells)."""
    header_row, header = records[0][0], [str(c) for c in records[0][1]]
    while header and not header[-1].strip():  # trailing delimiters of an Excel export
        header.pop()
    width = len(header)
    body, trimmed = [], 0
    for row, cells in records[1:]:
        if len(cells) > width and _blank(cells[width:]):
            cells, trimmed = cells[:width], trimmed + 1
        body.append((row, cells))
    if trimmed or width < len(records[0][1]):
        notes.append(f"{label}: empty fields after the last column ignored (trailing delimiters)")
    widths = {len(cells) for _, cells in body}
    if len(body) > 1 and len(widths) == 1 and widths != {width}:
        (n,) = widths
        absent = [r for r in required if r not in {_normal_header(h) for h in header}]
        why = "; a column name is missing from the header" if n > width else ""
        why += f" (required column(s) not in the header: {', '.join(absent)})" if absent else ""
        problems.append(Problem(label, header_row, None, None,
                                f"the header has {width} fields but every data row has {n}{why}"))
        return None
    for row, cells in body:
        if len(cells) != width:
            problems.append(Problem(label, row, None, None, f"has {len(cells)} fields where the header has {width}"))
    keep = [i for i, h in enumerate(header) if h.strip()]
    for i in sorted(set(range(width)) - set(keep)):
        if any(i < len(cells) and str(cells[i]).strip() for _, cells in body):
            problems.append(Problem(label, header_row, None, None,
                                    f"column {i + 1} of the header has no name but holds values"))
        else:
            notes.append(f"{label}: empty column {i + 1} without a name ignored")
    rows = [row for row, _ in body]
    if widths == {width} and keep == list(range(width)):  # the usual file: every row whole, every column named
        cells = [cells for _, cells in body]
    else:
        cells = [[(cells[i] if i < len(cells) else "") for i in keep] for _, cells in body]
    frame = pd.DataFrame(cells, columns=[header[i] for i in keep], index=rows, dtype=object)
    mask = None
    if native is not None:
        mask = pd.DataFrame([[native.get((row, i), False) for i in keep] for row in rows],
                            columns=frame.columns, index=rows, dtype=bool)
    moved = {(row, keep.index(i)): f for (row, i), f in (formulas or {}).items() if i in keep}
    return _Raw(label, frame, kind, notes, header_row, mask, moved)


def _excel_cell(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (dt.datetime, dt.date)):
        # isoformat, not strftime: year 1 is '0001', which the date rules then refuse by its year
        return value.isoformat()[:10] if not isinstance(value, dt.datetime) or value.time() == dt.time() \
            else value.isoformat(sep=" ")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_xlsx(path: Path, table: str, required: list[str], problems: list[Problem]) -> _Raw | None:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # a corrupt or non-Excel file: report, never crash
        problems.append(Problem(path.name, None, None, None, f"cannot be read as an Excel workbook ({err})"))
        return None
    notes: list[str] = []
    try:
        sheets = {ws.title: [list(row) for row in ws.iter_rows(values_only=True)] for ws in book.worksheets}
    finally:
        book.close()
    chosen = next((s for s in sheets if s.strip().lower() == table), None)
    if chosen is None:  # hospital exports often put a cover sheet first: look for the right header
        chosen = next((s for s, rows in sheets.items()
                       if rows and set(required) <= {_normal_header(_excel_cell(c))
                                                     for c in next((r for r in rows if not _blank(
                                                         _excel_cell(c) for c in r)), [])}), None)
    if chosen is None:
        problems.append(Problem(path.name, None, None, None,
                                f"no sheet named '{table}' or with the {table} columns "
                                f"(sheets: {', '.join(sheets) or 'none'})"))
        return None
    if chosen != list(sheets)[0]:
        notes.append(f"{path.name}: {table} read from sheet '{chosen}'")
    label = f"{path.name} [sheet {chosen}]"
    values = sheets[chosen]
    # iter_rows starts at row 1 and yields empty rows too: the position is the sheet's row number
    records = [(i + 1, [_excel_cell(c) for c in row]) for i, row in enumerate(values)
               if not _blank(_excel_cell(c) for c in row)]
    if not records:
        problems.append(Problem(label, None, None, None, "the sheet is empty"))
        return None
    native = {(i + 1, j): True for i, row in enumerate(values) for j, c in enumerate(row)
              if isinstance(c, (int, float)) and not isinstance(c, bool)}
    formulas = {}
    if any(c is None for _, row in records[1:] for c in row) or any(c == "" for _, row in records[1:] for c in row):
        formulas = _unsaved_formulas(path, chosen, values)
    return _table(label, records, "xlsx", required, notes, problems, native, formulas)


def _unsaved_formulas(path: Path, sheet: str, values: list[list]) -> dict:
    """(row, column position) -> formula, for cells holding a formula but no saved result (a workbook
    written by a program and never opened and saved in Excel)."""
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        out = {}
        for i, row in enumerate(book[sheet].iter_rows(values_only=True)):
            for j, cell in enumerate(row):
                if isinstance(cell, str) and cell.startswith("=") and \
                        (i >= len(values) or j >= len(values[i]) or values[i][j] is None):
                    out[(i + 1, j)] = cell
        return out
    finally:
        book.close()


# --------------------------------------------------------------------------- parsing cells
def _normal_header(name: str) -> str:
    return normal_name(name)


_DECLARE = 'declare the convention in manifest.json ("decimal", "thousands")'
# The cells a number column reads column-wise (RE2 has no look-ahead, so one pattern says it all):
# an optional minus, digits and at most one decimal point, but never the two readings of '1.000'
# (1 or 1000: _GROUPED['.'], which with one point is [1-9][0-9]{0,2}.[0-9]{3}). One regex pass
# per column instead of two; tests/test_loader_arrow.py checks it against the two-pattern reading.
_PLAIN_INTEGER = r"^-?[0-9]+$"
_PLAIN_NUMBER = (r"^(?:-?[0-9]+|-[0-9]+\.[0-9]+|[0-9]+\.(?:[0-9]{1,2}|[0-9]{4,})|0[0-9]*\.[0-9]+"
                 r"|[0-9]{4,}\.[0-9]+)$")
# What a number cell may hold in ASCII: the fast path reads only these; anything else is looked at.
_ASCII_PLAIN = r"[-+]?[0-9]+(?:\.[0-9]+)?"


def _ascii_digits(cell: str) -> str:
    """A cell with its non-ASCII digits and fullwidth signs, points and letters in ASCII: '٤١' -> '41',
    '２０ｍｇ' -> '20mg'. Python's \\d and float() accept any script's digits; the loader reads them only
    through this translation, so every rule (separators, units, ranges) applies to what they say."""
    out = []
    for c in cell:
        if c.isascii():
            out.append(c)
        elif "\uff01" <= c <= "\uff5e":  # the fullwidth forms of ASCII ! .. ~
            out.append(chr(ord(c) - 0xFEE0))
        elif unicodedata.decimal(c, None) is not None:
            out.append(str(unicodedata.decimal(c)))
        else:
            out.append(c)
    return "".join(out)


#: Characters no one sees in a cell (zero-width space and joiners, soft hyphen, bidi marks, BOM).
_INVISIBLE = ("Cf", "Cc")


def _read_digits(digits: str, convention: _Convention, kind: str) -> tuple[str | None, str | None, bool]:
    """Digits with separators -> (plain number text or None, rule broken or None, decimal comma read).

    With no declared convention a value is read only when one reading exists: '7.5', '0.125' and, in
    a semicolon-delimited file, '1,6'; '1.000' (1 or 1000?), '1,000' and '1.234,5' are refused.
    """
    if convention.decimal is not None:
        decimal, thousands = convention.decimal, convention.thousands
        text = re.sub(f"[{_SPACES}]", " ", digits) if thousands == " " else digits
        whole, _, fraction = text.partition(decimal)
        if thousands and thousands in whole:
            if not re.fullmatch(rf"\d{{1,3}}(?:{re.escape(thousands)}\d{{3}})+", whole):
                return None, f"not a number in the declared convention ({convention.describe()})", False
            whole = whole.replace(thousands, "")
        if not (whole.isdigit() or (whole == "" and fraction)) or (fraction and not fraction.isdigit()) \
                or (decimal in text and not fraction):
            return None, f"not a number in the declared convention ({convention.describe()})", False
        return f"{whole or '0'}.{fraction or '0'}", None, False
    if any(c in digits for c in _SPACES):
        return None, f"digits grouped with spaces: {_DECLARE}, e.g. \"thousands\": \" \"", False
    dot, comma = "." in digits, "," in digits
    if dot and comma:
        return None, f"ambiguous number: both '.' and ',' appear, either may be the decimal mark; {_DECLARE}", False
    for sep, present in ((".", dot), (",", comma)):
        if not present:
            continue
        if sep == "," and kind != "semicolon":
            where = "a text cell of a workbook" if kind == "xlsx" else f"a {kind}-delimited file"
            return None, (f"ambiguous decimal comma in {where}: the comma may be a decimal mark or a thousands "
                          f"separator; write a decimal point, or {_DECLARE}"), False
        if digits.count(sep) > 1 or _GROUPED[sep].fullmatch(digits):
            plain = digits.replace(sep, "")
            reading = (f"{float(digits.replace(sep, '.')):g} with '{sep}' as decimal mark or "
                       if digits.count(sep) == 1 else "")
            return None, (f"ambiguous thousands separator: {reading}{int(plain)} with '{sep}' as thousands "
                          f"separator; write the number without a thousands separator, or {_DECLARE}"), False
        return digits.replace(",", "."), None, sep == ","
    return digits, None, False


class _Column:
    """Parses one raw column against its dictionary row, collecting problems and notes."""

    def __init__(self, raw: _Raw, spec: pd.Series, problems: list[Problem], notes: list[str],
                 convention: _Convention, native: pd.Series | None, skip: set,
                 factor: tuple[float, str] | None = None, variable: Variable | None = None):
        self.raw, self.spec, self.problems, self.notes = raw, spec, problems, notes
        # the typed record: what the pandera schema of the column's values is generated from
        self.variable = variable
        self.name = spec["name"]
        self.convention, self.native, self.skip = convention, native, skip
        # mapping.yml's unit or drug conversion: (factor, its line); applied to what was read
        self.factor, self.via = factor or (1.0, None)

    def problem(self, row, value, rule, via=None):
        self.problems.append(Problem(self.raw.file, int(row), self.name, value, rule, mapping=via))

    def parse(self, cells: pd.Series) -> pd.Series:
        """The column's values, typed; every problem and note added. The cells whose reading is their
        own text (a plain '7.5', '1', a level as the dictionary spells it) are read column-wise by
        Arrow; only the others go through the cell-by-cell rules below, so a registry extract costs a
        few vectorised passes while every message stays the one the rules give."""
        import pyarrow as pa
        import pyarrow.compute as pc

        kind = self.spec["type"]
        arrow = _arrow_strings(cells)
        fast = None if arrow is None else self._plain(arrow)
        blank = np.zeros(len(cells), dtype=bool)
        if fast is not None and self.spec["required"] != "yes" and not fast.all():
            # an empty cell of an optional column is missing, whichever its type, with no rule to
            # apply: most of a registry's lupus nephritis classes and cyclophosphamide doses
            blank = pc.fill_null(pc.equal(pc.binary_length(arrow), 0), False).to_numpy(zero_copy_only=False) & ~fast
        if fast is None or not (fast.any() or blank.any()):
            out = self._parse_cells(cells)
        else:
            slow = ~(fast | blank)
            rest = cells[slow]
            out = _combine(kind, fast, slow,
                           self._plain_values(arrow if fast.all() else pc.filter(arrow, pa.array(fast))),
                           self._parse_cells(rest) if len(rest) else None, cells.index, self.spec)
        if kind in ("number", "integer"):
            self._check_values(out, cells)
            if kind == "integer":
                # a value no whole number of 64 bits holds (a corrupted cell: 1e30, 2.5 where the
                # rules let it through) is named here, not left to crash the cast below
                values = out.to_numpy(dtype="float64", na_value=np.nan)
                odd = np.isfinite(values) & ((values != np.round(values)) | (np.abs(values) >= 2.0 ** 63))
                for row in out.index[odd]:
                    self.problem(row, str(cells[row]).strip(), "not a whole number within ±9.2e18")
                out = out.mask(odd).astype("Int64")
        return out

    def _plain(self, cells) -> np.ndarray | None:
        """True where a cell (of an Arrow string array) reads as itself under every rule (no spaces to
        trim, no unit, no separator convention, a level spelt as the dictionary spells it); None: no
        such shortcut for this column."""
        import pyarrow as pa
        import pyarrow.compute as pc

        kind = self.spec["type"]
        if kind == "string":
            # printable ASCII, neither empty nor starting or ending with a space (the regex
            # ^[!-~](?:[ -~]*[!-~])?$, by four kernels that each cost a tenth of RE2's pass)
            plain = pc.and_(pc.and_(pc.ascii_is_printable(cells), pc.greater(pc.binary_length(cells), 0)),
                            pc.invert(pc.or_(pc.starts_with(cells, " "), pc.ends_with(cells, " "))))
        elif kind == "boolean":
            # a cell of one byte, '0' or '1'; the same pass gives the values (_plain_values reuses them)
            first = _single_bytes(cells)
            ones = first == ord("1")
            plain = ones | (first == ord("0"))
            self._ones = ones[plain]
            return plain
        elif kind == "category":
            plain = pc.is_in(cells, value_set=pa.array(self.spec["allowed"].split("|")))
        elif kind in ("number", "integer") and self.convention.decimal is None and self.factor == 1.0:
            return _matching(cells, _PLAIN_INTEGER if kind == "integer" else _PLAIN_NUMBER)
        elif kind == "date":
            # an existing date (it prints back as written: no 30 February) inside the allowed span
            days = self._dates(cells)
            lo, hi = self._date_span()
            plain = pc.and_(pc.and_(pc.match_substring_regex(cells, r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
                                    # a cast prints YYYY-MM-DD as strftime does, 20 times faster
                                    pc.equal(pc.cast(pc.cast(days, pa.date32()), pa.string()), cells)),
                            pc.and_(pc.greater_equal(days, pa.scalar(lo, pa.timestamp("s"))),
                                    pc.less_equal(days, pa.scalar(hi, pa.timestamp("s")))))
            plain = pc.fill_null(plain, False)
        else:
            return None
        return plain.to_numpy(zero_copy_only=False).astype(bool)

    def _plain_values(self, arrow):
        """The values of plain cells (see ``_plain``), as an Arrow or NumPy array."""
        import pyarrow as pa
        import pyarrow.compute as pc

        kind = self.spec["type"]
        if kind == "date":
            return self._dates(arrow).to_numpy(zero_copy_only=False).astype("datetime64[ns]")
        if kind in ("number", "integer"):
            # Arrow's parser rounds correctly, as float() does: the two readings give the same double
            return pc.cast(arrow, pa.float64(), memory_pool=_pool()).to_numpy()
        if kind == "boolean":
            return self._ones
        if kind == "category":
            return pc.index_in(arrow, value_set=pa.array(self.spec["allowed"].split("|"))).to_numpy()
        return arrow

    @staticmethod
    def _dates(cells):
        import pyarrow.compute as pc

        return pc.strptime(cells, format="%Y-%m-%d", unit="s", error_is_null=True)

    def _date_span(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The dictionary's span of a date (``start..end``, ``today`` for the day of the run)."""
        lo, _, hi = self.spec["allowed"].partition("..")
        return (pd.Timestamp(lo) if lo else pd.Timestamp("1700-01-01"),
                pd.Timestamp.today().normalize() if hi == "today" else pd.Timestamp(hi))

    def _check_values(self, out: pd.Series, cells: pd.Series) -> None:
        """The dictionary's range and allowed values, as a pandera schema (``_value_schema``); each
        failure becomes one problem in the loader's words, naming the cell as the file writes it."""
        schema = _value_schema(self.variable)
        if schema is None or _within(self.variable, out):
            return
        import pandera.errors

        try:
            schema.validate(out, lazy=True, inplace=True)  # the schema coerces nothing: no copy needed
        except pandera.errors.SchemaErrors as err:
            unit = self.spec["unit"]
            once = f" once converted (x{self.factor:.6g})" if self.factor != 1.0 else ""
            for _, case in err.failure_cases.iterrows():
                row = case["index"]
                text = str(cells[row]).strip()
                if case["check"].startswith("in_range"):
                    lo, hi = self.variable.value_range
                    self.problem(row, text, f"outside the allowed range {lo:g}-{hi:g}{' ' + unit if unit else ''}"
                                 f"{once}", self.via)
                else:
                    self.problem(row, text, f"not one of the allowed values {self.spec['allowed'].replace('|', ', ')}")

    def _parse_cells(self, cells: pd.Series) -> pd.Series:
        # object dtype: pandas' string methods on it run in C-speed loops (python-backed 'str' does not)
        raw = cells.to_numpy(dtype=object)
        try:  # one join finds every cell with surrounding whitespace (str.strip and \s: the same characters)
            padded = _PADDED.search("\0".join(raw)) is not None
        except TypeError:  # a cell that is not a str
            raw, padded = np.array([str(c) for c in raw], dtype=object), True
        raw = pd.Series(raw, index=cells.index, dtype=object)
        text = pd.Series([c.strip() for c in raw], index=cells.index, dtype=object) if padded else raw
        if padded and (text != raw).any():
            self.notes.append(f"{self.raw.file}: surrounding spaces removed in '{self.name}'")
        empty = text == ""
        if self.spec["required"] == "yes":
            for row in text.index[empty]:
                if row not in self.skip:
                    why = self.raw.reasons.get((int(row), self.name))
                    self.problem(row, None, "required value missing" + (f" ({why})" if why else ""))
        parser = getattr(self, "_" + self.spec["type"])
        return parser(text.where(~empty, None))

    def _string(self, text):
        if self.name == ID:
            text = self._id(text)
        return text.astype("string")

    def _id(self, text):
        # 'P001' and 'P0\u200b01', or 'Ｐ００１', look the same on every screen and would be two patients:
        # an invisible character is refused, and ids are compared in Unicode NFKC form (fullwidth and
        # compatibility characters as their plain equivalents).
        odd = text.notna() & ~text.fillna("").map(str.isascii)
        if not odd.any():
            return text
        changed = 0
        for row in text.index[odd]:
            cell = text[row]
            hidden = [c for c in cell if unicodedata.category(c) in _INVISIBLE]
            if hidden:
                names = ", ".join(dict.fromkeys(f"U+{ord(c):04X} {unicodedata.name(c, 'control character')}"
                                                for c in hidden))
                self.problem(row, cell, f"patient id holds an invisible character ({names}): remove it")
                continue
            normal = unicodedata.normalize("NFKC", cell)
            if normal != cell:
                text[row], changed = normal, changed + 1
        if changed:
            self.notes.append(f"{self.raw.file}: {changed} patient id(s) written with fullwidth or compatibility "
                              "characters compared in their plain form (Unicode NFKC)")
        return text

    def _boolean(self, text):
        # the usual cells, '1' and '0', in one hashed pass; only the others are lower-cased and checked
        out = text.map({"1": True, "0": False}).astype("boolean")
        rest = text[text.notna() & out.isna()]
        low = rest.str.lower()
        excel = low.isin(["1.0", "0.0"])  # Excel writes 1 as 1.0
        if excel.any():
            low = low.where(~excel, low.str[0])
        out[low.index[low.isin(YES)]] = True
        out[low.index[low.isin(NO)]] = False
        bad = ~low.isin(YES | NO)
        for row in low.index[bad]:
            self.problem(row, text[row], _YES_NO_RULE)
        spellings = sorted(set(rest[~bad]) - {"0", "1"})
        if spellings:
            self.notes.append(f"{self.raw.file}: '{self.name}' normalised {', '.join(map(repr, spellings))} to 1/0")
        return out

    def _number(self, text, integer=False):
        whole_once_converted, integer = (integer, False) if self.factor != 1.0 else (False, integer)
        out = pd.Series(np.nan, index=text.index, dtype="float64")
        unit = self.spec["unit"]
        aliases = _UNIT_ALIASES.get(unit, {unit} if unit else set())
        with_unit = decimal_comma = 0
        cells = text.dropna()
        if self.convention.decimal is None and len(cells):
            # Vectorised fast path for the common cell, a plain number ('7', '-2.5'), whose only
            # reading is its own; the rest (units, commas, '1.000', exponents...) take the loop below.
            plain = cells.str.fullmatch(_ASCII_PLAIN) & ~cells.str.fullmatch(_GROUPED["."].pattern)
            values = pd.to_numeric(cells[plain], errors="coerce").astype("float64")
            if integer:
                whole = (values % 1 == 0).reindex(plain.index, fill_value=False)
                plain &= whole
                values = values[whole[whole].index]
            out[values.index] = values.to_numpy()
            cells = cells[~plain]
        parsed, foreign_digits = {}, 0
        for row, cell in cells.items():
            cell_text = cell  # what the file says: the messages show it
            if not cell.isascii():
                cell = _ascii_digits(cell)
                foreign_digits += cell != cell_text
            m = _NUMBER_WITH_UNIT.match(cell)
            if not m:
                self.problem(row, cell_text, f"not a number{' (' + unit + ')' if unit else ''}")
                continue
            sign, digits, exponent, suffix = m.group(1), m.group(2), m.group(3), (m.group(4) or "").strip().lower()
            if suffix:
                if suffix not in aliases:
                    self.problem(row, cell_text, f"unit '{suffix}' is not the dictionary unit '{unit or 'none'}'")
                    continue
                with_unit += 1
            if self.native is not None and self.native.get(row, False):
                number = digits  # an Excel number: no separator convention involved
            else:
                number, rule, comma = _read_digits(digits, self.convention, self.raw.kind)
                if rule:
                    self.problem(row, cell_text, rule)
                    continue
                decimal_comma += comma
            value = float(sign + number + exponent)
            if integer and not value.is_integer():
                self.problem(row, cell_text, "not a whole number")
                continue
            parsed[row] = value
        if parsed:
            out[list(parsed)] = list(parsed.values())
        if foreign_digits:
            self.notes.append(f"{self.raw.file}: '{self.name}' had {foreign_digits} value(s) written with non-ASCII "
                              "digits (e.g. Arabic-Indic or fullwidth), read as the same numbers")
        if with_unit:
            self.notes.append(f"{self.raw.file}: '{self.name}' had {with_unit} value(s) written with their unit; read as numbers in {unit}")
        if decimal_comma:
            self.notes.append(f"{self.raw.file}: '{self.name}' had {decimal_comma} decimal comma(s)")
        if self.factor != 1.0:
            read = out.index[out.notna()]
            # %.15g: 480 months x 1/12 is 40, not 40.00000000000001
            out[read] = np.char.mod("%.15g", out[read].to_numpy() * self.factor).astype("float64")
            for row in read[(out[read] % 1 != 0).to_numpy()] if whole_once_converted else []:
                self.problem(row, text[row], f"not a whole number once converted (x{self.factor:.6g})", self.via)
                out[row] = np.nan
        return out  # the range is checked by parse, on the whole column

    def _integer(self, text):
        return self._number(text, integer=True)  # range and levels: checked by parse

    def _category(self, text):
        levels = self.spec["allowed"].split("|")
        by_key = {lvl.lower().replace(" ", ""): lvl for lvl in levels}
        keys = text.str.lower().str.replace(" ", "", regex=False)
        mapped = keys.map(by_key)
        # the level each cell names (its own text when it names none): the schema refuses the latter
        bad = _failures(_value_schema(self.variable), mapped.where(mapped.notna(), text))
        for row in text.index[bad]:
            self.problem(row, text[row], f"not one of the allowed values {', '.join(levels)}")
        changed = sorted(set(text[text.notna() & ~bad & (text != mapped)]))
        if changed:
            self.notes.append(f"{self.raw.file}: '{self.name}' case/spacing normalised for {', '.join(map(repr, changed))}")
        return pd.Series(pd.Categorical(mapped.where(~bad), categories=levels), index=text.index)

    def _date(self, text):
        # Only ISO dates: "03/05/2010" is 3 May in Nanjing and March 5 in a US export; refuse to guess.
        # [0-9], not \d: '２０１０-...' would otherwise pass the pattern and fail in int().
        iso = text.str.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[ T]00:00(?::00)?)?").fillna(False).astype(bool)
        lo, _, hi = self.spec["allowed"].partition("..")
        hi_date = pd.Timestamp.today().normalize() if hi == "today" else pd.Timestamp(hi)
        late_rule = "date is in the future" if hi == "today" else f"date after {hi}"
        # A year outside the allowed span is refused on its year alone: '0001-01-01' or '9999-12-31'
        # is outside what a datetime64[ns] column can hold, and would not be read at all.
        year = pd.to_numeric(text.where(iso).str.slice(0, 4), errors="coerce")
        early = iso & (year < (pd.Timestamp(lo).year if lo else 1700))
        late = iso & (year > hi_date.year)
        for row in text.index[early | late]:
            self.problem(row, text[row], late_rule if late[row] else f"date before {lo or '1700-01-01'}")
        iso &= ~(early | late)
        parsed = pd.to_datetime(text.where(iso).str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
        for row in text.index[text.notna() & parsed.isna() & ~(early | late)]:
            self.problem(row, text[row], _no_such_date(text[row]) if iso[row] else "not a date in the form YYYY-MM-DD")
        for row in parsed.index[parsed > hi_date]:
            self.problem(row, text[row], late_rule)
        if lo:
            for row in parsed.index[parsed < pd.Timestamp(lo)]:
                self.problem(row, text[row], f"date before {lo}")
        return parsed.astype("datetime64[ns]")


def _arrow_strings(cells: pd.Series) -> pd.Series | None:
    """The cells as an Arrow string array (for C++ string kernels), or None when a cell is not a str."""
    import pyarrow as pa

    if isinstance(cells.array, pd.arrays.ArrowStringArray) or _arrow_text(cells.dtype):
        return cells.array.__arrow_array__()
    if pd.api.types.infer_dtype(cells) not in ("string", "empty"):
        return None
    return pa.chunked_array([pa.array(cells.to_numpy(dtype=object), type=pa.string())])


def _matching(cells, pattern: str) -> np.ndarray:
    """True where a cell matches ``pattern`` (_PLAIN_INTEGER or _PLAIN_NUMBER, both of which every
    cell of ASCII digits matches): the digits-only cells, most of a registry's numbers, are found
    by Arrow's character-class kernel (ten times RE2's speed); the regex reads only the others."""
    import pyarrow as pa
    import pyarrow.compute as pc

    plain = pc.fill_null(pc.ascii_is_decimal(cells), False).to_numpy(zero_copy_only=False)
    others = np.flatnonzero(~plain)
    if len(others):
        plain = plain.copy()  # (Arrow's buffer is read-only)
        matched = pc.match_substring_regex(cells.take(pa.array(others)), pattern)
        plain[others] = pc.fill_null(matched, False).to_numpy(zero_copy_only=False)
    return plain


def _arrow_text(dtype) -> bool:
    """An ``ArrowDtype`` of Arrow text (the CSV reader's raw columns)."""
    import pyarrow as pa

    return isinstance(dtype, pd.ArrowDtype) and (pa.types.is_string(dtype.pyarrow_dtype)
                                                 or pa.types.is_large_string(dtype.pyarrow_dtype))


def _single_bytes(cells) -> np.ndarray:
    """The byte of each one-byte cell of an Arrow string column, 0 for any other cell, read from the
    column's buffers by NumPy: the yes/no columns, most of a visits table, in one pass each with no
    Arrow kernel (a kernel's comparison with a scalar costs ten times as much on these columns)."""
    import pyarrow as pa

    parts = []
    for chunk in (cells.chunks if isinstance(cells, pa.ChunkedArray) else [cells]):
        if chunk.null_count:  # a missing cell is not a byte: the comparison kernels handle it
            import pyarrow.compute as pc

            one = pc.fill_null(pc.equal(chunk, "1"), False).to_numpy(zero_copy_only=False)
            zero = pc.fill_null(pc.equal(chunk, "0"), False).to_numpy(zero_copy_only=False)
            parts.append(np.where(one, ord("1"), np.where(zero, ord("0"), 0)).astype(np.uint8))
            continue
        _, offsets, data = chunk.buffers()
        width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        ends = np.frombuffer(offsets, dtype=width, count=len(chunk) + 1, offset=chunk.offset * np.dtype(width).itemsize)
        data = np.frombuffer(data, dtype=np.uint8) if data is not None and data.size else np.zeros(1, np.uint8)
        first = data[np.minimum(ends[:-1], len(data) - 1)]
        parts.append(np.where(ends[1:] - ends[:-1] == 1, first, 0).astype(np.uint8))
    return np.concatenate(parts) if parts else np.zeros(0, np.uint8)


def _combine(kind: str, fast: np.ndarray, slow: np.ndarray, values, rest: pd.Series | None, index: pd.Index,
             spec) -> pd.Series:
    """One typed column from the plain cells' values (at ``fast``) and the others' (``rest``, at
    ``slow``); a cell that is neither (an optional column's empty cell) is missing."""
    if kind in ("number", "integer"):
        if rest is None and len(values) == len(index):  # every cell plain: the values as they are
            values = np.asarray(values, dtype="float64")
            return pd.Series(values if values.flags.writeable else values.copy(), index=index, copy=False)
        out = np.full(len(index), np.nan)
        out[fast] = values
        if rest is not None:
            out[slow] = rest.to_numpy(dtype="float64", na_value=np.nan)
        return pd.Series(out, index=index, dtype="float64")
    if kind == "boolean":
        data, mask = np.zeros(len(index), dtype=bool), ~(fast | slow)
        data[fast] = values
        if rest is not None:
            data[slow] = rest.to_numpy(dtype=bool, na_value=False)
            mask[slow] = rest.isna().to_numpy()
        return pd.Series(pd.arrays.BooleanArray(data, mask), index=index)
    if kind == "date":
        out = np.full(len(index), np.datetime64("NaT"), dtype="datetime64[ns]")
        out[fast] = values
        if rest is not None:
            out[slow] = rest.to_numpy(dtype="datetime64[ns]")
        return pd.Series(out, index=index)
    if kind == "category":
        levels = spec["allowed"].split("|")
        codes = np.full(len(index), -1, dtype=np.int16)
        codes[fast] = values
        if rest is not None:
            codes[slow] = rest.cat.codes.to_numpy()
        return pd.Series(pd.Categorical.from_codes(codes, categories=levels), index=index)
    out = pd.Series(pd.arrays.ArrowStringArray(values), index=index[fast]).astype("string")
    if fast.all():
        return out
    return pd.concat([out] + ([] if rest is None else [rest.astype("string")])).reindex(index)


def _value_schema(variable: Variable):
    """A variable's range (``value_range``) or allowed values (``levels``) as a pandera schema of its
    values (numbers as read, before the Int64 cast; a category's levels), missing values allowed;
    None when it has neither. Generated from the :class:`Variable` record, so a variable added to
    the dictionary is checked without code."""
    return _value_schema_of(variable.name, variable.kind, variable.value_range, variable.levels)


@lru_cache(maxsize=256)
def _value_schema_of(name: str, kind: str, value_range, levels):
    import pandera.pandas as pa

    checks = []
    if kind in ("number", "integer") and value_range is not None:
        checks.append(pa.Check.in_range(*value_range))
    if kind == "integer" and levels:
        checks.append(pa.Check.isin([float(v) for v in levels]))
    if kind == "category" and levels:
        checks.append(pa.Check.isin(list(levels)))
    return pa.SeriesSchema(checks=checks, nullable=True, title=name) if checks else None


def _within(variable: Variable, values: pd.Series) -> bool:
    """True when every value surely passes the variable's schema (``_value_schema_of``): one NumPy
    pass over a column that is nearly always clean, so pandera (a few ms a call, and a copy of the
    column) runs only on a column that holds a failure and then words every one of them."""
    data = values.to_numpy(dtype="float64", na_value=np.nan)
    data = data[~np.isnan(data)]
    if not len(data):
        return True
    if variable.kind in ("number", "integer") and variable.value_range is not None:
        lo, hi = variable.value_range
        if not (lo <= data.min() and data.max() <= hi):
            return False
    if variable.kind == "integer" and variable.levels:
        return bool(np.isin(data, np.array([float(v) for v in variable.levels])).all())
    return True


def _failures(schema, values: pd.Series) -> pd.Series:
    """True at the values the schema refuses."""
    import pandera.errors

    bad = pd.Series(False, index=values.index)
    try:
        schema.validate(values, lazy=True, inplace=True)
    except pandera.errors.SchemaErrors as err:
        bad[err.failure_cases["index"].to_numpy()] = True
    return bad


def _no_such_date(text: str) -> str:
    year, month, day = (int(x) for x in text[:10].split("-"))
    if not 1 <= month <= 12:
        return f"not an existing date: there is no month {month:02d} (form YYYY-MM-DD)"
    return f"not an existing date: {dt.date(year, month, 1):%B %Y} has no day {day}"


def _all_missing(index: pd.Index, row: pd.Series) -> pd.Series:
    """An optional column left out of the file: every value missing, with the column's dtype."""
    dtype = dtype_for(row)
    if dtype == "float64":
        return pd.Series(np.nan, index=index, dtype="float64")
    if dtype == "datetime64[ns]":
        return pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    return pd.Series([pd.NA] * len(index), index=index, dtype=object).astype(dtype)


def _parse_table(raw: _Raw, table: str, problems: list[Problem], notes: list[str],
                 convention: _Convention, dictionary=None) -> pd.DataFrame | None:
    spec = table_variables(table, dictionary)
    contract = as_dictionary(dictionary)
    headers = [_normal_header(c) for c in raw.frame.columns]
    renamed = [f"'{o}' -> '{n}'" for o, n in zip(raw.frame.columns, headers) if str(o) != n]
    if renamed:
        notes.append(f"{raw.file}: column names normalised ({', '.join(renamed)})")
    frame = raw.frame.set_axis(headers, axis=1)
    native = raw.native.set_axis(headers, axis=1) if raw.native is not None else None
    dupes = sorted({h for h in headers if headers.count(h) > 1})
    for h in dupes:
        where = " and ".join(str(i + 1) for i, x in enumerate(headers) if x == h)
        problems.append(Problem(raw.file, raw.header_row, h, None,
                                f"column appears more than once (columns {where} of the header)"))
    if dupes:
        return None
    missing = [n for n, req in zip(spec["name"], spec["required"]) if req == "yes" and n not in frame]
    for name in missing:
        problems.append(Problem(raw.file, None, name, None, "required column missing"))
    extra = [h for h in headers if h not in set(spec["name"])]
    if extra:
        message = f"{raw.file}: unexpected column(s) ignored: {', '.join(extra)}"
        notes.append(message)
        warn_data(message)
    if frame.empty:
        problems.append(Problem(raw.file, None, None, None, "no data rows (header only)"))
        return None
    formula_rows: dict[str, set] = {}
    for (row, position), formula in raw.formulas.items():
        name = headers[position]
        problems.append(Problem(raw.file, row, name, formula,
                                "a formula without a saved result (the workbook was written by a program and "
                                "never saved by Excel): open and save it in Excel, or paste the values"))
        formula_rows.setdefault(name, set()).add(row)
    out, parsers = {}, []
    for _, row in spec.iterrows():
        name = row["name"]
        if name in frame:
            # each column its own problems and notes, joined below in the dictionary's order: the
            # same report whichever column finishes first
            found: tuple[list, list] = ([], [])
            column = _Column(raw, row, found[0], found[1], convention,
                             None if native is None else native[name], formula_rows.get(name, set()),
                             raw.factors.get(name), contract.variable(name, table))
            parsers.append((name, column, frame[name], found))
            out[name] = None
        elif name not in missing:  # optional column absent: all missing, typed
            out[name] = _all_missing(frame.index, row)
    parsed_columns = map_columns(lambda job: job[1].parse(job[2]), parsers, len(frame))
    for (name, _, _, found), parsed in zip(parsers, parsed_columns):
        out[name] = parsed
        problems.extend(found[0])
        notes.extend(found[1])
    return pd.DataFrame(out, index=frame.index, copy=False)  # the parsed columns are new: no second copy


# --------------------------------------------------------------------------- table rules
def _schema(table: str):
    """Table-level rules (uniqueness of keys) as a pandera schema, reported lazily."""
    import pandera.pandas as pa

    unique = [ID] if table == "patients" else [ID, "month"]
    return pa.DataFrameSchema(unique=unique, report_duplicates="all")


def _check_keys(frame: pd.DataFrame, table: str, file: str, problems: list[Problem]) -> None:
    import pandera.errors

    keyed = frame.dropna(subset=[ID] + (["month"] if table == "visits" else []))
    if (_in_key_order(keyed) if table == "visits" else _distinct(keyed[ID])):
        return  # no duplicate: pandera (which hashes every key again) would find none
    try:
        _schema(table).validate(keyed, lazy=True)
    except pandera.errors.SchemaErrors as err:
        rule = "duplicate patient id" if table == "patients" else "duplicate visit (same patient and month)"
        cols = [ID] if table == "patients" else [ID, "month"]
        for row in err.failure_cases["index"].dropna().astype(int).unique():
            value = " / ".join(str(keyed.at[row, c]) for c in cols)
            problems.append(Problem(file, int(row), " + ".join(cols), value, rule))


def _arrow_of(cells: pd.Series):
    """A string column as an Arrow array (no copy when it already is one)."""
    import pyarrow as pa

    if isinstance(cells.array, pd.arrays.ArrowStringArray):
        return cells.array.__arrow_array__()
    return pa.array(cells.astype("string").to_numpy(dtype=object, na_value=None), type=pa.large_string())


def _distinct(ids: pd.Series) -> bool:
    """True when no id (missing ones aside) appears twice."""
    import pyarrow.compute as pc

    ids = _arrow_of(ids)
    return pc.count_distinct(ids, mode="only_valid").as_py() == len(ids) - ids.null_count


def _in_key_order(visits: pd.Series) -> bool:
    """True when the visits are strictly ascending by patient id then month, none missing: the
    order an extract is usually written in, and one in which no visit can appear twice. Checked by
    comparing each row with the next (Arrow compares text by its UTF-8 bytes, which orders as
    Python's code points do), so the common file needs neither the duplicate hash nor the sort."""
    import pyarrow.compute as pc

    ids, months = visits[ID], visits["month"]
    if ids.isna().any() or months.isna().any():
        return False
    if len(visits) < 2:
        return True
    ids = _arrow_of(ids)
    month = months.to_numpy(dtype="float64")
    before, after = ids[:-1], ids[1:]
    less = pc.less(before, after).to_numpy(zero_copy_only=False)
    same = pc.equal(before, after).to_numpy(zero_copy_only=False)
    return bool((less | (same & (month[:-1] < month[1:]))).all())


#: The rule behind the warning for patients without a baseline visit (Cohort.details names them).
NO_BASELINE_RULE = "no baseline (month 0) visit: baseline SLEDAI-2K unknown, so eligibility excludes the patient"


def _casefolded(ids: pd.Series) -> pd.Series:
    """``str.casefold`` of each id; the ASCII ones (casefold = lower) by one vectorised pass."""
    import pyarrow.compute as pc

    out = ids.str.lower()
    odd = ~pc.fill_null(pc.string_is_ascii(_arrow_of(ids)), True).to_numpy(zero_copy_only=False)
    if odd.any():
        out[odd] = [i.casefold() for i in ids[odd]]
    return out


def _link_visits(patients, visits, pfile, vfile, problems, notes, details):
    known = patients[ID].dropna().drop_duplicates()
    keys = _casefolded(known)
    twins = keys.duplicated(keep=False)
    folded = {}
    for pid, key in zip(known[twins], keys[twins]):
        folded.setdefault(key, []).append(pid)
    for key, ids in folded.items():
        problems.append(Problem(pfile, None, ID, " / ".join(sorted(ids)), "patient ids that differ only in case"))
    ids = visits[ID].copy()
    unknown = ids.notna().to_numpy(dtype=bool, na_value=False) & ~ids_in(ids, known)
    if unknown.any():  # the case-insensitive match, for the few ids not found as written
        folded = {}
        for pid, key in zip(known, keys):
            folded.setdefault(key, []).append(pid)
    remapped = 0
    for row in ids.index[unknown]:
        match = folded.get(ids[row].casefold(), [])
        if len(match) == 1:
            ids[row], remapped = match[0], remapped + 1
        else:
            problems.append(Problem(vfile, int(row), ID, ids[row], "visit for a patient not in the patients table"))
    if remapped:
        notes.append(f"{vfile}: {remapped} patient id(s) matched to the patients table ignoring case")
    visits[ID] = ids
    baseline = visits.loc[(visits["month"] == 0).fillna(False).to_numpy(dtype=bool), ID]
    without = patients[patients[ID].notna().to_numpy(dtype=bool, na_value=False) & ~ids_in(patients[ID], baseline)]
    if len(without):
        # counts and the rule only: the ids go to Cohort.details (make run: OUT/data_issues.csv)
        message = (f"{vfile}: {len(without)} patient(s) without a baseline (month 0) visit: their baseline "
                   "SLEDAI-2K is unknown, so eligibility excludes them (which: data_issues.csv)")
        notes.append(message)
        details.extend(Problem(pfile, int(row), ID, pid, NO_BASELINE_RULE) for row, pid in without[ID].items())
        warn_data(message)


# --------------------------------------------------------------------------- public API
def fingerprint_files(paths: list[Path]) -> str:
    """SHA-256 over the names and bytes of the raw files (order-independent of the folder location)."""
    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda p: p.name):
        digest.update(path.name.encode() + b"\0")
        # streamed: a registry's file is hashed without a second copy of it in memory
        with open(path, "rb") as f:
            while chunk := f.read(1 << 22):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


def _find_tables(path: Path, problems: list[Problem], mapping: ExtractMapping | None = None
                 ) -> dict[str, Path | None]:
    """The one file holding each table: ``patients.csv``/``.xlsx``/``.sav``/..., ``visits.*``, a
    workbook with a sheet named after the table, or the file ``mapping.yml`` names. Two candidates
    for a table is a problem."""
    if path.is_file():
        return {t: path for t in TABLES}
    workbooks = _workbooks_with_sheet(path)
    found: dict[str, Path | None] = {}
    for table in TABLES:
        named_file = mapping.tables[table].file if mapping is not None else None
        if named_file:
            found[table] = path / str(named_file)
            if not found[table].is_file():
                problems.append(Problem(str(named_file), None, None, None,
                                        f"file not found: {MAPPING} names it for the {table} table", mapping=MAPPING))
                found[table] = None
            continue
        named = _candidates(path, table)
        candidates = named + [w for w in workbooks[table] if w not in named]
        if len(candidates) > 1:
            names = [p.name + ("" if p in named else f" [sheet {table}]") for p in candidates]
            problems.append(Problem(", ".join(names), None, None, None,
                                    f"{len(candidates)} files hold the {table} table: keep one "
                                    "(the workbook does not choose)"))
            found[table] = None
        elif not candidates:
            problems.append(Problem(f"{path}/{table}.csv", None, None, None,
                                    f"file not found: the {table} table (patients.csv/.xlsx/.parquet/.sav/.dta and visits.csv/..., "
                                    "or one .xlsx with a sheet for each, or a mapping.yml naming the files)"))
            found[table] = None
        else:
            found[table] = candidates[0]
    return found


def _foreign_raw(foreign: Foreign, table: str, mapping: ExtractMapping | None, problems: list[Problem],
                 notes: list[str], dictionary=None) -> _Raw:
    """A table read by pyreadstat or from REDCap, as the loader's text cells (mapped when asked)."""
    notes.extend(foreign.notes)
    kinds = variable_types(table, dictionary)
    spec = mapping.tables.get(table) if mapping is not None else None
    targets = {c.source: c.name for c in spec.columns} if spec is not None else {}
    for source, codes in foreign.labels.items():
        target = targets.get(source, normal_name(source))
        if kinds.get(target) not in ("number", "integer") or (spec is not None and target in spec.values):
            continue
        # 999 = "unknown" left undeclared would be read as 999 mg: a labelled code is never a number
        cells = foreign.frame[source]
        for row in cells.index[cells.isin(list(codes)).to_numpy()]:
            problems.append(Problem(foreign.file, int(row), target, cells[row],
                                    f"a code labelled '{codes[cells[row]]}' in a numeric column: declare it missing "
                                    "in the file (SPSS missing values), or remove the label if it is a real value"))
    frame, numeric = foreign.frame, set(foreign.numeric)
    if mapping is not None:
        frame, numeric = mapping.apply(frame, table, foreign.file, foreign.labels, numeric, problems, notes)
    else:
        # labels stand for levels and yes/no; a labelled number (999 = "unknown") stays a number
        labelled = apply_labels(foreign, [c for c in frame.columns if kinds.get(normal_name(c)) in ("category", "boolean")])
        frame, numeric = foreign.frame, set(foreign.numeric)
        if labelled:
            notes.append(f"{foreign.file}: value labels used for {', '.join(labelled)}")
    factors = mapping.factors(table) if mapping is not None else {}
    reasons = {(row, targets.get(column, column)): why for (row, column), why in foreign.reasons.items()}
    return _Raw(foreign.file, frame, "statistical", [], None, _native(frame, numeric), factors=factors,
                reasons=reasons)


def _mapped_raw(raw: _Raw, table: str, mapping: ExtractMapping, problems: list[Problem], notes: list[str]) -> _Raw:
    """A CSV/XLSX table under the workbook's names, as ``mapping.yml`` says."""
    numeric = set() if raw.native is None else {c for c in raw.frame.columns if raw.native[c].all()}
    frame, numeric = mapping.apply(raw.frame, table, raw.file, {}, numeric, problems, notes)
    native = _native(frame, numeric) if raw.native is not None or numeric else None
    return _Raw(raw.file, frame, raw.kind, raw.notes, raw.header_row, native, {}, mapping.factors(table))


def _native(frame: pd.DataFrame, numeric: set) -> pd.DataFrame:
    """True in the columns stored as numbers: no decimal-mark convention applies to their cells."""
    return pd.DataFrame({c: np.full(len(frame), c in numeric) for c in frame.columns}, index=frame.index)


def _without_echoes(problems: list[Problem]) -> list[Problem]:
    """A cell or column the mapping already reported is not reported again by the rule it then
    breaks (a code the mapping does not know is also not an allowed level): one problem, one line."""
    cells = {(p.file, p.row, p.column) for p in problems if p.mapping and p.row is not None}
    columns = {(p.file, t) for p in problems if p.mapping for t in re.findall(r"for '(\w+)'", p.rule)}
    return [p for p in problems if p.mapping or (
        (p.file, p.row, p.column) not in cells and not (p.row is None and (p.file, p.column) in columns))]


def read_extract(path: str | Path = BUNDLED_DATA, converters: dict[str, float] | None = None, *,
                 dictionary=None) -> Cohort:
    """Read and validate an extract; return a typed :class:`Cohort` or raise :class:`DataError`.

    ``path`` is a folder holding ``patients`` and ``visits`` as ``.csv`` or ``.xlsx`` files (or one
    ``.xlsx`` workbook with a sheet for each table), or such a workbook itself. Accepted and
    normalised (each listed in ``Cohort.notes``): UTF-8 with or without BOM, UTF-16 and Latin-1
    files; comma-, semicolon- (with decimal commas) or tab-delimited CSV, with any line ends; blank
    lines and trailing delimiters; yes/no spellings 1/0, yes/no, Y/N, TRUE/FALSE; numbers followed by
    the dictionary unit ("20 mg"); surrounding spaces; case variants of categories and of ids.
    A number whose reading depends on a decimal/thousands convention ('1.000', '1,5' outside a
    semicolon file) is refused unless ``manifest.json`` declares the convention (``"decimal"``,
    ``"thousands"``). Every other deviation from ``data/dictionary.csv`` or from the manifest's keys
    is a problem; all problems of the extract are raised together in one :class:`DataError`.

    Warnings (:class:`DataWarning`, also in ``Cohort.notes``) give counts and rules only; the patients
    behind them are listed in ``Cohort.details``. Clinical consistency (recorded SLEDAI-2K totals
    against their descriptors) is checked one layer up, by :func:`msc_sle.clinical.load_cohort`,
    which calls this function first. ``dictionary``: the data dictionary the extract is checked
    against, a path or :class:`~msc_sle.contract.Dictionary` (default ``data/dictionary.csv``).
    """
    contract = as_dictionary(dictionary)
    path = Path(path)
    problems: list[Problem] = []
    notes: list[str] = []
    details: list[Problem] = []
    if not path.exists():
        raise DataError([Problem(str(path), None, None, None, "no such file or folder")])
    if path.is_file() and path.suffix.lower() != ".xlsx":
        raise DataError([Problem(path.name, None, None, None,
                                 "a single file must be an .xlsx workbook; otherwise give the folder")])
    folder = path if path.is_dir() else path.parent
    manifest = _read_manifest(folder, problems)
    if manifest.convention.decimal is not None:
        notes.append(f"{MANIFEST}: numbers read with the declared {manifest.convention.describe()}")
    mapping = read_mapping(folder, problems, converters, contract)
    if (folder / MAPPING).is_file() and mapping is None:
        raise DataError(problems)  # a mapping that cannot be read: nothing below would be meaningful
    raws: dict[str, _Raw | None] = {}
    files: list[Path] = []
    headers: set[str] = set()  # the extract's own column names, as its files spell them
    if mapping is not None:
        files.append(mapping.path)
        notes.append(f"{MAPPING}: the extract's names, codes and units mapped to the data dictionary")
    if mapping is not None and mapping.redcap is not None:
        rc = mapping.redcap
        records, dictionary = folder / str(rc["records"]), folder / str(rc["dictionary"])
        forms = rc["visit_instrument"] if isinstance(rc["visit_instrument"], list) else [rc["visit_instrument"]]
        split = read_redcap(records, dictionary, [str(f) for f in forms], problems, rc.get("events"),
                            rc.get("missing_codes"))
        files += [records, dictionary]
        for table in TABLES:
            raws[table] = None if split is None else _foreign_raw(split[table], table, mapping, problems, notes, contract)
            if split is not None:
                details.extend(split[table].details)
                headers.update(split[table].frame.columns)
    else:
        for table, file in _find_tables(path, problems, mapping).items():
            if file is None:
                raws[table] = None
                continue
            required = [v.name for v in contract.variables(table) if v.required]
            if file.suffix.lower() in (*STATISTICAL, PARQUET):
                foreign = (read_parquet if file.suffix.lower() == PARQUET else read_statistical)(file, problems)
                if foreign is not None:
                    headers.update(foreign.frame.columns)
                raws[table] = None if foreign is None else _foreign_raw(foreign, table, mapping, problems, notes, contract)
            else:
                raws[table] = (_read_xlsx(file, table, required, problems) if file.suffix.lower() == ".xlsx"
                               else _read_csv(file, required, problems))
                if raws[table] is not None:
                    headers.update(str(c) for c in raws[table].frame.columns)
                if raws[table] is not None and mapping is not None:
                    raws[table] = _mapped_raw(raws[table], table, mapping, problems, notes)
            if file not in files:
                files.append(file)
            if raws[table] is not None:
                notes.extend(raws[table].notes)
    frames = {t: _parse_table(raws[t], t, problems, notes, manifest.convention, contract)
              if raws[t] is not None else None
              for t in TABLES}
    for table, frame in frames.items():
        if frame is not None and ID in frame and (table == "patients" or "month" in frame):
            _check_keys(frame, table, raws[table].file, problems)
    if (frames["patients"] is not None and frames["visits"] is not None and ID in frames["patients"]
            and ID in frames["visits"] and "month" in frames["visits"]):
        _link_visits(frames["patients"], frames["visits"], raws["patients"].file, raws["visits"].file,
                     problems, notes, details)
    if problems:
        raise DataError(_without_echoes(problems))
    patients = frames["patients"].reset_index(drop=True)
    visits = frames["visits"]
    if not _in_key_order(visits):  # already in order: a stable sort would only copy every column
        visits = visits.sort_values([ID, "month"], kind="stable")
    visits = visits.reset_index(drop=True)
    if manifest.convention.decimal is not None:  # the manifest then decides how the numbers read
        files.append(manifest.path)
    return Cohort(patients, visits, str(path), fingerprint_files(files), manifest.synthetic,
                  tuple(dict.fromkeys(notes)), {t: raws[t].file for t in TABLES},
                  tuple(str(f.resolve()) for f in files), tuple(details), manifest.paper_cohort,
                  tuple(sorted(headers - set(contract.names))))
