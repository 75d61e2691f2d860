"""``mcz bench --backend``: encode and decode times of mcz models per decoder backend, beside JPEG 2000.

Every frame is coded by JPEG 2000 (OpenJPEG through imagecodecs, its default setting,
1 thread) and by each mcz model, then decoded on each backend, in the same run; times
are medians of ``repeats`` runs after one warm-up (which also builds and caches a
TensorRT engine, so engine building is not timed).  A backend that cannot run here
gets a row with the reason instead of times.  Speed is reported as a ratio to JPEG
2000's decode of the same frame (docs/references.md: speed claims are same-run ratios).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np

import mcz
from mcz.baselines.contract import coding_bits, to_unsigned
from mcz.baselines.standard import JPEG2000
from mcz.bench.sets import load_frames
from mcz.codec import engine
from mcz.container import read_container
from mcz.errors import BackendUnavailableError, UsageError

COLUMNS = ("image", "frame", "rows", "columns", "codec", "backend", "encode_ms", "decode_ms", "bytes",
           "decode_vs_j2k", "note")


def median_ms(run: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``run()`` in ms over ``repeats`` runs, after one untimed warm-up."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def _frame_rows(image_id: str, index: int, frame: np.ndarray, bits: int, models: Sequence[str],
                backends: Sequence[str], repeats: int) -> list[dict]:
    base = {"image": image_id, "frame": index, "rows": frame.shape[0], "columns": frame.shape[1]}
    j2k = JPEG2000.encode(frame, bits)
    j2k_decode = median_ms(lambda: JPEG2000.decode(j2k, bits), repeats)
    rows = [{**base, "codec": "j2k", "backend": "cpu", "encode_ms": median_ms(lambda: JPEG2000.encode(frame, bits),
             repeats), "decode_ms": j2k_decode, "bytes": len(j2k), "decode_vs_j2k": 1.0, "note": ""}]
    for model in models:
        data = mcz.encode(frame, model=model, bits_stored=bits, max_ratio=None)
        encode_ms = median_ms(lambda: mcz.encode(frame, model=model, bits_stored=bits, max_ratio=None), repeats)
        container = read_container(data)
        for backend in backends:
            row = {**base, "codec": f"mcz:{model}", "backend": backend, "encode_ms": encode_ms, "bytes": len(data)}
            try:
                ms = median_ms(lambda: engine.decode_container(container, backend=backend), repeats)
            except (BackendUnavailableError, UsageError) as exc:
                rows.append({**row, "decode_ms": None, "decode_vs_j2k": None, "note": str(exc)})
                continue
            rows.append({**row, "decode_ms": ms, "decode_vs_j2k": ms / j2k_decode, "note": ""})
    return rows


def time_backends(images, models: Sequence[str], backends: Sequence[str], repeats: int = 3,
                  max_frames: int | None = 1, crop: int | None = None) -> list[dict]:
    """One row per (frame, codec, backend); see :data:`COLUMNS`.

    Parameters
    ----------
    images : list of mcz.bench.sets.BenchImage
    models : sequence of str
        Installed mcz model ids.
    backends : sequence of str
        Decoder backends (:data:`mcz.codec.engine.BACKENDS`).
    repeats : int
        Timed runs per measurement (median reported).
    max_frames, crop : int, optional
        As in :func:`mcz.bench.sets.load_frames`.
    """
    rows: list[dict] = []
    for image in images:
        frames = load_frames(image, max_frames, crop)
        for index, pixels in zip(frames.indices, frames.pixels):
            frame, bits = to_unsigned(pixels, frames.intensity)[0], coding_bits(frames.intensity)
            rows += _frame_rows(image.id, index, frame, bits, models, backends, repeats)
    return rows


def markdown(rows: list[dict]) -> str:
    """The rows as a Markdown table (ms to 0.1, ratio to 0.01)."""
    def cell(v):
        return "-" if v is None else f"{v:.1f}" if isinstance(v, float) else str(v)
    head = [c for c in COLUMNS if c != "note"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in head) + " |" for r in rows]
    notes = sorted({r["note"] for r in rows if r.get("note")})
    return "\n".join(lines + [""] + [f"- {n}" for n in notes]) + "\n"
