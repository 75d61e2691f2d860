"""Tests of the .mcz container: layout, round trips, and that damage of any kind is reported as McZError."""

from __future__ import annotations

import json
import struct
import zlib

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mcz import container as mc
from mcz.errors import ChecksumError, FormatError, McZError, TruncatedError, UnsupportedError, VersionError
from mcz.header_dictionary import DICTIONARY, DICTIONARY_3, DICTIONARY_3_ID, DICTIONARY_ID

SHA = "0123456789abcdef" * 4
DIGEST = "sha256:" + "fedcba9876543210" * 4
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------------------------------
# Helpers. Chunks are framed here independently of mcz, so the tests check the documented layout.
# --------------------------------------------------------------------------------------------------


def header_fields(**changes: object) -> dict[str, object]:
    fields: dict[str, object] = dict(
        codec_id="cae-seed-8bit",
        checkpoint_sha256=SHA,
        quality=8,
        rows=3,
        columns=4,
        frames=2,
        samples=1,
        dtype="int16",
        original_shape=(2, 3, 4),
        layout="frames-first",
        bits_stored=12,
        signed=True,
        photometric="MONOCHROME2",
        intensity={"low": -1024, "high": 3071.5, "slope": 1.0, "intercept": -1024, "window": None},
        quantiser={"method": "minmax", "bits": 8},
        tiling={"tile_rows": 512, "tile_columns": 512, "pad_multiple": 32, "pad_mode": "reflect"},
        digest=DIGEST,
        extra={"source_format": "dicom", "nested": {"list": [1, 2.5, "x", None, True]}, "µ": "ünïcode"},
    )
    fields.update(changes)
    return fields


def make_header(**changes: object) -> mc.Header:
    return mc.Header(**header_fields(**changes))


def make_container() -> mc.Container:
    tiles = (
        mc.Tile(frame=0, index=0, params=(-1.5, 2.25), side=b"\x00\x10\x00\x20", payload=b"payload-0-0" * 3),
        mc.Tile(frame=0, index=1, params=(0.0, 1.0), side=b"", payload=b"p01"),
        mc.Tile(frame=1, index=0, params=(), side=b"side", payload=b""),
    )
    metadata = {"dicom": b"\x08\x00\x05\x00CS" * 20, "notes.txt": b"hello"}
    return mc.Container(header=make_header(), tiles=tiles, metadata=metadata)


VALID = mc.write_container(make_container())


def frame_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def split_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89MCZ\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        chunks.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def join_chunks(chunks: list[tuple[bytes, bytes]]) -> bytes:
    return mc.SIGNATURE + b"".join(frame_chunk(kind, payload) for kind, payload in chunks)


def mhdr_payload(fields: dict[str, object], major: int = 1, minor: int = 0) -> bytes:
    jsonable = {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}
    return bytes([major, minor]) + json.dumps(jsonable).encode("utf-8")


def inflate(mhdr: bytes) -> bytes:
    """The JSON of a format 2.x (zlib) or 3.x (raw DEFLATE) MHDR payload with its preset dictionary."""
    if mhdr[0] >= 3:
        inflater = zlib.decompressobj(-15, zdict=DICTIONARY_3)
    else:
        inflater = zlib.decompressobj(zdict=DICTIONARY)
    return inflater.decompress(mhdr[2:]) + inflater.flush()


def deflated_mhdr(text: bytes, minor: int = 0, zdict: bytes | None = None, major: int = 3) -> bytes:
    """A compressed MHDR payload as format ``major`` (2: zlib, 3: raw DEFLATE) writes it."""
    wbits = -15 if major >= 3 else 15
    zdict = zdict if zdict is not None else (DICTIONARY_3 if major >= 3 else DICTIONARY)
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits, 9, zlib.Z_DEFAULT_STRATEGY, zdict)
    return bytes([major, minor]) + packer.compress(text) + packer.flush()


def with_header(payload: bytes) -> bytes:
    chunks = split_chunks(VALID)
    return join_chunks([(b"MHDR", payload)] + chunks[1:])


def tile_payload(
    frame: int, index: int, params: tuple[float, ...] = (), side: bytes = b"", body: bytes = b""
) -> bytes:
    head = struct.pack(f">IIH{len(params)}d", frame, index, len(params), *params)
    return head + struct.pack(">I", len(side)) + side + body


def meta_payload(name: bytes, compressed: bytes) -> bytes:
    return bytes([len(name)]) + name + compressed


def insert_before_end(chunk: tuple[bytes, bytes]) -> bytes:
    chunks = split_chunks(VALID)
    return join_chunks(chunks[:-1] + [chunk, chunks[-1]])


def assert_only_mcz_errors(data: bytes) -> None:
    """Each reader either succeeds or raises a McZError subclass, nothing else."""
    for reader in (mc.read_container, mc.read_header, mc.list_chunks):
        try:
            reader(data)
        except McZError:
            pass


# --------------------------------------------------------------------------------------------------
# Layout and round trips
# --------------------------------------------------------------------------------------------------


def test_round_trip_preserves_everything() -> None:
    original = make_container()
    back = mc.read_container(VALID)
    assert back.header == original.header
    assert back.tiles == original.tiles
    assert back.metadata == original.metadata
    assert back == original
    assert mc.write_container(back) == VALID


def test_accepts_bytearray_and_memoryview() -> None:
    assert mc.read_container(bytearray(VALID)) == make_container()
    assert mc.read_container(memoryview(VALID)) == make_container()
    assert mc.read_header(memoryview(VALID)) == make_header()


def test_documented_byte_layout() -> None:
    assert VALID[:8] == bytes.fromhex("894D435A0D0A1A0A")
    chunks = split_chunks(VALID)
    assert [kind for kind, _ in chunks] == [b"MHDR", b"meta", b"meta", b"TILE", b"TILE", b"TILE", b"MEND"]
    header = chunks[0][1]
    assert header[:2] == bytes([mc.FORMAT_MAJOR, mc.FORMAT_MINOR]) == b"\x03\x00"
    text = inflate(header).decode("utf-8")
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert json.loads(text)["original_shape"] == [2, 3, 4]
    assert chunks[1][1] == meta_payload(b"dicom", zlib.compress(b"\x08\x00\x05\x00CS" * 20, 9))
    assert zlib.decompress(chunks[2][1][10:]) == b"hello" and chunks[2][1][:10] == b"\x09notes.txt"
    assert chunks[3][1] == tile_payload(0, 0, (-1.5, 2.25), b"\x00\x10\x00\x20", b"payload-0-0" * 3)
    assert chunks[5][1] == tile_payload(1, 0, (), b"side", b"")
    assert chunks[6] == (b"MEND", b"")
    assert join_chunks(chunks) == VALID


def test_list_chunks_reports_the_sequence() -> None:
    infos = mc.list_chunks(VALID)
    assert [(i.type, i.critical) for i in infos] == [
        ("MHDR", True), ("meta", False), ("meta", False),
        ("TILE", True), ("TILE", True), ("TILE", True), ("MEND", True),
    ]  # fmt: skip
    assert infos[0].offset == 8
    for before, after in zip(infos, infos[1:]):
        assert after.offset == before.offset + 12 + before.length
    assert infos[-1].offset + 12 == len(VALID) and infos[-1].length == 0
    assert [i.length for i in infos] == [len(p) for _, p in split_chunks(VALID)]


def test_container_overhead_is_everything_but_payloads() -> None:
    container = make_container()
    payload = sum(len(t.payload) for t in container.tiles)
    assert mc.container_overhead(container) == len(VALID) - payload
    bare = mc.Container(make_header(), (mc.Tile(0, 0, (), b"", b"x" * 100),))
    assert mc.container_overhead(bare) == len(mc.write_container(bare)) - 100


def test_newer_minor_is_read_and_unknown_keys_survive_a_rewrite() -> None:
    fields = header_fields(future_key={"a": [1, 2]}, another=3)
    data = with_header(mhdr_payload(fields, minor=7))
    header = mc.read_header(data)
    assert header.unknown == {"future_key": {"a": [1, 2]}, "another": 3}
    assert header.replace(unknown={}) == make_header()
    rewritten = mc.write_container(mc.read_container(data))
    assert mc.read_header(rewritten).unknown == header.unknown
    assert json.loads(inflate(split_chunks(rewritten)[0][1]))["future_key"] == {"a": [1, 2]}


def test_missing_extra_defaults_to_empty() -> None:
    fields = header_fields()
    del fields["extra"]
    assert mc.read_header(with_header(mhdr_payload(fields))).extra == {}


def test_header_json_dict_round_trip_and_copies() -> None:
    header = make_header()
    as_json = header.to_json_dict()
    assert mc.Header.from_json_dict(json.loads(json.dumps(as_json))) == header
    as_json["extra"]["nested"]["list"].append(99)
    assert header.extra["nested"]["list"] == [1, 2.5, "x", None, True]
    assert header.replace(quality=9).quality == 9
    with pytest.raises(FormatError, match="quality"):
        header.replace(quality=-1)


def test_tile_normalises_params_and_bytes() -> None:
    tile = mc.Tile(0, 0, [1, 2.5], bytearray(b"s"), memoryview(b"p"))
    assert tile.params == (1.0, 2.5) and all(type(p) is float for p in tile.params)
    assert tile.side == b"s" and type(tile.side) is bytes and tile.payload == b"p"


# --------------------------------------------------------------------------------------------------
# Truncation and corruption
# --------------------------------------------------------------------------------------------------


def test_truncation_at_every_offset_is_a_truncated_error() -> None:
    header_end = mc.list_chunks(VALID)[1].offset
    for size in range(len(VALID)):
        with pytest.raises(TruncatedError):
            mc.read_container(VALID[:size])
        with pytest.raises(TruncatedError):
            mc.list_chunks(VALID[:size])
        if size < header_end:
            with pytest.raises(TruncatedError):
                mc.read_header(VALID[:size])
        else:
            assert mc.read_header(VALID[:size]) == make_header()


def test_truncation_message_names_the_chunk() -> None:
    tile = mc.list_chunks(VALID)[3]
    with pytest.raises(TruncatedError) as info:
        mc.read_container(VALID[: tile.offset + 20])
    message = str(info.value)
    assert f"file ends at byte {tile.offset + 20}" in message
    assert f"chunk TILE at offset {tile.offset} declares {tile.length} bytes" in message
    assert "re-copy" in message
    with pytest.raises(TruncatedError, match="MEND"):
        mc.read_container(VALID[: mc.list_chunks(VALID)[-1].offset])


def test_every_single_bit_flip_is_detected() -> None:
    for offset in range(len(VALID)):
        for bit in range(8):
            damaged = bytearray(VALID)
            damaged[offset] ^= 1 << bit
            with pytest.raises(McZError):
                mc.read_container(bytes(damaged))


@FAST
@given(data=st.data())
def test_any_single_byte_change_is_detected(data: st.DataObject) -> None:
    offset = data.draw(st.integers(0, len(VALID) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda v: v != VALID[offset]))
    damaged = bytearray(VALID)
    damaged[offset] = value
    with pytest.raises(McZError):
        mc.read_container(bytes(damaged))


@FAST
@given(changes=st.dictionaries(st.integers(0, len(VALID) - 1), st.integers(0, 255), min_size=2, max_size=12))
def test_multi_byte_changes_are_detected(changes: dict[int, int]) -> None:
    damaged = bytearray(VALID)
    for offset, value in changes.items():
        damaged[offset] = value
    assume(bytes(damaged) != VALID)
    with pytest.raises(McZError):
        mc.read_container(bytes(damaged))


@FAST
@given(garbage=st.binary(max_size=300))
def test_garbage_raises_only_mcz_errors(garbage: bytes) -> None:
    assert_only_mcz_errors(garbage)


@FAST
@given(tail=st.binary(max_size=300))
def test_signature_followed_by_garbage_raises_only_mcz_errors(tail: bytes) -> None:
    with pytest.raises(McZError):
        mc.read_container(mc.SIGNATURE + tail)
    assert_only_mcz_errors(mc.SIGNATURE + tail)


CHUNK_TYPES = st.sampled_from([b"MHDR", b"TILE", b"meta", b"MEND", b"abcd", b"ABCD"])


@FAST
@given(
    body=st.lists(st.tuples(CHUNK_TYPES, st.binary(max_size=60)), max_size=6),
    good_header=st.booleans(),
)
def test_well_framed_random_chunks_raise_only_mcz_errors(
    body: list[tuple[bytes, bytes]], good_header: bool
) -> None:
    # Valid CRCs get the random payloads past the framing checks into the payload parsers.
    head = [(b"MHDR", split_chunks(VALID)[0][1])] if good_header else []
    assert_only_mcz_errors(join_chunks(head + body + [(b"MEND", b"")]))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


@FAST
@given(key=st.sampled_from([*header_fields(), "new_key"]), value=JSON_VALUES, minor=st.integers(0, 255))
def test_mutated_header_json_is_validated(key: str, value: object, minor: int) -> None:
    fields = {**header_fields(), key: value}
    data = with_header(bytes([1, minor]) + json.dumps(fields).encode())  # may contain NaN: refused
    try:
        container = mc.read_container(data)
    except McZError:
        return
    assert mc.read_container(mc.write_container(container)) == container


@FAST
@given(payload=st.binary(max_size=80), frames=st.integers(0, 3), index=st.integers(0, 3))
def test_random_tile_chunks_raise_only_mcz_errors(payload: bytes, frames: int, index: int) -> None:
    assert_only_mcz_errors(insert_before_end((b"TILE", struct.pack(">II", frames, index) + payload)))


@FAST
@given(name=st.binary(max_size=70), blob=st.binary(max_size=40), compress=st.booleans())
def test_random_meta_chunks_raise_only_mcz_errors(name: bytes, blob: bytes, compress: bool) -> None:
    body = zlib.compress(blob) if compress else blob
    assert_only_mcz_errors(insert_before_end((b"meta", bytes([len(name) % 256]) + name + body)))


def test_read_header_survives_damage_after_the_header() -> None:
    damaged = bytearray(VALID)
    damaged[mc.list_chunks(VALID)[3].offset + 20] ^= 0xFF
    assert mc.read_header(bytes(damaged)) == make_header()
    with pytest.raises(ChecksumError, match="TILE at offset"):
        mc.read_container(bytes(damaged))


def test_crc_mismatch_names_type_and_offset() -> None:
    info = mc.list_chunks(VALID)[1]
    damaged = bytearray(VALID)
    damaged[info.offset + 12] ^= 1
    with pytest.raises(ChecksumError, match=f"chunk meta at offset {info.offset}"):
        mc.list_chunks(bytes(damaged))


# --------------------------------------------------------------------------------------------------
# Signature
# --------------------------------------------------------------------------------------------------


def test_foreign_file_is_named() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
    with pytest.raises(FormatError, match="not a .mcz file: first bytes are 89 50 4e 47") as info:
        mc.read_container(png)
    assert "89 4d 43 5a 0d 0a 1a 0a" in str(info.value) and "PNG" in str(info.value)
    dicom = b"\x00" * 128 + b"DICM" + b"\x00" * 20
    with pytest.raises(FormatError, match="DICOM"):
        mc.read_header(dicom)


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.replace(b"\r\n", b"\n", 1),  # CRLF -> LF
        lambda d: d[:5] + b"\r\n" + d[6:],  # LF -> CRLF in the middle of the signature
        lambda d: bytes([d[0] & 0x7F]) + d[1:],  # 7-bit transfer
    ],
)
def test_text_mode_damage_is_diagnosed(damage) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FormatError, match="text-mode"):
        mc.read_container(damage(VALID))


def test_empty_file() -> None:
    with pytest.raises(TruncatedError, match="empty"):
        mc.read_container(b"")


def test_non_bytes_argument_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        mc.read_container("not bytes")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# Chunk structure
# --------------------------------------------------------------------------------------------------


def test_unknown_ancillary_chunk_is_skipped() -> None:
    data = insert_before_end((b"abcd", b"anything at all"))
    assert mc.read_container(data) == make_container()
    assert [i.type for i in mc.list_chunks(data)][-2:] == ["abcd", "MEND"]


def test_unknown_critical_chunk_is_refused_by_name() -> None:
    with pytest.raises(UnsupportedError, match="ABCD"):
        mc.read_container(insert_before_end((b"ABCD", b"")))


def test_newer_major_version_is_refused() -> None:
    data = with_header(mhdr_payload(header_fields(), major=4, minor=3))
    for reader in (mc.read_container, mc.read_header):
        with pytest.raises(VersionError, match="newer") as info:
            reader(data)
        assert "4.3" in str(info.value) and "pip install -U mcz" in str(info.value)


def test_major_version_zero_is_refused() -> None:
    with pytest.raises(FormatError, match="0.9"):
        mc.read_header(with_header(mhdr_payload(header_fields(), major=0, minor=9)))


@pytest.mark.parametrize(
    ("edit", "error", "match"),
    [
        (lambda c: [c[1], c[0], *c[2:]], FormatError, "first chunk is meta"),
        (lambda c: [c[0], c[0], *c[1:]], FormatError, "second MHDR"),
        (lambda c: c[:-1], TruncatedError, "MEND"),
        (lambda c: [*c, (b"abcd", b"")], FormatError, "trailing data"),
        (lambda c: [*c[:-1], (b"MEND", b"x")], FormatError, "expected none"),
        (lambda c: [*c[:-1], c[3], c[-1]], FormatError, "duplicate tile 0 of frame 0"),
        (lambda c: [*c[:-1], (b"TILE", tile_payload(2, 0)), c[-1]], FormatError, "frame 2 is out of range"),
        (lambda c: [*c[:-1], (b"TILE", tile_payload(70000, 0)), c[-1]], FormatError, "frame"),
        (lambda c: [*c[:-1], c[1], c[-1]], FormatError, "duplicate metadata name 'dicom'"),
        (lambda c: [*c[:-1], (b"TILE", b"\x00" * 9), c[-1]], FormatError, "needs 10 bytes"),
        (lambda c: [*c[:-1], (b"TILE", struct.pack(">IIH5x", 0, 5, 3)), c[-1]], FormatError, "3 quant"),
        (lambda c: [*c[:-1], (b"TILE", tile_payload(0, 5, side=b"abc")[:-1]), c[-1]], FormatError, "side"),
        (lambda c: [*c[:-1], (b"TILE", tile_payload(0, 5, (float("nan"),))), c[-1]], FormatError, "params"),
        (lambda c: [(b"MHDR", b"\x01"), *c[1:]], FormatError, "version"),
        (lambda c: [(b"MHDR", b"\x01\x00[1]"), *c[1:]], FormatError, "JSON object"),
        (lambda c: [(b"MHDR", b"\x01\x00{"), *c[1:]], FormatError, "not valid UTF-8 JSON"),
        (lambda c: [(b"MHDR", b"\x01\x00\xff"), *c[1:]], FormatError, "not valid UTF-8 JSON"),
        (lambda c: [(b"MHDR", b"\x01\x00" + b"[" * 100000), *c[1:]], FormatError, "JSON"),
        (lambda c: [(b"MHDR", b'\x01\x00{"rows":1,"rows":2}'), *c[1:]], FormatError, "duplicate key"),
    ],
)
def test_structural_errors(edit, error: type[Exception], match: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=match):
        mc.read_container(join_chunks(edit(split_chunks(VALID))))


def test_bad_chunk_type_and_oversized_length() -> None:
    offset = mc.list_chunks(VALID)[3].offset
    bad_type = VALID[: offset + 4] + b"T1LE" + VALID[offset + 8 :]
    with pytest.raises(FormatError, match="4 ASCII letters"):
        mc.read_container(bad_type)
    huge = VALID[:offset] + struct.pack(">I", 2**30 + 1) + VALID[offset + 4 :]
    with pytest.raises(FormatError, match="maximum") as info:
        mc.read_container(huge)
    assert not isinstance(info.value, TruncatedError)


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (meta_payload(b"bad name", zlib.compress(b"x")), "metadata name"),
        (meta_payload(b"", zlib.compress(b"x")), "metadata name"),
        (meta_payload(b"\xffname", zlib.compress(b"x")), "metadata name"),
        (meta_payload(b"x", b"not zlib at all"), "not a valid zlib stream"),
        (meta_payload(b"x", zlib.compress(b"abc" * 100)[:-3]), "incomplete"),
        (meta_payload(b"x", zlib.compress(b"abc") + b"junk"), "follow"),
        (meta_payload(b"x", b""), "incomplete"),
    ],
)
def test_bad_metadata_chunks(payload: bytes, match: str) -> None:
    with pytest.raises(FormatError, match=match):
        mc.read_container(insert_before_end((b"meta", payload)))


def test_metadata_zlib_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mc, "MAX_METADATA_BYTES", 10_000)
    bomb = zlib.compress(b"\x00" * 5_000_000, 9)
    assert len(bomb) < 6_000
    with pytest.raises(FormatError, match="decompresses to more than"):
        mc.read_container(insert_before_end((b"meta", meta_payload(b"bomb", bomb))))
    # The limit covers all blobs together: two halves that each fit, but not both.
    half = zlib.compress(b"\x00" * 6_000)
    data = insert_before_end((b"meta", meta_payload(b"a", half)))
    chunks = split_chunks(data)
    with pytest.raises(FormatError, match="decompresses to more than"):
        mc.read_container(join_chunks(chunks[:-1] + [(b"meta", meta_payload(b"b", half)), chunks[-1]]))


# --------------------------------------------------------------------------------------------------
# Header validation
# --------------------------------------------------------------------------------------------------

def nested_list(depth: int) -> list[object]:
    value: list[object] = [1]
    for _ in range(depth):
        value = [value]
    return value


BAD_FIELDS = [
    ("codec_id", "Cae"),
    ("codec_id", ""),
    ("codec_id", "a" * 65),
    ("codec_id", "cae\n"),
    ("checkpoint_sha256", SHA.upper()),
    ("checkpoint_sha256", SHA[:-1]),
    ("quality", 1001),
    ("quality", 8.0),
    ("quality", True),
    ("rows", True),
    ("rows", -3),
    ("rows", 0),
    ("rows", "3"),
    ("columns", 65536),
    ("frames", 0),
    ("frames", 65537),
    ("samples", True),
    ("samples", 0),
    ("dtype", "complex64"),
    ("dtype", None),
    ("original_shape", (2, 3, 5)),
    ("original_shape", (24, 0)),
    ("original_shape", (1, 1, 1, 2, 3, 4)),
    ("original_shape", ()),
    ("original_shape", (2.0, 3, 4)),
    ("original_shape", "234"),
    ("layout", "frames-middle"),
    ("bits_stored", 0),
    ("bits_stored", 17),
    ("bits_stored", False),
    ("signed", 1),
    ("signed", "yes"),
    ("photometric", "RGB"),
    ("intensity", {"low": {"nested": 1}}),
    ("intensity", {"low": float("nan")}),
    ("intensity", {"low": [1]}),
    ("intensity", {1: 2}),
    ("quantiser", [("bits", 8)]),
    ("tiling", {"pad": float("inf")}),
    ("digest", SHA),
    ("digest", "sha256:" + SHA.upper()),
    ("digest", "md5:" + SHA),
    ("extra", {"s": {1, 2}}),
    ("extra", {"t": (1, 2)}),
    ("extra", {"deep": nested_list(40)}),
    ("extra", {"bad": "\udc80"}),
    ("extra", []),
    ("unknown", {"rows": 5}),
]


@pytest.mark.parametrize(("name", "value"), BAD_FIELDS)
def test_bad_header_value_names_the_field(name: str, value: object) -> None:
    with pytest.raises(FormatError, match=repr(name)):
        make_header(**{name: value})


# Values JSON cannot carry as they are (a set, a tuple, an int key); the rest are also tested in files.
PYTHON_ONLY = {
    ("intensity", "{1: 2}"),
    ("extra", "{'s': {1, 2}}"),
    ("extra", "{'t': (1, 2)}"),
    ("unknown", "{'rows': 5}"),
}
IN_FILE = [(n, v) for n, v in BAD_FIELDS if (n, repr(v)) not in PYTHON_ONLY]


@pytest.mark.parametrize(("name", "value"), IN_FILE)
def test_bad_header_value_in_a_file_names_the_field(name: str, value: object) -> None:
    payload = bytes([1, 0]) + json.dumps(header_fields(**{name: value}), allow_nan=True).encode()
    with pytest.raises(FormatError, match=repr(name)):
        mc.read_container(with_header(payload))


def test_too_many_pixels() -> None:
    with pytest.raises(FormatError, match="'rows'") as info:
        make_header(rows=65535, columns=65535, frames=1, original_shape=(65535, 65535))
    assert "268435456" in str(info.value)
    with pytest.raises(FormatError, match="'frames'") as info:
        make_header(rows=16384, columns=16384, frames=33, original_shape=(33, 16384, 16384))
    assert str(2**33) in str(info.value)
    # Exactly at both limits is fine.
    make_header(rows=16384, columns=16384, frames=32, original_shape=(32, 16384, 16384))


def test_too_many_pixels_refused_on_read() -> None:
    fields = header_fields(rows=65535, columns=65535, frames=1, original_shape=[65535, 65535])
    with pytest.raises(FormatError, match="'rows'"):
        mc.read_header(with_header(mhdr_payload(fields)))


def test_missing_header_field() -> None:
    fields = header_fields()
    del fields["digest"]
    with pytest.raises(FormatError, match="'digest' is missing"):
        mc.read_header(with_header(mhdr_payload(fields)))


def test_multichannel_is_unsupported() -> None:
    with pytest.raises(UnsupportedError, match="samples"):
        make_header(samples=3)
    with pytest.raises(UnsupportedError, match="samples"):
        mc.read_header(with_header(mhdr_payload(header_fields(samples=3))))


def test_message_says_found_and_expected() -> None:
    with pytest.raises(FormatError) as info:
        make_header(rows=True)
    assert str(info.value) == "header field 'rows': found True (bool), expected an integer in 1..65535"


@pytest.mark.parametrize("name", ["extra", "new_key"])
def test_nan_and_infinity_in_header_json_are_refused(name: str) -> None:
    payload = b"\x01\x00" + json.dumps(header_fields(**{name: {"x": [float("-inf"), float("nan")]}})).encode()
    assert b"NaN" in payload and b"-Infinity" in payload
    with pytest.raises(FormatError, match="not a JSON value"):
        mc.read_header(with_header(payload))


def test_json_integers_are_bounded_to_64_bits() -> None:
    make_header(extra={"big": 2**64 - 1, "small": -(2**63)})
    with pytest.raises(FormatError, match="extra"):
        make_header(extra={"huge": 2**64})
    with pytest.raises(FormatError, match="intensity"):
        make_header(intensity={"low": -(2**63) - 1})


# --------------------------------------------------------------------------------------------------
# Writer validation
# --------------------------------------------------------------------------------------------------


def test_writer_refuses_invalid_containers() -> None:
    header = make_header()
    with pytest.raises(FormatError, match="duplicate tile 1 of frame 0"):
        mc.Container(header, (mc.Tile(0, 1, (), b"", b""), mc.Tile(0, 1, (), b"", b"")))
    with pytest.raises(FormatError, match="out of range"):
        mc.Container(header, (mc.Tile(2, 0, (), b"", b""),))
    with pytest.raises(FormatError, match="params"):
        mc.Tile(0, 0, (0.0,) * 65536, b"", b"")
    with pytest.raises(FormatError, match="params"):
        mc.Tile(0, 0, (True,), b"", b"")
    with pytest.raises(FormatError, match="frame"):
        mc.Tile(-1, 0, (), b"", b"")
    with pytest.raises(FormatError, match="payload"):
        mc.Tile(0, 0, (), b"", "text")  # type: ignore[arg-type]
    with pytest.raises(FormatError, match="metadata"):
        mc.Container(header, (), {"Bad Name": b""})
    with pytest.raises(FormatError, match="metadata"):
        mc.Container(header, (), {"ok": "not bytes"})  # type: ignore[dict-item]


def test_writer_revalidates_mutated_dicts() -> None:
    container = make_container()
    container.header.intensity["low"] = float("nan")
    with pytest.raises(FormatError, match="intensity"):
        mc.write_container(container)
    container = make_container()
    container.metadata["Bad"] = b""
    with pytest.raises(FormatError, match="metadata"):
        mc.write_container(container)


def test_writer_refuses_oversized_header() -> None:
    container = mc.Container(make_header(extra={"blob": "x" * mc.MAX_HEADER_BYTES}), ())
    with pytest.raises(FormatError, match="extra"):
        mc.write_container(container)


def test_max_params_round_trip() -> None:
    tile = mc.Tile(0, 7, tuple(float(i) for i in range(mc.MAX_PARAMS)), b"", b"z")
    container = mc.Container(make_header(), (tile,))
    assert mc.read_container(mc.write_container(container)) == container


# --------------------------------------------------------------------------------------------------
# Property: every valid container round-trips
# --------------------------------------------------------------------------------------------------

FINITE = st.floats(allow_nan=False, allow_infinity=False)
SCALARS = st.none() | st.booleans() | st.integers(-(2**60), 2**60) | FINITE | st.text(max_size=8)
FINITE_JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)
NEW_KEYS = st.text(min_size=1, max_size=6).filter(lambda k: k not in header_fields())
META_NAMES = st.from_regex(r"[a-z0-9_.-]{1,64}", fullmatch=True)


@st.composite
def headers(draw: st.DrawFn) -> mc.Header:
    rows, columns, frames = draw(st.integers(1, 40)), draw(st.integers(1, 40)), draw(st.integers(1, 4))
    shape = (frames, rows, columns) if draw(st.booleans()) else (rows, columns, frames)
    return make_header(
        rows=rows,
        columns=columns,
        frames=frames,
        original_shape=shape,
        quality=draw(st.integers(0, 1000)),
        intensity=draw(st.dictionaries(st.text(max_size=6), SCALARS, max_size=4)),
        extra=draw(st.dictionaries(st.text(max_size=6), FINITE_JSON, max_size=3)),
        unknown=draw(st.dictionaries(NEW_KEYS, FINITE_JSON, max_size=2)),
    )


@st.composite
def tiles(draw: st.DrawFn, frames: int) -> tuple[mc.Tile, ...]:
    ids = st.tuples(st.integers(0, frames - 1), st.integers(0, 2**32 - 1))
    params, side = st.lists(FINITE, max_size=4), st.binary(max_size=10)
    return tuple(
        mc.Tile(frame, index, draw(params), draw(side), draw(st.binary()))
        for frame, index in draw(st.lists(ids, unique=True, max_size=5))
    )


@st.composite
def containers(draw: st.DrawFn) -> mc.Container:
    header = draw(headers())
    metadata = draw(st.dictionaries(META_NAMES, st.binary(max_size=50), max_size=3))
    return mc.Container(header, draw(tiles(header.frames)), metadata)


@FAST
@given(container=containers())
def test_valid_containers_round_trip(container: mc.Container) -> None:
    data = mc.write_container(container)
    back = mc.read_container(data)
    assert back == container
    assert mc.write_container(back) == data
    assert mc.container_overhead(container) == len(data) - sum(len(t.payload) for t in container.tiles)
    assert len(mc.list_chunks(data)) == 2 + len(container.tiles) + len(container.metadata)



# -- format 2.x: the header JSON compressed with a frozen preset dictionary -------------------------


def test_the_preset_dictionaries_never_change() -> None:
    """Every format 2.x / 3.x file needs these exact bytes: a change must be a new format version."""
    assert (len(DICTIONARY), DICTIONARY_ID) == (3257, 0xCF4ABF3A)
    assert (len(DICTIONARY_3), DICTIONARY_3_ID) == (4122, 0x7276FC74)


def test_format_2_headers_still_read() -> None:
    """A format 2.0 MHDR (zlib, the 2.x dictionary) reads as the same header as format 3's."""
    text = inflate(split_chunks(VALID)[0][1])
    v2 = deflated_mhdr(text, major=2)
    assert v2[2] & 0x0F == 8 and v2[3] & 0x20  # a zlib stream with FDICT set
    assert mc.read_header(with_header(v2)) == mc.read_header(VALID)


def test_format_3_header_is_raw_deflate_and_smaller_than_format_2() -> None:
    header = split_chunks(VALID)[0][1]
    text = inflate(header)
    assert len(header) < len(deflated_mhdr(text, major=2))
    with pytest.raises(zlib.error):  # no zlib wrapper
        zlib.decompressobj(zdict=DICTIONARY_3).decompress(header[2:])


def test_compressed_header_is_small_and_format_1_headers_still_read() -> None:
    header = make_header()
    v2 = split_chunks(VALID)[0][1]
    v1 = mhdr_payload(json.loads(inflate(v2)))
    assert len(v2) < 0.5 * len(v1)
    assert mc.read_header(with_header(v1)) == mc.read_header(VALID) == header


@pytest.mark.parametrize("major", [2, 3])
def test_newer_minor_is_read(major: int) -> None:
    text = json.dumps(header_fields(later=1)).encode()
    assert mc.read_header(with_header(deflated_mhdr(text, minor=4, major=major))).unknown == {"later": 1}


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (deflated_mhdr(b" " * (mc.MAX_HEADER_BYTES + 10)), "inflates to more than"),
        (deflated_mhdr(json.dumps(header_fields()).encode())[:-5], "ends inside"),
        (deflated_mhdr(json.dumps(header_fields()).encode()) + b"\x00", "bytes after"),
        # raw DEFLATE names no dictionary: a wrong one gives a stream error or text that is not JSON
        (deflated_mhdr(json.dumps(header_fields()).encode(), zdict=b"another dictionary"),
         "does not inflate|not valid UTF-8 JSON"),
        (b"\x02\x00" + b"{}", "does not inflate"),
        (deflated_mhdr(json.dumps(header_fields()).encode(), major=2)[:-5], "ends inside"),
        (deflated_mhdr(json.dumps(header_fields()).encode(), major=2) + b"\x00", "bytes after"),
        (deflated_mhdr(json.dumps(header_fields()).encode(), major=2, zdict=DICTIONARY_3), "does not inflate"),
    ],
    ids=["bomb", "truncated-stream", "trailing-bytes", "wrong-dictionary", "plain-json",
         "v2-truncated-stream", "v2-trailing-bytes", "v2-wrong-dictionary"],
)
def test_damaged_compressed_headers_are_refused(payload: bytes, match: str) -> None:
    with pytest.raises(FormatError, match=match):
        mc.read_header(with_header(payload))
