"""Response definitions: who reached LDA / CR / LLDAS / DORIS / a SLEDAI-4 reduction, and when?

Each definition is a named, frozen :class:`ResponseDefinition` whose thresholds are fields with the
published values as defaults, so "what if prednisone <= 10 mg/day were allowed?" is one call:

>>> from msc_sle import load_cohort, apply_eligibility, classify_response, paper_lda
>>> cohort = apply_eligibility(load_cohort()).cohort                               # doctest: +SKIP
>>> classify_response(cohort, "lda").patients["ever"].sum()                        # doctest: +SKIP
>>> classify_response(cohort, paper_lda.with_thresholds(prednisone_max=10))        # doctest: +SKIP

A visit meets a definition only when every criterion is known to hold: a missing visit, or a visit
missing a value the definition needs (a descriptor, the prednisone dose), is never a response.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from ..contract import Cohort, DataError, Problem
from .sledai import MAJOR_ORGAN_DESCRIPTORS, SLEDAI2K_WEIGHTS, descriptor_arrays, score_arrays
from .visits import FOLLOW_UP_MONTHS, visit_grid

__all__ = ["ResponseDefinition", "ResponseResult", "paper_lda", "paper_cr", "lldas", "doris",
           "sledai_reduction", "DEFINITIONS", "DEFINITION_ALIASES",
           "get_definition", "classify_response"]


_THRESHOLDS = ("sledai_max", "prednisone_max", "major_organ", "use_clinical_sledai",
               "require_no_new_activity", "min_reduction")


def _check_number(name, value, allow_zero=True):
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise TypeError(f"{name} must be a number or None, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")


@dataclass(frozen=True)
class ResponseDefinition:
    """A response definition applied visit by visit; every criterion set must hold.

    Parameters
    ----------
    name, label : identifier (``get_definition`` key) and display label.
    sledai_max : the visit's SLEDAI-2K (or clinical SLEDAI) must be <= this; None = not checked.
    prednisone_max : the visit's daily prednisone(-equivalent) dose in mg must be <= this.
    major_organ : SLEDAI-2K descriptors that must all be absent ("no major organ activity");
        empty = not checked. Default reading: :data:`msc_sle.clinical.MAJOR_ORGAN_DESCRIPTORS` (LLDAS).
    use_clinical_sledai : apply ``sledai_max``/``min_reduction`` to clinical SLEDAI (serology excluded).
    require_no_new_activity : no descriptor present that was absent at the patient's previous
        recorded visit (LLDAS criterion 2).
    min_reduction : SLEDAI must have fallen by at least this many points from baseline (month 0).
    source : citation of the definition. caveats : what the data cannot check.
    qualifier : a short phrase that must travel with the label wherever the definition names a
        table or a rate, when the label alone would overstate what was measured ("PGA not
        recorded: criterion not checked" for LLDAS); :attr:`display_label` joins them and
        :meth:`footnotes` gives the source and every caveat as table footnotes.
    """
    name: str
    label: str
    sledai_max: float | None = None
    prednisone_max: float | None = None
    major_organ: tuple[str, ...] = ()
    use_clinical_sledai: bool = False
    require_no_new_activity: bool = False
    min_reduction: float | None = None
    source: str = ""
    caveats: tuple[str, ...] = ()
    qualifier: str = ""

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        _check_number("sledai_max", self.sledai_max)
        _check_number("prednisone_max", self.prednisone_max)
        _check_number("min_reduction", self.min_reduction, allow_zero=False)
        for flag in ("use_clinical_sledai", "require_no_new_activity"):
            if not isinstance(getattr(self, flag), (bool, np.bool_)):
                raise TypeError(f"{flag} must be True or False, got {getattr(self, flag)!r}")
        if isinstance(self.major_organ, str):
            raise TypeError("major_organ must be a collection of descriptor names, not one string")
        organ = tuple(self.major_organ)
        unknown = [d for d in organ if d not in SLEDAI2K_WEIGHTS]
        if unknown:
            raise ValueError(f"major_organ holds unknown SLEDAI-2K descriptor(s) {unknown}; "
                             f"valid: {list(SLEDAI2K_WEIGHTS)}")
        # A list from a widget becomes a tuple so the definition stays hashable and immutable.
        object.__setattr__(self, "major_organ", organ)
        object.__setattr__(self, "caveats", tuple(self.caveats))
        if (self.sledai_max is None and self.prednisone_max is None and self.min_reduction is None
                and not organ and not self.require_no_new_activity):
            raise ValueError(f"response definition {self.name!r} sets no criterion")

    def with_thresholds(self, **changes) -> "ResponseDefinition":
        """A variant with changed thresholds, named after the change.

        >>> paper_lda.with_thresholds(prednisone_max=10).name
        'paper_lda(prednisone_max=10)'
        >>> paper_lda.with_thresholds(prednisone_max=10).label
        'LDA (prednisone ≤ 10 mg/day)'
        """
        unknown = sorted(set(changes) - set(_THRESHOLDS))
        if unknown:
            raise ValueError(f"not threshold(s) of a response definition: {unknown}; valid: {list(_THRESHOLDS)}")
        if not changes:
            return self
        text = ", ".join(f"{k}={v!r}" for k, v in changes.items())
        variant = dataclasses.replace(self, name=f"{self.name}({text})", **changes)
        return dataclasses.replace(variant, label=f"{self.label} ({variant._criteria_words(changes)})")

    def _criteria_words(self, names) -> str:
        """The criteria ``names`` in words ("prednisone ≤ 10 mg/day"), as :meth:`describe` words them."""
        score = "clinical SLEDAI" if self.use_clinical_sledai else "SLEDAI-2K"
        words = {"sledai_max": lambda: f"{score} ≤ {self.sledai_max:g}" if self.sledai_max is not None else "",
                 "prednisone_max": lambda: (f"prednisone ≤ {self.prednisone_max:g} mg/day"
                                            if self.prednisone_max is not None else ""),
                 "min_reduction": lambda: (f"{score} fall ≥ {self.min_reduction:g} points"
                                           if self.min_reduction is not None else ""),
                 "major_organ": lambda: "major organs: " + (", ".join(self.major_organ) or "none"),
                 "use_clinical_sledai": lambda: "clinical SLEDAI" if self.use_clinical_sledai else "SLEDAI-2K",
                 "require_no_new_activity": lambda: ("no new activity" if self.require_no_new_activity
                                                     else "new activity allowed")}
        return ", ".join(w for w in (words[n]() for n in names) if w)

    @property
    def display_label(self) -> str:
        """The label with its qualifier, as titles and rate tables print it.

        >>> lldas.display_label
        'LLDAS (PGA not recorded: criterion not checked)'
        >>> paper_lda.display_label
        'LDA'
        """
        return f"{self.label} ({self.qualifier})" if self.qualifier else self.label

    def footnotes(self) -> tuple[str, ...]:
        """The definition's source and each of its caveats, as footnotes of a table made with it.

        >>> lldas.footnotes()[1]
        'LLDAS: PGA is not in the data: the physician global assessment criterion is not checked. (LLDAS: PGA ≤ 1 on 0-3)'
        """
        # describe() whole, not re-split: a variant's label may hold ": " itself ("major organs: fever")
        first = f"{self.describe()}." + (f" Source: {self.source}." if self.source else "")
        return (first,) + tuple(f"{self.label}: {c}" for c in self.caveats)

    def accepts_sledai(self, score: float) -> bool:
        """Does a SLEDAI score (SLEDAI-2K, or clinical SLEDAI if ``use_clinical_sledai``) pass ``sledai_max``?

        >>> [paper_cr.accepts_sledai(s) for s in (2, 3)]
        [True, False]
        """
        return self.sledai_max is None or score <= self.sledai_max

    def describe(self) -> str:
        """The criteria in words, e.g. for a figure caption."""
        score = "clinical SLEDAI" if self.use_clinical_sledai else "SLEDAI-2K"
        parts = []
        if self.sledai_max is not None:
            parts.append(f"{score} ≤ {self.sledai_max:g}")
        if self.min_reduction is not None:
            parts.append(f"{score} fall ≥ {self.min_reduction:g} points from baseline")
        if self.major_organ:
            parts.append("no major organ activity")
        if self.require_no_new_activity:
            parts.append("no new activity since the previous visit")
        if self.prednisone_max is not None:
            parts.append(f"prednisone ≤ {self.prednisone_max:g} mg/day")
        return f"{self.label}: " + ", ".join(parts)


_PAPER = "Wen L et al. Stem Cells Int 2019:6157612, section 2.4"
_MAJOR_CAVEAT = ("The paper does not list the organ systems of 'major organ activity'; the LLDAS "
                 "reading in SLEDAI-2K descriptors (Franklyn 2016) is used.")
_MAINTENANCE = "Maintenance CYC, MMF and LEF are allowed; the data holds no maintenance therapy to check."

paper_lda = ResponseDefinition(
    name="paper_lda", label="LDA", sledai_max=4, prednisone_max=7.5, major_organ=MAJOR_ORGAN_DESCRIPTORS,
    source=_PAPER + ": SLEDAI ≤ 4 without major organ activity and prednisone ≤ 7.5 mg/day",
    caveats=(_MAJOR_CAVEAT, _MAINTENANCE))

paper_cr = ResponseDefinition(
    name="paper_cr", label="CR", sledai_max=2, prednisone_max=5.0, major_organ=MAJOR_ORGAN_DESCRIPTORS,
    source=_PAPER + ": SLEDAI < 3 without major organ activity and prednisone ≤ 5 mg/day",
    caveats=("'SLEDAI < 3' is applied as SLEDAI-2K ≤ 2 (the score is an integer).",
             _MAJOR_CAVEAT, _MAINTENANCE))

_PGA = "PGA is not in the data: the physician global assessment criterion is not checked."
_PGA_QUALIFIER = "PGA not recorded: criterion not checked"

lldas = ResponseDefinition(
    name="lldas", label="LLDAS", sledai_max=4, prednisone_max=7.5, major_organ=MAJOR_ORGAN_DESCRIPTORS,
    require_no_new_activity=True,
    source="Franklyn K et al. Ann Rheum Dis 2016;75:1615-21 (Lupus Low Disease Activity State)",
    caveats=(_PGA + " (LLDAS: PGA ≤ 1 on 0-3)",
             "Haemolytic anaemia and gastrointestinal activity are not SLEDAI-2K descriptors and are not checked.",
             "'No new activity' compares each SLEDAI-2K descriptor with the patient's previous recorded visit; "
             "a descriptor present at the first recorded visit cannot be judged, so that visit is unclassified.",
             "Tolerance of maintenance immunosuppressants is not in the data."),
    qualifier=_PGA_QUALIFIER)

doris = ResponseDefinition(
    name="doris", label="DORIS remission", sledai_max=0, prednisone_max=5.0, use_clinical_sledai=True,
    source="van Vollenhoven RF et al. Lupus Sci Med 2021;8:e000538 (DORIS 2021 remission)",
    caveats=(_PGA + " (DORIS: PGA < 0.5 on 0-3)",
             "Clinical SLEDAI = SLEDAI-2K without low complement and increased DNA binding.",
             "DORIS states prednisolone ≤ 5 mg/day; prednisone is counted 1:1."),
    qualifier=_PGA_QUALIFIER)

sledai_reduction = ResponseDefinition(
    name="sledai_reduction", label="SLEDAI-4 reduction", min_reduction=4,
    source="Furie RA et al. Arthritis Rheum 2009;61:1143-51 (SRI-4, SLEDAI component)",
    caveats=("Only the SLEDAI part of SRI-4: BILAG and PGA are not in the data, so this is not an "
             "SRI-4 response.",
             "A patient without a baseline (month 0) SLEDAI-2K is never a responder."),
    qualifier="SLEDAI part of SRI-4 only: BILAG and PGA not recorded")

#: The built-in definitions by name.
DEFINITIONS = MappingProxyType({d.name: d for d in (paper_lda, paper_cr, lldas, doris, sledai_reduction)})
#: Short names accepted by :func:`get_definition`.
DEFINITION_ALIASES = MappingProxyType({"lda": "paper_lda", "cr": "paper_cr"})


def get_definition(definition) -> ResponseDefinition:
    """A :class:`ResponseDefinition` from itself, its name, or an alias ("lda", "cr")."""
    if isinstance(definition, ResponseDefinition):
        return definition
    if not isinstance(definition, str):
        raise TypeError(f"a response definition or its name is needed, got {type(definition).__name__}")
    name = DEFINITION_ALIASES.get(definition, definition)
    if name not in DEFINITIONS:
        valid = list(DEFINITIONS) + [f"{a} (= {n})" for a, n in DEFINITION_ALIASES.items()]
        raise ValueError(f"unknown response definition {definition!r}; valid: {', '.join(valid)}")
    return DEFINITIONS[name]


@dataclass(frozen=True)
class ResponseResult:
    """Result of :func:`classify_response`.

    definition : the definition applied.
    patients : one row per patient: ``patient_id``, ``met_m1`` ... ``met_m12`` (met at that visit;
        boolean, False when the visit is missing or cannot be classified), ``first_month`` (Int64,
        first follow-up month met; missing if never), ``ever`` (met at any follow-up visit),
        ``n_missing`` (follow-up visits absent or lacking data the definition needs).
    visits : one row per visit, aligned with the input visits: ``patient_id``, ``month``,
        ``sledai``, ``clinical_sledai``, ``major_organ_active``, ``prednisone_mg``, then
        ``new_activity`` / ``sledai_fall`` when the definition uses them, and ``met`` (nullable:
        <NA> when the data cannot decide).
    caveats : what the definition asks that the data cannot check, and how many visits were missing.
    """
    definition: ResponseDefinition
    patients: pd.DataFrame
    visits: pd.DataFrame
    caveats: tuple[str, ...]

    def summary(self) -> pd.DataFrame:
        """Responders per follow-up month and during the year: n, assessed, percent of all patients."""
        p = self.patients
        rows = {}
        for col in [c for c in p.columns if c.startswith("met_m")] + ["ever"]:
            rows[col] = {"n": int(p[col].sum()), "patients": len(p),
                         "percent": 100.0 * p[col].sum() / len(p) if len(p) else float("nan")}
        return pd.DataFrame.from_dict(rows, orient="index")


# ---------------------------------------------------------------------------------------------
# Three-valued logic on (value, known) numpy pairs: a criterion that cannot be judged leaves the
# visit unclassified unless another criterion already fails.

def _and(criteria):
    n = len(criteria[0][0])
    definitely_false = np.zeros(n, dtype=bool)
    all_true = np.ones(n, dtype=bool)
    for value, known in criteria:
        definitely_false |= known & ~value
        all_true &= known & value
    return all_true, all_true | definitely_false


def _boolean(value: np.ndarray, known: np.ndarray) -> pd.arrays.BooleanArray:
    return pd.arrays.BooleanArray(value & known, ~known)


def _prednisone(visits: pd.DataFrame, required: bool) -> np.ndarray:
    if "prednisone_mg" not in visits.columns:
        if required:
            raise DataError([Problem("visits", None, "prednisone_mg", None,
                                     "column is missing (the definition limits prednisone)")])
        return np.full(len(visits), np.nan)
    col = visits["prednisone_mg"]
    if not pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
        raise DataError([Problem("visits", None, "prednisone_mg", None,
                                 f"prednisone dose must be numeric (got {col.dtype})")])
    return col.to_numpy(dtype=np.float64, na_value=np.nan)


def classify_response(cohort, definition, *, follow_up_months=FOLLOW_UP_MONTHS) -> ResponseResult:
    """Apply a response definition at each visit and summarise it per patient.

    Parameters
    ----------
    cohort : a :class:`msc_sle.contract.Cohort` (every patient of ``cohort.patients`` gets a row, even
        without any follow-up visit) or a visits DataFrame (patients = those with a visit).
    definition : a :class:`ResponseDefinition`, its name, or an alias ("lda", "cr").
    follow_up_months : the assessed follow-up visits (default 1, 3, 6, 12: Wen 2019, section 2.4).
        Visits at other months than these and baseline (0) are an error, not silently dropped.

    Returns
    -------
    ResponseResult with ``patients`` (met_m1 ... met_m12, first_month, ever, n_missing), ``visits``
    (per-visit components and ``met``) and ``caveats``. "Achieved during 1 year" is ``ever``;
    "maintained at 12 months" is ``met_m12`` (section 3.2).
    """
    definition = get_definition(definition)
    if isinstance(cohort, Cohort):
        visits, patient_ids = cohort.visits, cohort.patients["patient_id"]
    elif isinstance(cohort, pd.DataFrame):
        visits, patient_ids = cohort, None
    else:
        raise TypeError(f"classify_response needs a Cohort or a visits DataFrame, got {type(cohort).__name__}")
    aligned = visit_grid(visits, patient_ids, follow_up_months)
    patient_ids, positions, slots, months = aligned.patient_ids, aligned.positions, aligned.slots, aligned.months
    n_pat, n_slots = len(patient_ids), len(months)
    grid = aligned.rows

    arrays = descriptor_arrays(visits)
    scored = score_arrays(arrays)
    total, total_missing = scored["total"]
    clinical, clinical_missing = scored["clinical"]
    score, score_missing = (clinical, clinical_missing) if definition.use_clinical_sledai else (total, total_missing)
    prednisone = _prednisone(visits, definition.prednisone_max is not None)

    # Major organ activity: active if any listed descriptor is present, inactive only if all are known absent.
    organ_names = definition.major_organ or MAJOR_ORGAN_DESCRIPTORS
    active = np.zeros(len(visits), dtype=bool)
    organ_unknown = np.zeros(len(visits), dtype=bool)
    for name in organ_names:
        present, missing = arrays[name]
        active |= present
        organ_unknown |= missing
    organ_known = active | ~organ_unknown

    criteria = []
    if definition.sledai_max is not None:
        criteria.append((score <= definition.sledai_max, ~score_missing))
    if definition.major_organ:
        criteria.append((~active, organ_known))
    if definition.prednisone_max is not None:
        criteria.append((prednisone <= definition.prednisone_max, ~np.isnan(prednisone)))
    extra = {}
    if definition.require_no_new_activity:
        prev = aligned.previous_rows()
        has_prev = prev >= 0
        prev_safe = np.where(has_prev, prev, 0)
        # The 24 descriptors packed as bits of one integer per visit: two gathers instead of 48.
        now_present = np.zeros(len(visits), dtype=np.uint32)
        now_missing = np.zeros(len(visits), dtype=np.uint32)
        for bit, (present, missing) in enumerate(arrays.values()):
            now_present |= present.astype(np.uint32) << np.uint32(bit)
            now_missing |= missing.astype(np.uint32) << np.uint32(bit)
        prev_present = np.where(has_prev, now_present[prev_safe], np.uint32(0))
        prev_missing = np.where(has_prev, now_missing[prev_safe], np.uint32(0xFFFFFFFF))
        # new: present now, known absent before. Unknown: present now but the previous state is
        # unknown, or not recorded now while not known present before (present before cannot be new).
        new_true = (now_present & ~prev_present & ~prev_missing) != 0
        new_unknown = ((now_present & prev_missing) | (now_missing & ~prev_present)) != 0
        # Kleene OR over descriptors: new if any is known new; not new only if all are known not new.
        new_known = new_true | ~new_unknown
        extra["new_activity"] = _boolean(new_true, new_known)
        criteria.append((~new_true, new_known))
    if definition.min_reduction is not None:
        base_row = grid[positions, 0]
        has_base = base_row >= 0
        base_safe = np.where(has_base, base_row, 0)
        fall = score[base_safe].astype(np.int64) - score.astype(np.int64)
        fall_known = has_base & ~score_missing[base_safe] & ~score_missing
        extra["sledai_fall"] = pd.arrays.IntegerArray(np.where(fall_known, fall, 0), ~fall_known)
        criteria.append((fall >= definition.min_reduction, fall_known))
    met, met_known = _and(criteria)

    visit_frame = pd.DataFrame({
        "patient_id": visits["patient_id"],
        "month": visits["month"],
        "sledai": pd.arrays.IntegerArray(total.astype(np.int64), total_missing),
        "clinical_sledai": pd.arrays.IntegerArray(clinical.astype(np.int64), clinical_missing),
        "major_organ_active": _boolean(active, organ_known),
        "prednisone_mg": prednisone,
        **extra,
        "met": _boolean(met, met_known),
    }, index=visits.index, copy=False)

    # Per patient: scatter each visit's outcome into a (patient x scheduled month) grid.
    met_grid = np.zeros((n_pat, n_slots), dtype=bool)
    met_grid[positions, slots] = met & met_known
    assessed = np.zeros((n_pat, n_slots), dtype=bool)
    assessed[positions, slots] = met_known
    ever = np.zeros(n_pat, dtype=bool)
    first = np.zeros(n_pat, dtype=np.int64)
    n_missing = np.zeros(n_pat, dtype=np.int64)
    for j in range(n_slots - 1, 0, -1):   # latest to earliest, so the earliest month met wins
        first = np.where(met_grid[:, j], months[j], first)
        ever |= met_grid[:, j]
        n_missing += ~assessed[:, j]
    columns = {"patient_id": patient_ids.reset_index(drop=True)}
    for j, month in enumerate(months[1:], start=1):
        columns[f"met_m{month}"] = pd.arrays.BooleanArray(met_grid[:, j], np.zeros(n_pat, dtype=bool))
    columns["first_month"] = pd.arrays.IntegerArray(first, ~ever)   # first is 0 wherever never met
    columns["ever"] = pd.arrays.BooleanArray(ever, np.zeros(n_pat, dtype=bool))
    columns["n_missing"] = pd.arrays.IntegerArray(n_missing, np.zeros(n_pat, dtype=bool))
    patient_frame = pd.DataFrame(columns, copy=False)

    n_unassessed = int(n_missing.sum())
    caveats = tuple(definition.caveats)
    if n_unassessed:
        caveats += (f"{n_unassessed} follow-up visit(s) of {int((n_missing > 0).sum())} patient(s) are "
                    "missing or lack data the definition needs; they count as not met.",)
    return ResponseResult(definition, patient_frame, visit_frame, caveats)
