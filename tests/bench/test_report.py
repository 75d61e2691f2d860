"""The results table and what is derived from it: pooling, Pareto fronts, BD-rate, rates at a PSNR, summary.

The rows here are built by hand so that every expected number is known exactly;
the runner's tests cover rows made by real codecs on real images.
"""

from __future__ import annotations

import math

import pytest

from mcz.bench import aggregate, points, report, summary
from mcz.bench.plots import mean_curves
from mcz.errors import OutputError

R8 = 255.0


def _row(
    image: str,
    codec: str,
    point: str,
    bpp: float,
    psnr: float,
    *,
    frame: int = 0,
    lossless: bool = False,
    set_name: str = "s",
    bits: int = 8,
    ssim: float = 0.9,
) -> dict:
    pixels = 100 * 100
    nbytes = bpp * pixels / 8
    mse = 0.0 if math.isinf(psnr) else R8**2 / 10 ** (psnr / 10)
    return {c: None for c in report.COLUMNS} | {
        "image_id": image,
        "set": set_name,
        "source": image,
        "frame": frame,
        "rows": 100,
        "columns": 100,
        "dtype": "uint8",
        "bits_stored": bits,
        "bits_coded": bits,
        "data_range": R8,
        "codec": codec,
        "library": "lib",
        "version": "1",
        "notes": "",
        "threads": 1,
        "lossless": lossless,
        "point": point,
        "mode": "lossless" if lossless else "sweep",
        "setting": None if lossless else float(point),
        "bytes": nbytes,
        "bpp": bpp,
        "cr": 8 / bpp,
        "mse": mse,
        "psnr": psnr,
        "psnr_own_range": psnr,
        "ssim": ssim,
        "ms_ssim": math.nan,
        "ms_ssim_note": "small",
        "max_abs_error": 0.0 if lossless else 3.0,
        "entropy": 5.0,
        "entropy_original": 5.0,
        "repeats": 1,
        "encode_s": 0.01,
        "decode_s": 0.005,
        "encode_mpps": 1.0,
        "decode_mpps": 2.0,
    }


def _curve(image: str, codec: str, scale: float, **kw) -> list[dict]:
    """Four points, PSNR 30..45 dB, at ``scale`` times a common rate curve."""
    return [_row(image, codec, str(i), scale * 0.25 * 2**i, 30.0 + 5 * i, **kw) for i in range(4)]


def test_rows_round_trip_through_the_csv_with_inf_nan_and_blanks(tmp_path):
    path = tmp_path / report.RESULTS
    rows = [_row("a", "png", "lossless", 4.0, math.inf, lossless=True), _row("a", "j2k", "40", 1.0, 40.0)]
    report.append_rows(path, rows[:1])
    report.append_rows(path, rows[1:])  # appends without a second header
    back = report.read_results(path)
    assert len(back) == 2 and back[0]["psnr"] == math.inf and math.isnan(back[0]["ms_ssim"])
    assert back[0]["setting"] is None and back[0]["lossless"] is True and back[1]["frame"] == 0
    assert back[1]["setting"] == 40.0 and back[1]["bytes"] == 1250 and back[1]["point"] == "40"
    assert [report.cell_key(r) for r in back] == [("a", "0", "png", "lossless"), ("a", "0", "j2k", "40")]


def test_a_table_with_other_columns_is_refused(tmp_path):
    path = tmp_path / report.RESULTS
    path.write_text("image_id,codec\nx,y\n")
    with pytest.raises(OutputError, match="another version"):
        report.append_rows(path, [_row("a", "j2k", "40", 1.0, 40.0)])
    assert path.read_text() == "image_id,codec\nx,y\n"


def test_frames_pool_into_one_image_point_and_incomplete_points_are_dropped():
    rows = [
        _row("vol", "j2k", "40", 1.0, 40.0, frame=0),
        _row("vol", "j2k", "40", 3.0, 30.0, frame=1),
        _row("vol", "avif", "50", 1.0, 40.0, frame=0),
    ]  # avif lacks frame 1
    (point,) = points.image_points(rows)
    mse = (R8**2 / 1e4 + R8**2 / 1e3) / 2
    assert point.codec == "j2k" and point.frames == 2 and point.bpp == pytest.approx(2.0)
    assert point.psnr == pytest.approx(10 * math.log10(R8**2 / mse)) and point.cr == pytest.approx(4.0)


def test_pareto_front_keeps_points_that_rise_in_rate_and_psnr():
    rows = [
        _row("a", "c", "1", 1.0, 30.0),
        _row("a", "c", "2", 2.0, 29.0),
        _row("a", "c", "3", 3.0, 35.0),
        _row("a", "c", "4", 3.0, 36.0),
        _row("a", "png", "lossless", 5.0, math.inf, lossless=True),
    ]
    rates, psnrs = points.pareto(points.image_points(rows))
    assert rates.tolist() == [1.0, 3.0] and psnrs.tolist() == [30.0, 36.0]


def test_bd_rate_per_image_then_mean_finds_a_uniform_rate_saving():
    rows = []
    for image in ("a", "b"):
        rows += _curve(image, "j2k", 1.0) + _curve(image, "avif", 0.9) + _curve(image, "x", 0.8)
    rows += [_row("a", "weak", str(i), 0.1 * (i + 1), 10.0 + i) for i in range(3)]  # no common PSNR range
    bd = aggregate.bd_rates(points.image_points(rows))
    means = aggregate.mean_bd_rates(bd)
    assert means[("s", "x", "j2k", "full")].value == pytest.approx(-20.0, abs=1e-6)
    assert means[("s", "x", "j2k", "full")].defined == 2
    assert means[("s", "x", "avif", "full")].value == pytest.approx(-100 / 9, abs=1e-6)
    assert means[("s", "avif", "j2k", "cr 5-25")].value == pytest.approx(-10.0, abs=1e-6)
    weak = means[("s", "weak", "j2k", "full")]
    assert math.isnan(weak.value) and weak.text() == "n/a (0/1)"
    assert any("do not overlap" in r["reason"] for r in bd if r["codec"] == "weak")


def test_bpp_at_the_reference_psnr_is_interpolated_never_extrapolated():
    assert aggregate.reference_psnr(8) == 40 and aggregate.reference_psnr(12) == 50
    assert aggregate.reference_psnr(16) == pytest.approx(74.1, abs=0.05)
    rows = (
        _curve("a", "j2k", 1.0)
        + _curve("b", "j2k", 2.0)
        + [_row("c", "j2k", "1", 1.0, 35.0), _row("c", "j2k", "2", 2.0, 38.0)]
    )
    rates = aggregate.rates_at_reference(points.image_points(rows))
    mean = rates[("s", 8, "j2k")]
    # 40 dB lies between 35 dB (0.5 bpp) and 40 dB (1 bpp) on image a: 1.0; b: 2.0; c never reaches 40 dB
    assert mean.value == pytest.approx(1.5) and (mean.defined, mean.total) == (2, 3)


def test_summary_has_every_section_and_counts(tmp_path):
    rows = _curve("a", "j2k", 1.0) + _curve("a", "avif", 0.9) + _curve("a", "mcz:m", 0.7)
    rows += [_row("a", "png", "lossless", 5.0, math.inf, lossless=True)]
    failures = [
        {
            "image_id": "a",
            "frame": "0",
            "codec": "jxl",
            "point": "90",
            "error": "RuntimeError",
            "message": "boom",
        }
    ]
    text = summary.summary_markdown(rows, failures, jobs=2)
    for heading in (
        "## BD-rate (PSNR)",
        "## bpp at a reference PSNR",
        "## Speed, relative to JPEG 2000",
        "## Lossless codecs",
        "## Failures (1 cells",
    ):
        assert heading in text
    assert "| mcz:m | -30.0 % (1/1) |" in text and "| j2k | 1 | 4 |" in text and "1.00x" in text
    assert "2 concurrent worker(s)" in text


def test_failures_later_coded_are_no_longer_open():
    rows = [_row("a", "j2k", "40", 1.0, 40.0)]
    old = {"image_id": "a", "frame": "0", "codec": "j2k", "point": "40", "error": "E", "message": "m"}
    other = dict(old, codec="avif")
    assert report.open_failures([old, other, other], rows) == [other]


def test_plot_curves_average_each_operating_point_over_images():
    rows = _curve("a", "j2k", 1.0) + _curve("b", "j2k", 3.0)
    curves = mean_curves(points.image_points(rows), "psnr")
    assert [c[2] for c in curves["j2k"]] == [2, 2, 2, 2]
    assert curves["j2k"][0][:2] == pytest.approx((0.5, 30.0))
