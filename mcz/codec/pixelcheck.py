"""The reconstruction check: exact where the arithmetic is reproduced, else bounded.

Every ``.mcz`` file records two things a decoder checks (see :mod:`mcz.codec.engine`):

* the *latent digest* (``extra["latent_digest"]``): a sha256 of the decoded
  integer symbols.  Entropy decoding is integer arithmetic, so it must match
  exactly on every machine, thread count and backend; a mismatch means corrupt data.
* the *pixel check* (``extra["pixel_check"]``) of the reconstruction, which is
  the output of a float synthesis:

  - ``{"policy": "exact"}`` (the wavelet family: float64 NumPy lifting whose
    result does not depend on threads): the pixel digest (``header.digest``) must
    match;
  - ``{"policy": "bounded", "tolerance": T, "units": "stored", "block_means": ...}``
    (the convolutional families, whose float32 output changes in its last bits
    with the thread count, the CPU and the backend): a matching pixel digest means
    the encoder's arithmetic was reproduced exactly; otherwise every pixel may
    differ from the encoder's reconstruction by at most ``T`` stored units, which
    is checked on the means of a 4 x 4 grid of blocks per frame (the mean of
    values within ``T`` of the encoder's is within ``T`` of the encoder's mean).

Files written before the pixel check existed carry neither; their pixel digest
is checked exactly, as it always was.
"""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np

from mcz import digests
from mcz.errors import ChecksumError, FormatError
from mcz.intensity import Intensity

#: Bound on the difference of a float32 synthesis between thread counts, CPUs and
#: backends, in units of the coding window ([0, 1]); measured at most 6e-8, so 1e-5
#: leaves a margin of more than 100.
SYNTHESIS_NOISE = 1e-5
#: Blocks per side of the per-frame grid whose means the bounded check compares.
GRID = 4
#: Relative precision of the recorded block means (float32 in base64: a fixed length
#: per frame, so the header's size does not depend on the pixel values).
_PRECISION = 2.0**-20


def tolerance(window: Intensity) -> float:
    """Largest per-pixel difference, in stored units, that synthesis noise can cause.

    Parameters
    ----------
    window : Intensity
        The coding window (the stored values that [0, 1] maps to).

    Returns
    -------
    float
        ``SYNTHESIS_NOISE`` times the window's width; for integer images rounded
        up to a whole unit (at least 1: a value near a rounding boundary can flip).
    """
    spread = SYNTHESIS_NOISE * (window.high - window.low)
    return spread if window.is_float else float(max(1, math.ceil(spread)))


def block_means(pixels: np.ndarray) -> np.ndarray:
    """Per frame of ``pixels`` (frames, rows, columns), the means of a GRID x GRID block grid.

    Returns
    -------
    numpy.ndarray
        float64, shape (frames, blocks), blocks row-major; fewer blocks for frames
        under GRID pixels a side.
    """
    out = []
    for frame in pixels:
        rows = np.array_split(np.asarray(frame, np.float64), min(GRID, frame.shape[0]), axis=0)
        blocks = [b for r in rows for b in np.array_split(r, min(GRID, frame.shape[1]), axis=1)]
        out.append([float(b.mean()) for b in blocks])
    return np.asarray(out, np.float64)


def record(recon: np.ndarray, window: Intensity, exact: bool) -> dict[str, Any]:
    """The ``pixel_check`` header entry for an encoder's reconstruction ``recon`` (frames, rows, columns)."""
    if exact:
        return {"policy": "exact"}
    means = block_means(recon)
    return {
        "policy": "bounded",
        "tolerance": tolerance(window),
        "units": "stored",
        "blocks_per_frame": int(means.shape[1]),
        "block_means": base64.b64encode(means.astype("<f4").tobytes()).decode("ascii"),
    }


def check(pixels: np.ndarray, found_digest: str, expected_digest: str, entry: Any, floor: float = 0.0) -> str:
    """Check a decoded reconstruction against the header; returns ``"exact"`` or ``"bounded"``.

    Parameters
    ----------
    pixels : numpy.ndarray
        Decoded stored values, (frames, rows, columns).
    found_digest, expected_digest : str
        The decoded pixels' digest and the one the encoder recorded.
    entry : dict or None
        The header's ``extra["pixel_check"]`` (None in files written before it).
    floor : float
        Smallest tolerance to apply under the bounded policy, in stored units: the decoding
        backend's precision bound (:func:`mcz.codec.gpu.tolerance.backend_floor`; 0 for FP32).

    Raises
    ------
    ChecksumError
        The digest differs and the file allows no tolerance, or a block mean is
        farther from the encoder's than the recorded tolerance.
    FormatError
        The ``pixel_check`` entry is malformed.
    """
    if digests.matches(found_digest, expected_digest):
        return "exact"
    if entry is None or entry.get("policy") == "exact":
        raise ChecksumError(
            f"the decoded pixels have digest {found_digest[:19]}..., the encoder recorded "
            f"{expected_digest[:19]}... and this file's model must reproduce it exactly; the data or "
            "the decoder is faulty. Re-copy the file, or pass --no-verify (verify=False) to accept the pixels"
        )
    limit, expected = _bounded_entry(entry)
    if expected.shape[0] != pixels.shape[0]:
        raise FormatError(f"the header's pixel_check covers {expected.shape[0]} frames, the file has "
                          f"{pixels.shape[0]}; the file is damaged")
    _compare(pixels, expected, max(limit, floor))
    return "bounded"


def check_frames(pixels: np.ndarray, entry: Any, frames: list[int], floor: float = 0.0) -> None:
    """Check a subset of decoded frames by their block means (bounded policy only; else nothing to check).

    Raises
    ------
    ChecksumError
        A block mean of one of ``frames`` is farther from the encoder's than the tolerance.
    """
    if not isinstance(entry, dict) or entry.get("policy") != "bounded":
        return
    limit, expected = _bounded_entry(entry)
    if max(frames) >= expected.shape[0]:
        raise FormatError(f"the header's pixel_check covers {expected.shape[0]} frames, the file has more; "
                          "the file is damaged")
    _compare(pixels, expected[frames], max(limit, floor))


def _compare(pixels: np.ndarray, expected: np.ndarray, limit: float) -> None:
    found = block_means(pixels)
    if found.shape != expected.shape:
        raise FormatError(f"the header records {expected.shape[1]} block means per frame, the decoded "
                          f"frames have {found.shape[1]}; the file is damaged")
    slack = _PRECISION * (1.0 + float(np.abs(expected).max(initial=0.0)))
    deviation = float(np.abs(found - expected).max(initial=0.0))
    if deviation > limit + slack:
        raise ChecksumError(
            f"the decoded pixels do not match the encoder's digest and differ from its reconstruction by "
            f"{deviation:.3f} stored units (block mean); the file allows {limit:g} for float differences "
            "between machines and thread counts. The data or the decoder is faulty: re-copy the file, or "
            "pass --no-verify (verify=False) to accept the pixels"
        )


def _bounded_entry(entry: dict[str, Any]) -> tuple[float, np.ndarray]:
    """The tolerance and the (frames, blocks) block means of a bounded ``pixel_check`` entry."""
    try:
        limit = float(entry["tolerance"])
        raw = np.frombuffer(base64.b64decode(entry["block_means"], validate=True), "<f4")
        expected = raw.astype(np.float64).reshape(-1, int(entry["blocks_per_frame"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"the header's pixel_check entry is malformed ({exc}); expected tolerance, "
                          "blocks_per_frame and base64 block_means. The file is damaged") from exc
    if not math.isfinite(limit) or limit < 0:
        raise FormatError(f"the header's pixel_check tolerance is {limit}; expected a finite value >= 0. "
                          "The file is damaged")
    return limit, expected
