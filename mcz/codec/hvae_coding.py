"""Tile coding of the hierarchical VAE family (:mod:`mcz.codec.hvae`): progressive latent groups.

A tile's ``side`` bytes hold the /16 grid size, the number of latent groups coded
(``quality``: 1 = ``z1`` only, 3 = all) and the length of each group's rANS string; its
payload is the strings in order, coarse first, so a reader can stop after any group.
The latent digest covers ``z1`` and the rounded residuals of every coded group.  The
decoder's :meth:`HvaeDecoder.symbols` has to run the top-down prior networks to decode
``z2`` and ``z3`` (their probabilities depend on ``z1``); a corrupt string therefore
reaches those networks, but never the output synthesis: the engine checks the latent
digest first (``latents_first``).
"""

from __future__ import annotations

import struct

import numpy as np
import torch

from mcz.codec.families.base import TileDecoder, TileEncoder
from mcz.codec.hvae import STRIDES, HierarchicalVAE, coding_copy
from mcz.codec.latents import LatentDigest
from mcz.codec.rans import padded as _padded
from mcz.codec.tiling import TileBox
from mcz.container import Tile
from mcz.errors import FormatError

_SIDE = struct.Struct(">HHBIII")
GROUPS = len(STRIDES)


def _codes(values: torch.Tensor) -> np.ndarray:
    # Rounded residuals are integers; a corrupt string can decode escapes: clip so the cast is defined.
    return np.clip(np.rint(values.double().numpy()), -(2**31), 2**31 - 1).astype(np.int32)


def encode_tile(model: HierarchicalVAE, unit: np.ndarray, layers: int, frame: int, index: int,
                digest: LatentDigest) -> tuple[Tile, np.ndarray]:
    """Code the first ``layers`` latent groups of one tile in [0, 1]; returns the chunk and the reconstruction."""
    net = coding_copy(model)
    x = torch.from_numpy(np.ascontiguousarray(unit, dtype=np.float64))[None, None]
    f4, f8, f16 = net.encode_features(x)
    q1 = net.q1(f16).float()
    strings = [model.z1_model.compress(q1)[0]]
    z1 = model.z1_model.decompress(strings, q1.shape[-2:]).double()
    state = net.top(z1)
    digest.update(_codes(z1))
    residuals: list[torch.Tensor | None] = []
    for k, (group, features, up) in enumerate(((net.group2, f8, net.up16), (net.group3, f4, net.up8)), start=2):
        state = up(state)
        mean, idx = group.prior_params(state)
        if k > layers:
            residuals.append(None)
            state = group.absorb(state, mean)
            continue
        q = group.posterior(torch.cat([state, features], dim=1))
        string = model.z_model.compress(q.float(), idx.int(), mean.float())[0]
        z_hat = model.z_model.decompress([string], idx.int(), means=mean.float()).double()
        codes = z_hat - mean  # an exact integer: symbols + mean - mean, all multiples of 1/8
        digest.update(_codes(codes))
        residuals.append(codes)
        strings.append(string)
        state = group.absorb(state, z_hat)
    lengths = [len(s) for s in strings] + [0] * (GROUPS - len(strings))
    side = _SIDE.pack(q1.shape[-2], q1.shape[-1], layers, *lengths)
    chunk = Tile(frame=frame, index=index, params=(), side=side, payload=b"".join(strings))
    return chunk, net.out(state)[0, 0].numpy()


def _split(chunk: Tile, grid: tuple[int, int], layers: int) -> list[bytes]:
    if len(chunk.side) != _SIDE.size or chunk.params:
        raise FormatError(f"tile {chunk.frame}/{chunk.index} has {len(chunk.side)} side bytes; expected "
                          f"{_SIDE.size} for a hierarchical-VAE tile. The file is corrupt")
    rows, cols, coded, *lengths = _SIDE.unpack(chunk.side)
    if (rows, cols) != grid or coded != layers or sum(lengths) != len(chunk.payload) or any(lengths[layers:]):
        raise FormatError(
            f"tile {chunk.frame}/{chunk.index} declares a {rows}x{cols} grid, {coded} latent groups and strings "
            f"of {lengths} bytes in a {len(chunk.payload)}-byte payload; expected a {grid[0]}x{grid[1]} grid and "
            f"{layers} groups (the file's quality). The file is corrupt"
        )
    out, start = [], 0
    for length in lengths[:layers]:
        out.append(chunk.payload[start : start + length])
        start += length
    return out


def decode_symbols(model: HierarchicalVAE, chunk: Tile, padded_shape: tuple[int, int], layers: int,
                   digest: LatentDigest) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
    """Entropy-decode ``z1`` and the coded groups' residuals, adding them to ``digest``."""
    net = coding_copy(model)
    grid = (padded_shape[0] // STRIDES[0], padded_shape[1] // STRIDES[0])
    strings = _split(chunk, grid, layers)
    z1 = model.z1_model.decompress([_padded(strings[0], model.latents[0] * grid[0] * grid[1])], grid).double()
    digest.update(_codes(z1))
    state = net.top(z1)
    residuals: list[torch.Tensor | None] = []
    for k, (group, up) in enumerate(((net.group2, net.up16), (net.group3, net.up8)), start=2):
        state = up(state)
        mean, idx = group.prior_params(state)
        if k > layers:
            residuals.append(None)
            state = group.absorb(state, mean)
            continue
        count = group.channels * mean.shape[-2] * mean.shape[-1]
        z_hat = model.z_model.decompress([_padded(strings[k - 1], count)], idx.int(), means=mean.float()).double()
        codes = z_hat - mean
        digest.update(_codes(codes))
        residuals.append(codes)
        state = group.absorb(state, z_hat)
    return z1, residuals


def reconstruct(model: HierarchicalVAE, symbols: tuple[torch.Tensor, list], groups: int | None = None) -> np.ndarray:
    """The tile from its decoded symbols, using the first ``groups`` latent groups (None: all that were coded).

    Fewer groups is progressive decoding: the missing ones take their prior mean.
    """
    z1, residuals = symbols
    keep = GROUPS if groups is None else groups
    used = [r if k + 2 <= keep else None for k, r in enumerate(residuals)]
    return coding_copy(model).top_down(z1, used)[0, 0].numpy()


def tile_encoder(model: HierarchicalVAE, layers: int) -> TileEncoder:
    """The :data:`~mcz.codec.families.base.TileEncoder` of one file coding ``layers`` groups."""

    def encode(unit: np.ndarray, frame: int, index: int, digest: LatentDigest) -> tuple[Tile, np.ndarray]:
        return encode_tile(model, unit, layers, frame, index, digest)

    return encode


class HvaeDecoder(TileDecoder):
    """Entropy decoding of the coded groups (:func:`decode_symbols`), then the top-down synthesis."""

    def __init__(self, model: HierarchicalVAE, layers: int, groups: int | None = None) -> None:
        self.model, self.layers, self.groups = model, layers, groups

    def symbols(self, chunk: Tile, box: TileBox, latents: LatentDigest):
        return decode_symbols(self.model, chunk, (box.padded_rows, box.padded_columns), self.layers, latents)

    def reconstruct(self, symbols, box: TileBox) -> np.ndarray:
        return reconstruct(self.model, symbols, self.groups)
