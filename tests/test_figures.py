"""Every figure of the workbook fits its canvas: no title, label, tick or caption cut off, no ink at
the PNG's edge (here for every figure function, in the slow tests for every figure of `make run`,
`make share` and a 10^4-patient run), no tick labels running into each other, log axes read as
plain numbers, the p-values the tables print, ≥ typography and one visit label style."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from msc_sle import analysis_frame, apply_eligibility, classify_response, compare_groups, load_cohort  # noqa: E402
from msc_sle.clinical import sledai_long  # noqa: E402
from msc_sle.compare import paired_over_time  # noqa: E402
from msc_sle.present import figures  # noqa: E402
from msc_sle.rates import cumulative_response, response_rates  # noqa: E402

from figure_pixels import clipped_figures, ink_at_edge  # noqa: E402

NAMES = ["consort", "figure1", "rates", "cumulative", "forest", "calibration", "time_to", "trajectories"]


@pytest.fixture(scope="module")
def made():
    from msc_sle.prognosis import (fit_prognostic_model, model_data, sledai_trajectories, time_to_response,
                                   validate_model)
    from msc_sle.clinical import paper_cr
    from msc_sle.present.format import result_sentence

    figures.use_print_style()
    eligibility = apply_eligibility(load_cohort())
    cohort = eligibility.cohort
    frame = analysis_frame(cohort)
    results = [classify_response(cohort, "lda"), classify_response(cohort, "cr")]
    over = paired_over_time(frame)
    result = compare_groups(frame, "cr_ever", adjust="bh")
    validation = validate_model(fit_prognostic_model(model_data(frame, "cr_ever", ["age_years", "prior_cyc"])),
                                n_bootstrap=10, seed=1)
    # age split at its median: group labels with ">=" that the figure must typeset
    ttr = time_to_response(cohort, frame, paper_cr, by="age_years", label="CR")
    traj = sledai_trajectories(frame, "cr_ever", label="CR during the year")
    made = {
        "consort": figures.consort_figure(eligibility.attrition),
        "figure1": figures.sledai_over_time_figure(sledai_long(frame), p_value=over.p_value),
        "rates": figures.response_rate_figure(response_rates(results)),
        "cumulative": figures.cumulative_response_figure(cumulative_response(results)),
        "forest": figures.forest_plot(figures.forest_data(result), annotate="annotation",
                                      outcome="CR during the year",
                                      title="Odds ratios for CR during the year (n = 69), a long title that must wrap"),
        "calibration": figures.calibration_figure(validation.calibration, corrected=validation.corrected_line(),
                                                  annotation=validation.annotation(),
                                                  title="Calibration: CR during the year (n = 69)"),
        "time_to": figures.cumulative_incidence_figure(ttr.shown, overall=ttr.overall,
                                                       title=f"First CR by {ttr.group_title}",
                                                       test_text=result_sentence(ttr.test)),
        "trajectories": figures.trajectory_figure(traj.mixed.means, traj.raw, groups=traj.groups,
                                                  test_text="interaction p = 0.013, likelihood ratio"),
    }
    yield made | {"results": results}
    plt.close("all")


@pytest.mark.parametrize("name", NAMES)
def test_every_text_lies_inside_the_canvas(made, name):
    fig = made[name]
    _draw_as_saved(fig)
    renderer = fig.canvas.get_renderer()
    canvas = fig.bbox
    hidden = {id(t) for ax in fig.axes if not ax.axison
              for t in ax.get_xticklabels() + ax.get_yticklabels() + [ax.xaxis.label, ax.yaxis.label]}
    texts = [t for t in fig.findobj(matplotlib.text.Text)
             if t.get_visible() and t.get_text().strip() and id(t) not in hidden]
    assert texts
    for t in texts:
        box = t.get_window_extent(renderer)
        assert box.x0 >= canvas.x0 - 1 and box.x1 <= canvas.x1 + 1 and box.y0 >= canvas.y0 - 1 \
            and box.y1 <= canvas.y1 + 1, f"{name}: {t.get_text()!r} outside the canvas ({box} vs {canvas})"


def test_forest_axis_reads_plain_numbers(made):
    fig = made["forest"]
    fig.canvas.draw()
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert labels and all("^" not in t and "10^" not in t and "$" not in t for t in labels), labels
    assert "1" in labels and any(t.startswith("0.") for t in labels)


def test_figure1_says_what_box_whiskers_and_lines_show(made):
    text = " ".join(t.get_text() for t in made["figure1"].texts).replace("\n", " ")
    assert "Boxes: median and quartiles" in text and "whiskers: the range" in text and "grey lines" in text


def test_figure1_boxes_are_the_tables_quartiles(made):
    from msc_sle import stats

    frame = analysis_frame(apply_eligibility(load_cohort()).cohort)
    ax = made["figure1"].axes[0]
    q = stats.summary(frame["sledai_m0"].to_numpy(dtype=float))
    medians = [line for line in ax.lines if len(line.get_xdata()) == 2 and line.get_linewidth() == 1.2]
    assert np.isclose(medians[0].get_ydata()[0], q.median)


# --------------------------------------------------------------------------- ink at the edge

def _draw_as_saved(fig) -> None:
    """Drawn at the PNG's dpi: what is printed (glyph widths do not scale exactly with the dpi)."""
    fig.set_dpi(float(matplotlib.rcParams["savefig.dpi"]))
    fig.canvas.draw()


def _saved(fig, name, folder):
    figures.save_figure(fig, name, folder)
    return folder / "figures" / f"{name}.png"


def test_the_edge_check_finds_a_clipped_figure(made, tmp_path):
    """A workbook figure cut on the right (its canvas narrowed after layout, as time_to_cr's title and
    M12 step were) and an axes frame running under the bottom edge are found; the same figure
    uncut is not."""
    cumulative = cumulative_response(made["results"])
    assert ink_at_edge(_saved(figures.cumulative_response_figure(cumulative), "whole", tmp_path)) == {}
    cut = figures.cumulative_response_figure(cumulative)
    # after the layout, a title as time_to_cr's was: one line, longer than the canvas
    cut.axes[0].set_title("Cumulative proportion reaching the response (shaded: Wilson 95% CI), p = 0.057",
                          loc="left")
    assert "right" in ink_at_edge(_saved(cut, "cut", tmp_path))
    narrow = figures.cumulative_response_figure(cumulative)
    width, height = narrow.get_size_inches()
    narrow.set_size_inches(width - 0.5, height)  # the text keeps its size, the canvas loses half an inch
    assert ink_at_edge(_saved(narrow, "narrow", tmp_path))
    low, ax = plt.subplots(figsize=(4, 3))
    ax.set_position((0.1, -0.05, 0.8, 0.9))
    assert "bottom" in ink_at_edge(_saved(low, "low", tmp_path))
    assert set(clipped_figures(tmp_path / "figures")) == {"cut.png", "narrow.png", "low.png"}
    plt.close(cut)
    plt.close(narrow)
    plt.close(low)


def test_no_figure_function_inks_the_edge_of_its_png(made, tmp_path):
    for name in NAMES:
        figures.save_figure(made[name], name, tmp_path)
    assert clipped_figures(tmp_path / "figures") == {}


def test_a_figure_with_text_too_long_for_it_grows_or_wraps_instead_of_clipping(tmp_path):
    """Long group labels, long titles, a withheld-count note: every one drawn inside the canvas."""
    import pandas as pd

    long = "a response definition whose name alone is wider than the whole figure canvas it is drawn on"
    rates = pd.DataFrame({"response": [long, long], "when": ["month 1", "during the year"], "percent": [10.0, 20.0],
                          "ci_low": [5.0, 10.0], "ci_high": [20.0, 30.0], "patients": [69, 69], "n": ["<5", 14]})
    fig = figures.response_rate_figure(rates)
    effects = pd.DataFrame({"label": ["Age/years >= 32 years, a label of a long variable name"], "odds_ratio": [2.0], "ci_low": [0.5],
                            "ci_high": [8.0], "annotation": [f"p = 0.5 (Fisher's exact); {long}"],
                            "withheld": [False]})
    forest = figures.forest_plot(effects, annotate="annotation", title=long * 2)
    for name, f in (("rates", fig), ("forest", forest)):
        figures.save_figure(f, name, tmp_path)
    assert clipped_figures(tmp_path / "figures") == {}
    plt.close(fig)
    plt.close(forest)


# --------------------------------------------------------------------------- tick labels

def _touching(labels, renderer):
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in labels if t.get_visible() and t.get_text()]
    return [(a, b) for i, (a, box_a) in enumerate(boxes) for b, box_b in boxes[i + 1:] if box_a.overlaps(box_b)]


@pytest.mark.parametrize("name", NAMES)
def test_tick_labels_never_overlap(made, name):
    fig = made[name]
    _draw_as_saved(fig)
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            assert not _touching(axis.get_ticklabels(), renderer), f"{name}: {_touching(axis.get_ticklabels(), renderer)}"


def test_a_log_axis_over_many_decades_thins_its_ticks():
    import pandas as pd

    effects = pd.DataFrame({"label": ["wide", "narrow"], "odds_ratio": [1.0, 2.0], "ci_low": [0.004, 1.5],
                            "ci_high": [300.0, 3.0], "withheld": [False, False]})
    fig = figures.forest_plot(effects)
    fig.canvas.draw()
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert not _touching(fig.axes[0].get_xticklabels(), fig.canvas.get_renderer()), labels
    assert {"0.01", "1", "100"} <= set(labels), labels
    plt.close(fig)


# --------------------------------------------------------------------------- what the figures print

def _texts(fig):
    fig.canvas.draw()
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text()]


@pytest.mark.parametrize("name", NAMES)
def test_no_ascii_comparison_signs(made, name):
    texts = _texts(made[name])
    assert not [t for t in texts if ">=" in t or "<=" in t], name
    if name == "time_to":  # the age groups are "Age/years >= 32 years" in the data
        assert any("≥" in t for t in texts) and any("≥" in t.get_text() for t in made[name].axes[1].get_yticklabels())


def test_forest_prints_the_p_and_q_of_the_table_beside_it():
    """Table 2 prints 0.67 for Female: the forest plot beside it must not print 0.671."""
    import re

    from msc_sle.present.tables import comparison_table

    frame = analysis_frame(apply_eligibility(load_cohort()).cohort)
    result = compare_groups(frame, "cr_ever", adjust="bh")
    body = comparison_table(result, effect=True).body.set_index("Variables")
    effects = figures.forest_data(result)
    checked = 0
    for row in effects.itertuples():
        if row.withheld or (body.index == row.label).sum() != 1:
            continue
        p_cell = re.sub(r"[^0-9.<]", "", body.loc[row.label, "p value"])  # without the test's mark
        q_cell = body.loc[row.label, "q value"]
        p_shown = re.search(r"p ([=<]) ([0-9.]+)", row.annotation)
        q_shown = re.search(r"q ([=<]) ([0-9.]+)", row.annotation)
        assert ("<" if p_shown[1] == "<" else "") + p_shown[2] == p_cell, (row.label, p_cell, row.annotation)
        assert ("<" if q_shown[1] == "<" else "") + q_shown[2] == q_cell, (row.label, q_cell, row.annotation)
        checked += 1
    assert checked >= 20


@pytest.mark.parametrize("name", ["figure1", "rates", "cumulative", "time_to", "trajectories"])
def test_visits_are_labelled_as_in_figure_1(made, name):
    import re

    fig = made[name]
    fig.canvas.draw()
    for ax in fig.axes:
        if "Visit" not in ax.get_xlabel():
            continue
        labels = [t.get_text().split("\n")[0] for t in ax.get_xticklabels() if t.get_text()]
        assert labels and all(re.fullmatch(r"Baseline|M\d+|During", t) for t in labels), (name, labels)
        assert ax.get_xlabel() == figures.VISIT_AXIS
    assert not [t for t in _texts(fig) if re.search(r"\b[Mm]onth \d", t)], name


# --------------------------------------------------------------------------- what make run / make share write

@pytest.mark.slow
def test_no_figure_of_make_run_or_make_share_inks_its_edge(bundle, shared_bundle):
    """Every PNG of both bundles (the session's runs, shared with test_pages and test_disclosure)."""
    for folder in (bundle, shared_bundle):
        assert clipped_figures(folder / "figures") == {}, folder.name
