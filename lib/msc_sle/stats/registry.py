"""The one map from a test's name to its label and footnote sentence.

Every place that prints a test (table footnotes, prose, figure captions, audit notes) looks the
name up here, so that a test is described the same way everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

__all__ = ["TestInfo", "TESTS", "test_info"]

KINDS = ("continuous", "categorical", "paired")


@dataclass(frozen=True)
class TestInfo:
    """``name``: registry key (the ``test`` of a :class:`TestResult`); ``label``: short name for
    prose and figures; ``description``: the footnote sentence; ``kind``: ``"continuous"`` (two or
    more independent samples), ``"categorical"`` (a contingency table) or ``"paired"`` (related
    samples)."""
    __test__ = False

    name: str
    label: str
    description: str
    kind: str


def _info(name, label, description, kind):
    assert kind in KINDS
    return name, TestInfo(name, label, description, kind)


TESTS: Mapping[str, TestInfo] = MappingProxyType(dict([
    _info("mann_whitney", "Mann-Whitney U",
          "Mann-Whitney U test (two-sided; normal approximation with tie correction, "
          "no continuity correction, as SPSS 'Asymp. Sig.')", "continuous"),
    _info("kruskal", "Kruskal-Wallis", "Kruskal-Wallis test (tie-corrected)", "continuous"),
    _info("chi2", "Pearson chi-square",
          "Pearson chi-square test without continuity correction", "categorical"),
    _info("chi2_yates", "Yates-corrected chi-square",
          "chi-square test with Yates' continuity correction", "categorical"),
    _info("fisher", "Fisher's exact", "Fisher's exact test (two-sided)", "categorical"),
    _info("fisher_freeman_halton", "Fisher-Freeman-Halton exact",
          "Fisher-Freeman-Halton exact test", "categorical"),
    _info("wilcoxon", "Wilcoxon signed-rank",
          "Wilcoxon signed-rank test (normal approximation with tie correction, zero "
          "differences dropped, no continuity correction)", "paired"),
    _info("friedman", "Friedman", "Friedman test (tie-corrected)", "paired"),
    _info("cmh", "Cochran-Mantel-Haenszel",
          "Cochran-Mantel-Haenszel test over strata (continuity-corrected, as R "
          "mantelhaen.test)", "categorical"),
    _info("cmh_general", "generalized Cochran-Mantel-Haenszel",
          "generalized Cochran-Mantel-Haenszel test of general association over strata",
          "categorical"),
    _info("van_elteren", "van Elteren",
          "van Elteren test (stratified Wilcoxon rank-sum test, strata weighted by "
          "1/(n+1); tie-corrected normal approximation, no continuity correction)",
          "continuous"),
]))


def test_info(name: str) -> TestInfo:
    """The :class:`TestInfo` of a registry key; a clear ValueError for an unknown name."""
    try:
        return TESTS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown test {name!r}; valid tests: {', '.join(TESTS)}") from None


test_info.__test__ = False  # a lookup, not a pytest test function
