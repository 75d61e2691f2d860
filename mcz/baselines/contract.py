"""Standard codecs behind one contract, for side-by-side comparisons.

A :class:`Codec` codes one 2-D unsigned frame at its stored bit depth and
returns the *whole* codestream; rates are measured on those bytes.  Frames are
``uint8`` for up to 8 bits and ``uint16`` for 9-16 bits, with values in
``0 .. 2**bits - 1``; signed or offset data are shifted by the caller with
:func:`to_unsigned` and back with :func:`from_unsigned`.  Every lossy codec has
one numeric setting where a larger value means higher quality (its meaning is in
:attr:`Codec.settings`).  The registry :data:`STANDARD_CODECS` maps a stable name
to each codec; :func:`get_codec` looks one up.

The adapters live in :mod:`mcz.baselines.adapters` (imagecodecs),
:mod:`mcz.baselines.wavelet` and :mod:`mcz.baselines.interpolative`; nothing heavy is
imported until a codec runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from mcz.baselines import adapters as ad
from mcz.baselines.interpolative import interpolative
from mcz.baselines.wavelet import BROTLI_QUALITY, WAVELET, wavelet_decode, wavelet_encode
from mcz.errors import UnsupportedError, UsageError, require
from mcz.intensity import Intensity
from mcz.io import MedicalImage

Encoder = Callable[[np.ndarray, int, float], bytes]
Decoder = Callable[[bytes, int | None], np.ndarray]


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


_LOSSLESS = Settings(0.0, 0.0, 0.0, "none: lossless, the setting is ignored", integer=True)


@dataclass(frozen=True)
class Codec:
    """A standard codec behind the benchmark's one contract.

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
    threads: int = ad.THREADS
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
        return np.clip(out, 0, (1 << int(bits_stored)) - 1).astype(ad.container_dtype(bits_stored))

    def span(self, bits_stored: int) -> tuple[float, float]:
        """Valid setting range for ``bits_stored``-bit frames."""
        return self.settings.span(bits_stored)

    def check_frame(self, frame: np.ndarray, bits: int) -> np.ndarray:
        """The frame as the adapters take it (C-contiguous uint8 / uint16), or a typed error."""
        lo, hi = self.bits
        if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 16:
            raise UsageError(f"bits_stored={bits!r}; expected an integer 1..16")
        if not lo <= bits <= hi:
            raise UnsupportedError(
                f"{self.name} codes {lo}..{hi}-bit samples, found {bits}; choose another codec "
                f"({', '.join(n for n, c in STANDARD_CODECS.items() if c.bits[0] <= bits <= c.bits[1])})"
            )
        arr = np.asarray(frame)
        if arr.ndim != 2 or arr.dtype.kind != "u":
            raise UsageError(
                f"found a {arr.ndim}-D {arr.dtype} array; expected a 2-D unsigned frame "
                "(shift signed data with mcz.bench.codecs.to_unsigned)"
            )
        top = (1 << int(bits)) - 1
        if arr.size and int(arr.max()) > top:
            raise UsageError(
                f"found values up to {int(arr.max())} in a {bits}-bit frame (max {top}); "
                "pass the right bits_stored"
            )
        return np.ascontiguousarray(arr, dtype=ad.container_dtype(bits))

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
    return (arr.astype(np.int64) + offset).astype(ad.container_dtype(bits)), offset


def from_unsigned(frame: np.ndarray, offset: int, intensity: Intensity) -> np.ndarray:
    """Inverse of :func:`to_unsigned`: ``frame - offset`` in ``intensity.dtype``."""
    return (np.asarray(frame).astype(np.int64) - offset).astype(intensity.dtype)


def _imagecodecs(name: str) -> Callable[[], str]:
    return lambda: ad.library_version(name)


def _wavelet_version() -> str:
    pywt, brotli = require("pywt", "bench"), require("brotli", "bench")
    return f"PyWavelets {pywt.__version__}; brotli {brotli.__version__}"


def _interp_version(inner: str) -> Callable[[], str]:
    def version() -> str:
        skimage = require("skimage", "bench")
        return f"{ad.library_version(inner)}; scikit-image {skimage.__version__}"

    return version


_Q100 = Settings(1, 100, 75, "libjpeg quality 1-100", integer=True)
_PSNR = Settings(10.0, 120.0, 45.0, "OpenJPEG PSNR target in dB against 2**bits - 1")
_PRECISION = Settings(0.0, 16.0, 6.0, "precision p: quantisation step = 2**(bits - p) grey levels")
_JLS_NEAR = Settings(-255, 0, -2, "-NEAR: the maximum absolute error is -setting grey levels (0 = lossless)",
                     integer=True, limit=lambda bits: (-ad.jpegls_near_limit(bits), 0))
_JXL_Q = Settings(0.0, 99.9, 90.0, "libjxl quality 0-99.9 (90 = distance 1.0, 0 = distance 25)")
_AVIF_Q = Settings(0, 99, 60, "libavif quality 0-99 (100 would switch to lossless RGB)", integer=True)
_WEBP_Q = Settings(0, 100, 75, "libwebp quality 0-100", integer=True)


def _lossy(name: str, library: str, settings: Settings, encode: Encoder, decode: Decoder,
           version: Callable[[], str], **kw) -> Codec:
    return Codec(name, library, settings, False, encode, decode, version, **kw)


def _lossless(name: str, library: str, encode: Encoder, decode: Decoder, version: Callable[[], str],
              **kw) -> Codec:
    return Codec(name, library, _LOSSLESS, True, encode, decode, version, **kw)


def _jpeg_family() -> list[Codec]:
    lib, version = "libjpeg-turbo (imagecodecs.jpeg8)", _imagecodecs("jpeg8")
    return [
        _lossy("jpeg", lib, _Q100, ad.jpeg_encode, ad.jpeg_decode, version, bits=(1, 12),
               notes="8-bit, or 12-bit precision for 9-12 bits; optimised Huffman tables"),
        _lossless("jpeg-lossless", lib, ad.jpeg_lossless_encode, ad.jpeg_decode, version, bits=(2, 16),
                  notes=f"process 14, predictor {ad.JPEG_LOSSLESS_PREDICTOR} (DICOM SV1)"),
        _lossy("jpeg-interp", "scikit-image + libjpeg-turbo", _Q100,
               *interpolative(ad.jpeg_encode, ad.jpeg_decode), _interp_version("jpeg8"), bits=(1, 12),
               notes="downsize x2 (anti-aliased), JPEG, bicubic upsampling"),
    ]


def _j2k_family() -> list[Codec]:
    lib, version = "OpenJPEG (imagecodecs.jpeg2k)", _imagecodecs("jpeg2k")
    hlib, hversion = "OpenJPH (imagecodecs.htj2k)", _imagecodecs("htj2k")
    return [
        _lossy("j2k", lib, _PSNR, ad.j2k_encode, ad.j2k_decode, version,
               notes="irreversible 9/7, J2K codestream, up to 6 resolutions"),
        _lossless("j2k-lossless", lib, ad.j2k_lossless_encode, ad.j2k_decode, version,
                  notes="reversible 5/3, J2K codestream"),
        _lossy("j2k-interp", "scikit-image + OpenJPEG", _PSNR, *interpolative(ad.j2k_encode, ad.j2k_decode),
               _interp_version("jpeg2k"),
               notes="downsize x2 (anti-aliased), JPEG 2000 (PSNR target of the half-size frame), "
                     "bicubic upsampling"),
        _lossy("htj2k", hlib, _PRECISION, ad.htj2k_encode, ad.htj2k_decode, hversion,
               notes="irreversible, coded in uint16; 16-bit frames that would wrap are refused"),
        _lossless("htj2k-lossless", hlib, ad.htj2k_lossless_encode, ad.htj2k_decode, hversion,
                  notes="reversible"),
    ]


def _modern_family() -> list[Codec]:
    jls, jxl = "CharLS (imagecodecs.jpegls)", "libjxl (imagecodecs.jpegxl)"
    avif = "libavif + libaom (imagecodecs.avif)"
    container = "precision 8 or 16 (the container)"
    return [
        _lossy("jpegls", jls, _JLS_NEAR, ad.jpegls_encode, ad.jpegls_decode, _imagecodecs("jpegls"),
               bits=(2, 16), notes=f"near-lossless; {container}"),
        _lossless("jpegls-lossless", jls, ad.jpegls_lossless_encode, ad.jpegls_decode, _imagecodecs("jpegls"),
                  bits=(2, 16), notes=container),
        _lossy("jxl", jxl, _JXL_Q, ad.jxl_encode, ad.jxl_decode, _imagecodecs("jpegxl"),
               notes=f"VarDCT, effort {ad.JXL_EFFORT}"),
        _lossless("jxl-lossless", jxl, ad.jxl_lossless_encode, ad.jxl_decode, _imagecodecs("jpegxl"),
                  notes=f"modular lossless, effort {ad.JXL_EFFORT}"),
        _lossy("avif", avif, _AVIF_Q, ad.avif_encode, ad.avif_decode, _imagecodecs("avif"), bits=(1, 12),
               notes=f"libaom speed {ad.AVIF_SPEED}, YUV400, 8/10/12-bit"),
        _lossless("avif-lossless", avif, ad.avif_lossless_encode, ad.avif_decode, _imagecodecs("avif"),
                  bits=(1, 12), notes=f"libaom speed {ad.AVIF_SPEED}, 1 channel"),
        _lossy("webp", "libwebp (imagecodecs.webp)", _WEBP_Q, ad.webp_encode, ad.webp_decode,
               _imagecodecs("webp"), bits=(1, 8),
               notes=f"lossy VP8, method {ad.WEBP_METHOD}, grey as 3 equal channels"),
    ]


def _other() -> list[Codec]:
    return [
        _lossless("png", "libpng (imagecodecs.png)", ad.png_encode, ad.png_decode, _imagecodecs("png"),
                  notes=f"8 or 16-bit container, zlib level {ad.PNG_LEVEL}"),
        _lossy("wavelet", "PyWavelets + brotli (mcz.bench.wavelet)", _PRECISION, wavelet_encode,
               wavelet_decode, _wavelet_version,
               notes=f"{WAVELET} DWT, uniform quantiser, brotli quality {BROTLI_QUALITY}"),
    ]


def _registry() -> dict[str, Codec]:
    codecs = [*_jpeg_family(), *_j2k_family(), *_modern_family(), *_other()]
    return {c.name: c for c in codecs}


#: Every standard codec by name.
STANDARD_CODECS: dict[str, Codec] = _registry()


def get_codec(name: str) -> Codec:
    """The registered codec called ``name``.

    Raises
    ------
    UsageError
        Unknown name; the message lists the known ones.
    """
    try:
        return STANDARD_CODECS[name]
    except KeyError:
        raise UsageError(f"found codec name {name!r}; expected one of {', '.join(STANDARD_CODECS)}") from None


# --- kept for mcz.demo and older callers ------------------------------------------------

#: Older name of :class:`Codec`.
StandardCodec = Codec
#: OpenJPEG lossy JPEG 2000 (the DICOM reference), setting = PSNR target in dB.
JPEG2000 = STANDARD_CODECS["j2k"]


def match_size(codec: Codec, frame: np.ndarray, bits: int, target_bytes: int, iterations: int = 18) -> bytes:
    """The largest codestream not above ``target_bytes`` (bisection over the setting).

    Falls back to the smallest codestream the codec can make when even that is
    larger than the target. See :mod:`mcz.baselines.matching` for ratio, bpp and PSNR
    targets with a report of what was reached.
    """
    lo, hi = codec.span(bits)
    best = codec.encode(frame, bits, lo)
    if len(best) > target_bytes:
        return best
    for _ in range(iterations):
        mid = (lo + hi) / 2
        data = codec.encode(frame, bits, mid)
        if len(data) <= target_bytes:
            best, lo = data, mid
        else:
            hi = mid
    return best


def code_at_size(codec: Codec, image: MedicalImage, target_bytes: int) -> tuple[np.ndarray, int]:
    """Code every frame of ``image`` within an equal share of ``target_bytes``.

    Returns the decoded stored values (same shape and dtype as ``image.pixels``)
    and the total codestream bytes, which never exceed the budget unless even the
    codec's smallest codestream does.
    """
    bits = coding_bits(image.intensity)
    per_frame = target_bytes // image.frames
    frames, total = [], 0
    for frame in image.pixels:
        unsigned, offset = to_unsigned(frame, image.intensity)
        data = match_size(codec, unsigned, bits, per_frame)
        frames.append(from_unsigned(codec.decode(data, bits), offset, image.intensity))
        total += len(data)
    return np.stack(frames), total
