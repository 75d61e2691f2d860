"""The wavelet family's second tile mode: an 8 x 8 block DCT for images that were JPEG files.

A tile is coded in this mode when it costs less (squared error + kappa * bits, the quantiser's own
rate-distortion measure) than the wavelet; :func:`mcz.codec.wavelet.tiles.encode_tile` tries both.
On images that passed through JPEG, the grid-aligned DCT is sparse (docs/wavelet.md); on native
images the wavelet wins and this mode is never chosen.

Coding: coefficients in quantiser steps (the same step as the wavelet at that quality: the DCT is
orthonormal), the DC by differences with its left neighbour (and the first column with its upper
one), the AC by the same rate-distortion choice as the wavelet's detail bands, frequency by frequency
in zigzag order. Each AC symbol falls in one of five context bins by the sum of magnitudes of its
block's AC symbols coded before it (:func:`contexts`); each (frequency, bin) gets one of the model's
probability tables (and a raw-bit shift), chosen by exact code length; an all-zero group costs
nothing. The choices travel in the tile's side information.

Images that were JPEG files carry more: each frequency sits on the lattice of its JPEG quantisation
step. The encoder looks for such a lattice per AC frequency (:func:`lattice`) and, where coding on it
is cheaper, codes the multiples of the lattice spacing instead of multiples of the step.

Tile: ``params`` = (8.0,) (the block size; wavelet tiles have none); ``side`` = ``>I`` rANS length,
then the raw DEFLATE of 64 x 5 (table, shift) byte pairs, by frequency (row-major) then context bin
(table 255: every symbol of the group zero), followed by 64 big-endian float32 lattice spacings in
steps (0: none); ``payload`` = the rANS string, then the raw
low bits of shifted symbols.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from mcz.codec import native, rans
from mcz.codec.wavelet import blockdct, coder
from mcz.container import Tile
from mcz.errors import FormatError

#: ``Tile.params`` of a block-DCT tile.
PARAMS = (float(blockdct.BLOCK),)
#: Table byte of a frequency whose symbols are all zero (nothing coded).
ZERO = 255
#: Largest raw-bit shift the encoder uses (a decoder refuses more).
MAX_SHIFT = 40
#: Fewer coded symbols than this get FLUSH_ROOM unread trailing ones (see :func:`encode`).
FEW_SYMBOLS = 16
FLUSH_ROOM = 4
_LENGTH = struct.Struct(">I")
_FREQS = blockdct.BLOCK * blockdct.BLOCK
#: Context bins of an AC symbol (:func:`contexts`): edges of the sum of the block's earlier AC magnitudes.
CONTEXT_EDGES = np.array([1, 3, 7, 16], np.int64)
BINS = len(CONTEXT_EDGES) + 1
#: JPEG's zigzag order of the 64 frequencies (row-major indices), low frequencies first.
ZIGZAG = tuple(sorted(range(_FREQS), key=lambda f: (f // 8 + f % 8, f // 8 if (f // 8 + f % 8) % 2 else -(f // 8))))
#: Inflated side information: (table, shift) bytes per (frequency, context bin), then a big-endian
#: float32 lattice spacing per frequency.
_SIDE_BYTES = 2 * _FREQS * BINS + 4 * _FREQS


def worth_trying(shape: tuple[int, ...]) -> bool:
    """Whether a tile is large enough for the block mode to pay for its side information."""
    return shape[0] >= 2 * blockdct.BLOCK and shape[1] >= 2 * blockdct.BLOCK


def _dc_residual(dc: np.ndarray) -> np.ndarray:
    """DC symbols as differences: along each row, and the first column down the rows."""
    out = dc.copy()
    out[:, 1:] = dc[:, 1:] - dc[:, :-1]
    out[1:, 0] = dc[1:, 0] - dc[:-1, 0]
    return out


def _dc_from_residual(res: np.ndarray) -> np.ndarray:
    first = np.cumsum(res[:, 0])
    return np.cumsum(np.concatenate([first[:, None], res[:, 1:]], axis=1), axis=1)


def _columns(k: np.ndarray) -> np.ndarray:
    """(64, blocks) symbols in coding order: frequency by frequency, the DC as differences."""
    cols = k.reshape(k.shape[0], k.shape[1], _FREQS).copy()
    cols[:, :, 0] = _dc_residual(cols[:, :, 0])
    return cols.reshape(-1, _FREQS).T


def _bits_of(t, values: np.ndarray, counts: np.ndarray, shift: int) -> np.ndarray:
    """Code length of the symbols (``values`` with ``counts``) under every table at ``shift``."""
    hi = (values + ((1 << shift) >> 1)) >> shift
    col = hi[None, :] - t.offsets[:, None]
    inside = (col >= 0) & (col < t.bits.shape[1] - 1)
    # Never CompressAI's escape: its bypass words can overflow the encoder's output buffer (one
    # word per symbol), which crashed the process; a larger shift always brings a symbol inside.
    per = np.where(inside, np.take_along_axis(t.bits, np.clip(col, 0, t.bits.shape[1] - 1), axis=1), np.inf)
    return (per * counts).sum(axis=1) + shift * counts.sum()


def choose_tables(t, groups: list[np.ndarray] | np.ndarray) -> np.ndarray:
    """(groups, 2) uint8: the cheapest (table, shift) of each group of symbols; (ZERO, 0) if all zero."""
    return _choose_with_bits(t, groups)[0]


def _choose_with_bits(t, groups: list[np.ndarray] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`choose_tables` and each group's code length in bits."""
    out = np.zeros((len(groups), 2), np.uint8)
    total = np.zeros(len(groups))
    for f, sym in enumerate(groups):
        if not sym.any():
            out[f] = (ZERO, 0)
            continue
        values, counts = np.unique(sym, return_counts=True)
        best = None
        for shift in range(MAX_SHIFT + 1):
            bits = _bits_of(t, values, counts, shift)
            i = int(np.argmin(bits))
            if np.isfinite(bits[i]) and (best is None or bits[i] < best[0]):
                best = (bits[i], i, shift)
            if int(np.abs(values).max()) >> shift <= 1:
                break
        if best is None:
            raise ValueError(f"no table holds group {f}'s symbols up to {int(np.abs(values).max())}")
        out[f] = best[1:]
        total[f] = best[0]
    return out, total


def lattice(u: np.ndarray) -> float:
    """The spacing (in steps) of a lattice that the coefficients ``u`` of one frequency sit on, or 0.

    JPEG quantised every frequency with its own step; after decoding, the coefficients lie within
    pixel-rounding noise of multiples of it. The largest spacing of at least ``LATTICE_MIN`` steps
    that holds ``LATTICE_SHARE`` of the clearly non-zero coefficients (within ``LATTICE_TOLERANCE``
    of a spacing) is refined by least squares; 0 if none holds or too few coefficients say so.
    """
    big = u[np.abs(u) > 0.5 * LATTICE_MIN]
    big = big[:: max(1, big.size // LATTICE_SAMPLE)]  # a regular sample bounds the search on big images
    if big.size < LATTICE_COUNT:
        return 0.0
    for spacing in _CANDIDATES[::-1]:
        sel = big[np.abs(big) > 0.5 * spacing]
        if sel.size < LATTICE_COUNT:
            continue
        m = np.rint(sel / spacing)
        if np.mean(np.abs(sel - m * spacing) <= LATTICE_TOLERANCE * spacing) < LATTICE_SHARE:
            continue
        for _ in range(2):  # refine: least squares over the multiples, then reassign
            m = np.rint(sel / spacing)
            spacing = float(np.sum(m * sel) / np.sum(m * m))
        return float(np.float32(spacing))
    return 0.0


#: Lattice search: spacings from ``LATTICE_MIN`` steps up, 2 % apart.
LATTICE_MIN = 1.5
LATTICE_TOLERANCE = 0.15
LATTICE_SHARE = 0.9
LATTICE_COUNT = 30
LATTICE_SAMPLE = 20000
_CANDIDATES = LATTICE_MIN * 1.02 ** np.arange(400)
#: Largest lattice spacing a decoder accepts (steps).
MAX_SPACING = 1e9


def _dequantise(t, k: np.ndarray, index: np.ndarray, shift: np.ndarray, spacing: np.ndarray) -> np.ndarray:
    """Coefficients in steps: lattice frequencies k * spacing, other AC with the learned reconstruction
    offsets of each symbol's table (``index``, ``shift``: (64, blocks)), the DC as is."""
    flat = k.reshape(-1, _FREQS)
    out = flat.astype(np.float64)
    for f in range(1, _FREQS):
        if spacing[f] > 0:
            out[:, f] = flat[:, f] * spacing[f]
        elif flat[:, f].any():
            # ZERO marks groups of zeros only, which take no offset; 0 keeps the index in range
            out[:, f] = coder.dequantise(t, flat[:, f], np.where(index[f] == ZERO, 0, index[f]), shift[f],
                                         detail=True)
    return out.reshape(k.shape)


def _per_symbol(choice: np.ndarray, contexts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(64, blocks) table index and shift of every symbol from the (64, BINS, 2) choices."""
    rows = np.arange(_FREQS)[:, None]
    picked = choice[rows, contexts]
    return picked[..., 0].astype(np.int64), picked[..., 1].astype(np.int64)


def contexts(columns: np.ndarray) -> np.ndarray:
    """(64, blocks) context bin of every symbol: how much of the block's AC was non-zero before it.

    The AC frequencies are coded in zigzag order; a symbol's bin counts the sum of the magnitudes of
    the block's AC symbols coded before it against :data:`CONTEXT_EDGES` (the DC is bin 0). Blocks
    with little low-frequency content mostly hold zeros at higher frequencies: a flat background costs
    almost nothing, and busy blocks get wider tables.
    """
    out = np.zeros(columns.shape, np.int64)
    total = np.zeros(columns.shape[1], np.int64)
    for f in ZIGZAG[1:]:
        out[f] = _bin(total)
        total += np.abs(columns[f])
    return out


def _bin(total: np.ndarray) -> np.ndarray:
    """Context bin of each block's running sum of AC magnitudes (the encoder's and decoder's rule)."""
    return np.searchsorted(CONTEXT_EDGES, total, side="right")


def _choose_grouped(t, columns: np.ndarray, ctx: np.ndarray) -> np.ndarray:
    """(64, BINS, 2) cheapest (table, shift) of every (frequency, context bin)."""
    groups = [columns[f][ctx[f] == c] for f in range(_FREQS) for c in range(BINS)]
    return choose_tables(t, groups).reshape(_FREQS, BINS, 2)


def _rdo(t, u: np.ndarray, k: np.ndarray, choice: np.ndarray) -> np.ndarray:
    """Rate-distortion choice of every AC symbol under its frequency's table (DC stays rounded)."""
    flat_u, flat_k = u.reshape(-1, _FREQS), k.reshape(-1, _FREQS).copy()
    for f in range(1, _FREQS):
        index, shift = int(choice[f, 0]), int(choice[f, 1])
        if index == ZERO:
            continue
        n = len(flat_u)
        flat_k[:, f] = coder.choose(t, flat_u[:, f], np.full(n, index), np.full(n, shift))
    return flat_k.reshape(k.shape)


def _quantise(t, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symbols (blocks, blocks, 8, 8) and per-frequency lattice spacings (64,) of coefficients in steps.

    Each AC frequency is quantised both ways, on the step (with the rate-distortion choice) and, when
    a lattice is found, on the lattice; the one with the lower squared error + kappa * bits is kept.
    """
    plain = np.rint(u).astype(np.int64)
    plain = _rdo(t, u, plain, choose_tables(t, _columns(plain)))
    flat_u = u.reshape(-1, _FREQS)
    spacing = np.array([0.0] + [lattice(flat_u[:, f]) for f in range(1, _FREQS)])
    on = np.where(spacing > 0, np.rint(flat_u / np.where(spacing > 0, spacing, 1.0)), 0).astype(np.int64)
    on = on.reshape(u.shape)
    costs = []
    blocks = flat_u.shape[0]
    for k, sp in ((plain, np.zeros(_FREQS)), (on, spacing)):
        choice, bits = _choose_with_bits(t, _columns(k))
        index = np.repeat(choice[:, :1].astype(np.int64), blocks, axis=1)
        shift = np.repeat(choice[:, 1:].astype(np.int64), blocks, axis=1)
        error = ((flat_u - _dequantise(t, k, index, shift, sp).reshape(-1, _FREQS)) ** 2).sum(axis=0)
        costs.append(error + t.kappa * (bits + 32 * (sp > 0)))
    use = (spacing > 0) & (costs[1] < costs[0])
    k = np.where(use, on.reshape(-1, _FREQS), plain.reshape(-1, _FREQS)).reshape(u.shape)
    return k, np.where(use, spacing, 0.0)


#: AC frequencies probed for a JPEG lattice before the block mode is tried: every fourth in zigzag
#: order (16), so a JPEG-sourced image shows one at any quality while a native one costs a quarter
#: of the full search.
PROBED = ZIGZAG[1::4]


def coefficients(unit: np.ndarray, step: float) -> np.ndarray:
    """The tile's grid-aligned 8 x 8 DCT coefficients in steps (what :func:`encode` quantises)."""
    return blockdct.forward(unit) / step


def on_a_lattice(u: np.ndarray) -> bool:
    """Whether any probed frequency of the coefficients ``u`` sits on a JPEG lattice.

    Without one the block mode loses to the wavelet (by 13-24 % on native CT/MR slices), so the
    encoder tries it only where this holds: the lattice search is most of the block mode's cost.
    """
    flat = u.reshape(-1, _FREQS)
    return any(lattice(flat[:, f]) > 0 for f in PROBED)


def encode(t, unit: np.ndarray, step: float, frame: int, index: int,
           u: np.ndarray | None = None) -> tuple[Tile, np.ndarray, list]:
    """Code one tile in block mode; returns the chunk, its reconstruction (unit window) and its symbols.

    ``u`` may hold the tile's :func:`coefficients` already computed.
    """
    k, spacing = _quantise(t, coefficients(unit, step) if u is None else u)
    columns = _columns(k)
    ctx = contexts(columns)
    choice = _choose_grouped(t, columns, ctx)
    tables, shifts = _per_symbol(choice, ctx)
    encoder, raw = native.extension("ans").BufferedRansEncoder(), coder.RawBits()
    coded = 0
    for f in ZIGZAG:
        keep = tables[f] != ZERO
        if not keep.any():
            continue
        hi, lo = coder.split(columns[f][keep], shifts[f][keep])
        encoder.encode_with_indexes(hi.tolist(), *t.using(tables[f][keep]))
        raw.add(lo, shifts[f][keep])
        coded += int(keep.sum())
    if coded < FEW_SYMBOLS:
        # Room for the final state in CompressAI's flush buffer, as the wavelet mode does (never decoded).
        encoder.encode_with_indexes([0] * FLUSH_ROOM, *t.using(np.zeros(FLUSH_ROOM, np.int64)))
    string = encoder.flush()
    side = _LENGTH.pack(len(string)) + _deflate(choice.tobytes() + spacing.astype(">f4").tobytes())
    chunk = Tile(frame=frame, index=index, params=PARAMS, side=side, payload=string + raw.tobytes())
    recon = blockdct.inverse(_dequantise(t, k, tables, shifts, spacing) * step, unit.shape)
    return chunk, recon, [columns]


def decode(t, chunk: Tile, shape: tuple[int, int], step: float) -> tuple[np.ndarray, list]:
    """Reconstruct a block-mode tile (unit window) and return its symbols."""
    length, choice, spacing = _side(t, chunk)
    down, across = blockdct.grid(*shape)
    blocks = down * across
    decoder, raw = native.extension("ans").RansDecoder(), coder.RawBits(bytes(chunk.payload[length:]))
    decoder.set_stream(rans.padded(bytes(chunk.payload[:length]), blocks * _FREQS))
    columns = np.zeros((_FREQS, blocks), np.int64)
    tables, shifts = np.zeros((_FREQS, blocks), np.int64), np.zeros((_FREQS, blocks), np.int64)
    total = np.zeros(blocks, np.int64)  # the context sums of :func:`contexts`, as symbols arrive
    for f in ZIGZAG:
        ctx = _bin(total) if f else np.zeros(blocks, np.int64)
        tables[f], shifts[f] = choice[f, ctx, 0], choice[f, ctx, 1]
        keep = tables[f] != ZERO
        if keep.any():
            hi = np.asarray(decoder.decode_stream(*t.using(tables[f][keep])), np.int64)
            columns[f][keep] = coder.join(hi, raw.take(shifts[f][keep]), shifts[f][keep])
        if f:
            total += np.abs(columns[f])
    k = columns.T.reshape(down, across, _FREQS).copy()
    k[:, :, 0] = _dc_from_residual(k[:, :, 0])
    k = k.reshape(down, across, blockdct.BLOCK, blockdct.BLOCK)
    return blockdct.inverse(_dequantise(t, k, tables, shifts, spacing) * step, shape), [columns]


def _deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def _side(t, chunk: Tile) -> tuple[int, np.ndarray, np.ndarray]:
    """The rANS length, the (64, BINS, 2) table choices and the 64 lattice spacings of a block-mode tile, checked."""
    where = f"tile {chunk.frame}/{chunk.index}"
    if len(chunk.side) < _LENGTH.size:
        raise FormatError(f"{where} (block mode) has {len(chunk.side)} side bytes, expected at least "
                          f"{_LENGTH.size}. The file is corrupt")
    (length,) = _LENGTH.unpack_from(chunk.side)
    if length > len(chunk.payload):
        raise FormatError(f"{where} declares a {length}-byte rANS string in a {len(chunk.payload)}-byte "
                          "payload. The file is corrupt")
    inflater = zlib.decompressobj(-15)
    try:
        raw = inflater.decompress(bytes(chunk.side[_LENGTH.size:]), _SIDE_BYTES + 1)
    except zlib.error as exc:
        raise FormatError(f"{where}: the block mode's table choices do not inflate ({exc}). The file is "
                          "corrupt") from exc
    if len(raw) != _SIDE_BYTES or not inflater.eof or inflater.unused_data:
        raise FormatError(f"{where}: the block mode's table choices take {len(raw)} bytes, expected "
                          f"{_SIDE_BYTES} in one complete stream. The file is corrupt")
    choice = np.frombuffer(raw[: 2 * _FREQS * BINS], np.uint8).reshape(_FREQS, BINS, 2)
    spacing = np.frombuffer(raw[2 * _FREQS * BINS :], ">f4").astype(np.float64)
    if not (np.all(np.isfinite(spacing)) and np.all((spacing >= 0) & (spacing <= MAX_SPACING))) or spacing[0]:
        raise FormatError(f"{where}: the block mode's lattice spacings {spacing[:4].tolist()}... are not "
                          f"finite values in 0..{MAX_SPACING} (the DC has none). The file is corrupt")
    bad = (((choice[..., 0] >= t.count) & (choice[..., 0] != ZERO)) | (choice[..., 1] > MAX_SHIFT)).any(axis=1)
    if bad.any():
        f = int(np.flatnonzero(bad)[0])
        raise FormatError(f"{where}: frequency {f} names tables {choice[f, :, 0].tolist()} with shifts "
                          f"{choice[f, :, 1].tolist()}; "
                          f"expected a table below {t.count} (or {ZERO}) and a shift of at most {MAX_SHIFT}. "
                          "The file is corrupt")
    return length, choice, spacing
