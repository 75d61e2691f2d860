"""Telling an input file's format: by content (magic bytes, DICOM preamble), then by suffix."""

from __future__ import annotations

from pathlib import Path

from mcz.errors import ImageReadError, UnsupportedError

#: Each format's name in messages.
FORMAT_NAMES = {
    "dicom": "DICOM",
    "nifti": "NIfTI",
    "png": "PNG",
    "tiff": "TIFF",
    "jpeg": "JPEG",
    "npy": "NPY",
}
#: The format of each image suffix, lower case: the one table of image suffixes (the lists below,
#: :data:`mcz.io.SUPPORTED_WRITE` and the folder searches derive from it).
SUFFIX_FORMAT = {
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
IMAGE_SUFFIXES = tuple(SUFFIX_FORMAT)
#: Suffixes :func:`read_image` accepts, as messages name them (DICOM files are also recognised by
#: content). The same table without ``.dicom``, which is read too but is not the usual spelling.
SUPPORTED_READ = tuple(s for s in SUFFIX_FORMAT if s != ".dicom")
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


def read_head(path: Path) -> bytes:
    """The first bytes of ``path``: enough for every magic number and the DICOM preamble."""
    try:
        with open(path, "rb") as f:
            return f.read(_HEAD_BYTES)
    except OSError as exc:
        raise ImageReadError(f"could not open {path}: {exc.strerror or exc}; check its permissions") from exc


def image_suffix(path: Path) -> str:
    """The lower-case suffix of ``path`` as :data:`SUFFIX_FORMAT` keys it (``.nii.gz`` is one suffix)."""
    name = path.name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else path.suffix.lower()


def raw_dicom(head: bytes) -> bool:
    """A DICOM data set without preamble starts with a group 0002 or 0008 tag."""
    return len(head) >= 8 and any(
        int.from_bytes(head[:2], order) in (0x0002, 0x0008) for order in ("little", "big")
    )


def sniff(path: Path) -> str:
    """The format of ``path`` (a key of :data:`FORMAT_NAMES`): by content, then by suffix."""
    head = read_head(path)
    if not head:
        raise ImageReadError(
            f"{path} is empty (0 bytes); expected an image file. It was probably not written completely"
        )
    if head[128:132] == b"DICM":
        return "dicom"
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    suffix = image_suffix(path)
    if (
        head[344:348] == b"n+1\x00"
        or head[4:8] == b"n+2\x00"
        or (suffix == ".nii.gz" and head[:2] == b"\x1f\x8b")
    ):
        return "nifti"
    claimed = SUFFIX_FORMAT.get(suffix)
    if claimed == "dicom" or (claimed is None and raw_dicom(head)):
        return "dicom"
    if claimed:
        name = FORMAT_NAMES[claimed]
        raise ImageReadError(
            f"{path} is named {suffix} but its content is not {name} (it starts with {head[:8]!r}); "
            f"expected a {name} file. It may be corrupt or misnamed"
        )
    raise UnsupportedError(
        f"{path} has an unknown format (suffix {suffix or 'none'!r}, starts with {head[:8]!r}); expected one of "
        f"{', '.join(SUPPORTED_READ)} (DICOM files are also recognised without suffix)"
    )
