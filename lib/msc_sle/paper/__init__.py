"""The paper: its published numbers, its self-consistency audit, and the reproduction on a cohort.

``published``     every number the paper prints (``data/published/wen2019_values.csv``), typed and checked
``audit``         :func:`paper_audit`: is the paper consistent with itself? (published numbers only)
``reproduction``  :func:`reproduction_table`: every published value beside the workbook's

Analysis code never imports this package; it sits above the analysis and looks at it from outside.
"""
