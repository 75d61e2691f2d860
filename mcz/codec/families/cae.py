"""The ``cae`` family: the founding paper's convolutional autoencoder, min-max quantiser and Brotli.

``quality`` is the number of latent quantisation bits.  Network: :mod:`mcz.codec.cae`;
tile format: :mod:`mcz.codec.cae_coding`; training steps: :mod:`mcz.codec.families.steps`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcz.codec.families.base import Coding, ModelFamily, TileDecoder, TileEncoder
from mcz.codec.families.register import register_family

if TYPE_CHECKING:
    from mcz.codec.registry import ModelSpec

# The network, its tile coding and training import torch, so they are imported in the methods.


@register_family
class CaeFamily(ModelFamily):
    """Convolutional autoencoder + min-max quantisation + Brotli."""

    name = "cae"
    quality_meaning = "latent quantisation bits"
    # Files written before the latent digest existed carry none; they still decode.
    requires_latent_digest = False

    def downsampling(self, config: dict) -> int:
        return 2 ** len(config["channels"])  # one 2x2 max-pool per encoder stage

    def describe(self, config: dict) -> str:
        return str(config.get("channels"))

    def build(self, config: dict) -> Any:
        # lazy: keeps torch (mcz.codec.cae) out of import mcz.codec.families.cae
        from mcz.codec.cae import CAE

        return CAE(**config)

    def quantiser_record(self, spec: ModelSpec, quality: int) -> dict[str, Any]:
        return {"method": "minmax", "bits": quality, "rounding": spec.rounding, "backend": "brotli"}

    def tile_encoder(self, coding: Coding) -> TileEncoder:
        # lazy: keeps brotli, torch (mcz.codec.cae_coding) out of import mcz.codec.families.cae
        from mcz.codec import cae_coding

        return cae_coding.tile_encoder(coding.codec.model, coding.quality, coding.codec.spec.rounding)

    def tile_decoder(self, coding: Coding) -> TileDecoder:
        # lazy: keeps brotli, torch (mcz.codec.cae_coding) out of import mcz.codec.families.cae
        from mcz.codec import cae_coding

        latent = (coding.codec.spec.config["channels"][-1], self.downsampling(coding.codec.spec.config))
        return cae_coding.CaeDecoder(coding.codec.model, latent, coding.quality)

    # -- training ----------------------------------------------------------------------------
    def training_step(self, system: Any, batch: Any) -> Any:
        from mcz.codec.families import steps  # torch: only when training

        return steps.cae_training_step(system, batch)

    def validation_step(self, system: Any, batch: Any) -> None:
        from mcz.codec.families import steps  # torch: only when training

        steps.cae_validation_step(system, batch)

    def rate_regulariser(self, spec: ModelSpec) -> Any:
        from mcz.codec.families import steps  # torch: only when training

        return steps.symbol_density(spec.config["channels"][-1])

