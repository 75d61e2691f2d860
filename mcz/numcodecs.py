"""A numcodecs codec, so that zarr (and anything else using numcodecs) can store arrays with mcz.

::

    import zarr
    from mcz.numcodecs import Mcz

    z = zarr.array(volume, chunks=(1, 512, 512), compressor=Mcz(quality=28, bits_stored=12))

Each chunk (a 2-D image or a stack of frames) becomes one complete ``.mcz`` file,
so every chunk can also be decoded with ``mcz.decode``.  The codec is lossy: a
decoded chunk is the codec's reconstruction, not the original values.  Importing
this module registers the codec under the id ``"mcz"`` (also registered through
the ``numcodecs.codecs`` entry point, so zarr finds it in a new process).  Needs
``pip install 'mcz[zarr]'``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import mcz
from mcz.errors import UsageError, require

_numcodecs = require("numcodecs", "zarr")
from numcodecs.abc import Codec  # noqa: E402
from numcodecs.compat import ensure_ndarray, ndarray_copy  # noqa: E402


class Mcz(Codec):
    """numcodecs codec that stores each chunk as a ``.mcz`` file.

    Parameters
    ----------
    model : str, optional
        Model id (``mcz models``); default: mcz's default for the chunk's bit depth.
    quality : int, optional
        Model quality (for ``wavelet-ctx`` the step 2^(-q/4) of 2^bits_stored - 1).
    bits_stored : int, optional
        Value domain of integer chunks; give it for CT/MR (e.g. 12), or each chunk
        takes the smallest standard depth that holds its values.
    signed : bool, optional
        Whether integer chunks are signed (default: from the values).
    threads : int, optional
        Torch intra-op threads per call; default: the caller's setting.
    """

    codec_id = "mcz"

    def __init__(self, model: str | None = None, quality: int | None = None, bits_stored: int | None = None,
                 signed: bool | None = None, threads: int | None = None) -> None:
        self.model = model
        self.quality = quality
        self.bits_stored = bits_stored
        self.signed = signed
        self.threads = threads

    def encode(self, buf: Any) -> bytes:
        """Code one chunk (2-D, or frames x rows x columns) into ``.mcz`` bytes."""
        array = ensure_ndarray(buf)
        if array.ndim < 2:
            raise UsageError(f"mcz codes images; this chunk has shape {array.shape}. Use chunks of at "
                             "least 2 dimensions (rows, columns), e.g. chunks=(1, rows, columns)")
        return mcz.encode(np.ascontiguousarray(array), model=self.model, quality=self.quality,
                          bits_stored=self.bits_stored, signed=self.signed, metadata="none", threads=self.threads)

    def decode(self, buf: Any, out: Any = None) -> np.ndarray:
        """Decode ``.mcz`` bytes (any buffer) to the chunk's array, into ``out`` if given."""
        return ndarray_copy(mcz.decode(ensure_ndarray(buf).view(np.uint8), threads=self.threads), out)

    def get_config(self) -> dict[str, Any]:
        """The codec's settings, JSON-safe (stored in zarr's array metadata)."""
        config = {"id": self.codec_id, "model": self.model, "quality": self.quality,
                  "bits_stored": self.bits_stored, "signed": self.signed}
        return {key: value for key, value in config.items() if value is not None or key == "id"}

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "id")
        return f"Mcz({settings})"


_numcodecs.register_codec(Mcz)
