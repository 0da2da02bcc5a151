"""Group comparisons of the analysis frame, built in steps as gtsummary builds a table.

>>> from msc_sle.compare import summarise
>>> result = summarise(frame, "cr_ever").add_p().add_effect().add_q()   # doctest: +SKIP
>>> comparison_table(result)     # msc_sle.present.tables                # doctest: +SKIP

:func:`summarise` describes every variable in each group (n, missing, n (%) or median, quartiles
and range); :meth:`Comparison.add_p` names and runs a test per variable, :meth:`Comparison.add_effect`
adds odds ratios and Hodges-Lehmann shifts with 95% CIs, :meth:`Comparison.add_q` adjusts the
p-values for multiplicity. :func:`compare_groups` runs the steps in one call.

The tests are those of the paper (Wen et al. 2019, section 2.5, SPSS 22): Mann-Whitney U for
continuous variables (tie-corrected normal approximation, no continuity correction: SPSS's
"Asymp. Sig."), Pearson chi-square without Yates' correction for categorical ones, and two-sided
Fisher's exact test (Fisher-Freeman-Halton beyond 2x2) where ``test_rule`` calls for it. Every
statistic comes from :mod:`msc_sle.stats`, which knows nothing of lupus; this module knows the
data dictionary (labels, units, sections, default tests) and the frame's columns.

The result's ``table`` is tidy and self-describing: every row carries the grouping (``by``, each
group's value, label and size) and how it was tested, so tables of several comparisons can be
concatenated, merged, pickled or round-tripped through ``to_dict`` and still be laid out by
:func:`msc_sle.present.tables.comparison_table`.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import stats
from .contract import Dictionary, Variable, as_dictionary

__all__ = ["Comparison", "summarise", "compare_groups", "describe", "paired_over_time", "PairedResult",
           "baseline_variables", "table_variables", "timing_families", "FAMILIES", "group_columns", "TEST_NAMES",
           "TEST_RULES", "CATEGORICAL_TESTS", "CONTINUOUS_TESTS"]

#: Tests for a categorical variable and for a continuous one (keys of ``msc_sle.stats.TESTS``).
CATEGORICAL_TESTS = ("chi2", "chi2_yates", "fisher", "fisher_freeman_halton")
CONTINUOUS_TESTS = ("mann_whitney", "kruskal")
#: Test names accepted in ``tests=`` overrides and used in the ``test`` column.
TEST_NAMES = CONTINUOUS_TESTS + CATEGORICAL_TESTS
#: When a categorical comparison leaves Pearson chi-square for an exact test:
#: ``expected_lt_5``: any expected count below 5 (the textbook rule, SPSS's footnote);
#: ``cochran``: any expected count below 1 or more than 20% below 5 (Cochran 1954);
#: ``pearson_only``: never (section 2.5's stated method, chi-square for every categorical variable).
TEST_RULES = ("expected_lt_5", "cochran", "pearson_only")
_STAT_COLUMNS = ("count", "pct", "median", "q1", "q3", "min", "max")
_HEAD = ["variable", "label", "section", "type", "level", "unit", "applies_to"]
_TESTED = ["test", "statistic", "df", "p_value"]
_EFFECT = ["effect", "effect_estimate", "effect_ci_low", "effect_ci_high"]
_REFERENCE = ["ref_test", "ref_p_value", "reference"]
_NOT_TESTABLE = "not testable"


def table_variables(frame: pd.DataFrame, dictionary=None) -> list[str]:
    """The variables of the paper's tables present in ``frame``: every dictionary variable with a
    table section except the outcomes, in dictionary order (patients, then derived). Table 2 also
    compares the follow-up SLEDAI-2K (M1 to M12) this way. ``dictionary``: a path or
    :class:`~msc_sle.contract.Dictionary` (default ``data/dictionary.csv``)."""
    return [n for n in dict.fromkeys(v.name for v in as_dictionary(dictionary).characteristics()) if n in frame.columns]


def baseline_variables(frame: pd.DataFrame, dictionary=None) -> list[str]:
    """The table variables measured at baseline (the data dictionary's ``timing``): Table 1's rows,
    and what a baseline comparison may offer; the follow-up SLEDAI-2K is left out."""
    d = as_dictionary(dictionary)
    return [n for n in table_variables(frame, d) if d.variable(n).timing == "baseline"]


#: The family a table variable's p-value is adjusted in (the dictionary's ``timing``): the baseline
#: characteristics ask "who responds?", the follow-up SLEDAI-2K only restates the response.
FAMILIES = {"baseline": "baseline characteristics", "follow-up": "follow-up SLEDAI-2K"}


def timing_families(variables, dictionary=None) -> dict[str, str]:
    """``{variable: family}`` for :meth:`Comparison.add_q`: ``"follow-up"`` for a variable measured
    after the first infusion (the dictionary's ``timing``, e.g. SLEDAI-2K at M1-M12), ``"baseline"``
    for every other one."""
    d = as_dictionary(dictionary)
    return {v: "follow-up" if v in d and d.variable(v).timing == "follow-up" else "baseline" for v in variables}


def group_columns(table: pd.DataFrame) -> list[str]:
    """The group prefixes of a tidy comparison table (``g1``, ``g2``, ... or ``all``), in order."""
    return [c[: -len("_label")] for c in table.columns if c.endswith("_label") and c != "by_label"]


# --------------------------------------------------------------------------------------------
# variable specifications (from the data dictionary)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Spec:
    name: str
    label: str
    kind: str              # "categorical" | "continuous" (the variable's measure)
    section: str
    unit: str
    default_test: str      # "auto" or a TEST_NAMES entry
    show_level: str
    var: Variable | None   # the dictionary's record, None for a column it does not know
    applies_if: str = ""   # "" (everyone), "recorded" (empty = not applicable) or a boolean column
    applies_to: str = ""   # who it applies to, as printed ("biopsied")


def _spec_for(name: str, series: pd.Series, d: Dictionary, labels: dict) -> _Spec | None:
    var = d.get(name)
    if var is not None:
        if var.measure is None:
            return None  # string / date columns are not compared
        return _Spec(name, labels.get(name, var.display_label), var.measure, var.section, var.unit,
                     var.default_test or "auto", var.show_level, var, var.applies_if, var.applies_to)
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        kind = "categorical"
    elif pd.api.types.is_numeric_dtype(dtype):
        kind = "continuous"
    else:
        return None
    return _Spec(name, labels.get(name, name), kind, "", "", "auto", "", None)


def _resolve_variables(data, by, variables, labels, d: Dictionary) -> list[_Spec]:
    labels = dict(labels or {})
    if variables is None:
        # The paper's table variables (dictionary order, outcomes and ``by`` left out: they are
        # what is predicted). Only a frame without any of them falls back to every bool /
        # category / numeric column, so that derived outcome columns such as ``cr_m12`` in an
        # analysis frame never slip into a baseline comparison.
        table_vars = [n for n in table_variables(data, d) if n != by]
        names = table_vars or [c for c in data.columns if c != by and c not in d]
        return [s for s in (_spec_for(n, data[n], d, labels) for n in names) if s is not None]
    if isinstance(variables, str):
        variables = [variables]
    missing = [v for v in variables if v not in data.columns]
    if missing:
        raise KeyError(f"variables not in the data: {missing}")
    dup = sorted({v for v in variables if list(variables).count(v) > 1})
    if dup:
        raise ValueError(f"variables listed more than once: {dup}")
    specs = []
    for name in variables:
        if name == by:
            raise ValueError(f"{name!r} is the grouping column and cannot also be compared")
        spec = _spec_for(name, data[name], d, labels)
        if spec is None:
            raise TypeError(f"column {name!r} (dtype {data[name].dtype}) is neither categorical "
                            "(bool / category) nor numeric; cast it before comparing")
        specs.append(spec)
    return specs


# --------------------------------------------------------------------------------------------
# column extraction (fast paths for numpy / nullable dtypes)
# --------------------------------------------------------------------------------------------
def _categorical_codes(series: pd.Series, name: str, var: Variable | None) -> tuple[np.ndarray, list]:
    """Integer codes (-1 = missing) and the level list; booleans are ordered [True, False]."""
    dtype = series.dtype
    want_bool = (var is not None and var.kind == "boolean") or (
        var is None and pd.api.types.is_bool_dtype(dtype))
    if want_bool:
        if not pd.api.types.is_bool_dtype(dtype):
            try:
                series = series.astype("boolean")
            except (TypeError, ValueError) as err:
                raise TypeError(f"column {name!r} should be boolean (data dictionary) but holds "
                                f"other values: {err}") from None
        v = series.to_numpy(dtype="int8", na_value=-1)
        # code 0 = True, 1 = False, -1 = missing
        return np.where(v < 0, -1, 1 - v).astype(np.int64), [True, False]
    if isinstance(dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy().astype(np.int64), list(dtype.categories)
    allowed = list(var.levels) if var is not None and var.levels else None
    if allowed is None:
        raise TypeError(f"column {name!r} is not categorical (dtype {dtype})")
    cat = pd.Categorical(series, categories=allowed)
    bad = series[cat.isna() & series.notna()]
    if len(bad):
        raise ValueError(f"column {name!r} holds values outside its allowed levels {allowed}: "
                         f"{sorted(map(str, bad.unique()))[:5]}")
    return cat.codes.astype(np.int64), allowed


def _numeric_values(series: pd.Series, name: str) -> np.ndarray:
    if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        raise TypeError(f"column {name!r} (dtype {series.dtype}) is not numeric")
    return series.to_numpy(dtype="float64", na_value=np.nan)


def _group_codes(data: pd.DataFrame, by, group_order):
    if not isinstance(by, str):
        raise TypeError("by must be a column name")
    if by not in data.columns:
        raise KeyError(f"grouping column {by!r} is not in the data")
    s = data[by]
    if group_order is not None:
        groups = list(group_order)
        if len(set(map(repr, groups))) != len(groups):
            raise ValueError(f"group_order lists a group twice: {groups}")
    elif pd.api.types.is_bool_dtype(s.dtype):
        groups = [True, False]  # responders first, as in the paper's Table 2
    elif isinstance(s.dtype, pd.CategoricalDtype):
        present = set(s.dropna().unique())
        groups = [c for c in s.dtype.categories if c in present]
    else:
        groups = sorted(s.dropna().unique().tolist())
    if not groups:
        raise ValueError(f"grouping column {by!r} has no values: nothing to compare")
    if pd.api.types.is_bool_dtype(s.dtype):
        v = s.to_numpy(dtype="int8", na_value=-1)
        codes = np.full(len(s), -1, dtype=np.int64)
        for i, g in enumerate(groups):
            if g not in (True, False):
                raise ValueError(f"group {g!r} is not a value of boolean column {by!r}")
            codes[v == int(g)] = i
    else:
        mapping = {g: i for i, g in enumerate(groups)}
        codes = s.map(mapping).to_numpy(dtype="float64", na_value=np.nan)
        codes = np.where(np.isnan(codes), -1, codes).astype(np.int64)
    n_missing = int(s.isna().sum())
    n_other = int(((codes < 0).sum()) - n_missing)
    return codes, groups, n_missing, n_other


# --------------------------------------------------------------------------------------------
# per-variable summaries (what the steps test and estimate on)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Summary:
    spec: _Spec
    n_all: np.ndarray
    n_valid: np.ndarray
    n_applicable: np.ndarray
    levels: tuple = ()                 # categorical: the levels, table = groups x levels counts
    table: np.ndarray | None = None
    shown: tuple = ()                  # level indices shown as rows (None: a row counting the missing)
    values: stats.GroupedValues | None = None   # continuous


def _applicable(spec: _Spec, data: pd.DataFrame) -> np.ndarray | None:
    """Rows the variable applies to (the data dictionary's ``applies_if``), or None for everyone.

    ``recorded``: an empty cell means "not applicable" (no biopsy, no induction), never missing;
    a column name: the rows where that boolean is true (the dose group of induced patients).
    """
    rule = spec.applies_if
    if not rule:
        return None
    if rule == "recorded":
        return data[spec.name].notna().to_numpy()
    if rule not in data.columns:
        raise KeyError(f"{spec.name!r} applies if {rule!r} (data dictionary), which is not a column of the data")
    return data[rule].to_numpy(dtype=bool, na_value=False)


def _summarise_variable(spec: _Spec, data: pd.DataFrame, gcodes: np.ndarray, k: int) -> _Summary:
    series = data[spec.name]
    in_group = gcodes >= 0
    n_all = np.bincount(gcodes[in_group], minlength=k)
    applicable = _applicable(spec, data)
    codes_for_variable = gcodes if applicable is None else np.where(applicable, gcodes, -1)
    n_applicable = n_all if applicable is None else np.bincount(codes_for_variable[in_group & applicable],
                                                                minlength=k)
    if spec.kind == "continuous":
        gv = stats.group_values(_numeric_values(series, spec.name), codes_for_variable, k)
        return _Summary(spec, n_all, np.asarray(gv.n_valid), n_applicable, values=gv)
    codes, levels = _categorical_codes(series, spec.name, spec.var)
    table = stats.crosstab(codes_for_variable, codes, k, len(levels))
    if levels == [True, False]:
        shown = (0,)
    elif spec.show_level:
        if spec.show_level not in levels:
            raise ValueError(f"show_level {spec.show_level!r} of {spec.name!r} is not one of its levels {levels}")
        shown = (levels.index(spec.show_level),)
    elif len(levels) <= 2:
        shown = tuple(range(len(levels)))
    else:
        # levels nobody has are left out; with no recorded value at all, one row says so
        shown = tuple(j for j in range(len(levels)) if table[:, j].sum() > 0) or (None,)
    return _Summary(spec, n_all, table.sum(axis=1), n_applicable, tuple(levels), table, shown)


def _rows(item: _Summary, prefixes) -> list[dict]:
    spec = item.spec
    levels = item.shown if spec.kind == "categorical" else (None,)
    rows = []
    for j in levels:
        row = dict(variable=spec.name, label=spec.label, section=spec.section, type=spec.kind,
                   level=None if j is None else item.levels[j], unit=spec.unit, applies_to=spec.applies_to)
        for g, p in enumerate(prefixes):
            n_valid = int(item.n_valid[g])
            row[f"{p}_n"] = int(item.n_all[g])
            row[f"{p}_n_applicable"] = int(item.n_applicable[g])
            row[f"{p}_n_valid"] = n_valid
            row[f"{p}_missing"] = int(item.n_applicable[g]) - n_valid
            if spec.kind == "categorical":
                count = 0 if j is None else int(item.table[g, j])
                row[f"{p}_count"] = count
                row[f"{p}_pct"] = 100.0 * count / n_valid if n_valid else np.nan
            elif n_valid:
                s = item.values.summary(g)
                row.update({f"{p}_median": s.median, f"{p}_q1": s.q1, f"{p}_q3": s.q3,
                            f"{p}_min": s.min, f"{p}_max": s.max})
        rows.append(row)
    return rows


def _frame(rows: list[dict], prefixes, groups, group_labels, by: str, by_label: str) -> pd.DataFrame:
    per_group = []
    for p in prefixes:
        per_group += [f"{p}_{c}" for c in ("group", "label", "n", "n_applicable", "n_valid", "missing") + _STAT_COLUMNS]
    frame = pd.DataFrame(rows)
    for col in _HEAD + per_group:
        if col not in frame.columns:
            frame[col] = np.nan
    for p, g, lab in zip(prefixes, groups, group_labels):
        frame[f"{p}_group"] = str(g)
        frame[f"{p}_label"] = lab
    frame = frame[_HEAD + per_group].copy()
    for col in per_group:
        if col.endswith(("_n", "_n_applicable", "_n_valid", "_missing", "_count")):
            frame[col] = frame[col].astype("Int64")
    if by:
        frame["by"], frame["by_label"] = by, by_label
    return frame


# --------------------------------------------------------------------------------------------
# the result and its steps
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Comparison:
    """Variables compared between the groups of ``by``, step by step.

    table : tidy, one row per variable (per shown level of a categorical variable):
        ``variable, label, section, type`` ("categorical" / "continuous"), ``level, unit``; per
        group ``g1, g2, ...``: ``g1_group`` (its value, as text), ``g1_label``, ``g1_n`` (patients
        in the group), ``g1_n_applicable`` (those the variable applies to: the data dictionary's
        ``applies_if``, e.g. the biopsied for the nephritis class; everyone otherwise),
        ``g1_n_valid`` (with the variable recorded), ``g1_missing`` (applicable but not recorded:
        true gaps only, never "not applicable"), ``g1_count`` and
        ``g1_pct`` (categorical: the level's count and its percentage of ``g1_n_valid``),
        ``g1_median, g1_q1, g1_q3, g1_min, g1_max`` (continuous; quartiles as SPSS computes them,
        type 6); then ``by``, ``by_label``; after :meth:`add_p` ``test`` (a ``TEST_NAMES`` entry or
        ``"not testable: <reason>"``), ``statistic`` (U of group 1, Kruskal-Wallis H or chi-square;
        NaN for exact tests), ``df``, ``p_value``, ``test_rule``; after :meth:`add_effect`
        ``effect`` ("odds ratio" / "Hodges-Lehmann difference"), ``effect_estimate``,
        ``effect_ci_low``, ``effect_ci_high`` (95%; group 1 versus group 2); after :meth:`add_q`
        ``q_value`` and ``q_method``; ``note`` (why an exact test was used, corrections, Monte Carlo
        settings). Test results repeat on every level row of a variable.
    by, groups, group_labels, group_sizes : the grouping (also in every row of ``table``).
    n_excluded : patients whose group is missing or not in ``group_order`` (not compared).
    notes : what the table's footnotes should say about the grouping.
    """
    table: pd.DataFrame
    by: str
    groups: tuple
    group_labels: tuple
    group_sizes: tuple
    n_excluded: int = 0
    notes: tuple = ()
    summaries: tuple = field(default=(), repr=False, compare=False)

    @property
    def prefixes(self) -> list[str]:
        return [f"g{i + 1}" for i in range(len(self.groups))]

    def _with(self, table: pd.DataFrame) -> "Comparison":
        tail = [c for c in _TESTED + ["test_rule"] + _REFERENCE + _EFFECT + ["q_value", "q_method", "q_family", "note"]
                if c in table.columns]
        return dataclasses.replace(self, table=table[[c for c in table.columns if c not in tail] + tail])

    def add_p(self, test_rule: str = "expected_lt_5", tests=None, *, reference_tests=None,
              reference: str = "", rule_name: str | None = None, exact: bool = False, seed: int = 20190502,
              n_resamples: int = 10_000) -> "Comparison":
        """Name and run a test for every variable.

        test_rule : when a categorical comparison uses an exact test instead of Pearson
            chi-square (:data:`TEST_RULES`): Fisher's for 2x2 tables, Fisher-Freeman-Halton beyond.
        tests : per-variable tests ``{variable: test}`` (``TEST_NAMES``) that override the rule, e.g.
            to mirror a published analysis. ``"fisher"`` on a table larger than 2x2 runs its
            extension, the Fisher-Freeman-Halton test.
        reference_tests, reference : another choice of test per variable, e.g. the one a paper
            used, named ``reference`` ("paper"); where it differs from the chosen test, its p-value
            is added beside (``ref_test``, ``ref_p_value``), so a table can show both.
        rule_name : how the ``test_rule`` column names the choice (default: ``test_rule``), e.g.
            "paper" when ``tests`` gives every variable the test a paper used.
        exact : Mann-Whitney with an exact p (no ties) or a permutation p (ties; exact enumeration
            or ``n_resamples`` Monte Carlo draws seeded with ``seed``).
        """
        if test_rule not in TEST_RULES:
            raise ValueError(f"unknown test_rule {test_rule!r}; use one of {', '.join(TEST_RULES)}")
        if int(n_resamples) < 1:
            raise ValueError("n_resamples must be a positive integer")
        tests = self._check_tests(tests, "tests")
        reference_tests = self._check_tests(reference_tests, "reference_tests")
        k = len(self.groups)
        empty = [str(lab) for lab, size in zip(self.group_labels, self.group_sizes) if not size]
        results, refs = {}, {}
        for item in self.summaries:
            spec = item.spec
            if empty:  # e.g. nobody reached the response: nothing to compare, and the reason is the group
                results[spec.name] = _not_testable(
                    f"no patient in {'group' if len(empty) == 1 else 'groups'} {' and '.join(map(repr, empty))}")
                continue
            if spec.default_test not in ("auto", "", *TEST_NAMES):
                raise ValueError(f"the dictionary gives {spec.name!r} the unknown test {spec.default_test!r}")
            results[spec.name] = self._test(item, tests.get(spec.name), test_rule, exact, seed, n_resamples)
            other = reference_tests.get(spec.name)
            chosen = results[spec.name]["test"]
            if other and k >= 2 and not chosen.startswith(_NOT_TESTABLE) and not _same_test(other, chosen, item):
                refs[spec.name] = self._test(item, other, test_rule, exact, seed, n_resamples)
        table = self.table.drop(columns=[c for c in _TESTED + _EFFECT + _REFERENCE + ["note", "test_rule", "q_value",
                                                                                      "q_method", "q_family"]
                                         if c in self.table.columns])
        for col in _TESTED:
            values = [results[v][col] for v in table["variable"]]
            table[col] = pd.array(values, dtype="Int64") if col == "df" else pd.Series(values, dtype=(
                float if col in ("statistic", "p_value") else object), index=table.index)
        table["test_rule"] = rule_name or test_rule
        if refs:
            table["ref_test"] = [refs[v]["test"] if v in refs else "" for v in table["variable"]]
            table["ref_p_value"] = [refs[v]["p_value"] if v in refs else np.nan for v in table["variable"]]
            table["reference"] = reference
        table["note"] = [results[v]["note"] for v in table["variable"]]
        return self._with(table)

    def _check_tests(self, tests, what: str) -> dict:
        names = {s.spec.name for s in self.summaries}
        tests = dict(tests or {})
        kinds = {s.spec.name: s.spec.kind for s in self.summaries}
        for var, name in tests.items():
            if var not in names:
                raise ValueError(f"{what} names {var!r}, which is not among the compared variables")
            _check_test_name(name, repr(var))
            allowed = CATEGORICAL_TESTS if kinds[var] == "categorical" else CONTINUOUS_TESTS
            if name not in allowed:
                raise ValueError(f"test {name!r} does not apply to the {kinds[var]} variable {var!r}; "
                                 f"use one of {allowed}")
            if name == "mann_whitney" and len(self.groups) > 2:
                raise ValueError(f"mann_whitney compares two groups but {self.by!r} has {len(self.groups)}; "
                                 "use kruskal")
        return tests

    def _test(self, item: _Summary, override, test_rule, exact, seed, n_resamples) -> dict:
        if len(self.groups) < 2:  # every patient in one group (e.g. everyone responded): describe, do not test
            return _not_testable(f"every patient is in one group ({self.group_labels[0]})")
        # the reasons a row is not testable are printed under the table: groups by their labels
        if item.spec.kind == "categorical":
            return _test_categorical(item, override, test_rule, seed, n_resamples, self.group_labels)
        return _test_continuous(item, override, exact, seed, n_resamples, self.group_labels)

    def add_effect(self) -> "Comparison":
        """Odds ratios (binary variables, per shown level; Woolf 95% CI, Haldane-Anscombe correction
        for a zero cell) and Hodges-Lehmann median differences (continuous; distribution-free 95% CI),
        group 1 versus group 2. Nothing is estimated for more than two groups."""
        if "p_value" not in self.table:
            raise ValueError("add_effect comes after add_p (an effect is not estimated for an untested variable)")
        k = len(self.groups)
        cells: dict = {}
        for item in self.summaries:
            spec = item.spec
            testable = not str(self.table.loc[self.table["variable"] == spec.name, "test"].iloc[0]).startswith(
                _NOT_TESTABLE)
            if spec.kind == "continuous":
                if k != 2 or not testable:
                    continue
                est = stats.hodges_lehmann_grouped(item.values)
                note = "groups too small for a 95% CI" if math.isnan(est.ci_low) else ""
                cells[(spec.name, None)] = ("Hodges-Lehmann difference", est.estimate, est.ci_low, est.ci_high, note)
            elif len(item.levels) == 2 and k == 2:
                # both levels of a two-level category may be shown (the paper's <=20 / >20 rows): the
                # second odds ratio is the reciprocal of the first and says nothing more, so only the
                # first shown level (the dictionary's level order, the paper's printed row) carries one
                for j in item.shown[:1]:
                    if min(item.n_valid) == 0 or not testable:
                        cells[(spec.name, j)] = ("odds ratio", np.nan, np.nan, np.nan,
                                                 "odds ratio not estimable (variable not testable)")
                        continue
                    a, c = int(item.table[0, j]), int(item.table[1, j])
                    est = stats.odds_ratio(a, int(item.n_valid[0]) - a, c, int(item.n_valid[1]) - c)
                    cells[(spec.name, j)] = ("odds ratio", est.estimate, est.ci_low, est.ci_high, est.note)
        table = self.table.copy()
        level_index = {s.spec.name: {lv: j for j, lv in enumerate(s.levels)} for s in self.summaries}
        effect, estimate, low, high, notes = [], [], [], [], []
        for var, level, note in zip(table["variable"], table["level"], table["note"]):
            j = level_index.get(var, {}).get(level) if level is not None and not _is_na(level) else None
            cell = cells.get((var, j)) or cells.get((var, None))
            name, est, lo, hi, extra = cell if cell else ("", np.nan, np.nan, np.nan, "")
            effect.append(name)
            estimate.append(est)
            low.append(lo)
            high.append(hi)
            notes.append(_join(note, extra))
        table["effect"], table["effect_estimate"] = pd.Series(effect, index=table.index, dtype=object), estimate
        table["effect_ci_low"], table["effect_ci_high"] = low, high
        table["note"] = notes
        return self._with(table)

    def add_q(self, method: str = "bh", families=None) -> "Comparison":
        """q-values over the variables tested: ``"bh"`` Benjamini-Hochberg false discovery rate,
        ``"holm"`` Holm's family-wise adjustment (``msc_sle.stats.adjust_pvalues``).

        ``families`` ``{variable: family}`` adjusts each family apart (e.g. the baseline predictors
        apart from the follow-up SLEDAI-2K, which answer another question); a variable not named
        joins the family ``""``. The family of each row is kept in ``q_family``."""
        if method not in stats.ADJUST_METHODS:
            raise ValueError(f"unknown adjust {method!r}; use one of {stats.ADJUST_METHODS}")
        if "p_value" not in self.table:
            raise ValueError("add_q comes after add_p")
        per_var = self.table.drop_duplicates("variable").set_index("variable")["p_value"].astype(float)
        family = pd.Series({v: str((families or {}).get(v, "")) for v in per_var.index}, dtype=object)
        q = pd.concat([stats.adjust_pvalues(per_var[family == f], method) for f in dict.fromkeys(family)])
        table = self.table.copy()
        table["q_value"] = table["variable"].map(q).astype(float)
        table["q_method"] = method
        if families:
            table["q_family"] = table["variable"].map(family)
        return self._with(table)


def summarise(data: pd.DataFrame, by: str, variables=None, *, labels=None, dictionary=None,
              group_order=None, group_labels=None) -> Comparison:
    """Describe ``variables`` in each group of ``by`` (no tests yet): the first step.

    data : one row per patient (e.g. ``msc_sle.clinical.analysis_frame(cohort)``).
    by : the grouping column. A boolean column (``cr_ever``) gives the groups [True, False]:
        responders first, as in the paper's Table 2.
    variables : columns to describe (default: the dictionary variables with a table section that
        the frame holds, in dictionary order, except outcomes and ``by``; a frame holding none of
        them: every bool / category / numeric column except ``by``). Labels, types, default tests,
        units and shown levels come from the data dictionary; a column not in it is typed from its
        dtype (bool / category: categorical; numeric: continuous). A categorical variable shows one
        row per shown level: booleans show True, a category with a ``show_level`` that level, other
        two-level categories both, larger ones every observed level.
    labels : ``{variable: label}`` overriding the dictionary labels (also for ``by``).
    group_order : the groups and their order (default: [True, False] for booleans, category order,
        else sorted). Rows whose group is missing or not listed are left out and counted.
    group_labels : ``{group: label}`` (default for a boolean ``by``: "<label>: yes" / "<label>: no").
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError("data must be a pandas DataFrame")
    d = as_dictionary(dictionary)
    gcodes, groups, n_missing_group, n_other = _group_codes(data, by, group_order)
    specs = _resolve_variables(data, by, variables, labels, d)
    k = len(groups)
    prefixes = [f"g{i + 1}" for i in range(k)]
    items = tuple(_summarise_variable(s, data, gcodes, k) for s in specs)
    by_label = labels.get(by) if labels and by in labels else (d.variable(by).label if by in d else str(by))
    if group_labels is None:
        glabels = ([f"{by_label}: {'yes' if g else 'no'}" for g in groups] if set(groups) <= {True, False}
                   else [str(g) for g in groups])
    else:
        glabels = [str(group_labels.get(g, g)) for g in groups]
    notes = []
    if n_missing_group:
        notes.append(f"{n_missing_group} patient(s) with {by!r} missing are not compared")
    if n_other:
        notes.append(f"{n_other} patient(s) in groups not listed in group_order are not compared")
    rows = [r for item in items for r in _rows(item, prefixes)]
    table = _frame(rows, prefixes, groups, glabels, by, by_label)
    table["by_note"] = "; ".join(notes)
    return Comparison(table, by, tuple(groups), tuple(glabels),
                      tuple(int((gcodes == g).sum()) for g in range(k)), n_missing_group + n_other,
                      tuple(notes), items)


def compare_groups(data: pd.DataFrame, by: str, variables=None, tests=None, test_rule: str = "expected_lt_5",
                   exact: bool = False, effect_sizes: bool = True, adjust: str | None = None, labels=None,
                   dictionary=None, seed: int = 20190502, n_resamples: int = 10_000, group_order=None,
                   group_labels=None) -> Comparison:
    """Compare variables between the groups of ``by`` and name the test behind each p-value:
    :func:`summarise`, then :meth:`Comparison.add_p` (``test_rule``, ``tests``, ``exact``, ``seed``,
    ``n_resamples``), :meth:`Comparison.add_effect` when ``effect_sizes`` and
    :meth:`Comparison.add_q` when ``adjust`` ("bh" or "holm") is given.
    """
    if adjust not in (None, *stats.ADJUST_METHODS):
        raise ValueError(f"unknown adjust {adjust!r}; use None or one of {stats.ADJUST_METHODS}")
    result = summarise(data, by, variables, labels=labels, dictionary=dictionary, group_order=group_order,
                       group_labels=group_labels)
    result = result.add_p(test_rule, tests, exact=exact, seed=seed, n_resamples=n_resamples)
    if effect_sizes:
        result = result.add_effect()
    return result.add_q(adjust) if adjust else result


def describe(data: pd.DataFrame, variables=None, *, labels=None, dictionary=None) -> Comparison:
    """Overall descriptive statistics (the numbers behind the paper's Table 1), no tests.

    A :class:`Comparison` with one group, prefix ``all`` (``all_n``, ``all_n_valid``,
    ``all_missing``, ``all_count``, ``all_pct``, ``all_median``, ``all_q1``, ``all_q3``,
    ``all_min``, ``all_max``), labelled "All patients".
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError("data must be a pandas DataFrame")
    specs = _resolve_variables(data, None, variables, labels, as_dictionary(dictionary))
    gcodes = np.zeros(len(data), dtype=np.int64)
    items = tuple(_summarise_variable(s, data, gcodes, 1) for s in specs)
    rows = [r for item in items for r in _rows(item, ["all"])]
    table = _frame(rows, ["all"], ["all"], ["All patients"], "", "")
    return Comparison(table, "", ("all",), ("All patients",), (len(data),), 0, (), items)


# --------------------------------------------------------------------------------------------
# the tests of one variable
# --------------------------------------------------------------------------------------------
def _check_test_name(name, where):
    if name not in TEST_NAMES:
        raise ValueError(f"unknown test {name!r} for {where}; valid tests: {', '.join(TEST_NAMES)}")


def _join(*parts):
    return "; ".join(p for p in parts if p)


def _is_na(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _none_recorded(groups) -> str:
    return f"no value recorded in {'group' if len(groups) == 1 else 'groups'} {' and '.join(map(str, groups))}"


def _all_alike(level) -> str:
    """Why a categorical row is not testable, in the words a clinician reads under the table."""
    if level is True:
        return "all patients had it"
    if level is False:
        return "no patient had it"
    return "nothing recorded" if level is None else f"all patients: {level}"


def _not_testable(reason) -> dict:
    return dict(test=f"{_NOT_TESTABLE}: {reason}", statistic=np.nan, df=None, p_value=np.nan, note="")


def _same_test(a: str, b: str, item: _Summary) -> bool:
    """Whether two test names run the same test on this variable ("fisher" on a table larger than
    2x2 is Fisher-Freeman-Halton)."""
    if item.spec.kind == "categorical" and item.table is not None and (item.table.sum(axis=0) > 0).sum() > 2:
        a, b = ("fisher_freeman_halton" if t == "fisher" else t for t in (a, b))
    return a == b


def _rule_calls_for_exact(expected: np.ndarray, rule: str) -> tuple[bool, str]:
    if rule == "pearson_only":
        return False, ""
    small = expected < 5
    if rule == "expected_lt_5":
        if small.any():
            return True, f"smallest expected count {expected.min():.2f} < 5"
        return False, ""
    share = small.mean()
    if expected.min() < 1 or share > 0.2:
        # Counts, not a percentage: percentages are rounded in present.format only (one rule, half up).
        return True, (f"Cochran's rule: {int(small.sum())} of {small.size} expected counts < 5, "
                      f"smallest {expected.min():.2f}")
    return False, ""


def _run_categorical(table: np.ndarray, test: str, seed: int, n_resamples: int) -> stats.TestResult:
    if test == "chi2":
        return stats.pearson_chi2(table)
    if test == "chi2_yates":
        if table.shape != (2, 2):
            res = stats.pearson_chi2(table)
            return dataclasses.replace(res, note="Yates' correction applies to 2x2 tables only; none applied")
        return stats.yates_chi2(table)
    if test == "fisher":
        if table.shape != (2, 2):
            raise ValueError("fisher applies to 2x2 tables; use fisher_freeman_halton for "
                             f"a {table.shape[0]}x{table.shape[1]} table")
        return stats.fisher_exact(table)
    return stats.fisher_freeman_halton(table, n_resamples=n_resamples, seed=seed)


def _test_categorical(item: _Summary, override, rule, seed, n_resamples, groups) -> dict:
    spec = item.spec
    k = len(groups)
    empty = [str(groups[g]) for g in range(k) if item.n_valid[g] == 0]
    used = item.table.sum(axis=0) > 0
    if empty:
        return _not_testable(_none_recorded(empty))
    if used.sum() < 2:
        only = item.levels[int(np.flatnonzero(used)[0])] if used.any() else None
        return _not_testable(_all_alike(only))
    # SPSS crosstabs drop levels nobody has; an all-zero column has no expected count
    t = item.table[:, used]
    fires, reason = _rule_calls_for_exact(stats.expected_counts(t), rule)
    if override:
        test, reason = override, ""
        if test == "fisher" and t.shape != (2, 2):  # Fisher's test of a larger table is its extension
            test = "fisher_freeman_halton"
    elif fires:
        test = "fisher" if t.shape == (2, 2) else "fisher_freeman_halton"
    else:
        test = "chi2"
    res = _run_categorical(t, test, seed, n_resamples)
    # Pearson's own note (expected counts below 5) is the rule's business, stated by the rule
    note = _join(reason, "" if test == "chi2" else res.note)
    if (~used).any() and len(item.levels) > 2:
        note = _join(note, "levels never observed: " + ", ".join(str(item.levels[j]) for j in np.flatnonzero(~used)))
    return dict(test=test, statistic=res.statistic, df=res.df, p_value=res.pvalue, note=note)


def _test_continuous(item: _Summary, override, exact, seed, n_resamples, groups) -> dict:
    spec, gv = item.spec, item.values
    k = len(groups)
    empty = [str(groups[g]) for g in range(k) if gv.n_valid[g] == 0]
    if empty:
        return _not_testable(_none_recorded(empty))
    lo = min(gv.order_statistic(g, 0) for g in range(k))
    hi = max(gv.order_statistic(g, int(gv.n_valid[g]) - 1) for g in range(k))
    if lo == hi:
        return _not_testable(f"all patients had the same value ({lo:g}{' ' + spec.unit if spec.unit else ''})")
    test = override or ("mann_whitney" if k == 2 else "kruskal")
    if test == "kruskal":
        res = stats.kruskal_grouped(gv)
    else:
        method = "asymptotic"
        if exact:
            method = "exact" if gv.tie_term == 0 else "permutation"
        res = stats.mann_whitney_grouped(gv, method=method, n_resamples=n_resamples, seed=seed)
    return dict(test=res.test, statistic=res.statistic, df=res.df, p_value=res.pvalue, note=res.note)


# --------------------------------------------------------------------------------------------
# repeated measures
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PairedResult:
    """Friedman test across time points and Wilcoxon signed-rank of each against baseline.

    ``summary``: per time point n, median, Q1, Q3, min, max (all patients with a value);
    ``pairwise``: one row per later time point with ``n_pairs``, ``n_nonzero``, ``statistic``
    (W+, sum of positive ranks of later minus baseline), ``z``, ``p_value``, ``p_holm`` and
    ``note``.
    """
    test: str
    statistic: float
    df: int
    p_value: float
    n_complete: int
    n_total: int
    summary: pd.DataFrame
    pairwise: pd.DataFrame
    note: str = ""


def paired_over_time(data: pd.DataFrame, columns=None, *, value: str | None = None,
                     subject: str = "patient_id", time: str = "month",
                     adjust: str = "holm") -> PairedResult:
    """Change of a measurement over visits (the paper's "SLEDAI improved over time", p < 0.001).

    ``data`` is either wide (one row per patient, one column per time point, baseline first: by
    default the ``sledai_m*`` columns of ``analysis_frame``, or the given ``columns``) or long
    (``value`` names the measurement column; ``subject`` and ``time`` identify the visit).

    The Friedman test uses complete cases (patients with every time point; their number is stated).
    Each later time point is compared with baseline by the Wilcoxon signed-rank test on the
    patients having both values, as SPSS does: zero differences dropped, tie-corrected normal
    approximation, no continuity correction. Those p-values are adjusted with Holm (default) or
    Benjamini-Hochberg (``adjust="bh"``).
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError("data must be a pandas DataFrame")
    if value is not None:
        for col in (value, subject, time):
            if col not in data.columns:
                raise KeyError(f"column {col!r} is not in the data")
        dup = data.duplicated([subject, time])
        if dup.any():
            raise ValueError(f"{int(dup.sum())} duplicated ({subject}, {time}) visit(s)")
        wide = data.pivot(index=subject, columns=time, values=value).sort_index(axis=1)
        labels = {c: f"{time} {c}" for c in wide.columns}
    else:
        if columns is None:
            columns = [c for c in ("sledai_m0", "sledai_m1", "sledai_m3", "sledai_m6", "sledai_m12")
                       if c in data.columns]
        columns = list(columns)
        missing = [c for c in columns if c not in data.columns]
        if missing:
            raise KeyError(f"columns not in the data: {missing}")
        wide = data[columns]
        labels = {c: c for c in columns}
    if wide.shape[1] < 2:
        raise ValueError("at least two time points are needed")
    values = wide.apply(lambda s: pd.to_numeric(s, errors="raise")).astype(float)
    times = list(values.columns)
    rows = []
    for t in times:
        v = values[t].dropna().to_numpy()
        s = stats.summary(v) if v.size else None
        rows.append(dict(time=labels[t], n=int(v.size), median=s.median if s else np.nan, q1=s.q1 if s else np.nan,
                         q3=s.q3 if s else np.nan, min=s.min if s else np.nan, max=s.max if s else np.nan))
    summary = pd.DataFrame(rows)
    complete = values.dropna()
    n_total = len(values)
    note = ""
    if len(complete) < 2 or complete.to_numpy().std() == 0 or len(times) < 3:
        stat, p, test = np.nan, np.nan, "not testable: fewer than 2 complete cases, 3 time points or constant"
    else:
        res = stats.friedman(*[complete[t].to_numpy() for t in times])
        stat, p, test = res.statistic, res.pvalue, "friedman"
    if len(complete) < n_total:
        note = f"Friedman on {len(complete)} of {n_total} patients with every time point"
    base = times[0]
    pw = []
    for t in times[1:]:
        pair = values[[base, t]].dropna()
        d = (pair[t] - pair[base]).to_numpy()
        nz = d[d != 0]
        row = dict(time=labels[t], baseline=labels[base], n_pairs=len(pair), n_nonzero=int(nz.size),
                   median_difference=float(np.median(d)) if d.size else np.nan)
        if nz.size == 0:
            row.update(test="not testable: no non-zero differences", statistic=np.nan, z=np.nan, p_value=np.nan)
        else:
            r = stats.wilcoxon_signed_rank(d)
            row.update(test="wilcoxon", statistic=r.statistic, z=r.zstatistic, p_value=r.pvalue)
        pw.append(row)
    pairwise = pd.DataFrame(pw)
    pairwise["p_holm" if adjust == "holm" else "q_value"] = stats.adjust_pvalues(
        pairwise["p_value"].to_numpy(dtype=float), adjust)
    return PairedResult(test=test, statistic=stat, df=len(times) - 1, p_value=p, n_complete=len(complete),
                        n_total=n_total, summary=summary, pairwise=pairwise, note=note)
