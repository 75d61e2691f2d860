"""Values from headers are untrusted: validate them before they become paths or allocations.

A DICOM header (or a ``.mcz`` file's header) is data someone else wrote.  Three
kinds of its values reach the file system or the allocator here:

- UIDs, which name output files and are copied into new headers: they must be
  valid as pydicom's :attr:`pydicom.uid.UID.is_valid` checks them (PS3.5 section
  9.1: numeric components without leading zeros, separated by single dots, at
  most 64 characters), so ``"../../etc"`` can never become a path component;
- file names of series slices, restored on decode: one component, no separator,
  no ``..``, a limited character set, no leading dot;
- pixel counts (Rows x Columns x Frames x bytes): bounded before a decoder
  allocates the array they announce.
"""

from __future__ import annotations

import re
from typing import Any

from mcz.container import MAX_FRAME_PIXELS, MAX_FRAMES, MAX_TOTAL_PIXELS
from mcz.errors import UnsupportedError

#: One path component of letters, digits, '.', '_', '-' and '+', not starting with '.'.
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,127}$")

#: Bytes of decoded pixels one DICOM file may announce (4 GiB); larger files are refused.
MAX_PIXEL_BYTES = 2**32


class PixelBudgetError(UnsupportedError):
    """A header announces more pixels than mcz will allocate."""


def is_valid_uid(value: Any) -> bool:
    """Whether ``value`` is a well-formed DICOM UID, as :attr:`pydicom.uid.UID.is_valid` says.

    Parameters
    ----------
    value : Any
        Usually a ``str`` or a pydicom ``UID``; anything else (None, numbers) is not a UID.

    Returns
    -------
    bool
        True for PS3.5 section 9.1 UIDs: components of digits without leading zeros
        (``"0"`` itself allowed), single dots between them, at most 64 characters.
    """
    # lazy: keeps pydicom out of import mcz.io.dicom_safety
    from pydicom.config import IGNORE
    from pydicom.uid import UID

    if not isinstance(value, str):
        return False
    # No warning for bad input (it is untrusted, and the caller replaces it); pydicom strips
    # surrounding whitespace, which must not sneak into a file name: compare with the stripped UID.
    uid = UID(value, validation_mode=IGNORE)
    return uid.is_valid and uid == value


def safe_file_name(name: Any) -> str | None:
    """``name`` if it is safe as one file name in an output folder, else None.

    Parameters
    ----------
    name : Any
        A candidate name, e.g. a source slice's file name read back from a ``.mcz`` header.

    Returns
    -------
    str or None
        The name unchanged, or None for anything with a path separator, ``..``, a
        leading dot, a character outside ``[A-Za-z0-9._+-]`` or more than 128 characters.
    """
    if not isinstance(name, str) or ".." in name or not _NAME_PATTERN.match(name):
        return None
    return name


def header_int(value: Any, default: int) -> int:
    """An IS/US header value as an int; ``default`` when absent, empty or unreadable."""
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    try:
        return int(str(value).strip()) if value not in (None, "") else default
    except ValueError:
        return default


def check_pixel_budget(
    rows: int, columns: int, frames: int, samples: int, bits_allocated: int, where: str
) -> None:
    """Refuse an image whose announced size exceeds what mcz will allocate.

    Parameters
    ----------
    rows, columns, frames, samples, bits_allocated : int
        As the header declares them (frames: Number of Frames, or slices of a series).
    where : str
        The file, for the message.

    Raises
    ------
    PixelBudgetError
        A dimension is not positive, a frame has more than ``2**28`` pixels, there
        are more than 65536 frames or ``2**33`` pixels, or the pixels need more
        than :data:`MAX_PIXEL_BYTES` bytes.
    """
    dims = {"Rows": rows, "Columns": columns, "frames": frames, "SamplesPerPixel": samples}
    bad = [f"{key}={value}" for key, value in dims.items() if value < 1]
    per_frame = rows * columns
    total = per_frame * max(frames, 0)
    size = total * max(samples, 1) * max(-(-bits_allocated // 8), 1)
    too_big = per_frame > MAX_FRAME_PIXELS or frames > MAX_FRAMES or total > MAX_TOTAL_PIXELS
    if bad or too_big or size > MAX_PIXEL_BYTES:
        found = ", ".join(bad) or f"{rows} x {columns} x {frames} frames ({size} bytes of pixels)"
        raise PixelBudgetError(
            f"{where}: the header announces {found}; expected positive sizes of at most "
            f"{MAX_FRAME_PIXELS} pixels a frame, {MAX_FRAMES} frames and {MAX_PIXEL_BYTES} bytes. "
            "The header is damaged or the image is too large for mcz: split it first"
        )
