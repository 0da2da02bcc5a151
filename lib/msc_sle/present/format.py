"""Numbers as the workbook prints them: one rounding rule (half up, as SPSS and journals print),
one p-value style (the paper's), one way to word a p-value in prose.

Every printed number of a table, figure label or sentence goes through these functions, so the
reproduction compares what the pages print.
"""
from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

__all__ = ["round_half_up", "rounded", "format_number", "format_fixed", "format_percent", "format_p", "p_text",
           "NOT_TESTED", "result_sentence"]

#: What a p-value cell shows when no test could be run (the footnote says why).
NOT_TESTED = "n.t."


def rounded(x: float | Fraction, decimals: int) -> Decimal:
    """``x`` rounded to ``decimals`` places, halves away from zero, as SPSS and journals print.

    Python's ``round`` rounds halves to even (``round(6.25, 1) == 6.2``) whereas 1/16 = 6.25 %
    is printed 6.3 % in Table 2; a Fraction is rounded exactly, a float through its shortest repr
    (so 0.125 is a half, as printed, not the binary fraction below it).
    """
    d = Decimal(x.numerator) / Decimal(x.denominator) if isinstance(x, Fraction) else Decimal(repr(float(x)))
    return d.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def round_half_up(x: float | Fraction, decimals: int) -> float:
    """:func:`rounded` as a float (NaN and infinities pass through)."""
    if isinstance(x, float) and not math.isfinite(x):
        return x
    return float(rounded(x, decimals))


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


def format_p(p: float, p_decimals="auto") -> str:
    """A p-value as printed: ``"auto"`` gives 2 decimals, 3 below 0.01 and ``"<0.001"`` below
    0.001 (the paper's style); an integer d gives d decimals and ``"<0.0...1"`` below 10^-d."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return NOT_TESTED
    if p_decimals == "auto":
        if p < 0.001:
            return "<0.001"
        return format_fixed(p, 3 if rounded(p, 2) < Decimal("0.01") or p < 0.01 else 2)
    d = int(p_decimals)
    if d < 1:
        raise ValueError("p_decimals must be 'auto' or a positive integer")
    if p < 10 ** -d:
        return "<" + format_fixed(10 ** -d, d)
    return format_fixed(p, d)


def p_text(p: float, test: str | None = None, digits: int = 3, symbol: str = "p") -> str:
    """A p-value for prose and figure labels: "p = 0.003 (Fisher)", "p < 0.001".

    The number is the table cell of :func:`format_p` (same rounding everywhere);
    ``symbol="q"`` words a q-value the same way.
    """
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return f"{symbol} not computed"
    cell = format_p(p, digits)
    text = f"{symbol} < {cell[1:]}" if cell.startswith("<") else f"{symbol} = {cell}"
    return f"{text} ({test})" if test else text


def result_sentence(result, subject: str = "", statistic: str = "chi-square") -> str:
    """A test result in one line that names its method: "log-rank (...): chi-square = 4.03 on 1 df,
    p = 0.045". ``result`` has ``method``, ``statistic``, ``df`` and ``p`` (a log-rank or interaction
    test of ``msc_sle.stats``); None reads "not testable". ``subject`` prefixes what was tested."""
    head = f"{subject}: " if subject else ""
    if result is None:
        return head + "not testable (fewer than two groups)"
    return (f"{head}{result.method}, {statistic} = {format_fixed(result.statistic, 2)} on {result.df} df, "
            f"{p_text(result.p)}")
