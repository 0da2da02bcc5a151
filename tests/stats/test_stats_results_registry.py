"""Result records (pickling, dict / DataFrame round trips) and the test-name registry."""
from __future__ import annotations

import dataclasses
import math
import pickle

import pandas as pd
import pytest

from msc_sle import stats as ms
from msc_sle.stats import TESTS, Estimate, TestResult, test_info

RESULTS = [
    ms.mann_whitney([1, 2, 3, 4], [3, 5, 6, 7, 8]),
    ms.kruskal_wallis([1, 2, 3], [2, 4], [5, 6, 7]),
    ms.pearson_chi2([[3, 4], [6, 1]]),
    ms.fisher_freeman_halton([[3, 1, 4], [0, 5, 2]]),
    ms.wilcoxon_signed_rank([1, 2, -3, 4, 5]),
]
ESTIMATES = [ms.odds_ratio(3, 4, 6, 1), ms.hodges_lehmann([1, 2, 3, 4], [3, 5, 6, 7, 8])]


def _same(a, b):
    """Field-wise equality with NaN equal to NaN."""
    for f in dataclasses.fields(a):
        va, vb = getattr(a, f.name), getattr(b, f.name)
        if isinstance(va, float) and math.isnan(va):
            assert isinstance(vb, float) and math.isnan(vb), f.name
        else:
            assert va == vb, f.name


@pytest.mark.parametrize("obj", RESULTS + ESTIMATES, ids=lambda r: type(r).__name__)
def test_results_survive_pickling(obj):
    back = pickle.loads(pickle.dumps(obj))
    assert type(back) is type(obj)
    _same(obj, back)


def test_results_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        RESULTS[0].pvalue = 0.0


def test_results_make_tables():
    # a list of results is a DataFrame, one column per field; so is a concat of such frames
    frame = pd.DataFrame(RESULTS)
    assert list(frame.columns) == [f.name for f in dataclasses.fields(TestResult)]
    assert frame["test"].tolist() == ["mann_whitney", "kruskal", "chi2", "fisher_freeman_halton",
                                      "wilcoxon"]
    both = pd.concat([pd.DataFrame(RESULTS[:2]), pd.DataFrame([dataclasses.asdict(r)
                                                                for r in RESULTS[2:]])],
                     ignore_index=True)
    pd.testing.assert_frame_equal(both, frame)
    est = pd.DataFrame(ESTIMATES)
    assert list(est.columns) == ["name", "estimate", "ci_low", "ci_high", "confidence", "note"]
    assert est["name"].tolist() == ["odds ratio", "Hodges-Lehmann shift"]


def test_every_result_names_a_registered_test():
    for r in RESULTS:
        assert r.test in TESTS


def test_registry_keys_labels_and_kinds():
    assert list(TESTS) == ["mann_whitney", "kruskal", "chi2", "chi2_yates", "fisher",
                           "fisher_freeman_halton", "wilcoxon", "friedman", "cmh", "cmh_general",
                           "van_elteren"]
    assert {k: v.label for k, v in TESTS.items()} == {
        "mann_whitney": "Mann-Whitney U", "kruskal": "Kruskal-Wallis",
        "chi2": "Pearson chi-square", "chi2_yates": "Yates-corrected chi-square",
        "fisher": "Fisher's exact", "fisher_freeman_halton": "Fisher-Freeman-Halton exact",
        "wilcoxon": "Wilcoxon signed-rank", "friedman": "Friedman",
        "cmh": "Cochran-Mantel-Haenszel", "cmh_general": "generalized Cochran-Mantel-Haenszel",
        "van_elteren": "van Elteren"}
    assert {v.kind for v in TESTS.values()} == {"continuous", "categorical", "paired", "stratified"}
    assert all(v.name == k for k, v in TESTS.items())
    assert "no continuity correction, as SPSS 'Asymp. Sig.'" in TESTS["mann_whitney"].description
    with pytest.raises(TypeError):
        TESTS["new"] = TESTS["chi2"]  # read-only


def test_test_info_names_the_valid_tests():
    assert test_info("fisher").label == "Fisher's exact"
    with pytest.raises(ValueError, match="unknown test 'fisher_exact'.*mann_whitney.*van_elteren"):
        test_info("fisher_exact")


def test_estimate_defaults():
    e = Estimate("x", 1.0, 0.5, 2.0)
    assert e.confidence == 0.95 and e.note == ""
    r = TestResult("chi2", 1.0, 0.3)
    assert r.df is None and r.note == "" and math.isnan(r.zstatistic)
