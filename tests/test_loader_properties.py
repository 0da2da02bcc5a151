"""Property tests of the loader: valid cohorts round-trip; a corrupted cell is reported or harmless."""
from __future__ import annotations

import csv
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msc_sle.contract import Cohort, DataError, DataWarning, table_variables, write_cohort
from msc_sle.clinical import load_cohort

FIXTURES = Path(__file__).parent / "fixtures"
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
IDS = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-é", min_size=1, max_size=8)


def value_strategy(row: pd.Series):
    kind, allowed, required = row["type"], row["allowed"], row["required"] == "yes"
    if kind == "boolean":
        s = st.booleans()
    elif kind == "category":
        s = st.sampled_from(allowed.split("|"))
    elif kind == "date":
        s = st.dates(min_value=pd.Timestamp("2000-01-01").date(), max_value=pd.Timestamp("2020-12-31").date())
    elif kind == "integer" and "|" in allowed:
        s = st.sampled_from([int(v) for v in allowed.split("|")])
    elif kind in ("integer", "number"):
        lo, hi = (float(x) for x in allowed.split("-"))
        s = st.integers(int(lo), int(hi)) if kind == "integer" else st.floats(lo, hi, allow_nan=False)
    else:
        s = IDS
    return s if required else st.one_of(st.none(), s)


def typed(records: list[dict], table: str) -> pd.DataFrame:
    spec = table_variables(table)
    out = {}
    for _, row in spec.iterrows():
        values = [r[row["name"]] for r in records]
        if row["type"] == "category":
            out[row["name"]] = pd.Categorical(values, categories=row["allowed"].split("|"))
        elif row["type"] == "date":
            out[row["name"]] = pd.to_datetime(pd.Series(values, dtype=object)).astype("datetime64[ns]")
        elif row["type"] == "number":
            out[row["name"]] = pd.Series([np.nan if v is None else float(v) for v in values], dtype="float64")
        else:
            dtype = {"boolean": "boolean", "integer": "Int64", "string": "string"}[row["type"]]
            out[row["name"]] = pd.Series(values, dtype=object).astype(dtype)
    return pd.DataFrame(out)


@st.composite
def cohorts(draw):
    ids = draw(st.lists(IDS, min_size=1, max_size=4, unique_by=str.casefold))
    pspec, vspec = table_variables("patients"), table_variables("visits")
    patients = []
    for pid in ids:
        rec = {r["name"]: draw(value_strategy(r)) for _, r in pspec.iterrows()}
        rec["patient_id"] = pid
        patients.append(rec)
    visits = []
    for pid in ids:
        for month in draw(st.sets(st.sampled_from([0, 1, 3, 6, 12]), min_size=1)) | {0}:
            rec = {r["name"]: draw(value_strategy(r)) for _, r in vspec.iterrows()}
            rec.update(patient_id=pid, month=month, sledai_total=None)  # totals are checked elsewhere
            visits.append(rec)
    visits.sort(key=lambda r: (r["patient_id"], r["month"]))
    return Cohort(typed(patients, "patients"), typed(visits, "visits"))


@SETTINGS
@given(cohorts())
def test_any_valid_cohort_round_trips_through_write_and_load(cohort):
    folder = Path(tempfile.mkdtemp())
    try:
        write_cohort(cohort, folder)
        back = load_cohort(folder)
        pd.testing.assert_frame_equal(back.patients, cohort.patients)
        expected = cohort.visits.sort_values(["patient_id", "month"], kind="stable").reset_index(drop=True)
        pd.testing.assert_frame_equal(back.visits, expected)
    finally:
        shutil.rmtree(folder)


def read_cells(path: Path) -> list[list[str]]:
    return list(csv.reader(path.read_text(encoding="utf-8").splitlines()))


NOISE = st.one_of(st.text(max_size=6), st.sampled_from(["", "-1", "1e9", "yes", "Y", "2", "NA", "12", "UC", "IV",
                                                         "2010-02-30", "20 mg", "  7 ", "nan", "0.5"]))


@SETTINGS
@given(table=st.sampled_from(["patients", "visits"]), row=st.integers(0, 29), col=st.integers(0, 40), noise=NOISE)
def test_a_corrupted_cell_is_reported_or_harmless(table, row, col, noise):
    base = load_cohort(FIXTURES / "base")
    folder = Path(tempfile.mkdtemp())
    try:
        shutil.copytree(FIXTURES / "base", folder, dirs_exist_ok=True)
        path = folder / f"{table}.csv"
        cells = read_cells(path)
        r = 1 + row % (len(cells) - 1)
        c = col % len(cells[0])
        column = cells[0][c]
        cells[r][c] = noise
        with open(path, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh, lineterminator="\n").writerows(cells)
        try:
            with warnings.catch_warnings():  # e.g. a corrupted id leaves a patient without baseline
                warnings.simplefilter("ignore", DataWarning)
                loaded = load_cohort(folder)
        except DataError as err:
            assert err.problems and all(p.rule for p in err.problems)
            return
        # Harmless: the loaded cohort differs from the clean one in that one cell at most
        # (a value that is itself valid, or an accepted spelling of the same value).
        frame, clean = (loaded.patients, base.patients) if table == "patients" else (loaded.visits, base.visits)
        assert frame.shape == clean.shape
        for name in frame.columns:
            differs = ~((frame[name] == clean[name]).fillna(False) | (frame[name].isna() & clean[name].isna()))
            if name != column:
                assert not differs.any(), f"corrupting {column} changed {name}"
            else:
                assert differs.sum() <= 1
    finally:
        shutil.rmtree(folder)
