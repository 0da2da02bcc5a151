"""Extracts for the outsider recovery test (tests/test_disclosure.py): small cohorts made of the
bundled SYNTHETIC one, and the `make share` / `make run` bundles of each.

- ``resampled_34``: 34 screened patients resampled from the reconstruction
  (``msc_sle.tools.synthetic.resample_synthetic``), most table cells 0 to 4;
- ``tiny``: a handful of the bundled patients (a few screen failures among them), chosen so that as
  many categories as possible count 1 to 4 patients in the analysed cohort and both CR groups exist.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

COHORTS = ("bundled", "resampled_34", "tiny")


def write_resampled(out: Path, n: int = 34, seed: int = 20190502) -> Path:
    from msc_sle.contract import BUNDLED_DATA, read_extract
    from msc_sle.tools.synthetic import SyntheticExtract, resample_synthetic, write_synthetic

    base = read_extract(BUNDLED_DATA)
    manifest = json.loads((BUNDLED_DATA / "manifest.json").read_text())
    extract = resample_synthetic(SyntheticExtract(base.patients, base.visits, manifest), n, seed=seed)
    write_synthetic(extract, out)
    return out


def _spread(patients: pd.DataFrame) -> int:
    """How many categories of the analysed patients count 1 to 4 (the more, the harder to protect)."""
    score = 0
    for col in patients.columns:
        if col == "patient_id" or patients[col].nunique() > 8:
            continue
        counts = patients[col].astype(str).value_counts()
        score += int(((counts >= 1) & (counts <= 4)).sum()) - int((counts > 4).sum())
    return score


def write_tiny(out: Path, analysed: int = 8, failures: int = 2, seed: int = 3, tries: int = 400) -> Path:
    """``analysed`` eligible patients of the bundled cohort (about half CR) and ``failures`` screen
    failures, the subset with the most categories of 1 to 4 patients among ``tries`` random ones."""
    import warnings

    from msc_sle.clinical import apply_eligibility, classify_response, load_cohort
    from msc_sle.clinical.outcomes import paper_cr
    from msc_sle.contract import BUNDLED_DATA

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cohort = load_cohort(BUNDLED_DATA)
    elig = apply_eligibility(cohort)
    eligible = elig.cohort.patients["patient_id"].astype(str)
    cr = classify_response(elig.cohort, paper_cr).patients.set_index("patient_id")["ever"]
    cr_ids = [p for p in eligible if bool(cr.get(p, False))]
    other_ids = [p for p in eligible if not bool(cr.get(p, False))]
    failed = sorted(set(cohort.patients["patient_id"].astype(str)) - set(eligible))
    raw_p = pd.read_csv(BUNDLED_DATA / "patients.csv", dtype=str, keep_default_na=False)
    raw_v = pd.read_csv(BUNDLED_DATA / "visits.csv", dtype=str, keep_default_na=False)
    rng = np.random.default_rng(seed)
    best, best_score = None, -np.inf
    n_cr = analysed // 2
    for _ in range(tries):
        pick = list(rng.choice(cr_ids, n_cr, replace=False)) + list(rng.choice(other_ids, analysed - n_cr,
                                                                                replace=False))
        score = _spread(raw_p[raw_p["patient_id"].isin(pick)].drop(columns=["first_infusion_date"]))
        if score > best_score:
            best, best_score = pick, score
    keep = set(best) | set(rng.choice(failed, min(failures, len(failed)), replace=False))
    out.mkdir(parents=True, exist_ok=True)
    p = raw_p[raw_p["patient_id"].isin(keep)]
    v = raw_v[raw_v["patient_id"].isin(keep)]
    p.to_csv(out / "patients.csv", index=False)
    v.to_csv(out / "visits.csv", index=False)
    manifest = json.loads((BUNDLED_DATA / "manifest.json").read_text())
    manifest.update({"paper_cohort": False, "patients": None, "n_screened": len(p), "n_visits": len(v),
                     "notes": [f"{len(p)} patients of the bundled SYNTHETIC cohort, for the recovery test"]})
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return out


def write_cohort(name: str, out: Path) -> Path | None:
    """The extract folder of cohort ``name`` (None: the bundled one)."""
    if name == "bundled":
        return None
    return (write_resampled if name == "resampled_34" else write_tiny)(Path(out))


#: Cohorts `make share` must refuse (docs/disclosure.md, rule 8): 8 analysed patients in two groups of
#: fewer than 5 are 4 and 4 whatever is withheld, so no bundle can protect them.
REFUSED = ("tiny",)


def make_bundles(name: str, root: Path) -> tuple[Path, Path]:
    """The `make share` and the `make run` bundle of cohort ``name`` under ``root`` (built once: an
    existing pair is reused, so a session builds each at most once). When `make share` refuses the
    cohort, its message is kept in ``root/share.refused`` and the share folder must not exist."""
    from msc_sle.tools.runner import RunError, run_workbook
    from msc_sle.workbook.params import check_parameters

    root = Path(root)
    share, run = root / "share", root / "run"
    refused = root / "share.refused"
    data = write_cohort(name, root / "data") if not (root / "data").exists() or name == "bundled" else root / "data"
    params = {} if data is None else {"data_dir": str(data)}
    for out, kw in ((share, {"share": True}), (run, {})):
        if kw and refused.exists():
            continue
        if not (out / "provenance.json").exists():
            p = dict(check_parameters(**params, small_cell_min=5)) if kw else dict(check_parameters(**params))
            try:
                run_workbook(p, out, jobs=2, progress=lambda _m: None, **kw)
            except RunError as err:
                if not kw:
                    raise
                refused.write_text(str(err))
    return share, run
