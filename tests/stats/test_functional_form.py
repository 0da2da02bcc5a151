"""Restricted cubic spline linearity test (msc_sle.stats.functional_form) against R rms.

Reference: data/reference_spline.R (R 4.2.2, rms 6.5.0; run once, printed values stored below) on
data/spline_cohort.csv (69 simulated rows): ``rcspline.eval`` knots and basis, ``lrtest`` of
``lrm(y ~ x + ...)`` against ``lrm(y ~ rcs(x, 4) + ...)``, and the " Nonlinear" row of
``anova(lrm(y ~ rcs(x, 4) + ...))`` (Wald).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from msc_sle.stats.functional_form import rcs_basis, rcs_knots, spline_nonlinearity

DATA = Path(__file__).parent / "data"


def _data():
    d = pd.read_csv(DATA / "spline_cohort.csv")
    return d[["age", "dur", "ln"]].to_numpy(float), d["y"].to_numpy(float)


def test_knots_and_basis_match_rcspline_eval():
    X, _ = _data()
    np.testing.assert_allclose(rcs_knots(X[:, 0]), [16, 27.8, 33.2, 46], atol=1e-9)
    np.testing.assert_allclose(rcs_knots(X[:, 1]), [18, 36, 63.6, 128], atol=1e-9)
    B = rcs_basis(X[:3, 0], rcs_knots(X[:, 0]))
    np.testing.assert_allclose(B, [[4.551111111111, 0.08232], [11.543111111111, 1.00440], [0.138888888889, 0.0]],
                               atol=1e-9)


@pytest.mark.parametrize("column, lr, wald", [(0, 1.501217597085, 1.383006856356),
                                              (1, 5.6985761137768, 3.497305085337)])
def test_nonlinearity_tests_match_rms(column, lr, wald):
    X, y = _data()
    t = spline_nonlinearity(X, y, column)
    assert t.estimable and t.df == 2
    assert t.lr_statistic == pytest.approx(lr, abs=1e-6)
    assert t.wald_statistic == pytest.approx(wald, abs=1e-5)


def test_separated_spline_is_not_estimable():
    x = np.arange(30.0)
    y = (x > 14.5).astype(float)
    t = spline_nonlinearity(x, y, 0)
    assert not t.estimable and t.reason == "separation" and np.isnan(t.lr_p)
