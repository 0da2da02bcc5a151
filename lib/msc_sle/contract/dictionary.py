"""The data dictionary (``data/dictionary.csv``): one row per variable, the one source of truth
for names, labels as printed in the paper, types, units, allowed values, table sections, default
tests and the level a binary category shows."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import pandas as pd

from .paths import DICTIONARY_PATH

__all__ = ["load_dictionary", "table_variables", "variable_info", "dtype_for", "normal_name", "variable_types", "VISIT_MONTHS", "ID"]

#: The id column of both tables.
ID = "patient_id"
#: Visit schedule of the paper (section 2.4): baseline and 1, 3, 6 and 12 months after the first infusion.
VISIT_MONTHS = (0, 1, 3, 6, 12)


def normal_name(header: str) -> str:
    """A column header as the dictionary spells names: 'Age Years ' -> 'age_years'."""
    return re.sub(r"[\s\-]+", "_", str(header).strip().lower())


@lru_cache(maxsize=4)
def _read_dictionary(path: str) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def load_dictionary(path: str | Path | None = None) -> pd.DataFrame:
    """The data dictionary, one row per variable (a copy: safe to modify).

    Columns: table (patients | visits | derived), name, label (as printed in the paper), type
    (string, integer, number, boolean, category, date), unit, allowed (``lo-hi`` range, ``a|b``
    levels, or ``start..end`` dates), required, section (the Table 1/2 section; empty = not tabulated),
    test (default test), show_level (the level a binary category shows), description.
    """
    return _read_dictionary(str(path or DICTIONARY_PATH)).copy()


def table_variables(table: str, dictionary: pd.DataFrame | None = None) -> pd.DataFrame:
    """Dictionary rows of one table (``patients``, ``visits`` or ``derived``), in file order."""
    d = load_dictionary() if dictionary is None else dictionary
    return d[d["table"] == table].reset_index(drop=True)


def variable_types(table: str) -> dict[str, str]:
    """name -> type (string, integer, number, boolean, category, date) of one table's variables."""
    spec = table_variables(table)
    return dict(zip(spec["name"], spec["type"]))


def variable_info(name: str, table: str | None = None, dictionary: pd.DataFrame | None = None) -> pd.Series:
    """Dictionary row of one variable (patients first, then derived, then visits, unless ``table`` is given)."""
    d = load_dictionary() if dictionary is None else dictionary
    rows = d[d["name"] == name]
    if table is not None:
        rows = rows[rows["table"] == table]
    if rows.empty:
        raise KeyError(f"{name!r} is not in the data dictionary ({DICTIONARY_PATH.name})")
    order = {"patients": 0, "derived": 1, "visits": 2}
    return rows.sort_values("table", key=lambda s: s.map(order)).iloc[0]


def dtype_for(row: pd.Series):
    """The pandas dtype a dictionary row's variable is loaded as."""
    kind = row["type"]
    if kind == "category":
        return pd.CategoricalDtype(row["allowed"].split("|"))
    try:
        return {"string": "string", "integer": "Int64", "number": "float64", "boolean": "boolean",
                "date": "datetime64[ns]"}[kind]
    except KeyError:
        raise ValueError(f"unknown type {kind!r} for {row['name']!r} in the data dictionary") from None
