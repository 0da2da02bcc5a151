"""Hypothesis tests, one public function per test, each returning a :class:`TestResult`.

Thin over :mod:`scipy.stats` wherever scipy has the test with the wanted convention; the exact
Fisher-Freeman-Halton test is the one hand-written test here (scipy's ``fisher_exact`` gives a
random permutation p beyond 2 x 2). Conventions are SPSS's, so that the numbers match a paper
analysed in SPSS:

* Mann-Whitney and Wilcoxon: two-sided, tie-corrected normal approximation **without**
  continuity correction ("Asymp. Sig."), which R's ``wilcox.test`` only gives with
  ``exact=FALSE, correct=FALSE``;
* Pearson chi-square without Yates' correction (SPSS "Pearson Chi-Square"); Yates on request.

NaN values are missing: left out of each sample (the paired tests drop incomplete pairs or
blocks). ``scipy.stats`` is imported inside the functions, so that importing this module costs
only numpy and ``scipy.special``.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import special

from . import checks
from .results import TestResult

__all__ = ["mann_whitney", "kruskal_wallis", "expected_counts", "pearson_chi2", "yates_chi2",
           "fisher_exact", "fisher_freeman_halton", "wilcoxon_signed_rank", "friedman",
           "MANN_WHITNEY_METHODS"]

#: ``method`` values of :func:`mann_whitney`.
MANN_WHITNEY_METHODS = ("asymptotic", "exact", "permutation")
ALL_TIED_NOTE = "all values are tied: no test possible"
# "as or less probable than the observed table", relative tolerance as in R's fisher.test
_REL_TOL = 1e-7
# cells of the candidate arrays built at once while enumerating tables
_CHUNK_CELLS = 4_000_000


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _seeded_rng(seed, what: str):
    if seed is None:
        raise ValueError(f"{what} needs Monte Carlo sampling; pass an explicit seed= so that the "
                         "p-value is reproducible")
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------------------------
# independent samples
# --------------------------------------------------------------------------------------------
def mann_whitney(x, y, *, method: str = "asymptotic", n_resamples: int = 10_000,
                 seed: int | None = None) -> TestResult:
    """Two-sided Mann-Whitney U (Wilcoxon rank-sum) test of ``x`` against ``y``.

    ``method="asymptotic"`` (default): SPSS "Asymp. Sig. (2-tailed)", the tie-corrected normal
    approximation without continuity correction (``scipy.stats.mannwhitneyu(x, y,
    use_continuity=False, method="asymptotic")``); ``zstatistic`` is the signed z of x.
    ``method="exact"``: the exact null distribution of U (untied data only).
    ``method="permutation"``: a permutation p for tied data, by exact enumeration of the
    C(N, n1) splits when there are at most ``n_resamples`` of them, else from ``n_resamples``
    Monte Carlo permutations drawn with ``seed`` (required then); ``note`` says which.

    ``statistic`` is U of ``x`` (the number of pairs with x > y, ties counting one half).
    """
    from scipy import stats

    if method not in MANN_WHITNEY_METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {MANN_WHITNEY_METHODS}")
    x = checks.sample(x, "x")
    y = checks.sample(y, "y")
    n1, n2 = x.size, y.size
    allv = np.concatenate([x, y])
    tied = np.unique(allv).size < allv.size
    if np.all(allv == allv[0]):
        return TestResult("mann_whitney", n1 * n2 / 2.0, math.nan, note=ALL_TIED_NOTE)
    if method == "asymptotic":
        res = stats.mannwhitneyu(x, y, use_continuity=False, method="asymptotic")
        u, p = float(res.statistic), float(res.pvalue)
        # the signed z behind scipy's p = 2 * Phi(-|z|)
        z = math.copysign(-float(special.ndtri(p / 2)), u - n1 * n2 / 2.0) if u != n1 * n2 / 2 \
            else 0.0
        return TestResult("mann_whitney", u, p, zstatistic=z)
    if method == "exact":
        if tied:
            raise ValueError("method='exact' needs untied values; use method='permutation' "
                             "for tied data")
        res = stats.mannwhitneyu(x, y, method="exact")
        return TestResult("mann_whitney", float(res.statistic), float(res.pvalue), note="exact p")
    n_resamples = int(n_resamples)
    if n_resamples < 1:
        raise ValueError("n_resamples must be a positive integer")
    total = math.comb(n1 + n2, n1)
    if total <= n_resamples:
        perm = stats.PermutationMethod(n_resamples=n_resamples)
        note = f"exact permutation p over {total} splits"
    else:
        perm = stats.PermutationMethod(n_resamples=n_resamples,
                                       rng=_seeded_rng(seed, "a permutation p on these samples"))
        note = f"permutation p from {n_resamples} Monte Carlo resamples (seed {seed})"
    res = stats.mannwhitneyu(x, y, method=perm)
    return TestResult("mann_whitney", float(res.statistic), float(res.pvalue), note=note)


def kruskal_wallis(*samples) -> TestResult:
    """Kruskal-Wallis H test of two or more independent samples, tie-corrected, chi-square
    reference distribution with k - 1 df (``scipy.stats.kruskal``)."""
    from scipy import stats

    if len(samples) < 2:
        raise ValueError(f"kruskal_wallis needs at least 2 samples, got {len(samples)}")
    xs = [checks.sample(s, f"sample {i + 1}") for i, s in enumerate(samples)]
    allv = np.concatenate(xs)
    df = len(xs) - 1
    if np.all(allv == allv[0]):
        return TestResult("kruskal", math.nan, math.nan, df=df, note=ALL_TIED_NOTE)
    res = stats.kruskal(*xs)
    return TestResult("kruskal", float(res.statistic), float(res.pvalue), df=df)


# --------------------------------------------------------------------------------------------
# contingency tables
# --------------------------------------------------------------------------------------------
def expected_counts(table) -> np.ndarray:
    """Expected counts under independence, row total x column total / N, of a 2-D table of
    counts (``scipy.stats.contingency.expected_freq``); for "expected count < 5" rules."""
    from scipy.stats.contingency import expected_freq

    return expected_freq(checks.table(table))


def _small_expected_note(expected: np.ndarray) -> str:
    small = int((expected < 5).sum())
    if not small:
        return ""
    return (f"{small} of {expected.size} expected counts < 5 "
            f"(smallest {float(expected.min()):.2f})")


def _chi2(table, correction: bool, name: str) -> TestResult:
    from scipy import stats

    t = checks.table(table)
    for axis, what in ((1, "row"), (0, "column")):
        empty = np.flatnonzero(t.sum(axis=axis) == 0)
        if empty.size:
            raise ValueError(f"{name}: {what}(s) {empty.tolist()} of the table are empty, so their "
                             "expected counts are zero; drop them first")
    res = stats.chi2_contingency(t, correction=correction)
    return TestResult(name, float(res.statistic), float(res.pvalue), df=int(res.dof),
                      note=_small_expected_note(res.expected_freq))


def pearson_chi2(table) -> TestResult:
    """Pearson chi-square test of independence of a groups x levels table, **without**
    continuity correction (SPSS "Pearson Chi-Square"; ``scipy.stats.chi2_contingency(table,
    correction=False)``). ``note`` states how many expected counts are below 5, as SPSS's
    footnote does; :func:`expected_counts` gives them."""
    return _chi2(table, False, "chi2")


def yates_chi2(table) -> TestResult:
    """Chi-square test of a 2 x 2 table with Yates' continuity correction (SPSS "Continuity
    Correction", R's ``chisq.test`` default; ``scipy.stats.chi2_contingency(table,
    correction=True)``)."""
    t = checks.table(table)
    if t.shape != (2, 2):
        raise ValueError(f"Yates' correction applies to 2x2 tables only, got a "
                         f"{t.shape[0]}x{t.shape[1]} table; use pearson_chi2")
    return _chi2(t, True, "chi2_yates")


def fisher_exact(table) -> TestResult:
    """Two-sided Fisher's exact test of a 2 x 2 table (``scipy.stats.fisher_exact``): the
    probability of the tables with the observed margins as or less probable than the observed
    one. ``statistic`` is NaN (the odds ratio and its CI: :func:`msc_sle.stats.odds_ratio`)."""
    from scipy import stats

    t = checks.table(table)
    if t.shape != (2, 2):
        raise ValueError(f"fisher_exact applies to 2x2 tables; use fisher_freeman_halton for a "
                         f"{t.shape[0]}x{t.shape[1]} table")
    return TestResult("fisher", math.nan, float(stats.fisher_exact(t).pvalue))


def _compositions(total: int, bounds: np.ndarray) -> np.ndarray:
    """Every vector of len(bounds) non-negative integers summing to ``total``, each at most its
    bound, as the rows of an int64 array."""
    r = bounds.size
    parts = np.zeros((1, 0), dtype=np.int64)
    used = np.zeros(1, dtype=np.int64)
    rest_cap = np.concatenate((np.cumsum(bounds[::-1])[::-1][1:], [0]))
    for i in range(r - 1):
        x = np.arange(min(total, int(bounds[i])) + 1, dtype=np.int64)
        u = (used[:, None] + x[None, :]).ravel()
        keep = (u <= total) & (total - u <= rest_cap[i])
        rows = np.repeat(np.arange(parts.shape[0]), x.size)[keep]
        parts = np.column_stack((parts[rows], np.tile(x, parts.shape[0])[keep]))
        used = u[keep]
    last = total - used
    keep = last <= bounds[-1]
    return np.column_stack((parts[keep], last[keep]))


def _ffh_enumerate(t: np.ndarray, max_tables: int):
    """Exact FFH p by enumerating every table with the margins of ``t``: (p, number of tables),
    or None when there are more than ``max_tables``.

    Columns are filled one at a time (each a composition of its total bounded by what is left of
    the row totals); every partial table kept extends to at least one full table, so the work is
    bounded by the number of tables. The largest column comes last: it is fixed by the others.
    """
    lg = special.gammaln
    if t.shape[0] > t.shape[1]:
        t = t.T                      # fewer rows: shorter compositions
    t = t[:, np.argsort(t.sum(axis=0), kind="stable")]
    rows, cols = t.sum(axis=1), t.sum(axis=0)
    n = int(rows.sum())
    const = float(lg(rows + 1).sum() + lg(cols + 1).sum() - lg(n + 1))
    observed = const - float(lg(t + 1).sum())
    rem = rows[None, :].astype(np.int64)
    logp = np.zeros(1)
    for c in cols[:-1]:
        comps = _compositions(int(c), rows)
        if comps.shape[0] > max_tables:
            return None
        weight = -lg(comps + 1).sum(axis=1)
        step = max(1, _CHUNK_CELLS // (comps.shape[0] * comps.shape[1]))
        new_rem, new_logp, found = [], [], 0
        for s in range(0, rem.shape[0], step):
            cand = rem[s:s + step, None, :] - comps[None, :, :]
            ti, ki = np.nonzero((cand >= 0).all(axis=2))
            found += ti.size
            if found > max_tables:
                return None
            new_rem.append(cand[ti, ki])
            new_logp.append(logp[s:s + step][ti] + weight[ki])
        rem, logp = np.concatenate(new_rem), np.concatenate(new_logp)
    logp = logp - lg(rem + 1).sum(axis=1) + const   # the last column is what is left
    p = float(np.exp(logp[logp <= observed + _REL_TOL]).sum())
    return min(p, 1.0), int(logp.size)


def fisher_freeman_halton(table, *, max_tables: int = 2_000_000, n_resamples: int = 10_000,
                          seed: int | None = 20190502) -> TestResult:
    """Fisher-Freeman-Halton exact test of an r x c table (Freeman & Halton, Biometrika 1951).

    The p-value is the total probability, under independence with both margins fixed, of the
    tables as or less probable than the observed one (relative tolerance 1e-7, as R's
    ``fisher.test``), by exact enumeration of every such table: deterministic, and for a 2 x 2
    table the two-sided Fisher exact p. Empty rows and columns are left out first (they do not
    change any probability). Only when there are more than ``max_tables`` tables is the p
    estimated from ``n_resamples`` Monte Carlo tables drawn with ``seed`` (scipy's
    ``fisher_exact`` with a seeded ``MonteCarloMethod``); ``note`` then says so. Enumeration is
    fast for 2 x c and r x 2 tables up to a few hundred observations and for small r x c tables.
    """
    from scipy import stats

    t = checks.table(table)
    max_tables = int(max_tables)
    if max_tables < 1:
        raise ValueError("max_tables must be a positive integer")
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    if min(t.shape) < 2:
        return TestResult("fisher_freeman_halton", math.nan, 1.0,
                          note="only one table has these margins (a single non-empty row or "
                               "column)")
    exact = _ffh_enumerate(t, max_tables)
    if exact is not None:
        p, n_tables = exact
        return TestResult("fisher_freeman_halton", math.nan, p,
                          note=f"exact p over {n_tables} tables")
    n_resamples = int(n_resamples)
    if n_resamples < 1:
        raise ValueError("n_resamples must be a positive integer")
    rng = _seeded_rng(seed, f"a table with more than {max_tables} arrangements")
    res = stats.fisher_exact(t, method=stats.MonteCarloMethod(n_resamples=n_resamples, rng=rng))
    return TestResult("fisher_freeman_halton", math.nan, float(res.pvalue),
                      note=f"Monte Carlo p from {n_resamples} resamples (seed {seed}); more than "
                           f"{max_tables} tables to enumerate")


# --------------------------------------------------------------------------------------------
# related samples
# --------------------------------------------------------------------------------------------
def wilcoxon_signed_rank(x, y=None) -> TestResult:
    """Two-sided Wilcoxon signed-rank test of the differences ``x - y`` (or of ``x`` alone).

    SPSS's convention: zero differences dropped, tie-corrected normal approximation, no
    continuity correction (``scipy.stats.wilcoxon(d, zero_method="wilcox", correction=False,
    method="approx")``). ``statistic`` is W+, the sum of the ranks of the positive differences;
    ``zstatistic`` its signed z (positive when x tends to exceed y). Pairs with a missing value
    are left out; ``note`` counts the dropped zero differences.
    """
    from scipy import stats

    if y is None:
        d = checks.sample(x, "x")
    else:
        xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        if xa.ndim != 1 or xa.shape != ya.shape:
            raise ValueError(f"x and y must be paired 1-D samples of one length, got shapes "
                             f"{xa.shape} and {ya.shape}")
        d = checks.sample(xa - ya, "x - y (complete pairs)")
    nz = d[d != 0]
    zeros = d.size - nz.size
    note = f"{zeros} zero difference(s) dropped" if zeros else ""
    if nz.size == 0:
        return TestResult("wilcoxon", math.nan, math.nan,
                          note=_join("every difference is zero: no test possible", note))
    kw = dict(zero_method="wilcox", correction=False, method="approx")
    two_sided = stats.wilcoxon(nz, **kw)
    greater = stats.wilcoxon(nz, alternative="greater", **kw)  # statistic W+, signed z
    return TestResult("wilcoxon", float(greater.statistic), float(two_sided.pvalue), note=note,
                      zstatistic=float(greater.zstatistic))


def friedman(*samples) -> TestResult:
    """Friedman test of k >= 3 related samples (one value per block in each; blocks with a
    missing value are left out), tie-corrected, chi-square with k - 1 df
    (``scipy.stats.friedmanchisquare``). For two related samples use
    :func:`wilcoxon_signed_rank`."""
    from scipy import stats

    if len(samples) < 3:
        raise ValueError(f"friedman needs at least 3 related samples (got {len(samples)}); "
                         "compare two with wilcoxon_signed_rank")
    arrs = [np.asarray(s, dtype=float) for s in samples]
    if any(a.ndim != 1 for a in arrs) or len({a.size for a in arrs}) != 1:
        raise ValueError("friedman needs 1-D samples of one length (one value per block), got "
                         f"shapes {[a.shape for a in arrs]}")
    m = np.column_stack(arrs)
    complete = ~np.isnan(m).any(axis=1)
    m = m[complete]
    df = len(arrs) - 1
    note = (f"{int((~complete).sum())} block(s) with a missing value left out"
            if not complete.all() else "")
    if m.shape[0] < 2:
        raise ValueError(f"friedman needs at least 2 complete blocks, got {m.shape[0]}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # every block tied: 0 / 0
        res = stats.friedmanchisquare(*m.T)
    if not np.isfinite(res.statistic):
        return TestResult("friedman", math.nan, math.nan, df=df,
                          note=_join("every block is tied: no test possible", note))
    return TestResult("friedman", float(res.statistic), float(res.pvalue), df=df, note=note)
