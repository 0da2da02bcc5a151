"""Estimability checks (msc_sle.stats.estimability) against R and an independent LP implementation.

How the references were obtained: data/reference_estimability.R (R 4.2.2, brglm2 0.9; run once,
printed values stored below). data/firth_68_of_69.csv is simulated (68 events in 69 rows, four
predictors): brglm2 reaches the maximum of Firth's penalised log-likelihood, -0.869523404276, while
optim from another start stops at a second stationary point, -0.888522053465 -- where firthmodels'
Newton-Raphson from zero also stops. A fit that reports the second point must be "not estimable".
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from msc_sle.stats.estimability import check_logistic_fit, lp_separation, penalised_loglik
from msc_sle.stats.models import firth_logistic, logistic

DATA = Path(__file__).parent / "data"
R_MAXIMUM = -0.869523404276      # brglm2's estimate, penalised log-likelihood (R)
R_OTHER_POINT = -0.888522053465  # optim from c(0, 1, -1, 0, 2) (R)
R_BRGLM2 = [1.5930414605, -0.292599282306, 0.157893766206, 0.0348024597978, 1.57948425276]


def _fixture():
    d = pd.read_csv(DATA / "firth_68_of_69.csv")
    return d[["age10", "duration12", "score", "flag"]].to_numpy(float), d["y"].to_numpy(float)


def test_firth_fit_stopped_off_the_maximum_is_not_estimable():
    X, y = _fixture()
    assert y.sum() == 68 and len(y) == 69
    fit = firth_logistic(X, y, confint="wald")
    assert fit.loglik == pytest.approx(R_OTHER_POINT, abs=1e-6)  # the optimiser's stationary point
    check = check_logistic_fit(X, y, fit.coef, lower=fit.table["ci_lower"], upper=fit.table["ci_upper"])
    assert not check.estimable and "not_maximum" in check.problems
    assert check.best_loglik == pytest.approx(R_MAXIMUM, abs=1e-6)
    assert (check.n, check.n_events, check.n_nonevents) == (69, 68, 1)


def test_the_maximum_itself_passes():
    X, y = _fixture()
    X1 = np.column_stack([np.ones(len(y)), X])
    assert penalised_loglik(X1, y, np.array(R_BRGLM2))[0] == pytest.approx(R_MAXIMUM, abs=1e-9)
    check = check_logistic_fit(X, y, R_BRGLM2)
    assert check.estimable and check.problems == () and check.max_hessian_eigenvalue < 0


def test_saddle_point_and_interval_missing_its_estimate():
    X, y = _fixture()
    fit = firth_logistic(X[:, :1], y, confint="wald")  # one predictor: a clean maximum
    lower, upper = fit.table["ci_lower"].to_numpy(), fit.table["ci_upper"].to_numpy()
    assert check_logistic_fit(X[:, :1], y, fit.coef, lower=lower, upper=upper).estimable
    shifted = upper.copy()
    shifted[1] = fit.coef[1] - 0.01  # "1.22 (0.91 to 0.91)": an interval below its estimate
    bad = check_logistic_fit(X[:, :1], y, fit.coef, lower=lower, upper=shifted, names=["(Intercept)", "age"])
    assert bad.problems == ("ci_excludes_estimate",) and bad.bad_intervals == ("age",)
    missing = upper.copy()
    missing[1] = np.nan
    assert "ci_missing" in check_logistic_fit(X[:, :1], y, fit.coef, lower=lower, upper=missing).problems
    away = fit.coef + np.array([0.0, 0.3])  # not a stationary point: another start does better
    assert "not_maximum" in check_logistic_fit(X[:, :1], y, away).problems


def test_ml_fit_on_separated_data_is_not_estimable_and_firth_is():
    x = np.arange(10.0)
    y = (x > 4.5).astype(float)
    ml = check_logistic_fit(x, y, [0.0, 1.0], penalised=False, converged=False)
    assert not ml.estimable and "separation" in ml.problems and ml.separated
    firth = firth_logistic(x, y, confint="wald")
    check = check_logistic_fit(x, y, firth.coef)
    assert check.separated and check.estimable


def test_lp_separation_agrees_with_firthmodels():
    from firthmodels import detect_separation
    rng = np.random.default_rng(5)
    seen = set()
    for trial in range(60):
        n = int(rng.integers(8, 30))
        X = rng.normal(size=(n, 2))
        if trial % 3 == 0:
            X[:, 1] = (rng.random(n) < 0.2).astype(float)
        y = (rng.random(n) < 1 / (1 + np.exp(-3 * X[:, 0]))).astype(float)
        if y.min() == y.max() or np.ptp(X[:, 1]) == 0:
            continue
        expected = bool(detect_separation(X, y, fit_intercept=True).separation)
        assert lp_separation(np.column_stack([np.ones(n), X]), y) == expected, trial
        seen.add(expected)
    assert seen == {True, False}


def test_ordinary_fit_without_separation_passes():
    X, y = _fixture()
    rng = np.random.default_rng(1)
    y2 = (rng.random(len(y)) < 0.5).astype(float)
    fit = logistic(X, y2)
    assert fit.exists
    check = check_logistic_fit(X, y2, fit.coef, lower=fit.table["ci_lower"], upper=fit.table["ci_upper"],
                               penalised=False)
    assert check.estimable, check.problems
