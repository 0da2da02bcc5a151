"""The run cache (issue 25): the typed cohort hand-off (Parquet + JSON, no pickle), the page cache
(keys, private files, bounded size) and make run reusing exactly the pages whose data, declared
parameters and code are unchanged.

The runner tests use tiny notebooks (one kernel start each); the full workbook's OUTCOME re-run is
marked slow.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import stat
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from cohort_builder import write_extract
from msc_sle.clinical import load_cohort
from msc_sle.contract import Problem
from msc_sle.tools import runner
from msc_sle.tools.runner import RunError, run_workbook
from msc_sle.workbook import cache
from msc_sle.workbook.params import ParameterError, check_parameters


# --------------------------------------------------------------------------- the hand-off

@pytest.fixture(scope="module")
def cohort():
    c = load_cohort()
    # a problem whose value is a numpy number, as the loader's checks can give
    return dataclasses.replace(c, details=c.details + (Problem("visits.csv", 7, "sledai_total", np.int64(12),
                                                               "recorded total differs", mapping="l. 3"),))


def test_the_hand_off_gives_back_the_cohort_with_every_dtype(cohort, tmp_path):
    folder = cache.write_cohort(cohort, tmp_path / "handoff")
    assert sorted(p.name for p in folder.iterdir()) == ["cohort.json", "patients.parquet", "visits.parquet"]
    back = cache.read_cohort(folder, cohort.fingerprint)
    for name in ("patients", "visits"):
        pd.testing.assert_frame_equal(getattr(back, name), getattr(cohort, name), check_exact=True)
        assert list(getattr(back, name).dtypes.astype(str)) == list(getattr(cohort, name).dtypes.astype(str))
    for f in dataclasses.fields(cohort):
        if f.name not in ("patients", "visits", "details"):
            assert getattr(back, f.name) == getattr(cohort, f.name), f.name
    assert back.details[:-1] == cohort.details[:-1]
    assert back.details[-1] == dataclasses.replace(cohort.details[-1], value=12)
    # patient-level data: the owner's only
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o600}


def test_a_hand_off_that_does_not_match_is_not_read(cohort, tmp_path):
    folder = cache.write_cohort(cohort, tmp_path / "handoff")
    assert cache.read_cohort(folder, "0" * 64) is None  # another extract's fingerprint
    # a table rewritten (one value changed): its digest no longer is the sidecar's
    visits = pd.read_parquet(folder / "visits.parquet")
    visits.loc[0, "month"] = 3
    visits.to_parquet(folder / "visits.parquet", index=False)
    assert cache.read_cohort(folder, cohort.fingerprint) is None
    # the sidecar made to match the rewritten file: the dtypes still have to be the contract's
    folder = cache.write_cohort(cohort, tmp_path / "handoff2")
    patients = pd.read_parquet(folder / "patients.parquet")
    patients["sex"] = patients["sex"].astype("string")
    patients.to_parquet(folder / "patients.parquet", index=False)
    side = json.loads((folder / "cohort.json").read_text())
    side["tables"]["patients"]["sha256"] = cache._sha256(folder / "patients.parquet")
    (folder / "cohort.json").write_text(json.dumps(side))
    assert cache.read_cohort(folder, cohort.fingerprint) is None
    side["tables"]["patients"]["dtypes"]["sex"] = "string"
    (folder / "cohort.json").write_text(json.dumps(side))
    assert cache.read_cohort(folder, cohort.fingerprint) is not None  # the check is the dtypes, nothing else


def test_a_kernel_reads_the_hand_off_of_its_own_run_only(cohort, tmp_path, monkeypatch):
    folder = cache.write_cohort(cohort, tmp_path / "handoff")
    monkeypatch.setenv(cache.HANDOFF_ENV, str(folder))
    monkeypatch.setenv(cache.FINGERPRINT_ENV, cohort.fingerprint)
    assert cache.cached_cohort(cohort.source).fingerprint == cohort.fingerprint
    assert cache.cached_cohort(tmp_path) is None  # another extract
    monkeypatch.setenv(cache.FINGERPRINT_ENV, "f" * 64)
    assert cache.cached_cohort(cohort.source) is None
    monkeypatch.delenv(cache.HANDOFF_ENV)
    assert cache.cached_cohort(cohort.source) is None


# --------------------------------------------------------------------------- the page cache

def _page(folder: Path, size: int) -> tuple[Path, Path]:
    folder.mkdir(parents=True)
    (folder / "nb.ipynb").write_bytes(b"x" * size)
    (folder / "files" / "tables").mkdir(parents=True)
    (folder / "files" / "tables" / "t.csv").write_text("a\n1\n")
    return folder / "nb.ipynb", folder / "files"


def test_the_page_cache_is_private_and_keeps_whole_entries(tmp_path):
    pages = cache.PageCache(tmp_path / "cache")
    nb, files = _page(tmp_path / "src", 10)
    assert pages.lookup("01_x", "k" * 64) is None
    entry = pages.store("01_x", "k" * 64, nb, files, {"records": {"a": 1}})
    assert pages.lookup("01_x", "k" * 64) == entry and pages.lookup("01_x", "j" * 64) is None
    assert (entry / "files" / "tables" / "t.csv").read_text() == "a\n1\n"
    assert json.loads((entry / "entry.json").read_text())["records"] == {"a": 1}
    modes = {stat.S_IMODE(p.stat().st_mode) for p in [pages.folder, *pages.folder.rglob("*")]}
    assert modes == {0o700, 0o600}
    assert not list(pages.folder.glob(".new-*"))  # written aside, then renamed into place


def test_a_cache_folder_others_can_read_is_not_used(tmp_path):
    (tmp_path / "cache").mkdir(mode=0o755)
    os.chmod(tmp_path / "cache", 0o755)
    pages = cache.PageCache(tmp_path / "cache")
    nb, files = _page(tmp_path / "src", 10)
    assert not pages.usable
    assert pages.store("01_x", "k" * 64, nb, files, {}) is None and not any((tmp_path / "cache").iterdir())


def test_the_page_cache_evicts_the_least_recently_used_entries_beyond_its_bound(tmp_path):
    pages = cache.PageCache(tmp_path / "cache", max_bytes=2500)
    entries = []
    for i in range(4):
        nb, files = _page(tmp_path / f"src{i}", 1000)
        entries.append(pages.store(f"0{i}_x", f"{i}" * 64, nb, files, {}))
        os.utime(entries[-1], (1000 + i, 1000 + i))
    os.utime(entries[0], (2000, 2000))  # the oldest entry was reused last
    removed = pages.evict()
    assert sorted(removed) == sorted([entries[1].name, entries[2].name])
    assert [e.exists() for e in entries] == [True, False, False, True]
    assert pages.evict() == []


# --------------------------------------------------------------------------- the runner

READS = ("data_dir", "out_dir", "small_cell_min", "decimals")
PAGE = """
from msc_sle.workbook.params import check_parameters
from msc_sle.workbook.notebook import open_cohort, save_table, record
params = check_parameters(**overrides).declared(reads)
cohort = open_cohort(params)
save_table(cohort.patients[["sex"]].value_counts().rename("n").reset_index(), "sex_{name}", params["out_dir"])
print("decimals", params["decimals"], "patients", len(cohort.patients))
record("reproduction_score", "7 of 9")
"""


def _notebook(path: Path, body: str, reads=READS) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# tiny"),
                nbformat.v4.new_code_cell(f"overrides = {{}}\nreads = {tuple(reads)!r}",
                                          metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, str(path))


@pytest.fixture()
def pages(tmp_path):
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    _notebook(nbdir / "a.ipynb", PAGE.format(name="a"))
    _notebook(nbdir / "b.ipynb", PAGE.format(name="b"), reads=READS + ("outcome",))
    return nbdir


def _run(pages, data, out, **kw):
    said = []
    params = {"data_dir": str(data), **kw.pop("params", {})}
    run_workbook(dict(check_parameters(**params)), out, jobs=2, notebooks=("a", "b"), notebooks_dir=pages,
                 progress=said.append, **kw)
    return {m.split()[1]: m.split()[2] for m in said if m.startswith("  [")}


def _without_provenance(out: Path) -> dict[str, bytes]:
    """Every file of a bundle, the provenance (date, commit, versions) taken out."""
    files = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out).as_posix()
        if rel in ("provenance.json", runner.MARKER):
            continue
        data = path.read_bytes()
        if rel.endswith(".ipynb"):
            nb = json.loads(data)
            nb["metadata"].pop("msc_sle")
            data = json.dumps(nb).encode()
        elif rel.endswith(".html"):
            assert data.count(b"Run date") == (rel != "html/appendix.html"), rel  # each page has its provenance
            data = re.sub(rb"<table class=[\"']msc-provenance[\"']>.*?</table></td></tr></table>", b"", data,
                          flags=re.S)
        elif rel.endswith((".xlsx", ".docx")):  # their creation time is provenance too
            with zipfile.ZipFile(path) as z:
                data = b"".join(n.encode() + z.read(n) for n in z.namelist() if n != "docProps/core.xml")
        files[rel] = data
    return files


def test_an_unchanged_run_reuses_every_page_and_writes_the_same_bundle(pages, tmp_path):
    data = write_extract(tmp_path / "extract", n_patients=6)
    out = tmp_path / "o"
    assert _run(pages, data, out) == {"a": "done", "b": "done"}
    cold = _without_provenance(out)
    assert _run(pages, data, out) == {"a": "reused", "b": "reused"}
    assert _without_provenance(out) == cold
    # FRESH=1: every page executed again (and kept again)
    assert _run(pages, data, out, fresh=True) == {"a": "done", "b": "done"}
    assert _without_provenance(out) == cold
    # kept for another OUT, whose name the page with code shows: the pages are rendered again
    assert _run(pages, data, tmp_path / "other") == {"a": "reused", "b": "reused"}
    assert "other" in (tmp_path / "other" / "html" / "a.html").read_text()
    # the cache is beside OUT with the run's other temporary folders, the owner's only
    work = tmp_path / runner.WORK_DIR / runner.CACHE_DIR
    assert stat.S_IMODE(work.stat().st_mode) == 0o700 and len(list(work.iterdir())) == 2


def test_only_the_pages_that_declare_a_changed_parameter_run_again(pages, tmp_path):
    data = write_extract(tmp_path / "extract", n_patients=6)
    _run(pages, data, tmp_path / "o")
    assert _run(pages, data, tmp_path / "o", params={"outcome": "lda"}) == {"a": "reused", "b": "done"}
    assert _run(pages, data, tmp_path / "o", params={"outcome": "lda", "decimals": 2}) == {"a": "done", "b": "done"}
    assert "decimals 2" in (tmp_path / "o" / "notebooks" / "a.ipynb").read_text()
    # the page with code shows the parameters the page was given: its declared ones
    shown = (tmp_path / "o" / "html" / "a.html").read_text()
    assert "decimals" in shown and "&quot;outcome&quot;" not in shown and "'outcome'" not in shown


def test_a_changed_cell_code_or_extract_runs_the_page_again(pages, tmp_path, monkeypatch):
    data = write_extract(tmp_path / "extract", n_patients=6)
    _run(pages, data, tmp_path / "o")
    _notebook(pages / "a.ipynb", PAGE.format(name="a") + "\nprint('one more line')")
    assert _run(pages, data, tmp_path / "o") == {"a": "done", "b": "reused"}
    monkeypatch.setattr(runner, "_code_digest", lambda: "another library")
    assert _run(pages, data, tmp_path / "o") == {"a": "done", "b": "done"}
    visits = data / "visits.csv"
    visits.write_text(visits.read_text().replace("\n", "\r\n"))  # same values, other bytes: another fingerprint
    assert _run(pages, data, tmp_path / "o") == {"a": "done", "b": "done"}


def test_a_page_that_reads_a_parameter_it_does_not_declare_stops_the_run(pages, tmp_path):
    data = write_extract(tmp_path / "extract", n_patients=6)
    _notebook(pages / "a.ipynb", PAGE.format(name="a") + "\nparams['outcome']")
    with pytest.raises(RunError, match=r"a: .*reads the parameter outcome \(OUTCOME\), which its parameters cell "
                                       r"does not declare"):
        _run(pages, data, tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_a_parameters_cell_without_reads_is_refused(pages, tmp_path):
    nb = nbformat.read(str(pages / "a.ipynb"), as_version=4)
    nb.cells[1].source = "overrides = {}"
    nbformat.write(nb, str(pages / "a.ipynb"))
    with pytest.raises(RunError, match=r"a: its parameters cell must assign the dict 'overrides' .* and the tuple "
                                       r"'reads'"):
        runner.declared_reads(pages / "a.ipynb")
    nb.cells[1].source = "overrides = {}\nreads = ('outcome', 'colour')"
    nbformat.write(nb, str(pages / "a.ipynb"))
    with pytest.raises(RunError, match="unknown parameter.*colour"):
        runner.declared_reads(pages / "a.ipynb")


def test_declared_params_refuse_undeclared_reads_except_under_disclosure():
    params = check_parameters(outcome="lda").declared(("decimals", "lda_sledai_max", "lda_prednisone_max",
                                                        "small_cell_min"))
    assert params.lda().sledai_max == 4 and "outcome" not in params and params.changed() == {}
    with pytest.raises(ParameterError, match="outcome"):
        params.outcome_definition()
    with pytest.raises(ParameterError, match="unknown"):
        check_parameters().declared(("colour",))
    # with small counts withheld the disclosure plan reads every parameter, and every page is keyed on all
    shared = check_parameters(outcome="lda", small_cell_min=5).declared(("small_cell_min",))
    assert shared.outcome == "lda" and shared.changed() == {"outcome": "lda", "small_cell_min": 5}
    assert params.analysis()["outcome"] == "lda"  # the provenance record keeps its shape


def test_the_provenance_slot_prints_what_rendering_the_provenance_prints(tmp_path):
    """The pages are rendered (and kept) with a slot the runner fills: the result is the page that
    rendering the provenance box itself gives."""
    from nbconvert import HTMLExporter

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# page"), nbformat.v4.new_code_cell("1")]
    prov = {"synthetic": True, "data": "data/synthetic", "patients": 3, "visits": 9, "data_fingerprint": "ab" * 32,
            "parameters": {"outcome": "lda", "alpha": 0.05}, "commit": "abc", "date": "2026-12-06T18:00:00+00:00",
            "versions": {"python": "3.11"}, "mode": "run"}
    filled = runner._with_provenance(runner._render_pages(nb, False)[".html"], prov)
    direct = nbformat.v4.new_notebook(cells=[nb.cells[0], nbformat.v4.new_markdown_cell(
        "<details class='msc-provenance'><summary><b>Provenance</b> (data, parameters, versions)</summary>\n\n"
        + runner.provenance_html(prov) + "\n\n</details>", id="msc-provenance"), nb.cells[1]])
    exporter = HTMLExporter(template_name="offline", extra_template_basedirs=[str(runner.TEMPLATES / "nbconvert")])
    assert filled == exporter.from_notebook_node(direct)[0]


@pytest.mark.slow
def test_outcome_lda_after_a_default_run_runs_only_the_pages_that_declare_it(tmp_path):
    """Done-when of issue 25: the progress lines say which pages ran, and the bundle is the one a
    cold run with OUTCOME=lda writes, provenance aside."""
    def run(out, **kw):
        said = []
        run_workbook(dict(check_parameters(**kw.pop("params", {}))), out, jobs=2, progress=said.append, **kw)
        return {m.split()[1]: m.split()[2] for m in said if m.startswith("  [")}

    out = tmp_path / "o"
    run(out)
    status = run(out, params={"outcome": "lda"})
    declaring = {n for n in runner.NOTEBOOKS if "outcome" in runner.declared_reads(runner.NOTEBOOKS_DIR / f"{n}.ipynb")}
    assert declaring == {"04_predictors", "07_models", "08_multicentre"}
    assert status == {n: "done" if n in declaring else "reused" for n in runner.NOTEBOOKS}
    incremental = _without_provenance(out)
    run(out, params={"outcome": "lda"}, fresh=True)
    assert _without_provenance(out) == incremental
