"""The wavelet family's inter-scale predictor: exact integer inference, invertible coding, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("compressai")
torch = pytest.importorskip("torch")

from mcz.codec.wavelet import coder, packet, predict, predict_fit, tiles  # noqa: E402
from mcz.codec.wavelet.model import Tables, WaveletWeights  # noqa: E402
from mcz.errors import ModelError  # noqa: E402
from tests.hardening import mutate  # noqa: E402

LEVELS, CHANNELS = 2, 4


@pytest.fixture(scope="module")
def base_arrays():
    from mcz.codec.engine import load_codec

    state = load_codec("wavelet-ctx").model.state_dict()
    return {k: np.asarray(v) for k, v in state.items() if not k.startswith("predict_")}


def _random_nets(seed: int = 0, scale: float = 0.3) -> list[predict_fit.LevelNet]:
    torch.manual_seed(seed)
    nets = [predict_fit.LevelNet(CHANNELS) for _ in range(LEVELS)]
    for net in nets:  # the output layer starts at zero; give it something to predict
        torch.nn.init.normal_(net.conv3.weight, std=scale)
    return nets


def _tables(base: dict, nets: list | None) -> Tables:
    arrays = dict(base)
    if nets is not None:
        arrays.update(predict_fit.arrays(nets))
    return WaveletWeights(arrays).tables()


def test_integer_inference_follows_the_float_network():
    nets = _random_nets()
    predictor = predict.Predictor(predict_fit.arrays(nets))
    low = mutate.ct_like(64)[:40, :50] * 300.0
    for level, net in enumerate(nets, start=1):
        exact = predictor.predict(level, low)
        with torch.no_grad():
            floating = net(torch.from_numpy(low)[None, None].float())[0].double().numpy()
        assert exact.shape == (3, 40, 50)
        # Rounding activations to 1/256 and weights to 1/1024 moves the output by a small fraction.
        assert np.abs(exact - floating).max() < 0.02 * np.abs(floating).max() + 1e-3
        assert np.abs(floating).max() > 0.1  # the check above is not vacuous


def test_integer_inference_does_not_depend_on_the_thread_count():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    predictor = predict.Predictor(predict_fit.arrays(_random_nets(1)))
    low = np.random.default_rng(0).normal(0, 50, (96, 80))
    many = predictor.predict(1, low)
    with threadpoolctl.threadpool_limits(1):
        one = predictor.predict(1, low)
    assert np.array_equal(many, one)


def test_an_untrained_predictor_codes_byte_for_byte_as_no_predictor(base_arrays):
    without, untrained = _tables(base_arrays, None), _tables(base_arrays, [predict_fit.LevelNet(CHANNELS)] * LEVELS)
    assert without.predictor is None and untrained.predictor is not None
    unit = mutate.ct_like(96)
    for quality in (20, 40):
        step = coder.step_size(quality, 1.0)
        a = packet.encode(without, unit, step, 0, 0)
        b = packet.encode(untrained, unit, step, 0, 0)
        assert a[0] == b[0] and np.array_equal(a[1], b[1])


@pytest.mark.parametrize("mask", [None, 0, 5, 7])
@pytest.mark.parametrize("quality", [16, 40])
def test_predicted_tiles_decode_to_the_encoders_reconstruction(base_arrays, mask, quality):
    t = _tables(base_arrays, _random_nets())
    unit = mutate.ct_like(80)[:70, :80]
    step = coder.step_size(quality, 1.0)
    if mask is None:
        chunk, recon, symbols = coder.encode_wavelet(t, unit, quality, 1.0, 0, 0)
    else:
        chunk, recon, symbols = packet.encode(t, unit, step, 0, 0, force_mask=mask)
    decoded, decoded_symbols = tiles.decode_tile(t, chunk, unit.shape, quality, 1.0)
    assert np.array_equal(decoded, recon.astype(np.float32))
    assert all(np.array_equal(a, b) for a, b in zip(symbols, decoded_symbols))
    # Without its predictor the same tile decodes to something else: the prediction is used.
    other, _ = tiles.decode_tile(_tables(base_arrays, None), chunk, unit.shape, quality, 1.0)
    assert not np.array_equal(other, decoded)


def test_the_predicted_levels_residuals_are_what_is_coded(base_arrays):
    t = _tables(base_arrays, _random_nets(scale=0.5))
    unit = mutate.ct_like(64)
    seen: dict[int, float] = {}
    coder.encode_wavelet(t, unit, 40, 1.0, 0, 0, observe=lambda p, q, v: seen.update({p.band: float(np.abs(v).sum())}))
    plain: dict[int, float] = {}
    coder.encode_wavelet(_tables(base_arrays, None), unit, 40, 1.0, 0, 0,
                         observe=lambda p, q, v: plain.update({p.band: float(np.abs(v).sum())}))
    finest = max(seen)
    assert seen[finest] != plain[finest]  # the finest level codes a residual
    assert seen[1] == plain[1]  # the coarsest detail level is not predicted (LEVELS < depth)


@pytest.mark.parametrize("drop", ["predict_b2", "predict_w3"])
def test_a_checkpoint_with_part_of_a_predictor_is_refused(base_arrays, drop):
    arrays = {**base_arrays, **predict_fit.arrays(_random_nets())}
    del arrays[drop]
    with pytest.raises(ModelError, match="all or none"):
        WaveletWeights.from_state(arrays, {}, "wavelet-test")


def test_a_predictor_of_the_wrong_shape_is_refused(base_arrays):
    arrays = {**base_arrays, **predict_fit.arrays(_random_nets())}
    arrays["predict_w2"] = arrays["predict_w2"][:, :, :-1]
    with pytest.raises(ModelError, match="predict_w2"):
        WaveletWeights.from_state(arrays, {}, "wavelet-test")
    arrays = {**base_arrays, **predict_fit.arrays(_random_nets())}
    arrays["predict_w1"] = np.zeros((9, CHANNELS, 25))
    with pytest.raises(ModelError, match="predict_w1"):
        WaveletWeights.from_state(arrays, {"max_levels": 6}, "wavelet-test")


def test_training_lowers_the_residual_of_a_sharp_edge():
    rows, cols = np.mgrid[0:96, 0:96]
    disc = ((rows - 40.3) ** 2 + (cols - 51.7) ** 2 < 30**2).astype(np.float64)
    from mcz.codec.wavelet.frames import UnitFrame

    frames = [UnitFrame(f"disc{k}", np.roll(disc, 7 * k, axis=1) * 4000.0, 0.0, 4000.0, 4095.0) for k in range(3)]
    data = predict_fit.pairs(frames, 1)[0]
    net = predict_fit.train_level(data, CHANNELS, 400, log=lambda _: None)
    predictor = predict.Predictor(predict_fit.arrays([net]))
    before = after = 0.0
    for low, target in data:
        known = ~np.isnan(target)
        before += float(np.abs(target[known]).sum())
        after += float(np.abs((target - predictor.predict(1, low))[known]).sum())
    assert after < 0.9 * before  # 400 steps: about -16 %


@pytest.mark.parametrize("shape", [(16, 16), (16, 200), (17, 33), (33, 17), (40, 64)])
def test_the_shipped_predictor_codes_small_and_thin_tiles(shape):
    """The smallest predicted low bands (8 pixels a side) exercise the edges of the box means and convolutions."""
    import mcz

    from mcz.codec.wavelet import lifting

    assert lifting.levels_for(*shape) >= 1  # at least the finest level is predicted
    unit = mutate.ct_like(max(shape))[: shape[0], : shape[1]]
    pixels = np.rint(np.clip(unit, 0, 1) * 4095).astype(np.uint16)
    for quality in (8, 40):
        data = mcz.encode(pixels, model="wavelet-ctx", quality=quality, bits_stored=12, metadata="none")
        decoded = mcz.decode(data)
        assert decoded.shape == pixels.shape and decoded.dtype == pixels.dtype
        if quality == 40:  # a step of about 1/1000 of the range
            assert np.abs(decoded.astype(np.int64) - pixels).max() < 64
