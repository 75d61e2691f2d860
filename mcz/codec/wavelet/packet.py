"""The wavelet-packet tile mode: some of the finest detail bands split once more.

CT and MR noise is not white: the reconstruction kernel shapes its spectrum, so
the finest HL, LH and HH bands (each half of the spectrum along one axis) hold
energy that is far from uniform inside them.  Splitting one of them by one more
2-D CDF 9/7 level (a wavelet packet, as JPEG 2000 Part 2 allows) separates the
noise peak from the quieter rest and lets each part have its own statistics.
It depends on the image and on the orientation (a chest CT gains in HL and LH and
loses in HH, a brain MR gains in HH), so the encoder decides per orientation, in
coding order, by the squared error + kappa * bits of coding that band both ways;
the tile keeps the choice as a 3-bit mask (none split: it is a plain dyadic tile).
Weighing the two codings of each finest band costs about 1.75 dyadic encodes, since the
coarser levels are coded once.

Coding order: the coarser levels exactly as a dyadic tile, then per orientation
(HL, LH, HH) either its band (as in a dyadic tile) or its four children (ll, hl,
lh, hh), each a detail band in the same three passes.  A child's parent feature is
the co-located coefficient of the level-2 band of the same orientation (children
have its size); its siblings are the same child of the split orientations coded
before and the earlier children of its own band.  A whole band coded after a split
one takes, as that sibling, the mean magnitude of the split band's four children
over the 2 x 2 positions each covers.  Children have classes of their
own in checkpoints with ``packet_weights`` (older ones use the finest level's).

Where the model predicts the finest level (:mod:`mcz.codec.wavelet.predict`), a split band's
children are those of its residual (the band minus its prediction), and the prediction is added
back after the children are merged.

Tile ``params``: (2.0, mask), bit ``o`` of the mask set where orientation ``o`` is split;
``side`` and payload as a dyadic wavelet tile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mcz.codec import native, rans
from mcz.codec.wavelet import coder, context, lifting
from mcz.codec.wavelet.model import Tables, band_class, packet_class
from mcz.container import Tile
from mcz.errors import FormatError

#: The first tile parameter of a packet tile (a block-DCT tile has 8.0, a dyadic one none).
MARK = 2.0
ALL = 0b111


def params(mask: int) -> tuple[float, float]:
    """The tile parameters of a packet tile splitting the orientations in ``mask``."""
    return (MARK, float(mask))


def is_packet(tile_params: tuple[float, ...]) -> bool:
    """Whether a tile's parameters mark a packet tile (any mask, valid or not)."""
    return len(tile_params) >= 1 and tile_params[0] == MARK


def worth_trying(shape: tuple[int, ...]) -> bool:
    """Children of the finest bands need at least 2 x 2 coefficients and a coarser level above them."""
    return min(shape) >= 32


def _children_gains(gain: float) -> list:
    g1 = lifting.band_gains(1)
    return [gain * g1[0], *(gain * x for x in g1[1])]


@dataclass
class Split:
    """A tile's coefficients in the packet layout (normalised by gain and step)."""

    coarse: list  # dyadic bands down to level 2, as coder.normalised
    finest: list  # per orientation, the finest band
    gains: list  # dyadic gains of the full depth
    child_gains: list = field(default_factory=list)  # per orientation, the 4 children's gains


def normalised(unit: np.ndarray, levels: int, step: float) -> Split:
    """The coarser levels and the finest bands, each normalised by its own gain."""
    bands, gains = coder.normalised(unit, levels, step)
    return Split(bands[:levels], list(bands[levels]), gains, [_children_gains(g) for g in gains[levels]])


def children(band: np.ndarray, gain: float, step: float) -> list:
    """[ll, hl, lh, hh] of one more level on a normalised finest band, each normalised by its gain."""
    raw = band * step / math.sqrt(gain)  # undo the band's normalisation, split, renormalise
    ll, details = lifting.forward(raw, 1)
    return [c * math.sqrt(x) / step for c, x in zip((ll, *details), _children_gains(gain))]


def child_shapes(shape: tuple[int, int]) -> list:
    """[ll, hl, lh, hh] shapes of one more level on a band of ``shape``."""
    ll, details = coder.band_shapes(*shape, 1)
    return [ll, *details]


def _band_id(first: int, orientation: int, child: int = 0) -> int:
    return first + 4 * orientation + child


def _code_band(t: Tables, o: int, shape: tuple, parent: np.ndarray | None, siblings: list, first: int,
               step: float, code: coder.Coder) -> tuple[np.ndarray, tuple]:
    """A finest band coded whole, as in a dyadic tile."""
    band = np.zeros(shape, np.int64)
    static = context.static_features(shape, parent, siblings)
    maps = coder.walk_detail(t, band, _band_id(first, o), band_class(1, o), static, step, code)
    return band, maps


def _code_children(t: Tables, o: int, shape: tuple, parent: np.ndarray | None, earlier: list, first: int,
                   step: float, code: coder.Coder) -> tuple[list, list]:
    """The four children of a finest band; ``earlier``: the children of the split orientations before it."""
    bands: list[np.ndarray] = []
    maps: list[tuple] = []
    for c, child_shape in enumerate(child_shapes(shape)):
        band = np.zeros(child_shape, np.int64)
        siblings = [np.abs(kids[c]) for kids in earlier] + [np.abs(b) for b in bands]
        static = context.static_features(child_shape, parent, siblings, parent_scale=1)
        maps.append(coder.walk_detail(t, band, _band_id(first, o, c), packet_class(t, o, c), static, step, code))
        bands.append(band)
    return bands, maps


class _Finest:
    """What the finest level holds so far, for the contexts of the orientations after it."""

    def __init__(self) -> None:
        self.bands: list = []  # whole bands coded (for a later whole band's siblings)
        self.children: list = []  # children lists of split orientations (for later children's siblings)
        self.parts: list = []  # per orientation: ("band", q, maps) or ("split", [q], [maps])

    def add(self, kind: str, q: Any, maps: Any) -> None:  # q, maps: one band's, or lists of four children's
        (self.bands if kind == "band" else self.children).append(q)
        self.parts.append((kind, q, maps))

    def siblings(self, shape: tuple[int, int]) -> list:
        """Sibling magnitudes for a whole finest band of ``shape``: the whole bands before it, and for
        each split one the mean magnitude of its four children over the 2 x 2 positions they cover."""
        out = [np.abs(b) for b in self.bands]
        for kids in self.children:
            mean = sum(np.abs(k[: kids[3].shape[0], : kids[3].shape[1]]) for k in kids) // 4
            grown = np.repeat(np.repeat(mean, 2, axis=0), 2, axis=1)
            out.append(np.pad(grown, ((0, max(0, shape[0] - grown.shape[0])), (0, max(0, shape[1] - grown.shape[1]))),
                              mode="edge")[: shape[0], : shape[1]])
        return out


def walk(t: Tables, shapes: list, step: float, ll_side: tuple[int, int], mask: int,
         code: coder.Coder, prediction: coder.Prediction) -> tuple[list, list, _Finest]:
    """The decoder's visit: the coarser levels, then each orientation whole or split as ``mask`` says."""
    levels = len(shapes) - 1
    q, maps = coder.walk(t, shapes[:levels], step, ll_side, code, finest_level=2, prediction=prediction)
    prediction.before(levels, q, maps, shapes[levels])
    first = 1 + 3 * (levels - 1)
    finest = _Finest()
    for o in range(3):
        parent = np.abs(q[levels - 1][o]) if levels >= 2 else None
        if mask >> o & 1:
            finest.add("split", *_code_children(t, o, shapes[levels][o], parent, finest.children, first, step, code))
        else:
            finest.add("band", *_code_band(t, o, shapes[levels][o], parent, finest.siblings(shapes[levels][o]), first, step, code))
    return q, maps, finest


def reconstruct(t: Tables, q: list, maps: list, finest: _Finest, split: Split, step: float,
                prediction: coder.Prediction) -> np.ndarray:
    """Dequantise, merge each split orientation's children back into its band, add the predictions,
    inverse transform."""
    gains = split.gains
    levels = len(gains) - 1
    bands = coder.dequantised(t, q, maps, gains, step, prediction)
    last = []
    for o, (kind, sym, band_maps) in enumerate(finest.parts):
        if kind == "band":  # as coder.dequantised computes it: an unsplit tile decodes as a dyadic one
            last.append((coder.dequantise(t, sym, band_maps[0], band_maps[1], detail=True)
                         + prediction.of(levels, o)) * step / math.sqrt(gains[levels][o]))
            continue
        predicted = prediction.of(levels, o) * step / math.sqrt(gains[levels][o])
        parts = [coder.dequantise(t, s, m[0], m[1], detail=True) * step / math.sqrt(g)
                 for s, m, g in zip(sym, band_maps, split.child_gains[o])]
        last.append(lifting.inverse([parts[0], tuple(parts[1:])]) + predicted)
    bands.append(tuple(last))
    return lifting.inverse(bands)


def symbols_of(q: list, finest: _Finest) -> list:
    """Every symbol band in coding order (the latent digest's input)."""
    out = coder.band_list(q)
    for kind, sym, _ in finest.parts:
        out.extend([sym] if kind == "band" else sym)
    return out


class _Recorder:
    """Runs the quantiser for one part of a tile and keeps what it would code, with its cost.

    ``values`` by band id; bands below ``first`` (the coarser levels) have their predictions
    subtracted as they are coded, the finest level's entries are residuals already.
    """

    def __init__(self, t: Tables, values: dict, prediction: coder.Prediction, first: int) -> None:
        self.t, self.values, self.prediction, self.first = t, values, prediction, first
        self.calls: list = []
        self.seen: list = []  # (pass, symbols, values) of each detail pass, for an observer
        self.cost = 0.0

    def code(self, p: coder.Pass) -> np.ndarray:
        values = self.values[p.band][p.mask]
        if p.band < self.first:
            values = values - self.prediction.at(p.band, p.mask)
        if p.band == 0:
            q = np.rint(values).astype(np.int64)
        else:
            q = coder.choose(self.t, values, p.index, p.shift)
            self.cost += coder.coded_cost(self.t, values, q, p.index, p.shift)
            self.seen.append((p, q, values))
        hi, lo = coder.split(q - p.mean, p.shift)
        self.calls.append((hi, p.index, lo, p.shift))
        return q


def encode(t: Tables, unit: np.ndarray, step: float, frame: int, index: int,
           force_mask: int | None = None, observe: coder.Observer | None = None) -> tuple[Tile, np.ndarray, list]:
    """Code one tile, splitting each finest orientation where that costs less, greedily in coding order.

    Returns the chunk, its reconstruction (float64) and the symbols. Where no orientation gains
    from a split, the chunk is the dyadic wavelet tile (``params`` empty), byte for byte what
    :func:`coder.encode_wavelet` writes: the dyadic coding is one of the two this function weighs.
    ``force_mask`` (0..7) imposes the splits; ``observe`` is shown every detail pass of the
    coding kept (model fitting samples them).
    """
    rows, columns = unit.shape
    levels = lifting.levels_for(rows, columns, t.max_levels)
    split = normalised(unit, levels, step)
    shapes = coder.band_shapes(rows, columns, levels)
    first = 1 + 3 * (levels - 1)
    values = dict(enumerate(coder.band_list(split.coarse)))
    prediction = coder.Prediction(t, step, levels)
    coarse = _Recorder(t, values, prediction, first)
    ll_side = coder.ll_parameters(split.coarse[0])
    q, maps = coder.walk(t, shapes[:levels], step, ll_side, coarse.code, finest_level=2, prediction=prediction)
    prediction.before(levels, q, maps, shapes[levels])
    for o in range(3):  # the whole band and its ll child are never both coded
        values[_band_id(first, o)] = split.finest[o] - prediction.of(levels, o)
    finest, chosen, mask = _Finest(), [coarse], 0
    for o in range(3):
        parent = np.abs(q[levels - 1][o]) if levels >= 2 else None
        whole = _Recorder(t, values, prediction, first)
        band = _code_band(t, o, shapes[levels][o], parent, finest.siblings(shapes[levels][o]), first, step, whole.code)
        kids_values = children(values[_band_id(first, o)], split.gains[levels][o], step)
        kids = _Recorder(t, {**values, **{_band_id(first, o, c): x for c, x in enumerate(kids_values)}},
                         prediction, first)
        coded_kids = _code_children(t, o, shapes[levels][o], parent, finest.children, first, step, kids.code)
        if (kids.cost < whole.cost) if force_mask is None else bool(force_mask >> o & 1):
            mask |= 1 << o
            finest.add("split", *coded_kids)
            chosen.append(kids)
        else:
            finest.add("band", *band)
            chosen.append(whole)
    encoder, raw = native.extension("ans").BufferedRansEncoder(), coder.RawBits()
    for recorder in chosen:
        for hi, idx, lo, shift in recorder.calls:
            encoder.encode_with_indexes(hi.tolist(), *t.using(idx))
            raw.add(lo, shift)
        if observe is not None:
            for seen in recorder.seen:
                observe(*seen)
    string = encoder.flush()
    side = coder.SIDE.pack(ll_side[0], ll_side[1], len(string))
    chunk = Tile(frame=frame, index=index, params=params(mask) if mask else (), side=side,
                 payload=string + raw.tobytes())
    return chunk, reconstruct(t, q, maps, finest, split, step, prediction), symbols_of(q, finest)


def decode(t: Tables, chunk: Tile, shape: tuple[int, int], step: float) -> tuple[np.ndarray, list]:
    """Reconstruct a packet tile; returns the unit-window pixels (float64) and the symbols."""
    mask = chunk.params[1] if len(chunk.params) == 2 else -1.0
    if len(chunk.side) != coder.SIDE.size or not worth_trying(shape) or mask not in range(1, ALL + 1):
        raise FormatError(
            f"tile {chunk.frame}/{chunk.index} is a wavelet-packet tile of {shape[0]}x{shape[1]} pixels with "
            f"{len(chunk.side)} side bytes and parameters {list(chunk.params)}; expected at least 32x32 pixels, "
            f"{coder.SIDE.size} bytes and parameters [2.0, mask 1..7]. The file is corrupt"
        )
    mean, sigma, length = coder.SIDE.unpack(chunk.side)
    if length > len(chunk.payload):
        raise FormatError(f"tile {chunk.frame}/{chunk.index} declares a {length}-byte rANS string in a "
                          f"{len(chunk.payload)}-byte payload. The file is corrupt")
    decoder = native.extension("ans").RansDecoder()
    raw = coder.RawBits(bytes(chunk.payload[length:]))
    decoder.set_stream(rans.padded(bytes(chunk.payload[:length]), shape[0] * shape[1]))

    def code(p: coder.Pass) -> np.ndarray:
        hi = np.asarray(decoder.decode_stream(*t.using(p.index)), np.int64)
        return coder.join(hi, raw.take(p.shift), p.shift) + p.mean

    levels = lifting.levels_for(*shape, t.max_levels)
    prediction = coder.Prediction(t, step, levels)
    q, maps, finest = walk(t, coder.band_shapes(*shape, levels), step, (mean, sigma), int(mask), code, prediction)
    gains = prediction.gains
    layout = Split([], [], gains, [_children_gains(gains[levels][o]) for o in range(3)])
    return reconstruct(t, q, maps, finest, layout, step, prediction), symbols_of(q, finest)
