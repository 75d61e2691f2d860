"""Quick rate-distortion check of a wavelet model against JPEG 2000 (and AVIF) on unit frames.

Used while fitting (validation splits only); the committed benchmark numbers come from `mcz bench`.
bpp here = 8 * (tile payload + side bytes + --overhead) / pixels; PSNR against R = 2**bits - 1.

    python bench/wavelet_eval.py [--model CHECKPOINT.safetensors] [--sets br35h:val,ctmr:val] [--avif]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")

from mcz.baselines import adapters as ad  # noqa: E402
from mcz.bench.bdrate import bd_rate  # noqa: E402
from mcz.codec.wavelet import frames as fr, tiles  # noqa: E402
from mcz.codec.wavelet.model import WaveletModel  # noqa: E402

CACHE = Path.home() / ".cache" / "mcz" / "wavelet_eval_refs.json"


def load_frames(spec: str, limit: int) -> list[fr.UnitFrame]:
    out = []
    for part in spec.split(","):
        name, _, split = part.partition(":")
        if name == "br35h":
            out += fr.br35h_frames(split, limit)
        else:
            out += fr.ctmr_tuning_frames() if split == "tuning" else fr.ctmr_frames(split, 4)
    return out


def mcz_curve(model: WaveletModel, f: fr.UnitFrame, overhead: int) -> tuple[list, list, float]:
    t = model.tables()
    bits = int(round(np.log2(f.peak + 1)))
    rates, psnrs, times = [], [], []
    for q in range(4 * bits - 28, 4 * bits + 12, 3):
        t0 = time.perf_counter()
        chunk, rec, _ = tiles.encode_tile(t, f.unit, q, f.range_per_unit, 0, 0, span=int(round(f.high - f.low)))
        times.append(time.perf_counter() - t0)
        rates.append(8 * (len(chunk.payload) + len(chunk.side) + overhead) / f.pixels.size)
        psnrs.append(f.psnr(f.to_stored(rec)))
    return rates, psnrs, float(np.median(times))


def ref_curve(f: fr.UnitFrame, codec: str, cache: dict) -> tuple[list, list]:
    key = f"{codec}:{f.name}"
    if key in cache:
        return cache[key]
    bits = int(round(np.log2(f.peak + 1)))
    offset = f.low if f.low < 0 else 0
    frame = (f.pixels - offset).astype(np.uint16 if bits > 8 else np.uint8)
    rates, psnrs = [], []
    settings = np.arange(24, 24 + 6 * bits, 3.0) if codec == "j2k" else range(5, 100, 8)
    for s in settings:
        data = ad.j2k_encode(frame, bits, s) if codec == "j2k" else ad.avif_encode(frame, bits, s)
        dec = (ad.j2k_decode(data, bits) if codec == "j2k" else ad.avif_decode(data, bits)).astype(np.float64)
        rates.append(8 * len(data) / f.pixels.size)
        psnrs.append(f.psnr(dec + offset))
    cache[key] = (rates, psnrs)
    return rates, psnrs


def _finite(r, p):
    keep = [i for i in range(len(p)) if np.isfinite(p[i])]
    order = sorted(keep, key=lambda i: r[i])
    rates, psnrs = [], []
    for i in order:  # keep a strictly increasing curve (encoders saturate at high settings)
        if not psnrs or p[i] > psnrs[-1] + 1e-6:
            rates.append(r[i])
            psnrs.append(p[i])
    return rates, psnrs


def evaluate(model: WaveletModel, frames: list, overhead: int = 60, avif: bool = False, log=print) -> dict:
    cache = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    results = {"j2k": [], "avif": []}
    for f in frames:
        r, p, sec = mcz_curve(model, f, overhead)
        line = f"{f.name:48s} enc {sec * 1000:5.0f} ms"
        for codec in ("j2k", "avif") if avif else ("j2k",):
            rr, pp = ref_curve(f, codec, cache)
            # the band 5:1-25:1 of the stored width
            width = 8 if f.peak <= 255 else 16
            bd = bd_rate(*_finite(r, p), *_finite(rr, pp), rate_band=(width / 25, width / 5))
            results[codec].append(bd.percent)
            line += f"  BD vs {codec} {bd.percent:+7.1f} %"
        log(line)
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    CACHE.write_text(json.dumps(cache))
    summary = {k: float(np.nanmean(v)) for k, v in results.items() if v}
    log("mean BD-rate (5:1-25:1 band): " + ", ".join(f"vs {k} {v:+.1f} %" for k, v in summary.items()))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="safetensors of a WaveletModel (default: the untrained model)")
    parser.add_argument("--sets", default="br35h:val,ctmr:val",
                        help="comma-separated br35h:SPLIT, ctmr:SPLIT or ctmr:tuning (see frames.ctmr_tuning_frames)")
    parser.add_argument("--limit", type=int, default=12)
    parser.add_argument("--overhead", type=int, default=60, help="container bytes added per image")
    parser.add_argument("--avif", action="store_true")
    args = parser.parse_args()
    model = WaveletModel()
    if args.model:
        from safetensors.torch import load_file

        model.load_state_dict(load_file(args.model))
    evaluate(model, load_frames(args.sets, args.limit), args.overhead, args.avif)


if __name__ == "__main__":
    main()
