"""--metadata keep|minimal|none: how much of the source header a .mcz file keeps."""

from __future__ import annotations

import pydicom
import pytest

import mcz
from mcz.cli.main import main
from mcz.dicom.profile import UidMap, minimal_dataset
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
