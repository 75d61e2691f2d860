"""Entry point of the ``mcz`` command: parse arguments, call the API, map errors to exit codes."""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from mcz import __version__
from mcz.cli import batch
from mcz.errors import ExitCode, McZError

IMAGE_SUFFIXES = (".dcm", ".dicom", ".nii", ".nii.gz", ".png", ".tif", ".tiff", ".jpg", ".jpeg", ".npy")
OUTPUT_FORMATS = ("png", "tiff", "npy", "nii", "nii.gz", "dcm")


def _add_encode(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("encode", help="compress images (DICOM, NIfTI, PNG, TIFF, JPEG, NPY) to .mcz")
    p.add_argument("inputs", nargs="+", metavar="IN", help="files, folders (recursive) or glob patterns")
    p.add_argument("-o", "--output", help="output file (one input) or folder (several)")
    p.add_argument("-m", "--model", default=None, help="model id (see `mcz models`); default: cae-compact up to 8 bits, cae-compact-ctmr above")
    p.add_argument("-q", "--quality", type=int, help="model quality (cae family: latent bits)")
    p.add_argument("--grey", action="store_true", help="convert colour images to grey (ITU-R 601 luma)")
    p.add_argument("--no-metadata", action="store_true", help="do not keep the source header in the file")
    _add_batch_flags(p)
    p.set_defaults(run=_run_encode)


def _add_decode(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("decode", help="decompress .mcz files to images")
    p.add_argument("inputs", nargs="+", metavar="IN", help=".mcz files, folders (recursive) or glob patterns")
    p.add_argument("-o", "--output", help="output file (one input) or folder (several)")
    p.add_argument("--to", choices=OUTPUT_FORMATS, help="output format (default: the source's format)")
    p.add_argument("--no-verify", action="store_true", help="skip the reconstruction digest check")
    _add_batch_flags(p)
    p.set_defaults(run=_run_decode)


def _add_batch_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs")
    p.add_argument("-j", "--jobs", type=int, default=1, help="files coded in parallel (default 1)")


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
    from mcz.training.config import TrainConfig

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
    p.add_argument("--epochs", type=int, help="alternative to --max-steps: passes over the training images")
    p.add_argument("--lr", type=float, default=d.lr, help="Adam learning rate (default %(default)s)")
    p.add_argument("--loss", choices=("mse", "bce", "ms-ssim"), default=d.loss, help="default %(default)s")
    p.add_argument("--schedule", choices=("cosine", "constant"), default=d.schedule, help="default %(default)s")
    p.add_argument("--warmup", type=int, default=d.warmup, help="warm-up steps (default %(default)s)")
    p.add_argument("--total-steps", type=int, help="schedule length across resumed runs (default --max-steps)")
    p.add_argument("--accelerator", default=d.accelerator, help="Lightning accelerator: cpu, gpu, auto")
    p.add_argument("--devices", default=d.devices, help="Lightning devices, e.g. 1, 2 or auto")
    p.add_argument("--threads", type=int, default=d.threads, help="CPU threads (default %(default)s)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--save-every", type=int, default=d.save_every, help="steps between resumable states")
    p.add_argument("--val-every", type=int, default=d.val_every, help="steps between validations")
    p.add_argument("--val-images", type=int, default=d.val_images, help="validation images (default %(default)s)")
    p.add_argument("--export", dest="export_to", default="checkpoints",
                   help="folder whose manifest receives the weights (default %(default)s; '' to skip)")
    p.set_defaults(run=_run_train)


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
    for add in (_add_demo, _add_encode, _add_decode, _add_info, _add_models, _add_train):
        add(sub)
    return parser


def _run_encode(args: argparse.Namespace) -> ExitCode:
    from mcz import api

    inputs = batch.expand_inputs(args.inputs, IMAGE_SUFFIXES)
    jobs = batch.plan_jobs(inputs, args.output, lambda src: api.default_output(src, "mcz").name)

    def work(job: batch.Job) -> Path:
        return api.encode_file(
            job.src, job.dst, model=args.model, quality=args.quality, overwrite=args.force,
            grey=args.grey, keep_metadata=not args.no_metadata,
        )

    return batch.run_jobs(jobs, work, args.jobs, args.quiet)


def _run_decode(args: argparse.Namespace) -> ExitCode:
    from mcz import api

    inputs = batch.expand_inputs(args.inputs, (".mcz",))
    fmt = args.to

    def name_for(src: Path) -> str:
        fallback = fmt or api.default_decoded_format(src)
        return api.default_output(src, fallback).name

    jobs = batch.plan_jobs(inputs, args.output, name_for)

    def work(job: batch.Job) -> Path:
        return api.decode_file(job.src, job.dst, to=fmt, overwrite=args.force, verify=not args.no_verify)

    return batch.run_jobs(jobs, work, args.jobs, args.quiet)


def _run_info(args: argparse.Namespace) -> ExitCode:
    from mcz import api

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
    return ExitCode.OK


def _run_models(args: argparse.Namespace) -> ExitCode:
    from mcz import api

    models = api.list_models()
    if args.json:
        print(json.dumps([m.__dict__ for m in models], indent=2, default=str))
        return ExitCode.OK
    for m in models:
        state = "installed" if m.available else "no weights"
        print(f"{m.id:<24} {state:<11} {m.description}")
    return ExitCode.OK


def _run_demo(args: argparse.Namespace) -> ExitCode:
    from mcz import demo

    rows = demo.run(args.image, args.model, args.output, overwrite=args.force)
    image = args.image or demo.bundled_image()
    print(f"image: {image}")
    print(f"{'codec':<28} {'bytes':>8} {'bpp':>7} {'CR':>8} {'PSNR dB':>8} {'(own range)':>11} {'SSIM':>7}")
    for r in rows:
        print(f"{r.codec:<28} {r.file_bytes:>8} {r.bpp:>7.3f} {r.compression_ratio:>7.1f}: {r.psnr:>8.2f} "
              f"{r.psnr_own_range:>11.2f} {r.ssim:>7.4f}")
    print("PSNR with R = 2^bits_stored - 1 (and with the image's own max - min); CR against the stored bit depth.")
    print(f"figure: {args.output}")
    return ExitCode.OK


def _run_train(args: argparse.Namespace) -> ExitCode:
    from mcz.errors import require

    require("lightning", "train")
    from mcz.training.config import TrainConfig
    from mcz.training.run import train

    fields = {k: v for k, v in vars(args).items() if k in TrainConfig.__dataclass_fields__ and v is not None}
    fields["export_to"] = args.export_to or None
    fields.setdefault("out", f"runs/{args.model_id or args.model}")
    config = TrainConfig(**fields)
    meta = train(config)
    print(json.dumps({"step": meta["step"], "metrics": meta["metrics"], "export": meta.get("export", {}).get("file")}))
    return ExitCode.OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``mcz`` command; returns the process exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    try:
        return int(args.run(args))
    except McZError as exc:
        if args.verbose:
            traceback.print_exc()
        print(f"mcz: error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("mcz: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - last resort: one line, traceback on request
        if args.verbose:
            traceback.print_exc()
        print(f"mcz: internal error: {type(exc).__name__}: {exc} (rerun with -v for a traceback)", file=sys.stderr)
        return int(ExitCode.INTERNAL)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
