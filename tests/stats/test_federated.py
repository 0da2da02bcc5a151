"""Federated maths: each result from per-site sums equals the single-site computation on the
concatenated rows (quantiles, Firth's logistic regression, cumulative incidence), and the
identity that lets Firth's hat-value term travel as a third-moment tensor."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from msc_sle.stats import descriptive
from msc_sle.stats.federated import (FederatedFirthResult, SiteMoments, bisect_quantile,
                                     bisect_quantiles,
                                     cumulative_incidence_from_counts, firth_logistic_federated,
                                     logistic_site_moments)
from msc_sle.stats.models import firth_logistic
from msc_sle.stats.survival import cumulative_incidence

DATA = Path(__file__).parent / "data"
LEVELS = (0.0, 0.25, 0.5, 0.75, 1.0)


def _split(n: int, rng, sizes=(0.55, 0.35, 0.10)):
    """Site labels 0, 1, 2 of unequal sizes (one small site), shuffled."""
    return rng.permutation(np.repeat([0, 1, 2], np.round(np.array(sizes) * n).astype(int)
                                     + [n - np.round(np.array(sizes) * n).astype(int).sum(), 0, 0]))


# ------------------------------------------------------------------------------------------
# quantiles by bisection on pooled counts
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(25))
@pytest.mark.parametrize("step, scale", [(1, 1), (0.1, 10), (0.5, 2)])
def test_bisect_quantile_equals_the_single_site_quantiles(seed, step, scale):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 90))
    # values recorded to `step`, with many ties
    values = rng.integers(-40, 300, size=n) // (1 if seed % 2 else 7) / scale
    site = _split(n, rng)
    parts = [values[site == s] for s in range(3)]
    calls = []

    def count_at_most(x):
        calls.append(x)
        return sum(int((p <= x).sum()) for p in parts)

    expected = descriptive.quantiles(values, LEVELS)
    for level, want in zip(LEVELS, expected):
        got, rounds = bisect_quantile(count_at_most, n, level, lo=-50, hi=300, step=step)
        assert got == want, (level, got, want)
        # a bisection over (350 / step) grid points takes about log2 of that per order statistic
        assert 1 <= rounds <= 2 * (int(np.ceil(np.log2(350 / step))) + 2)
    s = descriptive.summary(values)
    assert bisect_quantile(count_at_most, n, 0.0, -50, 300, step)[0] == s.min
    assert bisect_quantile(count_at_most, n, 1.0, -50, 300, step)[0] == s.max
    # all levels at once: the same values, in the rounds of a single bisection
    rounds_asked = []

    def count_many(xs):
        rounds_asked.append(len(xs))
        return [sum(int((p <= x).sum()) for p in parts) for x in xs]

    together, rounds = bisect_quantiles(count_many, n, LEVELS, lo=-50, hi=300, step=step)
    assert together.tolist() == expected.tolist()
    assert rounds == len(rounds_asked) <= int(np.ceil(np.log2(350 / step + 1))) + 1


@pytest.mark.parametrize("seed", range(10))
def test_bisect_quantile_finds_values_stored_a_binary_fraction_off_their_decimal(seed):
    # k * 0.1 is not always the double nearest k/10 (3 * 0.1 = 0.30000000000000004): a site's
    # stored value may lie just above or below its recorded decimal
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 60, size=int(rng.integers(5, 40))) * 0.1
    parts = np.array_split(values, 3)
    count = lambda x: sum(int((p <= x).sum()) for p in parts)  # noqa: E731
    for level, want in zip(LEVELS, descriptive.quantiles(values, LEVELS)):
        got, _ = bisect_quantile(count, values.size, level, lo=0, hi=6, step=0.1)
        assert got == pytest.approx(want, rel=1e-12, abs=1e-12)
        if level in (0.0, 1.0):
            assert got == round(want, 1)   # an order statistic: the recorded decimal itself


def test_bisect_quantile_refuses_an_upper_bound_below_the_values():
    values = np.array([1.0, 2.0, 9.0])
    with pytest.raises(ValueError, match="not an upper bound"):
        bisect_quantile(lambda x: int((values <= x).sum()), 3, 1.0, lo=0, hi=5, step=1)
    with pytest.raises(ValueError, match="not a lower bound"):
        bisect_quantile(lambda x: int((values <= x).sum()), 3, 0.0, lo=2, hi=10, step=1)
    many = lambda xs: [int((values <= x).sum()) for x in xs]  # noqa: E731
    with pytest.raises(ValueError, match="not a lower bound"):
        bisect_quantiles(many, 3, [0.5], lo=2, hi=10, step=1)
    with pytest.raises(ValueError, match="not an upper bound"):
        bisect_quantiles(many, 3, [0.5], lo=0, hi=5, step=1)
    with pytest.raises(ValueError, match="multiple of step"):
        bisect_quantile(lambda x: int((values <= x).sum()), 3, 0.5, lo=0.05, hi=10, step=0.1)


# ------------------------------------------------------------------------------------------
# Firth's logistic regression from site moments
# ------------------------------------------------------------------------------------------
def _hat_values(X, beta):
    """Diagonal of W^1/2 X (X'WX)^-1 X' W^1/2 through a QR decomposition."""
    p = 1 / (1 + np.exp(-X @ beta))
    q, _ = np.linalg.qr(X * np.sqrt(p * (1 - p))[:, None])
    return (q ** 2).sum(axis=1), p


@pytest.mark.parametrize("seed", range(5))
def test_third_moment_tensor_carries_firths_hat_value_term(seed):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(60), rng.normal(size=(60, 3))])
    y = (rng.random(60) < 0.4).astype(float)
    beta = rng.normal(scale=0.5, size=4)
    site = _split(60, rng)
    moments = [logistic_site_moments(X[site == s], y[site == s], beta) for s in range(3)]
    info = sum(m.information for m in moments)
    third = sum(m.third for m in moments)
    h, p = _hat_values(X, beta)
    direct = X.T @ (h * (0.5 - p))
    assert np.einsum("abc,bc->a", third, np.linalg.inv(info)) == pytest.approx(direct, rel=1e-10)


def test_third_moment_of_a_large_site_is_the_same_in_blocks_of_rows():
    """A site larger than one block of rows (the moment is summed block by block): the hat-value
    identity above, on 150,000 rows (two whole blocks and a part)."""
    rng = np.random.default_rng(11)
    X = np.column_stack([np.ones(150_000), rng.normal(size=(150_000, 4))])
    y = (rng.random(150_000) < 0.3).astype(float)
    beta = rng.normal(scale=0.3, size=5)
    m = logistic_site_moments(X, y, beta)
    h, p = _hat_values(X, beta)
    assert np.einsum("abc,bc->a", m.third, np.linalg.inv(m.information)) == pytest.approx(
        X.T @ (h * (0.5 - p)), rel=1e-9)


def _federated_fit(X1, y, site):
    parts = [(X1[site == s], y[site == s]) for s in np.unique(site)]
    return firth_logistic_federated(
        lambda beta: [logistic_site_moments(Xs, ys, beta) for Xs, ys in parts], X1.shape[1])


def _compare(X, y, site):
    single = firth_logistic(X, y, confint="wald")
    X1 = np.column_stack([np.ones(len(y)), np.asarray(X, dtype=float)])
    fed = _federated_fit(X1, np.asarray(y, dtype=float), site)
    assert fed.converged and single.converged
    assert fed.coef == pytest.approx(single.table["coef"].to_numpy(), abs=1e-8)
    assert fed.std_errors == pytest.approx(single.table["se"].to_numpy(), abs=1e-8)
    assert fed.loglik == pytest.approx(single.loglik, abs=1e-8)
    assert (fed.n, fed.n_events) == (single.n, single.n_events)
    return fed


@pytest.mark.parametrize("seed", range(4))
def test_federated_firth_equals_firthmodels_on_the_pooled_rows(seed):
    rng = np.random.default_rng(100 + seed)
    n = 90
    X = np.column_stack([rng.normal(size=n), rng.integers(0, 2, size=n), rng.gamma(2.0, size=n)])
    y = (rng.random(n) < 1 / (1 + np.exp(-(-0.5 + 0.8 * X[:, 0] - 0.6 * X[:, 1])))).astype(int)
    fed = _compare(X, y, _split(n, rng))
    assert isinstance(fed, FederatedFirthResult) and fed.ci_method == "wald"
    assert pickle.loads(pickle.dumps(fed)).coef == pytest.approx(fed.coef)


def test_federated_firth_on_separated_data_equals_firthmodels():
    # Heinze & Schemper's endometrial data: NV quasi-completely separates HG (no finite MLE)
    d = pd.read_csv(DATA / "endometrial.csv")
    site = _split(len(d), np.random.default_rng(7))
    _compare(d[["NV", "PI", "EH"]].to_numpy(float), d["HG"].to_numpy(), site)


@pytest.mark.parametrize("data", ["random", "endometrial"])
def test_federated_profile_intervals_equal_firthmodels(data):
    if data == "random":
        rng = np.random.default_rng(11)
        X = np.column_stack([rng.normal(size=70), rng.integers(0, 2, size=70)])
        y = (rng.random(70) < 1 / (1 + np.exp(-(0.3 + 0.9 * X[:, 0])))).astype(int)
    else:
        d = pd.read_csv(DATA / "endometrial.csv")
        X, y = d[["NV", "PI", "EH"]].to_numpy(float), d["HG"].to_numpy()
    single = firth_logistic(X, y, confint="profile")
    X1 = np.column_stack([np.ones(len(y)), X])
    site = _split(len(y), np.random.default_rng(5))
    parts = [(X1[site == s], y[site == s].astype(float)) for s in range(3)]
    fed = firth_logistic_federated(
        lambda beta: [logistic_site_moments(Xs, ys, beta) for Xs, ys in parts], X1.shape[1],
        confint="profile")
    assert single.ci_method == "profile" and fed.ci_method == "profile"
    assert fed.ci_low == pytest.approx(single.table["ci_lower"].to_numpy(), abs=1e-6)
    assert fed.ci_high == pytest.approx(single.table["ci_upper"].to_numpy(), abs=1e-6)


def test_site_moments_travel_as_json():
    import json
    rng = np.random.default_rng(1)
    X = np.column_stack([np.ones(12), rng.normal(size=(12, 2))])
    m = logistic_site_moments(X, (rng.random(12) < 0.5).astype(float), np.array([0.1, -0.2, 0.3]))
    back = SiteMoments.from_dict(json.loads(json.dumps(m.to_dict())))
    for field in ("score", "information", "third"):
        assert np.array_equal(getattr(back, field), getattr(m, field))
    assert (back.loglik, back.n, back.n_events) == (m.loglik, m.n, m.n_events)
    with pytest.raises(ValueError, match="inconsistent"):
        SiteMoments.from_dict({**m.to_dict(), "third": [[1.0]]})
    with pytest.raises(ValueError, match="another number of coefficients"):
        firth_logistic_federated(lambda beta: [m], 2)


def test_site_moments_refuse_a_bad_outcome():
    with pytest.raises(ValueError, match="0 or 1"):
        logistic_site_moments(np.ones((3, 1)), [0, 2, 1], [0.0])
    m = logistic_site_moments(np.ones((3, 1)), [0, 1, 1], [0.0])
    assert isinstance(m, SiteMoments) and m.n_events == 2


# ------------------------------------------------------------------------------------------
# cumulative incidence from per-time counts
# ------------------------------------------------------------------------------------------
GRID = np.array([1.0, 3.0, 6.0, 12.0])


def _site_counts(right, event, competing=None):
    """What one site sends: at each grid time, events (and competing events) and at risk."""
    ev = np.array([(event & (right == t)).sum() for t in GRID])
    risk = np.array([(right >= t).sum() for t in GRID])
    comp = None if competing is None else np.array([(competing & (right == t)).sum() for t in GRID])
    return ev, risk, comp


@pytest.mark.parametrize("seed", range(15))
def test_cumulative_incidence_from_pooled_counts_equals_the_subject_level_estimate(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 80))
    right = rng.choice(GRID, size=n, p=[0.3, 0.3, 0.2, 0.2])
    event = rng.random(n) < 0.5
    if seed == 0:
        event[:] = True          # everyone has the event: S reaches 0
    if seed == 1:
        event[right == 1.0] = False   # no event at the first visit: Clopper-Pearson rows
    if seed == 2:
        right[right == 3.0] = 6.0     # nothing happens at month 3 and no event follows it at 6:
        event[right == 6.0] = False   # no row for month 3
    if seed == 3:
        right[right == 1.0] = 3.0     # nothing happens at month 1, but it is the left end of the
        event[right == 3.0] = True    # events at month 3: a row for it
    site = _split(n, rng)
    counts = [_site_counts(right[site == s], event[site == s]) for s in range(3)]
    events = sum(c[0] for c in counts)
    at_risk = sum(c[1] for c in counts)
    fed = cumulative_incidence_from_counts(GRID, events, at_risk)
    # as the workbook calls it: each event's interval from the previous scheduled visit
    left = np.concatenate([[0.0], GRID])[np.searchsorted(GRID, right)]
    single = cumulative_incidence(right, event, left=left)
    pd.testing.assert_frame_equal(fed.table, single.table, check_exact=False, rtol=1e-12,
                                  atol=1e-14, check_dtype=False)
    assert (fed.method, fed.n, fed.n_events) == (single.method, single.n, single.n_events)


def test_aalen_johansen_from_counts_equals_statsmodels():
    from statsmodels.duration.survfunc import CumIncidenceRight
    rng = np.random.default_rng(3)
    n = 70
    right = rng.choice(GRID, size=n)
    status = rng.choice([0, 1, 2], size=n, p=[0.3, 0.45, 0.25])
    ev, risk, comp = _site_counts(right, status == 1, status == 2)
    fed = cumulative_incidence_from_counts(GRID, ev, risk, competing=comp)
    ref = CumIncidenceRight(right, status)
    assert np.asarray(ref.times) == pytest.approx(GRID)
    want = np.asarray(ref.cinc[0])
    got = fed.table.set_index("time")["cum_incidence"].reindex(GRID).to_numpy()
    assert fed.method == "aalen-johansen"
    assert got == pytest.approx(want, rel=1e-12)


def test_impossible_counts_are_refused():
    with pytest.raises(ValueError, match="must not increase"):
        cumulative_incidence_from_counts([1, 3], [0, 0], [5, 6])
    with pytest.raises(ValueError, match="more events than"):
        cumulative_incidence_from_counts([1, 3], [6, 0], [5, 2])
