"""Disclosure control for circulating results outside the care team (``make share``).

The rules (``docs/disclosure.md``; the cell-suppression method of the Handbook on Statistical
Disclosure Control, Hundepool et al., 2nd ed. 2024):

- **primary suppression**: every count of patients (or visits) from 1 to ``min_count - 1`` is shown
  as ``"<min_count"``; with ``zero`` (parameter ``share_suppress_zero``, default true) a zero count
  of patients with a characteristic, response or exclusion too (it says that *every* patient of
  the group is in the other categories). Zero counts of missing data (values not recorded, visits
  not made) stay shown.
- **complementary suppression**: further counts are withheld, shown as ``"[c]"``, until no
  sensitive count can be worked out from what is published: the levels of a variable add up to
  the patients with it recorded, recorded + missing to the group, the groups to the cohort (Table 1
  = Table 2's two columns), running totals lose the excluded, a rate's n and the patients without
  the response add up to the cohort. Each decision is audited exactly (:mod:`.ledger`).
- **derived values**: a percentage is shown only when its count and its denominator are; a
  p-value, test statistic, effect size, confidence interval or note computed from a withheld
  count is withheld (``"[c]"``), and so is a q-value that equals what a withheld p-value would give.

Every page of a shared bundle applies one protection: :func:`share_plan` registers every count the
analysis pages print (Table 1, Table 2, the CR and LDA comparisons behind the reproduction and the
explorer, response rates, cumulative response, SLEDAI-2K per visit, the Wilcoxon and Friedman
counts) with its relations and decides once; each notebook builds the same plan from the same data
and reads its own tables through it. :func:`flow_plan` does the same for the patient flow of
``01_cohort`` (attrition, exclusion reasons, visit completeness). With ``small_cell_min`` <= 1 both
return tables unchanged.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..present.tables import PublicationTable, relayout
from .ledger import (COMPLEMENTARY, IMPLICIT, MISSING, PRIMARY, PUBLISHED, DisclosureError, DisclosureWarning,
                     Ledger)

__all__ = ["MARK_C", "small_label", "suppress_small_counts", "share_safe", "suppress_rates", "share_plan",
           "flow_plan", "SharePlan", "FlowPlan", "shown_count", "share_refusal", "DisclosureError", "DisclosureWarning",
           "Ledger"]


def _protect(ledger: Ledger) -> None:
    """Decide, and say so when some small counts are given back by counts that are always printed."""
    ledger.protect()
    if ledger.unavoidable:
        import warnings

        warnings.warn(f"make share: {len(ledger.unavoidable)} small count(s) can be worked out from counts that are "
                      "always printed (the cohort sizes, zero missing-data counts), e.g. no patient excluded by a "
                      "criterion when the extract and the analysed cohort have the same size; they read as withheld "
                      "but nothing can hide them (docs/disclosure.md, Limits)", DisclosureWarning, stacklevel=3)

def share_refusal(cohort, params) -> str | None:
    """Why this cohort cannot be shared at ``params["small_cell_min"]`` (None: it can).

    ``cohort`` is the extract as loaded. A plan whose audit still pins a withheld count after
    complementary suppression (e.g. 8 patients analysed in two groups that are both below the
    threshold: both are 4) would print a bundle that claims a protection it lacks, so ``make share``
    refuses it whole (docs/disclosure.md, rule 8)."""
    import warnings

    from ..clinical import apply_eligibility

    if int(params["small_cell_min"]) <= 1:
        return None
    eligibility = apply_eligibility(cohort)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DisclosureWarning)
        plans = {"the patient flow (01_cohort)": flow_plan(cohort, eligibility, params),
                 "the analysis pages (02-06)": share_plan(eligibility.cohort, None, params)}
    found = [(where, key, plan.ledger.value(key)) for where, plan in plans.items()
             for key in (getattr(plan, "ledger", None).unavoidable if getattr(plan, "ledger", None) else ())]
    # "nobody excluded" when every patient of the extract is eligible: the two printed cohort sizes say
    # it already, and the eligibility criteria are the study's, not a patient's (docs/disclosure.md, Limits)
    found = [(w, k, v) for w, k, v in found if not (k[0] in ("excluded", "excl-missing") and v == 0)]
    if not found:
        return None
    where = sorted({w for w, _, _ in found})
    return (f"make share: this extract cannot be shared at SHARE_MIN={int(params['small_cell_min'])}: "
            f"{len(found)} withheld count(s) of {' and '.join(where)} can be worked out exactly from the counts "
            f"every bundle prints (the patients analysed, the groups' sizes), whatever else is withheld, "
            f"e.g. {_describe_key(found[0][1])}. The cohort is too small for this threshold: share it only "
            "inside the care team (make run), or with more patients; no bundle was written "
            "(docs/disclosure.md, rule 8).")


def _describe_key(key) -> str:
    """A ledger key in words, without its value (the message must not print the count it protects)."""
    def flat(k):
        return [x for part in k for x in flat(part)] if isinstance(k, tuple) else [str(k)]
    return "the count " + " / ".join(x for x in flat(key) if x != "count")


#: Marker of a count withheld so that no small count can be worked out, and of a derived value
#: (percentage, p, OR, ...) computed from a withheld count.
MARK_C = "[c]"


def small_label(min_count: int) -> str:
    """The marker of a small count: ``"<5"`` for ``min_count`` 5."""
    return f"<{min_count}"


def _footnote(min_count: int, zero: bool) -> str:
    zero_text = " and zero counts of patients with a characteristic or response" if zero else ""
    return (f"Shared bundle: counts from 1 to {min_count - 1}{zero_text} are shown as <{min_count}; "
            f"{MARK_C}: a count withheld so that no <{min_count} can be worked out from the others, or a "
            "percentage, p-value, effect size, median or quartile computed from a withheld count; minima and "
            "maxima are not shown; q-values (and Holm-adjusted p) take every withheld p-value as 1 "
            "(the appendix explains how).")


def shown_count(value: int, min_count: int, *, zero: bool = False, of: int | None = None) -> str:
    """A count for a sentence: ``"<5"`` when small (or zero, with ``zero``); ``"[c]"`` when ``of`` is the
    total and the rest (``of - value``) would be small; else the number. For counts that appear in no
    table; counts of a protected table are read from its plan (:class:`SharePlan`, :class:`FlowPlan`)."""
    if min_count <= 1:
        return str(int(value))
    def small(v):
        return 0 < v < min_count or (zero and v == 0)
    if small(value):
        return small_label(min_count)
    if of is not None and small(of - value):
        return MARK_C
    return str(int(value))


# --------------------------------------------------------------------------------------------
# standalone tables (no plan): primary suppression, and complementary within the table
# --------------------------------------------------------------------------------------------
_COUNT_PERCENT = re.compile(r"^\s*(\d+)\s*(/\s*\d+\s*)?\(\s*[\d.]+\s*%[^)]*\)\s*$")
_COUNT_FRACTION = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def suppress_small_counts(table: pd.DataFrame, min_count: int, columns=None, *, zero: bool = False) -> pd.DataFrame:
    """Primary suppression only: a copy of ``table`` where counts from 1 to ``min_count - 1`` (and 0
    with ``zero``) read ``"<min_count"``.

    Cells suppressed: integers, ``"n (x%)"``, ``"n/N (x%)"`` and ``"n/N"`` strings whose n is small;
    the percentage goes too, since with N it gives n back. Only ``columns`` are touched when given.
    This does not protect a count that the table's totals give back: a table with totals goes
    through :func:`share_safe` or a plan. ``min_count`` 0 or 1 returns the table unchanged.
    """
    if min_count <= 1:
        return table
    out = table.copy()
    label = small_label(min_count)
    cols = list(out.columns if columns is None else columns)

    def small(v: int) -> bool:
        return 0 < v < min_count or (zero and v == 0)

    def cell(value):
        if isinstance(value, (bool, np.bool_)) or value is None or value is pd.NA:
            return value
        if isinstance(value, (int, np.integer)):
            return label if small(int(value)) else value
        if isinstance(value, str):
            m = _COUNT_PERCENT.match(value)
            if m and small(int(m.group(1))):
                return label if m.group(2) is None else f"{label}{m.group(2).rstrip()}"
            m = _COUNT_FRACTION.match(value)
            if m and small(int(m.group(1))):
                return f"{label}/{m.group(2)}"
        return value

    for col in cols:
        series = out[col]
        if pd.api.types.is_integer_dtype(series.dtype) or series.dtype == object or \
                pd.api.types.is_string_dtype(series.dtype):
            out[col] = series.astype(object).map(cell)
    return out


def share_safe(table, min_count: int, *, zero: bool = False, complementary: bool = True):
    """``table`` with small counts withheld, on its own (no plan).

    A :class:`~msc_sle.present.tables.PublicationTable` made by ``table_one`` or ``comparison_table``
    gets primary and complementary suppression within its own relations (levels, missing, group
    sizes; derived values withheld), in the tidy numbers (CSV) and the displayed body alike. A
    DataFrame gets primary suppression (:func:`suppress_small_counts`). A table that shares counts
    with other tables of a bundle must go through the bundle's plan (:func:`share_plan`) instead.
    """
    if min_count <= 1:
        return table
    if isinstance(table, pd.DataFrame):
        return suppress_small_counts(table, min_count, zero=zero)
    ledger = Ledger(min_count, zero=zero, complementary=complementary)
    tidy = _all_levels(table.tidy)
    prefixes = _prefixes(tidy)
    ledger.add(("N",), _group_total(tidy, prefixes), fixed=True)
    cols = {}
    for p in prefixes:
        col = (p,)
        cols[p] = col
        if len(prefixes) > 1:
            ledger.add(("size", col), int(tidy[f"{p}_n"].iloc[0]), tier=2)
    if len(prefixes) > 1:
        ledger.relate({("size", cols[p]): 1 for p in prefixes} | {("N",): -1})
    sizes = {p: (("size", cols[p]) if len(prefixes) > 1 else ("N",)) for p in prefixes}
    _add_tidy(ledger, tidy, cols, sizes, _dictionary_levels)
    protected = _protect_tidy(ledger, tidy, cols, sizes, min_count)
    return relayout(table, protected, footnotes=(_footnote(min_count, zero),), spread="iqr")


def suppress_rates(rates: pd.DataFrame, min_count: int, *, zero: bool = False, complementary: bool = True
                   ) -> pd.DataFrame:
    """Response-rate rows (:func:`~msc_sle.rates.response_rates`, :func:`~msc_sle.rates.cumulative_response`)
    with small counts withheld on their own (no plan): ``n`` reads ``"<5"`` (or ``"[c]"`` when the
    patients without the response would be few), ``missing visits`` likewise, and the percentage,
    its CI and ``shown`` lose what would give the count back."""
    if min_count <= 1:
        return rates
    ledger = Ledger(min_count, zero=zero, complementary=complementary)
    keys = _add_rate_rows(ledger, rates, "rates")
    ledger.protect()
    return _rate_view(ledger, rates, keys, min_count)


# --------------------------------------------------------------------------------------------
# registering the counts of a described / compared table
# --------------------------------------------------------------------------------------------
def _prefixes(tidy: pd.DataFrame) -> list[str]:
    return [c[: -len("_n_valid")] for c in tidy.columns if str(c).endswith("_n_valid")]


def _group_total(tidy, prefixes) -> int:
    return int(sum(int(tidy[f"{p}_n"].iloc[0]) for p in prefixes))


def _level_key(level) -> str:
    return str(level)


def _dictionary_levels(variable: str, series_levels=None):
    """The allowed levels of a dictionary variable (booleans: True, False), None when unknown."""
    from ..contract import read_dictionary

    var = read_dictionary().get(variable)
    if var is not None and var.kind == "boolean":
        return [True, False]
    if var is not None and var.kind == "category":
        return list(var.levels)
    return None


def _all_levels(tidy: pd.DataFrame) -> pd.DataFrame:
    """``tidy`` with a row for every dictionary level of a many-level category, those nobody has
    included (count 0). A table that leaves out the levels nobody has says they are 0 (docs/disclosure.md);
    listed, they are withheld like any small count. A variable with no value recorded at all keeps its
    one row (level None)."""
    from ..contract import read_dictionary

    dictionary = read_dictionary()
    parts, changed = [], False
    for variable, rows in tidy.groupby("variable", sort=False):
        first = rows.iloc[0]
        listed = [_level_key(lv) for lv in rows["level"] if not _no_level(lv)] \
            if first["type"] == "categorical" else []
        allowed = _dictionary_levels(variable) if listed else None
        show_level = getattr(dictionary.get(variable), "show_level", "") if listed else ""
        if not allowed or len(allowed) <= 2 or show_level or \
                set(listed) >= {_level_key(a) for a in allowed}:
            parts.append(rows)
            continue
        by_level = {_level_key(lv): r for lv, (_, r) in zip(rows["level"], rows.iterrows())}
        added = []
        for level in allowed:
            row = by_level.get(_level_key(level))
            if row is None:
                row = first.copy()
                row["level"] = level
                for c in tidy.columns:
                    if str(c).endswith("_count"):
                        row[c] = 0
                    elif str(c).endswith("_pct"):
                        n_valid = first[c[: -len("_pct")] + "_n_valid"]
                        row[c] = 0.0 if pd.notna(n_valid) and n_valid else np.nan
            added.append(row)
        parts.append(pd.DataFrame(added, columns=tidy.columns))
        changed = True
    if not changed:
        return tidy
    out = pd.concat(parts, ignore_index=True)
    for c in tidy.columns:
        if str(tidy[c].dtype) != str(out[c].dtype):
            try:
                out[c] = out[c].astype(tidy[c].dtype)
            except (TypeError, ValueError):
                pass
    return out


def _rest_key(listed: list, allowed) -> str:
    """Name of the count a reader works out as n_valid minus the listed levels: the other level of a
    two-level variable, else "~rest" (levels not listed, e.g. never observed)."""
    if allowed is not None:
        others = [a for a in allowed if _level_key(a) not in listed]
        if len(others) == 1:
            return _level_key(others[0])
    return "~rest"


def _add_tidy(ledger: Ledger, tidy: pd.DataFrame, cols: Mapping[str, Any], sizes: Mapping[str, Any], levels_of,
              shown: bool = True) -> None:
    """Register the counts of a ``describe`` / ``summarise`` tidy frame: per column ``cols[prefix]``
    and variable, each listed level, the rest (n_valid minus the listed levels, never printed),
    n_valid and missing, with their relations to the column's size ``sizes[prefix]``."""
    for variable, rows in tidy.groupby("variable", sort=False):
        first = rows.iloc[0]
        categorical = first["type"] == "categorical"
        listed = [_level_key(lv) for lv in rows["level"] if not _no_level(lv)] if categorical else []
        allowed = levels_of(variable) if categorical else None
        for p, col in cols.items():
            nv, ms = ("n_valid", col, variable), ("missing", col, variable)
            ledger.add(nv, int(first[f"{p}_n_valid"]), tier=1, shown=shown)  # 0 recorded: of the whole group
            ledger.add(ms, int(first[f"{p}_missing"]), kind=MISSING, tier=1, shown=shown)
            if _applies_to_some(first):
                # recorded + missing = the patients it applies to ("n = 11 biopsied", printed beside the
                # label); the others (not applicable) are the rest of the group, never printed
                na, rest = ("n_applicable", col, variable), ("not_applicable", col, variable)
                ledger.add(na, int(first[f"{p}_n_applicable"]), tier=1, shown=shown)
                ledger.add(rest, int(ledger.value(sizes[p])) - int(first[f"{p}_n_applicable"]), shown=False)
                ledger.relate({nv: 1, ms: 1, na: -1})
                ledger.relate({na: 1, rest: 1, sizes[p]: -1})
            else:
                ledger.relate({nv: 1, ms: 1, sizes[p]: -1})
            if not categorical:
                continue
            terms = {nv: -1.0}
            total = 0
            for _, r in rows.iterrows():
                if _no_level(r["level"]):
                    continue
                key = ("count", col, variable, _level_key(r["level"]))
                ledger.add(key, int(r[f"{p}_count"]), shown=shown)
                terms[key] = 1.0
                total += int(r[f"{p}_count"])
            rest = int(first[f"{p}_n_valid"]) - total
            has_rest = (len(allowed) > len(listed)) if allowed is not None else (len(listed) == 1 or rest > 0)
            if has_rest:
                key = ("count", col, variable, _rest_key(listed, allowed))
                ledger.add(key, rest, shown=False)
                terms[key] = 1.0
            ledger.relate(terms)


def _applies_to_some(row) -> bool:
    """A variable the data dictionary applies to some patients only (``applies_to``, e.g. the
    nephritis class of the biopsied)."""
    who = row.get("applies_to", "")
    return isinstance(who, str) and bool(who)


def _no_level(level) -> bool:
    return level is None or (isinstance(level, float) and math.isnan(level))


def _cross(ledger: Ledger, whole, parts: list) -> None:
    """Relations ``whole = sum(parts)`` for every count registered in the whole column and its parts."""
    for key in list(ledger.keys()):
        if len(key) >= 3 and key[0] in ("count", "n_valid", "missing", "n_applicable") and key[1] == whole:
            part_keys = [(key[0], p) + key[2:] for p in parts]
            if all(k in ledger for k in part_keys):
                ledger.relate({key: 1.0} | {k: -1.0 for k in part_keys})


def _published(status: str) -> bool:
    return status in (PUBLISHED, IMPLICIT)


def _mark(ledger: Ledger, key, min_count: int):
    s = ledger.status(key)
    if s == PRIMARY:
        return small_label(min_count)
    if s == COMPLEMENTARY:
        return MARK_C
    return None


_DERIVED = ("statistic", "df", "p_value", "ref_p_value", "effect_estimate", "effect_ci_low", "effect_ci_high",
            "q_value")


def _protect_tidy(ledger: Ledger, tidy: pd.DataFrame, cols: Mapping[str, Any], sizes: Mapping[str, Any],
                  min_count: int) -> pd.DataFrame:
    """``tidy`` with the ledger's markers: counts, n_valid, missing, group sizes (and the patients a
    variable applies to, which are the group size for most variables); percentages whose count or
    denominator is withheld blanked; order statistics as :func:`_order_statistics` allows; derived
    values of a variable with any withheld count (or withheld group size) replaced by ``"[c]"``, a
    "not testable" of such a variable too (its reason, "all patients had it", would say the count);
    q-values as :func:`_share_q` computes them."""
    ledger.protect()
    out = tidy.copy()
    for c in out.columns:
        if any(str(c).endswith(s) for s in ("_n", "_n_applicable", "_n_valid", "_missing", "_count", "_pct")) \
                or any(str(c).endswith(s) for s in _ORDER_STATISTICS) or c in _DERIVED or c in ("note", "test"):
            out[c] = out[c].astype(object)
    withheld_vars = set()
    applies = tidy.apply(_applies_to_some, axis=1) if len(tidy) else pd.Series(dtype=bool)
    for p, col in cols.items():
        size_mark = _mark(ledger, sizes[p], min_count) if sizes[p] in ledger else None
        if size_mark is not None:
            out[f"{p}_n"] = size_mark
            if f"{p}_n_applicable" in out:
                # everyone the variable applies to = the whole group, printed on every row
                out.loc[~applies, f"{p}_n_applicable"] = size_mark
            withheld_vars.update(out["variable"])
        for i, r in tidy.iterrows():
            variable = r["variable"]
            marks = {}
            fields = [("n_valid", ("n_valid", col, variable)), ("missing", ("missing", col, variable))]
            if _applies_to_some(r):
                fields.append(("n_applicable", ("n_applicable", col, variable)))
            for field_, key in fields:
                m = _mark(ledger, key, min_count)
                if m is not None:
                    out.at[i, f"{p}_{field_}"] = m
                    marks[field_] = m
            if r["type"] == "categorical" and not _no_level(r["level"]):
                m = _mark(ledger, ("count", col, variable, _level_key(r["level"])), min_count)
                if m is not None:
                    out.at[i, f"{p}_count"] = m
                    marks["count"] = m
                if marks.get("count") or marks.get("n_valid"):
                    out.at[i, f"{p}_pct"] = None
            elif r["type"] == "continuous":
                key = ("n_valid", col, variable)
                _order_statistics(out, i, p, ledger.status(key) == PUBLISHED and ledger.value(key) >= min_count)
            if marks:
                withheld_vars.add(variable)
    derived = [c for c in _DERIVED if c in out.columns]
    if derived and len(cols) > 1:
        rows = out["variable"].isin(withheld_vars)
        untested = tidy["test"].astype(str).str.startswith("not testable") if "test" in tidy \
            else pd.Series(False, index=tidy.index)
        for c in derived:
            out.loc[rows & (tidy[c].notna() | untested), c] = MARK_C
        if "test" in out.columns:
            # "n.t.: all patients had it" says a withheld count is the whole group: read like a withheld p
            out.loc[rows & untested, "test"] = MARK_C
            out.loc[rows & untested, "p_value"] = MARK_C
        if "note" in out.columns:
            out.loc[rows & tidy["note"].fillna("").astype(str).ne(""), "note"] = MARK_C
        if "q_value" in out.columns:
            _share_q(out)
    return out


#: The order statistics of a continuous variable (per group prefix).
_ORDER_STATISTICS = ("_median", "_q1", "_q3", "_min", "_max")


def _order_statistics(out: pd.DataFrame, i, prefix: str, printed: bool) -> None:
    """The one rule for order statistics in a shared bundle (docs/disclosure.md): the minimum and the
    maximum are never printed (each is one patient's value, and beside a threshold count, e.g. the
    patients below 20 mg of prednisone, a minimum above the cut says that count is 0); the median and
    the quartiles only for a group whose number of values is printed and at least the threshold
    (type-6 quartiles of n >= 3 values lie at least one position apart, so they bound a count below a
    cut to an interval, never to one value), else ``"[c]"``."""
    name = (lambda stat: f"{prefix}_{stat}") if prefix else (lambda stat: stat)
    for stat in ("min", "max"):
        c = name(stat)
        if c in out:
            out.at[i, c] = None
    if not printed:
        for stat in ("median", "q1", "q3"):
            c = name(stat)
            if c in out and pd.notna(out.at[i, c]):
                out.at[i, c] = MARK_C


def _share_q(out: pd.DataFrame) -> None:
    """q-values that say nothing of a withheld p-value: a q-value depends on the rank of its p among
    every p of its family, so once one p is withheld every q of the family would give its rank back
    (even rounded). Each family's q-values are computed again with every withheld p-value (and every
    masked "not testable") taken as 1, over the same family: each q is then at least the one a
    full run prints (a conservative adjustment), and a function of the printed p-values alone."""
    from ..stats import adjust_pvalues

    per_var = out.drop_duplicates("variable").set_index("variable")
    withheld = per_var["p_value"].astype(str).eq(MARK_C)
    if not withheld.any():
        return
    method = str(per_var["q_method"].iloc[0]) if "q_method" in per_var else "bh"
    family = per_var["q_family"].fillna("") if "q_family" in per_var else pd.Series("", index=per_var.index)
    p = pd.Series([1.0 if w else (float(v) if not isinstance(v, str) and pd.notna(v) else np.nan)
                   for v, w in zip(per_var["p_value"], withheld)], index=per_var.index)
    q = pd.concat([adjust_pvalues(p[family == f], method if method in ("bh", "holm") else "bh")
                   for f in dict.fromkeys(family)])
    for v in per_var.index:
        rows = out["variable"] == v
        if withheld[v]:
            out.loc[rows, "q_value"] = MARK_C
        elif pd.notna(q.get(v)):
            out.loc[rows, "q_value"] = float(q[v])


# --------------------------------------------------------------------------------------------
# response rates
# --------------------------------------------------------------------------------------------
def _month_of(when: str):
    return int(when.split()[-1]) if str(when).startswith("month ") else "year"


def _add_rate_rows(ledger: Ledger, rates: pd.DataFrame, family: str, ever_keys: Mapping | None = None) -> list:
    """Register response-rate rows; returns each row's (n key, missing key or None, total key)."""
    keys = []
    for rec in rates.to_dict("records"):
        resp, n, total = str(rec["response"]), int(rec["n"]), int(rec["patients"])
        tkey = ledger.add(("N",), total, fixed=True) if ("N",) not in ledger or ledger.value(("N",)) == total \
            else ledger.add(("patients", family, resp), total, fixed=True)
        if family == "cumulative":
            when = int(rec["month"])
            nkey = ("cum", resp, when)
            ledger.add(nkey, n)
            rest = ("cum-not", resp, when)
            ledger.add(rest, total - n, shown=False)
            ledger.relate({nkey: 1, rest: 1, tkey: -1})
            keys.append((nkey, None, tkey))
            continue
        when = _month_of(rec["when"])
        miss = int(rec["missing visits"])
        if when == "year":
            nkey = (ever_keys or {}).get(resp, ("met", resp, "year"))
            ledger.add(nkey, n, tier=1)
            never = (ever_keys or {}).get((resp, "never"), ("not-met", resp, "year"))
            ledger.add(never, total - n, shown=False)
            ledger.relate({nkey: 1, never: 1, tkey: -1})
            mkey = ("missing", "rates", resp, "year")
            ledger.add(mkey, miss, kind=MISSING)
            complete = ("complete", "rates", resp, "year")
            ledger.add(complete, total - miss, kind=MISSING, shown=False)
            ledger.relate({mkey: 1, complete: 1, tkey: -1})
        else:
            nkey = ("met", resp, when)
            ledger.add(nkey, n)
            mkey = ("missing", "rates", resp, when)
            ledger.add(mkey, miss, kind=MISSING)
            rest = ("not-met", resp, when)
            ledger.add(rest, total - n - miss, shown=False)
            ledger.relate({nkey: 1, mkey: 1, rest: 1, tkey: -1})
        keys.append((nkey, mkey, tkey))
    return keys


def _rate_view(ledger: Ledger, rates: pd.DataFrame, keys: list, min_count: int) -> pd.DataFrame:
    out = rates.copy()
    for c in ("n", "missing visits", "shown"):
        if c in out:
            out[c] = out[c].astype(object)
    for c in ("percent", "ci_low", "ci_high"):
        if c in out:
            out[c] = out[c].astype(float)
    for i, (nkey, mkey, _t) in zip(out.index, keys):
        m = _mark(ledger, nkey, min_count)
        if m is not None:
            out.at[i, "n"] = m
            for c in ("percent", "ci_low", "ci_high"):
                if c in out:
                    out.at[i, c] = np.nan
            if "shown" in out:
                out.at[i, "shown"] = f"{m}/{int(rates.at[i, 'patients'])}"
        if mkey is not None and "missing visits" in out:
            mm = _mark(ledger, mkey, min_count)
            if mm is not None:
                out.at[i, "missing visits"] = mm
    return out


# --------------------------------------------------------------------------------------------
# the analysis pages' plan
# --------------------------------------------------------------------------------------------
class _Unchanged:
    """What a plan is when nothing is suppressed (``small_cell_min`` <= 1): every view returns its input."""
    active = False
    min_count = 0

    def table_one(self, table):
        return table

    def comparison(self, table, grouping: str = "outcome"):
        return table

    def rates(self, rates):
        return rates

    def cumulative(self, cumulative):
        return cumulative

    def sledai_summary(self, summary):
        return summary

    def wilcoxon(self, pairwise):
        return pairwise

    def visit_counts(self, summary):
        return None

    def over_time(self, result):
        return result

    def friedman_text(self, over_time) -> str:
        return f"{over_time.n_complete} of {over_time.n_total}"

    def responders_text(self, k: int, n: int, grouping: str = "outcome") -> str:
        return f"{k} of {n}"

    def caveats(self, result) -> tuple:
        return tuple(result.caveats)

    def reproduction(self, reproduction):
        return reproduction


@dataclass
class SharePlan:
    """One protection for every count the analysis pages print (see the module docstring).

    Views: :meth:`table_one`, :meth:`comparison` (``grouping`` "outcome", "cr" or "lda"),
    :meth:`rates`, :meth:`cumulative`, :meth:`sledai_summary`, :meth:`wilcoxon`, :meth:`over_time`,
    :meth:`reproduction`; sentences: :meth:`responders_text`, :meth:`friedman_text`, :meth:`caveats`.
    """
    ledger: Ledger
    min_count: int
    zero: bool
    n: int
    groupings: Mapping[str, tuple]   # name -> (column ids per group value, size keys)
    rate_keys: Mapping[str, list] = field(default_factory=dict)
    responses: Mapping[str, str] = field(default_factory=dict)   # rate label -> frame column (cr_ever, ...)
    outcome_column: str = "response_ever"
    active: bool = True

    # -------------------------------------------------------------- tables
    def _note(self) -> tuple:
        return (_footnote(self.min_count, self.zero),)

    def table_one(self, table: PublicationTable) -> PublicationTable:
        """Table 1 (``table_one``) with the plan's markers; laid out again."""
        cols, sizes = {"all": "all"}, {"all": ("N",)}
        protected = _protect_tidy(self.ledger, _all_levels(table.tidy), cols, sizes, self.min_count)
        return relayout(table, protected, footnotes=self._note(), spread="iqr")

    def comparison(self, table, grouping: str = "outcome"):
        """A comparison (``comparison_table`` of ``compare_groups`` by the grouping) with the plan's markers."""
        name = {"outcome": self.outcome_column}.get(grouping, grouping)
        ids, size_keys = self.groupings[name]
        tidy = _all_levels(table.tidy if isinstance(table, PublicationTable) else table)
        cols, sizes = {}, {}
        for p in _prefixes(tidy):
            value = str(tidy[f"{p}_group"].iloc[0])
            cols[p], sizes[p] = ids[value], size_keys[value]
        protected = _protect_tidy(self.ledger, tidy, cols, sizes, self.min_count)
        if isinstance(table, PublicationTable):
            return relayout(table, protected, footnotes=self._note(), spread="iqr")
        return protected

    def rates(self, rates: pd.DataFrame) -> pd.DataFrame:
        """Response rates (:func:`~msc_sle.rates.response_rates` of LDA then CR) with the plan's markers."""
        return _rate_view(self.ledger, rates, self._rate_keys(rates, "rates"), self.min_count)

    def cumulative(self, cumulative: pd.DataFrame) -> pd.DataFrame:
        return _rate_view(self.ledger, cumulative, self._rate_keys(cumulative, "cumulative"), self.min_count)

    def _rate_keys(self, rates, family):
        keys = []
        for r in rates.itertuples(index=False):
            resp = str(r.response)
            col = self.responses[resp]
            if family == "cumulative":
                key = ("count", "all", col, "True") if int(r.month) == 12 else ("cum", resp, int(r.month))
                keys.append((key, None, ("N",)))
                continue
            when = _month_of(r.when)
            if when == "year":
                keys.append((("count", "all", col, "True"), ("missing", "rates", resp, "year"), ("N",)))
            else:
                keys.append((("met", resp, when), ("missing", "rates", resp, when), ("N",)))
        return keys

    def sledai_summary(self, summary: pd.DataFrame) -> pd.DataFrame:
        """SLEDAI-2K per visit (``paired_over_time(...).summary``): ``n`` with the plan's markers, the
        order statistics as :func:`_order_statistics` allows (no minimum or maximum: beside the LDA and
        CR cut-offs a maximum of 2 would say every patient scored was under the CR threshold)."""
        out = summary.copy()
        out["n"] = out["n"].astype(object)
        for c in ("median", "q1", "q3", "min", "max"):
            if c in out:
                out[c] = out[c].astype(object)
        for i, r in summary.iterrows():
            key = ("scored", str(r["time"]))
            m = _mark(self.ledger, key, self.min_count)
            if m is not None:
                out.at[i, "n"] = m
            _order_statistics(out, i, "", self.ledger.status(key) == PUBLISHED and
                              self.ledger.value(key) >= self.min_count)
        return out.drop(columns=[c for c in ("min", "max") if c in out])

    def over_time(self, result):
        """A :class:`~msc_sle.compare.PairedResult` whose per-visit summary and Wilcoxon rows carry the
        plan's markers (:meth:`sledai_summary`, :meth:`wilcoxon`), for ``over_time_tables``."""
        return replace(result, summary=self.sledai_summary(result.summary), pairwise=self.wilcoxon(result.pairwise))

    def visit_counts(self, summary: pd.DataFrame) -> dict:
        """Patients scored per visit month, as Figure 1's axis prints them (markers included)."""
        shown = self.sledai_summary(summary)
        return {int(str(t).rsplit("_m", 1)[1]): str(n) for t, n in zip(shown["time"], shown["n"])}

    def wilcoxon(self, pairwise: pd.DataFrame) -> pd.DataFrame:
        """Each visit against baseline: counts with markers; the statistic, z and p of a row with a
        withheld count withheld, and a Holm p that equals what a withheld p gives."""
        out = pairwise.copy()
        for c in ("n_pairs", "n_nonzero", "median_difference", "statistic", "z", "p_value", "p_holm"):
            if c in out:
                out[c] = out[c].astype(object)
        withheld = []
        for i, r in pairwise.iterrows():
            marks = False
            for c, key in (("n_pairs", ("pairs", str(r["time"]))), ("n_nonzero", ("nonzero", str(r["time"])))):
                m = _mark(self.ledger, key, self.min_count)
                if m is not None:
                    out.at[i, c] = m
                    marks = True
            if marks:
                withheld.append(i)
                for c in ("median_difference", "statistic", "z", "p_value", "p_holm"):
                    if c in out and pd.notna(pairwise.at[i, c]):
                        out.at[i, c] = MARK_C
                if str(pairwise.at[i, "test"]).startswith("not testable"):
                    out.at[i, "test"] = MARK_C     # "no non-zero differences" says n_nonzero = 0
        if withheld:
            # Holm's adjustment with each withheld p taken as 1 (as the q-values of Table 2): a Holm p
            # computed over the true p-values gives the rank of a withheld one back
            from ..stats import adjust_pvalues

            p = pd.Series([1.0 if i in withheld else float(pairwise.at[i, "p_value"]) for i in pairwise.index],
                          index=pairwise.index)
            holm = adjust_pvalues(p, "holm")
            for i in pairwise.index:
                if i not in withheld and pd.notna(holm[i]):
                    out.at[i, "p_holm"] = float(holm[i])
        return out

    # -------------------------------------------------------------- sentences
    def count_text(self, key) -> str:
        """A count of the plan as the bundle prints it: the number, ``"<5"`` or ``"[c]"``."""
        return self._text(key)

    def _text(self, key) -> str:
        m = _mark(self.ledger, key, self.min_count)
        return m if m is not None else str(self.ledger.value(key))

    def responders_text(self, k: int, n: int, grouping: str = "outcome") -> str:
        """"k of n" for the ``k`` responders of a grouping, k as the tables show it."""
        name = {"outcome": self.outcome_column}.get(grouping, grouping)
        key = self.groupings[name][1]["True"]
        if self.ledger.value(key) != k or n != self.n:
            raise ValueError(f"{k} of {n} responders is not the plan's count ({self.ledger.value(key)} of {self.n})")
        return f"{self._text(key)} of {n}"

    def friedman_text(self, over_time) -> str:
        """"k of n" patients with every visit (the Friedman test's patients)."""
        return f"{self._text(('complete-visits',))} of {over_time.n_total}"

    def caveats(self, result) -> tuple:
        """A response's caveats, the missing-visit counts as the rates table shows them."""
        resp = str(result.definition.label)
        out = []
        for text in result.caveats:
            m = _MISSING_CAVEAT.match(text)
            if m and resp in self.responses:
                text = (f"{self._text(('missing-visits', resp))} follow-up visit(s) of "
                        f"{self._text(('missing', 'rates', resp, 'year'))} patient(s)" + text[m.end():])
            out.append(text)
        return tuple(out)

    # -------------------------------------------------------------- reproduction
    def reproduction(self, reproduction):
        """The reproduction with every computed value the plan withholds replaced by its marker, its
        status "withheld" (an "exact" beside the printed value would give the count back), its test
        and note emptied, and the score counting the withheld values apart."""
        from ..paper.reproduction import LEVEL_MAP, reproduction_score

        table = reproduction.table.copy()
        printed = [c for c in ("computed", "shown") if c in table]
        for c in printed:
            table[c] = table[c].astype(object)
        for i, r in reproduction.table.iterrows():
            mark = self._reproduction_mark(r, LEVEL_MAP)
            if mark is not None:
                for c in printed:
                    table.at[i, c] = mark
                table.at[i, "status"] = "withheld"
                table.at[i, "test"] = ""
                table.at[i, "note"] = "withheld for circulation: " + (
                    "a small count" if mark != MARK_C else "computed from, or giving back, a withheld count")
        return replace(reproduction, table=table, score=reproduction_score(table))

    def _reproduction_mark(self, r, level_map):
        stat, variable, group, outcome = str(r["statistic"]), str(r["variable"]), str(r["group"]), str(r["outcome"])
        if stat in ("min", "max"):
            return MARK_C     # one patient's value: never printed in a shared bundle (docs/disclosure.md, rule 6)
        if stat == "median":
            return None if self._median_printed(variable, group, outcome) else MARK_C
        if stat == "p_value":
            if not outcome:
                return None
            grouping = f"{outcome}_ever"
            if any(_mark(self.ledger, k, self.min_count) for k in self._variable_keys(grouping, variable)):
                return MARK_C
            return None
        key, denominator = self._reproduction_key(r, level_map)
        if key is None:
            return MARK_C
        if self.ledger.status(key) == IMPLICIT:
            # a count the plan did not expect to be printed: never shown rather than left unaudited
            return small_label(self.min_count) if self.ledger.sensitive(key) else MARK_C
        mark = _mark(self.ledger, key, self.min_count)
        if stat == "n":
            return mark
        if mark is not None:
            return MARK_C
        if denominator is not None and _mark(self.ledger, denominator, self.min_count):
            return MARK_C
        return None

    def _median_printed(self, variable: str, group: str, outcome: str) -> bool:
        """A median is printed only beside a printed count of its values of at least the threshold."""
        if group in ("with", "without"):
            grouping = self.groupings.get(f"{outcome}_ever")
            keys = [("n_valid", grouping[0][str(group == "with")], variable)] if grouping else []
        else:
            keys = [("n_valid", "all", variable), ("scored", variable)]
        key = next((k for k in keys if k in self.ledger), None)
        return key is not None and self.ledger.status(key) == PUBLISHED and self.ledger.value(key) >= self.min_count

    def _variable_keys(self, grouping: str, variable: str) -> list:
        ids, size_keys = self.groupings[grouping]
        keys = [k for k in self.ledger.keys() if len(k) >= 3 and k[1] in ids.values() and k[2] == variable
                and self.ledger.status(k) != IMPLICIT]
        return keys + list(size_keys.values())

    def _reproduction_key(self, r, level_map):
        """(ledger key of the count behind a reproduction row, key of its denominator)."""
        variable, group, outcome = str(r["variable"]), str(r["group"]), str(r["outcome"])
        level = str(r["level"]) if pd.notna(r["level"]) else ""
        level = level_map.get((variable, level), level)
        if variable == "n":
            if group == "all":
                return ("N",), None
            return self.groupings[f"{outcome}_ever"][1].get(str(group == "with")), ("N",)
        if variable == "no_response":
            return ("count", "all", "lda_ever", "False"), ("N",)
        if variable in ("cr_m12", "lda_m12"):
            resp = next((k for k, v in self.responses.items() if v == variable.replace("_m12", "_ever")), None)
            return (("met", resp, 12) if resp else None), ("N",)
        if group in ("with", "without"):
            col = self.groupings[f"{outcome}_ever"][0][str(group == "with")]
        else:
            col = "all"
        if level in ("", "yes"):
            level = "True"
        elif level == "no":
            level = "False"
        key = ("count", col, variable, level)
        if key not in self.ledger:
            strat = self.groupings.get(_STRATA_BY.get(variable, ""))
            if strat is not None and level in strat[0]:
                key = ("count", strat[0][level], variable, "True")
                return key, strat[1][level]
            return None, None
        return key, ("n_valid", col, variable)


_MISSING_CAVEAT = re.compile(r"^(\d+) follow-up visit\(s\) of (\d+) patient\(s\)")
#: Reproduction rows that count a boolean within the levels of another variable (paper audit STRATA).
_STRATA_BY = {"second_infusion": "msc_source"}


def share_plan(cohort, frame: pd.DataFrame | None, params, *, complementary: bool = True):
    """The protection of every count the analysis pages print, for this cohort and these parameters.

    ``cohort`` is the analysed (eligible) cohort, ``frame`` its analysis frame (``frame_for``; built
    here when None). With ``params["small_cell_min"]`` <= 1 the plan changes nothing. Every
    notebook builds the same plan from the same data, so a count is shown or withheld alike on every
    page. ``complementary=False`` keeps primary suppression only (to show what the audit catches).
    """
    min_count = int(params["small_cell_min"])
    if min_count <= 1:
        return _Unchanged()
    from ..clinical import analysis_frame, classify_response
    from ..compare import baseline_variables, describe, paired_over_time, summarise, table_variables
    from ..rates import cumulative_response, response_rates

    zero = bool(params["share_suppress_zero"])
    # the frame every page builds (notebook.frame_for, which shows the plan's visit total: not imported here)
    frame = analysis_frame(cohort, params.definitions(), prednisone_cut=params["prednisone_cut"]) \
        if frame is None else frame
    n = len(frame)
    ledger = Ledger(min_count, zero=zero, complementary=complementary)
    ledger.add(("N",), n, fixed=True)

    def levels_of(variable):
        if variable not in frame:
            return _dictionary_levels(variable)
        dt = frame[variable].dtype
        if pd.api.types.is_bool_dtype(dt):
            return [True, False]
        if isinstance(dt, pd.CategoricalDtype):
            return list(dt.categories)
        return None

    baseline = baseline_variables(frame)
    definitions = {"cr_ever": params.cr(), "lda_ever": params.lda()}
    # Table 1: baseline variables and the outcomes (02_baseline)
    table1 = _all_levels(describe(frame, baseline + ["cr_ever", "lda_ever"]).table)
    _add_tidy(ledger, table1, {"all": "all"}, {"all": ("N",)}, levels_of)
    # groupings: CR and LDA (reproduction, explorer), the chosen outcome (Table 2), MSC source (reproduction)
    outcome = params.outcome_definition()
    data = frame.copy()
    data["response_ever"] = classify_response(cohort, outcome).patients.set_index("patient_id")["ever"] \
        .reindex(data["patient_id"]).to_numpy()
    data["response_ever"] = data["response_ever"].astype("boolean")
    groupings = {}
    compared = table_variables(frame)   # Table 2's rows: baseline and follow-up SLEDAI
    specs = [("cr_ever", compared), ("lda_ever", compared)]
    outcome_column = {"cr": "cr_ever", "lda": "lda_ever"}.get(params["outcome"], "response_ever")
    if outcome_column == "response_ever":
        specs.append(("response_ever", compared))
    specs.append(("msc_source", [v for v in _STRATA_BY if v in frame]))
    for by, variables in specs:
        if not variables or by not in data:
            continue
        summary = summarise(data, by, [v for v in variables if v != by])
        tidy = _all_levels(summary.table)
        values = [str(g) for g in summary.groups]
        ids = {v: (by, v) for v in values}
        size_keys = {}
        for g, size in zip(values, summary.group_sizes):
            key = ("count", "all", by, g)
            if key not in ledger:
                ledger.add(key, size, shown=True, tier=2)
            size_keys[g] = key
        if by == "response_ever":
            ledger.relate({k: 1 for k in size_keys.values()} | {("N",): -1})
        cols = {p: ids[str(tidy[f"{p}_group"].iloc[0])] for p in _prefixes(tidy)}
        sizes = {p: size_keys[str(tidy[f"{p}_group"].iloc[0])] for p in _prefixes(tidy)}
        _add_tidy(ledger, tidy, cols, sizes, levels_of)
        if summary.n_excluded == 0:
            _cross(ledger, "all", list(ids.values()))
        groupings[by] = (ids, size_keys)
    # group sizes are printed (Table 2 header, text) and are the outcome rows of Table 1
    for by in ("cr_ever", "lda_ever"):
        for g in ("True", "False"):
            ledger.add(("count", "all", by, g), ledger.value(("count", "all", by, g)), shown=True, tier=2)
    # response rates and cumulative response (03_response, 05_explore), LDA then CR as the notebooks list them
    results = [classify_response(cohort, definitions["lda_ever"]), classify_response(cohort, definitions["cr_ever"])]
    responses = {str(res.definition.label): col for res, col in zip(results, ("lda_ever", "cr_ever"))}
    rates = response_rates(results)
    ever_keys = {}
    for resp, col in responses.items():
        ever_keys[resp] = ("count", "all", col, "True")
        ever_keys[(resp, "never")] = ("count", "all", col, "False")
    _add_rate_rows(ledger, rates, "rates", ever_keys)
    for res in results:
        resp = str(res.definition.label)
        monthly = [("missing", "rates", resp, _month_of(w)) for w in rates.loc[rates["response"] == resp, "when"]
                   if _month_of(w) != "year"]
        total = int(sum(ledger.value(k) for k in monthly))
        ledger.add(("missing-visits", resp), total, kind=MISSING, shown=total > 0)
        ledger.relate({k: 1 for k in monthly} | {("missing-visits", resp): -1})
    cumulative = cumulative_response(results)
    for r in cumulative.itertuples(index=False):
        resp, month, k = str(r.response), int(r.month), int(r.n)
        if month == 12:
            continue  # the same count as "during the year"
        ledger.add(("cum", resp, month), k)
        ledger.add(("cum-not", resp, month), n - k, shown=False)
        ledger.relate({("cum", resp, month): 1, ("cum-not", resp, month): 1, ("N",): -1})
    # SLEDAI-2K per visit, Wilcoxon against baseline, Friedman (03_response)
    over_time = paired_over_time(frame)
    for r in over_time.summary.itertuples(index=False):
        key, rest = ("scored", str(r.time)), ("unscored", str(r.time))
        ledger.add(key, int(r.n), kind=MISSING)
        ledger.add(rest, n - int(r.n), kind=MISSING, shown=False)
        ledger.relate({key: 1, rest: 1, ("N",): -1})
    for r in over_time.pairwise.itertuples(index=False):
        pairs, nonzero = ("pairs", str(r.time)), ("nonzero", str(r.time))
        ledger.add(pairs, int(r.n_pairs), kind=MISSING)
        ledger.add(("unpaired", str(r.time)), n - int(r.n_pairs), kind=MISSING, shown=False)
        ledger.relate({pairs: 1, ("unpaired", str(r.time)): 1, ("N",): -1})
        ledger.add(nonzero, int(r.n_nonzero))
        ledger.add(("ties", str(r.time)), int(r.n_pairs) - int(r.n_nonzero), shown=False)
        ledger.relate({nonzero: 1, ("ties", str(r.time)): 1, pairs: -1})
    ledger.add(("complete-visits",), over_time.n_complete, kind=MISSING)
    ledger.add(("incomplete-visits",), over_time.n_total - over_time.n_complete, kind=MISSING, shown=False)
    ledger.relate({("complete-visits",): 1, ("incomplete-visits",): 1, ("N",): -1})
    # counts the reproduction prints that no table lists (the other level of a yes/no variable)
    for key in _reproduction_shown_keys(frame):
        if key in ledger:
            ledger.add(key, ledger.value(key), shown=True)
    _protect(ledger)
    return SharePlan(ledger, min_count, zero, n, groupings, responses=responses, outcome_column=outcome_column)


def _reproduction_shown_keys(frame) -> list:
    """Ledger keys of the counts the reproduction prints that the tables do not (``no_response``,
    the "no" of a yes/no variable, the other level of a two-level category)."""
    from ..paper.published import load_published

    pub = load_published()
    keys = [("count", "all", "lda_ever", "False")]
    rows = pub[(pub["group"] == "all") & (pub["statistic"].isin(["n", "percent"]))]
    for r in rows.itertuples(index=False):
        level = str(r.level) if isinstance(r.level, str) else ""
        if not level or r.variable not in frame:
            continue
        if level == "no":
            keys.append(("count", "all", r.variable, "False"))
        elif isinstance(frame[r.variable].dtype, pd.CategoricalDtype):
            keys.append(("count", "all", r.variable, level))
    return keys


# --------------------------------------------------------------------------------------------
# the patient flow (01_cohort)
# --------------------------------------------------------------------------------------------
@dataclass
class FlowPlan:
    """One protection for the patient flow: attrition (running totals), exclusion reasons, visit
    completeness and the recorded-total mismatch count."""
    ledger: Ledger | None
    min_count: int
    zero: bool
    active: bool = True
    #: the extract's own column names (``Cohort.extract_names``): a shared page prints none of them
    names: tuple = ()

    def attrition(self, attrition: pd.DataFrame) -> pd.DataFrame:
        """The attrition table with markers (excluded, missing, and the running totals that would
        give a withheld exclusion back)."""
        if not self.active:
            return attrition
        out = attrition.copy()
        for c in ("excluded", "missing", "remaining"):
            out[c] = out[c].astype(object)
        for i, r in attrition.reset_index(drop=True).iterrows():
            idx = attrition.index[i]
            for c, key in (("remaining", ("remaining", i)), ("excluded", ("excluded", str(r["criterion"]))),
                           ("missing", ("excl-missing", str(r["criterion"])))):
                if key in self.ledger:
                    m = _mark(self.ledger, key, self.min_count)
                    if m is not None:
                        out.at[idx, c] = m
        return out

    def reasons(self, reasons: pd.DataFrame) -> pd.DataFrame:
        """Exclusions per criterion and reason (column ``patients``) with markers."""
        if not self.active:
            return reasons
        out = reasons.copy()
        out["patients"] = out["patients"].astype(object)
        for i, r in reasons.iterrows():
            m = _mark(self.ledger, ("reason", str(r["criterion"]), str(r["reason"])), self.min_count)
            if m is not None:
                out.at[i, "patients"] = m
        return out

    def completeness(self, completeness: pd.DataFrame) -> pd.DataFrame:
        """Visit completeness with markers."""
        if not self.active:
            return completeness
        out = completeness.copy()
        for c in _COMPLETENESS:
            out[c] = out[c].astype(object)
        for i, r in completeness.iterrows():
            for c, tag in _COMPLETENESS.items():
                m = _mark(self.ledger, (tag, str(r["Visit"])), self.min_count)
                if m is not None:
                    out.at[i, c] = m
        return out

    def text(self, sentence: str) -> str:
        """A sentence with each small count of visits or patients ("3 visit(s)", "2 patients") shown as
        "<5": for messages (e.g. the loader's notes) whose counts appear in no table; and each of the
        extract's own column names (an extra column such as 'clinician_notes', a centre's name a
        mapping renamed) replaced by a count, since a column's name can say what it holds."""
        if not self.active:
            return sentence
        sentence = unnamed(sentence, self.names)
        return _COUNT_WORD.sub(lambda m: (small_label(self.min_count) if 0 < int(m.group(1)) < self.min_count
                                          else m.group(1)) + m.group(2), sentence)

    def visits_text(self, n_visits: int) -> str:
        """The extract's number of visits as the bundle prints it (``"[c]"`` when it would give a withheld
        "no visit" back): the pages' "N patients, V visits", ``provenance.json``, 01's sentences."""
        if not self.active:
            return str(n_visits)
        if self.ledger.value(("visits",)) != n_visits:
            raise ValueError(f"{n_visits} visits is not the plan's count ({self.ledger.value(('visits',))})")
        return _mark(self.ledger, ("visits",), self.min_count) or str(n_visits)

    def mismatch_text(self, k: int) -> str:
        """Visits whose recorded SLEDAI-2K total disagrees (a count of visits, zero shown)."""
        if not self.active:
            return str(k)
        return shown_count(k, self.min_count, zero=False)


def unnamed(sentence: str, names) -> str:
    """``sentence`` with every name of ``names`` (whole, as written) replaced, and a run of them
    ("a, b, c") said as its count: "[3 columns not in the data dictionary]"; the source of a
    mapping's rename ("age_years <- AGE_M") is left out."""
    names = sorted({str(n) for n in names if str(n)}, key=len, reverse=True)
    if not names:
        return sentence
    one = "(?:" + "|".join(re.escape(n) for n in names) + ")"
    alone = rf"(?<![\w.]){one}(?!\w|\.\w)"  # 'AGE_M' in 'AGE_M.' but not in 'AGE_MM' or 'x.yml'
    run = re.compile(rf"{alone}(?:, {alone})*")
    # a mapping's "age_years <- AGE_M": the workbook's name says enough on a shared page
    sentence = re.sub(rf" <- {alone}", "", sentence)

    def said(match: re.Match) -> str:
        k = match.group(0).count(", ") + 1
        return f"[{k} column{'s' if k != 1 else ''} not in the data dictionary]"

    return run.sub(said, sentence)


_COUNT_WORD = re.compile(r"\b(\d+)(\s+(?:[\w-]+\s+)?(?:visit|patient)s?(?:\(s\))?)\b")
_COMPLETENESS = {"Seen": "seen", "No visit": "no-visit", "SLEDAI-2K not computable": "sledai-na",
                 "Prednisone missing": "prednisone-na"}


def flow_plan(cohort, eligibility, params, completeness: pd.DataFrame | None = None, *,
              complementary: bool = True) -> FlowPlan:
    """The protection of ``01_cohort``'s counts: ``eligibility`` is ``apply_eligibility(cohort)``,
    ``completeness`` ``visit_completeness(cohort)`` (computed when None)."""
    min_count = int(params["small_cell_min"])
    zero = bool(params["share_suppress_zero"])
    if min_count <= 1:
        return FlowPlan(None, min_count, zero, active=False, names=cohort.extract_names)
    from ..clinical import visit_completeness

    ledger = Ledger(min_count, zero=zero, complementary=complementary)
    attrition = eligibility.attrition.reset_index(drop=True)
    last = len(attrition) - 1
    for i, r in attrition.iterrows():
        ledger.add(("remaining", i), int(r["remaining"]), fixed=i in (0, last), tier=1)
        if i == 0 and pd.isna(r["excluded"]):
            continue
        crit = str(r["criterion"])
        ledger.add(("excluded", crit), int(r["excluded"]))
        ledger.add(("excl-missing", crit), int(r["missing"]), kind=MISSING)
        if i > 0:
            ledger.relate({("remaining", i - 1): 1, ("excluded", crit): -1, ("remaining", i): -1})
    reasons = _reason_counts(eligibility)
    for crit, grp in reasons.groupby("criterion", sort=False, observed=True):
        terms = {}
        for r in grp.itertuples(index=False):
            key = ("reason", str(crit), str(r.reason))
            ledger.add(key, int(r.patients))
            terms[key] = 1
        if ("excluded", str(crit)) in ledger:
            ledger.relate(terms | {("excluded", str(crit)): -1})
    completeness = visit_completeness(cohort) if completeness is None else completeness
    patients = ledger.add(("remaining", 0), int(completeness["Patients"].iloc[0]), fixed=True)
    # the extract's visits ("N patients, V visits" on every page and in provenance.json) are the
    # patients seen at each visit added up: printed as is, they give a withheld "no visit" back
    seen_total = ledger.add(("visits",), len(cohort.visits), tier=2)
    seen_terms = {seen_total: -1}
    other = int(len(cohort.visits) - completeness["Seen"].sum())
    if other:   # visits off the schedule, if an extract has any: counted, never printed
        seen_terms[ledger.add(("visits-other",), other, kind=MISSING, shown=False)] = 1
    for rec in completeness.to_dict("records"):
        visit = str(rec["Visit"])
        seen, no_visit = ("seen", visit), ("no-visit", visit)
        ledger.add(seen, int(rec["Seen"]), kind=MISSING, tier=1)
        ledger.add(no_visit, int(rec["No visit"]), kind=MISSING)
        ledger.relate({seen: 1, no_visit: 1, patients: -1})
        seen_terms[seen] = 1
        ledger.add(("sledai-na", visit), int(rec["SLEDAI-2K not computable"]), kind=MISSING)
        ledger.add(("prednisone-na", visit), int(rec["Prednisone missing"]), kind=MISSING)
    ledger.relate(seen_terms)
    _protect(ledger)
    return FlowPlan(ledger, min_count, zero, names=cohort.extract_names)


def _reason_counts(eligibility) -> pd.DataFrame:
    return (eligibility.excluded.groupby(["criterion", "reason"], observed=True).size()
            .rename("patients").reset_index())
