"""The benchmark runner: every codec, every operating point, every frame, in one tidy table.

A *cell* is (image, frame, codec, operating point).  The operating point is a
setting of a quality sweep (:func:`sweep`), or a target of a ratio / bpp / PSNR
match (:func:`mcz.bench.matching.match`, one search per frame), or the single
point of a lossless codec.  Every cell is coded and measured by
:func:`mcz.bench.measure.measure` (rate of the whole codestream or ``.mcz``
file, fidelity with the explicit ``R`` of the image, median encode/decode time)
and appended to ``results.csv`` as soon as it finishes, so an interrupted run
resumes where it stopped: cells whose key (image id, frame, codec, point) is in
the table are skipped.  A failing cell goes to ``failures.csv`` and the run goes
on (it is retried on resume).

mcz itself enters the comparison through :func:`mcz_codec`: each installed model
(weights in the checkpoint zoo) at every quality it offers, each frame coded as
its own image with :func:`mcz.api.encode` and measured on the whole ``.mcz``
file, container included.

Files of a run folder (``--out``):

``results.csv``      one row per cell (:data:`mcz.bench.report.COLUMNS`), appended
``failures.csv``     cells that raised, appended (only if any)
``environment.json`` ``{"runs": [...]}``: one record per invocation (versions, settings, machine)
``bd_rates.csv``     per-image BD-rates against j2k and avif (derived)
``summary.md``       BD-rate, bpp at 40/50 dB, speed ratios vs j2k, lossless, matches (derived)
``plots/``           PSNR-bpp and SSIM-bpp per set and bit depth, PNG + SVG (derived)

The committed reference results are regenerated with (hours on 2 cores; each
command is resumable, so an interrupted one is simply run again)::

    mcz bench br35h:test --out bench/results/reference-br35h-8bit
    mcz bench ctmr:test --max-frames 16 --out bench/results/reference-ctmr-12bit
    mcz bench pydicom-data --out bench/results/reference-pydicom-data
    mcz bench br35h:test --match ratio --codecs j2k,avif,jpeg,mcz \\
        --out bench/results/reference-br35h-ratios

The first three use the default codecs (the standard lossy and lossless set and
every installed mcz model), the last one the 13 compression ratios of the seed
paper (:data:`PAPER_RATIOS`).  They run one cell at a time (``-j 1``) so that the
speed ratios are not disturbed by a concurrent cell; ``-j 2`` halves the wall time
when only rate and fidelity matter.  ``mcz bench --quick`` is a two-minute smoke run.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
import platform
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mcz.bench import report
from mcz.bench.codecs import STANDARD_CODECS, Codec, Settings, coding_bits, get_codec
from mcz.bench.matching import match
from mcz.bench.measure import measure
from mcz.bench.sets import BenchImage, Frames, load_frames
from mcz.errors import UsageError
from mcz.fsutil import atomic_write_bytes

#: Codecs of a run when none are named: the standard lossy and lossless set, and every installed mcz model.
DEFAULT_CODECS = (
    "jpeg",
    "j2k",
    "htj2k",
    "jpegls",
    "jxl",
    "avif",
    "webp",
    "j2k-lossless",
    "jpegls-lossless",
    "jxl-lossless",
    "mcz",
)

#: Compression ratios of the seed paper's JPEG 2000 table (shared/papers/000, Table 2), lossy ones.
PAPER_RATIOS = (1.72, 2.58, 3.45, 4.33, 6.42, 8.67, 12.78, 16.99, 25.35, 33.99, 41.88, 59.14, 81.94)

#: ``--match`` names and the quantity :func:`mcz.bench.matching.match` calls them.
MATCH_QUANTITIES = {"ratio": "cr", "bpp": "bpp", "psnr": "psnr"}

#: Default bpp targets of ``--match bpp``.
BPP_TARGETS = (0.1, 0.25, 0.5, 1.0, 2.0)
#: Default PSNR targets of ``--match psnr`` for 8-bit data; deeper data add the 40 -> 50 dB step.
PSNR_TARGETS_8BIT = (30.0, 35.0, 40.0, 45.0)

MCZ_PREFIX = "mcz:"
#: Qualities (latent bits) of the cae family swept by default, inside each model's own range.
MCZ_QUALITIES = (2, 8)


class NoModelWarning(UserWarning):
    """``mcz`` was asked for, but no mcz model has installed weights."""


# --- mcz as a codec ---------------------------------------------------------------------------


def mcz_codec(model_id: str) -> Codec:
    """An installed mcz model behind the benchmark's :class:`~mcz.bench.codecs.Codec` contract.

    The frame (unsigned, ``bits`` stored) is coded as one image by
    :func:`mcz.api.encode` without metadata, as standard codestreams carry none;
    the rate is the whole ``.mcz`` file (signature, header, CRCs, tiles).  Coding
    the shifted unsigned frame instead of the signed source changes only the
    intensity numbers in the header (a few bytes): the network sees the frame's
    own min..max window either way (:func:`mcz.codec.engine.coding_window`).

    Parameters
    ----------
    model_id : str
        A model with weights (``mcz models``).

    Returns
    -------
    Codec
        Named ``"mcz:<model_id>"``; setting = quality (latent bits), integer.

    Raises
    ------
    ModelError
        Unknown model or no installed weights.
    """
    from mcz.codec import engine, zoo

    entry = zoo.find_checkpoint(model_id)
    engine.load_codec(model_id)  # verify and load the weights now, not inside the first timed encode
    spec = entry.spec
    lo, hi = spec.quality_range
    settings = Settings(
        lo, hi, spec.quantiser_bits, f"mcz quality: latent quantisation bits ({spec.family})", integer=True
    )
    return Codec(
        name=MCZ_PREFIX + model_id,
        library="mcz (mcz.api.encode / mcz.api.decode)",
        settings=settings,
        lossless=False,
        encoder=_mcz_encoder(model_id),
        decoder=_mcz_decode,
        version_of=lambda: _mcz_version(entry.sha256),
        bits=(1, 16),
        threads=engine.CODEC_THREADS,  # the engine pins its convolutions so that decodes repeat exactly
        notes=f"{spec.family} {spec.config.get('channels')}, tile {spec.tile}; whole .mcz file, no metadata "
        "chunk; decode verifies the reconstruction digest",
    )


def _mcz_encoder(model_id: str) -> Callable[[np.ndarray, int, float], bytes]:
    def encode(frame: np.ndarray, bits: int, quality: float) -> bytes:
        from mcz import api
        from mcz.io import from_array

        image = from_array(frame, bits_stored=bits, signed=False)
        return api.encode(image, model=model_id, quality=int(quality), metadata="none")

    return encode


def _mcz_decode(data: bytes, _bits: int | None) -> np.ndarray:
    from mcz import api

    return api.decode(data)  # verify=True: a digest mismatch fails the cell


def _mcz_version(sha256: str) -> str:
    import torch

    from mcz import __version__

    return f"mcz {__version__}; weights sha256 {sha256[:12]}; torch {torch.__version__}"


def is_mcz(codec: Codec) -> bool:
    """Whether ``codec`` is an mcz model (:func:`mcz_codec`)."""
    return codec.name.startswith(MCZ_PREFIX)


def resolve_codecs(names: Sequence[str] | None = None) -> list[Codec]:
    """Codecs by name: standard ones, ``mcz:<model>``, or ``mcz`` for every installed model.

    Parameters
    ----------
    names : sequence of str, optional
        Default :data:`DEFAULT_CODECS`.

    Returns
    -------
    list of Codec
        In the order given, each once.

    Raises
    ------
    UsageError
        An unknown standard codec name.
    ModelError
        ``mcz:<model>`` without installed weights.

    Warns
    -----
    NoModelWarning
        ``mcz`` was given and no model has weights.
    """
    out: dict[str, Codec] = {}
    for name in names or DEFAULT_CODECS:
        name = name.strip()
        if name == "mcz":
            for codec in _installed_mcz():
                out.setdefault(codec.name, codec)
        elif name.startswith(MCZ_PREFIX):
            out.setdefault(name, mcz_codec(name[len(MCZ_PREFIX) :]))
        elif name:
            out.setdefault(name, get_codec(name))
    if not out:
        raise UsageError(
            f"found no codec in {list(names or ())}; expected names from "
            f"{', '.join(STANDARD_CODECS)}, mcz or mcz:<model>"
        )
    return list(out.values())


def _installed_mcz() -> list[Codec]:
    from mcz.codec import zoo

    ids = sorted(zoo.available_ids())
    if not ids:
        warnings.warn(
            "no mcz model has installed weights (`mcz models`); mcz is left out of this run",
            NoModelWarning,
            stacklevel=3,
        )
    return [mcz_codec(i) for i in ids]


# --- operating points -------------------------------------------------------------------------

# Relative-quality settings: the same list at every bit depth (the libraries scale them).
_QUALITY_SWEEPS: dict[str, tuple[float, ...]] = {
    "jpeg": (3, 5, 10, 20, 30, 50, 70, 85, 95),
    "jpeg-interp": (3, 5, 10, 20, 30, 50, 70, 85, 95),
    "avif": (0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99),
    "jxl": (0, 10, 30, 50, 70, 80, 85, 90, 95, 98, 99.9),
    "webp": (0, 10, 30, 50, 70, 85, 95, 100),
}
# PSNR targets (dB against 2**bits - 1) for 8-bit data, every 4 dB; deeper data see _raw_sweep.
_PSNR_LOW, _PSNR_HIGH, _PSNR_STEP = 20.0, 56.0, 4.0
_PSNR_CODECS = ("j2k", "j2k-interp")
# Precision p (quantisation step 2**(bits - p)): the step relative to the peak matters.
_PRECISION_CODECS = ("htj2k", "wavelet")
# JPEG-LS NEAR for 8-bit data; deeper data scale it by 2**(bits - 8) and add small NEARs.
_NEAR_8BIT = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96)


def _raw_sweep(codec: Codec, bits: int) -> list[float]:
    name = codec.name
    if is_mcz(codec):
        return list(range(MCZ_QUALITIES[0], MCZ_QUALITIES[1] + 1))
    if name in _QUALITY_SWEEPS:
        return list(_QUALITY_SWEEPS[name])
    if name in _PSNR_CODECS:
        # 20-56 dB spans ~0.05-4 bpp at 8 bits. Deeper data reach further at both ends: the
        # near-lossless end by the whole peak ratio, the low end by half of it (measured: a 12-bit
        # CT slice codes at 0.23 bpp at 48 dB and 4 bpp at 86 dB).
        shift = 20 * math.log10(((1 << bits) - 1) / 255)
        return [round(t, 1) for t in np.arange(_PSNR_LOW + shift / 2, _PSNR_HIGH + shift + 1e-9, _PSNR_STEP)]
    if name in _PRECISION_CODECS:
        return list(range(1, max(9, bits - 1)))
    if name == "jpegls":
        scale = 1 << max(0, bits - 8)
        nears = {n * scale for n in _NEAR_8BIT} | {1 << k for k in range(max(0, bits - 8))}
        return sorted(-float(n) for n in nears)
    low, high = codec.span(bits)  # an unlisted codec: 9 points across its range
    return list(np.linspace(low, high, 9))


def thin(values: Sequence[float], points: int | None) -> list[float]:
    """At most ``points`` of ``values``, evenly spaced and keeping both ends."""
    if points is None or points >= len(values):
        return list(values)
    if points < 1:
        raise UsageError(f"found points={points}; expected at least 1")
    if points == 1:
        return [values[len(values) // 2]]
    return [values[i] for i in sorted({round(k * (len(values) - 1) / (points - 1)) for k in range(points)})]


def sweep(codec: Codec, bits: int, points: int | None = None) -> list[float | None]:
    """Default settings of ``codec`` for ``bits``-bit frames, lowest quality first.

    The lists span about 0.05-4 bpp on 8-bit images and the equivalent on deeper
    ones: relative-quality settings (JPEG, AVIF, JPEG XL, WebP, mcz) are the same at
    every depth; PSNR targets (JPEG 2000) run every 4 dB from ``20 + s/2`` to
    ``56 + s`` dB with ``s = 20 log10((2**bits - 1) / 255)``; precision (HTJ2K,
    wavelet) runs from 1 to ``max(8, bits - 2)`` and JPEG-LS NEAR scales with
    ``2**(bits - 8)``.  Values outside :meth:`Codec.span` are dropped.

    Parameters
    ----------
    codec : Codec
        Any codec (a lossless one has the single point None).
    bits : int
        Coded bit depth (:func:`~mcz.bench.codecs.coding_bits`).
    points : int, optional
        At most this many settings (:func:`thin`).

    Returns
    -------
    list of float or None
    """
    if codec.lossless:
        return [None]
    low, high = codec.span(bits)
    values = sorted(
        {float(round(v)) if codec.settings.integer else float(v) for v in _raw_sweep(codec, bits)}
    )
    return thin([v for v in values if low <= v <= high], points)


def default_targets(quantity: str, bits: int) -> tuple[float, ...]:
    """Targets of ``--match`` when none are given.

    ``ratio``: :data:`PAPER_RATIOS`; ``bpp``: :data:`BPP_TARGETS`; ``psnr``:
    :data:`PSNR_TARGETS_8BIT` for up to 8 bits, 10 dB higher for deeper data
    (as :func:`mcz.bench.report.reference_psnr` goes from 40 to 50 dB).
    """
    if quantity == "ratio":
        return PAPER_RATIOS
    if quantity == "bpp":
        return BPP_TARGETS
    if quantity == "psnr":
        return PSNR_TARGETS_8BIT if bits <= 8 else tuple(t + 10 for t in PSNR_TARGETS_8BIT)
    raise UsageError(f"found match {quantity!r}; expected one of {', '.join(MATCH_QUANTITIES)}")


# --- cells ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunOptions:
    """What a run codes and how.

    Attributes
    ----------
    codecs : list of Codec
        From :func:`resolve_codecs`.
    match : str, optional
        ``"ratio"``, ``"bpp"`` or ``"psnr"``: match targets instead of sweeping settings.
    targets : tuple of float, optional
        Match targets; default :func:`default_targets`.
    points : int, optional
        At most this many sweep settings per codec.
    repeats : int
        Timed encodes and decodes per cell (medians reported).
    jobs : int
        Cells coded concurrently (threads).
    max_frames : int, optional
        Evenly spaced frames per volume.
    crop : int, optional
        Centre crop of every frame (pixels per side).
    tolerance : float
        Relative tolerance of a match.
    """

    codecs: list[Codec]
    match: str | None = None
    targets: tuple[float, ...] | None = None
    points: int | None = None
    repeats: int = 3
    jobs: int = 1
    max_frames: int | None = None
    crop: int | None = None
    tolerance: float = 0.01

    def __post_init__(self) -> None:
        if self.match is not None and self.match not in MATCH_QUANTITIES:
            raise UsageError(f"found match {self.match!r}; expected one of {', '.join(MATCH_QUANTITIES)}")
        if self.targets is not None and not all(math.isfinite(t) and t > 0 for t in self.targets):
            raise UsageError(f"found targets {self.targets}; expected positive numbers")
        if self.repeats < 1 or self.jobs < 1:
            raise UsageError(f"found repeats={self.repeats}, jobs={self.jobs}; expected at least 1 each")


@dataclass(frozen=True)
class Cell:
    """One codec at one operating point on one frame of an image."""

    image: BenchImage
    position: int  # index into Frames.pixels
    frame: int  # frame number in the source
    codec: Codec
    setting: float | None = None
    target: float | None = None  # match mode: the target ...
    quantity: str | None = None  # ... of this quantity ("cr", "bpp", "psnr")

    @property
    def point(self) -> str:
        """The operating point as written in the table: ``lossless``, ``50``, ``ratio=10``."""
        if self.codec.lossless:
            return "lossless"
        if self.target is not None:
            return f"{_match_name(self.quantity)}={self.target:g}"
        return f"{self.setting:g}"

    @property
    def key(self) -> tuple[str, str, str, str]:
        """:func:`mcz.bench.report.cell_key` of this cell."""
        return self.image.id, str(self.frame), self.codec.name, self.point


def _match_name(quantity: str | None) -> str:
    return {v: k for k, v in MATCH_QUANTITIES.items()}.get(quantity or "", str(quantity))


def applicable(codec: Codec, bits: int) -> bool:
    """Whether ``codec`` codes ``bits``-bit frames at all (e.g. WebP: 8 bits only)."""
    return codec.bits[0] <= bits <= codec.bits[1]


def plan_cells(image: BenchImage, frames: Frames, options: RunOptions) -> tuple[list[Cell], int]:
    """Every cell of one image, and how many (codec, frame) pairs the codecs cannot code.

    Parameters
    ----------
    image : BenchImage
        The image.
    frames : Frames
        Its frames chosen for the run (:func:`mcz.bench.sets.load_frames`).
    options : RunOptions
        Codecs and operating points.

    Returns
    -------
    (list of Cell, int)
    """
    bits = coding_bits(frames.intensity)
    cells, skipped = [], 0
    quantity = MATCH_QUANTITIES.get(options.match or "")
    for codec in options.codecs:
        if not applicable(codec, bits):
            skipped += len(frames.indices)
            continue
        for position, frame in enumerate(frames.indices):
            if codec.lossless:
                cells.append(Cell(image, position, frame, codec))
            elif quantity is not None:
                for target in options.targets or default_targets(options.match, bits):
                    cells.append(Cell(image, position, frame, codec, target=float(target), quantity=quantity))
            else:
                cells += [Cell(image, position, frame, codec, s) for s in sweep(codec, bits, options.points)]
    return cells, skipped


_MCZ_LOCK = threading.Lock()


def run_cell(cell: Cell, frames: Frames, options: RunOptions) -> dict[str, Any]:
    """Code and measure one cell; returns its ``results.csv`` row.

    mcz cells run one at a time: the engine sets torch's process-wide thread
    count while it codes, and two models changing it under each other would
    change the network's float output and fail the reconstruction digest.
    """
    frame = frames.pixels[cell.position]
    guard = _MCZ_LOCK if is_mcz(cell.codec) else contextlib.nullcontext()
    with guard:
        extra: dict[str, Any] = {"mode": "sweep"}
        setting = cell.setting
        if cell.target is not None:
            found = match(
                cell.codec, frame, frames.intensity, cell.quantity, cell.target, tolerance=options.tolerance
            )
            setting = found.setting
            extra = {
                "mode": "match",
                "quantity": _match_name(found.quantity),
                "target": found.target,
                "achieved": found.achieved,
                "reached": found.reached,
                "evaluations": found.evaluations,
            }
        elif cell.codec.lossless:
            extra = {"mode": "lossless"}
        measured = measure(cell.codec, frame, frames.intensity, setting, repeats=options.repeats)
    row = {k: measured[k] for k in report.COLUMNS if k in measured}
    return {
        **row,
        **extra,
        "image_id": cell.image.id,
        "set": cell.image.set,
        "source": cell.image.source,
        "frame": cell.frame,
        "dtype": frames.intensity.dtype,
        "point": cell.point,
        "repeats": options.repeats,
    }


# --- the run ----------------------------------------------------------------------------------


@dataclass
class RunStats:
    """Counts of a run."""

    images: int = 0
    coded: int = 0
    skipped: int = 0
    failed: int = 0
    not_applicable: int = 0
    seconds: float = 0.0
    settings: dict[str, dict[int, list[str]]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe view (settings keyed by codec, then bit depth)."""
        return {
            "images": self.images,
            "cells_coded": self.coded,
            "cells_skipped_as_done": self.skipped,
            "cells_failed": self.failed,
            "cells_not_applicable": self.not_applicable,
            "seconds": round(self.seconds, 1),
            "points_used": {
                c: {str(b): v for b, v in by_bits.items()} for c, by_bits in self.settings.items()
            },
        }


def _one_torch_thread():
    """One intra-op thread per worker for metrics (MS-SSIM) and mcz; restored afterwards."""
    from mcz.codec.engine import torch_threads

    return torch_threads(1)


def _progress(enabled: bool):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not enabled,
        transient=False,
    )


def _failure(key: tuple[str, str, str, str], exc: BaseException) -> dict[str, str]:
    image_id, frame, codec, point = key
    return {
        "image_id": image_id,
        "frame": frame,
        "codec": codec,
        "point": point,
        "error": type(exc).__name__,
        "message": str(exc).replace("\n", " "),
    }


def _record_points(stats: RunStats, cells: Sequence[Cell], bits: int) -> None:
    for cell in cells:
        used = stats.settings.setdefault(cell.codec.name, {}).setdefault(bits, [])
        if cell.point not in used:
            used.append(cell.point)


def run(images: Sequence[BenchImage], out: Path, options: RunOptions, *, progress: bool = False) -> RunStats:
    """Code every cell of ``images`` not yet in ``out/results.csv`` and append the rows.

    Parameters
    ----------
    images : sequence of BenchImage
        From :func:`mcz.bench.sets.resolve`.
    out : pathlib.Path
        Run folder (created); an existing one is resumed.
    options : RunOptions
        Codecs, operating points, repeats, workers.
    progress : bool
        Show a progress bar on stderr.

    Returns
    -------
    RunStats
    """
    out.mkdir(parents=True, exist_ok=True)
    results, failures = out / report.RESULTS, out / report.FAILURES
    done = {report.cell_key(r) for r in report.read_results(results)}
    stats, start = RunStats(), time.perf_counter()
    with _one_torch_thread(), ThreadPoolExecutor(options.jobs) as pool, _progress(progress) as bar:
        images_task = bar.add_task("images", total=len(images))
        cells_task, planned = bar.add_task("cells", total=0), 0
        for image in images:
            todo = _plan_image(image, options, done, stats, failures)
            if todo:
                planned += len(todo[0])  # the total grows as images are loaded: volumes are not read ahead
                bar.update(cells_task, total=planned)
                for future, cell in _submit(pool, *todo, options):
                    _collect(future, cell, results, failures, done, stats)
                    bar.advance(cells_task)
            bar.advance(images_task)
            stats.images += 1
    stats.seconds = time.perf_counter() - start
    return stats


def _plan_image(
    image: BenchImage, options: RunOptions, done: set, stats: RunStats, failures: Path
) -> tuple[list[Cell], Frames] | None:
    """The cells of ``image`` still to code, with its frames; a load failure is recorded, not raised."""
    try:
        frames = load_frames(image, options.max_frames, options.crop)
        cells, skipped = plan_cells(image, frames, options)
    except Exception as exc:  # noqa: BLE001 - an unreadable image is recorded; the others still run
        report.append_rows(failures, [_failure((image.id, "", "", "load"), exc)], report.FAILURE_COLUMNS)
        stats.failed += 1
        return None
    stats.not_applicable += skipped
    _record_points(stats, cells, coding_bits(frames.intensity))
    todo = [c for c in cells if c.key not in done]
    stats.skipped += len(cells) - len(todo)
    return (todo, frames) if todo else None


def _submit(
    pool: ThreadPoolExecutor, cells: list[Cell], frames: Frames, options: RunOptions
) -> Iterator[tuple[Future, Cell]]:
    futures = {pool.submit(run_cell, cell, frames, options): cell for cell in cells}
    for future in as_completed(futures):
        yield future, futures[future]


def _collect(future: Future, cell: Cell, results: Path, failures: Path, done: set, stats: RunStats) -> None:
    try:
        row = future.result()
    except Exception as exc:  # noqa: BLE001 - one bad cell (a library error too) must not end a long run
        report.append_rows(failures, [_failure(cell.key, exc)], report.FAILURE_COLUMNS)
        stats.failed += 1
        return
    report.append_rows(results, [row])
    done.add(cell.key)
    stats.coded += 1


# --- environment.json -------------------------------------------------------------------------


_DISTRIBUTIONS = (
    "numpy",
    "torch",
    "imagecodecs",
    "scipy",
    "scikit-image",
    "matplotlib",
    "pydicom",
    "pytorch-msssim",
    "PyWavelets",
    "Brotli",
    "safetensors",
    "rich",
)


def _version(distribution: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def environment(
    options: RunOptions, stats: RunStats, images: Sequence[BenchImage], argv: Sequence[str] | None = None
) -> dict[str, Any]:
    """The record of one invocation: versions, codecs and their settings, machine, counts."""
    from mcz import __version__

    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        affinity = None
    return {
        "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "argv": list(sys.argv if argv is None else argv),
        "versions": {
            "mcz": __version__,
            "python": platform.python_version(),
            **{d: _version(d) for d in _DISTRIBUTIONS},
        },
        "machine": {
            "platform": platform.platform(),
            "machine": platform.machine(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
            "cpus_usable": affinity,
        },
        "threads": {
            "jobs": options.jobs,
            "torch_intra_op_per_worker": 1,
            "note": "standard codecs are told to use `threads` threads each; mcz cells run one at a time "
            "with the engine's fixed thread count",
        },
        "codecs": {
            c.name: {
                "library": c.library,
                "version": c.version,
                "notes": c.notes,
                "threads": c.threads,
                "lossless": c.lossless,
                "setting": c.settings.meaning,
            }
            for c in options.codecs
        },
        "options": {
            "match": options.match,
            "targets": list(options.targets) if options.targets else None,
            "points": options.points,
            "repeats": options.repeats,
            "max_frames": options.max_frames,
            "crop": options.crop,
            "tolerance": options.tolerance,
        },
        "images": {"count": len(images), "sets": sorted({i.set for i in images})},
        "stats": stats.as_dict(),
    }


def append_environment(out: Path, record: dict[str, Any]) -> Path:
    """Append ``record`` to ``out/environment.json`` (``{"runs": [...]}``), written atomically."""
    path = out / "environment.json"
    runs: list[Any] = []
    if path.exists():
        try:
            runs = list(json.loads(path.read_text(encoding="utf-8"))["runs"])
        except (ValueError, KeyError, TypeError) as exc:
            raise UsageError(
                f"{path} is not an environment file of mcz bench ({exc}); use a new --out"
            ) from exc
    data = json.dumps({"runs": [*runs, record]}, indent=2, default=str) + "\n"
    return atomic_write_bytes(path, data.encode("utf-8"), overwrite=True)
