"""What ``make run`` keeps between its notebooks and between its runs.

**The cohort hand-off.** The runner validates the extract once per run and writes the validated
cohort to a private folder of its run (``<OUT's parent>/.msc_sle-work/``, mode 0700, never under
OUT, removed when the run ends, even on SIGTERM) in typed files, never a pickle: each table as
Parquet (pyarrow keeps every dtype of the contract: ``string``, ``Int64``, ``boolean``, categories
with their levels, ``datetime64[ns]``) and a JSON sidecar with the rest (source, notes, the loader's
problems, provenance flags), the dtype of every column and the SHA-256 of each Parquet file. The
kernels find it through :data:`HANDOFF_ENV` and the fingerprint the runner computed through
:data:`FINGERPRINT_ENV`; :func:`cached_cohort` returns it only when the sidecar names that
fingerprint and that extract, the files have the digests the sidecar gives and every column has its
recorded dtype, else None, and the notebook then validates the raw extract itself (as it does in
JupyterLab, where nothing is handed off). The raw files are hashed once per run, by the loader in
the runner, never again by each notebook.

**The page cache.** Each notebook's executed result (the notebook as papermill wrote it, the tables
and figures it wrote, what it recorded for the index) is kept in ``.msc_sle-work/cache/`` under a
key (:func:`page_key`) made of what can change it: the cohort handed to it (the digest of the
sidecar, which names the Parquet digests), the values of the parameters it declares, its own cells
and the workbook's code and packages (:func:`code_digest`). ``make run`` reuses an entry whose key
is unchanged. Entries are folders written whole (renamed into place) and never modified; the cache
is bounded (:data:`CACHE_MAX_BYTES`, the least recently used entries evicted first) and private
(0700 folders, 0600 files): it holds pages computed from patient data.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import fields
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping

from ..contract import Cohort, Problem

__all__ = ["HANDOFF_ENV", "FINGERPRINT_ENV", "CACHE_MAX_BYTES", "write_cohort", "read_cohort", "cached_cohort",
           "handoff_digest", "code_digest", "page_key", "PageCache"]

#: Environment variable naming the hand-off folder (set by the runner for its kernels).
HANDOFF_ENV = "MSC_SLE_COHORT_HANDOFF"
#: Environment variable holding the fingerprint of the extract the runner validated.
FINGERPRINT_ENV = "MSC_SLE_COHORT_FINGERPRINT"
#: The sidecar's format; a hand-off of another format is not read.
FORMAT = "msc_sle-cohort/1"
SIDECAR = "cohort.json"
TABLES = ("patients", "visits")
#: Bound of the page cache. A run of the seven pages on the bundled cohort keeps about 4 MB
#: (figures embedded in the notebooks): 512 MiB hold a long session of parameter changes at registry
#: size too, and stay small beside the extract itself.
CACHE_MAX_BYTES = 512 * 2 ** 20


def _private_file(path: Path, data: bytes) -> None:
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as fh:
        fh.write(data)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    """A JSON value for a problem's value: numpy scalars as Python numbers, anything else as text."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return _plain(item())
        except (TypeError, ValueError):
            pass
    return str(value)


# --------------------------------------------------------------------------- cohort hand-off

def write_cohort(cohort: Cohort, folder: str | Path) -> Path:
    """Write ``cohort`` to ``folder`` (created 0700; files 0600: patient-level data) as
    ``patients.parquet``, ``visits.parquet`` and the sidecar ``cohort.json``; returns the folder."""
    folder = Path(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    frames = {"patients": cohort.patients, "visits": cohort.visits}
    sidecar: dict[str, Any] = {"format": FORMAT, "tables": {}}
    for name, frame in frames.items():
        path = folder / f"{name}.parquet"
        tmp = folder / f".{name}.parquet.tmp"
        _private_file(tmp, b"")
        frame.to_parquet(tmp, engine="pyarrow", index=False)
        tmp.replace(path)
        sidecar["tables"][name] = {"sha256": _sha256(path), "rows": int(len(frame)),
                                   "dtypes": {str(c): str(t) for c, t in frame.dtypes.items()}}
    for f in fields(Cohort):
        if f.name in frames:
            continue
        value = getattr(cohort, f.name)
        if f.name == "details":
            value = [{**{k.name: getattr(p, k.name) for k in fields(Problem)}, "value": _plain(p.value)}
                     for p in value]
        elif f.name == "files":
            value = {k: str(v) for k, v in value.items()}
        elif isinstance(value, tuple):
            value = list(value)
        sidecar[f.name] = value
    tmp = folder / f".{SIDECAR}.tmp"
    _private_file(tmp, json.dumps(sidecar, indent=1, sort_keys=True).encode("utf-8"))
    tmp.replace(folder / SIDECAR)
    return folder


def handoff_digest(folder: str | Path) -> str:
    """SHA-256 of the sidecar: it names the extract's fingerprint, the digest of each table file and
    every non-table field, so it changes whenever what the notebooks read changes (a manifest's
    ``synthetic`` flag included, which the raw fingerprint does not cover)."""
    return _sha256(Path(folder) / SIDECAR)


def read_cohort(folder: str | Path, fingerprint: str | None = None) -> Cohort | None:
    """The cohort :func:`write_cohort` wrote to ``folder``, or None when it cannot be trusted: no or
    another format, a fingerprint other than ``fingerprint`` (when given), a table file whose
    digest or column dtypes differ from the sidecar's."""
    import pandas as pd

    folder = Path(folder)
    try:
        sidecar = json.loads((folder / SIDECAR).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if sidecar.get("format") != FORMAT or (fingerprint is not None and sidecar.get("fingerprint") != fingerprint):
        return None
    frames = {}
    for name in TABLES:
        meta, path = sidecar["tables"].get(name, {}), folder / f"{name}.parquet"
        try:
            if _sha256(path) != meta.get("sha256"):
                return None
            frame = pd.read_parquet(path, engine="pyarrow")
        except (OSError, ValueError):
            return None
        if {str(c): str(t) for c, t in frame.dtypes.items()} != meta.get("dtypes") or len(frame) != meta.get("rows"):
            return None
        frames[name] = frame
    values: dict[str, Any] = {}
    for f in fields(Cohort):
        if f.name in frames:
            values[f.name] = frames[f.name]
        elif f.name == "details":
            values[f.name] = tuple(Problem(**p) for p in sidecar.get("details", []))
        elif f.name in sidecar:
            value = sidecar[f.name]
            values[f.name] = tuple(value) if isinstance(value, list) else value
    return Cohort(**values)


def cached_cohort(data_dir: str | Path) -> Cohort | None:
    """The runner's validated cohort of ``data_dir`` for this run, or None (not under ``make run``,
    another extract, or a hand-off that fails :func:`read_cohort`'s checks: the caller then reads
    the raw extract)."""
    folder = os.environ.get(HANDOFF_ENV)
    if not folder:
        return None
    cohort = read_cohort(folder, os.environ.get(FINGERPRINT_ENV) or "")
    if cohort is None or Path(cohort.source).resolve() != Path(data_dir).resolve():
        return None
    return cohort


# --------------------------------------------------------------------------- page cache

def code_digest(roots: list[Path], packages: tuple[str, ...] = ()) -> str:
    """SHA-256 over every file under ``roots`` (the library, the data dictionary, the published
    values; ``__pycache__`` left out), the Python version and the versions of ``packages``: what a
    page's code is, besides its own cells."""
    digest = hashlib.sha256(sys.version.encode())
    for name in packages:
        try:
            digest.update(f"\0{name}=={metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"\0{name} missing".encode())
    for root in roots:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*")
                                                      if p.is_file() and "__pycache__" not in p.parts)
        for path in files:
            digest.update(b"\0" + path.as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def page_key(notebook_cells: Any, parameters: Mapping[str, Any], data: str, code: str, mode: str) -> str:
    """The key of one page: its cells (as JSON-able data), the values of the parameters it declares,
    the digest of the cohort handed to it, the code digest and the run's mode."""
    text = json.dumps({"cells": notebook_cells, "parameters": dict(sorted(parameters.items())), "data": data,
                       "code": code, "mode": mode}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class PageCache:
    """The page cache in ``folder`` (``.msc_sle-work/cache``): one folder per entry, named after the
    page and its key, holding ``notebook.ipynb``, ``files/`` (the tables and figures the page wrote)
    and ``entry.json`` (what it recorded). ``usable`` is False (and nothing is read or written) when
    the folder cannot be made private to this user."""

    def __init__(self, folder: str | Path, max_bytes: int = CACHE_MAX_BYTES):
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self.usable = self._private()

    def _private(self) -> bool:
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            st = self.folder.lstat()
        except OSError:
            return False
        # a folder someone else made, or others can read, is not used for patient-level pages
        return not self.folder.is_symlink() and st.st_uid == os.getuid() and not st.st_mode & 0o077

    def entry(self, name: str, key: str) -> Path:
        return self.folder / f"{name}-{key[:40]}"

    def lookup(self, name: str, key: str) -> Path | None:
        """The entry of page ``name`` under ``key``, or None; a hit is marked as recently used."""
        if not self.usable:
            return None
        path = self.entry(name, key)
        try:
            if json.loads((path / "entry.json").read_text(encoding="utf-8")).get("key") != key:
                return None
            os.utime(path)
        except (OSError, ValueError):
            return None
        return path

    def store(self, name: str, key: str, notebook: Path, files: Path, extra: Mapping[str, Any]) -> Path | None:
        """Keep ``notebook`` and the folder ``files`` under ``key`` (whole or not at all); None when
        the cache is not usable or the disk refuses (a page is then simply not reused)."""
        if not self.usable:
            return None
        tmp = None
        try:
            tmp = Path(tempfile.mkdtemp(dir=self.folder, prefix=".new-"))
            shutil.copyfile(notebook, tmp / "notebook.ipynb")
            shutil.copytree(files, tmp / "files") if files.is_dir() else (tmp / "files").mkdir()
            _private_file(tmp / "entry.json", json.dumps({**extra, "key": key, "page": name}, default=str).encode())
            for path in [tmp, *tmp.rglob("*")]:
                os.chmod(path, 0o700 if path.is_dir() else 0o600)
            target = self.entry(name, key)
            shutil.rmtree(target, ignore_errors=True)
            tmp.rename(target)
            return target
        except OSError:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
            return None

    def evict(self) -> list[str]:
        """Remove the least recently used entries until the cache holds at most ``max_bytes``;
        returns the names removed. Unfinished entries of a run that was killed go first."""
        if not self.usable:
            return []
        entries = []
        for path in self.folder.iterdir():
            try:
                size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else \
                    path.stat().st_size
                entries.append((path.name.startswith(".new-") and path.stat().st_mtime < time.time() - 3600,
                                path.stat().st_mtime, size, path))
            except OSError:
                continue
        total = sum(e[2] for e in entries)
        removed = []
        for stale, _, size, path in sorted(entries, key=lambda e: (not e[0], e[1])):
            if total <= self.max_bytes and not stale:
                break
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
            total -= size
            removed.append(path.name)
        return removed
