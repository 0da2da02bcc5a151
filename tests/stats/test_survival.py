"""Time to first event (msc_sle.stats.survival) against a textbook example and R's survival package.

References:
* Freireich et al. (1963) 6-MP leukaemia remission data, as tabulated by Gehan (1965) and worked
  in Kleinbaum & Klein, *Survival Analysis: A Self-Learning Text* (3rd ed., 2012), chapter 2:
  Kaplan-Meier estimates (3 decimals in the book) and the log-rank chi-square 16.79.
* R 4.2 / survival 3.x on the same data (MASS::gehan) and on data/visits_grouped.csv (40 simulated
  subjects, visits at months 1, 3, 6, 12, a blank flag = missed visit): ``survfit`` (conf.type
  "log" and "log-log"), ``survdiff``, and ``survfit(Surv(left, right, type="interval2"))`` for the
  Turnbull estimate. Script: data/reference_survival.R; its printed values are stored below.
* data/reference_discrete_time.R (R 4.2.2): ``glm(y ~ 0 + time + x, family = binomial(link =
  "cloglog"))`` on the person-period expansion of data/discrete_time.csv (60 simulated subjects),
  its ``anova`` likelihood-ratio test, and ``binom.test(0, k)$conf.int`` (Clopper-Pearson).
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from msc_sle.stats.survival import cumulative_incidence, discrete_time_model, first_event, logrank_test

DATA = Path(__file__).parent / "data"

# weeks in remission; + = censored (still in remission)
MP6 = [6, 6, 6, 7, 10, 13, 16, 22, 23] + [6, 9, 10, 11, 17, 19, 20, 25, 32, 32, 34, 35]
MP6_EVENT = [1] * 9 + [0] * 12
PLACEBO = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]


def _freireich():
    time = np.array(MP6 + PLACEBO, dtype=float)
    event = np.array(MP6_EVENT + [1] * 21, dtype=bool)
    group = np.array(["6-MP"] * 21 + ["placebo"] * 21, dtype=object)
    return time, event, group


def _rows(ci, group, times):
    t = ci.table[ci.table["group"] == group].set_index("time")
    return t.loc[times]


def test_freireich_kaplan_meier_matches_kleinbaum_klein_and_r():
    time, event, group = _freireich()
    ci = cumulative_incidence(time, event, group=group)
    assert ci.method == "kaplan-meier" and ci.groups == ("6-MP", "placebo")
    mp = _rows(ci, "6-MP", [6, 7, 10, 13, 16, 22, 23])
    # Kleinbaum & Klein, table for the treatment group
    np.testing.assert_allclose(mp["survival"], [0.857, 0.807, 0.753, 0.690, 0.627, 0.538, 0.448],
                               atol=5e-4)
    # R survfit: survival, Greenwood se, n.risk, and the log CI of S (incidence = 1 - S)
    np.testing.assert_allclose(mp["survival"], [0.8571428571429, 0.8067226890756, 0.7529411764706,
                                                0.6901960784314, 0.6274509803922, 0.5378151260504,
                                                0.4481792717087], atol=1e-10)
    np.testing.assert_allclose(mp["se"], [0.0763603548321, 0.0869352851801, 0.0963496529943,
                                          0.1068147077750, 0.1140538652568, 0.1282337516930,
                                          0.1345914567558], atol=1e-10)
    assert list(mp["n_risk"]) == [21, 17, 15, 12, 11, 7, 6]
    np.testing.assert_allclose(1 - mp["ci_lower"], [1.0, 0.996443675909, 0.967574754552,
                                                    0.934769195536, 0.895994938535,
                                                    0.858200848045, 0.807372045529], atol=1e-9)
    np.testing.assert_allclose(1 - mp["ci_upper"], [0.7198170839163, 0.6531242184622,
                                                    0.5859189820297, 0.5096130991018,
                                                    0.4393939249688, 0.3370366161577,
                                                    0.2487882268177], atol=1e-9)
    pl = _rows(ci, "placebo", [1, 2, 3, 4, 5, 8, 11, 12, 15, 17, 22, 23])
    np.testing.assert_allclose(pl["survival"], [0.905, 0.810, 0.762, 0.667, 0.571, 0.381, 0.286,
                                                0.190, 0.143, 0.095, 0.048, 0.0], atol=5e-4)
    assert ci.at(23, "placebo") == 1.0 and ci.at(0.5, "6-MP") == 0.0
    assert ci.at(6.5, "6-MP") == pytest.approx(1 - 0.8571428571429)


def test_freireich_log_log_intervals_match_r():
    time, event, group = _freireich()
    ci = cumulative_incidence(time, event, group=group, conf_type="log-log")
    pl = _rows(ci, "placebo", [1, 8, 22])
    np.testing.assert_allclose(1 - pl["ci_upper"], [0.67004588223503, 0.18306654882039,
                                                    0.00332446304253], atol=1e-9)
    np.testing.assert_allclose(1 - pl["ci_lower"], [0.975294149038, 0.577788677746,
                                                    0.197044905699], atol=1e-9)


def test_freireich_logrank_matches_textbook_and_survdiff():
    time, event, group = _freireich()
    lr = logrank_test(time, event, group)
    assert round(lr.statistic, 2) == 16.79                      # Kleinbaum & Klein
    assert lr.statistic == pytest.approx(16.792941, abs=1e-6)   # R survdiff
    assert lr.p == pytest.approx(4.16881e-05, rel=1e-5) and lr.df == 1
    np.testing.assert_allclose(lr.table["observed"], [9, 21])
    np.testing.assert_allclose(lr.table["expected"], [19.250501, 10.749499], atol=1e-6)
    ci = cumulative_incidence(time, event, group=group)
    assert ci.test.statistic == pytest.approx(lr.statistic)


def _visits():
    v = pd.read_csv(DATA / "visits_grouped.csv")
    iv = first_event(v, subject="subject", time="month", event="event")
    group = v.groupby("subject")["group"].first().loc[iv.index]
    return v, iv, group


def test_first_event_intervals_and_widening():
    v, iv, group = _visits()
    assert len(iv) == 40 and iv["event"].sum() == 27
    assert (iv.loc["S01", ["left", "right"]].tolist(), bool(iv.loc["S01", "event"])) == ([3, 6], True)
    assert (iv.loc["S02", ["left", "right"]].tolist(), bool(iv.loc["S02", "event"])) == ([12, 12], False)
    # S08 missed month 3 (event seen at 6, last event-free 1); S38 missed 1 and 3
    assert iv.loc["S08", ["left", "right"]].tolist() == [1, 6] and iv.loc["S08", "widened"]
    assert iv.loc["S38", ["left", "right"]].tolist() == [0, 6] and iv.loc["S38", "widened"]
    assert iv["widened"].sum() == 3
    # a subject with no attended visit after baseline is left out
    extra = pd.concat([v, pd.DataFrame({"subject": ["X"], "group": ["A"], "month": [0],
                                        "event": [0]})])
    assert "X" not in first_event(extra, subject="subject", time="month", event="event").index


def test_grouped_kaplan_meier_and_logrank_match_r():
    _, iv, group = _visits()
    ci = cumulative_incidence(iv["right"], iv["event"], group=group)   # left ignored: grouped KM
    assert ci.method == "kaplan-meier" and ci.n_widened == 0
    a = _rows(ci, "A", [1, 3, 6, 12])
    b = _rows(ci, "B", [1, 3, 6, 12])
    np.testing.assert_allclose(a["survival"], [0.9, 0.65, 0.45, 0.15], atol=1e-12)
    np.testing.assert_allclose(b["survival"], [0.95, 0.85, 0.7, 0.445454545455], atol=1e-11)
    np.testing.assert_allclose(b["se"], [0.0487339717240, 0.0798435971134, 0.1024695076596,
                                         0.1206652608835], atol=1e-11)
    assert list(a["n_risk"]) == [20, 18, 13, 9] and list(b["n_risk"]) == [20, 19, 17, 11]
    np.testing.assert_allclose(1 - b["ci_lower"], [1.0, 1.0, 0.932612403656, 0.757491717459],
                               atol=1e-9)
    np.testing.assert_allclose(1 - b["ci_upper"], [0.8591280277359, 0.7070700848995,
                                                   0.5254058364218, 0.2619563323170], atol=1e-9)
    assert ci.test.statistic == pytest.approx(4.3032922, abs=1e-6)
    assert ci.test.p == pytest.approx(0.0380387, abs=1e-6)
    np.testing.assert_allclose(ci.test.table["expected"], [12.438739, 14.561261], atol=1e-6)
    start = ci.table[ci.table["time"] == 0]
    assert (start["cum_incidence"] == 0).all() and list(start["n_risk"]) == [20, 20]


def test_turnbull_with_missed_visits_matches_r_interval2():
    _, iv, group = _visits()
    ci = cumulative_incidence(iv["right"], iv["event"], left=iv["left"], group=group)
    assert ci.method == "turnbull" and ci.n_widened == 3
    a = _rows(ci, "A", [1, 3, 6, 12])
    b = _rows(ci, "B", [1, 3, 6, 12])
    # R survfit(Surv(left, right, type = "interval2") ~ group), whose EM stops early (~2e-5)
    np.testing.assert_allclose(a["survival"], [0.9, 0.618751714678, 0.45, 0.15], atol=5e-5)
    np.testing.assert_allclose(b["survival"], [0.939999976185, 0.780023607175, 0.7,
                                               0.445454545455], atol=5e-5)
    # ... and the exact NPMLE of group B by hand: cell masses p = (.06, .16, .08, .2545.., .4454..)
    # are self-consistent (S38 in (0,6] splits .2/.533/.267, S39 in (1,6] .667/.333, the three
    # censored at 6 split .3636/.6364), so S = .94, .78, .70 exactly
    np.testing.assert_allclose(b["survival"], [0.94, 0.78, 0.7, 0.445454545455], atol=1e-9)
    assert a["ci_lower"].isna().all()
    overall = cumulative_incidence(iv["right"], iv["event"], left=iv["left"])
    np.testing.assert_allclose(_rows(overall, "all", [1, 3, 6, 12])["survival"],
                               [0.920312499997, 0.700568422789, 0.575, 0.2875], atol=1e-5)
    assert overall.test is None and overall.groups == ("all",)
    # without widened intervals the Turnbull EM gives the Kaplan-Meier estimate
    from msc_sle.stats.survival import _turnbull
    km = _rows(cumulative_incidence(iv["right"], iv["event"], group=group), "A", [0, 1, 3, 6, 12])
    m = (group == "A").to_numpy()
    r, e = iv["right"].to_numpy()[m], iv["event"].to_numpy()[m]
    prev = {1: 0, 3: 1, 6: 3, 12: 6}
    left = np.array([prev[x] for x in r], dtype=float)
    np.testing.assert_allclose(_turnbull(left, r, e, np.array([0, 1, 3, 6, 12.0])),
                               km["survival"], atol=1e-9)


def test_input_checks_and_pickle():
    time, event, group = _freireich()
    with pytest.raises(ValueError, match="origin"):
        cumulative_incidence(np.r_[0.0, time[1:]], event)
    with pytest.raises(ValueError, match="left"):
        cumulative_incidence([3.0, 6.0], [True, True], left=[3.0, 1.0])
    with pytest.raises(ValueError, match="conf_type"):
        cumulative_incidence(time, event, conf_type="arcsin")
    with pytest.raises(ValueError, match="two groups"):
        logrank_test(time, event, np.zeros(time.size))
    ci = cumulative_incidence(time, event, group=group)
    back = pickle.loads(pickle.dumps(ci))
    pd.testing.assert_frame_equal(back.table, ci.table)
    assert back.test.statistic == ci.test.statistic


def test_discrete_time_cloglog_matches_r_glm():
    d = pd.read_csv(DATA / "discrete_time.csv")
    m = discrete_time_model(d["right"], d["event"], d["x"], names=["x"], grid=[1, 3, 6, 12])
    r = m.table.loc["x"]
    assert m.n_rows == 175 and m.n == 60 and m.n_events == 38 and m.dropped_times == ()
    assert r["coef"] == pytest.approx(0.045960879391943, abs=1e-8)
    assert r["se"] == pytest.approx(0.013478995885596, abs=1e-8)
    assert r["p"] == pytest.approx(0.000650070116222, rel=1e-6)
    assert r["lr_statistic"] == pytest.approx(12.25705103, abs=1e-6)
    assert r["hr_lower"] == pytest.approx(np.exp(0.045960879391943 - 1.959963984540054 * 0.013478995885596),
                                          rel=1e-7)


def test_no_event_yet_gives_an_exact_interval_not_zero_to_zero():
    """Before a group's first event Greenwood's interval is 0-0; the exact binomial interval for 0
    of the k subjects followed to that visit is printed instead (R binom.test(0, k))."""
    right = [1.0] + [3.0] * 10 + [12.0] * 22   # 33 followed to month 1, none with the event there
    event = [False] + [True] * 4 + [False] * 6 + [True] * 3 + [False] * 19
    ci = cumulative_incidence(right, event)
    at1 = ci.table[ci.table["time"] == 1].iloc[0]
    assert at1["cum_incidence"] == 0 and at1["ci_lower"] == 0
    assert at1["ci_upper"] == pytest.approx(0.105762810075, abs=1e-10)
    assert at1["ci_method"] == "clopper-pearson"
    later = ci.table[ci.table["time"] == 3].iloc[0]
    assert later["ci_method"] == "log" and later["ci_lower"] < later["cum_incidence"] < later["ci_upper"]
    origin = ci.table[ci.table["time"] == 0].iloc[0]
    assert np.isnan(origin["ci_upper"]) and origin["ci_method"] == "origin"
    # every printed interval contains its estimate and none collapses to a point after the origin
    t = ci.table[ci.table["time"] > 0]
    assert ((t["ci_lower"] <= t["cum_incidence"]) & (t["cum_incidence"] <= t["ci_upper"])).all()
    assert (t["ci_upper"] > t["ci_lower"]).all()


def test_discrete_time_model_on_separated_data_is_not_estimable():
    right = [1.0, 1.0, 3.0, 3.0, 12.0, 12.0]
    event = [True, True, True, True, False, False]
    x = [5.0, 6.0, 3.0, 4.0, 1.0, 2.0]   # the larger x, the earlier the event: no finite MLE
    m = discrete_time_model(right, event, x, grid=[1, 3, 6, 12])
    assert not m.estimable and m.table["hazard_ratio"].isna().all()


def _first_event_by_subject(visits, origin, grid):
    """The docstring of ``first_event`` read subject by subject, in plain Python (the oracle of the
    vectorised implementation): attended visits after origin in time order, the first with the event."""
    out = {}
    for sid in sorted(set(visits["subject"])):
        rows = sorted((float(t), bool(e)) for s, t, e in zip(visits["subject"], visits["month"], visits["event"])
                      if s == sid and not pd.isna(e) and float(t) > origin)
        if not rows:
            continue
        hit = next((i for i, (_, e) in enumerate(rows) if e), None)
        if hit is None:
            out[sid] = (rows[-1][0], rows[-1][0], False, False, len(rows))
        else:
            left = rows[hit - 1][0] if hit else origin
            right = rows[hit][0]
            out[sid] = (left, right, True, any(left < g < right for g in grid), len(rows))
    return out


@pytest.mark.parametrize("seed", range(30))
def test_first_event_equals_the_subject_by_subject_reading(seed):
    rng = np.random.default_rng(seed)
    grid = [1.0, 3.0, 6.0, 9.0, 12.0]
    rows = []
    for k in range(int(rng.integers(1, 40))):
        for month in [0.0, *grid]:
            if rng.random() < 0.8:   # a visit not in the table at all: missed
                flag = rng.choice([0, 1, np.nan], p=[0.6, 0.25, 0.15])   # NaN: attended, flag missing
                rows.append((f"P{rng.integers(0, 25):02d}", month, flag))
    v = pd.DataFrame(rows, columns=["subject", "month", "event"]).drop_duplicates(["subject", "month"])
    v = v.sample(frac=1, random_state=seed)   # the function sorts; the table's order must not matter
    got = first_event(v, subject="subject", time="month", event="event", schedule=grid)
    want = _first_event_by_subject(v, 0.0, grid)
    assert list(got.index) == sorted(want)
    for sid, (left, right, event, widened, n) in want.items():
        assert tuple(got.loc[sid]) == (left, right, event, widened, n), sid
    assert [str(d) for d in got.dtypes] == ["float64", "float64", "bool", "bool", "int64"]
