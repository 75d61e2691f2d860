"""The safeguards' measures on constructed images, where the right answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from mcz.hallucination import lesions, maps, mcnemar


def test_components_count_blobs_above_three_sigma_and_nine_pixels() -> None:
    h = np.zeros((64, 64))
    h[5:8, 5:8] = 10.0     # 9 px, above 3 sigma: counted
    h[20:22, 20:22] = 10.0  # 4 px: too small
    h[40:50, 40:50] = 2.0   # large but below 3 sigma
    h[30:33, 50:53] = -10.0  # negative differences count too
    assert maps.components(h, sigma=1.0) == [9, 9]
    assert maps.count_components(h, sigma=4.0) == 0


def test_noise_sigma_recovers_white_noise() -> None:
    rng = np.random.default_rng(0)
    assert maps.noise_sigma(100 + rng.normal(0, 5, (256, 256))) == pytest.approx(5, rel=0.1)


def test_disc_area_and_insertion() -> None:
    for d in lesions.DIAMETERS:
        assert lesions.disc(d).sum() == pytest.approx(np.pi * d * d / 4, rel=0.05)
    lesion = lesions.Lesion(32, 32, 9, 0.05)
    image = np.full((64, 64), 100.0)
    out = lesions.insert_disc(image, lesion, 200.0)
    assert out.max() == pytest.approx(110.0) and out[0, 0] == 100.0
    assert lesions.contrast_recovery(out, image, lesion, 200.0) == pytest.approx(1.0)
    assert lesions.contrast_recovery(image, image, lesion, 200.0) == 0.0
    assert lesions.matched_filter_score(out, lesion) > lesions.matched_filter_score(image, lesion)


def test_auc() -> None:
    assert lesions.auc([3, 4], [1, 2]) == 1.0
    assert lesions.auc([1, 2], [3, 4]) == 0.0
    assert lesions.auc([1, 1], [1, 1]) == 0.5


def test_new_blobs_finds_a_drawn_spot_and_ignores_kept_ones() -> None:
    rng = np.random.default_rng(0)
    original = 100 + rng.normal(0, 1, (96, 96))
    original = lesions.insert_disc(original, lesions.Lesion(30, 30, 7, 0.5), 100)
    assert lesions.new_blobs(original, original.copy(), 100.0) == 0
    drawn = lesions.insert_disc(original, lesions.Lesion(70, 60, 7, 0.5), 100)
    assert lesions.new_blobs(original, drawn, 100.0) == 1


def test_place_lesions_inside_and_apart() -> None:
    image = np.zeros((256, 256))
    image[64:192, 64:192] = 100
    placed = lesions.place_lesions(image, np.random.default_rng(0), 12)
    assert len(placed) == 12
    assert {(p.diameter, abs(p.contrast)) for p in placed} == {(d, c) for d in lesions.DIAMETERS for c in lesions.CONTRASTS}
    assert all(64 <= p.row < 192 and 64 <= p.column < 192 for p in placed)
    assert {p.diameter for p in placed} == set(lesions.DIAMETERS) and {np.sign(p.contrast) for p in placed} == {-1, 1}


def test_mcnemar() -> None:
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0, 1, 0])
    original = labels.copy()
    decoded = labels.copy()
    decoded[:4] = 0  # four correct -> wrong, none back
    out = mcnemar.flips(labels, original, decoded)
    assert (out["correct_to_wrong"], out["wrong_to_correct"], out["prediction_flips"]) == (4, 0, 4)
    assert out["mcnemar_p"] == pytest.approx(0.125)
    assert mcnemar.flips(labels, original, original)["mcnemar_p"] == 1.0
