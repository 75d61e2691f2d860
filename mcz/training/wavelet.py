"""`mcz train` for the wavelet family: fit the context model to a new modality's images.

The transform is fixed, so "training" is the alternating fit of :func:`mcz.codec.wavelet.fit.fit`
(encode -> maximum-likelihood weights -> centroid offsets -> symbol tables), one round per
``--rounds``. It starts from the installed model of the same id (or ``--init``), so a new
modality refines a model that already codes well, and it runs in minutes on a CPU. The starting
model's inter-scale predictor (:mod:`mcz.codec.wavelet.predict`) is kept as it is: the context
model is refitted to the residuals it leaves (``bench/wavelet_fit.py --predict-from`` retrains it).
"""

from __future__ import annotations

import json
import math
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mcz.codec import engine
from mcz.codec.registry import ModelSpec
from mcz.codec.wavelet import fit
from mcz.codec.wavelet.frames import UnitFrame
from mcz.codec.wavelet.module import WaveletModel
from mcz.training.bank import BankImage
from mcz.training.config import TrainConfig
from mcz.training.sources import describe, load_bank


def bits_of(image: BankImage, bits: int | None) -> int:
    """Stored bit depth of a training frame: ``--bits`` if given, else the least that holds its range."""
    if bits is not None:
        return bits
    return max(8, math.ceil(math.log2(image.high - image.low + 1)))


def unit_frames(bank: list[BankImage], data: str, bits: int | None) -> list[UnitFrame]:
    """Training frames as the engine codes them (window = the frame's own, R = 2**bits - 1)."""
    return [UnitFrame(f"{data}[{i}]", b.pixels.astype(np.float64), b.low, b.high, float(2 ** bits_of(b, bits) - 1))
            for i, b in enumerate(bank)]


def _start(model_id: str) -> WaveletModel:
    """A copy of the installed weights of ``model_id`` (``--init``, else the model named by ``--model``)."""
    model = WaveletModel()
    arrays = engine.load_codec(model_id).model.state_dict()  # the coding form: NumPy arrays
    model.load_state_dict({name: torch.from_numpy(array) for name, array in arrays.items()})
    return model


def train_wavelet(config: TrainConfig, spec: ModelSpec) -> dict[str, Any]:
    """Fit ``config.rounds`` rounds on the train split of ``config.data``; save state and export.

    Returns
    -------
    dict
        The run's meta (``step`` = rounds done, ``metrics``, ``export`` when exported).
    """
    start = time.time()
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    frames = unit_frames(load_bank(config.data, "train", config.limit_images), config.data, config.bits)
    model = _start(config.init or config.model)
    history: list[str] = []
    rounds = config.rounds or 3
    qualities = fit.training_qualities(frames, config.seed)
    fit.fit(model, frames, qualities, rounds=rounds, log=history.append)
    # Then the wavelet-packet children's own classes, on the refitted model (docs/wavelet.md).
    fit.fit_packet_classes(model, frames, qualities, rounds=max(1, rounds - 1), log=history.append)
    from safetensors.torch import save_file  # lazy: keeps safetensors out of import mcz.training.wavelet

    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out / "model.safetensors"))
    meta = {"step": rounds, "config": {**vars(config), "rounds": rounds}, "metrics": {"fit": history[-1] if history else ""},
            "seconds_total": round(time.time() - start, 1),
            "machine": f"{platform.machine()} {torch.get_num_threads()} threads, torch {torch.__version__}, cpu"}
    (out / "state.json").write_text(json.dumps(meta, indent=2))
    if config.export_to:
        meta["export"] = _export(model, spec, config, meta, len(frames))
    return meta


def _export(model: WaveletModel, spec: ModelSpec, config: TrainConfig, meta: dict, frames: int) -> dict:
    # lazy: keeps safetensors (mcz.training.export) out of import mcz.training.wavelet
    from mcz.training.export import export_weights

    provenance = {
        **describe(config.data),
        "data": config.data,
        "recipe": {"fit": "wavelet context model (mcz.codec.wavelet.fit)", "rounds": meta["step"], "frames": frames,
                   "init": config.init or config.model, "seed": config.seed},
        "steps": meta["step"],
        "train_seconds": meta["seconds_total"],
        "machine": meta["machine"],
    }
    assert config.export_to is not None  # train_wavelet exports only when the config names a folder
    return export_weights(model, spec, Path(config.export_to), provenance, half=False)
