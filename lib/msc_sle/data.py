"""The data contract: data dictionary, ``load_cohort`` and ``DataError``.

(Provisional minimal version: validation is being added.)
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd

__all__ = ["Cohort", "DataError", "Problem", "load_cohort", "load_dictionary", "variable_info",
           "DICTIONARY_PATH", "BUNDLED_DATA"]

REPO_ROOT = Path(__file__).resolve().parents[2]
DICTIONARY_PATH = REPO_ROOT / "data" / "dictionary.csv"
BUNDLED_DATA = REPO_ROOT / "data" / "synthetic"
TABLES = ("patients", "visits")


@lru_cache(maxsize=4)
def _read_dictionary(path: str) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def load_dictionary(path: str | Path | None = None) -> pd.DataFrame:
    """The data dictionary as a DataFrame (one row per variable; a copy, safe to modify)."""
    return _read_dictionary(str(path or DICTIONARY_PATH)).copy()


def variable_info(name: str, table: str | None = None, dictionary: pd.DataFrame | None = None) -> pd.Series:
    """Dictionary row of one variable (patients, then derived, then visits unless ``table`` is given)."""
    d = load_dictionary() if dictionary is None else dictionary
    rows = d[d["name"] == name]
    if table is not None:
        rows = rows[rows["table"] == table]
    if rows.empty:
        raise KeyError(f"{name!r} is not in the data dictionary")
    order = {"patients": 0, "derived": 1, "visits": 2}
    return rows.sort_values("table", key=lambda s: s.map(order)).iloc[0]


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | None
    column: str | None
    value: object
    rule: str

    def __str__(self) -> str:
        where = self.file + (f", row {self.row}" if self.row is not None else "")
        where += f", column {self.column!r}" if self.column else ""
        value = "" if self.value is None else f": value {self.value!r}"
        return f"{where}{value}: {self.rule}"


class DataError(ValueError):
    """The extract breaks the data contract; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        lines = [f"{len(self.problems)} problem(s) in the extract:"] + [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Cohort:
    patients: pd.DataFrame
    visits: pd.DataFrame
    source: str = ""
    fingerprint: str = ""
    synthetic: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)


def _dtype(row: pd.Series):
    kind = row["type"]
    if kind == "string":
        return "string"
    if kind == "integer":
        return "Int64"
    if kind == "number":
        return "float64"
    if kind == "boolean":
        return "boolean"
    if kind == "category":
        return pd.CategoricalDtype(row["allowed"].split("|"))
    if kind == "date":
        return "datetime64[ns]"
    raise ValueError(f"unknown type {kind!r} in the data dictionary")


def _cast(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    d = load_dictionary()
    out = frame.copy()
    for _, row in d[d["table"] == table].iterrows():
        if row["name"] in out:
            col = out[row["name"]]
            if row["type"] == "date":
                out[row["name"]] = pd.to_datetime(col)
            else:
                out[row["name"]] = col.astype(_dtype(row))
    return out


def load_cohort(path: str | Path = BUNDLED_DATA) -> Cohort:
    path = Path(path)
    frames = {t: _cast(pd.read_csv(path / f"{t}.csv", dtype=str), t) for t in TABLES}
    digest = hashlib.sha256()
    for t in TABLES:
        digest.update((path / f"{t}.csv").read_bytes())
    manifest = path / "manifest.json"
    synthetic = manifest.exists() and json.loads(manifest.read_text()).get("synthetic", False)
    return Cohort(frames["patients"], frames["visits"], str(path), digest.hexdigest(), bool(synthetic))
