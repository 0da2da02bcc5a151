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
# # 05 · Explore: how do the response definitions change the answer?
#
# The paper's thresholds are choices: what if LDA allowed 10 mg/day of prednisone, or CR
# required SLEDAI-2K = 0? Move the sliders to change the LDA and CR thresholds, pick the response
# that splits the patients and a baseline variable to compare: the response rates (Wilson 95%
# CIs) and the comparison table are recomputed at once.
#
# Open this notebook in JupyterLab (`make lab`) and run all cells to use the controls. In the
# HTML report (a headless run) the controls cannot move, so the default state is shown as a
# static table first.

# %% tags=["parameters"]
data_dir = None  # folder with the patients and visits tables, None for the bundled SYNTHETIC cohort
lda_sledai_max = 4  # LDA: SLEDAI-2K at most this (points)
lda_prednisone_max = 7.5  # LDA: prednisone at most this (mg/day)
cr_sledai_max = 2  # CR: SLEDAI-2K at most this (points)
cr_prednisone_max = 5.0  # CR: prednisone at most this (mg/day)
decimals = 1  # decimals of the percentages shown
small_cell_min = 0  # counts below this show as "<N" (make share), 0 shows all

# %%
from msc_sle import analysis_frame, apply_eligibility
from msc_sle.params import check_parameters
from msc_sle.report import explore, explorer, open_cohort

params = check_parameters(data_dir=data_dir, lda_sledai_max=lda_sledai_max,
                          lda_prednisone_max=lda_prednisone_max, cr_sledai_max=cr_sledai_max,
                          cr_prednisone_max=cr_prednisone_max, decimals=decimals, small_cell_min=small_cell_min)
cohort = apply_eligibility(open_cohort(params)).cohort
frame = analysis_frame(cohort)

# %% [markdown]
# ## The default state (static)
#
# Response rates with the thresholds of the parameters, and age compared between patients with
# and without LDA during the year (the footnotes name the test behind the p-value).

# %%
state = explore(cohort, frame, lda_sledai_max=params["lda_sledai_max"],
                lda_prednisone_max=params["lda_prednisone_max"], cr_sledai_max=params["cr_sledai_max"],
                cr_prednisone_max=params["cr_prednisone_max"], decimals=params["decimals"],
                small_cell_min=params["small_cell_min"])
print(state.headline)
state.rates[["response", "when", "shown", "missing visits"]]

# %%
state.comparison

# %% [markdown]
# ## Interactive explorer
#
# Each control recomputes everything below it (about a hundredth of a second on this cohort).

# %% tags=["nbval-ignore-output"]
explorer(cohort, frame, params)
