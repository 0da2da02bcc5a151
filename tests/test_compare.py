"""The comparison engine against direct scipy calls with SPSS's settings and hand-worked values."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from msc_sle.compare import TEST_NAMES, compare_groups, describe, paired_over_time, summarise
from msc_sle.stats import adjust_pvalues

Z975 = 1.959963984540054


def _frame(n=120, seed=7):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "cr_ever": pd.array(rng.random(n) < 0.35, dtype="boolean"),
        "age_years": rng.integers(20, 55, n).astype(float),          # on a grid: histogram path
        "sle_duration_months": rng.gamma(2.0, 40.0, n),              # continuous: sort path
        "prior_cyc": pd.array(rng.random(n) < 0.6, dtype="boolean"),
        "fever": pd.array(rng.random(n) < 0.4, dtype="boolean"),
        "sex": pd.Categorical(rng.choice(["F", "M"], n, p=[0.8, 0.2]), categories=["F", "M"]),
        "msc_source": pd.Categorical(rng.choice(["BM", "UC"], n), categories=["BM", "UC"]),
        "ln_class": pd.Categorical(rng.choice(["III", "IV", "V"], n, p=[0.3, 0.4, 0.3]),
                                   categories=["I", "II", "III", "IV", "V", "VI"]),
    })
    df.loc[[2, 5, 11], "age_years"] = np.nan
    df.loc[[3, 8], "fever"] = pd.NA
    df.loc[[0, 1, 4, 9], "ln_class"] = np.nan
    return df


def _groups(df, col, by="cr_ever"):
    g = df[by].to_numpy(dtype=bool, na_value=False)
    x = df[col]
    return x[g], x[~g]


def _row(res, var, level=None):
    res = getattr(res, "table", res)
    rows = res[res["variable"] == var]
    if level is not None:
        rows = rows[rows["level"] == level]
    assert len(rows) == 1, (var, level, len(rows))
    return rows.iloc[0]


# --- continuous: Mann-Whitney as SPSS prints it ----------------------------------------------

@pytest.mark.parametrize("var", ["age_years", "sle_duration_months"])
def test_mann_whitney_matches_scipy_asymptotic_without_continuity(var):
    df = _frame()
    res = compare_groups(df, "cr_ever", [var])
    x, y = _groups(df, var)
    ref = stats.mannwhitneyu(x.dropna(), y.dropna(), method="asymptotic", use_continuity=False)
    row = _row(res, var)
    assert row["test"] == "mann_whitney"
    assert row["statistic"] == pytest.approx(ref.statistic, rel=1e-12)
    assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-10)
    # and it is not R's default (continuity-corrected) p
    corrected = stats.mannwhitneyu(x.dropna(), y.dropna(), method="asymptotic",
                                   use_continuity=True).pvalue
    assert row["p_value"] != pytest.approx(corrected, rel=1e-6)


def test_mann_whitney_heavy_ties_and_scaled_grid():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"g": rng.random(300) < 0.5,
                       "dose": rng.choice([5, 7.5, 10, 12.5, 20, 30, 60], 300),   # 2.5 mg grid
                       "score": rng.choice([0, 1, 2, 3], 300).astype(float)})
    res = compare_groups(df, "g", ["dose", "score"])
    for var in ("dose", "score"):
        ref = stats.mannwhitneyu(df.loc[df.g, var], df.loc[~df.g, var], method="asymptotic",
                                 use_continuity=False)
        row = _row(res, var)
        assert row["statistic"] == pytest.approx(ref.statistic, rel=1e-12)
        assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-10)


def test_exact_mann_whitney_on_request():
    df = pd.DataFrame({"g": [True] * 6 + [False] * 7,
                       "x": [1.5, 2.25, 3.0, 8.0, 9.5, 11.0, 0.5, 0.75, 1.0, 4.0, 5.0, 6.0, 7.0]})
    row = _row(compare_groups(df, "g", ["x"], exact=True), "x")
    ref = stats.mannwhitneyu(df.x[df.g], df.x[~df.g], method="exact")
    assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-12)
    assert "exact" in row["note"]


def test_kruskal_for_three_groups_matches_scipy():
    df = _frame()
    df["arm"] = pd.Categorical(np.resize(["a", "b", "c"], len(df)))
    res = compare_groups(df, "arm", ["age_years", "sle_duration_months"])
    for var in ("age_years", "sle_duration_months"):
        samples = [df.loc[df.arm == a, var].dropna() for a in "abc"]
        ref = stats.kruskal(*samples)
        row = _row(res, var)
        assert row["test"] == "kruskal"
        assert row["statistic"] == pytest.approx(ref.statistic, rel=1e-10)
        assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-10)
        assert row["df"] == 2
    assert list(res.groups) == ["a", "b", "c"]


def test_quartiles_are_spss_type_6_and_missing_is_counted():
    df = _frame()
    row = _row(compare_groups(df, "cr_ever", ["age_years"]), "age_years")
    x, y = _groups(df, "age_years")
    for p, s in (("g1", x), ("g2", y)):
        v = s.dropna().to_numpy()
        q1, med, q3 = np.percentile(v, [25, 50, 75], method="weibull")
        assert row[f"{p}_median"] == med and row[f"{p}_q1"] == q1 and row[f"{p}_q3"] == q3
        assert row[f"{p}_min"] == v.min() and row[f"{p}_max"] == v.max()
        assert row[f"{p}_n"] == len(s)
        assert row[f"{p}_missing"] == s.isna().sum()
        assert row[f"{p}_n_valid"] == len(s) - s.isna().sum()


# --- categorical: Pearson without Yates, Fisher when the rule fires ---------------------------

def _table(df, var, levels, by="cr_ever"):
    g = df[by].to_numpy(dtype=bool, na_value=False)
    return np.array([[int((df.loc[sel, var] == lv).sum()) for lv in levels] for sel in (g, ~g)])


def test_pearson_chi2_without_correction_matches_scipy():
    df = _frame()
    res = compare_groups(df, "cr_ever", ["prior_cyc", "msc_source"], test_rule="pearson_only")
    t = _table(df, "prior_cyc", [True, False])
    ref = stats.chi2_contingency(t, correction=False)
    row = _row(res, "prior_cyc")
    assert row["test"] == "chi2" and row["df"] == 1
    assert row["statistic"] == pytest.approx(ref.statistic, rel=1e-12)
    assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-12)
    assert row["g1_count"] == t[0, 0] and row["g2_count"] == t[1, 0]
    assert row["g1_pct"] == pytest.approx(100 * t[0, 0] / t[0].sum())
    # a category with a show_level shows that level only
    assert list(res.table.loc[res.table.variable == "msc_source", "level"]) == ["UC"]


def test_multilevel_chi2_and_unobserved_levels():
    df = _frame()
    res = compare_groups(df, "cr_ever", ["ln_class"], test_rule="pearson_only")
    t = _table(df, "ln_class", ["III", "IV", "V"])
    ref = stats.chi2_contingency(t, correction=False)
    rows = res.table[res.table.variable == "ln_class"]
    assert list(rows["level"]) == ["III", "IV", "V"]
    np.testing.assert_allclose(rows["p_value"], ref.pvalue, rtol=1e-12)
    assert (rows["df"] == 2).all()
    assert "levels never observed: I, II, VI" in rows["note"].iloc[0]
    # an empty class means "no biopsy" (data dictionary: applies if recorded): not applicable, not missing
    assert (rows["g1_missing"] + rows["g2_missing"] == 0).all()
    assert (rows["g1_n_applicable"] + rows["g2_n_applicable"] == len(df) - 4).all()
    assert (rows["applies_to"] == "biopsied").all()


def test_yates_override_matches_scipy_corrected():
    df = _frame()
    row = _row(compare_groups(df, "cr_ever", ["prior_cyc"], tests={"prior_cyc": "chi2_yates"}),
               "prior_cyc")
    ref = stats.chi2_contingency(_table(df, "prior_cyc", [True, False]), correction=True)
    assert row["test"] == "chi2_yates"
    assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-12)


def _small_table_frame():
    # 2x2 with 3/16 vs 2/53: expected count for the first cell 5*16/69 = 1.16 < 5
    g = [True] * 16 + [False] * 53
    x = [True] * 3 + [False] * 13 + [True] * 2 + [False] * 51
    return pd.DataFrame({"cr_ever": g, "neurologic_disorder": x})


def test_fisher_when_an_expected_count_is_below_5():
    df = _small_table_frame()
    row = _row(compare_groups(df, "cr_ever", ["neurologic_disorder"]), "neurologic_disorder")
    ref = stats.fisher_exact([[3, 13], [2, 51]])
    assert row["test"] == "fisher"
    assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-12)
    assert "expected count 1.16 < 5" in row["note"]
    never = _row(compare_groups(df, "cr_ever", ["neurologic_disorder"], test_rule="pearson_only"),
                 "neurologic_disorder")
    assert never["test"] == "chi2"
    # Cochran: 1 of 4 cells (25% > 20%) below 5 -> exact as well
    cochran = _row(compare_groups(df, "cr_ever", ["neurologic_disorder"], test_rule="cochran"),
                   "neurologic_disorder")
    assert cochran["test"] == "fisher" and "Cochran" in cochran["note"]


def test_cochran_keeps_chi2_when_few_small_expected_counts():
    # 3x2 table: expected counts 20*10/60 = 3.33 in 1 of 6 cells (17% <= 20%), none < 1
    g = np.repeat([True, False], [20, 40])
    lv = (["a"] * 2 + ["b"] * 9 + ["c"] * 9) + (["a"] * 8 + ["b"] * 16 + ["c"] * 16)
    df = pd.DataFrame({"g": g, "v": pd.Categorical(lv)})
    assert _row(compare_groups(df, "g", ["v"], test_rule="cochran"), "v", "a")["test"] == "chi2"
    assert _row(compare_groups(df, "g", ["v"]), "v", "a")["test"] == "fisher_freeman_halton"


def _ffh_brute(table):
    """Fisher-Freeman-Halton p of a 2 x c table by listing every table with its margins."""
    table = np.asarray(table)
    cols = table.sum(axis=0)
    n1 = table[0].sum()
    N = cols.sum()

    def prob(row):
        return math.prod(math.comb(int(c), int(x)) for c, x in zip(cols, row)) / math.comb(N, n1)

    p_obs = prob(table[0])
    total = 0.0
    for row in itertools.product(*[range(c + 1) for c in cols]):
        if sum(row) == n1:
            p = prob(row)
            if p <= p_obs * (1 + 1e-7):
                total += p
    return total


def test_fisher_freeman_halton_exact_by_hand():
    # column totals (2, 6, 3), one patient in group 1: tables (1,0,0), (0,1,0), (0,0,1) with
    # probabilities 2/11, 6/11, 3/11; observing (1,0,0) gives p = 2/11.
    df = pd.DataFrame({"g": [True] + [False] * 10,
                       "v": pd.Categorical(["a", "a", "b", "b", "b", "b", "b", "b", "c", "c", "c"])})
    row = _row(compare_groups(df, "g", ["v"]), "v", "a")
    assert row["test"] == "fisher_freeman_halton"
    assert row["p_value"] == pytest.approx(2 / 11, rel=1e-12)
    assert "exact p over 3 tables" in row["note"]
    # a bigger 2x4 table against brute-force enumeration
    lv = ["a"] * 3 + ["b"] * 1 + ["c"] * 4 + ["d"] * 0 + ["a"] * 1 + ["b"] * 6 + ["c"] * 2 + ["d"] * 4
    g = [True] * 8 + [False] * 13
    df = pd.DataFrame({"g": g, "v": pd.Categorical(lv)})
    row = _row(compare_groups(df, "g", ["v"]), "v", "a")
    assert row["p_value"] == pytest.approx(_ffh_brute([[3, 1, 4, 0], [1, 6, 2, 4]]), rel=1e-9)


def test_fisher_freeman_halton_beyond_2xc_is_exact_and_deterministic():
    """A 3x3 table: enumerated exactly (msc_sle.stats), the same p on every call, whatever the seed
    (the seed only matters beyond the enumeration limit, tested in tests/stats)."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"arm": pd.Categorical(rng.choice(["a", "b", "c"], 40)),
                       "v": pd.Categorical(rng.choice(["x", "y", "z"], 40, p=[0.6, 0.3, 0.1]))})
    r1 = compare_groups(df, "arm", ["v"], n_resamples=2000)
    r2 = compare_groups(df, "arm", ["v"], n_resamples=2000)
    r3 = compare_groups(df, "arm", ["v"], n_resamples=2000, seed=1)
    assert r1.table["test"].iloc[0] == "fisher_freeman_halton"
    assert r1.table["p_value"].iloc[0] == r2.table["p_value"].iloc[0] == r3.table["p_value"].iloc[0]
    assert "exact p over" in r1.table["note"].iloc[0]


def test_override_names_are_checked():
    df = _frame()
    with pytest.raises(ValueError, match="valid tests: " + ", ".join(TEST_NAMES)):
        compare_groups(df, "cr_ever", ["fever"], tests={"fever": "fishers"})
    with pytest.raises(ValueError, match="does not apply to the continuous"):
        compare_groups(df, "cr_ever", ["age_years"], tests={"age_years": "fisher"})
    with pytest.raises(ValueError, match="not among the compared"):
        compare_groups(df, "cr_ever", ["fever"], tests={"rash": "fisher"})
    with pytest.raises(ValueError, match="test_rule"):
        compare_groups(df, "cr_ever", ["fever"], test_rule="sometimes")


# --- not testable, never an exception ----------------------------------------------------------

def test_empty_group_is_not_testable():
    df = _frame()
    df["cr_ever"] = pd.array([True] * len(df), dtype="boolean")
    res = compare_groups(df, "cr_ever", ["age_years", "fever"])
    for var in ("age_years", "fever"):
        row = _row(res, var)
        # the reason names the empty group (everyone responded), not the variable
        assert row["test"] == "not testable: no patient in group 'CR during 1 year: no'"
        assert math.isnan(row["p_value"])
        assert row["g2_n"] == 0
    assert "not estimable" in _row(res, "fever")["note"]


def test_a_single_observed_group_is_described_not_tested():
    df = _frame()
    df["arm"] = "LDA"          # a text grouping column where everyone responded
    res = compare_groups(df, "arm", ["age_years", "fever"])
    assert list(res.groups) == ["LDA"]
    assert (res.table["test"] == "not testable: every patient is in one group (LDA)").all()
    assert res.table["g1_n"].iloc[0] == len(df)


def test_constant_variables_are_not_testable():
    df = _frame()
    df["fever"] = pd.array([True] * len(df), dtype="boolean")
    df["age_years"] = 40.0
    res = compare_groups(df, "cr_ever", ["fever", "age_years"])
    assert _row(res, "fever")["test"] == "not testable: all patients had it"
    assert _row(res, "age_years")["test"] == "not testable: all patients had the same value (40 years)"


def test_variable_missing_in_one_group_is_not_testable():
    df = _frame()
    df.loc[df.cr_ever.fillna(False).astype(bool), "age_years"] = np.nan
    row = _row(compare_groups(df, "cr_ever", ["age_years"]), "age_years")
    assert row["test"].startswith("not testable: no value recorded in group ")
    assert row["g1_missing"] == row["g1_n"]


# --- effect sizes ------------------------------------------------------------------------------

def test_odds_ratio_woolf_ci_by_hand():
    # CYC use 6/16 vs 41/53 (the paper's Table 2 counts are a convenient worked example)
    df = pd.DataFrame({"g": [True] * 16 + [False] * 53,
                       "x": [True] * 6 + [False] * 10 + [True] * 41 + [False] * 12})
    row = _row(compare_groups(df, "g", ["x"]), "x", True)
    or_ = (6 * 12) / (10 * 41)
    se = math.sqrt(1 / 6 + 1 / 10 + 1 / 41 + 1 / 12)
    assert row["effect"] == "odds ratio"
    assert row["effect_estimate"] == pytest.approx(or_, rel=1e-12)
    assert row["effect_ci_low"] == pytest.approx(math.exp(math.log(or_) - Z975 * se), rel=1e-9)
    assert row["effect_ci_high"] == pytest.approx(math.exp(math.log(or_) + Z975 * se), rel=1e-9)
    assert "Haldane" not in row["note"]


def test_odds_ratio_haldane_anscombe_for_a_zero_cell():
    # Anti-SSB-like: 0/16 vs 6/53 -> +0.5 in every cell
    df = pd.DataFrame({"g": [True] * 16 + [False] * 53,
                       "x": [False] * 16 + [True] * 6 + [False] * 47})
    row = _row(compare_groups(df, "g", ["x"]), "x", True)
    a, b, c, d = 0.5, 16.5, 6.5, 47.5
    or_ = a * d / (b * c)
    se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    assert row["effect_estimate"] == pytest.approx(or_, rel=1e-12)
    assert row["effect_ci_low"] == pytest.approx(or_ * math.exp(-Z975 * se), rel=1e-9)
    assert "Haldane-Anscombe correction applied" in row["note"]


def _hl_by_hand(x, y):
    d = np.sort(np.subtract.outer(np.asarray(x, float), np.asarray(y, float)).ravel())
    mn = d.size
    c = math.floor(mn / 2 - Z975 * math.sqrt(mn * (len(x) + len(y) + 1) / 12))
    return float(np.median(d)), d[c - 1], d[mn - c]


def test_hodges_lehmann_by_hand_small():
    # m = n = 10: C = floor(50 - 1.96 * sqrt(100 * 21 / 12)) = floor(24.07) = 24
    x = [12, 15, 9, 20, 22, 13, 18, 30, 11, 16]
    y = [8, 10, 7, 14, 9, 12, 6, 11, 13, 10]
    df = pd.DataFrame({"g": [True] * 10 + [False] * 10, "v": np.array(x + y, float)})
    row = _row(compare_groups(df, "g", ["v"]), "v")
    est, lo, hi = _hl_by_hand(x, y)
    d = np.sort(np.subtract.outer(x, y).ravel())
    assert (lo, hi) == (d[23], d[76])
    assert row["effect"] == "Hodges-Lehmann difference"
    assert (row["effect_estimate"], row["effect_ci_low"], row["effect_ci_high"]) == (est, lo, hi)


@pytest.mark.parametrize("kind", ["float", "grid"])
def test_hodges_lehmann_large_samples(kind):
    rng = np.random.default_rng(11)
    n1, n2 = 1700, 1500   # 2.55 million pairs: the selection path, not full enumeration
    if kind == "float":
        v = np.concatenate([rng.normal(1.0, 2, n1), rng.normal(0, 2, n2)])
    else:
        v = np.concatenate([rng.integers(0, 3000, n1), rng.integers(-200, 2800, n2)]).astype(float)
    df = pd.DataFrame({"g": np.repeat([True, False], [n1, n2]), "v": v})
    row = _row(compare_groups(df, "g", ["v"]), "v")
    est, lo, hi = _hl_by_hand(v[:n1], v[n1:])
    assert row["effect_estimate"] == est
    assert (row["effect_ci_low"], row["effect_ci_high"]) == (lo, hi)


def test_hodges_lehmann_too_small_for_a_ci():
    df = pd.DataFrame({"g": [True] * 3 + [False] * 2, "v": [1.0, 2.0, 3.0, 0.0, 5.0]})
    row = _row(compare_groups(df, "g", ["v"]), "v")
    assert row["effect_estimate"] == float(np.median(np.subtract.outer([1, 2, 3], [0, 5])))
    assert math.isnan(row["effect_ci_low"]) and "too small for a 95% CI" in row["note"]


# --- multiplicity --------------------------------------------------------------------------------

def test_adjust_pvalues_by_hand():
    p = [0.01, 0.04, 0.03, 0.005, np.nan]
    # sorted 0.005, 0.01, 0.03, 0.04 (m = 4)
    # BH: 0.02, 0.02, 0.04, 0.04 ; Holm: 0.02, 0.03, 0.06, max(0.06, 0.04) = 0.06
    np.testing.assert_allclose(adjust_pvalues(p, "bh"), [0.02, 0.04, 0.04, 0.02, np.nan])
    np.testing.assert_allclose(adjust_pvalues(p, "holm"), [0.03, 0.06, 0.06, 0.02, np.nan])
    s = adjust_pvalues(pd.Series([0.5, 0.9], index=["a", "b"]), "holm")
    assert list(s.index) == ["a", "b"] and s["a"] == 1.0
    with pytest.raises(ValueError, match="bh"):
        adjust_pvalues(p, "bonferroni")


def test_q_values_are_per_variable():
    df = _frame()
    res = compare_groups(df, "cr_ever", ["age_years", "fever", "ln_class"], adjust="bh")
    per_var = res.table.drop_duplicates("variable")
    expected = adjust_pvalues(per_var["p_value"].to_numpy(), "bh")
    np.testing.assert_allclose(per_var["q_value"].to_numpy(), expected)


# --- dictionary, labels, layout --------------------------------------------------------------------

def test_dictionary_drives_labels_types_and_order():
    df = _frame()
    # outcome-derived columns of an analysis frame stay out of the default baseline comparison
    df["cr_m12"] = df["cr_ever"]
    df["lda_ever"] = df["cr_ever"]
    res = compare_groups(df, "cr_ever")
    assert list(res.table.drop_duplicates("variable")["variable"]) == [
        "sex", "age_years", "sle_duration_months", "msc_source", "prior_cyc", "fever", "ln_class"]
    sex = _row(res, "sex")
    assert (sex["label"], sex["level"], sex["section"]) == ("Female", "F", "Demographics")
    assert _row(res, "age_years")["unit"] == "years"
    assert _row(res, "fever")["level"] == True  # noqa: E712 (booleans show True)
    assert list(res.groups) == [True, False]
    assert list(res.group_labels) == ["CR during 1 year: yes", "CR during 1 year: no"]
    assert list(res.group_sizes) == [int(df.cr_ever.sum()), int((~df.cr_ever).sum())]


def test_columns_outside_the_dictionary_are_typed_from_dtype():
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"arm": rng.random(50) < 0.5, "flag": rng.random(50) < 0.3,
                       "score": rng.normal(size=50), "name": ["x"] * 50,
                       "grade": pd.Categorical(rng.choice(["lo", "hi"], 50))})
    res = compare_groups(df, "arm")
    kinds = dict(zip(res.table["variable"], res.table["type"]))
    assert kinds == {"flag": "categorical", "score": "continuous", "grade": "categorical"}
    with pytest.raises(TypeError, match="'name'"):
        compare_groups(df, "arm", ["name"])
    with pytest.raises(KeyError, match="nope"):
        compare_groups(df, "arm", ["nope"])


def test_missing_group_rows_are_reported():
    df = _frame()
    df.loc[[0, 1], "cr_ever"] = pd.NA
    res = compare_groups(df, "cr_ever", ["fever"])
    assert res.n_excluded == 2
    assert "2 patient(s)" in res.notes[0]
    assert sum(list(res.group_sizes)) == len(df) - 2


def test_describe_overall():
    df = _frame()
    d = describe(df, ["age_years", "fever"])
    age = d.table[d.table.variable == "age_years"].iloc[0]
    assert age["all_median"] == df.age_years.median() and age["all_missing"] == 3
    fever = d.table[d.table.variable == "fever"].iloc[0]
    assert fever["all_count"] == int(df.fever.sum()) and fever["all_n_valid"] == len(df) - 2


# --- repeated measures -----------------------------------------------------------------------------

def test_wilcoxon_by_hand_and_friedman_against_scipy():
    wide = pd.DataFrame({"patient_id": list("abcde"),
                         "sledai_m0": [10.0, 12, 8, 14, 9],
                         "sledai_m1": [11.0, 14, 5, 18, 9],     # differences 1, 2, -3, 4, 0
                         "sledai_m3": [6.0, 8, 4, 10, np.nan]})
    res = paired_over_time(wide)
    # Friedman on the 4 complete cases
    ref = stats.friedmanchisquare(*[wide.dropna()[c] for c in ("sledai_m0", "sledai_m1", "sledai_m3")])
    assert res.test == "friedman" and res.n_complete == 4 and res.n_total == 5
    assert res.statistic == pytest.approx(ref.statistic) and res.p_value == pytest.approx(ref.pvalue)
    assert "4 of 5" in res.note
    m1 = res.pairwise.iloc[0]
    # zero dropped: |d| ranks 1..4, W+ = 1 + 2 + 4 = 7, mean 5, variance 4*5*9/24 = 7.5
    z = (7 - 5) / math.sqrt(7.5)
    assert (m1["n_pairs"], m1["n_nonzero"], m1["statistic"]) == (5, 4, 7.0)
    assert m1["p_value"] == pytest.approx(2 * stats.norm.sf(z), rel=1e-12)
    # Holm over the two comparisons
    p = res.pairwise["p_value"].to_numpy()
    np.testing.assert_allclose(res.pairwise["p_holm"], adjust_pvalues(p, "holm"))
    assert res.summary["n"].tolist() == [5, 5, 4]


def test_paired_long_form_equals_wide_form():
    wide = pd.DataFrame({"patient_id": list("abcdef"),
                         "sledai_m0": [10.0, 12, 8, 14, 9, 20],
                         "sledai_m1": [11.0, 14, 5, 18, 9, 12],
                         "sledai_m3": [6.0, 8, 4, 10, 7, 9]})
    long = wide.melt("patient_id", var_name="col", value_name="sledai")
    long["month"] = long["col"].str.extract(r"(\d+)$")[0].astype(int)
    a = paired_over_time(wide)
    b = paired_over_time(long, value="sledai")
    assert a.statistic == b.statistic and a.p_value == b.p_value
    np.testing.assert_allclose(a.pairwise["p_value"], b.pairwise["p_value"])


def test_a_category_nobody_has_a_value_for_is_one_not_testable_row():
    # 4 patients, 2 per group, no biopsy at all: nothing is missing (the class applies to the
    # biopsied only), nobody it applies to, and the row says why there is no test
    frame = pd.DataFrame({"grp": [True, True, False, False],
                          "ln_class": pd.Categorical([None] * 4, categories=["I", "II", "III", "IV", "V", "VI"])})
    result = compare_groups(frame, by="grp", variables=["ln_class"])
    assert len(result.table) == 1
    row = result.table.iloc[0]
    assert row["test"].startswith("not testable") and pd.isna(row["p_value"])
    assert (row["g1_missing"], row["g2_missing"], row["g1_count"], row["g2_count"]) == (0, 0, 0, 0)
    assert (row["g1_n_applicable"], row["g2_n_applicable"], row["g1_n"]) == (0, 0, 2)


def test_not_applicable_is_not_missing_and_a_gap_among_the_applicable_is():
    """CYC dose group applies to induced patients only (data dictionary): the non-induced are not
    applicable; an induced patient without a recorded dose group is a true gap (missing)."""
    frame = pd.DataFrame({"grp": [True, True, True, False, False, False],
                          "cyc_induction": pd.array([True, True, False, True, True, False], dtype="boolean"),
                          "cyc_induction_dose_group": pd.Categorical(["<1.2 g", None, None, ">=1.2 g", ">=1.2 g", None],
                                                                     categories=["<1.2 g", ">=1.2 g"])})
    row = _row(compare_groups(frame, "grp", ["cyc_induction_dose_group"]), "cyc_induction_dose_group", "<1.2 g")
    assert (row["g1_n"], row["g1_n_applicable"], row["g1_n_valid"], row["g1_missing"]) == (3, 2, 1, 1)
    assert (row["g2_n"], row["g2_n_applicable"], row["g2_n_valid"], row["g2_missing"]) == (3, 2, 2, 0)
    assert row["applies_to"] == "induced"


def test_reference_tests_add_the_other_p_where_the_choice_differs():
    df = _frame()
    res = summarise(df, "cr_ever", ["prior_cyc", "fever", "age_years"]).add_p(
        "expected_lt_5", reference_tests={"prior_cyc": "fisher", "fever": "chi2", "age_years": "mann_whitney"},
        reference="paper").table
    cyc, fever = _row(res, "prior_cyc"), _row(res, "fever")
    assert cyc["test"] == "chi2" and cyc["ref_test"] == "fisher" and cyc["reference"] == "paper"
    a, b = _groups(df, "prior_cyc")
    table = [[int(a.sum()), int((~a.astype(bool)).sum())], [int(b.sum()), int((~b.astype(bool)).sum())]]
    assert cyc["ref_p_value"] == pytest.approx(stats.fisher_exact(table).pvalue, rel=1e-12)
    assert fever["ref_test"] == "" and np.isnan(fever["ref_p_value"])  # the same test: nothing beside
