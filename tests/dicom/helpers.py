"""Shared helpers of the DICOM round-trip tests: test files, copies with changed elements, comparisons."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

#: Elements the standard requires (or mcz's writer is expected) to change on a lossy round trip.
CHANGED = {
    "SOPInstanceUID",  # a lossy derived image is a new instance (PS3.3 C.12.1.1.1)
    "ImageType",  # value 1 becomes DERIVED (C.7.6.1.1.2)
    "LossyImageCompression",  # "01" (C.7.6.1.1.5)
    "LossyImageCompressionRatio",  # the achieved ratio, appended
    "LossyImageCompressionMethod",  # MCZ_CAE, appended
    "DerivationDescription",  # names mcz, the model and its weights
    "DerivationCodeSequence",  # (113040, DCM, "Lossy Compression")
    "SourceImageSequence",  # (121320, DCM, "Uncompressed predecessor") -> the source instance
    "SmallestImagePixelValue",  # recomputed from the decoded pixels
    "LargestImagePixelValue",
}
#: The image pixel module, kept as the source had it.
PIXEL_MODULE = ("BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation", "PhotometricInterpretation",
                "Rows", "Columns", "NumberOfFrames", "SamplesPerPixel")
#: Elements dropped on reading: pixel data and padding, which carry no header information.
DROPPED = {"PixelData", "DataSetTrailingPadding"}


def dicom_file(name: str) -> Path:
    """A file bundled with pydicom or pydicom-data, looked up by its name only (never the network)."""
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"{name} is not in the installed pydicom test data")
    return Path(path)


def modified_copy(name: str, dst: Path, **elements) -> Path:
    """Copy test file ``name`` to ``dst`` with some elements set (validation off: tests write bad values)."""
    ds = pydicom.dcmread(dicom_file(name))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for keyword, value in elements.items():
            setattr(ds, keyword, value)
        if "SOPInstanceUID" in elements:
            ds.file_meta.MediaStorageSOPInstanceUID = elements["SOPInstanceUID"]
        ds.save_as(dst, enforce_file_format=False)
    return dst


def make_series(folder: Path, positions=(10.0, -5.0, 2.5, 7.0), **elements) -> list[Path]:
    """Slices of one series made from CT_small: given z positions, falling instance numbers, own UIDs."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, z in enumerate(positions):
        ds = pydicom.dcmread(dicom_file("CT_small.dcm"))
        ds.ImagePositionPatient = [-158.0, -179.0, z]
        ds.InstanceNumber = 10 - i
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        pixels = ds.pixel_array.copy()
        pixels[:8] = 100 * i  # tells the slices apart
        ds.PixelData = pixels.tobytes()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for keyword, value in elements.items():
                setattr(ds, keyword, value)
        path = folder / f"slice_{i}.dcm"
        ds.save_as(path, enforce_file_format=False)
        paths.append(path)
    return paths


def header_differences(source: pydicom.Dataset, decoded: pydicom.Dataset) -> set[str]:
    """Keywords (or tags) of elements added, removed or changed between two data sets, pixels aside."""
    found = set()
    for element in source:
        name = element.keyword or str(element.tag)
        if name in DROPPED:
            continue
        if element.tag not in decoded or decoded[element.tag].value != element.value:
            found.add(name)
    for element in decoded:
        if element.tag not in source:
            found.add(element.keyword or str(element.tag))
    return found - {"PixelData"}


def assert_derived_header(
    source: pydicom.Dataset, decoded: pydicom.Dataset, also: frozenset[str] = frozenset()
) -> None:
    """Every non-pixel element equal except :data:`CHANGED` (and ``also``); the file meta consistent."""
    assert header_differences(source, decoded) <= CHANGED | set(also)
    assert decoded.LossyImageCompression == "01"
    assert decoded.ImageType[0] == "DERIVED"
    assert decoded.SOPInstanceUID != source.SOPInstanceUID
    assert pydicom.uid.UID(decoded.SOPInstanceUID).is_valid
    assert decoded.file_meta.MediaStorageSOPInstanceUID == decoded.SOPInstanceUID
    assert decoded.file_meta.MediaStorageSOPClassUID == source.SOPClassUID
    assert "mcz" in decoded.DerivationDescription and "cae-compact" in decoded.DerivationDescription


def assert_pixels_like_source(
    decoded: pydicom.Dataset, source: pydicom.Dataset, expected: np.ndarray
) -> None:
    """Decoded pixels: the source's dtype and shape, inside its stored bit domain, equal to ``expected``."""
    out, ref = decoded.pixel_array, source.pixel_array
    assert out.dtype == ref.dtype and out.shape == ref.shape
    bits, signed = int(source.BitsStored), bool(source.PixelRepresentation)
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    assert low <= out.min() and out.max() <= high
    np.testing.assert_array_equal(out, expected.reshape(out.shape))
    for keyword in PIXEL_MODULE:
        assert decoded.get(keyword) == source.get(keyword), keyword


def copy_test_file(name: str, dst: Path) -> Path:
    """Copy a test file unchanged."""
    return Path(shutil.copy(dicom_file(name), dst))
