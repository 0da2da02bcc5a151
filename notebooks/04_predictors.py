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
# # 04 · Who responds? Baseline characteristics by response (Table 2)
#
# This notebook compares the patients who reached the chosen response during the year with
# those who did not, variable by variable, as the paper's Table 2 does for CR. The tests follow
# the paper (section 2.5, SPSS 22): Mann-Whitney U for continuous variables, Pearson's
# chi-square without continuity correction for categorical ones, and Fisher's exact test when an
# expected count is below 5 (marked `*`). Every p-value names its test in the footnotes.
#
# The paper tested some 30 variables without adjusting for multiplicity; the `q value` column
# adds Benjamini-Hochberg false discovery rates, and the forest plot shows odds ratios with their
# 95% confidence intervals, so the size of each association is seen beside its p-value.
#
# Choose the response with the `outcome` parameter (`make run OUTCOME=lda`): `cr` and `lda` (the
# paper's definitions, with the thresholds below), `lldas`, `doris`, `sledai_reduction`.

# %% tags=["parameters"]
# `make run NAME=value` fills this dict; in JupyterLab, edit it (e.g. {"decimals": 2}) and run all.
# Empty: the paper's analysis on the bundled SYNTHETIC cohort. `make run LIST_PARAMS=1` lists every name.
overrides = {}

# %%
import pandas as pd

from msc_sle.clinical import apply_eligibility
from msc_sle.compare import baseline_variables, compare_groups
from msc_sle.present.figures import forest_data, forest_plot
from msc_sle.present.tables import comparison_table
from msc_sle.workbook.disclosure import share_plan
from msc_sle.workbook.notebook import frame_for, open_cohort, save_table, show_figure
from msc_sle.workbook.params import check_parameters

params = check_parameters(**overrides)
cohort = apply_eligibility(open_cohort(params)).cohort
shared = share_plan(cohort, None, params)  # make share: the counts withheld (none by default)

# %% [markdown]
# ## The response compared

# %%
definition = params.outcome_definition()
print(definition.describe())
print("Source:", definition.source)
for caveat in definition.caveats:
    print("  -", caveat)

# %%
frame = frame_for(cohort, params, {"response": definition})
group = f"{definition.label} during the year"
result = compare_groups(frame, by="response_ever", variables=baseline_variables(frame), adjust="bh",
                        labels={"response_ever": group})
print(f"{group}: {shared.responders_text(int(frame['response_ever'].sum()), len(frame))} patients")

# %% [markdown]
# ## Table 2
#
# Values are n (%) of the patients with the value recorded, or median (range); the effect size
# column gives the odds ratio (binary variables) or the Hodges-Lehmann median difference
# (continuous ones), responders versus non-responders, with 95% confidence intervals.

# %%
table2 = shared.comparison(comparison_table(result, decimals=params["decimals"], effect=True,
                                            title=f"Patients' characteristics divided by {group}"))
save_table(table2, f"table2_{params['outcome']}", params["out_dir"])
table2

# %%
print("\n".join(table2.footnotes))

# %% [markdown]
# ## Which associations survive the multiplicity of tests?
#
# Variables with p < alpha, beside their Benjamini-Hochberg q-value: a q-value above alpha means
# the association may well be one of the false positives expected among this many tests.

# %%
tested = table2.tidy.drop_duplicates("variable")  # withheld p-values ("[c]", make share) are not listed
flagged = tested.loc[pd.to_numeric(tested["p_value"], errors="coerce") < params["alpha"],
                     ["label", "test", "p_value", "q_value"]]
print(f"{len(flagged)} of {int(tested['p_value'].notna().sum())} variables tested have p < {params['alpha']}; "
      f"{int((pd.to_numeric(flagged['q_value'], errors='coerce') < params['alpha']).sum())} keep q < {params['alpha']}.")
flagged.round(4).reset_index(drop=True)

# %% [markdown]
# ## Forest plot of odds ratios
#
# Each binary variable's odds ratio of being a responder when the characteristic is present
# (log scale, 95% Woolf confidence interval). Intervals crossing 1 are compatible with no
# association; wide intervals reflect the small groups.

# %%
effects = forest_data(table2.tidy)
fig = forest_plot(effects, annotate="annotation", outcome=group,
                  title=f"Odds ratios for {group} (n = {len(frame)})")
show_figure(fig, f"forest_{params['outcome']}", params["out_dir"])
