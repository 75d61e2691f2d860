"""What this imagecodecs build does, called directly: the facts the adapters rely on.

If an imagecodecs release changes one of these, the matching adapter in
``mcz/baselines/adapters.py`` has to change with it; these tests say which.
"""

from __future__ import annotations

import numpy as np
import pytest

from mcz import metrics

ic = pytest.importorskip("imagecodecs")


def test_avif_ignores_level_on_one_channel_and_codes_lossless(us8):
    frame, _ = us8
    coarse = ic.avif_encode(frame, level=0, speed=6, numthreads=1)
    np.testing.assert_array_equal(ic.avif_decode(coarse), frame)
    grey3 = np.repeat(frame[:, :, None], 3, axis=2)
    lossy = ic.avif_encode(grey3, level=0, speed=6, pixelformat=ic.AVIF.PIXEL_FORMAT.YUV400, numthreads=1)
    assert len(lossy) * 10 < len(coarse) and ic.avif_decode(lossy).ndim == 2


def test_avif_level_100_on_three_channels_is_lossless_rgb(us8):
    frame, _ = us8
    grey3 = np.repeat(frame[:, :, None], 3, axis=2)
    top = ic.avif_encode(grey3, level=100, speed=6, pixelformat=ic.AVIF.PIXEL_FORMAT.YUV400, numthreads=1)
    assert ic.avif_decode(top).shape == grey3.shape  # why the avif adapter stops at 99
    assert len(top) > len(ic.avif_encode(frame, speed=6, numthreads=1))


def test_webp_is_lossless_by_default_and_rejects_2d(us8):
    frame, _ = us8
    grey3 = np.repeat(frame[:, :, None], 3, axis=2)
    np.testing.assert_array_equal(ic.webp_decode(ic.webp_encode(grey3, level=0))[..., 0], frame)
    with pytest.raises(ValueError, match="shape"):
        ic.webp_encode(frame, level=50, lossless=False)


def test_htj2k_8_bit_lossy_decode_wraps_above_255(us8):
    frame, _ = us8
    out = ic.htj2k_decode(ic.htj2k_encode(frame, level=0.01))
    assert np.count_nonzero((frame == 255) & (out == 0)) > 0


def test_htj2k_step_is_relative_to_the_container(us8):
    frame, _ = us8
    as8 = ic.htj2k_decode(ic.htj2k_encode(frame, level=0.1))
    as16 = ic.htj2k_decode(ic.htj2k_encode(frame.astype(np.uint16), level=0.1 / 256))
    assert abs(metrics.psnr(frame, as8, 255) - metrics.psnr(frame, np.clip(as16, 0, 255), 255)) < 3


def test_jpeg2k_level_is_psnr_against_bitspersample(mr12):
    frame, _ = mr12
    right = ic.jpeg2k_decode(ic.jpeg2k_encode(frame, level=50, bitspersample=12, codecformat="j2k"))
    wrong = ic.jpeg2k_decode(ic.jpeg2k_encode(frame, level=50, codecformat="j2k"))
    assert abs(metrics.psnr(frame, right, 4095) - 50) < 2
    assert metrics.psnr(frame, wrong, 4095) < 40  # the target was taken against 65535


def test_jpegxl_needs_bitspersample_and_distance_zero_is_not_lossless(mr12):
    frame, _ = mr12
    told = ic.jpegxl_encode(frame, level=90, effort=7, bitspersample=12)
    untold = ic.jpegxl_encode(frame, level=90, effort=7)
    assert len(untold) * 2 < len(told)  # a 12-bit image seen as 16-bit looks dark: fewer bits
    zero = ic.jpegxl_decode(ic.jpegxl_encode(frame, distance=0.0, effort=7, bitspersample=12))
    assert not np.array_equal(zero, frame)


def test_charls_encodes_a_near_it_cannot_decode_and_writes_the_container_precision(us8, mr12):
    frame, _ = us8
    data = ic.jpegls_encode(frame, level=200)
    with pytest.raises(Exception, match="near-lossless"):
        ic.jpegls_decode(data)
    stream = ic.jpegls_encode(mr12[0])
    sof = stream.find(b"\xff\xf7")  # SOF-55: length (2), then sample precision
    assert stream[sof + 4] == 16  # 16 for 12-bit data: there is no bitspersample


def test_jpeg_12_bit_lossy_works_and_16_bit_lossy_does_not(mr12):
    frame, _ = mr12
    out = ic.jpeg8_decode(ic.jpeg8_encode(frame, level=90, bitspersample=12, lossless=False))
    assert out.dtype == np.uint16 and metrics.psnr(frame, out, 4095) > 55
    with pytest.raises(Exception, match="precision"):
        ic.jpeg8_encode(frame, level=90, bitspersample=16, lossless=False)
