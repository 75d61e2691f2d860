"""The DICOM side of encoding: which headers a ``.mcz`` file stores, and the encoder's record.

:func:`prepare` turns a source image into the ``meta`` chunks to store (the
header as ``--metadata`` asks, every slice's for a series) and the
:class:`~mcz.dicom.derived.DerivedInfo` record (new UIDs, method term, names);
:func:`record_extra` gives the header entries that carry that record (the encoder writes them).
"""

from __future__ import annotations

from typing import Any

import dataclasses

from mcz import __version__
from mcz.dicom.derived import EXTRA_KEY, DerivedInfo
from mcz.dicom.lossy import method_term
from mcz.dicom.profile import UidMap, check_mode, header_for_mode
from mcz.dicom.series import SeriesImage
from mcz.io import MedicalImage
from mcz.metadata import NIFTI, pack_metadata


def prepare(
    image: MedicalImage, mode: str, family: str, new_series: bool
) -> tuple[dict[str, bytes], DerivedInfo | None]:
    """The metadata blobs to store and the record for the decoder.

    Parameters
    ----------
    image : MedicalImage or SeriesImage
        The source; only DICOM sources get a record.
    mode : str
        ``"keep"``, ``"minimal"`` or ``"none"`` (:mod:`mcz.dicom.profile`).
    family : str
        The model family, for the method term.
    new_series : bool
        Mint a new Series Instance UID for the derived instances.

    Returns
    -------
    (dict, DerivedInfo or None)
    """
    check_mode(mode)
    uids = UidMap()
    headers = list(image.slice_headers) if isinstance(image, SeriesImage) else [image.dicom]
    stored = [header_for_mode(ds, mode, uids) for ds in headers]
    # A mode keeps every slice's header or none of them.
    slices = stored[1:] if stored[0] is not None else None
    blobs = pack_metadata(dataclasses.replace(image, dicom=stored[0]), slices)
    if mode == "none":
        blobs.pop(NIFTI, None)
    if image.source_format != "dicom":
        return blobs, None
    # Source file names can carry identity: only a kept header keeps them.
    names = list(image.slice_names) if isinstance(image, SeriesImage) and mode == "keep" else None
    record = DerivedInfo.new(
        metadata=mode, method=method_term(family), encoder=f"mcz {__version__}",
        instances=len(headers), series=isinstance(image, SeriesImage), new_series=new_series, names=names,
    )
    return blobs, record


def record_extra(record: DerivedInfo | None) -> dict[str, Any]:
    """The header ``extra`` entries that carry ``record`` (none without a record)."""
    return {} if record is None else {EXTRA_KEY: record.to_extra()}
