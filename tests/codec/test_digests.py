"""Shortened digests (format 3) and files written in format 2 (full digests) decoding unchanged."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest

import mcz
from mcz import container, digests
from mcz.errors import ChecksumError

FORMAT2 = Path(__file__).parent.parent / "data" / "format2"
FULL = "sha256:" + hashlib.sha256(b"mcz").hexdigest()


def test_shortened_digest_matches_its_full_digest_only() -> None:
    short = digests.shorten(FULL)
    assert len(short) == len("sha256:") + digests.DIGEST_HEX
    assert digests.matches(FULL, short) and digests.matches(FULL, FULL)
    other = "sha256:" + hashlib.sha256(b"other").hexdigest()
    assert not digests.matches(other, short) and not digests.matches(other, FULL)


@pytest.mark.parametrize("recorded", [None, "", "sha256:", FULL[:20], FULL[:-1], FULL + "0", 12])
def test_digest_of_another_length_never_matches(recorded: object) -> None:
    assert not digests.matches(FULL, recorded)


def test_weights_id_names_the_checkpoint_by_its_first_16_hex() -> None:
    sha = hashlib.sha256(b"weights").hexdigest()
    assert digests.same_weights(sha, digests.shorten_weights(sha)) and digests.same_weights(sha, sha)
    assert not digests.same_weights(sha, sha[:15]) and not digests.same_weights(sha, sha[:17])
    assert not digests.same_weights(hashlib.sha256(b"x").hexdigest(), sha[:16])


def test_new_files_are_format_3_with_short_digests() -> None:
    image = (np.arange(64 * 64) % 251).reshape(64, 64).astype(np.uint8)
    data = mcz.encode(image)
    header = container.read_header(data)
    assert data[8 + 8 : 8 + 10] == b"\x03\x00"  # MHDR payload starts with the version
    assert len(header.digest) == len("sha256:") + 32 and len(header.checkpoint_sha256) == 16
    assert len(header.extra["latent_digest"]) == len("sha256:") + 32
    assert "pixel_check" not in header.extra  # the exact policy is what an absent entry means
    decoded = mcz.decode(data)
    assert digests.matches(mcz.codec.engine.digest(decoded), header.digest)


def test_a_wrong_short_digest_is_caught() -> None:
    image = (np.arange(48 * 40) % 200).reshape(48, 40).astype(np.uint8)
    c = container.read_container(mcz.encode(image))
    flipped = c.header.digest[:-1] + ("0" if c.header.digest[-1] != "0" else "1")
    altered = dataclasses.replace(c, header=dataclasses.replace(c.header, digest=flipped))
    with pytest.raises(ChecksumError, match="digest"):
        mcz.decode(container.write_container(altered))


@pytest.mark.parametrize("name", ["wavelet-8bit", "wavelet-ct", "nearlossless-k2", "hyperprior"])
def test_format_2_files_decode_as_they_did(name: str) -> None:
    """Files written by format 2.0 (commit 041b6f8: full digests, zlib header) decode to the same pixels."""
    data = (FORMAT2 / f"{name}.mcz").read_bytes()
    assert data[16:18] == b"\x02\x00"
    header = container.read_header(data)
    assert len(header.digest) == len("sha256:") + 64 and len(header.checkpoint_sha256) == 64
    expected = np.load(FORMAT2 / f"{name}.npy")
    decoded = mcz.decode(data)
    assert decoded.dtype == expected.dtype and decoded.shape == expected.shape
    if name == "hyperprior":  # float32 synthesis: the file's bounded pixel check allows its tolerance
        limit = header.extra["pixel_check"]["tolerance"]
        assert np.abs(decoded.astype(np.int64) - expected).max() <= limit
    else:
        assert np.array_equal(decoded, expected)
