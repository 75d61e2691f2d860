"""The lossless / near-lossless table of ``mcz bench --max-error K,...``.

For every frame and every bound K it codes the frame with

* ``mcz`` — :mod:`mcz.codec.nearlossless` (whole ``.mcz`` file, header included);
* ``jpegls`` — JPEG-LS NEAR = K (CharLS), the standard near-lossless codec;
* ``quant+jxl`` — the frame minus its minimum, quantised with step 2K+1, then JPEG-XL
  lossless (as mcz codes it), as a bare codestream: mcz's coder without a base or header;
* at K = 0 also ``j2k-lossless`` (reversible 5/3), ``jxl-lossless`` (effort 7, the benchmark's
  JPEG-XL setting) and ``jxl-lossless-e9`` (effort 9, which mcz's residual coder also tries).

and records the bytes, bpp, the measured maximum error (which must be at most K) and the
encode/decode speed (one run each, megapixels per second).  Results go to
``OUT/nearlossless.csv`` and the summary ``OUT/nearlossless.md``.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar, cast

import numpy as np

from mcz.baselines.contract import coding_bits, from_unsigned, to_unsigned
from mcz.baselines.standard import get_codec
from mcz.bench.sets import BenchImage, load_frames
from mcz.codec import nearlossless
from mcz.codec.engine import decode_bytes
from mcz.intensity import Intensity
from mcz.io import MedicalImage

#: Bounds of the default table.
DEFAULT_KS = (0, 1, 2, 4, 8)
CSV_NAME, SUMMARY_NAME = "nearlossless.csv", "nearlossless.md"
#: Codecs coded at K = 0 only.
LOSSLESS_ONLY = ("j2k-lossless", "jxl-lossless")


@dataclass(frozen=True)
class Row:
    """One coded (image, frame, codec, K) cell."""

    set: str
    image: str
    frame: int
    bits: int
    rows: int
    columns: int
    codec: str
    k: int
    bytes: int
    bpp: float
    max_error: int
    encode_s: float
    decode_s: float


Coder = Callable[[np.ndarray, Intensity, int], tuple[bytes, Callable[[bytes], np.ndarray]]]


_T = TypeVar("_T")


def _timed(fn: Callable[[], _T]) -> tuple[_T, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _mcz(frame: np.ndarray, intensity: Intensity, k: int) -> tuple[bytes, Callable[[bytes], np.ndarray]]:
    image = MedicalImage(frame[None], intensity, "array", frame.shape, "frames-first")
    return nearlossless.encode_image(image, k), lambda data: decode_bytes(data)[0]


def _standard(name: str, setting: float | None) -> Coder:
    codec = get_codec(name)

    def code(frame: np.ndarray, intensity: Intensity, k: int) -> tuple[bytes, Callable[[bytes], np.ndarray]]:
        bits = coding_bits(intensity)
        unsigned, offset = to_unsigned(frame, intensity)
        data = codec.encode(unsigned, bits, setting)
        return data, lambda d: from_unsigned(codec.decode(d, bits), offset, intensity)

    return code


def _quant_jxl(frame: np.ndarray, intensity: Intensity, k: int) -> tuple[bytes, Callable[[bytes], np.ndarray]]:
    import imagecodecs  # lazy: keeps imagecodecs out of import mcz.bench.nearlossless

    x = frame.astype(np.int64)
    low, high = int(x.min()), int(x.max())
    data = nearlossless.jxl_lossless(nearlossless.quantise(x - low, k))
    return data, lambda d: np.clip(low + (2 * k + 1) * imagecodecs.jpegxl_decode(d).astype(np.int64), low, high)


def _jxl_e9(frame: np.ndarray, intensity: Intensity, k: int) -> tuple[bytes, Callable[[bytes], np.ndarray]]:
    import imagecodecs  # lazy: keeps imagecodecs out of import mcz.bench.nearlossless

    x = frame.astype(np.int64)
    low = int(x.min())
    bits = max(9, int(x.max() - low).bit_length())
    # Without ``out``, imagecodecs returns bytes; its stub says bytes | bytearray.
    data = cast(bytes, imagecodecs.jpegxl_encode((x - low).astype(np.uint16), lossless=True, effort=9,
                                                 bitspersample=bits))
    return data, lambda d: low + imagecodecs.jpegxl_decode(d).astype(np.int64)


def coders(k: int) -> dict[str, Coder]:
    """The codecs of the table at bound ``k``."""
    table: dict[str, Coder] = {"mcz": _mcz, "jpegls": _standard("jpegls", -float(k)), "quant+jxl": _quant_jxl}
    if k == 0:
        table.update({name: _standard(name, None) for name in LOSSLESS_ONLY})
        # mcz's residual coder keeps the smaller of JPEG-XL efforts 7 and 9: show effort 9 itself too.
        table["jxl-lossless-e9"] = _jxl_e9
    return table


def _cell(image: BenchImage, index: int, frame: np.ndarray, intensity: Intensity, name: str, coder: Coder,
          k: int) -> Row:
    (data, decode), enc = _timed(lambda: coder(frame, intensity, k))
    decoded, dec = _timed(lambda: decode(data))
    error = int(np.abs(np.asarray(decoded).astype(np.int64) - frame.astype(np.int64)).max())
    return Row(image.set, image.id, index, intensity.bits_stored, frame.shape[0], frame.shape[1], name, k,
               len(data), 8 * len(data) / frame.size, error, enc, dec)


def run(images: Sequence[BenchImage], out: Path, ks: Sequence[int] = DEFAULT_KS, max_frames: int | None = None,
        crop: int | None = None, log: Callable[[str], None] | None = None) -> list[Row]:
    """Code every frame at every bound; write ``nearlossless.csv`` and ``nearlossless.md`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    _mcz(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64), Intensity("uint16", 12, False, 0, 4095), 1)
    rows: list[Row] = []  # the call above loaded the base model: its load is not in the first cell's time
    for image in images:
        frames = load_frames(image, max_frames, crop)
        for index, frame in zip(frames.indices, frames.pixels):
            for k in ks:
                for name, coder in coders(k).items():
                    rows.append(_cell(image, index, frame, frames.intensity, name, coder, k))
            if log:
                log(f"{image.id} frame {index}: done")
    _write_csv(out / CSV_NAME, rows)
    (out / SUMMARY_NAME).write_text(summary(rows))
    return rows


def _write_csv(path: Path, rows: list[Row]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(Row.__dataclass_fields__))
        writer.writeheader()
        writer.writerows(asdict(r) for r in rows)


def _group(rows: list[Row]) -> dict[tuple[str, int, str], list[Row]]:
    groups: dict[tuple[str, int, str], list[Row]] = {}
    for r in rows:
        groups.setdefault((r.set, r.k, r.codec), []).append(r)
    return groups


def _bpp(rows: list[Row]) -> float:
    """Pixel-weighted bpp: all bits over all pixels."""
    return 8 * sum(r.bytes for r in rows) / sum(r.rows * r.columns for r in rows)


def _mps(rows: list[Row], field: str) -> float:
    return sum(r.rows * r.columns for r in rows) / 1e6 / max(1e-9, sum(getattr(r, field) for r in rows))


def summary(rows: list[Row]) -> str:
    """Markdown: per set and K, bpp of each codec, its change vs JPEG-LS NEAR=K, max error, speed."""
    groups = _group(rows)
    lines = ["# Lossless and near-lossless: bpp at a guaranteed maximum error K", "",
             "bpp = all coded bits / all pixels of the set (whole .mcz file for mcz, bare codestreams for the "
             "others); vs JPEG-LS = bpp change against JPEG-LS NEAR=K on the same frames; max err = the largest "
             "measured |x - x̂| over the set (must be <= K); MP/s = one encode / decode, 1 thread.", ""]
    for set_name in sorted({r.set for r in rows}):
        members = [r for r in rows if r.set == set_name]
        frames = len({(r.image, r.frame) for r in members})
        images = len({r.image for r in members})
        bits = sorted({r.bits for r in members})
        lines += [f"## {set_name}: {frames} frames of {images} images, {'/'.join(map(str, bits))}-bit", "",
                  "| K | codec | bpp | vs JPEG-LS | max err | enc MP/s | dec MP/s |",
                  "|---|---|---|---|---|---|---|"]
        for k in sorted({r.k for r in members}):
            reference = groups.get((set_name, k, "jpegls"))
            for (s, kk, codec), cell in sorted(groups.items()):
                if s != set_name or kk != k:
                    continue
                change = f"{100 * (_bpp(cell) / _bpp(reference) - 1):+.1f} %" if reference else "-"
                lines.append(f"| {k} | {codec} | {_bpp(cell):.3f} | {change} | {max(r.max_error for r in cell)} | "
                             f"{_mps(cell, 'encode_s'):.2f} | {_mps(cell, 'decode_s'):.2f} |")
        lines.append("")
    return "\n".join(lines)
