"""The 8 x 8 block DCT of the wavelet family's second tile mode, float64, exact on every machine.

Images that were JPEG files keep JPEG's 8 x 8 grid: their block DCT, aligned with the grid, is
sparse in a way a wavelet cannot use (docs/wavelet.md, ``bench/jpeg_lattice_probe.py``). The
encoder codes a tile both ways and keeps the cheaper (:mod:`mcz.codec.wavelet.dctcoder`).

Both directions use element-wise NumPy operations in a fixed order (no BLAS, no FFT library,
whose summation order depends on the CPU), so the inverse gives the same bits everywhere and the
pixel digest stays exact. The transform is orthonormal: a quantisation error in a coefficient costs
the same squared error in the pixels, so one step serves every frequency.
"""

from __future__ import annotations

import functools

import numpy as np

#: Block side.
BLOCK = 8


#: cos(m * pi / 16), m = 0..8, as literals: np.cos may differ in the last bit between C libraries,
#: and the inverse must give the same bits everywhere.
_COS16 = (1.0, 0.9807852804032304, 0.9238795325112867, 0.8314696123025452, 0.7071067811865476,
          0.5555702330196023, 0.38268343236508984, 0.19509032201612833, 0.0)
#: 1 / sqrt(8), the scale of the constant basis row.
_DC_SCALE = 0.35355339059327373


def _cos16(m: int) -> float:
    """cos(m * pi / 16) for any integer m, from the table by symmetry."""
    m %= 32
    if m > 16:
        m = 32 - m
    return _COS16[m] if m <= 8 else -_COS16[16 - m]


@functools.lru_cache(maxsize=1)
def basis() -> np.ndarray:
    """The orthonormal DCT-II matrix C (8 x 8): coefficients = C @ block @ C.T (same bits everywhere)."""
    c = np.empty((BLOCK, BLOCK))
    for i in range(BLOCK):
        for n in range(BLOCK):
            c[i, n] = _DC_SCALE if i == 0 else 0.5 * _cos16((2 * n + 1) * i)
    c.setflags(write=False)
    return c


def grid(rows: int, columns: int) -> tuple[int, int]:
    """Blocks down and across an image of this size (the last ones padded)."""
    return -(-rows // BLOCK), -(-columns // BLOCK)


def _apply(x: np.ndarray, m: np.ndarray, axis: int) -> np.ndarray:
    """``m`` applied along ``axis`` (-1 or -2) of (..., 8, 8) blocks, by explicit multiply-adds."""
    moved = np.moveaxis(x, axis, -1)
    out = np.zeros_like(moved)
    for k in range(BLOCK):  # out[..., i] = sum_k m[i, k] * moved[..., k], always in this order
        out += moved[..., k : k + 1] * m[:, k]
    return np.moveaxis(out, -1, axis)


def forward(image: np.ndarray) -> np.ndarray:
    """(blocks down, blocks across, 8, 8) DCT of a 2-D image, edge-padded to whole blocks."""
    rows, columns = image.shape
    down, across = grid(rows, columns)
    padded = np.pad(np.asarray(image, np.float64), ((0, down * BLOCK - rows), (0, across * BLOCK - columns)),
                    mode="edge")
    blocks = padded.reshape(down, BLOCK, across, BLOCK).transpose(0, 2, 1, 3)
    c = basis()
    return _apply(_apply(blocks, c, -1), c, -2)


def inverse(coefficients: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The image (float64, ``shape``) of (blocks down, blocks across, 8, 8) coefficients."""
    c_t = basis().T
    blocks = _apply(_apply(coefficients, c_t, -2), c_t, -1)
    down, across = coefficients.shape[:2]
    image = blocks.transpose(0, 2, 1, 3).reshape(down * BLOCK, across * BLOCK)
    return np.ascontiguousarray(image[: shape[0], : shape[1]])
