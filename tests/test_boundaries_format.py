"""Boundary tests of the printed number style (`present/format.py`, `make mutants`): each value sits on
a rounding or style boundary of the paper's printing rules (half up as SPSS and journals print; two
decimals for a p-value, three when two show 0.00, "<0.001" when three show 0.000), and each
expected string is worked out by hand from those rules."""
from __future__ import annotations

import math
from fractions import Fraction
from types import SimpleNamespace

import pandas as pd
import pytest

from msc_sle.present.format import (NO_PATIENT, NOT_TESTED, epv_text, format_against, format_fixed, format_number,
                                    format_p, format_percent, format_rate, format_ratio, format_significant,
                                    friedman_text, hazard_sentence, on_half, p_text, result_sentence, round_half_to_even,
                                    round_half_up, rounded, typeset)


@pytest.mark.parametrize("p, text", [
    (0.0495, "0.05"),        # half up at two decimals
    (0.0050, "0.01"),        # 0.005 rounds up to 0.01: two decimals suffice
    (0.00499, "0.005"),      # two would show 0.00: three
    (0.0005, "0.001"),       # half up at three decimals
    (0.000499, "<0.001"),    # three would show 0.000
    (0.995, "1.00"),         # rounds up to one, still two decimals
    (1.0, "1.00"),
])
def test_p_value_auto_style_at_its_boundaries(p, text):
    assert format_p(p) == text


def test_p_value_with_fixed_decimals():
    assert format_p(0.0005, 3) == "0.001" and format_p(0.000499, 3) == "<0.001"
    assert format_p(0.05, 1) == "0.1" and format_p(0.0499, 1) == "<0.1"
    assert format_p(0.12345, 4) == "0.1235" and format_p(0.04, "2") == "0.04"
    assert format_p(1e-12, 8) == "<0.00000001" and format_p(1e-12, 2) == "<0.01"
    assert format_p(None) == NOT_TESTED == format_p(float("nan")) == "n.t."
    for bad in (0, -1):
        with pytest.raises(ValueError, match="^p_decimals must be 'auto' or a positive integer$"):
            format_p(0.5, bad)


def test_halves_round_away_from_zero():
    assert round_half_up(2.5, 0) == 3.0 and round_half_up(-2.5, 0) == -3.0
    assert round_half_up(0.125, 2) == 0.13 and round_half_up(Fraction(1, 8), 2) == 0.13
    assert round_half_up(Fraction(1, 3), 3) == 0.333
    assert math.isinf(round_half_up(float("inf"), 1)) and math.isnan(round_half_up(float("nan"), 1))
    assert rounded(Fraction(2, 3), 2) == rounded(0.67, 2)
    # a fraction just below a half by 1e-31 is divided out to enough digits not to round up as a half
    assert rounded(Fraction(5 * 10**30 - 1, 10**31), 0) == 0
    assert round_half_to_even(0.125, 2) == 0.12 and round_half_to_even(0.135, 2) == 0.14
    assert math.isinf(round_half_to_even(float("-inf"), 1))


def test_on_half():
    assert on_half(6.25, 1) and on_half(Fraction(25, 4), 1) and on_half(-0.5, 0)
    assert not on_half(6.26, 1) and not on_half(6.24, 1) and not on_half(Fraction(1, 3), 1)
    assert not on_half(6.25, 2) and not on_half(float("inf"), 1) and not on_half(float("nan"), 1)
    assert not on_half(7.0, 0) and on_half(7.5, 0)
    assert on_half(Fraction(1, 2), 0) and on_half(Fraction(1, 200), 2) and not on_half(Fraction(1, 20), 2)


def test_numbers_drop_trailing_zeros_but_not_integer_digits():
    assert format_number(38.0, 1) == "38" and format_number(53.50, 2) == "53.5" and format_number(1.25, 2) == "1.25"
    assert format_number(100, 0) == "100" and format_number(120.0, 1) == "120" and format_number(1.05, 1) == "1.1"
    assert format_number(-0.04, 1) == "0" and format_number(0.0, 2) == "0" and format_number(-1.5, 0) == "-2"
    assert format_number(None, 1) == "–" and format_number(float("nan"), 1) == "–"


def test_fixed_decimals_never_print_minus_zero():
    assert format_fixed(-0.04, 1) == "0.0" and format_fixed(-0.06, 1) == "-0.1"
    assert format_fixed(1e-7, 7) == "0.0000001" and format_number(1.2e-7, 8) == "0.00000012"   # never 1E-7
    assert format_fixed(31.25, 1) == "31.3" and format_fixed(2, 2) == "2.00" and format_fixed(-2, 0) == "-2"


def test_percent_and_rate():
    assert format_percent(1, 16) == "6.3" and format_percent(5, 69) == "7.2" and format_percent(2, 3, 0) == "67"
    assert format_percent(0, 0) == "–" and format_percent(16, 16) == "100.0"
    assert format_rate(1, 16, 1.1, 28.3) == "1/16 (6.3%; 95% CI 1.1-28.3)"
    assert format_rate(1, 16, 1.14, 28.26, decimals=2) == "1/16 (6.25%; 95% CI 1.14-28.26)"
    assert format_rate(1, 16, float("nan"), 28.3) == "1/16 (6.3%)" == format_rate(1, 16, 1.1, None)
    assert format_rate(1, 16, None, 2.0) == "1/16 (6.3%)" == format_rate(1, 16, 1.0, float("nan"))
    assert format_rate(0, 0, 0.0, 0.0) == f"0/0 ({NO_PATIENT})" == "0/0 (not computable: no patient)"


def test_format_against_shows_enough_digits_not_to_mislead():
    # 5/69 = 7.2463...: printed 7.2; "7.25" would read as 7.3, so three decimals
    assert format_against(Fraction(500, 69), 1) == "7.246"
    assert format_against(Fraction(100, 16), 1) == "6.25"            # exactly on the half: one more place
    assert format_against(0.0179, 2, extra=2) == "0.0179"
    assert format_against(7.2496, 1) == "7.2496"
    assert format_against(Fraction(1, 3), 1, extra=0) == "0.33"      # at least one more place
    assert format_against(7.24999999999, 1, max_extra=3) == "7.2500"  # gives up at max_extra places
    assert format_against(7.2496, 1, max_extra=4) == "7.2496"          # found before the last place
    assert format_against(7.2496, 1, max_extra=3) == "7.2496"          # found at the last place
    assert format_against(7.2499999995, 1) == "7.250000000"           # needs 9 more places: gives up at 8


def test_significant_digits():
    assert format_significant(0.3426) == "0.343" and format_significant(20.09) == "20.1"
    assert format_significant(148.6) == "149" and format_significant(1) == "1.00"
    assert format_significant(9.996) == "10.0" and format_significant(0.09996) == "0.100"
    assert format_significant(-1.234) == "-1.23" and format_significant(0) == "0.00"
    assert format_significant(0.0, 2) == "0.0" and format_significant(1234.5) == "1235"
    assert format_significant(float("nan")) == "–" and format_significant(None) == "–"
    assert format_significant(float("inf")) == "–" and format_significant(0.052861, 2) == "0.053"


def test_ratio():
    assert format_ratio(2.0, 0.5, 8.0) == "2.00 (0.500 to 8.00)"
    assert format_ratio(2.0, 0.5, 8.0, digits=2) == "2.0 (0.50 to 8.0)"
    assert format_ratio(None, 0.5, 8.0) == "–" == format_ratio(2.0, float("nan"), 8.0)
    assert format_ratio(2, 1, 3) == "2.00 (1.00 to 3.00)"


def test_typeset():
    assert typeset("SLEDAI-2K <= 4, age >= 18, x != y") == "SLEDAI-2K ≤ 4, age ≥ 18, x ≠ y"
    assert typeset(7) == "7"


def test_p_in_words():
    assert p_text(0.000499) == "p < 0.001" and p_text(0.0005) == "p = 0.001"
    assert p_text(0.03, "Fisher") == "p = 0.03 (Fisher)" and p_text(0.03, symbol="q") == "q = 0.03"
    assert p_text(float("nan")) == "p not computed" and p_text(None, symbol="q") == "q not computed"
    assert p_text(0.1234, digits=3) == "p = 0.123"


def test_events_per_variable_sentence():
    epv = SimpleNamespace(n_events=29, n_nonevents=40, n_predictors=4, threshold=10, below_threshold=True)
    text = epv_text(epv)
    assert text == ("29 events (smaller outcome class) / 4 predictors = 7.3 events per variable; WARNING: below "
                    "10, estimates may be biased and overfitted (Peduzzi et al. 1996); Firth's penalisation and the "
                    "bootstrap optimism correction mitigate but do not remove this")
    odd = SimpleNamespace(n_events=29, n_nonevents=40, n_predictors=4, threshold=7.125, below_threshold=True)
    assert "WARNING: below 7.13, " in epv_text(odd)
    ok = SimpleNamespace(n_events=60, n_nonevents=45, n_predictors=4, threshold=10, below_threshold=False)
    assert epv_text(ok) == "45 events (smaller outcome class) / 4 predictors = 11.3 events per variable"
    assert epv_text(ok, decimals=2).endswith("= 11.25 events per variable")
    none = SimpleNamespace(n_events=3, n_nonevents=5, n_predictors=0, threshold=10, below_threshold=False)
    assert epv_text(none) == "3 events (smaller outcome class) / 0 predictors = – events per variable"


def test_friedman_sentence():
    res = SimpleNamespace(n_total=20, n_complete=18, statistic=12.345, df=4, p_value=0.0149, test="Friedman")
    assert friedman_text(res) == ("Friedman test across baseline, M1, M3, M6, M12: chi-square = 12.35, df = 4, "
                                  "p = 0.01 (18 of 20 patients with every visit)")
    assert friedman_text(res, "M1, M3", patients="<5").endswith("p = 0.01 (<5 patients with every visit)")
    none = SimpleNamespace(n_total=0, n_complete=0, statistic=float("nan"), df=4, p_value=float("nan"), test="x")
    assert friedman_text(none) == "Friedman test across baseline, M1, M3, M6, M12: not computable: no patient (n = 0)"
    nan = SimpleNamespace(n_total=3, n_complete=1, statistic=float("nan"), df=4, p_value=float("nan"),
                          test="not testable: fewer than 2 patients with every visit")
    assert friedman_text(nan) == ("Friedman test across baseline, M1, M3, M6, M12: not testable: fewer than 2 "
                                  "patients with every visit (1 of 3 patients with every visit)")
    nan_none = SimpleNamespace(**{**vars(nan), "statistic": None})
    assert friedman_text(nan_none) == friedman_text(nan)


def test_result_sentences():
    chi = SimpleNamespace(method="log-rank", statistic=4.034, df=1, p=0.0446)
    assert result_sentence(chi) == "log-rank, chi-square = 4.03 on 1 df, p = 0.04"
    assert result_sentence(chi, "SLEDAI", statistic="W") == "SLEDAI: log-rank, W = 4.03 on 1 df, p = 0.04"
    f = SimpleNamespace(method="interaction", statistic=2.545, df=4, df_denominator=335, p=0.0392)
    assert result_sentence(f, "visit x group") == "visit x group: interaction, F = 2.55 on 4 and 335 df, p = 0.04"
    assert result_sentence(None, "age") == "age: not testable (fewer than two groups)"
    assert result_sentence(None) == "not testable (fewer than two groups)"
    assert result_sentence("withheld", "age") == "age: withheld"


def test_hazard_sentence():
    table = pd.DataFrame({"hazard_ratio": [1.5], "hr_lower": [1.1], "hr_upper": [2.25]})
    test = SimpleNamespace(method="Wald", statistic=6.5, df=1, p=0.011)
    model = SimpleNamespace(estimable=True, table=table, test=test)
    assert hazard_sentence(model, "age") == ("age: Wald, chi-square = 6.50 on 1 df, p = 0.01; hazard ratio "
                                             "1.50 (1.10 to 2.25) (95% Wald CI)")
    assert hazard_sentence(SimpleNamespace(estimable=False), "age") == (
        "age: discrete-time model not estimable (the predictor separates the patients who respond at a visit "
        "from those who do not)")
