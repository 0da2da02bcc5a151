"""The central side: asks the nodes, checks every answer, and builds the consortium's tables from
pooled (unmasked) counts and from the per-centre figures the nodes let out.

It never sees one centre's counts except what that centre released under its threshold, so the
figures below are of two kinds: pooled and exact (attrition overall, Table 1, Table 2's counts and
Pearson / Fisher p-values, the Cochran-Mantel-Haenszel and van Elteren tests stratified by centre
from their summed per-centre terms, response rates, cumulative response, cumulative incidence of
first response, Firth's coefficients, medians and quartiles by bisection) and per centre
(attrition per centre, odds ratios for the forest plot and the random-effects meta-analysis),
where a centre that withheld a count is left out and the result says so.
"""
from __future__ import annotations

import math
import secrets
import threading

import numpy as np

from msc_sle.contract import variable
from msc_sle.stats import fisher_exact, odds_ratio, pearson_chi2, wilson_interval
from msc_sle.stats.federated import (SiteMoments, bisect_quantile, cumulative_incidence_from_counts,
                                     firth_logistic_federated)
from msc_sle.stats.meta import log_odds_ratio, random_effects_meta
from msc_sle.stats.stratified import (CMHSums, VanElterenSums, cochran_mantel_haenszel_from_sums,
                                      van_elteren_from_sums)

from . import node, secure

__all__ = ["FederatedError", "Consortium", "analyse"]

#: Quantile levels of Table 1's continuous rows (range, quartiles, median).
LEVELS = {"min": 0.0, "q1": 0.25, "median": 0.5, "q3": 0.75, "max": 1.0}


class FederatedError(RuntimeError):
    """The task ended: one message naming the centre and what went wrong."""


class Consortium:
    """The participating centres and one round trip to them (a vantage6 subtask per question)."""

    def __init__(self, client, overrides: dict, threshold: int, names: dict | None = None):
        self.client = client
        self.overrides = dict(overrides or {})
        self.threshold = int(threshold)
        self.centres = [org["id"] for org in client.organization.list()]
        self.names = {str(k): v for k, v in (names or {}).items()}
        self.rounds = 0
        self.expected = node.provenance()

    def name(self, org) -> str:
        return self.names.get(str(org), f"organisation {org}")

    def ask(self, question: dict) -> list[dict]:
        """One round: every centre answers ``question``; a refusal or another dictionary ends the task."""
        q = {**question, "overrides": self.overrides, "centres": [str(c) for c in self.centres],
             "nonce": secrets.token_hex(16), "threshold": self.threshold}
        task = self.client.task.create(input_={"method": "partial", "kwargs": {"question": q}},
                                       organizations=self.centres, name="msc-sle", description=q["kind"])
        answers = self.client.wait_for_results(task_id=task["id"])
        self.rounds += 1
        by_centre = {}
        for a in answers:
            centre = a.get("centre")
            if "refused" in a:
                raise FederatedError(f"centre '{self.name(centre)}' refused: {a['refused']}")
            for key in ("dictionary_sha256", "workbook_version"):
                if a.get(key) != self.expected[key]:
                    raise FederatedError(
                        f"centre '{self.name(centre)}' ran another {key.split('_')[0]} "
                        f"({key} {str(a.get(key))[:12]}, the consortium's {self.expected[key][:12]}): "
                        "every centre must run the same image and data dictionary")
            by_centre[str(centre)] = a
        missing = [c for c in self.centres if str(c) not in by_centre]
        if missing:
            raise FederatedError(f"centre '{self.name(missing[0])}' did not answer")
        return [by_centre[str(c)] for c in self.centres]


def _run_batched(jobs, ask_counts):
    """Run every bisection at once, one thread each, so that each round asks the centres every
    pending count in one task (the rounds are those of the slowest bisection, not their sum)."""
    cond = threading.Condition()
    pending, results, errors = {}, [None] * len(jobs), []
    active = [len(jobs)]
    rounds = [0]

    def worker(i, job):
        query, run = job

        def count_at_most(x):
            slot = {}
            with cond:
                pending[i] = (query(float(x)), slot)
                cond.notify_all()
                while "value" not in slot:
                    cond.wait()
            return slot["value"]

        try:
            results[i] = run(count_at_most)
        except BaseException as err:   # handed to the caller below
            errors.append(err)
        finally:
            with cond:
                active[0] -= 1
                cond.notify_all()

    threads = [threading.Thread(target=worker, args=(i, job), daemon=True) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    while True:
        with cond:
            while active[0] and len(pending) < active[0]:
                cond.wait()
            if not active[0]:
                break
            batch = list(pending.values())
            pending.clear()
        try:
            values = ask_counts([q for q, _ in batch])
        except BaseException as err:
            values = [0] * len(batch)
            errors.append(err)
        with cond:
            for (_, slot), v in zip(batch, values):
                slot["value"] = int(v)
            rounds[0] += 1
            cond.notify_all()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results, rounds[0]


def _bounds(name: str) -> tuple[float, float]:
    """Where the bisection searches: the dictionary's allowed range of the variable."""
    lo, hi = variable(name).value_range
    return float(lo), float(hi)


def _wilson_row(k: int, n: int) -> dict:
    lo, hi = wilson_interval(k, n)
    return {"n": k, "patients": n, "percent": 100.0 * k / n if n else math.nan,
            "ci_low": 100 * lo, "ci_high": 100 * hi}


def _result_dict(obj) -> dict:
    out = {}
    for k, v in vars(obj).items():
        if isinstance(v, (np.floating, float)):
            out[k] = float(v)
        elif isinstance(v, (np.integer, int)):
            out[k] = int(v)
        elif isinstance(v, (str, type(None), bool)):
            out[k] = v
        elif isinstance(v, tuple):
            out[k] = [x if isinstance(x, str) else float(x) for x in v]
    return out


def analyse(client, overrides: dict | None = None, *, outcome: str | None = None, threshold: int = 0,
            centre_term: bool = False, names: dict | None = None) -> dict:
    """The consortium's analysis as JSON-ready dicts (what the central function returns)."""
    from msc_sle.workbook.params import check_parameters

    params = check_parameters(**(overrides or {}))
    outcome = outcome or params["outcome"]
    cons = Consortium(client, overrides or {}, threshold, names)
    answers = cons.ask({"kind": "summary", "outcome": outcome})
    keys, layout = answers[0]["keys"], answers[0]["stratified"]
    for c, a in zip(cons.centres, answers):
        if a["keys"] != keys or a["stratified"] != layout:
            raise FederatedError(f"centre '{cons.name(c)}' computed other quantities than the first centre")
    total = secure.unmask_sum([a["counts"] for a in answers])
    pooled = dict(zip(keys, total[:len(keys)]))
    # the centres' terms of the stratified tests, summed: the central side sees no centre's own
    flat, stratified = secure.decode_fixed(total[len(keys):]), {}
    for key, length in layout:
        stratified[key], flat = flat[:length], flat[length:]

    centres = [{"centre": cons.name(c), "organisation": str(c), "threshold": a["threshold"],
                "fingerprint": a["fingerprint"], "synthetic": a["synthetic"],
                "workbook_version": a["workbook_version"], "dictionary_sha256": a["dictionary_sha256"]}
               for c, a in zip(cons.centres, answers)]

    # attrition: overall from pooled counts, per centre as each centre released it
    criteria = list(dict.fromkeys(k.split("|")[1] for k in keys if k.startswith("attrition|")))
    attrition = []
    for crit in criteria:
        first = {r["criterion"]: r for r in answers[0]["release"]["attrition"]}[crit]
        row = {"criterion": crit, "description": first["description"], "remaining": pooled[f"attrition|{crit}|remaining"]}
        if crit != "screened":
            row["excluded"] = pooled[f"attrition|{crit}|excluded"]
            row["missing"] = pooled[f"attrition|{crit}|missing"]
        for c, a in zip(cons.centres, answers):
            mine = {r["criterion"]: r for r in a["release"]["attrition"]}[crit]
            row[f"remaining|{cons.name(c)}"] = mine["remaining"]
        attrition.append(row)

    # Table 1 and Table 2's counts
    variables = list(dict.fromkeys(k.split("|")[1] for k in keys if k.startswith("valid|")))
    levels = {}
    for k in keys:
        if k.startswith("level|"):
            _, name, level, group = k.split("|")
            levels.setdefault(name, [])
            if level not in levels[name]:
                levels[name].append(level)
    groups = ["all", f"{outcome}=yes", f"{outcome}=no"]
    decimals = {}
    for a in answers:
        for name, dec in a["decimals"].items():
            decimals[name] = max(decimals.get(name, 0), dec)
    jobs, job_keys = [], []
    for name in variables:
        if name in levels:
            continue
        lo, hi = _bounds(name)
        step = 10.0 ** -decimals.get(name, 0)
        for group in groups:
            n = pooled[f"valid|{name}|{group}"]
            if n == 0:
                continue
            for stat, q in LEVELS.items():
                def run(count_at_most, n=n, q=q, lo=lo, hi=hi, step=step):
                    return bisect_quantile(count_at_most, n, q, lo, hi, step)
                jobs.append(((lambda x, name=name, group=group: [name, group, x]), run))
                job_keys.append((name, group, stat))

    def ask_counts(queries):
        got = cons.ask({"kind": "at_most", "queries": queries})
        return secure.unmask_sum([a["counts"] for a in got])

    found, bisection_rounds = _run_batched(jobs, ask_counts) if jobs else ([], 0)
    quantiles = {}
    for (name, group, stat), (value, calls) in zip(job_keys, found):
        quantiles.setdefault((name, group), {})[stat] = float(value)
        quantiles[(name, group)].setdefault("calls", 0)
        quantiles[(name, group)]["calls"] += int(calls)

    table = []
    for name in variables:
        for group in groups:
            row = {"variable": name, "group": group, "n_valid": pooled[f"valid|{name}|{group}"],
                   "n_group": pooled[f"group|{group}"]}
            if name in levels:
                for level in levels[name]:
                    row[f"count|{level}"] = pooled[f"level|{name}|{level}|{group}"]
            else:
                row.update(quantiles.get((name, group), {}))
            table.append(row)

    # Table 2: tests on pooled counts, stratified tests and meta-analysis on what the centres let out
    tests = []
    for name in variables:
        if name in levels:
            counts = np.array([[pooled[f"level|{name}|{lv}|{g}"] for lv in levels[name]]
                               for g in (f"{outcome}=yes", f"{outcome}=no")])
            counts = counts[:, counts.sum(axis=0) > 0]
            row = {"variable": name, "kind": "categorical"}
            if counts.shape[1] >= 2 and (counts.sum(axis=1) > 0).all():
                row["pearson_p"] = float(pearson_chi2(counts).pvalue)
                if counts.shape == (2, 2):
                    row["fisher_p"] = float(fisher_exact(counts).pvalue)
            cmh = cochran_mantel_haenszel_from_sums(CMHSums.from_vector(stratified[f"cmh|{name}"],
                                                                        (2, len(levels[name]))))
            if cmh.pvalue == cmh.pvalue:
                row["cmh_p"], row["cmh_statistic"], row["cmh_df"] = float(cmh.pvalue), float(cmh.statistic), int(cmh.df)
                if math.isfinite(cmh.common_odds_ratio) and cmh.common_odds_ratio > 0:
                    row["mh_or"] = {"estimate": cmh.common_odds_ratio, "ci_low": cmh.ci_low, "ci_high": cmh.ci_high}
            # the forest plot and the meta-analysis need each centre's own table, released under its threshold
            released = [(c, a["release"]["tables"].get(name)) for c, a in zip(cons.centres, answers)]
            usable = [(c, t) for c, t in released if t is not None and t["counts"] is not None]
            row["centres_used"] = [cons.name(c) for c, _ in usable]
            row["centres_withheld"] = [cons.name(c) for c, t in released if t is not None and t["counts"] is None]
            if counts.shape == (2, 2):
                pooled_or = odds_ratio(*np.ravel(counts))
                row["pooled_or"] = {"estimate": float(pooled_or.estimate), "ci_low": float(pooled_or.ci_low),
                                    "ci_high": float(pooled_or.ci_high)}
            if usable and len(usable[0][1]["levels"]) == 2:
                ors = [log_odds_ratio(*np.ravel(t["counts"])) for _, t in usable]
                row["per_centre"] = [{"centre": cons.name(c), "log_or": float(o.estimate),
                                      "se": float(o.std_error)} for (c, _), o in zip(usable, ors)]
                if len(usable) >= 2:
                    meta = random_effects_meta([o.estimate for o in ors], [o.std_error for o in ors],
                                               method="REML", labels=row["centres_used"])
                    row["meta"] = _result_dict(meta)
            tests.append(row)
        elif name in [k[0] for k in job_keys]:
            row = {"variable": name, "kind": "continuous"}
            ve = van_elteren_from_sums(VanElterenSums(*stratified[f"van_elteren|{name}"]))
            if ve.pvalue == ve.pvalue:
                row["van_elteren_p"], row["van_elteren_z"] = float(ve.pvalue), float(ve.statistic)
            tests.append(row)

    # response over the year
    rates, cumulative, incidence = [], [], []
    n_all = pooled["group|all"]
    for oc in node.OUTCOMES:
        months = sorted({int(k.split("|")[2]) for k in keys if k.startswith(f"rate|{oc}|") and k.split("|")[2] != "ever"})
        for m in months:
            rates.append({"outcome": oc, "when": f"month {m}", "missing": pooled[f"rate|{oc}|{m}|missing"],
                          **_wilson_row(pooled[f"rate|{oc}|{m}|met"], n_all)})
        rates.append({"outcome": oc, "when": "during the year", "missing": pooled[f"rate|{oc}|ever|missing"],
                      **_wilson_row(pooled[f"rate|{oc}|ever|met"], n_all)})
        for m in [0] + months:
            cumulative.append({"outcome": oc, "month": m, **_wilson_row(pooled[f"cumulative|{oc}|{m}"], n_all)})
        events = [pooled[f"incidence|{oc}|{m}|events"] for m in months]
        at_risk = [pooled[f"incidence|{oc}|{m}|at_risk"] for m in months]
        widened = pooled[f"incidence|{oc}|widened"]
        if pooled[f"incidence|{oc}|followed"] and not widened:
            ci = cumulative_incidence_from_counts(months, events, at_risk)
            tab = ci.table.reset_index() if hasattr(ci.table, "reset_index") else ci.table
            for rec in tab.to_dict("records"):
                incidence.append({"outcome": oc, **{k: (float(v) if isinstance(v, (int, float, np.number)) else str(v))
                                                     for k, v in rec.items()}})
        elif widened:
            incidence.append({"outcome": oc, "note": "an interval was widened by a missed visit: Turnbull's "
                                                     "estimate needs each patient's interval and is not pooled"})

    # Firth's model of 07 by federated Newton-Raphson
    terms = next((a["terms"] for a in answers if a.get("terms")), None)
    model = None
    if terms:
        names_ = ["(Intercept)"] + list(terms) + ([f"centre: {cons.name(c)}" for c in cons.centres[1:]]
                                                  if centre_term else [])
        p = len(names_)

        def site_moments(beta):
            got = cons.ask({"kind": "moments", "outcome": outcome, "beta": [float(b) for b in beta],
                            "centre_term": bool(centre_term)})
            total = secure.unmask_sum([a["moments"] for a in got])
            flat = secure.decode_fixed(total[:-2])
            score, rest = flat[:p], flat[p:]
            info, rest = rest[:p * p].reshape(p, p), rest[p * p:]
            loglik, third = float(rest[0]), rest[1:].reshape(p, p, p)
            return [SiteMoments(score=score, information=info, loglik=loglik, third=third,
                                n=int(total[-2]), n_events=int(total[-1]))]

        before = cons.rounds
        fit = firth_logistic_federated(site_moments, p)
        model = {"terms": names_, "coef": [float(b) for b in fit.coef],
                 "std_errors": [float(s) for s in fit.std_errors], "loglik": float(fit.loglik),
                 "n_iter": int(fit.n_iter), "converged": bool(fit.converged), "rounds": cons.rounds - before,
                 "n": int(fit.n), "n_events": int(fit.n_events), "outcome": outcome, "centre_term": bool(centre_term)}

    return {"centres": centres, "outcome": outcome, "threshold": max(c["threshold"] for c in centres),
            "provenance": cons.expected, "attrition": attrition, "table": table, "levels": levels,
            "decimals": decimals, "tests": tests, "rates": rates, "cumulative": cumulative,
            "incidence": incidence, "model": model, "bisection_rounds": bisection_rounds,
            "rounds": cons.rounds}
