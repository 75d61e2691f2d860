"""The results table of a bench run and the summary derived from it.

``results.csv`` is tidy: one row per cell (image, frame, codec, operating
point) with the columns :data:`COLUMNS`.  Everything else a run writes is
derived from it, so a resumed run regenerates the same reports from the
appended table.

Per-image figures follow DESIGN.md section 6.  The frames of an image are
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
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mcz import metrics
from mcz.bench.bdrate import bd_rate, cr_band_to_bpp
from mcz.errors import OutputError, UsageError

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

#: References of the BD-rate table: the DICOM reference and the strongest standard anchor.
REFERENCES = ("j2k", "avif")
#: The CR band radiology societies accept for CT/MR (DESIGN.md section 6).
CR_BAND = (5.0, 25.0)


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


# --- per-image operating points ----------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One codec at one operating point on one image, its frames pooled."""

    set: str
    image_id: str
    codec: str
    point: str
    lossless: bool
    bits_stored: int  # with dtype: the storage width of CR
    bits: int  # bits of the value range R (bits_coded): what PSNR is relative to
    dtype: str
    frames: int
    bpp: float
    cr: float
    psnr: float
    ssim: float


def _pool(rows: list[dict[str, Any]]) -> Point:
    first = rows[0]
    pixels = np.array([r["rows"] * r["columns"] for r in rows], np.float64)
    nbytes = float(sum(r["bytes"] for r in rows))
    mse = float(np.dot(pixels, [r["mse"] for r in rows]) / pixels.sum())
    r_peak = float(first["data_range"])
    width = metrics.storage_bytes_per_pixel(first["bits_stored"], first["dtype"])
    return Point(
        set=first["set"],
        image_id=first["image_id"],
        codec=first["codec"],
        point=first["point"],
        lossless=bool(first["lossless"]),
        bits_stored=int(first["bits_stored"]),
        bits=int(first["bits_coded"]),
        dtype=first["dtype"],
        frames=len(rows),
        bpp=8.0 * nbytes / pixels.sum(),
        cr=pixels.sum() * width / nbytes,
        psnr=math.inf if mse == 0 else 10.0 * math.log10(r_peak**2 / mse),
        ssim=float(np.dot(pixels, [r["ssim"] for r in rows]) / pixels.sum()),
    )


def image_points(rows: Sequence[dict[str, Any]]) -> list[Point]:
    """Every (image, codec, point) with all of the image's frames coded, frames pooled."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    frames: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        groups[(row["image_id"], row["codec"], row["point"])].append(row)
        frames[row["image_id"]].add(row["frame"])
    # A point missing a frame (a failed cell) would compare codecs on different pixels.
    return [_pool(g) for (image, _, _), g in groups.items() if {r["frame"] for r in g} == frames[image]]


def pareto(points: Iterable[Point]) -> tuple[np.ndarray, np.ndarray]:
    """``(bpp, psnr)`` of the lossy points on the Pareto front, by rising rate and PSNR."""
    lossy = sorted((p.bpp, p.psnr) for p in points if not p.lossless and math.isfinite(p.psnr))
    front: list[tuple[float, float]] = []
    for rate, quality in lossy:
        if not front or quality > front[-1][1]:
            if front and rate == front[-1][0]:
                front.pop()
            front.append((rate, quality))
    return np.array([r for r, _ in front]), np.array([q for _, q in front])


def _by_image_codec(points: Iterable[Point]) -> dict[tuple[str, str], list[Point]]:
    out: dict[tuple[str, str], list[Point]] = defaultdict(list)
    for p in points:
        out[(p.image_id, p.codec)].append(p)
    return out


def codecs_in(rows: Iterable[dict[str, Any]]) -> list[str]:
    """Codec names in registry order (:data:`~mcz.bench.codecs.STANDARD_CODECS`), then the others by name."""
    from mcz.bench.codecs import STANDARD_CODECS

    order = {name: i for i, name in enumerate(STANDARD_CODECS)}
    names = {r["codec"] for r in rows}
    return sorted(names, key=lambda n: (n not in order, order.get(n, 0), n))


# --- BD-rate ----------------------------------------------------------------------------------


def _bd(curve_a, curve_b, band: tuple[float, float] | None) -> tuple[float, str]:
    try:
        result = bd_rate(curve_a[0], curve_a[1], curve_b[0], curve_b[1], rate_band=band)
    except UsageError as exc:  # too few points on a curve
        return math.nan, str(exc)
    return result.percent, result.reason


def bd_rates(points: Sequence[Point], references: Sequence[str] = REFERENCES) -> list[dict[str, Any]]:
    """BD-rate (PSNR) of every lossy codec against each reference, per image, full range and CR band.

    Returns
    -------
    list of dict
        ``set, image_id, bits, codec, reference, range, percent, reason`` (``bits`` of the range R);
        ``range`` is ``"full"`` or ``"cr 5-25"``.
    """
    curves = {key: (pareto(ps), ps[0]) for key, ps in _by_image_codec(points).items()}
    out = []
    for (image, codec), (curve, sample) in curves.items():
        if sample.lossless:
            continue
        for ref in references:
            if ref == codec or (image, ref) not in curves:
                continue
            band = cr_band_to_bpp(*CR_BAND, sample.bits_stored, sample.dtype)
            for label, rate_band in (("full", None), (f"cr {CR_BAND[0]:g}-{CR_BAND[1]:g}", band)):
                percent, reason = _bd(curve, curves[(image, ref)][0], rate_band)
                out.append(
                    {
                        "set": sample.set,
                        "image_id": image,
                        "bits": sample.bits,
                        "codec": codec,
                        "reference": ref,
                        "range": label,
                        "percent": percent,
                        "reason": reason,
                    }
                )
    return out


@dataclass(frozen=True)
class Mean:
    """A mean over images and how many images it is defined on."""

    value: float
    defined: int
    total: int

    def text(self, fmt: str = "{:+.1f} %") -> str:
        """``"-12.3 % (5/6)"``, or ``"n/a (0/6)"``."""
        shown = fmt.format(self.value) if math.isfinite(self.value) else "n/a"
        return f"{shown} ({self.defined}/{self.total})"


def mean_of(values: Sequence[float]) -> Mean:
    """Mean of the finite values, with their count out of all."""
    finite = [v for v in values if math.isfinite(v)]
    return Mean(statistics.fmean(finite) if finite else math.nan, len(finite), len(values))


def mean_bd_rates(rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str, str, str], Mean]:
    """``(set, codec, reference, range) -> Mean`` of per-image BD-rates."""
    groups: dict[tuple[str, str, str, str], list[float]] = defaultdict(list)
    for r in rows:
        groups[(r["set"], r["codec"], r["reference"], r["range"])].append(r["percent"])
    return {key: mean_of(values) for key, values in groups.items()}


def write_bd_rates(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """Write the per-image BD-rates (derived; replaced on every report)."""
    columns = ("set", "image_id", "bits", "codec", "reference", "range", "percent", "reason")
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


# --- rate at a reference PSNR, speed ----------------------------------------------------------


def reference_psnr(bits: int) -> float:
    """The PSNR at which rates are compared, by the bits of the value range R.

    40 dB up to 8 bits, 50 dB for 9-12 bits; deeper ranges keep the 12-bit error
    relative to the peak: ``50 + 20 log10((2**bits - 1) / 4095)`` dB.
    """
    if bits <= 8:
        return 40.0
    if bits <= 12:
        return 50.0
    return round(50.0 + 20.0 * math.log10(((1 << bits) - 1) / 4095), 1)


def bpp_at(curve: tuple[np.ndarray, np.ndarray], psnr: float) -> float:
    """bpp where a Pareto curve reaches ``psnr`` (log-rate linear in PSNR); NaN outside the curve."""
    rates, qualities = curve
    if rates.size == 0 or not qualities[0] <= psnr <= qualities[-1]:
        return math.nan
    return float(10 ** np.interp(psnr, qualities, np.log10(rates)))


def rates_at_reference(points: Sequence[Point]) -> dict[tuple[str, int, str], Mean]:
    """``(set, bits of R, codec) -> Mean`` bpp at :func:`reference_psnr` over the images."""
    groups: dict[tuple[str, int, str], list[float]] = defaultdict(list)
    for (_, codec), ps in _by_image_codec(points).items():
        if ps[0].lossless:
            continue
        bits = ps[0].bits
        groups[(ps[0].set, bits, codec)].append(bpp_at(pareto(ps), reference_psnr(bits)))
    return {key: mean_of(values) for key, values in groups.items()}


@dataclass(frozen=True)
class Speed:
    """Throughput of one codec over all its cells: megapixels / summed median seconds."""

    codec: str
    threads: int
    cells: int
    encode_mpps: float
    decode_mpps: float


def speeds(rows: Sequence[dict[str, Any]]) -> list[Speed]:
    """Pixel-weighted throughput per codec (each cell's time is the median of its repeats)."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[r["codec"]].append(r)
    out = []
    for codec, rs in groups.items():
        mp = sum(r["rows"] * r["columns"] for r in rs) / 1e6
        enc, dec = sum(r["encode_s"] for r in rs), sum(r["decode_s"] for r in rs)
        out.append(
            Speed(
                codec,
                int(rs[0]["threads"]),
                len(rs),
                mp / enc if enc > 0 else math.inf,
                mp / dec if dec > 0 else math.inf,
            )
        )
    return out


# --- summary.md -------------------------------------------------------------------------------


def _table(header: Sequence[str], body: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(cells) + " |" for cells in body]


def _sets(rows: Sequence[dict[str, Any]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        out[r["set"]].add(r["image_id"])
    return out


def _bd_section(rows: Sequence[dict[str, Any]], bd_rows: Sequence[dict[str, Any]]) -> list[str]:
    means = mean_bd_rates(bd_rows)
    band = f"cr {CR_BAND[0]:g}-{CR_BAND[1]:g}"
    lines = [
        "## BD-rate (PSNR), per image then averaged",
        "",
        "Negative = fewer bits than the reference for the same PSNR. Cells: mean over images (images where "
        f"it is defined / images). 'full' = the PSNR range both curves cover; '{CR_BAND[0]:g}:1-"
        f"{CR_BAND[1]:g}:1' = the PSNR the reference reaches inside that CR band. 'n/a': the curves share "
        "no PSNR range (e.g. a codec whose PSNR never reaches the reference's); bd_rates.csv gives each "
        "image's value and reason.",
        "",
    ]
    lossless = {r["codec"] for r in rows if r["lossless"]}
    for set_name, images in _sets(rows).items():
        refs = [ref for ref in REFERENCES if any(k[0] == set_name and k[2] == ref for k in means)]
        if not refs:
            lines += [
                f"### {set_name}",
                "",
                f"No reference ({', '.join(REFERENCES)}) was run on this set.",
                "",
            ]
            continue
        header = ["codec"] + [
            f"vs {ref} ({label})" for ref in refs for label in ("full", f"{CR_BAND[0]:g}:1-{CR_BAND[1]:g}:1")
        ]
        body = []
        for codec in codecs_in(r for r in rows if r["set"] == set_name):
            if codec in lossless:
                continue
            body.append(
                [codec]
                + [
                    means[(set_name, codec, ref, rng)].text()
                    if (set_name, codec, ref, rng) in means
                    else ("0 (reference)" if codec == ref else "-")
                    for ref in refs
                    for rng in ("full", band)
                ]
            )
        lines += [f"### {set_name} ({len(images)} images)", "", *_table(header, body), ""]
    return lines


def _rate_section(rows: Sequence[dict[str, Any]], points: Sequence[Point]) -> list[str]:
    rates = rates_at_reference(points)
    groups = sorted({(k[0], k[1]) for k in rates})
    if not groups:
        return []
    header = ["codec"] + [f"{s}, {b}-bit range @ {reference_psnr(b):g} dB" for s, b in groups]
    body = [
        [codec] + [rates[(s, b, codec)].text("{:.3f}") if (s, b, codec) in rates else "-" for s, b in groups]
        for codec in codecs_in(rows)
        if any(k[2] == codec for k in rates)
    ]
    return [
        "## bpp at a reference PSNR",
        "",
        "Interpolated per image on its rate-distortion curve (never extrapolated), then averaged; "
        "PSNR with the image's declared range R (e.g. 4095 for 12-bit data, also for CT stored in 16 "
        "bits as -1024..3071 HU). 40 dB for an 8-bit range, 50 dB for 9-12 bits, and deeper ranges at "
        "the 12-bit error relative to the peak.",
        "",
        *_table(header, body),
        "",
    ]


def _speed_section(rows: Sequence[dict[str, Any]], jobs: int | None) -> list[str]:
    order = {name: i for i, name in enumerate(codecs_in(rows))}
    table = sorted(speeds(rows), key=lambda s: order[s.codec])
    ref = next((s for s in table if s.codec == "j2k"), None)

    def ratio(value: float, base: float | None) -> str:
        return f"{value / base:.2f}x" if base and math.isfinite(value) else "-"

    body = [
        [
            s.codec,
            str(s.threads),
            str(s.cells),
            f"{s.encode_mpps:.2f}",
            f"{s.decode_mpps:.2f}",
            ratio(s.encode_mpps, ref.encode_mpps if ref else None),
            ratio(s.decode_mpps, ref.decode_mpps if ref else None),
        ]
        for s in table
    ]
    concurrency = f"{jobs} concurrent worker(s)" if jobs else "workers as in environment.json"
    lines = [
        "## Speed, relative to JPEG 2000 (j2k) in this run",
        "",
        f"Megapixels per second over all of a codec's cells (each time the median of its repeats; "
        f"{concurrency}; threads = threads the codec was told to use). Only the ratios are meant to be "
        "compared: absolute CPU times depend on the machine and its load.",
        "",
    ]
    if ref is None:
        lines += ["j2k was not run: no ratios.", ""]
    return (
        lines
        + _table(
            ["codec", "threads", "cells", "encode MP/s", "decode MP/s", "encode vs j2k", "decode vs j2k"],
            body,
        )
        + [""]
    )


def _lossless_section(rows: Sequence[dict[str, Any]], points: Sequence[Point]) -> list[str]:
    chosen = [p for p in points if p.lossless]
    if not chosen:
        return []
    groups: dict[tuple[str, str], list[Point]] = defaultdict(list)
    for p in chosen:
        groups[(p.set, p.codec)].append(p)
    body = [
        [
            s,
            c,
            str(len(ps)),
            f"{statistics.fmean(p.bpp for p in ps):.3f}",
            f"{statistics.fmean(p.cr for p in ps):.2f}:1",
            str(sum(p.frames for p in ps)),
        ]
        for (s, c), ps in groups.items()
    ]
    return [
        "## Lossless codecs",
        "",
        "Every frame was decoded and compared bit for bit (a mismatch fails the cell).",
        "",
        *_table(["set", "codec", "images", "mean bpp", "mean CR", "frames verified"], body),
        "",
    ]


def _match_section(rows: Sequence[dict[str, Any]]) -> list[str]:
    matched = [r for r in rows if r["mode"] == "match"]
    if not matched:
        return []
    groups: dict[tuple[str, str, str, float], list[dict[str, Any]]] = defaultdict(list)
    for r in matched:
        groups[(r["set"], r["quantity"], r["codec"], r["target"])].append(r)
    body = []
    for (s, q, c, t), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2], kv[0][3])):
        body.append(
            [
                s,
                c,
                f"{q} {t:g}",
                f"{sum(bool(r['reached']) for r in rs)}/{len(rs)}",
                f"{statistics.fmean(r['achieved'] for r in rs):.3g}",
                f"{statistics.fmean(r['bpp'] for r in rs):.3f}",
                f"{statistics.fmean(r['psnr'] for r in rs):.2f}",
                f"{statistics.fmean(r['ssim'] for r in rs):.4f}",
            ]
        )
    return [
        "## Matched targets (per frame)",
        "",
        "Each frame coded at the setting nearest to the target (1 % tolerance); 'reached' counts frames "
        "within it (targets outside a codec's range are not reached).",
        "",
        *_table(
            ["set", "codec", "target", "reached", "mean achieved", "mean bpp", "mean PSNR dB", "mean SSIM"],
            body,
        ),
        "",
    ]


def _failure_section(failures: Sequence[dict[str, str]]) -> list[str]:
    if not failures:
        return []
    body = [
        [f["image_id"], f["frame"], f["codec"], f["point"], f["error"], f["message"][:160].replace("|", "/")]
        for f in failures[:50]
    ]
    more = [f"... and {len(failures) - 50} more (failures.csv)", ""] if len(failures) > 50 else []
    return [
        f"## Failures ({len(failures)} cells, retried on resume)",
        "",
        *_table(["image", "frame", "codec", "point", "error", "message"], body),
        "",
        *more,
    ]


def summary_markdown(
    rows: Sequence[dict[str, Any]], failures: Sequence[dict[str, str]] = (), jobs: int | None = None
) -> str:
    """The markdown summary of a run's table.

    Parameters
    ----------
    rows : sequence of dict
        :func:`read_results` of ``results.csv``.
    failures : sequence of dict
        :func:`read_failures` of ``failures.csv``.
    jobs : int, optional
        Concurrent workers of the run (stated beside the speed table).

    Returns
    -------
    str
    """
    points = image_points(rows)
    bd_rows = bd_rates(points)
    sets = _sets(rows)
    lines = [
        "# mcz bench: summary",
        "",
        f"{len(rows)} cells, {sum(len(v) for v in sets.values())} images in {len(sets)} set(s) "
        f"({', '.join(f'{k}: {len(v)}' for k, v in sets.items())}); codecs: {', '.join(codecs_in(rows))}.",
        "",
        "Definitions (DESIGN.md section 6): bpp = 8 x whole file bytes (container included) / pixels; "
        "CR = uncompressed bytes at the storage width of the stored bit depth (1 byte up to 8 bits, 2 up to "
        "16) / file bytes; PSNR = 10 log10(R^2 / MSE) with R = the image's declared range "
        "(2^bits_stored - 1, or high - low of a declared window such as CT -1024..3071 HU); "
        "frames of a volume are pooled per image.",
        "",
    ]
    lines += _bd_section(rows, bd_rows) + _rate_section(rows, points) + _speed_section(rows, jobs)
    lines += _lossless_section(rows, points) + _match_section(rows) + _failure_section(failures)
    return "\n".join(lines).rstrip() + "\n"


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
        from mcz.bench.plots import plot_rd

        written += plot_rd(rows, out / "plots")
    return written
