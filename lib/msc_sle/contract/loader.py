"""Reading an extract against the data contract: ``read_extract``.

A hospital extract is two tables, ``patients`` (one row per screened patient) and ``visits``
(long form, one row per patient and month), as CSV or XLSX. ``read_extract`` reads them, normalises
the usual spellings (and says which it normalised), checks every cell against the data dictionary
(``data/dictionary.csv``) and either returns a typed :class:`Cohort` or raises :class:`DataError`
listing *every* problem found, each with its file, row, column, value and rule. The raw files are
only ever read.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .dictionary import ID, dtype_for, table_variables
from .paths import BUNDLED_DATA
from .types import Cohort, DataError, DataWarning, Problem

__all__ = ["read_extract", "fingerprint_files", "TABLES"]

TABLES = ("patients", "visits")

_TRUE = {"1", "yes", "y", "true", "t"}
_FALSE = {"0", "no", "n", "false", "f"}
# Spellings of a unit that may follow a number in a cell ("20 mg"); keyed by the dictionary unit.
_UNIT_ALIASES = {
    "mg/day": {"mg/day", "mg/d", "mg", "mg per day"},
    "g": {"g", "gram", "grams"},
    "years": {"years", "year", "yrs", "yr", "y"},
    "months": {"months", "month", "mo", "mos"},
    "points": {"points", "pts"},
    "criteria": {"criteria"},
}
_NUMBER_WITH_UNIT = re.compile(r"^\s*([-+]?(?:\d+(?:[.,]\d+)?|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z][A-Za-z/ ]*)?\s*$")

# --------------------------------------------------------------------------- reading raw tables
@dataclass
class _Raw:
    file: str            # name shown in messages, e.g. "visits.csv" or "extract.xlsx [visits]"
    frame: pd.DataFrame  # all cells as str, index = row number in the file
    decimal_comma: bool
    notes: list[str]


def _find_file(folder: Path, table: str) -> Path | None:
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.stem.strip().lower() == table and path.suffix.lower() in (".csv", ".xlsx"):
            return path
    return None


def _decode(path: Path, notes: list[str]) -> str:
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        notes.append(f"{path.name}: UTF-8 byte-order mark removed")
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # Excel on Windows exports Latin-1/cp1252: decoding is lossless for those bytes.
        notes.append(f"{path.name}: not UTF-8, read as Latin-1 (cp1252)")
        return data.decode("cp1252", errors="replace")


def _read_csv(path: Path, problems: list[Problem]) -> _Raw | None:
    notes: list[str] = []
    text = _decode(path, notes)
    if not text.strip():
        problems.append(Problem(path.name, None, None, None, "the file is empty"))
        return None
    header = text.splitlines()[0]
    delimiter = max([",", ";", "\t"], key=header.count)
    if delimiter != ",":
        notes.append(f"{path.name}: {'semicolon' if delimiter == ';' else 'tab'}-delimited file")
    # newline="": the csv module recognises \r\n, \n and old-Mac \r line ends itself
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    rows = [r for r in rows if any(c.strip() for c in r)]
    columns, body = rows[0], rows[1:]
    width = len(columns)
    for i, r in enumerate(body):
        if len(r) != width:
            problems.append(Problem(path.name, i + 2, None, None,
                                    f"has {len(r)} fields where the header has {width}"))
    body = [(r + [""] * width)[:width] for r in body]
    frame = pd.DataFrame(body, columns=columns, index=range(2, len(body) + 2), dtype=object)
    return _Raw(path.name, frame, decimal_comma=delimiter == ";", notes=notes)


def _excel_cell(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (dt.datetime, dt.date)):
        return value.strftime("%Y-%m-%d") if not isinstance(value, dt.datetime) or value.time() == dt.time() \
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
    sheets = {ws.title: [[_excel_cell(c) for c in row] for row in ws.iter_rows(values_only=True)]
              for ws in book.worksheets}
    book.close()
    chosen = next((s for s in sheets if s.strip().lower() == table), None)
    if chosen is None:  # hospital exports often put a cover sheet first: look for the right header
        chosen = next((s for s, rows in sheets.items()
                       if rows and set(required) <= {str(c).strip().lower() for c in rows[0]}), None)
    if chosen is None:
        problems.append(Problem(path.name, None, None, None,
                                f"no sheet named '{table}' or with the {table} columns "
                                f"(sheets: {', '.join(sheets) or 'none'})"))
        return None
    if chosen != list(sheets)[0]:
        notes.append(f"{path.name}: {table} read from sheet '{chosen}'")
    rows = [r for r in sheets[chosen] if any(c.strip() for c in r)]
    label = f"{path.name} [sheet {chosen}]"
    if not rows:
        problems.append(Problem(label, None, None, None, "the sheet is empty"))
        return None
    columns, body = rows[0], rows[1:]
    frame = pd.DataFrame(body, columns=columns, index=range(2, len(body) + 2), dtype=object)
    return _Raw(label, frame, decimal_comma=False, notes=notes)


# --------------------------------------------------------------------------- parsing cells
def _normal_header(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


def _range(allowed: str) -> tuple[float, float] | None:
    m = re.fullmatch(r"([-\d.]+)-([-\d.]+)", allowed)
    return (float(m.group(1)), float(m.group(2))) if m else None


class _Column:
    """Parses one raw column against its dictionary row, collecting problems and notes."""

    def __init__(self, raw: _Raw, spec: pd.Series, problems: list[Problem], notes: list[str]):
        self.raw, self.spec, self.problems, self.notes = raw, spec, problems, notes
        self.name = spec["name"]

    def problem(self, row, value, rule):
        self.problems.append(Problem(self.raw.file, int(row), self.name, value, rule))

    def parse(self, cells: pd.Series) -> pd.Series:
        text = cells.astype(str).str.strip()
        if (text != cells.astype(str)).any():
            self.notes.append(f"{self.raw.file}: surrounding spaces removed in '{self.name}'")
        empty = text == ""
        if self.spec["required"] == "yes":
            for row in text.index[empty]:
                self.problem(row, None, "required value missing")
        parser = getattr(self, "_" + self.spec["type"])
        return parser(text.where(~empty, None))

    def _string(self, text):
        return text.astype("string")

    def _boolean(self, text):
        low = text.str.lower()
        low = low.where(~low.isin(["1.0", "0.0"]), low.str[0])  # Excel writes 1 as 1.0
        out = pd.Series(pd.NA, index=text.index, dtype="boolean")
        out[low.isin(_TRUE)] = True
        out[low.isin(_FALSE)] = False
        bad = low.notna() & ~low.isin(_TRUE | _FALSE)
        for row in low.index[bad]:
            self.problem(row, text[row], "not a yes/no value (expected 1/0, yes/no, Y/N or TRUE/FALSE)")
        spellings = sorted(set(text[low.notna() & ~bad]) - {"0", "1"})
        if spellings:
            self.notes.append(f"{self.raw.file}: '{self.name}' normalised {', '.join(map(repr, spellings))} to 1/0")
        return out

    def _number(self, text, integer=False):
        out = pd.Series(np.nan, index=text.index, dtype="float64")
        unit = self.spec["unit"]
        aliases = _UNIT_ALIASES.get(unit, {unit} if unit else set())
        with_unit = decimal_comma = 0
        for row, cell in text.dropna().items():
            m = _NUMBER_WITH_UNIT.match(cell)
            if not m:
                self.problem(row, cell, f"not a number{' (' + unit + ')' if unit else ''}")
                continue
            number, suffix = m.group(1), (m.group(2) or "").strip().lower()
            if suffix:
                if suffix not in aliases:
                    self.problem(row, cell, f"unit '{suffix}' is not the dictionary unit '{unit or 'none'}'")
                    continue
                with_unit += 1
            if "," in number:
                if not self.raw.decimal_comma:
                    # In a comma-delimited file "1,200" may be a thousands separator: refuse to guess.
                    self.problem(row, cell, "ambiguous decimal comma in a comma-delimited file")
                    continue
                number, decimal_comma = number.replace(",", "."), decimal_comma + 1
            value = float(number)
            if integer and not value.is_integer():
                self.problem(row, cell, "not a whole number")
                continue
            out[row] = value
        if with_unit:
            self.notes.append(f"{self.raw.file}: '{self.name}' had {with_unit} value(s) written with their unit; read as numbers in {unit}")
        if decimal_comma:
            self.notes.append(f"{self.raw.file}: '{self.name}' had {decimal_comma} decimal comma(s)")
        bounds = _range(self.spec["allowed"])
        if bounds:
            lo, hi = bounds
            for row in out.index[(out < lo) | (out > hi)]:
                self.problem(row, text[row], f"outside the allowed range {lo:g}-{hi:g}{' ' + unit if unit else ''}")
        return out

    def _integer(self, text):
        allowed = self.spec["allowed"]
        out = self._number(text, integer=True)
        if "|" in allowed:
            levels = {float(v) for v in allowed.split("|")}
            for row in out.index[out.notna() & ~out.isin(levels)]:
                self.problem(row, text[row], f"not one of the allowed values {allowed.replace('|', ', ')}")
        return out.astype("Int64")

    def _category(self, text):
        levels = self.spec["allowed"].split("|")
        by_key = {lvl.lower().replace(" ", ""): lvl for lvl in levels}
        keys = text.str.lower().str.replace(" ", "", regex=False)
        mapped = keys.map(by_key)
        bad = text.notna() & mapped.isna()
        for row in text.index[bad]:
            self.problem(row, text[row], f"not one of the allowed values {', '.join(levels)}")
        changed = sorted(set(text[text.notna() & ~bad & (text != mapped)]))
        if changed:
            self.notes.append(f"{self.raw.file}: '{self.name}' case/spacing normalised for {', '.join(map(repr, changed))}")
        return pd.Series(pd.Categorical(mapped.where(~bad), categories=levels), index=text.index)

    def _date(self, text):
        # Only ISO dates: "03/05/2010" is 3 May in Nanjing and March 5 in a US export; refuse to guess.
        iso = text.str.fullmatch(r"\d{4}-\d{2}-\d{2}(?:[ T]00:00(?::00)?)?").fillna(False).astype(bool)
        parsed = pd.to_datetime(text.where(iso).str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
        for row in text.index[text.notna() & parsed.isna()]:
            self.problem(row, text[row], "not a date in the form YYYY-MM-DD")
        lo, _, hi = self.spec["allowed"].partition("..")
        hi_date = pd.Timestamp.today().normalize() if hi == "today" else pd.Timestamp(hi)
        for row in parsed.index[parsed > hi_date]:
            self.problem(row, text[row], "date is in the future" if hi == "today" else f"date after {hi}")
        if lo:
            for row in parsed.index[parsed < pd.Timestamp(lo)]:
                self.problem(row, text[row], f"date before {lo}")
        return parsed.astype("datetime64[ns]")


def _parse_table(raw: _Raw, table: str, problems: list[Problem], notes: list[str]) -> pd.DataFrame | None:
    spec = table_variables(table)
    headers = [_normal_header(c) for c in raw.frame.columns]
    renamed = [f"'{o}' -> '{n}'" for o, n in zip(raw.frame.columns, headers) if str(o) != n]
    if renamed:
        notes.append(f"{raw.file}: column names normalised ({', '.join(renamed)})")
    frame = raw.frame.set_axis(headers, axis=1)
    dupes = sorted({h for h in headers if headers.count(h) > 1})
    for h in dupes:
        problems.append(Problem(raw.file, None, h, None, "column appears more than once"))
    if dupes:
        return None
    missing = [n for n, req in zip(spec["name"], spec["required"]) if req == "yes" and n not in frame]
    for name in missing:
        problems.append(Problem(raw.file, None, name, None, "required column missing"))
    extra = [h for h in headers if h not in set(spec["name"])]
    if extra:
        message = f"{raw.file}: unexpected column(s) ignored: {', '.join(extra)}"
        notes.append(message)
        warnings.warn(message, DataWarning, stacklevel=3)
    if frame.empty:
        problems.append(Problem(raw.file, None, None, None, "no data rows (header only)"))
        return None
    out = {}
    for _, row in spec.iterrows():
        if row["name"] in frame:
            out[row["name"]] = _Column(raw, row, problems, notes).parse(frame[row["name"]])
        elif row["name"] not in missing:  # optional column absent: all missing, typed
            out[row["name"]] = pd.Series(pd.NA, index=frame.index).astype(dtype_for(row))
    return pd.DataFrame(out, index=frame.index)


# --------------------------------------------------------------------------- table rules
def _schema(table: str):
    """Table-level rules (uniqueness of keys) as a pandera schema, reported lazily."""
    import pandera.pandas as pa

    unique = [ID] if table == "patients" else [ID, "month"]
    return pa.DataFrameSchema(unique=unique, report_duplicates="all")


def _check_keys(frame: pd.DataFrame, table: str, file: str, problems: list[Problem]) -> None:
    import pandera.errors

    keyed = frame.dropna(subset=[ID] + (["month"] if table == "visits" else []))
    try:
        _schema(table).validate(keyed, lazy=True)
    except pandera.errors.SchemaErrors as err:
        rule = "duplicate patient id" if table == "patients" else "duplicate visit (same patient and month)"
        cols = [ID] if table == "patients" else [ID, "month"]
        for row in err.failure_cases["index"].dropna().astype(int).unique():
            value = " / ".join(str(keyed.at[row, c]) for c in cols)
            problems.append(Problem(file, int(row), " + ".join(cols), value, rule))


def _link_visits(patients, visits, pfile, vfile, problems, notes):
    known = set(patients[ID].dropna())
    folded = {}
    for pid in known:
        folded.setdefault(pid.casefold(), []).append(pid)
    for key, ids in folded.items():
        if len(ids) > 1:
            problems.append(Problem(pfile, None, ID, " / ".join(sorted(ids)), "patient ids that differ only in case"))
    ids = visits[ID].copy()
    unknown = ids.notna() & ~ids.isin(known)
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
    baseline = set(visits.loc[visits["month"] == 0, ID].dropna())
    without = sorted(known - baseline)
    if without:
        message = (f"{vfile}: {len(without)} patient(s) without a baseline (month 0) visit: "
                   f"{', '.join(without[:10])}{' ...' if len(without) > 10 else ''}")
        notes.append(message)
        warnings.warn(message, DataWarning, stacklevel=3)



# --------------------------------------------------------------------------- public API
def fingerprint_files(paths: list[Path]) -> str:
    """SHA-256 over the names and bytes of the raw files (order-independent of the folder location)."""
    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda p: p.name):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def read_extract(path: str | Path = BUNDLED_DATA) -> Cohort:
    """Read and validate an extract; return a typed :class:`Cohort` or raise :class:`DataError`.

    ``path`` is a folder holding ``patients`` and ``visits`` as ``.csv`` or ``.xlsx`` files, or one
    ``.xlsx`` workbook with a sheet for each table. Accepted and normalised (each listed in
    ``Cohort.notes``): UTF-8 with or without BOM and Latin-1 files; comma-, semicolon- (with decimal
    commas) or tab-delimited CSV; yes/no spellings 1/0, yes/no, Y/N, TRUE/FALSE; numbers followed by
    the dictionary unit ("20 mg"); surrounding spaces; case variants of categories and of ids.
    Every other deviation from ``data/dictionary.csv`` is a problem; all problems of the extract are
    raised together in one :class:`DataError`. Warnings (:class:`DataWarning`) are issued for
    unexpected columns and patients without a baseline visit. Clinical consistency (recorded
    SLEDAI-2K totals against their descriptors) is checked one layer up, by
    :func:`msc_sle.clinical.load_cohort`, which calls this function first.
    """
    path = Path(path)
    problems: list[Problem] = []
    notes: list[str] = []
    if not path.exists():
        raise DataError([Problem(str(path), None, None, None, "no such file or folder")])
    raws: dict[str, _Raw | None] = {}
    files: list[Path] = []
    for table in TABLES:
        required = table_variables(table).query("required == 'yes'")["name"].tolist()
        if path.is_file():
            if path.suffix.lower() != ".xlsx":
                raise DataError([Problem(path.name, None, None, None,
                                         "a single file must be an .xlsx workbook; otherwise give the folder")])
            file = path
            raws[table] = _read_xlsx(path, table, required, problems)
        else:
            file = _find_file(path, table)
            if file is None:
                problems.append(Problem(f"{path}/{table}.csv", None, None, None,
                                        f"file not found: the {table} table (patients.csv/.xlsx and visits.csv/.xlsx)"))
                raws[table] = None
                continue
            raws[table] = (_read_xlsx(file, table, required, problems) if file.suffix.lower() == ".xlsx"
                           else _read_csv(file, problems))
        if file not in files:
            files.append(file)
        if raws[table] is not None:
            notes.extend(raws[table].notes)
    frames = {t: _parse_table(raws[t], t, problems, notes) if raws[t] is not None else None for t in TABLES}
    for table, frame in frames.items():
        if frame is not None and ID in frame:
            _check_keys(frame, table, raws[table].file, problems)
    if frames["patients"] is not None and frames["visits"] is not None:
        _link_visits(frames["patients"], frames["visits"], raws["patients"].file, raws["visits"].file,
                     problems, notes)
    if problems:
        raise DataError(problems)
    patients = frames["patients"].reset_index(drop=True)
    visits = frames["visits"].sort_values([ID, "month"], kind="stable").reset_index(drop=True)
    folder = path if path.is_dir() else path.parent
    manifest = folder / "manifest.json"
    synthetic = bool(manifest.exists() and json.loads(manifest.read_text(encoding="utf-8")).get("synthetic", False))
    return Cohort(patients, visits, str(path), fingerprint_files(files), synthetic, tuple(dict.fromkeys(notes)),
                  {t: raws[t].file for t in TABLES}, tuple(str(f.resolve()) for f in files))
