"""Errors raised while solving and writing; data and spec errors come from ``models`` and ``constraints``."""

from __future__ import annotations

from trimtab.models import TrimtabError


class InfeasibleError(TrimtabError, RuntimeError):
    """No portfolio satisfies every hard constraint.

    Attributes
    ----------
    diagnosis : Diagnosis or None
        An irreducible set of conflicting constraints and the bound each would need.
    """

    def __init__(self, message: str, diagnosis: object | None = None) -> None:
        self.diagnosis = diagnosis
        super().__init__(message)


class SolverFailedError(TrimtabError, RuntimeError):
    """Every solver tried failed, or returned weights that violate a constraint."""


class OutputError(TrimtabError, ValueError):
    """An output file or run directory cannot be used: it exists (pass ``--force``), or a run
    directory is missing a file or cannot be read."""


class ExportError(TrimtabError, ValueError):
    """Orders cannot be produced or written: missing prices, not enough cash, a rule rounding breaks."""
