"""Write output files atomically, one writer per directory at a time.

All content is rendered before anything touches the directory. Each file is written to a
hidden temporary name beside its target, flushed to disk, then renamed into place, in the
order given — a caller that must publish several files as one unit (a run directory) puts
its commit marker last and records the others' hashes in it. While it writes, a writer holds
an exclusive ``flock`` on the directory itself, so concurrent writers into one directory are
serialized (readers of a unit take it shared), and it deletes the temporary files a crashed
writer left behind.
Files are created with mode ``0o666`` minus the process umask, like any other program's.
Files that exist are refused unless the caller forces (:func:`refuse_to_overwrite`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path

from trimtab.models import DataError

from ._errors import OutputError

try:  # POSIX; elsewhere writers are not serialized (each file is still replaced atomically)
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

#: Suffix of the temporary files a writer stages; any left in a directory are from a crashed writer.
TEMP_SUFFIX = ".trimtab-tmp"


@contextlib.contextmanager
def directory_lock(out_dir: Path, *, shared: bool = False) -> Iterator[None]:
    """Hold the write lock of the existing directory ``out_dir`` for the ``with`` block.

    The lock is a ``flock`` on the directory itself (no lock file appears in it). Writers hold
    it exclusively; a reader that must not see a half-published set of files holds it
    ``shared``.
    """
    fd = os.open(out_dir, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def write_files_atomically(out_dir: Path, files: dict[str, bytes], *, replace: bool = True) -> dict[str, Path]:
    """Write every file to a temporary name in ``out_dir``, then rename each into place, in order.

    Parameters
    ----------
    out_dir : Path
        The directory (created if missing).
    files : dict of str to bytes
        File name → content, in the order they are to be renamed into place.
    replace : bool
        When False, refuse (:class:`OutputError`, nothing written) if any of the files
        exists — checked while holding the directory's lock, so two writers cannot both pass.

    Returns
    -------
    dict of str to Path
        File name → path written.

    Raises
    ------
    DataError
        ``out_dir`` is not a directory or cannot be written (nothing is replaced then).
    OutputError
        ``replace`` is False and a file exists.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"output path {out_dir} exists and is not a directory")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataError(f"cannot create output directory {out_dir}: {err.strerror}") from None
    staged: dict[str, Path] = {}
    try:
        with directory_lock(out_dir):
            refuse_to_overwrite(out_dir, files, force=replace)
            remove_stale_temp_files(out_dir)
            for name, content in files.items():
                staged[name] = out_dir / f".{name}.{secrets.token_hex(6)}{TEMP_SUFFIX}"
                _write_new_file(staged[name], content)
            written = {}
            for name, tmp in staged.items():
                os.replace(tmp, out_dir / name)
                written[name] = out_dir / name
            return written
    except OSError as err:
        raise DataError(f"cannot write to {out_dir}: {err.strerror}") from None
    finally:
        for tmp in staged.values():
            if tmp.exists():
                tmp.unlink()


def _write_new_file(path: Path, content: bytes) -> None:
    """Create ``path`` (mode 0o666 minus the umask), write ``content`` and flush it to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


def remove_stale_temp_files(out_dir: Path) -> list[Path]:
    """Delete the temporary files a crashed writer left in ``out_dir`` (call it holding the lock)."""
    stale = sorted(p for p in Path(out_dir).glob(f".*{TEMP_SUFFIX}") if p.is_file())
    for path in stale:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return stale


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
    return write_files_atomically(Path(out_dir), files, replace=force)
