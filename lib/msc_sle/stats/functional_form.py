"""Is a continuous predictor's effect linear on the log-odds scale? A restricted cubic spline test.

A logistic model that enters a continuous predictor as one term assumes its log odds ratio is the
same per unit everywhere. :func:`spline_nonlinearity` replaces that term by a restricted cubic
spline (Stone & Koo 1985; Harrell, *Regression Modeling Strategies*, 2nd ed., section 2.4.5) with
``nk`` knots, the other predictors unchanged, and tests the ``nk - 2`` nonlinear terms:

* the likelihood-ratio chi-square between the linear and the spline model (R ``rms::lrtest``);
* the Wald chi-square of the nonlinear terms (the "Nonlinear" row of ``anova(lrm(...))``).

Knots are placed as ``Hmisc::rcspline.eval`` places them (quantiles 0.05, 0.35, 0.65, 0.95 for 4
knots, R's type-7 quantile; below 100 values the outer knots move to the 5th smallest and largest
value; a value shared by 5% or more at either end becomes a knot of its own), and the basis is
``rcspline.eval``'s with ``norm = 2``, so coefficients are comparable with R's. The fits are
ordinary maximum likelihood (statsmodels ``Logit``); where the data are separated there is no
test (``estimable`` False). Nothing here knows what the predictors mean.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["SplineTest", "rcs_knots", "rcs_basis", "spline_nonlinearity"]


@dataclass(frozen=True)
class SplineTest:
    """The nonlinearity test of one predictor: ``lr_statistic`` / ``lr_p`` and ``wald_statistic`` /
    ``wald_p`` on ``df`` degrees of freedom; ``knots``; ``estimable`` False (with ``reason``) when
    the spline or linear model has no maximum likelihood fit."""

    column: str
    knots: tuple
    df: int
    lr_statistic: float
    lr_p: float
    wald_statistic: float
    wald_p: float
    n: int
    estimable: bool
    reason: str = ""


def rcs_knots(x, nk: int = 4, fractied: float = 0.05) -> np.ndarray:
    """Knot locations as ``Hmisc::rcspline.eval(x, nk = nk)`` chooses them (main algorithm)."""
    xx = np.asarray(x, dtype=float)
    xx = xx[~np.isnan(xx)]
    n = xx.size
    if n < 6:
        raise ValueError("fewer than 6 values: no spline")
    xu = np.unique(xx)
    if xu.size - 2 <= nk:
        return xu[1:-1]
    outer = 0.025 if nk > 6 else (0.05 if nk > 3 else 0.1)
    nke, first, last = nk, [], []
    over_first = over_last = False
    values, counts = np.unique(xx, return_counts=True)
    f = counts / n
    if 0 < fractied < 1 and f[1:-1].max() < fractied:
        if f[0] >= fractied:
            first = [xx[xx > xx.min()].min()]
            xx = xx[xx > first[0]]
            nke -= 1
            over_first = True
        if f[-1] >= fractied:
            last = [xx[xx < xx.max()].max()]
            xx = xx[xx < last[0]]
            nke -= 1
            over_last = True
    if nke == 1:
        knots = np.array([np.median(xx)])
    else:
        p = np.linspace(0.5, 1 - outer, nke) if nke == 2 else np.linspace(outer, 1 - outer, nke)
        knots = np.quantile(xx, p)  # numpy's default is R's type 7
        if np.unique(knots).size < min(nke, 3):
            raise ValueError("too many tied values for the default knots")
        if xx.size < 100:
            s = np.sort(xx)
            if not over_first:
                knots[0] = s[4]
            if not over_last:
                knots[-1] = s[-5]
    knots = np.unique(np.concatenate([first, knots, last]))
    if knots.size < 3:
        raise ValueError("fewer than 3 distinct knots")
    return knots


def rcs_basis(x, knots) -> np.ndarray:
    """The ``len(knots) - 2`` nonlinear columns of ``rcspline.eval(x, knots, norm = 2)``."""
    x = np.asarray(x, dtype=float)
    k = np.asarray(knots, dtype=float)
    kd = (k[-1] - k[0]) ** (2 / 3)

    def cube(v):
        return np.maximum(v / kd, 0.0) ** 3

    return np.column_stack([cube(x - k[j]) + ((k[-2] - k[j]) * cube(x - k[-1]) - (k[-1] - k[j]) * cube(x - k[-2]))
                            / (k[-1] - k[-2]) for j in range(k.size - 2)])


def _logit(y, X):
    from statsmodels.discrete.discrete_model import Logit
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = Logit(y, np.column_stack([np.ones(len(y)), X])).fit(method="newton", maxiter=100, disp=0)
    ok = bool(res.mle_retvals.get("converged", False)) and np.all(np.isfinite(res.bse))
    return res, ok


def spline_nonlinearity(X, y, column: int, *, nk: int = 4, name: str | None = None) -> SplineTest:
    """Test the linearity of predictor ``column`` of ``X`` (no intercept column) in the logistic
    model of ``y`` on all of ``X``, by a restricted cubic spline with ``nk`` knots."""
    from .estimability import lp_separation
    Xa = np.asarray(X, dtype=float)
    Xa = Xa[:, None] if Xa.ndim == 1 else Xa
    ya = np.asarray(y, dtype=float).ravel()
    x = Xa[:, column]
    name = name or f"x{column}"
    knots = rcs_knots(x, nk)
    B = rcs_basis(x, knots)
    Xs = np.column_stack([Xa, B])
    df = B.shape[1]
    blank = dict(column=name, knots=tuple(float(k) for k in knots), df=df, n=int(ya.size))
    if lp_separation(np.column_stack([np.ones(ya.size), Xs]), ya):
        return SplineTest(**blank, lr_statistic=np.nan, lr_p=np.nan, wald_statistic=np.nan, wald_p=np.nan,
                          estimable=False, reason="separation")
    linear, ok_l = _logit(ya, Xa)
    spline, ok_s = _logit(ya, Xs)
    if not (ok_l and ok_s):
        return SplineTest(**blank, lr_statistic=np.nan, lr_p=np.nan, wald_statistic=np.nan, wald_p=np.nan,
                          estimable=False, reason="no convergence")
    lr = max(0.0, 2.0 * (spline.llf - linear.llf))
    idx = np.arange(Xs.shape[1] + 1 - df, Xs.shape[1] + 1)
    b = np.asarray(spline.params)[idx]
    V = np.asarray(spline.cov_params())[np.ix_(idx, idx)]
    wald = float(b @ np.linalg.solve(V, b))
    return SplineTest(**blank, lr_statistic=float(lr), lr_p=float(stats.chi2.sf(lr, df)), wald_statistic=wald,
                      wald_p=float(stats.chi2.sf(wald, df)), estimable=True)
