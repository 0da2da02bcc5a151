"""The outsider recovery reader: an attacker with nothing but the files of a `make share` bundle
(docs/disclosure.md, "The recovery test").

It extends the relations of ``disclosure_reader.Reader`` (totals, group sizes, the two groups,
percentages to their rounding, running totals, completeness, rates, cumulative counts) with the
channels an outside attacker used against issue 22's bundles, each tagged so that the report says
which channel pins which cell:

- ``n_applicable``: ``g1_n_applicable`` / ``g2_n_applicable`` printed on every row of Table 2's data
  file: for a variable that applies to everyone it is the group size;
- ``visits``: "76 patients, 379 visits" (pages, provenance.json) = the visits seen per scheduled
  visit of the completeness table, added up;
- ``footnote``: "constant variable (every recorded value is X)": X's count is the n recorded;
- ``omitted``: a level of a variable whose table lists every level (no ``show_level`` in the
  dictionary) that is not listed is a level nobody has: 0;
- ``order``: a median, type-6 quartile, minimum or maximum printed beside a count of values below a
  cut-off in the same group (prednisone < 20 mg; SLEDAI-2K per visit against the LDA / CR cut-offs,
  which bound the responders of that visit): a statistic below the cut-off means at least its
  rank are below it, one at or above means fewer than its rank;
- ``parity``: the median of integer data ending in .5 means an even n; a quartile ending in .25 or
  .75 too, one ending in .5 that n is not 3 modulo 4;
- ``pq``: each withheld p-value of Table 2 lies among those of the tables the linear system still
  allows (the test printed for the row, computed with scipy); the Benjamini-Hochberg q-values
  printed to full precision give the rank of the printed p-values they are attained at (so how many
  withheld p-values lie below each) and, when attained at a withheld one, its value (q r / m): the
  tables whose p fits nowhere are dropped.

Each unknown count's smallest and largest value is found by integer programming
(``scipy.optimize.milp``). Nothing here imports the workbook's protection code.
"""
from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

from disclosure_reader import COUNT, Reader, _text
from msc_sle.contract import load_dictionary

LINEAR = "linear"
CHANNELS = ("n_applicable", "visits", "footnote", "omitted", "order", "parity", "pq")
_STAT_RANK = {   # position of each printed statistic among n sorted values, as (a, b): a + b * n
    "min": (Fraction(1), Fraction(0)), "max": (Fraction(0), Fraction(1)),
    "median": (Fraction(1, 2), Fraction(1, 2)), "q1": (Fraction(1, 4), Fraction(1, 4)),
    "q3": (Fraction(3, 4), Fraction(3, 4)),
}
_STAT_COLUMNS = ("median", "q1", "q3", "min", "max")


@dataclass
class Outcome:
    """What the reader worked out: the bounds of every unknown, with the channel that pinned it."""
    cohort: str
    bounds: dict                    # key -> (lo, hi) with every channel
    pinned: dict                    # key -> (value, channel) for withheld / never-printed sensitive cells
    classes: dict                   # key -> "<5" | "[c]" | "hidden"
    values: dict                    # key -> printed value
    unknowns: int = 0
    notes: list = field(default_factory=list)

    def summary(self) -> str:
        by = {}
        for _, (_, ch) in self.pinned.items():
            by[ch] = by.get(ch, 0) + 1
        cls = {}
        for k in self.pinned:
            cls[self.classes[k]] = cls.get(self.classes[k], 0) + 1
        n = {c: sum(v == c for v in self.classes.values()) for c in ("<5", "[c]", "hidden")}
        return (f"{self.cohort}: {self.unknowns} unknown counts ({n['<5']} '<5', {n['[c]']} '[c]', "
                f"{n['hidden']} never printed); pinned {len(self.pinned)} "
                f"({', '.join(f'{c} {cls.get(c, 0)}' for c in ('<5', '[c]', 'hidden'))}); by channel: "
                + ", ".join(f"{c} {by[c]}" for c in sorted(by)))


class OutsiderReader(Reader):
    def __init__(self, min_count: int = 5, zero: bool = True):
        super().__init__(min_count, zero)
        self.channel = LINEAR
        self.rels: list[tuple[dict, float, float, str]] = []   # terms, lower, upper, channel
        self.aux: dict[tuple, tuple[float, float]] = {}
        self.dictionary = load_dictionary().drop_duplicates("name").set_index("name")
        self.continuous: list[dict] = []      # printed order statistics: col, var, stats, n key
        self.cuts: dict = {}                  # threshold counts: (col, var, level) -> ...
        self.params: dict = {}
        self.p_rows: list[dict] = []          # Table 2 rows with a test
        self.flagged, self.withheld_p, self.withheld_effects = [], set(), set()
        self.order_pairs: list = []

    def cell(self, key, text=None, kind=COUNT, where="", hidden=False) -> tuple:
        # an empty cell (the reproduction's "not computed") prints nothing about the count
        if text is not None and _text(text) in ("", "nan"):
            text = None
        # the reproduction prints "[c]" also for a level nobody has (a zero the pages leave out), so
        # there it does not mean "at least t": the reader takes nothing from it
        if where.startswith("reproduction") and _text(text) == "[c]":
            text = None
        return super().cell(key, text, kind, where, hidden)

    # ------------------------------------------------------------------ relations, tagged
    def eq(self, terms: dict, total: float = 0.0):
        t = {k: float(v) for k, v in terms.items()}
        self.eqs.append((t, float(total)))
        self.rels.append((t, float(total), float(total), self.channel))

    def le(self, terms: dict, bound: float):
        t = {k: float(v) for k, v in terms.items()}
        self.les.append((t, float(bound)))
        self.rels.append((t, -np.inf, float(bound), self.channel))

    def tagged(self, channel, fn, *args):
        old, self.channel = self.channel, channel
        try:
            return fn(*args)
        finally:
            self.channel = old

    def aux_var(self, key, lo=0, hi=np.inf):
        self.aux[key] = (lo, hi)
        return key

    # ------------------------------------------------------------------ families, extended
    def _variable_cells(self, col, var, rows, prefix, size_key, where):
        keys = super()._variable_cells(col, var, rows, prefix, size_key, where)
        first = rows.iloc[0]
        applicable = f"{prefix}_n_applicable"
        if not first.get("applies_to", "") and applicable in first and _text(first[applicable]):
            # printed on every row: for a variable of every patient it is the group size
            na = self.cell(("n_applicable", col, var), first[applicable], COUNT, where)
            self.tagged("n_applicable", self.eq, {na: 1, size_key: -1})
        if first["type"] == "categorical" and var in self.dictionary.index:
            info = self.dictionary.loc[var]
            allowed = self.levels.get(var) or []
            listed = {lv for lv in rows["level"] if lv not in ("", "nan")}
            if info["type"] == "category" and not _text(info["show_level"]) and listed:
                for lv in allowed:
                    if lv not in listed:   # every level is listed unless nobody has it
                        self.tagged("omitted", self.eq, {("count", col, var, lv): 1})
            for lv in listed:
                m = re.match(r"^(<|>=|≥)\s*([\d.]+)", lv)
                if m:
                    self.cuts[(col, var, lv)] = (m.group(1), float(m.group(2)))
        if first["type"] == "continuous":
            stats = {s: _num(first.get(f"{prefix}_{s}")) for s in _STAT_COLUMNS}
            self.continuous.append({"col": col, "var": var, "stats": stats, "n": ("n_valid", col, var)})
        return keys

    def _comparison(self, f, name, grouping, cross=True):
        super()._comparison(f, name, grouping, cross)
        self.grouping = grouping
        for var, rows in f.groupby("variable", sort=False):
            r = rows.iloc[0]
            said = " | ".join(_text(r.get(c, "")) for c in ("test", "note"))
            m = re.search(r"every recorded value is ([^)]+)\)|not testable: (all patients had it|no patient had it|"
                          r"all patients: ([^|]+?))(?: \||$)", said)
            if m:
                # the footnote under the table: every recorded value of the row is one level
                value = m.group(1) or m.group(3) or ("True" if m.group(2) == "all patients had it" else "False")
                value = {"yes": "True", "no": "False"}.get(value, value)
                for p in ("g1", "g2"):
                    col = (grouping, r[f"{p}_group"])
                    self.tagged("footnote", self.eq, {("count", col, var, value): 1, ("n_valid", col, var): -1})
            if _text(r.get("test", "")) and _text(r.get("p_value", "")):
                self.p_rows.append({"var": var, "rows": rows, "test": r["test"], "p": r["p_value"],
                                    "q": _text(r.get("q_value", "")), "q_method": _text(r.get("q_method", "")),
                                    "family": _text(r.get("q_family", "")),
                                    "groups": (r["g1_group"], r["g2_group"]), "type": r["type"]})

    def _sledai(self, f, name):
        super()._sledai(f, name)
        for r in f.to_dict("records"):
            stats = {s: _num(r.get(s)) for s in _STAT_COLUMNS}
            month = _month(r["time"])
            if month is not None:
                self.continuous.append({"col": "all", "var": f"sledai_m{month}", "stats": stats,
                                        "n": ("scored", r["time"])})

    def _reproduction(self, f, name):
        super()._reproduction(f, name)
        # medians and ranges the reproduction prints (also of groupings no table of the bundle shows)
        self.repro_stats = {}
        for r in f.to_dict("records"):
            v = _num(r["computed"]) if r["statistic"] in _STAT_COLUMNS else None
            if v is None:
                continue
            col = "all" if r["group"] == "all" else (f"{r['outcome']}_ever", str(r["group"] == "with"))
            self.repro_stats.setdefault((col, r["variable"]), {})[r["statistic"]] = v

    def _repro_continuous(self):
        shown = {(c["col"], c["var"]) for c in self.continuous}
        for (col, var), stats in getattr(self, "repro_stats", {}).items():
            if (col, var) in shown:
                continue
            if var == "cyc_induction_dose_g":
                n = ("n_valid", col, "cyc_induction_dose_group")   # the doses the dose groups split
            else:
                n = ("n_valid", col, var)
            if n not in self.cells:
                self.cell(n, None, COUNT, hidden=True)
                size = ("N",) if col == "all" else ("count", "all", col[0], col[1])
                if size in self.cells:
                    self.tagged("order", self.le, {n: 1, size: -1}, 0)
            self.continuous.append({"col": col, "var": var, "stats": {s: stats.get(s) for s in _STAT_COLUMNS},
                                    "n": n})

    # ------------------------------------------------------------------ files the base reader skips
    def read_everything(self, out: Path, outcome: str = "cr"):
        out = Path(out)
        path = out / "provenance.json"
        prov = json.loads(path.read_text()) if path.exists() else {}
        self.params = prov.get("parameters", {})
        texts = [json.dumps(prov)]
        for page in sorted((out / "html").glob("*.html")):
            texts.append(re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8")))
        for docx in sorted((out / "tables").glob("*.docx")):
            texts.append(_docx_text(docx))
            data = out / "tables" / f"{docx.stem}.data.csv"
            if data.exists():   # every count of the Word table is one of the data file's
                frame = pd.read_csv(data, dtype=str, keep_default_na=False)
                self._printed_within(frame, _docx_rows(docx), docx.name)
            self.files.append(docx.name)
        self.files.append("provenance.json")
        totals = set()
        for t in texts:
            for m in re.finditer(r"(\d+) patients, (\d+) visits", t):
                totals.add((int(m.group(1)), int(m.group(2))))
        if str(prov.get("visits", "")).isdigit() and str(prov.get("patients", "")).isdigit():
            totals.add((int(prov["patients"]), int(prov["visits"])))   # a withheld total reads "[c]"
        for patients, visits in totals:
            self.cell(("extract",), str(patients), COUNT, "provenance")
            seen = [k for k in self.cells if k[0] == "seen"]
            if seen:
                self.tagged("visits", self.eq, {k: 1 for k in seen}, visits)
        self._repro_continuous()
        self._order_relations()

    def _order_relations(self):
        """Order statistics against the counts below a cut-off, and the parity of n."""
        integer = {n for n, t in self.dictionary["type"].items() if t == "integer"}
        cut_of = {}   # continuous variable -> (count variable, cut-off) of the same quantity
        for (col, var, lv), (op, cut) in self.cuts.items():
            if var == "prednisone_dose_group":
                cut_of[(col, "baseline_prednisone_mg")] = (var, lv, op, cut)
            elif var == "cyc_induction_dose_group":
                cut_of[(col, "cyc_induction_dose_g")] = (var, lv, op, cut)
        for c in self.continuous:
            col, var, stats, n = c["col"], c["var"], c["stats"], c["n"]
            if n not in self.cells:
                continue
            if (col, var) in cut_of:
                cvar, lv, op, cut = cut_of[(col, var)]
                key = ("count", col, cvar, lv)
                # "<cut" counts values below the cut; ">=cut" the others (n - below)
                below = key if op == "<" else ("below", col, cvar, cut)
                if op != "<":
                    self.tagged("order", self.eq, {below: 1, key: 1, n: -1})
                self._order(below, n, stats, cut, strict=True)
            if var.startswith("sledai_m"):
                month = int(var[len("sledai_m"):])
                for resp, par in (("LDA", "lda_sledai_max"), ("CR", "cr_sledai_max")):
                    if par not in self.params or month == 0:
                        continue
                    cut = float(self.params[par])
                    at_most = self.cell(("sledai<=", col, month, cut), None, COUNT, hidden=True)
                    self.tagged("order", self.le, {at_most: 1, n: -1}, 0)
                    self._order(at_most, n, stats, cut, strict=False)
                    met = ("met", resp, month)
                    if col == "all" and met in self.cells:
                        self.tagged("order", self.le, {met: 1, at_most: -1}, 0)
                    if col == (f"{resp.lower()}_ever", "True") and met in self.cells:
                        self.tagged("order", self.le, {met: 1, at_most: -1}, 0)
            if var in integer or var.startswith("sledai_m"):
                self._parity(n, stats, (col, var))
        # a count below the cut-off in the whole table is the two groups' (the groups' own cells)
        for key in [k for k in self.cells if k[0] == "sledai<=" and k[1] == "all"]:
            parts = [("sledai<=", (g, v)) + key[2:] for g, v in
                     [(getattr(self, "grouping", ""), "True"), (getattr(self, "grouping", ""), "False")]]
            if all(p in self.cells for p in parts):
                self.tagged("order", self.eq, {key: 1, parts[0]: -1, parts[1]: -1})

    def _order(self, count, n, stats, cut, strict: bool):
        """``count`` = values < cut (strict) or <= cut among ``n``; a type-6 statistic at rank
        p = a + b n: below the cut -> count > p - 1; at or above it -> count < p."""
        self.cell(count, None, COUNT, hidden=True)
        self.order_pairs.append((count, n, stats, cut, strict))
        for s, v in stats.items():
            if v is None:
                continue
            a, b = _STAT_RANK[s]
            d = 4 if s in ("q1", "q3") else 2 if s == "median" else 1
            below = v < cut if strict else v <= cut
            if below:   # d*count >= d*p - d + 1
                self.tagged("order", self.le, {count: -d, n: float(d * b)}, float(d - 1 - d * a))
            else:       # d*count <= d*p - 1
                self.tagged("order", self.le, {count: d, n: -float(d * b)}, float(d * a - 1))

    def order_extra(self, bounds: dict) -> list:
        """The order statistics read together, for each n the relations allow: the minimum is the
        first value, the maximum the last, a type-6 statistic at a whole rank is that value, and one
        between two ranks gives the second when the first is known (x_j + g (x_j+1 - x_j)). The
        values known below or above the cut-off bound its count; over every n, the widest bounds."""
        extra = []
        for count, n, stats, cut, strict in self.order_pairs:
            if n in self.cells and self.cells[n].value is not None:
                ns = [self.cells[n].value]
            else:
                lo, hi = bounds.get(n, (0, np.inf))
                if not np.isfinite(hi) or hi - lo > 300:
                    continue
                ns = range(int(lo), int(hi) + 1)
            ends = [e for e in (_count_bounds(k, stats, cut, strict) for k in ns if k > 0) if e]
            if not ends:
                continue
            lo_c, hi_c = min(e[0] for e in ends), max(e[1] for e in ends)
            extra.append(({count: 1.0}, float(lo_c), float(hi_c), "order"))
        return extra

    def _parity(self, n, stats, tag):
        med = stats.get("median")
        if med is not None and abs(med - round(med)) > 1e-9 and abs((med * 2) - round(med * 2)) < 1e-9:
            k = self.aux_var(("half", tag))
            self.tagged("parity", self.eq, {n: 1, k: -2})
        for s in ("q1", "q3"):
            v = stats.get(s)
            if v is None:
                continue
            frac = round((v - math.floor(v)) * 4) / 4
            if abs(v * 4 - round(v * 4)) > 1e-9 or frac == 0:
                continue
            if frac in (0.25, 0.75):
                k = self.aux_var(("even", s, tag))
                self.tagged("parity", self.eq, {n: 1, k: -2})
            else:
                k, r = self.aux_var(("four", s, tag)), self.aux_var(("rest", s, tag), 0, 2)
                self.tagged("parity", self.eq, {n: 1, k: -4, r: -1})

    # ------------------------------------------------------------------ solving, per channel
    def solve(self):
        """The base reader's own solve at the end of ``read_bundle``: replaced by ``bounds``."""
        return None

    def unknown_keys(self):
        return [k for k, c in self.cells.items() if c.value is None]

    def cell_keys(self):
        """The unknowns that are counts of a table (not the reader's helpers: values below a cut-off)."""
        return [k for k in self.unknown_keys() if k[0] not in ("sledai<=", "below")]

    def bounds(self, channels, extra=(), keys=None) -> dict:
        from scipy.optimize import Bounds, LinearConstraint, milp

        rels = [r for r in self.rels if r[3] == LINEAR or r[3] in channels] + list(extra)
        unknown = self.unknown_keys() + [k for k in self.aux if k not in self.cells]
        index = {k: i for i, k in enumerate(unknown)}
        parent = list(range(len(unknown)))

        def find(i):
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for terms, *_ in rels:
            idx = [index[k] for k in terms if k in index]
            for a, b in zip(idx, idx[1:]):
                parent[find(a)] = find(b)
        comps = {}
        for k in unknown:
            comps.setdefault(find(index[k]), []).append(k)
        out = {}
        for comp in comps.values():
            ci = {k: i for i, k in enumerate(comp)}
            rows, lo_b, hi_b = [], [], []
            for terms, lo, hi, _ in rels:
                if not any(k in ci for k in terms):
                    continue
                row = np.zeros(len(comp))
                shift = 0.0
                for k, coef in terms.items():
                    if k in ci:
                        row[ci[k]] += coef
                    else:
                        shift += coef * self._known(k)
                rows.append(row)
                lo_b.append(lo - shift)
                hi_b.append(hi - shift)
            lb = np.array([self._lo_hi(k)[0] for k in comp], float)
            ub = np.array([self._lo_hi(k)[1] for k in comp], float)
            cons = [LinearConstraint(np.array(rows), np.array(lo_b) - 1e-7, np.array(hi_b) + 1e-7)] if rows else []
            targets = [k for k in comp if (keys is None or k in keys) and not (k in self.aux and k not in self.cells)]
            if not targets:
                continue
            for k in targets:
                ends = []
                for sign in (1.0, -1.0):
                    obj = np.zeros(len(comp))
                    obj[ci[k]] = sign
                    res = milp(obj, integrality=np.ones(len(comp)), bounds=Bounds(lb, ub), constraints=cons)
                    if res.status == 2:
                        raise AssertionError(f"{k}: the relations of channels {sorted(channels)} are inconsistent")
                    ends.append(np.inf * -sign if res.x is None else round(float(res.x[ci[k]])))
                out[k] = tuple(ends)
        return out

    def _known(self, k):
        c = self.cells.get(k)
        if c is None or c.value is None:
            raise AssertionError(f"{k} is neither known nor an unknown")
        return c.value

    def _lo_hi(self, k):
        if k in self.aux and k not in self.cells:
            return self.aux[k]
        return self._bounds(self.cells[k])

    def klass(self, k) -> str:
        c = self.cells[k]
        return self.small if self.small in c.marks else "[c]" if c.marks else "hidden"

    def is_pinned(self, k, b) -> bool:
        lo, hi = b
        if lo != hi:
            return False
        c = self.cells[k]
        return bool(c.marks) or self.sensitive(int(lo), c.kind)

    # ------------------------------------------------------------------ the p/q channel
    def pq_channel(self, bounds: dict) -> dict:
        """Withheld p-values of Table 2: the tables the linear system allows, their p with the row's
        test, kept where the printed Benjamini-Hochberg q-values leave room for that p (per family)."""
        self._sys = None
        rows = self.p_rows
        if not rows:
            return []
        extra = []
        for fam in dict.fromkeys(r["family"] for r in rows if r["q_method"] == "bh"):
            extra += self._pq_family([r for r in rows if r["q_method"] == "bh" and r["family"] == fam], bounds)
        return extra

    def _pq_family(self, family, bounds):
        """One q-value family. A printed q equal to its own p times m / r (to full precision) is
        attained at its own rank r: r - (printed p-values at most p) withheld p-values lie below
        it. Each withheld p must fall where these counts leave room for it (a matching of the
        withheld rows to the gaps between such p-values), which discards the tables whose p does not."""
        from scipy.optimize import linear_sum_assignment

        m = len(family)
        printed = [(_num(r["p"]), _num(r["q"])) for r in family]
        withheld = [i for i, (p, _) in enumerate(printed) if p is None]
        if not withheld:
            return []
        ps = sorted(p for p, _ in printed if p is not None)
        anchors = []   # (p, withheld p-values at most p)
        for p, q in printed:
            if p is None or q is None or q >= 1 or q <= 0:
                continue
            r = round(p * m / q)
            if r >= 1 and abs(p * m / r - q) <= 1e-9 * q:
                anchors.append((p, r - sum(x <= p * (1 + 1e-12) for x in ps)))
        anchors = sorted(set(anchors))
        if not anchors or any(b[1] < a[1] for a, b in zip(anchors, anchors[1:])) or anchors[-1][1] > len(withheld):
            return []
        # gaps: (anchor_{t-1}, anchor_t], each holding a known number of the withheld p-values
        edges = [a for a, _ in anchors]
        room = [anchors[0][1]] + [b[1] - a[1] for a, b in zip(anchors, anchors[1:])] + [len(withheld) - anchors[-1][1]]

        def gap(v):
            return next((t for t, e in enumerate(edges) if v <= e * (1 + 1e-12)), len(edges))

        cands = {i: self._candidate_tables(family[i], bounds) for i in withheld}
        for i in withheld:   # a q printed beside a withheld p bounds it: p <= q
            q = printed[i][1]
            if q is not None and cands[i] is not None:
                cands[i] = [(p, t) for p, t in cands[i] if p <= q * (1 + 1e-9)]
        # a printed q that is no printed p's own term (p m / r) nor an anchor's q is the term of a
        # withheld p: p = q j / m for some rank j; when one withheld row alone has tables giving
        # such a p, those are its tables
        anchor_q = [q for p, q in printed if p is not None and q is not None and
                    any(abs(p - a) <= 1e-12 * a for a, _ in anchors)]
        for p, q in printed:
            if p is None or q is None or q >= 1 or any(abs(p - a) <= 1e-12 * a for a, _ in anchors):
                continue
            if any(abs(q - aq) <= 1e-9 * q for aq in anchor_q):
                continue
            terms = [q * j / m for j in range(1, m + 1)]
            hits = {i: [(pv, t) for pv, t in cands[i] if any(abs(pv - x) <= 1e-9 * x for x in terms)]
                    for i in withheld if cands[i] is not None}
            hits = {i: h for i, h in hits.items() if h}
            if len(hits) == 1 and all(cands[i] is not None for i in withheld):
                (i, h), = hits.items()
                cands[i] = h
        allowed = {i: (set(range(len(room))) if cands[i] is None else
                       {gap(p) for p, _ in cands[i] if not math.isnan(p)}) for i in withheld}
        slots = [t for t, n in enumerate(room) for _ in range(n)]

        def matches(force_row, force_gap):
            cost = np.ones((len(withheld), len(slots)))
            for a, i in enumerate(withheld):
                ok = {force_gap} if i == force_row else allowed[i]
                for b, t in enumerate(slots):
                    if t in ok:
                        cost[a, b] = 0
            rows, cols = linear_sum_assignment(cost)
            return cost[rows, cols].sum() == 0

        self._debug = (anchors, room, allowed)
        if not matches(None, None):
            return []   # the reader's reading of the q-values does not hold: it learns nothing
        extra = []
        for i in withheld:
            if cands[i] is None:
                continue
            keep = {t for t in allowed[i] if matches(i, t)}
            tables = [tab for p, tab in cands[i] if not math.isnan(p) and gap(p) in keep]
            tables = list({tuple(sorted(t.items())): t for t in tables}.values())
            if not tables:
                continue
            for k in tables[0]:
                # the smallest and largest value among the tables the relations allow (asked lazily)
                ends = []
                for rev in (False, True):
                    ranked = sorted(tables, key=lambda t: t[k], reverse=rev)
                    ends.append(next((t[k] for t in ranked if self._feasible(t)), None))
                if ends[0] is not None:
                    extra.append(({k: 1.0}, float(ends[0]), float(ends[1]), "pq"))
        return extra

    def _candidate_tables(self, r, bounds):
        """(p, {cell: value}) for every 2 x 2 table of the row within the cells' bounds."""
        from scipy.stats import chi2_contingency, fisher_exact

        var, (g1, g2) = r["var"], r["groups"]
        if r["type"] != "categorical" or r["test"] not in ("fisher", "chi2", "chi2_yates"):
            return None
        listed = [lv for lv in r["rows"]["level"] if lv not in ("", "nan")]
        level = listed[0]
        grouping = self.grouping
        keys = [("count", (grouping, g1), var, level), ("n_valid", (grouping, g1), var),
                ("count", (grouping, g2), var, level), ("n_valid", (grouping, g2), var)]
        if len(self.levels.get(var) or ["", ""]) > 2 and len(listed) > 1:
            return self._candidate_levels(r, listed, bounds)
        ranges = []
        for k in keys:
            c = self.cells[k]
            if c.value is not None:
                ranges.append([c.value])
            else:
                lo, hi = bounds.get(k, (0, np.inf))
                if not np.isfinite(hi):
                    hi = self._known(("N",))
                ranges.append(range(int(lo), int(hi) + 1))
        if np.prod([len(x) for x in ranges], dtype=float) > 5e4:
            return None
        out = []
        cache = {}
        for a, n1, b, n2 in itertools.product(*ranges):
            if a > n1 or b > n2:
                continue
            t = (a, n1 - a, b, n2 - b)
            if t not in cache:
                table = [[a, b], [n1 - a, n2 - b]]
                if r["test"] == "fisher":
                    cache[t] = float(fisher_exact(table).pvalue)
                else:
                    if min(n1, n2) == 0 or min(a + b, n1 + n2 - a - b) == 0:
                        cache[t] = float("nan")
                    else:
                        cache[t] = float(chi2_contingency(table, correction=r["test"] == "chi2_yates").pvalue)
            out.append((cache[t], dict(zip(keys, (a, n1, b, n2)))))
        return out

    def _candidate_levels(self, r, listed, bounds):
        """(p, {cell: value}) for every levels x 2 table (Pearson's chi-square; the levels a table
        leaves out hold nobody, the levels nobody at all has are not tested)."""
        from scipy.stats import chi2_contingency

        if r["test"] != "chi2":
            return None   # Fisher-Freeman-Halton: no exact form in scipy
        var, groups = r["var"], r["groups"]
        keys = [("count", (self.grouping, g), var, lv) for lv in listed for g in groups]
        ranges = []
        for k in keys:
            c = self.cells[k]
            lo, hi = (c.value, c.value) if c.value is not None else bounds.get(k, (0, np.inf))
            if not np.isfinite(hi):
                return None
            ranges.append(range(int(lo), int(hi) + 1))
        if np.prod([len(x) for x in ranges], dtype=float) > 3e4:
            return None
        out = []
        for values in itertools.product(*ranges):
            table = np.array(values, float).reshape(len(listed), 2)
            table = table[table.sum(axis=1) > 0]
            if len(table) < 2 or (table.sum(axis=0) == 0).any():
                continue
            p = float(chi2_contingency(table, correction=False).pvalue)
            fix = dict(zip(keys, values))
            for g, col in zip(groups, table.sum(axis=0) if len(table) else (0, 0)):
                fix[("n_valid", (self.grouping, g), var)] = int(sum(v for k, v in zip(keys, values) if k[1][1] == g))
            out.append((p, fix))
        return out

    def _system(self):
        """Every relation as one matrix over the unknowns, split into independent components
        (built once per reading; the p/q channel asks many feasibility questions of it)."""
        if getattr(self, "_sys", None) is not None:
            return self._sys
        free = self.unknown_keys() + [k for k in self.aux if k not in self.cells]
        ci = {k: i for i, k in enumerate(free)}
        parent = list(range(len(free)))

        def find(i):
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        rows = []
        for terms, lo, hi, _ in self.rels:
            idx = [ci[k] for k in terms if k in ci]
            if not idx:
                continue
            for a, b in zip(idx, idx[1:]):
                parent[find(a)] = find(b)
            shift = sum(coef * self._known(k) for k, coef in terms.items() if k not in ci)
            rows.append(({ci[k]: coef for k, coef in terms.items() if k in ci}, lo - shift, hi - shift))
        comps = {}
        for i in range(len(free)):
            comps.setdefault(find(i), []).append(i)
        systems = {}
        for root, members in comps.items():
            local = {g: j for j, g in enumerate(members)}
            mine = [r for r in rows if find(next(iter(r[0]))) == root]
            a = np.zeros((len(mine), len(members)))
            for n, (terms, _, _) in enumerate(mine):
                for g, coef in terms.items():
                    a[n, local[g]] += coef
            systems[root] = (local, a, np.array([r[1] for r in mine]), np.array([r[2] for r in mine]),
                             np.array([self._lo_hi(free[g])[0] for g in members], float),
                             np.array([self._lo_hi(free[g])[1] for g in members], float))
        self._sys = (ci, find, systems, {})
        return self._sys

    def _feasible(self, fix: dict) -> bool:
        """Whether the relations allow these values of the cells at once."""
        from scipy.optimize import Bounds, LinearConstraint, milp

        ci, find, systems, cache = self._system()
        fixed = {ci[k]: v for k, v in fix.items() if k in ci}
        key = tuple(sorted(fixed.items()))
        if key in cache:
            return cache[key]
        ok = True
        for root in {find(g) for g in fixed}:
            local, a, lo, hi, lb, ub = systems[root]
            lb, ub = lb.copy(), ub.copy()
            for g, v in fixed.items():
                if find(g) == root:
                    if not lb[local[g]] <= v <= ub[local[g]]:
                        ok = False
                    lb[local[g]] = ub[local[g]] = v
            if not ok:
                break
            cons = [LinearConstraint(a, lo - 1e-7, hi + 1e-7)] if len(a) else []
            res = milp(np.zeros(len(lb)), integrality=np.ones(len(lb)), bounds=Bounds(lb, ub), constraints=cons)
            if res.status != 0:
                ok = False
                break
        cache[key] = ok
        return ok


def _count_bounds(n: int, stats: dict, cut: float, strict: bool) -> tuple[int, int]:
    """Smallest and largest number of the n sorted values below ``cut`` (``strict``) or at most
    ``cut`` that the printed order statistics allow."""
    exact, upper, lower = {}, {}, {}   # rank -> value; rank -> value it is at most / at least
    interp = []
    for s, v in stats.items():
        if v is None:
            continue
        if s == "min":
            exact[1] = v
            continue
        if s == "max":
            exact[n] = v
            continue
        a, b = _STAT_RANK[s]
        p = float(a + b * n)
        if p <= 1:
            exact[1] = v
        elif p >= n:
            exact[n] = v
        else:
            j = int(math.floor(p))
            g = p - j
            if g == 0:
                exact[j] = v
            else:
                interp.append((j, g, v))
    for _ in range(3):
        for j, g, v in interp:
            if j in exact and j + 1 not in exact:
                exact[j + 1] = exact[j] + (v - exact[j]) / g
            elif j + 1 in exact and j not in exact:
                exact[j] = (v - g * exact[j + 1]) / (1 - g)
    for j, g, v in interp:
        upper[j] = min(upper.get(j, np.inf), v)
        lower[j + 1] = max(lower.get(j + 1, -np.inf), v)
    tol = 1e-9 * max(1.0, abs(cut))

    def below(x):
        return x < cut - tol if strict else x <= cut + tol

    def above(x):   # not counted
        return x >= cut - tol if strict else x > cut + tol

    lo, hi = 0, n
    for k, x in exact.items():
        if below(x):
            lo = max(lo, k)
        elif above(x):
            hi = min(hi, k - 1)
    for k, x in upper.items():
        if below(x):   # x_k <= x < cut
            lo = max(lo, k)
    for k, x in lower.items():
        if above(x):   # cut <= x <= x_k (or cut < x)
            hi = min(hi, k - 1)
    return (lo, hi) if lo <= hi else None   # None: the statistics rule this n out


def _num(v):
    t = _text(v)
    try:
        f = float(t)
    except ValueError:
        return None
    return None if math.isnan(f) else f


def _month(label: str):
    if "baseline" in label.lower():
        return 0
    m = re.search(r"(\d+)\s*$", label)
    return int(m.group(1)) if m else None


def _docx_text(path: Path) -> str:
    import docx

    d = docx.Document(str(path))
    parts = [p.text for p in d.paragraphs]
    for t in d.tables:
        for row in t.rows:
            parts.append(" | ".join(c.text for c in row.cells))
    return "\n".join(parts)


def _docx_rows(path: Path) -> list:
    import docx

    return [[c.text for c in row.cells] for t in docx.Document(str(path)).tables for row in t.rows]


def attack(out, cohort: str = "", min_count: int = 5, zero: bool = True, outcome: str = "cr",
           channels=CHANNELS) -> Outcome:
    """Everything the reader pins in the bundle ``out``: each pinned withheld or never-printed small
    count with the channel that pins it (``linear`` when the base relations alone do; a channel
    when that channel with the base relations does; ``combined`` when only all channels together do)."""
    reader = OutsiderReader(min_count, zero)
    reader.files_dir = Path(out) / "tables"
    reader.read_bundle(out, outcome)
    reader.read_everything(out, outcome)
    unknown = reader.cell_keys()
    base = reader.bounds(())
    everything = reader.bounds(tuple(c for c in channels if c != "pq"))
    extra = []
    for _ in range(3):   # what one channel narrows, another may use: until nothing changes
        more = (reader.order_extra(everything) if "order" in channels else []) + \
            (reader.pq_channel(everything) if "pq" in channels else [])
        if sorted(map(repr, more)) == sorted(map(repr, extra)):
            break
        extra = more
        everything = reader.bounds(tuple(channels), extra)
    # which channel pins a cell the base relations leave open: each channel alone with the base
    open_ = {k for k in unknown if k in everything and reader.is_pinned(k, everything[k])
             and not reader.is_pinned(k, base.get(k, (0, 1)))}
    per = {ch: reader.bounds((ch,), [e for e in extra if e[3] == ch], keys=open_) for ch in channels}
    pinned = {}
    for k in unknown:
        if k not in everything or not reader.is_pinned(k, everything[k]):
            continue
        if reader.is_pinned(k, base.get(k, (0, 1))):
            ch = LINEAR
        else:
            ch = next((c for c in per if reader.is_pinned(k, per[c].get(k, (0, 1)))), "combined")
        pinned[k] = (int(everything[k][0]), ch)
    classes = {k: reader.klass(k) for k in unknown}
    values = {k: c.value for k, c in reader.cells.items() if c.value is not None}
    return Outcome(cohort, everything, pinned, classes, values, len(unknown))


def truth(run_out, outcome: str = "cr") -> dict:
    """Every count of the `make run` bundle of the same extract, by the reader's keys: the printed
    ones and those its relations fix (the "no" of a yes/no variable, ...)."""
    import tempfile

    reader = OutsiderReader(5, zero=False)
    with tempfile.TemporaryDirectory() as tmp:
        # make run holds the models page's tables too, which make share leaves out: read the rest
        view = Path(tmp)
        for item in Path(run_out).iterdir():
            if item.name != "tables":
                (view / item.name).symlink_to(item)
        (view / "tables").mkdir()
        for f in (Path(run_out) / "tables").iterdir():
            if not f.name.startswith("model_"):
                (view / "tables" / f.name).symlink_to(f)
        reader.files_dir = view / "tables"
        reader.read_bundle(view, outcome)
        reader.read_everything(view, outcome)
    values = {k: c.value for k, c in reader.cells.items() if c.value is not None}
    for k, (lo, hi) in reader.bounds(()).items():
        if lo == hi:
            values[k] = int(lo)
    return values
