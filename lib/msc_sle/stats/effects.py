"""Effect sizes with confidence intervals: odds ratio and Hodges-Lehmann shift."""
from __future__ import annotations

import math

import numpy as np

from . import checks
from .pairwise import BRUTE_PAIRS, kth_pairwise_differences
from .results import Estimate

__all__ = ["odds_ratio", "hodges_lehmann", "hodges_lehmann_ranks"]

HALDANE_NOTE = "Haldane-Anscombe correction applied (zero cell)"


def odds_ratio(a, b, c, d, confidence: float = 0.95) -> Estimate:
    """Sample odds ratio (a d) / (b c) of the 2 x 2 table [[a, b], [c, d]] with its Woolf
    (logit) confidence interval exp(log OR +- z sqrt(1/a + 1/b + 1/c + 1/d)) (Woolf 1955).

    When a cell is zero, 0.5 is added to every cell first (Haldane 1956, Anscombe 1956) and
    ``note`` says so.
    """
    cells = [checks.count(v, name) for v, name in zip((a, b, c, d), "abcd")]
    conf = checks.confidence(confidence)
    note = ""
    if min(cells) == 0:
        cells = [v + 0.5 for v in cells]
        note = HALDANE_NOTE
    a, b, c, d = cells
    lor = math.log(a) + math.log(d) - math.log(b) - math.log(c)
    half = checks.z_two_sided(conf) * math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    return Estimate("odds ratio", math.exp(lor), math.exp(lor - half), math.exp(lor + half),
                    conf, note)


def hodges_lehmann_ranks(m: int, n: int, confidence: float = 0.95) -> tuple[list[int], int]:
    """Which ordered pairwise differences the Hodges-Lehmann estimate and its CI take.

    Returns ``(median_ranks, c)``: the 1-based rank(s) of the median of the m n differences
    (one rank, or two to average), and C = floor(mn/2 - z sqrt(mn(m + n + 1)/12)), the rank of
    the lower confidence limit (the upper one is rank mn + 1 - C); C < 1 means the samples are
    too small for an interval at this confidence (Hollander, Wolfe & Chicken, Nonparametric
    Statistical Methods, 3rd ed., 2014, section 4.3, large-sample approximation).
    """
    mn = int(m) * int(n)
    if mn < 1:
        raise ValueError(f"Hodges-Lehmann needs two non-empty samples, got sizes {m} and {n}")
    z = checks.z_two_sided(checks.confidence(confidence))
    c = int(math.floor(mn / 2 - z * math.sqrt(mn * (m + n + 1) / 12)))
    mids = [(mn + 1) // 2] if mn % 2 else [mn // 2, mn // 2 + 1]
    return mids, c


def hodges_lehmann_estimate(name, vals, mids, c, mn, conf) -> Estimate:
    """The Hodges-Lehmann :class:`Estimate` from the selected pairwise differences ``vals`` (the
    median ranks ``mids`` then the CI ranks ``c`` and ``mn + 1 - c``, as :func:`hodges_lehmann_ranks`
    gives them); shared by :func:`hodges_lehmann` and the vectorised path."""
    est = vals[0] if len(mids) == 1 else (vals[0] + vals[1]) / 2
    if c >= 1:
        return Estimate(name, est, vals[len(mids)], vals[len(mids) + 1], conf)
    return Estimate(name, est, math.nan, math.nan, conf,
                    f"samples too small for a {conf:.0%} CI")


def hodges_lehmann(x, y, confidence: float = 0.95) -> Estimate:
    """Hodges-Lehmann shift of ``x`` relative to ``y``: the median of the pairwise differences
    x_i - y_j (Hodges & Lehmann 1963), with the distribution-free confidence interval of
    Moses: the C-th smallest and C-th largest difference (see :func:`hodges_lehmann_ranks`).
    NaN values are missing. The CI is NaN (``note`` says why) when C < 1.
    """
    xs = np.sort(checks.sample(x, "x"))
    ys = np.sort(checks.sample(y, "y"))
    conf = checks.confidence(confidence)
    mids, c = hodges_lehmann_ranks(xs.size, ys.size, conf)
    mn = xs.size * ys.size
    ks = mids + ([c, mn + 1 - c] if c >= 1 else [])
    if mn <= BRUTE_PAIRS:
        d = np.sort(np.subtract.outer(xs, ys).ravel())
        vals = [float(d[k - 1]) for k in ks]
    else:
        vals = kth_pairwise_differences(xs, ys, ks)
    return hodges_lehmann_estimate("Hodges-Lehmann shift", vals, mids, c, mn, conf)
