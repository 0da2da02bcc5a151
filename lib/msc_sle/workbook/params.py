"""The workbook's notebook parameters: one declared table read by the runner and by the notebooks.

``make run NAME=value`` sets the parameters below. Every notebook's ``parameters`` cell holds one
dict, ``overrides`` (empty = the paper's analysis on the bundled cohort), which the runner fills
with the whole validated set, so every page of a bundle applies the same thresholds; each default
is written once, in :data:`PARAMETERS`. The runner rejects unknown names and bad values before any
notebook executes (papermill itself only warns), and each notebook calls :func:`check_parameters`
right after its parameters cell, so a bad value typed in JupyterLab gets the same clear message.

>>> from msc_sle.workbook.params import check_parameters
>>> check_parameters(outcome="lda", alpha=0.01).outcome
'lda'
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterator, Mapping

from numpy import bool_ as np_bool

from ..clinical import PREDNISONE_CUT_MG, baseline_predictors, get_definition, paper_cr, paper_lda
from ..paper.choices import TEST_RULE_CHOICES

__all__ = ["Parameter", "PARAMETERS", "Params", "ParameterError", "check_parameters", "parse_assignments",
           "parameter_help", "PARAMETER_WORDS", "parameter_words", "parameter_markdown", "OUTCOMES", "PATH_PARAMETERS",
           "SHARE_ONLY"]

#: Response definitions a notebook can use as outcome (``msc_sle.clinical.get_definition`` names).
OUTCOMES = ("cr", "lda", "lldas", "doris", "sledai_reduction")


@dataclass(frozen=True)
class Parameter:
    """One notebook parameter: its type, paper default, allowed values and meaning.

    ``kind`` is one of ``"path"`` (a directory, ``None`` = the notebook's own default),
    ``"choice"`` (one of ``choices``), ``"bool"`` (true or false), ``"int"`` or ``"float"`` (within
    ``low``..``high``, both inclusive unless ``low_open``), or ``"names"``: a comma-separated list of
    ``low`` to ``high`` distinct names from ``choices`` (kept as that text, e.g.
    ``"age_years,prior_cyc"``, so it passes unchanged through the command line, papermill and the
    provenance; :meth:`Params.names` splits it).
    """

    name: str
    kind: str
    default: Any
    meaning: str
    unit: str = ""
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    low_open: bool = False

    def allowed(self) -> str:
        """The allowed values in words, as the error messages and ``LIST_PARAMS=1`` show them."""
        if self.kind == "choice":
            return " | ".join(self.choices)
        if self.kind == "path":
            return "a folder path"
        if self.kind == "bool":
            return "true | false"
        if self.kind == "names":
            return (f"{self.low:g} to {self.high:g} comma-separated names of baseline variables "
                    "(data/dictionary.csv)")
        lo = "" if self.low is None else (f"> {self.low:g}" if self.low_open else f">= {self.low:g}")
        hi = "" if self.high is None else f"<= {self.high:g}"
        kind = "integer" if self.kind == "int" else "number"
        return f"{kind} " + " and ".join(x for x in (lo, hi) if x)

    @property
    def make_name(self) -> str:
        """The name on the ``make`` command line (``OUTCOME=lda``; ``DATA``/``OUT`` for the folders)."""
        return _MAKE_ALIASES.get(self.name, self.name.upper())


# Each default is written once: the clinical thresholds come from the library's definitions
# (msc_sle.clinical: paper_lda, paper_cr, PREDNISONE_CUT_MG), the rest is written here.
PARAMETERS: Mapping[str, Parameter] = MappingProxyType({p.name: p for p in (
    Parameter("data_dir", "path", None,
       "Extract folder with the patients and visits tables (default: the bundled SYNTHETIC cohort)"),
    Parameter("out_dir", "path", None,
       "Output folder: make run writes notebooks/, html/, tables/, figures/ and index.html there "
       "(a notebook opened in JupyterLab writes nothing)"),
    Parameter("outcome", "choice", "cr",
       "Response compared in 04_predictors and modelled in 07_models: cr, lda (paper section 2.4), "
       "lldas (Franklyn 2016), doris (DORIS 2021), sledai_reduction (SLEDAI-4 reduction, the SLEDAI "
       "part of SRI-4)",
       choices=OUTCOMES),
    Parameter("predictors", "names", "age_years,sle_duration_months,sledai_m0,active_lupus_nephritis",
       "07_models: candidate predictors of the multivariable model, chosen on clinical grounds "
       "(age, disease duration, baseline SLEDAI-2K, active lupus nephritis; the notebook gives the "
       "rationale, and says that age was already known from the paper's Table 2); the first one also "
       "splits the time-to-response curves (a continuous one at its median) and enters the discrete-time "
       "model continuous",
       choices=baseline_predictors(), low=1, high=8),
    Parameter("n_bootstrap", "int", 1000,
       "07_models: bootstrap samples for Harrell's optimism-corrected c-statistic and calibration slope "
       "(0 = apparent performance only)", "samples", low=0, high=10000),
    Parameter("seed", "int", 7, "07_models: seed of the bootstrap's random numbers, and of the patient samples drawn above "
       "FIGURE_MAX_PATIENTS and MODEL_MAX_PATIENTS (same seed, same numbers)",
       low=0, high=999999),
    Parameter("figure_max_patients", "int", 500,
       "Figures draw one line per patient (Figure 1's trajectories) up to this many patients; above it, a "
       "seeded random sample of this many, and the caption says so", "patients", low=10, high=100000),
    Parameter("model_max_patients", "int", 2000,
       "07_models: above this many analysed patients the models, bootstrap and trajectories are fitted on a "
       "seeded random sample of this many patients, and the page says so (0 = always every patient)",
       "patients", low=0, high=10000000),
    Parameter("lda_sledai_max", "int", paper_lda.sledai_max, "LDA: SLEDAI-2K at most this (paper 2.4: <= 4)",
       "points", low=0, high=105),
    Parameter("lda_prednisone_max", "float", paper_lda.prednisone_max,
       "LDA: prednisone at most this (paper 2.4: <= 7.5 mg/day)", "mg/day", low=0, high=100),
    Parameter("cr_sledai_max", "int", paper_cr.sledai_max, "CR: SLEDAI-2K at most this (paper 2.4: < 3, i.e. <= 2)",
       "points", low=0, high=105),
    Parameter("cr_prednisone_max", "float", paper_cr.prednisone_max,
       "CR: prednisone at most this (paper 2.4: <= 5 mg/day)", "mg/day", low=0, high=100),
    Parameter("prednisone_cut", "float", PREDNISONE_CUT_MG,
       "Table 2 baseline prednisone split: low < cut <= high (data/README.md, reading 1)", "mg/day",
       low=0, high=1000, low_open=True),
    Parameter("test_rule", "choice", "paper",
       "Tests of Table 2: paper (the test the paper used for each row: Table 2's marks, section 2.5's tests "
       "elsewhere; on the paper's cohort only, i.e. an extract whose manifest says paper_cohort: on any other, "
       "expected_lt_5), expected_lt_5 (Fisher when an expected count is below 5), cochran (Cochran 1954), "
       "pearson_only; any rule but paper shows the paper's p beside where the tests differ",
       choices=TEST_RULE_CHOICES),
    Parameter("alpha", "float", 0.05, "Significance level (paper 2.5: p < 0.05)", low=0, high=0.5, low_open=True),
    Parameter("decimals", "int", 1, "Decimals shown for percentages in tables", low=0, high=4),
    Parameter("small_cell_min", "int", 0,
       "Counts below this show as '<N' (make share sets it; 0 = show every count)", "patients",
       low=0, high=100),
    Parameter("share_suppress_zero", "bool", True,
       "With SMALL_CELL_MIN: zero counts of patients with a characteristic, response or exclusion "
       "are suppressed too (a zero tells something about every patient of the group; "
       "docs/disclosure.md); missing-data counts of zero stay shown"),
)})


_MAKE_ALIASES = {"data_dir": "DATA", "out_dir": "OUT"}

#: How a page names each analysis parameter and its values, in the sentence that says what a run
#: changed from the paper's analysis (a clinician reads "highest prednisone for LDA: 10 mg/day", not
#: ``lda_prednisone_max=10.0``).
PARAMETER_WORDS = MappingProxyType({
    "outcome": "response compared and modelled", "predictors": "predictors of the model",
    "n_bootstrap": "bootstrap samples", "seed": "seed of the random samples",
    "figure_max_patients": "most patients drawn in a figure", "model_max_patients": "most patients modelled",
    "lda_sledai_max": "highest SLEDAI-2K for LDA", "lda_prednisone_max": "highest prednisone for LDA",
    "cr_sledai_max": "highest SLEDAI-2K for CR", "cr_prednisone_max": "highest prednisone for CR",
    "prednisone_cut": "prednisone split of Table 2", "test_rule": "tests of Table 2",
    "alpha": "significance level", "decimals": "decimals of percentages",
    "small_cell_min": "smallest count shown", "share_suppress_zero": "zero counts withheld too"})
_VALUE_WORDS = {"cr": "CR", "lda": "LDA", "lldas": "LLDAS", "doris": "DORIS remission",
                "sledai_reduction": "SLEDAI-4 reduction", "paper": "the paper's, row by row",
                "expected_lt_5": "Fisher's when an expected count is below 5", "cochran": "Cochran's rule",
                "pearson_only": "Pearson's chi-square only"}


def parameter_words(name: str, value: Any) -> str:
    """One parameter and its value as a page says it ("highest prednisone for LDA: 10 mg/day")."""
    p = PARAMETERS[name]
    if p.kind == "bool":
        shown = "yes" if value else "no"
    elif p.kind == "names":
        from ..contract import variable

        def label(v):
            try:
                return variable(v).label
            except KeyError:
                return v.replace("_", " ")
        shown = ", ".join(label(v.strip()) for v in str(value).split(",") if v.strip())
    elif isinstance(value, float):
        shown = f"{value:g}"
    else:
        shown = _VALUE_WORDS.get(str(value), str(value))
    unit = f" {p.unit}" if p.unit and p.kind in ("int", "float") else ""
    return f"{PARAMETER_WORDS.get(name, name.replace('_', ' '))}: {shown}{unit}"


class ParameterError(ValueError):
    """A notebook parameter is unknown or has a bad value; the message names it and what is allowed."""

    def _render_traceback_(self):
        # IPython shows this instead of a traceback: in JupyterLab a bad value typed into the
        # parameters cell reads as the one message, as on the command line.
        return [f"ParameterError: {self}"]


#: The parameters that name folders, not analysis choices (left out of the provenance's parameters).
PATH_PARAMETERS = ("data_dir", "out_dir")
#: Parameters that only act when ``small_cell_min`` > 1 (``make share``).
SHARE_ONLY = ("share_suppress_zero",)


class Params(Mapping):
    """Validated notebook parameters, read-only: every parameter with its value (default filled in).

    Read as a mapping (``params["outcome"]``) or by attribute (``params.outcome``). Built by
    :func:`check_parameters`; every notebook of a run receives the same values, so no two pages of a
    bundle apply different thresholds. A notebook narrows it to the parameters its ``parameters``
    cell declares (:meth:`declared`): reading any other is an error, since ``make run`` re-runs a
    page only when a parameter it declares changes.
    """

    __slots__ = ("_values", "_reads")

    def __init__(self, values: Mapping[str, Any], reads: tuple[str, ...] | None = None):
        object.__setattr__(self, "_values", dict(values))
        object.__setattr__(self, "_reads", None if reads is None else tuple(reads))

    def _shown(self) -> dict[str, Any]:
        return self._values if self._reads is None else {k: v for k, v in self._values.items() if k in self._reads}

    def __getitem__(self, name: str) -> Any:
        if self._reads is not None and name in self._values and name not in self._reads:
            p = PARAMETERS[name]
            raise ParameterError(
                f"this notebook reads the parameter {name} ({p.make_name}), which its parameters cell does not "
                f"declare: add {name!r} to `reads` there (make run reuses a page whose declared parameters, "
                "data and code are unchanged, so an undeclared one would leave the page stale)")
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._shown())

    def __len__(self) -> int:
        return len(self._shown())

    def __contains__(self, name) -> bool:
        return name in self._shown()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no parameter {name!r}; valid: {', '.join(PARAMETERS)}") from None

    def __setattr__(self, name, value):
        raise TypeError("Params is read-only; build another with check_parameters(...)")

    def __reduce__(self):
        return (Params, (self._values, self._reads))

    def __repr__(self) -> str:
        return f"Params({self._shown()!r})"

    def declared(self, reads) -> "Params":
        """These parameters narrowed to ``reads``, the names a notebook's ``parameters`` cell
        declares (an unknown name is an error). With ``small_cell_min`` > 1 nothing is narrowed:
        the disclosure plan is one plan over every page's counts (docs/disclosure.md), so each page
        then reads every parameter, and the runner keys each page on all of them."""
        unknown = [name for name in reads if name not in PARAMETERS]
        if unknown:
            raise ParameterError(f"`reads` names unknown parameter(s): {', '.join(unknown)}. "
                                 f"Valid parameters: {', '.join(PARAMETERS)}")
        if "small_cell_min" in reads and self._values["small_cell_min"] > 1:
            return Params(self._values)
        return Params(self._values, tuple(reads))

    def changed(self) -> dict[str, Any]:
        """The analysis parameters whose value is not the default (folders left out)."""
        return {k: v for k, v in self._shown().items()
                if k not in PATH_PARAMETERS and v != PARAMETERS[k].default}

    def analysis(self) -> dict[str, Any]:
        """Every analysis parameter (folders left out), as the provenance records them.

        ``share_suppress_zero`` is left out when it changes nothing (``small_cell_min`` <= 1: no
        suppression), so a default run records the same parameters as before it existed. Every
        parameter, declared or not (:meth:`declared`): a page's record keeps one shape, and an
        undeclared one holds its default, which the page does not read."""
        inert = () if self._values.get("small_cell_min", 0) > 1 else SHARE_ONLY
        return {k: v for k, v in self._values.items() if k not in PATH_PARAMETERS and k not in inert}

    def lda(self):
        """The paper's LDA with this run's thresholds (named after the change when one differs)."""
        return paper_lda.with_thresholds(**_changed(paper_lda, sledai_max=self["lda_sledai_max"],
                                                    prednisone_max=self["lda_prednisone_max"]))

    def cr(self):
        """The paper's CR with this run's thresholds."""
        return paper_cr.with_thresholds(**_changed(paper_cr, sledai_max=self["cr_sledai_max"],
                                                   prednisone_max=self["cr_prednisone_max"]))

    def definitions(self) -> dict:
        """``{"cr": self.cr(), "lda": self.lda()}``: the outcomes every page's analysis frame holds."""
        return {"cr": self.cr(), "lda": self.lda()}

    def names(self, name: str) -> tuple[str, ...]:
        """A ``"names"`` parameter as a tuple: ``params.names("predictors")``."""
        if PARAMETERS[name].kind != "names":
            raise ValueError(f"parameter {name} is not a list of names")
        return tuple(self[name].split(","))

    def outcome_definition(self, outcome: str | None = None):
        """The response definition named by ``outcome`` (default: this run's), with the LDA/CR
        thresholds applied."""
        outcome = self["outcome"] if outcome is None else outcome
        return {"lda": self.lda, "cr": self.cr}.get(outcome, lambda: get_definition(outcome))()

    def response_definitions(self) -> dict:
        """Every outcome choice and its definition, LDA/CR with this run's thresholds:
        ``{"cr": ..., "lda": ..., "lldas": ..., "doris": ..., "sledai_reduction": ...}``."""
        return {name: self.outcome_definition(name) for name in OUTCOMES}


def _changed(definition, **values) -> dict:
    """Only thresholds that differ, so the paper's definitions keep their plain names and labels."""
    return {k: v for k, v in values.items() if getattr(definition, k) != v}


def _default_text(p: Parameter) -> str:
    if p.kind == "bool":
        return "true" if p.default else "false"
    if p.kind == "names":
        return p.default
    return {"data_dir": "data/synthetic (bundled)", "out_dir": "reports"}.get(
        p.name, "(none)" if p.default is None else repr(p.default))


def parameter_markdown() -> str:
    """The parameter table as README.md shows it (a test keeps the README equal to this)."""
    lines = ["| make name | notebook name | default | allowed | meaning |", "|---|---|---|---|---|"]
    for p in PARAMETERS.values():
        unit = f" {p.unit}" if p.unit else ""
        allowed = p.allowed().replace("|", "\\|")  # a bare | would split the Markdown cell
        lines.append(f"| `{p.make_name}` | `{p.name}` | `{_default_text(p)}`{unit} | {allowed} | {p.meaning} |")
    return "\n".join(lines)


def parameter_help() -> str:
    """The parameter table as ``make run LIST_PARAMS=1`` prints it."""
    lines = ["Notebook parameters (make run NAME=value):", ""]
    width = max(len(p.make_name) for p in PARAMETERS.values())
    for p in PARAMETERS.values():
        default = _default_text(p)
        unit = f" {p.unit}" if p.unit else ""
        lines.append(f"  {p.make_name:<{width}}  default {default}{unit}; {p.allowed()}")
        lines.append(f"  {'':<{width}}  {p.meaning}")
    lines.append("")
    lines.append("Runner options: JOBS=<n> notebooks in parallel; SHARE_MIN=<n> (make share, default 5); "
                 "FRESH=1 executes every notebook, reusing no page of the run cache.")
    return "\n".join(lines)


def _valid_names() -> str:
    return ", ".join(p.make_name for p in PARAMETERS.values())


def _check_value(p: Parameter, value: Any) -> Any:
    """The value, checked against ``p`` (ints accepted for floats; bools never taken as numbers)."""
    given = value

    def bad(why: str) -> ParameterError:
        return ParameterError(f"parameter {p.name} ({p.make_name}) = {given!r}: {why}; "
                              f"allowed: {p.allowed()}. Meaning: {p.meaning}")

    if p.kind == "path":
        if value is None:
            return None
        if not isinstance(value, (str, Path)) or str(value).strip() == "":
            raise bad("expected a folder path")
        return str(value)
    if p.kind == "choice":
        if not isinstance(value, str) or value not in p.choices:
            raise bad("not one of the choices")
        return value
    if p.kind == "bool":
        if isinstance(value, (bool, np_bool)):
            return bool(value)
        raise bad("expected true or false")
    if p.kind == "names":
        return _check_names(p, value, bad)
    if isinstance(value, bool) or value is None:
        raise bad("expected a number")
    if p.kind == "int":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            raise bad("expected a whole number")
    else:
        if not isinstance(value, (int, float)):
            raise bad("expected a number")
        value = float(value)
        if not math.isfinite(value):
            raise bad("expected a finite number")
    if p.low is not None and (value <= p.low if p.low_open else value < p.low):
        raise bad("out of range")
    if p.high is not None and value > p.high:
        raise bad("out of range")
    return value


def _check_names(p: Parameter, value: Any, bad) -> str:
    """A list of names (text "a,b" or a list/tuple of strings) as its canonical text "a,b"."""
    if isinstance(value, str):
        names = [n.strip() for n in value.split(",")]
    elif isinstance(value, (list, tuple)) and all(isinstance(n, str) for n in value):
        names = [n.strip() for n in value]
    else:
        raise bad("expected comma-separated names")
    if any(n == "" for n in names):
        raise bad("an empty name (a stray comma?)")
    unknown = [n for n in names if n not in p.choices]
    if unknown:
        raise bad(f"not baseline variable(s): {', '.join(unknown)} (valid: {', '.join(p.choices)})")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise bad(f"named twice: {', '.join(repeated)}")
    if not p.low <= len(names) <= p.high:
        raise bad(f"{len(names)} names")
    return ",".join(names)


def check_parameters(**values: Any) -> Params:
    """Validate notebook parameters and return them (:class:`Params`, read-only) with the defaults filled in.

    Every name must be in :data:`PARAMETERS`; a bad name or value raises :class:`ParameterError`
    whose message names the parameter, the value, what is allowed and what it means.
    """
    unknown = [name for name in values if name not in PARAMETERS]
    if unknown:
        raise ParameterError(f"unknown parameter(s): {', '.join(sorted(unknown))}. "
                             f"Valid parameters: {', '.join(PARAMETERS)}")
    checked = {name: p.default for name, p in PARAMETERS.items()}
    for name, value in values.items():
        checked[name] = _check_value(PARAMETERS[name], value)
    if checked["cr_sledai_max"] > checked["lda_sledai_max"] or \
            checked["cr_prednisone_max"] > checked["lda_prednisone_max"]:
        # CR is the stricter state (paper 2.4); looser CR than LDA thresholds is almost surely a typo.
        raise ParameterError("CR thresholds must not be looser than LDA thresholds: "
                             f"cr_sledai_max={checked['cr_sledai_max']} vs lda_sledai_max={checked['lda_sledai_max']}, "
                             f"cr_prednisone_max={checked['cr_prednisone_max']} vs "
                             f"lda_prednisone_max={checked['lda_prednisone_max']}")
    return Params(checked)


_TRUE_WORDS = ("1", "true", "yes", "on")
_FALSE_WORDS = ("0", "false", "no", "off")


def _parse_text(p: Parameter, text: str) -> Any:
    """Turn the text of a command-line assignment into the parameter's type (no silent coercion)."""
    if p.kind in ("path", "choice", "names"):
        return text
    if p.kind == "bool":
        word = text.strip().lower()
        if word in _TRUE_WORDS or word in _FALSE_WORDS:
            return word in _TRUE_WORDS
        raise ParameterError(f"parameter {p.name} ({p.make_name}) = {text!r}: expected true or false "
                             f"(also 1/0, yes/no); allowed: {p.allowed()}")
    try:
        if p.kind == "int":
            return int(text)
        return float(text)
    except ValueError:
        kind = "a whole number" if p.kind == "int" else "a number (use a dot for decimals)"
        raise ParameterError(f"parameter {p.name} ({p.make_name}) = {text!r}: expected {kind}; "
                             f"allowed: {p.allowed()}") from None


def parse_assignments(assignments: list[str], reserved: tuple[str, ...] = ()) -> tuple[dict, dict]:
    """Split ``NAME=value`` command-line assignments into (notebook parameters, runner options).

    ``DATA``/``OUT`` map to ``data_dir``/``out_dir``; names in ``reserved`` (e.g. ``JOBS``) are runner
    options and returned as text; every other name must be a parameter (case-insensitive).  All
    unknown names are reported together, with the list of valid parameters.
    """
    params: dict[str, Any] = {}
    options: dict[str, str] = {}
    unknown: list[str] = []
    aliases = {v: k for k, v in _MAKE_ALIASES.items()}
    for item in assignments:
        if "=" not in item:
            raise ParameterError(f"expected NAME=value, got {item!r}")
        name, text = item.split("=", 1)
        key = name.strip()
        if key.upper() in reserved:
            options[key.upper()] = text
            continue
        pname = aliases.get(key.upper(), key.lower())
        if pname not in PARAMETERS:
            unknown.append(key)
            continue
        params[pname] = _parse_text(PARAMETERS[pname], text)
    if unknown:
        options_text = ", ".join(reserved) or "none"
        raise ParameterError(f"unknown parameter(s): {', '.join(unknown)}. Valid parameters: {_valid_names()} "
                             f"(runner options: {options_text}). 'make run LIST_PARAMS=1' explains each.")
    return dict(check_parameters(**params)), options
