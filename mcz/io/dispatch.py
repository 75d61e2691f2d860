""":func:`read_image` and :func:`write_image`: pick the format, run its reader or writer."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from mcz.errors import ImageReadError, InputNotFoundError, McZError, OutputError, UsageError
from mcz.fsutil import atomic_path
from mcz.io.dicom import _dicom_writer, _read_dicom
from mcz.io.image import MedicalImage
from mcz.io.nifti import _nifti_writer, _read_nifti
from mcz.io.npy import _npy_writer, _read_npy
from mcz.io.raster import _png_writer, _read_jpeg, _read_png, _read_tiff, _tiff_writer
from mcz.io.sniff import _FORMAT_NAMES, _sniff, _suffix

#: Suffixes :func:`write_image` can write.
SUPPORTED_WRITE = (".dcm", ".nii", ".nii.gz", ".png", ".tif", ".tiff", ".npy")


# --------------------------------------------------------------------------- reading


def read_image(path: str | os.PathLike[str], *, grey: bool = False) -> MedicalImage:
    """Read a DICOM, NIfTI, PNG, TIFF, JPEG or NPY file.

    The format is chosen by content (DICOM preamble, PNG/TIFF/JPEG/NPY/NIfTI
    magic bytes), then by suffix (``.dcm`` without preamble, ``.nii.gz``).

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    grey : bool
        Convert colour images to luma (ITU-R BT.601 weights, rounded to the source
        dtype, alpha dropped) instead of refusing them. Colour PNG/TIFF/JPEG whose
        channels are all equal (and fully opaque) are read as grey either way.

    Returns
    -------
    MedicalImage

    Raises
    ------
    InputNotFoundError
        ``path`` does not exist.
    ImageReadError
        The file is empty, truncated or corrupt, has no pixel data, or needs a
        DICOM decoder plugin that is not installed.
    UnsupportedError
        Unknown format, colour without ``grey``, or an unsupported dtype.
    BitDepthError
        NaN/infinite float pixels.

    Notes
    -----
    DICOM pixel values that do not fit *Bits Stored* (some real files) are read
    with the smallest standard bit depth that holds them, with a warning.
    """
    p = Path(path)
    if not p.exists():
        raise InputNotFoundError(f"input {p} does not exist; check the path")
    if not p.is_file():
        raise UsageError(f"input {p} is not a file; expected an image file")
    kind = _sniff(p)
    try:
        return _READERS[kind](p, grey)
    except (McZError, MemoryError):
        raise
    except Exception as exc:  # third-party readers raise anything; callers get one error type
        name = _FORMAT_NAMES[kind]
        raise ImageReadError(
            f"could not read {p} as {name}: {type(exc).__name__}: {exc}; expected a complete, valid "
            f"{name} file. Check that it is not truncated or corrupt"
        ) from exc


_READERS: dict[str, Callable[[Path, bool], MedicalImage]] = {
    "dicom": _read_dicom,
    "nifti": _read_nifti,
    "png": _read_png,
    "tiff": _read_tiff,
    "jpeg": _read_jpeg,
    "npy": _read_npy,
}


# --------------------------------------------------------------------------- writing

_FORMAT_ALIASES = {
    "png": "png",
    "tif": "tiff",
    "tiff": "tiff",
    "npy": "npy",
    "nii": "nii",
    "nifti": "nii",
    "nii.gz": "nii.gz",
    "dcm": "dcm",
    "dicom": "dcm",
}
Writer = Callable[[BinaryIO], None]


def write_image(
    path: str | Path,
    image: MedicalImage,
    *,
    format: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``image`` atomically as PNG, TIFF, NPY, NIfTI or DICOM.

    Parameters
    ----------
    path : str or pathlib.Path
        Output file; its parent folder must exist.
    image : MedicalImage
        The image; its stored values are written as they are (no rescale, no
        MONOCHROME1 inversion).
    format : str, optional
        ``"png"``, ``"tiff"``, ``"npy"``, ``"nii"``, ``"nii.gz"`` or ``"dcm"``;
        default from the suffix of ``path`` (``.nii`` + ``.gz`` compresses).
    overwrite : bool
        Replace an existing file (the CLI's ``--force``).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    UsageError
        Unknown format, or one that cannot hold the image (PNG: one frame of
        uint8/uint16; DICOM: float pixels need a source DICOM header).
    OutputError
        ``path`` exists and ``overwrite`` is false, its folder is missing, or
        writing failed (no partial file is left behind).

    Notes
    -----
    Layouts: NPY gets :meth:`MedicalImage.source_array`; NIfTI gets the NIfTI
    layout (a frames-first source becomes ``(rows, columns, frames)``); TIFF gets
    the source array of frames-first images and the frames of NIfTI ones; PNG
    and DICOM get the frames. A DICOM output starts from the source header when
    there is one, keeping its UIDs: give it new ones if the pixels changed.
    """
    target = Path(path)
    fmt = _output_format(target, format)
    writer = _WRITERS[fmt](image, fmt)  # validates before anything touches the disk
    with atomic_path(target, overwrite) as tmp:
        try:
            with open(tmp, "wb") as f:
                writer(f)
        except (McZError, OSError):
            raise
        except Exception as exc:  # a library's own error while encoding
            raise OutputError(f"could not write {target} as {fmt}: {type(exc).__name__}: {exc}") from exc
    return target


def _output_format(path: Path, format: str | None) -> str:
    if format:
        fmt = _FORMAT_ALIASES.get(format.lower().lstrip("."))
        if fmt is None:
            raise UsageError(
                f"output format {format!r}; expected one of {', '.join(sorted(set(_FORMAT_ALIASES)))}"
            )
        return "nii.gz" if fmt == "nii" and path.name.lower().endswith(".gz") else fmt
    fmt = _FORMAT_ALIASES.get(_suffix(path).lstrip("."))
    if fmt is None:
        raise UsageError(
            f"cannot tell the output format of {path} from its suffix; expected one of "
            f"{', '.join(SUPPORTED_WRITE)}, or name the format (--to)"
        )
    return fmt


_WRITERS: dict[str, Callable[[MedicalImage, str], Writer]] = {
    "png": _png_writer,
    "tiff": _tiff_writer,
    "npy": _npy_writer,
    "nii": _nifti_writer,
    "nii.gz": _nifti_writer,
    "dcm": _dicom_writer,
}
