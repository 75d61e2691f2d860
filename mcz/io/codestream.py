"""Image sizes declared inside compressed DICOM pixel data (JPEG, JPEG-LS, JPEG 2000).

A DICOM header's Rows and Columns bound what mcz allocates
(:func:`mcz.io.dicom_safety.check_pixel_budget`), but a compressed frame carries its own
size, and the decoder plugins allocate that one: a 3 KB file whose JPEG 2000 ``SIZ``
marker claims 4 G pixels exhausted the memory of the machine (found by
``bench/fuzz.py``).  :func:`frame_sizes` reads the declared size of every frame from
its first bytes, so the reader can refuse a frame larger than the header's image
before any decoder runs.  Cost: O(size of the pixel data), no decoding.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

#: SOFn markers of JPEG (all but DHT C4, JPG C8, DAC CC) and JPEG-LS SOF55 (F7).
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xF7}
#: How far into a fragment the size is looked for (JPEG tables and comments may precede it).
_SCAN_LIMIT = 1 << 16


def declared_size(fragment: bytes) -> tuple[int, int] | None:
    """``(rows, columns)`` declared by a JPEG/JPEG-LS/JPEG 2000 stream's first bytes, or None.

    Parameters
    ----------
    fragment : bytes
        The start of a compressed frame.

    Returns
    -------
    tuple of int or None
        The size, or None if the bytes do not start a recognised stream (continuation
        fragments, other compressions) or hold no size marker in their first 64 KiB.
    """
    if fragment[:4] == b"\xff\x4f\xff\x51" and len(fragment) >= 24:  # JPEG 2000: SOC then SIZ
        x, y, x0, y0 = struct.unpack_from(">IIII", fragment, 8)
        return max(y - y0, 0), max(x - x0, 0)
    if fragment[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 4 <= min(len(fragment), _SCAN_LIMIT):
        if fragment[pos] != 0xFF:
            return None
        marker, length = fragment[pos + 1], struct.unpack_from(">H", fragment, pos + 2)[0]
        if marker in _SOF and pos + 9 <= len(fragment):
            rows, columns = struct.unpack_from(">HH", fragment, pos + 5)
            return rows, columns
        pos += 2 + length
    return None


def frame_sizes(pixel_data: bytes) -> Iterator[tuple[int, int]]:
    """The declared ``(rows, columns)`` of every fragment of encapsulated pixel data that starts a stream."""
    from pydicom.encaps import generate_fragments  # lazy: keeps pydicom out of import mcz.io.codestream

    for fragment in generate_fragments(pixel_data):
        size = declared_size(bytes(fragment[:_SCAN_LIMIT]))
        if size is not None:
            yield size


#: JPEG XL ``SizeHeader`` aspect ratios (numerator, denominator) for ratio codes 1..7.
_JXL_RATIOS = ((1, 1), (12, 10), (4, 3), (3, 2), (16, 9), (5, 4), (2, 1))
_JXL_U32_BITS = (9, 13, 18, 30)


class _Bits:
    """Least-significant-bit-first reader, as JPEG XL codestreams are written."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def read(self, count: int) -> int:
        value = 0
        for i in range(count):
            byte = self.pos >> 3
            if byte >= len(self.data):
                raise ValueError("the JPEG XL size header is cut short")
            value |= ((self.data[byte] >> (self.pos & 7)) & 1) << i
            self.pos += 1
        return value

    def size(self, small: bool) -> int:
        if small:
            return (self.read(5) + 1) * 8
        return self.read(_JXL_U32_BITS[self.read(2)]) + 1


def _jxl_codestream(data: bytes) -> bytes | None:
    """The codestream of a bare JPEG XL stream or of its ISO BMFF container (``jxlc``/first ``jxlp``)."""
    if data[:2] == b"\xff\x0a":
        return data
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        head = 8
        if size == 1 and pos + 16 <= len(data):  # 64-bit box size
            size, head = struct.unpack_from(">Q", data, pos + 8)[0], 16
        if kind == b"jxlc":
            return data[pos + head : pos + head + 64]
        if kind == b"jxlp":
            return data[pos + head + 4 : pos + head + 68]
        if size < head:  # 0 = to the end of the file: no codestream box after it
            return None
        pos += size
    return None


def jpegxl_size(data: bytes) -> tuple[int, int] | None:
    """``(rows, columns)`` declared by a JPEG XL stream (bare or in its container), or None.

    Read from the codestream's ``SizeHeader`` (ISO/IEC 18181-1, 9.2.2), so a caller can refuse a
    stream that claims more pixels than it expects before libjxl allocates them.
    """
    stream = _jxl_codestream(data)
    if stream is None or stream[:2] != b"\xff\x0a":
        return None
    bits = _Bits(stream[2:])
    try:
        small = bool(bits.read(1))
        rows = bits.size(small)
        ratio = bits.read(3)
        if ratio:
            num, den = _JXL_RATIOS[ratio - 1]
            return rows, rows * num // den
        return rows, bits.size(small)
    except ValueError:
        return None
