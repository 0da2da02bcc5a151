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
    cells = np.array([a, b, c, d], dtype=float)
    if cells.shape != (4,) or not np.isfinite(cells).all() or (cells < 0).any() \
            or (cells != np.round(cells)).any():
        raise ValueError(f"a, b, c, d must be non-negative integer counts, got {[a, b, c, d]}")
    correction = float(correction)
    if correction < 0:
        raise ValueError(f"correction must be non-negative, got {correction}")
    corrected = bool((cells == 0).any() and correction > 0)
    if corrected:
        cells = cells + correction
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = math.log(cells[0] * cells[3] / (cells[1] * cells[2])) \
            if (cells > 0).all() else math.nan
        se = float(np.sqrt((1.0 / cells).sum()))
    return LogOddsRatio(estimate, se if math.isfinite(estimate) else math.nan, corrected)


def random_effects_meta(estimates, std_errors, method: str = "REML", labels=None, *,
                        confidence: float = 0.95, max_iter: int = 100, tol: float = 1e-5
                        ) -> MetaResult:
    """Random-effects meta-analysis of ``estimates`` with ``std_errors`` (one per study).

    ``method``: ``"REML"`` (default, as metafor) or ``"DL"``; ``labels``: the studies' names,
    kept in the result; ``max_iter``/``tol``: REML's Fisher scoring (metafor's defaults: a
    change in tau^2 below ``tol`` ends it).
    """
    from scipy import stats
    if method not in META_METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {META_METHODS}")
    y = np.asarray(estimates, dtype=float)
    se = np.asarray(std_errors, dtype=float)
    if y.ndim != 1 or se.shape != y.shape:
        raise ValueError("estimates and std_errors must be one-dimensional and of equal length")
    if not (np.isfinite(y).all() and np.isfinite(se).all()) or (se <= 0).any():
        raise ValueError("every estimate must be finite and every standard error positive")
    k = int(y.size)
    if k < 2:
        raise ValueError(f"a meta-analysis needs at least two studies, got {k}")
    if labels is not None:
        labels = tuple(labels)
        if len(labels) != k:
            raise ValueError(f"{len(labels)} labels for {k} studies")
    conf = float(confidence)
    if not 0 < conf < 1:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    v = se ** 2
    w = 1.0 / v
    fixed = float((w * y).sum() / w.sum())
    q = float((w * (y - fixed) ** 2).sum())
    note = ""
    if method == "DL":
        tau2 = max(0.0, (q - (k - 1)) / (w.sum() - (w ** 2).sum() / w.sum()))
    else:
        tau2, converged = _reml_tau2(y, v, max_iter, tol)
        if not converged:
            note = f"REML did not converge in {max_iter} iterations"
    ws = 1.0 / (v + tau2)
    estimate = float((ws * y).sum() / ws.sum())
    std_error = float(1.0 / math.sqrt(ws.sum()))
    z = float(stats.norm.isf((1 - conf) / 2))
    typical = (k - 1) * w.sum() / (w.sum() ** 2 - (w ** 2).sum())
    return MetaResult(
        estimate=estimate, std_error=std_error, ci_low=estimate - z * std_error,
        ci_high=estimate + z * std_error,
        pvalue=float(2 * stats.norm.sf(abs(estimate / std_error))), tau2=float(tau2),
        i2=float(100.0 * tau2 / (typical + tau2)), q=q, q_pvalue=float(stats.chi2.sf(q, k - 1)),
        k=k, method=method, weights=tuple(float(x) for x in 100.0 * ws / ws.sum()),
        labels=labels, confidence=conf, note=note)


def _reml_tau2(y: np.ndarray, v: np.ndarray, max_iter: int, tol: float) -> tuple[float, bool]:
    """REML tau^2 by Fisher scoring, started at the Hedges (HE) estimate and kept >= 0 by
    halving the step, as metafor's ``rma.uni``; (tau2, converged)."""
    k = y.size
    centred = y - y.mean()
    tau2 = max(0.0, float((centred ** 2).sum() / (k - 1) - v.mean()))
    for _ in range(max_iter):
        w = 1.0 / (v + tau2)
        # P = W - W 1 (1'W 1)^-1 1'W: the REML projection for an intercept-only model
        P = np.diag(w) - np.outer(w, w) / w.sum()
        Py = P @ y
        step = float((Py @ Py - np.trace(P)) / (P * P).sum())
        while tau2 + step < 0:
            step /= 2.0
        tau2 += step
        if abs(step) < tol:
            return max(0.0, tau2), True
    return max(0.0, tau2), False
