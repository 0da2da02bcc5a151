"""The contract's canonical file format, written: ``write_cohort``."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from .dictionary import variables
from .types import Cohort

__all__ = ["write_cohort"]

_LOOKS_GROUPED = re.compile(r"-?[1-9]\d{0,2}\.\d{3}")


def _format_value(value, kind: str) -> str:
    if kind == "boolean":
        return "1" if bool(value) else "0"
    if kind in ("integer", "number"):
        # repr-exact floats, whole numbers without ".0": the file round-trips value for value
        number = float(value)
        if number.is_integer():
            return str(int(number))
        text = repr(number)
        # 1.125 could be read as 1125 with '.' as thousands separator (the loader refuses to guess):
        # 1.1250 is the same number and has one reading only
        return text + "0" if _LOOKS_GROUPED.fullmatch(text) else text
    return str(value)


def _format_column(series: pd.Series, kind: str) -> pd.Series:
    """Canonical text of one column; each distinct value is formatted once (fast on millions of rows)."""
    if kind == "date":
        return pd.to_datetime(series).dt.strftime("%Y-%m-%d").fillna("")
    values = series.astype(object)
    mapping = {v: _format_value(v, kind) for v in pd.unique(values) if not pd.isna(v)}
    return values.map(mapping).astype(object).fillna("")  # an all-missing column maps to float NaN


def write_cohort(cohort: Cohort, folder: str | Path) -> list[Path]:
    """Write ``cohort`` as ``patients.csv`` and ``visits.csv`` in the contract's canonical format.

    Booleans as 1/0, dates as YYYY-MM-DD, empty cells for missing values, UTF-8, ``\\n`` line ends,
    numbers with a decimal point and no thousands separator (1.125 as 1.1250, which no reader can
    take for one thousand one hundred and twenty-five).
    ``load_cohort`` reads the files back to an equal cohort. Each file is written to a temporary
    name and renamed, so a reader never sees half a file.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for table, frame in (("patients", cohort.patients), ("visits", cohort.visits)):
        kinds = {v.name: v.kind for v in variables(table)}
        cols = [n for n in kinds if n in frame]
        out = pd.DataFrame({c: _format_column(frame[c], kinds[c]) for c in cols})
        target = folder / f"{table}.csv"
        tmp = target.with_suffix(".csv.tmp")
        out.to_csv(tmp, index=False, lineterminator="\n", encoding="utf-8")
        tmp.replace(target)
        written.append(target)
    return written
