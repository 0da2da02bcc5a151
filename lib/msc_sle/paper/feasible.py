"""What the printed numbers allow where the paper prints no counts, and what the text claims.

The paper prints the CR comparison as counts (Table 2) but the LDA comparison only as two p-values
and a sentence. The LDA counts are not free, though: each variable's total (Table 1), its CR split
(Table 2), the group sizes (40 with LDA, 16 with CR) and the fact that every CR patient is an LDA
patient (section 2.4's thresholds nest) leave a short list of integer tables. This module lists
them (:func:`feasible_set`), tests each under Pearson, Yates and Fisher (Fisher-Freeman-Halton
beyond 2x2) through :mod:`msc_sle.stats`, and turns that into three kinds of audit finding:

- ``feasible_p``: a printed p-value whose counts are not printed, tested over the feasible tables:
  "consistent under Fisher's exact test only (24/40 vs 25/29)", "consistent under none", and the
  range of p-values the stated test could have printed;
- ``significance``: for every variable of the paper's tables and every outcome, whether its
  comparison could reach p < alpha under the stated test (and under the alternatives) given the
  printed numbers: at every feasible table, at none, or only at some (the unprinted split decides);
  a continuous variable without printed ranks is said to be not checkable, never skipped;
- ``claim``: each statement of ``data/published/wen2019_claims.csv`` ("older age and no
  arthralgia/arthritis were associated with LDA", and by implication nothing else) checked under
  the stated test and the alternatives.

The feasible set of a categorical variable v for an outcome O with ``with`` size L in a cohort of
N, when an inner outcome I (CR, size C) nests in O and I's split of v is printed (a_l with I, b_l
without, per level l): the O-count at level l is a_l + y_l, where y_l (patients with O but not I)
runs over 0..b_l, with sum(y_l) = L - C and sum(b_l - y_l) = N - L when the levels cover everyone
(a boolean and its complement), or <= when they cover a subgroup (nephritis class among the
biopsied). Without an inner outcome the overall counts T_l play b_l (a_l = 0, C = 0). Any count or
percentage printed for O (Section 3.3's "all 5 ... achieved LDA") then filters the list; when O's
counts are printed in full, the set is that one table.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np
import pandas as pd

from ..present.format import format_p, round_half_up
from .published import claim_list, load_claims, matches_printed
from .records import (NESTED_COUNTS, SPLIT_VARIABLES, TEST_LABEL, finding, fmt_p, group_sizes, is_table,
                      overall_count, p_values, prefer, records, rows)

__all__ = ["FeasibleSet", "feasible_set", "feasible_pvalues", "significance_table", "claim_checks",
           "feasible_p_findings", "significance_findings", "claim_findings", "TESTS", "VERDICTS", "MAX_TABLES",
           "SIGNIFICANCE_COLUMNS", "CLAIM_CHECK_COLUMNS"]

#: The tests of a contingency table, in the order findings list them.
TESTS = ("chi2", "chi2_yates", "fisher")
#: Over a feasible set, p < alpha at ``always`` every table, ``never`` at none, ``depends`` at some;
#: ``unknown`` when nothing printed bounds the p (a continuous variable), ``n/a`` when the test
#: does not apply (Yates beyond 2x2, a variable every patient has).
VERDICTS = ("always", "never", "depends", "unknown", "n/a")
#: Enumeration stops beyond this many candidate tables (the paper's largest set has ~130).
MAX_TABLES = 20000
_SHORT = {"chi2": "Pearson", "chi2_yates": "Yates", "fisher": "Fisher", "mann_whitney": "Mann-Whitney"}


# --- the feasible set -------------------------------------------------------------------------------

@dataclass(frozen=True)
class FeasibleSet:
    """Every integer table of ``variable`` by ``outcome`` consistent with the printed numbers.

    kind : ``printed`` (the outcome's counts are printed: one table), ``bounded`` (enumerated),
        ``continuous`` (median (range) only: no table), ``constant`` (every patient in one level: no
        comparison), ``empty`` (nothing fits: the printed numbers contradict each other),
        ``none`` (nothing printed to start from), ``too_many`` (more than :data:`MAX_TABLES`).
    levels : row labels of each table (a boolean's level ``""`` is "yes", its complement "no").
    tables : one ``len(levels) x 2`` integer array per table, columns (with, without).
    basis : in words, where the bounds come from.
    sizes : ``(with, without)`` group sizes.
    """
    outcome: str
    variable: str
    kind: str
    levels: tuple = ()
    tables: tuple = ()
    basis: str = ""
    sizes: tuple = ()
    source: str = ""
    inner: str = ""
    constraints: tuple = ()

    @property
    def first_counts(self) -> list[int]:
        """The ``with`` count of the first level in each table (the "x" a finding quotes)."""
        return [int(t[0, 0]) for t in self.tables]

    def describe_range(self) -> str:
        """``"20-30 of 40 with LDA"`` (first level), or one table's counts."""
        if not self.tables:
            return ""
        xs = self.first_counts
        name = "" if self.levels[0] in ("", "yes") else f"{self.levels[0]}: "
        lo, hi = min(xs), max(xs)
        span = f"{lo}" if lo == hi else f"{lo}-{hi}"
        return f"{name}{span} of {self.sizes[0]} with {self.outcome.upper()}"


def _median_rows(recs, variable) -> bool:
    return bool(rows(recs, variable=variable, statistic="median"))


def _sizes(recs, outcome) -> tuple[int, int] | None:
    heads = prefer(rows(recs, outcome=outcome, location="header", statistic="n"))
    got = group_sizes(recs, heads[0]["source"] if heads else "", outcome)
    return (int(got["with"]), int(got["without"])) if got else None


def _cells(recs, outcome, variable) -> tuple[str, dict]:
    """The outcome's printed cells of ``variable`` from one source (tables first):
    ``{(level, group, statistic): (value, decimals)}``."""
    found = rows(recs, outcome=outcome, variable=variable, group=["with", "without"], statistic=["n", "percent"])
    if not found:
        return "", {}
    source = prefer(found)[0]["source"]
    return source, {(r["level"], r["group"], r["statistic"]): (r["value"], r["decimals"])
                    for r in found if r["source"] == source}


def _complete_counts(recs, outcome, variable, splits) -> tuple[str, str, list, np.ndarray] | None:
    """(source, where in words, levels, counts levels x (with, without)) when the outcome's counts of
    ``variable`` are printed for both groups at every level, directly or as the sum of the levels of
    a split whose population it is (CYC induction = the induced patients of the dose split)."""
    source, cells = _cells(recs, outcome, variable)
    levels = list(dict.fromkeys(lv for lv, _, stat in cells if stat == "n"))
    if levels and all((lv, g, "n") in cells for lv in levels for g in ("with", "without")):
        counts = np.array([[cells[(lv, g, "n")][0] for g in ("with", "without")] for lv in levels], dtype=int)
        return source, source, levels, counts
    for split, (_, population) in splits.items():
        if population != variable:
            continue
        got = _complete_counts(recs, outcome, split, {})
        if got is not None:
            src, _, _, counts = got
            return src, f"{src}, sum of the {split} levels", [""], counts.sum(axis=0, keepdims=True)
    return None


def _with_complement(levels, counts, sizes) -> tuple[list, np.ndarray, bool]:
    """A single printed level gets its complement from the group sizes; several levels cover the
    group only if they add up to it."""
    if len(levels) == 1:
        rest = np.array(sizes) - counts[0]
        name = "no" if levels[0] == "" else f"not {levels[0]}"
        return levels + [name], np.vstack([counts, rest]), True
    return levels, counts, bool((counts.sum(axis=0) == np.array(sizes)).all())


def _inner_outcome(recs, outcome, variable, nested, splits):
    for sub, sup in nested:
        if sup == f"{outcome}_ever" and sub.endswith("_ever"):
            inner = sub[: -len("_ever")]
            got = _complete_counts(recs, inner, variable, splits)
            sizes = _sizes(recs, inner)
            if got is not None and sizes is not None:
                return inner, got, sizes
    return None


def feasible_set(published: pd.DataFrame | list | None = None, outcome: str = "lda", variable: str = "",
                 *, nested=NESTED_COUNTS, splits=None, use_printed: bool = True) -> FeasibleSet:
    """The integer tables of ``variable`` by ``outcome`` that everything printed allows.

    ``published`` is the transcription (default :func:`~msc_sle.paper.published.load_published`) or
    its records. ``use_printed=False`` ignores the outcome's own printed counts and percentages
    (to ask whether a text statement such as "all 5 ... achieved LDA" fits the other numbers).
    """
    recs = published if isinstance(published, list) else records(published)
    splits = SPLIT_VARIABLES if splits is None else splits
    base = FeasibleSet(outcome, variable, "none")
    if _median_rows(recs, variable):
        return FeasibleSet(outcome, variable, "continuous", basis="median (range) only")
    sizes = _sizes(recs, outcome)
    if sizes is None:
        return base
    if use_printed:
        got = _complete_counts(recs, outcome, variable, splits)
        if got is not None:
            source, where, levels, counts = got
            levels, counts, _ = _with_complement(levels, counts, sizes)
            label = "; ".join(f"{lv or 'yes'} {a}/{sizes[0]} vs {b}/{sizes[1]}" if len(levels) > 2 else ""
                              for lv, (a, b) in zip(levels, counts)).strip("; ")
            label = label or f"{counts[0, 0]}/{sizes[0]} vs {counts[0, 1]}/{sizes[1]}"
            return _finish(FeasibleSet(outcome, variable, "printed", tuple(levels), (counts,),
                                       f"{where}: {label}", sizes, source))
    n, n_with = sum(sizes), sizes[0]
    inner = _inner_outcome(recs, outcome, variable, nested, splits)
    if inner is not None:
        inner_name, (source, where, levels, counts), inner_sizes = inner
        c = inner_sizes[0]
        levels, counts, cover = _with_complement(levels, counts, inner_sizes)
        a, b = counts[:, 0], counts[:, 1]
        basis = (f"{inner_name.upper()} split " + "; ".join(
            f"{(lv or 'yes') + ' ' if len(levels) > 2 or lv else ''}{ai}/{c} vs {bi}/{n - c}"
            for lv, ai, bi in zip(levels, a, b) if len(levels) > 2 or lv == levels[0])
                 + f" ({where}), {inner_name.upper()} within {outcome.upper()} ({c} of {n_with})")
    else:
        total = overall_count(recs, variable, "")
        if total is None:
            return base
        inner_name, source, c = "", total["source"], 0
        levels, counts, cover = _with_complement([""], np.array([[0, int(total["value"])]]), (0, n))
        a, b = counts[:, 0], counts[:, 1]
        basis = f"{int(total['value'])} of {n} overall ({source})"
    basis += f", {n_with} of {n} with {outcome.upper()}"
    constraints = _printed_constraints(recs, outcome, variable, levels, cover) if use_printed else []
    if constraints:
        basis += "; printed for " + outcome.upper() + ": " + ", ".join(text for text, _ in constraints)
    ranges = [range(0, int(bi) + 1) for bi in b]
    free = ranges[:-1] if cover else ranges
    if math.prod(len(r) for r in free) > MAX_TABLES:
        return FeasibleSet(outcome, variable, "too_many", tuple(levels), (), basis, sizes, source, inner_name)
    tables = []
    for ys in itertools.product(*free):
        if cover:
            last = (n_with - c) - sum(ys)
            if not 0 <= last <= b[-1]:
                continue
            ys = ys + (last,)
        elif sum(ys) > n_with - c or sum(bi - y for bi, y in zip(b, ys)) > n - n_with:
            continue
        table = np.column_stack([a + np.array(ys), b - np.array(ys)]).astype(int)
        if all(test(table) for _, test in constraints):
            tables.append(table)
    kind = "bounded" if tables else "empty"
    return _finish(FeasibleSet(outcome, variable, kind, tuple(levels), tuple(tables), basis, sizes, source,
                               inner_name, tuple(text for text, _ in constraints)))


def _finish(fs: FeasibleSet) -> FeasibleSet:
    """A set whose every table has fewer than two non-empty rows is a constant: nothing to compare."""
    if fs.tables and all((t.sum(axis=1) > 0).sum() < 2 for t in fs.tables):
        return FeasibleSet(fs.outcome, fs.variable, "constant", fs.levels, fs.tables, fs.basis, fs.sizes,
                           fs.source, fs.inner, fs.constraints)
    return fs


def _printed_constraints(recs, outcome, variable, levels, cover) -> list:
    """Partial prints for the outcome (a count or a percentage of one group) as table filters."""
    _, cells = _cells(recs, outcome, variable)
    out = []
    for (level, group, stat), (value, decimals) in cells.items():
        if level not in levels:
            continue
        i, j = levels.index(level), 0 if group == "with" else 1
        if stat == "n":
            out.append((f"{int(value)} {group} at {level or 'yes'}",
                        lambda t, i=i, j=j, v=int(value): t[i, j] == v))
        else:
            def pct(t, i=i, j=j, v=value, d=decimals):
                den = int(t[:, j].sum())
                return den > 0 and round_half_up(Fraction(100 * int(t[i, j]), den), d) == v
            out.append((f"{value:g}% {group} at {level or 'yes'}", pct))
    return out


# --- p-values over a set ------------------------------------------------------------------------------

@lru_cache(maxsize=4096)
def _p_of(key: tuple) -> dict:
    table = np.array(key, dtype=int)
    table = table[table.sum(axis=1) > 0]
    if table.shape[0] < 2:
        return {"chi2": math.nan, "chi2_yates": math.nan, "fisher": math.nan, "min_expected": math.nan}
    return p_values(table)


def _p(table: np.ndarray) -> dict:
    return _p_of(tuple(map(tuple, table.tolist())))


def _direction(table: np.ndarray) -> str:
    """Is the first level more (``higher``) or less (``lower``) frequent with the outcome than without?"""
    cols = table.sum(axis=0)
    if (cols == 0).any():
        return ""
    w, wo = Fraction(int(table[0, 0]), int(cols[0])), Fraction(int(table[0, 1]), int(cols[1]))
    return "higher" if w > wo else "lower" if w < wo else "equal"


def feasible_pvalues(published: pd.DataFrame | None = None, outcome: str = "lda", variable: str = "",
                     **kwargs) -> pd.DataFrame:
    """One row per feasible table (:func:`feasible_set`): ``x`` (the first level's count with the
    outcome), ``counts`` (the table as text), ``p_chi2``, ``p_chi2_yates``, ``p_fisher``,
    ``min_expected`` and ``direction`` (first level more or less frequent with the outcome)."""
    fs = feasible_set(published, outcome, variable, **kwargs)
    out = []
    for t in fs.tables:
        p = _p(t)
        out.append({"x": int(t[0, 0]), "counts": _counts_text(fs, t), "p_chi2": p["chi2"],
                    "p_chi2_yates": p["chi2_yates"], "p_fisher": p["fisher"], "min_expected": p["min_expected"],
                    "direction": _direction(t) if t.shape[0] == 2 else ""})
    return pd.DataFrame(out, columns=["x", "counts", "p_chi2", "p_chi2_yates", "p_fisher", "min_expected",
                                      "direction"])


def _counts_text(fs: FeasibleSet, t: np.ndarray) -> str:
    if t.shape[0] == 2:
        return f"{t[0, 0]}/{fs.sizes[0]} vs {t[0, 1]}/{fs.sizes[1]}"
    return "; ".join(f"{lv}: {a} vs {b}" for lv, (a, b) in zip(fs.levels, t) if a + b > 0)


# --- the stated method ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Method:
    tests: dict          # kind of variable -> test
    alpha: float
    source: str


def _method(claims: pd.DataFrame | None, alpha: float) -> _Method:
    tests, a, source = {"categorical": "chi2", "continuous": "mann_whitney"}, alpha, ""
    if claims is not None:
        for r in claims[claims["claim"] == "method"].to_dict("records"):
            tests[claim_list(r["variables"])[0]] = r["stated_test"]
            a, source = float(r["alpha"]), r["source"]
    return _Method(tests, a, source)


def _printed_p(recs, outcome, variable) -> dict | None:
    found = prefer(rows(recs, outcome=outcome, variable=variable, statistic="p_value"))
    return found[0] if found else None


def _stated_test(recs, method, outcome, variable, kind) -> tuple[str, str]:
    """(test, why): the printed p-value row's mark, else the method's test for the kind of variable."""
    row = _printed_p(recs, outcome, variable)
    if row is not None and row["test_marked"] not in ("", "unspecified"):
        if row["test_marked"] == method.tests.get(kind):
            return row["test_marked"], f"{method.source or 'the stated method'}'s test"
        return row["test_marked"], f"marked in {row['source']}"
    return method.tests.get(kind, ""), f"{method.source or 'the stated method'}'s test"


def _verdict(flags: list[bool]) -> str:
    if not flags:
        return "n/a"
    return "always" if all(flags) else "never" if not any(flags) else "depends"


# --- significance of every variable ---------------------------------------------------------------------

SIGNIFICANCE_COLUMNS = ("outcome", "variable", "kind", "basis", "n_tables", "x_range", "printed_p", "printed_test",
                        "stated_test", "alpha", "p_min_chi2", "p_max_chi2", "n_sig_chi2", "verdict_chi2",
                        "p_min_chi2_yates", "p_max_chi2_yates", "n_sig_chi2_yates", "verdict_chi2_yates",
                        "p_min_fisher", "p_max_fisher", "n_sig_fisher", "verdict_fisher", "verdict_stated")


def _table_variables(recs) -> list[str]:
    outcomes = {r["outcome"] for r in recs if r["outcome"]}
    skip = {"n"} | {f"{o}_ever" for o in outcomes}
    return [v for v in dict.fromkeys(r["variable"] for r in recs if is_table(r["source"])) if v not in skip]


def _significance(recs, method, outcome, variable, nested, splits) -> dict:
    fs = feasible_set(recs, outcome, variable, nested=nested, splits=splits)
    kind = "continuous" if fs.kind == "continuous" else "categorical"
    stated, _ = _stated_test(recs, method, outcome, variable, kind)
    printed = _printed_p(recs, outcome, variable)
    rec = {"outcome": outcome, "variable": variable, "kind": fs.kind, "basis": fs.basis, "n_tables": len(fs.tables),
           "x_range": fs.describe_range(), "printed_p": printed["printed"] if printed else "",
           "printed_test": printed["test_marked"] if printed else "", "stated_test": stated, "alpha": method.alpha,
           "_fs": fs, "_printed": printed}
    testable = fs.kind in ("printed", "bounded")
    for t in TESTS:
        ps = [_p(x)[t] for x in fs.tables] if testable else []
        ps = [p for p in ps if not math.isnan(p)]
        rec[f"p_min_{t}"] = min(ps) if ps else math.nan
        rec[f"p_max_{t}"] = max(ps) if ps else math.nan
        rec[f"n_sig_{t}"] = sum(p < method.alpha for p in ps)
        rec[f"verdict_{t}"] = _verdict([p < method.alpha for p in ps]) if testable else (
            "n/a" if fs.kind == "constant" else "unknown")
    if stated in TESTS:
        rec["verdict_stated"] = rec[f"verdict_{stated}"]
    elif printed is not None and fs.kind == "continuous":
        rec["verdict_stated"] = "always" if _below(printed, method.alpha) else "never"
    else:
        rec["verdict_stated"] = "unknown" if fs.kind != "constant" else "n/a"
    return rec


def _below(row, alpha) -> bool:
    """Is a printed p below alpha (a printed "<0.001" is)?"""
    return row["value"] < alpha or (row["comparator"] == "<" and row["value"] <= alpha)


def _significance_records(recs, claims, alpha, nested, splits) -> list[dict]:
    method = _method(claims, alpha)
    outcomes = list(dict.fromkeys(r["outcome"] for r in recs if r["outcome"]))
    return [_significance(recs, method, o, v, nested, splits) for o in outcomes for v in _table_variables(recs)]


def significance_table(published: pd.DataFrame | None = None, claims: pd.DataFrame | None = None, *,
                       alpha: float = 0.05, nested=NESTED_COUNTS, splits=None) -> pd.DataFrame:
    """For every outcome and every variable of the paper's tables, could its comparison reach
    p < alpha given the printed numbers? (:data:`SIGNIFICANCE_COLUMNS`)

    ``kind`` is the feasible set's (:class:`FeasibleSet`); ``x_range`` the first level's count with
    the outcome over the set; per test (``chi2``, ``chi2_yates``, ``fisher``) the smallest and
    largest p, the number of tables with p < alpha and the verdict (:data:`VERDICTS`);
    ``stated_test`` is the printed p's mark, else the claims file's method for the kind of variable;
    ``verdict_stated`` judges a continuous variable by its printed p when there is one. ``alpha``
    and the tests come from the claims' ``method`` rows (``alpha`` here only when there are none).
    """
    recs = records(published)
    claims = load_claims() if claims is None and published is None else claims
    out = _significance_records(recs, claims, alpha, nested, SPLIT_VARIABLES if splits is None else splits)
    return pd.DataFrame([{k: v for k, v in r.items() if not k.startswith("_")} for r in out],
                        columns=list(SIGNIFICANCE_COLUMNS))


# --- findings: printed p-values without counts ----------------------------------------------------------

def _range_text(ps: list[float]) -> str:
    ps = [p for p in ps if not math.isnan(p)]
    if not ps:
        return "n/a"
    lo, hi = min(ps), max(ps)
    return fmt_p(lo) if lo == hi else f"{fmt_p(lo)}-{fmt_p(hi)}"


def _printable_range(ps: list[float]) -> str:
    """What a test could have printed over the set, in the paper's style ("<0.001" to "0.83")."""
    ps = [p for p in ps if not math.isnan(p)]
    if not ps:
        return "n/a"
    lo, hi = format_p(min(ps)), format_p(max(ps))
    return lo if lo == hi else f"{lo} to {hi}"


def feasible_p_findings(recs, done: set, alpha: float, nested=NESTED_COUNTS, splits=None) -> tuple[list, set]:
    """``feasible_p`` findings for the categorical p-values whose counts are not printed (those not in
    ``done``: ``(source, variable, outcome)`` already recomputed from printed counts). Returns the
    findings and the keys handled."""
    splits = SPLIT_VARIABLES if splits is None else splits
    out, handled = [], set()
    for row in rows(recs, statistic="p_value"):
        key = (row["source"], row["variable"], row["outcome"])
        if key in done or not row["outcome"] or row["test_marked"] in ("mann_whitney", "unspecified"):
            continue
        fs = feasible_set(recs, row["outcome"], row["variable"], nested=nested, splits=splits)
        if fs.kind not in ("bounded", "empty"):
            continue
        handled.add(key)
        out.append(_feasible_p_finding(row, fs, alpha))
    return out, handled


def _feasible_p_finding(row, fs: FeasibleSet, alpha: float) -> dict:
    marked = row["test_marked"]
    what = f"{row['outcome'].upper()} p {row['printed']} ({row['variable']}, printed without counts)"
    if fs.kind == "empty":
        return finding("feasible_p", row, published=row["printed"], severity="major",
                       finding=f"{what}: no integer table fits the printed numbers ({fs.basis}).")
    parts, agree = [], {}
    for t in TESTS:
        ps = [_p(x)[t] for x in fs.tables]
        if all(math.isnan(p) for p in ps):
            continue
        hits = [x for x, p in zip(fs.tables, ps) if matches_printed(p, row["printed"])]
        agree[t] = hits
        at = ", ".join(f"{_counts_text(fs, x)} ({fmt_p(_p(x)[t])})" for x in hits) if hits else "none of them"
        parts.append(f"{_SHORT[t]} gives {_range_text(ps)}, the printed {row['printed']} for {at}")
    names = [t for t, hits in agree.items() if hits]
    marked_ps = [_p(x)[marked] for x in fs.tables] if marked in TESTS else []
    head = (f"{what}: {len(fs.tables)} integer table(s) fit the printed numbers ({fs.describe_range()}; "
            f"{fs.basis}). Over them " + "; ".join(parts) + ". ")
    if not names:
        severity = "major"
        verdict = "Consistent under none of the tests."
    elif marked in names:
        severity = "info"
        verdict = ("Consistent under " + " and ".join(TEST_LABEL[t] for t in names)
                   + f", including the {TEST_LABEL[marked]} {_marked_why(row)}.")
    else:
        flips = any((float(row["printed"].lstrip("<")) < alpha) != (_p(x)[marked] < alpha)
                    for t in names for x in agree[t])
        severity = "major" if flips else "minor"
        verdict = (f"Consistent under {' and '.join(TEST_LABEL[t] for t in names)} only, not under the "
                   f"{TEST_LABEL.get(marked, marked)} {_marked_why(row)}, which could have printed "
                   f"{_printable_range(marked_ps)} over these tables"
                   + (f"; at the matching table(s) the two fall on different sides of p = {alpha:g}." if flips else
                      f"; the conclusion at p < {alpha:g} is the same either way."))
    recomputed = min(marked_ps) if marked_ps else math.nan
    return finding("feasible_p", row, published=row["printed"], recomputed=recomputed, severity=severity,
                   finding=head + verdict)


def _marked_why(row) -> str:
    return ("section 2.5 states (the text names no test)" if "names no test" in row["note"]
            else f"the paper marks ({row['source']})")


# --- findings: could each comparison reach p < alpha? ---------------------------------------------------

def _significance_text(rec, method) -> str:
    fs, o, v = rec["_fs"], rec["outcome"].upper(), rec["variable"]
    printed = rec["_printed"]
    where = f"{o} comparison of {v}"
    if fs.kind == "continuous":
        if printed is not None:
            side = "<" if _below(printed, method.alpha) else ">="
            test = _SHORT.get(printed["test_marked"], printed["test_marked"])
            return (f"{where}: printed p {_as_text(printed)} ({test}, {printed['source']}) {side} {method.alpha:g}; "
                    f"not recomputable (continuous: a Mann-Whitney p needs the patients' values, only median "
                    f"(range) is printed).")
        return (f"{where}: not checkable: continuous, no ranks printed (no {o} p-value, and a Mann-Whitney p "
                f"cannot be bounded from medians and ranges).")
    if fs.kind == "constant":
        return f"{where}: every patient is in one level ({fs.basis}): no comparison is possible."
    if fs.kind in ("none", "too_many"):
        why = "nothing printed bounds its counts" if fs.kind == "none" else f"more than {MAX_TABLES} tables fit"
        return f"{where}: not checkable: {why}."
    if fs.kind == "empty":
        return f"{where}: no integer table fits the printed numbers ({fs.basis})."
    stated = rec["stated_test"]
    head = (f"{where}: " + (f"the printed table ({fs.basis})" if fs.kind == "printed" else
                            f"{len(fs.tables)} tables fit the printed numbers ({fs.describe_range()}; {fs.basis})"))
    parts = []
    for t in TESTS:
        if rec[f"verdict_{t}"] == "n/a":
            continue
        tag = " (stated)" if t == stated else ""
        if fs.kind == "printed":
            parts.append(f"{_SHORT[t]}{tag} {fmt_p(rec[f'p_min_{t}'])}")
        else:
            parts.append(f"{_SHORT[t]}{tag} p < {method.alpha:g} at {rec[f'n_sig_{t}']} of {len(fs.tables)} "
                         f"({_range_text([rec[f'p_min_{t}'], rec[f'p_max_{t}']])})")
    v_stated = rec["verdict_stated"]
    tail = {"always": f"p < {method.alpha:g} under the stated {TEST_LABEL.get(stated, stated)} whatever the split",
            "never": f"p >= {method.alpha:g} under the stated {TEST_LABEL.get(stated, stated)} whatever the split",
            "depends": f"under the stated {TEST_LABEL.get(stated, stated)} the unprinted split decides"}[v_stated]
    if fs.kind == "printed":
        tail = tail.replace(" whatever the split", "")
    return f"{head}: " + "; ".join(parts) + f"; {tail}."


def _as_text(row) -> str:
    return f"< {row['printed'][1:]}" if row["printed"].startswith("<") else f"= {row['printed']}"


def significance_findings(recs, claims, alpha, nested=NESTED_COUNTS, splits=None) -> list[dict]:
    """One ``significance`` finding (info) per outcome and variable of the tables."""
    method = _method(claims, alpha)
    out = []
    for rec in _significance_records(recs, claims, alpha, nested, SPLIT_VARIABLES if splits is None else splits):
        printed, fs = rec["_printed"], rec["_fs"]
        # Placed where the comparison is printed (its p, else its counts); a comparison the paper
        # never prints (most of LDA) has no source.
        src = printed["source"] if printed else (fs.source if fs.kind == "printed" else "")
        out.append(finding("significance", {"source": src, "location": printed["location"] if printed else "",
                                             "variable": rec["variable"], "outcome": rec["outcome"]},
                           published=rec["printed_p"],
                           recomputed=rec[f"p_min_{rec['stated_test']}"] if rec["stated_test"] in TESTS else math.nan,
                           severity="info", finding=_significance_text(rec, method)))
    return out


# --- findings: the text's claims ------------------------------------------------------------------------

CLAIM_CHECK_COLUMNS = ("source", "location", "outcome", "claim", "variable", "stated_test", "status_stated",
                       "support_stated", "status_chi2", "status_chi2_yates", "status_fisher", "severity")
_STATUS = {"always": "holds", "never": "contradicted", "depends": "depends", "n/a": "n/a"}


def _status(claim, rec, test, direction, alpha) -> tuple[str, str]:
    """(status, support) of one claim about one variable under one test: ``holds`` /
    ``contradicted`` / ``depends`` / ``unknown`` / ``n/a``, and in words where it holds
    ("at 5 of 11 tables", "p = 0.0481 (5/40 vs 0/29)", "printed p = 0.006")."""
    fs = rec["_fs"]
    sig_word = f"p < {alpha:g}" if claim == "significant" else f"p >= {alpha:g}"
    if test in TESTS:
        if fs.kind not in ("printed", "bounded"):
            return ("unknown" if fs.kind in ("none", "too_many", "empty") else "n/a"), ""
        ps = [(_p(x)[test], x) for x in fs.tables]
        if all(math.isnan(p) for p, _ in ps):
            return "n/a", ""
        if claim == "significant":
            flags = [p < alpha and (not direction or x.shape[0] != 2 or _direction(x) == direction) for p, x in ps]
        else:
            flags = [not p < alpha for p, _ in ps]
        if fs.kind == "printed":
            support = f"p = {fmt_p(ps[0][0])} ({_counts_text(fs, fs.tables[0])})"
        else:
            support = (f"{sig_word}{' in the claimed direction' if direction and claim == 'significant' else ''} "
                       f"at {sum(flags)} of {len(flags)} tables ({_range_text([p for p, _ in ps])}; "
                       f"{fs.describe_range()}; {fs.basis})")
        return _STATUS[_verdict(flags)], support
    printed = rec["_printed"]  # continuous: the printed p (and the printed medians for a direction)
    if printed is None or printed["test_marked"] != test:
        return "unknown", "continuous, no ranks printed"
    sig = _below(printed, alpha)
    return ("holds" if sig == (claim == "significant") else "contradicted"), f"printed p {_as_text(printed)}"


def _median_direction(recs, outcome, variable) -> str:
    meds = {r["group"]: r["value"] for r in rows(recs, outcome=outcome, variable=variable, statistic="median",
                                                 group=["with", "without"])}
    if set(meds) != {"with", "without"}:
        return ""
    return "higher" if meds["with"] > meds["without"] else "lower" if meds["with"] < meds["without"] else "equal"


def _claim_rows(recs, claims, alpha, nested, splits) -> list[dict]:
    method = _method(claims, alpha)
    splits = SPLIT_VARIABLES if splits is None else splits
    cache: dict = {}

    def sig(outcome, variable):
        if (outcome, variable) not in cache:
            cache[(outcome, variable)] = _significance(recs, method, outcome, variable, nested, splits)
        return cache[(outcome, variable)]

    out = []
    for c in claims.to_dict("records"):
        kind = c["claim"]
        if kind == "method":
            continue
        outcome, names = c["outcome"], claim_list(c["variables"])
        if kind == "all_reached":
            out += [_all_reached(recs, c, outcome, v, nested, splits) for v in names]
            continue
        if kind == "only_significant":
            scope = [v for v in _table_variables(recs) if v not in names and v not in claim_list(c["excluded"])]
            judged = [(v, "not_significant") for v in scope]
        else:
            judged = [(v, kind) for v in names]
        checks = []
        for v, as_kind in judged:
            rec = sig(outcome, v)
            stated = rec["stated_test"]
            direction = c["direction"] if as_kind == "significant" else ""
            statuses = {t: _status(as_kind, rec, t, direction, method.alpha) for t in TESTS}
            status, support = statuses[stated] if stated in TESTS else _status(as_kind, rec, stated, direction,
                                                                               method.alpha)
            if rec["kind"] == "continuous" and direction and status == "holds":
                med = _median_direction(recs, outcome, v)
                if med and med != direction:
                    status, support = "contradicted", support + f", but the printed medians are {med} with " \
                                                                f"{outcome.upper()}"
                elif med:
                    support += f"; the printed medians are {med} with {outcome.upper()}"
                else:
                    support += f"; no {outcome.upper()} medians are printed, so the direction is not checkable"
            alternatives = {t: s for t, (s, _) in statuses.items() if t != stated and s != "n/a"}
            if status == "contradicted":
                severity = "minor" if any(s in ("holds", "depends") for s in alternatives.values()) else "major"
            else:
                severity = "info"
            checks.append({"claim_row": c, "variable": v, "as_kind": as_kind, "rec": rec, "stated_test": stated,
                           "status_stated": status, "support": support, "alternatives": alternatives,
                           "severity": severity, "direction": direction})
        if kind == "only_significant":
            out.append({"summary": True, "claim_row": c, "checks": checks})
        else:
            out += checks
    return out


def _all_reached(recs, c, outcome, variable, nested, splits) -> dict:
    """Every patient with ``variable`` reached ``outcome``: is that table among those the other
    printed numbers allow, and do the outcome's printed counts (if any) say the same?"""
    free = feasible_set(recs, outcome, variable, nested=nested, splits=splits, use_printed=False)
    printed = feasible_set(recs, outcome, variable, nested=nested, splits=splits)
    total = overall_count(recs, variable, "")
    t = int(total["value"]) if total else None
    fits = t is not None and any(int(x[0, 0]) == t and int(x[0, 1]) == 0 for x in free.tables)
    says = printed.kind != "printed" or (t is not None and int(printed.tables[0][0, 0]) == t
                                         and int(printed.tables[0][0, 1]) == 0)
    ok = fits and says
    if t is None:
        text = f"'{c['quote']}' ({outcome.upper()}, {variable}): no overall count of {variable} is printed."
    else:
        text = (f"'{c['quote']}' ({outcome.upper()}, {variable}): all {t} with {outcome.upper()} "
                + ("is" if fits else "is not") + f" among the tables the other printed numbers allow "
                f"({free.describe_range()}; {free.basis})"
                + ("" if printed.kind != "printed" else
                   f"; the transcription prints {printed.tables[0][0, 0]} with and {printed.tables[0][0, 1]} without")
                + (": consistent." if ok else ": contradicted."))
    return {"claim_row": c, "variable": variable, "as_kind": "all_reached", "finding_text": text,
            "status_stated": "holds" if ok else "contradicted", "severity": "info" if ok else "major",
            "stated_test": "", "support": "", "alternatives": {}, "rec": None}


def _claim_sentence(chk, method) -> str:
    c, v = chk["claim_row"], chk["variable"]
    o = c["outcome"].upper()
    reached = "reached" if chk["as_kind"] == "significant" else "did not reach"
    direction = ""
    if chk["direction"]:
        word = {"higher": ("higher", "more frequent"), "lower": ("lower", "less frequent")}[chk["direction"]]
        direction = f", {v} {word[0] if chk['rec']['kind'] == 'continuous' else word[1]} with {o}"
    return f"{c['source']}: the {o} comparison of {v} {reached} p < {method.alpha:g}{direction}"


def _claim_text(chk, method) -> str:
    c = chk["claim_row"]
    stated = chk["stated_test"]
    status = chk["status_stated"]
    name = TEST_LABEL.get(stated, _SHORT.get(stated, stated))
    what = {"holds": "holds", "contradicted": "is contradicted", "depends": "depends on the unprinted split",
            "unknown": "is not checkable", "n/a": "does not apply (one level only)"}[status]
    alts = "; ".join(f"{_SHORT[t]}: {s}" for t, s in chk["alternatives"].items())
    return (f"{_claim_sentence(chk, method)} ('{c['quote']}'). Under the stated {name} it {what}"
            + (f": {chk['support']}" if chk["support"] else "") + "."
            + (f" Under the other tests: {alts}." if alts else ""))


def claim_findings(recs, claims, alpha, nested=NESTED_COUNTS, splits=None) -> list[dict]:
    """``claim`` findings: one per claim and variable, and for an ``only_significant`` claim one
    summary plus one finding per variable whose comparison contradicts it under the stated test."""
    if claims is None:
        return []
    method = _method(claims, alpha)
    out = []
    for chk in _claim_rows(recs, claims, alpha, nested, splits):
        c = chk["claim_row"]
        place = {"source": c["source"], "location": c["location"], "outcome": c["outcome"]}
        if chk.get("summary"):
            out += _only_findings(chk, place, method)
            continue
        text = chk.get("finding_text") or _claim_text(chk, method)
        out.append(finding("claim", {**place, "variable": chk["variable"]}, published=c["claim"],
                           recomputed=_stated_min(chk["rec"]), severity=chk["severity"], finding=text))
    return out


def _stated_min(rec) -> float:
    if rec is None or rec["stated_test"] not in TESTS:
        return math.nan
    return rec[f"p_min_{rec['stated_test']}"]


def _only_findings(chk, place, method) -> list[dict]:
    c = chk["claim_row"]
    o = c["outcome"].upper()
    checks = chk["checks"]
    by = {s: [x["variable"] for x in checks if x["status_stated"] == s]
          for s in ("contradicted", "depends", "holds", "unknown", "n/a")}
    # Where another test would change the verdict: the test choice matters for these variables.
    swings: dict = {}
    for x in checks:
        for t, s in x["alternatives"].items():
            if s != x["status_stated"] and "contradicted" in (s, x["status_stated"]):
                swings.setdefault(t, []).append(f"{x['variable']} ({s})")
    named = ", ".join(claim_list(c["variables"]))
    labels = (("contradict it", "contradicted"), ("depends on the unprinted split", "depends"),
              ("consistent with it", "holds"), ("not checkable (continuous, no ranks printed)", "unknown"),
              ("not comparable (one level only)", "n/a"))
    counts = "; ".join(f"{label}: {len(by[k])}" + (f" ({', '.join(by[k])})" if k != "holds" else "")
                       for label, k in labels if by[k])
    worst = min((x["severity"] for x in checks), key=list(("major", "minor", "info")).index, default="info")
    text = (f"{c['source']}: only {named} reached p < {method.alpha:g} for {o} ('{c['quote']}'; "
            f"{c['note'] or 'by implication'}). Judged by the stated tests, the {len(checks)} other variables "
            f"of the tables: {counts}."
            + "".join(f" Under {TEST_LABEL[t]} instead: {', '.join(vs)}." for t, vs in swings.items()))
    out = [finding("claim", {**place, "variable": ""}, published=c["claim"], severity=worst, finding=text)]
    for x in checks:
        if x["status_stated"] == "contradicted":
            out.append(finding("claim", {**place, "variable": x["variable"]}, published=c["claim"],
                               recomputed=_stated_min(x["rec"]), severity=x["severity"],
                               finding=f"Only {named} named for {o}, so by implication: " + _claim_text(x, method)))
    return out


def claim_checks(published: pd.DataFrame | None = None, claims: pd.DataFrame | None = None, *,
                 alpha: float = 0.05, nested=NESTED_COUNTS, splits=None) -> pd.DataFrame:
    """Each claim about each variable judged under the stated test and the alternatives
    (:data:`CLAIM_CHECK_COLUMNS`; status ``holds``, ``contradicted``, ``depends``, ``unknown``,
    ``n/a``; ``support_stated`` says where, in words). An ``only_significant`` claim gives one row
    per variable in its scope, judged as ``not_significant``; ``all_reached`` rows have no test.
    ``claims`` defaults to the claims file for the default transcription, to none otherwise."""
    recs = records(published)
    claims = load_claims() if claims is None and published is None else claims
    out = []
    for chk in ([] if claims is None else _claim_rows(recs, claims, alpha, nested, splits)):
        for x in (chk["checks"] if chk.get("summary") else [chk]):
            c = x["claim_row"]
            out.append({"source": c["source"], "location": c["location"], "outcome": c["outcome"],
                        "claim": c["claim"], "variable": x["variable"], "stated_test": x["stated_test"],
                        "status_stated": x["status_stated"], "support_stated": x["support"],
                        **{f"status_{t}": x["alternatives"].get(t, x["status_stated"] if t == x["stated_test"] else "")
                           for t in TESTS}, "severity": x["severity"]})
    return pd.DataFrame(out, columns=list(CLAIM_CHECK_COLUMNS))
