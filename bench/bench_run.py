"""`make run` on the bundled data against its floor, measured in the same run.

The floor is what any papermill-based run must pay: papermill executing a notebook that only
imports the stack (msc_sle, pandas, scipy, seaborn, matplotlib), times the number of notebooks.
The full run is `python -m msc_sle.runner run` exactly as `make run` calls it (environment
already built), into a temporary OUT. Target (issue 6): full run within 1.5x of the floor.

The machine is shared: CPU time of the child processes is printed beside each wall time, so
contention (wall well above CPU/cores) is visible. Exits 1 when the target is missed.

    python bench/bench_run.py [--jobs 2] [--data data/synthetic]
"""
from __future__ import annotations

import argparse
import logging
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.5


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def floor_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("data_dir = None", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("import msc_sle, pandas, scipy.stats, seaborn\nimport matplotlib.pyplot as plt")]
    nbformat.write(nb, str(path))


def time_floor(n: int, tmp: Path) -> float:
    """papermill + kernel start + imports, once, in this process (as the runner does)."""
    import papermill as pm

    logging.getLogger("papermill").setLevel(logging.ERROR)
    src = tmp / "floor.ipynb"
    floor_notebook(src)
    t0 = time.perf_counter()
    pm.execute_notebook(str(src), str(tmp / "floor_out.ipynb"), parameters={"data_dir": "x"}, kernel_name="python3",
                        progress_bar=False, extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--data", default=str(REPO / "data" / "synthetic"))
    args = ap.parse_args(argv)
    from msc_sle.tools.runner import NOTEBOOKS

    with tempfile.TemporaryDirectory(prefix="bench_run-") as tmp:
        tmp = Path(tmp)
        time_floor(1, tmp)  # warm the disk cache, as a second `make run` would be
        cpu0 = _children_cpu()
        one = time_floor(1, tmp)
        floor = one * len(NOTEBOOKS)
        floor_cpu = (_children_cpu() - cpu0) * len(NOTEBOOKS)
        print(f"floor: papermill + kernel + imports = {one:.2f} s a notebook x {len(NOTEBOOKS)} notebooks "
              f"= {floor:.1f} s  (kernel CPU {floor_cpu:.1f} s)")

        cpu0 = _children_cpu()
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "msc_sle.tools.runner", "run", f"DATA={args.data}",
                               f"OUT={tmp / 'reports'}", f"JOBS={args.jobs}"], cwd=REPO, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        cpu = _children_cpu() - cpu0
        if proc.returncode != 0:
            print(proc.stdout, proc.stderr, sep="\n")
            print("make run failed")
            return 1
        for line in proc.stdout.splitlines():
            if "] " in line and " done in " in line:
                print("  " + line.strip())
        print(f"make run (JOBS={args.jobs}): {wall:.1f} s wall, {cpu:.1f} s CPU of runner + kernels")
    ratio = wall / floor
    verdict = "OK" if ratio <= TARGET_RATIO else "MISSED"
    print(f"ratio to floor: {ratio:.2f} (target <= {TARGET_RATIO}) {verdict}")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
