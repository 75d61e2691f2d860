"""Reading and writing medical images: DICOM, NIfTI, PNG, TIFF, JPEG and NPY.

Every reader returns a :class:`MedicalImage`: the *stored* pixel values (before
any modality rescale) as a C-contiguous ``(frames, rows, columns)`` array, their
:class:`~mcz.intensity.Intensity`, and what is needed to write the image back the
way it came (original shape and axis layout, the DICOM header without pixels, the
NIfTI header and affine).

pydicom, nibabel, Pillow and tifffile are imported inside the functions that need
them, so ``import mcz.io`` stays cheap; torch is never imported.
"""

from __future__ import annotations

import copy
import datetime
import gzip
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from mcz.errors import (
    BitDepthError,
    ImageReadError,
    InputNotFoundError,
    McZError,
    OutputError,
    UnsupportedError,
    UsageError,
)
from mcz.fsutil import atomic_path
from mcz.intensity import PHOTOMETRICS, Intensity, bit_domain, intensity_for

if TYPE_CHECKING:  # pragma: no cover
    import pydicom

#: Suffixes :func:`read_image` accepts (DICOM files are also recognised by content).
SUPPORTED_READ = (".dcm", ".nii", ".nii.gz", ".png", ".tif", ".tiff", ".jpg", ".jpeg", ".npy")
#: Suffixes :func:`write_image` can write.
SUPPORTED_WRITE = (".dcm", ".nii", ".nii.gz", ".png", ".tif", ".tiff", ".npy")
#: Axis layouts of :attr:`MedicalImage.original_shape`.
LAYOUTS = ("frames-first", "frames-last")

_FORMAT_NAMES = {
    "dicom": "DICOM",
    "nifti": "NIfTI",
    "png": "PNG",
    "tiff": "TIFF",
    "jpeg": "JPEG",
    "npy": "NPY",
}
_SUFFIX_FORMAT = {
    ".dcm": "dicom",
    ".dicom": "dicom",
    ".nii": "nifti",
    ".nii.gz": "nifti",
    ".png": "png",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".npy": "npy",
}
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),
    (b"MM\x00+", "tiff"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x93NUMPY", "npy"),
)
_HEAD_BYTES = 352  # enough for the DICOM preamble (132) and the NIfTI-1 magic (344..348)

# ITU-R BT.601 luma weights, used whenever colour is converted to grey on request.
_LUMA = (0.299, 0.587, 0.114)


# --------------------------------------------------------------------------- the image


@dataclass
class MedicalImage:
    """Stored pixels of an image or volume, with what is needed to write it back.

    Attributes
    ----------
    pixels : numpy.ndarray
        Stored values (before any rescale), shape ``(frames, rows, columns)``,
        C-contiguous, native byte order, dtype ``intensity.dtype``.
    intensity : Intensity
        Value domain and rescale metadata.
    source_format : str
        ``"dicom"``, ``"nifti"``, ``"png"``, ``"tiff"``, ``"jpeg"``, ``"npy"`` or ``"array"``.
    original_shape : tuple of int
        Shape of the array as the source file or caller had it.
    layout : str
        ``"frames-first"`` (2-D images, DICOM/NPY/TIFF stacks) or
        ``"frames-last"`` (NIfTI ``x, y, z[, t, ...]``); see :func:`frames_view`.
    dicom : pydicom.Dataset, optional
        The source DICOM dataset without its pixel data elements (file meta kept,
        including the source transfer syntax, as information).
    nifti_affine : numpy.ndarray, optional
        4x4 voxel-to-world affine of a NIfTI source.
    nifti_header : bytes, optional
        nibabel ``header.binaryblock`` of a NIfTI source (348 or 540 bytes).
    """

    pixels: np.ndarray
    intensity: Intensity
    source_format: str
    original_shape: tuple[int, ...]
    layout: str
    dicom: pydicom.Dataset | None = None
    nifti_affine: np.ndarray | None = None
    nifti_header: bytes | None = None

    def __post_init__(self) -> None:
        self.original_shape = tuple(int(n) for n in self.original_shape)
        _check_layout(self.layout)
        pixels = _native(np.asarray(self.pixels))
        if pixels.ndim != 3:
            raise UsageError(f"pixels of shape {pixels.shape}; expected (frames, rows, columns)")
        if pixels.dtype.name != self.intensity.dtype:
            raise UsageError(
                f"pixels of dtype {pixels.dtype}, intensity says {self.intensity.dtype}; expected equal"
            )
        _check_frames(pixels.shape, self.original_shape, self.layout)
        self.pixels = np.ascontiguousarray(pixels)

    @property
    def frames(self) -> int:
        """Number of 2-D frames."""
        return int(self.pixels.shape[0])

    @property
    def rows(self) -> int:
        """Rows of each frame."""
        return int(self.pixels.shape[1])

    @property
    def columns(self) -> int:
        """Columns of each frame."""
        return int(self.pixels.shape[2])

    def source_array(self, pixels: np.ndarray | None = None) -> np.ndarray:
        """Pixels back in :attr:`original_shape` and :attr:`layout`.

        Parameters
        ----------
        pixels : numpy.ndarray, optional
            ``(frames, rows, columns)`` values to reshape (e.g. a reconstruction);
            default :attr:`pixels`.

        Returns
        -------
        numpy.ndarray
            Array of shape :attr:`original_shape`.
        """
        return from_frames(self.pixels if pixels is None else pixels, self.original_shape, self.layout)


def _check_layout(layout: str) -> None:
    if layout not in LAYOUTS:
        raise UsageError(f"layout {layout!r}; expected one of {', '.join(LAYOUTS)}")


def _native(arr: np.ndarray) -> np.ndarray:
    """``arr`` in native byte order (big-endian DICOM/NIfTI data arrive swapped)."""
    if arr.dtype.byteorder in "=|":
        return arr
    return arr.astype(arr.dtype.newbyteorder("="))


def frames_view(array: np.ndarray, layout: str) -> np.ndarray:
    """Reshape an image or volume to C-contiguous ``(frames, rows, columns)``.

    Parameters
    ----------
    array : numpy.ndarray
        At least 2-D.
    layout : str
        ``"frames-first"``: the last two axes are rows and columns and all leading
        axes are flattened (C order) into frames. ``"frames-last"`` (NIfTI
        ``x, y, z, ...``): the first two axes are rows and columns and the trailing
        axes are flattened into frames with ``z`` varying fastest, then moved to
        the front.

    Returns
    -------
    numpy.ndarray
        A view when no copy is needed, else a copy.
    """
    _check_layout(layout)
    arr = np.asarray(array)
    if arr.ndim < 2 or arr.size == 0:
        raise UsageError(
            f"found an array of shape {arr.shape}; expected an image of at least 2 non-empty axes"
        )
    if layout == "frames-first":
        return np.ascontiguousarray(arr.reshape((-1,) + arr.shape[-2:]))
    # Fortran-order flattening keeps z slices of one time point next to each other.
    stacked = arr.reshape(arr.shape[:2] + (-1,), order="F")
    return np.ascontiguousarray(stacked.transpose(2, 0, 1))


def from_frames(pixels: np.ndarray, original_shape: tuple[int, ...], layout: str) -> np.ndarray:
    """Inverse of :func:`frames_view`.

    Parameters
    ----------
    pixels : numpy.ndarray
        ``(frames, rows, columns)`` array.
    original_shape : tuple of int
        Shape to restore.
    layout : str
        The layout :func:`frames_view` was called with.

    Returns
    -------
    numpy.ndarray
        Array of ``original_shape``.
    """
    _check_layout(layout)
    arr = np.asarray(pixels)
    shape = tuple(int(n) for n in original_shape)
    _check_frames(arr.shape, shape, layout)
    if layout == "frames-first":
        return arr.reshape(shape)
    return arr.transpose(1, 2, 0).reshape(shape, order="F")


def _check_frames(frames_shape: tuple[int, ...], original_shape: tuple[int, ...], layout: str) -> None:
    plane = original_shape[-2:] if layout == "frames-first" else original_shape[:2]
    ok = (
        len(frames_shape) == 3
        and len(original_shape) >= 2
        and tuple(frames_shape[1:]) == tuple(plane)
        and math.prod(frames_shape) == math.prod(original_shape)
    )
    if not ok:
        raise UsageError(
            f"pixels of shape {tuple(frames_shape)} do not fit original shape {original_shape} "
            f"({layout}); expected (frames, {plane[0] if plane else '?'}, {plane[-1] if plane else '?'}) "
            "with the same number of values"
        )


def from_array(
    array: np.ndarray,
    *,
    bits_stored: int | None = None,
    signed: bool | None = None,
    slope: float = 1.0,
    intercept: float = 0.0,
    photometric: str = "MONOCHROME2",
    value_range: tuple[float, float] | None = None,
    layout: str = "frames-first",
) -> MedicalImage:
    """Wrap a NumPy array as a :class:`MedicalImage`.

    Parameters
    ----------
    array : numpy.ndarray
        2-D image or N-D stack of stored values. The pixels may share memory with it.
    bits_stored, signed, slope, intercept, photometric, value_range
        As in :func:`mcz.intensity.intensity_for`.
    layout : str
        ``"frames-first"`` (default) or ``"frames-last"``; see :func:`frames_view`.

    Returns
    -------
    MedicalImage
        With ``source_format="array"``.
    """
    arr = _native(np.asarray(array))
    intensity = intensity_for(
        arr,
        bits_stored=bits_stored,
        signed=signed,
        slope=slope,
        intercept=intercept,
        photometric=photometric,
        value_range=value_range,
    )
    return MedicalImage(frames_view(arr, layout), intensity, "array", arr.shape, layout)


# --------------------------------------------------------------------------- reading


def read_image(path: str | Path, *, grey: bool = False) -> MedicalImage:
    """Read a DICOM, NIfTI, PNG, TIFF, JPEG or NPY file.

    The format is chosen by content (DICOM preamble, PNG/TIFF/JPEG/NPY/NIfTI
    magic bytes), then by suffix (``.dcm`` without preamble, ``.nii.gz``).

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    grey : bool
        Convert colour images to luma (ITU-R BT.601 weights, rounded to the source
        dtype, alpha dropped) instead of refusing them. Colour PNG/TIFF/JPEG whose
        channels are all equal (and fully opaque) are read as grey either way.

    Returns
    -------
    MedicalImage

    Raises
    ------
    InputNotFoundError
        ``path`` does not exist.
    ImageReadError
        The file is empty, truncated or corrupt, has no pixel data, or needs a
        DICOM decoder plugin that is not installed.
    UnsupportedError
        Unknown format, colour without ``grey``, or an unsupported dtype.
    BitDepthError
        NaN/infinite float pixels.

    Notes
    -----
    DICOM pixel values that do not fit *Bits Stored* (some real files) are read
    with the smallest standard bit depth that holds them, with a warning.
    """
    p = Path(path)
    if not p.exists():
        raise InputNotFoundError(f"input {p} does not exist; check the path")
    if not p.is_file():
        raise UsageError(f"input {p} is not a file; expected an image file")
    kind = _sniff(p)
    try:
        return _READERS[kind](p, grey)
    except (McZError, MemoryError):
        raise
    except Exception as exc:  # third-party readers raise anything; callers get one error type
        name = _FORMAT_NAMES[kind]
        raise ImageReadError(
            f"could not read {p} as {name}: {type(exc).__name__}: {exc}; expected a complete, valid "
            f"{name} file. Check that it is not truncated or corrupt"
        ) from exc


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(_HEAD_BYTES)
    except OSError as exc:
        raise ImageReadError(f"could not open {path}: {exc.strerror or exc}; check its permissions") from exc


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else path.suffix.lower()


def _raw_dicom(head: bytes) -> bool:
    """A DICOM data set without preamble starts with a group 0002 or 0008 tag."""
    return len(head) >= 8 and any(
        int.from_bytes(head[:2], order) in (0x0002, 0x0008) for order in ("little", "big")
    )


def _sniff(path: Path) -> str:
    head = _head(path)
    if not head:
        raise ImageReadError(
            f"{path} is empty (0 bytes); expected an image file. It was probably not written completely"
        )
    if head[128:132] == b"DICM":
        return "dicom"
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    suffix = _suffix(path)
    if (
        head[344:348] == b"n+1\x00"
        or head[4:8] == b"n+2\x00"
        or (suffix == ".nii.gz" and head[:2] == b"\x1f\x8b")
    ):
        return "nifti"
    claimed = _SUFFIX_FORMAT.get(suffix)
    if claimed == "dicom" or (claimed is None and _raw_dicom(head)):
        return "dicom"
    if claimed:
        name = _FORMAT_NAMES[claimed]
        raise ImageReadError(
            f"{path} is named {suffix} but its content is not {name} (it starts with {head[:8]!r}); "
            f"expected a {name} file. It may be corrupt or misnamed"
        )
    raise UnsupportedError(
        f"{path} has an unknown format (suffix {suffix or 'none'!r}, starts with {head[:8]!r}); expected one of "
        f"{', '.join(SUPPORTED_READ)} (DICOM files are also recognised without suffix)"
    )


# ----- DICOM

# pip packages that provide pydicom's decoders, by transfer syntax family.
_JPEG_PACKAGES = "pylibjpeg pylibjpeg-libjpeg"
_DECODER_PACKAGES = {
    "1.2.840.10008.1.2.4.50": _JPEG_PACKAGES,
    "1.2.840.10008.1.2.4.51": _JPEG_PACKAGES,
    "1.2.840.10008.1.2.4.57": _JPEG_PACKAGES,
    "1.2.840.10008.1.2.4.70": _JPEG_PACKAGES,
    "1.2.840.10008.1.2.4.80": _JPEG_PACKAGES,
    "1.2.840.10008.1.2.4.81": _JPEG_PACKAGES,
    "1.2.840.10008.1.2.4.90": "pylibjpeg pylibjpeg-openjpeg",
    "1.2.840.10008.1.2.4.91": "pylibjpeg pylibjpeg-openjpeg",
    "1.2.840.10008.1.2.4.201": "pylibjpeg pylibjpeg-openjpeg",
    "1.2.840.10008.1.2.4.202": "pylibjpeg pylibjpeg-openjpeg",
    "1.2.840.10008.1.2.4.203": "pylibjpeg pylibjpeg-openjpeg",
    "1.2.840.10008.1.2.5": "pylibjpeg pylibjpeg-rle",
}
# Colour interpretations that pydicom decodes to RGB (or palette indices) and grey=True can convert.
_DICOM_COLOUR = ("RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT", "PALETTE COLOR")
_PIXEL_TAGS = (0x7FE00001, 0x7FE00002, 0x7FE00008, 0x7FE00009, 0x7FE00010, 0xFFFCFFFC)


def _read_dicom(path: Path, grey: bool) -> MedicalImage:
    import pydicom

    head = _head(path)
    preamble = head[128:132] == b"DICM"
    if not preamble and not _raw_dicom(head):
        raise ImageReadError(
            f"{path} has no DICM preamble and does not start like a DICOM data set (it starts with "
            f"{head[:8]!r}); expected a DICOM file. It may be corrupt or misnamed"
        )
    ds = pydicom.dcmread(path, force=not preamble)
    _ensure_transfer_syntax(ds)
    _check_pixel_data(ds, path)
    _check_decoder(ds, path)
    photometric = _dicom_photometric(ds, grey, path)  # before decoding: refuse colour early
    arr = _native(np.asarray(_dicom_grey(_dicom_pixels(ds), ds, photometric)))
    if arr.ndim < 2:
        raise UnsupportedError(f"{path}: pixel data of shape {arr.shape}; expected an image (rows, columns)")
    photometric = photometric if photometric in PHOTOMETRICS else "MONOCHROME2"
    intensity = _dicom_intensity(arr, ds, photometric, path)
    header = _strip_pixel_data(ds)
    return MedicalImage(
        frames_view(arr, "frames-first"), intensity, "dicom", arr.shape, "frames-first", dicom=header
    )


def _ensure_transfer_syntax(ds: pydicom.Dataset) -> None:
    """Give a data set read without file meta the transfer syntax it was read with."""
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

    meta = getattr(ds, "file_meta", None)
    if meta is not None and "TransferSyntaxUID" in meta:
        return
    implicit, little = ds.original_encoding
    syntax = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian if little else ExplicitVRBigEndian
    ds.file_meta = meta if meta is not None else FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax


def _check_pixel_data(ds: pydicom.Dataset, path: Path) -> None:
    if any(kw in ds for kw in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        return
    sop = getattr(ds.get("SOPClassUID"), "name", None) or "unknown"
    raise ImageReadError(
        f"{path} is a DICOM file without Pixel Data (SOP class: {sop}); expected an image. "
        "It is either a non-image object (report, structure set, ...) or truncated before its pixels"
    )


def _check_decoder(ds: pydicom.Dataset, path: Path) -> None:
    from pydicom.pixels import get_decoder

    syntax = ds.file_meta.TransferSyntaxUID
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError as exc:
        raise UnsupportedError(
            f"{path}: pixel data use transfer syntax {syntax.name} ({syntax}), which pydicom cannot decode; "
            "expected an uncompressed, JPEG, JPEG-LS, JPEG 2000 or RLE syntax. Convert the file first "
            "(e.g. gdcmconv --raw)"
        ) from exc
    if not decoder.is_available:
        package = _DECODER_PACKAGES.get(str(syntax), "pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg")
        raise ImageReadError(
            f"{path}: pixel data are compressed with {syntax.name}, but no decoder plugin for it is installed "
            f"(pydicom could use: {'; '.join(decoder.missing_dependencies)}). Install one: pip install {package}"
        )


def _dicom_pixels(ds: pydicom.Dataset) -> np.ndarray:
    """Decoded pixels, keeping values that overflow *Bits Stored* unless the file explains them.

    pydicom masks the bits above *Bits Stored* by default, which silently changes
    the values of files that declare too few bits. Here they are kept (and
    :func:`_dicom_intensity` widens the domain with a warning); the masked values
    are used only where the high bits are legitimately not pixel data: signed
    values stored without sign extension, or overlays embedded in the unused bits.
    """
    ds.pixel_array_options(correct_unused_bits=False)
    arr = ds.pixel_array
    stored, allocated = int(ds.get("BitsStored") or 0), int(ds.get("BitsAllocated") or 0)
    if arr.dtype.kind not in "ui" or not 0 < stored < allocated == arr.dtype.itemsize * 8:
        return arr
    signed = arr.dtype.kind == "i"
    lo, hi = bit_domain(stored, signed)
    if arr.size == 0 or (lo <= arr.min() and arr.max() <= hi):
        return arr
    # Signed values whose only fault is missing sign extension lie in [lo, 2**stored).
    unextended = signed and lo <= arr.min() and arr.max() < (1 << stored)
    if not (unextended or _embedded_overlays(ds)):
        return arr
    shift = allocated - stored
    masked = np.left_shift(arr, shift)  # the same correction pydicom applies by default
    return np.right_shift(masked, shift, out=masked)


def _embedded_overlays(ds: pydicom.Dataset) -> bool:
    """Whether retired overlays live in the pixel data's high bits (Overlay Bit Position > 0)."""
    tags = ds.keys()  # iterating a Dataset would yield (decoded) elements, not tags
    return any(0x6000 <= tag.group <= 0x601E and tag.element == 0x0102 and ds[tag].value for tag in tags)


def _dicom_photometric(ds: pydicom.Dataset, grey: bool, path: Path) -> str:
    """The photometric interpretation, refusing colour unless ``grey``."""
    photometric = str(ds.get("PhotometricInterpretation", "") or "MONOCHROME2").strip().upper()
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    if photometric in PHOTOMETRICS and samples == 1:
        return photometric
    if photometric not in _DICOM_COLOUR or not grey:
        hint = (
            " Pass grey=True (--grey) to convert it to luma (ITU-R BT.601)"
            if photometric in _DICOM_COLOUR
            else ""
        )
        raise UnsupportedError(
            f"{path}: PhotometricInterpretation {photometric} with {samples} samples per pixel; "
            f"expected a greyscale MONOCHROME1/MONOCHROME2 image.{hint}"
        )
    return photometric


def _dicom_grey(arr: np.ndarray, ds: pydicom.Dataset, photometric: str) -> np.ndarray:
    """Greyscale pixels: as decoded, or the luma of colour (pydicom decodes YBR to RGB)."""
    if photometric in PHOTOMETRICS:
        return arr
    if photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        arr = apply_color_lut(arr, ds)
    return _luma(arr)


def _dicom_intensity(arr: np.ndarray, ds: pydicom.Dataset, photometric: str, path: Path) -> Intensity:
    slope, intercept = _dicom_rescale(ds, path)
    meta: dict[str, Any] = {"slope": slope, "intercept": intercept, "photometric": photometric}
    if arr.dtype.kind == "f":
        return intensity_for(arr, **meta)
    # Palette lookups give values of the LUT's depth, not Bits Stored: infer those.
    declared = None if "PALETTE" in str(ds.get("PhotometricInterpretation", "")) else ds.get("BitsStored")
    signed = arr.dtype.kind == "i"  # pydicom chose the dtype from Pixel Representation
    try:
        return intensity_for(arr, bits_stored=int(declared) if declared else None, signed=signed, **meta)
    except BitDepthError as exc:
        wider = intensity_for(arr, signed=signed, **meta)
        warnings.warn(
            f"{path}: {exc}. BitsStored={declared} does not hold these pixels, so they are kept as "
            f"stored and read as {wider.bits_stored}-bit",
            stacklevel=4,
        )
        return wider


def _dicom_rescale(ds: pydicom.Dataset, path: Path) -> tuple[float, float]:
    """Rescale slope/intercept: top level, else the (shared or first per-frame) functional groups."""
    source = ds
    if "RescaleSlope" not in ds and "RescaleIntercept" not in ds:
        source = _transform_group(ds, path) or ds
    slope = _ds_number(source.get("RescaleSlope"), 1.0, "RescaleSlope", path)
    intercept = _ds_number(source.get("RescaleIntercept"), 0.0, "RescaleIntercept", path)
    return slope, intercept


def _transform_group(ds: pydicom.Dataset, path: Path) -> pydicom.Dataset | None:
    def transform(item):
        seq = item.get("PixelValueTransformationSequence") if item is not None else None
        return seq[0] if seq else None

    shared = ds.get("SharedFunctionalGroupsSequence")
    found = transform(shared[0]) if shared else None
    if found is not None:
        return found
    frames = [transform(item) for item in ds.get("PerFrameFunctionalGroupsSequence", None) or []]
    values = {(str(f.get("RescaleSlope")), str(f.get("RescaleIntercept"))) for f in frames if f is not None}
    if len(values) > 1:
        warnings.warn(f"{path}: the rescale differs between frames; keeping the first frame's", stacklevel=6)
    return frames[0] if frames else None


def _ds_number(value: Any, default: float, name: str, path: Path) -> float:
    number = _as_float(value)
    if number is None:
        return default
    if not math.isfinite(number):
        warnings.warn(f"{path}: {name} {value!r} is not a finite number; using {default}", stacklevel=6)
        return default
    return number


def _as_float(value: Any) -> float | None:
    """A DS value as float: None when absent or empty, NaN when unreadable."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        value = value[0] if len(value) else None  # a multi-valued DS in a broken file: use the first
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _strip_pixel_data(ds: pydicom.Dataset) -> pydicom.Dataset:
    """``ds`` without its pixel data elements (the caller owns ``ds``)."""
    for tag in _PIXEL_TAGS:
        if tag in ds:
            del ds[tag]
    ds.pixel_array_options()  # drops pydicom's cached decoded array
    return ds


# ----- NIfTI


def _read_nifti(path: Path, grey: bool) -> MedicalImage:
    import nibabel as nib

    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    # NIfTI-2 headers are 540 bytes long, NIfTI-1 348 (either byte order); loading from
    # bytes rather than nib.load keeps the format independent of the file name.
    size = int.from_bytes(data[:4], "little")
    klass = nib.Nifti2Image if 540 in (size, int.from_bytes(data[:4], "big")) else nib.Nifti1Image
    img = klass.from_bytes(data)
    proxy = img.dataobj
    arr = np.asarray(proxy.get_unscaled()) if hasattr(proxy, "get_unscaled") else np.asarray(proxy)
    arr = _native(arr)
    if arr.dtype.names:  # RGB24 / RGBA32 voxels
        arr = _structured_to_grey(arr, grey, path)
    if arr.ndim < 2:
        raise UnsupportedError(f"{path}: NIfTI data of shape {arr.shape}; expected at least 2-D")
    slope = float(getattr(proxy, "slope", 1.0))
    inter = float(getattr(proxy, "inter", 0.0))
    intensity = intensity_for(arr, slope=slope, intercept=inter)
    return MedicalImage(
        frames_view(arr, "frames-last"),
        intensity,
        "nifti",
        arr.shape,
        "frames-last",
        nifti_affine=np.array(img.affine, dtype=np.float64),
        nifti_header=bytes(img.header.binaryblock),
    )


def _structured_to_grey(arr: np.ndarray, grey: bool, path: Path) -> np.ndarray:
    names = arr.dtype.names or ()
    if not {"R", "G", "B"} <= set(names):
        raise UnsupportedError(
            f"{path}: voxels of structured type {arr.dtype}; expected a plain numeric type"
        )
    channels = [arr[c] for c in ("R", "G", "B", "A") if c in names]
    return _colour_to_grey(np.stack(channels, axis=-1), "A" in names, grey, "RGB NIfTI", path)


# ----- PNG / JPEG


def _read_pillow(path: Path, grey: bool, kind: str) -> MedicalImage:
    from PIL import Image

    head = _head(path)
    # Pillow reads 16-bit colour PNG as 8-bit; refuse rather than silently drop bits.
    if kind == "png" and len(head) > 25 and head[24] == 16 and head[25] != 0:
        raise UnsupportedError(
            f"{path}: 16-bit colour or grey+alpha PNG (colour type {head[25]}); expected 8-bit colour or "
            "16-bit greyscale. Convert it to a 16-bit greyscale PNG or TIFF first"
        )
    with Image.open(path) as im:
        if getattr(im, "n_frames", 1) > 1:
            raise UnsupportedError(
                f"{path}: animated {kind.upper()} with {im.n_frames} frames; expected one image"
            )
        im.load()
        arr, bits = _pillow_array(im, grey, path)
    arr = _native(arr)
    intensity = intensity_for(arr, bits_stored=bits)
    return MedicalImage(frames_view(arr, "frames-first"), intensity, kind, arr.shape, "frames-first")


def _pillow_array(im: Any, grey: bool, path: Path) -> tuple[np.ndarray, int | None]:
    """Grey pixels of a Pillow image and their bit depth when it is not inferred (bilevel: 1)."""
    mode = im.mode
    if mode == "1":
        return np.asarray(im).astype(np.uint8), 1
    if mode in ("L", "F") or mode.startswith("I;16"):
        return np.asarray(im), None
    if mode == "I":  # 32-bit ints: 16-bit PNG on older Pillow
        arr = np.asarray(im)
        fits = arr.min() >= 0 and arr.max() <= 0xFFFF
        return (arr.astype(np.uint16) if fits else arr), None
    if mode in ("P", "PA", "RGBX", "RGBa", "La"):
        im, mode = im.convert("RGBA"), "RGBA"
    if mode in ("LA", "RGB", "RGBA"):
        return _colour_to_grey(np.asarray(im), mode.endswith("A"), grey, f"{mode} image", path), None
    if not grey:  # CMYK, YCbCr, LAB, HSV
        raise UnsupportedError(
            f"{path}: colour image in mode {mode}; expected greyscale. Pass grey=True (--grey) to convert it to luma"
        )
    return _luma(np.asarray(im.convert("RGB"))), None


def _read_png(path: Path, grey: bool) -> MedicalImage:
    return _read_pillow(path, grey, "png")


def _read_jpeg(path: Path, grey: bool) -> MedicalImage:
    return _read_pillow(path, grey, "jpeg")


# ----- colour


def _colour_to_grey(arr: np.ndarray, has_alpha: bool, grey: bool, what: str, path: Path) -> np.ndarray:
    """Grey from ``(..., channels)``: lossless when channels are equal and opaque, else luma if ``grey``."""
    colour = arr[..., :-1] if has_alpha else arr
    first = colour[..., 0]
    equal = all(np.array_equal(first, colour[..., c]) for c in range(1, colour.shape[-1]))
    opaque = not has_alpha or bool((arr[..., -1] == _full_scale(arr.dtype)).all())
    if equal and opaque:
        return np.ascontiguousarray(first)
    if not grey:
        why = "colour channels that differ" if not equal else "transparent pixels"
        raise UnsupportedError(
            f"{path}: {what} with {why}; expected greyscale. Pass grey=True (--grey) to convert it to "
            "luma (ITU-R BT.601 weights; transparency is dropped)"
        )
    return np.ascontiguousarray(first) if colour.shape[-1] == 1 or equal else _luma(colour)


def _full_scale(dtype: np.dtype) -> float:
    return float(np.iinfo(dtype).max) if dtype.kind in "ui" else 1.0


def _luma(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma of ``(..., 3)`` RGB, rounded (half to even) and clipped to the source dtype."""
    y = rgb[..., 0] * _LUMA[0] + rgb[..., 1] * _LUMA[1] + rgb[..., 2] * _LUMA[2]
    if rgb.dtype.kind in "ui":
        info = np.iinfo(rgb.dtype)
        y = np.clip(np.rint(y), info.min, info.max)
    return np.ascontiguousarray(y.astype(rgb.dtype))


# ----- TIFF


def _read_tiff(path: Path, grey: bool) -> MedicalImage:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        if not tif.series:
            raise ImageReadError(f"{path}: a TIFF file without images; expected at least one page")
        series = tif.series[0]
        arr, axes = _tiff_series(tif, path)
        photometric, colormap = series.keyframe.photometric, series.keyframe.colormap
    if photometric == tifffile.PHOTOMETRIC.PALETTE and colormap is not None:
        arr, axes = _apply_palette(arr, colormap), axes + "S"
    if "S" in axes:
        arr = _tiff_samples(np.moveaxis(arr, axes.index("S"), -1), photometric, grey, path)
    bits = None
    if arr.dtype == np.bool_:
        arr, bits = arr.astype(np.uint8), 1
    if arr.ndim < 2:
        raise UnsupportedError(f"{path}: TIFF data of shape {arr.shape}; expected at least 2-D")
    mono = "MONOCHROME1" if photometric == tifffile.PHOTOMETRIC.MINISWHITE else "MONOCHROME2"
    intensity = intensity_for(arr, bits_stored=bits, photometric=mono)
    return MedicalImage(frames_view(arr, "frames-first"), intensity, "tiff", arr.shape, "frames-first")


def _tiff_series(tif: Any, path: Path) -> tuple[np.ndarray, str]:
    """The first series, or all series stacked when they are pages of one shape (one series per write)."""
    first = tif.series[0]
    alike = all(
        (s.shape, s.dtype, s.axes, s.keyframe.photometric)
        == (first.shape, first.dtype, first.axes, first.keyframe.photometric)
        for s in tif.series
    )
    if len(tif.series) == 1 or not alike:
        if len(tif.series) > 1:
            warnings.warn(
                f"{path} holds {len(tif.series)} image series of different shapes; reading only the first",
                stacklevel=4,
            )
        return _native(first.asarray()), first.axes
    return _native(np.stack([s.asarray() for s in tif.series])), "I" + first.axes


def _apply_palette(indices: np.ndarray, colormap: np.ndarray) -> np.ndarray:
    """RGB of a palette TIFF; 8-bit when the 16-bit map is an exact 8-bit one scaled by 257."""
    rgb = np.asarray(colormap).T[indices]
    if indices.dtype.itemsize == 1 and not (rgb % 257).any():
        return (rgb // 257).astype(np.uint8)
    return rgb


def _tiff_samples(arr: np.ndarray, photometric: Any, grey: bool, path: Path) -> np.ndarray:
    import tifffile

    samples = arr.shape[-1]
    if samples == 1:
        return arr[..., 0]
    known = (tifffile.PHOTOMETRIC.RGB, tifffile.PHOTOMETRIC.MINISBLACK, tifffile.PHOTOMETRIC.PALETTE)
    if photometric not in known or samples not in (2, 3, 4):
        raise UnsupportedError(
            f"{path}: TIFF with photometric {getattr(photometric, 'name', photometric)} and {samples} samples "
            "per pixel; expected greyscale, RGB or palette. Convert it to greyscale first"
        )
    return _colour_to_grey(arr, samples in (2, 4), grey, f"TIFF ({samples} samples per pixel)", path)


# ----- NPY


def _read_npy(path: Path, grey: bool) -> MedicalImage:
    arr = np.load(path, allow_pickle=False)  # never unpickle: an .npy may come from anywhere
    if not isinstance(arr, np.ndarray):
        raise UnsupportedError(f"{path}: an archive of arrays; expected a single .npy array")
    arr = _native(arr)
    if arr.ndim < 2:
        raise UnsupportedError(f"{path}: array of shape {arr.shape}; expected at least 2-D")
    intensity = intensity_for(arr)
    return MedicalImage(frames_view(arr, "frames-first"), intensity, "npy", arr.shape, "frames-first")


_READERS: dict[str, Callable[[Path, bool], MedicalImage]] = {
    "dicom": _read_dicom,
    "nifti": _read_nifti,
    "png": _read_png,
    "tiff": _read_tiff,
    "jpeg": _read_jpeg,
    "npy": _read_npy,
}


# --------------------------------------------------------------------------- writing

_FORMAT_ALIASES = {
    "png": "png",
    "tif": "tiff",
    "tiff": "tiff",
    "npy": "npy",
    "nii": "nii",
    "nifti": "nii",
    "nii.gz": "nii.gz",
    "dcm": "dcm",
    "dicom": "dcm",
}
Writer = Callable[[BinaryIO], None]


def write_image(
    path: str | Path,
    image: MedicalImage,
    *,
    format: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``image`` atomically as PNG, TIFF, NPY, NIfTI or DICOM.

    Parameters
    ----------
    path : str or pathlib.Path
        Output file; its parent folder must exist.
    image : MedicalImage
        The image; its stored values are written as they are (no rescale, no
        MONOCHROME1 inversion).
    format : str, optional
        ``"png"``, ``"tiff"``, ``"npy"``, ``"nii"``, ``"nii.gz"`` or ``"dcm"``;
        default from the suffix of ``path`` (``.nii`` + ``.gz`` compresses).
    overwrite : bool
        Replace an existing file (the CLI's ``--force``).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    UsageError
        Unknown format, or one that cannot hold the image (PNG: one frame of
        uint8/uint16; DICOM: float pixels need a source DICOM header).
    OutputError
        ``path`` exists and ``overwrite`` is false, its folder is missing, or
        writing failed (no partial file is left behind).

    Notes
    -----
    Layouts: NPY gets :meth:`MedicalImage.source_array`; NIfTI gets the NIfTI
    layout (a frames-first source becomes ``(rows, columns, frames)``); TIFF gets
    the source array of frames-first images and the frames of NIfTI ones; PNG
    and DICOM get the frames. A DICOM output starts from the source header when
    there is one, keeping its UIDs: give it new ones if the pixels changed.
    """
    target = Path(path)
    fmt = _output_format(target, format)
    writer = _WRITERS[fmt](image, fmt)  # validates before anything touches the disk
    with atomic_path(target, overwrite) as tmp:
        try:
            with open(tmp, "wb") as f:
                writer(f)
        except (McZError, OSError):
            raise
        except Exception as exc:  # a library's own error while encoding
            raise OutputError(f"could not write {target} as {fmt}: {type(exc).__name__}: {exc}") from exc
    return target


def _output_format(path: Path, format: str | None) -> str:
    if format:
        fmt = _FORMAT_ALIASES.get(format.lower().lstrip("."))
        if fmt is None:
            raise UsageError(
                f"output format {format!r}; expected one of {', '.join(sorted(set(_FORMAT_ALIASES)))}"
            )
        return "nii.gz" if fmt == "nii" and path.name.lower().endswith(".gz") else fmt
    fmt = _FORMAT_ALIASES.get(_suffix(path).lstrip("."))
    if fmt is None:
        raise UsageError(
            f"cannot tell the output format of {path} from its suffix; expected one of "
            f"{', '.join(SUPPORTED_WRITE)}, or name the format (--to)"
        )
    return fmt


def _frames_first(image: MedicalImage) -> np.ndarray:
    """The array for formats without a layout of their own (TIFF)."""
    if image.layout == "frames-first":
        return image.source_array()
    return image.pixels[0] if image.frames == 1 else image.pixels


def _png_writer(image: MedicalImage, fmt: str) -> Writer:
    if image.frames != 1:
        raise UsageError(
            f"PNG holds one frame, the image has {image.frames}; write .tiff, .npy, .nii or .dcm instead"
        )
    if image.intensity.dtype not in ("uint8", "uint16"):
        raise UsageError(
            f"PNG holds uint8 or uint16 pixels, the image has {image.intensity.dtype}; "
            "write .tiff, .npy, .nii or .dcm instead"
        )

    def write(f: BinaryIO) -> None:
        from PIL import Image

        Image.fromarray(image.pixels[0]).save(f, format="PNG")

    return write


def _tiff_writer(image: MedicalImage, fmt: str) -> Writer:
    data = _frames_first(image)
    photometric = "miniswhite" if image.intensity.photometric == "MONOCHROME1" else "minisblack"

    def write(f: BinaryIO) -> None:
        import tifffile

        tifffile.imwrite(f, data, photometric=photometric)

    return write


def _npy_writer(image: MedicalImage, fmt: str) -> Writer:
    data = image.source_array()
    return lambda f: np.save(f, data, allow_pickle=False)


def _nifti_writer(image: MedicalImage, fmt: str) -> Writer:
    import nibabel as nib

    if image.layout == "frames-last":
        data = image.source_array()
    else:  # NIfTI's first two axes are the in-plane ones
        data = image.pixels.transpose(1, 2, 0)
        data = data[..., 0] if image.frames == 1 else data
    block = image.nifti_header
    klass = nib.Nifti2Image if block is not None and len(block) == 540 else nib.Nifti1Image
    header = klass.header_class(binaryblock=bytes(block)) if block is not None else None
    affine = image.nifti_affine if image.nifti_affine is not None else np.eye(4)
    img = klass(np.asarray(data), affine, header=header)
    img.set_data_dtype(data.dtype)
    # An explicit slope stops nibabel from rescaling: the stored values are written as they are.
    img.header.set_slope_inter(image.intensity.slope, image.intensity.intercept)

    def write(f: BinaryIO) -> None:
        raw = img.to_bytes()
        f.write(gzip.compress(raw, compresslevel=6) if fmt == "nii.gz" else raw)

    return write


def _dicom_writer(image: MedicalImage, fmt: str) -> Writer:
    import pydicom

    ds = _dicom_dataset(image)
    return lambda f: pydicom.dcmwrite(f, ds, enforce_file_format=True)


_WRITERS: dict[str, Callable[[MedicalImage, str], Writer]] = {
    "png": _png_writer,
    "tiff": _tiff_writer,
    "npy": _npy_writer,
    "nii": _nifti_writer,
    "nii.gz": _nifti_writer,
    "dcm": _dicom_writer,
}


# ----- DICOM output

# Elements that describe pixels we no longer write as they were (colour, palettes).
_STALE_PIXEL_KEYWORDS = (
    "PlanarConfiguration",
    "RedPaletteColorLookupTableDescriptor",
    "GreenPaletteColorLookupTableDescriptor",
    "BluePaletteColorLookupTableDescriptor",
    "RedPaletteColorLookupTableData",
    "GreenPaletteColorLookupTableData",
    "BluePaletteColorLookupTableData",
    "SegmentedRedPaletteColorLookupTableData",
    "SegmentedGreenPaletteColorLookupTableData",
    "SegmentedBluePaletteColorLookupTableData",
    "PaletteColorLookupTableUID",
)


def _dicom_dataset(image: MedicalImage) -> pydicom.Dataset:
    """A complete data set for ``image``: its source header if any, else a new Secondary Capture."""
    if image.intensity.is_float and image.dicom is None:
        raise UsageError(
            f"{image.intensity.dtype} pixels need a source DICOM header (float pixel data belong to "
            "parametric maps); write .nii, .tiff or .npy instead"
        )
    if image.dicom is not None:
        ds = copy.deepcopy(image.dicom)
        _to_little_endian(ds)
        for tag in _PIXEL_TAGS:
            if tag in ds:
                del ds[tag]
    else:
        ds = _new_secondary_capture(image)
    _set_pixel_module(ds, image)
    _set_file_meta(ds)
    return ds


def _to_little_endian(ds: pydicom.Dataset) -> None:
    """Byte-swap the binary values of a big-endian header (pydicom leaves them as read)."""
    meta = getattr(ds, "file_meta", None)
    syntax = meta.get("TransferSyntaxUID") if meta is not None else None
    if syntax is None or not syntax.is_transfer_syntax or syntax.is_little_endian:
        return
    sizes = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}

    def swap(_: Any, elem: Any) -> None:
        size = sizes.get(elem.VR)
        if size and isinstance(elem.value, bytes) and len(elem.value) % size == 0:
            elem.value = np.frombuffer(elem.value, f">u{size}").astype(f"<u{size}").tobytes()

    ds.walk(swap)


def _sop_class(image: MedicalImage) -> str:
    from pydicom.uid import (
        MultiFrameGrayscaleByteSecondaryCaptureImageStorage,
        MultiFrameGrayscaleWordSecondaryCaptureImageStorage,
        SecondaryCaptureImageStorage,
    )

    it = image.intensity
    if image.frames > 1 and it.photometric == "MONOCHROME2":
        if it.dtype == "uint8" and it.bits_stored == 8:
            return MultiFrameGrayscaleByteSecondaryCaptureImageStorage
        if it.dtype in ("uint16", "int16"):
            return MultiFrameGrayscaleWordSecondaryCaptureImageStorage
    return SecondaryCaptureImageStorage


def _new_secondary_capture(image: MedicalImage) -> pydicom.Dataset:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.SOPClassUID = _sop_class(image)
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    now = datetime.datetime.now()
    ds.ContentDate, ds.ContentTime = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    ds.Modality = "OT"
    ds.ConversionType = "WSD"  # workstation: the image was made by software
    for keyword in (
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientSex",
        "StudyDate",
        "StudyTime",
        "ReferringPhysicianName",
        "StudyID",
        "AccessionNumber",
        "SeriesNumber",
        "InstanceNumber",
        "PatientOrientation",
    ):
        setattr(ds, keyword, "")  # type 2: present, may be empty
    return ds


def _set_pixel_module(ds: pydicom.Dataset, image: MedicalImage) -> None:
    it, pixels = image.intensity, image.pixels
    for keyword in _STALE_PIXEL_KEYWORDS:
        if keyword in ds:
            delattr(ds, keyword)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = it.photometric
    ds.Rows, ds.Columns = image.rows, image.columns
    if image.frames > 1 or "NumberOfFrames" in ds:
        ds.NumberOfFrames = image.frames
    _set_rescale(ds, it)
    data = np.ascontiguousarray(pixels, dtype=pixels.dtype.newbyteorder("<")).tobytes()
    if it.is_float:
        ds.BitsAllocated = pixels.dtype.itemsize * 8
        for keyword in (
            "BitsStored",
            "HighBit",
            "PixelRepresentation",
            "SmallestImagePixelValue",
            "LargestImagePixelValue",
        ):
            if keyword in ds:
                delattr(ds, keyword)
        ds.add_new(
            0x7FE00008 if ds.BitsAllocated == 32 else 0x7FE00009,
            "OF" if ds.BitsAllocated == 32 else "OD",
            data,
        )
        return
    signed_dtype = pixels.dtype.kind == "i"
    # Pixel Representation follows the dtype so pydicom reads the same dtype back; an
    # unsigned domain in a signed dtype becomes the signed domain one bit wider.
    bits = it.bits_stored + (1 if signed_dtype and not it.signed else 0)
    ds.BitsAllocated = pixels.dtype.itemsize * 8
    ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits - 1, int(signed_dtype)
    # The extremes of a source header would be stale for lossy pixels: recompute them.
    if "SmallestImagePixelValue" in ds:
        ds.SmallestImagePixelValue = int(pixels.min())
    if "LargestImagePixelValue" in ds:
        ds.LargestImagePixelValue = int(pixels.max())
    ds.add_new(0x7FE00010, "OB" if ds.BitsAllocated == 8 else "OW", data + b"\x00" * (len(data) % 2))


def _set_rescale(ds: pydicom.Dataset, it: Intensity) -> None:
    present = "RescaleSlope" in ds or "RescaleIntercept" in ds
    identity = it.slope == 1.0 and it.intercept == 0.0
    # Enhanced objects carry the rescale in functional groups, where it already is.
    if not present and (identity or "SharedFunctionalGroupsSequence" in ds):
        return
    for keyword, value in (("RescaleSlope", it.slope), ("RescaleIntercept", it.intercept)):
        if _as_float(ds.get(keyword)) != value:
            setattr(ds, keyword, _ds_text(value))  # keep the source's own text when the value is the same


def _ds_text(value: float) -> str:
    from pydicom.valuerep import format_number_as_ds

    return (
        str(int(value))
        if float(value).is_integer() and abs(value) < 1e15
        else format_number_as_ds(float(value))
    )


def _set_file_meta(ds: pydicom.Dataset) -> None:
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import (
        PYDICOM_IMPLEMENTATION_UID,
        ExplicitVRLittleEndian,
        SecondaryCaptureImageStorage,
        generate_uid,
    )

    if "SOPClassUID" not in ds:
        ds.SOPClassUID = SecondaryCaptureImageStorage
    if "SOPInstanceUID" not in ds:
        ds.SOPInstanceUID = generate_uid()
    meta = getattr(ds, "file_meta", None)
    meta = FileMetaDataset(meta) if meta is not None else FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian  # pixels are always written uncompressed
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    if "ImplementationVersionName" in meta:
        del meta.ImplementationVersionName
    ds.file_meta = meta
