"""Prednisone equivalents (5 mg prednisone = 5 prednisolone = 4 methylprednisolone = 0.75 dexamethasone
= 20 hydrocortisone), with pulses kept apart."""
import numpy as np
import pandas as pd
import pytest

from msc_sle.clinical import prednisone_equivalent, split_pulses


@pytest.mark.parametrize("dose, drug, expected", [
    (5, "prednisone", 5.0), (5, "prednisolone", 5.0), (4, "methylprednisolone", 5.0),
    (0.75, "dexamethasone", 5.0), (20, "hydrocortisone", 5.0),
    (16, "methylprednisolone", 20.0),      # 16 / 4 x 5
    (1.5, "dexamethasone", 10.0),          # 1.5 / 0.75 x 5
    (100, "hydrocortisone", 25.0),         # 100 / 20 x 5
    (0, "dexamethasone", 0.0),
])
def test_equivalences_by_hand(dose, drug, expected):
    assert prednisone_equivalent(dose, drug) == pytest.approx(expected)


def test_vectorised_over_series_with_one_drug_per_row_keeping_index_and_missing():
    dose = pd.Series([8.0, np.nan, 40.0, 3.0], index=[10, 11, 12, 13])
    drug = pd.Series(["methylprednisolone", "prednisone", "Hydrocortisone", " dexamethasone "],
                     index=[10, 11, 12, 13])
    out = prednisone_equivalent(dose, drug)
    assert out.index.tolist() == [10, 11, 12, 13]
    assert out.iloc[0] == pytest.approx(10.0) and np.isnan(out.iloc[1])
    assert out.iloc[2] == pytest.approx(10.0) and out.iloc[3] == pytest.approx(20.0)


def test_one_drug_name_for_many_doses():
    assert prednisone_equivalent([4, 8], "methylprednisolone").tolist() == pytest.approx([5.0, 10.0])


def test_unknown_drug_lists_the_known_ones():
    with pytest.raises(ValueError) as err:
        prednisone_equivalent(5, "betamethasone")
    assert "betamethasone" in str(err.value) and "methylprednisolone" in str(err.value)


def test_negative_non_numeric_and_missing_drug_are_refused():
    with pytest.raises(ValueError, match="negative"):
        prednisone_equivalent(pd.Series([5.0, -1.0]), "prednisone")
    with pytest.raises(TypeError, match="numeric"):
        prednisone_equivalent(pd.Series(["5 mg"]), "prednisone")
    with pytest.raises(TypeError, match="numeric"):
        prednisone_equivalent(True, "prednisone")
    with pytest.raises(ValueError, match="missing"):
        prednisone_equivalent(pd.Series([5.0]), pd.Series([None]))
    with pytest.raises(ValueError, match="values"):
        prednisone_equivalent(pd.Series([5.0, 4.0]), pd.Series(["prednisone"]))


def test_a_pulse_is_not_folded_into_the_daily_dose():
    # 500 mg methylprednisolone = 625 mg prednisone: a pulse (>= 250 mg, Buttgereit 2002)
    with pytest.raises(ValueError, match="split_pulses"):
        prednisone_equivalent(pd.Series([16.0, 500.0]), "methylprednisolone")
    # 160 mg methylprednisolone = 200 mg prednisone: very high, but a daily dose
    assert prednisone_equivalent(160, "methylprednisolone") == pytest.approx(200.0)
    assert prednisone_equivalent(500, "methylprednisolone", pulse_min_mg=None) == pytest.approx(625.0)


def test_split_pulses_keeps_them_apart():
    doses = split_pulses(pd.Series([16.0, 500.0, 40.0]), "methylprednisolone")
    assert doses.is_pulse.tolist() == [False, True, False]
    assert doses.pulse_mg.tolist() == pytest.approx([0.0, 625.0, 0.0])
    assert doses.daily_mg.iloc[0] == pytest.approx(20.0) and np.isnan(doses.daily_mg.iloc[1])
    assert doses.daily_mg.iloc[2] == pytest.approx(50.0)


def test_split_pulses_follows_the_extracts_flag():
    # a 100 mg methylprednisolone i.v. pulse (125 mg prednisone) flagged by the extract
    doses = split_pulses([100.0, 8.0], "methylprednisolone", pulse=[True, False])
    assert doses.is_pulse.tolist() == [True, False]
    assert doses.pulse_mg.tolist() == pytest.approx([125.0, 0.0])
    with pytest.raises(TypeError, match="pulse"):
        split_pulses([100.0], "methylprednisolone", pulse=[None])
