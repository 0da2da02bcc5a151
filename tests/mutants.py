"""`make mutants`: mutation testing of the rule-bearing modules (mutmut), with a fast test selection each.

For each module below, mutmut changes one operator, constant or call at a time inside its functions
(`< 5` to `<= 5`, `4` to `5`, `and` to `or`, ...) and runs the tests listed for it; a mutant that no
test notices "survives". The script prints every survivor with its diff, the killed percentage of each
module and overall, and says which survivors docs/testing.md explains as equivalent (a change no
reader of the output could see). It exits 1 when a survivor is unexplained or a module is below
TARGET.

mutmut works on a copy: this script lays the library out in a temporary folder (``src/msc_sle``:
mutmut 3 maps a file to its module name only under ``src/``, not this repository's ``lib/``), runs
mutmut there and removes the folder on exit, so nothing is written to the work tree.

Usage: ``make mutants`` (``JOBS=2`` for two mutmut workers; default 1), or
``.venv/bin/python tests/mutants.py [module ...]`` with module names from ``MODULES``.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Killed share each module must reach (issue 24).
TARGET = 0.90


@dataclass(frozen=True)
class Module:
    name: str
    path: str                      # inside lib/
    tests: tuple[str, ...]         # pytest selection (files or node ids), run for every mutant that reaches them
    functions: tuple[str, ...] = ("*",)   # mutmut keys (x_func, xǁClassǁmethod) to mutate; "*" = every function


#: The rule-bearing modules and the tests that check their rules (clinical definitions, published rules).
#: compare.py and disclosure.py are large and mostly not rules: only their rule functions are mutated.
MODULES = (
    Module("eligibility", "msc_sle/clinical/eligibility.py",
           ("tests/test_eligibility.py", "tests/test_boundaries_clinical.py")),
    Module("outcomes", "msc_sle/clinical/outcomes.py",
           ("tests/test_outcomes.py", "tests/test_boundaries_clinical.py")),
    Module("sledai", "msc_sle/clinical/sledai.py",
           ("tests/test_sledai.py", "tests/test_boundaries_clinical.py")),
    Module("test-selection rule", "msc_sle/compare.py",
           ("tests/test_compare.py", "tests/test_boundaries_rules.py"),
           ("x__rule_calls_for_exact", "x__test_categorical")),
    Module("disclosure rule", "msc_sle/workbook/disclosure.py",
           ("tests/test_boundaries_rules.py",
            "tests/test_disclosure.py::test_counts_in_sentences",
            "tests/test_disclosure.py::test_share_safe_withholds_the_other_group_and_the_p_value"),
           ("x_small_label", "x__footnote", "x_shown_count", "x_suppress_small_counts")),
    Module("disclosure rule (ledger)", "msc_sle/workbook/ledger.py",
           ("tests/test_boundaries_rules.py",),
           ("xǁLedgerǁsensitive", "xǁLedgerǁbounds")),
    Module("number formatting", "msc_sle/present/format.py",
           ("tests/test_boundaries_format.py", "tests/test_tables.py::test_format_p", "tests/test_tables.py::test_rounding_conventions_and_halves",
            "tests/test_one_style.py")),
)

_KILLED = {1, 3}
_TIMEOUT = {-24, 24, 152, 255, 36}
_EQUIVALENT = re.compile(r"^\|\s*`?([^|`]+?)`?\s*\|\s*`(msc_sle\.[^`]+__mutmut_\d+)`", re.M)


def _make_args() -> dict[str, str]:
    """NAME=value lines make hands over (the Makefile's MSC_SLE_MAKE_ARGS)."""
    lines = os.environ.get("MSC_SLE_MAKE_ARGS", "").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def _jobs() -> int:
    value = _make_args().get("JOBS", "1")
    if not value.isdigit() or not 1 <= int(value) <= 2:
        sys.exit(f"make mutants: JOBS={value!r}: give 1 or 2 (each worker runs pytest; the machine has 2 cores)")
    return int(value)


def _module_name(m: Module) -> str:
    return m.path[: -len(".py")].replace("/", ".")


def _patterns(m: Module) -> list[str]:
    return [f"{_module_name(m)}.{f}__mutmut_*" for f in m.functions]


def _lay_out(tmp: Path, m: Module) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    shutil.copytree(ROOT / "lib" / "msc_sle", tmp / "src" / "msc_sle", ignore=ignore)
    shutil.copytree(ROOT / "tests", tmp / "tests", ignore=ignore)
    shutil.copytree(ROOT / "data", tmp / "data", ignore=ignore)
    config = {
        "source_paths": ["src"],
        "only_mutate": [f"src/{m.path}"],
        "also_copy": ["data"],
        "pytest_add_cli_args": ["-p", "no:cacheprovider", "-p", "no:randomly", "-q"],
        "pytest_add_cli_args_test_selection": list(m.tests),
        "use_git_change_detection": False,
    }
    lines = [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in config.items()]
    text = (ROOT / "pyproject.toml").read_text()
    (tmp / "pyproject.toml").write_text(text + "\n[tool.mutmut]\n" + "\n".join(lines) + "\n")


def _mutmut(tmp: Path, *args: str, check=True) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("mutmut")
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env.pop("MSC_SLE_MAKE_ARGS", None)
    return subprocess.run([str(exe), *args], cwd=tmp, env=env, capture_output=True, text=True, check=check)


def _diffs(tmp: Path, m: Module, names: list[str]) -> dict[str, str]:
    """Each survivor's diff, read by mutmut in one process (``mutmut show`` costs seconds a call)."""
    if not names:
        return {}
    code = ("import json, sys; from mutmut.mutation.diff_apply import get_diff_for_mutant; "
            "names = json.load(sys.stdin); "
            f"print(json.dumps({{n: get_diff_for_mutant(n, path={'src/' + m.path!r}) for n in names}}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp, input=json.dumps(names), capture_output=True,
                         text=True, check=True, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    return json.loads(out.stdout)


def run_module(m: Module, jobs: int) -> dict:
    """Mutate one module in a temporary copy; its mutants' exit codes and the survivors' diffs."""
    tmp = Path(tempfile.mkdtemp(prefix="msc_sle-mutants-"))
    try:
        _lay_out(tmp, m)
        start = time.monotonic()
        run = _mutmut(tmp, "run", "--max-children", str(jobs), *_patterns(m), check=False)
        seconds = time.monotonic() - start
        meta = tmp / "mutants" / "src" / (m.path + ".meta")
        if not meta.exists():
            raise RuntimeError(f"mutmut did not run on {m.path}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        codes = {k: v for k, v in codes.items() if any(fnmatch(k, p) for p in _patterns(m))}
        if any(v is None for v in codes.values()):
            raise RuntimeError(f"mutmut left mutants of {m.path} unchecked:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
        survivors = _diffs(tmp, m, [k for k, v in codes.items() if v not in _KILLED | _TIMEOUT])
        return {"module": m, "codes": codes, "survivors": survivors, "seconds": seconds}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _equivalent() -> dict[str, str]:
    """Mutants docs/testing.md explains as equivalent: name -> the table row."""
    path = ROOT / "docs" / "testing.md"
    text = path.read_text() if path.exists() else ""
    return {name: line for line in text.splitlines() for _, name in _EQUIVALENT.findall(line)}


def main(argv: list[str]) -> int:
    # SIGTERM/SIGHUP unwind like Ctrl-C, so the temporary copy is removed (run_module's finally)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(130))
    jobs = _jobs()
    by_name = {m.name: m for m in MODULES}
    chosen = [by_name[a] for a in argv if a in by_name] if argv else list(MODULES)
    if argv and len(chosen) != len(argv):
        sys.exit(f"unknown module(s) {sorted(set(argv) - {m.name for m in MODULES})}; "
                 f"valid: {[m.name for m in MODULES]}")
    explained = _equivalent()
    results, failed, begin = [], False, time.monotonic()
    for m in chosen:
        print(f"mutating {m.path} ({', '.join(m.functions) if m.functions != ('*',) else 'every function'}) "
              f"against {' '.join(m.tests)} ...", flush=True)
        r = run_module(m, jobs)
        results.append(r)
        for name, diff in r["survivors"].items():
            status = "equivalent (docs/testing.md)" if name in explained else "SURVIVED, not explained"
            failed |= name not in explained
            print(f"\n  {status}: {name} (exit {r['codes'][name]})\n" + "\n".join("    " + x for x in diff.splitlines()
                                                                              if x and not x.startswith("#")))
        n, k = len(r["codes"]), len(r["codes"]) - len(r["survivors"])
        print(f"  {m.name}: {k} of {n} mutants killed ({100 * k / n if n else 100:.1f}%), "
              f"{len(r['survivors'])} survived, {r['seconds']:.0f} s\n", flush=True)
        failed |= bool(n) and k / n < TARGET
    total = sum(len(r["codes"]) for r in results)
    killed = total - sum(len(r["survivors"]) for r in results)
    print("module                        killed / mutants    %")
    for r in results:
        n, k = len(r["codes"]), len(r["codes"]) - len(r["survivors"])
        print(f"{r['module'].name:<30}{k:>6} / {n:<7}{100 * k / n if n else 100:>8.1f}")
    print(f"{'overall':<30}{killed:>6} / {total:<7}{100 * killed / total if total else 100:>8.1f}")
    print(f"({time.monotonic() - begin:.0f} s with {jobs} worker(s); survivors explained as equivalent "
          "in docs/testing.md count as survivors here)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
