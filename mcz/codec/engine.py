"""Glue between images, models and the container: the encode and decode pipelines.

encode: stored pixels -> [0, 1] (intensity mapping) -> per frame, per tile:
encoder -> min-max quantiser -> Brotli -> ``TILE`` chunk; the encoder also runs
the decoder on its own symbols so that the header can carry a digest of the exact
reconstruction a decoder must reproduce.

decode: ``TILE`` chunks -> Brotli -> dequantise -> decoder -> stored pixels,
then the digest is checked.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from mcz import digests
from mcz.codec import header_checks, learned_coding, lossless, padding, pixelcheck, quantize, tiling, zoo
from mcz.codec.models import build_model
from mcz.codec.registry import ModelSpec
from mcz.codec.wavelet import coder as wavelet_coder
from mcz.container import Container, Header, Tile, read_container, write_container
from mcz.errors import ChecksumError, FormatError, ModelError, UsageError
from mcz.intensity import Intensity, from_unit, to_unit
from mcz.io import MedicalImage

Progress = Callable[[int], None]

#: Where a decoder may run a learned model's networks.
BACKENDS = ("torch", "onnxruntime")

#: Threads the benchmark gives the engine (it runs each cell under this many intra-op threads).
CODEC_THREADS = 1


@dataclass(frozen=True)
class Codec:
    """A model ready to code: its spec, its network (eval mode) and its weights' hash."""

    spec: ModelSpec
    model: torch.nn.Module
    checkpoint_sha256: str


def codec_from_state(spec: ModelSpec, state: dict[str, torch.Tensor], sha256: str) -> Codec:
    """Build a codec from weights already in memory (used by training and tests)."""
    model = build_model(spec.family, spec.config)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelError(
            f"weights for {spec.id!r} do not fit its architecture {spec.config}: {exc}"
        ) from exc
    return Codec(spec, model.eval(), sha256)


@functools.lru_cache(maxsize=8)
def load_codec(model_id: str, sha256: str | None = None) -> Codec:
    """Load a model from the checkpoint zoo (verified by sha256), cached per id (and sha256 if given)."""
    entry = zoo.find_checkpoint(model_id, sha256)
    return codec_from_state(entry.spec, zoo.load_state_dict(entry), entry.sha256)


def digest(pixels: np.ndarray) -> str:
    """``sha256:<hex>`` of an array's little-endian C-order bytes."""
    data = np.ascontiguousarray(pixels)
    return "sha256:" + hashlib.sha256(data.astype(data.dtype.newbyteorder("<"), copy=False).tobytes()).hexdigest()


def geometry_tag(original_shape: tuple, layout: str, dtype: str) -> str:
    """16 hex digits of the SHA-256 of the geometry :func:`mcz.decode` returns (shape, layout, dtype).

    Stored in ``extra["geometry"]``: the pixel digest covers values only, so without it an edited
    ``original_shape`` (say (R, C) -> (R, C, 1)) would decode without complaint (issue 13, item 6).
    """
    text = json.dumps({"original_shape": [int(n) for n in original_shape], "layout": layout, "dtype": dtype},
                      sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def check_geometry(header: Header) -> None:
    """Refuse a header whose geometry no longer matches the tag its encoder recorded (ChecksumError)."""
    stored = header.extra.get("geometry")
    if stored is None:  # files written before the tag: their geometry is not covered
        return
    found = geometry_tag(header.original_shape, header.layout, header.dtype)
    if stored != found:
        raise ChecksumError(
            f"the header's geometry (original_shape {list(header.original_shape)}, layout {header.layout}, "
            f"dtype {header.dtype}) has tag {found}, the encoder recorded {stored!r}; the header was altered "
            "or damaged. Re-copy the file from its source"
        )


def _check_quality(spec: ModelSpec, quality: int | None) -> int:
    bits = spec.quantiser_bits if quality is None else quality
    lo, hi = spec.quality_range
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not lo <= bits <= hi:
        raise UsageError(
            f"quality {quality!r} is not valid for model {spec.id!r}; expected an integer "
            f"{lo}..{hi} (latent quantisation bits; default {spec.quantiser_bits})"
        )
    return int(bits)


class _Runner:
    """Runs one codec's network on single tiles, under fixed threads and no autograd."""

    def __init__(self, codec: Codec) -> None:
        self.codec = codec

    def analyse(self, tile: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(tile, dtype=np.float32))[None, None]
            return self.codec.model.encode(x)[0].numpy()

    def synthesise(self, latent: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return self.codec.model.decode(torch.from_numpy(latent)[None])[0, 0].numpy()


@functools.lru_cache(maxsize=8)
def _wavelet_tables(codec: Codec) -> "wavelet_coder.Tables":
    return codec.model.tables()


def _range_per_unit(bits_stored: int, window: Intensity) -> float:
    """R = 2**bits_stored - 1 in units of the coding window (1 for float images): the wavelet step's scale."""
    if window.is_float:
        return 1.0
    return (2.0**bits_stored - 1.0) / (window.high - window.low)


def _records_latents(spec: ModelSpec) -> bool:
    """Families whose files must carry a latent digest (CAE files before it existed carry none)."""
    return spec.learned_entropy or spec.wavelet


def check_threads(threads: int | None) -> int | None:
    """Validate an explicit ``threads=`` argument (None: use the caller's setting)."""
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise UsageError(
            f"threads={threads!r} is not valid; expected a positive integer, or None to use "
            "torch.get_num_threads() as set by the caller"
        )
    return int(threads)


@contextlib.contextmanager
def torch_threads(count: int | None = None) -> Iterator[None]:
    """Run with ``count`` intra-op threads, then restore the caller's setting; None changes nothing.

    The engine never changes the process-wide thread count on its own: a forked
    DataLoader worker (one thread, set by PyTorch) that is switched to several
    threads can deadlock in OpenMP.  Only an explicit ``threads=`` does so, for
    the duration of the call.  The thread count can change the last bits of a
    network's float output; :func:`check_pixels` accounts for that.
    """
    count = check_threads(count)
    previous = torch.get_num_threads()
    if count is None or count == previous:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def coding_window(pixels: np.ndarray, intensity: Intensity) -> Intensity:
    """The intensity mapping the network sees: the image's own min..max -> [0, 1].

    A 16-bit CT whose values span -1000..2000 would otherwise use 5 % of the
    network's input range.  The window lies inside the stored domain, so the
    decoder's clip to it can never leave the dtype's range.
    """
    if intensity.is_float:
        return intensity
    low, high = float(pixels.min()), float(pixels.max())
    if high == low:  # a flat image: any window of width 1 that stays in the domain
        low, high = (low, low + 1) if low < intensity.high else (low - 1, low)
    return dataclasses.replace(intensity, low=low, high=high)


def _encode_tile(runner: _Runner, tile: np.ndarray, bits: int, frame: int, index: int,
                 latents: learned_coding.LatentDigest) -> tuple[Tile, np.ndarray]:
    spec = runner.codec.spec
    q = quantize.quantise(runner.analyse(tile), bits, spec.rounding)
    latents.update(q.symbols)
    side = struct.pack(">HHH", *q.symbols.shape)
    chunk = Tile(frame=frame, index=index, params=(q.low, q.high), side=side, payload=lossless.pack(q.symbols))
    return chunk, runner.synthesise(quantize.dequantise(q))


def _quantiser_record(spec: ModelSpec, quality: int) -> dict:
    if spec.wavelet:
        return {"method": "deadzone-rdo", "step": "2^(-quality/4) of 2^bits_stored - 1",
                "entropy_model": "wavelet-context", "backend": "rans"}
    if spec.learned_entropy:
        return {"method": "gain-units", "level": quality, "entropy_model": spec.family, "backend": "rans"}
    return {"method": "minmax", "bits": quality, "rounding": spec.rounding, "backend": "brotli"}


def image_fields(image: MedicalImage) -> dict:
    """The header fields every family takes from the image: geometry and intensity domain."""
    return dict(
        rows=image.rows,
        columns=image.columns,
        frames=image.frames,
        samples=1,
        dtype=image.intensity.dtype,
        original_shape=tuple(image.original_shape),
        layout=image.layout,
        bits_stored=image.intensity.bits_stored,
        signed=image.intensity.signed,
        photometric=image.intensity.photometric,
        intensity=image.intensity.to_dict(),
    )


def image_extra(image: MedicalImage) -> dict:
    """The ``extra`` entries every family records: the source format and the geometry tag."""
    return {"source_format": image.source_format,
            "geometry": geometry_tag(image.original_shape, image.layout, image.intensity.dtype)}


def _header(image: MedicalImage, codec: Codec, bits: int, window: Intensity, recon: np.ndarray) -> Header:
    spec = codec.spec
    return Header(
        codec_id=spec.id,
        checkpoint_sha256=digests.shorten_weights(codec.checkpoint_sha256),
        quality=bits,
        **image_fields(image),
        quantiser=_quantiser_record(spec, bits),
        tiling={"tile": spec.tile, "pad_multiple": spec.downsampling, "pad_mode": "edge"},
        digest=digests.shorten(digest(recon)),
        extra={**image_extra(image), "window": [window.low, window.high], **_pixel_check(spec, recon, window)},
    )


def _pixel_check(spec: ModelSpec, recon: np.ndarray, window: Intensity) -> dict:
    """The ``pixel_check`` entry, absent for the exact policy (what a reader assumes without one)."""
    # float64 NumPy lifting repeats exactly; float32 convolutions do not across threads/CPUs
    if spec.wavelet:
        return {}
    return {"pixel_check": pixelcheck.record(recon, window, exact=False)}


def encode_image(
    image: MedicalImage,
    codec: Codec,
    quality: int | None = None,
    metadata: dict[str, bytes] | None = None,
    progress: Progress | None = None,
    threads: int | None = None,
) -> bytes:
    """Encode a :class:`~mcz.io.MedicalImage` with ``codec`` into ``.mcz`` bytes.

    ``threads`` sets torch's intra-op threads for this call; None (default) uses
    the caller's :func:`torch.get_num_threads`.
    """
    bits = _check_quality(codec.spec, quality)
    runner = _Runner(codec)
    grid = tiling.tile_grid(image.rows, image.columns, codec.spec.tile, codec.spec.downsampling)
    # Frames are converted back one at a time so memory stays at about one
    # volume in its own dtype, not a float32 copy of it.
    recon_pixels = np.empty_like(image.pixels)
    frame_unit = np.empty(image.pixels.shape[1:], np.float32)
    pad = padding.mask_of(image)
    source = image.pixels if pad is None else padding.fill(image.pixels, pad)
    window = coding_window(source, image.intensity)
    scale = _range_per_unit(image.intensity.bits_stored, window)
    tiles = []
    latents = learned_coding.LatentDigest()
    with torch_threads(threads), torch.inference_mode():
        for f in range(image.frames):
            unit = to_unit(source[f], window)
            for box in grid:
                tile = tiling.extract(unit, box)
                if codec.spec.wavelet:
                    chunk, recon, symbols = wavelet_coder.encode_tile(
                        _wavelet_tables(codec), tile, bits, scale, f, box.index)
                    latents.update(*symbols)
                elif codec.spec.learned_entropy:
                    chunk, recon = learned_coding.encode_tile(codec.model, tile, bits - 1, f, box.index, latents)
                else:
                    chunk, recon = _encode_tile(runner, tile, bits, f, box.index, latents)
                tiling.place(frame_unit, box, recon)
                tiles.append(chunk)
            recon_pixels[f] = from_unit(frame_unit, window)
            if progress:
                progress(1)
    metadata = dict(metadata or {})
    if pad is not None:  # kept exactly: restored in the reconstruction the digest covers
        metadata[padding.META_NAME] = padding.pack(pad, image.pixels[pad])
        recon_pixels[pad] = image.pixels[pad]
    header = _header(image, codec, bits, window, recon_pixels)
    header.extra["latent_digest"] = digests.shorten(latents.hexdigest())
    return write_container(Container(header=header, tiles=tuple(tiles), metadata=metadata))


def _codec_for(header: Header, codec: Codec | None) -> Codec:
    codec = codec or load_codec(header.codec_id, header.checkpoint_sha256)
    if codec.spec.id != header.codec_id or not digests.same_weights(codec.checkpoint_sha256, header.checkpoint_sha256):
        raise ModelError(
            f"the file was encoded with {header.codec_id!r} weights {header.checkpoint_sha256[:12]}..., "
            f"but the available {codec.spec.id!r} weights are {codec.checkpoint_sha256[:12]}...; "
            "decoding with other weights would give wrong pixels. Install the checkpoint that made the file"
        )
    return codec


def _tile_symbols(chunk: Tile, box: tiling.TileBox, spec: ModelSpec, bits: int) -> quantize.Quantised:
    if len(chunk.params) != 2 or len(chunk.side) != 6:
        raise FormatError(
            f"tile {chunk.frame}/{chunk.index} has {len(chunk.params)} quantiser parameters and "
            f"{len(chunk.side)} side bytes; expected 2 and 6 for a min-max CAE tile"
        )
    shape = struct.unpack(">HHH", chunk.side)
    ds = spec.downsampling
    expected = (spec.config["channels"][-1], box.padded_rows // ds, box.padded_columns // ds)
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


def _check_tiling(header: Header, spec: ModelSpec) -> int:
    """The header's tile side, refused unless it is the one ``spec`` codes with."""
    tile, multiple = header_checks.check_decodable(header)
    if (tile, multiple) != (spec.tile, spec.downsampling):
        raise FormatError(
            f"header field 'tiling': found tile {tile} padded to a multiple of {multiple}, but "
            f"{spec.id!r} codes tiles of {spec.tile} padded to a multiple of {spec.downsampling}. "
            "The file is corrupt"
        )
    return tile


def _index_tiles(container: Container, per_frame: int) -> dict[tuple[int, int], Tile]:
    """Tiles by (frame, index), refused unless the file holds exactly frames x ``per_frame`` of them.

    The count is compared first, so the cost is O(tiles in the file), never O(tiles the header
    claims): the container already refused duplicates and frames out of range, so the right
    count with every index below ``per_frame`` means every tile is there exactly once.
    """
    header = container.header
    expected = header.frames * per_frame
    found = len(container.tiles)
    if found != expected:
        raise FormatError(
            f"the file holds {found} TILE chunks, the header needs {expected} ({header.frames} frames x "
            f"{per_frame} tiles of {header.rows} x {header.columns} pixels); it is damaged, truncated "
            "or was written by another encoder"
        )
    for t in container.tiles:
        if t.index >= per_frame:
            raise FormatError(
                f"tile {t.index} of frame {t.frame} is out of range: a frame has {per_frame} tiles; "
                "the file is damaged or was written by another encoder"
            )
    return {(t.frame, t.index): t for t in container.tiles}


def _window_of(header: Header) -> Intensity:
    domain = header_checks.check_intensity(header)
    window = header.extra.get("window")
    if domain.is_float:
        return domain
    if not (isinstance(window, list) and len(window) == 2 and all(isinstance(v, (int, float)) for v in window)):
        raise FormatError(f"the header's intensity window is {window!r}; expected [low, high]")
    low, high = float(window[0]), float(window[1])
    if not domain.low <= low < high <= domain.high:
        raise FormatError(f"the header's window {low}..{high} is not inside the domain {domain.low}..{domain.high}")
    try:
        return dataclasses.replace(domain, low=low, high=high)
    except UsageError as exc:  # e.g. a fractional window for an integer dtype
        raise FormatError(
            f"the header's window {low}..{high} is invalid: {exc}. The file is corrupt"
        ) from exc


def decode_container(
    container: Container,
    codec: Codec | None = None,
    verify: bool = True,
    progress: Progress | None = None,
    backend: str = "torch",
    threads: int | None = None,
    frames: Sequence[int] | None = None,
) -> np.ndarray:
    """Reconstruct the stored pixels, shape (frames, rows, columns), original dtype.

    ``frames`` decodes only those frames (in that order); the latent digest and an
    exact pixel digest cover the whole file, so a subset is checked by the chunk
    CRCs and, under the bounded policy, by the per-frame block means.

    The latent digest (entropy decoding) must match exactly on every backend and
    thread count; the pixels are checked by the file's pixel-check policy
    (:mod:`mcz.codec.pixelcheck`): exact, or within a recorded tolerance where the
    float synthesis differs by machine, thread count or backend.
    ``backend="onnxruntime"`` runs a learned model's networks in ONNX Runtime
    (:mod:`mcz.codec.onnx_backend`).  ``threads`` sets torch's intra-op threads
    for this call; None (default) uses the caller's :func:`torch.get_num_threads`.
    """
    header = container.header
    if header.codec_id == "nearlossless":  # its own tile format: mcz.codec.nearlossless
        from mcz.codec import nearlossless

        return nearlossless.decode_container(container, verify=verify, progress=progress, frames=frames)
    codec = _codec_for(header, codec)
    spec, bits = codec.spec, header.quality
    if not spec.quality_range[0] <= bits <= spec.quality_range[1]:
        raise FormatError(f"the file declares quality {bits}, outside {spec.id!r}'s range {spec.quality_range}")
    tile = _check_tiling(header, spec)
    tiles = _index_tiles(container, tiling.tile_count(header.rows, header.columns, tile))
    grid = tiling.tile_grid(header.rows, header.columns, tile, spec.downsampling)
    window = _window_of(header)
    scale = _range_per_unit(header.bits_stored, window)
    wanted = _frame_list(frames, header.frames)
    # Zeros, not np.empty: no byte of the result is ever memory this decoder did not write.
    pixels = np.zeros((len(wanted), header.rows, header.columns), np.dtype(header.dtype))
    unit = np.zeros((header.rows, header.columns), np.float32)
    latents = learned_coding.LatentDigest()
    with torch_threads(threads), torch.inference_mode():
        if spec.learned_entropy:  # checks the latent digest of the whole file before any synthesis
            decode_tile = _latents_first(codec, bits, backend, header, tiles, grid)
        else:
            decode_tile = _tile_decoder(codec, bits, backend, scale)
        for i, f in enumerate(wanted):
            for box in grid:
                tiling.place(unit, box, _finite(decode_tile(tiles[(f, box.index)], box, latents), f, box))
            pixels[i] = from_unit(unit, window)
            if progress:
                progress(1)
    if padding.META_NAME in container.metadata:
        padding.restore(pixels, container.metadata[padding.META_NAME], wanted, header.frames)
    if frames is not None:
        if verify:
            check_geometry(header)
            pixelcheck.check_frames(pixels, header.extra.get("pixel_check"), wanted)
        return pixels
    if not spec.learned_entropy and (_records_latents(spec) or "latent_digest" in header.extra):
        _check_latents(header, latents.hexdigest())
    if verify:
        _check_pixels(header, pixels, backend)
    return pixels


def _frame_list(frames: Sequence[int] | None, count: int) -> list[int]:
    """The frame indices to decode: all, or the caller's (each in 0..count-1)."""
    if frames is None:
        return list(range(count))
    wanted = [int(f) for f in frames if isinstance(f, (int, np.integer)) and not isinstance(f, bool)]
    if len(wanted) != len(frames) or not wanted or not all(0 <= f < count for f in wanted):
        raise UsageError(f"frames={list(frames)!r} is not valid for a file of {count} frame(s); expected "
                         f"a non-empty list of integers in 0..{count - 1}")
    return wanted


def _check_pixels(header: Header, pixels: np.ndarray, backend: str) -> None:
    """The pixel check of :mod:`mcz.codec.pixelcheck`; files without a policy: exact, torch backend only."""
    check_geometry(header)
    entry = header.extra.get("pixel_check")
    if entry is None and backend != "torch":
        return
    if entry is not None and not isinstance(entry, dict):
        raise FormatError(f"the header's pixel_check is {entry!r}; expected an object. The file is damaged")
    pixelcheck.check(pixels, digest(pixels), header.digest, entry)


TileDecoder = Callable[[Tile, tiling.TileBox, "learned_coding.LatentDigest"], np.ndarray]


def _finite(tile: np.ndarray, frame: int, box: tiling.TileBox) -> np.ndarray:
    """``tile``, refused if a corrupt payload made the decoder produce NaN or infinite values."""
    if not np.isfinite(tile).all():
        raise ChecksumError(
            f"tile {box.index} of frame {frame} decodes to {int(tile.size - np.isfinite(tile).sum())} NaN or "
            "infinite values; its coded data is corrupt. Re-copy the file from its source"
        )
    return tile


def _latents_first(codec: Codec, bits: int, backend: str, header: Header,
                   tiles: dict[tuple[int, int], Tile], grid: list[tiling.TileBox]) -> TileDecoder:
    """Entropy-decode every tile of a learned-entropy file and check the latent digest, then synthesise.

    No network sees a latent before the digest proved the coded data intact, so a corrupt
    string is reported as :class:`~mcz.errors.ChecksumError`, not as whatever the synthesis
    makes of it.  The latents (m / 256 floats per pixel) are held until their tile is synthesised.
    """
    if backend not in BACKENDS:
        raise UsageError(f"decode backend {backend!r} is not known; choose from {BACKENDS}")
    if backend == "onnxruntime":
        from mcz.codec.onnx_backend import onnx_backend

        nets = onnx_backend(codec)
    else:
        nets = learned_coding.TorchBackend(codec.model)
    digest_ = learned_coding.LatentDigest()
    decoded: dict[tuple[int, int], np.ndarray] = {}
    for f in range(header.frames):
        for box in grid:
            chunk, shape = tiles[(f, box.index)], (box.padded_rows, box.padded_columns)
            decoded[(f, box.index)] = learned_coding.decode_latent(codec.model, nets, chunk, shape, digest_)
    _check_latents(header, digest_.hexdigest())

    def synthesise(chunk: Tile, box: tiling.TileBox, _: learned_coding.LatentDigest) -> np.ndarray:
        return learned_coding.synthesise(codec.model, nets, decoded.pop((chunk.frame, chunk.index)), bits - 1)

    return synthesise


def _tile_decoder(codec: Codec, bits: int, backend: str, scale: float) -> TileDecoder:
    """The per-tile decode function of the codec's family and the chosen backend."""
    if backend not in BACKENDS:
        raise UsageError(f"decode backend {backend!r} is not known; choose from {BACKENDS}")
    spec = codec.spec
    if spec.wavelet:
        # No network: the decoder is integer context modelling + float64 NumPy lifting, exact on
        # every backend, so every backend runs the same code.
        tables = _wavelet_tables(codec)

        def decode_wavelet(chunk: Tile, box: tiling.TileBox, latents: learned_coding.LatentDigest) -> np.ndarray:
            recon, symbols = wavelet_coder.decode_tile(tables, chunk, (box.padded_rows, box.padded_columns), bits, scale)
            latents.update(*symbols)
            return recon

        return decode_wavelet
    if not spec.learned_entropy:
        if backend != "torch":
            raise UsageError(f"model {spec.id!r} ({spec.family}) decodes with the torch backend only")
        runner = _Runner(codec)

        def decode_cae(chunk: Tile, box: tiling.TileBox, latents: learned_coding.LatentDigest) -> np.ndarray:
            q = _tile_symbols(chunk, box, spec, bits)
            latents.update(q.symbols)
            return runner.synthesise(quantize.dequantise(q))

        return decode_cae
    raise UsageError(f"model {spec.id!r} ({spec.family}) is decoded by _latents_first")


def _check_latents(header: Header, found: str) -> None:
    expected = header.extra.get("latent_digest")
    if not digests.matches(found, expected):
        raise ChecksumError(
            f"the entropy-decoded latents have digest {found[:19]}..., the encoder recorded "
            f"{str(expected)[:19]}...; the coded data is corrupt (or was altered after encoding). "
            "Re-copy the file from its source"
        )


def decode_bytes(data: bytes, verify: bool = True, codec: Codec | None = None, threads: int | None = None) -> np.ndarray:
    """Shorthand: parse ``.mcz`` bytes and decode them."""
    return decode_container(read_container(data), codec=codec, verify=verify, threads=threads)
