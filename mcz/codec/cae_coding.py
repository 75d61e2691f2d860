"""Tile coding for the convolutional autoencoder family (founding paper: min-max quantiser + Brotli).

A tile's ``params`` are the latent's (low, high) range, its ``side`` the latent shape
(``>HHH``: channels, rows, columns) and its payload the Brotli-packed symbols
(:mod:`mcz.codec.quantize`, :mod:`mcz.codec.lossless`).  The latent digest covers the
symbols; the synthesis is float32, so pixels are checked within a tolerance.
"""

from __future__ import annotations

import struct

import numpy as np
import torch

from mcz.codec import lossless, quantize
from mcz.codec.cae import CAE
from mcz.codec.families.base import TileDecoder, TileEncoder
from mcz.codec.latents import LatentDigest
from mcz.codec.tiling import TileBox
from mcz.container import Tile
from mcz.errors import FormatError

_SIDE = struct.Struct(">HHH")


class Runner:
    """Runs a CAE's networks on single tiles (the caller holds torch's inference mode and threads)."""

    def __init__(self, model: CAE) -> None:
        self.model = model

    def analyse(self, tile: np.ndarray) -> np.ndarray:
        """Tile in [0, 1] -> float latent (channels, rows, columns)."""
        x = torch.from_numpy(np.ascontiguousarray(tile, dtype=np.float32))[None, None]
        return self.model.encode(x)[0].numpy()

    def synthesise(self, latent: np.ndarray) -> np.ndarray:
        """Dequantised latent -> tile in about [0, 1]."""
        return self.model.decode(torch.from_numpy(latent)[None])[0, 0].numpy()


def encode_tile(runner: Runner, tile: np.ndarray, bits: int, rounding: str, frame: int, index: int,
                latents: LatentDigest) -> tuple[Tile, np.ndarray]:
    """Code one tile with ``bits``-bit symbols; returns the chunk and the decoder's reconstruction."""
    q = quantize.quantise(runner.analyse(tile), bits, rounding)
    latents.update(q.symbols)
    chunk = Tile(frame=frame, index=index, params=(q.low, q.high), side=_SIDE.pack(*q.symbols.shape),
                 payload=lossless.pack(q.symbols))
    return chunk, runner.synthesise(quantize.dequantise(q))


def tile_symbols(chunk: Tile, box: TileBox, latent: tuple[int, int], bits: int) -> quantize.Quantised:
    """The symbols of one tile's chunk, refused unless they fit ``latent`` = (channels, downsampling)."""
    if len(chunk.params) != 2 or len(chunk.side) != _SIDE.size:
        raise FormatError(
            f"tile {chunk.frame}/{chunk.index} has {len(chunk.params)} quantiser parameters and "
            f"{len(chunk.side)} side bytes; expected 2 and 6 for a min-max CAE tile"
        )
    shape = _SIDE.unpack(chunk.side)
    channels, ds = latent
    expected = (channels, box.padded_rows // ds, box.padded_columns // ds)
    if shape != expected:
        raise FormatError(f"tile {chunk.frame}/{chunk.index} declares latent {shape}, expected {expected}")
    low, high = chunk.params
    with np.errstate(over="ignore", invalid="ignore"):
        span = np.float32(high) - np.float32(low)
    if not low <= high or not np.isfinite(span):
        raise FormatError(
            f"tile {chunk.frame}/{chunk.index} has latent range {low!r}..{high!r}; expected low <= high with "
            "a float32-finite span, as every encoder writes it. The file is corrupt"
        )
    symbols = lossless.unpack(chunk.payload, shape, quantize.symbol_dtype(bits))
    return quantize.Quantised(symbols, low, high, bits)


def tile_encoder(model: CAE, bits: int, rounding: str) -> TileEncoder:
    """The :data:`~mcz.codec.families.base.TileEncoder` of one file coded with ``bits``-bit symbols."""
    runner = Runner(model)

    def encode(tile: np.ndarray, frame: int, index: int, latents: LatentDigest) -> tuple[Tile, np.ndarray]:
        return encode_tile(runner, tile, bits, rounding, frame, index, latents)

    return encode


class CaeDecoder(TileDecoder):
    """Brotli -> symbols (the latent digest) -> dequantise -> decoder network.

    ``latent`` is (channels, downsampling) of the model's deepest latent.
    """

    def __init__(self, model: CAE, latent: tuple[int, int], bits: int) -> None:
        self.runner, self.latent, self.bits = Runner(model), latent, bits

    def symbols(self, chunk: Tile, box: TileBox, latents: LatentDigest) -> quantize.Quantised:
        q = tile_symbols(chunk, box, self.latent, self.bits)
        latents.update(q.symbols)
        return q

    def reconstruct(self, symbols: quantize.Quantised, box: TileBox) -> np.ndarray:
        return self.runner.synthesise(quantize.dequantise(symbols))
