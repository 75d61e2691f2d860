"""Export trained weights: fp16 safetensors named by hash, plus a manifest entry."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from mcz.codec import engine, zoo
from mcz.codec.families import model_family_for
from mcz.codec.registry import ModelSpec
from mcz.fsutil import atomic_write_bytes
from mcz.training.evaluate import evaluate
from mcz.training.sources import describe
from mcz.training.state import load_state


def export_weights(
    model: torch.nn.Module,
    spec: ModelSpec,
    folder: Path,
    provenance: dict[str, Any],
    half: bool = True,
    keep_previous: bool = False,
) -> dict[str, Any]:
    """Write ``<id>-<sha256[:8]>.safetensors`` and add (or replace) its manifest entry.

    fp16 storage halves the file; weights are widened to float32 when loaded, and
    the metrics in ``provenance`` must be measured on these exported weights.
    ``keep_previous`` keeps the id's earlier weights listed (after the new ones), so files
    coded with them still decode; otherwise they are removed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    dtype = torch.float16 if half else torch.float32
    parameters = {name for name, _ in model.named_parameters()}
    tensors = {k: _stored(v, dtype if k in parameters else None) for k, v in model.state_dict().items()}
    # The name depends on the content's hash, so write first, then rename.
    fd, name = tempfile.mkstemp(prefix=f".{spec.id}-", suffix=".safetensors", dir=folder)
    os.close(fd)
    tmp = Path(name)
    try:
        save_file(tensors, str(tmp), metadata={"model_id": spec.id, "format": "mcz-weights-1"})
        sha = zoo.sha256_file(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; weights are meant to be shared
        final = folder / f"{spec.id}-{sha[:8]}.safetensors"
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    entry = {**spec.to_dict(), "file": final.name, "sha256": sha, "weights_dtype": str(dtype).removeprefix("torch."), **provenance}
    update_manifest(folder, entry, keep_previous=keep_previous)
    return entry


def _stored(tensor: torch.Tensor, dtype: torch.dtype | None) -> torch.Tensor:
    """A parameter in ``dtype``; buffers (``dtype=None``) exactly as they are.

    Buffers are the constants the arithmetic depends on and must not be rounded:
    entropy-coder tables, fixed-point weights and multipliers, and tiny bounds
    (CompressAI's likelihood bound 1e-9 and GDN's pedestal 2**-36 are 0 in fp16).
    """
    keep = dtype is None or not tensor.is_floating_point()
    return (tensor if keep else tensor.to(dtype)).detach().contiguous().cpu()


def update_manifest(folder: Path, entry: dict[str, Any], keep_previous: bool = False) -> None:
    """Put ``entry`` first among its id's entries; earlier ones are kept (``keep_previous``) or removed.

    The first entry of an id is what new files are coded with; a file names the sha256 of its
    weights, so a kept entry still decodes the files made with it.
    """
    path = folder / zoo.MANIFEST_NAME
    data: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {"format": 1, "models": []}
    same = [m for m in data["models"] if m["id"] == entry["id"] and m["file"] != entry["file"]]
    if not keep_previous:
        for old in same:
            (folder / old["file"]).unlink(missing_ok=True)
    previous = [{**m, "superseded_by": entry["sha256"]} for m in same] if keep_previous else []
    others = [m for m in data["models"] if m["id"] != entry["id"]]
    # sorted() is stable: the new entry stays ahead of the ones it supersedes.
    data["models"] = sorted([*others, entry, *previous], key=lambda m: m["id"])
    atomic_write_bytes(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode(), overwrite=True)


def provenance(meta: dict[str, Any]) -> dict[str, Any]:
    """The manifest's record of how the weights were made."""
    config = meta["config"]
    return {
        **describe(config["data"]),
        "data": config["data"],
        "recipe": {k: config.get(k) for k in ("loss", "lr", "schedule", "warmup", "batch_size", "patch", "bits", "seed",
                                              "init", "rate_weight")},
        "steps": meta["step"],
        "train_seconds": meta.get("seconds_total", meta.get("seconds_this_run")),
        "machine": meta.get("machine", "unknown"),
    }


def export_run(run: Path, folder: Path, evaluate_on: list | None = None, half: bool = True) -> dict[str, Any]:
    """Export the weights of a training run's saved state, measured on ``evaluate_on``.

    The metrics are taken with the exported (fp16-rounded) weights, through the
    real codec, and stored in the manifest entry as ``validation``.
    """
    meta = json.loads((Path(run) / "state.json").read_text())
    spec = ModelSpec.from_dict(meta["spec"])
    family = model_family_for(spec)
    model = family.build(spec.config)
    load_state(Path(run), model, None)
    family.finalise(model)  # e.g. learned entropy models: freeze tables and fixed-point layers
    entry = export_weights(model, spec, folder, provenance(meta), half=half)
    if evaluate_on:
        weights = zoo.load_state_dict(zoo.CheckpointEntry(spec, folder / entry["file"], entry["sha256"], entry))
        scores = evaluate(engine.codec_from_state(spec, weights, entry["sha256"]), evaluate_on)
        entry["validation"] = scores.to_dict()
        update_manifest(folder, entry)
    return entry
