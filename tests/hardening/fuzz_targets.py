"""Structure-aware fuzz targets of mcz's untrusted-input surfaces.

Each :class:`Target` makes one input from a :class:`random.Random` (so Hypothesis can
drive it through ``st.randoms()`` in the test suite, and ``bench/fuzz.py`` through a
seeded generator for long runs) and runs it.  ``run`` returns normally, or raises an
:class:`~mcz.errors.McZError` (a *typed* error); anything else is a finding:

* another exception: an *untyped* error;
* :class:`MisDecode`: a mutated file decoded without an error to other pixel values
  than the intact file (a *silent mis-decode*);
* a signal (crash), a hang or a memory blow-up, which only a watchdog sees.

Mutations are CRC-valid where they target a parser behind the CRC (header, tiles),
because random byte flips never get past the CRC-32 of a chunk.
"""

from __future__ import annotations

import functools
import io
import json
import random
import struct
import tempfile
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from mcz.container import Tile, read_container
from tests.hardening import mutate

#: Models whose tile decoders the payload target reaches (every family).
#: "wavelet-ctx#block": the wavelet model's block-DCT tile mode (its base image picks that mode).
BLOCK_MODE = "wavelet-ctx#block"
#: The hyperprior file decoded by the GAN-fine-tuned decoder (``decode(..., decoder="realistic")``).
REALISTIC = "hyperprior-compact#realistic"
#: The wavelet file decoded by its realistic decoder (post-filter and blob guard after the checked MSE decode).
REALISTIC_WAVELET = "wavelet-ctx#realistic"
#: The wavelet model's packet mode (finest bands split once more), on a CT-like noise image.
PACKET_MODE = "wavelet-ctx#packet"
#: The wavelet model's pixel mode (stored integers through JPEG-XL), on the same image at a step of 4 units.
PIXEL_MODE = "wavelet-ctx#pixel"
TILE_MODELS = {"cae": "cae-compact", **mutate.FAMILY_MODELS, "wavelet-block": BLOCK_MODE,
               "wavelet-packet": PACKET_MODE, "wavelet-pixel": PIXEL_MODE, "realistic": REALISTIC,
               "wavelet-realistic": REALISTIC_WAVELET}
INTERESTING_INTS = (0, 1, -1, 2, 7, 8, 15, 16, 255, 256, 512, 4096, 65535, 65536, 2**31 - 1, 2**31, 2**32 - 1,
                    2**32, 2**63 - 1, 2**64 - 1, -(2**63))
INTERESTING_FLOATS = (0.0, -0.0, 0.5, 1e-300, 1e300, -1e308, 3.4e38, 1.5)


class MisDecode(AssertionError):
    """A mutated file decoded, without an error, to other pixels than the intact file."""


@dataclass(frozen=True)
class Target:
    """A fuzz target: ``make(rng)`` builds an input, ``run(input)`` exercises mcz on it."""

    name: str
    make: Callable[[random.Random], Any]
    run: Callable[[Any], None]


# -- base files -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def base_file(model: str) -> bytes:
    """A small intact file of ``model`` (a 40 x 72 ramp; two frames for the CAE model).

    The wavelet model's wavelet-mode base is a disc, :data:`BLOCK_MODE` names the ramp after a
    JPEG round trip (quality 50) coded at quality 24 (the block mode is tried only where a JPEG
    lattice shows), :data:`PACKET_MODE` a 96 x 96 12-bit disc with CT-like noise at quality 28 and
    :data:`PIXEL_MODE` the same at quality 40 (K = 2). Each is checked to take the mode it stands for.
    """
    from mcz.container import read_container

    image, quality = mutate.ramp(40, 72), 2
    if model == "cae-compact":
        image = np.stack([image, image[::-1]])
    if model in ("wavelet-ctx", REALISTIC_WAVELET):
        rows, cols = np.mgrid[0:40, 0:72]
        image = np.where(np.hypot(rows - 20, cols - 36) < 15, 200, 30).astype(np.uint8)
    if model == BLOCK_MODE:
        image, quality = _jpeg_round_trip(image, 50), 24
    if model in (PACKET_MODE, PIXEL_MODE):
        image = np.rint(mutate.ct_like(96, seed=3) * 4095).astype(np.uint16)
        quality = 28 if model == PACKET_MODE else 40
    data = mutate.good_file(model.split("#")[0], quality=quality, image=image)
    if model.startswith("wavelet-ctx"):
        params = read_container(data).tiles[0].params
        mode = {(): "wavelet-ctx", (8.0,): BLOCK_MODE}.get(params, {(2.0,): PACKET_MODE, (1.0,): PIXEL_MODE}.get(params[:1], "?"))
        expected = "wavelet-ctx" if model == REALISTIC_WAVELET else model
        assert mode == expected, f"the {model} fuzz base took another tile mode ({params})"
    return data


def _jpeg_round_trip(image: np.ndarray, quality: int) -> np.ndarray:
    """``image`` (8-bit) as a JPEG file of ``quality`` decodes: it keeps the JPEG lattice."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("L"))


@functools.lru_cache(maxsize=None)
def reference(model: str) -> np.ndarray:
    """The pixels the intact file of ``model`` decodes to."""
    import mcz

    return mcz.decode(base_file(model), decoder=_decoder(model))


def _decoder(model: str) -> str:
    return "realistic" if model in (REALISTIC, REALISTIC_WAVELET) else "mse"


# -- generic byte mutations -------------------------------------------------------------------------


def mutate_bytes(rng: random.Random, data: bytes, ops: int | None = None) -> bytes:
    """Apply 1-4 random edits: bit flips, interesting bytes/u32s, inserts, deletes, truncation, repeats."""
    out = bytearray(data)
    for _ in range(ops or rng.randint(1, 4)):
        op = rng.randrange(8)
        pos = rng.randrange(len(out) + 1)
        if op == 0 and out:
            out[min(pos, len(out) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1 and out:
            out[min(pos, len(out) - 1)] = rng.choice((0, 0xFF, 0x7F, 0x80, rng.randrange(256)))
        elif op == 2:
            out[pos:pos] = rng.randbytes(rng.choice((1, 4, 16, rng.randrange(300))))
        elif op == 3:
            del out[pos:pos + rng.choice((1, 4, rng.randrange(64)))]
        elif op == 4:
            del out[pos:]
        elif op == 5:
            value = rng.choice(INTERESTING_INTS) % 2**32
            out[pos:pos + 4] = struct.pack(">I", value)
        elif op == 6:
            out[pos:pos] = out[pos:pos + rng.randrange(1, 200)] * rng.randint(1, 4)
        else:
            out[pos:pos] = bytes([rng.choice((0, 0xFF))]) * rng.choice((8, 100, 4096))
    return bytes(out)


def fix_crcs(data: bytes) -> bytes:
    """Recompute the CRC-32 of every chunk whose framing still parses (so edits reach the parsers)."""
    out = bytearray(data)
    offset = 8
    while offset + 12 <= len(out):
        length = struct.unpack_from(">I", out, offset)[0]
        end = offset + 12 + length
        if end > len(out):
            break
        crc = zlib.crc32(bytes(out[offset + 8:end - 4]), zlib.crc32(bytes(out[offset + 4:offset + 8])))
        struct.pack_into(">I", out, end - 4, crc)
        offset = end
    return bytes(out)


# -- JSON values for header mutations -----------------------------------------------------------------


def random_json(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON value biased to the edge cases of header fields."""
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return rng.choice(INTERESTING_INTS)
    if kind == 1:
        return rng.choice(INTERESTING_FLOATS)
    if kind == 2:
        return rng.choice((True, False, None))
    if kind == 3:
        return rng.choice(("", "abc", "uint8", "float64", "frames-last", "edge", "MONOCHROME1", "x" * 300,
                           "sha256:" + "0" * 64, "\u00e9\u4e2d"))
    if kind == 4:
        return rng.randint(-70000, 70000)
    if kind == 5:
        return rng.uniform(-1e6, 1e6)
    if kind == 6:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(5))]
    if kind == 7:
        return {rng.choice(("tile", "low", "high", "a", "window")): random_json(rng, depth + 1)
                for _ in range(rng.randrange(4))}
    return rng.choice((1, 2, 3)) * rng.choice((16, 48, 512, 16384))


def _nudge(rng: random.Random, value: Any) -> Any:
    """A value near ``value`` of the same kind (ints and floats scaled or shifted, lists edited)."""
    if isinstance(value, bool) or value is None:
        return random_json(rng)
    if isinstance(value, int):
        return rng.choice((value + 1, value - 1, -value, value * 2, value // 2, 0, value * 1000))
    if isinstance(value, float):
        return rng.choice((value + 0.5, -value, value * 1e6, value / 3, 0.0))
    if isinstance(value, list):
        edited = list(value)
        if edited and rng.random() < 0.5:
            i = rng.randrange(len(edited))
            edited[i] = _nudge(rng, edited[i])
        else:
            edited.insert(rng.randrange(len(edited) + 1), random_json(rng))
        return edited
    if isinstance(value, dict):
        return mutate_mapping(rng, dict(value))
    return random_json(rng)


def mutate_mapping(rng: random.Random, mapping: dict[str, Any]) -> dict[str, Any]:
    """Delete, replace, nudge, add or swap one key of a JSON object (recursing into objects)."""
    keys = list(mapping)
    op = rng.randrange(5)
    if not keys or op == 0:
        mapping[rng.choice(("tile", "pad_multiple", "window", "extra_key", "low", "high"))] = random_json(rng)
    elif op == 1:
        del mapping[rng.choice(keys)]
    elif op == 2:
        mapping[rng.choice(keys)] = random_json(rng)
    elif op == 3:
        key = rng.choice(keys)
        mapping[key] = _nudge(rng, mapping[key])
    else:
        a, b = rng.choice(keys), rng.choice(keys)
        mapping[a], mapping[b] = mapping[b], mapping[a]
    return mapping


# -- targets ----------------------------------------------------------------------------------------


def _quiet(fn: Callable[[Any], None]) -> Callable[[Any], None]:
    @functools.wraps(fn)
    def run(value: Any) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn(value)

    return run


def make_container(rng: random.Random) -> bytes:
    data = base_file(rng.choice(list(TILE_MODELS.values())))
    mutated = mutate_bytes(rng, data)
    return fix_crcs(mutated) if rng.random() < 0.7 else mutated


@_quiet
def run_container(data: bytes) -> None:
    """The reader alone: every parse of any bytes ends in a value or a typed error."""
    from mcz import container

    container.list_chunks(data)
    container.read_header(data)
    container.read_container(data)


def make_header(rng: random.Random) -> tuple[str, bytes]:
    model = rng.choice(list(TILE_MODELS.values()))
    data = base_file(model)
    parsed = read_container(data)
    fields = parsed.header.to_json_dict()
    for _ in range(rng.randint(1, 3)):
        if rng.random() < 0.5:
            key = rng.choice(("tiling", "intensity", "extra", "quantiser", "original_shape"))
            fields[key] = _nudge(rng, fields.get(key, {}))
        else:
            fields = mutate_mapping(rng, fields)
    return model, mutate.raw_header_file(fields, parsed.tiles)


def _decode_checked(model: str, data: bytes) -> None:
    import mcz

    out = mcz.decode(data, decoder=_decoder(model))
    ref = reference(model)
    if out.dtype != ref.dtype or not np.array_equal(out.ravel(), ref.ravel()):
        raise MisDecode(f"{model}: a mutated file decoded to other pixels without an error")


@_quiet
def run_header(value: tuple[str, bytes]) -> None:
    """CRC-valid header edits: ``read_info`` and ``decode`` give a typed error or the intact pixels."""
    import mcz

    model, data = value
    mcz.read_info(data)
    _decode_checked(model, data)


def _mutate_tile(rng: random.Random, tile: Tile) -> Tile:
    op = rng.randrange(6)
    if op == 0:
        return replace(tile, payload=mutate_bytes(rng, tile.payload))
    if op == 1:
        return replace(tile, side=mutate_bytes(rng, tile.side, 1))
    if op == 2 and len(tile.side) >= 4:
        at = rng.randrange(0, len(tile.side) - 3)
        side = tile.side[:at] + struct.pack(">I", rng.choice(INTERESTING_INTS) % 2**32) + tile.side[at + 4:]
        return replace(tile, side=side)
    if op == 3:
        params = tuple(rng.choice(INTERESTING_FLOATS + (p,)) for p in tile.params) or (rng.uniform(-9, 9),)
        return replace(tile, params=params if rng.random() < 0.8 else ())
    if op == 4:
        filler = rng.choice((b"\xff", b"\x00", b"\x0f", rng.randbytes(1)))
        return replace(tile, payload=filler * rng.choice((1, 3, 100, 5000, 2**17)))
    return replace(tile, index=rng.choice((0, 1, 2, 7, 2**32 - 1)), frame=rng.choice((0, 1, 65535)))


def make_tile(rng: random.Random, family: str) -> tuple[str, bytes]:
    model = TILE_MODELS[family]
    parsed = read_container(base_file(model))
    tiles = list(parsed.tiles)
    for _ in range(rng.randint(1, 2)):
        i = rng.randrange(len(tiles))
        tiles[i] = _mutate_tile(rng, tiles[i])
    if rng.random() < 0.1:
        del tiles[rng.randrange(len(tiles))]
    return model, mutate.raw_header_file(parsed.header.to_json_dict(), tuple(tiles))


@_quiet
def run_tile(value: tuple[str, bytes]) -> None:
    """CRC-valid tile edits: ``decode`` gives a typed error or exactly the intact pixels."""
    _decode_checked(*value)


@functools.lru_cache(maxsize=None)
def _dicom_bases() -> tuple[bytes, ...]:
    from pydicom.data import get_testdata_file

    names = ("CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm", "rtplan.dcm", "emri_small.dcm")
    return tuple(Path(get_testdata_file(n)).read_bytes() for n in names if get_testdata_file(n))


_DICOM_FIELDS = {
    "Rows": (0, 1, 7, 65535), "Columns": (0, 1, 65535), "BitsAllocated": (0, 1, 8, 12, 16, 32, 64),
    "BitsStored": (0, 1, 8, 12, 16, 33), "HighBit": (0, 7, 15, 40), "PixelRepresentation": (0, 1, 2),
    "SamplesPerPixel": (0, 1, 3, 4), "NumberOfFrames": ("0", "1", "3", "-1", "1000000", "abc"),
    "PhotometricInterpretation": ("MONOCHROME2", "RGB", "PALETTE COLOR", "YBR_FULL", ""),
    "RescaleSlope": ("0", "nan", "1e400", "2"), "PlanarConfiguration": (0, 1, 5),
}


def make_dicom(rng: random.Random) -> bytes:
    import pydicom

    base = rng.choice(_dicom_bases())
    if rng.random() < 0.4:
        return mutate_bytes(rng, base)
    ds = pydicom.dcmread(io.BytesIO(base), force=True)
    for _ in range(rng.randint(1, 3)):
        name = rng.choice(list(_DICOM_FIELDS) + ["PixelData"])
        try:
            if name == "PixelData" and "PixelData" in ds:
                ds.PixelData = mutate_bytes(rng, ds.PixelData, 1)
            elif name != "PixelData":
                setattr(ds, name, rng.choice(_DICOM_FIELDS[name]))
        except Exception:  # noqa: BLE001 - pydicom refusing a value is not what is fuzzed here
            pass
    out = io.BytesIO()
    try:
        ds.save_as(out, enforce_file_format=False)
    except Exception:  # noqa: BLE001
        return mutate_bytes(rng, base)
    return out.getvalue()


@_quiet
def run_dicom(data: bytes) -> None:
    """The DICOM reader on mutated files: an image or a typed error."""
    from mcz.io import read_image

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "input.dcm"
        path.write_bytes(data)
        read_image(path)


_DTYPES = ("uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64", "bool", "int64",
           "uint64", "float16", "complex64", "object")


def make_encode(rng: random.Random) -> tuple[np.ndarray, dict[str, Any]]:
    ndim = rng.choice((0, 1, 2, 2, 2, 3, 3, 4, 6))
    # At most 27 frames (leading axes), so a valid input stays a small encode, not a slow one.
    plane = tuple(rng.choice((0, 1, 2, 5, 16, 33)) for _ in range(min(ndim, 2)))
    shape = tuple(rng.choice((0, 1, 2, 3)) for _ in range(ndim - len(plane))) + plane
    if rng.random() < 0.03:
        shape = rng.choice(((1, 70000), (70000, 1), (1, 1, 1, 1, 8, 8)))
    dtype = rng.choice(_DTYPES)
    gen = np.random.default_rng(rng.randrange(2**32))
    values = gen.normal(0, rng.choice((1, 100, 1e5, 1e12)), size=shape)
    if rng.random() < 0.2 and values.size:
        values.flat[gen.integers(values.size)] = rng.choice((np.nan, np.inf, -np.inf))
    with np.errstate(all="ignore"):
        array = values.astype(dtype) if dtype != "object" else values.astype(object)
    kwargs = {
        "model": rng.choice((None, "no", *TILE_MODELS.values())),
        "quality": rng.choice((None, None, 0, 1, 2, 8, 9, 81, -1, True, 2.0, "3")),
        "bits_stored": rng.choice((None, None, None, 0, 1, 7, 8, 12, 16, 33, 65, "8", 8.0, True)),
        "signed": rng.choice((None, None, True, False, 1)),
    }
    return array, kwargs


@_quiet
def run_encode(value: tuple[np.ndarray, dict[str, Any]]) -> None:
    """The encode API on odd arrays and arguments; a success must decode to the same shape and dtype."""
    import mcz

    array, kwargs = value
    data = mcz.encode(array, **kwargs)
    out = mcz.decode(data)
    if out.shape != np.shape(array) or out.dtype != np.asarray(array).dtype:
        source = np.asarray(array)
        raise MisDecode(f"encoded {source.shape} {source.dtype}, decoded {out.shape} {out.dtype}")


def warm() -> None:
    """Build every base file, reference decode and DICOM base now (so no input pays for them)."""
    for model in TILE_MODELS.values():
        reference(model)
    _dicom_bases()


TARGETS: dict[str, Target] = {
    "container": Target("container", make_container, run_container),
    "header": Target("header", make_header, run_header),
    **{f"tile-{family}": Target(f"tile-{family}", functools.partial(make_tile, family=family), run_tile)
       for family in TILE_MODELS},
    "dicom": Target("dicom", make_dicom, run_dicom),
    "encode": Target("encode", make_encode, run_encode),
}


def classify(target: Target, value: Any) -> str:
    """``"ok"``, the class name of a typed error, ``"MisDecode"`` or ``"untyped:<class>"``."""
    from mcz.errors import McZError

    try:
        target.run(value)
    except McZError as exc:
        return type(exc).__name__
    except MisDecode:
        return "MisDecode"
    except Exception as exc:  # noqa: BLE001 - every other exception is a finding
        return f"untyped:{type(exc).__name__}"
    return "ok"


def describe(value: Any) -> bytes:
    """The input as bytes to save (file bytes as they are; other inputs as JSON + .npy)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], bytes):
        return value[1]
    array, kwargs = value
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return json.dumps({k: repr(v) for k, v in kwargs.items()}).encode() + b"\n" + buffer.getvalue()
