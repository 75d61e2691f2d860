"""Learned-entropy-model codecs for 1-channel images, built on CompressAI.

Two families share one analysis/synthesis pair (Ballé et al.'s GDN transforms,
/16, made compact for 2-core CPUs: strided 3x3 convolutions, sub-pixel upsampling):

* ``factorized`` — the latent is coded with CompressAI's ``EntropyBottleneck``
  (one learned density per channel; Ballé et al. 2017);
* ``hyperprior`` — a mean-scale hyperprior (Minnen et al. 2018): a hyper latent
  ``z`` (/64, coded with an ``EntropyBottleneck``) predicts, through a
  fixed-point hyper-synthesis (:mod:`mcz.codec.fixedpoint`), a scale-table
  index and a mean for every latent element, and CompressAI's
  ``GaussianConditional`` codes the latent with them.

Both are variable-rate through *gain units* (Cui et al. 2021): one learned
per-channel gain vector per quality level scales the latent before rounding
(large gain: fine quantisation, more bits), an inverse gain undoes it before
synthesis.  Training draws a level per batch and weights distortion by that
level's lambda, so one small checkpoint covers the whole rate range.

Every value the entropy decoder depends on is an integer the decoder reproduces
exactly: ``z`` is rounded to integers (medians rounded too), the hyper-synthesis
is fixed-point, scales are table indices and means are multiples of 1/8.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import torch
from torch import nn

from mcz.codec.fixedpoint import FixedPointConv, ste_round
from mcz.errors import require

if TYPE_CHECKING:  # pragma: no cover
    from compressai.entropy_models import EntropyBottleneck

#: Means are predicted in units of 1/MEAN_DENOMINATOR.
MEAN_DENOMINATOR = 8
#: Scale table (CompressAI's default range): SCALE_LEVELS log-spaced values.
SCALE_MIN, SCALE_MAX, SCALE_LEVELS = 0.11, 256.0, 64
#: Hyper-latent codes are clamped to this magnitude before the hyper-synthesis.
Z_MAX = 127
#: Spatial reduction of the latent (g_a) and of the hyper latent (g_a then h_a);
#: mirrored, torch-free, by :mod:`mcz.codec.families.learned` (a test checks they agree).
LATENT_STRIDE, HYPER_STRIDE = 16, 64


def import_compressai() -> None:
    """Import CompressAI (mcz[entropy]) once, without its import-time FutureWarning.

    CompressAI decorates functions with ``torch.jit.script``, which PyTorch now
    deprecates; the warning would otherwise reach every ``mcz`` command's stderr.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        require("compressai", "entropy")
        # lazy: optional extra mcz[entropy] (compressai), imported once here without its FutureWarning
        import compressai.entropy_models  # noqa: F401
        import compressai.layers  # noqa: F401
        import compressai.models.utils  # noqa: F401


def scale_table() -> torch.Tensor:
    """The table of Gaussian scales a hyperprior index points into (float32)."""
    return torch.exp(torch.linspace(math.log(SCALE_MIN), math.log(SCALE_MAX), SCALE_LEVELS))


def _conv(cin: int, cout: int, k: int = 5, stride: int = 2) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride, padding=k // 2)


def _deconv(cin: int, cout: int, k: int = 5, stride: int = 2) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(cin, cout, k, stride, padding=k // 2, output_padding=stride - 1)


def analysis(widths: Sequence[int], m: int) -> nn.Sequential:
    """g_a: 1 -> m channels in four stride-2 stages (/16), GDN between stages.

    The first stage is 5x5 (it sees raw pixels), the others 3x3: about 0.45
    GMAC for a 512x512 tile with widths (32, 48, 64), inside the encoder's time budget.
    """
    import_compressai()
    from compressai.layers import GDN  # lazy: optional extra mcz[entropy] (compressai)

    layers: list[nn.Module] = []
    cin = 1
    for i, width in enumerate(widths):
        layers += [_conv(cin, width, 5 if i == 0 else 3), GDN(width)]
        cin = width
    return nn.Sequential(*layers, _conv(cin, m, 3))


def _subpixel(cin: int, cout: int) -> nn.Sequential:
    """x2 upsampling as a 3x3 convolution to 4*cout channels + pixel shuffle.

    Cheaper on CPU than a transposed convolution of the same receptive field
    (measured here: about 1.5x), and free of its checkerboard overlap.
    """
    return nn.Sequential(nn.Conv2d(cin, cout * 4, 3, padding=1), nn.PixelShuffle(2))


def synthesis(widths: Sequence[int], m: int) -> nn.Sequential:
    """g_s: m -> 1 channel in four x2 sub-pixel stages, inverse GDN between stages."""
    import_compressai()
    from compressai.layers import GDN  # lazy: optional extra mcz[entropy] (compressai)

    layers: list[nn.Module] = []
    cin = m
    for width in widths:
        layers += [_subpixel(cin, width), GDN(width, inverse=True)]
        cin = width
    return nn.Sequential(*layers, _subpixel(cin, 1))


class HyperSynthesis(nn.Module):
    """Fixed-point h_s: integer z -> (scale-table index, mean in 1/8 units) per latent element."""

    def __init__(self, nh: int, m: int) -> None:
        super().__init__()
        wide = nh * 3 // 2
        act: dict[str, Any] = dict(out_low=0, out_high=255, out_scale=1 / 16)
        self.up1 = FixedPointConv(nh, nh, 5, 2, True, in_max=Z_MAX + 1, in_scale=1.0, **act)
        self.up2 = FixedPointConv(nh, wide, 5, 2, True, in_max=255, in_scale=1 / 16, **act)
        self.scale = FixedPointConv(wide, m, 3, 1, in_max=255, in_scale=1 / 16,
                                    out_low=0, out_high=SCALE_LEVELS - 1, out_scale=1.0)
        self.mean = FixedPointConv(wide, m, 3, 1, in_max=255, in_scale=1 / 16,
                                   out_low=-(2**15), out_high=2**15, out_scale=1 / MEAN_DENOMINATOR)

    def forward(self, z_codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Integer hyper latent -> (index codes, mean codes), both integer-valued."""
        h = self.up2(self.up1(z_codes.clamp(-Z_MAX, Z_MAX)))
        return self.scale(h), self.mean(h)

    def layers(self) -> list[FixedPointConv]:
        """The fixed-point layers, in order."""
        return [self.up1, self.up2, self.scale, self.mean]


class LearnedCodec(nn.Module):
    """Factorized-prior or mean-scale-hyperprior codec with gain-unit rate control.

    Parameters
    ----------
    analysis_widths, synthesis_widths : sequence of int
        Hidden widths of g_a and g_s (three stages each).
    m : int
        Latent channels.
    nh : int
        Width of the hyper latent (hyperprior only).
    hyperprior : bool
        Mean-scale hyperprior if true, else a factorized prior.
    lambdas : sequence of float
        Rate-distortion trade-off of each quality level (low to high rate), in
        units of ``peak**2 * MSE`` per bit per pixel.
    peak : float
        Data range the distortion is measured in (255 for 8-bit, 4095 for 12-bit).
    """

    def __init__(self, analysis_widths: Sequence[int], synthesis_widths: Sequence[int], m: int,
                 lambdas: Sequence[float], peak: float = 255.0, nh: int = 48, hyperprior: bool = True) -> None:
        super().__init__()
        import_compressai()
        # lazy: optional extra mcz[entropy] (compressai)
        from compressai.entropy_models import EntropyBottleneck, GaussianConditional

        self.hyperprior, self.peak, self.m = hyperprior, float(peak), int(m)
        # A plain list, not a buffer: a model initialised from another bit depth's
        # weights keeps its own lambdas.
        self.lambdas = [float(v) for v in lambdas]
        levels = len(self.lambdas)
        self.g_a, self.g_s = analysis(analysis_widths, m), synthesis(synthesis_widths, m)
        # Log-gains start log-spaced (coarse at level 1, fine at the top).
        start = torch.linspace(math.log(0.5), math.log(4.0), levels)[:, None].repeat(1, m)
        self.log_gain = nn.Parameter(start.clone())
        self.log_inverse_gain = nn.Parameter(-start.clone())
        if hyperprior:
            self.h_a = nn.Sequential(_conv(m, nh, 3, 1), nn.LeakyReLU(), _conv(nh, nh), nn.LeakyReLU(), _conv(nh, nh))
            self.h_s = HyperSynthesis(nh, m)
            self.z_model = EntropyBottleneck(nh)
            self.y_model = GaussianConditional(None)
        else:
            self.y_model = EntropyBottleneck(m)

    @property
    def levels(self) -> int:
        """Number of quality levels."""
        return len(self.lambdas)

    def gain(self, level: int) -> torch.Tensor:
        """Per-channel gain of a 0-based ``level``, shaped for broadcasting."""
        return torch.exp(self.log_gain[level]).view(1, -1, 1, 1)

    def inverse_gain(self, level: int) -> torch.Tensor:
        """Per-channel inverse gain of a 0-based ``level``."""
        return torch.exp(self.log_inverse_gain[level]).view(1, -1, 1, 1)

    # -- training ---------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, level: int) -> dict[str, torch.Tensor]:
        """Training pass: reconstruction and likelihoods of latent and hyper latent."""
        y = self.g_a(x) * self.gain(level)
        if not self.hyperprior:
            _, y_lik = self.y_model(y)
            y_hat = ste_round(y)
            return {"x_hat": self.g_s(y_hat * self.inverse_gain(level)), "likelihoods": [y_lik]}
        z = self.h_a(y)
        _, z_lik = self.z_model(z)
        index, mean_codes = self.h_s(ste_round(z))
        scales = torch.exp(math.log(SCALE_MIN) + index * _log_step())
        means = mean_codes / MEAN_DENOMINATOR
        noisy = y + torch.empty_like(y).uniform_(-0.5, 0.5) if self.training else ste_round(y - means) + means
        y_lik = self.y_model._likelihood(noisy, scales, means)
        y_lik = self.y_model.likelihood_lower_bound(y_lik)
        y_hat = ste_round(y - means) + means  # what the decoder will see
        return {"x_hat": self.g_s(y_hat * self.inverse_gain(level)), "likelihoods": [y_lik, z_lik]}

    def rd_loss(self, x: torch.Tensor, level: int) -> dict[str, torch.Tensor]:
        """Rate-distortion loss of a batch at ``level``, plus the entropy models' aux loss.

        The distortion is ``peak**2 * MSE`` on [0, 1] images: the MSE in the
        stored data range, not CompressAI's hard-coded 255**2.
        """
        out = self(x, level)
        bpp = bits_per_pixel(out["likelihoods"], x)
        mse = torch.mean((out["x_hat"] - x) ** 2)
        loss = self.lambdas[level] * self.peak**2 * mse + bpp
        aux = sum(bottleneck.loss() for bottleneck in self.entropy_bottlenecks())
        return {"loss": loss + aux, "bpp": bpp.detach(), "mse": mse.detach(), "aux": aux.detach()}

    def entropy_bottlenecks(self) -> list[EntropyBottleneck]:
        """The EntropyBottleneck modules (their quantiles train on the aux loss)."""
        return [self.z_model] if self.hyperprior else [self.y_model]

    # -- freezing for coding ------------------------------------------------------------
    @torch.no_grad()
    def finalise(self) -> None:
        """Freeze everything the entropy decoder depends on into integer buffers.

        Medians of the factorized densities are rounded to integers (so rounded
        latents are integers), the CDF tables are built once here and stored in
        the checkpoint (never recomputed on a decoder), and the hyper-synthesis
        is frozen to its fixed-point form.
        """
        for bottleneck in self.entropy_bottlenecks():
            bottleneck.quantiles[:, 0, 1] = torch.round(bottleneck.quantiles[:, 0, 1])
            bottleneck.update(force=True)
        if self.hyperprior:
            self.y_model.update_scale_table(scale_table(), force=True)
            for layer in self.h_s.layers():
                layer.freeze()

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):  # type: ignore[override]
        """Load weights, resizing the entropy models' table buffers to the stored tables."""
        # lazy: optional extra mcz[entropy] (compressai)
        from compressai.models.utils import update_registered_buffers

        names = ["_quantized_cdf", "_offset", "_cdf_length"]
        for prefix in ("z_model", "y_model"):
            module = getattr(self, prefix, None)
            if module is None:
                continue
            extra = ["scale_table"] if prefix == "y_model" and self.hyperprior else []
            present = [n for n in names + extra if f"{prefix}.{n}" in state_dict]
            if present:
                fixed = {k: (v.to(torch.int32) if k.split(".")[-1] in names else v) for k, v in state_dict.items()}
                update_registered_buffers(module, prefix, present, fixed)
                state_dict = fixed
        return super().load_state_dict(state_dict, strict=strict, assign=assign)


def bits_per_pixel(likelihoods: Sequence[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Estimated bits per pixel of a batch ``x`` (N, 1, H, W) from its latents' likelihoods."""
    pixels = x.shape[0] * x.shape[2] * x.shape[3]
    # sum() is typed Tensor | int (its start, 0); every caller passes at least one likelihood tensor.
    return cast(torch.Tensor, sum(-torch.log2(lik).sum() for lik in likelihoods) / pixels)


def _log_step() -> float:
    return (math.log(SCALE_MAX) - math.log(SCALE_MIN)) / (SCALE_LEVELS - 1)
