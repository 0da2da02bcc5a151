"""The workbook's analysis as a vantage6 algorithm (vantage6-algorithm-tools 4.15).

``central`` runs at one node and asks every centre's ``partial`` questions (subtasks); ``partial``
answers with aggregates only (``node.answer``). The maths lives in ``node`` and ``central``, which
import nothing of vantage6: only the two entry points below do.
"""
from . import central as _central
from . import node as _node

try:
    from vantage6.algorithm.tools.decorators import algorithm_client, data
except ImportError:   # the workbook's own environment: node and central stay importable (tests)
    __all__: list[str] = []
else:
    __all__ = ["central", "partial"]

if __all__:
    import pandas as _pd

    # The algorithm's own process (its vantage6 image runs pandas 2): text columns as Arrow strings,
    # as pandas 3 makes them in the workbook. With pandas 2's default (Python objects) a centre's
    # patient ids are converted to objects and back at every step: a centre of 333,000 patients
    # loads in 8 s instead of 5 s, and its answers take as long again. Same values either way.
    _pd.options.mode.string_storage = "pyarrow"

    @algorithm_client
    def central(client, overrides: dict | None = None, outcome: str | None = None, threshold: int = 0,
                centre_term: bool = False, names: dict | None = None) -> dict:
        """The consortium's tables (JSON). ``overrides``: the workbook's parameters (as `make run`
        NAME=value, lower case); ``threshold``: the least count a node may release (a node applies its
        own if higher); ``names``: {organisation id: centre name} for the page."""
        return _central.analyse(client, overrides, outcome=outcome, threshold=threshold,
                                centre_term=centre_term, names=names)

    @data(1)
    @algorithm_client
    def partial(client, df, question: dict) -> dict:
        """One centre's answer to one question of ``central`` (aggregates only)."""
        return {**_node.answer(df, question, client.organization_id), "centre": str(client.organization_id)}
