"""Reading CSV and Parquet tables for the user-file loaders and vendor risk-model files.

Files are chosen by suffix: ``.csv``, ``.parquet`` or ``.pq``; a CSV may come compressed as
vendors deliver it — ``.csv.gz``, ``.csv.bz2``, ``.csv.zip`` (one member), ``.csv.xz`` or
``.csv.zst`` (the last needs the ``zstandard`` package) — and is decompressed on the fly
(pandas' ``compression``). Parquet files carry their own (internal) compression.
"""

from __future__ import annotations

import csv
import importlib.util
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from ._errors import DataError

#: File suffix → reader.
SUPPORTED_SUFFIXES: dict[str, str] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}

#: Compression suffix of a CSV file → pandas' ``compression`` name.
CSV_COMPRESSIONS: dict[str, str] = {".gz": "gzip", ".bz2": "bz2", ".zip": "zip", ".xz": "xz", ".zst": "zstd"}

#: Python package pandas needs for a compression (the others are in the standard library).
_COMPRESSION_PACKAGES = {"zstd": "zstandard"}

#: CSV cells read as missing in numeric columns (pandas' defaults).
CSV_NA_VALUES = [
    *("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN"),
    *("<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"),
]


def table_format(path: Path, role: str) -> tuple[str, str | None]:
    """``(kind, compression)`` of a table file from its suffixes: ``("csv", "gzip")`` for ``x.csv.gz``.

    Raises
    ------
    DataError
        For a suffix that is not a supported table (naming the supported ones), or a
        compression whose Python package is not installed.
    """
    suffixes = [s.lower() for s in path.suffixes]
    last = suffixes[-1] if suffixes else ""
    if last in SUPPORTED_SUFFIXES:
        return SUPPORTED_SUFFIXES[last], None
    if last in CSV_COMPRESSIONS and len(suffixes) >= 2 and suffixes[-2] == ".csv":
        compression = CSV_COMPRESSIONS[last]
        package = _COMPRESSION_PACKAGES.get(compression)
        if package is not None and importlib.util.find_spec(package) is None:
            raise DataError(
                f"{role} file {path}: reading {last} files needs the {package!r} package "
                f"(pip install {package}), or give the file uncompressed or as .csv.gz"
            )
        return "csv", compression
    shown = "".join(path.suffixes[-2:]) if len(suffixes) >= 2 and last in CSV_COMPRESSIONS else path.suffix
    compressed = ", ".join(f".csv{s}" for s in CSV_COMPRESSIONS)
    raise DataError(
        f"{role} file {path}: unsupported file type {shown or '(no suffix)'!r}; "
        f"supported suffixes: {', '.join(SUPPORTED_SUFFIXES)}, and compressed CSV {compressed}"
    )


def read_table(path: Path, role: str, *, text_columns: Iterable[str] = ()) -> pd.DataFrame:
    """Read a CSV (plain or compressed) or Parquet table; header names are stripped; errors become DataError.

    Parameters
    ----------
    path : Path
        The file; ``.csv`` (or ``.csv.gz``, ``.csv.bz2``, ``.csv.zip``, ``.csv.xz``,
        ``.csv.zst``), ``.parquet`` or ``.pq``.
    role : str
        What the file is ("universe", "returns", …), for error messages.
    text_columns : iterable of str
        CSV columns read as text, where only an empty cell is missing (a ticker "NA" stays "NA").
    """
    path = Path(path)
    kind, compression = table_format(path, role)
    if not path.exists():
        raise DataError(f"{role} file not found: {path}")
    try:
        if kind == "csv":
            header = csv_header(path, compression)
            wanted = set(text_columns)
            text = {c for c in header if c.strip() in wanted}
            # One list of missing-value tokens for every column (a per-column dict costs seconds
            # on a wide returns file), the file parsed in one piece (``low_memory=False``: pandas'
            # chunked reading re-assembles every column of a wide file — 10,000 names: 2× slower
            # and 30 % more memory) ...
            frame = pd.read_csv(
                path, dtype={c: str for c in text}, na_values=CSV_NA_VALUES, keep_default_na=False,
                encoding="utf-8-sig", compression=compression, low_memory=False,
            )
            # ... then text columns, where only an empty cell is missing (a ticker "NA" stays
            # "NA"), are read again as written if that turned some cell missing.
            positions = [i for i, c in enumerate(header) if c in text and i < frame.shape[1]]
            again = [i for i in positions if frame.iloc[:, i].isna().any()]
            if again:
                raw = pd.read_csv(
                    path, usecols=again, dtype=str, na_values=[""], keep_default_na=False,
                    encoding="utf-8-sig", compression=compression,
                )
                for j, i in enumerate(sorted(again)):
                    frame[frame.columns[i]] = raw.iloc[:, j].to_numpy()
        else:
            frame = pd.read_parquet(path)
            if frame.index.name is not None or isinstance(frame.index, pd.DatetimeIndex):
                frame = frame.reset_index(names=frame.index.name or "date")
    except Exception as exc:  # noqa: BLE001 - any reader failure is a data problem
        what = kind if compression is None else f"{kind} ({compression}-compressed)"
        raise DataError(f"{role} file {path}: could not be read as {what} ({type(exc).__name__}: {exc})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    duplicated = sorted(set(frame.columns[frame.columns.duplicated()]))
    if duplicated:
        raise DataError(f"{role} file {path}: duplicate column name(s) {duplicated}")
    return frame


def csv_header(path: Path, compression: str | None) -> list[str]:
    """The raw header cells of a CSV file (empty for an empty file)."""
    if compression is None:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return next(csv.reader(handle), [])
    first = pd.read_csv(
        path, header=None, nrows=1, dtype=str, keep_default_na=False, encoding="utf-8-sig", compression=compression
    )
    return [str(c) for c in first.iloc[0].tolist()] if len(first) else []
