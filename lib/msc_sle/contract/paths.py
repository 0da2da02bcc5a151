"""Where the workbook's files live: the repository, the data dictionary, the bundled cohort."""
from __future__ import annotations

from pathlib import Path

__all__ = ["REPO_ROOT", "DATA_DIR", "DICTIONARY_PATH", "BUNDLED_DATA", "PUBLISHED_DIR"]

REPO_ROOT = Path(__file__).resolve().parents[3]
DATA_DIR = REPO_ROOT / "data"
DICTIONARY_PATH = DATA_DIR / "dictionary.csv"
#: The bundled SYNTHETIC cohort (data/README.md).
BUNDLED_DATA = DATA_DIR / "synthetic"
#: The paper's published numbers (data/published/README.md).
PUBLISHED_DIR = DATA_DIR / "published"
