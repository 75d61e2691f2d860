"""ONNX export of a learned model's decoder networks, and a decoder backend on ONNX Runtime.

Two graphs per model: ``synthesis.onnx`` (g_s, float) and, for the hyperprior,
``hyper_synthesis.onnx`` (the fixed-point h_s in float32 arithmetic that is
exact by construction, :class:`mcz.codec.fixedpoint.Float32Exact`).  The rANS
decoding itself stays in CompressAI's C++ coder, which is integer arithmetic.

ONNX Runtime's graph optimiser folds constant multiplications into convolution
weights (Conv+Mul fusion), which would change the fixed-point arithmetic, so the
hyper-synthesis session runs with graph optimisations disabled.
"""

from __future__ import annotations

import functools
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from mcz.codec.fixedpoint import Float32Exact
from mcz.errors import require
from mcz.fsutil import atomic_write_bytes

if TYPE_CHECKING:  # pragma: no cover
    from mcz.codec.learned import HyperSynthesis

OPSET = 17


class _HyperSynthesis32(nn.Module):
    def __init__(self, h_s: HyperSynthesis) -> None:
        super().__init__()
        self.up1, self.up2 = Float32Exact(h_s.up1), Float32Exact(h_s.up2)
        self.scale, self.mean = Float32Exact(h_s.scale), Float32Exact(h_s.mean)
        self.z_max = float(h_s.up1.in_max - 1)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.up2(self.up1(z.clamp(-self.z_max, self.z_max)))
        return self.scale(h), self.mean(h)


def _export(module: nn.Module, example: torch.Tensor, outputs: list[str]) -> bytes:
    buffer = io.BytesIO()
    axes = {"input": {2: "rows", 3: "columns"}, **{name: {2: "rows", 3: "columns"} for name in outputs}}
    with torch.no_grad():
        # torch.onnx.export is annotated without file objects, which its dynamo=False exporter writes to.
        torch.onnx.export(module.eval(), (example,), buffer,  # type: ignore[arg-type]
                          dynamo=False, opset_version=OPSET,
                          input_names=["input"], output_names=outputs, dynamic_axes=axes)
    return buffer.getvalue()


def export_graphs(codec) -> dict[str, bytes]:
    """Serialised ONNX graphs of a learned codec's decoder networks, by file name."""
    require("onnx", "export")
    model = codec.model
    graphs = {"synthesis.onnx": _export(model.g_s, torch.zeros(1, model.m, 4, 4), ["output"])}
    if model.hyperprior:
        nh = model.z_model.channels
        graphs["hyper_synthesis.onnx"] = _export(_HyperSynthesis32(model.h_s), torch.zeros(1, nh, 2, 2),
                                                 ["index", "mean"])
    return graphs


def write_export(codec, folder: Path) -> list[Path]:
    """Write the ONNX graphs and a ``model.json`` (id, weights sha256) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in export_graphs(codec).items():
        atomic_write_bytes(folder / name, data, overwrite=True)
        written.append(folder / name)
    info = {"model_id": codec.spec.id, "checkpoint_sha256": codec.checkpoint_sha256, "opset": OPSET,
            "graphs": sorted(p.name for p in written),
            "note": "rANS entropy decoding and the CDF tables stay in mcz/CompressAI; these graphs are the networks"}
    atomic_write_bytes(folder / "model.json", (json.dumps(info, indent=1) + "\n").encode(), overwrite=True)
    return [*written, folder / "model.json"]


class OnnxBackend:
    """Decoder networks on ONNX Runtime (CPU), with fixed threads."""

    def __init__(self, graphs: dict[str, bytes], threads: int = 2) -> None:
        require("onnxruntime", "export")
        import onnxruntime as ort  # lazy: optional extra mcz[export] (onnxruntime)

        def session(data: bytes, optimise: bool):
            options = ort.SessionOptions()
            options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
            if not optimise:  # keep the fixed-point arithmetic exactly as exported
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
            return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])

        self._synthesis = session(graphs["synthesis.onnx"], True)
        hyper = graphs.get("hyper_synthesis.onnx")
        self._hyper = session(hyper, False) if hyper else None

    def hyper_synthesis(self, z_hat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # Decoders call this for hyperprior models only, whose exported graphs include hyper_synthesis.onnx.
        assert self._hyper is not None
        index, mean = self._hyper.run(None, {"input": np.ascontiguousarray(z_hat, np.float32)})
        return index, mean

    def synthesis(self, y_scaled: np.ndarray) -> np.ndarray:
        return self._synthesis.run(None, {"input": np.ascontiguousarray(y_scaled, np.float32)})[0][0, 0]


@functools.lru_cache(maxsize=4)
def _cached(codec) -> OnnxBackend:
    return OnnxBackend(export_graphs(codec))


def onnx_backend(codec) -> OnnxBackend:
    """An ONNX Runtime backend for ``codec`` (graphs exported in memory, cached per codec)."""
    return _cached(codec)
