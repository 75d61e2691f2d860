"""Per-image operating points: the frames of an image pooled at each point, and its Pareto front.

The frames of an image are pooled at each operating point (bpp from the summed
bytes and pixels, PSNR from the pixel-weighted mean MSE, SSIM pixel-weighted), so
a volume counts as one image (docs/references.md).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mcz import metrics
from mcz.baselines.standard import STANDARD_CODECS

@dataclass(frozen=True)
class Point:
    """One codec at one operating point on one image, its frames pooled."""

    set: str
    image_id: str
    codec: str
    point: str
    lossless: bool
    bits_stored: int  # with dtype: the storage width of CR
    bits: int  # bits of the value range R (bits_coded): what PSNR is relative to
    dtype: str
    frames: int
    bpp: float
    cr: float
    psnr: float
    ssim: float


def _pool(rows: list[dict[str, Any]]) -> Point:
    first = rows[0]
    pixels = np.array([r["rows"] * r["columns"] for r in rows], np.float64)
    nbytes = float(sum(r["bytes"] for r in rows))
    mse = float(np.dot(pixels, [r["mse"] for r in rows]) / pixels.sum())
    r_peak = float(first["data_range"])
    width = metrics.storage_bytes_per_pixel(first["bits_stored"], first["dtype"])
    return Point(
        set=first["set"],
        image_id=first["image_id"],
        codec=first["codec"],
        point=first["point"],
        lossless=bool(first["lossless"]),
        bits_stored=int(first["bits_stored"]),
        bits=int(first["bits_coded"]),
        dtype=first["dtype"],
        frames=len(rows),
        bpp=8.0 * nbytes / pixels.sum(),
        cr=pixels.sum() * width / nbytes,
        psnr=math.inf if mse == 0 else 10.0 * math.log10(r_peak**2 / mse),
        ssim=float(np.dot(pixels, [r["ssim"] for r in rows]) / pixels.sum()),
    )


def image_points(rows: Sequence[dict[str, Any]]) -> list[Point]:
    """Every (image, codec, point) with all of the image's frames coded, frames pooled."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    frames: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        groups[(row["image_id"], row["codec"], row["point"])].append(row)
        frames[row["image_id"]].add(row["frame"])
    # A point missing a frame (a failed cell) would compare codecs on different pixels.
    return [_pool(g) for (image, _, _), g in groups.items() if {r["frame"] for r in g} == frames[image]]


def pareto(points: Iterable[Point]) -> tuple[np.ndarray, np.ndarray]:
    """``(bpp, psnr)`` of the lossy points on the Pareto front, by rising rate and PSNR."""
    lossy = sorted((p.bpp, p.psnr) for p in points if not p.lossless and math.isfinite(p.psnr))
    front: list[tuple[float, float]] = []
    for rate, quality in lossy:
        if not front or quality > front[-1][1]:
            if front and rate == front[-1][0]:
                front.pop()
            front.append((rate, quality))
    return np.array([r for r, _ in front]), np.array([q for _, q in front])


def codecs_in(rows: Iterable[dict[str, Any]]) -> list[str]:
    """Codec names in registry order (:data:`~mcz.baselines.standard.STANDARD_CODECS`), then the others by name."""
    order = {name: i for i, name in enumerate(STANDARD_CODECS)}
    names = {r["codec"] for r in rows}
    return sorted(names, key=lambda n: (n not in order, order.get(n, 0), n))
