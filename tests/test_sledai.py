"""SLEDAI-2K scoring: weights against the dictionary and the reference, hand-scored visits."""
import re

import numpy as np
import pandas as pd
import pytest

from msc_sle.contract import DataError, table_variables
from msc_sle.clinical import (MAJOR_ORGAN_DESCRIPTORS, SEROLOGY, SLEDAI2K_DOMAINS, SLEDAI2K_WEIGHTS, sledai2k, sledai2k_domains)

DICTIONARY_DESCRIPTORS = [r["name"] for _, r in table_variables("visits").iterrows()
                          if r["description"].startswith("SLEDAI-2K descriptor")]


def visits(*rows, index=None):
    """rows: (patient_id, month, present descriptors, missing descriptors[, recorded total])."""
    records = []
    for row in rows:
        pid, month, present, missing = row[:4]
        rec = {"patient_id": pid, "month": month}
        rec.update({d: (None if d in missing else d in present) for d in DICTIONARY_DESCRIPTORS})
        if len(row) > 4:
            rec["sledai_total"] = row[4]
        records.append(rec)
    frame = pd.DataFrame(records, index=index)
    types = {d: "boolean" for d in DICTIONARY_DESCRIPTORS} | {"patient_id": "string", "month": "Int64"}
    if "sledai_total" in frame:
        types["sledai_total"] = "Int64"
    return frame.astype(types)


def test_weights_cover_exactly_the_dictionary_descriptors_in_order():
    assert list(SLEDAI2K_WEIGHTS) == DICTIONARY_DESCRIPTORS


def test_weights_match_the_dictionary_descriptions():
    # the dictionary says "SLEDAI-2K descriptor (weight N)" for each descriptor
    for _, row in table_variables("visits").iterrows():
        if row["name"] in SLEDAI2K_WEIGHTS:
            weight = int(re.search(r"weight (\d+)", row["description"]).group(1))
            assert SLEDAI2K_WEIGHTS[row["name"]] == weight, row["name"]


def test_weights_match_the_reference_table_and_sum_to_105():
    eights = ["seizure", "psychosis", "organic_brain_syndrome", "visual_disturbance",
              "cranial_nerve_disorder", "lupus_headache", "cva", "vasculitis"]
    fours = ["arthritis", "myositis", "urinary_casts", "hematuria", "proteinuria", "pyuria"]
    twos = ["rash", "alopecia", "mucosal_ulcers", "pleurisy", "pericarditis", "low_complement",
            "increased_dna_binding"]
    ones = ["fever", "thrombocytopenia", "leukopenia"]
    expected = {**dict.fromkeys(eights, 8), **dict.fromkeys(fours, 4), **dict.fromkeys(twos, 2),
                **dict.fromkeys(ones, 1)}
    assert dict(SLEDAI2K_WEIGHTS) == expected
    assert sum(SLEDAI2K_WEIGHTS.values()) == 8 * 8 + 6 * 4 + 7 * 2 + 3 * 1 == 105


def test_weights_are_read_only():
    with pytest.raises(TypeError):
        SLEDAI2K_WEIGHTS["fever"] = 8


def test_each_descriptor_is_in_exactly_one_domain_for_both_cva_readings():
    for cva_domain in ("CNS", "vascular"):
        listed = [d for items in sledai2k_domains(cva_domain).values() for d in items]
        assert sorted(listed) == sorted(SLEDAI2K_WEIGHTS)
    assert "cva" in SLEDAI2K_DOMAINS["CNS"]
    assert "cva" in sledai2k_domains("vascular")["vascular"]
    assert SLEDAI2K_DOMAINS["immunological"] == SEROLOGY == ("low_complement", "increased_dna_binding")


def test_major_organ_descriptors_are_the_lldas_reading():
    cns = {"seizure", "psychosis", "organic_brain_syndrome", "visual_disturbance", "cranial_nerve_disorder",
           "lupus_headache", "cva"}
    renal = {"urinary_casts", "hematuria", "proteinuria", "pyuria"}
    assert set(MAJOR_ORGAN_DESCRIPTORS) == cns | renal | {"vasculitis", "pleurisy", "pericarditis", "fever"}


def test_hand_scored_visits():
    v = visits(
        ("A", 0, (), ()),                                                   # nothing: 0
        ("A", 1, ("seizure", "arthritis", "fever"), ()),                    # 8 + 4 + 1 = 13
        ("A", 3, ("proteinuria", "hematuria", "low_complement", "increased_dna_binding"), ()),  # 4+4+2+2 = 12
        ("B", 0, tuple(SLEDAI2K_WEIGHTS), ()),                              # everything: 105
        ("B", 1, ("rash", "leukopenia"), ()),                               # 2 + 1 = 3
    )
    s = sledai2k(v).scores
    assert s["total"].tolist() == [0, 13, 12, 105, 3]
    assert s["clinical"].tolist() == [0, 13, 8, 101, 3]
    assert s["CNS"].tolist() == [0, 8, 0, 56, 0]           # 6 CNS items + cva = 7 x 8
    assert s["renal"].tolist() == [0, 0, 8, 16, 0]
    assert s["immunological"].tolist() == [0, 0, 4, 4, 0]
    assert s["musculoskeletal"].tolist() == [0, 4, 0, 8, 0]
    assert s["constitutional"].tolist() == [0, 1, 0, 1, 0]
    assert s["haematological"].tolist() == [0, 0, 0, 2, 1]
    assert str(s["total"].dtype) == "Int64"


def test_cva_domain_moves_only_the_subtotal():
    v = visits(("A", 0, ("cva", "vasculitis"), ()))
    cns = sledai2k(v).scores
    vascular = sledai2k(v, cva_domain="vascular").scores
    assert (cns["CNS"].iloc[0], cns["vascular"].iloc[0]) == (8, 8)
    assert (vascular["CNS"].iloc[0], vascular["vascular"].iloc[0]) == (0, 16)
    assert cns["total"].iloc[0] == vascular["total"].iloc[0] == 16
    assert sledai2k(v, cva_domain="vascular").cva_domain == "vascular"


def test_bad_cva_domain_is_refused():
    with pytest.raises(ValueError, match="cva_domain"):
        sledai2k(visits(("A", 0, (), ())), cva_domain="renal")


def test_missing_descriptor_gives_missing_total_never_zero():
    v = visits(("A", 0, ("arthritis",), ("proteinuria",)),     # renal item unknown
               ("A", 1, ("rash",), ("low_complement",)))       # serology unknown
    s = sledai2k(v).scores
    assert s["total"].isna().tolist() == [True, True]
    assert s["renal"].isna().tolist() == [True, False]
    assert s["musculoskeletal"].tolist() == [4, 0]
    # clinical SLEDAI does not need serology: known (2) at the second visit, unknown at the first
    assert s["clinical"].isna().tolist() == [True, False]
    assert s["clinical"].iloc[1] == 2


def test_scores_keep_the_visits_index():
    v = visits(("A", 0, ("fever",), ()), ("A", 1, (), ()), index=[10, 7])
    s = sledai2k(v).scores
    assert s.index.tolist() == [10, 7]
    assert s.loc[10, "total"] == 1


def test_recorded_totals_that_disagree_are_reported_not_used():
    v = visits(("A", 0, ("arthritis", "proteinuria"), (), 8),    # agrees
               ("A", 1, ("arthritis",), (), 6),                  # recorded 6, descriptors 4
               ("B", 0, ("fever",), (), None),                   # nothing recorded
               ("B", 1, (), ("fever",), 3))                      # descriptors incomplete: cannot check
    result = sledai2k(v)
    assert result.scores["total"].tolist()[:3] == [8, 4, 1]
    m = result.mismatches
    assert list(m.columns) == ["patient_id", "month", "recorded", "computed"]
    assert m[["patient_id", "month", "recorded", "computed"]].values.tolist() == [["A", 1, 6, 4]]


def test_no_recorded_total_means_no_mismatches():
    m = sledai2k(visits(("A", 0, ("fever",), ()))).mismatches
    assert m.empty and list(m.columns) == ["patient_id", "month", "recorded", "computed"]


def test_missing_descriptor_column_is_named():
    v = visits(("A", 0, (), ())).drop(columns=["pyuria", "myositis"])
    with pytest.raises(DataError) as err:
        sledai2k(v)
    assert {p.column for p in err.value.problems} == {"pyuria", "myositis"}


def test_non_boolean_descriptor_is_refused_not_coerced():
    v = visits(("A", 0, (), ()), ("A", 1, (), ()))
    v["rash"] = [0, 1]
    with pytest.raises(DataError, match="rash"):
        sledai2k(v)


def test_plain_bool_and_object_bool_columns_are_accepted():
    v = visits(("A", 0, (), ()), ("A", 1, (), ()))
    v = v.astype({d: bool for d in DICTIONARY_DESCRIPTORS})
    v["fever"] = np.array([True, None], dtype=object)
    s = sledai2k(v).scores
    assert s["total"].iloc[0] == 1 and pd.isna(s["total"].iloc[1])


def test_not_a_dataframe_is_refused():
    with pytest.raises(TypeError, match="DataFrame"):
        sledai2k([{"fever": True}])


def test_the_total_alone_is_the_hand_scored_total_and_the_mismatches_the_same():
    """sledai2k_total and recorded_total_mismatches (the loader's and eligibility's checks, which need
    no subtotal): the hand-scored totals above, a missing descriptor's missing total, the same
    mismatch table, on the visits' own index."""
    from msc_sle.clinical import recorded_total_mismatches, sledai2k_total

    v = visits(("A", 0, (), ()), ("A", 1, ("seizure", "arthritis", "fever"), (), 9),
               ("B", 0, tuple(SLEDAI2K_WEIGHTS), (), 105), ("B", 1, ("rash",), ("fever",), 7),
               ("C", 0, ("proteinuria", "hematuria", "low_complement", "increased_dna_binding"), (), 12),
               index=[10, 11, 12, 13, 14])
    total = sledai2k_total(v)
    assert total.tolist()[:3] == [0, 13, 105] and total.isna().tolist() == [False, False, False, True, False]
    assert total.tolist()[4] == 12 and str(total.dtype) == "Int64" and list(total.index) == [10, 11, 12, 13, 14]
    pd.testing.assert_series_equal(total, sledai2k(v).scores["total"], check_names=False)
    for cva in ("CNS", "vascular"):
        pd.testing.assert_frame_equal(recorded_total_mismatches(v), sledai2k(v, cva_domain=cva).mismatches)
    assert recorded_total_mismatches(v)[["patient_id", "recorded", "computed"]].values.tolist() == [["A", 9, 13]]
