"""``make mapping DATA=<dir>``: a first ``mapping.yml`` for an extract whose names are the centre's.

Every dictionary variable whose column it can match (same name, the dictionary's label, or an SPSS
/Stata variable label equal to either) is written as a mapping line with how it was matched; every
one it cannot match is a ``# TODO`` line naming the variable, its label, unit and whether it is
required; value labels of category columns are written as TODO pairs to fill in. Columns it does
not use are listed at the end. An existing mapping.yml is never overwritten.

    python -m msc_sle.tools.draft DATA=<dir>
"""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pandas as pd

from ..contract import DataError, Problem
from ..contract.dictionary import normal_name, variables
from ..contract.formats import STATISTICAL, read_metadata
from ..contract.loader import TABLE_SUFFIXES
from ..contract.mapping import MAPPING

__all__ = ["draft_mapping", "main"]

def _columns(path: Path) -> tuple[list[str], dict, dict]:
    """(column names, variable labels, value labels) of a table file, without reading its rows."""
    suffix = path.suffix.lower()
    if suffix in STATISTICAL:
        meta = read_metadata(path)
        return list(meta.column_names), dict(meta.column_names_to_labels or {}), dict(meta.variable_value_labels or {})
    if suffix == ".xlsx":
        return [str(c) for c in pd.read_excel(path, nrows=0).columns], {}, {}
    return [str(c) for c in pd.read_csv(path, nrows=0, sep=None, engine="python").columns], {}, {}


def _table_file(folder: Path, table: str) -> Path:
    found = [p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() in TABLE_SUFFIXES
             and normal_name(p.stem) == table]
    if len(found) != 1:
        why = "no file" if not found else f"{len(found)} files ({', '.join(p.name for p in found)})"
        raise DataError([Problem(str(folder), None, None, None,
                                 f"{why} named {table}.<csv|xlsx|sav|zsav|dta|sas7bdat|xpt>: rename the file "
                                 f"holding the {table} table, then run make mapping again")])
    return found[0]


def _quote(text: str) -> str:
    return text if text.replace("_", "").isalnum() else '"' + text.replace('"', '\\"') + '"'


def draft_mapping(folder: str | Path) -> str:
    """The text of a draft mapping.yml for the extract in ``folder`` (nothing is written)."""
    folder = Path(folder)
    lines = [f"# Draft written by `make mapping` on {dt.date.today():%Y-%m-%d}. Check every line, fill in",
             "# each TODO (or delete it for an optional variable you do not have), then `make run DATA=...`.",
             "# README.md, 'Run it on your own extract', explains every key."]
    for table in ("patients", "visits"):
        path = _table_file(folder, table)
        columns, var_labels, value_labels = _columns(path)
        by_name = {normal_name(c): c for c in columns}
        by_label = {normal_name(v): c for c, v in var_labels.items() if v}
        used, mapped, todo, values = set(), [], [], []
        for var in variables(table):
            name, label = var.name, var.label
            source, how = None, ""
            for key, table_of, why in ((name, by_name, "same name"), (normal_name(label), by_name, "dictionary label"),
                                       (name, by_label, "variable label"), (normal_name(label), by_label, "variable label")):
                if key in table_of and table_of[key] not in used:
                    source, how = table_of[key], why
                    break
            unit = f", {var.unit}" if var.unit else ""
            needed = "required" if var.required else "optional"
            if source is None:
                todo.append(f"    # TODO {name}: ({label}{unit}; {needed}) which column? "
                            f"e.g. {name}: COLUMN or {{column: COLUMN, unit: ...}}")
                continue
            used.add(source)
            mapped.append(f"    {name}: {_quote(source)}    # {how}")
            codes = value_labels.get(source)
            if codes and var.kind in ("category", "boolean"):
                allowed = ", ".join(var.levels) if var.kind == "category" else "1, 0"
                pairs = ", ".join(f"{_quote(str(lbl))}: TODO" for lbl in codes.values())
                values.append(f"    # TODO {name}: map each value label to one of {allowed}")
                values.append(f"    # {name}: {{{pairs}}}")
        lines += ["", f"{table}:", f"  file: {_quote(path.name)}", "  columns:"] + mapped + todo
        if values:
            lines += ["  values:"] + values
        rest = [c for c in columns if c not in used]
        if rest:
            lines.append(f"  # not used by the workbook: {', '.join(rest)}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from .runner import target_assignments

    given, others = target_assignments(sys.argv[1:] if argv is None else argv, {"DATA"})
    try:
        if others or not given.get("DATA"):
            raise DataError([Problem("make mapping", None, None, ", ".join(others) or None,
                                     "takes one variable, DATA=<folder of the extract>")])
        folder = Path(given["DATA"]).expanduser()
        if not folder.is_dir():
            raise DataError([Problem(str(folder), None, None, None, "not a folder")])
        target = folder / MAPPING
        if target.exists():
            raise DataError([Problem(str(target), None, None, None,
                                     "already exists and is never overwritten: edit it, or move it away to draft a new one")])
        text = draft_mapping(folder)
        tmp = target.with_name(f".{MAPPING}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
    except DataError as err:
        print(f"\nmake mapping: nothing was written.\n{err}", file=sys.stderr)
        return 2
    matched = sum(text.count(f"# {how}\n") for how in ("same name", "dictionary label", "variable label"))
    print(f"Wrote {target}: {matched} column(s) matched, {text.count('# TODO')} TODO(s) to fill in.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
