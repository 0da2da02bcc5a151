"""``make lab``: JupyterLab on the workbook, opened at the first notebook.

Jupyter refuses to start as root unless told to ("Running as root is not recommended"), which is
how a fresh container or CI runner starts; ``--allow-root`` is added only then.
"""
from __future__ import annotations

import os
import sys

__all__ = ["lab_arguments", "lab_url_path", "main"]


def lab_arguments(is_root: bool) -> list[str]:
    """The ``jupyter lab`` command line: the repository as root folder, the first notebook opened.

    The notebook is the server's default URL (``/lab/tree/notebooks/01_cohort.ipynb``) rather than a
    file argument: the URL the server prints is then the notebook's, so where no browser can be
    opened (a container, a remote machine) the link pasted into a browser opens 01_cohort, not the
    Launcher; where one can, it is opened there too."""
    from ..contract import REPO_ROOT
    from .runner import NOTEBOOKS

    args = ["lab", f"--ServerApp.root_dir={REPO_ROOT}", f"--LabApp.default_url={lab_url_path(NOTEBOOKS[0])}"]
    return (["lab", "--allow-root"] + args[1:]) if is_root else args


def lab_url_path(notebook: str) -> str:
    """JupyterLab's path of a workbook notebook: ``/lab/tree/notebooks/<notebook>.ipynb``."""
    return f"/lab/tree/notebooks/{notebook}.ipynb"


def main() -> int:
    from jupyterlab.labapp import main as jupyter_lab

    sys.argv = ["jupyter"] + lab_arguments(hasattr(os, "geteuid") and os.geteuid() == 0)[1:]
    return jupyter_lab()


if __name__ == "__main__":
    sys.exit(main())
