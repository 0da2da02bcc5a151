"""Stratified tests: the association of two variables within strata (centres, say), combined.

* :func:`cochran_mantel_haenszel` -- the Cochran-Mantel-Haenszel test over K strata. For 2 x 2
  tables it is ``statsmodels`` ``StratifiedTable.test_null_odds`` (with or without continuity
  correction) and the Mantel-Haenszel common odds ratio with the Robins-Breslow-Greenland CI, as
  R's ``mantelhaen.test``. For I x J tables (I or J > 2) it is the generalized CMH statistic
  ("general association", Landis, Heyman & Koch 1978), on (I - 1)(J - 1) degrees of freedom,
  as R's ``mantelhaen.test`` computes it; no Python library has that one (statsmodels stops at
  2 x 2 x K), so it is written here from the conditional (multivariate hypergeometric) mean and
  covariance of each stratum's table.
* :func:`van_elteren` -- van Elteren's (1960) stratified Wilcoxon rank-sum test: within-stratum
  midranks, each stratum's rank sum weighted by 1 / (n_k + 1), normal approximation with the
  tie-corrected variance, no continuity correction (SAS ``PROC NPAR1WAY`` with a ``STRATA``
  statement, ``WILCOXON`` scores, ``RANKS=STRATUM``, ``WEIGHTS=STRATUM``; equal to SAS ``PROC
  FREQ``'s CMH row-mean-score statistic with modified ridit scores). Neither scipy nor
  statsmodels has it, hence written here.
* :func:`stratum_rank_sum` -- what one stratum contributes, computable where its data are
  (a centre that cannot share its values); :func:`van_elteren_from_strata` combines those
  summaries into the same test.

Knows nothing of what the strata or groups mean.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["CMHResult", "VanElterenResult", "StratumRankSum", "cochran_mantel_haenszel",
           "van_elteren", "stratum_rank_sum", "van_elteren_from_strata"]


@dataclass(frozen=True)
class CMHResult:
    """Cochran-Mantel-Haenszel test over strata.

    ``statistic`` is chi-square on ``df`` degrees of freedom, ``pvalue`` its upper tail;
    ``common_odds_ratio`` the Mantel-Haenszel estimate with its Robins-Breslow-Greenland
    confidence interval ``ci_low``-``ci_high`` (2 x 2 tables only; NaN for larger tables);
    ``test`` is ``"cmh"`` (2 x 2 x K) or ``"cmh_general"`` (I x J x K); ``note`` says whether
    the continuity correction was applied and what was left out.
    """
    statistic: float
    pvalue: float
    df: int
    common_odds_ratio: float
    ci_low: float
    ci_high: float
    test: str
    note: str = ""


@dataclass(frozen=True)
class StratumRankSum:
    """One stratum's Wilcoxon summary: ``rank_sum`` of group 1's within-stratum midranks, its
    null ``expected`` value and tie-corrected ``variance``, ``n`` values in the stratum
    (``n1`` of them in group 1). No value of the data can be read back from it."""
    rank_sum: float
    expected: float
    variance: float
    n: int
    n1: int


@dataclass(frozen=True)
class VanElterenResult:
    """van Elteren's stratified Wilcoxon test.

    ``statistic`` is the standardised statistic z = (T - E[T]) / sqrt(Var T) (positive when
    group 1 ranks high), ``pvalue`` two-sided (normal approximation); ``weighted_sum`` T, its
    ``expected`` value and ``variance``; ``n_strata`` strata used (those with both groups).
    """
    statistic: float
    pvalue: float
    test: str
    weighted_sum: float = math.nan
    expected: float = math.nan
    variance: float = math.nan
    n_strata: int = 0
    note: str = ""


def cochran_mantel_haenszel(tables, correct: bool = True, *, confidence: float = 0.95
                            ) -> CMHResult:
    """Cochran-Mantel-Haenszel test of conditional independence over K strata.

    ``tables``: an array shaped (K, I, J), strata first, of counts. ``correct``: continuity
    correction for the 2 x 2 x K test (R's default ``correct = TRUE``); ignored for larger
    tables, which have none. Every stratum needs at least two observations (R refuses the same).
    """
    if not 0 < float(confidence) < 1:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    arr = _tables(tables)
    _, rows, cols = arr.shape
    if rows == 2 and cols == 2:
        return _cmh_2x2(arr, bool(correct), confidence)
    return _cmh_general(arr)


def _tables(tables) -> np.ndarray:
    arr = np.asarray(tables)
    if arr.ndim != 3:
        raise ValueError(f"tables must be three-dimensional (strata x rows x columns), got shape "
                         f"{arr.shape}")
    if arr.shape[1] < 2 or arr.shape[2] < 2:
        raise ValueError(f"each stratum's table must have at least 2 rows and 2 columns, got "
                         f"shape {arr.shape[1:]}")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"tables must hold counts, got dtype {arr.dtype}")
    flt = arr.astype(float)
    if not np.isfinite(flt).all() or (flt < 0).any() or (flt != np.round(flt)).any():
        raise ValueError("tables must hold non-negative integer counts")
    small = [i for i, t in enumerate(flt) if t.sum() < 2]
    if small:
        raise ValueError(f"stratum(s) {small} hold fewer than two observations; the CMH test "
                         "needs at least two in every stratum")
    return flt


def _cmh_2x2(arr: np.ndarray, correct: bool, confidence: float) -> CMHResult:
    from statsmodels.stats.contingency_tables import StratifiedTable
    # statsmodels takes the strata last
    st = StratifiedTable(np.moveaxis(arr, 0, -1))
    a = arr[:, 0, 0]
    n = arr.sum(axis=(1, 2))
    expected = arr[:, 0, :].sum(axis=1) * arr[:, :, 0].sum(axis=1) / n
    # R applies the correction only when it does not overshoot (|O - E| >= 1/2); statsmodels
    # always subtracts it, so both are asked for and the one R would give is kept
    use_correction = correct and abs(float((a - expected).sum())) >= 0.5
    test = st.test_null_odds(correction=use_correction)
    odds = float(st.oddsratio_pooled)
    alpha = 1.0 - float(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo, hi = st.oddsratio_pooled_confint(alpha=alpha)
    note = "continuity correction" if use_correction else "no continuity correction"
    return CMHResult(float(test.statistic), float(test.pvalue), 1, odds, float(lo), float(hi),
                     "cmh", note)


def _cmh_general(arr: np.ndarray) -> CMHResult:
    from scipy import stats
    _, rows, cols = arr.shape
    df = (rows - 1) * (cols - 1)
    diff = np.zeros(df)
    cov = np.zeros((df, df))
    for table in arr:
        total = table.sum()
        r = table.sum(axis=1)[:-1]
        c = table.sum(axis=0)[:-1]
        # the free cells (all but the last row and column), rows varying fastest
        observed = table[:-1, :-1].ravel(order="F")
        diff += observed - np.outer(r, c).ravel(order="F") / total
        # multivariate hypergeometric covariance of the free cells given the margins
        cov += np.kron(total * np.diag(c) - np.outer(c, c),
                       total * np.diag(r) - np.outer(r, r)) / (total ** 2 * (total - 1))
    try:
        statistic = float(diff @ np.linalg.solve(cov, diff))
    except np.linalg.LinAlgError:
        return CMHResult(math.nan, math.nan, df, math.nan, math.nan, math.nan, "cmh_general",
                         "singular covariance (a row or column empty in every stratum)")
    return CMHResult(statistic, float(stats.chi2.sf(statistic, df)), df, math.nan, math.nan,
                     math.nan, "cmh_general", "generalized CMH (general association)")


def stratum_rank_sum(values, in_group1) -> StratumRankSum:
    """The Wilcoxon summary of one stratum: ``values`` (NaN missing, left out) and a boolean
    ``in_group1`` of the same length."""
    from scipy import stats
    x = np.asarray(values, dtype=float)
    g = np.asarray(in_group1)
    if x.ndim != 1 or g.shape != x.shape:
        raise ValueError("values and in_group1 must be one-dimensional and of equal length")
    if g.dtype != bool:
        if not np.isin(g, (0, 1)).all():
            raise ValueError("in_group1 must be boolean (or 0/1)")
        g = g.astype(bool)
    keep = ~np.isnan(x)
    x, g = x[keep], g[keep]
    n, n1 = int(x.size), int(g.sum())
    if n == 0:
        return StratumRankSum(0.0, 0.0, 0.0, 0, 0)
    ranks = stats.rankdata(x)
    _, ties = np.unique(x, return_counts=True)
    tie_term = float((ties ** 3 - ties).sum()) / (n * (n - 1)) if n > 1 else 0.0
    variance = n1 * (n - n1) / 12.0 * (n + 1 - tie_term)
    return StratumRankSum(float(ranks[g].sum()), n1 * (n + 1) / 2.0, float(variance), n, n1)


def van_elteren_from_strata(strata_summaries: Sequence[StratumRankSum]) -> VanElterenResult:
    """van Elteren's test from per-stratum summaries (:func:`stratum_rank_sum`), each weighted
    by 1 / (n_k + 1); strata with only one group carry no information and are left out. A
    summary may also be given as the dict :func:`dataclasses.asdict` makes of it (as it
    travels in JSON)."""
    from scipy import stats
    summaries = [s if isinstance(s, StratumRankSum) else StratumRankSum(**s)
                 for s in strata_summaries]
    used = [s for s in summaries if 0 < s.n1 < s.n]
    if not used:
        return VanElterenResult(math.nan, math.nan, "van_elteren",
                                note="no stratum holds both groups: no test possible")
    weight = np.array([1.0 / (s.n + 1) for s in used])
    t = float(sum(w * s.rank_sum for w, s in zip(weight, used)))
    e = float(sum(w * s.expected for w, s in zip(weight, used)))
    v = float(sum(w * w * s.variance for w, s in zip(weight, used)))
    if v <= 0:
        return VanElterenResult(math.nan, math.nan, "van_elteren", t, e, v, len(used),
                                "all values tied within every stratum: no test possible")
    z = (t - e) / math.sqrt(v)
    return VanElterenResult(z, float(2 * stats.norm.sf(abs(z))), "van_elteren", t, e, v,
                            len(used))


def van_elteren(values, groups, strata, *, group1=None) -> VanElterenResult:
    """van Elteren's stratified Wilcoxon rank-sum test of two groups.

    ``values``: the observations (NaN missing); ``groups``: two labels; ``strata``: the
    stratum of each observation. ``group1``: the label whose rank sum is T (default: the first
    of the sorted labels); it only sets the sign of the statistic.
    """
    import pandas as pd
    x = np.asarray(values, dtype=float)
    g = pd.Series(np.asarray(groups, dtype=object))
    s = pd.Series(np.asarray(strata, dtype=object))
    if x.ndim != 1 or len(g) != x.size or len(s) != x.size:
        raise ValueError("values, groups and strata must be one-dimensional and of equal length")
    if g.isna().any() or s.isna().any():
        raise ValueError("groups and strata must not be missing")
    labels = sorted(pd.unique(g).tolist())
    if len(labels) != 2:
        raise ValueError(f"van Elteren's test compares two groups, got {len(labels)}: {labels}")
    if group1 is None:
        group1 = labels[0]
    elif group1 not in labels:
        raise ValueError(f"group1={group1!r} is not one of the groups {labels}")
    in1 = (g == group1).to_numpy()
    codes = pd.factorize(s)[0]
    summaries = [stratum_rank_sum(x[codes == k], in1[codes == k]) for k in range(codes.max() + 1)]
    return van_elteren_from_strata(summaries)
