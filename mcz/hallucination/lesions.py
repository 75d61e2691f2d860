"""Synthetic lesions and blob detection: does a decoder keep what is there and add nothing else?

* :func:`insert_disc` adds an anti-aliased disc (diameter 3-15 px) at a contrast of 1-5 % of
  the image's range, the faint-lesion regime where a generative decoder's texture competes.
* :func:`contrast_recovery`: the disc's mean amplitude in the decoded lesion image minus the
  decoded lesion-free image, over the inserted amplitude (1 = kept, 0 = erased).
* :func:`matched_filter_score` and :func:`auc`: a zero-mean disc template correlated with the
  decoded image at the lesion's site; the AUC separates lesion sites in lesion images from the
  same sites in lesion-free images (the ideal observer for a known signal in white noise).
* :func:`new_blobs`: Laplacian-of-Gaussian blobs (scikit-image ``blob_log``) present after
  decoding and absent before (no original blob within the larger radius + 2 px).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# One blob detector for the safeguards and the realistic decoder's guard.
from mcz.codec.blobguard import BLOB_THRESHOLD, blobs, display_range, unmatched  # noqa: F401

#: Diameters (px) and contrasts (fraction of the image's range) of the inserted discs.
DIAMETERS = (3, 5, 9, 15)
CONTRASTS = (0.01, 0.02, 0.05)


@dataclass(frozen=True)
class Lesion:
    """One inserted disc: centre (row, column), diameter in pixels, contrast (fraction of range, signed)."""

    row: int
    column: int
    diameter: int
    contrast: float


def disc(diameter: int, supersample: int = 8) -> np.ndarray:
    """An anti-aliased disc of ``diameter`` px on a square grid of side ``diameter + 2`` (values 0..1)."""
    side = diameter + 2
    n = side * supersample
    centre = side / 2
    coords = (np.arange(n) + 0.5) / supersample
    inside = ((coords[:, None] - centre) ** 2 + (coords[None, :] - centre) ** 2) <= (diameter / 2) ** 2
    return inside.reshape(side, supersample, side, supersample).mean(axis=(1, 3))


def insert_disc(image: np.ndarray, lesion: Lesion, value_range: float) -> np.ndarray:
    """``image`` (float64 copy) with ``lesion`` added at ``contrast * value_range``."""
    out = np.asarray(image, np.float64).copy()
    patch = disc(lesion.diameter) * lesion.contrast * value_range
    half = patch.shape[0] // 2
    r0, c0 = lesion.row - half, lesion.column - half
    out[r0 : r0 + patch.shape[0], c0 : c0 + patch.shape[1]] += patch
    return out


def _window(image: np.ndarray, lesion: Lesion) -> np.ndarray:
    side = lesion.diameter + 2
    half = side // 2
    return np.asarray(image, np.float64)[lesion.row - half : lesion.row - half + side,
                                         lesion.column - half : lesion.column - half + side]


def contrast_recovery(with_lesion: np.ndarray, without: np.ndarray, lesion: Lesion, value_range: float) -> float:
    """Recovered over inserted amplitude, weighted by the disc profile (1 = exactly kept)."""
    weights = disc(lesion.diameter)
    diff = _window(with_lesion, lesion) - _window(without, lesion)
    recovered = float((diff * weights).sum() / (weights * weights).sum())
    return recovered / (lesion.contrast * value_range)


def matched_filter_score(image: np.ndarray, lesion: Lesion, margin: int = 4) -> float:
    """Correlation of the zero-mean disc template (with a ``margin`` background ring) at the lesion site."""
    template = np.pad(disc(lesion.diameter), margin)
    template = template - template.mean()
    side = template.shape[0]
    half = side // 2
    patch = np.asarray(image, np.float64)[lesion.row - half : lesion.row - half + side,
                                          lesion.column - half : lesion.column - half + side]
    return float((patch * template).sum() * np.sign(lesion.contrast))


def auc(positives: list[float], negatives: list[float]) -> float:
    """Area under the ROC curve (Mann-Whitney U / (n_pos * n_neg); ties count one half)."""
    pos, neg = np.asarray(positives, np.float64), np.asarray(negatives, np.float64)
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def new_blobs(original: np.ndarray, decoded: np.ndarray, value_range: float,
              threshold: float = BLOB_THRESHOLD) -> int:
    """Blobs of ``decoded`` with no blob of ``original`` within the larger radius + 2 px."""
    return int(unmatched(blobs(decoded, value_range, threshold), blobs(original, value_range, threshold)).sum())


def place_lesions(image: np.ndarray, rng: np.random.Generator, count: int, margin: int = 24) -> list[Lesion]:
    """``count`` lesions at random sites inside the anatomy (pixels above the image's 30th percentile).

    Contrasts cycle fastest through :data:`CONTRASTS`, then :data:`DIAMETERS` (12 lesions hold every
    pair); the sign alternates.  Sites are at least 24 px apart and from the border, so windows never
    overlap.
    """
    rows, cols = image.shape
    body = np.argwhere(image[margin:-margin, margin:-margin] > np.percentile(image, 30)) + margin
    out: list[Lesion] = []
    for attempt in range(2000):
        if len(out) == count or len(body) == 0:
            break
        r, c = body[rng.integers(len(body))]
        if all(abs(r - o.row) >= margin or abs(c - o.column) >= margin for o in out):
            k = len(out)
            sign = 1.0 if k % 2 == 0 else -1.0  # bright and dark lesions alike
            # Every (diameter, contrast) pair once per 12 lesions (4 diameters x 3 contrasts).
            out.append(Lesion(int(r), int(c), DIAMETERS[(k // len(CONTRASTS)) % len(DIAMETERS)],
                              sign * CONTRASTS[k % len(CONTRASTS)]))
    return out
