"""Shared by the GPU tests: an ONNX Runtime stand-in for a GPU runner, and real slices' latents."""

from __future__ import annotations

import numpy as np

from mcz.codec.gpu.backends import BatchRunner


def ort_runner(g_s, m: int, precision: str, calls: list | None = None) -> BatchRunner:
    """A :data:`~mcz.codec.gpu.backends.BatchRunner` of the ``precision`` graph in ONNX Runtime (CPU).

    It runs the very graph TensorRT is given, so the batch, fallback and tolerance logic is
    exercised without a GPU; ``calls`` collects each batch's size.
    """
    import onnxruntime as ort

    from mcz.codec.gpu.graphs import export_synthesis

    session = ort.InferenceSession(export_synthesis(g_s, m, precision), providers=["CPUExecutionProvider"])

    def run(y: np.ndarray) -> np.ndarray:
        if calls is not None:
            calls.append(y.shape[0])
        return session.run(None, {"input": np.ascontiguousarray(y, np.float32)})[0]

    return run
