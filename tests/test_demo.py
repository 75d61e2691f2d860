"""`mcz demo` end to end on a real bundled DICOM (seeded weights: checks the plumbing, not quality)."""

from __future__ import annotations

import pytest
from pydicom.data import get_testdata_file

from mcz import demo
from mcz.cli.main import main

pytest.importorskip("matplotlib")
pytest.importorskip("imagecodecs")


def test_demo_compares_with_jpeg2000_at_the_same_size(seeded_zoo, tmp_path):
    image = get_testdata_file("CT_small.dcm", download=False)
    out = tmp_path / "demo.png"
    rows = demo.run(image_path=image, model="cae-compact", out=out)
    mcz_row, j2k_row = rows
    assert j2k_row.file_bytes <= mcz_row.file_bytes  # matched budget, never more
    assert mcz_row.bpp == pytest.approx(8 * mcz_row.file_bytes / (128 * 128))
    assert mcz_row.compression_ratio == pytest.approx(128 * 128 * 2 / mcz_row.file_bytes)  # 16-bit stored
    assert j2k_row.psnr > 0 and 0 < mcz_row.ssim <= 1
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_cli_refuses_to_overwrite_the_figure(seeded_zoo, tmp_path, capsys):
    out = tmp_path / "demo.png"
    out.write_bytes(b"keep")
    image = get_testdata_file("CT_small.dcm", download=False)
    assert main(["demo", "--image", image, "-m", "cae-compact", "-o", str(out)]) == 6
    assert out.read_bytes() == b"keep"
    assert main(["demo", "--image", image, "-m", "cae-compact", "-o", str(out), "--force"]) == 0
    assert "JPEG 2000" in capsys.readouterr().out
