"""Distortion losses on images in [0, 1] (data range 1, explicit)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOSSES = ("mse", "bce", "ms-ssim")


def distortion(x_hat: torch.Tensor, x: torch.Tensor, kind: str) -> torch.Tensor:
    """Training loss between reconstruction and input, both in [0, 1].

    ``bce`` is the founding paper's binary cross-entropy; ``ms-ssim`` is
    1 - MS-SSIM with ``data_range=1`` (needs patches of at least 161 px).
    """
    if kind == "mse":
        return F.mse_loss(x_hat, x)
    if kind == "bce":
        return F.binary_cross_entropy(x_hat.clamp(1e-6, 1 - 1e-6), x)
    if kind == "ms-ssim":
        from pytorch_msssim import ms_ssim  # lazy: optional extra mcz[train] (pytorch_msssim)

        return 1 - ms_ssim(x_hat, x, data_range=1.0, size_average=True)
    raise ValueError(f"unknown loss {kind!r}; choose from {LOSSES}")


def psnr_unit(x_hat: torch.Tensor, x: torch.Tensor) -> float:
    """PSNR in dB with data range 1 (the window the network sees)."""
    mse = F.mse_loss(x_hat.clamp(0, 1), x).item()
    return math.inf if mse == 0 else -10 * math.log10(mse)
