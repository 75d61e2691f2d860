"""Tile coding of the wavelet family: CDF 9/7 -> deadzone quantiser -> context-modelled rANS.

One tile (normally the whole frame) is transformed, its coefficients are
normalised by their band's synthesis gain and divided by one step, so a step
costs the same pixel error in every band.  Symbols are coded band by band,
coarsest first, in three passes per detail band (two for LL); each symbol's Laplace
scale comes from the integer context of :mod:`mcz.codec.wavelet.context`.  The
encoder chooses each symbol by rate-distortion (nearest, one lower or zero,
whichever minimises squared error + kappa * bits), and the decoder reconstructs
with learned offsets toward zero.  Where the model has a predictor
(:mod:`mcz.codec.wavelet.predict`), a predicted level's detail bands are coded as residuals
from a prediction computed from the low band decoded so far (:class:`Prediction`).

Tile ``side``: ``>iII`` LL mean, LL anchor scale (fixed point), rANS length.
Payload: the rANS string, then the raw low bits of symbols whose scale was
above the table (packed, low bit first).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mcz.codec import native, rans
from mcz.codec.wavelet import context, lifting, predict
from mcz.codec.wavelet.model import Tables, band_class
from mcz.container import Tile
from mcz.errors import FormatError

SIDE = struct.Struct(">iII")
#: Tiles of fewer pixels get :data:`_FLUSH_ROOM` unread trailing symbols (see :func:`encode_tile`).
_FEW_SYMBOLS = 16
_FLUSH_ROOM = 4
#: 2**(-k/4), k = 0..3: a quality step is a quarter octave of the quantiser step (about 1.5 dB).
_STEP_FRACTIONS = (1.0, 0.8408964152537145, 0.7071067811865476, 0.5946035575013605)


def step_size(quality: int, range_per_unit: float) -> float:
    """Quantiser step in normalised unit-domain coefficients: 2**(-quality/4) of the data range."""
    return math.ldexp(_STEP_FRACTIONS[quality % 4], -(quality // 4)) * range_per_unit


@dataclass
class Pass:
    """One vector of symbols coded together: where they are and which tables they use."""

    band: int  # 0 = LL, else 1 + 3 * (level index) + orientation
    mask: np.ndarray  # positions within the band
    index: np.ndarray  # table index per symbol
    shift: np.ndarray  # raw low bits per symbol
    mean: np.ndarray | int  # prediction subtracted before coding
    cls: int = -1  # detail band class (-1 for LL)
    order: int = 0  # checkerboard pass
    features: np.ndarray | None = None  # (7, symbols) context sums of a detail pass (for fitting)


Coder = Callable[[Pass], np.ndarray]
#: Sees each detail pass an encoder codes: the pass, its symbols and the values they quantise.
Observer = Callable[[Pass, np.ndarray, np.ndarray], None]


class Prediction:
    """One tile's predicted detail bands, computed level by level from what has been decoded.

    Encoder and decoder call :meth:`before` as they reach a level (the bands coarser than it
    decoded), so both predict from the same dequantised data; with a model without predictor it
    predicts nothing and the tile codes exactly as a model without one.

    Parameters
    ----------
    t : Tables
        The model's tables (``t.predictor`` may be None).
    step : float
        The tile's quantiser step.
    levels : int
        The tile's decomposition depth (``depth`` 1 is its coarsest detail level).
    """

    def __init__(self, t: Tables, step: float, levels: int) -> None:
        self.t, self.step, self.levels = t, step, levels
        self.gains = lifting.band_gains(levels)
        self.detail: dict[int, tuple[np.ndarray, ...]] = {}

    def before(self, depth: int, q: list, maps: list, shapes: tuple) -> None:
        """Predict the bands of ``depth`` (of ``shapes``) from the dequantised ``q[:depth]``."""
        level = self.levels - depth + 1
        predictor = self.t.predictor
        if predictor is None or level > predictor.levels:
            return
        low = lifting.inverse(dequantised(self.t, q[:depth], maps[:depth], self.gains, self.step, self))
        low *= predict.input_scale(level, self.step)  # normalised like the details
        bands = predictor.predict(level, low)
        self.detail[depth] = tuple(bands[o][: s[0], : s[1]] for o, s in enumerate(shapes))

    def of(self, depth: int, orientation: int) -> np.ndarray | float:
        """The prediction (normalised steps) of a band, or 0.0 where its level is not predicted."""
        bands = self.detail.get(depth)
        return 0.0 if bands is None else bands[orientation]

    def at(self, band: int, mask: np.ndarray) -> np.ndarray | float:
        """The prediction at ``mask`` of dyadic band ``band`` (:func:`band_list`'s numbering)."""
        if band == 0:
            return 0.0
        value = self.of((band - 1) // 3 + 1, (band - 1) % 3)
        return value if isinstance(value, float) else value[mask]


def split(values: np.ndarray, shift: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    half = (np.int64(1) << shift) >> 1
    hi = (values + half) >> shift
    return hi, values + half - (hi << shift)


def join(hi: np.ndarray, lo: np.ndarray, shift: np.ndarray) -> np.ndarray:
    half = (np.int64(1) << shift) >> 1
    return (hi << shift) + lo - half


class RawBits:
    """The raw low bits of large symbols, in coding order."""

    def __init__(self, data: bytes = b"") -> None:
        self.chunks: list[np.ndarray] = []
        self._bits = np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")
        self._pos = 0

    def add(self, lo: np.ndarray, shift: np.ndarray) -> None:
        if shift.size and shift.max() > 0:
            cols = np.arange(int(shift.max()))
            self.chunks.append((((lo[:, None] >> cols) & 1)[cols < shift[:, None]]).astype(np.uint8))

    def take(self, shift: np.ndarray) -> np.ndarray:
        if not shift.size or shift.max() == 0:
            return np.zeros(shift.shape, np.int64)
        total = int(shift.sum())
        if self._pos + total > len(self._bits):
            raise FormatError(
                f"a wavelet tile needs {self._pos + total} raw bits but holds {len(self._bits)}; the file is corrupt"
            )
        cols = np.arange(int(shift.max()))
        valid = cols < shift[:, None]
        grid = np.zeros(valid.shape, np.int64)
        grid[valid] = self._bits[self._pos : self._pos + total]
        self._pos += total
        return (grid << cols).sum(axis=1)

    def tobytes(self) -> bytes:
        if not self.chunks:
            return b""
        return np.packbits(np.concatenate(self.chunks), bitorder="little").tobytes()


def walk(t: Tables, shapes: list, step: float, ll_side: tuple[int, int], code: Coder,
         finest_level: int = 1, prediction: Prediction | None = None) -> tuple[list, list]:
    """Visit every pass in coding order; ``code`` returns each pass's symbols.

    ``finest_level`` is the level of the last bands in ``shapes`` (2 when a wavelet-packet tile
    codes its finest level itself). ``prediction`` is told when each level is reached. Returns
    the symbol bands and, per band, (table index, shift) maps for dequantisation.
    """
    q: list[Any] = [  # the LL band, then (HL, LH, HH) per level
        np.zeros(s, np.int64) if i == 0 else tuple(np.zeros(x, np.int64) for x in s)
        for i, s in enumerate(shapes)
    ]
    maps: list = []
    q[0][...] = _walk_ll(t, shapes[0], ll_side, code, maps)
    levels = len(shapes) - 1
    for depth in range(1, levels + 1):
        level = levels - depth + finest_level
        if prediction is not None:
            prediction.before(depth, q, maps, shapes[depth])
        level_maps = []
        for o in range(3):
            parent = np.abs(q[depth - 1][o]) if depth >= 2 else None
            siblings = [np.abs(q[depth][k]) for k in range(o)]
            band = q[depth][o]
            level_maps.append(walk_detail(t, band, 1 + 3 * (depth - 1) + o, band_class(level, o),
                                           context.static_features(band.shape, parent, siblings), step, code))
        maps.append(tuple(level_maps))
    return q, maps


def _walk_ll(t: Tables, shape: tuple, ll_side: tuple[int, int], code: Coder, maps: list) -> np.ndarray:
    ll = np.zeros(shape, np.int64)
    index, shift = np.zeros(shape, np.int64), np.zeros(shape, np.int64)
    two_pass = min(shape) >= 2
    first = context.anchors(shape) if two_pass else np.ones(shape, bool)
    mean, sigma = ll_side
    i, s = context.scale_index(np.full(int(first.sum()), sigma, np.int64), t.thresholds)
    ll[first] = code(Pass(0, first, i, s, mean))
    index[first], shift[first] = i, s
    if two_pass:
        rest = ~first
        pred, spread = context.ll_prediction(ll, first)
        sigma_fp = t.ll_weight_fp * spread[rest] + context.fixed(0.5)
        i, s = context.scale_index(sigma_fp, t.thresholds)
        ll[rest] = code(Pass(0, rest, i, s, pred[rest]))
        index[rest], shift[rest] = i, s
    maps.append((index, shift))
    return ll


def walk_detail(t: Tables, band: np.ndarray, band_id: int, cls: int, static: np.ndarray, step: float,
                 code: Coder) -> tuple[np.ndarray, np.ndarray]:
    index, shift = np.zeros(band.shape, np.int64), np.zeros(band.shape, np.int64)
    done = np.zeros(band.shape, bool)
    for p, mask in enumerate(context.detail_passes(band.shape)):
        if not mask.any():
            continue
        features = np.zeros((t.weights_fp.shape[-1], int(mask.sum())), np.int64)
        features[:4] = static[:, mask]
        if p:
            features[4:] = context.spatial_features(np.where(done, np.abs(band), 0))[:, mask]
        sigma = context.fixed(t.bias[cls, p] / step) + np.tensordot(t.weights_fp[cls, p], features, axes=1)
        i, s = context.scale_index(sigma, t.thresholds)
        band[mask] = code(Pass(band_id, mask, i, s, 0, cls, p, features))
        index[mask], shift[mask] = i, s
        done |= mask
    return index, shift


def band_list(bands: list) -> list[np.ndarray]:
    """Bands in one flat list (LL, then HL, LH, HH of each level): the index a :class:`Pass` names."""
    return [bands[0]] + [b for triple in bands[1:] for b in triple]


def coded_cost(t: Tables, values: np.ndarray, q: np.ndarray, index: np.ndarray, shift: np.ndarray) -> float:
    """Squared error (in steps, after the reconstruction offsets) + kappa * bits of chosen detail symbols.

    The measure :func:`choose` minimises, summed; symbols above the table count the table bits of
    their high part plus their raw bits.
    """
    mag = np.abs(q)
    small = shift == 0
    recon = np.where(small, _recon(t, mag, index), mag.astype(np.float64))
    hi = np.where(small, q, (q + ((np.int64(1) << shift) >> 1)) >> shift)
    return float(np.sum((np.abs(values) - recon) ** 2) + t.kappa * np.sum(_bits(t, hi, index) + shift))


def dequantise(t: Tables, q: np.ndarray, index: np.ndarray, shift: np.ndarray, detail: bool) -> np.ndarray:
    value = q.astype(np.float64)
    if detail:
        mag = np.abs(q)
        coded = (mag >= 1) & (shift == 0)
        offset = t.recon_offsets[index[coded], np.minimum(mag[coded], 2) - 1]
        value[coded] -= np.sign(value[coded]) * offset
    return value


def dequantised(t: Tables, q: list, maps: list, gains: list, step: float,
                prediction: Prediction | None = None) -> lifting.Bands:
    """The transform coefficients of the symbol bands ``q`` (LL, then the details of each depth).

    A predicted band's coefficients are its dequantised residual plus its prediction.
    """
    # maps[0] and every maps[depth][o] is an (index, shift) pair: indexed, not *-unpacked, so that a type
    # checker sees that they cannot also fill ``detail``.
    bands: lifting.Bands = [
        dequantise(t, q[0], maps[0][0], maps[0][1], detail=False) * step / math.sqrt(gains[0])
    ]
    for depth in range(1, len(q)):
        bands.append(tuple(
            (dequantise(t, q[depth][o], maps[depth][o][0], maps[depth][o][1], detail=True)
             + (0.0 if prediction is None else prediction.of(depth, o))) * step / math.sqrt(gains[depth][o])
            for o in range(3)
        ))
    return bands


def reconstruct(t: Tables, q: list, maps: list, gains: list, step: float,
                prediction: Prediction | None = None) -> np.ndarray:
    """Dequantise the symbol bands (adding their predictions) and run the inverse transform."""
    return lifting.inverse(dequantised(t, q, maps, gains, step, prediction))


def _bits(t: Tables, symbol: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Code length of table-coded ``symbol``s under their tables (escapes: a generous 24 + 2 log2 bits)."""
    col = symbol - t.offsets[index]
    inside = (col >= 0) & (col < t.bits.shape[1] - 1)
    return np.where(inside, t.bits[index, np.clip(col, 0, t.bits.shape[1] - 1)], 24.0 + 2 * np.log2(np.abs(symbol) + 1))


def _recon(t: Tables, mag: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Reconstructed magnitude (in steps) of table-coded magnitudes ``mag``, after the learned offsets."""
    return np.where(mag > 0, mag - t.recon_offsets[index, np.clip(mag, 1, 2) - 1], 0.0)


def choose(t: Tables, u: np.ndarray, index: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Rate-distortion choice among the nearest level, one lower and zero (in steps)."""
    a, sign = np.abs(u), np.where(u < 0, -1, 1)
    near = np.floor(a + 0.5).astype(np.int64)
    small = shift == 0
    if not small.any() or t.kappa <= 0:
        return sign * near
    ai, si, idx = a[small], sign[small], index[small]
    best, best_cost = None, None
    for n in (near[small], np.maximum(near[small] - 1, 0), np.zeros_like(near[small])):
        cost = (ai - _recon(t, n, idx)) ** 2 + t.kappa * _bits(t, si * n, idx)
        if best is None or best_cost is None:  # the first candidate (both are set together)
            best, best_cost = n, cost
        else:
            better = cost < best_cost
            best, best_cost = np.where(better, n, best), np.where(better, cost, best_cost)
    assert best is not None  # set by the first of the loop's three candidates
    out = sign * near
    out[small] = si * best
    return out


def normalised(unit: np.ndarray, levels: int, step: float) -> tuple[list, list]:
    """The tile's bands scaled by the square root of their synthesis gains and divided by ``step``.

    Returns the bands (LL, then (HL, LH, HH) per level, coarsest first) and the gains.
    """
    bands = lifting.forward(unit, levels)
    gains = lifting.band_gains(levels)
    u = [bands[0] * math.sqrt(gains[0]) / step]
    for depth in range(1, levels + 1):
        u.append(tuple(bands[depth][o] * math.sqrt(gains[depth][o]) / step for o in range(3)))
    return u, gains


def ll_parameters(u_ll: np.ndarray) -> tuple[int, int]:
    """The LL band's side information: mean of the anchor symbols and their spread (fixed point)."""
    q = np.rint(u_ll).astype(np.int64)
    first = context.anchors(q.shape) if min(q.shape) >= 2 else np.ones(q.shape, bool)
    mean = int(np.rint(q[first].mean()))
    spread = float(np.abs(q[first] - mean).mean()) + 0.5
    return mean, min(context.fixed(spread), 2**32 - 1)


def band_shapes(rows: int, cols: int, levels: int) -> list:
    """Shapes of the bands of a ``rows`` x ``cols`` tile, in the order of :func:`normalised`."""
    h, w, details = rows, cols, []
    for _ in range(levels):
        hl = ((h + 1) // 2, w // 2)
        lh = (h // 2, (w + 1) // 2)
        hh = (h // 2, w // 2)
        details.append((hl, lh, hh))
        h, w = (h + 1) // 2, (w + 1) // 2
    return [(h, w), *reversed(details)]


def encode_wavelet(t: Tables, unit: np.ndarray, quality: int, range_per_unit: float,
                    frame: int, index: int, observe: Observer | None = None) -> tuple[Tile, np.ndarray, list]:
    """The dyadic wavelet mode of :func:`mcz.codec.wavelet.tiles.encode_tile` (reconstruction in float64).

    ``observe`` is shown every detail pass coded (model fitting samples them).
    """
    BufferedRansEncoder = native.extension("ans").BufferedRansEncoder  # noqa: N806 - a class

    rows, columns = unit.shape
    levels = lifting.levels_for(rows, columns, t.max_levels)
    step = step_size(quality, range_per_unit)
    u, gains = normalised(unit, levels, step)
    flat_u = band_list(u)
    ll_side = ll_parameters(u[0])
    encoder, raw = BufferedRansEncoder(), RawBits()
    prediction = Prediction(t, step, levels)

    def code(p: Pass) -> np.ndarray:
        values = flat_u[p.band][p.mask] - prediction.at(p.band, p.mask)
        if p.band == 0:
            q = np.rint(values).astype(np.int64)
        else:
            q = choose(t, values, p.index, p.shift)
            if observe is not None:
                observe(p, q, values)
        hi, lo = split(q - p.mean, p.shift)
        encoder.encode_with_indexes(hi.tolist(), *t.using(p.index))
        raw.add(lo, p.shift)
        return q

    q, maps = walk(t, band_shapes(rows, columns, levels), step, ll_side, code, prediction=prediction)
    if unit.size < _FEW_SYMBOLS:
        # CompressAI's flush writes the string into a buffer of one 32-bit word per symbol, but a
        # string takes up to 2 words more (the final state): a 1-pixel tile corrupted the heap
        # (found by fuzzing). Trailing symbols are coded first and never decoded (rANS is last-in,
        # first-out), so they give the buffer room without changing what a decoder reads.
        encoder.encode_with_indexes([0] * _FLUSH_ROOM, *t.using(np.zeros(_FLUSH_ROOM, np.int64)))
    string = encoder.flush()
    side = SIDE.pack(ll_side[0], ll_side[1], len(string))
    chunk = Tile(frame=frame, index=index, params=(), side=side, payload=string + raw.tobytes())
    return chunk, reconstruct(t, q, maps, gains, step, prediction), band_list(q)


def decode_wavelet(t: Tables, chunk: Tile, shape: tuple[int, int], quality: int,
                   range_per_unit: float) -> tuple[np.ndarray, list]:
    """Reconstruct a dyadic wavelet tile (float64); returns the unit-window pixels and the symbols."""
    RansDecoder = native.extension("ans").RansDecoder  # noqa: N806 - a class

    if len(chunk.side) != SIDE.size or chunk.params:
        raise FormatError(
            f"tile {chunk.frame}/{chunk.index} has {len(chunk.side)} side bytes and {len(chunk.params)} "
            f"parameters; expected {SIDE.size} and none for a wavelet tile (or the parameter 8.0 of a "
            f"block-DCT tile, 2.0 of a wavelet-packet tile). The file is corrupt"
        )
    mean, sigma, length = SIDE.unpack(chunk.side)
    if length > len(chunk.payload):
        raise FormatError(
            f"tile {chunk.frame}/{chunk.index} declares a {length}-byte rANS string in a "
            f"{len(chunk.payload)}-byte payload. The file is corrupt"
        )
    string = bytes(chunk.payload[:length])
    decoder, raw = RansDecoder(), RawBits(bytes(chunk.payload[length:]))
    decoder.set_stream(rans.padded(string, shape[0] * shape[1]))
    levels = lifting.levels_for(*shape, t.max_levels)
    step = step_size(quality, range_per_unit)

    def code(p: Pass) -> np.ndarray:
        hi = np.asarray(decoder.decode_stream(*t.using(p.index)), np.int64)
        return join(hi, raw.take(p.shift), p.shift) + p.mean

    prediction = Prediction(t, step, levels)
    q, maps = walk(t, band_shapes(*shape, levels), step, (mean, sigma), code, prediction=prediction)
    return reconstruct(t, q, maps, prediction.gains, step, prediction), band_list(q)


