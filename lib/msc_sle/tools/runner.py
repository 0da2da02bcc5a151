"""Headless runs of the workbook: ``make run``, ``make notebooks`` and ``make share``.

``python -m msc_sle.tools.runner run DATA=<dir> OUT=<dir> JOBS=<n> [NAME=value ...]``
    validates every parameter and the extract, then executes the notebooks with papermill
    (``JOBS`` at a time) into a build folder in ``<OUT's parent>/.msc_sle-work/`` (git-ignored):
    ``notebooks/`` (executed), ``html/`` (with code, and ``*.clinical.html`` without), ``tables/``
    (CSV + XLSX), ``figures/`` (PNG + SVG), ``index.html``, ``provenance.json`` and
    ``data_issues.csv`` (the patients behind the loader's warnings; never in a page, never shared).
    Only when everything succeeded is it swapped into OUT (a symbolic link is followed: its target
    is replaced), so a failed or interrupted run (SIGINT, SIGTERM, SIGHUP) leaves the previous OUT
    untouched and no partial files; a run also removes what an interrupted run of its own left.
    A notebook whose cohort, declared parameters (``reads`` in its parameters cell), cells and code
    are those of a page in the run cache (``.msc_sle-work/cache/``) is reused, not executed;
    ``FRESH=1`` executes every one (:mod:`msc_sle.workbook.cache`).
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
import atexit
import concurrent.futures as cf
import contextlib
import csv
import dataclasses
import functools
import datetime as _dt
import gc
import glob
import html
import json
import re
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping

from ..contract import REPO_ROOT
from ..workbook.cache import (CACHE_MAX_BYTES, FINGERPRINT_ENV, HANDOFF_ENV, PageCache, code_digest, handoff_digest,
                              page_key, write_cohort)
from ..workbook.params import PARAMETERS, ParameterError, check_parameters, parameter_help, parse_assignments

__all__ = ["NOTEBOOKS", "NOT_SHARED", "NOTEBOOKS_DIR", "RunError", "RunResult", "declared_parameters", "declared_reads",
           "run_workbook",
           "refresh_notebooks", "main", "RECORD_MIMETYPE", "MARKER", "PARAMETERS_NAME"]

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"


def __getattr__(name: str):
    # the notebooks' helpers import the whole analysis stack (scipy, matplotlib); a run whose pages are
    # all reused from the run cache needs three of their constants only, so they are read when used
    if name in ("BANNER_STYLE", "RECORD_MIMETYPE", "RECORD_TAG"):
        from ..workbook import notebook

        return getattr(notebook, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

#: The HTML templates of the bundle (jinja2).
TEMPLATES = Path(__file__).resolve().parent / "templates"
#: The notebooks in reading order.
#: Notebooks ``make share`` leaves out, and why (said on the bundle's index page). None: every page's
#: counts go through the disclosure plan, 07_models' through ``workbook.share_models`` (docs/disclosure.md).
NOT_SHARED = MappingProxyType({
    # said on a clinician's page: no make command or repository path (docs/federated.md explains it)
    "08_multicentre": "its per-centre figures follow each node's own threshold and its pooled counts are "
                      "exact, but its tables have not been through the disclosure plan this bundle applies "
                      "to every other page"})
NOTEBOOKS = ("01_cohort", "02_baseline", "03_response", "04_predictors", "05_explore", "06_reproduction",
             "07_models", "08_multicentre")
#: Tag of the markdown cells written for analysts: shown with the code, left out of the report pages.
ANALYST_TAG = "analyst"
#: File that marks a folder as written by the runner: only such a folder is ever replaced.
MARKER = ".msc_sle_output"
#: The marker's second line; the paths the run wrote follow it, one a line.
_MARKER_LIST = "# written by this run:"
#: Folder beside OUT holding every temporary folder of a run (build, cohort cache, previous OUT).
WORK_DIR = ".msc_sle-work"
#: The id-level list behind the loader's warnings, written under OUT by ``make run`` only.
DATA_ISSUES = "data_issues.csv"
KERNEL = "python3"
#: Packages whose versions each HTML page shows.
PROVENANCE_PACKAGES = ("msc-sle", "pandas", "numpy", "scipy", "statsmodels", "firthmodels", "matplotlib",
                       "pandera", "papermill", "nbconvert", "ipywidgets")
#: The runner's options (make variables that are not notebook parameters) and their defaults, written
#: here only: JOBS notebooks at a time; LIST_PARAMS=1 lists the parameters; SHARE_MIN (make share) the
#: smallest count shown; FRESH=1 executes every notebook, reusing no page of the run cache.
RUNNER_OPTIONS = MappingProxyType({"JOBS": "2", "LIST_PARAMS": "0", "SHARE_MIN": "5", "FRESH": "0"})
#: The run cache's folder inside WORK_DIR (kept between runs, unlike the runs' own folders).
CACHE_DIR = "cache"
#: The smallest SHARE_MIN make share accepts: the threshold rule's minimum frequency of 3 (Hundepool
#: et al., Handbook on Statistical Disclosure Control, 2nd ed., chapter 5). At 1 nothing would be withheld
#: and at 2 each of two patients in a cell learns the other's value, while the bundle's provenance
#: still says small counts are withheld: a refusal, never a bundle that claims protection it lacks.
SHARE_MIN_FLOOR = 3
#: The order the notebooks are started in, longest first (their wall times at 10^6 patients on 2
#: cores, issue 25: 08 68 s, 07 37 s, 06 22 s, 03 18 s, 05 16 s, 01 15 s, 04 12 s, 02 11 s). A notebook
#: not listed starts after these, in reading order.
START_ORDER = ("08_multicentre", "07_models", "06_reproduction", "03_response", "05_explore", "01_cohort",
               "04_predictors", "02_baseline")


#: NumPy's switch for asking the kernel for transparent huge pages on large arrays (numpy does by
#: default). Where the system compacts memory to find them on demand (Debian's and Ubuntu's default
#: ``defrag=madvise``), every kernel of a registry-sized run waits for that compaction each time it
#: builds a table: reading the 10^6-patient hand-off and computing its analysis frame took 7-9 s
#: with them and 6 s without (twice the system time), and ``make run`` at 10^6 122 s against 114 s
#: (issue 25). Values are unchanged either way; the runner sets it to 0 for its kernels unless the
#: user set it.
HUGEPAGE_ENV = "NUMPY_MADVISE_HUGEPAGE"


class RunError(RuntimeError):
    """A run could not complete; the message is what the user reads."""


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal (SIGINT, SIGTERM, SIGHUP); cleanup runs as for Ctrl-C.

    ``replaced`` is True when the signal came after OUT already held this run's complete bundle."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.replaced = False


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
    nb = _read_json(notebook)  # not nbformat: its import alone (jsonschema) costs a reused run ~2 s
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            out = {}
            for node in ast.parse(_text(cell.get("source", ""))).body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    out[node.targets[0].id] = ast.literal_eval(node.value)
            return out
    raise RunError(f"{Path(notebook).name} has no cell tagged 'parameters'")


def _read_json(path: str | Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _text(source) -> str:
    """A cell's source as one text (the .ipynb format may store it as a list of lines)."""
    return "".join(source) if isinstance(source, list) else source


def _write_notebook_json(nb: dict, path: Path) -> None:
    """Write a notebook read with :func:`_read_json` byte for byte as ``nbformat.write`` writes it
    (its JSON options; the sources and outputs stay split in lines as they were read)."""
    text = json.dumps(nb, indent=1, sort_keys=True, separators=(",", ": "), ensure_ascii=False)
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


#: The name a notebook's parameters cell assigns the tuple of parameters it reads.
READS_NAME = "reads"


def declared_reads(notebook: str | Path) -> tuple[str, ...]:
    """The parameters a notebook declares it reads (``reads = (...)`` in its parameters cell): the
    only ones its page depends on, so the only ones in its cache key."""
    declared = declared_parameters(notebook)
    reads = declared.get(READS_NAME)
    name = Path(notebook).stem
    if set(declared) != {PARAMETERS_NAME, READS_NAME} or not isinstance(reads, tuple):
        raise RunError(f"{name}: its parameters cell must assign the dict {PARAMETERS_NAME!r} (the values the run "
                       f"sets) and the tuple {READS_NAME!r} (the parameters the notebook reads), and nothing else")
    unknown = [r for r in reads if r not in PARAMETERS]
    if unknown:
        raise RunError(f"{name}: {READS_NAME} names unknown parameter(s) {', '.join(map(str, unknown))}")
    return reads


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


def _display_path(path: Path, *, shared: bool = False) -> str:
    """Repository-relative when inside the repository, so provenance does not depend on the clone;
    outside it only the folder's own name: no page shows where on the disk an extract lives. A
    shared bundle does not print even that name: a folder called after its centre or its study
    would say where the patients were treated."""
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return "<an extract outside the workbook>" if shared else f"<outside the workbook>/{path.name}"


def collect_provenance(cohort, params: Mapping[str, Any], mode: str) -> dict[str, Any]:
    shown = {k: v for k, v in params.items() if k not in ("data_dir", "out_dir")}
    return {
        "data": _display_path(Path(cohort.source), shared=mode == "share"),
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


def _shared_visits(cohort, params: Mapping[str, Any]) -> str:
    """The extract's number of visits as ``01_cohort``'s plan prints it (``"[c]"`` when withheld)."""
    from ..clinical import apply_eligibility
    from ..workbook.disclosure import flow_plan

    with warnings.catch_warnings():   # 01_cohort shows the plan's warnings; the provenance only reads it
        warnings.simplefilter("ignore")
        return flow_plan(cohort, apply_eligibility(cohort), params).visits_text(len(cohort.visits))


def _refuse_unprotectable(cohort, params: Mapping[str, Any]) -> None:
    """No bundle for a cohort whose withheld counts the printed ones give back (before any page runs)."""
    from ..workbook.disclosure import share_refusal

    reason = share_refusal(cohort, check_parameters(**{k: v for k, v in params.items() if k != "out_dir"}))
    if reason is not None:
        raise RunError(reason)


# --------------------------------------------------------------------------- execution

#: The command-line option that tags each kernel the runner starts: the stall watch and the signal
#: clean-up find the kernels by it (:func:`_kernels`).
_TAG_OPTION = "--MscSleRunner.job="


def _execute(src: Path, dst: Path, parameters: Mapping[str, Any], cwd: Path,
             progress: Callable[[str], None] = print) -> None:
    """Execute one notebook; a kernel that stops answering is replaced once (see :class:`_StallWatch`)."""
    import logging

    import papermill as pm

    # The runner validated the parameters itself; papermill's parse warnings would only confuse.
    logging.getLogger("papermill").setLevel(logging.ERROR)
    for attempt in (1, 2):
        with _StallWatch() as watch:
            try:
                pm.execute_notebook(
                    str(src), str(dst), parameters=dict(parameters), kernel_name=KERNEL,
                    cwd=str(cwd), progress_bar=False, log_output=False,
                    kernel_manager_class=_ipc_kernel_manager(),
                    # the kernel's TCP-transport warning is noise on the user's terminal; a warning in
                    # a page names its category and message, not a source file and line; the last
                    # argument only tags the kernel process so the watch can find it (traitlets keeps
                    # config for a class it does not know and nothing reads it)
                    extra_arguments=["--IPKernelApp.log_level=CRITICAL",
                                     f"--IPKernelApp.exec_lines={_PLAIN_WARNINGS}",
                                     f"{_TAG_OPTION}{watch.tag}"])
                return
            except Exception:
                if not watch.stalled:
                    raise
        name = Path(src).stem
        if attempt == 2:
            raise RunError(f"notebook {name}: its kernel stopped answering twice (no reply and no work for "
                           f"{watch.quiet:.0f} s); nothing was written. Run again; if it recurs, run with JOBS=1.")
        progress(f"  {name}: its kernel stopped answering for {watch.quiet:.0f} s; running it again in a new kernel")


#: Seconds a kernel may use no processor time while its notebook waits for it before it counts as
#: stalled. Computing cells keep a kernel busy and waiting for the next cell takes milliseconds, so a
#: kernel idle this long has lost a message (a reply that never comes would otherwise block forever).
STALL_SECONDS = 120.0
#: Environment variable that shortens STALL_SECONDS (the tests use it to provoke a stall quickly).
STALL_ENV = "MSC_SLE_STALL_SECONDS"


class _StallWatch:
    """Watches the kernel of one notebook execution and kills it when it stalls.

    A kernel whose request or reply was lost sits idle while nbclient waits with no time limit (the
    runner sets none: a registry-sized cell may legitimately take long). The watch samples the
    kernel's processor time (its children's included) every few seconds; when it has not grown for
    ``quiet`` seconds the kernel is killed, nbclient reports a dead kernel at once, and ``_execute``
    runs the notebook again. ``stalled`` tells that apart from any other failure."""

    def __init__(self):
        self.tag = uuid.uuid4().hex
        self.quiet = float(os.environ.get(STALL_ENV) or STALL_SECONDS)
        self.stalled = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"stall-watch-{self.tag[:8]}", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()
        return False

    def _kernel(self):
        found = _kernels(self.tag)
        return found[0] if found else None

    @staticmethod
    def _cpu(proc) -> float:
        import psutil

        total = 0.0
        for p in [proc, *proc.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                total += t.user + t.system
        return total

    def _watch(self) -> None:
        import psutil

        kernel, last_cpu, since = None, -1.0, time.monotonic()
        step = min(5.0, self.quiet / 4)
        while not self._done.wait(step):
            try:
                kernel = kernel or self._kernel()
                if kernel is None:
                    continue  # still starting: nbclient's own start timeout covers that
                cpu = self._cpu(kernel)
            except psutil.Error:
                return  # the kernel ended: nbclient reports it
            now = time.monotonic()
            if cpu > last_cpu + 0.05:
                last_cpu, since = cpu, now
            elif now - since >= self.quiet:
                self.stalled = True
                with contextlib.suppress(psutil.Error):
                    kernel.kill()
                return


@functools.lru_cache(maxsize=1)
def _ipc_kernel_manager():
    """A kernel manager that talks to its kernel over Unix sockets with a name of its own.

    Over TCP, jupyter_client picks free ports, releases them and lets the kernel bind them; two
    processes starting kernels at once (two ``make run`` in parallel, the test suite's workers) can
    pick the same port, and a notebook then waits for a reply that went to another kernel
    (papermill#511). A socket path made unique per kernel cannot collide."""
    from jupyter_client import AsyncKernelManager
    from traitlets import default

    class IpcKernelManager(AsyncKernelManager):
        @default("transport")
        def _transport_default(self):
            return "ipc"

        def _ip_default(self):
            # short (a Unix socket path has at most 107 bytes) and unique to this kernel
            return os.path.join(_socket_dir(), uuid.uuid4().hex[:16])

    return IpcKernelManager


#: The longest folder the kernels' sockets may live in: 16 characters of name and '-NNNNN' of
#: port after it still fit the 107 bytes of a Unix socket path.
_SOCKET_DIR_MAX = 80


@functools.lru_cache(maxsize=1)
def _socket_dir() -> str:
    """A private (0700) folder for this process's kernel sockets, with a short path: TMPDIR when it
    is short enough, else /tmp or /var/tmp (a long TMPDIR gave ZMQError 'File name too long')."""
    tried = []
    for base in dict.fromkeys((tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm")):
        if len(base) + 14 > _SOCKET_DIR_MAX or not os.path.isdir(base):
            tried.append(base)
            continue
        try:
            path = tempfile.mkdtemp(prefix="msc_sle-", dir=base)
        except OSError:
            tried.append(base)
            continue
        atexit.register(shutil.rmtree, path, True)
        return path
    raise RunError("no temporary folder with a path short enough for the kernels' sockets "
                   f"(tried {', '.join(tried)}); set TMPDIR to a short writable folder, e.g. /tmp")


#: Run in each kernel at start-up: warnings print as "Category: message", without a source path.
_PLAIN_WARNINGS = "import warnings as _w; _w.formatwarning = lambda m, c, *a, **k: f'{c.__name__}: {m}\\n'"


def _plain_warning(message, category, *_args, **_kwargs) -> str:
    return f"{category.__name__}: {message}\n"


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
                   progress: Callable[[str], None], after: Callable[[str, Path, bool], None] | None = None,
                   restore: Callable[[str, Path], bool] | None = None) -> dict[str, float]:
    """Execute (name, src, dst, parameters) jobs, ``n_jobs`` at a time; stop at the first failure.

    ``restore(name, dst)``, when given, may put a kept result at ``dst`` instead (True: the notebook
    is not executed, and its progress line says "reused"). ``after(name, dst, reused)`` runs in the
    same worker once a notebook has executed or been restored (post-processing and HTML rendering
    overlap with the other notebooks' kernels).
    """
    seconds: dict[str, float] = {}
    reused: set[str] = set()
    total = len(jobs)
    n_jobs = max(1, n_jobs)

    def one(job):
        name, src, dst, params = job
        t0 = time.perf_counter()
        kept = restore is not None and restore(name, dst)
        if kept:
            reused.add(name)
        else:
            _execute(src, dst, params, cwd, progress)
        elapsed = time.perf_counter() - t0
        if after is not None:
            after(name, dst, kept)
        return elapsed

    progress(f"Running {total} notebooks, {n_jobs} at a time: " + ", ".join(j[0] for j in jobs))
    # Longest first (LPT scheduling): started last, the longest notebook would run alone at the end
    # while the other workers sit idle. The pages and the index keep the reading order.
    jobs = sorted(jobs, key=lambda job: START_ORDER.index(job[0]) if job[0] in START_ORDER else len(START_ORDER))
    before = _kernel_pids()
    pool = cf.ThreadPoolExecutor(max_workers=n_jobs)
    futures = {pool.submit(one, job): job[0] for job in jobs}
    try:
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
                how = ("reused (its data, declared parameters and code are unchanged)" if name in reused
                       else "done")
                progress(f"  [{len(seconds)}/{total}] {name} {how} in {seconds[name]:.1f} s")
                continue
            for other in futures:
                other.cancel()
        if failure is not None:
            raise RunError(failure)
    except BaseException:
        # Interrupted (or failed): start nothing more, shut the running kernels down (their notebooks
        # then end at once instead of running to the end) and wait for the workers, so no thread
        # writes into the build folder after it is removed.
        import logging

        for fut in futures:
            fut.cancel()
        logging.getLogger("papermill").setLevel(logging.CRITICAL)  # "Kernel died ...": we stopped it
        _stop_kernels(_kernel_pids() - before)
        cf.wait(futures, timeout=30)
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return seconds


def _kernels(tag: str = "") -> list:
    """The kernels this process started for notebooks (psutil processes), found by the tag each
    carries on its command line; ``tag`` narrows them to one execution's kernel."""
    import psutil

    found = []
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if any(part.startswith(_TAG_OPTION + tag) for part in child.cmdline()):
                found.append(child)
    return found


def _kernel_pids() -> set[int]:
    """Process ids of the kernels this process started for notebooks."""
    return {proc.pid for proc in _kernels()}


def _stop_kernels(pids: set[int]) -> None:
    """Terminate the given kernel processes (started by this run), killing those that linger."""
    import psutil

    procs = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            proc.terminate()
            procs.append(proc)
        except psutil.NoSuchProcess:
            continue
    _, alive = psutil.wait_procs(procs, timeout=3)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()


def _records(nb) -> dict[str, Any]:
    from ..workbook.notebook import RECORD_MIMETYPE

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

def provenance_html(prov: Mapping[str, Any]) -> str:
    """The provenance as a readable table: data, fingerprint, every parameter (changed ones in bold,
    with their default), commit, date and one row per package version."""
    esc = html.escape
    kind = "SYNTHETIC cohort" if prov["synthetic"] else "patient extract"
    rows = [("Data", f"{esc(prov['data'])} ({kind}; {prov['patients']} patients, {prov['visits']} visits)"),
            ("Data fingerprint (sha256)", f"<code>{esc(prov['data_fingerprint'])}</code>")]
    params = []
    for name, value in prov["parameters"].items():
        default = PARAMETERS[name].default if name in PARAMETERS else value
        changed = value != default
        cell = f"<span class='changed'>{esc(repr(value))}</span> (default {esc(repr(default))})" if changed \
            else esc(repr(value))
        params.append(f"<tr><td>{esc(PARAMETERS[name].make_name if name in PARAMETERS else name)}</td><td>{cell}</td></tr>")
    rows.append(("Parameters", "<table>" + "".join(params) + "</table>"))
    rows += [("Workbook commit", f"<code>{esc(prov['commit'])}</code>"), ("Run date", esc(prov["date"]))]
    versions = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in prov["versions"].items())
    rows.append(("Packages", "<table>" + versions + "</table>"))
    if prov.get("mode") == "share":
        low = prov["parameters"].get("small_cell_min")
        zero = " (and zero counts of patients with a characteristic or response)" if \
            prov["parameters"].get("share_suppress_zero", True) else ""
        rows.append(("Sharing", f"counts below {low} shown as '&lt;{low}'{zero}; '[c]': withheld so that none of "
                                "them can be worked out from the others (see the appendix)"))
    return "<table class='msc-provenance'>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows) + \
        "</table>"


_EXPORTERS = threading.local()


#: Where a page's provenance box goes: the pages are rendered (and kept in the run cache) with this
#: slot, which the runner fills with this run's provenance (date, commit, versions) as it writes them.
_PROVENANCE_SLOT = "<table class='msc-provenance-slot'></table>"


def _with_provenance(page: str, prov: Mapping[str, Any]) -> str:
    """A page of :func:`_render_pages` with its provenance box filled in, as nbconvert prints it had
    the box been in the notebook: a markdown cell's HTML block goes through BeautifulSoup (the image
    embedding of the offline template), which rewrites quotes and entities, so the box does too
    (tests/test_run_cache.py compares this with rendering the box itself)."""
    import bs4

    slot, box = (str(bs4.BeautifulSoup(text, features="html.parser")) for text in (_PROVENANCE_SLOT,
                                                                                    provenance_html(prov)))
    if page.count(slot) != 1:
        raise RunError("a page was rendered without its provenance box; run again with FRESH=1")
    return page.replace(slot, box)


def _render_pages(nb, share: bool) -> dict[str, str]:
    """The HTML pages of an executed notebook, by file suffix: ``.html`` with code (not in a shared
    bundle) and ``.clinical.html`` without; each with :data:`_PROVENANCE_SLOT` in its provenance box."""
    import copy

    import nbformat
    from nbconvert import HTMLExporter

    from ..workbook.notebook import RECORD_TAG

    exporters = getattr(_EXPORTERS, "pair", None)
    if exporters is None:  # building an exporter costs more than rendering with it: one pair per thread
        offline = dict(template_name="offline", extra_template_basedirs=[str(TEMPLATES / "nbconvert")])
        exporters = _EXPORTERS.pair = (
            HTMLExporter(**offline),
            HTMLExporter(**offline, exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True))
    page = copy.deepcopy(nb)
    for cell in page.cells:  # outputs that only hand a record to the runner are not part of a page
        if "outputs" in cell:
            cell.outputs = [o for o in cell.outputs if RECORD_TAG not in o.get("metadata", {}).get("tags", [])]
    page.cells.insert(1 if page.cells and page.cells[0].cell_type == "markdown" else 0, nbformat.v4.new_markdown_cell(
        "<details class='msc-provenance'><summary><b>Provenance</b> (data, parameters, versions)</summary>\n\n"
        + _PROVENANCE_SLOT + "\n\n</details>", id="msc-provenance"))  # a fixed id: the same run, the same page
    pages = {}
    if not share:
        pages[".html"], _ = exporters[0].from_notebook_node(page)
    # the code-hidden page is the clinicians': markdown written for analysts (make commands,
    # parameter names, how a cell works) goes with the code it explains
    page.cells = [c for c in page.cells if ANALYST_TAG not in c.get("metadata", {}).get("tags", [])]
    pages[".clinical.html"], _ = exporters[1].from_notebook_node(page)
    # nbconvert gives each widget view a random element id: numbered instead, so a page rendered
    # again from the same notebook is the same page
    for kind, body in pages.items():
        for i, uid in enumerate(dict.fromkeys(re.findall(r'class="jupyter-widgets[^"]*" id="([0-9a-f-]{36})"', body))):
            body = body.replace(uid, f"msc-widget-view-{i + 1}")
        pages[kind] = body
    return pages


def _cells_of(notebook: Path) -> list:
    """What a notebook is, for its cache key: its metadata and every cell's type, source and metadata
    (stored outputs and execution counts left out: they do not change what it computes)."""
    nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    join = lambda text: "".join(text) if isinstance(text, list) else text  # noqa: E731 - JSON keeps lines as lists
    return [nb.get("metadata", {}), [(c.get("cell_type"), join(c.get("source", "")), c.get("metadata", {}))
                                     for c in nb.get("cells", [])]]


def _code_digest() -> str:
    """The digest of what every page runs besides its own cells: the library, the data dictionary, the
    published values, Python and the packages (:func:`~msc_sle.workbook.cache.code_digest`)."""
    from ..contract import DICTIONARY_PATH, PUBLISHED_DIR

    package = Path(__file__).resolve().parents[1]
    return code_digest([package, DICTIONARY_PATH, PUBLISHED_DIR],
                       PROVENANCE_PACKAGES + ("ipykernel", "jupyter_client", "nbclient", "pyarrow", "numpy"))


def _notebook_title(path: Path) -> str:
    """What a notebook shows, from its first heading ("# 02 · Baseline characteristics (Table 1)")."""
    nb = _read_json(path)
    first = next((_text(c.get("source", "")) for c in nb.get("cells", []) if c.get("cell_type") == "markdown"), "")
    heading = first.splitlines()[0].lstrip("# ").strip() if first else ""
    return heading.split("·", 1)[-1].strip()


#: The paper's own numbering, first on the index: (file name prefix, label).
PAPER_OUTPUTS = (("table1_", "Table 1"), ("table2_", "Table 2"), ("figure1_", "Figure 1"))


def _index_outputs(out: Path, records: Mapping[str, Any]) -> list[dict]:
    """The tables and figures of the bundle for the index: the paper's Table 1, Table 2 and Figure 1
    first, then the others in the notebooks' reading order (the order of ``records``); each with
    the caption its page gives it (a table's title, a figure's title), never its file name."""
    items: dict[str, dict] = {}
    for key, caption in records.items():
        kind, _, stem = key.partition(":")
        if kind == "table" and (out / "tables" / f"{stem}.csv").exists():
            files = [(ext.upper() if ext != "data.csv" else "numbers (CSV)", f"tables/{stem}.{ext}")
                     for ext in ("csv", "data.csv", "xlsx", "docx") if (out / "tables" / f"{stem}.{ext}").exists()]
            items[key] = {"kind": "table", "caption": str(caption), "files": files}
        elif kind == "figure" and (out / "figures" / f"{stem}.png").exists():
            items[key] = {"kind": "figure", "caption": str(caption), "png": f"figures/{stem}.png",
                          "files": [("PNG", f"figures/{stem}.png"), ("SVG", f"figures/{stem}.svg")]}
    for path in sorted((out / "tables").glob("*.csv")):  # a table no page described: still listed
        stem = path.name.split(".")[0]
        items.setdefault(f"table:{stem}", {"kind": "table", "caption": stem.replace("_", " ").capitalize(),
                                           "files": [("CSV", f"tables/{stem}.csv")]})
    for path in sorted((out / "figures").glob("*.png")):
        items.setdefault(f"figure:{path.stem}", {
            "kind": "figure", "caption": path.stem.replace("_", " ").capitalize(), "png": f"figures/{path.name}",
            "files": [("PNG", f"figures/{path.name}")]})
    first = []
    for prefix, label in PAPER_OUTPUTS:
        for key in [k for k in items if k.partition(":")[2].startswith(prefix)]:
            first.append({**items.pop(key), "label": label})
    return first + [{**item, "label": ""} for item in items.values()]


def _index_html(out: Path, names: list[str], prov: Mapping[str, Any], records: Mapping[str, Any],
                share: bool, notebooks_dir: Path = NOTEBOOKS_DIR, left_out=()) -> str:
    """index.html: every notebook, table (with what it shows) and figure of the bundle, the
    reproduction score with a link to what differs, and the provenance as a readable table."""
    import jinja2
    from markupsafe import Markup

    from ..workbook.notebook import BANNER_STYLE

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True)
    notebooks = []
    for name in names:
        links = [(label, href) for label, href in (
            ("report", f"html/{name}.clinical.html"), ("with code", f"html/{name}.html"),
            ("notebook", f"notebooks/{name}.ipynb")) if (out / href).exists()]
        src = notebooks_dir / f"{name}.ipynb"
        notebooks.append({"name": name, "title": _notebook_title(src) if src.exists() else "", "links": links})
    outputs = _index_outputs(out, records)
    score = records.get("reproduction_score")
    reproduction_page = next((href for label, href in next(
        (nb["links"] for nb in notebooks if nb["name"].endswith("reproduction")), []) if label == "report"), "")
    return env.get_template("index.html.j2").render(
        title="MSC-SLE workbook" + (" (shared bundle)" if share else ""), synthetic=prov["synthetic"],
        banner_style=BANNER_STYLE, synthetic_note=SYNTHETIC_NOTE,
        score=f"Reproduction score: {score}" if score else "", reproduction_page=reproduction_page,
        reproduction_table="tables/reproduction.csv" if (out / "tables" / "reproduction.csv").exists() else "",
        notebooks=notebooks, outputs=outputs, provenance=Markup(provenance_html(prov)),
        left_out=list(left_out), appendix="html/appendix.html" if (out / "html" / "appendix.html").exists() else "")


# --------------------------------------------------------------------------- output folder

def _real_out(out: Path) -> Path:
    """The folder a run replaces: OUT itself, or the target of a symbolic link (followed, so the
    folder the user looks at is the one renewed and the link is kept)."""
    try:
        return out.resolve()
    except (OSError, RuntimeError) as err:  # a symlink loop
        raise RunError(f"OUT={out} is a symbolic link that cannot be followed ({err})") from None


def _name_max(folder: Path) -> int:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def _check_out_name(out: Path) -> None:
    """A folder name the file system cannot hold is said as such (it was an unexplained OSError)."""
    limit = _name_max(out.parent)
    for part in out.parts:
        if len(os.fsencode(part)) > limit:
            raise RunError(f"OUT: the folder name '{part[:40]}...' is {len(os.fsencode(part))} bytes long; "
                           f"the file system allows at most {limit}. Choose a shorter OUT")


def _written_by_us(out: Path) -> set[str] | None:
    """The paths (relative to OUT) the last run wrote, as its marker lists them; None when the marker
    predates the list (any content is then taken as the workbook's)."""
    lines = (out / MARKER).read_text(encoding="utf-8", errors="replace").splitlines()
    return set(lines[2:]) if len(lines) > 1 and lines[1] == _MARKER_LIST else None


#: What a file browser or JupyterLab leaves in a folder just by showing it: not a user's file.
_BROWSER_LITTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini", ".ipynb_checkpoints"})


def _foreign_entries(out: Path) -> list[str]:
    """Files and folders in OUT that the workbook did not write (a user's notes, a copied table)."""
    ours = _written_by_us(out)
    if ours is None:
        return []
    found = []
    for root, dirs, files in os.walk(out):  # symbolic links are listed, never followed
        dirs[:] = [d for d in dirs if d not in _BROWSER_LITTER]
        for name in dirs + files:
            rel = Path(root, name).relative_to(out).as_posix()
            if rel not in ours and rel != MARKER and name not in _BROWSER_LITTER:
                found.append(rel)
    return sorted(found)


def _check_out(out: Path, data_dir: Path) -> None:
    _check_out_name(out)
    out_r, data_r = out.resolve(), data_dir.resolve()
    if out_r == data_r or data_r in out_r.parents or out_r in data_r.parents:
        raise RunError(f"OUT={out} overlaps DATA={data_dir}: the extract folder is read-only for the workbook; "
                       "choose an output folder outside it")
    if out_r == REPO_ROOT or out_r in REPO_ROOT.parents:
        raise RunError(f"OUT={out} would replace the workbook itself; choose a dedicated folder such as reports/")
    if out.exists():
        if not out.is_dir():
            raise RunError(f"OUT={out} exists and is not a folder")
        if os.path.ismount(out):
            raise RunError(f"OUT={out} is a mount point: a run replaces OUT as a whole, which a mount point cannot "
                           "be. Choose a folder inside it (e.g. OUT=" + str(out / "reports") + ")")
        if any(out.iterdir()) and not (out / MARKER).exists():
            raise RunError(f"OUT={out} exists and was not written by 'make run'; it is left alone. "
                           "Choose another OUT or empty that folder")
        foreign = _foreign_entries(out) if (out / MARKER).exists() else []
        if foreign:
            shown = ", ".join(foreign[:10]) + (f" and {len(foreign) - 10} more" if len(foreign) > 10 else "")
            raise RunError(f"OUT={out} holds {len(foreign)} file(s) or folder(s) the workbook did not write "
                           f"({shown}); a run replaces OUT whole, so they would be deleted. Move them out of "
                           "OUT and run again")


_HOST = (re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host")[:40]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale(work: Path, out: Path, progress: Callable[[str], None]) -> None:
    """Remove what interrupted runs left: run folders of this host whose process is gone, and the
    ``.OUT.building-*`` / ``.OUT.old-*`` folders (and cohort caches) of earlier runner versions
    once they are an hour old."""
    removed = 0
    for entry in work.iterdir():
        parts = entry.name.rsplit(".", 3)
        if len(parts) == 4 and parts[1] == _HOST and parts[2].isdigit() and not _alive(int(parts[2])):
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
    hour_ago = time.time() - 3600
    name = glob.escape(out.name)
    legacy = [*out.parent.glob(f".{name}.building-*"), *out.parent.glob(f".{name}.old-*"),
              *Path(tempfile.gettempdir()).glob("msc_sle-cohort-*")]
    for entry in legacy:
        with contextlib.suppress(OSError):
            if entry.is_dir() and not entry.is_symlink() and entry.stat().st_mtime < hour_ago \
                    and entry.stat().st_uid == os.getuid():
                shutil.rmtree(entry)
                removed += 1
    if removed:
        progress(f"  removed {removed} temporary folder(s) left by an interrupted run")


def _open_work(out: Path, progress: Callable[[str], None]) -> Path:
    """This run's private folder (0700) in ``<OUT's parent>/.msc_sle-work/``: the build folder, the
    cohort cache and, during the swap, the previous OUT. Creating it first is the check that OUT can
    be written at all, before anything is computed."""
    work = out.parent / WORK_DIR
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        for attempt in (1, 2):  # another run may remove the (then empty) work folder meanwhile
            work.mkdir(exist_ok=True)
            _remove_stale(work, out, progress)
            try:
                # OUT's name shortened: with the host, pid and random tail it must stay one valid name
                return Path(tempfile.mkdtemp(dir=work, prefix=f"{out.name[:60]}.{_HOST}.{os.getpid()}."))
            except FileNotFoundError:
                if attempt == 2:
                    raise
    except OSError as err:
        where = err.filename or work
        raise RunError(f"OUT={out} cannot be written: {err.strerror or err} ({where}). "
                       "Choose an OUT on a writable disk; nothing was computed") from None


def _close_work(run: Path, out: Path) -> None:
    """Remove this run's folder; if the run stopped between the two renames of the swap, first put the
    previous OUT back (and if even that fails, keep it where it is and say so)."""
    old = run / "old"
    if old.exists() and not os.path.lexists(out):
        try:
            old.rename(out)
        except OSError as err:
            for name in ("build", "cohort", "pages"):
                shutil.rmtree(run / name, ignore_errors=True)
                with contextlib.suppress(OSError):
                    (run / name).unlink()
            raise RunError(f"OUT={out} could not be put back ({err.strerror or err}); the previous OUT is "
                           f"kept, whole, in {old}: move it back by hand") from None
    shutil.rmtree(run, ignore_errors=True)
    with contextlib.suppress(OSError):
        run.parent.rmdir()  # the work folder itself, when no other run uses it


def _readable(root: Path) -> None:
    """Give the bundle the modes of ordinary new files (mkdtemp/mkstemp create them private), except
    data_issues.csv: it names patients, and stays readable by its owner only (0600)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(root, 0o777 & ~umask)
    for path in root.rglob("*"):
        if path.relative_to(root).as_posix() != DATA_ISSUES:
            os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~umask)


def _keep_folder(tmp: Path, out: Path) -> bool:
    """Give the build the mode and owner of the folder it replaces (a shared 1777 folder stays one);
    False when the owner cannot be given (not root): OUT's contents are then swapped instead."""
    if not out.is_dir():
        return True
    st = out.stat()
    os.chmod(tmp, st.st_mode & 0o7777)
    here = tmp.stat()
    if (here.st_uid, here.st_gid) != (st.st_uid, st.st_gid):
        try:
            os.chown(tmp, st.st_uid, st.st_gid)
        except PermissionError:
            return False
        os.chmod(tmp, st.st_mode & 0o7777)  # chown clears the set-id bits
    return True


def _swap_contents(tmp: Path, out: Path, run: Path) -> None:
    """Replace what OUT holds, keeping the folder itself (entry by entry, signals held back; on an
    error what was moved goes back)."""
    old = run / "old-contents"
    old.mkdir()
    moved_out, moved_in = [], []
    with _critical():
        try:
            for entry in sorted(out.iterdir(), key=lambda p: p.name == MARKER, reverse=True):
                entry.rename(old / entry.name)
                moved_out.append(entry.name)
            for entry in sorted(tmp.iterdir(), key=lambda p: p.name == MARKER):
                entry.rename(out / entry.name)
                moved_in.append(entry.name)
        except OSError as err:
            for name in reversed(moved_in):
                (out / name).rename(tmp / name)
            for name in reversed(moved_out):
                (old / name).rename(out / name)
            raise RunError(f"OUT={out} could not be replaced: {err.strerror or err}. The previous OUT is "
                           "unchanged") from None


def _swap_into(tmp: Path, out: Path, run: Path) -> None:
    """Replace ``out`` by ``tmp``: the previous OUT moves into the run folder, the build takes its
    place (renames within one parent folder, each atomic); a signal waits until both are done."""
    old = run / "old"
    with _critical():
        try:
            if out.exists():
                out.rename(old)
            try:
                tmp.rename(out)
            except OSError:
                if old.exists():
                    old.rename(out)
                raise
        except OSError as err:
            raise RunError(f"OUT={out} could not be replaced: {err.strerror or err}. The previous OUT is "
                           "unchanged; close what uses it (a file browser, a server) and run again") from None


# --------------------------------------------------------------------------- signals

_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")
_STATE = {"critical": 0, "pending": None}


def _on_signal(signum, _frame) -> None:
    if _STATE["critical"]:
        _STATE["pending"] = _STATE["pending"] or signum
        return
    for name in _SIGNALS:  # the cleanup that follows must not be interrupted in turn
        with contextlib.suppress(AttributeError, ValueError):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    raise Interrupted(signum)


@contextlib.contextmanager
def _critical():
    """A stretch (renaming OUT) during which a signal is held back, then raised."""
    _STATE["critical"] += 1
    try:
        yield
    finally:
        _STATE["critical"] -= 1
    if not _STATE["critical"] and _STATE["pending"] is not None:
        signum, _STATE["pending"] = _STATE["pending"], None
        _on_signal(signum, None)


@contextlib.contextmanager
def _stop_on_signals():
    """SIGTERM and SIGHUP (a timeout, ``docker stop``, a cancelled CI job, a closed terminal) stop a
    run as Ctrl-C does: the cleanup of ``run_workbook`` runs and the kernels are shut down."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for name in _SIGNALS:
        if hasattr(signal, name):
            previous[name] = signal.signal(getattr(signal, name), _on_signal)
    try:
        yield
    finally:
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)


# --------------------------------------------------------------------------- run

def _load(data_dir: Path, progress: Callable[[str], None]):
    from ..clinical import load_cohort
    from ..contract import DataWarning

    if not (data_dir.is_dir() or (data_dir.is_file() and data_dir.suffix.lower() == ".xlsx")):
        raise RunError(f"DATA={data_dir} is neither a folder nor an .xlsx workbook (expected a folder with the "
                       "patients and visits tables)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        cohort = load_cohort(data_dir)
    for w in caught:  # counts and rules only; the patients behind them go to OUT/data_issues.csv
        kind = "warning" if issubclass(w.category, DataWarning) else f"warning ({w.category.__name__})"
        progress(f"  {kind}: {w.message}")
    return cohort


#: What a spreadsheet reads as the start of a formula (OWASP, CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _inert(cell) -> str:
    """A cell a spreadsheet shows as text: '=HYPERLINK(...)' in an id becomes "'=HYPERLINK(...)"."""
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _release_memory() -> None:
    """Give the memory of freed tables back to the system. glibc keeps a process's freed heap for
    reuse, so without ``malloc_trim`` the runner would hold the loader's 3 GiB at 10^6 patients
    while the kernels run beside it (``make bench``: peak memory of the run)."""
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim, nothing lost
        pass


def _write_details(cohort, path: Path) -> None:
    # 0600 from the start: the file names patients, for the care team only
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["file", "row", "column", "value", "rule"])
        for p in cohort.details:
            writer.writerow([_inert(p.file), "" if p.row is None else p.row, _inert(p.column or ""), _inert(p.value),
                             _inert(p.rule)])


def _injected_source(params: Mapping[str, Any]) -> str:
    from papermill.translators import translate_parameters

    return translate_parameters(KERNEL, "python", {PARAMETERS_NAME: dict(params)}, "Parameters")


def run_workbook(params: Mapping[str, Any], out: str | Path, jobs: int = 2, *, share: bool = False,
                 notebooks: tuple[str, ...] = NOTEBOOKS, notebooks_dir: Path = NOTEBOOKS_DIR,
                 progress: Callable[[str], None] = print, fresh: bool = False,
                 cache_max_bytes: int = CACHE_MAX_BYTES) -> RunResult:
    """Execute the notebooks on ``params['data_dir']`` and swap the rendered bundle into ``out``.

    ``params`` are notebook parameters (checked again here); every notebook receives the ones its
    parameters cell declares (:func:`declared_reads`; all of them when ``small_cell_min`` > 1, where
    the disclosure plan reads every one) as its ``overrides`` dict, with ``data_dir``/``out_dir``
    made absolute for the kernel; the pages show them relative to the workbook (or only the
    folder's name, outside it). A notebook whose key (:func:`~msc_sle.workbook.cache.page_key`) is
    in the run cache is reused instead of executed, unless ``fresh``; every executed one is kept
    there (at most ``cache_max_bytes``, least recently used evicted first).  Raises
    :class:`RunError`, :class:`~msc_sle.workbook.params.ParameterError`,
    :class:`~msc_sle.contract.DataError` or :class:`Interrupted`; on any error ``out`` is untouched
    and no temporary folder is left.
    """
    t_start = time.perf_counter()
    params = dict(check_parameters(**{k: v for k, v in params.items() if k != "out_dir"}))
    left_out = [(n, NOT_SHARED[n]) for n in notebooks if share and n in NOT_SHARED]
    notebooks = tuple(n for n in notebooks if not (share and n in NOT_SHARED))
    from ..contract import BUNDLED_DATA

    data_dir = Path(params["data_dir"] or BUNDLED_DATA).expanduser().absolute()
    out = Path(out).expanduser().absolute()
    sources = {name: notebooks_dir / f"{name}.ipynb" for name in notebooks}
    missing = [str(p) for p in sources.values() if not p.exists()]
    if missing:
        raise RunError("notebook(s) missing: " + ", ".join(missing))
    reads = {name: declared_reads(src) for name, src in sources.items()}

    target = _real_out(out)
    if target != out and out.is_symlink():
        progress(f"OUT={out} is a link to {target}: that folder is the one replaced")
    _check_out(target, data_dir)
    run, previous_env = None, {k: os.environ.get(k) for k in (HANDOFF_ENV, FINGERPRINT_ENV, HUGEPAGE_ENV)}
    # the kernels (and the multi-centre nodes they start) inherit this; a value the user set is kept
    os.environ.setdefault(HUGEPAGE_ENV, "0")
    try:
        with _critical():  # a signal now would leave the new run folder behind
            run = _open_work(target, progress)  # before anything is computed: OUT must be writable
        tmp = run / "build"
        progress(f"Checking the extract in {data_dir} ...")
        cohort = _load(data_dir, progress)
        progress(f"  {len(cohort.patients)} patients, {len(cohort.visits)} visits"
                 + ("  [SYNTHETIC cohort]" if cohort.synthetic else ""))
        # validated once, here (the raw files hashed once); each notebook's kernel (which inherits this
        # environment) reads the typed hand-off instead of the extract
        handoff = write_cohort(cohort, run / "cohort")
        os.environ[HANDOFF_ENV], os.environ[FINGERPRINT_ENV] = str(handoff), cohort.fingerprint
        for sub in ("notebooks", "html", "tables", "figures", "pages"):
            (tmp if sub != "pages" else run).joinpath(sub).mkdir(parents=True)
        params["data_dir"] = str(data_dir)
        mode = "share" if share else "run"
        prov = collect_provenance(cohort, params, mode)
        if share:  # the visit total is a count of the patient flow's plan: it can give a withheld "no visit" back
            _refuse_unprotectable(cohort, params)
            prov["visits"] = _shared_visits(cohort, params)
        # the kernels read the hand-off; from here on the run needs only the fingerprint and the
        # details: a registry's tables (gigabytes at 10^6 patients) are not kept beside the kernels
        cohort = dataclasses.replace(cohort, patients=cohort.patients.iloc[:0], visits=cohort.visits.iloc[:0])
        _release_memory()
        cache = PageCache(target.parent / WORK_DIR / CACHE_DIR, cache_max_bytes)
        code = _code_digest()
        data_key = handoff_digest(handoff)

        def given(name: str) -> dict[str, Any]:
            """What a notebook is handed: its declared parameters (all with small counts withheld)."""
            names = PARAMETERS if params["small_cell_min"] > 1 else reads[name]
            return {k: params[k] for k in names if k in params and k != "out_dir"}

        keys = {name: page_key(_cells_of(sources[name]), given(name), data_key, code, mode) for name in notebooks}
        jobs_list = [(name, sources[name], tmp / "notebooks" / f"{name}.ipynb",
                      {PARAMETERS_NAME: {**given(name), "out_dir": str(run / "pages" / name)}})
                     for name in notebooks]
        for name in notebooks:
            for sub in ("tables", "figures"):
                (run / "pages" / name / sub).mkdir(parents=True)
        by_page: dict[str, dict[str, Any]] = {}
        entries: dict[str, Path] = {}

        def restore(name: str, path: Path) -> bool:
            entry = None if fresh else cache.lookup(name, keys[name])
            if entry is None:
                return False
            shutil.copyfile(entry / "notebook.ipynb", path)
            shutil.rmtree(run / "pages" / name)
            shutil.copytree(entry / "files", run / "pages" / name)
            entries[name] = entry
            return True

        def finish(name: str, path: Path, reused: bool) -> None:
            # what the page shows in place of the kernel's absolute paths
            shown = {**given(name), "data_dir": _display_path(data_dir), "out_dir": _display_path(out)}
            entry = entries.get(name)
            kept = _read_json(entry / "entry.json") if entry is not None else {}
            if kept.get("out") == shown["out_dir"]:  # a page kept for this OUT: as it was written
                nb_records, pages = kept["records"], kept["html"]
            else:  # executed, or kept for another OUT (which its page with code names)
                import nbformat

                nb = nbformat.read(str(path), as_version=4)
                _clean_metadata(nb)
                for cell in nb.cells:  # the injected paths are the kernel's; the page shows them relative
                    if "injected-parameters" in cell.metadata.get("tags", []):
                        cell.source = _injected_source(shown)
                        cell.id = "injected-parameters"  # papermill's is random: one run would differ from the next
                nb = _stable_widget_ids(nb)
                nb_records = _records(nb)
                seen = nb_records.get("provenance", {}).get("data_fingerprint")
                if seen is not None and seen != cohort.fingerprint:
                    raise RunError(f"{name} ran on data with fingerprint {seen[:12]}..., not the checked extract "
                                   f"{cohort.fingerprint[:12]}...: was the extract modified during the run?")
                pages = _render_pages(nb, share)
                nbformat.write(nb, str(path))
                if entry is None:
                    cache.store(name, keys[name], path, run / "pages" / name,
                                {"records": nb_records, "html": pages, "out": shown["out_dir"]})
            by_page[name] = {k: v for k, v in nb_records.items() if k != "provenance"}
            # the provenance (a date, the commit) is this run's: set as JSON, so a reused page is
            # written without nbformat, and byte for byte as an executed one
            nb = _read_json(path)
            nb["metadata"]["msc_sle"] = json.loads(json.dumps({**prov, "notebook": name}, default=str))
            _write_notebook_json(nb, path)
            for sub in ("tables", "figures"):
                for file in (run / "pages" / name / sub).iterdir():
                    if (tmp / sub / file.name).exists():
                        raise RunError(f"{name} wrote {sub}/{file.name}, which another notebook wrote too; "
                                       "give one of them another name")
                    file.rename(tmp / sub / file.name)
            for kind, body in pages.items():
                (tmp / "html" / f"{name}{kind}").write_text(_with_provenance(body, prov), encoding="utf-8")

        seconds = _run_notebooks(jobs_list, jobs, notebooks_dir, progress, after=finish, restore=restore)
        if cache.evict():
            progress("  the run cache was over its bound: its least recently used pages were removed")
        records = {k: v for name in notebooks for k, v in by_page.get(name, {}).items()}  # reading order
        if share:  # the shared bundle is the rendered reports only
            shutil.rmtree(tmp / "notebooks")
        else:  # the ids behind the warnings: for the care team, never in a page, never shared
            _write_details(cohort, tmp / DATA_ISSUES)
        from .appendix import appendix_html

        from ..workbook.notebook import BANNER_STYLE

        banner = f"<p style='{BANNER_STYLE}'>{SYNTHETIC_NOTE}</p>" if prov["synthetic"] else ""
        (tmp / "html" / "appendix.html").write_text(appendix_html(banner=banner), encoding="utf-8")
        (tmp / "provenance.json").write_text(json.dumps({**prov, "records": records}, indent=2, default=str),
                                             encoding="utf-8")
        (tmp / "index.html").write_text(_index_html(tmp, list(notebooks), prov, records, share, notebooks_dir,
                                                    left_out), encoding="utf-8")
        written = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*"))
        (tmp / MARKER).write_text("Written by msc_sle.tools.runner; replaced wholesale by the next run.\n"
                                  f"{_MARKER_LIST}\n" + "".join(f"{w}\n" for w in written), encoding="utf-8")
        _readable(tmp)
        try:
            if _keep_folder(tmp, target):
                _swap_into(tmp, target, run)
            else:
                _swap_contents(tmp, target, run)
        except Interrupted as err:  # held back until the swap was done: OUT is this run's bundle
            err.replaced = True
            raise
    finally:
        with _critical():
            if run is not None:
                _close_work(run, target)
            for key, value in previous_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
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

#: Where ``make run`` and ``make share`` (and ``make review``) write when OUT is not given.
DEFAULT_OUT, DEFAULT_SHARE_OUT = "reports", "reports-share"
#: What the index and the appendix say above everything else when the cohort is synthetic (the
#: notebook pages carry workbook.notebook.banner, in the same style).
SYNTHETIC_NOTE = "SYNTHETIC DATA: generated to match the published tables; not patient data, no clinical conclusions."

#: Environment variable holding the assignments of the ``make`` command line (see Makefile).
MAKE_ARGS_ENV = "MSC_SLE_MAKE_ARGS"
_WHOLE = re.compile(r"[0-9]+")


def make_assignments(environ: Mapping[str, str] = os.environ) -> list[str]:
    """``NAME=value`` for every assignment of the ``make`` command line.

    The Makefile accepts only the workbook's names and hands their values over unexpanded in one
    variable, ``MSC_SLE_MAKE_ARGS``, one ``NAME=value`` a line (a value with a line break is refused
    there), so a value reaches Python as typed (spaces, quotes, ``;`` and backticks included)
    without passing through a shell, and no value becomes an environment variable of its own.
    """
    lines = environ.get(MAKE_ARGS_ENV, "").split("\n")
    # make joins the lines with a space: it starts every line but the first
    return [line.lstrip(" ") for line in lines if line.strip()]


def target_assignments(argv: list[str], names: set[str]) -> tuple[dict[str, str], list[str]]:
    """A one-variable target's command line (``make mapping DATA=...``, ``make review OUT=...``):
    its ``NAME=value`` assignments (with ``--from-make``, make's, :func:`make_assignments`) and what
    else was given, names outside ``names`` and bare words, which the target refuses."""
    if "--from-make" in argv:
        argv = [a for a in argv if a != "--from-make"] + make_assignments()
    given = dict(a.split("=", 1) for a in argv if "=" in a)
    return given, sorted(set(given) - set(names)) + [a for a in argv if "=" not in a]


def _whole(name: str, text: str, low: int, high: int | None, why: str) -> int:
    text = text.strip()
    if not _WHOLE.fullmatch(text) or int(text) < low or (high is not None and int(text) > high):
        bound = f"from {low} to {high}" if high is not None else f">= {low}"
        raise RunError(f"{name}={text!r}: expected a whole number {bound} ({why})")
    return int(text)


def _cli(argv: list[str]) -> int:
    usage = ("usage: python -m msc_sle.tools.runner {run|share|refresh|multicentre} [--from-make] [DATA=dir] "
             "[OUT=dir] [JOBS=n] [NAME=value ...]")
    if not argv or argv[0] not in ("run", "share", "refresh", "multicentre"):
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
    given, options = options, {**RUNNER_OPTIONS, **options}
    if options["LIST_PARAMS"].strip() not in ("", "0"):
        print(parameter_help())
        return 0
    jobs = _whole("JOBS", options["JOBS"], 1, 64, "notebooks run in parallel")
    fresh = bool(_whole("FRESH", options["FRESH"], 0, 1, "1 executes every notebook, reusing no kept page"))
    if command == "share":
        params["small_cell_min"] = _whole("SHARE_MIN", options["SHARE_MIN"], SHARE_MIN_FLOOR, 100,
                                          "counts below it are withheld; below 3 a bundle would claim a "
                                          "protection it lacks, since a count of 1 or 2 singles patients out")
    elif "SHARE_MIN" in given:
        raise RunError("SHARE_MIN applies to 'make share' only")
    out = params.pop("out_dir") or (DEFAULT_SHARE_OUT if command == "share" else DEFAULT_OUT)
    # make multicentre: page 08 alone (the split and the vantage6 run happen inside it)
    only = {"notebooks": ("08_multicentre",)} if command == "multicentre" else {}
    result = run_workbook(params, out, jobs, share=command == "share", fresh=fresh, **only)
    print(f"Done in {result.seconds:.1f} s: open {result.out / 'index.html'}")
    score = result.records.get("reproduction_score")
    if score is not None:
        print(f"Reproduction score: {score}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (0 ok, 2 user-facing error)."""
    from ..contract import DataError

    argv = sys.argv[1:] if argv is None else argv
    formatwarning, warnings.formatwarning = warnings.formatwarning, _plain_warning
    try:
        with _stop_on_signals():
            return _cli(argv)
    except (RunError, ParameterError, DataError) as err:
        print(f"\nmake: the workbook did not run.\n{err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        signum = getattr(err, "signum", signal.SIGINT)
        left = ("OUT already holds this run's complete bundle" if getattr(err, "replaced", False)
                else "OUT was left as it was and no temporary folder remains")
        print(f"\ninterrupted ({signal.Signals(signum).name}); {left}", file=sys.stderr)
        return 128 + signum
    except Exception as err:  # noqa: BLE001 - one readable line; MSC_SLE_DEBUG=1 shows the traceback
        if os.environ.get("MSC_SLE_DEBUG"):
            raise
        print(f"\nmake: unexpected error ({type(err).__name__}): {err}\n"
              "Run again with MSC_SLE_DEBUG=1 to see the traceback.", file=sys.stderr)
        return 2
    finally:
        warnings.formatwarning = formatwarning
        if _socket_dir.cache_info().currsize:  # also after a signal, when os._exit skips atexit
            shutil.rmtree(_socket_dir(), ignore_errors=True)
            _socket_dir.cache_clear()


if __name__ == "__main__":
    status = main()
    if status > 128:  # stopped by a signal, cleanup done: do not wait for worker threads to wind down
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)
