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
# # 03 · Response over the year after MSC transplantation
#
# This notebook follows disease activity after the first MSC infusion:
#
# 1. **SLEDAI-2K over time**, the paper's Figure 1: box plots per visit with each patient's
#    trajectory, and the Friedman test across the five visits;
# 2. **response rates** per visit for low disease activity (LDA) and clinical remission (CR),
#    with Wilson 95% confidence intervals, reached "during the year" versus "at month 12";
# 3. the **cumulative proportion** of patients who had reached LDA or CR by each visit.
#
# Definitions (Wen et al. 2019, section 2.4; thresholds are parameters): LDA = SLEDAI-2K ≤ 4,
# no major organ activity and prednisone ≤ 7.5 mg/day; CR = SLEDAI-2K < 3 (≤ 2), no major
# organ activity and prednisone ≤ 5 mg/day.

# %% tags=["parameters"]
# `make run NAME=value` fills this dict; in JupyterLab, edit it (e.g. {"decimals": 2}) and run all.
# Empty: the paper's analysis on the bundled SYNTHETIC cohort. `make run LIST_PARAMS=1` lists every name.
overrides = {}
# The parameters this page reads (`make run` re-runs it only when one of them, the data or the code
# changed; reading another one stops the notebook with a message naming it).
reads = ("data_dir", "out_dir", "small_cell_min", "lda_sledai_max", "lda_prednisone_max",
         "cr_sledai_max", "cr_prednisone_max", "prednisone_cut", "decimals", "figure_max_patients",
         "seed")

# %%
from msc_sle.clinical import classify_response, sledai_long
from msc_sle.compare import paired_over_time
from msc_sle.present.figures import (cumulative_response_figure, response_rate_figure,
                                     sledai_over_time_figure)
from msc_sle.present.format import friedman_text
from msc_sle.present.tables import over_time_tables, plain_table, rates_table, rounded_rates
from msc_sle.rates import cumulative_response, response_rates
from msc_sle.workbook.disclosure import share_plan
from msc_sle.workbook.notebook import analysed_cohort, frame_for, open_cohort, save_table, show_figure
from msc_sle.workbook.params import check_parameters

params = check_parameters(**overrides).declared(reads)
cohort = analysed_cohort(open_cohort(params))
frame = frame_for(cohort, params)
shared = share_plan(cohort, frame, params)  # make share: the counts withheld (none by default)

# %% [markdown]
# ## SLEDAI-2K over time (Figure 1)
#
# The Friedman test compares the five visits within patients; it needs every visit, so it uses
# the patients with complete follow-up (their number is printed). Each later visit is then
# compared with baseline by the Wilcoxon signed-rank test, Holm-adjusted.

# %%
over_time = paired_over_time(frame)
print(friedman_text(over_time, patients=shared.friedman_text(over_time)))
by_visit, against_baseline = over_time_tables(shared.over_time(over_time))

# %%
fig = sledai_over_time_figure(sledai_long(frame), p_value=over_time.p_value, test="Friedman test",
                              trajectories=params["small_cell_min"] == 0, ranges=params["small_cell_min"] == 0,
                              n_labels=shared.visit_counts(over_time.summary),
                              max_lines=params["figure_max_patients"], seed=params["seed"])
show_figure(fig, "figure1_sledai_over_time", params["out_dir"], synthetic=cohort.synthetic)

# %% [markdown]
# Median (range) per visit, as the Figure 1 caption prints them, with quartiles and the number
# of patients scored; then each visit against baseline (Wilcoxon signed-rank, Holm-adjusted).

# %%
save_table(by_visit, "sledai_by_visit", params["out_dir"], synthetic=cohort.synthetic)
by_visit

# %%
save_table(against_baseline, "sledai_vs_baseline_wilcoxon", params["out_dir"], synthetic=cohort.synthetic)
against_baseline

# %% [markdown]
# ## Response rates with 95% confidence intervals
#
# The denominator is every analysed patient: a missing visit is not a response (the paper's
# convention), and the missing visits column counts the patients whose visit was absent or could not be
# classified. "During the year" means met at any follow-up visit; "M12" (month 12) means maintained
# at the last visit. Intervals are Wilson score intervals, which stay honest at small counts.

# %%
results = [classify_response(cohort, params.lda()), classify_response(cohort, params.cr())]
rates = shared.rates(rounded_rates(response_rates(results), params["decimals"]))
printed = rates_table(rates)
save_table(printed, "response_rates", params["out_dir"], synthetic=cohort.synthetic,
           description="LDA and CR per visit and during the year, with Wilson 95% CIs")
printed

# %%
fig = response_rate_figure(rates)
show_figure(fig, "response_rates", params["out_dir"], synthetic=cohort.synthetic)

# %% [markdown]
# What the definitions ask that the data cannot check is listed here, so the rates are read
# with their limits.

# %%
for res in results:
    print(res.definition.describe())
    for caveat in shared.caveats(res):
        print("  -", caveat)

# %% [markdown]
# ## Cumulative proportion reaching LDA and CR
#
# The share of patients who had reached each response at least once by each visit
# (first visit meeting the definition at or before that month).

# %%
cumulative = shared.cumulative(rounded_rates(cumulative_response(results), params["decimals"]))
save_table(plain_table(cumulative, "Share of patients who had reached LDA / CR by each visit", columns={
    "response": "Response", "month": "Month", "shown": "Patients (%; 95% CI)"}, formats={"month": "int"}),
    "cumulative_response", params["out_dir"], synthetic=cohort.synthetic)
fig = cumulative_response_figure(cumulative)
show_figure(fig, "cumulative_response", params["out_dir"], synthetic=cohort.synthetic)
