"""Clinical rules: SLEDAI-2K, the visit schedule, response definitions, eligibility, the analysis frame.

``sledai``       SLEDAI-2K scoring (Gladman 2002): totals, clinical SLEDAI, organ subtotals
``visits``       the visit schedule as a patient x month grid
``outcomes``     response definitions (paper LDA/CR, LLDAS, DORIS, SLEDAI-4 reduction) applied per visit
``eligibility``  the section 2.1 criteria in order, with an attrition table
``frame``        the one-row-per-patient analysis frame (stats-free)
``steroids``     glucocorticoid prednisone equivalents, pulses kept apart
``extract``      :func:`load_cohort`: the contract's reading plus the clinical consistency checks

Nothing here computes a test statistic: the comparisons live one layer up (``msc_sle.compare``).
"""
from .eligibility import (PAPER_ELIGIBILITY, Criterion, EligibilityResult, EligibilityThresholds,
                          apply_eligibility, baseline_sledai, paper_criteria)
from .extract import RECORDED_TOTAL_RULE, load_cohort, recorded_total_details, recorded_total_note
from .frame import CYC_DOSE_CUT_G, PREDNISONE_CUT_MG, analysis_frame, baseline_predictors, sledai_long
from .outcomes import (DEFINITION_ALIASES, DEFINITIONS, ResponseDefinition, ResponseResult, classify_response, doris,
                       get_definition, lldas, paper_cr, paper_lda, sledai_reduction)
from .sledai import (CVA_DOMAINS, MAJOR_ORGAN_DESCRIPTORS, SEROLOGY, SLEDAI2K_DOMAINS, SLEDAI2K_WEIGHTS, SledaiResult,
                     descriptor_arrays, recorded_total_mismatches, score_arrays, sledai2k, sledai2k_domains,
                     sledai2k_total)
from .steroids import EQUIVALENT_DOSE_MG, PULSE_MIN_MG, SteroidDoses, prednisone_equivalent, split_pulses
from .visits import BASELINE_MONTH, FOLLOW_UP_MONTHS, VisitGrid, visit_completeness, visit_grid, visit_label

__all__ = ["PAPER_ELIGIBILITY", "Criterion", "EligibilityResult", "EligibilityThresholds", "apply_eligibility",
           "baseline_sledai", "paper_criteria", "load_cohort", "recorded_total_note", "recorded_total_details",
           "RECORDED_TOTAL_RULE", "CYC_DOSE_CUT_G",
           "PREDNISONE_CUT_MG", "analysis_frame", "DEFINITION_ALIASES", "DEFINITIONS", "ResponseDefinition",
           "ResponseResult", "classify_response", "doris", "get_definition", "lldas", "paper_cr", "paper_lda",
           "sledai_reduction", "CVA_DOMAINS", "MAJOR_ORGAN_DESCRIPTORS", "SEROLOGY", "SLEDAI2K_DOMAINS",
           "SLEDAI2K_WEIGHTS", "SledaiResult", "descriptor_arrays", "score_arrays", "sledai2k", "sledai2k_domains",
           "sledai2k_total", "recorded_total_mismatches",
           "EQUIVALENT_DOSE_MG", "PULSE_MIN_MG", "SteroidDoses", "prednisone_equivalent", "split_pulses",
           "BASELINE_MONTH", "FOLLOW_UP_MONTHS", "VisitGrid", "visit_grid", "visit_completeness", "visit_label",
           "sledai_long",
           "baseline_predictors"]
