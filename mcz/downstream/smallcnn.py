"""The small CNN of paper 000 (docs/references.md; Section "CNN"), for 1-channel inputs.

Four 3x3 convolution blocks with 32, 64, 128 and 256 filters, ReLU and 2x2
max-pooling; dropout 0.2 after the convolutions and 0.5 before the output; a
dense layer of 128 units; L2 regularisation (lambda = 1e-3) on the convolution
kernels.  Keras' ``kernel_regularizer=l2(1e-3)`` adds ``1e-3 * sum(w**2)`` to the
loss, i.e. a gradient of ``2e-3 * w``: :func:`parameter_groups` gives those kernels
``weight_decay = 2 * L2`` for a coupled-L2 optimiser (``torch.optim.Adam``).  The
paper does not state the dense width; 128 is ours.
"""

from __future__ import annotations

import torch
from torch import nn

#: Filters of the four convolution blocks.
WIDTHS = (32, 64, 128, 256)
#: Keras L2 factor of the convolution kernels.
L2 = 1e-3
DENSE = 128


class SmallCNN(nn.Module):
    """``(N, 1, r, r)`` in [0, 1] -> ``(N, 2)`` logits; ``r`` divisible by 16."""

    def __init__(self, resolution: int, in_channels: int = 1, num_classes: int = 2) -> None:
        super().__init__()
        if resolution % 16:
            raise ValueError(f"resolution {resolution} must be divisible by 16 (four 2x2 poolings)")
        layers: list[nn.Module] = []
        width = in_channels
        for out in WIDTHS:
            layers += [nn.Conv2d(width, out, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            width = out
        self.features = nn.Sequential(*layers)
        side = resolution // 16
        self.head = nn.Sequential(
            nn.Dropout(0.2),
            nn.Flatten(),
            nn.Linear(WIDTHS[-1] * side * side, DENSE),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(DENSE, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def parameter_groups(model: SmallCNN) -> list[dict]:
    """Optimiser groups: convolution kernels with the paper's L2, everything else without."""
    kernels = [m.weight for m in model.features if isinstance(m, nn.Conv2d)]
    ids = {id(p) for p in kernels}
    rest = [p for p in model.parameters() if id(p) not in ids]
    return [{"params": kernels, "weight_decay": 2 * L2}, {"params": rest, "weight_decay": 0.0}]
