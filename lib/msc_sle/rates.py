"""Response rates over the year: responders per visit, during the year and cumulatively, with
Wilson 95% confidence intervals (the numbers behind the response figures).

The numbers are unrounded: what a page prints (percentages rounded half up, the "1/16 (6.3%; 95%
CI ...)" strings) is made by :func:`msc_sle.present.tables.rounded_rates`, the one place rates are
rounded."""
from __future__ import annotations

import math

import pandas as pd

from .stats import wilson_interval

__all__ = ["response_rates", "cumulative_response"]



def _rate_row(label: str, when: str, k: int, n: int, missing: int) -> dict:
    lo, hi = wilson_interval(k, n)
    return {"response": label, "when": when, "n": k, "patients": n, "missing visits": missing,
            "percent": 100.0 * k / n if n else math.nan, "ci_low": 100 * lo, "ci_high": 100 * hi}


def response_rates(results) -> pd.DataFrame:
    """Responders per follow-up month, during the year and at month 12, with Wilson 95% CIs.

    ``results`` is one :class:`msc_sle.clinical.ResponseResult` or a list of them. The denominator is
    every patient (the paper's convention: a missing visit is not a response); ``missing visits``
    counts how many patients lack that visit or the data to classify it, so the reader sees it.
    ``percent``, ``ci_low`` and ``ci_high`` are in percent, unrounded; ``response`` is the
    definition's label with its qualifier (``ResponseDefinition.display_label``).
    """
    if not isinstance(results, (list, tuple)):
        results = [results]
    rows = []
    for res in results:
        p = res.patients
        label = res.definition.display_label
        n = len(p)
        missing = _missing_by_month(res)
        for col in [c for c in p.columns if c.startswith("met_m")]:
            month = int(col[len("met_m"):])
            rows.append(_rate_row(label, f"month {month}", int(p[col].sum()), n, missing.get(month, 0)))
        rows.append(_rate_row(label, "during the year", int(p["ever"].sum()), n, int((p["n_missing"] > 0).sum())))
    return pd.DataFrame(rows)


def _missing_by_month(res) -> dict[int, int]:
    """Patients whose visit of that month is absent or cannot be classified."""
    p, v = res.patients, res.visits
    months = [int(c[len("met_m"):]) for c in p.columns if c.startswith("met_m")]
    known = v if "met" not in v else v[v["met"].notna().to_numpy(dtype=bool)]
    month = known["month"].to_numpy(dtype="int64", na_value=-1)
    ids = known["patient_id"].to_numpy(dtype=object)
    return {m: len(p) - len(set(ids[month == m])) for m in months}


def cumulative_response(results) -> pd.DataFrame:
    """Share of patients who had reached each response by each follow-up month (first_month <= month)."""
    if not isinstance(results, (list, tuple)):
        results = [results]
    rows = []
    for res in results:
        p = res.patients
        months = [int(c[len("met_m"):]) for c in p.columns if c.startswith("met_m")]
        first = p["first_month"]
        for month in [0] + months:
            k = int((first.notna() & (first <= month)).fillna(False).sum())
            lo, hi = wilson_interval(k, len(p))
            rows.append({"response": res.definition.display_label, "month": month, "n": k, "patients": len(p),
                         "percent": 100.0 * k / len(p) if len(p) else math.nan,
                         "ci_low": 100 * lo, "ci_high": 100 * hi})
    return pd.DataFrame(rows)
