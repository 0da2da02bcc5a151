"""Loading a cohort: the data contract's reading, then the clinical consistency checks.

:func:`msc_sle.contract.read_extract` checks every cell against the data dictionary but knows no
clinical rule. :func:`load_cohort` adds what needs one: a recorded SLEDAI-2K total that disagrees
with its 24 descriptors is reported (the workbook always uses the total computed from the
descriptors, so the centre's scoring can be checked).
"""
from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

from ..contract import BUNDLED_DATA, Cohort, DataWarning, read_extract
from .sledai import sledai2k

__all__ = ["load_cohort", "recorded_total_note"]


def recorded_total_note(cohort: Cohort, file: str = "visits.csv") -> str | None:
    """The warning text for recorded ``sledai_total`` values that differ from their descriptors,
    or None when nothing was recorded or every recorded total agrees."""
    visits = cohort.visits
    if "sledai_total" not in visits or visits["sledai_total"].isna().all():
        return None
    mismatches = sledai2k(visits).mismatches
    if not len(mismatches):
        return None
    first = mismatches.head(5).itertuples(index=False)
    shown = "; ".join(f"{m.patient_id} month {m.month}: recorded {m.recorded}, descriptors give {m.computed}"
                      for m in first)
    return (f"{file}: recorded SLEDAI-2K total differs from its descriptors at {len(mismatches)} "
            f"visit(s) ({shown}); the workbook uses the total computed from the descriptors")


def load_cohort(path: str | Path = BUNDLED_DATA) -> Cohort:
    """Read and validate an extract (:func:`msc_sle.contract.read_extract`), then check recorded
    SLEDAI-2K totals against their descriptors (a :class:`~msc_sle.contract.DataWarning` and a note
    in ``Cohort.notes`` when they disagree). Returns the typed :class:`~msc_sle.contract.Cohort` or
    raises :class:`~msc_sle.contract.DataError` listing every problem of the extract."""
    cohort = read_extract(path)
    note = recorded_total_note(cohort, cohort.files.get("visits", "visits"))
    if note is None:
        return cohort
    warnings.warn(note, DataWarning, stacklevel=2)
    return dataclasses.replace(cohort, notes=tuple(dict.fromkeys(cohort.notes + (note,))))
