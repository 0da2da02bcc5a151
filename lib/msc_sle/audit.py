"""Is the paper consistent with itself? An audit computed from the published numbers alone.

Nothing here reads patient data: every check takes the numbers of ``data/published/`` (through
:func:`msc_sle.published.load_published`) and recomputes what can be recomputed from them:

- each categorical p-value of Table 2 (and each p-value the text quotes for the same comparison)
  from its published counts, under Pearson's chi-square without correction, Yates' corrected
  chi-square and Fisher's exact test (Fisher-Freeman-Halton beyond 2x2), and which of them the
  printed value agrees with at its printed precision, beside the test the footnote marks;
- each percentage from its count and denominator;
- counts that must add up: the two groups to Table 1's overall count, group sizes to the outcome
  counts, the levels of a split to the patients split, strata to their total;
- a median against the split printed at that median (reading 1 of ``data/README.md``), and
  overall median (range) against the groups' medians (ranges);
- counts that must be nested (a CR is an LDA; anti-dsDNA and anti-Sm are ACR immunologic items);
- the same value quoted in several places (abstract, sections, figure legend, tables);
- printing: labels that are a transposition of the dictionary's label, percentages printed at
  mixed precision within a table, and errata recorded in the transcription's notes.

:func:`paper_audit` returns one row per finding; ``severity`` is ``info`` (consistent, or an
observation), ``minor`` (a slip that changes no conclusion: rounding, a footnote mark, a typo) or
``major`` (an impossibility, or a number no reading reproduces). It writes nothing; the notebooks
save it to ``tables/paper_audit.csv``.
"""
from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np
import pandas as pd
from scipy import stats

from .data import load_dictionary
from .published import _mask, group_sizes, load_published, matches_printed, round_half_up

__all__ = ["AUDIT_COLUMNS", "SEVERITIES", "paper_audit", "recheck_pvalues", "recheck_percentages",
           "SPLIT_VARIABLES", "NESTED_COUNTS", "COMPLEMENTS", "STRATA"]

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

#: ``complement -> variable``: the complement and the variable add up to the cohort. Section 2.4:
#: "In the absence of LDA, a patient was considered having no response."
COMPLEMENTS = {"no_response": "lda_ever"}

#: ``variable -> stratifier``: counts of ``variable`` printed per level of the stratifier add up to
#: the variable's total and cannot exceed the stratum (section 3.2: second infusions by MSC source).
STRATA = {"second_infusion": "msc_source"}

_TEST_LABEL = {"chi2": "Pearson chi-square", "chi2_yates": "Yates-corrected chi-square",
               "fisher": "Fisher's exact test"}
_SOURCE_ORDER = ("Table 1", "Table 2")


# --- p-values ---------------------------------------------------------------------------------------

def _plain(published: pd.DataFrame | None) -> pd.DataFrame:
    """The transcription with object text columns: one consolidated block, fast to filter repeatedly."""
    pub = load_published() if published is None else published
    text = [c for c in pub.columns if c not in ("value", "decimals")]
    return pub.astype({c: object for c in text}).reset_index(drop=True)


def _rows(pub, **where):
    return pub[_mask(pub, where)]


def _is_table(source: str) -> bool:
    return source.startswith("Table")


def _comparison_source(pub, outcome: str, variable: str, prefer: str) -> str | None:
    """The source holding both groups' counts of ``variable`` for ``outcome`` (a table first)."""
    rows = _rows(pub, outcome=outcome, variable=variable, statistic="n", group=["with", "without"])
    sources = list(dict.fromkeys(rows["source"]))
    if not sources:
        return None
    ranked = sorted(sources, key=lambda s: (s != prefer, not _is_table(s)))
    return ranked[0]


def _count_table(pub, outcome: str, variable: str, prefer: str):
    """Counts of ``variable`` by group (columns with, without) as printed, or None.

    One printed level (or a boolean row): a 2x2 table with the complement taken from the group
    sizes. Several levels (prednisone split, nephritis class, induction dose): the levels as rows,
    each group's denominator being the sum of its levels (Table 2 prints the class among biopsied
    patients and the dose among induced ones). Rows with no patient are dropped.
    """
    source = _comparison_source(pub, outcome, variable, prefer)
    if source is None:
        return None
    rows = _rows(pub, source=source, outcome=outcome, variable=variable, statistic="n",
                 group=["with", "without"])
    levels = list(dict.fromkeys(rows["level"]))
    counts = np.array([[rows.loc[(rows["level"] == lv) & (rows["group"] == g), "value"].iloc[0]
                        for g in ("with", "without")] for lv in levels], dtype=float)
    if len(levels) == 1:
        try:
            sizes = group_sizes(pub, source=source, outcome=outcome)
        except KeyError:
            return None
        total = np.array([sizes["with"], sizes["without"]], dtype=float)
        table = np.vstack([counts[0], total - counts[0]])
        label = f"{int(counts[0, 0])}/{int(total[0])} vs {int(counts[0, 1])}/{int(total[1])}"
    else:
        keep = counts.sum(axis=1) > 0
        table = counts[keep]
        label = "; ".join(f"{lv}: {int(a)} vs {int(b)}" for lv, (a, b), k in zip(levels, counts, keep) if k)
    return source, table.astype(int), label


def _p_values(table: np.ndarray) -> dict[str, float]:
    out = {"chi2": math.nan, "chi2_yates": math.nan, "fisher": math.nan, "min_expected": math.nan}
    if (table.sum(axis=0) == 0).any() or table.shape[0] < 2:
        return out
    res = stats.chi2_contingency(table, correction=False)
    out["chi2"] = float(res.pvalue)
    out["min_expected"] = float(res.expected_freq.min())
    if table.shape == (2, 2):
        out["chi2_yates"] = float(stats.chi2_contingency(table, correction=True).pvalue)
    # scipy >= 1.15 computes the Fisher-Freeman-Halton exact p for tables beyond 2x2.
    out["fisher"] = float(stats.fisher_exact(table).pvalue)
    return out


def recheck_pvalues(published: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every categorical p-value whose counts are published, recomputed under three tests.

    One row per published categorical p-value (tables and text) for which both groups' counts are
    printed somewhere (Table 2 for CR): ``source, location, variable, outcome, printed, decimals,
    test_marked, counts`` (the table used, as text), ``min_expected``, ``p_chi2`` (Pearson, no
    correction), ``p_chi2_yates`` (2x2 only), ``p_fisher`` (two-sided; Fisher-Freeman-Halton beyond
    2x2), ``agreeing`` (the tests whose p matches the printed value at its printed precision,
    comma-separated) and ``marked_agrees``.
    """
    pub = _plain(published)
    prows = _rows(pub, statistic="p_value")
    prows = prows[prows["outcome"] != ""]
    records = []
    for _, row in prows.iterrows():
        if row["test_marked"] in ("mann_whitney",):
            continue
        found = _count_table(pub, row["outcome"], row["variable"], prefer=row["source"])
        if found is None:
            continue
        count_source, table, label = found
        p = _p_values(table)
        agreeing = [t for t in ("chi2", "chi2_yates", "fisher") if matches_printed(p[t], row["printed"])]
        records.append({
            "source": row["source"], "location": row["location"], "variable": row["variable"],
            "outcome": row["outcome"], "printed": row["printed"], "decimals": int(row["decimals"]),
            "test_marked": row["test_marked"], "counts_from": count_source, "counts": label,
            "shape": "x".join(map(str, table.shape)), "min_expected": p["min_expected"],
            "p_chi2": p["chi2"], "p_chi2_yates": p["chi2_yates"], "p_fisher": p["fisher"],
            "agreeing": ", ".join(agreeing), "marked_agrees": row["test_marked"] in agreeing})
    return pd.DataFrame.from_records(records, columns=[
        "source", "location", "variable", "outcome", "printed", "decimals", "test_marked", "counts_from",
        "counts", "shape", "min_expected", "p_chi2", "p_chi2_yates", "p_fisher", "agreeing", "marked_agrees"])


# --- percentages --------------------------------------------------------------------------------------

def _prefer(rows: pd.DataFrame, source: str | None = None) -> pd.DataFrame:
    def rank(s):
        return (s != source, s not in _SOURCE_ORDER, _SOURCE_ORDER.index(s) if s in _SOURCE_ORDER else 0)
    return rows.assign(_r=rows["source"].map(rank)).sort_values("_r", kind="stable").drop(columns="_r")


def _cohort_size(pub, source: str) -> tuple[float, str] | None:
    rows = _prefer(_rows(pub, variable="n", group="all", statistic="n"), source)
    if rows.empty:
        return None
    return float(rows["value"].iloc[0]), rows["source"].iloc[0]


def _find_count(pub, row) -> tuple[float, str] | None:
    """The count a percentage is taken of: same place first, then a table, then Table 2's groups summed."""
    same = _rows(pub, source=row["source"], location=row["location"], variable=row["variable"],
                 outcome=row["outcome"], group=row["group"], level=row["level"], statistic="n")
    if len(same):
        return float(same["value"].iloc[0]), row["source"]
    other = _prefer(_rows(pub, variable=row["variable"], outcome=row["outcome"], group=row["group"],
                          level=row["level"], statistic="n"))
    if len(other):
        return float(other["value"].iloc[0]), other["source"].iloc[0]
    if row["group"] == "all":
        both = _rows(pub, variable=row["variable"], level=row["level"], statistic="n", group=["with", "without"])
        for (source, outcome), grp in both.groupby(["source", "outcome"], sort=False):
            if set(grp["group"]) == {"with", "without"}:
                return float(grp["value"].sum()), f"{source} ({outcome}: with + without)"
    return None


def _find_denominator(pub, row, count_source: str) -> tuple[float, str] | None:
    if row["group"] == "all":
        found = _cohort_size(pub, row["source"])
        return (found[0], f"cohort n ({found[1]})") if found else None
    source = count_source if count_source in set(pub["source"]) else row["source"]
    levels = _rows(pub, source=source, variable=row["variable"], outcome=row["outcome"], group=row["group"],
                   statistic="n")
    if levels["level"].nunique() > 1:
        return float(levels["value"].sum()), f"sum of the {levels['level'].nunique()} levels in the group"
    try:
        size = group_sizes(pub, source=source, outcome=row["outcome"])[row["group"]]
    except KeyError:
        return None
    return float(size), f"group size ({source} header)"


def recheck_percentages(published: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every published percentage recomputed from its count and denominator.

    Columns: ``source, location, variable, outcome, group, level, printed, decimals, count,
    count_from, denominator, denominator_from, percent`` (exact, as a float), ``rounded`` (half up at
    the printed decimals), ``agrees`` and ``units_off`` (distance to the printed value in units of
    its last printed decimal). Percentages whose count or denominator is nowhere printed are left
    out (the conclusions' "around 58%" takes its count from Table 1).
    """
    pub = _plain(published)
    records = []
    for _, row in _rows(pub, statistic="percent").iterrows():
        count = _find_count(pub, row)
        if count is None:
            continue
        denom = _find_denominator(pub, row, count[1].split(" (")[0])
        if denom is None or denom[0] == 0:
            continue
        exact = Fraction(int(count[0]) * 100, int(denom[0]))
        d = int(row["decimals"])
        rounded = round_half_up(exact, d)
        records.append({
            "source": row["source"], "location": row["location"], "variable": row["variable"],
            "outcome": row["outcome"], "group": row["group"], "level": row["level"], "printed": row["printed"],
            "decimals": d, "count": int(count[0]), "count_from": count[1], "denominator": int(denom[0]),
            "denominator_from": denom[1], "percent": float(exact), "rounded": rounded,
            "agrees": rounded == float(row["value"]),
            "units_off": abs(float(exact) - float(row["value"])) / 10 ** -d})
    return pd.DataFrame.from_records(records, columns=[
        "source", "location", "variable", "outcome", "group", "level", "printed", "decimals", "count",
        "count_from", "denominator", "denominator_from", "percent", "rounded", "agrees", "units_off"])


# --- the audit ------------------------------------------------------------------------------------------

def _as_p(printed: str) -> str:
    return f"< {printed[1:]}" if printed.startswith("<") else f"= {printed}"


def _fmt(p: float) -> str:
    """A recomputed p-value, to four decimals (one more than the paper's most precise)."""
    return "n/a" if p is None or math.isnan(p) else f"{p:.4f}"


def _finding(check, row=None, *, published="", recomputed=math.nan, severity="info", finding="", **override):
    base = {c: "" for c in AUDIT_COLUMNS}
    if row is not None:
        for c in ("source", "location", "variable", "outcome", "group", "level"):
            if c in row:
                base[c] = row[c]
    base.update(check=check, published=published, recomputed=recomputed, severity=severity, finding=finding)
    base.update(override)
    return base


def _pvalue_findings(pub, alpha: float, expected_min: float) -> list[dict]:
    out = []
    checks = recheck_pvalues(pub)
    for _, r in checks.iterrows():
        marked = r["test_marked"]
        marked_p = r[f"p_{marked}"] if f"p_{marked}" in r else math.nan
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
                    f"{_TEST_LABEL[marked]} the paper marks for this row ({_fmt(marked_p)})"
                    + ("; the two sides of p = {alpha} differ." if flips else "; the conclusion at "
                       f"p < {alpha:g} is the same either way."))
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
    # p-values nothing published lets us recompute.
    done = set(zip(checks["source"], checks["variable"], checks["outcome"]))
    for _, row in _rows(pub, statistic="p_value").iterrows():
        if (row["source"], row["variable"], row["outcome"]) in done:
            continue
        if row["test_marked"] == "mann_whitney":
            why = "a Mann-Whitney p needs the patient-level values; only median (range) is printed"
        elif row["outcome"] == "":
            why = "a test over time needs the paired patient-level scores"
        else:
            why = "the paper prints no counts for this comparison"
        what = f"{row['outcome'].upper()} comparison p" if row["outcome"] else "p"
        out.append(_finding("not_checkable", row, published=row["printed"],
                            finding=f"{what} {_as_p(row['printed'])} not recomputable from the published numbers: {why}."))
    return out


def _percentage_findings(pub, slip_units: float) -> list[dict]:
    out = []
    for _, r in recheck_percentages(pub).iterrows():
        frac = f"{r['count']}/{r['denominator']} = {r['percent']:.3f}%"
        where = f"count from {r['count_from']}, denominator: {r['denominator_from']}"
        printed = float(str(r["printed"]).rstrip("%"))
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
                kind = f"{r['printed']} would be {' or '.join(str(k) + '/' + str(r['denominator']) for k in fits)}"
            else:
                kind = f"no count out of {r['denominator']} prints as {r['printed']}"
            text = (f"Slip ({kind}): {frac} rounds to {r['rounded']:.{r['decimals']}f}, printed "
                    f"{r['printed']} ({where}).")
        else:
            severity = "major"
            other = ", which is " + " or ".join(f"{k}/{r['denominator']}" for k in fits) if fits else ""
            text = (f"{frac} is {r['units_off']:.1f} units of the last decimal away from the printed "
                    f"{r['printed']}{other}: count and percentage disagree ({where}).")
        out.append(_finding("percentage", r, published=r["printed"], recomputed=r["percent"], severity=severity,
                            finding=text))
    return out


def _overall_count(pub, variable: str, level: str):
    rows = _prefer(_rows(pub, variable=variable, group="all", level=level, statistic="n"))
    if rows.empty:
        return None
    return rows.iloc[0]


def _sum_findings(pub) -> list[dict]:
    out = []
    groups = _rows(pub, statistic="n", group=["with", "without"])
    for (source, outcome, variable, level), grp in groups.groupby(["source", "outcome", "variable", "level"],
                                                                   sort=False):
        if set(grp["group"]) != {"with", "without"}:
            continue
        total = _overall_count(pub, variable, level)
        if total is None:
            continue
        parts = [int(grp.loc[grp["group"] == g, "value"].iloc[0]) for g in ("with", "without")]
        ok = sum(parts) == total["value"]
        row = grp.iloc[0].to_dict() | {"group": ""}
        out.append(_finding(
            "group_sum", row, published=f"{parts[0]} + {parts[1]}", recomputed=float(sum(parts)),
            severity="info" if ok else "major",
            finding=(f"With {outcome.upper()} {parts[0]} + without {parts[1]} = {sum(parts)}"
                     + (" equals " if ok else " differs from ")
                     + f"the overall {int(total['value'])} of {total['source']}.")))
    # Group sizes against the outcome counts: the 'with' group of CR is the CR patients.
    heads = _rows(pub, location="header", statistic="n", group=["with", "without"])
    for (source, outcome), head in heads.groupby(["source", "outcome"], sort=False):
        ever = _overall_count(pub, f"{outcome}_ever", "")
        cohort = _cohort_size(pub, source)
        if ever is None or cohort is None or set(head["group"]) != {"with", "without"}:
            continue
        w = int(head.loc[head["group"] == "with", "value"].iloc[0])
        wo = int(head.loc[head["group"] == "without", "value"].iloc[0])
        ok = w == ever["value"] and w + wo == cohort[0]
        out.append(_finding(
            "group_sum", head.iloc[0].to_dict() | {"group": "", "variable": f"{outcome}_ever"},
            published=f"{w} / {wo}", recomputed=float(ever["value"]), severity="info" if ok else "major",
            finding=(f"Group sizes {w} with and {wo} without {outcome.upper()}: "
                     + ("consistent with " if ok else "inconsistent with ")
                     + f"{int(ever['value'])} {outcome}_ever ({ever['source']}) of a cohort of {int(cohort[0])}.")))
    return out


def _total_findings(pub, splits, complements, strata) -> list[dict]:
    out = []
    for split, (_, population) in splits.items():
        rows = _rows(pub, variable=split, statistic="n", group=["with", "without"])
        for (source, outcome), grp in rows.groupby(["source", "outcome"], sort=False):
            pop = _overall_count(pub, population, "")
            if pop is None:
                continue
            total = int(grp["value"].sum())
            ok = total == pop["value"]
            out.append(_finding(
                "totals", grp.iloc[0].to_dict() | {"group": "", "level": ""},
                published=" + ".join(str(int(v)) for v in grp["value"]), recomputed=float(total),
                severity="info" if ok else "major",
                finding=(f"The {grp['level'].nunique()} levels of {split} over both groups add up to {total}, "
                         + ("equal to" if ok else "but") + f" {population} is {int(pop['value'])} "
                         f"({pop['source']}).")))
    for comp, variable in complements.items():
        for _, c in _rows(pub, variable=comp, group="all", statistic="n").iterrows():
            v = _overall_count(pub, variable, "")
            cohort = _cohort_size(pub, c["source"])
            if v is None or cohort is None:
                continue
            ok = c["value"] + v["value"] == cohort[0]
            out.append(_finding(
                "totals", c, published=f"{int(c['value'])} + {int(v['value'])}", recomputed=c["value"] + v["value"],
                severity="info" if ok else "major",
                finding=(f"{comp} {int(c['value'])} + {variable} {int(v['value'])} "
                         + ("=" if ok else "!=") + f" cohort {int(cohort[0])}.")))
    # A boolean printed with a 'no' level: yes + no = cohort (section 3.2: 42 induced, 27 not).
    for _, no in _rows(pub, level="no", group="all", statistic="n").iterrows():
        yes = _overall_count(pub, no["variable"], "")
        cohort = _cohort_size(pub, no["source"])
        if yes is None or cohort is None:
            continue
        ok = yes["value"] + no["value"] == cohort[0]
        out.append(_finding(
            "totals", no, published=f"{int(yes['value'])} + {int(no['value'])}", recomputed=yes["value"] + no["value"],
            severity="info" if ok else "major",
            finding=f"{no['variable']} yes {int(yes['value'])} + no {int(no['value'])} "
                    + ("=" if ok else "!=") + f" cohort {int(cohort[0])}."))
    for variable, stratifier in strata.items():
        rows = _rows(pub, variable=variable, group="all", statistic="n")
        for source, grp in rows.groupby("source", sort=False):
            total = grp[grp["level"] == ""]
            parts = grp[grp["level"] != ""]
            if total.empty or parts.empty:
                continue
            s = int(parts["value"].sum())
            ok = s == total["value"].iloc[0]
            problems = []
            for _, part in parts.iterrows():
                stratum = _overall_count(pub, stratifier, part["level"])
                if stratum is not None and part["value"] > stratum["value"]:
                    problems.append(f"{int(part['value'])} > {int(stratum['value'])} {part['level']}")
            out.append(_finding(
                "totals", total.iloc[0], published=" + ".join(str(int(v)) for v in parts["value"]),
                recomputed=float(s), severity="info" if ok and not problems else "major",
                finding=(f"{variable} by {stratifier}: " + " + ".join(
                    f"{int(v)} {lv}" for lv, v in zip(parts["level"], parts["value"])) + f" = {s}"
                    + (" equals " if ok else " differs from ") + f"the total {int(total['value'].iloc[0])}"
                    + ("; each within its stratum." if not problems else "; exceeds the stratum: "
                       + ", ".join(problems) + "."))))
    return out


_LEVEL = re.compile(r"^\s*(<=|>=|<|>|≤|≥)\s*([0-9.]+)")


def _median_split_findings(pub, splits) -> list[dict]:
    """A median m of N patients puts at least ceil(N/2) patients at <= m and at least ceil(N/2) at >= m."""
    out = []
    for split, (continuous, population) in splits.items():
        med = _prefer(_rows(pub, variable=continuous, group="all", statistic="median"))
        pop = _overall_count(pub, population, "")
        rows = _rows(pub, variable=split, statistic="n", group=["with", "without"])
        if med.empty or pop is None or rows.empty:
            continue
        m, n = float(med["value"].iloc[0]), int(pop["value"])
        half = math.ceil(n / 2)
        per_level = rows.groupby("level", sort=False)["value"].sum()
        for level, count in per_level.items():
            parsed = _LEVEL.match(level)
            if not parsed:
                continue
            op = {"≤": "<=", "≥": ">="}.get(parsed.group(1), parsed.group(1))
            c = float(parsed.group(2))
            # At least / at most how many patients the median allows in {x op c}.
            at_least_half = {"<=": c >= m, "<": c > m, ">=": c <= m, ">": c < m}[op]
            ok = count >= half if at_least_half else count <= n - half
            bound = f">= {half}" if at_least_half else f"<= {n - half}"
            flipped = {"<=": "<", "<": "<=", ">=": ">", ">": ">="}[op]
            text = (f"A median of {m:g} among {n} patients ({med['source'].iloc[0]}) allows {bound} patients at "
                    f"{op} {c:g}; the split prints {int(count)}")
            if ok:
                severity, text = "info", text + ": consistent."
            else:
                severity = "major"
                text += (f": impossible. The counts fit the median only if the boundary value belongs to "
                         f"the other group ('{flipped} {c:g}'), reading 1 of data/README.md.")
            first = rows[rows["level"] == level].iloc[0].to_dict() | {"group": ""}
            out.append(_finding("median_split", first, published=f"{int(count)} at {level}",
                                recomputed=float(m), severity=severity, finding=text))
    return out


def _median_range_findings(pub) -> list[dict]:
    out = []
    grp_rows = _rows(pub, statistic=["median", "min", "max"], group=["with", "without"])
    for (source, outcome, variable), grp in grp_rows.groupby(["source", "outcome", "variable"], sort=False):
        overall = _prefer(_rows(pub, variable=variable, group="all", statistic=["median", "min", "max"]))
        if overall.empty:
            continue
        src = overall["source"].iloc[0]
        ov = {s: float(overall.loc[(overall["source"] == src) & (overall["statistic"] == s), "value"].iloc[0])
              for s in ("median", "min", "max")}
        g = {(r["group"], r["statistic"]): float(r["value"]) for _, r in grp.iterrows()}
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
        row = grp.iloc[0].to_dict() | {"group": ""}
        out.append(_finding(
            "median_range", row, published=f"{ov['median']:g} ({ov['min']:g}-{ov['max']:g})",
            recomputed=ov["median"], severity="major" if problems else "info",
            finding=(f"Overall {ov['median']:g} ({ov['min']:g}-{ov['max']:g}) in {src} vs groups "
                     f"{g[('with', 'median')]:g} ({g[('with', 'min')]:g}-{g[('with', 'max')]:g}) and "
                     f"{g[('without', 'median')]:g} ({g[('without', 'min')]:g}-{g[('without', 'max')]:g}): "
                     + ("; ".join(problems) + "." if problems else "consistent."))))
    return out


def _nested_findings(pub, nested) -> list[dict]:
    out = []
    for sub, sup in nested:
        a = _rows(pub, variable=sub, statistic="n", level="")
        b = _rows(pub, variable=sup, statistic="n", level="")
        pairs = a.merge(b, on=["source", "outcome", "group"], suffixes=("", "_sup"))
        if pairs.empty:  # e.g. cr_m12 (section 3.2) against lda_m12 (section 3.2) share a source
            continue
        for _, r in pairs.iterrows():
            ok = r["value"] <= r["value_sup"]
            out.append(_finding(
                "nested", r, published=f"{int(r['value'])} <= {int(r['value_sup'])}", recomputed=r["value_sup"],
                severity="info" if ok else "major",
                finding=(f"{sub} {int(r['value'])} " + ("<=" if ok else "exceeds") + f" {sup} {int(r['value_sup'])}"
                         + ("" if r["group"] == "all" else f" in the group {r['group']} {r['outcome'].upper()}")
                         + ("." if ok else ": impossible, the first is part of the second."))))
    return out


def _text_findings(pub, slip_units: float) -> list[dict]:
    """The same quantity printed in several places: each against the reference (a table, else the first)."""
    out = []
    key = ["variable", "outcome", "group", "level", "statistic"]
    for _, rows in pub.groupby(key, sort=False):
        if rows["source"].nunique() < 2:
            continue
        ordered = _prefer(rows)
        ref = ordered.iloc[0]
        for _, other in ordered.iloc[1:].iterrows():
            if other["source"] == ref["source"]:
                continue
            d = min(int(ref["decimals"]), int(other["decimals"]))
            if ref["comparator"] == "<" or other["comparator"] == "<":
                ok = (ref["comparator"] == other["comparator"] and ref["value"] == other["value"]) or (
                    other["comparator"] == "=" and other["value"] < ref["value"]) or (
                    ref["comparator"] == "=" and ref["value"] < other["value"])
                units = math.nan
            else:
                a, b = round_half_up(ref["value"], d), round_half_up(other["value"], d)
                ok = a == b
                units = round(abs(a - b) / 10 ** -d, 6)
            if ok:
                severity = "info"
                text = (f"{other['source']} prints {other['printed']}, {ref['source']} {ref['printed']}: "
                        f"consistent" + (f" at {d} decimals." if ref["decimals"] != other["decimals"] else "."))
            else:
                severity = "minor" if units < slip_units else "major"
                text = (f"{other['source']} prints {other['printed']} where {ref['source']} prints "
                        f"{ref['printed']} ({other['location']} vs {ref['location']}).")
            out.append(_finding("text_vs_table", other, published=other["printed"], recomputed=ref["value"],
                                severity=severity, finding=text))
    return out


def _precision_findings(pub) -> list[dict]:
    out = []
    for source, rows in _rows(pub, statistic="percent").groupby("source", sort=False):
        if not _is_table(source):
            continue
        # Whole numbers (0%, 100%, 20%) carry no precision; look at the others.
        frac = rows[rows["printed"].str.contains(r"\.", regex=True)]
        if frac["decimals"].nunique() < 2:
            continue
        usual = int(frac["decimals"].mode().iloc[0])
        odd = frac[frac["decimals"] != usual]
        out.append(_finding(
            "precision", odd.iloc[0].to_dict() | {"location": "; ".join(dict.fromkeys(odd["location"])),
                                                  "variable": "", "group": "", "level": "", "outcome": ""},
            published=", ".join(odd["printed"]), recomputed=float(usual), severity="info",
            finding=(f"{source} prints percentages with {usual} decimal(s) except {len(odd)} value(s) with "
                     f"{', '.join(map(str, sorted(set(odd['decimals']))))}: {', '.join(odd['printed'])}.")))
    return out


def _label_findings(pub, dictionary) -> list[dict]:
    out = []
    labels = dict(zip(dictionary["name"], dictionary["label"]))
    tables = pub[pub["source"].map(_is_table) & ~pub["location"].isin(["header", "text", "legend"])]
    for (source, location, variable), _ in tables.groupby(["source", "location", "variable"], sort=False):
        label = labels.get(variable)
        if not label or location.lower() == label.lower():
            continue
        if sorted(location.lower()) == sorted(label.lower()):
            out.append(_finding(
                "label", {"source": source, "location": location, "variable": variable}, published=location,
                severity="minor",
                finding=(f"'{location}' has the letters of '{label}' transposed (the dictionary label; the "
                         f"paper's own abbreviation list and Table 2 use it): a typo.")))
    return out


def _erratum_findings(pub) -> list[dict]:
    rows = pub[pub["note"].str.lower().str.startswith("erratum:")]
    return [_finding("erratum", r, published=r["printed"], severity="minor",
                     finding=r["note"].split(":", 1)[1].strip()[:1].upper() + r["note"].split(":", 1)[1].strip()[1:]
                     + " (recorded in the transcription).")
            for _, r in rows.iterrows()]


def paper_audit(published: pd.DataFrame | None = None, *, alpha: float = 0.05, expected_min: float = 5,
                slip_units: float = 2,
                splits: dict | None = None, nested=NESTED_COUNTS, complements: dict | None = None,
                strata: dict | None = None, dictionary: pd.DataFrame | None = None) -> pd.DataFrame:
    """All consistency findings on the published numbers, most severe first.

    Parameters
    ----------
    published : the transcription (default: :func:`msc_sle.published.load_published`).
    alpha : significance level of the paper (section 2.5: p < 0.05); a test disagreement that
        moves a p-value across it is ``major``.
    expected_min : expected-count threshold of the usual chi-square validity rule (any cell < 5 in
        a 2x2 table calls for Fisher's exact test), used to comment on the paper's test choice.
    slip_units : a printed number less than this many units of its last decimal away from the
        recomputed one is a ``minor`` slip (7.3 for 7.246; 39.0 for 39.13); further away it is
        ``major`` (count and percentage then disagree, or two places print different numbers).
    splits, nested, complements, strata : structural facts the sums rely on; defaults
        :data:`SPLIT_VARIABLES`, :data:`NESTED_COUNTS`, :data:`COMPLEMENTS`, :data:`STRATA`.
    dictionary : the data dictionary (labels for the typo check).

    Returns a DataFrame with :data:`AUDIT_COLUMNS`. ``published`` is the printed text (or the
    printed numbers the check combines), ``recomputed`` the number the check derives or compares
    against (NaN when none), ``finding`` says what was compared and what follows.
    """
    pub = _plain(published)
    splits = SPLIT_VARIABLES if splits is None else splits
    complements = COMPLEMENTS if complements is None else complements
    strata = STRATA if strata is None else strata
    dictionary = load_dictionary() if dictionary is None else dictionary
    findings = (_pvalue_findings(pub, alpha, expected_min) + _percentage_findings(pub, slip_units) + _sum_findings(pub)
                + _total_findings(pub, splits, complements, strata) + _median_split_findings(pub, splits)
                + _median_range_findings(pub) + _nested_findings(pub, nested) + _text_findings(pub, slip_units)
                + _precision_findings(pub) + _label_findings(pub, dictionary) + _erratum_findings(pub))
    out = pd.DataFrame.from_records(findings, columns=list(AUDIT_COLUMNS))
    for c in AUDIT_COLUMNS:
        if c != "recomputed":
            out[c] = out[c].astype(str).astype("string")
    out["recomputed"] = out["recomputed"].astype(float)
    order = out["severity"].map({s: i for i, s in enumerate(SEVERITIES)})
    return out.assign(_o=order).sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True)
