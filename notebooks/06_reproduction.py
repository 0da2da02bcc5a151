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
# # 06 · Reproduction: how close is the workbook to the paper?
#
# Two checks, kept apart on purpose:
#
# 1. **Reproduction**: every number the paper prints (Tables 1 and 2, the text, the Figure 1
#    legend; transcribed with its source in `data/published/wen2019_values.csv`) beside the value
#    the workbook computes on this cohort, marked `exact`, `within rounding` (rounds to the printed
#    value), `differs` (with what explains it, when something does) or `not computed`.
# 2. **Paper audit**: is the paper consistent with itself? Computed from the published numbers
#    alone (no patient data): p-values recomputed from the printed counts under each candidate
#    test, percentages from counts, counts that must add up or be nested.
#
# On the bundled SYNTHETIC cohort the reproduction measures how faithfully the generator matched
# the published tables; on a real extract it shows how the workbook's analysis compares with
# the published one.

# %% tags=["parameters"]
# `make run NAME=value` fills this dict; in JupyterLab, edit it (e.g. {"decimals": 2}) and run all.
# Empty: the paper's analysis on the bundled SYNTHETIC cohort. `make run LIST_PARAMS=1` lists every name.
overrides = {}

# %%
from msc_sle.clinical import apply_eligibility
from msc_sle.paper.audit import paper_audit
from msc_sle.paper.reproduction import reproduction_table
from msc_sle.workbook.disclosure import share_plan
from msc_sle.workbook.notebook import open_cohort, record, save_table
from msc_sle.workbook.params import check_parameters

params = check_parameters(**overrides)
cohort = open_cohort(params)
shared = share_plan(apply_eligibility(cohort).cohort, None, params)  # make share: the counts withheld

# %% [markdown]
# ## Reproduction score
#
# Share of the published values the workbook reproduces (exact or within rounding), per source
# and overall. The runner prints the overall line at the end of `make run`.

# %%
reproduction = shared.reproduction(reproduction_table(cohort, definitions=params.definitions(),
                                                      prednisone_cut=params["prednisone_cut"]))
save_table(reproduction.table, "reproduction", params["out_dir"])
save_table(reproduction.score, "reproduction_score", params["out_dir"])
record("reproduction_score", reproduction.headline(), text=f"Reproduction score: {reproduction.headline()}")
reproduction.score

# %% [markdown]
# ## The published values that differ
#
# Each with the printed value, the computed one and the explanation found (a slip of the paper
# found by the audit, another test that reproduces the p-value, a documented reading).

# %%
table = reproduction.table
differs = table.loc[table["status"] == "differs",
                    ["source", "location", "statistic", "published", "computed", "test", "note"]]
differs.astype({"computed": float}).round({"computed": 4}).reset_index(drop=True)

# %% [markdown]
# Values the workbook could not compute on this cohort, and why:

# %%
not_computed = table.loc[table["status"] == "not computed", ["source", "location", "statistic", "note"]]
not_computed.reset_index(drop=True)

# %% [markdown]
# ## Paper audit: is the paper consistent with itself?
#
# One row per check; `severity` is `info` (consistent, or an observation), `minor` (a slip that
# changes no conclusion) or `major` (an impossibility, or a number no reading reproduces).

# %%
audit = paper_audit()
save_table(audit, "paper_audit", params["out_dir"])
audit["severity"].value_counts().rename("findings").to_frame()

# %%
audit.loc[audit["severity"] != "info", ["severity", "check", "source", "location", "published", "finding"]] \
    .reset_index(drop=True)
