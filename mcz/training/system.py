"""The LightningModule that trains any registered codec model; the steps are its family's."""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch

from mcz.codec.families import model_family_for
from mcz.codec.registry import ModelSpec


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
        The model to train (its architecture; its family's training and validation steps).
    lr : float
        Adam learning rate.
    loss : str
        ``mse``, ``bce`` (the founding paper's) or ``ms-ssim``.
    bits : int
        ``cae`` family: latent bits of the quantisation proxy (default: the model's default quality).
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
        self.spec, self.family = spec, model_family_for(spec)
        self.model = self.family.build(spec.config)
        self.rate_weight = float(rate_weight)
        self.rate_model = self.family.rate_regulariser(spec) if self.rate_weight > 0 else None
        self.lr, self.loss_kind, self.bits = lr, loss, bits or spec.default_quality
        self.warmup, self.total_steps, self.schedule, self.start_step = warmup, total_steps, schedule, start_step

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> torch.Tensor:
        return self.family.training_step(self, batch)

    def validation_step(self, batch: torch.Tensor, batch_idx: int) -> None:
        self.family.validation_step(self, batch)

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
        groups: list[dict[str, Any]] = [{"params": [named[n] for n in named if n not in fast]}]
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
