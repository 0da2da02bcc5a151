"""The paper's published numbers (Wen et al. 2019), as transcribed in ``data/published/``.

Every number the paper prints about its cohort lives in one tidy CSV, one row per printed value,
with its source (table, row, section). This module reads it, checks it, and picks blocks out of
it; the audit (:mod:`msc_sle.paper.audit`) and the reproduction comparison (:mod:`msc_sle.paper.reproduction`)
are its only clients. No published value is typed anywhere else in the library.

>>> from msc_sle.paper.published import load_published, matches_printed
>>> pub = load_published()
>>> sorted(set(pub["statistic"]))
['max', 'median', 'min', 'n', 'p_value', 'percent']
>>> matches_printed(0.0027, "0.003"), matches_printed(0.0007, "<0.001")
(True, True)
"""
from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

from ..contract import PUBLISHED_DIR, Problem
from ..present.format import round_half_up

__all__ = ["PUBLISHED_PATH", "PUBLISHED_COLUMNS", "PublishedValuesError", "load_published", "printed_decimals",
           "matches_printed", "select_published", "group_sizes", "group_comparison",
           "transcription_problems", "CLAIMS_PATH", "CLAIM_COLUMNS", "CLAIM_KINDS", "ClaimsError", "load_claims",
           "claim_list", "claims_problems"]

PUBLISHED_PATH = PUBLISHED_DIR / "wen2019_values.csv"
#: The text's statements about significance, beside the values (data/published/README.md).
CLAIMS_PATH = PUBLISHED_DIR / "wen2019_claims.csv"

#: Columns of the transcription, in file order (data/published/README.md explains each one).
PUBLISHED_COLUMNS = ("source", "location", "variable", "outcome", "group", "level", "statistic",
                     "comparator", "value", "printed", "test_marked", "note")

_GROUPS = ("all", "with", "without")
_STATISTICS = ("n", "percent", "median", "min", "max", "p_value")
_COMPARATORS = ("=", "<")
# Test names as msc_sle.compare spells them; "unspecified" = the paper names no test for that p.
_TESTS = ("chi2", "fisher", "mann_whitney", "unspecified")
_SUMMARY = ("median", "min", "max")


class PublishedValuesError(ValueError):
    """The published-values file is malformed; ``problems`` lists every problem (file line numbers)."""

    what = "published-values"

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        lines = [f"The {self.what} file is malformed ({len(self.problems)} problem(s)):"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


def printed_decimals(printed: str) -> int:
    """Number of decimals a printed value carries (``"43.40"`` -> 2, ``"<0.001"`` -> 3, ``"58%"`` -> 0)."""
    text = _strip(printed)
    return len(text.split(".", 1)[1]) if "." in text else 0


def matches_printed(computed: float | Fraction, printed: str) -> bool:
    """Does ``computed`` reproduce ``printed`` at the printed precision?

    ``computed`` rounded half up to the printed number of decimals must equal the printed number
    (``"%"`` ignored). ``"<0.001"`` is how the paper prints SPSS's three-decimal ``.000``: it is
    matched by a value that rounds to zero at three decimals, i.e. below 0.0005 (data/README.md,
    reading 7; 0.0005 to 0.001 prints ``0.001``, as arthralgia's CR p does).
    """
    if computed is None or (isinstance(computed, float) and math.isnan(computed)):
        return False
    text = str(printed).strip()
    if text.startswith("<"):
        return round_half_up(computed, printed_decimals(text)) == 0
    return round_half_up(computed, printed_decimals(text)) == float(_strip(text))


def _strip(printed: str) -> str:
    return str(printed).strip().lstrip("<").rstrip("%").strip()


def load_published(path: str | Path | None = None) -> pd.DataFrame:
    """The transcription as a typed DataFrame, checked row by row.

    Text columns are ``string`` dtype with ``""`` for "not applicable" (never missing), ``value`` is
    float64 and ``decimals`` (Int64, derived) the number of decimals of ``printed``. A malformed file
    raises :class:`PublishedValuesError` listing every problem with its line number.
    """
    path = Path(path) if path is not None else PUBLISHED_PATH
    if not path.exists():
        raise PublishedValuesError([Problem(str(path), None, None, None, "published values file not found")])
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in PUBLISHED_COLUMNS if c not in raw.columns]
    extra = [c for c in raw.columns if c not in PUBLISHED_COLUMNS]
    if missing or extra:
        raise PublishedValuesError([Problem(path.name, None, c, None, "required column missing") for c in missing]
                        + [Problem(path.name, None, c, None, "unknown column") for c in extra])
    raw = raw[list(PUBLISHED_COLUMNS)].apply(lambda s: s.str.strip())
    problems = _row_problems(raw, path.name)
    if problems:
        raise PublishedValuesError(problems)
    out = raw.astype("string")
    out["value"] = raw["value"].astype(float)
    out["decimals"] = pd.array([printed_decimals(p) for p in raw["printed"]], dtype="Int64")
    return out


def _row_problems(raw: pd.DataFrame, name: str) -> list[Problem]:
    problems: list[Problem] = []
    for i, row in enumerate(raw.itertuples(index=False)):
        line = i + 2  # header is line 1

        def bad(column, rule):
            problems.append(Problem(name, line, column, getattr(row, column), rule))

        for column in ("source", "location", "variable", "statistic", "value", "printed"):
            if getattr(row, column) == "":
                bad(column, "must not be empty")
        if row.statistic not in _STATISTICS and row.statistic:
            bad("statistic", f"must be one of {', '.join(_STATISTICS)}")
        if row.comparator not in _COMPARATORS:
            bad("comparator", "must be '=' or '<'")
        if row.test_marked and row.test_marked not in _TESTS:
            bad("test_marked", f"must be empty or one of {', '.join(_TESTS)}")
        if row.statistic == "p_value":
            # Either a comparison of an outcome's groups (group empty), or a test within the whole
            # cohort such as SLEDAI over time (outcome empty, group 'all').
            if row.outcome and row.group:
                bad("group", "must be empty on a p_value row comparing an outcome's groups")
            if not row.outcome and row.group != "all":
                bad("group", "a p_value row without outcome is a whole-cohort test: group must be 'all'")
            if not row.test_marked:
                bad("test_marked", "a p_value row names the test the paper used (or 'unspecified')")
        else:
            if row.group not in _GROUPS:
                bad("group", f"must be one of {', '.join(_GROUPS)}")
            if row.test_marked:
                bad("test_marked", "only p_value rows carry a test")
            if row.group in ("with", "without") and not row.outcome:
                bad("outcome", "a with/without row names the outcome defining the groups")
        try:
            value = float(row.value)
        except ValueError:
            bad("value", "not a number")
            continue
        try:
            shown = float(_strip(row.printed))
        except ValueError:
            bad("printed", "not a number once '<' and '%' are removed")
            continue
        if shown != value:
            bad("printed", f"does not equal value {row.value}")
        if (row.comparator == "<") != row.printed.startswith("<"):
            bad("comparator", "must be '<' exactly when printed starts with '<'")
        if row.statistic in ("n",) and (value < 0 or value != int(value)):
            bad("value", "a count must be a non-negative integer")
        if row.statistic == "percent" and not 0 <= value <= 100:
            bad("value", "a percentage must lie in 0-100")
        if row.statistic == "p_value" and not 0 <= value <= 1:
            bad("value", "a p-value must lie in 0-1")
    key = list(PUBLISHED_COLUMNS[:7])
    dup = raw.duplicated(key, keep="first")
    for i in raw.index[dup]:
        problems.append(Problem(name, int(i) + 2, None, None,
                                "duplicate of an earlier row (same source, location, variable, outcome, "
                                "group, level, statistic)"))
    return problems


def select_published(published: pd.DataFrame | None = None, **where) -> pd.DataFrame:
    """Rows whose columns equal the given values; a list or tuple value means "any of these".

    >>> sorted(set(select_published(source="Table 2", statistic="p_value")["test_marked"]))
    ['chi2', 'fisher', 'mann_whitney']
    """
    pub = load_published() if published is None else published
    for column in where:
        if column not in pub.columns:
            raise KeyError(f"{column!r} is not a column of the published values "
                           f"(columns: {', '.join(pub.columns)})")
    return pub[_mask(pub, where)]


def _mask(pub: pd.DataFrame, where: dict) -> np.ndarray:
    # Plain numpy comparisons: the audit filters this small frame hundreds of times.
    mask = np.ones(len(pub), dtype=bool)
    for column, wanted in where.items():
        values = list(wanted) if isinstance(wanted, (list, tuple, set)) else [wanted]
        col = pub[column].to_numpy(dtype=object)
        hit = np.zeros(len(pub), dtype=bool)
        for v in values:
            hit |= col == v
        mask &= hit
    return mask


def group_sizes(published: pd.DataFrame | None = None, source: str = "Table 2",
                outcome: str = "cr") -> dict[str, int]:
    """Group sizes ``{"with": n, "without": n}`` of a comparison, from its header row.

    When the source prints no header (section 3.3 for LDA), the sizes are derived from the overall
    count of ``<outcome>_ever`` and the cohort size of Table 1; a KeyError says when neither exists.
    """
    pub = load_published() if published is None else published
    head = select_published(pub, source=source, outcome=outcome, location="header", statistic="n")
    if set(head["group"]) >= {"with", "without"}:
        return {g: int(head.loc[head["group"] == g, "value"].iloc[0]) for g in ("with", "without")}
    ever = select_published(pub, variable=f"{outcome}_ever", group="all", level="", statistic="n")
    total = select_published(pub, variable="n", group="all", statistic="n")
    if ever.empty or total.empty:
        raise KeyError(f"no group sizes for outcome {outcome!r} in {source!r}: no header row and no "
                       f"overall count of {outcome}_ever")
    k = int(_prefer_tables(ever)["value"].iloc[0])
    n = int(_prefer_tables(total)["value"].iloc[0])
    return {"with": k, "without": n - k}


def _prefer_tables(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows ordered so that tables come before text (the tables are the reference)."""
    order = rows["source"].map(lambda s: (0 if s.startswith("Table") else 1, s))
    return rows.assign(_o=order).sort_values("_o", kind="stable").drop(columns="_o")


def group_comparison(published: pd.DataFrame | None = None, source: str = "Table 2",
                     outcome: str = "cr") -> pd.DataFrame:
    """A comparison block (Table 2 by default) as one row per variable and level, both groups side by side.

    Columns: ``location, variable, level, kind`` (categorical|continuous), per group ``n_with,
    percent_with, median_with, min_with, max_with`` and the same ``_without``, then the variable's
    ``p_value, p_comparator, p_printed, p_decimals, test_marked, p_location``. A multi-level variable
    (prednisone split, lupus nephritis class, CYC induction dose) prints one p-value for the whole
    variable; it is repeated on each of its level rows.
    """
    pub = load_published() if published is None else published
    block = select_published(pub, source=source, outcome=outcome)
    recs = [r for r in block.to_dict("records") if r["location"] != "header"]
    if not recs:
        raise KeyError(f"no comparison rows for outcome {outcome!r} in {source!r}")
    p_rows = {r["variable"]: r for r in recs if r["statistic"] == "p_value"}
    cells: dict = {}
    for r in recs:
        if r["statistic"] != "p_value":
            cells.setdefault((r["location"], r["variable"], r["level"]), {})[(r["group"], r["statistic"])] = r["value"]
    records = []
    for (location, variable, level), got in cells.items():
        rec = {"location": location, "variable": variable, "level": level,
               "kind": "continuous" if any(stat in _SUMMARY for _, stat in got) else "categorical"}
        for group in ("with", "without"):
            for stat in ("n", "percent", "median", "min", "max"):
                rec[f"{stat}_{group}"] = float(got.get((group, stat), math.nan))
        p = p_rows.get(variable)
        if p is not None:
            rec.update(p_value=float(p["value"]), p_comparator=p["comparator"], p_printed=p["printed"],
                       p_decimals=int(p["decimals"]), test_marked=p["test_marked"], p_location=p["location"])
        else:
            rec.update(p_value=math.nan, p_comparator="", p_printed="", p_decimals=pd.NA, test_marked="",
                       p_location="")
        records.append(rec)
    out = pd.DataFrame.from_records(records)
    out["p_decimals"] = out["p_decimals"].astype("Int64")
    return out


def transcription_problems(published: pd.DataFrame | None = None) -> list[str]:
    """Ways the transcription is incomplete; ``[]`` when every block is whole.

    Checked: every comparison variable (rows with groups ``with``/``without``) in a table has both
    groups for each level and statistic and exactly one p-value (one per variable, also for
    multi-level variables); a comparison table has a header with both group sizes; in a table every
    percentage has its count and every count its percentage (unless the note says the table prints
    no percentage); every median comes with its min and max; a table's overall rows (group ``all``)
    are counts with percentages or median (range).
    """
    pub = load_published() if published is None else published
    problems: list[str] = []
    tables = pub[pub["source"].str.startswith("Table")]
    for (source, outcome), block in tables[tables["outcome"] != ""].groupby(["source", "outcome"], sort=False):
        head = block[(block["location"] == "header") & (block["statistic"] == "n")]
        if set(head["group"]) != {"with", "without"}:
            problems.append(f"{source} ({outcome}): header must give n for both groups 'with' and 'without'")
        body = block[block["location"] != "header"]
        for variable, rows in body.groupby("variable", sort=False):
            stats_rows = rows[rows["statistic"] != "p_value"]
            for (level, stat), cell in stats_rows.groupby(["level", "statistic"], sort=False):
                groups = set(cell["group"])
                if groups != {"with", "without"}:
                    problems.append(f"{source} ({outcome}) {variable} level {level!r} {stat}: groups "
                                    f"{sorted(groups)}, expected both 'with' and 'without'")
            n_p = int((rows["statistic"] == "p_value").sum())
            if n_p != 1:
                problems.append(f"{source} ({outcome}) {variable}: {n_p} p-value rows, expected exactly one")
    for (source, location, variable, group, level), rows in tables.groupby(
            ["source", "location", "variable", "group", "level"], sort=False):
        stats = set(rows["statistic"])
        where = f"{source} {location!r} {variable} group {group} level {level!r}"
        if "percent" in stats and "n" not in stats:
            problems.append(f"{where}: a percentage without its count")
        no_pct_note = rows["note"].str.contains("no percentage", case=False).any()
        if "n" in stats and "percent" not in stats and location != "header" and not no_pct_note:
            problems.append(f"{where}: a count without its percentage")
        if stats & set(_SUMMARY) and not set(_SUMMARY) <= stats:
            problems.append(f"{where}: median (range) incomplete, has {sorted(stats & set(_SUMMARY))}")
        if group == "all" and location != "header" and not ({"n", "percent"} <= stats or set(_SUMMARY) <= stats
                                                            or ("n" in stats and no_pct_note)):
            problems.append(f"{where}: an overall row needs n (%) or median (range)")
    return problems


# --- the text's claims ----------------------------------------------------------------------------

#: Columns of the claims file, in file order (data/published/README.md explains each one).
CLAIM_COLUMNS = ("source", "location", "outcome", "claim", "variables", "direction", "excluded", "stated_test",
                 "alpha", "quote", "note")
#: ``method``: the test the paper states for a kind of variable (``variables`` = ``categorical`` or
#: ``continuous``) and its significance level; ``significant`` / ``not_significant``: the comparison
#: of each listed variable reached / did not reach p < alpha; ``only_significant``: the listed
#: variables are the only ones that did (every other variable of the tables, minus ``excluded``);
#: ``all_reached``: every patient with the variable reached the outcome.
CLAIM_KINDS = ("method", "significant", "not_significant", "only_significant", "all_reached")
_KINDS_OF_VARIABLE = ("categorical", "continuous")
_DIRECTIONS = ("higher", "lower")
_CATEGORICAL_TESTS = ("chi2", "chi2_yates", "fisher")


class ClaimsError(PublishedValuesError):
    """The claims file is malformed; ``problems`` lists every problem (file line numbers)."""

    what = "claims"


def claim_list(text: str) -> list[str]:
    """A ``;``-separated cell of the claims file as a list (``""`` -> ``[]``)."""
    return [v.strip() for v in str(text).split(";") if v.strip()]


def load_claims(path: str | Path | None = None) -> pd.DataFrame:
    """The text's claims about significance, one row per claim, checked row by row.

    Text columns are ``string`` with ``""`` for "not applicable"; ``alpha`` is float64 (NaN except on
    ``method`` rows); ``variables`` and ``excluded`` stay ``;``-separated (:func:`claim_list`). A
    malformed file raises :class:`ClaimsError` listing every problem with its line number. Whether
    the variables exist in the values file is :func:`claims_problems`' job.
    """
    path = Path(path) if path is not None else CLAIMS_PATH
    if not path.exists():
        raise ClaimsError([Problem(str(path), None, None, None, "claims file not found")])
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in CLAIM_COLUMNS if c not in raw.columns]
    extra = [c for c in raw.columns if c not in CLAIM_COLUMNS]
    if missing or extra:
        raise ClaimsError([Problem(path.name, None, c, None, "required column missing") for c in missing]
                          + [Problem(path.name, None, c, None, "unknown column") for c in extra])
    raw = raw[list(CLAIM_COLUMNS)].apply(lambda s: s.str.strip())
    problems = _claim_problems(raw, path.name)
    if problems:
        raise ClaimsError(problems)
    out = raw.astype("string")
    out["alpha"] = pd.to_numeric(raw["alpha"].replace("", np.nan)).astype(float)
    return out


def _claim_problems(raw: pd.DataFrame, name: str) -> list[Problem]:
    problems: list[Problem] = []
    kinds_seen: dict[str, int] = {}
    alphas: dict[str, int] = {}
    for i, row in enumerate(raw.itertuples(index=False)):
        line = i + 2

        def bad(column, rule):
            problems.append(Problem(name, line, column, getattr(row, column), rule))

        for column in ("source", "location", "claim", "variables", "quote"):
            if getattr(row, column) == "":
                bad(column, "must not be empty")
        if row.claim not in CLAIM_KINDS:
            bad("claim", f"must be one of {', '.join(CLAIM_KINDS)}")
            continue
        variables = claim_list(row.variables)
        if row.claim == "method":
            if row.outcome:
                bad("outcome", "a method row states a test for every comparison: leave it empty")
            if len(variables) != 1 or variables[0] not in _KINDS_OF_VARIABLE:
                bad("variables", f"a method row names one kind of variable: {' or '.join(_KINDS_OF_VARIABLE)}")
            elif variables[0] in kinds_seen:
                bad("variables", f"a second method row for {variables[0]} variables (first on line "
                                 f"{kinds_seen[variables[0]]})")
            else:
                kinds_seen[variables[0]] = line
            if not row.stated_test:
                bad("stated_test", "a method row names the test the paper states")
            elif variables == ["categorical"] and row.stated_test not in _CATEGORICAL_TESTS:
                bad("stated_test", f"a categorical test is one of {', '.join(_CATEGORICAL_TESTS)}")
            try:
                alpha = float(row.alpha)
                if not 0 < alpha < 1:
                    bad("alpha", "must lie strictly between 0 and 1")
                alphas.setdefault(row.alpha, line)
                if len(alphas) > 1:
                    bad("alpha", f"the paper has one significance level; line {min(alphas.values())} "
                                 f"gives {min(alphas, key=alphas.get)}")
            except ValueError:
                bad("alpha", "a method row gives the significance level as a number")
        else:
            if not row.outcome:
                bad("outcome", "names the outcome whose groups the claim compares")
            if row.stated_test:
                bad("stated_test", "only method rows state a test (the claim is judged by them)")
            if row.alpha:
                bad("alpha", "only method rows give the significance level")
        if row.direction and (row.claim != "significant" or len(variables) != 1):
            bad("direction", "only a 'significant' claim about one variable has a direction")
        elif row.direction and row.direction not in _DIRECTIONS:
            bad("direction", f"must be empty or one of {', '.join(_DIRECTIONS)}")
        if row.excluded and row.claim != "only_significant":
            bad("excluded", "only an 'only_significant' claim excludes variables from its scope")
        overlap = set(variables) & set(claim_list(row.excluded))
        if overlap:
            bad("excluded", f"excludes variables it also names: {', '.join(sorted(overlap))}")
    return problems


def claims_problems(claims: pd.DataFrame | None = None, published: pd.DataFrame | None = None) -> list[str]:
    """Ways the claims do not fit the values transcription; ``[]`` when they fit.

    Every variable a claim names (or excludes) is a variable of the transcription and every
    outcome an outcome of it (method rows name kinds of variables, not variables).
    """
    claims = load_claims() if claims is None else claims
    pub = load_published() if published is None else published
    variables = set(pub["variable"])
    outcomes = set(pub["outcome"]) - {""}
    problems = []
    for i, row in enumerate(claims.to_dict("records")):
        where = f"claim {i + 1} ({row['source']}, {row['claim']})"
        if row["claim"] == "method":
            continue
        if row["outcome"] not in outcomes:
            problems.append(f"{where}: outcome {row['outcome']!r} is not an outcome of the transcription")
        for v in claim_list(row["variables"]) + claim_list(row["excluded"]):
            if v not in variables:
                problems.append(f"{where}: variable {v!r} is not in the transcription")
    return problems
