"""``mcz engine build|status``: TensorRT engines of a learned model's synthesis (argument parsing only)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mcz.errors import ExitCode


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``mcz engine`` and its subcommands."""
    p = sub.add_parser("engine", help="build TensorRT engines of a learned model's synthesis on this GPU (mcz[gpu])",
                       description="Engines are built on the machine that decodes, cached by (TensorRT version, "
                       "GPU, compute capability, graph sha256, input profile, precision) and never shipped "
                       "(docs/gpu.md).")
    commands = p.add_subparsers(dest="engine_command", required=True, metavar="ACTION")
    build = commands.add_parser("build", help="build (or find cached) the engine of MODEL")
    build.add_argument("model", help="installed model id of the factorized or hyperprior family")
    precision = build.add_mutually_exclusive_group()
    precision.add_argument("--fp16", dest="precision", action="store_const", const="fp16",
                           help="FP16 layers, FP32 normalisers, last layer and I/O (default)")
    precision.add_argument("--fp32", dest="precision", action="store_const", const="fp32", help="FP32 throughout")
    build.set_defaults(precision="fp16")
    build.add_argument("--max-size", nargs=2, type=int, metavar=("H", "W"), default=None,
                       help="largest tile in pixels the engine accepts (default 512 512; multiples of 16)")
    build.add_argument("--max-batch", type=int, default=None, help="largest batch of tiles (default 8)")
    build.add_argument("--cache", type=Path, default=None,
                       help="engine cache folder (default $MCZ_ENGINE_CACHE or ~/.cache/mcz/engines)")
    build.add_argument("--rebuild", action="store_true", help="build even if a cached engine exists")
    build.add_argument("--json", action="store_true", help="one JSON object on stdout")
    build.set_defaults(run=_run_build)
    status = commands.add_parser("status", help="what GPU runtime is here and what --backend auto would pick")
    status.add_argument("--json", action="store_true", help="one JSON object on stdout")
    status.set_defaults(run=_run_status)


def _run_build(args: argparse.Namespace) -> ExitCode:
    # lazy: off the start-up path of the mcz command (mcz.cli.main)
    from mcz.codec import engine
    from mcz.codec.gpu import engines

    codec = engine.load_codec(args.model)
    path, built = engines.build_engine(codec, args.precision, tuple(args.max_size or engines.DEFAULT_MAX_SIZE),
                                       args.max_batch or engines.DEFAULT_MAX_BATCH, args.cache, args.rebuild)
    result = {"model": args.model, "precision": args.precision, "engine": str(path), "built": built,
              "key": json.loads(path.with_suffix(".json").read_text())}
    print(json.dumps(result) if args.json else f"{args.model} ({args.precision}): {path} "
          f"({'built' if built else 'cached'})")
    return ExitCode.OK


def _run_status(args: argparse.Namespace) -> ExitCode:
    # lazy: off the start-up path of the mcz command (mcz.cli.main)
    from mcz.codec.gpu import device, engines, select

    cuda, trt = device.probe_cuda(), device.probe_tensorrt()
    choice = select.choose(("torch", "onnxruntime", "cuda", "tensorrt"), "hyperprior")
    result = {"cuda": {"ok": cuda.ok, "found": cuda.found}, "tensorrt": {"ok": trt.ok, "found": trt.found},
              "auto": {"backend": choice.backend, "reason": choice.reason}, "engine_cache": str(engines.cache_dir())}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"cuda:     {'yes' if cuda.ok else 'no'}: {cuda.found}")
        print(f"tensorrt: {'yes' if trt.ok else 'no'}: {trt.found}")
        print(f"auto:     {choice.backend} ({choice.reason}) for learned models; the others decode on the CPU")
        print(f"engines:  {engines.cache_dir()}")
    return ExitCode.OK
