"""The GAN fine-tuning pieces: discriminator, a few real steps, the decoder checkpoint round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

pytest.importorskip("compressai")

from mcz.codec import decoders  # noqa: E402
from mcz.gan.networks import PatchDiscriminator, discriminator_loss, generator_loss  # noqa: E402
from mcz.gan.train import GanConfig, LatentSet, fine_tune, validate  # noqa: E402


def test_discriminator_is_conditioned_and_spectrally_normalised() -> None:
    disc = PatchDiscriminator(latent_channels=8)
    image, latent = torch.rand(2, 1, 64, 64), torch.randn(2, 8, 4, 4)
    logits = disc(image, latent)
    assert logits.shape == (2, 1, 8, 8)
    assert not torch.allclose(logits, disc(image, latent + 1.0))  # the latent changes the verdict
    weight = disc.body[0].weight  # parametrised: the normalised weight
    assert torch.linalg.matrix_norm(weight.flatten(1), ord=2) <= 1.05
    real, fake = torch.full((4,), 5.0), torch.full((4,), -5.0)
    assert discriminator_loss(real, fake) < 0.02 and generator_loss(fake) > 4.9


class _Tiny(torch.nn.Module):
    """A stand-in base model: a latent-to-image synthesis and the attributes fine_tune reads."""

    def __init__(self) -> None:
        super().__init__()
        self.m, self.peak = 4, 255.0
        self.g_s = torch.nn.Sequential(torch.nn.Conv2d(4, 16 * 16, 1), torch.nn.PixelShuffle(16))


def test_a_few_steps_move_g_s_real_and_keep_g_s(tmp_path) -> None:
    torch.manual_seed(0)
    base = _Tiny()
    before = {k: v.clone() for k, v in base.g_s.state_dict().items()}
    data = LatentSet(torch.rand(16, 1, 32, 32), torch.randn(16, 4, 2, 2), torch.zeros(16, dtype=torch.long))
    generator, record = fine_tune(base, data, GanConfig(beta=0.15, steps=6, batch_size=4), log=lambda m: None)
    assert record["steps"] == 6 and record["config"]["beta"] == 0.15
    assert all(torch.equal(before[k], v) for k, v in base.g_s.state_dict().items())
    assert any(not torch.equal(before[k], v) for k, v in generator.state_dict().items())
    scores = validate(base, generator, data)
    assert set(scores["per_level"]) == {"0"} and np.isfinite(scores["worst_drop"])
    entry = decoders.save_decoder(generator, tmp_path, {"id": "tiny-realistic", "kind": "realistic",
                                                         "base": "tiny", "base_sha256": "ab" * 32})
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["decoders"][0]["sha256"] == entry["sha256"] and manifest["models"] == []
    found = decoders.DecoderEntry("tiny-realistic", "tiny", "ab" * 32, tmp_path / entry["file"], entry["sha256"], entry)
    loaded = decoders.load_synthesis(found, _Tiny().g_s)
    for k, v in generator.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v.half().float())


def test_a_post_filter_trains_from_the_identity_and_round_trips(tmp_path) -> None:
    """The wavelet family's realistic decoder: a residual filter conditioned on the MSE decode and the step."""
    from mcz.codec.postfilter import PostFilter, condition
    from mcz.gan.train import adversarial

    torch.manual_seed(0)
    clean = torch.rand(16, 1, 32, 32)
    decoded = (clean + 0.05 * torch.randn_like(clean)).clamp(0, 1)
    data = LatentSet(clean, condition(decoded, 2.0**-5), torch.zeros(16, dtype=torch.long))
    start = PostFilter()
    assert torch.equal(start(data.latents), decoded)  # zero last layer: the MSE decoder
    generator, record = adversarial(start, PatchDiscriminator(2, stride=1), data,
                                    GanConfig(beta=0.05, steps=5, batch_size=4), 255.0, log=lambda m: None)
    assert record["steps"] == 5 and not torch.equal(generator(data.latents), decoded)
    scores = validate(None, generator, data, reference=lambda y: y[:, :1])
    assert np.isfinite(scores["psnr_realistic"]) and scores["crops"] == 16
    entry = decoders.save_decoder(generator, tmp_path, {"id": "w-realistic", "kind": "realistic",
                                                         "base": "w", "base_sha256": "cd" * 32})
    found = decoders.DecoderEntry("w-realistic", "w", "cd" * 32, tmp_path / entry["file"], entry["sha256"], entry)
    loaded = decoders.load_synthesis(found, PostFilter())
    assert torch.allclose(loaded(data.latents[:2]), generator(data.latents[:2]), atol=2e-3)


def test_a_new_decoder_replaces_only_the_one_for_the_same_base_weights(tmp_path) -> None:
    """Files coded with a base model's earlier weights keep their realistic decoder."""
    from mcz.codec.postfilter import PostFilter

    torch.manual_seed(1)
    entries = []
    for base_sha, scale in (("aa" * 32, 0.1), ("bb" * 32, 0.2), ("bb" * 32, 0.3)):
        net = PostFilter()
        with torch.no_grad():
            for p in net.parameters():
                p.add_(scale)
        entries.append(decoders.save_decoder(net, tmp_path, {"id": "w-realistic", "kind": "realistic",
                                                             "base": "w", "base_sha256": base_sha}))
    listed = json.loads((tmp_path / "manifest.json").read_text())["decoders"]
    # The second decoder for weights bb.. replaced the first (its file removed); the one for aa.. stays.
    assert [d["file"] for d in listed] == [entries[2]["file"], entries[0]["file"]]
    assert not (tmp_path / entries[1]["file"]).exists() and (tmp_path / entries[0]["file"]).exists()
