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
# # 01 · The cohort: who was treated, and who is analysed
#
# This notebook loads the extract, checks it against the data contract (the data dictionary),
# applies the eligibility criteria of Wen et al. (2019, section 2.1) and shows how many patients
# each criterion removed, as a table and as a CONSORT-style flow diagram. Every later notebook
# analyses the patients left at the end of this flow.

# %% tags=["parameters"]
# `make run NAME=value` fills this dict; in JupyterLab, edit it (e.g. {"decimals": 2}) and run all.
# Empty: the paper's analysis on the bundled SYNTHETIC cohort. `make run LIST_PARAMS=1` lists every name.
overrides = {}
# The parameters this page reads (`make run` re-runs it only when one of them, the data or the code
# changed; reading another one stops the notebook with a message naming it).
reads = ("data_dir", "out_dir", "small_cell_min", "share_suppress_zero")

# %% [markdown] tags=["analyst"]
# Run it with other data or thresholds through `make run` (e.g. `make run DATA=data/private/extract`);
# the cell above holds the parameters. They are checked first, so a typo stops here with a message
# naming the parameter and its allowed values. Loading the extract validates every column against the data dictionary:
# a malformed extract stops with the full list of problems (file, row, column, value, rule).

# %%
from msc_sle.clinical import apply_eligibility, sledai2k, visit_completeness
from msc_sle.present.figures import consort_figure
from msc_sle.present.tables import attrition_table, plain_table
from msc_sle.workbook.disclosure import flow_plan
from msc_sle.workbook.notebook import open_cohort, save_table, show_figure
from msc_sle.workbook.params import check_parameters

params = check_parameters(**overrides).declared(reads)
cohort = open_cohort(params)
eligibility = apply_eligibility(cohort)  # section 2.1, shown below
shared = flow_plan(cohort, eligibility, params)  # make share: the counts withheld (none by default)

# %% [markdown]
# ## What the loader normalised or warned about
#
# The loader never coerces silently: anything it adjusted (an encoding, a delimiter, spaces in
# identifiers) or tolerated (an extra column) is listed here. An extract read through a
# `mapping.yml` (an SPSS, Stata or SAS file, a REDCap export, or columns in the centre's own names)
# also lists every column the mapping renamed, every code it recoded and every unit it converted.

# %%
print("\n".join(map(shared.text, cohort.notes)) if cohort.notes else
      "Nothing to report: the extract matched the contract as is.")

# %% [markdown]
# ## Visits and missing data
#
# Follow-up was scheduled at baseline and 1, 3, 6 and 12 months after the first infusion
# (section 2.4). A missing visit is never counted as a response later on, so the number of
# missing visits matters for every rate in `03_response`.

# %%
completeness = plain_table(shared.completeness(visit_completeness(cohort)),
                           "Visits seen and data missing, per scheduled visit")
save_table(completeness, "visit_completeness", params["out_dir"], synthetic=cohort.synthetic)
completeness

# %% [markdown]
# SLEDAI-2K is recomputed from its 24 descriptors at every visit. When the extract also carries a
# recorded total, visits where the two disagree are counted (the recomputed score is used).

# %%
mismatches = sledai2k(cohort.visits).mismatches
print(f"Visits whose recorded SLEDAI total disagrees with the descriptors: {shared.mismatch_text(len(mismatches))} "
      f"of {shared.visits_text(len(cohort.visits))}")

# %% [markdown]
# ## Eligibility (section 2.1)
#
# Criteria are applied in order; each patient is counted under the first criterion he or she
# fails. A patient whose data for a criterion is missing is excluded by it and counted apart
# ("of whom data missing"): eligibility must be shown, not assumed.

# %%
flow = shared.attrition(eligibility.attrition)
attrition = attrition_table(flow)
save_table(attrition, "attrition", params["out_dir"], synthetic=cohort.synthetic)
attrition

# %% [markdown]
# The flow diagram below is the same table drawn as a CONSORT flow: the extract at the top, the
# patients removed by each criterion on the right, the analysed cohort at the bottom.

# %%
fig = consort_figure(flow, small_cell_min=params["small_cell_min"])
show_figure(fig, "consort_flow", params["out_dir"], synthetic=cohort.synthetic)

# %% [markdown]
# ## Reasons for exclusion
#
# Counts per criterion and reason, criteria in the paper's order (no patient-level rows are shown).

# %%
reasons = plain_table(shared.reasons(eligibility.excluded.groupby(["criterion", "reason"], sort=False).size()
                                     .rename("patients").reset_index()),
                      "Reasons for exclusion", columns={"reason": "Reason", "patients": "Patients"})
save_table(reasons, "exclusion_reasons", params["out_dir"], synthetic=cohort.synthetic)
reasons

# %% [markdown]
# **Analysed cohort.** The patients remaining after the last criterion are the cohort of the
# following notebooks (which re-apply the same criteria on the same data).

# %%
print(f"{len(eligibility.cohort.patients)} of {len(cohort.patients)} patients are eligible and analysed.")
