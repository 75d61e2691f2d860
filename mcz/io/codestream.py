"""Image sizes declared inside compressed DICOM pixel data (JPEG, JPEG-LS, JPEG 2000).

A DICOM header's Rows and Columns bound what mcz allocates
(:func:`mcz.dicom.safety.check_pixel_budget`), but a compressed frame carries its own
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
    from pydicom.encaps import generate_fragments

    for fragment in generate_fragments(pixel_data):
        size = declared_size(bytes(fragment[:_SCAN_LIMIT]))
        if size is not None:
            yield size
