"""The ``.mcz`` container: byte layout, reader, writer and limits (standard library only).

Byte layout, format version 3.0
===============================

All integers are unsigned and big-endian; ``f64`` is an IEEE 754 binary64 number, big-endian.
Offsets are in bytes from the start of the file.

Signature
---------
The file starts with the 8 bytes ``89 4D 43 5A 0D 0A 1A 0A`` (``b"\\x89MCZ\\r\\n\\x1a\\n"``). As in PNG,
the byte with the high bit set catches 7-bit transfers, ``0D 0A`` and the final ``0A`` catch
line-ending conversion, and ``1A`` stops ``type`` on DOS.

Chunks
------
After the signature comes a sequence of chunks, each laid out as::

    u32       length   number of payload bytes, 0 .. 2**30
    4 bytes   type     four ASCII letters [A-Za-z]
    length    payload
    u32       crc      CRC-32 (ISO-HDLC, the one of zlib, gzip and PNG) of the type bytes
                       followed by the payload

The case of the first type letter says what a reader that does not know the type must do:
upper case means *critical* (refuse the file), lower case means *ancillary* (skip the chunk). The
CRC of every chunk, known or not, is checked. The chunks must appear in this order:

* ``MHDR`` exactly once, first;
* any number of ``TILE``, ``meta`` and ancillary chunks, in any order;
* ``MEND`` exactly once, last. A file that ends without ``MEND`` is truncated; bytes after ``MEND``
  make the file invalid.

This writer emits ``MHDR``, the ``meta`` chunks sorted by name, the ``TILE`` chunks in the order
of ``Container.tiles`` and ``MEND``, so equal containers give identical bytes.

``MHDR`` (critical): the header
-------------------------------
::

    u8      major    format major version, 3
    u8      minor    format minor version, 0
    rest    deflate  one complete raw DEFLATE stream (RFC 1951, no zlib wrapper: the version
                     names the dictionary and the chunk CRC covers the bytes) with the preset
                     dictionary ``mcz.header_dictionary.DICTIONARY_3``, nothing after it; it
                     inflates to a UTF-8 JSON object of at most 1 MiB

Format 2.x stored the same JSON as one zlib stream (RFC 1950) with the preset dictionary
``DICTIONARY`` (FDICT set, DICTID = its Adler-32) and full 64-digit digests; format 1.x stored it
uncompressed after the two version bytes. This reader still reads both. Format 3 changed the
dictionary (to the headers the writers emit now), dropped the zlib wrapper and shortened the
digests (``mcz.digests``): together about 100 bytes less per file, which is 2-5 % of a 256 x 256
image coded at 0.25-0.5 bpp.

A reader refuses a major version it does not know. It reads a higher minor version of its major
version and keeps the keys it does not know (``Header.unknown``); a writer writes them back as they
were. The writer emits the JSON with sorted keys, no whitespace, non-ASCII characters as UTF-8, and
never NaN or Infinity; a reader refuses duplicate keys, NaN and Infinity. The object has these keys
(all required except ``extra``):

=================== ================================================================================
key                 value
=================== ================================================================================
codec_id            string, 1-64 characters, ``[a-z0-9][a-z0-9._-]*``; the registered codec id
checkpoint_sha256   string, 16 lower-case hex digits (format 3; 64 in formats 1-2): the start of the
                    sha256 of the checkpoint the codec used
quality             integer 0..1000; the codec's quality setting
rows, columns       integers 1..65535; size of one frame
frames              integer 1..65536
samples             integer; samples per pixel, must be 1 in this version
dtype               one of uint8 int8 uint16 int16 uint32 int32 float32 float64 (numpy dtype name
                    of the original array)
original_shape      array of 1..5 integers >= 1 whose product is rows * columns * frames
layout              "frames-first" or "frames-last": where the frame axis sits in original_shape
bits_stored         integer 1..64, at most the bit width of dtype
signed              true or false
photometric         "MONOCHROME1" or "MONOCHROME2"
intensity           object of JSON scalars (string, finite number, true/false, null); the mapping
                    between stored values and the codec's unit range (e.g. low, high, slope)
quantiser           object of JSON scalars, e.g. {"method": "minmax", "bits": 8}
tiling              object of JSON scalars, e.g. {"tile_rows": 512, "pad_mode": "reflect"}
digest              string, "sha256:" + 32 lower-case hex digits (format 3; 64 in formats 1-2):
                    the start of the sha256 of the reconstruction the encoder produced
extra               object of any JSON values nested at most 32 deep; free-form codec info.
                    Optional, absent means {}
=================== ================================================================================

Everywhere in the header, numbers are finite, integers lie in -2**63 .. 2**64 - 1 and strings are
valid Unicode (no lone surrogates); keys of a newer minor version obey the rules of ``extra``.
A reader also enforces rows * columns <= 2**28 and rows * columns * frames <= 2**33 before it
allocates anything.

``TILE`` (critical): one coded tile
-----------------------------------
::

    offset      size     field
    0           u32      frame         frame index, < frames
    4           u32      index         tile index within the frame
    8           u16      n             number of quantiser parameters
    10          n * f64  params        quantiser parameters (e.g. latent min and max), finite
    10 + 8n     u32      side_length
    14 + 8n     side_length bytes      side information (e.g. the latent shape)
    14 + 8n + side_length .. end       the entropy-coded payload

No two ``TILE`` chunks share a (frame, index) pair. The container does not decide which tiles a
frame needs: that is the codec's tiling.

``meta`` (ancillary, optional, repeatable): a named metadata blob
-----------------------------------------------------------------
::

    u8      name_length   1..64
    name_length bytes     name, ASCII [a-z0-9_.-], unique within the file
    rest                  exactly one complete zlib stream (RFC 1950), nothing after it

The decompressed sizes of all ``meta`` chunks of a file add up to at most 512 MiB.

``MEND`` (critical): end of file
--------------------------------
Empty payload; the file ends right after its CRC.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import numbers
import re
import struct
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from mcz.errors import ChecksumError, FormatError, TruncatedError, UnsupportedError, VersionError
from mcz.header_dictionary import DICTIONARY, DICTIONARY_3

__all__ = [
    "FORMAT_MAJOR",
    "FORMAT_MINOR",
    "MAX_CHUNK_LENGTH",
    "MAX_FRAMES",
    "MAX_FRAME_PIXELS",
    "MAX_HEADER_BYTES",
    "MAX_METADATA_BYTES",
    "MAX_TOTAL_PIXELS",
    "SIGNATURE",
    "ChunkInfo",
    "Container",
    "Header",
    "Tile",
    "container_overhead",
    "list_chunks",
    "read_container",
    "read_header",
    "write_container",
]

SIGNATURE = b"\x89MCZ\r\n\x1a\n"
FORMAT_MAJOR = 3
FORMAT_MINOR = 0
#: Oldest major version this reader reads (1.x: the header JSON uncompressed).
OLDEST_MAJOR = 1

MAX_DIMENSION = 65535
MAX_FRAMES = 65536
MAX_FRAME_PIXELS = 2**28
MAX_TOTAL_PIXELS = 2**33
MAX_CHUNK_LENGTH = 2**30
MAX_HEADER_BYTES = 2**20
MAX_METADATA_BYTES = 2**29  # all meta chunks of one file together, decompressed
MAX_JSON_DEPTH = 32
MAX_SHAPE_DIMS = 5
MAX_PARAMS = 0xFFFF

DTYPE_BITS = {
    "uint8": 8,
    "int8": 8,
    "uint16": 16,
    "int16": 16,
    "uint32": 32,
    "int32": 32,
    "float32": 32,
    "float64": 64,
}
LAYOUTS = ("frames-first", "frames-last")
PHOTOMETRICS = ("MONOCHROME1", "MONOCHROME2")

_CODEC_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
# Format 3 stores shortened digests (mcz.digests); files of formats 1-2 full ones.
_SHA256_HEX = re.compile(r"[0-9a-f]{16}|[0-9a-f]{64}")
_DIGEST = re.compile(r"sha256:(?:[0-9a-f]{32}|[0-9a-f]{64})")
_META_NAME = re.compile(r"[a-z0-9_.-]{1,64}")
_CHUNK_TYPE = re.compile(rb"[A-Za-z]{4}")

_CHUNK_HEAD = struct.Struct(">I4s")
_U32 = struct.Struct(">I")
_TILE_HEAD = struct.Struct(">IIH")
_VERSION = struct.Struct(">BB")
_CHUNK_FRAMING = _CHUNK_HEAD.size + _U32.size  # length + type + CRC
_TILE_FIXED = _TILE_HEAD.size + _U32.size  # frame, index, n_params, side_length

# Files people pass by mistake, named in the "not a .mcz file" message.
_FOREIGN_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\x1f\x8b", "gzip data (e.g. a .nii.gz file)"),
    (b"PK\x03\x04", "a zip archive"),
)


# --------------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------------


def _describe(value: object) -> str:
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})"


def _field_error(name: str, value: object, expected: str, owner: str = "header") -> FormatError:
    return FormatError(f"{owner} field {name!r}: found {_describe(value)}, expected {expected}")


def _is_int(value: object) -> TypeGuard[int]:
    # bool is a subclass of int; True must not pass for a row count.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates cannot be written as UTF-8
        return False
    return True


def _is_json_scalar(value: object) -> bool:
    if value is None or isinstance(value, bool):
        return True
    if _is_int(value):
        # Readers in other languages hold JSON integers in 64 bits at most.
        return -(2**63) <= value < 2**64
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str) and _is_utf8(value)


def _json_problem(value: object, depth: int = 0) -> str | None:
    """Say why ``value`` cannot be stored as JSON, or return None if it can."""
    if depth > MAX_JSON_DEPTH:
        return f"nesting deeper than {MAX_JSON_DEPTH} levels"
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not _is_utf8(key):
                return f"key {_describe(key)} is not a UTF-8 string"
            problem = _json_problem(item, depth + 1)
            if problem:
                return f"[{key!r}]: {problem}"
        return None
    if isinstance(value, list):
        for position, item in enumerate(value):
            problem = _json_problem(item, depth + 1)
            if problem:
                return f"[{position}]: {problem}"
        return None
    if _is_json_scalar(value):
        return None
    return f"{_describe(value)} is not a JSON value (object, list, string, finite number, bool, null)"


def _check_int(name: str, value: object, low: int, high: int, owner: str = "header") -> None:
    if not _is_int(value) or not low <= value <= high:
        raise _field_error(name, value, f"an integer in {low}..{high}", owner)


def _check_choice(name: str, value: object, choices: tuple[str, ...] | Mapping[str, int]) -> None:
    if not isinstance(value, str) or value not in choices:
        raise _field_error(name, value, "one of " + ", ".join(map(repr, choices)))


def _check_pattern(name: str, value: object, pattern: re.Pattern[str], expected: str) -> None:
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise _field_error(name, value, expected)


def _check_scalar_dict(name: str, value: object) -> None:
    if not isinstance(value, dict):
        raise _field_error(name, value, "a JSON object (dict)")
    for key, item in value.items():
        if not isinstance(key, str) or not _is_utf8(key):
            raise _field_error(name, key, "string keys")
        if not _is_json_scalar(item):
            raise FormatError(
                f"header field {name!r}, key {key!r}: found {_describe(item)}, "
                "expected a string, finite number, bool or None"
            )


def _check_json_dict(name: str, value: object) -> None:
    if not isinstance(value, dict):
        raise _field_error(name, value, "a JSON object (dict)")
    problem = _json_problem(value)
    if problem:
        raise FormatError(f"header field {name!r}: {problem}")


def _check_shape(value: object) -> None:
    expected = f"a tuple of 1..{MAX_SHAPE_DIMS} integers >= 1"
    if not isinstance(value, tuple) or not 1 <= len(value) <= MAX_SHAPE_DIMS:
        raise _field_error("original_shape", value, expected)
    if not all(_is_int(n) and n >= 1 for n in value):
        raise _field_error("original_shape", value, expected)


def _check_samples(value: object) -> None:
    _check_int("samples", value, 1, MAX_DIMENSION)
    if value != 1:
        raise UnsupportedError(
            f"header field 'samples': found {value} samples per pixel, expected 1; "
            "this mcz handles single-channel (greyscale) images only"
        )


# --------------------------------------------------------------------------------------------------
# Header
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    """Everything a decoder needs besides the tiles; see the module docstring for each field.

    Construction validates every field and raises :class:`~mcz.errors.FormatError` naming the
    field, the value found and what was expected (:class:`~mcz.errors.UnsupportedError` for
    ``samples != 1``). Python ``int``/``float``/``bool``/``str`` are required: numpy scalars and
    bools in place of integers are refused. A list ``original_shape`` is turned into a tuple.
    """

    codec_id: str
    checkpoint_sha256: str
    quality: int
    rows: int
    columns: int
    frames: int
    samples: int
    dtype: str
    original_shape: tuple[int, ...]
    layout: str
    bits_stored: int
    signed: bool
    photometric: str
    intensity: dict[str, Any]
    quantiser: dict[str, Any]
    tiling: dict[str, Any]
    digest: str
    extra: dict[str, Any] = field(default_factory=dict)
    unknown: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.original_shape, list):
            object.__setattr__(self, "original_shape", tuple(self.original_shape))
        _validate_header(self)

    def to_json_dict(self) -> dict[str, Any]:
        """Return the header as the JSON object stored in ``MHDR`` (a deep copy).

        Returns
        -------
        dict
            The known fields (``original_shape`` as a list) merged with the ``unknown`` keys.
        """
        out = copy.deepcopy(self.unknown)
        for name in _JSON_KEYS:
            out[name] = copy.deepcopy(getattr(self, name))
        out["original_shape"] = list(self.original_shape)
        return out

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> Header:
        """Build a header from the ``MHDR`` JSON object, validating every field.

        Parameters
        ----------
        data : Mapping
            The decoded JSON object. Keys this version does not know go to ``unknown``.

        Returns
        -------
        Header

        Raises
        ------
        FormatError
            A field is missing, has the wrong type or is out of range.
        UnsupportedError
            ``samples`` is not 1.
        """
        if not isinstance(data, Mapping):
            raise FormatError(f"header: found {_describe(data)}, expected a JSON object")
        for name in _REQUIRED_KEYS:
            if name not in data:
                raise FormatError(f"header field {name!r} is missing; the file is corrupt or not from mcz")
        known = {key: value for key, value in data.items() if key in _JSON_KEYS}
        unknown = {key: value for key, value in data.items() if key not in _JSON_KEYS}
        return cls(**known, unknown=unknown)

    def replace(self, **changes: Any) -> Header:
        """Return a copy with ``changes`` applied (validated like a new header).

        Parameters
        ----------
        **changes
            Field names and their new values.

        Returns
        -------
        Header
        """
        return dataclasses.replace(self, **changes)


_JSON_KEYS = tuple(f.name for f in dataclasses.fields(Header) if f.name != "unknown")
_REQUIRED_KEYS = tuple(name for name in _JSON_KEYS if name != "extra")


def _validate_header(header: Header) -> None:
    _check_identity(header)
    _check_geometry(header)
    _check_pixels(header)
    _check_mappings(header)
    _check_limits(header)


def _check_identity(h: Header) -> None:
    _check_pattern("codec_id", h.codec_id, _CODEC_ID, "1-64 characters matching [a-z0-9][a-z0-9._-]*")
    _check_pattern("checkpoint_sha256", h.checkpoint_sha256, _SHA256_HEX, "16 or 64 lower-case hex digits")
    _check_pattern("digest", h.digest, _DIGEST, "'sha256:' followed by 32 or 64 lower-case hex digits")
    _check_int("quality", h.quality, 0, 1000)


def _check_geometry(h: Header) -> None:
    _check_int("rows", h.rows, 1, MAX_DIMENSION)
    _check_int("columns", h.columns, 1, MAX_DIMENSION)
    _check_int("frames", h.frames, 1, MAX_FRAMES)
    _check_samples(h.samples)
    _check_shape(h.original_shape)
    _check_choice("layout", h.layout, LAYOUTS)


def _check_pixels(h: Header) -> None:
    _check_choice("dtype", h.dtype, DTYPE_BITS)
    _check_int("bits_stored", h.bits_stored, 1, 64)
    if h.bits_stored > DTYPE_BITS[h.dtype]:
        expected = f"at most {DTYPE_BITS[h.dtype]} for dtype {h.dtype!r}"
        raise _field_error("bits_stored", h.bits_stored, expected)
    if not isinstance(h.signed, bool):
        raise _field_error("signed", h.signed, "True or False")
    _check_choice("photometric", h.photometric, PHOTOMETRICS)


def _check_mappings(h: Header) -> None:
    for name in ("intensity", "quantiser", "tiling"):
        _check_scalar_dict(name, getattr(h, name))
    _check_json_dict("extra", h.extra)
    _check_json_dict("unknown", h.unknown)
    clash = sorted(set(h.unknown) & set(_JSON_KEYS))
    if clash:
        raise _field_error("unknown", clash, "no keys that are header fields")


def _check_limits(h: Header) -> None:
    per_frame = h.rows * h.columns
    if per_frame > MAX_FRAME_PIXELS:
        raise FormatError(
            f"header fields 'rows' x 'columns': found {h.rows} x {h.columns} = {per_frame} pixels "
            f"per frame, expected at most {MAX_FRAME_PIXELS} (2**28)"
        )
    total = per_frame * h.frames
    if total > MAX_TOTAL_PIXELS:
        raise FormatError(
            f"header field 'frames': found {h.frames} frames of {per_frame} pixels = {total} pixels, "
            f"expected at most {MAX_TOTAL_PIXELS} (2**33) in all"
        )
    if math.prod(h.original_shape) != total:
        raise _field_error(
            "original_shape", h.original_shape, f"a shape with rows x columns x frames = {total} elements"
        )


# --------------------------------------------------------------------------------------------------
# Tiles, containers, chunk listing
# --------------------------------------------------------------------------------------------------


def _to_bytes(value: object, name: str, owner: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise _field_error(name, value, "bytes", owner)


def _to_params(value: object, owner: str) -> tuple[float, ...]:
    expected = f"a tuple of at most {MAX_PARAMS} finite real numbers"
    if not isinstance(value, (tuple, list)) or len(value) > MAX_PARAMS:
        raise _field_error("params", value, expected, owner)
    # numbers.Real admits numpy floating scalars, which a quantiser naturally returns.
    if not all(isinstance(p, numbers.Real) and not isinstance(p, bool) for p in value):
        raise _field_error("params", value, expected, owner)
    params = tuple(float(p) for p in value)
    if not all(math.isfinite(p) for p in params):
        raise _field_error("params", value, expected, owner)
    return params


@dataclass(frozen=True)
class Tile:
    """One coded tile: where it goes, its quantiser parameters, side information and payload.

    Construction checks the types (``FormatError``); ``params`` becomes a tuple of Python floats and
    ``side``/``payload`` become ``bytes``.
    """

    frame: int
    index: int
    params: tuple[float, ...]
    side: bytes
    payload: bytes

    def __post_init__(self) -> None:
        owner = "tile"
        _check_int("frame", self.frame, 0, MAX_FRAMES - 1, owner)
        _check_int("index", self.index, 0, 0xFFFFFFFF, owner)
        object.__setattr__(self, "params", _to_params(self.params, owner))
        object.__setattr__(self, "side", _to_bytes(self.side, "side", owner))
        object.__setattr__(self, "payload", _to_bytes(self.payload, "payload", owner))


@dataclass(frozen=True)
class Container:
    """A whole ``.mcz`` file in memory: header, tiles in file order, and metadata blobs by name.

    Construction checks that tile ids (frame, index) are distinct, that every frame is below
    ``header.frames``, and that metadata names match ``[a-z0-9_.-]{1,64}`` with ``bytes`` values
    (bytearray/memoryview are copied to bytes; ``tiles`` may be given as a list).
    """

    header: Header
    tiles: tuple[Tile, ...]
    metadata: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.tiles, list):
            object.__setattr__(self, "tiles", tuple(self.tiles))
        if isinstance(self.metadata, dict):
            blobs = {name: _to_bytes(blob, name, "metadata") for name, blob in self.metadata.items()}
            object.__setattr__(self, "metadata", blobs)
        _validate_container(self)


def _validate_container(c: Container) -> None:
    if not isinstance(c.header, Header):
        raise _field_error("header", c.header, "a Header", "container")
    if not isinstance(c.tiles, tuple) or not all(isinstance(t, Tile) for t in c.tiles):
        raise _field_error("tiles", c.tiles, "a tuple of Tile", "container")
    seen: set[tuple[int, int]] = set()
    for tile in c.tiles:
        _check_tile_id(tile, c.header.frames, seen, "container")
    _check_metadata(c.metadata)


def _check_tile_id(tile: Tile, frames: int, seen: set[tuple[int, int]], where: str) -> None:
    if tile.frame >= frames:
        raise FormatError(
            f"{where}: tile {tile.index} of frame {tile.frame} is out of range; "
            f"the header declares {frames} frames"
        )
    key = (tile.frame, tile.index)
    if key in seen:
        raise FormatError(f"{where}: duplicate tile {tile.index} of frame {tile.frame}")
    seen.add(key)


def _check_metadata(metadata: object) -> None:
    if not isinstance(metadata, dict):
        raise _field_error("metadata", metadata, "a dict of name -> bytes", "container")
    for name, blob in metadata.items():
        if not isinstance(name, str) or _META_NAME.fullmatch(name) is None:
            raise _field_error("metadata", name, "names of 1-64 characters [a-z0-9_.-]", "container")
        if not isinstance(blob, bytes):
            raise _field_error(name, blob, "bytes", "metadata")
    total = sum(len(blob) for blob in metadata.values())
    if total > MAX_METADATA_BYTES:
        raise FormatError(
            f"container: metadata holds {total} bytes, expected at most {MAX_METADATA_BYTES} in all"
        )


@dataclass(frozen=True)
class ChunkInfo:
    """Where a chunk sits in a file: its type, byte offset (of its length field) and payload length."""

    type: str
    offset: int
    length: int
    critical: bool


@dataclass(frozen=True)
class _Chunk:
    info: ChunkInfo
    payload: memoryview

    @property
    def where(self) -> str:
        return f"chunk {self.info.type} at offset {self.info.offset}"


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------


def _frame_chunk(kind: bytes, payload: bytes) -> bytes:
    if len(payload) > MAX_CHUNK_LENGTH:
        raise FormatError(
            f"a {kind.decode()} chunk would hold {len(payload)} bytes, more than the maximum of "
            f"{MAX_CHUNK_LENGTH}; use smaller tiles or less metadata"
        )
    crc = zlib.crc32(payload, zlib.crc32(kind))
    return _CHUNK_HEAD.pack(len(payload), kind) + payload + _U32.pack(crc)


def _header_payload(header: Header) -> bytes:
    text = json.dumps(
        header.to_json_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False, ensure_ascii=False
    )
    raw = text.encode("utf-8")
    if len(raw) > MAX_HEADER_BYTES:
        raise FormatError(
            f"header: the JSON takes {len(raw)} bytes, expected at most {MAX_HEADER_BYTES}; shrink 'extra'"
        )
    # Raw DEFLATE (no zlib wrapper): the version names the dictionary and the chunk CRC covers
    # the bytes, so the wrapper's 6 bytes and its Adler-32 would only repeat them.
    packer = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, DICTIONARY_3)
    return _VERSION.pack(FORMAT_MAJOR, FORMAT_MINOR) + packer.compress(raw) + packer.flush()


def tile_prefix(tile: Tile) -> bytes:
    """Everything of a TILE payload except the entropy-coded bytes."""
    params = struct.pack(f">{len(tile.params)}d", *tile.params)
    head = _TILE_HEAD.pack(tile.frame, tile.index, len(tile.params))
    return head + params + _U32.pack(len(tile.side)) + tile.side


def _meta_payload(name: str, blob: bytes) -> bytes:
    encoded = name.encode("ascii")
    return bytes([len(encoded)]) + encoded + zlib.compress(blob, 9)


def _validated(container: Container) -> Container:
    # Header dicts and the metadata dict are mutable, so check again at write time.
    if not isinstance(container, Container):
        raise TypeError(f"expected a Container, got {type(container).__name__}")
    _validate_header(container.header)
    _validate_container(container)
    return container


def write_container(container: Container) -> bytes:
    """Serialise a container to ``.mcz`` bytes.

    Parameters
    ----------
    container : Container
        Header, tiles and metadata; validated again before writing.

    Returns
    -------
    bytes
        The file: signature, ``MHDR``, ``meta`` chunks sorted by name, ``TILE`` chunks in order,
        ``MEND``. Equal containers give identical bytes.

    Raises
    ------
    FormatError
        The container is invalid or a chunk would exceed ``MAX_CHUNK_LENGTH``.
    """
    container = _validated(container)
    parts = [SIGNATURE, _frame_chunk(b"MHDR", _header_payload(container.header))]
    for name in sorted(container.metadata):
        parts.append(_frame_chunk(b"meta", _meta_payload(name, container.metadata[name])))
    for tile in container.tiles:
        parts.append(_frame_chunk(b"TILE", tile_prefix(tile) + tile.payload))
    parts.append(_frame_chunk(b"MEND", b""))
    return b"".join(parts)


def container_overhead(container: Container) -> int:
    """Count the bytes of the file that are not tile payloads, without building the file.

    Parameters
    ----------
    container : Container

    Returns
    -------
    int
        Signature, chunk framing, header, tile framing/parameters/side information and compressed
        metadata: ``len(write_container(c)) - sum(len(t.payload) for t in c.tiles)``.
    """
    container = _validated(container)
    n_chunks = 2 + len(container.tiles) + len(container.metadata)
    size = len(SIGNATURE) + n_chunks * _CHUNK_FRAMING + len(_header_payload(container.header))
    size += sum(_TILE_FIXED + 8 * len(t.params) + len(t.side) for t in container.tiles)
    size += sum(len(_meta_payload(name, blob)) for name, blob in container.metadata.items())
    return size


# --------------------------------------------------------------------------------------------------
# Reading: chunk framing
# --------------------------------------------------------------------------------------------------


def _as_view(data: bytes | bytearray | memoryview) -> memoryview:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected bytes, bytearray or memoryview, got {type(data).__name__}")
    view = memoryview(data)
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")


def _guess_format(view: memoryview) -> str:
    head = bytes(view[:8])
    for magic, name in _FOREIGN_MAGIC:
        if head.startswith(magic):
            return f" (this looks like {name})"
    if bytes(view[128:132]) == b"DICM":
        return " (this looks like a DICOM file)"
    if bytes(view[344:347]) in (b"n+1", b"ni1"):
        return " (this looks like a NIfTI image)"
    return ""


def _check_signature(view: memoryview) -> None:
    head = bytes(view[: len(SIGNATURE)])
    if head == SIGNATURE:
        return
    if not head:
        raise TruncatedError("the file is empty (0 bytes); expected a .mcz file")
    if SIGNATURE.startswith(head):
        raise _truncated(len(head), "inside the .mcz signature")
    if head[1:4] == b"MCZ" and head[:1] in (b"\x89", b"\x09"):
        raise FormatError(
            f"not a .mcz file as it stands: the signature reads {head.hex(' ')} instead of "
            f"{SIGNATURE.hex(' ')}; it looks damaged by a text-mode (ASCII) transfer that rewrote line "
            "endings or the high bit — re-copy it in binary mode"
        )
    raise FormatError(
        f"not a .mcz file: first bytes are {head.hex(' ')}, expected signature {SIGNATURE.hex(' ')}"
        + _guess_format(view)
    )


def _corrupt(message: str) -> FormatError:
    return FormatError(f"{message}; the file is corrupt")


def _truncated(size: int, what: str) -> TruncatedError:
    return TruncatedError(f"file ends at byte {size}, {what}; the file is truncated — re-copy it")


def _read_chunk(view: memoryview, offset: int) -> _Chunk:
    size = len(view)
    if offset == size:
        raise _truncated(size, "before the MEND chunk that closes every .mcz file")
    if size - offset < _CHUNK_HEAD.size:
        raise _truncated(size, f"inside the chunk header at offset {offset}")
    length, raw_type = _CHUNK_HEAD.unpack_from(view, offset)
    if _CHUNK_TYPE.fullmatch(raw_type) is None:
        raise _corrupt(f"chunk at offset {offset} has type {raw_type!r}, expected 4 ASCII letters")
    kind = raw_type.decode("ascii")
    if length > MAX_CHUNK_LENGTH:
        raise _corrupt(
            f"chunk {kind} at offset {offset} declares {length} bytes, "
            f"more than the maximum of {MAX_CHUNK_LENGTH}"
        )
    end = offset + _CHUNK_FRAMING + length
    if end > size:
        raise _truncated(size, f"but chunk {kind} at offset {offset} declares {length} bytes")
    payload = view[offset + _CHUNK_HEAD.size : end - _U32.size]
    _check_crc(kind, raw_type, payload, _U32.unpack_from(view, end - _U32.size)[0], offset)
    return _Chunk(ChunkInfo(kind, offset, length, kind[0].isupper()), payload)


def _check_crc(kind: str, raw_type: bytes, payload: memoryview, stored: int, offset: int) -> None:
    actual = zlib.crc32(payload, zlib.crc32(raw_type))
    if actual != stored:
        raise ChecksumError(
            f"chunk {kind} at offset {offset}: CRC-32 is {actual:08x}, the file says {stored:08x}; "
            "the file is corrupt — re-copy it"
        )


def _walk(view: memoryview) -> Iterator[_Chunk]:
    """Yield the chunks up to and including MEND, checking framing, lengths and CRCs lazily."""
    _check_signature(view)
    offset = len(SIGNATURE)
    while True:
        chunk = _read_chunk(view, offset)
        yield chunk
        offset += _CHUNK_FRAMING + chunk.info.length
        if chunk.info.type == "MEND":
            _check_end(chunk, offset, len(view))
            return


def _check_end(chunk: _Chunk, end: int, size: int) -> None:
    if chunk.info.length:
        raise _corrupt(f"{chunk.where} has {chunk.info.length} payload bytes, expected none")
    if end != size:
        raise _corrupt(f"trailing data: {size - end} bytes after the MEND chunk that ends at byte {end}")


# --------------------------------------------------------------------------------------------------
# Reading: chunk payloads
# --------------------------------------------------------------------------------------------------


class _Cursor:
    """Reads fields from a chunk payload; running past its end is a FormatError, not IndexError."""

    def __init__(self, chunk: _Chunk) -> None:
        self._chunk = chunk
        self._pos = 0

    def take(self, size: int, what: str) -> memoryview:
        view = self._chunk.payload
        if size > len(view) - self._pos:
            raise _corrupt(
                f"{self._chunk.where}: the {what} needs {size} bytes at payload byte {self._pos}, "
                f"but only {len(view) - self._pos} remain"
            )
        self._pos += size
        return view[self._pos - size : self._pos]

    def unpack(self, fmt: str, what: str) -> tuple[Any, ...]:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), what))

    def rest(self) -> memoryview:
        view = self._chunk.payload
        self._pos, start = len(view), self._pos
        return view[start:]


def _check_version(chunk: _Chunk) -> int:
    major, minor = _Cursor(chunk).unpack(">BB", "format version")
    if major > FORMAT_MAJOR:
        raise VersionError(
            f"this file needs a newer mcz: found format version {major}.{minor}, this mcz reads "
            f"{FORMAT_MAJOR}.x; upgrade with: pip install -U mcz"
        )
    if major < OLDEST_MAJOR:
        raise _corrupt(f"found format version {major}.{minor}, which no mcz ever wrote")
    return major


def _inflate_header(raw: memoryview, where: str, major: int) -> memoryview:
    """The JSON bytes of a format 2.x/3.x header, refusing more than ``MAX_HEADER_BYTES`` (a bomb)."""
    if major >= 3:
        inflater = zlib.decompressobj(-15, zdict=DICTIONARY_3)
    else:
        inflater = zlib.decompressobj(zdict=DICTIONARY)
    try:
        text = inflater.decompress(raw, MAX_HEADER_BYTES + 1)
    except zlib.error as exc:
        raise _corrupt(f"{where}: the compressed header does not inflate ({exc})") from exc
    if len(text) > MAX_HEADER_BYTES:
        raise _corrupt(f"{where}: the header inflates to more than {MAX_HEADER_BYTES} bytes")
    if not inflater.eof or inflater.unused_data:
        problem = "ends inside its zlib stream" if not inflater.eof else "has bytes after its zlib stream"
        raise _corrupt(f"{where}: the compressed header {problem}")
    return memoryview(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _decode_json(raw: memoryview, where: str) -> Any:
    if len(raw) > MAX_HEADER_BYTES:
        size = len(raw)
        raise _corrupt(f"{where}: the header JSON takes {size} bytes, expected at most {MAX_HEADER_BYTES}")
    try:
        text = bytes(raw).decode("utf-8")
        # NaN and Infinity parse here and are refused by Header validation, which names the field.
        return json.loads(text, object_pairs_hook=_unique_keys)
    # ValueError covers JSONDecodeError, UnicodeDecodeError, _unique_keys and int-digit limits.
    except (ValueError, RecursionError) as exc:
        raise _corrupt(f"{where}: the header is not valid UTF-8 JSON ({exc})") from exc


def _parse_header(chunk: _Chunk) -> Header:
    if chunk.info.type != "MHDR":
        raise FormatError(
            f"the first chunk is {chunk.info.type} at offset {chunk.info.offset}, expected MHDR; "
            "the file is corrupt or not from mcz"
        )
    major = _check_version(chunk)
    raw = chunk.payload[_VERSION.size :]
    if major >= 2:
        raw = _inflate_header(raw, chunk.where, major)
    return Header.from_json_dict(_decode_json(raw, chunk.where))


def _parse_tile(chunk: _Chunk) -> Tile:
    cursor = _Cursor(chunk)
    frame, index, n_params = cursor.unpack(">IIH", "frame, tile index and parameter count")
    params = cursor.unpack(f">{n_params}d", f"{n_params} quantiser parameters")
    (side_length,) = cursor.unpack(">I", "side-information length")
    side = bytes(cursor.take(side_length, "side information"))
    try:
        return Tile(frame, index, params, side, bytes(cursor.rest()))
    except FormatError as exc:
        raise _corrupt(f"{chunk.where}: {exc}") from exc


def _inflate(data: memoryview, limit: int, where: str) -> bytes:
    inflater = zlib.decompressobj()
    try:
        # max_length bounds the output, so a zlib bomb costs at most limit + 1 bytes of memory.
        blob = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise _corrupt(f"{where}: the metadata is not a valid zlib stream ({exc})") from exc
    if len(blob) > limit:
        raise FormatError(
            f"{where}: the metadata decompresses to more than the {limit} bytes left of the "
            f"{MAX_METADATA_BYTES}-byte limit on metadata; refusing it"
        )
    if not inflater.eof:
        raise _corrupt(f"{where}: the metadata zlib stream is incomplete")
    if inflater.unused_data:
        raise _corrupt(f"{where}: {len(inflater.unused_data)} bytes follow the metadata zlib stream")
    return blob


def _parse_meta_name(cursor: _Cursor, where: str) -> str:
    (length,) = cursor.unpack(">B", "name length")
    # errors="replace" turns non-ASCII into U+FFFD, which the pattern then refuses.
    name = bytes(cursor.take(length, "name")).decode("ascii", errors="replace")
    if _META_NAME.fullmatch(name) is None:
        raise _corrupt(f"{where}: metadata name {name!r}, expected 1-64 characters [a-z0-9_.-]")
    return name


class _Body:
    """Collects the chunks between MHDR and MEND, enforcing order, uniqueness and limits."""

    def __init__(self, header: Header) -> None:
        self.header = header
        self.tiles: list[Tile] = []
        self.metadata: dict[str, bytes] = {}
        self._tile_ids: set[tuple[int, int]] = set()
        self._meta_budget = MAX_METADATA_BYTES

    def add(self, chunk: _Chunk) -> None:
        kind = chunk.info.type
        if kind == "TILE":
            self._add_tile(chunk)
        elif kind == "meta":
            self._add_meta(chunk)
        elif kind == "MHDR":
            raise FormatError(f"{chunk.where}: a second MHDR chunk; a file has exactly one, first")
        elif chunk.info.critical and kind != "MEND":
            raise UnsupportedError(
                f"{chunk.where}: unknown critical chunk type {kind!r}; the file needs a newer mcz "
                "(pip install -U mcz)"
            )
        # Unknown ancillary chunks are skipped by design; their CRC was checked already.

    def _add_tile(self, chunk: _Chunk) -> None:
        tile = _parse_tile(chunk)
        _check_tile_id(tile, self.header.frames, self._tile_ids, chunk.where)
        self.tiles.append(tile)

    def _add_meta(self, chunk: _Chunk) -> None:
        cursor = _Cursor(chunk)
        name = _parse_meta_name(cursor, chunk.where)
        if name in self.metadata:
            raise _corrupt(f"{chunk.where}: duplicate metadata name {name!r}")
        blob = _inflate(cursor.rest(), self._meta_budget, chunk.where)
        self._meta_budget -= len(blob)
        self.metadata[name] = blob


# --------------------------------------------------------------------------------------------------
# Reading: public functions
# --------------------------------------------------------------------------------------------------


def read_container(data: bytes | bytearray | memoryview) -> Container:
    """Parse and validate a whole ``.mcz`` file.

    Parameters
    ----------
    data : bytes, bytearray or memoryview
        The file contents.

    Returns
    -------
    Container
        Header, tiles in file order and decompressed metadata blobs by name.

    Raises
    ------
    TruncatedError
        The data ends before a declared length, or without ``MEND``.
    ChecksumError
        A chunk's CRC-32 does not match.
    VersionError
        The file has a newer major format version.
    UnsupportedError
        An unknown critical chunk, or ``samples != 1``.
    FormatError
        Anything else wrong: foreign signature, bad order, invalid header or tile, duplicates,
        trailing data, oversized metadata.
    """
    chunks = _walk(_as_view(data))
    body = _Body(_parse_header(next(chunks)))
    for chunk in chunks:
        body.add(chunk)
    return Container(body.header, tuple(body.tiles), body.metadata)


def read_header(data: bytes | bytearray | memoryview) -> Header:
    """Parse only the signature and the ``MHDR`` chunk (the fast path of ``mcz info``).

    Later chunks are not looked at, so a file damaged after its header still yields a header.

    Parameters
    ----------
    data : bytes, bytearray or memoryview
        The file contents, or at least its first bytes up to the end of ``MHDR``.

    Returns
    -------
    Header

    Raises
    ------
    FormatError, TruncatedError, ChecksumError, VersionError, UnsupportedError
        As :func:`read_container`, for the signature and the first chunk.
    """
    return _parse_header(next(_walk(_as_view(data))))


def list_chunks(data: bytes | bytearray | memoryview) -> list[ChunkInfo]:
    """List the chunks of a file, checking framing, lengths and CRCs but not their contents.

    Parameters
    ----------
    data : bytes, bytearray or memoryview
        The file contents.

    Returns
    -------
    list of ChunkInfo
        One entry per chunk, in file order, ``MHDR`` through ``MEND``.

    Raises
    ------
    FormatError, TruncatedError, ChecksumError
        Foreign signature, bad chunk type, length past the end, CRC mismatch, missing ``MEND``
        or trailing data.
    """
    return [chunk.info for chunk in _walk(_as_view(data))]
