"""The conditional PatchGAN discriminator of the realistic decoder (HiFiC-style, spectral norm).

HiFiC (Mentzer et al. 2020, Sec. 3.2) conditions its discriminator on the quantised latent:
the latent is projected to a few channels, upsampled (nearest) to the image size and
concatenated with the image.  Spectral normalisation (Miyato et al. 2018) bounds every
layer's Lipschitz constant, which keeps the short CPU runs here from diverging.
Widths are smaller than HiFiC's (64..512) so a step fits a 2-core CPU.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class PatchDiscriminator(nn.Module):
    """Per-patch real/fake logits of an image conditioned on its quantised latent.

    Parameters
    ----------
    latent_channels : int
        Channels of the latent the decoder sees (``m`` of the base model).
    stride : int
        Spatial reduction of the latent (16): the condition is upsampled by it.
    widths : sequence of int
        Channels of the 4x4 stride-2 convolutions.
    condition_channels : int
        Channels the latent is projected to before upsampling.
    """

    def __init__(self, latent_channels: int, stride: int = 16, widths: Sequence[int] = (32, 64, 128),
                 condition_channels: int = 12) -> None:
        super().__init__()
        self.stride = stride
        self.project = spectral_norm(nn.Conv2d(latent_channels, condition_channels, 3, padding=1))
        layers: list[nn.Module] = []
        cin = 1 + condition_channels
        for width in widths:
            layers += [spectral_norm(nn.Conv2d(cin, width, 4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
            cin = width
        layers.append(spectral_norm(nn.Conv2d(cin, 1, 3, padding=1)))
        self.body = nn.Sequential(*layers)

    def forward(self, image: torch.Tensor, latent: torch.Tensor) -> torch.Tensor:
        """Logits (N, 1, H/8, W/8) for ``image`` (N, 1, H, W) given ``latent`` (N, m, H/16, W/16)."""
        condition = nn.functional.leaky_relu(self.project(latent), 0.2)
        condition = nn.functional.interpolate(condition, scale_factor=self.stride, mode="nearest")
        return self.body(torch.cat([image, condition], dim=1))


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss ``-log D(G(y))`` (Goodfellow et al. 2014; HiFiC's L_G)."""
    return nn.functional.softplus(-fake_logits).mean()


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """``-log D(x) - log(1 - D(G(y)))``, averaged over patches."""
    return nn.functional.softplus(-real_logits).mean() + nn.functional.softplus(fake_logits).mean()
