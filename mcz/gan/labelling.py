"""Labels on an image decoded by the realistic (GAN) decoder: a non-diagnostic preview.

DICOM: every Derivation Description (0008,2111) of the header, including those inside
Derivation Image functional groups of enhanced objects, gets a sentence saying that the
pixels are a non-diagnostic preview that may show structures the source does not have,
and Image Type (0008,0008) gets the values ``NON DIAGNOSTIC`` and ``PREVIEW`` (Image Type
is CS: upper case, at most 16 characters a value, no hyphen, so the phrase is split in two).
A series gets the labels on every slice's header.  NIfTI: ``descrip`` says it too.
"""

from __future__ import annotations

from typing import Any

from mcz.codec.realistic import PREVIEW_LABEL
from mcz.io.nifti import mark_lossy

#: The Image Type values the realistic decoder adds.
IMAGE_TYPE_VALUES = ("NON DIAGNOSTIC", "PREVIEW")
#: Derivation Description is ST: at most 1024 characters.
_ST_MAX = 1024


def sentence(decoder_id: str) -> str:
    """The text appended to Derivation Description."""
    return (f"{PREVIEW_LABEL.upper()}: pixels made by the realistic (GAN) decoder {decoder_id}, which may draw "
            "structures absent from the source; not for diagnosis")


def mark_dataset(ds: Any, decoder_id: str) -> None:
    """Label one pydicom header in place (Derivation Description everywhere it occurs, Image Type)."""
    text = sentence(decoder_id)
    found = False
    for element in list(ds.iterall()):
        if element.keyword == "DerivationDescription":
            element.value = _joined(str(element.value or ""), text)
            found = True
    if not found:
        ds.DerivationDescription = _joined("", text)
    raw = ds.get("ImageType")
    values = ["DERIVED", "SECONDARY"] if raw in (None, "") else [raw] if isinstance(raw, str) else list(raw)
    ds.ImageType = values + [v for v in IMAGE_TYPE_VALUES if v not in values]


def _joined(old: str, text: str) -> str:
    if not old:
        return text[:_ST_MAX]
    keep = max(0, _ST_MAX - len(text) - 2)
    return f"{old[:keep]}; {text}"


def mark_image(image: Any, decoder_id: str) -> Any:
    """Label a decoded :class:`~mcz.io.MedicalImage` (or series): its DICOM header(s) and NIfTI ``descrip``."""
    headers = list(getattr(image, "slice_headers", ()) or ())
    if image.dicom is not None and all(h is not image.dicom for h in headers):
        headers.append(image.dicom)
    for ds in headers:
        if ds is not None:
            mark_dataset(ds, decoder_id)
    if image.nifti_header:
        image.nifti_header = mark_lossy(image.nifti_header, f"{PREVIEW_LABEL.upper()} GAN {decoder_id}")
    image.decoder, image.decoder_id = "realistic", decoder_id
    return image
