"""Throughput of `mcz encode` on the local executor and on Ray, 1 and 2 workers, same files, one run.

Slices: the axial slices of every CT/MR volume of `mcz.datasets.volumes` (lung1/lung2 CT 512x512,
the brain MR and head CT volumes 256x256, breast1; 306 slices; fetch them with
`bash bench/fetch_data.sh`), taken in turn until ``--slices`` files are written (.npy, int16), coded
one file per slice (`--per-file`) with ``--model`` (default: wavelet-ctx, the default model).  The
Ray cluster (2 CPUs) is started once before the timed runs; actor start-up (a fresh Python with the
model per actor) is inside every Ray run's time, as it is inside a real job's.  Every run is timed
``--repeats`` times (the median is reported); OMP_NUM_THREADS=1, so that one worker is one core.

Usage (from the repository root): python -m bench.executors [--slices N] [--repeats R] [--model M]
[--out bench/results/executors]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

MODEL = "wavelet-ctx"
RUNS = (("local", 1, ""), ("ray", 1, ""), ("local", 2, ""), ("ray", 2, ""), ("ray", 2, "manifest"))


def write_slices(folder: Path, limit: int) -> tuple[int, int, str]:
    """Axial slices of the CT/MR volumes as .npy files, in turn until ``limit``; (files, pixels, description)."""
    from mcz.datasets import volumes

    names = [n for split in volumes.CTMR_SPLITS.values() for n in split]
    slices = [(n, z, v) for n in names for v in [volumes.load_volume(n).pixels] for z in range(len(v))]
    count = pixels = 0
    while count < limit:
        name, z, volume = slices[count % len(slices)]
        np.save(folder / f"{count:05d}_{name}_{z:03d}.npy", np.ascontiguousarray(volume[z]).astype(np.int16))
        count, pixels = count + 1, pixels + volume[z].size
    return count, pixels, (f"{count} files: the {len(slices)} axial slices of the CT/MR volumes "
                           f"{', '.join(names)} (512x512 to 45x120, int16) taken in turn")


def timed_encode(src: Path, out: Path, engine: str, workers: int, manifest: str, model: str) -> tuple[float, int]:
    """Seconds of one `mcz encode` of the folder and its exit code (stdout swallowed)."""
    from mcz.cli.main import main

    argv = ["encode", str(src), "-o", str(out), "--per-file", "-m", model, "--engine", engine, "-j", str(workers),
            "--quiet", "--manifest", str(out / ".mcz-manifest") if manifest else ""]
    out.mkdir()
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    return time.perf_counter() - start, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", default=MODEL)
    parser.add_argument("--out", type=Path, default=Path("bench/results/executors"))
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"  # one worker = one core, in the local pool and in every actor
    import ray

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "slices"
        src.mkdir()
        files, pixels, described = write_slices(src, args.slices)
        t0 = time.perf_counter()
        from mcz.executors.ray import RayExecutor

        RayExecutor(workers=1)  # starts the local cluster (all CPUs) as `mcz encode --engine ray` would
        cluster_start = time.perf_counter() - t0
        rows = []
        for i, (engine, workers, manifest) in enumerate(RUNS):
            times = []
            for r in range(args.repeats):
                seconds, code = timed_encode(src, Path(tmp) / f"out{i}-{r}", engine, workers, manifest, args.model)
                if code != 0:
                    raise SystemExit(f"mcz encode --engine {engine} -j {workers} exited {code}; no result written")
                times.append(seconds)
            seconds = float(np.median(times))
            rows.append({"engine": engine, "workers": workers, "manifest": bool(manifest), "files": files,
                         "megapixels": pixels / 1e6, "seconds": round(seconds, 2), "exit_code": code,
                         "all_seconds": [round(t, 2) for t in times],
                         "files_per_s": round(files / seconds, 3), "mp_per_s": round(pixels / 1e6 / seconds, 3)})
            print(json.dumps(rows[-1]), flush=True)
        ray.shutdown()
    env = {"machine": f"{platform.machine()} {os.cpu_count()} CPUs", "load_average": os.getloadavg(),
           "ray": ray.__version__, "model": args.model, "ray_cluster_start_s": round(cluster_start, 1),
           "images": described, "repeats": args.repeats}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps({"environment": env, "runs": rows}, indent=1) + "\n")
    (args.out / "README.md").write_text(table(rows, env))
    print(table(rows, env))


def table(rows: list[dict], env: dict) -> str:
    """The markdown table: throughput, Ray's overhead against local at the same workers, scaling, projection."""
    local = {r["workers"]: r["seconds"] for r in rows if r["engine"] == "local"}
    one = {r["engine"]: r["seconds"] for r in rows if r["workers"] == 1}
    lines = ["# mcz encode: local executor vs Ray", "",
             f"{env['images']}; model {env['model']}; {env['machine']}, load average at the end "
             f"{', '.join(f'{x:.1f}' for x in env['load_average'])}. "
             f"Ray {env['ray']}, local cluster of 2 CPUs started once ({env['ray_cluster_start_s']} s, not counted). "
             f"Median of {env.get('repeats', 1)} timed runs each (all in results.json), in the order listed; "
             "OMP_NUM_THREADS=1.", "",
             "| engine | workers | manifest | files | seconds | files/s | MP/s | vs local, same workers | speed-up vs 1 worker |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        overhead = f"{100 * (r['seconds'] / local[r['workers']] - 1):+.1f} %" if r["workers"] in local else "-"
        speedup = f"{one[r['engine']] / r['seconds']:.2f}x" if r["engine"] in one else "-"
        lines.append(f"| {r['engine']} | {r['workers']} | {'yes' if r['manifest'] else 'no'} | {r['files']} | "
                     f"{r['seconds']:.1f} | {r['files_per_s']:.2f} | {r['mp_per_s']:.2f} | {overhead} | {speedup} |")
    best = max((r for r in rows if r["engine"] == "ray"), key=lambda r: r["mp_per_s"])
    per_worker = best["mp_per_s"] / best["workers"]  # the slices differ in size: project by pixels
    hours = 1e6 * 512 * 512 / 1e6 / per_worker / 3600
    lines += ["", f"Projection for 10^6 CT slices of 512 x 512 at the best Ray rate measured here "
              f"({per_worker:.2f} MP/s per 1-CPU worker): {hours:,.0f} worker-hours, e.g. {hours / 100:,.1f} h "
              "on 100 such workers (assuming linear scaling and storage that keeps up; not measured beyond "
              "2 workers).", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
