"""Measure a codec on held-out images through the real encode/decode path.

Every number comes from the actual ``.mcz`` bytes (bpp counts the whole file) and
the decoded pixels; JPEG 2000 is coded on the same images at the same size.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np

from mcz import metrics
from mcz.baselines.matching import code_at_size
from mcz.baselines.standard import JPEG2000
from mcz.codec import engine
from mcz.io import MedicalImage


@dataclass(frozen=True)
class Scores:
    """Means over images (PSNR averaged in dB, R = 2^bits_stored - 1)."""

    images: int
    bpp: float
    compression_ratio: float
    psnr: float
    ssim: float
    jpeg2000_bpp: float
    jpeg2000_psnr: float
    jpeg2000_ssim: float

    def to_dict(self) -> dict[str, float]:
        """Rounded, JSON-safe."""
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def evaluate(codec: engine.Codec, images: Iterable[MedicalImage], quality: int | None = None) -> Scores:
    """Encode, decode and score every image with ``codec`` and with JPEG 2000 at the same size."""
    rows = []
    for image in images:
        data = engine.encode_image(image, codec, quality=quality)
        decoded = engine.decode_bytes(data, codec=codec)
        j2k, j2k_bytes = code_at_size(JPEG2000, image, len(data))
        it, n = image.intensity, image.pixels.size
        rows.append((
            metrics.bpp(len(data), n),
            metrics.compression_ratio(len(data), n, it.bits_stored, it.dtype),
            metrics.psnr(image.pixels, decoded, it.data_range),
            metrics.ssim(image.pixels, decoded, it.data_range),
            metrics.bpp(j2k_bytes, n),
            metrics.psnr(image.pixels, j2k, it.data_range),
            metrics.ssim(image.pixels, j2k, it.data_range),
        ))
    mean = np.mean(np.array(rows), axis=0)
    return Scores(len(rows), *map(float, mean))
