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
# The controls move only in JupyterLab; this page shows their default state as static tables.

# %% tags=["parameters"]
# `make run NAME=value` fills this dict; in JupyterLab, edit it (e.g. {"decimals": 2}) and run all.
# Empty: the paper's analysis on the bundled SYNTHETIC cohort. `make run LIST_PARAMS=1` lists every name.
overrides = {}
# The parameters this page reads (`make run` re-runs it only when one of them, the data or the code
# changed; reading another one stops the notebook with a message naming it).
reads = ("data_dir", "out_dir", "small_cell_min", "share_suppress_zero", "lda_sledai_max",
         "lda_prednisone_max", "cr_sledai_max", "cr_prednisone_max", "prednisone_cut", "decimals",
         "test_rule")

# %% [markdown] tags=["analyst"]
# Open this notebook in JupyterLab (`make lab`) and run all cells to use the controls. In the
# HTML report (a headless run) the controls cannot move, so the default state is shown as a
# static table first.

# %%
import gc

from msc_sle.present.tables import rates_table
from msc_sle.workbook.explorer import explore, explorer
from msc_sle.workbook.notebook import analysed_cohort, frame_for, open_cohort
from msc_sle.workbook.params import check_parameters

params = check_parameters(**overrides).declared(reads)
cohort = analysed_cohort(open_cohort(params))
frame = frame_for(cohort, params)

# %% [markdown]
# ## The default state (static)
#
# Response rates with the thresholds of the parameters, and age compared between patients with
# and without LDA during the year (the footnotes name the test behind the p-value).

# %%
state = explore(cohort, frame, params)
print(state.headline)
rates_table(state.rates)

# %%
state.comparison

# %% [markdown]
# ## Interactive explorer (in JupyterLab)
#
# Each threshold has one control: drag its slider or type the value in its box and press Enter;
# the two always show the same value. The sliders cover the thresholds in clinical use (the panel
# states the ranges); a value the control cannot take (a fraction of a SLEDAI-2K point, a dose
# between two steps, a value beyond the range, CR looser than LDA) is refused with a message,
# never rounded. Each change recomputes everything below it at once. The comparison's p value
# uses the test Table 2 uses for the same row, so with the run's thresholds the two pages print
# the same p value.

# %% tags=["nbval-ignore-output"]
# gc.freeze() sets what is loaded so far (the libraries, the cohort) aside from Python's garbage
# collector: a full collection would otherwise rescan all of it now and then and hold a slider
# move up for 100-150 ms. It is called here, in the open, rather than by the library behind the
# notebook's back.
gc.freeze()
explorer(cohort, frame, params)
