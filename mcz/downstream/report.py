"""Reports of a downstream run: results.json, results.md and the plots, from the cell files.

The safety rule is one of non-inferiority.  A classifier *qualifies* when its
uncompressed accuracy (protocol a, the test images) is at least
:data:`QUALIFY` (85 %); a classifier below that gives no verdict at all, since a
near-chance classifier cannot lose what it never had.  For a qualified
classifier a cell (codec, ratio) is

* ``safe`` when the lower 95 % bounds of Δ accuracy (compressed − original, the
  wider of the paired group bootstrap and Tango's paired score interval, see
  :func:`mcz.downstream.metrics.paired_comparison`) and of Δ AUROC (paired group
  bootstrap) are both >= −:data:`MARGIN` (1 pp);
* ``worse`` when the upper bound of either is below −:data:`MARGIN` (the loss exceeds
  the margin: inferior);
* ``inconclusive`` otherwise (too few test images to tell).

Highest safe ratio, per protocol x classifier x codec: the largest target ratio
that is safe with every tested target below it safe too.  Only cells whose mean
achieved ratio is within 5 % of the target count (a codec that cannot reach a
target is not credited with it); ratios are matched per image, so equal ratio
means equal bpp (8 / ratio, whole file).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from mcz.downstream import plots
from mcz.downstream.metrics import tango_interval
from mcz.fsutil import atomic_write_bytes

RESULTS, TABLE = "results.json", "results.md"
#: Non-inferiority margin, as a fraction (1 pp of accuracy; 0.01 of AUROC).
MARGIN = 0.01
#: Uncompressed accuracy a classifier needs for its cells to give a verdict.
QUALIFY = 0.85
REACHED = 0.05
NOT_QUALIFIED = "not qualified"


def read_cells(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((Path(out) / "cells").rglob("*.json"))]


def reached(cell: dict) -> bool:
    rate = cell.get("rate")
    return (
        rate is None
        or abs(rate["achieved_ratio_mean"] - cell["target_ratio"]) <= REACHED * cell["target_ratio"]
    )


def verdict(cell: dict, qualified: bool = True) -> str | None:
    """``safe``, ``worse``, ``inconclusive``, or None (the uncompressed cell, or a non-qualified classifier)."""
    d = cell.get("vs_original")
    if d is None or not qualified:
        return None
    acc, roc = d["accuracy"], d["auroc"]
    if acc["high"] < -MARGIN or roc["high"] < -MARGIN:
        return "worse"
    if acc["low"] >= -MARGIN - 1e-12 and roc["low"] >= -MARGIN - 1e-12:
        return "safe"
    return "inconclusive"


def is_safe(cell: dict, qualified: bool = True) -> bool:
    return verdict(cell, qualified) == "safe"


def safe_ratio(cells: list[dict], qualified: bool = True) -> float | str | None:
    """Highest target that is safe with every reached target below it safe too.

    None when no target is safe; :data:`NOT_QUALIFIED` when the classifier gives no verdict.
    """
    if not qualified:
        return NOT_QUALIFIED
    best = None
    for cell in sorted(cells, key=lambda c: c["target_ratio"]):
        if not reached(cell):
            continue
        if not is_safe(cell):
            break
        best = cell["target_ratio"]
    return best


def qualification(cells: list[dict]) -> dict[str, dict]:
    """Per classifier: its uncompressed protocol-(a) accuracy and whether it reaches :data:`QUALIFY`."""
    out = {}
    for c in cells:
        if c["protocol"] == "a" and c["codec"] == "original":
            acc = c["metrics"]["accuracy"]
            out[c["classifier"]] = {"accuracy": acc, "qualified": bool(acc >= QUALIFY - 1e-12)}
    return out


def _smallest_tango_low(n: int) -> float:
    """Tango's lower bound with no image changing its decision: the best any cell of ``n`` images can get."""
    return tango_interval(0, 0, n)[0] if n else float("nan")


def summarise(cells: list[dict]) -> dict:
    # protocol -> classifier -> codec -> safe_ratio(): a float, None, or NOT_QUALIFIED (unqualified only)
    safe: dict[str, dict[str, dict[str, Any]]]
    rows, safe, groups = [], {}, defaultdict(list)
    qual = qualification(cells)
    for c in cells:
        ok = qual.get(c["classifier"], {}).get("qualified", False)
        m, ci = c["metrics"], c["ci95"]
        row = {k: c[k] for k in ("protocol", "classifier", "codec", "target_ratio")}
        row.update(
            {
                "metrics": m,
                "ci95": ci,
                "confusion": c["confusion"],
                "rate": c["rate"],
                "vs_original": c.get("vs_original"),
                "reached": reached(c),
                "verdict": verdict(c, ok),
                "safe": is_safe(c, ok),
                "test_images": c["test"]["images"],
                "test_groups": c["test"]["groups"],
                "train_views": c["train"]["views"],
            }
        )
        rows.append(row)
        if c["codec"] != "original":
            groups[(c["protocol"], c["classifier"], c["codec"])].append(c)
    for (p, k, codec), cs in sorted(groups.items()):
        ok = qual.get(k, {}).get("qualified", False)
        safe.setdefault(p, {}).setdefault(k, {})[codec] = safe_ratio(cs, ok)
    goal = {}
    for p, by_k in safe.items():
        for k, by_codec in by_k.items():
            j2k = by_codec.get("j2k")
            mcz = {c: r for c, r in by_codec.items() if c.startswith("mcz:")}
            if mcz and qual.get(k, {}).get("qualified", False):
                best = max(mcz, key=lambda c: mcz[c] or 0)
                goal[f"{p}/{k}"] = {
                    "j2k": j2k,
                    "best_mcz": best,
                    "mcz": mcz[best],
                    "factor": (mcz[best] / j2k) if (mcz[best] and j2k) else None,
                    "met": bool(mcz[best] and j2k and mcz[best] >= 1.5 * j2k),
                }
    images = cells[0]["test"]["images"] if cells else 0
    return {
        "qualification": qual,
        "best_possible_accuracy_low": _smallest_tango_low(images),
        "cells": sorted(rows, key=lambda r: (r["protocol"], r["classifier"], r["codec"], r["target_ratio"])),
        "highest_safe_ratio": safe,
        "goal_mcz_vs_j2k_1.5x": goal,
        "rule": f"non-inferiority: only classifiers with uncompressed accuracy >= {QUALIFY * 100:g} % give a "
        f"verdict; a cell is safe when the lower 95% bounds of Δ accuracy (wider of the paired group "
        f"bootstrap and Tango's paired score interval) and of Δ AUROC (paired group bootstrap) are both "
        f">= -{MARGIN * 100:g} pp, worse when either upper bound is < -{MARGIN * 100:g} pp, else inconclusive; the highest "
        f"safe ratio needs every reached target up to it safe (|mean achieved - target| <= "
        f"{REACHED * 100:g}%)",
    }


def _pct(v: float) -> str:
    return f"{100 * v:.1f}"


def markdown(summary: dict, config: dict | None = None) -> str:
    lines = ["# Downstream diagnosis: tumour classifier on compressed Br35H", ""]
    if config:
        lines += [f"Configuration: `{json.dumps({k: v for k, v in config.items() if k != 'cache'})}`", ""]
    cells = summary["cells"]
    if cells:
        c0 = cells[0]
        lines += [
            (
                f"Test: {c0['test_images']} images in {c0['test_groups']} near-duplicate groups of the Br35H "
                "test split. Accuracy etc. in %, 95% CI by bootstrap over test groups. "
                "Δ = compressed minus uncompressed, same classifier, same images: accuracy in pp with the "
                "interval of the rule (wider of paired group bootstrap and Tango), then flips "
                "(+gained/−lost images); AUROC ×100 with its paired group-bootstrap interval."
            ),
            "",
            "Qualification (uncompressed accuracy >= 85 %): "
            + "; ".join(
                f"{k} {100 * q['accuracy']:.1f} % ({'qualified' if q['qualified'] else 'NOT qualified: no verdict'})"
                for k, q in summary.get("qualification", {}).items()
            )
            + ".",
            "",
            f"With {c0['test_images']} test images even a cell where no image changes its decision has a "
            f"lower accuracy bound of {100 * summary['best_possible_accuracy_low']:+.1f} pp (Tango): "
            + (
                "no cell can be shown safe at a 1 pp margin; the verdicts can only show harm."
                if summary["best_possible_accuracy_low"] < -MARGIN
                else "safety at a 1 pp margin can be shown."
            ),
            "",
        ]
    lines += [
        (
            "| protocol | classifier | codec | target CR | achieved CR (mean) | bpp | PSNR dB "
            "| accuracy [95% CI] | Δ acc pp [95% CI] | flips | Δ AUROC [95% CI] | precision | recall "
            "| specificity | F1 | AUROC | confusion [[tn,fp],[fn,tp]] | verdict |"
        ),
        "|" + "---|" * 18,
    ]
    for r in cells:
        m, ci, d, rate = r["metrics"], r["ci95"], r["vs_original"], r["rate"]
        delta = flips = droc = ""
        if d is not None:
            a, o = d["accuracy"], d["auroc"]
            delta = f"{100 * a['difference']:+.1f} [{100 * a['low']:+.1f}, {100 * a['high']:+.1f}]"
            flips = f"+{a['gained']}/−{a['lost']}"
            droc = f"{100 * o['difference']:+.1f} [{100 * o['low']:+.1f}, {100 * o['high']:+.1f}]"
        shown = r["verdict"] or ("" if d is None else "no verdict")
        ach = (
            "raw"
            if rate is None
            else f"{rate['achieved_ratio_mean']:.2f}" + ("" if r["reached"] else " (not reached)")
        )
        bpp = "8" if rate is None else f"{rate['bpp_mean']:.3f}"
        ps = "∞" if rate is None else f"{rate['psnr_mean_db']:.1f}"
        lines.append(
            f"| {r['protocol']} | {r['classifier']} | {r['codec']} | {r['target_ratio']:g} | {ach} | {bpp} "
            f"| {ps} | "
            f"{_pct(m['accuracy'])} [{_pct(ci['accuracy'][0])}, {_pct(ci['accuracy'][1])}] | {delta} | {flips} | {droc} | "
            f"{_pct(m['precision'])} | {_pct(m['recall'])} | {_pct(m['specificity'])} | {_pct(m['f1'])} | "
            f"{m['auroc']:.3f} | {r['confusion']} | {shown} |"
        )
    lines += [
        "",
        "## Highest safe compression ratio",
        "",
        summary["rule"],
        "",
        "| protocol | classifier | codec | highest safe target CR |",
        "|---|---|---|---|",
    ]
    for p, by_k in summary["highest_safe_ratio"].items():
        for k, by_codec in by_k.items():
            for codec, v in by_codec.items():
                text = "none" if v is None else (v if isinstance(v, str) else f"{v:g}:1")
                lines.append(f"| {p} | {k} | {codec} | {text} |")
    lines += [
        "",
        "## Goal: best mcz safe ratio >= 1.5 x JPEG 2000's (equal bpp)",
        "",
        "| protocol/classifier | JPEG 2000 | best mcz | its safe CR | factor | met |",
        "|---|---|---|---|---|---|",
    ]
    for key, g in summary["goal_mcz_vs_j2k_1.5x"].items():
        f = "n/a" if g["factor"] is None else f"{g['factor']:.2f}"
        lines.append(
            f"| {key} | {g['j2k']} | {g['best_mcz']} | {g['mcz']} | {f} | {'yes' if g['met'] else 'no'} |"
        )
    return "\n".join(lines) + "\n"


def write(out: Path, plot: bool = True) -> dict:
    out = Path(out)
    summary = summarise(read_cells(out))
    config = json.loads((out / "config.json").read_text()) if (out / "config.json").is_file() else None
    summary["config"] = config
    atomic_write_bytes(out / RESULTS, (json.dumps(summary, indent=1) + "\n").encode(), overwrite=True)
    atomic_write_bytes(out / TABLE, markdown(summary, config).encode(), overwrite=True)
    if plot and summary["cells"]:
        plots.draw(summary, out / "plots")
    return summary
