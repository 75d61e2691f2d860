"""``mcz bench --backend``: per-backend times beside JPEG 2000 in one run; an unavailable backend gets its reason."""

from __future__ import annotations

import csv

import numpy as np
import pytest

pytest.importorskip("imagecodecs")
pytest.importorskip("compressai")


def test_bench_backend_times_each_backend_beside_jpeg2000(learned_zoo, tmp_path, capsys):
    import pydicom
    from pydicom.data import get_testdata_file

    from mcz.cli.main import main
    from mcz.codec.gpu import device
    from tests.zoo import TINY_LEARNED

    folder = tmp_path / "images"
    folder.mkdir()
    np.save(folder / "ct.npy", pydicom.dcmread(get_testdata_file("CT_small.dcm")).pixel_array.astype(np.int16))
    model = TINY_LEARNED["hyperprior"].id
    out = tmp_path / "run"
    assert main(["--quiet", "bench", str(folder), "--backend", "torch,onnxruntime,cuda", "--codecs", f"mcz:{model}",
                 "--out", str(out)]) == 0
    rows = list(csv.DictReader((out / "backends.csv").open()))
    assert [(r["codec"], r["backend"]) for r in rows] == [("j2k", "cpu")] + [
        (f"mcz:{model}", b) for b in ("torch", "onnxruntime", "cuda")]
    for row in rows[:3]:
        assert float(row["decode_ms"]) > 0 and float(row["encode_ms"]) > 0 and row["note"] == ""
    assert float(rows[1]["decode_vs_j2k"]) == pytest.approx(float(rows[1]["decode_ms"]) / float(rows[0]["decode_ms"]))
    if not device.probe_cuda().ok:
        assert rows[3]["decode_ms"] == "" and "needs a CUDA device" in rows[3]["note"]
    assert "| j2k | cpu |" in (out / "backends.md").read_text()
