"""A folder of slices -> one .mcz per series -> the same set of files; NIfTI volumes keep their geometry."""

from __future__ import annotations

import os

import nibabel as nib
import numpy as np
import pydicom
import pytest

import mcz
from mcz.cli.main import main
from mcz.dicom.series import group_files, output_names, read_series
from mcz.errors import ExitCode, UnsupportedError
from tests.dicom.helpers import assert_derived_header, copy_test_file, make_series


def _encode(src, dst, *args):
    return main(["encode", str(src), "-o", str(dst), "-m", "cae-compact", *args])


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_slices_are_sorted_along_the_normal(tmp_path):
    paths = make_series(tmp_path / "in")
    image = read_series(paths)
    order = [1, 2, 3, 0]  # z = -5, 2.5, 7, 10
    assert image.slice_names == tuple(f"slice_{i}.dcm" for i in order)
    for frame, i in enumerate(order):
        np.testing.assert_array_equal(image.pixels[frame], pydicom.dcmread(paths[i]).pixel_array)
        assert image.slice_headers[frame].SOPInstanceUID == pydicom.dcmread(paths[i]).SOPInstanceUID


def test_without_positions_slices_sort_by_instance_number(tmp_path):
    paths = make_series(tmp_path / "in")
    for path in paths:
        ds = pydicom.dcmread(path)
        del ds.ImagePositionPatient
        ds.save_as(path)
    assert read_series(paths).slice_names == tuple(f"slice_{i}.dcm" for i in (3, 2, 1, 0))


def test_grouping_keeps_other_files_alone(tmp_path):
    paths = make_series(tmp_path / "in")
    mr = copy_test_file("MR_small.dcm", tmp_path / "in" / "mr.dcm")
    broken = tmp_path / "in" / "broken.dcm"
    broken.write_bytes(b"\x00" * 128 + b"DICM\x01\x02")
    groups = group_files([(p, tmp_path / "in") for p in [*paths, mr, broken]])
    names = [[p.name for p, _ in group] for group in groups]
    assert names == [[p.name for p in paths], ["mr.dcm"], ["broken.dcm"]]


def test_folder_round_trip_gives_the_same_files(seeded_zoo, tmp_path, capsys):
    src = tmp_path / "in"
    paths = make_series(src)
    copy_test_file("MR_small.dcm", src / "mr.dcm")
    coded, decoded = tmp_path / "coded", tmp_path / "decoded"
    assert main(["encode", str(src), "-o", str(coded), "-m", "cae-compact"]) == ExitCode.OK
    series_uid = pydicom.dcmread(paths[0]).SeriesInstanceUID
    assert _files(coded) == sorted([f"{series_uid}.mcz", "mr.mcz"])
    assert mcz.read_info(coded / f"{series_uid}.mcz").header.frames == 4
    assert main(["decode", str(coded), "-o", str(decoded)]) == ExitCode.OK
    assert _files(decoded) == sorted([f"{series_uid}/slice_{i}.dcm" for i in range(4)] + ["mr.dcm"])
    volume = mcz.decode(coded / f"{series_uid}.mcz")
    uids = set()
    for frame, i in enumerate([1, 2, 3, 0]):
        source, out = pydicom.dcmread(paths[i]), pydicom.dcmread(decoded / series_uid / f"slice_{i}.dcm")
        assert_derived_header(source, out)
        np.testing.assert_array_equal(out.pixel_array, volume[frame])
        assert out.SeriesInstanceUID == source.SeriesInstanceUID
        uids.add(out.SOPInstanceUID)
    assert len(uids) == 4


def test_series_to_one_named_file_and_back_to_a_volume(seeded_zoo, tmp_path):
    make_series(tmp_path / "in")
    coded = tmp_path / "ct.mcz"
    assert main(["encode", str(tmp_path / "in"), "-o", str(coded), "-m", "cae-compact"]) == ExitCode.OK
    assert main(["decode", str(coded), "--to", "nii.gz"]) == ExitCode.OK
    assert nib.load(tmp_path / "ct.nii.gz").shape == (128, 128, 4)
    assert main(["decode", str(coded), "--to", "dcm"]) == ExitCode.OK
    assert _files(tmp_path / "ct") == [f"slice_{i}.dcm" for i in range(4)]


def test_per_file_keeps_one_mcz_per_slice(seeded_zoo, tmp_path):
    make_series(tmp_path / "in", positions=(1.0, 2.0))
    out = tmp_path / "out"
    assert main(["encode", str(tmp_path / "in"), "-o", str(out), "-m", "cae-compact", "--per-file"]) == 0
    assert _files(out) == ["slice_0.mcz", "slice_1.mcz"]


def test_minimal_series_forgets_names_and_uses_instance_numbers(seeded_zoo, tmp_path):
    paths = make_series(tmp_path / "in", positions=(1.0, 2.0))
    coded = tmp_path / "s.mcz"
    assert _encode(tmp_path / "in", coded, "--metadata", "minimal") == 0
    assert main(["decode", str(coded), "-o", str(tmp_path / "s")]) == 0
    assert _files(tmp_path / "s") == ["instance-000009.dcm", "instance-000010.dcm"]
    decoded = [pydicom.dcmread(tmp_path / "s" / name) for name in _files(tmp_path / "s")]
    source_series = pydicom.dcmread(paths[0]).SeriesInstanceUID
    assert len({ds.SeriesInstanceUID for ds in decoded}) == 1
    assert decoded[0].SeriesInstanceUID != source_series
    assert len({ds.StudyInstanceUID for ds in decoded}) == 1


def test_series_without_headers_decodes_to_numbered_secondary_captures(seeded_zoo, tmp_path):
    make_series(tmp_path / "in", positions=(1.0, 2.0))
    coded = tmp_path / "s.mcz"
    assert _encode(tmp_path / "in", coded, "--metadata", "none") == 0
    assert main(["decode", str(coded), "-o", str(tmp_path / "s")]) == 0
    decoded = [pydicom.dcmread(tmp_path / "s" / name) for name in _files(tmp_path / "s")]
    assert [ds.InstanceNumber for ds in decoded] == [1, 2]
    assert len({ds.SeriesInstanceUID for ds in decoded}) == 1
    assert all(ds.LossyImageCompression == "01" for ds in decoded)


def test_unlike_slices_are_refused_with_advice(tmp_path):
    paths = make_series(tmp_path / "in", positions=(1.0, 2.0))
    ds = pydicom.dcmread(copy_test_file("MR_small.dcm", tmp_path / "mr.dcm"))
    ds.SeriesInstanceUID = pydicom.dcmread(paths[0]).SeriesInstanceUID
    ds.save_as(tmp_path / "in" / "odd.dcm")
    with pytest.raises(UnsupportedError, match="--per-file"):
        read_series([*paths, tmp_path / "in" / "odd.dcm"])


def test_output_names_are_safe_and_distinct():
    heads = []
    for number in (5, 5, None):
        ds = pydicom.Dataset()
        if number is not None:
            ds.InstanceNumber = number
        heads.append(ds)
    names = output_names(heads, ("../x.dcm", "A.dcm", "a.dcm"))
    assert names == ["instance-000005.dcm", "A.dcm", "slice-000003.dcm"]
    assert all(os.sep not in name for name in names)


def test_nifti_round_trip_keeps_affine_and_header(seeded_zoo, tmp_path):
    data = (np.arange(40 * 48 * 5).reshape(40, 48, 5) % 1000).astype(np.int16)
    affine = np.array([[0.9, 0, 0, -20.0], [0, 1.1, 0.1, 30.0], [0, 0, 2.5, -7.5], [0, 0, 0, 1]])
    img = nib.Nifti1Image(data, affine)
    img.header.set_xyzt_units("mm", "sec")
    img.header["descrip"] = b"mcz test volume"
    nib.save(img, tmp_path / "v.nii.gz")
    assert _encode(tmp_path / "v.nii.gz", tmp_path / "v.mcz") == 0
    assert main(["decode", str(tmp_path / "v.mcz"), "-o", str(tmp_path / "back.nii.gz")]) == 0
    back = nib.load(tmp_path / "back.nii.gz")
    np.testing.assert_allclose(back.affine, affine, atol=1e-6)
    assert back.shape == data.shape and back.get_data_dtype() == np.int16
    for key in ("pixdim", "xyzt_units", "qform_code", "sform_code"):
        assert np.array_equal(back.header[key], img.header[key]), key
    # descrip: the lossy coding first (NIfTI has no lossy flag), then the source's own text
    ratio = mcz.read_info(tmp_path / "v.mcz").compression_ratio
    assert 10 < ratio < 20
    expected = f"LOSSY mcz cae-compact q6 {ratio:.1f}:1; mcz test volume".encode()
    assert bytes(back.header["descrip"]).rstrip(b"\0") == expected
    np.testing.assert_array_equal(np.asarray(back.dataobj), mcz.decode(tmp_path / "v.mcz"))
