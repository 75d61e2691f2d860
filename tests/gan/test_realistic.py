"""The realistic (GAN) decoder of hyperprior-compact: same file, other synthesis, measured limits, labelled output.

The PSNR bound and the blob count are enforced on the bundled real head CT (pydicom-data
``693_UNCR.dcm``) with the shipped decoder, at rate level 4. The wavelet-ctx post-filter (the
decoder the hallucination report now measures) is tested in ``test_postfilter.py``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import mcz
from mcz.codec import engine, realistic
from mcz.errors import ChecksumError, ModelError, UsageError
from mcz.codec import decoders
from mcz.hallucination import lesions
from mcz.hallucination.decoders import code_frame
from mcz.metrics import psnr
from tests.gan.conftest import tampered_decoder, with_damaged_payload

pytest.importorskip("compressai")
BASE_MODEL = "hyperprior-compact"
CHECKPOINTS = Path(__file__).resolve().parents[2] / "checkpoints"


@pytest.fixture(scope="module")
def demo_coded(demo_ct):
    frame, bits = demo_ct
    return frame, bits, code_frame(frame, bits, 4, model=BASE_MODEL)


@pytest.fixture(autouse=True)
def _fresh_caches():
    yield
    realistic.realistic_codec.cache_clear()


def _encode(frame: np.ndarray, bits: int) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mcz.encode(frame, bits_stored=bits, model=BASE_MODEL)


def test_the_shipped_decoder_is_listed_with_its_provenance() -> None:
    manifest = json.loads((CHECKPOINTS / "manifest.json").read_text())
    (entry,) = [d for d in manifest[decoders.DECODERS_KEY] if d["base"] == BASE_MODEL]
    base = [m for m in manifest["models"] if m["id"] == BASE_MODEL][0]
    assert entry["base_sha256"] == base["sha256"]
    assert entry["beta"] in (0.01, 0.05, 0.15)
    assert entry["steps"] > 0 and entry["train_seconds"] > 0 and "Br35H" in entry["data"]
    path = CHECKPOINTS / entry["file"]
    assert path.stat().st_size < 2_000_000 and entry["weights_dtype"] == "float16"
    from mcz.codec.zoo import sha256_file

    assert sha256_file(path) == entry["sha256"]


def test_psnr_bound_on_the_demo_ct(demo_coded) -> None:
    frame, bits, coded = demo_coded
    peak = 2.0**bits - 1
    mse, real = (psnr(frame.astype(np.float64), coded.pixels[k], peak) for k in ("mse", "realistic"))
    assert real >= mse - 3.0, f"realistic {real:.2f} dB vs MSE decoder {mse:.2f} dB"


def test_realistic_draws_no_more_blobs_than_the_mse_decoder_on_the_demo_ct(demo_coded) -> None:
    """New LoG blobs (absent from the original): the GAN decoder may not add any beyond its MSE twin's.

    JPEG 2000 at equal bytes is counted too but not asserted: the base model itself is far behind it
    (about 39 dB against 55 dB on this CT at level 4) and draws over ten times its blobs, so the goal
    "not more than JPEG 2000" is not met by either mcz decoder; docs/ganvae.md reports it.
    """
    frame, _, coded = demo_coded
    original = frame.astype(np.float64)
    scale = lesions.display_range(original)
    new = {k: lesions.new_blobs(original, coded.pixels[k], scale) for k in ("mse", "realistic", "j2k")}
    assert new["realistic"] <= new["mse"], new
    assert new["j2k"] < new["mse"]  # the measured gap docs/ganvae.md states; if it closes, update the docs


def test_the_two_decoders_differ_and_share_the_latent(demo_ct) -> None:
    frame, bits = demo_ct
    data = _encode(frame, bits)
    mse, real = mcz.decode(data), mcz.decode(data, decoder="realistic")
    assert mse.shape == real.shape == frame.shape and real.dtype == frame.dtype
    assert np.any(mse != real)  # a fine-tuned synthesis, not a copy of g_s


def test_realistic_output_is_labelled_a_non_diagnostic_preview(demo_ct, tmp_path) -> None:
    from mcz.demo import bundled_image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = mcz.encode(str(bundled_image()), model=BASE_MODEL)
    src = tmp_path / "ct.mcz"
    src.write_bytes(data)
    image = mcz.decode_image(data, decoder="realistic")
    assert (image.decoder, image.decoder_id) == ("realistic", f"{BASE_MODEL}-realistic")
    assert mcz.decode_image(data).decoder == "mse"
    import pydicom

    out = mcz.api.decode_file(src, tmp_path / "preview.dcm", decoder="realistic")
    ds = pydicom.dcmread(out)
    assert "NON-DIAGNOSTIC PREVIEW" in ds.DerivationDescription
    assert "NON DIAGNOSTIC" in ds.ImageType and "PREVIEW" in ds.ImageType
    plain = pydicom.dcmread(mcz.api.decode_file(src, tmp_path / "plain.dcm"))
    assert "PREVIEW" not in plain.ImageType and "PREVIEW" not in str(plain.get("DerivationDescription", ""))


def test_info_lists_the_decoders(demo_ct) -> None:
    frame, bits = demo_ct
    decoders = mcz.read_info(_encode(frame, bits)).decoders
    assert [d["decoder"] for d in decoders] == ["mse", "realistic"]
    assert decoders[1]["label"] == "non-diagnostic preview" and not decoders[1]["pixels_checked"]


def test_a_corrupt_latent_is_refused_before_the_realistic_synthesis(demo_ct) -> None:
    frame, bits = demo_ct
    with pytest.raises(ChecksumError, match="latents"):
        mcz.decode(with_damaged_payload(_encode(frame, bits)), decoder="realistic")


def test_refusals() -> None:
    image = (np.arange(64 * 64) % 251).astype(np.uint8).reshape(64, 64)
    cae_file = mcz.encode(image, bits_stored=8, model="cae-compact")
    with pytest.raises(UsageError, match="has no realistic decoder"):
        mcz.decode(cae_file, decoder="realistic")
    with pytest.raises(UsageError, match="decoder 'pretty' is not known"):
        mcz.decode(cae_file, decoder="pretty")
    with pytest.raises(UsageError, match="torch backend only"):
        mcz.decode(_encode(image, 8), decoder="realistic", backend="onnxruntime")


def test_tampered_weights_are_refused(tmp_path, monkeypatch) -> None:
    tampered_decoder(BASE_MODEL, tmp_path, monkeypatch)
    base = engine.load_codec(BASE_MODEL)
    with pytest.raises(ModelError, match="never load unverified weights"):
        realistic.realistic_codec(BASE_MODEL, base.checkpoint_sha256)


def test_decoder_latent_is_what_the_codec_codes() -> None:
    """The GAN trains on :func:`decoder_latent`: its g_s output is the codec's own MSE decode."""
    import torch

    from mcz.gan.train import decoder_latent

    rng = np.random.default_rng(1)
    image = np.clip(rng.normal(120, 30, (128, 128)).cumsum(axis=1) / 40 + 60, 0, 255).astype(np.uint8)
    from mcz.intensity import from_unit, to_unit
    from mcz.io import from_array

    base = engine.load_codec(BASE_MODEL)
    window = engine.coding_window(image, from_array(image, bits_stored=8).intensity)
    # The engine's own [0, 1] mapping: a 1-ulp different input can flip a rounding of y.
    x = torch.from_numpy(np.ascontiguousarray(to_unit(image, window), np.float32))[None, None]
    for quality in (1, 4, 8):
        data = mcz.encode(image, bits_stored=8, model=BASE_MODEL, quality=quality)
        with torch.inference_mode():
            ours = base.model.g_s(decoder_latent(base.model, x, quality - 1))[0, 0].numpy()
        assert np.abs(from_unit(ours, window).astype(int) - mcz.decode(data).astype(int)).max() <= 1


def test_cli_decode_realistic_and_info(demo_ct, tmp_path, capsys) -> None:
    from mcz.cli.main import main
    from mcz.errors import ExitCode

    frame, bits = demo_ct
    src = tmp_path / "ct.mcz"
    src.write_bytes(_encode(frame, bits))
    assert main(["info", str(src)]) == ExitCode.OK
    shown = capsys.readouterr().out
    assert "decoder      mse: hyperprior-compact (default, pixels checked)" in shown
    assert "decoder      realistic: hyperprior-compact-realistic (non-diagnostic preview, pixels not checked)" in shown
    out = tmp_path / "preview.npy"
    assert main(["decode", str(src), "--decoder", "realistic", "-o", str(out)]) == ExitCode.OK
    assert np.array_equal(np.load(out), mcz.decode(src.read_bytes(), decoder="realistic"))


def test_models_lists_the_decoder(capsys) -> None:
    from mcz.cli.main import main

    assert main(["models"]) == 0
    line = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith(f"{BASE_MODEL}-realistic")]
    assert line and "NON-DIAGNOSTIC PREVIEW" in line[0]
