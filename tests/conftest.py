"""Shared fixtures: one `make run` bundle of the bundled SYNTHETIC cohort per test session (worker)."""
from __future__ import annotations

from pathlib import Path

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


@pytest.fixture(scope="session")
def outsider_bundles(request, tmp_path_factory):
    """``get(cohort)``: the `make share` and `make run` bundles of a cohort of
    ``outsider_cohorts.COHORTS``, each built once per session (the bundled cohort's are the two
    fixtures above)."""
    import os

    from outsider_cohorts import make_bundles

    built = {}
    # a folder of bundles kept between sessions, for work on the reader alone (stale after any
    # change to the workbook: leave it unset to test the protection)
    cache = os.environ.get("MSC_SLE_OUTSIDER_BUNDLES")

    def get(name):
        if name not in built:
            if cache:
                built[name] = make_bundles(name, Path(cache) / name)
            elif name == "bundled":
                built[name] = (request.getfixturevalue("shared_bundle"), request.getfixturevalue("bundle"))
            else:
                built[name] = make_bundles(name, tmp_path_factory.mktemp(name))
        return built[name]
    return get


@pytest.fixture(scope="session")
def outsider_attacks(outsider_bundles):
    """``get(cohort)``: what the outsider reader pins in the cohort's shared bundle, and the counts
    of its `make run` bundle by the same keys (each worked out once per session)."""
    from outsider_reader import attack, truth

    done = {}

    def get(name):
        if name not in done:
            share, run = outsider_bundles(name)
            # a refused cohort has no bundle to attack: (None, the refusal's message, whether a share folder exists)
            refused = share.parent / "share.refused"
            done[name] = (None, (refused.read_text(), share.exists())) if refused.exists() else \
                (attack(share, name), truth(run))
        return done[name]
    return get
