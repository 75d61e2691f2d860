"""The mcz command: exit codes, batches, atomic and non-clobbering output."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from pydicom.data import get_testdata_file

from mcz.cli.main import main
from mcz.errors import ExitCode


@pytest.fixture
def dicoms(tmp_path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(get_testdata_file("CT_small.dcm"), folder / "ct.dcm")
    shutil.copy(get_testdata_file("MR_small.dcm"), folder / "sub" / "mr.dcm")
    return folder


def test_encode_decode_info_single_file(seeded_zoo, dicoms, tmp_path, capsys):
    out = tmp_path / "ct.mcz"
    assert main(["encode", str(dicoms / "ct.dcm"), "-o", str(out), "-m", "cae-compact"]) == ExitCode.OK
    assert capsys.readouterr().out.startswith(f"{dicoms / 'ct.dcm'} -> {out}: ")  # the result line
    assert main(["info", str(out), "--json"]) == ExitCode.OK
    info = json.loads(capsys.readouterr().out)
    assert info["header"]["codec_id"] == "cae-compact" and info["bpp"] > 0
    assert main(["decode", str(out), "--to", "npy", "-o", str(tmp_path / "ct.npy")]) == ExitCode.OK
    assert np.load(tmp_path / "ct.npy").shape == (128, 128)
    assert main(["info", str(out)]) == ExitCode.OK
    assert "compression ratio" in capsys.readouterr().out


def test_existing_output_is_never_overwritten_without_force(seeded_zoo, dicoms, tmp_path):
    out = tmp_path / "ct.mcz"
    out.write_bytes(b"precious")
    assert main(["encode", str(dicoms / "ct.dcm"), "-o", str(out), "-m", "cae-compact"]) == ExitCode.OUTPUT_ERROR
    assert out.read_bytes() == b"precious"
    assert main(["encode", str(dicoms / "ct.dcm"), "-o", str(out), "-m", "cae-compact", "--force"]) == ExitCode.OK
    assert out.read_bytes().startswith(b"\x89MCZ")
    assert not [p for p in tmp_path.iterdir() if "tmp" in p.name]


def test_folder_batch_mirrors_layout_and_reports_partial_failure(seeded_zoo, dicoms, tmp_path, capsys):
    (dicoms / "broken.dcm").write_bytes(b"\x00" * 128 + b"DICM" + b"\x01\x02")
    out = tmp_path / "out"
    code = main(["encode", str(dicoms), "-o", str(out), "-m", "cae-compact", "-j", "2"])
    assert code == ExitCode.PARTIAL_BATCH
    assert (out / "ct.mcz").is_file() and (out / "sub" / "mr.mcz").is_file()
    assert not (out / "broken.mcz").exists()
    err = capsys.readouterr().err
    assert "broken.dcm" in err and "1 of 3 files failed" in err
    decoded = tmp_path / "decoded"
    assert main(["decode", str(out), "-o", str(decoded)]) == ExitCode.OK
    assert (decoded / "ct.dcm").is_file() and (decoded / "sub" / "mr.dcm").is_file()


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["encode", "/no/such/file.dcm"], ExitCode.NO_INPUT),
        (["encode", "--bogus-flag", "x"], ExitCode.USAGE),
        (["info", "/no/such.mcz"], ExitCode.NO_INPUT),
    ],
)
def test_error_exit_codes(seeded_zoo, argv, code, capsys):
    assert main(argv) == code
    assert "Traceback" not in capsys.readouterr().err


def test_corrupt_and_foreign_files_exit_4(seeded_zoo, dicoms, tmp_path, capsys):
    good = tmp_path / "ct.mcz"
    assert main(["encode", str(dicoms / "ct.dcm"), "-o", str(good), "-m", "cae-compact"]) == 0
    truncated = tmp_path / "cut.mcz"
    truncated.write_bytes(good.read_bytes()[:-20])
    assert main(["decode", str(truncated), "--to", "npy"]) == ExitCode.CORRUPT_INPUT
    assert main(["info", str(dicoms / "ct.dcm")]) == ExitCode.CORRUPT_INPUT
    err = capsys.readouterr().err
    assert err.count("mcz: error:") == 1 and "not a .mcz file" in err


def test_unknown_model_exits_7(seeded_zoo, dicoms, tmp_path):
    assert main(["encode", str(dicoms / "ct.dcm"), "-o", str(tmp_path / "x.mcz"), "-m", "nope"]) == ExitCode.MODEL_ERROR


def test_models_lists_installed_weights(seeded_zoo, capsys):
    assert main(["models", "--json"]) == 0
    models = {m["id"]: m for m in json.loads(capsys.readouterr().out)}
    assert models["cae-seed"]["available"] and models["cae-seed"]["manifest"]["sha256"]


def test_verbose_shows_traceback(seeded_zoo, capsys):
    assert main(["-v", "info", "/no/such.mcz"]) == ExitCode.NO_INPUT
    assert "Traceback" in capsys.readouterr().err
