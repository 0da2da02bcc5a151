"""Cell suppression for frequency tables: primary suppression, complementary suppression, and an audit.

A :class:`Ledger` holds every count a bundle prints (and the counts a reader can work out without
seeing them, e.g. the "no" of a yes/no variable), each under a key naming what it counts, and the
linear relations a reader knows between them (a row of levels adds up to the patients with the
value recorded, the two groups add up to the whole cohort, a running total loses the excluded).
:meth:`Ledger.protect` then

1. **primary suppression**: every printed count from 1 to ``min_count - 1`` (and zero, when
   ``zero`` is set and the count is of patients with a characteristic, not of missing data) is
   withheld (status ``"primary"``, printed ``"<min_count"``);
2. **complementary suppression**: while any sensitive count (printed or not) can be worked out
   from the published counts, the relations and what the markers say (a ``"<5"`` lies in 0..4 or
   1..4, a complementary ``"[c]"`` is at least ``min_count``), one more published count of a
   relation around it is withheld (status ``"complementary"``, printed ``"[c]"``); the audit is
   exact: the smallest and largest integer value of the count consistent with everything published
   (:func:`scipy.optimize.milp`), and the count is protected when they differ.

This is the cell-suppression method of the Handbook on Statistical Disclosure Control (Hundepool
et al., 2nd ed. 2024, chapters 4-5; see ``docs/disclosure.md``), with the protection interval
reduced to "not one value".
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Hashable, Iterable, Mapping

import numpy as np

__all__ = ["Ledger", "DisclosureError", "DisclosureWarning", "PUBLISHED", "PRIMARY", "COMPLEMENTARY", "IMPLICIT", "COUNT", "MISSING"]

PUBLISHED, PRIMARY, COMPLEMENTARY, IMPLICIT = "published", "primary", "complementary", "implicit"
#: Kinds of count: patients with a characteristic, response or exclusion (a zero can disclose), and
#: missing data (values not recorded, visits not made: a zero only says the data are complete).
COUNT, MISSING = "count", "missing"


#: Candidates tried one by one for a complementary suppression that protects on its own.
_TRIALS = 6


class DisclosureError(RuntimeError):
    """No complementary suppression can protect a count (e.g. a cohort smaller than twice the threshold)."""


class DisclosureWarning(UserWarning):
    """Some small counts can be worked out from counts printed by necessity (the cohort sizes)."""


@dataclass
class _Cell:
    key: Hashable
    value: int
    kind: str
    shown: bool
    fixed: bool
    order: int
    tier: int = 0


class Ledger:
    """The counts of a bundle and the relations between them; :meth:`protect` decides what is withheld.

    min_count : counts from 1 to ``min_count - 1`` are sensitive.
    zero : zero counts of kind :data:`COUNT` are sensitive too.
    complementary : False skips step 2 (primary suppression only; for demonstrating the audit).
    strict : raise :class:`DisclosureError` for a count that no complementary suppression can protect
        (only fixed counts give it back); by default it is listed in :attr:`unavoidable` instead.
    """

    def __init__(self, min_count: int, *, zero: bool = True, complementary: bool = True, strict: bool = False):
        self.min_count = int(min_count)
        self.zero = bool(zero)
        self.complementary = bool(complementary)
        self.strict = bool(strict)
        #: Sensitive counts that only fixed counts (printed by necessity) give back: nothing can protect them.
        self.unavoidable: list = []
        self._cells: dict[Hashable, _Cell] = {}
        self._relations: list[tuple[dict, float]] = []
        self._by_cell: dict[Hashable, list[int]] = {}
        self._status: dict[Hashable, str] | None = None

    # ------------------------------------------------------------------ building
    def add(self, key: Hashable, value, *, kind: str = COUNT, shown: bool = True, fixed: bool = False,
            tier: int = 0) -> Hashable:
        """Register a count (again: the same key must carry the same value; shown/fixed accumulate).

        shown : printed somewhere in the bundle (else a reader can only work it out).
        fixed : printed as is and never withheld (e.g. the number of patients analysed).
        tier : preference when a complementary count is chosen (lower first: a level's count before a
            subtotal, a subtotal before a group size).
        """
        if kind not in (COUNT, MISSING):
            raise ValueError(f"kind must be {COUNT!r} or {MISSING!r}, got {kind!r}")
        value = int(value)
        cell = self._cells.get(key)
        if cell is None:
            self._cells[key] = _Cell(key, value, kind, bool(shown), bool(fixed), len(self._cells), int(tier))
            self._by_cell[key] = []
        else:
            if cell.value != value:
                raise ValueError(f"count {key!r} registered twice with different values ({cell.value}, {value})")
            cell.shown |= bool(shown)
            cell.fixed |= bool(fixed)
            cell.tier = max(cell.tier, int(tier))
        self._status = None
        return key

    def relate(self, terms: Mapping[Hashable, float], total: float = 0.0) -> None:
        """A relation a reader knows: ``sum(coef * count) == total`` over registered counts."""
        terms = {k: float(c) for k, c in terms.items() if c}
        missing = [k for k in terms if k not in self._cells]
        if missing:
            raise KeyError(f"relation over unregistered counts {missing}")
        lhs = sum(c * self._cells[k].value for k, c in terms.items())
        if not math.isclose(lhs, total, abs_tol=1e-9):
            raise ValueError(f"relation {terms} = {total} does not hold ({lhs})")
        index = len(self._relations)
        self._relations.append((terms, float(total)))
        for k in terms:
            self._by_cell[k].append(index)
        self._status = None

    def __contains__(self, key) -> bool:
        return key in self._cells

    def value(self, key) -> int:
        return self._cells[key].value

    def keys(self) -> list:
        return list(self._cells)

    # ------------------------------------------------------------------ rules
    def sensitive(self, key) -> bool:
        """A count a reader must not learn: 1..min_count-1, or zero for a :data:`COUNT` when ``zero``."""
        cell = self._cells[key]
        return 0 < cell.value < self.min_count or (cell.value == 0 and self.zero and cell.kind == COUNT)

    def bounds(self, key, status: str) -> tuple[float, float]:
        """What a reader knows of a count from how it is printed (the audit's bounds)."""
        cell = self._cells[key]
        if status == PUBLISHED:
            return cell.value, cell.value
        if status == PRIMARY:
            return (0 if self.zero and cell.kind == COUNT else 1), self.min_count - 1
        if status == COMPLEMENTARY:
            return self.min_count, np.inf
        return 0, np.inf

    # ------------------------------------------------------------------ protection
    def protect(self) -> dict[Hashable, str]:
        """Status of every count: published, primary, complementary or implicit (never printed)."""
        if self._status is not None:
            return self._status
        status = {}
        for k, cell in self._cells.items():
            if not cell.shown:
                status[k] = IMPLICIT
            elif self.sensitive(k) and not cell.fixed:
                status[k] = PRIMARY
            else:
                status[k] = PUBLISHED
        if self.complementary:
            self._complement(status)
        self._status = status
        return status

    def status(self, key) -> str:
        return self.protect()[key]

    def leaks(self, status: Mapping | None = None) -> list[tuple[Hashable, int]]:
        """Sensitive counts a reader can work out under ``status`` (default: the protected one)."""
        status = self.protect() if status is None else status
        return [(k, self._cells[k].value) for k in self._sensitive_unknowns(status)
                if self._witness(self._component(status, k), status, k) is None]

    def _sensitive_unknowns(self, status) -> list:
        # a complementary count must not be pinned either: "[c]" promises the reader does not learn it
        # (and a pinned [c] is one more known count in the relations around the small ones)
        return [k for k in self._cells
                if status[k] != PUBLISHED and (self.sensitive(k) or status[k] == COMPLEMENTARY)]

    # A witness is another solution of what a reader knows in which the count takes another value
    # (stored as the counts that differ from the truth). Withholding more only relaxes what a reader
    # knows, so a witness stays valid until one of its differing counts is published again.
    def _valid(self, witness: Mapping, status) -> bool:
        for k, v in witness.items():
            lo, hi = self.bounds(k, status[k])
            if status[k] == PUBLISHED or not lo - 1e-9 <= v <= hi + 1e-9:
                return False
        return True

    def _witness(self, comp, status, key) -> dict | None:
        """A solution where ``key`` is not its true value, changing as few counts as possible (so that it
        survives later decisions), or None when ``key`` is determined."""
        value = self._cells[key].value
        for floor, ceiling in ((value + 1, np.inf), (-np.inf, value - 1)):
            x = self._nearest(comp, status, key, floor, ceiling)
            if x is not None:
                return x
        return None

    def _complement(self, status: dict) -> None:
        self._initial, self._necessary = dict(status), {}
        added: list = []
        witnesses: dict = {}
        self.unavoidable = []
        while True:
            leak = None
            for k in self._sensitive_unknowns(status):
                if k in self.unavoidable:
                    continue
                w = witnesses.get(k)
                if w is not None and self._valid(w, status):
                    continue
                w = self._witness(self._component(status, k), status, k)
                if w is None:
                    leak = k
                    break
                witnesses[k] = w
            if leak is None:
                break
            pick = self._candidate(leak, status)
            if pick is None:
                # only counts printed by necessity (fixed) pin it, e.g. no patient excluded when the
                # extract and the analysed cohort have the same size: nothing to withhold can help
                if not self.strict:
                    self.unavoidable.append(leak)
                    continue
                raise DisclosureError(
                    f"the count {leak!r} ({self._cells[leak].value}) can be worked out from the published "
                    f"counts and no further count can be withheld to prevent it (too few patients to share "
                    f"at a threshold of {self.min_count}?)")
            status[pick] = COMPLEMENTARY
            added.append(pick)
        self._cleanup(status, added, witnesses)
        # a count listed while a complementary cell the cleanup published again was around may be gone
        self.unavoidable = [k for k in self.unavoidable if status[k] != PUBLISHED]

    def _candidate(self, leak, status):
        """The published count to withhold next. Candidates are the published, non-sensitive counts
        reachable from ``leak`` through relations over unknown counts; the first (lowest tier, then
        nearest, then smallest) that alone leaves ``leak`` undetermined is taken, else the nearest."""
        seen_rel: set[int] = set()
        seen_cell = {leak}
        frontier = [leak]
        options: dict = {}
        distance = 0
        while frontier:
            rels = sorted({r for k in frontier for r in self._by_cell[k]} - seen_rel)
            seen_rel.update(rels)
            nxt = []
            for r in rels:
                for k in self._relations[r][0]:
                    if status[k] == PUBLISHED:
                        if self._eligible(k):
                            options.setdefault(k, distance)
                    elif k not in seen_cell:
                        seen_cell.add(k)
                        nxt.append(k)
            frontier = nxt
            distance += 1
        if not options:
            return None
        ranked = sorted(options, key=lambda k: (self._cells[k].tier, options[k], self._cells[k].value,
                                                self._cells[k].order))
        ranked = [k for k in ranked if not self._given_back(k)]
        for k in ranked[:_TRIALS]:
            status[k] = COMPLEMENTARY
            protected = self._witness(self._component(status, leak), status, leak) is not None
            status[k] = PUBLISHED
            if protected:
                return k
        return min(ranked, key=lambda k: (options[k], self._cells[k].tier, self._cells[k].value,
                                          self._cells[k].order), default=None)

    def _given_back(self, key) -> bool:
        """Whether ``key``, withheld, is pinned whatever else is withheld: by the fixed counts and the
        counts never withheld (zero missing data), e.g. a group's recorded n when none is missing. Such
        a ``"[c]"`` protects nothing, so it is never chosen."""
        if key not in self._necessary:
            relaxed = {k: (COMPLEMENTARY if s == PUBLISHED and self._eligible(k) else s)
                       for k, s in self._initial.items()}
            relaxed[key] = COMPLEMENTARY
            self._necessary[key] = self._witness(self._component(relaxed, key), relaxed, key) is None
        return self._necessary[key]

    def _eligible(self, key) -> bool:
        """A published count that may be withheld as complementary."""
        cell = self._cells[key]
        return cell.shown and not cell.fixed and not self.sensitive(key) and cell.value >= self.min_count

    def _cleanup(self, status: dict, added: list, witnesses: dict) -> None:
        """Publish again each complementary count (latest first) whose withholding no longer protects anything."""
        for k in reversed(added):
            status[k] = PUBLISHED
            fresh = {}
            for s in self._sensitive_unknowns(status):
                if s in self.unavoidable:
                    continue
                w = witnesses.get(s)
                if w is not None and self._valid(w, status):
                    continue
                w = self._witness(self._component(status, s), status, s)
                if w is None:
                    status[k] = COMPLEMENTARY
                    break
                fresh[s] = w
            else:
                witnesses.update(fresh)
                continue
            witnesses.update({s: w for s, w in fresh.items()})

    def _component(self, status, key) -> list:
        """The unknown counts linked to ``key`` through relations over unknown counts."""
        seen = {key}
        order = [key]
        frontier = [key]
        seen_rel: set[int] = set()
        while frontier:
            nxt = []
            for k in frontier:
                for r in self._by_cell[k]:
                    if r in seen_rel:
                        continue
                    seen_rel.add(r)
                    for j in self._relations[r][0]:
                        if j not in seen and status[j] != PUBLISHED:
                            seen.add(j)
                            order.append(j)
                            nxt.append(j)
            frontier = nxt
        return order

    def _nearest(self, comp: Iterable, status: Mapping, target, floor: float, ceiling: float) -> dict | None:
        """The solution of what a reader knows with ``target`` in [floor, ceiling] that moves the counts
        least from their true values (as {count: value} for the counts that move), or None if none."""
        from scipy.optimize import Bounds, LinearConstraint, milp
        from scipy.sparse import csr_array

        comp = list(comp)
        n = len(comp)
        index = {k: i for i, k in enumerate(comp)}
        truth = np.array([self._cells[k].value for k in comp], dtype=float)
        data, row_of, col_of, rhs = [], [], [], []
        for r in sorted({r for k in comp for r in self._by_cell[k]}):
            terms, total = self._relations[r]
            b = total
            for k, c in terms.items():
                if k in index:
                    data.append(c)
                    row_of.append(len(rhs))
                    col_of.append(index[k])
                else:
                    b -= c * self._cells[k].value
            rhs.append(b)
        # x - up + down = truth: up and down measure the move away from the truth
        base = len(rhs)
        for j in range(n):
            data += [1.0, -1.0, 1.0]
            row_of += [base + j] * 3
            col_of += [j, n + j, 2 * n + j]
        A = csr_array((data, (row_of, col_of)), shape=(base + n, 3 * n))
        b = np.concatenate([np.array(rhs, dtype=float), truth])
        lo = np.array([self.bounds(k, status[k])[0] for k in comp], dtype=float)
        hi = np.array([self.bounds(k, status[k])[1] for k in comp], dtype=float)
        i = index[target]
        lo[i], hi[i] = max(lo[i], floor), min(hi[i], ceiling)
        if lo[i] > hi[i]:
            return None
        bounds = Bounds(np.concatenate([lo, np.zeros(2 * n)]), np.concatenate([hi, np.full(2 * n, np.inf)]))
        cost = np.concatenate([np.zeros(n), np.ones(2 * n)])
        res = milp(cost, integrality=np.ones(3 * n), bounds=bounds, constraints=[LinearConstraint(A, b, b)])
        if res.x is None:
            return None
        x = np.round(res.x[:n])
        return {k: float(x[j]) for k, j in index.items() if abs(x[j] - truth[j]) > 0.5}

    def _solve(self, comp: Iterable, status: Mapping, target, *, maximum: bool, floor: float | None = None
               ) -> dict | None:
        """An integer solution of what a reader knows, ``target`` as large (or small, and at least
        ``floor``) as possible; None when unbounded."""
        from scipy.optimize import Bounds, LinearConstraint, milp

        comp = list(comp)
        index = {k: i for i, k in enumerate(comp)}
        rows, rhs = [], []
        for r in sorted({r for k in comp for r in self._by_cell[k]}):
            terms, total = self._relations[r]
            row = np.zeros(len(comp))
            b = total
            for k, c in terms.items():
                if k in index:
                    row[index[k]] += c
                else:
                    b -= c * self._cells[k].value
            rows.append(row)
            rhs.append(b)
        lo = np.array([self.bounds(k, status[k])[0] for k in comp], dtype=float)
        hi = np.array([self.bounds(k, status[k])[1] for k in comp], dtype=float)
        if floor is not None:
            lo[index[target]] = max(lo[index[target]], floor)
        constraints = [LinearConstraint(np.array(rows), np.array(rhs), np.array(rhs))] if rows else []
        c = np.zeros(len(comp))
        c[index[target]] = -1.0 if maximum else 1.0
        res = milp(c, integrality=np.ones(len(comp)), bounds=Bounds(lo, hi), constraints=constraints)
        if res.status == 2:
            raise RuntimeError(f"the published counts around {target!r} are inconsistent (no solution)")
        if res.x is None:
            return None
        return {k: float(round(res.x[i])) for k, i in index.items()}
