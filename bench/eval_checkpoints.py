"""Measure every shipped checkpoint on its data set's TEST split, beside JPEG 2000 at the same size.

Usage:  python bench/eval_checkpoints.py [--limit N] [--out bench/results/checkpoints]

For each manifest entry and each quality in --qualities (latent bits), every test
image (Br35H test groups for 8-bit models, CT/MR test volumes for cae-compact-ctmr)
is encoded and decoded through the real codec; JPEG 2000 (OpenJPEG) codes the same
image at the same byte budget.  Writes <out>.json and <out>.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from mcz.codec import engine, zoo
from mcz.training.evaluate import evaluate
from mcz.training.sources import evaluation_images

#: Which data set each shipped model is measured on (its training data's test split).
DATA_OF = {"cae-seed": "br35h", "cae-compact": "br35h", "cae-compact-ctmr": "ctmr",
           "hyperprior-compact": "br35h", "factorized-compact": "br35h", "hyperprior-compact-ctmr": "ctmr"}


def run(limit: int | None, qualities: list[int], models: list[str] | None = None) -> list[dict]:
    """One row per (model, quality)."""
    rows = []
    for model_id in sorted(zoo.available_ids()):
        data = DATA_OF.get(model_id)
        if data is None or (models and model_id not in models):
            continue
        codec = engine.load_codec(model_id)
        images = evaluation_images(data, "test", limit)
        for quality in qualities:
            if not codec.spec.quality_range[0] <= quality <= codec.spec.quality_range[1]:
                continue
            t0 = time.time()
            scores = evaluate(codec, images, quality=quality)
            rows.append({"model": model_id, "data": data, "split": "test", "quality": quality,
                         **scores.to_dict(), "seconds": round(time.time() - t0, 1)})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def markdown(rows: list[dict]) -> str:
    """A table: mcz beside JPEG 2000 at the same size, per model and quality."""
    lines = ["| model | data (test) | images | quality | bpp | CR | PSNR dB | SSIM | JPEG 2000 PSNR dB | JPEG 2000 SSIM | ΔPSNR |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['data']} | {r['images']} | {r['quality']} | {r['bpp']:.3f} | "
                     f"{r['compression_ratio']:.1f}:1 | {r['psnr']:.2f} | {r['ssim']:.4f} | {r['jpeg2000_psnr']:.2f} | "
                     f"{r['jpeg2000_ssim']:.4f} | {r['psnr'] - r['jpeg2000_psnr']:+.2f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Evaluate and write the JSON rows and the markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="images (or volumes) per test split; default all")
    parser.add_argument("--qualities", default="3,4,6,8",
                        help="qualities (cae: latent bits; learned: rate levels) to measure (default %(default)s)")
    parser.add_argument("--models", help="comma-separated model ids (default: every shipped model)")
    parser.add_argument("--out", type=Path, default=Path("bench/results/checkpoints"))
    args = parser.parse_args()
    rows = run(args.limit, [int(q) for q in args.qualities.split(",")], args.models.split(",") if args.models else None)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(markdown(rows))
    print(markdown(rows))


if __name__ == "__main__":
    main()
