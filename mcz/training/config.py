"""The settings of one training run (light: importable without torch or Lightning)."""

from __future__ import annotations

from dataclasses import dataclass

from mcz.errors import UsageError


@dataclass
class TrainConfig:
    """Everything ``mcz train`` takes; recorded in the state and the manifest."""

    model: str
    data: str = "br35h"
    out: str = "runs/train"
    model_id: str | None = None
    bits: int | None = None
    patch: int = 128
    batch_size: int = 8
    max_steps: int = 1000
    lr: float = 1e-4
    loss: str = "mse"
    schedule: str = "cosine"
    warmup: int = 200
    total_steps: int | None = None
    val_images: int = 64
    val_every: int = 500
    save_every: int = 200
    seed: int = 0
    accelerator: str = "cpu"
    devices: str = "1"
    num_nodes: int = 1  # Lightning: machines, each running `devices` processes
    strategy: str = "auto"  # Lightning: auto, ddp (one process per device, gradients all-reduced), ...
    threads: int = 2
    limit_images: int | None = None
    export_to: str | None = None
    epochs: int | None = None
    rate_weight: float = 0.0  # cae family: entropy regulariser weight (bits per pixel)
    rounds: int | None = None  # wavelet family: fitting rounds (default 3)
    init: str | None = None  # start a new run from an installed model's weights (e.g. continue cae-seed)
    time_budget: str | None = None  # stop after this long ("90s", "9m", "2h"): fixed-time runs on a lent GPU


def parse_duration(text: str) -> float:
    """Seconds of a duration written as ``90``, ``90s``, ``9m`` or ``2h``.

    Raises
    ------
    UsageError
        Anything else, or a duration that is not positive.
    """
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    body, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, "s")
    try:
        seconds = float(body) * units[unit]
    except ValueError:
        seconds = float("nan")
    if not seconds > 0:
        raise UsageError(f"--time-budget {text!r} is not a duration; expected a positive number of seconds, "
                         "optionally with s, m or h (e.g. 9m)")
    return seconds
