"""One style per printed quantity (issue 21): an odds ratio, a p-value, a visit and the events per
variable print the same way in every table and sentence, rounded half up; the q-values of the
baseline characteristics are not diluted by the follow-up SLEDAI-2K."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msc_sle.clinical import visit_label
from msc_sle.compare import compare_groups, summarise, timing_families
from msc_sle.present.format import epv_text, format_ratio, p_text
from msc_sle.present.tables import plain_table, rates_table
from msc_sle.stats.models import events_per_variable


def test_an_odds_ratio_prints_three_significant_digits_everywhere():
    assert format_ratio(0.17612, 0.052861, 0.58341) == "0.176 (0.0529 to 0.583)"
    assert format_ratio(1.8649, 0.99234, 3.6542) == "1.86 (0.992 to 3.65)"
    assert format_ratio(20.09, 1.0, 148.6) == "20.1 (1.00 to 149)"
    assert format_ratio(2.0, 0.5, float("inf")) == "–"


@pytest.mark.parametrize("p, text", [(0.053, "p = 0.05"), (0.0054, "p = 0.01"), (0.00075, "p = 0.001"),
                                     (0.00049, "p < 0.001"), (0.625, "p = 0.63")])
def test_a_p_value_in_a_sentence_prints_as_in_the_tables(p, text):
    assert p_text(p) == text


def test_events_per_variable_round_half_up():
    # 29 events over 4 predictors = 7.25: Python's format prints 7.2 (half to even), the pages 7.3
    y = np.array([1] * 29 + [0] * 40)
    epv = events_per_variable(y, 4)
    assert "= 7.3 events per variable" in epv_text(epv)
    assert "WARNING: below 10" in epv_text(epv)


def test_a_visit_has_one_name():
    assert [visit_label(m) for m in (0, 1, 3, 6, 12)] == ["Baseline", "M1", "M3", "M6", "M12"]
    frame = pd.DataFrame({"month": [0, 12], "n": [3, 4]})
    shown = plain_table(frame, columns={"month": "Visit", "n": "n"}, formats={"month": "visit"})
    assert shown.body["Visit"].tolist() == ["Baseline", "M12"]
    rates = pd.DataFrame({"response": ["CR", "CR"], "when": ["month 1", "during the year"], "n": [1, 2],
                          "patients": [16, 16], "percent": [6.25, 12.5], "ci_low": [1.1, 3.5],
                          "ci_high": [28.3, 36.0], "missing visits": [0, 0]})
    assert rates_table(rates).body["Visit"].tolist() == ["M1", "during the year"]


def _frame(n=40, seed=3):
    rng = np.random.default_rng(seed)
    resp = rng.random(n) < 0.4
    return pd.DataFrame({
        "cr_ever": resp,
        "fever": rng.random(n) < 0.3,
        "prior_cyc": rng.random(n) < 0.5,
        "prednisone_dose_group": pd.Categorical(np.where(rng.random(n) < 0.5, "<20", ">=20"),
                                                categories=["<20", ">=20"]),
        "age_years": rng.normal(35, 8, n).round(),
        "sledai_m1": np.where(resp, 3, 9) + rng.integers(0, 3, n),
        "sledai_m12": np.where(resp, 1, 8) + rng.integers(0, 3, n),
    })


def test_a_two_level_category_carries_one_odds_ratio():
    res = compare_groups(_frame(), "cr_ever", ["prednisone_dose_group"]).add_effect()
    rows = res.table.set_index("level")
    assert rows.loc["<20", "effect"] == "odds ratio" and np.isfinite(rows.loc["<20", "effect_estimate"])
    assert rows.loc[">=20", "effect"] == "" and np.isnan(rows.loc[">=20", "effect_estimate"])


def test_follow_up_sledai_is_its_own_family_of_q_values():
    frame = _frame()
    variables = ["fever", "prior_cyc", "age_years", "sledai_m1", "sledai_m12"]
    families = timing_families(variables)
    assert families == {"fever": "baseline", "prior_cyc": "baseline", "age_years": "baseline",
                        "sledai_m1": "follow-up", "sledai_m12": "follow-up"}
    res = summarise(frame, "cr_ever", variables).add_p().add_q("bh", families=families)
    per_var = res.table.drop_duplicates("variable").set_index("variable")
    baseline_only = summarise(frame, "cr_ever", variables[:3]).add_p().add_q("bh")
    base = baseline_only.table.drop_duplicates("variable").set_index("variable")
    # the baseline q-values are those of the baseline variables adjusted alone: the follow-up
    # SLEDAI-2K's tiny p-values do not lower them
    np.testing.assert_allclose(per_var.loc[variables[:3], "q_value"], base.loc[variables[:3], "q_value"])
    # two follow-up p-values adjusted together: the larger keeps its p, BH-style, the smaller at most doubles
    ps = per_var.loc[["sledai_m1", "sledai_m12"], "p_value"].sort_values()
    qs = per_var.loc[ps.index, "q_value"]
    assert qs.iloc[1] == pytest.approx(ps.iloc[1]) and qs.iloc[0] == pytest.approx(min(2 * ps.iloc[0], ps.iloc[1]))
    assert set(per_var["q_family"]) == {"baseline", "follow-up"}
