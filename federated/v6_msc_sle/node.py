"""What runs at a centre's node: its extract read through the workbook's loader, the workbook's
eligibility and response rules with the task's parameters, and aggregates only.

Every answer says which data dictionary (SHA-256) and workbook version produced it. Two kinds
of numbers leave a node:

* pooled quantities (the attrition and table counts, per-visit response and at-risk counts,
  counts of values at most x, Firth's moments) leave *masked* (:mod:`.secure`): the central side
  only learns their sum over centres;
* the centre's contributions to the tests stratified by centre (Cochran-Mantel-Haenszel: its
  observed minus expected counts, their variance, the Mantel-Haenszel terms; van Elteren: its
  weighted rank sum, expectation and variance) leave masked too, as fixed-point numbers: each is a
  sum over strata, so the central side computes both tests from the sums over centres alone;
* per-centre figures (the centre's attrition, its 2 x 2 tables for the forest plot's odds ratio)
  leave in the clear, each count checked here against the node's disclosure threshold: a count
  below it is replaced by None (``[c]``) and the central side leaves that centre out of the
  forest plot and the random-effects meta-analysis, saying so.

A node with fewer eligible patients than its threshold refuses the whole task.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
import weakref
from pathlib import Path

import numpy as np
import pandas as pd

from msc_sle import __version__ as WORKBOOK_VERSION
from msc_sle.clinical import analysis_frame, apply_eligibility, classify_response, load_cohort
from msc_sle.clinical.outcomes import get_definition
from msc_sle.compare import paper_table_variables
from msc_sle.contract import DataError, variable
from msc_sle.contract.paths import DICTIONARY_PATH
from msc_sle.prognosis import first_response, model_data
from msc_sle.stats.federated import logistic_site_moments
from msc_sle.stats.stratified import cmh_stratum_sums, stratum_rank_sum, van_elteren_stratum_sums
from msc_sle.workbook.params import check_parameters

from . import secure

__all__ = ["MIN_COUNT_ENV", "SECRET_ENV", "DICTIONARY_ENV", "DEFAULT_MIN_COUNT", "NodeRefusal", "provenance",
           "node_threshold", "count_keys", "stratified_sums", "answer"]

#: Node-side settings, set in the node's configuration (vantage6 ``algorithm_env``), never by a task.
MIN_COUNT_ENV = "MSC_SLE_MIN_COUNT"
SECRET_ENV = "MSC_SLE_CONSORTIUM_SECRET"
#: The data dictionary this node's extract was exported against (default: the image's own).
DICTIONARY_ENV = "MSC_SLE_DICTIONARY"
#: The smallest count a node lets out in the clear unless its configuration says more (as `make share`'s 5).
DEFAULT_MIN_COUNT = 5
#: Fewest centres a masked round may name: with two, each centre could subtract its own vector.
MIN_CENTRES = 3
OUTCOMES = ("cr", "lda")


class NodeRefusal(Exception):
    """This node will not answer; the message is safe to leave the node (no value, no id)."""


def _dictionary_for(me) -> str | None:
    setting = os.environ.get(DICTIONARY_ENV)
    if setting and setting.lstrip().startswith("{"):   # MockAlgorithmClient: one process, keyed by organisation
        return json.loads(setting).get(str(me))
    return setting


def provenance(dictionary_path: str | None = None) -> dict:
    path = Path(dictionary_path or DICTIONARY_PATH)
    return {"workbook_version": WORKBOOK_VERSION,
            "dictionary_sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def node_threshold(requested: int | None = None) -> int:
    """The node's own threshold; a task may ask for a higher one, never a lower one."""
    own = int(os.environ.get(MIN_COUNT_ENV, DEFAULT_MIN_COUNT))
    return max(own, int(requested or 0))


def _secret() -> bytes:
    secret = os.environ.get(SECRET_ENV, "")
    if len(secret) < 16:
        raise NodeRefusal(f"the node has no consortium secret ({SECRET_ENV}, at least 16 characters, in its "
                          "configuration): it will not send counts the central side could read")
    return secret.encode()


def _extract_path(data) -> str:
    """The extract folder named by the node's database (a one-row table with an ``extract`` column)."""
    if isinstance(data, (str, Path)):
        return str(data)
    if isinstance(data, pd.DataFrame) and "extract" in data.columns and len(data) == 1:
        return str(data["extract"].iloc[0])
    raise NodeRefusal("the node's database is not a one-row table naming the extract folder (column 'extract')")


def _problem_text(err: DataError) -> str:
    # the loader's message quotes the offending value; a vantage6 run's log reaches the server, so the
    # value is not logged either: the centre finds it by running the workbook on its own extract
    shown = [f"{p.file}, row {p.row}, column '{p.column}': {p.rule}" for p in err.problems[:5]]
    more = len(err.problems) - len(shown)
    return ("the extract breaks the data contract: " + "; ".join(shown)
            + (f"; and {more} more" if more > 0 else "") + " (the centre's own 'make run' on the extract names each value)")


@functools.lru_cache(maxsize=8)
def _prepared(path: str, overrides_json: str, stamp: tuple):
    params = check_parameters(**json.loads(overrides_json))
    try:
        cohort = load_cohort(path)
    except DataError as err:
        raise NodeRefusal(_problem_text(err)) from None
    eligibility = apply_eligibility(cohort)
    # as workbook.notebook.frame_for (which would bring the figures' matplotlib into the image)
    frame = analysis_frame(eligibility.cohort, params.definitions(), prednisone_cut=params["prednisone_cut"])
    _release_memory()
    return params, cohort, eligibility, frame


def _release_memory() -> None:
    """The loader's freed buffers back to the system (glibc keeps a process's freed heap): the node
    holds its prepared tables between rounds, not the reading of its raw extract as well."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _stamp(path: str) -> tuple:
    p = Path(path)
    files = sorted(p.iterdir()) if p.is_dir() else [p]
    return tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in files if f.is_file())


def prepare(data, overrides: dict):
    path = _extract_path(data)
    if not Path(path).exists():
        raise NodeRefusal("the extract folder named in the node's configuration does not exist")
    return _prepared(path, json.dumps(overrides or {}, sort_keys=True), _stamp(path))


def _levels(frame: pd.DataFrame, name: str) -> list | None:
    """The levels of a categorical variable as the node sends them (a category's in the
    dictionary's order, a boolean's True then False), or None for a continuous one."""
    v = variable(name)
    if v.measure != "categorical":
        return None
    if v.kind == "category":
        return [str(c) for c in v.levels]
    return ["True", "False"]


def _level_index(col: pd.Series, levels: list) -> np.ndarray:
    """Each value's position in ``levels`` (the node's names of the levels: ``str`` of a category or
    a boolean), -1 when missing or another value. One name per distinct value, not a text per
    patient (pandas 2's ``astype("string")`` of a category column is a Python loop: 18 s a run at a
    registry's size), and counts by ``np.bincount`` on these positions."""
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    position = {level: k for k, level in enumerate(levels)}
    index = np.array([position.get(str(u), -1) for u in uniques] + [-1], dtype=np.int64)
    return index[codes]


def _level_counts(index: np.ndarray, members: np.ndarray, n_levels: int) -> np.ndarray:
    return np.bincount(index[members & (index >= 0)], minlength=n_levels)


def count_keys(frame: pd.DataFrame, params, eligibility) -> list[tuple[str, int]]:
    """Every exactly poolable count of this analysis, as (key, count); the keys depend only on the
    dictionary and the parameters, so every centre sends them in the same order."""
    out: list[tuple[str, int]] = []
    for _, row in eligibility.attrition.iterrows():
        out.append((f"attrition|{row['criterion']}|remaining", int(row["remaining"])))
        if row["criterion"] != "screened":
            out.append((f"attrition|{row['criterion']}|excluded", int(row["excluded"])))
            out.append((f"attrition|{row['criterion']}|missing", int(row["missing"])))
    groups = {"all": np.ones(len(frame), dtype=bool)}
    for outcome in OUTCOMES:
        ever = frame[f"{outcome}_ever"].to_numpy(dtype=bool, na_value=False)
        groups[f"{outcome}=yes"] = ever
        groups[f"{outcome}=no"] = ~ever
    for name in paper_table_variables(frame):
        levels = _levels(frame, name)
        col = frame[name]
        valid = col.notna().to_numpy()
        index = None if levels is None else _level_index(col, levels)
        for g, members in groups.items():
            out.append((f"valid|{name}|{g}", int((valid & members).sum())))
            if levels is not None:
                counts = _level_counts(index, members, len(levels))
                out.extend((f"level|{name}|{level}|{g}", int(c)) for level, c in zip(levels, counts))
    for g, members in groups.items():
        out.append((f"group|{g}", int(members.sum())))
    for outcome in OUTCOMES:
        res = classify_response(eligibility.cohort, params.definitions()[outcome])
        p = res.patients
        months = [int(c[len("met_m"):]) for c in p.columns if c.startswith("met_m")]
        known = res.visits if "met" not in res.visits else res.visits[res.visits["met"].notna().to_numpy(dtype=bool)]
        kmonth = known["month"].to_numpy(dtype="int64", na_value=-1)
        kids = known["patient_id"].to_numpy(dtype=object)
        for m in months:
            out.append((f"rate|{outcome}|{m}|met", int(p[f"met_m{m}"].sum())))
            out.append((f"rate|{outcome}|{m}|missing", len(p) - len(pd.unique(kids[kmonth == m]))))
        out.append((f"rate|{outcome}|ever|met", int(p["ever"].sum())))
        out.append((f"rate|{outcome}|ever|missing", int((p["n_missing"] > 0).sum())))
        first = p["first_month"]
        for m in [0] + months:
            out.append((f"cumulative|{outcome}|{m}", int((first.notna() & (first <= m)).fillna(False).sum())))
        fr = first_response(eligibility.cohort, params.definitions()[outcome], classified=res)
        fr = fr[fr["followed"]]
        right = fr["right"].to_numpy(dtype=float)
        event = fr["event"].to_numpy(dtype=bool)
        out.append((f"incidence|{outcome}|widened", int(fr["widened"].sum())))
        out.append((f"incidence|{outcome}|followed", len(fr)))
        for m in months:
            out.append((f"incidence|{outcome}|{m}|events", int((event & (right == m)).sum())))
            out.append((f"incidence|{outcome}|{m}|at_risk", int((right >= m).sum())))
    return out


def _decimals(values: np.ndarray) -> int:
    """Decimal places recorded (at most 6): not a count, it says how fine the bisection must go."""
    for k in range(7):
        if np.all(np.abs(values * 10 ** k - np.rint(values * 10 ** k)) < 1e-9):
            return k
    return 6


def _clear(count: int, threshold: int):
    return int(count) if int(count) >= threshold else None


def _by_response(frame: pd.DataFrame, name: str, levels: list, ever: np.ndarray) -> list[list[int]]:
    """The centre's table of responders (first row) and non-responders by level."""
    index = _level_index(frame[name], levels)
    return [[int(c) for c in _level_counts(index, g, len(levels))] for g in (ever, ~ever)]


def _centre_release(frame: pd.DataFrame, eligibility, threshold: int, outcome: str) -> dict:
    """Per-centre figures, each count checked against the threshold (None: withheld)."""
    attrition = [{"criterion": str(r["criterion"]), "description": str(r["description"]),
                  "excluded": None if pd.isna(r["excluded"]) else _clear(r["excluded"], threshold),
                  "remaining": _clear(r["remaining"], threshold)}
                 for _, r in eligibility.attrition.iterrows()]
    ever = frame[f"{outcome}_ever"].to_numpy(dtype=bool, na_value=False)
    tables = {}
    for name in paper_table_variables(frame):
        levels = _levels(frame, name)
        if levels is not None:
            counts = _by_response(frame, name, levels, ever)
            flat = [c for r in counts for c in r]
            tables[name] = {"levels": levels,
                            "counts": counts if all(c >= threshold for c in flat) else None}
    return {"attrition": attrition, "tables": tables}


def stratified_sums(frame: pd.DataFrame, outcome: str) -> list[tuple[str, list[float]]]:
    """This centre's terms of the tests stratified by centre, as (key, numbers): for each
    categorical variable its Cochran-Mantel-Haenszel sums (``CMHSums.vector``) of responders by
    level, for each continuous one its van Elteren terms (weighted rank sum, expectation,
    variance). Their lengths depend only on the dictionary, so every centre sends the same layout."""
    ever = frame[f"{outcome}_ever"].to_numpy(dtype=bool, na_value=False)
    out = []
    for name in paper_table_variables(frame):
        levels = _levels(frame, name)
        if levels is not None:
            sums = cmh_stratum_sums(np.array(_by_response(frame, name, levels, ever)))
            out.append((f"cmh|{name}", [float(x) for x in sums.vector()]))
        else:
            x = frame[name].astype("float64").to_numpy()
            keep = ~np.isnan(x)
            s = van_elteren_stratum_sums(stratum_rank_sum(x[keep], ever[keep]))
            out.append((f"van_elteren|{name}", [s.weighted_sum, s.expected, s.variance]))
    return out


def _continuous(frame: pd.DataFrame) -> dict:
    return {name: frame[name].astype("float64").to_numpy()
            for name in paper_table_variables(frame) if _levels(frame, name) is None}


#: Each prepared frame's sorted values per (variable, group), for the rounds of "at most x" questions
#: (a count is then one binary search, not a pass over the centre's patients); dropped with the frame.
_SORTED: dict[int, dict] = {}


def _sorted_values(frame: pd.DataFrame, name: str, group: str) -> np.ndarray:
    """The recorded values of ``name`` in ``group``, sorted."""
    if id(frame) not in _SORTED:
        _SORTED[id(frame)] = {}
        weakref.finalize(frame, _SORTED.pop, id(frame), None)
    cache = _SORTED[id(frame)]
    if (name, group) not in cache:
        v = frame[name].astype("float64").to_numpy()[_group_mask(frame, group)]
        cache[(name, group)] = np.sort(v[~np.isnan(v)])
    return cache[(name, group)]


def _group_mask(frame, group: str) -> np.ndarray:
    if group == "all":
        return np.ones(len(frame), dtype=bool)
    outcome, side = group.split("=")
    ever = frame[f"{outcome}_ever"].to_numpy(dtype=bool, na_value=False)
    return ever if side == "yes" else ~ever


def _design(frame, params, outcome: str, centre_index: int | None, n_centres: int):
    """This centre's rows of 07's design (intercept first) and outcome. ``model_data`` refuses a
    frame whose outcome never varies, which one centre's may well do while the pooled one does not:
    the design is built against a stand-in outcome (the design does not depend on it) and the
    centre's own outcome is taken on the same patients."""
    column = f"{outcome}_ever"
    predictors = params.names("predictors")
    # the outcome and the predictors only: a copy of every column of the frame at each Newton step
    # would cost more than the step
    known = frame.loc[frame[column].notna().to_numpy(), [column, *dict.fromkeys(predictors)]].reset_index(drop=True)
    # model_data also refuses a predictor constant among the patients (one centre's may be, the
    # pool's not): one stand-in row where each predictor differs is added, and dropped from X
    extra = known.iloc[[0]].copy() if len(known) else known.copy()
    for name in predictors:
        col = known[name]
        seen = col.dropna()
        first = seen.iloc[0] if len(seen) else None
        if isinstance(col.dtype, pd.CategoricalDtype):
            other = [c for c in col.cat.categories if c != first]
            extra[name] = pd.Categorical([other[0] if other else first], categories=col.cat.categories)
        elif pd.api.types.is_bool_dtype(col.dtype):
            extra[name] = pd.array([not bool(first)], dtype=col.dtype)
        else:
            extra[name] = pd.array([(float(first) if first is not None else 0.0) + 1], dtype="float64").astype(col.dtype)
    extra.index = [len(known)]
    design = pd.concat([known, extra])
    design["_stand_in"] = (np.arange(len(design)) % 2).astype(bool)
    try:
        data = model_data(design, "_stand_in", predictors, label="stand-in")
    except ValueError as err:
        raise NodeRefusal(f"07's model cannot be built from this centre's patients: {err}") from None
    data = dataclasses.replace(data, X=data.X.drop(index=len(known), errors="ignore"))
    X = data.X.to_numpy(dtype=float)
    X = np.column_stack([np.ones(len(X)), X])
    if centre_index is not None:
        dummies = np.zeros((len(X), n_centres - 1))
        if centre_index > 0:
            dummies[:, centre_index - 1] = 1.0
        X = np.column_stack([X, dummies])
    y = known.loc[data.X.index, column].to_numpy(dtype=float)
    labels = dict(zip(data.terms["term"], data.terms["label"]))
    return X, y, [labels.get(c, c) for c in data.X.columns]


def answer(data, question: dict, me) -> dict:
    """This node's answer to one question of the central side (the task's input, as JSON).

    ``question``: ``kind`` ("summary", "at_most" or "moments"), ``overrides`` (the workbook's
    parameters), ``centres`` (every participating organisation id, for the masks), ``nonce``,
    ``threshold`` (the least the task asks; the node may apply more) and the kind's own fields.
    """
    threshold = node_threshold(question.get("threshold"))
    info = provenance(_dictionary_for(me))
    try:
        centres = [str(c) for c in question["centres"]]
        if str(me) not in centres or len(set(centres)) < MIN_CENTRES:
            raise NodeRefusal(f"a masked round must name this centre and at least {MIN_CENTRES} centres")
        params, cohort, eligibility, frame = prepare(data, question.get("overrides", {}))
        if len(frame) < threshold:
            raise NodeRefusal(f"fewer eligible patients than this node's disclosure threshold ({threshold}): "
                              "it takes part in no analysis")
        secret = _secret()
        kind = question["kind"]
        body = {k: v for k, v in question.items() if k != "threshold"}
        if kind == "summary":
            outcome = question.get("outcome", params["outcome"])
            keys = count_keys(frame, params, eligibility)
            stratified = stratified_sums(frame, outcome)
            continuous = _continuous(frame)
            release = _centre_release(frame, eligibility, threshold, outcome)
            try:
                terms = _design(frame, params, outcome, None, 1)[2]
            except NodeRefusal:   # said when the model is asked for; the other tables need no model
                terms = None
            # one masked vector: two vectors masked under one question would share their masks
            values = [v for _, v in keys] + secure.encode_fixed([x for _, xs in stratified for x in xs])
            return {**info, "threshold": threshold, "synthetic": bool(cohort.synthetic),
                    "fingerprint": cohort.fingerprint,
                    "keys": [k for k, _ in keys],
                    "stratified": [[k, len(xs)] for k, xs in stratified],
                    "counts": secure.masked(values, secret, me, centres, question["nonce"], body),
                    "decimals": {k: _decimals(v[~np.isnan(v)]) for k, v in continuous.items()},
                    "release": release, "terms": terms}
        if kind == "at_most":
            counts = []
            for name, group, x in question["queries"]:
                v = _sorted_values(frame, name, group)
                counts.append(int(np.searchsorted(v, x + 1e-9 * max(1.0, abs(x)), side="right")))
            return {**info, "counts": secure.masked(counts, secret, me, centres, question["nonce"], body)}
        if kind == "moments":
            index = centres.index(str(me)) if question.get("centre_term") else None
            X, y, _ = _design(frame, params, question["outcome"], index, len(centres))
            m = logistic_site_moments(X, y, np.asarray(question["beta"], dtype=float))
            flat = np.concatenate([np.ravel(m.score), np.ravel(m.information), [m.loglik], np.ravel(m.third)])
            ints = secure.encode_fixed(flat) + [int(m.n), int(m.n_events)]
            return {**info, "moments": secure.masked(ints, secret, me, centres, question["nonce"], body)}
        raise NodeRefusal(f"unknown question {kind!r}")
    except NodeRefusal as refusal:
        return {**info, "refused": str(refusal)}
