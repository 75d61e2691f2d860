"""A small hierarchical VAE codec with progressive decoding (ResNet-VAE / QRes-VAE style).

After Duan, Lu, Zhu (WACV 2023, "Lossy image compression with quantized hierarchical
VAEs"), scaled down for a 2-core CPU.  A bottom-up encoder gives features at /4, /8 and
/16; a top-down decoder holds three latent groups:

* ``z1`` at /16 (``c1`` channels), factorized prior (CompressAI ``EntropyBottleneck``);
* ``z2`` at /8 and ``z3`` at /4, each with a Gaussian prior whose mean and scale the
  top-down state predicts from the groups above it (``p(z_k | z_<k)``); the posterior
  mean comes from the top-down state and the encoder's features at that scale.

Each latent is coded as ``round(q - mean) + mean`` (QRes-VAE's quantised posterior), so
the rate is ``-log2 p(z_k | z_<k)`` of the rounded residual.  **Progressive decoding**:
a decoder that has the first ``k`` groups puts the *prior mean* in place of the missing
ones (QRes-VAE Sec. 3.4) and the top-down path still yields an image: a coarse one from
``z1``, refined by ``z2`` and ``z3``.

For entropy coding, every value the rANS coder depends on is made discrete: means are
rounded to 1/8, scales to an index into :func:`mcz.codec.learned.scale_table`, and the
priors are evaluated in float64 (``coding_copy``).  That is not an integer network: a
different CPU or torch build could, in principle, land a float64 value on the other side
of a rounding boundary; the latent digest would then refuse the file (ChecksumError),
never decode it silently.  Training sees the same rounding through straight-through
estimators.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import torch
from torch import nn

from mcz.codec.fixedpoint import ste_round
from mcz.codec.learned import (MEAN_DENOMINATOR, SCALE_LEVELS, SCALE_MAX, SCALE_MIN, bits_per_pixel,
                               import_compressai, scale_table)

#: Spatial reduction of the latent groups, top (coarsest) first; the image is padded to the first.
STRIDES = (16, 8, 4)


class ResBlock(nn.Module):
    """3x3 conv, GELU, 3x3 conv, added to the input (the ResNet-VAE building block)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.GELU(), nn.Conv2d(width, width, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _up(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout * 4, 3, padding=1), nn.PixelShuffle(2))


class LatentGroup(nn.Module):
    """One conditional latent group: prior p(z | state), posterior q(z | state, features), merge."""

    def __init__(self, width: int, features: int, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.prior = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.GELU(), nn.Conv2d(width, 2 * channels, 3, padding=1))
        self.posterior = nn.Sequential(nn.Conv2d(width + features, width, 3, padding=1), nn.GELU(),
                                       nn.Conv2d(width, channels, 3, padding=1))
        self.merge = nn.Conv2d(channels, width, 3, padding=1)
        self.block = ResBlock(width)

    def prior_params(self, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, scale-table index), both discretised as the coder uses them (straight-through)."""
        mean, log_scale = self.prior(state).chunk(2, dim=1)
        mean = ste_round(mean * MEAN_DENOMINATOR) / MEAN_DENOMINATOR
        step = (math.log(SCALE_MAX) - math.log(SCALE_MIN)) / (SCALE_LEVELS - 1)
        index = (log_scale - math.log(SCALE_MIN)) / step
        index = index + (index.clamp(0, SCALE_LEVELS - 1) - index).detach()  # clamp, gradient passes
        return mean, ste_round(index)

    def absorb(self, state: torch.Tensor, z_hat: torch.Tensor) -> torch.Tensor:
        """The state after seeing ``z_hat``."""
        return self.block(state + self.merge(z_hat))


class HierarchicalVAE(nn.Module):
    """Three-group hierarchical VAE codec (see the module docstring).

    Parameters
    ----------
    widths : sequence of int
        Channels at /4, /8 and /16 (encoder and top-down state alike).
    latents : sequence of int
        Channels of ``z1`` (/16), ``z2`` (/8) and ``z3`` (/4).
    lmbda : float
        Distortion weight: loss = bpp + lmbda * peak**2 * MSE.
    peak : float
        The data range the distortion is measured in (255 for 8-bit training data).
    """

    def __init__(self, widths: Sequence[int] = (32, 48, 64), latents: Sequence[int] = (16, 8, 4),
                 lmbda: float = 0.01, peak: float = 255.0) -> None:
        super().__init__()
        import_compressai()
        # lazy: optional extra mcz[entropy] (compressai)
        from compressai.entropy_models import EntropyBottleneck, GaussianConditional

        w4, w8, w16 = widths
        c1, c2, c3 = latents
        self.lmbda, self.peak, self.latents = float(lmbda), float(peak), tuple(int(c) for c in latents)
        self.enc4 = nn.Sequential(nn.Conv2d(1, w4, 5, 2, 2), nn.GELU(), nn.Conv2d(w4, w4, 3, 2, 1), ResBlock(w4))
        self.enc8 = nn.Sequential(nn.Conv2d(w4, w8, 3, 2, 1), ResBlock(w8))
        self.enc16 = nn.Sequential(nn.Conv2d(w8, w16, 3, 2, 1), ResBlock(w16))
        self.q1 = nn.Conv2d(w16, c1, 3, padding=1)
        self.top = nn.Sequential(nn.Conv2d(c1, w16, 3, padding=1), ResBlock(w16))
        self.up16 = _up(w16, w8)
        self.group2 = LatentGroup(w8, w8, c2)
        self.up8 = _up(w8, w4)
        self.group3 = LatentGroup(w4, w4, c3)
        self.out = nn.Sequential(_up(w4, 16), nn.GELU(), _up(16, 1))
        self.z1_model = EntropyBottleneck(c1)
        self.z_model = GaussianConditional(None)  # z2 and z3 share the scale table

    @property
    def groups(self) -> tuple[LatentGroup, LatentGroup]:
        """The conditional groups, z2 then z3."""
        return (self.group2, self.group3)

    def encode_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Bottom-up features at /4, /8, /16."""
        f4 = self.enc4(x)
        f8 = self.enc8(f4)
        return f4, f8, self.enc16(f8)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Training pass: reconstruction and likelihoods (uniform noise for the rate, rounding for the decoder)."""
        f4, f8, f16 = self.encode_features(x)
        q1 = self.q1(f16)
        _, lik1 = self.z1_model(q1)
        state = self.top(ste_round(q1))
        likelihoods, residuals = [lik1], []
        for group, features, up in ((self.group2, f8, self.up16), (self.group3, f4, self.up8)):
            state = up(state)
            mean, index = group.prior_params(state)
            q = group.posterior(torch.cat([state, features], dim=1))
            scale = torch.exp(math.log(SCALE_MIN) + index * _log_step())
            noisy = q + torch.empty_like(q).uniform_(-0.5, 0.5) if self.training else ste_round(q - mean) + mean
            likelihoods.append(self.z_model.likelihood_lower_bound(self.z_model._likelihood(noisy, scale, mean)))
            residuals.append(ste_round(q - mean))
            state = group.absorb(state, residuals[-1] + mean)
        return {"x_hat": self.out(state), "likelihoods": likelihoods, "z1": ste_round(q1), "residuals": residuals}

    def rd_loss(self, x: torch.Tensor, progressive_weight: float = 0.0) -> dict[str, torch.Tensor]:
        """``bpp + lmbda * peak**2 * MSE`` and the entropy bottleneck's aux loss.

        ``progressive_weight`` > 0 adds that weight times the mean distortion of the coarse decodes
        (``z1`` alone, ``z1`` + ``z2``; missing groups at their prior mean), so that a file coded
        with fewer groups, or decoded progressively, is a usable image.
        """
        out = self(x)
        bpp = bits_per_pixel(out["likelihoods"], x)
        mse = torch.mean((out["x_hat"] - x) ** 2)
        aux = self.z1_model.loss()
        loss = bpp + self.lmbda * self.peak**2 * mse + aux
        if progressive_weight > 0:
            r2 = out["residuals"][0]
            coarse = [self.top_down(out["z1"], [None, None]), self.top_down(out["z1"], [r2, None])]
            coarse_mse = sum(torch.mean((c - x) ** 2) for c in coarse) / len(coarse)
            loss = loss + progressive_weight * self.lmbda * self.peak**2 * coarse_mse
        return {"loss": loss, "bpp": bpp.detach(), "mse": mse.detach(), "aux": aux.detach()}

    def top_down(self, z1: torch.Tensor, residual_codes: Sequence[torch.Tensor | None]) -> torch.Tensor:
        """Reconstruction from ``z1`` and the groups' rounded residuals (None: use the prior mean).

        This is the progressive decoder: with ``residual_codes = [None, None]`` it is the
        coarse image of ``z1`` alone.
        """
        state = self.top(z1)
        for group, up, codes in zip(self.groups, (self.up16, self.up8), residual_codes):
            state = up(state)
            mean, _ = group.prior_params(state)
            state = group.absorb(state, mean if codes is None else codes + mean)
        return self.out(state)

    @torch.no_grad()
    def finalise(self) -> None:
        """Integer medians and CDF tables, built once and stored (as :meth:`LearnedCodec.finalise`)."""
        self.z1_model.quantiles[:, 0, 1] = torch.round(self.z1_model.quantiles[:, 0, 1])
        self.z1_model.update(force=True)
        self.z_model.update_scale_table(scale_table(), force=True)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):  # type: ignore[override]
        """Load weights, resizing the entropy models' table buffers to the stored tables."""
        # lazy: optional extra mcz[entropy] (compressai)
        from compressai.models.utils import update_registered_buffers

        names = ["_quantized_cdf", "_offset", "_cdf_length"]
        for prefix, extra in (("z1_model", []), ("z_model", ["scale_table"])):
            present = [n for n in names + extra if f"{prefix}.{n}" in state_dict]
            if present:
                state_dict = {k: (v.to(torch.int32) if k.split(".")[-1] in names else v) for k, v in state_dict.items()}
                update_registered_buffers(getattr(self, prefix), prefix, present, state_dict)
        return super().load_state_dict(state_dict, strict=strict, assign=assign)


def coding_copy(model: HierarchicalVAE) -> HierarchicalVAE:
    """A float64 copy of the networks for coding (entropy models shared), cached on the model."""
    cached = getattr(model, "_coding_copy", None)
    if cached is None:
        cached = copy.deepcopy(model).double().eval()
        # The coder's tables stay int32; double() converts floating buffers only.
        object.__setattr__(model, "_coding_copy", cached)
    return cached


def _log_step() -> float:
    return (math.log(SCALE_MAX) - math.log(SCALE_MIN)) / (SCALE_LEVELS - 1)
