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
# # 02 · Baseline characteristics (Table 1)
#
# This notebook describes the analysed patients before MSC transplantation, as the paper's
# Table 1 does: demographics, prior SLE medication, clinical and biological symptoms, CYC
# induction, the MSC transplantation itself and SLEDAI-2K at baseline. Categorical variables are
# shown as n (%) of the patients with the value recorded, continuous ones as median (range), and
# a `Missing` column counts patients without the value. Labels, units and sections come from the
# data dictionary.

# %% tags=["parameters"]
data_dir = None  # folder with the patients and visits tables, None for the bundled SYNTHETIC cohort
out_dir = None  # folder for tables/ and figures/, None writes nothing
prednisone_cut = 20.0  # baseline prednisone split (mg/day), low below, high at or above
decimals = 1  # decimals of the percentages shown
small_cell_min = 0  # counts below this show as "<N" (make share), 0 shows all

# %%
from msc_sle import analysis_frame, apply_eligibility, table_one
from msc_sle.params import check_parameters
from msc_sle.report import baseline_variables, open_cohort, save_table, share_safe

params = check_parameters(data_dir=data_dir, out_dir=out_dir, prednisone_cut=prednisone_cut, decimals=decimals,
                          small_cell_min=small_cell_min)
cohort = apply_eligibility(open_cohort(params)).cohort

# %% [markdown]
# One row per eligible patient: the extract's baseline columns plus the derived variables
# (SLEDAI-2K per visit recomputed from the descriptors, the prednisone and CYC dose groups, and
# the outcomes LDA and CR during the year with the paper's definitions).

# %%
frame = analysis_frame(cohort, prednisone_cut=params["prednisone_cut"])
print(f"{len(frame)} patients, {len(baseline_variables(frame))} baseline variables")

# %% [markdown]
# ## Table 1
#
# The outcomes are listed last, as in the paper (CR and LDA during the year after the first
# infusion).

# %%
table1 = share_safe(table_one(frame, baseline_variables(frame) + ["cr_ever", "lda_ever"],
                              decimals=params["decimals"]), params["small_cell_min"])
save_table(table1, "table1_baseline", params["out_dir"])
table1

# %% [markdown]
# How each value is shown, and what `Missing` counts:

# %%
print("\n".join(table1.footnotes))
