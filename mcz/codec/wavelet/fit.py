"""Fit a wavelet model's context model and reconstruction offsets to real images.

The transform is fixed (CDF 9/7); what is learned is the entropy model: per band
class and checkerboard pass, the non-negative weights that turn neighbourhood
magnitudes into a Laplace scale (maximum likelihood of the symbols the encoder
actually emits), and per scale the reconstruction offset that minimises the
squared error (the centroid of each quantisation bin).  Fitting alternates with
re-encoding, because the encoder's rate-distortion choices depend on the model.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import torch

from mcz.codec import native
from mcz.codec.wavelet import coder, context, packet, tables
from mcz.codec.wavelet.frames import UnitFrame
from mcz.codec.wavelet.model import CLASSES, WaveletModel

#: Symbols beyond this magnitude are left out of the likelihood (they use raw bits anyway).
MAX_FIT_SYMBOL = 200


def training_qualities(frames: Sequence[UnitFrame], seed: int) -> list[int]:
    """One quality per frame, uniform over about 28-60 dB (8-bit) / 40-75 dB (12-bit) against R.

    Fitting across the whole useful range keeps one model good at every quality.
    """
    rng = np.random.default_rng(seed)
    out = []
    for f in frames:
        bits = int(round(np.log2(f.peak + 1)))
        out.append(int(rng.integers(4 * bits - 28, 4 * bits + 10)))
    return out


#: How :func:`collect` lays out each frame's finest level: always dyadic, every orientation split
#: (keeping the children's passes only), or as the encoder itself chooses per frame (every pass kept).
LAYOUTS = ("dyadic", "children", "chosen")


def collect(model: WaveletModel, frames: Sequence[UnitFrame], qualities: Sequence[int],
            per_pass: int = 4000, seed: int = 0, layout: str = "dyadic") -> dict:
    """Encode every frame at its quality and keep a sample of each detail pass.

    ``layout`` (:data:`LAYOUTS`): ``"children"`` codes every frame (of at least 32 pixels a side)
    as a wavelet packet with all three finest orientations split and keeps the children's passes
    only; ``"chosen"`` codes each frame with the split the packet encoder picks for it (so the
    samples are the symbols ``mcz encode`` emits) and keeps every pass. Returns
    ``{(class, pass): dict(features, q, u, inv_step)}`` of concatenated arrays.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout {layout!r}: expected one of {LAYOUTS}")
    rng = np.random.default_rng(seed)
    t = model.tables()
    store: dict = defaultdict(lambda: defaultdict(list))
    for frame, quality in zip(frames, qualities):
        shape = frame.pixels.shape
        if layout == "children" and not packet.worth_trying(shape):
            continue
        step = coder.step_size(quality, frame.range_per_unit)
        # Children's passes only, under "children": the bands after the coarser levels' ids.
        first_kept = 1 + 3 * (coder.lifting.levels_for(shape[0], shape[1], t.max_levels) - 1) if layout == "children" else 1

        def observe(p: coder.Pass, q: np.ndarray, values: np.ndarray, step: float = step, first: int = first_kept) -> None:
            if p.band >= first:
                _sample(store[(p.cls, p.order)], p, q, values, step, rng, per_pass)

        # The encoders themselves code each frame, so the samples are the symbols they emit
        # (predicted levels included).
        if layout == "dyadic" or not packet.worth_trying(shape):
            coder.encode_wavelet(t, frame.unit, quality, frame.range_per_unit, 0, 0, observe=observe)
        else:
            packet.encode(t, frame.unit, step, 0, 0, force_mask=packet.ALL if layout == "children" else None,
                          observe=observe)
    return {k: {n: np.concatenate(v, axis=-1) for n, v in d.items()} for k, d in store.items()}


def _sample(entry: dict, p: coder.Pass, q: np.ndarray, values: np.ndarray, step: float,
            rng: np.random.Generator, per_pass: int) -> None:
    keep = np.flatnonzero(p.shift == 0)
    if len(keep) > per_pass:
        keep = rng.choice(keep, per_pass, replace=False)
    assert p.features is not None  # a detail pass (the only ones sampled) carries its features
    entry["features"].append(p.features[:, keep])
    entry["q"].append(q[keep])
    entry["u"].append(values[keep])
    entry["inv_step"].append(np.full(len(keep), 1.0 / step))


def fit_packet_classes(model: WaveletModel, frames: Sequence[UnitFrame], qualities: Sequence[int],
                       rounds: int = 2, rho: float = 0.5, log=print) -> WaveletModel:
    """Fit the wavelet-packet children's own context weights; everything else stays as it is.

    The band classes, probability tables and reconstruction offsets are left bit for bit, so the
    dyadic and block-DCT modes code exactly as before. Alternates with re-encoding like :func:`fit`.
    """
    if not model.has_packet_classes:
        model.add_packet_classes()
    for r in range(rounds):
        data = collect(model, frames, qualities, seed=r, layout="children")  # children's classes only
        total_bits, total_n = _fit_weights(model, data, rho)
        log(f"packet round {r + 1}: {total_n:.0f} sampled symbols, {total_bits / max(total_n, 1):.4f} bits/symbol")
    return model


def _fit_weights(model: WaveletModel, data: dict, rho: float) -> tuple[float, float]:
    """Fit the weights and bias of every (class, pass) in ``data`` (band and packet-child classes
    alike; the others keep theirs); returns the sampled bits and symbols, for the log."""
    weights, bias = model.weights.clone(), model.bias.clone()
    if model.has_packet_classes:  # child classes follow the band classes, as in Tables
        weights = torch.cat([weights, model.packet_weights.clone()])
        bias = torch.cat([bias, model.packet_bias.clone()])
    total_bits = total_n = 0.0
    for (cls, p), d in sorted(data.items()):
        w, b, bits = fit_pass(d, rho)
        weights[cls, p] = torch.from_numpy(w)
        bias[cls, p] = b
        total_bits += bits * d["q"].size
        total_n += d["q"].size
    model.weights.copy_(weights[:CLASSES])
    model.bias.copy_(bias[:CLASSES])
    if model.has_packet_classes:
        model.packet_weights.copy_(weights[CLASSES:])
        model.packet_bias.copy_(bias[CLASSES:])
    return total_bits, total_n


def _nll(scale: torch.Tensor, q: torch.Tensor, rho: float) -> torch.Tensor:
    """Bits of each symbol under the deadzone-quantised Laplace of :func:`tables.laplace_pmf`."""
    n = q.abs()
    zero = -torch.expm1(-(1.0 - rho) / scale)
    lower = torch.exp(-(n - rho) / scale)
    side = 0.5 * lower * -torch.expm1(-1.0 / scale)
    p = torch.where(n == 0, zero, side)
    return -torch.log2(p.clamp_min(1e-12))


def fit_pass(data: dict, rho: float, steps: int = 300) -> tuple[np.ndarray, float, float]:
    """Maximum-likelihood weights (6,) and bias of one (class, pass); returns them and the bits/symbol."""
    f = torch.from_numpy(data["features"].T.astype(np.float64))
    q = torch.from_numpy(data["q"].astype(np.float64))
    inv = torch.from_numpy(data["inv_step"])
    keep = q.abs() <= MAX_FIT_SYMBOL
    f, q, inv = f[keep], q[keep], inv[keep]
    log_w = torch.full((f.shape[1],), -2.0, dtype=torch.float64, requires_grad=True)
    log_b = torch.tensor(-8.0, dtype=torch.float64, requires_grad=True)
    used = (f != 0).any(dim=0)
    opt = torch.optim.LBFGS([log_w, log_b], max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        scale = torch.exp(log_b) * inv + f @ (torch.exp(log_w) * used) + 1e-3
        loss = _nll(scale, q, rho).mean()
        loss.backward()
        return loss

    opt.step(closure)
    bits = float(closure().detach())
    weights = (torch.exp(log_w) * used).detach().numpy()
    return weights, float(torch.exp(log_b).detach()), bits


def _indexed(model: WaveletModel, data: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(table index, symbol, value in steps) of every sample whose scale fits the table, by the integer path."""
    t = model.tables()
    out = []
    for (cls, p), d in data.items():
        bias_fp = np.rint(t.bias[cls, p] * d["inv_step"] * 2**tables.FRAC_BITS).astype(np.int64)
        sigma = bias_fp + np.tensordot(t.weights_fp[cls, p], d["features"], axes=1)
        index, shift = context.scale_index(sigma, t.thresholds)
        keep = shift == 0
        out.append((index[keep], d["q"][keep], d["u"][keep]))
    return tuple(np.concatenate(parts) for parts in zip(*out))


def fit_offsets(model: WaveletModel, data: dict) -> np.ndarray:
    """Centroid offsets per (scale, |q| = 1 or >= 2) of the samples, under the model's integer scale choice."""
    index, q, u = _indexed(model, data)
    shape = tuple(model.recon_offsets.shape)
    total, count = np.zeros(shape), np.zeros(shape)
    mag = np.abs(q)
    sel = mag >= 1
    col = np.minimum(mag[sel], 2) - 1
    np.add.at(total, (index[sel], col), mag[sel] - np.abs(u[sel]))
    np.add.at(count, (index[sel], col), 1)
    offsets = np.where(count >= 30, total / np.maximum(count, 1), 0.0)
    return np.clip(offsets, -0.25, 0.5)


def fit_tables(model: WaveletModel, data: dict, rho: float, prior: float = 64.0) -> None:
    """Replace each scale's Laplace law by the symbols' histogram (Laplace prior of weight ``prior``).

    The encoder's rate-distortion choices reshape the distribution (more zeros, fewer
    ones); counting what it emits captures that exactly.  Magnitudes are pooled over
    sign (the law stays symmetric) and the escape keeps a tail mass.
    """
    pmf_to_quantized_cdf = native.extension("_CXX").pmf_to_quantized_cdf

    index, q, _ = _indexed(model, data)
    scales = model.scales.numpy()
    offsets = model.offsets.numpy()
    cdfs = model.cdfs.numpy().copy()
    for k, scale in enumerate(scales):
        half = -int(offsets[k])
        laplace = tables.laplace_pmf(float(scale), rho, half)
        folded_prior = np.concatenate([[laplace[half]], 2 * laplace[half + 1 :]])
        mags = np.abs(q[index == k])
        hist = np.bincount(np.minimum(mags, half + 1), minlength=half + 2)[: half + 1]
        folded = (hist + prior * folded_prior) / (len(mags) + prior)
        pmf = np.concatenate([folded[:0:-1] / 2, folded[:1], folded[1:] / 2])
        tail = max(1e-6, 1.0 - float(pmf.sum()))
        cdf = pmf_to_quantized_cdf([*(pmf * (1 - tail) / pmf.sum()).tolist(), tail], tables.PRECISION)
        cdfs[k, : len(cdf)] = cdf
    model.cdfs.copy_(torch.from_numpy(cdfs))
    model.bits.copy_(torch.from_numpy(tables.code_lengths(cdfs)))


def fit(model: WaveletModel, frames: Sequence[UnitFrame], qualities: Sequence[int], rounds: int = 2,
        rho: float = 0.5, learn_tables: bool = True, layout: str = "dyadic", log=print) -> WaveletModel:
    """Alternate encode -> fit weights -> fit offsets ``rounds`` times; updates ``model`` in place.

    ``layout="chosen"`` fits everything on the symbols of the tiles the encoder would write (the
    wavelet-packet splits it picks per frame): band classes, the children's classes, the offsets
    and the tables together. It needs a model with packet classes and a fitted context model to
    start from, since the split decisions rest on the model's own cost estimates.
    """
    if layout == "chosen" and not model.has_packet_classes:
        raise ValueError("layout='chosen' refits a model with packet classes; fit them first (fit_packet_classes)")
    for r in range(rounds):
        data = collect(model, frames, qualities, seed=r, layout=layout)
        total_bits, total_n = _fit_weights(model, data, rho)
        model.recon_offsets.copy_(torch.from_numpy(fit_offsets(model, data)))
        if learn_tables:
            fit_tables(model, data, rho)
        log(f"round {r + 1}: {total_n:.0f} sampled symbols, {total_bits / max(total_n, 1):.4f} bits/symbol (fit)")
    return model
