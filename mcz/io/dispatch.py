""":func:`read_image` and :func:`write_image`: pick the format, run its reader or writer."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from mcz.errors import ImageReadError, InputNotFoundError, McZError, OutputError, UsageError
from mcz.fsutil import atomic_path
from mcz.io.dicom import dicom_writer, read_dicom
from mcz.io.image import MedicalImage
from mcz.io.nifti import nifti_writer, read_nifti
from mcz.io.npy import npy_writer, read_npy
from mcz.io.raster import png_writer, read_jpeg, read_png, read_tiff, tiff_writer
from mcz.io.sniff import FORMAT_NAMES, SUPPORTED_READ, image_suffix, sniff


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
    kind = sniff(p)
    try:
        return _READERS[kind](p, grey)
    except (McZError, MemoryError):
        raise
    except Exception as exc:  # third-party readers raise anything; callers get one error type
        name = FORMAT_NAMES[kind]
        raise ImageReadError(
            f"could not read {p} as {name}: {type(exc).__name__}: {exc}; expected a complete, valid "
            f"{name} file. Check that it is not truncated or corrupt"
        ) from exc


_READERS: dict[str, Callable[[Path, bool], MedicalImage]] = {
    "dicom": read_dicom,
    "nifti": read_nifti,
    "png": read_png,
    "tiff": read_tiff,
    "jpeg": read_jpeg,
    "npy": read_npy,
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
#: Suffixes :func:`write_image` can write: those of :data:`SUPPORTED_READ` with a writer. JPEG is read
#: but has no writer (JPEG sources decode to PNG, so decoding never adds a second lossy step).
SUPPORTED_WRITE = tuple(s for s in SUPPORTED_READ if s.lstrip(".") in _FORMAT_ALIASES)
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
    fmt = output_format(target, format)
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


def output_format(path: Path, format: str | None) -> str:
    """The :data:`WRITE_FORMATS` entry for ``path``: from ``format``, else from its suffix (or UsageError)."""
    if format:
        fmt = _FORMAT_ALIASES.get(format.lower().lstrip("."))
        if fmt is None:
            raise UsageError(
                f"output format {format!r}; expected one of {', '.join(sorted(set(_FORMAT_ALIASES)))}"
            )
        return "nii.gz" if fmt == "nii" and path.name.lower().endswith(".gz") else fmt
    fmt = _FORMAT_ALIASES.get(image_suffix(path).lstrip("."))
    if fmt is None:
        raise UsageError(
            f"cannot tell the output format of {path} from its suffix; expected one of "
            f"{', '.join(SUPPORTED_WRITE)}, or name the format (--to)"
        )
    return fmt


_WRITERS: dict[str, Callable[[MedicalImage, str], Writer]] = {
    "png": png_writer,
    "tiff": tiff_writer,
    "npy": npy_writer,
    "nii": nifti_writer,
    "nii.gz": nifti_writer,
    "dcm": dicom_writer,
}
#: Format names :func:`write_image` writes, one per writer (the CLI's ``--to`` choices); its
#: ``format`` also takes the aliases ``tif``, ``nifti`` and ``dicom``.
WRITE_FORMATS = tuple(_WRITERS)
