"""What the contract hands on: a validated :class:`Cohort`, or a :class:`DataError` listing every
:class:`Problem` (file, row, column, value, rule)."""
from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

__all__ = ["Problem", "DataError", "DataWarning", "Cohort", "warn_data", "ids_in"]

_PACKAGE = str(Path(__file__).resolve().parents[1])

_MAX_SHOWN = 60


@dataclass(frozen=True)
class Problem:
    """One breach of the data contract: where it is, what the value was, which rule it breaks."""

    file: str
    row: int | None
    column: str | None
    value: object
    rule: str
    #: what ``column`` names: a table's "column", or a manifest.json "key"
    heading: str = "column"
    #: the mapping.yml line involved, when a mapping renamed or recoded the value
    mapping: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", {self.heading} '{self.column}'"
        value = "" if self.value is None else f": value {self.value!r}"
        via = f" [{self.mapping}]" if self.mapping else ""
        return f"{where}{value}: {self.rule}{via}"


class DataError(ValueError):
    """The extract breaks the data contract. ``problems`` lists every problem found, in file order."""

    def __init__(self, problems: list[Problem]):
        # file order: by file, then row (file-level problems first), whatever order they were found in
        self.problems = sorted(problems, key=lambda p: (p.file, -1 if p.row is None else p.row))
        n = len(self.problems)
        lines = [f"The extract breaks the data contract ({n} problem{'s' if n != 1 else ''}):"]
        lines += [f"  - {p}" for p in self.problems[:_MAX_SHOWN]]
        if n > _MAX_SHOWN:
            lines.append(f"  ... and {n - _MAX_SHOWN} more (see DataError.problems)")
        lines.append("Nothing was computed and the input files were not modified. "
                     "See 'Troubleshooting your extract' in README.md.")
        super().__init__("\n".join(lines))


class DataWarning(UserWarning):
    """Something in the extract was normalised or looks odd, but the data are usable."""


def warn_data(message: str) -> None:
    """Issue a :class:`DataWarning` attributed to the first caller outside ``msc_sle`` (what Python
    3.12's ``skip_file_prefixes`` does): the line a warning shows is the user's own call, never a
    line of the library."""
    frame, level = sys._getframe(1), 2  # stacklevel 2: the caller of warn_data
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, DataWarning, stacklevel=level)


@dataclass(frozen=True)
class Cohort:
    """A validated extract.

    ``patients``: one row per screened patient; ``visits``: one row per (patient_id, month).
    ``fingerprint`` is the SHA-256 of the raw files read, ``synthetic`` comes from the extract's
    ``manifest.json``, ``notes`` lists what was normalised and every warning (counts and rules,
    never a patient id), ``files`` names the file (and sheet) each table was read from, as messages
    name it, ``raw_files`` are the paths whose bytes the fingerprint covers, and ``details`` are the
    :class:`Problem` rows behind the warnings, naming the patients (``make run`` writes them to
    ``OUT/data_issues.csv``; no page shows them), ``paper_cohort`` comes from the manifest too.
    """

    patients: pd.DataFrame
    visits: pd.DataFrame
    source: str = ""
    fingerprint: str = ""
    synthetic: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)
    files: dict = field(default_factory=dict)
    raw_files: tuple[str, ...] = ()
    details: tuple[Problem, ...] = ()
    #: the manifest says the extract is the paper's cohort (``paper_cohort``): only then do the
    #: paper's row-by-row test choices, made for its 69 patients, choose Table 2's tests
    paper_cohort: bool = False
    #: the extract's own column names that are not variables of data/dictionary.csv (an extra
    #: column, a centre's name a mapping renamed, a REDCap field): ``make share`` prints none of them
    extract_names: tuple[str, ...] = ()


def ids_in(cells: pd.Series, values) -> "np.ndarray":
    """True where a cell (an id, a code: text) is one of ``values``; a missing cell never is. By
    Arrow's hash kernel: pandas' own ``isin`` on Arrow-backed text builds one Arrow scalar per
    value in Python, 20 s for a registry's million patient ids against its five million visits."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    def arrow(s):
        s = s if isinstance(s, pd.Series) else pd.Series(list(s), dtype="string")
        if isinstance(s.array, pd.arrays.ArrowStringArray):
            a = s.array.__arrow_array__()
            return a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a
        return pa.array(s.astype("string").to_numpy(dtype=object, na_value=None), type=pa.large_string())

    left = arrow(cells)
    right = pc.drop_null(arrow(values)).cast(left.type)
    return np.asarray(pc.fill_null(pc.is_in(left, value_set=right), False).to_numpy(zero_copy_only=False), dtype=bool)
