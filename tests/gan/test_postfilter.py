"""The realistic decoder of wavelet-ctx: a residual post-filter on the MSE decoder's pixels.

The PSNR bound and the blob count are enforced on the bundled real head CT (pydicom-data
``693_UNCR.dcm``) with the shipped filter, at the quality the hallucination report's quick
run uses: the filter may not cost more than 3 dB, and may not draw more new blobs than the
MSE decoder or JPEG 2000 at equal bytes.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import mcz
from mcz.codec import decoders, engine, realistic
from mcz.codec.postfilter import PostFilter, apply
from mcz.errors import ChecksumError, FormatError, ModelError
from mcz.hallucination import lesions
from mcz.hallucination.decoders import code_frame
from mcz.hallucination.report import QUICK
from mcz.intensity import Intensity
from mcz.metrics import psnr
from tests.gan.conftest import tampered_decoder, with_damaged_payload

torch = pytest.importorskip("torch")
BASE = "wavelet-ctx"
CHECKPOINTS = Path(__file__).resolve().parents[2] / "checkpoints"


@pytest.fixture(scope="module")
def demo_coded(demo_ct):
    frame, bits = demo_ct
    return frame, bits, code_frame(frame, bits, QUICK.qualities[0], model=BASE)


@pytest.fixture(autouse=True)
def _fresh_caches():
    yield
    realistic.realistic_filter.cache_clear()


@pytest.fixture(scope="module")
def demo_dicom_file() -> bytes:
    """The bundled CT DICOM (with its field-of-view padding and header) coded at the quick run's quality."""
    from mcz.demo import bundled_image

    try:
        source = bundled_image()
    except Exception as exc:  # pydicom-data missing
        pytest.skip(str(exc))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mcz.encode(str(source), model=BASE, quality=QUICK.qualities[0])


def _encode(frame: np.ndarray, bits: int, quality: int = QUICK.qualities[0]) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mcz.encode(frame, bits_stored=bits, model=BASE, quality=quality)


def test_an_untrained_filter_is_the_mse_decoder() -> None:
    rng = np.random.default_rng(0)
    frame = rng.integers(100, 4000, (40, 56)).astype(np.uint16)
    window = Intensity("uint16", 12, False, 100.0, 3999.0)
    assert np.array_equal(apply(PostFilter(), frame, window, 2.0**-6), frame)
    floats = rng.random((33, 17)).astype(np.float32)
    unit_window = Intensity("float32", 32, True, 0.0, 1.0)
    assert np.allclose(apply(PostFilter(), floats, unit_window, 2.0**-6), floats, atol=1e-6)


def test_the_filter_sees_the_step() -> None:
    from mcz.codec.postfilter import condition

    unit = torch.zeros(2, 1, 8, 8)
    cond = condition(unit, [2.0**-4, 2.0**-8])
    assert cond.shape == (2, 2, 8, 8)
    assert torch.all(cond[0, 1] == -0.5) and torch.all(cond[1, 1] == -1.0)


def test_the_shipped_filter_is_listed_with_its_provenance() -> None:
    manifest = json.loads((CHECKPOINTS / "manifest.json").read_text())
    listed = [d for d in manifest[decoders.DECODERS_KEY] if d["base"] == BASE]
    # One decoder for the default weights' files; those for earlier weights stay for their files.
    (entry,) = [d for d in listed if d["base_sha256"] == engine.load_codec(BASE).checkpoint_sha256]
    assert all((CHECKPOINTS / d["file"]).is_file() for d in listed)
    assert entry["architecture"] == "postfilter" and entry["beta"] in (0.01, 0.05, 0.15)
    assert entry["steps"] > 0 and entry["train_seconds"] > 0 and "Br35H" in entry["data"]
    assert entry["validation"]["worst_drop"] <= 3.0
    path = CHECKPOINTS / entry["file"]
    assert path.stat().st_size < 500_000 and entry["weights_dtype"] == "float16"


def test_psnr_bound_on_the_demo_ct(demo_coded) -> None:
    frame, bits, coded = demo_coded
    peak = 2.0**bits - 1
    mse, real = (psnr(frame.astype(np.float64), coded.pixels[k], peak) for k in ("mse", "realistic"))
    assert real >= mse - 3.0, f"realistic {real:.2f} dB vs MSE decoder {mse:.2f} dB"


def test_no_more_new_blobs_than_the_mse_decoder_and_jpeg2000_on_the_demo_ct(demo_coded) -> None:
    """New LoG blobs (absent from the original), at equal bytes for JPEG 2000 (issue 15's criterion)."""
    frame, _, coded = demo_coded
    original = frame.astype(np.float64)
    scale = lesions.display_range(original)
    new = {k: lesions.new_blobs(original, coded.pixels[k], scale) for k in ("mse", "realistic", "j2k")}
    assert new["realistic"] <= new["mse"], new
    assert new["realistic"] <= new["j2k"], new


def test_realistic_decode_differs_keeps_geometry_and_dtype(demo_ct) -> None:
    frame, bits = demo_ct
    data = _encode(frame, bits)
    mse, real = mcz.decode(data), mcz.decode(data, decoder="realistic")
    assert mse.shape == real.shape == frame.shape and real.dtype == frame.dtype
    assert np.any(mse != real)  # a trained filter, not the identity it starts as
    assert real.min() >= frame.min() and real.max() <= frame.max()  # clipped to the coding window
    assert mcz.decode_image(data, decoder="realistic").decoder_id == f"{BASE}-realistic"


def test_a_volume_is_filtered_frame_by_frame() -> None:
    rng = np.random.default_rng(3)
    base = np.cumsum(rng.normal(0, 4, (64, 64)), axis=1)
    volume = np.stack([base + 5 * k for k in range(3)])
    volume = np.clip(volume - volume.min() + 50, 0, 4095).astype(np.uint16)
    data = mcz.encode(volume, bits_stored=12, model=BASE, quality=10)
    whole = mcz.decode(data, decoder="realistic")
    assert whole.shape == volume.shape
    one = mcz.decode(data, decoder="realistic", frames=[1])
    assert np.array_equal(one.reshape(whole[1].shape), whole[1])


def test_a_corrupt_latent_is_refused_before_the_filter(demo_ct) -> None:
    frame, bits = demo_ct
    with pytest.raises((ChecksumError, FormatError)):
        mcz.decode(with_damaged_payload(_encode(frame, bits)), decoder="realistic")


def test_tampered_filter_weights_are_refused(tmp_path, monkeypatch) -> None:
    entry = tampered_decoder(BASE, tmp_path, monkeypatch)
    with pytest.raises(ModelError, match="never load unverified weights"):
        realistic.realistic_filter(BASE, entry["base_sha256"])


def test_preview_dicom_is_labelled(demo_dicom_file, tmp_path) -> None:
    import pydicom

    data = demo_dicom_file
    src = tmp_path / "ct.mcz"
    src.write_bytes(data)
    ds = pydicom.dcmread(mcz.api.decode_file(src, tmp_path / "preview.dcm", decoder="realistic"))
    assert "NON-DIAGNOSTIC PREVIEW" in ds.DerivationDescription and "PREVIEW" in ds.ImageType
    assert [d["decoder"] for d in mcz.read_info(data).decoders] == ["mse", "realistic"]


def test_the_blob_guard_removes_a_drawn_spot_and_keeps_the_mse_decoders_own() -> None:
    from mcz.codec.blobguard import blobs, display_range, guard

    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[:96, :96]
    mse = 100.0 + 20 * np.sin(xx / 9.0) + rng.normal(0, 0.3, (96, 96))
    mse += 60 * np.exp(-((yy - 30) ** 2 + (xx - 30) ** 2) / (2 * 2.5**2))  # a spot the MSE decoder has
    drawn = mse + 60 * np.exp(-((yy - 70) ** 2 + (xx - 60) ** 2) / (2 * 2.0**2))  # one it does not
    out, reverted = guard(drawn, mse)
    assert reverted >= 1
    found = blobs(out, display_range(mse))
    assert not np.any(np.hypot(found[:, 0] - 70, found[:, 1] - 60) < 4)  # the drawn spot is gone
    assert np.any(np.hypot(found[:, 0] - 30, found[:, 1] - 30) < 3)  # the MSE decoder's own stays
    assert np.allclose(out[:20, 70:], drawn[:20, 70:])  # far from the spot, the realistic pixels stay
    assert guard(mse, mse)[1] == 0 and np.array_equal(guard(mse, mse)[0], mse)


def test_dicom_padding_is_kept_exactly(demo_dicom_file) -> None:
    """Padding outside the coding window is not filtered: the realistic decode has the MSE decoder's padding."""
    mse, real = mcz.decode(demo_dicom_file), mcz.decode(demo_dicom_file, decoder="realistic")
    padded = mse == mse.min()
    assert padded.sum() > 1000  # the bundled CT's field-of-view padding
    assert np.array_equal(real[padded], mse[padded]) and np.any(real != mse)
