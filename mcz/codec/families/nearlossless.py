"""The ``nearlossless`` family: lossless (quality 0) and near-lossless coding with a guaranteed bound.

``quality`` is the maximum error K in stored units.  Standalone: it writes its own tile
format and decodes its own files (:mod:`mcz.codec.nearlossless`), with no weights of its own
(a ``wavelet-ctx`` base where it pays).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from mcz.codec.families.base import StandaloneFamily
from mcz.codec.families.register import register_family

if TYPE_CHECKING:
    from mcz.container import Container


@register_family
class NearLosslessFamily(StandaloneFamily):
    """Uniform residual quantiser (step 2K + 1) + JPEG-XL lossless, over an optional wavelet base."""

    name = "nearlossless"
    quality_meaning = "maximum error in stored units (0: lossless)"

    def downsampling(self, config: dict) -> int:
        return 1  # one tile per frame, never padded

    def describe(self, config: dict) -> str:
        return "residual step 2K+1 + JPEG-XL lossless"

    def quality_note(self, quality: int) -> str:
        bound = "lossless: bit-exact" if quality == 0 else f"every pixel within +/-{quality} stored units"
        return f"{bound} (checked by the encoder; the decoder verifies the digest)"

    def decode_container(self, container: Container, *, verify: bool, progress: Callable[[int], None] | None,
                         frames: Sequence[int] | None) -> np.ndarray:
        # lazy: import cycle codec.nearlossless -> engine -> registry -> families.nearlossless
        from mcz.codec import nearlossless

        return nearlossless.decode_container(container, verify=verify, progress=progress, frames=frames)
