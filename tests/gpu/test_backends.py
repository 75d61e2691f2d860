"""GPU backends on the CPU: batching, the exactness split, FP16 fallback, auto selection, typed errors.

The GPU runner is replaced by ONNX Runtime running the very graph TensorRT is given
(:func:`tests.gpu.helpers.ort_runner`), so everything but the device itself is exercised.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("compressai")
pytest.importorskip("onnxruntime")

import mcz  # noqa: E402
from mcz import profiling  # noqa: E402
from mcz.codec import engine  # noqa: E402
from mcz.container import read_container, write_container  # noqa: E402
from mcz.errors import BackendUnavailableError, ChecksumError  # noqa: E402
from mcz.codec.gpu import backends, device, select, tolerance  # noqa: E402
from tests.gpu.helpers import ort_runner  # noqa: E402
from tests.zoo import TINY_LEARNED  # noqa: E402

HYPER = TINY_LEARNED["hyperprior"].id


def _volume() -> np.ndarray:
    """Five 12-bit slices of a real MR (pydicom's MR_small, rescaled), as a volume."""
    import pydicom
    from pydicom.data import get_testdata_file

    pixels = pydicom.dcmread(get_testdata_file("MR_small.dcm")).pixel_array.astype(np.float64)
    base = np.round(pixels / pixels.max() * 4095)
    return np.stack([np.roll(base, 3 * k, axis=1) for k in range(5)]).astype(np.uint16)


@pytest.fixture
def fake_gpu(learned_zoo, monkeypatch):
    """``tensorrt`` / ``cuda`` backends whose GPU runner is ONNX Runtime (FP16 / FP32 graphs); batch sizes seen."""
    calls: list[int] = []

    def fake(codec, backend):
        precision = "fp16" if backend == "tensorrt" else "fp32"
        runner = ort_runner(codec.model.g_s, codec.model.m, precision, calls)
        return backends.GpuBackend(codec.model, runner, 2, backend)

    monkeypatch.setattr(backends, "gpu_backend", fake)
    return calls


def test_a_volume_is_synthesised_in_batches_and_passes_with_the_precisions_tolerance(fake_gpu):
    data = mcz.encode(_volume(), model=HYPER, quality=3, bits_stored=12)
    container = read_container(data)
    reference = engine.decode_container(container)
    for backend in ("tensorrt", "cuda"):
        fake_gpu.clear()
        pixels = engine.decode_container(container, backend=backend)  # latent digest exact, pixels bounded
        assert fake_gpu == [2, 2, 1]  # five slices, batches of two
        window = engine.window_of(container.header)
        limit = tolerance.tolerance(window, tolerance.precision_of(backend))
        assert np.abs(pixels.astype(int) - reference.astype(int)).max() <= limit


def test_a_corrupt_latent_is_refused_before_any_gpu_synthesis(fake_gpu):
    container = read_container(mcz.encode(_volume(), model=HYPER, quality=3, bits_stored=12))
    tile = container.tiles[2]
    payload = bytearray(tile.payload)
    payload[len(payload) // 2] ^= 0x55
    bad = container.tiles[:2] + (type(tile)(tile.frame, tile.index, tile.params, tile.side, bytes(payload)),) \
        + container.tiles[3:]
    corrupt = read_container(write_container(type(container)(container.header, bad, container.metadata)))
    with pytest.raises(ChecksumError, match="entropy-decoded latents"):
        engine.decode_container(corrupt, backend="tensorrt")
    assert fake_gpu == []


def test_the_fp16_tolerance_is_not_granted_to_the_reference_backend(learned_zoo):
    from mcz.codec import pixelcheck
    from mcz.intensity import Intensity

    window = Intensity(dtype="uint16", bits_stored=12, signed=False, low=0.0, high=4095.0)
    assert tolerance.backend_floor("torch", window) == 0.0
    assert tolerance.backend_floor("tensorrt", window) == np.ceil(4e-3 * 4095)
    recon = np.full((1, 16, 16), 1000, np.uint16)
    entry = pixelcheck.record(recon, window, exact=False)
    shifted = recon + 5  # beyond the FP32 tolerance (1 unit), within FP16's (17)
    found = engine.digest(shifted)
    with pytest.raises(ChecksumError):
        pixelcheck.check(shifted, found, engine.digest(recon), entry)
    assert pixelcheck.check(shifted, found, engine.digest(recon), entry,
                            floor=tolerance.backend_floor("tensorrt", window)) == "bounded"
    with pytest.raises(ChecksumError):
        pixelcheck.check(recon + 30, engine.digest(recon + 30), engine.digest(recon), entry,
                         floor=tolerance.backend_floor("tensorrt", window))


def test_a_non_finite_fp16_tile_is_synthesised_again_by_the_fp32_reference(learned_zoo):
    codec = engine.load_codec(HYPER)

    def overflowing(y):
        out = ort_runner(codec.model.g_s, codec.model.m, "fp16")(y)
        out[0, 0, 0, 0] = np.inf  # what FP16 gives a latent far outside the encoder's range
        return out

    gpu = backends.GpuBackend(codec.model, overflowing, 4, "tensorrt")
    rng = np.random.default_rng(0)
    latents = [rng.normal(size=(1, codec.model.m, 2, 2)).astype(np.float32) for _ in range(3)]
    out = gpu.synthesis_batch(latents)
    import torch

    from mcz.codec.learned_coding import TorchBackend

    with torch.inference_mode():
        assert np.array_equal(out[0], TorchBackend(codec.model).synthesis(latents[0]))
    assert gpu.fallbacks == 1 and all(np.isfinite(o).all() for o in out)


def test_hyper_synthesis_stays_on_the_cpu_and_exact(learned_zoo):
    codec = engine.load_codec(HYPER)
    gpu = backends.GpuBackend(codec.model, lambda y: y, 1, "cuda")
    z = np.random.default_rng(1).integers(-20, 20, (1, 8, 2, 2)).astype(np.float32)
    import torch

    from mcz.codec.learned_coding import TorchBackend

    with torch.inference_mode():
        for a, b in zip(gpu.hyper_synthesis(z), TorchBackend(codec.model).hyper_synthesis(z)):
            assert np.array_equal(a, b)


def test_auto_falls_back_to_the_cpu_here_and_says_why(learned_zoo):
    if device.probe_cuda().ok:
        pytest.skip("a CUDA device is present: auto would pick it")
    choice = select.choose(("torch", "onnxruntime", "cuda", "tensorrt"), "hyperprior")
    assert choice.backend == "torch" and "CUDA" in choice.reason and "CPU" in choice.reason
    assert select.choose(("torch",), "wavelet").reason.startswith("the wavelet family has no GPU backend")
    data = mcz.encode(_volume()[:2], model=HYPER, quality=2, bits_stored=12)
    with profiling.recording() as report:
        pixels = mcz.decode(data, backend="auto")
    assert report.notes["backend"] == "torch" and "CUDA" in report.notes["backend_reason"]
    assert np.array_equal(pixels, mcz.decode(data))


@pytest.mark.parametrize("backend", ["cuda", "tensorrt"])
def test_a_missing_gpu_runtime_is_a_typed_error_that_says_what_to_do(learned_zoo, backend):
    if device.probe_cuda().ok and (backend == "cuda" or device.probe_tensorrt().ok):
        pytest.skip(f"the {backend} backend can run here")
    data = mcz.encode(_volume()[:1], model=HYPER, quality=2, bits_stored=12)
    with pytest.raises(BackendUnavailableError, match="found: .*To fix") as info:
        mcz.decode(data, backend=backend)
    assert info.value.exit_code == 5 and "--backend torch" in str(info.value)


def test_gpu_backends_are_refused_for_families_without_a_synthesis_network(seeded_zoo):
    from mcz.errors import UsageError

    data = mcz.encode(_volume()[:1], model="cae-compact", bits_stored=12)
    with pytest.raises(UsageError, match="decodes with the torch backend only"):
        mcz.decode(data, backend="tensorrt")
