"""The DICOM side of decoding: the headers of the derived, lossy instances a ``.mcz`` file decodes to.

:func:`derive` takes the decoded image and its container, reads the stored
headers (one, or one per slice for a series) and the encoder's record, and marks
every header as :mod:`lossy and derived <mcz.dicom.lossy>` with the file's
achieved compression ratio.  Where a file stores no header (``--metadata none``,
or a non-DICOM source) and a DICOM file is to be written, a Secondary Capture
header is made and marked the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcz import metrics
from mcz.codec import registry
from mcz.container import Container, Header
from mcz.dicom.derived import EXTRA_KEY, DerivedInfo
from mcz.dicom.lossy import LossyStep, mark_lossy, method_term
from mcz.dicom.series import SeriesImage
from mcz.errors import McZError
from mcz.io import MedicalImage
from mcz.io.dicom import new_secondary_capture
from mcz.metadata import DICOM, DICOM_SLICES, unpack_dicom, unpack_dicom_slices

if TYPE_CHECKING:  # pragma: no cover
    import pydicom


def file_ratio(container: Container, file_bytes: int) -> float:
    """Achieved compression ratio of a ``.mcz`` file of ``file_bytes`` bytes (as ``mcz info`` shows it)."""
    h = container.header
    return metrics.compression_ratio(file_bytes, h.rows * h.columns * h.frames, h.bits_stored, h.dtype)


def derive(
    image: MedicalImage, container: Container, file_bytes: int, make_missing: bool = False
) -> MedicalImage:
    """``image`` with the marked header(s) of its derived instance(s).

    Parameters
    ----------
    image : MedicalImage
        The decoded pixels (its ``dicom`` is ignored: the headers are read from ``container``).
    container : Container
        The parsed ``.mcz`` file.
    file_bytes : int
        Its size, for the achieved compression ratio.
    make_missing : bool
        Make Secondary Capture headers where the file stores none (to write DICOM).

    Returns
    -------
    MedicalImage or SeriesImage
        A :class:`~mcz.dicom.series.SeriesImage` when the file holds a series.
    """
    header = container.header
    if not make_missing and EXTRA_KEY not in header.extra and DICOM not in container.metadata:
        return image  # not from DICOM and no DICOM to write: nothing to derive
    record = DerivedInfo.from_extra(header.extra, header.frames, _fallback_method(header.codec_id))
    stored = _stored_headers(container, record)
    frames = [image] if not record.series else [_frame(image, i) for i in range(header.frames)]
    made = [ds is None and make_missing for ds in stored]
    headers = [_secondary_capture(frame) if new else ds for ds, frame, new in zip(stored, frames, made)]
    _link_made_up(headers, made)
    ratio = file_ratio(container, file_bytes)
    description = _description(container, record)
    for index, ds in enumerate(headers):
        if ds is not None and not _lossless(header):  # a lossless step keeps the source's flags and UIDs
            # The source is real only for a kept header (minimal regenerated its UIDs).
            reference = record.metadata == "keep" and not made[index]
            mark_lossy(ds, _step(record, index, ratio, description, reference))
    if not record.series:
        image.dicom = headers[0]
        return image
    return SeriesImage(
        image.pixels, image.intensity, image.source_format, image.original_shape, image.layout,
        dicom=headers[0], slice_headers=tuple(headers), slice_names=record.names or (),
    )


def _fallback_method(codec_id: str) -> str:
    try:
        return method_term(registry.get_spec(codec_id).family)
    except McZError:
        return method_term("")


def _stored_headers(container: Container, record: DerivedInfo) -> list[pydicom.Dataset | None]:
    blobs = container.metadata
    first = unpack_dicom(blobs[DICOM]) if DICOM in blobs else None
    if not record.series:
        return [first]
    frames = container.header.frames
    if DICOM_SLICES not in blobs:
        return [first] + [None] * (frames - 1)
    return [first, *unpack_dicom_slices(blobs[DICOM_SLICES], frames - 1)]


def _frame(image: MedicalImage, index: int) -> MedicalImage:
    pixels = image.pixels[index : index + 1]
    return MedicalImage(pixels, image.intensity, image.source_format, pixels.shape[1:], "frames-first")


def _secondary_capture(image: MedicalImage) -> pydicom.Dataset:
    return new_secondary_capture(image)


def _link_made_up(headers: list[pydicom.Dataset | None], made: list[bool]) -> None:
    """Made-up headers of one series share the first one's study and series, and are numbered."""
    for index, ds in enumerate(headers):
        if made[index] and len(headers) > 1:
            first = headers[0]
            # Headers are made up only with make_missing, which makes every missing one: none is None.
            assert ds is not None and first is not None
            ds.StudyInstanceUID = first.StudyInstanceUID
            ds.SeriesInstanceUID = first.SeriesInstanceUID
            ds.InstanceNumber = index + 1


def _lossless(header: Header) -> bool:
    """A near-lossless file with bound 0: its pixels are the source's, bit for bit."""
    return header.codec_id == "nearlossless" and header.quality == 0


def _description(container: Container, record: DerivedInfo) -> str:
    h = container.header
    if h.codec_id == "nearlossless":
        return (
            f"Near-lossless compressed by {record.encoder} (method {record.method}: maximum error "
            f"{h.quality} stored units, every pixel within +/-{h.quality} of the source)"
        )
    return (
        f"Lossy compressed by {record.encoder} (learned codec {record.method}: model {h.codec_id}, "
        f"weights sha256 {h.checkpoint_sha256[:16]}, quality {h.quality})"
    )


def _step(record: DerivedInfo, index: int, ratio: float, description: str, reference: bool) -> LossyStep:
    return LossyStep(
        ratio=ratio,
        method=record.method,
        description=f"{description}, compression ratio {ratio:.2f}:1",
        sop_instance_uid=record.sop_instance_uids[index],
        series_instance_uid=record.series_instance_uid,
        reference_source=reference,
    )
