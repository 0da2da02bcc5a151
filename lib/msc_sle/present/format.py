"""Numbers as the workbook prints them: one rounding rule (half up, as SPSS and journals print),
one p-value style (the paper's), one way to word a p-value in prose.

Every printed number of a table, figure label or sentence goes through these functions, so the
reproduction compares what the pages print.
"""
from __future__ import annotations

import math
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

__all__ = ["round_half_up", "rounded", "format_number", "format_fixed", "format_percent", "format_rate",
           "format_against", "format_p", "p_text", "format_significant", "typeset", "NOT_TESTED", "on_half",
           "round_half_to_even", "friedman_text", "NO_PATIENT", "result_sentence", "format_ratio", "epv_text",
           "hazard_sentence"]

#: What a p-value cell shows when no test could be run (the footnote says why).
NOT_TESTED = "n.t."


def rounded(x: float | Fraction, decimals: int) -> Decimal:
    """``x`` rounded to ``decimals`` places, halves away from zero, as SPSS and journals print.

    Python's ``round`` rounds halves to even (``round(6.25, 1) == 6.2``) whereas 1/16 = 6.25 %
    is printed 6.3 % in Table 2; a Fraction is rounded exactly, a float through its shortest repr
    (so 0.125 is a half, as printed, not the binary fraction below it).
    """
    return _exact(x).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def _exact(x: float | Fraction) -> Decimal:
    """A Fraction divided out at 60 significant digits (exact for every terminating decimal the
    tables print); a float through its shortest repr."""
    if isinstance(x, Fraction):
        with localcontext() as ctx:
            ctx.prec = 60
            return Decimal(x.numerator) / Decimal(x.denominator)
    return Decimal(repr(float(x)))


def round_half_up(x: float | Fraction, decimals: int) -> float:
    """:func:`rounded` as a float (NaN and infinities pass through)."""
    if isinstance(x, float) and not math.isfinite(x):
        return x
    return float(rounded(x, decimals))


def on_half(x: float | Fraction, decimals: int) -> bool:
    """Does ``x`` lie exactly halfway between two values printed at ``decimals`` places (6.25 at one
    decimal)? Only there can two rounding conventions print different digits. A Fraction is judged
    exactly (5/16 of 100 is 31.25); a float through its shortest repr."""
    if isinstance(x, Fraction):
        scaled = x * 10 ** decimals
        return scaled.denominator == 2
    if not math.isfinite(x):
        return False
    scaled = _exact(x).scaleb(decimals)
    return scaled - scaled.to_integral_value(rounding=ROUND_FLOOR) == Decimal("0.5")


def round_half_to_even(x: float | Fraction, decimals: int) -> float:
    """``x`` rounded with halves to the even digit (Python's ``round``, IEEE 754's default).

    Nothing the workbook prints uses it: the paper audit uses it only to say which convention a
    printed value follows (6.25 prints 6.3 half up, 6.2 half to even)."""
    if isinstance(x, float) and not math.isfinite(x):
        return x
    return float(_exact(x).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN))


def format_number(x: float, decimals: int) -> str:
    """A median / range bound: rounded, trailing zeros dropped (38, 53.5, 1.25); "–" when missing."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    text = format(rounded(x, decimals), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_fixed(x: float, decimals: int) -> str:
    """Rounded to exactly ``decimals`` places (6.3, 31.25 -> 31.3 at one decimal)."""
    text = format(rounded(x, decimals), "f")
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def format_percent(k: int, n: int, decimals: int = 1) -> str:
    """``k`` of ``n`` as a percentage rounded half up, without the sign ("6.3" for 1/16)."""
    if not n:
        return "–"
    return format_fixed(Fraction(int(k) * 100, int(n)), decimals)


#: What a rate over no patient prints instead of a percentage.
NO_PATIENT = "not computable: no patient"


def format_rate(k: int, n: int, low: float, high: float, decimals: int = 1) -> str:
    """A response rate as the pages print it: ``"1/16 (6.3%; 95% CI 1.1-28.3)"``.

    ``low`` and ``high`` are the interval's bounds in percent; every number is rounded half up
    (:func:`format_percent`, :func:`format_fixed`); ``"0/0 (not computable: no patient)"`` when
    there is no patient."""
    if not n:
        return f"{int(k)}/0 ({NO_PATIENT})"
    ci = ("" if low is None or high is None or math.isnan(low) or math.isnan(high) else
          f"; 95% CI {format_fixed(low, decimals)}-{format_fixed(high, decimals)}")
    return f"{int(k)}/{int(n)} ({format_percent(k, n, decimals)}%{ci})"


def format_against(x: float | Fraction, decimals: int, extra: int = 1, max_extra: int = 8) -> str:
    """``x`` shown beside a value printed with ``decimals`` places, precisely enough not to mislead.

    At least ``extra`` more places than printed, and more until the shown digits round (half up)
    to what ``x`` itself rounds to: 5/69 = 7.2464% shows "7.246", not "7.25", which a reader would
    round to 7.3 (the printed value) although 7.2464 rounds to 7.2."""
    target = rounded(x, decimals)
    for d in range(decimals + max(1, extra), decimals + max_extra + 1):
        shown = rounded(x, d)
        if shown.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP) == target:
            return format_fixed(x, d)
    return format_fixed(x, decimals + max_extra)


def format_p(p: float, p_decimals="auto") -> str:
    """A p-value as the paper's tables print it (``"auto"``): two decimals, three when two would
    show 0.00, and ``"<0.001"`` when three would show 0.000 (SPSS displays three decimals; Table 2
    prints 0.03, 0.01 for M1's 0.0054, 0.003, 0.001 for arthralgia's 0.00075, and <0.001). An
    integer d gives d decimals and ``"<0.0...1"`` when d decimals would show zero. Half up."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return NOT_TESTED
    if p_decimals == "auto":
        if rounded(p, 3) == 0:
            return "<0.001"
        return format_fixed(p, 3 if rounded(p, 2) == 0 else 2)
    d = int(p_decimals)
    if d < 1:
        raise ValueError("p_decimals must be 'auto' or a positive integer")
    if rounded(p, d) == 0:
        return "<" + format_fixed(10 ** -d, d)
    return format_fixed(p, d)


def format_ratio(estimate, lower, upper, digits: int = 3) -> str:
    """An odds (or other) ratio with its confidence interval, as every table prints one:
    ``"0.176 (0.0529 to 0.583)"``, each number to ``digits`` significant digits (a ratio's
    precision is relative, so 0.05 and 20 keep the same information); "–" when any bound is
    missing or infinite."""
    values = (estimate, lower, upper)
    if any(v is None or (isinstance(v, (float, int)) and not math.isfinite(float(v))) for v in values):
        return "–"
    return (f"{format_significant(float(estimate), digits)} ({format_significant(float(lower), digits)} to "
            f"{format_significant(float(upper), digits)})")


def epv_text(epv, decimals: int = 1) -> str:
    """The events-per-variable sentence of the model pages, rounded half up like every other
    number (29 events over 4 predictors prints 7.3, not Python's 7.2). ``epv`` is a
    :class:`msc_sle.stats.models.EventsPerVariable`."""
    limiting = min(epv.n_events, epv.n_nonevents)
    value = Fraction(limiting, epv.n_predictors) if epv.n_predictors else math.nan
    shown = "–" if not epv.n_predictors else format_fixed(value, decimals)
    text = (f"{limiting} events (smaller outcome class) / {epv.n_predictors} predictors "
            f"= {shown} events per variable")
    if epv.below_threshold:
        text += (f"; WARNING: below {format_number(epv.threshold, 2)}, estimates may be biased and "
                 "overfitted (Peduzzi et al. 1996); Firth's penalisation and the bootstrap "
                 "optimism correction mitigate but do not remove this")
    return text


def format_significant(x: float, digits: int = 3) -> str:
    """``x`` to ``digits`` significant digits, trailing zeros kept (an odds ratio of 1 prints 1.00,
    0.3426 prints 0.343, 20.09 prints 20.1, 148.6 prints 149); "–" when missing or infinite."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    if x == 0:
        return format_fixed(0.0, digits - 1)
    exponent = math.floor(math.log10(abs(float(rounded(x, 12)))))
    decimals = max(digits - 1 - exponent, 0)
    text = format_fixed(x, decimals)
    # rounding can carry into a new digit (9.996 -> 10.00): one decimal fewer then
    if decimals and len(text.replace("-", "").replace(".", "").lstrip("0")) > digits:
        text = format_fixed(x, decimals - 1)
    return text


_TYPESET = (("<=", "≤"), (">=", "≥"), ("!=", "≠"))


def typeset(text) -> str:
    """Printed text with the typography of the paper: ``>=`` as ≥, ``<=`` as ≤."""
    text = str(text)
    for ascii_, glyph in _TYPESET:
        text = text.replace(ascii_, glyph)
    return text


def friedman_text(result, times: str = "baseline, M1, M3, M6, M12", patients: str | None = None) -> str:
    """The sentence a page prints for :func:`msc_sle.compare.paired_over_time`'s Friedman test, or
    what could not be computed and why. ``patients`` replaces "k of n" (the patients with every
    visit), e.g. with a count withheld for circulation."""
    where = f"Friedman test across {times}"
    if result.n_total == 0:
        return f"{where}: not computable: no patient (n = 0)"
    visits = f"{patients or f'{result.n_complete} of {result.n_total}'} patients with every visit"
    if result.statistic is None or math.isnan(result.statistic):
        return f"{where}: {result.test} ({visits})"
    return (f"{where}: chi-square = {format_fixed(result.statistic, 2)}, df = {result.df}, {p_text(result.p_value)} "
            f"({visits})")


def p_text(p: float, test: str | None = None, digits="auto", symbol: str = "p") -> str:
    """A p-value for prose and figure labels: "p = 0.003 (Fisher)", "p < 0.001".

    The number is the table cell of :func:`format_p` with the tables' own style (``digits``
    "auto"), so one p-value prints the same in a table, a sentence and a label;
    ``symbol="q"`` words a q-value the same way.
    """
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return f"{symbol} not computed"
    cell = format_p(p, digits)
    text = f"{symbol} < {cell[1:]}" if cell.startswith("<") else f"{symbol} = {cell}"
    return f"{text} ({test})" if test else text


def hazard_sentence(model, subject: str) -> str:
    """A discrete-time (complementary log-log) model of a continuous predictor in one line: its test
    as :func:`result_sentence` prints it, then the hazard ratio with its Wald CI; "not estimable"
    when the predictor separates the patients who respond at a visit from those who do not.
    ``model`` is a :class:`msc_sle.stats.survival.DiscreteTimeResult`."""
    if not model.estimable:
        return (f"{subject}: discrete-time model not estimable (the predictor separates the patients who "
                "respond at a visit from those who do not)")
    hr = model.table.iloc[0]
    return (result_sentence(model.test, subject) + "; hazard ratio "
            + format_ratio(hr["hazard_ratio"], hr["hr_lower"], hr["hr_upper"]) + " (95% Wald CI)")


def result_sentence(result, subject: str = "", statistic: str = "chi-square") -> str:
    """A test result in one line that names its method: "log-rank (...): chi-square = 4.03 on 1 df,
    p = 0.045". ``result`` has ``method``, ``statistic``, ``df`` and ``p`` (a log-rank or interaction
    test of ``msc_sle.stats``); one with a ``df_denominator`` is an F test and reads "F = 2.54 on 4
    and 335 df". None reads "not testable". ``subject`` prefixes what was tested."""
    head = f"{subject}: " if subject else ""
    if result is None:
        return head + "not testable (fewer than two groups)"
    if isinstance(result, str):   # why it is not shown, e.g. withheld in a shared bundle
        return head + result
    if getattr(result, "df_denominator", None) is not None:  # an F test: its two df, its own p
        return (f"{head}{result.method}, F = {format_fixed(result.statistic, 2)} on {result.df} and "
                f"{result.df_denominator} df, {p_text(result.p)}")
    return (f"{head}{result.method}, {statistic} = {format_fixed(result.statistic, 2)} on {result.df} df, "
            f"{p_text(result.p)}")
