"""mcz itself as a codec of the comparison, behind the
:class:`~mcz.baselines.contract.BaselineCodec` contract.

Each installed model is one codec (:func:`mcz_codec`, named ``mcz:<model>``): each
frame is coded as its own image with :func:`mcz.api.encode` and measured on the
whole ``.mcz`` file, container included.  In-memory weights of an installed
model's architecture, such as the downstream study's task-aware fine-tune, are
one too (:func:`weights_codec`), coded by the engine directly.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Callable

import numpy as np

from mcz import __version__, api
from mcz.baselines.contract import BaselineCodec, Settings
from mcz.codec import engine, zoo
from mcz.codec.families import family_for
from mcz.io import from_array

MCZ_PREFIX = "mcz:"
#: Qualities swept by default for a family without its own sweep, inside each model's own range.
MCZ_QUALITIES = (2, 8)


class NoModelWarning(UserWarning):
    """``mcz`` was asked for, but no mcz model has installed weights."""


def mcz_codec(model_id: str) -> BaselineCodec:
    """An installed mcz model behind the benchmark's :class:`~mcz.baselines.contract.BaselineCodec` contract.

    The frame (unsigned, ``bits`` stored) is coded as one image by
    :func:`mcz.api.encode` without metadata, as standard codestreams carry none;
    the rate is the whole ``.mcz`` file (signature, header, CRCs, tiles).  Coding
    the shifted unsigned frame instead of the signed source changes only the
    intensity numbers in the header (a few bytes): the network sees the frame's
    own min..max window either way (:func:`mcz.codec.engine.coding_window`).

    Parameters
    ----------
    model_id : str
        A model with weights (``mcz models``).

    Returns
    -------
    BaselineCodec
        Named ``"mcz:<model_id>"``; setting = quality (in the family's meaning), integer;
        the family's own sweep where it has one.

    Raises
    ------
    ModelError
        Unknown model or no installed weights.
    """
    entry = zoo.find_checkpoint(model_id)
    codec = engine.load_codec(model_id)  # verify and load the weights now, not inside the first timed encode
    spec, family = entry.spec, codec.family
    return BaselineCodec(
        name=MCZ_PREFIX + model_id,
        library="mcz (mcz.api.encode / mcz.api.decode)",
        settings=_settings(spec),
        lossless=False,
        encoder=_mcz_encoder(model_id),
        decoder=_mcz_decode,
        version_of=lambda: _mcz_version(entry.sha256),
        bits=(1, 16),
        threads=engine.CODEC_THREADS,  # the runner codes every cell under engine.torch_threads(CODEC_THREADS)
        notes=f"{spec.family} {family.describe(spec.config)}, tile {spec.tile}; whole .mcz file, no metadata "
        "chunk; decode verifies the reconstruction digest",
        sweep=family.sweep,
    )


def _settings(spec) -> Settings:
    """A model's quality as a benchmark setting: its range, default and its family's meaning."""
    lo, hi = spec.quality_range
    meaning = family_for(spec).quality_meaning
    return Settings(lo, hi, spec.default_quality, f"mcz quality: {meaning} ({spec.family})", integer=True)


def weights_codec(base_id: str, state: dict, *, name: str, notes: str) -> BaselineCodec:
    """In-memory weights of an installed model's architecture (a fine-tune) behind the contract.

    Coded by the mcz engine itself (:func:`mcz.codec.engine.encode_image` /
    :func:`~mcz.codec.engine.decode_bytes` with the in-memory codec), not through the
    zoo, so the weights need not be installed; the rate is the whole ``.mcz`` file.

    Parameters
    ----------
    base_id : str
        The installed model whose architecture (spec) the weights fit.
    state : dict
        Its state dict, e.g. from a fine-tune.
    name : str
        Name in the comparison (``"mcz:<id>+task"``); it should start with
        :data:`MCZ_PREFIX` so that :func:`is_mcz` sees it.
    notes : str
        What the weights are, stated beside their numbers.

    Returns
    -------
    BaselineCodec
        Setting = quality (in the family's meaning), integer;
        version = the weights' sha256 (of their ``torch.save`` bytes).
    """
    import torch  # lazy: keeps torch out of import mcz.baselines.mcz_codec

    spec = zoo.find_checkpoint(base_id).spec
    buf = io.BytesIO()
    torch.save(state, buf)
    sha = hashlib.sha256(buf.getvalue()).hexdigest()
    inner = engine.codec_from_state(spec, state, sha)

    def encode(frame: np.ndarray, bits: int, quality: float) -> bytes:
        return engine.encode_image(
            from_array(frame, bits_stored=bits, signed=False), inner, quality=int(quality)
        )

    def decode(data: bytes, _bits: int | None) -> np.ndarray:
        out = np.asarray(engine.decode_bytes(data, codec=inner))
        return out[0] if out.ndim == 3 else out  # one frame

    return BaselineCodec(
        name=name,
        library="mcz engine (in-memory fine-tuned weights)",
        settings=_settings(spec),
        lossless=False,
        encoder=encode,
        decoder=decode,
        version_of=lambda: f"weights sha256 {sha[:12]}",
        bits=(1, 16),
        threads=engine.CODEC_THREADS,
        notes=notes,
    )


def _mcz_encoder(model_id: str) -> Callable[[np.ndarray, int, float], bytes]:
    def encode(frame: np.ndarray, bits: int, quality: float) -> bytes:
        image = from_array(frame, bits_stored=bits, signed=False)
        return api.encode(image, model=model_id, quality=int(quality), metadata="none")

    return encode


def _mcz_decode(data: bytes, _bits: int | None) -> np.ndarray:
    return api.decode(data)  # verify=True: a digest mismatch fails the cell


def _mcz_version(sha256: str) -> str:
    import torch  # lazy: keeps torch out of import mcz.baselines.mcz_codec

    return f"mcz {__version__}; weights sha256 {sha256[:12]}; torch {torch.__version__}"


def is_mcz(codec: BaselineCodec) -> bool:
    """Whether ``codec`` is an mcz model (:func:`mcz_codec`)."""
    return codec.name.startswith(MCZ_PREFIX)


def installed_mcz_codecs() -> list[BaselineCodec]:
    """:func:`mcz_codec` of every model with installed weights, by id; warns when there is none."""
    ids = sorted(zoo.available_ids())
    if not ids:
        warnings.warn(
            "no mcz model has installed weights (`mcz models`); mcz is left out of this run",
            NoModelWarning,
            stacklevel=3,
        )
    return [mcz_codec(i) for i in ids]

