"""Glucocorticoid doses in prednisone equivalents, with pulses kept apart.

Equivalent anti-inflammatory doses (clinical-definitions reference, "Glucocorticoid equivalents";
standard tables, e.g. Buttgereit F et al. Ann Rheum Dis 2002;61:718-22):
prednisone 5 mg = prednisolone 5 mg = methylprednisolone 4 mg = dexamethasone 0.75 mg =
hydrocortisone 20 mg.

A methylprednisolone pulse (e.g. 500 mg i.v., = 625 mg prednisone) would swamp any daily-dose rule
such as "prednisone <= 7.5 mg/day", so pulses are never folded into the daily dose: registries keep
them in a separate field, and so does :func:`split_pulses`.

>>> prednisone_equivalent(4, "methylprednisolone")
5.0
>>> split_pulses([16, 500], "methylprednisolone").pulse_mg.tolist()    # doctest: +SKIP
[0.0, 625.0]
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

__all__ = ["EQUIVALENT_DOSE_MG", "PULSE_MIN_MG", "prednisone_equivalent", "split_pulses", "SteroidDoses"]

#: Dose (mg) of each glucocorticoid equivalent to 5 mg prednisone (reference table above).
EQUIVALENT_DOSE_MG = MappingProxyType({
    "prednisone": 5.0, "prednisolone": 5.0, "methylprednisolone": 4.0,
    "dexamethasone": 0.75, "hydrocortisone": 20.0,
})

#: "Pulse therapy" starts at 250 mg prednisone equivalent a day (Buttgereit F et al. Ann Rheum Dis
#: 2002;61:718-22, standardised glucocorticoid nomenclature); "very high" daily doses are > 100 mg.
PULSE_MIN_MG = 250.0


def _as_series(values, name):
    if isinstance(values, pd.Series):
        return values, True
    if isinstance(values, (str, bytes)) or np.ndim(values) == 0:
        return pd.Series([values], name=name), False
    return pd.Series(list(values) if not isinstance(values, np.ndarray) else values, name=name), True


def _factors(drug, index) -> np.ndarray:
    """mg prednisone per mg of each row's drug."""
    if isinstance(drug, str):
        drugs = pd.Series(drug, index=index)
    else:
        drugs, _ = _as_series(drug, "drug")
        if len(drugs) != len(index):
            raise ValueError(f"drug has {len(drugs)} values but dose has {len(index)}")
        drugs = pd.Series(drugs.to_numpy(dtype=object), index=index)
    if drugs.isna().any():
        raise ValueError(f"drug is missing at position(s) {np.flatnonzero(drugs.isna().to_numpy())[:10].tolist()}")
    not_text = [d for d in pd.unique(drugs) if not isinstance(d, str)]
    if not_text:
        raise TypeError(f"drug names must be strings, got {not_text[:5]}")
    # Case and surrounding spaces carry no meaning in a drug name; spelling does.
    key = drugs.str.strip().str.lower()
    unknown = sorted(set(key.unique()) - set(EQUIVALENT_DOSE_MG))
    if unknown:
        raise ValueError(f"unknown glucocorticoid(s) {unknown}; known: {', '.join(EQUIVALENT_DOSE_MG)}")
    per_mg = {name: EQUIVALENT_DOSE_MG["prednisone"] / mg for name, mg in EQUIVALENT_DOSE_MG.items()}
    return key.map(per_mg).to_numpy(dtype=np.float64)


def _doses(dose) -> tuple[pd.Series, bool]:
    series, vector = _as_series(dose, "dose")
    if pd.api.types.is_bool_dtype(series.dtype) or not (pd.api.types.is_numeric_dtype(series.dtype)
                                                        or series.isna().all()):
        if series.dtype == object and series.dropna().map(
                lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool)).all():
            series = series.astype("float64")
        else:
            raise TypeError(f"dose must be numeric (mg), got dtype {series.dtype}")
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    negative = np.flatnonzero(values < 0)
    if len(negative):
        raise ValueError(f"negative glucocorticoid dose at position(s) {negative[:10].tolist()}: "
                         f"{values[negative[:10]].tolist()}")
    if np.isinf(values).any():
        raise ValueError("infinite glucocorticoid dose")
    return pd.Series(values, index=series.index, name=series.name), vector


def prednisone_equivalent(dose, drug, *, pulse_min_mg: float | None = PULSE_MIN_MG):
    """Daily dose in mg prednisone equivalent.

    Parameters
    ----------
    dose : mg of ``drug`` per day: a number, array or Series (missing stays missing).
    drug : "prednisone", "prednisolone", "methylprednisolone", "dexamethasone" or "hydrocortisone"
        (case-insensitive), one name or one per dose.
    pulse_min_mg : a converted dose at or above this is a pulse, not a daily dose, and raises a
        ValueError pointing to :func:`split_pulses` (default 250 mg, Buttgereit 2002). None
        disables the check.

    Returns
    -------
    float for a scalar dose, otherwise a float Series (same index as a Series ``dose``).
    """
    doses, vector = _doses(dose)
    equivalent = doses.to_numpy() * _factors(drug, doses.index)
    if pulse_min_mg is not None:
        pulses = np.flatnonzero(equivalent >= pulse_min_mg)
        if len(pulses):
            raise ValueError(
                f"dose(s) at position(s) {pulses[:10].tolist()} reach {pulse_min_mg:g} mg prednisone "
                f"equivalent ({equivalent[pulses[:10]].tolist()}): pulses are not daily doses; "
                "use split_pulses() to keep them apart")
    if not vector:
        return float(equivalent[0])
    return pd.Series(equivalent, index=doses.index, name="prednisone_equivalent_mg")


@dataclass(frozen=True)
class SteroidDoses:
    """Result of :func:`split_pulses` (all Series aligned with the doses).

    daily_mg : prednisone-equivalent daily dose; NaN on pulse rows (a pulse says nothing about the
        daily dose). pulse_mg : prednisone-equivalent pulse dose; 0 on daily rows.
    is_pulse : which rows were pulses (flagged, or at/above ``pulse_min_mg``).
    """
    daily_mg: pd.Series
    pulse_mg: pd.Series
    is_pulse: pd.Series


def split_pulses(dose, drug, *, pulse=None, pulse_min_mg: float | None = PULSE_MIN_MG) -> SteroidDoses:
    """Convert doses to prednisone equivalents and separate pulses from daily doses.

    A row is a pulse when ``pulse`` flags it (e.g. the extract's route/pulse field) or when its
    prednisone equivalent reaches ``pulse_min_mg`` (default 250 mg, Buttgereit 2002; None = flags only).
    """
    doses, _ = _doses(dose)
    equivalent = doses.to_numpy() * _factors(drug, doses.index)
    if pulse is None:
        flagged = np.zeros(len(doses), dtype=bool)
    else:
        flags, _ = _as_series(pulse, "pulse")
        if len(flags) != len(doses):
            raise ValueError(f"pulse has {len(flags)} values but dose has {len(doses)}")
        if flags.isna().any() or not pd.api.types.is_bool_dtype(flags.dtype):
            raise TypeError("pulse must be True/False for every dose (no missing values)")
        flagged = flags.to_numpy(dtype=bool)
    is_pulse = flagged.copy()
    if pulse_min_mg is not None:
        is_pulse |= equivalent >= pulse_min_mg
    index = doses.index
    return SteroidDoses(
        daily_mg=pd.Series(np.where(is_pulse, np.nan, equivalent), index=index, name="daily_mg"),
        pulse_mg=pd.Series(np.where(is_pulse, equivalent, 0.0), index=index, name="pulse_mg"),
        is_pulse=pd.Series(is_pulse, index=index, name="is_pulse"),
    )
