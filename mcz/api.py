"""The public Python API: encode, decode, inspect, and list models.

Importing this module loads the codec engine and the DICOM rules, but not torch, pydicom or
the codec libraries: a family with networks imports torch when it codes, and files are read
by :mod:`mcz.io` on demand.  ``import mcz`` alone loads none of it (:mod:`mcz` is a lazy facade).
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mcz import container, metrics, profiling, search
from mcz.codec import engine, header_checks, nearlossless, realistic, registry, tiling, zoo
from mcz.codec.nearlossless import check_max_error
from mcz.codec.realistic import available_decoders
from mcz.codec.threads import check_threads
from mcz.dicom import encoding, guard
from mcz.dicom.decoding import derive
from mcz.dicom.derived import holds_series
from mcz.dicom.guard import GuidelineWarning, RatioPolicy
from mcz.dicom.guidelines import guideline_for_image
from mcz.dicom.output import check_transfer_syntax, write_dicom
from mcz.dicom.profile import check_mode
from mcz.dicom.series import SeriesImage, read_series, write_series
from mcz.errors import InputNotFoundError, UsageError
from mcz.fsutil import atomic_write_bytes
from mcz.gan.labelling import mark_image
from mcz.intensity import Intensity
from mcz.io import MedicalImage, from_array, from_frames, read_image, write_image
from mcz.io.dispatch import output_format
from mcz.io.nifti import mark_lossy
from mcz.io.sniff import SUFFIX_FORMAT, image_suffix
from mcz.metadata import NIFTI, nifti_affine
from mcz.ratecontrol import Trials, attach, select

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


@dataclass(frozen=True, kw_only=True)
class EncodeOptions:
    """How to encode: every option of :func:`encode`, :func:`encode_with_report`, :func:`encode_file`
    and :func:`encode_series`, checked once, when the options are made.

    Those functions take an ``EncodeOptions``, keywords naming its fields, or both (the keywords
    override the object's fields)::

        options = mcz.EncodeOptions(model="wavelet-ctx", quality=30, metadata="minimal")
        mcz.encode(image, options)
        mcz.encode(image, options, quality=32)   # the same options, another quality
        mcz.encode(image, quality=30)            # keywords alone

    Parameters
    ----------
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
        holds its values; never taken from the dtype alone).  A file declares its own.
    metadata : str
        ``"keep"`` (default) the source's header (DICOM without pixels, NIfTI
        header), ``"minimal"`` only what rebuilds a valid image, with new UIDs and
        no patient or study identity (a de-identification aid, not a
        de-identifier: see :mod:`mcz.dicom.profile`), ``"none"`` nothing.  As a keyword,
        ``keep_metadata=False`` is an older spelling of ``metadata="none"``.
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
        (:mod:`mcz.codec.nearlossless`).  Excludes ``model``, ``quality`` and ``target``
        (``model="nearlossless", quality=K`` is another spelling of ``max_error=K``).

    Raises
    ------
    UsageError
        An option of the wrong type or out of its range, or options that exclude each other.
    """

    model: str | None = None
    quality: int | None = None
    target: Target | None = None
    bits_stored: int | None = None
    signed: bool | None = None
    metadata: str = "keep"
    max_ratio: float | str | None = None
    strict: bool = False
    new_series: bool = False
    progress: Callable[[int], None] | None = None
    threads: int | None = None
    max_error: int | None = None

    def __post_init__(self) -> None:
        if self.quality is not None and self.target is not None:
            raise UsageError("quality and target were both given; give one (a target chooses the quality)")
        check_threads(self.threads)
        _check_arguments(self.quality, self.bits_stored, self.signed)
        RatioPolicy(self.max_ratio, self.strict)  # refuses a bad max_ratio
        if self.bound is not None:
            _check_bounded_options(self)
            check_max_error(self.bound)
        check_mode(self.metadata)

    @property
    def policy(self) -> RatioPolicy:
        """The ratio guard's policy (``max_ratio`` and ``strict``)."""
        return RatioPolicy(self.max_ratio, self.strict)

    @property
    def bound(self) -> int | None:
        """The near-lossless bound K, or None for lossy coding (``model="nearlossless", quality=K`` included)."""
        if self.model == "nearlossless" and self.max_error is None and self.target is None:
            return 0 if self.quality is None else self.quality
        return self.max_error

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The option names, in order (every keyword the encode functions accept besides their own)."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def merge(cls, options: EncodeOptions | None, keywords: dict[str, Any]) -> EncodeOptions:
        """``options`` (default: all defaults) with the fields named in ``keywords`` replaced.

        ``metadata=None`` means the default, and ``keep_metadata=False`` means ``metadata="none"``
        unless ``metadata`` is given too (the keywords :func:`encode` has always taken).

        Raises
        ------
        UsageError
            A keyword that names no option, or an option :class:`EncodeOptions` refuses.
        """
        if options is not None and not isinstance(options, EncodeOptions):
            raise UsageError(f"options is a {type(options).__name__}; expected an mcz.EncodeOptions or None")
        changes = dict(keywords)
        keep = changes.pop("keep_metadata", True)
        if changes.get("metadata", "") is None:
            del changes["metadata"]
        if not keep and "metadata" not in changes:
            changes["metadata"] = "none"
        unknown = sorted(set(changes) - set(cls.names()))
        if unknown:
            raise UsageError(
                f"unknown encode option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; expected "
                f"{', '.join(cls.names())} (or keep_metadata); see mcz.EncodeOptions"
            )
        return dataclasses.replace(options or cls(), **changes)


def encode(image: ImageLike, options: EncodeOptions | None = None, /, **keywords: Any) -> bytes:
    """Encode an image or volume into ``.mcz`` bytes.

    Parameters
    ----------
    image : numpy.ndarray, MedicalImage or path
        A 2-D image, a stack (frames, rows, columns), or a DICOM/NIfTI/PNG/TIFF/NPY file.
    options : EncodeOptions, optional
        How to encode (model, quality or target, metadata, ratio cap, ...; see :class:`EncodeOptions`).
    **keywords
        Fields of :class:`EncodeOptions`, overriding those of ``options``.

    Returns
    -------
    bytes
        The complete ``.mcz`` file.

    Raises
    ------
    UsageError
        A keyword that names no option, or an option :class:`EncodeOptions` refuses.

    Warns
    -----
    GuidelineWarning
        The achieved ratio exceeds the guideline, or no quality meets the cap.
    """
    outcome = _encode(image, EncodeOptions.merge(options, keywords))
    report_outcome(outcome, None)
    return outcome.data


def encode_with_report(image: ImageLike, options: EncodeOptions | None = None, /, **keywords: Any) -> Outcome:
    """:func:`encode`, returning the guard's :class:`~mcz.search.Outcome`.

    The outcome holds the bytes, the quality used (the one chosen for a cap), the
    achieved ratio, the guideline that applies, every (quality, ratio) tried and
    the notices (warnings and the chosen quality) instead of emitting them.  With
    a ``target`` it is a :class:`~mcz.ratecontrol.TargetedOutcome` whose ``rate``
    holds the chosen quality, the target and the achieved bpp, ratio and PSNR.
    ``options`` and ``keywords`` are as in :func:`encode`.
    """
    return _encode(image, EncodeOptions.merge(options, keywords))


def _encode(image: ImageLike, options: EncodeOptions) -> Outcome:
    """The encode pipeline behind every encode function: ``image`` coded with ``options``."""
    img = _as_image(image, bits_stored=options.bits_stored, signed=options.signed)
    _check_geometry(img)
    if options.bound is not None:
        return _encode_bounded(img, options.bound, options)
    return _encode_lossy(img, options)


def _encode_lossy(img: MedicalImage, options: EncodeOptions) -> Outcome:
    """A lossy model at a quality: the one given, the one a target needs, then the ratio guard's."""
    codec = engine.load_codec(options.model or default_model(img.intensity))
    blobs, record = encoding.prepare(img, options.metadata, codec.spec.family, options.new_series)
    pixels = img.rows * img.columns * img.frames

    def encode_at(q: int) -> bytes:
        return engine.encode_image(img, codec, quality=q, metadata=blobs, progress=options.progress,
                                   threads=options.threads, extra=encoding.record_extra(record))

    def ratio_of(data: bytes) -> float:
        return metrics.compression_ratio(len(data), pixels, img.intensity.bits_stored, img.intensity.dtype)

    trials = Trials(img, codec, encode_at)  # each quality is encoded once
    target = options.target
    searched = select(trials, target).quality if target is not None else None
    quality = options.quality
    start = searched if searched is not None else codec.spec.default_quality if quality is None else quality
    top = codec.spec.quality_range[1]
    outcome = guard.encode_guarded(trials.encode, ratio_of, start, top, guideline_for_image(img), options.policy)
    return attach(outcome, trials, target, searched)


def _check_bounded_options(options: EncodeOptions) -> None:
    """``max_error`` (or ``model="nearlossless"``) comes alone: no lossy model, quality or target."""
    model, quality, target = options.model, options.quality, options.target
    if options.max_error is None:  # model="nearlossless", quality=K: K is the bound
        model, quality = None, None
    given = [name for name, value in (("model", model), ("quality", quality), ("target", target)) if value is not None]
    if given and given != ["model"] or model not in (None, "nearlossless"):
        raise UsageError(
            f"max_error was given with {', '.join(given)}; expected max_error alone: it selects the "
            "near-lossless codec and its bound. Drop the other options, or drop max_error for lossy coding"
        )


def _encode_bounded(img: MedicalImage, k: int, options: EncodeOptions) -> Outcome:
    """Lossless/near-lossless encoding (:mod:`mcz.codec.nearlossless`); the ratio guard skips K = 0."""
    blobs, record = encoding.prepare(img, options.metadata, nearlossless.CODEC_ID, options.new_series)
    data = nearlossless.encode_image(img, k, blobs, options.progress, extra=encoding.record_extra(record))
    ratio = metrics.compression_ratio(len(data), img.rows * img.columns * img.frames, img.intensity.bits_stored,
                                      img.intensity.dtype)
    if k == 0:  # lossless: no guideline limits a lossless ratio
        return search.Outcome(data, 0, ratio, None, None, ((0, ratio),), ())
    return guard.encode_guarded(lambda _: data, lambda _: ratio, k, k, guideline_for_image(img), options.policy)


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
        return mark_image(image, realistic.decoder_id(parsed, decoder))
    image.decoder, image.decoder_id = "mse", header.codec_id
    return image


def _nifti_marked(block: bytes, header: container.Header, file_bytes: int) -> bytes:
    """The source's NIfTI header with ``descrip`` stating the coding (lossy, or its error bound)."""
    stored = header.rows * header.columns * header.frames * (1 if header.bits_stored <= 8 else 2)
    ratio = stored / max(file_bytes, 1)
    if header.codec_id == "nearlossless":
        kind = "lossless" if header.quality == 0 else f"near-lossless, max error {header.quality}"
        return mark_lossy(block, f"mcz {kind} ({ratio:.1f}:1)")
    return mark_lossy(block, f"LOSSY mcz {header.codec_id} q{header.quality} {ratio:.1f}:1")


def _affine(blob: bytes | None) -> np.ndarray | None:
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
    return available_decoders(header) if header.codec_id in _realistic_ids() else [
        {"decoder": "mse", "id": header.codec_id, "default": True, "pixels_checked": True,
         "label": "the model's own decoder"}]


def _realistic_ids() -> set[str]:
    """The registered models whose family can have a realistic decoder."""
    return {s.id for s in registry.registered() if s.family in realistic.FAMILIES}


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
    options: EncodeOptions | None = None,
    *,
    overwrite: bool = False,
    grey: bool = False,
    report: Report | None = None,
    **keywords: Any,
) -> Path:
    """Encode one image file to a ``.mcz`` file (atomic write, no silent overwrite).

    Parameters
    ----------
    src, dst : path
        The image file, and the ``.mcz`` file to write (default: ``src`` with the suffix ``.mcz``).
    options : EncodeOptions, optional
        How to encode; ``keywords`` (fields of :class:`EncodeOptions`) override its fields.
    overwrite : bool
        Replace an existing ``dst``.
    grey : bool
        Convert a colour image to grey (ITU-R 601 luma).
    report : callable, optional
        Receives every :class:`~mcz.search.Notice` (default: warnings are emitted as
        :class:`~mcz.dicom.guard.GuidelineWarning`).

    Returns
    -------
    Path
        ``dst``.
    """
    opts = EncodeOptions.merge(options, keywords)  # refused options fail before the file is read
    src = Path(src)
    dst = Path(dst) if dst is not None else default_output(src, "mcz")
    outcome = _encode(read_image(src, grey=grey), opts)
    report_outcome(outcome, report)
    return atomic_write_bytes(dst, outcome.data, overwrite=overwrite)


def encode_series(
    files: Sequence[str | os.PathLike],
    dst: str | os.PathLike,
    options: EncodeOptions | None = None,
    *,
    overwrite: bool = False,
    report: Report | None = None,
    **keywords: Any,
) -> Path:
    """Encode the DICOM slices of one series into one ``.mcz`` file.

    The slices are sorted by position (then Instance Number) and coded as one
    volume; every slice's header and file name is kept, so that ``mcz decode
    --to dcm`` gives back the same set of files (:mod:`mcz.dicom.series`).
    Other parameters are as in :func:`encode_file`.
    """
    opts = EncodeOptions.merge(options, keywords)
    image = read_series([Path(f) for f in files])
    outcome = _encode(image, opts)
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
    installed = {str(raw["id"]): (raw, folder, origin) for raw, folder, origin in zoo.installed_entries()}
    out = []
    for spec in registry.registered():
        raw, folder, origin = installed.get(spec.id, ({}, "", ""))
        out.append(ModelInfo(spec.id, spec.family, spec.description, spec.id in installed, spec.to_dict(), raw,
                             origin, str(folder)))
    return out
