"""The bootstrap's own implementations against the libraries: its vectorised performance measures
row by row, and rms' logistic search against statsmodels where the maximum exists.

``stats.models._metrics`` scores a chunk of refits at once (bench/bench_models.py: the library
path, one statsmodels ``Logit`` and one scikit-learn ``roc_auc_score`` per replicate, would add
about 7 s CPU to the 07 page). Here every row of random stacks, with tied linear predictors, a
single event or non-event, constant predictors and separated rows, must equal the libraries:
c = ``roc_auc_score``, intercept and slope = statsmodels ``Logit`` (NaN exactly where Logit finds
no maximum), Brier = the mean squared error of the predicted risk.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score
from statsmodels.discrete.discrete_model import Logit

from msc_sle.stats import models as sm_models


def _logit(y, lp):
    """statsmodels' recalibration, or None when it finds no maximum (separation, no convergence)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = Logit(y, np.column_stack([np.ones(y.size), lp])).fit(method="newton", disp=0, tol=1e-12,
                                                                      maxiter=200)
        except Exception:  # noqa: BLE001 - statsmodels raises on perfect separation
            return None
    if not res.mle_retvals["converged"] or not np.all(np.isfinite(res.bse)) or np.max(np.abs(res.params)) > 50:
        return None
    return res.params


@st.composite
def stacks(draw):
    m = draw(st.integers(1, 6))
    n = draw(st.integers(2, 30))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    decimals = draw(st.sampled_from([0, 1, 3]))          # 0 decimals: many tied predictors
    lp = np.round(rng.normal(0, 1.5, (m, n)), decimals)
    y = (rng.random((m, n)) < 1 / (1 + np.exp(-(draw(st.floats(-2, 2)) + lp)))).astype(float)
    for i in range(m):                                   # tiny groups: one event, or one non-event
        kind = rng.integers(0, 4)
        if kind == 1:
            y[i] = 0.0
            y[i, rng.integers(n)] = 1.0
        elif kind == 2:
            y[i] = 1.0
            y[i, rng.integers(n)] = 0.0
        elif kind == 3 and n > 2:
            lp[i] = 0.7                                  # constant predictor: no slope
    return y, lp


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stacks())
def test_vectorised_measures_equal_the_libraries(data):
    y, lp = data
    got = sm_models._metrics(y, lp)
    for i in range(y.shape[0]):
        c, dxy, a, b, brier = got[i]
        if 0 < y[i].sum() < y.shape[1]:
            assert c == pytest.approx(roc_auc_score(y[i], lp[i]), abs=1e-12)
            assert dxy == pytest.approx(2 * c - 1, abs=1e-12)
        else:
            assert np.isnan(c)
        assert brier == pytest.approx(np.mean((1 / (1 + np.exp(-lp[i])) - y[i]) ** 2), abs=1e-12)
        ref = _logit(y[i], lp[i]) if 0 < y[i].sum() < y.shape[1] and np.ptp(lp[i]) > 0 else None
        if ref is None:
            assert np.isnan(a) and np.isnan(b), (i, a, b)
        else:
            assert (a, b) == (pytest.approx(ref[0], abs=1e-6), pytest.approx(ref[1], abs=1e-6)), i


def test_one_row_at_a_time_is_the_same_as_the_stack():
    """The stack's rows do not leak into each other (a row finishing early, or failing, leaves the
    others' Newton steps alone)."""
    rng = np.random.default_rng(8)
    lp = rng.normal(0, 1, (12, 25))
    y = (rng.random((12, 25)) < 0.4).astype(float)
    y[3] = (lp[3] > 0).astype(float)                     # separated: no recalibration
    stacked = sm_models._metrics(y, lp)
    one_by_one = np.vstack([sm_models._metrics(y[i:i + 1], lp[i:i + 1]) for i in range(12)])
    np.testing.assert_array_equal(stacked, one_by_one)
    assert np.isnan(stacked[3, 2:4]).all() and np.isfinite(np.delete(stacked, 3, axis=0)).all()


def test_rms_search_reaches_the_statsmodels_maximum_where_there_is_one():
    """``_lrm_fit`` is rms' ``lrm.fit`` search (kept so that ``bootstrap_validation(fit="ml")`` stops
    where rms stops on separated samples); on samples that are not separated it must land on the
    maximum statsmodels' Logit finds, so ML logistic regression has one answer."""
    from msc_sle.stats.estimability import lp_separation

    rng = np.random.default_rng(24)
    checked = 0
    for _ in range(40):
        n, k = int(rng.integers(20, 80)), int(rng.integers(1, 4))
        X1 = np.column_stack([np.ones(n), np.round(rng.normal(size=(n, k)), 1)])
        y = (rng.random(n) < 1 / (1 + np.exp(-(X1 @ rng.normal(0, 1, k + 1))))).astype(float)
        if y.min() == y.max() or lp_separation(X1, y):
            continue
        beta, converged = sm_models._lrm_fit(X1, y)
        ref = Logit(y, X1).fit(method="newton", disp=0, tol=1e-12)
        assert converged and beta is not None
        # up to rms' own stopping rule (-2 log L changed by at most 0.025, then one more Newton step)
        np.testing.assert_allclose(beta, ref.params, rtol=0, atol=1e-4)
        checked += 1
    assert checked >= 30


def test_quasi_separation_at_a_tie_has_no_recalibration():
    """Found by hypothesis: the one non-event ties the largest event's predictor, so c is above 0
    but no maximum exists (statsmodels' Logit finds none); the vectorised fit must say NaN, not stop
    on a finite point of the plateau."""
    y = np.ones((1, 21))
    y[0, 6] = 0.0
    lp = np.array([[2, 1, 0, 0, 2, 3, 3, 2, 1, -2, 0, 1, -2, 1, 1, 1, -2, -1, -1, -2, 3]], dtype=float)
    assert _logit(y[0], lp[0]) is None
    c, _dxy, a, b, _brier = sm_models._metrics(y, lp)[0]
    assert 0 < c < 1
    assert np.isnan(a) and np.isnan(b)
