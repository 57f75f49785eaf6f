"""Errors raised while solving; data and spec errors come from ``models`` and ``constraints``."""

from __future__ import annotations

from models import TrimtabError


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


class ExportError(TrimtabError, ValueError):
    """Orders cannot be produced or written: missing prices, not enough cash, a rule rounding breaks."""
