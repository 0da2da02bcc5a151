"""Time to generate the bundled SYNTHETIC cohort (issue 3: under 60 s on the 2-core machine).

Generates into a temporary folder (the committed data are not touched), checks the bytes equal
data/synthetic/, and prints the wall time against the target. Exits 1 if the target is missed or
the files differ.

    python bench/bench_synthetic.py
"""
from __future__ import annotations

import filecmp
import sys
import tempfile
import time
from pathlib import Path

from msc_sle.contract import BUNDLED_DATA
from msc_sle.tools.synthetic import generate_synthetic

TARGET_S = 60.0


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        cpu = time.process_time()
        generate_synthetic(tmp)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        same = all(filecmp.cmp(Path(tmp) / f, BUNDLED_DATA / f, shallow=False)
                   for f in ("patients.csv", "visits.csv", "manifest.json"))
    print(f"generate default synthetic cohort: {wall:6.1f} s wall, {cpu:6.1f} s CPU "
          f"(target < {TARGET_S:.0f} s) {'ok' if wall < TARGET_S else 'MISSED'}")
    print(f"byte-identical to data/synthetic/: {'yes' if same else 'NO'}")
    return 0 if wall < TARGET_S and same else 1


if __name__ == "__main__":
    sys.exit(main())
