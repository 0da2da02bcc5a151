"""Group comparisons with SPSS-faithful test selection, effect sizes and multiplicity.

The paper (Wen et al. 2019, section 2.5) ran its comparisons in SPSS 22: Mann-Whitney U for
continuous variables and chi-square for categorical ones, Fisher's exact test on the rows it marks
with ``*``. This module reproduces those numbers exactly and names the test behind every p-value:

* Mann-Whitney U, two-sided, normal approximation with tie correction and **no** continuity
  correction (SPSS "Asymp. Sig. (2-tailed)"; R's ``wilcox.test`` would add a continuity correction);
  an exact / permutation p on request (``exact=True``); Kruskal-Wallis for more than two groups.
* Pearson chi-square **without** Yates' correction (SPSS "Pearson Chi-Square"; tableone applies
  Yates to 2x2 tables); two-sided Fisher's exact test when the expected counts are small
  (``fisher_rule``); Fisher-Freeman-Halton for larger tables with small counts.
* Effect sizes the paper did not report: odds ratio with a Woolf (logit) 95% CI for binary
  variables, Hodges-Lehmann median difference with a distribution-free 95% CI for continuous ones.

Counts, ranks and quantiles are computed in batch with numpy (one ``bincount`` per variable, ranks
from value histograms when the values lie on a grid), so a registry of a million patients is
compared in about a second; the 69-patient cohort goes through the same code.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats

from .contract import load_dictionary

__all__ = ["compare_groups", "describe", "paired_over_time", "adjust_pvalues", "PairedResult", "baseline_variables",
           "TEST_NAMES", "FISHER_RULES", "TEST_DESCRIPTIONS"]

#: Test names accepted in ``tests=`` overrides and used in the ``test`` column.
TEST_NAMES = ("mann_whitney", "kruskal", "chi2", "chi2_yates", "fisher", "fisher_freeman_halton")
#: Rules deciding when a categorical comparison switches from chi-square to an exact test.
FISHER_RULES = ("expected<5", "cochran", "never")
#: How each test is named in a table footnote.
TEST_DESCRIPTIONS = {
    "mann_whitney": "Mann-Whitney U test (two-sided; normal approximation with tie correction, "
                    "no continuity correction, as SPSS 'Asymp. Sig.')",
    "kruskal": "Kruskal-Wallis test (tie-corrected)",
    "chi2": "Pearson chi-square test without continuity correction",
    "chi2_yates": "chi-square test with Yates' continuity correction",
    "fisher": "Fisher's exact test (two-sided)",
    "fisher_freeman_halton": "Fisher-Freeman-Halton exact test",
    "wilcoxon": "Wilcoxon signed-rank test (normal approximation with tie correction, zero "
                "differences dropped, no continuity correction)",
    "friedman": "Friedman test (tie-corrected)",
}

_CATEGORICAL_TESTS = ("chi2", "chi2_yates", "fisher", "fisher_freeman_halton")
_CONTINUOUS_TESTS = ("mann_whitney", "kruskal")
_Z975 = float(stats.norm.ppf(0.975))
# Above this many enumerated tables the Fisher-Freeman-Halton p switches to Monte Carlo.
_FFH_MAX_TABLES = 2_000_000
# Pairwise differences enumerated directly up to this many pairs (Hodges-Lehmann).
_HL_BRUTE_PAIRS = 2_000_000


def baseline_variables(frame: pd.DataFrame) -> list[str]:
    """The variables of the paper's tables present in ``frame``: every dictionary variable with a
    table section except the outcomes, in dictionary order (patients, then derived)."""
    d = load_dictionary()
    rows = d[(d["section"] != "") & (d["section"] != "Outcome") & d["table"].isin(["patients", "derived"])]
    return [n for n in dict.fromkeys(rows["name"]) if n in frame.columns]


# --------------------------------------------------------------------------------------------
# multiple testing
# --------------------------------------------------------------------------------------------
def adjust_pvalues(p, method: str = "bh"):
    """Adjust p-values for multiple testing.

    ``method="bh"``: Benjamini-Hochberg false-discovery-rate q-values (Benjamini & Hochberg 1995);
    ``method="holm"``: Holm's step-down family-wise adjustment (Holm 1979).
    NaN entries (tests that could not be run) are passed through and not counted in the family.
    Returns an array of the input's shape, or a Series with the input's index for a Series.
    """
    if method not in ("bh", "holm"):
        raise ValueError(f"unknown p-value adjustment {method!r}; use 'bh' or 'holm'")
    index = p.index if isinstance(p, pd.Series) else None
    arr = np.asarray(p, dtype=float)
    flat = arr.ravel()
    out = np.full(flat.shape, np.nan)
    ok = ~np.isnan(flat)
    if np.any((flat[ok] < 0) | (flat[ok] > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    vals = flat[ok]
    m = vals.size
    if m:
        order = np.argsort(vals, kind="stable")
        ranked = vals[order]
        if method == "bh":
            adj = ranked * m / np.arange(1, m + 1)
            adj = np.minimum.accumulate(adj[::-1])[::-1]
        else:
            adj = ranked * (m - np.arange(m))
            adj = np.maximum.accumulate(adj)
        res = np.empty(m)
        res[order] = np.minimum(adj, 1.0)
        out[ok] = res
    out = out.reshape(arr.shape)
    return pd.Series(out, index=index, name=getattr(p, "name", None)) if index is not None else out


# --------------------------------------------------------------------------------------------
# variable specifications
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Spec:
    name: str
    label: str
    kind: str              # "categorical" | "continuous"
    section: str
    unit: str
    default_test: str      # "auto" or a TEST_NAMES entry
    show_level: str
    in_dictionary: bool


def _dictionary_rows(dictionary: pd.DataFrame) -> dict[str, dict]:
    """Dictionary row per variable name; a name in several tables resolves as ``variable_info`` does."""
    order = {"patients": 0, "derived": 1, "visits": 2}
    ranked = (dictionary.assign(_o=dictionary["table"].map(order).fillna(3))
              .sort_values("_o", kind="stable").drop_duplicates("name"))
    return {row["name"]: row for row in ranked.to_dict("records")}


def _spec_for(name: str, series: pd.Series, drows: dict, labels: dict) -> _Spec | None:
    row = drows.get(name)
    if row is not None and row["type"] in ("boolean", "category", "number", "integer"):
        kind = "categorical" if row["type"] in ("boolean", "category") else "continuous"
        test = row["test"] or "auto"
        return _Spec(name, labels.get(name, row["label"] or name), kind, row["section"], row["unit"],
                     test, row["show_level"], True)
    if row is not None:
        return None  # string / date columns are not compared
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        kind = "categorical"
    elif pd.api.types.is_numeric_dtype(dtype):
        kind = "continuous"
    else:
        return None
    return _Spec(name, labels.get(name, name), kind, "", "", "auto", "", False)


def _resolve_variables(data, by, variables, labels, dictionary):
    drows = _dictionary_rows(dictionary)
    labels = dict(labels or {})
    if variables is None:
        # The paper's table variables (dictionary order, outcomes and ``by`` left out: they are
        # what is predicted). Only a frame without any of them falls back to every bool /
        # category / numeric column, so that derived outcome columns such as ``cr_m12`` in an
        # analysis frame never slip into a baseline comparison.
        table_vars = [n for n, row in drows.items()
                      if n in data.columns and n != by and row["section"]
                      and row["section"] != "Outcome"]
        names = table_vars or [c for c in data.columns if c != by and c not in drows]
        specs = []
        for name in names:
            spec = _spec_for(name, data[name], drows, labels)
            if spec is not None:
                specs.append(spec)
        return specs
    if isinstance(variables, str):
        variables = [variables]
    missing = [v for v in variables if v not in data.columns]
    if missing:
        raise KeyError(f"variables not in the data: {missing}")
    dup = sorted({v for v in variables if list(variables).count(v) > 1})
    if dup:
        raise ValueError(f"variables listed more than once: {dup}")
    specs = []
    for name in variables:
        if name == by:
            raise ValueError(f"{name!r} is the grouping column and cannot also be compared")
        spec = _spec_for(name, data[name], drows, labels)
        if spec is None:
            raise TypeError(f"column {name!r} (dtype {data[name].dtype}) is neither categorical "
                            "(bool / category) nor numeric; cast it before comparing")
        specs.append(spec)
    return specs


# --------------------------------------------------------------------------------------------
# column extraction (fast paths for numpy / nullable dtypes)
# --------------------------------------------------------------------------------------------
def _categorical_codes(series: pd.Series, name: str, drow) -> tuple[np.ndarray, list]:
    """Integer codes (-1 = missing) and the level list; booleans are ordered [True, False]."""
    dtype = series.dtype
    want_bool = (drow is not None and drow["type"] == "boolean") or (
        drow is None and pd.api.types.is_bool_dtype(dtype))
    if want_bool:
        if not pd.api.types.is_bool_dtype(dtype):
            try:
                series = series.astype("boolean")
            except (TypeError, ValueError) as err:
                raise TypeError(f"column {name!r} should be boolean (data dictionary) but holds "
                                f"other values: {err}") from None
        v = series.to_numpy(dtype="int8", na_value=-1)
        # code 0 = True, 1 = False, -1 = missing
        codes = np.where(v < 0, -1, 1 - v).astype(np.int64)
        return codes, [True, False]
    if isinstance(dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy().astype(np.int64), list(dtype.categories)
    allowed = drow["allowed"].split("|") if drow is not None and drow["allowed"] else None
    if allowed is None:
        raise TypeError(f"column {name!r} is not categorical (dtype {dtype})")
    cat = pd.Categorical(series, categories=allowed)
    bad = series[cat.isna() & series.notna()]
    if len(bad):
        raise ValueError(f"column {name!r} holds values outside its allowed levels {allowed}: "
                         f"{sorted(map(str, bad.unique()))[:5]}")
    return cat.codes.astype(np.int64), allowed


def _numeric_values(series: pd.Series, name: str) -> np.ndarray:
    if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        raise TypeError(f"column {name!r} (dtype {series.dtype}) is not numeric")
    return series.to_numpy(dtype="float64", na_value=np.nan)


def _group_codes(data: pd.DataFrame, by, group_order):
    if isinstance(by, str):
        if by not in data.columns:
            raise KeyError(f"grouping column {by!r} is not in the data")
        s = data[by]
    else:
        raise TypeError("by must be a column name")
    if group_order is not None:
        groups = list(group_order)
        if len(set(map(repr, groups))) != len(groups):
            raise ValueError(f"group_order lists a group twice: {groups}")
    elif pd.api.types.is_bool_dtype(s.dtype):
        groups = [True, False]  # responders first, as in the paper's Table 2
    elif isinstance(s.dtype, pd.CategoricalDtype):
        present = set(s.dropna().unique())
        groups = [c for c in s.dtype.categories if c in present]
    else:
        groups = sorted(s.dropna().unique().tolist())
    if not groups:
        raise ValueError(f"grouping column {by!r} has no values: nothing to compare")
    if pd.api.types.is_bool_dtype(s.dtype):
        v = s.to_numpy(dtype="int8", na_value=-1)
        codes = np.full(len(s), -1, dtype=np.int64)
        for i, g in enumerate(groups):
            if g not in (True, False):
                raise ValueError(f"group {g!r} is not a value of boolean column {by!r}")
            codes[v == int(g)] = i
    else:
        mapping = {g: i for i, g in enumerate(groups)}
        codes = s.map(mapping).to_numpy(dtype="float64", na_value=np.nan)
        codes = np.where(np.isnan(codes), -1, codes).astype(np.int64)
    n_missing = int(s.isna().sum())
    n_other = int(((codes < 0).sum()) - n_missing)
    return codes, groups, n_missing, n_other


# --------------------------------------------------------------------------------------------
# continuous summaries and ranks
# --------------------------------------------------------------------------------------------
def _lattice(x: np.ndarray):
    """Integers k and a scale s with x == k / s exactly, when the values lie on a small grid.

    Clinical measurements are recorded at a fixed resolution (years, months, 2.5 mg, 0.1 g); on such
    a grid ranks, ties and quantiles come from one histogram instead of a sort.
    """
    if x.size == 0:
        return None
    lo, hi = float(x.min()), float(x.max())
    for s in (1, 2, 4, 10, 100):
        if (hi - lo) * s > max(4 * x.size, 1 << 16):
            return None
        k = np.rint(x * s)
        if np.array_equal(k / s, x):
            return k.astype(np.int64), s
    return None


@dataclass
class _Sorted:
    """Per-group sorted values, either as a histogram on a grid or as sorted arrays."""
    hist: np.ndarray | None = None     # (k, R) counts on the grid
    offset: int = 0
    scale: int = 1
    arrays: list = field(default_factory=list)

    def value(self, g: int, i: int) -> float:
        """The i-th (0-based) order statistic of group g."""
        if self.hist is None:
            return float(self.arrays[g][i])
        cum = self._cum[g]
        return (int(np.searchsorted(cum, i, side="right")) + self.offset) / self.scale

    def prepare(self):
        if self.hist is not None:
            self._cum = np.cumsum(self.hist, axis=1)
        return self


def _quantile(sorter: _Sorted, g: int, m: int, q: float) -> float:
    """Quantile as SPSS computes it by default (HAVERAGE = Hyndman-Fan type 6, numpy 'weibull')."""
    h = (m + 1) * q
    if h <= 1:
        return sorter.value(g, 0)
    if h >= m:
        return sorter.value(g, m - 1)
    lo = int(math.floor(h))
    frac = h - lo
    a = sorter.value(g, lo - 1)
    if frac == 0:
        return a
    b = sorter.value(g, lo)
    return a + frac * (b - a)


def _continuous_core(values: np.ndarray, gcodes: np.ndarray, k: int):
    """Per-group counts, rank sums, tie term and sorted values of one continuous variable."""
    in_group = gcodes >= 0
    valid = in_group & ~np.isnan(values)
    x = values[valid]
    gg = gcodes[valid]
    n_valid = np.bincount(gg, minlength=k)
    n_all = np.bincount(gcodes[in_group], minlength=k)
    lat = _lattice(x)
    if lat is not None:
        ints, scale = lat
        base = int(ints.min()) if ints.size else 0
        off = ints - base
        R = int(off.max()) + 1 if off.size else 1
        hist = np.bincount(gg * R + off, minlength=k * R).reshape(k, R)
        total = hist.sum(axis=0)
        cum = np.cumsum(total)
        avg_rank = cum - (total - 1) / 2.0  # mid-rank of each grid value
        rank_sums = hist @ avg_rank
        ties = float(np.sum(total.astype(float) ** 3 - total))
        sorter = _Sorted(hist=hist, offset=base, scale=scale).prepare()
    else:
        order = np.argsort(x, kind="stable")
        xs = x[order]
        gs = gg[order]
        n = xs.size
        if n:
            cuts = np.flatnonzero(xs[1:] != xs[:-1]) + 1
            starts = np.concatenate(([0], cuts))
            ends = np.concatenate((cuts, [n]))
            t = (ends - starts).astype(float)
            ranks = np.repeat((starts + ends + 1) / 2.0, ends - starts)
            rank_sums = np.bincount(gs, weights=ranks, minlength=k)
            ties = float(np.sum(t ** 3 - t))
        else:
            rank_sums = np.zeros(k)
            ties = 0.0
        sorter = _Sorted(arrays=[xs[gs == j] for j in range(k)])
    return n_all, n_valid, rank_sums, ties, sorter


def _kth_differences(a: np.ndarray, b: np.ndarray, ks: list[int]) -> list[float]:
    """k-th smallest (1-based) of all pairwise differences a_i - b_j; a and b sorted."""
    m, n = a.size, b.size
    if m * n <= _HL_BRUTE_PAIRS:
        d = np.subtract.outer(a, b).ravel()
        idx = sorted({k - 1 for k in ks})
        part = np.partition(d, idx)
        return [float(part[k - 1]) for k in ks]
    out = []

    def count_le(t):
        return int(n * m - np.searchsorted(b, a - t, side="left").sum())

    for k in ks:
        lo, hi = float(a[0] - b[-1]) - 1.0, float(a[-1] - b[0])
        c_lo, c_hi = 0, m * n
        for _ in range(200):
            if c_hi - c_lo <= _HL_BRUTE_PAIRS or hi - lo <= 1e-12 * max(1.0, abs(hi)):
                break
            mid = (lo + hi) / 2
            c = count_le(mid)
            if c >= k:
                hi, c_hi = mid, c
            else:
                lo, c_lo = mid, c
        # enumerate the pairs with lo < a_i - b_j <= hi and pick the remaining rank among them
        j_lo = np.searchsorted(b, a - hi, side="left")
        j_hi = np.searchsorted(b, a - lo, side="left")
        cnt = j_hi - j_lo
        if cnt.sum() == 0:
            out.append(hi)
            continue
        rows = np.repeat(np.arange(m), cnt)
        starts = np.repeat(j_lo - np.concatenate(([0], np.cumsum(cnt)[:-1])), cnt)
        cols = starts + np.arange(rows.size)
        d = np.sort(a[rows] - b[cols])
        out.append(float(d[min(max(k - c_lo - 1, 0), d.size - 1)]))
    return out


def _hodges_lehmann(sorter: _Sorted, n1: int, n2: int):
    """Hodges-Lehmann shift (group 1 minus group 2) with its distribution-free 95% CI.

    The CI takes the C-th smallest and C-th largest of the n1*n2 pairwise differences, with
    C = floor(n1*n2/2 - z_0.975 * sqrt(n1*n2*(n1+n2+1)/12)) (Hollander, Wolfe & Chicken,
    Nonparametric Statistical Methods, 3rd ed., section 4.3, large-sample approximation).
    """
    mn = n1 * n2
    c = int(math.floor(mn / 2 - _Z975 * math.sqrt(mn * (n1 + n2 + 1) / 12)))
    mids = [(mn + 1) // 2] if mn % 2 else [mn // 2, mn // 2 + 1]
    ks = mids + ([c, mn + 1 - c] if c >= 1 else [])
    if sorter.hist is not None:
        h1 = sorter.hist[0]
        h2 = sorter.hist[1]
        nz = np.flatnonzero(h1 + h2)
        lo, hi = int(nz[0]), int(nz[-1]) + 1
        h1, h2 = h1[lo:hi], h2[lo:hi]
        R = hi - lo
        if R * R <= 5e7:
            counts = np.convolve(h1, h2[::-1])  # index i <-> difference (i - (R-1)) grid steps
            cum = np.cumsum(counts)
            vals = [(int(np.searchsorted(cum, kk, side="left")) - (R - 1)) / sorter.scale
                    for kk in ks]
        else:
            a = np.repeat((np.arange(lo, hi) + sorter.offset) / sorter.scale, h1)
            b = np.repeat((np.arange(lo, hi) + sorter.offset) / sorter.scale, h2)
            vals = _kth_differences(a, b, ks)
    else:
        vals = _kth_differences(sorter.arrays[0], sorter.arrays[1], ks)
    est = vals[0] if len(mids) == 1 else (vals[0] + vals[1]) / 2
    ci = vals[len(mids):] if c >= 1 else [np.nan, np.nan]
    return est, ci[0], ci[1], c >= 1


# --------------------------------------------------------------------------------------------
# categorical tests
# --------------------------------------------------------------------------------------------
def _fisher_rule_fires(expected: np.ndarray, rule: str) -> tuple[bool, str]:
    if rule == "never":
        return False, ""
    small = expected < 5
    if rule == "expected<5":
        if small.any():
            return True, f"smallest expected count {expected.min():.2f} < 5"
        return False, ""
    # Cochran (1954): no expected count below 1 and at most 20% of them below 5
    share = small.mean()
    if expected.min() < 1 or share > 0.2:
        return True, (f"Cochran's rule: {share:.0%} of expected counts < 5, "
                      f"smallest {expected.min():.2f}")
    return False, ""


def _ffh_2xc(table: np.ndarray):
    """Exact Fisher-Freeman-Halton p for a 2 x c table by full enumeration (None if too many)."""
    cols = table.sum(axis=0)
    n1 = int(table[0].sum())
    N = int(cols.sum())
    lgc = special.gammaln

    def logc(nn, kk):
        return lgc(nn + 1) - lgc(kk + 1) - lgc(nn - kk + 1)

    sums = np.array([0], dtype=np.int64)
    logp = np.array([0.0])
    remaining = np.concatenate((np.cumsum(cols[::-1])[::-1][1:], [0]))
    for j, cj in enumerate(cols):
        x = np.arange(cj + 1)
        s = (sums[:, None] + x[None, :]).ravel()
        lp = (logp[:, None] + logc(cj, x)[None, :]).ravel()
        keep = (s <= n1) & (s + remaining[j] >= n1)
        sums, logp = s[keep], lp[keep]
        if sums.size > _FFH_MAX_TABLES:
            return None
    logp = logp - logc(N, n1)
    obs = float(np.sum(logc(cols, table[0]))) - logc(N, n1)
    # tables as or less probable than the observed one (relative tolerance as in R / scipy)
    p = float(np.exp(logp[logp <= obs + 1e-7]).sum())
    return min(p, 1.0), int(sums.size)


def _categorical_test(table: np.ndarray, test: str, exact_reason: str, seed: int,
                      n_resamples: int):
    """Run one test on a groups x levels table; returns (statistic, df, p, note)."""
    if test in ("chi2", "chi2_yates"):
        correction = test == "chi2_yates"
        if correction and table.shape != (2, 2):
            res = stats.chi2_contingency(table, correction=False)
            return float(res.statistic), int(res.dof), float(res.pvalue), \
                "Yates' correction applies to 2x2 tables only; none applied"
        if correction:
            res = stats.chi2_contingency(table, correction=True)
            return float(res.statistic), int(res.dof), float(res.pvalue), ""
        N = table.sum()
        expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / N
        stat = float(((table - expected) ** 2 / expected).sum())
        dof = (table.shape[0] - 1) * (table.shape[1] - 1)
        return stat, dof, float(special.chdtrc(dof, stat)), ""
    if test == "fisher":
        if table.shape != (2, 2):
            raise ValueError("fisher applies to 2x2 tables; use fisher_freeman_halton for "
                             f"a {table.shape[0]}x{table.shape[1]} table")
        res = stats.fisher_exact(table)
        return np.nan, None, float(res.pvalue), exact_reason
    if test == "fisher_freeman_halton":
        t = table if table.shape[0] == 2 else table.T
        exact = _ffh_2xc(t) if t.shape[0] == 2 else None
        if exact is not None:
            p, ntab = exact
            note = f"exact p over {ntab} tables"
        else:
            rng = np.random.default_rng(seed)
            res = stats.fisher_exact(table, method=stats.MonteCarloMethod(
                n_resamples=n_resamples, rng=rng))
            p = float(res.pvalue)
            note = f"Monte Carlo p from {n_resamples} resamples (seed {seed})"
        return np.nan, None, p, "; ".join(x for x in (exact_reason, note) if x)
    raise ValueError(f"{test} is not a test for categorical variables")


def _odds_ratio(a, b, c, d):
    """Odds ratio with its Woolf (logit) 95% CI; Haldane-Anscombe +0.5 when a cell is zero."""
    note = ""
    if min(a, b, c, d) == 0:
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
        note = "Haldane-Anscombe correction applied (zero cell)"
    lor = math.log(a * d / (b * c))
    se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    return math.exp(lor), math.exp(lor - _Z975 * se), math.exp(lor + _Z975 * se), note


# --------------------------------------------------------------------------------------------
# the engine
# --------------------------------------------------------------------------------------------
def _check_test_name(name, where):
    if name not in TEST_NAMES:
        raise ValueError(f"unknown test {name!r} for {where}; valid tests: {', '.join(TEST_NAMES)}")


def _group_prefixes(k):
    return [f"g{i + 1}" for i in range(k)]


def _summarise(data, specs, gcodes, k, prefixes, drows):
    """Descriptive rows (no tests): one dict per variable / level, plus per-variable internals."""
    out = []
    for spec in specs:
        s = data[spec.name]
        if spec.kind == "categorical":
            codes, levels = _categorical_codes(s, spec.name, drows.get(spec.name))
            L = len(levels)
            in_group = gcodes >= 0
            ok = in_group & (codes >= 0)
            table = np.bincount(gcodes[ok] * L + codes[ok], minlength=k * L).reshape(k, L)
            n_all = np.bincount(gcodes[in_group], minlength=k)
            n_valid = table.sum(axis=1)
            if levels == [True, False]:
                shown = [0]
            elif spec.show_level:
                if spec.show_level not in levels:
                    raise ValueError(f"show_level {spec.show_level!r} of {spec.name!r} is not one "
                                     f"of its levels {levels}")
                shown = [levels.index(spec.show_level)]
            elif L <= 2:
                shown = list(range(L))
            else:
                # levels nobody has are left out; with no recorded value at all, one row says so
                shown = [j for j in range(L) if table[:, j].sum() > 0] or [None]
            out.append(dict(spec=spec, levels=levels, table=table, n_all=n_all, n_valid=n_valid,
                            shown=shown))
        else:
            values = _numeric_values(s, spec.name)
            n_all, n_valid, rank_sums, ties, sorter = _continuous_core(values, gcodes, k)
            stats_ = []
            for g in range(k):
                m = int(n_valid[g])
                if m == 0:
                    stats_.append(dict(median=np.nan, q1=np.nan, q3=np.nan, min=np.nan, max=np.nan))
                    continue
                stats_.append(dict(median=_quantile(sorter, g, m, 0.5),
                                   q1=_quantile(sorter, g, m, 0.25),
                                   q3=_quantile(sorter, g, m, 0.75),
                                   min=sorter.value(g, 0), max=sorter.value(g, m - 1)))
            out.append(dict(spec=spec, n_all=n_all, n_valid=n_valid, rank_sums=rank_sums,
                            ties=ties, sorter=sorter, stats=stats_))
    return out


def _base_row(spec, level, prefixes, item):
    row = dict(variable=spec.name, label=spec.label, section=spec.section,
               type=spec.kind, level=level, unit=spec.unit)
    for g, p in enumerate(prefixes):
        row[f"{p}_n"] = int(item["n_all"][g])
        row[f"{p}_n_valid"] = int(item["n_valid"][g])
        row[f"{p}_missing"] = int(item["n_all"][g] - item["n_valid"][g])
    return row


def _rows_for(item, prefixes):
    spec = item["spec"]
    rows = []
    if spec.kind == "categorical":
        table = item["table"]
        for j in item["shown"]:
            row = _base_row(spec, None if j is None else item["levels"][j], prefixes, item)
            for g, p in enumerate(prefixes):
                nv = row[f"{p}_n_valid"]
                row[f"{p}_count"] = 0 if j is None else int(table[g, j])
                row[f"{p}_pct"] = 100.0 * table[g, j] / nv if nv else np.nan
            rows.append(row)
    else:
        row = _base_row(spec, None, prefixes, item)
        for g, p in enumerate(prefixes):
            for key, val in item["stats"][g].items():
                row[f"{p}_{key}"] = val
        rows.append(row)
    return rows


_STAT_COLUMNS = ("count", "pct", "median", "q1", "q3", "min", "max")


def _ordered_columns(frame, prefixes, tail):
    head = ["variable", "label", "section", "type", "level", "unit"]
    per_group = []
    for p in prefixes:
        per_group += [f"{p}_{c}" for c in ("n", "n_valid", "missing") + _STAT_COLUMNS]
    for col in head + per_group + tail:
        if col not in frame.columns:
            frame[col] = np.nan
    frame = frame[head + per_group + tail].copy()
    for col in per_group:
        if col.endswith(("_n", "_n_valid", "_missing", "_count")):
            frame[col] = frame[col].astype("Int64")
    return frame


def describe(data: pd.DataFrame, variables=None, *, labels=None, dictionary=None) -> pd.DataFrame:
    """Overall descriptive statistics (the numbers behind the paper's Table 1), tidy.

    One row per variable (per level for multi-level categoricals) with the columns of
    :func:`compare_groups` for a single group whose prefix is ``all`` (``all_n``, ``all_n_valid``,
    ``all_missing``, ``all_count``, ``all_pct``, ``all_median``, ``all_q1``, ``all_q3``,
    ``all_min``, ``all_max``); no tests.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError("data must be a pandas DataFrame")
    dictionary = load_dictionary() if dictionary is None else dictionary
    drows = _dictionary_rows(dictionary)
    specs = _resolve_variables(data, None, variables, labels, dictionary)
    gcodes = np.zeros(len(data), dtype=np.int64)
    items = _summarise(data, specs, gcodes, 1, ["all"], drows)
    rows = [r for item in items for r in _rows_for(item, ["all"])]
    frame = _ordered_columns(pd.DataFrame(rows), ["all"], [])
    frame.attrs.update(groups=["all"], group_labels=["All patients"], group_sizes=[len(data)])
    return frame


def compare_groups(data: pd.DataFrame, by: str, variables=None, tests=None,
                   fisher_rule: str = "expected<5", exact: bool = False, effect_sizes: bool = True,
                   adjust: str | None = None, labels=None, dictionary=None, seed: int = 20190502,
                   n_resamples: int = 10_000, group_order=None, group_labels=None) -> pd.DataFrame:
    """Compare variables between the groups of ``by`` and name the test behind each p-value.

    Parameters
    ----------
    data : DataFrame, one row per patient (e.g. ``msc_sle.cohort.analysis_frame(cohort)``).
    by : the grouping column. A boolean column (``cr_ever``) gives the groups [True, False]:
        responders first, as in the paper's Table 2.
    variables : columns to compare (default: the dictionary variables with a table section that
        the frame holds, in dictionary order, except outcomes and ``by``; a frame holding none of
        them: every bool / category / numeric column except ``by``). Labels, types, default tests, units and shown levels come from the data
        dictionary; a column not in it is typed from its dtype (bool / category: categorical;
        numeric: continuous).
    tests : per-variable overrides, e.g. ``{"sex": "fisher"}``, to mirror a published analysis;
        names from ``TEST_NAMES``.
    fisher_rule : when a categorical comparison leaves Pearson chi-square for an exact test
        (Fisher's for 2x2, Fisher-Freeman-Halton for larger tables): ``"expected<5"`` (any expected
        count below 5, the textbook rule and SPSS's footnote), ``"cochran"`` (Cochran 1954: any
        expected count < 1 or more than 20% below 5), or ``"never"``.
    exact : Mann-Whitney with an exact p (no ties) or a permutation p (ties; exact enumeration or
        ``n_resamples`` Monte Carlo draws seeded with ``seed``) instead of the normal approximation.
    effect_sizes : add odds ratios (binary variables) and Hodges-Lehmann shifts (continuous).
    adjust : ``"bh"`` or ``"holm"`` adds a ``q_value`` column over the variables tested.
    labels : ``{variable: label}`` overriding the dictionary labels.
    dictionary : a data dictionary (default ``load_dictionary()``).
    seed, n_resamples : for Monte Carlo p-values (Fisher-Freeman-Halton on large tables,
        permutation Mann-Whitney); stated in the ``note``.
    group_order : the groups and their order (default: [True, False] for booleans, category order,
        else sorted). Rows whose group is missing or not listed are left out and counted in
        ``attrs["n_excluded"]``.
    group_labels : ``{group: label}`` for display (default for a boolean ``by``:
        "<label>: yes" / "<label>: no").

    Returns
    -------
    DataFrame with one row per variable, or per shown level of a categorical variable (booleans
    show True; a category with a ``show_level`` shows that level; other 2-level categories both
    levels; larger ones every observed level). Columns:

    ``variable, label, section, type`` ("categorical" / "continuous"), ``level, unit``; for each
    group ``g1, g2, ...`` (in ``attrs["groups"]`` order): ``g1_n`` (patients in the group),
    ``g1_n_valid`` (with the variable recorded), ``g1_missing``, ``g1_count`` and ``g1_pct``
    (categorical: count of the level and its percentage of ``g1_n_valid``), ``g1_median, g1_q1,
    g1_q3, g1_min, g1_max`` (continuous; quartiles as SPSS computes them, type 6); then ``test``
    (a ``TEST_NAMES`` entry or ``"not testable: <reason>"``), ``statistic`` (U of group 1,
    Kruskal-Wallis H or chi-square; NaN for exact tests), ``df``, ``p_value``, ``effect``
    ("odds ratio" / "Hodges-Lehmann difference"; empty when not applicable), ``effect_estimate``,
    ``effect_ci_low``, ``effect_ci_high`` (95%; group 1 versus group 2), ``q_value`` (only with
    ``adjust``) and ``note`` (why an exact test was used, corrections applied, Monte Carlo
    settings). Test results repeat on every level row of a variable.

    ``attrs`` holds ``by``, ``groups``, ``group_labels``, ``group_prefixes``, ``group_sizes``,
    ``n_excluded``, ``fisher_rule``, ``adjust`` and ``notes``.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError("data must be a pandas DataFrame")
    if fisher_rule not in FISHER_RULES:
        raise ValueError(f"unknown fisher_rule {fisher_rule!r}; use one of {FISHER_RULES}")
    if adjust not in (None, "bh", "holm"):
        raise ValueError(f"unknown adjust {adjust!r}; use None, 'bh' or 'holm'")
    if int(n_resamples) < 1:
        raise ValueError("n_resamples must be a positive integer")
    dictionary = load_dictionary() if dictionary is None else dictionary
    drows = _dictionary_rows(dictionary)
    gcodes, groups, n_missing_group, n_other = _group_codes(data, by, group_order)
    k = len(groups)
    prefixes = _group_prefixes(k)
    specs = _resolve_variables(data, by, variables, labels, dictionary)
    names = {s.name for s in specs}
    tests = dict(tests or {})
    for var, name in tests.items():
        if var not in names:
            raise ValueError(f"tests names {var!r}, which is not among the compared variables")
        _check_test_name(name, repr(var))
    items = _summarise(data, specs, gcodes, k, prefixes, drows)

    rows = []
    for item in items:
        spec = item["spec"]
        override = tests.get(spec.name)
        if override:
            allowed = _CATEGORICAL_TESTS if spec.kind == "categorical" else _CONTINUOUS_TESTS
            if override not in allowed:
                raise ValueError(f"test {override!r} does not apply to the {spec.kind} variable "
                                 f"{spec.name!r}; use one of {allowed}")
            if override == "mann_whitney" and k != 2:
                raise ValueError(f"mann_whitney compares two groups but {by!r} has {k}; "
                                 "use kruskal")
        elif spec.default_test not in ("auto", "", *TEST_NAMES):
            raise ValueError(f"the dictionary gives {spec.name!r} the unknown test "
                             f"{spec.default_test!r}")
        if k < 2:
            # every patient in one group (e.g. everyone responded): describe, do not test
            result = _not_testable(f"only one group ({groups[0]!r}) in {by!r}")
            result["note"] = ""
        else:
            result = (_test_categorical(item, override, fisher_rule, seed, n_resamples, k,
                                        effect_sizes, groups)
                      if spec.kind == "categorical" else
                      _test_continuous(item, override, exact, seed, n_resamples, k,
                                       effect_sizes, groups))
        for r in _rows_for(item, prefixes):
            extra = result.get("per_level", {}).get(r["level"], {})
            r.update({key: v for key, v in result.items() if key != "per_level"})
            r.update(extra)
            rows.append(r)

    tail = ["test", "statistic", "df", "p_value", "effect", "effect_estimate", "effect_ci_low",
            "effect_ci_high"] + (["q_value"] if adjust else []) + ["note"]
    frame = pd.DataFrame(rows)
    if frame.empty:
        frame = pd.DataFrame(columns=tail)
    frame = _ordered_columns(frame, prefixes, tail)
    frame["df"] = frame["df"].astype("Int64")
    if adjust:
        per_var = frame.drop_duplicates("variable").set_index("variable")["p_value"]
        q = adjust_pvalues(per_var.astype(float), adjust)
        frame["q_value"] = frame["variable"].map(q).astype(float)
    for col in ("note", "effect"):
        frame[col] = [v if isinstance(v, str) else "" for v in frame[col]]

    by_label = labels.get(by) if labels and by in labels else (
        drows[by]["label"] if by in drows else str(by))
    if group_labels is None:
        if set(groups) <= {True, False}:
            glabels = [f"{by_label}: {'yes' if g else 'no'}" for g in groups]
        else:
            glabels = [str(g) for g in groups]
    else:
        glabels = [str(group_labels.get(g, g)) for g in groups]
    notes = []
    if n_missing_group:
        notes.append(f"{n_missing_group} patient(s) with {by!r} missing are not compared")
    if n_other:
        notes.append(f"{n_other} patient(s) in groups not listed in group_order are not compared")
    frame.attrs.update(by=by, groups=list(groups), group_labels=glabels, group_prefixes=prefixes,
                       group_sizes=[int((gcodes == g).sum()) for g in range(k)],
                       n_excluded=n_missing_group + n_other, fisher_rule=fisher_rule,
                       adjust=adjust, notes=notes)
    return frame


def _not_testable(reason):
    return dict(test=f"not testable: {reason}", statistic=np.nan, df=None, p_value=np.nan)


def _test_categorical(item, override, fisher_rule, seed, n_resamples, k, effect_sizes, groups):
    spec = item["spec"]
    table = item["table"]
    levels = item["levels"]
    empty = [str(groups[g]) for g in range(k) if item["n_valid"][g] == 0]
    used = table.sum(axis=0) > 0
    result: dict = {"note": ""}
    if empty:
        result.update(_not_testable(f"no recorded {spec.name!r} in group(s) {', '.join(empty)}"))
    elif used.sum() < 2:
        only = levels[int(np.flatnonzero(used)[0])] if used.any() else None
        result.update(_not_testable(f"constant variable (every recorded value is {only!r})"))
    else:
        # SPSS crosstabs drop levels nobody has; an all-zero column has no expected count
        t = table[:, used]
        expected = np.outer(t.sum(axis=1), t.sum(axis=0)) / t.sum()
        fires, reason = _fisher_rule_fires(expected, fisher_rule)
        if override:
            test = override
            reason = ""
        elif fires:
            test = "fisher" if t.shape == (2, 2) else "fisher_freeman_halton"
        else:
            test = "chi2"
        stat, dof, p, note = _categorical_test(t, test, reason, seed, n_resamples)
        result.update(test=test, statistic=stat, df=dof, p_value=p, note=note)
        if (~used).any() and len(levels) > 2:
            dropped = [str(levels[j]) for j in np.flatnonzero(~used)]
            result["note"] = "; ".join(x for x in (result["note"],
                                                   f"levels never observed: {', '.join(dropped)}")
                                       if x)
    if effect_sizes and len(levels) == 2:
        per_level = {}
        for j in item["shown"]:
            if k != 2:
                per_level[levels[j]] = dict(effect="")
                continue
            if min(item["n_valid"]) == 0 or result["test"].startswith("not testable"):
                per_level[levels[j]] = dict(effect="odds ratio", effect_estimate=np.nan,
                                            effect_ci_low=np.nan, effect_ci_high=np.nan,
                                            note=_join(result["note"], "odds ratio not estimable "
                                                       "(variable not testable)"))
                continue
            a, c = int(table[0, j]), int(table[1, j])
            b, d = int(item["n_valid"][0] - a), int(item["n_valid"][1] - c)
            est, lo, hi, note = _odds_ratio(a, b, c, d)
            per_level[levels[j]] = dict(effect="odds ratio", effect_estimate=est,
                                        effect_ci_low=lo, effect_ci_high=hi,
                                        note=_join(result["note"], note))
        result["per_level"] = per_level
    return result


def _join(*parts):
    return "; ".join(p for p in parts if p)


def _test_continuous(item, override, exact, seed, n_resamples, k, effect_sizes, groups):
    spec = item["spec"]
    n = item["n_valid"].astype(np.int64)
    N = int(n.sum())
    result: dict = {"note": ""}
    empty = [str(groups[g]) for g in range(k) if n[g] == 0]
    test = override or ("mann_whitney" if k == 2 else "kruskal")
    sorter = item["sorter"]
    if empty:
        result.update(_not_testable(f"no recorded {spec.name!r} in group(s) {', '.join(empty)}"))
        return result
    lo_v = min(s["min"] for s in item["stats"])
    hi_v = max(s["max"] for s in item["stats"])
    if lo_v == hi_v:
        result.update(_not_testable(f"constant variable (every recorded value is {lo_v:g})"))
        return result
    ties = item["ties"]
    R = item["rank_sums"]
    tie_factor = 1.0 - ties / (N ** 3 - N)
    if test == "kruskal":
        h = (12.0 / (N * (N + 1)) * float(np.sum(R ** 2 / n)) - 3.0 * (N + 1)) / tie_factor
        result.update(test="kruskal", statistic=h, df=k - 1,
                      p_value=float(special.chdtrc(k - 1, h)))
    else:
        n1, n2 = int(n[0]), int(n[1])
        u1 = float(R[0] - n1 * (n1 + 1) / 2.0)
        sigma = math.sqrt(n1 * n2 / 12.0 * ((N + 1) - ties / (N * (N - 1))))
        z = (u1 - n1 * n2 / 2.0) / sigma
        p = min(1.0, 2.0 * float(special.ndtr(-abs(z))))
        note = ""
        if exact:
            x = _group_values(sorter, 0, n1)
            y = _group_values(sorter, 1, n2)
            if ties == 0:
                p = float(stats.mannwhitneyu(x, y, method="exact").pvalue)
                note = "exact p"
            else:
                res = stats.mannwhitneyu(x, y, method=stats.PermutationMethod(
                    n_resamples=n_resamples, rng=np.random.default_rng(seed)))
                p = float(res.pvalue)
                total = math.comb(N, n1)
                note = ("exact permutation p (ties)" if total <= n_resamples else
                        f"permutation p from {n_resamples} Monte Carlo resamples (ties; seed {seed})")
        result.update(test="mann_whitney", statistic=u1, df=None, p_value=p, note=note)
    if effect_sizes:
        if k == 2:
            est, lo, hi, ok = _hodges_lehmann(sorter, int(n[0]), int(n[1]))
            result.update(effect="Hodges-Lehmann difference", effect_estimate=est,
                          effect_ci_low=lo, effect_ci_high=hi)
            if not ok:
                result["note"] = _join(result["note"], "groups too small for a 95% CI")
        else:
            result.update(effect="")
    return result


def _group_values(sorter: _Sorted, g: int, m: int) -> np.ndarray:
    if sorter.hist is None:
        return sorter.arrays[g]
    h = sorter.hist[g]
    return np.repeat((np.arange(h.size) + sorter.offset) / sorter.scale, h)[:m]


# --------------------------------------------------------------------------------------------
# repeated measures
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PairedResult:
    """Friedman test across time points and Wilcoxon signed-rank of each against baseline.

    ``summary``: per time point n, median, Q1, Q3, min, max (all patients with a value);
    ``pairwise``: one row per later time point with ``n_pairs``, ``n_nonzero``, ``statistic``
    (W+, sum of positive ranks of later minus baseline), ``z``, ``p_value``, ``p_holm`` and
    ``note``.
    """
    test: str
    statistic: float
    df: int
    p_value: float
    n_complete: int
    n_total: int
    summary: pd.DataFrame
    pairwise: pd.DataFrame
    note: str = ""


def paired_over_time(data: pd.DataFrame, columns=None, *, value: str | None = None,
                     subject: str = "patient_id", time: str = "month",
                     adjust: str = "holm") -> PairedResult:
    """Change of a measurement over visits (the paper's "SLEDAI improved over time", p < 0.001).

    ``data`` is either wide (one row per patient, one column per time point, baseline first: by
    default the ``sledai_m*`` columns of ``analysis_frame``, or the given ``columns``) or long
    (``value`` names the measurement column; ``subject`` and ``time`` identify the visit).

    The Friedman test uses complete cases (patients with every time point; their number is stated).
    Each later time point is compared with baseline by the Wilcoxon signed-rank test on the
    patients having both values, as SPSS does: zero differences dropped, tie-corrected normal
    approximation, no continuity correction. Those p-values are adjusted with Holm (default) or
    Benjamini-Hochberg (``adjust="bh"``).
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError("data must be a pandas DataFrame")
    if value is not None:
        for col in (value, subject, time):
            if col not in data.columns:
                raise KeyError(f"column {col!r} is not in the data")
        dup = data.duplicated([subject, time])
        if dup.any():
            raise ValueError(f"{int(dup.sum())} duplicated ({subject}, {time}) visit(s)")
        wide = data.pivot(index=subject, columns=time, values=value).sort_index(axis=1)
        labels = {c: f"{time} {c}" for c in wide.columns}
    else:
        if columns is None:
            columns = [c for c in ("sledai_m0", "sledai_m1", "sledai_m3", "sledai_m6",
                                   "sledai_m12") if c in data.columns]
        columns = list(columns)
        missing = [c for c in columns if c not in data.columns]
        if missing:
            raise KeyError(f"columns not in the data: {missing}")
        wide = data[columns]
        labels = {c: c for c in columns}
    if wide.shape[1] < 2:
        raise ValueError("at least two time points are needed")
    values = wide.apply(lambda s: pd.to_numeric(s, errors="raise")).astype(float)
    times = list(values.columns)
    rows = []
    for t in times:
        v = values[t].dropna().to_numpy()
        # quartiles as SPSS (type 6), as in compare_groups
        q = np.percentile(v, [25, 50, 75], method="weibull") if v.size else [np.nan] * 3
        rows.append(dict(time=labels[t], n=int(v.size), median=float(q[1]), q1=float(q[0]),
                         q3=float(q[2]), min=float(v.min()) if v.size else np.nan,
                         max=float(v.max()) if v.size else np.nan))
    summary = pd.DataFrame(rows)
    complete = values.dropna()
    n_total = len(values)
    note = ""
    if len(complete) < 2 or complete.to_numpy().std() == 0:
        stat, p, test = np.nan, np.nan, "not testable: fewer than 2 complete cases or constant"
    else:
        res = stats.friedmanchisquare(*[complete[t].to_numpy() for t in times])
        stat, p, test = float(res.statistic), float(res.pvalue), "friedman"
    if len(complete) < n_total:
        note = f"Friedman on {len(complete)} of {n_total} patients with every time point"
    base = times[0]
    pw = []
    for t in times[1:]:
        pair = values[[base, t]].dropna()
        d = (pair[t] - pair[base]).to_numpy()
        nz = d[d != 0]
        row = dict(time=labels[t], baseline=labels[base], n_pairs=len(pair),
                   n_nonzero=int(nz.size), median_difference=float(np.median(d)) if d.size
                   else np.nan)
        if nz.size == 0:
            row.update(test="not testable: no non-zero differences", statistic=np.nan,
                       z=np.nan, p_value=np.nan)
        else:
            r = stats.wilcoxon(nz, zero_method="wilcox", correction=False, method="approx")
            ranks = stats.rankdata(np.abs(nz))
            w_plus = float(ranks[nz > 0].sum())
            row.update(test="wilcoxon", statistic=w_plus, z=float(r.zstatistic) if hasattr(
                r, "zstatistic") else np.nan, p_value=float(r.pvalue))
        pw.append(row)
    pairwise = pd.DataFrame(pw)
    pairwise["p_holm" if adjust == "holm" else "q_value"] = adjust_pvalues(
        pairwise["p_value"].to_numpy(dtype=float), adjust)
    return PairedResult(test=test, statistic=stat, df=len(times) - 1, p_value=p,
                        n_complete=len(complete), n_total=n_total, summary=summary,
                        pairwise=pairwise, note=note)
