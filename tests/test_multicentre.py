"""The vantage6 algorithm (federated/v6_msc_sle) on the bundled cohort split into three centres:
what pools exactly equals the single-site analysis of the concatenated extracts; nothing a node
sends in the clear is a count below its threshold; a small centre refuses; a centre with another
dictionary or a malformed extract ends the task with one message naming it.

The algorithm runs in .venv-federated (make multicentre creates it), as a program, through
vantage6's MockAlgorithmClient; the single-site side runs here, with the workbook's own functions.
"""
from __future__ import annotations

import csv
import json
import math
import sys

import numpy as np
import pandas as pd
import pytest

from msc_sle.clinical import analysis_frame, apply_eligibility, classify_response, load_cohort
from msc_sle.contract.paths import BUNDLED_DATA, REPO_ROOT
from msc_sle.prognosis import first_response, model_data
from msc_sle.rates import cumulative_response, response_rates
from msc_sle.stats import fisher_exact, pearson_chi2, summary
from msc_sle.stats.models import firth_logistic
from msc_sle.stats.survival import cumulative_incidence
from msc_sle.tools import multicentre as mc
from msc_sle.workbook.params import check_parameters

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not mc.FEDERATED_PYTHON.exists(),
                                 reason="the federated environment is absent: make multicentre creates it")]

SECRET = {"MSC_SLE_CONSORTIUM_SECRET": "a-test-secret-of-the-consortium"}


def _concatenate(centres: dict, folder):
    """One extract holding every centre's rows: the single-site analysis's input."""
    folder.mkdir()
    for table in ("patients", "visits"):
        rows, header = [], None
        for path in centres.values():
            with open(path / f"{table}.csv", encoding="utf-8") as f:
                r = list(csv.reader(f))
            header, rows = r[0], rows + r[1:]
        with open(folder / f"{table}.csv", "w", encoding="utf-8", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows([header, *rows])
    return folder


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    root = tmp_path_factory.mktemp("centres")
    centres = mc.split_extract(BUNDLED_DATA, root / "centres", seed=11)
    result = mc.run_federated(centres, root / "result.json", {}, env=SECRET)
    cohort = load_cohort(_concatenate(centres, root / "pooled"))
    eligibility = apply_eligibility(cohort)
    params = check_parameters()
    frame = analysis_frame(eligibility.cohort, params.definitions(), prednisone_cut=params["prednisone_cut"])
    return centres, result, eligibility, frame, params


def test_the_split_is_unequal_with_a_small_centre_and_leaves_data_alone(split):
    centres, result, *_ = split
    sizes = [sum(1 for _ in open(p / "patients.csv")) - 1 for p in centres.values()]
    assert sum(sizes) == len(pd.read_csv(BUNDLED_DATA / "patients.csv"))
    assert len(set(sizes)) == 3 and min(sizes) < sum(sizes) / 5
    assert [c["centre"] for c in result["centres"]] == list(centres)


def test_attrition_equals_the_single_site_flow(split):
    _, result, eligibility, *_ = split
    single = eligibility.attrition.set_index("criterion")
    for row in result["attrition"]:
        assert row["remaining"] == single.loc[row["criterion"], "remaining"]
        if row["criterion"] != "screened":
            assert row["excluded"] == single.loc[row["criterion"], "excluded"]
            assert row["missing"] == single.loc[row["criterion"], "missing"]
    assert len(result["attrition"]) == len(single)


def test_counts_and_quantiles_equal_the_single_site_table(split):
    _, result, _, frame, _ = split
    groups = {"all": frame.index == frame.index, "cr=yes": frame["cr_ever"].fillna(False).to_numpy(bool)}
    groups["cr=no"] = ~groups["cr=yes"]
    checked = 0
    for row in result["table"]:
        part = frame[groups[row["group"]]][row["variable"]]
        assert row["n_valid"] == part.notna().sum(), row
        if row["variable"] in result["levels"]:
            counts = part.astype("string").value_counts()
            for level in result["levels"][row["variable"]]:
                assert row[f"count|{level}"] == counts.get(level, 0), (row["variable"], level)
        elif row["n_valid"]:
            s = summary(part.astype("float64").to_numpy())
            for stat, value in (("median", s.median), ("q1", s.q1), ("q3", s.q3), ("min", s.min), ("max", s.max)):
                assert row[stat] == pytest.approx(value, abs=1e-9), (row["variable"], row["group"], stat)
            checked += 1
    assert checked >= 10


def test_pearson_and_fisher_equal_the_single_site_tests(split):
    _, result, _, frame, _ = split
    n = 0
    for t in result["tests"]:
        if "pearson_p" not in t:
            continue
        table = pd.crosstab(frame["cr_ever"].fillna(False), frame[t["variable"]].astype("string")).reindex([True, False], fill_value=0)
        assert t["pearson_p"] == pytest.approx(pearson_chi2(table.to_numpy()).pvalue, rel=1e-12), t["variable"]
        if "fisher_p" in t:
            assert t["fisher_p"] == pytest.approx(fisher_exact(table.to_numpy()).pvalue, rel=1e-12), t["variable"]
        n += 1
    assert n >= 20


def test_response_rates_and_cumulative_response_equal_the_single_site_ones(split):
    _, result, eligibility, _, params = split
    for outcome in ("cr", "lda"):
        res = classify_response(eligibility.cohort, params.definitions()[outcome])
        single = response_rates(res)
        ours = [r for r in result["rates"] if r["outcome"] == outcome]
        assert [r["n"] for r in ours] == single["n"].tolist()
        assert [r["missing"] for r in ours] == single["missing visits"].tolist()
        assert [r["percent"] for r in ours] == pytest.approx(single["percent"].tolist(), abs=1e-12)
        assert [r["ci_low"] for r in ours] == pytest.approx(single["ci_low"].tolist(), abs=1e-12)
        cum = cumulative_response(res)
        assert [r["n"] for r in result["cumulative"] if r["outcome"] == outcome] == cum["n"].tolist()


def test_cumulative_incidence_equals_the_single_site_estimate(split):
    _, result, eligibility, _, params = split
    for outcome in ("cr", "lda"):
        fr = first_response(eligibility.cohort, params.definitions()[outcome])
        fr = fr[fr["followed"]]
        single = cumulative_incidence(fr["right"].to_numpy(float), fr["event"].to_numpy(bool),
                                      left=fr["left"].to_numpy(float)).table
        ours = pd.DataFrame([r for r in result["incidence"] if r["outcome"] == outcome and "time" in r])
        assert len(ours) == len(single)
        assert ours["cum_incidence"].to_numpy() == pytest.approx(single["cum_incidence"].to_numpy(), abs=1e-12)
        assert ours["n_risk"].to_numpy() == pytest.approx(single["n_risk"].to_numpy(float))


def test_firth_coefficients_equal_the_single_site_fit(split):
    _, result, _, frame, params = split
    data = model_data(frame, "cr_ever", params.names("predictors"))
    single = firth_logistic(data.X, data.y, confint="wald").table["coef"].to_numpy(float)
    model = result["model"]
    assert model["converged"] and model["n"] == data.n
    np.testing.assert_allclose(model["coef"], single, rtol=0, atol=1e-8)


def test_no_node_sends_a_count_below_its_threshold_in_the_clear(tmp_path):
    sys.path.insert(0, str(REPO_ROOT / "federated"))
    try:
        from v6_msc_sle import node
    finally:
        sys.path.pop(0)
    import os
    os.environ.update(SECRET)
    try:
        for folder in mc.split_extract(BUNDLED_DATA, tmp_path, seed=11).values():
            answer = node.answer(str(folder), {"kind": "summary", "centres": ["1", "2", "3"], "nonce": "n",
                                               "overrides": {}}, "1")
            assert "refused" not in answer
            release = answer["release"]
            clear = [r[k] for r in release["attrition"] for k in ("excluded", "remaining")]
            clear += [c for t in release["tables"].values() if t["counts"] for row in t["counts"] for c in row]
            assert set(release) == {"attrition", "tables"}   # nothing else leaves in the clear
            assert all(c is None or c >= answer["threshold"] for c in clear)
            assert any(c is None for c in clear)   # the small centre's and the tables' small counts were withheld
            # the pooled counts and the stratified tests' terms leave masked: they read as nothing like counts
            assert len(answer["counts"]) > len(answer["keys"]) and answer["stratified"]
            assert all(int(c) > 10 ** 20 for c in answer["counts"][:20] + answer["counts"][-20:])
    finally:
        for key in SECRET:
            os.environ.pop(key, None)


def _message(tmp_path, centres, **kwargs) -> str:
    with pytest.raises(mc.MulticentreError) as err:
        mc.run_federated(centres, tmp_path / "result.json", {}, env=SECRET, **kwargs)
    return str(err.value)


def test_a_centre_with_too_few_patients_refuses(tmp_path):
    centres = mc.split_extract(BUNDLED_DATA, tmp_path / "c", seed=11, shares=(0.6, 0.35, 0.05))
    text = _message(tmp_path, centres)
    assert "Centre C" in text and "refused" in text and "threshold" in text
    assert "\n" not in text


def test_a_centre_with_another_dictionary_ends_the_task(tmp_path):
    centres = mc.split_extract(BUNDLED_DATA, tmp_path / "c", seed=11)
    other = tmp_path / "dictionary.csv"
    other.write_text((REPO_ROOT / "data" / "dictionary.csv").read_text(encoding="utf-8") + "\n", encoding="utf-8")
    text = _message(tmp_path, centres, extra_args=["--dictionary", f"Centre B={other}"])
    assert "Centre B" in text and "dictionary" in text and "\n" not in text


def test_a_malformed_extract_ends_the_task_naming_the_centre(tmp_path):
    centres = mc.split_extract(BUNDLED_DATA, tmp_path / "c", seed=11)
    path = centres["Centre B"] / "patients.csv"
    rows = list(csv.reader(open(path, encoding="utf-8")))
    rows[2][rows[0].index("age_years")] = "forty-one"
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    text = _message(tmp_path, centres)
    assert "Centre B" in text and "patients.csv, row 3, column 'age_years'" in text and "not a number" in text
    assert "forty-one" not in text and "\n" not in text


def _centre_frame(centres: dict, params) -> pd.DataFrame:
    """Every centre's analysis frame, one after the other, with the centre as a column."""
    frames = []
    for name, folder in centres.items():
        eligible = apply_eligibility(load_cohort(folder)).cohort
        f = analysis_frame(eligible, params.definitions(), prednisone_cut=params["prednisone_cut"])
        frames.append(f.assign(centre=name))
    return pd.concat(frames, ignore_index=True)


def test_cmh_and_van_elteren_at_the_default_threshold_equal_the_single_site_stratified_tests(split):
    # no centre's table or rank sum leaves it: both tests come from the centres' terms summed securely
    from msc_sle.stats.stratified import cochran_mantel_haenszel, van_elteren

    centres, result, _, _, params = split
    assert result["threshold"] == 5
    frame = _centre_frame(centres, params)
    ever = frame["cr_ever"].fillna(False).to_numpy(bool)
    kinds = {"categorical": 0, "continuous": 0}
    for t in result["tests"]:
        col = frame[t["variable"]]
        if t["kind"] == "categorical":
            cat = col.astype("string") if not isinstance(col.dtype, pd.CategoricalDtype) else col
            strata = np.array([pd.crosstab(pd.Categorical(ever[frame["centre"] == c], categories=[True, False]),
                                           pd.Categorical(cat[frame["centre"] == c].astype("string"),
                                                          categories=result["levels"][t["variable"]]),
                                           dropna=False).to_numpy() for c in centres])
            single = cochran_mantel_haenszel(strata)
            assert t.get("cmh_p", math.nan) == pytest.approx(single.pvalue, rel=1e-9, nan_ok=True), (t, single)
            assert t.get("cmh_df", single.df) == single.df
        else:
            single = van_elteren(col.astype(float).to_numpy(), np.where(ever, "yes", "no"),
                                 frame["centre"].to_numpy(), group1="yes")
            assert t["van_elteren_p"] == pytest.approx(single.pvalue, rel=1e-9), t["variable"]
            assert t["van_elteren_z"] == pytest.approx(single.statistic, rel=1e-9)
        kinds[t["kind"]] += 1
        # every variable the pooled table can test has its stratified test too, whatever the centres' sizes
        assert (("cmh_p" in t) == ("pearson_p" in t)) if t["kind"] == "categorical" else "van_elteren_p" in t, (t, single)
    assert kinds["categorical"] >= 15 and kinds["continuous"] >= 8


def test_stratified_tests_meta_analysis_and_centre_term_equal_the_single_site_ones(tmp_path):
    # nodes configured to let every count out (threshold 1): each centre's own table then leaves,
    # so the meta-analysis can be checked against the single-site one, beside CMH and van Elteren
    from msc_sle.stats.meta import log_odds_ratio, random_effects_meta
    from msc_sle.stats.stratified import cochran_mantel_haenszel, van_elteren

    centres = mc.split_extract(BUNDLED_DATA, tmp_path / "c", seed=11)
    result = mc.run_federated(centres, tmp_path / "r.json", {"outcome": "lda"}, centre_term=True,
                              env={**SECRET, "MSC_SLE_MIN_COUNT": "1"})
    params = check_parameters()
    frame = _centre_frame(centres, params)
    tests = {t["variable"]: t for t in result["tests"]}
    ever = frame["lda_ever"].fillna(False).to_numpy(bool)
    t = tests["age_years"]
    single = van_elteren(frame["age_years"].astype(float).to_numpy(), np.where(ever, "yes", "no"),
                         frame["centre"].to_numpy(), group1="yes")
    assert t["van_elteren_p"] == pytest.approx(single.pvalue, rel=1e-10)
    t = tests["cyc_induction"]
    strata = np.array([pd.crosstab(pd.Categorical(ever[frame["centre"] == c], categories=[True, False]),
                                   pd.Categorical(frame.loc[frame["centre"] == c, "cyc_induction"].astype(bool),
                                                  categories=[True, False]), dropna=False).to_numpy()
                       for c in centres])
    assert t["cmh_p"] == pytest.approx(cochran_mantel_haenszel(strata).pvalue, rel=1e-10)
    ors = [log_odds_ratio(*s.ravel()) for s in strata]
    meta = random_effects_meta([o.estimate for o in ors], [o.std_error for o in ors], method="REML")
    assert t["meta"]["estimate"] == pytest.approx(meta.estimate, rel=1e-10)
    assert t["meta"]["tau2"] == pytest.approx(meta.tau2, abs=1e-12)
    # 07's model with a centre term: one indicator per centre after the first
    data = model_data(frame, "lda_ever", params.names("predictors"))
    X = data.X.assign(**{f"centre {c}": (frame.loc[data.X.index, "centre"] == c).astype(float)
                         for c in list(centres)[1:]})
    single = firth_logistic(X, data.y, confint="wald").table["coef"].to_numpy(float)
    assert result["model"]["centre_term"] and len(result["model"]["coef"]) == len(single)
    np.testing.assert_allclose(result["model"]["coef"], single, rtol=0, atol=1e-8)


def test_a_quoted_extract_splits_into_the_same_centres_as_a_plain_one(tmp_path):
    """The usual export is split line by line, any other through the csv module: both readings give
    the same centres' files (here the bundled extract, and the same written with every cell quoted
    and Windows line ends)."""
    import csv
    import io
    import shutil

    quoted = tmp_path / "quoted"
    quoted.mkdir()
    shutil.copy(BUNDLED_DATA / "manifest.json", quoted / "manifest.json")
    for name in ("patients.csv", "visits.csv"):
        buf = io.StringIO()
        csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(
            csv.reader(io.StringIO((BUNDLED_DATA / name).read_text(encoding="utf-8-sig"))))
        (quoted / name).write_text(buf.getvalue(), encoding="utf-8")
    plain = mc.split_extract(BUNDLED_DATA, tmp_path / "plain", seed=11)
    other = mc.split_extract(quoted, tmp_path / "other", seed=11)
    for centre in plain:
        for name in ("patients.csv", "visits.csv"):
            assert (plain[centre] / name).read_bytes() == (other[centre] / name).read_bytes(), (centre, name)
    assert sum(len((f / "visits.csv").read_text().splitlines()) - 1 for f in plain.values()) == \
        len((BUNDLED_DATA / "visits.csv").read_text().strip().splitlines()) - 1


def test_table_2_across_centres_says_why_a_cell_has_no_p_value():
    """No bare dash: a cell without a p-value reads 'n/a' (not a test of this variable) or 'no test'
    (nothing to compare), and a footnote says what each means."""
    result = {"outcome": "cr", "tests": [
        {"variable": "age_years", "kind": "continuous", "van_elteren_p": 0.02},
        {"variable": "prior_prednisone", "kind": "categorical"},
        {"variable": "sex", "kind": "categorical", "pearson_p": 0.45, "fisher_p": 0.67, "cmh_p": 0.66},
        {"variable": "prednisone_dose_group", "kind": "categorical", "pearson_p": 0.3, "cmh_p": 0.5},
    ]}
    from msc_sle.contract import variable

    table = mc.tests_frame(result)
    rows = {r["variable"]: r for r in table.tidy.to_dict("records")}
    age, use = rows[variable("age_years").display_label], rows[variable("prior_prednisone").display_label]
    assert (age["Pearson (pooled)"], age["Fisher (pooled)"], age["stratified by centre"]) == ("n/a", "n/a", "0.02")
    assert (use["Pearson (pooled)"], use["Fisher (pooled)"], use["stratified by centre"]) == ("no test",) * 3
    assert rows[variable("prednisone_dose_group").display_label]["Fisher (pooled)"] == "n/a"
    assert "–" not in table.body.to_string()
    notes = " ".join(table.footnotes)
    assert "n/a: not a test of this variable" in notes and "no test: nothing to compare" in notes


def test_blank_records_are_dropped_by_either_reading(tmp_path):
    """A record of commas only (and an empty line) in a plain export: it is dropped, and the centres
    are those of the same extract without it."""
    import shutil

    blank = tmp_path / "blank"
    shutil.copytree(BUNDLED_DATA, blank)
    lines = (blank / "visits.csv").read_text(encoding="utf-8").splitlines()
    width = lines[0].count(",")
    (blank / "visits.csv").write_text("\n".join(lines[:5] + ["," * width] + lines[5:9] + [""] + lines[9:]) + "\n",
                                      encoding="utf-8")
    plain = mc.split_extract(BUNDLED_DATA, tmp_path / "plain", seed=11)
    other = mc.split_extract(blank, tmp_path / "other", seed=11)
    for centre in plain:
        for name in ("patients.csv", "visits.csv"):
            assert (plain[centre] / name).read_bytes() == (other[centre] / name).read_bytes(), (centre, name)
