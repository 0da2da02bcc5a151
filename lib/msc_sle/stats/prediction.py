"""Reporting a logistic prediction model as TRIPOD asks: its intercept corrected for the average
risk, a uniform shrinkage of its coefficients, confidence intervals for its optimism-corrected
performance, and the minimum sample size its development needed.

Nothing here knows what the outcome or the predictors mean; the fits and the bootstrap come from
:mod:`msc_sle.stats.models`.

Methods
-------
* :func:`refit_intercept` -- the maximum likelihood intercept of ``logit P(y=1) = a + offset``
  with the slopes held fixed. Two uses:

  - **FLIC** (Puhr, Heinze, Nold, Lusa & Geroldinger 2017, Statistics in Medicine 36:2302-17):
    Firth's penalty pulls the average predicted risk towards one half; FLIC keeps Firth's slopes
    and refits the intercept by ordinary ML with the Firth linear predictor minus its intercept as
    offset, so the average predicted risk equals the observed proportion.
  - **Uniform shrinkage** (van Houwelingen & le Cessie 1990; Steyerberg, *Clinical Prediction
    Models*, ch. 13): the slopes multiplied by a factor ``s`` (here the bootstrap
    optimism-corrected calibration slope, Harrell's estimate of the shrinkage a new sample would
    need) and the intercept refitted with ``s * (X b)`` as offset.

* :func:`heuristic_shrinkage` -- van Houwelingen & le Cessie's ``(LR - df) / LR``.
* :func:`minimum_sample_size` -- the three criteria of Riley et al. for a binary outcome (Riley,
  Snell, Ensor et al. 2019, Statistics in Medicine 38:1276-96, and Riley et al. 2020, BMJ
  368:m441; the R package ``pmsampsize``): (i) an expected uniform shrinkage of at least 0.9,
  (ii) an absolute difference of at most 0.05 between the apparent and adjusted Nagelkerke R2,
  (iii) the overall risk estimated within +/- 0.05 (95% confidence). Each of (i)-(ii) is
  ``n = p / ((S - 1) ln(1 - R2cs / S))``, rounded up; the minimum is the largest of the three.
* :func:`corrected_interval` -- bootstrap confidence intervals for an optimism-corrected measure,
  from the replicates of :func:`msc_sle.stats.models.bootstrap_validation` (no further refits):

  - ``"shifted"``: the location-shifted bootstrap interval of Noma, Shinozaki, Iba, Teramukai &
    Furukawa (2021, Statistics in Medicine 40:5691-5701): the percentile interval of the measure of
    each bootstrap model in its own bootstrap sample, shifted by the estimated optimism. It
    degenerates for the calibration slope, which is 1 for every ML model in its own sample;
  - ``"replicates"``: the percentile interval of the per-sample corrected estimates, apparent
    minus that sample's optimism (bootstrap - test). For the calibration slope under ML this is
    the percentile interval of the bootstrap models' slopes in the original data, i.e. of the
    shrinkage they call for.

  Percentiles are numpy's default (linear interpolation, R's ``quantile`` type 7).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["refit_intercept", "likelihood_ratio_test", "heuristic_shrinkage", "cox_snell_r2", "max_cox_snell_r2",
           "SampleSize", "minimum_sample_size", "corrected_interval", "CORRECTED_INTERVAL_METHODS"]

#: What each interval method of :func:`corrected_interval` is, in one sentence (for footnotes).
CORRECTED_INTERVAL_METHODS = {
    "shifted": "location-shifted bootstrap percentile interval (Noma et al. 2021): the measure of each "
               "bootstrap model in its own sample, shifted by the mean optimism",
    "replicates": "percentile interval of the per-sample corrected estimates (apparent minus that "
                  "sample's optimism)",
}


def _binary(y) -> np.ndarray:
    arr = np.asarray(pd.Series(y).to_numpy(dtype=float, na_value=np.nan), dtype=float).ravel()
    if not np.isin(arr, (0.0, 1.0)).all():
        raise ValueError("y must be binary 0/1 without missing values")
    if arr.min() == arr.max():
        raise ValueError("y has a single class; no intercept can be estimated")
    return arr


def refit_intercept(y, offset) -> float:
    """The ML intercept ``a`` of ``logit P(y=1) = a + offset`` (slopes fixed in ``offset``).

    The score ``sum(y - expit(a + offset))`` falls from the number of events to minus the number
    of non-events as ``a`` rises, so with both outcomes present it has a root whatever the offset
    (even one that separates the outcomes); found by Brent's method on a bracket where the score
    has both signs. With ``offset`` the Firth linear predictor minus its intercept this is FLIC's
    intercept (R: ``glm(y ~ 1, offset = lp, family = binomial)``); with the slopes shrunken, the
    shrunken model's.
    """
    from scipy.optimize import brentq
    from scipy.special import expit
    ya = _binary(y)
    off = np.asarray(offset, dtype=float).ravel()
    if off.shape != ya.shape or not np.all(np.isfinite(off)):
        raise ValueError("offset must hold one finite value per outcome")

    def score(a: float) -> float:
        return float(np.sum(ya - expit(a + off)))

    start = math.log(ya.mean() / (1 - ya.mean())) - float(np.median(off))
    width = float(np.ptp(off)) + 40.0  # beyond it every expit(a + offset) is within e-40 of 0 or 1
    return float(brentq(score, start - width, start + width, xtol=1e-14, rtol=8 * np.finfo(float).eps,
                        maxiter=500))


def likelihood_ratio_test(loglik: float, loglik_null: float, df: int) -> tuple[float, float]:
    """The overall likelihood-ratio test of a model against its intercept-only model:
    ``(chi2, p)`` with ``chi2 = 2 (loglik - loglik_null)`` on ``df`` degrees of freedom."""
    from scipy import stats
    chi2 = 2.0 * (float(loglik) - float(loglik_null))
    return chi2, float(stats.chi2.sf(chi2, df))


def heuristic_shrinkage(lr_chi2: float, df: int) -> float:
    """van Houwelingen & le Cessie's heuristic shrinkage factor ``(LR - df) / LR`` of a model whose
    likelihood-ratio chi-square against the intercept-only model is ``lr_chi2`` on ``df`` degrees
    of freedom (negative when the model is no better than chance)."""
    if not lr_chi2 > 0 or df < 1:
        raise ValueError("lr_chi2 must be positive and df at least 1")
    return float((lr_chi2 - df) / lr_chi2)


def cox_snell_r2(lr_chi2: float, n: int) -> float:
    """Cox-Snell R2 ``1 - exp(-LR / n)`` from the likelihood-ratio chi-square of ``n`` observations."""
    return float(1.0 - math.exp(-lr_chi2 / n))


def max_cox_snell_r2(prevalence: float) -> float:
    """The largest Cox-Snell R2 a binary outcome of this prevalence allows,
    ``1 - exp(2 lnL_null / n)`` (Riley et al. 2019, equation 23)."""
    phi = float(prevalence)
    if not 0 < phi < 1:
        raise ValueError("prevalence must lie in (0, 1)")
    ln_null = phi * math.log(phi) + (1 - phi) * math.log(1 - phi)
    return float(1.0 - math.exp(2.0 * ln_null))


@dataclass(frozen=True)
class SampleSize:
    """Riley et al.'s minimum sample size for developing a logistic prediction model.

    ``criteria`` has one row per criterion (``criterion``: 1, 2, 3) with ``n`` (participants,
    rounded up), ``shrinkage`` (the expected uniform shrinkage at that n), ``events`` (n x
    prevalence) and ``epp`` (events per predictor parameter). ``minimum`` is the largest ``n``."""

    n_parameters: int
    prevalence: float
    r2_cs: float
    max_r2_cs: float
    shrinkage: float
    delta: float
    margin: float
    criteria: pd.DataFrame
    minimum: int

    @property
    def nagelkerke_r2(self) -> float:
        return self.r2_cs / self.max_r2_cs

    @property
    def limiting(self) -> int:
        """The criterion that sets the minimum."""
        return int(self.criteria.loc[self.criteria["n"].idxmax(), "criterion"])


def _n_for_shrinkage(p: int, s: float, r2: float) -> int:
    return int(math.ceil(p / ((s - 1.0) * math.log(1.0 - r2 / s))))


def minimum_sample_size(n_parameters: int, prevalence: float, r2_cs: float, *, shrinkage: float = 0.9,
                        delta: float = 0.05, margin: float = 0.05, z: float = 1.96) -> SampleSize:
    """Riley et al.'s three criteria for a binary outcome (as ``pmsampsize(type = "b")``).

    ``n_parameters``: candidate predictor parameters (every coefficient but the intercept);
    ``prevalence``: the anticipated outcome proportion; ``r2_cs``: the anticipated (adjusted)
    Cox-Snell R2; ``shrinkage``: the target of criterion 1; ``delta``: the largest acceptable
    difference in Nagelkerke R2 (criterion 2); ``margin``: the half-width within which the overall
    risk is to be estimated, with ``z`` its normal quantile (criterion 3).
    """
    if n_parameters < 1:
        raise ValueError("n_parameters must be at least 1")
    if not 0 < shrinkage < 1 or not 0 < delta < 1 or not 0 < margin < 1:
        raise ValueError("shrinkage, delta and margin must lie in (0, 1)")
    top = max_cox_snell_r2(prevalence)
    if not 0 < r2_cs < top:
        raise ValueError(f"r2_cs must lie in (0, {top:.4f}), the largest a prevalence of {prevalence:g} allows")
    if r2_cs >= shrinkage:
        raise ValueError("r2_cs must be below the target shrinkage")
    s2 = r2_cs / (r2_cs + delta * top)
    n1 = _n_for_shrinkage(n_parameters, shrinkage, r2_cs)
    n2 = _n_for_shrinkage(n_parameters, s2, r2_cs)
    n3 = int(math.ceil((z / margin) ** 2 * prevalence * (1 - prevalence)))
    rows = []
    for k, n in ((1, n1), (2, n2), (3, n3)):
        # criterion 3 targets the intercept alone: it sets no shrinkage of its own
        s = {1: shrinkage, 2: s2}.get(k, float("nan"))
        rows.append({"criterion": k, "n": n, "shrinkage": s, "events": n * prevalence,
                     "epp": n * prevalence / n_parameters})
    criteria = pd.DataFrame(rows)
    return SampleSize(n_parameters=int(n_parameters), prevalence=float(prevalence), r2_cs=float(r2_cs),
                      max_r2_cs=top, shrinkage=float(shrinkage), delta=float(delta), margin=float(margin),
                      criteria=criteria, minimum=int(criteria["n"].max()))


def corrected_interval(validation, measure: str, *, method: str = "shifted", alpha: float = 0.05
                       ) -> tuple[float, float]:
    """A ``1 - alpha`` bootstrap interval for the optimism-corrected ``measure`` (``"c"``,
    ``"slope"``, ``"intercept"``, ``"brier"``, ``"dxy"``) of a
    :class:`msc_sle.stats.models.BootstrapValidation`, from its replicates (no further refits).

    ``method="shifted"``: Noma et al. (2021)'s location-shifted interval, the percentiles of the
    measure of each bootstrap model in its own sample minus the mean optimism;
    ``method="replicates"``: the percentiles of ``apparent - (bootstrap - test)`` per sample.
    Samples whose refit failed, or where the measure is undefined, are left out, as in the mean
    optimism. NaN when fewer than two samples remain.
    """
    if method not in CORRECTED_INTERVAL_METHODS:
        raise ValueError(f"method must be one of {sorted(CORRECTED_INTERVAL_METHODS)}")
    if not 0 < alpha < 1:
        raise ValueError("alpha must lie in (0, 1)")
    table, reps = validation.table, validation.replicates
    if measure not in table.index:
        raise ValueError(f"measure must be one of {list(table.index)}")
    boot = reps[f"{measure}_bootstrap"].to_numpy(float)
    test = reps[f"{measure}_test"].to_numpy(float)
    keep = reps["fitted"].to_numpy(bool) & np.isfinite(boot) & np.isfinite(test)
    if keep.sum() < 2:
        return (float("nan"), float("nan"))
    apparent = float(table.loc[measure, "apparent"])
    optimism = float(table.loc[measure, "optimism"])
    values = boot[keep] - optimism if method == "shifted" else apparent - (boot[keep] - test[keep])
    lo, hi = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)
