"""The public Python API: encode, decode, inspect, and list models.

Nothing here imports torch at module level; only :func:`encode` and the decoders
load the codec engine.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mcz import container, metrics
from mcz.errors import InputNotFoundError, UsageError
from mcz.fsutil import atomic_write_bytes
from mcz.intensity import Intensity
from mcz.io import MedicalImage, from_array, from_frames, read_image, write_image

#: Models used when none is named: by stored bit depth (8-bit, then deeper).
DEFAULT_MODEL = "cae-compact"
DEFAULT_MODEL_DEEP = "cae-compact-ctmr"


def default_model(intensity: Intensity) -> str:
    """The default model for an image: trained on 8-bit MRI up to 8 bits, on 12-bit CT/MR above."""
    return DEFAULT_MODEL if intensity.bits_stored <= 8 and not intensity.is_float else DEFAULT_MODEL_DEEP

ImageLike = MedicalImage | np.ndarray | str | os.PathLike
DataLike = bytes | bytearray | memoryview | str | os.PathLike

# Output format written by `decode_file` when none is asked for; lossy JPEG
# sources decode to PNG so that decoding never adds a second lossy step.
_DEFAULT_OUTPUT = {"dicom": "dcm", "nifti": "nii.gz", "png": "png", "tiff": "tiff", "jpeg": "png", "npy": "npy", "array": "npy"}


@dataclass(frozen=True)
class FileInfo:
    """What ``mcz info`` shows: the header and the rate of one ``.mcz`` file."""

    header: container.Header
    file_bytes: int
    pixels: int
    bpp: float
    compression_ratio: float
    container_bytes_per_pixel: int
    chunks: list[container.ChunkInfo] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe view (``mcz info --json``)."""
        return {
            "header": self.header.to_json_dict(),
            "file_bytes": self.file_bytes,
            "pixels": self.pixels,
            "bpp": self.bpp,
            "compression_ratio": self.compression_ratio,
            "container_bytes_per_pixel": self.container_bytes_per_pixel,
            "chunks": [{"type": c.type, "offset": c.offset, "length": c.length, "critical": c.critical} for c in self.chunks],
        }


@dataclass(frozen=True)
class ModelInfo:
    """A registered model and whether trained weights are installed."""

    id: str
    family: str
    description: str
    available: bool
    spec: dict[str, Any]
    manifest: dict[str, Any]


def _read_bytes(data: DataLike) -> bytes:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    path = Path(data)
    if not path.is_file():
        raise InputNotFoundError(f"input {path} does not exist or is not a file; check the path")
    return path.read_bytes()


def _as_image(image: ImageLike, **intensity: Any) -> MedicalImage:
    if isinstance(image, MedicalImage):
        return image
    if isinstance(image, np.ndarray):
        return from_array(image, **intensity)
    if isinstance(image, (str, os.PathLike)):
        if intensity.get("bits_stored") is not None or intensity.get("signed") is not None:
            raise UsageError("bits_stored/signed apply to arrays; a file declares its own")
        return read_image(image, grey=bool(intensity.get("grey", False)))
    raise UsageError(f"cannot encode a {type(image).__name__}; expected a numpy array, a MedicalImage or a path")


def encode(
    image: ImageLike,
    /,
    *,
    model: str | None = None,
    quality: int | None = None,
    bits_stored: int | None = None,
    signed: bool | None = None,
    keep_metadata: bool = True,
    progress: Callable[[int], None] | None = None,
) -> bytes:
    """Encode an image or volume into ``.mcz`` bytes.

    Parameters
    ----------
    image : numpy.ndarray, MedicalImage or path
        A 2-D image, a stack (frames, rows, columns), or a DICOM/NIfTI/PNG/TIFF/NPY file.
    model : str, optional
        Registered model id (``mcz models``); default :func:`default_model`.
    quality : int, optional
        Model-specific quality; for the ``cae`` family the latent quantisation bits.
    bits_stored, signed : optional
        Value domain of an integer array (default: the smallest standard depth that
        holds its values; never taken from the dtype alone).
    keep_metadata : bool
        Keep the source's header (DICOM without pixels, NIfTI header) in the file.
    progress : callable, optional
        Called with 1 after each frame.

    Returns
    -------
    bytes
        The complete ``.mcz`` file.
    """
    from mcz.codec import engine
    from mcz.metadata import pack_metadata

    img = _as_image(image, bits_stored=bits_stored, signed=signed)
    codec = engine.load_codec(model or default_model(img.intensity))
    metadata = pack_metadata(img) if keep_metadata else {}
    return engine.encode_image(img, codec, quality=quality, metadata=metadata, progress=progress)


def decode_image(data: DataLike, /, *, verify: bool = True, progress: Callable[[int], None] | None = None) -> MedicalImage:
    """Decode ``.mcz`` bytes (or a file) to a :class:`MedicalImage` with its metadata."""
    from mcz.codec import engine
    from mcz.metadata import unpack_dicom

    parsed = container.read_container(_read_bytes(data))
    header = parsed.header
    pixels = engine.decode_container(parsed, verify=verify, progress=progress)
    blob_dicom, blob_nifti = parsed.metadata.get("dicom"), parsed.metadata.get("nifti")
    return MedicalImage(
        pixels=pixels,
        intensity=Intensity.from_dict(header.intensity),
        source_format=str(header.extra.get("source_format", "array")),
        original_shape=tuple(header.original_shape),
        layout=header.layout,
        dicom=unpack_dicom(blob_dicom) if blob_dicom else None,
        nifti_affine=_affine(blob_nifti),
        nifti_header=blob_nifti,
    )


def _affine(blob: bytes | None) -> np.ndarray | None:
    from mcz.metadata import nifti_affine

    return nifti_affine(blob) if blob else None


def decode(data: DataLike, /, *, verify: bool = True) -> np.ndarray:
    """Decode ``.mcz`` bytes (or a file) to an array of the original dtype and shape."""
    image = decode_image(data, verify=verify)
    return from_frames(image.pixels, image.original_shape, image.layout)


def read_info(data_or_path: DataLike) -> FileInfo:
    """Header, size, bpp and compression ratio of a ``.mcz`` file, without decoding it."""
    data = _read_bytes(data_or_path)
    chunks = container.list_chunks(data)
    header = container.read_header(data)
    pixels = header.rows * header.columns * header.frames
    width = metrics.storage_bytes_per_pixel(header.bits_stored, header.dtype)
    return FileInfo(
        header=header,
        file_bytes=len(data),
        pixels=pixels,
        bpp=metrics.bpp(len(data), pixels),
        compression_ratio=metrics.compression_ratio(len(data), pixels, header.bits_stored, header.dtype),
        container_bytes_per_pixel=width,
        chunks=chunks,
    )


def default_output(src: Path, suffix: str) -> Path:
    """``scan.dcm`` -> ``scan.<suffix>`` (also strips ``.nii.gz`` and ``.mcz``)."""
    name = src.name
    for ending in (".nii.gz", ".mcz", src.suffix):
        if ending and name.endswith(ending):
            name = name[: -len(ending)]
            break
    return src.with_name(f"{name}.{suffix}")


def encode_file(
    src: str | os.PathLike,
    dst: str | os.PathLike | None = None,
    *,
    model: str | None = None,
    quality: int | None = None,
    overwrite: bool = False,
    grey: bool = False,
    keep_metadata: bool = True,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Encode one image file to a ``.mcz`` file (atomic write, no silent overwrite)."""
    src = Path(src)
    dst = Path(dst) if dst is not None else default_output(src, "mcz")
    data = encode(read_image(src, grey=grey), model=model, quality=quality, keep_metadata=keep_metadata, progress=progress)
    return atomic_write_bytes(dst, data, overwrite=overwrite)


def decode_file(
    src: str | os.PathLike,
    dst: str | os.PathLike | None = None,
    *,
    to: str | None = None,
    overwrite: bool = False,
    verify: bool = True,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Decode a ``.mcz`` file to an image file (format from ``to``, ``dst``'s suffix, or the source's)."""
    src = Path(src)
    fmt = to or (None if dst is not None else default_decoded_format(src))
    dst = Path(dst) if dst is not None else default_output(src, fmt or "npy")
    image = decode_image(src, verify=verify, progress=progress)
    return write_image(dst, image, format=fmt, overwrite=overwrite)


def default_decoded_format(src: DataLike) -> str:
    """The format a ``.mcz`` file decodes to by default: its source's, but PNG for JPEG sources."""
    source = container.read_header(_read_bytes(src)).extra.get("source_format", "array")
    return _DEFAULT_OUTPUT.get(str(source), "npy")


def list_models() -> list[ModelInfo]:
    """Every registered model, with the manifest entry of its weights where installed."""
    from mcz.codec import registry, zoo

    available = zoo.available_ids()
    out = []
    for spec in registry.registered():
        manifest = zoo.find_checkpoint(spec.id).info if spec.id in available else {}
        out.append(ModelInfo(spec.id, spec.family, spec.description, spec.id in available, spec.to_dict(), manifest))
    return out
