"""Every kind of DICOM output mcz writes passes dciodvfy with no error its input did not have.

Kinds: the derived instance of a single-frame CT and MR, of enhanced multi-frame
objects (an Enhanced MR without functional groups, an Enhanced CT and a Legacy
Converted Enhanced MR with them), of every slice of a series, in the lossless
transfer syntaxes; the ``minimal`` profile of each; and the Secondary Capture
images of headerless sources (``--metadata none``, NIfTI volumes, a 2-D array).
Skipped, saying why, where dciodvfy (dicom3tools) is not installed.
"""

from __future__ import annotations

import copy
import warnings

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid

from mcz.cli.main import main
from mcz.io.dicom_capture import ConformanceWarning
from tests.dicom.dciodvfy import Report, new_errors, requires_dciodvfy, validate
from tests.dicom.helpers import dicom_file, make_series

pytestmark = requires_dciodvfy


def _round_trip(src, tmp_path, *encode_args, decode_args=(), out_name="out.dcm"):
    coded, out = tmp_path / "x.mcz", tmp_path / out_name
    assert main(["encode", str(src), "-o", str(coded), "-m", "cae-compact", *encode_args]) == 0
    assert main(["decode", str(coded), "-o", str(out), *decode_args]) == 0
    return out


def _assert_no_new_errors(src, out):
    source, output = validate(src) if src is not None else None, validate(out)
    derived = pydicom.dcmread(out, stop_before_pixels=True).ImageType[0] == "DERIVED"
    assert new_errors(source, output, derived) == []
    return source, output


def _legacy_converted_mr(tmp_path):
    """A Legacy Converted Enhanced MR (functional groups) made by highdicom from three MR_small slices."""
    from highdicom.legacy import LegacyConvertedEnhancedMRImage

    slices = []
    for index in range(3):
        ds = pydicom.dcmread(dicom_file("MR_small.dcm"))
        ds.SOPInstanceUID, ds.InstanceNumber = generate_uid(), index + 1
        ds.ImagePositionPatient = [-80.0, -80.0, 5.0 * index]
        slices.append(ds)
    path = tmp_path / "legacy-converted-mr.dcm"
    LegacyConvertedEnhancedMRImage(
        slices, series_instance_uid=generate_uid(), series_number=99, sop_instance_uid=generate_uid(),
        instance_number=1,
    ).save_as(path)
    return path


def _source(name, tmp_path):
    return _legacy_converted_mr(tmp_path) if name == "legacy-converted-mr" else dicom_file(name)


@pytest.mark.parametrize("metadata", ["keep", "minimal"])
@pytest.mark.parametrize(
    "name", ["CT_small.dcm", "MR_small.dcm", "emri_small.dcm", "eCT_Supplemental.dcm", "legacy-converted-mr"]
)
def test_derived_instance_has_no_new_error(seeded_zoo, tmp_path, name, metadata):
    src = _source(name, tmp_path)
    out = _round_trip(src, tmp_path, "--metadata", metadata)
    source, output = _assert_no_new_errors(src, out)
    assert output.iod == source.iod  # still an instance of the source's IOD


def test_only_dciodvfys_pulse_sequence_conditions_are_forgiven():
    # The one place the comparison forgives errors (emri_small.dcm's derived instance has 17 of them).
    pulse = ("Error - </PulseSequenceName(0018,9005)> - Attribute present when condition unsatisfied (which "
             "may not be present otherwise) for Type 1C Conditional - Module=<MRPulseSequence>")
    other = ("Error - </Rows(0028,0010)> - Attribute present when condition unsatisfied (which may not be "
             "present otherwise) for Type 1C Conditional - Module=<ImagePixel>")
    output = Report("EnhancedMRImage", errors=(pulse, other), warnings=())
    assert new_errors(None, output, derived=True) == [other]
    assert new_errors(None, output, derived=False) == [pulse, other]  # an ORIGINAL image: not forgiven


def test_every_slice_of_a_series_has_no_new_error(seeded_zoo, tmp_path):
    paths = make_series(tmp_path / "in", positions=(0.0, 5.0, 10.0))
    coded, folder = tmp_path / "s.mcz", tmp_path / "out"
    assert main(["encode", str(tmp_path / "in"), "-o", str(coded), "-m", "cae-compact"]) == 0
    assert main(["decode", str(coded), "-o", str(folder)]) == 0
    outputs = sorted(folder.rglob("*.dcm"))
    assert len(outputs) == len(paths)
    source = validate(paths[0])  # the slices differ only in position, number and pixels
    for out in outputs:
        assert new_errors(source, validate(out)) == [], out.name


@pytest.mark.parametrize("syntax", ["j2k-lossless", "rle"])
def test_lossless_transfer_syntaxes_have_no_new_error(seeded_zoo, tmp_path, syntax):
    src = dicom_file("CT_small.dcm")
    out = _round_trip(src, tmp_path, decode_args=("--transfer-syntax", syntax))
    _assert_no_new_errors(src, out)


def test_metadata_none_gives_a_valid_secondary_capture(seeded_zoo, tmp_path):
    out = _round_trip(dicom_file("emri_small.dcm"), tmp_path, "--metadata", "none")
    _, output = _assert_no_new_errors(None, out)
    assert output.iod == "MultiframeGrayscaleWordSCImage"


@pytest.mark.parametrize(
    ("dtype", "top", "iod"),
    [(np.uint16, 4000, "MultiframeGrayscaleWordSCImage"), (np.uint8, 250, "MultiframeGrayscaleByteSCImage")],
)
def test_nifti_volume_gives_a_valid_multi_frame_secondary_capture(seeded_zoo, tmp_path, dtype, top, iod):
    volume = (np.arange(64 * 48 * 3).reshape(64, 48, 3) % top).astype(dtype)
    src = tmp_path / "volume.nii.gz"
    nib.save(nib.Nifti1Image(volume, np.diag([0.8, 0.8, 2.0, 1.0])), src)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConformanceWarning)  # a volume that fits needs no warning
        out = _round_trip(src, tmp_path)
    _, output = _assert_no_new_errors(None, out)
    assert output.iod == iod


def test_signed_nifti_volume_is_written_with_its_one_announced_violation(seeded_zoo, tmp_path):
    volume = (np.arange(64 * 48 * 3).reshape(64, 48, 3) % 4000 - 1000).astype(np.int16)
    src = tmp_path / "ct.nii.gz"
    nib.save(nib.Nifti1Image(volume, np.eye(4)), src)
    with pytest.warns(ConformanceWarning, match="unsigned required"):
        out = _round_trip(src, tmp_path)
    errors = validate(out).errors
    assert len(errors) == 1 and "PixelRepresentation" in errors[0]  # exactly what the warning says


def test_a_2d_array_gives_a_valid_secondary_capture(seeded_zoo, tmp_path):
    src = tmp_path / "a.npy"
    np.save(src, (np.arange(64 * 48).reshape(64, 48) % 4096).astype(np.uint16))
    out = _round_trip(src, tmp_path)
    _, output = _assert_no_new_errors(None, out)
    assert output.iod == "SCImage"


def test_the_comparison_catches_a_new_error(tmp_path):
    # The checks above can fail: dropping a Type 2 attribute from a valid file is a new error.
    src = dicom_file("CT_small.dcm")
    ds = pydicom.dcmread(src)
    broken = copy.deepcopy(ds)
    del broken.Manufacturer
    broken.save_as(tmp_path / "broken.dcm")
    found = new_errors(validate(src), validate(tmp_path / "broken.dcm"))
    assert len(found) == 1 and "Manufacturer" in found[0]
