"""measure(): rate, fidelity and speed of one coded frame, checked against scikit-image."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from mcz import metrics
from mcz.baselines.contract import BaselineCodec, Settings
from mcz.baselines.standard import get_codec
from mcz.bench.measure import MS_SSIM_MIN_SIDE, entropy, measure, ms_ssim
from mcz.errors import FormatError

pytest.importorskip("imagecodecs")


def _shifting_codec(delta: int, lossless: bool = False) -> BaselineCodec:
    """Stores raw pixels; decodes them ``delta`` levels higher: a known error."""
    return BaselineCodec(
        name="shift", library="numpy", settings=Settings(0, 1, 0, "unused"), lossless=lossless,
        encoder=lambda frame, bits, s: frame.astype("<u2").tobytes() + np.array(frame.shape, "<u4").tobytes(),
        decoder=lambda data, bits: _unshift(data) + delta, version_of=lambda: "test 1",
    )


def _unshift(data: bytes) -> np.ndarray:
    rows, cols = np.frombuffer(data[-8:], "<u4")
    return np.frombuffer(data[:-8], "<u2").reshape(rows, cols).astype(np.int64)


def test_psnr_and_ssim_agree_with_scikit_image_on_a_real_j2k_decode(mr12):
    frame, intensity = mr12
    j2k = get_codec("j2k")
    m = measure(j2k, frame, intensity, 50.0, repeats=1)
    decoded = j2k.decode(j2k.encode(frame, 12, 50.0), 12)
    assert m["data_range"] == 4095
    assert m["psnr"] == pytest.approx(peak_signal_noise_ratio(frame, decoded, data_range=4095), abs=1e-9)
    expected = structural_similarity(frame.astype(float), decoded.astype(float), data_range=4095,
                                     gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    assert m["ssim"] == pytest.approx(expected, abs=1e-9)
    assert m["bytes"] == len(j2k.encode(frame, 12, 50.0))
    assert m["cr"] == pytest.approx(frame.size * 2 / m["bytes"])
    assert m["bpp"] == pytest.approx(8 * m["bytes"] / frame.size)
    assert 0.9 < m["ms_ssim"] <= 1 and m["ms_ssim_note"] == ""


def test_a_known_error_gives_known_mse_psnr_and_max_error(us8):
    frame, intensity = us8
    frame = np.minimum(frame, 254)  # room for +1
    m = measure(_shifting_codec(1), frame, intensity, 0, repeats=1)
    assert m["mse"] == 1.0 and m["max_abs_error"] == 1.0
    assert m["psnr"] == pytest.approx(20 * math.log10(255))
    assert m["entropy"] == pytest.approx(m["entropy_original"])  # a shift keeps the histogram


def test_lossless_codecs_round_trip_signed_ct_exactly(ct16):
    frame, intensity = ct16
    m = measure(get_codec("j2k-lossless"), frame, intensity, repeats=2)
    assert m["psnr"] == math.inf and m["mse"] == 0 and m["max_abs_error"] == 0 and m["ssim"] == 1.0
    assert m["setting"] is None and m["bits_coded"] == 16 and m["threads"] == 1
    assert m["encode_s"] > 0 and m["encode_mpps"] == pytest.approx(frame.size / 1e6 / m["encode_s"])


def test_a_lossless_codec_that_is_not_exact_raises(us8):
    frame, intensity = us8
    with pytest.raises(FormatError, match="bit-exact"):
        measure(_shifting_codec(1, lossless=True), np.minimum(frame, 254), intensity, repeats=1)


def test_ms_ssim_is_nan_with_the_reason_below_its_minimum_size(mr_small):
    frame, intensity = mr_small
    m = measure(get_codec("j2k"), frame, intensity, 60.0, repeats=1)
    assert math.isnan(m["ms_ssim"]) and str(MS_SSIM_MIN_SIDE) in m["ms_ssim_note"]
    assert MS_SSIM_MIN_SIDE == 161


def test_ms_ssim_matches_pytorch_msssim_defaults(mr12):
    torch = pytest.importorskip("torch")
    from pytorch_msssim import ms_ssim as reference

    frame, _ = mr12
    j2k = get_codec("j2k")
    decoded = j2k.decode(j2k.encode(frame, 12, 45.0), 12)
    ours, note = ms_ssim(frame, decoded, 4095)
    theirs = reference(torch.from_numpy(frame.astype(np.float32))[None, None],
                       torch.from_numpy(decoded.astype(np.float32))[None, None], data_range=4095)
    assert note == "" and ours == pytest.approx(float(theirs), abs=1e-4)
    assert ms_ssim(frame, frame, 4095)[0] == pytest.approx(1.0)


def test_entropy_of_known_histograms():
    assert entropy(np.zeros((8, 8), np.uint8)) == 0.0
    assert entropy(np.array([[0, 1], [0, 1]])) == pytest.approx(1.0)
    assert entropy(np.arange(256, dtype=np.uint8).reshape(16, 16)) == pytest.approx(8.0)
    assert entropy(np.array([0.2, 0.9, 1.1, 2.0])) == pytest.approx(1.5)  # rounded to 0, 1, 1, 2


def test_ssim_is_taken_on_the_unsigned_domain_for_signed_images(ct16):
    frame, intensity = ct16
    m = measure(get_codec("j2k"), frame, intensity, 70.0, repeats=1)
    decoded = get_codec("j2k").decode(get_codec("j2k").encode(
        (frame.astype(np.int64) + 32768).astype(np.uint16), 16, 70.0), 16)
    shifted = frame.astype(float) + 32768
    assert m["ssim"] == pytest.approx(metrics.ssim(shifted, decoded.astype(float), 65535))
