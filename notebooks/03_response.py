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
# Definitions (Wen et al. 2019, section 2.4; thresholds are parameters): LDA = SLEDAI-2K <= 4,
# no major organ activity and prednisone <= 7.5 mg/day; CR = SLEDAI-2K < 3 (<= 2), no major
# organ activity and prednisone <= 5 mg/day.

# %% tags=["parameters"]
data_dir = None  # folder with the patients and visits tables, None for the bundled SYNTHETIC cohort
out_dir = None  # folder for tables/ and figures/, None writes nothing
lda_sledai_max = 4  # LDA: SLEDAI-2K at most this (points)
lda_prednisone_max = 7.5  # LDA: prednisone at most this (mg/day)
cr_sledai_max = 2  # CR: SLEDAI-2K at most this (points)
cr_prednisone_max = 5.0  # CR: prednisone at most this (mg/day)
decimals = 1  # decimals of the percentages shown
small_cell_min = 0  # counts below this show as "<N" (make share), 0 shows all

# %%
from msc_sle import analysis_frame, apply_eligibility, classify_response, paired_over_time
from msc_sle.figures import (cumulative_response_figure, response_rate_figure, save_figure,
                             sledai_over_time_figure)
from msc_sle.params import check_parameters
from msc_sle.report import (cumulative_response, definitions_from_params, open_cohort, p_text,
                            response_rates, save_table, sledai_long, suppress_rates)

params = check_parameters(data_dir=data_dir, out_dir=out_dir, lda_sledai_max=lda_sledai_max,
                          lda_prednisone_max=lda_prednisone_max, cr_sledai_max=cr_sledai_max,
                          cr_prednisone_max=cr_prednisone_max, decimals=decimals, small_cell_min=small_cell_min)
cohort = apply_eligibility(open_cohort(params)).cohort
frame = analysis_frame(cohort)

# %% [markdown]
# ## SLEDAI-2K over time (Figure 1)
#
# The Friedman test compares the five visits within patients; it needs every visit, so it uses
# the patients with complete follow-up (their number is printed). Each later visit is then
# compared with baseline by the Wilcoxon signed-rank test, Holm-adjusted.

# %%
over_time = paired_over_time(frame)
print(f"Friedman test across baseline, M1, M3, M6, M12: chi-square = {over_time.statistic:.2f}, "
      f"df = {over_time.df}, {p_text(over_time.p_value)} "
      f"({over_time.n_complete} of {over_time.n_total} patients with every visit)")

# %%
fig = sledai_over_time_figure(sledai_long(frame), p_value=over_time.p_value, test="Friedman test",
                              trajectories=params["small_cell_min"] == 0)
save_figure(fig, "figure1_sledai_over_time", params["out_dir"])

# %% [markdown]
# Median (range) per visit, as the Figure 1 caption prints them, with quartiles and the number
# of patients scored; then each visit against baseline (Wilcoxon signed-rank, Holm-adjusted
# p-values in `p_holm`).

# %%
summary = over_time.summary.round(1)
save_table(summary, "sledai_by_visit", params["out_dir"])
summary

# %%
pairwise = over_time.pairwise.round({"statistic": 1, "z": 2, "median_difference": 1})
save_table(pairwise, "sledai_vs_baseline_wilcoxon", params["out_dir"])
pairwise

# %% [markdown]
# ## Response rates with 95% confidence intervals
#
# The denominator is every analysed patient: a missing visit is not a response (the paper's
# convention), and `missing visits` counts the patients whose visit was absent or could not be
# classified. "During the year" means met at any follow-up visit; "month 12" means maintained
# at the last visit. Intervals are Wilson score intervals, which stay honest at small counts.

# %%
lda, cr = definitions_from_params(params)
results = [classify_response(cohort, lda), classify_response(cohort, cr)]
rates = suppress_rates(response_rates(results, decimals=params["decimals"]), params["small_cell_min"])
save_table(rates, "response_rates", params["out_dir"])
rates[["response", "when", "shown", "missing visits"]]

# %%
fig = response_rate_figure(rates)
save_figure(fig, "response_rates", params["out_dir"])

# %% [markdown]
# What the definitions ask that the data cannot check is listed here, so the rates are read
# with their limits.

# %%
for res in results:
    print(res.definition.describe())
    for caveat in res.caveats:
        print("  -", caveat)

# %% [markdown]
# ## Cumulative proportion reaching LDA and CR
#
# The share of patients who had reached each response at least once by each visit
# (first visit meeting the definition <= that month).

# %%
cumulative = suppress_rates(cumulative_response(results).round(1), params["small_cell_min"])
save_table(cumulative, "cumulative_response", params["out_dir"])
fig = cumulative_response_figure(cumulative)
save_figure(fig, "cumulative_response", params["out_dir"])
