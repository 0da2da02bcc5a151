"""The models stage, lupus side: a multivariable prognostic model of response, its internal
validation, time to first response and SLEDAI-2K trajectories, and the sensitivity of the model to
the response definition.

:mod:`msc_sle.stats.models`, :mod:`~msc_sle.stats.survival` and :mod:`~msc_sle.stats.longitudinal`
hold the estimates and know nothing of lupus. This module knows the analysis frame, the data
dictionary and the response definitions, and prepares what those functions take:

* :func:`model_data` -- complete cases of an outcome and predictors of the analysis frame, as a
  numeric design: booleans as 0/1 indicators, categories dummy coded against a reference level
  (a two-level category with a dictionary ``show_level`` shows that level, as Table 2 does),
  continuous variables per :data:`PER_UNIT` of their dictionary unit (age per 10 years); every
  term labelled from the dictionary; patients left out counted per missing variable.
* :func:`fit_prognostic_model` -- Firth's penalised logistic regression (profile penalised-
  likelihood CIs, penalised likelihood-ratio p), each predictor alone and all together, with the
  ordinary maximum likelihood fit beside it where it exists.
* :func:`validate_model` -- Harrell's bootstrap optimism correction of the c-statistic and the
  calibration slope, with the apparent calibration curve.
* :func:`prediction_report` -- the model as TRIPOD asks it reported: the equation with its FLIC
  intercept, shrunken beside unshrunk coefficients, bootstrap intervals of the corrected
  c-statistic and slope, Riley et al.'s minimum sample size beside n.
* :func:`first_response` / :func:`time_to_response` -- per patient, the visit interval in which a
  response was first seen (a missed visit widens it), and the cumulative incidence of first
  response over the visits, overall and by a predictor, with a log-rank test.
* :func:`sledai_trajectories` -- SLEDAI-2K over the visits in responders and non-responders: a
  mixed model for repeated measures (month categorical, the residual covariance chosen by AIC)
  with estimated means, the random-intercept model and the GEE beside it as sensitivity analyses,
  and the raw medians.
* :func:`sensitivity_analysis` -- the same model refitted for each response definition.

>>> data = model_data(frame, "cr_ever", ["age_years", "active_lupus_nephritis"])   # doctest: +SKIP
>>> model = fit_prognostic_model(data)                                               # doctest: +SKIP
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import stats
from .clinical import (BASELINE_MONTH, FOLLOW_UP_MONTHS, SLEDAI2K_WEIGHTS, classify_response, get_definition,
                       sledai_long, visit_label)
from .contract import Variable, as_dictionary, ids_in
from .stats.longitudinal import NLME_SPELLING, GEEResult, MixedModelResult, MMRMResult, gee_model, mixed_model, mmrm
from .stats.models import (BootstrapValidation, CalibrationCurve, EventsPerVariable, FirthResult,
                           LogisticResult, RegressionTable, bootstrap_validation, calibration_curve,
                           events_per_variable, firth_logistic, logistic, univariable_and_adjusted)
from .stats.estimability import NOT_ESTIMABLE, Estimability, check_logistic_fit
from .stats.functional_form import spline_nonlinearity
from .stats.survival import CumulativeIncidence, DiscreteTimeResult, cumulative_incidence, discrete_time_model, first_event

__all__ = ["PER_UNIT", "ModelData", "PrognosticModel", "ModelValidation", "TimeToResponse", "Trajectories",
           "SensitivityResult", "model_data", "fit_prognostic_model", "validate_model", "first_response",
           "time_to_response", "trajectory_data", "sledai_trajectories", "sensitivity_analysis", "outcome_label",
           "response_label", "model_sample", "check_fit", "not_estimable_text", "NOT_ESTIMABLE",
           "linearity_checks", "sparse_predictors", "nested_definitions", "multiplicity_statement"]
__all__ += ["PredictionReport", "prediction_report"]

#: Units in which a continuous predictor's odds ratio is given, by its dictionary unit: an odds
#: ratio per year of age or per month of disease duration is too close to 1 to read.
PER_UNIT: Mapping[str, float] = MappingProxyType({"years": 10.0, "months": 12.0, "mg/day": 10.0})
_TERM_COLUMNS = ["term", "variable", "label", "kind", "level", "reference", "per", "unit"]


# --------------------------------------------------------------------------------------------
# the design
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelData:
    """Complete cases of an outcome and its predictors, as a logistic model takes them.

    ``X`` holds one numeric column per model term (patients in rows, never displayed), ``y`` the
    outcome as 0/1. ``terms``: one row per term with ``term``, ``variable``, ``label`` (dictionary
    label, with the unit of a continuous term), ``kind`` (``continuous`` / ``indicator``),
    ``level`` and ``reference`` (the level shown and the level it is compared with), ``per``
    (units per step of a continuous term), ``unit``. ``variables``: one row per predictor with
    its label, kind and reference level. ``missing``: patients missing each variable (the
    outcome first); ``n_total`` patients in the frame, ``n_excluded`` of them left out.
    """

    X: pd.DataFrame
    y: pd.Series
    terms: pd.DataFrame
    variables: pd.DataFrame
    missing: pd.DataFrame
    outcome: str
    outcome_label: str
    n_total: int
    n_excluded: int

    @property
    def n(self) -> int:
        return int(len(self.y))

    @property
    def n_events(self) -> int:
        return int(self.y.sum())

    @property
    def epv(self) -> EventsPerVariable:
        """Events per variable: the smaller outcome class over the number of model terms."""
        return events_per_variable(self.y, len(self.terms))

    def exclusions(self) -> str:
        """Who was analysed and who was left out, and why, in one sentence."""
        text = f"{self.n} of {self.n_total} patients analysed (complete cases)"
        if not self.n_excluded:
            return text + "; no value missing."
        reasons = [f"{r.label} missing for {r.n_missing}" for r in self.missing.itertuples() if r.n_missing]
        return text + f"; {self.n_excluded} left out: " + "; ".join(reasons) + "."


def outcome_label(column: str, dictionary=None) -> str:
    """The dictionary label of an outcome column (``cr_ever`` -> "CR during 1 year"), else the name."""
    var = as_dictionary(dictionary).get(column)
    return var.label if var is not None and var.label else column


def _kind(series: pd.Series, var: Variable | None) -> str:
    """How a predictor is coded: "boolean" (one indicator), "category" (one per level) or "continuous"."""
    if var is not None:
        if var.measure is None:
            raise ValueError(f"{var.name!r} is a {var.kind} (data dictionary): neither yes/no, categorical nor numeric")
        return "continuous" if var.measure == "continuous" else var.kind
    if pd.api.types.is_bool_dtype(series.dtype):
        return "boolean"
    if isinstance(series.dtype, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_numeric_dtype(series.dtype):
        return "continuous"
    raise ValueError(f"{series.name!r} is neither boolean, categorical nor numeric")


def _levels(series: pd.Series, var: Variable | None) -> list:
    """Levels present, in the dictionary's (or the category's) order."""
    present = set(series.dropna().astype(object))
    if var is not None and var.levels:
        order = list(var.levels)
    elif isinstance(series.dtype, pd.CategoricalDtype):
        order = list(series.cat.categories)
    else:
        order = sorted(present, key=str)
    return [lv for lv in order if lv in present]


def _terms_for(name: str, series: pd.Series, var: Variable | None, per_unit: Mapping[str, float]):
    """[(term, column values, description)] for one predictor on the complete cases."""
    label = getattr(var, "label", "") or name
    unit = getattr(var, "unit", "")
    kind = _kind(series, var)
    if kind == "continuous":
        x = pd.to_numeric(series, errors="raise").astype(float)
        if x.nunique() < 2:
            raise ValueError(f"{name} ({label}) takes one value in every analysed patient; it cannot be estimated")
        per = float(per_unit.get(unit, 1.0))
        if per != 1:
            step = f"per {per:g} {unit}" if unit else f"per {per:g}"
        else:  # "per point", "per criterion"
            step = f"per {unit[:-1] if unit.endswith('s') else unit}" if unit else "per unit"
        return [(name, x / per, dict(label=f"{label} ({step})", kind="continuous", level="", reference="",
                                     per=per, unit=unit))]
    if kind == "boolean":
        x = series.astype("boolean").astype(float)
        if x.nunique() < 2:
            raise ValueError(f"{name} ({label}) is the same in every analysed patient "
                             f"({'yes' if x.iloc[0] else 'no'}); it cannot be estimated")
        return [(name, x, dict(label=label, kind="indicator", level="yes", reference="no", per=1.0, unit=""))]
    levels = _levels(series, var)
    if len(levels) < 2:
        raise ValueError(f"{name} ({label}) has one level among the analysed patients ({levels}); "
                         "it cannot be estimated")
    shown = getattr(var, "show_level", "")
    if len(levels) == 2 and shown in levels:
        reference, coded = next(lv for lv in levels if lv != shown), [shown]
    else:
        reference, coded = levels[0], levels[1:]
    values = series.astype(object)
    out = []
    for level in coded:
        term = f"{name}[{level}]"
        # a label that already names the level ("Female" for F) stands alone, as in Table 2
        text = label if label.lower().startswith(str(level).lower()) else f"{label}: {level}"
        out.append((term, (values == level).astype(float),
                    dict(label=text, kind="indicator", level=str(level), reference=str(reference), per=1.0,
                         unit="")))
    return out


def model_data(frame: pd.DataFrame, outcome: str, predictors: Sequence[str], *, label: str | None = None,
               per_unit: Mapping[str, float] = PER_UNIT, dictionary=None) -> ModelData:
    """The complete cases of ``outcome`` (a boolean column of the analysis frame) and ``predictors``.

    A patient missing the outcome or any predictor is left out (complete-case analysis), and the
    count missing per variable is kept (:meth:`ModelData.exclusions`). A predictor that takes a
    single value among the analysed patients cannot be estimated and raises ``ValueError``.
    """
    predictors = list(predictors)
    if not predictors:
        raise ValueError("name at least one predictor")
    if len(set(predictors)) != len(predictors):
        raise ValueError(f"a predictor is named twice: {predictors}")
    absent = [c for c in [outcome] + predictors if c not in frame.columns]
    if absent:
        raise ValueError(f"not columns of the analysis frame: {absent}")
    if outcome in predictors:
        raise ValueError(f"{outcome} is the outcome; it cannot also be a predictor")
    d = as_dictionary(dictionary)
    known = {name: d.get(name) for name in predictors}
    y_all = frame[outcome]
    if not (pd.api.types.is_bool_dtype(y_all.dtype) or set(y_all.dropna().unique()) <= {0, 1}):
        raise ValueError(f"the outcome {outcome} must be yes/no")
    missing_mask = pd.DataFrame({c: frame[c].isna() for c in [outcome] + predictors})
    complete = ~missing_mask.any(axis=1)
    labels = {outcome: label or outcome_label(outcome, d)}
    labels.update({n: getattr(known[n], "label", "") or n for n in predictors})
    missing = pd.DataFrame({"variable": list(missing_mask.columns),
                            "label": [labels[c] for c in missing_mask.columns],
                            "n_missing": [int(missing_mask[c].sum()) for c in missing_mask.columns]})
    sub = frame.loc[complete]
    y = sub[outcome].astype(float)
    if y.nunique() < 2:
        raise ValueError(f"every analysed patient has the same outcome ({labels[outcome]}: "
                         f"{'yes' if len(y) and y.iloc[0] else 'no'}); no model can be fitted")
    columns, described, variables = {}, [], []
    for name in predictors:
        parts = _terms_for(name, sub[name], known[name], per_unit)
        for term, values, info in parts:
            columns[term] = values.to_numpy(dtype=float)
            described.append({"term": term, "variable": name, **info})
        variables.append({"variable": name, "label": labels[name], "kind": _kind(sub[name], known[name]),
                          "reference": parts[0][2]["reference"], "n_terms": len(parts)})
    X = pd.DataFrame(columns, index=sub.index)
    return ModelData(X=X, y=y, terms=pd.DataFrame(described, columns=_TERM_COLUMNS),
                     variables=pd.DataFrame(variables), missing=missing, outcome=outcome,
                     outcome_label=labels[outcome], n_total=int(len(frame)), n_excluded=int((~complete).sum()))


# --------------------------------------------------------------------------------------------
# the model
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PrognosticModel:
    """Firth's multivariable logistic model with each predictor's univariable fit beside it, and
    the ordinary maximum likelihood fit where it exists (``ml.exists``)."""

    data: ModelData
    firth: FirthResult
    univariable: RegressionTable
    ml: LogisticResult
    alpha: float
    #: the estimability of each fit (:func:`check_fit`): ``"firth"``, ``"ml"``, ``"uni:<term>"``
    checks: Mapping[str, Estimability] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """One row per term: labels, univariable and adjusted (Firth) odds ratios with CIs and p,
        and the maximum likelihood odds ratio, CI and p (NaN where the MLE does not exist, or where
        the fit is not estimable: ``uni_estimable``, ``firth_estimable``, ``ml_estimable`` False)."""
        t = self.data.terms.set_index("term")[["variable", "label", "kind", "level", "reference", "per", "unit"]]
        t = t.join(self.univariable.table[["uni_or", "uni_lower", "uni_upper", "uni_p"]])
        f = self.firth.table
        t = t.assign(firth_or=f["odds_ratio"], firth_lower=f["or_lower"], firth_upper=f["or_upper"], firth_p=f["p"])
        m = self.ml.table
        t = t.assign(ml_or=m["odds_ratio"], ml_lower=m["or_lower"], ml_upper=m["or_upper"], ml_p=m["p"])
        est = {"uni": [self.estimable(f"uni:{term}") for term in t.index],
               "firth": [self.estimable("firth")] * len(t), "ml": [self.estimable("ml")] * len(t)}
        for fit, flags in est.items():
            t[f"{fit}_estimable"] = flags
            cols = [f"{fit}_or", f"{fit}_lower", f"{fit}_upper", f"{fit}_p"]
            t.loc[~t[f"{fit}_estimable"], cols] = np.nan
        return t.reset_index()

    def estimable(self, fit: str) -> bool:
        """Whether ``fit`` (``"firth"``, ``"ml"``, ``"uni:<term>"``) passed every check (ML: also
        that its estimates exist)."""
        check = self.checks.get(fit)
        return check is None or check.estimable

    def refusal(self, count: Callable[..., str] | None = None) -> str:
        """Why nothing built on the adjusted (Firth) model is shown, when it is not estimable ("" else)."""
        check = self.checks.get("firth")
        if check is None or check.estimable:
            return ""
        return (f"Not shown: the adjusted model is {not_estimable_text(check, self.data.outcome_label, count=count)}. "
                "Its internal validation and calibration would describe that artefact, not a model.")

    def not_estimable(self, count: Callable[..., str] | None = None) -> list[str]:
        """One sentence per fit that is not estimable, in clinical words (``count`` formats a count,
        e.g. the share mode's ``shown_count``)."""
        names = {"firth": "Adjusted, Firth", "ml": "Adjusted, ML"}
        labels = self.data.terms.set_index("term")["label"]
        out = []
        for key, check in self.checks.items():
            if check.estimable or (key == "ml" and not self.ml.exists):
                continue
            name = names.get(key) or f"Univariable, {labels.get(key[4:], key[4:])}"
            out.append(f"{name}: {not_estimable_text(check, self.data.outcome_label, count=count)}")
        return out

    @property
    def methods(self) -> dict[str, str]:
        """What produced each column of :meth:`table`, for footnotes."""
        level = f"{100 * (1 - self.alpha):g}%"
        return {
            "univariable": f"univariable: each predictor alone, Firth's penalised likelihood, {level} profile "
                           "penalised-likelihood CI, penalised likelihood-ratio test (1 df)",
            "firth": f"adjusted (Firth): all predictors together, Firth's penalised likelihood (firthmodels, "
                     f"R logistf conventions), {level} profile penalised-likelihood CI, penalised "
                     "likelihood-ratio test (1 df)",
            "ml": f"adjusted (ML): ordinary maximum likelihood (statsmodels Logit), {level} Wald CI, Wald z test"
                  + ("" if self.ml.exists else f"; not reported: {self.ml.message}"),
        }


def fit_prognostic_model(data: ModelData, *, alpha: float = 0.05) -> PrognosticModel:
    """Fit the multivariable Firth model, each predictor alone (Firth), and the ML model."""
    firth = firth_logistic(data.X, data.y, alpha=alpha)
    uni = univariable_and_adjusted(data.X, data.y, method="firth", alpha=alpha)
    ml = logistic(data.X, data.y, alpha=alpha)
    checks = {"firth": check_fit(data.X, data.y, firth), "ml": check_fit(data.X, data.y, ml)}
    for term in data.X.columns:
        # the univariable table keeps odds ratios only: the coefficients come from a refit without
        # the (slow) profile search, and its printed interval is checked against them
        one = firth_logistic(data.X[[term]], data.y, alpha=alpha, confint="wald")
        row = uni.table.loc[term]
        b0 = float(one.table["coef"].iloc[0])
        bounds = {"lower": [b0, math.log(row["uni_lower"])], "upper": [b0, math.log(row["uni_upper"])]}
        checks[f"uni:{term}"] = check_logistic_fit(data.X[[term]], data.y, one.table["coef"].to_numpy(float),
                                                   names=list(one.table.index), converged=one.converged, **bounds)
    return PrognosticModel(data=data, firth=firth, univariable=uni, ml=ml, alpha=float(alpha),
                           checks=MappingProxyType(checks))


def check_fit(X, y, fit: FirthResult | LogisticResult) -> Estimability:
    """Every estimability check (:func:`msc_sle.stats.estimability.check_logistic_fit`) on a Firth
    or ordinary ML fit: separation (ML), a maximum from several starts, a negative-definite
    Hessian, each profile or Wald interval containing its estimate."""
    penalised = isinstance(fit, FirthResult)
    t = fit.table
    converged = fit.converged and (penalised or fit.exists)
    return check_logistic_fit(X, y, t["coef"].to_numpy(float), lower=t["ci_lower"].to_numpy(float),
                              upper=t["ci_upper"].to_numpy(float), names=list(t.index), penalised=penalised,
                              converged=converged)


def not_estimable_text(check: Estimability, outcome: str, *, count: Callable[..., str] | None = None) -> str:
    """Why a fit is not printed, in the words of the patients: "not estimable: 68 of 69 patients had
    SLEDAI-4 reduction during the year (1 without it): the model found no maximum". ``count(value,
    of=total)`` formats each count (default: the number; the share mode passes its small-count rule)."""
    count = count or (lambda value, of=None: str(int(value)))
    n, events, rest = check.n, check.n_events, check.n - check.n_events
    smaller = f"{count(rest, of=n)} without it" if rest <= events else f"{count(events, of=n)} with it"
    head = f"{NOT_ESTIMABLE}: {count(events, of=n)} of {count(n)} patients had {outcome} ({smaller})"
    why = []
    if "separation" in check.problems:
        why.append("the predictors separate patients with and without it, so the ordinary maximum likelihood "
                   "estimates are infinite")
    if "not_converged" in check.problems:
        why.append("the fit did not converge")
    if "not_maximum" in check.problems or "hessian" in check.problems:
        why.append("too few patients in the smaller group: the fit stopped at a point that is not the "
                   "maximum of the likelihood (another starting point gives a better fit)"
                   if "not_maximum" in check.problems else
                   "too few patients in the smaller group: the likelihood has no clear maximum")
    if "ci_excludes_estimate" in check.problems or "ci_missing" in check.problems:
        why.append("its confidence intervals could not be computed around the estimates")
    return head + ": " + "; ".join(why)


# --------------------------------------------------------------------------------------------
# internal validation
# --------------------------------------------------------------------------------------------
_MEASURES = {"c": "c-statistic (AUC)", "slope": "Calibration slope", "intercept": "Calibration intercept",
             "brier": "Brier score"}


@dataclass(frozen=True)
class ModelValidation:
    """Apparent and bootstrap optimism-corrected performance of a :class:`PrognosticModel`.

    ``bootstrap`` is None when ``n_bootstrap`` was 0; ``calibration`` is the apparent calibration
    curve (lowess and quintile groups of predicted risk); ``predicted`` the apparent predicted
    risks (one per analysed patient, not for display)."""

    bootstrap: BootstrapValidation | None
    calibration: CalibrationCurve
    predicted: np.ndarray
    n_bootstrap: int
    seed: int | None

    def summary(self) -> pd.DataFrame:
        """One row per measure: ``apparent``, ``optimism`` and ``corrected`` side by side."""
        if self.bootstrap is not None:
            t = self.bootstrap.table.loc[list(_MEASURES), ["apparent", "optimism", "corrected", "n"]]
            t = t.rename(columns={"n": "replicates"})
        else:
            c = self.calibration
            t = pd.DataFrame({"apparent": [c.c, c.slope, c.intercept, c.brier]}, index=list(_MEASURES))
            t["optimism"] = np.nan
            t["corrected"] = np.nan
            t["replicates"] = 0
        t.insert(0, "measure", [_MEASURES[m] for m in t.index])
        return t.reset_index(drop=True)

    def corrected_line(self) -> tuple[float, float] | None:
        """(intercept, slope) of the optimism-corrected recalibration line, or None without bootstrap."""
        if self.bootstrap is None:
            return None
        t = self.bootstrap.table
        return float(t.loc["intercept", "corrected"]), float(t.loc["slope", "corrected"])

    def annotation(self) -> str:
        """Two short lines for the calibration plot."""
        if self.bootstrap is None:
            return f"c-statistic {self.calibration.c:.3f} (apparent)\ncalibration slope {self.calibration.slope:.2f}"
        b = self.bootstrap
        return (f"c-statistic {b.c_apparent:.3f} apparent, {b.c_corrected:.3f} corrected\n"
                f"calibration slope {b.table.loc['slope', 'apparent']:.2f} apparent, {b.slope_corrected:.2f} corrected")

    def text(self) -> str:
        """The headline in words: c-statistic and calibration slope, apparent and corrected."""
        c = self.calibration
        if self.bootstrap is None:
            return (f"c-statistic {c.c:.3f}, calibration slope {c.slope:.2f} (apparent only: n_bootstrap = 0, "
                    "no optimism correction)")
        b = self.bootstrap
        return (f"c-statistic {b.c_apparent:.3f} apparent, {b.c_corrected:.3f} optimism-corrected; calibration "
                f"slope {b.table.loc['slope', 'apparent']:.2f} apparent, {b.slope_corrected:.2f} corrected "
                f"({b.n_bootstrap} bootstrap samples, seed {b.seed}, {b.n_failed} failed "
                f"refit{'' if b.n_failed == 1 else 's'})")


def validate_model(model: PrognosticModel, *, n_bootstrap: int = 1000, seed: int | None = None,
                   progress: Callable[[int, int], None] | None = None) -> ModelValidation:
    """Harrell's bootstrap validation of the Firth model (same predictors refitted in each sample,
    no selection), and the apparent calibration curve. ``progress(i, n)`` is called as the
    bootstrap samples are refitted (i of n done); ``n_bootstrap = 0`` gives the apparent performance only."""
    data = model.data
    predicted = model.firth.predict_proba(data.X)
    curve = calibration_curve(data.y, predicted, method="lowess", alpha=model.alpha)
    boot = None
    if n_bootstrap:
        boot = bootstrap_validation(data.X, data.y, fit="firth", n_bootstrap=n_bootstrap, seed=seed,
                                    progress=progress)
    return ModelValidation(bootstrap=boot, calibration=curve, predicted=predicted, n_bootstrap=int(n_bootstrap),
                           seed=seed)


# --------------------------------------------------------------------------------------------
# the model as TRIPOD asks it reported
# --------------------------------------------------------------------------------------------
#: How each optimism-corrected measure gets its bootstrap interval (:func:`stats.prediction.corrected_interval`):
#: the location-shifted interval (Noma et al. 2021) for the c-statistic; for the calibration slope it
#: degenerates (each refitted model's slope in its own sample is about 1), so the percentiles of the
#: per-sample corrected slopes.
INTERVAL_METHODS: Mapping[str, str] = MappingProxyType({"c": "shifted", "slope": "replicates"})
#: Riley et al. (2020)'s anticipated Cox-Snell R2 when no earlier model of the outcome exists:
#: 15% of the largest the prevalence allows.
DEFAULT_R2_SHARE = 0.15


@dataclass(frozen=True)
class PredictionReport:
    """The TRIPOD items of a :class:`PrognosticModel` (Collins et al. 2015, items 10d, 14-16).

    ``coefficients``: one row per term, intercept first, with ``term``, ``label``, ``coef`` (Firth;
    the intercept FLIC-corrected), ``odds_ratio``, ``shrunk_coef`` and ``shrunk_or`` (slopes times
    the uniform shrinkage factor, intercept refitted). ``intercept_firth`` is Firth's own intercept,
    before the correction. ``shrinkage``: the bootstrap uniform shrinkage factor (the
    optimism-corrected calibration slope; NaN without bootstrap); ``heuristic_shrinkage`` van
    Houwelingen & le Cessie's from the ML likelihood-ratio test (NaN where the MLE does not exist).
    (NaN also when the corrected slope is 0 or below: no shrunken model is then offered.)
    ``performance``: one row per measure (``c``, ``slope``) with ``apparent``, ``corrected``,
    ``ci_lower``, ``ci_upper``, ``ci_method``. ``sample_size``: one row per anticipated Cox-Snell R2
    (``scenario``, ``r2_cs``, ``n1``, ``n2``, ``n3``, ``minimum``)."""

    data: ModelData
    coefficients: pd.DataFrame
    intercept_firth: float
    shrinkage: float
    heuristic_shrinkage: float
    lr_chi2: float
    lr_df: int
    lr_p: float
    observed_risk: float
    mean_risk_firth: float
    mean_risk_flic: float
    performance: pd.DataFrame
    sample_size: pd.DataFrame
    n_bootstrap: int
    n_failed: int
    alpha: float

    @property
    def minimum_n(self) -> tuple[int, int] | None:
        """The smallest and largest minimum sample size of the scenarios."""
        if self.sample_size.empty:
            return None
        return int(self.sample_size["minimum"].min()), int(self.sample_size["minimum"].max())

    @property
    def exploratory(self) -> bool:
        """Whether fewer patients were analysed than the smallest minimum sample size."""
        limits = self.minimum_n
        return limits is not None and self.data.n < limits[0]


def prediction_report(model: PrognosticModel, validation: ModelValidation, *, alpha: float | None = None
                      ) -> PredictionReport:
    """The model's equation with its FLIC intercept, shrunken beside unshrunk coefficients, bootstrap
    intervals for the corrected c-statistic and calibration slope, and Riley et al.'s minimum
    sample size for two anticipated Cox-Snell R2: 15% of its maximum (their default when no earlier
    model exists) and this model's own, adjusted for optimism (apparent R2 times the heuristic
    shrinkage, as they advise for a reported model)."""
    from .stats import prediction

    alpha = model.alpha if alpha is None else float(alpha)
    data = model.data
    X, y = data.X.to_numpy(float), data.y.to_numpy(float)
    slopes = model.firth.coef[1:]
    lp = X @ slopes
    flic = prediction.refit_intercept(y, lp)
    boot = validation.bootstrap
    s = float(boot.slope_corrected) if boot is not None else float("nan")
    # a corrected slope at or below 0 says the model predicts no better than chance in new patients:
    # no shrunken model is offered (multiplying by it would flip or erase every effect)
    s = s if s > 0 else float("nan")
    shrunk_intercept = prediction.refit_intercept(y, s * lp) if np.isfinite(s) else float("nan")
    terms = data.terms.set_index("term")
    coef = np.concatenate([[flic], slopes])
    shrunk = np.concatenate([[shrunk_intercept], s * slopes])
    coefficients = pd.DataFrame({"term": list(model.firth.names),
                                 "label": ["Intercept"] + [terms.loc[t, "label"] for t in model.firth.names[1:]],
                                 "coef": coef, "odds_ratio": np.exp(coef), "shrunk_coef": shrunk,
                                 "shrunk_or": np.exp(shrunk)})
    k = X.shape[1]
    if model.ml.exists:
        lr, lr_p = prediction.likelihood_ratio_test(model.ml.loglik, model.ml.loglik_null, k)
        heuristic = prediction.heuristic_shrinkage(lr, k) if lr > 0 else float("nan")
    else:
        lr, lr_p, heuristic = float("nan"), float("nan"), float("nan")
    rows = []
    for measure in ("c", "slope"):
        method = INTERVAL_METHODS[measure]
        if boot is None:
            apparent = validation.calibration.c if measure == "c" else validation.calibration.slope
            rows.append({"measure": measure, "apparent": apparent, "corrected": np.nan, "ci_lower": np.nan,
                         "ci_upper": np.nan, "ci_method": ""})
            continue
        lo, hi = prediction.corrected_interval(boot, measure, method=method, alpha=alpha)
        rows.append({"measure": measure, "apparent": float(boot.table.loc[measure, "apparent"]),
                     "corrected": float(boot.table.loc[measure, "corrected"]), "ci_lower": lo, "ci_upper": hi,
                     "ci_method": prediction.CORRECTED_INTERVAL_METHODS[method]})
    prevalence = float(y.mean())
    scenarios = [("15% of the largest Cox-Snell R2 (no earlier model)",
                  DEFAULT_R2_SHARE * prediction.max_cox_snell_r2(prevalence))]
    if np.isfinite(heuristic) and heuristic > 0:
        scenarios.append(("this model's Cox-Snell R2 adjusted for optimism",
                          heuristic * prediction.cox_snell_r2(lr, data.n)))
    sizes = []
    for scenario, r2 in scenarios:
        ss = prediction.minimum_sample_size(k, prevalence, r2)
        n1, n2, n3 = (int(v) for v in ss.criteria["n"])
        sizes.append({"scenario": scenario, "r2_cs": r2, "n1": n1, "n2": n2, "n3": n3, "minimum": ss.minimum})
    return PredictionReport(
        data=data, coefficients=coefficients, intercept_firth=float(model.firth.coef[0]), shrinkage=s,
        heuristic_shrinkage=float(heuristic), lr_chi2=float(lr), lr_df=int(k), lr_p=float(lr_p),
        observed_risk=prevalence, mean_risk_firth=float(np.mean(model.firth.predict_proba(data.X))),
        mean_risk_flic=float(np.mean(1.0 / (1.0 + np.exp(-(flic + lp))))),
        performance=pd.DataFrame(rows), sample_size=pd.DataFrame(sizes),
        n_bootstrap=int(validation.n_bootstrap), n_failed=int(boot.n_failed) if boot is not None else 0,
        alpha=alpha)


# --------------------------------------------------------------------------------------------
# time to first response
# --------------------------------------------------------------------------------------------
def first_response(cohort, definition, *, classified=None) -> pd.DataFrame:
    """Per patient, the visit interval in which ``definition`` was first met.

    One row per patient of ``cohort.patients`` with ``patient_id``, ``left`` (last assessed visit
    without the response, 0 if none), ``right`` (the visit where it was first met; without it, the
    last assessed visit), ``event``, ``widened`` (a scheduled visit was missed or could not be
    classified inside the interval), ``n_visits`` (assessed follow-up visits) and ``followed`` (at
    least one follow-up visit assessed; patients without one carry no information on the timing).
    A visit whose data cannot decide the definition counts as missed. ``classified``: the
    :func:`~msc_sle.clinical.classify_response` result of ``cohort`` and ``definition`` when the
    caller has it already (a multi-centre node counts both from one classification).
    """
    result = classify_response(cohort, get_definition(definition)) if classified is None else classified
    visits = result.visits[["patient_id", "month", "met"]]
    intervals = first_event(visits, subject="patient_id", time="month", event="met", origin=BASELINE_MONTH,
                            schedule=FOLLOW_UP_MONTHS)
    ids = result.patients["patient_id"]
    out = intervals.reindex(pd.Index(ids, name="patient_id")).reset_index()
    out["followed"] = out["right"].notna()
    out["event"] = out["event"].fillna(False).astype(bool)
    out["widened"] = out["widened"].fillna(False).astype(bool)
    out["n_visits"] = out["n_visits"].fillna(0).astype(int)
    return out


def _group_labels(series: pd.Series, name: str, var: Variable | None) -> tuple[pd.Series, str, tuple]:
    """Group labels for a split by one predictor: yes/no, the category's levels, or a median split."""
    label = getattr(var, "label", "") or name
    unit = getattr(var, "unit", "")
    kind = _kind(series, var)
    if kind == "boolean":
        values = series.astype("boolean")
        groups = values.map({True: f"{label}: yes", False: f"{label}: no"}).astype(object)
        return groups.where(values.notna()), f"{label} (yes / no)", (f"{label}: no", f"{label}: yes")
    if kind == "category":
        levels = _levels(series, var)
        shown = getattr(var, "show_level", "")
        if len(levels) == 2 and shown in levels and label.lower().startswith(shown.lower()):
            # a label naming its shown level ("Female" for F): yes / no, as Table 2 reads it
            other = next(lv for lv in levels if lv != shown)
            names = {shown: f"{label}: yes", other: f"{label}: no ({other})"}
            return (series.astype(object).map(lambda v: names.get(v) if pd.notna(v) else None),
                    f"{label} (yes / no)", (names[other], names[shown]))
        groups = series.astype(object).map(lambda v: f"{label}: {v}" if pd.notna(v) else None)
        return groups, label, tuple(f"{label}: {lv}" for lv in levels)
    x = pd.to_numeric(series, errors="raise").astype(float)
    cut = float(stats.summary(x.dropna().to_numpy()).median)
    u = f" {unit}" if unit else ""
    low, high = f"{label} < {cut:g}{u}", f"{label} >= {cut:g}{u}"
    groups = pd.Series(np.where(x < cut, low, high), index=series.index, dtype=object).where(x.notna())
    return groups, f"{label}, split at its median ({cut:g}{u})", (low, high)


@dataclass(frozen=True)
class TimeToResponse:
    """Cumulative incidence of first response over the visits, overall and by group.

    ``intervals``: per patient (:func:`first_response`, not for display); ``overall`` and
    ``by_group``: :class:`~msc_sle.stats.survival.CumulativeIncidence` (``by_group.test`` is the
    log-rank test); ``group_title`` says how the groups were formed; ``n_unfollowed``: patients
    without an assessed follow-up visit (left out); ``n_group_missing``: patients left out of the
    grouped analysis because the grouping variable is missing."""

    label: str
    intervals: pd.DataFrame
    overall: CumulativeIncidence
    by_group: CumulativeIncidence | None
    group_variable: str | None
    group_title: str
    n_unfollowed: int
    n_group_missing: int
    #: the discrete-time (complementary log-log) model of the ``by`` variable kept continuous
    #: (a yes/no one as 0/1), or None (no ``by``, a category, or no event); ``discrete_label`` its
    #: label with the step of a continuous variable ("Age/years (per 10 years)")
    discrete: DiscreteTimeResult | None = None
    discrete_label: str = ""

    def caveats(self) -> str:
        """What the estimate and the tests assume when a missed visit widened an interval ("" when none did)."""
        widened = int(self.intervals.loc[self.intervals["followed"], "widened"].sum())
        if not widened:
            return ""
        return (f"{widened} first response(s) fall in an interval widened by a missed or unclassifiable visit. "
                "The cumulative incidence is then Turnbull's estimate, which has no confidence intervals here; "
                "the log-rank test and the discrete-time model place each of these first responses at the visit "
                "where it was seen (right-endpoint imputation), which can make them look later than they were.")

    @property
    def shown(self) -> CumulativeIncidence:
        """The estimate to draw: by group when there are two groups or more, else overall."""
        if self.by_group is not None and len(self.by_group.groups) > 1:
            return self.by_group
        return self.overall

    @property
    def test(self):
        """The log-rank test between the groups (None without groups or with a single group)."""
        return None if self.by_group is None else self.by_group.test

    def schedule_note(self) -> str:
        """How the visit schedule is handled, with the counts of this analysis."""
        widened = int(self.intervals["widened"].sum())
        method = ("Kaplan-Meier on the visit-grouped times (the Turnbull estimate reduces to it: no interval "
                  "widened by a missed visit)" if self.overall.method == "kaplan-meier" else
                  f"Turnbull's nonparametric maximum likelihood estimate ({widened} interval(s) widened by a "
                  "missed or unclassifiable visit)")
        return (f"A first {self.label} is known only to have happened between the last visit without it and the "
                f"visit where it was seen (months {', '.join(map(str, FOLLOW_UP_MONTHS))}); the incidence is "
                f"estimated at those visits only, by {method}. {self.overall.n} patients analysed, "
                f"{self.overall.n_events} with a first {self.label}; "
                f"{self.n_unfollowed} without an assessed follow-up visit left out.")


def time_to_response(cohort, frame: pd.DataFrame, definition, *, by: str | None = None,
                     label: str | None = None, alpha: float = 0.05,
                     dictionary=None) -> TimeToResponse:
    """Cumulative incidence of the first ``definition`` response by visit, overall and by ``by``.

    ``by`` is a column of the analysis ``frame`` (same patients as ``cohort``): a boolean splits
    yes/no, a category by level, a continuous variable at its median (type-6 quantile, the tables'
    rule: the lower group is below the median). The log-rank test compares the groups on the
    visit-grouped times.
    """
    definition = get_definition(definition)
    label = label or definition.label
    intervals = first_response(cohort, definition)
    followed = intervals[intervals["followed"]]
    overall = cumulative_incidence(followed["right"].to_numpy(float), followed["event"].to_numpy(bool),
                                   left=followed["left"].to_numpy(float), alpha=alpha)
    by_group, title, n_group_missing = None, "", 0
    if by is not None:
        var = as_dictionary(dictionary).get(by)
        if by not in frame.columns:
            raise ValueError(f"{by!r} is not a column of the analysis frame")
        groups, title, _ = _group_labels(frame[by], by, var)
        mapping = dict(zip(frame["patient_id"], groups))
        g = followed["patient_id"].map(mapping)
        keep = g.notna().to_numpy()
        n_group_missing = int((~keep).sum())
        sub = followed[keep]
        by_group = cumulative_incidence(sub["right"].to_numpy(float), sub["event"].to_numpy(bool),
                                        left=sub["left"].to_numpy(float), group=g[keep].to_numpy(object),
                                        alpha=alpha)
    discrete, discrete_label = None, ""
    if by is not None:
        discrete, discrete_label = _discrete_model(frame, by, followed, var, alpha)
    return TimeToResponse(label=label, intervals=intervals, overall=overall, by_group=by_group, group_variable=by,
                          group_title=title, n_unfollowed=int((~intervals["followed"]).sum()),
                          n_group_missing=n_group_missing, discrete=discrete, discrete_label=discrete_label)


def _discrete_model(frame, by, followed, var, alpha):
    """The discrete-time model of ``by`` as the prognostic model codes it (continuous per its step,
    yes/no as 0/1); (None, "") for a category of more than two levels or without an event."""
    values = followed["patient_id"].map(dict(zip(frame["patient_id"], frame[by])))
    keep = values.notna().to_numpy()
    sub = followed[keep]
    if not sub["event"].any():
        return None, ""
    series = pd.Series(values[keep].to_numpy(), name=by).astype(frame[by].dtype)
    try:
        parts = _terms_for(by, series, var, PER_UNIT)
    except ValueError:
        return None, ""
    if len(parts) != 1:
        return None, ""
    _, x, info = parts[0]
    result = discrete_time_model(sub["right"].to_numpy(float), sub["event"].to_numpy(bool), x.to_numpy(float),
                                 left=sub["left"].to_numpy(float), names=[by], grid=FOLLOW_UP_MONTHS, alpha=alpha)
    return result, info["label"]


# --------------------------------------------------------------------------------------------
# SLEDAI-2K trajectories
# --------------------------------------------------------------------------------------------
#: SLEDAI-2K's possible range (every descriptor present): a CI limit outside it is moved onto it.
SLEDAI2K_RANGE = (0, sum(SLEDAI2K_WEIGHTS.values()))


@dataclass(frozen=True)
class Trajectories:
    """SLEDAI-2K by visit in two groups: the MMRM, the random-intercept model and the GEE, and the
    raw medians.

    ``mmrm.means`` (the reported model), ``mixed.means`` / ``gee.means`` (sensitivity): estimated
    means with CIs per group and month; ``raw``: per group and month ``n``, ``median``, ``q1``,
    ``q3``, ``min``, ``max`` (type-6 quartiles, as the tables); ``groups``: the two group labels
    (reference first)."""

    mmrm: MMRMResult
    mixed: MixedModelResult
    gee: GEEResult
    raw: pd.DataFrame
    groups: tuple
    n_patients: int
    n_observations: int
    n_missing: int

    def note(self) -> str:
        """Patients and visits analysed, the group sizes and the covariance chosen; a caution when
        a group is too small for the GEE's robust (sandwich) errors."""
        sizes = self.raw.groupby("group")["n"].max()
        sd = self.mmrm.sd
        text = (f"{self.n_patients} patients ({', '.join(f'{g}: {sizes.get(g, 0)}' for g in self.groups)}), "
                f"{self.n_observations} visits scored, {self.n_missing} missing. Residual SD by visit "
                f"({self.mmrm.structure} covariance): "
                + ", ".join(f"{visit_label(m)} {v:.1f}" for m, v in sd.items()))
        smallest = int(min(sizes.get(g, 0) for g in self.groups))
        if smallest < 10:
            text += (f". CAUTION: {smallest} patient(s) in the smaller group; the GEE's robust errors need many "
                     "patients per group and its test is unreliable here")
        return text

    def covariance_table(self) -> pd.DataFrame:
        """The covariance structures compared: how R's nlme writes each, covariance parameters, REML
        log-likelihood, AIC (the criterion), BIC, and which was chosen."""
        c = self.mmrm.candidates.assign(nlme=lambda t: t["structure"].map(NLME_SPELLING))
        return c[["structure", "nlme", "parameters", "loglik", "aic", "bic", "converged", "chosen"]]

    def truncation_note(self) -> str:
        """Which CI limits were moved onto SLEDAI-2K's possible range, or "" if none."""
        m = self.mmrm.means
        cut = m[m["truncated"]]
        if cut.empty:
            return ""
        cells = ", ".join(f"{g} at {visit_label(int(t))}" for g, t in zip(cut["group"], cut["time"]))
        return (f"SLEDAI-2K cannot be below {SLEDAI2K_RANGE[0]}: the lower 95% limit is printed as "
                f"{SLEDAI2K_RANGE[0]} where the interval reached below it ({cells}).")

    def means_table(self) -> pd.DataFrame:
        """Estimated mean (95% CI, the MMRM) beside the raw median (quartiles), per group and month."""
        m = self.mmrm.means.rename(columns={"time": "month"})
        t = m.merge(self.raw, on=["group", "month"], suffixes=("", "_raw"))
        return t[["group", "month", "n", "mean", "ci_lower", "ci_upper", "median", "q1", "q3"]]


def trajectory_data(frame: pd.DataFrame, outcome: str, *, label: str | None = None) -> pd.DataFrame:
    """The long SLEDAI-2K table the trajectory models take: ``patient_id``, ``month``, ``sledai``
    and ``group`` ("<label>: yes" / "<label>: no" from the boolean ``outcome``); patients without
    an outcome are left out, missing scores kept as NaN."""
    label = label or outcome_label(outcome)
    status = frame[outcome].astype("boolean")
    long = sledai_long(frame)
    names = {True: f"{label}: yes", False: f"{label}: no"}
    groups = dict(zip(frame["patient_id"], status.map(names).astype(object)))
    long["group"] = long["patient_id"].map(groups)
    return long[long["group"].notna()]


def sledai_trajectories(frame: pd.DataFrame, outcome: str, *, label: str | None = None,
                        alpha: float = 0.05) -> Trajectories:
    """SLEDAI-2K at months 0-12 in patients with and without ``outcome`` (a boolean column).

    The reported model is an MMRM, ``sledai ~ C(month) * group`` with an unstructured,
    heterogeneous compound-symmetry or compound-symmetry covariance between visits chosen by AIC
    (REML; Wald F test of the interaction; CIs kept within SLEDAI-2K's range). Beside it, as
    sensitivity analyses: the random-intercept mixed model (Wald F and likelihood-ratio tests) and
    the exchangeable GEE. A missing SLEDAI-2K leaves that visit out (likelihood-based: valid if
    missing at random).
    """
    label = label or outcome_label(outcome)
    long = trajectory_data(frame, outcome, label=label)
    names = (f"{label}: no", f"{label}: yes")
    n_missing = int(long["sledai"].isna().sum())
    observed = long[long["sledai"].notna()]
    columns = dict(outcome="sledai", time="month", group="group", subject="patient_id")
    # a group of one or two patients leaves a (robust) variance negative by rounding: its CIs are NaN, no warning
    with np.errstate(invalid="ignore"):
        repeated = mmrm(observed, **columns, alpha=alpha, bounds=SLEDAI2K_RANGE)
        mixed = mixed_model(observed, **columns, alpha=alpha)
        gee = gee_model(observed, **columns, alpha=alpha)
    rows = []
    for (g, month), values in observed.groupby(["group", "month"])["sledai"]:
        s = stats.summary(values.to_numpy(dtype=float))
        rows.append({"group": g, "month": int(month), "n": s.n, "median": s.median, "q1": s.q1, "q3": s.q3,
                     "min": s.min, "max": s.max})
    return Trajectories(mmrm=repeated, mixed=mixed, gee=gee, raw=pd.DataFrame(rows), groups=names,
                        n_patients=int(observed["patient_id"].nunique()), n_observations=int(len(observed)),
                        n_missing=n_missing)


# --------------------------------------------------------------------------------------------
# sensitivity to the response definition
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SensitivityResult:
    """The model refitted per response definition. ``table``: one row per definition and term with
    ``outcome`` (the frame's column), ``outcome_label``, ``n``, ``n_events``, ``epv``, ``term``,
    ``label``, ``odds_ratio``, ``or_lower``, ``or_upper``, ``p`` (Firth: profile penalised-likelihood
    CI, penalised LR test) and ``note`` (why a definition could not be modelled, or separation).
    ``descriptions``: each definition's criteria in words and its source."""

    table: pd.DataFrame
    outcomes: tuple
    alpha: float
    descriptions: tuple = ()

    def survivors(self, alpha: float | None = None) -> pd.DataFrame:
        """Per term, under how many definitions its CI excludes 1 (p < alpha) and in which direction;
        definitions whose model is not estimable are skipped (``not_estimable`` counts them) and
        ``definitions`` counts those modelled."""
        alpha = self.alpha if alpha is None else alpha
        t = self.table[self.table["term"].notna()]
        ok = t["estimable"].astype(bool)
        out = t.assign(significant=(t["p"] < alpha) & ok, direction=np.sign(np.log(t["odds_ratio"])).where(ok, 0),
                       modelled=ok, skipped=~ok)
        return (out.groupby(["term", "label"], sort=False)
                .agg(definitions=("modelled", "sum"), not_estimable=("skipped", "sum"),
                     p_below_alpha=("significant", "sum"),
                     same_direction=("direction", lambda s: int(max((s > 0).sum(), (s < 0).sum()))))
                .reset_index())

    def skipped(self) -> list[str]:
        """The labels of the definitions whose model is not estimable (left out of :meth:`survivors`)."""
        t = self.table[self.table["term"].notna() & ~self.table["estimable"].astype(bool)]
        return list(dict.fromkeys(t["outcome_label"]))


def response_label(definition) -> str:
    """How a response during the year is named in the models stage: "CR during the year"."""
    return f"{get_definition(definition).label} during the year"


def sensitivity_analysis(frame: pd.DataFrame, predictors: Sequence[str], definitions: Mapping[str, object], *,
                         alpha: float = 0.05, count: Callable[..., str] | None = None) -> SensitivityResult:
    """Refit the Firth model of ``predictors`` for each response definition.

    ``definitions`` maps the prefix of the frame's outcome columns to a definition, as
    :func:`msc_sle.clinical.analysis_frame` was given them (``{"cr": paper_cr, "lldas": lldas,
    ...}`` -> columns ``cr_ever``, ``lldas_ever``). A definition under which every patient (or
    none) responds, or whose model cannot be fitted, gets one row with the reason in ``note``; a
    model that fails a :func:`check_fit` check keeps its rows with ``estimable`` False, no
    estimates, and the reason in clinical words in ``note`` (``count`` formats its counts).
    """
    rows = []
    outcomes = {f"{prefix}_ever": response_label(d) for prefix, d in definitions.items()}
    descriptions = tuple(f"{get_definition(d).describe()} ({get_definition(d).source})"
                         for d in definitions.values())
    for column, label in outcomes.items():
        head = {"outcome": column, "outcome_label": label}
        try:
            data = model_data(frame, column, predictors, label=label)
        except ValueError as err:
            events = int(frame[column].sum()) if column in frame else 0
            rows.append({**head, "n": int(frame[column].notna().sum()) if column in frame else 0,
                         "n_events": events, "epv": math.nan, "term": None, "note": f"not modelled: {err}"})
            continue
        fit = firth_logistic(data.X, data.y, alpha=alpha)
        check = check_fit(data.X, data.y, fit)
        note = ""
        if fit.separation:
            note = "separation: the ordinary MLE does not exist; Firth's estimates stay finite"
        if not check.estimable:
            note = not_estimable_text(check, label, count=count)
        terms = data.terms.set_index("term")
        for term in terms.index:
            r = fit.table.loc[term] if check.estimable else pd.Series(np.nan, index=fit.table.columns)
            rows.append({**head, "n": data.n, "n_events": data.n_events, "epv": data.epv.epv, "term": term,
                         "label": terms.loc[term, "label"], "odds_ratio": r["odds_ratio"], "or_lower": r["or_lower"],
                         "or_upper": r["or_upper"], "p": r["p"], "note": note, "estimable": check.estimable})
    columns = ["outcome", "outcome_label", "n", "n_events", "epv", "term", "label", "odds_ratio", "or_lower",
               "or_upper", "p", "note", "estimable"]
    table = pd.DataFrame(rows, columns=columns)
    table["estimable"] = table["estimable"].fillna(False).astype(bool)
    return SensitivityResult(table=table, outcomes=tuple(outcomes), alpha=float(alpha), descriptions=descriptions)


def model_sample(cohort, max_patients: int, seed: int):
    """``(cohort, note)``: the cohort itself when it has at most ``max_patients`` patients (or
    ``max_patients`` is 0), else a seeded random sample of ``max_patients`` of its patients with their
    visits, and a sentence saying so (the models, bootstrap and mixed models of 07_models cost
    time that grows with every patient; a registry extract is modelled on a sample)."""
    n = len(cohort.patients)
    if not max_patients or n <= max_patients:
        return cohort, None
    keep = cohort.patients.sample(n=max_patients, random_state=seed).sort_index().reset_index(drop=True)
    visits = cohort.visits[ids_in(cohort.visits["patient_id"], keep["patient_id"])].reset_index(drop=True)
    note = (f"Modelled on a random sample of {max_patients} of the {n} analysed patients (seed {seed}; "
            "MODEL_MAX_PATIENTS sets the size, 0 models every patient): the estimates below are the sample's, "
            "their intervals as wide as its size makes them.")
    return replace(cohort, patients=keep, visits=visits), note



# --------------------------------------------------------------------------------------------
# how the predictors were chosen, their functional form, and how often one question is tested
# --------------------------------------------------------------------------------------------
def linearity_checks(data: ModelData, *, nk: int = 4) -> pd.DataFrame:
    """Per continuous term of the model, the restricted cubic spline test of linearity
    (:func:`msc_sle.stats.functional_form.spline_nonlinearity`, ``nk`` knots, the other predictors
    as in the model, ordinary ML as ``rms::lrm``): ``label``, ``df``, ``lr_statistic``, ``lr_p``,
    ``wald_p`` and ``note`` (why a test is not estimable)."""
    rows = []
    terms = data.terms
    for j, (term, kind, label) in enumerate(zip(terms["term"], terms["kind"], terms["label"])):
        if kind != "continuous":
            continue
        try:
            t = spline_nonlinearity(data.X.to_numpy(float), data.y.to_numpy(float), j, nk=nk, name=term)
        except ValueError as why:  # too few distinct values for the knots
            rows.append({"term": term, "label": label, "df": nk - 2, "lr_statistic": np.nan, "lr_p": np.nan,
                         "wald_p": np.nan, "note": f"{NOT_ESTIMABLE}: {why}"})
            continue
        note = "" if t.estimable else (f"{NOT_ESTIMABLE}: the spline separates patients with and without "
                                       f"{data.outcome_label}" if t.reason == "separation" else
                                       f"{NOT_ESTIMABLE}: the fit did not converge")
        rows.append({"term": term, "label": label, "df": t.df, "lr_statistic": t.lr_statistic, "lr_p": t.lr_p,
                     "wald_p": t.wald_p, "note": note})
    return pd.DataFrame(rows, columns=["term", "label", "df", "lr_statistic", "lr_p", "wald_p", "note"])


def sparse_predictors(data: ModelData, *, below: int = 10, count: Callable[..., str] | None = None) -> list[str]:
    """Sentences for the yes/no (or level) terms whose rarer value is held by fewer than ``below``
    analysed patients: their odds ratio rests on those few patients."""
    count = count or (lambda value, of=None: str(int(value)))
    out = []
    for term, kind, label, level, ref in data.terms[["term", "kind", "label", "level", "reference"]].itertuples(
            index=False):
        if kind != "indicator":
            continue
        x = data.X[term]
        ones, n = int(x.sum()), int(len(x))
        rare, shown = (ones, level) if ones <= n - ones else (n - ones, ref)
        if rare < below:
            out.append(f"{label}: only {count(rare, of=n)} of the {count(n)} analysed patients are "
                       f"'{shown}'; its odds ratio rests on them, and a bootstrap sample may hold none or all "
                       f"of them on one side of the outcome")
    return out


def nested_definitions(frame: pd.DataFrame, definitions: Mapping[str, object]) -> list[tuple[str, str, int]]:
    """Pairs of response definitions where every patient who met the first also met the second
    (in this frame): ``(narrower label, wider label, patients meeting the narrower)``."""
    cols = {k: f"{k}_ever" for k in definitions if f"{k}_ever" in frame.columns}
    out = []
    for a, ca in cols.items():
        for b, cb in cols.items():
            if a == b:
                continue
            both = frame[[ca, cb]].dropna().astype(bool)
            na = int(both[ca].sum())
            if na and bool((~both[ca] | both[cb]).all()) and int(both[cb].sum()) > na:
                out.append((get_definition(definitions[a]).label, get_definition(definitions[b]).label, na))
    # keep the direct steps only (DORIS < CR < LDA, not also DORIS < LDA)
    pairs = {(a, b) for a, b, _ in out}
    middle = {m for _, m, _ in out}
    return [(a, b, n) for a, b, n in out if not any((a, m) in pairs and (m, b) in pairs for m in middle)]


def multiplicity_statement(predictor_label: str, definitions: Mapping[str, object],
                           nested: Sequence[tuple[str, str, int]], *, count: Callable[..., str] | None = None) -> str:
    """Every test of one question that the workbook runs (is ``predictor_label`` associated with
    the response?), and the nesting of the definitions, in words."""
    count = count or (lambda value, of=None: str(int(value)))
    labels = [get_definition(d).label for d in definitions.values()]
    tests = ["the paper's univariate comparison (its abstract and Table 2, reproduced on the 04_predictors page, "
             "once for LDA and once for CR)",
             "the univariable odds ratio above",
             "the adjusted odds ratios (Firth, and maximum likelihood beside it)",
             f"the same model under each of the {len(labels)} response definitions ({', '.join(labels)})",
             "the time to first response (log-rank test on the median split, discrete-time model)"]
    text = (f"Multiplicity. {predictor_label} is tested for the same question, whether it goes with "
            f"response, in {len(tests)} ways: " + "; ".join(tests) + ". These p-values are not adjusted for "
            "one another, and a p-value below the significance level in one of them is not a finding on its own.")
    if nested:
        parts = [f"{a} ⊂ {b} ({count(n)} patients)" for a, b, n in nested]
        text += (" The definitions are nested: in this cohort every patient who met the first of each pair also met "
                 "the second: " + ", ".join(parts) + ". The same responders are counted again under the wider "
                 "definition, so agreement across definitions is not replication.")
    return text
