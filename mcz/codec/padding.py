"""DICOM pixel padding kept exactly through lossy coding.

CT scanners mark pixels outside the field of view with Pixel Padding Value (0028,0120), optionally
a range up to Pixel Padding Range Limit (0028,0121); the bundled head CT has 55,772 pixels of
-2000 around its circle. A lossy codec smears that step (without this module 463 of them survived)
and spends bits on it. So the encoder replaces padding by the lowest real value before coding (a flat,
cheap background, and a tighter window), stores where the padding was and its values losslessly in a
``meta`` chunk named :data:`META_NAME`, and the decoder puts them back before the digest check.
"""

from __future__ import annotations

import struct

import numpy as np

from mcz.errors import FormatError

META_NAME = "pixel-padding"
_HEAD = struct.Struct(">4sIII")  # magic, frames, rows, columns
_MAGIC = b"PAD1"


def mask_of(image) -> np.ndarray | None:  # noqa: ANN001 (MedicalImage; avoids an import cycle)
    """Boolean mask of the padding pixels of a DICOM image, or None when it declares none / has none."""
    ds = image.dicom
    if ds is None or "PixelPaddingValue" not in ds:
        return None
    low = int(ds.PixelPaddingValue)
    high = int(ds.get("PixelPaddingRangeLimit", low))
    low, high = min(low, high), max(low, high)
    mask = (image.pixels >= low) & (image.pixels <= high)
    if not mask.any() or mask.all():
        return None  # nothing to keep, or nothing but padding (then there is nothing to code apart)
    return mask


def fill(pixels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A copy with the padding replaced by the lowest value that is not padding (a flat background)."""
    out = pixels.copy()
    out[mask] = pixels[~mask].min()
    return out


def pack(mask: np.ndarray, values: np.ndarray) -> bytes:
    """The ``meta`` blob: shape, the mask's bits, then the padding values in their dtype (little-endian)."""
    frames, rows, columns = mask.shape
    bits = np.packbits(mask.ravel()).tobytes()
    return _HEAD.pack(_MAGIC, frames, rows, columns) + bits + values.astype(values.dtype.newbyteorder("<")).tobytes()


def restore(pixels: np.ndarray, blob: bytes, frames: list[int], frames_total: int) -> None:
    """Put the padding of ``blob`` back into ``pixels`` (the decoded ``frames`` of the volume), in place.

    Raises
    ------
    FormatError
        The blob does not fit the image (the file is damaged).
    """
    mask, values = _unpack(blob, (frames_total, *pixels.shape[1:]), pixels.dtype)
    offsets = np.concatenate([[0], np.cumsum(mask.reshape(frames_total, -1).sum(axis=1))])
    for i, f in enumerate(frames):
        pixels[i][mask[f]] = values[offsets[f] : offsets[f + 1]]


def _unpack(blob: bytes, shape: tuple[int, ...], dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    if len(blob) < _HEAD.size or blob[:4] != _MAGIC:
        raise FormatError(f"the {META_NAME} chunk does not start with {_MAGIC!r}; the file is damaged")
    declared = _HEAD.unpack_from(blob)[1:]
    count = int(np.prod(shape))
    bits_end = _HEAD.size + -(-count // 8)
    if tuple(declared) != tuple(shape) or len(blob) < bits_end:
        raise FormatError(
            f"the {META_NAME} chunk describes {declared} in {len(blob)} bytes, expected {shape}; the file is damaged"
        )
    mask = np.unpackbits(np.frombuffer(blob, np.uint8, bits_end - _HEAD.size, _HEAD.size), count=count)
    mask = mask.astype(bool).reshape(shape)
    values = np.frombuffer(blob[bits_end:], np.dtype(dtype).newbyteorder("<"))
    if values.size != int(mask.sum()):
        raise FormatError(
            f"the {META_NAME} chunk holds {values.size} padding values for {int(mask.sum())} padding pixels; "
            "the file is damaged"
        )
    return mask, values.astype(dtype)
