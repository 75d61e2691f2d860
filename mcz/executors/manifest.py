"""A resumable batch manifest: one Parquet row per finished file, in a folder of part files.

Parquet files cannot be appended to, so the driver writes each flush as a new part
(``part-<ns>-<seq>.parquet``, temporary file + rename) and the folder is read as one
table; the last row of a source wins.  A restarted job skips sources whose last row is
``ok`` (same size, output present) and retries the others.  At the end of a job the
parts are compacted into one.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from mcz.errors import FormatError, require
from mcz.fsutil import atomic_path

#: Flush the rows gathered so far when this many are waiting or this many seconds have passed.
FLUSH_ROWS = 64
FLUSH_SECONDS = 2.0


@dataclass(frozen=True)
class Row:
    """One finished file (every column of the manifest)."""

    source: str
    size: int
    sha256: str | None
    output: str | None
    bpp: float | None
    ratio: float | None
    psnr: float | None
    status: str  # "ok" or "failed"
    error: str | None
    engine: str
    seconds: float
    finished: float  # Unix time


def sha256_of(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _schema():
    pa = require("pyarrow", "ray")
    types = {"source": pa.string(), "size": pa.int64(), "sha256": pa.string(), "output": pa.string(),
             "bpp": pa.float64(), "ratio": pa.float64(), "psnr": pa.float64(), "status": pa.string(),
             "error": pa.string(), "engine": pa.string(), "seconds": pa.float64(), "finished": pa.float64()}
    return pa.schema([(f.name, types[f.name]) for f in fields(Row)])


class Manifest:
    """The manifest folder ``path``: read what earlier runs finished, append what this run finishes.

    Parameters
    ----------
    path : str or os.PathLike
        A folder (created on the first flush).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._rows: list[Row] = []
        self._last_flush = time.monotonic()
        self._seq = 0

    def parts(self) -> list[Path]:
        """The part files, oldest first."""
        return sorted(self.path.glob("part-*.parquet")) if self.path.is_dir() else []

    def read(self) -> dict[str, Row]:
        """The last row of every source recorded so far."""
        pq = require("pyarrow.parquet", "ray")
        latest: dict[str, Row] = {}
        for part in self.parts():
            try:
                table = pq.read_table(part, schema=_schema())
            except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a damaged file
                raise FormatError(f"manifest part {part} is not a readable Parquet file ({exc}); expected one "
                                  "written by mcz. Move it away to redo its files") from exc
            for record in table.to_pylist():
                latest[record["source"]] = Row(**record)
        return latest

    def add(self, row: Row) -> None:
        """Record one finished file; flushes every :data:`FLUSH_ROWS` rows or :data:`FLUSH_SECONDS` seconds."""
        self._rows.append(row)
        if len(self._rows) >= FLUSH_ROWS or time.monotonic() - self._last_flush >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Write the waiting rows as a new part (atomically)."""
        if self._rows:
            self._write(self._rows)
            self._rows = []
        self._last_flush = time.monotonic()

    def _write(self, rows: Iterable[Row]) -> Path:
        pa = require("pyarrow", "ray")
        pq = require("pyarrow.parquet", "ray")
        self.path.mkdir(parents=True, exist_ok=True)
        self._seq += 1
        part = self.path / f"part-{time.time_ns():020d}-{os.getpid()}-{self._seq:06d}.parquet"
        table = pa.Table.from_pylist([asdict(r) for r in rows], schema=_schema())
        with atomic_path(part) as tmp:
            pq.write_table(table, tmp)
        return part

    def compact(self) -> None:
        """Replace the parts by one holding the last row of every source."""
        self.flush()
        old = self.parts()
        if len(old) < 2:
            return
        self._write(self.read().values())
        for part in old:
            part.unlink()
