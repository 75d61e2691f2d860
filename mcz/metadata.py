"""Source metadata carried in the ``.mcz`` file's ancillary ``meta`` chunks.

- ``dicom``: the source DICOM dataset without its Pixel Data, as a DICOM file
  (pydicom writes it; so any DICOM toolkit can read it back);
- ``nifti``: the NIfTI header block (it holds the affine), so a decoded volume is
  written back with the same geometry.
"""

from __future__ import annotations

import io as _io

import numpy as np

from mcz.errors import FormatError
from mcz.io import MedicalImage


def pack_metadata(image: MedicalImage) -> dict[str, bytes]:
    """The metadata blobs of ``image`` worth keeping, by chunk name."""
    blobs: dict[str, bytes] = {}
    if image.dicom is not None:
        blobs["dicom"] = _dicom_bytes(image.dicom)
    if image.nifti_header is not None:
        blobs["nifti"] = bytes(image.nifti_header)
    return blobs


def _dicom_bytes(dataset) -> bytes:
    from pydicom import dcmwrite

    buffer = _io.BytesIO()
    dcmwrite(buffer, dataset, enforce_file_format=False)
    return buffer.getvalue()


def unpack_dicom(blob: bytes):
    """Read back a dataset stored by :func:`pack_metadata`."""
    from pydicom import dcmread
    from pydicom.errors import InvalidDicomError

    try:
        return dcmread(_io.BytesIO(blob), force=True)
    except (InvalidDicomError, ValueError, EOFError, OSError) as exc:
        raise FormatError(f"the file's DICOM metadata chunk is unreadable ({exc}); decode without it with --to npy") from exc


def nifti_affine(blob: bytes) -> np.ndarray:
    """The best affine of a stored NIfTI header block."""
    import nibabel as nib

    try:
        header = nib.Nifti1Header(blob) if len(blob) == 348 else nib.Nifti2Header(blob)
        return header.get_best_affine()
    except (ValueError, nib.spatialimages.HeaderDataError) as exc:
        raise FormatError(f"the file's NIfTI metadata chunk is unreadable ({exc})") from exc
