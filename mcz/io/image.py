"""The in-memory image: :class:`MedicalImage`, its ``(frames, rows, columns)`` view and layouts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mcz.errors import UsageError
from mcz.intensity import Intensity, intensity_for

if TYPE_CHECKING:  # pragma: no cover
    import pydicom

#: Axis layouts of :attr:`MedicalImage.original_shape`.
LAYOUTS = ("frames-first", "frames-last")


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
    decoder, decoder_id : str, optional
        For a decoded image: which decoder made the pixels, ``"mse"`` (the model's own
        synthesis) or ``"realistic"`` (a GAN preview decoder, :mod:`mcz.codec.realistic`),
        and its id; None for an image read from a source.
    """

    pixels: np.ndarray
    intensity: Intensity
    source_format: str
    original_shape: tuple[int, ...]
    layout: str
    dicom: pydicom.Dataset | None = None
    nifti_affine: np.ndarray | None = None
    nifti_header: bytes | None = None
    decoder: str | None = None
    decoder_id: str | None = None

    def __post_init__(self) -> None:
        self.original_shape = tuple(int(n) for n in self.original_shape)
        _check_layout(self.layout)
        pixels = native(np.asarray(self.pixels))
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


def native(arr: np.ndarray) -> np.ndarray:
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
    arr = native(np.asarray(array))
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
