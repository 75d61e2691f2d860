"""Secondary Capture headers for images that have no DICOM header (NIfTI, PNG, arrays, ``--metadata none``).

The header is built by highdicom (:class:`highdicom.sc.SCImage`): the Patient,
General Study, General Series, General Equipment, SC Equipment, General Image
and SOP Common modules, with fresh UIDs and an empty patient and study (an
image from a file without DICOM header has none to give).  Changed after it:

- Conversion Type ``WSD`` (workstation: software made the image) instead of
  highdicom's ``DI`` (a device's digital interface);
- Patient Orientation and Laterality present but empty (Type 2C: unknown here).
  highdicom requires an orientation for the PATIENT coordinate system and sets
  Laterality only when given one;
- the Image Pixel module is left to mcz's writer (:mod:`mcz.io.dicom`), which
  writes the pixels as decoded: SCImage takes only single-frame, unsigned,
  full-depth pixels (Bits Stored = Bits Allocated), and mcz writes 12-bit,
  signed and multi-frame images too.

SOP class, by the pixels (PS3.3 A.8):

- one frame: Secondary Capture Image Storage; a rescale other than identity is
  written with Rescale Type ``US`` (unspecified units, Modality LUT module);
- several frames of unsigned MONOCHROME2 pixels without rescale: Multi-frame
  Grayscale Byte SC (8 bits stored) or Word SC (9 to 16 bits stored), with the
  SC Multi-frame Image module's Burned In Annotation ``NO`` (the source format
  carries no annotation information; mcz states the standard's required value),
  Presentation LUT Shape ``IDENTITY``, the identity rescale (0, 1, ``US``) and
  frames labelled 1..N in Frame Label Vector (the Frame Increment Pointer);
- several frames of anything else (signed, rescaled, MONOCHROME1, fewer than 8
  bits in a byte): no Secondary Capture IOD holds them, since the multi-frame
  ones require unsigned MONOCHROME2 pixels and an identity rescale.  They are
  written as the Byte or Word class of their storage width with the values they
  need (their sign, rescale, photometric interpretation), readable by pydicom
  and most viewers but outside the IOD, and :class:`ConformanceWarning` says
  which constraint fails; write NIfTI (``--to nii``) to keep such a volume in a
  standard format.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from mcz.errors import require

if TYPE_CHECKING:  # pragma: no cover
    import pydicom

    from mcz.io import MedicalImage

#: Manufacturer (0008,0070) of the Secondary Capture images mcz makes.
MANUFACTURER = "mcz"


class ConformanceWarning(UserWarning):
    """A DICOM output that no standard IOD describes exactly (see :mod:`mcz.io.dicom_capture`)."""


def secondary_capture(image: MedicalImage) -> pydicom.Dataset:
    """A new Secondary Capture header (no pixel data) for ``image``: fresh UIDs, empty patient and study.

    Parameters
    ----------
    image : MedicalImage
        The pixels the header is for (their size, frames, intensity choose the SOP class).

    Returns
    -------
    pydicom.Dataset
        With file meta; the writer adds the Image Pixel module and the pixels.

    Raises
    ------
    MissingDependencyError
        highdicom (the ``dicom`` extra) is not installed.

    Warns
    -----
    ConformanceWarning
        A multi-frame image that no Secondary Capture IOD holds (see the module docstring).
    """
    ds = _highdicom_header(image)
    if image.frames > 1:
        _multi_frame(ds, image)
    elif not _identity_rescale(image):
        ds.RescaleType = "US"  # Modality LUT module: required with a rescale; units unknown
    return ds


def _highdicom_header(image: MedicalImage) -> pydicom.Dataset:
    require("highdicom", "dicom")
    # lazy: keeps highdicom, pydicom out of import mcz.io.dicom_capture
    from highdicom.sc import SCImage
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import generate_uid

    # A placeholder of the right size: only the header is used (see the module docstring).
    wide = image.intensity.bits_stored > 8 or image.pixels.dtype.itemsize > 1
    placeholder = np.zeros((image.rows, image.columns), np.uint16 if wide else np.uint8)
    sc = SCImage(
        pixel_array=placeholder,
        photometric_interpretation="MONOCHROME2",
        bits_allocated=16 if wide else 8,
        coordinate_system="PATIENT",
        study_instance_uid=generate_uid(),
        series_instance_uid=generate_uid(),
        series_number=1,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer=MANUFACTURER,
        patient_orientation=("L", "P"),  # required by highdicom; emptied below
    )
    # A plain pydicom data set from here on (pickled by --jobs workers, deep-copied by the writer).
    ds = Dataset(sc)
    ds.file_meta = FileMetaDataset(sc.file_meta)
    del ds.PixelData
    ds.ConversionType = "WSD"
    ds.PatientOrientation = ""
    ds.Laterality = ""
    return ds


def _identity_rescale(image: MedicalImage) -> bool:
    return image.intensity.slope == 1.0 and image.intensity.intercept == 0.0


def _multi_frame(ds: pydicom.Dataset, image: MedicalImage) -> None:
    from pydicom.uid import (
        MultiFrameGrayscaleByteSecondaryCaptureImageStorage,
        MultiFrameGrayscaleWordSecondaryCaptureImageStorage,
    )  # lazy: keeps pydicom out of import mcz.io.dicom_capture

    it, dtype = image.intensity, image.pixels.dtype
    byte = dtype.itemsize == 1
    sop_class = (MultiFrameGrayscaleByteSecondaryCaptureImageStorage if byte
                 else MultiFrameGrayscaleWordSecondaryCaptureImageStorage)
    broken = _violations(image, byte)
    if broken:
        warnings.warn(
            f"{image.frames} frames of {dtype} pixels fit no DICOM Secondary Capture IOD: "
            f"{'; '.join(broken)}. Writing them as {sop_class.name} anyway, with the values they need "
            "(readable, but outside the IOD); write --to nii to keep a standard format",
            ConformanceWarning,
            stacklevel=4,
        )
    ds.SOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    # SC Multi-frame Image module (PS3.3 C.8.6.3).
    ds.BurnedInAnnotation = "NO"
    if it.photometric == "MONOCHROME2":
        ds.PresentationLUTShape = "IDENTITY"
    if _identity_rescale(image):
        ds.RescaleIntercept, ds.RescaleSlope = "0", "1"
    ds.RescaleType = "US"  # the writer adds the image's own slope and intercept where they are not 1 and 0
    ds.FrameIncrementPointer = 0x00182002  # Frame Label Vector
    ds.FrameLabelVector = [str(index + 1) for index in range(image.frames)]


def _violations(image: MedicalImage, byte: bool) -> list[str]:
    """What keeps ``image`` out of the Multi-frame Grayscale Byte/Word SC IODs (PS3.3 A.8.3.4, A.8.4.4)."""
    it, dtype = image.intensity, image.pixels.dtype
    found = []
    if it.photometric != "MONOCHROME2":
        found.append(f"{it.photometric} (MONOCHROME2 required)")
    if dtype.kind != "u":
        found.append(f"{dtype} values (unsigned required)")
    if not _identity_rescale(image):
        found.append(f"rescale slope {it.slope:g}, intercept {it.intercept:g} (1 and 0 required)")
    bits_ok = it.bits_stored == 8 if byte else dtype.itemsize == 2 and 9 <= it.bits_stored <= 16
    if dtype.kind == "u" and not bits_ok:
        found.append(f"{it.bits_stored} bits stored in {dtype} ({'8' if byte else '9-16 in 16'} required)")
    return found
