"""The statistics package stands alone: no clinical names, no other msc_sle module, cheap import."""
from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import msc_sle.stats as ms

PKG = Path(ms.__file__).parent
CLINICAL = re.compile(r"lupus|\bsle\b|sledai|patient|cohort|prednison|steroid|msc_sle\.(?!stats)"
                      r"|responder|\bcr_|\blda\b", re.IGNORECASE)


def test_no_imports_from_other_msc_sle_modules():
    for path in PKG.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                outside = module.startswith("msc_sle") and not module.startswith("msc_sle.stats")
                assert node.level <= 1 and not outside, f"{path.name} imports {module!r}"
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("msc_sle") for a in node.names), path.name


def test_no_clinical_names():
    for path in PKG.glob("*.py"):
        hits = CLINICAL.findall(path.read_text())
        assert not hits, f"{path.name}: {hits}"


def test_all_names_exist():
    for name in ms.__all__:
        assert hasattr(ms, name), name


def test_import_loads_neither_scipy_stats_nor_pandas():
    # the package alone, without msc_sle/__init__.py (which imports the whole workbook)
    code = ("import sys, types; m = types.ModuleType('msc_sle'); "
            f"m.__path__ = [{str(PKG.parent)!r}]; sys.modules['msc_sle'] = m; "
            "import msc_sle.stats, json; "
            "print(json.dumps(sorted(k for k in sys.modules if k.split('.')[0] in "
            "('pandas', 'matplotlib', 'statsmodels', 'scipy'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    assert not [k for k in loaded if k.split(".")[0] in ("pandas", "matplotlib", "statsmodels")]
    assert "scipy.stats" not in loaded and "scipy.special" in loaded
