"""Paired prediction flips and McNemar's exact test (original vs a decoder, same classifier, same images)."""

from __future__ import annotations

import numpy as np


def flips(labels: np.ndarray, original: np.ndarray, decoded: np.ndarray) -> dict[str, float]:
    """Discordant pairs and McNemar's exact two-sided p-value (binomial on the discordant pairs).

    Parameters
    ----------
    labels : array of int
        True labels.
    original, decoded : array of int
        Predicted labels on the original and on the decoded images.
    """
    from scipy.stats import binomtest  # lazy: keeps scipy out of import mcz.hallucination.mcnemar

    labels, original, decoded = (np.asarray(a).astype(int) for a in (labels, original, decoded))
    right_orig, right_dec = original == labels, decoded == labels
    b = int((right_orig & ~right_dec).sum())  # correct before, wrong after
    c = int((~right_orig & right_dec).sum())
    p = 1.0 if b + c == 0 else float(binomtest(b, b + c, 0.5).pvalue)
    return {"images": int(len(labels)), "prediction_flips": int((original != decoded).sum()),
            "correct_to_wrong": b, "wrong_to_correct": c, "mcnemar_p": p,
            "accuracy_original": float(right_orig.mean()), "accuracy_decoded": float(right_dec.mean())}
