"""The open test registry: a test registered from a notebook in a few lines runs by its name in
``compare_groups(tests=...)`` and Table 2 prints it with its mark and legend; a function runs too.

The worked example is read from docs/architecture.md, so the documented lines are the tested ones.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from msc_sle import stats
from msc_sle.compare import compare_groups
from msc_sle.present.format import format_p
from msc_sle.present.tables import comparison_table

DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


@pytest.fixture()
def frame():
    # two groups of five whose spreads differ (the case Brunner-Munzel is for)
    return pd.DataFrame({
        "cr_ever": pd.array([True] * 5 + [False] * 5, dtype="boolean"),
        "age_years": [30.0, 31, 32, 33, 34, 20, 28, 36, 44, 52],
        "prior_cyc": pd.array([True, True, True, False, False, True, False, False, False, False],
                              dtype="boolean"),
    })


@pytest.fixture()
def registry():
    """Leave the registry as found: a test's registration must not leak into the next test."""
    before = set(stats.TESTS)
    yield stats
    for name in set(stats.TESTS) - before:
        stats.unregister_test(name)


def _example() -> str:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- registry-example -->\n```python\n(.*?)```", text, re.S)
    assert block, "docs/architecture.md lost its registry example"
    return block.group(1)


def test_documented_example_registers_a_test_in_five_lines(frame, registry):
    code = _example()
    assert len([line for line in code.splitlines() if line.strip()]) <= 5
    scope = {"frame": frame}
    exec(compile(code, str(DOC), "exec"), scope)
    table2 = scope["table2"]
    age = frame["age_years"].to_numpy()
    expected = scipy.stats.brunnermunzel(age[:5], age[5:]).pvalue
    row = table2.body[table2.body.iloc[:, 0].str.startswith("Age")].iloc[0]
    assert row["p value"] == format_p(expected) + "§"
    assert any("§ Brunner-Munzel test (two-sided, t approximation)." in note for note in table2.footnotes)
    tidy = table2.tidy.set_index("variable")
    assert tidy.loc["age_years", "test"] == "brunner_munzel"
    assert tidy.loc["prior_cyc", "test"] in ("chi2", "fisher")  # the others keep the rule's test
    assert stats.TESTS["brunner_munzel"].label == "Brunner-Munzel"
    # the rule's sentence names Mann-Whitney for continuous variables: it must say another test was used
    rule = next(note for note in table2.footnotes if note.startswith("Tests "))
    assert "Mann-Whitney U for continuous" in rule and "Other tests used on some rows instead: Brunner-Munzel" in rule


def test_a_function_runs_on_the_counts_of_a_categorical_variable(frame):
    seen = []

    def odd_test(table):
        seen.append(np.asarray(table))
        return stats.TestResult("odd_test", 1.5, 0.25, df=1)

    result = compare_groups(frame, "cr_ever", ["prior_cyc"], tests={"prior_cyc": odd_test})
    row = result.table.iloc[0]
    assert (row["test"], row["statistic"], row["df"], row["p_value"]) == ("odd_test", 1.5, 1, 0.25)
    # responders first; prior CYC yes / no, counted by hand from the fixture
    assert seen[0].tolist() == [[3, 2], [1, 4]]
    with pytest.raises(ValueError, match="no footnote mark for test 'odd_test'"):
        comparison_table(result)
    assert comparison_table(result, marks={"odd_test": "#"}).body["p value"].str.endswith("#").any()


def test_a_registered_function_runs_under_its_registered_name(frame):
    by_function = compare_groups(frame, "cr_ever", ["prior_cyc"], tests={"prior_cyc": stats.yates_chi2})
    by_name = compare_groups(frame, "cr_ever", ["prior_cyc"], tests={"prior_cyc": "chi2_yates"})
    pd.testing.assert_frame_equal(by_function.table, by_name.table)


def test_the_registry_refuses_what_would_make_a_name_mean_two_things(frame, registry):
    def run(*samples):
        return stats.TestResult("t", 0.0, 0.5)

    registry.register_test("my_continuous", run, label="Mine", description="my test", kind="continuous", mark="¶")
    with pytest.raises(ValueError, match="already registered"):
        registry.register_test("my_continuous", run, label="Mine", description="my test", kind="continuous")
    with pytest.raises(ValueError, match="mark '¶' already marks test 'my_continuous'"):
        registry.register_test("other", run, label="Other", description="other", kind="continuous", mark="¶")
    with pytest.raises(ValueError, match="kind 'ordinal'"):
        registry.register_test("other", run, label="Other", description="other", kind="ordinal")
    with pytest.raises(ValueError, match="'mann_whitney' is a built-in test"):
        registry.unregister_test("mann_whitney")
    with pytest.raises(ValueError, match="does not apply to the categorical variable 'prior_cyc'"):
        compare_groups(frame, "cr_ever", ["prior_cyc"], tests={"prior_cyc": "my_continuous"})
    assert compare_groups(frame, "cr_ever", ["age_years"],
                          tests={"age_years": "my_continuous"}).table["test"].iloc[0] == "my_continuous"


def test_a_function_must_return_a_test_result(frame):
    with pytest.raises(TypeError, match="returned float, not a msc_sle.stats.TestResult"):
        compare_groups(frame, "cr_ever", ["age_years"], tests={"age_years": lambda x, y: 0.5})


def test_built_in_marks_live_in_the_registry():
    marks = {name: info.mark for name, info in stats.TESTS.items() if info.mark}
    assert marks == {"fisher": "*", "fisher_freeman_halton": "†", "chi2_yates": "‡"}
