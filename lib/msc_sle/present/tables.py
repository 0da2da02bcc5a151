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

import pandas as pd

from ..compare import Comparison, describe, group_columns
from ..stats import TESTS
from .format import NOT_TESTED, format_fixed, format_number, format_p, p_text

__all__ = ["PublicationTable", "table_one", "comparison_table", "regression_table", "sensitivity_table",
           "PAPER_SECTION_ORDER", "TEST_MARKS"]

#: Section order of the paper's tables (Table 2 top to bottom; Table 1 uses the same headings).
#: Sections are the dictionary's ``section`` values; any other section follows in dictionary order.
PAPER_SECTION_ORDER = ("Demographics", "Prior SLE medication history",
                       "Clinical and biological symptoms", "CYC induction",
                       "Allo-MSC transplantation", "SLEDAI", "Outcome")
#: Footnote mark of each test. The paper's section 2.5 names Mann-Whitney (continuous) and
#: chi-square (categorical) as its tests, so they carry no mark; its Table 2 marks Fisher with "*".
TEST_MARKS = {"mann_whitney": "", "kruskal": "", "chi2": "", "fisher": "*",
              "fisher_freeman_halton": "†", "chi2_yates": "‡"}


@dataclass(frozen=True, repr=False)
class PublicationTable:
    """A manuscript table: display strings plus the tidy numbers behind them.

    ``body`` holds the displayed text (first column "Variables"); ``row_kinds`` says for each
    body row whether it is a ``"section"`` heading, a ``"variable"`` or a ``"level"`` row;
    ``footnotes`` are printed under the table; ``tidy`` is the numeric frame (CSV export).
    """
    title: str
    body: pd.DataFrame
    row_kinds: tuple
    footnotes: tuple
    tidy: pd.DataFrame

    def style(self):
        """A pandas Styler: bold section headings, indented levels, caption = title."""
        kinds = list(self.row_kinds)

        def row_css(row):
            kind = kinds[row.name]
            if kind == "section":
                return ["font-weight: bold"] * len(row)
            if kind == "level":
                return ["padding-left: 1.5em"] + [""] * (len(row) - 1)
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
def _label(row) -> str:
    label = str(row["label"])
    unit = row["unit"] if isinstance(row["unit"], str) else ""
    if row["type"] == "continuous":
        # units from the dictionary, unless the printed label already carries them (Age/years)
        if unit and not re.search(r"(?<![A-Za-z])" + re.escape(unit.split("/")[0]) + r"(?![A-Za-z])",
                                  label):
            label = f"{label} ({unit})"
        return f"{label}, median (range)"
    return label


def _shown_level_label(label: str, level) -> str:
    if level is True or level is None or (isinstance(level, float) and math.isnan(level)):
        # None: no value recorded at all, the row only counts the missing
        return label
    level = str(level)
    # a dictionary label that already names the level (level "F", label "Female") stands alone
    if label.lower().startswith(level.lower()):
        return label
    return f"{label}: {level}"


def _cell(row, prefix: str, decimals: int, range_sep: str) -> str:
    n_valid = row[f"{prefix}_n_valid"]
    if pd.isna(n_valid) or n_valid == 0:
        return "–"
    if row["type"] == "continuous":
        return (f"{format_number(row[f'{prefix}_median'], decimals)} "
                f"({format_number(row[f'{prefix}_min'], decimals)}{range_sep}"
                f"{format_number(row[f'{prefix}_max'], decimals)})")
    return f"{int(row[f'{prefix}_count'])} ({format_fixed(row[f'{prefix}_pct'], decimals)}%)"


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


def _layout(tidy, prefixes, decimals, range_sep, section_order, extra):
    """Body rows: [(kind, label, cells per prefix, extra cells on the p row)]."""
    rows = []
    for section, frames in _ordered_blocks(tidy, section_order):
        if section:
            rows.append(("section", section, None, None))
        for frame in frames:
            first = frame.iloc[0]
            if len(frame) == 1:
                r = first
                label = _label(r) if r["type"] == "continuous" else \
                    _shown_level_label(str(r["label"]), r["level"])
                rows.append(("variable", label, [_cell(r, p, decimals, range_sep) for p in prefixes],
                             extra(frame, r, True)))
            else:
                rows.append(("variable", _label(first), None, None))
                for i, (_, r) in enumerate(frame.iterrows()):
                    rows.append(("level", str(r["level"]),
                                 [_cell(r, p, decimals, range_sep) for p in prefixes],
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
    in dictionary order) also sets the order within a section.
    """
    if variables is None:
        from ..contract import load_dictionary
        d = load_dictionary() if dictionary is None else dictionary
        names = [n for n in dict.fromkeys(d.loc[d["section"] != "", "name"]) if n in data.columns]
        names += [c for c in data.columns if c not in set(d["name"])]
        tidy = describe(data, [c for c in names if _describable(data[c])] if names else None,
                        labels=labels, dictionary=dictionary).table
    else:
        tidy = describe(data, variables, labels=labels, dictionary=dictionary).table
    any_missing = bool((tidy["all_missing"] > 0).any())

    def extra(frame, r, first):
        if not any_missing:
            return []
        return [str(int(r["all_missing"])) if first and r["all_missing"] else ""]

    rows = _layout(tidy, ["all"], decimals, range_sep, section_order, extra)
    headers = ["Variables", f"n = {len(data)}"] + (["Missing"] if any_missing else [])
    body, kinds = _build(rows, headers, 1 if any_missing else 0)
    notes = ["Values are n (%) of the patients with the value recorded, or median (range)."]
    if any_missing:
        notes.append("Missing: patients without the value recorded.")
    return PublicationTable(title or f"Patients' characteristics at baseline (n = {len(data)})",
                            body, kinds, tuple(notes), tidy)


def _describable(series: pd.Series) -> bool:
    dt = series.dtype
    return (pd.api.types.is_bool_dtype(dt) or isinstance(dt, pd.CategoricalDtype)
            or pd.api.types.is_numeric_dtype(dt))


# --------------------------------------------------------------------------------------------
# Table 2
# --------------------------------------------------------------------------------------------
def comparison_table(result, decimals: int = 1, p_decimals="auto", *, effect: bool = False,
                     q_value: bool | None = None, marks=None, section_order=PAPER_SECTION_ORDER,
                     range_sep: str = "-", title: str | None = None) -> PublicationTable:
    """A comparison laid out like the paper's Table 2.

    ``result`` is a :class:`~msc_sle.compare.Comparison` after ``add_p`` or its ``table``; tables of
    several comparisons concatenated (e.g. CR and LDA) are laid out side by side, one block of
    columns per grouping. One column per group ("<label> (n = N)"), then "p value" with the test's
    footnote mark (``marks``, default :data:`TEST_MARKS`: Fisher ``*`` as in the paper); optional
    columns for the effect size with its 95% CI (``effect=True``) and the adjusted q-value (default:
    shown when the result has one); "Missing" per group when any value is missing. p-values follow
    :func:`~msc_sle.present.format.format_p`; a test that could not run shows "n.t." with its
    reason in the footnotes.
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
                                section_order, range_sep) for b in blocks]
    body, kinds, notes = tables[0]
    by_labels = [str(b["by_label"].iloc[0]) if "by_label" in b else str(b["by"].iloc[0]) for b in blocks]
    if len(tables) > 1:
        body, kinds, notes = _merge_blocks(tables, by_labels)
    return PublicationTable(title or f"Patients' characteristics divided by {' and by '.join(by_labels)}",
                            body, kinds, notes, tidy)


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


def _comparison_block(result: pd.DataFrame, decimals, p_decimals, effect, q_value, marks, section_order,
                      range_sep):
    marks = dict(TEST_MARKS if marks is None else marks)
    prefixes = group_columns(result)
    glabels = [str(result[f"{p}_label"].iloc[0]) for p in prefixes]
    sizes = [int(result[f"{p}_n"].iloc[0]) for p in prefixes]
    show_q = ("q_value" in result.columns) if q_value is None else bool(q_value)
    if show_q and "q_value" not in result.columns:
        raise ValueError("q_value=True but the result has no q_value (add_q)")
    if effect and "effect_estimate" not in result.columns:
        raise ValueError("effect=True but the result has no effect sizes (add_effect)")
    miss_cols = [f"{p}_missing" for p in prefixes]
    any_missing = bool((result[miss_cols].fillna(0).to_numpy() > 0).any())
    used, not_testable = [], []

    def extra(frame, r, first):
        cells = []
        test = str(r["test"])
        if first:
            if test.startswith("not testable"):
                cells.append(NOT_TESTED)
                not_testable.append(f"{r['label']}: {test.split(': ', 1)[1]}")
            else:
                if test not in marks:
                    raise ValueError(f"no footnote mark for test {test!r}; pass marks=")
                cells.append(format_p(float(r["p_value"]), p_decimals) + marks[test])
                if test not in used:
                    used.append(test)
        else:
            cells.append("")
        if effect:
            cells.append(_effect_cell(r, decimals))
        if show_q:
            q = r["q_value"]
            cells.append(format_p(float(q), p_decimals) if first and pd.notna(q) else "")
        if any_missing:
            m = [int(r[c]) for c in miss_cols]
            cells.append(" / ".join(map(str, m)) if first and sum(m) else "")
        return cells

    rows = _layout(result, prefixes, decimals, range_sep, section_order, extra)
    haldane = bool(result["note"].str.contains("Haldane", regex=False).any()) and effect
    headers = (["Variables"] + [f"{g} (n = {n})" for g, n in zip(glabels, sizes)] + ["p value"]
               + (["Effect size (95% CI)"] if effect else []) + (["q value"] if show_q else [])
               + (["Missing"] if any_missing else []))
    body, kinds = _build(rows, headers, 1 + effect + show_q + any_missing)

    notes = ["Values are n (%) of the patients with the value recorded, or median (range)."]
    notes += _test_legend(used, marks, result)
    if not_testable:
        notes.append(f"{NOT_TESTED}: not testable - " + "; ".join(not_testable) + ".")
    if effect:
        versus = f", {glabels[0]} versus {glabels[1]}" if len(glabels) == 2 else ""
        note = (f"Effect size{versus}: OR, odds ratio with Woolf (logit) "
                "95% CI; HL, Hodges-Lehmann median difference with distribution-free 95% CI.")
        if haldane:
            note += " ^ Haldane-Anscombe correction (0.5 added to each cell) for a zero cell."
        notes.append(note)
    if show_q:
        q_method = result["q_method"].iloc[0] if "q_method" in result else ""
        method = {"bh": "Benjamini-Hochberg false discovery rate",
                  "holm": "Holm family-wise adjustment"}.get(q_method, "adjusted")
        n_tested = int(result.drop_duplicates("variable")["p_value"].notna().sum())
        notes.append(f"q value: {method} over the {n_tested} variables tested.")
    if any_missing:
        notes.append("Missing: patients without the value recorded, per group (" +
                     " / ".join(glabels) + ").")
    if "by_note" in result and result["by_note"].iloc[0]:
        notes.append(str(result["by_note"].iloc[0]))
    return body, kinds, tuple(notes)


def _effect_cell(r, decimals) -> str:
    name = r.get("effect", "")
    est = r.get("effect_estimate")
    if not name or est is None or pd.isna(est):
        return ""
    if name == "odds ratio":
        tag, d = "OR", 2
    else:
        tag, d = "HL", decimals
    lo, hi = r["effect_ci_low"], r["effect_ci_high"]
    ci = "" if pd.isna(lo) else f" ({format_number(lo, d)} to {format_number(hi, d)})"
    mark = "^" if "Haldane" in str(r["note"]) else ""
    return f"{tag} {format_number(est, d)}{ci}{mark}"


_DESCRIPTIONS = {name: info.description for name, info in TESTS.items()}


def _test_legend(used, marks, result) -> list[str]:
    lines = []
    for test in [t for t in ("mann_whitney", "kruskal", "chi2", "chi2_yates", "fisher",
                             "fisher_freeman_halton") if t in used] + \
            [t for t in used if t not in _DESCRIPTIONS]:
        desc = _DESCRIPTIONS.get(test, test)
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
        lines.append(f"{mark} {desc}." if mark else f"Unmarked p values: {desc}{scope}.")
    return lines


# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# regression tables (the models stage)
# --------------------------------------------------------------------------------------------
_REFERENCE = "ref."


def _or_cell(estimate, lower, upper, decimals: int = 2) -> str:
    """"1.87 (0.99 to 3.68)", as Table 2's effect column; "–" when the estimate does not exist."""
    if any(v is None or not math.isfinite(float(v)) for v in (estimate, lower, upper)):
        return "–"
    return (f"{format_fixed(estimate, decimals)} ({format_fixed(lower, decimals)} to "
            f"{format_fixed(upper, decimals)})")


def _p_cell(p, p_decimals) -> str:
    return "–" if p is None or not math.isfinite(float(p)) else format_p(float(p), p_decimals)


def regression_table(model, decimals: int = 2, p_decimals="auto", *, title: str | None = None
                     ) -> PublicationTable:
    """A multivariable logistic model laid out as a manuscript table, in the style of the paper's
    Table 2: each predictor's univariable odds ratio beside its adjusted odds ratio (Firth), and the
    ordinary maximum likelihood estimate where it exists (gtsummary's ``tbl_uvregression`` merged
    with ``tbl_regression``).

    ``model`` is a :class:`msc_sle.models.PrognosticModel`. A categorical predictor with more than
    two levels gets a heading row and one row per level, its reference level marked "ref.";
    footnotes name the estimation, interval and test of every column, the events per variable and
    the patients left out.
    """
    tidy = model.table()
    data = model.data
    headers = ["Characteristic", "Univariable OR (95% CI)", "p, univariable", "Adjusted OR (95% CI), Firth",
               "p, Firth", "Adjusted OR (95% CI), ML", "p, ML"]

    def cells(r) -> list[str]:
        return [_or_cell(r["uni_or"], r["uni_lower"], r["uni_upper"], decimals), _p_cell(r["uni_p"], p_decimals),
                _or_cell(r["firth_or"], r["firth_lower"], r["firth_upper"], decimals),
                _p_cell(r["firth_p"], p_decimals),
                _or_cell(r["ml_or"], r["ml_lower"], r["ml_upper"], decimals), _p_cell(r["ml_p"], p_decimals)]

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
             f"{data.exclusions()} Events per variable: {epv.message}."]
    title = title or (f"Odds ratios for {data.outcome_label}: univariable and multivariable logistic regression "
                      f"(n = {data.n}, {data.n_events} with the outcome)")
    return PublicationTable(title, body, tuple(kinds), tuple(notes), tidy)


def sensitivity_table(result, decimals: int = 2, *, title: str | None = None) -> PublicationTable:
    """The same model under each response definition, one column per definition.

    ``result`` is a :class:`msc_sle.models.SensitivityResult`. The first row gives responders /
    analysed patients, the second the events per variable of each definition; each predictor row gives the
    Firth odds ratio (95% profile penalised-likelihood CI) and its penalised likelihood-ratio p.
    """
    t = result.table
    outcomes = list(dict.fromkeys(t["outcome"]))
    heads = {o: t.loc[t["outcome"] == o].iloc[0] for o in outcomes}
    headers = ["Characteristic"] + [str(heads[o]["outcome_label"]) for o in outcomes]
    counts = ["Responders / analysed"] + [f"{int(heads[o]['n_events'])}/{int(heads[o]['n'])}" for o in outcomes]
    epvs = ["Events per variable"] + ["–" if pd.isna(heads[o]["epv"]) else f"{heads[o]['epv']:.1f}"
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
            row.append(_or_cell(r["odds_ratio"], r["or_lower"], r["or_upper"], decimals) + "; "
                       + p_text(r["p"], digits=3))
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
