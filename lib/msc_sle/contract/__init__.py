"""The data contract: what an extract must look like, read, validated and written.

``dictionary``  the data dictionary (``data/dictionary.csv``) read once into :class:`Variable` records:
                :func:`variable`, :func:`variables`
``types``       :class:`Cohort`, :class:`Problem`, :class:`DataError`, :class:`DataWarning`, :func:`ids_in`
``loader``      :func:`read_extract`: CSV / XLSX / Parquet read column-wise, unusual cells by the cell rules, every problem reported at once
``writer``      :func:`write_cohort`: the canonical format, read back value for value
``paths``       where the repository's data live

The contract knows no clinical rule; :func:`msc_sle.clinical.load_cohort` adds those checks.
"""
from .dictionary import (ID, VISIT_MONTHS, Dictionary, Variable, as_dictionary, dtype_for, load_dictionary,
                         read_dictionary, table_variables, variable, variables)
from .loader import TABLES, fingerprint_files, read_extract
from .paths import BUNDLED_DATA, DATA_DIR, DICTIONARY_PATH, PUBLISHED_DIR, REPO_ROOT
from .types import Cohort, DataError, DataWarning, Problem, ids_in, warn_data
from .writer import write_cohort

__all__ = ["Cohort", "DataError", "DataWarning", "Problem", "warn_data", "ids_in", "read_extract", "write_cohort",
           "Variable", "Dictionary",
           "variable", "variables", "read_dictionary", "as_dictionary", "load_dictionary",
           "table_variables", "dtype_for", "fingerprint_files", "VISIT_MONTHS", "ID", "TABLES",
           "BUNDLED_DATA", "DATA_DIR", "DICTIONARY_PATH", "PUBLISHED_DIR", "REPO_ROOT"]
