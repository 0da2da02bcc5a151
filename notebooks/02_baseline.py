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
# shown as n (%) of the patients with the value recorded, continuous ones as median (range) (median
# (IQR) in the bundle for circulation outside the care team, which prints no minimum or maximum), and
# a `Missing` column counts patients without the value. Labels, units and sections come from the
# data dictionary.

# %% tags=["parameters"]
# `make run NAME=value` fills this dict; in JupyterLab, edit it (e.g. {"decimals": 2}) and run all.
# Empty: the paper's analysis on the bundled SYNTHETIC cohort. `make run LIST_PARAMS=1` lists every name.
overrides = {}
# The parameters this page reads (`make run` re-runs it only when one of them, the data or the code
# changed; reading another one stops the notebook with a message naming it).
reads = ("data_dir", "out_dir", "small_cell_min", "lda_sledai_max", "lda_prednisone_max",
         "cr_sledai_max", "cr_prednisone_max", "prednisone_cut", "decimals")

# %%
from msc_sle.compare import baseline_variables
from msc_sle.present.tables import table_one
from msc_sle.workbook.disclosure import share_plan
from msc_sle.workbook.notebook import analysed_cohort, frame_for, open_cohort, save_table
from msc_sle.workbook.params import check_parameters

params = check_parameters(**overrides).declared(reads)
cohort = analysed_cohort(open_cohort(params))

# %% [markdown]
# One row per eligible patient: the extract's baseline columns plus the derived variables
# (SLEDAI-2K per visit recomputed from the descriptors, the prednisone and CYC dose groups, and
# the outcomes LDA and CR during the year with the paper's definitions).

# %%
frame = frame_for(cohort, params)
shared = share_plan(cohort, frame, params)  # make share: the counts withheld (none by default)
print(f"{len(frame)} patients, {len(baseline_variables(frame))} baseline variables")

# %% [markdown]
# ## Table 1
#
# The outcomes are listed last, as in the paper (CR and LDA during the year after the first
# infusion).

# %%
table1 = shared.table_one(table_one(frame, baseline_variables(frame) + ["cr_ever", "lda_ever"],
                                     decimals=params["decimals"]))
save_table(table1, "table1_baseline", params["out_dir"], synthetic=cohort.synthetic, manuscript="Table 1")
table1
