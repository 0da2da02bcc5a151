"""Wall time of `import msc_sle` in a fresh interpreter, and of what the notebooks' first cell loads.

Target (issue 11): ``import msc_sle`` within 0.8 s on the 2-core machine. The package loads its
parts on first use, so the figure also shows what a notebook pays for the names it imports
(the analysis stack, the figures). Each figure is the best of ``--repeat`` fresh interpreters
(the first warms the disk cache). Exits 1 when the target is missed.

    python bench/bench_import.py [--repeat 7]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time

TARGET_S = 0.8
CASES = {
    "python -c pass (interpreter start)": "pass",
    "import msc_sle": "import msc_sle",
    "from msc_sle import load_cohort, compare_groups": "from msc_sle import load_cohort, compare_groups",
    "a notebook's setup imports (workbook helpers, tables, figures)":
        "from msc_sle.workbook.notebook import open_cohort\nfrom msc_sle.present.tables import comparison_table\n"
        "from msc_sle.present.figures import forest_plot\nfrom msc_sle.compare import compare_groups",
}


def best_wall(code: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)
    results = {label: best_wall(code, args.repeat) for label, code in CASES.items()}
    for label, seconds in results.items():
        print(f"{seconds:6.3f} s  {label}")
    wall = results["import msc_sle"]
    verdict = "OK" if wall <= TARGET_S else "MISSED"
    print(f"import msc_sle: {wall:.3f} s wall (target <= {TARGET_S} s) {verdict}")
    return 0 if wall <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
