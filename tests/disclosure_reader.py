"""A reader of a shared bundle who tries to recover every withheld count (tests/test_disclosure.py).

Written apart from ``msc_sle.workbook.disclosure`` on purpose: it knows only what the bundle's files
show and what a reader of ``docs/disclosure.md`` and ``data/dictionary.csv`` knows, and sets up the
relations such a reader would use:

- every table file (CSV, both XLSX sheets) and the tables and sentences of the HTML pages and the
  SVG figures are read; each count gets a key naming what it counts, the same key wherever the same
  count is printed (Table 1's CR count, Table 2's group size, the rates' "during the year", the
  cumulative month 12, the reproduction's CR n);
- a count printed as a number is known; ``"<5"`` lies in 0..4 (1..4 for missing-data counts, whose
  zeros are shown); ``"[c]"`` is at least 5; a count never printed (the "no" of a yes/no variable,
  the patients without a response, the levels a table leaves out) is unknown and >= 0;
- relations: levels add up to the patients with the value recorded, recorded + missing to the
  group, the two groups to Table 1, the group sizes to the cohort, attrition's running totals,
  reasons to exclusions, seen + not seen to the extract, a rate's n + not met + missing to the
  cohort, cumulative counts never decrease and grow at most by the month's responders, a printed
  percentage times its denominator is 100 times its count (to its rounding);
- each unknown's smallest and largest integer value is found by integer programming; a **leak** is
  an unknown count whose value is then fixed and small (1..4, or 0 for a count of patients), or a
  printed small count, or the same count printed in one place and withheld in another, or a
  percentage, p-value, statistic, effect size or q-value printed beside (computed from) a withheld
  count.
"""
from __future__ import annotations

import html as html_lib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from msc_sle.contract import load_dictionary

COUNT, MISSING = "count", "missing"
RESPONSES = {"LDA": "lda_ever", "CR": "cr_ever"}
_INT = re.compile(r"^\d+$")


@dataclass
class Cell:
    key: tuple
    kind: str
    value: int | None = None      # known value (printed as a number somewhere)
    marks: set = field(default_factory=set)   # markers it is printed with ("<5", "[c]")
    where: list = field(default_factory=list)


@dataclass
class Report:
    leaks: list
    unknowns: int
    small: int
    complementary: int
    hidden: int
    published: int
    files: list


class Reader:
    def __init__(self, min_count: int = 5, zero: bool = True):
        self.t = min_count
        self.zero = zero
        self.small = f"<{min_count}"
        self.cells: dict[tuple, Cell] = {}
        self.eqs: list[tuple[dict, float]] = []
        self.les: list[tuple[dict, float]] = []
        self.leaks: list[str] = []
        self.files: list[str] = []
        self.levels = _dictionary_levels()

    # ------------------------------------------------------------------ cells and relations
    def cell(self, key, text=None, kind=COUNT, where="", hidden=False) -> tuple:
        c = self.cells.setdefault(key, Cell(key, kind))
        if hidden or text is None:
            return key
        text = _text(text)
        if text in (self.small, "[c]"):
            c.marks.add(text)
            c.where.append(where)
        else:
            try:
                v = float(text)
            except ValueError:
                raise AssertionError(f"{where}: {key} printed as {text!r}") from None
            if not v.is_integer():
                raise AssertionError(f"{where}: {key} printed as {text!r}")
            v = int(v)
            if c.value is not None and c.value != v:
                self.leaks.append(f"{where}: {key} printed as {v} and elsewhere as {c.value}")
            c.value = v
            c.where.append(where)
        return key

    def eq(self, terms: dict, total: float = 0.0):
        self.eqs.append(({k: float(v) for k, v in terms.items()}, float(total)))

    def le(self, terms: dict, bound: float):
        self.les.append(({k: float(v) for k, v in terms.items()}, float(bound)))

    def percent(self, count, denominator, printed, where=""):
        """A printed percentage: 100 * count = pct * denominator, to the printed rounding."""
        text = _text(printed).rstrip("%")
        if text in ("", "nan", "None", "[c]"):
            return
        p = float(text)
        decimals = len(text.split(".")[1]) if "." in text else 0
        tol = 1e-6 if decimals > 6 else 0.5 * 10 ** -decimals
        self.le({count: 100, denominator: -(p + tol)}, 0)
        self.le({count: -100, denominator: p - tol}, 0)

    def sensitive(self, value: int, kind: str) -> bool:
        return 0 < value < self.t or (value == 0 and self.zero and kind == COUNT)

    def derived(self, where: str, printed, depends_on: list):
        """A value computed from counts (percentage, p, OR, ...): printed beside a withheld count is a leak."""
        if _text(printed) in ("", "nan", "[c]", "None", "–", "n.t."):
            return
        withheld = [k for k in depends_on if k in self.cells and self.cells[k].value is None and self.cells[k].marks]
        if withheld:
            self.leaks.append(f"{where}: {printed!r} printed, computed from withheld {withheld[0]}")

    # ------------------------------------------------------------------ solving
    def solve(self) -> Report:
        for k, c in self.cells.items():
            if c.value is not None and c.marks:
                self.leaks.append(f"{k}: withheld ({sorted(c.marks)}) in {c.where} but printed as {c.value}")
            if c.value is not None and self.sensitive(c.value, c.kind):
                self.leaks.append(f"{k}: small count {c.value} printed ({c.where})")
        unknown = [k for k, c in self.cells.items() if c.value is None]
        index = {k: i for i, k in enumerate(unknown)}
        parent = list(range(len(unknown)))

        def find(i):
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        rels = [(t, b, "eq") for t, b in self.eqs] + [(t, b, "le") for t, b in self.les]
        for terms, _, _ in rels:
            idx = [index[k] for k in terms if k in index]
            for a, b in zip(idx, idx[1:]):
                parent[find(a)] = find(b)
        comps: dict = {}
        for k in unknown:
            comps.setdefault(find(index[k]), []).append(k)
        for comp in comps.values():
            self._solve_component(comp, rels)
        counts = {"small": 0, "[c]": 0, "hidden": 0}
        for k in unknown:
            c = self.cells[k]
            counts["small" if self.small in c.marks else "[c]" if c.marks else "hidden"] += 1
        return Report(sorted(set(self.leaks)), len(unknown), counts["small"], counts["[c]"], counts["hidden"],
                      sum(c.value is not None for c in self.cells.values()), self.files)

    def _bounds(self, c: Cell):
        if self.small in c.marks:
            return (0 if self.zero and c.kind == COUNT else 1), self.t - 1
        if "[c]" in c.marks:
            return self.t, np.inf
        return 0, np.inf

    def _solve_component(self, comp, rels):
        from scipy.optimize import Bounds, LinearConstraint, milp

        index = {k: i for i, k in enumerate(comp)}
        rows, lo_b, hi_b = [], [], []
        for terms, bound, kind in rels:
            if not any(k in index for k in terms):
                continue
            row = np.zeros(len(comp))
            b = bound
            for k, coef in terms.items():
                if k in index:
                    row[index[k]] += coef
                else:
                    c = self.cells[k]
                    if c.value is None:
                        raise AssertionError(f"{k} unknown outside its component")
                    b -= coef * c.value
            rows.append(row)
            lo_b.append(b if kind == "eq" else -np.inf)
            hi_b.append(b)
        bounds = [self._bounds(self.cells[k]) for k in comp]
        lb = np.array([b[0] for b in bounds], float)
        ub = np.array([b[1] for b in bounds], float)
        cons = [LinearConstraint(np.array(rows), np.array(lo_b) - 1e-7, np.array(hi_b) + 1e-7)] if rows else []
        for k in comp:
            c = self.cells[k]
            ends = []
            for sign in (1.0, -1.0):
                obj = np.zeros(len(comp))
                obj[index[k]] = sign
                res = milp(obj, integrality=np.ones(len(comp)), bounds=Bounds(lb, ub), constraints=cons)
                if res.status == 2:
                    self.leaks.append(f"{k}: the published counts around it are inconsistent")
                    ends = None
                    break
                ends.append(np.inf * -sign if res.x is None else round(float(res.x[index[k]])))
            if not ends:
                continue
            lo, hi = ends
            if lo == hi:
                marked = self.small in c.marks
                if marked or (not c.marks and self.sensitive(int(lo), c.kind)):
                    self.leaks.append(f"{k} ({'<' if marked else 'unprinted'}) = {int(lo)} can be worked out")

    # ------------------------------------------------------------------ the bundle
    def read_bundle(self, out: Path, outcome: str = "cr") -> Report:
        out = Path(out)
        tables = out / "tables"
        readers = {   # in this order: later tables refer to counts the earlier ones register
            "table1_baseline": self._table_one,
            f"table2_{outcome}": lambda f, n: self._comparison(f, n, f"{outcome}_ever"),
            "response_rates": self._rates,
            "cumulative_response": self._cumulative,
            "visit_completeness": self._completeness,
            "attrition": self._attrition,
            "exclusion_reasons": self._reasons,
            "sledai_by_visit": self._sledai,
            "sledai_vs_baseline_wilcoxon": self._wilcoxon,
            "reproduction": self._reproduction,
            "reproduction_score": self._score,
            "paper_audit": lambda f, n: None,   # computed from the paper's numbers alone
            f"model_{outcome}": lambda f, n: None,   # odds ratios of a model of the whole cohort: no count
            f"prediction_model_{outcome}": lambda f, n: self._prediction(f, n, f"{outcome}_ever"),
            "model_sensitivity": self._models,
        }
        # page 08's tables (make run only; make share leaves the page out): pooled counts equal to the
        # single-site ones read above (tests/test_multicentre.py), so they add no truth to read
        not_read = {f"multicentre_{t}" for t in ("attrition", "table1", "table2", "rates")}
        unknown = [c.name for c in tables.glob("*.csv") if c.name.removesuffix(".data.csv").removesuffix(".csv")
                   not in readers and c.name.removesuffix(".data.csv").removesuffix(".csv") not in not_read]
        if unknown:
            raise AssertionError(f"the reader does not know the table(s) {unknown}: teach it their relations")
        for stem in readers:
            csv, data = tables / f"{stem}.csv", tables / f"{stem}.data.csv"
            if not csv.exists():
                continue
            # <stem>.data.csv: the numbers behind the table; <stem>.csv: the table as printed, every
            # count of which must be one of the numbers (so reading the numbers reads the page)
            frame = pd.read_csv(data, dtype=str, keep_default_na=False)
            self._same_as_xlsx(frame, tables / f"{stem}.xlsx", stem)
            printed = pd.read_csv(csv, dtype=str, keep_default_na=False)
            self._printed_within(frame, [printed.columns.tolist()] + printed.to_numpy().tolist(), f"{stem}.csv")
            readers[stem](frame, stem)
            self.files += [csv.name, data.name]
        for page in sorted((out / "html").glob("*.html")):
            self._page(page)
            self.files.append(page.name)
        for svg in sorted((out / "figures").glob("*.svg")):
            self._figure(svg)
            self.files.append(svg.name)
        for label, p, q in self.flagged:
            if label in self.withheld_p:
                self.leaks.append(f"04 page: p = {p} of {label!r} listed, which Table 2 withholds")
        return self.solve()

    def _same_as_xlsx(self, frame, xlsx: Path, stem):
        """The XLSX holds the same numbers: its data sheet (or only sheet) equals the CSV, and every
        number of its display sheet is one of the CSV's."""
        from openpyxl import load_workbook

        wb = load_workbook(xlsx, read_only=True)
        sheets = {n.removesuffix(" (SYNTHETIC)"): wb[n] for n in wb.sheetnames}  # a synthetic cohort's names
        sheet = sheets.get("data", wb[wb.sheetnames[0]])
        rows = [["" if v is None else _text(v) for v in r] for r in sheet.iter_rows(values_only=True)]
        if "data" in sheets:
            data = pd.DataFrame(rows[1:], columns=rows[0])
            assert list(data.columns) == list(frame.columns), stem
            for c in frame.columns:
                a = frame[c].map(_norm).tolist()
                b = data[c].map(_norm).tolist()
                assert a == b, f"{stem}.xlsx data sheet differs from the CSV in column {c}"
            self._printed_within(frame, sheets["table"].iter_rows(values_only=True), f"{stem}.xlsx")
        wb.close()

    @staticmethod
    def _printed_within(frame, rows, where):
        """Every count a printed table shows ("12 (17.4%)", "(n = 16)", a bare integer) is one of
        the numbers of its data file."""
        numbers = {_norm(v) for v in frame.to_numpy().ravel()}
        for r in rows:
            for v in r:
                for n in re.findall(r"^(\d+) \(|\(n = (\d+)\)|^(\d+)$", _text(v)):
                    n = next(x for x in n if x)
                    assert n in numbers or _norm(n) in numbers, f"{where} shows {n!r} ({v!r}) not in the data"

    # ------------------------------------------------------------------ families
    def _variable_cells(self, col, var, rows, prefix, size_key, where):
        """Counts of one variable in one column: levels, the unprinted rest, n_valid, missing."""
        first = rows.iloc[0]
        nv = self.cell(("n_valid", col, var), first[f"{prefix}_n_valid"], COUNT, where)
        ms = self.cell(("missing", col, var), first[f"{prefix}_missing"], MISSING, where)
        keys = [nv, ms]
        if first.get("applies_to", "") and f"{prefix}_n_applicable" in first:
            # a variable of some patients only (the dictionary's applies_to, "n = 11 biopsied"):
            # recorded + missing = those it applies to; the rest of the group is not applicable
            na = self.cell(("n_applicable", col, var), first[f"{prefix}_n_applicable"], COUNT, where)
            rest = self.cell(("not_applicable", col, var), None, COUNT, hidden=True)
            self.eq({nv: 1, ms: 1, na: -1})
            self.eq({na: 1, rest: 1, size_key: -1})
            keys.append(na)
        else:
            self.eq({nv: 1, ms: 1, size_key: -1})
        if first["type"] != "categorical":
            return keys
        levels = [lv for lv in rows["level"] if lv not in ("", "nan")]
        terms = {nv: -1}
        for _, r in rows.iterrows():
            if r["level"] in ("", "nan"):
                continue
            k = self.cell(("count", col, var, r["level"]), r[f"{prefix}_count"], COUNT, where)
            terms[k] = 1
            keys.append(k)
            self.percent(k, nv, r[f"{prefix}_pct"], where)
        allowed = self.levels.get(var)
        for lv in (allowed or []):
            if lv not in levels:
                k = self.cell(("count", col, var, lv), None, COUNT, where, hidden=True)
                terms[k] = 1
        if allowed is None:
            k = self.cell(("count", col, var, "~rest"), None, COUNT, where, hidden=True)
            terms[k] = 1
        self.eq(terms)
        return keys

    def _table_one(self, f, name):
        n = self.cell(("N",), f["all_n"].iloc[0], COUNT, name)
        for var, rows in f.groupby("variable", sort=False):
            self._variable_cells("all", var, rows, "all", n, name)

    def _comparison(self, f, name, grouping, cross=True):
        n = self.cell(("N",), None)
        sizes = {}
        for p in ("g1", "g2"):
            g = f[f"{p}_group"].iloc[0]
            sizes[p] = self.cell(("count", "all", grouping, g), f[f"{p}_n"].iloc[0], COUNT, name)
        self.eq({sizes["g1"]: 1, sizes["g2"]: 1, n: -1})
        for var, rows in f.groupby("variable", sort=False):
            keys = list(sizes.values())
            for p in ("g1", "g2"):
                col = (grouping, f[f"{p}_group"].iloc[0])
                keys += self._variable_cells(col, var, rows, p, sizes[p], name)
            keys += [("count", (grouping, g), var, lv) for g in ("True", "False")
                     for lv in (self.levels.get(var) or [])]
            r = rows.iloc[0]
            if r.get("p_value") == "[c]":
                self.withheld_p.add(r["label"])
            if r.get("effect_estimate") == "[c]":
                self.withheld_effects.add(r["label"])
            for c in ("statistic", "p_value", "effect_estimate", "effect_ci_low", "effect_ci_high", "q_value", "note"):
                if c in f.columns and not (c == "note" and not re.search(r"\d|zero", r[c])):
                    self.derived(f"{name} {var} {c}", r[c], keys)
        if cross:
            self._cross("all", [(grouping, "True"), (grouping, "False")])

    def _cross(self, whole, parts):
        for k in list(self.cells):
            if len(k) >= 3 and k[0] in ("count", "n_valid", "missing", "n_applicable") and k[1] == whole and k[2] not in (
                    "cr_ever", "lda_ever"):
                part_keys = [(k[0], p) + k[2:] for p in parts]
                if all(pk in self.cells for pk in part_keys):
                    rel = ({k: 1} | {pk: -1 for pk in part_keys})
                    if rel not in [e[0] for e in self.eqs]:
                        self.eq(rel)

    def _rates(self, f, name):
        n = self.cell(("N",), f["patients"].iloc[0], COUNT, name)
        for col in RESPONSES.values():
            self.cell(("count", "all", col, "True"), None, hidden=True)
        for r in f.to_dict("records"):
            resp, when = r["response"], r["when"]
            col = RESPONSES[resp]
            if when == "during the year":
                k = self.cell(("count", "all", col, "True"), r["n"], COUNT, name)
                never = self.cell(("count", "all", col, "False"), None, hidden=True)
                self.eq({k: 1, never: 1, n: -1})
                miss = self.cell(("missing", "rates", resp, "year"), r["missing visits"], MISSING, name)
                complete = self.cell(("complete", resp), None, MISSING, hidden=True)
                self.eq({miss: 1, complete: 1, n: -1})
            else:
                m = int(re.sub(r"\D", "", when.split()[-1]))  # "M1" (as printed) or "month 1"
                k = self.cell(("met", resp, m), r["n"], COUNT, name)
                miss = self.cell(("missing", "rates", resp, m), r["missing visits"], MISSING, name)
                rest = self.cell(("not-met", resp, m), None, hidden=True)
                self.eq({k: 1, miss: 1, rest: 1, n: -1})
                self.le({k: 1, ("count", "all", col, "True"): -1}, 0)   # met at a visit <= ever
            self.percent(k, n, r["percent"])
            for c in ("ci_low", "ci_high"):
                self.derived(f"{name} {resp} {when} {c}", r[c], [k])
            shown = r["shown"]
            m = re.match(r"^(\S+?)/(\d+)(?: \(([\d.]+)%; 95% CI ([\d.]+)-([\d.]+)\))?$", shown)
            assert m, f"{name}: shown {shown!r}"
            self.cell(k, m.group(1), COUNT, name + " shown")
            if m.group(3):
                self.percent(k, n, m.group(3))
                self.derived(f"{name} {resp} {when} shown CI", m.group(4), [k])

    def _cumulative(self, f, name):
        n = self.cell(("N",), f["patients"].iloc[0], COUNT, name)
        for resp, rows in f.groupby("response", sort=False):
            col = RESPONSES[resp]
            prev = None
            for r in rows.to_dict("records"):
                m = int(r["month"])
                key = ("count", "all", col, "True") if m == 12 else ("cum", resp, m)
                k = self.cell(key, r["n"], COUNT, name)
                if m != 12:
                    rest = self.cell(("cum-not", resp, m), None, hidden=True)
                    self.eq({k: 1, rest: 1, n: -1})
                self.percent(k, n, r["percent"])
                for c in ("ci_low", "ci_high"):
                    self.derived(f"{name} {resp} {m} {c}", r[c], [k])
                if prev is not None:
                    self.le({prev: 1, k: -1}, 0)                       # never decreases
                    if m > 0:                                          # grows by at most the month's responders
                        self.le({k: 1, prev: -1, ("met", resp, m): -1}, 0)
                if m > 0:
                    self.le({("met", resp, m): 1, k: -1}, 0)           # met at m -> reached by m
                prev = k

    def _attrition(self, f, name):
        prev = None
        for i, r in enumerate(f.to_dict("records")):
            rem = self.cell(("remaining", i), r["remaining"], COUNT, name)
            if i == 0:
                self.cell(("extract",), r["remaining"], COUNT, name)
                self.eq({rem: 1, ("extract",): -1})
            else:
                ex = self.cell(("excluded", r["criterion"]), r["excluded"], COUNT, name)
                ms = self.cell(("excl-missing", r["criterion"]), r["missing"], MISSING, name)
                self.eq({prev: 1, ex: -1, rem: -1})
                self.le({ms: 1, ex: -1}, 0)
            prev = rem
        self.eq({prev: 1, ("N",): -1})

    def _reasons(self, f, name):
        for crit, rows in f.groupby("criterion", sort=False):
            terms = {("excluded", crit): -1}
            for r in rows.to_dict("records"):
                terms[self.cell(("reason", crit, r["reason"]), r["patients"], COUNT, name)] = 1
            self.eq(terms)

    def _completeness(self, f, name):
        for r in f.to_dict("records"):
            v = r["Visit"]
            pat = self.cell(("extract",), r["Patients"], COUNT, name)
            seen = self.cell(("seen", v), r["Seen"], MISSING, name)
            nov = self.cell(("no-visit", v), r["No visit"], MISSING, name)
            self.eq({seen: 1, nov: 1, pat: -1})
            for c in ("SLEDAI-2K not computable", "Prednisone missing"):
                k = self.cell((c, v), r[c], MISSING, name)
                self.le({k: 1, seen: -1}, 0)

    def _sledai(self, f, name):
        for r in f.to_dict("records"):
            k = self.cell(("scored", r["time"]), r["n"], MISSING, name)
            rest = self.cell(("unscored", r["time"]), None, MISSING, hidden=True)
            self.eq({k: 1, rest: 1, ("N",): -1})

    def _wilcoxon(self, f, name):
        for r in f.to_dict("records"):
            t = r["time"]
            pairs = self.cell(("pairs", t), r["n_pairs"], MISSING, name)
            self.eq({pairs: 1, self.cell(("unpaired", t), None, MISSING, hidden=True): 1, ("N",): -1})
            nz = self.cell(("nonzero", t), r["n_nonzero"], COUNT, name)
            self.eq({nz: 1, self.cell(("ties", t), None, hidden=True): 1, pairs: -1})
            for c in ("statistic", "z", "p_value", "p_holm"):
                self.derived(f"{name} {t} {c}", r[c], [pairs, nz])

    def _reproduction(self, f, name):
        for r in f.to_dict("records"):
            where = f"{name} {r['source']} {r['location']} {r['variable']} {r['group']} {r['level']} {r['statistic']}"
            computed, stat, status = r["computed"], r["statistic"], r["status"]
            if status != "withheld" and _text(computed) in (self.small, "[c]"):
                self.leaks.append(f"{where}: status {status!r} printed beside a withheld value")
            if stat in ("median", "min", "max"):
                continue
            if stat == "p_value":
                if r["outcome"]:
                    grouping = f"{r['outcome']}_ever"
                    deps = [k for k in self.cells if len(k) >= 3 and isinstance(k[1], tuple) and k[1][0] == grouping
                            and k[2] == r["variable"]] + [("count", "all", grouping, "True")]
                    self.derived(where, computed, deps)
                continue
            key, denominator = self._reproduction_key(r)
            if key is None:
                self.derived(where, computed, [("unmapped",)])
                continue
            if stat == "n":
                kind = MISSING if key[0] == "missing" else COUNT
                self.cell(key, computed, kind, where)
            elif stat == "percent" and denominator is not None:
                self.percent(key, denominator, computed, where)
        self.cells.setdefault(("unmapped",), Cell(("unmapped",), COUNT))

    def _reproduction_key(self, r):
        var, group, outcome, level = r["variable"], r["group"], r["outcome"], r["level"]
        level = {"<=20": "<20", ">20": ">=20"}.get(level, level)
        if var == "n":
            if group == "all":
                return ("N",), None
            return ("count", "all", f"{outcome}_ever", str(group == "with")), ("N",)
        if var == "no_response":
            return ("count", "all", "lda_ever", "False"), ("N",)
        if var in ("cr_m12", "lda_m12"):
            return ("met", var[:-4].upper(), 12), ("N",)
        col = (f"{outcome}_ever", str(group == "with")) if group in ("with", "without") else "all"
        level = {"": "True", "yes": "True", "no": "False"}.get(level, level)
        if var == "second_infusion" and level in ("BM", "UC"):
            k = self.cell(("count", ("msc_source", level), var, "True"), None, hidden=True)
            parts = [("count", ("msc_source", lv), var, "True") for lv in ("BM", "UC")]
            for p in parts:
                self.cell(p, None, hidden=True)
            rel = {("count", "all", var, "True"): 1} | {p: -1 for p in parts}
            if rel not in [e[0] for e in self.eqs]:
                self.eq(rel)
            return k, ("count", "all", "msc_source", level)
        if col != "all" and ("count", "all", col[0], "True") in self.cells:
            # a grouping the bundle prints no table of (e.g. LDA when OUTCOME=cr): its cells, sizes, sums
            size = ("count", "all", col[0], col[1])
            if ("n_valid", col, var) not in self.cells:
                for g in ("True", "False"):
                    c = (col[0], g)
                    nv = self.cell(("n_valid", c, var), None, COUNT, hidden=True)
                    ms = self.cell(("missing", c, var), None, MISSING, hidden=True)
                    if var in _applies_to_some():   # recorded + missing = those it applies to, not the group
                        self.le({nv: 1, ms: 1, ("count", "all", col[0], g): -1}, 0)
                    else:
                        self.eq({nv: 1, ms: 1, ("count", "all", col[0], g): -1})
                    lv_keys = [self.cell(("count", c, var, lv), None, hidden=True) for lv in
                               (self.levels.get(var) or [])]
                    if lv_keys:
                        self.eq({k: 1 for k in lv_keys} | {nv: -1})
                self._cross("all", [(col[0], "True"), (col[0], "False")])
            return ("count", col, var, level), ("n_valid", col, var)
        if ("n_valid", col, var) in self.cells:
            return ("count", col, var, level), ("n_valid", col, var)
        return None, None

    def _models(self, f, name):
        """07's model under every definition: responders / analysed; CR and LDA are Table 1's counts."""
        for r in f.drop_duplicates("outcome").to_dict("records"):
            n = self.cell(("N",), r["analysed_n"], COUNT, name)
            key = ("count", "all", r["outcome"], "True") if r["outcome"] in ("cr_ever", "lda_ever") else \
                ("responders", r["outcome"])
            k = self.cell(key, r["events_n"], COUNT, name)
            if key[0] == "responders":
                rest = self.cell(("non-responders", r["outcome"]), None, hidden=True)
                self.eq({k: 1, rest: 1, n: -1})
            self.derived(f"{name} {r['outcome']} epv", r["epv"], [k])

    def _prediction(self, f, name, outcome):
        """07's TRIPOD table: the patients analysed and those with the outcome (the outcome's count of
        the whole cohort), and the observed risk and average FLIC risk computed from them."""
        rows = {r["item"]: r for r in f.to_dict("records")}
        if "with the outcome" not in rows:
            return
        n = self.cell(("N",), rows["patients analysed"]["unshrunk"], COUNT, name)
        key = ("count", "all", outcome, "True") if outcome in ("cr_ever", "lda_ever") else ("responders", outcome)
        k = self.cell(key, rows["with the outcome"]["unshrunk"], COUNT, name)
        self.derived(f"{name} observed risk", rows["observed risk"]["unshrunk"], [k, n])
        self.derived(f"{name} average predicted risk", rows.get("average predicted risk", {}).get(
            "shrunk_or_corrected", ""), [k, n])

    def _score(self, f, name):
        table = pd.read_csv(Path(self.files_dir) / "reproduction.data.csv", dtype=str, keep_default_na=False) \
            if hasattr(self, "files_dir") else None
        if table is None:
            return
        for r in f.to_dict("records"):
            rows = table if r["source"] in ("all", "All sources") else table[table["source"] == r["source"]]
            for col, status in (("exact", "exact"), ("within_rounding", "within rounding"), ("differs", "differs"),
                                ("not_computed", "not computed")):
                if int(r[col]) != int((rows["status"] == status).sum()):
                    self.leaks.append(f"{name} {r['source']}: {col} {r[col]} is not the number of rows shown "
                                      f"with that status: a withheld status can be worked out")

    # ------------------------------------------------------------------ pages and figures
    def _page(self, page: Path):
        text = page.read_text(encoding="utf-8")
        name = page.name
        for pre in re.findall(r"<pre>(.*?)</pre>", text, flags=re.S):
            self._sentences(html_lib.unescape(re.sub(r"<[^>]+>", "", pre)), name)
        tables = pd.read_html(page, keep_default_na=False) if "<table" in text else []
        for t in tables:
            t = t.astype(str)
            # the pages print clinical headers (present.tables.rates_table, plain_table): read them as such
            t = t.rename(columns=_PAGE_HEADERS)
            cols = [str(c) for c in t.columns]
            if {"response", "when", "shown"} <= set(cols):
                for r in t.to_dict("records"):
                    resp, when = r["response"], r["when"]
                    w = "year" if when == "during the year" else int(re.sub(r"\D", "", when.split()[-1]))  # "M1"
                    key = ("count", "all", RESPONSES[resp], "True") if w == "year" else ("met", resp, w)
                    self.cell(key, r["shown"].split("/")[0], COUNT, name)
                    if "missing visits" in r:
                        self.cell(("missing", "rates", resp, w), r["missing visits"], MISSING, name)
            elif any(re.match(r"^\w+ during the year: yes \(n = ", c) for c in cols):
                self._html_comparison(t, cols, name)
            elif {"criterion", "reason", "patients"} <= set(cols):
                for r in t.to_dict("records"):
                    self.cell(("reason", r["criterion"], r["reason"]), r["patients"], COUNT, name)
            elif {"label", "test", "p_value", "q_value"} <= set(cols):
                for r in t.to_dict("records"):   # 04: variables with p < alpha
                    self.flagged.append((r["label"], r["p_value"], r["q_value"]))


    def _html_comparison(self, t, cols, name):
        """The explorer's static comparison (not saved as CSV): group sizes in the header, a p-value."""
        sizes = []
        for c in cols:
            m = re.match(r"^(\w+) during the year: (yes|no) \(n = ([^)]+)\)", c)
            if m:
                key = ("count", "all", _grouping(m.group(1)), str(m.group(2) == "yes"))
                sizes.append(self.cell(key, m.group(3), COUNT, name))
        p_col = next((c for c in cols if c.startswith("p value")), None)
        if p_col:
            for v in t[p_col]:
                self.derived(f"{name} comparison p", v, sizes)

    def _sentences(self, text: str, name: str):
        for m in re.finditer(r"Visits whose recorded SLEDAI total disagrees with the descriptors: (\S+) of (\d+)", text):
            self.cell(("mismatch",), m.group(1), MISSING, name)
        for m in re.finditer(r"\((\S+) of (\d+) patients with every visit\)", text):
            k = self.cell(("complete-visits",), m.group(1), MISSING, name)
            self.eq({k: 1, self.cell(("incomplete-visits",), None, MISSING, hidden=True): 1, ("N",): -1})
        for m in re.finditer(r"(\w+) during the year: (\S+) of (\d+) patients", text):
            self.cell(("count", "all", _grouping(m.group(1)), "True"), m.group(2), COUNT, name)
        for m in re.finditer(r"(LDA|CR) during the year: (\S+?)/(\d+)", text):
            self.cell(("count", "all", RESPONSES[m.group(1)], "True"), m.group(2), COUNT, name)
        for m in re.finditer(r"(\S+) follow-up visit\(s\) of (\S+) patient\(s\)", text):
            resp = re.findall(r"^(LDA|CR)\b", text[:m.start()], flags=re.M)[-1]
            total = self.cell(("missing-visits", resp), m.group(1), MISSING, name)
            self.cell(("missing", "rates", resp, "year"), m.group(2), MISSING, name)
            monthly = [k for k in self.cells if k[:3] == ("missing", "rates", resp) and k[3] != "year"]
            self.eq({k: 1 for k in monthly} | {total: -1})
        for m in re.finditer(r"(?<![\w.<])(\d+)\s+(?:[\w-]+\s+)?(?:visit|patient)s?\b", text):
            if 0 < int(m.group(1)) < self.t:
                self.leaks.append(f"{name}: small count in a sentence: {text[max(0, m.start() - 40):m.end() + 20]!r}")

    def _figure(self, svg: Path):
        texts = [html_lib.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)", svg.read_text(encoding="utf-8"))]
        # matplotlib writes multi-line labels as separate tspans/texts; look at every "n = X"
        for t in texts:
            for m in re.finditer(r"n = (\d+)", t):
                if 0 < int(m.group(1)) < self.t:
                    self.leaks.append(f"{svg.name}: small count in the figure: {t!r}")
        if svg.stem == "consort_flow":
            numbers = [m.group(1) for t in texts for m in re.finditer(r"n = (\S+)", t)]
            published = {str(c.value) for k, c in self.cells.items() if k[0] in ("remaining", "excluded", "extract")
                         and c.value is not None}
            for v in numbers:
                if _INT.match(v) and v not in published:
                    self.leaks.append(f"consort_flow.svg prints n = {v}, which the attrition table withholds")
        if svg.stem in ("response_rates", "cumulative_response"):
            family = "met" if svg.stem == "response_rates" else "cum"
            hidden = [k for k, c in self.cells.items() if c.marks and c.value is None and k[0] == family]
            if hidden and not any(t.strip() in (self.small, "[c]") for t in texts):
                self.leaks.append(f"{svg.name}: withheld points are not marked")
        if svg.stem == "figure1_sledai_over_time":
            scored = {str(c.value) for k, c in self.cells.items() if k[0] == "scored" and c.value is not None}
            for t in texts:
                for m in re.finditer(r"n = (\d+)", t):
                    if m.group(1) not in scored:
                        self.leaks.append(f"{svg.name}: n = {m.group(1)} printed, withheld in sledai_by_visit")
        if svg.stem.startswith("forest_"):
            labels = {t.strip() for t in texts}
            drawn = [l for l in self.withheld_effects if l in labels]
            if drawn and sum("withheld" in t for t in texts) < len(drawn):
                self.leaks.append(f"{svg.name}: an odds ratio Table 2 withholds is drawn ({drawn[0]})")


#: Page headers of the tables the reader recognises, as the tidy columns they print.
_PAGE_HEADERS = {"Response": "response", "Visit": "when", "Patients (%; 95% CI)": "shown",
                 "Missing visits": "missing visits", "Criterion": "criterion", "Reason": "reason",
                 "Patients": "patients", "Variable": "label", "Test": "test", "p": "p_value",
                 "q (Benjamini-Hochberg)": "q_value"}


def _grouping(label: str) -> str:
    """The grouping a response label names: LDA -> lda_ever, CR -> cr_ever, LLDAS -> lldas_ever, ..."""
    return RESPONSES.get(label, f"{label.lower()}_ever")


def _applies_to_some() -> set:
    """Variables the dictionary applies to some patients only (the nephritis class of the biopsied)."""
    d = load_dictionary()
    return set(d.loc[d["applies_to"].fillna("").astype(str).ne(""), "name"])


def _dictionary_levels() -> dict:
    d = load_dictionary()
    out = {}
    for r in d.itertuples(index=False):
        if r.type == "boolean":
            out[r.name] = ["True", "False"]
        elif r.type == "category" and isinstance(r.allowed, str) and r.allowed:
            out[r.name] = r.allowed.split("|")
    return out


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        return str(int(v)) if v.is_integer() else repr(v)
    return str(v).strip()


def _norm(v) -> str:
    t = _text(v)
    try:
        f = float(t)
    except ValueError:
        return t
    if math.isnan(f):
        return ""
    return str(int(f)) if f.is_integer() else f"{f:.12g}"   # Excel keeps 15 significant digits


def _number(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def read_bundle(out, min_count: int = 5, zero: bool = True, outcome: str = "cr") -> Report:
    reader = Reader(min_count, zero)
    reader.files_dir = Path(out) / "tables"
    reader.flagged, reader.withheld_p, reader.withheld_effects = [], set(), set()
    return reader.read_bundle(out, outcome)
