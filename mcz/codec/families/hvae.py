"""The ``hvae`` family: a small hierarchical VAE codec with progressive decoding.

``quality`` is the number of latent groups coded (1: the /16 group ``z1`` only, a coarse
image; 2: plus ``z2`` at /8; 3: all three).  A decoder of a 3-group file can also stop
after the first groups (:func:`mcz.codec.progressive.decode_progressive`).  Network:
:mod:`mcz.codec.hvae`; tile format: :mod:`mcz.codec.hvae_coding`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcz.codec.families.base import Coding, ModelFamily, TileDecoder, TileEncoder
from mcz.codec.families.register import register_family

if TYPE_CHECKING:
    from mcz.codec.registry import ModelSpec

#: The coarsest latent group's stride (mirrors mcz.codec.hvae.STRIDES[0] without importing torch).
TOP_STRIDE = 16


@register_family
class HvaeFamily(ModelFamily):
    """Three latent groups (/16, /8, /4), each with a prior conditioned on the groups above it."""

    name = "hvae"
    quality_meaning = "latent groups coded (1 coarse .. 3 all)"
    # The output synthesis must not see a corrupt latent: the digest is checked first.
    latents_first = True

    def downsampling(self, config: dict) -> int:
        return TOP_STRIDE

    def describe(self, config: dict) -> str:
        return f"hierarchical VAE, widths {config.get('widths')}, latent groups {config.get('latents')}"

    def build(self, config: dict) -> Any:
        # lazy: keeps torch (mcz.codec.hvae) out of import mcz.codec.families.hvae
        from mcz.codec.hvae import HierarchicalVAE

        return HierarchicalVAE(**config)

    def finalise(self, model: Any) -> None:
        model.finalise()

    def quantiser_record(self, spec: ModelSpec, quality: int) -> dict[str, Any]:
        return {"method": "quantised-posterior", "groups": quality, "entropy_model": "hvae", "backend": "rans"}

    def tile_encoder(self, coding: Coding) -> TileEncoder:
        # lazy: keeps torch (mcz.codec.hvae_coding) out of import mcz.codec.families.hvae
        from mcz.codec import hvae_coding

        return hvae_coding.tile_encoder(coding.codec.model, coding.quality)

    def tile_decoder(self, coding: Coding) -> TileDecoder:
        # lazy: keeps torch (mcz.codec.hvae_coding) out of import mcz.codec.families.hvae
        from mcz.codec import hvae_coding

        # A progressive decode (mcz.codec.progressive) sets how many groups to use on its model copy.
        groups = getattr(coding.codec.model, "decode_groups", None)
        return hvae_coding.HvaeDecoder(coding.codec.model, coding.quality, groups)

    # -- training ----------------------------------------------------------------------------
    def training_step(self, system: Any, batch: Any) -> Any:
        out = system.model.rd_loss(batch)
        system.log("train_loss", out["loss"].detach(), prog_bar=True)
        system.log("train_bpp", out["bpp"], prog_bar=True)
        return out["loss"]

    def validation_step(self, system: Any, batch: Any) -> None:
        import torch  # lazy: keeps torch out of import mcz.codec.families.hvae

        out = system.model(batch)
        # lazy: keeps torch (mcz.codec.learned) out of import mcz.codec.families.hvae
        from mcz.codec.learned import bits_per_pixel

        mse = torch.mean((out["x_hat"].clamp(0, 1) - batch) ** 2)
        system.log("val_bpp", bits_per_pixel(out["likelihoods"], batch), batch_size=len(batch))
        system.log("val_psnr", -10 * torch.log10(mse.clamp_min(1e-12)), batch_size=len(batch))
