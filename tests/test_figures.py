"""Every figure of the workbook fits its canvas: no title, label, tick or caption cut off, and log
axes read as plain numbers."""
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


@pytest.fixture(scope="module")
def made():
    figures.use_print_style()
    eligibility = apply_eligibility(load_cohort())
    cohort = eligibility.cohort
    frame = analysis_frame(cohort)
    results = [classify_response(cohort, "lda"), classify_response(cohort, "cr")]
    over = paired_over_time(frame)
    result = compare_groups(frame, "cr_ever", adjust="bh")
    made = {
        "consort": figures.consort_figure(eligibility.attrition),
        "figure1": figures.sledai_over_time_figure(sledai_long(frame), p_value=over.p_value),
        "rates": figures.response_rate_figure(response_rates(results)),
        "cumulative": figures.cumulative_response_figure(cumulative_response(results)),
        "forest": figures.forest_plot(figures.forest_data(result), annotate="annotation",
                                      outcome="CR during the year",
                                      title="Odds ratios for CR during the year (n = 69), a long title that must wrap"),
    }
    yield made
    plt.close("all")


@pytest.mark.parametrize("name", ["consort", "figure1", "rates", "cumulative", "forest"])
def test_every_text_lies_inside_the_canvas(made, name):
    fig = made[name]
    fig.canvas.draw()
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
