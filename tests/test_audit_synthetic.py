"""The paper audit on small synthetic "papers": a clean one (only info findings) and the same paper
with one known slip each, which the audit must find, and nothing else.

The paper: 40 patients, 20 reach LDA, 8 of them CR. Table 1 prints fever, rash and arthralgia/arthritis
and the outcome counts; Table 2 compares CR and non-CR; section 3.3 prints an LDA p for
arthralgia/arthritis without counts and claims, as the real paper does, which variables were
associated with each outcome. Every printed number is derived here from the counts (percentages half
up with Decimal, p-values with scipy), so the clean paper is consistent by construction.
"""
from __future__ import annotations

import re

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from msc_sle.paper.audit import paper_audit
from msc_sle.paper.published import (CLAIM_COLUMNS, PUBLISHED_COLUMNS, ClaimsError, claims_problems, load_claims,
                                     load_published)

N, LDA, CR = 40, 20, 8
#: overall count, count with CR (the rest of the overall count is without CR)
COUNTS = {"fever": (10, 2), "rash": (16, 4), "arthralgia_arthritis": (24, 1)}
LABELS = {"fever": "Fever", "rash": "Rash", "arthralgia_arthritis": "Arthralgia/arthritis"}
#: the LDA split of arthralgia/arthritis the synthetic authors "used" (only its p is printed)
LDA_ARTHRALGIA = 8
AGE = {"all": (32, 20, 50), "with": (40, 25, 50), "without": (30, 20, 45)}


def half_up(x, decimals) -> str:
    return str(Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


def pct(k, n, decimals=1) -> str:
    return str((Decimal(100 * k) / Decimal(n)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


def cr_table(variable):
    total, with_cr = COUNTS[variable]
    return np.array([[with_cr, total - with_cr], [CR - with_cr, N - CR - (total - with_cr)]])


def pearson(table):
    return stats.chi2_contingency(table, correction=False).pvalue


def fisher(table):
    return stats.fisher_exact(table).pvalue


def row(source, location, variable, statistic, printed, *, outcome="", group="all", level="", test="", note=""):
    value = printed.lstrip("<").rstrip("%")
    return {"source": source, "location": location, "variable": variable, "outcome": outcome, "group": group,
            "level": level, "statistic": statistic, "comparator": "<" if printed.startswith("<") else "=",
            "value": value, "printed": printed, "test_marked": test, "note": note}


def lda_arthralgia_table(x=LDA_ARTHRALGIA):
    total = COUNTS["arthralgia_arthritis"][0]
    return np.array([[x, total - x], [LDA - x, N - LDA - (total - x)]])


def clean_rows() -> list[dict]:
    rows = [row("Table 1", "header", "n", "n", str(N))]
    for v, (total, _) in COUNTS.items():
        rows += [row("Table 1", LABELS[v], v, "n", str(total)), row("Table 1", LABELS[v], v, "percent", pct(total, N))]
    for v, k in (("lda_ever", LDA), ("cr_ever", CR)):
        label = f"{v[:-5].upper()} during 1 year"
        rows += [row("Table 1", label, v, "n", str(k)), row("Table 1", label, v, "percent", pct(k, N))]
    rows += [row("Section 3.1", "text", "age_years", s, str(x)) for s, x in zip(("median", "min", "max"), AGE["all"])]
    rows += [row("Table 2", "header", "n", "n", str(CR), outcome="cr", group="with"),
             row("Table 2", "header", "n", "n", str(N - CR), outcome="cr", group="without")]
    for g in ("with", "without"):
        rows += [row("Table 2", "Age/years, median (range)", "age_years", s, str(x), outcome="cr", group=g)
                 for s, x in zip(("median", "min", "max"), AGE[g])]
    rows.append(row("Table 2", "Age/years, median (range)", "age_years", "p_value", "0.04", outcome="cr",
                    group="", test="mann_whitney"))
    for v, (total, with_cr) in COUNTS.items():
        for g, k, n in (("with", with_cr, CR), ("without", total - with_cr, N - CR)):
            rows += [row("Table 2", LABELS[v], v, "n", str(k), outcome="cr", group=g),
                     row("Table 2", LABELS[v], v, "percent", pct(k, n), outcome="cr", group=g)]
        rows.append(row("Table 2", LABELS[v], v, "p_value", half_up(pearson(cr_table(v)), 2), outcome="cr", group="",
                        test="chi2"))
    rows += [row("Section 3.3", "text", "age_years", "p_value", "0.01", outcome="lda", group="", test="mann_whitney",
                 note="the text names no test"),
             row("Section 3.3", "text", "arthralgia_arthritis", "p_value",
                 half_up(pearson(lda_arthralgia_table()), 3), outcome="lda", group="", test="chi2",
                 note="the text names no test: test_marked is the one section 2.5 states")]
    return rows


def claim(source, outcome, kind, variables, direction="", excluded="", stated_test="", alpha="", quote="q"):
    return {"source": source, "location": "text", "outcome": outcome, "claim": kind, "variables": variables,
            "direction": direction, "excluded": excluded, "stated_test": stated_test, "alpha": alpha,
            "quote": quote, "note": ""}


def clean_claims() -> list[dict]:
    return [claim("Section 2.5", "", "method", "categorical", stated_test="chi2", alpha="0.05"),
            claim("Section 2.5", "", "method", "continuous", stated_test="mann_whitney", alpha="0.05"),
            claim("Section 3.3", "lda", "significant", "age_years", "higher"),
            claim("Section 3.3", "lda", "significant", "arthralgia_arthritis", "lower"),
            claim("Section 3.3", "lda", "only_significant", "age_years;arthralgia_arthritis"),
            claim("Section 3.3", "cr", "significant", "arthralgia_arthritis", "lower"),
            claim("Section 3.3", "cr", "not_significant", "fever;rash")]


def write(tmp_path, rows, columns, name):
    path = tmp_path / name
    pd.DataFrame(rows, columns=list(columns)).to_csv(path, index=False)
    return path


def audit_of(tmp_path, rows=None, claims=None):
    pub = load_published(write(tmp_path, clean_rows() if rows is None else rows, PUBLISHED_COLUMNS, "values.csv"))
    cl = load_claims(write(tmp_path, clean_claims() if claims is None else claims, CLAIM_COLUMNS, "claims.csv"))
    assert claims_problems(cl, pub) == []
    return paper_audit(pub, claims=cl)


def notable(audit):
    return audit[audit["severity"] != "info"]


def changed(rows, where: dict, **new):
    out = [dict(r) for r in rows]
    hits = [r for r in out if all(r[k] == v for k, v in where.items())]
    assert len(hits) == 1, where
    hits[0].update(new)
    return out


# --- the clean paper ------------------------------------------------------------------------------------

def test_the_clean_paper_has_only_info_findings(tmp_path):
    audit = audit_of(tmp_path)
    assert notable(audit).empty, notable(audit)[["check", "variable", "finding"]].to_string()
    checks = set(audit["check"])
    assert {"percentage", "group_sum", "p_value_test", "feasible_p", "significance", "claim"} <= checks
    # The LDA arthralgia p is consistent under the stated Pearson at the authors' split.
    hit = audit[audit["check"] == "feasible_p"]
    assert len(hit) == 1 and re.search(rf"the printed [0-9.]+ for {LDA_ARTHRALGIA}/{LDA} vs", hit["finding"].iloc[0])


def test_the_clean_papers_feasible_range_by_brute_force(tmp_path):
    """x with LDA: at least the CR count (CR within LDA), at most CR count + LDA-not-CR patients,
    and the rest must fit among the patients without LDA."""
    from msc_sle.paper.feasible import feasible_pvalues
    total, with_cr = COUNTS["arthralgia_arthritis"]
    xs = [x for x in range(total + 1)
          if with_cr <= x <= with_cr + min(LDA - CR, total - with_cr) and total - x <= N - LDA]
    pub = load_published(write(tmp_path, clean_rows(), PUBLISHED_COLUMNS, "values.csv"))
    table = feasible_pvalues(pub, "lda", "arthralgia_arthritis")
    assert table["x"].tolist() == xs
    np.testing.assert_allclose(table["p_chi2"], [pearson(lda_arthralgia_table(x)) for x in xs])
    np.testing.assert_allclose(table["p_fisher"], [fisher(lda_arthralgia_table(x)) for x in xs])


# --- one slip each: found, and nothing else -------------------------------------------------------------

def test_a_wrong_percentage(tmp_path):
    total = COUNTS["rash"][0]
    wrong = pct(total + 2, N)                      # the percentage of another count
    rows = changed(clean_rows(), {"source": "Table 1", "variable": "rash", "statistic": "percent"},
                   value=wrong, printed=wrong)
    found = notable(audit_of(tmp_path, rows))
    assert found["check"].tolist() == ["percentage"] and found["variable"].tolist() == ["rash"]
    assert found["severity"].tolist() == ["major"] and f"{total + 2}/{N}" in found["finding"].iloc[0]


def test_an_impossible_median(tmp_path):
    outside = str(AGE["with"][0] + 5)            # above both group medians: no pooling gives it
    rows = changed(clean_rows(), {"source": "Section 3.1", "variable": "age_years", "statistic": "median"},
                   value=outside, printed=outside)
    found = notable(audit_of(tmp_path, rows))
    assert found["check"].tolist() == ["median_range"] and found["severity"].tolist() == ["major"]
    assert "lies outside the group medians" in found["finding"].iloc[0]


def test_a_p_value_from_an_unmarked_test(tmp_path):
    table = cr_table("rash")
    assert half_up(fisher(table), 2) != half_up(pearson(table), 2)
    rows = changed(clean_rows(), {"source": "Table 2", "variable": "rash", "statistic": "p_value"},
                   value=half_up(fisher(table), 2), printed=half_up(fisher(table), 2))
    found = notable(audit_of(tmp_path, rows))
    assert found["check"].tolist() == ["p_value_test"] and found["severity"].tolist() == ["minor"]
    assert "agrees with Fisher's exact test, not with the Pearson chi-square" in found["finding"].iloc[0]


def test_a_claim_contradicted_by_the_counts(tmp_path):
    """The text says fever was associated with CR; Table 2's counts give p >= 0.05 under every test."""
    table = cr_table("fever")
    assert min(pearson(table), fisher(table), stats.chi2_contingency(table).pvalue) >= 0.05
    claims = clean_claims() + [claim("Discussion", "cr", "significant", "fever", "higher")]
    found = notable(audit_of(tmp_path, claims=claims))
    assert found["check"].tolist() == ["claim"] and found["variable"].tolist() == ["fever"]
    assert found["severity"].tolist() == ["major"] and found["source"].tolist() == ["Discussion"]
    assert "it is contradicted" in found["finding"].iloc[0]


@pytest.mark.parametrize("fever, severity", [
    ((10, 6), "major"),     # 6/8 vs 4/32: p < 0.05 under every test
    ((9, 4), "minor"),      # 4/8 vs 5/32: Pearson (stated) p < 0.05, Fisher not: the test choice decides
])
def test_an_only_claim_contradicted_by_another_variable(tmp_path, monkeypatch, fever, severity):
    """The text names only age and arthralgia/arthritis for CR; fever's printed counts say otherwise."""
    claims = clean_claims()[:-1] + [claim("Section 3.3", "cr", "only_significant", "age_years;arthralgia_arthritis")]
    assert notable(audit_of(tmp_path, claims=claims)).empty              # the clean counts fit it
    monkeypatch.setitem(COUNTS, "fever", fever)
    table = cr_table("fever")
    assert pearson(table) < 0.05 and (fisher(table) < 0.05) == (severity == "major")
    found = notable(audit_of(tmp_path, claims=claims))
    assert found["check"].tolist() == ["claim", "claim"]                 # the claim's summary, and fever
    assert set(found["severity"]) == {severity} and set(found["variable"]) == {"", "fever"}
    assert "contradict it: 1 (fever)" in found.loc[found["variable"] == "", "finding"].iloc[0]


def test_an_lda_p_no_feasible_split_gives(tmp_path):
    """An LDA p that no split allowed by Table 1, Table 2 and CR-within-LDA gives, under any test."""
    from msc_sle.paper.feasible import feasible_pvalues
    pub = load_published(write(tmp_path, clean_rows(), PUBLISHED_COLUMNS, "values.csv"))
    ps = feasible_pvalues(pub, "lda", "arthralgia_arthritis")[["p_chi2", "p_chi2_yates", "p_fisher"]].to_numpy()
    printable = {half_up(p, 2) for p in ps.ravel()}
    impossible = next(f"0.{k:02d}" for k in range(5, 100) if f"0.{k:02d}" not in printable)
    rows = changed(clean_rows(), {"source": "Section 3.3", "variable": "arthralgia_arthritis",
                                  "statistic": "p_value"}, value=impossible, printed=impossible)
    found = notable(audit_of(tmp_path, rows))
    assert found["check"].tolist() == ["feasible_p"] and found["severity"].tolist() == ["major"]
    assert "Consistent under none of the tests" in found["finding"].iloc[0]


# --- the claims file ------------------------------------------------------------------------------------

def test_malformed_claims_are_reported_with_their_lines(tmp_path):
    bad = clean_claims() + [claim("Section 3.3", "cr", "significant", "fever", "sideways"),
                            claim("Section 3.3", "", "not_significant", "rash", alpha="0.05"),
                            claim("Section 2.5", "", "method", "categorical", stated_test="mann_whitney",
                                  alpha="0.01"),
                            claim("Section 3.3", "cr", "always", "rash")]
    with pytest.raises(ClaimsError) as err:
        load_claims(write(tmp_path, bad, CLAIM_COLUMNS, "claims.csv"))
    lines = {(p.row, p.column) for p in err.value.problems}
    first = len(clean_claims()) + 2
    assert {(first, "direction"), (first + 1, "outcome"), (first + 1, "alpha"), (first + 2, "variables"),
            (first + 2, "stated_test"), (first + 2, "alpha"), (first + 3, "claim")} == lines


def test_claims_about_another_transcription_are_refused(tmp_path):
    pub = load_published(write(tmp_path, clean_rows(), PUBLISHED_COLUMNS, "values.csv"))
    with pytest.raises(ValueError, match="claims do not fit"):
        paper_audit(pub)                          # the real paper's claims name variables this one lacks
    assert not paper_audit(pub, claims=None)["check"].isin(["claim"]).any()
