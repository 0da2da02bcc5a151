"""The 05_explore panel (msc_sle.workbook.explorer) without a browser: one control per threshold
(slider and box equal both ways), typed values refused rather than coerced, slider spans inside the
parameters' ranges, the comparison tested as Table 2 tests it and saying so, rows labelled as
Table 2 labels them. tests/test_browser.py drives the same panel in JupyterLab."""
from __future__ import annotations

import html

import pytest

from msc_sle.workbook.params import PARAMETERS, ParameterError, check_parameters

THRESHOLDS = ("lda_sledai_max", "lda_prednisone_max", "cr_sledai_max", "cr_prednisone_max")


@pytest.fixture(scope="module")
def analysed():
    from msc_sle import analysis_frame, apply_eligibility, load_cohort

    cohort = apply_eligibility(load_cohort()).cohort
    return cohort, analysis_frame(cohort)


def _control(name, params=None):
    from msc_sle.workbook.explorer import threshold_controls

    return next(c for c in threshold_controls(params) if c.name == name)


def _panel(analysed, params=None):
    """The panel and, per threshold, its (slider, box); the refusal message; the headline."""
    pytest.importorskip("ipywidgets")
    from msc_sle.workbook.explorer import explorer

    cohort, frame = analysed
    panel = explorer(cohort, frame, params)
    widgets = {}
    for row in panel.children:
        for child in getattr(row, "children", ()):
            for name in THRESHOLDS:
                if f"msc-{name}" in child._dom_classes:
                    widgets[name] = (row.children[0], child)
    found = {cls: w for w in panel.children for cls in ("msc-refused", "msc-headline", "msc-spans")
             if cls in w._dom_classes}
    assert set(widgets) == set(THRESHOLDS) and len(found) == 3
    return panel, widgets, found


def test_typed_values_are_read_as_typed_or_refused():
    sledai, prednisone = _control("lda_sledai_max"), _control("lda_prednisone_max")
    assert sledai.parse(" 6 ") == 6 and isinstance(sledai.parse("6"), int) and sledai.parse("6.0") == 6
    assert prednisone.parse("10") == 10.0 and prednisone.parse("7.5") == 7.5
    for control, text, why in [(sledai, "2.7", "not a whole number of points"),  # IntText made it 27
                               (sledai, "27", "outside the slider's range"),
                               (sledai, "-1", "outside the slider's range"),
                               (sledai, "four", "not a number"),
                               (prednisone, "7,5", "use a dot for decimals"),
                               (prednisone, "7.3", "between two steps"),
                               (prednisone, "500", "outside the slider's range"),
                               (prednisone, "nan", "not a number")]:
        with pytest.raises(ParameterError) as err:
            control.parse(text)
        message = str(err.value)
        assert why in message and repr(text) in message and control.label in message, message
        assert control.span() in message  # says what it takes


def test_slider_spans_are_clinical_and_inside_the_parameter_ranges():
    from msc_sle.workbook.explorer import threshold_controls

    default = check_parameters()
    for control in threshold_controls(default):
        p = PARAMETERS[control.name]
        assert p.low <= control.low <= default[control.name] <= control.high <= p.high
        # narrower than what make run accepts: the whole 0-105 (0-100 mg/day) under one drag made a
        # small move of the mouse jump LDA from 4 to 27 points
        assert control.high < p.high
        assert control.integer == (p.kind == "int") and control.unit == p.unit
    # a run's value beyond the clinical span widens the slider to hold it, never beyond params.py's range
    wide = check_parameters(lda_sledai_max=PARAMETERS["lda_sledai_max"].high, lda_prednisone_max=60.0)
    spans = {c.name: c for c in threshold_controls(wide)}
    assert spans["lda_sledai_max"].high == PARAMETERS["lda_sledai_max"].high
    assert spans["lda_prednisone_max"].high == 60.0 and spans["lda_prednisone_max"].parse("60") == 60.0
    # a run's dose between two steps: the step becomes one that holds it, so the box takes the run's value
    between = _control("lda_prednisone_max", check_parameters(lda_prednisone_max=7.25))
    assert between.parse("7.25") == 7.25 and between.parse(between.text(7.25)) == 7.25


def test_slider_and_box_are_linked_both_ways_and_the_tables_follow(analysed):
    from msc_sle.workbook.explorer import explore

    cohort, frame = analysed
    _, widgets, found = _panel(analysed)
    slider, box = widgets["lda_sledai_max"]
    assert box.value == str(slider.value) == str(check_parameters().lda_sledai_max)
    slider.value = 6  # slider -> box
    assert box.value == "6"
    assert found["msc-headline"].value.count("LDA during the year") == 1
    box.value = "9"  # box -> slider, and the tables recomputed for it
    assert slider.value == 9 and box.value == "9"
    expected = explore(cohort, frame, check_parameters(lda_sledai_max=9)).headline.splitlines()[0]
    assert expected in found["msc-headline"].value
    pslider, pbox = widgets["lda_prednisone_max"]
    pbox.value = "10.0"
    assert pslider.value == 10.0 and pbox.value == "10"  # shown as the slider holds it
    pslider.value = 12.5
    assert pbox.value == "12.5"
    assert found["msc-refused"].value == ""


def test_a_fraction_typed_for_a_whole_number_is_refused_visibly_not_coerced(analysed):
    _, widgets, found = _panel(analysed)
    slider, box = widgets["lda_sledai_max"]
    before, headline = slider.value, found["msc-headline"].value
    box.value = "2.7"
    assert slider.value == before and box.value == str(before)  # the box goes back to the slider's value
    message = html.unescape(found["msc-refused"].value)
    assert "'2.7' refused" in message and "not a whole number of points" in message
    assert found["msc-headline"].value == headline  # nothing recomputed
    box.value = "3"  # an accepted value clears the message
    assert slider.value == 3 and found["msc-refused"].value == ""


def test_the_panel_states_each_sliders_range(analysed):
    from msc_sle.workbook.explorer import spans_text, threshold_controls

    _, _, found = _panel(analysed)
    stated = html.unescape(found["msc-spans"].value)
    assert stated.startswith("Ranges: ") and stated.count("SLEDAI-2K") == stated.count("prednisone") == 1
    for control in threshold_controls():
        assert control.span() in stated
    # a run's LDA dose beyond the clinical span: its own range is stated apart from CR's
    wide = spans_text(threshold_controls(check_parameters(lda_prednisone_max=40.0)))
    assert "prednisone (LDA) 0\u201340 mg/day" in wide and "prednisone (CR) 0\u201330 mg/day" in wide


def test_cr_looser_than_lda_is_refused_with_the_runners_message(analysed):
    _, widgets, found = _panel(analysed)
    slider, _ = widgets["cr_sledai_max"]
    slider.value = widgets["lda_sledai_max"][0].value + 1
    assert "CR thresholds must not be looser than LDA thresholds" in found["msc-headline"].value


@pytest.mark.parametrize("test_rule", ["paper", "expected_lt_5"])
@pytest.mark.parametrize("outcome", ["cr", "lda"])
def test_explorer_p_is_table_2s_p_and_says_so(analysed, outcome, test_rule):
    """At the run's thresholds the explorer's p (printed) is the one Table 2 prints for the row
    (04_predictors' comparison, the same test rule); the explorer's footnote says so."""
    from msc_sle.compare import baseline_variables
    from msc_sle.present.tables import comparison_table
    from msc_sle.workbook.explorer import explore
    from msc_sle.workbook.notebook import frame_for, outcome_comparison

    cohort, frame = analysed
    params = check_parameters(outcome=outcome, test_rule=test_rule)
    table2 = outcome_comparison(frame_for(cohort, params, {"response": params.outcome_definition()}), params,
                                "responders", cohort=cohort)

    def first_p(table):
        return table.body.loc[table.body["p value"] != "", "p value"].iloc[0]

    compared = 0
    for variable in baseline_variables(frame):
        shown = explore(cohort, frame, params, outcome=outcome, variable=variable).comparison
        if not hasattr(shown, "body") or variable not in set(table2.table["variable"]):
            continue
        printed = first_p(comparison_table(table2.table[table2.table["variable"] == variable]))
        assert first_p(shown) == printed, (variable, first_p(shown), printed)
        assert any("Table 2" in note and "p value" in note for note in shown.footnotes)
        compared += 1
    assert compared >= 20


def test_boolean_rows_are_labelled_as_table_2_labels_them(analysed):
    """A boolean variable's row is its label ("Arthralgia/arthritis"), not "...: True"."""
    from msc_sle.contract import variable
    from msc_sle.workbook.explorer import explore, variable_choices

    cohort, frame = analysed
    booleans = [name for _, name in variable_choices(frame) if variable(name).kind == "boolean"]
    assert "arthralgia_arthritis" in booleans
    for name in booleans:
        body = explore(cohort, frame, variable=name).comparison.body
        labels = " | ".join(body["Variables"])
        assert "True" not in labels and "False" not in labels, labels
