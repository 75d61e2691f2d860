"""``mcz bench --downstream``: arguments of the downstream diagnosis (work: :mod:`mcz.downstream.run`).

Adding the arguments imports nothing heavy; :func:`run_downstream` imports torch
when the command runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from mcz.errors import ExitCode, UsageError

DEFAULT_OUT_QUICK = Path("bench/results/downstream")
DEFAULT_OUT_FULL = Path("bench/results/downstream-full")


def _names(text: str) -> tuple[str, ...]:
    values = tuple(v.strip() for v in text.split(",") if v.strip())
    if not values:
        raise argparse.ArgumentTypeError("expected at least one name")
    return values


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add ``--downstream`` and its options to the ``bench`` parser (``--codecs``, ``--targets``, ``--out``,
    ``--quick``, ``--plot`` are shared with bench: codecs, target ratios, run folder, preset, plots)."""
    g = p.add_argument_group(
        "downstream diagnosis (--downstream)",
        "tumour/no-tumour classifiers on Br35H test groups decoded at matched compression ratios; protocols "
        "a (train on originals), b (train and test on the same codec/ratio), c (train on a mix of ratios). "
        "--targets gives the ratios (default: the papers' 13), --codecs the codecs (default jpeg,j2k,"
        "mcz:cae-compact), --quick the ~5-minute preset (tiny CNN, protocol a, 3 ratios). Verdicts by "
        "non-inferiority (docs/downstream.md). Resumable: rerun with the same --out",
    )
    g.add_argument(
        "--downstream", action="store_true", help="run the downstream diagnosis instead of the rate bench"
    )
    g.add_argument(
        "--classifiers",
        type=_names,
        help="tinycnn, smallcnn, mobilenet_v2, resnet50 (default: tinycnn, smallcnn, resnet50; quick: tinycnn)",
    )
    g.add_argument("--protocols", type=_names, help="a,b,c (default all; quick a)")
    g.add_argument(
        "--train-targets",
        type=str,
        help="ratios of protocols b and c (default: --targets; quick 16.99)",
    )
    g.add_argument(
        "--resolution", type=int, help="classifier input pixels (multiple of 16; default 224, quick 64)"
    )
    g.add_argument("--source", type=int, help="pixels of the coded 8-bit originals (default 224)")
    g.add_argument("--train-limit", type=int, help="training images, whole groups (default all; quick 400)")
    g.add_argument("--test-limit", type=int, help="test images, whole groups (default all 599; quick 120)")
    g.add_argument("--epochs", type=int, help="classifier epochs (default 30; quick 10)")
    g.add_argument("--task-steps", type=int, help="fine-tuning steps of the task-aware codec; 0 skips it (quick: skipped)")
    g.add_argument("--device", help="classifier training device: cpu (default) or cuda")
    g.add_argument(
        "--cache", type=Path, help="decoded sets and trained models (default runs/downstream-cache)"
    )


def _expand_codecs(names) -> tuple[str, ...]:
    """``mcz`` stands for every installed model (``mcz:<id>``, by id), as in the rate bench."""
    out: list[str] = []
    for name in names:
        if name == "mcz":
            # lazy: the mcz command builds its parser from this module: no numpy (mcz.codec.zoo)
            from mcz.codec import zoo

            out += [f"mcz:{i}" for i in sorted(zoo.available_ids())]
        else:
            out.append(name)
    return tuple(dict.fromkeys(out))


def config_from(args: argparse.Namespace):
    # lazy: the mcz command builds its parser from this module: no numpy, torch (mcz.downstream.run)
    from mcz.downstream import run

    base = run.QUICK if args.quick else run.FULL
    changes: dict = {}
    if args.codecs:
        changes["codecs"] = _expand_codecs(c.strip() for c in args.codecs.split(",") if c.strip())
    if args.targets:
        changes["ratios"] = tuple(args.targets)
        changes["train_ratios"] = tuple(args.targets)
    if args.train_targets:
        try:
            changes["train_ratios"] = tuple(float(v) for v in args.train_targets.split(",") if v.strip())
        except ValueError:
            raise UsageError(
                f"found --train-targets {args.train_targets!r}; expected numbers, e.g. 8.67,33.99"
            ) from None
    for name in ("classifiers", "protocols"):
        if getattr(args, name):
            changes[name] = getattr(args, name)
    for name in (
        "resolution",
        "source",
        "train_limit",
        "test_limit",
        "epochs",
        "task_steps",
        "cache",
        "device",
    ):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    if changes.get("task_steps") == 0:
        changes["task_aware"] = False
    cfg = dataclasses.replace(base, **changes)
    if cfg.resolution % 16 or cfg.resolution < 16:
        raise UsageError(f"found --resolution {cfg.resolution}; expected a multiple of 16")
    if any(r <= 1 for r in cfg.ratios + cfg.train_ratios):
        raise UsageError("found a target ratio <= 1; expected lossy ratios above 1")
    return cfg


def run_downstream(args: argparse.Namespace) -> ExitCode:
    """Run (or resume) the downstream diagnosis and write its reports."""
    # lazy: the mcz command builds its parser from this module: no numpy, torch (mcz.downstream.run)
    from mcz.downstream import run

    cfg = config_from(args)
    out = args.out or (DEFAULT_OUT_QUICK if args.quick else DEFAULT_OUT_FULL)
    summary = run.run(cfg, Path(out), plot=args.plot)
    for p, by_k in summary["highest_safe_ratio"].items():
        for k, by_codec in by_k.items():
            text = ", ".join(
                f"{c} {'none' if v is None else (v if isinstance(v, str) else f'{v:g}:1')}"
                for c, v in by_codec.items()
            )
            print(f"mcz downstream: highest safe ratio, protocol {p}, {k}: {text}", file=sys.stderr)
    return ExitCode.OK
