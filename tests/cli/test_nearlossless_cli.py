"""``mcz encode --lossless`` / ``--max-error K``: CLI round trips, DICOM flags, the guard."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from mcz.cli.main import main
from mcz.errors import ExitCode


@pytest.fixture
def ct(tmp_path):
    path = tmp_path / "ct.dcm"
    shutil.copy(get_testdata_file("CT_small.dcm", download=False), path)
    return path


def _round_trip(src, tmp_path, *flags: str) -> tuple[pydicom.Dataset, pydicom.Dataset]:
    coded, out = tmp_path / "ct.mcz", tmp_path / "out.dcm"
    assert main(["encode", str(src), "-o", str(coded), *flags]) == ExitCode.OK
    assert main(["decode", str(coded), "-o", str(out)]) == ExitCode.OK
    return pydicom.dcmread(src), pydicom.dcmread(out)


def test_lossless_is_bit_exact_and_adds_no_lossy_flag(ct, tmp_path, capsys):
    source, decoded = _round_trip(ct, tmp_path, "--lossless")
    assert np.array_equal(source.pixel_array, decoded.pixel_array)
    assert decoded.get("LossyImageCompression") == source.get("LossyImageCompression")
    assert decoded.SOPInstanceUID == source.SOPInstanceUID
    assert main(["info", str(tmp_path / "ct.mcz")]) == ExitCode.OK
    assert "lossless: bit-exact" in capsys.readouterr().out


def test_max_error_bounds_pixels_and_marks_dicom_lossy(ct, tmp_path):
    source, decoded = _round_trip(ct, tmp_path, "--max-error", "3")
    error = np.abs(source.pixel_array.astype(np.int64) - decoded.pixel_array.astype(np.int64)).max()
    assert 0 < error <= 3
    assert decoded.LossyImageCompression == "01"
    assert decoded.LossyImageCompressionMethod == "MCZ_NEARLOSSLESS"
    assert "maximum error 3 stored units" in decoded.DerivationDescription
    assert decoded.SOPInstanceUID != source.SOPInstanceUID


@pytest.mark.parametrize(("flags", "warned"), [(["--lossless"], False), (["--max-error", "2"], True)])
def test_the_ratio_guard_skips_lossless_only(tmp_path, capsys, flags, warned):
    flat = tmp_path / "flat.npy"
    np.save(flat, np.zeros((256, 256), np.uint16))  # compresses thousands to one
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(["encode", str(flat), "-o", str(tmp_path / "f.mcz"), *flags, "--max-ratio", "10"])
    assert code == ExitCode.OK
    text = capsys.readouterr().err + " ".join(str(w.message) for w in caught)
    assert ("cap of 10:1" in text) is warned


@pytest.mark.parametrize("flags", [["--lossless", "-q", "5"], ["--max-error", "2", "-m", "wavelet-ctx"],
                                   ["--lossless", "--max-error", "2"], ["--max-error", "-1"]])
def test_conflicting_or_invalid_bounds_are_usage_errors(ct, tmp_path, flags, capsys):
    assert main(["encode", str(ct), "-o", str(tmp_path / "x.mcz"), *flags]) == ExitCode.USAGE
    assert not (tmp_path / "x.mcz").exists()
    assert "max" in capsys.readouterr().err.lower()


def test_lossless_series_folder_gives_back_the_same_slices(tmp_path):
    from tests.dicom.helpers import make_series

    paths = make_series(tmp_path / "in")
    coded, decoded = tmp_path / "coded", tmp_path / "decoded"
    assert main(["encode", str(tmp_path / "in"), "-o", str(coded), "--lossless"]) == ExitCode.OK
    assert main(["decode", str(coded), "-o", str(decoded)]) == ExitCode.OK
    for i, path in enumerate(paths):
        source = pydicom.dcmread(path)
        out = pydicom.dcmread(next(decoded.rglob(f"slice_{i}.dcm")))
        assert np.array_equal(source.pixel_array, out.pixel_array)
        assert out.SOPInstanceUID == source.SOPInstanceUID and "LossyImageCompression" not in out
