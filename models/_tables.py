"""Reading CSV and Parquet tables for the user-file loaders and vendor risk-model files."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from ._errors import DataError

#: File suffix → reader.
SUPPORTED_SUFFIXES: dict[str, str] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}

#: CSV cells read as missing in numeric columns (pandas' defaults).
CSV_NA_VALUES = [
    *("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN"),
    *("<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"),
]


def read_table(path: Path, role: str, *, text_columns: Iterable[str] = ()) -> pd.DataFrame:
    """Read a CSV or Parquet table (by suffix); header names are stripped; errors become DataError.

    Parameters
    ----------
    path : Path
        The file; ``.csv``, ``.parquet`` or ``.pq``.
    role : str
        What the file is ("universe", "returns", …), for error messages.
    text_columns : iterable of str
        CSV columns read as text, where only an empty cell is missing (a ticker "NA" stays "NA").
    """
    kind = SUPPORTED_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DataError(
            f"{role} file {path}: unsupported file type {path.suffix or '(no suffix)'!r}; "
            f"supported suffixes: {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if not path.exists():
        raise DataError(f"{role} file not found: {path}")
    try:
        if kind == "csv":
            with path.open(newline="", encoding="utf-8-sig") as handle:
                header = next(csv.reader(handle), [])
            text = {c for c in header if c.strip() in set(text_columns)}
            # Text columns: only an empty cell is missing (a ticker "NA" stays "NA").
            na_values = {c: [""] if c in text else CSV_NA_VALUES for c in header}
            frame = pd.read_csv(
                path, dtype={c: str for c in text}, na_values=na_values, keep_default_na=False, encoding="utf-8-sig"
            )
        else:
            frame = pd.read_parquet(path)
            if frame.index.name is not None or isinstance(frame.index, pd.DatetimeIndex):
                frame = frame.reset_index(names=frame.index.name or "date")
    except Exception as exc:  # noqa: BLE001 - any reader failure is a data problem
        raise DataError(f"{role} file {path}: could not be read as {kind} ({type(exc).__name__}: {exc})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    duplicated = sorted(set(frame.columns[frame.columns.duplicated()]))
    if duplicated:
        raise DataError(f"{role} file {path}: duplicate column name(s) {duplicated}")
    return frame
