"""The value domain of stored pixels and its exact mapping to and from [0, 1].

Codecs work on floats in [0, 1]; images store integers (or floats) in a domain
that the dtype alone does not tell: a 12-bit CT in ``uint16`` spans 0..4095, not
0..65535.  :class:`Intensity` records that domain explicitly (it is also the ``R``
of every PSNR mcz reports), :func:`intensity_for` derives it from the data and the
caller's declarations, and :func:`to_unit` / :func:`from_unit` map pixels to
[0, 1] and back so that integer pixels survive the round trip exactly.

The modality rescale (DICOM *Rescale Slope/Intercept*, NIfTI ``scl_slope``) is
carried as metadata only: coded data are always the stored values.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mcz.errors import BitDepthError, FormatError, UnsupportedError, UsageError

#: dtypes mcz can code.
SUPPORTED_DTYPES = ("uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64")

#: Bit depths tried, smallest first, when an integer image does not declare one.
STANDARD_BITS = (8, 10, 12, 14, 15, 16, 24, 32)

#: Photometric interpretations of a greyscale image (DICOM terms).
PHOTOMETRICS = ("MONOCHROME2", "MONOCHROME1")

# float32 holds every integer up to 2**24 exactly, so a unit value in float32 maps
# back to the right integer for domains up to 24 bits; wider ones need float64.
_FLOAT32_EXACT_BITS = 24


@dataclass(frozen=True)
class Intensity:
    """Value domain of a stored image and its mapping to [0, 1].

    Attributes
    ----------
    dtype : str
        NumPy dtype name of the stored array (one of :data:`SUPPORTED_DTYPES`).
    bits_stored : int
        Integers: bits of the value domain (1..32). Floats: 32 or 64, the dtype's
        width (not used for the range).
    signed : bool
        Integers: two's-complement domain. Always true for floats.
    low, high : float
        Stored values that map to 0.0 and 1.0 (``high > low``).
    slope, intercept : float
        Modality rescale, ``real = slope * stored + intercept``; metadata only.
    photometric : str
        ``"MONOCHROME2"`` or ``"MONOCHROME1"``; never applied to the data.
    """

    dtype: str
    bits_stored: int
    signed: bool
    low: float
    high: float
    slope: float = 1.0
    intercept: float = 0.0
    photometric: str = "MONOCHROME2"

    def __post_init__(self) -> None:
        problem = _problem(self)
        if problem:
            raise UsageError(f"invalid intensity: {problem}")

    @property
    def is_float(self) -> bool:
        """Whether the stored values are floating point."""
        return self.dtype.startswith("float")

    @property
    def data_range(self) -> float:
        """``high - low``: the explicit peak value ``R`` for PSNR."""
        return float(self.high) - float(self.low)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (strings, numbers, booleans only).

        Returns
        -------
        dict
            Integer images give integer ``low``/``high`` so they stay exact in JSON.
        """
        d = asdict(self)
        cast = float if self.is_float else int
        d["low"], d["high"] = cast(self.low), cast(self.high)
        d["slope"], d["intercept"] = float(self.slope), float(self.intercept)
        d["bits_stored"], d["signed"] = int(self.bits_stored), bool(self.signed)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Intensity:
        """Rebuild an :class:`Intensity` from :meth:`to_dict` output.

        Parameters
        ----------
        d : dict
            Mapping with ``dtype``, ``bits_stored``, ``signed``, ``low``, ``high``
            and optionally ``slope``, ``intercept``, ``photometric``. Unknown keys
            are ignored so that newer writers can add fields.

        Returns
        -------
        Intensity

        Raises
        ------
        FormatError
            A key is missing, has the wrong type, or the values are inconsistent.
        """
        if not isinstance(d, dict):
            raise FormatError(f"intensity: found a {type(d).__name__}, expected a JSON object")
        fields = {"slope": 1.0, "intercept": 0.0, "photometric": "MONOCHROME2", **d}
        for key, kinds in _FIELD_TYPES.items():
            if key not in fields:
                raise FormatError(f"intensity: field {key!r} is missing; the file's header is damaged")
            value = fields[key]
            # bool is an int subclass; a JSON true must not pass as a bit depth or a bound.
            if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
                raise FormatError(
                    f"intensity: field {key!r} is {value!r} ({type(value).__name__}), expected "
                    f"{' or '.join(k.__name__ for k in kinds)}; the file's header is damaged"
                )
        try:
            return cls(**{key: fields[key] for key in _FIELD_TYPES})
        except UsageError as exc:
            raise FormatError(f"intensity: {exc}; the file's header is damaged") from exc


_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "dtype": (str,),
    "bits_stored": (int,),
    "signed": (bool,),
    "low": (int, float),
    "high": (int, float),
    "slope": (int, float),
    "intercept": (int, float),
    "photometric": (str,),
}


def _problem(it: Intensity) -> str | None:
    """What is wrong with ``it`` (None if nothing): shared by the constructor and from_dict."""
    if it.dtype not in SUPPORTED_DTYPES:
        return f"dtype {it.dtype!r}, expected one of {', '.join(SUPPORTED_DTYPES)}"
    if it.photometric not in PHOTOMETRICS:
        return f"photometric {it.photometric!r}, expected MONOCHROME2 or MONOCHROME1"
    numbers = {"low": it.low, "high": it.high, "slope": it.slope, "intercept": it.intercept}
    for name, value in numbers.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float, np.number))
            or not math.isfinite(value)
        ):
            return f"{name} = {value!r}, expected a finite number"
    if not it.high > it.low:
        return f"low {it.low} .. high {it.high}, expected high > low"
    width = np.dtype(it.dtype).itemsize * 8
    if it.dtype.startswith("float"):
        if it.bits_stored != width or it.signed is not True:
            return (
                f"bits_stored {it.bits_stored}, signed {it.signed} for {it.dtype}; expected {width} and True"
            )
        return None
    return _int_problem(it, width)


def _int_problem(it: Intensity, width: int) -> str | None:
    kind = np.dtype(it.dtype).kind
    if it.signed and kind == "u":
        return f"signed=True with unsigned dtype {it.dtype}; expected signed=False"
    capacity = width - (1 if kind == "i" and not it.signed else 0)
    if isinstance(it.bits_stored, bool) or not 1 <= it.bits_stored <= capacity:
        return f"bits_stored {it.bits_stored!r} for {it.dtype}, expected 1..{capacity}"
    lo, hi = bit_domain(it.bits_stored, it.signed)
    if not (float(it.low).is_integer() and float(it.high).is_integer()):
        return f"low {it.low} / high {it.high} for integer dtype {it.dtype}, expected whole numbers"
    if it.low < lo or it.high > hi:
        return f"low {it.low} .. high {it.high} outside the {_domain_name(it.bits_stored, it.signed)} domain {lo}..{hi}"
    return None


def bit_domain(bits: int, signed: bool) -> tuple[int, int]:
    """Smallest and largest value of a ``bits``-bit integer.

    Parameters
    ----------
    bits : int
        Number of bits (>= 1).
    signed : bool
        Two's complement if true.

    Returns
    -------
    tuple of int
        ``(0, 2**bits - 1)`` or ``(-2**(bits-1), 2**(bits-1) - 1)``.
    """
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def _domain_name(bits: int, signed: bool) -> str:
    return f"{bits}-bit {'signed' if signed else 'unsigned'}"


def _dtype_name(dtype: np.dtype) -> str:
    """The supported dtype name of ``dtype`` (byte order ignored), else UnsupportedError."""
    name = dtype.newbyteorder("=").name if dtype.kind in "uif" else dtype.name
    if name not in SUPPORTED_DTYPES:
        raise UnsupportedError(
            f"found pixel dtype {dtype}; expected one of {', '.join(SUPPORTED_DTYPES)}. "
            "Convert the array first (e.g. bool -> uint8, int64 -> int32 when the values fit)"
        )
    return name


def intensity_for(
    array: np.ndarray,
    *,
    bits_stored: int | None = None,
    signed: bool | None = None,
    slope: float = 1.0,
    intercept: float = 0.0,
    photometric: str = "MONOCHROME2",
    value_range: tuple[float, float] | None = None,
) -> Intensity:
    """Derive the :class:`Intensity` of an array from its values and declarations.

    Parameters
    ----------
    array : numpy.ndarray
        Stored pixel values; integer or float dtype of :data:`SUPPORTED_DTYPES`.
    bits_stored : int, optional
        Integers: bits of the value domain. Default: the smallest of
        :data:`STANDARD_BITS` that holds the data (and ``value_range``). Never
        taken from the dtype alone. Floats: must be the dtype's width if given.
    signed : bool, optional
        Integers: default ``True`` for signed dtypes. Floats: must be true if given.
    slope, intercept : float
        Modality rescale, kept as metadata.
    photometric : str
        ``"MONOCHROME2"`` (default) or ``"MONOCHROME1"``.
    value_range : (float, float), optional
        Stored values that map to 0 and 1 (e.g. ``(-1024, 3071)``). Default: the
        whole bit domain for integers, the data's min/max for floats. For
        integers it must be whole numbers inside the bit domain.

    Returns
    -------
    Intensity

    Raises
    ------
    BitDepthError
        Values outside the declared domain or range, a bit depth the dtype cannot
        hold, or NaN/infinite floats.
    UnsupportedError
        An empty array or a dtype other than :data:`SUPPORTED_DTYPES`.
    UsageError
        An invalid ``value_range``, ``photometric`` or float declaration.
    """
    arr = np.asarray(array)
    name = _dtype_name(arr.dtype)
    if arr.size == 0:
        raise UnsupportedError(f"found an empty image (shape {arr.shape}); expected at least one pixel")
    if value_range is not None:
        value_range = _check_range(value_range)
    meta = {"slope": float(slope), "intercept": float(intercept), "photometric": photometric}
    if arr.dtype.kind == "f":
        return _float_intensity(arr, name, bits_stored, signed, value_range, meta)
    return _int_intensity(arr, name, bits_stored, signed, value_range, meta)


def _check_range(value_range: Any) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"value_range {value_range!r}: expected two numbers (low, high)") from exc
    if not (math.isfinite(low) and math.isfinite(high) and high > low):
        raise UsageError(f"value_range {value_range!r}: expected finite numbers with high > low")
    return low, high


def _make(meta: dict[str, Any], **fields: Any) -> Intensity:
    try:
        return Intensity(**fields, **meta)
    except UsageError as exc:
        # Only the caller's metadata (photometric, slope) can be wrong at this point.
        raise UsageError(f"{exc}; check the arguments") from exc


def _float_intensity(arr, name, bits_stored, signed, value_range, meta) -> Intensity:
    width = arr.dtype.itemsize * 8
    if bits_stored not in (None, width) or signed not in (None, True):
        raise UsageError(
            f"bits_stored={bits_stored}, signed={signed} given for a {name} image; "
            f"expected none (or {width} and True): floats carry their range in value_range"
        )
    finite = np.isfinite(arr)
    if not finite.all():
        n_nan = int(np.isnan(arr).sum())
        n_inf = int(arr.size - finite.sum()) - n_nan
        raise BitDepthError(
            f"found {n_nan} NaN and {n_inf} infinite values in a {name} image; expected finite values. "
            "Replace them first (e.g. numpy.nan_to_num)"
        )
    dmin, dmax = float(arr.min()), float(arr.max())
    low, high = value_range if value_range is not None else (dmin, dmax)
    if value_range is not None and (dmin < low or dmax > high):
        raise BitDepthError(
            f"found values {dmin:g}..{dmax:g}, expected them inside value_range {low:g}..{high:g}"
        )
    if high == low:
        # A constant image still needs a non-empty range; +1 unless that is lost to rounding.
        high = low + max(1.0, abs(low) * 1e-6)
    return _make(meta, dtype=name, bits_stored=width, signed=True, low=low, high=high)


def _int_intensity(arr, name, bits_stored, signed, value_range, meta) -> Intensity:
    kind = arr.dtype.kind
    signed = kind == "i" if signed is None else bool(signed)
    if signed and kind == "u":
        raise BitDepthError(
            f"signed=True for an unsigned {name} array; expected signed=False or a signed dtype"
        )
    dmin, dmax = int(arr.min()), int(arr.max())
    need: tuple[float, float] = (
        (dmin, dmax) if value_range is None else (min(dmin, value_range[0]), max(dmax, value_range[1]))
    )
    bits = _smallest_bits(*need, signed) if bits_stored is None else int(bits_stored)
    capacity = arr.dtype.itemsize * 8 - (1 if kind == "i" and not signed else 0)
    if not 1 <= bits <= capacity:
        raise BitDepthError(
            f"found bits_stored={bits} for a {name} array; expected 1..{capacity} "
            f"for {'signed' if signed else 'unsigned'} values in {name}. Pass the right bits_stored / signed"
        )
    lo, hi = bit_domain(bits, signed)
    if dmin < lo or dmax > hi:
        raise BitDepthError(
            f"found values {dmin}..{dmax}, expected {lo}..{hi} for {_domain_name(bits, signed)}; "
            "pass the right bits_stored / signed"
        )
    if value_range is None:
        return _make(meta, dtype=name, bits_stored=bits, signed=signed, low=lo, high=hi)
    return _int_with_range(meta, name, bits, signed, (dmin, dmax), value_range)


def _int_with_range(meta, name, bits, signed, data, value_range) -> Intensity:
    low, high = value_range
    lo, hi = bit_domain(bits, signed)
    if not (low.is_integer() and high.is_integer() and lo <= low and high <= hi):
        raise UsageError(
            f"value_range {low:g}..{high:g} for {_domain_name(bits, signed)} data; "
            f"expected whole numbers inside {lo}..{hi}"
        )
    if data[0] < low or data[1] > high:
        raise BitDepthError(
            f"found values {data[0]}..{data[1]}, expected them inside value_range {low:g}..{high:g}"
        )
    return _make(meta, dtype=name, bits_stored=bits, signed=signed, low=int(low), high=int(high))


def _smallest_bits(dmin: float, dmax: float, signed: bool) -> int:
    for bits in STANDARD_BITS:
        lo, hi = bit_domain(bits, signed)
        if lo <= dmin and dmax <= hi:
            return bits
    hint = "pass signed=True" if dmin < 0 and not signed else "pass the right bits_stored / signed"
    raise BitDepthError(
        f"found values {dmin:g}..{dmax:g}, expected them to fit a "
        f"{'signed' if signed else 'unsigned'} domain of at most 32 bits; {hint}"
    )


def _unit_dtype(intensity: Intensity) -> type:
    wide = not intensity.is_float and intensity.bits_stored > _FLOAT32_EXACT_BITS
    return np.float64 if wide else np.float32


def to_unit(array: np.ndarray, intensity: Intensity) -> np.ndarray:
    """Map stored values to [0, 1]: ``(v - low) / (high - low)``.

    Parameters
    ----------
    array : numpy.ndarray
        Stored values inside ``[intensity.low, intensity.high]``.
    intensity : Intensity
        The image's value domain.

    Returns
    -------
    numpy.ndarray
        float32, computed in float64 (exact enough that :func:`from_unit` gives
        back every integer of a domain up to 24 bits); float64 for integer
        domains wider than 24 bits, which float32 cannot resolve.

    Raises
    ------
    BitDepthError
        Values outside ``[low, high]`` (they would not map back).
    """
    v = np.asarray(array)
    if v.size and (v.min() < intensity.low or v.max() > intensity.high):
        raise BitDepthError(
            f"found values {v.min()}..{v.max()}, expected {intensity.low:g}..{intensity.high:g} "
            "(the image's intensity range); build the intensity from this data with intensity_for"
        )
    unit = v.astype(np.float64)
    unit -= float(intensity.low)
    unit /= intensity.data_range
    return unit.astype(_unit_dtype(intensity), copy=False)


def from_unit(unit: np.ndarray, intensity: Intensity) -> np.ndarray:
    """Map [0, 1] values back to stored values of ``intensity.dtype``.

    Parameters
    ----------
    unit : numpy.ndarray
        Values nominally in [0, 1]; values outside are clipped to the range.
    intensity : Intensity
        The image's value domain.

    Returns
    -------
    numpy.ndarray
        ``low + u * (high - low)`` computed in float64; integers rounded half to
        even; clipped to ``[low, high]``; cast to ``intensity.dtype``.

    Raises
    ------
    UsageError
        NaN or infinite unit values (a decoder fault; they have no pixel value).
    """
    u = np.asarray(unit, dtype=np.float64)
    if not np.isfinite(u).all():
        bad = int(u.size - np.isfinite(u).sum())
        raise UsageError(f"found {bad} NaN/infinite values in unit data; expected finite values in [0, 1]")
    v = u * intensity.data_range
    v += float(intensity.low)
    if not intensity.is_float:
        np.rint(v, out=v)  # round half to even
    np.clip(v, intensity.low, intensity.high, out=v)
    return v.astype(intensity.dtype)
