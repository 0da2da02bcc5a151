"""Is the paper consistent with itself? An audit computed from the published numbers alone.

Nothing here reads patient data: every check takes the numbers of ``data/published/`` (through
:func:`msc_sle.paper.published.load_published`) and the text's claims (``wen2019_claims.csv``,
:func:`msc_sle.paper.published.load_claims`), and recomputes what can be recomputed from them:

- each categorical p-value of Table 2 (and each p-value the text quotes for the same comparison)
  from its published counts, under Pearson's chi-square without correction, Yates' corrected
  chi-square and Fisher's exact test (Fisher-Freeman-Halton beyond 2x2), and which of them the
  printed value agrees with at its printed precision, beside the test the footnote marks
  (``p_value_test``; ``test_choice`` comments on the expected-count rule);
- each categorical p-value printed *without* counts (the LDA arthralgia/arthritis p), tested over
  every integer table the printed numbers allow (``feasible_p``: "consistent under Fisher only",
  "under none", and what the stated test could have printed; :mod:`msc_sle.paper.feasible`);
- for every variable of the paper's tables and both outcomes, whether its comparison could reach
  p < alpha under the stated test and the alternatives, given the printed numbers: at every
  feasible table, at none, or depending on the unprinted split; continuous variables without a
  printed p are "not checkable: continuous, no ranks printed" (``significance``);
- each claim of the text (``claim``): "significant", "not significant", "only these were
  significant", "all reached the outcome", judged under the stated test and the alternatives;
- p-values nothing printed can bound (a Mann-Whitney p, SLEDAI over time): ``not_checkable``;
- each percentage from its count and denominator (``percentage``), and every percentage lying
  exactly on a half where half up and half to even print different digits (``rounding``, one per
  cell and one summary of the convention the paper follows);
- counts that must add up: the two groups to Table 1's overall count, group sizes to the outcome
  counts, the levels of a split to the patients split, strata to their total;
- a median against the split printed at that median (reading 1 of ``data/README.md``), and
  overall median (range) against the groups' medians (ranges);
- counts that must be nested (a CR is an LDA; anti-dsDNA and anti-Sm are ACR immunologic items);
- the same value quoted in several places (abstract, sections, figure legend, tables);
- printing: labels that are a transposition of the dictionary's label, percentages printed at
  mixed precision within a table, and errata recorded in the transcription's notes.

:func:`paper_audit` returns one row per finding (:data:`AUDIT_COLUMNS`: ``check``, the place
``source, location, variable, outcome, group, level``, ``published``, ``recomputed``, ``severity``,
``finding``); ``severity`` is ``info`` (consistent, or an observation), ``minor`` (a slip that
changes no conclusion: rounding, a footnote mark, a typo; or a claim that only the choice of test
decides) or ``major`` (an impossibility, or a number or claim no reading reproduces). For the new
checks, ``published`` is the printed p (``feasible_p``, ``significance``, empty when none is
printed), the claim kind (``claim``) or the printed percentage (``rounding``; the summary gives the
counts of half-up and half-to-even cells); ``recomputed`` is the smallest p of the stated test over
the feasible tables (``feasible_p``, ``significance``, ``claim``), the exact percentage
(``rounding``) or the number of convention-dependent cells (its summary). The tables behind them:
:func:`msc_sle.paper.feasible.feasible_pvalues` (one row per feasible table: ``x``, ``counts``,
``p_chi2``, ``p_chi2_yates``, ``p_fisher``, ``min_expected``, ``direction``),
:func:`~msc_sle.paper.feasible.significance_table` (one row per outcome and variable, per test the
p range, the number of tables with p < alpha and the verdict) and
:func:`~msc_sle.paper.feasible.claim_checks` (one row per claim and variable, a status per test).
It writes nothing; the notebooks save it to ``tables/paper_audit.csv``.
"""
from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np
import pandas as pd

from ..contract import as_dictionary
from ..present.format import format_against, format_fixed, on_half, round_half_to_even, round_half_up
from .feasible import claim_findings, feasible_p_findings, significance_findings
from .published import claims_problems, load_claims, load_published, matches_printed
from .records import (AUDIT_COLUMNS, SEVERITIES, TEST_LABEL as _TEST_LABEL, as_p as _as_p, cohort_size as _cohort_size,
                      finding as _finding, fmt_p as _fmt, group_sizes as _group_sizes, groups as _groups,
                      is_table as _is_table, one as _one, overall_count as _overall_count, p_values as _p_values,
                      prefer as _prefer, records as _records, rows as _rows)
from .records import NESTED_COUNTS, SPLIT_VARIABLES

__all__ = ["AUDIT_COLUMNS", "SEVERITIES", "DEFAULT_CLAIMS", "paper_audit", "recheck_pvalues", "recheck_percentages",
           "SPLIT_VARIABLES", "NESTED_COUNTS", "COMPLEMENTS", "STRATA"]

#: ``complement -> variable``: the complement and the variable add up to the cohort. Section 2.4:
#: "In the absence of LDA, a patient was considered having no response."
COMPLEMENTS = {"no_response": "lda_ever"}

#: ``variable -> stratifier``: counts of ``variable`` printed per level of the stratifier add up to
#: the variable's total and cannot exceed the stratum (section 3.2: second infusions by MSC source).
STRATA = {"second_infusion": "msc_source"}

# --- p-values ---------------------------------------------------------------------------------------

def _count_table(recs: list[dict], outcome: str, variable: str, prefer: str):
    """Counts of ``variable`` by group (columns with, without) as printed, or None.

    One printed level (or a boolean row): a 2x2 table with the complement taken from the group
    sizes. Several levels (prednisone split, nephritis class, induction dose): the levels as rows,
    each group's denominator being the sum of its levels (Table 2 prints the class among biopsied
    patients and the dose among induced ones). Rows with no patient are dropped.
    """
    rows = _rows(recs, outcome=outcome, variable=variable, statistic="n", group=["with", "without"])
    sources = list(dict.fromkeys(r["source"] for r in rows))
    if not sources:
        return None
    source = sorted(sources, key=lambda s: (s != prefer, not _is_table(s)))[0]
    cells = {(r["level"], r["group"]): r["value"] for r in rows if r["source"] == source}
    levels = list(dict.fromkeys(level for level, _ in cells))
    if any((lv, g) not in cells for lv in levels for g in ("with", "without")):
        return None
    counts = np.array([[cells[(lv, g)] for g in ("with", "without")] for lv in levels], dtype=float)
    if len(levels) == 1:
        sizes = _group_sizes(recs, source, outcome)
        if sizes is None:
            return None
        total = np.array([sizes["with"], sizes["without"]], dtype=float)
        table = np.vstack([counts[0], total - counts[0]])
        label = f"{int(counts[0, 0])}/{int(total[0])} vs {int(counts[0, 1])}/{int(total[1])}"
    else:
        keep = counts.sum(axis=1) > 0
        table = counts[keep]
        label = "; ".join(f"{lv}: {int(a)} vs {int(b)}" for lv, (a, b), k in zip(levels, counts, keep) if k)
    return source, table.astype(int), label


_PVALUE_COLUMNS = ["source", "location", "variable", "outcome", "printed", "decimals", "test_marked", "counts_from",
                   "counts", "shape", "min_expected", "p_chi2", "p_chi2_yates", "p_fisher", "agreeing",
                   "marked_agrees"]


def _recheck_pvalues(recs: list[dict]) -> list[dict]:
    out = []
    for row in _rows(recs, statistic="p_value"):
        if not row["outcome"] or row["test_marked"] == "mann_whitney":
            continue
        found = _count_table(recs, row["outcome"], row["variable"], prefer=row["source"])
        if found is None:
            continue
        count_source, table, label = found
        p = _p_values(table)
        agreeing = [t for t in ("chi2", "chi2_yates", "fisher") if matches_printed(p[t], row["printed"])]
        out.append({
            "source": row["source"], "location": row["location"], "variable": row["variable"],
            "outcome": row["outcome"], "printed": row["printed"], "decimals": row["decimals"],
            "test_marked": row["test_marked"], "counts_from": count_source, "counts": label,
            "shape": "x".join(map(str, table.shape)), "min_expected": p["min_expected"],
            "p_chi2": p["chi2"], "p_chi2_yates": p["chi2_yates"], "p_fisher": p["fisher"],
            "agreeing": ", ".join(agreeing), "marked_agrees": row["test_marked"] in agreeing})
    return out


def recheck_pvalues(published: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every categorical p-value whose counts are published, recomputed under three tests.

    One row per published categorical p-value (tables and text) for which both groups' counts are
    printed somewhere (Table 2 for CR): ``source, location, variable, outcome, printed, decimals,
    test_marked, counts_from, counts`` (the table used, as text), ``shape``, ``min_expected``,
    ``p_chi2`` (Pearson, no correction), ``p_chi2_yates`` (2x2 only), ``p_fisher`` (two-sided;
    Fisher-Freeman-Halton beyond 2x2), ``agreeing`` (the tests whose p matches the printed value at
    its printed precision, comma-separated) and ``marked_agrees``.
    """
    return pd.DataFrame.from_records(_recheck_pvalues(_records(published)), columns=_PVALUE_COLUMNS)


# --- percentages --------------------------------------------------------------------------------------

def _find_count(recs: list[dict], row: dict) -> tuple[float, str] | None:
    """The count a percentage is taken of: same place first, then a table, then Table 2's groups summed."""
    same = _rows(recs, source=row["source"], location=row["location"], variable=row["variable"],
                 outcome=row["outcome"], group=row["group"], level=row["level"], statistic="n")
    if same:
        return same[0]["value"], row["source"]
    other = _one(recs, variable=row["variable"], outcome=row["outcome"], group=row["group"], level=row["level"],
                 statistic="n")
    if other is not None:
        return other["value"], other["source"]
    if row["group"] == "all":
        both = _rows(recs, variable=row["variable"], level=row["level"], statistic="n", group=["with", "without"])
        for (source, outcome), grp in _groups(both, "source", "outcome").items():
            if {r["group"] for r in grp} == {"with", "without"}:
                return sum(r["value"] for r in grp), f"{source} ({outcome}: with + without)"
    return None


def _find_denominator(recs: list[dict], row: dict, count_source: str) -> tuple[float, str] | None:
    if row["group"] == "all":
        found = _cohort_size(recs, row["source"])
        return (found[0], f"cohort n ({found[1]})") if found else None
    levels = _rows(recs, source=count_source, variable=row["variable"], outcome=row["outcome"], group=row["group"],
                   statistic="n")
    n_levels = len({r["level"] for r in levels})
    if n_levels > 1:
        return sum(r["value"] for r in levels), f"sum of the {n_levels} levels in the group"
    sizes = _group_sizes(recs, count_source, row["outcome"])
    return (sizes[row["group"]], f"group size ({count_source})") if sizes else None


_PERCENT_COLUMNS = ["source", "location", "variable", "outcome", "group", "level", "printed", "decimals", "count",
                    "count_from", "denominator", "denominator_from", "percent", "rounded", "agrees", "units_off"]


def _recheck_percentages(recs: list[dict]) -> list[dict]:
    out = []
    for row in _rows(recs, statistic="percent"):
        count = _find_count(recs, row)
        if count is None:
            continue
        denom = _find_denominator(recs, row, count[1].split(" (")[0])
        if denom is None or denom[0] == 0:
            continue
        exact = Fraction(int(count[0]) * 100, int(denom[0]))
        d = row["decimals"]
        rounded = round_half_up(exact, d)
        out.append({
            "source": row["source"], "location": row["location"], "variable": row["variable"],
            "outcome": row["outcome"], "group": row["group"], "level": row["level"], "printed": row["printed"],
            "decimals": d, "count": int(count[0]), "count_from": count[1], "denominator": int(denom[0]),
            "denominator_from": denom[1], "percent": float(exact), "rounded": rounded,
            "agrees": rounded == row["value"], "units_off": abs(float(exact) - row["value"]) / 10 ** -d})
    return out


def recheck_percentages(published: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every published percentage recomputed from its count and denominator.

    Columns: ``source, location, variable, outcome, group, level, printed, decimals, count,
    count_from, denominator, denominator_from, percent`` (exact, as a float), ``rounded`` (half up at
    the printed decimals), ``agrees`` and ``units_off`` (distance to the printed value in units of
    its last printed decimal). The count is the one printed beside the percentage, else the same
    quantity in a table, else Table 2's two groups summed (section 3.1's share of women); the
    denominator is the cohort for overall rows, the group size for a group's row, and the sum of the
    levels for a multi-level variable (nephritis class among biopsied patients).
    """
    return pd.DataFrame.from_records(_recheck_percentages(_records(published)), columns=_PERCENT_COLUMNS)


# --- the audit ------------------------------------------------------------------------------------------

def _pvalue_findings(recs, alpha: float, expected_min: float, nested=NESTED_COUNTS, splits=None) -> list[dict]:
    out = []
    checks = _recheck_pvalues(recs)
    for r in checks:
        marked = r["test_marked"]
        marked_p = r.get(f"p_{marked}", math.nan)
        described = (f"{_TEST_LABEL['chi2']} {_fmt(r['p_chi2'])}, "
                     + (f"Yates {_fmt(r['p_chi2_yates'])}, " if r["shape"] == "2x2" else "")
                     + ("Fisher " if r["shape"] == "2x2" else "Fisher-Freeman-Halton ") + _fmt(r["p_fisher"])
                     + f" (counts {r['counts']}, from {r['counts_from']})")
        agreeing = [a for a in r["agreeing"].split(", ") if a]
        names = " and ".join(_TEST_LABEL[a] for a in agreeing)
        if r["marked_agrees"]:
            severity = "info"
            text = f"{described}: the printed {r['printed']} agrees with {names}; the paper marks {_TEST_LABEL[marked]}."
        elif agreeing:
            flips = (float(r["printed"].lstrip("<")) < alpha) != (marked_p < alpha)
            severity = "major" if flips else "minor"
            text = (f"{described}: the printed {r['printed']} agrees with {names}, not with the "
                    f"{_TEST_LABEL.get(marked, marked)} the paper marks for this row ({_fmt(marked_p)})"
                    + (f"; the two fall on different sides of p = {alpha:g}." if flips else
                       f"; the conclusion at p < {alpha:g} is the same either way."))
        else:
            severity = "major"
            text = f"{described}: no test reproduces the printed {r['printed']}."
        out.append(_finding("p_value_test", r, published=r["printed"], recomputed=marked_p, severity=severity,
                            finding=text))
        # The choice of test itself, judged once per table row (not again for the text's quotes).
        if _is_table(r["source"]) and r["shape"] == "2x2" and not math.isnan(r["min_expected"]):
            small = r["min_expected"] < expected_min
            if marked == "chi2" and small:
                out.append(_finding(
                    "test_choice", r, published=r["printed"], recomputed=r["min_expected"], severity="info",
                    finding=(f"Pearson chi-square on a 2x2 table with an expected count of "
                             f"{r['min_expected']:.2f} < {expected_min:g}, where the usual validity rule "
                             f"calls for Fisher's exact test (p = {_fmt(r['p_fisher'])}).")))
            elif marked == "fisher" and not small:
                out.append(_finding(
                    "test_choice", r, published=r["printed"], recomputed=r["min_expected"], severity="info",
                    finding=(f"Fisher's exact test although every expected count is >= {expected_min:g} "
                             f"(smallest {r['min_expected']:.2f}); valid, but not what the expected-count "
                             f"rule would pick (Pearson p = {_fmt(r['p_chi2'])}).")))
    # p-values printed without counts: tested over every table the printed numbers allow.
    done = {(r["source"], r["variable"], r["outcome"]) for r in checks}
    feasible, handled = feasible_p_findings(recs, done, alpha, nested, splits)
    out += feasible
    # p-values nothing published lets us recompute or bound.
    for row in _rows(recs, statistic="p_value"):
        if (row["source"], row["variable"], row["outcome"]) in done | handled:
            continue
        if row["test_marked"] == "mann_whitney":
            why = ("continuous, no ranks printed: a Mann-Whitney p needs the patients' values, and medians "
                   "and ranges do not bound it")
        elif row["outcome"] == "":
            why = "a test over time needs the paired patient-level scores"
        else:
            why = "nothing printed bounds the counts of this comparison"
        what = f"{row['outcome'].upper()} comparison p" if row["outcome"] else "p"
        out.append(_finding("not_checkable", row, published=row["printed"],
                            finding=f"{what} {_as_p(row['printed'])} not recomputable from the published numbers: {why}."))
    return out


def _percentage_findings(recs, slip_units: float) -> list[dict]:
    out = []
    for r in _recheck_percentages(recs):
        frac = f"{r['count']}/{r['denominator']} = {format_fixed(r['percent'], 3)}%"
        where = f"count from {r['count_from']}, denominator: {r['denominator_from']}"
        printed = float(r["printed"].rstrip("%"))
        # Which counts out of this denominator would print the published percentage?
        fits = [k for k in range(r["denominator"] + 1)
                if round_half_up(Fraction(100 * k, r["denominator"]), r["decimals"]) == printed]
        if r["agrees"]:
            severity, text = "info", f"{frac} rounds to the printed {r['printed']}."
        elif r["units_off"] < slip_units:
            severity = "minor"
            if r["units_off"] < 1:
                kind = "rounded the wrong way"
            elif fits:
                kind = f"{r['printed']} would be " + " or ".join(f"{k}/{r['denominator']}" for k in fits)
            else:
                kind = f"no count out of {r['denominator']} prints as {r['printed']}"
            text = (f"Slip ({kind}): {frac} rounds to {r['rounded']:.{r['decimals']}f}, printed "
                    f"{r['printed']} ({where}).")
        else:
            severity = "major"
            other = (", which is " + " or ".join(f"{k}/{r['denominator']}" for k in fits)) if fits else ""
            text = (f"{frac} is {r['units_off']:.1f} units of the last decimal away from the printed "
                    f"{r['printed']}{other}: count and percentage disagree ({where}).")
        out.append(_finding("percentage", r, published=r["printed"], recomputed=r["percent"], severity=severity,
                            finding=text))
    return out


def _rounding_findings(recs) -> list[dict]:
    """Percentages whose exact value lies on a half at the printed precision, where half up and half
    to even print different digits; and one summary of the convention the paper follows."""
    out, halves, up, even, neither = [], 0, [], [], []
    for r in _recheck_percentages(recs):
        exact = Fraction(r["count"] * 100, r["denominator"])
        d = r["decimals"]
        if not on_half(exact, d):
            continue
        halves += 1
        hu, he = round_half_up(exact, d), round_half_to_even(exact, d)
        if hu == he:
            continue
        printed = float(r["printed"].rstrip("%"))
        follows = "half up" if printed == hu else "half to even" if printed == he else ""
        (up if follows == "half up" else even if follows else neither).append(r)
        shown = format_against(exact, d, extra=1)
        out.append(_finding(
            "rounding", r, published=r["printed"], recomputed=float(exact), severity="info",
            finding=(f"{r['count']}/{r['denominator']} = {shown}% lies exactly on a half at {d} decimal(s): "
                     f"half up prints {format_fixed(hu, d)}, half to even {format_fixed(he, d)}; the paper prints "
                     f"{r['printed']}" + (f" ({follows})." if follows else " (neither: see the percentage check)."))))
    cells = up + even + neither
    if halves:
        if cells and not even and not neither:
            verdict, severity = "the paper rounds half up", "info"
        elif cells and not up and not neither:
            verdict, severity = "the paper rounds half to even", "info"
        elif cells:
            verdict, severity = "the paper mixes conventions", "minor"
        else:
            verdict, severity = "no printed digit depends on the convention", "info"
        both = halves - len(cells)
        out.append(_finding(
            "rounding", None, published=f"{len(up)} half up, {len(even)} half to even", recomputed=float(len(cells)),
            severity=severity,
            finding=(f"{halves} printed percentage(s) lie exactly on a half at their printed precision; in "
                     f"{len(cells)} the two conventions print different digits, and the paper prints the half-up "
                     f"digits in {len(up)}, the half-to-even digits in {len(even)}"
                     + (f", neither in {len(neither)}" if neither else "") + f": {verdict}"
                     + (f" (in the other {both} both conventions print the same digits)." if both else ".")
                     + " Only percentages are exact fractions of printed counts; medians, ranges and p-values give "
                       "no such test.")))
    return out


def _sum_findings(recs) -> list[dict]:
    out = []
    groups = _rows(recs, statistic="n", group=["with", "without"])
    for (source, outcome, variable, level), grp in _groups(groups, "source", "outcome", "variable", "level").items():
        by_group = {r["group"]: r["value"] for r in grp}
        if set(by_group) != {"with", "without"}:
            continue
        total = _overall_count(recs, variable, level)
        if total is None:
            continue
        parts = [int(by_group["with"]), int(by_group["without"])]
        ok = sum(parts) == total["value"]
        out.append(_finding(
            "group_sum", grp[0], group="", published=f"{parts[0]} + {parts[1]}", recomputed=float(sum(parts)),
            severity="info" if ok else "major",
            finding=(f"With {outcome.upper()} {parts[0]} + without {parts[1]} = {sum(parts)}"
                     + (" equals " if ok else " differs from ")
                     + f"the overall {int(total['value'])} of {total['source']}.")))
    # Group sizes against the outcome counts: the 'with' group of CR is the CR patients.
    heads = _rows(recs, location="header", statistic="n", group=["with", "without"])
    for (source, outcome), head in _groups(heads, "source", "outcome").items():
        sizes = {r["group"]: r["value"] for r in head}
        ever = _overall_count(recs, f"{outcome}_ever", "")
        cohort = _cohort_size(recs, source)
        if ever is None or cohort is None or set(sizes) != {"with", "without"}:
            continue
        w, wo = int(sizes["with"]), int(sizes["without"])
        ok = w == ever["value"] and w + wo == cohort[0]
        out.append(_finding(
            "group_sum", head[0], group="", variable=f"{outcome}_ever", published=f"{w} / {wo}",
            recomputed=ever["value"], severity="info" if ok else "major",
            finding=(f"Group sizes {w} with and {wo} without {outcome.upper()}: "
                     + ("consistent with " if ok else "inconsistent with ")
                     + f"{int(ever['value'])} {outcome}_ever ({ever['source']}) of a cohort of {int(cohort[0])}.")))
    return out


def _adds_up_to_cohort(recs, row, first, second, first_name, second_name) -> list[dict]:
    """A finding on whether two published counts (``first`` + ``second``) add up to the cohort size
    printed in ``row``'s source; none when either count or the cohort size is not published."""
    cohort = _cohort_size(recs, row["source"])
    if first is None or second is None or cohort is None:
        return []
    a, b = int(first["value"]), int(second["value"])
    ok = a + b == cohort[0]
    return [_finding("totals", row, published=f"{a} + {b}", recomputed=float(a + b),
                     severity="info" if ok else "major",
                     finding=f"{first_name} {a} + {second_name} {b} {'=' if ok else '!='} cohort {int(cohort[0])}.")]


def _total_findings(recs, splits, complements, strata) -> list[dict]:
    out = []
    for split, (_, population) in splits.items():
        rows = _rows(recs, variable=split, statistic="n", group=["with", "without"])
        for (source, outcome), grp in _groups(rows, "source", "outcome").items():
            pop = _overall_count(recs, population, "")
            if pop is None:
                continue
            total = int(sum(r["value"] for r in grp))
            ok = total == pop["value"]
            n_levels = len({r["level"] for r in grp})
            out.append(_finding(
                "totals", grp[0], group="", level="", published=" + ".join(str(int(r["value"])) for r in grp),
                recomputed=float(total), severity="info" if ok else "major",
                finding=(f"The {n_levels} levels of {split} over both groups add up to {total}, "
                         + ("equal to" if ok else "but") + f" {population} is {int(pop['value'])} ({pop['source']}).")))
    for comp, variable in complements.items():
        for c in _rows(recs, variable=comp, group="all", statistic="n"):
            out += _adds_up_to_cohort(recs, c, c, _overall_count(recs, variable, ""), comp, variable)
    # A boolean printed with a 'no' level: yes + no = cohort (section 3.2: induced and not induced).
    for no in _rows(recs, level="no", group="all", statistic="n"):
        yes = _overall_count(recs, no["variable"], "")
        out += _adds_up_to_cohort(recs, no, yes, no, f"{no['variable']} yes", "no")
    for variable, stratifier in strata.items():
        rows = _rows(recs, variable=variable, group="all", statistic="n")
        for (source,), grp in _groups(rows, "source").items():
            total = [r for r in grp if r["level"] == ""]
            parts = [r for r in grp if r["level"] != ""]
            if not total or not parts:
                continue
            s = int(sum(r["value"] for r in parts))
            ok = s == total[0]["value"]
            problems = []
            for part in parts:
                stratum = _overall_count(recs, stratifier, part["level"])
                if stratum is not None and part["value"] > stratum["value"]:
                    problems.append(f"{int(part['value'])} > {int(stratum['value'])} {part['level']}")
            out.append(_finding(
                "totals", total[0], published=" + ".join(str(int(r["value"])) for r in parts),
                recomputed=float(s), severity="info" if ok and not problems else "major",
                finding=(f"{variable} by {stratifier}: "
                         + " + ".join(f"{int(r['value'])} {r['level']}" for r in parts) + f" = {s}"
                         + (" equals " if ok else " differs from ") + f"the total {int(total[0]['value'])}"
                         + ("; each within its stratum." if not problems else
                            "; exceeds the stratum: " + ", ".join(problems) + "."))))
    return out


_LEVEL = re.compile(r"^\s*(<=|>=|<|>|≤|≥)\s*([0-9.]+)")


def _median_split_findings(recs, splits) -> list[dict]:
    """A median m of N values puts at least ceil(N/2) of them at <= m and at least ceil(N/2) at >= m."""
    out = []
    for split, (continuous, population) in splits.items():
        med = _one(recs, variable=continuous, group="all", statistic="median")
        pop = _overall_count(recs, population, "")
        rows = _rows(recs, variable=split, statistic="n", group=["with", "without"])
        if med is None or pop is None or not rows:
            continue
        m, n = med["value"], int(pop["value"])
        half = math.ceil(n / 2)
        for (level,), grp in _groups(rows, "level").items():
            parsed = _LEVEL.match(level)
            if not parsed:
                continue
            count = int(sum(r["value"] for r in grp))
            op = {"≤": "<=", "≥": ">="}.get(parsed.group(1), parsed.group(1))
            c = float(parsed.group(2))
            # Does the median force at least half the patients into {x op c}, or at most half?
            at_least_half = {"<=": c >= m, "<": c > m, ">=": c <= m, ">": c < m}[op]
            ok = count >= half if at_least_half else count <= n - half
            bound = f">= {half}" if at_least_half else f"<= {n - half}"
            flipped = {"<=": "<", "<": "<=", ">=": ">", ">": ">="}[op]
            text = (f"A median of {m:g} among {n} patients ({med['source']}) allows {bound} patients at "
                    f"{op} {c:g}; the split prints {count}")
            if ok:
                severity, text = "info", text + ": consistent."
            else:
                severity = "major"
                text += (f": impossible. The counts fit the median only if the boundary value belongs to "
                         f"the other group ('{flipped} {c:g}'), reading 1 of the data (appendix).")
            out.append(_finding("median_split", grp[0], group="", published=f"{count} at {level}",
                                recomputed=float(m), severity=severity, finding=text))
    return out


def _median_range_findings(recs) -> list[dict]:
    out = []
    rows = _rows(recs, statistic=["median", "min", "max"], group=["with", "without"])
    for (source, outcome, variable), grp in _groups(rows, "source", "outcome", "variable").items():
        overall = _prefer(_rows(recs, variable=variable, group="all", statistic=["median", "min", "max"]))
        if not overall:
            continue
        src = overall[0]["source"]
        ov = {r["statistic"]: r["value"] for r in overall if r["source"] == src}
        g = {(r["group"], r["statistic"]): r["value"] for r in grp}
        if len(ov) < 3 or len(g) < 6:
            continue
        lo = min(g[("with", "min")], g[("without", "min")])
        hi = max(g[("with", "max")], g[("without", "max")])
        mlo, mhi = sorted((g[("with", "median")], g[("without", "median")]))
        problems = []
        if ov["min"] != lo:
            problems.append(f"overall minimum {ov['min']:g} is not the smaller group minimum {lo:g}")
        if ov["max"] != hi:
            problems.append(f"overall maximum {ov['max']:g} is not the larger group maximum {hi:g}")
        if not mlo <= ov["median"] <= mhi:
            problems.append(f"overall median {ov['median']:g} lies outside the group medians {mlo:g}-{mhi:g}")
        out.append(_finding(
            "median_range", grp[0], group="", published=f"{ov['median']:g} ({ov['min']:g}-{ov['max']:g})",
            recomputed=ov["median"], severity="major" if problems else "info",
            finding=(f"Overall {ov['median']:g} ({ov['min']:g}-{ov['max']:g}) in {src} vs groups "
                     f"{g[('with', 'median')]:g} ({g[('with', 'min')]:g}-{g[('with', 'max')]:g}) and "
                     f"{g[('without', 'median')]:g} ({g[('without', 'min')]:g}-{g[('without', 'max')]:g}): "
                     + ("; ".join(problems) + "." if problems else "consistent."))))
    return out


def _nested_findings(recs, nested) -> list[dict]:
    out = []
    for sub, sup in nested:
        supers = {(r["source"], r["outcome"], r["group"]): r for r in _rows(recs, variable=sup, statistic="n", level="")}
        for r in _rows(recs, variable=sub, statistic="n", level=""):
            s = supers.get((r["source"], r["outcome"], r["group"]))
            if s is None:
                continue
            ok = r["value"] <= s["value"]
            out.append(_finding(
                "nested", r, published=f"{int(r['value'])} <= {int(s['value'])}", recomputed=s["value"],
                severity="info" if ok else "major",
                finding=(f"{sub} {int(r['value'])} " + ("<=" if ok else "exceeds") + f" {sup} {int(s['value'])}"
                         + ("" if r["group"] == "all" else f" in the group {r['group']} {r['outcome'].upper()}")
                         + ("." if ok else ": impossible, the first is part of the second."))))
    return out


def _text_findings(recs, slip_units: float) -> list[dict]:
    """The same quantity printed in several places: each against the reference (a table, else the first)."""
    out = []
    for _, rows in _groups(recs, "variable", "outcome", "group", "level", "statistic").items():
        if len({r["source"] for r in rows}) < 2:
            continue
        ordered = _prefer(rows)
        ref = ordered[0]
        for other in ordered[1:]:
            if other["source"] == ref["source"]:
                continue
            d = min(ref["decimals"], other["decimals"])
            if "<" in (ref["comparator"], other["comparator"]):
                ok = (ref["comparator"] == other["comparator"] and ref["value"] == other["value"]) or (
                    other["comparator"] == "=" and other["value"] < ref["value"]) or (
                    ref["comparator"] == "=" and ref["value"] < other["value"])
                units = math.inf
            else:
                a, b = round_half_up(ref["value"], d), round_half_up(other["value"], d)
                ok = a == b
                units = round(abs(a - b) / 10 ** -d, 6)
            if ok:
                severity = "info"
                text = (f"{other['source']} prints {other['printed']}, {ref['source']} {ref['printed']}: consistent"
                        + (f" at {d} decimals." if ref["decimals"] != other["decimals"] else "."))
            else:
                severity = "minor" if units < slip_units else "major"
                text = (f"{other['source']} prints {other['printed']} where {ref['source']} prints "
                        f"{ref['printed']} ({other['location']} vs {ref['location']}).")
            out.append(_finding("text_vs_table", other, published=other["printed"], recomputed=ref["value"],
                                severity=severity, finding=text))
    return out


def _precision_findings(recs) -> list[dict]:
    out = []
    for (source,), rows in _groups(_rows(recs, statistic="percent"), "source").items():
        if not _is_table(source):
            continue
        # Whole numbers (0%, 100%, 20%) carry no precision; look at the others.
        frac = [r for r in rows if "." in r["printed"]]
        decimals = [r["decimals"] for r in frac]
        if len(set(decimals)) < 2:
            continue
        usual = max(set(decimals), key=decimals.count)
        odd = [r for r in frac if r["decimals"] != usual]
        out.append(_finding(
            "precision", odd[0], location="; ".join(dict.fromkeys(r["location"] for r in odd)), variable="",
            group="", level="", outcome="", published=", ".join(r["printed"] for r in odd), recomputed=float(usual),
            severity="info",
            finding=(f"{source} prints percentages with {usual} decimal(s) except {len(odd)} value(s) with "
                     f"{', '.join(map(str, sorted({r['decimals'] for r in odd})))}: "
                     f"{', '.join(r['printed'] for r in odd)}.")))
    return out


def _label_findings(recs, dictionary) -> list[dict]:
    out = []
    labels = {n: dictionary.variable(n).label for n in dictionary.names}
    rows = [r for r in recs if _is_table(r["source"]) and r["location"] not in ("header", "text", "legend")]
    for (source, location, variable), _ in _groups(rows, "source", "location", "variable").items():
        label = labels.get(variable)
        if not label or location.lower() == label.lower():
            continue
        if sorted(location.lower()) == sorted(label.lower()):
            out.append(_finding(
                "label", {"source": source, "location": location, "variable": variable}, published=location,
                severity="minor",
                finding=(f"'{location}' has the letters of '{label}' transposed (the data dictionary's label, "
                         f"as the table footnote's abbreviation list spells it): a typo.")))
    return out


def _erratum_findings(recs) -> list[dict]:
    out = []
    for r in recs:
        if r["note"].lower().startswith("erratum:"):
            text = r["note"].split(":", 1)[1].strip()
            out.append(_finding("erratum", r, published=r["printed"], severity="minor",
                                finding=text[:1].upper() + text[1:] + " (recorded in the transcription)."))
    return out


#: ``claims=`` default of :func:`paper_audit`: the claims file of ``data/published/``.
DEFAULT_CLAIMS = "default"


def paper_audit(published: pd.DataFrame | None = None, *, claims=DEFAULT_CLAIMS, alpha: float = 0.05,
                expected_min: float = 5, slip_units: float = 2,
                splits: dict | None = None, nested=NESTED_COUNTS, complements: dict | None = None,
                strata: dict | None = None, dictionary=None) -> pd.DataFrame:
    """All consistency findings on the published numbers, most severe first.

    Parameters
    ----------
    published : the transcription (default: :func:`msc_sle.paper.published.load_published`).
    claims : the text's claims (default: :func:`msc_sle.paper.published.load_claims`; ``None``: no
        claims checked). Their ``method`` rows give the stated tests and the significance level of
        the ``significance`` and ``claim`` checks; claims naming a variable or outcome the
        transcription lacks raise ValueError (a synthetic paper passes its own claims, or None).
    alpha : significance level of the paper (section 2.5: p < 0.05); a test disagreement that
        moves a p-value across it is ``major``; also the level of the ``significance`` check when
        ``claims`` has no ``method`` row.
    expected_min : expected-count threshold of the usual chi-square validity rule (any cell < 5 in
        a 2x2 table calls for Fisher's exact test), used to comment on the paper's test choice.
    slip_units : a printed number less than this many units of its last decimal away from the
        recomputed one is a ``minor`` slip (7.3 for 7.246; 39.0 for 39.13); further away it is
        ``major`` (count and percentage then disagree, or two places print different numbers).
    splits, nested, complements, strata : structural facts the sums rely on; defaults
        :data:`SPLIT_VARIABLES`, :data:`NESTED_COUNTS`, :data:`COMPLEMENTS`, :data:`STRATA`.
    dictionary : the data dictionary's path (labels for the typo check; default ``data/dictionary.csv``).

    Returns a DataFrame with :data:`AUDIT_COLUMNS`. ``published`` is the printed text (or the
    printed numbers the check combines), ``recomputed`` the number the check derives or compares
    against (NaN when none), ``finding`` says what was compared and what follows.
    """
    recs = _records(published)
    splits = SPLIT_VARIABLES if splits is None else splits
    complements = COMPLEMENTS if complements is None else complements
    strata = STRATA if strata is None else strata
    dictionary = as_dictionary(dictionary)
    if isinstance(claims, str) and claims == DEFAULT_CLAIMS:
        claims = load_claims()
    if claims is not None:
        problems = claims_problems(claims, load_published() if published is None else published)
        if problems:
            raise ValueError("the claims do not fit the transcription (pass claims=None, or claims about "
                             "this transcription):\n  - " + "\n  - ".join(problems))
    findings = (_pvalue_findings(recs, alpha, expected_min, nested, splits) + _percentage_findings(recs, slip_units)
                + _rounding_findings(recs)
                + _sum_findings(recs) + _total_findings(recs, splits, complements, strata)
                + _median_split_findings(recs, splits) + _median_range_findings(recs) + _nested_findings(recs, nested)
                + _text_findings(recs, slip_units) + _precision_findings(recs) + _label_findings(recs, dictionary)
                + _erratum_findings(recs) + significance_findings(recs, claims, alpha, nested, splits)
                + claim_findings(recs, claims, alpha, nested, splits))
    out = pd.DataFrame.from_records(findings, columns=list(AUDIT_COLUMNS))
    for c in AUDIT_COLUMNS:
        if c != "recomputed":
            out[c] = out[c].astype(str).astype("string")
    out["recomputed"] = out["recomputed"].astype(float)
    order = out["severity"].map({s: i for i, s in enumerate(SEVERITIES)})
    return out.assign(_o=order).sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True)
