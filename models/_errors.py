"""Error types shared by every trimtab package.

Each error names what failed (file, field, asset, constraint) and what to try.
They subclass ``ValueError`` or ``RuntimeError`` so generic handlers still work.
"""

from __future__ import annotations


class TrimtabError(Exception):
    """Base class of every error trimtab raises on purpose."""


class DataError(TrimtabError, ValueError):
    """Input data is missing, malformed or inconsistent (files, returns, weights)."""
