"""Result records shared by every test and estimate of :mod:`msc_sle.stats`.

Plain frozen dataclasses: they pickle, compare by value, turn into dicts with
:func:`dataclasses.asdict` and into table rows with ``pandas.DataFrame(list_of_results)``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["TestResult", "Estimate"]


@dataclass(frozen=True)
class TestResult:
    """Outcome of one hypothesis test.

    ``test`` is a key of :data:`msc_sle.stats.TESTS` (its label and footnote text live there);
    ``statistic`` is the test statistic (NaN for the exact tests, which have none), ``pvalue``
    the two-sided p-value, ``df`` the degrees of freedom of a chi-square reference distribution
    (None otherwise), ``note`` how the p was obtained when that is not the default (exact,
    permutation or Monte Carlo settings, values left out), ``zstatistic`` the standardised
    statistic of the normal-approximation tests (NaN for the others).
    """
    __test__ = False  # not a pytest test class, despite the name

    test: str
    statistic: float
    pvalue: float
    df: int | None = None
    note: str = ""
    zstatistic: float = math.nan


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval (``ci_low``, ``ci_high`` at ``confidence``).

    ``note`` says when a correction was applied or the interval could not be computed (NaN).
    """
    name: str
    estimate: float
    ci_low: float
    ci_high: float
    confidence: float = 0.95
    note: str = ""
