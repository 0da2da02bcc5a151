"""What the pages print: number formatting, Table 1 / Table 2 layout, export, figures.

``format``   one rounding rule (half up) and one p-value style for every printed number
``tables``   :class:`PublicationTable`, :func:`table_one`, :func:`comparison_table`
``export``   CSV / XLSX / DOCX / HTML / LaTeX / Markdown, written atomically
``figures``  Figure 1, CONSORT flow, response curves, forest plot (matplotlib; loaded on first use)
"""
