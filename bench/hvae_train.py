"""Train the hierarchical VAE codec briefly on Br35H and ship it as ``hvae-compact``.

    nice -n 10 python bench/hvae_train.py --seconds 600 --out checkpoints

Adam on random 128x128 Br35H train-split patches, loss ``bpp + lmbda * 255^2 * MSE``
(uniform noise for the rate, straight-through rounding for the decoder), the
EntropyBottleneck quantiles on CompressAI's aux loss at 10x the rate.  Stops after
``--seconds`` CPU seconds, finalises (integer medians, CDF tables) and exports fp16
weights with a manifest entry (steps, CPU seconds, data, estimated validation bpp/PSNR).
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from mcz.codec.hvae import HierarchicalVAE
from mcz.codec.registry import ModelSpec
from mcz.training.bank import CentreCrops, RandomPatches
from mcz.training.export import export_weights
from mcz.training.sources import describe, load_bank

SPEC = ModelSpec(
    id="hvae-compact", family="hvae",
    config={"widths": [32, 48, 64], "latents": [16, 8, 4], "lmbda": 0.0067, "peak": 255.0},
    default_quality=3, quality_range=(1, 3),
    description="Hierarchical VAE (3 latent groups /16 /8 /4, progressive decoding), 8-bit; research model",
)


@torch.no_grad()
def estimate(model: HierarchicalVAE, crops: torch.Tensor) -> dict:
    """Estimated bpp (likelihoods) and PSNR of rounded latents on validation crops, also from 1 and 2 groups."""
    model.eval()
    out = model(crops)
    bpp = sum(-torch.log2(lik).sum() for lik in out["likelihoods"]) / crops.numel()

    def db(x_hat: torch.Tensor) -> float:
        return float(-10 * torch.log10(torch.mean((x_hat.clamp(0, 1) - crops) ** 2)))

    coarse = [db(model.top_down(out["z1"], [None, None])), db(model.top_down(out["z1"], [out["residuals"][0], None]))]
    model.train()
    return {"bpp_estimate": float(bpp), "psnr": db(out["x_hat"]), "psnr_groups_1_2": coarse}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--train-images", type=int, default=600)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--init", default=None, help="start from this installed model's weights (e.g. hvae-compact)")
    parser.add_argument("--progressive-weight", type=float, default=0.0,
                        help="weight of the coarse decodes' distortion (z1; z1+z2) in the loss")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    patches = RandomPatches(load_bank("br35h", "train", args.train_images), 128, 10**6, seed=0)
    val = CentreCrops(load_bank("br35h", "val", 32), 128)
    val_crops = torch.stack([val[i] for i in range(len(val))])
    model = HierarchicalVAE(**SPEC.config)
    if args.init is not None:
        from mcz.codec import engine

        model.load_state_dict(engine.load_codec(args.init).model.state_dict())
    model.train()
    aux = [p for n, p in model.named_parameters() if n.endswith("quantiles")]
    main_params = [p for n, p in model.named_parameters() if not n.endswith("quantiles")]
    opt = torch.optim.Adam([{"params": main_params, "lr": args.lr}, {"params": aux, "lr": 10 * args.lr}])
    cpu0, step, history, skipped = time.process_time(), 0, [], 0
    best, best_score, best_step = copy.deepcopy(model.state_dict()), -float("inf"), 0
    while time.process_time() - cpu0 < args.seconds:
        batch = torch.stack([patches[step * args.batch_size + i] for i in range(args.batch_size)])
        out = model.rd_loss(batch, args.progressive_weight)
        step += 1
        if not torch.isfinite(out["loss"]):  # a first run diverged at step 1,900 (lr 1e-3): skip, never apply
            skipped += 1
            continue
        opt.zero_grad()
        out["loss"].backward()
        torch.nn.utils.clip_grad_norm_(main_params, 1.0)
        opt.step()
        if step % 100 == 0:
            row = {"step": step, "bpp": float(out["bpp"]), "psnr": float(-10 * torch.log10(out["mse"])),
                   **{f"val_{k}": v for k, v in estimate(model, val_crops).items()}}
            history.append(row)
            print(json.dumps(row), flush=True)
            # Keep the weights with the best validation RD cost (the run's own objective).
            lam = SPEC.config["lmbda"] * 255**2
            coarse = np.mean([10 ** (-p / 10) for p in row["val_psnr_groups_1_2"]])
            score = -(row["val_bpp_estimate"] + lam * 10 ** (-row["val_psnr"] / 10) + args.progressive_weight * lam * coarse)
            if np.isfinite(score) and score > best_score:
                best, best_score, best_step = copy.deepcopy(model.state_dict()), score, step
    cpu = time.process_time() - cpu0
    model.load_state_dict(best)
    print(f"kept the weights of step {best_step} (best validation RD cost); {skipped} non-finite steps skipped")
    model.eval()
    model.finalise()
    final = estimate(model, val_crops)
    print("final", final, "steps", step, "cpu", round(cpu))
    record = {"steps": step, "kept_step": best_step, "skipped_steps": skipped, "train_seconds": round(cpu, 1), "history": history, "validation_estimate": final}
    Path("bench/results").mkdir(parents=True, exist_ok=True)
    Path("bench/results/hvae-train.json").write_text(json.dumps(record, indent=2) + "\n")
    if args.out is not None:
        info = describe("br35h")
        if args.init is not None:  # provenance counts both stages
            from mcz.codec import zoo

            first = zoo.find_checkpoint(args.init).info
            step, cpu = step + int(first["steps"]), cpu + float(first["train_seconds"])
        provenance = {
            "data": "br35h", "steps": step, "kept_step": best_step, "train_seconds": round(cpu, 1), "modality": info["modality"],
            "bits_stored": 8, "split": info["split"], "licence": info["licence"],
            "machine": f"{platform.machine()} 1 thread, niced, shared 2-CPU machine; torch {torch.__version__}",
            "recipe": {"batch_size": args.batch_size, "lr": args.lr, "init": args.init,
                       "progressive_weight": args.progressive_weight, "patch": 128, "loss": "bpp + lmbda*255^2*MSE",
                       "train_images": args.train_images, "seed": 0},
            "validation_estimate": final,
        }
        print(export_weights(model, SPEC, args.out, provenance)["file"])


if __name__ == "__main__":
    main()
