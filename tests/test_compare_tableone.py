"""Agreement with tableone 0.9.6 wherever both run the same test.

tableone's defaults differ from SPSS in one documented way: its chi-square on a 2x2 table applies
Yates' continuity correction (scipy's ``chi2_contingency`` default). Configured with an uncorrected
Pearson chi-square through its ``htest`` hook, and with ``nonnormal`` continuous variables (its
Kruskal-Wallis, which for two groups is the tie-corrected Mann-Whitney without continuity
correction), it must give the engine's p-values.
"""
from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from msc_sle.compare import compare_groups

tableone = pytest.importorskip("tableone")


@pytest.fixture(scope="module")
def cohort():
    rng = np.random.default_rng(2019)
    n = 240
    df = pd.DataFrame({
        "grp": rng.random(n) < 0.35,
        "age": rng.integers(20, 60, n).astype(float),
        "duration": rng.gamma(2.0, 40.0, n),
        "dose": rng.choice([5.0, 7.5, 10.0, 20.0, 40.0], n),
        "fever": rng.random(n) < 0.4,
        "rash": rng.random(n) < 0.6,
        "rare": rng.random(n) < 0.03,
        "stage": rng.choice(["III", "IV", "V"], n, p=[0.3, 0.45, 0.25]),
    })
    df.loc[[1, 7, 30], "age"] = np.nan
    df["stage"] = pd.Categorical(df["stage"])
    return df


def pearson_uncorrected(*levels):
    """tableone htest: each argument is one level's counts across the groups."""
    return stats.chi2_contingency(np.array(levels), correction=False).pvalue


def _tableone(df, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tableone.TableOne(df, groupby="grp", pval=True, **kw)


def _p(table, var):
    return float(table.htest_table.loc[var, "P-Value"])


def test_continuous_nonnormal_equals_mann_whitney(cohort):
    cont = ["age", "duration", "dose"]
    t1 = _tableone(cohort, columns=cont, nonnormal=cont)
    ours = compare_groups(cohort, "grp", cont).table.set_index("variable")
    for var in cont:
        assert t1.htest_table.loc[var, "Test"] == "Kruskal-Wallis"
        assert ours.loc[var, "test"] == "mann_whitney"
        assert ours.loc[var, "p_value"] == pytest.approx(_p(t1, var), rel=1e-9)


def test_categorical_with_uncorrected_chi2_equals_pearson(cohort):
    cat = ["fever", "rash", "stage"]
    t1 = _tableone(cohort, columns=cat, categorical=cat,
                   htest={v: pearson_uncorrected for v in cat})
    ours = compare_groups(cohort, "grp", cat, test_rule="pearson_only").table
    ours = ours.drop_duplicates("variable").set_index("variable")
    for var in cat:
        assert ours.loc[var, "test"] == "chi2"
        assert ours.loc[var, "p_value"] == pytest.approx(_p(t1, var), rel=1e-12)


def test_default_tableone_agrees_where_it_picks_the_same_test(cohort):
    cat = ["fever", "rash", "rare", "stage"]
    t1 = _tableone(cohort, columns=cat, categorical=cat)
    ours = compare_groups(cohort, "grp", cat).table.drop_duplicates("variable").set_index("variable")
    # a 3-level table: plain Pearson on both sides (Yates only ever touches 2x2)
    assert t1.htest_table.loc["stage", "Test"] == "Chi-squared" and ours.loc["stage", "test"] == "chi2"
    assert ours.loc["stage", "p_value"] == pytest.approx(_p(t1, "stage"), rel=1e-12)
    # a rare event: both switch to Fisher's exact test
    assert t1.htest_table.loc["rare", "Test"] == "Fisher's exact" and ours.loc["rare", "test"] == "fisher"
    assert ours.loc["rare", "p_value"] == pytest.approx(_p(t1, "rare"), rel=1e-12)
    # a common 2x2: tableone applies Yates, SPSS (and the engine) do not ...
    assert t1.htest_table.loc["fever", "Test"] == "Chi-squared" and ours.loc["fever", "test"] == "chi2"
    assert ours.loc["fever", "p_value"] != pytest.approx(_p(t1, "fever"), rel=1e-3)
    # ... and asking the engine for Yates gives tableone's number
    yates = compare_groups(cohort, "grp", ["fever"], tests={"fever": "chi2_yates"}).table
    assert yates["p_value"].iloc[0] == pytest.approx(_p(t1, "fever"), rel=1e-12)


def test_counts_and_medians_agree(cohort):
    t1 = _tableone(cohort, columns=["fever", "age"], categorical=["fever"], nonnormal=["age"],
                   decimals=4)
    ours = compare_groups(cohort, "grp", ["fever", "age"]).table.set_index("variable")
    shown = t1.tableone
    for group, prefix in ((True, "g1"), (False, "g2")):
        col = [c for c in shown.columns if c[1] == str(group)][0]
        fever = shown.loc[("fever, n (%)", "True"), col]
        count = int(re.match(r"\s*(\d+)", fever).group(1))
        assert count == ours.loc["fever", f"{prefix}_count"]
        age = shown.loc[("age, median [Q1,Q3]", ""), col]
        assert float(age.split()[0]) == pytest.approx(ours.loc["age", f"{prefix}_median"])


def test_missing_values_are_not_a_level(cohort):
    """tableone tests 'missing' as a category of its own unless include_null=False; SPSS and the
    engine leave missing values out of the table (and count them apart)."""
    df = cohort.copy()
    df["fever"] = df["fever"].astype("boolean")
    df.loc[[0, 4, 9, 16, 25], "fever"] = pd.NA
    ours = compare_groups(df, "grp", ["fever"]).table
    assert int(ours["g1_missing"].iloc[0] + ours["g2_missing"].iloc[0]) == 5
    t1 = _tableone(df, columns=["fever"], categorical=["fever"], include_null=False,
                   htest={"fever": pearson_uncorrected})
    assert ours["p_value"].iloc[0] == pytest.approx(_p(t1, "fever"), rel=1e-12)
    t1_default = _tableone(df, columns=["fever"], categorical=["fever"],
                           htest={"fever": pearson_uncorrected})
    assert ours["p_value"].iloc[0] != pytest.approx(_p(t1_default, "fever"), rel=1e-6)
