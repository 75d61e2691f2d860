"""The FP16 synthesis graph, measured on the CPU with ONNX Runtime: types, real 12-bit slices, overflow."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

pytest.importorskip("compressai")
ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

from mcz.codec import engine, learned_coding  # noqa: E402
from mcz.codec.latents import LatentDigest  # noqa: E402
from mcz.container import read_container  # noqa: E402
from mcz.codec.gpu import graphs, tolerance  # noqa: E402
from mcz.intensity import from_unit  # noqa: E402
from tests.gpu.helpers import ort_runner  # noqa: E402

CTMR = "hyperprior-compact-ctmr"


def test_fp16_graph_keeps_io_last_layer_and_normalisers_in_fp32():
    model = engine.load_codec(CTMR).model
    graph = onnx.load_from_string(graphs.export_synthesis(model.g_s, model.m, "fp16"))
    float_type = onnx.TensorProto.FLOAT
    assert [i.type.tensor_type.elem_type for i in graph.graph.input] == [float_type]
    assert [o.type.tensor_type.elem_type for o in graph.graph.output] == [float_type]
    types = {t.name: t.data_type for t in graph.graph.initializer}
    half = [n for n, t in types.items() if t == onnx.TensorProto.FLOAT16]
    # three FP16 sub-pixel convolutions (weight + bias); the last one and the GDN parameters stay FP32
    assert len(half) == 6 and sum(t == float_type for t in types.values()) >= 8
    last_conv = [n for n in graph.graph.node if n.op_type == "Conv"][-1]
    assert all(types[name] == float_type for name in last_conv.input[1:])
    # precision is in the graph: the axes TensorRT's profile sets are dynamic
    dims = graph.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in dims] == ["batch", "", "rows", "columns"]


def _real_slice(name: str, crop: slice):
    from pydicom.data import get_testdata_file

    from mcz.io import read_image

    path = get_testdata_file(name, download=False)
    if not path:
        pytest.skip(f"{name} is not installed (pip install pydicom-data==1.0.0)")
    image = read_image(path)
    return image, crop


@pytest.mark.parametrize("name, crop, bits", [("MR2_UNCR.dcm", np.s_[:, 256:768, 256:768], 12),
                                              ("693_UNCR.dcm", np.s_[:, :, :], None)])
def test_fp16_graph_stays_within_its_recorded_tolerance_on_real_ct_and_mr(name, crop, bits):
    import dataclasses

    import mcz

    image, _ = _real_slice(name, crop)
    pixels = np.ascontiguousarray(image.pixels[crop])
    if bits is not None:
        assert image.intensity.bits_stored == bits
    codec = engine.load_codec(CTMR)
    model = codec.model
    image = dataclasses.replace(image, pixels=pixels, original_shape=pixels.shape[1:])
    data = mcz.encode(image, model=CTMR, quality=8, max_ratio=None)
    container = read_container(data)
    window = engine.window_of(container.header)
    y = learned_coding.decode_latent(model, learned_coding.TorchBackend(model), container.tiles[0],
                                     (512, 512), LatentDigest())
    y_scaled = (y * learned_coding.inverse_gain(model, 7)).astype(np.float32)
    with torch.inference_mode():
        reference = model.g_s(torch.from_numpy(y_scaled)).numpy()[0, 0]
    fp16 = ort_runner(model.g_s, model.m, "fp16")(y_scaled)[0, 0]
    fp32 = ort_runner(model.g_s, model.m, "fp32")(y_scaled)[0, 0]
    stored = {p: np.abs(from_unit(out, window).astype(np.int64) - from_unit(reference, window).astype(np.int64)).max()
              for p, out in (("fp16", fp16), ("fp32", fp32))}
    # in stored units, the quantity the pixel check bounds
    assert stored["fp16"] <= tolerance.tolerance(window, "fp16")
    assert stored["fp32"] <= tolerance.tolerance(window, "fp32")
    # and FP16 is really coarser than FP32 (the graph is not silently FP32)
    assert np.abs(fp16 - reference).max() > 10 * np.abs(fp32 - reference).max()


def _stripes(model) -> np.ndarray:
    """The latent of 4-pixel stripes at the top level: the largest latents and FP16 error found (docs/gpu.md)."""
    image = ((np.arange(512) // 4) % 2 * np.ones((512, 1))).astype(np.float32)
    with torch.inference_mode():
        y = learned_coding.TorchBackend(model).analyse(image, model.levels - 1)
        return (torch.round(y) * model.inverse_gain(model.levels - 1)).numpy()


@pytest.mark.parametrize("model_id", [CTMR, "hyperprior-compact", "factorized-compact"])
def test_fp16_graph_is_finite_and_within_tolerance_on_the_encoders_extreme_latents(model_id):
    model = engine.load_codec(model_id).model
    y = _stripes(model)
    with torch.inference_mode():
        reference = model.g_s(torch.from_numpy(y)).numpy()
    out = ort_runner(model.g_s, model.m, "fp16")(y)
    assert np.isfinite(out).all()
    assert np.abs(out - reference).max() <= tolerance.PRECISION_NOISE["fp16"]


def test_inverse_gdn_square_overflows_in_plain_fp16_but_not_in_the_fp32_normaliser():
    from compressai.layers import GDN

    gdn = GDN(4, inverse=True).eval()
    x = torch.full((1, 4, 2, 2), 300.0)  # 300**2 = 90000 > 65504, FP16's largest value
    with torch.inference_mode():
        plain = copy.deepcopy(gdn).half()(x.half())
        mixed = graphs.synthesis_module(torch.nn.Sequential(torch.nn.Identity(), gdn, torch.nn.Identity()), "fp16")
        guarded = mixed.body[1](x.half())
    assert not torch.isfinite(plain).all()
    assert torch.isfinite(guarded).all()


def test_unknown_precision_is_a_usage_error():
    from mcz.errors import UsageError

    with pytest.raises(UsageError, match="precision 'int8'"):
        graphs.check_precision("int8")
