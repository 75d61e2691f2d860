"""Outputs named by an fsspec URL (``s3://bucket/key.mcz``, ``gs://...``, ``file:///...``, ``memory://...``).

mcz codes into a local file first and then uploads it whole, so every writer in mcz stays a local
one. An upload never leaves a partial file under the final name: on an object store (S3, GCS,
Azure, ...) one ``put_file`` to the final key, whose object appears only once complete; on a file
system with folders (``file://``, SFTP, ...) a temporary name in the same folder, renamed into
place. fsspec is imported only when a URL is used; a protocol whose implementation is not
installed (``s3://`` without s3fs) is a :class:`~mcz.errors.UsageError` naming the package.
"""

from __future__ import annotations

import contextlib
import posixpath
import re
import tempfile
import uuid
from pathlib import Path
from typing import Any

from mcz.errors import OutputError, UsageError, require

#: Protocols whose single ``put_file`` is atomic (an object is visible only when complete) and which
#: have no real folders: no temporary name, no rename (a rename there is a copy), no ``makedirs``.
OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "oci", "oss", "r2", "tos"})

# A scheme of two characters or more: "C://x" is a Windows drive, not a URL.
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+)://")


def is_url(text: str | Path | None) -> bool:
    """Whether ``text`` names an fsspec URL (``scheme://...``, ``file://`` included), not a local path.

    Parameters
    ----------
    text : str, pathlib.Path or None
        An output as given on the command line; a ``Path`` is always local.

    Returns
    -------
    bool
        True for ``s3://b/k``, ``file:///tmp/x``, ``memory://x``; False for ``out/``, ``C:\\x``, ``-``.
    """
    return isinstance(text, str) and _URL.match(text) is not None


def scheme(url: str) -> str:
    """The protocol of ``url``, lower case (``"s3"`` for ``s3://bucket/key``)."""
    match = _URL.match(url)
    if match is None:
        raise UsageError(f"found {url!r}; expected a URL such as s3://bucket/key")
    return match.group(1).lower()


def name(url: str) -> str:
    """The last part of ``url``'s path (``a.mcz`` for ``s3://b/x/a.mcz``)."""
    return url.rstrip("/").rsplit("/", 1)[-1]


def join(url: str, *parts: str) -> str:
    """``url`` with path parts appended, ``/``-separated (URLs never take the OS separator)."""
    return "/".join([url.rstrip("/"), *(p.strip("/") for p in parts if p not in ("", "."))])


def filesystem(url: str) -> tuple[Any, str]:
    """The fsspec file system of ``url`` and the path inside it.

    Raises
    ------
    UsageError
        The protocol is unknown to fsspec, or its implementation is not installed
        (the message names the package to ``pip install``).
    MissingDependencyError
        fsspec itself is not installed.
    """
    fsspec = require("fsspec", "ray")
    protocol = scheme(url)
    if protocol not in fsspec.available_protocols():
        raise UsageError(f"output {url}: fsspec knows no {protocol}:// file system; expected a local path or a "
                         "URL such as s3://bucket/folder (s3fs), gs:// (gcsfs), az:// (adlfs) or file://")
    try:
        return fsspec.core.url_to_fs(url)
    except ImportError as exc:  # fsspec knows the protocol; the package that implements it is missing
        raise UsageError(f"output {url}: the {protocol}:// file system is not installed ({exc}); expected its "
                         f"fsspec implementation. Install it with: pip install {_package(protocol)}") from exc


def _package(protocol: str) -> str:
    """The package that implements ``protocol`` for fsspec (``s3fs`` for ``s3``)."""
    known = require("fsspec.registry", "ray").known_implementations
    return str(known.get(protocol, {}).get("class", protocol)).split(".")[0]


def exists(target: str | Path) -> bool:
    """Whether a local path or a URL names an existing file or folder."""
    if not is_url(target):
        return Path(target).exists()
    fs, path = filesystem(str(target))
    return bool(_call(fs.exists, str(target), path))


def is_dir(target: str | Path) -> bool:
    """Whether a local path or a URL names an existing folder (on an object store: a prefix with objects)."""
    if not is_url(target):
        return Path(target).is_dir()
    fs, path = filesystem(str(target))
    return bool(_call(fs.isdir, str(target), path))


def read_bytes(target: str | Path) -> bytes:
    """The bytes of a local file or of the file a URL names."""
    if not is_url(target):
        return Path(target).read_bytes()
    fs, path = filesystem(str(target))
    return bytes(_call(fs.cat_file, str(target), path))


def check_new(url: str, overwrite: bool) -> None:
    """Refuse an existing file at ``url`` before any coding work (the upload refuses it again).

    An existing folder passes: a series decodes into one, and each of its files is checked.
    """
    fs, path = filesystem(url)
    if not overwrite and _call(fs.exists, url, path) and not _call(fs.isdir, url, path):
        raise _exists_error(url)


def upload(local: str | Path, url: str, overwrite: bool = False) -> str:
    """Copy a local file (or every file of a local folder) to ``url``, never leaving a partial file there.

    Parameters
    ----------
    local : str or pathlib.Path
        The file written by mcz; a folder (a decoded DICOM series) is uploaded file by file.
    url : str
        The destination, ``scheme://...``.
    overwrite : bool
        Replace an existing file (``--force``); otherwise an existing one is an :class:`OutputError`.

    Returns
    -------
    str
        ``url``.
    """
    fs, path = filesystem(url)
    local = Path(local)
    if local.is_dir():
        for file in sorted(p for p in local.rglob("*") if p.is_file()):
            relative = file.relative_to(local).as_posix()
            _put(fs, file, join(path, relative), join(url, relative), overwrite)
    else:
        _put(fs, local, path, url, overwrite)
    return url


def write_bytes(url: str, data: bytes, overwrite: bool = False) -> str:
    """Upload ``data`` as the file ``url`` (as :func:`upload` does a local file)."""
    with tempfile.TemporaryDirectory(prefix="mcz-upload-") as folder:
        local = Path(folder) / (name(url) or "data")
        local.write_bytes(data)
        return upload(local, url, overwrite)


def _put(fs: Any, local: Path, path: str, url: str, overwrite: bool) -> None:
    """One file to ``path``: refused if it exists (unless ``overwrite``); atomic as the store allows."""
    if _call(fs.exists, url, path):
        if not overwrite:
            raise _exists_error(url)
        if _call(fs.isdir, url, path):
            raise OutputError(f"output {url} is a folder; expected a file name. Choose another output")
    if scheme(url) in OBJECT_STORES:
        _call(fs.put_file, url, str(local), path)
        return
    parent = posixpath.dirname(path)
    _call(fs.makedirs, url, parent, exist_ok=True)
    tmp = posixpath.join(parent, f".mcz-tmp-{uuid.uuid4().hex}-{posixpath.basename(path)}")
    try:
        _call(fs.put_file, url, str(local), tmp)
        if not overwrite and _call(fs.exists, url, path):  # appeared while we were uploading
            raise OutputError(f"output {url} appeared while uploading; not overwritten (use --force)")
        _call(fs.mv, url, tmp, path)
    except BaseException:
        with contextlib.suppress(Exception):  # the temporary may not exist; the first error is the one to report
            if fs.exists(tmp):
                fs.rm_file(tmp)
        raise


def _call(method: Any, url: str, *args: Any, **kwargs: Any) -> Any:
    """``method(*args)`` with an I/O failure as an :class:`OutputError` naming ``url``."""
    try:
        return method(*args, **kwargs)
    except OutputError:
        raise
    except OSError as exc:  # s3fs and gcsfs raise OSError subclasses (PermissionError, FileNotFoundError)
        raise OutputError(f"{url}: {exc}; expected a reachable, writable location. Check the URL, the "
                          "credentials and the network") from exc


def _exists_error(url: str) -> OutputError:
    # Worded for the command line (--force), the only caller: a batch's failure lines are printed as raised.
    return OutputError(f"output {url} already exists; expected a new path. Pass --force to replace it, "
                       "or choose another output")
