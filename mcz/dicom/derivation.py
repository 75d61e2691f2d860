"""Where a derived instance records how it was derived: top level, or the Derivation Image functional group.

Single-frame image IODs (CT, MR, CR, DX, Secondary Capture, ...) carry the
derivation at the top level (General Image and General Reference modules):

- Derivation Description (0008,2111): text, the source's own text kept before it;
- Derivation Code Sequence (0008,9215): one code item per derivation step;
- Source Image Sequence (0008,2112): one item per referenced source instance.

The enhanced multi-frame IODs (Enhanced CT, Enhanced MR, Legacy Converted
Enhanced, ...) have none of these at the top level.  There the same information
is the Derivation Image functional group macro (PS3.3 C.7.6.16.2.6): one item of
Derivation Image Sequence (0008,9124) per derivation step, holding its own
Derivation Description, Derivation Code Sequence and Source Image Sequence.
mcz adds its item where
the source has that macro already (Per-frame: one item per frame, referencing the
source's frame of the same number), else to the Shared Functional Groups
Sequence (the whole source instance, all frames).  A referenced source is also
listed, by study and series, in Source Image Evidence Sequence (0008,9154), which
these IODs require whenever a Derivation Image functional group references one.

Two cases keep the top-level form on an enhanced object, where its IOD does not
define it (a Standard Extended SOP Class, as validators warn):

- an object of an enhanced SOP class with no functional group sequences at all
  (non-conformant; pydicom's ``emri_small.dcm`` is one): creating a Shared
  Functional Groups Sequence for it would only trade its one "missing sequence"
  error for errors about every macro that sequence lacks;
- a step without a source to reference (the ``minimal`` profile regenerated the
  source's UIDs): a Derivation Image item's Source Image Sequence would be
  present but empty, which validators (dciodvfy) read as a reference needing a
  Source Image Evidence Sequence, and that sequence cannot list nothing.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pydicom

_SHARED = "SharedFunctionalGroupsSequence"
_PER_FRAME = "PerFrameFunctionalGroupsSequence"
_DESCRIPTION_MAX = 1024  # ST


@dataclass(frozen=True)
class SourceReference:
    """The source instance a derived instance references (UIDs already validated by the caller).

    Attributes
    ----------
    sop_class_uid, sop_instance_uid : str
        The source instance.
    study_instance_uid, series_instance_uid : str or None
        Where it lives, for Source Image Evidence Sequence; None when unknown or invalid.
    frames : int
        Its Number of Frames (1 for single-frame objects).
    """

    sop_class_uid: str
    sop_instance_uid: str
    study_instance_uid: str | None = None
    series_instance_uid: str | None = None
    frames: int = 1


def uses_functional_groups(ds: pydicom.Dataset) -> bool:
    """Whether ``ds`` is an enhanced multi-frame object with functional group sequences."""
    return _SHARED in ds or _PER_FRAME in ds


def record_derivation(
    ds: pydicom.Dataset, description: str, code: pydicom.Dataset, source: SourceReference | None
) -> None:
    """Add one derivation step to ``ds``, in place, where its IOD keeps derivations.

    Parameters
    ----------
    ds : pydicom.Dataset
        The derived instance's header (the source's header being changed).
    description : str
        Derivation Description of this step.
    code : pydicom.Dataset
        Its Derivation Code Sequence item (CID 7203), e.g. (113040, DCM, "Lossy Compression").
    source : SourceReference or None
        The instance it was derived from, or None to reference none.
    """
    if uses_functional_groups(ds) and source is not None:
        _record_in_functional_groups(ds, description, code, source)
    else:
        _record_at_top_level(ds, description, code, source)


def _record_at_top_level(
    ds: pydicom.Dataset, description: str, code: pydicom.Dataset, source: SourceReference | None
) -> None:
    from pydicom.sequence import Sequence  # lazy: keeps pydicom out of import mcz.dicom.derivation

    previous = str(ds.get("DerivationDescription") or "").strip()
    text = f"{previous}; {description}" if previous else description
    ds.DerivationDescription = text[-_DESCRIPTION_MAX:]  # keep the newest step if the history is long
    ds.DerivationCodeSequence = Sequence([*(ds.get("DerivationCodeSequence") or []), code])
    if source is not None:
        item = _source_item(source, frame=None)
        ds.SourceImageSequence = Sequence([*(ds.get("SourceImageSequence") or []), item])


def _record_in_functional_groups(
    ds: pydicom.Dataset, description: str, code: pydicom.Dataset, source: SourceReference
) -> None:
    # lazy: keeps pydicom out of import mcz.dicom.derivation
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    per_frame = list(ds.get(_PER_FRAME) or [])
    targets: list[tuple[Dataset, int | None]]  # (functional group, source frame number or None)
    if any("DerivationImageSequence" in item for item in per_frame):
        # The source keeps its derivations per frame: one step per frame, frame i from source frame i.
        targets = [(item, index + 1) for index, item in enumerate(per_frame)]
    else:
        if not ds.get(_SHARED):
            ds.SharedFunctionalGroupsSequence = Sequence([Dataset()])
        targets = [(ds.SharedFunctionalGroupsSequence[0], None)]
    for group, frame in targets:
        step = Dataset()
        step.DerivationDescription = description[:_DESCRIPTION_MAX]
        step.DerivationCodeSequence = Sequence([copy.deepcopy(code)])
        step.SourceImageSequence = Sequence([_source_item(source, frame if source.frames > 1 else None)])
        group.DerivationImageSequence = Sequence([*(group.get("DerivationImageSequence") or []), step])
    if source.study_instance_uid and source.series_instance_uid:
        _add_evidence(ds, source)


def _source_item(source: SourceReference, frame: int | None) -> pydicom.Dataset:
    # lazy: keeps pydicom out of import mcz.dicom.derivation
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    purpose = Dataset()
    purpose.CodeValue, purpose.CodingSchemeDesignator = "121320", "DCM"
    purpose.CodeMeaning = "Uncompressed predecessor"
    item = Dataset()
    item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = source.sop_class_uid, source.sop_instance_uid
    if frame is not None:
        item.ReferencedFrameNumber = frame
    item.PurposeOfReferenceCodeSequence = Sequence([purpose])
    return item


def _add_evidence(ds: pydicom.Dataset, source: SourceReference) -> None:
    """List ``source`` in Source Image Evidence Sequence, merged into its study's and series' items."""
    # lazy: keeps pydicom out of import mcz.dicom.derivation
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    evidence = ds.get("SourceImageEvidenceSequence")
    if evidence is None:
        ds.SourceImageEvidenceSequence = evidence = Sequence([])
    study = next((s for s in evidence if s.get("StudyInstanceUID") == source.study_instance_uid), None)
    if study is None:
        study = Dataset()
        study.StudyInstanceUID = source.study_instance_uid
        study.ReferencedSeriesSequence = Sequence([])
        evidence.append(study)
    series_items = study.setdefault("ReferencedSeriesSequence", Sequence([])).value
    series = next((s for s in series_items if s.get("SeriesInstanceUID") == source.series_instance_uid), None)
    if series is None:
        series = Dataset()
        series.SeriesInstanceUID = source.series_instance_uid
        series.ReferencedSOPSequence = Sequence([])
        series_items.append(series)
    instances = series.setdefault("ReferencedSOPSequence", Sequence([])).value
    if not any(i.get("ReferencedSOPInstanceUID") == source.sop_instance_uid for i in instances):
        item = Dataset()
        item.ReferencedSOPClassUID = source.sop_class_uid
        item.ReferencedSOPInstanceUID = source.sop_instance_uid
        instances.append(item)
