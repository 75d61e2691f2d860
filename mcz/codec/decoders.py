"""The realistic decoder's weights: a small fp16 safetensors file and its manifest entry.

A realistic decoder is not a model of its own: it decodes the files of a *base* model
(same id, same weights hash in the file), so it is listed under a separate ``decoders``
key of ``checkpoints/manifest.json``, which the model zoo does not read::

    {"format": 1, "models": [...],
     "decoders": [{"id": "hyperprior-compact-realistic", "kind": "realistic",
                   "base": "hyperprior-compact", "base_sha256": "<64 hex>",
                   "file": "hyperprior-compact-realistic-1a2b3c4d.safetensors",
                   "sha256": "<64 hex>", "beta": 0.05, "k_M": ..., "steps": ..., ...}]}

The sha256 is checked before loading, as for every model (:func:`mcz.codec.zoo.verify`).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcz import digests
from mcz.codec import zoo
from mcz.errors import ModelError
from mcz.fsutil import atomic_write_bytes

#: The manifest key that lists decoders of other models' bitstreams.
DECODERS_KEY = "decoders"
#: Prefix of the synthesis network's tensors in the weights file.
PREFIX = "g_s_real."


@dataclass(frozen=True)
class DecoderEntry:
    """One ``decoders`` entry: the weights file, its hash and its provenance."""

    id: str
    base: str
    base_sha256: str
    path: Path
    sha256: str
    info: dict[str, Any]


def _entries(folder: Path) -> list[dict[str, Any]]:
    path = folder / zoo.MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"checkpoint manifest {path} is unreadable ({exc}); expected JSON") from exc
    decoders = data.get(DECODERS_KEY, [])
    if not isinstance(decoders, list):
        raise ModelError(f"{path}: {DECODERS_KEY!r} is {type(decoders).__name__}; expected a list of entries")
    return decoders


def find_decoder(base: str, base_sha256: str, kind: str = "realistic") -> DecoderEntry:
    """The ``kind`` decoder of the base model ``base`` with weights ``base_sha256``.

    Raises
    ------
    ModelError
        No manifest lists such a decoder for these base weights.
    """
    searched = zoo.checkpoint_dirs()
    for folder in searched:
        for raw in _entries(folder):
            if (raw.get("kind") == kind and raw.get("base") == base
                    and digests.same_weights(str(raw.get("base_sha256")), base_sha256)):
                return DecoderEntry(str(raw["id"]), base, str(raw["base_sha256"]), folder / str(raw["file"]),
                                    str(raw["sha256"]), raw)
    raise ModelError(
        f"no {kind} decoder is installed for model {base!r} (weights {base_sha256[:12]}...); searched "
        f"{', '.join(map(str, searched)) or 'no checkpoint folder'}. Only the MSE decoder (the default) "
        "can decode this file; decode without --decoder"
    )


def installed_decoders() -> list[dict[str, Any]]:
    """Every ``decoders`` entry of every manifest, first occurrence of each id (for ``mcz models``)."""
    seen: dict[str, dict[str, Any]] = {}
    for folder in zoo.checkpoint_dirs():
        for raw in _entries(folder):
            seen.setdefault(str(raw.get("id")), raw)
    return list(seen.values())


def load_synthesis(entry: DecoderEntry, template: Any) -> Any:
    """``template`` (a copy of the base ``g_s``) with the decoder's verified weights loaded, in eval mode."""
    from safetensors.torch import load_file  # lazy: keeps torch, safetensors out of import mcz.codec.decoders

    if not entry.path.is_file():
        raise ModelError(f"weights of decoder {entry.id!r} are missing: {entry.path} does not exist, though "
                         "the manifest lists it. Restore it (git checkout checkpoints/)")
    actual = zoo.sha256_file(entry.path)
    if actual != entry.sha256:
        raise ModelError(f"weights of decoder {entry.id!r} at {entry.path} have sha256 {actual[:16]}..., the "
                         f"manifest expects {entry.sha256[:16]}...; never load unverified weights")
    tensors = load_file(str(entry.path), device="cpu")
    state = {k[len(PREFIX):]: (v.float() if v.is_floating_point() else v)
             for k, v in tensors.items() if k.startswith(PREFIX)}
    template.load_state_dict(state)
    return template.eval()


def save_decoder(synthesis: Any, folder: Path, entry: dict[str, Any]) -> dict[str, Any]:
    """Write ``<id>-<sha256[:8]>.safetensors`` (parameters fp16, buffers exact) and its manifest entry."""
    # lazy: keeps torch, safetensors out of import mcz.codec.decoders
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    parameters = {name for name, _ in synthesis.named_parameters()}
    tensors = {PREFIX + k: (v.half() if k in parameters and v.is_floating_point() else v).detach().contiguous()
               for k, v in synthesis.state_dict().items()}
    fd, name = tempfile.mkstemp(prefix=f".{entry['id']}-", suffix=".safetensors", dir=folder)
    os.close(fd)
    tmp = Path(name)
    try:
        save_file(tensors, str(tmp), metadata={"decoder_id": entry["id"], "format": "mcz-decoder-1"})
        sha = zoo.sha256_file(tmp)
        os.chmod(tmp, 0o644)
        final = folder / f"{entry['id']}-{sha[:8]}.safetensors"
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    full = {**entry, "file": final.name, "sha256": sha, "weights_dtype": str(torch.float16).removeprefix("torch.")}
    _update_manifest(folder, full)
    return full


def _update_manifest(folder: Path, entry: dict[str, Any]) -> None:
    path = folder / zoo.MANIFEST_NAME
    data: dict[str, Any] = (
        json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"format": 1, "models": []}
    )
    def replaced(old: dict[str, Any]) -> bool:
        # A decoder is replaced only for the same base weights: one trained for the base's earlier
        # weights stays, so files coded with those weights keep their decoder.
        return old.get("id") == entry["id"] and old.get("base_sha256") == entry.get("base_sha256")

    for old in data.get(DECODERS_KEY, []):
        if replaced(old) and old.get("file") != entry["file"]:
            (folder / str(old["file"])).unlink(missing_ok=True)
    decoders = [d for d in data.get(DECODERS_KEY, []) if not replaced(d)]
    # Stable sort, new entry first among its id's: `mcz models` lists the first of each id.
    data[DECODERS_KEY] = sorted([entry, *decoders], key=lambda d: d["id"])
    atomic_write_bytes(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode(), overwrite=True)
