"""The one-row-per-patient analysis frame: baseline columns, SLEDAI-2K per visit, the derived
splits of Table 2 and the outcomes (stats-free: the comparisons come one layer up).

>>> from msc_sle import load_cohort, apply_eligibility, analysis_frame
>>> frame = analysis_frame(apply_eligibility(load_cohort()).cohort)   # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd

from ..contract import Cohort, DataError, Problem, as_dictionary, variable, variables
from .outcomes import ResponseDefinition, classify_response, get_definition
from .sledai import sledai2k
from .visits import FOLLOW_UP_MONTHS, visit_grid

__all__ = ["analysis_frame", "sledai_long", "baseline_predictors", "POST_BASELINE", "PREDNISONE_CUT_MG", "CYC_DOSE_CUT_G"]

#: Table 2's baseline prednisone split, mg/day; a dose equal to the cut goes to the high group
#: (data/README.md, reading 1: Table 2's counts and Table 1's median of 20 mg agree only so; it is
#: also the 20 mg/day refractoriness threshold of section 2.1).
PREDNISONE_CUT_MG = 20.0
#: Table 2's CYC induction dose split among induced patients, g (section 3.2: median induction
#: dose 1.2 g; Table 2 prints "<1.2 / >=1.2 g"); the dose equal to the cut goes to the high group.
CYC_DOSE_CUT_G = 1.2
#: Table variables decided after the first infusion, so never baseline predictors: a second
#: infusion was given when the disease was not controlled, or flared, within 30 days of the first
#: (paper section 2.3), i.e. it is an early sign of non-response, not a cause known beforehand.
POST_BASELINE = ("second_infusion",)


def _split_levels(name: str, cut: float) -> list[str]:
    """Levels of a derived "<X" / ">=X" split from the dictionary's ``allowed``, at cut ``cut``.

    The dictionary holds the paper's labels (e.g. "<20|>=20", "<1.2 g|>=1.2 g"); another cut keeps
    their wording with the number replaced, so a "what if" split is labelled truthfully.
    """
    levels = list(variable(name, "derived").levels or ())
    pattern = re.compile(r"^(<|>=)\s*([0-9.]+)(.*)$")
    parsed = [pattern.match(level) for level in levels]
    if len(levels) != 2 or not all(parsed) or [p.group(1) for p in parsed] != ["<", ">="]:
        raise ValueError(f"dictionary levels of {name!r} are not a '<X|>=X' split: {levels}")
    if all(float(p.group(2)) == cut for p in parsed):
        return levels
    return [f"{p.group(1)}{cut:g}{p.group(3)}" for p in parsed]


def _definition_prefix(key, definition: ResponseDefinition) -> str:
    if key is not None:
        return key
    reverse = {"paper_cr": "cr", "paper_lda": "lda"}
    return reverse.get(definition.name, definition.name)


def analysis_frame(cohort: Cohort, definitions=("paper_cr", "paper_lda"),
                   prednisone_cut: float = PREDNISONE_CUT_MG, cyc_dose_cut: float = CYC_DOSE_CUT_G) -> pd.DataFrame:
    """One row per patient: the patient columns plus the dictionary's ``derived`` variables.

    Apply :func:`apply_eligibility` first; this function keeps every patient it is given.

    Parameters
    ----------
    definitions : response definitions (names, aliases or objects) giving ``<prefix>_ever`` and
        ``<prefix>_m12`` columns; the prefix is "cr" / "lda" for the paper's definitions, the
        definition's name otherwise. A dict ``{prefix: definition}`` names the columns itself.
    prednisone_cut : baseline prednisone split, mg/day (default :data:`PREDNISONE_CUT_MG`); a dose
        equal to the cut goes to the high group.
    cyc_dose_cut : CYC induction dose split among induced patients, g (default
        :data:`CYC_DOSE_CUT_G`); the dose equal to the cut goes to the high group.

    Returns
    -------
    DataFrame: patient columns, ``sledai_m0`` ... ``sledai_m12`` (Int64, SLEDAI-2K computed from the
    descriptors; missing visit = <NA>), ``prednisone_dose_group``, ``cyc_induction``,
    ``cyc_induction_dose_group`` (missing for patients without induction), then per definition
    ``<prefix>_ever`` and ``<prefix>_m12`` (boolean).
    """
    if not isinstance(cohort, Cohort):
        raise TypeError(f"analysis_frame needs a Cohort, got {type(cohort).__name__}")
    for name, cut in (("prednisone_cut", prednisone_cut), ("cyc_dose_cut", cyc_dose_cut)):
        if isinstance(cut, bool) or not isinstance(cut, (int, float)) or not np.isfinite(cut) or cut <= 0:
            raise ValueError(f"{name} must be a positive number, got {cut!r}")
    if isinstance(definitions, dict):
        items = [(key, get_definition(d)) for key, d in definitions.items()]
    elif isinstance(definitions, (str, ResponseDefinition)):
        items = [(None, get_definition(definitions))]
    else:
        items = [(None, get_definition(d)) for d in definitions]
    patients = cohort.patients.reset_index(drop=True)
    needed = [c for c in ("patient_id", "baseline_prednisone_mg", "cyc_induction_dose_g") if c not in patients]
    if needed:
        raise DataError([Problem("patients", None, c, None, "column is missing (needed for the analysis frame)")
                         for c in needed])
    prefixes = [_definition_prefix(key, definition) for key, definition in items]
    outcome_columns = [f"{p}_{s}" for p in prefixes for s in ("ever", "m12")]
    clash = sorted(set(outcome_columns) & set(patients.columns))
    if clash or len(set(outcome_columns)) != len(outcome_columns):
        raise ValueError(f"outcome column names must be new and distinct: {outcome_columns} "
                         f"(clash with patient columns: {clash})")
    frame = patients.copy()
    derived = {v.name: v for v in variables("derived")}

    # SLEDAI-2K per scheduled month, scattered into a patient x month grid (no per-patient loop).
    visits = cohort.visits
    aligned = visit_grid(visits, patients["patient_id"], FOLLOW_UP_MONTHS)
    grid, months = aligned.rows, aligned.months
    total = sledai2k(visits).scores["total"]
    values = total.to_numpy(dtype=np.int64, na_value=0)
    missing = total.isna().to_numpy()
    for j, m in enumerate(months):
        name = f"sledai_m{m}"
        if name not in derived:
            raise KeyError(f"{name!r} is not a derived variable of the data dictionary")
        rows = grid[:, j]
        present = rows >= 0
        safe = np.where(present, rows, 0)
        frame[name] = pd.arrays.IntegerArray(np.where(present, values[safe] if len(values) else 0, 0),
                                             ~present | (missing[safe] if len(missing) else True))

    prednisone = frame["baseline_prednisone_mg"].astype("float64")
    low, high = _split_levels("prednisone_dose_group", prednisone_cut)
    frame["prednisone_dose_group"] = pd.Categorical(
        np.where(prednisone.isna(), None, np.where(prednisone < prednisone_cut, low, high)),
        categories=[low, high])
    dose = frame["cyc_induction_dose_g"].astype("float64")
    frame["cyc_induction"] = dose.notna().astype("boolean")
    low, high = _split_levels("cyc_induction_dose_group", cyc_dose_cut)
    frame["cyc_induction_dose_group"] = pd.Categorical(
        np.where(dose.isna(), None, np.where(dose < cyc_dose_cut, low, high)), categories=[low, high])

    cohort_for_outcomes = dataclasses.replace(cohort, patients=patients)
    for key, definition in items:
        prefix = _definition_prefix(key, definition)
        result = classify_response(cohort_for_outcomes, definition).patients
        frame[f"{prefix}_ever"] = result["ever"].to_numpy()
        frame[f"{prefix}_m12"] = result["met_m12"].to_numpy() if "met_m12" in result else pd.NA
        frame[f"{prefix}_ever"] = frame[f"{prefix}_ever"].astype("boolean")
        frame[f"{prefix}_m12"] = frame[f"{prefix}_m12"].astype("boolean")
    # Types of the dictionary's derived variables come from the dictionary (category levels were
    # taken from it above, possibly re-labelled for another cut).
    for name, var in derived.items():
        if name in frame.columns and var.kind != "category":
            frame[name] = frame[name].astype(var.dtype)
    return frame


def sledai_long(frame: pd.DataFrame) -> pd.DataFrame:
    """The ``sledai_m*`` columns of an analysis frame in long form (patient_id, month, sledai)."""
    cols = [c for c in frame.columns if c.startswith("sledai_m") and c[len("sledai_m"):].isdigit()]
    long = frame[["patient_id"] + cols].melt(id_vars="patient_id", var_name="month", value_name="sledai")
    long["month"] = long["month"].str[len("sledai_m"):].astype(int)
    long["sledai"] = long["sledai"].astype("Float64").astype(float)
    return long.sort_values(["patient_id", "month"]).reset_index(drop=True)


def baseline_predictors(dictionary=None) -> tuple[str, ...]:
    """The analysis-frame variables a prognostic model may use as predictors, in dictionary order.

    Every variable of the paper's tables (a dictionary row of the patients or derived table with a
    table ``section``) that is known at the first infusion. Left out: the outcomes (section
    "Outcome"), the follow-up SLEDAI-2K (``sledai_m1`` ... ``sledai_m12``, measured after treatment,
    so part of the response rather than a predictor of it; ``sledai_m0`` stays) and
    :data:`POST_BASELINE` (decided after the first infusion).

    >>> "sledai_m0" in baseline_predictors() and "sledai_m12" not in baseline_predictors()
    True
    """
    d = as_dictionary(dictionary)
    later = {f"sledai_m{m}" for m in FOLLOW_UP_MONTHS} | set(POST_BASELINE)
    return tuple(n for n in dict.fromkeys(v.name for v in d.characteristics()) if n not in later)
