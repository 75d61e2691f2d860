"""The wavelet-packet tile mode: exact round trips, the encoder's choice, hostile tiles."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

pytest.importorskip("compressai")

from mcz.codec.wavelet import coder, lifting, packet, tiles  # noqa: E402
from mcz.errors import FormatError  # noqa: E402
from tests.hardening import mutate  # noqa: E402


@pytest.fixture(scope="module")
def shipped():
    from mcz.codec.engine import load_codec
    from mcz.codec.families.wavelet import tables

    return tables(load_codec("wavelet-ctx"))


_ct_like = mutate.ct_like


@pytest.mark.parametrize("shape", [(32, 32), (45, 120), (97, 64)])
@pytest.mark.parametrize("quality", [16, 40])
@pytest.mark.parametrize("mask", [1, 2, 4, 5, 7])
def test_packet_tile_decodes_to_the_encoders_reconstruction(shipped, shape, quality, mask):
    unit = _ct_like(max(shape))[: shape[0], : shape[1]]
    step = coder.step_size(quality, 1.0)
    chunk, recon, symbols = packet.encode(shipped, unit, step, 0, 0, force_mask=mask)
    assert chunk.params == packet.params(mask) and packet.is_packet(chunk.params)
    decoded, decoded_symbols = tiles.decode_tile(shipped, chunk, shape, quality, 1.0)
    assert np.array_equal(decoded, recon.astype(np.float32))
    split = bin(mask).count("1")
    assert len(symbols) == len(decoded_symbols) == 1 + 3 * (lifting.levels_for(*shape) - 1) + 3 + 3 * split
    assert all(np.array_equal(a, b) for a, b in zip(symbols, decoded_symbols))
    # Every coefficient is coded exactly once: the children hold as many symbols as the bands they split.
    assert sum(s.size for s in symbols) == unit.size


def test_the_packet_split_is_invertible():
    x = np.random.default_rng(3).random((45, 77))
    levels = lifting.levels_for(*x.shape)
    split = packet.normalised(x, levels, 1.0)
    gains = lifting.band_gains(levels)
    bands = [split.coarse[0] / np.sqrt(gains[0])]
    for depth in range(1, levels):
        bands.append(tuple(split.coarse[depth][o] / np.sqrt(gains[depth][o]) for o in range(3)))
    finest = []
    for o in range(3):
        kids = packet.children(split.finest[o], gains[levels][o], 1.0)
        parts = [c / np.sqrt(g) for c, g in zip(kids, split.child_gains[o])]
        finest.append(lifting.inverse([parts[0], tuple(parts[1:])]))
        assert np.abs(finest[-1] - split.finest[o] / np.sqrt(gains[levels][o])).max() < 1e-12
    bands.append(tuple(finest))
    assert np.abs(lifting.inverse(bands) - x).max() < 1e-12


def test_each_orientation_is_split_only_where_that_costs_less(shipped):
    # Greedy in coding order: every forced mask that differs in one orientation costs at least as much
    # (measured by the coder's own squared error + kappa * bits).
    unit, quality = _ct_like(128), 32
    step = coder.step_size(quality, 1.0)
    chunk, _, _ = packet.encode(shipped, unit, step, 0, 0)
    chosen = int(chunk.params[1])
    assert 1 <= chosen <= 7
    best = tiles.cost(shipped, packet.encode(shipped, unit, step, 0, 0, force_mask=chosen), unit, step)
    for o in range(3):
        other = chosen ^ (1 << o)
        if other and o == 2:  # flipping the last orientation changes nothing before it: a fair check
            assert tiles.cost(shipped, packet.encode(shipped, unit, step, 0, 0, force_mask=other), unit, step) >= best * 0.999


@pytest.mark.parametrize("image", ["ct-like", "smooth"])
def test_without_a_split_the_tile_is_the_dyadic_one_byte_for_byte(shipped, image):
    rows, cols = np.mgrid[0:128, 0:128]
    unit = _ct_like(128) if image == "ct-like" else 0.3 + 0.4 * np.sin(rows / 9.0) * np.cos(cols / 13.0)
    step = coder.step_size(32, 1.0)
    dyadic = coder.encode_wavelet(shipped, unit, 32, 1.0, 0, 0)
    unsplit = packet.encode(shipped, unit, step, 0, 0, force_mask=0)
    assert unsplit[0] == dyadic[0] and np.array_equal(unsplit[1], dyadic[1])
    assert all(np.array_equal(a, b) for a, b in zip(unsplit[2], dyadic[2]))
    chosen = packet.encode(shipped, unit, step, 0, 0)
    assert tiles.encode_tile(shipped, unit, 32, 1.0, 0, 0)[0] == chosen[0]
    if image == "ct-like":
        assert packet.is_packet(chosen[0].params)


def test_the_ct_like_noise_takes_the_packet_mode(shipped):
    # Noise shaped by a CT kernel is where splitting the finest bands pays (docs/wavelet.md).
    chunk, _, _ = tiles.encode_tile(shipped, _ct_like(128), 32, 1.0, 0, 0)
    assert packet.is_packet(chunk.params)


def test_small_tiles_and_the_near_lossless_base_stay_dyadic(shipped):
    assert not packet.worth_trying((31, 200))
    unit = _ct_like(128)
    assert tiles.encode_tile(shipped, unit, 32, 1.0, 0, 0, block=False)[0].params == ()


def test_hostile_packet_tiles_give_typed_errors(shipped):
    unit = _ct_like(64)
    chunk, _, _ = packet.encode(shipped, unit, coder.step_size(32, 1.0), 0, 0, force_mask=7)
    for bad in ((2.0,), (2.0, 0.0), (2.0, 8.0), (2.0, 1.5), (2.0, 7.0, 1.0)):
        with pytest.raises(FormatError, match="mask 1..7"):
            tiles.decode_tile(shipped, dataclasses.replace(chunk, params=bad), (64, 64), 32, 1.0)
    with pytest.raises(FormatError, match="at least 32x32"):
        tiles.decode_tile(shipped, chunk, (16, 64), 32, 1.0)
    with pytest.raises(FormatError, match="side bytes"):
        tiles.decode_tile(shipped, dataclasses.replace(chunk, side=chunk.side[:-1]), (64, 64), 32, 1.0)
    long_string = coder.SIDE.pack(0, 0, len(chunk.payload) + 1)
    with pytest.raises(FormatError, match="rANS string"):
        tiles.decode_tile(shipped, dataclasses.replace(chunk, side=long_string), (64, 64), 32, 1.0)


def test_a_12_bit_image_in_the_packet_mode_round_trips_through_the_api():
    import mcz
    from mcz.container import read_container

    image = np.rint(_ct_like(128) * 4095).astype(np.uint16)
    image[0, 0], image[-1, -1] = 0, 4095  # the window spans the stored range: unit = stored / 4095
    # Quality 28: a step of 32 stored units, above where the pixel tile mode is tried.
    data = mcz.encode(image, model="wavelet-ctx", quality=28, bits_stored=12)
    assert packet.is_packet(read_container(data).tiles[0].params)
    once, again = mcz.decode(data), mcz.decode(data, backend="onnxruntime")  # the pixel digest is checked
    assert np.array_equal(once, again) and once.dtype == np.uint16
    rmse = float(np.sqrt(np.mean((once.astype(float) - image) ** 2)))
    assert rmse < 0.5 * 4095 * coder.step_size(28, 1.0)  # a uniform quantiser's error is step / sqrt(12)


# -- the children's own context classes (checkpoints with packet_weights) ----------------------------


def _ct_frames(count: int = 2):
    from mcz.codec.wavelet.frames import UnitFrame

    return [UnitFrame(f"ct{i}", _ct_like(96, seed=i) * 4095, 0.0, 4095.0, 4095.0) for i in range(count)]


def test_fitting_the_packet_classes_changes_nothing_else_and_lowers_the_packet_bits():
    from mcz.codec.wavelet import fit
    from mcz.codec.wavelet.model import CLASSES, WaveletModel

    model = WaveletModel()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    frames = _ct_frames()
    step = coder.step_size(32, 1.0)
    unit = frames[0].unit
    size_before = len(packet.encode(model.tables(), unit, step, 0, 0, force_mask=7)[0].payload)
    fit.fit_packet_classes(model, frames, [32, 32], rounds=1, log=lambda _: None)
    after = model.state_dict()
    assert set(after) == set(before) | {"packet_weights", "packet_bias"}
    assert all(np.array_equal(after[k].numpy(), v.numpy()) for k, v in before.items())
    t = model.tables()
    assert t.packet_classes and t.weights_fp.shape[0] == CLASSES + 12
    assert len(packet.encode(t, unit, step, 0, 0, force_mask=7)[0].payload) < size_before
    # The dyadic mode does not see the new classes: its bytes are the old model's.
    old = WaveletModel()
    assert (coder.encode_wavelet(t, unit, 32, 1.0, 0, 0)[0] == coder.encode_wavelet(old.tables(), unit, 32, 1.0, 0, 0)[0])


def test_collect_in_the_chosen_layout_samples_what_the_encoder_codes():
    import torch

    from mcz.codec.engine import load_codec
    from mcz.codec.wavelet import fit
    from mcz.codec.wavelet.model import CLASSES, WaveletModel

    model = WaveletModel()
    with pytest.raises(ValueError, match="packet classes"):
        fit.fit(model, _ct_frames(1), [32], rounds=1, layout="chosen", log=lambda _: None)
    with pytest.raises(ValueError, match="layout"):
        fit.collect(model, _ct_frames(1), [32], layout="split")
    shipped = load_codec("wavelet-ctx").model.state_dict()
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in shipped.items()})
    frames, qualities = _ct_frames(), [40, 40]
    coded = [packet.encode(model.tables(), f.unit, coder.step_size(q, f.range_per_unit), 0, 0)[0]
             for f, q in zip(frames, qualities)]
    masks = [int(c.params[1]) if packet.is_packet(c.params) else 0 for c in coded]
    chosen = fit.collect(model, frames, qualities, layout="chosen")
    dyadic = fit.collect(model, frames, qualities, layout="dyadic")
    children = {cls for cls, _ in chosen if cls >= CLASSES}
    # Children's classes are sampled exactly for the orientations the encoder split, and the
    # finest whole bands only for those it did not.
    split = {o for m in masks for o in range(3) if m >> o & 1}
    assert split, "the CT-like frames are expected to take a split somewhere"
    assert {(c - CLASSES) // 4 for c in children} == split
    assert all(cls < CLASSES for cls, _ in dyadic)
    # Every split orientation's finest whole-band class (level 1) is absent where all frames split it.
    finest = {cls for cls, _ in chosen if cls < CLASSES and cls % 4 == 0}
    always = {o for o in range(3) if all(m >> o & 1 for m in masks)}
    assert finest == {4 * o for o in range(3)} - {4 * o for o in always}


def test_checkpoints_have_all_or_none_of_the_packet_arrays():
    from mcz.codec.wavelet.model import WaveletModel, WaveletWeights
    from mcz.errors import ModelError

    model = WaveletModel()
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    assert not WaveletWeights.from_state(state, {}, "m").tables().packet_classes
    model.add_packet_classes()
    full = {k: v.numpy() for k, v in model.state_dict().items()}
    assert WaveletWeights.from_state(full, {}, "m").tables().packet_classes
    with pytest.raises(ModelError, match="all or none"):
        WaveletWeights.from_state({**state, "packet_weights": full["packet_weights"]}, {}, "m")
    with pytest.raises(ModelError, match="packet_bias has shape"):
        WaveletWeights.from_state({**full, "packet_bias": full["packet_bias"][:3]}, {}, "m")
    # A module loads either kind of checkpoint.
    loaded = WaveletModel()
    loaded.load_state_dict(model.state_dict())
    assert loaded.has_packet_classes


def test_a_refit_keeps_the_previous_weights_for_the_files_made_with_them(tmp_path, monkeypatch):
    from mcz.codec import zoo
    from mcz.codec.registry import get_spec
    from mcz.codec.wavelet.model import WaveletModel
    from mcz.training.export import export_weights

    spec = get_spec("wavelet-ctx")
    first = export_weights(WaveletModel(), spec, tmp_path, {"note": "first"}, half=False)
    model = WaveletModel()
    model.add_packet_classes()
    second = export_weights(model, spec, tmp_path, {"note": "second"}, half=False, keep_previous=True)
    monkeypatch.setenv("MCZ_CHECKPOINTS", str(tmp_path))
    monkeypatch.setattr(zoo, "checkpoint_dirs", lambda: [tmp_path])
    assert zoo.find_checkpoint("wavelet-ctx").sha256 == second["sha256"]  # new files use the new weights
    old = zoo.find_checkpoint("wavelet-ctx", first["sha256"])
    assert old.path.is_file() and old.info["superseded_by"] == second["sha256"]
    third = export_weights(WaveletModel(kappa=0.2), spec, tmp_path, {"note": "third"}, half=False)
    assert not old.path.exists() and zoo.find_checkpoint("wavelet-ctx").sha256 == third["sha256"]  # replaced
