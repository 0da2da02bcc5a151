"""Disclosure control for circulating results outside the care team (``make share``).

Counts from 1 to ``min_count - 1`` are shown as ``"<min_count"`` and the percentages that would give
them back are blanked, in tables, in the tidy numbers behind them and in response-rate rows.
"""
from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd

from ..present.tables import PublicationTable

__all__ = ["suppress_small_counts", "share_safe", "suppress_rates"]

_COUNT_PERCENT = re.compile(r"^\s*(\d+)\s*(/\s*\d+\s*)?\(\s*[\d.]+\s*%[^)]*\)\s*$")
_COUNT_FRACTION = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def suppress_small_counts(table: pd.DataFrame, min_count: int, columns=None) -> pd.DataFrame:
    """A copy of ``table`` where counts from 1 to ``min_count - 1`` read ``"<min_count"``.

    Cells suppressed: integers (and whole floats in count columns), ``"n (x%)"``, ``"n/N (x%)"`` and
    ``"n/N"`` strings whose n is small; the percentage goes too, since with N it gives n back.
    Zero is shown (it identifies no one). ``min_count`` 0 or 1 returns the table unchanged.
    Only ``columns`` are touched when given (e.g. leave p-values alone; they are never ints anyway).
    """
    if min_count <= 1:
        return table
    out = table.copy()
    label = f"<{min_count}"
    cols = list(out.columns if columns is None else columns)

    def cell(value):
        if isinstance(value, (bool, np.bool_)) or value is None or value is pd.NA:
            return value
        if isinstance(value, (int, np.integer)):
            return label if 0 < value < min_count else value
        if isinstance(value, str):
            m = _COUNT_PERCENT.match(value)
            if m and 0 < int(m.group(1)) < min_count:
                return label if m.group(2) is None else f"{label}{m.group(2).rstrip()}"
            m = _COUNT_FRACTION.match(value)
            if m and 0 < int(m.group(1)) < min_count:
                return f"{label}/{m.group(2)}"
        return value

    for col in cols:
        series = out[col]
        if pd.api.types.is_integer_dtype(series.dtype) or series.dtype == object or \
                pd.api.types.is_string_dtype(series.dtype):
            out[col] = series.astype(object).map(cell)
    return out


_TIDY_COUNT = re.compile(r"_(count|n|n_valid|missing)$")


def share_safe(table, min_count: int):
    """``table`` (a DataFrame or a :class:`~msc_sle.present.tables.PublicationTable`) with small counts suppressed.

    For a publication table both the displayed body and the tidy numbers behind it (its CSV) are
    suppressed: counts 1..min_count-1 read "<min_count" and the matching percentages are blanked.
    """
    if min_count <= 1:
        return table
    if isinstance(table, pd.DataFrame):
        return suppress_small_counts(table, min_count)
    tidy = table.tidy.copy()
    for col in [c for c in tidy.columns if _TIDY_COUNT.search(str(c))]:
        values = pd.to_numeric(tidy[col], errors="coerce").astype("Float64")
        small = ((values > 0) & (values < min_count)).fillna(False).to_numpy(dtype=bool)
        if col.endswith("_count"):
            pct = col[: -len("_count")] + "_pct"
            if pct in tidy:
                tidy[pct] = tidy[pct].astype(object).where(~small, None)
        tidy[col] = tidy[col].astype(object).where(~small, f"<{min_count}")
    notes = tuple(table.footnotes) + (f"Counts from 1 to {min_count - 1} are shown as <{min_count} "
                                      "(small-cell suppression for circulation outside the care team).",)
    return dataclasses.replace(table, body=suppress_small_counts(table.body, min_count), tidy=tidy,
                               footnotes=notes)


def suppress_rates(rates: pd.DataFrame, min_count: int) -> pd.DataFrame:
    """Response-rate rows (:func:`response_rates`, :func:`cumulative_response`) with small counts
    suppressed: ``n`` and ``shown`` read "<min_count" and the percentage and its CI are blanked
    (with the denominator they would give the count back). Figures drawn from the result leave
    those points out."""
    if min_count <= 1:
        return rates
    n = pd.to_numeric(rates["n"], errors="coerce")
    small = ((n > 0) & (n < min_count)).to_numpy(dtype=bool)
    out = suppress_small_counts(rates, min_count, columns=[c for c in ("n", "shown") if c in rates])
    for col in ("percent", "ci_low", "ci_high"):
        if col in out:
            out[col] = out[col].astype(float).where(~small, np.nan)
    return out
