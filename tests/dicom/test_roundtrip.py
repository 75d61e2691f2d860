"""DICOM -> .mcz -> DICOM on real files: the header kept, the lossy flags right, the pixels as decoded."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

import mcz
from mcz.cli.main import main
from mcz.dicom.guard import GuidelineWarning
from mcz.errors import ExitCode
from tests.dicom.helpers import (
    assert_derived_header,
    assert_pixels_like_source,
    dicom_file,
    modified_copy,
)


def _round_trip(src, tmp_path, *encode_args, decode_args=()):
    coded, out = tmp_path / "x.mcz", tmp_path / "x.dcm"
    assert main(["encode", str(src), "-o", str(coded), "-m", "cae-compact", *encode_args]) == ExitCode.OK
    assert main(["decode", str(coded), "-o", str(out), *decode_args]) == ExitCode.OK
    return coded, pydicom.dcmread(out)


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR2_UNCR.dcm", "emri_small.dcm"])
def test_header_kept_flags_set_pixels_as_decoded(seeded_zoo, tmp_path, name):
    source = pydicom.dcmread(dicom_file(name))
    coded, decoded = _round_trip(dicom_file(name), tmp_path)
    assert_derived_header(source, decoded)
    assert_pixels_like_source(decoded, source, mcz.decode(coded))
    assert decoded.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    ratio = mcz.read_info(coded).compression_ratio
    assert float(decoded.LossyImageCompressionRatio) == pytest.approx(ratio, abs=0.006)
    assert decoded.LossyImageCompressionMethod == "MCZ_CAE"
    assert list(decoded.ImageType[1:]) == list(source.ImageType[1:])
    reference = decoded.SourceImageSequence[-1]
    assert reference.ReferencedSOPInstanceUID == source.SOPInstanceUID
    assert reference.PurposeOfReferenceCodeSequence[0].CodeValue == "121320"
    assert decoded.DerivationCodeSequence[-1].CodeValue == "113040"


def test_ct_keeps_rescale_to_negative_hu(seeded_zoo, tmp_path):
    source = pydicom.dcmread(dicom_file("CT_small.dcm"))
    _, decoded = _round_trip(dicom_file("CT_small.dcm"), tmp_path)
    assert (decoded.RescaleSlope, decoded.RescaleIntercept) == (source.RescaleSlope, source.RescaleIntercept)
    # Untrained weights do not reproduce the air of the source, so check the mapping, not the decoded HU.
    assert pydicom.pixels.apply_rescale(source.pixel_array, decoded).min() < 0
    hu = pydicom.pixels.apply_rescale(decoded.pixel_array, decoded)
    np.testing.assert_array_equal(hu, decoded.pixel_array.astype(np.float64) + float(source.RescaleIntercept))
    assert decoded.pixel_array.dtype == np.int16


def test_multi_frame_stays_multi_frame_and_00_becomes_01(seeded_zoo, tmp_path):
    source = pydicom.dcmread(dicom_file("emri_small.dcm"))
    assert source.LossyImageCompression == "00"
    _, decoded = _round_trip(dicom_file("emri_small.dcm"), tmp_path)
    assert decoded.NumberOfFrames == 10 and decoded.pixel_array.shape == (10, 64, 64)
    assert decoded.LossyImageCompression == "01"


def test_a_lossy_source_gets_its_values_appended(seeded_zoo, tmp_path):
    src = modified_copy(
        "MR_small.dcm", tmp_path / "lossy.dcm", LossyImageCompression="01",
        LossyImageCompressionRatio=["8.5", "2"], LossyImageCompressionMethod=["ISO_10918_1", "ISO_15444_1"],
        DerivationDescription="JPEG at 8.5:1",
    )
    coded, decoded = _round_trip(src, tmp_path)
    assert decoded.LossyImageCompression == "01"
    ratios = [str(r) for r in decoded.LossyImageCompressionRatio]
    assert ratios[:2] == ["8.5", "2"] and len(ratios) == 3
    assert float(ratios[2]) == pytest.approx(mcz.read_info(coded).compression_ratio, abs=0.006)
    assert list(decoded.LossyImageCompressionMethod) == ["ISO_10918_1", "ISO_15444_1", "MCZ_CAE"]
    assert decoded.DerivationDescription.startswith("JPEG at 8.5:1; Lossy compressed by mcz")


def test_monochrome1_chest_cr_warns_and_round_trips(seeded_zoo, tmp_path, capsys):
    name = "RG1_UNCR.dcm"
    source = pydicom.dcmread(dicom_file(name))
    coded, decoded = _round_trip(dicom_file(name), tmp_path)
    warning = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    ratio = mcz.read_info(coded).compression_ratio
    assert len(warning) == 1 and "CR (chest, skeletal, body) 10:1-30:1" in warning[0]
    assert f"{ratio:.1f}:1" in warning[0]
    assert decoded.PhotometricInterpretation == "MONOCHROME1" and decoded.BitsStored == 15
    assert_derived_header(source, decoded)
    assert_pixels_like_source(decoded, source, mcz.decode(coded))


def test_new_series_and_decoding_twice_gives_the_same_instance(seeded_zoo, tmp_path):
    source = pydicom.dcmread(dicom_file("CT_small.dcm"))
    coded, decoded = _round_trip(dicom_file("CT_small.dcm"), tmp_path, "--new-series")
    assert_derived_header(source, decoded, also={"SeriesInstanceUID"})
    assert decoded.SeriesInstanceUID != source.SeriesInstanceUID
    assert pydicom.uid.UID(decoded.SeriesInstanceUID).is_valid
    again = mcz.decode_image(coded).dicom
    assert again.SOPInstanceUID == decoded.SOPInstanceUID
    assert again.SeriesInstanceUID == decoded.SeriesInstanceUID


@pytest.mark.parametrize(
    ("syntax", "uid"), [("j2k-lossless", "1.2.840.10008.1.2.4.90"), ("rle", "1.2.840.10008.1.2.5")]
)
def test_lossless_transfer_syntaxes_hold_the_same_pixels(seeded_zoo, tmp_path, syntax, uid):
    coded, plain = _round_trip(dicom_file("MR_small.dcm"), tmp_path)
    out = tmp_path / f"{syntax}.dcm"
    assert main(["decode", str(coded), "-o", str(out), "--transfer-syntax", syntax]) == ExitCode.OK
    packed = pydicom.dcmread(out)
    assert packed.file_meta.TransferSyntaxUID == uid
    assert packed.SOPInstanceUID == plain.SOPInstanceUID == packed.file_meta.MediaStorageSOPInstanceUID
    np.testing.assert_array_equal(packed.pixel_array, plain.pixel_array)


def test_transfer_syntax_needs_dicom_output_and_an_encoder(seeded_zoo, tmp_path, capsys):
    coded = tmp_path / "mr.mcz"
    mcz.encode_file(dicom_file("MR_small.dcm"), coded, model="cae-compact")
    assert main(["decode", str(coded), "--to", "npy", "--transfer-syntax", "rle"]) == ExitCode.USAGE
    from pydicom.pixels import get_encoder

    if not get_encoder(pydicom.uid.JPEGLSLossless).is_available:
        argv = ["decode", str(coded), "-o", str(tmp_path / "ls.dcm"), "--transfer-syntax", "jpegls-lossless"]
        code = main(argv)
        assert code == ExitCode.UNSUPPORTED and "pip install pyjpegls" in capsys.readouterr().err
        assert not (tmp_path / "ls.dcm").exists()


def test_api_warns_with_a_guideline_warning(seeded_zoo, tmp_path):
    src = modified_copy("CT_small.dcm", tmp_path / "head.dcm", BodyPartExamined="HEAD")
    with pytest.warns(GuidelineWarning, match=r"CT \(head\) 5:1-12:1"):
        mcz.encode(src, model="cae-compact", metadata="none")


def test_non_dicom_source_decodes_to_a_marked_secondary_capture(seeded_zoo, tmp_path):
    image = (np.arange(64 * 80).reshape(64, 80) % 4096).astype(np.uint16)
    coded = tmp_path / "a.mcz"
    coded.write_bytes(mcz.encode(image, model="cae-compact", bits_stored=12))
    ds = pydicom.dcmread(mcz.decode_file(coded, tmp_path / "a.dcm"))
    assert ds.SOPClassUID == pydicom.uid.SecondaryCaptureImageStorage
    assert ds.LossyImageCompression == "01" and ds.LossyImageCompressionMethod == "MCZ_CAE"
    assert "SourceImageSequence" not in ds and ds.BitsStored == 12
    np.testing.assert_array_equal(ds.pixel_array, mcz.decode(coded))



def test_the_record_is_written_in_the_same_pass_with_the_bytes_of_the_former_rewrite(seeded_zoo):
    # The DICOM record used to be added by parsing the encoded file and writing it again; the
    # encoder now writes it with the file. Same record, same bytes as that rewrite.
    from mcz.codec import engine, nearlossless
    from mcz.container import Container, read_container, write_container
    from mcz.dicom import encoding

    image = mcz.read_image(dicom_file("CT_small.dcm"))
    blobs, record = encoding.prepare(image, "minimal", "cae", False)
    assert record is not None

    def rewrite(data: bytes) -> bytes:
        parsed = read_container(data)
        header = parsed.header.replace(extra={**parsed.header.extra, **encoding.record_extra(record)})
        return write_container(Container(header=header, tiles=parsed.tiles, metadata=parsed.metadata))

    codec = engine.load_codec("cae-compact")
    one_pass = engine.encode_image(image, codec, metadata=blobs, extra=encoding.record_extra(record))
    assert one_pass == rewrite(engine.encode_image(image, codec, metadata=blobs))
    assert read_container(one_pass).header.extra[encoding.EXTRA_KEY] == record.to_extra()
    bounded = nearlossless.encode_image(image, 2, blobs, extra=encoding.record_extra(record))
    assert bounded == rewrite(nearlossless.encode_image(image, 2, blobs))
