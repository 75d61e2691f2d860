"""Build the network of a registered model family from its configuration."""

from __future__ import annotations

from torch import nn


def build_model(family: str, config: dict) -> nn.Module:
    """Instantiate a registered family with its configuration.

    Parameters
    ----------
    family : str
        ``"cae"`` (autoencoder + Brotli), ``"factorized"`` or ``"hyperprior"``
        (learned entropy models, :mod:`mcz.codec.learned`).
    config : dict
        Keyword arguments of the family's model class.
    """
    if family == "cae":
        from mcz.codec.cae import CAE

        return CAE(**config)
    if family in ("factorized", "hyperprior"):
        from mcz.codec.learned import LearnedCodec

        return LearnedCodec(**config, hyperprior=family == "hyperprior")
    if family == "wavelet":
        from mcz.codec.wavelet.model import WaveletModel

        return WaveletModel(**config)
    raise ValueError(f"unknown model family {family!r}")
