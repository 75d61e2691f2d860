"""``summary.md`` of a run folder: the markdown tables derived from ``results.csv``."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from mcz.bench.aggregate import (
    CR_BAND,
    REFERENCES,
    bd_rates,
    mean_bd_rates,
    rates_at_reference,
    reference_psnr,
    speeds,
)
from mcz.bench.points import Point, codecs_in, image_points

# --- summary.md -------------------------------------------------------------------------------


def _table(header: Sequence[str], body: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(cells) + " |" for cells in body]


def _sets(rows: Sequence[dict[str, Any]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        out[r["set"]].add(r["image_id"])
    return out


def _bd_section(rows: Sequence[dict[str, Any]], bd_rows: Sequence[dict[str, Any]]) -> list[str]:
    means = mean_bd_rates(bd_rows)
    band = f"cr {CR_BAND[0]:g}-{CR_BAND[1]:g}"
    lines = [
        "## BD-rate (PSNR), per image then averaged",
        "",
        "Negative = fewer bits than the reference for the same PSNR. Cells: mean over images (images where "
        f"it is defined / images). 'full' = the PSNR range both curves cover; '{CR_BAND[0]:g}:1-"
        f"{CR_BAND[1]:g}:1' = the PSNR the reference reaches inside that CR band. 'n/a': the curves share "
        "no PSNR range (e.g. a codec whose PSNR never reaches the reference's); bd_rates.csv gives each "
        "image's value and reason.",
        "",
    ]
    lossless = {r["codec"] for r in rows if r["lossless"]}
    for set_name, images in _sets(rows).items():
        refs = [ref for ref in REFERENCES if any(k[0] == set_name and k[2] == ref for k in means)]
        if not refs:
            lines += [
                f"### {set_name}",
                "",
                f"No reference ({', '.join(REFERENCES)}) was run on this set.",
                "",
            ]
            continue
        header = ["codec"] + [
            f"vs {ref} ({label})" for ref in refs for label in ("full", f"{CR_BAND[0]:g}:1-{CR_BAND[1]:g}:1")
        ]
        body = []
        for codec in codecs_in(r for r in rows if r["set"] == set_name):
            if codec in lossless:
                continue
            body.append(
                [codec]
                + [
                    means[(set_name, codec, ref, rng)].text()
                    if (set_name, codec, ref, rng) in means
                    else ("0 (reference)" if codec == ref else "-")
                    for ref in refs
                    for rng in ("full", band)
                ]
            )
        lines += [f"### {set_name} ({len(images)} images)", "", *_table(header, body), ""]
    return lines


def _rate_section(rows: Sequence[dict[str, Any]], points: Sequence[Point]) -> list[str]:
    rates = rates_at_reference(points)
    groups = sorted({(k[0], k[1]) for k in rates})
    if not groups:
        return []
    header = ["codec"] + [f"{s}, {b}-bit range @ {reference_psnr(b):g} dB" for s, b in groups]
    body = [
        [codec] + [rates[(s, b, codec)].text("{:.3f}") if (s, b, codec) in rates else "-" for s, b in groups]
        for codec in codecs_in(rows)
        if any(k[2] == codec for k in rates)
    ]
    return [
        "## bpp at a reference PSNR",
        "",
        "Interpolated per image on its rate-distortion curve (never extrapolated), then averaged; "
        "PSNR with the image's declared range R (e.g. 4095 for 12-bit data, also for CT stored in 16 "
        "bits as -1024..3071 HU). 40 dB for an 8-bit range, 50 dB for 9-12 bits, and deeper ranges at "
        "the 12-bit error relative to the peak.",
        "",
        *_table(header, body),
        "",
    ]


def _speed_section(rows: Sequence[dict[str, Any]], jobs: int | None) -> list[str]:
    order = {name: i for i, name in enumerate(codecs_in(rows))}
    table = sorted(speeds(rows), key=lambda s: order[s.codec])
    ref = next((s for s in table if s.codec == "j2k"), None)

    def ratio(value: float, base: float | None) -> str:
        return f"{value / base:.2f}x" if base and math.isfinite(value) else "-"

    body = [
        [
            s.codec,
            str(s.threads),
            str(s.cells),
            f"{s.encode_mpps:.2f}",
            f"{s.decode_mpps:.2f}",
            ratio(s.encode_mpps, ref.encode_mpps if ref else None),
            ratio(s.decode_mpps, ref.decode_mpps if ref else None),
        ]
        for s in table
    ]
    concurrency = f"{jobs} concurrent worker(s)" if jobs else "workers as in environment.json"
    lines = [
        "## Speed, relative to JPEG 2000 (j2k) in this run",
        "",
        f"Megapixels per second over all of a codec's cells (each time the median of its repeats; "
        f"{concurrency}; threads = threads the codec was told to use). Only the ratios are meant to be "
        "compared: absolute CPU times depend on the machine and its load.",
        "",
    ]
    if ref is None:
        lines += ["j2k was not run: no ratios.", ""]
    return (
        lines
        + _table(
            ["codec", "threads", "cells", "encode MP/s", "decode MP/s", "encode vs j2k", "decode vs j2k"],
            body,
        )
        + [""]
    )


def _lossless_section(rows: Sequence[dict[str, Any]], points: Sequence[Point]) -> list[str]:
    chosen = [p for p in points if p.lossless]
    if not chosen:
        return []
    groups: dict[tuple[str, str], list[Point]] = defaultdict(list)
    for p in chosen:
        groups[(p.set, p.codec)].append(p)
    body = [
        [
            s,
            c,
            str(len(ps)),
            f"{statistics.fmean(p.bpp for p in ps):.3f}",
            f"{statistics.fmean(p.cr for p in ps):.2f}:1",
            str(sum(p.frames for p in ps)),
        ]
        for (s, c), ps in groups.items()
    ]
    return [
        "## Lossless codecs",
        "",
        "Every frame was decoded and compared bit for bit (a mismatch fails the cell).",
        "",
        *_table(["set", "codec", "images", "mean bpp", "mean CR", "frames verified"], body),
        "",
    ]


def _match_section(rows: Sequence[dict[str, Any]]) -> list[str]:
    matched = [r for r in rows if r["mode"] == "match"]
    if not matched:
        return []
    groups: dict[tuple[str, str, str, float], list[dict[str, Any]]] = defaultdict(list)
    for r in matched:
        groups[(r["set"], r["quantity"], r["codec"], r["target"])].append(r)
    body = []
    for (s, q, c, t), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2], kv[0][3])):
        body.append(
            [
                s,
                c,
                f"{q} {t:g}",
                f"{sum(bool(r['reached']) for r in rs)}/{len(rs)}",
                f"{statistics.fmean(r['achieved'] for r in rs):.3g}",
                f"{statistics.fmean(r['bpp'] for r in rs):.3f}",
                f"{statistics.fmean(r['psnr'] for r in rs):.2f}",
                f"{statistics.fmean(r['ssim'] for r in rs):.4f}",
            ]
        )
    return [
        "## Matched targets (per frame)",
        "",
        "Each frame coded at the setting nearest to the target (1 % tolerance); 'reached' counts frames "
        "within it (targets outside a codec's range are not reached).",
        "",
        *_table(
            ["set", "codec", "target", "reached", "mean achieved", "mean bpp", "mean PSNR dB", "mean SSIM"],
            body,
        ),
        "",
    ]


def _failure_section(failures: Sequence[dict[str, str]]) -> list[str]:
    if not failures:
        return []
    body = [
        [f["image_id"], f["frame"], f["codec"], f["point"], f["error"], f["message"][:160].replace("|", "/")]
        for f in failures[:50]
    ]
    more = [f"... and {len(failures) - 50} more (failures.csv)", ""] if len(failures) > 50 else []
    return [
        f"## Failures ({len(failures)} cells, retried on resume)",
        "",
        *_table(["image", "frame", "codec", "point", "error", "message"], body),
        "",
        *more,
    ]


def summary_markdown(
    rows: Sequence[dict[str, Any]], failures: Sequence[dict[str, str]] = (), jobs: int | None = None
) -> str:
    """The markdown summary of a run's table.

    Parameters
    ----------
    rows : sequence of dict
        :func:`read_results` of ``results.csv``.
    failures : sequence of dict
        :func:`read_failures` of ``failures.csv``.
    jobs : int, optional
        Concurrent workers of the run (stated beside the speed table).

    Returns
    -------
    str
    """
    points = image_points(rows)
    bd_rows = bd_rates(points)
    sets = _sets(rows)
    lines = [
        "# mcz bench: summary",
        "",
        f"{len(rows)} cells, {sum(len(v) for v in sets.values())} images in {len(sets)} set(s) "
        f"({', '.join(f'{k}: {len(v)}' for k, v in sets.items())}); codecs: {', '.join(codecs_in(rows))}.",
        "",
        "Definitions (docs/references.md): bpp = 8 x whole file bytes (container included) / pixels; "
        "CR = uncompressed bytes at the storage width of the stored bit depth (1 byte up to 8 bits, 2 up to "
        "16) / file bytes; PSNR = 10 log10(R^2 / MSE) with R = the image's declared range "
        "(2^bits_stored - 1, or high - low of a declared window such as CT -1024..3071 HU); "
        "frames of a volume are pooled per image.",
        "",
    ]
    lines += _bd_section(rows, bd_rows) + _rate_section(rows, points) + _speed_section(rows, jobs)
    lines += _lossless_section(rows, points) + _match_section(rows) + _failure_section(failures)
    return "\n".join(lines).rstrip() + "\n"
