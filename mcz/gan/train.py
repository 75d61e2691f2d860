"""Fine-tune a realistic decoder: frozen encoder and entropy model, ``g_s_real`` from ``g_s``.

Loss (HiFiC, Mentzer et al. 2020, Eq. 4 without its LPIPS term, whose ImageNet weights
cannot be downloaded here)::

    L_G = k_M * peak**2 * MSE(x, g_s_real(y)) + beta * -log D(g_s_real(y), y)
    L_D = -log D(x, y) - log(1 - D(g_s_real(y), y))

``y`` is the gain-corrected quantised latent exactly as a decoder sees it (eval-mode
rounding around the hyperprior's means, every rate level).  The rate term is absent:
the encoder and entropy model are frozen, so the bitstream is the base model's.
Latents of a fixed set of training patches are computed once (the frozen encoder gives
the same latent every epoch), so a step costs only the two networks being trained.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from mcz.codec.learned import MEAN_DENOMINATOR
from mcz.gan.networks import PatchDiscriminator, discriminator_loss, generator_loss
from mcz.metrics import psnr

#: HiFiC's distortion weight k_M = 0.075 * 2**-5, applied to the MSE in stored units (peak**2 * MSE).
K_M = 0.075 * 2**-5


@dataclass
class GanConfig:
    """One fine-tuning run (all of it goes into the decoder's manifest entry)."""

    beta: float
    steps: int = 400
    seconds: float | None = None  # stop earlier when this CPU-time budget is spent
    batch_size: int = 8
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    k_m: float = K_M
    seed: int = 0
    levels: Sequence[int] = field(default_factory=lambda: list(range(8)))
    # Weight of the blob term (k_M * peak**2 * mean squared LoG difference at the blob detector's scales;
    # see blob_term). 0 leaves HiFiC's loss as it is.
    blob_weight: float = 0.0


#: Scales (px) of the blob term: those of the LoG blob detector the safeguards count with (mcz.hallucination.lesions).
BLOB_SIGMAS = (1.0, 2.0, 4.0)


def log_kernel(sigma: float) -> torch.Tensor:
    """A scale-normalised Laplacian-of-Gaussian kernel (1, 1, k, k), zero mean, k = 2 * ceil(3 sigma) + 1."""
    half = int(np.ceil(3 * sigma))
    r = torch.arange(-half, half + 1, dtype=torch.float32)
    rr = r[:, None] ** 2 + r[None, :] ** 2
    kernel = (rr / (2 * sigma**2) - 1) * torch.exp(-rr / (2 * sigma**2))
    kernel = kernel - kernel.mean()
    return (kernel / kernel.abs().sum())[None, None]


def blob_term(fake: torch.Tensor, real: torch.Tensor, sigmas: Sequence[float] = BLOB_SIGMAS) -> torch.Tensor:
    """Mean squared difference of LoG responses of ``fake`` and ``real`` at the blob detector's scales.

    A blob is an extremum of these responses, so a decoder that draws one where the original has
    none pays here, at the scales the safeguard counts, beyond what the pixel MSE charges.
    """
    total = fake.new_zeros(())
    for sigma in sigmas:
        kernel = log_kernel(sigma).to(fake)
        pad = kernel.shape[-1] // 2
        diff = nn.functional.conv2d(nn.functional.pad(fake - real, (pad,) * 4, mode="reflect"), kernel)
        total = total + torch.mean(diff**2)
    return total / len(sigmas)


@dataclass
class LatentSet:
    """Image patches in [0, 1] and the latents a decoder sees for them."""

    images: torch.Tensor   # (N, 1, P, P)
    latents: torch.Tensor  # (N, m, P/16, P/16), gain-corrected (the synthesis input)
    levels: torch.Tensor   # (N,) 0-based rate level of each latent


@torch.no_grad()
def decoder_latent(model, x: torch.Tensor, level: int) -> torch.Tensor:
    """The synthesis input a decoder gets for ``x`` at a 0-based ``level`` (as the codec quantises it).

    The hyper latent is rounded (its medians are integers after ``finalise``), the fixed-point
    hyper-synthesis gives the means, and ``y_hat = round(y - mean) + mean``; the result is
    multiplied by the level's inverse gain.  :func:`mcz.codec.learned_coding.encode_tile`
    codes the same ``y_hat`` (tested in ``tests/gan``).
    """
    y = model.g_a(x) * model.gain(level)
    if model.hyperprior:
        _, mean_codes = model.h_s(torch.round(model.h_a(y)))
        means = mean_codes / MEAN_DENOMINATOR
        y_hat = torch.round(y - means) + means
    else:
        y_hat = torch.round(y)
    return y_hat * model.inverse_gain(level)


def latent_set(model, patches: torch.Tensor, levels: Sequence[int], seed: int = 0, chunk: int = 16) -> LatentSet:
    """Latents of ``patches`` (N, 1, P, P), each at a level drawn from ``levels``."""
    rng = np.random.default_rng(seed)
    chosen = torch.from_numpy(rng.choice(np.asarray(levels), size=len(patches)))
    latents = []
    for start in range(0, len(patches), chunk):
        for i in range(start, min(start + chunk, len(patches))):
            latents.append(decoder_latent(model, patches[i : i + 1], int(chosen[i]))[0])
    return LatentSet(patches, torch.stack(latents), chosen)


def fine_tune(model, data: LatentSet, config: GanConfig,
              log: Callable[[str], None] = print) -> tuple[torch.nn.Module, dict]:
    """Train ``g_s_real`` (a copy of ``model.g_s``) and a discriminator; returns it and the run's record."""
    torch.manual_seed(config.seed)
    generator = copy.deepcopy(model.g_s)
    return adversarial(generator, PatchDiscriminator(model.m), data, config, float(model.peak), log)


def adversarial(generator: torch.nn.Module, disc: torch.nn.Module, data: LatentSet, config: GanConfig,
                peak: float, log: Callable[[str], None] = print) -> tuple[torch.nn.Module, dict]:
    """Train ``generator`` (from its current weights) against ``disc`` on ``data``; returns it and the run's record.

    Parameters
    ----------
    generator : torch.nn.Module
        Maps ``data.latents`` (the condition a decoder sees) to images.
    disc : torch.nn.Module
        ``disc(image, condition)`` -> patch logits.
    data : LatentSet
        Images and their conditions.
    config : GanConfig
        Loss weights, optimiser and budget.
    peak : float
        The MSE term is ``k_M * peak**2 * MSE`` of [0, 1] images (HiFiC's k_M is for 8-bit units).
    log : callable
        Receives a progress line every 50 steps.
    """
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    generator = generator.train().requires_grad_(True)
    opt_g = torch.optim.Adam(generator.parameters(), lr=config.lr_g)
    opt_d = torch.optim.Adam(disc.parameters(), lr=config.lr_d)
    peak2 = peak**2
    start, cpu0 = time.perf_counter(), time.process_time()
    history, step = [], 0
    for step in range(1, config.steps + 1):
        idx = torch.from_numpy(rng.integers(len(data.images), size=config.batch_size))
        x, y = data.images[idx], data.latents[idx]
        fake = generator(y)
        d_loss = discriminator_loss(disc(x, y), disc(fake.detach(), y))
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        mse = torch.mean((fake - x) ** 2)
        g_adv = generator_loss(disc(fake, y))
        g_loss = config.k_m * peak2 * mse + config.beta * g_adv
        if config.blob_weight:
            g_loss = g_loss + config.blob_weight * config.k_m * peak2 * blob_term(fake, x)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        if step % 50 == 0 or step == 1:
            row = {"step": step, "mse": mse.item(), "g_adv": g_adv.item(), "d_loss": d_loss.item()}
            history.append(row)
            log(f"beta {config.beta}: step {step} mse {row['mse']:.6f} L_G {row['g_adv']:.3f} L_D {row['d_loss']:.3f}")
        if config.seconds is not None and time.process_time() - cpu0 > config.seconds:
            break
    record = {"config": {**asdict(config), "levels": list(config.levels)}, "steps": step,
              "cpu_seconds": round(time.process_time() - cpu0, 1),
              "wall_seconds": round(time.perf_counter() - start, 1), "history": history}
    return generator.eval(), record


@torch.no_grad()
def validate(model, generator: torch.nn.Module, data: LatentSet,
             reference: Callable[[torch.Tensor], torch.Tensor] | None = None) -> dict:
    """Mean PSNR (R = 1 on [0, 1] crops) of the MSE and the realistic decoder, per level and overall.

    ``reference`` maps a condition to the MSE decoder's image (default ``model.g_s``).
    """
    mse_decoder = reference if reference is not None else model.g_s
    rows = []
    for x, y, level in zip(data.images, data.latents, data.levels):
        ref = x[0].numpy().astype(np.float64)
        mse_out = mse_decoder(y[None])[0, 0].clamp(0, 1).numpy()
        real_out = generator(y[None])[0, 0].clamp(0, 1).numpy()
        rows.append((int(level), psnr(ref, mse_out, 1.0), psnr(ref, real_out, 1.0)))
    table = np.asarray(rows)
    per_level = {}
    for level in sorted(set(table[:, 0].astype(int))):
        sel = table[table[:, 0] == level]
        per_level[str(int(level))] = {"psnr_mse": float(sel[:, 1].mean()), "psnr_realistic": float(sel[:, 2].mean()),
                            "worst_drop": float((sel[:, 1] - sel[:, 2]).max()), "crops": int(len(sel))}
    return {"psnr_mse": float(table[:, 1].mean()), "psnr_realistic": float(table[:, 2].mean()),
            "worst_drop": float((table[:, 1] - table[:, 2]).max()), "crops": int(len(table)),
            "per_level": per_level}
