"""Atomic, non-clobbering file output shared by every writer in mcz."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from mcz.errors import OutputError


def _read_umask() -> int:
    # os.umask can only be read by setting it; do it once, at import, before any threads.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def check_writable(path: Path, overwrite: bool) -> None:
    """Refuse to replace an existing file unless asked to."""
    if path.exists() and not overwrite:
        raise OutputError(
            f"output {path} already exists; expected a new path. Pass --force "
            "(overwrite=True) to replace it, or choose another output"
        )
    if not path.parent.is_dir():
        raise OutputError(f"output folder {path.parent} does not exist; create it first")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place on success.

    A crash, an exception or a full disk leaves no half-written output behind: the
    temporary file is removed and ``path`` is untouched.
    """
    target = Path(path)
    check_writable(target, overwrite)
    # The temporary name ends with the target's own name so that writers which pick
    # the format from the suffix (nibabel, imageio) see ".nii.gz", ".png", ...
    fd, tmp_name = tempfile.mkstemp(prefix=".mcz-tmp-", suffix=f"-{target.name}", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp creates 0600 files; give the output the mode a plain open() would.
        os.chmod(tmp, 0o666 & ~_UMASK)
        if target.exists() and not overwrite:  # appeared while we were writing
            raise OutputError(f"output {target} appeared while writing; not overwritten (use --force)")
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OutputError):
            raise
        raise OutputError(f"could not write {target}: {exc.strerror or exc}; check the path and free space") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes, overwrite: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file + rename)."""
    with atomic_path(path, overwrite) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_with(path: str | os.PathLike, writer: Callable[[Path], None], overwrite: bool = False) -> Path:
    """Let ``writer`` fill a temporary file, then rename it to ``path``."""
    with atomic_path(path, overwrite) as tmp:
        writer(tmp)
    return Path(path)
