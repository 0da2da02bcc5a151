"""Time to a first event that is only seen at scheduled visits.

When an event (a response, say) is assessed only at visits, its time is known only to lie in
``(last visit without it, first visit with it]``: the data are *grouped* (interval-censored on a
common grid). This module treats them that way:

* :func:`first_event` turns long visit records (subject, time, event flag; a missing flag or a
  missing row is a missed visit) into one interval per subject. A missed visit before the first
  event widens that subject's interval to span it; a subject without the event is right-censored
  at the last visit attended. An event that came and went between two attended visits cannot be
  seen: this is the time to the first *observed* event.
* :func:`cumulative_incidence` estimates the cumulative incidence ``F(t) = 1 - S(t)`` at each
  visit time, overall or by group. When every interval is a single schedule step (no widened
  intervals) the Turnbull NPMLE reduces to the Kaplan-Meier estimate on the visit-grouped times
  (events at the visit where they are first seen; censoring after events at the same visit), which
  is computed with ``statsmodels`` ``SurvfuncRight``, with Greenwood standard errors and R's
  default ``log`` confidence intervals (``log-log`` and ``plain`` on request). With widened
  intervals the Turnbull (1976) NPMLE is computed by the self-consistency (EM) algorithm on the
  visit grid, without confidence intervals. Numbers at risk are given at every visit time.
* :func:`discrete_time_model` is the grouped-time proportional hazards model (Prentice &
  Gloeckler 1978): a binomial GLM with complementary log-log link on person-period data (one row
  per subject and visit at risk), one intercept per visit and the covariates continuous, so that
  ``exp(coef)`` is a hazard ratio -- the visit-grouped counterpart of a Cox model, without
  dichotomising a continuous covariate. Its Wald and likelihood-ratio tests are those of R
  ``glm(..., family = binomial(link = "cloglog"))``.
* :func:`logrank_test` is the log-rank test (``statsmodels`` ``survdiff``; observed and expected
  counts as R's ``survdiff``). On visit-grouped times it is the Mantel-Haenszel test over the
  visit strata, which handles the grouped ties correctly; subjects whose interval was widened by
  a missed visit enter at the visit where the event was seen (right-endpoint imputation) -- the
  count of such subjects is reported so that the approximation can be judged.

(lifelines, the usual choice, requires pandas < 3 and cannot be installed beside this project's
pandas; statsmodels provides Kaplan-Meier and the log-rank test, the Turnbull step is written
here.) Nothing here knows what the event is.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["LogRankResult", "CumulativeIncidence", "DiscreteTimeResult", "LikelihoodRatioTest", "first_event", "cumulative_incidence",
           "incidence_interval",
           "logrank_test", "person_periods", "discrete_time_model"]

_CONF_TYPES = ("log", "log-log", "plain")


# --------------------------------------------------------------------------------------------
# visits -> intervals
# --------------------------------------------------------------------------------------------
def _in_order(ids: pd.Series, t: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """(subjects as objects, times) when the rows are already ascending by subject and, within a
    subject, strictly by time, none without a subject; else None. How long data usually come, and
    then sorting (two keys hashed and ordered: half a second for a registry centre's million rows)
    would return them as they are; the arrays are the ones the intervals are read from."""
    if ids.isna().any() or not pd.Index(ids).is_monotonic_increasing:
        return None
    v = ids.to_numpy(dtype=object)
    tt = t.to_numpy(dtype=float)
    return (v, tt) if bool(((v[1:] != v[:-1]) | (tt[1:] > tt[:-1])).all()) else None


def first_event(visits: pd.DataFrame, *, subject: str, time: str, event: str,
                origin: float = 0.0, schedule: Sequence[float] | None = None) -> pd.DataFrame:
    """One row per subject: the interval in which the first event was seen.

    Parameters
    ----------
    visits : long data, one row per subject and visit.
    subject, time, event : column names; ``event`` is boolean/0-1, missing = visit missed.
    origin : time zero (every subject is event-free there); visits at or before it are ignored.
    schedule : the planned visit times after ``origin`` (default: every time seen in ``visits``
        after origin); used to flag intervals widened by a missed visit.

    Returns
    -------
    DataFrame indexed by subject with columns ``left`` (last attended event-free visit before the
    event, ``origin`` if none), ``right`` (visit where the event was first seen; for subjects
    without it, the last attended visit), ``event`` (bool), ``widened`` (a scheduled visit was
    missed inside the event interval), ``n_visits`` (attended visits after origin).
    """
    df = visits[[subject, time, event]].copy()
    df[time] = pd.to_numeric(df[time], errors="raise").astype(float)
    flag = df[event]
    observed = flag.notna()
    df = df[observed & (df[time] > origin)]
    ev = df[event].astype(bool).to_numpy()
    df = df.assign(_ev=ev)
    ordered = _in_order(df[subject], df[time])
    if ordered is None:
        df = df.sort_values([subject, time])
        df = df[df[subject].notna()]   # as groupby: a row without a subject belongs to no one
        ordered = df[subject].to_numpy(dtype=object), df[time].to_numpy(dtype=float)
    if schedule is None:
        grid = np.unique(visits.loc[pd.to_numeric(visits[time]) > origin, time].astype(float))
    else:
        grid = np.unique(np.asarray(schedule, dtype=float))
        grid = grid[grid > origin]
    columns = [subject, "left", "right", "event", "widened", "n_visits"]
    ids, t = ordered
    if not len(ids):
        return pd.DataFrame([], columns=columns).set_index(subject)
    # one pass over the sorted rows instead of one Python step per subject (a million
    # subjects): each subject's rows are contiguous, its first event found by a segmented minimum
    e = df["_ev"].to_numpy(dtype=bool)
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(ids)]
    first = np.minimum.reduceat(np.where(e, np.arange(len(e)), len(e)), starts)
    seen = first < ends
    at = np.where(seen, first, ends - 1)
    right = t[at]
    left = np.where(seen, np.where(at > starts, t[np.maximum(at - 1, 0)], float(origin)), right)
    # a scheduled time strictly between the two visits: one was missed inside the interval
    inside = np.searchsorted(grid, right, side="left") - np.searchsorted(grid, left, side="right")
    out = pd.DataFrame({subject: list(ids[starts]), "left": left, "right": right,
                        "event": seen, "widened": seen & (inside > 0), "n_visits": (ends - starts).astype(np.int64)},
                       columns=columns)
    return out.set_index(subject)


# --------------------------------------------------------------------------------------------
# log-rank
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LogRankResult:
    """Log-rank test. ``table`` is indexed by group with ``n``, ``observed``, ``expected``
    events (as R ``survdiff``); ``statistic`` is chi-square on ``df`` degrees of freedom."""

    statistic: float
    df: int
    p: float
    table: pd.DataFrame
    method: str


def logrank_test(time, event, group) -> LogRankResult:
    """Log-rank (Mantel-Haenszel) test of equal event-time distributions between groups.

    Ties are handled as grouped data (hypergeometric variance), so visit-grouped times are
    analysed correctly. ``time`` is the event or censoring time, ``event`` 1/True for an event.
    """
    from statsmodels.duration.survfunc import survdiff
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=bool)
    g = np.asarray(group)
    if not (t.shape == e.shape == g.shape):
        raise ValueError("time, event and group must have the same length")
    if pd.isna(g).any() or np.isnan(t).any():
        raise ValueError("time and group must not be missing")
    levels = np.unique(g)
    if levels.size < 2:
        raise ValueError("the log-rank test needs at least two groups")
    chisq, p = survdiff(t, e.astype(float), g)
    # observed and expected events per group, summed over the distinct event times
    obs = np.array([e[g == lv].sum() for lv in levels], dtype=float)
    exp = np.zeros(levels.size)
    for s in np.unique(t[e]):
        at_risk = np.array([(t[g == lv] >= s).sum() for lv in levels], dtype=float)
        d = float((e & (t == s)).sum())
        exp += d * at_risk / at_risk.sum()
    table = pd.DataFrame({"n": [int((g == lv).sum()) for lv in levels], "observed": obs,
                          "expected": exp}, index=pd.Index(levels, name="group"))
    return LogRankResult(statistic=float(chisq), df=int(levels.size - 1), p=float(p),
                         table=table, method="log-rank (Mantel-Haenszel, grouped ties)")


# --------------------------------------------------------------------------------------------
# cumulative incidence
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CumulativeIncidence:
    """Cumulative incidence of the first event at each time, overall or by group.

    ``table``: one row per group (``"all"`` when ungrouped) and time with ``n_risk`` (event-free
    and under observation just before the time), ``n_events`` and ``n_censored`` at the time,
    ``survival``, ``cum_incidence`` and its ``ci_lower``/``ci_upper`` (NaN for Turnbull), and
    ``se`` (Greenwood, of the survival); ``ci_method`` says which interval each row has (the
    ``conf_type``; ``"clopper-pearson"`` at times before the group's first event, where Greenwood's
    interval collapses to 0-0; ``"none"`` once every subject still followed has had the event, where
    no interval is given; ``"origin"``). Row ``time = origin`` has incidence 0 by definition
    and no interval.
    ``method``: ``"kaplan-meier"`` or ``"turnbull"``; ``test``: log-rank across groups or None.
    """

    table: pd.DataFrame
    method: str
    groups: tuple
    n: int
    n_events: int
    n_widened: int
    alpha: float
    conf_type: str
    test: LogRankResult | None

    def at(self, time: float, group=None) -> float:
        """Cumulative incidence at ``time`` (step function, right-continuous)."""
        tab = self.table if group is None else self.table[self.table["group"] == group]
        if group is None and len(self.groups) > 1:
            raise ValueError("give a group")
        before = tab[tab["time"] <= time]
        return float(before["cum_incidence"].iloc[-1]) if len(before) else 0.0


def _ci(surv: np.ndarray, se: np.ndarray, alpha: float, conf_type: str):
    """Pointwise CI of the survival as R's survfit (conf.type), then clipped to [0, 1]."""
    z = stats.norm.isf(alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "plain":
            lo, hi = surv - z * se, surv + z * se
        elif conf_type == "log":
            rel = se / surv          # se of log S
            lo, hi = surv * np.exp(-z * rel), surv * np.exp(z * rel)
        else:  # log-log: se of log(-log S) = se / (S |log S|)
            rel = se / (surv * np.abs(np.log(surv)))
            lo = surv ** np.exp(z * rel)       # S < 1: a larger power is smaller
            hi = surv ** np.exp(-z * rel)
    lo = np.clip(np.where(surv > 0, lo, np.nan), 0, 1)
    hi = np.clip(np.where(surv > 0, hi, np.nan), 0, 1)
    if conf_type == "log-log":
        undefined = (surv >= 1) | (surv <= 0)
        lo, hi = np.where(undefined, np.nan, lo), np.where(undefined, np.nan, hi)
    return lo, hi


def _km(right: np.ndarray, event: np.ndarray, grid: np.ndarray):
    """Kaplan-Meier survival and Greenwood SE at each grid time (statsmodels)."""
    from statsmodels.duration.survfunc import SurvfuncRight
    surv = np.ones(grid.size)
    se = np.zeros(grid.size)
    if event.any():
        sf = SurvfuncRight(right, event.astype(float))
        st = np.asarray(sf.surv_times, dtype=float)
        sp = np.asarray(sf.surv_prob, dtype=float)
        ss = np.asarray(sf.surv_prob_se, dtype=float)
        pos = np.searchsorted(st, grid, side="right") - 1
        has = pos >= 0
        surv[has] = sp[pos[has]]
        se[has] = ss[pos[has]]
    return surv, se


def _turnbull(left: np.ndarray, right: np.ndarray, event: np.ndarray, grid: np.ndarray,
              tol: float = 1e-12, max_iter: int = 100_000) -> np.ndarray:
    """Turnbull NPMLE of S at the grid times by self-consistency (EM) over the grid cells
    (grid[k-1], grid[k]] and (grid[-1], inf); every interval endpoint lies on the grid."""
    edges = np.append(grid, np.inf)           # cell k = (edges[k-1], edges[k]], k >= 1
    lo_e, hi_e = edges[:-1], edges[1:]
    # subject i's event interval (L, R] for events, (R, inf) for censored
    L = np.where(event, left, right)
    R = np.where(event, right, np.inf)
    A = (lo_e[None, :] >= L[:, None]) & (hi_e[None, :] <= R[:, None])
    if not A.any(axis=1).all():
        raise ValueError("an event interval lies outside the visit grid")
    p = np.full(lo_e.size, 1.0 / lo_e.size)
    for _ in range(max_iter):
        denom = A @ p
        new = (A * p[None, :] / denom[:, None]).mean(axis=0)
        if np.max(np.abs(new - p)) < tol:
            p = new
            break
        p = new
    return 1.0 - np.concatenate([[0.0], np.cumsum(p)[:-1]])   # S at grid[0..]


def incidence_interval(time, surv, se, n_risk, n_events, *, origin: float = 0.0,
                       alpha: float = 0.05, conf_type: str = "log"):
    """The pointwise interval of a Kaplan-Meier cumulative incidence 1 - S at each ``time``
    (``surv`` with Greenwood ``se``, ``n_risk`` and ``n_events`` there): ``(ci_lower, ci_upper,
    ci_method)``, the rule of :func:`cumulative_incidence` (shared with the estimate from
    pooled counts, :func:`msc_sle.stats.federated.cumulative_incidence_from_counts`)."""
    time = np.asarray(time, dtype=float)
    surv = np.asarray(surv, dtype=float)
    n_risk = np.asarray(n_risk, dtype=float)
    n_ev = np.asarray(n_events, dtype=float)
    lo, hi = _ci(surv, np.asarray(se, dtype=float), alpha, conf_type)
    ci_lower, ci_upper = 1 - hi, 1 - lo
    ci_method = np.full(time.size, conf_type, dtype=object)
    # Before the first event Greenwood's variance is 0 and every transform gives the
    # interval 0-0, which claims certainty that nobody will have the event. With no event
    # among the k subjects followed to t, the exact (Clopper-Pearson) binomial interval
    # for 0 of k is [0, 1 - (alpha/2)^(1/k)]; k counts only those followed through t, so
    # subjects censored earlier widen it (conservative).
    none_yet = (np.cumsum(n_ev) == 0) & (time > origin)
    followed = n_risk - n_ev
    exact = np.where(followed > 0, 1.0 - (alpha / 2) ** (1.0 / np.maximum(followed, 1)), 1.0)
    ci_lower = np.where(none_yet, 0.0, ci_lower)
    ci_upper = np.where(none_yet, exact, ci_upper)
    ci_method[none_yet] = "clopper-pearson"
    # once every subject still followed has had the event (S = 0) no transform of
    # Greenwood's variance gives an interval: none is claimed
    ci_method[surv <= 0] = "none"
    return ci_lower, ci_upper, ci_method


def cumulative_incidence(right, event, *, left=None, group=None, origin: float = 0.0,
                         alpha: float = 0.05, conf_type: str = "log") -> CumulativeIncidence:
    """Cumulative incidence of a first event observed at visits, overall or by ``group``.

    Parameters
    ----------
    right : time the event was first seen (events) or last attended visit (censored).
    event : 1/True for an event.
    left : for events, the last attended event-free visit (default: the previous time on the
        grid, i.e. no widened intervals). Censored subjects ignore it.
    group : optional group labels; adds a log-rank test between groups.
    origin : time zero. ``alpha``: 1 - confidence level. ``conf_type``: ``"log"`` (R's default),
        ``"log-log"`` or ``"plain"``, for the Kaplan-Meier intervals.

    The estimate is Turnbull's NPMLE on the grid of all observed times; it equals Kaplan-Meier
    on the grouped times when no interval is widened, which is then used (with Greenwood SEs).
    """
    if conf_type not in _CONF_TYPES:
        raise ValueError(f"conf_type must be one of {_CONF_TYPES}")
    r = np.asarray(right, dtype=float)
    e = np.asarray(event, dtype=bool)
    if r.ndim != 1 or e.shape != r.shape or np.isnan(r).any():
        raise ValueError("right and event must be 1-d, of equal length, without missing values")
    if (r <= origin).any():
        raise ValueError("every time must lie after the origin (events at or before it are "
                         "prevalent, not incident: exclude them)")
    grid = np.unique(np.concatenate([[origin], r]))
    prev = {float(b): float(a) for a, b in zip(grid[:-1], grid[1:])}
    default_left = np.array([prev[float(x)] for x in r])
    if left is None:
        lft = default_left
    else:
        lft = np.asarray(left, dtype=float)
        lft = np.where(e, lft, default_left)
        if lft.shape != r.shape or np.isnan(lft[e]).any() or (lft[e] >= r[e]).any() \
                or (lft[e] < origin).any():
            raise ValueError("left must lie in [origin, right) for every event")
        if not np.isin(lft, grid).all():
            grid = np.unique(np.concatenate([grid, lft]))
            prev = {float(b): float(a) for a, b in zip(grid[:-1], grid[1:])}
            default_left = np.array([prev[float(x)] for x in r])
    widened = e & (lft < default_left)
    method = "turnbull" if widened.any() else "kaplan-meier"
    if group is None:
        g = np.full(r.size, "all", dtype=object)
    else:
        g = np.asarray(group, dtype=object)
        if g.shape != r.shape or pd.isna(g).any():
            raise ValueError("group must have one non-missing label per subject")
    levels = tuple(pd.unique(pd.Series(g)).tolist())
    try:
        levels = tuple(sorted(levels))
    except TypeError:
        pass
    frames = []
    for lv in levels:
        m = g == lv
        rr, ee, ll = r[m], e[m], lft[m]
        # at risk at t: event not seen before t and still followed at t (events at their
        # visit, censored subjects up to their last visit)
        n_risk = np.array([(rr >= t).sum() for t in grid])
        n_ev = np.array([(ee & (rr == t)).sum() for t in grid])
        n_cens = np.array([(~ee & (rr == t)).sum() for t in grid])
        if method == "kaplan-meier":
            surv, se = _km(rr, ee, grid)
            ci_lower, ci_upper, ci_method = incidence_interval(
                grid, surv, se, n_risk, n_ev, origin=origin, alpha=alpha, conf_type=conf_type)
        else:
            surv = _turnbull(ll, rr, ee, grid)
            se = np.full(grid.size, np.nan)
            ci_lower = ci_upper = np.full(grid.size, np.nan)
            ci_method = np.full(grid.size, "", dtype=object)
        frames.append(pd.DataFrame({
            "group": lv, "time": grid, "n_risk": n_risk, "n_events": n_ev, "n_censored": n_cens,
            "survival": surv, "se": se, "cum_incidence": 1 - surv, "ci_lower": ci_lower,
            "ci_upper": ci_upper, "ci_method": ci_method}))
    table = pd.concat(frames, ignore_index=True)
    # at the origin the incidence is 0 by definition, not an estimate: no interval
    table.loc[table["time"] == origin, ["ci_lower", "ci_upper"]] = np.nan
    table.loc[table["time"] == origin, "ci_method"] = "origin"
    test = logrank_test(r, e, g) if len(levels) > 1 else None
    return CumulativeIncidence(table=table, method=method, groups=levels, n=int(r.size),
                               n_events=int(e.sum()), n_widened=int(widened.sum()),
                               alpha=float(alpha), conf_type=conf_type, test=test)


# --------------------------------------------------------------------------------------------
# discrete-time (grouped) proportional hazards
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DiscreteTimeResult:
    """Complementary log-log model of the hazard per visit interval.

    ``table``: one row per covariate with ``coef`` (log hazard ratio), ``se``, ``hazard_ratio``,
    ``hr_lower``/``hr_upper`` (Wald), ``z`` and ``p`` (Wald, as ``summary.glm``), ``lr_statistic``
    and ``lr_p`` (likelihood ratio against the model without that covariate, 1 df, as
    ``anova.glm(test = "Chisq")``). ``baseline``: the visit times given their own intercept;
    ``dropped_times``: visits where nobody had the event (their hazard estimate is 0: they carry
    no information on the covariates and are left out, as the limit of R's fit); ``n_rows``
    person-periods, ``n_imputed`` events whose interval spanned more than one visit and were put
    at the visit where they were seen."""

    table: pd.DataFrame
    baseline: tuple
    dropped_times: tuple
    n: int
    n_events: int
    n_rows: int
    n_imputed: int
    alpha: float
    method: str = "discrete-time proportional hazards (binomial GLM, complementary log-log link)"
    #: False when the person-period data are separated (Konis' LP test): the MLE is infinite and
    #: ``table`` holds NaN
    estimable: bool = True

    @property
    def test(self) -> "LikelihoodRatioTest":
        """The first covariate's likelihood-ratio test, as a result a sentence can name."""
        r = self.table.iloc[0]
        return LikelihoodRatioTest(statistic=float(r["lr_statistic"]), df=1, p=float(r["lr_p"]),
                                   method="discrete-time model (complementary log-log), likelihood ratio")


@dataclass(frozen=True)
class LikelihoodRatioTest:
    """A likelihood-ratio chi-square test: ``statistic`` on ``df`` degrees of freedom, ``p``."""

    statistic: float
    df: int
    p: float
    method: str


def person_periods(right, event, *, origin: float = 0.0, grid=None) -> pd.DataFrame:
    """One row per subject and grid time in ``(origin, right]``: ``subject`` (position),
    ``time``, ``y`` (1 at the time the event was seen)."""
    r = np.asarray(right, dtype=float)
    e = np.asarray(event, dtype=bool)
    times = np.unique(r) if grid is None else np.unique(np.asarray(grid, dtype=float))
    times = times[times > origin]
    rows = [(i, t, float(e[i] and t == r[i])) for i in range(r.size) for t in times if t <= r[i]]
    return pd.DataFrame(rows, columns=["subject", "time", "y"])


def discrete_time_model(right, event, X, *, left=None, names=None, origin: float = 0.0, grid=None,
                        alpha: float = 0.05) -> DiscreteTimeResult:
    """Grouped-time proportional hazards model of a first event seen at visits.

    ``right``/``event`` as :func:`cumulative_incidence`; ``X``: (n,) or (n, k) covariates, used as
    given (continuous stays continuous); ``left`` (optional): the last event-free visit of each
    event, to count the events imputed at their right endpoint (intervals spanning several
    visits); ``grid``: the visit times (default: the observed times).
    """
    from statsmodels.genmod.families import Binomial
    from statsmodels.genmod.families.links import CLogLog
    from statsmodels.genmod.generalized_linear_model import GLM

    r = np.asarray(right, dtype=float)
    e = np.asarray(event, dtype=bool)
    Xa = np.asarray(X, dtype=float)
    Xa = Xa[:, None] if Xa.ndim == 1 else Xa
    if Xa.shape[0] != r.size or np.isnan(Xa).any() or np.isnan(r).any():
        raise ValueError("X, right and event must have one complete row per subject")
    names = tuple(names) if names is not None else tuple(f"x{j}" for j in range(Xa.shape[1]))
    pp = person_periods(r, e, origin=origin, grid=grid)
    events_at = pp.groupby("time")["y"].sum()
    dropped = tuple(float(t) for t in events_at.index[events_at == 0])
    pp = pp[~pp["time"].isin(dropped)]
    kept = tuple(float(t) for t in events_at.index[events_at > 0])
    if not kept:
        raise ValueError("no event: a hazard model cannot be fitted")
    D = (pp["time"].to_numpy()[:, None] == np.array(kept)[None, :]).astype(float)
    Z = Xa[pp["subject"].to_numpy()]
    y = pp["y"].to_numpy()
    family = Binomial(link=CLogLog())
    from .estimability import lp_separation
    if lp_separation(np.column_stack([D, Z]), y):
        nan = np.full(Z.shape[1], np.nan)
        table = pd.DataFrame({c: nan for c in ("coef", "se", "hazard_ratio", "hr_lower", "hr_upper", "z", "p",
                                               "lr_statistic", "lr_p")}, index=pd.Index(names, name="term"))
        return DiscreteTimeResult(table=table, baseline=kept, dropped_times=dropped, n=int(r.size),
                                  n_events=int(e.sum()), n_rows=int(len(pp)), n_imputed=0, alpha=float(alpha),
                                  estimable=False)
    full = GLM(y, np.column_stack([D, Z]), family=family).fit(tol=1e-12, maxiter=200)
    z = stats.norm.isf(alpha / 2)
    k = len(kept)
    coef = np.asarray(full.params[k:], dtype=float)
    se = np.asarray(full.bse[k:], dtype=float)
    lr = []
    for j in range(Z.shape[1]):
        reduced = GLM(y, np.column_stack([D, np.delete(Z, j, axis=1)]), family=family).fit(tol=1e-12, maxiter=200)
        lr.append(max(0.0, 2.0 * (full.llf - reduced.llf)))
    lr = np.array(lr)
    table = pd.DataFrame({"coef": coef, "se": se, "hazard_ratio": np.exp(coef), "hr_lower": np.exp(coef - z * se),
                          "hr_upper": np.exp(coef + z * se), "z": coef / se, "p": 2 * stats.norm.sf(np.abs(coef / se)),
                          "lr_statistic": lr, "lr_p": stats.chi2.sf(lr, 1)}, index=pd.Index(names, name="term"))
    n_imputed = 0
    if left is not None:
        lft = np.asarray(left, dtype=float)
        steps = np.unique(np.concatenate([[origin], r if grid is None else np.asarray(grid, dtype=float)]))
        prev = {float(b): float(a) for a, b in zip(steps[:-1], steps[1:])}
        n_imputed = int(sum(ev and lf < prev.get(float(rt), lf) for ev, lf, rt in zip(e, lft, r)))
    return DiscreteTimeResult(table=table, baseline=kept, dropped_times=dropped, n=int(r.size), n_events=int(e.sum()),
                              n_rows=int(len(pp)), n_imputed=n_imputed, alpha=float(alpha))
