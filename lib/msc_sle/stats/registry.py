"""The one map from a test's name to what describes it and what runs it.

Every place that prints a test (table footnotes and their marks, prose, figure captions, audit
notes) looks the name up here, so that a test is described the same way everywhere; a comparison
(the comparison engine, ``tests={variable: name}``) runs a test registered here by its name.

Adding a test is one function returning a :class:`~msc_sle.stats.TestResult` and one call of
:func:`register_test` (docs/architecture.md, "A new statistical test").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping

from . import stratified as _stratified
from . import tests as _tests
from .results import TestResult

__all__ = ["TestInfo", "TESTS", "test_info", "register_test", "unregister_test", "KINDS"]

#: What a test compares, and so what its function is given: ``continuous``: ``function(*samples)``,
#: one array of values per group, missing values left out; ``categorical``: ``function(table)``,
#: the groups x levels counts (levels nobody has left out); ``paired``: related samples;
#: ``stratified``: a comparison within strata (centres), run by the multi-centre analysis with its
#: own arguments, never chosen for a single-site table.
KINDS = ("continuous", "categorical", "paired", "stratified")


@dataclass(frozen=True)
class TestInfo:
    """``name``: registry key (the ``test`` of a :class:`TestResult`); ``label``: short name for
    prose and figures; ``description``: the footnote sentence; ``kind``: ``"continuous"`` (two or
    more independent samples), ``"categorical"`` (a contingency table) or ``"paired"`` (related
    samples), see :data:`KINDS`; ``mark``: the footnote mark of its p-values in a table (``""``:
    unmarked, the tests the paper's methods name); ``function``: what runs it, returning a
    :class:`TestResult`."""
    __test__ = False

    name: str
    label: str
    description: str
    kind: str
    mark: str = ""
    function: Callable[..., TestResult] | None = field(default=None, compare=False, repr=False)


_REGISTRY: dict[str, TestInfo] = {}
#: Read-only view of the registry, in registration order (the built-in tests first).
TESTS: Mapping[str, TestInfo] = MappingProxyType(_REGISTRY)


def register_test(name: str, function: Callable[..., TestResult], *, label: str, description: str,
                  kind: str, mark: str = "") -> TestInfo:
    """Register a test under ``name`` so that ``compare_groups(tests={variable: name})`` runs it and
    Table 2 prints its p-values with ``mark`` and ``description`` in the legend.

    ``function`` is called as :data:`KINDS` says for ``kind`` and returns a :class:`TestResult`.
    A name already registered is refused (:func:`unregister_test` first): a name means one test.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"a test's name is a Python identifier (it names a column value), not {name!r}")
    if name in _REGISTRY:
        raise ValueError(f"test {name!r} is already registered ({_REGISTRY[name].label}); "
                         "unregister_test it first to replace it")
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} of test {name!r} is not one of {', '.join(KINDS)}")
    if not callable(function):
        raise TypeError(f"the function of test {name!r} is not callable: {function!r}")
    taken = {i.mark: n for n, i in _REGISTRY.items() if i.mark}
    if mark and mark in taken:
        raise ValueError(f"footnote mark {mark!r} already marks test {taken[mark]!r}")
    info = TestInfo(name, label, description, kind, mark, function)
    _REGISTRY[name] = info
    return info


def unregister_test(name: str) -> None:
    """Remove a test registered by :func:`register_test`; the built-in tests stay."""
    if name in _BUILT_IN:
        raise ValueError(f"{name!r} is a built-in test and cannot be unregistered")
    test_info(name)
    del _REGISTRY[name]


def test_info(name: str) -> TestInfo:
    """The :class:`TestInfo` of a registry key; a clear ValueError for an unknown name."""
    try:
        return TESTS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown test {name!r}; valid tests: {', '.join(TESTS)}") from None


test_info.__test__ = False  # a lookup, not a pytest test function

# The built-in tests. Marks: the paper's section 2.5 names Mann-Whitney (continuous) and
# chi-square (categorical) as its tests, so they carry none; its Table 2 marks Fisher with "*".
register_test("mann_whitney", _tests.mann_whitney, label="Mann-Whitney U", kind="continuous",
              description="Mann-Whitney U test (two-sided; normal approximation with tie correction, "
                          "no continuity correction, as SPSS 'Asymp. Sig.')")
register_test("kruskal", _tests.kruskal_wallis, label="Kruskal-Wallis", kind="continuous",
              description="Kruskal-Wallis test (tie-corrected)")
register_test("chi2", _tests.pearson_chi2, label="Pearson chi-square", kind="categorical",
              description="Pearson chi-square test without continuity correction")
register_test("chi2_yates", _tests.yates_chi2, label="Yates-corrected chi-square", kind="categorical",
              mark="‡", description="chi-square test with Yates' continuity correction")
register_test("fisher", _tests.fisher_exact, label="Fisher's exact", kind="categorical", mark="*",
              description="Fisher's exact test (two-sided)")
register_test("fisher_freeman_halton", _tests.fisher_freeman_halton, label="Fisher-Freeman-Halton exact",
              kind="categorical", mark="†", description="Fisher-Freeman-Halton exact test")
register_test("wilcoxon", _tests.wilcoxon_signed_rank, label="Wilcoxon signed-rank", kind="paired",
              description="Wilcoxon signed-rank test (normal approximation with tie correction, zero "
                          "differences dropped, no continuity correction)")
register_test("friedman", _tests.friedman, label="Friedman", kind="paired",
              description="Friedman test (tie-corrected)")
register_test("cmh", _stratified.cochran_mantel_haenszel, label="Cochran-Mantel-Haenszel", kind="stratified",
              description="Cochran-Mantel-Haenszel test over strata (continuity-corrected, as R "
                          "mantelhaen.test)")
register_test("cmh_general", _stratified.cochran_mantel_haenszel, label="generalized Cochran-Mantel-Haenszel",
              kind="stratified",
              description="generalized Cochran-Mantel-Haenszel test of general association over strata")
register_test("van_elteren", _stratified.van_elteren, label="van Elteren", kind="stratified",
              description="van Elteren test (stratified Wilcoxon rank-sum test, strata weighted by "
                          "1/(n+1); tie-corrected normal approximation, no continuity correction)")
_BUILT_IN = frozenset(_REGISTRY)
