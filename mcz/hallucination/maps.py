"""The hallucination map and its connected components.

``H = realistic - mse`` at the same latent.  A component is a connected region (8-neighbour)
where ``|H| > k * sigma`` with at least ``min_area`` pixels; ``sigma`` is the noise level of
the *original* image, estimated robustly from its finest diagonal wavelet band (Donoho's
MAD estimator, scikit-image ``estimate_sigma``), so a component is a structure larger than
the image's own noise that one decoder drew and the other did not.  The same count on the
error map ``decoded - original`` puts any codec (JPEG 2000) on the same scale.
"""

from __future__ import annotations

import numpy as np

#: Threshold in units of the image noise, and the smallest component counted (pixels).
K_SIGMA, MIN_AREA = 3.0, 9


def noise_sigma(image: np.ndarray) -> float:
    """Robust noise standard deviation of a 2-D image, in its own units (at least 0.5 unit: quantisation)."""
    from skimage.restoration import estimate_sigma  # lazy: keeps skimage out of import mcz.hallucination.maps

    return max(float(estimate_sigma(np.asarray(image, np.float64))), 0.5)


def components(difference: np.ndarray, sigma: float, k: float = K_SIGMA, min_area: int = MIN_AREA) -> list[int]:
    """Areas of the connected components of ``|difference| > k * sigma`` with at least ``min_area`` pixels."""
    from scipy import ndimage  # lazy: keeps scipy out of import mcz.hallucination.maps

    mask = np.abs(np.asarray(difference, np.float64)) > k * sigma
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), bool))
    if count == 0:
        return []
    areas = np.bincount(labels.ravel())[1:]
    return [int(a) for a in areas if a >= min_area]


def count_components(difference: np.ndarray, sigma: float, k: float = K_SIGMA, min_area: int = MIN_AREA) -> int:
    """Number of components of :func:`components`."""
    return len(components(difference, sigma, k, min_area))
