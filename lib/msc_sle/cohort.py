"""Who is eligible (Wen 2019, section 2.1), and the one-row-per-patient analysis frame.

>>> from msc_sle import load_cohort, apply_eligibility, analysis_frame
>>> eligible = apply_eligibility(load_cohort())     # doctest: +SKIP
>>> eligible.attrition                               # CONSORT-style flow  # doctest: +SKIP
>>> frame = analysis_frame(eligible.cohort)          # Table 1 / Table 2 input  # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from .data import Cohort, DataError, Problem, dtype_for, load_dictionary
from .outcomes import BASELINE_MONTH, ResponseDefinition, get_definition, classify_response
from .outcomes import FOLLOW_UP_MONTHS, _patient_positions, _visit_grid, _visit_slots
from .sledai import sledai2k

__all__ = ["Criterion", "EligibilityResult", "paper_criteria", "apply_eligibility", "analysis_frame"]

_PAPER = "Wen L et al. Stem Cells Int 2019:6157612"


@dataclass(frozen=True)
class Criterion:
    """One eligibility criterion.

    name : short identifier (the attrition table's ``criterion``).
    description : the rule in words, with its threshold.
    source : where the rule comes from.
    predicate : ``predicate(cohort) -> Series`` aligned with ``cohort.patients``: True = meets the
        criterion, False = excluded, <NA> = the data needed is missing (excluded too, as ``missing``).
    missing : wording of the exclusion reason when the data is missing.
    """
    name: str
    description: str
    source: str
    predicate: Callable[[Cohort], pd.Series]
    missing: str = ""

    def __post_init__(self):
        if not callable(self.predicate):
            raise TypeError(f"criterion {self.name!r}: predicate must be callable")
        if not self.missing:
            object.__setattr__(self, "missing", f"{self.name}: data missing")

    def evaluate(self, cohort: Cohort) -> pd.Series:
        """The predicate's result as a nullable boolean Series aligned with ``cohort.patients``."""
        result = self.predicate(cohort)
        if not isinstance(result, pd.Series) or len(result) != len(cohort.patients) \
                or not result.index.equals(cohort.patients.index):
            raise ValueError(f"criterion {self.name!r}: predicate must return a Series aligned with "
                             "cohort.patients")
        if not (pd.api.types.is_bool_dtype(result.dtype) or result.isna().all()):
            raise TypeError(f"criterion {self.name!r}: predicate must return booleans, got {result.dtype}")
        return result.astype("boolean")


def _column(cohort: Cohort, name: str) -> pd.Series:
    if name not in cohort.patients.columns:
        raise DataError([Problem("patients", None, name, None, "column is missing (needed for eligibility)")])
    return cohort.patients[name]


def _known(values: pd.Series, test: pd.Series) -> pd.Series:
    """``test`` as nullable boolean, <NA> where ``values`` is missing (never silently excluded as False)."""
    out = test.astype("boolean")
    out[values.isna().to_numpy()] = pd.NA
    return out


def _at_least(values: pd.Series, threshold) -> pd.Series:
    return _known(values, values >= threshold)


def baseline_sledai(cohort: Cohort) -> pd.Series:
    """SLEDAI-2K at month 0 computed from the descriptors, per patient (Int64, aligned with patients)."""
    visits = cohort.visits
    if "month" not in visits.columns or "patient_id" not in visits.columns:
        raise DataError([Problem("visits", None, "patient_id, month", None, "column is missing")])
    base = visits[(visits["month"] == BASELINE_MONTH).fillna(False).to_numpy(dtype=bool)]
    ids = base["patient_id"]
    if ids.duplicated().any():
        raise DataError([Problem("visits", None, "patient_id", d, "more than one baseline (month 0) visit")
                         for d in ids[ids.duplicated()].unique()[:10]])
    total = sledai2k(base).scores["total"]
    by_patient = pd.Series(total.to_numpy(), index=pd.Index(ids.to_numpy(dtype=object)), dtype="Int64")
    out = by_patient.reindex(cohort.patients["patient_id"].to_numpy(dtype=object))
    return pd.Series(out.to_numpy(), index=cohort.patients.index, dtype="Int64", name="sledai_m0")


def paper_criteria(min_age_exclusive: float | None = 18, min_acr_criteria: int | None = 4,
                   require_refractory: bool = True, min_baseline_sledai: int | None = 8,
                   infusion_start="2007-03-01", infusion_end="2013-12-31",
                   min_follow_up_months: float | None = 12) -> list[Criterion]:
    """The eligibility criteria of section 2.1 of the paper, in its order.

    Parameters (defaults: Wen 2019, section 2.1; None or False drops the criterion)
    ----------
    min_age_exclusive : age at MSC treatment must be > this ("adult patients (age > 18 years)").
    min_acr_criteria : at least this many of the 11 ACR 1997 criteria ("at least 4 of 11").
    require_refractory : refractory to previous treatment (definition in section 2.1).
    min_baseline_sledai : SLEDAI >= this at baseline, computed from the month-0 descriptors
        (the recorded total is not trusted; see :func:`msc_sle.sledai.sledai2k`).
    infusion_start, infusion_end : first infusion within this window, both days included
        ("between March 2007 and December 2013").
    min_follow_up_months : follow-up after treatment >= this ("at least one-year follow-up").
    """
    for name, value in (("min_age_exclusive", min_age_exclusive), ("min_acr_criteria", min_acr_criteria),
                        ("min_baseline_sledai", min_baseline_sledai), ("min_follow_up_months", min_follow_up_months)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not np.isfinite(value) or value < 0):
            raise ValueError(f"{name} must be a non-negative number or None, got {value!r}")
    if not isinstance(require_refractory, (bool, np.bool_)):
        raise TypeError(f"require_refractory must be True or False, got {require_refractory!r}")
    criteria = []
    if min_age_exclusive is not None:
        criteria.append(Criterion(
            "adult", f"age > {min_age_exclusive:g} years at first MSC infusion", _PAPER + ", section 2.1",
            lambda c: _known(_column(c, "age_years"), _column(c, "age_years") > min_age_exclusive),
            "age missing"))
    if min_acr_criteria is not None:
        criteria.append(Criterion(
            "acr_criteria", f">= {min_acr_criteria} of the 11 ACR 1997 criteria",
            _PAPER + ", section 2.1 (Hochberg 1997 revision of the ACR criteria)",
            lambda c: _known(_column(c, "acr_criteria_count"), _column(c, "acr_criteria_count") >= min_acr_criteria),
            "ACR criteria count missing"))
    if require_refractory:
        criteria.append(Criterion(
            "refractory", "refractory to previous treatment (CYC >= 6 months, MMF/LEF >= 3 months, "
            "or prednisone >= 20 mg/day continued)", _PAPER + ", section 2.1",
            lambda c: _column(c, "refractory").astype("boolean"),
            "refractoriness missing"))
    if min_baseline_sledai is not None:
        criteria.append(Criterion(
            "baseline_sledai", f"SLEDAI-2K >= {min_baseline_sledai:g} at baseline (month 0 descriptors)",
            _PAPER + ", section 2.1; SLEDAI-2K: Gladman 2002",
            lambda c: _at_least(baseline_sledai(c), min_baseline_sledai),
            "baseline SLEDAI missing"))
    if infusion_start is not None or infusion_end is not None:
        start = pd.Timestamp(infusion_start) if infusion_start is not None else None
        end = pd.Timestamp(infusion_end) if infusion_end is not None else None
        if start is not None and end is not None and end < start:
            raise ValueError(f"infusion_end {end.date()} is before infusion_start {start.date()}")
        words = " and ".join(filter(None, [f"on or after {start.date()}" if start is not None else "",
                                           f"on or before {end.date()}" if end is not None else ""]))

        def in_window(c, start=start, end=end):
            dates = _column(c, "first_infusion_date")
            if not pd.api.types.is_datetime64_any_dtype(dates.dtype):
                raise DataError([Problem("patients", None, "first_infusion_date", None,
                                         f"must be a date column (got {dates.dtype})")])
            day = dates.dt.normalize()
            ok = pd.Series(True, index=dates.index)
            if start is not None:
                ok &= day >= start
            if end is not None:
                ok &= day <= end
            return _known(dates, ok)
        criteria.append(Criterion("infusion_window", f"first MSC infusion {words}",
                                  _PAPER + ", section 2.1", in_window, "first infusion date missing"))
    if min_follow_up_months is not None:
        criteria.append(Criterion(
            "follow_up", f"follow-up >= {min_follow_up_months:g} months after the first infusion",
            _PAPER + ", section 2.1",
            lambda c: _known(_column(c, "follow_up_months"), _column(c, "follow_up_months") >= min_follow_up_months),
            "follow-up missing"))
    return criteria


@dataclass(frozen=True)
class EligibilityResult:
    """Result of :func:`apply_eligibility`.

    cohort : the eligible patients and their visits (indexes reset).
    attrition : one row per step, for a CONSORT-style flow: ``criterion``, ``description``,
        ``excluded`` (by this criterion, among those still in), ``missing`` (of those, excluded
        because the data was missing), ``remaining``. The first row is ``screened``.
    excluded : ``patient_id``, ``criterion`` (the first one that excluded the patient), ``reason``.
    criteria : the criteria applied, in order.
    """
    cohort: Cohort
    attrition: pd.DataFrame
    excluded: pd.DataFrame
    criteria: tuple[Criterion, ...]


def apply_eligibility(cohort: Cohort, criteria=None) -> EligibilityResult:
    """Apply eligibility criteria in order; each patient is counted under the first one failed.

    ``criteria`` defaults to :func:`paper_criteria` (section 2.1). A patient whose data for a
    criterion is missing is excluded by it (the attrition's ``missing`` column and the
    ``excluded`` table's ``reason`` say so): eligibility must be shown, not assumed.
    """
    if not isinstance(cohort, Cohort):
        raise TypeError(f"apply_eligibility needs a Cohort, got {type(cohort).__name__}")
    criteria = tuple(paper_criteria() if criteria is None else criteria)
    bad = [c for c in criteria if not isinstance(c, Criterion)]
    if bad:
        raise TypeError(f"criteria must be Criterion objects, got {bad[:3]}")
    names = [c.name for c in criteria]
    if len(set(names)) != len(names):
        raise ValueError(f"criterion names must be distinct, got {names}")
    patients = cohort.patients
    n = len(patients)
    still_in = np.ones(n, dtype=bool)
    first_failed = np.full(n, -1, dtype=np.int64)
    reason = np.full(n, None, dtype=object)
    rows = [{"criterion": "screened", "description": "patients in the extract", "excluded": pd.NA,
             "missing": pd.NA, "remaining": n}]
    for k, criterion in enumerate(criteria):
        result = criterion.evaluate(cohort)
        missing = result.isna().to_numpy()
        fails = missing | ~result.to_numpy(dtype=bool, na_value=False)
        newly = still_in & fails
        first_failed[newly] = k
        reason[newly & missing] = criterion.missing
        reason[newly & ~missing] = f"not {criterion.description}"
        still_in &= ~fails
        rows.append({"criterion": criterion.name, "description": criterion.description,
                     "excluded": int(newly.sum()), "missing": int((newly & missing).sum()),
                     "remaining": int(still_in.sum())})
    attrition = pd.DataFrame(rows).astype({"criterion": "string", "description": "string",
                                           "excluded": "Int64", "missing": "Int64", "remaining": "Int64"})
    out = ~still_in
    excluded = pd.DataFrame({
        "patient_id": patients["patient_id"].to_numpy()[out],
        "criterion": [names[k] for k in first_failed[out]],
        "reason": reason[out],
    }).astype({"patient_id": "string", "criterion": "string", "reason": "string"})
    kept_ids = patients["patient_id"][still_in]
    eligible = dataclasses.replace(
        cohort,
        patients=patients[still_in].reset_index(drop=True),
        visits=cohort.visits[cohort.visits["patient_id"].isin(kept_ids)].reset_index(drop=True),
        notes=tuple(cohort.notes) + (f"eligibility: {int(still_in.sum())} of {n} patients kept "
                                     f"({', '.join(names) or 'no criteria'})",))
    return EligibilityResult(eligible, attrition, excluded, criteria)


# ---------------------------------------------------------------------------------------------
# The analysis frame

def _split_levels(name: str, cut: float) -> list[str]:
    """Levels of a derived "<X" / ">=X" split from the dictionary's ``allowed``, at cut ``cut``.

    The dictionary holds the paper's labels (e.g. "<20|>=20", "<1.2 g|>=1.2 g"); another cut keeps
    their wording with the number replaced, so a "what if" split is labelled truthfully.
    """
    d = load_dictionary()
    row = d[(d["table"] == "derived") & (d["name"] == name)]
    if row.empty:
        raise KeyError(f"{name!r} is not a derived variable of the data dictionary")
    levels = row.iloc[0]["allowed"].split("|")
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


def analysis_frame(cohort: Cohort, definitions=("paper_cr", "paper_lda"), prednisone_cut: float = 20.0,
                   cyc_dose_cut: float = 1.2) -> pd.DataFrame:
    """One row per patient: the patient columns plus the dictionary's ``derived`` variables.

    Apply :func:`apply_eligibility` first; this function keeps every patient it is given.

    Parameters
    ----------
    definitions : response definitions (names, aliases or objects) giving ``<prefix>_ever`` and
        ``<prefix>_m12`` columns; the prefix is "cr" / "lda" for the paper's definitions, the
        definition's name otherwise. A dict ``{prefix: definition}`` names the columns itself.
    prednisone_cut : baseline prednisone split, mg/day; a dose equal to the cut goes to the high
        group (data/README.md, reading 1: Table 2's counts and Table 1's median of 20 mg agree only
        so; it is also the 20 mg/day refractoriness threshold of section 2.1).
    cyc_dose_cut : CYC induction dose split among induced patients, g; the dose equal to the cut
        goes to the high group (section 3.2: median induction dose 1.2 g; Table 2 prints "<1.2 / >=1.2 g").

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
    d = load_dictionary()
    derived = d[d["table"] == "derived"].set_index("name")

    # SLEDAI-2K per scheduled month, scattered into a patient x month grid (no per-patient loop).
    visits = cohort.visits
    slots, months = _visit_slots(visits, FOLLOW_UP_MONTHS)
    ids, positions, grouped = _patient_positions(patients["patient_id"], visits["patient_id"])
    grid = _visit_grid(positions, slots, len(patients), len(months), ids, months, grouped)
    total = sledai2k(visits).scores["total"]
    values = total.to_numpy(dtype=np.int64, na_value=0)
    missing = total.isna().to_numpy()
    for j, m in enumerate(months):
        name = f"sledai_m{m}"
        if name not in derived.index:
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
    for name, row in derived.iterrows():
        if name in frame.columns and row["type"] != "category":
            frame[name] = frame[name].astype(dtype_for(row))
    return frame
