"""Rate and fidelity metrics with explicit data ranges (DESIGN.md section 6)."""

from __future__ import annotations

import math

import numpy as np


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
    """10 log10(R^2 / MSE) in float64 with an explicit R; ``inf`` for identical images."""
    mse = float(np.mean((np.asarray(reference, np.float64) - np.asarray(test, np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(data_range**2 / mse)


def ssim(reference: np.ndarray, test: np.ndarray, data_range: float) -> float:
    """Mean SSIM of 2-D frames (scikit-image, Gaussian window) with an explicit data range."""
    from skimage.metrics import structural_similarity

    ref = np.asarray(reference, np.float64).reshape(-1, *reference.shape[-2:])
    out = np.asarray(test, np.float64).reshape(ref.shape)
    values = [
        structural_similarity(r, t, data_range=data_range, gaussian_weights=True, sigma=1.5,
                              use_sample_covariance=False)
        for r, t in zip(ref, out)
    ]
    return float(np.mean(values))
