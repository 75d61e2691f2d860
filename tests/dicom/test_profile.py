"""--metadata keep|minimal|none: how much of the source header a .mcz file keeps."""

from __future__ import annotations

import pydicom
import pytest

import mcz
from mcz.cli.main import main
from mcz.dicom.profile import REMOVED, UidMap, minimal_dataset
from mcz.errors import UsageError
from tests.dicom.helpers import dicom_file, modified_copy

REBUILT = ("SOPClassUID", "Modality", "Rows", "Columns", "BitsAllocated", "BitsStored", "HighBit",
           "PixelRepresentation", "PhotometricInterpretation", "RescaleSlope", "RescaleIntercept",
           "ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "InstanceNumber")


def _decode(tmp_path, *encode_args, name="CT_small.dcm"):
    coded, out = tmp_path / "x.mcz", tmp_path / "x.dcm"
    assert main(["encode", str(dicom_file(name)), "-o", str(coded), "-m", "cae-compact", *encode_args]) == 0
    assert main(["decode", str(coded), "-o", str(out)]) == 0
    return coded, pydicom.dcmread(out)


def test_minimal_keeps_what_rebuilds_the_image_and_no_identity(seeded_zoo, tmp_path):
    source = pydicom.dcmread(dicom_file("CT_small.dcm"))
    coded, decoded = _decode(tmp_path, "--metadata", "minimal")
    for keyword in REBUILT:
        assert decoded.get(keyword) == source.get(keyword), keyword
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "StudyDate", "AccessionNumber"):
        assert keyword in decoded and not decoded.get(keyword), keyword
    for keyword in ("InstitutionName", "StudyDescription", "OperatorsName", "SourceImageSequence"):
        assert keyword not in decoded, keyword
    assert not any(element.tag.is_private for element in decoded)
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID", "SOPInstanceUID"):
        assert decoded.get(keyword) != source.get(keyword) and pydicom.uid.UID(decoded.get(keyword)).is_valid
    assert decoded.LossyImageCompression == "01" and decoded.ImageType[0] == "DERIVED"
    assert len(coded.read_bytes()) < len(mcz.encode(dicom_file("CT_small.dcm"), model="cae-compact"))
    # The CT IOD's Type 2 attributes stay present: numbers and codes kept, text emptied.
    for keyword in ("KVP", "AcquisitionNumber"):
        assert decoded.get(keyword) == source.get(keyword) not in (None, ""), keyword
    for keyword in ("Manufacturer", "PositionReferenceIndicator"):
        assert source.get(keyword) and keyword in decoded and not decoded.get(keyword), keyword
    assert "Laterality" in decoded
    assert decoded.PatientIdentityRemoved == "YES"
    assert "pixel data not examined" in decoded.DeidentificationMethod[-1]
    assert "DeidentificationMethodCodeSequence" not in decoded  # no PS3.15 profile is claimed


def test_minimal_keeps_the_required_attributes_of_an_enhanced_object(tmp_path):
    source = pydicom.dcmread(dicom_file("eCT_Supplemental.dcm"), stop_before_pixels=True)
    uids = UidMap()
    kept = minimal_dataset(source, uids)
    # Type 1 text of the IOD: technical ones kept, a device's identity replaced, dates made up.
    assert kept.Manufacturer == source.Manufacturer and kept.SoftwareVersions == source.SoftwareVersions
    assert kept.DeviceSerialNumber == REMOVED != source.DeviceSerialNumber
    assert kept.ContentDate != source.ContentDate and len(kept.ContentDate) == 8
    for keyword in ("StationName", "InstitutionName", "StudyDescription"):  # Type 3: dropped
        assert keyword not in kept, keyword
    # Inside the functional groups: units and stack ids kept, acquisition times dropped, UIDs replaced.
    shared = kept.SharedFunctionalGroupsSequence[0]
    assert shared.PixelValueTransformationSequence[0].RescaleType == "US"
    frame = kept.PerFrameFunctionalGroupsSequence[0].FrameContentSequence[0]
    assert frame.StackID == "1" and "FrameAcquisitionDateTime" not in frame
    organisation = kept.DimensionOrganizationSequence[0].DimensionOrganizationUID
    assert organisation == kept.DimensionIndexSequence[0].DimensionOrganizationUID
    assert organisation == uids(source.DimensionOrganizationSequence[0].DimensionOrganizationUID) != \
        source.DimensionOrganizationSequence[0].DimensionOrganizationUID
    assert kept.SOPClassUID == source.SOPClassUID  # a standard UID is never replaced


def test_burned_in_annotation_means_the_identity_is_not_removed(tmp_path):
    src = modified_copy("CT_small.dcm", tmp_path / "burned.dcm", BurnedInAnnotation="YES")
    kept = minimal_dataset(pydicom.dcmread(src, stop_before_pixels=True), UidMap())
    assert kept.BurnedInAnnotation == "YES" and kept.PatientIdentityRemoved == "NO"


def test_minimal_needs_highdicom(monkeypatch):
    import sys

    from mcz.dicom import iod
    from mcz.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "highdicom", None)  # import highdicom -> ImportError
    iod._iod_modules.cache_clear()
    iod._attribute_types.cache_clear()
    try:
        with pytest.raises(MissingDependencyError, match=r"mcz\[dicom\]"):
            minimal_dataset(pydicom.dcmread(dicom_file("MR_small.dcm"), stop_before_pixels=True), UidMap())
    finally:
        iod._iod_modules.cache_clear()
        iod._attribute_types.cache_clear()


def test_minimal_never_drops_the_lossy_history(tmp_path):
    src = modified_copy("MR_small.dcm", tmp_path / "l.dcm", LossyImageCompression="01",
                        LossyImageCompressionRatio="7", LossyImageCompressionMethod="ISO_10918_1")
    kept = minimal_dataset(pydicom.dcmread(src, stop_before_pixels=True), UidMap())
    history = (kept.LossyImageCompression, kept.LossyImageCompressionRatio, kept.LossyImageCompressionMethod)
    assert history == ("01", 7, "ISO_10918_1")


def test_uid_map_is_consistent():
    uids = UidMap()
    assert uids("1.2.3") == uids("1.2.3") != uids("1.2.4") and uids(None) != uids(None)


def test_none_keeps_no_header_and_decodes_to_a_secondary_capture(seeded_zoo, tmp_path):
    source = pydicom.dcmread(dicom_file("MR_small.dcm"))
    coded, decoded = _decode(tmp_path, "--metadata", "none", name="MR_small.dcm")
    assert [c.type for c in mcz.read_info(coded).chunks].count("meta") == 0
    assert decoded.SOPClassUID == pydicom.uid.SecondaryCaptureImageStorage and decoded.PatientName == ""
    assert decoded.LossyImageCompression == "01" and decoded.LossyImageCompressionMethod == "MCZ_CAE"
    assert decoded.pixel_array.dtype == source.pixel_array.dtype
    assert decoded.SOPInstanceUID == mcz.read_info(coded).header.extra["dicom"]["sop_instance_uids"][0]


def test_no_metadata_flag_is_none(seeded_zoo, tmp_path):
    coded, _ = _decode(tmp_path, "--no-metadata", name="MR_small.dcm")
    assert mcz.read_info(coded).header.extra["dicom"]["metadata"] == "none"


def test_unknown_mode_is_refused(seeded_zoo):
    with pytest.raises(UsageError, match="metadata mode"):
        mcz.encode(dicom_file("MR_small.dcm"), model="cae-compact", metadata="some")
