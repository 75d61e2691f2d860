"""Training the inter-scale predictor of :mod:`mcz.codec.wavelet.predict` (torch).

Each predicted level has its own small CNN, trained by gradient on pairs (decoded low band,
detail bands) cut from training frames coded at qualities across the model's range: the coarser
levels are rounded to the quantiser's grid and transformed back, as a decoder would have them,
and the loss is the mean absolute residual (the rate of a Laplace-coded residual grows with it).
The output layer starts at zero, so an untrained predictor predicts nothing and the codec codes
exactly as without it; training only lowers the residuals from there.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 - the usual name

from mcz.codec.wavelet import coder, lifting, predict
from mcz.codec.wavelet.frames import UnitFrame

#: Qualities per frame drawn for the training pairs, and the crop side and batch of a step.
QUALITIES_PER_FRAME = 4
CROP = 64
BATCH = 16

Pair = tuple[np.ndarray, np.ndarray]  # (low band (rows, cols), details (3, rows, cols)), float32


class LevelNet(nn.Module):
    """One level's CNN in float, the form :class:`mcz.codec.wavelet.predict.Predictor` runs in integers."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        k1, k2, k3 = predict.KERNELS
        self.conv1 = nn.Conv2d(1, channels, k1, padding=k1 // 2)
        self.conv2 = nn.Conv2d(channels, channels, k2, padding=k2 // 2)
        self.conv3 = nn.Conv2d(channels, 3, k3, padding=k3 // 2)
        assert self.conv3.bias is not None  # Conv2d has one unless told otherwise
        nn.init.zeros_(self.conv3.weight)  # predicts nothing until trained
        nn.init.zeros_(self.conv3.bias)

    def forward(self, low: torch.Tensor) -> torch.Tensor:
        """Predicted details (batch, 3, rows, cols) from low bands (batch, 1, rows, cols)."""
        side = predict.BOX
        centred = low - F.avg_pool2d(low, side, 1, side // 2, count_include_pad=False)
        deviation = F.avg_pool2d(centred.abs(), side, 1, side // 2, count_include_pad=False) + predict.DEVIATION_FLOOR
        z = (centred / deviation).clamp(-predict.INPUT_CLIP, predict.INPUT_CLIP)
        y = F.relu(self.conv2(F.relu(self.conv1(z))))
        return self.conv3(y) * deviation


def pairs(frames: Sequence[UnitFrame], levels: int, seed: int = 0) -> list[list[Pair]]:
    """Per predicted level (finest first), training pairs from ``frames`` at random qualities.

    A frame's quality range is about 28-60 dB (8-bit) / 40-75 dB (12-bit) against R, as the
    context model's fit uses.
    """
    rng = np.random.default_rng(seed)
    out: list[list[Pair]] = [[] for _ in range(levels)]
    for f in frames:
        bits = int(round(np.log2(f.peak + 1)))
        for quality in rng.integers(4 * bits - 28, 4 * bits + 10, QUALITIES_PER_FRAME):
            for level, pair in _frame_pairs(f, int(quality), levels):
                out[level - 1].append(pair)
    return out


def _frame_pairs(f: UnitFrame, quality: int, levels: int) -> list[tuple[int, Pair]]:
    rows, cols = f.pixels.shape
    depth_total = lifting.levels_for(rows, cols)
    step = coder.step_size(quality, f.range_per_unit)
    u, gains = coder.normalised(f.unit, depth_total, step)
    decoded: lifting.Bands = [np.rint(u[0]) * step / math.sqrt(gains[0])]
    out = []
    for depth in range(1, depth_total + 1):
        level = depth_total - depth + 1
        if level <= levels:
            low = lifting.inverse(decoded) * predict.input_scale(level, step)
            target = np.zeros((3, *low.shape), np.float32)
            known = np.zeros((3, *low.shape), bool)  # a detail band may be a row or column short
            for o in range(3):
                h, w = u[depth][o].shape
                target[o, :h, :w], known[o, :h, :w] = u[depth][o], True
            if min(low.shape) >= 8:
                out.append((level, (low.astype(np.float32), np.where(known, target, np.nan).astype(np.float32))))
        decoded.append(tuple(np.rint(u[depth][o]) * step / math.sqrt(gains[depth][o]) for o in range(3)))
    return out


def _batch(data: list[Pair], rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    lows, targets = [], []
    side = min(CROP, *(min(p[0].shape) for p in data))
    for k in rng.integers(len(data), size=BATCH):
        low, target = data[k]
        i = rng.integers(0, low.shape[0] - side + 1)
        j = rng.integers(0, low.shape[1] - side + 1)
        lows.append(low[i:i + side, j:j + side])
        targets.append(target[:, i:i + side, j:j + side])
    return torch.from_numpy(np.stack(lows))[:, None], torch.from_numpy(np.stack(targets))


def train_level(data: list[Pair], channels: int, steps: int, seed: int = 0,
                log: Callable[[str], None] = print) -> LevelNet:
    """Fit one level's net to ``data`` by Adam on the mean absolute residual."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = LevelNet(channels)
    optimiser = torch.optim.Adam(net.parameters(), 1e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)
    start = time.time()
    for step in range(steps):
        low, target = _batch(data, rng)
        known = ~torch.isnan(target)
        loss = (net(low) - target.nan_to_num())[known].abs().mean()
        optimiser.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        if step % 500 == 0 or step == steps - 1:
            log(f"  step {step}: mean |residual| {float(loss.detach()):.4f} ({time.time() - start:.0f} s)")
    return net


def arrays(nets: Sequence[LevelNet]) -> dict[str, np.ndarray]:
    """The checkpoint arrays (:data:`mcz.codec.wavelet.predict.ARRAYS`) of per-level nets, finest first."""
    out = {}
    for i, name in enumerate(("conv1", "conv2", "conv3"), start=1):
        out[f"predict_w{i}"] = np.stack([getattr(n, name).weight.detach().double().flatten(1).numpy() for n in nets])
        out[f"predict_b{i}"] = np.stack([getattr(n, name).bias.detach().double().numpy() for n in nets])
    return out


def train(frames: Sequence[UnitFrame], levels: int, channels: int, steps: int, seed: int = 0,
          log: Callable[[str], None] = print) -> dict[str, np.ndarray]:
    """Train a predictor for the ``levels`` finest levels; returns its checkpoint arrays."""
    data = pairs(frames, levels, seed)
    nets = []
    for level, level_data in enumerate(data, start=1):
        log(f"level {level}: {len(level_data)} pairs")
        nets.append(train_level(level_data, channels, steps, seed + level, log))
    return arrays(nets)
