"""``mcz encode --target-bpp | --target-ratio | --target-psnr``: one target, chosen per file, reported."""

from __future__ import annotations

import shutil

import pytest
from pydicom.data import get_testdata_file

from mcz.cli.main import main
from mcz.errors import ExitCode

MODEL = "cae-compact"


@pytest.fixture
def zoo(tmp_path_factory, monkeypatch):
    """Seeded cae-compact weights only (the model these tests use)."""
    from mcz.codec import engine
    from tests.zoo import write_checkpoint

    folder = tmp_path_factory.mktemp("zoo")
    write_checkpoint(folder, MODEL)
    monkeypatch.setenv("MCZ_CHECKPOINTS", str(folder))
    yield folder
    engine.load_codec.cache_clear()


@pytest.fixture
def ct(tmp_path):
    path = tmp_path / "ct.dcm"
    shutil.copy(get_testdata_file("CT_small.dcm", download=False), path)
    return path


def _file_bpp(ct, quality: int) -> float:
    from mcz import api

    outcome = api.encode_with_report(api.read_image(ct), model=MODEL, quality=quality)
    return 8 * len(outcome.data) / (128 * 128)


def test_target_bpp_picks_the_quality_and_prints_what_it_achieved(zoo, ct, tmp_path, capsys):
    from mcz import api

    value = float(f"{(_file_bpp(ct, 4) + _file_bpp(ct, 5)) / 2:.4f}")  # what the command line carries
    out = tmp_path / "ct.mcz"
    assert main(["encode", str(ct), "-o", str(out), "-m", MODEL, "--target-bpp", f"{value:.4f}"]) == ExitCode.OK
    info = api.read_info(out)
    assert info.header.quality == 4 and info.bpp <= value
    printed = capsys.readouterr().out
    assert printed.startswith(f"{ct} -> {out}: {info.file_bytes} bytes, ")
    assert f"(quality 4: achieved {info.bpp:.3f} bpp (target <= {value:.3f} bpp))" in printed


def test_a_batch_reports_every_file_in_order(zoo, ct, tmp_path, capsys):
    mr = tmp_path / "mr.dcm"
    shutil.copy(get_testdata_file("MR_small.dcm", download=False), mr)
    out = tmp_path / "out"
    assert main(["encode", str(ct), str(mr), "-o", str(out), "-m", MODEL, "--target-ratio", "3"]) == ExitCode.OK
    lines = [line for line in capsys.readouterr().out.splitlines() if "achieved" in line]
    assert len(lines) == 2
    assert lines[0].startswith(f"{ct} -> {out / 'ct.mcz'}: ") and "(quality " in lines[0]
    assert lines[1].startswith(f"{mr} -> ")
    assert all(":1 (target >= 3.0:1)" in line for line in lines)


def test_a_missed_target_warns_and_keeps_the_nearest_quality(zoo, ct, tmp_path, capsys):
    from mcz import api

    out = tmp_path / "ct.mcz"
    assert main(["encode", str(ct), "-o", str(out), "-m", MODEL, "--target-psnr", "300"]) == ExitCode.OK
    assert api.read_info(out).header.quality == 8
    captured = capsys.readouterr()
    assert "mcz: warning:" in captured.err and "target not met" in captured.err
    assert "quality 8: achieved" in captured.out and "(target >= 300.00 dB)" in captured.out


@pytest.mark.parametrize(
    "flags, message",
    [
        (["-q", "4", "--target-bpp", "0.5"], "not allowed with argument"),
        (["--target-bpp", "0.5", "--target-psnr", "40"], "not allowed with argument"),
        (["--target-ratio", "10", "--quality", "3"], "not allowed with argument"),
        (["--target-bpp", "0"], "positive"),
        (["--target-psnr", "nan"], "positive"),
    ],
)
def test_one_target_or_quality_and_a_valid_value(ct, tmp_path, capsys, flags, message):
    out = tmp_path / "ct.mcz"
    assert main(["encode", str(ct), "-o", str(out), *flags]) == ExitCode.USAGE
    assert message in capsys.readouterr().err
    assert not out.exists()
