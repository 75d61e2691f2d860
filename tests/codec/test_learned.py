"""Learned-entropy-model families: round trips, exact cross-backend decode, corrupt payloads."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from pydicom.data import get_testdata_file

import mcz
from mcz import digests
from mcz.codec import engine
from mcz.codec.fixedpoint import EXACT_LIMIT, FixedPointConv
from mcz.container import read_container, write_container
from mcz.errors import ChecksumError, FormatError, UsageError
from tests.zoo import TINY_LEARNED

pytest.importorskip("compressai")

HYPER, FACTORIZED = TINY_LEARNED["hyperprior"].id, TINY_LEARNED["factorized"].id


def _mr_8bit() -> np.ndarray:
    """A real MR slice (pydicom's MR_small, 16-bit) scaled to 8 bits."""
    import pydicom

    pixels = pydicom.dcmread(get_testdata_file("MR_small.dcm")).pixel_array.astype(np.float64)
    return np.round(pixels / pixels.max() * 255).astype(np.uint8)


@pytest.mark.parametrize("model_id", [HYPER, FACTORIZED])
def test_each_family_round_trips_a_real_ct_and_records_its_latents(learned_zoo, model_id):
    data = mcz.encode(get_testdata_file("CT_small.dcm"), model=model_id, quality=2)
    container = read_container(data)
    pixels = mcz.decode(data)  # checks the latent digest and the pixel digest
    assert pixels.shape == (128, 128) and pixels.dtype == np.int16
    assert container.header.quantiser["method"] == "gain-units" and container.header.quantiser["level"] == 2
    assert container.header.extra["latent_digest"].startswith("sha256:")
    assert container.header.digest == digests.shorten(engine.digest(pixels[None]))


def test_higher_quality_spends_more_bits_even_untrained(learned_zoo):
    image = _mr_8bit()
    # the gains start log-spaced (0.5 .. 4): a finer quantiser codes more symbols
    sizes = [len(mcz.encode(image, model=HYPER, quality=q)) for q in (1, 3)]
    assert sizes[0] < sizes[1]


@pytest.mark.parametrize("model_id", [HYPER, FACTORIZED])
def test_encode_in_pytorch_decode_in_onnx_runtime(learned_zoo, model_id):
    pytest.importorskip("onnxruntime")
    data = mcz.encode(_mr_8bit(), model=model_id, quality=3)
    container = read_container(data)
    by_torch = engine.decode_container(container)
    # The ORT decode re-derives every scale index and mean with its own float32
    # arithmetic and raises ChecksumError unless the entropy-decoded latents are
    # bit-identical to the encoder's.
    by_onnx = engine.decode_container(container, backend="onnxruntime")
    assert np.abs(by_torch.astype(int) - by_onnx.astype(int)).max() <= 1


def test_fixed_point_hyper_synthesis_is_identical_in_onnx_runtime_on_extreme_inputs(learned_zoo):
    ort = pytest.importorskip("onnxruntime")
    from mcz.codec.onnx_backend import OnnxBackend, export_graphs

    codec = engine.load_codec(HYPER)
    backend = OnnxBackend(export_graphs(codec))
    rng = np.random.default_rng(0)
    z = rng.integers(-300, 300, (1, 8, 5, 7)).astype(np.float32)  # beyond the clamp on purpose
    with torch.inference_mode():
        index, mean = codec.model.h_s(torch.from_numpy(z))
    onnx_index, onnx_mean = backend.hyper_synthesis(z)
    assert ort is not None
    assert np.array_equal(index.numpy(), onnx_index) and np.array_equal(mean.numpy(), onnx_mean)


def test_frozen_layer_matches_its_training_arithmetic_and_bounds_its_sums():
    torch.manual_seed(0)
    layer = FixedPointConv(6, 5, 3, 2, True, in_max=255, in_scale=1 / 16, out_low=0, out_high=255, out_scale=1 / 16)
    codes = torch.randint(0, 256, (2, 6, 4, 5)).float()
    layer.eval()
    simulated = layer(codes)
    layer.freeze()
    assert layer.accumulator_bound() < EXACT_LIMIT
    assert torch.equal(layer(codes), simulated)


def test_corrupt_entropy_coded_payload_raises_a_typed_error(learned_zoo):
    data = mcz.encode(_mr_8bit(), model=HYPER, quality=3)
    container = read_container(data)
    tile = container.tiles[0]
    flipped = bytearray(tile.payload)
    for i in range(len(flipped) // 2, len(flipped)):
        flipped[i] ^= 0xA5
    # re-written with valid chunk CRCs: only the entropy decoder can notice
    forged = dataclasses.replace(container, tiles=(dataclasses.replace(tile, payload=bytes(flipped)),))
    with pytest.raises(ChecksumError, match="latents"):
        mcz.decode(write_container(forged))


def test_truncated_entropy_string_raises_instead_of_reading_past_the_buffer(learned_zoo):
    data = mcz.encode(_mr_8bit(), model=FACTORIZED, quality=3)
    container = read_container(data)
    tile = container.tiles[0]
    forged = dataclasses.replace(container, tiles=(dataclasses.replace(tile, payload=tile.payload[:3]),))
    with pytest.raises(ChecksumError):
        mcz.decode(write_container(forged))


def test_inconsistent_side_information_is_a_format_error(learned_zoo):
    data = mcz.encode(_mr_8bit(), model=HYPER, quality=1)
    container = read_container(data)
    tile = container.tiles[0]
    forged = dataclasses.replace(container, tiles=(dataclasses.replace(tile, side=tile.side[:-1] + b"\xff"),))
    with pytest.raises(FormatError, match="hyper"):
        mcz.decode(write_container(forged))


def test_unknown_backend_and_cae_on_onnx_are_usage_errors(seeded_zoo):
    container = read_container(mcz.encode(_mr_8bit(), model="cae-compact"))
    with pytest.raises(UsageError, match="torch backend only"):
        engine.decode_container(container, backend="onnxruntime")
    with pytest.raises(UsageError, match="not known"):
        engine.decode_container(container, backend="tensorflow")


def test_a_bpp_target_picks_the_highest_fitting_rate_level_of_a_learned_model(learned_zoo):
    from mcz.io import from_array
    from mcz.ratecontrol import Target, encode_to_target

    image = from_array(_mr_8bit(), bits_stored=8)
    codec = engine.load_codec(HYPER)
    pixels = image.pixels.size
    bpps = [8 * len(engine.encode_image(image, codec, quality=q)) / pixels for q in (1, 2, 3)]
    # Levels 1 and 2 of this tiny untrained model differ by about a byte (either may be larger,
    # with the header's compressed size), level 3 is clearly larger.
    assert max(bpps[:2]) < bpps[2]
    target = (max(bpps[:2]) + bpps[2]) / 2  # levels 1 and 2 fit, level 3 does not
    result = encode_to_target(image, codec, Target("bpp", target))
    assert result.met and result.quality == 2 and result.bpp == pytest.approx(bpps[1])


def test_the_registry_pads_to_the_strides_the_networks_have():
    from mcz.codec.learned import HYPER_STRIDE, LATENT_STRIDE

    assert TINY_LEARNED["hyperprior"].downsampling == HYPER_STRIDE
    assert TINY_LEARNED["factorized"].downsampling == LATENT_STRIDE


def test_the_torch_free_strides_of_the_learned_families_are_the_networks():
    from mcz.codec import learned
    from mcz.codec.families import family_for

    assert family_for("factorized").downsampling({}) == learned.LATENT_STRIDE
    assert family_for("hyperprior").downsampling({}) == learned.HYPER_STRIDE
