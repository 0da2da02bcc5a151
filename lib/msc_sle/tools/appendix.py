"""The bundle's appendix page: the documentation the reproduction and sharing notes cite.

The reproduction page explains differences by "reading 1", "reading 8", ... of ``data/README.md``
and the shared bundle's markers by ``docs/disclosure.md``; neither file travels with a bundle, so a
reviewer holding only the bundle could not follow the citation. The appendix renders those
sections, as written (one source of truth: the page is built from the files at each run).
"""
from __future__ import annotations

import html
import re
from pathlib import Path

from ..contract import REPO_ROOT

__all__ = ["APPENDIX_SECTIONS", "appendix_html", "markdown_section"]

#: (file, heading of a level-2 section) rendered into the appendix, in this order.
APPENDIX_SECTIONS = (
    ("data/README.md", "Where the paper contradicts itself: the readings chosen"),
    ("docs/disclosure.md", "The guarantee"),
    ("docs/disclosure.md", "The rules followed"),
    ("docs/disclosure.md", "What each table family withholds, and the relations protected"),
    ("docs/disclosure.md", "Limits"),
)


def markdown_section(text: str, heading: str) -> str:
    """The body of the level-2 section ``## heading`` of a markdown text (up to the next ``## ``)."""
    match = re.search(rf"^## {re.escape(heading)}[ \t]*\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    if match is None:
        raise KeyError(f"no section '## {heading}'")
    return match.group(1).strip()


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
table { border-collapse: collapse; font-size: .85rem; display: block; overflow-x: auto; }
th, td { border: 1px solid #ddd; padding: .25rem .5rem; text-align: left; vertical-align: top; }
code { overflow-wrap: anywhere; }
.source { color: #555; font-size: .9rem; }
"""


def appendix_html(root: Path = REPO_ROOT, sections=APPENDIX_SECTIONS, *, banner: str = "") -> str:
    """The appendix as one offline HTML page; a section that cannot be found is an error, not a gap.
    ``banner``: HTML shown first (the bundle's SYNTHETIC banner when the cohort is synthetic)."""
    import mistune

    render = mistune.create_markdown(plugins=["table"])
    parts = []
    for name, heading in sections:
        path = Path(root) / name
        try:
            body = markdown_section(path.read_text(encoding="utf-8"), heading)
        except (OSError, KeyError) as err:
            raise RuntimeError(f"the appendix cannot be built: {name}: {err}") from None
        parts.append(f"<h2>{html.escape(heading)}</h2>\n<p class='source'>From {html.escape(name)} of the "
                     f"workbook.</p>\n{render(body)}")
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<title>Appendix: readings of the paper and sharing rules</title>"
            f"<style>{_STYLE}</style></head><body>\n{banner}<h1>Appendix: readings of the paper and sharing rules</h1>\n"
            "<p>The reproduction page explains differences from the paper by the readings below; a bundle "
            "for circulation withholds small counts by the rules that follow. <a href='../index.html'>Back to "
            "the index</a>.</p>\n" + "\n".join(parts) + "\n</body></html>\n")
