"""Task-aware codec: fine-tune an mcz model with a feature-preservation loss.

The mcz network (e.g. ``cae-compact``) is fine-tuned on random ``crop x crop``
crops of the *training* images (never the test groups) with

    loss = MSE(x_hat, x) + weight * mean_l ||F_l(down(x_hat)) - F_l(down(x))||^2 / mean(F_l(down(x))^2)

where ``F_l`` are the ReLU outputs of the convolution trunk of a frozen
classifier trained on originals (protocol a), ``down`` resizes by
``resolution / source`` as the classifier's input pipeline does, and ``x_hat`` is
the reconstruction through the usual uniform-noise stand-in of the latent
quantiser, at latent bits drawn from the model's quality range.  The result is
an in-memory engine codec with the same architecture and id but its own weight
hash, put behind the :class:`~mcz.baselines.contract.BaselineCodec` contract
(:func:`mcz.baselines.mcz_codec.weights_codec`) as ``mcz:<id>+task`` and matched per
image to the same ratios as the others.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mcz.baselines.contract import BaselineCodec
from mcz.baselines.mcz_codec import MCZ_PREFIX, weights_codec
from mcz.codec import zoo
from mcz.codec.families import model_family_for
from mcz.downstream import classifiers
from mcz.fsutil import atomic_write_bytes

SUFFIX = "+task"
CROP, BATCH, LR = 112, 8, 1e-4


def name_of(base: str) -> str:
    """Bench name of the task-aware variant of ``mcz:<id>``."""
    return base + SUFFIX


def _features(trunk, x) -> list:
    out = []
    for layer in trunk:
        x = layer(x)
        if isinstance(layer, (nn.ReLU, nn.ReLU6)):
            out.append(x)
    return out or [x]


def finetune(
    base_id: str,
    classifier,
    frames: np.ndarray,
    *,
    steps: int,
    weight: float,
    resolution: int,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Fine-tuned state dict of ``base_id`` (see the module docstring)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    entry = zoo.find_checkpoint(base_id)
    spec = entry.spec
    model = model_family_for(spec).build(spec.config)
    model.load_state_dict(zoo.load_state_dict(entry))
    model.train()
    trunk = classifiers.feature_layers(classifier).eval()
    for p in trunk.parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    source = frames.shape[-1]
    crop = min(CROP, source)
    small = max(8, round(crop * resolution / source))
    lo, hi = spec.quality_range
    for step in range(steps):
        idx = rng.integers(0, len(frames), BATCH)
        ys, xs = rng.integers(0, source - crop + 1, BATCH), rng.integers(0, source - crop + 1, BATCH)
        batch = np.stack([frames[i, y : y + crop, x : x + crop] for i, y, x in zip(idx, ys, xs)])
        x = torch.from_numpy(batch).float().div_(255.0).unsqueeze(1)
        bits = int(rng.integers(max(lo, 2), hi + 1))
        x_hat = model(x, bits)["x_hat"]
        mse = F.mse_loss(x_hat, x)

        def down(t):
            return F.interpolate(t, size=(small, small), mode="bilinear", antialias=True, align_corners=False)

        with torch.no_grad():
            ref = _features(trunk, down(x))
        got = _features(trunk, down(x_hat))
        feat = sum(F.mse_loss(g, r) / (r.pow(2).mean() + 1e-8) for g, r in zip(got, ref)) / len(ref)
        loss = mse + weight * feat
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if log and (step + 1) % max(1, steps // 6) == 0:
            log(
                f"task-aware {base_id} step {step + 1}/{steps}: "
                f"mse {float(mse.detach()):.5f} feature {float(feat.detach()):.4f}"
            )
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def task_codec(base_id: str, state: dict) -> BaselineCodec:
    """The fine-tuned weights as ``mcz:<id>+task`` (:func:`mcz.baselines.mcz_codec.weights_codec`)."""
    return weights_codec(
        base_id,
        state,
        name=name_of(MCZ_PREFIX + base_id),
        notes=f"{base_id} fine-tuned with a classifier feature-preservation loss; whole .mcz file",
    )


def task_aware_codec(
    base_id: str, classifier, train_frames: np.ndarray, config, log: Callable[[str], None] | None = None
) -> BaselineCodec:
    """Fine-tune (or load the cached fine-tune of) ``base_id`` and wrap it as a bench codec."""
    key = hashlib.sha256(
        repr(
            (
                base_id,
                config.task_steps,
                config.task_weight,
                config.resolution,
                config.seed,
                hashlib.sha1(train_frames.tobytes()).hexdigest(),
                hashlib.sha1(
                    b"".join(v.numpy().tobytes() for v in classifier.state_dict().values())
                ).hexdigest(),
            )
        ).encode()
    ).hexdigest()[:16]
    path = config.cache / "models" / f"taskaware-{base_id}-{key}.pt"
    if path.is_file():
        state = torch.load(path, weights_only=True)
    else:
        state = finetune(
            base_id,
            classifier,
            train_frames,
            steps=config.task_steps,
            weight=config.task_weight,
            resolution=config.resolution,
            seed=config.seed,
            log=log,
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        torch.save(state, buf)
        atomic_write_bytes(path, buf.getvalue(), overwrite=True)
    return task_codec(base_id, state)
