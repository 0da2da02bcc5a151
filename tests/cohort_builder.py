"""Small valid extracts for tests: every column of the data contract, values chosen by hand."""
from __future__ import annotations

import csv
from pathlib import Path

from msc_sle.contract import table_variables

DESCRIPTORS = [n for n in table_variables("visits")["name"]
               if n not in ("patient_id", "month", "prednisone_mg", "sledai_total")]


def patient_row(pid: str, **overrides) -> dict:
    row = {
        "patient_id": pid, "sex": "F", "age_years": "32", "sle_duration_months": "62", "acr_criteria_count": "6",
        "refractory": "1", "first_infusion_date": "2010-05-03", "follow_up_months": "24", "msc_source": "UC",
        "second_infusion": "0", "cyc_induction_dose_g": "1.2", "baseline_prednisone_mg": "20",
        "prior_prednisone": "1", "prior_cyc": "1", "prior_mmf": "0", "prior_hcq": "0", "prior_lef": "0",
        "fever": "0", "rash": "1", "photosensitivity": "0", "oral_ulcers": "0", "arthralgia_arthritis": "1",
        "serositis": "0", "vasculitis": "0", "alopecia": "0", "renal_disorder": "1",
        "active_lupus_nephritis": "1", "ln_class": "", "neurologic_disorder": "0",
        "cardiorespiratory_disorder": "0", "hematological_disorder": "0", "immunologic_disorder": "1",
        "antinuclear_antibodies": "1", "anti_dsdna": "1", "anti_sm": "0", "anti_ssa": "0", "anti_ssb": "0",
        "low_complement": "1",
    }
    row.update({k: str(v) for k, v in overrides.items()})
    return row


def visit_row(pid: str, month: int, present=(), prednisone="20", total="") -> dict:
    row = {"patient_id": pid, "month": str(month)}
    row.update({d: "1" if d in present else "0" for d in DESCRIPTORS})
    row.update({"prednisone_mg": str(prednisone), "sledai_total": str(total)})
    return row


def default_rows(n_patients: int = 3):
    """``n_patients`` patients, each with the 5 scheduled visits; baseline SLEDAI 12 (proteinuria+
    hematuria+arthritis), falling to 4 (arthritis) by month 12."""
    patients = [patient_row(f"P{i:03d}") for i in range(1, n_patients + 1)]
    visits = []
    for p in patients:
        for month, present, pred in ((0, ("proteinuria", "hematuria", "arthritis"), 20),
                                     (1, ("proteinuria", "arthritis"), 15), (3, ("arthritis",), 10),
                                     (6, ("arthritis",), 7.5), (12, ("arthritis",), 5)):
            visits.append(visit_row(p["patient_id"], month, present, pred))
    return patients, visits


def write_rows(folder: Path, name: str, rows: list[dict], delimiter=",", encoding="utf-8", header=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    fields = header or list(rows[0])
    with open(path, "w", newline="", encoding=encoding) as fh:
        w = csv.DictWriter(fh, fieldnames=fields, delimiter=delimiter, lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


def write_extract(folder: Path, n_patients: int = 3, patients=None, visits=None) -> Path:
    p, v = default_rows(n_patients)
    write_rows(folder, "patients.csv", patients if patients is not None else p)
    write_rows(folder, "visits.csv", visits if visits is not None else v)
    return folder
