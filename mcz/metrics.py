"""Rate and fidelity metrics with explicit data ranges (docs/references.md)."""

from __future__ import annotations

import math

import numpy as np

from mcz.errors import UsageError


def bpp(file_bytes: int, pixels: int) -> float:
    """Bits per pixel of a whole file (container included)."""
    return 8.0 * file_bytes / pixels


def storage_bytes_per_pixel(bits_stored: int, dtype: str = "uint16") -> int:
    """Uncompressed storage width: 1 byte up to 8 bits, 2 up to 16, else the dtype's size."""
    if np.dtype(dtype).kind == "f":
        return np.dtype(dtype).itemsize
    return 1 if bits_stored <= 8 else 2 if bits_stored <= 16 else 4


def compression_ratio(file_bytes: int, pixels: int, bits_stored: int, dtype: str = "uint16") -> float:
    """Uncompressed bytes at the storage width / whole file bytes (never against float32)."""
    return pixels * storage_bytes_per_pixel(bits_stored, dtype) / file_bytes


def psnr(reference: np.ndarray, test: np.ndarray, data_range: float) -> float:
    """Peak signal-to-noise ratio ``10 log10(R^2 / MSE)`` in dB, in float64.

    Parameters
    ----------
    reference, test : numpy.ndarray
        Arrays of the same shape (any numeric dtype).
    data_range : float
        The explicit peak value ``R`` (e.g. :attr:`Intensity.data_range`), never
        inferred from the dtype.

    Returns
    -------
    float
        ``math.inf`` when the arrays are identical.
    """
    ref, tst = np.asarray(reference), np.asarray(test)
    if ref.shape != tst.shape:
        raise UsageError(f"psnr of shapes {ref.shape} and {tst.shape}; expected equal shapes")
    if not (math.isfinite(data_range) and data_range > 0):
        raise UsageError(f"psnr data_range {data_range!r}; expected a positive number")
    diff = ref.astype(np.float64) - tst.astype(np.float64)
    mse = float(np.mean(diff * diff))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(float(data_range) ** 2 / mse)


def ssim(reference: np.ndarray, test: np.ndarray, data_range: float) -> float:
    """Mean SSIM of 2-D frames (scikit-image, Gaussian window) with an explicit data range."""
    from skimage.metrics import structural_similarity  # lazy: keeps skimage out of import mcz.metrics

    ref = np.asarray(reference, np.float64).reshape(-1, *reference.shape[-2:])
    out = np.asarray(test, np.float64).reshape(ref.shape)
    values = [
        structural_similarity(r, t, data_range=data_range, gaussian_weights=True, sigma=1.5,
                              use_sample_covariance=False)
        for r, t in zip(ref, out)
    ]
    return float(np.mean(values))
