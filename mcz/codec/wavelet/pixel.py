"""The wavelet family's tile mode for the top of the rate range: stored integers, near-lossless.

When the quantiser step comes within a few stored units, a transform codec spends its bits on
precision the decoder then rounds away: the image is integers, and the closer the step gets to one
unit, the better a coder of the integers themselves does. This mode quantises the stored values
uniformly, ``q = floor((x - low + K) / (2K + 1))`` (every pixel within K stored units, as
:mod:`mcz.codec.nearlossless`), and codes ``q - min(q)`` with JPEG-XL lossless (libjxl's own
prediction and context modelling, effort 7). :func:`mcz.codec.wavelet.tiles.encode_tile` weighs it
against the wavelet by the quantiser's measure (squared error + kappa * bits, in steps) for K near
the step's half, and keeps the cheaper; it is only tried where the step is at most
:data:`MAX_STEP` stored units and the image is integer. K is picked with fast screening encodes
(:data:`SCREEN_EFFORT`; the neighbouring K only where the first comes within :data:`NEAR` of the
best cost, so 8-bit images that were JPEG files, which rarely take the mode, pay one fast encode),
and the tile written is coded again at :data:`EFFORT` where the screen says it may win.

Tile: ``params`` = (1.0, K); ``side`` = ``<I`` min(q); ``payload`` = the JPEG-XL codestream.
The decoder reconstructs ``clip(q (2K + 1), 0, span) / span`` in the unit window (``span`` =
high - low of the coding window, which the decoder knows): integer arithmetic, the same pixels on
every machine. The tile's symbols (for the latent digest) are ``q``.
"""

from __future__ import annotations

import struct
import types

import numpy as np

from mcz.container import Tile
from mcz.errors import FormatError, MissingDependencyError

#: The first tile parameter of a pixel tile (a packet tile has 2.0, a block-DCT tile 8.0).
MARK = 1.0
#: Steps above this many stored units are never tried in this mode: the wavelet wins there.
MAX_STEP = 16.0
#: Largest K a decoder accepts (a 16-bit range needs no more).
MAX_K = 2**15
#: The K either side of the first are tried only when its cost is within this factor of the best.
NEAR = 1.1
#: libjxl effort of the tiles written (7: the JPEG-XL reference of ``mcz bench``; 9 is 2 % smaller
#: and several times slower).
EFFORT = 7
#: libjxl effort of the screening encodes that pick K and decide whether the mode can win: about
#: 5 times faster than effort 7 and 2-4 % larger on CT (so a screened cost within
#: :data:`SCREEN_MARGIN` of the best is coded again at :data:`EFFORT` and weighed exactly).
SCREEN_EFFORT = 3
SCREEN_MARGIN = 1.05
SIDE = struct.Struct("<I")


def is_pixel(tile_params: tuple[float, ...]) -> bool:
    """Whether a tile's parameters mark a pixel tile (any K, valid or not)."""
    return len(tile_params) >= 1 and tile_params[0] == MARK


def candidates(step_stored: float) -> list[int]:
    """The K weighed for a step of ``step_stored`` stored units: 2K + 1 nearest the step first
    (the same squared error as the wavelet's uniform quantiser), then one either side."""
    k = max(0, int(round((step_stored - 1) / 2)))
    return [k] + [x for x in (k - 1, k + 1) if x >= 0]


def _jxl() -> types.ModuleType:
    try:
        import imagecodecs  # lazy: keeps imagecodecs out of import mcz.codec.wavelet.pixel
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise MissingDependencyError(
            f"this file's high-rate tiles are JPEG-XL coded, which needs imagecodecs ({exc}); "
            "install it: pip install imagecodecs"
        ) from exc
    if not imagecodecs.JPEGXL.available:  # pragma: no cover
        raise MissingDependencyError("this imagecodecs build has no JPEG-XL; install a build that has it")
    return imagecodecs


def available() -> bool:
    """Whether JPEG-XL can be written here (the encoder skips the mode otherwise)."""
    try:
        _jxl()
    except MissingDependencyError:
        return False
    return True


def stored(unit: np.ndarray, span: int) -> np.ndarray:
    """The tile's stored values minus the window's low end (exact integers: ``unit`` came from them)."""
    return np.rint(np.asarray(unit, np.float64) * span).astype(np.int64)


def encode(unit: np.ndarray, span: int, k: int, frame: int, index: int,
           effort: int = EFFORT) -> tuple[Tile, np.ndarray, list]:
    """Code a tile within ``k`` stored units; returns the chunk, its reconstruction (unit window) and symbols."""
    width = 2 * k + 1
    q = np.floor_divide(stored(unit, span) + k, width)
    low = int(q.min())
    values = q - low
    bits = max(9, int(values.max()).bit_length())  # libjxl takes no fewer than 9 bits for uint16 input
    code = _jxl().jpegxl_encode(values.astype(np.uint16), lossless=True, effort=effort, bitspersample=bits)
    chunk = Tile(frame=frame, index=index, params=(MARK, float(k)), side=SIDE.pack(low), payload=bytes(code))
    return chunk, _reconstruct(q, width, span), [q]


def _reconstruct(q: np.ndarray, width: int, span: int) -> np.ndarray:
    return (np.clip(q * width, 0, span) / span).astype(np.float64)


def decode(chunk: Tile, shape: tuple[int, int], span: int | None) -> tuple[np.ndarray, list]:
    """Reconstruct a pixel tile; returns the unit-window pixels (float64) and the symbols."""
    k = chunk.params[1] if len(chunk.params) == 2 else -1.0
    if span is None or len(chunk.side) != SIDE.size or not (k == int(k) and 0 <= k <= MAX_K):
        raise FormatError(
            f"tile {chunk.frame}/{chunk.index} is a pixel tile with {len(chunk.side)} side bytes and parameters "
            f"{list(chunk.params)} in an image {'of float values' if span is None else 'of integers'}; expected "
            f"{SIDE.size} side bytes, parameters [1.0, K 0..{MAX_K}] and an integer image. The file is corrupt"
        )
    (low,) = SIDE.unpack(chunk.side)
    jxl = _jxl()
    try:
        values = np.asarray(jxl.jpegxl_decode(bytes(chunk.payload)))
    except Exception as exc:  # noqa: BLE001 - libjxl's error types vary by build; the payload is what is wrong
        raise FormatError(f"tile {chunk.frame}/{chunk.index}: its JPEG-XL codestream does not decode ({exc}). "
                          "The file is corrupt") from exc
    if values.shape != tuple(shape):
        raise FormatError(f"tile {chunk.frame}/{chunk.index}: its JPEG-XL codestream holds {values.shape[:3]} "
                          f"values, expected {tuple(shape)}. The file is corrupt")
    q = values.astype(np.int64) + low
    return _reconstruct(q, 2 * int(k) + 1, span), [q]
