"""One p-value, one printed text: across every table and page of a `make run` and a `make share` bundle,
the same computed p (or q) value is printed the same way.

A printed p is identified by the unrounded value behind it, read from the table's ``.data.csv``, not
by its text: a printed cell is linked to the value of its table's data whose rounding it is (at any
number of decimals, so that "0.053" and "0.05" both link to 0.0534), and only when exactly one value
of that table fits. The p-values printed in the pages' text (printed lines and table notes) are linked
the same way to the values of the whole bundle. Explanations that deliberately show more digits
(the reproduction's "why" column) are not printed p-values and are left out.
"""
from __future__ import annotations

import math
import re
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

#: Columns of a .data.csv holding p- or q-values.
P_DATA = re.compile(r"^(p|q)(_value|_holm)?$|^(uni|firth|ml|ref)_p(_value)?$")
#: Headers of a printed table's p- or q-value columns ("p value", "p, Firth", "q value", ...).
P_HEADER = re.compile(r"^(p|q)( value)?(\b|,|$)|^q \(")
#: Columns of free text that explain a value with extra digits on purpose.
NOTE_HEADER = re.compile(r"^(note|why|finding|explanation)$", re.I)
#: "p = 0.05", "p < 0.001", "q = 0.03" inside a cell or a sentence (not a threshold: "p < 0.05").
IN_TEXT = re.compile(r"\b[pq] (=|<) (\d\.\d+|0\.0*1)\b")
#: The one style every printed p follows (the paper's): two decimals, three only when two would
#: print 0.00, "<0.001" below that.
ONE_STYLE = re.compile(r"0\.(?!00)\d\d|0\.00[1-9]|1\.00|<0\.001")
MARKS = "*†‡^ "


def _renderings(v: float) -> set[str]:
    """Every text a p of ``v`` could print as: fixed at 1 to 5 decimals, halves either way, or a bound."""
    exact = Decimal(repr(v))
    out = set()
    for d in range(1, 6):
        q = Decimal(1).scaleb(-d)
        for rounding in (ROUND_HALF_UP, ROUND_HALF_EVEN):
            out.add(format(exact.quantize(q, rounding=rounding), "f"))
        if v < 10 ** -d:
            out.add("<" + format(q, "f"))
    return out


def _key(v: float) -> str:
    return f"{v:.10g}"


def _data_values(frame: pd.DataFrame) -> list[float]:
    values = []
    for c in frame.columns:
        if P_DATA.match(str(c)):
            values += [float(x) for x in pd.to_numeric(frame[c], errors="coerce") if math.isfinite(x)]
    return sorted(set(values))


def _link(text: str, values, renderings) -> float | None:
    """The one value of ``values`` whose rounding ``text`` is, or None (none, or several)."""
    fits = [v for v in values if text in renderings[v]]
    return fits[0] if len(fits) == 1 else None


def _printed_cells(printed: pd.DataFrame):
    """(column, text) of every p printed in a table: its p columns' cells and the "p = ..." in others."""
    for c in printed.columns:
        if NOTE_HEADER.match(str(c)):
            continue
        for cell in printed[c].astype(str):
            if P_HEADER.match(str(c)):
                text = cell.strip(MARKS)
                if re.fullmatch(r"<?\d\.\d+", text):
                    yield c, text
            else:
                for sign, number in _in_text(cell):
                    yield c, ("<" if sign == "<" else "") + number


def _in_text(text: str):
    return [(sign, number) for sign, number in IN_TEXT.findall(text) if sign == "=" or re.fullmatch(r"0\.0*1", number)]


def _page_texts(page: Path) -> list[str]:
    """The printed lines and table notes of a page (the code inputs left out)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    for node in soup.select(".jp-InputArea, script, style, .msc-provenance"):
        node.decompose()
    return [n.get_text(" ") for n in soup.select("pre, p.footnote")]


def collect(folder: Path) -> dict[str, dict[str, set[str]]]:
    """{value key: {printed text: {where}}} over the tables and pages of a bundle."""
    seen: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    everything, renderings = set(), {}
    for data_csv in sorted((folder / "tables").glob("*.data.csv")):
        values = _data_values(pd.read_csv(data_csv))
        if not values:
            continue
        renderings.update({v: _renderings(v) for v in values})
        everything.update(values)
        printed = pd.read_csv(data_csv.with_name(data_csv.name.replace(".data.csv", ".csv")), dtype=str,
                              keep_default_na=False)
        for column, text in _printed_cells(printed):
            seen["style"][text].add(f"{folder.name}/{data_csv.name.replace('.data', '')} [{column}]")
            v = _link(text, values, renderings)
            if v is not None:
                seen[_key(v)][text].add(f"{folder.name}/{data_csv.name.replace('.data', '')} [{column}]")
    everything = sorted(everything)
    for page in sorted((folder / "html").glob("*.html")):
        for text in _page_texts(page):
            for sign, number in _in_text(text):
                shown = ("<" if sign == "<" else "") + number
                seen["style"][shown].add(f"{folder.name}/html/{page.name}")
                v = _link(shown, everything, renderings)
                if v is not None:
                    seen[_key(v)][shown].add(f"{folder.name}/html/{page.name}")
    return seen


def inconsistencies(*folders: Path) -> list[str]:
    merged: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for folder in folders:
        for key, texts in collect(folder).items():
            for text, where in texts.items():
                merged[key][text] |= where
    style = merged.pop("style", {})
    return [f"p = {key} prints " + "; ".join(f"{t!r} in {sorted(w)[:3]}" for t, w in sorted(texts.items()))
            for key, texts in sorted(merged.items()) if len(texts) > 1] + \
        [f"{t!r} is not printed in the tables' p style, in {sorted(w)[:3]}" for t, w in sorted(style.items())
         if not ONE_STYLE.fullmatch(t)]


@pytest.fixture(scope="module")
def shared_bundle(tmp_path_factory):
    from msc_sle.tools.runner import run_workbook
    from msc_sle.workbook.params import check_parameters

    out = tmp_path_factory.mktemp("share") / "shared"
    run_workbook(dict(check_parameters()), out, jobs=2, share=True, progress=lambda _m: None)
    return out


def test_every_p_value_prints_the_same_wherever_it_is_printed(bundle, shared_bundle):
    found = collect(bundle)
    # the check reaches the tables that print p-values: Table 2, the model tables, the Wilcoxon table
    where = {w.split(" [")[0].split("/", 1)[1] for key, texts in found.items() if key != "style"
             for ws in texts.values() for w in ws}
    assert {"table2_cr.csv", "model_cr.csv", "model_sensitivity.csv"} <= where, where
    assert any(w.startswith("html/") for w in where)
    assert inconsistencies(bundle, shared_bundle) == []


def test_the_check_sees_one_value_printed_two_ways(tmp_path):
    """The collector itself: a p of 0.0534 printed "0.05" in one table and "0.053" in another is found."""
    for name, cell in (("a", "0.05"), ("b", "0.053")):
        (tmp_path / "tables").mkdir(exist_ok=True)
        pd.DataFrame({"p_value": [0.0534, 0.41]}).to_csv(tmp_path / "tables" / f"{name}.data.csv", index=False)
        pd.DataFrame({"Variable": ["x", "y"], "p value": [cell, "0.41"]}).to_csv(
            tmp_path / "tables" / f"{name}.csv", index=False)
    (tmp_path / "html").mkdir()
    found = inconsistencies(tmp_path)
    assert len(found) == 2 and "'0.05'" in found[0] and "'0.053'" in found[0]
    assert found[1].startswith("'0.053' is not printed in the tables' p style")
