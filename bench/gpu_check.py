"""The GPU check: run once on a machine with an NVIDIA GPU (one command, fixed time budget).

    python bench/gpu_check.py [--out DIR] [--budget SECONDS]

It installs what it needs from wheels (``pip install -e '.[gpu,entropy,export,bench,data]'``
unless TensorRT already imports), then, for every shipped learned model
(factorized-compact, hyperprior-compact, hyperprior-compact-ctmr):

1. builds the FP16 and FP32 TensorRT engines (``mcz.codec.gpu.engines``; build time recorded);
2. decodes real 512 x 512 CT/MR slices (pydicom-data: MR2_UNCR 12-bit crop, 693_UNCR CT;
   pydicom's CT_small is too small) with ``torch`` (CPU reference), ``cuda``, ``tensorrt`` and
   ``tensorrt-fp32``: max |delta| in stored units against the CPU decode, and whether it is
   inside the recorded tolerance of the backend's precision (mcz.codec.gpu.tolerance);
3. times the synthesis alone (batch 1 and 8) and the end-to-end decode of each slice, beside
   JPEG 2000 (OpenJPEG, CPU, 1 thread) on the same slice in the same run.

Results go to ``$OUT`` (the device tool's output folder) if set, else ``bench/results/gpu/``:
``gpu_check.json`` (everything, with the environment) and ``gpu_check.md`` (tables). Each
step is skipped, with the reason recorded, once the budget is spent.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("factorized-compact", "hyperprior-compact", "hyperprior-compact-ctmr")
BACKENDS = ("torch", "cuda", "tensorrt", "tensorrt-fp32")
SLICES = (("MR2_UNCR.dcm", (slice(0, 1), slice(256, 768), slice(256, 768))),
          ("693_UNCR.dcm", (slice(0, 1), slice(0, 512), slice(0, 512))))
REPEATS = 20


def install() -> list[str]:
    """pip-install the extras the check needs, unless TensorRT already imports; the log lines."""
    try:
        importlib.import_module("tensorrt")
        return ["tensorrt already importable: nothing installed"]
    except ImportError:
        pass
    import shutil

    if shutil.which("nvidia-smi") is None:  # not a GPU machine: never pull gigabytes of TensorRT here
        return ["no nvidia-smi on PATH: not a GPU machine, nothing installed"]
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--prefer-binary", "-e",
               f"{ROOT}[gpu,entropy,export,bench,data]"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=480)
    importlib.invalidate_caches()
    return [" ".join(command), f"rc={done.returncode}", done.stderr[-2000:]]


def median_ms(run, repeats: int = REPEATS, sync=None) -> float:
    """Median wall time in ms of ``run()`` after two warm-ups (``sync()`` after each, for the GPU)."""
    for _ in range(2):
        run()
        sync and sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        sync and sync()
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def load_slices():
    """The real slices as (name, stored pixels (1, 512, 512), bits) for coding."""
    from pydicom.data import get_testdata_file

    from mcz.baselines.contract import coding_bits, to_unsigned
    from mcz.io import read_image

    out = []
    for name, crop in SLICES:
        path = get_testdata_file(name, download=False)
        if not path:
            continue
        image = read_image(path)
        pixels = image.pixels[crop]
        frame = to_unsigned(pixels[0], image.intensity)[0]
        out.append((name, frame, coding_bits(image.intensity)))
    return out


def check_model(model: str, slices, deadline: float) -> dict:
    """Engines, tolerance and timings of one model (see the module docstring)."""
    import numpy as np
    import torch

    import mcz
    from mcz.baselines.standard import JPEG2000
    from mcz.codec import engine, learned_coding
    from mcz.container import read_container
    from mcz.codec.gpu import backends, engines, tolerance

    codec = engine.load_codec(model)
    result: dict = {"engines": {}, "slices": []}
    for precision in ("fp16", "fp32"):
        start = time.perf_counter()
        path, built = engines.build_engine(codec, precision, rebuild=True)
        result["engines"][precision] = {"seconds": round(time.perf_counter() - start, 2), "file": path.name,
                                        "bytes": path.stat().st_size}
    for name, frame, bits in slices:
        if time.time() > deadline:
            result["slices"].append({"slice": name, "skipped": "time budget spent"})
            continue
        data = mcz.encode(frame, model=model, bits_stored=bits, max_ratio=None)
        container = read_container(data)
        window = engine.window_of(container.header)
        reference = engine.decode_container(container)
        j2k = JPEG2000.encode(frame, bits)
        row = {"slice": name, "bits": bits, "mcz_bytes": len(data), "j2k_bytes": len(j2k),
               "j2k_decode_ms": median_ms(lambda: JPEG2000.decode(j2k, bits)), "backends": {}}
        y = learned_coding.decode_latent(codec.model, learned_coding.TorchBackend(codec.model), container.tiles[0],
                                         (512, 512), __import__("mcz.codec.latents", fromlist=["x"]).LatentDigest())
        y = (y * learned_coding.inverse_gain(codec.model, container.header.quality - 1)).astype(np.float32)
        for backend in BACKENDS:
            entry: dict = {}
            try:
                pixels = engine.decode_container(container, backend=backend)  # checks latents and tolerance
                delta = int(np.abs(pixels.astype(np.int64) - reference.astype(np.int64)).max())
                limit = tolerance.tolerance(window, tolerance.precision_of(backend))
                sync = torch.cuda.synchronize if backend != "torch" else None
                entry.update(max_delta_stored=delta, tolerance_stored=limit, within=delta <= limit,
                             decode_ms=median_ms(lambda: engine.decode_container(container, backend=backend),
                                                 5 if backend == "torch" else REPEATS, sync))
                if backend != "torch":
                    gpu = backends.gpu_backend(codec, backend)
                    entry["synthesis_ms_batch1"] = median_ms(lambda: gpu.runner(y), sync=sync)
                    batch = np.repeat(y, engines.DEFAULT_MAX_BATCH, axis=0)
                    entry["synthesis_ms_per_slice_batch8"] = median_ms(lambda: gpu.runner(batch), sync=sync) / 8
                    entry["fp16_fallbacks"] = gpu.fallbacks
                entry["decode_vs_j2k"] = entry["decode_ms"] / row["j2k_decode_ms"]
            except Exception as exc:  # noqa: BLE001 - record and go on: one failing backend must not lose the rest
                entry["error"] = f"{type(exc).__name__}: {exc}"
                entry["traceback"] = traceback.format_exc()[-1500:]
            row["backends"][backend] = entry
        result["slices"].append(row)
    return result


def environment() -> dict:
    """GPU, driver-side versions and packages."""
    from mcz.codec.gpu import device

    info = {"python": sys.version.split()[0], "platform": platform.platform(), "cuda": device.probe_cuda().found,
            "tensorrt": device.probe_tensorrt().found}
    try:
        import torch

        info["torch"] = torch.__version__
        info["nvidia_smi"] = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                                             "--format=csv,noheader"], capture_output=True, text=True).stdout.strip()
    except Exception as exc:  # noqa: BLE001
        info["environment_error"] = str(exc)
    return info


def markdown(report: dict) -> str:
    """The tables of ``gpu_check.md``."""
    lines = [f"# GPU check ({report['environment'].get('nvidia_smi') or report['environment']['cuda']})", "",
             f"TensorRT: {report['environment']['tensorrt']}; torch {report['environment'].get('torch')}; "
             f"JPEG 2000 = OpenJPEG on the CPU, 1 thread, default setting, same slice, same run.", "",
             "| model | slice | backend | max abs delta (stored) | tolerance | synthesis ms (b1) | synthesis ms/slice (b8) "
             "| decode ms | decode / J2K |", "|---|---|---|---|---|---|---|---|---|"]
    for model, res in report["models"].items():
        for row in res.get("slices", []):
            for backend, e in row.get("backends", {}).items():
                def f(key, fmt="{:.2f}"):
                    return fmt.format(e[key]) if key in e else "-"
                lines.append(f"| {model} | {row['slice']} | {backend} | {f('max_delta_stored', '{}')} | "
                             f"{f('tolerance_stored', '{:g}')} | {f('synthesis_ms_batch1')} | "
                             f"{f('synthesis_ms_per_slice_batch8')} | {f('decode_ms')} | {f('decode_vs_j2k')} |"
                             + (f" error: {e['error'][:120]}" if "error" in e else ""))
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT") or ROOT / "bench/results/gpu"))
    parser.add_argument("--budget", type=float, default=420.0, help="seconds for the whole check (default 420)")
    parser.add_argument("--no-install", action="store_true", help="use the installed packages as they are")
    args = parser.parse_args()
    deadline = time.time() + args.budget
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict = {"install": ["--no-install"] if args.no_install else install(), "models": {}}
    sys.path.insert(0, str(ROOT))
    report["environment"] = environment()
    slices = load_slices()
    for model in MODELS:
        if time.time() > deadline:
            report["models"][model] = {"skipped": "time budget spent"}
            continue
        try:
            report["models"][model] = check_model(model, slices, deadline)
        except Exception as exc:  # noqa: BLE001
            report["models"][model] = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
        (args.out / "gpu_check.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    (args.out / "gpu_check.md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
