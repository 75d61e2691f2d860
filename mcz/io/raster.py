"""Raster images: PNG and JPEG through Pillow, TIFF through tifffile (reading and writing).

Pillow and tifffile are imported inside the functions that need them.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from mcz.errors import ImageReadError, UnsupportedError, UsageError
from mcz.intensity import intensity_for
from mcz.io.colour import colour_to_grey, luma
from mcz.io.image import MedicalImage, frames_view, native
from mcz.io.sniff import read_head

if TYPE_CHECKING:  # pragma: no cover
    from mcz.io.dispatch import Writer

# ----- PNG / JPEG


def _read_pillow(path: Path, grey: bool, kind: str) -> MedicalImage:
    from PIL import Image  # lazy: keeps PIL out of import mcz.cli.main

    head = read_head(path)
    # Pillow reads 16-bit colour PNG as 8-bit; refuse rather than silently drop bits.
    if kind == "png" and len(head) > 25 and head[24] == 16 and head[25] != 0:
        raise UnsupportedError(
            f"{path}: 16-bit colour or grey+alpha PNG (colour type {head[25]}); expected 8-bit colour or "
            "16-bit greyscale. Convert it to a 16-bit greyscale PNG or TIFF first"
        )
    with Image.open(path) as im:
        frames = getattr(im, "n_frames", 1)  # only multi-frame formats' ImageFile subclasses have it
        if frames > 1:
            raise UnsupportedError(
                f"{path}: animated {kind.upper()} with {frames} frames; expected one image"
            )
        im.load()
        arr, bits = _pillow_array(im, grey, path)
    arr = native(arr)
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
        return colour_to_grey(np.asarray(im), mode.endswith("A"), grey, f"{mode} image", path), None
    if not grey:  # CMYK, YCbCr, LAB, HSV
        raise UnsupportedError(
            f"{path}: colour image in mode {mode}; expected greyscale. Pass grey=True (--grey) to convert it to luma"
        )
    return luma(np.asarray(im.convert("RGB"))), None


def read_png(path: Path, grey: bool) -> MedicalImage:
    """Read a PNG file through Pillow (``grey`` as in :func:`~mcz.io.read_image`)."""
    return _read_pillow(path, grey, "png")


def read_jpeg(path: Path, grey: bool) -> MedicalImage:
    """Read a JPEG file through Pillow (``grey`` as in :func:`~mcz.io.read_image`)."""
    return _read_pillow(path, grey, "jpeg")


# ----- TIFF


def read_tiff(path: Path, grey: bool) -> MedicalImage:
    """Read a TIFF file through tifffile (``grey`` as in :func:`~mcz.io.read_image`)."""
    import tifffile  # lazy: keeps tifffile out of import mcz.cli.main

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
        return native(first.asarray()), first.axes
    return native(np.stack([s.asarray() for s in tif.series])), "I" + first.axes


def _apply_palette(indices: np.ndarray, colormap: np.ndarray) -> np.ndarray:
    """RGB of a palette TIFF; 8-bit when the 16-bit map is an exact 8-bit one scaled by 257."""
    rgb = np.asarray(colormap).T[indices]
    if indices.dtype.itemsize == 1 and not (rgb % 257).any():
        return (rgb // 257).astype(np.uint8)
    return rgb


def _tiff_samples(arr: np.ndarray, photometric: Any, grey: bool, path: Path) -> np.ndarray:
    import tifffile  # lazy: keeps tifffile out of import mcz.cli.main

    samples = arr.shape[-1]
    if samples == 1:
        return arr[..., 0]
    known = (tifffile.PHOTOMETRIC.RGB, tifffile.PHOTOMETRIC.MINISBLACK, tifffile.PHOTOMETRIC.PALETTE)
    if photometric not in known or samples not in (2, 3, 4):
        raise UnsupportedError(
            f"{path}: TIFF with photometric {getattr(photometric, 'name', photometric)} and {samples} samples "
            "per pixel; expected greyscale, RGB or palette. Convert it to greyscale first"
        )
    return colour_to_grey(arr, samples in (2, 4), grey, f"TIFF ({samples} samples per pixel)", path)


# ----- writing


def _frames_first(image: MedicalImage) -> np.ndarray:
    """The array for formats without a layout of their own (TIFF)."""
    if image.layout == "frames-first":
        return image.source_array()
    return image.pixels[0] if image.frames == 1 else image.pixels


def png_writer(image: MedicalImage, fmt: str) -> Writer:
    """The :data:`~mcz.io.Writer` of ``image`` as PNG (one uint8 or uint16 frame, else a UsageError)."""
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
        from PIL import Image  # lazy: keeps PIL out of import mcz.cli.main

        Image.fromarray(image.pixels[0]).save(f, format="PNG")

    return write


def tiff_writer(image: MedicalImage, fmt: str) -> Writer:
    """The :data:`~mcz.io.Writer` of ``image`` as TIFF."""
    data = _frames_first(image)
    photometric = "miniswhite" if image.intensity.photometric == "MONOCHROME1" else "minisblack"

    def write(f: BinaryIO) -> None:
        import tifffile  # lazy: keeps tifffile out of import mcz.cli.main

        tifffile.imwrite(f, data, photometric=photometric)

    return write
