"""07_models' TRIPOD table (models.prediction_report, present.tables.prediction_table) on the exact data
the page models, against R, to the precision the page prints.

Reference values: tests/stats/data/reference_prediction.R, part 3, on the default model (outcome,
predictors, seed and n_bootstrap of msc_sle.workbook.params) of the bundled SYNTHETIC cohort;
tests/stats/data/dump_model_data.py writes that model's data and the 1000 bootstrap samples of
its seed for R (R 4.2, brglm2 Firth fits from a zero start, glm for FLIC and the ML likelihood
ratio, quantile(type = 7); run 2026 on this machine). A change to the bundled cohort or to those
defaults changes the numbers: rerun both scripts and update the values below.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msc_sle.clinical import apply_eligibility, load_cohort
from msc_sle.prognosis import fit_prognostic_model, model_data, prediction_report, response_label, validate_model
from msc_sle.present.figures import calibration_figure
from msc_sle.present.format import format_fixed, format_significant
from msc_sle.present.tables import prediction_equation, prediction_table
from msc_sle.workbook.notebook import frame_for
from msc_sle.workbook.params import check_parameters

R_FIRTH = [-2.7660305336673, 0.6209248413519, 0.0221867933730, 0.0305618869596, -1.3791588000015]
R_FLIC = -2.84137981884
R_MEAN_RISK_FIRTH = 0.244254572511
R_LR, R_LR_P, R_HEURISTIC = 7.16530331049, 0.12740632878, 0.441754266823
R_COX_SNELL, R_MAX_COX_SNELL = 0.0986349797606, 0.661450760901
R_C_CORRECTED, R_SLOPE_CORRECTED = 0.621722354199, 0.678061101114
R_C_CI = (0.527811178355, 0.800342996726)            # location-shifted
R_SLOPE_CI = (0.144089669961, 1.365021706466)        # per-sample corrected slopes
R_SHRUNK = [-2.28693938452, 0.4210249816363, 0.0150440015447, 0.0207228267239, -0.9351539345408]
R_REFITS = 999


@pytest.fixture(scope="module")
def fitted():
    params = check_parameters()
    cohort = apply_eligibility(load_cohort()).cohort
    definition = params.outcome_definition()
    frame = frame_for(cohort, params, {params.outcome: definition})
    data = model_data(frame, f"{params.outcome}_ever", params.names("predictors"), label=response_label(definition))
    model = fit_prognostic_model(data)
    validation = validate_model(model, n_bootstrap=params.n_bootstrap, seed=params.seed)
    return model, validation, prediction_report(model, validation)


def test_report_equals_r_on_the_page_data(fitted):
    _, validation, r = fitted
    assert validation.bootstrap.n_bootstrap - validation.bootstrap.n_failed == R_REFITS
    c = r.coefficients
    assert c["coef"].iloc[0] == pytest.approx(R_FLIC, abs=1e-6)
    assert r.intercept_firth == pytest.approx(R_FIRTH[0], abs=1e-6)
    np.testing.assert_allclose(c["coef"].iloc[1:], R_FIRTH[1:], atol=1e-6)
    np.testing.assert_allclose(c["shrunk_coef"], R_SHRUNK, atol=1e-6)
    np.testing.assert_allclose(c["shrunk_or"], np.exp(R_SHRUNK), rtol=1e-6)
    assert r.shrinkage == pytest.approx(R_SLOPE_CORRECTED, abs=1e-6)
    assert (r.lr_chi2, r.lr_p, r.heuristic_shrinkage) == pytest.approx((R_LR, R_LR_P, R_HEURISTIC), abs=1e-6)
    assert r.mean_risk_firth == pytest.approx(R_MEAN_RISK_FIRTH, abs=1e-9)
    assert r.mean_risk_flic == pytest.approx(r.observed_risk, abs=1e-9)
    perf = r.performance.set_index("measure")
    assert perf.loc["c", "corrected"] == pytest.approx(R_C_CORRECTED, abs=1e-6)
    assert (perf.loc["c", "ci_lower"], perf.loc["c", "ci_upper"]) == pytest.approx(R_C_CI, abs=1e-6)
    assert (perf.loc["slope", "ci_lower"], perf.loc["slope", "ci_upper"]) == pytest.approx(R_SLOPE_CI, abs=1e-6)


def test_sample_size_scenarios_take_r_s_r2(fitted):
    _, _, r = fitted
    s = r.sample_size.set_index("scenario")["r2_cs"]
    assert s.iloc[0] == pytest.approx(0.15 * R_MAX_COX_SNELL, abs=1e-9)
    assert s.iloc[1] == pytest.approx(R_HEURISTIC * R_COX_SNELL, abs=1e-9)
    assert r.minimum_n[0] > r.data.n and r.exploratory


def test_the_table_prints_r_s_numbers_at_its_precision(fitted):
    _, _, r = fitted
    t = prediction_table(r)
    cells = t.body.to_numpy().ravel().tolist()
    text = " ".join(cells) + " " + t.title + " " + " ".join(t.footnotes)
    assert format_fixed(R_FLIC, 3) in cells and format_fixed(R_FIRTH[0], 3) in cells
    for b, s in zip(R_FIRTH[1:], R_SHRUNK[1:]):
        assert f"{format_fixed(b, 3)} (OR {format_significant(np.exp(b), 3)})" in cells
        assert f"{format_fixed(s, 3)} (OR {format_significant(np.exp(s), 3)})" in cells
    assert (f"{format_fixed(R_C_CORRECTED, 3)} (95% CI {format_fixed(R_C_CI[0], 3)} to "
            f"{format_fixed(R_C_CI[1], 3)})") in cells
    assert (f"{format_fixed(R_SLOPE_CORRECTED, 2)} (95% CI {format_fixed(R_SLOPE_CI[0], 2)} to "
            f"{format_fixed(R_SLOPE_CI[1], 2)})") in cells
    assert f"{format_fixed(100 * R_MEAN_RISK_FIRTH, 1)}% (Firth)" in cells
    low, high = r.minimum_n
    assert f"n = {r.data.n} ({r.data.n_events} with the outcome) against a minimum of {low} to {high}" in t.title
    assert t.title.endswith("exploratory") and "exploratory" in text
    # the equation a reader applies: the shrunken intercept and slopes, each with its sign
    eq = prediction_equation(r)
    assert eq.startswith(f"logit P({r.data.outcome_label}) = {format_fixed(R_SHRUNK[0], 3)} ")
    assert f"- {format_fixed(-R_SHRUNK[4], 3)} × [" in eq and eq in t.footnotes[0]
    assert "Noma" in text and "FLIC" in text


def test_calibration_line_stays_within_the_predicted_range(fitted):
    _, validation, _ = fitted
    lo, hi = validation.predicted.min(), validation.predicted.max()
    fig = calibration_figure(validation.calibration, corrected=validation.corrected_line(),
                             predicted_range=(lo, hi))
    line = next(ln for ln in fig.axes[0].lines if ln.get_label().startswith("Optimism-corrected"))
    x = line.get_xdata()
    assert x.min() == pytest.approx(lo) and x.max() == pytest.approx(hi)
    # without the range: the lowess smooth's, which runs over every prediction
    fig = calibration_figure(validation.calibration, corrected=validation.corrected_line())
    line = next(ln for ln in fig.axes[0].lines if ln.get_label().startswith("Optimism-corrected"))
    assert line.get_xdata().max() == pytest.approx(hi)


def test_a_sample_above_the_minimum_is_not_called_exploratory():
    rng = np.random.default_rng(3)
    n = 900
    age = rng.normal(35, 9, n).round()
    nephritis = rng.random(n) < 0.5
    outcome = rng.random(n) < 1 / (1 + np.exp(-(-0.3 + 0.05 * (age - 35) - 0.9 * nephritis)))
    frame = pd.DataFrame({"age_years": age, "active_lupus_nephritis": pd.array(nephritis, dtype="boolean"),
                          "cr_ever": pd.array(outcome, dtype="boolean")})
    model = fit_prognostic_model(model_data(frame, "cr_ever", ["age_years", "active_lupus_nephritis"]))
    r = prediction_report(model, validate_model(model, n_bootstrap=50, seed=1))
    assert r.data.n >= r.minimum_n[1] and not r.exploratory
    t = prediction_table(r)
    assert "exploratory" not in t.title and not any("exploratory" in f for f in t.footnotes)


def test_without_bootstrap_the_table_says_so_and_offers_no_shrunken_model(fitted):
    model, _, _ = fitted
    r = prediction_report(model, validate_model(model, n_bootstrap=0))
    assert np.isnan(r.shrinkage) and r.coefficients["shrunk_coef"].isna().all()
    t = prediction_table(r)
    assert "no bootstrap" in " ".join(t.body.iloc[:, 0])
    assert t.body.iloc[2, 2] == "–"  # the first slope's shrunken cell
    assert prediction_equation(r) == "–" and "exploratory" in t.title
    assert prediction_equation(r, shrunk=False) in t.footnotes[0] and "no shrunken model" in t.footnotes[0]
