"""The reproduction and the paper audit as ``06_reproduction`` prints them: clinical headers, every
number formatted once, explanations in full."""
from __future__ import annotations

import pandas as pd

from ..present.tables import PublicationTable, plain_table
from .records import variable_words
from .reproduction import CHECK_WORDS, ReproductionResult

__all__ = ["score_table", "differences_table", "not_computed_table", "printed_reproduction", "audit_summary_table",
           "audit_findings_table", "printed_audit", "variable_words", "response_words", "STATISTIC_WORDS",
           "CLAIM_WORDS"]

#: How a published statistic is named on a page.
STATISTIC_WORDS = {"n": "count", "percent": "percentage", "median": "median", "min": "minimum", "max": "maximum",
                   "p_value": "p-value"}
#: How a claim of the text (data/published/wen2019_claims.csv, ``claim``) is named on a page.
CLAIM_WORDS = {"significant": "associated (p < 0.05)", "not_significant": "not associated",
               "only_significant": "only these associated", "all_reached": "all reached the response",
               "method": "the statistical method"}
_SCORE_NOTE = ("Reproduced: the value the workbook's tables print (same computation, default parameters), "
               "rounded half up to the precision the paper printed it with, equals the printed value "
               "(exact, or within rounding).")


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


def response_words(outcome: str, group: str = "") -> str:
    """The response a published value concerns ("patients with CR", "LDA"), or "" for the whole cohort."""
    if not str(outcome or ""):
        return ""
    name = str(outcome).upper()
    return f"patients {group} {name}" if group in ("with", "without") else name


def _words(table: pd.DataFrame) -> pd.DataFrame:
    # the statistic's words go in a column of their own: the tidy data (data.csv) keeps the codes
    # programs select on ("n", "p_value")
    return table.assign(statistic_words=[STATISTIC_WORDS.get(s, s) for s in table["statistic"]],
                        what=[variable_words(v, lv) for v, lv in zip(table["variable"], table["level"])],
                        response=[response_words(o, g) for o, g in zip(table["outcome"], table["group"])])


def differences_table(result: ReproductionResult) -> PublicationTable:
    """Every published value the workbook does not reproduce: which variable, for which response,
    and what explains the difference."""
    rows = _words(result.table[result.table["status"] == "differs"])
    return plain_table(rows, "The published values that differ", columns={
        "source": "Printed in", "what": "Variable", "response": "Response", "statistic_words": "Value",
        "published": "Paper prints", "shown": "Workbook prints", "test": "Test", "note": "Why"},
        formats={"test": "test"})


def not_computed_table(result: ReproductionResult) -> PublicationTable | None:
    """The published values the workbook could not compute on this cohort, and why; None when it
    computes every one (the page then says so in a sentence, not with an empty table)."""
    rows = _words(result.table[result.table["status"] == "not computed"])
    if not len(rows):
        return None
    return plain_table(rows, "Published values not computed on this cohort", columns={
        "source": "Printed in", "what": "Variable", "response": "Response", "statistic_words": "Value", "note": "Why"})


def printed_reproduction(result: ReproductionResult) -> PublicationTable:
    """Every published value beside the workbook's, as a reader compares them (the tidy columns stay
    behind it, in its ``data.csv``)."""
    rows = _words(result.table)
    return plain_table(rows, "Every published value beside the workbook's, with its status and explanation",
                       columns={"source": "Printed in", "location": "Where", "what": "Variable",
                                "response": "Response", "statistic_words": "Value", "published": "Paper prints",
                                "shown": "Workbook prints", "test": "Test", "status": "Status", "note": "Why"},
                       formats={"test": "test"})


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
    rows = rows.assign(check=[CHECK_WORDS.get(c, str(c).replace("_", " ")) for c in rows["check"]],
                       published=[CLAIM_WORDS.get(p, p) if c == "claim" else p
                                  for c, p in zip(rows["check"], rows["published"])])
    return plain_table(rows, "Paper audit: the slips and contradictions found", columns={
        "severity": "Severity", "check": "Check", "source": "Printed in", "location": "Where",
        "published": "Paper prints", "finding": "Finding"})


def printed_audit(audit: pd.DataFrame) -> PublicationTable:
    """Every check of the paper audit as a reader reads it (the tidy columns stay behind it)."""
    rows = audit.assign(check=[CHECK_WORDS.get(c, str(c).replace("_", " ")) for c in audit["check"]],
                        what=[variable_words(v) if str(v) else "" for v in audit["variable"]],
                        response=[response_words(o, g) for o, g in zip(audit["outcome"], audit["group"])],
                        published=[CLAIM_WORDS.get(p, p) if c == "claim" else p
                                   for c, p in zip(audit["check"], audit["published"])])
    return plain_table(rows, "The paper checked against itself, from its own numbers", columns={
        "severity": "Severity", "check": "Check", "source": "Printed in", "location": "Where", "what": "Variable",
        "response": "Response", "published": "Paper prints", "recomputed": "Recomputed", "finding": "Finding"})
