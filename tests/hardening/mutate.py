"""Build CRC-valid but hostile ``.mcz`` files from good ones (shared by the tests and ``bench/fuzz.py``).

Every function returns complete file bytes whose chunk CRCs are right, so the
mutation reaches the header validation and the tile decoders instead of being
stopped by the CRC check the way random byte flips are.
"""

from __future__ import annotations

import dataclasses
import struct
from typing import Any

import numpy as np

from mcz.container import Container, Header, Tile, read_container, write_container

#: The shipped model of each family whose tile decoder the hostile strings target.
FAMILY_MODELS = {
    "factorized": "factorized-compact", "hyperprior": "hyperprior-compact", "wavelet": "wavelet-ctx",
    "hvae": "hvae-compact",
}


def ramp(rows: int = 64, columns: int = 64) -> np.ndarray:
    """A small ``uint8`` ramp image (the fuzzing campaign's reproducer)."""
    return (np.add.outer(np.arange(rows), np.arange(columns)) % 256).astype(np.uint8)


def ct_like(size: int, seed: int = 0, amplitude: float = 0.03) -> np.ndarray:
    """A disc in [0, 1] with noise shaped like a CT kernel's (|f| times a Gaussian roll-off at 0.2 cycles/pixel).

    Large enough (96 pixels and up) it takes the wavelet-packet tile mode of ``wavelet-ctx``.
    """
    rng = np.random.default_rng(seed)
    fy, fx = np.fft.fftfreq(size)[:, None], np.fft.fftfreq(size)[None, :]
    f = np.hypot(fy, fx)
    noise = np.real(np.fft.ifft2(np.fft.fft2(rng.normal(size=(size, size))) * f * np.exp(-((f / 0.2) ** 2))))
    rows, cols = np.mgrid[0:size, 0:size]
    disc = np.where(np.hypot(rows - size / 2, cols - size / 2) < size / 3, 0.6, 0.3)
    return np.clip(disc + amplitude * noise / noise.std(), 0, 1)


def good_file(model: str, quality: int = 2, image: np.ndarray | None = None) -> bytes:
    """Encode ``image`` (default: :func:`ramp`) with ``model``."""
    import mcz

    return mcz.encode(ramp() if image is None else image, model=model, quality=quality)


def with_header(data: bytes, **changes: Any) -> bytes:
    """The file with header fields replaced, written through the raw JSON so invalid values survive."""
    container = read_container(data)
    fields = container.header.to_json_dict()
    fields.update(changes)
    return raw_header_file(fields, container.tiles)


def raw_header_file(fields: dict[str, Any], tiles: tuple[Tile, ...] = ()) -> bytes:
    """A file whose MHDR holds exactly ``fields`` (valid or not), then ``tiles``, then MEND; CRCs right."""
    import json
    import zlib

    from mcz.container import SIGNATURE, tile_prefix

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(payload, zlib.crc32(kind))
        return struct.pack(">I4s", len(payload), kind) + payload + struct.pack(">I", crc)

    head = b"\x01\x00" + json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    body = b"".join(chunk(b"TILE", tile_prefix(t) + t.payload) for t in tiles)
    return SIGNATURE + chunk(b"MHDR", head) + body + chunk(b"MEND", b"")


def with_tiles(data: bytes, tiles: tuple[Tile, ...]) -> bytes:
    """The file with its TILE chunks replaced."""
    container = read_container(data)
    return write_container(Container(container.header, tiles, container.metadata))


def with_header_object(data: bytes, header: Header) -> bytes:
    """The file with a new (valid) header."""
    container = read_container(data)
    return write_container(Container(header, container.tiles, container.metadata))


def with_rans_string(data: bytes, family: str, string: bytes, part: str = "y") -> bytes:
    """Replace the rANS string of the first tile (``part`` "y" or "z" for a hyperprior) by ``string``.

    The side information is updated so the string is taken at its full length.
    """
    container = read_container(data)
    tile = container.tiles[0]
    if family == "wavelet":
        mean, sigma, length = struct.unpack(">iII", tile.side)
        side, payload = struct.pack(">iII", mean, sigma, len(string)), string + tile.payload[length:]
    elif family == "hvae":
        # part "y": the first coded residual group (z2), "z": the top latent z1.
        rows, cols, layers, *lengths = struct.unpack(">HHBIII", tile.side)
        strings, start = [], 0
        for length in lengths:
            strings.append(tile.payload[start : start + length])
            start += length
        strings[0 if part == "z" else 1] = string
        side = struct.pack(">HHBIII", rows, cols, layers, *(len(x) for x in strings))
        payload = b"".join(strings)
    else:
        yh, yw, zh, zw, z_length = struct.unpack(">HHHHI", tile.side)
        if part == "z":
            side = struct.pack(">HHHHI", yh, yw, zh, zw, len(string))
            payload = string + tile.payload[z_length:]
        else:
            side, payload = tile.side, tile.payload[:z_length] + string
    new = dataclasses.replace(tile, side=side, payload=payload)
    return with_tiles(data, (new,) + container.tiles[1:])
