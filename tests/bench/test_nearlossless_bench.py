"""``mcz bench --max-error``: the lossless / near-lossless table."""

from __future__ import annotations

import csv

import numpy as np

from mcz.cli.main import main
from mcz.errors import ExitCode


def test_table_has_every_codec_and_bound_and_the_bounds_hold(tmp_path):
    rng = np.random.default_rng(0)
    rows, cols = np.meshgrid(np.arange(48), np.arange(40), indexing="ij")
    image = (1000 + 10 * rows + 5 * cols + rng.integers(-20, 20, (48, 40))).astype(np.int16)
    np.save(tmp_path / "ct.npy", image)
    out = tmp_path / "run"
    assert main(["bench", str(tmp_path / "ct.npy"), "--max-error", "0,2", "--out", str(out)]) == ExitCode.OK
    with (out / "nearlossless.csv").open() as handle:
        cells = list(csv.DictReader(handle))
    assert sorted({(int(c["k"]), c["codec"]) for c in cells}) == [
        (0, "j2k-lossless"), (0, "jpegls"), (0, "jxl-lossless"), (0, "jxl-lossless-e9"), (0, "mcz"), (0, "quant+jxl"),
        (2, "jpegls"), (2, "mcz"), (2, "quant+jxl")]
    assert all(int(c["max_error"]) <= int(c["k"]) for c in cells)
    assert any(int(c["max_error"]) == 2 for c in cells if c["k"] == "2")  # the bound is used, not just met
    summary = (out / "nearlossless.md").read_text()
    assert "| 2 | mcz |" in summary and "vs JPEG-LS" in summary
