"""The layout is the design: imports flow one way, no module takes another's private names, the
statistics know nothing of lupus, analysis code never reads the paper's published numbers."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import msc_sle

LIB = Path(msc_sle.__file__).parent
#: Layers, bottom to top: a module may import its own layer or a lower one, never a higher one.
LAYERS = {
    "contract": 0, "stats": 0,
    "clinical": 1,
    "compare": 2, "rates": 2, "prognosis": 2,
    "present": 3,
    "paper": 4,
    "workbook": 5,
    "tools": 6,
}
#: Modules that may not import the paper's published values (the analysis).
ANALYSIS = ("contract", "clinical", "stats", "compare", "rates", "prognosis", "present")


def _module_name(path: Path) -> str:
    rel = path.relative_to(LIB.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, tuple[Path, ast.Module]]:
    return {_module_name(p): (p, ast.parse(p.read_text(encoding="utf-8"))) for p in LIB.rglob("*.py")}


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str, path: Path, tree: ast.Module):
    """(imported module, imported names) of every import in the module, at any depth."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            yield _resolve(module, is_package, node), [a.name for a in node.names]


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "msc_sle" or len(parts) < 2:
        return None
    return LAYERS[parts[1]]


def test_every_package_has_a_layer():
    for module in _modules():
        if module != "msc_sle":
            assert module.split(".")[1] in LAYERS, f"{module}: add its package to LAYERS (and docs/architecture.md)"


def test_imports_flow_one_way():
    for module, (path, tree) in _modules().items():
        own = _layer(module)
        if own is None:
            continue
        for target, _ in _imports(module, path, tree):
            layer = _layer(target)
            if layer is not None:
                assert layer <= own, f"{module} imports {target}, a higher layer"


def test_no_import_cycles():
    mods = _modules()
    graph = {m: set() for m in mods}
    for module, (path, tree) in mods.items():
        for target, names in _imports(module, path, tree):
            for candidate in [target] + [f"{target}.{n}" for n in names]:
                if candidate in mods and candidate != module:
                    graph[module].add(candidate)
    # a package's __init__ re-exporting its modules is not a cycle with them
    for module in mods:
        graph[module] = {t for t in graph[module] if not module.startswith(t + ".")}
    state: dict[str, int] = {}

    def visit(node, stack):
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack + [node, nxt]))
            if nxt not in state:
                visit(nxt, stack + [node])
        state[node] = 2

    for module in graph:
        if module not in state:
            visit(module, [])


def test_no_module_takes_another_modules_private_names():
    for module, (path, tree) in _modules().items():
        for target, names in _imports(module, path, tree):
            if not target.startswith("msc_sle"):
                continue
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            assert not private, f"{module} imports private {private} from {target}"
            assert not any(part.startswith("_") and part != "__init__" for part in target.split(".")), \
                f"{module} imports the private module {target}"


def test_analysis_never_imports_the_paper():
    for module, (path, tree) in _modules().items():
        if module.split(".")[1:2] and module.split(".")[1] in ANALYSIS:
            for target, _ in _imports(module, path, tree):
                assert not target.startswith("msc_sle.paper"), f"{module} imports {target}"
            assert "wen2019_values" not in path.read_text(encoding="utf-8"), module


def test_percentages_are_printed_by_the_one_rounding_function():
    """Issue 13: every percentage is rounded half up by msc_sle.present.format (format_percent,
    format_fixed, round_half_up), never by a float format spec, which rounds the binary value
    (7.245 prints 7.24 or 7.25 depending on its representation)."""
    spec = re.compile(r"\{[^{}]*:[^{}]*\.\d+f\}\s*%")
    offenders = []
    for path in LIB.rglob("*.py"):
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if spec.search(line):
                offenders.append(f"{path.relative_to(LIB.parent)}:{i}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


#: The vantage6 algorithm (federated/v6_msc_sle) sits above the core: it reuses the contract, the
#: clinical rules, the statistics, the comparison's variable list, the models' design and the
#: parameters' definitions; nothing of the core imports it, and only its entry points import vantage6.
FEDERATED = LIB.parent.parent / "federated" / "v6_msc_sle"
FEDERATED_USES = ("contract", "clinical", "stats", "compare", "prognosis", "workbook.params")


def test_the_federated_algorithm_sits_above_the_core():
    files = sorted(FEDERATED.glob("*.py"))
    assert files, "federated/v6_msc_sle is missing"
    for path in files:
        module = "v6_msc_sle" if path.stem == "__init__" else f"v6_msc_sle.{path.stem}"
        for target, _ in _imports(module, path, ast.parse(path.read_text(encoding="utf-8"))):
            if target.startswith("msc_sle."):
                used = target.split(".", 1)[1]
                assert any(used == u or used.startswith(u + ".") for u in FEDERATED_USES), \
                    f"{path.name} imports {target}: the algorithm reuses only {FEDERATED_USES}"
            if target.startswith("vantage6"):
                assert path.name in ("__init__.py", "mock.py"), f"{path.name} imports vantage6: keep it to the entry points"
    for module, (path, tree) in _modules().items():
        for target, _ in _imports(module, path, tree):
            assert not target.startswith(("v6_msc_sle", "vantage6")), f"{module} imports {target}: the core must not depend on the algorithm"
