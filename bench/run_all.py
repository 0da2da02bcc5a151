"""Run every benchmark (``bench/bench_*.py``, in name order) with this interpreter (``make bench``).

Each benchmark's output is streamed under a heading as it runs; a summary lists each one's exit
status and wall time. Exits 1 if any benchmark failed (non-zero exit, e.g. a missed target), so a
regression is visible in CI. ``--only NAME`` (repeatable, e.g. ``--only rules``) runs a subset;
each benchmark runs with its own defaults (run one directly to pass it options).

    python bench/run_all.py [--only rules] [--list]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def discover(only: list[str] | None = None) -> list[Path]:
    scripts = sorted(BENCH_DIR.glob("bench_*.py"))
    if only:
        wanted = {name.removeprefix("bench_").removesuffix(".py") for name in only}
        unknown = wanted - {s.stem.removeprefix("bench_") for s in scripts}
        if unknown:
            raise SystemExit(f"no benchmark named {sorted(unknown)}; available: "
                             f"{[s.stem.removeprefix('bench_') for s in scripts]}")
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in wanted]
    return scripts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", help="run only this benchmark (name without bench_ / .py)")
    ap.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = ap.parse_args(argv)
    scripts = discover(args.only)
    if args.list:
        print("\n".join(s.name for s in scripts))
        return 0
    if not scripts:
        print(f"no bench_*.py in {BENCH_DIR}")
        return 1
    results = []
    for script in scripts:
        heading = f"== {script.name} "
        print(f"\n{heading}{'=' * max(3, 78 - len(heading))}", flush=True)
        start = time.perf_counter()
        # Output is inherited, so it streams as the benchmark prints it.
        code = subprocess.call([sys.executable, str(script)], cwd=BENCH_DIR.parent)
        results.append((script.name, code, time.perf_counter() - start))
    print(f"\n== summary {'=' * 67}")
    for name, code, seconds in results:
        status = "ok" if code == 0 else f"FAILED (exit {code})"
        print(f"  {name:<32} {status:<18} {seconds:8.1f} s")
    failed = [name for name, code, _ in results if code != 0]
    if failed:
        print(f"{len(failed)} of {len(results)} benchmark(s) failed: {', '.join(failed)}")
        return 1
    print(f"all {len(results)} benchmark(s) passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
