"""``--backend auto``: the fastest backend that can run here, and why it was chosen.

The order is TensorRT (FP16 engine), then CUDA (PyTorch FP32 on the GPU), then the CPU
reference (``torch``): the expected speed order on one GPU (docs/gpu.md); ``mcz bench
--backend`` measures it.  A family without a synthesis network (wavelet, cae,
near-lossless) always decodes on the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

from mcz.codec.gpu import device
from mcz.codec.gpu.backends import GPU_BACKENDS

AUTO = "auto"


@dataclass(frozen=True)
class Choice:
    """The backend ``auto`` picked, and the reason in one sentence."""

    backend: str
    reason: str


def choose(backends: tuple[str, ...], family: str) -> Choice:
    """The backend ``auto`` resolves to for a family that runs on ``backends`` (its first is the CPU reference).

    Parameters
    ----------
    backends : tuple of str
        :attr:`mcz.codec.families.base.ModelFamily.backends` of the file's family.
    family : str
        The family's name, for the reason.
    """
    reference = backends[0]
    if not any(b in GPU_BACKENDS for b in backends):
        return Choice(reference, f"the {family} family has no GPU backend; decoding on the CPU ({reference})")
    trt, cuda = device.probe_tensorrt(), device.probe_cuda()
    if trt.ok and cuda.ok and "tensorrt" in backends:
        return Choice("tensorrt", f"{trt.found} on {cuda.found}: FP16 engine")
    if cuda.ok and "cuda" in backends:
        return Choice("cuda", f"CUDA on {cuda.found} (TensorRT unavailable: {trt.found})")
    return Choice(reference, f"no GPU backend can run: {cuda.found}; decoding on the CPU ({reference})")
