"""Logistic regression for small samples: Firth's penalised likelihood beside ordinary maximum
likelihood, a univariable/multivariable table, and Harrell's bootstrap internal validation.

One public function per method, in the manner of ``scipy.stats``; every result is a frozen
dataclass (tables inside are pandas DataFrames), picklable, with no hidden state. Nothing here
knows what the outcome or the predictors mean.

Methods and conventions
-----------------------
* :func:`firth_logistic` -- Firth (1993) bias-reduced logistic regression, i.e. the likelihood
  penalised by Jeffreys' prior, ``l*(b) = l(b) + 1/2 log det I(b)``. Estimates are finite under
  complete or quasi-complete separation (Heinze & Schemper 2002, Statistics in Medicine
  21:2409-19). Confidence intervals are profile penalised-likelihood intervals and p-values are
  penalised likelihood-ratio tests ``2 [l*(b) - l*(b | b_j = 0)]`` on 1 df, the constrained fit
  keeping the full-model penalty: the conventions of R's ``logistf``. The fitting, the profile
  intervals (Venzon & Moolgavkar 1988) and the tests are delegated to ``firthmodels``
  (``FirthLogisticRegression``; MIT, maintained, benchmarked against logistf and brglm2).
* :func:`logistic` -- the ordinary maximum likelihood fit through ``statsmodels`` ``Logit``.
  Separation is checked first with the linear-programming test of Konis (2007)
  (``firthmodels.detect_separation``, as R's ``detectseparation``); when the MLE does not exist the
  result says so and carries no estimates instead of huge, meaningless ones.
* :func:`bootstrap_validation` -- Harrell's optimism bootstrap (Harrell, Lee & Mark 1996; as
  ``rms::validate``): refit in each bootstrap sample, optimism = performance in the bootstrap
  sample minus performance of that model in the original sample, corrected = apparent - mean
  optimism. Reports the c-statistic (AUC = Mann-Whitney U / (n1 n0)), Somers' Dxy, the
  calibration intercept and slope (logistic recalibration ``y ~ a + b lp``) and the Brier score.
  The ML path is ``rms::validate(lrm(...))`` step for step, separated samples included; the Firth
  path is the same loop with Firth refits (as an R brglm2 loop), dropping refits that fail.
* :func:`calibration_curve` -- data for a calibration plot (quantile groups or lowess).

Predictors are numeric columns (code categorical predictors as indicators beforehand); rows with
missing values are rejected (complete-case selection is the caller's decision). An intercept is
always added and reported as ``"(Intercept)"``.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .intervals import wilson_interval

__all__ = [
    "EventsPerVariable", "FirthResult", "LogisticResult", "RegressionTable", "CalibrationCurve",
    "BootstrapValidation",
    "events_per_variable", "firth_logistic", "logistic", "univariable_and_adjusted", "c_statistic",
    "calibration_intercept_slope", "calibration_curve", "bootstrap_validation",
]

INTERCEPT = "(Intercept)"
#: Events per variable below which a model is flagged (Peduzzi et al. 1996).
EPV_THRESHOLD = 10.0
_TABLE_COLUMNS = ["coef", "se", "odds_ratio", "ci_lower", "ci_upper", "or_lower", "or_upper",
                  "statistic", "p"]


# --------------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------------
def _design(X, names: Sequence[str] | None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Predictor matrix as float (n, k) without intercept, and the predictor names."""
    if isinstance(X, pd.Series):
        X = X.to_frame()
    if isinstance(X, pd.DataFrame):
        cols = tuple(str(c) for c in X.columns)
        arr = X.to_numpy(dtype=float, na_value=np.nan)
    else:
        arr = np.asarray(X, dtype=float)
        if arr.ndim == 1:
            arr = arr[:, None]
        cols = tuple(f"x{i}" for i in range(arr.shape[1]))
    if arr.ndim != 2:
        raise ValueError(f"X must be 2-dimensional, got shape {arr.shape}")
    if names is not None:
        names = tuple(str(n) for n in names)
        if len(names) != arr.shape[1]:
            raise ValueError(f"{len(names)} names for {arr.shape[1]} predictors")
        cols = names
    if len(set(cols)) != len(cols) or INTERCEPT in cols:
        raise ValueError(f"predictor names must be unique and not {INTERCEPT!r}: {cols}")
    if not np.isfinite(arr).all():
        raise ValueError("X has missing or non-finite values; select complete cases first")
    return arr, cols


def _outcome(y, n: int | None = None) -> np.ndarray:
    if isinstance(y, (pd.Series, pd.Index)):
        y = y.to_numpy(dtype=float, na_value=np.nan)
    arr = np.asarray(y, dtype=float).ravel()
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"y has {arr.shape[0]} values for {n} rows of X")
    if not np.isin(arr, (0.0, 1.0)).all():
        raise ValueError("y must be binary 0/1 (or False/True) without missing values")
    if arr.min() == arr.max():
        raise ValueError("y has a single class; a logistic model cannot be fitted")
    return arr


def _with_intercept(X: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones(X.shape[0]), X])


def _expit(eta):
    return 1.0 / (1.0 + np.exp(-eta))


# --------------------------------------------------------------------------------------------
# events per variable
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EventsPerVariable:
    """Events per candidate predictor: the smaller outcome class over the number of predictors."""

    n: int
    n_events: int
    n_nonevents: int
    n_predictors: int
    epv: float
    threshold: float
    below_threshold: bool

    @property
    def message(self) -> str:
        limiting = min(self.n_events, self.n_nonevents)
        text = (f"{limiting} events (smaller outcome class) / {self.n_predictors} predictors "
                f"= {self.epv:.1f} events per variable")
        if self.below_threshold:
            text += (f"; WARNING: below {self.threshold:g}, estimates may be biased and "
                     f"overfitted (Peduzzi et al. 1996); Firth's penalisation and the bootstrap "
                     f"optimism correction mitigate but do not remove this")
        return text


def events_per_variable(y, n_predictors: int, *, threshold: float = EPV_THRESHOLD
                        ) -> EventsPerVariable:
    """Events per variable (EPV) of a binary outcome for ``n_predictors`` model coefficients
    (excluding the intercept). The limiting count is the smaller of events and non-events."""
    arr = np.asarray(pd.Series(y).to_numpy(dtype=float, na_value=np.nan), dtype=float).ravel()
    if not np.isin(arr, (0.0, 1.0)).all():
        raise ValueError("y must be binary 0/1 without missing values")
    if n_predictors < 1:
        raise ValueError("n_predictors must be at least 1")
    events = int(arr.sum())
    nonevents = int(arr.size - events)
    epv = min(events, nonevents) / n_predictors
    return EventsPerVariable(n=int(arr.size), n_events=events, n_nonevents=nonevents,
                             n_predictors=int(n_predictors), epv=float(epv),
                             threshold=float(threshold), below_threshold=bool(epv < threshold))


# --------------------------------------------------------------------------------------------
# Firth
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FirthResult:
    """Firth-penalised logistic regression.

    ``table`` is indexed by coefficient name (intercept first) with columns ``coef`` (log odds),
    ``se`` (Wald: inverse Fisher information at the estimate, as logistf), ``odds_ratio``, ``ci_lower``/``ci_upper``
    (log scale), ``or_lower``/``or_upper``, ``statistic`` (penalised likelihood-ratio chi-square,
    1 df) and ``p``. ``ci_method`` is ``"profile"`` (profile penalised likelihood) or ``"wald"``.
    """

    table: pd.DataFrame
    loglik: float                 # penalised log-likelihood at the estimate
    n: int
    n_events: int
    epv: EventsPerVariable
    converged: bool
    n_iter: int
    ci_method: str
    alpha: float
    separation: bool              # whether the ordinary MLE would not exist
    infinite_mle: tuple[str, ...]  # coefficients whose ordinary MLE is infinite
    warnings: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.table.index)

    @property
    def coef(self) -> np.ndarray:
        return self.table["coef"].to_numpy()

    def linear_predictor(self, X) -> np.ndarray:
        """``b0 + X b`` for new rows with the model's predictors in the same order."""
        arr, _ = _design(X, self.names[1:])
        return _with_intercept(arr) @ self.coef

    def predict_proba(self, X) -> np.ndarray:
        """Predicted probability of the event for new rows."""
        return _expit(self.linear_predictor(X))


def _firth_estimator(tol: float, max_iter: int, penalty_weight: float = 0.5):
    from firthmodels import FirthLogisticRegression
    return FirthLogisticRegression(gtol=tol, xtol=tol, max_iter=max_iter, max_halfstep=25,
                                   penalty_weight=penalty_weight, backend="numpy")


def _fit_firth_model(X: np.ndarray, y: np.ndarray, tol: float, max_iter: int,
                     penalty_weight: float = 0.5):
    """Fit; when a tight tolerance stalls only on floating-point noise (step-halving cannot
    improve a flat optimum), refit at 100x the tolerance. Returns (model, messages)."""
    from sklearn.exceptions import ConvergenceWarning
    failures: list[str] = []
    for attempt_tol in (tol, tol * 100.0):
        model = _firth_estimator(attempt_tol, max_iter, penalty_weight)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            model.fit(X, y)
        if model.converged_:
            notes = [] if attempt_tol == tol else [
                f"converged at tolerance {attempt_tol:g} (not {tol:g})"]
            return model, notes
        failures.extend(str(w.message) for w in caught)
    return model, failures


def _lrt_pvalues(model, X: np.ndarray, y: np.ndarray, tol: float, max_iter: int
                 ) -> tuple[np.ndarray, list[str]]:
    """Penalised LR p-values in firthmodels' order; a constrained fit that stalls at the tight
    tolerance is redone from a fit at 100x the tolerance."""
    from sklearn.exceptions import ConvergenceWarning
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.lrt()
    p = np.asarray(model.lrt_pvalues_, dtype=float).copy()
    missing = [int(i) for i in np.flatnonzero(np.isnan(p))]
    if missing:
        loose = _firth_estimator(tol * 100.0, max_iter)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            loose.fit(X, y)
            if loose.converged_:
                loose.lrt(missing)
                p[missing] = np.asarray(loose.lrt_pvalues_, dtype=float)[missing]
        if np.isnan(p).any():
            notes.extend(str(w.message) for w in caught)
        else:
            notes.append(f"{len(missing)} likelihood-ratio test(s) at tolerance {tol * 100:g}")
    return p, notes


def _wald_se(X1: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """sqrt(diag((X'WX)^-1)) at the estimate: logistf's and brglm2's standard errors.
    (firthmodels' ``bse_`` inverts the hat-augmented information instead, hence not used.)"""
    p = _expit(X1 @ coef)
    info = (X1 * (p * (1 - p))[:, None]).T @ X1
    try:
        return np.sqrt(np.diag(np.linalg.inv(info)))
    except np.linalg.LinAlgError:
        return np.full(coef.size, np.nan)


def _separation(X: np.ndarray, y: np.ndarray, names: tuple[str, ...]) -> tuple[bool, tuple]:
    from firthmodels import detect_separation
    res = detect_separation(X, y, fit_intercept=True)
    # firthmodels orders coefficients as (features..., intercept)
    order = list(names) + [INTERCEPT]
    infinite = tuple(n for n, fin in zip(order, res.is_finite) if not fin)
    return bool(res.separation), infinite


def _profile_ci(model, alpha: float, tol: float, max_iter: int) -> tuple[np.ndarray | None, list[str]]:
    from sklearn.exceptions import ConvergenceWarning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            ci = model.conf_int(alpha=alpha, method="pl", tol=tol, max_iter=max_iter)
        except np.linalg.LinAlgError:
            # On a large sample the search can step to a coefficient where every weight p(1-p)
            # underflows (a rank-deficient weighted design): no profile bound there, said so.
            return None, ["profile penalised-likelihood interval not computable (the weighted design became "
                          "rank deficient during the search); Wald interval given instead"]
    return np.asarray(ci, dtype=float), [str(w.message) for w in caught]


def _reorder(vec: np.ndarray) -> np.ndarray:
    """firthmodels (features..., intercept) -> (intercept, features...)."""
    return np.concatenate([vec[-1:], vec[:-1]])


def _table(names, coef, se, lower, upper, statistic, p) -> pd.DataFrame:
    t = pd.DataFrame({"coef": coef, "se": se, "odds_ratio": np.exp(coef), "ci_lower": lower,
                      "ci_upper": upper, "or_lower": np.exp(lower), "or_upper": np.exp(upper),
                      "statistic": statistic, "p": p}, index=pd.Index(names, name="term"))
    return t[_TABLE_COLUMNS]


def firth_logistic(X, y, *, names: Sequence[str] | None = None, confint: str = "profile",
                   alpha: float = 0.05, max_iter: int = 100, tol: float = 1e-8) -> FirthResult:
    """Firth's penalised-likelihood logistic regression (logistf conventions).

    Parameters
    ----------
    X : (n, k) array or DataFrame of numeric predictors (no intercept column).
    y : (n,) binary outcome.
    names : predictor names (default: DataFrame columns, else x0, x1, ...).
    confint : ``"profile"`` (profile penalised likelihood, default) or ``"wald"``.
    alpha : 1 - confidence level.
    max_iter, tol : Newton-Raphson limits (gradient and step tolerance); the profile-interval
        search uses the same.
    """
    if confint not in ("profile", "wald"):
        raise ValueError("confint must be 'profile' or 'wald'")
    if not 0 < alpha < 1:
        raise ValueError("alpha must lie in (0, 1)")
    Xa, cols = _design(X, names)
    ya = _outcome(y, Xa.shape[0])
    model, notes = _fit_firth_model(Xa, ya, tol, max_iter)
    coef = _reorder(np.append(model.coef_, model.intercept_))
    se = _wald_se(_with_intercept(Xa), coef)
    p = np.full(coef.size, np.nan)
    chi2 = np.full(coef.size, np.nan)
    if model.converged_:
        p_raw, msgs = _lrt_pvalues(model, Xa, ya, tol, max_iter)
        notes.extend(msgs)
        p = _reorder(p_raw)
        chi2 = stats.chi2.isf(p, 1)
    ci = None
    if confint == "profile" and model.converged_:
        ci, msgs = _profile_ci(model, alpha, tol, max_iter)
        notes.extend(msgs)
    if ci is not None:
        lower, upper = _reorder(ci[:, 0]), _reorder(ci[:, 1])
    else:
        z = stats.norm.isf(alpha / 2)
        lower, upper = coef - z * se, coef + z * se
    separated, infinite = _separation(Xa, ya, cols)
    return FirthResult(
        table=_table((INTERCEPT,) + cols, coef, se, lower, upper, chi2, p),
        loglik=float(model.loglik_), n=int(ya.size), n_events=int(ya.sum()),
        epv=events_per_variable(ya, len(cols)), converged=bool(model.converged_),
        n_iter=int(model.n_iter_), ci_method=confint, alpha=float(alpha),
        separation=separated, infinite_mle=infinite, warnings=tuple(dict.fromkeys(notes)))


# --------------------------------------------------------------------------------------------
# ordinary maximum likelihood
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LogisticResult:
    """Ordinary maximum-likelihood logistic regression.

    When the data are separated the MLE does not exist: ``exists`` is False, ``table`` holds NaN
    and ``message`` names the coefficients whose estimates diverge. Otherwise ``table`` has the
    columns of :class:`FirthResult` with ``statistic`` the Wald z and ``p`` its two-sided p-value
    (as statsmodels ``Logit``); ``ci_method`` is ``"wald"`` or ``"profile"`` (profile likelihood).
    """

    table: pd.DataFrame
    loglik: float
    loglik_null: float
    n: int
    n_events: int
    epv: EventsPerVariable
    converged: bool
    exists: bool
    separation: bool
    infinite_mle: tuple[str, ...]
    ci_method: str
    alpha: float
    message: str

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.table.index)

    @property
    def coef(self) -> np.ndarray:
        return self.table["coef"].to_numpy()

    def linear_predictor(self, X) -> np.ndarray:
        arr, _ = _design(X, self.names[1:])
        return _with_intercept(arr) @ self.coef

    def predict_proba(self, X) -> np.ndarray:
        return _expit(self.linear_predictor(X))


def logistic(X, y, *, names: Sequence[str] | None = None, confint: str = "wald",
             alpha: float = 0.05, max_iter: int = 100) -> LogisticResult:
    """Ordinary maximum-likelihood logistic regression (statsmodels ``Logit``, Newton).

    Refuses to report estimates when the MLE does not exist (complete or quasi-complete
    separation, Konis' LP check) or the fit did not converge; the result says why.
    ``confint="profile"`` gives profile-likelihood intervals (as R's ``confint.glm``).
    """
    if confint not in ("profile", "wald"):
        raise ValueError("confint must be 'profile' or 'wald'")
    # the module, not statsmodels.api: the whole api costs a notebook about 0.9 s more to import
    from statsmodels.discrete.discrete_model import Logit
    Xa, cols = _design(X, names)
    ya = _outcome(y, Xa.shape[0])
    terms = (INTERCEPT,) + cols
    epv = events_per_variable(ya, len(cols))
    separated, infinite = _separation(Xa, ya, cols)
    empty = _table(terms, *([np.full(len(terms), np.nan)] * 6))
    ll_null = float(ya.sum() * math.log(ya.mean()) + (ya.size - ya.sum()) * math.log(1 - ya.mean()))
    common = dict(loglik_null=ll_null, n=int(ya.size), n_events=int(ya.sum()), epv=epv,
                  separation=separated, infinite_mle=infinite, ci_method=confint,
                  alpha=float(alpha))
    if separated:
        return LogisticResult(
            table=empty, loglik=float("nan"), converged=False, exists=False,
            message=("maximum likelihood estimates do not exist: the data are separated and the "
                     f"estimates of {', '.join(infinite)} diverge to infinity; use the Firth fit"),
            **common)
    Xc = _with_intercept(Xa)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = Logit(ya, Xc).fit(method="newton", maxiter=max_iter, disp=0)
    converged = bool(res.mle_retvals.get("converged", False))
    if not converged or not np.all(np.isfinite(res.bse)):
        msgs = "; ".join(str(w.message) for w in caught) or "no convergence"
        return LogisticResult(table=empty, loglik=float(res.llf), converged=False, exists=False,
                              message=f"maximum likelihood fit did not converge ({msgs})",
                              **common)
    coef = np.asarray(res.params, dtype=float)
    se = np.asarray(res.bse, dtype=float)
    if confint == "wald":
        ci = np.asarray(res.conf_int(alpha=alpha), dtype=float)
    else:
        model, _ = _fit_firth_model(Xa, ya, 1e-8, max_iter, penalty_weight=0.0)
        ci_raw, msgs = _profile_ci(model, alpha, 1e-8, max_iter)
        ci = np.column_stack([_reorder(ci_raw[:, 0]), _reorder(ci_raw[:, 1])])
    return LogisticResult(
        table=_table(terms, coef, se, ci[:, 0], ci[:, 1], np.asarray(res.tvalues, dtype=float),
                     np.asarray(res.pvalues, dtype=float)),
        loglik=float(res.llf), converged=True, exists=True, message="", **common)


# --------------------------------------------------------------------------------------------
# univariable beside multivariable
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RegressionTable:
    """Univariable odds ratio beside the adjusted odds ratio for each predictor (as gtsummary's
    ``tbl_uvregression`` merged with ``tbl_regression``). ``table`` is indexed by predictor with
    columns ``n``, ``uni_or``, ``uni_lower``, ``uni_upper``, ``uni_p``, ``adj_or``, ``adj_lower``,
    ``adj_upper``, ``adj_p``; ``method`` names the fit, ``ci_method`` the intervals."""

    table: pd.DataFrame
    method: str
    ci_method: str
    alpha: float
    n: int
    n_events: int
    epv: EventsPerVariable
    notes: tuple[str, ...]


def univariable_and_adjusted(X, y, *, names: Sequence[str] | None = None, method: str = "firth",
                             confint: str = "profile", alpha: float = 0.05) -> RegressionTable:
    """Fit each predictor alone and all together; one row per predictor. (Not a printed table:
    the presentation layer's ``regression_table`` lays a fitted model out for the page.)

    ``method="firth"`` (default) uses :func:`firth_logistic` (profile penalised-likelihood CIs,
    penalised LR p); ``method="ml"`` uses :func:`logistic` (Wald p; ``confint`` as given), whose
    cells are NaN where the MLE does not exist.
    """
    if method not in ("firth", "ml"):
        raise ValueError("method must be 'firth' or 'ml'")
    Xa, cols = _design(X, names)
    ya = _outcome(y, Xa.shape[0])
    fit = firth_logistic if method == "firth" else logistic
    notes: list[str] = []
    adj = fit(Xa, ya, names=cols, confint=confint, alpha=alpha)
    if method == "ml" and not adj.exists:
        notes.append(f"adjusted: {adj.message}")
    rows = []
    for j, name in enumerate(cols):
        uni = fit(Xa[:, [j]], ya, names=[name], confint=confint, alpha=alpha)
        if method == "ml" and not uni.exists:
            notes.append(f"{name}: {uni.message}")
        u, a = uni.table.loc[name], adj.table.loc[name]
        rows.append({"term": name, "n": int(ya.size),
                     "uni_or": u["odds_ratio"], "uni_lower": u["or_lower"],
                     "uni_upper": u["or_upper"], "uni_p": u["p"],
                     "adj_or": a["odds_ratio"], "adj_lower": a["or_lower"],
                     "adj_upper": a["or_upper"], "adj_p": a["p"]})
    table = pd.DataFrame(rows).set_index("term")
    return RegressionTable(table=table, method=method, ci_method=confint, alpha=float(alpha),
                           n=int(ya.size), n_events=int(ya.sum()), epv=adj.epv,
                           notes=tuple(notes))


# --------------------------------------------------------------------------------------------
# performance measures
# --------------------------------------------------------------------------------------------
def c_statistic(y, score) -> float:
    """Concordance (area under the ROC curve) as Mann-Whitney U / (n1 n0): the probability that
    a random event has a higher score than a random non-event, ties counting one half."""
    ya = np.asarray(y, dtype=float).ravel()
    s = np.asarray(score, dtype=float).ravel()
    return float(_c_rows(ya[None], s[None])[0])


def calibration_intercept_slope(y, lp, *, max_iter: int = 50, tol: float = 1e-10
                                ) -> tuple[float, float]:
    """Logistic recalibration ``logit P(y=1) = a + b lp`` by maximum likelihood.

    Returns ``(a, b)``: calibration intercept and slope (``rms::val.prob``'s Intercept and Slope;
    ``rms::validate``'s Intercept and Slope). NaN when ``lp`` separates ``y`` or the fit fails.
    """
    ya = np.asarray(y, dtype=float).ravel()
    x = np.asarray(lp, dtype=float).ravel()
    a, b = _recalibrate_rows(ya[None], x[None], max_iter=max_iter, tol=tol)[0]
    return float(a), float(b)


def _c_rows(y: np.ndarray, score: np.ndarray) -> np.ndarray:
    """The c-statistic of each row of (m, n) outcomes and scores (NaN without both classes)."""
    n1 = y.sum(axis=1)
    n0 = y.shape[1] - n1
    u = (stats.rankdata(score, axis=1) * y).sum(axis=1) - n1 * (n1 + 1) / 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((n1 > 0) & (n0 > 0), u / (n1 * n0), np.nan)


def _recalibrate_rows(y: np.ndarray, x: np.ndarray, max_iter: int = 50, tol: float = 1e-10) -> np.ndarray:
    """(m, 2) recalibration intercepts and slopes of each row of (m, n) outcomes and linear
    predictors, by Newton-Raphson with step-halving on all rows at once (the bootstrap recalibrates
    thousands); NaN where ``x`` separates ``y`` (c of 0 or 1), is constant, or the fit fails."""
    m = y.shape[0]
    beta = np.tile([0.0, 1.0], (m, 1))
    c = _c_rows(y, x)
    # With one predictor the MLE is missing exactly when the events and non-events do not overlap,
    # a tie at the boundary included (quasi-complete separation: c is then above 0 yet the slope
    # runs off to infinity, and step-halving would stop on a finite point of the plateau).
    events = y > 0.5
    lo1 = np.where(events, x, np.inf).min(axis=1)
    hi1 = np.where(events, x, -np.inf).max(axis=1)
    lo0 = np.where(events, np.inf, x).min(axis=1)
    hi0 = np.where(events, -np.inf, x).max(axis=1)
    overlap = (hi0 > lo1) & (hi1 > lo0)
    live = np.isfinite(c) & (c > 0) & (c < 1) & (np.ptp(x, axis=1) > 0) & overlap
    ll_old = np.full(m, -np.inf)
    done = np.zeros(m, dtype=bool)
    for _ in range(max_iter):
        if not live.any():
            break
        rows = np.flatnonzero(live)
        b, yl, xl = beta[rows], y[rows], x[rows]
        p = _expit(b[:, :1] + b[:, 1:] * xl)
        w, r = p * (1 - p), yl - p
        g0, g1 = r.sum(axis=1), (r * xl).sum(axis=1)
        sw, swx, swxx = w.sum(axis=1), (w * xl).sum(axis=1), (w * xl * xl).sum(axis=1)
        det = sw * swxx - swx * swx
        good = det > 0
        live[rows[~good]] = False  # singular information: no fit
        rows, b, yl, xl = rows[good], b[good], yl[good], xl[good]
        step = np.stack([swxx * g0 - swx * g1, sw * g1 - swx * g0], axis=1)[good] / det[good, None]
        # step-halving keeps the log-likelihood increasing; after 30 halvings the last try is kept
        new, ll = b + step, np.empty(len(rows))
        todo = np.arange(len(rows))
        for _h in range(30):
            new[todo] = b[todo] + step[todo]
            eta = new[todo, :1] + new[todo, 1:] * xl[todo]
            ll[todo] = np.sum(yl[todo] * eta - np.logaddexp(0.0, eta), axis=1)
            worse = ll[todo] < ll_old[rows[todo]] - 1e-12
            step[todo[worse]] /= 2
            todo = todo[worse]
            if not todo.size:
                break
        beta[rows], ll_old[rows] = new, ll
        finished = np.abs(step).max(axis=1) < tol
        done[rows[finished]] = True
        live[rows[finished]] = False
    return np.where(done[:, None], beta, np.nan)


def _brier(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((p - y) ** 2))


_METRICS = ("c", "dxy", "intercept", "slope", "brier")


def _metrics(y: np.ndarray, lp: np.ndarray) -> np.ndarray:
    """The performance measures (:data:`_METRICS`) of each row of (m, n) outcomes and linear
    predictors, (m, 5)."""
    c = _c_rows(y, lp)
    ab = _recalibrate_rows(y, lp) if y.shape[0] else np.empty((0, 2))
    return np.column_stack([c, 2 * c - 1, ab, np.mean((_expit(lp) - y) ** 2, axis=1)])


# --------------------------------------------------------------------------------------------
# calibration curve
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CalibrationCurve:
    """Observed against predicted risk. ``groups`` (method ``"quantile"``): one row per group of
    predicted risk with ``n``, ``mean_predicted``, ``observed`` (proportion of events) and a Wilson
    ``observed_lower``/``observed_upper``; ``smooth``: columns ``predicted``, ``observed`` of the
    lowess smoother (``method="lowess"``, as ``rms::calibrate``/``val.prob``: f=2/3, no robustness
    iterations), empty for ``"quantile"``. ``intercept``/``slope``: logistic recalibration."""

    method: str
    groups: pd.DataFrame
    smooth: pd.DataFrame
    intercept: float
    slope: float
    c: float
    brier: float
    n: int


def calibration_curve(y, p, *, method: str = "quantile", bins: int = 5, frac: float = 2 / 3,
                      alpha: float = 0.05) -> CalibrationCurve:
    """Data for a calibration plot of predicted probabilities ``p`` against outcomes ``y``.

    ``method="quantile"``: ``bins`` groups of (nearly) equal size by predicted risk (ties kept
    together); ``method="lowess"``: lowess smooth of y on p (statsmodels ``lowess``, ``frac``,
    ``it=0``), plus the same quantile groups for reference. No plotting here.
    """
    if method not in ("quantile", "lowess"):
        raise ValueError("method must be 'quantile' or 'lowess'")
    ya = _outcome(y)
    pa = np.asarray(p, dtype=float).ravel()
    if pa.shape != ya.shape or not np.all((pa > 0) & (pa < 1)):
        raise ValueError("p must hold one probability in (0, 1) per outcome")
    codes = pd.qcut(pd.Series(pa).rank(method="average"), q=min(bins, ya.size), labels=False,
                    duplicates="drop").to_numpy()
    frame = pd.DataFrame({"g": codes, "p": pa, "y": ya})
    agg = frame.groupby("g").agg(n=("y", "size"), mean_predicted=("p", "mean"),
                                 events=("y", "sum"))
    agg["observed"] = agg["events"] / agg["n"]
    ci = [wilson_interval(int(k), int(m), 1 - alpha) for k, m in zip(agg["events"], agg["n"])]
    agg["observed_lower"], agg["observed_upper"] = [c[0] for c in ci], [c[1] for c in ci]
    agg.index.name = "group"
    smooth = pd.DataFrame({"predicted": [], "observed": []})
    if method == "lowess":
        from statsmodels.nonparametric.smoothers_lowess import lowess
        # delta as R's lowess default (1% of the range), so the smooth equals R's
        fitted = lowess(ya, pa, frac=frac, it=0, delta=0.01 * float(np.ptp(pa)),
                        return_sorted=True)
        smooth = pd.DataFrame({"predicted": fitted[:, 0], "observed": fitted[:, 1]})
    lp = np.log(pa / (1 - pa))
    a, b = calibration_intercept_slope(ya, lp)
    return CalibrationCurve(method=method, groups=agg.reset_index(), smooth=smooth,
                            intercept=a, slope=b, c=c_statistic(ya, pa), brier=_brier(ya, pa),
                            n=int(ya.size))


# --------------------------------------------------------------------------------------------
# bootstrap validation
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BootstrapValidation:
    """Harrell's optimism-corrected performance.

    ``table`` is indexed by measure (``c``, ``dxy``, ``intercept``, ``slope``, ``brier``) with
    columns ``apparent``, ``bootstrap`` (mean in the bootstrap samples), ``test`` (mean of the
    bootstrap models in the original sample), ``optimism`` (mean of bootstrap - test),
    ``corrected`` (apparent - optimism) and ``n`` (replicates used). ``replicates`` holds the
    per-replicate bootstrap and test values (for the optimism distribution)."""

    table: pd.DataFrame
    fit: str
    n_bootstrap: int
    n_failed: int
    seed: int | None
    n: int
    n_events: int
    n_predictors: int
    replicates: pd.DataFrame = field(repr=False)
    n_separated: int = 0          # kept samples that are separated (fit="ml", as rms::validate keeps them)

    @property
    def c_apparent(self) -> float:
        return float(self.table.loc["c", "apparent"])

    @property
    def c_corrected(self) -> float:
        return float(self.table.loc["c", "corrected"])

    @property
    def slope_corrected(self) -> float:
        return float(self.table.loc["slope", "corrected"])


def _lrm_fit(X1: np.ndarray, y: np.ndarray, *, maxit: int = 12, eps: float = 0.025, tol: float = 1e-12
             ) -> tuple[np.ndarray | None, bool]:
    """(coefficients, converged) as R ``rms::lrm.fit`` (rms 6.5, Fortran ``lrmfit``) finds them.

    ``rms::validate`` refits with this search, and what it returns on a separated sample is
    where the search stopped, not an MLE (there is none): Newton-Raphson from the intercept at the
    logit of the event rate and slopes at 0, linear predictors clamped to [-30, 30], convergence
    when -2 log-likelihood changed by at most ``eps`` (one more Newton step is then taken), step
    halving when it rose, at most ``maxit - 1`` iterations. ``None`` when the information is
    singular (a rank-deficient sample), which ``lrm.fit`` reports as a failed fit; ``converged``
    False when the iterations ran out (``lrm.fit``'s ``fail``)."""
    ybar = float(y.mean())
    beta = np.zeros(X1.shape[1])
    beta[0] = math.log(ybar / (1.0 - ybar))
    delta = np.zeros_like(beta)
    old, step = 1e30, 1.0

    def minus2ll(b):
        cp = _expit(np.clip(X1 @ b, -30.0, 30.0))
        ll = -2.0 * float(np.sum(np.where(y > 0.5, np.log(cp), np.log1p(-cp))))
        v = cp * (1.0 - cp)
        return ll, X1.T @ (y - cp), (X1 * v[:, None]).T @ X1

    for iteration in range(1, maxit):
        ll, u, v = minus2ll(beta)
        if ll > old:
            if iteration == 1:
                return beta, False
            step /= 2.0
            beta = beta - step * delta
            continue
        step = 1.0
        # LINPACK's rank test (dqrdc2 in ainvb): a column whose norm, once the columns before it
        # are projected out, falls below tol times its own norm makes the information singular
        r = np.abs(np.diag(np.linalg.qr(v, mode="r")))
        if np.any(r < tol * np.linalg.norm(v, axis=0)):
            return None, False
        delta = np.linalg.solve(v, u)
        beta = beta + delta
        if abs(old - ll) <= eps:
            return beta, True
        old = ll
    return beta, maxit <= 2


def _fit_coef(X1: np.ndarray, y: np.ndarray, tol: float, max_iter: int):
    """Coefficients (intercept first) of one Firth refit by firthmodels, or None when it fails.

    One call per bootstrap sample: 1000 refits cost about 2 s CPU (``bench/bench_models.py``); a
    batch of Newton steps over every sample at once (firthmodels' algorithm rewritten for stacks,
    removed in issue 24) saved about 1.5 s of it, too little to keep a second Firth fit."""
    if y.min() == y.max():
        return None
    try:
        model, _ = _fit_firth_model(X1[:, 1:], y, tol, max_iter)
    except np.linalg.LinAlgError:
        # a bootstrap sample in which a rare binary predictor is constant: the design is
        # rank deficient and the refit fails (counted in n_failed, as rms::validate does)
        return None
    if not model.converged_:
        return None
    return np.concatenate([[model.intercept_], model.coef_])


# The performance measures of the refits are computed for a chunk of samples at once
# (:func:`_metrics`): one statsmodels Logit recalibration and one scikit-learn AUC per sample and
# data set cost about 7 s CPU for 1000 samples (bench/bench_models.py), the page's whole budget.
_CHUNK = 50


def bootstrap_validation(X, y, *, fit: str = "firth", n_bootstrap: int = 1000,
                         seed: int | None = None, progress: Callable[[int, int], None] | None = None,
                         names: Sequence[str] | None = None, resamples=None,
                         max_iter: int = 100, tol: float = 1e-6) -> BootstrapValidation:
    """Harrell's bootstrap estimate of optimism for a logistic model.

    For each of ``n_bootstrap`` samples drawn with replacement (``numpy.random.default_rng(seed)``)
    the model (``fit="firth"`` or ``"ml"``, same predictors, no selection) is refitted; its
    performance in the bootstrap sample minus its performance in the original data is the
    optimism.

    ``fit="ml"`` does what ``rms::validate(lrm(...), method="boot")`` does (rms 6.5), step for
    step: each sample is refitted by ``lrm.fit``'s own Newton-Raphson (:func:`_lrm_fit`), so a
    *separated* sample is kept, with the coefficients where that search stopped (large, not an
    MLE), as rms keeps it; only a sample whose search runs out of iterations or whose information
    is singular is dropped (``n_failed``). In the bootstrap sample the calibration intercept and
    slope are 0 and 1 by definition (rms' ``evalfit``); in the original data they come from
    ``lrm.fit`` of the outcome on the linear predictor. ``n_separated`` counts the kept samples
    that Konis' test finds separated (the optimism of the slope rests partly on them). The full
    data must not be separated (no MLE: use ``fit="firth"``).

    ``fit="firth"``: replicates whose fit fails (no convergence; a rank-deficient sample, e.g. a
    rare binary predictor constant in it) are dropped and counted in ``n_failed``; per measure,
    replicates where it is undefined are dropped too.

    ``progress(i, n)`` is called as the replicates are done (i of n, rising to n; the refits run in
    batches of up to 50) -- hook a progress bar on it.
    ``resamples`` (an (B, n) array of 0-based row indices) replaces the random draws, to
    reproduce another program's bootstrap samples. Same ``seed`` -> identical results.
    """
    if fit not in ("firth", "ml"):
        raise ValueError("fit must be 'firth' or 'ml'")
    Xa, cols = _design(X, names)
    ya = _outcome(y, Xa.shape[0])
    n = ya.size
    X1 = _with_intercept(Xa)
    if resamples is None:
        if n_bootstrap < 1:
            raise ValueError("n_bootstrap must be at least 1")
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, n, size=(n_bootstrap, n))
    else:
        idx = np.asarray(resamples, dtype=np.intp)
        if idx.ndim != 2 or idx.shape[1] != n or idx.min() < 0 or idx.max() >= n:
            raise ValueError(f"resamples must be a (B, {n}) array of row indices in [0, {n})")
        n_bootstrap = idx.shape[0]
    if fit == "ml":
        return _validate_as_rms(X1, ya, idx, cols, seed, progress)
    beta0 = _fit_coef(X1, ya, tol, max_iter)
    if beta0 is None:
        raise ValueError("the firth model cannot be fitted to the full data")
    apparent = _metrics(ya[None], (X1 @ beta0)[None])[0]
    boot = np.full((n_bootstrap, len(_METRICS)), np.nan)
    test = np.full((n_bootstrap, len(_METRICS)), np.nan)
    ok = np.zeros(n_bootstrap, dtype=bool)
    for start in range(0, n_bootstrap, _CHUNK):
        chunk = idx[start:start + _CHUNK]
        Xb, yb = X1[chunk], ya[chunk]
        betas = np.full((len(chunk), X1.shape[1]), np.nan)
        fitted = np.zeros(len(chunk), dtype=bool)
        for i in range(len(chunk)):
            beta = _fit_coef(Xb[i], yb[i], tol, max_iter)
            if beta is not None:
                betas[i], fitted[i] = beta, True
        rows = slice(start, start + len(chunk))
        ok[rows] = fitted
        boot[rows][fitted] = _metrics(yb[fitted], np.einsum("mnk,mk->mn", Xb[fitted], betas[fitted]))
        test[rows][fitted] = _metrics(np.broadcast_to(ya, (int(fitted.sum()), n)), betas[fitted] @ X1.T)
        if progress is not None:
            progress(start + len(chunk), n_bootstrap)
    opt = boot - test
    valid = ok[:, None] & np.isfinite(opt)
    counts = valid.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = lambda a: np.where(counts > 0, np.where(valid, a, 0.0).sum(axis=0) / counts, np.nan)  # noqa: E731
        optimism = mean(opt)
        table = pd.DataFrame({"apparent": apparent, "bootstrap": mean(boot), "test": mean(test),
                              "optimism": optimism, "corrected": apparent - optimism,
                              "n": counts}, index=pd.Index(_METRICS, name="measure"))
    reps = pd.DataFrame(np.column_stack([boot, test]),
                        columns=[f"{m}_bootstrap" for m in _METRICS]
                        + [f"{m}_test" for m in _METRICS])
    reps.insert(0, "fitted", ok)
    return BootstrapValidation(table=table, fit=fit, n_bootstrap=int(n_bootstrap),
                               n_failed=int((~ok).sum()), seed=seed, n=int(n),
                               n_events=int(ya.sum()), n_predictors=len(cols), replicates=reps)


def _validate_as_rms(X1: np.ndarray, y: np.ndarray, idx: np.ndarray, cols, seed, progress) -> BootstrapValidation:
    """The ML optimism bootstrap exactly as ``rms::validate.lrm`` / ``predab.resample`` compute it."""
    from .estimability import lp_separation
    n = y.size
    if lp_separation(X1, y):
        raise ValueError("the ml model cannot be fitted to the full data (separation: use fit='firth')")
    beta0, converged = _lrm_fit(X1, y, tol=1e-12)
    if beta0 is None or not converged:
        raise ValueError("the ml model cannot be fitted to the full data (no convergence)")

    def training(yb, lp):  # rms' evalfit: the fit judged on its own sample
        c = _c_rows(yb[None], lp[None])[0]
        return np.array([c, 2 * c - 1, 0.0, 1.0, float(np.mean((_expit(lp) - yb) ** 2))])

    def test(lp):
        c = _c_rows(y[None], lp[None])[0]
        ab, _ = _lrm_fit(np.column_stack([np.ones(n), lp]), y, tol=1e-13)
        a, b = (np.nan, np.nan) if ab is None else ab
        return np.array([c, 2 * c - 1, a, b, float(np.mean((_expit(lp) - y) ** 2))])

    B = idx.shape[0]
    apparent = training(y, X1 @ beta0)
    boot = np.full((B, len(_METRICS)), np.nan)
    tst = np.full((B, len(_METRICS)), np.nan)
    ok = np.zeros(B, dtype=bool)
    separated = 0
    for i, rows in enumerate(idx):
        Xb, yb = X1[rows], y[rows]
        if yb.min() < yb.max():
            beta, converged = _lrm_fit(Xb, yb, tol=1e-12)
            if beta is not None and converged:
                ok[i] = True
                boot[i], tst[i] = training(yb, Xb @ beta), test(X1 @ beta)
                separated += lp_separation(Xb, yb)
        if progress is not None and ((i + 1) % 50 == 0 or i + 1 == B):
            progress(i + 1, B)
    opt = boot - tst
    valid = ok[:, None] & np.isfinite(opt)
    counts = valid.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        def mean(a):
            return np.where(counts > 0, np.where(valid, a, 0.0).sum(axis=0) / counts, np.nan)
        optimism = mean(opt)
        table = pd.DataFrame({"apparent": apparent, "bootstrap": mean(boot), "test": mean(tst),
                              "optimism": optimism, "corrected": apparent - optimism,
                              "n": counts}, index=pd.Index(_METRICS, name="measure"))
    reps = pd.DataFrame(np.column_stack([boot, tst]), columns=[f"{m}_bootstrap" for m in _METRICS]
                        + [f"{m}_test" for m in _METRICS])
    reps.insert(0, "fitted", ok)
    return BootstrapValidation(table=table, fit="ml", n_bootstrap=int(B), n_failed=int((~ok).sum()), seed=seed,
                               n=int(n), n_events=int(y.sum()), n_predictors=len(cols), replicates=reps,
                               n_separated=int(separated))
