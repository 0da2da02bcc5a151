"""The threshold explorer of ``05_explore``: sliders for the LDA/CR thresholds, live rates and a comparison.

:func:`explore` is the plain recomputation (testable, and timed by ``bench/bench_widgets.py``);
:func:`explorer` wraps it in ipywidgets.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..clinical import analysis_frame, classify_response
from ..compare import baseline_variables, compare_groups
from ..contract import variable_info
from ..present.format import typeset
from ..present.tables import comparison_table, rate_table, rates_table
from ..rates import response_rates
from .disclosure import share_plan
from .params import PARAMETERS, ParameterError, Params, check_parameters

__all__ = ["ExploreResult", "explore", "recompute", "explorer", "variable_choices"]


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
    rates = rate_table(response_rates([res["lda"], res["cr"]]), decimals)
    plan = _plan(cohort, params, cache)
    shown = plan.rates(rates)
    during = shown[rates["when"] == "during the year"]["shown"].tolist()
    # The headline names the response by its short name: the thresholds are on the controls.
    headline = f"LDA during the year: {during[0]}\nCR during the year: {during[1]}"
    ever = res[outcome].patients["ever"].to_numpy(dtype=bool, na_value=False)
    key = (outcome, variable, decimals, small_cell_min, params["share_suppress_zero"], _thresholds(params),
           ever.tobytes())
    comparison = None if cache is None else cache.get(key)
    if comparison is None:
        compared = _compare_one(cohort, frame, res[outcome], variable)
        if compared.table.empty:  # e.g. a variable nobody has recorded: say so instead of an empty table
            comparison = pd.DataFrame({"note": [f"{variable}: no recorded value to compare"]})
        else:
            comparison = plan.comparison(comparison_table(compared, decimals=decimals, title=(
                f"Patients with and without {outcome.upper()} during the year")), grouping=f"{outcome}_ever")
        if cache is not None:
            if len(cache) > 256:
                cache.clear()
            cache[key] = comparison
    return ExploreResult(shown, comparison, headline)


def _thresholds(params: Params) -> tuple:
    return tuple(params[k] for k in ("lda_sledai_max", "lda_prednisone_max", "cr_sledai_max", "cr_prednisone_max",
                                     "prednisone_cut", "outcome"))


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


def _compare_one(cohort, frame, result, variable: str):
    if frame is None:
        frame = analysis_frame(cohort)
    label = f"{result.definition.label.split(' [')[0]} during the year"
    # the column saying whom the variable applies to travels with it (the dose group of induced
    # patients only): without it a not-applicable patient would be counted as missing
    rule = _applies_if(variable)
    data = frame[["patient_id", variable] + ([rule] if rule in frame.columns and rule != variable else [])].copy()
    data["response"] = data["patient_id"].map(result.patients.set_index("patient_id")["ever"]).astype("boolean")
    return compare_groups(data, by="response", variables=[variable], labels={"response": label})


def _applies_if(variable: str) -> str:
    try:
        return str(variable_info(variable)["applies_if"] or "")
    except KeyError:  # a column the dictionary does not know applies to everyone
        return ""


def variable_choices(frame: pd.DataFrame, variables=None) -> list[tuple[str, str]]:
    """(label, name) of the baseline variables the explorer offers, labelled as a clinician reads
    them: the dictionary's label, with the unit for a continuous variable and the levels for a split
    (so the prednisone dose and its < 20 / ≥ 20 split are told apart)."""
    out = []
    for name in (baseline_variables(frame) if variables is None else variables):
        try:
            info = variable_info(name)
        except KeyError:  # a column the dictionary does not know is shown by its name
            out.append((name, name))
            continue
        label = typeset(info["label"])
        if info["type"] in ("number", "integer"):
            label = f"{label}, median" + (f" ({info['unit']})" if info["unit"] and info["unit"] not in label else "")
        elif info["type"] == "category" and info["name"].endswith("_group"):
            label = f"{label}: " + " / ".join(typeset(level) for level in info["allowed"].split("|"))
        out.append((label, name))
    return out


#: The explorer's threshold controls: parameter, label, integer?
_THRESHOLDS = (("lda_sledai_max", "LDA: SLEDAI-2K at most (points)"),
               ("lda_prednisone_max", "LDA: prednisone at most (mg/day)"),
               ("cr_sledai_max", "CR: SLEDAI-2K at most (points)"),
               ("cr_prednisone_max", "CR: prednisone at most (mg/day)"))


def _display_data(obj) -> dict:
    """``obj`` as one display_data output of an ipywidgets Output (its rich forms: HTML, text)."""
    from IPython.core.formatters import format_display_data

    data, metadata = format_display_data(obj)
    return {"output_type": "display_data", "data": data, "metadata": metadata}


def explorer(cohort, frame: pd.DataFrame | None = None, params: Params | None = None,
             variables: list[str] | None = None):
    """An ipywidgets panel: threshold sliders with a box to type the value, outcome and variable
    dropdowns, live tables.

    Returns the widget (display it). Each change calls :func:`recompute`: the thresholds are
    checked by the runner's own rules over the parameter's whole range, and a value that breaks
    them (500 mg/day typed in a box, CR looser than LDA) is refused with the runner's message
    instead of being clamped.
    """
    import ipywidgets as w

    params = check_parameters() if params is None else params
    frame = analysis_frame(cohort) if frame is None else frame
    choices = variable_choices(frame, variables)
    style = {"description_width": "14rem"}
    boxes, rows = {}, []
    for name, label in _THRESHOLDS:
        p = PARAMETERS[name]
        integer = p.kind == "int"
        slider = (w.IntSlider if integer else w.FloatSlider)(
            value=params[name], min=p.low, max=p.high, step=1 if integer else 0.5, readout=False,
            description=label, style=style, layout=w.Layout(width="30rem"))
        box = (w.IntText if integer else w.FloatText)(value=params[name], layout=w.Layout(width="6rem"))
        box.add_class(f"msc-{name}")
        slider.observe(lambda change, box=box: setattr(box, "value", change["new"]), names="value")
        boxes[name] = box
        rows.append(w.HBox([slider, box]))
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
        values = {k: round(b.value, 2) if isinstance(b.value, float) else b.value for k, b in boxes.items()}
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

    for control in list(boxes.values()) + list(selects.values()):
        control.observe(redraw, names="value")
    # The first view (a continuous variable) needs no scipy.stats; a categorical variable's test does.
    # Load it while the panel is drawn rather than in the user's first choice of one (0.6 s).
    import scipy.stats  # noqa: F401
    redraw()
    return w.VBox(rows + list(selects.values()) + [headline, out])
