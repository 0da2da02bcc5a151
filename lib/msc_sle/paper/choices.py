"""The tests the paper used, and the workbook's default: compare as the paper compared.

Section 2.5 states Mann-Whitney U for continuous variables and "the chi-square test" for
categorical ones; Table 2 marks the rows where Fisher's exact test was used instead (``*``). The
marks do not follow the usual "expected count below 5" rule: Table 2 uses Pearson's chi-square on
ten rows whose smallest expected count is below 5 and Fisher's test on Rash, whose smallest is 5.8
(data/README.md, reading 8). ``test_rule="paper"`` reproduces that choice, read row by row from the
transcription (``data/published/``); a comparison the paper does not print (the other outcomes,
the variables without a printed p) gets section 2.5's stated test. Those choices were made for the
paper's 69 patients: on any other extract (one whose manifest does not say ``paper_cohort``)
``test_rule="paper"`` means the engine's documented rule, :data:`RULE_ELSEWHERE`. Any other rule
(:data:`msc_sle.compare.TEST_RULES`) is applied as stated, and the paper's choice is computed
beside it wherever the two differ, so a table can show both p-values.
"""
from __future__ import annotations

from ..compare import TEST_RULES, Comparison, summarise
from ..contract import as_dictionary
from ..present.format import format_p
from .audit import recheck_pvalues
from .published import load_published, select_published

__all__ = ["TEST_RULE_CHOICES", "STATED_TESTS", "RULE_ELSEWHERE", "paper_tests", "table_test_rule",
           "compare_as_the_paper", "printed_test_slips"]

#: ``test_rule`` values: the paper's own choice, or one of the comparison engine's rules.
TEST_RULE_CHOICES = ("paper",) + tuple(TEST_RULES)
#: The tests section 2.5 names, by kind of variable.
STATED_TESTS = {"categorical": "chi2", "continuous": "mann_whitney"}
_TESTS = ("chi2", "fisher", "mann_whitney")
#: What ``test_rule="paper"`` applies to an extract that is not the paper's cohort: the comparison
#: engine's default (README, "Tests"): Fisher's exact test when an expected count is below 5.
RULE_ELSEWHERE = "expected_lt_5"


def table_test_rule(test_rule: str, paper_cohort: bool) -> str:
    """The rule that chooses Table 2's tests: ``test_rule``, except that the paper's row-by-row
    choices (``"paper"``) hold for the paper's cohort only; elsewhere :data:`RULE_ELSEWHERE`."""
    if test_rule not in TEST_RULE_CHOICES:
        raise ValueError(f"unknown test_rule {test_rule!r}; use one of {', '.join(TEST_RULE_CHOICES)}")
    return RULE_ELSEWHERE if test_rule == "paper" and not paper_cohort else test_rule


def paper_tests(outcome: str, variables, published=None, dictionary=None) -> dict[str, str]:
    """``{variable: test}``: the test the paper used for the comparison of ``variable`` by
    ``outcome`` ("cr", "lda", ...): the test a printed p-value is marked with (a table's mark
    before the text's), section 2.5's stated test for a p the paper prints without naming its test
    and for every comparison it does not print. Variables outside the data dictionary, and its text
    and date variables (never compared), are left out."""
    pub = load_published() if published is None else published
    d = as_dictionary(dictionary)
    rows = select_published(pub, outcome=outcome, statistic="p_value")
    marked: dict[str, str] = {}
    for r in sorted(rows.to_dict("records"), key=lambda r: not str(r["source"]).startswith("Table")):
        if r["test_marked"] in _TESTS:
            marked.setdefault(r["variable"], r["test_marked"])
    out = {}
    for name in variables:
        measure = d.get(name).measure if name in d else None
        if measure is not None:
            out[name] = marked.get(name, STATED_TESTS[measure])
    return out


def compare_as_the_paper(frame, by: str, outcome: str, test_rule: str = "paper", variables=None, *,
                         labels=None, effect_sizes: bool = True, adjust: str | None = None,
                         published=None, paper_choice: dict[str, str] | None = None, paper_cohort: bool = True,
                         families=None, dictionary=None) -> Comparison:
    """The comparison of ``frame`` by ``by`` as a table of the workbook prints it.

    ``test_rule="paper"``: every p-value under the test the paper used (:func:`paper_tests` for
    ``outcome``). Another rule (``expected_lt_5``, ``cochran``, ``pearson_only``): the rule's test,
    with the paper's test and p-value beside it (``ref_test``, ``ref_p_value``) wherever they
    differ. Effect sizes and q-values (``adjust``, within each of ``families``) as
    :func:`msc_sle.compare.compare_groups`.

    ``paper_cohort=False`` (an extract other than the paper's): the paper's choices do not apply,
    ``"paper"`` becomes :data:`RULE_ELSEWHERE` (:func:`table_test_rule`) and no paper's p is put beside.
    ``paper_choice``: :func:`paper_tests` for ``outcome`` when the caller keeps it (the explorer
    compares one variable per control change, and reading the choice costs more than the test).
    ``dictionary``: the data dictionary's path (default ``data/dictionary.csv``).
    """
    test_rule = table_test_rule(test_rule, paper_cohort)
    result = summarise(frame, by, variables, labels=labels, dictionary=dictionary)
    if not paper_cohort:
        result = result.add_p(test_rule)
        if effect_sizes:
            result = result.add_effect()
        return result.add_q(adjust, families=families) if adjust else result
    names = [s.spec.name for s in result.summaries]
    used = paper_tests(outcome, names, published, dictionary) if paper_choice is None else \
        {n: paper_choice[n] for n in names if n in paper_choice}
    if test_rule == "paper":
        # every variable has its test, so the rule never decides ("pearson_only" is section 2.5's)
        result = result.add_p("pearson_only", tests=used, rule_name="paper")
    else:
        result = result.add_p(test_rule, reference_tests=used, reference="paper")
    if effect_sizes:
        result = result.add_effect()
    return result.add_q(adjust, families=families) if adjust else result


def printed_test_slips(outcome: str, published=None) -> dict[str, str]:
    """``{variable: note}`` for the printed p-values of ``outcome`` that the test the paper marks
    does not give from its own printed counts, but another test does (data/README.md, reading 8):
    a table that shows the marked test's p footnotes the row with this note, in a reader's words."""
    checks = recheck_pvalues(published)
    checks = checks[(checks["outcome"] == outcome) & ~checks["marked_agrees"] & (checks["agreeing"] != "")]
    words = {"chi2": "Pearson's chi-square", "chi2_yates": "Yates-corrected chi-square", "fisher": "Fisher's exact test"}
    notes = {}
    for r in checks.to_dict("records"):
        others = " or ".join(words.get(t.strip(), t.strip()) for t in r["agreeing"].split(","))
        marked = words.get(r["test_marked"], r["test_marked"])
        marked_p = r.get(f"p_{r['test_marked']}", float("nan"))
        notes.setdefault(r["variable"], (
            f"the paper's {r['source']} prints p = {r['printed']} for this row under {marked}, but from the "
            f"paper's own counts that test gives p = {format_p(marked_p)}; only {others} gives {r['printed']}, "
            "a slip of the paper."))
    return notes
