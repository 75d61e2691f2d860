"""Source metadata carried in the ``.mcz`` file's ancillary ``meta`` chunks.

- ``dicom``: the source DICOM dataset without its Pixel Data, as a DICOM file
  (pydicom writes it; so any DICOM toolkit can read it back);
- ``dicom-slices``: the headers of the other slices of a series coded as one
  volume (:mod:`mcz.dicom.series`): a ``u32`` count, then for each slice a
  ``u32`` length and the slice's header written as ``dicom`` is (big-endian
  integers);
- ``nifti``: the NIfTI header block (it holds the affine), so a decoded volume is
  written back with the same geometry.
"""

from __future__ import annotations

import io as _io
import struct

import numpy as np

from mcz.errors import FormatError
from mcz.io import MedicalImage


#: Chunk names.
DICOM, DICOM_SLICES, NIFTI = "dicom", "dicom-slices", "nifti"


def pack_metadata(image: MedicalImage, slices: list | None = None) -> dict[str, bytes]:
    """The metadata blobs of ``image`` worth keeping, by chunk name.

    Parameters
    ----------
    image : MedicalImage
        Its ``dicom`` header (the first slice's, for a series) and NIfTI header are kept.
    slices : list of pydicom.Dataset, optional
        The headers of a series' other slices, in frame order after the first.

    Returns
    -------
    dict
        Chunk name -> bytes.
    """
    blobs: dict[str, bytes] = {}
    if image.dicom is not None:
        blobs[DICOM] = dicom_bytes(image.dicom)
    if slices:
        blobs[DICOM_SLICES] = _frame_blobs([dicom_bytes(ds) for ds in slices])
    if image.nifti_header is not None:
        blobs[NIFTI] = bytes(image.nifti_header)
    return blobs


def _frame_blobs(blobs: list[bytes]) -> bytes:
    parts = [struct.pack(">I", len(blobs))]
    for blob in blobs:
        parts += [struct.pack(">I", len(blob)), blob]
    return b"".join(parts)


def unpack_dicom_slices(blob: bytes, expected: int) -> list:
    """Read back the ``dicom-slices`` chunk: ``expected`` data sets, or FormatError.

    Each length is checked against the bytes that remain before its header is parsed,
    so a damaged count or length cannot make the reader run past the chunk.
    """
    count = struct.unpack_from(">I", blob, 0)[0] if len(blob) >= 4 else -1
    if count != expected:
        raise FormatError(
            f"the file's dicom-slices chunk lists {count} headers, expected {expected} (one per slice "
            "after the first); the file is damaged. Decode it with --to npy or --to nii"
        )
    offset, out = 4, []
    for index in range(count):
        size = struct.unpack_from(">I", blob, offset)[0] if offset + 4 <= len(blob) else None
        if size is None or offset + 4 + size > len(blob):
            raise FormatError(
                f"the file's dicom-slices chunk ends inside header {index + 1} of {count}; it is damaged"
            )
        out.append(unpack_dicom(blob[offset + 4 : offset + 4 + size]))
        offset += 4 + size
    return out


def dicom_bytes(dataset) -> bytes:
    """A pydicom data set as bytes, written as it is (:func:`unpack_dicom` reads it back)."""
    from pydicom import dcmwrite  # lazy: keeps pydicom out of import mcz.metadata

    buffer = _io.BytesIO()
    dcmwrite(buffer, dataset, enforce_file_format=False)
    return buffer.getvalue()


def unpack_dicom(blob: bytes):
    """Read back a dataset stored by :func:`pack_metadata`."""
    # lazy: keeps pydicom out of import mcz.metadata
    from pydicom import dcmread
    from pydicom.errors import InvalidDicomError

    try:
        return dcmread(_io.BytesIO(blob), force=True)
    except (InvalidDicomError, ValueError, EOFError, OSError) as exc:
        raise FormatError(f"the file's DICOM metadata chunk is unreadable ({exc}); decode without it with --to npy") from exc


def nifti_affine(blob: bytes) -> np.ndarray:
    """The best affine of a stored NIfTI header block."""
    import nibabel as nib  # lazy: keeps nibabel out of import mcz.metadata

    try:
        header = nib.Nifti1Header(blob) if len(blob) == 348 else nib.Nifti2Header(blob)
        return header.get_best_affine()
    except (ValueError, nib.spatialimages.HeaderDataError) as exc:
        raise FormatError(f"the file's NIfTI metadata chunk is unreadable ({exc})") from exc
