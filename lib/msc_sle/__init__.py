"""msc_sle: helper library of the MSC-SLE clinical research workbook.

Re-analysis of Wen et al. (2019), "Prognostic factors for clinical response in systemic lupus
erythematosus patients treated by allogeneic mesenchymal stem cells", Stem Cells International.

The packages follow the analysis, and imports flow one way, top to bottom:

``contract``   the data dictionary, reading and writing an extract (``read_extract``, ``DataError``)
``clinical``   SLEDAI-2K, the visit grid, response definitions, eligibility, the analysis frame
``stats``      one public function per statistical test or estimate (knows nothing of lupus)
``compare``    group comparisons of the analysis frame; ``rates``: response rates with Wilson CIs;
               ``models``: the prognostic model, time to response, SLEDAI-2K trajectories
``present``    number formatting, Table 1 / Table 2, export, figures
``paper``      the published numbers, the paper's self-audit, the reproduction
``workbook``   the notebooks' plumbing: parameters, helpers, disclosure control, explorer
``tools``      ``make run`` (runner) and ``make data`` (synthetic cohort generator)

The names below are importable from ``msc_sle`` itself; each loads its package on first use, so
``import msc_sle`` costs almost nothing and a notebook pays only for what it calls.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "msc_sle.contract": ("Cohort", "DataError", "DataWarning", "Problem", "read_extract", "write_cohort",
                         "Variable", "variable", "variables", "load_dictionary", "VISIT_MONTHS"),
    "msc_sle.clinical": ("load_cohort", "sledai2k", "SLEDAI2K_WEIGHTS", "SLEDAI2K_DOMAINS", "SEROLOGY",
                         "MAJOR_ORGAN_DESCRIPTORS", "visit_grid", "FOLLOW_UP_MONTHS", "Criterion", "paper_criteria",
                         "PAPER_ELIGIBILITY", "apply_eligibility", "analysis_frame", "ResponseDefinition",
                         "paper_lda", "paper_cr", "lldas", "doris", "sledai_reduction", "get_definition",
                         "classify_response", "prednisone_equivalent", "split_pulses"),
    "msc_sle.compare": ("Comparison", "summarise", "compare_groups", "describe", "paired_over_time",
                        "baseline_variables", "table_variables", "TEST_NAMES", "TEST_RULES"),
    "msc_sle.stats": ("adjust_pvalues", "wilson_interval"),
    "msc_sle.rates": ("response_rates", "cumulative_response"),
    "msc_sle.present.tables": ("PublicationTable", "table_one", "comparison_table"),
    "msc_sle.present.export": ("export_table",),
    "msc_sle.present.format": ("format_p",),
    "msc_sle.paper.published": ("load_published", "select_published", "group_comparison", "matches_printed"),
    "msc_sle.paper.audit": ("paper_audit", "recheck_pvalues", "recheck_percentages"),
    "msc_sle.paper.reproduction": ("reproduction_table", "ReproductionResult"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
_SUBPACKAGES = ("contract", "clinical", "stats", "compare", "rates", "models", "present", "paper", "workbook",
                "tools")

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    if name in _SUBPACKAGES:
        return importlib.import_module(f"msc_sle.{name}")
    raise AttributeError(f"module 'msc_sle' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__) | set(_SUBPACKAGES))
