"""A realistic decoder for families without a synthesis network: a residual post-filter.

The wavelet family's decoder is an exact inverse transform, not a network that could be
fine-tuned as HiFiC fine-tunes ``g_s``. Its realistic decoder is therefore the MSE
decoder's image followed by a small CNN that adds a residual::

    x_real = x_mse + r(x_mse, log2 step)

``x_mse`` is a deterministic function of the quantised coefficients (the latent), so
conditioning on it is conditioning on the latent, as HiFiC's generator and discriminator
are. The step channel tells the network how coarse the quantiser was (the file's quality
and window). The last layer starts at zero, so before training the realistic decoder *is*
the MSE decoder, pixel for pixel; training (:mod:`mcz.gan.train`) can only move away from
it as far as the adversarial term pays for against the MSE term.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from mcz.intensity import Intensity, from_unit, to_unit

#: Channels of the filter's hidden layers, and how many hidden 3x3 layers it has.
WIDTH = 32
DEPTH = 4
#: The step channel holds log2(step in window units) / STEP_SCALE (steps of 2^-1 .. 2^-14 map to about -0.1 .. -1.8).
STEP_SCALE = 8.0


class PostFilter(nn.Module):
    """``x + r(x, step)`` for images ``x`` in the unit window, (N, 1, H, W); any H, W.

    Parameters
    ----------
    width : int
        Channels of the hidden layers.
    depth : int
        Hidden 3x3 layers (receptive field 2 * depth + 3 pixels).
    """

    def __init__(self, width: int = WIDTH, depth: int = DEPTH) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(2, width, 3, padding=1, padding_mode="reflect"), nn.LeakyReLU(0.2)]
        for _ in range(depth - 1):
            layers += [nn.Conv2d(width, width, 3, padding=1, padding_mode="reflect"), nn.LeakyReLU(0.2)]
        last = nn.Conv2d(width, 1, 3, padding=1, padding_mode="reflect")
        nn.init.zeros_(last.weight)  # the MSE decoder at step 0 (module docstring)
        assert last.bias is not None  # Conv2d's default bias=True
        nn.init.zeros_(last.bias)
        self.body = nn.Sequential(*layers, last)

    def forward(self, condition: torch.Tensor) -> torch.Tensor:
        """The filtered image for ``condition`` (N, 2, H, W) = (MSE decode, step channel) of :func:`condition`."""
        return condition[:, :1] + self.body(condition)


def condition(unit: torch.Tensor, step_unit: float | Sequence[float] | torch.Tensor) -> torch.Tensor:
    """The filter's input: ``unit`` (N, 1, H, W) and a constant channel per image from its step.

    ``step_unit`` is the quantiser step in window units (one per image, or one for all).
    """
    steps = torch.as_tensor(step_unit, dtype=unit.dtype).reshape(-1, 1, 1, 1).expand(len(unit), 1, 1, 1)
    level = torch.log2(steps) / STEP_SCALE
    return torch.cat([unit, level.expand(-1, 1, *unit.shape[-2:])], dim=1)


@torch.no_grad()
def apply(network: PostFilter, stored: np.ndarray, window: Intensity, step_unit: float) -> np.ndarray:
    """Filter one frame of stored values in its coding ``window``; same dtype, rounded and clipped.

    The frame goes to the unit window and back exactly as the engine maps it
    (:func:`~mcz.intensity.to_unit`, :func:`~mcz.intensity.from_unit`), filtered in float32.
    """
    unit = torch.from_numpy(np.asarray(to_unit(stored, window), np.float32))[None, None]
    return from_unit(network(condition(unit, step_unit))[0, 0].numpy(), window)
