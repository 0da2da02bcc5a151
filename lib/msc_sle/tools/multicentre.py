"""`make multicentre` and page 08: one extract split into simulated centres, and the vantage6
algorithm (``federated/v6_msc_sle``) run over them through vantage6's MockAlgorithmClient.

The algorithm runs in its own environment, ``.venv-federated`` (``requirements-federated.txt``):
vantage6-algorithm-tools 4.15 pins python-dateutil 2.8.2 and click 8.1.3, which pandas 3 and the
workbook's lock cannot share. So this module never imports the algorithm; it calls it as a
program and reads back the central function's JSON, which is all a consortium's analyst would
receive. Nothing of the core imports this module.
"""
from __future__ import annotations

import csv
import io
import json
import os
import secrets
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..contract.dictionary import normal_name
from ..contract.paths import BUNDLED_DATA, REPO_ROOT

__all__ = ["CENTRE_SHARES", "CENTRE_NAMES", "FEDERATED_PYTHON", "split_extract", "run_federated",
           "multicentre_result", "MulticentreError", "MulticentreRefused", "rounds_text"]

#: Shares of the patients per simulated centre: unequal, the last one small.
CENTRE_SHARES = (0.55, 0.30, 0.15)
CENTRE_NAMES = ("Centre A", "Centre B", "Centre C")
FEDERATED_PYTHON = REPO_ROOT / ".venv-federated" / "bin" / "python"
ALGORITHM_DIR = REPO_ROOT / "federated"


class MulticentreError(RuntimeError):
    """The multi-centre task ended; the message names the centre."""


class MulticentreRefused(MulticentreError):
    """The task ended with one clear message (a centre refused, a dictionary or extract differed)."""


class _Table:
    """A CSV table read for splitting: its header line and its data records as lines, each with its
    patient id (stripped); :meth:`lines` gives the records of chosen rows back as written."""

    def __init__(self, header: str, records: list[str], ids: list[str]):
        self.header, self.records, self.ids = header, records, ids

    def __len__(self) -> int:
        return len(self.ids)

    def ids_of(self, rows: np.ndarray):
        return {self.ids[i] for i in rows}

    def in_ids(self, wanted) -> np.ndarray:
        chosen = set(wanted.to_pylist()) if hasattr(wanted, "to_pylist") else set(wanted)
        return np.fromiter((v in chosen for v in self.ids), dtype=bool, count=len(self.ids))

    def text(self, rows: np.ndarray) -> bytes:
        return ("\n".join([self.header, *(self.records[i] for i in rows)]) + "\n").encode("utf-8")


class _ByteTable(_Table):
    """The usual export (ASCII, one record per line, no quote, carriage return or blank line) kept
    as its bytes: the ids are read by Arrow's CSV reader (that column only) and the chosen records
    copied by a byte mask. A registry's five million visits split in a few seconds, where Python's
    str methods take half a minute on them."""

    def __init__(self, data: bytes, header_end: int, starts: np.ndarray, ends: np.ndarray, ids):
        self.data, self.header_end, self.starts, self.ends, self.ids = data, header_end, starts, ends, ids

    def ids_of(self, rows: np.ndarray):
        return self.ids.take(rows)

    def in_ids(self, wanted) -> np.ndarray:
        import pyarrow as pa
        import pyarrow.compute as pc

        wanted = wanted.cast(self.ids.type) if hasattr(wanted, "cast") else pa.array(list(wanted), type=self.ids.type)
        return pc.is_in(self.ids, value_set=wanted).to_numpy(zero_copy_only=False).astype(bool)

    def text(self, rows: np.ndarray) -> bytes:
        keep = np.zeros(len(self.starts), dtype=bool)
        keep[rows] = True
        body = np.frombuffer(self.data, dtype=np.uint8)[self.header_end + 1:]
        # each record with its line end: the segments tile the body exactly
        return self.data[:self.header_end + 1] + body[np.repeat(keep, self.ends + 1 - self.starts)].tobytes()


def _byte_table(data: bytes) -> _ByteTable | None:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    if not data.endswith(b"\n"):
        data += b"\n"
    if (not data.isascii() or any(c in data for c in (b'"', b"\r", b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e", b"\x1f"))):
        return None
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(raw == 10)
    starts = np.r_[0, ends[:-1] + 1]
    if len(ends) < 2:
        return None
    if (ends == starts).any():   # an empty line: the csv module's reading drops it
        return None
    header = data[:ends[0]].decode("ascii")
    names = header.split(",")
    keys = [normal_name(h) for h in names]
    if keys.count("patient_id") != 1 or len(set(names)) != len(names):
        return None
    column = names[keys.index("patient_id")]
    try:
        table = pacsv.read_csv(pa.py_buffer(data), read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
                               parse_options=pacsv.ParseOptions(quote_char=False, ignore_empty_lines=False),
                               convert_options=pacsv.ConvertOptions(include_columns=[column],
                                                                    column_types={column: pa.string()},
                                                                    strings_can_be_null=False))
    except pa.ArrowInvalid:   # a ragged record: the csv module's reading
        return None
    if table.num_rows != len(ends) - 1:
        return None
    ids = pc.utf8_trim_whitespace(table.column(0).combine_chunks())
    # a blank record (nothing but commas, spaces and tabs) has no id: the csv module's reading drops it
    for row in np.flatnonzero(pc.equal(ids, "").to_numpy(zero_copy_only=False)):
        if not data[starts[row + 1]:ends[row + 1]].strip(b", \t"):
            return None
    body_starts = starts[1:] - (ends[0] + 1)
    return _ByteTable(data, int(ends[0]), body_starts, ends[1:] - (ends[0] + 1), ids)


def _records(path: Path) -> _Table:
    """A CSV table read for splitting, blank records dropped: the usual export as its bytes
    (:class:`_ByteTable`); any other through the csv module, each record written back by it."""
    data = path.read_bytes()
    data = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    fast = _byte_table(data)
    if fast is not None:
        return fast
    text = data.decode("utf-8")
    if '"' in text or "\r" in text:
        rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
        col = [normal_name(h) for h in rows[0]].index("patient_id")
        lines = [_csv_line(r) for r in rows]
        return _Table(lines[0], lines[1:], [r[col].strip() for r in rows[1:]])
    lines = [line for line in text.split("\n") if line.replace(",", "").strip()]
    col = [normal_name(h) for h in lines[0].split(",")].index("patient_id")
    return _Table(lines[0], lines[1:], [line.split(",", col + 1)[col].strip() for line in lines[1:]])


def _csv_line(cells: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(cells)
    return buf.getvalue()


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def split_extract(data_dir: str | Path, out_dir: str | Path, *, seed: int = 20190502,
                  shares=CENTRE_SHARES, names=CENTRE_NAMES) -> dict[str, Path]:
    """Split a CSV extract (``patients.csv``, ``visits.csv``) into one folder per centre, patients
    drawn at random (seeded) in ``shares``; each visit goes with its patient, each cell as written.
    The source folder is only read. Returns {centre name: folder}."""
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    patients = _records(data_dir / "patients.csv")
    visits = _records(data_dir / "visits.csv")
    order = np.random.default_rng(seed).permutation(len(patients))
    cuts = np.floor(np.cumsum(shares)[:-1] * len(patients)).astype(int)
    manifest = {"synthetic": False}
    if (data_dir / "manifest.json").exists():
        manifest["synthetic"] = bool(json.loads((data_dir / "manifest.json").read_text()).get("synthetic", False))
    out = {}
    for name, part in zip(names, np.split(order, cuts)):
        folder = out_dir / name.lower().replace(" ", "_")
        folder.mkdir(parents=True, exist_ok=True)
        _write(folder / "patients.csv", patients.text(np.sort(part)))
        _write(folder / "visits.csv", visits.text(np.flatnonzero(visits.in_ids(patients.ids_of(part)))))
        (folder / "manifest.json").write_text(json.dumps(
            {**manifest, "description": f"{name}: one of {len(names)} centres split from one extract"}, indent=1))
        out[name] = folder
    return out


def run_federated(centres: dict[str, Path], out_json: Path, overrides: dict | None = None, *,
                  python: Path = FEDERATED_PYTHON, centre_term: bool = False, env: dict | None = None,
                  extra_args=()) -> dict:
    """Run the algorithm over ``centres`` through MockAlgorithmClient in ``.venv-federated``."""
    if not Path(python).exists():
        raise MulticentreError("the federated environment is not installed: run 'make multicentre' once "
                               "(it creates .venv-federated from requirements-federated.txt)")
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("MSC_SLE_")}
    run_env["PYTHONPATH"] = os.pathsep.join([str(ALGORITHM_DIR), str(REPO_ROOT / "lib")])
    # every simulated node holds the same fresh secret; the central function never reads it
    run_env["MSC_SLE_CONSORTIUM_SECRET"] = secrets.token_hex(32)
    run_env.update(env or {})
    args = [str(python), "-m", "v6_msc_sle.mock", "--out", str(out_json),
            "--overrides", json.dumps(overrides or {}), *extra_args]
    if centre_term:
        args.append("--centre-term")
    args += [f"{name}={folder}" for name, folder in centres.items()]
    proc = subprocess.run(args, capture_output=True, text=True, env=run_env, cwd=REPO_ROOT)
    if proc.returncode == 2:
        raise MulticentreRefused(proc.stderr.strip().splitlines()[-1])
    if proc.returncode:
        raise MulticentreError(f"the federated run failed:\n{proc.stderr.strip()[-3000:]}")
    return json.loads(Path(out_json).read_text(encoding="utf-8"))


def multicentre_result(params, *, centre_term: bool = False) -> dict:
    """Page 08's analysis: the run's extract split into three centres in a temporary folder, the
    algorithm run over them, the central result returned (the folder is removed)."""
    data_dir = Path(params.get("data_dir") or BUNDLED_DATA)
    # read one by one, so that a page not declaring a node parameter stops (its kept copy would go stale)
    overrides = {k: params[k] for k in _NODE_PARAMETERS}
    with tempfile.TemporaryDirectory(prefix="msc_sle-centres-") as tmp:
        centres = split_extract(data_dir, Path(tmp) / "centres", seed=int(params["seed"]))
        try:
            return run_federated(centres, Path(tmp) / "result.json", overrides, centre_term=centre_term)
        except MulticentreRefused as refusal:
            # an extract too small to split into three centres of the threshold's size (or one a node
            # refuses): the page says so in every table, as the single-site pages say "not computable"
            return {"not_run": str(refusal), "outcome": overrides["outcome"], "bisection_rounds": 0, "rounds": 0}


def _unless_not_run(title: str):
    """A page-08 table, or one line saying why the task did not run."""
    def wrap(function):
        def shown(result: dict, *args, **kwargs):
            if "not_run" in result:
                import pandas as pd
                return _shown(pd.DataFrame({"not computed": [result["not_run"]]}), title)
            return function(result, *args, **kwargs)
        shown.__name__, shown.__doc__ = function.__name__, function.__doc__
        return shown
    return wrap


def rounds_text(result: dict) -> str:
    """How many rounds of questions the centres answered (none when the task did not run)."""
    if "not_run" in result:
        return "The multi-centre task did not run: " + result["not_run"]
    return (f"Medians, quartiles and ranges: {result['bisection_rounds']} rounds of questions to the centres "
            f"({result['rounds']} rounds in all, Firth's model included).")


#: The parameters a node applies (eligibility and response rules, the prednisone split, the model).
_NODE_PARAMETERS = ("outcome", "predictors", "lda_sledai_max", "lda_prednisone_max", "cr_sledai_max",
                    "cr_prednisone_max", "prednisone_cut")


def _shown(frame, title: str, footnotes=()):
    """A frame of display strings as the pages print a table (no index; every cell as written)."""
    from ..present.tables import plain_table

    frame = frame.astype(object).where(frame.notna(), "")
    return plain_table(frame.astype(str), title, formats={c: "text" for c in frame.columns}, footnotes=footnotes)


def _label(name: str) -> str:
    from ..contract import variable

    try:
        return variable(name).display_label
    except KeyError:
        return name


@_unless_not_run("The centres and what each node ran")
def centres_table(result: dict):
    """Provenance per centre: what each node reported running (no count)."""
    import pandas as pd

    return _shown(pd.DataFrame([{"centre": c["centre"], "extract fingerprint (sha256)": c["fingerprint"][:16],
                                 "workbook": c["workbook_version"], "data dictionary (sha256)": c["dictionary_sha256"][:16],
                                 "smallest count let out": c["threshold"], "synthetic": "yes" if c["synthetic"] else "no"}
                                for c in result["centres"]]), "The centres and what each node ran")


@_unless_not_run("Attrition, all centres (pooled, exact) and per centre")
def attrition_frame(result: dict):
    """Attrition overall (pooled, exact) and per centre ([c]: below that centre's threshold)."""
    import pandas as pd

    names = [c["centre"] for c in result["centres"]]
    rows = []
    for r in result["attrition"]:
        row = {"step": r["description"], "excluded": r.get("excluded", ""), "remaining, all centres": r["remaining"]}
        for n in names:
            v = r.get(f"remaining|{n}")
            row[f"remaining, {n}"] = "[c]" if v is None else int(v)
        rows.append(row)
    return _shown(pd.DataFrame(rows), "Attrition, all centres (pooled, exact) and per centre",
                  footnotes=("[c]: below that centre's threshold; the count did not leave the node.",))


def _fmt(x: float) -> str:
    from ..present.format import format_number

    if x != x:
        return "–"
    return str(int(x)) if float(x).is_integer() else format_number(x, 2)


@_unless_not_run("Table 1 across centres")
def table_frame(result: dict, group: str = "all", decimals: int = 1):
    """Table 1 (``group="all"``) from pooled counts: n (%) per level, median (Q1-Q3; range) found
    by bisection on pooled counts."""
    import pandas as pd

    from ..present.format import format_percent

    rows = []
    for r in result["table"]:
        if r["group"] != group:
            continue
        name = r["variable"]
        if name in result["levels"]:
            for level in result["levels"][name]:
                k = r[f"count|{level}"]
                shown = "yes" if level == "True" else ("no" if level == "False" else level)
                rows.append({"variable": _label(name), "level": shown, "n": r["n_valid"],
                             "value": f"{k} ({format_percent(k, r['n_valid'], decimals)}%)"})
        elif "median" in r:
            rows.append({"variable": _label(name), "level": "", "n": r["n_valid"],
                         "value": f"{_fmt(r['median'])} ({_fmt(r['q1'])}-{_fmt(r['q3'])}; "
                                  f"{_fmt(r['min'])}-{_fmt(r['max'])})"})
    return _shown(pd.DataFrame(rows), "Table 1 across centres", footnotes=(
        "n (%) of the patients with the value recorded, from counts summed over centres; median (Q1-Q3; range), "
        "type-6 quantiles found by bisection on pooled counts of values at most x.",))


@_unless_not_run("Table 2 across centres")
def tests_frame(result: dict):
    """Table 2's p-values: Pearson / Fisher on the pooled counts, CMH and van Elteren from every
    centre's terms summed securely (no centre's table leaves it)."""
    import pandas as pd

    from ..present.format import format_p

    # a cell without a p-value says why (the footnotes say what each word means)
    def p(x, why: str):
        return why if x is None else format_p(x)

    rows = []
    for t in result["tests"]:
        categorical = t["kind"] == "categorical"
        pearson = t.get("pearson_p")
        rows.append({"variable": _label(t["variable"]),
                     "Pearson (pooled)": p(pearson, "no test" if categorical else "n/a"),
                     "Fisher (pooled)": p(t.get("fisher_p"), "no test" if categorical and pearson is None else "n/a"),
                     "stratified by centre": p(t.get("cmh_p") if categorical else t.get("van_elteren_p"), "no test"),
                     "test": "CMH" if categorical else "van Elteren"})
    return _shown(pd.DataFrame(rows), f"Table 2 across centres: {result['outcome'].upper()} during 1 year", footnotes=(
        "Pearson and Fisher: on the counts summed over centres (equal to one centre holding every patient). "
        "Stratified by centre: Cochran-Mantel-Haenszel (categories) or van Elteren (continuous) over every centre, "
        "from each centre's terms of the test summed securely (equal to one centre holding every patient, "
        "with the centre as stratum).",
        "n/a: not a test of this variable (Pearson and Fisher compare categories; Fisher's exact test is given "
        "for two levels). no test: nothing to compare (every patient in one level, or in one outcome group).",))


@_unless_not_run("Response rates across centres")
def rates_frame(result: dict, decimals: int = 1):
    """Response rates per visit and during the year (pooled counts, Wilson 95% CIs)."""
    import pandas as pd

    from ..present.tables import rounded_rates

    rates = pd.DataFrame(result["rates"])
    shown = rounded_rates(rates, decimals)
    return _shown(pd.DataFrame({"response": shown["outcome"].str.upper(), "when": shown["when"],
                                "responders": shown["shown"]}), "Response rates across centres",
                  footnotes=("Responders of all analysed patients (a missing visit is not a response), Wilson 95% CIs.",))


@_unless_not_run("Cumulative incidence of first response across centres")
def incidence_frame(result: dict, decimals: int = 1):
    """Cumulative incidence of first response (Kaplan-Meier on pooled per-visit counts)."""
    import pandas as pd

    rows = [r for r in result["incidence"] if "time" in r]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    from ..present.format import format_fixed

    return _shown(pd.DataFrame({"response": frame["outcome"].str.upper(), "month": frame["time"].astype(int),
                                "at risk": frame["n_risk"].astype(int), "events": frame["n_events"].astype(int),
                                "cumulative incidence (%)": [format_fixed(100 * v, decimals) for v in frame["cum_incidence"]]}),
                  "Cumulative incidence of first response across centres",
                  footnotes=("Kaplan-Meier on the visit grid from events and patients at risk summed over centres.",))


@_unless_not_run("Firth logistic model across centres")
def model_frame(result: dict):
    """Firth's model of 07 fitted by federated Newton-Raphson: odds ratios with Wald 95% CIs."""
    import math

    import pandas as pd

    from ..present.format import format_ratio

    m = result["model"]
    if not m:
        return pd.DataFrame()
    rows = []
    for term, b, se in zip(m["terms"], m["coef"], m["std_errors"]):
        if term == "(Intercept)":
            continue
        rows.append({"term": term, "odds ratio (Wald 95% CI)":
                     format_ratio(math.exp(b), math.exp(b - 1.959963984540054 * se), math.exp(b + 1.959963984540054 * se))})
    return _shown(pd.DataFrame(rows), f"Firth logistic model of {m['outcome'].upper()} across centres", footnotes=(
        f"{m['n']} patients, {m['n_events']} with the response; Newton-Raphson on moments summed over centres "
        f"({m['rounds']} rounds{'' if m['converged'] else '; it did NOT converge'}); Wald 95% CIs.",))


def forest_frame(result: dict):
    """For each variable at least one centre could release: the odds ratio of every releasing centre,
    the random-effects pooled one when two or more did, and the odds ratio of the counts summed
    over all centres (exact; the single-site value)."""
    import math

    import pandas as pd

    z = 1.959963984540054
    rows = []
    for t in result.get("tests", ()):
        if not t.get("per_centre"):
            continue
        label = _label(t["variable"])
        for c in t["per_centre"]:
            rows.append({"label": f"{label}: {c['centre']}", "odds_ratio": math.exp(c["log_or"]),
                         "ci_low": math.exp(c["log_or"] - z * c["se"]), "ci_high": math.exp(c["log_or"] + z * c["se"]),
                         "note": ""})
        if "meta" in t:
            m = t["meta"]
            rows.append({"label": f"{label}: random effects", "odds_ratio": math.exp(m["estimate"]),
                         "ci_low": math.exp(m["ci_low"]), "ci_high": math.exp(m["ci_high"]),
                         "note": f"I² {_fmt(m['i2'])}%, τ² {_fmt(m['tau2'])}"})
        left = ", ".join(t.get("centres_withheld") or [])
        p = t["pooled_or"]
        rows.append({"label": f"{label}: all centres (summed counts)", "odds_ratio": p["estimate"],
                     "ci_low": p["ci_low"], "ci_high": p["ci_high"],
                     "note": f"{left}: a cell < {result['threshold']}" if left else ""})
    return pd.DataFrame(rows, columns=["label", "odds_ratio", "ci_low", "ci_high", "note"])
