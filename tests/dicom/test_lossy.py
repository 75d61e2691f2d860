"""Marking a header as lossy compressed and derived (unit level)."""

from __future__ import annotations

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from mcz.dicom.lossy import LossyStep, mark_lossy, method_term

STEP = LossyStep(ratio=12.345, method="MCZ_CAE", description="by mcz", sop_instance_uid="1.2.3.4")


@pytest.mark.parametrize(("family", "term"), [("cae", "MCZ_CAE"), ("hyper-prior", "MCZ_HYPER_PRIOR"),
                                              ("a" * 20, "MCZ"), ("", "MCZ")])
def test_method_term(family, term):
    assert method_term(family) == term


def _header() -> Dataset:
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.4", "1.2.3"
    return ds


def test_a_bare_header_gets_every_element():
    ds = _header()
    mark_lossy(ds, STEP)
    assert ds.LossyImageCompression == "01" and ds.LossyImageCompressionRatio == 12.35
    assert ds.LossyImageCompressionMethod == "MCZ_CAE" and list(ds.ImageType) == ["DERIVED", "SECONDARY"]
    assert ds.SOPInstanceUID == "1.2.3.4" and "SeriesInstanceUID" not in ds
    assert ds.SourceImageSequence[0].ReferencedSOPInstanceUID == "1.2.3"
    assert ds.DerivationCodeSequence[0].CodeMeaning == "Lossy Compression"


def test_frame_types_of_functional_groups_become_derived():
    ds = _header()
    frame_type = Dataset()
    frame_type.FrameType = ["ORIGINAL", "PRIMARY", "M", "NONE"]
    shared = Dataset()
    shared.MRImageFrameTypeSequence = Sequence([frame_type])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    mark_lossy(ds, STEP)
    assert list(ds.SharedFunctionalGroupsSequence[0].MRImageFrameTypeSequence[0].FrameType) == [
        "DERIVED", "PRIMARY", "M", "NONE"]


def test_a_long_history_keeps_the_newest_step_within_st():
    ds = _header()
    ds.DerivationDescription = "x" * 1020
    mark_lossy(ds, STEP)
    assert len(ds.DerivationDescription) == 1024 and ds.DerivationDescription.endswith("; by mcz")


def test_a_second_step_appends_again():
    ds = _header()
    mark_lossy(ds, STEP)
    mark_lossy(ds, LossyStep(ratio=3, method="MCZ_CAE", description="again", sop_instance_uid="1.2.3.5",
                             series_instance_uid="1.2.9"))
    assert [str(v) for v in ds.LossyImageCompressionRatio] == ["12.35", "3.0"]
    assert len(ds.SourceImageSequence) == 2 and ds.SeriesInstanceUID == "1.2.9"
    assert ds.DerivationDescription == "by mcz; again" and len(ds.DerivationCodeSequence) == 2
    pydicom.dcmwrite(pydicom.filebase.DicomBytesIO(), ds, implicit_vr=False, little_endian=True)  # writable
