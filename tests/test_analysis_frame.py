"""analysis_frame: one row per patient with the dictionary's derived variables, worked by hand."""
import numpy as np
import pandas as pd
import pytest

from msc_sle.clinical import analysis_frame
from msc_sle.contract import Cohort, dtype_for, table_variables
from msc_sle.clinical import paper_lda
from msc_sle.clinical import SLEDAI2K_WEIGHTS

DERIVED = table_variables("derived")


def visit(pid, month, present=(), prednisone=0.0):
    return {"patient_id": pid, "month": month, **{d: d in present for d in SLEDAI2K_WEIGHTS},
            "prednisone_mg": prednisone}


def build():
    patients = pd.DataFrame({
        "patient_id": pd.array(["A", "B", "C", "D"], dtype="string"),
        "age_years": [30.0, 40.0, 50.0, 25.0],
        "baseline_prednisone_mg": [20.0, 19.9, 60.0, np.nan],
        "cyc_induction_dose_g": [1.2, 1.19, np.nan, 2.4],
    })
    visits = [
        # A: 12 -> 4 -> 2 -> 2 -> 2 (prednisone 20, 10, 7.5, 5, 5): LDA from month 3, CR from month 6
        visit("A", 0, ("arthritis", "myositis", "rash", "alopecia"), 20.0), visit("A", 1, ("arthritis",), 10.0),
        visit("A", 3, ("rash",), 7.5), visit("A", 6, ("rash",), 5.0), visit("A", 12, ("rash",), 5.0),
        # B: 8 at baseline, LDA at month 1 only (4, 7.5), then 8 again; no month-12 visit
        visit("B", 0, ("arthritis", "myositis"), 20.0), visit("B", 1, ("arthritis",), 7.5),
        visit("B", 3, ("arthritis", "myositis"), 7.5), visit("B", 6, ("arthritis", "myositis"), 7.5),
        # C: baseline only (SLEDAI 9 = 8 + 1)
        visit("C", 0, ("seizure", "leukopenia"), 60.0),
        # D: no visits at all
    ]
    v = pd.DataFrame(visits).astype({d: "boolean" for d in SLEDAI2K_WEIGHTS} | {"patient_id": "string",
                                                                                 "month": "Int64"})
    return Cohort(patients, v)


@pytest.fixture(scope="module")
def frame():
    return analysis_frame(build())


def test_one_row_per_patient_with_patient_columns_first(frame):
    assert frame["patient_id"].tolist() == ["A", "B", "C", "D"]
    assert list(frame.columns[:4]) == ["patient_id", "age_years", "baseline_prednisone_mg", "cyc_induction_dose_g"]


def test_every_derived_dictionary_variable_is_there_with_its_dictionary_type(frame):
    for _, row in DERIVED.iterrows():
        assert row["name"] in frame.columns, row["name"]
        assert frame[row["name"]].dtype == dtype_for(row), row["name"]


def test_sledai_per_month_by_hand(frame):
    assert frame["sledai_m0"].tolist() == [12, 8, 9, pd.NA]
    assert frame["sledai_m1"].tolist() == [4, 4, pd.NA, pd.NA]
    assert frame["sledai_m12"].tolist() == [2, pd.NA, pd.NA, pd.NA]


def test_prednisone_split_puts_20_mg_in_the_high_group(frame):
    allowed = DERIVED.set_index("name").loc["prednisone_dose_group", "allowed"].split("|")
    assert list(frame["prednisone_dose_group"].cat.categories) == allowed
    assert frame["prednisone_dose_group"].astype(object).tolist() == [">=20", "<20", ">=20", np.nan]


def test_cyc_induction_and_its_dose_split(frame):
    assert frame["cyc_induction"].tolist() == [True, True, False, True]
    allowed = DERIVED.set_index("name").loc["cyc_induction_dose_group", "allowed"].split("|")
    assert list(frame["cyc_induction_dose_group"].cat.categories) == allowed
    assert frame["cyc_induction_dose_group"].astype(object).tolist() == [">=1.2 g", "<1.2 g", np.nan, ">=1.2 g"]


def test_outcomes_during_the_year_and_at_month_12(frame):
    assert frame["lda_ever"].tolist() == [True, True, False, False]
    assert frame["lda_m12"].tolist() == [True, False, False, False]
    assert frame["cr_ever"].tolist() == [True, False, False, False]
    assert frame["cr_m12"].tolist() == [True, False, False, False]


def test_other_cuts_relabel_the_levels_truthfully():
    f = analysis_frame(build(), prednisone_cut=30, cyc_dose_cut=1.0)
    assert list(f["prednisone_dose_group"].cat.categories) == ["<30", ">=30"]
    assert f["prednisone_dose_group"].astype(object).tolist() == ["<30", "<30", ">=30", np.nan]
    assert f["cyc_induction_dose_group"].astype(object).tolist() == [">=1 g", ">=1 g", np.nan, ">=1 g"]


def test_definitions_choose_the_outcome_columns():
    f = analysis_frame(build(), definitions={"lda10": paper_lda.with_thresholds(prednisone_max=10)})
    assert f["lda10_ever"].tolist() == [True, True, False, False]
    assert "cr_ever" not in f.columns
    f = analysis_frame(build(), definitions=["lldas", "doris"])
    assert {"lldas_ever", "lldas_m12", "doris_ever", "doris_m12"} <= set(f.columns)
    with pytest.raises(ValueError, match="unknown response definition"):
        analysis_frame(build(), definitions=["remission"])


@pytest.mark.parametrize("cut", [0, -1, float("nan"), "20", True])
def test_bad_cuts_are_refused(cut):
    with pytest.raises(ValueError, match="prednisone_cut"):
        analysis_frame(build(), prednisone_cut=cut)


def test_outcome_columns_never_overwrite_patient_columns():
    c = build()
    c = Cohort(c.patients.assign(flare_ever=False), c.visits)
    with pytest.raises(ValueError, match="flare_ever"):
        analysis_frame(c, definitions={"flare": "lda"})
    with pytest.raises(ValueError, match="distinct"):
        analysis_frame(build(), definitions=["lda", "paper_lda"])


@pytest.mark.parametrize("order", ["sorted", "shuffled", "interleaved"])
def test_visit_grid_reads_arrow_text_ids_as_python_strings(order):
    """visit_grid compares neighbouring ids with Arrow when they are Arrow-backed text; the grid is
    the one Python strings (object dtype) give, whether the visits are sorted by patient or not,
    and a missing id or an unknown one is refused the same way."""
    import numpy as np

    from msc_sle.clinical.visits import visit_grid
    from msc_sle.contract import DataError

    rng = np.random.default_rng(3)
    ids = [f"P{i:02d}" for i in range(30)]
    rows = [(pid, m) for pid in ids for m in (0, 1, 3, 6, 12) if rng.random() < 0.8]
    visits = pd.DataFrame(rows, columns=["patient_id", "month"])
    if order == "shuffled":
        visits = visits.sample(frac=1, random_state=1).reset_index(drop=True)
    elif order == "interleaved":
        visits = visits.sort_values(["month", "patient_id"]).reset_index(drop=True)
    patients = pd.Series(ids, name="patient_id")
    results = {}
    for dtype in ("string[pyarrow]", object):
        v = visits.astype({"patient_id": dtype})
        grid = visit_grid(v, patients.astype(dtype))
        results[dtype] = (list(grid.patient_ids.astype(object)), grid.positions.tolist(), grid.slots.tolist(),
                          grid.rows.tolist())
        for bad in (None, "P99"):
            broken = v.copy()
            broken.loc[len(broken) // 2, "patient_id"] = bad
            with pytest.raises(DataError):
                visit_grid(broken.astype({"patient_id": dtype}), patients.astype(dtype))
    assert results["string[pyarrow]"] == results[object]
