"""The contract every codec of a comparison is put behind.

A :class:`BaselineCodec` codes one 2-D unsigned frame at its stored bit depth and
returns the *whole* codestream; rates are measured on those bytes.  Frames are
``uint8`` for up to 8 bits and ``uint16`` for 9-16 bits (:func:`container_dtype`),
with values in ``0 .. 2**bits - 1``; signed or offset data are shifted by the
caller with :func:`to_unsigned` and back with :func:`from_unsigned`.  Every lossy
codec has one numeric setting where a larger value means higher quality (its
meaning is in :attr:`BaselineCodec.settings`).

The standard codecs behind it are in :mod:`mcz.baselines.standard`, mcz itself
in :mod:`mcz.baselines.mcz_codec`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from mcz.errors import UnsupportedError, UsageError
from mcz.intensity import Intensity

#: ``encode(frame, bits, setting) -> codestream`` of a frame already checked by :class:`BaselineCodec`.
Encoder = Callable[[np.ndarray, int, float], bytes]
#: ``decode(codestream, bits or None) -> array``; :class:`BaselineCodec` rounds, clips and casts it.
Decoder = Callable[[bytes, int | None], np.ndarray]

#: Threads every adapter asks for: speed figures are single-threaded (docs/references.md).
THREADS = 1


def container_dtype(bits: int) -> np.dtype:
    """The unsigned container of a ``bits``-bit sample: uint8 up to 8 bits, else uint16."""
    return np.dtype(np.uint8) if bits <= 8 else np.dtype(np.uint16)


@dataclass(frozen=True)
class Settings:
    """The one numeric setting of a codec; larger = higher quality.

    Attributes
    ----------
    low, high : float
        Widest range (``low < high``; both 0 for lossless codecs).
    default : float
        A typical value.
    meaning : str
        What the number is, in the library's terms.
    integer : bool
        Only whole numbers are distinct settings (they are rounded).
    limit : callable, optional
        ``limit(bits) -> (low, high)`` where the valid range depends on the bit depth.
    """

    low: float
    high: float
    default: float
    meaning: str
    integer: bool = False
    limit: Callable[[int], tuple[float, float]] | None = field(default=None, repr=False, compare=False)

    def span(self, bits: int) -> tuple[float, float]:
        """Valid ``(low, high)`` for ``bits``-bit frames."""
        return self.limit(bits) if self.limit else (self.low, self.high)


@dataclass(frozen=True)
class BaselineCodec:
    """A codec behind the comparison's one contract: a standard codec, or mcz itself.

    Not :class:`mcz.codec.engine.Codec` (a loaded mcz model): an mcz model enters a
    comparison wrapped in one of these (:func:`mcz.baselines.mcz_codec.mcz_codec`).

    Attributes
    ----------
    name : str
        Registry name (``"j2k"``, ``"avif"``, ...).
    library : str
        The library that does the work, and how it is called.
    settings : Settings
        Meaning and range of the setting.
    lossless : bool
        Whether every setting reproduces the frame bit-exactly.
    bits : (int, int)
        Smallest and largest stored bit depth it codes.
    threads : int
        Threads it is told to use.
    notes : str
        Fixed parameters (speed, effort, ...) to state beside its numbers.
    sweep : callable, optional
        ``sweep(bits) -> settings``: the codec's own default sweep for ``bits``-bit frames, where
        the generic rules of :mod:`mcz.bench.sweeps` do not fit it.
    """

    name: str
    library: str
    settings: Settings
    lossless: bool
    encoder: Encoder = field(repr=False)
    decoder: Decoder = field(repr=False)
    version_of: Callable[[], str] = field(repr=False)
    bits: tuple[int, int] = (1, 16)
    threads: int = THREADS
    notes: str = ""
    sweep: Callable[[int], list[float]] | None = field(default=None, repr=False, compare=False)

    @property
    def version(self) -> str:
        """Versions of the library behind it (and of its binding)."""
        return self.version_of()

    @property
    def setting_range(self) -> tuple[float, float]:
        """``(low, high)`` of the setting (bit-depth independent part)."""
        return self.settings.low, self.settings.high

    def encode(self, frame: np.ndarray, bits_stored: int, setting: float | None = None) -> bytes:
        """Code one frame.

        Parameters
        ----------
        frame : numpy.ndarray
            2-D unsigned integers in ``0 .. 2**bits_stored - 1`` (any unsigned dtype
            that holds them; it is cast to uint8 / uint16).
        bits_stored : int
            Stored bit depth, 1..16 (never inferred from the dtype).
        setting : float, optional
            Quality setting (see :attr:`settings`); default :attr:`Settings.default`.

        Returns
        -------
        bytes
            The whole codestream.

        Raises
        ------
        UsageError
            A frame that is not 2-D unsigned, values above the bit depth, or a
            setting outside the range.
        UnsupportedError
            A bit depth this codec cannot code.
        """
        frame = self.check_frame(frame, bits_stored)
        return self.encoder(frame, bits_stored, self.resolve_setting(setting, bits_stored))

    def decode(self, data: bytes, bits_stored: int | None = None) -> np.ndarray:
        """Decode a codestream made by :meth:`encode`.

        Parameters
        ----------
        data : bytes
            The codestream.
        bits_stored : int, optional
            The bit depth it was coded with. When given, the result is rounded,
            clipped to ``0 .. 2**bits_stored - 1`` (lossy decoders overshoot) and
            cast to uint8 / uint16; without it, the library's array is returned.

        Returns
        -------
        numpy.ndarray
            2-D frame.
        """
        out = np.asarray(self.decoder(bytes(data), bits_stored))
        return out if bits_stored is None else self.finish(out, bits_stored)

    @staticmethod
    def finish(decoded: np.ndarray, bits_stored: int) -> np.ndarray:
        """Round, clip to ``0 .. 2**bits_stored - 1`` and cast a decoder's array to uint8 / uint16."""
        out = np.asarray(decoded)
        if out.dtype.kind == "f":
            out = np.rint(out)
        return np.clip(out, 0, (1 << int(bits_stored)) - 1).astype(container_dtype(bits_stored))

    def span(self, bits_stored: int) -> tuple[float, float]:
        """Valid setting range for ``bits_stored``-bit frames."""
        return self.settings.span(bits_stored)

    def check_frame(self, frame: np.ndarray, bits: int) -> np.ndarray:
        """The frame as the adapters take it (C-contiguous uint8 / uint16), or a typed error."""
        lo, hi = self.bits
        if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 16:
            raise UsageError(f"bits_stored={bits!r}; expected an integer 1..16")
        if not lo <= bits <= hi:
            from mcz.baselines.standard import STANDARD_CODECS  # built from this module

            raise UnsupportedError(
                f"{self.name} codes {lo}..{hi}-bit samples, found {bits}; choose another codec "
                f"({', '.join(n for n, c in STANDARD_CODECS.items() if c.bits[0] <= bits <= c.bits[1])})"
            )
        arr = np.asarray(frame)
        if arr.ndim != 2 or arr.dtype.kind != "u":
            raise UsageError(
                f"found a {arr.ndim}-D {arr.dtype} array; expected a 2-D unsigned frame "
                "(shift signed data with mcz.baselines.contract.to_unsigned)"
            )
        top = (1 << int(bits)) - 1
        if arr.size and int(arr.max()) > top:
            raise UsageError(
                f"found values up to {int(arr.max())} in a {bits}-bit frame (max {top}); "
                "pass the right bits_stored"
            )
        return np.ascontiguousarray(arr, dtype=container_dtype(bits))

    def resolve_setting(self, setting: float | None, bits: int) -> float:
        """The setting actually used: the default for None, rounded if integer, range-checked."""
        s = self.settings
        value = s.default if setting is None else float(setting)
        if s.integer:
            value = float(round(value))
        low, high = s.span(bits)
        if not low <= value <= high:
            raise UsageError(f"{self.name} setting {value:g}; expected {low:g}..{high:g} ({s.meaning})")
        return value


def coding_bits(intensity: Intensity) -> int:
    """Bits a standard codec needs for this image: those of ``high - low``.

    For images whose intensity spans the whole bit domain this is
    ``bits_stored``; a narrower declared range (e.g. CT ``-1024..3071`` in int16)
    needs fewer.

    Raises
    ------
    UnsupportedError
        Float images, or ranges wider than 16 bits.
    """
    if intensity.is_float:
        raise UnsupportedError(
            f"found a {intensity.dtype} image; standard codecs code integers. Quantise it first"
        )
    bits = max(1, int(intensity.high - intensity.low).bit_length())
    if bits > 16:
        raise UnsupportedError(f"found a {bits}-bit value range; standard codecs code at most 16 bits")
    return bits


def to_unsigned(frame: np.ndarray, intensity: Intensity) -> tuple[np.ndarray, int]:
    """Shift stored values to ``0 .. high - low`` in uint8 / uint16.

    Parameters
    ----------
    frame : numpy.ndarray
        Stored values inside ``[intensity.low, intensity.high]``.
    intensity : Intensity
        The image's value domain.

    Returns
    -------
    (numpy.ndarray, int)
        The unsigned frame and ``offset`` such that ``stored = unsigned - offset``.
        Code it with ``bits_stored = coding_bits(intensity)``.
    """
    bits = coding_bits(intensity)
    arr = np.asarray(frame)
    if arr.size and (arr.min() < intensity.low or arr.max() > intensity.high):
        raise UsageError(
            f"found values {arr.min()}..{arr.max()}, expected {intensity.low:g}..{intensity.high:g} "
            "(the image's intensity)"
        )
    offset = -int(intensity.low)
    return (arr.astype(np.int64) + offset).astype(container_dtype(bits)), offset


def from_unsigned(frame: np.ndarray, offset: int, intensity: Intensity) -> np.ndarray:
    """Inverse of :func:`to_unsigned`: ``frame - offset`` in ``intensity.dtype``."""
    return (np.asarray(frame).astype(np.int64) - offset).astype(intensity.dtype)
