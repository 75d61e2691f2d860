"""The codec registry: stable string ids for every model mcz knows.

A *model id* names one architecture, its configuration and its quantiser (e.g.
``"cae-seed"``).  The id and the checkpoint's sha256 are written into every
``.mcz`` file; a file never stores an index into this table, so re-ordering or
adding models can never change how an old file decodes.

Built-in presets are defined here (:data:`BUILTIN`).  A :class:`Registry` holds the
specs one zoo knows (:class:`mcz.codec.zoo.Zoo`): the built-in ones and those its
manifests define (models trained by users).  Registering an id twice with a different
definition raises.  The module functions use the default zoo's registry, :data:`DEFAULT`.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from collections.abc import Iterable
from typing import Any

from mcz.codec.families import family_for, family_names
from mcz.errors import ModelError, UsageError

_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to build a model and code with it, except its weights.

    Parameters
    ----------
    id : str
        Stable model id, lower case, e.g. ``"cae-seed"``.
    family : str
        Model family, a registered name (:func:`mcz.codec.families.family_names`).
    config : dict
        Keyword arguments of the family's model class (JSON-serialisable).
    default_quality : int
        The ``quality`` used when none is given, in the family's meaning
        (:attr:`~mcz.codec.families.base.Family.quality_meaning`: latent bits for ``cae``,
        a rate level for the learned families, ...).  Manifests and :meth:`to_dict` call it
        ``quantiser_bits``, its name before the families had classes.
    quality_range : tuple of int
        Inclusive range of ``quality`` values the model accepts.
    rounding : str
        ``"floor"`` (the founding paper's Eq. 2) or ``"nearest"``.
    tile : int
        Tile edge in pixels; larger images are coded tile by tile.
    description : str
        One line for ``mcz models``.
    """

    id: str
    family: str
    config: dict[str, Any] = field(hash=False)
    default_quality: int = 8
    quality_range: tuple[int, int] = (1, 8)
    rounding: str = "nearest"
    tile: int = 512
    description: str = field(default="", compare=False)  # prose, not identity

    def __post_init__(self) -> None:
        if not _ID_PATTERN.match(self.id):
            raise UsageError(
                f"model id {self.id!r} is not valid; expected lower-case letters, digits, "
                "'.', '_' or '-', at most 64 characters"
            )
        if self.family not in family_names():
            raise UsageError(f"model {self.id!r} has family {self.family!r}; known: {family_names()}")
        lo, hi = self.quality_range
        if not lo <= self.default_quality <= hi:
            raise UsageError(f"model {self.id!r}: default quality {self.default_quality} outside {lo}..{hi}")
        if self.rounding not in ("floor", "nearest"):
            raise UsageError(f"model {self.id!r}: rounding {self.rounding!r} is not floor/nearest")

    @property
    def downsampling(self) -> int:
        """Spatial reduction of the deepest latent; images are padded to a multiple of it (its family's)."""
        return family_for(self).downsampling(self.config)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe description (used in manifests and ``mcz models --json``)."""
        return {
            "id": self.id,
            "family": self.family,
            "config": self.config,
            "quantiser_bits": self.default_quality,  # the manifest's name (format 1)
            "quality_range": list(self.quality_range),
            "rounding": self.rounding,
            "tile": self.tile,
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelSpec":
        """Inverse of :meth:`to_dict`; raises :class:`ModelError` on a malformed entry."""
        try:
            return cls(
                id=data["id"],
                family=data["family"],
                config=dict(data["config"]),
                default_quality=int(data.get("quantiser_bits", 8)),
                quality_range=tuple(data.get("quality_range", (1, 8))),  # type: ignore[arg-type]
                rounding=data.get("rounding", "nearest"),
                tile=int(data.get("tile", 512)),
                description=str(data.get("description", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(
                f"malformed model entry {data.get('id', '?')!r}: {exc}; expected the keys "
                "id, family, config (see checkpoints/manifest.json)"
            ) from exc


class Registry:
    """Model specs by id, where an id always means one model.

    A :class:`~mcz.codec.zoo.Zoo` holds one: the built-in models and those its manifests
    define.  The module functions (:func:`register`, :func:`get_spec`, ...) use the default
    zoo's, :data:`DEFAULT`.

    Parameters
    ----------
    specs : iterable of ModelSpec
        The models to start with (e.g. :data:`BUILTIN`).
    """

    def __init__(self, specs: Iterable[ModelSpec] = ()) -> None:
        self._specs: dict[str, ModelSpec] = {}
        for spec in specs:
            self.register(spec)

    def register(self, spec: ModelSpec) -> ModelSpec:
        """Add a model.

        Registering the identical spec again is a no-op; a different spec under an
        existing id raises :class:`ModelError`, because an id must always mean one model.
        """
        known = self._specs.get(spec.id)
        if known is not None and known != spec:
            raise ModelError(
                f"model id {spec.id!r} is already registered with a different definition; "
                "choose a new id for a changed architecture or configuration"
            )
        self._specs[spec.id] = spec
        return spec

    def unregister(self, model_id: str) -> None:
        """Forget a model (tests that register a temporary one); an unknown id is ignored."""
        self._specs.pop(model_id, None)

    def get(self, model_id: str) -> ModelSpec:
        """Look up a model, with a helpful error for unknown ids."""
        try:
            return self._specs[model_id]
        except KeyError:
            known = ", ".join(sorted(self._specs)) or "none"
            raise ModelError(
                f"unknown model id {model_id!r}; registered models: {known}. "
                "Run `mcz models` to list them"
            ) from None

    def ids(self) -> set[str]:
        """Ids of every registered model."""
        return set(self._specs)

    def specs(self) -> list[ModelSpec]:
        """All registered specs, sorted by id."""
        return [self._specs[key] for key in sorted(self._specs)]

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._specs

    def __repr__(self) -> str:
        return f"Registry({len(self._specs)} models)"


def register(spec: ModelSpec) -> ModelSpec:
    """Add a model to the default registry (:meth:`Registry.register`)."""
    return DEFAULT.register(spec)


def get_spec(model_id: str) -> ModelSpec:
    """Look up a model in the default registry, with a helpful error for unknown ids."""
    return DEFAULT.get(model_id)


def registered_ids() -> set[str]:
    """Ids of every model in the default registry."""
    return DEFAULT.ids()


def registered() -> list[ModelSpec]:
    """All specs of the default registry, sorted by id."""
    return DEFAULT.specs()


# The founding paper's codec (paper 002 in docs/references.md): five 3x3 conv + 2x2 max-pool
# stages, 32..512 filters, 8-bit min-max quantisation with floor (its Eq. 2).
_CAE_SEED = ModelSpec(
    id="cae-seed",
    family="cae",
    config={"channels": [32, 64, 128, 256, 512]},
    default_quality=8,
    rounding="floor",
    description="Founding paper's CAE + Brotli (512x512 -> 16x16x512 latent, 8-bit min-max)",
)

# A compact member of the same family for low rates: the paper's latent alone
# costs 512*8/1024 = 4 bpp before Brotli; 16 channels at /16 and 6 bits cost
# 16*6/256 = 0.375 bpp before Brotli.
_CAE_COMPACT = ModelSpec(
    id="cae-compact",
    family="cae",
    config={"channels": [32, 64, 96, 16], "decoder": [96, 64, 32, 1]},
    default_quality=6,
    rounding="nearest",
    description="Compact CAE + Brotli for low rates (/16, 16 latent channels, 6-bit)",
)

# The same compact architecture, trained on 12-bit CT/MR volumes (mcz.datasets.volumes).
_CAE_COMPACT_CTMR = dataclasses.replace(
    _CAE_COMPACT,
    id="cae-compact-ctmr",
    config=dict(_CAE_COMPACT.config),
    description="Compact CAE + Brotli for 12-16-bit CT/MR (trained on CT/MR volumes)",
)

# Learned entropy models (mcz.codec.learned): compact transforms for 2-core CPUs,
# one checkpoint per bit depth covering 8 rate levels through gain units.
# Lambdas double-ish per level (x2.2) from about 0.05 bpp to about 2 bpp on 8-bit MRI.
_LAMBDAS_8BIT = [round(0.0006 * 2.22**i, 6) for i in range(8)]
_LEARNED_CONFIG = {"analysis_widths": [32, 48, 64], "synthesis_widths": [64, 32, 24], "m": 64}
_HYPERPRIOR = ModelSpec(
    id="hyperprior-compact",
    family="hyperprior",
    config={**_LEARNED_CONFIG, "nh": 48, "lambdas": _LAMBDAS_8BIT, "peak": 255.0},
    default_quality=4,
    quality_range=(1, 8),
    description="Mean-scale hyperprior (CompressAI rANS, fixed-point hyper-synthesis), 8 rate levels, 8-bit",
)
_FACTORIZED = ModelSpec(
    id="factorized-compact",
    family="factorized",
    config={**_LEARNED_CONFIG, "lambdas": _LAMBDAS_8BIT, "peak": 255.0},
    default_quality=4,
    quality_range=(1, 8),
    description="Factorized prior (CompressAI EntropyBottleneck + rANS), 8 rate levels, 8-bit",
)
# 12-16-bit CT/MR: distortion in a 4095 data range; lambdas / 16 put the levels
# at about 35-55 dB, where 12-bit reading happens.
_HYPERPRIOR_CTMR = dataclasses.replace(
    _HYPERPRIOR,
    id="hyperprior-compact-ctmr",
    config={**_HYPERPRIOR.config, "lambdas": [round(v / 16, 8) for v in _LAMBDAS_8BIT], "peak": 4095.0},
    description="Mean-scale hyperprior for 12-16-bit CT/MR (trained on CT/MR volumes), 8 rate levels",
)

# The wavelet family (mcz.codec.wavelet): CDF 9/7 lifting + a context model fitted on
# 8-bit MRI and 12-bit CT/MR; one model for every bit depth.  Quality q sets the
# quantiser step to 2**(-q/4) of R = 2**bits_stored - 1 (about 1.5 dB per step,
# PSNR ~ 11 + 1.5 q dB at high rates); 24 is about 47 dB.
_WAVELET = ModelSpec(
    id="wavelet-ctx",
    family="wavelet",
    config={},
    default_quality=24,
    quality_range=(0, 80),
    tile=2048,
    description="CDF 9/7 wavelet + learned context model (rANS), any bit depth; quality = step 2^(-q/4) of R",
)

# Lossless and near-lossless (mcz.codec.nearlossless): quality is the guaranteed maximum
# error K in stored units (0 = lossless); no weights of its own (a wavelet-ctx base where it pays).
_NEARLOSSLESS = ModelSpec(
    id="nearlossless",
    family="nearlossless",
    config={},
    default_quality=0,
    quality_range=(0, 1000),
    tile=65535,
    description="Lossless (quality 0) / near-lossless: every pixel within quality stored units; JPEG-XL residual",
)

#: mcz's own models, in the order above; every :class:`Registry` of a new zoo starts with them.
BUILTIN: tuple[ModelSpec, ...] = (
    _CAE_SEED, _CAE_COMPACT, _CAE_COMPACT_CTMR, _HYPERPRIOR, _FACTORIZED, _HYPERPRIOR_CTMR, _WAVELET, _NEARLOSSLESS,
)

#: The default zoo's registry (:func:`mcz.codec.zoo.default_zoo`), behind the module functions.
DEFAULT = Registry(BUILTIN)
