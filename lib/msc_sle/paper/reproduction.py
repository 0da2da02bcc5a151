"""How close is the workbook to the paper? Every published value beside the value computed on a cohort.

:func:`reproduction_table` takes a cohort (the bundled synthetic one, or a real extract), runs the
paper's analysis through the library — :func:`msc_sle.clinical.apply_eligibility`,
:func:`msc_sle.clinical.analysis_frame` (SLEDAI-2K, derived splits, the paper's LDA and CR),
:func:`msc_sle.compare.describe` / :func:`msc_sle.compare.compare_groups` (with the test the paper
marks for each p-value) and :func:`msc_sle.compare.paired_over_time` (Friedman, SLEDAI over time) —
and sets each number of ``data/published/`` beside its computed counterpart:

- ``exact``: the computed value equals the published value;
- ``within rounding``: it rounds (half up) to the printed value at the printed number of decimals,
  or is below the bound of a printed "< 0.001";
- ``differs``: neither; the note says by how much and what explains it when something does (a
  slip of the paper found by :func:`msc_sle.paper.audit.paper_audit`, another test that reproduces the
  p-value, the prednisone split's reading);
- ``not computed``: the workbook cannot compute it on this cohort; the note says why.

Published level spellings that differ from the workbook's are mapped explicitly
(:data:`LEVEL_MAP`, prednisone "<=20"/">20" read as "<20"/">=20", reading 1 of data/README.md)
and the row's note says so.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

from .audit import DEFAULT_CLAIMS, STRATA, paper_audit
from ..clinical import CYC_DOSE_CUT_G, PREDNISONE_CUT_MG, EligibilityResult, analysis_frame, apply_eligibility
from ..compare import compare_groups, describe, paired_over_time
from ..present.format import format_fixed, format_number, format_p
from .choices import compare_as_the_paper, table_test_rule
from ..contract import Cohort
from ..present.format import format_against, format_percent
from .published import load_published, matches_printed
from .records import labelled, variable_words

__all__ = ["ReproductionResult", "reproduction_table", "reproduction_status", "reproduction_score", "LEVEL_MAP", "STATUSES",
           "REPRODUCTION_COLUMNS"]

STATUSES = ("exact", "within rounding", "differs", "not computed")

#: ``(variable, published level) -> workbook level``. Table 2 prints the prednisone split as
#: "<=20 / >20" mg, but its 28 / 41 patients and Table 1's median of 20 mg fit together only if
#: 20 mg belongs to the upper group (data/README.md, reading 1), which is how
#: ``analysis_frame(prednisone_cut=20)`` splits. Valid for that cut only.
LEVEL_MAP = {
    ("prednisone_dose_group", "<=20"): "<20",
    ("prednisone_dose_group", ">20"): ">=20",
}

REPRODUCTION_COLUMNS = ("source", "location", "variable", "outcome", "group", "level", "statistic", "published",
                        "published_value", "computed", "shown", "test", "status", "note")

_TEST_WORDS = {"chi2": "Pearson chi-square", "chi2_yates": "Yates-corrected chi-square",
               "fisher": "Fisher's exact test", "fisher_freeman_halton": "Fisher-Freeman-Halton test",
               "mann_whitney": "Mann-Whitney U", "kruskal": "Kruskal-Wallis", "friedman": "Friedman test"}
#: Derived quantities of section 3.2 that are not columns of the analysis frame.
_NO_RESPONSE = "no_response"


@dataclass(frozen=True)
class ReproductionResult:
    """Result of :func:`reproduction_table`.

    table : one row per published value (:data:`REPRODUCTION_COLUMNS`): where it is printed, the
        printed text (``published``) and number (``published_value``), the ``computed`` value at
        full precision, the ``test`` behind a computed p-value, ``status`` (:data:`STATUSES`) and
        ``note`` (level mappings, the engine's own test choice, explanations of differences).
    score : one row per source (Table 1, Table 2, sections, abstract, figure legend, conclusions)
        and a final ``all`` row: ``n_values, exact, within_rounding, differs, not_computed`` and
        ``reproduced`` (share of the values that are exact or within rounding).
    n_eligible : patients left by the eligibility criteria (the paper's cohort has the Table 1 n).
    """
    table: pd.DataFrame
    score: pd.DataFrame
    n_eligible: int

    def headline(self) -> str:
        """One line for ``make run`` and the index: how many published values the workbook reproduces.

        In a bundle for circulation the withheld values are counted apart ("N of M shown values
        reproduced; K withheld"), so the counts add up to every published value and a withheld value
        never reads as a failed reproduction."""
        total = self.score[self.score["source"] == "all"].iloc[0]
        exact, within = int(total["exact"]), int(total["within_rounding"])
        differs, missing = int(total["differs"]), int(total["not_computed"])
        withheld = int(total["withheld"]) if "withheld" in total.index else 0
        done, n = exact + within, int(total["n_values"]) - withheld
        parts = [f"{exact} exact", f"{within} within rounding", f"{differs} differ"]
        if missing:
            parts.append(f"{missing} not computed")
        what = "shown values" if withheld else "published values"
        line = f"{done} of {n} {what} reproduced"
        if n:
            line += f" ({format_percent(done, n, 0)}%)"
        line += ": " + ", ".join(parts)
        if withheld:
            line += f"; {withheld} withheld (small counts)"
        return line if self.n_eligible else f"{line} ({NO_ELIGIBLE})"


def reproduction_status(computed: float, published_value: float, printed: str) -> str:
    """``exact``, ``within rounding``, ``differs`` or ``not computed`` for one value.

    >>> reproduction_status(16, 16.0, "16"), reproduction_status(23.188, 23.2, "23.2")
    ('exact', 'within rounding')
    >>> reproduction_status(0.0004, 0.001, "<0.001"), reproduction_status(0.018, 0.03, "0.03")
    ('within rounding', 'differs')
    """
    if computed is None or (isinstance(computed, float) and math.isnan(computed)):
        return "not computed"
    if not str(printed).strip().startswith("<") and math.isclose(float(computed), float(published_value),
                                                                 rel_tol=0, abs_tol=1e-9):
        return "exact"
    return "within rounding" if matches_printed(float(computed), printed) else "differs"


# --- computing on the cohort ------------------------------------------------------------------------

def _is_missing(x) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))


def _level_of(frame: pd.DataFrame, variable: str, level: str):
    """The frame's level for a published level: '' is True for a boolean column."""
    if level == "" and variable in frame and frame[variable].dtype == "boolean":
        return True
    return level


class _Workbook:
    """The analysis of one cohort, computed lazily and cached per comparison."""

    def __init__(self, cohort: Cohort, criteria, prednisone_cut: float, cyc_dose_cut: float, definitions,
                 test_rule: str, published: pd.DataFrame, eligibility: EligibilityResult | None = None):
        # what Table 2 prints: the paper's own test choices on the paper's cohort only
        self.test_rule = table_test_rule(test_rule, cohort.paper_cohort)
        self.published = published
        self.eligibility = apply_eligibility(cohort, criteria) if eligibility is None else eligibility
        self.frame = analysis_frame(self.eligibility.cohort, definitions, prednisone_cut=prednisone_cut,
                                    cyc_dose_cut=cyc_dose_cut)
        self.n = len(self.frame)
        self._describe = None
        self._compare: dict = {}
        self._paired = None
        self._printed: dict = {}
        self._lookups: dict = {}

    def find(self, result, variable: str, level) -> dict | None:
        """The row of ``variable`` in a comparison (at ``level``; its first row for an empty level)."""
        table = result.table
        # Indexed once per result table (all of them cached here): several hundred look-ups follow.
        if id(table) not in self._lookups:
            index: dict = {}
            for rec in table.to_dict("records"):
                index.setdefault((rec["variable"], None), rec)
                index.setdefault((rec["variable"], str(rec["level"])), rec)
            self._lookups[id(table)] = (table, index)
        index = self._lookups[id(table)][1]
        return index.get((variable, None if level == "" or level is None else str(level)))

    def columns(self, variables) -> list[str]:
        return [v for v in dict.fromkeys(variables) if v in self.frame.columns]

    def overall(self, variables) -> pd.DataFrame:
        if self._describe is None:
            self._describe = describe(self.frame, variables=self.columns(variables))
        return self._describe

    def printed(self, outcome: str, variables):
        """The comparison by ``outcome`` as the workbook's table prints it (``test_rule``; cached)."""
        by = self._by(outcome)
        if outcome not in self._printed:
            cols = [v for v in self.columns(variables) if v != by]
            self._printed[outcome] = compare_as_the_paper(self.frame, by, outcome, self.test_rule, cols,
                                                          effect_sizes=False, published=self.published)
        return self._printed[outcome]

    def comparison(self, outcome: str, variables, tests: dict | None):
        """One variable under a named test (for the notes on which test reproduces a printed p)."""
        by = self._by(outcome)
        cols = tuple(v for v in self.columns(variables) if v != by)
        key = (outcome, cols, tuple(sorted((tests or {}).items())))
        if key not in self._compare:
            self._compare[key] = compare_groups(self.frame, by, variables=list(cols), tests=tests or None,
                                                effect_sizes=False)
        return self._compare[key]

    def _by(self, outcome: str) -> str:
        by = f"{outcome}_ever"
        if by not in self.frame.columns:
            raise KeyError(f"the workbook computes no {outcome.upper()} response (no {by!r} column)")
        return by

    def paired(self):
        if self._paired is None:
            self._paired = paired_over_time(self.frame)
        return self._paired


def _describe_p(result_row: pd.Series) -> str:
    test = str(result_row["test"])
    return f"{_TEST_WORDS.get(test, test)} p = {result_row['p_value']:.4f}"


def _audit_notes(audit: pd.DataFrame) -> dict:
    """Non-info audit findings indexed by (source, variable) for the rows they concern."""
    notes: dict = {}
    for _, f in audit[audit["severity"] != "info"].iterrows():
        notes.setdefault((f["source"], f["variable"]), []).append(f)
    return notes


_CHECK_STATISTICS = {"percentage": {"percent"}, "p_value_test": {"p_value"}, "median_split": {"n", "percent"},
                     "feasible_p": {"p_value"}, "claim": {"p_value"}, "significance": {"p_value"},
                     "text_vs_table": None, "label": None, "erratum": None}


#: How each check of the paper audit is named in a note a reader sees.
CHECK_WORDS = {"percentage": "percentage against its count", "p_value_test": "p-value under each test",
               "median_split": "split at the median", "feasible_p": "p-value printed without its counts",
               "claim": "claim of the text", "significance": "significance stated in the text",
               "text_vs_table": "text against table", "label": "label", "erratum": "erratum",
               "rounding": "rounding convention", "totals": "counts that must add up",
               "not_checkable": "not checkable"}


def _matching_findings(findings, row) -> list[str]:
    out = []
    for f in findings:
        stats_ok = _CHECK_STATISTICS.get(f["check"], None)
        if stats_ok is not None and row["statistic"] not in stats_ok:
            continue
        if f["check"] in ("label", "erratum"):
            continue  # printing slips, not about the number
        if f["location"] != row["location"] and f["check"] != "median_split":
            continue
        if f["check"] == "median_split" and f["level"] != row["level"] and \
                f["location"] != row["location"]:
            continue
        if f["group"] not in ("", row["group"]) or f["outcome"] not in ("", row["outcome"]):
            continue
        if f["check"] == "text_vs_table" and f["published"] != row["printed"]:
            continue
        what = CHECK_WORDS.get(f["check"], str(f["check"]).replace("_", " "))
        out.append(f"paper audit ({f['severity']}; {what}): {str(f['finding']).rstrip('.')}")
    return out


#: The note of every value when the eligibility criteria leave no patient.
NO_ELIGIBLE = "not computable: no eligible patient (the section 2.1 criteria excluded every patient of the extract)"


def reproduction_table(cohort: Cohort, published: pd.DataFrame | None = None, *, criteria=None,
                       definitions=None, prednisone_cut: float = PREDNISONE_CUT_MG,
                       cyc_dose_cut: float = CYC_DOSE_CUT_G, test_rule: str = "paper", decimals: int = 1,
                       level_map: dict | None = None, audit: pd.DataFrame | None = None,
                       eligibility: EligibilityResult | None = None) -> ReproductionResult:
    """Every published value beside the value the workbook's pages print for ``cohort``.

    **What the score measures.** Each value is the one the rendered tables and notebooks compute
    with the same parameters (Table 2's p-values under ``test_rule``, as its page prints them), at
    full precision in ``computed``; it counts as reproduced when, rounded half up to the precision
    the paper printed that value with (the paper mixes 1, 2 and 3 decimals), it equals the printed
    value (``exact`` / ``within rounding``). ``shown`` is the text the workbook's page prints for
    it (``decimals`` for percentages, the paper's p-value style); where that text differs from the
    paper's digits although the value is reproduced (93.8 printed for the paper's 93.75), the
    note says so.

    Parameters
    ----------
    cohort : the extract (:func:`msc_sle.clinical.load_cohort`); eligibility is applied here.
    published : the transcription (default :func:`msc_sle.paper.published.load_published`).
    criteria : eligibility criteria (default: the paper's, section 2.1).
    definitions : ``{"cr": ..., "lda": ...}`` response definitions (default: the paper's; another
        threshold shows how far the published values then are).
    prednisone_cut, cyc_dose_cut : the splits of ``analysis_frame`` (defaults: the paper's 20 mg/day
        and 1.2 g; another cut leaves the printed split levels unmatched, "not computed").
    test_rule : how Table 2 chooses its tests (:data:`msc_sle.paper.choices.TEST_RULE_CHOICES`,
        default "paper").
    decimals : decimals of the workbook's percentages (the notebooks' ``decimals`` parameter).
    level_map : ``(variable, printed level) -> workbook level`` (default :data:`LEVEL_MAP`).
    audit : the paper audit whose slips explain differences (default :func:`msc_sle.paper.audit.paper_audit`
        on ``published``, with the claims file only for the default transcription).
    eligibility : :func:`msc_sle.clinical.apply_eligibility` of ``cohort`` under ``criteria``, when the
        caller has it already (a page that shows its flow too): at a registry's size it is seconds
        of work, not done twice. It must come from this cohort (its screened count is checked).

    The note names the test behind each p-value and, when it does not reproduce the printed value,
    which other test does.
    """
    if not isinstance(cohort, Cohort):
        raise TypeError(f"reproduction_table needs a Cohort, got {type(cohort).__name__}")
    pub = load_published() if published is None else published
    level_map = LEVEL_MAP if level_map is None else level_map
    # The claims file speaks of the paper's transcription; a custom one is audited without claims.
    audit = paper_audit(pub, claims=DEFAULT_CLAIMS if published is None else None) if audit is None else audit
    findings = _audit_notes(audit)
    definitions = {"cr": "paper_cr", "lda": "paper_lda"} if definitions is None else dict(definitions)
    if set(definitions) != {"cr", "lda"}:
        raise ValueError(f"definitions must give 'cr' and 'lda', got {sorted(definitions)}")
    if eligibility is not None:
        if not isinstance(eligibility, EligibilityResult):
            raise TypeError(f"eligibility must be an EligibilityResult, got {type(eligibility).__name__}")
        screened = int(eligibility.attrition["remaining"].iloc[0])
        if screened != len(cohort.patients):
            raise ValueError(f"eligibility screened {screened} patients, the cohort has {len(cohort.patients)}: "
                             "it was applied to another cohort")
        if criteria is not None and tuple(criteria) != tuple(eligibility.criteria):
            raise ValueError("eligibility was applied under other criteria than the ones given")
    wb = _Workbook(cohort, criteria, prednisone_cut, cyc_dose_cut, definitions, test_rule, pub, eligibility)
    frame = wb.frame
    all_variables = [v for v in pub["variable"] if v in frame.columns] + ["cr_m12", "lda_m12"]

    records = []
    for _, row in pub.iterrows():
        computed, test, notes = math.nan, "", []
        variable, level, stat, outcome, group = (row["variable"], row["level"], row["statistic"], row["outcome"],
                                                 row["group"])
        mapped = level_map.get((variable, level))
        if mapped is not None:
            notes.append(f"printed level '{level}' compared with the workbook's '{mapped}' "
                         f"(reading 1 of the data, in the appendix)")
            level = mapped
        if not wb.n:  # every patient excluded (e.g. all aged 18): nothing to compare with the paper
            notes.append(NO_ELIGIBLE)
        else:
            try:
                computed, test, more = _compute(wb, pub, row, variable, level, stat, outcome, group, all_variables)
                notes += more
            except (KeyError, ValueError) as err:
                notes.append(f"not computed: {err}")
        status = reproduction_status(computed, row["value"], row["printed"])
        shown = "" if _is_missing(computed) else _shown(computed, stat, decimals)
        if status == "differs":
            notes.append(_difference(computed, row, _fraction(wb, pub, row, variable, level, outcome, group,
                                                             all_variables, computed)))
        elif status != "not computed" and shown.lstrip("<") != str(row["printed"]).rstrip("%").lstrip("<"):
            notes.append(f"the workbook prints {shown} where the paper prints {row['printed']}")
        notes += _matching_findings(findings.get((row["source"], row["variable"]), []), row)
        if status == "not computed" and not any(n.startswith(("not computed", "not computable")) for n in notes):
            notes.append("not computed: the workbook has no value for this on the cohort")
        records.append({
            "source": row["source"], "location": row["location"], "variable": row["variable"],
            "outcome": outcome, "group": group, "level": row["level"], "statistic": stat,
            "published": row["printed"], "published_value": float(row["value"]),
            "computed": float(computed) if not _is_missing(computed) else math.nan, "shown": shown, "test": test,
            "status": status, "note": labelled("; ".join(notes))})
    table = pd.DataFrame.from_records(records, columns=list(REPRODUCTION_COLUMNS))
    for c in REPRODUCTION_COLUMNS:
        if c not in ("published_value", "computed"):
            table[c] = table[c].astype(str).astype("string")
    return ReproductionResult(table, reproduction_score(table), wb.n)


def _shown(computed: float, stat: str, decimals: int) -> str:
    """The text the workbook's pages print for a value (the one formatting of msc_sle.present.format)."""
    if stat == "p_value":
        return format_p(computed)
    if stat == "percent":
        return format_fixed(computed, decimals)
    if stat == "n":
        return str(int(round(computed)))
    return format_number(computed, decimals)


def _difference(computed: float, row: pd.Series, fraction: tuple[int, int] | None = None) -> str:
    """"computed 7.246 (5/69) against the printed 7.3": precise enough that the shown digits round
    the way the computed value does (:func:`~msc_sle.present.format.format_against`; "7.25" would
    suggest the printed 7.3), with the count and denominator of a percentage."""
    if row["statistic"] == "n":
        shown = f"{int(computed)}" if float(computed).is_integer() else format_against(computed, 0)
    else:  # at least one decimal more than printed (two for p-values), more if needed not to mislead
        decimals = int(row["decimals"])
        exact = Fraction(fraction[0] * 100, fraction[1]) if fraction else computed
        shown = format_against(exact, decimals, extra=2 if row["statistic"] == "p_value" else 1)
        if fraction:
            shown += f" ({fraction[0]}/{fraction[1]})"
    return f"computed {shown} against the printed {row['printed']}"


def _fraction(wb, pub, row, variable, level, outcome, group, all_variables, computed) -> tuple[int, int] | None:
    """(count, denominator) behind a computed percentage, when the workbook counts it."""
    if row["statistic"] != "percent" or _is_missing(computed) or not computed:
        return None
    try:
        k, _, _ = _compute(wb, pub, row, variable, level, "n", outcome, group, all_variables)
    except (KeyError, ValueError):
        return None
    if _is_missing(k) or not k:
        return None
    n = round(100 * float(k) / float(computed))
    return (int(k), int(n)) if n and math.isclose(100 * float(k) / n, float(computed), abs_tol=1e-9) else None


def _compute(wb: _Workbook, pub, row, variable, level, stat, outcome, group, all_variables):
    """(computed value, test, notes) for one published row."""
    frame = wb.frame
    notes: list[str] = []
    if variable == "n":
        if group == "all":
            return float(wb.n), "", notes
        cmp = wb.printed(outcome, all_variables)
        sizes = dict(zip(cmp.groups, cmp.group_sizes))
        return float(sizes[group == "with"]), "", notes
    if stat == "p_value":
        if not outcome:
            if variable != "sledai_over_time":
                raise KeyError(f"no whole-cohort test is defined for {variable!r}")
            res = wb.paired()
            notes.append(f"Friedman test on {res.n_complete} of {res.n_total} patients with every visit"
                         + ("" if row["test_marked"] not in ("", "unspecified") else
                            " (the paper names no test)"))
            return res.p_value, res.test, notes
        cmp = wb.printed(outcome, all_variables)
        hit = wb.find(cmp, variable, None)
        if hit is None:
            raise KeyError(f"{variable!r} is not a column of the analysis frame")
        if str(hit["test"]).startswith("not testable"):
            raise ValueError(str(hit["test"]))
        test = _TEST_WORDS.get(str(hit["test"]), hit["test"])
        if wb.test_rule == "paper":
            how = ("the test section 2.5 states (the text names none)" if "names no test" in row["note"]
                   else "as the paper marks" if row["test_marked"] not in ("", "unspecified") else "section 2.5's test")
            notes.append(f"{test}: {how}, as the workbook's table prints it")
        else:
            notes.append(f"{test}: chosen by the rule {wb.test_rule}, as the workbook's table prints it")
            if str(hit.get("ref_test", "") or ""):
                notes.append(f"the paper's test, {_TEST_WORDS.get(hit['ref_test'], hit['ref_test'])}, "
                             f"gives p = {hit['ref_p_value']:.4f}")
        if hit["type"] == "categorical" and not matches_printed(float(hit["p_value"]), row["printed"]):
            multi = frame[variable].dtype.name == "category" and frame[variable].nunique() > 2
            for other in ("chi2", "chi2_yates", "fisher_freeman_halton" if multi else "fisher"):
                if other == str(hit["test"]) or (multi and other == "chi2_yates"):
                    continue  # Yates' correction exists for 2x2 tables only
                alt = wb.find(wb.comparison(outcome, [variable], {variable: other}), variable, None)
                if alt is not None and matches_printed(float(alt["p_value"]), row["printed"]):
                    notes.append(f"{_describe_p(alt)} reproduces the printed {row['printed']}")
        return float(hit["p_value"]), str(hit["test"]), notes
    if group in ("with", "without"):
        cmp = wb.printed(outcome, all_variables)
        hit = wb.find(cmp, variable, _level_of(frame, variable, level))
        if hit is None:
            raise KeyError(f"no {variable!r} level {level!r} in the workbook's comparison")
        k = cmp.groups.index(group == "with")
        prefix = cmp.prefixes[k]
        column = {"n": "count", "percent": "pct"}.get(stat, stat)
        value = hit[f"{prefix}_{column}"]
        if _is_missing(value) and cmp.group_sizes[k] == 0:
            raise ValueError(f"no patient {group} {outcome.upper()} in this cohort")
        if _is_missing(value) and hit[f"{prefix}_n_valid"] == 0:
            raise ValueError(f"no patient {group} {outcome.upper()} has {variable!r} recorded")
        return value, "", notes
    # Overall values (Table 1, sections, abstract, figure legend, conclusions).
    if variable == _NO_RESPONSE:
        lda = frame["lda_ever"].fillna(False).astype(bool)
        k = int((~lda).sum())
        notes.append("no response = LDA never reached during the year (section 2.4)")
        return (float(k) if stat == "n" else 100.0 * k / wb.n), "", notes
    if variable not in frame.columns:
        raise KeyError(f"{variable!r} is not a column of the analysis frame")
    series = frame[variable]
    if level and series.dtype == "boolean":
        if level == "no":
            k = int((series == False).sum())  # noqa: E712 (nullable boolean: missing is neither)
            return (float(k) if stat == "n" else 100.0 * k / int(series.notna().sum())), "", notes
        stratifier = STRATA.get(variable)
        if stratifier is None or stratifier not in frame or \
                level not in set(frame[stratifier].cat.categories.astype(str)):
            raise KeyError(f"level {level!r} of the boolean {variable!r} names no stratum")
        within = frame[stratifier].astype(str) == level
        k = int((series.fillna(False).astype(bool) & within).sum())
        notes.append(f"{variable_words(variable)} among patients with {variable_words(stratifier)}: {level}")
        return float(k), "", notes
    desc = wb.overall(all_variables)
    hit = wb.find(desc, variable, _level_of(frame, variable, level))
    if hit is None:
        if series.dtype.name == "category" and level:
            # describe() shows one level of a two-level category (the dictionary's show_level);
            # the other is counted here, out of the same recorded values.
            valid = series.notna()
            k = int((series.astype(str) == level).sum())
            if level not in set(series.cat.categories.astype(str)):
                raise KeyError(f"{variable!r} has no level {level!r} in the workbook")
            return (float(k) if stat == "n" else 100.0 * k / int(valid.sum())), "", notes
        raise KeyError(f"no {variable!r} level {level!r} in the workbook's overall description")
    column = {"n": "count", "percent": "pct"}.get(stat, stat)
    return hit[f"all_{column}"], "", notes


def reproduction_score(table: pd.DataFrame) -> pd.DataFrame:
    """Per source and overall (``all``): values, exact, within rounding, differ, not computed, the
    share reproduced, and ``withheld`` when a bundle for circulation withheld some
    (``status == "withheld"``, :mod:`msc_sle.workbook.disclosure`)."""
    withheld = bool((table["status"] == "withheld").any())
    rows = []
    for source, grp in list(table.groupby("source", sort=False)) + [("all", table)]:
        counts = grp["status"].value_counts()
        n = len(grp)
        exact, within = int(counts.get("exact", 0)), int(counts.get("within rounding", 0))
        row = {"source": source, "n_values": n, "exact": exact, "within_rounding": within,
               "differs": int(counts.get("differs", 0)), "not_computed": int(counts.get("not computed", 0))}
        if withheld:
            row["withheld"] = int(counts.get("withheld", 0))
        rows.append(row | {"reproduced": (exact + within) / n if n else np.nan})
    out = pd.DataFrame(rows)
    out["source"] = out["source"].astype("string")
    return out
