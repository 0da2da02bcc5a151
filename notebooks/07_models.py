# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 07 · Beyond the univariate tests: a prognostic model, time to response and SLEDAI trajectories
#
# The paper tested each baseline variable on its own (Table 2). This notebook asks the questions a
# univariate table cannot answer, with the methods small samples call for:
#
# 1. **Which baseline factors predict the response together?** A multivariable logistic regression
#    with Firth's penalised likelihood (finite estimates even when a predictor separates responders
#    from non-responders), beside the ordinary maximum likelihood fit where it exists.
# 2. **How well would the model predict in new patients?** Harrell's bootstrap corrects the
#    c-statistic and the calibration slope for optimism (the model is judged on the patients it
#    was fitted to).
# 3. **When is the response first reached?** The cumulative incidence of a first response over
#    the visits at months 1, 3, 6 and 12, overall and by a predictor.
# 4. **How does SLEDAI-2K evolve in responders and non-responders?** A mixed model for repeated
#    measures (MMRM).
# 5. **Does the answer depend on the response definition?** The model refitted for each
#    definition the workbook offers.
#
# In the bundle shared outside the care team, every small count this page prints (patients
# analysed and left out, events, numbers at risk, patients scored) is withheld as on the other
# pages; the models' estimates, fitted on the whole cohort, are printed (the appendix explains how).

# %% tags=["parameters"]
# `make run NAME=value` fills this dict; in JupyterLab, edit it (e.g. {"predictors": "age_years,prior_cyc"})
# and run all. Empty: the default model on the bundled SYNTHETIC cohort. `make run LIST_PARAMS=1` lists them.
overrides = {}
# The parameters this page reads (`make run` re-runs it only when one of them, the data or the code
# changed; reading another one stops the notebook with a message naming it).
reads = ("data_dir", "out_dir", "small_cell_min", "share_suppress_zero", "lda_sledai_max",
         "lda_prednisone_max", "cr_sledai_max", "cr_prednisone_max", "prednisone_cut", "outcome",
         "predictors", "n_bootstrap", "seed", "model_max_patients", "alpha")

# %% [markdown] tags=["analyst"]
# Parameters: `outcome` (the response modelled), `predictors` (the candidate predictors),
# `n_bootstrap` and `seed` (the bootstrap), `alpha`, `model_max_patients` (above it, a seeded random
# sample of that many patients is modelled, and the page says so). `make share` withholds its small
# counts (`docs/disclosure.md`).

# %%
from IPython.display import display

from msc_sle.prognosis import (fit_prognostic_model, linearity_checks, model_data, model_sample, multiplicity_statement,
                               nested_definitions, prediction_report, response_label, sensitivity_analysis,
                               sledai_trajectories, sparse_predictors, time_to_response, validate_model)
from msc_sle.present.figures import calibration_figure, cumulative_incidence_figure, trajectory_figure
from msc_sle.present.format import hazard_sentence, p_text, result_sentence
from msc_sle.present.tables import (covariance_structures_table, plain_table, prediction_summary, prediction_table,
                                     regression_table, sensitivity_table)
from msc_sle.workbook.notebook import (analysed_cohort, frame_for, open_cohort, progress_bar, save_table, show_figure,
                                       show_text)
from msc_sle.workbook.params import check_parameters
from msc_sle.workbook.share_models import models_share

params = check_parameters(**overrides).declared(reads)
cohort, sampled = model_sample(analysed_cohort(open_cohort(params)), params["model_max_patients"], params["seed"])

# %%
if sampled:  # a registry-size extract: the models are fitted on a seeded sample of patients
    show_text(sampled)
shared = models_share(cohort, params)  # make share: the counts withheld (none by default)
count = shared.count  # every count in a sentence goes through the share mode's small-count rule

# %% [markdown]
# ## The outcome and the default predictors
#
# The default predictors were chosen on clinical grounds, listed below. They were **not** chosen
# blind to the data: **age was known to be associated with response before this model was built**,
# since it is the paper's headline univariate result (its abstract and Table 2, reproduced on the
# 04_predictors page, for both LDA and CR). Its odds ratio here is therefore not an independent
# confirmation of the paper, and is expected to look stronger than it would in a new cohort.
#
# - **age** at the infusion: later-onset and older SLE patients have milder disease and lower
#   activity (Rovenský, Formiga, Bertoli: cited in the paper's discussion);
# - **SLE duration**: long-standing disease accumulates damage and refractoriness;
# - **baseline SLEDAI-2K**: the further a patient starts from the LDA/CR thresholds, the more the
#   score must fall to reach them;
# - **active lupus nephritis**: renal activity is "major organ activity", which LDA and CR forbid,
#   and lupus nephritis is the classic marker of refractory disease. Most patients have it: its
#   odds ratio rests on the few without it (counted below).
#
# The paper's significant univariate findings (arthralgia/arthritis, prior cyclophosphamide or
# hydroxychloroquine) are *not* the default: putting a variable in the model *because* its p-value
# was small re-uses the same data twice, so the adjusted odds ratios are biased away from 1, the
# confidence intervals too narrow and the p-values too small (Harrell, *Regression Modeling
# Strategies*, section 4.3); they can be tried as an exploratory model. CR is rare in this cohort:
# the rule of thumb of 10 events per predictor allows only one or two predictors. The events per variable (EPV) are printed, with a warning below 10; Firth's
# penalisation and the bootstrap optimism correction reduce, but do not remove, the bias and
# over-fitting that a low EPV brings. The analysis is complete-case: patients missing a predictor
# are left out and counted.

# %%
definitions = params.response_definitions()
definition = definitions[params.outcome]
frame = frame_for(cohort, params, definitions)
show_text(definition.describe())
try:
    data = model_data(frame, f"{params.outcome}_ever", params.names("predictors"), label=response_label(definition))
except ValueError as why:  # nobody eligible, one outcome only, a predictor every patient shares
    data, not_modelled = None, f"Not computable: {why}. The sections below say so too."
    show_text(not_modelled)
else:
    show_text(*shared.describe_data(data))
    for sentence in sparse_predictors(data, count=count):
        show_text(sentence + ".")

# %% [markdown]
# ## The model: univariable and adjusted odds ratios
#
# Each predictor alone, then all together, by Firth's penalised likelihood (profile
# penalised-likelihood 95% confidence intervals, penalised likelihood-ratio tests: the conventions
# of R's `logistf`); the ordinary maximum likelihood fit (Wald intervals and tests, statsmodels) is
# shown beside it where its estimates exist, i.e. without separation. Continuous predictors are
# given per a readable step (age per 10 years, duration per 12 months). The table is saved as CSV,
# XLSX and DOCX; its footnotes name the method behind every interval and p-value.
#
# **Every fit is checked before it is printed**: separation (Konis' linear-programming test), the
# maximum reached again from several starting points, a negative-definite Hessian, and each
# interval containing its estimate. A fit that fails prints "not estimable", and a footnote says why
# in terms of the patients (e.g. almost every patient responded); its numbers are not shown.

# %%
if data is None:
    show_text(not_modelled)
else:
    model = fit_prognostic_model(data, alpha=params.alpha)
    if not model.estimable("firth"):  # nothing is validated or calibrated on a fit that is not a maximum
        not_modelled = model.refusal(count)
    table = shared(regression_table(model, count=count))
    save_table(table, f"model_{params.outcome}", params.out_dir, synthetic=cohort.synthetic, manuscript=True)
    display(table)

# %% [markdown]
# **Is each continuous predictor linear on the log-odds scale?** The model gives one odds ratio per
# step of age, duration and baseline SLEDAI-2K, as if the effect were the same everywhere. Each is
# replaced in turn by a restricted cubic spline with 4 knots (Harrell's default; the other
# predictors unchanged, ordinary maximum likelihood as R's `rms::lrm`), and the 2 nonlinear terms
# are tested. A small p says the straight line misfits; a large one, with 69 patients, only that a
# curve could not be detected.

# %%
if data is not None:
    display(plain_table(linearity_checks(data), "Linearity of each continuous predictor: restricted cubic spline "
                        "(4 knots) against the straight line", columns={
                            "label": "Predictor", "df": "Nonlinear df", "lr_statistic": "LR chi-square",
                            "lr_p": "p, likelihood ratio", "wald_p": "p, Wald (as anova.rms)", "note": "Note"},
                        formats={"df": "int", "lr_statistic": "fixed:2", "lr_p": "p", "wald_p": "p"},
                        footnotes=("Knots at the 5th, 35th, 65th and 95th percentiles (below 100 patients the outer "
                                   "knots at the 5th smallest and largest value), as Hmisc::rcspline.eval.",)))

# %% [markdown]
# ## Internal validation: how optimistic is the model?
#
# A model always fits the patients it was built on better than new ones. Harrell's bootstrap
# (as `rms::validate`) refits the model, with the same predictors, in each of many
# samples drawn with replacement; the average loss of performance from a bootstrap sample to the
# original data is the *optimism*, and apparent minus optimism is the *corrected* performance.
# The c-statistic (AUC) measures discrimination (0.5 = chance); the calibration slope measures
# over-fitting (1 = none; below 1, predictions are too extreme and should be shrunk). The
# bootstrap is seeded: the same run gives the same numbers.

# %% [markdown] tags=["analyst"]
# The bar below follows the refits (`n_bootstrap` samples; the same `seed` gives the same numbers).
# To try the paper's univariate findings as an exploratory model:
# `make run PREDICTORS=age_years,arthralgia_arthritis,prior_cyc`.

# %% tags=["nbval-ignore-output"]
validation = None if data is None or not model.estimable("firth") else validate_model(
    model, n_bootstrap=params.n_bootstrap, seed=params.seed,
    progress=progress_bar(params.n_bootstrap, "bootstrap samples refitted"))
validation = validation if validation is None else shared(validation)

# %%
if validation is None:
    show_text(not_modelled)
else:
    show_text(validation.text())
    display(plain_table(validation.summary(), "Apparent and optimism-corrected performance", columns={
        "measure": "Measure", "apparent": "Apparent", "optimism": "Optimism", "corrected": "Corrected",
        "replicates": "Bootstrap samples refitted"},
        formats={"apparent": "fixed:3", "optimism": "fixed:3", "corrected": "fixed:3", "replicates": "int"}))

# %% [markdown]
# The calibration plot puts the observed proportion of responders against the predicted
# probability: the apparent lowess curve, groups of patients by predicted risk (Wilson 95% CIs),
# and the optimism-corrected recalibration line, which shows how the predictions would have to be
# shrunk for new patients. That line is drawn only from the lowest to the highest predicted risk:
# where the model predicted no one, nothing is known of its calibration.

# %%
if validation is not None:
    fig = calibration_figure(validation.calibration, corrected=validation.corrected_line(),
                             annotation=validation.annotation(),
                             title=f"Calibration: {data.outcome_label} (n = {data.n})",
                             predicted_range=(validation.predicted.min(), validation.predicted.max()))
    show_figure(fig, f"calibration_{params.outcome}", params.out_dir, synthetic=cohort.synthetic)

# %% [markdown]
# ## The prediction model as TRIPOD asks it reported
#
# A reader who wants to apply or check the model needs its whole equation, intercept included, and
# an honest account of how far it can be trusted (TRIPOD, Collins et al. 2015, items 10d and 14-16):
#
# - **The intercept (FLIC).** Firth's penalty that keeps the coefficients finite also pulls the
#   average predicted risk towards one half. FLIC (Puhr et al. 2017) keeps Firth's coefficients
#   and refits the intercept by ordinary maximum likelihood, so the average predicted risk equals
#   the observed proportion.
# - **Shrinkage.** The optimism-corrected calibration slope from the bootstrap above is a uniform
#   shrinkage factor: every coefficient is multiplied by it, and the intercept is refitted. The
#   shrunken odds ratios are printed beside the unshrunk; the shrunken equation is the one to apply
#   to new patients.
# - **Uncertainty of the corrected performance.** The corrected c-statistic gets the
#   location-shifted bootstrap interval of Noma et al. (2021): the c-statistic of each bootstrap
#   model in its own sample, shifted by the mean optimism. That interval collapses for the
#   calibration slope (a refitted model's slope in its own sample is about 1), so the corrected
#   slope gets the percentile interval of the per-sample corrected slopes. Both reuse the
#   bootstrap samples above; nothing is refitted again.
# - **Sample size.** The minimum sample size of Riley et al. (2020) (`pmsampsize`'s three
#   criteria), printed beside the number of patients analysed, for two anticipated Cox-Snell R²:
#   15% of the largest the prevalence allows (their default when no earlier model exists) and this
#   model's own, adjusted for optimism. Below it, the model is exploratory.

# %%
if validation is None:
    show_text(not_modelled)
else:
    report = shared(prediction_report(model, validation))
if validation is not None and isinstance(report, str):  # make share: withheld with the outcome's count
    show_text(report)
elif validation is not None:
    show_text(prediction_summary(report))
    tripod = prediction_table(report)
    save_table(tripod, f"prediction_model_{params.outcome}", params.out_dir, synthetic=cohort.synthetic,
               manuscript=True)
    display(tripod)

# %% [markdown]
# ## Time to the first response
#
# Patients were seen at months 1, 3, 6 and 12 only: a first response seen at month 6 happened at
# some time after the month-3 visit. The data are *interval-censored* on the visit grid, so the
# cumulative incidence is estimated at the visits and is flat in between only by convention (no
# smoother curve is claimed). When every interval is one visit step, Turnbull's estimator for
# interval-censored data is the Kaplan-Meier estimate on the visit-grouped times (Greenwood 95%
# CIs); a missed visit widens an interval, and the workbook then switches to Turnbull. The
# log-rank test (Mantel-Haenszel over the visits, which handles the grouped ties) compares the
# groups. They are formed by the first default predictor (a continuous one split at its median,
# for the picture only); the dashed grey curve is all patients. Splitting at the median throws
# information away, so a **discrete-time proportional hazards model** (complementary log-log link,
# one hazard per visit interval) keeps the predictor continuous beside the log-rank test.
# Before a group's first response the Kaplan-Meier interval would collapse to 0%-0%; the table
# gives the exact (Clopper-Pearson) interval for no response among the patients followed to that
# visit instead.

# %%
if data is None:
    show_text(not_modelled)
else:
    by = params.names("predictors")[0]
    ttr = shared(time_to_response(cohort, frame, definition, by=by, label=definition.label, alpha=params.alpha))
    show_text(ttr.schedule_note())
    if ttr.caveats():
        show_text("CAUTION: " + ttr.caveats())
    show_text(result_sentence(ttr.test, f"By {ttr.group_title}"))
    if ttr.discrete is not None:
        show_text(hazard_sentence(ttr.discrete, f"{ttr.discrete_label}, kept continuous"))

# %%
if data is not None:
    display(plain_table(ttr.overall.table, f"First {definition.label}, all patients", columns={
        "time": "Visit", "n_risk": "At risk", "n_events": "First response", "n_censored": "Censored",
        "cum_incidence": "Cumulative incidence", "ci_lower": "95% CI, lower", "ci_upper": "95% CI, upper"},
        formats={"time": "visit", "cum_incidence": "percent:1", "ci_lower": "percent:1", "ci_upper": "percent:1"},
        footnotes=("95% CI: Kaplan-Meier with Greenwood's variance (log scale, as R survfit); at a visit before the "
                   "first response, the exact Clopper-Pearson interval for none among the patients followed to it; "
                   "none at baseline, where the incidence is 0 by definition, nor once every patient still followed "
                   "has responded (100%).",)))

# %%
if data is not None:
    fig = cumulative_incidence_figure(ttr.shown, overall=ttr.overall,
                                      title=f"First {definition.label} by {ttr.group_title}",
                                      ylabel=f"Patients with a first {definition.label} (%)",
                                      test_text=result_sentence(ttr.test), small_cell_min=params.small_cell_min)
    show_figure(fig, f"time_to_{params.outcome}", params.out_dir, synthetic=cohort.synthetic)

# %% [markdown]
# ## SLEDAI-2K trajectories in responders and non-responders
#
# A mixed model for repeated measures (MMRM), the standard model for a score measured at fixed
# visits: the visit month is a categorical factor (no linear trend is assumed), responders vs
# non-responders and their interaction with month, and the covariance between a patient's visits
# is estimated rather than assumed. Three covariance structures are fitted by REML with the same
# fixed effects, and the one with the **smallest AIC** is reported (the table below prints every
# value): *unstructured* (each visit its own variance, each pair of visits its own correlation),
# *heterogeneous compound symmetry* (each visit its own variance, one correlation) and *compound
# symmetry* (one variance, one correlation: the random-intercept model's covariance). The
# estimated means have 95% CIs from the t distribution on (visits scored − fixed effects) degrees of
# freedom, and the interaction is a Wald F test on the same denominator degrees of freedom, both as
# R's `nlme::gls` reports them (`summary.gls`, `anova.gls`); neither is the Satterthwaite or
# Kenward-Roger approximation. SLEDAI-2K cannot be negative: an interval reaching below 0 is
# printed from 0, and the page says where. The interaction asks whether the two groups' SLEDAI-2K
# evolve differently. Read it with care: responders are *defined* by a low SLEDAI-2K at a
# follow-up visit, so their trajectories must diverge; the model describes by how much and when,
# it does not test a hypothesis independent of the outcome. As sensitivity analyses: the
# random-intercept mixed model (Wald F with `anova.lme`'s degrees of freedom, and the likelihood
# ratio between maximum-likelihood fits) and the population-averaged GEE (exchangeable working
# correlation, robust errors).

# %%
if data is None:
    show_text(not_modelled)
else:
    traj = shared(sledai_trajectories(frame, f"{params.outcome}_ever", label=response_label(definition),
                                      alpha=params.alpha))
    repeated, mixed, gee = traj.mmrm, traj.mixed, traj.gee
    show_text(traj.note())
    display(covariance_structures_table(traj.covariance_table()))
    for name, t in ((f"MMRM ({repeated.structure} covariance), group x month", repeated.interaction),
                    ("Sensitivity, random-intercept model, group x month", mixed.wald_interaction),
                    ("Sensitivity, random-intercept model, group x month", mixed.lr_interaction),
                    ("Sensitivity, GEE, group x month", gee.wald_interaction)):
        show_text(result_sentence(t, name))

# %%
if data is not None:
    fig = trajectory_figure(repeated.means, traj.raw, groups=traj.groups, small_cell_min=params.small_cell_min,
                            model=f"MMRM, {repeated.structure} covariance",
                            test_text=f"interaction {p_text(repeated.interaction.p)}, Wald F",
                            caption=traj.truncation_note())
    show_figure(fig, f"trajectories_{params.outcome}", params.out_dir, synthetic=cohort.synthetic)

# %%
if data is not None:
    display(plain_table(traj.means_table(), "SLEDAI-2K per visit: model means beside the raw values", columns={
        "group": "Group", "month": "Visit", "n": "Patients scored", "mean": "Model mean",
        "ci_lower": "95% CI, lower", "ci_upper": "95% CI, upper", "median": "Raw median", "q1": "Q1", "q3": "Q3"},
        formats={"month": "visit"} | {c: "fixed:1" for c in ("mean", "ci_lower", "ci_upper")}
        | {c: "number:1" for c in ("median", "q1", "q3")},
        footnotes=tuple(filter(None, (
            f"Model mean: MMRM, month as a factor, {repeated.structure} covariance between visits (chosen by "
            f"smallest AIC); 95% CI: t on {repeated.df_residual} df (visits scored − fixed effects), "
            "as R's summary.gls.",
            traj.truncation_note(),
            "Quartiles as SPSS computes them (type 6).")))))

# %% [markdown]
# ## Sensitivity: the same model under every response definition
#
# The model is refitted with the same predictors for the paper's LDA and CR (with this run's
# thresholds), LLDAS, DORIS remission and the SLEDAI-4 reduction (the SLEDAI part of SRI-4; the
# physician global assessment, BILAG and maintenance therapy are not in the data, see `04_predictors`).
# An association that keeps its direction, and its interval away from 1, under every definition is
# less likely to be an artefact of one threshold. A definition met by almost every patient (or almost
# none) leaves too few events, or non-events, to estimate anything: its EPV says so.

# %%
if data is None:
    show_text(not_modelled)
else:
    sensitivity = sensitivity_analysis(frame, params.names("predictors"), definitions, alpha=params.alpha,
                                       count=count)
    comparison = shared(sensitivity_table(sensitivity))
    save_table(comparison, "model_sensitivity", params.out_dir, synthetic=cohort.synthetic, manuscript=True)
    display(comparison)

# %%
if data is not None:
    display(plain_table(sensitivity.survivors(), f"Which associations survive a change of definition "
                        f"(p < {params.alpha})", columns={
                            "label": "Predictor", "definitions": "Definitions modelled",
                            "not_estimable": "Not estimable (skipped)",
                            "p_below_alpha": f"With p < {params.alpha}",
                            "same_direction": "With the odds ratio on the same side of 1"},
                        footnotes=tuple(f"Skipped, not estimable: {label} (see the table above)."
                                        for label in sensitivity.skipped())))
    show_text(multiplicity_statement(data.variables["label"].iloc[0], definitions,
                                     nested_definitions(frame, definitions), count=count))

# %% [markdown]
# The "With p <" column counts the definitions under which the predictor's penalised
# likelihood-ratio p is below the significance level; the last column, how many of them put its
# odds ratio on the same side of 1. Both count only the definitions whose model is estimable: one
# that is not (too few patients on one side) is skipped and counted apart, never read as agreement.
# The paragraph above names every test of the first predictor's association with response, and
# how the definitions nest inside each other.
#
# **Reading these results.** On the bundled data every number here comes from a SYNTHETIC cohort
# built to reproduce the paper's tables, not from patients: it shows what the analysis does, not
# what MSC transplantation does. On a real extract, the events per variable and the optimism
# decide how much a reader may trust the adjusted odds ratios: an external cohort would be needed
# before the model could guide the choice of patients.
