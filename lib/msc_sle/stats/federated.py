"""The maths of an analysis whose rows stay where they are (one site each), combined from what
each site can compute alone. No networking here: the site-side functions take the site's arrays,
the central functions take callables that return the sites' answers.

* :func:`bisect_quantile` -- a type-6 quantile (the rule of :mod:`.descriptive`) of values held
  at several sites, from pooled counts of values at most x only: each order statistic it needs is
  found by bisection over the grid of recordable values (``lo`` + j ``step``), so the result is
  exact, not approximate, when the values are recorded to ``step``.
* :func:`logistic_site_moments` / :func:`firth_logistic_federated` -- Firth's penalised logistic
  regression by Newton-Raphson on sums of per-site moments. Firth's modified score needs the hat
  values h_i = w_i x_i' I^-1 x_i of the *pooled* information I, which no site knows; but
  sum_i h_i (1/2 - p_i) x_i = T : I^-1 with the third-moment tensor
  T = sum_i w_i (1/2 - p_i) x_i (x) x_i (x) x_i, a sum over sites. So each site returns its score,
  information, log-likelihood and T at the current coefficients, and one round per iteration
  (and per step-halving) suffices.
* :func:`cumulative_incidence_from_counts` -- the cumulative incidence of :mod:`.survival`
  (Kaplan-Meier complement with Greenwood standard errors and the same intervals) from per-time
  pooled counts of events and of subjects at risk; with competing events, Aalen-Johansen.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

__all__ = ["SiteMoments", "FederatedFirthResult", "bisect_quantile", "logistic_site_moments",
           "firth_logistic_federated", "cumulative_incidence_from_counts"]


def bisect_quantile(count_at_most: Callable[[float], int], n: int, q: float, lo: float,
                    hi: float, step: float) -> tuple[float, int]:
    """The type-6 ``q``-quantile of ``n`` values from pooled counts.

    ``count_at_most(x)``: the number of values <= x, summed over sites; ``lo``/``hi``: bounds
    of the values (lo on the recording grid); ``step``: the recorded precision (1 for whole
    numbers, 0.1 for one decimal). Returns ``(value, rounds)``: the quantile, computed from the
    one or two order statistics it needs exactly as :func:`msc_sle.stats.quantiles`, and the
    number of calls made to ``count_at_most`` (each one a round trip to the sites).
    """
    raise NotImplementedError


@dataclass(frozen=True)
class SiteMoments:
    """What one site returns for coefficients beta: ``score`` X'(y - p) (p,), ``information``
    X'WX (p, p), ``loglik`` (unpenalised), ``third`` T = sum_i w_i (1/2 - p_i) x_i (x) x_i (x)
    x_i (p, p, p), ``n`` rows and ``n_events``."""
    score: np.ndarray
    information: np.ndarray
    loglik: float
    third: np.ndarray
    n: int
    n_events: int


@dataclass(frozen=True)
class FederatedFirthResult:
    """Firth's logistic regression fitted on pooled site moments.

    ``coef`` (in the design's column order), ``std_errors`` (Wald: sqrt of the diagonal of
    the inverse pooled Fisher information at the estimate, as logistf), ``loglik`` (penalised:
    log-likelihood + 1/2 log det I), ``n_iter`` Newton iterations, ``converged``, ``rounds``
    calls to the sites, ``se_method`` (``"wald"``: profile-likelihood intervals are not given).
    """
    coef: np.ndarray
    std_errors: np.ndarray
    loglik: float
    n_iter: int
    converged: bool
    rounds: int
    n: int
    n_events: int
    se_method: str = "wald"


def logistic_site_moments(X, y, beta) -> SiteMoments:
    """One site's logistic moments at ``beta``: ``X`` is its (n, p) design *including* the
    intercept column, ``y`` its 0/1 outcome."""
    raise NotImplementedError


def firth_logistic_federated(site_moments: Callable[[np.ndarray], Sequence[SiteMoments]],
                             p: int, max_iter: int = 100, tol: float = 1e-8
                             ) -> FederatedFirthResult:
    """Firth's penalised logistic regression from the sites' moments.

    ``site_moments(beta)``: the list of every site's :class:`SiteMoments` at ``beta``; ``p``:
    number of coefficients. Newton-Raphson on the modified score with the pooled Fisher
    information, steps capped at 5 and halved (up to 25 times) until the penalised
    log-likelihood does not decrease; converged when the modified score and the step are both
    below ``tol`` (as ``firthmodels``).
    """
    raise NotImplementedError


def cumulative_incidence_from_counts(times, events, at_risk, competing=None, *,
                                     origin: float = 0.0, alpha: float = 0.05,
                                     conf_type: str = "log"):
    """Cumulative incidence of a first event from pooled per-time counts.

    ``times``: the distinct times after ``origin`` (increasing); ``events``: events at each
    time; ``at_risk``: subjects event-free and under observation just before each time (summed
    over sites); ``competing``: competing events at each time (None: no competing risk). Returns
    a :class:`msc_sle.stats.survival.CumulativeIncidence` whose table is the one
    :func:`msc_sle.stats.survival.cumulative_incidence` gives on the subjects' times (Kaplan-Meier;
    Aalen-Johansen without standard errors or intervals when ``competing`` is given).
    """
    raise NotImplementedError
