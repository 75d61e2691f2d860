"""The wavelet family's second tile mode: an 8 x 8 block DCT for images that were JPEG files.

A tile is coded in this mode when it costs less (squared error + kappa * bits, the quantiser's own
rate-distortion measure) than the wavelet; :func:`mcz.codec.wavelet.coder.encode_tile` tries both.
On images that passed through JPEG, the grid-aligned DCT is sparse (docs/wavelet.md); on native
images the wavelet wins and this mode is never chosen.

Coding: coefficients in quantiser steps (the same step as the wavelet at that quality: the DCT is
orthonormal), the DC by differences with its left neighbour (and the first column with its upper
one), the AC by the same rate-distortion choice as the wavelet's detail bands. Each of the 64
frequencies gets one of the model's probability tables (and a raw-bit shift), chosen by exact code
length; an all-zero frequency costs nothing. The choices travel in the tile's side information.

Images that were JPEG files carry more: each frequency sits on the lattice of its JPEG quantisation
step. The encoder looks for such a lattice per AC frequency (:func:`lattice`) and, where coding on it
is cheaper, codes the multiples of the lattice spacing instead of multiples of the step.

Tile: ``params`` = (8.0,) (the block size; wavelet tiles have none); ``side`` = ``>I`` rANS length,
then the raw DEFLATE of 64 (table, shift) byte pairs (table 255: every symbol zero) followed by 64
big-endian float32 lattice spacings in steps (0: none); ``payload`` = the rANS string, then the raw
low bits of shifted symbols.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from mcz.codec import native, rans
from mcz.codec.wavelet import blockdct
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
#: Inflated side information: (table, shift) bytes and a big-endian float32 lattice spacing per frequency.
_SIDE_BYTES = 2 * _FREQS + 4 * _FREQS


def worth_trying(shape: tuple[int, int]) -> bool:
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


def choose_tables(t, columns: np.ndarray) -> np.ndarray:
    """(64, 2) uint8: the cheapest (table, shift) of each frequency; (ZERO, 0) if all zero."""
    return _choose_with_bits(t, columns)[0]


def _choose_with_bits(t, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`choose_tables` and each frequency's code length in bits."""
    out = np.zeros((_FREQS, 2), np.uint8)
    total = np.zeros(_FREQS)
    for f, sym in enumerate(columns):
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
            raise ValueError(f"no table holds frequency {f}'s symbols up to {int(np.abs(values).max())}")
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
_CANDIDATES = LATTICE_MIN * 1.02 ** np.arange(400)
#: Largest lattice spacing a decoder accepts (steps).
MAX_SPACING = 1e9


def _dequantise(t, k: np.ndarray, choice: np.ndarray, spacing: np.ndarray) -> np.ndarray:
    """Coefficients in steps: lattice frequencies k * spacing, other AC with the learned reconstruction
    offsets of their table, the DC as is."""
    from mcz.codec.wavelet import coder

    flat = k.reshape(-1, _FREQS)
    out = flat.astype(np.float64)
    for f in range(1, _FREQS):
        index, shift = int(choice[f, 0]), int(choice[f, 1])
        if index == ZERO:
            continue
        if spacing[f] > 0:
            out[:, f] = flat[:, f] * spacing[f]
        else:
            n = len(flat)
            out[:, f] = coder.dequantise(t, flat[:, f], np.full(n, index), np.full(n, shift), detail=True)
    return out.reshape(k.shape)


def _rdo(t, u: np.ndarray, k: np.ndarray, choice: np.ndarray) -> np.ndarray:
    """Rate-distortion choice of every AC symbol under its frequency's table (DC stays rounded)."""
    from mcz.codec.wavelet import coder

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
    for k, sp in ((plain, np.zeros(_FREQS)), (on, spacing)):
        choice, bits = _choose_with_bits(t, _columns(k))
        error = ((flat_u - _dequantise(t, k, choice, sp).reshape(-1, _FREQS)) ** 2).sum(axis=0)
        costs.append(error + t.kappa * (bits + 32 * (sp > 0)))
    use = (spacing > 0) & (costs[1] < costs[0])
    k = np.where(use, on.reshape(-1, _FREQS), plain.reshape(-1, _FREQS)).reshape(u.shape)
    return k, np.where(use, spacing, 0.0)


def encode(t, unit: np.ndarray, step: float, frame: int, index: int) -> tuple[Tile, np.ndarray, list]:
    """Code one tile in block mode; returns the chunk, its reconstruction (unit window) and its symbols."""
    from mcz.codec.wavelet import coder

    k, spacing = _quantise(t, blockdct.forward(unit) / step)
    columns = _columns(k)
    choice = choose_tables(t, columns)
    encoder, raw = native.extension("ans").BufferedRansEncoder(), coder.RawBits()
    for f, sym in enumerate(columns):
        table, shift = int(choice[f, 0]), int(choice[f, 1])
        if table == ZERO:
            continue
        hi, lo = coder.split(sym, np.full(len(sym), shift))
        encoder.encode_with_indexes(hi.tolist(), [table] * len(sym), t.cdfs, t.cdf_lengths, t.offsets.tolist())
        raw.add(lo, np.full(len(sym), shift))
    if int(columns.shape[1] * (choice[:, 0] != ZERO).sum()) < FEW_SYMBOLS:
        # Room for the final state in CompressAI's flush buffer, as the wavelet mode does (never decoded).
        encoder.encode_with_indexes([0] * FLUSH_ROOM, [0] * FLUSH_ROOM, t.cdfs, t.cdf_lengths, t.offsets.tolist())
    string = encoder.flush()
    side = _LENGTH.pack(len(string)) + _deflate(choice.tobytes() + spacing.astype(">f4").tobytes())
    chunk = Tile(frame=frame, index=index, params=PARAMS, side=side, payload=string + raw.tobytes())
    recon = blockdct.inverse(_dequantise(t, k, choice, spacing) * step, unit.shape)
    return chunk, recon, [columns]


def decode(t, chunk: Tile, shape: tuple[int, int], step: float) -> tuple[np.ndarray, list]:
    """Reconstruct a block-mode tile (unit window) and return its symbols."""
    from mcz.codec.wavelet import coder

    length, choice, spacing = _side(t, chunk)
    down, across = blockdct.grid(*shape)
    blocks = down * across
    decoder, raw = native.extension("ans").RansDecoder(), coder.RawBits(bytes(chunk.payload[length:]))
    decoder.set_stream(rans.padded(bytes(chunk.payload[:length]), blocks * _FREQS))
    columns = np.zeros((_FREQS, blocks), np.int64)
    for f in range(_FREQS):
        table, shift = int(choice[f, 0]), int(choice[f, 1])
        if table == ZERO:
            continue
        hi = np.asarray(decoder.decode_stream([table] * blocks, t.cdfs, t.cdf_lengths, t.offsets.tolist()), np.int64)
        shifts = np.full(blocks, shift)
        columns[f] = coder.join(hi, raw.take(shifts), shifts)
    k = columns.T.reshape(down, across, _FREQS).copy()
    k[:, :, 0] = _dc_from_residual(k[:, :, 0])
    k = k.reshape(down, across, blockdct.BLOCK, blockdct.BLOCK)
    return blockdct.inverse(_dequantise(t, k, choice, spacing) * step, shape), [columns]


def _deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def _side(t, chunk: Tile) -> tuple[int, np.ndarray, np.ndarray]:
    """The rANS length, the (64, 2) table choices and the 64 lattice spacings of a block-mode tile, checked."""
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
    choice = np.frombuffer(raw[: 2 * _FREQS], np.uint8).reshape(_FREQS, 2)
    spacing = np.frombuffer(raw[2 * _FREQS :], ">f4").astype(np.float64)
    if not (np.all(np.isfinite(spacing)) and np.all((spacing >= 0) & (spacing <= MAX_SPACING))) or spacing[0]:
        raise FormatError(f"{where}: the block mode's lattice spacings {spacing[:4].tolist()}... are not "
                          f"finite values in 0..{MAX_SPACING} (the DC has none). The file is corrupt")
    bad = ((choice[:, 0] >= t.count) & (choice[:, 0] != ZERO)) | (choice[:, 1] > MAX_SHIFT)
    if bad.any():
        f = int(np.flatnonzero(bad)[0])
        raise FormatError(f"{where}: frequency {f} names table {choice[f, 0]} with shift {choice[f, 1]}; "
                          f"expected a table below {t.count} (or {ZERO}) and a shift of at most {MAX_SHIFT}. "
                          "The file is corrupt")
    return length, choice, spacing
