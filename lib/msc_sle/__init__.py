"""msc_sle: helper library of the MSC-SLE clinical research workbook.

Re-analysis of Wen et al. (2019), "Prognostic factors for clinical response in systemic lupus
erythematosus patients treated by allogeneic mesenchymal stem cells", Stem Cells International.

The modules follow the analysis pipeline, each re-exporting its public names (its ``__all__``):

``data``      data dictionary, ``load_cohort`` and ``DataError`` (the data contract)
``sledai``    SLEDAI-2K scoring
``cohort``    eligibility criteria of section 2.1 and the attrition table
``outcomes``  response definitions (paper LDA/CR, LLDAS, DORIS, SLEDAI-4 reduction)
``steroids``  glucocorticoid prednisone equivalents
``compare``   group comparisons with SPSS-faithful test selection and effect sizes
``tables``    Table 1 / Table 2 rendering and export
``figures``   the workbook's figures
"""
from importlib import import_module as _import_module

__version__ = "0.1.0"

_MODULES = ("data", "sledai", "cohort", "outcomes", "steroids", "compare", "tables", "figures",
            "published", "audit", "reproduction")
__all__: list[str] = []


def _reexport(module_name: str) -> None:
    try:
        module = _import_module(f"{__name__}.{module_name}")
    except ModuleNotFoundError as err:  # a stage not written yet; any other import error surfaces
        if err.name != f"{__name__}.{module_name}":
            raise
        return
    for public in getattr(module, "__all__", ()):
        globals()[public] = getattr(module, public)
        __all__.append(public)


for _module_name in _MODULES:
    _reexport(_module_name)
