"""The bundled SYNTHETIC cohort: a seeded patient-level extract reconstructed to Wen et al. (2019).

The real Nanjing data are not public. This module writes an extract in the data contract's format
(``data/dictionary.csv``) whose *visit-level* SLEDAI-2K descriptors, prednisone doses and baseline
history are built so that the workbook's own rules, applied to it, give back the paper's published
tables (``data/published/wen2019_values.csv``, which drives every target below; no published
number is typed here). Outcomes are never stored: LDA and CR come out of the response rules.

The construction is a small constraint-satisfaction problem, solved in four seeded steps:

1. *Response groups.* Each eligible patient gets a trajectory type: CR maintained at month 12,
   CR earlier only, LDA without CR (maintained at 12 months or lost), no response. The group sizes
   follow from the published counts (CR, CR at M12, LDA, LDA at M12, no response).
2. *Baseline history.* Every Table 2 row is split exactly between CR and no CR as printed; the
   patients without CR are split between LDA and no response proportionally (so no baseline variable
   is associated with LDA), except where the paper reports an LDA association (a split whose p-value
   matches the printed one) or a count (neurologic disorder). Who has which feature within a group is
   drawn at random, then repaired until every patient is clinically coherent (nephritis within renal
   disorder, biopsied within active nephritis, refractoriness explained by the drug history, a
   contraindication for patients without CYC induction, descriptors available for their response).
3. *Numbers.* Age, SLE duration, baseline prednisone and the SLEDAI-2K at each visit are chosen by a
   seeded local search within each patient's feasible values until every published median and range
   is exact and every Mann-Whitney p-value rounds to the printed one.
4. *Visits.* Each visit's descriptor set sums to its SLEDAI-2K and only uses organs in the patient's
   history; the baseline visit shows every symptom flagged at baseline; visits where a responder meets
   LDA/CR have no major-organ item; a non-responder's visit with a low score keeps a major organ
   active. Prednisone is tapered from the baseline dose by 5-10 mg every two weeks (section 2.3) to a
   floor that matches the response.

Screened-but-ineligible patients (one per failed criterion of section 2.1, two for the date window)
are added so the eligibility rules leave exactly the analysed cohort.

Command line (``make data``)::

    python -m msc_sle.tools.synthetic --out data/synthetic [--patients N] [--seed S]

``--patients N`` resamples the reconstruction to N screened patients (benchmarks; not committed).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from msc_sle import stats
from msc_sle.contract import VISIT_MONTHS, Cohort, variables, write_cohort
from msc_sle.clinical import FOLLOW_UP_MONTHS
from msc_sle.paper.published import PUBLISHED_PATH

__all__ = ["generate_synthetic", "resample_synthetic", "write_synthetic", "SyntheticExtract", "DEFAULT_SEED"]

DEFAULT_SEED = 20190502  # publication date of the paper; any seed works, this one is committed
MONTHS = VISIT_MONTHS
FOLLOW_UP = FOLLOW_UP_MONTHS
# Section 2.3: prednisone "tapered by 5 to 10 mg every 2 weeks" after the transplant; the number of
# two-week steps elapsed by each scheduled visit.
TAPER_STEPS = {0: 0, 1: 2, 3: 6, 6: 13, 12: 26}
TAPER_RATES = (5.0, 10.0)
# Doses above this are i.v. methylprednisolone pulses (prednisone equivalents, as the paper's
# 500 mg/day maximum must be); the visit table records the oral daily dose apart from pulses
# (data dictionary), 1 mg/kg/day for a 60 kg patient.
ORAL_AFTER_PULSE_MG = 60.0
# Extract date of the synthetic centre: a synthetic choice that gives every patient treated within
# the eligibility window at least two years of follow-up.
EXTRACT_DATE = pd.Timestamp("2015-12-31")
# SLE onset is rare before age 10: SLE duration is kept below (age - 10) years.
MIN_ONSET_AGE = 10

# Baseline history -> the SLEDAI-2K descriptors it makes possible. "Symptom at baseline" flags are
# shown at the baseline visit (MANDATORY_AT_BASELINE); history-type flags (ACR disorders) only allow
# their descriptors. No descriptor ever appears without the history that explains it.
MANDATORY_AT_BASELINE = {
    "fever": "fever", "rash": "rash", "alopecia": "alopecia", "oral_ulcers": "mucosal_ulcers",
    "vasculitis": "vasculitis", "low_complement": "low_complement", "anti_dsdna": "increased_dna_binding",
    "active_lupus_nephritis": "proteinuria",  # > 1 g/24 h (section 2.4) scores SLEDAI proteinuria (> 0.5 g)
}
ALLOWS = {
    "arthralgia_arthritis": ("arthritis",),
    "renal_disorder": ("proteinuria", "hematuria", "urinary_casts", "pyuria"),
    "hematological_disorder": ("thrombocytopenia", "leukopenia"),
    "serositis": ("pleurisy", "pericarditis"),
    "cardiorespiratory_disorder": ("pericarditis",),
}
# ACR 1997 neurologic disorder = seizures or psychosis; one of them per neurologic patient.
NEURO_ITEMS = ("seizure", "psychosis")
# Patient flags that are ACR 1997 criteria (malar rash read as rash; discoid rash has no column).
ACR_FLAGS = ("rash", "photosensitivity", "oral_ulcers", "arthralgia_arthritis", "serositis", "renal_disorder",
             "neurologic_disorder", "hematological_disorder", "immunologic_disorder", "antinuclear_antibodies")
# Groups of flags that move together when features are swapped between patients (nesting).
BLOCKS = {
    "renal": ("renal_disorder", "active_lupus_nephritis", "ln_class"),
    "source": ("uc", "second_infusion"),
    "induction": ("cyc_induced", "cyc_low"),
    "serositis": ("serositis",),
}


# ----------------------------------------------------------------------------------------------
# rules: imported from the library, never restated here
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Rules:
    weights: dict
    major: frozenset
    lda_sledai_max: int      # highest SLEDAI-2K total that meets LDA
    cr_sledai_max: int       # highest SLEDAI-2K total that meets CR
    lda_prednisone_max: float
    cr_prednisone_max: float
    min_age_exclusive: float  # eligibility (section 2.1), from msc_sle.clinical.PAPER_ELIGIBILITY
    min_acr_criteria: int
    min_baseline_sledai: int
    window: tuple
    min_follow_up_months: float
    prednisone_cut: float     # Table 2 splits, from msc_sle.clinical.analysis_frame defaults
    cyc_dose_cut: float


def _rules() -> _Rules:
    """The workbook's rules, taken from the library (never restated): SLEDAI-2K weights and major
    organs, the paper's LDA/CR, and the defaults of the eligibility criteria and Table 2 splits."""
    from msc_sle import clinical

    weights = {str(k): int(v) for k, v in dict(clinical.SLEDAI2K_WEIGHTS).items()}
    lda, cr = clinical.paper_lda, clinical.paper_cr
    major = frozenset(lda.major_organ) | frozenset(cr.major_organ)
    crit = clinical.PAPER_ELIGIBILITY
    return _Rules(weights, major, _sledai_max(lda), _sledai_max(cr), float(lda.prednisone_max),
                  float(cr.prednisone_max), float(crit.min_age_exclusive), int(crit.min_acr_criteria),
                  int(crit.min_baseline_sledai),
                  (pd.Timestamp(crit.infusion_start), pd.Timestamp(crit.infusion_end)),
                  float(crit.min_follow_up_months), float(clinical.PREDNISONE_CUT_MG), float(clinical.CYC_DOSE_CUT_G))


def _sledai_max(definition) -> int:
    """Highest integer SLEDAI-2K total a definition accepts (LDA '<= 4' -> 4, CR '< 3' -> 2)."""
    accepts = [s for s in range(0, 106) if definition.accepts_sledai(s)]
    return max(accepts)


# ----------------------------------------------------------------------------------------------
# published targets
# ----------------------------------------------------------------------------------------------
class _Targets:
    """Read access to data/published/wen2019_values.csv (the only source of the numbers)."""

    def __init__(self, path: Path):
        self.frame = pd.read_csv(path, dtype=str, keep_default_na=False)

    def _rows(self, variable, statistic, outcome="", group="all", level=""):
        f = self.frame
        rows = f[(f.variable == variable) & (f.statistic == statistic) & (f.outcome == outcome)
                 & (f.group == group) & (f.level == level)]
        if rows.empty:
            raise KeyError(f"no published {statistic} for {variable!r} (outcome={outcome!r}, group={group!r}, "
                           f"level={level!r}) in {PUBLISHED_PATH.name}")
        return rows

    def value(self, variable, statistic, outcome="", group="all", level="") -> float:
        rows = self._rows(variable, statistic, outcome, group, level)
        values = {float(v) for v in rows["value"]}
        if len(values) != 1:
            raise ValueError(f"published {statistic} of {variable!r} disagrees with itself: {sorted(values)}")
        return values.pop()

    def has(self, variable, statistic, outcome="", group="all", level="") -> bool:
        try:
            self._rows(variable, statistic, outcome, group, level)
        except KeyError:
            return False
        return True

    def n(self, variable, outcome="", group="all", level="") -> int:
        return int(round(self.value(variable, "n", outcome, group, level)))

    def levels(self, variable, outcome, group) -> list[str]:
        f = self.frame
        rows = f[(f.variable == variable) & (f.outcome == outcome) & (f.group == group) & (f.statistic == "n")]
        return list(dict.fromkeys(rows["level"]))

    def p_window(self, variable, outcome) -> tuple[float, float] | None:
        """The interval of p-values that print as every published p-value of this comparison."""
        f = self.frame
        rows = f[(f.variable == variable) & (f.outcome == outcome) & (f.statistic == "p_value")]
        if rows.empty:
            return None
        lo, hi, pads = 0.0, 1.0, []
        for _, r in rows.iterrows():
            v = float(r["value"])
            if r["comparator"] == "<":
                # "<0.001" is SPSS's three-decimal ".000" in print: p rounds to zero at that precision
                # (data/README.md, reading 7), so p < 0.0005, not merely p < 0.001
                hi = min(hi, 0.5 * v)
                pads.append(0.01 * v)
                continue
            decimals = len(r["printed"].split(".")[1]) if "." in r["printed"] else 0
            half = 0.5 * 10.0 ** -decimals
            lo, hi = max(lo, v - half), min(hi, v + half)
            pads.append(0.02 * half)
        if lo >= hi:
            raise ValueError(f"published p-values of {variable!r} ({outcome}) cannot all hold")
        # stay clear of the rounding edges so another implementation's last bits cannot flip them
        pad = min(pads)
        return (lo + pad if lo > 0 else 0.0), hi - pad

    def summary(self, variable, outcome="", group="all") -> tuple[float, float, float]:
        return tuple(self.value(variable, s, outcome, group) for s in ("median", "min", "max"))


# ----------------------------------------------------------------------------------------------
# statistics used by the search (the library's compare engine checks the result in the tests)
# ----------------------------------------------------------------------------------------------
def _mw_p(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sided asymptotic Mann-Whitney p, as the comparison engine computes it (SPSS convention),
    through the vectorised path: the search calls it hundreds of thousands of times."""
    codes = np.concatenate([np.zeros(len(x), dtype=np.int64), np.ones(len(y), dtype=np.int64)])
    res = stats.mann_whitney_grouped(stats.group_values(np.concatenate([x, y]), codes, 2))
    return 1.0 if math.isnan(res.pvalue) else res.pvalue


def _binary_p(a: int, n_a: int, b: int, n_b: int) -> tuple[float, float, bool]:
    """(Pearson p without continuity correction, two-sided Fisher p, any expected count < 5)."""
    table = np.array([[a, n_a - a], [b, n_b - b]])
    if (table.sum(axis=0) == 0).any():
        return 1.0, 1.0, False
    return (stats.pearson_chi2(table).pvalue, stats.fisher_exact(table).pvalue,
            bool((stats.expected_counts(table) < 5).any()))


def _largest_remainder(total: int, weights, caps=None) -> list[int]:
    w = np.asarray(weights, float)
    raw = total * w / w.sum()
    out = np.floor(raw).astype(int)
    if caps is not None:
        out = np.minimum(out, caps)
    order = np.argsort(-(raw - np.floor(raw)), kind="stable")
    i = 0
    while out.sum() < total:
        k = order[i % len(order)]
        if caps is None or out[k] < caps[k]:
            out[k] += 1
        i += 1
    return [int(v) for v in out]


# ----------------------------------------------------------------------------------------------
# step 1 + 2: groups and baseline history
# ----------------------------------------------------------------------------------------------
LEVELS = ("CR", "LDA", "NR")          # CR; LDA without CR; no response
SUBGROUPS = ("CR12", "CRe", "CRl", "LDA12", "LDAe", "NR")
# CR12: CR at month 12; CRe: CR earlier, LDA kept at month 12; CRl: CR earlier, flare at month 12;
# LDA12: LDA (no CR) at month 12; LDAe: LDA earlier, lost by month 12; NR: no response.
LEVEL_OF = {"CR12": "CR", "CRe": "CR", "CRl": "CR", "LDA12": "LDA", "LDAe": "LDA", "NR": "NR"}


@dataclass
class _Plan:
    """Everything decided from the published file before any random draw."""
    n: int
    sizes: dict                 # subgroup -> size
    counts: dict                # feature -> {level: count}
    ln_counts: dict             # level -> {class: count}
    notes: list = field(default_factory=list)


BOOLEAN_FEATURES = (
    "prior_cyc", "prior_mmf", "prior_hcq", "prior_lef", "fever", "rash", "photosensitivity", "oral_ulcers",
    "arthralgia_arthritis", "serositis", "vasculitis", "alopecia", "renal_disorder", "active_lupus_nephritis",
    "neurologic_disorder", "cardiorespiratory_disorder", "hematological_disorder", "immunologic_disorder",
    "antinuclear_antibodies", "anti_dsdna", "anti_sm", "anti_ssa", "anti_ssb", "low_complement", "second_infusion",
)


def _plan(t: _Targets, rules: _Rules) -> _Plan:
    n = t.n("n", "", "all")
    n_cr, n_not_cr = t.n("n", "cr", "with"), t.n("n", "cr", "without")
    if n_cr + n_not_cr != n:
        raise ValueError("Table 2 group sizes do not add up to the cohort")
    n_cr12, n_lda, n_lda12, n_nr = t.n("cr_m12"), t.n("lda_ever"), t.n("lda_m12"), t.n("no_response")
    if n_lda + n_nr != n:
        raise ValueError("LDA and no response do not add up to the cohort")
    # CR reached earlier but not kept at month 12: one of them carries the CR group's month-12 maximum;
    # if that maximum is above the LDA threshold it is a flare (LDA lost), the others keep LDA.
    n_cr_early = n_cr - n_cr12
    cr12_max = t.value("sledai_m12", "max", "cr", "with")
    n_crl = 1 if (n_cr_early and cr12_max > rules.lda_sledai_max) else 0
    n_cre = n_cr_early - n_crl
    n_lda12_only = n_lda12 - n_cr12 - n_cre
    n_lda_only = n_lda - n_cr
    sizes = {"CR12": n_cr12, "CRe": n_cre, "CRl": n_crl, "LDA12": n_lda12_only,
             "LDAe": n_lda_only - n_lda12_only, "NR": n_nr}
    if min(sizes.values()) < 0:
        raise ValueError(f"published response counts are inconsistent: {sizes}")
    lv = {"CR": n_cr, "LDA": n_lda_only, "NR": n_nr}
    notes = []
    counts = {}

    def split(c_with, c_without, name):
        """Split the non-CR count between LDA-without-CR and no response."""
        if t.has(name, "n", "lda", "with"):  # a published LDA count (neurologic disorder)
            k = t.n(name, "lda", "with") - c_with
        elif t.p_window(name, "lda") is not None:  # a published LDA association: the matching split
            lo, hi = t.p_window(name, "lda")
            found = []
            for k in range(max(0, c_without - lv["NR"]), min(lv["LDA"], c_without) + 1):
                pearson, fisher, _ = _binary_p(c_with + k, n_cr + lv["LDA"], c_without - k, lv["NR"])
                for test, p in (("Pearson chi-square", pearson), ("Fisher's exact test", fisher)):
                    if lo <= p < hi:
                        found.append((test != "Pearson chi-square", k, test, p, pearson, fisher))
            if not found:
                raise ValueError(f"no split of {name!r} matches its published LDA p-value")
            _, k, test, p, pearson, fisher = sorted(found)[0]
            notes.append(f"{name}: LDA split {c_with + k}/{n_cr + lv['LDA']} vs {c_without - k}/{lv['NR']} is the "
                         f"split matching the published p; it does so under {test} (p = {p:.3f}); Pearson "
                         f"gives {pearson:.3f}, Fisher {fisher:.3f}")
        else:  # proportional: no association with LDA
            k = _largest_remainder(c_without, [lv["LDA"], lv["NR"]], caps=[lv["LDA"], lv["NR"]])[0]
        return {"CR": c_with, "LDA": k, "NR": c_without - k}

    for name in BOOLEAN_FEATURES:
        counts[name] = split(t.n(name, "cr", "with"), t.n(name, "cr", "without"), name)
    # nesting: active nephritis within renal disorder per level
    for lev in LEVELS:
        if counts["active_lupus_nephritis"][lev] > counts["renal_disorder"][lev]:
            diff = counts["active_lupus_nephritis"][lev] - counts["renal_disorder"][lev]
            other = "NR" if lev == "LDA" else "LDA"
            counts["renal_disorder"][lev] += diff
            counts["renal_disorder"][other] -= diff
    counts["female"] = split(t.n("sex", "cr", "with", "F"), t.n("sex", "cr", "without", "F"), "sex")
    uc = t.levels("msc_source", "cr", "with")
    counts["uc"] = split(t.n("msc_source", "cr", "with", uc[0]), t.n("msc_source", "cr", "without", uc[0]),
                         "msc_source")
    # prednisone split: printed "<=20 / >20"; data/README.md reading 1 puts 20 mg in the high group
    plev = t.levels("prednisone_dose_group", "cr", "with")
    counts["pred_low"] = split(t.n("prednisone_dose_group", "cr", "with", plev[0]),
                               t.n("prednisone_dose_group", "cr", "without", plev[0]), "prednisone_dose_group")
    counts["pred_high"] = {lev: lv[lev] - counts["pred_low"][lev] for lev in LEVELS}
    clev = t.levels("cyc_induction_dose_group", "cr", "with")
    low = split(t.n("cyc_induction_dose_group", "cr", "with", clev[0]),
                t.n("cyc_induction_dose_group", "cr", "without", clev[0]), "cyc_induction_dose_group")
    high_w, high_wo = (t.n("cyc_induction_dose_group", "cr", g, clev[1]) for g in ("with", "without"))
    induced = split(low["CR"] + high_w, (low["LDA"] + low["NR"]) + high_wo, "cyc_induction")
    # keep the low-dose patients proportional among the induced
    k_low = _largest_remainder(low["LDA"] + low["NR"], [induced["LDA"], induced["NR"]])
    counts["cyc_low"] = {"CR": low["CR"], "LDA": k_low[0], "NR": k_low[1]}
    counts["cyc_induced"] = induced
    if sum(induced.values()) != t.n("cyc_induction"):
        raise ValueError("CYC induction total disagrees with the dose split")
    # second infusion by MSC source (section 3.2)
    bm_second = t.n("second_infusion", "", "all", "BM")
    bm = {lev: lv[lev] - counts["uc"][lev] for lev in LEVELS}
    caps = [min(bm[l], counts["second_infusion"][l]) for l in LEVELS]
    counts["bm_second"] = dict(zip(LEVELS, _largest_remainder(bm_second, [bm[l] for l in LEVELS], caps=caps)))
    # kidney biopsy classes among the biopsied (Table 2 footnote)
    ln_levels = t.levels("ln_class", "cr", "without")
    ln_counts = {"CR": {c: t.n("ln_class", "cr", "with", c) for c in ln_levels}}
    ln_counts["LDA"], ln_counts["NR"] = {}, {}
    for c in ln_levels:
        k = _largest_remainder(t.n("ln_class", "cr", "without", c), [lv["LDA"], lv["NR"]])
        ln_counts["LDA"][c], ln_counts["NR"][c] = k
    for lev in LEVELS:
        if sum(ln_counts[lev].values()) > counts["active_lupus_nephritis"][lev]:
            raise ValueError("more biopsied patients than active nephritis")
    return _Plan(n, sizes, counts, ln_counts, notes)


# ----------------------------------------------------------------------------------------------
# descriptors available to a patient
# ----------------------------------------------------------------------------------------------
def _allowed_items(p: dict) -> tuple[list[str], list[str]]:
    """(descriptors shown at baseline by the baseline flags, descriptors the history allows)."""
    mandatory = [d for flag, d in MANDATORY_AT_BASELINE.items() if p[flag]]
    if p["serositis"]:
        mandatory.append(p["serositis_item"])
    allowed = set(mandatory)
    for flag, items in ALLOWS.items():
        if p[flag]:
            allowed.update(items)
    if p["neurologic_disorder"]:
        allowed.add(p["neuro_item"])
    return sorted(mandatory), sorted(allowed)


def _sums(items: list[str], weights: dict, base: int = 0) -> np.ndarray:
    """Boolean vector over totals 0..105: reachable as base + a subset of items."""
    reach = np.zeros(106, bool)
    reach[base] = True
    for it in items:
        w = weights[it]
        shifted = np.zeros_like(reach)
        shifted[w:] = reach[:-w]
        reach |= shifted
    return reach


def _reach_with_major(items, weights, major) -> np.ndarray:
    """Totals reachable by a subset containing at least one major-organ item."""
    out = np.zeros(106, bool)
    for i, it in enumerate(items):
        if it not in major:
            continue
        rest = [x for x in items if x != it]
        r = _sums(rest, weights)
        shifted = np.zeros_like(r)
        shifted[weights[it]:] = r[:-weights[it]]
        out |= shifted
    return out


# ----------------------------------------------------------------------------------------------
# step 3: a seeded local search for values with exact medians/ranges and p-value windows
# ----------------------------------------------------------------------------------------------
@dataclass
class _Column:
    """Constraints on one numeric column over the eligible patients."""
    allowed: list                                   # per patient: sorted np.ndarray of feasible values
    exact: list = field(default_factory=list)       # (mask, "median"|"min"|"max", value)
    pwin: list = field(default_factory=list)        # (mask_a, mask_b, lo, hi)


def _order_deficit(x: np.ndarray, stat: str, target: float) -> float:
    """How many values are on the wrong side for ``stat(x) == target`` (0 = exact).

    Counting misplaced values, rather than measuring the distance of the statistic, gives the search
    a smooth slope. An even-sized median of m.5 needs the two middle values m and m+1; of m, both m.
    """
    n = len(x)
    if stat == "min":
        return float((x < target).sum() + (0 if (x == target).any() else 1))
    if stat == "max":
        return float((x > target).sum() + (0 if (x == target).any() else 1))
    if n % 2:
        k = (n + 1) // 2
        below, at_most = (x < target).sum(), (x <= target).sum()
        return float(max(0, below - (k - 1)) + max(0, k - at_most))
    k = n // 2
    lo, hi = (target, target) if target == int(target) else (math.floor(target), math.ceil(target))
    d = max(0, (x < lo).sum() - (k - 1)) + max(0, k - (x <= lo).sum())
    d += max(0, (x < hi).sum() - k) + max(0, (k + 1) - (x <= hi).sum())
    if lo != hi:
        d += max(0, ((x > lo) & (x < hi)).sum())
    return float(d)


def _violation(col: _Column, v: np.ndarray) -> float:
    score = 0.0
    for mask, stat, target in col.exact:
        score += _order_deficit(v[mask], stat, target)
    for a, b, lo, hi in col.pwin:
        p = _mw_p(v[a], v[b])
        if p < lo:
            score += 2.0 * (math.log10(lo) - math.log10(max(p, 1e-300)))
        elif p >= hi:
            score += 2.0 * (math.log10(p) - math.log10(hi)) + 1e-3
    return score


def _search(cols: list[_Column], rng: np.random.Generator, soft=None, max_iter=400_000, start=None,
            name="values") -> np.ndarray:
    """Choose a value per patient and column (array n x k) with zero violation of every column.

    Simulated annealing over single-cell changes; ``soft(values, i)`` adds a per-patient plausibility
    penalty (e.g. trajectories) once the hard constraints hold.
    """
    n, k = len(cols[0].allowed), len(cols)
    if start is None:
        v = np.empty((n, k))
        for j, col in enumerate(cols):
            for i in range(n):
                a = col.allowed[i]
                v[i, j] = a[len(a) // 2]
    else:
        v = np.array(start, float)
    hard = np.array([_violation(c, v[:, j]) for j, c in enumerate(cols)])
    soft_i = np.array([soft(v, i) for i in range(n)]) if soft else np.zeros(n)
    temp = 0.3
    settle = 0
    for it in range(max_iter):
        j = int(rng.integers(k))
        i = int(rng.integers(n))
        a = cols[j].allowed[i]
        if len(a) < 2:
            continue
        cur = np.searchsorted(a, v[i, j])
        if rng.random() < 0.6:
            new = a[min(len(a) - 1, max(0, cur + int(rng.choice((-2, -1, 1, 2)))))]
        else:
            new = a[int(rng.integers(len(a)))]
        if new == v[i, j]:
            continue
        old = v[i, j]
        v[i, j] = new
        h = _violation(cols[j], v[:, j])
        s = soft(v, i) if soft else 0.0
        delta = 10.0 * (h - hard[j]) + (s - soft_i[i])
        if delta <= 0 or rng.random() < math.exp(-delta / temp):
            hard[j], soft_i[i] = h, s
        else:
            v[i, j] = old
        temp = max(0.01, temp * 0.9995)
        if hard.sum() == 0:
            settle += 1
            if settle > (3000 if soft else 0):
                break
    if hard.sum() > 0:
        raise RuntimeError(f"synthetic search for {name} did not converge (violations {hard.round(4).tolist()}); "
                           "try another --seed")
    return v


# ----------------------------------------------------------------------------------------------
# the generator
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SyntheticExtract:
    """A generated extract: the two tables of the data contract and the manifest (``synthetic``)."""
    patients: pd.DataFrame
    visits: pd.DataFrame
    manifest: dict


def generate_synthetic(out: str | Path | None = None, *, patients: int | None = None, seed: int = DEFAULT_SEED,
                       published: str | Path = PUBLISHED_PATH) -> SyntheticExtract:
    """Generate the SYNTHETIC cohort (and write it to ``out`` if given).

    Parameters
    ----------
    out : folder to write ``patients.csv``, ``visits.csv`` and ``manifest.json`` into (created).
    patients : number of screened patients. ``None`` (default) gives the reconstruction of the paper's
        cohort (the bundled data); any other N resamples the reconstruction to N patients with the same
        schema and distributions (benchmarks; the published targets then hold only approximately).
    seed : seed of every random draw; the same seed gives byte-identical files.
    published : the published values that drive the targets.
    """
    if patients is not None and (isinstance(patients, bool) or not isinstance(patients, (int, np.integer))
                                 or patients < 1):
        raise ValueError(f"patients must be a positive integer or None, got {patients!r}")
    rng = np.random.default_rng(seed)
    rules = _rules()
    base_p, base_v, notes = _reconstruct(_Targets(Path(published)), rules, rng)
    base_p, base_v = _finalise(base_p, base_v)
    extract = SyntheticExtract(base_p, base_v, _manifest(seed, None, base_p, base_v, notes))
    if patients is not None:
        extract = resample_synthetic(extract, patients, seed=seed)
    if out is not None:
        write_synthetic(extract, out)
    return extract


def _manifest(seed, patients, p, v, notes) -> dict:
    return {
        "synthetic": True,
        # the reconstruction stands for the paper's cohort; a resample of it does not
        "paper_cohort": patients is None,
        "generator": "msc_sle.tools.synthetic",
        "seed": int(seed),
        "patients": None if patients is None else int(patients),
        "n_screened": int(len(p)),
        "n_visits": int(len(v)),
        "description": ("SYNTHETIC extract, not patient data: generated by a seeded program to reproduce the "
                        "published tables of Wen et al. (2019), Stem Cells International, when the "
                        "workbook's rules are applied to it. Do not use for clinical conclusions."),
        "targets": "data/published/wen2019_values.csv",
        "notes": list(notes),
    }


def resample_synthetic(extract: SyntheticExtract, n: int, *, seed: int = DEFAULT_SEED) -> SyntheticExtract:
    """``n`` screened patients resampled (with replacement) from a generated extract, for benchmarks.

    Same schema and, in expectation, the same distributions and response rates; the published
    targets hold only for the reconstruction itself. Vectorised: a million patients take about a
    minute, most of it writing the CSV files.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    p, v = _resample(extract.patients, extract.visits, int(n), _rules(), np.random.default_rng([seed, int(n)]))
    p, v = _finalise(p, v)
    notes = list(extract.manifest.get("notes", [])) + [
        f"resampled to {int(n)} patients from the {len(extract.patients)}-patient reconstruction: "
        "the published targets hold only approximately"]
    return SyntheticExtract(p, v, _manifest(seed, n, p, v, notes))


def _reconstruct(t: _Targets, rules: _Rules, rng: np.random.Generator):
    plan = _plan(t, rules)
    extremes, m0_range = [], {}
    for levels, group in ((("CR",), "with"), (("LDA", "NR"), "without")):
        _, lo0, hi0 = t.summary("sledai_m0", "cr", group)
        extremes += [(levels, lo0), (levels, hi0)]
        m0_range.update({lev: (max(lo0, rules.min_baseline_sledai), hi0) for lev in levels})
    people = _assign_features(plan, rules, rng, extremes, m0_range)
    n_screen_failures = 7
    ids = [f"P{k:03d}" for k in rng.permutation(np.arange(1, len(people) + n_screen_failures + 1))]
    for p, pid in zip(people, ids):
        p["key"] = pid
    n = len(people)
    sub = np.array([p["subgroup"] for p in people])
    level = np.array([LEVEL_OF[s] for s in sub])
    is_cr, is_lda = level == "CR", level != "NR"
    everyone = np.ones(n, bool)

    # --- age and SLE duration -----------------------------------------------------------------
    def exact(var, mask_with, mask_without, with_all=True):
        rows = []
        for mask, group in ((mask_with, "with"), (mask_without, "without")):
            for s, v in zip(("median", "min", "max"), t.summary(var, "cr", group)):
                rows.append((mask, s, v))
        if with_all:
            for s, v in zip(("median", "min", "max"), t.summary(var, "", "all")):
                rows.append((everyone, s, v))
        return rows

    def windows(var):
        out = []
        for outcome, mask in (("cr", is_cr), ("lda", is_lda)):
            w = t.p_window(var, outcome)
            if w is not None:
                out.append((mask, ~mask, *w))
        return out

    no_assoc = 0.10  # "no association": keep well above alpha = 0.05 (section 2.5)
    lo_age, hi_age = t.value("age_years", "min"), t.value("age_years", "max")
    age_col = _Column([np.arange(lo_age, hi_age + 1) for _ in range(n)], exact("age_years", is_cr, ~is_cr),
                      windows("age_years"))
    ages = _search([age_col], rng, name="age")[:, 0]

    lo_d, hi_d = t.value("sle_duration_months", "min"), t.value("sle_duration_months", "max")
    dur_allowed = [np.arange(lo_d, min(hi_d, (a - MIN_ONSET_AGE) * 12) + 1) for a in ages]
    dur_w = windows("sle_duration_months") + [(is_lda, ~is_lda, no_assoc, 1.01)]
    dur_col = _Column(dur_allowed, exact("sle_duration_months", is_cr, ~is_cr), dur_w)
    durations = _search([dur_col], rng, name="SLE duration")[:, 0]

    # --- baseline prednisone ------------------------------------------------------------------
    med_p, lo_p, hi_p = t.summary("baseline_prednisone_mg")
    cut = rules.prednisone_cut  # a dose equal to the cut is in the high group (data/README.md, reading 1)
    low_doses = np.array([d for d in (5, 7.5, 10, 15) if lo_p <= d < cut], float)
    oral = np.array([d for d in (20, 25, 30, 35, 40, 45, 50, 60) if cut <= d <= ORAL_AFTER_PULSE_MG], float)
    pulses = np.array([d for d in (100, 200, 250, 500) if ORAL_AFTER_PULSE_MG < d <= hi_p], float)
    # a pulse at baseline is the exception: two patients, one of whom carries the published maximum
    high = [i for i, p in enumerate(people) if not p["pred_low"]]
    pulsed = set(rng.choice(high, size=2, replace=False).tolist()) if hi_p > ORAL_AFTER_PULSE_MG else set()
    pred_allowed = [low_doses if p["pred_low"] else (pulses if i in pulsed else oral) for i, p in enumerate(people)]
    pred_col = _Column(pred_allowed,
                       [(everyone, "median", med_p), (everyone, "min", lo_p), (everyone, "max", hi_p)],
                       [(is_cr, ~is_cr, no_assoc, 1.01), (is_lda, ~is_lda, no_assoc, 1.01)])
    pred = _search([pred_col], rng, name="baseline prednisone")[:, 0]

    # --- SLEDAI-2K at every visit -------------------------------------------------------------
    sled = _sledai_values(t, rules, people, sub, is_cr, is_lda, rng)

    # --- CYC induction doses ------------------------------------------------------------------
    doses = _cyc_doses(t, people, rng, rules.cyc_dose_cut)

    # --- assemble the eligible patients --------------------------------------------------------
    for i, p in enumerate(people):
        p.update(age_years=ages[i], sle_duration_months=durations[i], baseline_prednisone_mg=pred[i],
                 cyc_induction_dose_g=doses[i], sledai=dict(zip(MONTHS, sled[i])))
    visits = []
    for p in people:
        visits.extend(_build_visits(p, rules, rng))
    excluded, excluded_visits = _screen_failures(people, visits, rules, rng, ids[len(people):])
    people_all = people + excluded
    visits_all = visits + excluded_visits
    _dates_and_follow_up(people_all, rules, rng)
    notes = list(plan.notes)
    return _patients_frame(people_all), pd.DataFrame(visits_all), notes


def _m0_reach(p: dict, rules: _Rules) -> np.ndarray:
    mandatory, allowed = _allowed_items(p)
    base = sum(rules.weights[d] for d in mandatory)
    return _sums([d for d in allowed if d not in mandatory], rules.weights, base)


def _assign_features(plan: _Plan, rules: _Rules, rng: np.random.Generator, extremes=(), m0_range=None) -> list[dict]:
    """Draw who has which baseline feature within each response level, then repair coherence."""
    sub_list = [s for s in SUBGROUPS for _ in range(plan.sizes[s])]
    people = [{"subgroup": s, "level": LEVEL_OF[s]} for s in sub_list]
    by_level = {lev: [i for i, p in enumerate(people) if p["level"] == lev] for lev in LEVELS}
    c = plan.counts

    def draw(name, lev, pool, k):
        chosen = set(rng.choice(pool, size=k, replace=False).tolist()) if k else set()
        for i in by_level[lev]:
            people[i][name] = i in chosen
        return sorted(chosen)

    for lev in LEVELS:
        idx = by_level[lev]
        for name in BOOLEAN_FEATURES:
            if name in ("active_lupus_nephritis", "second_infusion"):
                continue
            draw(name, lev, idx, c[name][lev])
        renal = [i for i in idx if people[i]["renal_disorder"]]
        aln = draw("active_lupus_nephritis", lev, renal, c["active_lupus_nephritis"][lev])
        classes = [cl for cl, k in plan.ln_counts[lev].items() for _ in range(k)]
        biopsied = rng.choice(aln, size=len(classes), replace=False).tolist() if classes else []
        for i in idx:
            people[i]["ln_class"] = ""
        for i, cl in zip(biopsied, classes):
            people[i]["ln_class"] = cl
        draw("female", lev, idx, c["female"][lev])
        uc = set(draw("uc", lev, idx, c["uc"][lev]))
        bm = [i for i in idx if i not in uc]
        k_bm = c["bm_second"][lev]
        second = set(rng.choice(bm, size=k_bm, replace=False).tolist()) if k_bm else set()
        k_uc = c["second_infusion"][lev] - k_bm
        second |= set(rng.choice(sorted(uc), size=k_uc, replace=False).tolist()) if k_uc else set()
        for i in idx:
            people[i]["second_infusion"] = i in second
        induced = draw("cyc_induced", lev, idx, c["cyc_induced"][lev])
        low = set(rng.choice(induced, size=c["cyc_low"][lev], replace=False).tolist()) if c["cyc_low"][lev] else set()
        for i in idx:
            people[i]["cyc_low"] = i in low
        draw("pred_low", lev, idx, c["pred_low"][lev])
    for p in people:
        p["prior_prednisone"] = True
        p["serositis_item"] = "pericarditis" if p["cardiorespiratory_disorder"] else "pleurisy"
        p["neuro_item"] = NEURO_ITEMS[int(rng.integers(len(NEURO_ITEMS)))]

    swappable = [name for name in BOOLEAN_FEATURES if name not in
                 ("renal_disorder", "active_lupus_nephritis", "second_infusion", "serositis")]
    swappable += ["female", "pred_low"] + list(BLOCKS)

    def fields(name):
        return BLOCKS.get(name, (name,))

    def bad(i):
        return _incoherence(people[i], rules, m0_range)

    def shortfall():
        """Baseline extremes (group minimum / maximum SLEDAI) that fewer than two patients can reach."""
        short = []
        for levels, total_ in extremes:
            able = [i for i, p in enumerate(people) if p["level"] in levels and _m0_reach(p, rules)[int(total_)]]
            if len(able) < 2:
                short.append([i for i, p in enumerate(people) if p["level"] in levels])
        return short

    total = [bad(i) for i in range(len(people))]
    for _ in range(20000):
        worst = [i for i, b in enumerate(total) if b]
        short = shortfall() if not worst else []
        if not worst and not short:
            break
        if short:  # widen a patient's history so that the group extreme becomes reachable
            i = int(rng.choice(short[0]))
            n_short = len(short)
        else:
            i = int(rng.choice(worst))
            n_short = None
        lev = people[i]["level"]
        pool = by_level[lev]
        if rng.random() < 0.3:  # swap the trajectory type within the level
            j = int(rng.choice(pool))
            people[i]["subgroup"], people[j]["subgroup"] = people[j]["subgroup"], people[i]["subgroup"]
            nb_i, nb_j = bad(i), bad(j)
            if nb_i + nb_j <= total[i] + total[j] and (n_short is None or len(shortfall()) <= n_short):
                total[i], total[j] = nb_i, nb_j
            else:
                people[i]["subgroup"], people[j]["subgroup"] = people[j]["subgroup"], people[i]["subgroup"]
            continue
        name = swappable[int(rng.integers(len(swappable)))]
        j = int(rng.choice(pool))
        if i == j:
            continue
        keys = list(fields(name)) + (["serositis_item"] if name == "serositis" else [])
        for key in keys:
            people[i][key], people[j][key] = people[j][key], people[i][key]
        nb_i, nb_j = bad(i), bad(j)
        ok = nb_i + nb_j <= total[i] + total[j]
        if ok and n_short is not None:
            ok = len(shortfall()) < n_short or (len(shortfall()) == n_short and rng.random() < 0.5)
        if ok:
            total[i], total[j] = nb_i, nb_j
        else:
            for key in keys:
                people[i][key], people[j][key] = people[j][key], people[i][key]
    if any(total) or shortfall():
        raise RuntimeError("could not make every synthetic patient clinically coherent; try another --seed")
    for p in people:
        p["serositis_item"] = "pericarditis" if p["cardiorespiratory_disorder"] and p["serositis"] else "pleurisy"
        p["acr_criteria_count"] = sum(bool(p[f]) for f in ACR_FLAGS)
    # criteria met earlier in the history (e.g. a past discoid rash) add to the baseline ones; at least 4
    for p in people:
        extra = int(rng.integers(0, 2))
        p["acr_criteria_count"] = max(4, p["acr_criteria_count"] + extra)
        p["refractory"] = True
    return people


def _incoherence(p: dict, rules: _Rules, m0_range: dict) -> int:
    """Number of clinical incoherences of one eligible patient (0 = coherent)."""
    bad = 0
    # refractory (section 2.1) must be explained: CYC, MMF or LEF failure, or prednisone >= 20 mg/day
    if p["pred_low"] and not (p["prior_cyc"] or p["prior_mmf"] or p["prior_lef"]):
        bad += 1
    # no CYC induction "due to a severe baseline condition" (section 3.2): kidney or blood count
    if not p["cyc_induced"] and not (p["renal_disorder"] or p["hematological_disorder"]):
        bad += 1
    mandatory, allowed = _allowed_items(p, ) if "serositis_item" in p else ([], [])
    w = rules.weights
    nonmajor = [d for d in allowed if d not in rules.major]
    reach_nm = _sums(nonmajor, w)
    s = p["subgroup"]
    if s in ("LDA12", "CRe") and not reach_nm[rules.lda_sledai_max]:
        bad += 1
    if s == "LDAe" and not reach_nm[rules.cr_sledai_max + 1: rules.lda_sledai_max + 1].any():
        bad += 1
    base = sum(w[d] for d in mandatory)
    optional = [d for d in allowed if d not in mandatory]
    reach0 = _sums(optional, w, base)
    lo, hi = m0_range[p["level"]]
    if not reach0[int(lo):int(hi) + 1].any():  # a baseline SLEDAI within its Table 2 range
        bad += 1
    return bad


def _sledai_values(t: _Targets, rules: _Rules, people, sub, is_cr, is_lda, rng) -> np.ndarray:
    """SLEDAI-2K per patient and visit (n x 5) meeting every published summary and p-value."""
    n = len(people)
    w = rules.weights
    L, C = rules.lda_sledai_max, rules.cr_sledai_max
    everyone = np.ones(n, bool)
    noncr_min = {m: t.value(f"sledai_m{m}", "min", "cr", "without") for m in MONTHS}
    cr_max = {m: t.value(f"sledai_m{m}", "max", "cr", "with") for m in MONTHS}
    m0_min = t.value("sledai_m0", "min")
    cols = []
    for mi, m in enumerate(MONTHS):
        allowed = []
        for i, p in enumerate(people):
            mandatory, items = _allowed_items(p)
            nonmajor = [d for d in items if d not in rules.major]
            reach = _sums(items, w)
            reach_nm = _sums(nonmajor, w)
            reach_major = _reach_with_major(items, w, rules.major)
            s = sub[i]
            if m == 0:
                base = sum(w[d] for d in mandatory)
                ok = _sums([d for d in items if d not in mandatory], w, base)
                ok[:int(m0_min)] = False
            else:
                ok = reach.copy()
                if LEVEL_OF[s] != "CR":
                    ok[:int(noncr_min[m])] = False
                    if s == "NR":  # a low score must still fail LDA: a major organ stays active
                        ok[:L + 1] &= reach_major[:L + 1]
                else:
                    ok[int(cr_max[m]) + 1:] = False
                if s == "CR12" and m == 12:
                    ok &= reach_nm
                    ok[C + 1:] = False
                if s in ("CRe", "CRl") and m == 6:  # CR reached at month 6
                    ok &= reach_nm
                    ok[C + 1:] = False
                if s == "CRe" and m == 12:  # LDA kept, CR lost
                    ok &= reach_nm
                    ok[:C + 1] = False
                    ok[L + 1:] = False
                if s == "CRl" and m == 12:  # flare: the CR group's month-12 maximum
                    ok[:int(cr_max[12])] = False
                if s == "LDA12" and m == 12:
                    ok &= reach_nm
                    ok[L + 1:] = False
                if s == "LDAe" and m == 6:
                    ok &= reach_nm
                    ok[L + 1:] = False
                if s in ("LDAe", "NR") and m == 12:
                    ok[:L + 1] = False
            vals = np.flatnonzero(ok).astype(float)
            if len(vals) == 0:
                raise RuntimeError(f"no feasible SLEDAI-2K at month {m} for a {s} patient")
            allowed.append(vals)
        var = f"sledai_m{m}"
        ex = []
        for mask, group in ((is_cr, "with"), (~is_cr, "without")):
            for stat, v in zip(("median", "min", "max"), t.summary(var, "cr", group)):
                ex.append((mask, stat, v))
        for stat, v in zip(("median", "min", "max"), t.summary(var, "", "all")):
            ex.append((everyone, stat, v))
        pw = []
        wcr = t.p_window(var, "cr")
        if wcr is not None:
            pw.append((is_cr, ~is_cr, *wcr))
        if m == 0:  # a baseline variable: no association with LDA
            pw.append((is_lda, ~is_lda, 0.10, 1.01))
        cols.append(_Column(allowed, ex, pw))

    def soft(v, i):
        # a plausible course: small rises only, the baseline the highest
        row = v[i]
        rises = np.clip(np.diff(row) - 2, 0, None).sum()
        return 0.05 * rises + 0.2 * max(0.0, row[1:].max() - row[0])

    start = np.empty((n, len(MONTHS)))
    for j, col in enumerate(cols):
        for i in range(n):
            a = col.allowed[i]
            start[i, j] = a[len(a) // 2]
    return _search(cols, rng, soft=soft, start=start, name="SLEDAI-2K").astype(int)


def _cyc_doses(t: _Targets, people, rng, cut: float) -> list:
    """Induction doses (g) with the published median and range; low group below the median."""
    med, lo, hi = t.summary("cyc_induction_dose_g")
    induced = [i for i, p in enumerate(people) if p["cyc_induced"]]
    low = [i for i in induced if people[i]["cyc_low"]]
    high = [i for i in induced if not people[i]["cyc_low"]]
    n = len(induced)
    steps = np.round(np.arange(lo, hi + 1e-9, 0.2), 1)  # 10 mg/kg/day x 2-4 days, 0.2 g steps
    below = [s for s in steps if lo <= s < min(med, cut)]
    above = [s for s in steps if max(med, cut) < s <= hi]
    need_at_median = n // 2 + 1 - len(low)  # the middle order statistics must equal the median
    values_low = [lo] + list(rng.choice(below, size=len(low) - 1)) if low else []
    n_above = len(high) - need_at_median
    values_high = [med] * need_at_median + ([hi] + list(rng.choice(above[:-1], size=n_above - 1))
                                            if n_above > 0 else [])
    out = [None] * len(people)
    for i, v in zip(rng.permutation(low).tolist(), values_low):
        out[i] = float(v)
    for i, v in zip(rng.permutation(high).tolist(), values_high):
        out[i] = float(v)
    return out


def _select(target: int, items: list[str], rules: _Rules, rng, prefer=(), mandatory=(), need_major=False,
            no_major=False) -> list[str]:
    """A descriptor set summing to ``target``: mandatory items, then a seeded depth-first search that
    prefers the items active at the previous visit."""
    w = rules.weights
    chosen = list(mandatory)
    rest = [d for d in items if d not in chosen and not (no_major and d in rules.major)]
    pref = [d for d in rest if d in prefer]
    other = [d for d in rest if d not in prefer]
    order = list(rng.permutation(pref)) + list(rng.permutation(other)) if rest else []
    remaining = target - sum(w[d] for d in chosen)
    has_major = any(d in rules.major for d in chosen)

    def dfs(k, left, picked, major_in):
        if left == 0:
            return picked if (major_in or not need_major) else None
        if k == len(order) or left < 0:
            return None
        d = order[k]
        got = dfs(k + 1, left - w[d], picked + [d], major_in or d in rules.major)
        return got if got is not None else dfs(k + 1, left, picked, major_in)

    found = dfs(0, remaining, [], has_major)
    if found is None:
        raise RuntimeError(f"no descriptor set sums to {target} from {items}")
    return sorted(chosen + [str(d) for d in found])


def _doses(p: dict, rng) -> dict:
    """Prednisone at each visit: the baseline dose, then -5 to -10 mg every two weeks to a floor."""
    baseline = float(p["baseline_prednisone_mg"])
    oral = min(baseline, ORAL_AFTER_PULSE_MG)
    lev = p["level"]
    floors = {"CR": (2.5, 5.0), "LDA": (5.0, 7.5), "NR": (5.0, 7.5, 10.0, 15.0)}[lev]
    floor = min(float(rng.choice(floors)), oral)
    rate = float(rng.choice(TAPER_RATES))
    out = {}
    for m in MONTHS:
        out[m] = oral if m == 0 else max(floor, oral - rate * TAPER_STEPS[m])
    return out


def _build_visits(p: dict, rules: _Rules, rng, months=MONTHS) -> list[dict]:
    mandatory, items = _allowed_items(p)
    doses = _doses(p, rng)
    s = p["subgroup"]
    L = rules.lda_sledai_max
    rows, prev = [], mandatory
    for m in months:
        target = int(p["sledai"][m])
        response_visit = ((s == "CR12" and m == 12) or (s in ("CRe", "CRl") and m == 6) or (s == "CRe" and m == 12)
                          or (s == "LDA12" and m == 12) or (s == "LDAe" and m == 6))
        need_major = s == "NR" and m > 0 and target <= L and doses[m] <= rules.lda_prednisone_max
        chosen = _select(target, items, rules, rng, prefer=prev, mandatory=mandatory if m == 0 else (),
                         need_major=need_major, no_major=response_visit)
        row = {"patient_id": p["key"], "month": m}
        for d in rules.weights:
            row[d] = int(d in chosen)
        row["prednisone_mg"] = doses[m]
        row["sledai_total"] = sum(rules.weights[d] for d in chosen)
        rows.append(row)
        prev = chosen
    return rows


def _screen_failures(people, visits, rules, rng, ids):
    """Screened patients who fail exactly one criterion of section 2.1 each."""
    out_p, out_v = [], []
    order = rng.permutation(len(people)).tolist()
    kinds = ("age", "acr", "refractory", "sledai", "date_before", "date_after", "follow_up")

    def base0(p):
        mandatory, _ = _allowed_items(p)
        return sum(rules.weights[x] for x in mandatory)

    # the patients closest to failing a criterion lend their history (seeded order breaks ties)
    closest = {"acr": lambda p: sum(bool(p[f]) for f in ACR_FLAGS), "sledai": base0,
               "refractory": lambda p: not p["pred_low"]}
    donors, used = [], set()
    for kind in kinds:
        key = closest.get(kind, lambda p: 0)
        d = min((i for i in order if i not in used), key=lambda i: (key(people[i]), order.index(i)))
        used.add(d)
        donors.append(d)
    for kind, d, pid in zip(kinds, donors, ids):
        q = json.loads(json.dumps(people[d], default=float))
        q["sledai"] = {int(k): v for k, v in q["sledai"].items()}
        q["screen"] = kind
        q["subgroup"] = "NR"
        q["level"] = "NR"
        months = MONTHS
        if kind == "age":
            # the boundary itself is not "> 18": age equal to the threshold
            q["age_years"] = rules.min_age_exclusive
            q["sle_duration_months"] = float(min(q["sle_duration_months"], (q["age_years"] - MIN_ONSET_AGE) * 12))
        elif kind == "acr":
            q["acr_criteria_count"] = rules.min_acr_criteria - 1
            for flag in ("photosensitivity", "immunologic_disorder", "antinuclear_antibodies", "oral_ulcers",
                         "rash", "serositis", "neurologic_disorder", "hematological_disorder",
                         "arthralgia_arthritis"):
                if sum(bool(q[f]) for f in ACR_FLAGS) < rules.min_acr_criteria:
                    break
                q[flag] = False
            if sum(bool(q[f]) for f in ACR_FLAGS) >= rules.min_acr_criteria:
                q["renal_disorder"] = q["active_lupus_nephritis"] = False
                q["ln_class"] = ""
        elif kind == "refractory":
            q["refractory"] = False
            q["prior_cyc"] = q["prior_mmf"] = q["prior_lef"] = False
            q["baseline_prednisone_mg"] = rules.prednisone_cut / 2  # below the refractoriness dose
        elif kind == "follow_up":
            months = (0, 1, 3, 6)
        # re-fit the course to the (possibly reduced) history: nearest feasible totals
        mandatory, items = _allowed_items(q)
        base = sum(rules.weights[x] for x in mandatory)
        reach0 = _sums([x for x in items if x not in mandatory], rules.weights, base)
        floor0 = rules.min_baseline_sledai
        if kind == "sledai":
            ok0 = np.flatnonzero(reach0[:floor0])
            if len(ok0) == 0:  # drop baseline symptoms until the baseline score can be < 8
                for flag in ("vasculitis", "fever", "alopecia", "oral_ulcers", "rash", "anti_dsdna", "serositis",
                             "low_complement"):
                    q[flag] = False
                mandatory, items = _allowed_items(q)
                base = sum(rules.weights[x] for x in mandatory)
                reach0 = _sums([x for x in items if x not in mandatory], rules.weights, base)
                ok0 = np.flatnonzero(reach0[:floor0])
            q["sledai"][0] = int(ok0[-1])
        else:
            ok0 = np.flatnonzero(reach0)
            ok0 = ok0[ok0 >= floor0] if (ok0 >= floor0).any() else ok0
            q["sledai"][0] = int(ok0[np.argmin(np.abs(ok0 - q["sledai"][0]))])
        reach = np.flatnonzero(_sums(items, rules.weights))
        major = _reach_with_major(items, rules.weights, rules.major)
        for m in FOLLOW_UP:
            cand = [x for x in reach if x > rules.lda_sledai_max or major[x]] or [0]
            cand = np.array(cand)
            q["sledai"][m] = int(cand[np.argmin(np.abs(cand - min(q["sledai"][m], q["sledai"][0])))])
        q["key"] = pid
        out_p.append(q)
        out_v.extend(_build_visits(q, rules, rng, months))
    return out_p, out_v


def _dates_and_follow_up(people, rules: _Rules, rng):
    start, end = rules.window
    span = (end - start).days
    for p in people:
        kind = p.get("screen", "")
        if kind == "date_before":
            date = start - pd.Timedelta(days=int(rng.integers(20, 200)))
        elif kind == "date_after":
            date = end + pd.Timedelta(days=int(rng.integers(15, 150)))
        else:
            date = start + pd.Timedelta(days=int(rng.integers(0, span + 1)))
        p["first_infusion_date"] = date
        if kind == "follow_up":  # lost to follow-up after the month-6 visit
            p["follow_up_months"] = float(rng.integers(6, rules.min_follow_up_months))
        else:
            p["follow_up_months"] = float(max(rules.min_follow_up_months, (EXTRACT_DATE - date).days // 30))


def _patients_frame(people) -> pd.DataFrame:
    cols = [v.name for v in variables("patients")]
    rows = []
    for p in people:
        row = {c: p.get(c) for c in cols}
        row["patient_id"] = p["key"]
        row["sex"] = "F" if p["female"] else "M"
        row["msc_source"] = "UC" if p["uc"] else "BM"
        row["cyc_induction_dose_g"] = p["cyc_induction_dose_g"] if p["cyc_induced"] else None
        row["ln_class"] = p["ln_class"] or None
        rows.append(row)
    return pd.DataFrame(rows, columns=cols)


def _finalise(patients: pd.DataFrame, visits: pd.DataFrame):
    """Pseudonymous ids in a random-looking but seeded order, sorted rows, contract column order."""
    pcols = [v.name for v in variables("patients")]
    vcols = [v.name for v in variables("visits")]
    patients = patients[pcols].sort_values("patient_id", kind="stable").reset_index(drop=True)
    visits = visits[vcols].sort_values(["patient_id", "month"], kind="stable").reset_index(drop=True)
    return patients, visits


def _resample(patients: pd.DataFrame, visits: pd.DataFrame, n: int, rules: _Rules, rng) -> tuple:
    """N screened patients drawn with replacement from the reconstruction (vectorised).

    Each draw keeps its donor's history and visits; age, SLE duration and the infusion date are
    jittered without moving the patient across an eligibility threshold, so the eligible share and
    the response rates stay those of the reconstruction.
    """
    donor = rng.integers(0, len(patients), n)
    out = patients.iloc[donor].reset_index(drop=True)
    ids = pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(len(str(n)))
    out["patient_id"] = ("S" + ids).to_numpy()
    age = out["age_years"].to_numpy(float)
    adult = age > rules.min_age_exclusive
    jittered = age + rng.integers(-2, 3, n)
    out["age_years"] = np.where(adult, np.maximum(jittered, rules.min_age_exclusive + 1), age)
    dur = out["sle_duration_months"].to_numpy(float) + rng.integers(-6, 7, n)
    cap = (out["age_years"].to_numpy(float) - MIN_ONSET_AGE) * 12
    out["sle_duration_months"] = np.clip(dur, 1, np.maximum(cap, 1))
    dates = pd.to_datetime(out["first_infusion_date"])
    start, end = rules.window
    inside = (dates >= start) & (dates <= end)
    moved = dates + pd.to_timedelta(rng.integers(-45, 46, n), unit="D")
    moved = moved.where((moved >= start) & (moved <= end), dates)
    out["first_infusion_date"] = moved.where(inside, dates)
    # visits of each donor, gathered by position (no per-patient loop)
    order = visits["patient_id"].map({pid: k for k, pid in enumerate(patients["patient_id"])}).to_numpy()
    counts = np.bincount(order, minlength=len(patients))
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    visits_sorted = visits.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)
    cnt = counts[donor]
    first = np.repeat(offsets[donor], cnt)
    within = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    v = visits_sorted.iloc[first + within].reset_index(drop=True)
    v["patient_id"] = np.repeat(out["patient_id"].to_numpy(), cnt)
    return out, v


# ----------------------------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------------------------
def write_synthetic(extract: SyntheticExtract, out: str | Path) -> Path:
    """Write ``patients.csv`` and ``visits.csv`` in the contract's canonical format, and ``manifest.json``."""
    out = Path(out)
    write_cohort(Cohort(extract.patients, extract.visits), out)
    (out / "manifest.json").write_text(json.dumps(extract.manifest, indent=2, sort_keys=True) + "\n")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m msc_sle.tools.synthetic",
                                     description="Generate the SYNTHETIC MSC-SLE cohort (seeded, byte-identical).")
    parser.add_argument("--out", required=True, help="output folder (e.g. data/synthetic)")
    parser.add_argument("--patients", type=int, default=None,
                        help="screened patients; default: the reconstruction of the paper's cohort")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    ex = generate_synthetic(args.out, patients=args.patients, seed=args.seed)
    print(f"SYNTHETIC cohort: {len(ex.patients)} screened patients, {len(ex.visits)} visits -> {args.out} "
          f"({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
