"""The transcription of the paper's numbers: typed loading, completeness, printed-precision helpers."""
from __future__ import annotations

import math
import shutil
from fractions import Fraction

import pandas as pd
import pytest

from msc_sle.paper.published import (PUBLISHED_COLUMNS, PUBLISHED_PATH, PublishedValuesError, group_comparison, group_sizes, load_published, matches_printed, printed_decimals, round_half_up, select_published, transcription_problems)


@pytest.fixture(scope="module")
def pub():
    return load_published()


def _write(tmp_path, frame):
    path = tmp_path / "values.csv"
    frame.to_csv(path, index=False)
    return path


def _raw():
    return pd.read_csv(PUBLISHED_PATH, dtype=str, keep_default_na=False)


# --- loading --------------------------------------------------------------------------------------

def test_types(pub):
    assert list(pub.columns) == list(PUBLISHED_COLUMNS) + ["decimals"]
    assert pub["value"].dtype == "float64"
    assert pub["decimals"].dtype == "Int64"
    for column in PUBLISHED_COLUMNS:
        if column != "value":
            assert pub[column].dtype == "string", column
            assert not pub[column].isna().any(), f"{column}: blanks are '' not missing"


def test_value_is_the_printed_number(pub):
    raw = _raw()
    for printed, value, comparator in zip(raw["printed"], pub["value"], pub["comparator"]):
        assert float(printed.lstrip("<").rstrip("%")) == value
        assert (comparator == "<") == printed.startswith("<")


def test_decimals_follow_the_printed_text(pub):
    row = select_published(pub, source="Table 2", variable="sex", group="with", statistic="percent").iloc[0]
    assert row["decimals"] == len(row["printed"].split(".")[1])
    for printed, decimals in zip(pub["printed"], pub["decimals"]):
        text = printed.lstrip("<").rstrip("%")
        assert decimals == (len(text.split(".")[1]) if "." in text else 0)


@pytest.mark.parametrize("edit, line_rule", [
    (lambda f: f.loc.__setitem__((3, "value"), "twenty"), (5, "value")),
    (lambda f: f.loc.__setitem__((3, "printed"), "21"), (5, "printed")),
    (lambda f: f.loc.__setitem__((3, "statistic"), "mean"), (5, "statistic")),
    (lambda f: f.loc.__setitem__((3, "group"), "both"), (5, "group")),
])
def test_bad_rows_are_reported_with_their_line(tmp_path, edit, line_rule):
    frame = _raw()
    edit(frame)
    with pytest.raises(PublishedValuesError) as err:
        load_published(_write(tmp_path, frame))
    assert (err.value.problems[0].row, err.value.problems[0].column) == line_rule
    assert f"row {line_rule[0]}" in str(err.value)


def test_every_problem_of_the_file_at_once(tmp_path):
    frame = _raw()
    p_rows = frame.index[(frame["statistic"] == "p_value") & (frame["comparator"] == "=")]
    frame.loc[p_rows[0], "comparator"] = "<"           # printed has no '<'
    frame.loc[p_rows[1], "test_marked"] = ""           # a p-value must name its test
    frame = pd.concat([frame, frame.iloc[[0]]])         # duplicated row
    with pytest.raises(PublishedValuesError) as err:
        load_published(_write(tmp_path, frame))
    rules = " | ".join(p.rule for p in err.value.problems)
    assert len(err.value.problems) == 3
    assert "'<' exactly when" in rules and "names the test" in rules and "duplicate" in rules


def test_missing_column_and_missing_file(tmp_path):
    with pytest.raises(PublishedValuesError, match="column 'note'"):
        load_published(_write(tmp_path, _raw().drop(columns="note")))
    with pytest.raises(PublishedValuesError, match="not found"):
        load_published(tmp_path / "absent.csv")


# --- completeness ---------------------------------------------------------------------------------

def test_transcription_is_complete(pub):
    assert transcription_problems(pub) == []


def test_every_table2_variable_has_both_groups_and_one_p_value(pub):
    # Worked out here from the long rows, independently of group_comparison.
    t2 = select_published(pub, source="Table 2")
    body = t2[t2["location"] != "header"]
    for variable, rows in body.groupby("variable"):
        assert (rows["statistic"] == "p_value").sum() == 1, variable
        for (level, stat), cell in rows[rows["statistic"] != "p_value"].groupby(["level", "statistic"]):
            assert sorted(cell["group"]) == ["with", "without"], (variable, level, stat)
    wide = group_comparison(pub)
    assert set(wide["variable"]) == set(body["variable"])
    assert wide["p_value"].notna().all()
    cat = wide[wide["kind"] == "categorical"]
    assert cat[["n_with", "n_without", "percent_with", "percent_without"]].notna().all().all()
    cont = wide[wide["kind"] == "continuous"]
    assert cont[["median_with", "min_with", "max_with", "median_without", "min_without",
                 "max_without"]].notna().all().all()


def test_multilevel_variables_share_one_p_value(pub):
    wide = group_comparison(pub)
    multi = wide.groupby("variable").filter(lambda g: len(g) > 1)
    assert not multi.empty
    for variable, rows in multi.groupby("variable"):
        assert rows["p_printed"].nunique() == 1 and rows["p_location"].nunique() == 1, variable


def test_table1_rows_have_count_and_percent_or_median_range(pub):
    t1 = select_published(pub, source="Table 1")
    for (location, level), rows in t1[t1["location"] != "header"].groupby(["location", "level"]):
        stats = set(rows["statistic"])
        no_pct = rows["note"].str.contains("no percentage").all()
        assert stats in ({"n", "percent"}, {"median", "min", "max"}) or (stats == {"n"} and no_pct), location


@pytest.mark.parametrize("drop, expected", [
    (dict(source="Table 2", variable="fever", statistic="p_value"), "0 p-value rows"),
    (dict(source="Table 2", variable="fever", group="without", statistic="percent"), "expected both"),
    (dict(source="Table 2", variable="rash", group="with", statistic="n"), "a percentage without its count"),
    (dict(source="Table 1", variable="fever", statistic="percent"), "a count without its percentage"),
    (dict(source="Table 1", variable="sledai_m0", statistic="max"), "median (range) incomplete"),
    (dict(source="Table 2", location="header", group="with"), "header must give n"),
])
def test_completeness_check_can_fail(pub, drop, expected):
    broken = pub.drop(index=select_published(pub, **drop).index)
    assert any(expected in problem for problem in transcription_problems(broken))


def test_a_second_p_value_for_a_multilevel_variable_is_caught(pub):
    p = select_published(pub, source="Table 2", variable="ln_class", statistic="p_value")
    extra = p.assign(location="Stage >= 3 lupus nephritis: Stage IV")
    problems = transcription_problems(pd.concat([pub, extra]))
    assert any("ln_class: 2 p-value rows" in problem for problem in problems)


# --- blocks ---------------------------------------------------------------------------------------

def test_group_sizes_from_header_and_derived(pub):
    head = select_published(pub, source="Table 2", location="header")
    expected = {g: int(head.loc[head["group"] == g, "value"].iloc[0]) for g in ("with", "without")}
    assert group_sizes(pub) == expected
    # No LDA table: with = LDA during 1 year (Table 1), without = cohort - LDA.
    lda = select_published(pub, source="Table 1", variable="lda_ever", statistic="n")["value"].iloc[0]
    total = select_published(pub, source="Table 1", variable="n")["value"].iloc[0]
    assert group_sizes(pub, source="Section 3.3", outcome="lda") == {"with": lda, "without": total - lda}
    with pytest.raises(KeyError, match="no group sizes"):
        group_sizes(pub, source="Section 3.3", outcome="doris")


def test_group_comparison_rows_follow_the_long_rows(pub):
    wide = group_comparison(pub).set_index(["variable", "level"])
    for _, row in select_published(pub, source="Table 2", statistic=["n", "percent", "median"]).iterrows():
        if row["location"] == "header":
            continue
        assert wide.loc[(row["variable"], row["level"]), f"{row['statistic']}_{row['group']}"] == row["value"]


def test_select_rejects_unknown_columns(pub):
    with pytest.raises(KeyError, match="'table' is not a column"):
        select_published(pub, table="Table 2")


# --- printed precision ----------------------------------------------------------------------------

def test_round_half_up_is_not_bankers_rounding():
    assert round(6.25, 1) == 6.2                          # Python: half to even
    assert round_half_up(Fraction(100, 16), 1) == 6.3     # the journal: 1/16 is printed 6.3%
    assert round_half_up(Fraction(5 * 100, 69), 1) == 7.2
    assert round_half_up(0.0275, 3) == 0.028
    assert math.isnan(round_half_up(math.nan, 2))


def test_printed_decimals():
    assert [printed_decimals(p) for p in ("43.40", "<0.001", "58%", "88.4%", "100")] == [2, 3, 0, 1, 0]


def test_matches_printed():
    assert matches_printed(0.0027, "0.003")
    assert not matches_printed(0.0071, "0.003")
    assert matches_printed(0.0004, "<0.001") and not matches_printed(0.001, "<0.001")
    assert matches_printed(Fraction(40 * 100, 69), "58%") and matches_printed(Fraction(40 * 100, 69), "58.0")
    assert not matches_printed(Fraction(27 * 100, 69), "39.0")
    assert not matches_printed(math.nan, "0.5") and not matches_printed(None, "0.5")


def test_load_from_a_copy(tmp_path):
    copy = tmp_path / "copy.csv"
    shutil.copy(PUBLISHED_PATH, copy)
    pd.testing.assert_frame_equal(load_published(copy), load_published())


def test_the_claims_file_loads_and_fits_the_values():
    from msc_sle.paper.published import CLAIM_KINDS, claim_list, claims_problems, load_claims

    claims = load_claims()
    assert claims_problems(claims) == [] and set(claims["claim"]) <= set(CLAIM_KINDS)
    methods = claims[claims["claim"] == "method"]
    assert sorted(methods["variables"]) == ["categorical", "continuous"] and methods["alpha"].notna().all()
    assert claims.loc[claims["claim"] != "method", "alpha"].isna().all()
    # Every LDA and CR p-value the text prints belongs to a variable a claim says reached significance.
    pub = load_published()
    alpha = methods["alpha"].iloc[0]
    text_p = pub[(pub["statistic"] == "p_value") & (pub["source"] == "Section 3.3") & (pub["value"] < alpha)]
    significant = {(r["outcome"], v) for _, r in claims[claims["claim"] == "significant"].iterrows()
                   for v in claim_list(r["variables"])}
    assert set(zip(text_p["outcome"], text_p["variable"])) == significant
