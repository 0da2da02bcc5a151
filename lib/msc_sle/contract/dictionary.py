"""The data dictionary (``data/dictionary.csv``): one row per variable, the one source of truth
for names, labels as printed in the paper, types, units, allowed values, table sections, default
tests and the level a binary category shows.

The file is read here and nowhere else: :func:`read_dictionary` parses it once (per path and
modification time) into frozen :class:`Variable` records, and every consumer asks
:func:`variable` / :func:`variables` for them. A consumer that must follow a dictionary other than
``data/dictionary.csv`` (a centre's extended copy, a test's temporary one) is handed it explicitly
(a :class:`Dictionary`, or its path) through its ``dictionary=`` argument; there is no module state
to set.
"""
from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd

from .paths import DICTIONARY_PATH
from .types import DataError, Problem

__all__ = ["Variable", "Dictionary", "read_dictionary", "as_dictionary", "variable", "variables",
           "load_dictionary", "table_variables", "dtype_for", "normal_name", "variable_types",
           "VISIT_MONTHS", "ID", "KINDS", "DICTIONARY_TABLES", "LOOKUP_ORDER"]

#: The id column of both tables.
ID = "patient_id"
#: Visit schedule of the paper (section 2.4): baseline and 1, 3, 6 and 12 months after the first infusion.
VISIT_MONTHS = (0, 1, 3, 6, 12)
#: The dictionary's types, and the analysis measure each one is (None: described, never compared).
KINDS = {"string": None, "date": None, "integer": "continuous", "number": "continuous",
         "boolean": "categorical", "category": "categorical"}
#: The tables a variable belongs to: the extract's two, and the analysis frame's derived columns.
DICTIONARY_TABLES = ("patients", "visits", "derived")
#: Which table a name is looked up in first when no table is given (:func:`variable`). A name in
#: several tables (``fever``: a baseline symptom and a SLEDAI-2K descriptor) means the patient-level
#: variable, the one Tables 1 and 2 and the models describe; then a derived column of the analysis
#: frame; a per-visit descriptor only when nothing else has the name.
LOOKUP_ORDER = ("patients", "derived", "visits")
_COLUMNS = ("table", "name", "label", "type", "unit", "allowed", "required", "section", "test", "show_level",
            "applies_if", "applies_to", "timing", "description")
_DTYPES = {"string": "string", "integer": "Int64", "number": "float64", "boolean": "boolean",
           "date": "datetime64[ns]"}


def normal_name(header: str) -> str:
    """A column header as the dictionary spells names: 'Age Years ' -> 'age_years'."""
    return re.sub(r"[\s\-]+", "_", str(header).strip().lower())


@dataclass(frozen=True)
class Variable:
    """One variable of the data dictionary, typed.

    ``kind`` is the dictionary's type (string, integer, number, boolean, category, date);
    ``levels`` the allowed values of a category (or of an integer given as ``a|b``), in printed
    order; ``value_range`` the ``(lo, hi)`` of a number or integer; ``date_range`` the ``(first,
    last)`` of a date as the dictionary writes them (``last`` may be ``"today"``, resolved when an
    extract is read). Text fields the dictionary leaves empty are ``""``.
    """

    name: str
    table: str
    label: str
    kind: str
    unit: str = ""
    levels: tuple | None = None
    value_range: tuple[float, float] | None = None
    date_range: tuple[str, str] | None = None
    required: bool = False
    #: the Table 1/2 section ("" = not tabulated)
    section: str = ""
    #: "auto" or a test name of ``msc_sle.compare.TEST_NAMES`` ("" = not tabulated)
    default_test: str = ""
    #: the level a binary category shows ("Female" shows F)
    show_level: str = ""
    #: "" (everyone), "recorded" (an empty value = not applicable) or a boolean column
    applies_if: str = ""
    #: who the variable applies to, as printed ("biopsied")
    applies_to: str = ""
    #: "baseline", "follow-up", "outcome" or ""
    timing: str = ""
    description: str = ""

    @property
    def measure(self) -> str | None:
        """How the variable is analysed: ``"categorical"`` (boolean, category), ``"continuous"``
        (integer, number) or None (string, date: never compared)."""
        return KINDS[self.kind]

    @property
    def dtype(self):
        """The pandas dtype the variable is loaded as (README, "Dtypes")."""
        if self.kind == "category":
            return pd.CategoricalDtype(list(self.levels or ()))
        return _DTYPES[self.kind]

    @property
    def display_label(self) -> str:
        """The label, or the name where the dictionary gives none."""
        return self.label or self.name


@dataclass(frozen=True)
class Dictionary:
    """A data dictionary read: its :class:`Variable` records in file order, and where they came from."""

    path: str
    entries: tuple[Variable, ...]
    _index: dict = field(init=False, repr=False, compare=False)

    def variables(self, table: str | None = None) -> tuple[Variable, ...]:
        """The variables of one table (``patients``, ``visits``, ``derived``), or all, in file order."""
        if table is not None and table not in DICTIONARY_TABLES:
            raise ValueError(f"unknown table {table!r}; the data dictionary has {', '.join(DICTIONARY_TABLES)}")
        return tuple(v for v in self.entries if table is None or v.table == table)

    def characteristics(self) -> tuple[Variable, ...]:
        """The rows of the paper's tables other than the outcomes: every patients, then derived,
        variable with a table ``section`` other than "Outcome", in file order."""
        return tuple(v for t in ("patients", "derived") for v in self.variables(t)
                     if v.section and v.section != "Outcome")

    def variable(self, name: str, table: str | None = None) -> Variable:
        """The variable called ``name``: in ``table`` if given, else the first table of
        :data:`LOOKUP_ORDER` (patients, derived, visits) that has it. ``KeyError`` if none has."""
        found = self.get(name, table)
        if found is None:
            where = f" table {table!r} of" if table else ""
            raise KeyError(f"{name!r} is not in{where} the data dictionary ({Path(self.path).name})")
        return found

    def get(self, name: str, table: str | None = None) -> Variable | None:
        """:meth:`variable`, or None for a name the dictionary does not have."""
        return self._index.get((name, table))

    def __contains__(self, name: str) -> bool:
        return (name, None) in self._index

    @property
    def names(self) -> tuple[str, ...]:
        """Every name, once, in file order."""
        return tuple(dict.fromkeys(v.name for v in self.entries))

    def __post_init__(self):
        index = {(v.name, v.table): v for v in self.entries}
        rank = {t: i for i, t in enumerate(LOOKUP_ORDER)}
        for v in sorted(self.entries, key=lambda v: rank[v.table]):
            index.setdefault((v.name, None), v)
        object.__setattr__(self, "_index", index)


def _parse(file: str, row_number: int, row: dict, problems: list[Problem]) -> Variable | None:
    def bad(column: str, rule: str) -> None:
        problems.append(Problem(file, row_number, column, row.get(column, ""), rule))

    kind, allowed, name = row["type"], row["allowed"], row["name"]
    before = len(problems)
    if row["table"] not in DICTIONARY_TABLES:
        bad("table", f"not one of {', '.join(DICTIONARY_TABLES)}")
    if normal_name(name) != name or not name:
        bad("name", "not a dictionary name (lower case, words joined by '_')")
    if kind not in KINDS:
        bad("type", f"not one of {', '.join(KINDS)}")
    if row["required"] not in ("yes", "no", ""):
        bad("required", "not yes, no or empty")
    levels = value_range = date_range = None
    if kind in ("category", "integer") and "|" in allowed:
        levels = tuple(allowed.split("|"))
        if kind == "integer":
            try:
                levels = tuple(int(v) for v in levels)
            except ValueError:
                bad("allowed", "an integer's levels must be whole numbers separated by '|'")
    elif kind == "category":
        bad("allowed", "a category lists its levels separated by '|'")
    elif kind in ("number", "integer") and allowed:
        m = re.fullmatch(r"(-?[\d.]+)-(-?[\d.]+)", allowed)
        try:
            value_range = (float(m.group(1)), float(m.group(2))) if m else None
        except ValueError:
            value_range = None
        if value_range is None or value_range[0] > value_range[1]:
            bad("allowed", "a range is written lo-hi with lo <= hi")
    elif kind == "date" and allowed:
        lo, sep, hi = allowed.partition("..")
        try:
            for end in (lo, hi):
                if end and end != "today":
                    dt.date.fromisoformat(end)
            if not sep:
                raise ValueError
            date_range = (lo, hi)
        except ValueError:
            bad("allowed", "a date span is written YYYY-MM-DD..YYYY-MM-DD (or ..today)")
    elif allowed and kind in KINDS:
        bad("allowed", f"a {kind} variable takes no allowed values")
    if row["show_level"] and kind == "category" and levels and row["show_level"] not in levels:
        bad("show_level", f"not one of the levels {', '.join(levels)}")
    if len(problems) > before:
        return None
    return Variable(name=name, table=row["table"], label=row["label"], kind=kind, unit=row["unit"], levels=levels,
                    value_range=value_range, date_range=date_range, required=row["required"] == "yes",
                    section=row["section"], default_test=row["test"], show_level=row["show_level"],
                    applies_if=row["applies_if"], applies_to=row["applies_to"], timing=row["timing"],
                    description=row["description"])


@lru_cache(maxsize=8)
def _read(path: str, mtime_ns: int) -> tuple[pd.DataFrame, Dictionary]:
    file = Path(path).name
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    absent = [c for c in _COLUMNS if c not in frame.columns]
    if absent:
        raise DataError([Problem(file, None, c, None, "dictionary column missing") for c in absent])
    problems: list[Problem] = []
    entries = []
    seen = set()
    # row 1 is the header, as a spreadsheet numbers it
    for i, row in enumerate(frame[list(_COLUMNS)].to_dict("records"), start=2):
        v = _parse(file, i, row, problems)
        if v is not None:
            if (v.name, v.table) in seen:
                problems.append(Problem(file, i, "name", v.name, f"named twice in the {v.table} table"))
            seen.add((v.name, v.table))
            entries.append(v)
    if problems:
        raise DataError(problems)
    return frame, Dictionary(path, tuple(entries))


def _source(path: str | Path | None) -> tuple[str, int]:
    path = str(path or DICTIONARY_PATH)
    return path, os.stat(path).st_mtime_ns


def read_dictionary(path: str | Path | None = None) -> Dictionary:
    """The data dictionary at ``path`` (default ``data/dictionary.csv``) as :class:`Variable` records.
    A malformed row raises :class:`DataError` naming its row, column, value and rule."""
    return _read(*_source(path))[1]


def as_dictionary(dictionary=None) -> Dictionary:
    """What a ``dictionary=`` argument may be: None (``data/dictionary.csv``), a path, or a
    :class:`Dictionary`."""
    if isinstance(dictionary, Dictionary):
        return dictionary
    if isinstance(dictionary, pd.DataFrame):
        raise TypeError("pass the dictionary's path or read_dictionary(path), not a DataFrame")
    return read_dictionary(dictionary)


def variable(name: str, table: str | None = None, dictionary=None) -> Variable:
    """The :class:`Variable` called ``name``. Without ``table`` a name in several tables resolves in
    :data:`LOOKUP_ORDER`: patients, then derived, then visits. ``KeyError`` for an unknown name."""
    return as_dictionary(dictionary).variable(name, table)


def variables(table: str | None = None, dictionary=None) -> tuple[Variable, ...]:
    """The variables of ``table`` (``patients``, ``visits``, ``derived``), or all, in file order."""
    return as_dictionary(dictionary).variables(table)


def load_dictionary(path: str | Path | None = None) -> pd.DataFrame:
    """The data dictionary as the file holds it, one row of text per variable (a copy: safe to modify).

    For a page that prints the dictionary itself; an analysis asks :func:`variable` instead.
    Columns: table (patients | visits | derived), name, label (as printed in the paper), type
    (string, integer, number, boolean, category, date), unit, allowed (``lo-hi`` range, ``a|b``
    levels, or ``start..end`` dates), required, section (the Table 1/2 section; empty = not tabulated),
    test (default test), show_level (the level a binary category shows), description.
    """
    return _read(*_source(path))[0].copy()


def table_variables(table: str, dictionary=None) -> pd.DataFrame:
    """One table's rows of the dictionary as the file writes them, in file order: the text the
    loader's cell parser reads (``dictionary``: a path or :class:`Dictionary`)."""
    d = load_dictionary(as_dictionary(dictionary).path)
    return d[d["table"] == table].reset_index(drop=True)


def variable_types(table: str, dictionary=None) -> dict[str, str]:
    """name -> type (string, integer, number, boolean, category, date) of one table's variables."""
    return {v.name: v.kind for v in variables(table, dictionary)}


def dtype_for(row):
    """The pandas dtype a variable (a :class:`Variable`, or a dictionary row) is loaded as."""
    if isinstance(row, Variable):
        return row.dtype
    kind = row["type"]
    if kind == "category":
        return pd.CategoricalDtype(row["allowed"].split("|"))
    try:
        return _DTYPES[kind]
    except KeyError:
        raise ValueError(f"unknown type {kind!r} for {row['name']!r} in the data dictionary") from None
