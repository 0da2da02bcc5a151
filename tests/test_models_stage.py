"""The models stage's lupus side (msc_sle.prognosis) and what the pages print of it (present, workbook).

The estimates themselves are checked in tests/stats against R and published worked examples; here
the preparation is checked by hand: the design (dummy coding, reference levels, steps, labels,
complete cases), the first-response intervals from hand-built visits, the grouping, the sensitivity
table's shape, and the tables and figures built from the results.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msc_sle.clinical import SLEDAI2K_WEIGHTS, doris, paper_cr, paper_lda
from msc_sle.contract import Cohort
from msc_sle.prognosis import (PER_UNIT, first_response, fit_prognostic_model, model_data, response_label,
                               sensitivity_analysis, sledai_trajectories, time_to_response, validate_model)
from msc_sle.present.figures import calibration_figure, cumulative_incidence_figure, trajectory_figure
from msc_sle.present.format import result_sentence
from msc_sle.present.tables import regression_table, sensitivity_table
from msc_sle.stats import summary
from msc_sle.stats.longitudinal import mixed_model
from msc_sle.stats.models import firth_logistic
from msc_sle.stats.survival import cumulative_incidence


# --------------------------------------------------------------------------------------------
# hand-built data
# --------------------------------------------------------------------------------------------
def _frame(n=60, seed=1):
    """A frame with the analysis frame's dtypes: a continuous predictor (years), a boolean, a
    two-level category with a shown level (sex, shows F), a three-level category (ln_class)."""
    rng = np.random.default_rng(seed)
    age = rng.normal(35, 9, n).round()
    cyc = rng.random(n) < 0.6
    sex = np.where(rng.random(n) < 0.8, "F", "M")
    ln = rng.choice(["III", "IV", "V"], n)
    lp = -0.5 + 0.06 * (age - 35) - 0.8 * cyc + 0.5 * (ln == "IV")
    cr = rng.random(n) < 1 / (1 + np.exp(-lp))
    return pd.DataFrame({
        "patient_id": pd.array([f"P{i:03d}" for i in range(n)], dtype="string"),
        "age_years": age, "prior_cyc": pd.array(cyc, dtype="boolean"),
        "sex": pd.Categorical(sex, categories=["F", "M"]),
        "ln_class": pd.Categorical(ln, categories=["I", "II", "III", "IV", "V", "VI"]),
        "sledai_m0": pd.array(rng.integers(8, 30, n), dtype="Int64"),
        "cr_ever": pd.array(cr, dtype="boolean"),
    })


def test_design_codes_each_kind_against_its_reference_with_dictionary_labels():
    frame = _frame()
    d = model_data(frame, "cr_ever", ["age_years", "prior_cyc", "sex", "ln_class", "sledai_m0"])
    t = d.terms.set_index("term")
    assert list(t.index) == ["age_years", "prior_cyc", "sex[F]", "ln_class[IV]", "ln_class[V]", "sledai_m0"]
    # continuous: per 10 years (the dictionary unit of age is years)
    assert PER_UNIT["years"] == 10 and t.loc["age_years", "per"] == 10
    np.testing.assert_allclose(d.X["age_years"], frame["age_years"] / 10)
    assert t.loc["age_years", "label"] == "Age/years (per 10 years)"
    assert t.loc["sledai_m0", "label"] == "SLEDAI score at baseline (per point)"
    # boolean: yes vs no
    np.testing.assert_array_equal(d.X["prior_cyc"], frame["prior_cyc"].astype(float))
    assert (t.loc["prior_cyc", "label"], t.loc["prior_cyc", "reference"]) == ("CYC use", "no")
    # two levels with a shown level (the dictionary shows F): F vs M, labelled as Table 2 does
    np.testing.assert_array_equal(d.X["sex[F]"], (frame["sex"] == "F").astype(float))
    assert (t.loc["sex[F]", "label"], t.loc["sex[F]", "reference"]) == ("Female", "M")
    # three levels present (I, II, VI absent): the first present is the reference
    assert set(t.loc[["ln_class[IV]", "ln_class[V]"], "reference"]) == {"III"}
    np.testing.assert_array_equal(d.X["ln_class[V]"], (frame["ln_class"] == "V").astype(float))
    assert t.loc["ln_class[IV]", "label"] == "Stage >= 3 lupus nephritis: IV"
    assert d.n == len(frame) and d.n_events == int(frame["cr_ever"].sum()) and d.n_excluded == 0
    assert d.epv.n_predictors == 6 and d.outcome_label == "CR during 1 year"
    assert d.exclusions().endswith("no value missing.")


def test_complete_cases_are_counted_per_missing_variable():
    frame = _frame()
    frame.loc[[0, 1], "age_years"] = np.nan
    frame.loc[[1, 2, 3], "ln_class"] = np.nan
    frame.loc[4, "cr_ever"] = pd.NA
    d = model_data(frame, "cr_ever", ["age_years", "ln_class"], label="CR during the year")
    assert d.n == len(frame) - 5 and d.n_excluded == 5 and d.n_total == len(frame)
    assert d.missing.set_index("variable")["n_missing"].to_dict() == {"cr_ever": 1, "age_years": 2, "ln_class": 3}
    text = d.exclusions()
    assert f"{len(frame) - 5} of {len(frame)} patients analysed" in text and "5 left out" in text
    assert "Age/years missing for 2" in text and "CR during the year missing for 1" in text
    assert not d.X.isna().any().any()


def test_predictors_that_cannot_be_estimated_are_refused_with_the_reason():
    frame = _frame()
    frame["prior_prednisone"] = pd.array([True] * len(frame), dtype="boolean")
    with pytest.raises(ValueError, match="Prednisone use.*same in every analysed patient"):
        model_data(frame, "cr_ever", ["age_years", "prior_prednisone"])
    with pytest.raises(ValueError, match="outcome"):
        model_data(frame, "cr_ever", ["cr_ever"])
    with pytest.raises(ValueError, match="not columns"):
        model_data(frame, "cr_ever", ["anti_xyz"])
    frame["lda_ever"] = pd.array([True] * len(frame), dtype="boolean")
    with pytest.raises(ValueError, match="same outcome"):
        model_data(frame, "lda_ever", ["age_years"])


# --------------------------------------------------------------------------------------------
# model, table, validation
# --------------------------------------------------------------------------------------------
def test_model_passes_the_design_to_firth_and_ml_and_lays_out_the_table(tmp_path):
    d = model_data(_frame(), "cr_ever", ["age_years", "prior_cyc", "ln_class"], label="CR during the year")
    m = fit_prognostic_model(d)
    ref = firth_logistic(d.X, d.y)
    t = m.table().set_index("term")
    np.testing.assert_allclose(t["firth_or"], ref.table.loc[t.index, "odds_ratio"])
    alone = firth_logistic(d.X[["prior_cyc"]], d.y)
    assert t.loc["prior_cyc", "uni_or"] == pytest.approx(alone.table.loc["prior_cyc", "odds_ratio"])
    assert m.ml.exists and np.isfinite(t["ml_p"]).all()
    table = regression_table(m)
    body = table.body
    assert list(body["Characteristic"]) == ["Age/years (per 10 years)", "CYC use", "Stage >= 3 lupus nephritis",
                                            "III", "IV", "V"]
    assert list(table.row_kinds) == ["variable", "variable", "variable", "level", "level", "level"]
    assert body.iloc[3, 1] == "ref." and body.iloc[2, 1] == ""
    assert body.iloc[1, 1].count(" to ") == 1 and body.columns[4] == "p, Firth"
    notes = " ".join(table.footnotes)
    for words in ("profile penalised-likelihood CI", "penalised likelihood-ratio test", "Wald z test",
                  "events per variable", "complete cases"):
        assert words in notes
    from msc_sle.workbook.notebook import save_table
    written = save_table(table, "model", tmp_path, manuscript=True)
    assert sorted(p.name for p in written) == [f"model.{ext}" for ext in ("csv", "data.csv", "docx", "xlsx")]
    assert list(pd.read_csv(tmp_path / "tables" / "model.data.csv")["term"]) == list(t.index)
    assert list(pd.read_csv(tmp_path / "tables" / "model.csv").columns) == list(table.body.columns)  # as printed


def test_ml_columns_are_empty_when_the_mle_does_not_exist():
    frame = _frame()
    frame["rash"] = frame["cr_ever"]  # a predictor that separates the outcome completely
    m = fit_prognostic_model(model_data(frame, "cr_ever", ["age_years", "rash"]))
    assert not m.ml.exists and np.isfinite(m.firth.table["odds_ratio"]).all()
    table = regression_table(m)
    assert set(table.body["Adjusted OR (95% CI), ML"]) == {"–"}
    assert any("not reported" in n and "separated" in n for n in table.footnotes)


def test_validation_is_seeded_and_zero_samples_gives_apparent_only():
    m = fit_prognostic_model(model_data(_frame(), "cr_ever", ["age_years", "prior_cyc"]))
    calls = []
    a = validate_model(m, n_bootstrap=30, seed=3, progress=lambda i, n: calls.append(i))
    b = validate_model(m, n_bootstrap=30, seed=3)
    pd.testing.assert_frame_equal(a.summary(), b.summary())
    assert calls[-1] == 30 and calls == sorted(set(calls))  # rising to n as the batches are refitted
    s = a.summary().set_index("measure")
    assert s.loc["c-statistic (AUC)", "corrected"] == pytest.approx(
        s.loc["c-statistic (AUC)", "apparent"] - s.loc["c-statistic (AUC)", "optimism"])
    assert a.corrected_line() == (a.bootstrap.table.loc["intercept", "corrected"],
                                  a.bootstrap.table.loc["slope", "corrected"])
    assert a.calibration.c == pytest.approx(a.bootstrap.c_apparent)
    none = validate_model(m, n_bootstrap=0)
    assert none.bootstrap is None and none.corrected_line() is None
    assert none.summary()["corrected"].isna().all() and "apparent only" in none.text()
    fig = calibration_figure(a.calibration, corrected=a.corrected_line(), annotation=a.annotation())
    assert "corrected" in " ".join(t.get_text() for t in fig.axes[0].texts)


# --------------------------------------------------------------------------------------------
# first response from hand-built visits
# --------------------------------------------------------------------------------------------
ACTIVE = ("arthritis",)  # SLEDAI-2K 4: not CR


def _visit(pid, month, present=(), prednisone=5.0, unknown=()):
    row = {"patient_id": pid, "month": month, **{d: d in present for d in SLEDAI2K_WEIGHTS},
           "prednisone_mg": prednisone}
    row.update({d: pd.NA for d in unknown})
    return row


def _cohort():
    patients = pd.DataFrame({"patient_id": pd.array(list("ABCDE"), dtype="string")})
    visits = [
        # A: CR first seen at month 6, every visit attended -> (3, 6]
        _visit("A", 0, ACTIVE, 20), _visit("A", 1, ACTIVE, 10), _visit("A", 3, ACTIVE, 10), _visit("A", 6),
        _visit("A", 12),
        # B: month 3 missed, CR at month 6 -> (1, 6], widened
        _visit("B", 0, ACTIVE, 20), _visit("B", 1, ACTIVE, 10), _visit("B", 6), _visit("B", 12, ACTIVE),
        # C: never in CR -> censored at 12
        *[_visit("C", m, ACTIVE, 10) for m in (0, 1, 3, 6, 12)],
        # D: baseline only -> no information on the timing
        _visit("D", 0, ACTIVE, 20),
        # E: month 1 cannot be classified (a renal descriptor unrecorded), CR at month 3 -> (0, 3], widened
        _visit("E", 0, ACTIVE, 20), _visit("E", 1, unknown=("proteinuria",)), _visit("E", 3), _visit("E", 6, ACTIVE),
        _visit("E", 12, ACTIVE),
    ]
    v = pd.DataFrame(visits).astype({d: "boolean" for d in SLEDAI2K_WEIGHTS} | {"patient_id": "string",
                                                                                 "month": "Int64"})
    return Cohort(patients, v)


def test_first_response_intervals_from_hand_built_visits():
    r = first_response(_cohort(), paper_cr).set_index("patient_id")
    assert list(r.index) == list("ABCDE")
    got = {pid: (row.left, row.right, row.event, row.widened, row.followed)
           for pid, row in r.iterrows() if row.followed}
    assert got == {"A": (3.0, 6.0, True, False, True), "B": (1.0, 6.0, True, True, True),
                   "C": (12.0, 12.0, False, False, True), "E": (0.0, 3.0, True, True, True)}
    assert not r.loc["D", "followed"] and not r.loc["D", "event"] and r.loc["D", "n_visits"] == 0
    assert r.loc["B", "n_visits"] == 3 and r.loc["E", "n_visits"] == 3


def test_first_response_is_the_same_whatever_the_visit_order_and_from_a_given_classification():
    """Visits in key order skip first_event's sort; shuffled ones are sorted: the same intervals. A
    classification passed in (a multi-centre node has it already) gives what one made inside does."""
    from msc_sle.clinical import classify_response

    cohort = _cohort()
    expected = first_response(cohort, paper_cr)
    shuffled = Cohort(cohort.patients, cohort.visits.sample(frac=1, random_state=3).reset_index(drop=True))
    pd.testing.assert_frame_equal(first_response(shuffled, paper_cr), expected)
    pd.testing.assert_frame_equal(first_response(cohort, paper_cr, classified=classify_response(cohort, paper_cr)),
                                  expected)

    # first_event itself on rows out of order: subjects shuffled, then one subject's months descending
    from msc_sle.stats.survival import first_event

    long = pd.DataFrame({"id": list("aaabbbccc"), "t": [1.0, 2, 3] * 3,
                         "e": [False, True, True, False, False, True, False, False, False]})
    want = first_event(long, subject="id", time="t", event="e")
    for order in ([3, 4, 5, 0, 1, 2, 6, 7, 8], [0, 1, 2, 5, 4, 3, 6, 7, 8], list(range(8, -1, -1))):
        pd.testing.assert_frame_equal(first_event(long.iloc[order], subject="id", time="t", event="e"), want)


def test_time_to_response_groups_and_passes_the_intervals_on():
    cohort = _cohort()
    frame = pd.DataFrame({"patient_id": list("ABCDE"),
                          "prior_cyc": pd.array([True, False, True, True, pd.NA], dtype="boolean"),
                          "age_years": [30.0, 40.0, 50.0, 60.0, 35.0]})
    ttr = time_to_response(cohort, frame, paper_cr, by="prior_cyc")
    assert ttr.n_unfollowed == 1 and ttr.n_group_missing == 1  # D unfollowed; E's group unknown
    assert ttr.overall.method == "turnbull" and ttr.overall.n == 4 and ttr.overall.n_events == 3
    ref = cumulative_incidence([6, 6, 12, 3], [True, True, False, True], left=[3, 1, 12, 0])
    pd.testing.assert_frame_equal(ttr.overall.table, ref.table)
    assert ttr.by_group.groups == ("CYC use: no", "CYC use: yes") and ttr.group_title == "CYC use (yes / no)"
    assert ttr.shown is ttr.by_group and ttr.test is ttr.by_group.test
    assert "log-rank" in result_sentence(ttr.test) and "months 1, 3, 6, 12" in ttr.schedule_note()
    # a continuous predictor splits at its median (type 6), the lower group below it
    by_age = time_to_response(cohort, frame, paper_cr, by="age_years")
    median = summary(frame["age_years"].to_numpy()).median
    assert by_age.by_group.groups == (f"Age/years < {median:g} years", f"Age/years >= {median:g} years")
    fig = cumulative_incidence_figure(ttr.by_group, overall=ttr.overall, small_cell_min=5)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "CYC use: no (n = 1)", "CYC use: yes (n = 2)", "All patients (n = 4)"]
    risk = fig.axes[1]
    assert [t.get_text() for t in risk.get_yticklabels()] == ["All", "CYC use: yes", "CYC use: no"]
    assert "<5" in [t.get_text() for t in risk.texts] and "Numbers at risk" in risk.get_title(loc="left")


# --------------------------------------------------------------------------------------------
# trajectories and sensitivity
# --------------------------------------------------------------------------------------------
def _with_sledai(frame, seed=2):
    rng = np.random.default_rng(seed)
    out = frame.copy()
    base = rng.integers(8, 25, len(out))
    for k, m in enumerate((0, 1, 3, 6, 12)):
        fall = np.where(out["cr_ever"].to_numpy(bool), 3 * k, k)
        out[f"sledai_m{m}"] = pd.array(np.clip(base - fall + rng.integers(-2, 3, len(out)), 0, None), dtype="Int64")
    out.loc[out.index[:3], "sledai_m6"] = pd.NA
    return out


def test_trajectories_feed_the_mixed_model_and_the_raw_medians():
    frame = _with_sledai(_frame())
    traj = sledai_trajectories(frame, "cr_ever", label="CR during the year")
    assert traj.groups == ("CR during the year: no", "CR during the year: yes")
    assert traj.n_missing == 3 and traj.n_observations == 5 * len(frame) - 3 and traj.n_patients == len(frame)
    yes = frame["cr_ever"].to_numpy(bool)
    raw = traj.raw.set_index(["group", "month"])
    ref = summary(frame.loc[yes, "sledai_m12"].astype(float).to_numpy())
    assert raw.loc[("CR during the year: yes", 12), "median"] == ref.median
    assert raw.loc[("CR during the year: no", 6), "n"] == int((~yes[3:]).sum())
    long = frame.melt(id_vars=["patient_id", "cr_ever"], value_vars=[f"sledai_m{m}" for m in (0, 1, 3, 6, 12)])
    yes_no = np.where(long["cr_ever"].astype(bool), "CR during the year: yes", "CR during the year: no")
    long = long.assign(month=long["variable"].str[len("sledai_m"):].astype(int), group=yes_no,
                       sledai=long["value"].astype("Float64").astype(float)).dropna(subset=["sledai"])
    direct = mixed_model(long, outcome="sledai", time="month", group="group", subject="patient_id")
    np.testing.assert_allclose(traj.mixed.means["mean"], direct.means["mean"], rtol=1e-6)
    assert traj.note().startswith(f"{len(frame)} patients (CR during the year: no: ")
    table = traj.means_table()
    assert list(table.columns) == ["group", "month", "n", "mean", "ci_lower", "ci_upper", "median", "q1", "q3"]
    assert len(table) == 10
    fig = trajectory_figure(traj.mixed.means, traj.raw, groups=traj.groups)
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["Estimated mean (95% CI), linear mixed model",
                                                             "Observed median (quartiles)"]


def test_sensitivity_refits_each_definition_and_says_which_cannot_be_modelled():
    frame = _frame()
    frame["lda_ever"] = frame["cr_ever"] | pd.array(np.arange(len(frame)) % 3 == 0, dtype="boolean")
    frame["doris_ever"] = pd.array([False] * len(frame), dtype="boolean")  # nobody: no model
    predictors = ["age_years", "prior_cyc", "ln_class"]
    s = sensitivity_analysis(frame, predictors, {"cr": paper_cr, "lda": paper_lda, "doris": doris})
    t = s.table
    assert len(t) == 2 * 4 + 1 and s.outcomes == ("cr_ever", "lda_ever", "doris_ever")
    assert list(t.loc[t["outcome"] == "lda_ever", "term"]) == ["age_years", "prior_cyc", "ln_class[IV]",
                                                               "ln_class[V]"]
    lda_fit = firth_logistic(model_data(frame, "lda_ever", predictors).X, frame["lda_ever"].astype(float))
    assert t.loc[(t["outcome"] == "lda_ever") & (t["term"] == "prior_cyc"), "odds_ratio"].item() == \
        pytest.approx(lda_fit.table.loc["prior_cyc", "odds_ratio"])
    doris_row = t[t["outcome"] == "doris_ever"].iloc[0]
    assert pd.isna(doris_row["term"]) and doris_row["note"].startswith("not modelled") and doris_row["n_events"] == 0
    assert set(t["outcome_label"]) == {response_label(paper_cr), response_label(paper_lda), response_label(doris)}
    table = sensitivity_table(s)
    assert table.body.shape == (2 + 4, 1 + 3)
    assert list(table.body.columns) == ["Characteristic", "CR during the year", "LDA during the year",
                                        "DORIS remission during the year"]
    assert table.body.iloc[0, 3] == f"0/{len(frame)}" and table.body.iloc[1, 3] == "–" == table.body.iloc[2, 3]
    assert table.body.iloc[1, 1] == f"{s.table['epv'].iloc[0]:.1f}"
    assert "p = " in table.body.iloc[2, 1] and any(n.startswith("DORIS remission during the year: not modelled")
                                                     for n in table.footnotes)
    survivors = s.survivors()
    assert list(survivors["definitions"]) == [2, 2, 2, 2]


def test_progress_bar_is_silent_outside_a_kernel():
    from msc_sle.workbook.notebook import progress_bar
    assert progress_bar(10, "steps") is None and progress_bar(0) is None
