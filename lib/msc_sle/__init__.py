"""msc_sle: helper library of the MSC-SLE clinical research workbook.

Re-analysis of Wen et al. (2019), "Prognostic factors for clinical response in systemic lupus
erythematosus patients treated by allogeneic mesenchymal stem cells", Stem Cells International.

The modules follow the analysis pipeline; each stage's public names (its ``__all__``) are
re-exported here:

``data``          data dictionary, ``load_cohort`` and ``DataError`` (the data contract)
``sledai``        SLEDAI-2K scoring
``cohort``        eligibility criteria of section 2.1, the attrition table, the analysis frame
``outcomes``      response definitions (paper LDA/CR, LLDAS, DORIS, SLEDAI-4 reduction)
``steroids``      glucocorticoid prednisone equivalents
``compare``       group comparisons with SPSS-faithful test selection and effect sizes
``tables``        Table 1 / Table 2 rendering and export
``figures``       the workbook's figures
``published``, ``audit``, ``reproduction``   the paper's numbers, its self-consistency, the reproduction

Not re-exported (import them by name): ``params`` (notebook parameters), ``report`` (notebook
helpers), ``runner`` (``make run``), ``synthetic`` (the SYNTHETIC cohort generator).
"""
from . import audit, cohort, compare, data, figures, outcomes, published, reproduction, sledai, steroids, tables
from .audit import *  # noqa: F401,F403
from .cohort import *  # noqa: F401,F403
from .compare import *  # noqa: F401,F403
from .data import *  # noqa: F401,F403
from .figures import *  # noqa: F401,F403
from .outcomes import *  # noqa: F401,F403
from .published import *  # noqa: F401,F403
from .reproduction import *  # noqa: F401,F403
from .sledai import *  # noqa: F401,F403
from .steroids import *  # noqa: F401,F403
from .tables import *  # noqa: F401,F403

__version__ = "0.1.0"
__all__ = [name for module in (data, sledai, cohort, outcomes, steroids, compare, tables, figures,
                               published, audit, reproduction) for name in module.__all__]
