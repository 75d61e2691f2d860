"""The non-inferiority rule on constructed paired predictions (Tango's interval, qualification, verdicts)."""

import numpy as np
import pytest

from mcz.downstream import metrics, report


def test_tango_without_flips_has_the_closed_form():
    z = 1.959963984540054
    for n in (50, 123, 599):
        low, high = metrics.tango_interval(0, 0, n)
        assert low == pytest.approx(-(z**2) / (n + z**2), rel=1e-6) and high == pytest.approx(-low)


def test_tango_bounds_and_coverage():
    low, high = metrics.tango_interval(12, 3, 100)
    assert low < 0.09 < high and -1 <= low and high <= 1
    assert metrics.tango_interval(0, 10, 10)[0] == -1.0 and metrics.tango_interval(10, 0, 10)[1] == 1.0
    with pytest.raises(ValueError):
        metrics.tango_interval(6, 6, 10)
    # Monte Carlo coverage of the true difference, p(gain) = 0.02, p(loss) = 0.06, n = 150
    rng = np.random.default_rng(0)
    true = 0.02 - 0.06
    draws = rng.multinomial(150, [0.02, 0.06, 0.92], size=400)
    hits = sum(lo <= true <= hi for lo, hi in (metrics.tango_interval(b, c, 150) for b, c, _ in draws))
    assert 0.91 <= hits / 400 <= 0.99


def _case(n, lost, gained=0, seed=0, roc_noise=0.0):
    """Labels, uncompressed scores (all right) and compressed scores with ``lost``/``gained`` flips."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    base = np.where(y == 1, 0.8, 0.2) + rng.uniform(-0.1, 0.1, n)
    base[:gained] = np.where(y[:gained] == 1, 0.4, 0.6)  # wrong before compression
    comp = base.copy()
    comp[:gained] = np.where(y[:gained] == 1, 0.7, 0.3)  # ... right after
    comp[gained : gained + lost] = np.where(y[gained : gained + lost] == 1, 0.45, 0.55)
    comp += rng.normal(0, roc_noise, n)
    return y, np.clip(base, 0, 1), np.clip(comp, 0, 1)


def _cells(y, base, comp, ratio=10.0):
    groups = np.arange(len(y))
    original = {
        "protocol": "a", "classifier": "k", "codec": "original", "target_ratio": 1.0, "rate": None,
        "metrics": metrics.scores(y, base),
    }
    coded = {
        "protocol": "a", "classifier": "k", "codec": "c", "target_ratio": ratio,
        "rate": {"achieved_ratio_mean": ratio, "bpp_mean": 8 / ratio, "psnr_mean_db": 30.0}, "metrics": metrics.scores(y, comp),
        "vs_original": metrics.paired_comparison(y, base, comp, groups, n=300),
    }
    for cell, s in ((original, base), (coded, comp)):  # what summarise() reads besides the rule
        cell.update(
            ci95={k: [v, v] for k, v in cell["metrics"].items()},
            confusion=metrics.confusion(y, s >= 0.5).tolist(),
            test={"images": len(y), "groups": len(y)},
            train={"views": [["original", 1.0]]},
        )
    return original, coded


def test_safe_by_point_estimate_but_not_by_interval():
    # 600 images, 5 lost: Δ = -0.83 pp, within 1 pp, yet a loss of more than 1 pp is plausible
    y, base, comp = _case(600, lost=5)
    original, coded = _cells(y, base, comp)
    d = coded["vs_original"]["accuracy"]
    assert -0.01 < d["difference"] < 0 and d["low"] < -0.01
    assert report.verdict(coded, True) in ("inconclusive", "worse")
    assert report.safe_ratio([coded]) is None


def test_clearly_safe():
    # 1000 images, one image lost and one gained, scores nearly unchanged
    y, base, comp = _case(1000, lost=1, gained=1, roc_noise=0.001)
    original, coded = _cells(y, base, comp)
    assert report.qualification([original, coded])["k"]["qualified"]
    assert report.verdict(coded, True) == "safe"
    summary = report.summarise([original, coded])
    assert summary["highest_safe_ratio"]["a"]["k"]["c"] == 10.0


def test_zero_flips_on_few_images_is_not_proven_safe():
    y, base, comp = _case(123, lost=0)
    _, coded = _cells(y, base, comp)
    assert coded["vs_original"]["accuracy"]["bootstrap_low"] == 0.0  # the bootstrap alone collapses
    assert report.verdict(coded, True) == "inconclusive"  # Tango: a 3 pp loss is still plausible


def test_clearly_worse():
    y, base, comp = _case(400, lost=60)
    _, coded = _cells(y, base, comp)
    assert report.verdict(coded, True) == "worse"


def test_classifier_below_85_percent_gives_no_verdict():
    y, base, comp = _case(1000, lost=0)
    base[: 200] = 1 - base[: 200]  # 80 % uncompressed accuracy
    comp[: 200] = base[: 200]
    original, coded = _cells(y, base, comp)
    summary = report.summarise([original, coded])
    assert summary["qualification"]["k"] == {"accuracy": pytest.approx(0.8), "qualified": False}
    row = next(r for r in summary["cells"] if r["codec"] == "c")
    assert row["verdict"] is None and not row["safe"]
    assert summary["highest_safe_ratio"]["a"]["k"]["c"] == report.NOT_QUALIFIED
    assert "NOT qualified" in report.markdown(summary)


def test_tango_matches_a_brute_force_inversion_of_the_score_test():
    """Restricted MLE by numerical maximisation, score test inverted on a grid: an independent path."""
    from scipy.optimize import minimize_scalar
    from scipy.stats import norm

    def z_stat(b, c, n, delta):
        m = n - b - c

        def nll(q):  # p(right only after) = q + delta, p(right only before) = q
            terms = [(b, q + delta), (c, q), (m, 1 - 2 * q - delta)]
            return -sum(k * np.log(max(p, 1e-300)) for k, p in terms if k)

        lo, hi = max(0.0, -delta) + 1e-12, (1 - delta) / 2 - 1e-12
        q = minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12}).x
        return (b - c - n * delta) / np.sqrt(n * (2 * q + delta * (1 - delta)))

    z = norm.ppf(0.975)
    grid = np.linspace(-0.6, 0.6, 2401)
    for b, c, n in ((1, 7, 21), (12, 3, 100), (4, 9, 123)):
        inside = [d for d in grid if abs(z_stat(b, c, n, d)) <= z]
        low, high = metrics.tango_interval(b, c, n)
        assert low == pytest.approx(min(inside), abs=1e-3) and high == pytest.approx(max(inside), abs=1e-3)


def test_goal_is_not_judged_for_a_classifier_that_does_not_qualify():
    y, base, comp = _case(1000, lost=0)
    base[:200] = 1 - base[:200]
    comp[:200] = base[:200]
    original, coded = _cells(y, base, comp)
    coded["codec"] = "mcz:x"
    summary = report.summarise([original, coded])
    assert summary["goal_mcz_vs_j2k_1.5x"] == {}
    y, base, comp = _case(1000, lost=1, gained=1, roc_noise=0.001)
    original, coded = _cells(y, base, comp)
    coded["codec"] = "mcz:x"
    assert "a/k" in report.summarise([original, coded])["goal_mcz_vs_j2k_1.5x"]


def test_worse_means_beyond_the_margin_not_merely_significant():
    def cell(acc, roc):
        keys = ("difference", "low", "high")
        return {"vs_original": {"accuracy": dict(zip(keys, acc)), "auroc": dict(zip(keys, roc))}}

    # AUROC significantly lower by 0.09 points (upper bound -0.01 points): within the margin
    assert report.verdict(cell((-0.002, -0.011, 0.006), (-0.0009, -0.0019, -0.0001))) == "inconclusive"
    assert report.verdict(cell((-0.002, -0.009, 0.006), (-0.0009, -0.0019, -0.0001))) == "safe"
    assert report.verdict(cell((-0.05, -0.09, -0.012), (0.0, -0.01, 0.01))) == "worse"
    assert report.verdict(cell((0.0, -0.005, 0.005), (-0.03, -0.05, -0.015))) == "worse"
    assert report.verdict(cell((0.0, -0.005, 0.005), (0.0, 0.0, 0.0)), qualified=False) is None
