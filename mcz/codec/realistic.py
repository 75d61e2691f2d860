"""Decoding a file with a realistic (GAN) decoder instead of its model's MSE synthesis.

Two kinds, one per family shape: for the learned-entropy families the realistic decoder is
a fine-tuned copy of the synthesis ``g_s`` (HiFiC); for the wavelet family, whose decoder
is an exact inverse transform with nothing to fine-tune, it is a residual post-filter on
the MSE decoder's pixels (:mod:`mcz.codec.postfilter`), zero at initialisation, behind a
blob guard that blends the MSE pixels back over any spot the MSE image lacks
(:mod:`mcz.codec.blobguard`).

The file is the base model's, unchanged: the same latent is entropy-decoded and its
digest checked exactly (before the synthesis runs, as for every learned file); only the
synthesis differs (``g_s_real`` of :mod:`mcz.gan`).  Its pixels differ from the encoder's
reconstruction *by design*, so the file's pixel digest and bounded pixel check, which
describe the MSE decoder's output, cannot be applied to them.  Instead, a verified
decode first decodes the file with the MSE decoder and checks *those* pixels (which
proves the header and latents intact), then runs the realistic synthesis.  The
output is labelled a non-diagnostic preview (:mod:`mcz.gan.labelling`).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from mcz.codec import engine, padding
from mcz.codec.blobguard import guard
from mcz.codec.decoders import find_decoder, load_synthesis
from mcz.codec.families.wavelet import range_per_unit
from mcz.codec.wavelet.coder import step_size
from mcz.container import Container
from mcz.errors import McZError, UsageError

#: Families whose realistic decoder is a fine-tuned copy of the synthesis ``g_s``.
SYNTHESIS_FAMILIES = ("hyperprior", "factorized")
#: Families whose realistic decoder is a post-filter on the MSE decoder's pixels (no synthesis network).
FILTERED_FAMILIES = ("wavelet",)
#: Every family a realistic decoder can exist for.
FAMILIES = SYNTHESIS_FAMILIES + FILTERED_FAMILIES
#: The decoders :func:`decode_pixels` knows: the model's own (MSE-trained) synthesis, or the realistic one.
DECODERS = ("mse", "realistic")
#: What the realistic decoder's output is, wherever it is labelled.
PREVIEW_LABEL = "non-diagnostic preview"


def check_decoder(decoder: str) -> str:
    """``decoder``, refused unless it is one of :data:`DECODERS`."""
    if decoder not in DECODERS:
        raise UsageError(f"decoder {decoder!r} is not known; choose from {DECODERS} (default 'mse')")
    return decoder


@functools.lru_cache(maxsize=4)
def realistic_codec(model_id: str, sha256: str) -> Any:
    """The base codec of ``model_id`` (weights ``sha256``) with its synthesis replaced by the realistic one.

    The returned :class:`~mcz.codec.engine.Codec` keeps the base model's id and weights hash
    (the file's), and shares every module except ``g_s`` with the cached base model, which
    is left untouched.
    """
    base = engine.load_codec(model_id, sha256)
    if base.spec.family not in SYNTHESIS_FAMILIES:
        raise UsageError(f"model {model_id!r} ({base.spec.family}) has no realistic decoder; the hyperprior and "
                         "factorized families can have one (a fine-tuned synthesis), and the wavelet family (a "
                         "post-filter). Decode without --decoder")
    entry = find_decoder(model_id, base.checkpoint_sha256)
    model = copy.copy(base.model)
    model._modules = dict(base.model._modules)  # a new module table: setting g_s leaves the base alone
    model.g_s = load_synthesis(entry, copy.deepcopy(base.model.g_s))
    return engine.Codec(base.spec, model, base.checkpoint_sha256), entry.id





@functools.lru_cache(maxsize=4)
def realistic_filter(model_id: str, sha256: str) -> tuple[Any, str]:
    """The verified post-filter of ``model_id`` (weights ``sha256``) and its decoder id.

    Raises
    ------
    ModelError
        No realistic decoder is installed for these base weights, or its weights fail their check.
    """
    from mcz.codec.postfilter import PostFilter  # lazy: keeps torch out of import mcz.codec.realistic

    entry = find_decoder(model_id, sha256)
    network = PostFilter(int(entry.info.get("width", 32)), int(entry.info.get("depth", 4)))
    return load_synthesis(entry, network), entry.id


def _family(header: Any) -> str:
    return engine.load_codec(header.codec_id, header.checkpoint_sha256).spec.family


def realistic_id(model_id: str, sha256: str) -> str:
    """The id of the realistic decoder installed for ``model_id`` (weights ``sha256``), whatever its kind.

    Raises
    ------
    ModelError
        None is installed for these weights.
    UsageError
        The model's family can have none.
    """
    if engine.load_codec(model_id, sha256).spec.family in FILTERED_FAMILIES:
        return realistic_filter(model_id, sha256)[1]
    return realistic_codec(model_id, sha256)[1]


def _filtered(container: Container, pixels: np.ndarray, frames: Sequence[int] | None) -> np.ndarray:
    """``pixels`` (the MSE decoder's ``frames``, checked) through the file's model's post-filter, frame by frame.

    DICOM padding (values outside the coding window, kept losslessly beside the image) is not
    filtered: the filter sees it as the encoder coded it (the window's floor) and the stored
    padding is put back afterwards, exactly as the MSE decoder does.
    """
    from mcz.codec.postfilter import apply  # lazy: keeps torch out of import mcz.codec.realistic

    header = container.header
    network, _ = realistic_filter(header.codec_id, header.checkpoint_sha256)
    window = engine.window_of(header)
    step = step_size(header.quality, range_per_unit(header.bits_stored, window))  # the wavelet family's own step
    out = np.empty_like(pixels)
    for i in range(len(pixels)):
        coded = np.clip(pixels[i], window.low, window.high).astype(pixels.dtype)  # what the encoder coded
        # The filter's pixels, then the blob guard: no spot the MSE decoder's image lacks (mcz.codec.blobguard).
        guarded, _ = guard(apply(network, coded, window, step), coded)
        if np.issubdtype(pixels.dtype, np.integer):
            guarded = np.rint(guarded)
        out[i] = np.clip(guarded, window.low, window.high).astype(pixels.dtype)
    if padding.META_NAME in container.metadata:
        wanted = list(range(header.frames)) if frames is None else list(frames)
        padding.restore(out, container.metadata[padding.META_NAME], wanted, header.frames)
    return out


def decode_pixels(container: Container, decoder: str = "mse", *, verify: bool = True, progress=None,
                  backend: str = "torch", threads: int | None = None,
                  frames: Sequence[int] | None = None) -> np.ndarray:
    """Decode ``container`` with the MSE decoder (:func:`mcz.codec.engine.decode_container`) or the realistic one.

    The realistic decoder runs on the PyTorch backend only. With ``verify`` the file is first
    decoded and checked as the MSE decoder's (latent digest, pixel digest or bound, geometry), so
    a damaged or edited header is refused, then synthesised again by the realistic decoder, whose
    own pixels no digest describes (see the module docstring); that costs a second synthesis.
    """
    check_decoder(decoder)
    if decoder == "mse":
        return engine.decode_container(container, verify=verify, progress=progress, backend=backend,
                                       threads=threads, frames=frames)
    if backend != "torch":
        raise UsageError(f"the realistic decoder runs on the torch backend only; found backend {backend!r}")
    header = container.header
    if _family(header) in FILTERED_FAMILIES:
        # The MSE decoder's pixels, checked against the file's digests, then filtered.
        mse = engine.decode_container(container, verify=verify, progress=progress, backend=backend,
                                      threads=threads, frames=frames)
        return _filtered(container, mse, frames)
    codec, _ = realistic_codec(header.codec_id, header.checkpoint_sha256)
    if verify:
        # The latent digest covers the symbols, not how the header says to read them (quality,
        # window, tiling): an edited quality decoded a different image with no error (found by
        # fuzzing). The MSE decoder's pixels are what the file's pixel digest describes, so decode
        # and check them first; the realistic synthesis then runs on a header known to be intact.
        engine.decode_container(container, verify=True, backend=backend, threads=threads, frames=frames)
    return engine.decode_container(container, codec=codec, verify=False, progress=progress, backend=backend,
                                   threads=threads, frames=frames)


def decoder_id(container: Container, decoder: str) -> str:
    """The id of what produced the pixels: the model's id (MSE decoder) or the realistic decoder's id."""
    header = container.header
    if decoder == "mse":
        return header.codec_id
    return realistic_id(header.codec_id, header.checkpoint_sha256)


def available_decoders(header: Any) -> list[dict[str, Any]]:
    """The decoders that can make pixels of a file with this header (``mcz info``; no torch import).

    Always the MSE decoder (the default, its pixels checked against the encoder's); and a
    realistic decoder where one is installed for the file's model and weights.
    """
    found = [{"decoder": "mse", "id": header.codec_id, "default": True, "pixels_checked": True,
              "label": "the model's own synthesis"}]
    try:
        entry = find_decoder(header.codec_id, header.checkpoint_sha256)
    except McZError:  # none installed (or an unreadable manifest): the MSE decoder only
        return found
    found.append({"decoder": "realistic", "id": entry.id, "default": False, "pixels_checked": False,
                  "label": PREVIEW_LABEL, "beta": entry.info.get("beta")})
    return found
