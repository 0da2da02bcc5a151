"""Extracts saved by statistical packages (SPSS, Stata, SAS) and exported from REDCap, read into
cells of text so the loader applies exactly the same rules to them as to a CSV file.

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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .types import Problem

__all__ = ["STATISTICAL", "Foreign", "read_statistical", "read_metadata", "read_redcap", "with_labels",
           "apply_labels", "REDCAP_FIELDS"]

#: File suffix -> the package that writes it (and how messages name the format).
STATISTICAL = {".sav": "SPSS", ".zsav": "SPSS", ".dta": "Stata", ".sas7bdat": "SAS", ".xpt": "SAS transport"}
#: REDCap's own columns in a raw-data export (not fields of the project).
REDCAP_FIELDS = ("redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance",
                 "redcap_data_access_group", "redcap_survey_identifier")


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


def read_redcap(records: Path, dictionary: Path, visit_forms: list[str], problems: list[Problem]
                ) -> dict[str, Foreign] | None:
    """Split a REDCap raw-data export into the patients and visits tables.

    ``dictionary`` is the project's data dictionary (CSV). Rows of a repeating instrument named in
    ``visit_forms`` (or, in a longitudinal project, every row whose event is not the first) are
    visits (their month comes from a field of the instrument, through the mapping); the other rows,
    one per record, are the patient. Coded fields (radio, dropdown, yes/no)
    get their choices as value labels; a checkbox field ``x`` arrives as columns ``x___<code>`` holding
    1/0, each a yes/no column of its own. Row numbers are lines of the records file.
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
    record_id = data.columns[0]
    forms, labels = {}, {}
    for _, row in meta.iterrows():
        name, form, ftype = row[name_col].strip(), row[form_col].strip(), row[type_col].strip().lower()
        if ftype == "checkbox":
            for code in _choices(row[choice_col] if choice_col else ""):
                forms[f"{name}___{code.lower()}"] = form
        else:
            forms[name] = form
            if ftype in ("radio", "dropdown") and choice_col:  # yes/no fields already hold 1/0
                labels[name] = _choices(row[choice_col])
    unknown = [c for c in data.columns if c not in forms and c not in REDCAP_FIELDS and c != record_id]
    for name in unknown:
        problems.append(Problem(records.name, 1, name, None, f"column not in the data dictionary {dictionary.name}"))
    missing_forms = [f for f in visit_forms if f not in set(forms.values())]
    for form in missing_forms:
        problems.append(Problem(dictionary.name, None, None, form, "the visit instrument named in the mapping is "
                                "not a form of the data dictionary"))
    if unknown or missing_forms:
        return None
    instrument = data.get("redcap_repeat_instrument", pd.Series("", index=data.index)).fillna("").str.strip()
    is_visit = instrument.isin(visit_forms)
    if "redcap_event_name" in data and not is_visit.any():
        first = data["redcap_event_name"].iloc[0]
        is_visit = data["redcap_event_name"] != first
    visit_fields = [c for c, f in forms.items() if f in visit_forms and c in data]
    patient_fields = [c for c, f in forms.items() if f not in visit_forms and c in data and c != record_id]
    notes = [f"{records.name}: REDCap export read with its data dictionary {dictionary.name}: "
             f"{int((~is_visit).sum())} record row(s), {int(is_visit.sum())} visit row(s) "
             f"(instrument {', '.join(visit_forms)})"]
    out = {}
    for table, rows, fields in (("patients", ~is_visit, patient_fields), ("visits", is_visit, visit_fields)):
        frame = data.loc[rows, [record_id] + fields].fillna("")
        out[table] = Foreign(records.name, frame, set(), {k: v for k, v in labels.items() if k in fields},
                             notes if table == "patients" else [])
    return out
