"""``mcz bench --hallucination``: the four safeguards of docs/ganvae.md, as results, a report and plots.

1. PSNR bound: PSNR(realistic) >= PSNR(mse) - 3 dB at the same latent, per image.
2. Hallucination map ``H = realistic - mse``: components above 3 sigma (image noise) and >= 9 px;
   and, so that JPEG 2000 is on the same scale, the components of each decoder's error map.
3. Lesions: discs of 3-15 px at 1-5 % contrast inserted into lesion-free (``no`` tumour) Br35H test
   images; contrast recovery and matched-filter AUC per decoder; on the unmodified images, LoG
   blobs present after decoding and absent before.
4. Downstream: a small CNN trained on Br35H originals (train split); McNemar flips between the
   originals and each decoder on test images.

Images: Br35H test split (lesion-free ``no`` images for 1-3, both labels for 4), resized to
256 x 256 (Lanczos), and the bundled head CT (pydicom-data ``693_UNCR.dcm``, 12-bit) for 1-2.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mcz.baselines.contract import coding_bits, to_unsigned
from mcz.codec import engine
from mcz.codec.realistic import realistic_id
from mcz.datasets.br35h import load_grey
from mcz.demo import bundled_image
from mcz.downstream.data import resize_grey, samples, subset
from mcz.fsutil import atomic_write_bytes
from mcz.hallucination import lesions, maps, mcnemar, plots
from mcz.hallucination.decoders import BASE_MODEL, NAMES, code_frame
from mcz.io import read_image
from mcz.metrics import psnr

#: The PSNR bound (dB) the realistic decoder must meet against the MSE decoder.
BOUND_DB = 3.0
SIZE = 256


@dataclass(frozen=True)
class Preset:
    """How much a run does."""

    images: int          # lesion-free Br35H test images (maps, blobs, lesions)
    lesions: int         # discs per image
    qualities: tuple[int, ...]
    classifier_train: int  # Br35H train images for the classifier
    classifier_test: int   # Br35H test images for McNemar
    epochs: int


QUICK = Preset(images=4, lesions=12, qualities=(8,), classifier_train=500, classifier_test=40, epochs=6)
FULL = Preset(images=20, lesions=12, qualities=(4, 8, 12), classifier_train=2101, classifier_test=300, epochs=10)


def _lesion_free(count: int) -> list[tuple[str, np.ndarray]]:
    items = [s for s in samples("test") if s.label == 0]
    # One image per near-duplicate group (duplicates would count one anatomy twice), in a seeded group order.
    seen, out = set(), []
    for s in subset(items, min(len(items), 4 * count)):
        if s.group not in seen:
            seen.add(s.group)
            out.append((s.name, resize_grey(load_grey(s.name), SIZE)))
    return out[:count]


def _demo_ct() -> tuple[str, np.ndarray, int]:
    image = read_image(bundled_image())
    frame = image.pixels[0]
    # The CT is signed (HU); code its unsigned stored domain as the benchmark contract does.
    unsigned, _ = to_unsigned(frame, image.intensity)
    return bundled_image().name, unsigned, coding_bits(image.intensity)


def image_safeguards(name: str, frame: np.ndarray, bits: int, quality: int) -> tuple[dict[str, Any], Any]:
    """PSNR bound, component counts and new blobs of one frame at one quality; also returns the decodes."""
    coded = code_frame(frame, bits, quality)
    peak = 2.0**bits - 1
    original = frame.astype(np.float64)
    sigma = maps.noise_sigma(original)
    value_range = lesions.display_range(original)
    row: dict[str, Any] = {"image": name, "bits": bits, "quality": quality, "noise_sigma": sigma,
                           "bytes": coded.nbytes, "bpp": {k: 8 * v / frame.size for k, v in coded.nbytes.items()}}
    row["psnr"] = {k: psnr(original, coded.pixels[k], peak) for k in NAMES}
    row["psnr_drop"] = row["psnr"]["mse"] - row["psnr"]["realistic"]
    row["meets_bound"] = bool(row["psnr_drop"] <= BOUND_DB)
    row["h_components"] = maps.count_components(coded.pixels["realistic"] - coded.pixels["mse"], sigma)
    row["error_components"] = {k: maps.count_components(coded.pixels[k] - original, sigma) for k in NAMES}
    row["new_blobs"] = {k: lesions.new_blobs(original, coded.pixels[k], value_range) for k in NAMES}
    return row, coded


def lesion_study(frames: list[tuple[str, np.ndarray]], count: int, quality: int, seed: int = 0) -> dict[str, Any]:
    """Contrast recovery and matched-filter AUC per decoder (and for the uncoded images, as the ceiling)."""
    rng = np.random.default_rng(seed)
    decoders = ("original", *NAMES)
    recovery: dict[str, list[float]] = {k: [] for k in decoders}
    pos: dict[str, list[float]] = {k: [] for k in decoders}
    neg: dict[str, list[float]] = {k: [] for k in decoders}
    by_contrast: dict[str, dict[str, list[float]]] = {}
    for _, frame in frames:
        clean = frame.astype(np.float64)
        value_range = lesions.display_range(clean)
        placed = lesions.place_lesions(clean, rng, count)
        lesioned = clean
        for lesion in placed:
            lesioned = lesions.insert_disc(lesioned, lesion, value_range)
        stored = np.clip(np.rint(lesioned), 0, 255).astype(np.uint8)
        with_l = {"original": stored.astype(np.float64), **code_frame(stored, 8, quality).pixels}
        without = {"original": clean, **code_frame(frame, 8, quality).pixels}
        for lesion in placed:
            for k in decoders:
                cr = lesions.contrast_recovery(with_l[k], without[k], lesion, value_range)
                recovery[k].append(cr)
                by_contrast.setdefault(f"{abs(lesion.contrast):.2f}", {d: [] for d in decoders})[k].append(cr)
                pos[k].append(lesions.matched_filter_score(with_l[k], lesion))
                neg[k].append(lesions.matched_filter_score(without[k], lesion))
    return {
        "images": len(frames), "lesions": len(recovery["original"]), "quality": quality,
        "diameters_px": list(lesions.DIAMETERS), "contrasts": list(lesions.CONTRASTS),
        "contrast_recovery": {k: float(np.mean(v)) for k, v in recovery.items()},
        "contrast_recovery_by_contrast": {c: {k: float(np.mean(v)) for k, v in d.items()} for c, d in by_contrast.items()},
        "matched_filter_auc": {k: lesions.auc(pos[k], neg[k]) for k in decoders},
    }


def downstream(preset: Preset, quality: int, log: Callable[[str], None]) -> dict[str, Any]:
    """McNemar flips of a small CNN (trained on originals) between originals and each decoder."""
    from mcz.downstream import protocols  # lazy: keeps torch out of import mcz.hallucination.report

    train = subset(samples("train"), preset.classifier_train)
    test = subset(samples("test"), preset.classifier_test)
    config = protocols.TrainConfig(classifier="smallcnn", resolution=64, epochs=preset.epochs)
    frames = np.stack([resize_grey(load_grey(s.name), SIZE) for s in train])
    model = protocols.train(config, [protocols.prepare(frames, 64)], [s.label for s in train], progress=log)
    originals = np.stack([resize_grey(load_grey(s.name), SIZE) for s in test])
    decoded: dict[str, list[np.ndarray]] = {k: [] for k in NAMES}
    for frame in originals:
        coded = code_frame(frame, 8, quality)
        for k in NAMES:
            decoded[k].append(np.clip(np.rint(coded.pixels[k]), 0, 255).astype(np.uint8))
    labels = np.asarray([s.label for s in test])

    def predicted(stack: np.ndarray) -> np.ndarray:
        return (protocols.predict(model, protocols.prepare(stack, 64)) >= 0.5).astype(int)

    base = predicted(originals)
    return {"classifier": "smallcnn (64 px, trained from scratch on Br35H originals)", "train_images": len(train),
            "test_images": len(test), "quality": quality, "epochs": preset.epochs,
            "decoders": {k: mcnemar.flips(labels, base, predicted(np.stack(v))) for k, v in decoded.items()}}


def run(out: Path, quick: bool = True, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run every safeguard and write ``hallucination.json``, ``hallucination.md`` and the plots into ``out``."""
    preset = QUICK if quick else FULL
    start = time.perf_counter()
    base = engine.load_codec(BASE_MODEL)
    decoder_id = realistic_id(BASE_MODEL, base.checkpoint_sha256)
    frames = _lesion_free(preset.images)
    ct_name, ct_frame, ct_bits = _demo_ct()
    figures: list[tuple[str, np.ndarray, Any, dict[str, Any]]]  # (name, frame, coded, row)
    rows, figures = [], []
    for quality in preset.qualities:
        for name, frame, bits in [(n, f, 8) for n, f in frames] + [(ct_name, ct_frame, ct_bits)]:
            row, coded = image_safeguards(name, frame, bits, quality)
            rows.append(row)
            log(f"quality {quality} {name}: PSNR mse {row['psnr']['mse']:.2f} realistic {row['psnr']['realistic']:.2f} "
                f"j2k {row['psnr']['j2k']:.2f} dB; H components {row['h_components']}; new blobs {row['new_blobs']}")
            if quality == preset.qualities[len(preset.qualities) // 2] and len(figures) < 3 and (name == ct_name or len(figures) < 2):
                figures.append((name, frame.astype(np.float64), coded, row))
    mid = preset.qualities[len(preset.qualities) // 2]
    log("lesion study ...")
    study = lesion_study(frames, preset.lesions, mid)
    log("downstream classifier ...")
    flips = downstream(preset, mid, log)
    results = {"preset": "quick" if quick else "full", "base_model": BASE_MODEL, "realistic_decoder": decoder_id,
               "bound_db": BOUND_DB, "rows": rows, "lesions": study, "downstream": flips,
               "summary": summarise(rows), "seconds": round(time.perf_counter() - start, 1)}
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / "hallucination.json", (json.dumps(results, indent=2) + "\n").encode(), overwrite=True)
    plots.maps_figure(figures, out / "hallucination-maps.png")
    atomic_write_bytes(out / "hallucination.md", markdown(results).encode(), overwrite=True)
    return results


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals over images: bound met everywhere, components and new blobs per decoder."""
    return {
        "images": len(rows),
        "bound_met_everywhere": all(r["meets_bound"] for r in rows),
        "worst_psnr_drop_db": max(r["psnr_drop"] for r in rows),
        "mean_psnr": {k: float(np.mean([r["psnr"][k] for r in rows])) for k in NAMES},
        "mean_bpp": {k: float(np.mean([r["bpp"][k] for r in rows])) for k in NAMES},
        "h_components_total": int(sum(r["h_components"] for r in rows)),
        "error_components_total": {k: int(sum(r["error_components"][k] for r in rows)) for k in NAMES},
        "new_blobs_total": {k: int(sum(r["new_blobs"][k] for r in rows)) for k in NAMES},
    }


def markdown(results: dict[str, Any]) -> str:
    """The human-readable report."""
    s, les, ds = results["summary"], results["lesions"], results["downstream"]
    lines = [
        f"# Hallucination safeguards ({results['preset']} preset)", "",
        f"Base model `{results['base_model']}`; realistic decoder `{results['realistic_decoder']}`; JPEG 2000 "
        "(OpenJPEG) at the largest codestream within the `.mcz` file's bytes. Generated by "
        f"`mcz bench --hallucination{' --quick' if results['preset'] == 'quick' else ''}` in {results['seconds']} s.", "",
        f"## PSNR bound and hallucination maps ({s['images']} image-rate pairs)", "",
        "| image | quality | bpp mcz / J2K | PSNR MSE | PSNR realistic | PSNR J2K | drop | H comps | error comps MSE / real / J2K | new blobs MSE / real / J2K |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["rows"]:
        e, b = r["error_components"], r["new_blobs"]
        lines.append(f"| {r['image']} | {r['quality']} | {r['bpp']['mse']:.3f} / {r['bpp']['j2k']:.3f} | "
                     f"{r['psnr']['mse']:.2f} | {r['psnr']['realistic']:.2f} | {r['psnr']['j2k']:.2f} | "
                     f"{r['psnr_drop']:.2f} | {r['h_components']} | {e['mse']} / {e['realistic']} / {e['j2k']} | "
                     f"{b['mse']} / {b['realistic']} / {b['j2k']} |")
    lines += ["", f"Bound (drop <= {results['bound_db']} dB) met on every image: **{s['bound_met_everywhere']}** "
              f"(worst drop {s['worst_psnr_drop_db']:.2f} dB). H-map components in all: {s['h_components_total']}. "
              f"New LoG blobs in all: MSE {s['new_blobs_total']['mse']}, realistic {s['new_blobs_total']['realistic']}, "
              f"JPEG 2000 {s['new_blobs_total']['j2k']}.", "",
              f"## Lesion insertion ({les['lesions']} discs in {les['images']} lesion-free images, quality {les['quality']})", "",
              "| decoder | contrast recovery | matched-filter AUC |", "|---|---|---|"]
    for k in les["contrast_recovery"]:
        lines.append(f"| {k} | {les['contrast_recovery'][k]:.3f} | {les['matched_filter_auc'][k]:.3f} |")
    lines += ["", "Contrast recovery by inserted contrast:", "",
              "| contrast | " + " | ".join(les["contrast_recovery"]) + " |",
              "|---|" + "---|" * len(les["contrast_recovery"])]
    for c, d in sorted(les["contrast_recovery_by_contrast"].items()):
        lines.append(f"| {c} | " + " | ".join(f"{v:.3f}" for v in d.values()) + " |")
    lines += ["", f"## Downstream ({ds['classifier']}; {ds['train_images']} train, {ds['test_images']} test images, "
              f"quality {ds['quality']})", "",
              "| decoder | accuracy original | accuracy decoded | flips | correct->wrong | wrong->correct | McNemar p |",
              "|---|---|---|---|---|---|---|"]
    for k, f in ds["decoders"].items():
        lines.append(f"| {k} | {f['accuracy_original']:.3f} | {f['accuracy_decoded']:.3f} | {f['prediction_flips']} | "
                     f"{f['correct_to_wrong']} | {f['wrong_to_correct']} | {f['mcnemar_p']:.3g} |")
    lines += ["", "![original, MSE decode, realistic decode, H map](hallucination-maps.png)", ""]
    return "\n".join(lines)
