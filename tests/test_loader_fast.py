"""The loader's registry-size shortcuts (issue 25: >= 500,000 visit rows/s): each one is held here to
the slower reading it replaces, so a shortcut can only ever skip work, never change an answer.

- one regular expression for a plain number, against the two it replaces (a number, and not '1.000');
- yes/no cells read from the column's buffers, against Python's reading of each cell;
- the "visits already in key order" test that skips the duplicate hash and the sort, against
  Python's tuple ordering;
- the NumPy pre-check that skips pandera, against pandera's own verdict;
- a visits file written in another order still comes back sorted, and a visit given twice in an
  otherwise ordered file is still reported.
"""
from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msc_sle.contract import DataError, loader, read_extract, variable

BASE = Path(__file__).parent / "fixtures" / "base"
NUMBERISH = st.text(alphabet="0123456789.-+ ,e", min_size=0, max_size=9)
CELL = st.one_of(st.sampled_from(["", "0", "1", "01", "10", "2", "y", "é", "\u0661", " 1", "1 ", "0.0"]),
                 st.text(max_size=3))


@settings(max_examples=300, deadline=None)
@given(st.lists(NUMBERISH, min_size=1, max_size=40))
def test_one_pattern_reads_the_plain_numbers_the_two_patterns_read(cells):
    # the reading it replaces: a signed decimal number, never one with a thousands reading
    expected = [re.fullmatch(r"-?[0-9]+(?:\.[0-9]+)?", c) is not None
                and loader._GROUPED["."].fullmatch(c) is None for c in cells]
    got = pc.match_substring_regex(pa.array(cells, pa.string()), loader._PLAIN_NUMBER).to_pylist()
    assert got == expected


@pytest.mark.parametrize("cell, plain", [("1.000", False), ("12.500", False), ("100.000", False),
                                         ("-1.000", True), ("0.000", True), ("1000.000", True),
                                         ("1.0000", True), ("1.00", True), ("7.5", True), ("1,5", False)])
def test_the_thousands_readings_are_not_plain(cell, plain):
    assert pc.match_substring_regex(pa.array([cell]), loader._PLAIN_NUMBER).to_pylist() == [plain]


@settings(max_examples=200, deadline=None)
@given(st.lists(CELL, max_size=30), st.integers(0, 5), st.booleans(), st.integers(1, 4))
def test_single_bytes_are_each_cells_one_byte(cells, start, large, pieces):
    kind = pa.large_string() if large else pa.string()
    whole = pa.array(cells, kind)[min(start, len(cells)):]  # a slice: the buffers start at an offset
    size = max(1, len(whole) // pieces)
    column = pa.chunked_array([whole[i:i + size] for i in range(0, len(whole), size)] or [whole], kind)
    expected = [c.encode()[0] if len(c.encode()) == 1 else 0 for c in cells[min(start, len(cells)):]]
    assert loader._single_bytes(column).tolist() == expected


def test_single_bytes_of_a_column_with_missing_cells():
    assert loader._single_bytes(pa.array(["1", None, "0", "11"])).tolist() == [ord("1"), 0, ord("0"), 0]


IDS = st.sampled_from(["P1", "P2", "P10", "p1", "Ｐ1", "P\u00e91", "Z", ""])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(IDS, st.integers(0, 3)), max_size=8))
def test_key_order_is_pythons_strict_order_of_id_then_month(keys):
    visits = pd.DataFrame({"patient_id": pd.array([k[0] for k in keys], dtype="string"),
                           "month": pd.array([k[1] for k in keys], dtype="Int64")})
    assert loader._in_key_order(visits) == all(a < b for a, b in zip(keys, keys[1:]))


def test_a_missing_key_is_never_in_order():
    visits = pd.DataFrame({"patient_id": pd.array(["P1", None], dtype="string"),
                           "month": pd.array([0, 1], dtype="Int64")})
    assert not loader._in_key_order(visits)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["age_years", "month", "sledai_total", "acr_criteria_count", "prednisone_mg"]),
       st.lists(st.one_of(st.none(), st.floats(-50, 300, allow_nan=False), st.sampled_from([0.0, 1.0, 3.0, 120.0])),
                min_size=1, max_size=12))
def test_the_precheck_passes_exactly_the_columns_pandera_passes(name, values):
    var = variable(name)
    schema = loader._value_schema(var)
    column = pd.Series([np.nan if v is None else v for v in values], dtype="float64")
    assert loader._within(var, column) == (not loader._failures(schema, column.copy()).any())


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "extract"
    shutil.copytree(BASE, folder)
    (folder / "expected.json").unlink()
    return folder


def test_visits_written_in_another_order_come_back_sorted(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ordered = read_extract(BASE)
        folder = _copy(tmp_path)
        lines = (folder / "visits.csv").read_text(encoding="utf-8").splitlines()
        (folder / "visits.csv").write_text("\n".join([lines[0], *reversed(lines[1:])]) + "\n", encoding="utf-8")
        reversed_ = read_extract(folder)
    assert not loader._in_key_order(reversed_.visits.iloc[::-1].reset_index(drop=True))
    pd.testing.assert_frame_equal(reversed_.visits, ordered.visits)


def test_a_visit_given_twice_in_an_ordered_file_is_reported(tmp_path):
    folder = _copy(tmp_path)
    lines = (folder / "visits.csv").read_text(encoding="utf-8").splitlines()
    (folder / "visits.csv").write_text("\n".join([lines[0], lines[1], *lines[1:]]) + "\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DataError) as err:
            read_extract(folder)
    rows = [p.row for p in err.value.problems if p.rule == "duplicate visit (same patient and month)"]
    assert rows == [2, 3]
