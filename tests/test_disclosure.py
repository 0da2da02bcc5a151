"""Disclosure control of ``make share`` (docs/disclosure.md).

The heart is the recovery test: the shared bundle of the bundled SYNTHETIC cohort (counts of 0 to 4
in many cells) is handed to an independent reader (``disclosure_reader.py``) who sets up every
relation a reader knows and tries to pin down each withheld count by integer programming; it must
find nothing. The same reader must find the leaks when complementary suppression is switched off.
The other tests work the engine and the views out by hand.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from disclosure_reader import read_bundle
from msc_sle.workbook.disclosure import MARK_C, share_safe, shown_count, suppress_rates
from msc_sle.workbook.ledger import COMPLEMENTARY, MISSING, PRIMARY, PUBLISHED, DisclosureError, Ledger
from msc_sle.workbook.params import ParameterError, check_parameters, parse_assignments


# --------------------------------------------------------------------------- the engine, by hand
def _chain(ledger: Ledger, excluded, start=76):
    """An attrition table: remaining(i-1) - excluded(i) = remaining(i), first and last published."""
    remaining = [start]
    for e in excluded:
        remaining.append(remaining[-1] - e)
    for i, r in enumerate(remaining):
        ledger.add(("R", i), r, fixed=i in (0, len(remaining) - 1))
    for i, e in enumerate(excluded, start=1):
        ledger.add(("e", i), e)
        ledger.relate({("R", i - 1): 1, ("e", i): -1, ("R", i): -1})


def test_running_totals_give_exclusions_back_unless_some_are_withheld():
    primary_only = Ledger(5, complementary=False)
    _chain(primary_only, [1, 1, 1, 1, 2, 1])
    status = primary_only.protect()
    assert [status[("e", i)] for i in range(1, 7)] == [PRIMARY] * 6
    # 76 - 75 = 1: every exclusion comes back from two published running totals
    assert {k for k, _ in primary_only.leaks()} == {("e", i) for i in range(1, 7)}
    protected = Ledger(5)
    _chain(protected, [1, 1, 1, 1, 2, 1])
    status = protected.protect()
    assert protected.leaks() == []
    assert any(status[("R", i)] == COMPLEMENTARY for i in range(1, 6))
    assert status[("R", 0)] == status[("R", 6)] == PUBLISHED   # the extract and the analysed cohort


def test_a_small_group_count_is_not_table_one_minus_the_other_group():
    # second infusion: 24 of 69 overall, 4 of 16 responders, 20 of 53 non-responders
    led = Ledger(5)
    led.add("N", 69, fixed=True)
    led.add("yes", 16, tier=2)
    led.add("no", 53, tier=2)
    led.relate({"yes": 1, "no": 1, "N": -1})
    for key, value, shown in (("all", 24, True), ("all-not", 45, False), ("g1", 4, True), ("g1-not", 12, False),
                              ("g2", 20, True), ("g2-not", 33, False)):
        led.add(key, value, shown=shown)
    led.relate({"all": 1, "all-not": 1, "N": -1})
    led.relate({"g1": 1, "g1-not": 1, "yes": -1})
    led.relate({"g2": 1, "g2-not": 1, "no": -1})
    led.relate({"all": 1, "g1": -1, "g2": -1})
    led.relate({"all-not": 1, "g1-not": -1, "g2-not": -1})
    status = led.protect()
    assert status["g1"] == PRIMARY and status["g2"] == COMPLEMENTARY    # 24 - 20 would give the 4 back
    assert status["yes"] == status["no"] == status["all"] == PUBLISHED  # group sizes and Table 1 stay
    assert led.leaks() == []


def test_printed_zeros_make_small_cells_easier_to_solve():
    # two withheld counts adding up to 2: with zeros printed each "<5" is 1..4, so both are 1
    for zero, expect_more in ((True, False), (False, True)):
        led = Ledger(5, zero=zero)
        led.add("T", 2 + 30, fixed=True)
        led.add("a", 1)
        led.add("b", 1)
        led.add("c", 30)
        led.relate({"a": 1, "b": 1, "c": 1, "T": -1})
        status = led.protect()
        assert led.leaks() == []
        assert (status["c"] == COMPLEMENTARY) is expect_more


def test_missing_data_zeros_stay_shown_and_small_missing_counts_do_not():
    led = Ledger(5)
    for key, value in (("none", 0), ("two", 2), ("many", 40)):
        led.add(key, value, kind=MISSING)
    status = led.protect()
    assert (status["none"], status["two"], status["many"]) == (PUBLISHED, PRIMARY, PUBLISHED)


def test_a_count_only_the_cohort_sizes_give_back_is_listed_not_hidden():
    # every patient eligible: 30 in the extract, 30 analysed, so each "excluded" is 0 whatever is withheld
    def flow(**kw):
        led = Ledger(5, **kw)
        _chain(led, [0, 0], start=30)
        return led
    led = flow()
    led.protect()
    assert led.unavoidable == [("e", 1), ("e", 2)] and {k for k, _ in led.leaks()} == {("e", 1), ("e", 2)}
    with pytest.raises(DisclosureError, match="too few"):
        flow(strict=True).protect()


def test_counts_in_sentences():
    assert shown_count(3, 5) == "<5" and shown_count(0, 5) == "0" and shown_count(0, 5, zero=True) == "<5"
    assert shown_count(66, 5, of=69) == MARK_C and shown_count(16, 5, of=69) == "16"
    assert shown_count(3, 0) == "3"


# --------------------------------------------------------------------------- standalone views
def test_share_safe_withholds_the_other_group_and_the_p_value():
    from msc_sle.compare import compare_groups
    from msc_sle.present.tables import comparison_table

    # fever: 2 of 10 vs 6 of 10; without fever 8 vs 4: the 4 is small too
    data = pd.DataFrame({"grp": [True] * 10 + [False] * 10,
                         "fever": [True] * 2 + [False] * 8 + [True] * 6 + [False] * 4})
    table = comparison_table(compare_groups(data, by="grp", variables=["fever"], effect_sizes=True), effect=True)
    shared = share_safe(table, 5)
    tidy = shared.tidy.iloc[0]
    assert tidy["g1_count"] == "<5" and tidy["g1_pct"] is None
    assert tidy["g2_count"] == MARK_C and tidy["g2_pct"] is None  # 10 - 6 = 4 fevers-free would be small
    assert tidy["p_value"] == MARK_C and tidy["effect_estimate"] == MARK_C
    row = shared.body.iloc[-1].tolist()
    assert row[1:3] == ["<5", MARK_C] and row[3] == MARK_C
    assert any("shown as <5" in note and MARK_C in note for note in shared.footnotes)
    assert "Fisher" not in " ".join(shared.footnotes) or "*" not in row[3]   # no test mark beside a withheld p
    assert share_safe(table, 0) is table


def test_rates_withhold_percent_and_interval_with_the_count():
    from test_workbook_helpers import _Result
    from msc_sle.present.tables import rounded_rates
    from msc_sle.rates import response_rates

    shared = suppress_rates(rounded_rates(response_rates(_Result())), 5).set_index("when")
    assert shared.loc["month 1", "n"] == "<5" and shared.loc["month 1", "shown"] == "<5/4"
    assert math.isnan(shared.loc["month 1", "percent"]) and math.isnan(shared.loc["month 1", "ci_low"])


def test_q_values_say_nothing_of_a_withheld_p_value():
    """A BH q-value depends on the rank of its p among the family: printed over the true p-values, the
    other rows' q-values give a withheld p's rank back (even rounded). Printed, they must not depend
    on the withheld p at all."""
    from msc_sle.workbook.disclosure import _share_q

    printed = []
    for hidden in (0.02, 0.5):   # the withheld p of b: two values a reader must not tell apart
        p = pd.Series([0.01, hidden, 0.04])
        tidy = pd.DataFrame({"variable": ["a", "b", "c"], "p_value": p, "q_method": "bh",
                             "q_value": (p * 3 / p.rank()).iloc[::-1].cummin().iloc[::-1]}).astype(object)
        tidy.loc[1, "p_value"] = MARK_C
        _share_q(tidy)
        printed.append(tidy["q_value"].tolist())
    assert printed[0] == printed[1]
    assert printed[0][1] == MARK_C
    # BH over 0.01 and 0.04 with b taken as 1 (family of 3): 0.03 and 0.06, not the run's 0.03 and 0.04
    assert printed[0][0] == pytest.approx(0.03) and printed[0][2] == pytest.approx(0.06)


# --------------------------------------------------------------------------- the channels of issue 22
def _compared(data, variables, **kw):
    from msc_sle.compare import compare_groups
    from msc_sle.present.tables import comparison_table

    return comparison_table(compare_groups(data, by="grp", variables=variables, effect_sizes=True), effect=True,
                            **kw)


def test_the_patients_a_variable_applies_to_are_withheld_with_the_group_size():
    # 3 responders: their group size reads <5, and n_applicable (the group size for fever) must too,
    # or n_applicable - n_valid gives the withheld missing count back
    data = pd.DataFrame({"grp": [True] * 3 + [False] * 20,
                         "fever": [True, None, False] + [True] * 8 + [False] * 10 + [None] * 2})
    data["fever"] = data["fever"].astype("boolean")
    tidy = share_safe(_compared(data, ["fever"]), 5).tidy
    assert (tidy["g1_n"] == "<5").all()
    assert (tidy["g1_n_applicable"] == "<5").all(), tidy[["g1_n", "g1_n_applicable"]]
    for _, r in tidy.iterrows():   # a withheld missing count never sits beside two printed totals
        for p in ("g1", "g2"):
            if isinstance(r[f"{p}_missing"], str):
                assert isinstance(r[f"{p}_n_valid"], str) or isinstance(r[f"{p}_n_applicable"], str)


def test_a_not_testable_reason_does_not_say_a_withheld_row_is_everyone():
    data = pd.DataFrame({"grp": [True] * 10 + [False] * 10, "fever": [True] * 20})
    data["fever"] = data["fever"].astype("boolean")
    table = _compared(data, ["fever"])
    assert "all patients had it" in " ".join(table.footnotes)    # what the full run prints
    shared = share_safe(table, 5, zero=True)     # the zero "no" is the sensitive count
    printed = " ".join(shared.footnotes) + shared.body.to_string() + shared.tidy.to_csv()
    assert "all patients had it" not in printed and "not testable" not in printed
    assert shared.tidy["p_value"].eq(MARK_C).all()


def test_levels_nobody_has_are_listed_and_withheld():
    # lupus nephritis class: III, IV and V observed; I, II and VI (nobody) would otherwise be absent = 0
    data = pd.DataFrame({"grp": [True] * 10 + [False] * 10,
                         "ln_class": ["III", "IV", "V", "IV", "IV"] * 4})
    data["ln_class"] = data["ln_class"].astype(pd.CategoricalDtype(["I", "II", "III", "IV", "V", "VI"]))
    table = _compared(data, ["ln_class"])
    assert "VI" not in set(table.tidy["level"].astype(str))          # what the full run prints
    shared = share_safe(table, 5, zero=True)
    levels = shared.tidy["level"].astype(str).tolist()
    assert levels == ["I", "II", "III", "IV", "V", "VI"]
    row = shared.tidy.set_index("level").loc["VI"]
    assert row["g1_count"] == "<5" and row["g2_count"] == "<5"
    assert [k for k in shared.body.iloc[:, 0]].count("VI") == 1


def test_order_statistics_print_no_range_and_no_median_of_a_small_group():
    # 3 responders with an age recorded: their median would sit beside a "<5"; a minimum or a maximum
    # is one patient's value (and beside a threshold count says on which side of the cut everybody is)
    rng = np.random.default_rng(1)
    ages = rng.integers(18, 60, 30).astype(float)
    ages[3:10] = np.nan
    data = pd.DataFrame({"grp": [True] * 10 + [False] * 20, "age_years": ages})
    table = _compared(data, ["age_years"])
    assert "median (range)" in table.body.iloc[:, 0].str.cat()
    shared = share_safe(table, 5)
    r = shared.tidy.iloc[0]
    assert r["g1_median"] == MARK_C and r["g1_q1"] == MARK_C
    assert all(r[f"{p}_{s}"] is None for p in ("g1", "g2") for s in ("min", "max"))
    assert r["g2_median"] == pytest.approx(table.tidy.iloc[0]["g2_median"])
    label = shared.body.iloc[:, 0].str.cat()
    assert "median (IQR)" in label and "range" not in label
    from msc_sle.present.format import format_number

    g2 = table.tidy.iloc[0]
    assert shared.body.iloc[-1, 2] == " ".join((format_number(g2["g2_median"], 1), "(" + "-".join(
        format_number(g2[c], 1) for c in ("g2_q1", "g2_q3")) + ")"))


def _bundled(params):
    from msc_sle.clinical import apply_eligibility, load_cohort

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cohort = load_cohort()
    return cohort, apply_eligibility(cohort)


def test_the_extract_s_visit_total_does_not_give_a_no_visit_back():
    """"76 patients, 379 visits" beside the visit-completeness table: the visits are the patients
    seen at each visit added up, so with one "Seen" withheld the total gives it back (380 - 379 = 1)."""
    from msc_sle.clinical import visit_completeness
    from msc_sle.workbook.disclosure import flow_plan

    params = check_parameters(small_cell_min=5)
    cohort, eligibility = _bundled(params)
    full = visit_completeness(cohort)
    assert full["No visit"].between(1, 4).any()          # the bundled cohort has such a visit
    plan = flow_plan(cohort, eligibility, params)
    shown = plan.completeness(full)
    total = plan.visits_text(len(cohort.visits))
    seen_withheld = shown["Seen"].map(lambda v: isinstance(v, str)).sum()
    # a reader solves sum(seen) = total for the one withheld Seen when the total is printed
    assert not (total.isdigit() and seen_withheld == 1)
    assert plan.ledger.leaks() == []


def test_sledai_per_visit_prints_no_range():
    from msc_sle.compare import paired_over_time
    from msc_sle.workbook.disclosure import share_plan
    from msc_sle.workbook.notebook import frame_for

    params = check_parameters(small_cell_min=5)
    _cohort, eligibility = _bundled(params)
    frame = frame_for(eligibility.cohort, params)
    plan = share_plan(eligibility.cohort, frame, params)
    summary = paired_over_time(frame).summary
    shown = plan.sledai_summary(summary)
    assert {"min", "max"} <= set(summary.columns) and not {"min", "max"} & set(shown.columns)
    for _, r in shown.iterrows():     # a median only beside a printed count of at least 5
        assert isinstance(r["median"], str) == (isinstance(r["n"], str) or r["n"] < 5)


def test_figure_1_in_a_shared_bundle_draws_no_range_and_no_box_of_a_withheld_visit():
    import matplotlib.pyplot as plt

    from msc_sle.present.figures import sledai_over_time_figure
    from msc_sle.stats import summary

    rng = np.random.default_rng(3)
    scores = pd.DataFrame({"patient_id": np.repeat(np.arange(12), 3), "month": np.tile([0, 1, 3], 12),
                           "sledai": rng.integers(0, 20, 36).astype(float)})
    labels = {0: "12", 1: "12", 3: "<5"}      # month 3's patients scored withheld
    for ranges, boxes in ((True, 3), (False, 2)):
        fig = sledai_over_time_figure(scores, trajectories=False, n_labels=labels, ranges=ranges)
        ax = fig.axes[0]
        assert len(ax.patches) == boxes
        ys = np.concatenate([np.asarray(line.get_ydata(), float) for line in ax.get_lines()])
        lowest = min(summary(scores.loc[scores["month"] == m, "sledai"].to_numpy()).min for m in (0, 1))
        # the full run's whiskers reach the minimum; a shared bundle's lines stay within the quartiles
        assert (ys.min() <= lowest) == ranges
        plt.close(fig)


def test_the_reproduction_prints_no_minimum_or_maximum():
    from msc_sle.paper.reproduction import reproduction_table
    from msc_sle.workbook.disclosure import share_plan

    params = check_parameters(small_cell_min=5)
    cohort, eligibility = _bundled(params)
    plan = share_plan(eligibility.cohort, None, params)
    result = reproduction_table(cohort, definitions=params.definitions(), prednisone_cut=params["prednisone_cut"],
                                test_rule=params["test_rule"], decimals=params["decimals"])
    full, shown = result.table, plan.reproduction(result).table
    ranges = full["statistic"].isin(["min", "max"])
    assert ranges.any() and (shown.loc[ranges, "computed"] == MARK_C).all()
    assert (shown.loc[ranges, "shown"] == MARK_C).all()
    medians = full["statistic"].eq("median") & full["group"].eq("all") & full["variable"].eq("age_years")
    assert medians.any() and (shown.loc[medians, "computed"] != MARK_C).all()   # 69 ages: printed


def test_07_models_counts_go_through_the_plan():
    from msc_sle.prognosis import sensitivity_analysis, time_to_response
    from msc_sle.present.tables import sensitivity_table
    from msc_sle.tools.runner import NOT_SHARED
    from msc_sle.workbook.notebook import frame_for
    from msc_sle.workbook.share_models import models_share

    assert "07_models" not in NOT_SHARED
    params = check_parameters(small_cell_min=5)
    _cohort, eligibility = _bundled(params)
    cohort = eligibility.cohort
    definitions = params.response_definitions()
    frame = frame_for(cohort, params, definitions)
    shared = models_share(cohort, params)
    ttr = time_to_response(cohort, frame, definitions["cr"], by="age_years", label="CR")
    full = ttr.by_group.table
    assert full["n_events"].between(1, 4).any()            # small first-response counts in the full run
    out = shared(ttr)
    for t in (out.overall.table, out.by_group.table):
        for _, r in t.iterrows():
            counts = [r[c] for c in ("n_risk", "n_events", "n_censored")]
            assert not any(isinstance(c, (int, np.integer)) and (0 <= c < 5) and r["time"] > 0 for c in counts)
            if any(isinstance(c, str) for c in counts):   # a row with a withheld count: no estimate
                assert pd.isna(r["cum_incidence"]) and pd.isna(r["ci_lower"])
    assert isinstance(out.test, str) and "withheld" in out.test
    table = sensitivity_table(sensitivity_analysis(frame, params.names("predictors"), definitions))
    heads = table.tidy.drop_duplicates("outcome").set_index("outcome")
    near_all = heads.index[(heads["analysed_n"] - heads["events_n"]).between(1, 4)]
    assert len(near_all)                                      # SLEDAI-4 reduction: all but one respond
    shown = shared(table).tidy.drop_duplicates("outcome").set_index("outcome")
    assert (shown.loc[near_all, "events_n"] == MARK_C).all() and (shown.loc[near_all, "epv"] == MARK_C).all()
    assert shown.loc["cr_ever", "events_n"] == heads.loc["cr_ever", "events_n"]   # a published count stays
    # the sensitivity table names CR by its column ("cr_ever"): a CR count the plan withholds (as on the
    # 34-patient cohort of the outsider test) must read as the plan prints it, not go through the
    # threshold rule alone (which printed "5/30" beside Table 2's "[c]")
    key = shared.plan.groupings["cr_ever"][1]["True"]
    shared.plan.ledger.protect()[key] = COMPLEMENTARY
    withheld = shared(table).tidy.drop_duplicates("outcome").set_index("outcome")
    assert withheld.loc["cr_ever", "events_n"] == MARK_C and withheld.loc["cr_ever", "epv"] == MARK_C


# --------------------------------------------------------------------------- parameters
def test_share_suppress_zero_parameter():
    assert check_parameters().share_suppress_zero is True
    assert parse_assignments(["SHARE_SUPPRESS_ZERO=no"])[0]["share_suppress_zero"] is False
    with pytest.raises(ParameterError, match="true or false"):
        check_parameters(share_suppress_zero=1)
    # it changes nothing without SMALL_CELL_MIN, so a default run records the same parameters as before
    assert "share_suppress_zero" not in check_parameters().analysis()
    assert check_parameters(small_cell_min=5).analysis()["share_suppress_zero"] is True


# --------------------------------------------------------------------------- figures mark withheld points
def _svg_text(fig, tmp_path, name):
    import matplotlib.pyplot as plt

    from msc_sle.present.figures import save_figure

    save_figure(fig, name, tmp_path)
    plt.close(fig)
    return (tmp_path / "figures" / f"{name}.svg").read_text()


def test_figures_mark_withheld_points(tmp_path):
    from msc_sle.present.figures import (consort_figure, cumulative_response_figure, forest_plot,
                                         response_rate_figure, use_print_style)

    use_print_style()
    attrition = pd.DataFrame({"criterion": ["screened", "adult", "follow_up"], "excluded": [np.nan, "<5", "<5"],
                              "missing": [np.nan, 0, 0], "remaining": [76, MARK_C, 69]})
    svg = _svg_text(consort_figure(attrition, small_cell_min=5), tmp_path, "consort")
    assert "n = &lt;5" in svg and f"n = {MARK_C}" in svg and "withheld" in svg
    rates = pd.DataFrame({"response": ["CR", "CR"], "when": ["month 1", "month 3"], "n": ["<5", 20],
                          "patients": [69, 69], "percent": [np.nan, 29.0], "ci_low": [np.nan, 19.6],
                          "ci_high": [np.nan, 40.6]})
    svg = _svg_text(response_rate_figure(rates), tmp_path, "rates")
    assert "&lt;5" in svg and "Hollow markers" in svg
    cumulative = pd.DataFrame({"response": ["CR"] * 3, "month": [0, 1, 3], "n": ["<5", "<5", 20], "patients": 69,
                               "percent": [np.nan, np.nan, 29.0], "ci_low": [np.nan, np.nan, 19.6],
                               "ci_high": [np.nan, np.nan, 40.6]})
    svg = _svg_text(cumulative_response_figure(cumulative), tmp_path, "cumulative")
    assert svg.count("&lt;5") >= 2 and "Hollow markers" in svg
    effects = pd.DataFrame({"label": ["Fever", "Rash"], "odds_ratio": [2.0, np.nan], "ci_low": [1.1, np.nan],
                            "ci_high": [3.5, np.nan], "annotation": ["p = 0.010", "[c] (withheld: small counts)"],
                            "withheld": [False, True]})
    svg = _svg_text(forest_plot(effects, annotate="annotation"), tmp_path, "forest")
    assert "withheld (small counts)" in svg and "not estimable" not in svg


# --------------------------------------------------------------------------- the bundle's tables, in-process
def _write_tables(out, params, complementary=True):
    """The tables of a shared bundle, built as the notebooks build them (no kernel, no pages)."""
    from msc_sle.clinical import apply_eligibility, classify_response, load_cohort, visit_completeness
    from msc_sle.compare import baseline_variables, paired_over_time
    from msc_sle.paper.reproduction import reproduction_table
    from msc_sle.present.tables import attrition_table, over_time_tables, plain_table, rounded_rates, table_one
    from msc_sle.rates import cumulative_response, response_rates
    from msc_sle.workbook.disclosure import flow_plan, share_plan
    from msc_sle.workbook.notebook import frame_for, outcome_comparison, outcome_table, save_table

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cohort = load_cohort()
    eligibility = apply_eligibility(cohort)
    analysed = eligibility.cohort
    flow = flow_plan(cohort, eligibility, params, complementary=complementary)
    save_table(plain_table(flow.completeness(visit_completeness(cohort))), "visit_completeness", out)
    save_table(attrition_table(flow.attrition(eligibility.attrition)), "attrition", out)
    reasons = eligibility.excluded.groupby(["criterion", "reason"], observed=True).size().rename("patients")
    save_table(plain_table(flow.reasons(reasons.reset_index())), "exclusion_reasons", out)
    frame = frame_for(analysed, params)
    plan = share_plan(analysed, frame, params, complementary=complementary)
    variables = baseline_variables(frame)
    save_table(plan.table_one(table_one(frame, variables + ["cr_ever", "lda_ever"])), "table1_baseline", out)
    definition = params.outcome_definition()
    by_outcome = frame_for(analysed, params, {"response": definition})
    result = outcome_comparison(by_outcome, params, "response", cohort=analysed)
    save_table(plan.comparison(outcome_table(result, params, "Table 2", definition.footnotes())),
               f"table2_{params['outcome']}", out)
    results = [classify_response(analysed, params.lda()), classify_response(analysed, params.cr())]
    save_table(plan.rates(rounded_rates(response_rates(results))), "response_rates", out)
    save_table(plan.cumulative(rounded_rates(cumulative_response(results))), "cumulative_response", out)
    by_visit, against = over_time_tables(plan.over_time(paired_over_time(frame)))
    save_table(by_visit, "sledai_by_visit", out)
    save_table(against, "sledai_vs_baseline_wilcoxon", out)
    reproduction = plan.reproduction(reproduction_table(cohort, definitions=params.definitions(),
                                                        prednisone_cut=params["prednisone_cut"],
                                                        test_rule=params["test_rule"], decimals=params["decimals"]))
    save_table(reproduction.table, "reproduction", out)
    save_table(reproduction.score, "reproduction_score", out)
    for sub in ("html", "figures"):
        (out / sub).mkdir(exist_ok=True)
    return plan


def test_the_reader_recovers_counts_when_complementary_suppression_is_off(tmp_path):
    """The negative test: primary suppression alone leaks, and the reader says where."""
    _write_tables(tmp_path, check_parameters(small_cell_min=5), complementary=False)
    report = read_bundle(tmp_path)
    leaks = "\n".join(report.leaks)
    # Table 1's 24 second infusions minus the 20 non-responders give the "<5" responders back
    assert "('count', ('cr_ever', 'True'), 'second_infusion', 'True') (<) = 4" in leaks
    # attrition: two published running totals give an exclusion back
    assert "('excluded', 'adult') (<) = 1" in leaks
    # 16 CR patients, 15 women: the one man is worked out although never printed
    assert "('count', ('cr_ever', 'True'), 'sex', 'M') (unprinted) = 1" in leaks
    assert len(report.leaks) > 20


def test_no_leak_with_zeros_shown(tmp_path):
    params = check_parameters(small_cell_min=5, share_suppress_zero=False)
    _write_tables(tmp_path, params)
    report = read_bundle(tmp_path, zero=False)
    assert report.leaks == [], "\n".join(report.leaks)
    assert (pd.read_csv(tmp_path / "tables" / "response_rates.csv", dtype=str)["n"] == "0").any()  # zeros shown


@pytest.mark.slow
def test_no_withheld_count_can_be_recovered_from_the_shared_bundle(shared_bundle):
    """make share on the bundled SYNTHETIC cohort (small_cell_min=5), then every file read back by the reader."""
    out = shared_bundle
    report = read_bundle(out)
    assert report.leaks == [], "\n".join(report.leaks)
    # the reader read every kind of file and had something to solve
    assert {"table1_baseline.csv", "table2_cr.csv", "attrition.csv", "reproduction.csv"} <= set(report.files)
    assert sum(f.endswith(".clinical.html") for f in report.files) == 7   # 01 to 07: 07_models is shared
    assert sum(f.endswith(".svg") for f in report.files) == 8
    assert report.small >= 30 and report.complementary >= 20 and report.hidden >= 100
    print(f"\nrecovery test: {report.unknowns} unknown counts ({report.small} '<5', {report.complementary} '[c]', "
          f"{report.hidden} never printed), {report.published} published counts, no leak")
