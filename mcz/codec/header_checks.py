"""Checks of a ``.mcz`` header that tie its fields together, before anything is decoded.

The container (:mod:`mcz.container`) checks each header field on its own; these
checks reject the combinations no mcz encoder writes — a tiling record without an
integer tile, an ``original_shape`` whose image plane is not ``rows x columns``, an
intensity domain of another dtype than the pixels — so that a file which would fail
late, as a usage error or an untyped exception, fails first, as corrupt input
(:class:`~mcz.errors.FormatError`, exit code 4).  Every check costs O(size of the
header), never O(pixels the header claims).  Torch is not imported (``mcz info``).
"""

from __future__ import annotations

import math

from mcz.codec.tiling import tiling_from_header
from mcz.container import Header
from mcz.errors import FormatError
from mcz.intensity import Intensity


def check_geometry(header: Header) -> None:
    """Refuse an ``original_shape`` that (frames, rows, columns) pixels cannot be reshaped to.

    Raises
    ------
    FormatError
        ``original_shape`` has fewer than 2 axes, its image plane (the last two axes for
        ``frames-first``, the first two for ``frames-last``) is not ``rows x columns``, or its
        size is not ``frames x rows x columns``.
    """
    shape, layout = tuple(header.original_shape), header.layout
    plane = shape[-2:] if layout == "frames-first" else shape[:2]
    total = header.frames * header.rows * header.columns
    if len(shape) < 2 or plane != (header.rows, header.columns) or math.prod(shape) != total:
        raise FormatError(
            f"header field 'original_shape': found {list(shape)} ({layout}), expected at least 2 axes "
            f"with the image plane {header.rows} x {header.columns} and {total} values in all. "
            "The file is corrupt"
        )


def check_intensity(header: Header) -> Intensity:
    """The header's intensity domain, refused unless it matches the header's dtype and bit depth.

    Returns
    -------
    Intensity

    Raises
    ------
    FormatError
        The ``intensity`` record is invalid, or its dtype, ``bits_stored`` or ``signed`` differ
        from the header's fields of those names.
    """
    domain = Intensity.from_dict(header.intensity)  # FormatError on any invalid record
    found = (domain.dtype, domain.bits_stored, domain.signed)
    expected = (header.dtype, header.bits_stored, header.signed)
    if found != expected:
        raise FormatError(
            f"header field 'intensity' describes (dtype, bits_stored, signed) = {found}, the header "
            f"declares {expected}; they must agree. The file is corrupt"
        )
    return domain


def check_decodable(header: Header) -> tuple[int, int]:
    """Run every codec-independent check; return the tiling's ``(tile, pad_multiple)``.

    Raises
    ------
    FormatError
        See :func:`~mcz.codec.tiling.tiling_from_header`, :func:`check_geometry` and
        :func:`check_intensity`.
    """
    tiling = tiling_from_header(header.tiling)
    check_geometry(header)
    check_intensity(header)
    return tiling
