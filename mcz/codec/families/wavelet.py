"""The ``wavelet`` family: CDF 9/7 lifting + learned inter-scale prediction and context model, rANS; no torch.

``quality`` q sets the quantiser step to ``2**(-q/4)`` of R = 2**bits_stored - 1 (about
1.5 dB per step).  Transform, coder and model: :mod:`mcz.codec.wavelet`; fitting:
:mod:`mcz.training.wavelet`.  The decoder is integer context modelling, the inter-scale
predictor's small CNN in integer arithmetic (:mod:`mcz.codec.wavelet.predict`) and float64 NumPy
lifting, bit-identical on every machine, thread count and backend (the exact pixel policy).

Coding never imports torch: the weights are read with ``safetensors.numpy`` into a
:class:`~mcz.codec.wavelet.model.WaveletWeights`.  Only fitting uses the torch form
(:meth:`WaveletFamily.build`, :class:`~mcz.codec.wavelet.module.WaveletModel`).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from mcz.codec.families.base import Coding, ModelFamily, TileDecoder, TileEncoder
from mcz.codec.families.register import register_family
from mcz.codec.threads import check_threads

if TYPE_CHECKING:
    from mcz.codec.engine import Codec
    from mcz.codec.latents import LatentDigest
    from mcz.codec.registry import ModelSpec
    from mcz.codec.tiling import TileBox
    from mcz.codec.wavelet.model import Tables
    from mcz.codec.zoo import CheckpointEntry
    from mcz.container import Tile
    from mcz.intensity import Intensity

#: Lowest quality of a wavelet model's default benchmark sweep (about 26 dB against R).
SWEEP_LOWEST = 10


def range_per_unit(bits_stored: int, window: Intensity) -> float:
    """R = 2**bits_stored - 1 in units of the coding window (1 for float images): the step's scale."""
    if window.is_float:
        return 1.0
    return (2.0**bits_stored - 1.0) / (window.high - window.low)


def integer_span(window: Intensity) -> int | None:
    """high - low of an integer image's coding window (the pixel tile mode's lattice); None for floats."""
    if window.is_float:
        return None
    return int(round(window.high - window.low))


def sweep(bits: int) -> list[float]:
    """Qualities for ``bits``-bit frames: about 26 dB up to near-lossless.

    The step is ``2^(-q/4)`` of R, so PSNR against R grows by about 1.5 dB per quality step at
    every depth, and ``q = 4 * bits`` is a step of about one stored level (about 6 bits deeper
    than 8-bit data need 24 more). 12-14 points whatever the depth.
    """
    high = 4 * bits
    stride = max(1, round((high - SWEEP_LOWEST) / 13))
    return [float(q) for q in range(SWEEP_LOWEST, high + 1, stride)]


@functools.lru_cache(maxsize=8)
def tables(codec: Codec) -> Tables:
    """The coder's NumPy tables of a loaded wavelet model (built once per codec)."""
    return codec.model.tables()


@register_family
class WaveletFamily(ModelFamily):
    """CDF 9/7 wavelet + learned predictor and context model (nothing runs in torch)."""

    name = "wavelet"
    quality_meaning = "quantiser step 2^(-q/4) of R"
    # No torch network: every backend runs the same NumPy code (the predictor's CNN included).
    backends = ("torch", "onnxruntime")
    training = "fit"  # the context model is refitted, not trained by gradient (mcz.training.wavelet)
    exact = True  # float64 NumPy lifting repeats exactly; float32 convolutions do not across threads/CPUs
    sweep = staticmethod(sweep)

    def downsampling(self, config: dict) -> int:
        return 1  # the lifting handles any size; padding would only cost bits

    def describe(self, config: dict) -> str:
        return "CDF 9/7 + learned context model"

    def build(self, config: dict) -> Any:
        """The form that is fitted: a torch module of the model's buffers (imports torch)."""
        # lazy: keeps torch (mcz.codec.wavelet.module) out of import mcz.codec.families.wavelet
        from mcz.codec.wavelet.module import WaveletModel

        return WaveletModel(**config)

    def read_weights(self, entry: CheckpointEntry) -> dict[str, Any]:
        # lazy: import cycle codec.zoo -> codec.registry -> codec.families.wavelet
        from mcz.codec import zoo

        return zoo.load_arrays(entry)  # NumPy: coding never needs torch

    def load(self, spec: ModelSpec, state: dict[str, Any]) -> Any:
        """The coding form of ``state`` (NumPy or torch arrays), a ``WaveletWeights``."""
        # lazy: the registry imports every family module; the wavelet coder loads when a model codes
        from mcz.codec.wavelet.model import WaveletWeights

        return WaveletWeights.from_state(state, spec.config, spec.id)

    @contextlib.contextmanager
    def session(self, threads: int | None) -> Iterator[None]:
        check_threads(threads)  # refused like any family's, though NumPy ignores it
        yield

    def quantiser_record(self, spec: ModelSpec, quality: int) -> dict[str, Any]:
        return {"method": "deadzone-rdo", "step": "2^(-quality/4) of 2^bits_stored - 1",
                "entropy_model": "wavelet-context", "backend": "rans"}

    def tile_encoder(self, coding: Coding) -> TileEncoder:
        # lazy: the registry imports every family module; the wavelet coder loads when a model codes
        from mcz.codec.wavelet import tiles

        t, quality = tables(coding.codec), coding.quality
        scale, span = range_per_unit(coding.bits_stored, coding.window), integer_span(coding.window)

        def encode(unit: np.ndarray, frame: int, index: int, digest: LatentDigest) -> tuple[Tile, np.ndarray]:
            chunk, recon, symbols = tiles.encode_tile(t, unit, quality, scale, frame, index, span=span)
            digest.update(*symbols)
            return chunk, recon

        return encode

    def tile_decoder(self, coding: Coding) -> TileDecoder:
        scale = range_per_unit(coding.bits_stored, coding.window)
        return _WaveletDecoder(tables(coding.codec), coding.quality, scale, integer_span(coding.window))


class _WaveletDecoder(TileDecoder):
    """rANS + context model -> symbols (the digest) and, in the same pass, the lifting's pixels.

    :func:`mcz.codec.wavelet.tiles.decode_tile` reconstructs as it decodes, so :meth:`symbols`
    returns the tile's pixels, and the engine checks the digest after the last tile. The predictor's
    integer CNN runs on decoded data before that check: its input is clipped and its cost fixed by
    the tile's size, so no decoded value can make it misbehave (fuzzed, docs/security.md).
    """

    def __init__(self, t: Tables, quality: int, scale: float, span: int | None) -> None:
        self.tables, self.quality, self.scale, self.span = t, quality, scale, span

    def symbols(self, chunk: Tile, box: TileBox, latents: LatentDigest) -> np.ndarray:
        # lazy: the registry imports every family module; the wavelet coder loads when a model codes
        from mcz.codec.wavelet import tiles

        shape = (box.padded_rows, box.padded_columns)
        recon, symbols = tiles.decode_tile(self.tables, chunk, shape, self.quality, self.scale, self.span)
        latents.update(*symbols)
        return recon

    def reconstruct(self, symbols: np.ndarray, box: TileBox) -> np.ndarray:
        return symbols
