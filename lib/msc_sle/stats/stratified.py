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
    tables, which have none. Strata with fewer than two observations carry no information and
    are left out (as R does).
    """
    raise NotImplementedError


def stratum_rank_sum(values, in_group1) -> StratumRankSum:
    """The Wilcoxon summary of one stratum: ``values`` (NaN missing, left out) and a boolean
    ``in_group1`` of the same length."""
    raise NotImplementedError


def van_elteren_from_strata(strata_summaries: Sequence[StratumRankSum]) -> VanElterenResult:
    """van Elteren's test from per-stratum summaries (:func:`stratum_rank_sum`), each weighted
    by 1 / (n_k + 1); strata with only one group carry no information and are left out."""
    raise NotImplementedError


def van_elteren(values, groups, strata, *, group1=None) -> VanElterenResult:
    """van Elteren's stratified Wilcoxon rank-sum test of two groups.

    ``values``: the observations (NaN missing); ``groups``: two labels; ``strata``: the
    stratum of each observation. ``group1``: the label whose rank sum is T (default: the first
    of the sorted labels); it only sets the sign of the statistic.
    """
    raise NotImplementedError
