"""The learned-entropy families, ``factorized`` and ``hyperprior`` (CompressAI transforms and rANS).

``quality`` is a rate level, 1 .. the model's number of lambdas (gain units; level
``quality - 1`` inside the network).  Network: :mod:`mcz.codec.learned`; tile format:
:mod:`mcz.codec.learned_coding`; ONNX: :mod:`mcz.codec.onnx_backend`; training steps:
:mod:`mcz.codec.families.steps`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from mcz.codec.families.base import Coding, Family, ModelFamily, TileDecoder, TileEncoder
from mcz.codec.families.register import register_family

if TYPE_CHECKING:
    from mcz.codec.engine import Codec
    from mcz.codec.registry import ModelSpec

# The networks, the coder and training import torch, so they are imported in the methods.

#: Spatial reduction of the latent and of the hyper latent, as :data:`mcz.codec.learned.LATENT_STRIDE`
#: and ``HYPER_STRIDE`` (repeated here so that the registry never imports torch).
LATENT_STRIDE, HYPER_STRIDE = 16, 64
#: What one learned family can lend another: the transforms and the gain units.
SHARED_LEARNED = ("g_a.", "g_s.", "log_gain", "log_inverse_gain")


class LearnedFamily(ModelFamily):
    """Analysis/synthesis transforms with gain units, the latent coded by a learned entropy model."""

    quality_meaning = "rate level (gain units)"
    # cuda / tensorrt run only the synthesis on a GPU (mcz.codec.gpu); the hyper-synthesis stays on the CPU.
    backends = ("torch", "onnxruntime", "cuda", "tensorrt", "tensorrt-fp32")
    # The synthesis network would make plausible pixels of a corrupt latent: check the digest first.
    latents_first = True
    onnx_export = True
    #: Mean-scale hyperprior (True) or factorized prior.
    hyperprior: ClassVar[bool]

    def describe(self, config: dict) -> str:
        return f"g_a {config['analysis_widths']}, g_s {config['synthesis_widths']}, m {config['m']}"

    def build(self, config: dict) -> Any:
        # lazy: keeps torch (mcz.codec.learned) out of import mcz.codec.families.learned
        from mcz.codec.learned import LearnedCodec

        return LearnedCodec(**config, hyperprior=self.hyperprior)

    def finalise(self, model: Any) -> None:
        model.finalise()

    def quantiser_record(self, spec: ModelSpec, quality: int) -> dict[str, Any]:
        return {"method": "gain-units", "level": quality, "entropy_model": self.name, "backend": "rans"}

    def tile_encoder(self, coding: Coding) -> TileEncoder:
        # lazy: keeps torch (mcz.codec.learned_coding) out of import mcz.codec.families.learned
        from mcz.codec import learned_coding

        return learned_coding.tile_encoder(coding.codec.model, coding.quality - 1)

    def tile_decoder(self, coding: Coding) -> TileDecoder:
        # lazy: keeps torch (mcz.codec.learned_coding) out of import mcz.codec.families.learned
        from mcz.codec import learned_coding

        nets: learned_coding.Backend
        if coding.backend == "onnxruntime":
            # lazy: keeps torch (mcz.codec.onnx_backend) out of import mcz.codec.families.learned
            from mcz.codec.onnx_backend import onnx_backend

            nets = onnx_backend(coding.codec)
        elif coding.backend in ("cuda", "tensorrt", "tensorrt-fp32"):
            # lazy: the registry imports every family module; the GPU modules load for a GPU decode
            from mcz.codec.gpu import backends as gpu_backends

            nets = gpu_backends.gpu_backend(coding.codec, coding.backend)
        else:
            nets = learned_coding.TorchBackend(coding.codec.model)
        return learned_coding.LearnedDecoder(coding.codec.model, nets, coding.quality - 1)

    def export_onnx(self, codec: Codec, folder: Path) -> list[Path]:
        # lazy: keeps torch (mcz.codec.onnx_backend) out of import mcz.codec.families.learned
        from mcz.codec.onnx_backend import write_export

        return write_export(codec, folder)

    # -- training ----------------------------------------------------------------------------
    def training_step(self, system: Any, batch: Any) -> Any:
        from mcz.codec.families import steps  # torch: only when training

        return steps.rd_training_step(system, batch)

    def validation_step(self, system: Any, batch: Any) -> None:
        from mcz.codec.families import steps  # torch: only when training

        steps.rd_validation_step(system, batch)

    def transferable_from(self, other: Family) -> tuple[str, ...] | None:
        return SHARED_LEARNED if isinstance(other, LearnedFamily) and other.name != self.name else None


@register_family
class FactorizedFamily(LearnedFamily):
    """Factorized prior: one learned density per latent channel (CompressAI ``EntropyBottleneck``)."""

    name = "factorized"
    hyperprior = False

    def downsampling(self, config: dict) -> int:
        return LATENT_STRIDE


@register_family
class HyperpriorFamily(LearnedFamily):
    """Mean-scale hyperprior with a fixed-point hyper-synthesis."""

    name = "hyperprior"
    hyperprior = True

    def downsampling(self, config: dict) -> int:
        return HYPER_STRIDE  # /16 latent, then /4 hyper latent
