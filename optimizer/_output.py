"""Write a run's files atomically: all content is rendered first, then renamed into place.

A failed run writes nothing; an earlier run's files in the directory stay untouched until
every new file has been rendered and written to a temporary name beside it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from models import DataError

from ._errors import ExportError
from ._result import TargetPortfolio

#: Fixed decimals for weights in CSV: byte-identical output for identical inputs.
CSV_FLOAT_FORMAT = "%.12f"

TARGET_COLUMNS = ("sector", "benchmark_weight", "target_weight", "active_weight", "current_weight", "trade_weight")


def render_targets_csv(target: TargetPortfolio) -> bytes:
    """``targets.csv``: one row per asset sorted by asset_id, weights as fractions of NAV."""
    frame = target.to_frame().loc[:, list(TARGET_COLUMNS)]
    return frame.to_csv(float_format=CSV_FLOAT_FORMAT, lineterminator="\n").encode("utf-8")


def render_summary_json(target: TargetPortfolio) -> bytes:
    """``summary.json``: status, dataset, TE, active share, groups, exposures, constraint reports."""
    return (json.dumps(target.summary(), indent=2, allow_nan=False) + "\n").encode("utf-8")


def write_run(target: TargetPortfolio, out_dir: str | Path) -> dict[str, Path]:
    """Write ``targets.csv`` and ``summary.json`` into ``out_dir`` atomically.

    Returns
    -------
    dict
        File role → path written.

    Raises
    ------
    DataError
        When ``out_dir`` exists and is not a directory, or cannot be written.
    """
    files = {"targets.csv": render_targets_csv(target), "summary.json": render_summary_json(target)}
    return write_files_atomically(Path(out_dir), files)


def write_files_atomically(out_dir: Path, files: dict[str, bytes]) -> dict[str, Path]:
    """Write every file to a temporary name in ``out_dir``, then rename all into place."""
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"output path {out_dir} exists and is not a directory")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataError(f"cannot create output directory {out_dir}: {err.strerror}") from None
    staged: dict[str, str] = {}
    try:
        for name, content in files.items():
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out_dir)
            staged[name] = tmp
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
        written = {}
        for name, tmp in staged.items():
            os.replace(tmp, out_dir / name)
            written[name] = out_dir / name
        return written
    except OSError as err:
        raise DataError(f"cannot write to {out_dir}: {err.strerror}") from None
    finally:
        for tmp in staged.values():
            if os.path.exists(tmp):
                os.unlink(tmp)


def refuse_to_overwrite(out_dir: Path, names: Iterable[str], *, force: bool) -> None:
    """Raise if any of ``names`` already exists in ``out_dir`` and ``force`` is off.

    Call it before the expensive work, so a refused run costs nothing.

    Raises
    ------
    ExportError
        Naming every existing file.
    """
    existing = [str(Path(out_dir) / name) for name in names if (Path(out_dir) / name).exists()]
    if existing and not force:
        verb = "exists" if len(existing) == 1 else "exist"
        raise ExportError(f"{', '.join(existing)} {verb}; pass --force (force=True) to overwrite")


def write_new_files(out_dir: Path, files: dict[str, bytes], *, force: bool) -> dict[str, Path]:
    """:func:`write_files_atomically`, refusing to replace an existing file unless ``force``."""
    refuse_to_overwrite(out_dir, files, force=force)
    return write_files_atomically(Path(out_dir), files)
