"""Value domains and the exact [0, 1] mapping (mcz.intensity)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcz.errors import BitDepthError, FormatError, UnsupportedError, UsageError
from mcz.intensity import Intensity, bit_domain, from_unit, intensity_for, to_unit
from mcz.metrics import psnr

RNG = np.random.default_rng(20240611)


def full_range(dtype: str, bits: int, signed: bool, shape=(64, 48)) -> np.ndarray:
    """Random values over the whole domain, with both extremes and their neighbours present."""
    lo, hi = bit_domain(bits, signed)
    a = RNG.integers(lo, hi, size=shape, endpoint=True, dtype=np.int64)
    edges = [lo, lo + 1, hi - 1, hi, 0 if lo <= 0 <= hi else lo, (lo + hi) // 2]
    a.flat[: len(edges)] = edges
    return a.astype(dtype)


INTEGER_CASES = [
    ("uint8", 8, False),
    ("uint8", 1, False),
    ("uint8", 4, False),
    ("uint16", 10, False),
    ("uint16", 12, False),
    ("uint16", 15, False),
    ("uint16", 16, False),
    ("int16", 12, True),
    ("int16", 16, True),
    ("int8", 8, True),
    ("int32", 20, True),
    ("int32", 24, True),
    ("int32", 32, True),
    ("uint32", 24, False),
    ("uint32", 32, False),
]


@pytest.mark.parametrize(("dtype", "bits", "signed"), INTEGER_CASES)
def test_integer_round_trip_is_exact(dtype, bits, signed):
    a = full_range(dtype, bits, signed)
    it = intensity_for(a, bits_stored=bits, signed=signed)
    lo, hi = bit_domain(bits, signed)
    assert (it.low, it.high, it.dtype) == (lo, hi, dtype)
    unit = to_unit(a, it)
    assert unit.min() == 0.0 and unit.max() == 1.0
    assert unit.dtype == (np.float32 if bits <= 24 else np.float64)
    back = from_unit(unit, it)
    assert back.dtype == a.dtype
    np.testing.assert_array_equal(back, a)


def test_every_16_bit_value_survives_float32():
    a = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    it = intensity_for(a)
    assert it.bits_stored == 16 and to_unit(a, it).dtype == np.float32
    np.testing.assert_array_equal(from_unit(to_unit(a, it), it), a)
    s = (np.arange(65536, dtype=np.int64) - 32768).astype(np.int16).reshape(256, 256)
    its = intensity_for(s)
    np.testing.assert_array_equal(from_unit(to_unit(s, its), its), s)


@settings(max_examples=60, deadline=None)
@given(
    bits=st.integers(1, 16),
    signed=st.booleans(),
    data=st.data(),
)
def test_round_trip_any_small_domain(bits, signed, data):
    lo, hi = bit_domain(bits, signed)
    values = data.draw(st.lists(st.integers(lo, hi), min_size=1, max_size=40))
    a = np.array(values, dtype=np.int32 if signed else np.uint16).reshape(1, -1)
    it = intensity_for(a, bits_stored=bits, signed=signed)
    np.testing.assert_array_equal(from_unit(to_unit(a, it), it), a)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float_round_trip_within_1e6_of_range(dtype):
    a = (RNG.standard_normal((40, 50)) * 300 - 20).astype(dtype)
    it = intensity_for(a)
    assert it.is_float and it.bits_stored == np.dtype(dtype).itemsize * 8 and it.signed
    assert (it.low, it.high) == (float(a.min()), float(a.max()))
    back = from_unit(to_unit(a, it), it)
    assert back.dtype == a.dtype
    err = np.abs(back.astype(np.float64) - a.astype(np.float64)).max()
    assert err <= 1e-6 * it.data_range
    assert back.min() >= it.low and back.max() <= it.high


def test_float_value_range_and_constant_image():
    a = np.full((4, 4), 7.5, np.float32)
    it = intensity_for(a)
    assert it.low == 7.5 and it.high == 8.5
    np.testing.assert_array_equal(from_unit(to_unit(a, it), it), a)
    ranged = intensity_for(a, value_range=(0.0, 10.0))
    assert (ranged.low, ranged.high) == (0.0, 10.0)
    np.testing.assert_allclose(to_unit(a, ranged), 0.75)
    with pytest.raises(BitDepthError, match="inside value_range"):
        intensity_for(a, value_range=(0.0, 5.0))


@pytest.mark.parametrize(
    ("maximum", "bits"),
    [(0, 8), (255, 8), (256, 10), (1023, 10), (3000, 12), (4095, 12), (4096, 14), (40000, 16)],
)
def test_bits_inferred_from_values_not_dtype(maximum, bits):
    a = np.zeros((3, 3), np.uint16)
    a[1, 1] = maximum
    it = intensity_for(a)
    assert it.bits_stored == bits and it.high == 2**bits - 1 and it.low == 0 and not it.signed


def test_uint16_with_byte_values_maps_255_to_one():
    a = np.array([[0, 128, 255]], np.uint16)
    it = intensity_for(a)
    assert (it.bits_stored, it.high) == (8, 255)
    np.testing.assert_array_equal(to_unit(a, it), np.array([[0.0, 128 / 255, 1.0]], np.float32))


def test_signed_inference_and_explicit_signedness():
    a = np.array([[-1000, 1500]], np.int16)
    it = intensity_for(a)
    assert (it.bits_stored, it.signed, it.low, it.high) == (12, True, -2048, 2047)
    unsigned = intensity_for(np.array([[0, 3000]], np.int16), signed=False)
    assert (unsigned.bits_stored, unsigned.low, unsigned.high) == (12, 0, 4095)
    assert intensity_for(np.array([[-(2**31), 2**31 - 1]], np.int32)).bits_stored == 32


@pytest.mark.parametrize(
    ("values", "dtype", "kwargs", "match"),
    [
        (
            [-5, 70],
            "int32",
            {"bits_stored": 12, "signed": False},
            r"found values -5\.\.70, expected 0\.\.4095",
        ),
        (
            [0, 5000],
            "uint16",
            {"bits_stored": 12},
            r"found values 0\.\.5000, expected 0\.\.4095 for 12-bit unsigned",
        ),
        ([-3000, 0], "int16", {"bits_stored": 12}, r"-2048\.\.2047 for 12-bit signed"),
        ([0, 1], "uint8", {"bits_stored": 9}, r"bits_stored=9 for a uint8"),
        ([0, 1], "uint16", {"bits_stored": 0}, r"bits_stored=0"),
        ([0, 1], "int16", {"bits_stored": 16, "signed": False}, r"expected 1\.\.15"),
        ([0, 1], "uint16", {"signed": True}, r"unsigned uint16"),
        ([-5, 1], "int16", {"signed": False}, r"pass signed=True"),
    ],
)
def test_out_of_domain_raises_bit_depth_error(values, dtype, kwargs, match):
    with pytest.raises(BitDepthError, match=match):
        intensity_for(np.array([values], dtype), **kwargs)


def test_int32_up_to_32_bits_is_fine():
    it = intensity_for(np.array([[0, 2**32 - 1]], np.uint32))
    assert it.bits_stored == 32 and it.high == 2**32 - 1


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_floats_are_refused_with_counts(bad):
    a = np.zeros((3, 3), np.float32)
    a[0, 0] = bad
    a[1, 1] = np.nan
    n_nan = 2 if np.isnan(bad) else 1
    with pytest.raises(BitDepthError, match=f"{n_nan} NaN and {2 - n_nan} infinite"):
        intensity_for(a)


@pytest.mark.parametrize(
    "array",
    [
        np.zeros((2, 2), bool),
        np.zeros((2, 2), complex),
        np.zeros((2, 2), np.int64),
        np.zeros((2, 2), np.float16),
        np.array([[object()]]),
        np.zeros((0, 3), np.uint8),
    ],
)
def test_unsupported_dtypes(array):
    with pytest.raises(UnsupportedError):
        intensity_for(array)


def test_value_range_for_integers():
    ct = np.array([[-1024, 0, 2000]], np.int16)
    it = intensity_for(ct, value_range=(-1024, 3071), slope=1.0, intercept=-1024.0)
    # bits come from data *and* range: 3071 needs 13 bits signed -> 14 is the standard depth.
    assert (it.bits_stored, it.signed, it.low, it.high) == (14, True, -1024, 3071)
    assert it.data_range == 4095
    np.testing.assert_array_equal(from_unit(to_unit(ct, it), it), ct)
    with pytest.raises(BitDepthError, match="inside value_range"):
        intensity_for(ct, value_range=(-1000, 3071))
    with pytest.raises(UsageError, match="whole numbers"):
        intensity_for(ct, value_range=(-1024.5, 3071))
    with pytest.raises(UsageError, match="high > low"):
        intensity_for(ct, value_range=(5, 5))


def test_from_unit_clips_rounds_half_even_and_refuses_nan():
    it = Intensity("uint8", 8, False, 0, 4)  # R = 4: u = k/8 lands on halves
    u = np.array([-0.5, 0.0, 0.125, 0.375, 0.625, 1.0, 3.0])
    np.testing.assert_array_equal(from_unit(u, it), np.array([0, 0, 0, 2, 2, 4, 4], np.uint8))
    with pytest.raises(UsageError, match="NaN"):
        from_unit(np.array([0.5, np.nan]), it)
    f = Intensity("float32", 32, True, -1.0, 1.0)
    np.testing.assert_array_equal(
        from_unit(np.array([-1.0, 0.25, 2.0]), f), np.array([-1.0, -0.5, 1.0], np.float32)
    )


def test_to_unit_refuses_values_outside_the_range():
    it = Intensity("uint16", 12, False, 0, 4095)
    with pytest.raises(BitDepthError, match="4096"):
        to_unit(np.array([[0, 4096]], np.uint16), it)


def test_dict_round_trip_through_json():
    for it in (
        Intensity("int16", 12, True, -2048, 2047, slope=1.0, intercept=-1024.0, photometric="MONOCHROME1"),
        Intensity("uint32", 32, False, 0, 2**32 - 1),
        Intensity("float64", 64, True, -0.1, 1e-3, slope=3.774114, intercept=6.1e-05),
    ):
        d = json.loads(json.dumps(it.to_dict()))
        assert Intensity.from_dict(d) == it
        assert all(isinstance(v, (str, int, float, bool)) for v in d.values())
    assert isinstance(Intensity("int16", 12, True, -2048, 2047).to_dict()["low"], int)


GOOD = {"dtype": "uint16", "bits_stored": 12, "signed": False, "low": 0, "high": 4095}


@pytest.mark.parametrize(
    "change",
    [
        {"dtype": "int64"},
        {"dtype": 5},
        {"bits_stored": 17},
        {"bits_stored": True},
        {"bits_stored": 12.0},
        {"signed": 1},
        {"signed": True},
        {"low": float("nan")},
        {"high": "4095"},
        {"high": 0},
        {"high": 5000},
        {"low": 0.5},
        {"slope": None},
        {"slope": float("inf")},
        {"photometric": "RGB"},
        {"dtype": "float32", "bits_stored": 64, "signed": True},
    ],
)
def test_from_dict_rejects_bad_values(change):
    with pytest.raises(FormatError, match="intensity"):
        Intensity.from_dict({**GOOD, **change})


@pytest.mark.parametrize("missing", ["dtype", "bits_stored", "signed", "low", "high"])
def test_from_dict_rejects_missing_keys(missing):
    d = dict(GOOD)
    del d[missing]
    with pytest.raises(FormatError, match=f"{missing!r} is missing"):
        Intensity.from_dict(d)
    with pytest.raises(FormatError):
        Intensity.from_dict([1, 2])  # type: ignore[arg-type]


def test_from_dict_defaults_and_unknown_keys():
    it = Intensity.from_dict({**GOOD, "window": [40, 400]})
    assert (it.slope, it.intercept, it.photometric) == (1.0, 0.0, "MONOCHROME2")


def test_constructor_validates():
    with pytest.raises(UsageError):
        Intensity("uint16", 12, False, 0, 0)
    with pytest.raises(UsageError):
        Intensity("uint16", 12, False, 0, 4096)


def test_psnr_matches_skimage_with_explicit_range():
    from skimage.metrics import peak_signal_noise_ratio

    ref = RNG.integers(0, 4096, (64, 64)).astype(np.uint16)
    test = np.clip(ref.astype(np.int32) + RNG.integers(-20, 21, ref.shape), 0, 4095).astype(np.uint16)
    ours = psnr(ref, test, 4095)
    assert ours == pytest.approx(peak_signal_noise_ratio(ref, test, data_range=4095), abs=1e-9)
    mse = np.mean((ref.astype(np.float64) - test) ** 2)
    assert ours == pytest.approx(10 * math.log10(4095**2 / mse), abs=1e-12)
    assert psnr(ref, ref, 4095) == math.inf
    # Same error, declared 16-bit range: ~24 dB higher; the range is never guessed.
    assert psnr(ref, test, 65535) - ours == pytest.approx(20 * math.log10(65535 / 4095), abs=1e-9)
    with pytest.raises(UsageError):
        psnr(ref, test[:10], 4095)
    with pytest.raises(UsageError):
        psnr(ref, test, 0)


def test_import_is_light():
    code = "import sys, mcz.intensity, mcz.io; bad = {'torch', 'pydicom', 'nibabel', 'imageio', 'PIL', 'tifffile'} & set(sys.modules); print(sorted(bad))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
