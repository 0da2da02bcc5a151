"""The reproduction and the paper audit as ``06_reproduction`` prints them: clinical headers, every
number formatted once, explanations in full."""
from __future__ import annotations

import pandas as pd

from ..present.tables import PublicationTable, plain_table
from .reproduction import ReproductionResult

__all__ = ["score_table", "reproduction_list",
           "differences_table", "not_computed_table", "audit_summary_table", "audit_findings_table",
           "STATISTIC_WORDS", "CLAIM_WORDS"]

#: How a published statistic is named on a page.
STATISTIC_WORDS = {"n": "count", "percent": "percentage", "median": "median", "min": "minimum", "max": "maximum",
                   "p_value": "p-value"}
#: How a claim of the text (data/published/wen2019_claims.csv, ``claim``) is named on a page.
CLAIM_WORDS = {"significant": "associated (p < 0.05)", "not_significant": "not associated",
               "only_significant": "only these associated", "all_reached": "all reached the response",
               "method": "the statistical method"}
_SCORE_NOTE = ("Reproduced: the value the workbook's tables print (same computation, default parameters), "
               "rounded half up to the precision the paper printed it with, equals the printed value "
               "(exact, or within rounding); see the reproduction's definition in data/published/README.md.")


def score_table(result: ReproductionResult) -> PublicationTable:
    """Per source (Table 1, Table 2, sections, ...) and overall: values, exact, within rounding,
    differ, not computed, share reproduced."""
    score = result.score.assign(source=["All sources" if src == "all" else src for src in result.score["source"]])
    columns = {"source": "Printed in", "n_values": "Values", "exact": "Exact", "within_rounding": "Within rounding",
               "differs": "Differ", "not_computed": "Not computed"}
    notes = (_SCORE_NOTE,)
    if "withheld" in score:   # make share: values withheld for circulation are counted apart
        columns["withheld"] = "Withheld"
        notes += ("Withheld: computed, but not shown in a bundle for circulation (a small count, or a value "
                  "that would give one back).",)
    columns["reproduced"] = "Reproduced"
    return plain_table(score, "Reproduction score: published values the workbook reproduces", columns=columns,
                       formats={"reproduced": "percent:1"}, footnotes=notes)


def reproduction_list(result: ReproductionResult) -> PublicationTable:
    """Every published value beside the workbook's, as printed: the paper's text and the workbook's
    (``shown``, one formatting per statistic); the numbers at full precision (``published_value``,
    ``computed``) stay in the tidy data behind it, since printed with one rule for every row a
    p-value of 0.003 would read "0"."""
    columns = {c: c for c in result.table.columns if c not in ("published_value", "computed")}
    return plain_table(result.table, "Every published value beside the workbook's", columns=columns,
                       formats={c: "text" for c in columns})


def _words(table: pd.DataFrame) -> pd.DataFrame:
    return table.assign(statistic=[STATISTIC_WORDS.get(s, s) for s in table["statistic"]])


def differences_table(result: ReproductionResult) -> PublicationTable:
    """Every published value the workbook does not reproduce, with what explains it."""
    rows = _words(result.table[result.table["status"] == "differs"])
    return plain_table(rows, "The published values that differ", columns={
        "source": "Printed in", "location": "Where", "statistic": "Value", "published": "Paper prints",
        "shown": "Workbook prints", "test": "Test", "note": "Why"}, formats={"test": "test"})


def not_computed_table(result: ReproductionResult) -> PublicationTable:
    """The published values the workbook could not compute on this cohort, and why."""
    rows = _words(result.table[result.table["status"] == "not computed"])
    return plain_table(rows, "Published values not computed on this cohort", columns={
        "source": "Printed in", "location": "Where", "statistic": "Value", "note": "Why"},
        footnotes=() if len(rows) else ("None: the workbook computes every published value on this cohort.",))


def audit_summary_table(audit: pd.DataFrame) -> PublicationTable:
    """How many findings of each severity the paper audit made."""
    counts = audit["severity"].value_counts().reindex(["major", "minor", "info"], fill_value=0)
    frame = pd.DataFrame({"severity": counts.index, "findings": counts.to_numpy()})
    return plain_table(frame, "Paper audit: findings by severity", columns={"severity": "Severity",
                                                                           "findings": "Findings"},
                       footnotes=("major: an impossibility, or a number no reading reproduces; minor: a slip that "
                                  "changes no conclusion; info: consistent, or an observation.",))


def audit_findings_table(audit: pd.DataFrame) -> PublicationTable:
    """The audit's major and minor findings in full, and its summaries (the text's claims, the
    rounding convention the paper follows)."""
    summaries = audit["check"].isin(["claim", "rounding"]) & (audit["variable"] == "")
    rows = audit[(audit["severity"] != "info") | summaries]
    rows = rows.assign(check=[str(c).replace("_", " ") for c in rows["check"]],
                       published=[CLAIM_WORDS.get(p, p) if c == "claim" else p
                                  for c, p in zip(rows["check"], rows["published"])])
    return plain_table(rows, "Paper audit: the slips and contradictions found", columns={
        "severity": "Severity", "check": "Check", "source": "Printed in", "location": "Where",
        "published": "Paper prints", "finding": "Finding"})
