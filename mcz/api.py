"""The public Python API: encode, decode, inspect, and list models.

Nothing here imports torch at module level; only :func:`encode` and the decoders
load the codec engine.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mcz import container, metrics
from mcz.errors import InputNotFoundError, UsageError
from mcz.fsutil import atomic_write_bytes
from mcz.intensity import Intensity
from mcz.io import MedicalImage, from_array, from_frames, read_image, write_image

if TYPE_CHECKING:  # pragma: no cover
    from mcz.search import Notice, Outcome
    from mcz.ratecontrol import Target

Report = Callable[["Notice"], None]

#: Models used when none is named: by stored bit depth (8-bit, then deeper).  The wavelet
#: model codes every depth (its quality is a step relative to 2**bits_stored - 1).
DEFAULT_MODEL = "wavelet-ctx"
DEFAULT_MODEL_DEEP = "wavelet-ctx"


def default_model(intensity: Intensity) -> str:
    """The default model for an image of this intensity domain (today one model for every depth)."""
    return DEFAULT_MODEL if intensity.bits_stored <= 8 and not intensity.is_float else DEFAULT_MODEL_DEEP

ImageLike = MedicalImage | np.ndarray | str | os.PathLike
#: ``.mcz`` data: any object with the buffer protocol (bytes, bytearray, memoryview, a NumPy
#: uint8 array as HDF5 and zarr return, mmap, ...) or a path.
DataLike = bytes | bytearray | memoryview | np.ndarray | str | os.PathLike

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
    #: The decoders that can make this file's pixels (:func:`mcz.codec.realistic.available_decoders`).
    decoders: list[dict[str, Any]] = field(default_factory=list)

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
            "decoders": self.decoders,
        }


@dataclass(frozen=True)
class ModelInfo:
    """A registered model, whether trained weights are installed, and where they come from.

    ``source`` is ``"MCZ_CHECKPOINTS"``, ``"./checkpoints"``, ``"user"`` (the user
    model folder, :func:`mcz.codec.zoo.user_model_dir`), ``"shipped"`` or ``""``
    (no weights); ``folder`` is the folder whose manifest lists them.
    """

    id: str
    family: str
    description: str
    available: bool
    spec: dict[str, Any]
    manifest: dict[str, Any]
    source: str = ""
    folder: str = ""


def _read_bytes(data: DataLike) -> bytes:
    if isinstance(data, (str, os.PathLike)):
        return _read_path(Path(data))
    try:
        # numpy < 2's stubs give ndarray no __buffer__ (PEP 688), though it exports the buffer protocol.
        view = memoryview(data)  # type: ignore[arg-type]
    except TypeError:
        raise UsageError(
            f"cannot decode a {type(data).__name__}; expected bytes-like data (bytes, bytearray, memoryview, "
            "a NumPy uint8 array) or a path to a .mcz file"
        ) from None
    if not view.contiguous:
        view = memoryview(np.ascontiguousarray(data))  # type: ignore[arg-type]  # as above: numpy < 2 stubs
    return view.cast("B").tobytes()


def _read_path(path: Path) -> bytes:
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
    target: Target | None = None,
    bits_stored: int | None = None,
    signed: bool | None = None,
    keep_metadata: bool = True,
    metadata: str | None = None,
    max_ratio: float | str | None = None,
    strict: bool = False,
    new_series: bool = False,
    progress: Callable[[int], None] | None = None,
    threads: int | None = None,
    max_error: int | None = None,
) -> bytes:
    """Encode an image or volume into ``.mcz`` bytes.

    Parameters
    ----------
    image : numpy.ndarray, MedicalImage or path
        A 2-D image, a stack (frames, rows, columns), or a DICOM/NIfTI/PNG/TIFF/NPY file.
    model : str, optional
        Registered model id (``mcz models``); default :func:`default_model`.
    quality : int, optional
        The model's quality, in its family's meaning (larger = better): latent bits for
        ``cae``, a rate level for ``factorized``/``hyperprior``, the quantiser step
        ``2^(-q/4)`` of R for ``wavelet``; default: the model's ``default_quality``.
    target : mcz.ratecontrol.Target, optional
        Instead of ``quality``: a bpp, ratio or PSNR target; the quality that meets
        it is searched per image (:mod:`mcz.ratecontrol`).  A missed target warns.
    bits_stored, signed : optional
        Value domain of an integer array (default: the smallest standard depth that
        holds its values; never taken from the dtype alone).
    keep_metadata : bool
        False is the same as ``metadata="none"``.
    metadata : str, optional
        ``"keep"`` (default) the source's header (DICOM without pixels, NIfTI
        header), ``"minimal"`` only what rebuilds a valid image, with new UIDs and
        no patient or study identity (a de-identification aid, not a
        de-identifier: see :mod:`mcz.dicom.profile`), ``"none"`` nothing.
    max_ratio : float or "auto", optional
        Cap on the achieved compression ratio: a number, or ``"auto"`` for the
        guideline of the image's modality and body part (:mod:`mcz.dicom.guard`).
    strict : bool
        Raise :class:`~mcz.dicom.guard.GuidelineExceededError` instead of warning
        when the ratio exceeds the guideline or the cap.
    new_series : bool
        Give the decoded DICOM instances a new Series Instance UID.
    progress : callable, optional
        Called with 1 after each frame.
    threads : int, optional
        Torch intra-op threads for this call (restored afterwards); default: the
        caller's ``torch.get_num_threads()``, never changed behind its back.
    max_error : int, optional
        Lossless (0) or near-lossless coding instead of a lossy model: every decoded
        pixel differs from the source by at most ``max_error`` stored units
        (:mod:`mcz.codec.nearlossless`).  Excludes ``model``, ``quality`` and ``target``.

    Returns
    -------
    bytes
        The complete ``.mcz`` file.

    Warns
    -----
    GuidelineWarning
        The achieved ratio exceeds the guideline, or no quality meets the cap.
    """
    outcome = encode_with_report(
        image, model=model, quality=quality, target=target, bits_stored=bits_stored, signed=signed,
        metadata=metadata or ("keep" if keep_metadata else "none"), max_ratio=max_ratio, strict=strict,
        new_series=new_series, progress=progress, threads=threads, max_error=max_error,
    )
    report_outcome(outcome, None)
    return outcome.data


def encode_with_report(
    image: ImageLike,
    /,
    *,
    model: str | None = None,
    quality: int | None = None,
    target: Target | None = None,
    bits_stored: int | None = None,
    signed: bool | None = None,
    metadata: str = "keep",
    max_ratio: float | str | None = None,
    strict: bool = False,
    new_series: bool = False,
    progress: Callable[[int], None] | None = None,
    threads: int | None = None,
    max_error: int | None = None,
) -> Outcome:
    """:func:`encode`, returning the guard's :class:`~mcz.search.Outcome`.

    The outcome holds the bytes, the quality used (the one chosen for a cap), the
    achieved ratio, the guideline that applies, every (quality, ratio) tried and
    the notices (warnings and the chosen quality) instead of emitting them.  With
    a ``target`` it is a :class:`~mcz.ratecontrol.TargetedOutcome` whose ``rate``
    holds the chosen quality, the target and the achieved bpp, ratio and PSNR.
    """
    from mcz.codec import engine
    from mcz.dicom import encoding, guard
    from mcz.dicom.guidelines import guideline_for_image
    from mcz.ratecontrol import Trials, attach, select

    if quality is not None and target is not None:
        raise UsageError("quality and target were both given; give one (a target chooses the quality)")
    engine.check_threads(threads)
    _check_arguments(quality, bits_stored, signed)
    img = _as_image(image, bits_stored=bits_stored, signed=signed)
    _check_geometry(img)
    policy = guard.RatioPolicy(max_ratio, strict)
    if model == "nearlossless" and max_error is None and target is None:  # -m nearlossless -q K is --max-error K
        model, max_error, quality = None, 0 if quality is None else quality, None
    if max_error is not None:
        _check_bounded_options(model, quality, target)
        return _encode_bounded(img, max_error, metadata, policy, new_series, progress)
    codec = engine.load_codec(model or default_model(img.intensity))
    blobs, record = encoding.prepare(img, metadata, codec.spec.family, new_series)
    pixels = img.rows * img.columns * img.frames

    def encode_at(q: int) -> bytes:
        return engine.encode_image(img, codec, quality=q, metadata=blobs, progress=progress, threads=threads,
                                   extra=encoding.record_extra(record))

    def ratio_of(data: bytes) -> float:
        return metrics.compression_ratio(len(data), pixels, img.intensity.bits_stored, img.intensity.dtype)

    trials = Trials(img, codec, encode_at)  # each quality is encoded once
    searched = select(trials, target).quality if target is not None else None
    start = searched if searched is not None else codec.spec.default_quality if quality is None else quality
    top = codec.spec.quality_range[1]
    outcome = guard.encode_guarded(trials.encode, ratio_of, start, top, guideline_for_image(img), policy)
    return attach(outcome, trials, target, searched)


def _check_bounded_options(model: str | None, quality: int | None, target: Target | None) -> None:
    given = [name for name, value in (("model", model), ("quality", quality), ("target", target)) if value is not None]
    if given and given != ["model"] or model not in (None, "nearlossless"):
        raise UsageError(
            f"max_error was given with {', '.join(given)}; expected max_error alone: it selects the "
            "near-lossless codec and its bound. Drop the other options, or drop max_error for lossy coding"
        )


def _encode_bounded(img: MedicalImage, max_error: int, metadata: str, policy: Any, new_series: bool,
                    progress: Callable[[int], None] | None) -> Outcome:
    """Lossless/near-lossless encoding (:mod:`mcz.codec.nearlossless`); the ratio guard skips K = 0."""
    from mcz import search
    from mcz.codec import nearlossless
    from mcz.dicom import encoding, guard
    from mcz.dicom.guidelines import guideline_for_image

    k = nearlossless.check_max_error(max_error)
    blobs, record = encoding.prepare(img, metadata, nearlossless.CODEC_ID, new_series)
    data = nearlossless.encode_image(img, k, blobs, progress, extra=encoding.record_extra(record))
    ratio = metrics.compression_ratio(len(data), img.rows * img.columns * img.frames, img.intensity.bits_stored,
                                      img.intensity.dtype)
    if k == 0:  # lossless: no guideline limits a lossless ratio
        return search.Outcome(data, 0, ratio, None, None, ((0, ratio),), ())
    return guard.encode_guarded(lambda _: data, lambda _: ratio, k, k, guideline_for_image(img), policy)


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _check_arguments(quality: object, bits_stored: object, signed: object) -> None:
    """Refuse argument types that would be coerced silently (``"8"``, ``8.0``, ``True`` for an int)."""
    for name, value in (("quality", quality), ("bits_stored", bits_stored)):
        if value is not None and not _is_int(value):
            raise UsageError(
                f"{name} is {value!r} ({type(value).__name__}); expected an integer (not a bool, float or "
                f"string) or None. Pass e.g. {name}=8"
            )
    if signed is not None and not isinstance(signed, (bool, np.bool_)):
        raise UsageError(f"signed is {signed!r} ({type(signed).__name__}); expected True, False or None")


def _check_geometry(img: MedicalImage) -> None:
    """Refuse, as a usage error, an image the ``.mcz`` format cannot hold (before any coding)."""
    limits = (
        ("axes", len(img.original_shape), container.MAX_SHAPE_DIMS),
        ("rows", img.rows, container.MAX_DIMENSION),
        ("columns", img.columns, container.MAX_DIMENSION),
        ("frames", img.frames, container.MAX_FRAMES),
        ("pixels per frame", img.rows * img.columns, container.MAX_FRAME_PIXELS),
        ("pixels", img.rows * img.columns * img.frames, container.MAX_TOTAL_PIXELS),
    )
    for what, value, limit in limits:
        if value > limit:
            raise UsageError(
                f"the image (shape {tuple(img.original_shape)}) has {value} {what}; a .mcz file holds "
                f"at most {limit}. Crop, split or reshape it before encoding"
            )


def report_outcome(outcome: Outcome, report: Report | None) -> None:
    """Hand every notice to ``report``; without one, warnings become :class:`GuidelineWarning`."""
    from mcz.dicom.guard import GuidelineWarning

    for notice in outcome.notices:
        if report is not None:
            report(notice)
        elif notice.level == "warning":
            warnings.warn(notice.text, GuidelineWarning, stacklevel=3)


def decode_image(
    data: DataLike,
    /,
    *,
    verify: bool = True,
    progress: Callable[[int], None] | None = None,
    backend: str = "torch",
    threads: int | None = None,
    decoder: str = "mse",
) -> MedicalImage:
    """Decode ``.mcz`` bytes (or a file) to a :class:`MedicalImage` with its metadata.

    A DICOM source's header comes back as the header of the derived, lossy
    instance (:mod:`mcz.dicom.lossy`): Lossy Image Compression "01", the file's
    ratio and method appended, Image Type DERIVED, a new SOP Instance UID, ...;
    a series comes back as a :class:`~mcz.dicom.series.SeriesImage` with one
    header per slice.  ``backend="onnxruntime"`` runs a learned model's networks
    in ONNX Runtime (:mod:`mcz.codec.onnx_backend`); ``threads`` and ``decoder`` are as in
    :func:`decode`.  ``image.decoder`` and ``image.decoder_id`` say which decoder made the pixels.
    """
    raw = _read_bytes(data)
    return _decode(container.read_container(raw), len(raw), verify, progress, make_missing=False, backend=backend,
                   threads=threads, decoder=decoder)


def _decode(
    parsed: container.Container,
    file_bytes: int,
    verify: bool,
    progress: Callable[[int], None] | None,
    make_missing: bool,
    backend: str = "torch",
    threads: int | None = None,
    decoder: str = "mse",
) -> MedicalImage:
    from mcz.codec import realistic
    from mcz.dicom.decoding import derive
    from mcz.metadata import NIFTI

    header = parsed.header
    pixels = realistic.decode_pixels(parsed, decoder, verify=verify, progress=progress, backend=backend,
                                     threads=threads)
    blob_nifti = parsed.metadata.get(NIFTI)
    if blob_nifti:
        blob_nifti = _nifti_marked(blob_nifti, header, file_bytes)
    image = MedicalImage(
        pixels=pixels,
        intensity=Intensity.from_dict(header.intensity),
        source_format=str(header.extra.get("source_format", "array")),
        original_shape=tuple(header.original_shape),
        layout=header.layout,
        nifti_affine=_affine(blob_nifti),
        nifti_header=blob_nifti,
    )
    image = derive(image, parsed, file_bytes, make_missing=make_missing)
    if decoder == "realistic":  # a GAN preview: labelled wherever the pixels go
        from mcz.gan.labelling import mark_image

        return mark_image(image, realistic.decoder_id(parsed, decoder))
    image.decoder, image.decoder_id = "mse", header.codec_id
    return image


def _nifti_marked(block: bytes, header: container.Header, file_bytes: int) -> bytes:
    """The source's NIfTI header with ``descrip`` stating the coding (lossy, or its error bound)."""
    from mcz.io.nifti import mark_lossy

    stored = header.rows * header.columns * header.frames * (1 if header.bits_stored <= 8 else 2)
    ratio = stored / max(file_bytes, 1)
    if header.codec_id == "nearlossless":
        kind = "lossless" if header.quality == 0 else f"near-lossless, max error {header.quality}"
        return mark_lossy(block, f"mcz {kind} ({ratio:.1f}:1)")
    return mark_lossy(block, f"LOSSY mcz {header.codec_id} q{header.quality} {ratio:.1f}:1")


def _affine(blob: bytes | None) -> np.ndarray | None:
    from mcz.metadata import nifti_affine

    return nifti_affine(blob) if blob else None


def decode(
    data: DataLike,
    /,
    *,
    verify: bool = True,
    backend: str = "torch",
    threads: int | None = None,
    frames: Sequence[int] | None = None,
    decoder: str = "mse",
) -> np.ndarray:
    """Decode ``.mcz`` data to an array of the original dtype and shape.

    Parameters
    ----------
    data : bytes-like or path
        The file's bytes in any buffer (bytes, memoryview, a NumPy ``uint8`` array
        as read from HDF5 or zarr, ...) or its path.
    verify : bool
        Check the reconstruction (:mod:`mcz.codec.pixelcheck`); the entropy-decoded
        latents are always checked.
    backend : str
        ``"torch"`` or ``"onnxruntime"`` for a learned model's networks.
    threads : int, optional
        Torch intra-op threads for this call (restored afterwards); default: the
        caller's ``torch.get_num_threads()``, never changed behind its back (safe in
        forked DataLoader workers).
    frames : sequence of int, optional
        Decode only these coded frames (slices), in this order; the others are
        not decoded.

    Returns
    -------
    numpy.ndarray
        The image in its original shape; with ``frames``, the chosen frames stacked
        on the frame axis: ``(len(frames), rows, columns)``, or ``(x, y, len(frames))``
        for a NIfTI-ordered volume.
    decoder : str
        ``"mse"`` (default): the model's own synthesis, checked against the encoder's
        reconstruction.  ``"realistic"``: the GAN preview decoder of a learned model
        (:mod:`mcz.codec.realistic`), whose pixels differ by design: latents checked
        exactly, pixels not; a **non-diagnostic preview** (docs/ganvae.md).
    """
    if frames is not None:
        return _decode_frames(_read_bytes(data), frames, verify, backend, threads, decoder)
    image = decode_image(data, verify=verify, backend=backend, threads=threads, decoder=decoder)
    return from_frames(image.pixels, image.original_shape, image.layout)


def _decode_frames(raw: bytes, frames: Sequence[int], verify: bool, backend: str, threads: int | None,
                   decoder: str = "mse") -> np.ndarray:
    from mcz.codec import realistic

    parsed = container.read_container(raw)
    pixels = realistic.decode_pixels(parsed, decoder, verify=verify, backend=backend, threads=threads, frames=frames)
    return pixels if parsed.header.layout == "frames-first" else pixels.transpose(1, 2, 0)


#: A ratio above this in ``read_info`` warns: no real image codes that small; a header that claims
#: far more pixels than its tiles hold (a "header-only bomb") does.
SUSPICIOUS_RATIO = 10_000.0


class SuspiciousFileWarning(UserWarning):
    """``read_info`` found a file that cannot be what its header claims (missing tiles, absurd ratio)."""


def read_info(data_or_path: DataLike) -> FileInfo:
    """Header, size, bpp and compression ratio of a ``.mcz`` file, without decoding it.

    The header is validated as a decoder would (tiling, geometry, intensity), so a file that
    cannot decode is refused here too.

    Raises
    ------
    FormatError
        The file is damaged (see :func:`mcz.container.read_container` and
        :func:`mcz.codec.header_checks.check_decodable`).

    Warns
    -----
    SuspiciousFileWarning
        The file holds another number of tiles than its header needs, or its compression ratio
        exceeds :data:`SUSPICIOUS_RATIO`.
    """
    from mcz.codec import header_checks, tiling

    data = _read_bytes(data_or_path)
    chunks = container.list_chunks(data)
    header = container.read_header(data)
    tile, _ = header_checks.check_decodable(header)
    pixels = header.rows * header.columns * header.frames
    ratio = metrics.compression_ratio(len(data), pixels, header.bits_stored, header.dtype)
    _warn_if_suspicious(header, chunks, tiling.tile_count(header.rows, header.columns, tile), ratio)
    return FileInfo(
        header=header,
        file_bytes=len(data),
        pixels=pixels,
        bpp=metrics.bpp(len(data), pixels),
        compression_ratio=ratio,
        container_bytes_per_pixel=metrics.storage_bytes_per_pixel(header.bits_stored, header.dtype),
        chunks=chunks,
        decoders=_decoders(header),
    )


def _decoders(header: container.Header) -> list[dict[str, Any]]:
    from mcz.codec.realistic import available_decoders

    return available_decoders(header) if header.codec_id in _learned_ids() else [
        {"decoder": "mse", "id": header.codec_id, "default": True, "pixels_checked": True,
         "label": "the model's own decoder"}]


def _learned_ids() -> set[str]:
    from mcz.codec import registry

    return {s.id for s in registry.registered() if s.family in ("hyperprior", "factorized")}


def _warn_if_suspicious(header: container.Header, chunks: list[container.ChunkInfo], per_frame: int,
                        ratio: float) -> None:
    found, expected = sum(c.type == "TILE" for c in chunks), header.frames * per_frame
    if found != expected:
        warnings.warn(
            f"the file holds {found} TILE chunks, its header needs {expected}; it will not decode "
            "(damaged, truncated or crafted)", SuspiciousFileWarning, stacklevel=3,
        )
    elif ratio > SUSPICIOUS_RATIO:
        warnings.warn(
            f"compression ratio {ratio:.3g}:1 is above {SUSPICIOUS_RATIO:.0f}:1, more than any real image "
            "reaches; the header may claim far more pixels than the file holds", SuspiciousFileWarning,
            stacklevel=3,
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
    target: Target | None = None,
    overwrite: bool = False,
    grey: bool = False,
    keep_metadata: bool = True,
    metadata: str | None = None,
    max_ratio: float | str | None = None,
    strict: bool = False,
    new_series: bool = False,
    report: Report | None = None,
    progress: Callable[[int], None] | None = None,
    threads: int | None = None,
    max_error: int | None = None,
) -> Path:
    """Encode one image file to a ``.mcz`` file (atomic write, no silent overwrite).

    ``metadata``, ``max_ratio``, ``strict``, ``new_series``, ``threads`` and ``max_error`` are as in
    :func:`encode`; ``report`` receives every :class:`~mcz.search.Notice`
    (default: warnings are emitted as :class:`~mcz.dicom.guard.GuidelineWarning`).
    """
    src = Path(src)
    dst = Path(dst) if dst is not None else default_output(src, "mcz")
    outcome = encode_with_report(
        read_image(src, grey=grey), model=model, quality=quality, target=target,
        metadata=metadata or ("keep" if keep_metadata else "none"), max_ratio=max_ratio, strict=strict,
        new_series=new_series, progress=progress, threads=threads, max_error=max_error,
    )
    report_outcome(outcome, report)
    return atomic_write_bytes(dst, outcome.data, overwrite=overwrite)


def encode_series(
    files: Sequence[str | os.PathLike],
    dst: str | os.PathLike,
    *,
    model: str | None = None,
    quality: int | None = None,
    target: Target | None = None,
    overwrite: bool = False,
    metadata: str = "keep",
    max_ratio: float | str | None = None,
    strict: bool = False,
    new_series: bool = False,
    report: Report | None = None,
    threads: int | None = None,
    max_error: int | None = None,
) -> Path:
    """Encode the DICOM slices of one series into one ``.mcz`` file.

    The slices are sorted by position (then Instance Number) and coded as one
    volume; every slice's header and file name is kept, so that ``mcz decode
    --to dcm`` gives back the same set of files (:mod:`mcz.dicom.series`).
    Other parameters are as in :func:`encode_file`.
    """
    from mcz.dicom.series import read_series

    image = read_series([Path(f) for f in files])
    outcome = encode_with_report(
        image, model=model, quality=quality, target=target, metadata=metadata, max_ratio=max_ratio,
        strict=strict, new_series=new_series, threads=threads, max_error=max_error,
    )
    report_outcome(outcome, report)
    return atomic_write_bytes(Path(dst), outcome.data, overwrite=overwrite)


def decode_file(
    src: str | os.PathLike,
    dst: str | os.PathLike | None = None,
    *,
    to: str | None = None,
    overwrite: bool = False,
    verify: bool = True,
    transfer_syntax: str | None = None,
    progress: Callable[[int], None] | None = None,
    backend: str = "torch",
    threads: int | None = None,
    decoder: str = "mse",
) -> Path:
    """Decode a ``.mcz`` file to an image file (format from ``to``, ``dst``'s suffix, or the source's).

    A DICOM output is the derived, lossy instance of the source (its header, with
    the changes the standard requires) in ``transfer_syntax`` (``"explicit"``,
    ``"j2k-lossless"``, ``"jpegls-lossless"`` or ``"rle"``; see
    :mod:`mcz.dicom.output`).  A series decodes to a folder with one DICOM file
    per slice (``dst`` names the folder), or to one volume in other formats.
    """
    from mcz import profiling
    from mcz.dicom.output import check_transfer_syntax, write_dicom
    from mcz.dicom.series import SeriesImage, write_series
    from mcz.io.dispatch import output_format

    src = Path(src)
    with profiling.stage("read"):
        raw = _read_bytes(src)
        parsed = container.read_container(raw)  # the one parse: the output's planning reads its header
    fmt = to or (None if dst is not None else default_decoded_format(parsed.header))
    dst = Path(dst) if dst is not None else decoded_output(src, fmt or "npy", parsed.header)
    fmt = fmt or _series_folder_format(dst, parsed.header)
    dicom_out = output_format(dst, fmt) == "dcm"
    if transfer_syntax not in (None, "explicit") and not dicom_out:
        raise UsageError(f"--transfer-syntax {transfer_syntax} applies to DICOM output; this output is {dst}")
    syntax = transfer_syntax or "explicit"
    check_transfer_syntax(syntax)
    image = _decode(parsed, len(raw), verify, progress, make_missing=dicom_out, backend=backend, threads=threads,
                    decoder=decoder)
    with profiling.stage("write"):
        if dicom_out and isinstance(image, SeriesImage):
            return write_series(dst, image, transfer_syntax=syntax, overwrite=overwrite)
        if dicom_out:
            return write_dicom(dst, image, transfer_syntax=syntax, overwrite=overwrite)
        return write_image(dst, image, format=fmt, overwrite=overwrite)


def _series_folder_format(dst: Path, header: container.Header) -> str | None:
    """``"dcm"`` for a series from DICOM written to a path without an image suffix (a folder), else None."""
    from mcz.dicom.derived import holds_series
    from mcz.io.sniff import SUFFIX_FORMAT, image_suffix

    series = holds_series(header.extra, header.frames) and header.extra.get("source_format") == "dicom"
    return "dcm" if series and image_suffix(dst) not in SUFFIX_FORMAT else None


def default_decoded_format(src: DataLike | container.Header) -> str:
    """The format a ``.mcz`` file (or its parsed header) decodes to by default: its source's, but PNG for JPEG sources."""
    header = src if isinstance(src, container.Header) else container.read_header(_read_bytes(src))
    source = header.extra.get("source_format", "array")
    return _DEFAULT_OUTPUT.get(str(source), "npy")


def decoded_output(src: str | os.PathLike, fmt: str, data: DataLike | container.Header | None = None) -> Path:
    """Default output of ``src``: ``scan.mcz`` -> ``scan.<fmt>``; a series to DICOM -> the folder ``scan``.

    ``data``: the file's bytes or parsed header, where the caller has them (else ``src`` is read).
    """
    from mcz.dicom.derived import holds_series

    src = Path(src)
    if isinstance(data, container.Header):
        header = data
    else:
        header = container.read_header(_read_bytes(data if data is not None else src))
    if fmt in ("dcm", "dicom") and holds_series(header.extra, header.frames):
        return default_output(src, "dcm").with_suffix("")
    return default_output(src, fmt)


def list_models() -> list[ModelInfo]:
    """Every registered model, with the manifest entry of its weights where installed."""
    from mcz.codec import registry, zoo

    installed = {str(raw["id"]): (raw, folder, origin) for raw, folder, origin in zoo.installed_entries()}
    out = []
    for spec in registry.registered():
        raw, folder, origin = installed.get(spec.id, ({}, "", ""))
        out.append(ModelInfo(spec.id, spec.family, spec.description, spec.id in installed, spec.to_dict(), raw,
                             origin, str(folder)))
    return out
