"""Random-effects meta-analysis of per-study (per-centre) estimates.

* :func:`log_odds_ratio` -- one study's log odds ratio and its standard error (Woolf) from a
  2 x 2 table; when a cell is zero, ``correction`` (0.5: Haldane-Anscombe) is added to all four
  cells, as ``metafor::escalc(measure = "OR")`` does by default (``add = 1/2, to = "only0"``).
* :func:`random_effects_meta` -- the inverse-variance random-effects estimate with the
  between-study variance tau^2 by restricted maximum likelihood (``"REML"``, metafor's default,
  Fisher scoring as ``metafor::rma``) or DerSimonian-Laird (``"DL"``), Cochran's Q, I^2 as
  metafor defines it (tau^2 over tau^2 plus the typical within-study variance; for DL this is
  Higgins & Thompson's (Q - df) / Q), a normal (Wald) confidence interval and p-value, as
  ``metafor::rma(yi, sei = ..., method = ...)`` with its default ``test = "z"``.

Written here rather than taken from statsmodels: ``statsmodels.stats.meta_analysis`` has
DerSimonian-Laird and Paule-Mandel but no REML, and reports the Q-based I^2 for every method.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["LogOddsRatio", "MetaResult", "META_METHODS", "log_odds_ratio", "random_effects_meta"]

#: ``method`` values of :func:`random_effects_meta`.
META_METHODS = ("REML", "DL")


@dataclass(frozen=True)
class LogOddsRatio:
    """One 2 x 2 table's log odds ratio ``estimate`` (a d / b c) and Woolf ``std_error``;
    ``corrected`` is True when ``correction`` was added to every cell (a zero cell)."""
    estimate: float
    std_error: float
    corrected: bool = False


@dataclass(frozen=True)
class MetaResult:
    """Random-effects meta-analysis.

    ``estimate`` (pooled), ``std_error``, ``ci_low``/``ci_high`` (normal, at ``confidence``),
    ``pvalue`` (two-sided Wald z), ``tau2`` (between-study variance), ``i2`` (percent), ``q``
    (Cochran's Q on ``k`` - 1 df) and ``q_pvalue``, ``k`` studies, ``method`` (``"REML"`` or
    ``"DL"``), ``weights`` (each study's percent weight, as ``metafor::weights``, in input
    order), ``labels`` (the studies' labels, or None), ``note``.
    """
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    pvalue: float
    tau2: float
    i2: float
    q: float
    q_pvalue: float
    k: int
    method: str
    weights: tuple[float, ...]
    labels: tuple | None = None
    confidence: float = 0.95
    note: str = ""


def log_odds_ratio(a, b, c, d, correction: float = 0.5) -> LogOddsRatio:
    """Log odds ratio log(a d / (b c)) of the table [[a, b], [c, d]] and its Woolf standard
    error sqrt(1/a + 1/b + 1/c + 1/d); with a zero cell, ``correction`` is first added to all
    four cells (Haldane-Anscombe; ``correction=0`` leaves the estimate infinite or undefined)."""
    raise NotImplementedError


def random_effects_meta(estimates, std_errors, method: str = "REML", labels=None, *,
                        confidence: float = 0.95, max_iter: int = 100, tol: float = 1e-5
                        ) -> MetaResult:
    """Random-effects meta-analysis of ``estimates`` with ``std_errors`` (one per study).

    ``method``: ``"REML"`` (default, as metafor) or ``"DL"``; ``labels``: the studies' names,
    kept in the result; ``max_iter``/``tol``: REML's Fisher scoring (metafor's defaults).
    """
    raise NotImplementedError
