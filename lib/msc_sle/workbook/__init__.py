"""The workbook's plumbing for the notebooks: parameters, notebook helpers, disclosure control, the explorer.

``params``      the notebook parameters (one :class:`Params`; every default written once)
``notebook``    the SYNTHETIC banner, provenance, records for the runner, table output
``disclosure``  small-count suppression for ``make share``
``explorer``    the threshold explorer of ``05_explore`` (ipywidgets)

Import the modules by name (``from msc_sle.workbook.params import check_parameters``): this package
is not loaded by ``import msc_sle``.
"""
