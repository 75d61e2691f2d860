"""``mcz export`` (ONNX graphs) and ``mcz decode --backend onnxruntime`` for learned models."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from pydicom.data import get_testdata_file

from mcz.cli.main import main
from mcz.errors import ExitCode
from tests.zoo import TINY_LEARNED

HYPER = TINY_LEARNED["hyperprior"].id


def test_export_writes_loadable_onnx_graphs_and_refuses_to_overwrite(learned_zoo, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    out = tmp_path / "graphs"
    assert main(["export", HYPER, "-o", str(out)]) == ExitCode.OK
    info = json.loads((out / "model.json").read_text())
    assert info["model_id"] == HYPER and sorted(info["graphs"]) == ["hyper_synthesis.onnx", "synthesis.onnx"]
    session = ort.InferenceSession(str(out / "synthesis.onnx"), providers=["CPUExecutionProvider"])
    (image,) = session.run(None, {"input": np.zeros((1, 8, 3, 5), np.float32)})
    assert image.shape == (1, 1, 48, 80)
    assert main(["export", HYPER, "-o", str(out)]) != ExitCode.OK  # not empty, no --force


def test_export_of_a_cae_model_is_a_usage_error(seeded_zoo, tmp_path, capsys):
    assert main(["export", "cae-compact", "-o", str(tmp_path / "x")]) == ExitCode.USAGE
    assert "ONNX export covers the factorized, hyperprior families" in capsys.readouterr().err


def test_decode_with_onnx_runtime_gives_the_same_file_as_torch(learned_zoo, tmp_path):
    pytest.importorskip("onnxruntime")
    src = tmp_path / "ct.dcm"
    shutil.copy(get_testdata_file("CT_small.dcm"), src)
    coded = tmp_path / "ct.mcz"
    assert main(["--quiet", "encode", str(src), "-m", HYPER, "-q", "3", "-o", str(coded)]) == ExitCode.OK
    assert main(["--quiet", "decode", str(coded), "-o", str(tmp_path / "t.npy")]) == ExitCode.OK
    assert main(["--quiet", "decode", str(coded), "-o", str(tmp_path / "o.npy"), "--backend", "onnxruntime"]) == 0
    by_torch, by_onnx = np.load(tmp_path / "t.npy"), np.load(tmp_path / "o.npy")
    assert by_torch.shape == (128, 128)
    assert np.abs(by_torch.astype(int) - by_onnx.astype(int)).max() <= 1
