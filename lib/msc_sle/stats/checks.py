"""Input checks shared by the modules of :mod:`msc_sle.stats`: one message per kind of bad input."""
from __future__ import annotations

import math

import numpy as np


def sample(values, name: str, *, min_size: int = 1) -> np.ndarray:
    """A 1-D float array of ``values`` with NaN (missing) left out; at least ``min_size`` left."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    arr = arr[~np.isnan(arr)]
    if arr.size < min_size:
        raise ValueError(f"{name} has {arr.size} non-missing value(s); at least {min_size} needed")
    return arr


def table(values, name: str = "table") -> np.ndarray:
    """A 2-D contingency table of non-negative integer counts, at least 2 x 2, as int64."""
    arr = np.asarray(values)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be two-dimensional (groups x levels), got shape {arr.shape}")
    if arr.shape[0] < 2 or arr.shape[1] < 2:
        raise ValueError(f"{name} must have at least 2 rows and 2 columns, got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold counts, got dtype {arr.dtype}")
    flt = arr.astype(float)
    if not np.isfinite(flt).all():
        raise ValueError(f"{name} holds missing or infinite counts")
    if (flt < 0).any():
        raise ValueError(f"{name} holds negative counts: {arr.tolist()}")
    if (flt != np.round(flt)).any():
        raise ValueError(f"{name} holds non-integer counts: {arr.tolist()}")
    out = flt.astype(np.int64)
    if out.sum() == 0:
        raise ValueError(f"{name} is empty (every count is zero)")
    return out


def count(value, name: str) -> int:
    """A non-negative integer count (an int, or a float with an integer value)."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a count, got {value!r}") from None
    if not math.isfinite(f) or f < 0 or f != round(f):
        raise ValueError(f"{name} must be a non-negative integer count, got {value!r}")
    return int(f)


def confidence(value) -> float:
    c = float(value)
    if not 0 < c < 1:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {value!r}")
    return c


def z_two_sided(conf: float) -> float:
    """The standard normal quantile z with P(|Z| <= z) = conf."""
    from scipy.special import ndtri
    return float(ndtri(0.5 + conf / 2))
