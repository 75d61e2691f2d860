"""The latent digest: a running sha256 of the integer symbols an entropy decoder produced.

Every family that records one (``extra["latent_digest"]``) feeds it the same symbols on
both sides, so it proves the coded data intact on any backend and thread count, before
(learned families) or after (the wavelet family) the reconstruction.
"""

from __future__ import annotations

import hashlib

import numpy as np


class LatentDigest:
    """Running sha256 of every tile's decoded integer symbols, each array as little-endian int32."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def update(self, *arrays: np.ndarray) -> None:
        """Add ``arrays`` to the digest, in order."""
        for array in arrays:
            self._hash.update(np.ascontiguousarray(array, dtype="<i4").tobytes())

    def hexdigest(self) -> str:
        """``sha256:<hex>`` of everything added so far."""
        return "sha256:" + self._hash.hexdigest()
