"""Codecs by name: the standard ones, ``mcz:<model>``, and ``mcz`` for every installed model.

The names ``mcz bench --codecs`` and the downstream study take; the standard
names are those of :data:`mcz.baselines.standard.STANDARD_CODECS`.
"""

from __future__ import annotations

from collections.abc import Sequence

from mcz.baselines.contract import BaselineCodec
from mcz.baselines.mcz_codec import MCZ_PREFIX, installed_mcz_codecs, mcz_codec
from mcz.baselines.standard import STANDARD_CODECS, get_codec
from mcz.errors import UsageError

#: Codecs of a run when none are named: the standard lossy and lossless set, and every installed mcz model.
DEFAULT_CODECS = (
    "jpeg",
    "j2k",
    "htj2k",
    "jpegls",
    "jxl",
    "avif",
    "webp",
    "j2k-lossless",
    "jpegls-lossless",
    "jxl-lossless",
    "mcz",
)


def resolve_codecs(names: Sequence[str] | None = None) -> list[BaselineCodec]:
    """Codecs by name: standard ones, ``mcz:<model>``, or ``mcz`` for every installed model.

    Parameters
    ----------
    names : sequence of str, optional
        Default :data:`DEFAULT_CODECS`.

    Returns
    -------
    list of BaselineCodec
        In the order given, each once.

    Raises
    ------
    UsageError
        An unknown standard codec name.
    ModelError
        ``mcz:<model>`` without installed weights.

    Warns
    -----
    NoModelWarning
        ``mcz`` was given and no model has weights.
    """
    out: dict[str, BaselineCodec] = {}
    for name in names or DEFAULT_CODECS:
        name = name.strip()
        if name == "mcz":
            for codec in installed_mcz_codecs():
                out.setdefault(codec.name, codec)
        elif name.startswith(MCZ_PREFIX):
            out.setdefault(name, mcz_codec(name[len(MCZ_PREFIX) :]))
        elif name:
            out.setdefault(name, get_codec(name))
    if not out:
        raise UsageError(
            f"found no codec in {list(names or ())}; expected names from "
            f"{', '.join(STANDARD_CODECS)}, mcz or mcz:<model>"
        )
    return list(out.values())
