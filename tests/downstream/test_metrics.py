"""Downstream metrics against scikit-learn on known cases."""

import numpy as np
import pytest

from mcz.downstream import metrics

sk = pytest.importorskip("sklearn.metrics")

CASES = [
    (np.array([0, 0, 1, 1, 1, 0, 1, 0]), np.array([0.1, 0.6, 0.8, 0.4, 0.9, 0.2, 0.5, 0.5])),
    (np.array([1, 1, 1, 0]), np.array([0.9, 0.9, 0.3, 0.9])),  # ties across classes
    (
        np.array([0, 0, 0, 1, 1]),
        np.array([0.1, 0.2, 0.3, 0.4, 0.45]),
    ),  # perfect ranking, no positive predicted
]


@pytest.mark.parametrize("y,s", CASES)
def test_scores_match_sklearn(y, s):
    pred = (s >= 0.5).astype(int)
    got = metrics.scores(y, s)
    assert got["accuracy"] == pytest.approx(sk.accuracy_score(y, pred))
    assert got["precision"] == pytest.approx(sk.precision_score(y, pred, zero_division=0))
    assert got["recall"] == pytest.approx(sk.recall_score(y, pred, zero_division=0))
    assert got["specificity"] == pytest.approx(sk.recall_score(y, pred, pos_label=0, zero_division=0))
    assert got["f1"] == pytest.approx(sk.f1_score(y, pred, zero_division=0))
    assert got["auroc"] == pytest.approx(sk.roc_auc_score(y, s))
    np.testing.assert_array_equal(metrics.confusion(y, pred), sk.confusion_matrix(y, pred, labels=[0, 1]))


def test_random_cases_match_sklearn():
    rng = np.random.default_rng(1)
    for _ in range(20):
        y = rng.integers(0, 2, 40)
        y[:2] = [0, 1]
        s = np.round(rng.random(40), 1)  # many ties
        assert metrics.auroc(y, s) == pytest.approx(sk.roc_auc_score(y, s))
        assert metrics.scores(y, s)["f1"] == pytest.approx(sk.f1_score(y, s >= 0.5, zero_division=0))


def test_known_values_and_single_class():
    y = np.array([1, 1, 0, 0])
    s = np.array([0.9, 0.2, 0.1, 0.7])
    assert metrics.confusion(y, s >= 0.5).tolist() == [[1, 1], [1, 1]]
    assert metrics.scores(y, s)["accuracy"] == 0.5
    assert np.isnan(metrics.auroc([1, 1], [0.2, 0.3]))
    with pytest.raises(ValueError):
        metrics.scores([0, 2], [0.1, 0.2])


def test_bootstrap_resamples_groups():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 50)
    s = np.clip(y * 0.3 + rng.random(100) * 0.6, 0, 1)
    groups = np.arange(100) // 5
    ci = metrics.bootstrap(y, s, groups, n=200)
    point = metrics.scores(y, s)
    for name in metrics.NAMES:
        low, high = ci[name]
        assert low <= point[name] + 1e-9 and point[name] <= high + 1e-9
    assert ci["accuracy"][1] - ci["accuracy"][0] > 0
    # one group only: every resample is the whole set, so the interval collapses to the point
    one = metrics.bootstrap(y, s, np.zeros(100), n=20)
    assert one["accuracy"] == (point["accuracy"], point["accuracy"])


def test_paired_difference():
    y = np.repeat([0, 1], 20)
    a = y * 0.8 + 0.1
    same = metrics.paired_difference(y, a, a, np.arange(40), n=100)
    assert same == {"difference": 0.0, "low": 0.0, "high": 0.0}
    worse = a.copy()
    worse[:10] = 0.9  # ten negatives now wrong
    d = metrics.paired_difference(y, a, worse, np.arange(40), n=300)
    assert d["difference"] == pytest.approx(-0.25)
    assert d["low"] <= -0.25 <= d["high"] < 0
