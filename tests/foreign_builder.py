"""The bundled SYNTHETIC cohort written the way a centre would hold it: SPSS .sav with value labels
and a user-missing code, Stata .dta, and a REDCap raw export with its data dictionary, a repeating
visit instrument, a checkbox field and a mapping.yml (units and a glucocorticoid to convert).

Every file is written by the library that writes that format (pyreadstat, the csv module for
REDCap's CSV), never by the workbook's reader, so a reading test checks the reader against the
writer. The values are the bundled cohort's, so a run on any of them must print the same tables.
"""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from msc_sle.clinical import load_cohort
from msc_sle.contract import BUNDLED_DATA

SEX_CODES = {"F": 1, "M": 2}
USER_MISSING = 99  # declared missing for the CYC induction dose of patients without induction


def typed(df: pd.DataFrame) -> pd.DataFrame:
    """Columns as a statistical package stores them: numbers (booleans 1/0), text, dates."""
    out = pd.DataFrame(index=df.index)
    for col in df.columns:
        s = df[col]
        kind = str(s.dtype)
        if kind in ("boolean", "Int64"):
            out[col] = s.astype("float64")
        elif kind in ("category", "string"):
            out[col] = s.astype(object).where(s.notna(), "")
        elif kind.startswith("datetime"):
            # pyreadstat writes datetime64[ns] dates correctly (datetime64[us] came out wrong in write_dta)
            out[col] = s.astype("datetime64[ns]")
        else:
            out[col] = s
    return out


def _copy_manifest(source: Path, folder: Path) -> None:
    if (Path(source) / "manifest.json").exists():
        shutil.copy(Path(source) / "manifest.json", folder / "manifest.json")


def write_sav(folder: Path, compress: bool = False, source: Path = BUNDLED_DATA) -> Path:
    """patients.sav (sex coded 1/2 with labels female/male; CYC dose 99 = user-missing) and visits.sav."""
    import pyreadstat

    cohort = load_cohort(source)
    folder.mkdir(parents=True, exist_ok=True)
    patients = typed(cohort.patients)
    patients["sex"] = cohort.patients["sex"].astype(object).map(SEX_CODES).astype("float64")
    patients["cyc_induction_dose_g"] = patients["cyc_induction_dose_g"].fillna(USER_MISSING)
    suffix = ".zsav" if compress else ".sav"
    pyreadstat.write_sav(patients, folder / f"patients{suffix}", compress=compress,
                         variable_value_labels={"sex": {1: "female", 2: "male"},
                                                "cyc_induction_dose_g": {USER_MISSING: "no induction"}},
                         missing_ranges={"cyc_induction_dose_g": [USER_MISSING]})
    pyreadstat.write_sav(typed(cohort.visits), folder / f"visits{suffix}", compress=compress)
    (folder / "mapping.yml").write_text("# SPSS codes 1/2 carry the value labels female/male\n"
                                        "patients:\n  values:\n    sex: {female: F, male: M}\n")
    _copy_manifest(source, folder)
    return folder


def write_dta(folder: Path, source: Path = BUNDLED_DATA) -> Path:
    """patients.dta and visits.dta, columns under Stata-style upper-case names, with a mapping that
    also converts age to months and the CYC dose to mg (and back, through the mapping's units)."""
    import pyreadstat

    cohort = load_cohort(source)
    folder.mkdir(parents=True, exist_ok=True)
    patients = typed(cohort.patients)
    patients["age_years"] = cohort.patients["age_years"] * 12        # the centre records months
    patients["cyc_induction_dose_g"] = cohort.patients["cyc_induction_dose_g"] * 1000  # and mg
    patients = patients.rename(columns={"patient_id": "PATID", "age_years": "AGE_M", "cyc_induction_dose_g": "CYC_MG"})
    pyreadstat.write_dta(patients, folder / "patients.dta")
    pyreadstat.write_dta(typed(cohort.visits).rename(columns={"patient_id": "PATID"}), folder / "visits.dta")
    (folder / "mapping.yml").write_text(
        "patients:\n"
        "  columns:\n"
        "    patient_id: PATID\n"
        "    age_years: {column: AGE_M, unit: months}\n"
        "    cyc_induction_dose_g: {column: CYC_MG, unit: mg}\n"
        "visits:\n"
        "  columns:\n"
        "    patient_id: PATID\n")
    _copy_manifest(source, folder)
    return folder


_VISIT_LABELS = {1: ("Baseline", 0), 2: ("Month 1", 1), 3: ("Month 3", 3), 4: ("Month 6", 6), 5: ("Month 12", 12)}
#: The events of the longitudinal layout, by month (REDCap's unique event names: event, then arm).
_EVENTS = {0: "baseline_arm_1", 1: "month_1_arm_1", 3: "month_3_arm_1", 6: "month_6_arm_1", 12: "month_12_arm_1"}
_ANTIBODIES = {"1": "antinuclear_antibodies", "2": "anti_dsdna", "3": "anti_sm", "4": "anti_ssa", "5": "anti_ssb"}


def write_redcap(folder: Path, source: Path = BUNDLED_DATA, complete: bool = False, events: bool = False) -> Path:
    """A REDCap project export: MSC_DATA.csv (one record row per patient, then a repeating 'visits'
    instrument), MSC_DataDictionary.csv, and the mapping.yml that ties them to the workbook.

    ``complete``: the ``<form>_complete`` column REDCap adds after each form's fields in every raw
    export (2 = Complete on the rows holding the form, empty elsewhere). ``events``: a longitudinal
    project instead (no repeating instrument): one row per record and event (``baseline_arm_1``,
    ``month_1_arm_1``, ...), the patient's forms on the baseline event, the visit form on every event."""
    cohort = load_cohort(source)
    folder.mkdir(parents=True, exist_ok=True)
    p, v = cohort.patients, cohort.visits
    patient_fields = [c for c in p.columns if c != "patient_id" and c not in _ANTIBODIES.values()]
    visit_fields = [c for c in v.columns if c not in ("patient_id", "month")]
    kinds = {c: str(p[c].dtype) for c in p.columns} | {f"v_{c}": str(v[c].dtype) for c in v.columns}

    def cell(value, kind):
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return ""
        if kind == "boolean":
            return "1" if value else "0"
        if kind.startswith("datetime"):
            return pd.Timestamp(value).strftime("%Y-%m-%d")
        if kind == "category" and value in SEX_CODES:
            return str(SEX_CODES[value])
        if isinstance(value, (float, np.floating)):
            return f"{float(value):.15g}"
        return str(value)

    structural = ["record_id", "redcap_event_name"] if events else ["record_id", "redcap_repeat_instrument",
                                                                    "redcap_repeat_instance"]
    header = (structural + patient_fields + [f"antibodies___{code}" for code in _ANTIBODIES]
              + (["baseline_complete"] if complete else []) + ([] if events else ["visit_label"])
              + [f"v_{c}" for c in visit_fields] + (["visits_complete"] if complete else []))
    rows = []
    for _, pat in p.iterrows():
        row = {"record_id": pat["patient_id"], "redcap_repeat_instrument": "", "redcap_repeat_instance": ""}
        row |= {f: cell(pat[f], "category" if f == "sex" else kinds[f]) for f in patient_fields}
        row |= {f"antibodies___{code}": cell(pat[name], "boolean") for code, name in _ANTIBODIES.items()}
        row |= {"baseline_complete": "2"} if complete else {}
        own = v[v["patient_id"] == pat["patient_id"]]
        if events:
            row["redcap_event_name"] = "baseline_arm_1" if (own["month"] == 0).any() else "enrolment_arm_1"
            if row["redcap_event_name"] == "enrolment_arm_1":
                rows.append(row)
        else:
            rows.append(row)
        for instance, (_, vis) in enumerate(own.iterrows(), start=1):
            code = next(k for k, (_, m) in _VISIT_LABELS.items() if m == vis["month"])
            if events:
                event = _EVENTS[int(vis["month"])]
                if event != "baseline_arm_1":
                    row = {"record_id": pat["patient_id"], "redcap_event_name": event}
            else:
                row = {"record_id": pat["patient_id"], "redcap_repeat_instrument": "visits",
                       "redcap_repeat_instance": str(instance), "visit_label": str(code)}
            row |= {f"v_{c}": cell(vis[c], kinds[f"v_{c}"]) for c in visit_fields}
            row |= {"visits_complete": "2"} if complete else {}
            rows.append(row)
    with open(folder / "MSC_DATA.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, header, restval="", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    meta = [("record_id", "baseline", "text", "")]
    for f in patient_fields:
        if f == "sex":
            meta.append((f, "baseline", "radio", "1, Female | 2, Male"))
        else:
            meta.append((f, "baseline", "yesno" if kinds[f] == "boolean" else "text", ""))
    meta.append(("antibodies", "baseline", "checkbox", " | ".join(f"{c}, {n}" for c, n in _ANTIBODIES.items())))
    if not events:
        meta.append(("visit_label", "visits", "dropdown",
                     " | ".join(f"{c}, {lbl}" for c, (lbl, _) in _VISIT_LABELS.items())))
    meta += [(f"v_{c}", "visits", "yesno" if kinds[f"v_{c}"] == "boolean" else "text", "") for c in visit_fields]
    with open(folder / "MSC_DataDictionary.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
                         "Choices, Calculations, OR Slider Labels"])
        for name, form, ftype, choices in meta:
            writer.writerow([name, form, "", ftype, name.replace("_", " "), choices])
    lines = ["redcap:", "  records: MSC_DATA.csv", "  dictionary: MSC_DataDictionary.csv", "  visit_instrument: visits"]
    if events:
        lines += ["  events:", "    enrolment_arm_1: null"] + [f"    {e}: {m}" for m, e in _EVENTS.items()]
    lines += ["patients:", "  columns:", "    patient_id: record_id"]
    lines += [f"    {name}: antibodies___{code}" for code, name in _ANTIBODIES.items()]
    lines += ["  values:", "    sex: {Female: F, Male: M}", "visits:", "  columns:", "    patient_id: record_id"]
    lines += [] if events else ["    month: visit_label"]
    lines += [f"    {c}: v_{c}" for c in visit_fields]
    if not events:
        lines += ["  values:", "    month: {" + ", ".join(f"{lbl}: {m}" for lbl, m in _VISIT_LABELS.values()) + "}"]
    (folder / "mapping.yml").write_text("\n".join(lines) + "\n")
    _copy_manifest(source, folder)
    return folder
