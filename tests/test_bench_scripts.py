"""The benchmarks still run against the library they measure (`make bench` is not in `make test`,
so a changed signature would otherwise surface only when someone measures). Nothing is timed here."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
SCRIPTS = sorted(p.stem for p in BENCH.glob("bench_*.py"))


@pytest.fixture(autouse=True)
def _bench_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_benchmark_imports(name):
    module = importlib.import_module(name)
    assert callable(getattr(module, "main", None)), f"{name} has no main()"


def test_the_comparison_engine_benchmark_runs_on_a_small_cohort():
    bench_compare = importlib.import_module("bench_compare")
    table = bench_compare.run_engine(bench_compare.make_cohort(200))
    assert len(table) >= len(bench_compare.CONTINUOUS)
