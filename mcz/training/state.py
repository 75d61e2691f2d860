"""Resumable training state in safetensors (never pickle).

``state.safetensors`` holds the model's tensors under ``model.*`` and Adam's
moments under ``optim.<param index>.<name>``; ``state.json`` holds the step count,
the recipe and the data split, so a later session on a fresh machine resumes from
the repository alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from mcz.fsutil import atomic_path, atomic_write_bytes

STATE = "state.safetensors"
META = "state.json"


def save_state(folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, meta: dict[str, Any]) -> None:
    """Write model + optimizer tensors and ``meta`` atomically into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    for index, slot in optimizer.state_dict()["state"].items():
        for name, value in slot.items():
            tensor = value if torch.is_tensor(value) else torch.tensor(float(value))
            tensors[f"optim.{index}.{name}"] = tensor.detach().contiguous().cpu()
    with atomic_path(folder / STATE, overwrite=True) as tmp:
        save_file(tensors, str(tmp))
    atomic_write_bytes(folder / META, json.dumps(meta, indent=1, sort_keys=True).encode(), overwrite=True)


def load_state(folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None) -> dict[str, Any]:
    """Restore what :func:`save_state` wrote; returns its ``meta`` dict."""
    tensors = load_file(str(folder / STATE))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    if optimizer is not None:
        optim_state = optimizer.state_dict()
        slots: dict[int, dict[str, Any]] = {}
        for key, value in tensors.items():
            if key.startswith("optim."):
                _, index, name = key.split(".", 2)
                slots.setdefault(int(index), {})[name] = value
        optim_state["state"] = slots
        optimizer.load_state_dict(optim_state)
    return json.loads((folder / META).read_text())


def has_state(folder: Path) -> bool:
    """Whether ``folder`` holds a resumable state."""
    return (folder / STATE).is_file() and (folder / META).is_file()
