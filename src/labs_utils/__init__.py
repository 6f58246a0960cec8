"""Shared helpers for the mlops-data-labs notebooks: one module per course idea.

Import modules, not names: ``from labs_utils import validation`` then ``validation.anomalies_table(...)``.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
