"""The pixel tolerance of each decoder backend: exact on the reference, bounded per precision elsewhere.

The latent digest is checked exactly on every backend (integer arithmetic on the CPU).
The pixels of a float-synthesis file are checked as :mod:`mcz.codec.pixelcheck` says,
with the file's recorded tolerance (float32 noise between machines and threads) or, on a
backend whose precision is coarser, that precision's bound, whichever is larger.

Measured (``tests/gpu/test_fp16_graph.py``; docs/gpu.md): the
FP16 graph of :mod:`mcz.codec.gpu.graphs` (in ONNX Runtime) differs from the FP32 synthesis by at most
3.9e-4 of the coding window on a real 12-bit MR and a 14-bit CT (1 stored unit each) and 1.2e-3
on adversarial images (4-pixel stripes, the shipped models' worst case found); the bound below
leaves a margin of 3.  TensorRT's FP16 kernels are measured by ``bench/gpu_check.py``.
"""

from __future__ import annotations

import math

from mcz.codec.pixelcheck import SYNTHESIS_NOISE
from mcz.errors import UsageError
from mcz.intensity import Intensity

#: Largest difference from the FP32 reference synthesis, in units of the coding window ([0, 1]).
PRECISION_NOISE = {"fp32": SYNTHESIS_NOISE, "fp16": 4e-3}
#: The precision each decoder backend synthesises in (``tensorrt`` is the FP16 engine).
BACKEND_PRECISION = {"torch": "fp32", "onnxruntime": "fp32", "cuda": "fp32", "tensorrt": "fp16",
                     "tensorrt-fp32": "fp32"}
#: The backend whose arithmetic is the encoder's: a matching pixel digest is expected there.
REFERENCE_BACKEND = "torch"


def precision_of(backend: str) -> str:
    """The synthesis precision of ``backend`` (UsageError for an unknown backend)."""
    try:
        return BACKEND_PRECISION[backend]
    except KeyError:
        raise UsageError(f"decode backend {backend!r} is not known; expected one of "
                         f"{tuple(BACKEND_PRECISION)}") from None


def tolerance(window: Intensity, precision: str) -> float:
    """Largest per-pixel difference in stored units that ``precision`` may cause in ``window``.

    Parameters
    ----------
    window : Intensity
        The file's coding window.
    precision : {"fp32", "fp16"}

    Returns
    -------
    float
        ``PRECISION_NOISE[precision]`` times the window's width; rounded up to a whole
        unit, at least 1, for integer images (as :func:`mcz.codec.pixelcheck.tolerance`).
    """
    if precision not in PRECISION_NOISE:
        raise UsageError(f"precision {precision!r} is not known; expected one of {tuple(PRECISION_NOISE)}")
    spread = PRECISION_NOISE[precision] * (window.high - window.low)
    return spread if window.is_float else float(max(1, math.ceil(spread)))


def backend_floor(backend: str, window: Intensity) -> float:
    """The tolerance a decode on ``backend`` is checked with at least (0 on FP32 backends: the file's own)."""
    precision = precision_of(backend)
    return 0.0 if precision == "fp32" else tolerance(window, precision)
