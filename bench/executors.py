"""Throughput of `mcz encode` on the local executor and on Ray, 1 and 2 workers, same files, one run.

Slices: the pyradiomics lung CT volumes (lung1 48 + lung2 61 slices, 512x512 int16 HU; fetch them
with `bash bench/fetch_data.sh`), written as .npy files, coded one file per slice
(`--per-file`) with the shipped cae-compact-ctmr model.  The Ray cluster (2 CPUs) is started once
before the timed runs; actor start-up (a fresh Python with torch and the model per actor) is inside
every Ray run's time, as it is inside a real job's.

Usage (from the repository root): python -m bench.executors [--slices N] [--out bench/results/executors]
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

DATA = Path.home() / ".cache" / "mcz" / "data" / "pyradiomics"
VOLUMES = ("lung1_image.nrrd", "lung2_image.nrrd")
MODEL = "cae-compact-ctmr"
RUNS = (("local", 1, ""), ("ray", 1, ""), ("local", 2, ""), ("ray", 2, ""), ("ray", 2, "manifest"))


def write_slices(folder: Path, limit: int) -> tuple[int, int]:
    """Axial slices of the lung CTs as .npy files; returns (files, pixels)."""
    import nrrd

    count = pixels = 0
    for name in VOLUMES:
        path = DATA / name
        if not path.is_file():
            raise SystemExit(f"{path} is missing; run `bash bench/fetch_data.sh` first")
        volume, _ = nrrd.read(str(path))
        for z in range(volume.shape[2]):
            if count == limit:
                return count, pixels
            np.save(folder / f"{name.split('_')[0]}_{z:03d}.npy", np.ascontiguousarray(volume[:, :, z].T))
            count, pixels = count + 1, pixels + volume.shape[0] * volume.shape[1]
    return count, pixels


def timed_encode(src: Path, out: Path, engine: str, workers: int, manifest: str) -> tuple[float, int]:
    """Seconds of one `mcz encode` of the folder and its exit code (stdout swallowed)."""
    from mcz.cli.main import main

    argv = ["encode", str(src), "-o", str(out), "--per-file", "-m", MODEL, "--engine", engine, "-j", str(workers),
            "--quiet", "--manifest", str(out / ".mcz-manifest") if manifest else ""]
    out.mkdir()
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    return time.perf_counter() - start, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=109)
    parser.add_argument("--out", type=Path, default=Path("bench/results/executors"))
    args = parser.parse_args()
    import ray

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "slices"
        src.mkdir()
        files, pixels = write_slices(src, args.slices)
        t0 = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        cluster_start = time.perf_counter() - t0
        rows = []
        for i, (engine, workers, manifest) in enumerate(RUNS):
            seconds, code = timed_encode(src, Path(tmp) / f"out{i}", engine, workers, manifest)
            if code != 0:
                raise SystemExit(f"mcz encode --engine {engine} -j {workers} exited {code}; no result written")
            rows.append({"engine": engine, "workers": workers, "manifest": bool(manifest), "files": files,
                         "megapixels": pixels / 1e6, "seconds": round(seconds, 2), "exit_code": code,
                         "files_per_s": round(files / seconds, 3), "mp_per_s": round(pixels / 1e6 / seconds, 3)})
            print(json.dumps(rows[-1]), flush=True)
        ray.shutdown()
    env = {"machine": f"{platform.machine()} {os.cpu_count()} CPUs", "load_average": os.getloadavg(),
           "ray": ray.__version__, "model": MODEL, "ray_cluster_start_s": round(cluster_start, 1),
           "images": f"{files} axial slices of pyradiomics lung1/lung2 CT, 512x512 int16"}
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
             f"{', '.join(f'{x:.1f}' for x in env['load_average'])} (a shared machine: other jobs ran). "
             f"Ray {env['ray']}, local cluster of 2 CPUs started once ({env['ray_cluster_start_s']} s, not counted). "
             "One timed run each, in the order listed.", "",
             "| engine | workers | manifest | files | seconds | files/s | MP/s | vs local, same workers | speed-up vs 1 worker |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        overhead = f"{100 * (r['seconds'] / local[r['workers']] - 1):+.1f} %" if r["workers"] in local else "-"
        speedup = f"{one[r['engine']] / r['seconds']:.2f}x" if r["engine"] in one else "-"
        lines.append(f"| {r['engine']} | {r['workers']} | {'yes' if r['manifest'] else 'no'} | {r['files']} | "
                     f"{r['seconds']:.1f} | {r['files_per_s']:.2f} | {r['mp_per_s']:.2f} | {overhead} | {speedup} |")
    best = max((r for r in rows if r["engine"] == "ray"), key=lambda r: r["files_per_s"])
    per_worker = best["files_per_s"] / best["workers"]
    hours = 1e6 / per_worker / 3600
    lines += ["", f"Projection for 10^6 CT slices at the best Ray rate measured here ({per_worker:.2f} files/s per "
              f"1-CPU worker): {hours:,.0f} worker-hours, e.g. {hours / 100:,.1f} h on 100 such workers "
              "(assuming linear scaling and storage that keeps up; not measured beyond 2 workers).", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
