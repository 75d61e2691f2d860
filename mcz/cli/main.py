"""Entry point of the ``mcz`` command: parse arguments, call the API, map errors to exit codes."""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import tempfile
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mcz import __version__, profiling, remote
from mcz.cli import batch
from mcz.cli.bench import add_parser as _add_bench
from mcz.cli.gpu import add_parser as _add_engine
from mcz.errors import ExitCode, McZError, OutputError, UsageError, require
from mcz.fsutil import atomic_write_bytes
from mcz.io import read_image
from mcz.io.dispatch import WRITE_FORMATS
from mcz.io.sniff import IMAGE_SUFFIXES
from mcz.training.config import TrainConfig, parse_duration

if TYPE_CHECKING:  # pragma: no cover
    from mcz.api import EncodeOptions
    from mcz.search import Notice


def _add_encode(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "encode",
        help="compress images (DICOM, NIfTI, PNG, TIFF, JPEG, NPY) to .mcz",
        description="Compress images to .mcz. The DICOM slices of one series in one folder become one .mcz "
        "file (named by the Series Instance UID) unless --per-file is given. A file whose achieved "
        "compression ratio exceeds the CAR/DRG/RCR guideline for its modality and body part gets a "
        "one-line warning (see --max-ratio, --strict).",
    )
    p.add_argument("inputs", nargs="+", metavar="IN",
                   help="files, folders (recursive) or glob patterns; '-' reads one image from stdin")
    p.add_argument("-o", "--output", help="output .mcz file (one input; '-' for stdout) or folder (several); "
                   "a local path or an fsspec URL (s3://bucket/key, gs://..., file://...; docs/scale.md)")
    p.add_argument("-m", "--model", default=None, help="model id (see `mcz models`); default: cae-compact up to 8 bits, cae-compact-ctmr above")
    _add_quality_or_target(p)
    p.add_argument("--lossless", action="store_true",
                   help="lossless: the decoded pixels equal the source's bit for bit (same as --max-error 0)")
    p.add_argument("--max-error", type=int, metavar="K", default=None,
                   help="near-lossless: no decoded pixel differs from the source by more than K stored units "
                   "(0 = lossless); excludes -m, -q and the targets")
    p.add_argument("--grey", action="store_true", help="convert colour images to grey (ITU-R 601 luma)")
    p.add_argument(
        "--metadata", choices=("keep", "minimal", "none"), default=None,
        help="source header kept in the file: keep (default) all of it; minimal only what rebuilds a valid "
        "image, with new UIDs and no patient/study identity (a de-identification aid, NOT a full "
        "de-identifier: pixels and burned-in text are not checked); none nothing",
    )
    p.add_argument("--no-metadata", action="store_true", help="same as --metadata none")
    p.add_argument(
        "--max-ratio", metavar="auto|R", default=None,
        help="cap the achieved compression ratio: 'auto' at the CAR/DRG/RCR guideline for the image's "
        "modality and body part, or a number R (R:1); the quality is raised from -q (or the default) "
        "until the ratio fits",
    )
    p.add_argument(
        "--strict", action="store_true",
        help="fail, instead of warning, when the ratio exceeds the guideline or the cap",
    )
    p.add_argument(
        "--new-series", action="store_true", help="give the decoded DICOM instances a new Series Instance UID"
    )
    p.add_argument(
        "--per-file", action="store_true", help="one .mcz per DICOM file, even for the slices of a series"
    )
    _add_batch_flags(p)
    p.set_defaults(run=_run_encode)


def _add_quality_or_target(p: argparse.ArgumentParser) -> None:
    """``-q`` or one per-image target (:mod:`mcz.ratecontrol`); at most one of them."""
    group = p.add_mutually_exclusive_group()
    group.add_argument("-q", "--quality", type=int, help="model quality (cae family: latent bits)")
    group.add_argument("--target-bpp", type=float, metavar="X",
                       help="per image, the highest quality whose whole file is at most X bits per pixel")
    group.add_argument("--target-ratio", type=float, metavar="R",
                       help="per image, the highest quality whose compression ratio is at least R:1")
    group.add_argument("--target-psnr", type=float, metavar="D",
                       help="per image, the lowest quality whose PSNR is at least D dB")


def _add_decode(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "decode",
        help="decompress .mcz files to images",
        description="Decompress .mcz files. A DICOM output is a new, derived instance marked as lossy "
        "compressed (Lossy Image Compression 01, ratio and method MCZ_<family> appended, Image Type "
        "DERIVED, new SOP Instance UID). A series decodes to a folder of its slices' files.",
    )
    p.add_argument("inputs", nargs="+", metavar="IN",
                   help=".mcz files, folders (recursive) or glob patterns; '-' reads one .mcz file from stdin")
    p.add_argument("-o", "--output", help="output file (one input; '-' for stdout, with --to) or folder (several); "
                   "a local path or an fsspec URL (s3://bucket/key, gs://..., file://...; docs/scale.md)")
    p.add_argument("--to", choices=WRITE_FORMATS, help="output format (default: the source's format)")
    p.add_argument(
        "--transfer-syntax", choices=("explicit", "j2k-lossless", "jpegls-lossless", "rle"), default=None,
        help="DICOM output: explicit (Explicit VR Little Endian, default) or a lossless compressed syntax",
    )
    p.add_argument("--no-verify", action="store_true", help="skip the reconstruction digest check")
    p.add_argument("--backend", choices=("torch", "onnxruntime", "cuda", "tensorrt", "tensorrt-fp32", "auto"),
                   default="torch",
                   help="where a learned model's synthesis runs (default %(default)s, the CPU reference; onnxruntime "
                   "needs mcz[export]; cuda a CUDA torch; tensorrt an FP16 engine, mcz[gpu]; auto: the fastest that "
                   "runs here, and says why); entropy decoding is checked bit-exact on every backend, the pixels "
                   "within the backend precision's tolerance (docs/gpu.md)")
    p.add_argument("--profile", action="store_true",
                   help="report per-stage times (read, entropy, synthesis, digest, write) of each file on stderr "
                   "(in the JSON object with --json)")
    p.add_argument("--decoder", choices=("mse", "realistic"), default="mse",
                   help="mse (default): the model's synthesis, pixels checked; realistic: the GAN decoder of a "
                   "learned model, a NON-DIAGNOSTIC PREVIEW, labelled as such (docs/ganvae.md)")
    _add_batch_flags(p)
    p.set_defaults(run=_run_decode)


def _add_batch_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs")
    p.add_argument("-j", "--jobs", type=int, default=None,
                   help="files coded in parallel: threads (local, default 1) or Ray actors (default: the "
                   "cluster's CPUs)")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="where the files are coded: local (threads in this process, default) or ray "
                   "(a Ray cluster's actors; mcz[ray], see docs/scale.md)")
    p.add_argument("--address", default=None,
                   help="--engine ray: the cluster, 'auto' (started here with `ray start`) or ray://HOST:10001 "
                   "(default: start a local cluster)")
    p.add_argument("--gpus-per-worker", type=float, default=None, metavar="N",
                   help="--engine ray: GPUs reserved per actor (fractions share a GPU)")
    p.add_argument("--manifest", default=None, metavar="DIR",
                   help="resumable Parquet manifest folder: files it lists as done are skipped, failed ones "
                   "retried (default with --engine ray and a local output folder: OUTPUT/.mcz-manifest; none for "
                   "an output URL; '' for none)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads per file (default: torch's setting; the thread count never changes "
                   "what a file decodes to beyond its recorded tolerance)")
    p.add_argument("--json", action="store_true", help="one JSON object per file on stdout instead of a line")


def _add_info(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="show a .mcz file's header, size, bpp and compression ratio")
    p.add_argument("file", help="a .mcz file")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=_run_info)


def _add_models(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list registered models and whether their weights are installed")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=_run_models)


def _add_train(sub: argparse._SubParsersAction) -> None:
    d = TrainConfig(model="cae-compact")
    p = sub.add_parser("train", help="train a registered model on a named data set or a folder (mcz[train])")
    p.add_argument("--model", required=True, help="registered model id to train (architecture)")
    p.add_argument("--data", default=d.data, help="named data set (br35h) or a folder of images (default %(default)s)")
    p.add_argument("--out", default=None, help="run folder: resumable state and logs (default runs/<id>)")
    p.add_argument("--id", dest="model_id", help="id for the trained weights (default: the model id)")
    p.add_argument("--bits", type=int, help="latent bits of the quantisation proxy (default: the model's)")
    p.add_argument("--patch", type=int, default=d.patch, help="training patch size (default %(default)s)")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="default %(default)s")
    p.add_argument("--max-steps", type=int, default=d.max_steps, help="steps in this run (default %(default)s)")
    p.add_argument("--time-budget", help="stop after this long even if --max-steps is not reached (90s, 9m, 2h); "
                   "the state is saved and the run resumes from it")
    p.add_argument("--epochs", type=int, help="alternative to --max-steps: passes over the training images")
    p.add_argument("--lr", type=float, default=d.lr, help="Adam learning rate (default %(default)s)")
    p.add_argument("--loss", choices=("mse", "bce", "ms-ssim"), default=d.loss, help="default %(default)s")
    p.add_argument("--schedule", choices=("cosine", "constant"), default=d.schedule, help="default %(default)s")
    p.add_argument("--warmup", type=int, default=d.warmup, help="warm-up steps (default %(default)s)")
    p.add_argument("--total-steps", type=int, help="schedule length across resumed runs (default --max-steps)")
    p.add_argument("--accelerator", default=d.accelerator, help="Lightning accelerator: cpu, gpu, auto")
    p.add_argument("--devices", default=d.devices, help="Lightning devices per node, e.g. 1, 2 or auto "
                   "(processes on CPU; with --strategy ddp, one process per device)")
    p.add_argument("--num-nodes", type=int, default=d.num_nodes, help="machines (Lightning num_nodes; launch "
                   "the same command on each, with MASTER_ADDR, MASTER_PORT and NODE_RANK set)")
    p.add_argument("--strategy", default=d.strategy, help="Lightning strategy: auto (default), ddp, ddp_spawn, ...; "
                   "the state saved resumes under any world size")
    p.add_argument("--threads", type=int, default=d.threads, help="CPU threads (default %(default)s)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--save-every", type=int, default=d.save_every, help="steps between resumable states")
    p.add_argument("--val-every", type=int, default=d.val_every, help="steps between validations")
    p.add_argument("--val-images", type=int, default=d.val_images, help="validation images (default %(default)s)")
    p.add_argument("--rate-weight", type=float, help="cae family: weight of the entropy regulariser "
                   "(estimated bpp of the latent symbols; default 0 = distortion only, as the paper)")
    p.add_argument("--limit-images", type=int, help="use only the first N training images (smoke runs)")
    p.add_argument("--init", help="start from this installed model's weights (e.g. continue a shipped model)")
    p.add_argument("--rounds", type=int, help="wavelet family: fitting rounds (encode, refit the context model; "
                   "default 3, minutes on a CPU); the step, patch and learning-rate options do not apply")
    p.add_argument("--export", dest="export_to", default=None,
                   help="folder whose manifest receives the weights (default: the user model folder, "
                   "$MCZ_HOME/models or ~/.local/share/mcz/models, searched by every mcz command; '' to skip)")
    p.set_defaults(run=_run_train)


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a learned model's decoder networks to ONNX (mcz[export])")
    p.add_argument("model", help="installed model id of the factorized or hyperprior family")
    p.add_argument("-o", "--output", type=Path, help="folder for the graphs (default: <model>-onnx)")
    p.add_argument("-f", "--force", action="store_true", help="write into an existing folder")
    p.set_defaults(run=_run_export)


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="code a bundled real DICOM with mcz and JPEG 2000 at the same size")
    p.add_argument("--image", type=Path, help="image to use instead of the bundled head CT")
    p.add_argument("-m", "--model", help="model id (default: mcz's default model)")
    p.add_argument("-o", "--output", type=Path, default=Path("mcz-demo.png"), help="figure (default %(default)s)")
    p.add_argument("-f", "--force", action="store_true", help="overwrite the figure")
    p.set_defaults(run=_run_demo)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used to render help in the README)."""
    parser = argparse.ArgumentParser(prog="mcz", description="Learned compression of medical images.")
    parser.add_argument("--version", action="version", version=f"mcz {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_demo, _add_encode, _add_decode, _add_info, _add_models, _add_bench, _add_train, _add_export,
                _add_engine):
        add(sub)
    for command in sub.choices.values():  # global options are accepted after the subcommand too
        command.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                             help="show tracebacks on errors")
        command.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress bars")
    return parser


def _run_encode(args: argparse.Namespace) -> ExitCode:
    # lazy: off the start-up path of the mcz command (mcz.cli.main)
    from mcz import api
    from mcz.dicom.guard import RatioPolicy
    from mcz.ratecontrol import Target

    policy = RatioPolicy.parse(args.max_ratio, args.strict)  # a bad --max-ratio fails before any work
    target = Target.from_options(args.target_bpp, args.target_ratio, args.target_psnr)
    summary: dict[Path, str] = {}
    options = api.EncodeOptions(  # a bad option fails here, before any work
        model=args.model,
        quality=args.quality,
        target=target,
        metadata="none" if args.no_metadata else (args.metadata or "keep"),
        max_ratio=policy.max_ratio,
        strict=args.strict,
        new_series=args.new_series,
        threads=args.threads,
        max_error=_bound(args, target) if args.lossless or args.max_error is not None else None,
    )
    if "-" in (args.inputs[0], args.output):
        return _encode_stdio(args, options)
    jobs, members = _encode_jobs(args)

    @_cli_messages
    def work(job: batch.Job) -> batch.Result:
        # Runs in a worker (a thread, or a Ray actor): it returns what the driver prints.
        _check_new(job.dst, args.force)
        files = members[job.src]
        lines: list[str] = []
        if len(files) > 1:
            dst = api.encode_series(files, job.dst, options, overwrite=args.force,
                                    report=_reporter(job.dst, summary, job.src, lines))
        else:
            dst = api.encode_file(job.src, job.dst, options, overwrite=args.force, grey=args.grey,
                                  report=_reporter(job.src, summary, None, lines))
        return batch.Result(_result(job.src, dst, dst, summary.get(job.src)), lines)

    return _run_batch(jobs, work, args,
                      adopt=lambda job: _result(job.src, job.output, remote.read_bytes(job.output), "adopted"))


def _run_batch(jobs: list[batch.Job], work: Callable[[batch.Job], batch.Result], args: argparse.Namespace,
               adopt: Callable[[batch.Job], dict] | None = None) -> ExitCode:
    """Run the batch on the chosen engine; then one line (or JSON object) per file that succeeded, in job order."""
    from mcz.executors import get_executor  # lazy: off the start-up path of the mcz command (mcz.cli.main)

    engine_options = {k: v for k, v in (("address", args.address), ("gpus_per_worker", args.gpus_per_worker))
                      if v is not None}
    executor = get_executor(args.engine, args.jobs, **engine_options)
    manifest = _manifest(args)
    code, results = batch.run_jobs(jobs, work, executor, args.quiet, manifest=manifest, adopt=adopt,
                                   overwrite=args.force)
    for job in jobs:
        if job.src in results:
            print(json.dumps(results[job.src]) if args.json else _result_line(results[job.src]))
    return code


def _manifest(args: argparse.Namespace):
    """The resumable manifest: --manifest, else with --engine ray ``<output folder>/.mcz-manifest``.

    The manifest is a local folder: an output at a URL gets none unless --manifest names one.
    """
    # lazy: off the start-up path of the mcz command (mcz.cli.main)
    from mcz.executors.manifest import Manifest

    if args.manifest == "":
        return None
    if args.manifest:
        return Manifest(args.manifest)
    if args.engine == "ray" and remote.is_url(args.output):
        print(f"mcz: no manifest: the output {args.output} is a URL and the manifest a local folder; "
              "pass --manifest DIR to make this job resumable", file=sys.stderr)
        return None
    if args.engine == "ray" and args.output and Path(args.output).is_dir():
        return Manifest(Path(args.output) / ".mcz-manifest")
    return None


#: PSNR measured while encoding (a target's search), by input path, for the result line.
_MEASURED_PSNR: dict[Path, float] = {}


def _result(src: Path | str, dst: Path | str, coded: Path | bytes, note: str | None) -> dict:
    """What one coded file achieved: sizes and rate from its .mcz file (path or bytes), and any target's note."""
    from mcz import api  # lazy: off the start-up path of the mcz command (mcz.cli.main)

    info = api.read_info(coded)
    out = {"input": str(src), "output": str(dst), "bytes": info.file_bytes, "bpp": round(info.bpp, 4),
           "compression_ratio": round(info.compression_ratio, 2)}
    psnr = _MEASURED_PSNR.pop(Path(src), None)
    if psnr is not None:
        out["psnr_db"] = round(psnr, 2) if math.isfinite(psnr) else "inf"
    if note:
        out["note"] = note
    return out


def _result_line(result: dict) -> str:
    text = (f"{result['input']} -> {result['output']}: {result['bytes']} bytes, {result['bpp']:.4f} bpp, "
            f"ratio {result['compression_ratio']:.2f}:1")
    if "psnr_db" in result:
        text += f", PSNR {result['psnr_db']} dB"
    return text + (f" ({result['note']})" if "note" in result else "")


def _check_new(dst: Path | None, force: bool) -> None:
    """Refuse an existing output before any coding work (the write refuses it again, atomically)."""
    if dst is not None and dst.exists() and not force and not dst.is_dir():
        raise OutputError(f"output {dst} already exists; expected a new path. Pass --force to replace it, "
                          "or choose another output")


def cli_text(message: str) -> str:
    """An API message as the CLI says it: ``--force (overwrite=True)`` -> ``--force``."""
    return re.sub(r"(--[a-z][a-z-]*) \([a-z_]+=[^)]*\)", r"\1", message)


def _cli_messages(work: Callable[[batch.Job], batch.Result]) -> Callable[[batch.Job], batch.Result]:
    """``work`` whose mcz errors name CLI flags, not Python arguments."""

    def wrapped(job: batch.Job) -> batch.Result:
        try:
            return work(job)
        except McZError as exc:
            text = cli_text(str(exc))
            if text == str(exc):
                raise
            raise type(exc)(text) from exc

    return wrapped


def _bound(args: argparse.Namespace, target: object) -> int:
    """K of ``--lossless`` (0) or ``--max-error K``; either excludes a model, a quality and a target."""
    if args.lossless and args.max_error not in (None, 0):
        raise UsageError(f"found --lossless with --max-error {args.max_error}; expected one of them "
                         "(--lossless is --max-error 0)")
    clashes = [flag for flag, value in (("-m", args.model), ("-q", args.quality), ("a target", target))
               if value is not None]
    if clashes:
        raise UsageError(f"found --lossless/--max-error with {', '.join(clashes)}; expected the bound alone: "
                         "it selects the near-lossless codec. Drop those options or the bound")
    return 0 if args.lossless else int(args.max_error)


def _encode_stdio(args: argparse.Namespace, options: EncodeOptions) -> ExitCode:
    """``mcz encode - ...`` (image from stdin) and/or ``-o -`` (.mcz to stdout): one image."""
    from mcz import api  # lazy: off the start-up path of the mcz command (mcz.cli.main)

    if len(args.inputs) != 1:
        raise UsageError(f"found {len(args.inputs)} inputs with '-'; stdin/stdout take one image. "
                         "Give one input, or an output folder for several")
    if args.inputs[0] == "-":
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "stdin"
            path.write_bytes(sys.stdin.buffer.read())
            image = read_image(path, grey=args.grey)
    else:
        image = read_image(args.inputs[0], grey=args.grey)
    dst = args.output or "-"
    if dst != "-":
        _check_encode_output(dst)
        if remote.is_url(dst):
            remote.check_new(dst, args.force)
        else:
            _check_new(Path(dst), args.force)
    outcome = api.encode_with_report(image, options)
    api.report_outcome(outcome, _reporter(Path(args.inputs[0])))
    if dst == "-":
        sys.stdout.buffer.write(outcome.data)
        sys.stdout.buffer.flush()
        return ExitCode.OK
    if remote.is_url(dst):
        remote.write_bytes(dst, outcome.data, overwrite=args.force)
    else:
        atomic_write_bytes(Path(dst), outcome.data, overwrite=args.force)
    _print_result(args, _result(args.inputs[0], dst, outcome.data, None))
    return ExitCode.OK


def _print_result(args: argparse.Namespace, result: dict) -> None:
    print(json.dumps(result) if args.json else _result_line(result))


def _check_encode_output(output: str) -> None:
    """One encoded file must go to a .mcz path (or a folder): ``-o y.png`` is refused before any work."""
    suffix = Path(remote.name(output)).suffix
    if output.endswith(".mcz") or not suffix or batch.is_folder(output):
        return
    raise UsageError(f"-o {output}: an encoded file is a .mcz file, and this output ends in {suffix!r}; "
                     f"expected a path ending in .mcz (e.g. -o {output[: -len(suffix)]}.mcz) or a folder. "
                     "To write an image, use `mcz decode`")


def _encode_jobs(args: argparse.Namespace) -> tuple[list[batch.Job], dict[Path, list[Path]]]:
    """One job per file, or per series of DICOM slices (named by its Series Instance UID).

    Returns the jobs, each keyed by its first file, and the files of each job.
    """
    # lazy: off the start-up path of the mcz command (mcz.cli.main)
    from mcz.dicom.series import group_files, series_file_name

    inputs = batch.expand_inputs(args.inputs, IMAGE_SUFFIXES)
    groups = [[item] for item in inputs] if args.per_file else group_files(inputs)
    members = {group[0][0]: [path for path, _ in group] for group in groups}
    names = {group[0][0]: series_file_name(group, i) for i, group in enumerate(groups) if len(group) > 1}
    return _plan_encode([group[0] for group in groups], args.output, names), members


def _plan_encode(firsts: list, output: str | None, series_names: dict[Path, str]) -> list[batch.Job]:
    """Output paths as for any batch, except that one series given as a folder may go to a named .mcz file."""
    from mcz import api  # lazy: off the start-up path of the mcz command (mcz.cli.main)

    def name_for(src: Path) -> str:
        return series_names.get(src) or api.default_output(src, "mcz").name

    if len(firsts) == 1 and output is not None:
        _check_encode_output(output)
    if len(firsts) == 1 and output is not None and output.endswith(".mcz") and not batch.is_folder(output):
        return [batch.job_for(firsts[0][0], output)]
    return batch.plan_jobs(firsts, output, name_for)


def _reporter(
    where: Path | None, summary: dict[Path, str] | None = None, key: Path | None = None,
    lines: list[str] | None = None,
) -> Callable[[Notice], None]:
    """The guard's notices as one stderr line each: ``mcz: warning: FILE: ...`` or ``mcz: FILE: ...``.

    A target's result goes to ``summary[key or where]`` (printed after the batch); a missed
    target is also a warning line.  With ``lines``, the lines are appended there (a batch
    worker returns them to the driver) instead of printed.
    """
    from mcz.ratecontrol import RateNotice  # lazy: off the start-up path of the mcz command (mcz.cli.main)

    def report(notice: Notice) -> None:
        if isinstance(notice, RateNotice) and summary is not None:
            slot = key or where
            assert slot is not None  # callers that keep a summary name the file (key or where)
            summary[slot] = notice.text
            if notice.rate is not None:
                _MEASURED_PSNR[slot] = float(notice.rate.psnr)
            if notice.level != "warning":
                return
        prefix = "mcz: warning: " if notice.level == "warning" else "mcz: "
        if lines is not None:
            lines.append(f"{prefix}{where}: {notice.text}")
        else:
            print(f"{prefix}{where}: {notice.text}", file=sys.stderr)

    return report


def _run_decode(args: argparse.Namespace) -> ExitCode:
    # lazy: off the start-up path of the mcz command (mcz.cli.main)
    from mcz import api
    from mcz.container import read_header

    if "-" in (args.inputs[0], args.output):
        return _decode_stdio(args)
    inputs = batch.expand_inputs(args.inputs, (".mcz",))
    fmt = args.to

    def name_for(src: Path) -> str:
        try:
            header = read_header(Path(src).read_bytes())  # read once for the format and the name
            return api.decoded_output(src, fmt or api.default_decoded_format(header), header).name
        except McZError:  # an unreadable header: its decode job reports why, the others go on
            return api.default_output(src, fmt or "npy").name

    jobs = batch.plan_jobs(inputs, args.output, name_for)

    @_cli_messages
    def work(job: batch.Job) -> batch.Result:
        with profiling.recording() as report:
            dst = api.decode_file(
                job.src, job.dst, to=fmt, overwrite=args.force, verify=not args.no_verify,
                transfer_syntax=args.transfer_syntax, backend=args.backend, threads=args.threads,
                decoder=args.decoder,
            )
        extra, messages = _decode_report(args, job.src, report)
        return batch.Result({**_result(job.src, dst, job.src, None), **extra}, messages)

    return _run_batch(jobs, work, args, adopt=lambda job: _result(job.src, job.output, job.src, "adopted"))


def _decode_report(args: argparse.Namespace, src: Path | str,
                   report: profiling.Report) -> tuple[dict, list[str]]:
    """What ``--backend auto`` chose and ``--profile``'s stage times: JSON entries, and the stderr
    lines to print instead (returned, not printed: with ``--engine ray`` this runs in a worker)."""
    extra: dict = {}
    messages: list[str] = []
    if args.backend == "auto" and "backend" in report.notes:
        extra["backend"] = report.notes["backend"]
        extra["backend_reason"] = report.notes.get("backend_reason", "")
        messages.append(f"{src}: backend {extra['backend']} (auto: {extra['backend_reason']})")
    if args.profile:
        extra["profile"] = report.as_dict()
        messages.append(f"{src}: profile: {report.line()}")
    return extra, ([] if args.json else messages)


def _decode_stdio(args: argparse.Namespace) -> ExitCode:
    """``mcz decode - ...`` (.mcz from stdin) and/or ``-o - --to FMT`` (image to stdout): one file."""
    from mcz import api  # lazy: off the start-up path of the mcz command (mcz.cli.main)

    if len(args.inputs) != 1:
        raise UsageError(f"found {len(args.inputs)} inputs with '-'; stdin/stdout take one file")
    raw = sys.stdin.buffer.read() if args.inputs[0] == "-" else Path(args.inputs[0]).read_bytes()
    dst = args.output or "-"
    if dst == "-" and args.to in (None, "dcm"):
        raise UsageError("decoding to stdout (-o -) needs --to png, tiff, npy, nii or nii.gz; "
                         "expected one of them (a DICOM series is a folder of files)")
    with tempfile.TemporaryDirectory() as folder:
        src = Path(folder) / "stdin.mcz"
        src.write_bytes(raw)
        target = Path(folder) / f"out.{args.to}" if dst == "-" else _local_target(dst, Path(folder), args.force)
        with profiling.recording() as report:
            written: Path | str = api.decode_file(
                src, target, to=args.to, overwrite=args.force, verify=not args.no_verify,
                transfer_syntax=args.transfer_syntax, backend=args.backend, threads=args.threads,
                decoder=args.decoder)
        extra, messages = _decode_report(args, args.inputs[0], report)
        for line in messages:
            print(line, file=sys.stderr)
        if dst == "-":
            sys.stdout.buffer.write(Path(written).read_bytes())
            sys.stdout.buffer.flush()
            return ExitCode.OK
        if remote.is_url(dst):
            written = remote.upload(written, dst, overwrite=args.force)
    _print_result(args, {**_result(args.inputs[0], written, raw, None), **extra})
    return ExitCode.OK


def _local_target(dst: str, folder: Path, force: bool) -> Path:
    """Where one decoded file is written: ``dst``, or for a URL a file of its name in ``folder`` (then uploaded)."""
    if not remote.is_url(dst):
        return Path(dst)
    remote.check_new(dst, force)  # before decoding; the upload checks again
    stage = folder / "out"
    stage.mkdir()
    return stage / remote.name(dst)


def _run_info(args: argparse.Namespace) -> ExitCode:
    from mcz import api  # lazy: off the start-up path of the mcz command (mcz.cli.main)

    info = api.read_info(args.file)
    if args.json:
        print(json.dumps(info.to_dict(), indent=2))
        return ExitCode.OK
    h = info.header
    sign = "signed" if h.signed else "unsigned"
    print(f"file         {args.file} ({info.file_bytes} bytes)")
    print(f"model        {h.codec_id} (weights {h.checkpoint_sha256[:12]}), quality {h.quality}")
    print(f"geometry     {h.frames} x {h.rows} x {h.columns} (frames x rows x columns), shape {tuple(h.original_shape)}")
    print(f"pixels       {h.dtype}, {h.bits_stored} bits stored, {sign}, {h.photometric}")
    print(f"rate         {info.bpp:.4f} bpp, compression ratio {info.compression_ratio:.2f}:1 "
          f"(vs {info.container_bytes_per_pixel} byte(s)/pixel at {h.bits_stored} bits)")
    print(f"chunks       {' '.join(c.type for c in info.chunks)}")
    print(f"digest       {h.digest}")
    for d in info.decoders:
        what = "default, pixels checked" if d["default"] else f"{d['label']}, pixels not checked"
        print(f"decoder      {d['decoder']}: {d['id']} ({what})")
    note = _quality_note(h.codec_id, h.quality)
    if note:
        print(f"guarantee    {note}")
    return ExitCode.OK


def _quality_note(codec_id: str, quality: int) -> str | None:
    """What the model's family guarantees at ``quality`` (near-lossless: the bound), for ``mcz info``."""
    # lazy: off the start-up path of the mcz command (mcz.cli.main)
    from mcz.codec import registry
    from mcz.codec.families import family_for

    if codec_id not in registry.registered_ids():  # a model trained elsewhere: no guarantee to state
        return None
    return family_for(registry.get_spec(codec_id)).quality_note(quality)


def _run_models(args: argparse.Namespace) -> ExitCode:
    # lazy: off the start-up path of the mcz command (mcz.cli.main)
    from mcz import api
    from mcz.codec.decoders import installed_decoders
    from mcz.codec.zoo import user_model_dir

    models = api.list_models()
    if args.json:
        print(json.dumps([m.__dict__ for m in models], indent=2, default=str))
        return ExitCode.OK
    print(f"{'model':<24} {'weights':<11} {'from':<16} description")
    for m in models:
        state = "installed" if m.available else "no weights"
        print(f"{m.id:<24} {state:<11} {m.source or '-':<16} {m.description}")
    for d in installed_decoders():  # decoders of another model's files (mcz decode --decoder ...)
        print(f"{d['id']:<24} {'decoder':<11} {'-':<16} {d.get('kind')} decoder of {d.get('base')} files: "
              "NON-DIAGNOSTIC PREVIEW (docs/ganvae.md)")
    print(f"searched: MCZ_CHECKPOINTS, ./checkpoints, {user_model_dir()} (user; `mcz train` exports here), "
          "the shipped models")
    return ExitCode.OK


def _run_export(args: argparse.Namespace) -> ExitCode:
    # lazy: off the start-up path of the mcz command (mcz.cli.main)
    from mcz.codec import engine
    from mcz.codec.families import onnx_families

    codec = engine.load_codec(args.model)
    if not codec.family.onnx_export:
        raise UsageError(f"model {args.model!r} is of the {codec.spec.family} family; ONNX export covers the "
                         f"{', '.join(onnx_families())} families. Run `mcz models` to list them")
    folder = args.output or Path(f"{args.model}-onnx")
    if folder.exists() and any(folder.iterdir()) and not args.force:
        raise OutputError(f"{folder} exists and is not empty; pass -f/--force to write into it")
    for path in codec.family.export_onnx(codec, folder):
        print(path)
    return ExitCode.OK


def _run_demo(args: argparse.Namespace) -> ExitCode:
    from mcz import demo  # lazy: off the start-up path of the mcz command (mcz.cli.main)

    notes: list[str] = []
    rows = demo.run(args.image, args.model, args.output, overwrite=args.force, notes=notes)
    image = args.image or demo.bundled_image()
    print(f"image: {image}")
    print(f"{'codec':<28} {'bytes':>8} {'bpp':>7} {'CR':>8} {'PSNR dB':>8} {'(own range)':>11} {'SSIM':>7}")
    for r in rows:
        print(f"{r.codec:<28} {r.file_bytes:>8} {r.bpp:>7.3f} {r.compression_ratio:>7.1f}: {r.psnr:>8.2f} "
              f"{r.psnr_own_range:>11.2f} {r.ssim:>7.4f}")
    print("PSNR with R = 2^bits_stored - 1 (and with the image's own max - min); CR against the stored bit depth.")
    print(f"figure: {args.output}")
    for note in notes:
        print(f"note: {note}")
    return ExitCode.OK


def _run_train(args: argparse.Namespace) -> ExitCode:
    require("lightning", "train")
    from mcz.training.run import train  # lazy: optional extra mcz[train] (lightning, required just above)
    from mcz.codec.zoo import user_model_dir  # lazy: off the start-up path of the mcz command (mcz.cli.main)

    if args.time_budget:
        parse_duration(args.time_budget)  # a bad duration fails before any data is read
    fields = {k: v for k, v in vars(args).items() if k in TrainConfig.__dataclass_fields__ and v is not None}
    fields["export_to"] = str(user_model_dir()) if args.export_to is None else (args.export_to or None)
    fields.setdefault("out", f"runs/{args.model_id or args.model}")
    config = TrainConfig(**fields)
    meta = train(config)
    if meta.get("step") is None:  # a DDP rank other than 0: rank 0 reports
        return ExitCode.OK
    print(json.dumps({"step": meta["step"], "metrics": meta["metrics"], "export": meta.get("export", {}).get("file")}))
    if meta.get("export"):
        assert config.export_to is not None  # the trainers export only when the config names a folder
        _print_usage_hint(meta["export"], Path(config.export_to))
    return ExitCode.OK


def _print_usage_hint(entry: dict, folder: Path) -> None:
    """After `mcz train`: where the weights went and how to use them (stderr; stdout stays JSON)."""
    from mcz.codec.zoo import checkpoint_dirs  # lazy: off the start-up path of the mcz command (mcz.cli.main)

    model_id = entry["id"]
    found = folder.resolve() in {d.resolve() for d in checkpoint_dirs()}
    print(f"mcz: weights {folder / entry['file']} (sha256 {entry['sha256']})", file=sys.stderr)
    if not found:
        print(f"mcz: {folder} is not searched by default; set MCZ_CHECKPOINTS={folder} to use them", file=sys.stderr)
    print(f"mcz: use them with: mcz encode -m {model_id} IMAGE  (or mcz.encode(image, model={model_id!r})); "
          "decoding a file needs these weights installed (`mcz models` lists them)", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``mcz`` command; returns the process exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    try:
        code = int(args.run(args))
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's final flush
        return code
    except BrokenPipeError:
        return _broken_pipe()
    except McZError as exc:
        if args.verbose:
            traceback.print_exc()
        print(f"mcz: error: {cli_text(str(exc))}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("mcz: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - last resort: one line, traceback on request
        if args.verbose:
            traceback.print_exc()
        print(f"mcz: internal error: {type(exc).__name__}: {exc} (rerun with -v for a traceback)", file=sys.stderr)
        return int(ExitCode.INTERNAL)


def _broken_pipe() -> int:
    """The reader went away (``mcz info x.mcz | head``): stop quietly, as ``cat`` does (128 + SIGPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not fail again
    except (OSError, ValueError):  # stdout replaced (tests) or already closed
        pass
    return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
