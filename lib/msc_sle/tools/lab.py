"""``make lab``: JupyterLab on the workbook, opened at the first notebook.

Jupyter refuses to start as root unless told to ("Running as root is not recommended"), which is
how a fresh container or CI runner starts; ``--allow-root`` is added only then.
"""
from __future__ import annotations

import os
import sys

__all__ = ["lab_arguments", "main"]


def lab_arguments(is_root: bool) -> list[str]:
    """The ``jupyter lab`` command line: the repository as root folder, the first notebook opened."""
    from ..contract import REPO_ROOT
    from .runner import NOTEBOOKS

    args = ["lab", f"--ServerApp.root_dir={REPO_ROOT}", str(REPO_ROOT / "notebooks" / f"{NOTEBOOKS[0]}.ipynb")]
    return args + (["--allow-root"] if is_root else [])


def main() -> int:
    from jupyterlab.labapp import main as jupyter_lab

    sys.argv = ["jupyter"] + lab_arguments(hasattr(os, "geteuid") and os.geteuid() == 0)[1:]
    return jupyter_lab()


if __name__ == "__main__":
    sys.exit(main())
