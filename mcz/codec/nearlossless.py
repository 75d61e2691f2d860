"""Lossless and near-lossless coding with a guaranteed maximum error K (``max_error``).

Every decoded pixel differs from the source by at most K stored units; K = 0 is
lossless (bit-exact).  Per frame:

1. a *base* x̃: either the frame's minimum m (a constant, "no base"), or the
   exact reconstruction of the ``wavelet-ctx`` model (float64 NumPy lifting +
   integer context coding: bit-identical on every machine and thread count);
2. the residual r = x − x̃ is quantised with step 2K+1:
   q = ⌊(r+K)/(2K+1)⌋ for r ≥ 0, ⌈(r−K)/(2K+1)⌉ otherwise, so
   |r − (2K+1)q| ≤ K by construction;
3. q − min(q) is coded by JPEG-XL lossless (imagecodecs, libjxl, effort 7,
   bits per sample as the values need);
4. the decoder forms x̂ = clip(x̃ + (2K+1)q, m, M), M the frame's maximum
   (clipping toward a range that holds x can only shrink the error).

The encoder tries the frame with and without the base and keeps the smaller,
then checks max|x − x̂| ≤ K itself before it writes anything; the header's
exact pixel digest makes the decoder verify it reproduced those very pixels.

Tile format (family ``nearlossless``, codec id :data:`CODEC_ID`)
----------------------------------------------------------------
Frame f is one tile (index 0; the header's tiling is one tile per frame):

* ``params``: (q_min, m, M) (integers held exactly by f64);
* ``side``: ``>BBB`` format version (1), base (0 none, 1 wavelet), coder (0 JPEG-XL
  lossless); with a base, followed by the base tile's side bytes;
* ``payload``: without a base, the JPEG-XL code stream of q − q_min (uint16); with one,
  ``>I`` its length, the code stream, then the payload of a ``wavelet-ctx`` tile
  (:mod:`mcz.codec.wavelet.coder`, quality :data:`BASE_QUALITY`) of the frame mapped to
  [0, 1] by the window m..M.

Header: ``quality`` = K; ``quantiser`` records the step and coder;
``extra["max_error"]`` = K, ``extra["measured_max_error"]`` the encoder's
measured maximum, ``extra["base"]`` the base model, its quality and how many
frames used it; ``checkpoint_sha256`` is the base's weights when any frame
uses the base, else :data:`NO_WEIGHTS` (sha256 of nothing).
"""

from __future__ import annotations

from typing import Any

import dataclasses
import hashlib
import struct
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from mcz import digests
from mcz.codec import engine
from mcz.codec.families import wavelet
from mcz.codec.wavelet import tiles
from mcz.container import Container, Header, Tile, write_container
from mcz.errors import (
    ChecksumError, FormatError, MissingDependencyError, ModelError, UnsupportedError, UsageError,
)
from mcz.intensity import Intensity, from_unit, to_unit
from mcz.io import MedicalImage
from mcz.io.codestream import jpegxl_size

#: Registered codec id (and family) of near-lossless files.
CODEC_ID = "nearlossless"
#: ``checkpoint_sha256`` of a file that uses no weights: sha256 of zero bytes.
NO_WEIGHTS = hashlib.sha256(b"").hexdigest()
#: The model whose exact reconstruction may serve as base.
BASE_MODEL = "wavelet-ctx"
#: Its quality (quantiser step 2**(-6) of the range): the cheapest base in trials on 12-14-bit CT.
BASE_QUALITY = 24
#: Largest K a header can hold (``quality`` is at most 1000).
MAX_ERROR_LIMIT = 1000
#: libjxl efforts tried; the smaller codestream is kept. Effort 7 is the JPEG-XL reference of ``mcz bench``
#: (imagecodecs' lower default: 20 % larger on pydicom-data JPEG2000_UNC.dcm); effort 9 is 1.7-2.2 %
#: smaller on quantised 12-bit chest CT slices and up to 0.8 % larger on brain MR, at 3-4x the time.
JXL_EFFORTS = (7, 9)
#: Base modes of :func:`encode_image`.
BASE_MODES = ("auto", "none", "wavelet")

_VERSION, _BASE_NONE, _BASE_WAVELET, _CODER_JXL = 1, 0, 1, 0
_SIDE = struct.Struct(">BBB")
_LENGTH = struct.Struct(">I")
_UINT16_MAX = 65535
#: Largest frame edge for which the base is tried (one wavelet tile per frame).
_BASE_MAX_EDGE = 2048

Progress = Callable[[int], None]


def check_max_error(max_error: object) -> int:
    """Validate ``max_error`` (K): an integer 0..:data:`MAX_ERROR_LIMIT`.

    Raises
    ------
    UsageError
        Anything else.
    """
    if isinstance(max_error, bool) or not isinstance(max_error, (int, np.integer)) or not (
        0 <= max_error <= MAX_ERROR_LIMIT
    ):
        raise UsageError(
            f"max_error={max_error!r} is not valid; expected an integer 0..{MAX_ERROR_LIMIT} "
            "(the largest allowed difference in stored units; 0 is lossless)"
        )
    return int(max_error)


def quantise(residual: np.ndarray, k: int) -> np.ndarray:
    """Quantise integer residuals with step 2K+1 (rounding to the nearest multiple).

    Parameters
    ----------
    residual : numpy.ndarray
        Integer residuals r (int64).
    k : int
        The bound K >= 0.

    Returns
    -------
    numpy.ndarray
        q (int64) with ``|r - (2K+1) q| <= K``.
    """
    r = residual.astype(np.int64, copy=False)
    step = 2 * k + 1
    return np.where(r >= 0, (r + k) // step, -((k - r) // step))


def _jxl() -> types.ModuleType:
    try:
        import imagecodecs  # lazy: keeps imagecodecs out of import mcz.codec.nearlossless
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise MissingDependencyError(
            f"near-lossless coding needs imagecodecs with JPEG-XL ({exc}); install it: pip install imagecodecs"
        ) from exc
    if not imagecodecs.JPEGXL.available:  # pragma: no cover
        raise MissingDependencyError("this imagecodecs build has no JPEG-XL; install a build that has it")
    return imagecodecs


def jxl_lossless(values: np.ndarray) -> bytes:
    """JPEG-XL lossless of non-negative integers below 2**16, in a uint16 container (smallest of :data:`JXL_EFFORTS`).

    ``bitspersample`` is the bits the values need (at least 9, the least libjxl takes
    for uint16 input): about 0.7 % smaller than the default on 12-bit CT.
    """
    bits = max(9, int(values.max()).bit_length()) if values.size else 9
    plane = values.astype(np.uint16)
    coded = [_jxl().jpegxl_encode(plane, lossless=True, effort=e, bitspersample=bits) for e in JXL_EFFORTS]
    return min(coded, key=len)


@dataclass(frozen=True)
class _Frame:
    """One coded frame: its tiles, reconstruction and whether it used the base."""

    tile: Tile
    recon: np.ndarray
    based: bool

    @property
    def size(self) -> int:
        return len(self.tile.payload) + len(self.tile.side)


def _window(low: int, high: int, intensity: Intensity) -> Intensity:
    high = high if high > low else low + 1
    return dataclasses.replace(intensity, low=float(low), high=float(high))


def _wavelet_base(x: np.ndarray, f: int, low: int, high: int, intensity: Intensity, codec: object) -> tuple[Tile, np.ndarray]:
    """Code frame ``x`` with the base model; returns its tile and exact reconstruction (int64)."""
    window = _window(low, high, intensity)
    scale = wavelet.range_per_unit(intensity.bits_stored, window)
    unit = np.ascontiguousarray(to_unit(x, window), np.float32)
    # block=False: this format keeps the base tile's side bytes only, never tile parameters
    tile, recon, _ = tiles.encode_tile(wavelet.tables(codec), unit, BASE_QUALITY, scale, f, 0, block=False)
    return tile, _base_pixels(recon, window)


def _base_pixels(recon: np.ndarray, window: Intensity) -> np.ndarray:
    unit = np.empty(recon.shape, np.float32)
    unit[...] = recon  # as the engine places a wavelet tile into its float32 frame
    return from_unit(unit, window).astype(np.int64)


def _residual_tile(x: np.ndarray, base: np.ndarray, k: int, f: int, low: int, high: int,
                   base_tile: Tile | None) -> tuple[Tile, np.ndarray] | None:
    """Quantise and code ``x - base`` (with the base's tile inside); None when q does not fit 16 bits."""
    q = quantise(x - base, k)
    q_min = int(q.min())
    if int(q.max()) - q_min > _UINT16_MAX:
        return None
    code = jxl_lossless(q - q_min)
    side = _SIDE.pack(_VERSION, _BASE_NONE if base_tile is None else _BASE_WAVELET, _CODER_JXL)
    if base_tile is not None:
        side, code = side + base_tile.side, _LENGTH.pack(len(code)) + code + base_tile.payload
    recon = np.clip(base + (2 * k + 1) * q, low, high)
    return Tile(frame=f, index=0, params=(float(q_min), float(low), float(high)), side=side, payload=code), recon


def _encode_frame(x: np.ndarray, k: int, f: int, intensity: Intensity, base: str, codec: object | None) -> _Frame:
    xi = x.astype(np.int64)
    low, high = int(xi.min()), int(xi.max())
    candidates = []
    if base in ("auto", "wavelet") and codec is not None and max(x.shape) <= _BASE_MAX_EDGE and high > low:
        base_tile, base_recon = _wavelet_base(x, f, low, high, intensity, codec)
        coded = _residual_tile(xi, base_recon, k, f, low, high, base_tile)
        if coded is not None:
            candidates.append(_Frame(coded[0], coded[1], True))
    if base != "wavelet" or not candidates:  # a flat or too wide frame has no base to code against
        plain = _residual_tile(xi, np.full_like(xi, low), k, f, low, high, None)
        candidates.append(_Frame(plain[0], plain[1], False))  # type: ignore[index]
    return min(candidates, key=lambda c: c.size)


def _check_image(image: MedicalImage) -> None:
    it = image.intensity
    if it.is_float or it.bits_stored > 16:
        raise UnsupportedError(
            f"near-lossless coding takes integer images of at most 16 stored bits; found {it.dtype} with "
            f"{it.bits_stored} bits stored. Convert the image to a 16-bit integer type, or use a lossy model"
        )


def encode_image(
    image: MedicalImage,
    max_error: int,
    metadata: dict[str, bytes] | None = None,
    progress: Progress | None = None,
    base: str = "auto",
    extra: dict[str, Any] | None = None,
) -> bytes:
    """Encode ``image`` so that every pixel is within ``max_error`` stored units.

    Parameters
    ----------
    image : MedicalImage
        Integer image or volume of at most 16 stored bits.
    max_error : int
        K: 0 (lossless) .. :data:`MAX_ERROR_LIMIT`.
    metadata : dict, optional
        ``meta`` chunks to store.
    progress : callable, optional
        Called with 1 after each frame.
    base : {"auto", "none", "wavelet"}
        ``"auto"`` tries each frame with and without the wavelet base and keeps the smaller;
        ``"wavelet"`` uses the base wherever it can (not on flat frames, frames over 2048
        pixels a side, or where the residual would span more than 16 bits); ``"none"`` never.
    extra : dict, optional
        Entries added to the header's ``extra`` (e.g. the DICOM record).

    Returns
    -------
    bytes
        The ``.mcz`` file.

    Raises
    ------
    UnsupportedError
        Float images or more than 16 stored bits.
    """
    k = check_max_error(max_error)
    if base not in BASE_MODES:
        raise UsageError(f"base={base!r} is not valid; expected one of {BASE_MODES}")
    _check_image(image)
    codec = _base_codec() if base != "none" else None
    recon = np.empty_like(image.pixels)
    tiles: list[Tile] = []
    based = 0
    for f in range(image.frames):
        frame = _encode_frame(image.pixels[f], k, f, image.intensity, base, codec)
        recon[f], based = frame.recon, based + frame.based
        tiles.append(frame.tile)
        if progress:
            progress(1)
    measured = _verify_bound(image.pixels, recon, k)
    header = _header(image, k, recon, measured, based, codec)
    header.extra.update(extra or {})
    return write_container(Container(header=header, tiles=tuple(tiles), metadata=dict(metadata or {})))


def _base_codec() -> object | None:
    """The base model, or None where its weights are not installed (then no frame uses a base)."""
    try:
        return engine.load_codec(BASE_MODEL)
    except ModelError:
        return None


def _verify_bound(pixels: np.ndarray, recon: np.ndarray, k: int) -> int:
    measured = int(np.abs(pixels.astype(np.int64) - recon.astype(np.int64)).max()) if pixels.size else 0
    if measured > k:  # pragma: no cover - impossible by construction; refuse rather than write
        raise ChecksumError(
            f"the near-lossless reconstruction differs by {measured} stored units, expected at most {k}; "
            "this is an mcz bug, please report it. Nothing was written"
        )
    return measured


def _header(image: MedicalImage, k: int, recon: np.ndarray, measured: int, based: int, codec: object | None) -> Header:
    extra: dict = {**engine.image_extra(image), "max_error": k, "measured_max_error": measured,
                   "base": {"model": BASE_MODEL if based else None, "quality": BASE_QUALITY if based else None,
                            "frames": based}}
    return Header(
        codec_id=CODEC_ID,
        checkpoint_sha256=digests.shorten_weights(
            codec.checkpoint_sha256 if based and codec is not None else NO_WEIGHTS),  # type: ignore[attr-defined]
        quality=k,
        **engine.image_fields(image),
        quantiser={"method": "uniform-residual", "step": 2 * k + 1, "max_error": k, "coder": "jpegxl-lossless, smaller of efforts " + "/".join(map(str, JXL_EFFORTS))},
        tiling={"tile": max(image.rows, image.columns), "pad_multiple": 1, "pad_mode": "none"},
        digest=digests.shorten(engine.digest(recon)),
        extra=extra,
    )


# --- decoding -------------------------------------------------------------------------------


def _tiles_of(container: Container) -> dict[int, Tile]:
    tiles = {t.frame: t for t in container.tiles if t.index == 0}
    frames = container.header.frames
    if len(container.tiles) != frames or len(tiles) != frames:
        raise FormatError(
            f"the near-lossless file holds {len(container.tiles)} tiles; expected tile 0 of each of its "
            f"{frames} frames and nothing else. It is damaged or was written by another encoder"
        )
    return tiles


def _parse_residual(tile: Tile) -> tuple[int, int, int, int]:
    if len(tile.params) != 3 or len(tile.side) < _SIDE.size:
        raise FormatError(
            f"near-lossless tile {tile.frame}/0 has {len(tile.params)} parameters and {len(tile.side)} side "
            f"bytes; expected 3 and at least {_SIDE.size}. The file is damaged"
        )
    version, base, coder = _SIDE.unpack(tile.side[: _SIDE.size])
    if version != _VERSION or base not in (_BASE_NONE, _BASE_WAVELET) or coder != _CODER_JXL:
        raise FormatError(
            f"near-lossless tile {tile.frame}/0 declares format {version}, base {base}, coder {coder}; "
            f"this mcz reads format {_VERSION}, base 0/1, coder 0. Update mcz or re-encode the file"
        )
    q_min, low, high = (int(v) for v in tile.params)
    return q_min, low, high, base


def _split_base(tile: Tile) -> tuple[bytes, Tile]:
    """The JPEG-XL code stream and the embedded base tile of a tile with a base."""
    (length,) = _LENGTH.unpack(tile.payload[: _LENGTH.size]) if len(tile.payload) >= _LENGTH.size else (-1,)
    if not 0 <= length <= len(tile.payload) - _LENGTH.size:
        raise FormatError(
            f"near-lossless tile {tile.frame}/0 declares a residual of {length} bytes in a payload of "
            f"{len(tile.payload)}; the file is corrupt"
        )
    end = _LENGTH.size + length
    base = Tile(frame=tile.frame, index=0, params=(), side=tile.side[_SIDE.size :], payload=tile.payload[end:])
    return tile.payload[_LENGTH.size : end], base


def _decode_q(tile: Tile, code: bytes, shape: tuple[int, int]) -> np.ndarray:
    declared = jpegxl_size(code)
    if declared != shape:  # before libjxl allocates what a crafted stream claims
        raise FormatError(
            f"near-lossless tile {tile.frame}/0 holds a JPEG-XL stream of declared size {declared}, expected "
            f"{shape}; the file is corrupt"
        )
    try:
        q = _jxl().jpegxl_decode(code)
    except Exception as exc:  # imagecodecs raises its own JpegxlError
        raise FormatError(f"near-lossless tile {tile.frame}/0 is not valid JPEG-XL ({exc}); the file is corrupt") from exc
    if q.shape != shape or q.dtype != np.uint16:
        raise FormatError(
            f"near-lossless tile {tile.frame}/0 decodes to {q.dtype} {q.shape}, expected uint16 {shape}; "
            "the file is corrupt"
        )
    return q.astype(np.int64)


def _decode_frame(header: Header, tiles: dict, f: int, intensity: Intensity, codec: object | None) -> np.ndarray:
    tile = tiles[f]
    q_min, low, high, base = _parse_residual(tile)
    shape = (header.rows, header.columns)
    if base == _BASE_WAVELET:
        if codec is None:
            raise FormatError(f"near-lossless frame {f} declares a base but the header names no base weights")
        code, base_tile = _split_base(tile)
        x_base = _decode_base(base_tile, shape, low, high, intensity, codec)
    else:
        code, x_base = tile.payload, np.full(shape, low, np.int64)
    q = _decode_q(tile, code, shape) + q_min
    k = header.quality
    return np.clip(x_base + (2 * k + 1) * q, low, high).astype(header.dtype)


def _decode_base(tile: Tile, shape: tuple[int, int], low: int, high: int, intensity: Intensity,
                 codec: object) -> np.ndarray:
    window = _window(low, high, intensity)
    scale = wavelet.range_per_unit(intensity.bits_stored, window)
    recon, _ = tiles.decode_tile(wavelet.tables(codec), tile, shape, BASE_QUALITY, scale)
    return _base_pixels(recon, window)


def _decode_codec(header: Header) -> object | None:
    if digests.same_weights(NO_WEIGHTS, header.checkpoint_sha256):
        return None

    return engine.load_codec(BASE_MODEL, header.checkpoint_sha256)


def decode_container(
    container: Container,
    verify: bool = True,
    progress: Progress | None = None,
    frames: Sequence[int] | None = None,
) -> np.ndarray:
    """Reconstruct a near-lossless file's pixels, shape (frames, rows, columns), original dtype.

    With ``verify`` (and all frames) the pixels' digest must equal the encoder's: the
    decoder then holds exactly the pixels the encoder checked against the bound.

    Raises
    ------
    ChecksumError
        The digest differs (corrupt data or a decoder fault).
    FormatError
        A malformed tile.
    """
    header = container.header
    check_max_error(header.quality)
    tiles = _tiles_of(container)
    codec = _decode_codec(header)
    intensity = Intensity.from_dict(header.intensity)
    wanted = engine.frame_list(frames, header.frames)
    pixels = np.empty((len(wanted), header.rows, header.columns), np.dtype(header.dtype))
    for i, f in enumerate(wanted):
        pixels[i] = _decode_frame(header, tiles, f, intensity, codec)
        if progress:
            progress(1)
    if verify:
        engine.check_geometry(header)
    if verify and frames is None and not digests.matches(engine.digest(pixels), header.digest):
        raise ChecksumError(
            f"the decoded pixels have digest {engine.digest(pixels)[:19]}..., the encoder recorded "
            f"{header.digest[:19]}...; the guarantee |error| <= {header.quality} cannot be confirmed. "
            "The file is corrupt: re-copy it from its source"
        )
    return pixels


def is_near_lossless(header: Header) -> bool:
    """Whether a header belongs to a near-lossless (or lossless) file."""
    return header.codec_id == CODEC_ID
