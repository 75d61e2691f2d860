"""Reports of a downstream run: results.json, results.md and the plots, from the cell files.

Highest safe ratio, per protocol x classifier x codec: the largest target ratio
such that at every tested target up to it, the accuracy is at most 1 percentage
point below the uncompressed accuracy of the same test images *and* the paired
group-bootstrap 95 % interval of the difference reaches 0 (not significantly
worse).  Only cells whose mean achieved ratio is within 5 % of the target count
(a codec that cannot reach a target is not credited with it); ratios are matched
per image, so equal ratio means equal bpp (8 / ratio, whole file).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from mcz.fsutil import atomic_write_bytes

RESULTS, TABLE = "results.json", "results.md"
MARGIN = 0.01
REACHED = 0.05


def read_cells(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((Path(out) / "cells").rglob("*.json"))]


def reached(cell: dict) -> bool:
    rate = cell.get("rate")
    return (
        rate is None
        or abs(rate["achieved_ratio_mean"] - cell["target_ratio"]) <= REACHED * cell["target_ratio"]
    )


def is_safe(cell: dict) -> bool:
    d = cell.get("vs_original")
    return d is not None and d["difference"] >= -MARGIN - 1e-12 and d["high"] >= 0


def safe_ratio(cells: list[dict]) -> float | None:
    """Highest target that is safe with every reached target below it safe too (None: none)."""
    best = None
    for cell in sorted(cells, key=lambda c: c["target_ratio"]):
        if not reached(cell):
            continue
        if not is_safe(cell):
            break
        best = cell["target_ratio"]
    return best


def summarise(cells: list[dict]) -> dict:
    rows, safe, groups = [], {}, defaultdict(list)
    for c in cells:
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
                "safe": is_safe(c),
                "test_images": c["test"]["images"],
                "test_groups": c["test"]["groups"],
                "train_views": c["train"]["views"],
            }
        )
        rows.append(row)
        if c["codec"] != "original":
            groups[(c["protocol"], c["classifier"], c["codec"])].append(c)
    for (p, k, codec), cs in sorted(groups.items()):
        safe.setdefault(p, {}).setdefault(k, {})[codec] = safe_ratio(cs)
    goal = {}
    for p, by_k in safe.items():
        for k, by_codec in by_k.items():
            j2k = by_codec.get("j2k")
            mcz = {c: r for c, r in by_codec.items() if c.startswith("mcz:")}
            if mcz:
                best = max(mcz, key=lambda c: mcz[c] or 0)
                goal[f"{p}/{k}"] = {
                    "j2k": j2k,
                    "best_mcz": best,
                    "mcz": mcz[best],
                    "factor": (mcz[best] / j2k) if (mcz[best] and j2k) else None,
                    "met": bool(mcz[best] and j2k and mcz[best] >= 1.5 * j2k),
                }
    return {
        "cells": sorted(rows, key=lambda r: (r["protocol"], r["classifier"], r["codec"], r["target_ratio"])),
        "highest_safe_ratio": safe,
        "goal_mcz_vs_j2k_1.5x": goal,
        "rule": f"safe: accuracy >= uncompressed - {MARGIN * 100:g} pp and paired 95% group-bootstrap "
        f"CI of the difference reaches 0, at every reached target up to it (|mean achieved - target| "
        f"<= {REACHED * 100:g}%)",
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
                "Δ = accuracy minus the uncompressed accuracy of the same classifier "
                "on the same images (paired CI)."
            ),
            "",
        ]
    lines += [
        (
            "| protocol | classifier | codec | target CR | achieved CR (mean) | bpp | PSNR dB "
            "| accuracy [95% CI] | Δ pp [95% CI] | precision | recall | specificity | F1 | AUROC "
            "| confusion [[tn,fp],[fn,tp]] | safe |"
        ),
        "|" + "---|" * 16,
    ]
    for r in cells:
        m, ci, d, rate = r["metrics"], r["ci95"], r["vs_original"], r["rate"]
        delta = (
            ""
            if d is None
            else f"{100 * d['difference']:+.1f} [{100 * d['low']:+.1f}, {100 * d['high']:+.1f}]"
        )
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
            f"{_pct(m['accuracy'])} [{_pct(ci['accuracy'][0])}, {_pct(ci['accuracy'][1])}] | {delta} | "
            f"{_pct(m['precision'])} | {_pct(m['recall'])} | {_pct(m['specificity'])} | {_pct(m['f1'])} | "
            f"{m['auroc']:.3f} | {r['confusion']} | {'yes' if r['safe'] else ('' if d is None else 'no')} |"
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
                lines.append(f"| {p} | {k} | {codec} | {'none' if v is None else f'{v:g}:1'} |")
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
        from mcz.downstream import plots

        plots.draw(summary, out / "plots")
    return summary
