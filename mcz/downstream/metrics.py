"""Binary classification metrics and group bootstrap confidence intervals.

Labels are 0 (no tumour) and 1 (tumour); ``score`` is the predicted probability
of class 1 and the decision is ``score >= threshold``.  Confidence intervals
resample *test groups* (near-duplicate clusters) with replacement, never single
images, so near-duplicates cannot shrink an interval.  Paired intervals of a
difference resample the same groups for both predictions.

The paired difference of two accuracies also gets Tango's score interval
(:func:`tango_interval`), which, unlike the percentile bootstrap, does not
collapse to ``[0, 0]`` when no image changes its decision: 123 images without a
single flip still leave a flip rate of up to 3 % plausible.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np

from mcz.errors import UsageError

#: Metrics reported for every cell, in table order.
NAMES = ("accuracy", "precision", "recall", "specificity", "f1", "auroc")

#: Labels (0 or 1) and predictions: a sequence or a 1-D array (the functions call each other with arrays).
Labels: TypeAlias = "Sequence[int] | np.ndarray"
Scores: TypeAlias = "Sequence[float] | np.ndarray"


def _labels(y_true: Labels, other: Scores) -> tuple[np.ndarray, np.ndarray]:
    y, o = np.asarray(y_true), np.asarray(other)
    if y.ndim != 1 or y.shape != o.shape:
        raise UsageError(
            f"found labels of shape {y.shape} and predictions of shape {o.shape}; expected equal 1-D"
        )
    if y.size and not np.isin(y, (0, 1)).all():
        raise UsageError("found labels other than 0 and 1; expected binary labels")
    return y.astype(np.int64), o


def confusion(y_true: Labels, y_pred: Labels) -> np.ndarray:
    """``[[tn, fp], [fn, tp]]`` (rows: truth 0, 1; columns: prediction 0, 1), like scikit-learn."""
    y, p = _labels(y_true, y_pred)
    p = p.astype(np.int64)
    return np.array(
        [
            [np.sum((y == 0) & (p == 0)), np.sum((y == 0) & (p == 1))],
            [np.sum((y == 1) & (p == 0)), np.sum((y == 1) & (p == 1))],
        ],
        dtype=np.int64,
    )


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den else 0.0  # scikit-learn's zero_division=0


def auroc(y_true: Labels, score: Scores) -> float:
    """Area under the ROC curve (Mann-Whitney U with mid-ranks for ties); NaN with one class only."""
    from scipy.stats import rankdata  # lazy: keeps scipy out of import mcz.downstream.metrics

    y, s = _labels(y_true, score)
    pos, neg = int(y.sum()), int((1 - y).sum())
    if pos == 0 or neg == 0:
        return float("nan")
    ranks = rankdata(np.asarray(s, np.float64), method="average")  # mid-ranks of ties
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def scores(y_true: Labels, score: Scores, threshold: float = 0.5) -> dict[str, float]:
    """Every metric of :data:`NAMES` for one set of predictions."""
    y, s = _labels(y_true, score)
    (tn, fp), (fn, tp) = confusion(y, (s >= threshold).astype(np.int64))
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return {
        "accuracy": _ratio(tp + tn, len(y)),
        "precision": precision,
        "recall": recall,
        "specificity": _ratio(tn, tn + fp),
        "f1": _ratio(2 * precision * recall, precision + recall),
        "auroc": auroc(y, s),
    }


def _group_index(groups: Sequence) -> list[np.ndarray]:
    _, inverse = np.unique(np.asarray([str(g) for g in groups]), return_inverse=True)
    return [np.nonzero(inverse == k)[0] for k in range(inverse.max() + 1)] if len(inverse) else []


def _resamples(groups: Sequence, n: int, seed: int) -> list[np.ndarray]:
    members = _group_index(groups)
    if not members:
        raise UsageError("found no test items; expected at least one group")
    rng = np.random.default_rng(seed)
    return [
        np.concatenate([members[k] for k in rng.integers(0, len(members), len(members))]) for _ in range(n)
    ]


def _interval(values: list[float], level: float) -> tuple[float, float]:
    arr = np.asarray([v for v in values if np.isfinite(v)], np.float64)
    if not arr.size:
        return float("nan"), float("nan")
    alpha = (1 - level) / 2
    return float(np.quantile(arr, alpha)), float(np.quantile(arr, 1 - alpha))


def bootstrap(
    y_true: Labels,
    score: Scores,
    groups: Sequence,
    *,
    n: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    threshold: float = 0.5,
) -> dict[str, tuple[float, float]]:
    """Percentile ``level`` intervals of every metric, resampling whole groups ``n`` times."""
    y, s = _labels(y_true, score)
    draws = [scores(y[i], s[i], threshold) for i in _resamples(groups, n, seed)]
    return {name: _interval([d[name] for d in draws], level) for name in NAMES}


def paired_difference(
    y_true: Labels,
    score_a: Scores,
    score_b: Scores,
    groups: Sequence,
    *,
    metric: str = "accuracy",
    n: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    threshold: float = 0.5,
) -> dict[str, float]:
    """``metric(b) - metric(a)`` on the same items, with a paired group-bootstrap interval."""
    if metric not in NAMES:
        raise UsageError(f"found metric {metric!r}; expected one of {', '.join(NAMES)}")
    y, a = _labels(y_true, score_a)
    _, b = _labels(y_true, score_b)

    def value(idx: np.ndarray, s: np.ndarray) -> float:
        return scores(y[idx], s[idx], threshold)[metric]

    every = np.arange(len(y))
    diffs = [value(i, b) - value(i, a) for i in _resamples(groups, n, seed)]
    low, high = _interval(diffs, level)
    return {"difference": value(every, b) - value(every, a), "low": low, "high": high}


def tango_interval(b: int, c: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Tango's (1998) score interval of ``(b - c) / n``, a difference of paired proportions.

    ``b`` pairs are right only in the second prediction, ``c`` only in the first,
    ``n`` pairs in all.  The bounds are the ``delta`` where the score statistic
    ``(b - c - n*delta) / sqrt(n * (2*q + delta*(1 - delta)))`` equals ``-/+ z``,
    ``q`` being the maximum-likelihood ``P(right only in the first)`` given
    ``delta`` (Tango, Statistics in Medicine 17:891-908, eq. 3-4).  With
    ``b = c = 0`` the lower bound is ``-z**2 / (n + z**2)``.

    Parameters
    ----------
    b, c, n : int
        Discordant counts and number of pairs (``0 <= b + c <= n``, ``n >= 1``).
    level : float
        Two-sided coverage.

    Returns
    -------
    tuple of float
        ``(low, high)`` within ``[-1, 1]``.
    """
    # lazy: keeps scipy out of import mcz.downstream.metrics
    from scipy.optimize import brentq
    from scipy.stats import norm

    if n < 1 or b < 0 or c < 0 or b + c > n:
        raise UsageError(f"found b={b}, c={c}, n={n}; expected 0 <= b + c <= n and n >= 1")
    z = float(norm.ppf(0.5 + level / 2))
    point = (b - c) / n

    def score(delta: float) -> float:
        w = -b - c + (2 * n - b + c) * delta
        q = (np.sqrt(max(w * w + 8 * n * c * delta * (1 - delta), 0.0)) - w) / (4 * n)
        var = n * (2 * q + delta * (1 - delta))
        num = b - c - n * delta
        if var > 0:
            return num / np.sqrt(var)
        return 0.0 if abs(num) < 1e-9 else float(np.copysign(np.inf, num))

    eps = 1e-12
    low = -1.0 if score(-1 + eps) <= z else brentq(lambda d: score(d) - z, -1 + eps, point)
    high = 1.0 if score(1 - eps) >= -z else brentq(lambda d: score(d) + z, point, 1 - eps)
    return float(low), float(high)


def paired_comparison(
    y_true: Labels,
    score_a: Scores,
    score_b: Scores,
    groups: Sequence,
    *,
    n: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    threshold: float = 0.5,
) -> dict[str, dict[str, float]]:
    """``b - a`` in accuracy and AUROC on the same images, with the intervals of the safety rule.

    Accuracy: the paired group bootstrap (:func:`paired_difference`) and Tango's
    interval over images (:func:`tango_interval`); ``low``/``high`` are the wider
    of the two on each side, because the bootstrap respects near-duplicate groups
    but collapses when decisions rarely change, and Tango's interval is the other
    way round.  AUROC: the paired group bootstrap.  Every value is a fraction
    (0.01 = 1 percentage point; for AUROC, 0.01 of area).
    """
    y, a = _labels(y_true, score_a)
    _, b = _labels(y_true, score_b)
    right_a, right_b = (a >= threshold) == (y == 1), (b >= threshold) == (y == 1)
    gained, lost = int(np.sum(right_b & ~right_a)), int(np.sum(right_a & ~right_b))
    boot = paired_difference(y, a, b, groups, n=n, level=level, seed=seed, threshold=threshold)
    tango = tango_interval(gained, lost, len(y), level) if len(y) else (float("nan"),) * 2
    roc = paired_difference(y, a, b, groups, metric="auroc", n=n, level=level, seed=seed)
    return {
        "accuracy": {
            "difference": boot["difference"],
            "low": min(boot["low"], tango[0]),
            "high": max(boot["high"], tango[1]),
            "bootstrap_low": boot["low"],
            "bootstrap_high": boot["high"],
            "tango_low": tango[0],
            "tango_high": tango[1],
            "gained": gained,
            "lost": lost,
        },
        "auroc": dict(roc),
    }
