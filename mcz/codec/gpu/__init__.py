"""GPU decoding of the learned families' synthesis transform (TensorRT, CUDA), and what stays exact.

Only the synthesis ``g_s`` leaves the CPU.  rANS decoding, the integer CDF tables,
the fixed-point hyper-synthesis and the latents stay on the CPU in integer
arithmetic on every backend, so the latent digest is checked exactly everywhere;
the pixels are checked against a per-precision tolerance (:mod:`mcz.codec.gpu.tolerance`).

Modules: :mod:`~mcz.codec.gpu.graphs` (FP32/FP16 ONNX graphs of the synthesis),
:mod:`~mcz.codec.gpu.tolerance`, :mod:`~mcz.codec.gpu.device` (what GPU and runtimes are
there), :mod:`~mcz.codec.gpu.engines` (TensorRT engine build and cache),
:mod:`~mcz.codec.gpu.backends` (the ``cuda`` and ``tensorrt`` decoder backends),
:mod:`~mcz.codec.gpu.select` (``--backend auto``).  Nothing here imports torch or
TensorRT at import time.
"""
