"""What the realistic-decoder tests share: the bundled CT, a damaged latent, tampered decoder weights."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mcz.codec import engine
from mcz.container import read_container, write_container

CHECKPOINTS = Path(__file__).resolve().parents[2] / "checkpoints"


@pytest.fixture(scope="module")
def demo_ct() -> tuple[np.ndarray, int]:
    """The bundled head CT's first frame in its unsigned stored domain, and its coding bit depth."""
    from mcz.baselines.contract import coding_bits, to_unsigned
    from mcz.demo import bundled_image
    from mcz.io import read_image

    try:
        path = bundled_image()
    except Exception as exc:  # pydicom-data missing
        pytest.skip(str(exc))
    image = read_image(path)
    unsigned, _ = to_unsigned(image.pixels[0], image.intensity)
    return unsigned, coding_bits(image.intensity)


def with_damaged_payload(data: bytes) -> bytes:
    """``data`` with one byte of its first tile's payload flipped (CRCs rewritten: the edit reaches the decoder)."""
    parsed = read_container(data)
    tile = parsed.tiles[0]
    payload = bytearray(tile.payload)
    payload[len(payload) // 2] ^= 0x5A
    bad = type(tile)(frame=tile.frame, index=tile.index, params=tile.params, side=tile.side, payload=bytes(payload))
    return write_container(type(parsed)(header=parsed.header, tiles=(bad, *parsed.tiles[1:]), metadata=parsed.metadata))


def tampered_decoder(base: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """A checkpoint folder (made ``MCZ_CHECKPOINTS``) whose ``base`` realistic decoder's weights were edited."""
    from mcz.codec import decoders

    manifest = json.loads((CHECKPOINTS / "manifest.json").read_text())
    current = engine.load_codec(base).checkpoint_sha256
    (entry,) = [d for d in manifest[decoders.DECODERS_KEY] if d["base"] == base and d["base_sha256"] == current]
    shutil.copy(CHECKPOINTS / entry["file"], folder / entry["file"])
    with open(folder / entry["file"], "r+b") as fh:
        fh.seek(-3, 2)
        fh.write(b"\x00\x01\x02")
    (folder / "manifest.json").write_text(json.dumps({"format": 1, "models": [], "decoders": [entry]}))
    monkeypatch.setenv("MCZ_CHECKPOINTS", str(folder))
    return entry
