"""Values from headers never become paths or unbounded allocations."""

from __future__ import annotations

import json
import struct
import warnings

import numpy as np
import pydicom
import pytest

import mcz
from mcz.cli.main import main
from mcz.container import Container, read_container, write_container
from mcz.io.dicom_safety import PixelBudgetError, check_pixel_budget, is_valid_uid, safe_file_name
from mcz.errors import ExitCode, FormatError
from mcz.io import read_image
from mcz.metadata import unpack_dicom_slices
from tests.dicom.helpers import make_series, modified_copy


@pytest.mark.parametrize(
    ("uid", "ok"),
    [
        ("1.2.840.10008.1.2.1", True),
        ("2.25.1234", True),
        ("1", True),
        ("1.0.3", True),
        ("1.02.3", False),  # PS3.5 9.1: no leading zero in a component
        ("../../etc", False),
        ("1.2..3", False),
        (".1.2", False),
        ("1.2.", False),
        ("1.2/3", False),
        ("1.2 3", False),
        ("1.2.3 ", False),  # valid for pydicom once stripped, but not as it would be written
        ("\n1.2.3", False),
        ("1." + "2" * 63, False),  # 65 characters
        ("", False),
        (None, False),
        (123, False),
    ],
)
def test_uid_validation(uid, ok):
    assert is_valid_uid(uid) is ok
    if isinstance(uid, str) and uid == uid.strip():  # pydicom's verdict, which it delegates to
        assert pydicom.uid.UID(uid, validation_mode=pydicom.config.IGNORE).is_valid is ok


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("IM0001.dcm", True),
        ("slice_1-a+b.dcm", True),
        ("../x.dcm", False),
        ("..", False),
        ("a..b", False),
        (".hidden", False),
        ("a/b.dcm", False),
        ("a\\b.dcm", False),
        ("/etc/passwd", False),
        ("na me.dcm", False),
        ("é.dcm", False),
        ("x" * 129, False),
        ("", False),
        (None, False),
    ],
)
def test_file_name_validation(name, ok):
    assert safe_file_name(name) == (name if ok else None)


def test_malicious_uids_do_not_become_paths(seeded_zoo, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    evil = {"SOPInstanceUID": "../../etc", "SeriesInstanceUID": "../../etc"}
    for name in ("a.dcm", "b.dcm"):
        modified_copy("CT_small.dcm", src / name, **evil)
    out, back = tmp_path / "out", tmp_path / "back"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about the invalid UIDs it is given
        assert main(["encode", str(src), "-o", str(out), "-m", "cae-compact"]) == ExitCode.OK
        assert main(["decode", str(out), "-o", str(back)]) == ExitCode.OK
    # An invalid Series Instance UID groups nothing and names nothing: one file each, by file name.
    assert sorted(p.name for p in out.iterdir()) == ["a.mcz", "b.mcz"]
    assert sorted(p.name for p in back.iterdir()) == ["a.dcm", "b.dcm"]
    assert not (tmp_path.parent / "etc").exists()
    ds = pydicom.dcmread(back / "a.dcm")
    assert is_valid_uid(ds.SOPInstanceUID) and "SourceImageSequence" not in ds  # no reference to a bad UID


def test_malicious_record_in_a_crafted_file_is_replaced(seeded_zoo, tmp_path):
    make_series(tmp_path / "in")
    coded = tmp_path / "s.mcz"
    assert main(["encode", str(tmp_path / "in"), "-o", str(coded), "-m", "cae-compact"]) == 0
    parsed = read_container(coded.read_bytes())
    record = dict(parsed.header.extra["dicom"])
    record["names"] = ["../../evil.dcm", "/etc/passwd", "ok.dcm", "ok.dcm"]
    record["sop_instance_uids"] = ["../../etc", "1.2.3", "1.2.3.4", "x" * 70]
    record["series_instance_uid"] = "../.."
    header = parsed.header.replace(extra={**parsed.header.extra, "dicom": record})
    coded.write_bytes(write_container(Container(header, parsed.tiles, parsed.metadata)))
    assert main(["decode", str(coded), "-o", str(tmp_path / "out")]) == ExitCode.OK
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    # Frames by position hold instances 9, 8, 7, 10; unsafe or repeated names fall back to those.
    assert written == ["instance-000008.dcm", "instance-000009.dcm", "instance-000010.dcm", "ok.dcm"]
    assert not (tmp_path.parent / "evil.dcm").exists()
    uids = [pydicom.dcmread(tmp_path / "out" / name).SOPInstanceUID for name in written]
    assert all(is_valid_uid(uid) for uid in uids) and {"1.2.3", "1.2.3.4"} <= set(uids)
    series = {pydicom.dcmread(tmp_path / "out" / name).SeriesInstanceUID for name in written}
    assert series == {pydicom.dcmread(tmp_path / "in" / "slice_0.dcm").SeriesInstanceUID}
    extra = json.dumps(read_container(coded.read_bytes()).header.extra)
    assert "evil" in extra  # the file still says it; only the decoder refused it


def test_announced_pixels_are_bounded_before_decoding(tmp_path):
    ds = pydicom.dcmread(modified_copy("CT_small.dcm", tmp_path / "big.dcm"))
    ds.Rows, ds.Columns, ds.NumberOfFrames = 60000, 60000, 5000
    ds.save_as(tmp_path / "big.dcm", enforce_file_format=False)
    with pytest.raises(PixelBudgetError, match="60000 x 60000 x 5000"):
        read_image(tmp_path / "big.dcm")
    assert main(["encode", str(tmp_path / "big.dcm")]) == ExitCode.UNSUPPORTED


@pytest.mark.parametrize(
    ("dims", "ok"),
    [((512, 512, 1, 1, 16), True), ((0, 512, 1, 1, 16), False), ((2**15, 2**14, 1, 1, 8), False),
     ((512, 512, 70000, 1, 16), False), ((4096, 4096, 200, 1, 16), False)],
)
def test_pixel_budget(dims, ok):
    if ok:
        check_pixel_budget(*dims, where="x")
    else:
        with pytest.raises(PixelBudgetError):
            check_pixel_budget(*dims, where="x")


@pytest.mark.parametrize(
    "blob",
    [b"", struct.pack(">I", 5), struct.pack(">II", 1, 10**6) + b"abc", struct.pack(">I", 2**32 - 1)],
)
def test_damaged_slice_chunk_is_refused_before_parsing(blob):
    with pytest.raises(FormatError, match="dicom-slices"):
        unpack_dicom_slices(blob, 1)


def test_decoded_pixels_do_not_depend_on_the_header_sizes(seeded_zoo, tmp_path):
    src = modified_copy("MR_small.dcm", tmp_path / "mr.dcm")
    coded = tmp_path / "mr.mcz"
    mcz.encode_file(src, coded, model="cae-compact")
    parsed = read_container(coded.read_bytes())
    meta = dict(parsed.metadata)
    ds = pydicom.dcmread(src, stop_before_pixels=True)
    ds.Rows, ds.Columns = 9999, 9999  # a lying stored header: the writer uses the decoded size
    from mcz.metadata import dicom_bytes

    meta["dicom"] = dicom_bytes(ds)
    coded.write_bytes(write_container(Container(parsed.header, parsed.tiles, meta)))
    out = pydicom.dcmread(mcz.decode_file(coded, tmp_path / "mr_out.dcm"))
    assert (out.Rows, out.Columns) == (64, 64)
    np.testing.assert_array_equal(out.pixel_array, mcz.decode(coded))
