"""How much of a DICOM header a ``.mcz`` file keeps: ``keep``, ``minimal`` or ``none``.

- ``keep`` (default): the whole data set except Pixel Data, as read;
- ``minimal``: only what is needed to rebuild a valid, correctly displayed image:
  the SOP class, the image pixel module, Modality, Image Type, the rescale
  (modality LUT), the window (VOI LUT), the lossy compression history (it must
  never be lost), geometry (pixel spacing, slice position and orientation,
  instance number, so a series still stacks), Body Part Examined (so the ratio
  guideline still applies), Burned In Annotation and Recognizable Visual
  Features, the functional groups of enhanced objects; and, so that the result is
  still a valid instance of its IOD, the other top-level attributes of the source
  that the IOD requires (Type 1 or 2, conditional ones included, read from
  :mod:`mcz.dicom.iod`) outside the patient and study.  One rule decides what is
  left of each of them, and of every element inside a kept sequence, by its type
  in the IOD at that depth (Type 3 where the tables do not list it):

  * private elements are dropped;
  * coded and numeric values (CS, DS, IS, binary numbers: KVP, Scanning
    Sequence, Acquisition Number, ...) are kept;
  * UIDs are replaced, one new UID per old one (so references inside a series
    still agree); standard UIDs (SOP classes, ...) are kept;
  * text (LO, SH, ST, LT, UT, UC, UR, AE): Type 1 text is structure the IOD
    needs (units such as Rescale Type, code meanings, LUT labels, stack ids,
    the enhanced equipment's Manufacturer and Software Versions) and is kept,
    except a device's identity (Device Serial Number, Station Name, Device
    Label, Institution Name: ``"REMOVED"``, PS3.15 Annex E action D); Type 2
    text is present but empty (Manufacturer, Position Reference Indicator of a
    CT); other text is dropped;
  * dates, times, ages and person names: made up where Type 1 (the time of the
    encoding, e.g. Content Date of an enhanced object), empty where Type 2,
    dropped otherwise;
  * a Type 2 sequence at the top level is present with no items; a mandatory
    module's Type 2 attribute that the source lacks is added, empty.

  The Study, Series, SOP Instance and Frame of Reference UIDs are regenerated,
  and the patient and study attributes a viewer expects (Patient's Name, Patient
  ID, Study Date, Accession Number, ...) are present but empty.  The header
  then says so: Patient Identity Removed (0012,0062) ``YES`` (``NO`` when the
  source declares Burned In Annotation ``YES``: the pixels still identify) and
  De-identification Method (0012,0063) lists what was done.  No De-identification
  Method Code Sequence is written: its codes (CID 7050) name the PS3.15 profiles
  and options, and ``minimal`` is not a verified implementation of any of them;
- ``none``: no header at all; ``mcz decode --to dcm`` then writes a Secondary
  Capture image.

``minimal`` is a de-identification *aid*, not a de-identifier: it does not look
at the pixels (burned-in annotations, faces in head volumes), keeps no source
date or name but also proves nothing about the values it keeps, and
regenerated UIDs differ between separate ``mcz encode`` runs of one study.  Use a
conformant de-identification tool (PS3.15 Annex E profiles) where it matters.
It needs highdicom (the ``dicom`` extra) for the IOD tables.
"""

from __future__ import annotations

import copy
import datetime
from typing import TYPE_CHECKING

from mcz.dicom.iod import attribute_types, requirements
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
    # what the pixels themselves may reveal
    "BurnedInAnnotation", "RecognizableVisualFeatures",
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
# Value representations that can identify: free text, names, dates, times, ages and UIDs.
_IDENTIFYING_VRS = frozenset({
    "PN", "LO", "SH", "ST", "LT", "UT", "UC", "UR", "DA", "DT", "TM", "AS", "AE", "UI",
})
# The patient and study: only _EMPTY_KEYWORDS and the regenerated Study Instance UID stand for them.
_IDENTITY_ENTITIES = frozenset({"Patient", "Study"})
# Pixel data are the .mcz file's own; never copied from a header.
_PIXEL_KEYWORDS = frozenset({"PixelData", "FloatPixelData", "DoubleFloatPixelData", "ExtendedOffsetTable",
                             "ExtendedOffsetTableLengths"})
# Dates, times, ages and person names: never kept, a dummy where the IOD requires a value.
_PERSON_OR_TIME_VRS = frozenset({"PN", "DA", "DT", "TM", "AS"})
# Required text that identifies a device (and so a site): PS3.15 Table E.1-1 removes or replaces it.
_DEVICE_IDENTITY = frozenset({"DeviceSerialNumber", "StationName", "DeviceLabel", "InstitutionName"})
#: Type 1 text that the profile removes is replaced by this (a dummy value, PS3.15 action D).
REMOVED = "REMOVED"
#: De-identification Method (0012,0063) of a minimal header: what was done, one LO value each.
DEIDENTIFICATION_METHOD = (
    "mcz minimal metadata profile",
    "patient and study attributes emptied; UIDs replaced",
    "other text, names, dates removed or replaced",
    "private attributes removed; pixel data not examined",
)


class UidMap:
    """New UIDs for old ones, generated on first use, so slices of one series stay together."""

    def __init__(self) -> None:
        self._new: dict[str, str] = {}

    def __call__(self, old: str | None) -> str:
        """The new UID standing for ``old`` (a fresh one for a missing ``old``)."""
        from pydicom.uid import generate_uid  # lazy: keeps pydicom out of import mcz.dicom.profile

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
    """A new data set with only the :mod:`minimal <mcz.dicom.profile>` elements of ``ds``.

    Parameters
    ----------
    ds : pydicom.Dataset
        The source header (without pixel data); not changed.
    uids : UidMap
        Regenerates UIDs; share one map across the slices of a series.

    Returns
    -------
    pydicom.Dataset

    Raises
    ------
    MissingDependencyError
        highdicom (the ``dicom`` extra), whose IOD tables say what is required, is not installed.
    """
    # lazy: keeps pydicom out of import mcz.dicom.profile
    from pydicom.dataset import Dataset, FileMetaDataset

    types = attribute_types(str(ds.get("SOPClassUID", ""))) or {}
    out = Dataset()
    for keyword in _MINIMAL_KEYWORDS:
        if keyword in ds:
            out[keyword] = copy.deepcopy(ds[keyword])
            if out[keyword].VR == "SQ":
                _scrub(out[keyword].value, (keyword,), types, uids)
    for keyword in _EMPTY_KEYWORDS:
        setattr(out, keyword, "")
    for keyword in _REGENERATED_UIDS:
        if keyword in ds or keyword != "FrameOfReferenceUID":
            setattr(out, keyword, uids(ds.get(keyword)))
    _add_required(out, ds, types, uids)
    _mark_deidentified(out, ds)
    out.file_meta = FileMetaDataset()
    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if syntax is not None:
        out.file_meta.TransferSyntaxUID = syntax
    return out


def _add_required(
    out: pydicom.Dataset, ds: pydicom.Dataset, types: dict[tuple[str, ...], str], uids: UidMap
) -> None:
    """Add the source's IOD-required top-level attributes that ``out`` lacks, by the profile's rule."""
    from pydicom.datadict import dictionary_VR  # lazy: keeps pydicom out of import mcz.dicom.profile

    present = frozenset(element.keyword for element in ds if element.keyword)
    for need in requirements(str(ds.get("SOPClassUID", "")), present) or ():
        keyword = need.keyword
        if keyword in out or keyword in _PIXEL_KEYWORDS or need.entity in _IDENTITY_ENTITIES:
            continue
        if keyword in ds:
            element = _minimal_element(ds[keyword], (), types, uids)
            if element is not None:
                out[keyword] = element
        elif need.type == "2" and need.mandatory:  # present, empty: the standard's "unknown"
            out[keyword] = _empty(keyword, dictionary_VR(keyword))


def _minimal_element(
    element: pydicom.DataElement, path: tuple[str, ...], types: dict[tuple[str, ...], str], uids: UidMap
) -> pydicom.DataElement | None:
    """What the profile keeps of ``element`` found under the sequences ``path``: a copy, or None (dropped).

    The rule of the module docstring, by the attribute's type in the IOD at that
    depth (Type 3 where the tables do not list it, e.g. retired or private).
    """
    from pydicom.sequence import Sequence  # lazy: keeps pydicom out of import mcz.dicom.profile

    if element.tag.is_private:
        return None
    keyword = element.keyword
    kind = types.get((*path, keyword), "3")
    out = copy.deepcopy(element)
    if out.VR == "SQ":
        if kind.startswith("2") and not path:
            out.value = Sequence([])  # a Type 2 sequence: present, no items
        else:
            _scrub(out.value, (*path, keyword), types, uids)
    elif keyword in _MINIMAL_KEYWORDS:
        pass  # what displays the image, at any depth (e.g. Rescale Type in a functional group)
    elif out.VR == "UI":
        out.value = _new_uids(out.value, uids)
    elif out.VR not in _IDENTIFYING_VRS:
        pass  # coded or numeric: technical, kept
    elif kind.startswith("2"):
        out.value = None  # present, empty
    elif keyword in _DEVICE_IDENTITY and kind in ("1", "1C"):
        out.value = REMOVED
    elif out.VR in _PERSON_OR_TIME_VRS:
        if kind != "1":
            return None  # a conditional or optional date, time or name: dropped
        out.value = _dummy(out.VR)
    elif kind == "3":
        return None  # optional free text: dropped
    return out  # Type 1 or 1C text: structure the IOD needs (units, labels, codes, stack ids): kept


def _scrub(items: pydicom.Sequence, path: tuple[str, ...], types: dict[tuple[str, ...], str],
           uids: UidMap) -> None:
    """Apply :func:`_minimal_element` to every element of the sequence items found at ``path``, in place."""
    for item in items:
        for tag in list(item.keys()):
            kept = _minimal_element(item[tag], path, types, uids)
            if kept is None:
                del item[tag]
            else:
                item[tag] = kept


def _empty(keyword: str, vr: str) -> pydicom.DataElement:
    # lazy: keeps pydicom out of import mcz.dicom.profile
    from pydicom.datadict import tag_for_keyword
    from pydicom.dataelem import DataElement
    from pydicom.sequence import Sequence

    tag = tag_for_keyword(keyword)
    assert tag is not None  # a dictionary keyword: the caller took its VR from the same dictionary
    return DataElement(tag, vr, Sequence([]) if vr == "SQ" else None)


def _dummy(vr: str) -> str:
    """A non-empty value of ``vr`` that says nothing about the source (PS3.15 action D): now, or REMOVED."""
    now = datetime.datetime.now()
    return {"DA": now.strftime("%Y%m%d"), "TM": now.strftime("%H%M%S"),
            "DT": now.strftime("%Y%m%d%H%M%S")}.get(vr, REMOVED)


def _new_uids(value, uids: UidMap):
    """Instance UIDs replaced (consistently, through ``uids``); standard UIDs (1.2.840.10008...) kept."""
    # lazy: keeps pydicom out of import mcz.dicom.profile
    from pydicom.multival import MultiValue
    from pydicom.uid import UID

    def one(uid):
        return uid if uid and not UID(str(uid)).is_private else uids(uid)

    return [one(v) for v in value] if isinstance(value, (list, MultiValue)) else one(value)


def _mark_deidentified(out: pydicom.Dataset, ds: pydicom.Dataset) -> None:
    """Patient Identity Removed and De-identification Method (Patient module, PS3.3 C.7.1.1)."""
    burned_in = str(ds.get("BurnedInAnnotation", "")).strip().upper() == "YES"
    out.PatientIdentityRemoved = "NO" if burned_in else "YES"
    out.DeidentificationMethod = list(DEIDENTIFICATION_METHOD)
