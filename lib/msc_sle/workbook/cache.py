"""The validated cohort handed from the runner to its notebooks, so an extract is read and validated
once per run instead of once per notebook.

The runner writes the cohort it validated to a private file of its run folder (in
``<OUT's parent>/.msc_sle-work/``, mode 0700, never under OUT, removed when the run ends, even on
SIGTERM) and names it in the environment of the notebooks' kernels; :func:`cached_cohort` returns it only when the raw files it
came from still have the same fingerprint, so an extract changed during the run is read again.
Outside a run (JupyterLab) nothing is cached and the notebook validates the extract itself.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path

from ..contract import Cohort, fingerprint_files

__all__ = ["CACHE_ENV", "write_cohort_cache", "cached_cohort"]

#: Environment variable naming the cache file (set by the runner for its kernels).
CACHE_ENV = "MSC_SLE_COHORT_CACHE"


def write_cohort_cache(cohort: Cohort, path: str | Path) -> Path:
    """Pickle ``cohort`` to ``path`` (readable by the owner only: it holds patient-level data)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as fh:
        pickle.dump(cohort, fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
    return path


def cached_cohort(data_dir: str | Path) -> Cohort | None:
    """The runner's validated cohort of ``data_dir``, or None (no cache, another extract, or raw
    files whose fingerprint changed since they were validated)."""
    path = os.environ.get(CACHE_ENV)
    if not path or not Path(path).is_file():
        return None
    with open(path, "rb") as fh:
        cohort = pickle.load(fh)  # written by this process's parent, the runner, for this run
    if not isinstance(cohort, Cohort) or Path(cohort.source).resolve() != Path(data_dir).resolve():
        return None
    try:
        if fingerprint_files([Path(p) for p in cohort.raw_files]) != cohort.fingerprint:
            return None
    except OSError:
        return None
    return cohort
