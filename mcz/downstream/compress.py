"""Decoded sets: every image coded at each target compression ratio, matched per image, cached.

A *cell* is (codec, target ratio, image list).  Each image's 8-bit frame is
coded by :func:`mcz.baselines.matching.match_ratio` (bisection of the codec's one
setting until the whole file gives the target ratio against the 8-bit raw size,
``rows * cols * 1`` bytes); where a codec cannot reach the target, its nearest
end is kept and ``reached`` is false.  The decoded frames, achieved ratios, file
sizes, settings and PSNRs (R = 255) go to one ``.npz`` per cell under the cache
folder, written atomically every ``flush`` images, so an interrupted run resumes
where it stopped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mcz import metrics
from mcz.baselines.contract import BaselineCodec
from mcz.baselines.matching import match_ratio
from mcz.baselines.resolve import resolve_codecs
from mcz.fsutil import atomic_path
from mcz.io import from_array

FIELDS = ("achieved", "nbytes", "setting", "psnr", "reached")


@dataclass
class Decoded:
    """One cell: decoded frames and per-image rate numbers, in the order of ``names``."""

    codec: str
    target: float
    names: list[str]
    frames: np.ndarray
    achieved: np.ndarray
    nbytes: np.ndarray
    setting: np.ndarray
    psnr: np.ndarray
    reached: np.ndarray

    def summary(self) -> dict:
        """Mean/min/max achieved ratio, mean bpp and PSNR, share of images that reached the target."""
        finite = self.psnr[np.isfinite(self.psnr)]
        return {
            "target_ratio": self.target,
            "achieved_ratio_mean": float(self.achieved.mean()),
            "achieved_ratio_min": float(self.achieved.min()),
            "achieved_ratio_max": float(self.achieved.max()),
            "bpp_mean": float(np.mean(8.0 * self.nbytes / self.frames[0].size)),
            "psnr_mean_db": float(finite.mean()) if finite.size else float("inf"),
            "reached_share": float(self.reached.mean()),
            "images": len(self.names),
        }


def resolve(name: str) -> BaselineCodec:
    """A codec by bench name (``jpeg``, ``j2k``, ``mcz:cae-compact``, ...)."""
    return resolve_codecs([name])[0]


def slug(text: str) -> str:
    """``text`` for a file name: each run of other than ASCII letters, digits and dots -> ``-``, trimmed."""
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-")


def cell_path(cache: Path, codec: str, target: float, names: Sequence[str], source: int) -> Path:
    key = hashlib.sha256(("\n".join(names) + f"|{source}").encode()).hexdigest()[:12]
    return Path(cache) / "decoded" / f"{slug(codec)}-cr{target:g}-{source}px-{key}.npz"


def _code_one(codec: BaselineCodec, frame: np.ndarray, target: float) -> tuple[np.ndarray, dict]:
    intensity = from_array(frame, bits_stored=8).intensity
    m = match_ratio(codec, frame, intensity, float(target))
    decoded = codec.decode(m.data, 8)
    return decoded, {
        "achieved": m.achieved,
        "nbytes": len(m.data),
        "setting": m.setting,
        "psnr": metrics.psnr(frame, decoded, 255.0),
        "reached": m.reached,
    }


def _save(path: Path, names: list[str], frames: list[np.ndarray], rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, overwrite=True) as tmp, open(tmp, "wb") as fh:
        np.savez(
            fh,
            names=np.array(names),
            frames=np.stack(frames),
            **{f: np.array([r[f] for r in rows]) for f in FIELDS},
        )


def decoded_set(
    codec: BaselineCodec,
    target: float,
    names: Sequence[str],
    frames: np.ndarray,
    cache: Path,
    *,
    flush: int = 50,
    progress: Callable[[str], None] | None = None,
) -> Decoded:
    """The cell (codec, target) of ``names``: loaded from the cache, completed where missing."""
    source = int(frames.shape[-1])
    path = cell_path(cache, codec.name, target, names, source)
    done_frames: list[np.ndarray] = []
    rows: list[dict] = []
    done_names: list[str] = []
    if path.is_file():
        with np.load(path) as z:
            done_names = [str(n) for n in z["names"]]
            done_frames = list(z["frames"])
            rows = [{f: z[f][i].item() for f in FIELDS} for i in range(len(done_names))]
    if done_names != list(names[: len(done_names)]):
        done_names, done_frames, rows = [], [], []
    for i in range(len(done_names), len(names)):
        decoded, row = _code_one(codec, frames[i], target)
        done_names.append(names[i])
        done_frames.append(decoded)
        rows.append(row)
        if (i + 1) % flush == 0 or i + 1 == len(names):
            _save(path, done_names, done_frames, rows)
            if progress:
                progress(f"{codec.name} {target:g}:1 {i + 1}/{len(names)}")
    return Decoded(
        codec.name,
        float(target),
        list(done_names),
        np.stack(done_frames) if done_frames else np.zeros((0, source, source), np.uint8),
        *(np.array([r[f] for r in rows]) for f in FIELDS),
    )


def memoised(codec: BaselineCodec) -> BaselineCodec:
    """``codec`` whose encoder remembers ``(frame, bits, setting) -> bytes``.

    Matching several target ratios of one image re-probes the same settings
    (mcz has only 8 qualities); the codestreams are deterministic, so they are
    computed once.  The numbers are those of the plain codec.
    """
    seen: dict[tuple[str, int, float], bytes] = {}
    inner = codec.encoder

    def encode(frame: np.ndarray, bits: int, setting: float) -> bytes:
        key = (hashlib.sha1(np.ascontiguousarray(frame).tobytes()).hexdigest(), int(bits), float(setting))
        if key not in seen:
            seen[key] = inner(frame, bits, setting)
        return seen[key]

    return dataclasses.replace(codec, encoder=encode)
