"""mcz's BD-rate against the maintained reference, the ``bjontegaard`` package (FAU LMS, 1.3.0).

Same interpolation, same result: ``pchip`` (scipy's PchipInterpolator in both)
to 1e-9 percentage points, ``cubic`` (VCEG-M33's single cubic least-squares fit:
numpy ``Polynomial.fit`` here, ``polyfit`` there) to 1e-6.  bjontegaard's third
method, ``akima``, is not in mcz; on these curves it differs from mcz's PCHIP by
less than 0.1 percentage points (0.04 at most), which is the size of the choice
between two shape-preserving piecewise cubics, not an error.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mcz.bench.bdrate import bd_rate

bjontegaard = pytest.importorskip("bjontegaard", reason="bjontegaard (mcz[dev]) is not installed")

# (rate, PSNR) of an anchor and a test codec: rates in bpp (or kbit/s), PSNR in dB.
CURVES = {
    # VCEG-M33 'Sample 1' and FAU-LMS 'Test 1', as shipped with public Bjøntegaard implementations.
    "vceg-sample-1": ([686.76, 309.58, 157.11, 85.95], [40.28, 37.18, 34.24, 31.42],
                      [893.34, 407.8, 204.93, 112.75], [40.39, 37.21, 34.17, 31.24]),
    "fau-test-1": ([9487.76, 4593.60, 2486.44, 1358.24], [40.037, 38.615, 36.845, 34.851],
                   [9787.80, 4469.00, 2451.52, 1356.24], [40.121, 38.651, 36.970, 34.987]),
    # Shaped like mcz's own curves: an 8-bit image, a 16-bit MR, a learned codec against JPEG 2000.
    "8-bit": ([0.25, 0.5, 1.0, 2.0], [29.1, 32.4, 35.9, 39.6],
              [0.22, 0.46, 0.95, 1.9], [29.4, 32.9, 36.3, 39.8]),
    "16-bit-mr": ([0.5, 0.9, 1.6, 2.7, 4.1], [41.2, 44.5, 48.1, 52.0, 55.3],
                  [0.6, 1.0, 1.7, 2.9, 4.4], [41.0, 44.1, 47.6, 51.6, 55.1]),
    "learned-vs-j2k": ([0.12, 0.25, 0.5, 1.0, 2.0, 3.0], [33.0, 36.2, 39.4, 43.1, 47.5, 50.2],
                       [0.15, 0.3, 0.6, 1.2, 2.4, 3.5], [32.1, 35.0, 38.5, 42.6, 46.9, 49.4]),
}
TOLERANCE = {"pchip": 1e-9, "cubic": 1e-6}  # percentage points


def _reference(curve, method):
    rate_anchor, psnr_anchor, rate_test, psnr_test = curve
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its "insufficient overlap" notice; mcz reports the interval instead
        return bjontegaard.bd_rate(rate_anchor, psnr_anchor, rate_test, psnr_test, method=method)


@pytest.mark.parametrize("method", sorted(TOLERANCE))
@pytest.mark.parametrize("name", sorted(CURVES))
def test_the_same_interpolation_gives_the_same_bd_rate(name, method):
    rate_anchor, psnr_anchor, rate_test, psnr_test = CURVES[name]
    ours = bd_rate(rate_test, psnr_test, rate_anchor, psnr_anchor, method=method)  # A = test, B = anchor
    assert ours.percent == pytest.approx(_reference(CURVES[name], method), abs=TOLERANCE[method])
    assert ours.percent != 0.0  # the curves differ: a real comparison, not 0 == 0


@pytest.mark.parametrize("name", sorted(CURVES))
def test_akima_differs_from_pchip_only_by_the_interpolants_shape(name):
    rate_anchor, psnr_anchor, rate_test, psnr_test = CURVES[name]
    ours = bd_rate(rate_test, psnr_test, rate_anchor, psnr_anchor, method="pchip").percent
    assert ours == pytest.approx(_reference(CURVES[name], "akima"), abs=0.1)


def test_point_order_does_not_matter_to_mcz():
    # bjontegaard needs points in rate order (it flips a reversed list); mcz sorts by PSNR itself.
    rate_anchor, psnr_anchor, rate_test, psnr_test = CURVES["16-bit-mr"]
    order = [2, 0, 4, 1, 3]
    shuffled = bd_rate(np.take(rate_test, order), np.take(psnr_test, order), rate_anchor, psnr_anchor).percent
    assert shuffled == pytest.approx(_reference(CURVES["16-bit-mr"], "pchip"), abs=1e-9)
