"""Setting search for a target compression ratio, bpp or PSNR on real frames."""

from __future__ import annotations

import numpy as np
import pytest

from mcz import metrics
from mcz.baselines.standard import get_codec
from mcz.baselines.matching import match, match_bpp, match_psnr, match_ratio
from mcz.errors import UsageError

pytest.importorskip("imagecodecs")


@pytest.mark.parametrize(("name", "image", "bits"),
                         [("j2k", "mr12", 12), ("j2k", "us8", 8), ("avif", "us8", 8)])
def test_ratio_10_to_1_within_5_percent_on_real_frames(request, name, image, bits):
    frame, intensity = request.getfixturevalue(image)
    result = match_ratio(get_codec(name), frame, intensity, 10.0, tolerance=0.05)
    # CR against the storage width: 10:1 is 0.8 bpp for 8-bit, 1.6 bpp for 12-bit data.
    cr = metrics.compression_ratio(len(result.data), frame.size, bits, intensity.dtype)
    assert result.reached and abs(cr / 10.0 - 1) <= 0.05
    assert result.achieved == pytest.approx(cr)
    assert get_codec(name).encode(frame, bits, result.setting) == result.data


def test_avif_on_12_bit_mr_reports_its_nearest_ratio_honestly(mr12):
    """libavif's quality has 64 quantiser steps; on this 12-bit MR, neighbouring steps
    give 10.7:1 and 8.0:1, so 10:1 within 5 % is out of reach and must be flagged."""
    frame, intensity = mr12
    avif = get_codec("avif")
    result = match_ratio(avif, frame, intensity, 10.0, tolerance=0.05)
    q = result.setting
    around = range(int(q) - 1, min(int(q) + 2, 99) + 1)
    neighbours = [frame.size * 2 / len(avif.encode(frame, 12, s)) for s in around]
    if any(abs(r / 10 - 1) <= 0.05 for r in neighbours):
        assert result.reached  # a libavif build with finer steps: then it must be found
    else:
        assert not result.reached
    assert abs(result.achieved - 10) == min(abs(r - 10) for r in neighbours)


def test_psnr_target_on_a_real_8_bit_frame(us8):
    frame, intensity = us8
    result = match_psnr(get_codec("j2k"), frame, intensity, 40.0)
    decoded = get_codec("j2k").decode(result.data, 8)
    assert result.reached and abs(metrics.psnr(frame, decoded, 255) - 40.0) <= 0.4


def test_bpp_target_and_the_trace(us8):
    frame, intensity = us8
    result = match_bpp(get_codec("jxl"), frame, intensity, 1.0)
    assert result.reached and abs(8 * len(result.data) / frame.size - 1.0) <= 0.01
    assert len(result.trace) == result.evaluations >= 3


def test_integer_setting_returns_the_nearest_of_two_neighbours(us8):
    frame, intensity = us8
    jpeg = get_codec("jpeg")
    result = match_ratio(jpeg, frame, intensity, 10.0, tolerance=1e-6)
    q = int(result.setting)
    ratios = {s: frame.size / len(jpeg.encode(frame, 8, s)) for s in (q - 1, q, q + 1) if 1 <= s <= 100}
    assert min(ratios.values()) <= 10.0 <= max(ratios.values())
    assert abs(ratios[q] - 10) == min(abs(r - 10) for r in ratios.values())


def test_unreachable_targets_return_the_nearest_end_and_say_so(us8):
    frame, intensity = us8
    j2k = get_codec("j2k")
    far = match_ratio(j2k, frame, intensity, 1e6)
    assert not far.reached and far.setting == 10.0 and far.achieved < 1e6
    jpeg = get_codec("jpeg")
    sharp = match_psnr(jpeg, frame, intensity, 90.0)
    assert not sharp.reached and sharp.setting == 100 and sharp.achieved < 90


def test_signed_ct_is_shifted_and_psnr_uses_its_data_range(ct16):
    frame, intensity = ct16
    result = match(get_codec("j2k"), frame, intensity, "psnr", 80.0)
    decoded = get_codec("j2k").decode(result.data, 16).astype(np.int64) - 32768
    assert result.reached
    assert metrics.psnr(frame, decoded, intensity.data_range) == pytest.approx(result.achieved)


def test_bad_requests_are_usage_errors(us8):
    frame, intensity = us8
    with pytest.raises(UsageError, match="lossless"):
        match_ratio(get_codec("png"), frame, intensity, 10.0)
    with pytest.raises(UsageError, match="cr, bpp, psnr"):
        match(get_codec("j2k"), frame, intensity, "ssim", 0.9)
    with pytest.raises(UsageError, match="positive"):
        match_ratio(get_codec("j2k"), frame, intensity, -1.0)
