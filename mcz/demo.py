"""``mcz demo``: code a bundled real DICOM with mcz and with JPEG 2000 at the same size.

Prints bpp, compression ratio (against the stored bit depth), PSNR and SSIM for
both, and writes a side-by-side PNG (original, mcz, JPEG 2000, error maps).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import mcz
from mcz import metrics
from mcz.baselines.matching import code_at_size
from mcz.baselines.standard import JPEG2000
from mcz.errors import InputNotFoundError, require
from mcz.fsutil import atomic_path
from mcz.io import MedicalImage, read_image

#: Bundled images tried in order: pydicom-data's head CT, then pydicom's own small CT.
DEFAULT_IMAGES = ("693_UNCR.dcm", "CT_small.dcm")


@dataclass(frozen=True)
class Row:
    """One codec's result on the demo image."""

    codec: str
    file_bytes: int
    bpp: float
    compression_ratio: float
    psnr: float
    psnr_own_range: float
    ssim: float


def bundled_image() -> Path:
    """The first of :data:`DEFAULT_IMAGES` installed locally (never downloads)."""
    from pydicom.data import get_testdata_file  # lazy: keeps pydicom out of import mcz.demo

    for name in DEFAULT_IMAGES:
        path = get_testdata_file(name, download=False)
        if path:
            return Path(path)
    raise InputNotFoundError(f"none of {DEFAULT_IMAGES} is installed; pip install pydicom-data==1.0.0")


def _row(name: str, image: MedicalImage, decoded: np.ndarray, size: int) -> Row:
    it = image.intensity
    own = float(image.pixels.max()) - float(image.pixels.min())
    return Row(
        codec=name,
        file_bytes=size,
        bpp=metrics.bpp(size, image.pixels.size),
        compression_ratio=metrics.compression_ratio(size, image.pixels.size, it.bits_stored, it.dtype),
        psnr=metrics.psnr(image.pixels, decoded, it.data_range),
        psnr_own_range=metrics.psnr(image.pixels, decoded, own or 1.0),
        ssim=metrics.ssim(image.pixels, decoded, it.data_range),
    )


def run(image_path: Path | None = None, model: str | None = None, out: Path = Path("mcz-demo.png"),
        overwrite: bool = False, notes: list[str] | None = None) -> list[Row]:
    """Run the demo and write the figure; returns the table rows (mcz first).

    Warnings of the encoder (e.g. the radiology ratio guideline) are appended to ``notes``.
    """
    notes = [] if notes is None else notes

    path = image_path or bundled_image()
    image = read_image(path)
    # No DICOM header in the file: JPEG 2000 is measured as a bare codestream too.
    # The ratio guard still sees the source header (img.dicom) and may warn.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = mcz.encode(image, model=model, metadata="none")
    notes.extend(str(w.message) for w in caught)
    decoded = mcz.decode_image(data).pixels
    j2k, j2k_bytes = code_at_size(JPEG2000, image, len(data))
    rows = [_row(f"mcz {mcz.read_info(data).header.codec_id}", image, decoded, len(data)),
            _row("JPEG 2000 (OpenJPEG)", image, j2k, j2k_bytes)]
    figure(image, decoded, j2k, rows, out, overwrite)
    return rows


def figure(image: MedicalImage, decoded: np.ndarray, j2k: np.ndarray, rows: list[Row], out: Path,
           overwrite: bool) -> Path:
    """Original | mcz | JPEG 2000 on top, absolute error maps below (first frame)."""
    require("matplotlib", "bench")
    import matplotlib  # lazy: optional extra mcz[bench] (matplotlib)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # lazy: optional extra mcz[bench] (matplotlib)

    ref = image.pixels[0].astype(np.float64)
    lo, hi = np.percentile(ref, [0.5, 99.5])
    errors = [np.abs(x[0].astype(np.float64) - ref) for x in (decoded, j2k)]
    emax = max(float(e.max()) for e in errors) or 1.0
    fig, axes = plt.subplots(2, 3, figsize=(13, 9), layout="constrained")
    panels = [("original", ref), (_title(rows[0]), decoded[0]), (_title(rows[1]), j2k[0])]
    for ax, (title, pixels) in zip(axes[0], panels):
        ax.imshow(pixels, cmap="gray", vmin=lo, vmax=hi)
        ax.set_title(title, fontsize=9)
    axes[1][0].axis("off")
    for ax, err, row in zip(axes[1][1:], errors, rows):
        shown = ax.imshow(err, cmap="magma", vmin=0, vmax=emax)
        ax.set_title(f"|error| {row.codec}", fontsize=9)
    fig.colorbar(shown, ax=axes[1][2], shrink=0.9, label="absolute error (stored units)")
    axes[1][0].text(0.0, 0.5, _caption(image, rows), fontsize=9, va="center", family="monospace")
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    with atomic_path(out, overwrite=overwrite) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return out


def _caption(image: MedicalImage, rows: list[Row]) -> str:
    it = image.intensity
    lines = [f"{image.frames} x {image.rows} x {image.columns}, {it.bits_stored}-bit "
             f"{'signed' if it.signed else 'unsigned'}", f"PSNR with R = {it.data_range:g}", ""]
    lines += [f"{r.codec[:22]:<22} {r.bpp:.3f} bpp {r.psnr:.2f} dB" for r in rows]
    return "\n".join(lines)


def _title(row: Row) -> str:
    return f"{row.codec}\n{row.bpp:.3f} bpp, {row.compression_ratio:.1f}:1, {row.psnr:.2f} dB, SSIM {row.ssim:.4f}"
