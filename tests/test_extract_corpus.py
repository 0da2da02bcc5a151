"""The corpus of malformed extracts (tests/fixtures/*/expected.json) against load_cohort.

Errors must name file, row, column and rule, all problems of a file together; accepted oddities
must say what was normalised and give the same values as the clean base extract.
"""
from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

from msc_sle import DataError, load_cohort

FIXTURES = Path(__file__).parent / "fixtures"
CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "expected.json").exists() and p.name != "base")


def expected(name):
    return json.loads((FIXTURES / name / "expected.json").read_text())


def checksums(folder: Path):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_corpus_is_large_enough():
    assert len(CASES) >= 30


@pytest.mark.parametrize("name", CASES)
def test_case(name):
    spec, folder = expected(name), FIXTURES / name
    before = checksums(folder)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if spec["outcome"] == "error":
            with pytest.raises(DataError) as info:
                load_cohort(folder)
            problems = info.value.problems
            for want in spec["problems"]:
                hits = [p for p in problems if want["rule"] in p.rule
                        and (want["column"] is None or p.column == want["column"])
                        and (want["row"] is None or p.row == want["row"])
                        and want.get("file", p.file) == p.file]
                assert hits, f"{name}: no problem {want} among {[str(p) for p in problems]}"
            message = str(info.value)
            for p in problems:  # every problem appears in the one message, with its file
                assert str(p) in message and p.file
        else:
            cohort = load_cohort(folder)
            said = [str(w.message) for w in caught] + list(cohort.notes)
            for fragment in spec["warnings"]:
                assert any(fragment in str(w.message) for w in caught), f"{name}: no warning {fragment!r} in {said}"
            for fragment in spec["notes"]:
                assert any(fragment in n for n in cohort.notes), f"{name}: no note {fragment!r} in {cohort.notes}"
            details = [str(p) for p in cohort.details]
            for fragment in spec.get("details", []):
                assert any(fragment in d for d in details), f"{name}: no detail {fragment!r} in {details}"
            if "synthetic" in spec:
                assert cohort.synthetic is spec["synthetic"]
            # warnings and notes give counts and rules: the ids behind them are in cohort.details only
            ids = {str(i).casefold() for i in cohort.patients["patient_id"]}
            leaked = [(i, s) for s in said for i in ids if i in s.casefold()]
            assert not leaked, f"{name}: patient ids in warnings or notes: {leaked}"
            if spec["same_as_base"]:
                base = load_cohort(FIXTURES / "base")
                pd.testing.assert_frame_equal(cohort.patients, base.patients)
                pd.testing.assert_frame_equal(cohort.visits, base.visits)
    assert checksums(folder) == before, "the raw files must never be modified"


def test_many_problems_are_reported_together_in_file_order():
    with pytest.raises(DataError) as info:
        load_cohort(FIXTURES / "many_problems_one_file")
    rows = [p.row for p in info.value.problems]
    assert len(rows) >= 4 and {2, 3, 4, 5} <= set(rows)
    assert "4 problems" in str(info.value) or f"{len(rows)} problems" in str(info.value)


def test_latin1_id_is_decoded_not_mangled():
    cohort = load_cohort(FIXTURES / "latin1_encoding")
    assert "P001-Zoé" in set(cohort.patients["patient_id"])
    assert (cohort.visits["patient_id"] == "P001-Zoé").sum() == 5
