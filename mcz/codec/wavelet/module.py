"""A wavelet model's learned parameters as a ``torch.nn.Module`` of buffers: the form that is fitted.

:mod:`mcz.codec.wavelet.fit` adjusts these buffers and the checkpoint machinery (safetensors +
sha256 manifest) stores them like any other model's weights.  Coding never needs this module:
the coder reads the same arrays through :class:`mcz.codec.wavelet.model.WaveletWeights`,
without torch.  (``from mcz.codec.wavelet.model import WaveletModel`` still finds it.)
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mcz.codec.wavelet import predict, tables
from mcz.codec.wavelet.model import (CHILDREN, CLASSES, ORIENTATIONS, PASSES, Tables, WaveletWeights, band_class,
                                     initial_weights)


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

    # Buffers read as tensors here (nn.Module.__getattr__ is typed as returning Tensor | Module).
    weights: torch.Tensor
    bias: torch.Tensor

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
        self.register_buffer("weights", torch.from_numpy(initial_weights()))
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
        # A checkpoint with wavelet-packet classes or a predictor gives this model those buffers too.
        if prefix + "packet_weights" in state_dict and not self.has_packet_classes:
            self.add_packet_classes()
        if prefix + "predict_w1" in state_dict:
            self.add_predictor({name: state_dict[prefix + name].numpy() for name in predict.ARRAYS})
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @property
    def has_packet_classes(self) -> bool:
        """Whether the wavelet-packet children have their own context weights."""
        return "packet_weights" in self._buffers

    def add_packet_classes(self) -> None:
        """Give the wavelet-packet children their own weights, starting from the finest level's classes."""
        finest = [band_class(1, o) for o in range(ORIENTATIONS) for _ in range(CHILDREN)]
        self.register_buffer("packet_weights", self.weights[finest].clone())
        self.register_buffer("packet_bias", self.bias[finest].clone())

    @property
    def has_predictor(self) -> bool:
        """Whether the finest levels are predicted from their low bands (:mod:`.predict`)."""
        return "predict_w1" in self._buffers

    def add_predictor(self, arrays: dict[str, np.ndarray]) -> None:
        """Set the inter-scale predictor's arrays (:func:`mcz.codec.wavelet.predict_fit.arrays`)."""
        for name in predict.ARRAYS:
            self.register_buffer(name, torch.from_numpy(np.asarray(arrays[name], np.float64).copy()))

    def coding_weights(self) -> WaveletWeights:
        """The buffers as the torch-free coding form (NumPy copies)."""
        arrays = {name: buffer.detach().cpu().numpy().copy() for name, buffer in self.state_dict().items()}
        return WaveletWeights(arrays, self.max_levels)

    def tables(self) -> Tables:
        """NumPy views of the buffers, in the form the coder uses."""
        return Tables({name: buffer.numpy() for name, buffer in self.state_dict().items()}, self.max_levels)
