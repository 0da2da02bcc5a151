"""Trajectories of a repeated continuous measure in two or more groups.

* :func:`mmrm` -- the mixed model for repeated measures: time as a factor, group, group x time,
  and an unstructured, heterogeneous compound-symmetry or compound-symmetry covariance between a
  subject's times, chosen by AIC among REML fits with the same fixed effects, as R
  ``nlme::gls(y ~ factor(time) * group, correlation = corSymm(form = ~ visit | subject),
  weights = varIdent(form = ~ 1 | time), method = "REML")``. Estimated means with t intervals and
  a Wald F test of the interaction on observations - fixed effects df (``summary.gls``,
  ``anova.gls``); CI limits outside the outcome's possible range are moved onto it and marked.
* :func:`mixed_model` -- linear mixed model with a random intercept per subject, time as a
  categorical factor, group, and group x time (``statsmodels`` ``MixedLM``, REML by default, as
  R ``nlme::lme(y ~ factor(time) * group, random = ~ 1 | subject)``). Returns the fixed effects,
  the variance components, the estimated marginal means per group and time with 95% CIs
  (``L b`` and ``sqrt(L V L')`` from the fixed effects and their covariance; normal-theory
  intervals; the fixed-effect covariance is ``(X' V^-1 X)^-1`` given the variance components,
  as R's ``vcov(lme)``), and two tests of the group x time interaction: the Wald F test on the
  REML fit with ``anova.lme``'s denominator df (observations - subjects - within-subject fixed
  effects) and the likelihood-ratio test between maximum-likelihood fits with and without the
  interaction (REML likelihoods cannot compare fixed effects). Its covariance is compound
  symmetry: one variance at every time and one correlation between any two.
* :func:`gee_model` -- the population-averaged alternative: GEE with a Gaussian family, identity
  link and exchangeable working correlation (``statsmodels`` ``GEE``, robust sandwich covariance),
  with the same marginal means and a robust Wald chi-square test of the interaction; the scale is
  estimated without a degrees-of-freedom correction, as R's ``geepack``.

Subjects with some visits missing are kept (likelihood-based: valid under missing at random);
rows with a missing outcome are dropped. Reference levels are the first time and the first group
(sorted, or the category order of a categorical column). Nothing here knows what is measured.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["MixedModelResult", "GEEResult", "InteractionTest", "MMRMResult", "COVARIANCE_STRUCTURES",
           "NLME_SPELLING", "mixed_model", "gee_model", "mmrm"]


@dataclass(frozen=True)
class InteractionTest:
    """A test of the group x time interaction. A chi-square test (``df_denominator`` None):
    ``statistic`` chi-square on ``df``. An F test: ``statistic`` = ``f`` on ``df`` and
    ``df_denominator`` degrees of freedom, ``p`` from that F distribution; ``method`` names which."""

    method: str
    statistic: float
    df: int
    p: float
    f: float = float("nan")
    df_denominator: int | None = None


@dataclass(frozen=True)
class MixedModelResult:
    """Linear mixed model (random intercept). ``fixed``: ``coef``, ``se``, ``z``, ``p``,
    ``ci_lower``, ``ci_upper`` per fixed effect; ``means``: one row per group and time with
    ``n`` (observations), ``mean``, ``se``, ``ci_lower``, ``ci_upper``; ``cov_fixed``: covariance
    of the fixed effects. Variances: ``var_subject`` (random intercept), ``var_residual``."""

    fixed: pd.DataFrame
    cov_fixed: pd.DataFrame
    means: pd.DataFrame
    var_subject: float
    var_residual: float
    loglik: float
    reml: bool
    wald_interaction: InteractionTest
    lr_interaction: InteractionTest
    n_obs: int
    n_subjects: int
    converged: bool
    alpha: float
    time_levels: tuple
    group_levels: tuple

    @property
    def icc(self) -> float:
        """Intraclass correlation: share of the variance between subjects."""
        return self.var_subject / (self.var_subject + self.var_residual)


@dataclass(frozen=True)
class GEEResult:
    """GEE (exchangeable working correlation, robust covariance); fields as
    :class:`MixedModelResult` where they apply. ``correlation``: the estimated exchangeable
    working correlation; ``scale``: the residual variance estimate."""

    fixed: pd.DataFrame
    cov_fixed: pd.DataFrame
    means: pd.DataFrame
    correlation: float
    scale: float
    wald_interaction: InteractionTest
    n_obs: int
    n_subjects: int
    alpha: float
    time_levels: tuple
    group_levels: tuple


# --------------------------------------------------------------------------------------------
def _levels(s: pd.Series) -> tuple:
    if isinstance(s.dtype, pd.CategoricalDtype):
        present = set(s.dropna().unique())
        return tuple(c for c in s.cat.categories if c in present)
    return tuple(sorted(s.dropna().unique().tolist()))


def _prepare(data: pd.DataFrame, outcome, time, group, subject):
    missing = [c for c in (outcome, time, group, subject) if c not in data.columns]
    if missing:
        raise ValueError(f"columns not found: {missing}")
    df = data[[outcome, time, group, subject]].copy()
    df[outcome] = pd.to_numeric(df[outcome], errors="raise").astype(float)
    if df[[time, group, subject]].isna().any().any():
        raise ValueError("time, group and subject must not be missing")
    df = df[df[outcome].notna()]
    per_subject = df.groupby(subject, observed=True)[group].nunique()
    if (per_subject > 1).any():
        raise ValueError("each subject must belong to a single group")
    t_levels, g_levels = _levels(df[time]), _levels(df[group])
    if len(t_levels) < 2 or len(g_levels) < 2:
        raise ValueError("need at least two times and two groups")
    return df, t_levels, g_levels


def _names(t_levels, g_levels):
    main_t = [f"time[{t}]" for t in t_levels[1:]]
    main_g = [f"group[{g}]" for g in g_levels[1:]]
    inter = [f"time[{t}]:group[{g}]" for g in g_levels[1:] for t in t_levels[1:]]
    return ["Intercept"] + main_t + main_g, inter


def _design(t: np.ndarray, g: np.ndarray, t_levels, g_levels, interaction: bool = True):
    """Treatment-coded design: intercept, time, group, time x group (R's default contrasts)."""
    T = np.column_stack([(t == lv).astype(float) for lv in t_levels[1:]])
    G = np.column_stack([(g == lv).astype(float) for lv in g_levels[1:]])
    cols = [np.ones(t.size), T, G]
    if interaction:
        cols.append(np.column_stack([T[:, i] * G[:, j] for j in range(G.shape[1])
                                     for i in range(T.shape[1])]))
    return np.column_stack(cols)


def _fixed_table(names, coef, cov, alpha):
    se = np.sqrt(np.diag(cov))
    z = coef / se
    q = stats.norm.isf(alpha / 2)
    return pd.DataFrame({"coef": coef, "se": se, "z": z, "p": 2 * stats.norm.sf(np.abs(z)),
                         "ci_lower": coef - q * se, "ci_upper": coef + q * se},
                        index=pd.Index(names, name="term"))


def _means(df, time, group, t_levels, g_levels, coef, cov, alpha):
    rows = []
    q = stats.norm.isf(alpha / 2)
    counts = df.groupby([group, time], observed=True).size()
    for g in g_levels:
        for t in t_levels:
            L = _design(np.array([t], dtype=object), np.array([g], dtype=object),
                        t_levels, g_levels)[0]
            m = float(L @ coef)
            se = float(np.sqrt(L @ cov @ L))
            rows.append({"group": g, "time": t, "n": int(counts.get((g, t), 0)), "mean": m,
                         "se": se, "ci_lower": m - q * se, "ci_upper": m + q * se})
    return pd.DataFrame(rows)


def _wald(coef, cov, idx, method) -> InteractionTest:
    b = coef[idx]
    V = cov[np.ix_(idx, idx)]
    chi2 = float(b @ np.linalg.solve(V, b))
    df = len(idx)
    return InteractionTest(method=method, statistic=chi2, df=df, p=float(stats.chi2.sf(chi2, df)),
                           f=chi2 / df)


def _gls_cov(X: np.ndarray, subj: np.ndarray, var_u: float, var_e: float) -> np.ndarray:
    """(X' V^-1 X)^-1 with V_i = var_e I + var_u J: the covariance of the fixed effects given
    the variance components, as R's ``vcov(lme)`` and emmeans use. (statsmodels' ``cov_params``
    inverts the observed information of all parameters jointly, which differs for unbalanced
    data.) Uses V_i^-1 = (I - c_i J) / var_e with c_i = var_u / (var_e + n_i var_u)."""
    n_i = np.bincount(subj).astype(float)
    c = var_u / (var_e + n_i * var_u)
    S = np.zeros((n_i.size, X.shape[1]))
    np.add.at(S, subj, X)                      # column sums per subject
    info = (X.T @ X - (S * c[:, None]).T @ S) / var_e
    return np.linalg.inv(info)


#: Optimisers tried in turn until one converges (statsmodels' own list, plus Nelder-Mead last).
_OPTIMISERS = ("lbfgs", "bfgs", "cg", "nm")


def _fit_mixed(y, X, groups, reml: bool, start=None):
    """Fit with each optimiser of :data:`_OPTIMISERS` until one converges. statsmodels' own list
    moves on only when an optimiser does not converge; an L-BFGS line search can also step to
    variance parameters where X' V^-1 X is singular, and then raises LinAlgError: that optimiser
    has failed too, so the next one is tried (the likelihood, and so the estimate, is the same).
    ``start``: a fit whose variance ratio starts this one (see :func:`mixed_model`); statsmodels
    profiles the fixed effects out of the likelihood, so they need no start of their own."""
    from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMParams
    model = MixedLM(y, X, groups=groups, exog_re=np.ones((y.size, 1)))
    start_params = None if start is None else MixedLMParams.from_components(
        fe_params=np.zeros(X.shape[1]), cov_re=start.params_object.cov_re)
    res, failure = None, None
    for method in _OPTIMISERS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = model.fit(reml=reml, method=[method], maxiter=2000, start_params=start_params)
        except np.linalg.LinAlgError as err:
            failure = err
            continue
        if res.converged:
            return res
    if res is None:
        raise ValueError(f"the mixed model could not be fitted by any optimiser ({failure})")
    return res


def mixed_model(data: pd.DataFrame, *, outcome: str, time: str, group: str, subject: str,
                reml: bool = True, alpha: float = 0.05) -> MixedModelResult:
    """Random-intercept linear mixed model ``outcome ~ C(time) * C(group) + (1 | subject)``.

    Parameters are column names of the long ``data`` (one row per subject and time). ``reml``
    chooses REML (default, as nlme's default) or ML for the reported fit; the likelihood-ratio
    interaction test always uses ML fits.
    """
    df, t_levels, g_levels = _prepare(data, outcome, time, group, subject)
    t = df[time].to_numpy(dtype=object)
    g = df[group].to_numpy(dtype=object)
    y = df[outcome].to_numpy(dtype=float)
    subj = pd.factorize(df[subject])[0]
    main, inter = _names(t_levels, g_levels)
    names = main + inter
    X = _design(t, g, t_levels, g_levels)
    res = _fit_mixed(y, X, subj, reml)
    k = len(names)
    coef = np.asarray(res.fe_params, dtype=float)
    var_u = float(np.asarray(res.cov_re)[0, 0])
    var_e = float(res.scale)
    cov = _gls_cov(X, subj, var_u, var_e)
    idx = list(range(len(main), k))
    chi2 = _wald(coef, cov, idx, "").statistic
    # nlme's denominator df (Pinheiro & Bates 2000, section 4.2.2): a column that varies within a
    # subject is estimated at the observation level, on observations - subjects - such columns
    first = np.r_[True, np.diff(subj[np.argsort(subj, kind="stable")]) != 0]
    Xs = X[np.argsort(subj, kind="stable")]
    varies = np.array([np.any(np.diff(col)[~first[1:]] != 0) for col in Xs.T])
    den = int(y.size - (subj.max() + 1) - varies.sum())
    wald = InteractionTest(method="Wald F test, denominator df as anova.lme", statistic=chi2 / len(idx),
                           df=len(idx), p=float(stats.f.sf(chi2 / len(idx), len(idx), den)), f=chi2 / len(idx),
                           df_denominator=den)
    # The ML fits start at the variance ratio where the reported fit ended: from statsmodels' default
    # start (ratio 1) L-BFGS steps into a singular X' V^-1 X with 2000 subjects (10,000 observations)
    # and BFGS redoes the fit; started here it converges at once (the three fits 12.5 s -> 7.8 s,
    # issue 25), at the same maximum (log-likelihoods within 1e-6).
    full_ml = res if not reml else _fit_mixed(y, X, subj, reml=False, start=res)
    reduced_ml = _fit_mixed(y, _design(t, g, t_levels, g_levels, interaction=False), subj,
                            reml=False, start=full_ml)
    lr_stat = float(2 * (full_ml.llf - reduced_ml.llf))
    lr = InteractionTest(method="likelihood ratio (ML fits)", statistic=lr_stat, df=len(idx),
                         p=float(stats.chi2.sf(lr_stat, len(idx))))
    converged = bool(res.converged and full_ml.converged and reduced_ml.converged)
    return MixedModelResult(
        fixed=_fixed_table(names, coef, cov, alpha),
        cov_fixed=pd.DataFrame(cov, index=names, columns=names),
        means=_means(df, time, group, t_levels, g_levels, coef, cov, alpha),
        var_subject=var_u, var_residual=var_e,
        loglik=float(res.llf), reml=bool(reml), wald_interaction=wald, lr_interaction=lr,
        n_obs=int(y.size), n_subjects=int(subj.max() + 1), converged=converged,
        alpha=float(alpha), time_levels=t_levels, group_levels=g_levels)


def gee_model(data: pd.DataFrame, *, outcome: str, time: str, group: str, subject: str,
              alpha: float = 0.05) -> GEEResult:
    """GEE for ``outcome ~ C(time) * C(group)``, Gaussian identity, exchangeable working
    correlation within subject, robust (sandwich) covariance (as R ``geepack::geeglm``)."""
    # the modules, not statsmodels.api: the whole api costs a notebook about 0.9 s more to import
    from statsmodels.genmod import cov_struct, families
    from statsmodels.genmod.generalized_estimating_equations import GEE
    df, t_levels, g_levels = _prepare(data, outcome, time, group, subject)
    df = df.sort_values([subject, time], kind="stable")
    t = df[time].to_numpy(dtype=object)
    g = df[group].to_numpy(dtype=object)
    y = df[outcome].to_numpy(dtype=float)
    subj = pd.factorize(df[subject])[0]
    main, inter = _names(t_levels, g_levels)
    names = main + inter
    X = _design(t, g, t_levels, g_levels)
    model = GEE(y, X, groups=subj, family=families.Gaussian(), cov_struct=cov_struct.Exchangeable())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # ddof_scale=0: the scale (and so the exchangeable correlation) as geepack estimates it
        res = model.fit(maxiter=200, ctol=1e-10, ddof_scale=0)
    coef = np.asarray(res.params, dtype=float)
    cov = np.asarray(res.cov_robust, dtype=float)
    idx = list(range(len(main), len(names)))
    return GEEResult(
        fixed=_fixed_table(names, coef, cov, alpha),
        cov_fixed=pd.DataFrame(cov, index=names, columns=names),
        means=_means(df, time, group, t_levels, g_levels, coef, cov, alpha),
        correlation=float(model.cov_struct.dep_params), scale=float(res.scale),
        wald_interaction=_wald(coef, cov, idx, "robust Wald chi-square"),
        n_obs=int(y.size), n_subjects=int(subj.max() + 1), alpha=float(alpha),
        time_levels=t_levels, group_levels=g_levels)


# --------------------------------------------------------------------------------------------
# MMRM: generalised least squares with a structured residual covariance, fitted by REML
# --------------------------------------------------------------------------------------------
# Written here rather than imported: statsmodels' GLS needs the covariance given, and its MixedLM
# has no residual correlation structure; the one PyPI package that fits nlme-style corSymm/varIdent
# structures (python-gls, at 0.2.0 of February 2026, one author) is not in the offline wheel
# cache this workbook installs from and pulls in another formula parser. What it reproduces is R's
# nlme ``gls``, and the tests hold it to that.

#: The residual covariance structures :func:`mmrm` compares, richest first (the order breaks an
#: exact tie in the criterion towards the richer model, as no fewer parameters can fit worse).
COVARIANCE_STRUCTURES = ("unstructured", "heterogeneous compound symmetry", "compound symmetry")

#: How each structure is written in R's nlme (``gls(..., correlation=, weights=)``), for the pages.
NLME_SPELLING = {
    "unstructured": "corSymm + varIdent",
    "heterogeneous compound symmetry": "corCompSymm + varIdent",
    "compound symmetry": "corCompSymm",
}


@dataclass(frozen=True)
class MMRMResult:
    """A mixed model for repeated measures: time as a factor, group, group x time, and a residual
    covariance between the times of a subject (``structure``, one of
    :data:`COVARIANCE_STRUCTURES`), fitted by REML as R ``nlme::gls``.

    ``fixed``: ``coef``, ``se``, ``t``, ``p``, ``ci_lower``, ``ci_upper`` (t on ``df_residual``
    = observations - fixed effects, as ``summary.gls``); ``means``: one row per group and time with
    ``n``, ``mean``, ``se``, ``ci_lower``, ``ci_upper`` (t on ``df_residual``; limits outside
    ``bounds`` are moved onto them, ``truncated`` says where) and ``ci_lower_raw`` /
    ``ci_upper_raw`` (before that); ``covariance``: the estimated covariance between times;
    ``candidates``: every structure compared, with ``parameters`` (covariance parameters),
    ``loglik`` (REML), ``aic``, ``bic``, ``converged`` and ``chosen``; ``interaction``: the Wald F
    test of group x time with denominator df ``df_residual`` (as ``anova.gls``)."""

    structure: str
    criterion: str
    candidates: pd.DataFrame
    fixed: pd.DataFrame
    cov_fixed: pd.DataFrame
    means: pd.DataFrame
    covariance: pd.DataFrame
    loglik: float
    aic: float
    interaction: InteractionTest
    df_residual: int
    n_obs: int
    n_subjects: int
    converged: bool
    alpha: float
    bounds: tuple
    time_levels: tuple
    group_levels: tuple

    @property
    def sd(self) -> pd.Series:
        """The residual standard deviation at each time."""
        return pd.Series(np.sqrt(np.diag(self.covariance.to_numpy())), index=self.covariance.index, name="sd")

    @property
    def correlation(self) -> pd.DataFrame:
        """The estimated correlation between times."""
        sd = self.sd.to_numpy()
        return self.covariance / np.outer(sd, sd)


def _logit_rho(T: int):
    """rho in (-1/(T-1), 1) from an unconstrained phi (the range where compound symmetry is
    positive definite), and d rho / d phi."""
    lo = -1.0 / (T - 1)

    def rho(phi):
        s = 1.0 / (1.0 + np.exp(-phi))
        return lo + (1 - lo) * s, (1 - lo) * s * (1 - s)
    return rho


def _structure(name: str, T: int):
    """(number of parameters, Sigma(theta) -> (Sigma, [dSigma/dtheta_j]), start(S0) -> theta)."""
    if name == "unstructured":
        rows, cols = np.tril_indices(T)
        diag = rows == cols

        def build(theta):
            L = np.zeros((T, T))
            L[rows, cols] = np.where(diag, np.exp(theta), theta)
            grads = []
            for j, (a, b) in enumerate(zip(rows, cols)):
                dL = np.zeros((T, T))
                dL[a, b] = L[a, b] if a == b else 1.0
                grads.append(dL @ L.T + L @ dL.T)
            return L @ L.T, grads

        def start(S0):
            L = np.linalg.cholesky(S0)
            return np.where(diag, np.log(np.diag(L)[rows]), L[rows, cols])
        return rows.size, build, start
    if name in ("heterogeneous compound symmetry", "compound symmetry"):
        rho_of = _logit_rho(T)
        hetero = name.startswith("heterogeneous")
        k = T + 1 if hetero else 2

        def build(theta):
            sd = np.exp(theta[:-1]) * np.ones(T)
            r, dr = rho_of(theta[-1])
            R = np.full((T, T), r)
            np.fill_diagonal(R, 1.0)
            S = np.outer(sd, sd) * R
            grads = []
            for j in range(k - 1):
                e = np.zeros(T)
                e[j if hetero else slice(None)] = 1.0
                grads.append(S * (e[:, None] + e[None, :]))
            dR = np.full((T, T), dr)
            np.fill_diagonal(dR, 0.0)
            grads.append(np.outer(sd, sd) * dR)
            return S, grads

        def start(S0):
            sd = np.sqrt(np.diag(S0))
            c = S0 / np.outer(sd, sd)
            r = float(np.clip(c[np.triu_indices(T, 1)].mean(), -0.5 / (T - 1), 0.95))
            lo = -1.0 / (T - 1)
            s = (r - lo) / (1 - lo)
            log_sd = np.log(sd) if hetero else np.array([np.log(np.sqrt(np.mean(sd ** 2)))])
            return np.append(log_sd, np.log(s / (1 - s)))
        return k, build, start
    raise ValueError(f"unknown covariance structure {name!r}; one of {COVARIANCE_STRUCTURES}")


class _Patterns:
    """The subjects grouped by which times they were seen at: per pattern the rows of X and y as
    arrays (subjects x times seen x columns), so the likelihood is a few einsums per pattern."""

    def __init__(self, y, X, ti, subj, T):
        self.T, self.n, self.p = T, y.size, X.shape[1]
        order = np.lexsort((ti, subj))
        y, X, ti, subj = y[order], X[order], ti[order], subj[order]
        starts = np.flatnonzero(np.r_[True, subj[1:] != subj[:-1]])
        bounds = np.r_[starts, subj.size]
        by_pattern: dict = {}
        for a, b in zip(bounds[:-1], bounds[1:]):
            by_pattern.setdefault(tuple(ti[a:b]), []).append((a, b))
        self.items = []
        for pattern, spans in by_pattern.items():
            idx = np.concatenate([np.arange(a, b) for a, b in spans])
            m = len(pattern)
            self.items.append((np.array(pattern), y[idx].reshape(-1, m), X[idx].reshape(-1, m, X.shape[1])))

    def fit(self, S):
        """beta, (X'V^-1X)^-1 and the REML log-likelihood with Sigma = S, and the gradient of the
        log-likelihood with respect to the entries of S."""
        p = self.p
        A, c, logdet, inv = np.zeros((p, p)), np.zeros(p), 0.0, []
        for pat, Y, X in self.items:
            C = np.linalg.cholesky(S[np.ix_(pat, pat)])
            Si = np.linalg.inv(S[np.ix_(pat, pat)])
            inv.append(Si)
            logdet += Y.shape[0] * 2 * np.log(np.diag(C)).sum()
            SiX = np.einsum("pq,nqk->npk", Si, X)
            A += np.einsum("npk,npl->kl", X, SiX)
            c += np.einsum("npk,np->k", SiX, Y)
        Ainv = np.linalg.inv(A)
        beta = Ainv @ c
        quad, G = 0.0, np.zeros((self.T, self.T))
        for (pat, Y, X), Si in zip(self.items, inv):
            r = Y - X @ beta
            Sr = r @ Si
            quad += float(np.sum(Sr * r))
            SiX = np.einsum("pq,nqk->npk", Si, X)
            H = np.einsum("npk,kl,nql->pq", SiX, Ainv, SiX)
            G[np.ix_(pat, pat)] += 0.5 * (-Y.shape[0] * Si + Sr.T @ Sr + H)
        sign, logdetA = np.linalg.slogdet(A)
        ll = -0.5 * ((self.n - p) * np.log(2 * np.pi) + logdet + logdetA + quad)
        return beta, Ainv, ll, G


def _fit_structure(patterns: _Patterns, name: str, S0: np.ndarray):
    from scipy.optimize import minimize
    k, build, start = _structure(name, patterns.T)

    def objective(theta):
        S, dS = build(theta)
        try:
            _, _, ll, G = patterns.fit(S)
        except np.linalg.LinAlgError:
            return np.inf, np.zeros_like(theta)
        return -ll, -np.array([np.sum(G * d) for d in dS])

    theta0 = start(S0)
    res = minimize(objective, theta0, jac=True, method="BFGS", options={"gtol": 1e-9, "maxiter": 5000})
    S, _ = build(res.x)
    beta, Ainv, ll, _ = patterns.fit(S)
    # BFGS stops on a small gradient or when no step improves the (flat) optimum any further
    converged = bool(res.success or np.max(np.abs(res.jac)) < 1e-4)
    return {"structure": name, "parameters": k, "S": S, "beta": beta, "cov": Ainv, "loglik": ll,
            "converged": converged}


def _start_covariance(y, X, ti, subj, T):
    """Moment estimate of Sigma from the OLS residuals (pairwise over subjects seen at both times),
    made positive definite: where the optimiser starts."""
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    r = y - X @ beta
    wide = np.full((subj.max() + 1, T), np.nan)
    wide[subj, ti] = r
    S = pd.DataFrame(wide).cov(min_periods=2).to_numpy()
    S = np.where(np.isnan(S), 0.0, S)
    var = np.where(np.diag(S) > 0, np.diag(S), np.nanvar(r) or 1.0)
    np.fill_diagonal(S, var)
    w, V = np.linalg.eigh(S)
    return (V * np.maximum(w, 1e-3 * w.max())) @ V.T


def mmrm(data: pd.DataFrame, *, outcome: str, time: str, group: str, subject: str,
         structures: tuple = COVARIANCE_STRUCTURES, alpha: float = 0.05,
         bounds: tuple = (None, None)) -> MMRMResult:
    """A mixed model for repeated measures, ``outcome ~ C(time) * C(group)`` with the residual
    covariance between a subject's times chosen among ``structures`` by AIC (REML fits, same
    fixed effects; the smallest AIC wins), as R ``nlme::gls(..., method = "REML")``.

    ``bounds``: the outcome's possible range (None: unbounded); a mean's CI limit outside it is
    moved onto it and marked ``truncated``. Degrees of freedom: observations - fixed effects, for
    the t intervals and the F test of group x time, as ``summary.gls`` and ``anova.gls`` (neither
    Satterthwaite nor Kenward-Roger).
    """
    df, t_levels, g_levels = _prepare(data, outcome, time, group, subject)
    if len(t_levels) < 3 and "compound symmetry" not in structures:
        raise ValueError("need at least three times for these covariance structures")
    t = df[time].to_numpy(dtype=object)
    g = df[group].to_numpy(dtype=object)
    y = df[outcome].to_numpy(dtype=float)
    subj = pd.factorize(df[subject])[0]
    ti = np.array([t_levels.index(v) for v in t])
    if pd.Series(list(zip(subj, ti))).duplicated().any():
        raise ValueError("a subject has two rows at the same time")
    T = len(t_levels)
    main, inter = _names(t_levels, g_levels)
    names = main + inter
    X = _design(t, g, t_levels, g_levels)
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError("a group has no observation at some time: the group x time means are not estimable")
    patterns = _Patterns(y, X, ti, subj, T)
    S0 = _start_covariance(y, X, ti, subj, T)
    fits = [_fit_structure(patterns, s, S0) for s in structures]
    p = X.shape[1]
    n_sub = int(subj.max() + 1)
    candidates = pd.DataFrame([{
        "structure": f["structure"], "parameters": f["parameters"], "loglik": f["loglik"],
        "aic": -2 * f["loglik"] + 2 * (f["parameters"] + p),
        # nlme's BIC for REML: log(observations - fixed effects)
        "bic": -2 * f["loglik"] + np.log(y.size - p) * (f["parameters"] + p),
        "converged": f["converged"]} for f in fits])
    usable = candidates["converged"] & np.isfinite(candidates["aic"])
    if not usable.any():
        raise ValueError("no covariance structure could be fitted")
    best = int(candidates["aic"].where(usable).idxmin())
    candidates["chosen"] = candidates.index == best
    fit = fits[best]
    coef, cov = fit["beta"], fit["cov"]
    df_res = int(y.size - p)
    q = stats.t.isf(alpha / 2, df_res)
    se = np.sqrt(np.diag(cov))
    fixed = pd.DataFrame({"coef": coef, "se": se, "t": coef / se,
                          "p": 2 * stats.t.sf(np.abs(coef / se), df_res),
                          "ci_lower": coef - q * se, "ci_upper": coef + q * se}, index=pd.Index(names, name="term"))
    means = _means(df, time, group, t_levels, g_levels, coef, cov, alpha)
    means["ci_lower"] = means["mean"] - q * means["se"]
    means["ci_upper"] = means["mean"] + q * means["se"]
    means["ci_lower_raw"], means["ci_upper_raw"] = means["ci_lower"], means["ci_upper"]
    lo, hi = bounds
    lo = -np.inf if lo is None else lo
    hi = np.inf if hi is None else hi
    means["truncated"] = (means["ci_lower_raw"] < lo) | (means["ci_upper_raw"] > hi)
    means["ci_lower"] = means["ci_lower_raw"].clip(lower=lo)
    means["ci_upper"] = means["ci_upper_raw"].clip(upper=hi)
    idx = list(range(len(main), len(names)))
    b = coef[idx]
    f_stat = float(b @ np.linalg.solve(cov[np.ix_(idx, idx)], b)) / len(idx)
    test = InteractionTest(method="Wald F test, denominator df = observations − fixed effects (as anova.gls)",
                           statistic=f_stat, df=len(idx), p=float(stats.f.sf(f_stat, len(idx), df_res)),
                           f=f_stat, df_denominator=df_res)
    return MMRMResult(
        structure=fit["structure"], criterion="AIC (REML fits, same fixed effects)", candidates=candidates,
        fixed=fixed, cov_fixed=pd.DataFrame(cov, index=names, columns=names), means=means,
        covariance=pd.DataFrame(fit["S"], index=pd.Index(t_levels, name="time"), columns=t_levels),
        loglik=float(fit["loglik"]), aic=float(candidates.loc[best, "aic"]), interaction=test,
        df_residual=df_res, n_obs=int(y.size), n_subjects=n_sub, converged=bool(fit["converged"]),
        alpha=float(alpha), bounds=(lo if np.isfinite(lo) else None, hi if np.isfinite(hi) else None),
        time_levels=t_levels, group_levels=g_levels)
