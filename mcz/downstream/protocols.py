"""Training and evaluation of the classifiers under the three protocols.

(a) train on originals, test on every codec's decoded test set at every ratio;
(b) train and test on the same codec and ratio;
(c) train on a mixture of one codec's ratios (each epoch, each training image is
    seen at one ratio drawn uniformly), test on each ratio.

Training: Adam (coupled L2 as in Keras, see :mod:`mcz.downstream.smallcnn`),
cross-entropy, random horizontal flips, a fixed number of epochs, the last
epoch's weights (no model selection on the test groups).  The decision is
``P(tumour) >= 0.5``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from mcz.downstream import classifiers
from mcz.downstream.data import to_tensor

PROTOCOLS = {
    "a": "train on originals, test on each codec and ratio",
    "b": "train and test on the same codec and ratio",
    "c": "train on a mixture of the codec's ratios, test on each",
}


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one classifier training."""

    classifier: str = "smallcnn"
    resolution: int = 64
    epochs: int = 8
    batch_size: int = 32
    lr: float = 1e-3
    seed: int = 0
    device: str = "cpu"

    def to_dict(self) -> dict:
        return asdict(self)


def prepare(frames: np.ndarray, resolution: int):
    """uint8 frames -> float16 tensor ``(N, 1, r, r)`` (kept small; cast per batch)."""
    return to_tensor(frames, resolution).half()


def train(
    config: TrainConfig, views: Sequence, labels: Sequence[int], progress: Callable[[str], None] | None = None
):
    """Train a fresh classifier on ``views`` (list of prepared tensors of the same images).

    With one view this is plain training; with several, each epoch shows every
    image once, at a view drawn uniformly (protocol c).
    """
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    dev = torch.device(config.device)
    model = classifiers.build(config.classifier, config.resolution).to(dev)
    opt = torch.optim.Adam(classifiers.optimiser_groups(model), lr=config.lr)
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long, device=dev)
    n = len(y)
    steps = config.epochs * max(1, -(-n // config.batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=steps, pct_start=0.15)
    stack = torch.stack(list(views))  # (V, N, 1, r, r)
    model.train()
    for epoch in range(config.epochs):
        order = rng.permutation(n)
        pick = rng.integers(0, len(views), n)
        total = 0.0
        for start in range(0, n, config.batch_size):
            idx = order[start : start + config.batch_size]
            x = stack[torch.as_tensor(pick[idx]), torch.as_tensor(idx)].to(dev).float()
            flip = torch.as_tensor(rng.random(len(idx)) < 0.5, device=dev)
            x[flip] = x[flip].flip(-1)
            loss = F.cross_entropy(model(x), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        if progress:
            progress(f"{config.classifier} epoch {epoch + 1}/{config.epochs} loss {total / n:.4f}")
    return model.cpu().eval()


def predict(model, inputs, batch_size: int = 128) -> np.ndarray:
    """P(tumour) for each prepared input."""
    out = []
    with torch.no_grad():
        for start in range(0, len(inputs), batch_size):
            out.append(torch.softmax(model(inputs[start : start + batch_size].float()), dim=1)[:, 1])
    return torch.cat(out).numpy().astype(np.float64) if out else np.zeros(0)
