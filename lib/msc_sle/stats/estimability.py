"""Is a fitted logistic model a result? Checks that a fit reached a maximum worth printing.

A fit that stops is not necessarily a fit that found the maximum: with few events (or few
non-events) Firth's penalised likelihood can have several stationary points, and a Newton search
from zero can stop at one that is not the maximum; a profile-likelihood search can then return an
interval that does not contain its own estimate. Printing such numbers reports an artefact of the
optimiser. :func:`check_logistic_fit` runs, on any fitted logistic model (ordinary or Firth), the
checks a statistical reviewer runs:

* **separation** -- Konis' (2007) linear-programming test (as R's ``detectseparation``), written
  here over :func:`scipy.optimize.linprog`: the data are separated when a direction ``b`` exists
  with ``x_i b >= 0`` for events and ``<= 0`` for non-events, not all zero. The ordinary MLE
  then does not exist; Firth's estimate does, and is not refused for separation alone.
* **a maximum from more than one start** -- the (penalised) log-likelihood is maximised again
  from zero and from seeded random starts (BFGS on the analytic score); a start that reaches a
  higher value than the reported fit means the reported fit is not the maximum.
* **a negative-definite Hessian** at the estimate (a numerical Jacobian of the analytic score):
  otherwise the estimate is a saddle point or lies on a ridge.
* **each interval contains its estimate**.

The result names the checks that failed as codes with numbers; what they mean for a reader
(in words of the outcome and the people counted) is the caller's business. Nothing here knows what the
outcome or the predictors are.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["NOT_ESTIMABLE", "Estimability", "check_logistic_fit", "lp_separation", "penalised_loglik", "maximise_from_starts"]

#: What a table prints in place of the numbers of a fit that failed a check.
NOT_ESTIMABLE = "not estimable"
#: How much higher another start's (penalised) log-likelihood must be to say the reported fit
#: did not reach the maximum: far above the optimisers' tolerance, far below a real difference.
LOGLIK_TOL = 1e-4


@dataclass(frozen=True)
class Estimability:
    """The verdict on one fit. ``problems``: codes of the failed checks, in the order
    ``"not_converged"``, ``"separation"`` (ordinary fits only), ``"not_maximum"``, ``"hessian"``,
    ``"ci_excludes_estimate"``, ``"ci_missing"``. ``best_loglik`` is the highest (penalised)
    log-likelihood found from any start, ``loglik`` the reported fit's; ``bad_intervals`` the terms
    whose interval misses its estimate or is missing; ``separated`` whether Konis' test finds
    separation (reported for Firth fits too, as a fact, without making them non-estimable)."""

    estimable: bool
    problems: tuple[str, ...]
    n: int
    n_events: int
    penalised: bool
    separated: bool
    loglik: float
    best_loglik: float
    n_starts: int
    max_hessian_eigenvalue: float
    bad_intervals: tuple[str, ...] = ()

    @property
    def n_nonevents(self) -> int:
        return self.n - self.n_events


def _expit(eta):
    return 1.0 / (1.0 + np.exp(-eta))


def lp_separation(X1: np.ndarray, y: np.ndarray) -> bool:
    """Konis' linear program: is there a ``b != 0`` with ``x_i b >= 0`` (events) and ``<= 0``
    (non-events)? ``X1`` includes the intercept column. Maximises ``sum(s_i x_i b)`` subject to
    ``s_i x_i b >= 0`` and ``-1 <= b <= 1``; a positive optimum is a separating direction (as
    ``detectseparation``'s ``detect_infinite_estimates``, which solves the same primal)."""
    from scipy.optimize import linprog
    X1 = np.asarray(X1, dtype=float)
    s = np.where(np.asarray(y, dtype=float) > 0.5, 1.0, -1.0)
    A = s[:, None] * X1
    res = linprog(-A.sum(axis=0), A_ub=-A, b_ub=np.zeros(len(A)), bounds=[(-1.0, 1.0)] * X1.shape[1],
                  method="highs")
    if res.status != 0:
        return False
    scale = max(1.0, float(np.abs(A).sum()))
    return bool(-res.fun > 1e-9 * scale)


def penalised_loglik(X1: np.ndarray, y: np.ndarray, beta: np.ndarray, penalised: bool = True
                     ) -> tuple[float, np.ndarray]:
    """(log-likelihood, score) at ``beta``; with ``penalised`` Firth's ``l + 1/2 log det I`` and
    its modified score ``X'(y - p + h (1/2 - p))``. ``-inf`` where the information is singular."""
    eta = X1 @ beta
    p = _expit(eta)
    ll = float(np.sum(y * eta - np.logaddexp(0.0, eta)))
    if not penalised:
        return ll, X1.T @ (y - p)
    w = p * (1.0 - p)
    info = (X1 * w[:, None]).T @ X1
    sign, logdet = np.linalg.slogdet(info)
    if sign <= 0 or not np.isfinite(logdet):
        return -np.inf, np.zeros_like(beta)
    h = w * np.einsum("ij,jk,ik->i", X1, np.linalg.inv(info), X1)
    return ll + 0.5 * logdet, X1.T @ (y - p + h * (0.5 - p))


def maximise_from_starts(X1: np.ndarray, y: np.ndarray, starts, penalised: bool = True
                         ) -> tuple[float, np.ndarray]:
    """The highest (penalised) log-likelihood reached by BFGS from each start, and where."""
    from scipy.optimize import minimize

    def objective(b):
        ll, g = penalised_loglik(X1, y, b, penalised)
        return (-ll, -g) if np.isfinite(ll) else (np.inf, np.zeros_like(b))

    best, where = -np.inf, None
    for start in starts:
        with np.errstate(all="ignore"):
            res = minimize(objective, np.asarray(start, dtype=float), jac=True, method="BFGS",
                           options={"gtol": 1e-7, "maxiter": 500})
        ll = -float(res.fun)
        if np.isfinite(ll) and ll > best:
            best, where = ll, res.x
    return best, where


def _hessian(X1: np.ndarray, y: np.ndarray, beta: np.ndarray, penalised: bool) -> np.ndarray:
    """Central differences of the analytic score, symmetrised."""
    k = beta.size
    H = np.empty((k, k))
    for j in range(k):
        step = 1e-5 * max(1.0, abs(beta[j]))
        e = np.zeros(k)
        e[j] = step
        H[:, j] = (penalised_loglik(X1, y, beta + e, penalised)[1]
                   - penalised_loglik(X1, y, beta - e, penalised)[1]) / (2 * step)
    return (H + H.T) / 2


def check_logistic_fit(X, y, coef, *, lower=None, upper=None, names=None, penalised: bool = True,
                       converged: bool = True, n_starts: int = 6, seed: int = 0) -> Estimability:
    """Run every check on one fitted logistic model.

    ``X``: (n, k) predictors without intercept; ``coef``: the reported coefficients, intercept
    first; ``lower``/``upper``: the reported interval of each coefficient on the same (log-odds)
    scale, intercept first, or None; ``penalised``: Firth's likelihood (else ordinary ML);
    ``converged``: the fitting routine's own verdict. ``n_starts`` starts: zero, the reported
    estimate, and seeded random draws scaled to each predictor's spread.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    y = np.asarray(y, dtype=float).ravel()
    X1 = np.column_stack([np.ones(len(y)), X])
    beta = np.asarray(coef, dtype=float).ravel()
    k = X1.shape[1]
    names = tuple(names) if names is not None else tuple(f"b{j}" for j in range(k))
    problems: list[str] = []
    if not converged or not np.all(np.isfinite(beta)):
        problems.append("not_converged")
    separated = lp_separation(X1, y)
    if separated and not penalised:
        problems.append("separation")
    loglik, best, top_eig = np.nan, np.nan, np.nan
    if np.all(np.isfinite(beta)):
        loglik = penalised_loglik(X1, y, beta, penalised)[0]
        rng = np.random.default_rng(seed)
        spread = np.concatenate([[1.0], np.maximum(X.std(axis=0), 1e-12)])
        starts = [np.zeros(k), beta] + [rng.normal(0.0, 2.0, k) / spread for _ in range(max(0, n_starts - 2))]
        if not (separated and not penalised):
            best, _ = maximise_from_starts(X1, y, starts, penalised)
            if best > loglik + LOGLIK_TOL * max(1.0, abs(loglik)):
                problems.append("not_maximum")
            with np.errstate(all="ignore"):
                H = _hessian(X1, y, beta, penalised)
            eig = np.linalg.eigvalsh(H) if np.all(np.isfinite(H)) else np.array([np.nan])
            top_eig = float(np.max(eig))
            scale = float(np.max(np.abs(eig))) if np.all(np.isfinite(eig)) else 1.0
            if not np.isfinite(top_eig) or top_eig >= -1e-8 * max(scale, 1.0):
                problems.append("hessian")
    bad: list[str] = []
    if lower is not None and upper is not None and "separation" not in problems:
        lo = np.asarray(lower, dtype=float).ravel()
        hi = np.asarray(upper, dtype=float).ravel()
        for name, b, a, c in zip(names, beta, lo, hi):
            if not (np.isfinite(a) and np.isfinite(c)):
                bad.append(name)
            elif not (a - 1e-9 <= b <= c + 1e-9):
                bad.append(name)
        if any(not (np.isfinite(a) and np.isfinite(c)) for a, c in zip(lo, hi)):
            problems.append("ci_missing")
        if any(np.isfinite(a) and np.isfinite(c) and not (a - 1e-9 <= b <= c + 1e-9)
               for b, a, c in zip(beta, lo, hi)):
            problems.append("ci_excludes_estimate")
    return Estimability(estimable=not problems, problems=tuple(problems), n=int(len(y)), n_events=int(y.sum()),
                        penalised=bool(penalised), separated=bool(separated), loglik=float(loglik),
                        best_loglik=float(best), n_starts=int(n_starts), max_hessian_eigenvalue=top_eig,
                        bad_intervals=tuple(bad))
