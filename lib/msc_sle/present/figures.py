"""The workbook's figures: CONSORT flow, Figure 1 (SLEDAI-2K over time), response rates, forest plot,
and the models stage's calibration plot, cumulative incidence with numbers at risk and trajectories.

Every figure is drawn for print: axis labels carry units, group sizes appear in the labels, visits
read as Figure 1's (Baseline, M1 ... M12), the palette is Okabe-Ito (distinguishable with the common
colour-vision deficiencies), and each figure function lays its figure out with its text (titles and
notes wrapped by their measured width at the PNG's dpi, ≥ typeset, log ticks thinned until their
labels part, the canvas grown rather than anything cut off: :func:`_laid_out`).
:func:`save_figure` writes PNG + SVG reproducibly (fixed SVG hash salt, no dates in the metadata),
so re-running on the same data gives byte-identical files.

>>> from msc_sle.present.figures import sledai_over_time_figure, save_figure   # doctest: +SKIP
>>> fig = sledai_over_time_figure(scores, p_value=1e-6, test="Friedman test")  # doctest: +SKIP
>>> save_figure(fig, "figure1_sledai", "reports")                     # doctest: +SKIP
"""
from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Sequence

# No backend is chosen here: importing a library must not change the process's matplotlib
# (ipykernel picks its inline backend, a headless process falls back to Agg on its own), and every
# figure below is drawn and written within the print style (matplotlib.rc_context), never by
# changing the global rcParams.
import matplotlib
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd

from .. import stats
from ..stats import TESTS
from .format import format_number, p_text, typeset

__all__ = ["OKABE_ITO", "SYNTHETIC_LABEL", "print_style", "use_print_style", "save_figure", "consort_figure", "sledai_over_time_figure",
           "response_rate_figure", "cumulative_response_figure", "forest_data", "forest_plot", "calibration_figure",
           "cumulative_incidence_figure", "trajectory_figure", "VISIT_AXIS"]

#: Okabe & Ito (2008) colour-blind-safe palette: orange, sky blue, bluish green, yellow, blue,
#: vermillion, reddish purple, black.
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")

_RC = {
    "svg.hashsalt": "msc-sle",          # stable element ids in SVG output
    "svg.fonttype": "none",             # text stays text: smaller, searchable, deterministic
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "savefig.bbox": "standard",  # the constrained layout already fits labels; "tight" would draw twice
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "axes.facecolor": "white",
    "figure.facecolor": "white",
    "xtick.direction": "out",
    "ytick.direction": "out",
    "axes.prop_cycle": matplotlib.cycler(color=list(OKABE_ITO)),
}


def print_style():
    """The workbook's print style as a context (white, ticks out, no top/right spines, Okabe-Ito
    colours, deterministic SVG): every figure function draws within it and :func:`save_figure`
    writes within it, so the global rcParams stay as the session set them. Plain rcParams
    (seaborn's "ticks" style, written out): loading seaborn to set a theme would cost every
    notebook most of a second."""
    # The session's first figure loads the backend, and a front end's backend sets rcParams of its
    # own as it loads (IPython switches interactive mode on for the inline backend); loaded inside
    # the context, those would be undone as it closes and the notebook would stop showing figures.
    plt._get_backend_mod()
    return matplotlib.rc_context(_RC)


def use_print_style() -> None:
    """Apply the print style to the whole session (exploratory plots in JupyterLab drawn with plain
    matplotlib): an explicit choice of the caller, never made by importing or loading anything."""
    matplotlib.rcParams.update(_RC)


#: The corner label of a synthetic cohort's figure, and what its files' metadata say.
SYNTHETIC_LABEL = "SYNTHETIC DATA"
_LABEL_PT = 7.0
_LABEL_FILL = "#fde68a"  # index.html's banner


def _label_strip(fig) -> float:
    """The share of the canvas's height the label takes, along its top edge."""
    return (_LABEL_PT * 1.2 + 8) / 72 / fig.get_figheight()  # the label's line, its box, a gap


def _reserve_label_strip(fig) -> None:
    """Take the label's strip off the layout's rectangle before the layout runs, so the axes and
    legends the layout places stay clear of it."""
    engine = fig.get_layout_engine()
    rect = engine.get().get("rect") if engine is not None else None
    if rect is not None:
        x0, y0, w, h = rect
        engine.set(rect=(x0, y0, w, min(h, 1 - _label_strip(fig) - y0)))


def _synthetic_label(fig, reserved: bool) -> None:
    """Write the label in the top right corner, once the layout is fixed.

    The layout puts a figure title (suptitle) at the very top of the canvas whatever its
    rectangle, so the title comes down by the strip, into the room the layout kept for it above the
    axes; a figure without a layout engine has its axes moved down as well."""
    strip = _label_strip(fig)
    title = fig.get_suptitle()
    for text in fig.findobj(matplotlib.text.Text):
        if title and text.axes is None and text.get_text() == title:
            text.set_y(text.get_position()[1] - strip)
    if not reserved:
        for ax in fig.axes:
            pos = ax.get_position()
            ax.set_position([pos.x0, pos.y0 * (1 - strip), pos.width, pos.height * (1 - strip)])
    fig.text(1 - 4 / 72 / fig.get_figwidth(), 1 - 4 / 72 / fig.get_figheight(), SYNTHETIC_LABEL,
             ha="right", va="top", fontsize=_LABEL_PT, fontweight="bold", color="#000000",
             bbox={"boxstyle": "square,pad=0.25", "facecolor": _LABEL_FILL, "edgecolor": "#b45309",
                   "linewidth": 0.6}, gid="synthetic-label")


def save_figure(fig, name: str, out_dir: str | Path | None, *, synthetic: bool = False) -> None:
    """Write ``figures/<name>.png`` and ``.svg`` under ``out_dir``; nothing when ``out_dir`` is None.

    Returns nothing, so a notebook cell can end with it and show only the figure. Metadata that
    changes between runs (SVG date, PNG software stamp) is left out so identical figures give
    identical files. A ``synthetic`` cohort's figure (``cohort.synthetic``) carries a small
    "SYNTHETIC DATA" label in its top right corner, inside the canvas and clear of the plot, and
    says so in the files' description: a figure copied into a slide keeps the warning.
    """
    if out_dir is None:
        return
    folder = Path(out_dir) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    engine = fig.get_layout_engine()
    if synthetic:
        _reserve_label_strip(fig)
    # Lay the figure out once, then keep that layout: the PNG, the SVG and the notebook's inline
    # image would otherwise each recompute the constrained layout (0.2 s a draw for the forest plot).
    # The layout alone, not a full draw: the PNG is the first render.
    if engine is not None:
        engine.execute(fig)
    fig.set_layout_engine("none")
    if synthetic:
        _synthetic_label(fig, reserved=engine is not None and "rect" in engine.get())
    about = {"Description": SYNTHETIC_LABEL} if synthetic else {}
    with print_style():
        fig.savefig(folder / f"{name}.png", format="png", metadata={"Software": None, **about})
        fig.savefig(folder / f"{name}.svg", format="svg", metadata={"Date": None, "Creator": None, **about})


def _new(figsize) -> tuple:
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax


#: Room kept free at the canvas edge (points): a glyph, step or band closer than this to the
#: border reads as cut off, and some viewers crop a pixel or two. Less than the constrained
#: layout's own pad (3 pt), so a figure that fits keeps its size.
_EDGE_PT = 2.0

#: Signs a line is never broken beside: "p =" at the end of one line and "0.057" on the next reads
#: as a missing value.
_GLUE = {"=", "<", ">", "≤", "≥", "±", "~", "×"}


def _title(ax, text: str, **kwargs) -> None:
    """A left-aligned title, wrapped by :func:`_laid_out` to the room it has on the canvas."""
    _to_wrap(ax.set_title(text, loc="left", **kwargs))


def _suptitle(fig, text: str) -> None:
    _to_wrap(fig.suptitle(text, x=0.02, ha="left", fontsize=matplotlib.rcParams["axes.titlesize"]))


def _caption(fig, text: str) -> None:
    """A caption under the axes, inside the canvas: what the marks of the figure show."""
    _note(fig, text, fontsize=8.5, color="#333333")


def _note(fig, text: str, *, fontsize: float, color: str) -> None:
    """Text under the axes (a caption, what a marker means); :func:`_laid_out` wraps it to the canvas
    and keeps the axes above it."""
    note = fig.text(0.01, 0.0, text, ha="left", va="bottom", fontsize=fontsize, color=color)
    note._msc_note = True
    _to_wrap(note)


def _to_wrap(text) -> None:
    text._msc_raw = text.get_text()


def _wrap_measured(text, raw: str, room: float, renderer) -> str:
    """``raw`` broken at spaces so that no line of ``text`` (its font) is wider than ``room`` pixels
    as rendered, in as few lines as that allows, of even lengths (no last line of one word); a single
    word wider than the room keeps its own line."""
    probe = matplotlib.text.Text(text=raw, fontproperties=text.get_fontproperties())
    probe.set_figure(text.get_figure(root=True))

    def width(line: str) -> float:
        probe.set_text(line)
        return probe.get_window_extent(renderer).width

    def greedy(words, room):
        lines, line = [], ""
        for word in words:
            trial = f"{line} {word}" if line else word
            if line and width(trial) > room:
                lines.append(line)
                line = word
            else:
                line = trial
        return lines + [line]

    out = []
    for paragraph in raw.split("\n"):
        words = _unbreakable(paragraph.split(" "))
        lines = greedy(words, room)
        low, high = 0.0, room  # the narrowest room that still needs no more lines: even lines
        while len(lines) > 1 and high - low > 2:
            middle = (low + high) / 2
            if len(greedy(words, middle)) > len(lines):
                low = middle
            else:
                high = middle
        out.extend(greedy(words, high) if len(lines) > 1 else lines)
    return "\n".join(out)


def _unbreakable(words: list[str]) -> list[str]:
    """Words with each sign of ``_GLUE`` joined to its neighbours ("p", "=", "0.05" -> "p = 0.05")."""
    out: list[str] = []
    glue_next = False
    for word in words:
        if out and (glue_next or word in _GLUE):
            out[-1] = f"{out[-1]} {word}"
        else:
            out.append(word)
        glue_next = word in _GLUE
    return out


def _laid_out(draw):
    """A figure function whose figure is laid out with its text: titles and notes wrapped to the
    room they have (measured, not guessed from a glyph width), notes stacked under the axes,
    ``>=`` typeset, log-axis ticks thinned until their labels do not touch, and the canvas grown
    where anything would still come closer than ``_EDGE_PT`` to its edge. The layout is then fixed
    (no layout engine), so what was measured is what :func:`save_figure` writes."""
    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with print_style():
            fig = draw(*args, **kwargs)
            _fit(fig)
        return fig
    return wrapper


def _fit(fig) -> None:
    # Measured at the dpi the PNG is written at: glyph widths do not scale exactly with the dpi
    # (hinting), and a title that fits at 100 dpi can overrun the canvas by a few pixels at 200.
    screen_dpi = fig.dpi
    dpi = matplotlib.rcParams["savefig.dpi"]
    fig.set_dpi(screen_dpi if dpi == "figure" else float(dpi))
    try:
        _fit_at_dpi(fig)
    finally:
        fig.set_dpi(screen_dpi)
    fig.set_layout_engine("none")


def _fit_at_dpi(fig) -> None:
    for t in fig.findobj(matplotlib.text.Text):
        if t.get_text():
            t.set_text(typeset(t.get_text()))
            if hasattr(t, "_msc_raw"):
                t._msc_raw = typeset(t._msc_raw)
    renderer = fig.canvas.get_renderer()
    edge = _EDGE_PT * fig.dpi / 72
    engine = fig.get_layout_engine()
    wrapped = [t for t in fig.findobj(matplotlib.text.Text) if hasattr(t, "_msc_raw")]
    notes = [t for t in wrapped if getattr(t, "_msc_note", False)]
    for _ in range(4):
        changed = _stack_notes(fig, notes, renderer, edge, engine)
        if engine is not None:
            engine.execute(fig)
        for t in wrapped:
            left = t.get_window_extent(renderer).x0
            text = _wrap_measured(t, t._msc_raw, fig.bbox.x1 - edge - left, renderer)
            if text != t.get_text():
                t.set_text(text)
                changed = True
        changed |= any(_thin_log_ticks(ax, renderer) for ax in fig.axes)
        if not changed:  # the text is final and laid out: does it all lie inside?
            if not _grow_to_fit(fig, renderer, edge):
                break
            renderer = fig.canvas.get_renderer()


def _stack_notes(fig, notes, renderer, edge: float, engine) -> bool:
    """Notes one above the other from the bottom edge (first note on top), the axes above them."""
    if not notes:
        return False
    y = edge
    for note in reversed(notes):
        note.set_y(y / fig.bbox.height)
        note.set_x(2 * edge / fig.bbox.width)
        y += note.get_window_extent(renderer).height + 0.4 * note.get_fontsize() * fig.dpi / 72
    bottom = y / fig.bbox.height
    if engine is not None and hasattr(engine, "set"):
        rect = engine.get().get("rect", (0, 0, 1, 1))
        if not math.isclose(rect[1], bottom):
            engine.set(rect=(0, bottom, 1, 1 - bottom))
            return True
    return False


def _thin_log_ticks(ax, renderer) -> bool:
    """Fewer ticks on a log x axis whose labels touch (0.01 beside 0.02 on a wide range):
    1-2-5 per decade, then one a decade, then every other decade."""
    axis = ax.xaxis
    if axis.get_scale() != "log" or not _labels_touch(axis, renderer):
        return False
    locator = axis.get_major_locator()
    subs = getattr(locator, "_subs", None)
    if subs is not None and len(subs) > 1:
        axis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1.0,), numticks=12))
        return True
    numticks = getattr(locator, "numticks", 12)
    if isinstance(numticks, int) and numticks > 3:
        axis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1.0,), numticks=numticks // 2))
        return True
    return False


def _labels_touch(axis, renderer) -> bool:
    boxes = sorted((t.get_window_extent(renderer) for t in axis.get_ticklabels()
                    if t.get_visible() and t.get_text()), key=lambda b: b.x0)
    return any(a.x1 + 2 > b.x0 for a, b in zip(boxes, boxes[1:]))


def _grow_to_fit(fig, renderer, edge: float) -> bool:
    """A larger canvas where something drawn still reaches within ``edge`` of its border."""
    box = fig.get_tightbbox(renderer)
    if box is None:
        return False
    box = box.transformed(fig.dpi_scale_trans)  # inches -> pixels
    over_x = max(0.0, edge - box.x0) + max(0.0, box.x1 - (fig.bbox.x1 - edge))
    over_y = max(0.0, edge - box.y0) + max(0.0, box.y1 - (fig.bbox.y1 - edge))
    if over_x < 0.5 and over_y < 0.5:
        return False
    width, height = fig.get_size_inches()
    fig.set_size_inches(width + (over_x + 1) / fig.dpi if over_x >= 0.5 else width,
                        height + (over_y + 1) / fig.dpi if over_y >= 0.5 else height)
    return True


#: What every figure calls the visits and their axis: Figure 1's labels (the paper's tables print M1 ... M12,
#: "M: follow-up months").
VISIT_AXIS = "Visit (months after the first MSC infusion)"


def _visit(month) -> str:
    return "Baseline" if float(month) == 0 else f"M{float(month):g}"


def _visit_ticks(ax, months) -> None:
    """Visit labels on an axis in months: "Baseline" ends at its tick, so it does not run into M1
    one month to its right."""
    ax.set_xticks(list(months))
    ax.set_xticklabels([_visit(m) for m in months])
    for m, label in zip(months, ax.get_xticklabels()):
        if float(m) == 0:
            label.set_horizontalalignment("right")
    ax.set_xlabel(VISIT_AXIS)


def _plain_log_ticks(axis) -> None:
    """Log-scale ticks as plain numbers (0.1, 1, 10), not powers of ten."""
    axis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0), numticks=12))
    axis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _pos: format_number(v, 3)))
    axis.set_minor_formatter(matplotlib.ticker.NullFormatter())


# --------------------------------------------------------------------------- CONSORT flow

def _nothing_to_draw(ax, text: str) -> None:
    """What a figure cannot show, written where its data would be (the file still exists, so a
    bundle always has the same figures)."""
    ax.text(0.5, 0.5, _wrap(text, 60), ha="center", va="center", transform=ax.transAxes, fontsize=10,
            color="#333333", bbox=dict(boxstyle="round,pad=0.5", facecolor="#F5F5F5", edgecolor="#BBBBBB"))
    ax.set_xticks([])
    ax.set_yticks([])


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text


@_laid_out
def consort_figure(attrition: pd.DataFrame, *, start_label: str = "Patients in the extract",
                   end_label: str = "Analysed", small_cell_min: int = 0):
    """CONSORT-style flow: the extract at the top, one exclusion box per criterion, the analysed cohort.

    ``attrition`` has one row per criterion with columns ``criterion``, ``excluded``, ``remaining``
    (``msc_sle.clinical.apply_eligibility(...).attrition``, whose first row "screened" with no
    exclusions gives the first box; without it the first box is ``remaining + excluded`` of the
    first row). An ``exclusion`` column (the reason in words, "age 18 years or younger ..."), else a
    ``description`` column (printed "not <description>"), words the exclusion boxes. Counts below
    ``small_cell_min`` show as "<N".
    A count already withheld (a text marker such as ``"<5"`` or ``"[c]"``, from
    ``msc_sle.workbook.disclosure``) is printed as is, and a note under the flow says what the markers mean.
    """
    needed = {"criterion", "excluded", "remaining"}
    if not needed <= set(attrition.columns):
        raise ValueError(f"attrition needs columns {sorted(needed)}, got {list(attrition.columns)}")

    def n(value) -> str:
        if isinstance(value, str):
            return value
        value = int(value)
        return f"<{small_cell_min}" if 0 < value < small_cell_min else str(value)

    rows = attrition.reset_index(drop=True)
    if len(rows) and pd.isna(rows["excluded"].iloc[0]):  # a leading "screened" row holds the start
        start = int(rows["remaining"].iloc[0])
        rows = rows.iloc[1:].reset_index(drop=True)
    else:
        start = int(rows["remaining"].iloc[0] + rows["excluded"].iloc[0]) if len(rows) else 0
    end = int(rows["remaining"].iloc[-1]) if len(rows) else start
    steps = len(rows)
    height = 1.1 + 0.75 * steps
    fig, ax = _new((7.0, max(3.0, height)))
    ax.set_xlim(0, 10)
    ax.set_ylim(-(steps + 1) * 1.0 - 0.2, 0.8)
    ax.axis("off")
    box = dict(boxstyle="round,pad=0.4", facecolor="white", edgecolor="#333333", linewidth=1)
    ex_box = dict(boxstyle="round,pad=0.35", facecolor="#F5F5F5", edgecolor="#777777", linewidth=0.8)
    ax.text(3.0, 0, f"{start_label}\nn = {n(start)}", ha="center", va="center", bbox=box)
    for i, row in rows.iterrows():
        y = -(i + 0.5)
        ax.annotate("", xy=(3.0, -(i + 1) + 0.25), xytext=(3.0, -i - 0.25),
                    arrowprops=dict(arrowstyle="-|>", color="#333333", lw=1))
        ax.plot([3.0, 5.6], [y, y], color="#777777", lw=0.8)
        if "exclusion" in rows.columns and pd.notna(row["exclusion"]) and str(row["exclusion"]):
            what = str(row["exclusion"])
        else:
            what = "not " + str(row["description"] if "description" in rows.columns and pd.notna(row["description"])
                                else row["criterion"])
        ax.text(5.7, y, f"Excluded: n = {n(row['excluded'])}\n{_wrap(typeset(what), 36)}", ha="left", va="center",
                fontsize=8.5, bbox=ex_box)
        if i < steps - 1:
            ax.text(3.0, -(i + 1), f"n = {n(row['remaining'])}", ha="center", va="center", fontsize=8.5,
                    bbox=dict(boxstyle="round,pad=0.25", facecolor="white", edgecolor="#BBBBBB", lw=0.6))
    ax.text(3.0, -(steps + 0.0) - 0.2 if steps else -1, f"{end_label}\nn = {n(end)}", ha="center", va="center",
            bbox=dict(boxstyle="round,pad=0.4", facecolor="#E8F1FA", edgecolor=OKABE_ITO[4], linewidth=1.2))
    _title(ax, "Patient flow (eligibility, Wen et al. 2019 section 2.1)")
    markers = sorted({v for c in ("excluded", "remaining") for v in attrition[c] if isinstance(v, str)})
    if markers:
        _note(fig, _WITHHELD_NOTE.format(markers=", ".join(markers)), fontsize=7.5, color="#555555")
    return fig


#: Note under a figure with withheld counts (make share).
_WITHHELD_NOTE = ("{markers}: count withheld for circulation (<N: fewer than N patients; [c]: withheld so that "
                  "no small count can be worked out); not plotted at its value.")


def _withheld(values: pd.Series) -> np.ndarray:
    """Rows whose count is a text marker (withheld by msc_sle.workbook.disclosure)."""
    return values.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)


def _mark_withheld(ax, xs, labels, color, lift: int = 0) -> None:
    """A hollow marker on the axis, with its marker text (``lift`` lines higher), where a withheld point would be."""
    for x, label in zip(xs, labels):
        ax.plot([x], [0.0], marker="o", ms=7, mfc="white", mec=color, mew=1.3, ls="none", clip_on=False, zorder=4)
        ax.annotate(label, (x, 0.0), xytext=(0, 7 + 11 * lift), textcoords="offset points", ha="center",
                    va="bottom", fontsize=8, color=color)


# --------------------------------------------------------------------------- Figure 1

@_laid_out
def sledai_over_time_figure(scores: pd.DataFrame, *, p_value: float | None = None, test: str = "Friedman test",
                            trajectories: bool = True, value: str = "sledai", month: str = "month",
                            n_labels=None, max_lines: int | None = None, seed: int = 0, ranges: bool = True):
    """The paper's Figure 1: SLEDAI-2K box plots per visit month with each patient's trajectory.

    Boxes show the median and quartiles (SPSS type 6, as the tables print them), whiskers the
    range (the paper's "median (range)"), grey lines each patient's trajectory.

    ``scores`` is long form (``patient_id``, ``month``, ``value``). Tick labels give the month and
    the number of patients scored at that visit; the title names the test and its p-value
    (``test`` as computed over the patients with every visit). ``trajectories=False`` drops the
    patient lines (e.g. for a shared bundle); ``n_labels`` (``{month: text}``) replaces the number of
    patients in the tick labels (e.g. ``"<5"`` when it is withheld). Above ``max_lines`` patients a
    random sample of ``max_lines`` of them (seeded by ``seed``) is drawn as lines, so the figure stays
    readable and small at registry scale; the boxes use every patient and the caption says so.
    ``ranges=False`` (a shared bundle) draws no whiskers (a minimum or maximum is one patient's value)
    and no box for a visit whose number of patients scored is withheld (``n_labels`` not a number).
    """
    data = scores[["patient_id", month, value]].dropna(subset=[value]).copy()
    months = sorted(int(m) for m in data[month].unique())
    data["_month"] = pd.Categorical(data[month].astype(int), categories=months, ordered=True)
    counts = data.groupby("_month", observed=False)[value].size()
    fig, ax = _new((7.0, 4.4))
    if data.empty:
        _title(ax, "SLEDAI-2K over the year after MSC transplantation")
        _nothing_to_draw(ax, "Not computable: no patient with a SLEDAI-2K score (n = 0).")
        return fig
    if trajectories:
        wide = data.pivot_table(index="patient_id", columns="_month", values=value, observed=False)
        n_patients = len(wide)
        if max_lines is not None and n_patients > max_lines:
            wide = wide.sample(n=max_lines, random_state=seed).sort_index()
        xs = np.arange(len(months))
        for _, series in wide.iterrows():
            ax.plot(xs, series.to_numpy(dtype=float), color="#9A9A9A", alpha=0.35, lw=0.7, zorder=1)
    # Boxes from the quartiles the tables print (SPSS type 6, msc_sle.stats.summary), not from
    # matplotlib's own (type 7); whiskers span the range: the paper reports median (range), and
    # the patient lines show every value anyway, so no outlier markers.
    boxes, positions = [], []
    for i, m in enumerate(months):
        if not ranges and not str((n_labels or {}).get(m, counts.loc[m])).isdigit():
            continue    # the patients scored are withheld: their quartiles are too (docs/disclosure.md)
        s_ = stats.summary(data.loc[data["_month"] == m, value].to_numpy(dtype=float))
        low, high = (s_.min, s_.max) if ranges else (s_.q1, s_.q3)
        boxes.append(dict(med=s_.median, q1=s_.q1, q3=s_.q3, whislo=low, whishi=high, fliers=[]))
        positions.append(i)
    if boxes:
        ax.bxp(boxes, positions=positions, widths=0.5, patch_artist=True, showfliers=False,
               boxprops=dict(facecolor=OKABE_ITO[1], alpha=0.85, linewidth=1.0),
               medianprops=dict(color="black", lw=1.2), whiskerprops=dict(lw=1.0), capprops=dict(lw=1.0), zorder=2)
    ax.set_xlim(-0.5, len(months) - 0.5)
    ax.set_xticks(range(len(months)))
    shown = {m: (n_labels or {}).get(m, counts.loc[m]) for m in months}
    ax.set_xticklabels([f"{_visit(m)}\n(n = {shown[m]})" for m in months])
    ax.set_xlabel(VISIT_AXIS)
    ax.set_ylabel("SLEDAI-2K score (points)")
    ax.set_ylim(bottom=-0.5)
    ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    if p_value is not None:
        _title(ax, f"SLEDAI-2K over the year after MSC transplantation ({test}, {p_text(p_value)})")
    else:
        _title(ax, "SLEDAI-2K over the year after MSC transplantation")
    lines = "each patient's SLEDAI-2K from visit to visit"
    if trajectories and len(wide) < n_patients:
        lines = (f"the SLEDAI-2K from visit to visit of a random sample of {len(wide)} of the {n_patients} patients "
                 f"(seed {seed}; the boxes use every patient)")
    whiskers = "whiskers: the range (minimum to maximum)" if ranges else \
        "no whiskers and no box where the patients scored are withheld (shared bundle)"
    _caption(fig, f"Boxes: median and quartiles (SPSS type 6, as the tables print them); {whiskers}; grey lines: {lines}"
                  + ("" if trajectories else " (not drawn in a shared bundle)") + ". n: patients scored at the visit.")
    return fig


# --------------------------------------------------------------------------- response rates

@_laid_out
def response_rate_figure(rates: pd.DataFrame, *, order: Sequence[str] | None = None):
    """Response rate per follow-up visit with Wilson 95% CIs, one colour and marker per response.

    ``rates`` comes from :func:`msc_sle.rates.response_rates` (columns ``response``, ``when``,
    ``percent``, ``ci_low``, ``ci_high``, ``patients``).
    """
    when = list(dict.fromkeys(rates["when"])) if order is None else list(order)
    responses = list(dict.fromkeys(rates["response"]))
    fig, ax = _new((7.0, 4.0))
    width = 0.8 / max(1, len(responses))
    markers = "osD^v"
    for j, resp in enumerate(responses):
        sub = rates[rates["response"] == resp].set_index("when").reindex(when)
        x = np.arange(len(when)) + (j - (len(responses) - 1) / 2) * width
        y = sub["percent"].to_numpy(dtype=float)
        err = np.clip(np.vstack([y - sub["ci_low"].to_numpy(dtype=float), sub["ci_high"].to_numpy(dtype=float) - y]),
                      0, None)
        color = OKABE_ITO[(4, 5, 2, 0, 6)[j % 5]]
        ax.errorbar(x, y, yerr=err, fmt=markers[j % len(markers)], color=color,
                    capsize=3, lw=1.2, ms=6, label=resp)
        if "n" in sub:
            hidden = _withheld(sub["n"])
            if hidden.any():
                _mark_withheld(ax, x[hidden], sub["n"][hidden].tolist(), color)
    n = int(rates["patients"].max()) if len(rates) else 0
    if not n:
        _title(ax, "Response rates with Wilson 95% confidence intervals")
        _nothing_to_draw(ax, "Not computable: no patient (n = 0), so no response rate.")
        return fig
    ax.set_xticks(range(len(when)))
    ax.set_xticklabels([w.replace("month ", "M").replace("during the year", "During\nthe year") for w in when])
    ax.set_ylim(0, 100)
    ax.set_ylabel(f"Patients meeting the definition (%, of n = {n})")
    ax.set_xlabel(VISIT_AXIS)
    _title(ax, "Response rates with Wilson 95% confidence intervals")
    ax.legend(title="Response", frameon=False)
    _withheld_note(fig, rates)
    return fig


def _withheld_note(fig, table) -> None:
    if "n" in table and _withheld(table["n"]).any():
        markers = sorted({v for v in table["n"] if isinstance(v, str)})
        _note(fig, "Hollow markers: " + _WITHHELD_NOTE.format(markers=", ".join(markers)), fontsize=7.5,
              color="#555555")


@_laid_out
def cumulative_response_figure(cumulative: pd.DataFrame):
    """Cumulative share of patients who had reached each response by each visit (step curves)."""
    fig, ax = _new((6.0, 3.8))
    if not len(cumulative) or not int(cumulative["patients"].max()):
        _title(ax, "Cumulative proportion reaching the response (shaded: Wilson 95% CI)")
        _nothing_to_draw(ax, "Not computable: no patient (n = 0), so no cumulative response.")
        return fig
    for j, (resp, sub) in enumerate(cumulative.groupby("response", sort=False)):
        sub = sub.sort_values("month")
        color = OKABE_ITO[(4, 5, 2, 0, 6)[j % 5]]
        # carry the last value half a month on, so the step reached at the last visit is visible
        x = np.append(sub["month"].to_numpy(dtype=float), sub["month"].max() + 0.6)
        def ext(col):
            return np.append(sub[col].to_numpy(dtype=float), sub[col].iloc[-1])
        ax.step(x, ext("percent"), where="post", color=color, lw=1.6,
                label=f"{resp} (n = {int(sub['patients'].iloc[0])})")
        ax.plot(sub["month"], sub["percent"], "o", color=color, ms=4)
        ax.fill_between(x, ext("ci_low"), ext("ci_high"), step="post", color=color, alpha=0.15, lw=0)
        hidden = _withheld(sub["n"])
        if hidden.any():  # side by side, one response beside the other
            shift = (j - (cumulative["response"].nunique() - 1) / 2) * 0.35
            _mark_withheld(ax, sub["month"].to_numpy(dtype=float)[hidden] + shift, sub["n"][hidden].tolist(), color,
                           lift=j)
    months = sorted(cumulative["month"].unique())
    # the axis runs on past the carried last step, so the step and its band end inside it
    ax.set_xlim(-0.3, (max(months) if months else 12) + 0.9)
    _visit_ticks(ax, months)
    ax.set_ylim(0, 100)
    ax.set_ylabel("Patients who reached it (%, cumulative)")
    _title(ax, "Cumulative proportion reaching the response (shaded: Wilson 95% CI)")
    ax.legend(frameon=False, loc="upper left")
    _withheld_note(fig, cumulative)
    return fig


# --------------------------------------------------------------------------- forest plot



def forest_data(result, p_decimals="auto") -> pd.DataFrame:
    """The odds-ratio rows of a :func:`msc_sle.compare.compare_groups` result, for :func:`forest_plot`.

    Variables without an odds ratio (not testable, e.g. constant) are left out; a two-level
    category keeps its first shown level only.

    Columns: ``label`` (with the level for non-boolean variables), ``odds_ratio``, ``ci_low``,
    ``ci_high``, ``p_value``, ``q_value`` (NaN without adjustment), ``test`` and ``annotation``
    ("p = 0.003 (Fisher); q = 0.04"), in the order of the table. p and q are printed as the table beside
    the plot prints them (:func:`msc_sle.present.format.format_p` with the same ``p_decimals`` as
    :func:`msc_sle.present.tables.comparison_table`). A result whose odds ratio is
    withheld (a text marker, ``msc_sle.workbook.disclosure``) gives a row with ``withheld`` true,
    no estimate, and the marker as annotation; :func:`forest_plot` labels it instead of drawing it.
    """
    result = getattr(result, "table", result)  # a Comparison or its table
    # One row per variable: the levels of a two-level category are reciprocal odds ratios.
    rows = result[(result["effect"] == "odds ratio") & result["effect_estimate"].notna()]
    rows = rows.drop_duplicates("variable")
    out = []
    for r in rows.itertuples(index=False):
        hidden = isinstance(r.effect_estimate, str)
        level = r.level
        if level is True or level is None or level == "" or (not isinstance(level, str) and pd.isna(level)) \
                or str(r.label).lower().startswith(str(level).lower()):
            label = str(r.label)
        else:
            label = f"{r.label}: {level}"
        q = getattr(r, "q_value", math.nan)
        test = TESTS[r.test].label if r.test in TESTS else r.test
        if hidden:
            out.append({"label": label, "odds_ratio": math.nan, "ci_low": math.nan, "ci_high": math.nan,
                        "p_value": math.nan, "q_value": math.nan, "test": r.test,
                        "annotation": f"{r.effect_estimate} (withheld: small counts)", "withheld": True})
            continue
        qtext = "" if not isinstance(q, str) and pd.isna(q) else "; " + (
            f"q {q}" if isinstance(q, str) else p_text(q, symbol="q", digits=p_decimals))
        note = p_text(r.p_value, test, digits=p_decimals) + qtext
        out.append({"label": label, "odds_ratio": r.effect_estimate, "ci_low": r.effect_ci_low,
                    "ci_high": r.effect_ci_high, "p_value": r.p_value, "q_value": q if not isinstance(q, str) else math.nan,
                    "test": r.test, "annotation": note, "withheld": False})
    return pd.DataFrame(out, columns=["label", "odds_ratio", "ci_low", "ci_high", "p_value", "q_value", "test",
                                      "annotation", "withheld"])


@_laid_out
def forest_plot(effects: pd.DataFrame, *, label: str = "label", estimate: str = "odds_ratio",
                low: str = "ci_low", high: str = "ci_high", annotate: str | None = None,
                title: str = "Odds ratios with 95% confidence intervals", outcome: str = "the response",
                annotate_title: str = "p (test); q (BH)"):
    """Forest plot of odds ratios (log scale) with 95% CIs, one row per variable, top to bottom.

    ``effects`` comes from :func:`forest_data`. Rows without a finite, positive
    interval are listed as "not estimable" instead of drawn. ``annotate`` names a text column
    (e.g. "p = 0.003 (Fisher); q = 0.040") printed in a column at the right of the plot.
    """
    rows = effects.reset_index(drop=True)
    n_rows = max(1, len(rows))
    fig = plt.figure(figsize=(8.0 if annotate else 5.5, 1.2 + 0.3 * n_rows), layout="constrained")
    if annotate:
        ax, side = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [3, 2], "wspace": 0.02})
    else:
        ax, side = fig.subplots(1, 1), None
    y = np.arange(len(rows))[::-1]
    est = rows[estimate].to_numpy(dtype=float)
    lo, hi = rows[low].to_numpy(dtype=float), rows[high].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(est) & np.isfinite(lo) & np.isfinite(hi) & (lo > 0) & (est > 0)
    ax.errorbar(est[finite], y[finite], xerr=[est[finite] - lo[finite], hi[finite] - est[finite]], fmt="s",
                color=OKABE_ITO[4], ms=5, capsize=2, lw=1.1)
    ax.axvline(1.0, color="#555555", lw=0.8, ls="--")
    ax.set_xscale("log")
    if finite.any():
        lo_x = max(float(np.min(lo[finite])) / 1.5, 1e-3)
        hi_x = min(float(np.max(hi[finite])) * 1.5, 1e3)
    else:
        lo_x, hi_x = 0.1, 10.0
    ax.set_xlim(min(lo_x, 0.5), max(hi_x, 2.0))
    _plain_log_ticks(ax.xaxis)
    ax.set_yticks(y)
    ax.set_yticklabels([typeset(t) for t in rows[label].astype(str)])  # tick labels are redrawn from this list
    ax.set_ylim(-0.7, len(rows) - 0.3)
    withheld = rows["withheld"].fillna(False).to_numpy(dtype=bool) if "withheld" in rows else np.zeros(len(rows), bool)
    for yi, ok, hide in zip(y, finite, withheld):
        if not ok:
            ax.text(1.0, yi, " withheld (small counts)" if hide else " not estimable", ha="left", va="center",
                    fontsize=8, color="#555555")
    ax.set_xlabel(f"Odds ratio (95% CI, log scale)\n> 1: more frequent among patients with {outcome}")
    if not len(rows):
        _nothing_to_draw(ax, "Not computable: no odds ratio could be estimated (every variable is not testable; "
                             "the table's footnote says why).")
    _suptitle(fig, title)
    if side is not None:
        side.axis("off")
        notes = [side.text(0.02, yi, text, ha="left", va="center", fontsize=8)
                 for yi, text in zip(y, rows[annotate].astype(str))]
        side.set_title(annotate_title, loc="left", fontsize=9)
        # widen the canvas by what the longest annotation overflows (text is not laid out by
        # matplotlib); the layout alone places the axes, a full draw here would render it all twice
        fig.get_layout_engine().execute(fig)
        renderer = fig.canvas.get_renderer()
        right = max((t.get_window_extent(renderer).x1 for t in notes), default=0.0)
        overflow = (right - fig.bbox.x1) / fig.dpi
        if overflow > -0.05:
            fig.set_figwidth(fig.get_figwidth() + overflow + 0.15)
    return fig


# --------------------------------------------------------------------------- the models stage

@_laid_out
def calibration_figure(curve, *, corrected: tuple[float, float] | None = None, annotation: str = "",
                       title: str = "Calibration of the predicted risk",
                       predicted_range: tuple[float, float] | None = None):
    """Observed against predicted risk: the apparent lowess smooth, quintile groups of predicted
    risk (observed proportion with its Wilson 95% CI), the ideal diagonal and, when ``corrected``
    = (intercept, slope) is given, the optimism-corrected recalibration line
    ``expit(a + b logit(p))``: what the model's predictions are expected to mean in new patients.
    The line is drawn only over ``predicted_range`` (lowest, highest predicted risk; default: the
    range of the lowess smooth, which runs over every prediction), since nothing is known of the
    calibration where the model predicted no one.

    ``curve`` is a :class:`msc_sle.stats.models.CalibrationCurve` (method ``"lowess"``).
    """
    fig, ax = _new((5.6, 5.0))
    ax.plot([0, 1], [0, 1], ls="--", color="#777777", lw=0.9, label="Ideal (observed = predicted)")
    if len(curve.smooth):
        ax.plot(curve.smooth["predicted"], curve.smooth["observed"], color=OKABE_ITO[4], lw=1.6,
                label="Apparent (lowess)")
    g = curve.groups
    x = g["mean_predicted"].to_numpy(float)
    y = g["observed"].to_numpy(float)
    # clipped at 0: a Wilson bound at 0 or 1 can miss the proportion in the last bit
    err = np.clip(np.vstack([y - g["observed_lower"].to_numpy(float), g["observed_upper"].to_numpy(float) - y]),
                  0, None)
    ax.errorbar(x, y, yerr=err, fmt="o", color=OKABE_ITO[5], ms=5, capsize=3, lw=1.0,
                label=f"{len(g)} equal groups by predicted risk (Wilson 95% CI)"
                + ("" if np.isfinite(y).any() else ": withheld (small counts)"))
    if predicted_range is None and len(curve.smooth):
        predicted_range = (float(curve.smooth["predicted"].min()), float(curve.smooth["predicted"].max()))
    if corrected is not None and all(np.isfinite(corrected)) and predicted_range is not None:
        p = np.linspace(predicted_range[0], predicted_range[1], 99)
        a, b = corrected
        ax.plot(p, 1 / (1 + np.exp(-(a + b * np.log(p / (1 - p))))), color=OKABE_ITO[2], lw=1.4, ls="-.",
                label=f"Optimism-corrected (intercept {a:.2f}, slope {b:.2f}),\nover the range of predicted risk")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("Predicted probability")
    ax.set_ylabel("Observed proportion")
    _title(ax, title)
    ax.legend(frameon=False, loc="upper left", fontsize=8)
    if annotation:
        ax.text(0.98, 0.02, annotation, transform=ax.transAxes, ha="right", va="bottom", fontsize=8)
    return fig


@_laid_out
def cumulative_incidence_figure(incidence, *, overall=None, title: str = "Cumulative incidence of first response",
                                ylabel: str = "Patients with a first response (%)", test_text: str = "",
                                small_cell_min: int = 0):
    """Step curves of the cumulative incidence of a first event seen at visits, one per group, with
    pointwise 95% CIs (Kaplan-Meier; none for Turnbull), and the numbers at risk under the axis.

    ``incidence`` is a :class:`msc_sle.stats.survival.CumulativeIncidence`; ``overall``, the same
    estimate without groups, adds a grey dashed curve for all patients (and its row of numbers at
    risk). The curve steps only at the visits: between two visits the event time is unknown, not
    constant. Numbers at risk below ``small_cell_min`` show as "<N".
    """
    table = incidence.table
    groups = list(incidence.groups)
    if overall is not None and groups != ["all"]:
        table = pd.concat([table, overall.table.assign(group="all")], ignore_index=True)
        groups = groups + ["all"]
    times = sorted(table["time"].unique())
    fig = plt.figure(figsize=(7.0, 4.4 + 0.25 * len(groups)), layout="constrained")
    ax, risk = fig.subplots(2, 1, sharex=True,
                            gridspec_kw={"height_ratios": [4.0, 0.45 + 0.3 * len(groups)]})
    for j, group in enumerate(groups):
        sub = table[table["group"] == group].sort_values("time")
        # a row withheld in a shared bundle (no estimate, counts as markers) is not drawn
        sub = sub[pd.to_numeric(sub["cum_incidence"], errors="coerce").notna()]
        color = "#555555" if group == "all" else OKABE_ITO[(4, 5, 2, 0, 6)[j % 5]]
        t = np.append(sub["time"].to_numpy(float), max(times) + 0.6)

        def ext(col):
            return 100 * np.append(sub[col].to_numpy(float), sub[col].iloc[-1])

        name = "All patients" if group == "all" else str(group)
        alone = group == "all" and len(groups) > 1  # the overall curve beside the groups: no band
        ax.step(t, ext("cum_incidence"), where="post", color=color, lw=1.2 if alone else 1.6,
                ls="--" if alone else "-", label=f"{name} (n = {int(sub['n_risk'].iloc[0])})")
        ax.plot(sub["time"], 100 * sub["cum_incidence"], "o", color=color, ms=3 if alone else 4)
        if sub["ci_lower"].notna().any() and not alone:
            ax.fill_between(t, ext("ci_lower"), ext("ci_upper"), step="post", color=color, alpha=0.15, lw=0)
    ax.set_ylim(0, 100)
    ax.set_ylabel(ylabel)
    _title(ax, title + (f"\n{test_text}" if test_text else ""))
    ax.legend(frameon=False, loc="upper left")
    risk.set_xlim(-0.3, max(times) + 0.9)  # past the carried last step and its band
    risk.set_ylim(-0.5, len(groups) - 0.5)
    risk.set_yticks(range(len(groups)))
    risk.set_yticklabels(["All" if g == "all" else _wrap(typeset(g), 22) for g in groups][::-1], fontsize=8)
    risk.tick_params(axis="y", length=0)
    for j, group in enumerate(groups):
        sub = table[table["group"] == group].set_index("time")
        for time in times:
            n = sub.loc[time, "n_risk"]
            text = n if isinstance(n, str) else f"<{small_cell_min}" if 0 < int(n) < small_cell_min else str(int(n))
            risk.text(time, len(groups) - 1 - j, text, ha="center", va="center", fontsize=8)
    for side in ("left", "top", "right"):
        risk.spines[side].set_visible(False)
    risk.set_title("Numbers at risk (not yet responded, still followed)", loc="left", fontsize=8)
    _visit_ticks(risk, times)
    return fig


@_laid_out
def trajectory_figure(means: pd.DataFrame, raw: pd.DataFrame, *, groups: Sequence[str] | None = None,
                      test_text: str = "", value_label: str = "SLEDAI-2K score (points)",
                      title: str = "SLEDAI-2K over the year by response", small_cell_min: int = 0,
                      model: str = "linear mixed model", caption: str = ""):
    """Two panels sharing the y axis: the model's estimated means with 95% CIs per group and visit
    (left), and the observed medians with quartiles (right; Figure 1's summary, split by group).

    ``means`` has ``group``, ``time``, ``mean``, ``ci_lower``, ``ci_upper`` (``mixed_model(...).means``);
    ``raw`` has ``group``, ``month``, ``n``, ``median``, ``q1``, ``q3``. Group sizes below
    ``small_cell_min`` show as "<N". ``model`` names the model in the left panel's title;
    ``caption`` (e.g. which interval limits were cut at the possible range) goes under the axes.
    """
    groups = list(groups) if groups is not None else list(dict.fromkeys(means["group"]))
    months = sorted(int(m) for m in means["time"].unique())
    xs = {m: i for i, m in enumerate(months)}
    fig = plt.figure(figsize=(8.5, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True)
    shift = 0.12
    for j, group in enumerate(groups):
        color = OKABE_ITO[(4, 5, 2, 0, 6)[j % 5]]
        offset = (j - (len(groups) - 1) / 2) * shift
        m = means[means["group"] == group].sort_values("time")
        x = np.array([xs[int(t)] for t in m["time"]]) + offset
        y = m["mean"].to_numpy(float)
        # clipped at 0: a quartile equal to the median can differ from it in the last bit
        left.errorbar(x, y, yerr=np.clip(np.vstack([y - m["ci_lower"].to_numpy(float),
                                                    m["ci_upper"].to_numpy(float) - y]), 0, None),
                      fmt="o-", color=color, ms=5, capsize=3, lw=1.3, label=str(group))
        r = raw[raw["group"] == group].sort_values("month")
        x = np.array([xs[int(t)] for t in r["month"]]) + offset
        y = r["median"].to_numpy(float)
        n = int(r["n"].max()) if len(r) else 0
        n = f"<{small_cell_min}" if 0 < n < small_cell_min else n
        spread = np.vstack([y - r["q1"].to_numpy(float), r["q3"].to_numpy(float) - y])
        right.errorbar(x, y, yerr=np.clip(spread, 0, None),
                       fmt="s--", color=color, ms=5, capsize=3, lw=1.1, label=f"{group} (n = {n})")
    for ax, sub in ((left, f"Estimated mean (95% CI), {model}"),
                    (right, "Observed median (quartiles)")):
        ax.set_xticks(range(len(months)))
        ax.set_xticklabels([_visit(m) for m in months])
        ax.set_xlabel(VISIT_AXIS)
        ax.set_title(sub, loc="left", fontsize=9)
        ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    left.set_ylabel(value_label)
    left.set_ylim(bottom=0)
    right.legend(frameon=False, fontsize=8, loc="upper right")
    _suptitle(fig, title + (f" ({test_text})" if test_text else ""))
    if caption:
        _caption(fig, caption)
    return fig
