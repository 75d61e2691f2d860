"""Cut a frame into tiles the network can take, and put them back.

Every tile is padded (edge replication) to a multiple of the encoder's
downsampling so the latent grid is whole.  Tiles bound memory: a 1955x1841
radiograph is coded as 4x4 tiles of at most 512x512 instead of one 2k x 2k pass.
The grid is a pure function of (rows, columns, tile, multiple), so the decoder
recomputes it from the header instead of reading it from the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeGuard

import numpy as np

from mcz.errors import FormatError

#: Largest tile side a header may declare (the largest frame side the container allows).
MAX_TILE = 65535


@dataclass(frozen=True)
class TileBox:
    """A tile's place in the frame and its padded size."""

    index: int
    top: int
    left: int
    rows: int
    columns: int
    padded_rows: int
    padded_columns: int


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def tiling_from_header(record: Mapping[str, object]) -> tuple[int, int]:
    """Validate the ``tiling`` record an mcz encoder writes and return ``(tile, pad_multiple)``.

    Parameters
    ----------
    record : Mapping
        The header's ``tiling`` object, e.g. ``{"tile": 512, "pad_multiple": 16, "pad_mode": "edge"}``.

    Returns
    -------
    tuple of int
        The tile side and the padding multiple, both in 1..:data:`MAX_TILE`, the tile a multiple
        of the padding multiple.

    Raises
    ------
    FormatError
        A key is missing, is not an integer (``True`` is not one), is out of range, or the tile
        is not a multiple of the padding multiple.
    """
    values: dict[str, int] = {}
    for key in ("tile", "pad_multiple"):
        if key not in record:
            raise FormatError(
                f"header field 'tiling' has no {key!r} (found keys {sorted(record)}); expected an "
                "integer there as every mcz encoder writes it. The file is corrupt or not from this mcz"
            )
        value = record[key]
        if not _is_int(value) or not 1 <= value <= MAX_TILE:
            raise FormatError(
                f"header field 'tiling', key {key!r}: found {value!r} ({type(value).__name__}), expected "
                f"an integer in 1..{MAX_TILE}. The file is corrupt"
            )
        values[key] = value
    tile, multiple = values["tile"], values["pad_multiple"]
    if tile % multiple:
        raise FormatError(
            f"header field 'tiling': tile {tile} is not a multiple of pad_multiple {multiple}, as every "
            "mcz encoder writes it. The file is corrupt"
        )
    return tile, multiple


def tile_count(rows: int, columns: int, tile: int) -> int:
    """How many tiles :func:`tile_grid` cuts a frame into, without building the grid."""
    return -(-rows // tile) * -(-columns // tile)


def tile_grid(rows: int, columns: int, tile: int, multiple: int) -> list[TileBox]:
    """Row-major tiles of at most ``tile`` x ``tile`` pixels covering the frame."""
    if tile < 1 or multiple < 1 or tile % multiple:
        raise ValueError(f"tile size {tile} must be a multiple of {multiple}")
    boxes: list[TileBox] = []
    for top in range(0, rows, tile):
        for left in range(0, columns, tile):
            h, w = min(tile, rows - top), min(tile, columns - left)
            boxes.append(
                TileBox(len(boxes), top, left, h, w, _round_up(h, multiple), _round_up(w, multiple))
            )
    return boxes


def extract(frame: np.ndarray, box: TileBox) -> np.ndarray:
    """The tile's pixels, edge-padded to its padded size."""
    part = frame[box.top : box.top + box.rows, box.left : box.left + box.columns]
    pad = ((0, box.padded_rows - box.rows), (0, box.padded_columns - box.columns))
    return np.pad(part, pad, mode="edge")


def place(frame: np.ndarray, box: TileBox, tile: np.ndarray) -> None:
    """Write a decoded (padded) tile back into ``frame``, dropping the padding."""
    frame[box.top : box.top + box.rows, box.left : box.left + box.columns] = tile[: box.rows, : box.columns]
