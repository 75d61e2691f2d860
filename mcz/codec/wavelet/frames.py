"""Frames for fitting and validating wavelet models: unit-window pixels with their data range.

A frame is coded exactly as the engine codes it (window = the image's own
min..max, step relative to R = 2**bits_stored - 1), so what is fitted here is
what ``mcz encode`` sees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcz.datasets import br35h, volumes


@dataclass(frozen=True)
class UnitFrame:
    """One frame in the unit window, with what is needed to score it in stored units."""

    name: str
    pixels: np.ndarray  # stored values, float64
    low: float
    high: float
    peak: float  # R = 2**bits_stored - 1

    @property
    def unit(self) -> np.ndarray:
        return (self.pixels - self.low) / (self.high - self.low)

    @property
    def range_per_unit(self) -> float:
        return self.peak / (self.high - self.low)

    def to_stored(self, unit: np.ndarray) -> np.ndarray:
        """Back to stored values as the engine does (round, clip to the window)."""
        return np.clip(np.rint(unit.astype(np.float64) * (self.high - self.low) + self.low), self.low, self.high)

    def psnr(self, stored: np.ndarray) -> float:
        mse = float(np.mean((stored - self.pixels) ** 2))
        return float("inf") if mse == 0 else 10 * np.log10(self.peak**2 / mse)


def _volume_frames(name: str, image, count: int, phase: float = 0.5) -> list[UnitFrame]:
    pixels = image.pixels.astype(np.float64)
    low, high = float(pixels.min()), float(pixels.max())
    peak = float(2**image.intensity.bits_stored - 1)
    picks = sorted({int((i + phase) * len(pixels) / count) for i in range(min(count, len(pixels)))})
    return [UnitFrame(f"{name}[{k}]", pixels[k], low, high, peak) for k in picks]


def br35h_frames(split: str, limit: int) -> list[UnitFrame]:
    """Grey Br35H images of a split (8-bit, R = 255)."""
    out = []
    for name in br35h.splits()["splits"][split][:limit]:
        px = br35h.load_grey(name).astype(np.float64)
        low, high = float(px.min()), float(px.max())
        if high > low:
            out.append(UnitFrame(f"br35h/{name}", px, low, high, 255.0))
    return out


def ctmr_frames(split: str, per_volume: int) -> list[UnitFrame]:
    """Evenly spaced slices of the CT/MR volumes of a split (12-bit ranges, R = 4095)."""
    names = volumes.CTMR_SPLITS[split]
    return [f for n in names for f in _volume_frames(f"ctmr/{n}", volumes.load_volume(n), per_volume)]


def ctmr_tuning_frames(per_volume: int = 4) -> list[UnitFrame]:
    """The CT/MR tuning set: slices of the *training* volumes between those any fit uses.

    Slice ``int((i + 0.25) * n / per_volume)`` of each training volume (fits take
    ``int((i + 0.5) * n / count)``): in-distribution, so it ranks ideas; only the test split's
    benchmark says how far a model got.
    """
    return [f for n in volumes.CTMR_SPLITS["train"]
            for f in _volume_frames(f"ctmr/{n}", volumes.load_volume(n), per_volume, phase=0.25)]
