"""One codec, one frame, one setting: rate, fidelity and speed in one record.

Definitions follow docs/references.md: rates are measured on the whole
codestream; CR is against the storage width of the stored bit depth; PSNR, SSIM
and MS-SSIM use the explicit ``R = intensity.data_range``; speed is the median of
``repeats`` single-threaded runs.  SSIM and MS-SSIM are computed on ``value -
low`` (the ``0 .. R`` domain their stabilising constants assume); PSNR, MSE and
entropy do not depend on that shift.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

import numpy as np

from mcz import metrics
from mcz.baselines.contract import BaselineCodec, coding_bits, from_unsigned, to_unsigned
from mcz.errors import FormatError, UsageError
from mcz.intensity import Intensity

#: Smallest side MS-SSIM accepts: 4 halvings of an 11-pixel window need > 160 pixels.
MS_SSIM_MIN_SIDE = (11 - 1) * 2**4 + 1
_MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # Wang et al. 2003


def entropy(values: np.ndarray) -> float:
    """Shannon entropy in bits per pixel of the integer values of an array.

    Parameters
    ----------
    values : numpy.ndarray
        Integer-valued pixels (floats are rounded).

    Returns
    -------
    float
        ``-sum p log2 p`` over the histogram of distinct values; 0 for a constant image.
    """
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        arr = np.rint(arr).astype(np.int64)
    _, counts = np.unique(arr, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def ms_ssim(reference: np.ndarray, test: np.ndarray, data_range: float) -> tuple[float, str]:
    """MS-SSIM (Wang 2003: 5 scales, Gaussian 11/1.5 window) with an explicit data range.

    Parameters
    ----------
    reference, test : numpy.ndarray
        2-D frames of the same shape, in a domain whose span is ``data_range``.
    data_range : float
        ``R``, never inferred from the dtype.

    Returns
    -------
    (float, str)
        The value and ``""``, or NaN and the reason it is undefined (a frame
        smaller than :data:`MS_SSIM_MIN_SIDE`, pytorch-msssim not installed).
    """
    side = min(np.shape(reference))
    if side < MS_SSIM_MIN_SIDE:
        return math.nan, f"frame side {side} < {MS_SSIM_MIN_SIDE} px, the minimum for 5-scale MS-SSIM"
    try:
        # optional: the extra mcz[train] (pytorch-msssim, on torch); without it the score is NaN with a note
        import torch
        from pytorch_msssim import ms_ssim as _ms_ssim
    except ImportError:
        return math.nan, "pytorch-msssim is not installed (pip install 'mcz[train]')"
    x = torch.from_numpy(np.asarray(reference, np.float64))[None, None]
    y = torch.from_numpy(np.asarray(test, np.float64))[None, None]
    coords = torch.arange(11, dtype=torch.float64) - 5
    win = torch.exp(-(coords**2) / (2 * 1.5**2))
    win = (win / win.sum())[None, None, None]  # (1, 1, 1, 11) float64: the library's own is float32
    value = _ms_ssim(x, y, data_range=float(data_range), win=win, weights=list(_MS_SSIM_WEIGHTS))
    return float(value), ""


def _timed(fn, repeats: int) -> tuple[Any, float]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return out, statistics.median(times)


def _rate(nbytes: int, pixels: int, intensity: Intensity) -> dict[str, Any]:
    return {
        "bytes": nbytes,
        "bpp": metrics.bpp(nbytes, pixels),
        "cr": metrics.compression_ratio(nbytes, pixels, intensity.bits_stored, intensity.dtype),
        "bits_stored": intensity.bits_stored,
    }


def _fidelity(original: np.ndarray, decoded: np.ndarray, intensity: Intensity) -> dict[str, Any]:
    r = intensity.data_range
    diff = original.astype(np.float64) - decoded.astype(np.float64)
    mse = float(np.mean(diff * diff))
    own = float(original.max()) - float(original.min())
    ref, out = original.astype(np.float64) - intensity.low, decoded.astype(np.float64) - intensity.low
    msssim, why = ms_ssim(ref, out, r)
    return {
        "data_range": r,
        "mse": mse,
        "psnr": metrics.psnr(original, decoded, r),
        "psnr_own_range": metrics.psnr(original, decoded, own) if own > 0 else math.nan,
        "ssim": metrics.ssim(ref, out, r),
        "ms_ssim": msssim,
        "ms_ssim_note": why,
        "max_abs_error": float(np.abs(diff).max(initial=0.0)),
        "entropy": entropy(decoded),
        "entropy_original": entropy(original),
    }


def measure(codec: BaselineCodec, frame: np.ndarray, intensity: Intensity, setting: float | None = None, *,
            repeats: int = 3) -> dict[str, Any]:
    """Code and decode one frame; return rate, fidelity and speed.

    Parameters
    ----------
    codec : BaselineCodec
        A standard codec.
    frame : numpy.ndarray
        2-D stored values inside ``[intensity.low, intensity.high]``.
    intensity : Intensity
        The image's value domain (``R`` of PSNR/SSIM, storage width of CR).
    setting : float, optional
        Codec setting; default the codec's.
    repeats : int
        Encodes and decodes timed; the medians are reported.

    Returns
    -------
    dict
        ``codec, library, version, notes, setting, lossless, threads, rows,
        columns, bits_stored, bits_coded, bytes, bpp, cr, data_range, mse, psnr,
        psnr_own_range, ssim, ms_ssim, ms_ssim_note, max_abs_error, entropy,
        entropy_original, encode_s, decode_s, encode_mpps, decode_mpps``.

    Raises
    ------
    FormatError
        A lossless codec did not reproduce the frame bit-exactly.
    """
    original = np.asarray(frame)
    if original.ndim != 2:
        raise UsageError(f"found a {original.ndim}-D array; expected one 2-D frame")
    if repeats < 1:
        raise UsageError(f"found repeats={repeats}; expected at least 1")
    unsigned, offset = to_unsigned(original, intensity)
    bits = coding_bits(intensity)
    # Validation stays outside the clock: only the adapters' own work is timed.
    prepared, chosen = codec.check_frame(unsigned, bits), codec.resolve_setting(setting, bits)
    data, enc_s = _timed(lambda: codec.encoder(prepared, bits, chosen), repeats)
    back, dec_s = _timed(lambda: codec.decoder(data, bits), repeats)
    decoded = from_unsigned(codec.finish(back, bits), offset, intensity)
    if codec.lossless and not np.array_equal(decoded, original):
        bad = int(np.count_nonzero(decoded != original))
        raise FormatError(f"{codec.name} is lossless but {bad} of {original.size} pixels differ after "
                          f"decoding; expected a bit-exact round trip ({codec.version})")
    megapixels = original.size / 1e6
    return {
        "codec": codec.name, "library": codec.library, "version": codec.version, "notes": codec.notes,
        "setting": None if codec.lossless else chosen,
        "lossless": codec.lossless, "threads": codec.threads,
        "rows": original.shape[0], "columns": original.shape[1], "bits_coded": bits,
        **_rate(len(data), original.size, intensity),
        **_fidelity(original, decoded, intensity),
        "encode_s": enc_s, "decode_s": dec_s,
        "encode_mpps": megapixels / enc_s if enc_s > 0 else math.inf,
        "decode_mpps": megapixels / dec_s if dec_s > 0 else math.inf,
    }
