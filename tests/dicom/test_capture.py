"""Secondary Capture headers for images without a DICOM header, built with highdicom."""

from __future__ import annotations

import sys

import numpy as np
import pydicom
import pytest

from mcz.io.dicom_capture import MANUFACTURER, secondary_capture
from mcz.errors import MissingDependencyError
from mcz.io import from_array


def test_the_header_is_highdicoms_with_mczs_changes():
    ds = secondary_capture(from_array(np.zeros((12, 10), np.uint16) + 900, slope=0.5, intercept=-10.0))
    assert ds.SOPClassUID == pydicom.uid.SecondaryCaptureImageStorage
    assert ds.file_meta.MediaStorageSOPClassUID == ds.SOPClassUID
    assert ds.Manufacturer == MANUFACTURER and ds.Modality == "OT"
    assert ds.ConversionType == "WSD"  # software made it, not a device's digital interface
    assert "PatientOrientation" in ds and not ds.PatientOrientation  # unknown: present, empty
    assert "Laterality" in ds and not ds.Laterality
    assert ds.RescaleType == "US"  # a rescale needs its units; they are unknown
    assert all(k in ds and not ds[k].value for k in ("PatientName", "PatientID", "StudyDate"))
    assert all(pydicom.uid.UID(ds[k].value).is_valid for k in ("StudyInstanceUID", "SeriesInstanceUID"))
    assert "PixelData" not in ds  # the writer adds the pixels


def test_two_headers_are_two_studies():
    image = from_array(np.zeros((4, 4), np.uint8))
    first, second = secondary_capture(image), secondary_capture(image)
    assert first.StudyInstanceUID != second.StudyInstanceUID
    assert first.SOPInstanceUID != second.SOPInstanceUID


def test_secondary_capture_needs_highdicom(monkeypatch):
    monkeypatch.setitem(sys.modules, "highdicom", None)  # import highdicom -> ImportError
    with pytest.raises(MissingDependencyError, match=r"mcz\[dicom\]"):
        secondary_capture(from_array(np.zeros((4, 4), np.uint8)))
