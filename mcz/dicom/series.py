"""A folder of DICOM slices as one volume, and back to the same set of files.

Encoding: :func:`group_files` puts the single-frame DICOM files of one folder that
share a Series Instance UID into one group; :func:`read_series` sorts a group's
slices along the slice normal (Image Position/Orientation (Patient)), then by
Instance Number, then by file name, and stacks them into a :class:`SeriesImage`
that keeps every slice's header and file name.

Decoding: :func:`write_series` writes one DICOM file per slice into a folder, each
with its own (lossy-marked) header, under its source file name when it is known
and safe (:func:`mcz.io.dicom_safety.safe_file_name`), else ``instance-<Instance
Number>.dcm``, else ``slice-<index>.dcm``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mcz.dicom.output import write_dicom
from mcz.io.dicom_safety import check_pixel_budget, header_int, is_valid_uid, safe_file_name
from mcz.errors import OutputError, UnsupportedError
from mcz.intensity import intensity_for
from mcz.io import MedicalImage, read_image
from mcz.io.dicom import dicom_rescale
from mcz.io.sniff import sniff

if TYPE_CHECKING:  # pragma: no cover
    import pydicom

Input = tuple[Path, Path | None]  # (file, the folder argument it was found under)


@dataclass
class SeriesImage(MedicalImage):
    """A volume whose frames are the slices of a series, each with its own header and name.

    Attributes
    ----------
    slice_headers : tuple of pydicom.Dataset
        One header per frame, in frame order (``dicom`` is the first).
    slice_names : tuple of str or None
        The source file name of each slice, where known and safe.
    """

    slice_headers: tuple = ()
    slice_names: tuple = ()


def group_files(inputs: Iterable[Input]) -> list[list[Input]]:
    """Group inputs into series: same folder argument, same parent folder, same Series Instance UID.

    Parameters
    ----------
    inputs : iterable of (path, root)
        As :func:`mcz.cli.batch.expand_inputs` returns them.

    Returns
    -------
    list of list of (path, root)
        In order of first appearance.  Files that are not single-frame DICOM images
        with a valid Series Instance UID (or that cannot be read) stay alone, so their
        errors are reported as before.
    """
    groups: dict[Any, list[Input]] = {}
    for item in inputs:
        uid = _series_uid(item[0])
        key = (item[1], item[0].parent, uid) if uid else ("alone", len(groups))
        groups.setdefault(key, []).append(item)
    return list(groups.values())


def _series_uid(path: Path) -> str | None:
    """The Series Instance UID of a single-frame DICOM file, else None."""
    import pydicom  # lazy: keeps pydicom out of import mcz.dicom.series

    try:
        if sniff(path) != "dicom":
            return None
        tags = ["SeriesInstanceUID", "NumberOfFrames"]
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=tags)
    except Exception:  # noqa: BLE001 - unreadable files are encoded alone and fail there, with a message
        return None
    uid = ds.get("SeriesInstanceUID")
    return str(uid) if is_valid_uid(uid) and header_int(ds.get("NumberOfFrames"), 1) == 1 else None


def series_file_name(group: list[Input], index: int) -> str:
    """The ``.mcz`` name of a group of slices: ``<Series Instance UID>.mcz``, else ``series-<index>.mcz``."""
    uid = _series_uid(group[0][0])
    return f"{uid}.mcz" if uid else f"series-{index:03d}.mcz"


def read_series(paths: list[Path]) -> SeriesImage:
    """Read and stack the slices of one series (sorted; sizes bounded before reading pixels).

    Parameters
    ----------
    paths : list of pathlib.Path
        Single-frame DICOM files of one series.

    Returns
    -------
    SeriesImage

    Raises
    ------
    UnsupportedError
        The slices differ in size, pixel type or photometric interpretation.
    """
    import pydicom  # lazy: keeps pydicom out of import mcz.dicom.series

    heads = [(pydicom.dcmread(p, stop_before_pixels=True), p) for p in paths]
    heads.sort(key=lambda pair: _slice_key(*pair))
    first = heads[0][0]
    check_pixel_budget(
        header_int(first.get("Rows"), 0),
        header_int(first.get("Columns"), 0),
        len(heads),
        header_int(first.get("SamplesPerPixel"), 1),
        header_int(first.get("BitsAllocated"), 16),
        str(paths[0].parent),
    )
    images = [read_image(p) for _, p in heads]
    _check_alike(images, [p for _, p in heads])
    pixels = np.concatenate([im.pixels for im in images])
    it = images[0].intensity
    intensity = intensity_for(
        pixels, bits_stored=max(im.intensity.bits_stored for im in images), signed=it.signed,
        slope=it.slope, intercept=it.intercept, photometric=it.photometric,
    )
    return SeriesImage(
        pixels, intensity, "dicom", pixels.shape, "frames-first", dicom=images[0].dicom,
        slice_headers=tuple(im.dicom for im in images),
        slice_names=tuple(safe_file_name(p.name) for _, p in heads),
    )


def _slice_key(ds: pydicom.Dataset, path: Path) -> tuple:
    """Position along the slice normal, else Instance Number, then the file name."""
    instance = header_int(ds.get("InstanceNumber"), 0)
    position = _floats(ds.get("ImagePositionPatient"), 3)
    orientation = _floats(ds.get("ImageOrientationPatient"), 6)
    if position is not None and orientation is not None:
        normal = np.cross(orientation[:3], orientation[3:])
        return (0, float(np.dot(normal, position)), instance, path.name)
    return (1, 0.0, instance, path.name)


def _floats(value: Any, count: int) -> np.ndarray | None:
    try:
        numbers = np.array([float(v) for v in value], np.float64) if value is not None else None
    except (TypeError, ValueError):
        return None
    ok = numbers is not None and numbers.shape == (count,) and all(math.isfinite(v) for v in numbers)
    return numbers if ok else None


def _check_alike(images: list[MedicalImage], paths: list[Path]) -> None:
    def signature(im: MedicalImage) -> tuple:
        return (im.frames, im.rows, im.columns, im.intensity.dtype, im.intensity.photometric)

    first = signature(images[0])
    for im, path in zip(images[1:], paths[1:]):
        if signature(im) != first:
            raise UnsupportedError(
                f"{path} is (frames, rows, columns, dtype, photometric) {signature(im)}, but "
                f"{paths[0]} of the same series is {first}; expected alike single-frame slices. "
                "Encode them with --per-file"
            )


def output_names(headers: list[pydicom.Dataset | None], names: tuple | None) -> list[str]:
    """One safe, distinct file name per slice: the stored name, else from Instance Number, else the index."""
    out: list[str] = []
    taken: set[str] = set()
    for index, ds in enumerate(headers):
        stored = safe_file_name(names[index]) if names and index < len(names) else None
        instance = header_int(ds.get("InstanceNumber"), -1) if ds is not None else -1
        candidates = [stored, f"instance-{instance:06d}.dcm" if 0 <= instance < 10**9 else None]
        name = next((c for c in candidates if c and c.lower() not in taken), f"slice-{index + 1:06d}.dcm")
        taken.add(name.lower())  # case-insensitive file systems would merge names differing in case
        out.append(name)
    return out


def slice_image(image: SeriesImage, index: int) -> MedicalImage:
    """Frame ``index`` as a one-slice image with its own header and rescale."""
    header = image.slice_headers[index]
    intensity = image.intensity
    if header is not None:
        slope, intercept = dicom_rescale(header)
        intensity = dataclasses.replace(intensity, slope=slope, intercept=intercept)
    pixels = image.pixels[index : index + 1]
    return MedicalImage(pixels, intensity, "dicom", pixels.shape[1:], "frames-first", dicom=header)


def write_series(
    folder: str | Path, image: SeriesImage, *, transfer_syntax: str = "explicit", overwrite: bool = False
) -> Path:
    """Write every slice of ``image`` as a DICOM file in ``folder`` (created if missing).

    Parameters
    ----------
    folder : str or pathlib.Path
        Output folder; its parent must exist.
    image : SeriesImage
        Decoded slices and their marked headers.
    transfer_syntax : str
        See :data:`mcz.dicom.output.TRANSFER_SYNTAXES`.
    overwrite : bool
        Replace existing files of the same names.

    Returns
    -------
    pathlib.Path
        ``folder``.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(
            f"output {folder} is a file; a series decodes to a folder of DICOM files. Choose another output"
        )
    if not folder.parent.is_dir():
        raise OutputError(f"output folder {folder.parent} does not exist; create it first")
    folder.mkdir(exist_ok=True)
    for index, name in enumerate(output_names(list(image.slice_headers), image.slice_names)):
        slice_ = slice_image(image, index)
        write_dicom(folder / name, slice_, transfer_syntax=transfer_syntax, overwrite=overwrite)
    return folder
