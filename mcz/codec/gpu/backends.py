"""The ``cuda`` and ``tensorrt`` decoder backends: the synthesis on the GPU, everything else on the CPU.

A :class:`GpuBackend` fulfils :class:`mcz.codec.learned_coding.Backend`: its
``hyper_synthesis`` is the CPU's fixed-point PyTorch one (integer-valued, exact: it
decides the entropy decoder's CDFs), its ``synthesis`` runs on the GPU, and
``synthesis_batch`` synthesises several tiles (a volume's slices) in one call.

* ``cuda``: the model's PyTorch ``g_s`` in FP32 on the current CUDA device, with
  cuDNN's TF32 off (TF32 would round every convolution to a 10-bit mantissa);
* ``tensorrt`` / ``tensorrt-fp32``: a TensorRT engine of the FP16 (or FP32) graph
  of :mod:`mcz.codec.gpu.graphs`, built and cached on first use (:mod:`mcz.codec.gpu.engines`).

An FP16 tile whose output is not finite (only a latent far outside anything an
encoder of the model produces drives FP16 past its range) is synthesised again by the
FP32 CPU reference instead, and counted in :attr:`GpuBackend.fallbacks`.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Sequence

import numpy as np

from mcz.codec.gpu import device, engines
from mcz.errors import ModelError

#: Runs one batch: float32 (N, m, h, w) -> float32 (N, 1, 16h, 16w).
BatchRunner = Callable[[np.ndarray], np.ndarray]
GPU_BACKENDS = ("cuda", "tensorrt", "tensorrt-fp32")


class GpuBackend:
    """Hyper-synthesis on the CPU (exact), synthesis through ``runner`` in batches of at most ``max_batch``.

    Parameters
    ----------
    model : mcz.codec.learned.LearnedCodec
        The model; its CPU ``h_s`` and ``g_s`` serve the exact hyper-synthesis and the FP32 fallback.
    runner : BatchRunner
        The GPU synthesis of one batch.
    max_batch : int
        Largest batch ``runner`` accepts.
    name : str
        The backend's name, for reports.
    """

    def __init__(self, model, runner: BatchRunner, max_batch: int, name: str) -> None:
        # lazy: keeps torch (mcz.codec.learned_coding) out of import mcz.codec.gpu.backends
        from mcz.codec.learned_coding import TorchBackend

        self.model, self.runner, self.max_batch, self.name = model, runner, int(max_batch), name
        self._cpu = TorchBackend(model)
        #: Tiles whose GPU output was not finite and were synthesised by the CPU reference.
        self.fallbacks = 0

    def hyper_synthesis(self, z_hat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The fixed-point hyper-synthesis, on the CPU (its integers decide the entropy decoding)."""
        import torch  # lazy: keeps torch out of import mcz.codec.gpu.backends

        with torch.inference_mode():
            return self._cpu.hyper_synthesis(z_hat)

    def synthesis(self, y_scaled: np.ndarray) -> np.ndarray:
        """One gain-corrected latent (1, m, h, w) -> reconstruction (rows, cols)."""
        return self.synthesis_batch([y_scaled])[0]

    def synthesis_batch(self, latents: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Latents (1, m, h, w) of equal shape -> reconstructions (rows, cols), in batches of ``max_batch``."""
        out: list[np.ndarray] = []
        for start in range(0, len(latents), self.max_batch):
            chunk = np.concatenate([np.asarray(y, np.float32) for y in latents[start:start + self.max_batch]])
            for y, x in zip(chunk, self.runner(chunk)):
                out.append(x[0] if np.isfinite(x).all() else self._fallback(y))
        return out

    def _fallback(self, y: np.ndarray) -> np.ndarray:
        import torch  # lazy: keeps torch out of import mcz.codec.gpu.backends

        self.fallbacks += 1
        with torch.inference_mode():
            return self._cpu.synthesis(np.ascontiguousarray(y[None], np.float32))


def cuda_runner(g_s) -> BatchRunner:
    """A :data:`BatchRunner` of a copy of ``g_s`` on the current CUDA device, FP32, TF32 off."""
    import torch  # lazy: keeps torch out of import mcz.codec.gpu.backends

    net = copy.deepcopy(g_s).float().cuda().eval()

    def run(y: np.ndarray) -> np.ndarray:
        with torch.inference_mode(), torch.backends.cudnn.flags(enabled=True, benchmark=False,
                                                                deterministic=False, allow_tf32=False):
            return net(torch.from_numpy(y).cuda()).float().cpu().numpy()

    return run


def tensorrt_runner(trt, engine_bytes: bytes) -> BatchRunner:
    """A :data:`BatchRunner` of a serialised TensorRT engine (tensors in torch's CUDA memory)."""
    import torch  # lazy: keeps torch out of import mcz.codec.gpu.backends

    logger = trt.Logger(trt.Logger.WARNING)
    engine = trt.Runtime(logger).deserialize_cuda_engine(engine_bytes)
    if engine is None:
        raise ModelError("TensorRT could not load the cached engine (built by another TensorRT or GPU?); "
                         "rebuild it with `mcz engine build MODEL --rebuild`")
    context = engine.create_execution_context()

    def run(y: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(y, np.float32)).cuda()
        context.set_input_shape("input", tuple(x.shape))
        out = torch.empty(tuple(context.get_tensor_shape("output")), dtype=torch.float32, device="cuda")
        context.set_tensor_address("input", x.data_ptr())
        context.set_tensor_address("output", out.data_ptr())
        stream = torch.cuda.current_stream()
        if not context.execute_async_v3(stream.cuda_stream):
            raise RuntimeError("TensorRT execute_async_v3 failed (see its log)")
        return out.cpu().numpy()  # .cpu() waits for the stream

    return run


@functools.lru_cache(maxsize=8)
def gpu_backend(codec, backend: str) -> GpuBackend:
    """The :class:`GpuBackend` ``backend`` (one of :data:`GPU_BACKENDS`) for ``codec``, cached per codec.

    Raises
    ------
    BackendUnavailableError
        No CUDA device, or (tensorrt) no TensorRT.
    """
    if backend == "cuda":
        device.require_cuda()
        return GpuBackend(codec.model, cuda_runner(codec.model.g_s), engines.DEFAULT_MAX_BATCH, backend)
    precision = "fp32" if backend == "tensorrt-fp32" else "fp16"
    trt = device.require_tensorrt()
    path, _ = engines.build_engine(codec, precision)
    return GpuBackend(codec.model, tensorrt_runner(trt, path.read_bytes()), engines.DEFAULT_MAX_BATCH, backend)
