"""The threshold explorer of ``05_explore``: sliders for the LDA/CR thresholds, live rates and a comparison.

:func:`explore` is the plain recomputation (testable, and timed by ``bench/bench_widgets.py``);
:func:`explorer` wraps it in ipywidgets.
"""
from __future__ import annotations

import gc
import html
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..clinical import analysis_frame, classify_response
from ..compare import baseline_variables, compare_groups
from ..contract import variable_info
from ..present.tables import comparison_table
from ..rates import response_rates
from .disclosure import share_plan
from .params import ParameterError, Params, check_parameters

__all__ = ["ExploreResult", "explore", "recompute", "explorer"]


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
    rates = response_rates([res["lda"], res["cr"]], decimals=decimals)
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

    Automatic garbage collection is paused for the duration and restored afterwards: a full
    collection scanning the imported stack, the cohort and the frame would otherwise stall a
    slider move now and then for 100+ ms (``bench/bench_widgets.py`` times this function).
    """
    controls = dict(controls)
    choice = {k: controls.pop(k) for k in ("outcome", "variable") if k in controls}
    current = check_parameters(**{**params, **controls})
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return explore(cohort, frame, current, cache=cache, **choice)
    finally:
        if was_enabled:
            gc.enable()


def _compare_one(cohort, frame, result, variable: str):
    if frame is None:
        frame = analysis_frame(cohort)
    label = f"{result.definition.label.split(' [')[0]} during the year"
    data = frame[["patient_id", variable]].copy()
    data["response"] = data["patient_id"].map(result.patients.set_index("patient_id")["ever"]).astype("boolean")
    return compare_groups(data, by="response", variables=[variable], labels={"response": label})


def explorer(cohort, frame: pd.DataFrame | None = None, params: Params | None = None,
             variables: list[str] | None = None):
    """An ipywidgets panel: threshold sliders, outcome and variable dropdowns, live tables.

    Returns the widget (display it). Each change calls :func:`explore` and redraws the output.
    """
    import ipywidgets as w
    from IPython.display import display

    params = check_parameters() if params is None else params
    frame = analysis_frame(cohort) if frame is None else frame
    if variables is None:
        variables = baseline_variables(frame)
    labels = {}
    for name in variables:
        try:
            labels[name] = variable_info(name)["label"]
        except KeyError:  # a column the dictionary does not know is shown by its name
            labels[name] = name
    style = {"description_width": "14rem"}
    layout = w.Layout(width="34rem")
    controls = {
        "lda_sledai_max": w.IntSlider(value=params["lda_sledai_max"], min=0, max=12, step=1,
                                      description="LDA: SLEDAI-2K at most (points)", style=style, layout=layout),
        "lda_prednisone_max": w.FloatSlider(value=params["lda_prednisone_max"], min=0, max=30, step=0.5,
                                            description="LDA: prednisone at most (mg/day)", style=style,
                                            layout=layout),
        "cr_sledai_max": w.IntSlider(value=params["cr_sledai_max"], min=0, max=12, step=1,
                                     description="CR: SLEDAI-2K at most (points)", style=style, layout=layout),
        "cr_prednisone_max": w.FloatSlider(value=params["cr_prednisone_max"], min=0, max=30, step=0.5,
                                           description="CR: prednisone at most (mg/day)", style=style,
                                           layout=layout),
        "outcome": w.Dropdown(options=[("LDA", "lda"), ("CR", "cr")], value="lda",
                              description="Compare patients by", style=style, layout=layout),
        "variable": w.Dropdown(options=[(labels[v], v) for v in variables],
                               value="age_years" if "age_years" in variables else variables[0],
                               description="Baseline variable", style=style, layout=layout),
    }
    headline = w.HTML(layout=w.Layout(margin="0.5rem 0"))
    headline.add_class("msc-headline")
    out = w.Output()
    cache: dict = {}

    def redraw(_change=None):
        # slider floats drift (5.000000000000001); thresholds are read at the slider's precision
        values = {k: round(c.value, 2) if isinstance(c.value, float) else c.value for k, c in controls.items()}
        try:
            result = recompute(cohort, frame, params, values, cache)
        except ParameterError as err:
            headline.value = f"<b class='msc-error' style='color:#b00020'>{html.escape(str(err))}</b>"
            out.clear_output()
            return
        headline.value = "<br>".join(f"<b class='msc-rate'>{line}</b>" for line in result.headline.splitlines())
        out.clear_output(wait=True)
        with out:
            display(result.rates.drop(columns=["ci_low", "ci_high"]))
            display(result.comparison)

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    return w.VBox(list(controls.values()) + [headline, out])
