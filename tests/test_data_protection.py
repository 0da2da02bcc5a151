"""No patient data in git: committed notebooks carry outputs of the bundled SYNTHETIC cohort only,
and the folders meant for real data and reports are ignored."""
from __future__ import annotations

import json
import re
import subprocess

import nbformat
import pytest

from msc_sle.clinical import load_cohort
from msc_sle.workbook.notebook import RECORD_MIMETYPE
from msc_sle.tools.runner import NOTEBOOKS, NOTEBOOKS_DIR, REPO_ROOT, RunError, refresh_notebooks

HEX64 = re.compile(r"\b[0-9a-f]{64}\b")


@pytest.fixture(scope="module")
def bundled():
    cohort = load_cohort()
    assert cohort.synthetic, "data/synthetic must be marked synthetic in its manifest.json"
    return cohort


def _outputs(nb):
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            yield out


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_stored_outputs_come_from_the_bundled_synthetic_cohort(name, bundled):
    nb = nbformat.read(str(NOTEBOOKS_DIR / f"{name}.ipynb"), as_version=4)
    outputs = list(_outputs(nb))
    if not outputs:
        return  # a notebook without outputs carries no data
    meta = nb.metadata.get("msc_sle", {})
    assert meta.get("data_fingerprint") == bundled.fingerprint, \
        f"{name} holds outputs of data other than data/synthetic: run 'make notebooks' before committing"
    assert meta.get("synthetic") is True
    records = [o["data"][RECORD_MIMETYPE]["value"] for o in outputs
               if RECORD_MIMETYPE in o.get("data", {}) and o["data"][RECORD_MIMETYPE]["name"] == "provenance"]
    assert records, f"{name}: no provenance output (show_provenance) in the stored outputs"
    for rec in records:
        assert rec["data_fingerprint"] == bundled.fingerprint and rec["synthetic"] is True
    text = json.dumps([dict(o) for o in outputs])
    assert set(HEX64.findall(text)) <= {bundled.fingerprint}, f"{name}: outputs name another data fingerprint"


@pytest.mark.filterwarnings("ignore:visits.csv. recorded SLEDAI-2K total differs")
def test_fingerprint_changes_when_one_value_changes(tmp_path, bundled):
    # the protection above relies on the fingerprint seeing every byte of the raw files
    import shutil

    from msc_sle.contract import BUNDLED_DATA

    copy = tmp_path / "copy"
    shutil.copytree(BUNDLED_DATA, copy)
    assert load_cohort(copy).fingerprint == bundled.fingerprint
    visits = copy / "visits.csv"
    text = visits.read_text(encoding="utf-8")
    visits.write_text(text.replace(",1,", ",0,", 1), encoding="utf-8")
    assert load_cohort(copy).fingerprint != bundled.fingerprint


def test_real_data_and_reports_are_git_ignored():
    for path in ("data/private/extract/patients.csv", "reports/index.html", "reports-share/index.html",
                 "reports-mine/tables/table1_baseline.csv"):
        proc = subprocess.run(["git", "-C", str(REPO_ROOT), "check-ignore", "-q", path], capture_output=True)
        assert proc.returncode == 0, f"{path} is not git-ignored"


def test_refresh_refuses_data_not_marked_synthetic(monkeypatch):
    import dataclasses

    import msc_sle.clinical

    real = msc_sle.clinical.load_cohort()
    monkeypatch.setattr(msc_sle.clinical, "load_cohort", lambda *a, **k: dataclasses.replace(real, synthetic=False))
    with pytest.raises(RunError, match="not marked synthetic"):
        refresh_notebooks(progress=lambda _m: None)
