"""Importing the library and opening a cohort leave matplotlib as the session set it.

A notebook's or a test's own plots must not change because a module was imported or a cohort
opened: no backend is chosen on import, no rcParams are changed by a loader, and a figure of the
workbook is drawn and written within its print style only. Run in a fresh interpreter, so the
imports are first imports and nothing of the test session has chosen a backend yet.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import json, sys
    import matplotlib

    def settings():
        # dict.__getitem__: reading "backend" through rcParams would itself choose one
        return {k: repr(dict.__getitem__(matplotlib.rcParams, k)) for k in dict.keys(matplotlib.rcParams)}

    before = settings()
    import msc_sle.present.figures as figures
    import msc_sle.workbook.notebook as notebook
    from msc_sle.workbook.params import check_parameters
    cohort = notebook.open_cohort(check_parameters())
    after_open = settings()
    fig = figures.response_rate_figure(__import__("pandas").DataFrame(
        {"response": ["LDA"], "when": ["month 1"], "percent": [30.0], "ci_low": [10.0],
         "ci_high": [60.0], "patients": [10]}))
    figures.save_figure(fig, "probe", sys.argv[1])
    after_figure = settings()
    print(json.dumps({"before": before, "after_open": after_open, "after_figure": after_figure,
                      "spines": fig.axes[0].spines["top"].get_visible()}))
""")


def test_imports_and_open_cohort_change_no_matplotlib_setting(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["MPLCONFIGDIR"] = str(tmp_path / "mpl")  # no matplotlibrc of this machine decides the outcome
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    before = seen["before"]
    changed = {k: (before[k], v) for k, v in seen["after_open"].items() if before.get(k) != v}
    assert not changed, f"importing the library or opening the cohort changed {changed}"
    # drawing resolves the backend (matplotlib's own choice, not the library's); nothing else moves
    changed = {k: (before[k], v) for k, v in seen["after_figure"].items() if before.get(k) != v and k != "backend"}
    assert not changed, f"drawing or saving a workbook figure changed {changed}"
    assert seen["spines"] is False, "the figure was not drawn in the print style (top spine shown)"
    assert (tmp_path / "figures" / "probe.png").stat().st_size > 0


PROBE_BACKEND = """
import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg as FigureCanvas  # noqa: F401
from matplotlib.backends.backend_agg import FigureManagerBase as FigureManager  # noqa: F401
matplotlib.interactive(True)   # as IPython does when its inline backend loads
"""


def test_a_front_end_backend_keeps_what_it_set_when_it_loads(tmp_path):
    """A backend loaded by the session's first workbook figure keeps the settings it made: the
    print style's context must not undo them (a notebook would stop showing its figures)."""
    (tmp_path / "probe_backend.py").write_text(PROBE_BACKEND)
    env = {**os.environ, "MPLBACKEND": "module://probe_backend", "MPLCONFIGDIR": str(tmp_path / "mpl"),
           "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    code = ("import matplotlib, pandas as pd\n"
            "import msc_sle.present.figures as figures\n"
            "figures.response_rate_figure(pd.DataFrame({'response': ['LDA'], 'when': ['month 1'], "
            "'percent': [30.0], 'ci_low': [10.0], 'ci_high': [60.0], 'patients': [10]}))\n"
            "print(matplotlib.is_interactive())\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "True"
