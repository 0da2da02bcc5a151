"""The share form of ``07_models``'s outputs (``make share``; docs/disclosure.md, "Models").

``07_models`` prints counts beside its estimates: the patients analysed and left out, the events
behind the events per variable, the numbers at risk, first responses and censored of the
cumulative incidence, the patients scored per group and visit, the responders of every response
definition. :func:`models_share` builds the analysis pages' plan (:func:`~.disclosure.share_plan`)
for the same cohort and returns a :class:`ModelsShare`; calling it on an output returns the output
as a shared bundle prints it (``ttr = shared(time_to_response(...))``), one line per output:

- a count that is a count of the plan (the outcome's responders, Table 1's missing counts) is
  printed as the plan prints it, any other count through :func:`~.disclosure.shown_count`;
- the cumulative incidence: from the first visit where any printed count (overall or in a group)
  is small, or where the plan withholds the cumulative responders of ``03_response``, every row of
  every group is withheld, counts and estimates (an estimate at a later visit gives the withheld
  step back through the product-limit relation, and a later number at risk gives the withheld
  events plus censored), and the log-rank test with it;
- the calibration groups: their events and observed proportions are withheld all together when any
  of them is small (they add up to the responders);
- SLEDAI-2K per group and visit: the patients scored as :func:`shown_count` says (of the group),
  both groups of a visit withheld together (they add up to ``03_response``'s patients scored),
  medians and quartiles only beside a printed count of at least the threshold, no minimum or
  maximum;
- coefficients, odds ratios, confidence intervals, p-values, c-statistics, calibration slopes and
  model means are printed: they are fitted on the whole cohort, not on a cell of a table, and none
  of them is a count or a linear function of a few counts a reader could solve for.

With ``small_cell_min`` <= 1 every output is returned unchanged.
"""
from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from ..clinical.visits import visit_label
from ..present.tables import PublicationTable
from .disclosure import MARK_C, PUBLISHED, share_plan, shown_count, small_label

__all__ = ["models_share", "ModelsShare"]


def models_share(cohort, params) -> "ModelsShare":
    """The share form of ``07_models``'s outputs for this (analysed) cohort and these parameters."""
    if int(params["small_cell_min"]) <= 1:
        return ModelsShare(None, params)
    import warnings

    with warnings.catch_warnings():   # the analysis pages show the plan's warnings
        warnings.simplefilter("ignore")
        plan = share_plan(cohort, None, params)
    return ModelsShare(plan, params)


class ModelsShare:
    """Call it on a ``07_models`` output to get what a shared bundle prints (see the module docstring)."""

    def __init__(self, plan, params):
        self.plan = plan
        self.active = plan is not None
        self.min_count = int(params["small_cell_min"])
        self.zero = bool(params["share_suppress_zero"])
        self.outcome = str(params["outcome"])

    # ------------------------------------------------------------------ one entry point
    def __call__(self, output: Any):
        if not self.active:
            return output
        from ..prognosis import ModelValidation, PredictionReport, TimeToResponse, Trajectories

        if isinstance(output, PredictionReport):
            return self.prediction(output)
        if isinstance(output, TimeToResponse):
            return self.time_to_response(output)
        if isinstance(output, Trajectories):
            return self.trajectories(output)
        if isinstance(output, ModelValidation):
            return self.validation(output)
        if isinstance(output, PublicationTable):
            if {"events_n", "analysed_n"} <= set(output.tidy.columns):
                return self.sensitivity(output)
            return self.regression(output)
        raise TypeError(f"no share form for {type(output).__name__}")

    # ------------------------------------------------------------------ counts
    def count(self, value: int, of: int | None = None) -> str:
        """A count of a sentence that no table prints (a sparse predictor, a nested definition, a
        fit's reason for being not estimable): small counts and their complements withheld as every
        table withholds them; the number itself when not sharing."""
        if not self.active:
            return str(int(value))
        return shown_count(value, self.min_count, zero=self.zero, of=of)

    def _small(self, v: int) -> bool:
        return 0 < v < self.min_count or (self.zero and v == 0)

    def _outcome_keys(self):
        name = {"cr": "cr_ever", "lda": "lda_ever"}.get(self.outcome, self.plan.outcome_column)
        return self.plan.groupings[name][1] if name in self.plan.groupings else None

    def _plan_text(self, key) -> str:
        return self.plan.count_text(key)

    def events_text(self, events: int, n: int) -> str:
        """The outcome's responders among ``n`` analysed: the plan's count when ``n`` is the cohort."""
        keys = self._outcome_keys()
        if keys is not None and n == self.plan.n and self.plan.ledger.value(keys["True"]) == events:
            return self._plan_text(keys["True"])
        return shown_count(events, self.min_count, zero=self.zero, of=n)

    def describe_data(self, data) -> tuple[str, str]:
        """``(data.exclusions(), "Events per variable: ...")`` as printed: the patients left out and the
        missing counts through the plan, the events per variable withheld with a withheld event count."""
        from ..present.format import epv_text

        if not self.active:
            return data.exclusions(), f"Events per variable: {epv_text(data.epv)}"
        left = shown_count(data.n_excluded, self.min_count, of=data.n_total)
        text = f"{data.n if left.isdigit() else MARK_C} of {data.n_total} patients analysed (complete cases)"
        if not data.n_excluded:
            text += "; no value missing."
        else:
            reasons = []
            for r in data.missing.itertuples():
                if r.n_missing:
                    key = ("missing", "all", r.variable) if hasattr(r, "variable") else None
                    shown = self._plan_text(key) if key is not None and key in self.plan.ledger and \
                        self.plan.ledger.value(key) == r.n_missing else shown_count(r.n_missing, self.min_count)
                    reasons.append(f"{r.label} missing for {shown}")
            text += f"; {left} left out: " + "; ".join(reasons) + "."
        events = int(np.asarray(data.y).sum())
        shown = self.events_text(events, data.n)
        if not shown.isdigit():
            return text, f"Events per variable: withheld ({shown} events: a small count, docs/disclosure.md)"
        return text, f"Events per variable: {epv_text(data.epv)}"

    # ------------------------------------------------------------------ tables
    def regression(self, table: PublicationTable) -> PublicationTable:
        """The model table: its title's "(n = 69, 16 with the outcome)" through the plan."""
        m = re.search(r"\(n = (\d+), (\d+) with the outcome\)", table.title)
        if not m:
            return table
        title = table.title[:m.start()] + f"(n = {m.group(1)}, {self.events_text(int(m.group(2)), int(m.group(1)))} " \
            "with the outcome)" + table.title[m.end():]
        return replace(table, title=title)

    def sensitivity(self, table: PublicationTable) -> PublicationTable:
        """The model under every definition: responders / analysed through the plan (or the threshold
        rule), the events per variable withheld with a withheld count."""
        tidy = table.tidy.copy().astype({"events_n": object, "epv": object})
        body = table.body.copy()
        heads = tidy.drop_duplicates("outcome")
        counts_row = body.index[body.iloc[:, 0] == "Responders / analysed"]
        epv_row = body.index[body.iloc[:, 0] == "Events per variable"]
        for j, h in enumerate(heads.itertuples(index=False), start=1):
            n, k = int(h.analysed_n), int(h.events_n)
            shown = self._definition_text(str(h.outcome), k, n)
            if shown.isdigit():
                continue
            tidy.loc[tidy["outcome"] == h.outcome, ["events_n", "epv"]] = [shown, MARK_C]
            if len(counts_row):
                body.iat[counts_row[0], j] = f"{shown}/{n}"
            if len(epv_row):
                body.iat[epv_row[0], j] = MARK_C
        return replace(table, body=body, tidy=tidy, footnotes=tuple(table.footnotes) + (self._note(),))

    def _definition_text(self, outcome: str, k: int, n: int) -> str:
        # the sensitivity table names a definition by its frame column ("cr_ever"), the parameters by
        # "cr": both are the plan's count, else a CR count withheld on every page is printed here
        column = {"cr": "cr_ever", "lda": "lda_ever"}.get(outcome, outcome if outcome in ("cr_ever", "lda_ever")
                                                           else None)
        if column is None and outcome == self.outcome:
            column = self.plan.outcome_column
        if column in self.plan.groupings and n == self.plan.n:
            key = self.plan.groupings[column][1]["True"]
            if self.plan.ledger.value(key) == k:
                return self._plan_text(key)
        return shown_count(k, self.min_count, zero=self.zero, of=n)

    def _note(self) -> str:
        return (f"Shared bundle: counts from 1 to {self.min_count - 1}"
                + (" and zero counts of patients with a response" if self.zero else "")
                + f" are shown as {small_label(self.min_count)}; {MARK_C}: withheld so that none of them can be "
                "worked out (the appendix explains how).")

    # ------------------------------------------------------------------ prediction (TRIPOD)
    def prediction(self, report):
        """The TRIPOD report, or why it is withheld. Its FLIC intercept makes the average predicted risk
        equal the observed proportion, and Riley et al.'s third criterion is a function of that
        proportion: both give the outcome's count back. So the whole report is withheld when the
        count of patients with (or without) the outcome is."""
        data = report.data
        events = int(data.n_events)
        shown = self.events_text(events, data.n)
        if shown.isdigit() and not self._small(int(data.n) - events):
            return report
        return (f"The prediction model as TRIPOD asks it reported: withheld in a shared bundle, because "
                f"its average risk and minimum sample size give back the count of patients with the "
                f"outcome ({shown}: a small count, docs/disclosure.md).")

    # ------------------------------------------------------------------ validation
    def validation(self, validation):
        """The calibration groups' events and observed proportions withheld, all together, when any
        group's events (or non-events) is small: they add up to the outcome's responders."""
        g = validation.calibration.groups
        if g is None or not len(g) or "events" not in g:
            return validation
        small = any(self._small(int(e)) or self._small(int(n - e)) for e, n in zip(g["events"], g["n"]))
        if not small:
            return validation
        g = g.copy()
        g[["events", "observed", "observed_lower", "observed_upper"]] = np.nan
        return replace(validation, calibration=replace(validation.calibration, groups=g))

    # ------------------------------------------------------------------ time to response
    def time_to_response(self, ttr):
        """Rows from the first visit with a small count (any group) or a withheld cumulative count of
        ``03_response`` withheld in every group; the log-rank test withheld with them."""
        tables = [ttr.overall.table] + ([ttr.by_group.table] if ttr.by_group is not None else [])
        first = math.inf
        for table in tables:
            for r in table.itertuples(index=False):
                if r.time == 0:
                    continue
                if any(self._small(int(getattr(r, c))) for c in ("n_risk", "n_events")) or \
                        (r.n_censored and self._small(int(r.n_censored))):
                    first = min(first, float(r.time))
        for month in sorted(set(ttr.overall.table["time"])):
            if month and not self._cumulative_published(ttr.label, int(month)):
                first = min(first, float(month))
        withheld = first < math.inf

        def protect(ci):
            if ci is None:
                return None
            t = ci.table.copy()
            late = t["time"] >= first
            for c in ("n_risk", "n_events", "n_censored"):
                t[c] = t[c].astype(object)
                t.loc[late, c] = [small_label(self.min_count) if self._small(int(v)) else MARK_C
                                  for v in ci.table.loc[late, c]]
            for c in ("survival", "se", "cum_incidence", "ci_lower", "ci_upper"):
                t.loc[late, c] = np.nan
            events = self.events_text(int(ci.n_events), int(ci.n))   # the responders of every other page
            test = ci.test if not withheld or ci.test is None else \
                f"withheld in the shared bundle ({MARK_C}: computed from withheld counts)"
            return replace(ci, table=t, n_events=events, test=test)

        return _SharedTimeToResponse(ttr, protect(ttr.overall), protect(ttr.by_group), first)

    def _cumulative_published(self, label: str, month: int) -> bool:
        if label not in self.plan.responses:
            return True
        key = ("count", "all", self.plan.responses[label], "True") if month == 12 else ("cum", label, month)
        return key not in self.plan.ledger or self.plan.ledger.status(key) == PUBLISHED

    # ------------------------------------------------------------------ trajectories
    def trajectories(self, traj):
        """Patients scored per group and visit with the threshold rule (both groups of a visit
        together), order statistics only beside a printed count of at least the threshold."""
        raw = traj.raw.copy()
        sizes = raw.groupby("group")["n"].max()
        for c in ("n", "median", "q1", "q3", "min", "max"):
            raw[c] = raw[c].astype(object)
        withheld_months = set()
        for i, r in traj.raw.iterrows():
            if shown_count(int(r["n"]), self.min_count, of=int(sizes[r["group"]])) != str(int(r["n"])):
                withheld_months.add(r["month"])
        printed = []
        for i, r in traj.raw.iterrows():
            hide = r["month"] in withheld_months
            if hide:
                raw.at[i, "n"] = small_label(self.min_count) if 0 < int(r["n"]) < self.min_count else MARK_C
            for c in ("min", "max"):
                raw.at[i, c] = None
            if hide or int(r["n"]) < self.min_count:
                for c in ("median", "q1", "q3"):
                    raw.at[i, c] = MARK_C
            else:
                printed.append(i)
        # the figure draws the printed rows only, from the numbers
        drawn = traj.raw.loc[printed].drop(columns=["min", "max"]).reset_index(drop=True)
        return _SharedTrajectories(traj, drawn, raw, self, sizes)


class _SharedTimeToResponse:
    """A :class:`~msc_sle.prognosis.TimeToResponse` as a shared bundle prints it (the same reading API)."""

    def __init__(self, ttr, overall, by_group, first):
        self._ttr, self.overall, self.by_group, self.first_withheld = ttr, overall, by_group, first
        self.label, self.group_title = ttr.label, ttr.group_title

    def __getattr__(self, name):
        return getattr(self._ttr, name)

    @property
    def shown(self):
        """What the figure draws (a withheld row is not drawn; its numbers at risk read as markers)."""
        return self.by_group if self.by_group is not None and len(self.by_group.groups) > 1 else self.overall

    @property
    def test(self):
        return None if self.by_group is None else self.by_group.test

    def schedule_note(self) -> str:
        return type(self._ttr).schedule_note(self) + (
            "" if math.isinf(self.first_withheld) else
            " Shared bundle: from the first visit with a small count, every row is withheld (the estimates "
            "after it would give it back), and the log-rank test with them.")

    @property
    def intervals(self):
        return self._ttr.intervals


class _SharedTrajectories:
    """A :class:`~msc_sle.prognosis.Trajectories` as a shared bundle prints it."""

    def __init__(self, traj, drawn, marked, share, sizes):
        self._traj, self.raw, self._marked, self._share, self._sizes = traj, drawn, marked, share, sizes
        self.mmrm, self.mixed, self.gee, self.groups = traj.mmrm, traj.mixed, traj.gee, traj.groups

    def __getattr__(self, name):
        return getattr(self._traj, name)

    def note(self) -> str:
        s = self._share
        keys = s._outcome_keys()
        sizes = []
        for g in self.groups:
            n = int(self._sizes.get(g, 0))
            shown = shown_count(n, s.min_count, zero=s.zero, of=self._traj.n_patients)
            if keys is not None and self._traj.n_patients == s.plan.n:
                for key in keys.values():
                    if s.plan.ledger.value(key) == n:
                        shown = s._plan_text(key)
                        break
            sizes.append(f"{g}: {shown}")
        scored = [k for k in s.plan.ledger.keys() if k[0] == "scored"]
        all_published = all(s.plan.ledger.status(k) == PUBLISHED for k in scored)
        return (f"{self._traj.n_patients} patients ({', '.join(sizes)}), "
                f"{self._traj.n_observations if all_published else MARK_C} visits scored, "
                f"{shown_count(self._traj.n_missing, s.min_count)} missing. Residual SD by visit "
                f"({self.mmrm.structure} covariance): "
                + ", ".join(f"{visit_label(m)} {v:.1f}" for m, v in self.mmrm.sd.items()))

    def means_table(self) -> pd.DataFrame:
        m = self.mmrm.means.rename(columns={"time": "month"})
        t = m.merge(self._marked, on=["group", "month"], suffixes=("", "_raw"))
        return t[["group", "month", "n", "mean", "ci_lower", "ci_upper", "median", "q1", "q3"]]
