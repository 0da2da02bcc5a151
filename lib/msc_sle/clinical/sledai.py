"""SLEDAI-2K scoring: what is the disease activity at each visit?

The Systemic Lupus Erythematosus Disease Activity Index 2000 (Gladman DD, Ibanez D, Urowitz MB.
J Rheumatol 2002;29:288-91) keeps the 24 descriptors and weights of the 1992 SLEDAI (Bombardier C
et al. Arthritis Rheum 1992;35:630-40) but also scores persistent rash, alopecia, mucosal ulcers
and proteinuria. A descriptor counts when present at the visit or in the 10 days before it; the
total is the sum of the weights of the descriptors present (0-105).

>>> from msc_sle import load_cohort, sledai2k
>>> result = sledai2k(load_cohort().visits)      # doctest: +SKIP
>>> result.scores[["total", "clinical", "renal"]]  # doctest: +SKIP
>>> result.mismatches                             # recorded totals that disagree  # doctest: +SKIP
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from ..contract import DataError, Problem

__all__ = ["SLEDAI2K_WEIGHTS", "SLEDAI2K_DOMAINS", "SEROLOGY", "MAJOR_ORGAN_DESCRIPTORS",
           "CVA_DOMAINS", "sledai2k_domains", "sledai2k", "SledaiResult", "descriptor_arrays", "score_arrays",
           "sledai2k_total", "recorded_total_mismatches"]

#: Weight of each SLEDAI-2K descriptor, in the order of the instrument (Gladman 2002, table 1).
#: Keys are the visit column names of ``data/dictionary.csv``.
SLEDAI2K_WEIGHTS = MappingProxyType({
    "seizure": 8, "psychosis": 8, "organic_brain_syndrome": 8, "visual_disturbance": 8,
    "cranial_nerve_disorder": 8, "lupus_headache": 8, "cva": 8, "vasculitis": 8,
    "arthritis": 4, "myositis": 4,
    "urinary_casts": 4, "hematuria": 4, "proteinuria": 4, "pyuria": 4,
    "rash": 2, "alopecia": 2, "mucosal_ulcers": 2,
    "pleurisy": 2, "pericarditis": 2,
    "low_complement": 2, "increased_dna_binding": 2,
    "fever": 1,
    "thrombocytopenia": 1, "leukopenia": 1,
})

_DOMAINS_WITHOUT_CVA = (
    ("CNS", ("seizure", "psychosis", "organic_brain_syndrome", "visual_disturbance",
             "cranial_nerve_disorder", "lupus_headache")),
    ("vascular", ("vasculitis",)),
    ("musculoskeletal", ("arthritis", "myositis")),
    ("renal", ("urinary_casts", "hematuria", "proteinuria", "pyuria")),
    ("mucocutaneous", ("rash", "alopecia", "mucosal_ulcers")),
    ("serosal", ("pleurisy", "pericarditis")),
    ("immunological", ("low_complement", "increased_dna_binding")),
    ("constitutional", ("fever",)),
    ("haematological", ("thrombocytopenia", "leukopenia")),
)

#: Domains ``cva`` may be filed under: the instrument lists it with the CNS items, some analyses
#: count it as vascular (clinical-definitions reference, SLEDAI-2K table).
CVA_DOMAINS = ("CNS", "vascular")

#: Serological descriptors; "clinical SLEDAI" (as used by DORIS 2021) is SLEDAI-2K without them.
SEROLOGY = ("low_complement", "increased_dna_binding")

#: "Major organ activity" in SLEDAI-2K terms, LLDAS reading (Franklyn K et al. Ann Rheum Dis
#: 2016;75:1615-21): any CNS item or cva, vasculitis, any renal item, pleurisy or pericarditis,
#: fever. The paper (section 2.4) does not define major organ activity; this is the default of the
#: ``major_organ`` parameter of the response definitions.
MAJOR_ORGAN_DESCRIPTORS = (
    "seizure", "psychosis", "organic_brain_syndrome", "visual_disturbance", "cranial_nerve_disorder",
    "lupus_headache", "cva", "vasculitis", "urinary_casts", "hematuria", "proteinuria", "pyuria",
    "pleurisy", "pericarditis", "fever",
)


def sledai2k_domains(cva_domain: str = "CNS") -> MappingProxyType:
    """Organ domain -> its SLEDAI-2K descriptors, with ``cva`` filed under ``cva_domain``.

    ``cva_domain`` is "CNS" (the instrument's grouping, Gladman 2002) or "vascular".
    """
    if cva_domain not in CVA_DOMAINS:
        raise ValueError(f"cva_domain must be one of {CVA_DOMAINS}, got {cva_domain!r}")
    return MappingProxyType({name: items + ("cva",) if name == cva_domain else items
                             for name, items in _DOMAINS_WITHOUT_CVA})


#: The default domain grouping (cva under CNS, as in the instrument).
SLEDAI2K_DOMAINS = sledai2k_domains("CNS")


@dataclass(frozen=True)
class SledaiResult:
    """Result of :func:`sledai2k`.

    scores : DataFrame aligned with the visits' index: ``total`` (0-105), ``clinical`` (total without
        serology, 0-101), then one subtotal per organ domain (``sledai2k_domains(cva_domain)``), all
        ``Int64``. A score is missing when one of the descriptors it sums is missing.
    mismatches : visits whose recorded ``sledai_total`` differs from the descriptors
        (patient_id, month, recorded, computed); empty when nothing was recorded or all agree.
    cva_domain : the domain ``cva`` was counted in.
    """
    scores: pd.DataFrame
    mismatches: pd.DataFrame
    cva_domain: str = "CNS"


def descriptor_arrays(visits: pd.DataFrame, names=None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The SLEDAI-2K descriptors of ``visits`` as numpy arrays: descriptor -> (present, missing).

    Checks columns and dtypes.

    Only booleans are accepted (bool, nullable "boolean", or object columns holding True/False and
    missing values): a 0/1 or "yes" column is a contract problem for the loader, not guessed here.
    """
    if not isinstance(visits, pd.DataFrame):
        raise TypeError(f"visits must be a pandas DataFrame, got {type(visits).__name__}")
    names = list(SLEDAI2K_WEIGHTS) if names is None else list(names)
    problems = [Problem("visits", None, n, None, "SLEDAI-2K descriptor column is missing")
                for n in names if n not in visits.columns]
    arrays = {}
    for name in names:
        if name not in visits.columns:
            continue
        col = visits[name]
        if col.dtype == bool or isinstance(col.dtype, pd.BooleanDtype):
            pass
        elif col.dtype == object and col.dropna().map(lambda v: isinstance(v, (bool, np.bool_))).all():
            col = col.astype("boolean")
        else:
            bad = col.dropna()
            value = bad.iloc[0] if len(bad) else None
            problems.append(Problem("visits", None, name, value,
                                    f"SLEDAI-2K descriptor must be boolean (got dtype {col.dtype})"))
            continue
        missing = col.isna().to_numpy()
        present = col.to_numpy(dtype=bool, na_value=False)
        arrays[name] = (present, missing)
    if problems:
        raise DataError(problems)
    return arrays


def _score(arrays, names) -> tuple[np.ndarray, np.ndarray]:
    """(sum of weights present, missing if any descriptor missing) over ``names``.

    Sums in uint8 (the maximum, 105, fits) to keep memory traffic low at registry scale.
    """
    n = len(next(iter(arrays.values()))[0]) if arrays else 0
    total = np.zeros(n, dtype=np.uint8)
    missing = np.zeros(n, dtype=bool)
    for name in names:
        present, miss = arrays[name]
        total += present.view(np.uint8) * np.uint8(SLEDAI2K_WEIGHTS[name])
        missing |= miss
    return total, missing


def score_arrays(arrays, cva_domain: str = "CNS"):
    """Scores from :func:`descriptor_arrays`: name -> (uint8 values, missing) for ``total``,
    ``clinical`` and each organ domain; each descriptor is read once (the response rules score
    millions of visits through this, without building a DataFrame)."""
    out = {}
    for domain, names in sledai2k_domains(cva_domain).items():
        out[domain] = _score(arrays, names)
    total = np.zeros_like(out["CNS"][0])
    total_missing = np.zeros_like(out["CNS"][1])
    clinical_missing = np.zeros_like(total_missing)
    for domain, (values, missing) in out.items():
        total += values
        total_missing |= missing
        if domain != "immunological":
            clinical_missing |= missing
    clinical = total - out["immunological"][0]
    return {"total": (total, total_missing), "clinical": (clinical, clinical_missing), **out}


def _int_array(values: np.ndarray, missing: np.ndarray) -> pd.arrays.IntegerArray:
    return pd.arrays.IntegerArray(values.astype(np.int64), missing)


def sledai2k(visits: pd.DataFrame, cva_domain: str = "CNS") -> SledaiResult:
    """SLEDAI-2K total, clinical SLEDAI and organ-domain subtotals of each visit.

    Parameters
    ----------
    visits : DataFrame with the 24 descriptor columns of ``SLEDAI2K_WEIGHTS`` (booleans; missing
        allowed). If it holds a recorded ``sledai_total`` (with ``patient_id`` and ``month``), the
        visits where the recorded total differs from the descriptors are reported in
        ``mismatches``; the recorded value is never used in place of the computed one.
    cva_domain : "CNS" (default, the instrument's grouping, Gladman 2002) or "vascular" (some
        analyses). Only the domain subtotals change; the total does not.

    Returns
    -------
    SledaiResult with ``scores`` (aligned with ``visits.index``) and ``mismatches``.

    Missing descriptors give a missing total (never a silent 0): a visit where, say, complement was
    not measured cannot be said to score below a threshold. The clinical SLEDAI does not need the
    serological descriptors, so it stays known when only serology is missing.
    """
    sledai2k_domains(cva_domain)  # validates cva_domain before any work
    scored = score_arrays(descriptor_arrays(visits), cva_domain)
    scores = pd.DataFrame({name: _int_array(*value) for name, value in scored.items()},
                          index=visits.index, copy=False)
    total, total_missing = scored["total"]
    return SledaiResult(scores, _mismatches(visits, total.astype(np.int64), total_missing), cva_domain)


def _total(visits: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return _score(descriptor_arrays(visits), list(SLEDAI2K_WEIGHTS))


def sledai2k_total(visits: pd.DataFrame) -> pd.Series:
    """The SLEDAI-2K total of each visit (Int64, aligned with ``visits.index``; missing when a
    descriptor is): :func:`sledai2k`'s ``total`` without the domain subtotals, for the checks that
    need only the total (a registry's five million visits: one sum instead of eleven)."""
    return pd.Series(_int_array(*_total(visits)), index=visits.index, name="total", copy=False)


def recorded_total_mismatches(visits: pd.DataFrame) -> pd.DataFrame:
    """:func:`sledai2k`'s ``mismatches`` (recorded ``sledai_total`` against the descriptors' total)
    without the domain subtotals."""
    total, total_missing = _total(visits)
    return _mismatches(visits, total.astype(np.int64), total_missing)


def _mismatches(visits: pd.DataFrame, total: np.ndarray, total_missing: np.ndarray) -> pd.DataFrame:
    empty = pd.DataFrame({"patient_id": pd.Series(dtype="string"), "month": pd.Series(dtype="Int64"),
                          "recorded": pd.Series(dtype="Int64"), "computed": pd.Series(dtype="Int64")})
    if "sledai_total" not in visits.columns:
        return empty
    need = [c for c in ("patient_id", "month") if c not in visits.columns]
    if need:
        raise DataError([Problem("visits", None, c, None,
                                 "needed to report recorded sledai_total mismatches") for c in need])
    recorded = visits["sledai_total"]
    if not (pd.api.types.is_integer_dtype(recorded.dtype) or recorded.isna().all()):
        raise DataError([Problem("visits", None, "sledai_total", None,
                                 f"recorded SLEDAI-2K total must be an integer column (got {recorded.dtype})")])
    rec_missing = recorded.isna().to_numpy()
    rec = recorded.to_numpy(dtype=np.int64, na_value=0) if not rec_missing.all() else np.zeros(len(recorded), np.int64)
    differs = ~rec_missing & ~total_missing & (rec != total)
    if not differs.any():
        return empty
    out = pd.DataFrame({
        "patient_id": visits["patient_id"].to_numpy()[differs],
        "month": visits["month"].to_numpy()[differs],
        "recorded": rec[differs],
        "computed": total[differs],
    }, index=visits.index[differs])
    return out.astype({"patient_id": "string", "month": "Int64", "recorded": "Int64", "computed": "Int64"})
