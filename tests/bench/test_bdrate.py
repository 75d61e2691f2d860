"""BD-rate against hand-computed and published references."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mcz.baselines.matching import match_psnr
from mcz.baselines.standard import get_codec
from mcz.bench.bdrate import bd_rate, cr_band_to_bpp
from mcz.errors import UsageError

METHODS = ("pchip", "cubic")
Q = np.arange(30.0, 41.0, 2.0)  # 30, 32, ..., 40 dB


@pytest.mark.parametrize("method", METHODS)
def test_identical_curves_give_zero(method):
    rate = 10 ** (0.1 * (Q - 30))
    assert bd_rate(rate, Q, rate, Q, method=method).percent == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("scale", "expected"), [(0.5, -50.0), (1.25, 25.0)])
def test_a_constant_rate_factor_is_exact(method, scale, expected):
    rate_b = 10 ** (0.1 * (Q - 30)) * (1 + 0.2 * np.sin(Q))  # any curve shape
    assert bd_rate(scale * rate_b, Q, rate_b, Q, method=method).percent == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_linear_log_rate_with_partial_overlap(method):
    """A: log10 r = 0.05 (Q - 30) on 30..40 dB; B: 0.1 (Q - 30) on 35..45 dB.

    Common interval 35..40; the mean of -0.05 (Q - 30) over it is -0.375, so
    BD-rate = 10^-0.375 - 1 = -57.83 %. Both interpolants are exact on lines.
    """
    q_a, q_b = np.linspace(30, 40, 6), np.linspace(35, 45, 6)
    result = bd_rate(10 ** (0.05 * (q_a - 30)), q_a, 10 ** (0.1 * (q_b - 30)), q_b, method=method)
    assert result.percent == pytest.approx((10**-0.375 - 1) * 100, abs=1e-9)
    assert (result.psnr_low, result.psnr_high) == (35.0, 40.0)


def test_published_vceg_sample_pairs_with_the_cubic_fit():
    """Input pairs shipped with public Bjøntegaard implementations (VCEG-M33 'Sample 1'; FAU-LMS 'Test 1').

    Expected values: VCEG-M33's cubic fit of log-rate over PSNR, evaluated
    independently (numpy.polyfit/polyint) here and by a third party (31.397374054908013
    and -4.420462706090111, vitest reference of a TypeScript implementation).
    """
    r1, p1 = [686.76, 309.58, 157.11, 85.95], [40.28, 37.18, 34.24, 31.42]
    r2, p2 = [893.34, 407.8, 204.93, 112.75], [40.39, 37.21, 34.17, 31.24]
    ra, pa = [9487.76, 4593.60, 2486.44, 1358.24], [40.037, 38.615, 36.845, 34.851]
    rt, pt = [9787.80, 4469.00, 2451.52, 1356.24], [40.121, 38.651, 36.970, 34.987]
    for (rb, pb, rA, pA), expected in [((r1, p1, r2, p2), 31.397374054908013),
                                       ((ra, pa, rt, pt), -4.420462706090111)]:
        assert _polyfit_reference(rA, pA, rb, pb) == pytest.approx(expected, rel=1e-9)
        assert bd_rate(rA, pA, rb, pb, method="cubic").percent == pytest.approx(expected, rel=1e-9)
        # PCHIP differs from the single cubic by a few hundredths of a percentage point here.
        assert bd_rate(rA, pA, rb, pb).percent == pytest.approx(expected, abs=0.05)


def _polyfit_reference(rate_a, psnr_a, rate_b, psnr_b) -> float:
    curves = ((rate_a, psnr_a), (rate_b, psnr_b))
    fit_a, fit_b = (np.polyint(np.polyfit(p, np.log10(r), 3)) for r, p in curves)
    low, high = max(min(psnr_a), min(psnr_b)), min(max(psnr_a), max(psnr_b))
    area_a = np.polyval(fit_a, high) - np.polyval(fit_a, low)
    diff = area_a - (np.polyval(fit_b, high) - np.polyval(fit_b, low))
    return (10 ** (diff / (high - low)) - 1) * 100


def test_curves_that_do_not_overlap_give_nan_with_the_reason():
    rate = 10 ** (0.1 * (Q - 30))
    result = bd_rate(rate, Q, rate, Q + 20)
    assert math.isnan(result.percent) and "do not overlap" in result.reason


def test_cr_band_to_bpp_uses_the_storage_width():
    assert cr_band_to_bpp(5, 25, 12) == pytest.approx((0.64, 3.2))
    assert cr_band_to_bpp(5, 25, 8, "uint8") == pytest.approx((0.32, 1.6))
    with pytest.raises(UsageError):
        cr_band_to_bpp(25, 5, 12)


@pytest.mark.parametrize("method", METHODS)
def test_rate_band_restricts_to_the_references_psnr_in_the_band(method):
    """B: log10 r = 0.05 (Q - 40); A: 0.04 (Q - 40); points on 20..50 dB.

    Band 1..10^0.5 bpp -> B's PSNR 40..50 dB; mean of -0.01 (Q - 40) there is
    -0.05 -> 10^-0.05 - 1 = -10.87 %. Over the whole range it is +12.20 %.
    """
    q = np.linspace(20, 50, 16)
    rate_a, rate_b = 10 ** (0.04 * (q - 40)), 10 ** (0.05 * (q - 40))
    whole = bd_rate(rate_a, q, rate_b, q, method=method)
    band = bd_rate(rate_a, q, rate_b, q, method=method, rate_band=(1.0, 10**0.5))
    assert whole.percent == pytest.approx((10**0.05 - 1) * 100, abs=1e-6)
    assert band.percent == pytest.approx((10**-0.05 - 1) * 100, abs=1e-6)
    assert band.psnr_low == pytest.approx(40) and band.psnr_high == pytest.approx(50)
    outside = bd_rate(rate_a, q, rate_b, q, method=method, rate_band=(100.0, 1000.0))
    assert math.isnan(outside.percent) and "band" in outside.reason


def test_invalid_curves_are_usage_errors():
    rate = 10 ** (0.1 * (Q - 30))
    with pytest.raises(UsageError, match="lossless"):
        bd_rate(rate, np.append(Q[:-1], np.inf), rate, Q)
    with pytest.raises(UsageError, match="positive"):
        bd_rate(-rate, Q, rate, Q)
    with pytest.raises(UsageError, match="4\\+ pairs"):
        bd_rate(rate[:3], Q[:3], rate, Q, method="cubic")
    with pytest.raises(UsageError, match="method"):
        bd_rate(rate, Q, rate, Q, method="akima")


def test_jpeg_needs_more_bits_than_jpeg2000_on_a_real_mr(mr12):
    """Real curves: matched PSNR points of two codecs on the 12-bit MR crop."""
    pytest.importorskip("imagecodecs")
    frame, intensity = mr12
    curves = {}
    for name in ("jpeg", "j2k"):
        points = [match_psnr(get_codec(name), frame, intensity, t, tolerance=0.005) for t in (50, 54, 58, 62)]
        curves[name] = ([8 * len(p.data) / frame.size for p in points], [p.achieved for p in points])
    result = bd_rate(*curves["jpeg"], *curves["j2k"])
    assert result.percent > 10 and result.reason == ""
