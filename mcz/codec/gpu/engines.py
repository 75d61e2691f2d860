"""TensorRT engines of a learned model's synthesis: build on the target, cache, never ship.

An engine is tied to the GPU model and the TensorRT version and is not bit-reproducible
across builds, so mcz builds it on the machine that decodes (``mcz engine build``, or
on first use) and caches it under :func:`cache_dir` by :class:`EngineKey`: TensorRT
version, GPU name, compute capability, the sha256 of the ONNX graph (which covers the
weights and the precision's casts), the input profile and the precision.  A TensorRT
*timing cache* per (TensorRT version, GPU, compute capability) is kept beside the
engines, so rebuilding for another profile or model reuses the kernel timings.

Precision is in the graph (:mod:`mcz.codec.gpu.graphs`): the network is created *strongly
typed* (``NetworkDefinitionCreationFlag.STRONGLY_TYPED``: required for this on TensorRT
10.x, JetPack 6's version; accepted and always on in 11.x), no FP16 builder flag is set
(removed in 11.x), and TF32 is cleared where the flag exists, because TF32 convolutions
round FP32 layers (the last layer of the FP16 graph included) to a 10-bit mantissa.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import cast

from mcz.codec.gpu import device, graphs
from mcz.errors import ModelError, UsageError
from mcz.fsutil import atomic_write_bytes

#: Largest tile the default profile covers (the learned models code 512 x 512 tiles).
DEFAULT_MAX_SIZE = (512, 512)
#: Largest batch (slices synthesised at once) the default profile covers.
DEFAULT_MAX_BATCH = 8
#: The latent's spatial reduction (mirrors :data:`mcz.codec.learned.LATENT_STRIDE`, torch-free here).
LATENT_STRIDE = 16
#: Workspace TensorRT may use while building, bytes.
WORKSPACE_BYTES = 1 << 30


@dataclass(frozen=True)
class Profile:
    """A dynamic-shape optimisation profile of the synthesis input (N, m, rows/16, columns/16).

    ``max_size`` is in pixels (rows, columns), each a multiple of 16; the optimum is the
    largest batch of the largest tile, the minimum one 16 x 16 tile.
    """

    channels: int
    max_size: tuple[int, int] = DEFAULT_MAX_SIZE
    max_batch: int = DEFAULT_MAX_BATCH

    def __post_init__(self) -> None:
        rows, cols = self.max_size
        if rows < LATENT_STRIDE or cols < LATENT_STRIDE or rows % LATENT_STRIDE or cols % LATENT_STRIDE:
            raise UsageError(f"--max-size {rows} {cols}: expected rows and columns that are positive "
                             f"multiples of {LATENT_STRIDE} (the latent's stride)")
        if not 1 <= self.max_batch <= 256:
            raise UsageError(f"max batch {self.max_batch}: expected 1..256 slices")

    def shapes(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """(min, opt, max) input shapes for ``IOptimizationProfile.set_shape``."""
        h, w = self.max_size[0] // LATENT_STRIDE, self.max_size[1] // LATENT_STRIDE
        return (1, self.channels, 1, 1), (self.max_batch, self.channels, h, w), (self.max_batch, self.channels, h, w)

    def covers(self, shape: tuple[int, ...]) -> bool:
        """Whether an input of ``shape`` lies inside the profile."""
        low, _, high = self.shapes()
        return len(shape) == 4 and all(lo <= s <= hi for lo, s, hi in zip(low, shape, high))


@dataclass(frozen=True)
class EngineKey:
    """Everything an engine depends on; its hash names the cached file."""

    tensorrt_version: str
    gpu_name: str
    compute_capability: tuple[int, int]
    graph_sha256: str
    profile: Profile
    precision: str

    def digest(self) -> str:
        """32 hex digits of the SHA-256 of the key (stable JSON)."""
        text = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def file_name(self, model_id: str) -> str:
        """``<model>-<precision>-<digest>.engine``."""
        return f"{model_id}-{self.precision}-{self.digest()}.engine"

    def timing_cache_name(self) -> str:
        """The timing cache shared by every engine of this TensorRT version and GPU."""
        gpu = "".join(c if c.isalnum() else "_" for c in self.gpu_name)
        major, minor = self.compute_capability
        return f"timing-trt{self.tensorrt_version}-{gpu}-sm{major}{minor}.cache"


def cache_dir() -> Path:
    """Where engines and timing caches live: ``$MCZ_ENGINE_CACHE`` or ``~/.cache/mcz/engines``."""
    folder = os.environ.get("MCZ_ENGINE_CACHE")
    return Path(folder) if folder else Path.home() / ".cache" / "mcz" / "engines"


def graph_sha256(graph: bytes) -> str:
    """sha256 hex of a serialised ONNX graph."""
    return hashlib.sha256(graph).hexdigest()


def network_flags(trt) -> int:
    """``create_network`` flags: STRONGLY_TYPED where the enum has it (TensorRT 10.x and 11), else 0."""
    flag = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
    if flag is None:
        raise ModelError(f"TensorRT {trt.__version__} has no STRONGLY_TYPED network flag; mcz needs "
                         "TensorRT 10 or later (JetPack 6 ships 10.3). Upgrade TensorRT")
    return 1 << int(flag)


def configure(trt, builder, config, profile: Profile, timing_cache: bytes) -> None:
    """Fill a builder config: optimisation profile, workspace, timing cache, no TF32."""
    opt = builder.create_optimization_profile()
    opt.set_shape("input", *profile.shapes())
    config.add_optimization_profile(opt)
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
    tf32 = getattr(trt.BuilderFlag, "TF32", None)
    if tf32 is not None:  # FP32 layers must stay FP32 (see the module docstring)
        config.clear_flag(tf32)
    cache = config.create_timing_cache(timing_cache)
    config.set_timing_cache(cache, ignore_mismatch=False)


def build_serialized(trt, graph: bytes, profile: Profile, timing_cache: bytes) -> tuple[bytes, bytes]:
    """Parse ``graph`` and build a serialised engine; returns (engine, updated timing cache)."""
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(network_flags(trt))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(graph):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ModelError(f"TensorRT could not parse the synthesis graph: {errors}")
    config = builder.create_builder_config()
    configure(trt, builder, config, profile, timing_cache)
    engine = builder.build_serialized_network(network, config)
    if engine is None:
        raise ModelError("TensorRT failed to build the synthesis engine (see its log above); "
                         "check the GPU's free memory and the --max-size profile")
    return bytes(engine), bytes(config.get_timing_cache().serialize())


def engine_key(trt_version: str, gpu, graph: bytes, profile: Profile, precision: str) -> EngineKey:
    """The :class:`EngineKey` of ``graph`` built with ``profile`` on ``gpu`` (a :class:`mcz.codec.gpu.device.Gpu`)."""
    return EngineKey(trt_version, gpu.name, tuple(gpu.compute_capability), graph_sha256(graph), profile, precision)


def build_engine(codec, precision: str = "fp16", max_size: tuple[int, int] = DEFAULT_MAX_SIZE,
                 max_batch: int = DEFAULT_MAX_BATCH, folder: Path | None = None,
                 rebuild: bool = False) -> tuple[Path, bool]:
    """Build (or find in the cache) the TensorRT engine of ``codec``'s synthesis on this GPU.

    Parameters
    ----------
    codec : mcz.codec.engine.Codec
        A loaded model of a learned family (factorized, hyperprior).
    precision : {"fp16", "fp32"}
    max_size : (int, int)
        Largest tile in pixels the engine accepts.
    max_batch : int
        Largest number of tiles synthesised at once.
    folder : Path, optional
        Engine cache (default :func:`cache_dir`).
    rebuild : bool
        Build even if a cached engine exists.

    Returns
    -------
    (Path, bool)
        The engine file and whether it was built now (False: found in the cache).
    """
    if not codec.family.onnx_export:
        raise UsageError(f"model {codec.spec.id!r} is of the {codec.spec.family} family, which has no synthesis "
                         "network to build an engine for; engines exist for the factorized and hyperprior families")
    size = cast(tuple[int, int], tuple(max_size))  # (rows, columns); tuple() is typed tuple[int, ...]
    profile = Profile(codec.model.m, size, max_batch)  # refuse a bad profile before any probing
    graphs.check_precision(precision)
    trt = device.require_tensorrt()
    graph = graphs.export_synthesis(codec.model.g_s, codec.model.m, precision)
    key = engine_key(trt.__version__, device.current_gpu(), graph, profile, precision)
    folder = folder or cache_dir()
    path = folder / key.file_name(codec.spec.id)
    if path.exists() and not rebuild:
        return path, False
    folder.mkdir(parents=True, exist_ok=True)
    timing_path = folder / key.timing_cache_name()
    timing = timing_path.read_bytes() if timing_path.exists() else b""
    engine, timing = build_serialized(trt, graph, profile, timing)
    atomic_write_bytes(path, engine, overwrite=True)
    atomic_write_bytes(timing_path, timing, overwrite=True)
    atomic_write_bytes(path.with_suffix(".json"), (json.dumps(asdict(key), indent=1) + "\n").encode(), overwrite=True)
    return path, True
