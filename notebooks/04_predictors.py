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
# those who did not, variable by variable, as the paper's Table 2 does for CR.
#
# **Which test for which row.** Section 2.5 of the paper (SPSS 22) names the Mann-Whitney U test for
# continuous variables and "the chi-square test" for categorical ones, and Table 2 marks with `*`
# the rows where Fisher's exact test was used. Recomputed from the paper's own counts, its
# chi-square is Pearson's without continuity correction, and the marks follow no expected-count
# rule: ten rows with an expected count below 5 were tested with Pearson's chi-square, while Rash
# (smallest expected count 5.8) was tested with Fisher's. By default this notebook uses the
# paper's own choice row by row on the paper's cohort (the bundled one, or an extract whose
# manifest says it is the paper's cohort), so its Table 2 prints the paper's p-values; on any other
# extract those choices do not apply and the expected-count rule chooses (the table note says so).
# A rule can be applied instead, and the paper's p is then shown beside wherever the two choices
# differ. Every p-value is marked with its test.
#
# The paper tested its variables without adjusting for multiplicity; the q-value column adds
# Benjamini-Hochberg false discovery rates, computed apart for the baseline characteristics and for
# the follow-up SLEDAI-2K (two questions, two families; the table note counts each), and the forest
# plot shows odds ratios with their 95% confidence intervals, so the size of each association is
# seen beside its p-value.

# %% tags=["parameters"]
# `make run NAME=value` fills this dict; in JupyterLab, edit it (e.g. {"decimals": 2}) and run all.
# Empty: the paper's analysis on the bundled SYNTHETIC cohort. `make run LIST_PARAMS=1` lists every name.
overrides = {}
# The parameters this page reads (`make run` re-runs it only when one of them, the data or the code
# changed; reading another one stops the notebook with a message naming it).
reads = ("data_dir", "out_dir", "small_cell_min", "lda_sledai_max", "lda_prednisone_max",
         "cr_sledai_max", "cr_prednisone_max", "prednisone_cut", "decimals", "outcome", "test_rule",
         "alpha")

# %% [markdown] tags=["analyst"]
# By default (`test_rule = paper`) Table 2 uses the paper's test row by row on the paper's cohort
# (manifest key `paper_cohort`; any other extract: `expected_lt_5`);
# `make run TEST_RULE=expected_lt_5` (or `cochran`, `pearson_only`) applies a rule instead.
# Choose the response with the `outcome` parameter (`make run OUTCOME=lda`): `cr` and `lda` (the
# paper's definitions, with the thresholds below), `lldas`, `doris`, `sledai_reduction`.

# %%
from IPython.display import display

from msc_sle.present.figures import forest_data, forest_plot
from msc_sle.workbook.disclosure import share_plan
from msc_sle.workbook.notebook import (analysed_cohort, flagged_by_family, frame_for, open_cohort, outcome_comparison,
                                       outcome_table, save_table, show_figure, show_text)
from msc_sle.workbook.params import check_parameters

params = check_parameters(**overrides).declared(reads)
cohort = analysed_cohort(open_cohort(params))
shared = share_plan(cohort, None, params)  # make share: the counts withheld (none by default)

# %% [markdown]
# ## The response compared

# %%
definition = params.outcome_definition()
show_text(definition.describe(), f"Source: {definition.source}", "\n".join(f"- {c}" for c in definition.caveats))

# %%
frame = frame_for(cohort, params, {"response": definition})
group = f"{definition.display_label} during the year"
result = outcome_comparison(frame, params, group, cohort=cohort)
print(f"{group}: {shared.responders_text(int(frame['response_ever'].sum()), len(frame))} patients")

# %% [markdown]
# ## Table 2
#
# Values are n (%) of the patients with the value recorded, or median (range) (median (IQR) in the bundle
# for circulation outside the care team); the effect size
# column gives the odds ratio (binary variables) or the Hodges-Lehmann median difference
# (continuous ones), responders versus non-responders, with 95% confidence intervals. The title
# names the response with what it could not check (LLDAS and DORIS: the physician global
# assessment is not recorded), and the footnotes name every test, give the definition's source and
# every caveat, in every exported format, and flag any row where the paper's printed p disagrees
# with its own counts.

# %%
table2 = shared.comparison(outcome_table(result, params, f"Patients' characteristics divided by {group}",
                                          definition.footnotes()))
save_table(table2, f"table2_{params['outcome']}", params["out_dir"], synthetic=cohort.synthetic,
           manuscript="Table 2")
table2

# %% [markdown]
# ## Which associations survive the multiplicity of tests?
#
# Variables with p < alpha, beside their Benjamini-Hochberg q-value, one list per family: the
# baseline characteristics (who responds?) and the follow-up SLEDAI-2K (which restates the
# response). A q-value above alpha means the association may well be one of the false positives
# expected among this many tests.

# %%
sentence, flagged = flagged_by_family(table2, params["alpha"])  # a p withheld by make share is not listed
print(sentence)
display(*flagged)

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
show_figure(fig, f"forest_{params['outcome']}", params["out_dir"], synthetic=cohort.synthetic)
