"""Model families: one class per family, registered by name.

=================  =============================================================
``base``           :class:`Family`, :class:`ModelFamily`, :class:`StandaloneFamily`, :class:`TileDecoder`, :class:`Coding`
``register``       :func:`register_family`, :func:`family_for`, :func:`model_family_for`, ...
``cae``            convolutional autoencoder + min-max quantiser + Brotli
``learned``        ``factorized`` and ``hyperprior``: CompressAI entropy models, rANS
``wavelet``        CDF 9/7 lifting + learned inter-scale predictor and context model, rANS; no torch
``nearlossless``   lossless / near-lossless, its own tile format (standalone)
=================  =============================================================

Importing this package (or any family module) does not import torch.
"""

from mcz.codec.families.base import Coding, Family, ModelFamily, StandaloneFamily, TileDecoder, TileEncoder
from mcz.codec.families.register import (
    family_for,
    family_names,
    model_family_for,
    onnx_families,
    register_family,
)

__all__ = ["Coding", "Family", "ModelFamily", "StandaloneFamily", "TileDecoder", "TileEncoder", "family_for", "family_names",
           "model_family_for", "onnx_families", "register_family"]
