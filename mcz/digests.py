"""Digests as a header records them: computed in full, stored shortened (format 3).

A decoder always computes a full SHA-256; a format 3 file stores its first 128 bits for
the pixel and latent digests and its first 64 bits for the weights id. That is about 70
bytes less per file (the digests were half of a compressed header) with no loss that
matters here: the digests detect corruption and decoder faults, which a 128-bit truncation
of SHA-256 does with a chance of a miss of 2^-128, and the chunks carry CRC-32s as well.
The weights id only has to *name* a checkpoint among the few installed (64 bits); the
checkpoint itself is always verified against the full sha256 of its manifest entry before
it is loaded. Files of format 1 and 2 store full digests and are compared in full.
"""

from __future__ import annotations

__all__ = ["DIGEST_HEX", "WEIGHTS_HEX", "matches", "same_weights", "shorten", "shorten_weights"]

#: Hex digits of a pixel or latent digest a format 3 file stores (128 bits).
DIGEST_HEX = 32
#: Hex digits of the weights id (``checkpoint_sha256``) a format 3 file stores (64 bits).
WEIGHTS_HEX = 16
_PREFIX = "sha256:"
_FULL_HEX = 64


def shorten(digest: str) -> str:
    """The stored form of a full ``sha256:<64 hex>`` digest: ``sha256:<32 hex>``."""
    return digest[: len(_PREFIX) + DIGEST_HEX]


def shorten_weights(sha256: str) -> str:
    """The stored form of a checkpoint's full sha256 (64 hex): its first 16 hex digits."""
    return sha256[:WEIGHTS_HEX]


def matches(found: str, recorded: object) -> bool:
    """Whether a full digest ``found`` agrees with the ``recorded`` one (full or shortened).

    Parameters
    ----------
    found : str
        ``sha256:<64 hex>`` computed by the decoder.
    recorded : object
        What the header holds: ``sha256:`` with 32 (format 3) or 64 hex digits; anything else
        (missing, wrong type, other length) never matches.
    """
    if not isinstance(recorded, str) or len(recorded) not in (len(_PREFIX) + DIGEST_HEX, len(_PREFIX) + _FULL_HEX):
        return False
    return found[: len(recorded)] == recorded


def same_weights(sha256: str, recorded: object) -> bool:
    """Whether a checkpoint's full ``sha256`` (64 hex) is the one a header names (16 or 64 hex)."""
    if not isinstance(recorded, str) or len(recorded) not in (WEIGHTS_HEX, _FULL_HEX):
        return False
    return sha256[: len(recorded)] == recorded
