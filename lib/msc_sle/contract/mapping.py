"""``mapping.yml``: a centre's column names, codes and units -> the workbook's data dictionary.

A file beside the extract, read when present (``make mapping`` drafts one)::

    patients:
      file: patients.sav                 # optional: the file holding the table
      columns:                           # workbook name: the extract's column
        patient_id: PATID
        age_years: {column: AGE_M, unit: months}      # converted to the dictionary's unit (years)
        baseline_prednisone_mg: {column: MP_DOSE, drug: methylprednisolone}   # prednisone equivalents
      values:                            # the extract's code or value label -> the workbook's level
        sex: {female: F, male: M}
    visits:
      columns: {patient_id: PATID, month: VISIT}
      values:
        month: {Baseline: 0, Month 1: 1, Month 3: 3, Month 6: 6, Month 12: 12}
    redcap:                              # only for a REDCap export
      records: MSC_DATA.csv
      dictionary: MSC_DataDictionary.csv
      visit_instrument: visits
      events: {baseline_arm_1: 0, month_1_arm_1: 1}   # a longitudinal project: each event's month
      missing_codes: "NI, No information | UNK, Unknown"  # the project's missing-data codes

Every mistake in it is a :class:`Problem` naming its line; every problem the mapping causes in the
data (a code it does not map) names the file, row, column and value, and the mapping line.
Columns the mapping does not name pass through under their own names.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import pandas as pd

from .dictionary import normal_name, variable_types, variables
from .formats import with_labels
from .types import Problem

__all__ = ["MAPPING", "ColumnMap", "TableMap", "ExtractMapping", "read_mapping", "UNIT_FACTORS"]

MAPPING = "mapping.yml"
_TABLES = ("patients", "visits")
#: (from, to) -> factor. The dictionary's units, and what a centre's export commonly uses instead.
UNIT_FACTORS = {
    ("g", "mg"): 1000.0, ("mg", "g"): 0.001,
    ("months", "years"): 1 / 12, ("years", "months"): 12.0,
    ("weeks", "months"): 12 / 52.1775, ("days", "months"): 12 / 365.25, ("days", "years"): 1 / 365.25,
}


#: The keys of the redcap block.
_REDCAP_KEYS = ("records", "dictionary", "visit_instrument", "events", "missing_codes")


def _events(value, line, bad) -> dict | None:
    """``events``: each unique event name of a longitudinal export -> the month of its visit, or
    null for an event that holds no visit (enrolment)."""
    if not isinstance(value, dict) or not value:
        bad(line, "redcap.events", None, "give event: month pairs (baseline_arm_1: 0, month_1_arm_1: 1, ...)")
        return None
    out = {}
    for event, month in value.items():  # YAML scalars arrive as their text
        text = month.strip() if isinstance(month, str) else None
        if text in ("", "~", "null", "Null", "NULL"):
            out[str(event)] = None
        elif text is not None and text.isascii() and text.isdigit():
            out[str(event)] = int(text)
        else:
            bad(line, f"redcap.events.{event}", month, "the month of the event's visit, a whole number "
                "(or null for an event without a visit)")
    return out


def _missing_codes(value, line, bad) -> dict | None:
    """``missing_codes``: the project's missing-data codes, as REDCap's project settings list them
    ("NI, No information | UNK, Unknown") or as code: label pairs."""
    if isinstance(value, str):
        pairs = [part.partition(",") for part in value.split("|") if part.strip()]
        if pairs and all(sep and code.strip() for code, sep, _ in pairs):
            return {code.strip(): label.strip() for code, _, label in pairs}
    elif isinstance(value, dict) and value:
        return {str(k).strip(): str(v).strip() for k, v in value.items()}
    bad(line, "redcap.missing_codes", None, "give the project's missing-data codes as REDCap lists them "
        "('NI, No information | UNK, Unknown') or as code: label pairs")
    return None


def _base_unit(unit: str) -> str:
    return unit.removesuffix("/day")  # a daily dose converts like its mass


@dataclass(frozen=True)
class ColumnMap:
    name: str                      # the workbook's name
    source: str                    # the extract's column
    line: int                      # line of mapping.yml
    unit: str | None = None        # the extract's unit, converted to the dictionary's
    factor: float = 1.0            # extract value x factor = workbook value
    drug: str | None = None
    target_unit: str = ""          # the dictionary's unit


@dataclass(frozen=True)
class TableMap:
    file: str | None = None
    columns: tuple = ()                       # ColumnMap, in file order
    values: dict = field(default_factory=dict)  # workbook name -> ({source text: level}, line)


@dataclass(frozen=True)
class ExtractMapping:
    path: Path
    tables: dict                               # "patients"/"visits" -> TableMap
    redcap: dict | None = None                 # records, dictionary, visit_instrument

    def where(self, line: int) -> str:
        return f"{self.path.name} line {line}"

    def factors(self, table: str) -> dict[str, tuple[float, str]]:
        """Workbook name -> (factor, mapping line) for the columns read in another unit or drug."""
        spec = self.tables.get(table, TableMap())
        return {c.name: (c.factor, self.where(c.line)) for c in spec.columns if c.factor != 1.0}

    def apply(self, frame: pd.DataFrame, table: str, file: str, labels: Mapping[str, Mapping[str, str]],
              numeric: set, problems: list[Problem], notes: list[str]) -> tuple[pd.DataFrame, set]:
        """The table's text cells under the workbook's names, with codes and units converted.

        Returns the new frame and the columns that hold plain numbers (no separator convention)."""
        spec = self.tables.get(table, TableMap())
        out, out_numeric, renamed = {}, set(), []
        kinds = variable_types(table)
        for col in spec.columns:
            if col.source not in frame:
                problems.append(Problem(file, None, col.source, None,
                                        f"column named in the mapping for '{col.name}' is not in the file",
                                        mapping=self.where(col.line)))
                continue
            cells = frame[col.source]
            if col.factor != 1.0:
                # The cells stay the file's text: the loader reads them by the same rules as any cell
                # ('1.500' is as ambiguous in days as without a unit) and converts what it read
                # (ExtractMapping.factors), so a message shows what the file says.
                why = (f"{col.drug} -> prednisone equivalent" if col.drug
                       else f"{col.unit} -> {col.target_unit or 'the dictionary unit'}")
                notes.append(f"{self.path.name}: '{col.name}' read from {col.source}, converted ({why}, x{col.factor:.6g})")
            if col.source in numeric:
                out_numeric.add(col.name)
            out[col.name] = cells
            if col.source != col.name and col.factor == 1.0:
                renamed.append(f"{col.name} <- {col.source}")
        if renamed:
            notes.append(f"{self.path.name}: {table}: {len(renamed)} column(s) renamed ({', '.join(renamed)})")
        mapped_sources, source_of_pass = {c.source for c in spec.columns}, {}
        for source in frame.columns:
            name = normal_name(source)
            if source not in mapped_sources and name not in out:
                out[name] = frame[source]
                source_of_pass[name] = source
                if source in numeric:
                    out_numeric.add(name)
        source_of = {**source_of_pass, **{c.name: c.source for c in spec.columns}}
        for name, (values, line) in spec.values.items():
            if name not in out:
                continue
            cells = out[name]
            own = labels.get(source_of.get(name, name), {})
            direct = cells.map(values)
            by_label = cells.map(own).map(values)
            result = direct.where(direct.notna(), by_label)
            bad = result.isna() & (cells.str.strip() != "")
            for row in cells.index[bad.to_numpy()]:
                label = own.get(cells[row])
                shown = f" (label '{label}')" if label else ""
                problems.append(Problem(file, int(row), name, cells[row],
                                        f"code{shown} not among the mapping's values for '{name}' "
                                        f"({', '.join(map(str, values))})", mapping=self.where(line)))
            out[name] = result.where(~bad, cells).fillna("").astype(object)
            out_numeric.discard(name)
            notes.append(f"{self.path.name}: '{name}' recoded ({'; '.join(f'{k} -> {v}' for k, v in values.items())})")
        for name in list(out):
            source = source_of.get(name, name)
            own = labels.get(source)
            # labels stand for levels and yes/no; a labelled number (999 = "unknown") stays a number
            if own and name not in spec.values and kinds.get(name) in ("category", "boolean"):
                cells = out[name]
                out[name] = with_labels(cells, own)
                out_numeric.discard(name)
                notes.append(f"{file}: '{name}' read through its value labels")
        return pd.DataFrame(out, index=frame.index, dtype=object), out_numeric


# --------------------------------------------------------------------------- reading mapping.yml
#: How deep a mapping.yml may nest: table > columns > column > {column, unit} is four levels.
_MAX_DEPTH = 8


def _structure_problems(text: str) -> list[tuple[int, str]]:
    """(line, rule) for what mapping.yml never needs and a hostile one uses: aliases (a 500-byte
    'billion laughs' expands to gigabytes; '&a [*a]' refers to itself) and deep nesting. Read from
    the parser's events, before any node is built."""
    import yaml

    found, depth = [], 0
    for event in yaml.parse(text):
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            found.append((line, f"an alias (*{event.anchor}) is not allowed: write the value out"))
            break
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > _MAX_DEPTH:
                found.append((line, f"nested more than {_MAX_DEPTH} levels deep"))
                break
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
    return found


def _nodes(node, dupes: list[tuple[int, str]]):
    """A YAML node -> plain Python, with each mapping's key lines in ``{'__lines__': {key: line}}``.
    A key that is not a scalar, or that a mapping repeats, goes to ``dupes`` as (line, rule)."""
    import yaml

    if isinstance(node, yaml.MappingNode):
        out, lines = {}, {}
        for key, value in node.value:
            line = key.start_mark.line + 1
            if not isinstance(key, yaml.ScalarNode):
                dupes.append((line, "a complex key ('? [...]' or '? {...}') is not allowed: keys are names"))
                continue
            k = key.value
            if k in out:
                dupes.append((line, f"key '{k}' given twice in the same mapping (first on line {lines[k]}): keep one"))
                continue
            out[k] = _nodes(value, dupes)
            lines[k] = line
        out["__lines__"] = lines
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_nodes(v, dupes) for v in node.value]
    return node.value


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "__lines__"}
    return value


def _level(value: str) -> str:
    return value[:-2] if value.endswith(".0") and value[:-2].isdigit() else value


def read_mapping(folder: Path, problems: list[Problem], converters: Mapping[str, float] | None = None,
                 dictionary=None) -> ExtractMapping | None:
    """``folder/mapping.yml`` checked against the dictionary (a path or ``Dictionary``; default
    ``data/dictionary.csv``), or None when there is none.

    ``converters`` give mg prednisone per mg of each glucocorticoid a ``drug:`` may name (the
    clinical layer passes them in: the data contract knows no pharmacology)."""
    import yaml

    path = folder / MAPPING
    if not path.is_file():
        return None
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
        refused = _structure_problems(text)
        root = None if refused else yaml.compose(text)
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        line = getattr(getattr(err, "problem_mark", None), "line", None)
        problems.append(Problem(name, None if line is None else line + 1, None, None,
                                f"not a valid YAML file ({getattr(err, 'problem', None) or err})"))
        return None
    data = _nodes(root, refused) if root is not None else {}
    if refused:
        problems.extend(Problem(name, line, None, None, rule) for line, rule in refused)
        return None
    if not isinstance(data, dict):
        problems.append(Problem(name, 1, None, None, "must be a mapping with the keys patients, visits (and redcap)"))
        return None
    start = len(problems)
    lines = data.get("__lines__", {})

    def bad(line, key, value, rule):
        problems.append(Problem(name, line, key, value, rule, heading="key"))

    for key in data:
        if key not in ("__lines__", "redcap", *_TABLES):
            bad(lines[key], key, None, "unknown key (expected patients, visits, redcap)")
    tables = {}
    for table in _TABLES:
        spec = data.get(table) or {}
        if not isinstance(spec, dict):
            bad(lines.get(table), table, None, "must hold file, columns and values")
            continue
        tlines = spec.get("__lines__", {})
        for key in spec:
            if key not in ("__lines__", "file", "columns", "values"):
                bad(tlines[key], f"{table}.{key}", None, "unknown key (expected file, columns, values)")
        targets = {v.name: v for v in variables(table, dictionary)}
        columns = []
        cols = spec.get("columns") or {}
        clines = cols.get("__lines__", {}) if isinstance(cols, dict) else {}
        for target, source in (cols.items() if isinstance(cols, dict) else []):
            if target == "__lines__":
                continue
            line = clines[target]
            if target not in targets:
                bad(line, f"{table}.columns.{target}", None, f"not a variable of the {table} table in data/dictionary.csv")
                continue
            unit = drug = None
            if isinstance(source, dict):
                unit, drug = source.get("unit"), source.get("drug")
                source = source.get("column")
            if not isinstance(source, str) or not source.strip():
                bad(line, f"{table}.columns.{target}", None, "give the extract's column name (or {column: ..., unit: ...})")
                continue
            factor = 1.0
            wanted = targets[target].unit
            if unit is not None:
                key = (_base_unit(str(unit).strip().lower()), _base_unit(wanted))
                if key[0] == key[1]:
                    factor = 1.0
                elif key in UNIT_FACTORS:
                    factor = UNIT_FACTORS[key]
                else:
                    bad(line, f"{table}.columns.{target}", unit,
                        f"no conversion from '{unit}' to the dictionary unit '{wanted or 'none'}' "
                        f"(known: {', '.join(f'{a}->{b}' for a, b in UNIT_FACTORS)})")
                    continue
            if drug is not None:
                known = dict(converters or {})
                if wanted != "mg/day":
                    bad(line, f"{table}.columns.{target}", drug, "a drug conversion applies to a daily dose (mg/day) only")
                    continue
                if str(drug).strip().lower() not in known:
                    bad(line, f"{table}.columns.{target}", drug,
                        f"unknown glucocorticoid (known: {', '.join(known) or 'none'})")
                    continue
                factor *= known[str(drug).strip().lower()]
            columns.append(ColumnMap(target, source.strip(), line, unit, factor, drug, wanted))
        values = {}
        vals = spec.get("values") or {}
        vlines = vals.get("__lines__", {}) if isinstance(vals, dict) else {}
        for target, codes in (vals.items() if isinstance(vals, dict) else []):
            if target == "__lines__":
                continue
            if target not in targets:
                bad(vlines[target], f"{table}.values.{target}", None, f"not a variable of the {table} table")
                continue
            if not isinstance(codes, dict):
                bad(vlines[target], f"{table}.values.{target}", None, "give code: level pairs")
                continue
            values[target] = ({str(k): _level(str(v)) for k, v in _plain(codes).items()}, vlines[target])
        tables[table] = TableMap(spec.get("file"), tuple(columns), values)
    redcap = None
    if "redcap" in data:
        rc = data["redcap"]
        rlines = rc.get("__lines__", {}) if isinstance(rc, dict) else {}
        if not isinstance(rc, dict) or not {"records", "dictionary", "visit_instrument"} <= set(rc):
            bad(lines["redcap"], "redcap", None, "give records, dictionary and visit_instrument")
        else:
            redcap = {k: v for k, v in _plain(rc).items()}
            for key in ("records", "dictionary"):
                if not (folder / str(rc[key])).is_file():
                    bad(rlines[key], f"redcap.{key}", rc[key], "file not found beside mapping.yml")
            for key in redcap:
                if key not in _REDCAP_KEYS:
                    bad(rlines[key], f"redcap.{key}", None, f"unknown key (expected {', '.join(_REDCAP_KEYS)})")
            if "events" in redcap:
                redcap["events"] = _events(redcap["events"], rlines["events"], bad)
                months = [m for m in (redcap["events"] or {}).values() if m is not None]
                month = next((c for c in tables.get("visits", TableMap()).columns if c.name == "month"), None)
                if months and month is not None:
                    bad(month.line, "visits.columns.month", month.source, "in a longitudinal REDCap export the "
                        "month of a visit is its event's (redcap: events): remove this line")
            if "missing_codes" in redcap:
                redcap["missing_codes"] = _missing_codes(redcap["missing_codes"], rlines["missing_codes"], bad)
    if len(problems) > start:
        return None
    return ExtractMapping(path, tables, redcap)
