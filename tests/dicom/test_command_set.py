"""Files that carry DIMSE Command Set elements (group 0000) still encode and decode."""

from __future__ import annotations

import shutil

import pydicom
from pydicom.data import get_testdata_file

from mcz.cli.main import main


def _write_with_command_set(path, ds) -> None:
    """Write as a file a DIMSE-style dataset (dcmwrite refuses group 0000, write_dataset does not)."""
    from pydicom.filebase import DicomFileLike
    from pydicom.filewriter import write_dataset, write_file_meta_info

    with open(path, "wb") as handle:
        handle.write(b"\0" * 128 + b"DICM")
        fp = DicomFileLike(handle)
        fp.is_little_endian, fp.is_implicit_VR = True, False
        write_file_meta_info(fp, ds.file_meta, enforce_standard=False)
        write_dataset(fp, ds)


def test_command_set_elements_are_dropped_not_fatal(seeded_zoo, tmp_path):
    src = tmp_path / "ct.dcm"
    shutil.copy(get_testdata_file("CT_small.dcm", download=False), src)
    ds = pydicom.dcmread(src)
    ds.add_new(0x00000002, "UI", "1.2.840.10008.5.1.4.1.1.2")  # Affected SOP Class UID
    _write_with_command_set(src, ds)
    assert main(["encode", str(src), "-o", str(tmp_path / "ct.mcz"), "-m", "cae-compact"]) == 0
    assert main(["decode", str(tmp_path / "ct.mcz"), "-o", str(tmp_path / "out.dcm")]) == 0
    out = pydicom.dcmread(tmp_path / "out.dcm")
    assert out.LossyImageCompression == "01" and 0x00000002 not in out
