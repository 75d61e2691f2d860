"""The convolutional autoencoder family (the founding paper, paper 002 in docs/references.md).

Encoder: per stage a 3x3 convolution ("same" padding), swish, 2x2 max-pooling.
Decoder: per stage a 3x3 transposed convolution with stride 2 (output exactly
twice the input, like Keras' ``padding="same"``), swish, and a sigmoid on the
last one.  With ``channels=(32, 64, 128, 256, 512)`` and the default decoder
``(512, 256, 128, 64, 1)`` this is the paper's model: 512x512x1 -> 16x16x512.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def _decoder_channels(channels: Sequence[int]) -> list[int]:
    """The paper's mirror: last encoder width, then the others reversed, then 1."""
    return [channels[-1], *reversed(channels[1:-1]), 1]


class CAE(nn.Module):
    """Convolutional autoencoder with a min-max quantised latent.

    Parameters
    ----------
    channels : sequence of int
        Filters of the encoder stages; the last one is the latent depth.
    decoder : sequence of int, optional
        Filters of the transposed convolutions; must have as many stages as
        ``channels`` and end with 1.  Defaults to the paper's mirror.
    """

    def __init__(self, channels: Sequence[int], decoder: Sequence[int] | None = None) -> None:
        super().__init__()
        decoder = list(decoder) if decoder is not None else _decoder_channels(channels)
        if len(decoder) != len(channels) or decoder[-1] != 1:
            raise ValueError(f"decoder {decoder} must have {len(channels)} stages ending in 1")
        self.encoder = self._build_encoder(channels)
        self.decoder = self._build_decoder(channels[-1], decoder)

    @staticmethod
    def _build_encoder(channels: Sequence[int]) -> nn.Sequential:
        layers: list[nn.Module] = []
        width = 1
        for out in channels:
            layers += [nn.Conv2d(width, out, 3, padding=1), nn.SiLU(), nn.MaxPool2d(2)]
            width = out
        return nn.Sequential(*layers)

    @staticmethod
    def _build_decoder(latent: int, decoder: Sequence[int]) -> nn.Sequential:
        layers: list[nn.Module] = []
        width = latent
        for i, out in enumerate(decoder):
            # padding=1 + output_padding=1 doubles the size exactly (Keras "same").
            layers.append(nn.ConvTranspose2d(width, out, 3, stride=2, padding=1, output_padding=1))
            layers.append(nn.Sigmoid() if i == len(decoder) - 1 else nn.SiLU())
            width = out
        return nn.Sequential(*layers)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latent of images in [0, 1], shape (N, 1, H, W) -> (N, C, H/2^k, W/2^k)."""
        return self.encoder(x)

    def decode(self, y: torch.Tensor) -> torch.Tensor:
        """Reconstruction in [0, 1] from a (dequantised) latent."""
        return self.decoder(y)

    def forward(self, x: torch.Tensor, bits: int = 8) -> dict[str, torch.Tensor]:
        """Training pass with a differentiable stand-in for the min-max quantiser.

        Uniform noise of one quantisation step (per image, from its latent range)
        replaces rounding, the usual proxy that lets gradients through.

        Returns
        -------
        dict
            ``x_hat`` (reconstruction) and ``y`` (the un-quantised latent).
        """
        y = self.encode(x)
        flat = y.flatten(1)
        span = (flat.amax(dim=1) - flat.amin(dim=1)).detach().clamp_min(1e-8)
        step = (span / (2**bits - 1)).view(-1, 1, 1, 1)
        y_noisy = y + (torch.rand_like(y) - 0.5) * step
        return {"x_hat": self.decode(y_noisy), "y": y}

