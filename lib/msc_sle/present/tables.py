"""Table 1 and Table 2 as a manuscript shows them, and their export.

``table_one`` lays out the overall characteristics (the paper's Table 1: "n (x%)" and
"median (range)" under the dictionary's section headings); ``comparison_table`` lays out a
:func:`msc_sle.compare.compare_groups` result like the paper's Table 2, with the p-value of each
variable, a footnote mark for the test that produced it (the paper marks Fisher rows with ``*``)
and a legend naming every test used. ``export_table`` writes CSV (the tidy numbers), XLSX, DOCX,
HTML, LaTeX and Markdown, each file atomically.
"""
from __future__ import annotations

import hashlib
import html
import math
import re
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

from ..clinical.visits import visit_label
from ..compare import FAMILIES, TEST_NAMES, Comparison, describe, group_columns
from ..contract import as_dictionary
from ..stats import TESTS
from ..stats.estimability import NOT_ESTIMABLE
from .format import (NOT_TESTED, epv_text, format_fixed, format_number, format_p, format_percent, format_rate,
                     format_ratio, format_significant, p_text, round_half_up, typeset)

__all__ = ["PublicationTable", "table_one", "comparison_table", "relayout", "plain_table", "rounded_rates",
           "regression_table", "sensitivity_table", "PAPER_SECTION_ORDER", "TEST_RULE_WORDS", "CELL_FORMATS"]
__all__ += ["prediction_table", "prediction_equation", "prediction_summary", "covariance_structures_table"]

#: Section order of the paper's tables (Table 2 top to bottom; Table 1 uses the same headings).
#: Sections are the dictionary's ``section`` values; any other section follows in dictionary order.
PAPER_SECTION_ORDER = ("Demographics", "Prior SLE medication history",
                       "Clinical and biological symptoms", "CYC induction",
                       "Allo-MSC transplantation", "SLEDAI", "Outcome")


@dataclass(frozen=True, repr=False)
class PublicationTable:
    """A manuscript table: display strings plus the tidy numbers behind them.

    ``body`` holds the displayed text (first column "Variables"); ``row_kinds`` says for each
    body row whether it is a ``"section"`` heading, a ``"variable"`` or a ``"level"`` row;
    ``footnotes`` are printed under the table; ``tidy`` is the numeric frame (CSV export).
    ``layout`` records how the body was laid out from ``tidy`` (builder and options), so
    :func:`relayout` can lay out a changed tidy frame (e.g. with counts withheld) the same way.

    A tidy cell may hold a text marker instead of a number (``"<5"``, ``"[c]"``: a count or
    statistic withheld for circulation, ``msc_sle.workbook.disclosure``); the body prints the marker.
    """
    title: str
    body: pd.DataFrame
    row_kinds: tuple
    footnotes: tuple
    tidy: pd.DataFrame
    layout: tuple = ()

    def style(self):
        """A pandas Styler: bold section headings, indented levels, caption = title."""
        kinds = list(self.row_kinds)

        def row_css(row):
            kind = kinds[row.name]
            if kind == "section":
                return ["font-weight: bold"] * len(row)
            if kind == "level":  # !important: the table-wide td padding would win otherwise
                return ["padding-left: 1.8em !important"] + [""] * (len(row) - 1)
            return [""] * len(row)

        # A fixed id (from the content) instead of pandas' random one: the same table renders to the
        # same HTML, so stored notebook outputs change only when a number does.
        uid = hashlib.sha1((self.title + self.body.to_csv()).encode()).hexdigest()[:10]
        return (self.body.style.set_uuid(uid).hide(axis="index").apply(row_css, axis=1)
                .set_caption(self.title)
                .set_table_styles([{"selector": "th", "props": "text-align: left"},
                                   {"selector": "td", "props": "text-align: left; padding: 0 0.6em"}]))

    def to_html(self) -> str:
        """The styled table followed by its footnotes."""
        out = self.style().to_html()
        if self.footnotes:
            out += "\n" + "\n".join(f'<p class="footnote">{html.escape(n)}</p>' for n in self.footnotes)
        return out

    def _repr_html_(self):
        return self.to_html()

    def __repr__(self) -> str:
        # what a console or a plain-text page shows: the table itself, not the tidy numbers behind it
        lines = [self.title] if self.title else []
        lines.append(self.body.to_string(index=False))
        return "\n".join(lines + list(self.footnotes))

    def to_markdown(self) -> str:
        """The table as Markdown: bold sections, indented levels, footnotes below."""
        body = self.body.copy()
        first = body.columns[0]
        kinds = list(self.row_kinds)
        body[first] = [f"**{v}**" if k == "section" else ("&emsp;" + v if k == "level" else v)
                       for v, k in zip(body[first], kinds)]
        parts = [f"**{self.title}**", ""] if self.title else []
        parts.append(body.to_markdown(index=False, disable_numparse=True))
        if self.footnotes:
            parts += [""] + list(self.footnotes)
        return "\n".join(parts) + "\n"



# --------------------------------------------------------------------------------------------
# layout shared by both tables
# --------------------------------------------------------------------------------------------
#: What a continuous cell prints beside its median: the range (the paper's style), or the type-6
#: interquartile range (a shared bundle prints no minimum or maximum: docs/disclosure.md).
SPREADS = {"range": "range", "iqr": "IQR"}


def _label(row, spread: str = "range") -> str:
    label = typeset(row["label"])
    unit = row["unit"] if isinstance(row["unit"], str) else ""
    if row["type"] == "continuous":
        # units from the dictionary, unless the printed label already carries them (Age/years)
        if unit and not re.search(r"(?<![A-Za-z])" + re.escape(unit.split("/")[0]) + r"(?![A-Za-z])",
                                  label):
            label = f"{label} ({unit})"
        return f"{label}, median ({SPREADS[spread]})"
    return label


def _shown_level_label(label: str, level) -> str:
    label = typeset(label)
    # a boolean's shown level is its True row; a one-variable table's level column is numpy bool
    # (np.True_ is not True), which once printed "Arthralgia/arthritis: True" in the explorer
    if level is None or (isinstance(level, (bool, np.bool_)) and level) or \
            (isinstance(level, float) and math.isnan(level)):
        # None: no value recorded at all, the row only counts the missing
        return label
    level = typeset(level)
    # a dictionary label that already names the level (level "F", label "Female") stands alone
    if label.lower().startswith(level.lower()):
        return label
    return f"{label}: {level}"


def _marker(value) -> bool:
    """A withheld value: the tidy frame holds its printed marker ("<5", "[c]") instead of a number."""
    return isinstance(value, str)


def _positive(series: pd.Series) -> pd.Series:
    """Counts above zero; a marker counts as above zero (a withheld missing count is 1 or more)."""
    return series.map(lambda v: _marker(v) or (pd.notna(v) and v > 0)).astype(bool)


def _count_text(value) -> str:
    return value if _marker(value) else str(int(value))


def _applicability(row, prefixes) -> str:
    """" (biopsied only: n = 1 and 10)" for a variable that applies to some patients only (the data
    dictionary's ``applies_to``): the denominator is said, the others are not counted as missing."""
    who = row.get("applies_to", "") if hasattr(row, "get") else ""
    if not isinstance(who, str) or not who:
        return ""
    counts = [row.get(f"{p}_n_applicable") for p in prefixes]
    if any(c is None or (not _marker(c) and pd.isna(c)) for c in counts):
        return ""
    # "(n = 1 / 10 biopsied)" read as a fraction: the group sizes are said as a list, in column order
    return f" ({who} only: n = {_and_list([_count_text(c) for c in counts])})"


def _and_list(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _cell(row, prefix: str, decimals: int, range_sep: str, spread: str = "range") -> str:
    n_valid = row[f"{prefix}_n_valid"]
    if not _marker(n_valid) and (pd.isna(n_valid) or n_valid == 0):
        return "–"
    if row["type"] == "continuous":
        if _marker(row[f"{prefix}_median"]):
            return row[f"{prefix}_median"]    # withheld with the count of values
        low, high = ("min", "max") if spread == "range" else ("q1", "q3")
        return (f"{format_number(row[f'{prefix}_median'], decimals)} "
                f"({format_number(row[f'{prefix}_{low}'], decimals)}{range_sep}"
                f"{format_number(row[f'{prefix}_{high}'], decimals)})")
    count, pct = row[f"{prefix}_count"], row.get(f"{prefix}_pct")
    if _marker(count) or _marker(n_valid) or _marker(pct) or pct is None or pd.isna(pct):
        return _count_text(count)      # a withheld count, or a percentage that would give one back
    return f"{int(count)} ({format_percent(int(count), int(n_valid), decimals)}%)"


def _ordered_blocks(tidy: pd.DataFrame, section_order):
    """[(section, [variable frames])] in the paper's section order, variables in tidy order."""
    variables = list(dict.fromkeys(tidy["variable"]))
    sections = list(dict.fromkeys(tidy["section"].fillna("")))
    order = [s for s in section_order if s in sections] + \
            [s for s in sections if s not in section_order and s] + ([""] if "" in sections else [])
    blocks = []
    for section in order:
        vars_ = [v for v in variables
                 if (tidy.loc[tidy["variable"] == v, "section"].fillna("").iloc[0]) == section]
        blocks.append((section, [tidy[tidy["variable"] == v] for v in vars_]))
    return blocks


def _layout(tidy, prefixes, decimals, range_sep, section_order, extra, marks=None, spread="range"):
    """Body rows: [(kind, label, cells per prefix, extra cells on the p row)]; ``marks`` maps a
    variable to a footnote mark appended to its label."""
    marks = marks or {}
    rows = []
    for section, frames in _ordered_blocks(tidy, section_order):
        if section:
            rows.append(("section", section, None, None))
        for frame in frames:
            first = frame.iloc[0]
            mark = marks.get(first["variable"], "")
            if len(frame) == 1:
                r = first
                label = _label(r, spread) if r["type"] == "continuous" else \
                    _shown_level_label(str(r["label"]), r["level"])
                rows.append(("variable", label + _applicability(r, prefixes) + mark,
                             [_cell(r, p, decimals, range_sep, spread) for p in prefixes], extra(frame, r, True)))
            else:
                rows.append(("variable", _label(first, spread) + _applicability(first, prefixes) + mark, None, None))
                for i, (_, r) in enumerate(frame.iterrows()):
                    rows.append(("level", typeset(r["level"]),
                                 [_cell(r, p, decimals, range_sep, spread) for p in prefixes],
                                 extra(frame, r, i == 0)))
    return rows


def _build(rows, headers, n_extra):
    records, kinds = [], []
    for kind, label, cells, extra in rows:
        cells = cells or [""] * (len(headers) - 1 - n_extra)
        extra = extra or [""] * n_extra
        records.append([label, *cells, *extra])
        kinds.append(kind)
    body = pd.DataFrame(records, columns=headers)
    return body, tuple(kinds)


# --------------------------------------------------------------------------------------------
# Table 1
# --------------------------------------------------------------------------------------------
def table_one(data: pd.DataFrame, variables=None, decimals: int = 1, *, labels=None,
              dictionary=None, section_order=PAPER_SECTION_ORDER, range_sep: str = "-",
              title: str | None = None) -> PublicationTable:
    """The overall characteristics table (the paper's Table 1).

    One column "n = N" with "n (x%)" for categorical variables (percentage of the patients with
    the value recorded) and "median (range)" for continuous ones, under the dictionary's section
    headings in ``section_order``; a "Missing" column appears when any value is missing.
    ``variables`` (default: every dictionary variable with a table section, outcomes included,
    in dictionary order) also sets the order within a section. ``dictionary``: the data
    dictionary's path, or :class:`~msc_sle.contract.Dictionary` (default ``data/dictionary.csv``).
    """
    if variables is None:
        d = as_dictionary(dictionary)
        names = [n for n in dict.fromkeys(v.name for v in d.variables() if v.section) if n in data.columns]
        names += [c for c in data.columns if c not in d]
        tidy = describe(data, [c for c in names if _describable(data[c])] if names else None,
                        labels=labels, dictionary=d).table
    else:
        tidy = describe(data, variables, labels=labels, dictionary=dictionary).table
    return _table_one(tidy, n=len(data), decimals=decimals, section_order=section_order, range_sep=range_sep,
                      title=title)


def _table_one(tidy, *, n, decimals, section_order, range_sep, title, spread="range") -> PublicationTable:
    any_missing = bool(_positive(tidy["all_missing"]).any())

    def extra(frame, r, first):
        if not any_missing:
            return []
        m = r["all_missing"]
        return [_count_text(m) if first and (_marker(m) or m) else ""]

    rows = _layout(tidy, ["all"], decimals, range_sep, section_order, extra, spread=spread)
    headers = ["Variables", f"n = {n}"] + (["Missing"] if any_missing else [])
    body, kinds = _build(rows, headers, 1 if any_missing else 0)
    notes = [f"Values are n (%) of the patients with the value recorded, or median ({SPREADS[spread]})."]
    if any_missing:
        notes.append("Missing: patients without the value recorded.")
    if not n:
        notes.append("Not computable: no patient to describe (n = 0).")
    layout = (("builder", "table_one"), ("n", n), ("decimals", decimals), ("section_order", tuple(section_order)),
              ("range_sep", range_sep), ("title", title), ("spread", spread))
    return PublicationTable(title or f"Patients' characteristics at baseline (n = {n})",
                            body, kinds, tuple(notes), tidy, layout)


def relayout(table: PublicationTable, tidy: pd.DataFrame, footnotes=(), **changes) -> PublicationTable:
    """``table`` laid out again from ``tidy`` (same builder and options, but ``changes``, e.g.
    ``spread="iqr"``), with ``footnotes`` added.

    ``tidy`` is ``table.tidy`` with some values changed, e.g. replaced by markers.
    """
    options = dict(table.layout) | changes
    builder = options.pop("builder", None)
    if builder == "table_one":
        out = _table_one(tidy, **options)
    elif builder == "comparison_table":
        options["marks"] = None if options["marks"] is None else dict(options["marks"])
        options["row_notes"] = dict(options.get("row_notes", ()))
        out = comparison_table(tidy, **options)
    else:
        raise ValueError("relayout needs a table made by table_one or comparison_table")
    return PublicationTable(out.title, out.body, out.row_kinds, tuple(out.footnotes) + tuple(footnotes), out.tidy,
                            out.layout)


def _describable(series: pd.Series) -> bool:
    dt = series.dtype
    return (pd.api.types.is_bool_dtype(dt) or isinstance(dt, pd.CategoricalDtype)
            or pd.api.types.is_numeric_dtype(dt))


# --------------------------------------------------------------------------------------------
# Table 2
# --------------------------------------------------------------------------------------------
def comparison_table(result, decimals: int = 1, p_decimals="auto", *, effect: bool = False,
                     q_value: bool | None = None, marks=None, section_order=PAPER_SECTION_ORDER,
                     range_sep: str = "-", title: str | None = None, row_notes=None,
                     footnotes=(), spread: str = "range") -> PublicationTable:
    """A comparison laid out like the paper's Table 2.

    ``result`` is a :class:`~msc_sle.compare.Comparison` after ``add_p`` or its ``table``; tables of
    several comparisons concatenated (e.g. CR and LDA) are laid out side by side, one block of
    columns per grouping. One column per group ("<label> (n = N)"), then "p value" with the test's
    footnote mark (``marks``, default: each test's ``mark`` in ``msc_sle.stats.TESTS``, Fisher ``*``
    as in the paper); where the
    comparison carries another choice of test (``add_p(reference_tests=...)``, e.g. the paper's),
    a column beside gives that p-value wherever the tests differ; optional columns for the effect
    size with its 95% CI (``effect=True``) and the adjusted q-value (default: shown when the result
    has one); "Missing" per group when a value the variable applies to is missing (a variable that
    applies to some patients only, e.g. the nephritis class of the biopsied, states its
    denominator instead). p-values follow :func:`~msc_sle.present.format.format_p`; a test that
    could not run shows "n.t." with its reason in the footnotes. ``row_notes`` ``{variable: text}``
    adds a footnote to a row (a letter after its label).
    ``footnotes`` are added after the table's own, e.g. the response definition's source and
    caveats (``ResponseDefinition.footnotes()``), so every exported format carries them.
    """
    tidy = result.table if isinstance(result, Comparison) else result
    if not isinstance(tidy, pd.DataFrame):
        raise TypeError("comparison_table expects a Comparison (msc_sle.compare) or its table")
    required = {"variable", "label", "section", "type", "level", "unit", "by", "test", "p_value", "note"}
    missing_cols = required - set(tidy.columns)
    if missing_cols or not group_columns(tidy):
        raise ValueError("comparison_table expects a comparison after add_p "
                         f"(missing columns: {sorted(missing_cols) or 'the group columns'})")
    blocks = [b for _, b in tidy.groupby("by", sort=False)]
    tables = [_comparison_block(b.reset_index(drop=True), decimals, p_decimals, effect, q_value, marks,
                                section_order, range_sep, row_notes or {}, spread) for b in blocks]
    body, kinds, notes = tables[0]
    by_labels = [str(b["by_label"].iloc[0]) if "by_label" in b else str(b["by"].iloc[0]) for b in blocks]
    if len(tables) > 1:
        body, kinds, notes = _merge_blocks(tables, by_labels)
    notes = tuple(notes) + tuple(n for n in footnotes if n not in notes)
    layout = (("builder", "comparison_table"), ("decimals", decimals), ("p_decimals", p_decimals),
              ("effect", effect), ("q_value", q_value),
              ("marks", None if marks is None else tuple(dict(marks).items())),
              ("section_order", tuple(section_order)), ("range_sep", range_sep), ("title", title),
              ("row_notes", tuple(dict(row_notes or {}).items())), ("footnotes", tuple(footnotes)),
              ("spread", spread))
    return PublicationTable(title or f"Patients' characteristics divided by {' and by '.join(by_labels)}",
                            body, kinds, notes, tidy, layout)


def _merge_blocks(tables, by_labels):
    """Blocks of one layout side by side (gtsummary's tbl_merge), rows aligned on (kind, label);
    the columns shared by every block (p value, effect size, q value, Missing) name their grouping."""
    def named(body, by_label):
        return body.rename(columns={c: f"{c} ({by_label})" for c in body.columns[1:] if " (n = " not in c})

    first_body, kinds, _ = tables[0]
    keys = list(zip(kinds, first_body.iloc[:, 0]))
    merged = named(first_body, by_labels[0])
    for (body, other_kinds, _), by_label in zip(tables[1:], by_labels[1:]):
        body = named(body, by_label)
        other_keys = list(zip(other_kinds, body.iloc[:, 0]))
        if other_keys != keys:
            raise ValueError("comparisons of different variables cannot be laid out side by side; "
                             "compare the same variables for each grouping")
        merged = pd.concat([merged, body.iloc[:, 1:].reset_index(drop=True)], axis=1)
    if merged.columns.duplicated().any():
        raise ValueError("two blocks have the same column headers; give the groupings distinct labels")
    notes = tuple(dict.fromkeys(n for _, _, block_notes in tables for n in block_notes))
    return merged, kinds, notes


#: How a table names the rule that chose its tests (the ``test_rule`` column of a comparison).
TEST_RULE_WORDS = {
    "paper": "as in the paper: on each row the test the paper's Table 2 used (Fisher's exact test where it "
             "prints *, Pearson's chi-square on its other categorical rows); elsewhere the tests its methods "
             "name (Mann-Whitney U, Pearson's chi-square)",
    "expected_lt_5": "by the expected-count rule: Fisher's exact test (Fisher-Freeman-Halton beyond 2 x 2) when "
                     "an expected count is below 5, Pearson's chi-square otherwise; Mann-Whitney U for continuous "
                     "variables",
    "cochran": "by Cochran's rule (1954): Fisher's exact test (Fisher-Freeman-Halton beyond 2 x 2) when an "
               "expected count is below 1 or more than 20% are below 5, Pearson's chi-square otherwise; "
               "Mann-Whitney U for continuous variables",
    "pearson_only": "as the paper's methods name them: Pearson's chi-square for every categorical variable and "
                    "Mann-Whitney U for continuous ones, unless a test is named for a variable",
}


#: The tests a rule of :data:`TEST_RULE_WORDS` chooses among (what its sentence names).
_RULE_CHOICES = frozenset({"mann_whitney", "chi2", "fisher", "fisher_freeman_halton"})


def _comparison_block(result: pd.DataFrame, decimals, p_decimals, effect, q_value, marks, section_order,
                      range_sep, row_notes, spread="range"):
    marks = {name: info.mark for name, info in TESTS.items()} if marks is None else dict(marks)
    prefixes = group_columns(result)
    glabels = [str(result[f"{p}_label"].iloc[0]) for p in prefixes]
    sizes = [_count_text(result[f"{p}_n"].iloc[0]) for p in prefixes]
    show_q = ("q_value" in result.columns) if q_value is None else bool(q_value)
    if show_q and "q_value" not in result.columns:
        raise ValueError("q_value=True but the result has no q_value (add_q)")
    if effect and "effect_estimate" not in result.columns:
        raise ValueError("effect=True but the result has no effect sizes (add_effect)")
    show_ref = "ref_test" in result.columns and result["ref_test"].astype(str).ne("").any()
    reference = str(result["reference"].iloc[0]) if show_ref and "reference" in result else ""
    miss_cols = [f"{p}_missing" for p in prefixes]
    any_missing = bool(any(_positive(result[c]).any() for c in miss_cols))
    used, not_testable = [], []
    letters = {v: chr(ord("a") + i) for i, v in enumerate(v for v in dict.fromkeys(result["variable"])
                                                           if v in row_notes)}

    def p_cell(p, test):
        if _marker(p):
            return p
        if test not in marks:
            raise ValueError(f"no footnote mark for test {test!r}; pass marks=")
        if test not in used:
            used.append(test)
        return format_p(float(p), p_decimals) + marks[test]

    def extra(frame, r, first):
        cells = []
        test = str(r["test"])
        if first:
            if test.startswith("not testable"):
                cells.append(NOT_TESTED)
                not_testable.append(f"{typeset(r['label'])}: {test.split(': ', 1)[1]}")
            elif _marker(r["p_value"]):
                cells.append(r["p_value"])
            else:
                cells.append(p_cell(r["p_value"], test))
        else:
            cells.append("")
        if show_ref:
            ref = str(r.get("ref_test", "") or "")
            cells.append(p_cell(r["ref_p_value"], ref) if first and ref and pd.notna(r["ref_p_value"]) else "")
        if effect:
            cells.append(_effect_cell(r, decimals))
        if show_q:
            q = r["q_value"]
            cells.append((q if _marker(q) else format_p(float(q), p_decimals)) if first and
                         (_marker(q) or pd.notna(q)) else "")
        if any_missing:
            m = [r[c] for c in miss_cols]
            shown = any(_marker(v) or v for v in m)
            cells.append(" / ".join(_count_text(v) for v in m) if first and shown else "")
        return cells

    rows = _layout(result, prefixes, decimals, range_sep, section_order, extra,
                   {v: f" ({letter})" for v, letter in letters.items()}, spread)
    haldane = bool(result["note"].str.contains("Haldane", regex=False).any()) and effect
    ref_header = f"p value, {reference}'s test" if reference else "p value, other test"
    headers = (["Variables"] + [f"{g} (n = {n})" for g, n in zip(glabels, sizes)] + ["p value"]
               + ([ref_header] if show_ref else [])
               + (["Effect size (95% CI)"] if effect else []) + (["q value"] if show_q else [])
               + (["Missing (" + " / ".join(glabels) + ")"] if any_missing else []))
    body, kinds = _build(rows, headers, 1 + show_ref + effect + show_q + any_missing)

    # A short note in a clinician's words, as a journal prints one: what the cells are, which test
    # gave each p, what the effect and q columns are, the abbreviations used, then the row notes.
    values = f"Values are n (%) of the patients with the value recorded, or median ({SPREADS[spread]})"
    if result["applies_to"].fillna("").astype(str).ne("").any() if "applies_to" in result else False:
        values += ("; a variable assessed in some patients only gives how many were assessed in each group, "
                   "and the percentages are of them")
    notes = [values + "." + (" Missing: patients without the value recorded, per group (" + " / ".join(glabels)
                             + ")." if any_missing else "")]
    rule = str(result["test_rule"].iloc[0]) if "test_rule" in result else ""
    tests = " ".join(_test_legend(used, marks, result))
    if rule in TEST_RULE_WORDS:
        # the rule's sentence names its own choices; a row that used another test (one named for the
        # variable with tests=, Kruskal-Wallis for three or more groups) must not read as the rule's
        other = [t for t in dict.fromkeys(used) if t not in _RULE_CHOICES]
        exceptions = "" if not other else (
            " Other tests used on some rows instead: "
            + ", ".join(TESTS[t].label if t in TESTS else str(t) for t in other) + " (the legend below says which).")
        tests = f"Tests {TEST_RULE_WORDS[rule]}.{exceptions} {tests}"
    if show_ref:
        tests += (f" {ref_header}: where the {reference}'s choice of test differs from the one above, the p value "
                  "under the paper's test, marked the same way.")
    if not_testable:
        reasons = {t.split(": ", 1)[1] for t in not_testable}
        if len(not_testable) > 1 and len(not_testable) == result["variable"].nunique() and len(reasons) == 1:
            words = [f"every variable: {reasons.pop()}"]   # e.g. no patient in one group: said once
        else:
            words = _not_testable_words(not_testable)
        tests += f" {NOT_TESTED}: not tested (" + "; ".join(words) + ")."
    notes.append(tests.strip())
    estimates = []
    if effect:
        versus = f", {glabels[0]} versus {glabels[1]}" if len(glabels) == 2 else ""
        estimates.append(f"Effect size{versus}: OR, odds ratio (95% CI, Woolf); HL, Hodges-Lehmann median "
                         "difference (95% CI)" + ("; ^ 0.5 added to each cell for a zero count (Haldane-Anscombe)"
                                                  if haldane else "") + ".")
    if show_q:
        estimates.append(_q_note(result))
    if estimates:
        notes.append(" ".join(estimates))
    shown_text = " ".join(str(v) for v in body.iloc[:, 0])
    used_abbreviations = [f"{a}, {w}" for a, w in ABBREVIATIONS.items()
                          if re.search(r"(?<![\w-])" + re.escape(a) + r"(?![\w-])", shown_text)]
    if re.search(r"(?<!\w)M\d+(?!\w)", shown_text):
        used_abbreviations.append(VISIT_ABBREVIATION)
    if used_abbreviations:
        notes.append("; ".join(used_abbreviations) + ".")
    if "by_note" in result and result["by_note"].iloc[0]:
        notes.append(str(result["by_note"].iloc[0]) + ".")
    notes += [f"({letter}) {_sentence(row_notes[v])}" for v, letter in letters.items()]
    return body, kinds, tuple(notes)


#: Abbreviations a table note spells out when the table prints them (the paper's own).
ABBREVIATIONS = {"CYC": "cyclophosphamide", "MMF": "mycophenolate mofetil", "HCQ": "hydroxychloroquine",
                 "LEF": "leflunomide", "MSCs": "mesenchymal stem cells", "BM": "bone marrow-derived",
                 "UC": "umbilical cord-derived", "SLEDAI": "SLE Disease Activity Index",
                 "CR": "clinical remission", "LDA": "low disease activity"}
VISIT_ABBREVIATION = "M1, M3, M6, M12, months 1, 3, 6 and 12 after the first MSC infusion"


def _sentence(text: str) -> str:
    text = str(text).strip()
    return text[:1].upper() + text[1:]


def _not_testable_words(items) -> list[str]:
    """["Prednisone use: all patients had it", "ANA: all patients had it"] grouped by reason:
    "Prednisone use, ANA: all patients had it"."""
    by_reason: dict[str, list[str]] = {}
    for item in items:
        label, _, reason = item.partition(": ")
        by_reason.setdefault(reason, []).append(label)
    return [f"{', '.join(labels)}: {reason}" for reason, labels in by_reason.items()]


def _q_note(result) -> str:
    """The q column's note: the adjustment and how many variables each family holds (counted)."""
    q_method = result["q_method"].iloc[0] if "q_method" in result else ""
    method = {"bh": "Benjamini-Hochberg false discovery rate",
              "holm": "Holm family-wise adjustment"}.get(q_method, "adjusted p value")
    per_var = result.drop_duplicates("variable")
    tested = per_var["p_value"].map(lambda v: _marker(v) or pd.notna(v))
    if "q_family" not in per_var or per_var["q_family"].nunique() < 2:
        return f"q value: {method} over the {int(tested.sum())} variables tested."
    parts = []
    for family, block in per_var[tested].groupby("q_family", sort=False):
        words = FAMILIES.get(family, family)
        labels = ", ".join(typeset(v) for v in block["label"]) if family != "baseline" else ""
        parts.append(f"the {len(block)} {words} tested" + (f" ({labels})" if labels else ""))
    return f"q value: {method}, computed separately for " + " and for ".join(parts) + "."


def _effect_cell(r, decimals) -> str:
    name = r.get("effect", "")
    est = r.get("effect_estimate")
    if _marker(est):
        return est
    if not name or est is None or pd.isna(est):
        return ""
    lo, hi = r["effect_ci_low"], r["effect_ci_high"]
    if name == "odds ratio":  # a ratio: the style of every table's odds ratios
        text = "OR " + (format_significant(est) if pd.isna(lo) else format_ratio(est, lo, hi))
    else:  # a difference on the variable's own scale: the decimals of its medians
        ci = "" if pd.isna(lo) else f" ({format_number(lo, decimals)} to {format_number(hi, decimals)})"
        text = f"HL {format_number(est, decimals)}{ci}"
    return text + ("^" if "Haldane" in str(r["note"]) else "")


def _test_legend(used, marks, result) -> list[str]:
    lines, unmarked = [], []
    for test in [t for t in ("mann_whitney", "kruskal", "chi2", "chi2_yates", "fisher",
                             "fisher_freeman_halton") if t in used] + \
            [t for t in used if t not in TEST_NAMES]:
        desc = TESTS[test].description if test in TESTS else test
        notes = result.loc[result["test"] == test, "note"]
        if test == "mann_whitney" and notes.str.contains("exact|permutation").any():
            desc = "Mann-Whitney U test (two-sided; exact or permutation p as stated per variable)"
        if test == "fisher_freeman_halton":
            mc = sorted({m.group(0) for n in notes for m in
                         [re.search(r"Monte Carlo p from \d+ resamples \(seed \d+\)", n)] if m})
            desc += " (exact enumeration" + (f"; {', '.join(mc)}" if mc else "") + ")"
        mark = marks.get(test, "")
        scope = {"mann_whitney": " for continuous variables", "kruskal": " for continuous variables",
                 "chi2": " for categorical variables"}.get(test, "")
        if mark:
            lines.append(f"{mark} {desc}.")
        else:
            unmarked.append(desc + scope)
    return ([f"Unmarked p values: {', '.join(unmarked)}."] if unmarked else []) + lines


# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# other tables of the pages
# --------------------------------------------------------------------------------------------
#: How :func:`plain_table` prints a column: ``text`` (typeset), ``int`` (a count), ``p`` (a p- or
#: q-value, the paper's style), ``test`` (a test's name from msc_sle.stats.TESTS), ``number:<d>``
#: (rounded half up, trailing zeros dropped), ``fixed:<d>`` (exactly d decimals), ``sig:<d>``
#: (d significant digits), ``percent:<d>`` (a share printed as a percentage), ``visit`` (a month
#: printed as every table names the visit: Baseline, M1, ...).
CELL_FORMATS = ("text", "int", "p", "test", "number", "fixed", "sig", "percent", "visit")


def _format_cell(value, how: str) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "–" if how not in ("text", "test") else ""
    kind, _, digits = how.partition(":")
    if _marker(value) and kind not in ("text", "test"):
        return value        # withheld for circulation ("<5", "[c]"): printed as the marker
    if kind == "text":
        return typeset(value)
    if kind == "test":
        return TESTS[value].label if value in TESTS else typeset(value)
    if kind == "int":
        return str(int(value))
    if kind == "p":
        return format_p(float(value))
    if kind == "number":
        return format_number(float(value), int(digits or 1))
    if kind == "fixed":
        return format_fixed(float(value), int(digits or 1))
    if kind == "sig":
        return format_significant(float(value), int(digits or 3))
    if kind == "visit":
        return visit_label(value)
    if kind == "percent":  # a share (0-1) printed as a percentage
        return format_fixed(100 * float(value), int(digits or 1)) + "%"
    raise ValueError(f"unknown cell format {how!r}; use one of {CELL_FORMATS} (with ':<digits>')")


def _default_format(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series.dtype):
        return "text"
    if pd.api.types.is_integer_dtype(series.dtype):
        return "int"
    if pd.api.types.is_float_dtype(series.dtype):
        whole = series.dropna()
        return "int" if len(whole) and (whole == whole.round()).all() else "number:2"
    return "text"


def plain_table(frame: pd.DataFrame, title: str = "", *, columns=None, formats=None,
                footnotes=()) -> PublicationTable:
    """A DataFrame as a page prints it: no index, clinical headers, every number formatted once.

    ``columns`` ``{column: header}`` picks and renames the columns shown (default: all, as named);
    ``formats`` ``{column: format}`` says how each prints (:data:`CELL_FORMATS`; default: counts
    as integers, other numbers to 2 decimals, text typeset). The tidy numbers stay behind the
    table (its ``data.csv``); booleans print yes / no.
    """
    shown = list(frame.columns) if columns is None else list(columns)
    missing = [c for c in shown if c not in frame.columns]
    if missing:
        raise KeyError(f"plain_table: columns not in the frame: {missing}")
    headers = [typeset(columns[c]) if columns else str(c) for c in shown]
    formats = dict(formats or {})
    body = {}
    for c, h in zip(shown, headers):
        how = formats.get(c) or _default_format(frame[c])
        values = frame[c].tolist()
        if pd.api.types.is_bool_dtype(frame[c].dtype):
            values = [("yes" if v else "no") if isinstance(v, (bool, np.bool_)) else v for v in values]
        body[h] = [_format_cell(v, how) for v in values]
    body = pd.DataFrame(body, columns=headers)
    return PublicationTable(title, body, ("variable",) * len(body), tuple(footnotes), frame.reset_index(drop=True))


def _visit_label(name: str) -> str:
    """The printed name of a visit column (``sledai_m1`` -> "M1", ``sledai_m0`` -> "Baseline") or of
    a rate's visit (``month 1`` -> "M1"): :func:`msc_sle.clinical.visit_label`, one style everywhere."""
    found = re.fullmatch(r"(?:.*_m|month )(\d+)", str(name))
    return visit_label(int(found.group(1))) if found else typeset(name)


#: Spells out the visit abbreviations under a table that uses them.
VISIT_NOTE = "M1, M3, M6, M12: months 1, 3, 6 and 12 after the first MSC infusion."


def over_time_tables(result, decimals: int = 1) -> tuple[PublicationTable, PublicationTable]:
    """The two tables of a :class:`~msc_sle.compare.PairedResult`: median (quartiles, range) per
    visit, and each visit against baseline (Wilcoxon signed-rank, Holm-adjusted)."""
    summary = result.summary.assign(time=[_visit_label(t) for t in result.summary["time"]])
    fmt = f"number:{decimals}"
    columns = {"time": "Visit", "n": "Patients scored", "median": "Median", "q1": "Q1", "q3": "Q3", "min": "Min",
               "max": "Max"}
    by_visit = plain_table(summary, "SLEDAI-2K per visit (patients scored at that visit)",
                           # a shared bundle's summary has no min and max (docs/disclosure.md)
                           columns={c: h for c, h in columns.items() if c in summary},
                           formats={c: f for c, f in {"n": "int", "median": fmt, "q1": fmt, "q3": fmt, "min": fmt,
                                                      "max": fmt}.items() if c in summary},
                           footnotes=("Quartiles as SPSS computes them (type 6).", VISIT_NOTE))
    pairwise = result.pairwise.assign(time=[_visit_label(t) for t in result.pairwise["time"]],
                                      baseline=[_visit_label(t) for t in result.pairwise["baseline"]])
    adjusted = "p_holm" if "p_holm" in pairwise else "q_value"
    against = plain_table(pairwise, "Each visit against baseline", columns={
        "time": "Visit", "n_pairs": "Patients with both visits", "n_nonzero": "Non-zero differences",
        "median_difference": "Median difference (points)", "statistic": "W+", "z": "z", "p_value": "p",
        adjusted: "p, Holm-adjusted" if adjusted == "p_holm" else "q (BH)", "test": "Test"},
        formats={"n_pairs": "int", "n_nonzero": "int", "median_difference": fmt, "statistic": "number:1",
                 "z": "fixed:2", "p_value": "p", adjusted: "p", "test": "test"},
        footnotes=(TESTS["wilcoxon"].description + "; W+ is the sum of the positive ranks (later minus "
                   "baseline).",))
    return by_visit, against


def rates_table(rates: pd.DataFrame, decimals: int = 1,
                title: str = "Response rates with Wilson 95% confidence intervals") -> PublicationTable:
    """Response rates (``msc_sle.rates``) as a page prints them: response, visit, n/N (%, CI), missing."""
    if "shown" not in rates:
        rates = rounded_rates(rates, decimals)
    rates = rates.assign(when=[_visit_label(w) for w in rates["when"]])
    return plain_table(rates, title, columns={"response": "Response", "when": "Visit",
                                              "shown": "Patients (%; 95% CI)", "missing visits": "Missing visits"},
                       formats={"missing visits": "int"},
                       footnotes=("Denominator: every analysed patient; a missing visit is not a response. "
                                  "Missing visits: patients whose visit was absent or could not be classified.",
                                  VISIT_NOTE))


def attrition_table(attrition: pd.DataFrame) -> PublicationTable:
    """The eligibility flow (``msc_sle.clinical.apply_eligibility(...).attrition``) as printed."""
    frame = attrition.assign(description=[typeset(d) for d in attrition["description"]])
    return plain_table(frame, "Eligibility (section 2.1), criteria in the paper's order",
                       columns={"description": "Criterion", "excluded": "Excluded",
                                "missing": "Of whom data missing", "remaining": "Remaining"},
                       formats={"excluded": "int", "missing": "int", "remaining": "int"},
                       footnotes=("A patient is counted under the first criterion he or she fails; missing data "
                                  "for a criterion excludes (and is counted apart).",))


# --------------------------------------------------------------------------------------------
# Response rates
# --------------------------------------------------------------------------------------------
def rounded_rates(rates: pd.DataFrame, decimals: int = 1) -> pd.DataFrame:
    """Response rates rounded as the pages print them (still a DataFrame: :func:`rates_table` lays
    it out): ``percent``, ``ci_low`` and ``ci_high`` rounded half up to ``decimals`` and a
    ``shown`` column ("1/16 (6.3%; 95% CI 1.1-28.3)").

    ``rates`` comes from :func:`msc_sle.rates.response_rates` or :func:`msc_sle.rates.cumulative_response`
    (columns ``n``, ``patients``, ``percent``, ``ci_low``, ``ci_high``, in percent, unrounded). The
    percentage is taken from the counts exactly (1/16 is 6.25%, printed 6.3, as the paper's tables do;
    Python's ``round`` would print 6.2).
    """
    out = rates.copy()
    k = out["n"].astype(int).tolist()
    n = out["patients"].astype(int).tolist()
    out["percent"] = [round_half_up(Fraction(100 * a, b), decimals) if b else math.nan for a, b in zip(k, n)]
    for col in ("ci_low", "ci_high"):
        out[col] = [round_half_up(float(v), decimals) for v in out[col]]
    out["shown"] = [format_rate(a, b, lo, hi, decimals)
                    for a, b, lo, hi in zip(k, n, rates["ci_low"].astype(float), rates["ci_high"].astype(float))]
    return out


# --------------------------------------------------------------------------------------------
# regression tables (the models stage)
# --------------------------------------------------------------------------------------------
_REFERENCE = "ref."


def _or_cell(estimate, lower, upper) -> str:
    """"1.87 (0.990 to 3.68)": one ratio style for every table (Table 2's effect column too)."""
    return format_ratio(estimate, lower, upper)


def _p_cell(p, p_decimals) -> str:
    return "–" if p is None or not math.isfinite(float(p)) else format_p(float(p), p_decimals)


def regression_table(model, decimals: int = 2, p_decimals="auto", *, title: str | None = None,
                     count=None) -> PublicationTable:
    """A multivariable logistic model laid out as a manuscript table, in the style of the paper's
    Table 2: each predictor's univariable odds ratio beside its adjusted odds ratio (Firth), and the
    ordinary maximum likelihood estimate where it exists (gtsummary's ``tbl_uvregression`` merged
    with ``tbl_regression``).

    ``model`` is a :class:`msc_sle.prognosis.PrognosticModel`. A categorical predictor with more than
    two levels gets a heading row and one row per level, its reference level marked "ref.";
    footnotes name the estimation, interval and test of every column, the events per variable and
    the patients left out.
    """
    tidy = model.table()
    data = model.data
    headers = ["Characteristic", "Univariable OR (95% CI)", "p, univariable", "Adjusted OR (95% CI), Firth",
               "p, Firth", "Adjusted OR (95% CI), ML", "p, ML"]

    def pair(r, fit) -> list[str]:
        # a fit that failed an estimability check prints words, never numbers (models.check_fit)
        if not r.get(f"{fit}_estimable", True) and not (fit == "ml" and not model.ml.exists):
            return [NOT_ESTIMABLE, ""]
        return [_or_cell(r[f"{fit}_or"], r[f"{fit}_lower"], r[f"{fit}_upper"]), _p_cell(r[f"{fit}_p"], p_decimals)]

    def cells(r) -> list[str]:
        return pair(r, "uni") + pair(r, "firth") + pair(r, "ml")

    records, kinds = [], []
    for variable, block in tidy.groupby("variable", sort=False):
        if len(block) == 1:
            r = block.iloc[0]
            label = r["label"]
            if r["kind"] == "indicator" and r["level"] not in ("", "yes"):
                label = f"{label} (vs {r['reference']})"
            records.append([label, *cells(r)])
            kinds.append("variable")
            continue
        info = data.variables.set_index("variable").loc[variable]
        records.append([info["label"]] + [""] * 6)
        kinds.append("variable")
        records.append([str(info["reference"]), _REFERENCE, "", _REFERENCE, "", _REFERENCE, ""])
        kinds.append("level")
        for _, r in block.iterrows():
            records.append([str(r["level"]), *cells(r)])
            kinds.append("level")
    body = pd.DataFrame(records, columns=headers)
    methods = model.methods
    epv = data.epv
    notes = [f"OR: odds ratio of {data.outcome_label}, with 95% confidence interval; continuous "
             "predictors per the step given; yes/no predictors yes vs no.",
             "Univariable: " + methods["univariable"].split(": ", 1)[1] + ".",
             "Adjusted, Firth: " + methods["firth"].split(": ", 1)[1] + ".",
             "Adjusted, ML: " + methods["ml"].split(": ", 1)[1] + ".",
             f"{data.exclusions()} Events per variable: {epv_text(epv)}."]
    notes.extend(f"{text}." for text in model.not_estimable(count))  # count: the share mode's rule
    title = title or (f"Odds ratios for {data.outcome_label}: univariable and multivariable logistic regression "
                      f"(n = {data.n}, {data.n_events} with the outcome)")
    return PublicationTable(title, body, tuple(kinds), tuple(notes), tidy)


def sensitivity_table(result, decimals: int = 2, *, title: str | None = None) -> PublicationTable:
    """The same model under each response definition, one column per definition.

    ``result`` is a :class:`msc_sle.prognosis.SensitivityResult`. The first row gives responders /
    analysed patients, the second the events per variable of each definition; each predictor row gives the
    Firth odds ratio (95% profile penalised-likelihood CI) and its penalised likelihood-ratio p.
    """
    t = result.table
    outcomes = list(dict.fromkeys(t["outcome"]))
    heads = {o: t.loc[t["outcome"] == o].iloc[0] for o in outcomes}
    headers = ["Characteristic"] + [str(heads[o]["outcome_label"]) for o in outcomes]
    counts = ["Responders / analysed"] + [f"{int(heads[o]['n_events'])}/{int(heads[o]['n'])}" for o in outcomes]
    epvs = ["Events per variable"] + ["–" if pd.isna(heads[o]["epv"]) else format_fixed(heads[o]["epv"], 1)
                                      for o in outcomes]
    records, kinds = [counts, epvs], ["variable", "variable"]
    terms = t[t["term"].notna()].drop_duplicates("term")
    for _, term in terms.iterrows():
        row = [str(term["label"])]
        for o in outcomes:
            r = t[(t["outcome"] == o) & (t["term"] == term["term"])]
            if r.empty:
                row.append("–")
                continue
            r = r.iloc[0]
            if not bool(r.get("estimable", True)):
                row.append(NOT_ESTIMABLE)
                continue
            row.append(_or_cell(r["odds_ratio"], r["or_lower"], r["or_upper"]) + "; " + p_text(r["p"]))
        records.append(row)
        kinds.append("variable")
    body = pd.DataFrame(records, columns=headers)
    level = f"{100 * (1 - result.alpha):g}%"
    notes = [f"Firth's penalised-likelihood logistic regression of each response during the year on the same "
             f"predictors: odds ratio ({level} profile penalised-likelihood CI); p: penalised likelihood-ratio "
             "test (1 df). EPV: events (the smaller outcome class) per model term; below 10 the estimates are "
             "unstable."]
    for o in outcomes:
        note = heads[o]["note"]
        if isinstance(note, str) and note:
            notes.append(f"{heads[o]['outcome_label']}: {note}.")
    notes.extend(getattr(result, "descriptions", ()))
    tidy = t.rename(columns={"n": "analysed_n", "n_events": "events_n"})
    return PublicationTable(title or "Odds ratios under each response definition (Firth)", body, tuple(kinds),
                            tuple(notes), tidy)


def _signed(x: float, decimals: int) -> str:
    text = format_fixed(abs(x), decimals)
    return f"- {text}" if x < 0 and float(text) != 0 else f"+ {text}"


def prediction_equation(report, *, shrunk: bool = True, decimals: int = 3) -> str:
    """The model as one line a reader can apply to a new patient:
    ``logit P(outcome) = intercept + coefficient × [predictor] ...``, each continuous predictor in
    the step its label names, each yes/no predictor 1 for yes. ``shrunk``: the shrunken model (slopes
    times the uniform shrinkage factor, intercept refitted); otherwise Firth's slopes with the FLIC
    intercept. ``report`` is a :class:`msc_sle.prognosis.PredictionReport`."""
    c = report.coefficients
    column = "shrunk_coef" if shrunk else "coef"
    if not np.all(np.isfinite(c[column].to_numpy(float))):
        return "–"
    terms = report.data.terms.set_index("term")
    intercept = float(c[column].iloc[0])
    parts = [format_fixed(intercept, decimals)]
    for _, r in c.iloc[1:].iterrows():
        info = terms.loc[r["term"]]
        name = r["label"] if info["kind"] == "continuous" else f"{r['label']} (1 = {info['level']})"
        parts.append(f"{_signed(float(r[column]), decimals)} × [{name}]")
    return typeset(f"logit P({report.data.outcome_label}) = " + " ".join(parts))


def prediction_table(report, *, title: str | None = None) -> PublicationTable:
    """The prediction model as TRIPOD asks it reported, in one table: the equation's coefficients
    (intercept FLIC-corrected) with their odds ratios, unshrunk (Firth) beside shrunken (uniform
    bootstrap shrinkage factor, intercept refitted); the apparent and optimism-corrected
    c-statistic and calibration slope with bootstrap intervals; the average predicted risk before
    and after the FLIC correction; the patients analysed beside Riley et al.'s minimum sample size.
    ``report`` is a :class:`msc_sle.prognosis.PredictionReport`."""
    data = report.data
    s = report.shrinkage
    shrunk_head = (f"Shrunken (× {format_fixed(s, 2)}), optimism-corrected" if math.isfinite(s)
                   else "Shrunken, optimism-corrected")
    headers = ["", "Unshrunk (Firth), apparent", shrunk_head]
    level = f"{100 * (1 - report.alpha):g}%"
    records, kinds, tidy = [], [], []

    def add(label, left, right, kind="variable"):
        records.append([label, left, right])
        kinds.append(kind)

    def coef_cell(b):
        return "–" if not math.isfinite(b) else f"{format_fixed(b, 3)} (OR {format_significant(math.exp(b), 3)})"

    add("Coefficients: log odds (odds ratio)", "", "", "section")
    c = report.coefficients
    first = c.iloc[0]
    add("Intercept, FLIC-corrected", format_fixed(first["coef"], 3),
        "–" if not math.isfinite(first["shrunk_coef"]) else format_fixed(first["shrunk_coef"], 3), "level")
    for _, r in c.iloc[1:].iterrows():
        add(r["label"], coef_cell(float(r["coef"])), coef_cell(float(r["shrunk_coef"])), "level")
    add("Intercept before the FLIC correction (Firth)", format_fixed(report.intercept_firth, 3), "", "level")
    for _, r in c.iterrows():
        tidy.append({"section": "coefficient", "item": r["term"], "unshrunk": r["coef"],
                     "shrunk_or_corrected": r["shrunk_coef"], "ci_lower": np.nan, "ci_upper": np.nan})
    tidy.append({"section": "coefficient", "item": "(Intercept) before FLIC", "unshrunk": report.intercept_firth,
                 "shrunk_or_corrected": np.nan, "ci_lower": np.nan, "ci_upper": np.nan})

    boot = f"{report.n_bootstrap} bootstrap samples" if report.n_bootstrap else "no bootstrap"
    if report.n_failed:
        boot += f", {report.n_failed} failed refit{'' if report.n_failed == 1 else 's'} left out"
    add(f"Performance ({boot})", "", "", "section")
    names = {"c": ("c-statistic", 3), "slope": ("Calibration slope (the uniform shrinkage factor)", 2)}
    for _, r in report.performance.iterrows():
        label, digits = names[r["measure"]]
        right = "–"
        if math.isfinite(r["corrected"]):
            right = format_fixed(r["corrected"], digits)
            if math.isfinite(r["ci_lower"]):
                right += f" ({level} CI {format_fixed(r['ci_lower'], digits)} to {format_fixed(r['ci_upper'], digits)})"
        add(label, format_fixed(r["apparent"], digits), right, "level")
        tidy.append({"section": "performance", "item": r["measure"], "unshrunk": r["apparent"],
                     "shrunk_or_corrected": r["corrected"], "ci_lower": r["ci_lower"], "ci_upper": r["ci_upper"]})
    observed = f"{format_fixed(100 * report.observed_risk, 1)}%"
    add(f"Average predicted risk (observed {observed})", f"{format_fixed(100 * report.mean_risk_firth, 1)}% (Firth)",
        f"{format_fixed(100 * report.mean_risk_flic, 1)}% (FLIC)", "level")
    tidy.append({"section": "performance", "item": "average predicted risk", "unshrunk": report.mean_risk_firth,
                 "shrunk_or_corrected": report.mean_risk_flic, "ci_lower": np.nan, "ci_upper": np.nan})

    add("Sample size", "", "", "section")
    add("Patients analysed (with the outcome)", f"{data.n} ({data.n_events})", "", "level")
    for item, value in (("patients analysed", data.n), ("with the outcome", data.n_events),
                        ("observed risk", report.observed_risk)):
        tidy.append({"section": "sample size", "item": item, "unshrunk": value,
                     "shrunk_or_corrected": np.nan, "ci_lower": np.nan, "ci_upper": np.nan})
    for _, r in report.sample_size.iterrows():
        add(f"Minimum, Riley et al. 2020: R²cs {format_fixed(r['r2_cs'], 3)}, {r['scenario']}",
            str(int(r["minimum"])), f"criteria 1 / 2 / 3: {int(r['n1'])} / {int(r['n2'])} / {int(r['n3'])}", "level")
        tidy.append({"section": "sample size", "item": r["scenario"], "unshrunk": r["minimum"],
                     "shrunk_or_corrected": np.nan, "ci_lower": np.nan, "ci_upper": np.nan})
    body = pd.DataFrame(records, columns=headers)

    methods = {r["measure"]: r["ci_method"] for _, r in report.performance.iterrows()}
    notes = [
        (f"Equation for new patients (shrunken): {prediction_equation(report)}." if math.isfinite(s) else
         f"Equation (FLIC intercept; no shrunken model without a positive bootstrap calibration slope): "
         f"{prediction_equation(report, shrunk=False)}."),
        "Unshrunk: Firth's penalised-likelihood coefficients, the intercept refitted by maximum likelihood with "
        "the other terms fixed (FLIC, Puhr et al. 2017), so that the average predicted risk equals the observed "
        "proportion (Firth's penalty pulls it towards one half).",
        "Shrunken: every coefficient but the intercept multiplied by the uniform shrinkage factor, the bootstrap "
        "optimism-corrected calibration slope (Harrell's bootstrap, the whole model refitted in each sample); the "
        "intercept refitted the same way. For new patients the shrunken equation is the one to use.",
    ]
    if math.isfinite(report.heuristic_shrinkage):
        notes.append(f"Overall likelihood-ratio test of the maximum likelihood fit: chi-square "
                     f"{format_fixed(report.lr_chi2, 2)} on {report.lr_df} df, {p_text(report.lr_p)}; heuristic "
                     f"shrinkage factor (van Houwelingen & le Cessie) {format_fixed(report.heuristic_shrinkage, 2)}.")
    if methods.get("c"):
        notes.append(f"{level} CI of the corrected c-statistic: {methods['c']}; of the corrected calibration slope: "
                     f"{methods.get('slope', '')}.")
    notes.append("Minimum sample size: the largest of Riley et al.'s three criteria (expected shrinkage at least 0.9; "
                 "apparent and adjusted Nagelkerke R² within 0.05; overall risk within ±0.05), for "
                 f"{report.lr_df} predictor parameters and the observed prevalence, at each anticipated Cox-Snell R² "
                 "(R²cs).")
    if report.exploratory:
        low, high = report.minimum_n
        span = str(low) if low == high else f"{low} to {high}"
        notes.append(f"{data.n} patients against a minimum of {span}: the model is exploratory; its coefficients and "
                     "predictions are not fit for use in new patients without external validation.")
    beside = ""
    if report.minimum_n is not None:
        low, high = report.minimum_n
        beside = f" against a minimum of {low if low == high else f'{low} to {high}'} (Riley et al. 2020)"
        beside += ": exploratory" if report.exploratory else ""
    title = title or (f"Prediction model for {data.outcome_label} as TRIPOD asks it reported: "
                      f"n = {data.n} ({data.n_events} with the outcome){beside}")
    return PublicationTable(title, body, tuple(kinds), tuple(notes), pd.DataFrame(tidy))


def prediction_summary(report) -> str:
    """The page's sentence on a :class:`msc_sle.prognosis.PredictionReport`: the equation to apply
    to new patients and the patients analysed against Riley et al.'s minimum sample size."""
    data = report.data
    if math.isfinite(report.shrinkage):
        text = (f"Equation for new patients, shrunken by {format_fixed(report.shrinkage, 2)}: "
                f"{prediction_equation(report)}.")
    else:
        text = (f"Equation (FLIC intercept; no shrunken model without a positive bootstrap calibration slope): "
                f"{prediction_equation(report, shrunk=False)}.")
    if report.minimum_n is not None:
        low, high = report.minimum_n
        span = str(low) if low == high else f"{low} to {high}"
        text += (f" {data.n} patients analysed ({data.n_events} with the outcome) against a minimum of {span} "
                 "by Riley et al. (2020)")
        text += (": the model is exploratory." if report.exploratory else ".")
    return text


def covariance_structures_table(candidates: pd.DataFrame) -> PublicationTable:
    """The covariance structures a repeated-measures model compared, as the page prints them: how
    R's nlme writes each, its parameters, REML log-likelihood, AIC (the criterion), BIC, whether it
    converged and which was chosen. ``candidates`` is ``Trajectories.covariance_table()``. One
    decimal throughout, fixed: an AIC of 1994.0 beside 1948.2 must not read "1994"."""
    return plain_table(candidates, "Covariance between visits: the structures compared", columns={
        "structure": "Covariance structure", "nlme": "In R's nlme::gls", "parameters": "Covariance parameters",
        "loglik": "REML log-likelihood", "aic": "AIC", "bic": "BIC", "converged": "Converged", "chosen": "Chosen"},
        formats={c: "fixed:1" for c in ("loglik", "aic", "bic")},
        footnotes=("Chosen: the smallest AIC. Every structure is fitted by REML with the same fixed effects "
                   "(month as a factor, group, month x group).",))
