"""``mcz train``: build the data, train with Lightning, save resumable state, export weights."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader

from mcz.codec import zoo
from mcz.codec.families import family_for
from mcz.codec.registry import ModelSpec, get_spec, registered_ids
from mcz.errors import ModelError, UsageError
from mcz.training.config import TrainConfig, parse_duration
from mcz.training.bank import CentreCrops, RandomPatches
from mcz.training.export import export_run
from mcz.training.sources import evaluation_images, load_bank
from mcz.training.state import has_state, load_state, save_state
from mcz.training.system import CodecSystem


class _SaveState(L.Callback):
    """Writes the resumable state every ``every`` steps and at the end."""

    def __init__(self, folder: Path, config: TrainConfig, start: int, every: int) -> None:
        self.folder, self.config, self.start, self.every = folder, config, start, every
        self.t0 = time.time()
        self.earlier_seconds = json.loads((folder / "state.json").read_text()).get("seconds_total", 0.0) if start else 0.0

    def _save(self, trainer: L.Trainer, module: CodecSystem) -> None:
        if not trainer.is_global_zero:  # DDP: every rank holds the same weights; one writes them
            return
        meta = {
            "step": self.start + trainer.global_step,
            "config": dataclasses.asdict(self.config),
            "spec": module.spec.to_dict(),
            "machine": f"{platform.machine()} {os.cpu_count()} CPUs, torch {torch.__version__}, {self.config.accelerator}",
            "seconds_total": round(self.earlier_seconds + time.time() - self.t0, 1),
            # A step is one optimizer step over world_size x batch_size patches; the state (whole weights and
            # Adam moments) is the same whatever the world size, so a run resumes on any number of processes.
            "world_size": trainer.world_size,
            "metrics": {k: float(v) for k, v in trainer.callback_metrics.items()},
        }
        save_state(self.folder, module.model, trainer.optimizers[0], meta)

    def on_train_start(self, trainer, module) -> None:
        # Restore weights and Adam's moments here: the optimizer exists only now.
        if has_state(self.folder):
            load_state(self.folder, module.model, trainer.optimizers[0])

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if trainer.global_step and trainer.global_step % self.every == 0:
            self._save(trainer, module)

    def on_train_end(self, trainer, module) -> None:
        self._save(trainer, module)


def _spec(config: TrainConfig) -> ModelSpec:
    base = get_spec(config.model)
    if config.model_id in registered_ids() and get_spec(config.model_id).config == base.config:
        return get_spec(config.model_id)
    if config.model_id and config.model_id != base.id:
        return dataclasses.replace(base, id=config.model_id, description=f"{base.description} (trained as {config.model_id})")
    return base


def train(config: TrainConfig) -> dict[str, Any]:
    """Train (resuming from ``config.out`` when it holds a state) and return the state's meta.

    The model's family says how (:attr:`~mcz.codec.families.base.Family.training`): gradient
    training with Lightning (:func:`train_network`), its own fit, or not at all.
    """
    spec = _spec(config)
    family = family_for(spec)
    if family.training not in TRAINERS:
        raise UsageError(f"model {spec.id!r} is of the {family.name} family, which has nothing to train")
    return TRAINERS[family.training](config, spec)


def _fit(config: TrainConfig, spec: ModelSpec) -> dict[str, Any]:
    # Only the wavelet family is fitted today; a second fitted family would dispatch on spec.family here.
    from mcz.training.wavelet import train_wavelet

    return train_wavelet(config, spec)


def train_network(config: TrainConfig, spec: ModelSpec) -> dict[str, Any]:
    """Train ``spec``'s network with Lightning (:class:`CodecSystem`: its family's steps); the run's meta."""
    torch.set_num_threads(config.threads)
    L.seed_everything(config.seed, workers=True)
    out = Path(config.out)
    start = load_state_meta(out)
    system = CodecSystem(
        spec, lr=config.lr, loss=config.loss, bits=config.bits, warmup=config.warmup,
        total_steps=config.total_steps or config.max_steps, schedule=config.schedule, start_step=start,
        rate_weight=config.rate_weight,
    )
    if config.init and not start:
        _init_from_zoo(system, config.init)
    bank = load_bank(config.data, "train", config.limit_images)
    if config.epochs:  # one epoch = as many patches as training frames
        config.max_steps = max(1, -(-config.epochs * len(bank) // config.batch_size))
    # Each rank draws its own patches: Lightning's DistributedSampler gives rank r the indices r, r + world, ...
    # of a set world times as long, so every rank has max_steps batches of its own.
    world = _world_size(config)
    train_set = RandomPatches(bank, config.patch, length=config.max_steps * config.batch_size * world,
                              seed=config.seed + start)
    val_bank = load_bank(config.data, "val", config.val_images)
    val_loader = DataLoader(CentreCrops(val_bank, config.patch * 2), batch_size=8) if val_bank else None
    budget = datetime.timedelta(seconds=parse_duration(config.time_budget)) if config.time_budget else None
    trainer = L.Trainer(
        max_steps=config.max_steps, max_time=budget, accelerator=config.accelerator, devices=_devices(config.devices),
        num_nodes=config.num_nodes, strategy=config.strategy,
        val_check_interval=min(config.val_every, config.max_steps), check_val_every_n_epoch=None,
        limit_val_batches=1.0 if val_loader else 0,
        enable_checkpointing=False, logger=L.pytorch.loggers.CSVLogger(str(out), name="logs"),
        callbacks=[_SaveState(out, config, start, config.save_every)], num_sanity_val_steps=0,
        enable_progress_bar=True, deterministic=False,
    )
    trainer.fit(system, DataLoader(train_set, batch_size=config.batch_size, shuffle=False, num_workers=0), val_loader)
    if not trainer.is_global_zero:  # DDP: rank 0 saved the state and exports it
        return {"step": None, "metrics": {}, "rank": trainer.global_rank}
    meta = json.loads((out / "state.json").read_text())
    if config.export_to:
        images = evaluation_images(config.data, "val", config.val_images)
        meta["export"] = export_run(out, Path(config.export_to), images)
    return meta


def _init_from_zoo(system: CodecSystem, model_id: str) -> None:
    """Load an installed model's (verified) weights as the starting point of a new run.

    The same architecture loads whole (rate-distortion weights may differ, e.g.
    an 8-bit start for a 12-bit model); a model of another family with the same
    configuration lends what the family takes from it
    (:meth:`~mcz.codec.families.base.ModelFamily.transferable_from`: a learned family
    takes the other's transforms and gains).
    """
    entry = zoo.find_checkpoint(model_id)
    rd_keys = ("lambdas", "peak", "nh")
    ours = {k: v for k, v in system.spec.config.items() if k not in rd_keys}
    theirs = {k: v for k, v in entry.spec.config.items() if k not in rd_keys}
    shared = system.family.transferable_from(family_for(entry.spec))
    if ours != theirs or (entry.spec.family != system.spec.family and shared is None):
        raise ModelError(f"--init {model_id!r} has architecture {entry.spec.family} {entry.spec.config}, "
                         f"expected {system.spec.family} {system.spec.config} of {system.spec.id!r}")
    state = zoo.load_state_dict(entry)
    if shared is not None:
        state = {k: v for k, v in state.items() if k.startswith(shared)}
        system.model.load_state_dict(state, strict=False)
        return
    system.model.load_state_dict(state)


def load_state_meta(out: Path) -> int:
    """Steps already done in ``out`` (0 for a new run)."""
    return json.loads((out / "state.json").read_text())["step"] if has_state(out) else 0


def _world_size(config: TrainConfig) -> int:
    """Processes of the run: devices x nodes (1 when devices is 'auto' or a list: Lightning decides)."""
    return int(config.devices) * config.num_nodes if str(config.devices).isdigit() else 1


def _devices(devices: str) -> int | str:
    return int(devices) if devices.isdigit() else devices


#: The trainer of each kind of :attr:`~mcz.codec.families.base.Family.training`.
TRAINERS = {"gradient": train_network, "fit": _fit}
