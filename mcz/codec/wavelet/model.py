"""The learned parameters of a wavelet model, as a ``torch.nn.Module`` of buffers.

A wavelet model is a CDF 9/7 transform plus a learned context model: for every
detail band class (orientation x level) and checkerboard pass, non-negative
weights that map integer neighbourhood sums of already-decoded symbols to a
Laplace scale, a noise-floor bias, and learned reconstruction offsets per
scale.  Everything lives in buffers so the checkpoint machinery (safetensors +
sha256 manifest) stores and verifies it like any other model; the integer
tables the entropy coder needs are stored, never recomputed by a decoder.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mcz.codec.wavelet import tables

#: Orientations (HL, LH, HH) x levels 1, 2, 3, 4+.
ORIENTATIONS = 3
LEVEL_CLASSES = 4
CLASSES = ORIENTATIONS * LEVEL_CLASSES
#: Context features: parent, parent ring, siblings, sibling ring, then the decoded vertical,
#: horizontal and diagonal neighbours in the band itself.
FEATURES = ("parent", "parent_ring", "sibling", "sibling_ring", "vertical", "horizontal", "diagonal")
#: Passes over a detail band: (even, even) positions, then (odd, odd), then the rest.
PASSES = 3


def band_class(level: int, orientation: int) -> int:
    """Class index of a detail band (level 1 = finest; orientation 0 HL, 1 LH, 2 HH)."""
    return orientation * LEVEL_CLASSES + min(level, LEVEL_CLASSES) - 1


def _initial_weights() -> np.ndarray:
    """Hand-set starting point (a scale of about half the neighbours' mean magnitude)."""
    w = np.zeros((CLASSES, PASSES, len(FEATURES)))
    w[:, :, 0] = 0.35  # parent
    w[:, :, 1] = 0.03
    w[:, :, 2] = 0.2  # siblings
    w[:, :, 3] = 0.02
    w[:, 1, 6] = 0.15  # diagonal neighbours (second pass)
    w[:, 2, 4:6] = 0.15  # vertical and horizontal neighbours (third pass)
    return w


class WaveletModel(nn.Module):
    """Buffers of a wavelet-family model (no trainable network in the decoder).

    Parameters
    ----------
    scales : int
        Number of Laplace scales in the table.
    scale_low, scale_high : float
        Smallest and largest scale (symbol units); larger scales code the top
        bits of a symbol with the table and its low bits raw.
    rho : float
        Deadzone of the tables' Laplace law (see :func:`tables.laplace_pmf`).
    max_levels : int
        Deepest decomposition used for large images.
    kappa : float
        Encoder rate-distortion trade-off (Lagrangian, in squared steps per bit).
    """

    def __init__(self, scales: int = 56, scale_low: float = 0.02, scale_high: float = 48.0,
                 rho: float = 0.5, max_levels: int = 6, kappa: float = 0.12) -> None:
        super().__init__()
        self.max_levels = max_levels
        table = tables.scale_table(scales, scale_low, scale_high)
        cdfs, lengths, offsets, bits = tables.build_cdfs(table, rho)
        self.register_buffer("scales", torch.from_numpy(table))
        self.register_buffer("thresholds", torch.from_numpy(tables.scale_thresholds(table)))
        self.register_buffer("cdfs", torch.from_numpy(cdfs))
        self.register_buffer("cdf_lengths", torch.from_numpy(lengths))
        self.register_buffer("offsets", torch.from_numpy(offsets))
        self.register_buffer("bits", torch.from_numpy(bits))
        self.register_buffer("weights", torch.from_numpy(_initial_weights()))
        # Noise floor of each class and pass in normalised coefficient units (divided by the step).
        self.register_buffer("bias", torch.full((CLASSES, PASSES), 2e-4, dtype=torch.float64))
        self.register_buffer("ll_weight", torch.tensor([0.25], dtype=torch.float64))
        # Reconstruction offsets toward zero, per scale, for |q| = 1 and |q| >= 2 (steps).
        self.register_buffer("recon_offsets", torch.zeros((scales, 2), dtype=torch.float64))
        self.register_buffer("kappa", torch.tensor([kappa], dtype=torch.float64))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:  # noqa: ANN001
        # The stored tables are the model: take their shapes from the checkpoint, since the
        # width built here may differ by an entry from the one a fit built on another machine.
        for name in ("cdfs", "bits"):
            stored = state_dict.get(prefix + name)
            if stored is not None and stored.shape != getattr(self, name).shape:
                setattr(self, name, torch.empty_like(stored))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def tables(self) -> "Tables":
        """NumPy views of the buffers, in the form the coder uses."""
        return Tables(self)


class Tables:
    """Plain NumPy copies of a model's buffers (built once per codec, shared by tiles)."""

    def __init__(self, model: WaveletModel) -> None:
        self.max_levels = model.max_levels
        self.thresholds = model.thresholds.numpy()
        self.top = int(self.thresholds[-1])
        self.cdfs = model.cdfs.numpy().tolist()
        self.cdf_lengths = model.cdf_lengths.numpy().tolist()
        self.offsets = model.offsets.numpy().astype(np.int64)
        self.bits = model.bits.numpy()
        self.weights_fp = np.rint(model.weights.numpy() * 2**tables.FRAC_BITS).astype(np.int64)
        self.bias = model.bias.numpy()
        self.ll_weight_fp = int(np.rint(float(model.ll_weight[0]) * 2**tables.FRAC_BITS))
        self.recon_offsets = model.recon_offsets.numpy()
        self.kappa = float(model.kappa[0])
        self.count = len(self.thresholds) + 1
