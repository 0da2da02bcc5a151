"""The threshold explorer of ``05_explore``: sliders for the LDA/CR thresholds, live rates and a comparison.

:func:`explore` is the plain recomputation (testable, and timed by ``bench/bench_widgets.py``);
:func:`explorer` wraps it in ipywidgets.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..clinical import analysis_frame, classify_response
from ..compare import baseline_variables
from ..contract import read_dictionary
from ..paper.choices import compare_as_the_paper, paper_tests
from ..present.format import typeset
from ..present.tables import comparison_table, rates_table, rounded_rates
from ..rates import response_rates
from .disclosure import share_plan
from .params import PARAMETERS, ParameterError, Params, check_parameters

__all__ = ["ExploreResult", "ThresholdControl", "explore", "recompute", "explorer", "spans_text",
           "threshold_controls", "variable_choices"]


@dataclass(frozen=True)
class ExploreResult:
    """What the explorer shows for one setting of its controls.

    rates : response rates (LDA and CR, per month and during the year, Wilson 95% CIs).
    comparison : the chosen variable compared between patients with and without the chosen
        response, as a publication table (``msc_sle.present.tables.comparison_table``; the test is named in
        its footnotes, the tidy numbers are in ``comparison.tidy``).
    headline : one line per response, e.g. "LDA during the year: 40/69 (58.0%; 95% CI 46.2-68.9)".
    """
    rates: pd.DataFrame
    comparison: Any
    headline: str


def explore(cohort, frame: pd.DataFrame | None = None, params: Params | None = None, *, outcome: str = "lda",
            variable: str = "age_years", cache: dict | None = None) -> ExploreResult:
    """Recompute the response rates and one comparison for the thresholds of ``params``.

    ``params`` (:func:`~msc_sle.workbook.params.check_parameters`; default: the paper's values) gives
    the LDA/CR thresholds, ``decimals`` and ``small_cell_min``. ``frame`` is the analysis frame
    (``msc_sle.clinical.analysis_frame(cohort)``); pass it in so a widget change does not rebuild it.
    ``outcome`` ("lda" or "cr") splits the comparison; ``variable`` is a dictionary variable name.
    ``cache`` (a dict the caller keeps, e.g. one per explorer) reuses the comparison table when a
    change leaves the responders unchanged, which most slider steps do.
    """
    if outcome not in ("lda", "cr"):
        raise ValueError(f"outcome must be 'lda' or 'cr', got {outcome!r}")
    params = check_parameters() if params is None else params
    decimals, small_cell_min = params["decimals"], params["small_cell_min"]
    res = {"lda": classify_response(cohort, params.lda()), "cr": classify_response(cohort, params.cr())}
    rates = rounded_rates(response_rates([res["lda"], res["cr"]]), decimals)
    plan = _plan(cohort, params, cache)
    shown = plan.rates(rates)
    during = shown[rates["when"] == "during the year"]["shown"].tolist()
    # The headline names the response by its short name: the thresholds are on the controls.
    headline = f"LDA during the year: {during[0]}\nCR during the year: {during[1]}"
    ever = res[outcome].patients["ever"].to_numpy(dtype=bool, na_value=False)
    key = (outcome, variable, decimals, small_cell_min, params["share_suppress_zero"], params["test_rule"],
           _thresholds(params), ever.tobytes())
    comparison = None if cache is None else cache.get(key)
    if comparison is None:
        compared = _compare_one(cohort, frame, res[outcome], outcome, variable, params["test_rule"], cache)
        if compared.table.empty:  # e.g. a variable nobody has recorded: say so instead of an empty table
            comparison = pd.DataFrame({"note": [f"{variable}: no recorded value to compare"]})
        else:
            comparison = plan.comparison(comparison_table(compared, decimals=decimals, title=(
                f"Patients with and without {outcome.upper()} during the year"), footnotes=(_same_test_note(),)),
                grouping=f"{outcome}_ever")
        if cache is not None:
            if len(cache) > 256:
                cache.clear()
            cache[key] = comparison
    return ExploreResult(shown, comparison, headline)


def _same_test_note() -> str:
    """Says that the p value is Table 2's test, so a reader comparing the two pages knows when
    they must agree (same thresholds) and why they may not (other thresholds, other groups)."""
    return ("p value: the test Table 2 (04_predictors) uses for this row, by the rule above; with the "
            "run's thresholds it equals Table 2's p value, with other thresholds the groups change and so "
            "may the p value.")


def _thresholds(params: Params) -> tuple:
    # OUTCOME changes the result only through the disclosure plan, whose Params hold every parameter;
    # a page that does not declare it (05_explore under make run) reads none it did not declare
    return tuple(params[k] for k in ("lda_sledai_max", "lda_prednisone_max", "cr_sledai_max", "cr_prednisone_max",
                                     "prednisone_cut", "outcome") if k in params)


def _plan(cohort, params: Params, cache: dict | None):
    """The bundle's disclosure plan for these thresholds (``make share``; unchanged tables otherwise),
    kept in ``cache``: building it takes seconds, and most control changes come back to a setting."""
    if params["small_cell_min"] <= 1:
        return share_plan(cohort, None, params)
    key = ("plan", params["small_cell_min"], params["share_suppress_zero"], _thresholds(params))
    plan = None if cache is None else cache.get(key)
    if plan is None:
        plan = share_plan(cohort, None, params)
        if cache is not None:
            cache[key] = plan
    return plan


def recompute(cohort, frame: pd.DataFrame, params: Params, controls: dict, cache: dict | None = None) -> ExploreResult:
    """What one control change runs: the runner's validation of the thresholds on the controls
    (same rules and messages, e.g. CR looser than LDA raises :class:`ParameterError`), then
    :func:`explore`.

    ``bench/bench_widgets.py`` times this function. A full garbage collection scanning the loaded
    libraries and the cohort would stall a change now and then for 100-150 ms; 05_explore freezes
    what is loaded (``gc.freeze()``) before drawing the panel, in the open, rather than this library
    changing the interpreter's collector behind the notebook's back.
    """
    controls = dict(controls)
    choice = {k: controls.pop(k) for k in ("outcome", "variable") if k in controls}
    current = check_parameters(**{**params, **controls})
    return explore(cohort, frame, current, cache=cache, **choice)


def _compare_one(cohort, frame, result, outcome: str, variable: str, test_rule: str, cache: dict | None):
    if frame is None:
        frame = analysis_frame(cohort)
    label = f"{result.definition.label.split(' [')[0]} during the year"
    # the column saying whom the variable applies to travels with it (the dose group of induced
    # patients only): without it a not-applicable patient would be counted as missing
    rule = _applies_if(variable)
    data = frame[["patient_id", variable] + ([rule] if rule in frame.columns and rule != variable else [])].copy()
    data["response"] = data["patient_id"].map(result.patients.set_index("patient_id")["ever"]).astype("boolean")
    # Tested as Table 2 tests (04_predictors, ``test_rule``; by default the test the paper used
    # for the row): at the parameters' thresholds the explorer's p is Table 2's, not that of a rule
    # of its own (Fisher by expected counts once gave 0.002 where Table 2 printed 0.001). On an extract
    # that is not the paper's cohort, Table 2's rule is the documented one, and so is the explorer's.
    key = ("paper_choice", outcome)
    choice = None if cache is None else cache.get(key)
    if choice is None:
        choice = paper_tests(outcome, baseline_variables(frame))
        if cache is not None:
            cache[key] = choice
    return compare_as_the_paper(data, "response", outcome, test_rule, [variable],
                                labels={"response": label}, effect_sizes=False, paper_choice=choice,
                                paper_cohort=bool(cohort.paper_cohort))


def _applies_if(variable: str) -> str:
    # a column the dictionary does not know applies to everyone
    return getattr(read_dictionary().get(variable), "applies_if", "")


def variable_choices(frame: pd.DataFrame, variables=None) -> list[tuple[str, str]]:
    """(label, name) of the baseline variables the explorer offers, labelled as a clinician reads
    them: the dictionary's label, with the unit for a continuous variable and the levels for a split
    (so the prednisone dose and its < 20 / ≥ 20 split are told apart)."""
    out = []
    for name in (baseline_variables(frame) if variables is None else variables):
        var = read_dictionary().get(name)
        if var is None:  # a column the dictionary does not know is shown by its name
            out.append((name, name))
            continue
        label = typeset(var.label)
        if var.measure == "continuous":
            label = f"{label}, median" + (f" ({var.unit})" if var.unit and var.unit not in label else "")
        elif var.kind == "category" and var.name.endswith("_group"):
            label = f"{label}: " + " / ".join(typeset(level) for level in var.levels)
        out.append((label, name))
    return out


@dataclass(frozen=True)
class ThresholdControl:
    """One threshold of the panel: a slider and a box over the same range, kept equal both ways.

    ``low``..``high`` is the slider's span (:func:`threshold_controls`), ``step`` its step;
    ``integer`` thresholds take whole numbers only. :meth:`parse` reads what is typed in the box.
    """
    name: str
    label: str
    unit: str
    low: float
    high: float
    step: float
    integer: bool

    def text(self, value) -> str:
        """The value as the box shows it (7.5, 5, 4)."""
        return str(int(value)) if self.integer else f"{float(value):g}"

    def span(self) -> str:
        """The range in words, e.g. "0-20 points (whole numbers)"."""
        grain = "whole numbers" if self.integer else f"steps of {self.step:g}"
        return f"{self.text(self.low)}\u2013{self.text(self.high)} {self.unit} ({grain})"

    def parse(self, text: str):
        """The value typed in the box, or :class:`ParameterError` saying why it is refused.

        Nothing is coerced: "2.7" for a whole number of points, "7,5", "7.3" between two steps
        or a value beyond the slider's span is refused, so the box never shows one threshold
        while the tables use another."""
        typed = str(text).strip()

        def refuse(why: str) -> ParameterError:
            return ParameterError(f"{self.label}: {typed!r} refused, {why}; "
                                  f"the explorer takes {self.span()}")

        try:
            number = float(typed)
        except ValueError:
            raise refuse("not a number (use a dot for decimals)" if "," in typed else "not a number") from None
        if not math.isfinite(number):
            raise refuse("not a number")
        if self.integer:
            if not number.is_integer():
                raise refuse(f"not a whole number of {self.unit}")
            value = int(number)
        else:
            if not _on_grid(number - self.low, self.step):
                raise refuse("between two steps of the slider")
            value = round(number, 6)
        if not self.low <= value <= self.high:
            raise refuse("outside the slider's range")
        return value


#: The threshold controls: parameter, label, the slider's clinical span (before widening), step.
#: SLEDAI-2K 0-20 points: the published response thresholds lie within 0-4 (CR < 3, LDA and LLDAS
#: <= 4) and the paper's patients enter at >= 8; beyond 20 a "response" would count patients with
#: high disease activity, and spreading the drag over the score's 0-105 made one step of the mouse
#: several points. Prednisone 0-30 mg/day: the definitions use 5 and 7.5 mg/day and Table 2 splits
#: at 20 mg/day; 30 mg/day is the top of "medium dose" in the EULAR nomenclature (Buttgereit 2002).
_THRESHOLDS = (("lda_sledai_max", "LDA: SLEDAI-2K at most", (0, 20), 1),
               ("lda_prednisone_max", "LDA: prednisone at most", (0, 30), 0.5),
               ("cr_sledai_max", "CR: SLEDAI-2K at most", (0, 20), 1),
               ("cr_prednisone_max", "CR: prednisone at most", (0, 30), 0.5))


def _on_grid(distance: float, step: float) -> bool:
    steps = distance / step
    return abs(steps - round(steps)) <= 1e-9


def threshold_controls(params: Params | None = None) -> tuple[ThresholdControl, ...]:
    """The panel's threshold controls for ``params`` (default: the paper's values).

    Each slider spans its clinical range (:data:`_THRESHOLDS`), widened to take the value of
    ``params`` when a run sets one beyond it, and never beyond the range the parameter itself
    allows (``workbook/params.py``, what ``make run`` accepts): one outer bound for both."""
    params = check_parameters() if params is None else params
    out = []
    for name, label, (low, high), step in _THRESHOLDS:
        p = PARAMETERS[name]
        value = params[name]
        low, high = max(p.low, min(low, value)), min(p.high, max(high, value))
        # a run's dose between two steps (make run LDA_PREDNISONE_MAX=7.25) gets the finer step that
        # holds it: the slider could not show it otherwise, and the box would refuse the run's own value
        step = next((s for s in (step, 0.25, 0.1, 0.05) if _on_grid(value - low, s)), 0.01)
        out.append(ThresholdControl(name, f"{label} ({p.unit})", p.unit, low, high, step, p.kind == "int"))
    return tuple(out)


def spans_text(controls) -> str:
    """What the panel says the controls take, one phrase per measure when LDA and CR share a range:
    "Ranges: SLEDAI-2K (LDA, CR) 0-20 points (whole numbers); ..."."""
    groups: dict[tuple[str, str], list[str]] = {}
    for c in controls:
        response, measure = c.label.split(" (")[0].split(": ", 1)
        groups.setdefault((measure.replace(" at most", ""), c.span()), []).append(response)
    return ("Ranges: " + "; ".join(f"{measure} ({', '.join(who)}) {span}" for (measure, span), who in groups.items())
            + ". Drag a slider, or type a value in its box and press Enter.")


def _display_data(obj) -> dict:
    """``obj`` as one display_data output of an ipywidgets Output (its rich forms: HTML, text)."""
    from IPython.core.formatters import format_display_data

    data, metadata = format_display_data(obj)
    return {"output_type": "display_data", "data": data, "metadata": metadata}


def explorer(cohort, frame: pd.DataFrame | None = None, params: Params | None = None,
             variables: list[str] | None = None):
    """An ipywidgets panel: one control per threshold (a slider and a box to type the value, kept
    equal both ways), outcome and variable dropdowns, live tables.

    Returns the widget (display it). The sliders span clinical ranges (:func:`threshold_controls`);
    what is typed in a box is read by :meth:`ThresholdControl.parse`: a fraction for a whole
    number, a value between steps or beyond the range is refused with a message beside the
    controls, and the box goes back to the slider's value. Each accepted change calls
    :func:`recompute`, whose rules (CR looser than LDA) are the runner's, with its message.
    """
    import ipywidgets as w

    params = check_parameters() if params is None else params
    frame = analysis_frame(cohort) if frame is None else frame
    choices = variable_choices(frame, variables)
    style = {"description_width": "14rem"}
    sliders, rows = {}, []
    refused = w.HTML()
    refused.add_class("msc-refused")
    for control in threshold_controls(params):
        slider = (w.IntSlider if control.integer else w.FloatSlider)(
            value=params[control.name], min=control.low, max=control.high, step=control.step, readout=False,
            description=control.label, style=style, layout=w.Layout(width="30rem"))
        # a Text box, not IntText: the browser's number box drops what it cannot read ("2.7"
        # became 27) before Python sees it; here every keystroke reaches parse() as typed
        box = w.Text(value=control.text(slider.value), continuous_update=False, layout=w.Layout(width="6rem"))
        box.add_class(f"msc-{control.name}")
        _link(control, slider, box, refused)
        sliders[control.name] = slider
        rows.append(w.HBox([slider, box]))
    spans = w.HTML(html.escape(spans_text(threshold_controls(params))))
    spans.add_class("msc-spans")
    selects = {
        "outcome": w.Dropdown(options=[("LDA", "lda"), ("CR", "cr")], value="lda",
                              description="Compare patients by", style=style, layout=w.Layout(width="36rem")),
        "variable": w.Dropdown(options=choices, value="age_years" if any(v == "age_years" for _, v in choices)
                               else choices[0][1], description="Baseline variable", style=style,
                               layout=w.Layout(width="36rem")),
    }
    headline = w.HTML(layout=w.Layout(margin="0.5rem 0"))
    headline.add_class("msc-headline")
    out = w.Output()
    cache: dict = {}

    def redraw(_change=None):
        # slider floats drift (5.000000000000001); thresholds are read at the control's precision
        values = {k: round(s.value, 2) if isinstance(s.value, float) else s.value for k, s in sliders.items()}
        values.update({k: c.value for k, c in selects.items()})
        try:
            result = recompute(cohort, frame, params, values, cache)
        except ParameterError as err:
            headline.value = f"<b class='msc-error' style='color:#b00020'>{html.escape(str(err))}</b>"
            out.outputs = ()
            return
        headline.value = "<br>".join(f"<b class='msc-rate'>{line}</b>" for line in result.headline.splitlines())
        # The tables are set as the panel's state, not captured with `with out: display(...)`: under
        # capture, a headless run's client (nbclient) writes every output back to the kernel on the
        # shell channel while waiting there for the cell's reply, and about one run in ten the
        # reply was never seen (05_explore stalled until the runner's watch restarted it).
        out.outputs = tuple(_display_data(table) for table in (rates_table(result.rates), result.comparison))

    for control in list(sliders.values()) + list(selects.values()):
        control.observe(redraw, names="value")
    # The first view (a continuous variable) needs no scipy.stats; a categorical variable's test does.
    # Load it while the panel is drawn rather than in the user's first choice of one (0.6 s).
    import scipy.stats  # noqa: F401
    redraw()
    return w.VBox(rows + [refused, spans] + list(selects.values()) + [headline, out])


def _link(control: ThresholdControl, slider, box, message) -> None:
    """Keep ``slider`` and ``box`` equal both ways: the slider holds the value (the tables follow
    it), the box shows it; a typed value moves the slider or is refused in ``message``."""
    def slider_moved(change):
        message.value = ""
        box.value = control.text(change["new"])

    def typed(change):
        if change["new"] == control.text(slider.value):
            return  # the box was set from the slider
        try:
            value = control.parse(change["new"])
        except ParameterError as err:
            message.value = f"<b class='msc-error' style='color:#b00020'>{html.escape(str(err))}</b>"
            box.value = control.text(slider.value)
            return
        message.value = ""
        slider.value = value
        box.value = control.text(value)  # "7.50" typed shows as 7.5, as the slider sets it

    slider.observe(slider_moved, names="value")
    box.observe(typed, names="value")
