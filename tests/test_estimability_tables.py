"""No table of the models stage prints an interval that excludes its estimate, or a result from a fit
that did not reach a maximum (issue 23).

Every model table 07_models can print is built here on the bundled SYNTHETIC cohort with each
response definition as the outcome (the regression table, the sensitivity table, the time-to-
response table): each "estimate (lower to upper)" cell must hold its estimate, each fit that
failed an estimability check must print "not estimable", and each number printed must come from a
fit that passed. The bundled cohort's SLEDAI-4 reduction (68 of 69 patients responded) is the
fixture the issue names: its Firth fit stops off the maximum and its profile interval excludes
its estimate. The checks themselves are tested against R in tests/stats/test_estimability.py.
"""
from __future__ import annotations

import re

import pytest

from msc_sle.clinical import load_cohort
from msc_sle.prognosis import (fit_prognostic_model, model_data, response_label, sensitivity_analysis,
                               time_to_response)
from msc_sle.present.tables import regression_table, sensitivity_table
from msc_sle.workbook.notebook import analysed_cohort, frame_for
from msc_sle.workbook.params import check_parameters

INTERVAL = re.compile(r"^(-?[\d.]+) \((-?[\d.]+) to (-?[\d.]+)\)")


@pytest.fixture(scope="module")
def setting():
    params = check_parameters()
    cohort = analysed_cohort(load_cohort())
    definitions = params.response_definitions()
    return params, cohort, definitions, frame_for(cohort, params, definitions)


def _intervals(body):
    """Every (cell, estimate, lower, upper) printed in a table body."""
    for column in body.columns[1:]:
        for cell in body[column]:
            m = INTERVAL.match(str(cell))
            if m:
                yield str(cell), *map(float, m.groups())


def _contains(table):
    found = list(_intervals(table.body))
    bad = [cell for cell, est, lo, hi in found if not lo <= est <= hi]
    assert not bad, f"{table.title}: intervals that exclude their estimate: {bad}"
    return found


def test_every_model_table_prints_intervals_around_estimates_and_no_failed_fit(setting):
    params, cohort, definitions, frame = setting
    predictors = params.names("predictors")
    seen_not_estimable = False
    for prefix, definition in definitions.items():
        data = model_data(frame, f"{prefix}_ever", predictors, label=response_label(definition))
        model = fit_prognostic_model(data)
        table = regression_table(model)
        assert _contains(table)
        tidy = model.table()
        for fit in ("uni", "firth", "ml"):
            flags = tidy[f"{fit}_estimable"]
            # a failed fit prints no number: its cells are NaN in the tidy frame and words in the body
            assert tidy.loc[~flags, f"{fit}_or"].isna().all()
            if fit != "ml" and (~flags).any():
                seen_not_estimable = True
                assert (table.body.iloc[:, 1:] == "not estimable").any().any()
        # validation and calibration are refused, with the reason, on a model that is not estimable
        assert bool(model.refusal()) == (not model.estimable("firth"))
        if not model.estimable("firth"):
            assert "68 of 69 patients" in model.refusal()
        for key, check in model.checks.items():
            printed = key == "ml" and not model.ml.exists
            assert check.estimable or printed or tidy[f"{key.split(':')[0]}_or"].isna().any(), key
        ttr = time_to_response(cohort, frame, definition, by=predictors[0])
        for ci in (ttr.overall, ttr.by_group):
            t = ci.table[ci.table["time"] > 0]
            # no interval (printed "–") only where the incidence reached 100%
            assert (t.loc[t["ci_lower"].isna(), "ci_method"] == "none").all(), prefix
            t = t[t["ci_method"] != "none"]
            assert ((t["ci_lower"] <= t["cum_incidence"]) & (t["cum_incidence"] <= t["ci_upper"])).all(), prefix
            assert (t["ci_upper"] > t["ci_lower"]).all(), f"{prefix}: an interval collapsed to a point"
    assert seen_not_estimable  # the 68-of-69 definition


def test_sixty_eight_of_sixty_nine_responders_is_not_estimable_and_skipped(setting):
    params, _, definitions, frame = setting
    assert int(frame["sledai_reduction_ever"].sum()) == 68 and int(frame["sledai_reduction_ever"].notna().sum()) == 69
    result = sensitivity_analysis(frame, params.names("predictors"), definitions)
    table = sensitivity_table(result)
    _contains(table)
    column = table.body["SLEDAI-4 reduction during the year"]
    assert list(column[2:]) == ["not estimable"] * len(params.names("predictors"))
    assert any("68 of 69 patients had SLEDAI-4 reduction" in note for note in table.footnotes)
    survivors = result.survivors()
    assert (survivors["not_estimable"] == 1).all() and (survivors["definitions"] == len(definitions) - 1).all()
    assert result.skipped() == ["SLEDAI-4 reduction during the year"]
