"""Progressive decoding of a hierarchical-VAE (``hvae``) file: a coarse image from the first groups.

Every coded group is entropy-decoded and the latent digest checked exactly, as in a
full decode; the image is then synthesised from the first ``groups`` groups only, the
others replaced by their prior means (QRes-VAE's progressive mode).  Those pixels are
not the encoder's reconstruction (unless ``groups`` is every coded group), so the
pixel check is not applied to them; the geometry tag is.
"""

from __future__ import annotations

import copy

import numpy as np

from mcz.codec import engine
from mcz.container import read_container
from mcz.errors import UsageError


def decode_progressive(data: bytes, groups: int, threads: int | None = None) -> np.ndarray:
    """Stored pixels (frames, rows, columns) of an ``hvae`` file decoded from its first ``groups`` latent groups.

    Raises
    ------
    UsageError
        The file is not an ``hvae`` file, or ``groups`` is not in 1..(groups coded in the file).
    """
    container = read_container(data)
    header = container.header
    codec = engine.load_codec(header.codec_id, header.checkpoint_sha256)
    if codec.spec.family != "hvae":
        raise UsageError(f"progressive decoding needs a hierarchical-VAE (hvae) file; this one is "
                         f"{header.codec_id!r} ({codec.spec.family})")
    if isinstance(groups, bool) or not isinstance(groups, int) or not 1 <= groups <= header.quality:
        raise UsageError(f"groups={groups!r}: expected an integer 1..{header.quality} (the groups this file codes)")
    if groups == header.quality:
        return engine.decode_container(container, codec=codec, threads=threads)
    model = copy.copy(codec.model)  # shares every module; only the attribute below differs
    object.__setattr__(model, "decode_groups", groups)
    engine.check_geometry(header)
    partial = engine.Codec(codec.spec, model, codec.checkpoint_sha256)
    return engine.decode_container(container, codec=partial, verify=False, threads=threads)
