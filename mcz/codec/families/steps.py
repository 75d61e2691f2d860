"""Training and validation steps of the network families, called through their family classes.

:class:`mcz.training.system.CodecSystem` asks its model's family
(:meth:`~mcz.codec.families.base.ModelFamily.training_step`), which lands here:

* ``cae`` - distortion through a differentiable stand-in for the min-max quantiser, plus an
  optional entropy regulariser (``--rate-weight``);
* ``factorized`` / ``hyperprior`` - rate-distortion loss at a rate level drawn per step
  (gain units, :meth:`mcz.codec.learned.LearnedCodec.rd_loss`).

Each step takes the ``CodecSystem`` (its ``model``, settings and ``log``) and a batch in [0, 1].
"""

from __future__ import annotations

from typing import Any

import torch

from mcz.codec.learned import bits_per_pixel
from mcz.codec.losses import distortion, psnr_unit
from mcz.errors import require


def quantise_like_codec(y: torch.Tensor, bits: int, rounding: str) -> torch.Tensor:
    """Per-image min-max quantisation and dequantisation, as the codec does it."""
    flat = y.flatten(1)
    low = flat.amin(1).view(-1, 1, 1, 1)
    span = (flat.amax(1).view(-1, 1, 1, 1) - low).clamp_min(1e-12)
    levels = 2**bits - 1
    scaled = (y - low) / span * levels
    q = torch.floor(scaled) if rounding == "floor" else torch.round(scaled)
    return q.clamp(0, levels) / levels * span + low


def symbol_density(channels: int) -> torch.nn.Module:
    """A factorized density over ``channels`` latent channels (the CAE's entropy regulariser)."""
    require("compressai", "entropy")
    from compressai.entropy_models import EntropyBottleneck  # lazy: optional extra mcz[entropy] (compressai)

    return EntropyBottleneck(channels)


# -- cae ------------------------------------------------------------------------------------------
def cae_training_step(system: Any, batch: torch.Tensor) -> torch.Tensor:
    """Distortion (``system.loss_kind``) with ``system.bits``-bit quantisation noise, plus the rate term."""
    out = system.model(batch, system.bits)
    loss = distortion(out["x_hat"], batch, system.loss_kind)
    if system.rate_model is not None:
        bpp, aux = _symbol_rate(system, out["y"], batch)
        system.log("train_bpp_estimate", bpp.detach(), prog_bar=True)
        loss = loss + system.rate_weight * bpp + aux
    system.log("train_loss", loss, prog_bar=True)
    system.log("train_psnr", psnr_unit(out["x_hat"].detach(), batch), prog_bar=True)
    return loss


def _symbol_rate(system: Any, y: torch.Tensor, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Estimated bits per pixel of the min-max symbols (noisy proxy) and the density's aux loss."""
    flat = y.flatten(1)
    low = flat.amin(1).view(-1, 1, 1, 1).detach()
    span = (flat.amax(1).view(-1, 1, 1, 1).detach() - low).clamp_min(1e-8)
    symbols = (y - low) / span * (2**system.bits - 1)
    _, likelihood = system.rate_model(symbols)
    pixels = batch.shape[0] * batch.shape[2] * batch.shape[3]
    return -torch.log2(likelihood).sum() / pixels, system.rate_model.loss()


def cae_validation_step(system: Any, batch: torch.Tensor) -> None:
    """PSNR through the codec's own quantiser (rounded, not noisy)."""
    y = quantise_like_codec(system.model.encode(batch), system.bits, system.spec.rounding)
    x_hat = system.model.decode(y)
    mse = torch.mean((x_hat.clamp(0, 1) - batch) ** 2)
    system.log("val_psnr", -10 * torch.log10(mse.clamp_min(1e-12)), prog_bar=True, batch_size=len(batch),
               sync_dist=True)  # the mean over every rank's shard (a no-op in one process)


# -- factorized / hyperprior ----------------------------------------------------------------------
def rd_training_step(system: Any, batch: torch.Tensor) -> torch.Tensor:
    """One rate-distortion step at a quality level drawn for this step (gain units)."""
    level = int(torch.randint(system.model.levels, (1,)))
    out = system.model.rd_loss(batch, level)
    system.log("train_loss", out["loss"].detach(), prog_bar=True)
    system.log("train_bpp", out["bpp"], prog_bar=True)
    system.log("train_psnr", -10 * torch.log10(out["mse"].clamp_min(1e-12)), prog_bar=True)
    return out["loss"]


def rd_validation_step(system: Any, batch: torch.Tensor) -> None:
    """Estimated bpp and PSNR (rounded latents) at the lowest, middle and highest level."""
    levels = system.model.levels
    for level in sorted({0, levels // 2, levels - 1}):
        out = system.model(batch, level)
        bpp = bits_per_pixel(out["likelihoods"], batch)
        mse = torch.mean((out["x_hat"].clamp(0, 1) - batch) ** 2)
        system.log(f"val_bpp_q{level + 1}", bpp, batch_size=len(batch), sync_dist=True)
        system.log(f"val_psnr_q{level + 1}", -10 * torch.log10(mse.clamp_min(1e-12)), batch_size=len(batch),
                   sync_dist=True)
