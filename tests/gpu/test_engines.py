"""TensorRT engine building without TensorRT: profile, cache key, flags, cache hits; the real build is @gpu."""

from __future__ import annotations

import dataclasses
import json
import types

import pytest

from mcz.errors import ModelError, UsageError
from mcz.codec.gpu import device, engines
from mcz.codec.gpu.device import Gpu

H100 = Gpu("NVIDIA H100 80GB HBM3", (9, 0), 80 << 30)


def test_profile_covers_one_tile_up_to_the_max_batch_of_the_largest_tile():
    profile = engines.Profile(64, (512, 512), 8)
    assert profile.shapes() == ((1, 64, 1, 1), (8, 64, 32, 32), (8, 64, 32, 32))
    assert profile.covers((3, 64, 32, 20)) and not profile.covers((9, 64, 32, 32))
    assert not profile.covers((1, 64, 33, 32)) and not profile.covers((1, 32, 32, 32))
    with pytest.raises(UsageError, match="multiples of 16"):
        engines.Profile(64, (500, 512))
    with pytest.raises(UsageError, match="max batch"):
        engines.Profile(64, (512, 512), 0)


def test_the_cache_key_changes_with_every_field_it_holds():
    base = engines.engine_key("10.3.0", H100, b"graph", engines.Profile(64), "fp16")
    assert base.compute_capability == (9, 0) and base.graph_sha256 == engines.graph_sha256(b"graph")
    variants = [
        dataclasses.replace(base, tensorrt_version="11.4.0"),
        dataclasses.replace(base, gpu_name="Orin"),
        dataclasses.replace(base, compute_capability=(8, 7)),
        dataclasses.replace(base, graph_sha256=engines.graph_sha256(b"other")),
        dataclasses.replace(base, profile=engines.Profile(64, (1024, 1024))),
        dataclasses.replace(base, precision="fp32"),
    ]
    digests = {base.digest(), *(v.digest() for v in variants)}
    assert len(digests) == 7
    assert base.file_name("m") == f"m-fp16-{base.digest()}.engine"
    assert base.timing_cache_name() == "timing-trt10.3.0-NVIDIA_H100_80GB_HBM3-sm90.cache"
    # the timing cache is shared by models and profiles of one TensorRT and GPU
    assert variants[3].timing_cache_name() == variants[4].timing_cache_name() == base.timing_cache_name()


def _fake_trt(flags: dict[str, int], builder_flags: tuple[str, ...]) -> types.SimpleNamespace:
    return types.SimpleNamespace(
        __version__="x", NetworkDefinitionCreationFlag=types.SimpleNamespace(**flags),
        BuilderFlag=types.SimpleNamespace(**{name: name for name in builder_flags}),
        MemoryPoolType=types.SimpleNamespace(WORKSPACE="workspace"))


@pytest.mark.parametrize("flags", [{"EXPLICIT_BATCH": 0, "STRONGLY_TYPED": 1},  # TensorRT 10.x (JetPack 6)
                                   {"STRONGLY_TYPED": 1, "PREFER_AOT_PYTHON_PLUGINS": 2}])  # 11.x
def test_networks_are_created_strongly_typed_on_tensorrt_10_and_11(flags):
    assert engines.network_flags(_fake_trt(flags, ())) == 1 << 1


def test_a_tensorrt_without_strong_typing_is_refused():
    with pytest.raises(ModelError, match="STRONGLY_TYPED"):
        engines.network_flags(_fake_trt({"EXPLICIT_BATCH": 0}, ()))


class _Recorder:
    """Records the builder-config calls :func:`engines.configure` makes."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.calls.append((name, args))
            return self
        return call


@pytest.mark.parametrize("builder_flags, cleared", [(("TF32", "FP16"), ["TF32"]), ((), [])])
def test_configure_sets_the_profile_and_timing_cache_and_clears_tf32_where_it_exists(builder_flags, cleared):
    trt = _fake_trt({"STRONGLY_TYPED": 1}, builder_flags)
    builder, config = _Recorder(), _Recorder()
    profile = engines.Profile(8, (64, 32), 2)
    engines.configure(trt, builder, config, profile, b"cache")
    assert ("set_shape", ("input", *profile.shapes())) in builder.calls
    assert [args[0] for name, args in config.calls if name == "clear_flag"] == cleared
    assert not any(name == "set_flag" for name, _ in config.calls)  # no FP16 flag: precision is in the graph
    assert ("create_timing_cache", (b"cache",)) in config.calls


def test_build_engine_caches_by_key_and_keeps_the_timing_cache_beside(learned_zoo, tmp_path, monkeypatch):
    from mcz.codec import engine
    from tests.zoo import TINY_LEARNED

    built = []

    def fake_build(trt, graph, profile, timing):
        built.append((graph, profile, timing))
        return b"engine-bytes", timing + b"+t"

    monkeypatch.setattr(device, "require_tensorrt", lambda: types.SimpleNamespace(__version__="10.3.0"))
    monkeypatch.setattr(device, "current_gpu", lambda: H100)
    monkeypatch.setattr(engines, "build_serialized", fake_build)
    codec = engine.load_codec(TINY_LEARNED["hyperprior"].id)
    path, fresh = engines.build_engine(codec, "fp16", folder=tmp_path)
    assert fresh and path.read_bytes() == b"engine-bytes" and built[0][2] == b""
    key = json.loads(path.with_suffix(".json").read_text())
    assert key["tensorrt_version"] == "10.3.0" and key["precision"] == "fp16" and key["gpu_name"] == H100.name
    timing = tmp_path / "timing-trt10.3.0-NVIDIA_H100_80GB_HBM3-sm90.cache"
    assert timing.read_bytes() == b"+t"
    assert engines.build_engine(codec, "fp16", folder=tmp_path) == (path, False) and len(built) == 1
    fp32, fresh = engines.build_engine(codec, "fp32", folder=tmp_path)
    assert fresh and fp32 != path and built[1][2] == b"+t"  # the second build starts from the timing cache
    assert engines.build_engine(codec, "fp16", folder=tmp_path, rebuild=True)[1]


def test_engine_cache_folder_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MCZ_ENGINE_CACHE", str(tmp_path))
    assert engines.cache_dir() == tmp_path
    monkeypatch.delenv("MCZ_ENGINE_CACHE")
    assert engines.cache_dir().parts[-3:] == (".cache", "mcz", "engines")


def test_engine_build_refuses_a_family_without_a_synthesis_network():
    from mcz.cli.main import main

    assert main(["engine", "build", "wavelet-ctx"]) == 2
