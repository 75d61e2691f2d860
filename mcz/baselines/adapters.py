"""imagecodecs adapters: one encode/decode pair per standard codec.

Every function here takes a 2-D unsigned frame already validated by
:class:`mcz.baselines.contract.BaselineCodec` (``uint8`` for up to 8 bits, ``uint16`` for 9-16
bits, values in ``0 .. 2**bits - 1``) and the stored bit depth, and returns the
*whole* codestream, so the rate is measured on exactly what would be stored.
Decoders return the library's array; the :class:`~mcz.baselines.contract.BaselineCodec`
wrapper clips it to the stored domain and casts it to the container dtype.

Each adapter pins the settings that change the result (speed / effort, threads,
bit depth) because the libraries' defaults differ and several defaults silently
ruin a comparison.  What this imagecodecs build does,
checked in ``tests/baselines/test_pitfalls.py`` (imagecodecs 2026.1):

* JPEG (libjpeg-turbo) codes 8- and 12-bit samples lossy, 2-16 bits lossless
  (SOF3); 10- and 16-bit lossy precision are refused by the library.
* OpenJPEG's ``level`` is a PSNR target against ``2**bitspersample - 1``.
* OpenJPH's ``level`` is a quantisation step relative to the *container* range
  (2**16 for ``uint16``); values decoded above the container's top wrap to 0,
  values below 0 are clamped.  8-bit data are therefore coded in ``uint16``, and
  a 16-bit frame whose reconstruction would wrap is refused.
* CharLS writes the container's precision (16 for any ``uint16`` frame: there is
  no ``bitspersample``) and encodes ``NEAR`` values its own decoder rejects
  (``NEAR > MAXVAL/2``), hence the per-bit-depth limit of ``jpegls``.
* libjxl needs ``bitspersample`` for 9-15-bit data (else it sees a dark 16-bit
  image and spends far fewer bits), and ``distance=0`` is *not* lossless.
* libavif codes a 1-channel array losslessly whatever ``level`` says; lossy grey
  needs three equal channels with ``pixelformat=YUV400``; ``level=100`` on three
  channels is lossless RGB, 1.4-3 times the size of grey lossless.
  Its quality has only 64 quantiser steps: on a 12-bit MR, neighbouring steps
  near 10:1 differ by ~25 % in rate, so ratios can be matched only that closely.
* libwebp is lossless unless ``lossless=False`` and rejects 2-D arrays.
"""

from __future__ import annotations

import math

import numpy as np

from mcz.baselines.contract import THREADS
from mcz.errors import UnsupportedError, require

#: libjpeg-turbo's lossless predictor: DICOM "JPEG Lossless, SV1" (1.2.840.10008.1.2.4.70).
JPEG_LOSSLESS_PREDICTOR = 1
#: libjxl effort (libjxl's own default; imagecodecs would use 5).
JXL_EFFORT = 7
#: libaom speed through libavif (at libaom speed 9 AVIF's lead over JPEG 2000 vanishes).
AVIF_SPEED = 6
#: libwebp method (cwebp's default; 0 fastest .. 6 smallest).
WEBP_METHOD = 4
#: zlib level of PNG (libpng's default).
PNG_LEVEL = 6


def _ic():
    return require("imagecodecs", "bench")


def library_version(name: str) -> str:
    """``"<library> <version>; imagecodecs <version>"`` of an imagecodecs codec."""
    ic = _ic()
    return f"{getattr(ic, f'{name}_version')()}; imagecodecs {ic.__version__}"


# --- JPEG (libjpeg-turbo) -------------------------------------------------------------


def jpeg_precision(bits: int) -> int:
    """JPEG sample precision for ``bits``-bit data: 8, or 12 for 9-12 bits."""
    if bits <= 8:
        return 8
    if bits <= 12:
        return 12
    raise UnsupportedError(
        f"found {bits}-bit samples; lossy JPEG (libjpeg-turbo) codes 8 or 12 bits only "
        "(it refuses 16-bit lossy precision). Use jpeg-lossless, j2k or jxl for this image"
    )


def jpeg_encode(frame: np.ndarray, bits: int, quality: float) -> bytes:
    """Baseline/extended lossy JPEG, quality 1-100, optimised Huffman tables."""
    return _ic().jpeg8_encode(frame, level=int(quality), bitspersample=jpeg_precision(bits),
                              lossless=False, optimize=True)


def jpeg_lossless_encode(frame: np.ndarray, bits: int, _setting: float) -> bytes:
    """Lossless JPEG (process 14, predictor 1) at the stored precision (2-16 bits)."""
    if bits < 2:
        raise UnsupportedError(f"found {bits}-bit samples; lossless JPEG needs 2..16 bits")
    return _ic().jpeg8_encode(frame, lossless=True, predictor=JPEG_LOSSLESS_PREDICTOR, bitspersample=bits)


def jpeg_decode(data: bytes, _bits: int | None) -> np.ndarray:
    """Any JPEG codestream made above (8/12-bit lossy, lossless)."""
    return _ic().jpeg8_decode(data)


# --- JPEG 2000 (OpenJPEG) -------------------------------------------------------------


def _resolutions(frame: np.ndarray) -> int:
    # OpenJPEG's default is 6 resolution levels; tiny frames cannot be split that often.
    return max(1, min(6, int(math.log2(max(min(frame.shape), 1))) + 1))


def j2k_encode(frame: np.ndarray, bits: int, psnr_target: float) -> bytes:
    """Irreversible 9/7 JPEG 2000, rate set by a PSNR target (dB against 2**bits - 1)."""
    # `level` is a PSNR target against 2^bitspersample - 1, so the stored bit depth
    # is passed: a 12-bit image in uint16 is not 16-bit (module notes; tests/baselines/test_pitfalls.py).
    return _ic().jpeg2k_encode(frame, level=float(psnr_target), bitspersample=bits, codecformat="j2k",
                               resolutions=_resolutions(frame), numthreads=THREADS)


def j2k_lossless_encode(frame: np.ndarray, bits: int, _setting: float) -> bytes:
    """Reversible 5/3 JPEG 2000."""
    return _ic().jpeg2k_encode(frame, bitspersample=bits, codecformat="j2k", reversible=True,
                               resolutions=_resolutions(frame), numthreads=THREADS)


def j2k_decode(data: bytes, _bits: int | None) -> np.ndarray:
    """Any JPEG 2000 codestream."""
    return _ic().jpeg2k_decode(data, numthreads=THREADS)


# --- HTJ2K (OpenJPH) ------------------------------------------------------------------

_HTJ2K_RANGE = float(1 << 16)  # frames are always coded in uint16 (see module notes)


def htj2k_step(bits: int, precision: float) -> float:
    """OpenJPH's ``qstep`` for a step of ``2**(bits - precision)`` grey levels.

    OpenJPH scales the step by the container's range (2**16 for uint16), not by
    the stored bit depth, so the same ``precision`` means the same relative step
    at every bit depth.
    """
    return 2.0 ** (bits - precision) / _HTJ2K_RANGE


def htj2k_encode(frame: np.ndarray, bits: int, precision: float) -> bytes:
    """Irreversible HTJ2K with quantisation step ``2**(bits - precision)`` grey levels."""
    ic = _ic()
    # 8-bit data in a uint16 container: OpenJPH wraps values decoded above the
    # container's top to 0 (module notes; tests/baselines/test_pitfalls.py); uint16 leaves 8 bits of
    # headroom.
    wide = frame.astype(np.uint16, copy=False)
    data = ic.htj2k_encode(wide, level=htj2k_step(bits, precision))
    if bits == 16:
        _refuse_wrapped(wide, ic.htj2k_decode(data), precision)
    return data


def _refuse_wrapped(frame: np.ndarray, decoded: np.ndarray, precision: float) -> None:
    # 16-bit data have no headroom in uint16: an overshoot above 65535 comes back
    # as a value near 0 (finer steps do not help: any overshoot of 65535 wraps).
    # No error bound of a lossy coder is half the range, so such a jump is a wrap.
    wrapped = int(np.count_nonzero(frame.astype(np.int32) - decoded.astype(np.int32) > 1 << 15))
    if wrapped:
        raise UnsupportedError(
            f"HTJ2K at precision {precision:g}: {wrapped} pixels near 65535 decode as values near 0 "
            f"(OpenJPH wraps values decoded above the 16-bit container; this frame reaches "
            f"{int(frame.max())}); expected no wrap. Declare the image's real bit depth (a range "
            "narrower than 16 bits leaves headroom), or use j2k for full-range 16-bit data"
        )


def htj2k_lossless_encode(frame: np.ndarray, bits: int, _setting: float) -> bytes:
    """Reversible HTJ2K in the frame's own container."""
    return _ic().htj2k_encode(frame, reversible=True)


def htj2k_decode(data: bytes, _bits: int | None) -> np.ndarray:
    """Any HTJ2K codestream."""
    return _ic().htj2k_decode(data)


# --- JPEG-LS (CharLS) -----------------------------------------------------------------


def jpegls_near_limit(bits: int) -> int:
    """Largest NEAR CharLS decodes: ``min(255, MAXVAL // 2)``, MAXVAL of the container.

    CharLS takes MAXVAL from the dtype (255 or 65535), not from the stored bit
    depth, and *encodes* larger NEAR values that its decoder then rejects.
    """
    return 127 if bits <= 8 else 255


def jpegls_encode(frame: np.ndarray, bits: int, minus_near: float) -> bytes:
    """Near-lossless JPEG-LS with ``NEAR = -setting`` (0 = lossless)."""
    return _ic().jpegls_encode(frame, level=int(-minus_near))


def jpegls_lossless_encode(frame: np.ndarray, bits: int, _setting: float) -> bytes:
    """Lossless JPEG-LS (NEAR = 0)."""
    return _ic().jpegls_encode(frame, level=0)


def jpegls_decode(data: bytes, _bits: int | None) -> np.ndarray:
    """Any JPEG-LS codestream."""
    return _ic().jpegls_decode(data)


# --- JPEG XL (libjxl) -----------------------------------------------------------------


def jxl_encode(frame: np.ndarray, bits: int, quality: float) -> bytes:
    """Lossy JPEG XL (VarDCT), libjxl quality 0-99.9 (90 = distance 1.0), effort 7."""
    # bitspersample tells libjxl the real range of 9-15-bit data in uint16.
    return _ic().jpegxl_encode(frame, level=float(quality), effort=JXL_EFFORT, bitspersample=bits,
                               numthreads=THREADS)


def jxl_lossless_encode(frame: np.ndarray, bits: int, _setting: float) -> bytes:
    """Lossless JPEG XL (modular), effort 7; distance 0 alone is not lossless."""
    return _ic().jpegxl_encode(frame, lossless=True, effort=JXL_EFFORT, bitspersample=bits,
                               numthreads=THREADS)


def jxl_decode(data: bytes, _bits: int | None) -> np.ndarray:
    """Any JPEG XL codestream."""
    return _ic().jpegxl_decode(data, numthreads=THREADS)


# --- AVIF (libavif + libaom) ----------------------------------------------------------


def avif_depth(bits: int) -> int:
    """AVIF sample depth for ``bits``-bit data: 8, 10 or 12."""
    for depth in (8, 10, 12):
        if bits <= depth:
            return depth
    raise UnsupportedError(
        f"found {bits}-bit samples; AVIF codes 8, 10 or 12 bits. Use j2k, jxl or htj2k for this image"
    )


def avif_encode(frame: np.ndarray, bits: int, quality: float) -> bytes:
    """Lossy monochrome AVIF: quality 0-99, libaom speed 6, YUV400."""
    ic = _ic()
    # A 1-channel array is coded losslessly whatever `level` says (module notes;
    # tests/baselines/test_pitfalls.py): lossy grey takes three equal channels and the YUV400 format.
    rgb = np.repeat(frame[:, :, None], 3, axis=2)
    return ic.avif_encode(rgb, level=int(quality), speed=AVIF_SPEED, bitspersample=avif_depth(bits),
                          pixelformat=ic.AVIF.PIXEL_FORMAT.YUV400, numthreads=THREADS)


def avif_lossless_encode(frame: np.ndarray, bits: int, _setting: float) -> bytes:
    """Lossless monochrome AVIF (1 channel), libaom speed 6."""
    return _ic().avif_encode(frame, speed=AVIF_SPEED, bitspersample=avif_depth(bits), numthreads=THREADS)


def avif_decode(data: bytes, _bits: int | None) -> np.ndarray:
    """Any AVIF made above (monochrome decodes to 2-D)."""
    return _ic().avif_decode(data, numthreads=THREADS)


# --- WebP (libwebp) -------------------------------------------------------------------

_LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601, the matrix libwebp codes with


def webp_encode(frame: np.ndarray, bits: int, quality: float) -> bytes:
    """Lossy WebP (VP8), quality 0-100, method 4, 8-bit only."""
    if bits > 8:
        raise UnsupportedError(f"found {bits}-bit samples; WebP codes 8 bits only. Use avif, jxl or j2k")
    rgb = np.repeat(frame[:, :, None], 3, axis=2)  # webp_encode rejects 2-D arrays
    return _ic().webp_encode(rgb, level=int(quality), lossless=False, method=WEBP_METHOD,
                             numthreads=THREADS)


def webp_decode(data: bytes, _bits: int | None) -> np.ndarray:
    """Grey from a lossy WebP: the BT.601 luma of the decoded RGB."""
    rgb = _ic().webp_decode(data)
    # The channels differ by up to 1 level after 4:2:0 chroma rounding; luma is
    # the component the encoder actually coded at full resolution.
    return np.rint(rgb[..., :3] @ _LUMA)


# --- PNG (libpng) ---------------------------------------------------------------------


def png_encode(frame: np.ndarray, bits: int, _setting: float) -> bytes:
    """Lossless PNG at 8 or 16 bits (the container), zlib level 6."""
    return _ic().png_encode(frame, level=PNG_LEVEL)


def png_decode(data: bytes, _bits: int | None) -> np.ndarray:
    """Any PNG."""
    return _ic().png_decode(data)
