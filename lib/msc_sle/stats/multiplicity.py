"""Multiple-testing adjustment of p-values (statsmodels ``multipletests``)."""
from __future__ import annotations

import sys

import numpy as np

__all__ = ["adjust_pvalues", "ADJUST_METHODS"]

#: Accepted ``method`` values of :func:`adjust_pvalues`, with statsmodels' name of each.
_STATSMODELS = {"bh": "fdr_bh", "holm": "holm"}
ADJUST_METHODS = tuple(_STATSMODELS)


def adjust_pvalues(p, method: str = "bh"):
    """Adjust p-values for multiple testing (``statsmodels.stats.multitest.multipletests``).

    ``method="bh"``: Benjamini-Hochberg false-discovery-rate q-values (Benjamini & Hochberg
    1995); ``method="holm"``: Holm's step-down family-wise adjustment (Holm 1979).
    NaN entries (tests that could not be run) are passed through and not counted in the family.
    Returns an array of the input's shape, or a Series with the input's index and name for a
    pandas Series.
    """
    if method not in ADJUST_METHODS:
        raise ValueError(f"unknown p-value adjustment {method!r}; use 'bh' or 'holm'")
    pd = sys.modules.get("pandas")  # a Series can only come from an imported pandas
    is_series = pd is not None and isinstance(p, pd.Series)
    arr = np.asarray(p, dtype=float)
    flat = arr.ravel()
    out = np.full(flat.shape, np.nan)
    ok = ~np.isnan(flat)
    if np.any((flat[ok] < 0) | (flat[ok] > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    if ok.any():
        from statsmodels.stats.multitest import multipletests

        out[ok] = multipletests(flat[ok], method=_STATSMODELS[method])[1]
    out = out.reshape(arr.shape)
    return pd.Series(out, index=p.index, name=p.name) if is_series else out
