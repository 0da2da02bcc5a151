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
#    legend) beside the value the workbook computes on this cohort, marked exact, within rounding
#    (rounds to the printed value), differs (with what explains it, when something does) or not
#    computed.
# 2. **Paper audit**: is the paper consistent with itself? Computed from the published numbers
#    and the text's claims alone (no patient data): p-values recomputed from the printed counts
#    under each candidate test, or tested over every table the printed numbers allow when the
#    counts are not printed; each claim about significance checked under the stated test;
#    percentages from counts and the rounding convention; counts that must add up or be nested.
#
# On the bundled SYNTHETIC cohort the reproduction measures how faithfully the generator matched
# the published tables; on a real extract it shows how the workbook's analysis compares with
# the published one. Where the paper contradicts itself, the reading chosen is set out in the
# [appendix](appendix.html), with the rules that withhold small counts in a bundle for circulation.

# %% tags=["parameters"]
# `make run NAME=value` fills this dict; in JupyterLab, edit it (e.g. {"decimals": 2}) and run all.
# Empty: the paper's analysis on the bundled SYNTHETIC cohort. `make run LIST_PARAMS=1` lists every name.
overrides = {}
# The parameters this page reads (`make run` re-runs it only when one of them, the data or the code
# changed; reading another one stops the notebook with a message naming it).
reads = ("data_dir", "out_dir", "small_cell_min", "lda_sledai_max", "lda_prednisone_max",
         "cr_sledai_max", "cr_prednisone_max", "prednisone_cut", "decimals", "test_rule")

# %% [markdown] tags=["analyst"]
# The published values are transcribed with their source in `data/published/wen2019_values.csv`,
# the text's claims in `wen2019_claims.csv`; `data/published/README.md` works through each audit
# check, `data/README.md` the readings, `docs/disclosure.md` what `make share` withholds.

# %%
from msc_sle.clinical import apply_eligibility
from msc_sle.paper.audit import paper_audit
from msc_sle.paper.pages import (audit_findings_table, audit_summary_table, differences_table, not_computed_table,
                                 printed_audit, printed_reproduction, score_table)
from msc_sle.paper.reproduction import reproduction_table
from msc_sle.workbook.disclosure import share_plan
from msc_sle.workbook.notebook import open_cohort, record, save_table, show_text
from msc_sle.workbook.params import check_parameters

params = check_parameters(**overrides).declared(reads)
cohort = open_cohort(params)
eligibility = apply_eligibility(cohort)
shared = share_plan(eligibility.cohort, None, params)  # make share: the counts withheld

# %% [markdown]
# ## Reproduction score
#
# Share of the published values the workbook reproduces (exact or within rounding), per source
# and overall. In a bundle for circulation the values withheld (small counts) are counted apart.

# %%
audit = paper_audit()  # its slips explain differences; shown in full below
reproduction = shared.reproduction(reproduction_table(cohort, definitions=params.definitions(),
                                                      prednisone_cut=params["prednisone_cut"],
                                                      test_rule=params["test_rule"], decimals=params["decimals"],
                                                      audit=audit, eligibility=eligibility))
save_table(printed_reproduction(reproduction), "reproduction", params["out_dir"], synthetic=cohort.synthetic)
save_table(score_table(reproduction), "reproduction_score", params["out_dir"], synthetic=cohort.synthetic)
record("reproduction_score", reproduction.headline(), text=f"Reproduction score: {reproduction.headline()}")
score_table(reproduction)

# %% [markdown]
# ## The published values that differ
#
# Each with the printed value, the computed one and the explanation found (a slip of the paper
# found by the audit, another test that reproduces the p-value, a documented reading).

# %%
differences_table(reproduction)

# %% [markdown]
# Values the workbook could not compute on this cohort, and why:

# %%
missing = not_computed_table(reproduction)
missing if missing is not None else show_text("Every published value was computed on this cohort.")

# %% [markdown]
# ## Paper audit: is the paper consistent with itself?
#
# One row per check; its severity is info (consistent, or an observation), minor (a slip that
# changes no conclusion, or a claim only the choice of test decides) or major (an impossibility,
# or a number no reading reproduces). The list shows every slip, then two summaries that are
# info when all is well: each "only these variables were associated" claim of the text, with the
# variables that contradict it, could go either way or cannot be checked, and the rounding
# convention the paper's percentages follow.

# %%
save_table(printed_audit(audit), "paper_audit", params["out_dir"], synthetic=cohort.synthetic)
audit_summary_table(audit)

# %%
audit_findings_table(audit)
