"""On a GPU only (``-m gpu``): engines for every shipped learned model, decodes within the recorded tolerance.

Each test skips, saying what is missing, where the runtime is not there (CI and the
development machine have no GPU; bench/gpu_check.py runs the same checks with timings).
"""

from __future__ import annotations

import numpy as np
import pytest

from mcz.codec.gpu import device

pytestmark = pytest.mark.gpu
LEARNED = ["factorized-compact", "hyperprior-compact", "hyperprior-compact-ctmr"]


def _need(backend: str) -> None:
    cuda = device.probe_cuda()
    if not cuda.ok:
        pytest.skip(f"needs a CUDA device: {cuda.found}")
    if backend.startswith("tensorrt"):
        trt = device.probe_tensorrt()
        if not trt.ok:
            pytest.skip(f"needs TensorRT (pip install 'mcz[gpu]'): {trt.found}")


def _mr_slice() -> np.ndarray:
    from pydicom.data import get_testdata_file

    from mcz.io import read_image

    path = get_testdata_file("MR2_UNCR.dcm", download=False)
    if not path:
        pytest.skip("MR2_UNCR.dcm is not installed (pip install pydicom-data==1.0.0)")
    return read_image(path).pixels[0, 256:768, 256:768]


@pytest.mark.parametrize("model", LEARNED)
@pytest.mark.parametrize("backend", ["cuda", "tensorrt", "tensorrt-fp32"])
def test_gpu_decode_matches_the_cpu_within_the_precisions_tolerance(model, backend, tmp_path, monkeypatch):
    import mcz
    from mcz.codec import engine
    from mcz.container import read_container
    from mcz.codec.gpu import tolerance

    _need(backend)
    monkeypatch.setenv("MCZ_ENGINE_CACHE", str(tmp_path))
    data = mcz.encode(_mr_slice(), model=model, bits_stored=12)
    container = read_container(data)
    cpu = engine.decode_container(container)
    gpu = engine.decode_container(container, backend=backend)  # latent digest exact, pixels bounded
    window = engine.window_of(container.header)
    limit = tolerance.tolerance(window, tolerance.precision_of(backend))
    assert np.abs(gpu.astype(int) - cpu.astype(int)).max() <= limit


@pytest.mark.parametrize("model", LEARNED)
def test_engine_build_caches_on_this_gpu(model, tmp_path):
    from mcz.codec import engine
    from mcz.codec.gpu import engines

    _need("tensorrt")
    codec = engine.load_codec(model)
    path, built = engines.build_engine(codec, "fp16", folder=tmp_path)
    assert built and path.stat().st_size > 0
    assert engines.build_engine(codec, "fp16", folder=tmp_path) == (path, False)
