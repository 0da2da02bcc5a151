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
    # k = 0 and k = n put an end of the interval at 0 or 1 exactly; floating point would leave 1e-16
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return (low, high)
