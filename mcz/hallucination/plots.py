"""Figures of a hallucination run: original, MSE decode, realistic decode and the H map, per image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mcz.hallucination import maps


def maps_figure(figures: list[tuple[str, np.ndarray, Any, dict]], out: Path) -> Path:
    """One row per image; the H map in units of the image noise sigma, components above 3 sigma outlined."""
    import matplotlib  # lazy: optional extra mcz[bench] (matplotlib)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # lazy: optional extra mcz[bench] (matplotlib)

    fig, axes = plt.subplots(len(figures), 4, figsize=(10, 2.6 * len(figures)), squeeze=False)
    for row, (name, original, coded, record) in zip(axes, figures):
        low, high = np.percentile(original, [0.5, 99.5])
        panels = [("original", original), (f"MSE {record['psnr']['mse']:.1f} dB", coded.pixels["mse"]),
                  (f"realistic {record['psnr']['realistic']:.1f} dB", coded.pixels["realistic"])]
        for ax, (title, image) in zip(row, panels):
            ax.imshow(image, cmap="gray", vmin=low, vmax=high)
            ax.set_title(title, fontsize=8)
        h = (coded.pixels["realistic"] - coded.pixels["mse"]) / record["noise_sigma"]
        im = row[3].imshow(h, cmap="RdBu_r", vmin=-6, vmax=6)
        row[3].contour(np.abs(h) > maps.K_SIGMA, levels=[0.5], colors="k", linewidths=0.4)
        row[3].set_title(f"H / sigma ({record['h_components']} comps)", fontsize=8)
        fig.colorbar(im, ax=row[3], fraction=0.046)
        row[0].set_ylabel(name[:18], fontsize=7)
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=70)
    plt.close(fig)
    _palette(out)
    return out


def _palette(path: Path) -> None:
    """Re-save as a 128-colour palette PNG: the noisy H maps make a full-colour file about 3x larger."""
    from PIL import Image  # lazy: keeps PIL out of import mcz.hallucination.plots

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=128)
    small.save(path, optimize=True)
