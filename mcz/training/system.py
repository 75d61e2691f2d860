"""The LightningModule that trains any registered codec model."""

from __future__ import annotations

import math

import lightning as L
import torch

from mcz.codec.learned import bits_per_pixel
from mcz.codec.models import build_model
from mcz.codec.registry import ModelSpec
from mcz.training.losses import distortion, psnr_unit


def quantise_like_codec(y: torch.Tensor, bits: int, rounding: str) -> torch.Tensor:
    """Per-image min-max quantisation and dequantisation, as the codec does it."""
    flat = y.flatten(1)
    low = flat.amin(1).view(-1, 1, 1, 1)
    span = (flat.amax(1).view(-1, 1, 1, 1) - low).clamp_min(1e-12)
    levels = 2**bits - 1
    scaled = (y - low) / span * levels
    q = torch.floor(scaled) if rounding == "floor" else torch.round(scaled)
    return q.clamp(0, levels) / levels * span + low


def _symbol_density(spec: ModelSpec) -> torch.nn.Module:
    """A factorized density over the CAE's latent channels (for the entropy regulariser)."""
    from mcz.errors import UsageError, require

    if spec.family != "cae":
        raise UsageError(f"--rate-weight applies to the cae family; {spec.id!r} is {spec.family} and has its own rate term")
    require("compressai", "entropy")
    from compressai.entropy_models import EntropyBottleneck

    return EntropyBottleneck(spec.config["channels"][-1])


def lr_factor(step: int, warmup: int, total: int, floor: float = 0.1) -> float:
    """Linear warm-up, then cosine decay to ``floor`` x the base rate at ``total`` steps."""
    if warmup and step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


class CodecSystem(L.LightningModule):
    """Trains ``spec``'s model on patches in [0, 1] with a distortion loss.

    Parameters
    ----------
    spec : ModelSpec
        The model to train (its architecture and default quantiser bits).
    lr : float
        Adam learning rate.
    loss : str
        ``mse``, ``bce`` (the founding paper's) or ``ms-ssim``.
    bits : int
        Latent bits of the quantisation proxy during training.
    warmup, total_steps : int
        Learning-rate schedule (steps counted across resumed runs).
    schedule : str
        ``cosine`` (warm-up + cosine decay) or ``constant`` (the paper's).
    start_step : int
        Steps already done by earlier runs (for the schedule).
    rate_weight : float
        ``cae`` family only: weight of an entropy regulariser, the bits per pixel
        of the min-max symbols under a learned factorized density (CompressAI
        ``EntropyBottleneck``, used in training only; the codec still codes with
        Brotli).  0 trains on distortion alone, as the founding paper does.
    """

    def __init__(
        self,
        spec: ModelSpec,
        lr: float = 1e-4,
        loss: str = "mse",
        bits: int | None = None,
        warmup: int = 0,
        total_steps: int = 10_000,
        schedule: str = "cosine",
        start_step: int = 0,
        rate_weight: float = 0.0,
    ) -> None:
        super().__init__()
        self.spec = spec
        self.model = build_model(spec.family, spec.config)
        self.rate_weight = float(rate_weight)
        self.rate_model = _symbol_density(spec) if self.rate_weight > 0 else None
        self.lr, self.loss_kind, self.bits = lr, loss, bits or spec.quantiser_bits
        self.warmup, self.total_steps, self.schedule, self.start_step = warmup, total_steps, schedule, start_step

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> torch.Tensor:
        if self.spec.learned_entropy:
            return self._rd_step(batch)
        out = self.model(batch, self.bits)
        loss = distortion(out["x_hat"], batch, self.loss_kind)
        if self.rate_model is not None:
            bpp, aux = self._symbol_rate(out["y"], batch)
            self.log("train_bpp_estimate", bpp.detach(), prog_bar=True)
            loss = loss + self.rate_weight * bpp + aux
        self.log("train_loss", loss, prog_bar=True)
        self.log("train_psnr", psnr_unit(out["x_hat"].detach(), batch), prog_bar=True)
        return loss

    def _symbol_rate(self, y: torch.Tensor, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Estimated bits per pixel of the min-max symbols (noisy proxy) and the density's aux loss."""
        flat = y.flatten(1)
        low = flat.amin(1).view(-1, 1, 1, 1).detach()
        span = (flat.amax(1).view(-1, 1, 1, 1).detach() - low).clamp_min(1e-8)
        symbols = (y - low) / span * (2**self.bits - 1)
        _, likelihood = self.rate_model(symbols)
        pixels = batch.shape[0] * batch.shape[2] * batch.shape[3]
        return -torch.log2(likelihood).sum() / pixels, self.rate_model.loss()

    def _rd_step(self, batch: torch.Tensor) -> torch.Tensor:
        """One rate-distortion step at a quality level drawn for this step (gain units)."""
        level = int(torch.randint(self.model.levels, (1,)))
        out = self.model.rd_loss(batch, level)
        self.log("train_loss", out["loss"].detach(), prog_bar=True)
        self.log("train_bpp", out["bpp"], prog_bar=True)
        self.log("train_psnr", -10 * torch.log10(out["mse"].clamp_min(1e-12)), prog_bar=True)
        return out["loss"]

    def _rd_validation(self, batch: torch.Tensor) -> None:
        """Estimated bpp and PSNR (rounded latents) at the lowest, middle and highest level."""
        levels = self.model.levels
        for level in sorted({0, levels // 2, levels - 1}):
            out = self.model(batch, level)
            bpp = bits_per_pixel(out["likelihoods"], batch)
            mse = torch.mean((out["x_hat"].clamp(0, 1) - batch) ** 2)
            self.log(f"val_bpp_q{level + 1}", bpp, batch_size=len(batch))
            self.log(f"val_psnr_q{level + 1}", -10 * torch.log10(mse.clamp_min(1e-12)), batch_size=len(batch))

    def validation_step(self, batch: torch.Tensor, batch_idx: int) -> None:
        if self.spec.learned_entropy:
            return self._rd_validation(batch)
        y = quantise_like_codec(self.model.encode(batch), self.bits, self.spec.rounding)
        x_hat = self.model.decode(y)
        mse = torch.mean((x_hat.clamp(0, 1) - batch) ** 2)
        self.log("val_psnr", -10 * torch.log10(mse.clamp_min(1e-12)), prog_bar=True, batch_size=len(batch))

    def _parameter_groups(self) -> list[dict]:
        """All weights at ``lr``; a fast group at 10x.

        The fast group holds the entropy bottlenecks' quantiles (aux loss, as
        CompressAI trains them) and the gain units: a log-gain moves by about
        ``lr`` per Adam step, so at 5e-4 a level's gain would need thousands of
        steps to double (measured: they had not moved after 1,000 steps).
        """
        named = dict(self.model.named_parameters())
        if self.rate_model is not None:  # the regulariser's density trains with the model
            named.update({f"rate_model.{k}": v for k, v in self.rate_model.named_parameters()})
        fast = [n for n in named if n.endswith("quantiles") or n.split(".")[-1] in ("log_gain", "log_inverse_gain")]
        groups = [{"params": [named[n] for n in named if n not in fast]}]
        if fast:
            groups.append({"params": [named[n] for n in fast], "lr": self.lr * 10})
        return groups

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self._parameter_groups(), lr=self.lr)
        if self.schedule == "constant":
            return optimizer
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: lr_factor(s + self.start_step, self.warmup, self.total_steps)
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
