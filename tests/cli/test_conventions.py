"""Command-line conventions: stdin/stdout, broken pipes, output checks, result lines."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mcz.cli.main import cli_text, main
from mcz.io import from_array, write_image

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def png(tmp_path) -> Path:
    path = tmp_path / "a.png"
    write_image(path, from_array((np.add.outer(np.arange(40), np.arange(48)) * 2).astype(np.uint8)))
    return path


def _mcz(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mcz.cli.main", *args], cwd=ROOT, input=stdin,
                          capture_output=True, timeout=240)


def test_stdin_to_stdout_round_trip(png):
    coded = _mcz("encode", "-", "-o", "-", stdin=png.read_bytes())
    assert coded.returncode == 0, coded.stderr.decode()[-800:]
    assert coded.stdout.startswith(b"\x89MCZ")
    decoded = _mcz("decode", "-", "-o", "-", "--to", "npy", stdin=coded.stdout)
    assert decoded.returncode == 0, decoded.stderr.decode()[-800:]
    assert np.load(io.BytesIO(decoded.stdout)).shape == (40, 48)


def test_decode_to_stdout_needs_a_format(png, tmp_path, capsys):
    assert main(["encode", str(png), "-o", str(tmp_path / "a.mcz"), "--quiet"]) == 0
    assert main(["decode", str(tmp_path / "a.mcz"), "-o", "-"]) == 2
    assert "--to png" in capsys.readouterr().err


def test_a_closed_pipe_ends_quietly(png, tmp_path):
    assert main(["encode", str(png), "-o", str(tmp_path / "a.mcz")]) == 0
    process = subprocess.Popen([sys.executable, "-m", "mcz.cli.main", "info", "--json", str(tmp_path / "a.mcz")],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # like `| head` that has stopped reading
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141 and err == "", err


def test_an_image_suffix_for_an_encoded_output_is_refused_before_encoding(png, tmp_path, capsys):
    assert main(["encode", str(png), "-o", str(tmp_path / "y.png")]) == 2
    assert "ends in '.png'" in capsys.readouterr().err and not (tmp_path / "y.png").exists()


def test_an_existing_output_is_refused_with_the_flag_name(png, tmp_path, capsys):
    out = tmp_path / "a.mcz"
    out.write_bytes(b"keep")
    assert main(["encode", str(png), "-o", str(out)]) == 6
    err = capsys.readouterr().err
    assert "--force" in err and "overwrite=" not in err and out.read_bytes() == b"keep"


def test_global_options_after_the_subcommand(png, tmp_path):
    assert main(["encode", str(png), "-o", str(tmp_path / "a.mcz"), "--quiet", "-v"]) == 0
    assert main(["info", str(tmp_path / "a.mcz"), "-v"]) == 0


def test_one_result_line_per_file_and_json(png, tmp_path, capsys):
    assert main(["encode", str(png), "-o", str(tmp_path / "a.mcz")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "bytes" in lines[0] and "bpp" in lines[0] and "ratio" in lines[0]
    assert main(["decode", str(tmp_path / "a.mcz"), "-o", str(tmp_path / "b.png"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["output"] == str(tmp_path / "b.png") and result["bytes"] > 0 and result["compression_ratio"] > 1
    assert main(["encode", str(png), "-o", str(tmp_path / "c.mcz"), "--target-psnr", "30", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["psnr_db"] >= 30


def test_api_argument_names_become_flag_names():
    assert cli_text("Pass --force (overwrite=True) or --no-verify (verify=False).") == "Pass --force or --no-verify."
