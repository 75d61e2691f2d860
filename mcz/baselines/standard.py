"""The standard codecs: JPEG, JPEG 2000, HTJ2K, JPEG-LS, JPEG XL, AVIF, WebP, PNG and the wavelet baseline.

Each is a :class:`~mcz.baselines.contract.BaselineCodec` (the contract: one 2-D unsigned
frame at its stored bit depth in, the whole codestream out; one numeric setting,
larger = higher quality).  The registry :data:`STANDARD_CODECS` maps a stable
name to each codec; :func:`get_codec` looks one up.

The adapters live in :mod:`mcz.baselines.adapters` (imagecodecs),
:mod:`mcz.baselines.wavelet` and :mod:`mcz.baselines.interpolative`; nothing heavy is
imported until a codec runs.
"""

from __future__ import annotations

from collections.abc import Callable

from mcz.baselines import adapters as ad
from mcz.baselines.contract import BaselineCodec, Decoder, Encoder, Settings
from mcz.baselines.interpolative import interpolative
from mcz.baselines.wavelet import BROTLI_QUALITY, WAVELET, wavelet_decode, wavelet_encode
from mcz.errors import UsageError, require

_LOSSLESS = Settings(0.0, 0.0, 0.0, "none: lossless, the setting is ignored", integer=True)


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
           version: Callable[[], str], **kw) -> BaselineCodec:
    return BaselineCodec(name, library, settings, False, encode, decode, version, **kw)


def _lossless(name: str, library: str, encode: Encoder, decode: Decoder, version: Callable[[], str],
              **kw) -> BaselineCodec:
    return BaselineCodec(name, library, _LOSSLESS, True, encode, decode, version, **kw)


def _jpeg_family() -> list[BaselineCodec]:
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


def _j2k_family() -> list[BaselineCodec]:
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


def _modern_family() -> list[BaselineCodec]:
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


def _other() -> list[BaselineCodec]:
    return [
        _lossless("png", "libpng (imagecodecs.png)", ad.png_encode, ad.png_decode, _imagecodecs("png"),
                  notes=f"8 or 16-bit container, zlib level {ad.PNG_LEVEL}"),
        _lossy("wavelet", "PyWavelets + brotli (mcz.baselines.wavelet)", _PRECISION, wavelet_encode,
               wavelet_decode, _wavelet_version,
               notes=f"{WAVELET} DWT, uniform quantiser, brotli quality {BROTLI_QUALITY}"),
    ]


def _registry() -> dict[str, BaselineCodec]:
    codecs = [*_jpeg_family(), *_j2k_family(), *_modern_family(), *_other()]
    return {c.name: c for c in codecs}


#: Every standard codec by name.
STANDARD_CODECS: dict[str, BaselineCodec] = _registry()


def get_codec(name: str) -> BaselineCodec:
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

#: OpenJPEG lossy JPEG 2000 (the DICOM reference), setting = PSNR target in dB.
JPEG2000 = STANDARD_CODECS["j2k"]
