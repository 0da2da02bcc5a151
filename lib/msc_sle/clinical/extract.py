"""Loading a cohort: the data contract's reading, then the clinical consistency checks.

:func:`msc_sle.contract.read_extract` checks every cell against the data dictionary but knows no
clinical rule. :func:`load_cohort` adds what needs one: a recorded SLEDAI-2K total that disagrees
with its 24 descriptors is reported (the workbook always uses the total computed from the
descriptors, so the centre's scoring can be checked).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from ..contract import BUNDLED_DATA, Cohort, Problem, read_extract, warn_data
from .sledai import recorded_total_mismatches
from .steroids import EQUIVALENT_DOSE_MG, prednisone_equivalent

__all__ = ["load_cohort", "recorded_total_note", "recorded_total_details", "RECORDED_TOTAL_RULE"]

#: The rule behind the recorded-total warning (each visit is a row of ``Cohort.details``).
RECORDED_TOTAL_RULE = "recorded SLEDAI-2K total differs from its descriptors"


def recorded_total_details(cohort: Cohort, file: str = "visits.csv") -> list[Problem]:
    """One :class:`~msc_sle.contract.Problem` per visit whose recorded ``sledai_total`` differs from
    the total of its descriptors (value: patient, month, recorded and computed totals)."""
    visits = cohort.visits
    if "sledai_total" not in visits or visits["sledai_total"].isna().all():
        return []
    return [Problem(file, None, "sledai_total",
                    f"{m.patient_id} month {m.month}: recorded {m.recorded}, descriptors give {m.computed}",
                    RECORDED_TOTAL_RULE)
            for m in recorded_total_mismatches(visits).itertuples(index=False)]


def recorded_total_note(cohort: Cohort, file: str = "visits.csv") -> str | None:
    """The warning text (a count and the rule, no patient id) for recorded ``sledai_total`` values
    that differ from their descriptors, or None when nothing was recorded or every total agrees."""
    return _note(file, len(recorded_total_details(cohort, file)))


def _note(file: str, n: int) -> str | None:
    if not n:
        return None
    return (f"{file}: {RECORDED_TOTAL_RULE} at {n} visit(s); the workbook uses the total computed from "
            "the descriptors (which: data_issues.csv)")


def load_cohort(path: str | Path = BUNDLED_DATA, *, dictionary=None) -> Cohort:
    """Read and validate an extract (:func:`msc_sle.contract.read_extract`), then check recorded
    SLEDAI-2K totals against their descriptors (a :class:`~msc_sle.contract.DataWarning` and a note
    in ``Cohort.notes`` giving their number; the visits in ``Cohort.details``). Returns the typed
    :class:`~msc_sle.contract.Cohort` or raises :class:`~msc_sle.contract.DataError` listing every
    problem of the extract. ``dictionary``: the data dictionary's path (default ``data/dictionary.csv``)."""
    # a mapping.yml may give a dose as another glucocorticoid: the contract converts it with these
    converters = {drug: float(prednisone_equivalent(1.0, drug)) for drug in EQUIVALENT_DOSE_MG}
    cohort = read_extract(path, converters=converters, dictionary=dictionary)
    file = cohort.files.get("visits", "visits")
    details = recorded_total_details(cohort, file)
    if not details:
        return cohort
    note = _note(file, len(details))
    warn_data(note)
    return dataclasses.replace(cohort, notes=tuple(dict.fromkeys(cohort.notes + (note,))),
                               details=cohort.details + tuple(details))
