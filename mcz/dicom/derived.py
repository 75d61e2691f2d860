"""What the encoder records for the decoder in the ``.mcz`` header: ``extra["dicom"]``.

The UIDs of the derived (lossy) instances are minted once, when the ``.mcz`` file
is made, so that every decode of one file gives the same instances.  The object::

    {
      "metadata": "keep" | "minimal" | "none",   # what the meta chunks hold
      "series": false,                          # true: one instance per frame (slices)
      "method": "MCZ_CAE",                      # Lossy Image Compression Method term
      "encoder": "mcz 0.1.0",                   # who made the file
      "sop_instance_uids": ["2.25...", ...],    # one per instance (slice), in frame order
      "series_instance_uid": "2.25..." | null,  # set by --new-series
      "names": ["IM0001.dcm", ...] | null       # source file names of a series' slices
    }

Everything read back is validated (:mod:`mcz.io.dicom_safety`): an invalid UID is
replaced by a fresh one, an unsafe name by a name made from the Instance Number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mcz.dicom.lossy import is_method_term
from mcz.io.dicom_safety import is_valid_uid, safe_file_name

#: Key of :attr:`mcz.container.Header.extra` holding this record.
EXTRA_KEY = "dicom"
_MODES = ("keep", "minimal", "none")
_ENCODER_PATTERN = re.compile(r"^[A-Za-z0-9 ._+-]{1,64}$")


@dataclass(frozen=True)
class DerivedInfo:
    """The encoder's record for one ``.mcz`` file (see the module docstring)."""

    metadata: str
    method: str
    encoder: str
    sop_instance_uids: tuple[str, ...]
    series: bool = False
    series_instance_uid: str | None = None
    names: tuple[str | None, ...] | None = None

    @classmethod
    def new(
        cls,
        *,
        metadata: str,
        method: str,
        encoder: str,
        instances: int,
        series: bool,
        new_series: bool,
        names: list[str | None] | None = None,
    ) -> DerivedInfo:
        """Mint the UIDs of ``instances`` derived instances (and of a new series if asked)."""
        from pydicom.uid import generate_uid  # lazy: keeps pydicom out of import mcz.dicom.derived

        return cls(
            metadata=metadata,
            method=method,
            encoder=encoder,
            sop_instance_uids=tuple(generate_uid() for _ in range(instances)),
            series=series,
            series_instance_uid=generate_uid() if new_series else None,
            names=tuple(safe_file_name(n) for n in names) if names is not None else None,
        )

    def to_extra(self) -> dict[str, Any]:
        """The JSON object stored under ``extra["dicom"]``."""
        return {
            "metadata": self.metadata,
            "method": self.method,
            "encoder": self.encoder,
            "sop_instance_uids": list(self.sop_instance_uids),
            "series": self.series,
            "series_instance_uid": self.series_instance_uid,
            "names": list(self.names) if self.names is not None else None,
        }

    @classmethod
    def from_extra(cls, extra: dict[str, Any], frames: int, fallback_method: str) -> DerivedInfo:
        """Read the record of an untrusted file, replacing anything invalid.

        Parameters
        ----------
        extra : dict
            The header's ``extra``; the record may be missing (older files, non-DICOM sources).
        frames : int
            Frames of the file: the number of instances of a series, else one instance.
        fallback_method : str
            Method term to use when the record has no valid one.

        Returns
        -------
        DerivedInfo
        """
        from pydicom.uid import generate_uid  # lazy: keeps pydicom out of import mcz.dicom.derived

        record = extra.get(EXTRA_KEY)
        record = record if isinstance(record, dict) else {}
        series = holds_series(extra, frames)
        instances = frames if series else 1
        uids = record.get("sop_instance_uids")
        uids = uids if isinstance(uids, list) and len(uids) == instances else [None] * instances
        new_series = record.get("series_instance_uid")
        names = record.get("names")
        encoder = record.get("encoder")
        names = names if isinstance(names, list) and len(names) == instances else None
        metadata, method = record.get("metadata"), record.get("method")
        return cls(
            metadata=metadata if metadata in _MODES else "keep",
            method=method if is_method_term(method) else fallback_method,
            encoder=encoder if isinstance(encoder, str) and _ENCODER_PATTERN.match(encoder) else "mcz",
            sop_instance_uids=tuple(u if is_valid_uid(u) else generate_uid() for u in uids),
            series=series,
            series_instance_uid=new_series if is_valid_uid(new_series) else None,
            names=tuple(safe_file_name(n) for n in names) if names is not None else None,
        )


def holds_series(extra: dict[str, Any], frames: int) -> bool:
    """Whether a file with this header ``extra`` decodes to a series of one instance per frame."""
    record = extra.get(EXTRA_KEY)
    return isinstance(record, dict) and record.get("series") is True and frames > 1
