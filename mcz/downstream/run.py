"""Orchestration of a downstream run: data, decoded sets, classifiers, cells, reports.

Resumable at two levels: decoded sets are cached per (codec, ratio, image list)
(:mod:`mcz.downstream.compress`) and trained classifiers per (protocol view,
training configuration, image list) under ``cache``; each result *cell*
(protocol, classifier, codec, ratio) is one JSON under ``OUT/cells/`` written
atomically, and a cell that exists is never recomputed.  A classifier is trained
only when one of its cells is missing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from mcz.bench.sweeps import PAPER_RATIOS
from mcz.downstream import classifiers, compress, data, metrics, protocols, report, taskaware
from mcz.errors import UsageError
from mcz.fsutil import atomic_write_bytes

if TYPE_CHECKING:  # pragma: no cover
    from mcz.downstream.protocols import TrainConfig

ORIGINAL = "original"
CELLS = "cells"


@dataclass(frozen=True)
class Config:
    """What a run measures (see :data:`QUICK` and :data:`FULL`)."""

    codecs: tuple[str, ...] = ("jpeg", "j2k", "mcz:cae-compact")
    ratios: tuple[float, ...] = PAPER_RATIOS
    train_ratios: tuple[float, ...] = PAPER_RATIOS
    train_codecs: tuple[str, ...] | None = None  # codecs of protocols b and c (default: codecs)
    classifiers: tuple[str, ...] = classifiers.CLASSIFIERS
    protocols: tuple[str, ...] = ("a", "b", "c")
    resolution: int = 224
    source: int = 224
    train_limit: int | None = None
    test_limit: int | None = None
    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    seed: int = 0
    bootstrap: int = 1000
    task_aware: bool = True
    task_steps: int = 600
    task_weight: float = 2.0
    task_ratios: tuple[float, ...] | None = None  # default: ratios
    cache: Path = field(default=Path("runs/downstream-cache"))
    device: str = "cpu"  # classifier training only ("cuda" for the full run); predictions on CPU

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["cache"] = str(self.cache)
        return d

    # TrainConfig, not protocols.TrainConfig: in the class body, ``protocols`` is the field above.
    def train_config(self, classifier: str) -> TrainConfig:
        return protocols.TrainConfig(
            classifier, self.resolution, self.epochs, self.batch_size, self.lr, self.seed, self.device
        )


#: The quick preset: about 4 minutes of one core here (docs/downstream.md).  Its time goes to
#: coding the test images (one decoded set per codec and ratio, cached) and one training of
#: the tiny CNN; protocols b and c, the task-aware codec and mcz models slower than
#: cae-compact (wavelet-ctx: ~2.5 s per image and ratio at 224 px) are left to explicit runs.
QUICK = Config(
    codecs=("jpeg", "j2k", "mcz:cae-compact"),
    ratios=(8.67, 16.99, 33.99),
    train_ratios=(16.99,),
    train_codecs=("jpeg", "j2k"),
    classifiers=("tinycnn",),
    protocols=("a",),
    resolution=64,
    train_limit=400,
    test_limit=120,
    epochs=10,
    lr=3e-3,
    task_aware=False,
    task_steps=80,
    task_ratios=(33.99,),
)
#: Classifiers of the presets.  MobileNetV2 is registered but in no preset: from scratch it
#: reached 65.9 % here, and reaching the 85 % qualification would need tens of epochs at
#: >= 96 px (measured 150 s per epoch of the 2,101 training images at 96 px on one core).
PRESET_CLASSIFIERS = ("tinycnn", "smallcnn", "resnet50")
#: The papers' protocol: 224 px, every split image, the 13 ratios, three classifiers.
FULL = Config(classifiers=PRESET_CLASSIFIERS)


def _log(message: str) -> None:
    print(f"mcz downstream: {message}", file=sys.stderr, flush=True)


def cell_file(out: Path, protocol: str, classifier: str, codec: str, ratio: float) -> Path:
    return Path(out) / CELLS / protocol / classifier / f"{compress.slug(codec)}-cr{ratio:g}.json"


def _key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Run:
    """State of one run (lazy: nothing is loaded or coded until a cell needs it)."""

    def __init__(
        self,
        config: Config,
        out: Path,
        log: Callable[[str], None] = _log,
        payload: dict | None = None,
        loader: Callable[[str], np.ndarray] | None = None,
    ) -> None:
        self.config, self.out, self.log = config, Path(out), log
        self.test = data.subset(data.samples("test", payload), config.test_limit, config.seed)
        self.train = data.subset(data.samples("train", payload), config.train_limit, config.seed)
        data.check_disjoint({"train": self.train, "test": self.test})
        self.loader = loader
        self._frames: dict[str, np.ndarray] = {}
        self._decoded: dict[tuple[str, float, str], compress.Decoded] = {}
        self._inputs: dict[tuple[str, float, str], object] = {}
        self._codecs: dict[str, object] = {}
        self._models: dict[str, object] = {}

    # --- data -------------------------------------------------------------------------------------
    def items(self, part: str) -> list[data.Sample]:
        return self.test if part == "test" else self.train

    def frames(self, part: str) -> np.ndarray:
        if part not in self._frames:
            self._frames[part] = data.load_frames(
                self.items(part), self.config.source, self.config.cache, self.loader
            )
        return self._frames[part]

    def codec(self, name: str):
        if name not in self._codecs:
            self._codecs[name] = compress.memoised(compress.resolve(name))
        return self._codecs[name]

    def add_codec(self, codec) -> None:
        """Register an in-memory codec (the task-aware model) under its name."""
        self._codecs[codec.name] = compress.memoised(codec)

    def decoded(self, codec: str, ratio: float, part: str) -> compress.Decoded:
        key = (codec, float(ratio), part)
        if key not in self._decoded:
            t = time.time()
            self._decoded[key] = compress.decoded_set(
                self.codec(codec),
                ratio,
                [s.name for s in self.items(part)],
                self.frames(part),
                self.config.cache,
                progress=self.log,
            )
            self.log(
                f"decoded {codec} {ratio:g}:1 {part} "
                f"({len(self.items(part))} images, {time.time() - t:.0f} s)"
            )
        return self._decoded[key]

    def inputs(self, codec: str, ratio: float, part: str):
        key = (codec, float(ratio), part)
        if key not in self._inputs:
            frames = self.frames(part) if codec == ORIGINAL else self.decoded(codec, ratio, part).frames
            self._inputs[key] = protocols.prepare(frames, self.config.resolution)
        return self._inputs[key]

    # --- classifiers ------------------------------------------------------------------------------
    def model(self, classifier: str, views: Sequence[tuple[str, float]]):
        """The classifier trained on the training images seen through ``views`` (cached on disk)."""
        tc = self.config.train_config(classifier)
        key = _key(tc.to_dict(), [list(v) for v in views], [s.name for s in self.train], self.config.source)
        if key in self._models:
            return self._models[key]
        path = self.config.cache / "models" / f"{classifier}-{key}.pt"
        model = classifiers.build(classifier, self.config.resolution)
        if path.is_file():
            model.load_state_dict(torch.load(path, weights_only=True))
            model.eval()
        else:
            inputs = [self.inputs(c, r, "train") for c, r in views]
            t = time.time()
            model = protocols.train(tc, inputs, [s.label for s in self.train], progress=self.log)
            self.log(f"trained {classifier} on {views} in {time.time() - t:.0f} s")
            path.parent.mkdir(parents=True, exist_ok=True)

            buf = io.BytesIO()
            torch.save(model.state_dict(), buf)
            atomic_write_bytes(path, buf.getvalue(), overwrite=True)
        self._models[key] = model
        return model

    # --- cells ------------------------------------------------------------------------------------
    def evaluate(
        self,
        protocol: str,
        classifier: str,
        views: Sequence[tuple[str, float]],
        codec: str,
        ratio: float,
        baseline: dict | None,
    ) -> dict:
        """Write (or read) one cell: the model of ``views`` tested on ``codec`` at ``ratio``."""
        path = cell_file(self.out, protocol, classifier, codec, ratio)
        if path.is_file():
            return json.loads(path.read_text())
        model = self.model(classifier, views)
        score = protocols.predict(model, self.inputs(codec, ratio, "test"))
        y = np.array([s.label for s in self.test])
        groups = [s.group for s in self.test]
        n = self.config.bootstrap
        cell = {
            "protocol": protocol,
            "protocol_text": protocols.PROTOCOLS[protocol],
            "classifier": classifier,
            "initialisation": classifiers.INITIALISATION,
            "train": {
                "views": [list(v) for v in views],
                "images": len(self.train),
                "groups": len({s.group for s in self.train}),
                "split": "train",
                **self.config.train_config(classifier).to_dict(),
            },
            "codec": codec,
            "target_ratio": float(ratio),
            "rate": (None if codec == ORIGINAL else self.decoded(codec, ratio, "test").summary()),
            "test": {
                "split": "test",
                "images": len(y),
                "groups": len(set(groups)),
                "tumour": int(y.sum()),
                "source_px": self.config.source,
                "resolution_px": self.config.resolution,
            },
            "metrics": metrics.scores(y, score),
            "ci95": {
                k: list(v) for k, v in metrics.bootstrap(y, score, groups, n=n, seed=self.config.seed).items()
            },
            "confusion": metrics.confusion(y, (score >= 0.5).astype(int)).tolist(),
            "names": [s.name for s in self.test],
            "scores": [round(float(v), 6) for v in score],
        }
        if baseline is not None:
            cell["vs_original"] = metrics.paired_comparison(
                y, np.array(baseline["scores"]), score, groups, n=n, seed=self.config.seed
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, (json.dumps(cell, indent=1) + "\n").encode(), overwrite=True)
        m = cell["metrics"]
        self.log(
            f"cell {protocol}/{classifier}/{codec}@{ratio:g}: "
            f"accuracy {m['accuracy']:.3f} auroc {m['auroc']:.3f}"
        )
        return cell

    def run_classifier(self, classifier: str) -> None:
        cfg = self.config
        base_view = [(ORIGINAL, 1.0)]
        baseline = self.evaluate("a", classifier, base_view, ORIGINAL, 1.0, None)
        if "a" in cfg.protocols:
            for codec in cfg.codecs:
                for r in cfg.ratios:
                    self.evaluate("a", classifier, base_view, codec, r, baseline)
        for protocol in ("b", "c"):
            if protocol not in cfg.protocols:
                continue
            for codec in [c for c in cfg.codecs if cfg.train_codecs is None or c in cfg.train_codecs]:
                for r in cfg.train_ratios:
                    views = [(codec, r)] if protocol == "b" else [(codec, x) for x in cfg.train_ratios]
                    self.evaluate(protocol, classifier, views, codec, r, baseline)

    def run_task_aware(self, classifier: str) -> None:
        base = next((c for c in self.config.codecs if c.startswith("mcz:")), None)
        if base is None:
            self.log("task-aware codec skipped: no mcz:<model> among the codecs")
            return
        name = taskaware.name_of(base)
        ratios = self.config.task_ratios or self.config.ratios
        targets = [cell_file(self.out, "a", classifier, name, r) for r in ratios]
        if all(p.is_file() for p in targets):
            return
        frozen = self.model(classifier, [(ORIGINAL, 1.0)])
        codec = taskaware.task_aware_codec(
            base.split(":", 1)[1], frozen, self.frames("train"), self.config, log=self.log
        )
        self.add_codec(codec)
        baseline = self.evaluate("a", classifier, [(ORIGINAL, 1.0)], ORIGINAL, 1.0, None)
        for r in ratios:
            self.evaluate("a", classifier, [(ORIGINAL, 1.0)], name, r, baseline)


def run(
    config: Config,
    out: Path,
    *,
    plot: bool = True,
    log: Callable[[str], None] = _log,
    payload: dict | None = None,
    loader: Callable[[str], np.ndarray] | None = None,
) -> dict:
    """Run (or resume) every cell of ``config`` into ``out`` and write the reports; returns the summary."""
    for p in config.protocols:
        if p not in protocols.PROTOCOLS:
            raise UsageError(f"found protocol {p!r}; expected a, b or c")
    torch.set_num_threads(1)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(
        out / "config.json", (json.dumps(config.to_dict(), indent=1) + "\n").encode(), overwrite=True
    )
    state = Run(config, out, log, payload, loader)
    log(
        f"{len(state.test)} test images ({len({s.group for s in state.test})} groups), "
        f"{len(state.train)} train images; codecs {', '.join(config.codecs)} -> {out}"
    )
    t = time.time()
    for classifier in config.classifiers:
        state.run_classifier(classifier)
    if config.task_aware and "a" in config.protocols:
        state.run_task_aware(config.classifiers[0])
    summary = report.write(out, plot=plot)
    log(f"done in {time.time() - t:.0f} s; see {out / report.TABLE}")
    return summary
