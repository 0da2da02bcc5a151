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
# # 08 · The same analysis across centres, without moving patient data
#
# The paper analysed one centre; its authors' next step is a multi-centre registry. Centres that
# treat refractory lupus with MSCs cannot send one another patient-level data. This page runs the
# workbook's analysis as a **vantage6 algorithm**: each centre's node reads its own extract with
# the workbook's loader and rules, and sends back aggregates only; the central side combines them.
#
# Here the extract is split at random into three simulated centres of unequal size (one small),
# and the algorithm runs over them in one process (vantage6's MockAlgorithmClient), exactly as
# it would over three real nodes. What is pooled exactly (counts, percentages, Pearson / Fisher
# p-values, response rates, cumulative incidence, medians and quartiles, Firth's model, and the
# tests stratified by centre) equals the single-site analysis; only what needs one centre's own
# table (its odds ratio in the forest plot) follows each node's disclosure threshold.

# %% tags=["parameters"]
# `make run NAME=value` fills this dict; in JupyterLab, edit it (e.g. {"decimals": 2}) and run all.
# Empty: the paper's analysis on the bundled SYNTHETIC cohort. `make run LIST_PARAMS=1` lists every name.
overrides = {}
# The parameters this page reads (`make run` re-runs it only when one of them, the data or the code
# changed; reading another one stops the notebook with a message naming it).
reads = ("data_dir", "out_dir", "seed", "decimals", "small_cell_min", "outcome", "predictors", "lda_sledai_max",
         "lda_prednisone_max", "cr_sledai_max", "cr_prednisone_max", "prednisone_cut")

# %%
from msc_sle.present.figures import forest_plot
from msc_sle.tools import multicentre as mc
from msc_sle.workbook.notebook import open_cohort, save_table, show_figure
from msc_sle.workbook.params import check_parameters

params = check_parameters(**overrides).declared(reads)
cohort = open_cohort(params)
result = mc.multicentre_result(params)

# %% [markdown] tags=["analyst"]
# `multicentre_result` writes the three centres' extracts to a temporary folder (the extract in
# `data/` is only read), runs `federated/v6_msc_sle` in its own environment `.venv-federated`
# (`make multicentre` creates it) and returns what the central function returned: aggregates
# only. Each node applies the threshold in its own configuration (5 unless set higher).

# %% [markdown]
# ## The centres and what each ran
#
# Every node reports its extract's fingerprint and the workbook and data dictionary it ran; the
# task stops, naming the centre, if one differs or refuses.

# %%
mc.centres_table(result)

# %% [markdown]
# ## Attrition, overall and per centre
#
# The overall column is the sum over centres, exact (secure summation: the central side learns
# only the sum). A centre's own count below its threshold reads [c].

# %%
attrition = mc.attrition_frame(result)
save_table(attrition, "multicentre_attrition", params["out_dir"], synthetic=cohort.synthetic)
attrition

# %% [markdown]
# ## Table 1 across centres
#
# n (%) from pooled counts; median (Q1-Q3; range) found by bisection on pooled counts of values
# at most x, exact to the precision each variable is recorded to.

# %%
print(mc.rounds_text(result))
table1 = mc.table_frame(result, "all", params["decimals"])
save_table(table1, "multicentre_table1", params["out_dir"], synthetic=cohort.synthetic)
table1

# %% [markdown]
# ## Table 2 across centres
#
# Pearson and Fisher p-values on the pooled counts equal the single-site analysis. Beside them,
# the tests stratified by centre: Cochran-Mantel-Haenszel for categories, van Elteren for
# continuous variables (the Mann-Whitney test on pooled ranks would need every patient's value
# in one place). Each is a sum over centres of what one centre computes from its own patients,
# so every centre sends its terms securely summed, none sends its table, and every centre counts,
# however small.

# %%
tests = mc.tests_frame(result)
save_table(tests, "multicentre_table2", params["out_dir"], synthetic=cohort.synthetic)
tests

# %% [markdown]
# ## Odds ratio per centre and random-effects meta-analysis
#
# For every variable whose 2 x 2 table (response by the characteristic) at least one centre could
# release (every cell at or above its threshold): that centre's odds ratio, the random-effects
# pooled odds ratio when two or more could (REML; I² and τ² printed), and the odds ratio of the
# counts summed over all centres, which is exact. This is the one analysis of the page that needs
# a centre's own table: a small cohort split three ways leaves most centres' tables at the node,
# and the right-hand column names, beside each variable, the centres whose table held a cell
# below their threshold and so did not leave it (the stratified tests above use every centre).

# %%
forest = mc.forest_frame(result)
fig = forest_plot(forest, annotate="note", title="Odds ratio per centre, pooled by random effects and on summed counts",
                  outcome=result["outcome"].upper(), annotate_title="heterogeneity; centres left out")
show_figure(fig, "multicentre_forest", params["out_dir"], synthetic=cohort.synthetic)

# %% [markdown]
# ## Response over the year and first response
#
# Response rates per visit and during the year (Wilson 95% CIs), and the cumulative incidence of
# first response (Kaplan-Meier) from per-visit counts of events and patients at risk.

# %%
rates = mc.rates_frame(result, params["decimals"])
save_table(rates, "multicentre_rates", params["out_dir"], synthetic=cohort.synthetic)
rates

# %%
mc.incidence_frame(result, params["decimals"])

# %% [markdown]
# ## The model of 07 across centres
#
# Firth's penalised logistic regression by Newton-Raphson: at each step every centre returns its
# score, information and Firth's third-moment term for the current coefficients (securely summed),
# so the fit equals the single-site one. Intervals are Wald (profile intervals would need more rounds).

# %%
mc.model_frame(result)
