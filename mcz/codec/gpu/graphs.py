"""ONNX graphs of a learned model's synthesis transform for GPU runtimes, in FP32 or FP16.

TensorRT 10/11 build *strongly typed* networks: every tensor's type is the one the
ONNX graph gives it, and the builder's old FP16 flag is gone (TensorRT 11) or
ignored (strongly typed 10.x).  So precision is decided here, in the graph:

* ``fp32``: the synthesis as :mod:`mcz.codec.onnx_backend` exports it, with a
  dynamic batch axis (a volume's slices are synthesised as one batch).
* ``fp16``: FP32 input and output; the sub-pixel convolutions of every stage but
  the last run in FP16; each inverse GDN computes its normaliser
  ``sqrt(beta + gamma * x**2)`` in FP32, because ``x**2`` leaves FP16's range
  (65504) as soon as ``|x| > 256``; the last stage (convolution and pixel
  shuffle) and the output are FP32, because FP16's spacing in [0.5, 1) is
  ``2**-11``, coarser than one level of a 12-bit image (``2**-12``).

We export from PyTorch ourselves instead of converting an FP32 graph afterwards
(onnxconverter-common, ModelOpt AutoCast): the casts sit exactly where the
reasoning above puts them, and the graph has no dependency beyond torch and onnx.
"""

from __future__ import annotations

import copy
import io
from typing import Literal

from mcz.errors import UsageError, require

Precision = Literal["fp32", "fp16"]
PRECISIONS: tuple[str, ...] = ("fp32", "fp16")
#: ONNX opset of the exported graphs (TensorRT 10.x and 11 parse it; the CPU export uses the same).
OPSET = 17


def check_precision(precision: str) -> str:
    """``precision``, refused (UsageError) unless it is one of :data:`PRECISIONS`."""
    if precision not in PRECISIONS:
        raise UsageError(f"precision {precision!r} is not known; expected one of {PRECISIONS}")
    return precision


def synthesis_module(g_s, precision: str):
    """The module exported for ``precision``: ``g_s`` itself (fp32) or its mixed FP16 form.

    Parameters
    ----------
    g_s : torch.nn.Sequential
        The model's synthesis: sub-pixel stages with inverse GDN between them, the last stage last.
    precision : {"fp32", "fp16"}

    Returns
    -------
    torch.nn.Module
        FP32 in and out either way; the caller's ``g_s`` is not modified (fp16 works on a copy).
    """
    # lazy: keeps compressai, torch out of import mcz.codec.gpu.graphs
    import torch
    from compressai.layers import GDN
    from torch import nn

    check_precision(precision)
    if precision == "fp32":
        return g_s

    class Fp32Norm(nn.Module):
        """An inverse GDN evaluated in FP32 between FP16 layers (x**2 overflows FP16 above 256)."""

        def __init__(self, gdn: nn.Module) -> None:
            super().__init__()
            self.gdn = gdn

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.gdn(x.float()).half()

    class MixedSynthesis(nn.Module):
        """FP32 input -> FP16 body (FP32 normalisers) -> FP32 last stage and output."""

        def __init__(self, body: nn.Sequential, last: nn.Module) -> None:
            super().__init__()
            self.body, self.last = body, last

        def forward(self, y: torch.Tensor) -> torch.Tensor:
            return self.last(self.body(y.half()).float())

    layers = copy.deepcopy(list(g_s))
    body = [Fp32Norm(layer.float()) if isinstance(layer, GDN) else layer.half() for layer in layers[:-1]]
    return MixedSynthesis(nn.Sequential(*body), layers[-1].float()).eval()


def export_synthesis(g_s, m: int, precision: str = "fp32") -> bytes:
    """Serialised ONNX graph of ``g_s`` at ``precision``: input ``input`` (N, m, h, w) FP32, output ``output``.

    The batch, rows and columns axes are dynamic.  FP16 layers are traced on the CPU
    (PyTorch runs FP16 convolutions there), so the export needs no GPU.
    """
    require("onnx", "export")
    import torch  # lazy: keeps torch out of import mcz.codec.gpu.graphs

    module = synthesis_module(g_s, precision)
    buffer = io.BytesIO()
    axes = {name: {0: "batch", 2: "rows", 3: "columns"} for name in ("input", "output")}
    with torch.no_grad():
        # torch.onnx.export is annotated without file objects, which its dynamo=False exporter writes to.
        torch.onnx.export(module, (torch.zeros(1, m, 4, 4),), buffer,  # type: ignore[arg-type]
                          dynamo=False, opset_version=OPSET,
                          input_names=["input"], output_names=["output"], dynamic_axes=axes)
    return buffer.getvalue()


def graph_types(data: bytes) -> dict[str, int]:
    """How many tensors of each ONNX element type the graph's initializers hold, e.g. ``{"FLOAT16": 6}``."""
    onnx = require("onnx", "export")
    model = onnx.load_from_string(data)
    counts: dict[str, int] = {}
    for tensor in model.graph.initializer:
        name = onnx.TensorProto.DataType.Name(tensor.data_type)
        counts[name] = counts.get(name, 0) + 1
    return counts
