"""Each notebook declares the parameters it reads (``reads`` in its parameters cell), since make run
reuses a page whose declared parameters are unchanged (issue 25). Read statically from the
jupytext script: every ``params.name``, ``params["name"]``, ``params.get("name")`` and the
parameters each ``Params`` method reads (found in the method's own source, so a new method needs no
table here). What the library reads from a ``params`` handed to it is checked when the page runs:
``Params.declared`` refuses an undeclared read (tests/test_run_cache.py).
"""
from __future__ import annotations

import ast
import inspect
import textwrap

import jupytext
import pytest

from msc_sle.tools.runner import NOTEBOOKS, NOTEBOOKS_DIR
from msc_sle.workbook.params import PARAMETERS, Params

PARAMS = "params"


def _constant(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _reads_of(tree: ast.AST, name: str, methods: dict[str, set[str]]) -> set[str]:
    """The parameters read through the variable ``name`` in ``tree``."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == name:
            key = _constant(node.slice)
            if key in PARAMETERS:
                found.add(key)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == name:
            if node.attr in PARAMETERS:
                found.add(node.attr)
            found |= methods.get(node.attr, set())
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                isinstance(node.func.value, ast.Name) and node.func.value.id == name and \
                node.func.attr in ("get", "names") and node.args and _constant(node.args[0]) in PARAMETERS:
            found.add(_constant(node.args[0]))
    return found


def method_reads() -> dict[str, set[str]]:
    """Parameter names each public ``Params`` method reads, through ``self`` and the methods it uses."""
    trees = {name: ast.parse(textwrap.dedent(inspect.getsource(fn))) for name, fn in vars(Params).items()
             if callable(fn) and not name.startswith("_")}
    reads = {name: set() for name in trees}
    changed = True
    while changed:  # until the methods that call methods have their callees' reads
        changed = False
        for name, tree in trees.items():
            more = _reads_of(tree, "self", reads) - reads[name]
            if more:
                reads[name] |= more
                changed = True
    return reads


def notebook_reads(name: str) -> tuple[tuple[str, ...], set[str]]:
    """(declared, read) parameters of a notebook's script."""
    cells = jupytext.read(NOTEBOOKS_DIR / f"{name}.py").cells
    params_cell = next(c for c in cells if "parameters" in c.metadata.get("tags", []))
    declared = next(ast.literal_eval(n.value) for n in ast.parse(params_cell.source).body
                    if isinstance(n, ast.Assign) and n.targets[0].id == "reads")
    methods = method_reads()
    read: set[str] = set()
    for cell in cells:
        if cell.cell_type == "code":
            read |= _reads_of(ast.parse(cell.source), PARAMS, methods)
    return declared, read


def test_params_methods_are_read_through():
    methods = method_reads()
    assert methods["lda"] == {"lda_sledai_max", "lda_prednisone_max"}
    assert methods["outcome_definition"] >= {"outcome", "lda_sledai_max", "cr_prednisone_max"}
    assert methods["definitions"] == methods["lda"] | methods["cr"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_a_notebook_reads_no_parameter_it_does_not_declare(name):
    declared, read = notebook_reads(name)
    assert read - set(declared) == set(), f"{name} reads {sorted(read - set(declared))}: add them to `reads`"
    assert len(set(declared)) == len(declared)


def test_the_outcome_is_declared_by_the_pages_that_use_it_only():
    """A page that does not use OUTCOME is not re-run when only OUTCOME changes."""
    using = {n for n in NOTEBOOKS if "outcome" in notebook_reads(n)[0]}
    assert using == {"04_predictors", "07_models", "08_multicentre"}
