"""Writing a decoded image as a DICOM file in a chosen transfer syntax.

``explicit`` (Explicit VR Little Endian, uncompressed) is the default and is
what every viewer opens.  The lossless compressed syntaxes re-compress the
decoded pixels with pydicom's encoders, exactly (no second lossy step):

- ``explicit``: Explicit VR Little Endian (1.2.840.10008.1.2.1); needs nothing;
- ``j2k-lossless``: JPEG 2000 Image Compression (Lossless Only)
  (1.2.840.10008.1.2.4.90); needs pylibjpeg and pylibjpeg-openjpeg (installed with mcz);
- ``jpegls-lossless``: JPEG-LS Lossless (1.2.840.10008.1.2.4.80); needs pyjpegls;
- ``rle``: RLE Lossless (1.2.840.10008.1.2.5); pydicom's own encoder (pure Python, slow).

The SOP Instance UID is the derived instance's (:mod:`mcz.dicom.lossy`) in every
syntax: re-compressing losslessly does not make another instance.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from mcz.errors import MissingDependencyError, OutputError, UsageError
from mcz.fsutil import atomic_path
from mcz.io.dicom import dicom_dataset

if TYPE_CHECKING:  # pragma: no cover
    import pydicom

    from mcz.io import MedicalImage

#: ``--transfer-syntax`` names -> transfer syntax UIDs.
TRANSFER_SYNTAXES = {
    "explicit": "1.2.840.10008.1.2.1",
    "j2k-lossless": "1.2.840.10008.1.2.4.90",
    "jpegls-lossless": "1.2.840.10008.1.2.4.80",
    "rle": "1.2.840.10008.1.2.5",
}
_PACKAGES = {"j2k-lossless": "pylibjpeg pylibjpeg-openjpeg", "jpegls-lossless": "pyjpegls"}


def check_transfer_syntax(name: str) -> str:
    """The UID of a ``--transfer-syntax`` name, or UsageError."""
    if name not in TRANSFER_SYNTAXES:
        raise UsageError(f"transfer syntax {name!r}; expected one of {', '.join(TRANSFER_SYNTAXES)}")
    return TRANSFER_SYNTAXES[name]


def dataset_in_syntax(image: MedicalImage, transfer_syntax: str = "explicit") -> pydicom.Dataset:
    """The complete data set of ``image``, its pixels encoded in ``transfer_syntax``.

    Parameters
    ----------
    image : MedicalImage
        Decoded pixels and the header to write them with.
    transfer_syntax : str
        A key of :data:`TRANSFER_SYNTAXES`.

    Returns
    -------
    pydicom.Dataset

    Raises
    ------
    MissingDependencyError
        The encoder plugin for ``transfer_syntax`` is not installed.
    """
    uid = check_transfer_syntax(transfer_syntax)
    ds = dicom_dataset(image)
    if transfer_syntax == "explicit":
        return ds
    _check_encoder(transfer_syntax, uid)
    # The instance UID is the derived instance's already: pydicom must not mint another.
    ds.compress(uid, generate_instance_uid=False)
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return ds


def _check_encoder(name: str, uid: str) -> None:
    from pydicom.pixels import get_encoder  # lazy: keeps pydicom out of import mcz.dicom.output

    encoder = get_encoder(uid)
    if not encoder.is_available:
        raise MissingDependencyError(
            f"no encoder for {name} is installed (pydicom could use: "
            f"{'; '.join(encoder.missing_dependencies)}); install one with: pip install "
            f"{_PACKAGES.get(name, 'pylibjpeg')}, or write --transfer-syntax explicit"
        )


def write_dicom(
    path: str | os.PathLike,
    image: MedicalImage,
    *,
    transfer_syntax: str = "explicit",
    overwrite: bool = False,
) -> Path:
    """Write ``image`` as a DICOM file, atomically and without silent overwrite.

    Parameters
    ----------
    path : str or os.PathLike
        The output file; its folder must exist.
    image : MedicalImage
        Decoded pixels and their (already marked) header.
    transfer_syntax : str
        A key of :data:`TRANSFER_SYNTAXES`.
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    pathlib.Path
    """
    import pydicom  # lazy: keeps pydicom out of import mcz.dicom.output

    target = Path(path)
    ds = dataset_in_syntax(image, transfer_syntax)  # before touching the disk: errors leave nothing
    with atomic_path(target, overwrite) as tmp:
        try:
            pydicom.dcmwrite(tmp, ds, enforce_file_format=True)
        except OSError:
            raise
        except Exception as exc:  # pydicom's own errors while writing
            raise OutputError(f"could not write {target} as DICOM: {type(exc).__name__}: {exc}") from exc
    return target
