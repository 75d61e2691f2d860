"""Tile modes of the wavelet family and the encoder's choice among them.

Three ways to code a tile share the model's tables and the quantiser step:

* the dyadic CDF 9/7 wavelet (:mod:`mcz.codec.wavelet.coder`; ``params`` empty),
* the same with some of the finest bands split once more, a wavelet packet
  (:mod:`mcz.codec.wavelet.packet`; ``params`` = (2.0, mask)),
* the grid-aligned 8 x 8 block DCT that finds a JPEG lattice
  (:mod:`mcz.codec.wavelet.dctcoder`; ``params`` = (8.0,)),
* at the top of the rate range, the stored integers themselves, near-lossless through JPEG-XL
  (:mod:`mcz.codec.wavelet.pixel`; ``params`` = (1.0, K)).

The encoder keeps the one with the lowest squared error + kappa * bits in quantiser steps (the
measure its quantiser minimises); the decoder reads the mode from the tile's parameters.
"""

from __future__ import annotations

import numpy as np

from mcz.codec.wavelet import coder, dctcoder, packet, pixel
from mcz.codec.wavelet.model import Tables
from mcz.container import Tile

Coded = tuple[Tile, np.ndarray, list]


def encode_tile(t: Tables, unit: np.ndarray, quality: int, range_per_unit: float,
                frame: int, index: int, block: bool = True, span: int | None = None) -> Coded:
    """Code one tile (values in the unit window); returns the chunk, its reconstruction and the symbols.

    The tile is coded with the wavelet, its finest bands split where that pays if ``block`` and the
    tile is large enough (:func:`packet.encode`), where its 8 x 8 block DCT coefficients show a
    JPEG lattice with the block DCT, and, for an integer image (``span`` = high - low of its
    coding window) whose step is at most :data:`pixel.MAX_STEP` stored units, as stored integers
    (:func:`pixel.encode`); the cheapest by :func:`cost` is kept. ``block=False`` (the dyadic
    wavelet only) is for callers that store the tile's side information without its parameters
    (the near-lossless base).
    """
    step = coder.step_size(quality, range_per_unit)
    if block and packet.worth_trying(unit.shape):
        best = packet.encode(t, unit, step, frame, index)  # dyadic, or split where a finest band gains
    else:
        best = coder.encode_wavelet(t, unit, quality, range_per_unit, frame, index)
    candidates = []
    if block and dctcoder.worth_trying(unit.shape):
        u = dctcoder.coefficients(unit, step)
        if dctcoder.on_a_lattice(u):  # without a JPEG lattice the block mode does not win
            candidates.append(lambda: dctcoder.encode(t, unit, step, frame, index, u))
    best_cost = cost(t, best, unit, step)
    for make in candidates:
        coded = make()
        this = cost(t, coded, unit, step)
        if this < best_cost:
            best, best_cost = coded, this
    if block and span and span < 2**16 and step * span <= pixel.MAX_STEP and pixel.available():
        best, best_cost = _try_pixel(t, unit, step, span, frame, index, best, best_cost)
    chunk, recon, symbols = best
    return chunk, recon.astype(np.float32), symbols


def _try_pixel(t: Tables, unit: np.ndarray, step: float, span: int, frame: int, index: int,
               best: Coded, best_cost: float) -> tuple[Coded, float]:
    """The pixel mode where it costs less: K screened with fast encodes, the winner coded at full effort."""
    first, *others = pixel.candidates(step * span)
    screened = []
    for k in [first, *others]:
        screened.append((cost(t, pixel.encode(unit, span, k, frame, index, pixel.SCREEN_EFFORT), unit, step), k))
        if k == first and screened[0][0] > pixel.NEAR * best_cost:
            return best, best_cost  # far from winning: its neighbours will not either
    screen_cost, k = min(screened)
    if screen_cost > pixel.SCREEN_MARGIN * best_cost:
        return best, best_cost
    coded = pixel.encode(unit, span, k, frame, index)
    this = cost(t, coded, unit, step)
    return (coded, this) if this < best_cost else (best, best_cost)


def cost(t: Tables, coded: Coded, unit: np.ndarray, step: float) -> float:
    """Squared error in steps squared plus kappa times the tile's bits (payload, side, parameters)."""
    chunk, recon, _ = coded
    error = float(np.sum((np.asarray(recon, np.float64) - unit) ** 2)) / step**2
    return error + t.kappa * 8 * (len(chunk.payload) + len(chunk.side) + 8 * len(chunk.params))


def decode_tile(t: Tables, chunk: Tile, shape: tuple[int, int], quality: int,
                range_per_unit: float, span: int | None = None) -> tuple[np.ndarray, list]:
    """Reconstruct one tile of any mode; returns the unit-window pixels (float32) and the symbols.

    ``span``: high - low of an integer image's coding window (None for float images), which the
    pixel mode's tiles need.
    """
    step = coder.step_size(quality, range_per_unit)
    if pixel.is_pixel(chunk.params):
        recon, symbols = pixel.decode(chunk, shape, span)
    elif chunk.params == dctcoder.PARAMS:
        recon, symbols = dctcoder.decode(t, chunk, shape, step)
    elif packet.is_packet(chunk.params):
        recon, symbols = packet.decode(t, chunk, shape, step)
    else:
        recon, symbols = coder.decode_wavelet(t, chunk, shape, quality, range_per_unit)
    return recon.astype(np.float32), symbols
