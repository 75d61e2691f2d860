"""Per-image rate control: bpp / ratio / PSNR targets pick the right quality and say what they achieve."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from pydicom.data import get_testdata_file

import mcz
from mcz import metrics
from mcz.errors import UsageError
from mcz.io import from_array, read_image
from mcz.ratecontrol import RateNotice, Target, Trials, encode_to_target, select
from mcz.search import bisect_quality

MODEL = "cae-compact"


@pytest.fixture(scope="module")
def ct():
    return read_image(get_testdata_file("CT_small.dcm", download=False))


@pytest.fixture(scope="module")
def codec(tmp_path_factory):
    """The seeded (untrained) model, loaded once; its zoo also serves mcz.api in this module."""
    from mcz.codec import engine
    from tests.zoo import write_checkpoint

    folder = tmp_path_factory.mktemp("ratezoo")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MCZ_CHECKPOINTS", str(folder))
        write_checkpoint(folder, MODEL)
        yield engine.load_codec(MODEL)


@pytest.fixture(scope="module")
def truth(ct, codec) -> Trials:
    """Ground truth, from encodings independent of the searches under test."""
    return Trials(ct, codec)


def _table(truth: Trials, kind: str) -> dict[int, float]:
    lo, hi = truth.quality_range
    return {q: truth.measure(kind, q) for q in range(lo, hi + 1)}


def _assert_bisected(result, codec) -> None:
    lo, hi = codec.spec.quality_range
    assert len(result.tried) == len(set(result.tried))  # each quality encoded at most once
    assert len(result.tried) <= math.ceil(math.log2(hi - lo + 1)) + 1  # bisection, not a sweep


def test_bpp_target_picks_the_highest_quality_within_it(ct, codec, truth):
    bpp = _table(truth, "bpp")
    lo, hi = codec.spec.quality_range
    assert bpp[lo] < bpp[hi]  # the rate varies, so the cases below can fail
    # on the boundary, and between two qualities
    for q, value in [(lo, bpp[lo]), (4, (bpp[4] + bpp[5]) / 2), (hi - 1, (bpp[hi - 1] + bpp[hi]) / 2)]:
        result = encode_to_target(ct, codec, Target("bpp", value))
        assert result.met and result.quality == q, (value, result.message)
        assert result.bpp <= value
        assert bpp[result.quality + 1] > value  # the next quality would exceed the target
        _assert_bisected(result, codec)
    top = encode_to_target(ct, codec, Target("bpp", bpp[hi] * 2))
    assert top.quality == hi and top.met


def test_bpp_counts_the_whole_file_and_the_reported_values_are_the_file(ct, codec):
    result = encode_to_target(ct, codec, Target("bpp", 0.55))
    pixels = ct.rows * ct.columns * ct.frames
    assert result.bpp == pytest.approx(8 * len(result.data) / pixels)
    assert result.ratio == pytest.approx(metrics.compression_ratio(len(result.data), pixels, 16, "int16"))
    assert mcz.read_info(result.data).header.quality == result.quality
    from mcz.codec import engine

    decoded = engine.decode_bytes(result.data, codec=codec)
    assert result.psnr == pytest.approx(metrics.psnr(ct.pixels, decoded, ct.intensity.data_range))
    assert result.achieved == result.bpp
    assert result.message.startswith(f"quality {result.quality}: achieved {result.bpp:.3f} bpp (target <= 0.550 bpp)")


def test_ratio_target_picks_the_highest_quality_that_reaches_it(ct, codec, truth):
    ratio = _table(truth, "ratio")
    lo, hi = codec.spec.quality_range
    for q, value in [(lo + 1, ratio[lo + 1]), (5, (ratio[5] + ratio[6]) / 2)]:
        result = encode_to_target(ct, codec, Target("ratio", value))
        assert result.met and result.quality == q, (value, result.message)
        assert result.ratio >= value
        assert ratio[result.quality + 1] < value
        _assert_bisected(result, codec)


def test_psnr_target_on_the_real_codec(ct, codec, truth):
    lo, hi = codec.spec.quality_range
    value = truth.psnr(lo) - 0.5
    met = encode_to_target(ct, codec, Target("psnr", value))
    assert met.met and met.psnr >= value
    assert met.quality == lo  # the lowest quality already reaches it
    assert f"dB (target >= {value:.2f} dB)" in met.message


class _TablePSNR(Trials):
    """Real encodings, but a PSNR that rises with quality (seeded weights give a flat one)."""

    def psnr(self, quality: int) -> float:
        self.encode(quality)
        return 30.0 + 2.0 * quality


@pytest.mark.parametrize("value, expected", [(37.0, 4), (46.0, 8), (32.0, 1)])
def test_psnr_target_picks_the_lowest_quality_that_reaches_it(ct, codec, value, expected):
    result = select(_TablePSNR(ct, codec), Target("psnr", value))
    assert result.met and result.quality == expected and result.psnr >= value
    assert result.quality == 1 or 30.0 + 2.0 * (result.quality - 1) < value
    _assert_bisected(result, codec)


def test_unreachable_targets_keep_the_nearest_quality_and_say_so(ct, codec):
    lo, hi = codec.spec.quality_range
    tiny = encode_to_target(ct, codec, Target("bpp", 0.01))
    assert not tiny.met and tiny.quality == lo and tiny.bpp > 0.01
    assert "target not met" in tiny.message and "lowest quality" in tiny.message
    huge = encode_to_target(ct, codec, Target("ratio", 1e6))
    assert not huge.met and huge.quality == lo
    sharp = encode_to_target(ct, codec, Target("psnr", 500))
    assert not sharp.met and sharp.quality == hi and "highest quality" in sharp.message


def test_a_volume_is_one_choice(ct, codec):
    crop = ct.pixels[0, :64, :64]
    frames = np.stack([crop, np.flipud(crop), np.fliplr(crop)])
    volume = from_array(frames, bits_stored=16, signed=True)
    result = encode_to_target(volume, codec, Target("bpp", 0.9))
    assert mcz.read_info(result.data).header.frames == 3
    assert result.bpp == pytest.approx(8 * len(result.data) / frames.size)  # all frames count
    assert result.met and result.bpp <= 0.9
    hi = codec.spec.quality_range[1]
    assert result.quality == hi or Trials(volume, codec).bpp(result.quality + 1) > 0.9


@pytest.mark.parametrize(
    "kind, value",
    [("bpp", 0), ("bpp", -1.0), ("ratio", float("nan")), ("psnr", float("inf")), ("bpp", True),
     ("bpp", "0.5"), ("size", 1.0)],
)
def test_invalid_targets_are_usage_errors(kind, value):
    with pytest.raises(UsageError):
        Target(kind, value)


def test_only_one_target_and_not_with_a_quality(ct):
    assert Target.from_options(ratio=10) == Target("ratio", 10.0)
    assert Target.from_options() is None
    with pytest.raises(UsageError, match="give one target"):
        Target.from_options(bpp=0.5, psnr=40)
    with pytest.raises(UsageError, match="quality and target"):
        mcz.encode(ct, model=MODEL, quality=4, target=Target("bpp", 0.5))


def test_bisect_quality_finds_edges_with_few_probes():
    probes: list[int] = []

    def below(limit):
        return lambda q: probes.append(q) or q <= limit

    assert bisect_quality(below(5), 0, 15, highest=True) == (5, True)
    assert len(probes) <= 5
    assert bisect_quality(below(-1), 0, 15, highest=True) == (0, False)
    assert bisect_quality(lambda q: q >= 9, 0, 15, highest=False) == (9, True)
    assert bisect_quality(lambda q: q >= 99, 0, 15, highest=False) == (15, False)


def _api_bpp(image, quality: int, **options) -> tuple[float, float]:
    from mcz.api import encode_with_report

    outcome = encode_with_report(image, model=MODEL, quality=quality, **options)
    return 8 * len(outcome.data) / (image.rows * image.columns * image.frames), outcome.ratio


def test_api_reports_the_choice_and_reuses_the_search(codec, ct):
    from mcz.api import encode_with_report

    here, _ = _api_bpp(ct, 4)  # the kept DICOM header counts: the whole file is measured
    above, _ = _api_bpp(ct, 5)
    assert here < above
    outcome = encode_with_report(ct, model=MODEL, target=Target("bpp", (here + above) / 2))
    rate = outcome.rate
    assert rate.quality == outcome.quality == mcz.read_info(outcome.data).header.quality == 4
    assert rate.data == outcome.data and rate.met
    assert rate.bpp == 8 * len(outcome.data) / (ct.rows * ct.columns)
    assert rate.bpp == pytest.approx(here, abs=0.01)  # new UIDs per encode change the size by a few bytes
    assert [q for q, _ in outcome.tried] == [4]
    notice = [n for n in outcome.notices if isinstance(n, RateNotice)]
    assert len(notice) == 1 and notice[0].level == "info" and notice[0].text == rate.message
    none = encode_with_report(ct, model=MODEL, target=Target("bpp", (here + above) / 2), metadata="none")
    assert none.rate.quality > 4 or none.rate.bpp < here  # without the header, more bits fit


def test_api_warns_when_the_target_is_missed(codec, ct):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mcz.encode(ct, model=MODEL, target=Target("bpp", 0.01))
    assert any("target not met" in str(w.message) for w in caught)


def test_a_ratio_cap_can_raise_the_quality_and_the_report_follows(codec, ct):
    from mcz.api import encode_with_report

    low, _ = _api_bpp(ct, 1)
    high, cap2 = _api_bpp(ct, 2)
    _, cap3 = _api_bpp(ct, 3)
    outcome = encode_with_report(ct, model=MODEL, target=Target("bpp", (low + high) / 2),
                                 max_ratio=(cap2 + cap3) / 2)
    assert outcome.quality == outcome.rate.quality == 3 and outcome.ratio <= (cap2 + cap3) / 2
    assert not outcome.rate.met and "ratio cap raised the quality from 1" in outcome.rate.message


@pytest.mark.parametrize("start, top", [(0, 0), (0, 1), (3, 40), (10, 80)])
def test_gallop_finds_the_lowest_quality_from_start(start, top):
    from mcz.search import gallop_quality

    for edge in range(start - 2, top + 3):
        probes = []

        def meets(q, edge=edge):
            assert start <= q <= top, "never probes outside start..top"
            probes.append(q)
            return q >= edge

        found, ok = gallop_quality(meets, start, top)
        expected = max(edge, start)
        assert (found, ok) == ((expected, True) if expected <= top else (top, False))
        assert len(probes) <= 2 * (top - start + 1).bit_length() + 2
        if ok and expected <= start + 1:
            assert probes == list(range(start, expected + 1)), "a target met at once costs no more than a scan"
