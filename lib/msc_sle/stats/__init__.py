"""Statistical tests and estimates of the workbook, one public function per test.

Knows nothing of the data's meaning: plain arrays and tables in, frozen result records out.

* :mod:`.tests`: ``mann_whitney``, ``kruskal_wallis``, ``pearson_chi2``, ``yates_chi2``,
  ``fisher_exact``, ``fisher_freeman_halton`` (exact, deterministic), ``wilcoxon_signed_rank``,
  ``friedman``, and ``expected_counts``; SPSS conventions (no continuity corrections).
* :mod:`.effects`: ``odds_ratio`` (Woolf CI), ``hodges_lehmann`` (Moses CI).
* :mod:`.intervals`: ``wilson_interval``.  :mod:`.multiplicity`: ``adjust_pvalues``.
* :mod:`.descriptive`: the one type-6 (SPSS) quantile rule, ``quantiles``, ``summary``.
* :mod:`.batch`: the same tests and estimates for every group of a large data set at once.
* :mod:`.registry`: ``TESTS``, the one map from a test's name to its label, footnote and mark,
  and what runs it; ``register_test`` adds one.

Results are :class:`TestResult` / :class:`Estimate` dataclasses. Importing this package costs
numpy and ``scipy.special``; ``scipy.stats`` is imported on the first test that needs it.
"""
from .batch import (GroupedValues, crosstab, group_values, hodges_lehmann_grouped,
                    kruskal_grouped, mann_whitney_grouped)
from .descriptive import (Summary, quantile_from_order_statistics, quantile_position, quantiles,
                          summary)
from .effects import hodges_lehmann, hodges_lehmann_ranks, odds_ratio
from .intervals import wilson_interval
from .multiplicity import ADJUST_METHODS, adjust_pvalues
from .registry import TESTS, TestInfo, register_test, test_info, unregister_test
from .results import Estimate, TestResult
from .tests import (MANN_WHITNEY_METHODS, expected_counts, fisher_exact, fisher_freeman_halton,
                    friedman, kruskal_wallis, mann_whitney, pearson_chi2, wilcoxon_signed_rank,
                    yates_chi2)

__all__ = [
    # results and registry
    "TestResult", "Estimate", "TESTS", "TestInfo", "test_info", "register_test", "unregister_test",
    # tests
    "mann_whitney", "kruskal_wallis", "pearson_chi2", "yates_chi2", "fisher_exact",
    "fisher_freeman_halton", "wilcoxon_signed_rank", "friedman", "expected_counts",
    "MANN_WHITNEY_METHODS",
    # effect sizes, intervals, multiplicity
    "odds_ratio", "hodges_lehmann", "hodges_lehmann_ranks", "wilson_interval", "adjust_pvalues",
    "ADJUST_METHODS",
    # descriptive
    "quantile_position", "quantile_from_order_statistics", "quantiles", "Summary", "summary",
    # vectorised path
    "GroupedValues", "group_values", "mann_whitney_grouped", "kruskal_grouped",
    "hodges_lehmann_grouped", "crosstab",
]
