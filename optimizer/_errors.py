"""Errors raised while solving; data and spec errors come from ``models`` and ``constraints``."""

from __future__ import annotations

from models import TrimtabError


class InfeasibleError(TrimtabError, RuntimeError):
    """No portfolio satisfies every hard constraint.

    Attributes
    ----------
    conflicts : tuple of str
        Constraints found in conflict by the quick elastic check, with what each would need.
    """

    def __init__(self, message: str, conflicts: tuple[str, ...] = ()) -> None:
        self.conflicts = conflicts
        super().__init__(message)


class SolverFailedError(TrimtabError, RuntimeError):
    """Every solver tried failed, or returned weights that violate a constraint."""
