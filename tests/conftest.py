"""Shared fixtures: one `make run` bundle of the bundled SYNTHETIC cohort per test session (worker)."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def bundle(tmp_path_factory):
    """The folder `make run` writes with the default parameters (run once per pytest worker)."""
    from msc_sle.tools.runner import run_workbook
    from msc_sle.workbook.params import check_parameters

    out = tmp_path_factory.mktemp("bundle") / "reports"
    run_workbook(dict(check_parameters()), out, jobs=2, progress=lambda _m: None)
    return out


@pytest.fixture(scope="session")
def shared_bundle(tmp_path_factory):
    """The folder `make share` writes with counts below 5 withheld (run once per pytest worker)."""
    from msc_sle.tools.runner import run_workbook
    from msc_sle.workbook.params import check_parameters

    out = tmp_path_factory.mktemp("shared") / "shared"
    run_workbook(dict(check_parameters(small_cell_min=5)), out, jobs=2, share=True, progress=lambda _m: None)
    return out
