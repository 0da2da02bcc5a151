"""The workbook's scaffolding: one lock file, documented make targets, a well-formed dictionary."""
from __future__ import annotations

import importlib
import re
import tomllib
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

import msc_sle
from msc_sle.contract import dtype_for, load_dictionary

ROOT = Path(__file__).resolve().parents[1]
TYPES = {"string", "integer", "number", "boolean", "category", "date"}


def test_environment_yml_installs_the_lock_files_and_the_package():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert any(str(d).startswith("python=3.11") for d in env["dependencies"] if isinstance(d, str))
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-r requirements.txt" in pip and "-r requirements-dev.txt" in pip and "-e ." in pip


def _pins(name):
    lines = [l for l in (ROOT / name).read_text().splitlines() if l and not l.startswith("#")]
    assert lines and all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[^=\s]+", l) for l in lines), lines
    return {l.split("==")[0].lower().replace("_", "-"): l.split("==")[1] for l in lines}


def _declared(names):
    return {re.split(r"[<>=!~ \[]", d, maxsplit=1)[0].lower().replace("_", "-") for d in names}


def test_lock_files_pin_every_declared_dependency_exactly_and_apart():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime, dev = _pins("requirements.txt"), _pins("requirements-dev.txt")
    assert not set(runtime) & set(dev), "a package is pinned in both locks"
    assert _declared(project["dependencies"]) <= set(runtime), "runtime dependency missing from requirements.txt"
    assert _declared(project["optional-dependencies"]["dev"]) <= set(dev), "dev tool missing from requirements-dev.txt"
    assert not _declared(project["optional-dependencies"]["dev"]) & set(runtime), "a test tool in the runtime lock"


def make_targets():
    return re.findall(r"^([a-z]+):.*## ", (ROOT / "Makefile").read_text(), flags=re.M)


def test_every_make_target_is_in_make_help_and_the_readme():
    targets = make_targets()
    assert {"run", "test", "lab", "bench", "data", "notebooks", "clean", "share"} <= set(targets)
    shown = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    readme = (ROOT / "README.md").read_text()
    for t in targets:
        assert f"make {t}" in shown, t
        assert f"make {t}" in readme, f"README does not document 'make {t}'"
    for var in ("DATA=", "OUT=", "JOBS="):
        assert var in readme


def test_ci_runs_make_test():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_dictionary_is_well_formed():
    d = load_dictionary()
    assert not d.duplicated(["table", "name"]).any()
    assert set(d["table"]) == {"patients", "visits", "derived"}
    assert set(d["type"]) <= TYPES
    for _, row in d.iterrows():
        dtype_for(row)  # every type maps to a dtype
        if row["type"] == "category":
            assert "|" in row["allowed"], row["name"]
        if row["section"]:
            assert row["test"] in {"auto", "mann_whitney"}, row["name"]
        if row["show_level"]:
            assert row["show_level"] in row["allowed"].split("|"), row["name"]
    assert d["label"].str.len().gt(0).all()


def test_public_names_resolve_to_their_home_module():
    for module, names in msc_sle._EXPORTS.items():
        home = importlib.import_module(module)
        for name in names:
            assert getattr(msc_sle, name) is getattr(home, name), (module, name)
    assert len(msc_sle.__all__) == len(set(msc_sle.__all__)), "two modules export the same name"
    assert set(msc_sle.__all__) == {n for names in msc_sle._EXPORTS.values() for n in names}


def test_import_msc_sle_loads_nothing_heavy():
    """`import msc_sle` costs almost nothing: the packages load when a public name is first used."""
    code = ("import sys, msc_sle; heavy = [m for m in ('pandas', 'numpy', 'scipy', 'matplotlib', 'ipywidgets') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
