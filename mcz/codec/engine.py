"""Glue between images, models and the container: the encode and decode pipelines, for every family.

encode: stored pixels -> [0, 1] (the image's coding window) -> per frame, per tile: the
family's :data:`~mcz.codec.families.base.TileEncoder` -> ``TILE`` chunk.  The encoder
gets each tile's reconstruction as a decoder will make it, so that the header can carry a
digest of the exact pixels a decoder must reproduce, and the digest of every tile's
integer symbols (the latent digest).

decode: ``TILE`` chunks -> the family's :class:`~mcz.codec.families.base.TileDecoder`
(symbols, then pixels) -> stored pixels; the latent digest is checked before any
reconstruction (families with ``latents_first``) or after the last tile, the pixels by
the file's pixel-check policy (:mod:`mcz.codec.pixelcheck`).

Nothing here depends on the family: what differs lives in :mod:`mcz.codec.families`.
This module does not import torch; a family with networks loads it when it codes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mcz import digests, profiling
from mcz.codec import header_checks, padding, pixelcheck, registry, tiling, zoo
from mcz.codec.gpu import tolerance
from mcz.codec.families import Coding, ModelFamily, StandaloneFamily, TileDecoder, family_for
from mcz.codec.latents import LatentDigest
from mcz.codec.registry import ModelSpec
# Codec and codec_from_state were defined here before the zoo loaded models: still importable from here.
from mcz.codec.zoo import Codec, codec_from_state  # noqa: F401
# check_threads and torch_threads were defined here before mcz.codec.threads: still importable from here.
from mcz.codec.threads import check_threads, torch_threads  # noqa: F401
from mcz.container import Container, Header, Tile, read_container, write_container
from mcz.errors import ChecksumError, FormatError, ModelError, UsageError
from mcz.intensity import Intensity, from_unit, to_unit
from mcz.io import MedicalImage

Progress = Callable[[int], None]

#: Where a decoder may run a learned model's networks (``auto`` picks one: :mod:`mcz.codec.gpu.select`).
BACKENDS = ("torch", "onnxruntime", "cuda", "tensorrt", "tensorrt-fp32")

#: Threads the benchmark gives the engine (it runs each cell under this many intra-op threads).
CODEC_THREADS = 1


def load_codec(model_id: str, sha256: str | None = None) -> Codec:
    """Load a model from the default zoo, verified by sha256 (:meth:`mcz.codec.zoo.Zoo.load`).

    The checkpoint is looked up on every call (the folders in force, ``MCZ_CHECKPOINTS``
    included, decide which file an id names); the loaded model is cached per checkpoint file
    and sha256, so a changed search path or a new checkpoint is never answered from the cache.
    """
    return zoo.default_zoo().load(model_id, sha256)


# Callers written before the zoo cleared this cache; its key is the weights file and sha256, so
# nothing needs to any more: it only frees the loaded models' memory.
load_codec.cache_clear = zoo.default_zoo().clear  # type: ignore[attr-defined]


def digest(pixels: np.ndarray) -> str:
    """``sha256:<hex>`` of an array's little-endian C-order bytes."""
    data = np.ascontiguousarray(pixels)
    return "sha256:" + hashlib.sha256(data.astype(data.dtype.newbyteorder("<"), copy=False).tobytes()).hexdigest()


def geometry_tag(original_shape: tuple, layout: str, dtype: str) -> str:
    """16 hex digits of the SHA-256 of the geometry :func:`mcz.decode` returns (shape, layout, dtype).

    Stored in ``extra["geometry"]``: the pixel digest covers values only, so without it an edited
    ``original_shape`` (say (R, C) -> (R, C, 1)) would decode without complaint (found by fuzzing).
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
    """``quality``, or the model's default, refused unless it is an integer in the model's range."""
    value = spec.default_quality if quality is None else quality
    lo, hi = spec.quality_range
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise UsageError(
            f"quality {quality!r} is not valid for model {spec.id!r}; expected an integer "
            f"{lo}..{hi} ({family_for(spec).quality_meaning}; default {spec.default_quality})"
        )
    return int(value)


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


def _header(image: MedicalImage, codec: Codec, quality: int, window: Intensity, recon: np.ndarray) -> Header:
    spec, family = codec.spec, codec.family
    check = family.pixel_check(recon, window)
    return Header(
        codec_id=spec.id,
        checkpoint_sha256=digests.shorten_weights(codec.checkpoint_sha256),
        quality=quality,
        **image_fields(image),
        quantiser=family.quantiser_record(spec, quality),
        tiling={"tile": spec.tile, "pad_multiple": spec.downsampling, "pad_mode": "edge"},
        digest=digests.shorten(digest(recon)),
        extra={**image_extra(image), "window": [window.low, window.high], **check},
    )


def encode_image(
    image: MedicalImage,
    codec: Codec,
    quality: int | None = None,
    metadata: dict[str, bytes] | None = None,
    progress: Progress | None = None,
    threads: int | None = None,
    extra: dict[str, Any] | None = None,
) -> bytes:
    """Encode a :class:`~mcz.io.MedicalImage` with ``codec`` into ``.mcz`` bytes.

    ``quality`` is the family's (:attr:`~mcz.codec.families.base.Family.quality_meaning`);
    None: the model's default.  ``threads`` sets torch's intra-op threads for this call;
    None (default) uses the caller's :func:`torch.get_num_threads`.  ``extra``: entries added
    to the header's ``extra`` (e.g. the DICOM record), written with the file in one pass.
    """
    family = codec.family
    quality = _check_quality(codec.spec, quality)
    grid = tiling.tile_grid(image.rows, image.columns, codec.spec.tile, codec.spec.downsampling)
    # Frames are converted back one at a time so memory stays at about one
    # volume in its own dtype, not a float32 copy of it.
    recon_pixels = np.empty_like(image.pixels)
    frame_unit = np.empty(image.pixels.shape[1:], np.float32)
    pad = padding.mask_of(image)
    source = image.pixels if pad is None else padding.fill(image.pixels, pad)
    window = coding_window(source, image.intensity)
    tiles = []
    latents = LatentDigest()
    with family.session(threads):
        encode_tile = family.tile_encoder(Coding(codec, quality, image.intensity.bits_stored, window))
        for f in range(image.frames):
            unit = to_unit(source[f], window)
            for box in grid:
                chunk, recon = encode_tile(tiling.extract(unit, box), f, box.index, latents)
                tiling.place(frame_unit, box, recon)
                tiles.append(chunk)
            recon_pixels[f] = from_unit(frame_unit, window)
            if progress:
                progress(1)
    metadata = dict(metadata or {})
    if pad is not None:  # kept exactly: restored in the reconstruction the digest covers
        metadata[padding.META_NAME] = padding.pack(pad, image.pixels[pad])
        recon_pixels[pad] = image.pixels[pad]
    header = _header(image, codec, quality, window, recon_pixels)
    header.extra["latent_digest"] = digests.shorten(latents.hexdigest())
    header.extra.update(extra or {})  # after the digest: the order the header always had
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


def window_of(header: Header) -> Intensity:
    """The coding window a file's header records (its intensity domain narrowed to the stored window)."""
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
    (:mod:`mcz.codec.onnx_backend`); ``cuda``, ``tensorrt`` (FP16 engine) and
    ``tensorrt-fp32`` run the synthesis on a GPU (:mod:`mcz.codec.gpu`), checked with the
    tolerance of their precision (:mod:`mcz.codec.gpu.tolerance`); ``auto`` picks the fastest
    that can run here.  ``threads`` sets torch's intra-op threads
    for this call; None (default) uses the caller's :func:`torch.get_num_threads`.
    A standalone family's file (near-lossless) is decoded by that family.
    """
    header = container.header
    standalone = _standalone_family(header.codec_id)
    if standalone is not None:
        return standalone.decode_container(container, verify=verify, progress=progress, frames=frames)
    codec = _codec_for(header, codec)
    spec, family, quality = codec.spec, codec.family, header.quality
    if not spec.quality_range[0] <= quality <= spec.quality_range[1]:
        raise FormatError(f"the file declares quality {quality}, outside {spec.id!r}'s range "
                          f"{spec.quality_range}")
    tile = _check_tiling(header, spec)
    tiles = _index_tiles(container, tiling.tile_count(header.rows, header.columns, tile))
    grid = tiling.tile_grid(header.rows, header.columns, tile, spec.downsampling)
    window = window_of(header)
    wanted = frame_list(frames, header.frames)
    # Zeros, not np.empty: no byte of the result is ever memory this decoder did not write.
    pixels = np.zeros((len(wanted), header.rows, header.columns), np.dtype(header.dtype))
    unit = np.zeros((header.rows, header.columns), np.float32)
    latents = LatentDigest()
    backend = _resolve_backend(codec, backend)
    with family.session(threads):
        _check_backend(codec, backend)
        decoder = _Timed(family.tile_decoder(Coding(codec, quality, header.bits_stored, window, backend)))
        decode_tile = _tile_source(family, decoder, header, tiles, grid, latents, wanted)
        for i, f in enumerate(wanted):
            for box in grid:
                tiling.place(unit, box, _finite(decode_tile(tiles[(f, box.index)], box), f, box))
            pixels[i] = from_unit(unit, window)
            if progress:
                progress(1)
    if padding.META_NAME in container.metadata:
        padding.restore(pixels, container.metadata[padding.META_NAME], wanted, header.frames)
    if frames is not None:
        if verify:
            check_geometry(header)
            pixelcheck.check_frames(pixels, header.extra.get("pixel_check"), wanted,
                                    floor=tolerance.backend_floor(backend, window))
        return pixels
    with profiling.stage("digest"):
        if not family.latents_first and (family.requires_latent_digest or "latent_digest" in header.extra):
            _check_latents(header, latents.hexdigest())
        if verify:
            _check_pixels(header, pixels, backend, window)
    return pixels


def _resolve_backend(codec: Codec, backend: str) -> str:
    """``backend``, or for ``auto`` the one :func:`mcz.codec.gpu.select.choose` picks; noted in the profile."""
    if backend == "auto":
        from mcz.codec.gpu.select import choose  # torch-free: it probes torch and TensorRT lazily

        choice = choose(codec.family.backends, codec.spec.family)
        profiling.note("backend_reason", choice.reason)
        backend = choice.backend
    profiling.note("backend", backend)
    return backend


class _Timed(TileDecoder):
    """A tile decoder whose entropy decoding and synthesis are timed into the current profile."""

    def __init__(self, inner: TileDecoder) -> None:
        self.inner = inner
        self.batch_size = inner.batch_size

    def symbols(self, chunk: Tile, box: tiling.TileBox, latents: LatentDigest) -> Any:
        with profiling.stage("entropy"):
            return self.inner.symbols(chunk, box, latents)

    def reconstruct(self, symbols: Any, box: tiling.TileBox) -> np.ndarray:
        with profiling.stage("synthesis"):
            return self.inner.reconstruct(symbols, box)

    def reconstruct_batch(self, items: list[tuple[Any, tiling.TileBox]]) -> list[np.ndarray]:
        with profiling.stage("synthesis"):
            return self.inner.reconstruct_batch(items)


def _standalone_family(codec_id: str) -> StandaloneFamily | None:
    """The family of a registered id whose files it decodes itself (near-lossless), else None."""
    if codec_id not in registry.registered_ids():
        return None  # a model trained elsewhere: registered when the zoo finds its weights
    family = family_for(registry.get_spec(codec_id))
    return family if isinstance(family, StandaloneFamily) else None


def _check_backend(codec: Codec, backend: str) -> None:
    """Refuse a backend mcz does not know, or one the codec's family does not run on."""
    if backend not in BACKENDS:
        raise UsageError(f"decode backend {backend!r} is not known; choose from {(*BACKENDS, 'auto')}")
    supported = codec.family.backends
    if backend not in supported:
        raise UsageError(f"model {codec.spec.id!r} ({codec.spec.family}) decodes with the "
                         f"{' or '.join(supported)} backend only")


def frame_list(frames: Sequence[int] | None, count: int) -> list[int]:
    """The frame indices to decode: all, or the caller's (each in 0..count-1)."""
    if frames is None:
        return list(range(count))
    wanted = [int(f) for f in frames if isinstance(f, (int, np.integer)) and not isinstance(f, bool)]
    if len(wanted) != len(frames) or not wanted or not all(0 <= f < count for f in wanted):
        raise UsageError(f"frames={list(frames)!r} is not valid for a file of {count} frame(s); expected "
                         f"a non-empty list of integers in 0..{count - 1}")
    return wanted


def _check_pixels(header: Header, pixels: np.ndarray, backend: str, window: Intensity) -> None:
    """The pixel check of :mod:`mcz.codec.pixelcheck`; files without a policy: exact, torch backend only.

    On a backend coarser than FP32 the bounded check allows at least that precision's
    tolerance (:func:`mcz.codec.gpu.tolerance.backend_floor`); the latent digest stays exact.
    """
    check_geometry(header)
    entry = header.extra.get("pixel_check")
    if entry is None and backend != "torch":
        return
    if entry is not None and not isinstance(entry, dict):
        raise FormatError(f"the header's pixel_check is {entry!r}; expected an object. The file is damaged")
    pixelcheck.check(pixels, digest(pixels), header.digest, entry, floor=tolerance.backend_floor(backend, window))


def _finite(tile: np.ndarray, frame: int, box: tiling.TileBox) -> np.ndarray:
    """``tile``, refused if a corrupt payload made the decoder produce NaN or infinite values."""
    if not np.isfinite(tile).all():
        raise ChecksumError(
            f"tile {box.index} of frame {frame} decodes to {int(tile.size - np.isfinite(tile).sum())} NaN or "
            "infinite values; its coded data is corrupt. Re-copy the file from its source"
        )
    return tile


TileSource = Callable[[Tile, tiling.TileBox], np.ndarray]


def _tile_source(family: ModelFamily, decoder: TileDecoder, header: Header,
                 tiles: dict[tuple[int, int], Tile], grid: list[tiling.TileBox], latents: LatentDigest,
                 wanted: list[int] | None = None) -> TileSource:
    """The function that decodes one tile to pixels, in the family's safety order.

    With ``latents_first`` every tile of the file is entropy-decoded and the latent digest
    checked here, so no network sees a latent before the digest proved the coded data
    intact: a corrupt string is reported as :class:`~mcz.errors.ChecksumError`, not as
    whatever the synthesis makes of it.  The symbols are held until their tile is
    reconstructed.  Otherwise tiles are decoded one at a time and the caller checks the
    digest after the last one.
    """
    if not family.latents_first:
        return lambda chunk, box: decoder.reconstruct(decoder.symbols(chunk, box, latents), box)
    decoded: dict[tuple[int, int], Any] = {}
    for f in range(header.frames):
        for box in grid:
            decoded[(f, box.index)] = decoder.symbols(tiles[(f, box.index)], box, latents)
    with profiling.stage("digest"):
        _check_latents(header, latents.hexdigest())
    if decoder.batch_size > 1:
        order = [(f, box) for f in (wanted if wanted is not None else range(header.frames)) for box in grid]
        return _batched_source(decoder, decoded, order)
    return lambda chunk, box: decoder.reconstruct(decoded.pop((chunk.frame, chunk.index)), box)


def _batched_source(decoder: TileDecoder, decoded: dict[tuple[int, int], Any],
                    order: list[tuple[int, tiling.TileBox]]) -> TileSource:
    """Reconstruct tiles ``decoder.batch_size`` at a time, in decode ``order`` (a volume's slices as a batch).

    A miss reconstructs the requested tile and the next ones of the same padded size, so at
    most one batch of reconstructions is held at a time.
    """
    ready: dict[tuple[int, int], np.ndarray] = {}
    position = {(f, box.index): i for i, (f, box) in enumerate(order)}

    def source(chunk: Tile, box: tiling.TileBox) -> np.ndarray:
        key = (chunk.frame, chunk.index)
        if key not in ready:
            size = (box.padded_rows, box.padded_columns)
            batch = [(f, b) for f, b in order[position[key]:]
                     if (f, b.index) in decoded and (b.padded_rows, b.padded_columns) == size][:decoder.batch_size]
            tiles = decoder.reconstruct_batch([(decoded.pop((f, b.index)), b) for f, b in batch])
            ready.update({(f, b.index): t for (f, b), t in zip(batch, tiles)})
        return ready.pop(key)

    return source


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
