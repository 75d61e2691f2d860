"""``mcz bench --hallucination [--quick]``: the realistic decoder's safeguards (work: :mod:`mcz.hallucination.report`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mcz.errors import ExitCode

DEFAULT_OUT = Path("bench/results/hallucination")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add ``--hallucination`` to the ``bench`` parser (``--quick`` and ``--out`` are bench's own)."""
    p.add_argument(
        "--hallucination", action="store_true",
        help="instead of the rate bench: the realistic (GAN) decoder's safeguards against the MSE decoder and "
        "JPEG 2000 at equal bytes - PSNR bound, hallucination-map components, lesion insertion (contrast recovery, "
        "matched-filter AUC), new LoG blobs, classifier flips (McNemar); --quick takes a few minutes "
        "(docs/ganvae.md). Writes OUT/hallucination.json, .md and -maps.png",
    )


def run_hallucination(args: argparse.Namespace) -> ExitCode:
    """Run the safeguards and say whether the PSNR bound held and blobs stayed within the references'."""
    # lazy: the mcz command builds its parser from this module: no numpy (mcz.hallucination.report)
    from mcz.hallucination.report import run

    out = Path(args.out) if getattr(args, "out", None) else DEFAULT_OUT
    results = run(out, quick=bool(args.quick), log=lambda m: print(m, file=sys.stderr))
    s = results["summary"]
    blobs = s["new_blobs_total"]
    print(f"PSNR bound (<= 3 dB below the MSE decoder) met on every image: {s['bound_met_everywhere']} "
          f"(worst {s['worst_psnr_drop_db']:.2f} dB); new blobs MSE {blobs['mse']}, realistic {blobs['realistic']}, "
          f"JPEG 2000 {blobs['j2k']}; report {out / 'hallucination.md'}")
    ok = s["bound_met_everywhere"] and blobs["realistic"] <= min(blobs["mse"], blobs["j2k"])
    return ExitCode.OK if ok else ExitCode.PARTIAL_BATCH
