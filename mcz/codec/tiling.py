"""Cut a frame into tiles the network can take, and put them back.

Every tile is padded (edge replication) to a multiple of the encoder's
downsampling so the latent grid is whole.  Tiles bound memory: a 1955x1841
radiograph is coded as 4x4 tiles of at most 512x512 instead of one 2k x 2k pass.
The grid is a pure function of (rows, columns, tile, multiple), so the decoder
recomputes it from the header instead of reading it from the file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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


def tile_grid(rows: int, columns: int, tile: int, multiple: int) -> list[TileBox]:
    """Row-major tiles of at most ``tile`` x ``tile`` pixels covering the frame."""
    if tile % multiple:
        raise ValueError(f"tile size {tile} must be a multiple of {multiple}")
    boxes = []
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
