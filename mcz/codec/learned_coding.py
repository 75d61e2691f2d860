"""Tile coding for the learned-entropy-model families (factorized prior, hyperprior).

A tile's ``side`` bytes hold the latent and hyper-latent grid sizes and the
length of the hyper-latent string; its payload is the hyper-latent rANS string
followed by the latent rANS string (CompressAI's C++ coder).  Every value the
rANS decoder depends on is an integer that all decoders reproduce exactly (see
:mod:`mcz.codec.learned`), so the *latent digest* recorded by the encoder — a
sha256 of the decoded integer symbols — must match on any backend; the pixel
digest additionally needs the same float synthesis (same backend and threads).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from mcz.codec.families.base import TileDecoder, TileEncoder
from mcz.codec.latents import LatentDigest
from mcz.codec.learned import HYPER_STRIDE, LATENT_STRIDE, MEAN_DENOMINATOR, LearnedCodec
from mcz.codec.rans import padded as _padded
from mcz.codec.tiling import TileBox
from mcz.container import Tile
from mcz.errors import FormatError

_SIDE = struct.Struct(">HHHHI")


class Backend(Protocol):
    """The networks a decoder runs; PyTorch by default, ONNX Runtime in :mod:`mcz.codec.onnx_backend`."""

    def hyper_synthesis(self, z_hat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Integer hyper latent (1, nh, h, w) -> (scale-table indices, mean codes), integer-valued."""

    def synthesis(self, y_scaled: np.ndarray) -> np.ndarray:
        """Gain-corrected latent (1, m, h, w) -> reconstruction (rows, cols) in about [0, 1]."""


@runtime_checkable
class BatchBackend(Backend, Protocol):
    """A backend that synthesises several tiles per call (:class:`mcz.codec.gpu.backends.GpuBackend`)."""

    max_batch: int

    def synthesis_batch(self, latents: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Latents (1, m, h, w) of equal shape -> reconstructions (rows, cols)."""


class TorchBackend:
    """Runs a :class:`LearnedCodec`'s networks in PyTorch (float32, fixed-point hyper-synthesis)."""

    def __init__(self, model: LearnedCodec) -> None:
        self.model = model

    def analyse(self, unit: np.ndarray, level: int) -> torch.Tensor:
        """Tile in [0, 1] -> gain-scaled latent (encoder only)."""
        x = torch.from_numpy(np.ascontiguousarray(unit, dtype=np.float32))[None, None]
        return self.model.g_a(x) * self.model.gain(level)

    def hyper_analysis(self, y: torch.Tensor) -> torch.Tensor:
        """Latent -> hyper latent (encoder only)."""
        return self.model.h_a(y)

    def hyper_synthesis(self, z_hat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        index, mean = self.model.h_s(torch.from_numpy(z_hat))
        return index.numpy(), mean.numpy()

    def synthesis(self, y_scaled: np.ndarray) -> np.ndarray:
        return self.model.g_s(torch.from_numpy(y_scaled))[0, 0].numpy()


def inverse_gain(model: LearnedCodec, level: int) -> np.ndarray:
    """The decoder's per-channel inverse gain of a 0-based level, float32, shaped (1, m, 1, 1)."""
    with torch.inference_mode():
        return model.inverse_gain(level).numpy().astype(np.float32)


def _y_codes(y_hat: np.ndarray) -> np.ndarray:
    # y_hat = integer + k/8 exactly, so 8 * y_hat is an exact integer.  A corrupt string can
    # decode escapes beyond int32; clipping them (no encoder's latent comes near) keeps the cast defined.
    codes = np.rint(np.asarray(y_hat, np.float64) * MEAN_DENOMINATOR)
    return np.clip(codes, -(2**31), 2**31 - 1).astype(np.int32)


def encode_tile(model: LearnedCodec, unit: np.ndarray, level: int, frame: int, index: int,
                digest: LatentDigest) -> tuple[Tile, np.ndarray]:
    """Code one tile in [0, 1] at a 0-based ``level``; returns the chunk and the reconstruction."""
    backend = TorchBackend(model)
    y = backend.analyse(unit, level)
    z_shape: tuple[int, ...]  # torch.Size of the hyper latent's grid, or (0, 0)
    if model.hyperprior:
        z = backend.hyper_analysis(y)
        z_string = model.z_model.compress(z)[0]
        z_hat = model.z_model.decompress([z_string], z.shape[-2:]).numpy()
        scale_index, mean_codes = backend.hyper_synthesis(z_hat)
        means = torch.from_numpy(mean_codes / MEAN_DENOMINATOR)
        y_string = model.y_model.compress(y, torch.from_numpy(scale_index).int(), means)[0]
        y_hat = (torch.round(y - means) + means).numpy()
        z_shape = z.shape[-2:]
    else:
        z_string, z_hat, z_shape = b"", np.zeros(0, np.int32), (0, 0)
        y_string = model.y_model.compress(y)[0]
        y_hat = model.y_model.decompress([y_string], y.shape[-2:]).numpy()
    digest.update(z_hat, _y_codes(y_hat))
    side = _SIDE.pack(y.shape[-2], y.shape[-1], z_shape[0], z_shape[1], len(z_string))
    chunk = Tile(frame=frame, index=index, params=(), side=side, payload=z_string + y_string)
    recon = backend.synthesis(y_hat * inverse_gain(model, level))
    return chunk, recon


def _split(chunk: Tile, grid: tuple[int, int], hyper: tuple[int, int]) -> tuple[bytes, bytes]:
    if len(chunk.side) != _SIDE.size or chunk.params:
        raise FormatError(
            f"tile {chunk.frame}/{chunk.index} has {len(chunk.side)} side bytes and {len(chunk.params)} "
            f"parameters; expected {_SIDE.size} and none for a learned-entropy tile"
        )
    yh, yw, zh, zw, z_length = _SIDE.unpack(chunk.side)
    if (yh, yw) != grid or (zh, zw) != hyper or z_length > len(chunk.payload):
        raise FormatError(
            f"tile {chunk.frame}/{chunk.index} declares latent {yh}x{yw}, hyper latent {zh}x{zw} and a "
            f"{z_length}-byte hyper string in a {len(chunk.payload)}-byte payload; expected latent "
            f"{grid[0]}x{grid[1]} and hyper latent {hyper[0]}x{hyper[1]}. The file is corrupt"
        )
    return chunk.payload[:z_length], chunk.payload[z_length:]


def decode_latent(model: LearnedCodec, backend: Backend, chunk: Tile, padded_shape: tuple[int, int],
                  digest: LatentDigest) -> np.ndarray:
    """Entropy-decode one tile's latent ``y_hat`` (1, m, h, w), float32, and add its symbols to ``digest``.

    No synthesis runs here, so the caller can compare the latent digest with the file's before
    any network sees data that a corrupt string produced.
    """
    rows, cols = padded_shape
    grid = (rows // LATENT_STRIDE, cols // LATENT_STRIDE)
    hyper = (rows // HYPER_STRIDE, cols // HYPER_STRIDE) if model.hyperprior else (0, 0)
    z_string, y_string = _split(chunk, grid, hyper)
    m = model.m
    if model.hyperprior:
        nh = model.z_model.channels
        z_hat = model.z_model.decompress([_padded(z_string, nh * hyper[0] * hyper[1])], hyper).numpy()
        scale_index, mean_codes = backend.hyper_synthesis(z_hat)
        means = torch.from_numpy(mean_codes / MEAN_DENOMINATOR)
        y_hat = model.y_model.decompress(
            [_padded(y_string, m * grid[0] * grid[1])], torch.from_numpy(scale_index).int(), means=means
        ).numpy()
    else:
        z_hat = np.zeros(0, np.int32)
        y_hat = model.y_model.decompress([_padded(y_string, m * grid[0] * grid[1])], grid).numpy()
    digest.update(z_hat, _y_codes(y_hat))
    return y_hat.astype(np.float32)


def synthesise(model: LearnedCodec, backend: Backend, y_hat: np.ndarray, level: int) -> np.ndarray:
    """Reconstruct one tile (padded size) in about [0, 1] from its decoded latent at a 0-based ``level``."""
    return backend.synthesis((y_hat * inverse_gain(model, level)).astype(np.float32))


def tile_encoder(model: LearnedCodec, level: int) -> TileEncoder:
    """The :data:`~mcz.codec.families.base.TileEncoder` of one file coded at a 0-based ``level``."""

    def encode(unit: np.ndarray, frame: int, index: int, digest: LatentDigest) -> tuple[Tile, np.ndarray]:
        return encode_tile(model, unit, level, frame, index, digest)

    return encode


class LearnedDecoder(TileDecoder):
    """rANS -> latent and its digest (:func:`decode_latent`) -> gains -> synthesis (:func:`synthesise`)."""

    def __init__(self, model: LearnedCodec, backend: Backend, level: int) -> None:
        self.model, self.backend, self.level = model, backend, level
        # A GPU backend (mcz.codec.gpu.backends) synthesises several tiles per call.
        self.batch_size = int(getattr(backend, "max_batch", 1))

    def symbols(self, chunk: Tile, box: TileBox, latents: LatentDigest) -> np.ndarray:
        return decode_latent(self.model, self.backend, chunk, (box.padded_rows, box.padded_columns), latents)

    def reconstruct(self, symbols: np.ndarray, box: TileBox) -> np.ndarray:
        return synthesise(self.model, self.backend, symbols, self.level)

    def reconstruct_batch(self, items: list[tuple[np.ndarray, TileBox]]) -> list[np.ndarray]:
        if self.batch_size == 1:
            return super().reconstruct_batch(items)
        gain = inverse_gain(self.model, self.level)
        assert isinstance(self.backend, BatchBackend)  # batch_size > 1 only for a backend with max_batch
        return self.backend.synthesis_batch([(y * gain).astype(np.float32) for y, _ in items])


def decode_tile(model: LearnedCodec, backend: Backend, chunk: Tile, padded_shape: tuple[int, int], level: int,
                digest: LatentDigest) -> np.ndarray:
    """Reconstruct one tile (padded size) in [0, 1] from its chunk: :func:`decode_latent`, :func:`synthesise`."""
    return synthesise(model, backend, decode_latent(model, backend, chunk, padded_shape, digest), level)
