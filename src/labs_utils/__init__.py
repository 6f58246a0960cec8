"""Shared helpers for the mlops-data-labs notebooks: one module per course idea.

Import modules, not names: ``from labs_utils import validation`` then ``validation.anomalies_table(...)``.
"""

# No __all__ here: pdoc (make docs) treats a package __all__ as the list of what to document, and
# would then skip every submodule. The submodules each declare their own.

__version__ = "0.1.0"
