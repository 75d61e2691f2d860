"""Core measurements of one model: encode/decode time beside JPEG 2000, peak memory, container overhead.

Usage:  python bench/core_timing.py [--out bench/results/core_timing.json]

Speed does not depend on the weights' values, so this uses seeded (untrained)
weights of the registered architectures when no trained checkpoint is installed,
and says which in the output.  Times are medians of repeated runs on this machine
with the thread counts stated; compare them only as ratios to JPEG 2000 measured
in the same run.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPEATS = 7


def _median_time(fn, repeats: int = REPEATS) -> float:
    fn()  # warm-up (model load, allocator)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _ensure_weights(model: str) -> str:
    """'trained' if the zoo has weights for ``model``, else install seeded ones in a temp folder."""
    import os

    from mcz.codec import zoo

    if model in zoo.available_ids():
        return "trained"
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.zoo import write_checkpoint

    folder = Path(tempfile.mkdtemp(prefix="mcz-timing-"))
    write_checkpoint(folder, model)
    os.environ["MCZ_CHECKPOINTS"] = str(folder)
    return "seeded (untrained; speed only)"


def _head_ct():
    from pydicom.data import get_testdata_file

    from mcz.io import read_image

    return read_image(get_testdata_file("693_UNCR.dcm", download=False)), "693_UNCR.dcm (pydicom-data), 512x512 CT, 14-bit signed"


def _chest_ct_slice():
    """A native chest CT slice whose noise takes the wavelet-packet mode (needs ``bench/fetch_data.sh pyradiomics``)."""
    from mcz.datasets import volumes
    from mcz.io import from_array

    volume = volumes.load_volume("lung2")
    return (from_array(volume.pixels[30:31], value_range=volumes.CT_RANGE),
            "lung2 slice 30 (pyradiomics, CT/MR test volume), 512x512 CT, 12-bit range")


def speed(model: str, image_and_name=None, quality: int | None = None) -> dict:
    """Median encode/decode seconds of a 512x512 slice (default: the bundled head CT), mcz vs JPEG 2000."""
    import imagecodecs
    import torch

    import mcz
    from mcz.codec import engine

    image, name = image_and_name or _head_ct()
    data = mcz.encode(image, model=model, quality=quality)
    codec = engine.load_codec(model)
    from mcz.baselines.matching import match_size
    from mcz.baselines.standard import JPEG2000

    bits = image.intensity.bits_stored
    unsigned = (image.pixels[0].astype(np.int32) - int(image.intensity.low)).astype(np.uint16)
    # JPEG 2000 at the same byte budget as the .mcz file: equal work per output bit.
    j2k = match_size(JPEG2000, unsigned, bits, len(data))
    level = _level_of(j2k, unsigned, bits)
    result = {
        "image": name,
        "quality": quality,
        "torch_threads": engine.CODEC_THREADS,
        "torch_version": torch.__version__,
        "mcz_encode_s": _median_time(lambda: engine.encode_image(image, codec, quality=quality,
                                                                 threads=engine.CODEC_THREADS)),
        "mcz_decode_s": _median_time(lambda: engine.decode_bytes(data, codec=codec, threads=engine.CODEC_THREADS)),
        "jpeg2000_threads": 1,
        "jpeg2000_setting": f"OpenJPEG level (PSNR target) {level:.2f} dB, matched to the .mcz size",
        "jpeg2000_encode_s": _median_time(lambda: JPEG2000.encode(unsigned, bits, level)),
        "jpeg2000_decode_s": _median_time(lambda: imagecodecs.jpeg2k_decode(j2k, numthreads=1)),
        "imagecodecs_version": imagecodecs.__version__,
        "mcz_file_bytes": len(data),
        "jpeg2000_file_bytes": len(j2k),
    }
    if codec.family.onnx_export:  # its networks also run in ONNX Runtime
        from mcz.container import read_container

        parsed = read_container(data)
        result["mcz_decode_onnxruntime_s"] = _median_time(
            lambda: engine.decode_container(parsed, codec=codec, backend="onnxruntime"))
        result["decode_onnxruntime_ratio_vs_jpeg2000"] = result["mcz_decode_onnxruntime_s"] / result["jpeg2000_decode_s"]
    result["encode_ratio_vs_jpeg2000"] = result["mcz_encode_s"] / result["jpeg2000_encode_s"]
    result["decode_ratio_vs_jpeg2000"] = result["mcz_decode_s"] / result["jpeg2000_decode_s"]
    return result


_PEAK = """
import resource, sys, mcz
from pydicom.data import get_testdata_file
from mcz.io import read_image
image = read_image(get_testdata_file("RG1_UNCR.dcm", download=False))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
data = mcz.encode(image, model=sys.argv[1])
out = mcz.decode(data)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(base, peak, len(data), out.shape)
"""


def _level_of(target: bytes, frame: np.ndarray, bits: int) -> float:
    """The PSNR level whose codestream is ``target`` (re-derived so it can be timed)."""
    from mcz.baselines.standard import JPEG2000

    lo, hi = JPEG2000.setting_range
    for _ in range(30):
        mid = (lo + hi) / 2
        if len(JPEG2000.encode(frame, bits, mid)) <= len(target):
            lo = mid
        else:
            hi = mid
    return lo


def peak_memory(model: str) -> dict:
    """Peak resident memory (a fresh process) to encode + decode the 1955x1841 chest radiograph."""
    import os

    out = subprocess.run([sys.executable, "-c", _PEAK, model], check=True, capture_output=True, text=True,
                         env=dict(os.environ))
    base, peak, size, shape = out.stdout.split(maxsplit=3)
    return {"image": "RG1_UNCR.dcm (pydicom-data), 1955x1841 CR, 15-bit", "rss_before_coding_mib": int(base) / 1024,
            "peak_rss_mib": int(peak) / 1024, "file_bytes": int(size)}


def overhead(model: str) -> dict:
    """Bytes of the file that are not entropy-coded payload (signature, chunks, header, tile framing)."""
    from pydicom.data import get_testdata_file

    import mcz
    from mcz.container import container_overhead, read_container

    rows = {}
    for name in ("693_UNCR.dcm", "RG1_UNCR.dcm"):
        data = mcz.encode(get_testdata_file(name, download=False), model=model, keep_metadata=False)
        container = read_container(data)
        rows[name] = {"file_bytes": len(data), "overhead_bytes": container_overhead(container),
                      "tiles": len(container.tiles)}
    return rows


def _native_ct_speed(model: str) -> dict:
    """The chest CT slice at quality 40 (about 1.5 bpp, inside the 5:1-25:1 band), where CT/MR data is fetched."""
    from mcz.errors import DatasetMissingError

    try:
        return speed(model, _chest_ct_slice(), quality=40)
    except DatasetMissingError as exc:
        return {"skipped": str(exc)}


def main() -> None:
    """Run every measurement and write one JSON file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cae-seed")
    parser.add_argument("--out", type=Path, default=Path("bench/results/core_timing.json"))
    args = parser.parse_args()
    weights = _ensure_weights(args.model)
    result = {
        "model": args.model,
        "weights": weights,
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": __import__("os").cpu_count()},
        "speed_512": speed(args.model),
        "speed_512_native_ct": _native_ct_speed(args.model),
        "peak_memory": peak_memory(args.model),
        "container_overhead_without_metadata": overhead(args.model),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
