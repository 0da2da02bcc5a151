"""Boundary tests (make mutants)."""
