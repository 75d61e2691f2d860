"""The wavelet-packet tile mode: the finest detail bands split once more.

CT and MR noise is not white: the reconstruction kernel shapes its spectrum, so
the finest HL, LH and HH bands (each half of the spectrum along one axis) hold
energy that is far from uniform inside them.  Splitting each of them by one more
2-D CDF 9/7 level (a wavelet packet, as JPEG 2000 Part 2 allows) separates the
noise peak from the quieter rest and lets each part have its own statistics.  It
does not pay on every image (a smooth head CT codes 14 % larger), so the encoder
codes both and keeps the cheaper (:func:`mcz.codec.wavelet.tiles.encode_tile`).

Coding reuses the dyadic coder: the twelve children are coded after the coarser
levels, each as a detail band with its own class (checkpoints that have
``packet_weights``; older ones use the finest level's classes), with the parent
feature taken from the co-located coefficient of the next coarser band of the
same orientation (children have its size) and the siblings from the same child
of the orientations coded before and the earlier children of the same band.
The model's probability tables and reconstruction offsets are shared.

Tile ``params``: :data:`PARAMS`; ``side`` and payload as a dyadic wavelet tile.
"""

from __future__ import annotations

import math

import numpy as np

from mcz.codec import native, rans
from mcz.codec.wavelet import coder, context, lifting
from mcz.codec.wavelet.model import Tables, packet_class
from mcz.container import Tile
from mcz.errors import FormatError

#: The tile parameter that marks a packet tile (the block-DCT tile uses 8.0, a dyadic one none).
PARAMS = (2.0,)


def worth_trying(shape: tuple[int, int]) -> bool:
    """Children of the finest bands need at least 2 x 2 coefficients and a coarser level above them."""
    return min(shape) >= 32


def _children_gains(gain: float) -> list:
    g1 = lifting.band_gains(1)
    return [gain * g1[0], tuple(gain * x for x in g1[1])]


def normalised(unit: np.ndarray, levels: int, step: float) -> tuple[list, list, list]:
    """Dyadic bands down to level 2, then the finest three bands' children, all gain-normalised.

    Returns (coarse bands as :func:`coder.normalised`, minus the finest level), the children
    (per orientation: [ll, (hl, lh, hh)]) and their gains.
    """
    bands, gains = coder.normalised(unit, levels, step)
    children, child_gains = [], []
    for o in range(3):
        g = gains[levels][o]
        # Undo the parent's normalisation, split, normalise each child by its own gain.
        raw = bands[levels][o] * step / math.sqrt(g)
        ll, details = lifting.forward(raw, 1)
        cg = _children_gains(g)
        children.append([ll * math.sqrt(cg[0]) / step,
                         tuple(d * math.sqrt(x) / step for d, x in zip(details, cg[1]))])
        child_gains.append(cg)
    return bands[:levels], children, child_gains


def child_shapes(shape: tuple[int, int]) -> list:
    """[ll, (hl, lh, hh)] shapes of one more level on a band of ``shape``."""
    return coder.band_shapes(*shape, 1)


def flat(children: list) -> list:
    """The children of :func:`normalised` in coding order (HL's ll, hl, lh, hh, then LH's, then HH's)."""
    return [c for per in children for c in (per[0], *per[1])]


def walk(t: Tables, shapes: list, step: float, ll_side: tuple[int, int], code: coder.Coder) -> tuple:
    """Visit every pass: the dyadic levels down to level 2, then the 12 children.

    Returns (dyadic symbols, dyadic maps, child symbols, child maps); children are flat,
    orientation-major (HL's ll, hl, lh, hh, then LH's, then HH's).
    """
    levels = len(shapes) - 1
    q, maps = coder.walk(t, shapes[:levels], step, ll_side, code)
    first_id = 1 + 3 * (levels - 1)
    q_children: list = []
    child_maps: list = []
    for o in range(3):
        parent = np.abs(q[levels - 1][o]) if levels >= 2 else None
        cs = child_shapes(shapes[levels][o])
        flat_shapes = [cs[0], *cs[1]]
        for c, shape in enumerate(flat_shapes):
            band = np.zeros(shape, np.int64)
            # Siblings: the same child of the orientations coded before, and this band's earlier children.
            siblings = [np.abs(q_children[4 * k + c]) for k in range(o)] + [np.abs(q_children[4 * o + k]) for k in range(c)]
            static = context.static_features(shape, parent, siblings, parent_scale=1)
            child_maps.append(coder.walk_detail(
                t, band, first_id + 4 * o + c, packet_class(t, o, c), static, step, code))
            q_children.append(band)
    return q, maps, q_children, child_maps


def reconstruct(t: Tables, q: list, maps: list, q_children: list, child_maps: list, gains: list,
                child_gains: list, step: float) -> np.ndarray:
    """Dequantise, merge each orientation's children back into its band, inverse transform."""
    bands = [coder.dequantise(t, q[0], *maps[0], detail=False) * step / math.sqrt(gains[0])]
    for depth in range(1, len(q)):
        bands.append(tuple(
            coder.dequantise(t, q[depth][o], *maps[depth][o], detail=True) * step / math.sqrt(gains[depth][o])
            for o in range(3)
        ))
    finest = []
    for o in range(3):
        cg = child_gains[o]
        flat_gains = [cg[0], *cg[1]]
        parts = [coder.dequantise(t, q_children[4 * o + c], *child_maps[4 * o + c], detail=True)
                 * step / math.sqrt(flat_gains[c]) for c in range(4)]
        finest.append(lifting.inverse([parts[0], tuple(parts[1:])]))
    bands.append(tuple(finest))
    return lifting.inverse(bands)


def encode(t: Tables, unit: np.ndarray, step: float, frame: int, index: int) -> tuple[Tile, np.ndarray, list]:
    """Code one tile in the packet mode; returns the chunk, its reconstruction and the symbols."""
    encoder, raw = native.extension("ans").BufferedRansEncoder(), coder.RawBits()
    levels = lifting.levels_for(*unit.shape, t.max_levels)
    coarse, children, child_gains = normalised(unit, levels, step)
    flat_u = coder.band_list(coarse) + flat(children)
    ll_side = coder.ll_parameters(coarse[0])

    def code(p: coder.Pass) -> np.ndarray:
        values = flat_u[p.band][p.mask]
        q = np.rint(values).astype(np.int64) if p.band == 0 else coder.choose(t, values, p.index, p.shift)
        hi, lo = coder.split(q - p.mean, p.shift)
        encoder.encode_with_indexes(hi.tolist(), *t.using(p.index))
        raw.add(lo, p.shift)
        return q

    shapes = coder.band_shapes(*unit.shape, levels)
    q, maps, qc, cmaps = walk(t, shapes, step, ll_side, code)
    string = encoder.flush()
    side = coder.SIDE.pack(ll_side[0], ll_side[1], len(string))
    chunk = Tile(frame=frame, index=index, params=PARAMS, side=side, payload=string + raw.tobytes())
    gains = lifting.band_gains(levels)
    recon = reconstruct(t, q, maps, qc, cmaps, gains, child_gains, step)
    return chunk, recon, coder.band_list(q) + qc


def decode(t: Tables, chunk: Tile, shape: tuple[int, int], step: float) -> tuple[np.ndarray, list]:
    """Reconstruct a packet tile; returns the unit-window pixels (float64) and the symbols."""
    if len(chunk.side) != coder.SIDE.size or not worth_trying(shape):
        raise FormatError(
            f"tile {chunk.frame}/{chunk.index} is a wavelet-packet tile of {shape[0]}x{shape[1]} pixels with "
            f"{len(chunk.side)} side bytes; expected at least 32x32 pixels and {coder.SIDE.size} bytes. "
            "The file is corrupt"
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
    q, maps, qc, cmaps = walk(t, coder.band_shapes(*shape, levels), step, (mean, sigma), code)
    gains = lifting.band_gains(levels)
    child_gains = [_children_gains(gains[levels][o]) for o in range(3)]
    return reconstruct(t, q, maps, qc, cmaps, gains, child_gains, step), coder.band_list(q) + qc
