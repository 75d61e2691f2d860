"""Measure hvae-compact through the real codec: bpp and PSNR per quality (latent groups) beside
JPEG 2000 at equal bytes, and progressive decoding of the 3-group files, on Br35H test images.

    nice -n 10 python bench/hvae_eval.py --images 10

Writes bench/results/hvae-eval.json and .md.  Images: the first N of the Br35H test split
(both labels), at their own size (8-bit, R = 255).
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np

import mcz
from mcz.baselines.matching import code_at_size
from mcz.baselines.standard import JPEG2000
from mcz.codec.progressive import decode_progressive
from mcz.datasets.br35h import load_grey, splits
from mcz.io import from_array
from mcz.metrics import psnr

MODEL = "hvae-compact"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("bench/results/hvae-eval"))
    args = parser.parse_args()
    names = splits()["splits"]["test"][: args.images]
    rows = []
    for name in names:
        frame = load_grey(name)
        ref = frame.astype(np.float64)
        for quality in (1, 2, 3):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                data = mcz.encode(frame, bits_stored=8, model=MODEL, quality=quality)
            j2k, j2k_bytes = code_at_size(JPEG2000, from_array(frame, bits_stored=8), len(data))
            row = {"image": name, "quality": quality, "bpp": 8 * len(data) / frame.size,
                   "psnr": psnr(ref, mcz.decode(data), 255.0), "j2k_bpp": 8 * j2k_bytes / frame.size,
                   "j2k_psnr": psnr(ref, j2k[0], 255.0)}
            if quality == 3:
                row["progressive_psnr"] = [psnr(ref, decode_progressive(data, g)[0], 255.0) for g in (1, 2, 3)]
            rows.append(row)
            print(json.dumps(row), flush=True)
    summary = {}
    for quality in (1, 2, 3):
        sel = [r for r in rows if r["quality"] == quality]
        summary[quality] = {k: float(np.mean([r[k] for r in sel])) for k in ("bpp", "psnr", "j2k_bpp", "j2k_psnr")}
    prog = np.mean([r["progressive_psnr"] for r in rows if r["quality"] == 3], axis=0).tolist()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "hvae-eval.json").write_text(json.dumps({"model": MODEL, "images": names, "rows": rows,
                                                         "summary": summary, "progressive_mean_psnr": prog}, indent=2) + "\n")
    lines = [f"# {MODEL} on {len(names)} Br35H test images (8-bit, own size), JPEG 2000 at equal bytes", "",
             "| quality (groups) | bpp | PSNR | JPEG 2000 bpp | JPEG 2000 PSNR |", "|---|---|---|---|---|"]
    for q, s in summary.items():
        lines.append(f"| {q} | {s['bpp']:.3f} | {s['psnr']:.2f} | {s['j2k_bpp']:.3f} | {s['j2k_psnr']:.2f} |")
    lines += ["", "Progressive decoding of the quality-3 files (mean PSNR from the first 1, 2, 3 groups): "
              + ", ".join(f"{v:.2f} dB" for v in prog), ""]
    (args.out / "hvae-eval.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
