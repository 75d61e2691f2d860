"""An in-memory bank of training images and random patches drawn from it.

Each image keeps its stored dtype (uint8 for 8-bit MRI: small in memory) and its
own coding window (min..max), the same window the encoder uses
(:func:`mcz.codec.engine.coding_window`), so training sees exactly the inputs the
codec will see.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset


@dataclass(frozen=True)
class BankImage:
    """One 2-D frame and the window that maps it to [0, 1]."""

    pixels: np.ndarray
    low: float
    high: float

    @classmethod
    def of(cls, pixels: np.ndarray, low: float | None = None, high: float | None = None) -> "BankImage":
        """Wrap a frame; the window defaults to the frame's own min..max."""
        lo = float(pixels.min()) if low is None else low
        hi = float(pixels.max()) if high is None else high
        return cls(np.ascontiguousarray(pixels), lo, hi if hi > lo else lo + 1)

    def unit(self, top: int, left: int, size: int) -> np.ndarray:
        """A ``size`` x ``size`` crop in [0, 1] (reflect-padded if the frame is smaller)."""
        crop = self.pixels[top : top + size, left : left + size].astype(np.float32)
        pad = ((0, size - crop.shape[0]), (0, size - crop.shape[1]))
        if pad[0][1] or pad[1][1]:
            crop = np.pad(crop, pad, mode="reflect" if min(crop.shape) > 1 else "edge")
        return (crop - self.low) / (self.high - self.low)


class RandomPatches(Dataset):
    """``length`` random patches (with flips) per epoch; seeded per index for repeatability."""

    def __init__(self, images: Sequence[BankImage], patch: int, length: int, seed: int = 0) -> None:
        if not images:
            raise ValueError("no training images")
        self.images, self.patch, self.length, self.seed = list(images), patch, length, seed
        self.epoch = 0

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> torch.Tensor:
        rng = np.random.default_rng((self.seed, self.epoch, index))
        image = self.images[rng.integers(len(self.images))]
        rows, cols = image.pixels.shape
        top = int(rng.integers(max(1, rows - self.patch + 1)))
        left = int(rng.integers(max(1, cols - self.patch + 1)))
        patch = image.unit(top, left, self.patch)
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        if rng.random() < 0.5:
            patch = patch[::-1, :]
        return torch.from_numpy(np.ascontiguousarray(patch))[None]


class CentreCrops(Dataset):
    """Fixed centre crops for validation (the same every epoch)."""

    def __init__(self, images: Sequence[BankImage], patch: int) -> None:
        self.images, self.patch = list(images), patch

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        image = self.images[index]
        rows, cols = image.pixels.shape
        top, left = max(0, (rows - self.patch) // 2), max(0, (cols - self.patch) // 2)
        return torch.from_numpy(np.ascontiguousarray(image.unit(top, left, self.patch)))[None]
