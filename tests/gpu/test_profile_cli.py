"""``mcz decode --profile`` and ``--backend auto`` on the CPU, for a learned and the default (wavelet) model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mcz.cli.main import main
from mcz.codec.gpu import device


def _slice(tmp_path):
    from pydicom.data import get_testdata_file

    path = tmp_path / "ct.npy"
    import pydicom

    np.save(path, pydicom.dcmread(get_testdata_file("CT_small.dcm")).pixel_array.astype(np.int16))
    return path


@pytest.mark.parametrize("model", ["wavelet-ctx", "learned"])
def test_profile_reports_every_stage_in_json(tmp_path, capsys, request, model):
    if model == "learned":
        request.getfixturevalue("learned_zoo")
        from tests.zoo import TINY_LEARNED

        model = TINY_LEARNED["hyperprior"].id
    coded = tmp_path / "ct.mcz"
    assert main(["--quiet", "encode", str(_slice(tmp_path)), "-m", model, "-o", str(coded)]) == 0
    capsys.readouterr()
    assert main(["--quiet", "decode", str(coded), "-o", str(tmp_path / "o.npy"), "--profile", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    ms = result["profile"]["ms"]
    assert list(ms) == ["read", "entropy", "synthesis", "digest", "write"]
    assert all(v >= 0 for v in ms.values()) and ms["entropy"] > 0 and ms["synthesis"] > 0
    assert result["profile"]["backend"] == "torch"


def test_auto_says_which_backend_it_chose_and_why(tmp_path, capsys):
    if device.probe_cuda().ok:
        pytest.skip("a CUDA device is present")
    coded = tmp_path / "ct.mcz"
    assert main(["--quiet", "encode", str(_slice(tmp_path)), "-o", str(coded)]) == 0
    assert main(["--quiet", "decode", str(coded), "-o", str(tmp_path / "o.npy"), "--backend", "auto",
                 "--profile"]) == 0
    err = capsys.readouterr().err
    assert "backend torch (auto: the wavelet family has no GPU backend" in err
    assert "profile: read" in err and "synthesis" in err


def test_engine_status_reports_both_runtimes(capsys):
    assert main(["engine", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["cuda"]["ok"] == device.probe_cuda().ok
    assert status["auto"]["backend"] in ("torch", "cuda", "tensorrt") and status["auto"]["reason"]
