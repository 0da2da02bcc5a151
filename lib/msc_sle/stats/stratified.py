"""Stratified tests: the association of two variables within strata (centres, say), combined.

* :func:`cochran_mantel_haenszel` -- the Cochran-Mantel-Haenszel test over K strata, as R's
  ``mantelhaen.test``: for 2 x 2 tables the test with R's continuity-correction rule and the
  Mantel-Haenszel common odds ratio with the Robins-Breslow-Greenland CI; for I x J tables (I or
  J > 2) the generalized CMH statistic ("general association", Landis, Heyman & Koch 1978) on
  (I - 1)(J - 1) degrees of freedom. Every part of it is a sum over strata of what one stratum's
  table gives alone (:func:`cmh_stratum_sums`: observed minus expected cells, their conditional
  covariance, the Mantel-Haenszel and Robins-Breslow-Greenland terms), so the test is computed
  from those sums (:func:`cochran_mantel_haenszel_from_sums`) whether the strata are rows of one
  table or centres that only send their sums. Written here rather than over statsmodels'
  ``StratifiedTable`` (which needs every stratum's table in one place, and stops at 2 x 2 x K).
* :func:`van_elteren` -- van Elteren's (1960) stratified Wilcoxon rank-sum test: within-stratum
  midranks, each stratum's rank sum weighted by 1 / (n_k + 1), normal approximation with the
  tie-corrected variance, no continuity correction (SAS ``PROC NPAR1WAY`` with a ``STRATA``
  statement, ``WILCOXON`` scores, ``RANKS=STRATUM``, ``WEIGHTS=STRATUM``; equal to SAS ``PROC
  FREQ``'s CMH row-mean-score statistic with modified ridit scores). Neither scipy nor
  statsmodels has it, hence written here.
* :func:`stratum_rank_sum` -- what one stratum contributes, computable where its data are
  (a centre that cannot share its values); :func:`van_elteren_from_strata` combines those
  summaries into the same test, through :func:`van_elteren_stratum_sums` (one stratum's
  weighted terms) and :func:`van_elteren_from_sums` (the test from their sums over strata).

Knows nothing of what the strata or groups mean.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["CMHResult", "VanElterenResult", "StratumRankSum", "CMHSums", "VanElterenSums",
           "cochran_mantel_haenszel", "cmh_stratum_sums", "cochran_mantel_haenszel_from_sums",
           "van_elteren", "stratum_rank_sum", "van_elteren_from_strata", "van_elteren_stratum_sums",
           "van_elteren_from_sums"]


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


@dataclass(frozen=True)
class CMHSums:
    """What strata contribute to the Cochran-Mantel-Haenszel test, summed over strata (``+`` adds
    two; :func:`cmh_stratum_sums` gives one stratum's). For I x J tables: ``table`` the summed
    counts (I x J), ``deviation`` observed minus expected count of every cell (row-major, I J),
    ``covariance`` their conditional (hypergeometric) covariance given each stratum's margins
    (I J x I J); ``odds`` the Mantel-Haenszel and Robins-Breslow-Greenland sums of 2 x 2 tables
    (sum a d / n, sum b c / n, sum P R, sum (P S + Q R), sum Q S, with P = (a + d) / n,
    Q = (b + c) / n, R = a d / n, S = b c / n), zeros for larger tables. ``vector()`` /
    ``from_vector`` flatten it for a secure summation."""
    table: np.ndarray
    deviation: np.ndarray
    covariance: np.ndarray
    odds: np.ndarray

    def __add__(self, other: "CMHSums") -> "CMHSums":
        if self.table.shape != other.table.shape:
            raise ValueError(f"cannot add the sums of {self.table.shape} and {other.table.shape} tables")
        return CMHSums(self.table + other.table, self.deviation + other.deviation,
                       self.covariance + other.covariance, self.odds + other.odds)

    def vector(self) -> np.ndarray:
        return np.concatenate([self.table.ravel(), self.deviation, self.covariance.ravel(), self.odds])

    @classmethod
    def from_vector(cls, vector, shape: tuple[int, int]) -> "CMHSums":
        v = np.asarray(vector, dtype=float)
        cells = shape[0] * shape[1]
        if v.shape != (cells * (cells + 2) + 5,):
            raise ValueError(f"{v.size} numbers do not hold the CMH sums of a {shape} table")
        return cls(v[:cells].reshape(shape), v[cells:2 * cells], v[2 * cells:cells * (cells + 2)].reshape(cells, cells),
                   v[cells * (cells + 2):])


def cmh_stratum_sums(table) -> CMHSums:
    """One stratum's contribution to the Cochran-Mantel-Haenszel test (an I x J table of counts).
    A stratum of fewer than two observations contributes only its counts: its cells have no
    conditional variance, so it carries no information (R refuses such a stratum; a centre whose
    table is that small is simply left out of the sums' information)."""
    t = np.asarray(table, dtype=float)
    if t.ndim != 2 or t.shape[0] < 2 or t.shape[1] < 2:
        raise ValueError(f"a stratum's table must have at least 2 rows and 2 columns, got shape {t.shape}")
    rows, cols = t.shape
    n = t.sum()
    deviation = np.zeros(rows * cols)
    covariance = np.zeros((rows * cols, rows * cols))
    odds = np.zeros(5)
    if n >= 2:
        r, c = t.sum(axis=1), t.sum(axis=0)
        deviation = (t - np.outer(r, c) / n).ravel()
        # Cov(n_ij, n_kl) = (n d_ik r_i - r_i r_k)(n d_jl c_j - c_j c_l) / (n^2 (n - 1)), rows outer
        covariance = np.kron(n * np.diag(r) - np.outer(r, r), n * np.diag(c) - np.outer(c, c)) / (n ** 2 * (n - 1))
        if t.shape == (2, 2):
            (a, b), (cc, d) = t
            big_r, big_s, p, q = a * d / n, b * cc / n, (a + d) / n, (b + cc) / n
            odds = np.array([big_r, big_s, p * big_r, p * big_s + q * big_r, q * big_s])
    return CMHSums(t, deviation, covariance, odds)


def cochran_mantel_haenszel(tables, correct: bool = True, *, confidence: float = 0.95
                            ) -> CMHResult:
    """Cochran-Mantel-Haenszel test of conditional independence over K strata.

    ``tables``: an array shaped (K, I, J), strata first, of counts. ``correct``: continuity
    correction for the 2 x 2 x K test (R's default ``correct = TRUE``); ignored for larger
    tables, which have none. Every stratum needs at least two observations (R refuses the same).
    """
    arr = _tables(tables)
    total = cmh_stratum_sums(arr[0])
    for t in arr[1:]:
        total = total + cmh_stratum_sums(t)
    return cochran_mantel_haenszel_from_sums(total, correct, confidence=confidence)


def cochran_mantel_haenszel_from_sums(sums: CMHSums, correct: bool = True, *, confidence: float = 0.95
                                      ) -> CMHResult:
    """The Cochran-Mantel-Haenszel test from its sums over strata (:class:`CMHSums`): what
    :func:`cochran_mantel_haenszel` computes, when only the sums are known (centres that each
    send :func:`cmh_stratum_sums` of their own table, securely summed). A row or column empty in
    every stratum is left out (R's ``mantelhaen.test`` would find the covariance singular); the
    Mantel-Haenszel odds ratio needs 2 x 2 strata."""
    from scipy import stats
    if not 0 < float(confidence) < 1:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    rows_all, cols_all = sums.table.shape
    rows = np.flatnonzero(sums.table.sum(axis=1) > 0)
    cols = np.flatnonzero(sums.table.sum(axis=0) > 0)
    df = (len(rows) - 1) * (len(cols) - 1) if len(rows) and len(cols) else 0   # an all-empty table: (-1)(-1) is no df
    if df < 1:
        return CMHResult(math.nan, math.nan, max(df, 0), math.nan, math.nan, math.nan, "cmh",
                         "fewer than two rows or columns hold a count: no test possible")
    # the free cells: every non-empty row but the last, every non-empty column but the last
    free = np.array([i * cols_all + j for i in rows[:-1] for j in cols[:-1]])
    delta = sums.deviation[free]
    cov = sums.covariance[np.ix_(free, free)]
    if (rows_all, cols_all) == (2, 2):
        # R applies the continuity correction only when it does not overshoot (|O - E| >= 1/2)
        use_correction = bool(correct) and abs(float(delta[0])) >= 0.5
        yates = 0.5 if use_correction else 0.0
        variance = float(cov[0, 0])
        statistic = (abs(float(delta[0])) - yates) ** 2 / variance if variance > 0 else math.nan
        s_diag, s_offd, pr, ps_qr, qs = (np.float64(x) for x in sums.odds)   # 0 / 0: nan, not an error
        z = float(stats.norm.isf((1.0 - float(confidence)) / 2))
        with np.errstate(divide="ignore", invalid="ignore"):
            odds = s_diag / s_offd
            sd = np.sqrt(pr / (2 * s_diag ** 2) + ps_qr / (2 * s_diag * s_offd) + qs / (2 * s_offd ** 2))
            lo, hi = odds * np.exp(-z * sd), odds * np.exp(z * sd)
        note = "continuity correction" if use_correction else "no continuity correction"
        pvalue = float(stats.chi2.sf(statistic, 1)) if statistic == statistic else math.nan
        return CMHResult(float(statistic), pvalue, 1, float(odds), float(lo), float(hi), "cmh", note)
    note = "generalized CMH (general association)"
    if len(rows) < rows_all or len(cols) < cols_all:
        note += "; rows or columns empty in every stratum left out"
    rank = int(np.linalg.matrix_rank(cov))
    if rank == 0:
        return CMHResult(math.nan, math.nan, df, math.nan, math.nan, math.nan, "cmh_general",
                         "no cell varies given the margins of its stratum: no test possible")
    if rank < df:
        # a cell fixed by its stratum's margins in every stratum (a level seen only where one row
        # is empty) has no variance and equals its expectation: it carries no information, and the
        # test is taken on the cells that vary (generalized inverse, df = rank), where R's
        # mantelhaen.test stops at a singular matrix
        statistic = float(delta @ np.linalg.pinv(cov) @ delta)
        df = rank
        note += f"; {rank} of its free cells vary given the strata's margins: df = {rank}"
    else:
        statistic = float(delta @ np.linalg.solve(cov, delta))
    return CMHResult(statistic, float(stats.chi2.sf(statistic, df)), df, math.nan, math.nan,
                     math.nan, "cmh_general", note)


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


@dataclass(frozen=True)
class VanElterenSums:
    """van Elteren's terms summed over strata (``+`` adds two): ``weighted_sum`` sum w_k W_k,
    ``expected`` sum w_k E[W_k], ``variance`` sum w_k^2 Var W_k, with w_k = 1 / (n_k + 1)."""
    weighted_sum: float = 0.0
    expected: float = 0.0
    variance: float = 0.0

    def __add__(self, other: "VanElterenSums") -> "VanElterenSums":
        return VanElterenSums(self.weighted_sum + other.weighted_sum, self.expected + other.expected,
                              self.variance + other.variance)


def van_elteren_stratum_sums(summary: StratumRankSum) -> VanElterenSums:
    """One stratum's weighted terms of van Elteren's test. A stratum with one group alone adds
    nothing to the test (its rank sum is its expectation, its variance zero) but is summed all the
    same: ``expected`` then sums to half the group-1 count of every stratum, whether a stratum held
    both groups or not, so the sums do not tell which strata held only one group."""
    s = summary if isinstance(summary, StratumRankSum) else StratumRankSum(**summary)
    if s.n == 0:
        return VanElterenSums()
    w = 1.0 / (s.n + 1)
    return VanElterenSums(w * s.rank_sum, w * s.expected, w * w * s.variance)


def van_elteren_from_sums(sums: VanElterenSums, n_strata: int = 0) -> VanElterenResult:
    """van Elteren's test from its terms summed over strata (:class:`VanElterenSums`), as centres
    that each send :func:`van_elteren_stratum_sums` of their own summary give it; ``n_strata``:
    how many strata held both groups, when known (0: not known)."""
    from scipy import stats
    t, e, v = float(sums.weighted_sum), float(sums.expected), float(sums.variance)
    if v <= 0:
        # one group alone and all values tied look the same from the sums (no variance)
        note = "no stratum holds both groups with values not all tied: no test possible"
        return VanElterenResult(math.nan, math.nan, "van_elteren", t, e, v, n_strata, note)
    z = (t - e) / math.sqrt(v)
    return VanElterenResult(z, float(2 * stats.norm.sf(abs(z))), "van_elteren", t, e, v, n_strata)


def van_elteren_from_strata(strata_summaries: Sequence[StratumRankSum]) -> VanElterenResult:
    """van Elteren's test from per-stratum summaries (:func:`stratum_rank_sum`), each weighted
    by 1 / (n_k + 1); strata with only one group carry no information and are left out. A
    summary may also be given as the dict :func:`dataclasses.asdict` makes of it (as it
    travels in JSON)."""
    summaries = [s if isinstance(s, StratumRankSum) else StratumRankSum(**s)
                 for s in strata_summaries]
    total = VanElterenSums()
    for s in summaries:
        total = total + van_elteren_stratum_sums(s)
    return van_elteren_from_sums(total, sum(1 for s in summaries if 0 < s.n1 < s.n))


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
