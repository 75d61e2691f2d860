"""How much of a DICOM header a ``.mcz`` file keeps: ``keep``, ``minimal`` or ``none``.

- ``keep`` (default): the whole data set except Pixel Data, as read;
- ``minimal``: only what is needed to rebuild a valid, correctly displayed image:
  the SOP class, the image pixel module, Modality, Image Type, the rescale
  (modality LUT), the window (VOI LUT), the lossy compression history (it must
  never be lost), geometry (pixel spacing, slice position and orientation,
  instance number, so a series still stacks) and Body Part Examined (so the
  ratio guideline still applies).  The Study, Series, SOP Instance and Frame of
  Reference UIDs are regenerated, and the patient and study attributes a viewer
  expects (Patient's Name, Patient ID, Study Date, Accession Number, ...) are
  present but empty.  Private elements are dropped; inside the kept functional
  group sequences, text, dates, times, person names and UIDs are dropped;
- ``none``: no header at all; ``mcz decode --to dcm`` then writes a Secondary
  Capture image.

``minimal`` is a de-identification *aid*, not a de-identifier: it does not look
at the pixels (burned-in annotations, faces in head volumes), keeps dates and
identifiers nowhere but also proves nothing about the values it keeps, and
regenerated UIDs differ between separate ``mcz encode`` runs of one study.  Use a
conformant de-identification tool (PS3.15 Annex E profiles) where it matters.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from mcz.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    import pydicom

#: The ``--metadata`` choices.
METADATA_MODES = ("keep", "minimal", "none")

_MINIMAL_KEYWORDS = (
    # SOP common, series and image identity that says what the pixels are
    "SOPClassUID", "Modality", "ImageType", "BodyPartExamined", "SeriesNumber", "InstanceNumber",
    # image pixel module
    "SamplesPerPixel", "PhotometricInterpretation", "Rows", "Columns", "BitsAllocated", "BitsStored",
    "HighBit", "PixelRepresentation", "NumberOfFrames", "PixelAspectRatio",
    # modality LUT and VOI LUT
    "RescaleSlope", "RescaleIntercept", "RescaleType", "ModalityLUTSequence", "WindowCenter", "WindowWidth",
    "WindowCenterWidthExplanation", "VOILUTFunction", "VOILUTSequence", "PresentationLUTShape",
    # lossy compression history: never dropped
    "LossyImageCompression", "LossyImageCompressionRatio", "LossyImageCompressionMethod",
    # geometry
    "PixelSpacing", "ImagerPixelSpacing", "SliceThickness", "SpacingBetweenSlices", "ImagePositionPatient",
    "ImageOrientationPatient", "PatientPosition", "PatientOrientation", "SliceLocation",
    # enhanced multi-frame objects carry rescale and geometry here
    "SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence",
)
# Type 2 attributes of the patient and study modules: present, empty ("patient-less").
_EMPTY_KEYWORDS = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
    "ReferringPhysicianName", "StudyID", "AccessionNumber",
)
_REGENERATED_UIDS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID")
# Value representations dropped inside kept sequences: free text, names, dates, times and UIDs.
_IDENTIFYING_VRS = frozenset({
    "PN", "LO", "SH", "ST", "LT", "UT", "UC", "UR", "DA", "DT", "TM", "AS", "AE", "UI",
})


class UidMap:
    """New UIDs for old ones, generated on first use, so slices of one series stay together."""

    def __init__(self) -> None:
        self._new: dict[str, str] = {}

    def __call__(self, old: str | None) -> str:
        """The new UID standing for ``old`` (a fresh one for a missing ``old``)."""
        from pydicom.uid import generate_uid

        if not old:
            return generate_uid()
        return self._new.setdefault(str(old), generate_uid())


def check_mode(mode: str) -> str:
    """``mode`` if it is one of :data:`METADATA_MODES`, else UsageError."""
    if mode not in METADATA_MODES:
        raise UsageError(f"metadata mode {mode!r}; expected one of {', '.join(METADATA_MODES)}")
    return mode


def header_for_mode(ds: pydicom.Dataset | None, mode: str, uids: UidMap) -> pydicom.Dataset | None:
    """The header to store for ``mode``: ``ds`` itself, a minimal copy, or None.

    Parameters
    ----------
    ds : pydicom.Dataset or None
        The source header (without pixel data).
    mode : str
        One of :data:`METADATA_MODES`.
    uids : UidMap
        Regenerates UIDs for ``minimal``; share one map across the slices of a series.

    Returns
    -------
    pydicom.Dataset or None
    """
    check_mode(mode)
    if ds is None or mode == "none":
        return None
    return ds if mode == "keep" else minimal_dataset(ds, uids)


def minimal_dataset(ds: pydicom.Dataset, uids: UidMap) -> pydicom.Dataset:
    """A new data set with only the :mod:`minimal <mcz.dicom.profile>` elements of ``ds``."""
    from pydicom.dataset import Dataset, FileMetaDataset

    out = Dataset()
    for keyword in _MINIMAL_KEYWORDS:
        if keyword in ds:
            out[keyword] = copy.deepcopy(ds[keyword])
    for keyword in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        if keyword in out:
            _drop_identifying(out[keyword].value)
    for keyword in _EMPTY_KEYWORDS:
        setattr(out, keyword, "")
    for keyword in _REGENERATED_UIDS:
        if keyword in ds or keyword != "FrameOfReferenceUID":
            setattr(out, keyword, uids(ds.get(keyword)))
    out.file_meta = FileMetaDataset()
    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if syntax is not None:
        out.file_meta.TransferSyntaxUID = syntax
    return out


def _drop_identifying(items: pydicom.Sequence) -> None:
    """Remove private elements and identifying value representations from sequence items, recursively."""
    for item in items:
        for tag in list(item.keys()):
            element = item[tag]
            if tag.is_private or element.VR in _IDENTIFYING_VRS:
                del item[tag]
            elif element.VR == "SQ":
                _drop_identifying(element.value)
