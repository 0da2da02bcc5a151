"""Confidence intervals for rates."""
from __future__ import annotations

import math

from . import checks

__all__ = ["wilson_interval"]


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval ``(low, high)`` for the proportion k/n, no continuity correction
    (Wilson EB, JASA 1927;22:209-12); ``(nan, nan)`` when n = 0.

    Preferred over the Wald interval because it stays inside [0, 1] and keeps its coverage at
    small counts (Brown, Cai & DasGupta, Stat Sci 2001;16:101-33). Hand-written (a few lines)
    so that notebooks need not import statsmodels; checked against statsmodels and R.
    """
    n = checks.count(n, "n")
    k = checks.count(k, "k")
    conf = checks.confidence(confidence)
    if n == 0:
        return (math.nan, math.nan)
    if k > n:
        raise ValueError(f"k must be within 0..n, got k={k}, n={n}")
    z = checks.z_two_sided(conf)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))
