"""The FIX 4.4 data dictionary, QuickFIX's import, and the checks every field and message passes.

Split from :mod:`._fix` (the message builders); QuickFIX itself is imported only when a function
here is called, so the rest of the export works without the ``fix`` extra.
"""

from __future__ import annotations

import math
import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import ExportError
from ._schema import FORMULA_STARTS, MISSING_MARKERS

BEGIN_STRING = "FIX.4.4"
SIDE_CODES: dict[str, str] = {"BUY": "1", "SELL": "2", "SELL_SHORT": "5"}
#: SecurityIDSource (22) per identifier type; TICKER and FIGI have none in FIX 4.4.
SECURITY_ID_SOURCES: dict[str, str] = {"CUSIP": "1", "SEDOL": "2", "ISIN": "4"}
FIX_UNAVAILABLE = "FIX needs QuickFIX: pip install 'trimtab[fix]'"
_REQUIRED_COLUMNS = ("order_id", "asset_id", "identifier_type", "identifier", "side", "quantity")
_TAG_NAMES = {1: "Account", 11: "ClOrdID", 21: "HandlInst", 22: "SecurityIDSource", 38: "OrderQty",
              40: "OrdType", 44: "Price", 48: "SecurityID", 49: "SenderCompID", 54: "Side", 55: "Symbol",
              56: "TargetCompID", 60: "TransactTime", 66: "ListID", 67: "ListSeqNo", 79: "AllocAccount",
              80: "AllocQty"}


class FixUnavailableError(ExportError):
    """QuickFIX or its FIX 4.4 data dictionary is not installed."""


class FixValidationError(ExportError):
    """An order cannot be expressed as a valid FIX 4.4 message.

    Attributes
    ----------
    order_id : str or None
        The order at fault (None when the problem is batch-wide, e.g. the allocations).
    tag : int or None
        The FIX tag at fault, when known.
    """

    def __init__(self, message: str, *, order_id: str | None = None, tag: int | None = None) -> None:
        self.order_id = order_id
        self.tag = tag
        super().__init__(message)


def _quickfix() -> Any:
    try:
        import quickfix
    except ImportError as exc:
        raise FixUnavailableError(FIX_UNAVAILABLE) from exc
    return quickfix


def fix44_dictionary_path() -> Path:
    """The FIX 4.4 data dictionary the ``quickfix`` wheel installs under ``sys.prefix`` (or FixUnavailableError)."""
    _quickfix()
    path = Path(sys.prefix) / "share" / "quickfix" / "FIX44.xml"
    if not path.is_file():
        raise FixUnavailableError(f"FIX 4.4 data dictionary not found at {path}. {FIX_UNAVAILABLE}")
    return path


@lru_cache(maxsize=4)
def data_dictionary(path: str | os.PathLike | None = None) -> Any:
    """The QuickFIX ``DataDictionary`` read from ``path`` (default: :func:`fix44_dictionary_path`), cached."""
    fix = _quickfix()
    path = str(path if path is not None else fix44_dictionary_path())
    try:
        return fix.DataDictionary(path)
    except fix.ConfigError as exc:
        raise FixUnavailableError(f"cannot read FIX data dictionary {path}: {exc}") from exc


def _field_name(tag: int) -> str:
    return f"{_TAG_NAMES.get(tag, 'tag')} ({tag})"


def _validate(message: Any, dd: Any, what: str, order_id: str | None) -> None:
    """Check ``message`` against ``dd``; a failure names the order and the field."""
    fix = _quickfix()
    message.toString()  # sets BodyLength and CheckSum, which the validation requires
    try:
        dd.validate(message)
    except fix.FIXException as exc:
        tag = getattr(exc, "field", None)
        where = f" on {_field_name(tag)}" if tag else ""
        raise FixValidationError(f"{what} fails FIX 4.4 validation{where}: {exc}", order_id=order_id,
                                 tag=tag) from exc




def _text(value: Any, order_id: str | None, tag: int) -> str:
    """A FIX string value: non-empty printable ASCII (no SOH, no newline), not a formula, not a missing marker."""
    text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
    who = f"order {order_id}: " if order_id else ""
    if not text or not all(" " <= ch <= "~" for ch in text):
        raise FixValidationError(f"{who}{_field_name(tag)} must be non-empty printable ASCII, got {text!r}",
                                 order_id=order_id, tag=tag)
    if text.startswith(FORMULA_STARTS) or text in MISSING_MARKERS:
        problem = "starts with a spreadsheet formula character (=, +, -, @)" if text.startswith(FORMULA_STARTS) else (
            "is a missing-value marker, not a value")
        raise FixValidationError(f"{who}{_field_name(tag)} {text!r} {problem}; refused", order_id=order_id, tag=tag)
    return text


def _positive(value: Any, order_id: str, tag: int, *, whole: bool) -> str:
    """A positive number as FIX text: whole shares (OrderQty) or a price per share, never in exponent form."""
    number = float(pd.to_numeric(value, errors="coerce"))
    if not (math.isfinite(number) and number > 0 and (not whole or number == int(number))):
        kind = "a positive whole number of shares" if whole else "a positive price per share"
        raise FixValidationError(f"order {order_id}: {_field_name(tag)} must be {kind}, got {value!r}",
                                 order_id=order_id, tag=tag)
    return str(int(number)) if whole else np.format_float_positional(number, trim="-")


def _stamp(moment: Any) -> str:
    """UTCTimestamp (``YYYYMMDD-HH:MM:SS``) of ``moment``; a naive time is taken as UTC."""
    ts = pd.Timestamp(moment)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.strftime("%Y%m%d-%H:%M:%S")
