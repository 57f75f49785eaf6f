"""Write output files atomically: all content is rendered first, then renamed into place.

A failed write leaves nothing behind; earlier files in the directory stay untouched until
every new file has been written to a temporary name beside it. Files that exist are
refused unless the caller forces (:func:`refuse_to_overwrite`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from trimtab.models import DataError

from ._errors import OutputError

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
    OutputError
        Naming every existing file.
    """
    existing = [str(Path(out_dir) / name) for name in names if (Path(out_dir) / name).exists()]
    if existing and not force:
        verb = "exists" if len(existing) == 1 else "exist"
        raise OutputError(f"{', '.join(existing)} {verb}; pass --force (force=True) to overwrite")


def write_new_files(out_dir: Path, files: dict[str, bytes], *, force: bool) -> dict[str, Path]:
    """:func:`write_files_atomically`, refusing to replace an existing file unless ``force``."""
    refuse_to_overwrite(out_dir, files, force=force)
    return write_files_atomically(Path(out_dir), files)
