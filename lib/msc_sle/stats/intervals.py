"""Confidence intervals for rates."""
from __future__ import annotations

import math

from . import checks

__all__ = ["wilson_interval"]


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval ``(low, high)`` for the proportion k/n, no continuity correction
    (Wilson EB, JASA 1927;22:209-12); ``(nan, nan)`` when n = 0.

    Preferred over the Wald interval because it stays inside [0, 1] and keeps its coverage at
    small counts (Brown, Cai & DasGupta, Stat Sci 2001;16:101-33). Computed by scipy
    (``binomtest(k, n).proportion_ci(method="wilson")``), which the comparison tables import
    anyway; checked against statsmodels and R's ``prop.test``.
    """
    n = checks.count(n, "n")
    k = checks.count(k, "k")
    conf = checks.confidence(confidence)
    if n == 0:
        return (math.nan, math.nan)  # scipy refuses n = 0; a rate of nobody has no interval
    if k > n:
        raise ValueError(f"k must be within 0..n, got k={k}, n={n}")
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(confidence_level=conf, method="wilson")
    # k = 0 and k = n put an end of the interval at 0 or 1 exactly; floating point would leave 1e-16
    low = 0.0 if k == 0 else max(0.0, float(ci.low))
    high = 1.0 if k == n else min(1.0, float(ci.high))
    return (low, high)
