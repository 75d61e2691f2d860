"""Every standard-codec adapter on real 8-, 12- and 16-bit frames."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcz import metrics
from mcz.baselines.contract import BaselineCodec, coding_bits, from_unsigned, to_unsigned
from mcz.baselines.matching import match_size
from mcz.baselines.standard import JPEG2000, STANDARD_CODECS, get_codec
from mcz.errors import FormatError, UnsupportedError, UsageError
from mcz.intensity import intensity_for

IMAGES = ("us8", "mr12", "ct16")
LOSSY = [name for name, codec in STANDARD_CODECS.items() if not codec.lossless]
# The lossless codestream each lossy codec must undercut at its lowest setting.
LOSSLESS_PEER = {
    "jpeg": "jpeg-lossless", "j2k": "j2k-lossless", "htj2k": "htj2k-lossless", "jpegls": "jpegls-lossless",
    "jxl": "jxl-lossless", "avif": "avif-lossless", "webp": "png", "wavelet": "png",
    "jpeg-interp": "jpeg-lossless", "j2k-interp": "j2k-lossless",
}

pytest.importorskip("imagecodecs")


def _unsigned(request, image):
    frame, intensity = request.getfixturevalue(image)
    unsigned, offset = to_unsigned(frame, intensity)
    return frame, intensity, unsigned, offset, coding_bits(intensity)


@pytest.mark.parametrize("image", IMAGES)
@pytest.mark.parametrize("name", list(STANDARD_CODECS))
def test_round_trip_keeps_dtype_shape_range_and_lossless_is_exact(request, name, image):
    frame, intensity, unsigned, offset, bits = _unsigned(request, image)
    codec = get_codec(name)
    if not codec.bits[0] <= bits <= codec.bits[1]:
        with pytest.raises(UnsupportedError, match=f"found {bits}"):
            codec.encode(unsigned, bits)
        return
    data = codec.encode(unsigned, bits)
    out = codec.decode(data, bits)
    assert isinstance(data, bytes) and out.shape == frame.shape
    assert out.dtype == (np.uint8 if bits <= 8 else np.uint16)
    assert int(out.max()) <= (1 << bits) - 1
    back = from_unsigned(out, offset, intensity)
    assert back.dtype == frame.dtype
    if codec.lossless:
        np.testing.assert_array_equal(back, frame)
    else:  # the default setting codes a recognisable image
        assert metrics.psnr(frame, back, intensity.data_range) > 20


@pytest.mark.parametrize("image", ("us8", "mr12"))
@pytest.mark.parametrize("name", LOSSY)
def test_lowest_setting_is_lossy_and_smaller_than_lossless(request, name, image):
    """Catches silent-lossless traps (AVIF on 1 channel, WebP's default, JPEG-XL distance 0)."""
    _, _, unsigned, _, bits = _unsigned(request, image)
    codec = get_codec(name)
    if not codec.bits[0] <= bits <= codec.bits[1]:
        pytest.skip(f"{name} does not code {bits}-bit frames")
    low, high = codec.span(bits)
    smallest, largest = codec.encode(unsigned, bits, low), codec.encode(unsigned, bits, high)
    lossless = get_codec(LOSSLESS_PEER[name]).encode(unsigned, bits)
    assert len(smallest) < len(lossless) / 2
    assert len(smallest) < len(largest)
    assert not np.array_equal(codec.decode(smallest, bits), unsigned)


def test_avif_lowest_quality_is_far_below_lossless(mr12):
    frame, intensity = mr12
    avif, lossless = get_codec("avif"), get_codec("avif-lossless")
    assert len(avif.encode(frame, 12, 0)) * 10 < len(lossless.encode(frame, 12))


def test_settings_change_quality_monotonically_at_the_ends(us8):
    frame, intensity = us8
    for name in ("j2k", "jpeg", "avif", "jxl", "htj2k", "webp", "wavelet", "jpegls"):
        codec = get_codec(name)
        low, high = codec.span(8)
        psnrs = [metrics.psnr(frame, codec.decode(codec.encode(frame, 8, s), 8), 255) for s in (low, high)]
        assert psnrs[0] < psnrs[1], name


def test_every_codec_states_library_version_and_single_thread():
    for codec in STANDARD_CODECS.values():
        assert codec.threads == 1
        assert codec.library and codec.settings.meaning
        version = codec.version
        assert any(ch.isdigit() for ch in version), (codec.name, version)


def test_jpeg_codes_12_bit_and_refuses_16_bit(mr12):
    frame, _ = mr12
    jpeg = get_codec("jpeg")
    out = jpeg.decode(jpeg.encode(frame, 12, 90), 12)
    assert metrics.psnr(frame, out, 4095) > 55  # a real 12-bit codestream, not 8-bit
    with pytest.raises(UnsupportedError, match="1..12-bit"):
        jpeg.encode(frame, 16, 90)


def test_htj2k_refuses_a_16_bit_frame_that_would_wrap(us8):
    """OpenJPH wraps values decoded above 65535 to 0; the adapter says so rather than return it."""
    frame, _ = us8
    full = (frame.astype(np.uint32) * 257).astype(np.uint16)  # 255 -> 65535
    with pytest.raises(UnsupportedError, match="wrap"):
        get_codec("htj2k").encode(full, 16, 12)


def test_htj2k_codes_8_bit_without_wrapping(us8):
    frame, _ = us8
    htj2k = get_codec("htj2k")
    out = htj2k.decode(htj2k.encode(frame, 8, 4), 8)
    bright = frame >= 250
    assert bright.any() and out[bright].min() > 128  # a uint8 container would give 0 here


def test_jpegls_near_is_limited_to_what_charls_decodes(us8, mr12):
    jls = get_codec("jpegls")
    assert jls.span(8) == (-127, 0) and jls.span(12) == (-255, 0)
    with pytest.raises(UsageError, match="-127..0"):
        jls.encode(us8[0], 8, -200)
    frame = mr12[0]
    out = jls.decode(jls.encode(frame, 12, -255), 12)
    assert np.abs(out.astype(int) - frame).max() <= 255


def test_encode_validates_frame_bits_and_setting(mr12):
    frame, _ = mr12
    j2k = get_codec("j2k")
    with pytest.raises(UsageError, match="2-D unsigned"):
        j2k.encode(frame[None], 12, 40)
    with pytest.raises(UsageError, match="2-D unsigned"):
        j2k.encode(frame.astype(np.int16), 12, 40)
    with pytest.raises(UsageError, match="bits_stored"):
        j2k.encode(frame, 8, 40)
    with pytest.raises(UsageError, match="bits_stored"):
        j2k.encode(frame, 17, 40)
    with pytest.raises(UsageError, match="10..120"):
        j2k.encode(frame, 12, 500)


def test_encode_accepts_an_8_bit_frame_in_uint16(us8):
    frame, _ = us8
    j2k = get_codec("j2k")
    assert j2k.encode(frame.astype(np.uint16), 8, 40) == j2k.encode(frame, 8, 40)


def test_get_codec_lists_the_names():
    with pytest.raises(UsageError, match="j2k, j2k-lossless"):
        get_codec("jpeg2001")
    assert get_codec("avif") is STANDARD_CODECS["avif"]


def test_to_unsigned_shifts_signed_ct_and_back(ct16):
    frame, intensity = ct16
    unsigned, offset = to_unsigned(frame, intensity)
    assert unsigned.dtype == np.uint16 and offset == 32768 and coding_bits(intensity) == 16
    np.testing.assert_array_equal(from_unsigned(unsigned, offset, intensity), frame)


def test_a_declared_narrow_range_needs_fewer_bits(ct16):
    frame, _ = ct16
    narrow = intensity_for(frame, bits_stored=16, signed=True, value_range=(-1024, 3071))
    unsigned, offset = to_unsigned(frame, narrow)
    assert coding_bits(narrow) == 12 and offset == 1024 and int(unsigned.max()) <= 4095
    with pytest.raises(UnsupportedError, match="float"):
        coding_bits(intensity_for(frame.astype(np.float32)))


@given(st.integers(1, 16), st.booleans(), st.integers(0, 2**32 - 1))
def test_to_unsigned_round_trips_any_integer_domain(bits, signed, seed):
    dtype = (np.int16 if signed else np.uint16) if bits > 8 else (np.int8 if signed else np.uint8)
    if signed and bits == 1:
        bits = 2
    intensity = intensity_for(np.zeros(1, dtype), bits_stored=bits, signed=signed)
    rng = np.random.default_rng(seed)
    frame = rng.integers(intensity.low, intensity.high + 1, (5, 7)).astype(dtype)
    unsigned, offset = to_unsigned(frame, intensity)
    assert int(unsigned.max()) < 1 << coding_bits(intensity)
    np.testing.assert_array_equal(from_unsigned(unsigned, offset, intensity), frame)


def test_self_contained_codestreams_reject_foreign_bytes():
    for name in ("wavelet", "jpeg-interp", "j2k-interp"):
        with pytest.raises(FormatError, match="expected"):
            get_codec(name).decode(b"\x89PNG\r\n\x1a\n" + bytes(40), 8)


@pytest.mark.parametrize("shape", [(255, 129), (37, 64)])
def test_wavelet_and_interpolative_keep_odd_shapes(mr12, shape):
    frame = np.ascontiguousarray(mr12[0][: shape[0], : shape[1]])
    for name in ("wavelet", "j2k-interp"):
        codec = get_codec(name)
        assert codec.decode(codec.encode(frame, 12), 12).shape == shape


def test_wavelet_error_is_bounded_by_its_step(mr12):
    """An orthogonal transform keeps the quantisation error: MSE ~ step^2 / 12."""
    frame, _ = mr12
    wavelet = get_codec("wavelet")
    step = 2.0 ** (12 - 8)
    out = wavelet.decode(wavelet.encode(frame, 12, 8), 12)
    mse = float(np.mean((out.astype(float) - frame) ** 2))
    assert 0.5 * step**2 / 12 < mse < 2 * step**2 / 12


def test_legacy_api_for_the_demo(mr12):
    frame, _ = mr12
    assert BaselineCodec is type(JPEG2000) and JPEG2000.name == "j2k"
    data = match_size(JPEG2000, frame, 12, 8000)
    assert len(data) <= 8000 and len(data) > 6000
    assert JPEG2000.decode(data).shape == frame.shape
