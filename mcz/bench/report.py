"""The results table of a bench run and the summary derived from it.

``results.csv`` is tidy: one row per cell (image, frame, codec, operating
point) with the columns :data:`COLUMNS`.  Everything else a run writes is
derived from it, so a resumed run regenerates the same reports from the
appended table.

Per-image figures follow docs/references.md.  The frames of an image are
pooled at each operating point (bpp from the summed bytes and pixels, PSNR from
the pixel-weighted mean MSE, SSIM pixel-weighted), so a volume counts as one
image.  An image's rate-distortion curve is the Pareto front of its lossy points
(no point with fewer bits has a higher PSNR), which makes PSNR strictly rise with
rate as BD-rate needs.  BD-rates (:func:`mcz.bench.bdrate.bd_rate`, PCHIP) and
the bpp at a reference PSNR (log-rate interpolated linearly in PSNR, never
extrapolated) are computed per image, then averaged over the images where they
are defined; the count is printed beside every mean.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from mcz.bench.aggregate import bd_rates
from mcz.bench.plots import plot_rd
from mcz.bench.points import image_points
from mcz.bench.summary import summary_markdown
from mcz.errors import OutputError, UsageError

__all__ = [
    "BD_RATES",
    "COLUMNS",
    "FAILURES",
    "FAILURE_COLUMNS",
    "RESULTS",
    "SUMMARY",
    "append_rows",
    "cell_key",
    "open_failures",
    "read_failures",
    "read_results",
    "write_bd_rates",
    "write_reports",
]

RESULTS = "results.csv"
FAILURES = "failures.csv"
BD_RATES = "bd_rates.csv"
SUMMARY = "summary.md"

#: Columns of ``results.csv``, in order.
COLUMNS = (
    "image_id",
    "set",
    "source",
    "frame",
    "rows",
    "columns",
    "dtype",
    "bits_stored",
    "bits_coded",
    "data_range",
    "codec",
    "library",
    "version",
    "notes",
    "threads",
    "lossless",
    "point",
    "mode",
    "setting",
    "quantity",
    "target",
    "achieved",
    "reached",
    "evaluations",
    "bytes",
    "bpp",
    "cr",
    "mse",
    "psnr",
    "psnr_own_range",
    "ssim",
    "ms_ssim",
    "ms_ssim_note",
    "max_abs_error",
    "entropy",
    "entropy_original",
    "repeats",
    "encode_s",
    "decode_s",
    "encode_mpps",
    "decode_mpps",
)
_INTS = {
    "frame",
    "rows",
    "columns",
    "bits_stored",
    "bits_coded",
    "threads",
    "evaluations",
    "bytes",
    "repeats",
}
_BOOLS = {"lossless", "reached"}
_TEXT = {
    "image_id",
    "set",
    "source",
    "dtype",
    "codec",
    "library",
    "version",
    "notes",
    "point",
    "mode",
    "quantity",
    "ms_ssim_note",
}

FAILURE_COLUMNS = ("image_id", "frame", "codec", "point", "error", "message")


def cell_key(row: dict[str, Any]) -> tuple[str, str, str, str]:
    """``(image_id, frame, codec, point)``: what identifies a cell across runs."""
    return str(row["image_id"]), str(row["frame"]), str(row["codec"]), str(row["point"])


# --- the table --------------------------------------------------------------------------------


def _check_header(path: Path, expected: Sequence[str]) -> None:
    with open(path, newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), None)
    if header is not None and tuple(header) != tuple(expected):
        raise OutputError(
            f"{path} has columns {header[:4]}... that differ from this version's {list(expected[:4])}...; "
            "it was written by another version of mcz bench. Use a new --out folder"
        )


def append_rows(path: Path, rows: Iterable[dict[str, Any]], columns: Sequence[str] = COLUMNS) -> None:
    """Append rows to a CSV table, writing the header first if the file is new.

    Parameters
    ----------
    path : pathlib.Path
        ``results.csv`` (or ``failures.csv`` with :data:`FAILURE_COLUMNS`).
    rows : iterable of dict
        Values by column; missing columns are left empty, extra keys are an error.
    columns : sequence of str
        The table's columns.

    Raises
    ------
    OutputError
        The existing file has other columns.
    """
    new = not path.exists() or path.stat().st_size == 0
    if not new:
        _check_header(path, columns)
    with open(path, "a", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="raise")
        if new:
            writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        handle.flush()  # a killed run keeps every finished row: resuming relies on it


def _parse(column: str, text: str) -> Any:
    if column in _TEXT:
        return text
    if text == "":
        return None
    if column in _BOOLS:
        return text == "True"
    if column in _INTS:
        return int(float(text))
    return float(text)  # "inf" and "nan" included


def read_results(path: Path) -> list[dict[str, Any]]:
    """Rows of ``results.csv`` with typed values (empty cells are None); [] if it does not exist."""
    if not path.exists():
        return []
    _check_header(path, COLUMNS)
    with open(path, newline="", encoding="utf-8") as handle:
        return [{k: _parse(k, v) for k, v in row.items()} for row in csv.DictReader(handle)]


def drop_rows(path: Path, keep: Callable[[dict[str, Any]], bool]) -> tuple[list[dict[str, Any]], int]:
    """The rows of ``results.csv`` that ``keep`` accepts, and how many it refused; the file is
    rewritten (atomically) without the refused ones. No file: no rows."""
    rows = read_results(path)
    kept = [r for r in rows if keep(r)]
    if len(kept) < len(rows):
        tmp = path.with_name(path.name + ".tmp")
        tmp.unlink(missing_ok=True)
        append_rows(tmp, kept)
        os.replace(tmp, path)  # a killed run leaves the old table or the new one, never half of one
    return kept, len(rows) - len(kept)


def open_failures(failures: Sequence[dict[str, str]], rows: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """The failures not since coded by a resumed run, the latest per cell."""
    done = {cell_key(r) for r in rows}
    latest = {cell_key(f): f for f in failures}
    return [f for key, f in latest.items() if key not in done]


def read_failures(path: Path) -> list[dict[str, str]]:
    """Rows of ``failures.csv``; [] if there is none."""
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_bd_rates(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """Write the per-image BD-rates (derived; replaced on every report)."""
    columns = ("set", "image_id", "bits", "codec", "reference", "range", "percent", "reason")
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def write_reports(out: Path, *, plot: bool = True, jobs: int | None = None) -> list[Path]:
    """Regenerate the derived files of a run folder from its ``results.csv``.

    Parameters
    ----------
    out : pathlib.Path
        The run folder.
    plot : bool
        Also draw the rate-distortion plots (:mod:`mcz.bench.plots`).
    jobs : int, optional
        Concurrent workers, stated in the summary.

    Returns
    -------
    list of pathlib.Path
        The files written: ``summary.md``, ``bd_rates.csv`` and the plots.
    """
    rows = read_results(out / RESULTS)
    if not rows:
        raise UsageError(f"{out / RESULTS} has no results; run the benchmark first")
    bd_path, summary_path = out / BD_RATES, out / SUMMARY
    write_bd_rates(bd_path, bd_rates(image_points(rows)))
    failures = open_failures(read_failures(out / FAILURES), rows)
    summary_path.write_text(summary_markdown(rows, failures, jobs), encoding="utf-8")
    written = [summary_path, bd_path]
    if plot:
        written += plot_rd(rows, out / "plots")
    return written
