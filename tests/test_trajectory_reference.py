"""The 07_models trajectory model on the exact data the page uses, against R nlme ``gls``.

The data: the bundled SYNTHETIC cohort with the default parameters, as 07_models builds it
(``model_sample`` of ``analysed_cohort``, ``frame_for``, ``trajectory_data`` of the default outcome):
69 patients, 345 SLEDAI-2K scores. ``python tests/test_trajectory_reference.py OUT.csv`` writes that
table for R (it is not stored: the test rebuilds it from the bundled cohort). Reference values
printed by R 4.x, nlme 3.1, with this script (``Rscript ref.R OUT.csv``):

    suppressMessages(library(nlme)); options(digits = 12)
    d <- read.csv(commandArgs(TRUE)[1])
    d$group <- factor(d$group, levels = sort(unique(d$group)))
    d$visit <- as.integer(factor(d$month)); d$month <- factor(d$month)
    d <- d[order(d$patient_id, d$visit), ]
    fit <- function(st) switch(st,
      un  = gls(sledai ~ month * group, d, correlation = corSymm(form = ~ visit | patient_id),
                weights = varIdent(form = ~ 1 | month), method = "REML"),
      csh = gls(sledai ~ month * group, d, correlation = corCompSymm(form = ~ visit | patient_id),
                weights = varIdent(form = ~ 1 | month), method = "REML"),
      cs  = gls(sledai ~ month * group, d, correlation = corCompSymm(form = ~ visit | patient_id),
                method = "REML"))
    fits <- lapply(c(un = "un", csh = "csh", cs = "cs"), fit)
    print(sapply(fits, function(m) c(logLik = logLik(m), AIC = AIC(m), BIC = BIC(m))))
    m <- fits$un
    nd <- expand.grid(month = levels(d$month), group = levels(d$group))
    L <- model.matrix(~ month * group, nd)
    est <- drop(L %*% coef(m)); se <- sqrt(diag(L %*% vcov(m) %*% t(L)))
    q <- qt(0.975, nrow(d) - length(coef(m)))
    print(data.frame(nd, mean = est, se = se, lower = est - q * se, upper = est + q * se))
    print(anova(m)["month:group", ])
    print(getVarCov(m))
    r <- lme(sledai ~ month * group, random = ~ 1 | patient_id, data = d, method = "REML")
    print(anova(r)["month:group", ])
"""
from __future__ import annotations

import contextlib
import io
import sys

import numpy as np
import pytest

R_AIC = {"unstructured": 1852.842641922, "heterogeneous compound symmetry": 1863.088828570,
         "compound symmetry": 1948.264854658}
R_LOGLIK = {"unstructured": -901.421320961, "heterogeneous compound symmetry": -915.544414285,
            "compound symmetry": -962.132427329}
# no CR, months 0, 1, 3, 6, 12; then CR
R_MEAN = [17.45283018868, 10.49056603774, 8.64150943396, 7.58490566038, 6.43396226415,
          17.37500000000, 7.68750000000, 6.68750000000, 3.87500000000, 1.56250000000]
R_SE = [0.959157831025, 0.553699636969, 0.452667376522, 0.469458844586, 0.400280463142,
        1.745693602756, 1.007748550697, 0.823867061093, 0.854427994271, 0.728521439551]
R_LOWER = [15.566099009243, 9.401399755274, 7.751080741653, 6.661446964746, 5.646582329483,
           13.941097420543, 5.705187443994, 5.066895317855, 2.194279804397, 0.129446887751]
R_UPPER = [19.33956136812, 11.57973232020, 9.53193812627, 8.50836435601, 7.22134219882,
           20.80890257946, 9.66981255601, 8.30810468214, 5.55572019560, 2.99555311225]
R_SD = [6.9828, 4.031, 3.2955, 3.4177, 2.9141]   # getVarCov: "Standard Deviations", 4 decimals


def _workbook_frame():
    from msc_sle.prognosis import model_sample, response_label
    from msc_sle.workbook.notebook import analysed_cohort, frame_for, open_cohort
    from msc_sle.workbook.params import check_parameters
    params = check_parameters()
    with contextlib.redirect_stdout(io.StringIO()):  # open_cohort displays the SYNTHETIC banner
        cohort, _ = model_sample(analysed_cohort(open_cohort(params)), params["model_max_patients"], params["seed"])
    definitions = params.response_definitions()
    frame = frame_for(cohort, params, definitions)
    return frame, f"{params.outcome}_ever", response_label(definitions[params.outcome])


@pytest.fixture(scope="module")
def trajectories():
    from msc_sle.prognosis import sledai_trajectories
    frame, outcome, label = _workbook_frame()
    return sledai_trajectories(frame, outcome, label=label)


def test_the_page_reports_the_structure_r_gls_prefers_with_its_aic(trajectories):
    r = trajectories.mmrm
    assert (r.n_obs, r.n_subjects, r.df_residual) == (345, 69, 335)
    c = trajectories.covariance_table().set_index("structure")
    for structure, aic in R_AIC.items():
        assert c.loc[structure, "aic"] == pytest.approx(aic, abs=1e-3)
        assert c.loc[structure, "loglik"] == pytest.approx(R_LOGLIK[structure], abs=1e-3)
    assert r.structure == "unstructured" and c.loc["unstructured", "chosen"] and c["chosen"].sum() == 1
    assert list(c["nlme"]) == ["corSymm + varIdent", "corCompSymm + varIdent", "corCompSymm"]  # the script above
    np.testing.assert_allclose(r.sd, R_SD, atol=1e-4)


def test_means_and_intervals_equal_r_gls(trajectories):
    m = trajectories.means_table()
    assert list(m["month"]) == [0, 1, 3, 6, 12] * 2 and m["group"].str.endswith(": no").head(5).all()
    np.testing.assert_allclose(m["mean"], R_MEAN, atol=1e-4)
    np.testing.assert_allclose(trajectories.mmrm.means["se"], R_SE, atol=1e-4)
    np.testing.assert_allclose(m["ci_lower"], R_LOWER, atol=1e-4)
    np.testing.assert_allclose(m["ci_upper"], R_UPPER, atol=1e-4)
    assert not trajectories.mmrm.means["truncated"].any() and trajectories.truncation_note() == ""


def test_interaction_tests_are_the_ones_r_computes(trajectories):
    from msc_sle.present.format import result_sentence
    t = trajectories.mmrm.interaction
    # anova.gls: month:group F-value 2.53936576714 on 4 and 335 df, p 0.0398
    assert (t.df, t.df_denominator) == (4, 335) and t.statistic == pytest.approx(2.53936576714, abs=1e-4)
    assert round(t.p, 4) == 0.0398
    # anova.lme (random intercept): F 3.13315350592 on 4 and 268 df, p 0.0153
    w = trajectories.mixed.wald_interaction
    assert (w.df, w.df_denominator) == (4, 268) and w.statistic == pytest.approx(3.13315350592, abs=1e-3)
    assert round(w.p, 4) == 0.0153
    assert "F = 2.54 on 4 and 335 df" in result_sentence(t) and "anova.gls" in result_sentence(t)
    assert "F = 3.13 on 4 and 268 df" in result_sentence(w) and "anova.lme" in result_sentence(w)


def test_the_figure_draws_the_chosen_models_means_and_names_it(trajectories):
    from msc_sle.present.figures import trajectory_figure
    r = trajectories.mmrm
    fig = trajectory_figure(r.means, trajectories.raw, groups=trajectories.groups,
                            model=f"MMRM, {r.structure} covariance")
    left = fig.axes[0]
    assert left.get_title(loc="left") == "Estimated mean (95% CI), MMRM, unstructured covariance"
    # per group: the means, then the error bars' lower and upper caps
    drawn = [line.get_ydata() for line in left.get_lines() if len(line.get_ydata()) == 5]
    expected = [R_MEAN[:5], R_LOWER[:5], R_UPPER[:5], R_MEAN[5:], R_LOWER[5:], R_UPPER[5:]]
    np.testing.assert_allclose(np.concatenate(drawn), np.concatenate(expected), atol=1e-4)


def test_a_lower_limit_below_zero_is_printed_as_zero_and_the_page_says_where():
    """DORIS remission on the same cohort: 11 patients in remission, whose M12 interval reaches below 0."""
    from msc_sle.prognosis import response_label, sledai_trajectories
    from msc_sle.workbook.params import check_parameters
    frame, _, _ = _workbook_frame()
    label = response_label(check_parameters().response_definitions()["doris"])
    t = sledai_trajectories(frame, "doris_ever", label=label)
    m = t.mmrm.means
    cut = m[m["truncated"]]
    assert [(g.endswith(": yes"), month) for g, month in zip(cut["group"], cut["time"])] == [(True, 12)]
    assert (cut["ci_lower_raw"] < 0).all() and (cut["ci_lower"] == 0).all()
    assert (m.loc[~m["truncated"], "ci_lower"] > 0).all()
    assert t.truncation_note().endswith(f"({label}: yes at M12).") and "printed as 0" in t.truncation_note()


if __name__ == "__main__":
    from msc_sle.prognosis import trajectory_data
    frame, outcome, label = _workbook_frame()
    long = trajectory_data(frame, outcome, label=label)
    long[long["sledai"].notna()].to_csv(sys.argv[1], index=False)
