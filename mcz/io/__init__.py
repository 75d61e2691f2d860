"""Reading and writing medical images: DICOM, NIfTI, PNG, TIFF, JPEG and NPY.

Every reader returns a :class:`MedicalImage`: the *stored* pixel values (before
any modality rescale) as a C-contiguous ``(frames, rows, columns)`` array, their
:class:`~mcz.intensity.Intensity`, and what is needed to write the image back the
way it came (original shape and axis layout, the DICOM header without pixels, the
NIfTI header and affine).

pydicom, nibabel, Pillow and tifffile are imported inside the functions that need
them, so ``import mcz.io`` stays cheap; torch is never imported.

Modules, one concept each: :mod:`~mcz.io.image` (the image and its layouts),
:mod:`~mcz.io.sniff` (format detection), :mod:`~mcz.io.dispatch` (``read_image``,
``write_image``), :mod:`~mcz.io.dicom`, :mod:`~mcz.io.nifti`, :mod:`~mcz.io.raster`
(PNG, JPEG, TIFF), :mod:`~mcz.io.npy` and :mod:`~mcz.io.colour` (colour to grey).
"""

from __future__ import annotations

from mcz.io.dispatch import SUPPORTED_WRITE, Writer, read_image, write_image
from mcz.io.image import LAYOUTS, MedicalImage, frames_view, from_array, from_frames
from mcz.io.sniff import SUPPORTED_READ

__all__ = [
    "LAYOUTS",
    "SUPPORTED_READ",
    "SUPPORTED_WRITE",
    "MedicalImage",
    "Writer",
    "frames_view",
    "from_array",
    "from_frames",
    "read_image",
    "write_image",
]
