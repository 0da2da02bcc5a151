"""Who is eligible (Wen 2019, section 2.1), with a CONSORT-style attrition table.

>>> from msc_sle import load_cohort, apply_eligibility
>>> eligible = apply_eligibility(load_cohort())     # doctest: +SKIP
>>> eligible.attrition                               # CONSORT-style flow  # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from ..contract import Cohort, DataError, Problem, ids_in
from .sledai import sledai2k_total
from .visits import BASELINE_MONTH

__all__ = ["Criterion", "EligibilityResult", "EligibilityThresholds", "PAPER_ELIGIBILITY", "paper_criteria",
           "apply_eligibility", "baseline_sledai"]

_PAPER = "Wen L et al. Stem Cells Int 2019:6157612"


@dataclass(frozen=True)
class EligibilityThresholds:
    """The thresholds of the eligibility criteria (Wen 2019, section 2.1); None or False drops one.

    min_age_exclusive : age at MSC treatment must be > this ("adult patients (age > 18 years)").
    min_acr_criteria : at least this many of the 11 ACR 1997 criteria ("at least 4 of 11").
    require_refractory : refractory to previous treatment (definition in section 2.1).
    min_baseline_sledai : SLEDAI >= this at baseline, computed from the month-0 descriptors
        (the recorded total is not trusted; see :func:`msc_sle.clinical.sledai2k`).
    infusion_start, infusion_end : first infusion within this window, both days included
        ("between March 2007 and December 2013").
    min_follow_up_months : follow-up after treatment >= this ("at least one-year follow-up").
    """
    min_age_exclusive: float | None = 18
    min_acr_criteria: int | None = 4
    require_refractory: bool = True
    min_baseline_sledai: int | None = 8
    infusion_start: str | None = "2007-03-01"
    infusion_end: str | None = "2013-12-31"
    min_follow_up_months: float | None = 12

    def __post_init__(self):
        for name in ("min_age_exclusive", "min_acr_criteria", "min_baseline_sledai", "min_follow_up_months"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not np.isfinite(value) or value < 0):
                raise ValueError(f"{name} must be a non-negative number or None, got {value!r}")
        if not isinstance(self.require_refractory, (bool, np.bool_)):
            raise TypeError(f"require_refractory must be True or False, got {self.require_refractory!r}")


#: The paper's thresholds (section 2.1): the one place they are written.
PAPER_ELIGIBILITY = EligibilityThresholds()


@dataclass(frozen=True)
class Criterion:
    """One eligibility criterion.

    name : short identifier (the attrition table's ``criterion``).
    description : the rule in words, with its threshold.
    source : where the rule comes from.
    predicate : ``predicate(cohort) -> Series`` aligned with ``cohort.patients``: True = meets the
        criterion, False = excluded, <NA> = the data needed is missing (excluded too, as ``missing``).
    missing : wording of the exclusion reason when the data is missing.
    fails : wording of the exclusion reason when the criterion is not met, as a clinician says it
        ("age 18 years or younger"; default "not <description>"): the flow diagram and the reasons
        table print it, and a negated threshold ("not age > 18 years") reads as a puzzle.
    """
    name: str
    description: str
    source: str
    predicate: Callable[[Cohort], pd.Series]
    missing: str = ""
    fails: str = ""

    def __post_init__(self):
        if not callable(self.predicate):
            raise TypeError(f"criterion {self.name!r}: predicate must be callable")
        if not self.missing:
            object.__setattr__(self, "missing", f"{self.name}: data missing")
        if not self.fails:
            object.__setattr__(self, "fails", f"not {self.description}")

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
    total = sledai2k_total(base)
    by_patient = pd.Series(total.to_numpy(), index=pd.Index(ids.to_numpy(dtype=object)), dtype="Int64")
    out = by_patient.reindex(cohort.patients["patient_id"].to_numpy(dtype=object))
    return pd.Series(out.to_numpy(), index=cohort.patients.index, dtype="Int64", name="sledai_m0")


def paper_criteria(**thresholds) -> list[Criterion]:
    """The eligibility criteria of section 2.1 of the paper, in its order.

    ``thresholds`` change fields of :data:`PAPER_ELIGIBILITY` (see :class:`EligibilityThresholds`;
    None or False drops a criterion), e.g. ``paper_criteria(min_age_exclusive=16)``.
    """
    unknown = sorted(set(thresholds) - {f.name for f in dataclasses.fields(EligibilityThresholds)})
    if unknown:
        raise TypeError(f"unknown eligibility threshold(s) {unknown}; valid: "
                        f"{[f.name for f in dataclasses.fields(EligibilityThresholds)]}")
    t = dataclasses.replace(PAPER_ELIGIBILITY, **thresholds)
    min_age_exclusive, min_acr_criteria = t.min_age_exclusive, t.min_acr_criteria
    require_refractory, min_baseline_sledai = t.require_refractory, t.min_baseline_sledai
    infusion_start, infusion_end, min_follow_up_months = t.infusion_start, t.infusion_end, t.min_follow_up_months
    criteria = []
    if min_age_exclusive is not None:
        criteria.append(Criterion(
            "adult", f"age > {min_age_exclusive:g} years at first MSC infusion", _PAPER + ", section 2.1",
            lambda c: _known(_column(c, "age_years"), _column(c, "age_years") > min_age_exclusive),
            "age missing", f"age {min_age_exclusive:g} years or younger at first MSC infusion"))
    if min_acr_criteria is not None:
        criteria.append(Criterion(
            "acr_criteria", f">= {min_acr_criteria} of the 11 ACR 1997 criteria",
            _PAPER + ", section 2.1 (Hochberg 1997 revision of the ACR criteria)",
            lambda c: _known(_column(c, "acr_criteria_count"), _column(c, "acr_criteria_count") >= min_acr_criteria),
            "ACR criteria count missing", f"fewer than {min_acr_criteria} of the 11 ACR 1997 criteria"))
    if require_refractory:
        criteria.append(Criterion(
            "refractory", "refractory to previous treatment (CYC >= 6 months, MMF/LEF >= 3 months, "
            "or prednisone >= 20 mg/day continued)", _PAPER + ", section 2.1",
            lambda c: _column(c, "refractory").astype("boolean"),
            "refractoriness missing", "not refractory to previous treatment"))
    if min_baseline_sledai is not None:
        criteria.append(Criterion(
            "baseline_sledai", f"SLEDAI-2K >= {min_baseline_sledai:g} at baseline (month 0 descriptors)",
            _PAPER + ", section 2.1; SLEDAI-2K: Gladman 2002",
            lambda c: _at_least(baseline_sledai(c), min_baseline_sledai),
            "baseline SLEDAI missing", f"SLEDAI-2K below {min_baseline_sledai:g} at baseline"))
    if infusion_start is not None or infusion_end is not None:
        start = pd.Timestamp(infusion_start) if infusion_start is not None else None
        end = pd.Timestamp(infusion_end) if infusion_end is not None else None
        if start is not None and end is not None and end < start:
            raise ValueError(f"infusion_end {end.date()} is before infusion_start {start.date()}")
        words = " and ".join(filter(None, [f"on or after {start.date()}" if start is not None else "",
                                           f"on or before {end.date()}" if end is not None else ""]))
        outside = " or ".join(filter(None, [f"before {start.date()}" if start is not None else "",
                                            f"after {end.date()}" if end is not None else ""]))

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
                                  _PAPER + ", section 2.1", in_window, "first infusion date missing",
                                  f"first MSC infusion {outside}"))
    if min_follow_up_months is not None:
        criteria.append(Criterion(
            "follow_up", f"follow-up >= {min_follow_up_months:g} months after the first infusion",
            _PAPER + ", section 2.1",
            lambda c: _known(_column(c, "follow_up_months"), _column(c, "follow_up_months") >= min_follow_up_months),
            "follow-up missing", f"follow-up shorter than {min_follow_up_months:g} months after the first infusion"))
    return criteria


@dataclass(frozen=True)
class EligibilityResult:
    """Result of :func:`apply_eligibility`.

    cohort : the eligible patients and their visits (indexes reset).
    attrition : one row per step, for a CONSORT-style flow: ``criterion``, ``description``,
        ``exclusion`` (the reason in words, :attr:`Criterion.fails`), ``excluded`` (by this criterion,
        among those still in), ``missing`` (of those, excluded
        because the data was missing), ``remaining``. The first row is ``screened``.
    excluded : ``patient_id``, ``criterion`` (the first one that excluded the patient), ``reason``;
        in the criteria's order (then the extract's), so a count per criterion keeps the paper's order.
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
    rows = [{"criterion": "screened", "description": "patients in the extract", "exclusion": "", "excluded": pd.NA,
             "missing": pd.NA, "remaining": n}]
    for k, criterion in enumerate(criteria):
        result = criterion.evaluate(cohort)
        missing = result.isna().to_numpy()
        fails = missing | ~result.to_numpy(dtype=bool, na_value=False)
        newly = still_in & fails
        first_failed[newly] = k
        reason[newly & missing] = criterion.missing
        reason[newly & ~missing] = criterion.fails
        still_in &= ~fails
        rows.append({"criterion": criterion.name, "description": criterion.description, "exclusion": criterion.fails,
                     "excluded": int(newly.sum()), "missing": int((newly & missing).sum()),
                     "remaining": int(still_in.sum())})
    attrition = pd.DataFrame(rows).astype({"criterion": "string", "description": "string",
                                           "exclusion": "string", "excluded": "Int64", "missing": "Int64",
                                           "remaining": "Int64"})
    out = np.flatnonzero(~still_in)
    out = out[np.argsort(first_failed[out], kind="stable")]
    excluded = pd.DataFrame({
        "patient_id": patients["patient_id"].to_numpy()[out],
        "criterion": [names[k] for k in first_failed[out]],
        "reason": reason[out],
    }).astype({"patient_id": "string", "criterion": "string", "reason": "string"})
    kept_ids = patients["patient_id"][still_in]
    eligible = dataclasses.replace(
        cohort,
        patients=patients[still_in].reset_index(drop=True),
        visits=cohort.visits[ids_in(cohort.visits["patient_id"], kept_ids)].reset_index(drop=True),
        notes=tuple(cohort.notes) + (f"eligibility: {int(still_in.sum())} of {n} patients kept "
                                     f"({', '.join(names) or 'no criteria'})",))
    return EligibilityResult(eligible, attrition, excluded, criteria)
