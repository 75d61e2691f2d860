"""Plots of a downstream run (matplotlib, Agg, small PNGs).

* ``accuracy-<protocol>-<classifier>.png``: accuracy (95 % group-bootstrap CI as
  bars) against the mean achieved compression ratio, one line per codec, the
  uncompressed accuracy and its 1 pp band as horizontal lines;
* ``heatmap-<protocol>-<classifier>.png``: accuracy, codec x target ratio;
* ``confusion-<protocol>-<classifier>.png``: confusion matrices of each codec at
  up to three target ratios (lowest, middle, highest tested).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

DPI = 80


def _plt():
    import matplotlib  # lazy: optional extra mcz[bench] (matplotlib)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # lazy: optional extra mcz[bench] (matplotlib)

    return plt


def _by_panel(summary: dict) -> dict:
    panels: dict = defaultdict(lambda: defaultdict(list))
    for r in summary["cells"]:
        panels[(r["protocol"], r["classifier"])][r["codec"]].append(r)
    return panels


def _baseline(summary: dict, classifier: str) -> float | None:
    for r in summary["cells"]:
        if r["codec"] == "original" and r["classifier"] == classifier and r["protocol"] == "a":
            return r["metrics"]["accuracy"]
    return None


def draw(summary: dict, folder: Path) -> list[Path]:
    plt = _plt()

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for (protocol, classifier), codecs in sorted(_by_panel(summary).items()):
        lossy = {
            c: sorted(rs, key=lambda r: r["target_ratio"]) for c, rs in codecs.items() if c != "original"
        }
        if not lossy:
            continue
        base = _baseline(summary, classifier)
        fig, ax = plt.subplots(figsize=(6, 4), dpi=DPI)
        for codec, rs in lossy.items():
            x = [r["rate"]["achieved_ratio_mean"] for r in rs]
            y = [100 * r["metrics"]["accuracy"] for r in rs]
            err = [
                [100 * (r["metrics"]["accuracy"] - r["ci95"]["accuracy"][0]) for r in rs],
                [100 * (r["ci95"]["accuracy"][1] - r["metrics"]["accuracy"]) for r in rs],
            ]
            ax.errorbar(
                x,
                y,
                yerr=err,
                marker="o",
                ms=3.5,
                capsize=2,
                lw=2 if codec.startswith("mcz") else 1.2,
                ls="-" if codec.startswith("mcz") else "--",
                label=codec,
            )
        if base is not None:
            ax.axhline(100 * base, color="k", lw=0.8, label="uncompressed")
            ax.axhline(100 * base - 1, color="k", lw=0.8, ls=":", label="uncompressed - 1 pp")
        ax.set_xscale("log")
        ax.set_xlabel("compression ratio (mean achieved, whole file vs 8-bit raw)")
        ax.set_ylabel("accuracy (%)")
        ax.set_title(f"protocol {protocol}, {classifier}", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = folder / f"accuracy-{protocol}-{classifier}.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)

        ratios = sorted({r["target_ratio"] for rs in lossy.values() for r in rs})
        names = list(lossy)
        grid = np.full((len(names), len(ratios)), np.nan)
        for i, c in enumerate(names):
            for r in lossy[c]:
                grid[i, ratios.index(r["target_ratio"])] = 100 * r["metrics"]["accuracy"]
        fig, ax = plt.subplots(figsize=(1.2 + 0.8 * len(ratios), 1.0 + 0.5 * len(names)), dpi=DPI)
        im = ax.imshow(grid, cmap="viridis", aspect="auto")
        for (i, j), v in np.ndenumerate(grid):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=7, color="w")
        ax.set_xticks(range(len(ratios)), [f"{r:g}" for r in ratios], fontsize=7)
        ax.set_yticks(range(len(names)), names, fontsize=7)
        ax.set_xlabel("target compression ratio", fontsize=8)
        ax.set_title(f"accuracy (%), protocol {protocol}, {classifier}", fontsize=8)
        fig.colorbar(im, ax=ax)
        fig.tight_layout()
        path = folder / f"heatmap-{protocol}-{classifier}.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)

        chosen = sorted({ratios[0], ratios[len(ratios) // 2], ratios[-1]})
        fig, axes = plt.subplots(
            len(names), len(chosen), figsize=(1.9 * len(chosen), 1.8 * len(names)), dpi=DPI, squeeze=False
        )
        for i, c in enumerate(names):
            for j, t in enumerate(chosen):
                ax = axes[i][j]
                ax.set_xticks([])
                ax.set_yticks([])
                hit = [r for r in lossy[c] if r["target_ratio"] == t]
                if not hit:
                    continue
                cm = np.array(hit[0]["confusion"])
                ax.imshow(cm, cmap="Blues")
                for (a, b), v in np.ndenumerate(cm):
                    ax.text(b, a, str(v), ha="center", va="center", fontsize=8)
                ax.set_title(f"{c} {t:g}:1", fontsize=7)
        fig.suptitle(f"confusion [[tn, fp], [fn, tp]], protocol {protocol}, {classifier}", fontsize=8)
        fig.tight_layout()
        path = folder / f"confusion-{protocol}-{classifier}.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written
