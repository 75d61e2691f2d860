"""The learned parameters of a wavelet model, in the torch-free form the coder uses.

A wavelet model is a CDF 9/7 transform plus a learned context model: for every
detail band class (orientation x level) and checkerboard pass, non-negative
weights that map integer neighbourhood sums of already-decoded symbols to a
Laplace scale, a noise-floor bias, and learned reconstruction offsets per
scale.  The checkpoint stores them as named arrays (:data:`BUFFERS`), with the
integer tables the entropy coder needs: a decoder never recomputes them.

:class:`WaveletWeights` holds a checkpoint's arrays and gives the coder its
:class:`Tables`, with NumPy alone, so coding with a wavelet model never imports
torch.  The form that is fitted, a ``torch.nn.Module`` of the same buffers,
is :class:`mcz.codec.wavelet.module.WaveletModel` (also importable from here).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mcz.codec.wavelet import predict, tables
from mcz.errors import ModelError

#: Orientations (HL, LH, HH) x levels 1, 2, 3, 4+.
ORIENTATIONS = 3
LEVEL_CLASSES = 4
CLASSES = ORIENTATIONS * LEVEL_CLASSES
#: Context features: parent, parent ring, siblings, sibling ring, then the decoded vertical,
#: horizontal and diagonal neighbours in the band itself.
FEATURES = ("parent", "parent_ring", "sibling", "sibling_ring", "vertical", "horizontal", "diagonal")
#: Passes over a detail band: (even, even) positions, then (odd, odd), then the rest.
PASSES = 3
#: Classes of the wavelet-packet children (:mod:`mcz.codec.wavelet.packet`): per orientation of the
#: split band, its ll, hl, lh and hh child.  Checkpoints without them code the children with the
#: finest level's classes.
CHILDREN = 4
PACKET_CLASSES = ORIENTATIONS * CHILDREN
#: Groups of arrays a checkpoint may add, each all or none (older checkpoints do not have them):
#: the wavelet-packet children's classes, and the inter-scale predictor (:mod:`.predict`).
OPTIONAL_GROUPS: dict[str, tuple[str, ...]] = {"packet": ("packet_weights", "packet_bias"),
                                              "predictor": predict.ARRAYS}
OPTIONAL_BUFFERS: dict[str, Any] = {name: np.float64 for group in OPTIONAL_GROUPS.values() for name in group}
#: A checkpoint's arrays and the dtype each has in the model.  ``cdfs`` and ``bits`` keep the
#: dtype and width stored (a fit on another machine may build tables an entry wider).
BUFFERS: dict[str, Any] = {
    "scales": np.float64, "thresholds": np.int64, "cdfs": None, "cdf_lengths": np.int32,
    "offsets": np.int32, "bits": None, "weights": np.float64, "bias": np.float64,
    "ll_weight": np.float64, "recon_offsets": np.float64, "kappa": np.float64,
}


def band_class(level: int, orientation: int) -> int:
    """Class index of a detail band (level 1 = finest; orientation 0 HL, 1 LH, 2 HH)."""
    return orientation * LEVEL_CLASSES + min(level, LEVEL_CLASSES) - 1


def packet_class(t: Tables, orientation: int, child: int) -> int:
    """Class index of a wavelet-packet child (``child`` 0 ll, 1 hl, 2 lh, 3 hh of the split band)."""
    if t.packet_classes:
        return CLASSES + CHILDREN * orientation + child
    return band_class(1, orientation)


def initial_weights() -> np.ndarray:
    """Hand-set starting point (a scale of about half the neighbours' mean magnitude)."""
    w = np.zeros((CLASSES, PASSES, len(FEATURES)))
    w[:, :, 0] = 0.35  # parent
    w[:, :, 1] = 0.03
    w[:, :, 2] = 0.2  # siblings
    w[:, :, 3] = 0.02
    w[:, 1, 6] = 0.15  # diagonal neighbours (second pass)
    w[:, 2, 4:6] = 0.15  # vertical and horizontal neighbours (third pass)
    return w


def _shapes(scales: int) -> dict[str, tuple[int | None, ...]]:
    """The shape of each array for ``scales`` table entries (None: a table width, the checkpoint's)."""
    return {"scales": (scales,), "thresholds": (scales - 1,), "cdfs": (scales, None),
            "cdf_lengths": (scales,), "offsets": (scales,), "bits": (scales, None),
            "weights": (CLASSES, PASSES, len(FEATURES)), "bias": (CLASSES, PASSES), "ll_weight": (1,),
            "recon_offsets": (scales, 2), "kappa": (1,),
            "packet_weights": (PACKET_CLASSES, PASSES, len(FEATURES)), "packet_bias": (PACKET_CLASSES, PASSES),
            **_predictor_shapes(None, None)}


def _predictor_shapes(levels: int | None, channels: int | None) -> dict[str, tuple[int | None, ...]]:
    """Shapes of the predictor's arrays for ``levels`` predicted levels of ``channels`` channels."""
    k1, k2, k3 = predict.KERNELS

    def columns(k: int) -> int | None:  # a layer's inputs: its input channels times its kernel's taps
        return None if channels is None else channels * k * k

    return {"predict_w1": (levels, channels, k1 * k1), "predict_b1": (levels, channels),
            "predict_w2": (levels, channels, columns(k2)), "predict_b2": (levels, channels),
            "predict_w3": (levels, 3, columns(k3)), "predict_b3": (levels, 3)}


def _fits(shape: tuple[int, ...], expected: tuple[int | None, ...]) -> bool:
    return len(shape) == len(expected) and all(e is None or e == n for n, e in zip(shape, expected))


class WaveletWeights:
    """A wavelet model's arrays, as coding uses them (no torch).

    Parameters
    ----------
    arrays : mapping of str to array
        Every name of :data:`BUFFERS`, already in the model's dtypes.
    max_levels : int
        Deepest decomposition used for large images (the model's configuration).
    """

    def __init__(self, arrays: Mapping[str, np.ndarray], max_levels: int = 6) -> None:
        self.arrays = dict(arrays)
        self.max_levels = max_levels

    @classmethod
    def from_state(cls, state: Mapping[str, Any], config: Mapping[str, Any], model_id: str) -> WaveletWeights:
        """A checkpoint's arrays (NumPy or torch) in the dtypes the model holds them in.

        The same numbers :class:`~mcz.codec.wavelet.module.WaveletModel` holds after
        ``load_state_dict(state)``: the values of ``state`` cast to each buffer's dtype.

        Raises
        ------
        ModelError
            Missing or unexpected arrays, or arrays of the wrong shape for ``config``.
        """
        names, expected = set(state), set(BUFFERS)
        optional = names & set(OPTIONAL_BUFFERS)
        partial = [g for g, group in OPTIONAL_GROUPS.items() if optional & set(group) not in (set(), set(group))]
        if names - optional != expected or partial:
            raise ModelError(
                f"weights for {model_id!r} do not fit the wavelet model: missing {sorted(expected - names)}, "
                f"unexpected {sorted(names - expected - set(OPTIONAL_BUFFERS))}, optional arrays "
                f"{sorted(optional)} (expected all or none of each group {OPTIONAL_GROUPS})"
            )
        shapes = _shapes(int(config.get("scales", 56)))
        if "predict_w1" in optional:
            w1 = np.shape(state["predict_w1"])
            levels, channels = (w1[0], w1[1]) if len(w1) == 3 else (-1, -1)
            if not 1 <= levels <= int(config.get("max_levels", 6)) or channels < 1:
                raise ModelError(f"weights for {model_id!r}: predict_w1 has shape {w1}, expected "
                                 f"(levels 1..max_levels, channels, {predict.KERNELS[0] ** 2})")
            shapes.update(_predictor_shapes(levels, channels))
        arrays = {}
        for name, dtype in {**BUFFERS, **{k: OPTIONAL_BUFFERS[k] for k in sorted(optional)}}.items():
            array = np.asarray(state[name])
            if not _fits(array.shape, shapes[name]):
                raise ModelError(f"weights for {model_id!r}: {name} has shape {array.shape}, "
                                 f"expected {shapes[name]}")
            arrays[name] = array.astype(dtype or array.dtype)
        return cls(arrays, int(config.get("max_levels", 6)))

    def state_dict(self) -> dict[str, np.ndarray]:
        """The arrays by name (copies are the caller's to make)."""
        return dict(self.arrays)

    def tables(self) -> Tables:
        """The coder's tables."""
        return Tables(self.arrays, self.max_levels)


class Tables:
    """What the coder reads, derived from a model's arrays (built once per codec, shared by tiles)."""

    def __init__(self, arrays: Mapping[str, np.ndarray], max_levels: int) -> None:
        self.max_levels = max_levels
        self.thresholds = arrays["thresholds"]
        self.top = int(self.thresholds[-1])
        self.cdfs = arrays["cdfs"].tolist()
        self.cdf_lengths = arrays["cdf_lengths"].tolist()
        self.offsets = arrays["offsets"].astype(np.int64)
        self.bits = arrays["bits"]
        # Packet-child classes follow the band classes (CLASSES + ...), where the checkpoint has them.
        self.packet_classes = "packet_weights" in arrays
        weights, bias = arrays["weights"], arrays["bias"]
        if self.packet_classes:
            weights = np.concatenate([weights, arrays["packet_weights"]])
            bias = np.concatenate([bias, arrays["packet_bias"]])
        self.weights_fp = np.rint(weights * 2**tables.FRAC_BITS).astype(np.int64)
        self.bias = bias
        self.ll_weight_fp = int(np.rint(float(arrays["ll_weight"][0]) * 2**tables.FRAC_BITS))
        self.recon_offsets = arrays["recon_offsets"]
        self.kappa = float(arrays["kappa"][0])
        self.count = len(self.thresholds) + 1
        self.predictor = predict.Predictor(arrays) if "predict_w1" in arrays else None

    def using(self, index: np.ndarray) -> tuple[list, list, list, list]:
        """Arguments for CompressAI's coder calls with only the tables ``index`` uses.

        Returns the indexes renumbered into the subset, then its CDFs, lengths and offsets. The
        coder converts every table it is given on every call (about 4 ms for all 56, some of
        them 1,000 entries wide), so a call that names only its own tables keeps the per-pass
        and per-frequency calls cheap; the symbols are coded with the same tables either way,
        so the bytes do not change.
        """
        index = np.asarray(index, np.int64).ravel()
        present = np.bincount(index, minlength=len(self.cdfs)) > 0  # linear, unlike np.unique's sort
        used = np.flatnonzero(present)
        local = (np.cumsum(present) - 1)[index]
        return (local.tolist(), [self.cdfs[i] for i in used], [self.cdf_lengths[i] for i in used],
                self.offsets[used].tolist())


def __getattr__(name: str) -> Any:
    # WaveletModel is a torch module: imported on first use, so that coding never loads torch.
    if name == "WaveletModel":
        # lazy: keeps torch out of import mcz.codec.wavelet.model (wavelet.module imports this one)
        from mcz.codec.wavelet.module import WaveletModel

        return WaveletModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
