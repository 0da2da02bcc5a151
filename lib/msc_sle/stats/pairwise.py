"""k-th smallest pairwise difference a_i - b_j without forming all of them (used by the Hodges-Lehmann estimates of ``effects`` and ``batch``)."""
from __future__ import annotations

import numpy as np

# Pairwise differences formed directly up to this many pairs.
BRUTE_PAIRS = 2_000_000


def kth_pairwise_differences(a, b, ks, *, brute_pairs: int = BRUTE_PAIRS) -> list[float]:
    """The k-th smallest (1-based, for each k of ``ks``) of the len(a) * len(b) differences
    a_i - b_j; ``a`` and ``b`` sorted ascending.

    Up to ``brute_pairs`` pairs every difference is formed and partitioned; beyond, the k-th
    difference is bracketed by bisection on its value (counting the differences <= t with one
    ``searchsorted``) until at most ``brute_pairs`` differences remain in the bracket, which are
    then formed and sorted.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    m, n = a.size, b.size
    if m * n == 0:
        raise ValueError("pairwise differences need two non-empty samples")
    if any(not 1 <= k <= m * n for k in ks):
        raise ValueError(f"k must lie in 1..{m * n}, got {list(ks)}")
    if m * n <= brute_pairs:
        d = np.subtract.outer(a, b).ravel()
        idx = sorted({k - 1 for k in ks})
        part = np.partition(d, idx)
        return [float(part[k - 1]) for k in ks]
    out = []

    def count_le(t):
        """How many pairs have b_j >= a_i - t (a_i - b_j <= t up to rounding)."""
        return int(n * m - np.searchsorted(b, a - t, side="left").sum())

    # a bracket (lo, hi] holding every difference, with the counts checked rather than assumed:
    # count_le compares b_j >= a_i - t, which rounding can make differ from a_i - b_j <= t
    lo0, hi0 = float(a[0] - b[-1]), float(a[-1] - b[0])
    pad = 1.0 + 1e-9 * max(abs(lo0), abs(hi0))
    while count_le(lo0 - pad) > 0 or count_le(hi0 + pad) < m * n:
        pad *= 2
    lo0, hi0 = lo0 - pad, hi0 + pad
    for k in ks:
        lo, hi = lo0, hi0
        c_lo, c_hi = 0, m * n
        for _ in range(200):
            if c_hi - c_lo <= brute_pairs or hi - lo <= 1e-12 * max(1.0, abs(hi)):
                break
            mid = (lo + hi) / 2
            c = count_le(mid)
            if c >= k:
                hi, c_hi = mid, c
            else:
                lo, c_lo = mid, c
        # the pairs with lo < a_i - b_j <= hi; the k-th difference is among them
        j_lo = np.searchsorted(b, a - hi, side="left")
        j_hi = np.searchsorted(b, a - lo, side="left")
        cnt = j_hi - j_lo
        if cnt.sum() == 0:
            out.append(hi)
            continue
        rows = np.repeat(np.arange(m), cnt)
        starts = np.repeat(j_lo - np.concatenate(([0], np.cumsum(cnt)[:-1])), cnt)
        cols = starts + np.arange(rows.size)
        d = np.sort(a[rows] - b[cols])
        out.append(float(d[min(max(k - c_lo - 1, 0), d.size - 1)]))
    return out
