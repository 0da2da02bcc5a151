"""Extracts saved by statistical packages (SPSS, Stata, SAS), exported from REDCap or saved as
Apache Parquet, read into cells of text so the loader applies exactly the same rules to them as to a CSV file.

pyreadstat (ReadStat) does the reading; what is written here is only what it does not do: turning
its columns into the loader's text cells (vectorised, so a registry-sized file stays fast), applying
value labels, counting SPSS user-missing codes, and splitting a REDCap export into the patients and
visits tables with its data dictionary.

Why text cells: every check of the data contract (ranges, levels, yes/no spellings, row numbers in
messages) lives in one place, the loader; a second set of checks for typed columns would drift.
"""
from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .types import Problem

__all__ = ["STATISTICAL", "PARQUET", "Foreign", "read_statistical", "read_parquet", "read_metadata", "read_redcap", "with_labels",
           "apply_labels", "REDCAP_FIELDS", "FORM_STATUS",
           "checkbox_column"]

#: File suffix -> the package that writes it (and how messages name the format).
STATISTICAL = {".sav": "SPSS", ".zsav": "SPSS", ".dta": "Stata", ".sas7bdat": "SAS", ".xpt": "SAS transport"}
#: The suffix of an Apache Parquet file (read by pyarrow).
PARQUET = ".parquet"
#: REDCap's own columns in a raw-data export (not fields of the project).
REDCAP_FIELDS = ("redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance",
                 "redcap_data_access_group", "redcap_survey_identifier")
#: The form-status column REDCap adds after every form's fields (``<form>_complete``).
FORM_STATUS = {"0": "Incomplete", "1": "Unverified", "2": "Complete"}
#: A unique event name of a longitudinal project: the event, then its arm ("month_1_arm_2").
_EVENT = re.compile(r"^(\w+?)_arm_(\d+)$")


@dataclass
class Foreign:
    """One table read from a package's file: ``frame`` holds text cells ('' = missing), indexed by
    the row number messages give (SPSS/Stata: the case number; REDCap: the CSV line); ``numeric``
    marks columns stored as numbers (no decimal-mark convention applies to them); ``labels`` are the
    value labels (code text -> label) of each labelled column; ``notes`` say what was done."""

    file: str
    frame: pd.DataFrame
    numeric: set = field(default_factory=set)
    labels: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    #: the cells read as missing for a reason (REDCap missing-data codes): Problems naming them
    details: list = field(default_factory=list)
    #: (row, column) -> the reason a cell was read as missing, for the loader's required-value rule
    reasons: dict = field(default_factory=dict)


def _reader(path: Path):
    import pyreadstat

    return {"SPSS": pyreadstat.read_sav, "Stata": pyreadstat.read_dta, "SAS": pyreadstat.read_sas7bdat,
            "SAS transport": pyreadstat.read_xport}[STATISTICAL[path.suffix.lower()]]


def read_metadata(path: Path):
    """pyreadstat's metadata of a package's file (column names, variable and value labels), no rows."""
    _, meta = _reader(path)(str(path), metadataonly=True)
    return meta


def _code_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _as_text(column: pd.Series) -> tuple[pd.Series, bool]:
    """A column as text cells and whether it was numeric. '%.15g' prints a stored double as its
    shortest exact decimal for any value a clinical extract holds (7.5, 0.125, 1200)."""
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        values = column.to_numpy(dtype="float64", na_value=np.nan)
        text = np.char.mod("%.15g", values).astype(object)
        text[np.isnan(values)] = ""
        return pd.Series(text, index=column.index, dtype=object), True
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return column.dt.strftime("%Y-%m-%d").fillna("").astype(object), False
    out = column.astype(object)
    dates = out.map(lambda v: hasattr(v, "strftime"))  # pyreadstat gives datetime.date objects
    if dates.any():
        # isoformat, not strftime: year 1 prints as '0001', refused by the date rule like any early date
        out = out.where(~dates, out[dates].map(lambda v: v.isoformat()[:10]))
    return out.where(out.notna(), "").astype(str), False


def read_statistical(path: Path, problems: list[Problem]) -> Foreign | None:
    """Read an SPSS (.sav/.zsav), Stata (.dta) or SAS (.sas7bdat/.xpt) file.

    SPSS user-missing codes (a 99 declared missing) are missing values, never numbers: they are read
    as codes, counted, and blanked here. Value labels are kept in ``labels`` for the mapping (and
    applied to the cells when no mapping says otherwise, by :func:`apply_labels`).
    """
    kind = STATISTICAL[path.suffix.lower()]
    reader = _reader(path)
    kwargs = {"user_missing": True} if kind == "SPSS" else {}
    try:
        data, meta = reader(str(path), **kwargs)
    except Exception as err:  # noqa: BLE001 - ReadStat's own error, said once with the file
        problems.append(Problem(path.name, None, None, None, f"cannot be read as a {kind} file ({err})"))
        return None
    data.index = pd.RangeIndex(1, len(data) + 1)  # case numbers, as the package's data view shows them
    notes = [f"{path.name}: {kind} file, {len(data)} case(s); row numbers below are case numbers"]
    blanked = 0
    for name, ranges in (getattr(meta, "missing_ranges", None) or {}).items():
        if name not in data:
            continue
        column = pd.to_numeric(data[name], errors="coerce")
        hit = pd.Series(False, index=data.index)
        for r in ranges:
            hit |= column.between(r["lo"], r["hi"])
        if hit.any():
            blanked += int(hit.sum())
            data[name] = data[name].where(~hit)
    if blanked:
        notes.append(f"{path.name}: {blanked} cell(s) held a code declared missing in SPSS (user-missing); "
                     "read as missing")
    frame, numeric = {}, set()
    for name in data.columns:
        frame[name], is_number = _as_text(data[name])
        if is_number:
            numeric.add(name)
    labels = {name: {_code_text(code): str(label) for code, label in value_labels.items()}
              for name, value_labels in (meta.variable_value_labels or {}).items() if name in data}
    return Foreign(path.name, pd.DataFrame(frame, index=data.index, dtype=object), numeric, labels, notes)


def _parquet_text(column, name: str):
    """One Parquet column as Arrow text cells ('' = missing) and whether it held numbers: a number
    as its shortest decimal (7.5, 1200), a yes/no as 1/0, a date as YYYY-MM-DD (a time of day kept,
    so the date rule refuses it as it would in a CSV file)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    # the C library's allocator, as the loader's CSV columns: Arrow's default (mimalloc) spends more
    # CPU time in page faults on a registry's columns than the conversions themselves take
    pool = pa.system_memory_pool()
    kind = column.type
    if pa.types.is_dictionary(kind):
        column, kind = column.cast(kind.value_type), kind.value_type
    number = pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
    if pa.types.is_boolean(kind):
        text = pc.if_else(column, "1", "0", memory_pool=pool)
    elif pa.types.is_floating(kind):
        text = pc.if_else(pc.is_nan(column, memory_pool=pool), pa.scalar(None, pa.large_string()),
                          pc.cast(column, pa.large_string(), memory_pool=pool), memory_pool=pool)
    elif pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        seconds = pc.cast(column, pa.timestamp("s"), safe=False)
        text = pc.replace_substring_regex(pc.strftime(seconds, format="%Y-%m-%dT%H:%M:%S"), "T00:00:00$", "")
    else:
        # strings, integers, decimals; another type fails here
        text = pc.cast(column, pa.large_string(), memory_pool=pool)
    # large_string: what pandas' string arrays hold (pandas would widen it again, in the default pool)
    return pc.cast(pc.coalesce(text, "", memory_pool=pool), pa.large_string(), memory_pool=pool), number


#: Rows from which a table's columns are worked on several threads (Arrow's and NumPy's kernels
#: release the GIL): below it, starting threads costs more than it saves.
THREADED_ROWS = 50_000


def map_columns(function, columns: list, rows: int) -> list:
    """``function`` over a table's ``columns``, results in their order; a registry's (``rows`` of
    at least :data:`THREADED_ROWS`) on up to four threads. The loader's column parsing and the
    Parquet reading share it."""
    workers = min(4, os.cpu_count() or 1)
    if rows < THREADED_ROWS or workers < 2 or len(columns) < 2:
        return [function(c) for c in columns]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="msc_sle-columns") as pool:
        return list(pool.map(function, columns))


def read_parquet(path: Path, problems: list[Problem]) -> Foreign | None:
    """Read an Apache Parquet file into the loader's text cells, so every rule of the data contract
    applies to it as to a CSV file (numbers stored as numbers skip the decimal-mark convention, as an
    SPSS file's do). Parquet has no header line: row numbers are data rows counted from 1."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as err:
        problems.append(Problem(path.name, None, None, None, f"cannot be read as a Parquet file ({err})"))
        return None
    index = pd.RangeIndex(1, table.num_rows + 1)
    frame, numeric = {}, set()

    def cells(job):
        try:
            return _parquet_text(job[1], job[0])
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid) as err:
            return err

    jobs = list(zip(table.column_names, table.columns))
    converted = map_columns(cells, jobs, table.num_rows)
    for (name, column), result in zip(jobs, converted):
        if isinstance(result, Exception):
            problems.append(Problem(path.name, None, name, None,
                                    f"a Parquet column of type {column.type} cannot be read as cells"))
            continue
        text, number = result
        frame[name] = pd.Series(pd.arrays.ArrowStringArray(text), index=index)
        if number:
            numeric.add(name)
    notes = [f"{path.name}: Parquet file, {table.num_rows} row(s); row numbers below count data rows from 1"]
    return Foreign(path.name, pd.DataFrame(frame, index=index), numeric, {}, notes)


def with_labels(cells: pd.Series, labels: dict) -> pd.Series:
    """Codes replaced by their value labels; a code without a label stays as it is."""
    return cells.map(labels).where(cells.isin(list(labels)), cells)


def apply_labels(foreign: Foreign, columns) -> list[str]:
    """Replace codes by their value labels in ``columns`` (codes without a label stay as they are)."""
    done = []
    for name in columns:
        labels = foreign.labels.get(name)
        if not labels or name not in foreign.frame:
            continue
        foreign.frame[name] = with_labels(foreign.frame[name], labels)
        foreign.numeric.discard(name)
        done.append(name)
    return done


# --------------------------------------------------------------------------- REDCap
def _redcap_csv(path: Path, problems: list[Problem]) -> pd.DataFrame | None:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        problems.append(Problem(path.name, None, None, None, f"cannot be read as a UTF-8 CSV export ({err})"))
        return None
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        problems.append(Problem(path.name, None, None, None, "the file is empty"))
        return None
    header, body = rows[0], rows[1:]
    width = len(header)
    for i, row in enumerate(body, start=2):
        if len(row) != width:
            problems.append(Problem(path.name, i, None, None, f"has {len(row)} fields where the header has {width}"))
            return None
    return pd.DataFrame(body, columns=header, index=pd.RangeIndex(2, len(body) + 2), dtype=object)


def _choices(text: str) -> dict[str, str]:
    """REDCap's "1, Female | 2, Male" -> {'1': 'Female', '2': 'Male'}."""
    out = {}
    for part in str(text or "").split("|"):
        code, sep, label = part.partition(",")
        if sep:
            out[code.strip()] = label.strip()
    return out


def checkbox_column(field: str, code: str) -> str:
    """The column REDCap's export gives a checkbox choice: ``field___code``, the code in lower case
    with '-' written '_' (a choice coded -1 arrives as ``field____1``)."""
    return f"{field}___{code.strip().lower().replace('-', '_')}"


def _arm(event: str) -> str | None:
    hit = _EVENT.match(event)
    return hit.group(2) if hit else None


def _event_and_arm(event: str) -> str:
    """'month_1_arm_2' -> "event 'month_1' of arm 2" (REDCap's unique event names end in _arm_N)."""
    hit = _EVENT.match(event)
    return f"event '{hit.group(1)}' of arm {hit.group(2)}" if hit else f"event '{event}'"


def read_redcap(records: Path, dictionary: Path, visit_forms: list[str], problems: list[Problem],
                events: dict | None = None, missing_codes: dict | None = None) -> dict[str, Foreign] | None:
    """Split a REDCap raw-data export into the patients and visits tables.

    ``dictionary`` is the project's data dictionary (CSV). Rows of a repeating instrument named in
    ``visit_forms`` are visits (their month comes from a field of the instrument, through the
    mapping); the record's own row is the patient. Coded fields (radio, dropdown, yes/no) get their
    choices as value labels; a checkbox field ``x`` arrives as columns ``x___<code>`` holding 1/0,
    each a yes/no column of its own. Row numbers are lines of the records file.

    What REDCap adds to every raw export is recognised, never read as data: a ``<form>_complete``
    column per form (0 Incomplete, 1 Unverified, 2 Complete) and survey ``<form>_timestamp`` columns.

    A longitudinal export (a ``redcap_event_name`` column) is read only with ``events``: each unique
    event name with the month of its visit (None: an event that is not a visit, e.g. enrolment).
    The patient's fields are gathered from the record's rows of every listed event; the visit of an
    event is the record's row of that event. An event not listed (another arm's, say) is refused,
    naming the event and its arm: the workbook reads one group of patients, never two merged.

    ``missing_codes`` are the project's missing-data codes (code -> label, "UNK" -> "Unknown"): a
    cell holding one is read as missing, with its reason kept in ``details``; a checkbox field
    marked with one (its ``x___unk`` column is 1) leaves every choice of that field missing, not 0.
    An undeclared code is left to the loader, which refuses it where a number, date or level belongs.
    """
    data = _redcap_csv(records, problems)
    meta = _redcap_csv(dictionary, problems)
    if data is None or meta is None:
        return None
    meta.columns = [c.strip().lower() for c in meta.columns]
    name_col = next((c for c in meta.columns if c in ("variable / field name", "field_name")), None)
    form_col = next((c for c in meta.columns if c in ("form name", "form_name")), None)
    type_col = next((c for c in meta.columns if c in ("field type", "field_type")), None)
    choice_col = next((c for c in meta.columns if c.startswith("choices")), None)
    if None in (name_col, form_col, type_col):
        problems.append(Problem(dictionary.name, 1, None, None, "not a REDCap data dictionary: the columns "
                                "'Variable / Field Name', 'Form Name' and 'Field Type' are required"))
        return None
    codes = {str(k): str(v) for k, v in (missing_codes or {}).items()}
    record_id = data.columns[0]
    forms, labels, checkboxes = {}, {}, {}
    for _, row in meta.iterrows():
        name, form, ftype = row[name_col].strip(), row[form_col].strip(), row[type_col].strip().lower()
        if ftype == "checkbox":
            choices = [checkbox_column(name, code) for code in _choices(row[choice_col] if choice_col else "")]
            marks = {checkbox_column(name, code): code for code in codes}
            checkboxes[name] = (choices, marks)
            for column in choices + list(marks):
                forms[column] = form
        else:
            forms[name] = form
            if ftype in ("radio", "dropdown") and choice_col:  # yes/no fields already hold 1/0
                labels[name] = _choices(row[choice_col])
    form_names = set(forms.values())
    status = [c for c in data.columns if c not in forms and c.endswith("_complete") and c[:-9] in form_names]
    stamps = [c for c in data.columns if c not in forms and c.endswith("_timestamp") and c[:-10] in form_names]
    for name in status:
        cells = data[name].str.strip()
        for row in cells.index[~cells.isin(["", *FORM_STATUS])]:
            problems.append(Problem(records.name, int(row), name, data.at[row, name],
                                    "not a REDCap form status (0 Incomplete, 1 Unverified, 2 Complete)"))
    known = set(forms) | set(REDCAP_FIELDS) | set(status) | set(stamps) | {record_id}
    unknown = [c for c in data.columns if c not in known]
    for name in unknown:
        field_name, sep, code = name.rpartition("___")
        if sep and field_name in checkboxes:
            rule = (f"'{code}' is not a choice of the checkbox field '{field_name}' in the data dictionary "
                    f"{dictionary.name}; if it is one of the project's missing-data codes, list the codes "
                    "under redcap: missing_codes in mapping.yml")
        else:
            rule = f"column not in the data dictionary {dictionary.name}"
        problems.append(Problem(records.name, 1, name, None, rule))
    missing_forms = [f for f in visit_forms if f not in form_names]
    for form in missing_forms:
        problems.append(Problem(dictionary.name, None, None, form, "the visit instrument named in the mapping is "
                                "not a form of the data dictionary"))
    longitudinal = "redcap_event_name" in data
    if longitudinal and events is None:
        found = ", ".join(dict.fromkeys(data["redcap_event_name"]))
        problems.append(Problem(records.name, None, "redcap_event_name", None,
                                f"a longitudinal export (events {found}): list each event with the month of its "
                                "visit under redcap: events in mapping.yml (see README, 'A REDCap export')"))
    if not longitudinal and events is not None:
        problems.append(Problem(records.name, None, "redcap_event_name", None, "mapping.yml lists redcap: events, "
                                "but the export has no redcap_event_name column (not a longitudinal export)"))
    if unknown or missing_forms or (longitudinal and events is None) or (events is not None and not longitudinal):
        return None
    data = data.fillna("")
    instrument = data.get("redcap_repeat_instrument", pd.Series("", index=data.index)).str.strip()
    notes = []
    if longitudinal:
        event = data["redcap_event_name"].str.strip()
        unlisted = event[~event.isin(list(events))]
        listed_arms = {_arm(e) for e in events}
        # an arm none of whose events is listed is one problem, not one per event and record
        whole = unlisted.map(lambda e: _arm(e) is not None and _arm(e) not in listed_arms)
        for arm, rows in unlisted[whole].groupby(unlisted[whole].map(_arm), sort=False).groups.items():
            names = ", ".join(dict.fromkeys(_EVENT.match(e).group(1) for e in unlisted[rows]))
            problems.append(Problem(
                records.name, int(rows[0]), "redcap_event_name", unlisted[rows[0]],
                f"arm {arm} (events {names}; {len(rows)} row(s)) is not among the events of mapping.yml "
                "(redcap: events): the workbook reads one group of patients, never two arms merged; "
                "export the other arm apart, or list its events with their months"))
        for name, rows in unlisted[~whole].groupby(unlisted[~whole], sort=False).groups.items():
            problems.append(Problem(
                records.name, int(rows[0]), "redcap_event_name", name,
                f"{_event_and_arm(name)} ({len(rows)} row(s)) is not among the events of mapping.yml "
                "(redcap: events): list it with the month of its visit (or null if it holds no visit)"))
        if len(unlisted):
            return None
        month = pd.Series([events.get(e) for e in event], index=data.index, dtype=object)  # ints stay ints
    else:
        event = pd.Series("", index=data.index)
        month = pd.Series(None, index=data.index, dtype=object)
    base = instrument == ""
    repeat_visit = instrument.isin(visit_forms)
    is_visit = repeat_visit | (base & month.notna())
    other = ~base & ~repeat_visit
    for name, rows in instrument[other].groupby(instrument[other], sort=False).groups.items():
        notes.append(f"{records.name}: {len(rows)} row(s) of another repeating instrument not read "
                     "(neither patients nor visits)")

    details: list[Problem] = []
    reasons: dict = {}
    marked = 0
    for name, (choices, marks) in checkboxes.items():
        for column, code in marks.items():
            if column not in data:
                continue
            hit = data[column].str.strip() == "1"
            for row in data.index[hit]:
                for choice in choices:
                    if choice in data:
                        reasons[(int(row), choice)] = f"REDCap missing-data code '{code}' ({codes[code]})"
                        data.at[row, choice] = ""
                details.append(Problem(records.name, int(row), name, code,
                                       f"REDCap missing-data code ({codes[code]}): every choice read as missing"))
            marked += int(hit.sum())
    marks_all = {c for _, marks in checkboxes.values() for c in marks}
    values = [c for c in data.columns if c in forms and c not in marks_all and c != record_id
              and not any(c in choices for choices, _ in checkboxes.values())]
    coded: dict[str, int] = {}
    for name in values:
        cells = data[name].str.strip()
        for row in cells.index[cells.isin(list(codes))]:
            code = cells[row]
            reasons[(int(row), name)] = f"REDCap missing-data code '{code}' ({codes[code]})"
            details.append(Problem(records.name, int(row), name, code,
                                   f"REDCap missing-data code ({codes[code]}): read as missing"))
            coded[code] = coded.get(code, 0) + 1
            data.at[row, name] = ""
    if coded or marked:
        counts = "; ".join(f"{code} {codes[code]}: {n}" for code, n in coded.items())
        notes.append(f"{records.name}: {sum(coded.values()) + marked} cell(s) held a REDCap missing-data code, "
                     f"read as missing with its reason" + (f" ({counts})" if counts else "")
                     + (f"; {marked} checkbox field(s) marked with a code, every choice missing" if marked else ""))
    if status or stamps:
        notes.append(f"{records.name}: {len(status) + len(stamps)} column(s) REDCap adds to an export "
                     "(<form>_complete: Incomplete/Unverified/Complete; survey timestamps) set aside, not data")

    visit_fields = [c for c in values + [c for ch, _ in checkboxes.values() for c in ch]
                    if forms[c] in visit_forms and c in data]
    visit_fields = [c for c in data.columns if c in visit_fields]
    patient_fields = [c for c in data.columns if c in forms and c not in marks_all and c != record_id
                      and forms[c] not in visit_forms]
    patients = _patient_rows(data, base, record_id, patient_fields, event, records.name, problems)
    if patients is None:
        return None
    visits = data.loc[is_visit, [record_id] + visit_fields]
    if longitudinal:
        read = {e: m for e, m in events.items() if e in set(event)}
        # a repeating visit instrument inside an event gives its month through its own field
        visits.insert(1, "month", month.where(base)[is_visit].map(lambda m: "" if pd.isna(m) else str(m)))
        notes.append(f"{records.name}: a longitudinal export, {len(read)} event(s) read; a visit's month is "
                     "its event's (redcap: events)")
    notes.insert(0, f"{records.name}: REDCap export read with its data dictionary {dictionary.name}: "
                    f"{len(patients)} record(s), {int(is_visit.sum())} visit row(s)")
    out = {}
    for table, frame, fields in (("patients", patients, patient_fields), ("visits", visits, visit_fields)):
        rows = set(frame.index)
        why = {(r, c): v for (r, c), v in reasons.items() if r in rows and c in frame}
        out[table] = Foreign(records.name, frame, set(), {k: v for k, v in labels.items() if k in fields},
                             notes if table == "patients" else [],
                             details=details if table == "patients" else [], reasons=why)
    return out


def _patient_rows(data: pd.DataFrame, base: pd.Series, record_id: str, fields: list[str], event: pd.Series,
                  file: str, problems: list[Problem]) -> pd.DataFrame | None:
    """One row per record: its fields gathered from the record's rows without a repeat instrument
    (in a longitudinal export, one per event), indexed by the line of the record's first row. A
    field given two different values on two events is refused: the workbook would have to choose."""
    rows = data.loc[base, [record_id] + fields]
    if not event.any() or not rows[record_id].duplicated().any():
        return rows
    first = rows.groupby(record_id, sort=False).head(1)
    out = first.copy()
    clash = False
    for name in fields:
        filled = rows[rows[name] != ""]
        once = filled.drop_duplicates([record_id, name])
        twice = once[once[record_id].duplicated(keep="first")]
        for row in twice.index:
            clash = True
            earlier = once.index[(once[record_id] == once.at[row, record_id])][0]
            problems.append(Problem(file, int(row), name, data.at[row, name],
                                    f"the record's {_event_and_arm(event[earlier])} (line {earlier}) gives "
                                    f"'{data.at[earlier, name]}': one value per patient"))
        value = filled.groupby(record_id, sort=False)[name].first()
        out[name] = out[record_id].map(value).fillna("")
    return None if clash else out
