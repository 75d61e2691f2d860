"""The paper-era wavelet baseline: Coiflet DWT, uniform quantiser, Brotli.

The seed papers compare against "Coiflet wavelet transform" coding without
saying more; this is the plain textbook scheme, self-contained so that its
codestream is measured like any other:

1. an orthogonal ``coif1`` DWT (PyWavelets, periodization, up to 5 levels), so
   the quantisation error in the coefficients equals the error in the pixels;
2. a uniform mid-tread quantiser, ``q = round(c / step)``, the same step for
   every subband, ``step = 2**(bits - precision)`` grey levels;
3. zig-zag mapping to unsigned, byte planes, Brotli (quality 9) on the subbands
   in coarse-to-fine order.

Codestream layout (big-endian)::

    magic 'MZW1' | wavelet name length u8 | name ASCII | levels u8 | bits u8
    | sample bytes u8 | rows u32 | columns u32 | step f64 | Brotli payload
"""

from __future__ import annotations

import struct

import numpy as np

from mcz.errors import FormatError, require

WAVELET = "coif1"
MAX_LEVELS = 5
MODE = "periodization"
BROTLI_QUALITY = 9
_MAGIC = b"MZW1"
_TAIL = struct.Struct(">BBBIId")  # levels, bits, sample bytes, rows, columns, step


def _pywt():
    return require("pywt", "bench")


def _levels(shape: tuple[int, ...], wavelet: str) -> int:
    pywt = _pywt()
    return max(0, min(MAX_LEVELS, pywt.dwt_max_level(min(shape), pywt.Wavelet(wavelet).dec_len)))


def _flatten(coeffs: list) -> np.ndarray:
    """Subbands in coarse-to-fine order, each raveled: similar statistics stay together."""
    parts = [coeffs[0].ravel()]
    for details in coeffs[1:]:
        parts.extend(d.ravel() for d in details)
    return np.concatenate(parts)


def _unflatten(flat: np.ndarray, template: list) -> list:
    out: list[np.ndarray | tuple[np.ndarray, ...]] = []  # LL, then (HL, LH, HH) per level
    pos = 0

    def take(like: np.ndarray) -> np.ndarray:
        nonlocal pos
        part = flat[pos:pos + like.size].reshape(like.shape)
        pos += like.size
        return part

    out.append(take(template[0]))
    for details in template[1:]:
        out.append(tuple(take(d) for d in details))
    return out


def _pack(q: np.ndarray) -> tuple[int, bytes]:
    """Zig-zag to unsigned, narrowest width, byte planes (low bytes first)."""
    z = ((q << 1) ^ (q >> 63)).astype(np.uint64)
    width = next(w for w in (1, 2, 4, 8) if int(z.max(initial=0)) < 1 << (8 * w))
    planes = z.astype(f"<u{width}").view(np.uint8).reshape(-1, width).T
    return width, np.ascontiguousarray(planes).tobytes()


def _unpack(raw: bytes, width: int, count: int) -> np.ndarray:
    planes = np.frombuffer(raw, np.uint8)
    if planes.size != width * count:
        raise FormatError(f"wavelet payload holds {planes.size} bytes, expected {width * count}")
    z = np.ascontiguousarray(planes.reshape(width, count).T).view(f"<u{width}").ravel().astype(np.int64)
    return (z >> 1) ^ -(z & 1)


def wavelet_step(bits: int, precision: float) -> float:
    """Quantiser step in grey levels: ``2**(bits - precision)``."""
    return 2.0 ** (bits - precision)


def wavelet_encode(frame: np.ndarray, bits: int, precision: float) -> bytes:
    """Code a frame; larger ``precision`` = finer step (see module docstring)."""
    pywt, brotli = _pywt(), require("brotli", "bench")
    levels = _levels(frame.shape, WAVELET)
    step = wavelet_step(bits, precision)
    coeffs = pywt.wavedec2(frame.astype(np.float64), WAVELET, mode=MODE, level=levels)
    q = np.rint(_flatten(coeffs) / step).astype(np.int64)
    width, raw = _pack(q)
    name = WAVELET.encode("ascii")
    head = _MAGIC + bytes([len(name)]) + name + _TAIL.pack(levels, bits, width, *frame.shape, step)
    return head + brotli.compress(raw, quality=BROTLI_QUALITY)


def _read_header(data: bytes) -> tuple[str, tuple, int]:
    if data[:4] != _MAGIC or len(data) < 5:
        raise FormatError(f"found {data[:4]!r}, expected a wavelet codestream starting with {_MAGIC!r}")
    n = data[4]
    end = 5 + n + _TAIL.size
    if len(data) < end:
        raise FormatError(f"wavelet codestream of {len(data)} bytes ends inside its {end}-byte header")
    return data[5:5 + n].decode("ascii"), _TAIL.unpack(data[5 + n:end]), end


def wavelet_decode(data: bytes, _bits: int | None) -> np.ndarray:
    """Decode to float pixels (the BaselineCodec wrapper rounds and clips them)."""
    pywt, brotli = _pywt(), require("brotli", "bench")
    wavelet, (levels, _, width, rows, cols, step), start = _read_header(data)
    template = pywt.wavedec2(np.zeros((rows, cols)), wavelet, mode=MODE, level=levels)
    q = _unpack(brotli.decompress(data[start:]), width, _flatten(template).size)
    coeffs = _unflatten(q.astype(np.float64) * step, template)
    return np.rint(pywt.waverec2(coeffs, wavelet, mode=MODE)[:rows, :cols])
