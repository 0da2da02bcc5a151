"""Trajectories of a repeated continuous measure in two or more groups.

* :func:`mixed_model` -- linear mixed model with a random intercept per subject, time as a
  categorical factor, group, and group x time (``statsmodels`` ``MixedLM``, REML by default, as
  R ``nlme::lme(y ~ factor(time) * group, random = ~ 1 | subject)``). Returns the fixed effects,
  the variance components, the estimated marginal means per group and time with 95% CIs
  (``L b`` and ``sqrt(L V L')`` from the fixed effects and their covariance; normal-theory
  intervals; the fixed-effect covariance is ``(X' V^-1 X)^-1`` given the variance components,
  as R's ``vcov(lme)``), and two tests of the group x time interaction: the Wald test on the REML fit
  (chi-square, and F = chi-square / df as R's ``anova.lme``) and the likelihood-ratio test between
  maximum-likelihood fits with and without the interaction (REML likelihoods cannot compare fixed
  effects).
* :func:`gee_model` -- the population-averaged alternative: GEE with a Gaussian family, identity
  link and exchangeable working correlation (``statsmodels`` ``GEE``, robust sandwich covariance),
  with the same marginal means and a robust Wald test of the interaction; the scale is
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

__all__ = ["MixedModelResult", "GEEResult", "InteractionTest", "mixed_model", "gee_model"]


@dataclass(frozen=True)
class InteractionTest:
    """A test of the group x time interaction: ``statistic`` chi-square on ``df``; for the Wald
    test ``f`` = statistic / df (R ``anova.lme``'s F-value)."""

    method: str
    statistic: float
    df: int
    p: float
    f: float = float("nan")


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


def _fit_mixed(y, X, groups, reml: bool):
    """Fit with each optimiser of :data:`_OPTIMISERS` until one converges. statsmodels' own list
    moves on only when an optimiser does not converge; an L-BFGS line search can also step to
    variance parameters where X' V^-1 X is singular, and then raises LinAlgError: that optimiser
    has failed too, so the next one is tried (the likelihood, and so the estimate, is the same)."""
    from statsmodels.regression.mixed_linear_model import MixedLM
    model = MixedLM(y, X, groups=groups, exog_re=np.ones((y.size, 1)))
    res, failure = None, None
    for method in _OPTIMISERS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = model.fit(reml=reml, method=[method], maxiter=2000)
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
    wald = _wald(coef, cov, idx, "Wald chi-square (F = chi2/df as anova.lme)")
    full_ml = res if not reml else _fit_mixed(y, X, subj, reml=False)
    reduced_ml = _fit_mixed(y, _design(t, g, t_levels, g_levels, interaction=False), subj,
                            reml=False)
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
