"""Headless runs of the workbook: ``make run``, ``make notebooks`` and ``make share``.

``python -m msc_sle.tools.runner run DATA=<dir> OUT=<dir> JOBS=<n> [NAME=value ...]``
    validates every parameter and the extract, then executes the notebooks with papermill
    (``JOBS`` at a time) into a temporary sibling of OUT: ``notebooks/`` (executed), ``html/``
    (with code, and ``*.clinical.html`` without), ``tables/`` (CSV + XLSX), ``figures/`` (PNG + SVG),
    ``index.html`` and ``provenance.json``.  Only when everything succeeded is it swapped into OUT,
    so a failed run leaves the previous OUT untouched and no partial files.
``python -m msc_sle.tools.runner share ... [SHARE_MIN=5]``
    the same with counts below SHARE_MIN shown as "<SHARE_MIN"; the bundle keeps the code-hidden
    HTML, tables, figures and index only (for circulation outside the care team).
``python -m msc_sle.tools.runner refresh``
    re-executes the stored notebooks in place on the bundled SYNTHETIC cohort (nbval references).
``python -m msc_sle.tools.runner run LIST_PARAMS=1``
    lists the parameters with defaults and meaning.

Every error (bad parameter, bad extract, failing notebook) is printed as one readable message with
exit status 2 and no Python traceback (set ``MSC_SLE_DEBUG=1`` to see it).
"""
from __future__ import annotations

import ast
import concurrent.futures as cf
import datetime as _dt
import html
import json
import re
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Mapping

from ..contract import REPO_ROOT
from ..workbook.cache import CACHE_ENV, write_cohort_cache
from ..workbook.notebook import RECORD_MIMETYPE
from ..workbook.params import ParameterError, check_parameters, parameter_help, parse_assignments

__all__ = ["NOTEBOOKS", "NOTEBOOKS_DIR", "RunError", "RunResult", "declared_parameters", "run_workbook",
           "refresh_notebooks", "main", "RECORD_MIMETYPE", "MARKER", "PARAMETERS_NAME"]

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
#: The notebooks in reading order.
NOTEBOOKS = ("01_cohort", "02_baseline", "03_response", "04_predictors", "05_explore", "06_reproduction",
             "07_models")
#: File that marks a folder as written by the runner: only such a folder is ever replaced.
MARKER = ".msc_sle_output"
KERNEL = "python3"
#: Packages whose versions each HTML page shows.
PROVENANCE_PACKAGES = ("msc-sle", "pandas", "numpy", "scipy", "statsmodels", "firthmodels", "matplotlib",
                       "pandera", "papermill", "nbconvert", "ipywidgets")
RUNNER_OPTIONS = ("JOBS", "LIST_PARAMS", "SHARE_MIN")


class RunError(RuntimeError):
    """A run could not complete; the message is what the user reads."""


@dataclass(frozen=True)
class RunResult:
    out: Path
    seconds: float
    notebook_seconds: Mapping[str, float]
    records: Mapping[str, Any]
    provenance: Mapping[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- parameters

#: The one name every notebook's parameters cell assigns: a dict of parameter overrides.
PARAMETERS_NAME = "overrides"


def declared_parameters(notebook: str | Path) -> dict[str, Any]:
    """Name -> default of the assignments in the notebook's ``parameters``-tagged cell.

    The workbook's notebooks assign one dict, ``overrides`` (:data:`PARAMETERS_NAME`), which the
    runner fills with the whole validated parameter set.
    """
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            out = {}
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    out[node.targets[0].id] = ast.literal_eval(node.value)
            return out
    raise RunError(f"{Path(notebook).name} has no cell tagged 'parameters'")


# --------------------------------------------------------------------------- provenance

def _git_commit() -> str:
    try:
        head = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short=12", "HEAD"],
                              capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return "unknown (not a git checkout)"
        dirty = subprocess.run(["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no",
                                "--", "lib", "notebooks"], capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown (git not available)"


def _versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for name in PROVENANCE_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def _display_path(path: Path) -> str:
    """Repository-relative when inside the repository, so provenance does not depend on the clone."""
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def collect_provenance(cohort, params: Mapping[str, Any], mode: str) -> dict[str, Any]:
    shown = {k: v for k, v in params.items() if k not in ("data_dir", "out_dir")}
    return {
        "data": _display_path(Path(cohort.source)),
        "data_fingerprint": cohort.fingerprint,
        "synthetic": bool(cohort.synthetic),
        "patients": int(len(cohort.patients)),
        "visits": int(len(cohort.visits)),
        "parameters": shown,
        "versions": _versions(),
        "commit": _git_commit(),
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "mode": mode,
    }


# --------------------------------------------------------------------------- execution

def _execute(src: Path, dst: Path, parameters: Mapping[str, Any], cwd: Path) -> None:
    import logging

    import papermill as pm

    # The runner validated the parameters itself; papermill's parse warnings would only confuse.
    logging.getLogger("papermill").setLevel(logging.ERROR)
    pm.execute_notebook(str(src), str(dst), parameters=dict(parameters), kernel_name=KERNEL,
                        cwd=str(cwd), progress_bar=False, log_output=False,
                        # the kernel's TCP-transport warning is noise on the user's terminal
                        extra_arguments=["--IPKernelApp.log_level=CRITICAL"])


def _failure_message(name: str, err: BaseException) -> str:
    ename = getattr(err, "ename", None)
    if ename is not None:  # papermill.PapermillExecutionError: the kernel raised
        evalue = str(getattr(err, "evalue", "")).strip()
        where = f"cell {err.exec_count}" if getattr(err, "exec_count", None) else "a cell"
        if ename in ("DataError", "ParameterError"):
            return f"{name}: {evalue}"
        return (f"notebook {name} failed in {where}: {ename}: {evalue}\n"
                f"Open notebooks/{name}.ipynb in JupyterLab (make lab) to see the full traceback.")
    return f"notebook {name} could not run: {type(err).__name__}: {err}"


def _run_notebooks(jobs: list[tuple[str, Path, Path, dict]], n_jobs: int, cwd: Path,
                   progress: Callable[[str], None], after: Callable[[str, Path], None] | None = None
                   ) -> dict[str, float]:
    """Execute (name, src, dst, parameters) jobs, ``n_jobs`` at a time; stop at the first failure.

    ``after(name, dst)`` runs in the same worker once a notebook has executed (post-processing and
    HTML rendering overlap with the other notebooks' kernels).
    """
    seconds: dict[str, float] = {}
    total = len(jobs)
    n_jobs = max(1, n_jobs)

    def one(job):
        name, src, dst, params = job
        t0 = time.perf_counter()
        _execute(src, dst, params, cwd)
        elapsed = time.perf_counter() - t0
        if after is not None:
            after(name, dst)
        return elapsed

    progress(f"Running {total} notebooks, {n_jobs} at a time: " + ", ".join(j[0] for j in jobs))
    with cf.ThreadPoolExecutor(max_workers=n_jobs) as pool:
        futures = {pool.submit(one, job): job[0] for job in jobs}
        failure = None
        for fut in cf.as_completed(futures):
            name = futures[fut]
            try:
                seconds[name] = fut.result()
            except RunError as err:
                failure = failure or str(err)
            except Exception as err:  # noqa: BLE001 - reported as one message below
                failure = failure or _failure_message(name, err)
            else:
                progress(f"  [{len(seconds)}/{total}] {name} done in {seconds[name]:.1f} s")
                continue
            for other in futures:
                other.cancel()
        if failure is not None:
            raise RunError(failure)
    return seconds


def _records(nb) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if RECORD_MIMETYPE in data:
                rec = data[RECORD_MIMETYPE]
                out[rec["name"]] = rec["value"]
    return out


def _clean_metadata(nb) -> None:
    """Drop papermill's timing metadata so stored notebooks do not change when nothing changed."""
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.metadata.get("tags") == []:
            cell.metadata.pop("tags")


def _stable_widget_ids(nb):
    """ipywidgets get a random model id on every run; renumber them (in the outputs and in the saved
    widget state alike) in the order they are reached from the notebook's outputs, so a refresh that
    changes no result changes no byte."""
    import nbformat

    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    if not state:
        return nb
    order: list[str] = []

    def visit(model_id: str) -> None:
        if model_id in order or model_id not in state:
            return
        order.append(model_id)
        for ref in re.findall(r"IPY_MODEL_([0-9a-f]{32})", json.dumps(state[model_id], sort_keys=True)):
            visit(ref)

    for cell in nb.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get("application/vnd.jupyter.widget-view+json")
            if view:
                visit(view["model_id"])
    order += sorted((m for m in state if m not in order), key=lambda m: json.dumps(state[m], sort_keys=True))
    text = nbformat.writes(nb)
    for index, model_id in enumerate(order):
        text = text.replace(model_id, f"{index + 1:032x}")
    nb = nbformat.reads(text, as_version=4)
    saved = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]
    saved["state"] = dict(sorted(saved["state"].items()))
    return nb


# --------------------------------------------------------------------------- HTML

def _provenance_markdown(prov: Mapping[str, Any]) -> str:
    params = ", ".join(f"{k}={v!r}" for k, v in prov["parameters"].items())
    versions = ", ".join(f"{k} {v}" for k, v in prov["versions"].items())
    kind = "SYNTHETIC cohort" if prov["synthetic"] else "patient extract"
    lines = [
        "<details open class='msc-provenance'><summary><b>Provenance</b></summary>\n",
        "| | |", "|---|---|",
        f"| Data | `{prov['data']}` ({kind}; {prov['patients']} patients, {prov['visits']} visits) |",
        f"| Data fingerprint (sha256) | `{prov['data_fingerprint']}` |",
        f"| Parameters | `{params}` |",
        f"| Workbook commit | `{prov['commit']}` |",
        f"| Run date | {prov['date']} |",
        f"| Packages | {versions} |",
    ]
    if prov.get("mode") == "share":
        lines.append(f"| Sharing | counts below {prov['parameters'].get('small_cell_min')} shown as "
                     f"'<{prov['parameters'].get('small_cell_min')}' |")
    return "\n".join(lines) + "\n\n</details>"


_EXPORTERS = threading.local()


def _render_html(nb, prov: Mapping[str, Any], dst_code: Path | None, dst_clinical: Path) -> None:
    import copy

    import nbformat
    from nbconvert import HTMLExporter

    exporters = getattr(_EXPORTERS, "pair", None)
    if exporters is None:  # building an exporter costs more than rendering with it: one pair per thread
        exporters = _EXPORTERS.pair = (
            HTMLExporter(template_name="lab"),
            HTMLExporter(template_name="lab", exclude_input=True, exclude_input_prompt=True,
                         exclude_output_prompt=True))
    page = copy.deepcopy(nb)
    page.cells.insert(1 if page.cells and page.cells[0].cell_type == "markdown" else 0,
                      nbformat.v4.new_markdown_cell(_provenance_markdown(prov)))
    if dst_code is not None:
        body, _ = exporters[0].from_notebook_node(page)
        dst_code.write_text(body, encoding="utf-8")
    body, _ = exporters[1].from_notebook_node(page)
    dst_clinical.write_text(body, encoding="utf-8")


def _index_html(out: Path, names: list[str], prov: Mapping[str, Any], records: Mapping[str, Any],
                share: bool) -> str:
    esc = html.escape
    title = "MSC-SLE workbook" + (" (shared bundle)" if share else "")
    banner = ("<p class='banner'>SYNTHETIC DATA: generated to match the published tables; not patient data, "
              "no clinical conclusions.</p>" if prov["synthetic"] else "")
    rows = []
    for name in names:
        links = []
        if (out / "html" / f"{name}.clinical.html").exists():
            links.append(f"<a href='html/{name}.clinical.html'>report</a>")
        if (out / "html" / f"{name}.html").exists():
            links.append(f"<a href='html/{name}.html'>with code</a>")
        if (out / "notebooks" / f"{name}.ipynb").exists():
            links.append(f"<a href='notebooks/{name}.ipynb'>notebook</a>")
        rows.append(f"<li><b>{esc(name)}</b>: {' &middot; '.join(links)}</li>")
    tables = sorted(p.name for p in (out / "tables").glob("*") if p.is_file())
    figures = sorted(p.stem for p in (out / "figures").glob("*.png"))
    table_items = "".join(f"<li><a href='tables/{esc(t)}'>{esc(t)}</a></li>" for t in tables) or "<li>(none)</li>"
    figure_items = "".join(
        f"<figure><a href='figures/{esc(f)}.svg'><img src='figures/{esc(f)}.png' alt='{esc(f)}'></a>"
        f"<figcaption>{esc(f)} (<a href='figures/{esc(f)}.png'>PNG</a>, <a href='figures/{esc(f)}.svg'>SVG</a>)"
        "</figcaption></figure>" for f in figures) or "<p>(none)</p>"
    score = records.get("reproduction_score")
    score_html = f"<p class='score'>Reproduction score: <b>{esc(str(score))}</b></p>" if score is not None else ""
    prov_rows = "".join(
        f"<tr><th>{esc(k)}</th><td><code>{esc(json.dumps(v) if isinstance(v, dict) else str(v))}</code></td></tr>"
        for k, v in prov.items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }}
.banner {{ background: #fde68a; border: 2px solid #b45309; padding: .6rem; font-weight: bold; }}
figure {{ display: inline-block; width: 18rem; margin: .5rem; vertical-align: top; }}
figure img {{ width: 100%; border: 1px solid #ccc; }}
table {{ border-collapse: collapse; font-size: .85rem; }} th, td {{ border: 1px solid #ddd; padding: .2rem .4rem;
text-align: left; vertical-align: top; }} code {{ word-break: break-all; }}
</style></head><body>
<h1>{esc(title)}</h1>
{banner}
<p>Re-analysis of Wen et al. (2019), Stem Cells International: response to allogeneic MSC transplantation in
refractory SLE. Read the notebooks in order; the <i>report</i> versions hide the code.</p>
{score_html}
<h2>Notebooks</h2><ol>{''.join(rows)}</ol>
<h2>Tables (CSV and XLSX)</h2><ul>{table_items}</ul>
<h2>Figures</h2>{figure_items}
<h2>Provenance</h2><table>{prov_rows}</table>
</body></html>
"""


# --------------------------------------------------------------------------- output folder

def _check_out(out: Path, data_dir: Path) -> None:
    out_r, data_r = out.resolve(), data_dir.resolve()
    if out_r == data_r or data_r in out_r.parents or out_r in data_r.parents:
        raise RunError(f"OUT={out} overlaps DATA={data_dir}: the extract folder is read-only for the workbook; "
                       "choose an output folder outside it")
    if out_r == REPO_ROOT or out_r in REPO_ROOT.parents:
        raise RunError(f"OUT={out} would replace the workbook itself; choose a dedicated folder such as reports/")
    if out.exists():
        if not out.is_dir():
            raise RunError(f"OUT={out} exists and is not a folder")
        if any(out.iterdir()) and not (out / MARKER).exists():
            raise RunError(f"OUT={out} exists and was not written by 'make run'; it is left alone. "
                           "Choose another OUT or empty that folder")


def _readable(root: Path) -> None:
    """Give the bundle the modes of ordinary new files (mkdtemp/mkstemp create them private)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(root, 0o777 & ~umask)
    for path in root.rglob("*"):
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~umask)


def _swap_into(tmp: Path, out: Path) -> None:
    """Replace ``out`` by ``tmp`` (same parent, so both renames are atomic on one filesystem)."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
        old.rmdir()
        out.rename(old)
    try:
        tmp.rename(out)
    except OSError:
        if old is not None:
            old.rename(out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------- run

def _load(data_dir: Path):
    from ..clinical import load_cohort

    if not data_dir.is_dir():
        raise RunError(f"DATA={data_dir} is not a folder (expected a folder with the patients and visits tables)")
    return load_cohort(data_dir)


def run_workbook(params: Mapping[str, Any], out: str | Path, jobs: int = 2, *, share: bool = False,
                 notebooks: tuple[str, ...] = NOTEBOOKS, notebooks_dir: Path = NOTEBOOKS_DIR,
                 progress: Callable[[str], None] = print) -> RunResult:
    """Execute the notebooks on ``params['data_dir']`` and swap the rendered bundle into ``out``.

    ``params`` are notebook parameters (checked again here); every notebook receives all of them
    (as its ``overrides`` dict), with ``data_dir``/``out_dir`` made absolute.  Raises :class:`RunError`,
    :class:`~msc_sle.workbook.params.ParameterError` or :class:`~msc_sle.contract.DataError`; on any error ``out``
    is untouched.
    """
    import nbformat

    t_start = time.perf_counter()
    params = dict(check_parameters(**{k: v for k, v in params.items() if k != "out_dir"}))
    from ..contract import BUNDLED_DATA

    data_dir = Path(params["data_dir"] or BUNDLED_DATA).expanduser().absolute()
    out = Path(out).expanduser().absolute()
    sources = {name: notebooks_dir / f"{name}.ipynb" for name in notebooks}
    missing = [str(p) for p in sources.values() if not p.exists()]
    if missing:
        raise RunError("notebook(s) missing: " + ", ".join(missing))
    for name, src in sources.items():
        if set(declared_parameters(src)) != {PARAMETERS_NAME}:
            raise RunError(f"{name}: its parameters cell must assign exactly one dict, {PARAMETERS_NAME!r} "
                           "(every notebook receives the whole parameter set)")

    _check_out(out, data_dir)
    progress(f"Checking the extract in {data_dir} ...")
    cohort = _load(data_dir)
    progress(f"  {len(cohort.patients)} patients, {len(cohort.visits)} visits"
             + ("  [SYNTHETIC cohort]" if cohort.synthetic else ""))

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.building-"))
    cache_dir = Path(tempfile.mkdtemp(prefix="msc_sle-cohort-"))  # 0700, outside OUT: patient-level data
    previous_cache = os.environ.get(CACHE_ENV)
    try:
        # validated once, here; each notebook's kernel (which inherits this environment) reuses it
        os.environ[CACHE_ENV] = str(write_cohort_cache(cohort, cache_dir / "cohort.pkl"))
        for sub in ("notebooks", "html", "tables", "figures"):
            (tmp / sub).mkdir()
        params["data_dir"] = str(data_dir)
        params["out_dir"] = str(tmp)
        mode = "share" if share else "run"
        prov = collect_provenance(cohort, params, mode)
        jobs_list = [(name, sources[name], tmp / "notebooks" / f"{name}.ipynb", {PARAMETERS_NAME: dict(params)})
                     for name in notebooks]
        records: dict[str, Any] = {}

        def finish(name: str, path: Path) -> None:
            nb = nbformat.read(str(path), as_version=4)
            _clean_metadata(nb)
            for cell in nb.cells:  # the injected out_dir names the build folder; show the final one
                if "injected-parameters" in cell.metadata.get("tags", []):
                    cell.source = cell.source.replace(str(tmp), str(out))
            nb_records = _records(nb)
            seen = nb_records.get("provenance", {}).get("data_fingerprint")
            if seen is not None and seen != cohort.fingerprint:
                raise RunError(f"{name} ran on data with fingerprint {seen[:12]}..., not the checked extract "
                               f"{cohort.fingerprint[:12]}...: was the extract modified during the run?")
            records.update({k: v for k, v in nb_records.items() if k != "provenance"})
            nb.metadata["msc_sle"] = {**prov, "notebook": name}
            nbformat.write(nb, str(path))
            _render_html(nb, prov, None if share else tmp / "html" / f"{name}.html",
                         tmp / "html" / f"{name}.clinical.html")

        seconds = _run_notebooks(jobs_list, jobs, notebooks_dir, progress, after=finish)
        if share:  # the shared bundle is the rendered reports only
            shutil.rmtree(tmp / "notebooks")
        (tmp / "provenance.json").write_text(json.dumps({**prov, "records": records}, indent=2, default=str),
                                             encoding="utf-8")
        (tmp / "index.html").write_text(_index_html(tmp, list(notebooks), prov, records, share), encoding="utf-8")
        (tmp / MARKER).write_text("Written by msc_sle.tools.runner; replaced wholesale by the next run.\n")
        _readable(tmp)
        _swap_into(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
        if previous_cache is None:
            os.environ.pop(CACHE_ENV, None)
        else:
            os.environ[CACHE_ENV] = previous_cache
    return RunResult(out, time.perf_counter() - t_start, seconds, records, prov)


def refresh_notebooks(notebooks: tuple[str, ...] = NOTEBOOKS, notebooks_dir: Path = NOTEBOOKS_DIR,
                      jobs: int = 2, progress: Callable[[str], None] = print) -> dict[str, float]:
    """Re-execute the stored notebooks in place on the bundled SYNTHETIC cohort with default parameters.

    Each paired jupytext script (``notebooks/*.py``) is synced first (the newer file wins), so an
    edit to either is picked up; the notebooks are replaced only when every one succeeded.
    """
    import nbformat

    from ..clinical import load_cohort

    cohort = load_cohort()
    if not cohort.synthetic:
        raise RunError("the bundled data/synthetic is not marked synthetic (manifest.json): refusing to store "
                       "its outputs in the notebooks, which are committed")
    _jupytext_sync([notebooks_dir / f"{n}.ipynb" for n in notebooks])
    tmp = Path(tempfile.mkdtemp(prefix="msc_sle_refresh-"))
    try:
        jobs_list = [(n, notebooks_dir / f"{n}.ipynb", tmp / f"{n}.ipynb", {}) for n in notebooks]
        seconds = _run_notebooks(jobs_list, jobs, notebooks_dir, progress)
        for name in notebooks:
            nb = nbformat.read(str(tmp / f"{name}.ipynb"), as_version=4)
            _clean_metadata(nb)
            nb = _stable_widget_ids(nb)
            # Deliberately no date, commit or versions: stored notebooks change only when results do.
            nb.metadata["msc_sle"] = {"data": _display_path(Path(cohort.source)),
                                      "data_fingerprint": cohort.fingerprint, "synthetic": True,
                                      "notebook": name}
            nbformat.write(nb, str(tmp / f"{name}.ipynb"))
        for name in notebooks:
            os.replace(tmp / f"{name}.ipynb", notebooks_dir / f"{name}.ipynb")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _jupytext_sync([notebooks_dir / f"{n}.ipynb" for n in notebooks])
    return seconds


def _jupytext_sync(paths: list[Path]) -> None:
    from jupytext.cli import jupytext as jupytext_cli

    for path in paths:
        if path.with_suffix(".py").exists() or path.exists():
            jupytext_cli(["--sync", "--quiet", str(path)])


# --------------------------------------------------------------------------- command line

#: Environment variable naming the assignments given on the ``make`` command line (see Makefile).
MAKE_VARS_ENV = "MSC_SLE_MAKE_VARS"
_WHOLE = re.compile(r"[0-9]+")


def make_assignments(environ: Mapping[str, str] = os.environ) -> list[str]:
    """``NAME=value`` for every assignment of the ``make`` command line.

    The Makefile names them in ``MSC_SLE_MAKE_VARS`` and exports each value unexpanded, so a value
    reaches Python as typed (spaces, quotes, ``;`` and backticks included) without passing through a
    shell. A name that cannot be an environment variable (``make 'a;b=1'``) arrives without its
    value and is reported as an unknown parameter.
    """
    out = []
    for name in environ.get(MAKE_VARS_ENV, "").split():
        out.append(f"{name}={environ[name]}" if name in environ else name + "=")
    return out


def _whole(name: str, text: str, low: int, high: int | None, why: str) -> int:
    text = text.strip()
    if not _WHOLE.fullmatch(text) or int(text) < low or (high is not None and int(text) > high):
        bound = f"from {low} to {high}" if high is not None else f">= {low}"
        raise RunError(f"{name}={text!r}: expected a whole number {bound} ({why})")
    return int(text)


def _cli(argv: list[str]) -> int:
    usage = ("usage: python -m msc_sle.tools.runner {run|share|refresh} [--from-make] [DATA=dir] [OUT=dir] "
             "[JOBS=n] [NAME=value ...]")
    if not argv or argv[0] not in ("run", "share", "refresh"):
        raise RunError(usage)
    command, assignments = argv[0], argv[1:]
    if "--from-make" in assignments:
        assignments = [a for a in assignments if a != "--from-make"] + make_assignments()
    if command == "refresh":
        if assignments:
            raise RunError("'make notebooks' takes no parameters: it re-executes the stored notebooks on the bundled "
                           f"synthetic cohort with the default parameters (got {', '.join(a.split('=')[0] for a in assignments)})")
        t0 = time.perf_counter()
        refresh_notebooks()
        print(f"Stored notebooks refreshed in {time.perf_counter() - t0:.1f} s (commit notebooks/*.ipynb and *.py).")
        return 0
    params, options = parse_assignments(assignments, reserved=RUNNER_OPTIONS)
    if options.get("LIST_PARAMS", "").strip() not in ("", "0"):
        print(parameter_help())
        return 0
    jobs = _whole("JOBS", options.get("JOBS", "2"), 1, 64, "notebooks run in parallel")
    if command == "share":
        params["small_cell_min"] = _whole("SHARE_MIN", options.get("SHARE_MIN", "5"), 1, 100,
                                          "counts below it are suppressed")
    elif "SHARE_MIN" in options:
        raise RunError("SHARE_MIN applies to 'make share' only")
    out = params.pop("out_dir") or ("reports-share" if command == "share" else "reports")
    result = run_workbook(params, out, jobs, share=command == "share")
    print(f"Done in {result.seconds:.1f} s: open {result.out / 'index.html'}")
    score = result.records.get("reproduction_score")
    if score is not None:
        print(f"Reproduction score: {score}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (0 ok, 2 user-facing error)."""
    from ..contract import DataError

    argv = sys.argv[1:] if argv is None else argv
    try:
        return _cli(argv)
    except (RunError, ParameterError, DataError) as err:
        print(f"\nmake: the workbook did not run.\n{err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted; OUT was left as it was", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - one readable line; MSC_SLE_DEBUG=1 shows the traceback
        if os.environ.get("MSC_SLE_DEBUG"):
            raise
        print(f"\nmake: unexpected error ({type(err).__name__}): {err}\n"
              "Run again with MSC_SLE_DEBUG=1 to see the traceback.", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
