"""TRIPOD reporting of a logistic model (msc_sle.stats.prediction) against published worked
examples and R.

References, and how each was obtained:

* Riley, Snell, Ensor, Burke, Harrell, Moons & Collins (2019), "Minimum sample size for
  developing a multivariable prediction model: PART II - binary and time-to-event outcomes",
  Statistics in Medicine 38:1276-96, worked example of a diagnostic model for Chagas disease:
  24 candidate predictor parameters, prevalence 0.174, anticipated Cox-Snell R2 0.288 give
  623 (criterion i), 662 (criterion ii, shrinkage 0.905) and 221 (criterion iii) participants,
  max R2cs 0.603, an EPP of at least 4.8 (its abstract). The same numbers are the binary example of
  the R package pmsampsize (type = "b", csrsquared = 0.288, parameters = 24, prevalence = 0.174),
  whose criteria Riley et al. (2020, BMJ 368:m441) present. pmsampsize is not installed here; the
  BMJ paper's own text was not reachable from this machine, so its example is not typed in.
* data/reference_prediction.R (R 4.2, brglm2, run 2026 on this machine): FLIC intercepts on the
  endometrial data (Heinze & Schemper 2002); the optimism loop with brglm2 Firth fits on the
  stored validation cohort and its 200 stored resamples (data/validation_resamples.csv), with
  the bootstrap intervals by quantile(type = 7).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from msc_sle.stats.models import bootstrap_validation, firth_logistic
from msc_sle.stats.prediction import (corrected_interval, cox_snell_r2, heuristic_shrinkage, likelihood_ratio_test,
                                      max_cox_snell_r2, minimum_sample_size, refit_intercept)

DATA = Path(__file__).parent / "data"


# ------------------------------------------------------------------------------------------------
# Riley et al.'s minimum sample size
# ------------------------------------------------------------------------------------------------
def test_minimum_sample_size_reproduces_the_published_chagas_example():
    s = minimum_sample_size(24, 0.174, 0.288)
    assert s.criteria["n"].tolist() == [623, 662, 221]
    assert s.minimum == 662 and s.limiting == 2
    assert round(s.max_r2_cs, 3) == 0.603
    assert round(float(s.criteria.loc[1, "shrinkage"]), 3) == 0.905
    assert round(float(s.criteria.loc[1, "epp"]), 1) == 4.8


def test_minimum_sample_size_moves_the_right_way_and_refuses_impossible_inputs():
    base = minimum_sample_size(4, 0.25, 0.10)
    assert minimum_sample_size(8, 0.25, 0.10).minimum > base.minimum          # more parameters
    assert minimum_sample_size(4, 0.25, 0.20).minimum < base.minimum          # a stronger model
    assert minimum_sample_size(4, 0.25, 0.10, shrinkage=0.95).minimum > base.minimum
    with pytest.raises(ValueError, match="largest"):
        minimum_sample_size(4, 0.05, 0.5)                                     # above max R2cs 0.33
    with pytest.raises(ValueError):
        minimum_sample_size(0, 0.25, 0.1)


def test_cox_snell_and_heuristic_shrinkage_reach_their_bounds():
    # a prevalence of one half allows at most 1 - 1/4 (each outcome of probability 1/2 per person)
    assert max_cox_snell_r2(0.5) == pytest.approx(0.75)
    assert cox_snell_r2(0.0, 50) == 0.0
    assert heuristic_shrinkage(4.0, 4) == 0.0 and heuristic_shrinkage(40.0, 4) == pytest.approx(0.9)
    chi2, p = likelihood_ratio_test(-10.0, -12.0, 1)
    assert chi2 == pytest.approx(4.0) and p == pytest.approx(0.0455, abs=1e-4)


# ------------------------------------------------------------------------------------------------
# FLIC and the refitted intercept
# ------------------------------------------------------------------------------------------------
ENDOMETRIAL_FLIC = 3.78608349449          # R: glm(HG ~ 1, offset = Firth lp - intercept)
ENDOMETRIAL_SHRUNK_08 = 2.92008829937     # R: the same with the slopes times 0.8


def test_flic_intercept_matches_r_on_the_endometrial_data():
    d = pd.read_csv(DATA / "endometrial.csv")
    fit = firth_logistic(d[["NV", "PI", "EH"]], d["HG"], confint="wald")
    lp = d[["NV", "PI", "EH"]].to_numpy() @ fit.coef[1:]
    flic = refit_intercept(d["HG"], lp)
    assert flic == pytest.approx(ENDOMETRIAL_FLIC, abs=1e-7)
    assert refit_intercept(d["HG"], 0.8 * lp) == pytest.approx(ENDOMETRIAL_SHRUNK_08, abs=1e-7)
    # what FLIC is for: the average predicted risk equals the observed proportion
    assert np.mean(1 / (1 + np.exp(-(flic + lp)))) == pytest.approx(d["HG"].mean(), abs=1e-10)


def test_refit_intercept_solves_even_a_separating_offset_and_refuses_bad_input():
    # an offset that separates the outcomes still leaves one intercept giving the observed average
    y = np.array([0, 0, 0, 1, 1.0])
    off = np.array([-30.0, -25.0, -20.0, 20.0, 26.0])
    a = refit_intercept(y, off)
    assert np.mean(1 / (1 + np.exp(-(a + off)))) == pytest.approx(y.mean(), abs=1e-12)
    with pytest.raises(ValueError):
        refit_intercept(y, np.array([0.0, 1.0]))
    with pytest.raises(ValueError):
        refit_intercept(np.ones(4), np.zeros(4))


# ------------------------------------------------------------------------------------------------
# bootstrap intervals of the corrected measures
# ------------------------------------------------------------------------------------------------
# R, the brglm2 optimism loop on the 200 stored resamples, quantile(type = 7)
VALIDATION_C_SHIFTED = (0.613678383332, 0.832191010555)
VALIDATION_SLOPE_REPLICATES = (0.406405488159, 1.403944002520)


@pytest.fixture(scope="module")
def validation():
    d = pd.read_csv(DATA / "validation_cohort.csv")
    idx = np.loadtxt(DATA / "validation_resamples.csv", delimiter=",", dtype=int)
    return bootstrap_validation(d[["x1", "x2", "b1", "b2", "x3"]], d["y"], resamples=idx)


def test_corrected_intervals_match_r_on_the_same_resamples(validation):
    assert corrected_interval(validation, "c", method="shifted") == pytest.approx(VALIDATION_C_SHIFTED, abs=1e-6)
    assert corrected_interval(validation, "slope", method="replicates") == pytest.approx(
        VALIDATION_SLOPE_REPLICATES, abs=1e-6)


def test_corrected_intervals_contain_the_corrected_estimate_and_narrow_with_alpha(validation):
    for measure in ("c", "slope"):
        corrected = validation.table.loc[measure, "corrected"]
        lo95, hi95 = corrected_interval(validation, measure, method="replicates")
        lo50, hi50 = corrected_interval(validation, measure, method="replicates", alpha=0.5)
        assert lo95 < lo50 < corrected < hi50 < hi95
    with pytest.raises(ValueError):
        corrected_interval(validation, "auc")
    with pytest.raises(ValueError):
        corrected_interval(validation, "c", method="bca")
