"""The blob guard: a realistic decoder may not draw a blob that the MSE decoder's image does not have.

A GAN-trained decoder sharpens, and sharpening draws small bright or dark spots, which in a
medical image read as lesions. The hallucination safeguards count them as *new LoG blobs*
(blobs of the decoded image with no blob of the original nearby, :func:`unmatched`). At decode
time there is no original, but there is the MSE decoder's image of the same latent, which is
the bitstream's own evidence: the guard finds the blobs of the realistic image that the MSE
image lacks (with a margin on both sides of the threshold, :data:`MARGIN`) and blends the MSE pixels back in
over each of them (a disc of 2.2 blob radii + 2 px, the detector's reach, feathered over 4 px so the seam
draws no new spot), until none is left. Texture finer
than the detector's smallest scale (sigma 1 px) and changes that make no blob pass untouched.

The detector is the one the safeguards count with (scikit-image ``blob_log``, sigma 1-5 px,
threshold 0.03 of the image's 1-99.5 % range), so by construction the guarded decoder draws no
blob the MSE decoder's image does not have *for this detector*; the independent checks of
``mcz bench --hallucination`` (H-map components, lesion contrast, classifier flips) are not
guaranteed by it.
"""

from __future__ import annotations

import numpy as np

#: LoG detection threshold on images scaled by :func:`display_range` (about a 5 % contrast disc's response).
BLOB_THRESHOLD = 0.03
#: Extra reach (px) beyond the larger radius within which two blobs are the same blob.
REACH = 2.0
#: A reverted disc reaches this many blob radii (+ REACH): a blob of radius sqrt(2) sigma is a LoG response
#: whose kernel reaches 3 sigma, about 2.1 radii, so the pixels around a spot make it as much as its own.
SUPPORT = 2.2
#: Width (px) of the blend from the MSE pixels back to the realistic ones around a reverted blob.
FEATHER = 4.0
#: The realistic image's blobs are looked for at this fraction of the threshold and the MSE image's at the
#: threshold divided by it: the guard's view (its range comes from the MSE image, not the unknown original)
#: differs a little from the counter's, and a borderline spot must count against the realistic decoder,
#: never for it. Conservative on purpose.
MARGIN = 0.8
#: The guard's own test of "the same blob": centres at most this far apart (px), whatever the radii, and
#: each MSE blob vouches for one realistic blob only. Much stricter than the counter's radius + 2 px: a
#: spot the decoder moved, grew or doubled is a spot it drew. 0: the same pixel. At 1.5 px a realistic
#: blob one pixel off an MSE blob that the counter matched to the original could itself miss the
#: original (the counter's reach depends on the radii): the quick run with wavelet-ctx-114a0967 showed
#: one such blob (92 new against the MSE decoder's 91); at 0 it shows none (91 against 91).
GUARD_DISTANCE = 0.0
#: Rounds of detect-and-revert before giving up on a stubborn spot (then its whole disc is reverted).
ROUNDS = 4


def display_range(image: np.ndarray) -> float:
    """The image's range between its 1st and 99.5th percentiles (robust to padding and hot pixels)."""
    low, high = np.percentile(np.asarray(image, np.float64), [1.0, 99.5])
    return float(high - low) or 1.0


def blobs(image: np.ndarray, value_range: float, threshold: float = BLOB_THRESHOLD) -> np.ndarray:
    """LoG blobs (row, column, radius) of ``image`` scaled to [0, 1] by ``value_range``; sigma 1-5 px."""
    from skimage.feature import blob_log  # lazy: scikit-image is only needed by realistic decoding

    scaled = (np.asarray(image, np.float64) - float(np.min(image))) / value_range
    found = blob_log(scaled, min_sigma=1.0, max_sigma=5.0, num_sigma=5, threshold=threshold)
    if len(found) == 0:
        return np.zeros((0, 3))
    found[:, 2] *= np.sqrt(2)  # sigma -> radius
    return found


def unmatched(found: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Which rows of ``found`` have no blob of ``reference`` within the larger radius + :data:`REACH` px."""
    if len(found) == 0 or len(reference) == 0:
        return np.ones(len(found), bool)
    dist = np.hypot(found[:, None, 0] - reference[None, :, 0], found[:, None, 1] - reference[None, :, 1])
    within = np.maximum(found[:, None, 2], reference[None, :, 2]) + REACH
    return ~(dist <= within).any(axis=1)


def _unvouched(found: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Which rows of ``found`` no blob of ``reference`` vouches for (nearest first, one each, within
    :data:`GUARD_DISTANCE`)."""
    out = np.ones(len(found), bool)
    if len(found) == 0 or len(reference) == 0:
        return out
    dist = np.hypot(found[:, None, 0] - reference[None, :, 0], found[:, None, 1] - reference[None, :, 1])
    used = np.zeros(len(reference), bool)
    for i in np.argsort(dist.min(axis=1)):
        candidates = np.flatnonzero((dist[i] <= GUARD_DISTANCE) & ~used)
        if len(candidates):
            used[candidates[np.argmin(dist[i, candidates])]] = True
            out[i] = False
    return out


def _around(shape: tuple[int, ...], spot: np.ndarray, extent: float) -> tuple[tuple[slice, slice], np.ndarray]:
    """The box of ``shape`` holding every pixel within ``extent`` px of ``spot``'s centre, and their distances."""
    r, c = float(spot[0]), float(spot[1])
    top, bottom = max(0, int(np.floor(r - extent))), min(shape[0], int(np.ceil(r + extent)) + 1)
    left, right = max(0, int(np.floor(c - extent))), min(shape[1], int(np.ceil(c + extent)) + 1)
    rows, cols = np.ogrid[top:bottom, left:right]
    return (slice(top, bottom), slice(left, right)), np.hypot(rows - r, cols - c)


def _extent(spot: np.ndarray) -> float:
    """How far a spot's revert reaches: SUPPORT radii + REACH px."""
    return SUPPORT * float(spot[2]) + REACH


def _weights(shape: tuple[int, ...], spots: np.ndarray, feather: float) -> np.ndarray:
    """1 within each spot's :func:`_extent`, falling linearly to 0 over ``feather`` px; the maximum over spots."""
    weight = np.zeros(shape)
    for spot in spots:
        extent = _extent(spot)
        box, dist = _around(shape, spot, extent + feather)
        ramp = (dist <= extent).astype(float) if feather <= 0 else np.clip(1.0 - (dist - extent) / feather, 0.0, 1.0)
        np.maximum(weight[box], ramp, out=weight[box])
    return weight


def _covered(reverted: np.ndarray, spot: np.ndarray) -> bool:
    """Whether every pixel within ``spot``'s :func:`_extent` is wholly the MSE decoder's already."""
    extent = _extent(spot)
    box, dist = _around(reverted.shape, spot, extent)
    return bool(np.all(reverted[box][dist <= extent] >= 1.0))


def guard(realistic: np.ndarray, mse: np.ndarray) -> tuple[np.ndarray, int]:
    """``realistic`` with the MSE pixels blended back over every blob the MSE image lacks.

    Parameters
    ----------
    realistic, mse : numpy.ndarray
        One 2-D frame from each decoder, same shape, any numeric dtype (compared as float64).

    Returns
    -------
    (numpy.ndarray, int)
        The guarded frame (float64) and how many blobs were reverted.
    """
    out = np.asarray(realistic, np.float64).copy()
    reference_image = np.asarray(mse, np.float64)
    scale = display_range(reference_image)
    reference = blobs(reference_image, scale, BLOB_THRESHOLD / MARGIN)
    reverted = np.zeros(out.shape)  # how far each pixel is already the MSE decoder's (1: wholly)
    count = 0
    for round_ in range(ROUNDS):
        extra = blobs(out, scale, MARGIN * BLOB_THRESHOLD)
        extra = extra[_unvouched(extra, reference)]
        # A spot whose whole disc is already the MSE decoder's pixels is the MSE image's own (seen
        # between the two thresholds): reverting it again changes nothing.
        extra = extra[[not _covered(reverted, spot) for spot in extra]]
        if len(extra) == 0:
            break
        count += len(extra)
        # The last round reverts hard discs: a feathered seam that keeps drawing a spot gets none.
        weight = _weights(out.shape, extra, FEATHER if round_ < ROUNDS - 1 else 0.0)
        out = weight * reference_image + (1.0 - weight) * out
        np.maximum(reverted, weight, out=reverted)
    return out, count
