"""The checkpoint zoo: find, verify and load trained weights.

Weights are safetensors files named ``<id>-<sha256[:8]>.safetensors`` and listed
in a ``manifest.json`` beside them, with the model's definition and provenance::

    {"format": 1,
     "models": [{"id": "cae-seed", "family": "cae", "config": {...},
                 "file": "cae-seed-1a2b3c4d.safetensors", "sha256": "<64 hex>",
                 "modality": "MR", "bits_stored": 8, "data": "...", "recipe": {...},
                 "metrics": {...}, "licence": "..."}]}

Search order (:func:`checkpoint_sources`): the folders in ``$MCZ_CHECKPOINTS``
(``os.pathsep``-separated), then ``./checkpoints`` in the working directory, then
the user model folder (:func:`user_model_dir`: ``$MCZ_HOME/models``, else
``$XDG_DATA_HOME/mcz/models``, else ``~/.local/share/mcz/models``; where ``mcz
train`` exports by default), then ``mcz/_checkpoints`` (inside an installed
wheel), then ``checkpoints/`` at the root of a source checkout.  The first folder
whose manifest lists an id wins; a decoder asks for the id *and* the sha256 its
file names, so other weights under the same id elsewhere never shadow them.
Loading verifies the sha256 before reading the file and never touches the network;
safetensors cannot execute code, unlike pickled checkpoints.

A :class:`Zoo` is one such source of models: its checkpoint folders (by default the
search order above, read when it is asked), the specs registered in it and the models
it has loaded, cached by weights file and sha256.  The module functions
(:func:`find_checkpoint`, :func:`installed_entries`, :func:`available_ids`) and
:func:`mcz.codec.engine.load_codec` use the default zoo, :func:`default_zoo`; a caller
that wants other folders or its own registry makes its own ``Zoo``.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mcz import digests
from mcz.codec.families import ModelFamily, model_family_for
from mcz.codec.registry import BUILTIN, DEFAULT as DEFAULT_REGISTRY, ModelSpec, Registry
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


@dataclass(frozen=True)
class Codec:
    """A model ready to code: its spec, its model (as its family built it) and its weights' hash."""

    spec: ModelSpec
    model: Any
    checkpoint_sha256: str

    @property
    def family(self) -> ModelFamily:
        """The family that codes with this model."""
        return model_family_for(self.spec)


def codec_from_state(spec: ModelSpec, state: dict[str, Any], sha256: str) -> Codec:
    """Build a codec from weights already in memory (used by training and tests)."""
    return Codec(spec, model_family_for(spec).load(spec, state), sha256)


def user_model_dir() -> Path:
    """The user's model folder: ``$MCZ_HOME/models``, ``$XDG_DATA_HOME/mcz/models`` or ``~/.local/share/mcz/models``."""
    if os.environ.get("MCZ_HOME"):
        return Path(os.environ["MCZ_HOME"]).expanduser() / "models"
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data).expanduser() / "mcz" / "models"


def checkpoint_sources() -> list[tuple[Path, str]]:
    """Folders with a ``manifest.json``, in priority order, each with where it comes from.

    Returns
    -------
    list of (Path, str)
        The folder and its origin: ``"MCZ_CHECKPOINTS"``, ``"./checkpoints"``,
        ``"user"`` (:func:`user_model_dir`) or ``"shipped"``; a folder reached
        twice is listed once, under its first origin.
    """
    candidates = [(Path(p), "MCZ_CHECKPOINTS") for p in os.environ.get("MCZ_CHECKPOINTS", "").split(os.pathsep) if p]
    candidates += [(Path.cwd() / "checkpoints", "./checkpoints"), (user_model_dir(), "user"),
                   (_PACKAGE_DIR / "_checkpoints", "shipped"), (_PACKAGE_DIR.parent / "checkpoints", "shipped")]
    found: dict[Path, tuple[Path, str]] = {}
    for folder, origin in candidates:
        if (folder / MANIFEST_NAME).is_file():
            found.setdefault(folder.resolve(), (folder, origin))
    return list(found.values())


def checkpoint_dirs() -> list[Path]:
    """Folders searched for ``manifest.json``, in priority order (:func:`checkpoint_sources`)."""
    return [folder for folder, _ in checkpoint_sources()]


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


class Zoo:
    """Where models come from: checkpoint folders, the specs registered in them, and the loaded models.

    Parameters
    ----------
    folders : sequence of path, optional
        The folders whose ``manifest.json`` this zoo reads, in priority order.  Default: the
        search order of :func:`checkpoint_sources`, read on every lookup (so ``MCZ_CHECKPOINTS``
        and the working directory are those in force then).
    registry : Registry, optional
        The model specs it knows; manifest entries register theirs in it.  Default: a new
        registry holding mcz's built-in models, so that this zoo shares nothing with another.
    cache_size : int
        Loaded models kept, least recently used dropped first.

    Notes
    -----
    A loaded model is cached by its weights file, the sha256 its manifest states (which
    loading verified) and its spec.  A lookup always reads the manifests in force first, so a
    changed search path, a new checkpoint or removed weights are never answered from the cache.
    """

    def __init__(self, folders: Sequence[str | os.PathLike] | None = None, *, registry: Registry | None = None,
                 cache_size: int = 8) -> None:
        self._folders = None if folders is None else [Path(f) for f in folders]
        self.registry = registry if registry is not None else Registry(BUILTIN)
        self._cache_size = cache_size
        self._loaded: OrderedDict[tuple[str, str, ModelSpec], Codec] = OrderedDict()
        self._lock = threading.Lock()  # batch workers may be threads sharing the default zoo

    def __repr__(self) -> str:
        where = "the default search path" if self._folders is None else ", ".join(map(str, self._folders))
        return f"Zoo({where}; {len(self.registry.ids())} specs, {len(self._loaded)} loaded)"

    def sources(self) -> list[tuple[Path, str]]:
        """Folders with a ``manifest.json``, in priority order, each with its origin (``"folder"`` if given)."""
        if self._folders is None:
            return checkpoint_sources()
        return [(folder, "folder") for folder in self._folders if (folder / MANIFEST_NAME).is_file()]

    def folders(self) -> list[Path]:
        """Folders with a ``manifest.json``, in priority order."""
        if self._folders is None:
            return checkpoint_dirs()
        return [folder for folder, _ in self.sources()]

    def register(self, spec: ModelSpec) -> ModelSpec:
        """Add a model spec to this zoo's registry (:meth:`Registry.register`)."""
        return self.registry.register(spec)

    def get_spec(self, model_id: str) -> ModelSpec:
        """A spec this zoo knows (ModelError listing the known ids otherwise)."""
        return self.registry.get(model_id)

    def _entry_spec(self, raw: dict[str, Any]) -> ModelSpec:
        """The spec a manifest entry defines, registered (identically) if new."""
        return self.registry.register(ModelSpec.from_dict(raw))

    def find(self, model_id: str, sha256: str | None = None) -> CheckpointEntry:
        """Locate the weights of ``model_id`` (with this ``sha256``, if given: a file's own weights).

        Raises
        ------
        ModelError
            If the id is unknown, no manifest lists weights for it, or none lists the
            weights with ``sha256``; the message says how to install them.
        """
        searched = self.folders()
        for folder in searched:
            for raw in read_manifest(folder):
                if raw.get("id") == model_id and (sha256 is None or digests.same_weights(str(raw.get("sha256")),
                                                                                         sha256)):
                    spec = self._entry_spec(raw)
                    return CheckpointEntry(spec, folder / str(raw["file"]), str(raw["sha256"]), raw)
        where = ", ".join(str(d) for d in searched) or "no checkpoint folder with a manifest.json"
        if sha256 is not None:
            raise ModelError(_not_installed(model_id, sha256, where))
        self.get_spec(model_id)  # unknown id -> ModelError listing the known ones
        raise ModelError(
            f"model {model_id!r} is registered but has no trained weights (searched: {where}). "
            f"Expected a manifest entry for {model_id!r} with a safetensors file. Train weights with "
            f"`mcz train --model {model_id} ...` (pip install 'mcz[train]'), or point MCZ_CHECKPOINTS "
            "at a folder that has them"
        )

    def load(self, model_id: str, sha256: str | None = None) -> Codec:
        """The model ``model_id`` (with the weights ``sha256``, if given), verified and ready to code.

        The manifests are read on every call; the weights are read once per file and sha256.
        """
        entry = self.find(model_id, sha256)
        key = (str(entry.path), entry.sha256, entry.spec)
        with self._lock:
            if key in self._loaded:
                self._loaded.move_to_end(key)
                return self._loaded[key]
        codec = codec_from_state(entry.spec, model_family_for(entry.spec).read_weights(entry), entry.sha256)
        with self._lock:
            self._loaded[key] = codec
            while len(self._loaded) > self._cache_size:
                self._loaded.popitem(last=False)
        return codec

    def clear(self) -> None:
        """Drop every loaded model (their memory; the next :meth:`load` reads the weights again)."""
        with self._lock:
            self._loaded.clear()

    def entries(self) -> list[tuple[dict[str, Any], Path, str]]:
        """Every manifest entry, first occurrence of each id, with its folder and origin (``mcz models``)."""
        seen: dict[str, tuple[dict[str, Any], Path, str]] = {}
        for raw, folder, origin in self._all_entries():
            seen.setdefault(str(raw["id"]), (raw, folder, origin))
        return list(seen.values())

    def available_ids(self) -> set[str]:
        """Ids for which some manifest lists weights (registering the specs they define)."""
        return {str(raw["id"]) for raw, _, _ in self._all_entries()}

    def _all_entries(self) -> Iterator[tuple[dict[str, Any], Path, str]]:
        """Every manifest entry of every folder, in priority order, its spec registered."""
        for folder, origin in self.sources():
            for raw in read_manifest(folder):
                self._entry_spec(raw)
                yield raw, folder, origin


#: The zoo behind the module functions and :func:`mcz.codec.engine.load_codec`: the default
#: search path and the default registry (:data:`mcz.codec.registry.DEFAULT`).
_DEFAULT = Zoo(registry=DEFAULT_REGISTRY)


def default_zoo() -> Zoo:
    """The zoo that ``mcz.encode``, ``mcz.decode`` and the module functions use."""
    return _DEFAULT


def find_checkpoint(model_id: str, sha256: str | None = None) -> CheckpointEntry:
    """Locate weights in the default zoo (:meth:`Zoo.find`)."""
    return _DEFAULT.find(model_id, sha256)


def _not_installed(model_id: str, sha256: str, where: str) -> str:
    return (
        f"this file needs model {model_id!r} with weights sha256 {sha256}, which are not installed "
        f"(searched: {where}). Install them: copy the weights file {model_id}-{sha256[:8]}.safetensors "
        f"and its manifest.json entry from where the file was made into {user_model_dir()} (or a folder "
        "named in MCZ_CHECKPOINTS); `mcz models` then lists the model"
    )


def installed_entries() -> list[tuple[dict[str, Any], Path, str]]:
    """Every manifest entry of the default zoo, first occurrence of each id, with its folder and origin."""
    return _DEFAULT.entries()


def available_ids() -> set[str]:
    """Ids for which some manifest of the default zoo lists weights (registering user-trained ids)."""
    return _DEFAULT.available_ids()


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
    from safetensors.torch import load_file  # lazy: keeps safetensors out of import mcz.codec.zoo

    try:
        tensors = load_file(str(entry.path), device="cpu")
    except Exception as exc:  # safetensors raises its own untyped errors on bad files
        raise ModelError(f"weights of {entry.spec.id!r} at {entry.path} are unreadable: {exc}") from exc
    # Integer tensors (entropy-coder tables, fixed-point weights) keep their type.
    return {name: tensor.float() if tensor.is_floating_point() else tensor for name, tensor in tensors.items()}


def load_arrays(entry: CheckpointEntry) -> dict[str, Any]:
    """Verify and read a checkpoint's arrays with NumPy, as :func:`load_state_dict` reads them (float32).

    For families that code without torch (the wavelet family): the same numbers, no torch import.
    """
    verify(entry)
    from safetensors.numpy import load_file  # lazy: keeps safetensors out of import mcz.codec.zoo

    try:
        arrays = load_file(str(entry.path))
    except Exception as exc:  # safetensors raises its own untyped errors on bad files
        raise ModelError(f"weights of {entry.spec.id!r} at {entry.path} are unreadable: {exc}") from exc
    return {name: array.astype(np.float32) if np.issubdtype(array.dtype, np.floating) else array
            for name, array in arrays.items()}
