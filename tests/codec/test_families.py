"""Model families as classes: the registry, a family-free engine, torch-free wavelets."""

from __future__ import annotations

import ast
import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import mcz
from mcz.codec import engine, registry
from mcz.codec.families import Coding, ModelFamily, TileDecoder, family_for, family_names, register_family
from mcz.codec.families import register as family_register
from mcz.container import Tile
from mcz.errors import ModelError, UsageError

ENGINE = Path(engine.__file__)


def test_every_registered_model_names_a_registered_family() -> None:
    assert set(family_names()) == {"cae", "factorized", "hyperprior", "wavelet", "nearlossless", "hvae"}
    for spec in registry.registered():
        assert family_for(spec).name == spec.family
        assert spec.downsampling == family_for(spec).downsampling(spec.config)


def test_an_unknown_family_is_refused() -> None:
    with pytest.raises(UsageError, match="unknown model family 'nope'"):
        family_for("nope")
    with pytest.raises(UsageError, match="has family 'nope'"):
        registry.ModelSpec(id="x-nope", family="nope", config={})


def test_a_family_name_means_one_class() -> None:
    class Impostor(type(family_for("cae"))):
        pass

    with pytest.raises(UsageError, match="already registered"):
        register_family(Impostor)
    assert type(family_for("cae")).__name__ == "CaeFamily"


def test_a_standalone_family_has_no_model_to_load() -> None:
    with pytest.raises(ModelError, match="no weights to load"):
        engine.codec_from_state(registry.get_spec("nearlossless"), {}, "0" * 64)


def _code_names(path: Path) -> set[str]:
    """Identifiers and string constants of a module's code, docstrings left out."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body
                  and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            names.update(node.value.replace("-", " ").split())
    return names


def test_the_engine_has_no_family_branch() -> None:
    names = _code_names(ENGINE)
    assert not names & {"cae", "factorized", "hyperprior", "wavelet", "nearlossless", "hvae", "learned_entropy",
                        "LEARNED_FAMILIES"}


def test_a_quality_error_says_what_quality_means_for_the_family() -> None:
    image = np.zeros((16, 16), np.uint8)
    with pytest.raises(UsageError, match=r"0\.\.80 \(quantiser step 2\^\(-q/4\) of R; default 24\)"):
        mcz.encode(image, model="wavelet-ctx", quality=81)


def test_coding_with_the_wavelet_family_never_imports_torch() -> None:
    """Encode and decode with the default model, near-lossless over its base, and ``mcz info``."""
    script = """
import sys
import numpy as np
import mcz
from mcz.codec import nearlossless
from mcz.io import from_array

image = (np.add.outer(np.arange(96), 3 * np.arange(80)) % 4096).astype(np.uint16)
data = mcz.encode(image, bits_stored=12, model="wavelet-ctx", quality=60, threads=1)
assert np.abs(mcz.decode(data).astype(int) - image).max() <= 2
based = nearlossless.encode_image(from_array(image, bits_stored=12), 2, base="wavelet")
assert mcz.read_info(based).header.extra["base"]["frames"] == 1
assert np.abs(mcz.decode(based).astype(int) - image).max() <= 2
print(sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "compressai", "lightning")))
"""
    root = Path(mcz.__file__).parent.parent
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=root,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().replace("'", '"')) == []


# -- a family that plugs in: one class, one registration ------------------------------------------------


class _RawDecoder(TileDecoder):
    def symbols(self, chunk: Tile, box, latents) -> np.ndarray:
        q = np.frombuffer(chunk.payload, "<u2").reshape(box.padded_rows, box.padded_columns)
        latents.update(q)
        return q

    def reconstruct(self, symbols: np.ndarray, box) -> np.ndarray:
        return (symbols / np.float32(65535)).astype(np.float32)


class _RawFamily(ModelFamily):
    """16-bit samples of the unit tile, stored raw: the smallest complete family."""

    name = "test-raw"
    quality_meaning = "ignored"
    exact = True

    def downsampling(self, config: dict) -> int:
        return 1

    def build(self, config: dict) -> object:
        return object()

    def load(self, spec, state) -> object:
        return object()

    @contextlib.contextmanager
    def session(self, threads: int | None) -> Iterator[None]:
        yield

    def quantiser_record(self, spec, quality: int) -> dict:
        return {"method": "raw16"}

    def tile_encoder(self, coding: Coding):
        def encode(tile, frame, index, latents):
            q = np.rint(np.clip(tile, 0, 1) * 65535).astype("<u2")
            latents.update(q)
            chunk = Tile(frame=frame, index=index, params=(), side=b"", payload=q.tobytes())
            return chunk, q / np.float32(65535)

        return encode

    def tile_decoder(self, coding: Coding) -> TileDecoder:
        return _RawDecoder()


@pytest.fixture
def raw_family() -> Iterator[registry.ModelSpec]:
    register_family(_RawFamily)
    spec = registry.register(registry.ModelSpec(id="test-raw", family="test-raw", config={},
                                                default_quality=1, quality_range=(1, 1), tile=64))
    yield spec
    registry.DEFAULT.unregister(spec.id)
    del family_register._FAMILIES[_RawFamily.name]


def test_a_new_family_codes_through_the_unchanged_engine(raw_family) -> None:
    from mcz.io import from_array

    image = (np.add.outer(np.arange(70), np.arange(90)) * 37 % 4096).astype(np.uint16)[None]
    codec = engine.codec_from_state(raw_family, {}, "ab" * 32)
    data = engine.encode_image(from_array(image, bits_stored=12), codec)
    assert np.array_equal(engine.decode_bytes(data, codec=codec), image)
    assert mcz.read_info(data).header.quantiser == {"method": "raw16"}
