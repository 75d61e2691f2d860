"""The founding paper's architecture, exactly (paper 002 in docs/references.md, Tables 1-2)."""

from __future__ import annotations

import torch
from torch import nn

from mcz.codec.cae import CAE
from mcz.codec.registry import get_spec


def test_cae_seed_matches_the_paper_tables():
    spec = get_spec("cae-seed")
    model = CAE(**spec.config)
    convs = [m for m in model.encoder if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 64, 128, 256, 512]
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) for c in convs)
    assert sum(isinstance(m, nn.MaxPool2d) for m in model.encoder) == 5
    assert sum(isinstance(m, nn.SiLU) for m in model.encoder) == 5  # swish
    deconvs = [m for m in model.decoder if isinstance(m, nn.ConvTranspose2d)]
    assert [d.out_channels for d in deconvs] == [512, 256, 128, 64, 1]
    assert all(d.stride == (2, 2) and d.kernel_size == (3, 3) for d in deconvs)
    assert isinstance(model.decoder[-1], nn.Sigmoid)
    with torch.inference_mode():
        y = model.encode(torch.rand(1, 1, 512, 512))
        assert y.shape == (1, 512, 16, 16)
        x_hat = model.decode(y)
    assert x_hat.shape == (1, 1, 512, 512)
    assert 0 <= x_hat.min() and x_hat.max() <= 1


def test_compact_latent_is_small_enough_for_low_rates():
    spec = get_spec("cae-compact")
    model = CAE(**spec.config)
    y = model.encode(torch.rand(1, 1, 256, 256))
    raw_bpp = y.numel() * spec.default_quality / (256 * 256)
    assert raw_bpp < 0.5  # before Brotli; cae-seed's latent costs 4 bpp


def test_training_forward_returns_reconstruction_and_latent():
    model = CAE(**get_spec("cae-compact").config)
    out = model(torch.rand(2, 1, 64, 64), bits=6)
    assert out["x_hat"].shape == (2, 1, 64, 64)
    out["x_hat"].mean().backward()
    assert model.encoder[0].weight.grad is not None
