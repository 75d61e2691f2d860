"""Test helper: a checkpoint folder holding deterministically initialised weights.

These weights are NOT trained; they exercise the real loading, hashing and coding
path exactly as shipped weights do (the registry refuses to invent weights).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from mcz.codec import registry, zoo
from mcz.codec.families import model_family_for


#: Tiny learned-entropy models for fast tests (same code paths as the shipped ones).
TINY_LEARNED = {
    family: registry.ModelSpec(
        id=f"test-{family}-tiny",
        family=family,
        config={"analysis_widths": [8, 8, 8], "synthesis_widths": [8, 8, 8], "m": 8,
                "lambdas": [0.001, 0.01, 0.1], "peak": 255.0, **({"nh": 8} if family == "hyperprior" else {})},
        default_quality=2,
        quality_range=(1, 3),
        description=f"tiny untrained {family} model for tests",
    )
    for family in ("factorized", "hyperprior")
}


def write_checkpoint(folder: Path, model_id: str, seed: int = 0) -> dict:
    """Save seeded weights of ``model_id`` into ``folder`` and list them in its manifest.

    Learned-entropy models are finalised first (CDF tables, fixed-point layers),
    as :func:`mcz.training.export.export_run` does for trained ones.
    """
    tiny = {spec.id: spec for spec in TINY_LEARNED.values()}
    spec = registry.register(tiny[model_id]) if model_id in tiny else registry.get_spec(model_id)
    torch.manual_seed(seed)
    family = model_family_for(spec)
    model = family.build(spec.config)
    family.finalise(model)
    tmp = folder / f"{model_id}.tmp"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp))
    sha = zoo.sha256_file(tmp)
    path = folder / f"{model_id}-{sha[:8]}.safetensors"
    tmp.rename(path)
    entry = {**spec.to_dict(), "file": path.name, "sha256": sha, "note": f"untrained, torch seed {seed}"}
    manifest = folder / zoo.MANIFEST_NAME
    data = json.loads(manifest.read_text()) if manifest.exists() else {"format": 1, "models": []}
    data["models"] = [m for m in data["models"] if m["id"] != model_id] + [entry]
    manifest.write_text(json.dumps(data, indent=2))
    return entry
