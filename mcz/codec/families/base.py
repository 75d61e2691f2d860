"""What a model family is: the interface the engine, training and tools code against.

A *family* is one way of coding an image: its network (or transform), what ``quality``
means, the tile format it writes, how it trains and what it exports.  Each family is
one class in its own module of :mod:`mcz.codec.families`, registered by name with
:func:`~mcz.codec.families.register.register_family`; a :class:`~mcz.codec.registry.ModelSpec`
names its family, and :func:`~mcz.codec.families.register.family_for` returns it.

Two kinds:

* :class:`ModelFamily` - a model with weights whose files the engine codes tile by tile
  (:mod:`mcz.codec.engine`): the family builds the model and gives the engine a
  :data:`TileEncoder` and a :class:`TileDecoder` per file;
* a :class:`StandaloneFamily` - its own file format and coder, no weights of its own
  (``nearlossless``): the engine hands it the whole container to decode.

Importing a family module must not import torch (``mcz info`` and the wavelet family
run without it): networks and training code are imported inside the methods that use them.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from mcz.codec import pixelcheck
from mcz.codec.threads import torch_threads
from mcz.errors import ModelError, UsageError

if TYPE_CHECKING:
    from mcz.codec.engine import Codec
    from mcz.codec.latents import LatentDigest
    from mcz.codec.registry import ModelSpec
    from mcz.codec.tiling import TileBox
    from mcz.codec.zoo import CheckpointEntry
    from mcz.container import Container, Tile
    from mcz.intensity import Intensity


@dataclass(frozen=True)
class Coding:
    """What every tile of one file is coded with.

    Parameters
    ----------
    codec : Codec
        The loaded model.
    quality : int
        The family's quality (see :attr:`Family.quality_meaning`), inside the model's range.
    bits_stored : int
        Stored bit depth of the image.
    window : Intensity
        The coding window: the stored values that map to [0, 1].
    backend : str
        Where a decoder runs the model's networks (:data:`mcz.codec.engine.BACKENDS`).
    """

    codec: Codec
    quality: int
    bits_stored: int
    window: Intensity
    backend: str = "torch"


#: Codes one tile in [0, 1] (padded size): ``(tile, frame, index, latents) -> (chunk, reconstruction)``.
#: It adds the tile's integer symbols to ``latents``; the reconstruction is what a decoder will produce.
TileEncoder = Callable[[np.ndarray, int, int, "LatentDigest"], tuple["Tile", np.ndarray]]


class TileDecoder(ABC):
    """Decodes one file's tiles in two steps, so that the engine can check the latent digest in between.

    :meth:`symbols` is the entropy decoding (integer symbols, added to the digest);
    :meth:`reconstruct` turns them into pixels.  A family with
    :attr:`ModelFamily.latents_first` has every tile's symbols decoded and the digest
    checked before its first :meth:`reconstruct`; a decoder with ``batch_size > 1``
    (a GPU backend) is then given up to that many tiles of one size at a time
    (:meth:`reconstruct_batch`).
    """

    #: Tiles :meth:`reconstruct_batch` takes at once (1: the engine calls :meth:`reconstruct`).
    batch_size: int = 1

    @abstractmethod
    def symbols(self, chunk: Tile, box: TileBox, latents: LatentDigest) -> Any:
        """Entropy-decode one tile's chunk; add its symbols to ``latents``."""

    @abstractmethod
    def reconstruct(self, symbols: Any, box: TileBox) -> np.ndarray:
        """The tile (padded size) in about [0, 1] from what :meth:`symbols` returned."""

    def reconstruct_batch(self, items: list[tuple[Any, TileBox]]) -> list[np.ndarray]:
        """Several tiles of one padded size (``(symbols, box)`` pairs), in order; one by one by default."""
        return [self.reconstruct(symbols, box) for symbols, box in items]


class Family(ABC):
    """A model family (see the module docstring)."""

    #: Registered name: the ``family`` of a :class:`~mcz.codec.registry.ModelSpec`.
    name: ClassVar[str]
    #: What ``quality`` means for this family's models (larger = better), for messages and benchmark settings.
    quality_meaning: ClassVar[str]
    #: The qualities a benchmark sweeps for ``bits``-bit frames, ``sweep(bits)``; None: the generic
    #: rules of :mod:`mcz.bench.sweeps`. Set on the class, as a staticmethod (not a ClassVar: type
    #: checkers take a callable ClassVar for a method and would bind ``self`` to ``bits``).
    sweep: Callable[[int], list[float]] | None = None
    #: :meth:`export_onnx` is implemented (listed by :func:`~mcz.codec.families.register.onnx_families`).
    onnx_export: ClassVar[bool] = False
    #: How ``mcz train`` trains the family's models: ``"none"``, ``"gradient"`` (Lightning, with
    #: :meth:`ModelFamily.training_step`) or ``"fit"`` (the family's own fitting; the trainer that
    #: runs each kind is :data:`mcz.training.run.TRAINERS`, above the codec).
    training: ClassVar[str] = "none"

    @abstractmethod
    def downsampling(self, config: dict) -> int:
        """Spatial reduction of the deepest latent; tiles are padded to a multiple of it (1: none).

        Never imports torch: the registry (and ``mcz info``) asks for it.
        """

    def describe(self, config: dict) -> str:
        """The architecture in a few words, for benchmark notes."""
        return self.name

    def quality_note(self, quality: int) -> str | None:
        """What ``mcz info`` adds about a file's quality (a guarantee), or None."""
        return None

    def export_onnx(self, codec: Codec, folder: Path) -> list[Path]:
        """Write ONNX graphs of the model's decoder networks into ``folder``; the paths written.

        Only families with :attr:`ModelFamily.onnx_export` implement it.
        """
        raise UsageError(f"the {self.name} family has no networks to export to ONNX")


class StandaloneFamily(Family):
    """A family that encodes and decodes its files itself (no engine tiles, no weights of its own)."""

    @abstractmethod
    def decode_container(self, container: Container, *, verify: bool, progress: Callable[[int], None] | None,
                         frames: Sequence[int] | None) -> np.ndarray:
        """Decode a whole file (see :func:`mcz.codec.engine.decode_container`)."""


class ModelFamily(Family):
    """A family of models with weights, coded tile by tile by :mod:`mcz.codec.engine`."""

    #: Decoder backends the family's networks run on (the first is the default).
    backends: ClassVar[tuple[str, ...]] = ("torch",)
    #: Every tile is entropy-decoded and the latent digest checked before any reconstruction,
    #: because a synthesis network would turn a corrupt latent into plausible pixels.
    latents_first: ClassVar[bool] = False
    #: Every file of the family records a latent digest (False where old files may lack one).
    requires_latent_digest: ClassVar[bool] = True
    training: ClassVar[str] = "gradient"
    #: The reconstruction is bit-identical on every machine, thread count and backend (the
    #: exact pixel-check policy); False for float32 networks (the bounded policy).
    exact: ClassVar[bool] = False

    # -- the model -------------------------------------------------------------------------
    @abstractmethod
    def build(self, config: dict) -> Any:
        """A new model of this family with ``config`` (untrained)."""

    def read_weights(self, entry: CheckpointEntry) -> dict[str, Any]:
        """Verify and read a checkpoint's weights (torch tensors)."""
        # lazy: import cycle codec.zoo -> codec.families -> codec.families.base
        from mcz.codec import zoo

        return zoo.load_state_dict(entry)

    def load(self, spec: ModelSpec, state: dict[str, Any]) -> Any:
        """The model of ``spec`` holding ``state``, ready to code (eval mode)."""
        model = self.build(spec.config)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ModelError(
                f"weights for {spec.id!r} do not fit its architecture {spec.config}: {exc}"
            ) from exc
        return model.eval()

    def finalise(self, model: Any) -> None:
        """Freeze what decoders depend on before export (entropy tables, fixed-point layers)."""

    # -- coding ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def session(self, threads: int | None) -> Iterator[None]:
        """The runtime one encode or decode runs in: ``threads`` torch threads, no autograd."""
        import torch  # here: only families with networks load torch

        with torch_threads(threads), torch.inference_mode():
            yield

    @abstractmethod
    def quantiser_record(self, spec: ModelSpec, quality: int) -> dict[str, Any]:
        """The header's ``quantiser`` entry of a file coded at ``quality``."""

    def pixel_check(self, recon: np.ndarray, window: Intensity) -> dict[str, Any]:
        """``extra`` entries of the pixel-check policy: none for the exact one (what a reader assumes)."""
        if self.exact:
            return {}

        return {"pixel_check": pixelcheck.record(recon, window, exact=False)}

    @abstractmethod
    def tile_encoder(self, coding: Coding) -> TileEncoder:
        """The function that codes each tile of one file."""

    @abstractmethod
    def tile_decoder(self, coding: Coding) -> TileDecoder:
        """The decoder of one file's tiles (``coding.backend`` is one of :attr:`backends`)."""

    # -- training (mcz.training.system.CodecSystem calls these) ----------------------------
    def training_step(self, system: Any, batch: Any) -> Any:
        """One optimisation step's loss on ``batch`` (logging through ``system.log``)."""
        raise UsageError(f"the {self.name} family is not trained by gradient descent")

    def validation_step(self, system: Any, batch: Any) -> None:
        """Log validation metrics of ``batch``."""

    def rate_regulariser(self, spec: ModelSpec) -> Any:
        """The density that ``--rate-weight`` trains the latent symbols under."""
        raise UsageError(f"--rate-weight does not apply to {spec.id!r}: it is {spec.family} "
                         "and has its own rate term")

    def transferable_from(self, other: Family) -> tuple[str, ...] | None:
        """Weight-name prefixes a model of ``other`` (another family) may lend as a start (``--init``).

        None: it lends nothing.
        """
        return None
