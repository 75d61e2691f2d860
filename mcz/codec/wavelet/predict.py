"""Learned inter-scale prediction: a level's detail bands predicted from its decoded low band.

The CDF 9/7 transform leaves a level's detail coefficients nearly uncorrelated with its low band
*linearly*, but not otherwise: a sharp edge in the low band (a skull, a body outline, the rim
of a CT field of view) fixes the sign and most of the size of the detail coefficients along it.
For each predicted level a small CNN maps the low band the decoder has already rebuilt to the
three detail bands; the encoder codes the residual and the decoder adds the same prediction
back. It is invertible by construction, whatever the CNN learned (it is closed-loop prediction,
as the decoder computes it from decoded data only), and a model without predictor weights codes
exactly as before.

The CNN runs in integer arithmetic so that every machine, thread count and backend gets the
same prediction, bit for bit (the wavelet family's exact pixel policy):

* the input is normalised by its local mean and mean deviation (a 5 x 5 box, summed in a fixed
  order, IEEE-exact element-wise operations), then rounded to ``ACT_BITS`` fractional bits;
* weights are rounded to ``WEIGHT_BITS`` fractional bits when the model is loaded;
* each layer is a float64 matrix product of integer-valued operands, exact because every partial
  sum stays far below 2**53, followed by a floor division by a power of two (exact) and a ReLU;
* the output is scaled back by the local deviation (one IEEE multiplication).

Layers: 5 x 5 (1 -> C), 3 x 3 (C -> C), 3 x 3 (C -> 3), zero padding, ReLU between. The torch
form that is trained is :class:`mcz.codec.wavelet.predict_fit.PredictorNet`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from mcz.codec.wavelet import lifting

#: Fractional bits of activations and of weights in the integer network.
ACT_BITS = 8
WEIGHT_BITS = 10
#: Side of the box that normalises the input (local mean and mean absolute deviation).
BOX = 5
#: Added to the local deviation (in normalised steps) so flat areas are not amplified.
DEVIATION_FLOOR = 0.5
#: Normalised inputs are clipped to this magnitude (they cannot exceed BOX**2 anyway).
INPUT_CLIP = float(BOX * BOX)
#: Checkpoint arrays of a predictor, each with a leading axis of predicted levels (finest first).
ARRAYS = ("predict_w1", "predict_b1", "predict_w2", "predict_b2", "predict_w3", "predict_b3")
KERNELS = (5, 3, 3)


def input_scale(level: int, step: float) -> float:
    """What a level's low band (transform units) is multiplied by to be normalised like its details.

    The low band of level ``level`` is the LL band of a ``level``-level decomposition: its synthesis
    gain's square root over the quantiser step, as the detail bands are scaled (``coder.normalised``).
    Coding and training both use it, so the network sees the same units in both.
    """
    return math.sqrt(lifting.band_gains(level)[0]) / step


def box_mean(x: np.ndarray, side: int = BOX) -> np.ndarray:
    """Mean over a ``side`` x ``side`` box of the samples inside the array (edges: fewer samples).

    Sums shifted slices, rows then columns, in a fixed order, so the result is the same on every
    machine.
    """
    count = np.outer(_box_sum_1d(np.ones(x.shape[0]), side, 0), _box_sum_1d(np.ones(x.shape[1]), side, 0))
    return _box_sum_1d(_box_sum_1d(x, side, 0), side, 1) / count


def _box_sum_1d(x: np.ndarray, side: int, axis: int) -> np.ndarray:
    """Sum of the ``side`` samples around each one along ``axis`` (zeros beyond the ends)."""
    r, n = side // 2, x.shape[axis]
    moved = np.moveaxis(x, axis, 0)
    padded = np.zeros((n + 2 * r, *moved.shape[1:]))
    padded[r:r + n] = moved
    total = padded[0:n].copy()
    for d in range(1, side):
        total += padded[d:d + n]
    return np.moveaxis(total, 0, axis)


def normalise(low: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The network's input (low band minus its local mean, over the local deviation) and that deviation."""
    centred = low - box_mean(low)
    deviation = box_mean(np.abs(centred)) + DEVIATION_FLOOR
    return np.clip(centred / deviation, -INPUT_CLIP, INPUT_CLIP), deviation


def _columns(x: np.ndarray, k: int) -> np.ndarray:
    """im2col of (channels, rows, cols) with zero padding: (channels * k * k, rows * cols)."""
    c, rows, cols = x.shape
    r = k // 2
    padded = np.zeros((c, rows + 2 * r, cols + 2 * r))
    padded[:, r:r + rows, r:r + cols] = x
    windows = np.lib.stride_tricks.sliding_window_view(padded, (c, k, k))[0]  # rows, cols, c, k, k
    return windows.transpose(2, 3, 4, 0, 1).reshape(c * k * k, rows * cols)


def _tap_sums(x: np.ndarray, w: np.ndarray, k: int) -> np.ndarray:
    """The same convolution as ``w @ _columns(x, k)`` for few output channels, without the columns.

    One product of every tap's weights with the unshifted input, then the taps' outputs added at
    their offsets: cheaper where the output has far fewer channels than the columns would have rows.
    Exact like the other, as every sum is of integers far below 2**53.
    """
    c, rows, cols = x.shape
    out_channels, r = w.shape[0], k // 2
    per_tap = w.reshape(out_channels, c, k, k).transpose(2, 3, 0, 1).reshape(k * k * out_channels, c)
    taps = (per_tap @ x.reshape(c, rows * cols)).reshape(k, k, out_channels, rows, cols)
    out = np.zeros((out_channels, rows + 2 * r, cols + 2 * r))
    for dy in range(k):
        for dx in range(k):  # output (i, j) takes input (i + dy - r, j + dx - r)
            out[:, 2 * r - dy:2 * r - dy + rows, 2 * r - dx:2 * r - dx + cols] += taps[dy, dx]
    return out[:, r:r + rows, r:r + cols].reshape(out_channels, rows * cols)


class Predictor:
    """The integer networks of a model's predicted levels.

    Parameters
    ----------
    arrays : mapping of str to array
        The checkpoint's :data:`ARRAYS` (float weights; rounded to fixed point here).
    """

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        unit = 2.0**WEIGHT_BITS
        self.layers = []
        for level in range(len(arrays["predict_w1"])):
            layer = []
            for i in (1, 2, 3):
                w = np.rint(np.asarray(arrays[f"predict_w{i}"][level], np.float64) * unit)
                # Bias in the accumulator's units (activations 2**ACT_BITS x weights 2**WEIGHT_BITS).
                b = np.rint(np.asarray(arrays[f"predict_b{i}"][level], np.float64) * unit) * 2.0**ACT_BITS
                layer.append((w, b[:, None]))
            self.layers.append(layer)

    @property
    def levels(self) -> int:
        """How many of the finest levels are predicted (level 1 is the finest)."""
        return len(self.layers)

    def predict(self, level: int, low: np.ndarray) -> np.ndarray:
        """The three detail bands (HL, LH, HH) predicted from ``low``, each of ``low``'s shape.

        Parameters
        ----------
        level : int
            1 = the finest level; at most :attr:`levels`.
        low : numpy.ndarray
            The level's decoded low band, normalised like its detail bands (gain, step).

        Returns
        -------
        numpy.ndarray
            float64 (3, rows, cols), in the detail bands' normalised units; callers crop each
            band to its own shape (a detail band is at most as large as the low band).
        """
        z, deviation = normalise(np.asarray(low, np.float64))
        x = np.floor(z * 2.0**ACT_BITS)[None]
        rows, cols = low.shape
        layers = self.layers[level - 1]
        for i, ((w, b), k) in enumerate(zip(layers, KERNELS)):
            # The last layer (3 outputs) sums its taps' products; the others multiply im2col columns.
            acc = _tap_sums(x, w, k) if len(w) <= 3 else w @ _columns(x, k)
            acc += b
            acc *= 2.0**-WEIGHT_BITS  # exact (a power of two); the floor completes the integer rescaling
            np.floor(acc, out=acc)
            if i < len(layers) - 1:
                np.maximum(acc, 0.0, out=acc)
            x = acc.reshape(-1, rows, cols)
        return x / 2.0**ACT_BITS * deviation
