"""The checkpoint zoo: find, verify and load trained weights.

Weights are safetensors files named ``<id>-<sha256[:8]>.safetensors`` and listed
in a ``manifest.json`` beside them, with the model's definition and provenance::

    {"format": 1,
     "models": [{"id": "cae-seed", "family": "cae", "config": {...},
                 "file": "cae-seed-1a2b3c4d.safetensors", "sha256": "<64 hex>",
                 "modality": "MR", "bits_stored": 8, "data": "...", "recipe": {...},
                 "metrics": {...}, "licence": "..."}]}

Search order: the folders in ``$MCZ_CHECKPOINTS`` (``os.pathsep``-separated),
then ``mcz/_checkpoints`` (inside an installed wheel), then ``checkpoints/`` at
the root of a source checkout.  The first folder whose manifest lists an id wins.
Loading verifies the sha256 before reading the file and never touches the network;
safetensors cannot execute code, unlike pickled checkpoints.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcz.codec.registry import ModelSpec, get_spec, register
from mcz.errors import ModelError

MANIFEST_NAME = "manifest.json"
_PACKAGE_DIR = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class CheckpointEntry:
    """One manifest entry: where the weights are and what they are."""

    spec: ModelSpec
    path: Path
    sha256: str
    info: dict[str, Any]


def checkpoint_dirs() -> list[Path]:
    """Folders searched for ``manifest.json``, in priority order."""
    dirs = [Path(p) for p in os.environ.get("MCZ_CHECKPOINTS", "").split(os.pathsep) if p]
    dirs.append(_PACKAGE_DIR / "_checkpoints")
    dirs.append(_PACKAGE_DIR.parent / "checkpoints")
    return [d for d in dirs if (d / MANIFEST_NAME).is_file()]


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(folder: Path) -> list[dict[str, Any]]:
    """The raw model entries of ``folder/manifest.json``."""
    path = folder / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        models = data["models"]
        if not isinstance(models, list):
            raise TypeError("'models' is not a list")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(
            f"checkpoint manifest {path} is unreadable ({exc}); expected JSON with a "
            "'models' list. Restore it from the repository or remove the folder from MCZ_CHECKPOINTS"
        ) from exc
    return models


def _entry_spec(raw: dict[str, Any]) -> ModelSpec:
    """The spec a manifest entry defines, registered (identically) if new."""
    spec = ModelSpec.from_dict(raw)
    return register(spec)


def find_checkpoint(model_id: str) -> CheckpointEntry:
    """Locate the weights of ``model_id``.

    Raises
    ------
    ModelError
        If the id is unknown or no manifest lists weights for it.
    """
    searched = checkpoint_dirs()
    for folder in searched:
        for raw in read_manifest(folder):
            if raw.get("id") == model_id:
                spec = _entry_spec(raw)
                return CheckpointEntry(spec, folder / str(raw["file"]), str(raw["sha256"]), raw)
    get_spec(model_id)  # unknown id -> ModelError listing the known ones
    where = ", ".join(str(d) for d in searched) or "no checkpoint folder with a manifest.json"
    raise ModelError(
        f"model {model_id!r} is registered but has no trained weights (searched: {where}). "
        f"Expected a manifest entry for {model_id!r} with a safetensors file. Train weights with "
        f"`mcz train --model {model_id} ...` (pip install 'mcz[train]'), or point MCZ_CHECKPOINTS "
        "at a folder that has them"
    )


def available_ids() -> set[str]:
    """Ids for which some manifest lists weights (registering user-trained ids)."""
    ids: set[str] = set()
    for folder in checkpoint_dirs():
        for raw in read_manifest(folder):
            _entry_spec(raw)
            ids.add(str(raw["id"]))
    return ids


def verify(entry: CheckpointEntry) -> None:
    """Check that the weights file exists and its sha256 matches the manifest."""
    if not entry.path.is_file():
        raise ModelError(
            f"weights of {entry.spec.id!r} are missing: {entry.path} does not exist, though the "
            "manifest lists it. Re-install mcz or restore the file (git checkout checkpoints/)"
        )
    actual = sha256_file(entry.path)
    if actual != entry.sha256:
        raise ModelError(
            f"weights of {entry.spec.id!r} at {entry.path} have sha256 {actual[:16]}..., the "
            f"manifest expects {entry.sha256[:16]}...; the file is corrupt or was replaced. "
            "Restore it; never load unverified weights"
        )


def load_state_dict(entry: CheckpointEntry) -> dict[str, Any]:
    """Verify and read a checkpoint's tensors (float32, CPU)."""
    verify(entry)
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(entry.path), device="cpu")
    except Exception as exc:  # safetensors raises its own untyped errors on bad files
        raise ModelError(f"weights of {entry.spec.id!r} at {entry.path} are unreadable: {exc}") from exc
    # Integer tensors (entropy-coder tables, fixed-point weights) keep their type.
    return {name: tensor.float() if tensor.is_floating_point() else tensor for name, tensor in tensors.items()}
