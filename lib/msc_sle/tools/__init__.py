"""Tooling around the library, not part of the analysis: ``make run`` / ``make share`` /
``make notebooks`` (``runner``), ``make lab`` (``lab``) and ``make data`` (``synthetic``).

Nothing in the analysis packages imports this one.
"""
