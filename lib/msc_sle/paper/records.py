"""The transcription as plain records, and the vocabulary every check of the paper audit shares.

:func:`records` turns :func:`msc_sle.paper.published.load_published`'s frame into a list of dicts
(filtering a list of ~400 dicts is a hundred times faster than filtering the DataFrame each time);
the look-ups (:func:`rows`, :func:`one`, :func:`group_sizes`, ...) pick rows out of it, and
:func:`finding` builds one row of :func:`msc_sle.paper.audit.paper_audit`'s result. The audit
(:mod:`msc_sle.paper.audit`) and the feasible-set checks (:mod:`msc_sle.paper.feasible`) both use them.
"""
from __future__ import annotations

import math
import re
from functools import lru_cache

import numpy as np
import pandas as pd

from .. import stats
from ..clinical.visits import visit_label
from ..contract import read_dictionary
from ..present.format import format_fixed
from .published import PUBLISHED_COLUMNS, load_published

__all__ = ["AUDIT_COLUMNS", "SEVERITIES", "SPLIT_VARIABLES", "NESTED_COUNTS", "TEST_LABEL", "records", "rows",
           "groups", "is_table", "prefer", "one", "group_sizes", "cohort_size", "overall_count", "p_values", "as_p",
           "fmt_p", "labelled", "finding", "variable_words", "OTHER_LABELS"]

#: Columns of :func:`paper_audit`'s result.
AUDIT_COLUMNS = ("check", "source", "location", "variable", "outcome", "group", "level", "published",
                 "recomputed", "severity", "finding")
SEVERITIES = ("major", "minor", "info")

#: Categorical splits of a continuous variable and the boolean that says who is split:
#: ``split -> (continuous variable, population)``. Prednisone: every patient (Table 2 splits all
#: 69); CYC induction dose: the induced patients only (section 3.2 gives the dose median of the 42).
SPLIT_VARIABLES = {
    "prednisone_dose_group": ("baseline_prednisone_mg", "prior_prednisone"),
    "cyc_induction_dose_group": ("cyc_induction_dose_g", "cyc_induction"),
}

#: ``(subset, superset)`` counts that must nest in any group. CR implies LDA with the paper's
#: thresholds (section 2.4: SLEDAI < 3 and prednisone <= 5 mg/day imply SLEDAI <= 4 and <= 7.5);
#: anti-dsDNA and anti-Sm positivity are items of the ACR 1997 immunologic disorder criterion
#: (Hochberg 1997, criterion 10), so neither can outnumber it.
NESTED_COUNTS = (("cr_ever", "lda_ever"), ("cr_m12", "lda_m12"),
                 ("anti_dsdna", "immunologic_disorder"), ("anti_sm", "immunologic_disorder"))

#: How the findings name the tests of a contingency table.
TEST_LABEL = {"chi2": "Pearson chi-square", "chi2_yates": "Yates-corrected chi-square",
              "fisher": "Fisher's exact test"}
#: Reference order of the sources: Table 1, then Table 2, then other tables, then the text.
SOURCE_ORDER = ("Table 1", "Table 2")


# --- the transcription as plain records -------------------------------------------------------------

def records(published: pd.DataFrame | None) -> list[dict]:
    """The transcription as a list of dicts: ``value`` a float, ``decimals`` an int, text columns ``""``
    when empty."""
    pub = load_published() if published is None else published
    recs = pub.to_dict("records")
    for r in recs:
        r["value"] = float(r["value"])
        r["decimals"] = int(r["decimals"])
        for c in PUBLISHED_COLUMNS:
            if c != "value":
                r[c] = "" if r[c] is None or r[c] is pd.NA else str(r[c])
    return recs


def rows(recs: list[dict], **where) -> list[dict]:
    """Records whose columns equal the given values (a list, tuple or set: any of them)."""
    found = recs
    for c, w in where.items():  # one pass per column over what is left: the audit calls this thousands of times
        allowed = set(w) if isinstance(w, (list, tuple, set)) else {w}
        found = [r for r in found if r[c] in allowed]
    return list(found)


def groups(recs: list[dict], *keys: str) -> dict[tuple, list[dict]]:
    """Records grouped by the values of ``keys``, in order of first appearance."""
    out: dict[tuple, list[dict]] = {}
    for r in recs:
        out.setdefault(tuple(r[k] for k in keys), []).append(r)
    return out


def is_table(source: str) -> bool:
    """Is ``source`` a table (the reference) rather than running text?"""
    return source.startswith("Table")


def prefer(recs: list[dict], source: str | None = None) -> list[dict]:
    """Rows ordered as references: the given source, then Table 1, Table 2, other tables, the text."""
    def rank(r):
        s = r["source"]
        return (s != source, not is_table(s), SOURCE_ORDER.index(s) if s in SOURCE_ORDER else len(SOURCE_ORDER))
    return sorted(recs, key=rank)


def one(recs: list[dict], **where) -> dict | None:
    """The preferred record (:func:`prefer`) among those matching ``where``, or None."""
    found = prefer(rows(recs, **where))
    return found[0] if found else None


def group_sizes(recs: list[dict], source: str, outcome: str) -> dict[str, float] | None:
    """``{"with": n, "without": n}`` of an outcome's comparison: the source's header, else the overall
    count of ``<outcome>_ever`` and the cohort; None when neither is printed."""
    head = rows(recs, source=source, outcome=outcome, location="header", statistic="n")
    sizes = {r["group"]: r["value"] for r in head}
    if {"with", "without"} <= set(sizes):
        return sizes
    ever = one(recs, variable=f"{outcome}_ever", group="all", level="", statistic="n")
    cohort = cohort_size(recs, source)
    if ever is None or cohort is None:
        return None
    return {"with": ever["value"], "without": cohort[0] - ever["value"]}


def cohort_size(recs: list[dict], source: str) -> tuple[float, str] | None:
    """(cohort n, the source printing it), preferring ``source``."""
    found = prefer(rows(recs, variable="n", group="all", statistic="n"), source)
    return (found[0]["value"], found[0]["source"]) if found else None


def overall_count(recs: list[dict], variable: str, level: str) -> dict | None:
    """The whole-cohort count of ``variable`` (at ``level``), a table's first."""
    return one(recs, variable=variable, group="all", level=level, statistic="n")


# --- shared by the checks ---------------------------------------------------------------------------

def p_values(table: np.ndarray) -> dict[str, float]:
    """Pearson, Yates (2x2 only) and Fisher (Fisher-Freeman-Halton beyond 2x2) p of a contingency
    table, and its smallest expected count; NaN when a column is empty or fewer than two rows."""
    out = {"chi2": math.nan, "chi2_yates": math.nan, "fisher": math.nan, "min_expected": math.nan}
    if (table.sum(axis=0) == 0).any() or table.shape[0] < 2 or (table < 0).any():
        return out
    out["chi2"] = stats.pearson_chi2(table).pvalue
    out["min_expected"] = float(stats.expected_counts(table).min())
    if table.shape == (2, 2):
        out["chi2_yates"] = stats.yates_chi2(table).pvalue
        out["fisher"] = stats.fisher_exact(table).pvalue
    else:  # exact enumeration: the same p on every call
        out["fisher"] = stats.fisher_freeman_halton(table).pvalue
    return out


def as_p(printed: str) -> str:
    """A printed p as prose: ``"= 0.03"``, ``"< 0.001"``."""
    return f"< {printed[1:]}" if printed.startswith("<") else f"= {printed}"


def fmt_p(p: float) -> str:
    """A recomputed p-value, to four decimals (one more than the paper's most precise); below that,
    "<0.0001" rather than a p of zero."""
    if p is None or math.isnan(p):
        return "n/a"
    return "<0.0001" if p < 0.00005 else format_fixed(p, 4)


#: Published quantities that are not variables of the data dictionary, as a reader names them.
OTHER_LABELS = {"n": "Number of patients", "no_response": "No response (LDA never reached during the year)",
                "sledai_over_time": "SLEDAI-2K over the five visits", "cr_m12": "CR at month 12",
                "lda_m12": "LDA at month 12"}


@lru_cache(maxsize=1)
def _name_pattern() -> tuple[re.Pattern, dict]:
    from ..clinical.outcomes import DEFINITIONS

    dictionary = read_dictionary()
    labels = {n: dictionary.variable(n).label for n in dictionary.names} | \
        {k: v for k, v in OTHER_LABELS.items() if "_" in k} | \
        {f"{name}_ever": f"{name.upper().replace('_', ' ')} during the year" for name in DEFINITIONS}
    names = sorted((n for n in labels if "_" in n), key=len, reverse=True)
    return re.compile(r"(?<![\w])(" + "|".join(map(re.escape, names)) + r")(?![\w])"), labels


def variable_words(variable: str, level: str = "") -> str:
    """What a published value is about, as the tables label it ("SLEDAI-2K at M3", "Female: F"); a
    visit is named as every table and figure names it (:func:`msc_sle.clinical.visit_label`)."""
    visit = re.fullmatch(r"sledai_m(\d+)", str(variable))
    if visit and visit.group(1) != "0":
        label = f"SLEDAI-2K at {visit_label(int(visit.group(1)))}"
    elif variable in OTHER_LABELS:
        label = OTHER_LABELS[variable]
    else:
        label = _name_pattern()[1].get(str(variable), str(variable).replace("_", " "))
    return f"{label}: {level}" if str(level or "") else label


def labelled(text: str) -> str:
    """``text`` with every dictionary variable name replaced by its label: a finding is read by a
    clinician on the reproduction page, the raw name stays in the finding's ``variable`` column."""
    pattern, labels = _name_pattern()
    return pattern.sub(lambda m: labels[m.group(1)], text)


def finding(check, row=None, *, published="", recomputed=math.nan, severity="info", finding="", **override):
    """One row of the audit (:data:`AUDIT_COLUMNS`): the place columns from ``row``, then ``override``."""
    base = {c: "" for c in AUDIT_COLUMNS}
    if row is not None:
        for c in ("source", "location", "variable", "outcome", "group", "level"):
            if c in row:
                base[c] = row[c]
    base.update(check=check, published=published, recomputed=recomputed, severity=severity,
                finding=labelled(finding))
    base.update(override)
    return base
