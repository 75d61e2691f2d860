"""What GPU runtime is here: a CUDA device through torch, TensorRT, and why not when they are missing.

Every probe is cheap and never raises: it returns what it found, or the reason it found
nothing, so that ``--backend auto`` can say why it chose the CPU, and ``--backend
tensorrt`` can fail with a message that says what was found, what is expected and what
to do (:class:`~mcz.errors.BackendUnavailableError`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from mcz.errors import BackendUnavailableError

#: What to install for each runtime (the ``gpu`` extra does not install a CUDA torch: that comes
#: from PyTorch's CUDA wheels, or on Jetson from NVIDIA's JetPack wheels; docs/gpu.md, docs/jetson.md).
INSTALL_HINT = {
    "cuda": "install a CUDA build of PyTorch (https://pytorch.org/get-started/locally/; on Jetson, "
            "NVIDIA's JetPack wheel) on a machine with an NVIDIA GPU and driver",
    "tensorrt": "pip install 'mcz[gpu]' (tensorrt-cu13, for torch's CUDA 13 wheels; 'mcz[gpu-cu12]' for a CUDA 12 torch) on x86_64; on Jetson use JetPack's TensorRT "
                "(apt install python3-libnvinfer), see docs/jetson.md",
}


@dataclass(frozen=True)
class Gpu:
    """The CUDA device a backend would run on."""

    name: str
    compute_capability: tuple[int, int]
    memory_bytes: int


@dataclass(frozen=True)
class Probe:
    """The result of looking for a runtime: ``ok`` and what was found, or the reason it is missing."""

    ok: bool
    found: str


def probe_cuda() -> Probe:
    """Whether torch can run on a CUDA device here, and which device (or why not)."""
    try:
        import torch  # lazy: keeps torch out of import mcz.codec.gpu.device; a probe reports its absence
    except ImportError:
        return Probe(False, "torch is not installed")
    if torch.version.cuda is None:
        return Probe(False, f"torch {torch.__version__} is a CPU-only build (torch.version.cuda is None)")
    if not torch.cuda.is_available():
        return Probe(False, f"torch {torch.__version__} (CUDA {torch.version.cuda}) sees no CUDA device "
                            "(torch.cuda.is_available() is False: no GPU or no driver)")
    gpu = current_gpu()
    return Probe(True, f"{gpu.name} (compute capability {gpu.compute_capability[0]}.{gpu.compute_capability[1]})")


def probe_tensorrt() -> Probe:
    """Whether the TensorRT Python module imports here, and its version (or why not)."""
    try:
        trt = importlib.import_module("tensorrt")
    except ImportError as exc:
        return Probe(False, f"the tensorrt module does not import ({exc})")
    except Exception as exc:  # noqa: BLE001 - a broken install (missing libnvinfer) raises OSError and others
        return Probe(False, f"the tensorrt module fails to load ({type(exc).__name__}: {exc})")
    return Probe(True, f"TensorRT {trt.__version__}")


def current_gpu() -> Gpu:
    """The current CUDA device (BackendUnavailableError if there is none)."""
    require_cuda()
    import torch  # lazy: keeps torch out of import mcz.codec.gpu.device

    index = torch.cuda.current_device()
    props = torch.cuda.get_device_properties(index)
    return Gpu(props.name, (props.major, props.minor), int(props.total_memory))


def require_cuda() -> None:
    """Raise :class:`BackendUnavailableError` unless torch can run on a CUDA device."""
    found = probe_cuda()
    if not found.ok:
        raise BackendUnavailableError(
            f"the cuda backend needs a CUDA device; found: {found.found}. Expected a CUDA build of torch "
            f"with a visible GPU. To fix: {INSTALL_HINT['cuda']}, or decode with --backend torch (CPU)"
        )


def require_tensorrt():
    """The imported ``tensorrt`` module and a CUDA device, or :class:`BackendUnavailableError`."""
    found = probe_tensorrt()
    if not found.ok:
        raise BackendUnavailableError(
            f"the tensorrt backend needs TensorRT 10 or 11; found: {found.found}. To fix: "
            f"{INSTALL_HINT['tensorrt']}, or decode with --backend torch (CPU)"
        )
    cuda = probe_cuda()
    if not cuda.ok:
        raise BackendUnavailableError(
            f"the tensorrt backend found {found.found} but no CUDA device through torch: {cuda.found}. "
            f"Expected a CUDA build of torch with a visible GPU (mcz hands TensorRT torch's CUDA memory). "
            f"To fix: {INSTALL_HINT['cuda']}"
        )
    return importlib.import_module("tensorrt")
