"""NIfTI-1 and NIfTI-2 (optionally gzipped): reading and writing with nibabel.

nibabel is imported inside the functions that need it.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from mcz.errors import UnsupportedError
from mcz.intensity import intensity_for
from mcz.io.colour import colour_to_grey
from mcz.io.image import MedicalImage, frames_view, native

if TYPE_CHECKING:  # pragma: no cover
    from mcz.io.dispatch import Writer

# ----- reading


def read_nifti(path: Path, grey: bool) -> MedicalImage:
    """Read a NIfTI-1 or NIfTI-2 file, gzipped or not (``grey`` as in :func:`~mcz.io.read_image`)."""
    import nibabel as nib  # lazy: keeps nibabel out of import mcz.cli.main

    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    # NIfTI-2 headers are 540 bytes long, NIfTI-1 348 (either byte order); loading from
    # bytes rather than nib.load keeps the format independent of the file name.
    size = int.from_bytes(data[:4], "little")
    klass = nib.Nifti2Image if 540 in (size, int.from_bytes(data[:4], "big")) else nib.Nifti1Image
    img = klass.from_bytes(data)
    proxy = img.dataobj
    arr = np.asarray(proxy.get_unscaled()) if hasattr(proxy, "get_unscaled") else np.asarray(proxy)
    arr = native(arr)
    if arr.dtype.names:  # RGB24 / RGBA32 voxels
        arr = _structured_to_grey(arr, grey, path)
    if arr.ndim < 2:
        raise UnsupportedError(f"{path}: NIfTI data of shape {arr.shape}; expected at least 2-D")
    slope = float(getattr(proxy, "slope", 1.0))
    inter = float(getattr(proxy, "inter", 0.0))
    intensity = intensity_for(arr, slope=slope, intercept=inter)
    return MedicalImage(
        frames_view(arr, "frames-last"),
        intensity,
        "nifti",
        arr.shape,
        "frames-last",
        nifti_affine=np.array(img.affine, dtype=np.float64),
        nifti_header=bytes(img.header.binaryblock),
    )


def _structured_to_grey(arr: np.ndarray, grey: bool, path: Path) -> np.ndarray:
    names = arr.dtype.names or ()
    if not {"R", "G", "B"} <= set(names):
        raise UnsupportedError(
            f"{path}: voxels of structured type {arr.dtype}; expected a plain numeric type"
        )
    channels = [arr[c] for c in ("R", "G", "B", "A") if c in names]
    return colour_to_grey(np.stack(channels, axis=-1), "A" in names, grey, "RGB NIfTI", path)


# ----- writing


def nifti_writer(image: MedicalImage, fmt: str) -> Writer:
    """The :data:`~mcz.io.Writer` of ``image`` as NIfTI (``fmt`` ``"nii.gz"`` gzips it)."""
    import nibabel as nib  # lazy: keeps nibabel out of import mcz.cli.main

    if image.layout == "frames-last":
        data = image.source_array()
    else:  # NIfTI's first two axes are the in-plane ones
        data = image.pixels.transpose(1, 2, 0)
        data = data[..., 0] if image.frames == 1 else data
    block = image.nifti_header
    klass = nib.Nifti2Image if block is not None and len(block) == 540 else nib.Nifti1Image
    header = klass.header_class(binaryblock=bytes(block)) if block is not None else None
    affine = image.nifti_affine if image.nifti_affine is not None else np.eye(4)
    img = klass(np.asarray(data), affine, header=header)
    img.set_data_dtype(data.dtype)
    # An explicit slope stops nibabel from rescaling: the stored values are written as they are.
    img.header.set_slope_inter(image.intensity.slope, image.intensity.intercept)

    def write(f: BinaryIO) -> None:
        raw = img.to_bytes()
        f.write(gzip.compress(raw, compresslevel=6) if fmt == "nii.gz" else raw)

    return write


def mark_lossy(block: bytes, text: str) -> bytes:
    """A NIfTI header block whose ``descrip`` (80 bytes) says the voxels went through lossy coding.

    NIfTI has no lossy flag like DICOM's (0028,2110); ``descrip`` is where tools and people look.
    """
    import nibabel as nib  # lazy: keeps nibabel out of import mcz.cli.main

    klass = nib.Nifti2Image if len(block) == 540 else nib.Nifti1Image
    header = klass.header_class(binaryblock=bytes(block))
    old = bytes(header["descrip"]).rstrip(b"\0").decode("ascii", "replace")
    # The coding first (it must survive the 80-byte limit), then what the source said.
    header["descrip"] = (f"{text}; {old}" if old else text).encode("ascii", "replace")[:79]
    return header.binaryblock
