"""Telling an input file's format: by content (magic bytes, DICOM preamble), then by suffix."""

from __future__ import annotations

from pathlib import Path

from mcz.errors import ImageReadError, UnsupportedError

#: Suffixes :func:`read_image` accepts (DICOM files are also recognised by content).
SUPPORTED_READ = (".dcm", ".nii", ".nii.gz", ".png", ".tif", ".tiff", ".jpg", ".jpeg", ".npy")

_FORMAT_NAMES = {
    "dicom": "DICOM",
    "nifti": "NIfTI",
    "png": "PNG",
    "tiff": "TIFF",
    "jpeg": "JPEG",
    "npy": "NPY",
}
_SUFFIX_FORMAT = {
    ".dcm": "dicom",
    ".dicom": "dicom",
    ".nii": "nifti",
    ".nii.gz": "nifti",
    ".png": "png",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".npy": "npy",
}
#: Every suffix mcz reads, lower case (folders are searched for these; one list for the package).
IMAGE_SUFFIXES = tuple(_SUFFIX_FORMAT)
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),
    (b"MM\x00+", "tiff"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x93NUMPY", "npy"),
)
_HEAD_BYTES = 352  # enough for the DICOM preamble (132) and the NIfTI-1 magic (344..348)


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(_HEAD_BYTES)
    except OSError as exc:
        raise ImageReadError(f"could not open {path}: {exc.strerror or exc}; check its permissions") from exc


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else path.suffix.lower()


def _raw_dicom(head: bytes) -> bool:
    """A DICOM data set without preamble starts with a group 0002 or 0008 tag."""
    return len(head) >= 8 and any(
        int.from_bytes(head[:2], order) in (0x0002, 0x0008) for order in ("little", "big")
    )


def _sniff(path: Path) -> str:
    head = _head(path)
    if not head:
        raise ImageReadError(
            f"{path} is empty (0 bytes); expected an image file. It was probably not written completely"
        )
    if head[128:132] == b"DICM":
        return "dicom"
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    suffix = _suffix(path)
    if (
        head[344:348] == b"n+1\x00"
        or head[4:8] == b"n+2\x00"
        or (suffix == ".nii.gz" and head[:2] == b"\x1f\x8b")
    ):
        return "nifti"
    claimed = _SUFFIX_FORMAT.get(suffix)
    if claimed == "dicom" or (claimed is None and _raw_dicom(head)):
        return "dicom"
    if claimed:
        name = _FORMAT_NAMES[claimed]
        raise ImageReadError(
            f"{path} is named {suffix} but its content is not {name} (it starts with {head[:8]!r}); "
            f"expected a {name} file. It may be corrupt or misnamed"
        )
    raise UnsupportedError(
        f"{path} has an unknown format (suffix {suffix or 'none'!r}, starts with {head[:8]!r}); expected one of "
        f"{', '.join(SUPPORTED_READ)} (DICOM files are also recognised without suffix)"
    )
