"""``environment.json`` of a run folder: one record per invocation (versions, settings, machine, counts)."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcz import __version__
from mcz.errors import UsageError
from mcz.fsutil import atomic_write_bytes

if TYPE_CHECKING:
    from mcz.bench.runner import RunOptions, RunStats
    from mcz.bench.sets import BenchImage



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
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def environment(
    options: RunOptions, stats: RunStats, images: Sequence[BenchImage], argv: Sequence[str] | None = None
) -> dict[str, Any]:
    """The record of one invocation: versions, codecs and their settings, machine, counts."""
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
