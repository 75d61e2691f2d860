"""Rate-distortion plots of a bench run: PSNR and SSIM against bpp, one line per codec.

One figure per image set and bit depth of the value range ``R`` (PSNR only
compares within one ``R``), and per metric, saved as PNG and SVG.  Each marker is one operating point
(a setting, or a matched target) averaged over the images of the group: mean bpp
against mean PSNR (dB) or mean SSIM.  Lossless codecs have no finite PSNR and
are left out.  Matplotlib runs on the Agg backend: no display is needed.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mcz.bench.points import Point, image_points

#: Metrics plotted: (Point attribute, axis label).
METRICS = (("psnr", "PSNR (dB), R = declared range"), ("ssim", "SSIM (same R)"))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "set"


def mean_curves(points: Sequence[Point], metric: str) -> dict[str, list[tuple[float, float, int]]]:
    """``codec -> [(mean bpp, mean metric, images), ...]`` by rising bpp, one entry per operating point.

    Parameters
    ----------
    points : sequence of Point
        Per-image points of one group (:func:`mcz.bench.points.image_points`).
    metric : str
        ``"psnr"`` or ``"ssim"``.
    """
    groups: dict[tuple[str, str], list[Point]] = defaultdict(list)
    for p in points:
        if not p.lossless and math.isfinite(getattr(p, metric)):
            groups[(p.codec, p.point)].append(p)
    curves: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
    for (codec, _), ps in groups.items():
        curves[codec].append(
            (statistics.fmean(p.bpp for p in ps), statistics.fmean(getattr(p, metric) for p in ps), len(ps))
        )
    return {codec: sorted(c) for codec, c in curves.items()}


def _figure(curves: dict[str, list[tuple[float, float, int]]], title: str, ylabel: str):
    import matplotlib  # lazy: optional extra mcz[bench] (matplotlib)

    matplotlib.use("Agg")  # files only; never a window
    import matplotlib.pyplot as plt  # lazy: optional extra mcz[bench] (matplotlib)

    fig, ax = plt.subplots(figsize=(7.5, 5.0), dpi=120)
    for codec, curve in curves.items():
        style = "-" if codec.startswith("mcz") else "--"
        ax.plot(
            [c[0] for c in curve],
            [c[1] for c in curve],
            style,
            marker="o",
            markersize=3.5,
            label=codec,
            linewidth=2.0 if codec.startswith("mcz") else 1.3,
        )
    ax.set_xscale("log")
    ax.set_xlabel("bits per pixel (whole file)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


def plot_rd(rows: Sequence[dict[str, Any]], folder: Path) -> list[Path]:
    """Draw the rate-distortion plots of a run's rows.

    Parameters
    ----------
    rows : sequence of dict
        Rows of ``results.csv`` (:func:`mcz.bench.report.read_results`).
    folder : pathlib.Path
        Where the files go (created); existing plots are replaced, being derived from the rows.

    Returns
    -------
    list of pathlib.Path
        ``<set>-<bits>bit-<metric>.png`` and ``.svg`` for every group with a lossy codec.
    """
    import matplotlib.pyplot as plt  # lazy: optional extra mcz[bench] (matplotlib)

    groups: dict[tuple[str, int], list[Point]] = defaultdict(list)
    for p in image_points(rows):
        groups[(p.set, p.bits)].append(p)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for (set_name, bits), points in sorted(groups.items()):
        images = len({p.image_id for p in points})
        for metric, label in METRICS:
            curves = mean_curves(points, metric)
            if not curves:
                continue
            title = (
                f"{set_name}: {bits}-bit range, {images} image(s), mean over images at each operating point"
            )
            fig = _figure(curves, title, label)
            stem = folder / f"{_slug(set_name)}-{bits}bit-{metric}"
            for suffix in (".png", ".svg"):
                fig.savefig(stem.with_suffix(suffix))
                written.append(stem.with_suffix(suffix))
            plt.close(fig)
    return written
